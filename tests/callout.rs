//! The bus admits exactly the roster: the auth callout, and eviction on revoke, against
//! a real nats-server running nats-config/dev.conf.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{handle, TestEnv};
use futures::StreamExt;
use roster::client::{EnrollArgs, RosterClient};
use roster::crypto::KeyPairs;
use roster::domain::{Policy, Role};
use tokio::sync::mpsc;

/// A connection through the callout whose events (disconnects, permission violations)
/// are reported on a channel with the time they happened.
async fn watched(
    env: &TestEnv,
    keys: &KeyPairs,
) -> anyhow::Result<(
    async_nats::Client,
    mpsc::UnboundedReceiver<(Instant, String)>,
)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let seed = keys.user_nkey_seed().unwrap();
    let client = async_nats::ConnectOptions::new()
        .nkey(seed.to_string())
        .custom_inbox_prefix(roster::callout::inbox_for_nkey(&keys.user_nkey_public()))
        .max_reconnects(3)
        .event_callback(move |e| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((Instant::now(), e.to_string()));
            }
        })
        .connect(env.server.url())
        .await?;
    Ok((client, rx))
}

/// Waits for an event whose text contains `needle`.
async fn event(
    rx: &mut mpsc::UnboundedReceiver<(Instant, String)>,
    needle: &str,
) -> Option<Instant> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Ok(Some((at, text))) = tokio::time::timeout_at(deadline.into(), rx.recv()).await {
        if text.to_lowercase().contains(&needle.to_lowercase()) {
            return Some(at);
        }
    }
    None
}

