//! The reconnect storm, small (issue 13): 200 clients connected through the auth
//! callout, nats-server killed and started again on the same port and store, and every
//! client admitted again on its own with its own permissions; a revoked identity among
//! them stays refused. Speed is the bench's business (`roster bench --storm`): nothing
//! here is timed, the deadlines only bound a hang.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{handle, TestEnv};
use futures::StreamExt;
use roster::client::{EnrollArgs, RosterClient};
use roster::crypto::KeyPairs;
use roster::domain::{Policy, Role};
use tokio::sync::mpsc;

const MEMBERS: usize = 160;
const MACHINES: usize = 39;

/// One storm client's connection events, with when they happened.
type Events = mpsc::UnboundedReceiver<(Instant, String)>;

/// Who a client is: a member (its handle) or a machine (its id).
#[derive(Clone)]
enum Who {
    Member(String),
    Machine(String),
}

impl Who {
    /// A subject it may publish and subscribe to, and one it may not publish to.
    fn own_and_foreign(&self) -> (String, String) {
        match self {
            Who::Member(h) => (format!("id.{h}.storm"), "agents.someone.status".into()),
            Who::Machine(id) => (
                format!("agents.{id}.status"),
                "agents.someone-else.status".into(),
            ),
        }
    }
}

/// A client that reconnects for ever, soon, and reports its events.
async fn storm_client(
    env: &TestEnv,
    opts: async_nats::ConnectOptions,
) -> (async_nats::Client, Events) {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = opts
        .max_reconnects(None)
        .reconnect_delay_callback(|attempts| Duration::from_millis(50 * attempts.min(4) as u64))
        .event_callback(move |e| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((Instant::now(), e.to_string()));
            }
        })
        .connect(env.server.url())
        .await
        .unwrap();
    (client, rx)
}

fn nkey_opts(keys: &KeyPairs) -> async_nats::ConnectOptions {
    async_nats::ConnectOptions::new()
        .nkey(keys.user_nkey_seed().unwrap().to_string())
        .custom_inbox_prefix(roster::callout::inbox_for_nkey(&keys.user_nkey_public()))
}

/// Waits for an event after `since` whose text is exactly `what` or, with `prefix`,
/// contains it; true if one came within `within`.
async fn event_after(
    rx: &mut Events,
    since: Instant,
    within: Duration,
    matches: impl Fn(&str) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(Some((at, text))) = tokio::time::timeout_at(deadline, rx.recv()).await {
        if at > since && matches(&text.to_lowercase()) {
            return true;
        }
    }
    false
}

/// After the restart: the client is connected again, can publish to and receive on its
/// own subject, and is refused a subject its permissions do not hold.
async fn check_readmitted(who: Who, conn: async_nats::Client, mut rx: Events, since: Instant) {
    assert!(
        event_after(&mut rx, since, Duration::from_secs(60), |t| t
            == "connected")
        .await,
        "readmitted after the restart"
    );
    let (own, foreign) = who.own_and_foreign();
    let mut sub = conn.subscribe(own.clone()).await.unwrap();
    conn.flush().await.unwrap();
    conn.publish(own.clone(), Bytes::from_static(b"back"))
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .unwrap_or_else(|_| panic!("{own} delivered after the restart"))
        .unwrap();
    assert_eq!(got.payload.as_ref(), b"back");
    conn.publish(foreign.clone(), Bytes::from_static(b"nope"))
        .await
        .unwrap();
    assert!(
        event_after(&mut rx, since, Duration::from_secs(10), |t| t
            .contains("permissions violation for publish"))
        .await,
        "{foreign} refused after the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_client_is_admitted_again_after_a_server_restart_and_a_revoked_one_is_not() {
    let mut env = TestEnv::with_callout().await;

    // 160 members, registered over the worker's own connection (no callout involved).
    let members: Vec<(String, KeyPairs)> = futures::stream::iter(0..MEMBERS)
        .map(|i| {
            let env = &env;
            async move {
                let h = format!("storm-{i}");
                let c = env.user(&h, Role::Member).await;
                let k = c.keys();
                (h, KeyPairs::from_secrets(&k.sign_seed(), &k.kex_secret()))
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    // 39 machines, enrolled at an auto-approving site, connecting with their credential.
    let site_key = env.site("STORM", Policy::Auto).await;
    let machines: Vec<(String, String)> = futures::stream::iter(0..MACHINES)
        .map(|i| {
            let (env, key) = (&env, site_key.clone());
            async move {
                let agent = RosterClient::new(env.nats().clone(), "roster", KeyPairs::generate());
                let r = agent
                    .enroll(&EnrollArgs {
                        site: "STORM".into(),
                        enrollment_key: key,
                        machine_uid: format!("storm-node-{i}"),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                assert_eq!(r.state, "active");
                let cak = agent.open_credential(&r).unwrap();
                (r.machine_id.to_string(), cak.to_string())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    // And one member who will be revoked.
    let mallory = env.user("mallory", Role::Member).await;
    let mallory_keys =
        KeyPairs::from_secrets(&mallory.keys().sign_seed(), &mallory.keys().kex_secret());

    let mut fleet: Vec<(Who, async_nats::Client, Events)> = Vec::new();
    for (h, keys) in &members {
        let (c, rx) = storm_client(&env, nkey_opts(keys)).await;
        fleet.push((Who::Member(h.clone()), c, rx));
    }
    for (id, cak) in &machines {
        let opts = async_nats::ConnectOptions::with_token(cak.clone())
            .custom_inbox_prefix(format!("_INBOX.{id}"));
        let (c, rx) = storm_client(&env, opts).await;
        fleet.push((Who::Machine(id.clone()), c, rx));
    }
    let (mallory_conn, mut mallory_events) = storm_client(&env, nkey_opts(&mallory_keys)).await;
    assert_eq!(fleet.len() + 1, 200);

    // Mallory is revoked while connected: evicted, and from then on refused.
    let revoked = env
        .owner
        .revoke_user(&handle("mallory"), Some("storm test"))
        .await
        .unwrap();
    assert_eq!(revoked.evicted, 1);

    // The restart: every client loses its connection at once and comes back on its own.
    let restarted = Instant::now();
    env.server.restart().await.unwrap();

    futures::future::join_all(
        fleet
            .into_iter()
            .map(|(who, conn, rx)| check_readmitted(who, conn, rx, restarted)),
    )
    .await;

    // Mallory keeps trying and is refused after the restart too, by the callout.
    assert!(
        event_after(
            &mut mallory_events,
            restarted,
            Duration::from_secs(30),
            |t| t.contains("authorization violation")
        )
        .await,
        "the revoked client is refused on reconnect"
    );
    assert!(env.connect_as(&mallory_keys).await.is_err());
    assert_ne!(
        mallory_conn.connection_state(),
        async_nats::connection::State::Connected
    );
    let mut since_restart = Vec::new();
    while let Ok((at, text)) = mallory_events.try_recv() {
        if at > restarted {
            since_restart.push(text);
        }
    }
    assert!(
        !since_restart.iter().any(|t| t == "connected"),
        "the revoked client never got back on: {since_restart:?}"
    );
}
