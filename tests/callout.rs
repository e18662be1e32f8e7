//! The bus admits exactly the roster: the auth callout, and eviction on revoke, against
//! a real nats-server running nats-config/dev.conf.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{event, handle, watched, TestEnv};
use futures::StreamExt;
use roster::client::{EnrollArgs, RosterClient};
use roster::crypto::KeyPairs;
use roster::domain::{Policy, Role};

async fn member(env: &TestEnv, h: &str) -> (KeyPairs, RosterClient) {
    env.join_over_callout(h, Role::Member).await
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

    // A client with no credentials at all is refused (there is no shared anonymous lane).
    let anon = async_nats::ConnectOptions::new()
        .max_reconnects(Some(1))
        .connect(env.server.url())
        .await;
    assert!(anon.is_err(), "a client without any credential is refused");
    let denied = env
        .wait_security(|e| e.action == "connect.denied" && e.metadata["code"] == "no_credential")
        .await;
    assert_eq!(denied.source.as_deref(), Some("127.0.0.1"));
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
    let actions = env.audit_actions().await;
    for a in ["user.revoked", "user.evicted"] {
        assert!(actions.contains(&a.to_string()), "{a} in {actions:?}");
    }
    // The refused reconnects are a stranger's denials: counted in the security stream.
    let refused = env
        .wait_security(|e| e.action == "connect.denied" && e.metadata["code"] == "revoked")
        .await;
    assert!(refused.metadata["count"].as_u64().unwrap() >= 1);
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
    let again = roster::app::App::build(&env.settings, "test-worker-2")
        .await
        .unwrap();
    env.workers.push(again.into_worker());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_onboarding_lane_has_its_own_inbox_and_small_limits() {
    let env = TestEnv::with_callout().await;
    let stranger = KeyPairs::generate();
    let (conn, mut events) = watched(&env, &stranger).await.unwrap();
    let inbox = roster::callout::inbox_for_nkey(&stranger.user_nkey_public());

    // Sixteen subscriptions on its own inbox are fine; with a seventeenth the connection
    // is closed by the worker's sweep (nats-server 2.15 does not apply the JWT's `subs`
    // limit to callout users, nats-server#5002), within two sweeps.
    let mut subs = Vec::new();
    for i in 0..16 {
        subs.push(conn.subscribe(format!("{inbox}.s{i}")).await.unwrap());
    }
    conn.flush().await.unwrap();
    assert!(
        common::no_event_within(&mut events, "disconnected", Duration::from_secs(5)).await,
        "sixteen subscriptions fit"
    );
    subs.push(conn.subscribe(format!("{inbox}.s16")).await.unwrap());
    conn.flush().await.unwrap();
    let added = Instant::now();
    let closed = event(&mut events, "disconnected")
        .await
        .expect("the seventeenth subscription closes the connection");
    assert!(closed <= added + roster::callout::ONBOARDING_SWEEP * 2 + Duration::from_secs(1));

    // The JWT carries the lane's limits, for servers that apply them.
    let t = roster::callout::Templates::default();
    assert_eq!(t.onboarding.limits, roster::callout::ONBOARDING_LIMITS);
    assert_eq!(t.onboarding.limits.subs, 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spy_on_the_onboarding_lane_cannot_read_another_clients_replies() {
    let env = TestEnv::with_callout().await;
    let token = env.invite("victim", Role::Member).await;
    let victim_keys = KeyPairs::generate();
    let spy_keys = KeyPairs::generate();
    let (spy, mut spy_events) = watched(&env, &spy_keys).await.unwrap();
    // Everything under _INBOX, and the victim's own inbox by name: both refused.
    let victim_inbox = roster::callout::inbox_for_nkey(&victim_keys.user_nkey_public());
    let mut wide = spy.subscribe("_INBOX.>").await.unwrap();
    assert!(
        event(&mut spy_events, "permissions violation for subscription")
            .await
            .is_some()
    );
    let mut narrow = spy.subscribe(format!("{victim_inbox}.>")).await.unwrap();
    assert!(
        event(&mut spy_events, "permissions violation for subscription")
            .await
            .is_some()
    );

    let victim = RosterClient::new(
        env.connect_as(&victim_keys).await.unwrap(),
        "roster",
        KeyPairs::from_secrets(&victim_keys.sign_seed(), &victim_keys.kex_secret()),
    );
    victim.register(&token).await.unwrap();
    for (sub, what) in [(&mut wide, "_INBOX.>"), (&mut narrow, "the victim's inbox")] {
        let next = tokio::time::timeout(Duration::from_millis(300), sub.next()).await;
        assert!(
            !matches!(next, Ok(Some(_))),
            "the spy read a reply on {what}"
        );
    }
}