async fn member(env: &TestEnv, h: &str) -> (KeyPairs, RosterClient) {
    let token = env.invite(h, Role::Member).await;
    let keys = KeyPairs::generate();
    let conn = env.connect_as(&keys).await.unwrap();
    let c = RosterClient::new(
        conn,
        "roster",
        KeyPairs::from_secrets(&keys.sign_seed(), &keys.kex_secret()),
    );
    c.register(&token).await.unwrap();
    (keys, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_gets_its_permissions_and_nothing_more() {
    let env = TestEnv::with_callout().await;
    let (alice, _) = member(&env, "alice").await;
    // Reconnect: now the callout knows the key as alice.
    let (conn, mut events) = watched(&env, &alice).await.unwrap();

    // Its own subjects work end to end.
    let mut sub = conn.subscribe("id.alice.inbox").await.unwrap();
    conn.publish("id.alice.inbox", Bytes::from_static(b"hi"))
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(2), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.payload.as_ref(), b"hi");
    // Requests to roster work (revoke is allowed for members: themselves).
    let me = RosterClient::new(
        conn.clone(),
        "roster",
        KeyPairs::from_secrets(&alice.sign_seed(), &alice.kex_secret()),
    )
    .with_timeout(Duration::from_millis(500));
    let err = me.user_list(&Default::default()).await.unwrap_err();
    assert!(
        matches!(err, roster::client::ClientError::Nats(_)),
        "admin subjects are not even delivered: {err}"
    );
    assert!(event(&mut events, "permissions violation for publish")
        .await
        .is_some());

    // Other identities' subjects are closed to it.
    let _spy = conn.subscribe("id.bob.>").await.unwrap();
    assert!(event(&mut events, "permissions violation for subscription")
        .await
        .is_some());
    let _spy2 = conn.subscribe("_INBOX.>").await.unwrap();
    assert!(event(&mut events, "permissions violation for subscription")
        .await
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_gets_only_the_onboarding_lane_and_can_register() {
    let env = TestEnv::with_callout().await;
    let token = env.invite("newbie", Role::Member).await;
    let keys = KeyPairs::generate();
    let (conn, mut events) = watched(&env, &keys).await.unwrap();

    conn.publish("app.hello", Bytes::from_static(b"x"))
        .await
        .unwrap();
    assert!(event(&mut events, "permissions violation for publish")
        .await
        .is_some());

    let c = RosterClient::new(
        conn,
        "roster",
        KeyPairs::from_secrets(&keys.sign_seed(), &keys.kex_secret()),
    );
    let reg = c.register(&token).await.unwrap();
    assert_eq!(reg.handle.as_str(), "newbie");

    // A client with no credentials at all also gets the lane (shared anonymous inbox).
    let anon = async_nats::ConnectOptions::new()
        .custom_inbox_prefix("_INBOX.anon")
        .connect(env.server.url())
        .await
        .unwrap();
    let r = anon
        .request("roster.v1.register", Bytes::from_static(b"{}"))
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&r.payload).contains("invalid_signature"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_user_is_off_the_bus_within_a_second_and_stays_off() {
    let env = TestEnv::with_callout().await;
    let (mallory, _) = member(&env, "mallory").await;
    let (_conn, mut events) = watched(&env, &mallory).await.unwrap();

    let reply = env
        .owner
        .revoke_user(&handle("mallory"), Some("left the company"))
        .await
        .unwrap();
    let replied = Instant::now();

    assert!(reply.changed);
    assert_eq!(reply.evicted, 1, "its one live connection was closed");
    let gone = event(&mut events, "disconnected")
        .await
        .expect("the connection closed");
    let ms = gone.saturating_duration_since(replied).as_millis();
    println!(
        "revoke reply to disconnect: {ms} ms (disconnect came {} the reply)",
        if gone < replied { "before" } else { "after" }
    );
    assert!(gone <= replied + Duration::from_secs(1));
    // Its reconnect is refused, and so is a fresh connection.
    assert!(event(&mut events, "authorization violation")
        .await
        .is_some());
    assert!(env.connect_as(&mallory).await.is_err());
    let actions: Vec<String> = env
        .audit_events()
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in ["user.revoked", "user.evicted", "connect.denied"] {
        assert!(actions.contains(&a.to_string()), "{a} in {actions:?}");
    }
    // Revoking again is a success that changes nothing.
    let again = env
        .owner
        .revoke_user(&handle("mallory"), None)
        .await
        .unwrap();
    assert!(!again.changed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machines_connect_with_their_credential_and_pending_ones_cannot() {
    let env = TestEnv::with_callout().await;
    let key = env.site("acme-phx", Policy::Auto).await;
    let hold = env.site("vault", Policy::Approval).await;
    let enroll = |site: &str, key: &str, uid: &str| EnrollArgs {
        site: site.into(),
        enrollment_key: key.into(),
        machine_uid: uid.into(),
        ..Default::default()
    };
    // Agents enroll over the onboarding lane.
    let agent_keys = KeyPairs::generate();
    let agent = RosterClient::new(
        env.connect_as(&agent_keys).await.unwrap(),
        "roster",
        KeyPairs::from_secrets(&agent_keys.sign_seed(), &agent_keys.kex_secret()),
    );
    let r = agent.enroll(&enroll("acme-phx", &key, "m1")).await.unwrap();
    let cak = agent.open_credential(&r).unwrap();

    // With its credential as token: machine permissions on its own subjects.
    let inbox = format!("_INBOX.{}", r.machine_id);
    let m = async_nats::ConnectOptions::with_token(cak.to_string())
        .custom_inbox_prefix(inbox)
        .connect(env.server.url())
        .await
        .unwrap();
    let subject = format!("agents.{}.status", r.machine_id);
    let mut sub = m.subscribe(subject.clone()).await.unwrap();
    m.publish(subject, Bytes::from_static(b"up")).await.unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(2), sub.next())
        .await
        .unwrap()
        .is_some());
    // With its agent key as nkey, too.
    assert!(env.connect_as(&agent_keys).await.is_ok());

    // A pending machine is refused, and so is a wrong credential.
    let pk = KeyPairs::generate();
    let pending_agent = RosterClient::new(
        env.nats().clone(),
        "roster",
        KeyPairs::from_secrets(&pk.sign_seed(), &pk.kex_secret()),
    );
    let p = pending_agent
        .enroll(&enroll("vault", &hold, "m2"))
        .await
        .unwrap();
    assert_eq!(p.state, "pending");
    let pcak = pending_agent.open_credential(&p).unwrap();
    assert!(async_nats::ConnectOptions::with_token(pcak.to_string())
        .connect(env.server.url())
        .await
        .is_err());
    assert!(env.connect_as(&pk).await.is_err());
    let forged = roster::crypto::Secret::mint(roster::crypto::SecretKind::Credential);
    assert!(
        async_nats::ConnectOptions::with_token(forged.expose().to_owned())
            .connect(env.server.url())
            .await
            .is_err()
    );

    // Revoking the machine closes its connection.
    let rev = env.owner.revoke_machine(&r.machine_id, None).await.unwrap();
    assert!(rev.evicted >= 1, "{rev:?}");
    assert!(async_nats::ConnectOptions::with_token(cak.to_string())
        .connect(env.server.url())
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_the_worker_locks_nobody_out_for_longer_than_the_restart() {
    let mut env = TestEnv::with_callout().await;
    let (bob, _) = member(&env, "bob").await;
    let (conn, _events) = watched(&env, &bob).await.unwrap();

    let old = env.workers.pop().unwrap();
    old.shutdown().await.unwrap();
    let started = Instant::now();
    let c = env
        .server
        .worker_args()
        .connect("test-worker-2")
        .await
        .unwrap();
    let sys = env
        .server
        .system_args()
        .unwrap()
        .connect("test-sys-2")
        .await
        .unwrap();
    env.workers.push(
        roster::worker::start_with(c, Some(sys), env.cfg.clone())
            .await
            .unwrap(),
    );
    println!("worker restart took {} ms", started.elapsed().as_millis());

    // Bob's live connection was never touched, and new connections are admitted again.
    let mut sub = conn.subscribe("id.bob.x").await.unwrap();
    conn.publish("id.bob.x", Bytes::from_static(b"still here"))
        .await
        .unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(2), sub.next())
        .await
        .unwrap()
        .is_some());
    assert!(env.connect_as(&bob).await.is_ok());
}
