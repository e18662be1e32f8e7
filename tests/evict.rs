//! Every loss of permission reaches the bus (PROTOCOL §6): demotion, delete and a
//! re-enroll close the affected live connections within a second, and the reconnect gets
//! what the identity holds now. A real nats-server with nats-config/dev.conf.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{event, handle, no_event_within, watched, watched_with, TestEnv};
use roster::client::{EnrollArgs, RosterClient};
use roster::crypto::KeyPairs;
use roster::domain::{Policy, Role};

async fn registered(env: &TestEnv, h: &str, role: Role) -> KeyPairs {
    env.join_over_callout(h, role).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demoted_admin_is_evicted_within_a_second_and_reconnects_as_a_member() {
    let env = TestEnv::with_callout().await;
    let keys = registered(&env, "ada", Role::Admin).await;
    let (conn, mut events) = watched(&env, &keys).await.unwrap();
    // As an admin it may read the audit subjects.
    let _audit = conn.subscribe("roster.audit.>").await.unwrap();
    conn.flush().await.unwrap();
    assert!(
        no_event_within(
            &mut events,
            "permissions violation",
            Duration::from_millis(500)
        )
        .await,
        "an admin may subscribe to the audit subjects"
    );

    env.owner
        .user_set_role(&handle("ada"), Role::Member, None)
        .await
        .unwrap();
    let replied = Instant::now();
    let gone = event(&mut events, "disconnected")
        .await
        .expect("the demoted admin's connection closed");
    assert!(
        gone <= replied + Duration::from_secs(1),
        "closed {} ms after the reply",
        gone.saturating_duration_since(replied).as_millis()
    );
    // It reconnects by itself, as a member: the client re-subscribes to the audit
    // subjects, and the server now refuses that.
    assert!(event(&mut events, "connected").await.is_some());
    assert!(
        event(&mut events, "permissions violation for subscription")
            .await
            .is_some(),
        "the reconnect has member permissions"
    );
    let actions = env.audit_actions().await;
    assert!(actions.contains(&"user.evicted".to_string()), "{actions:?}");

    // A promotion takes nothing away: no eviction.
    env.owner
        .user_set_role(&handle("ada"), Role::Operator, None)
        .await
        .unwrap();
    assert!(
        no_event_within(&mut events, "disconnected", Duration::from_millis(1500)).await,
        "a promotion does not evict"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_member_is_evicted_and_comes_back_only_to_the_onboarding_lane() {
    let env = TestEnv::with_callout().await;
    // The default tenant's product `chat`: its members' application traffic.
    let chat = roster::domain::ProductName::parse("chat").unwrap();
    env.owner
        .tenant_set_product(
            &roster::domain::Tenant::default_tenant(),
            &chat,
            true,
            None,
            Default::default(),
        )
        .await
        .unwrap();
    let keys = registered(&env, "dora", Role::Member).await;
    let (conn, mut events) = watched(&env, &keys).await.unwrap();
    conn.publish("app.default.chat.room", Bytes::from_static(b"hi"))
        .await
        .unwrap();
    conn.flush().await.unwrap();
    assert!(
        no_event_within(
            &mut events,
            "permissions violation",
            Duration::from_millis(500)
        )
        .await,
        "a member may publish application traffic"
    );

    env.owner.user_delete(&handle("dora")).await.unwrap();
    let replied = Instant::now();
    let gone = event(&mut events, "disconnected")
        .await
        .expect("the deleted member's connection closed");
    assert!(gone <= replied + Duration::from_secs(1));
    // Its key is a stranger's now: the reconnect gets only the onboarding lane.
    assert!(event(&mut events, "connected").await.is_some());
    conn.publish("app.default.chat.room", Bytes::from_static(b"still?"))
        .await
        .unwrap();
    assert!(
        event(&mut events, "permissions violation for publish")
            .await
            .is_some(),
        "the reconnect may not publish application traffic"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_enroll_closes_the_replaced_credentials_connections_only() {
    let env = TestEnv::with_callout().await;
    let key = env.site("acme-phx", Policy::Auto).await;
    let agent_keys = KeyPairs::generate();
    let agent = RosterClient::new(
        env.connect_as(&agent_keys).await.unwrap(),
        "roster",
        KeyPairs::from_secrets(&agent_keys.sign_seed(), &agent_keys.kex_secret()),
    );
    let args = EnrollArgs {
        site: "acme-phx".into(),
        enrollment_key: key,
        machine_uid: "uid-1".into(),
        ..Default::default()
    };
    let first = agent.enroll(&args).await.unwrap();
    let old_cak = agent.open_credential(&first).unwrap();
    let inbox = format!("_INBOX.{}", first.machine_id);
    let with_token = |cak: &str| {
        async_nats::ConnectOptions::with_token(cak.to_owned()).custom_inbox_prefix(inbox.clone())
    };
    let (_old, mut old_events) = watched_with(&env, with_token(&old_cak)).await.unwrap();
    // The agent key as nkey: a connection of the same machine that no re-enroll replaces.
    let (_by_key, mut key_events) = watched(&env, &agent_keys).await.unwrap();

    // The agent enrolls again (a reinstall, say): a new credential, the old one dead.
    let second = agent.enroll(&args).await.unwrap();
    let replied = Instant::now();
    assert_eq!(second.machine_id, first.machine_id);
    let new_cak = agent.open_credential(&second).unwrap();
    assert_ne!(*new_cak, *old_cak);
    let gone = event(&mut old_events, "disconnected")
        .await
        .expect("the old credential's connection closed");
    assert!(gone <= replied + Duration::from_secs(1));
    assert!(
        event(&mut old_events, "authorization violation")
            .await
            .is_some(),
        "and its reconnect is refused"
    );

    // The new credential connects and stays up; so does the agent key's connection.
    let (new_conn, mut new_events) = watched_with(&env, with_token(&new_cak)).await.unwrap();
    let subject = format!("agents.{}.status", first.machine_id);
    new_conn
        .publish(subject, Bytes::from_static(b"up"))
        .await
        .unwrap();
    new_conn.flush().await.unwrap();
    assert!(
        no_event_within(&mut new_events, "disconnected", Duration::from_millis(1500)).await,
        "the new credential's connection stays"
    );
    assert!(
        no_event_within(&mut key_events, "disconnected", Duration::from_millis(100)).await,
        "the agent key's connection stays"
    );
    let evicted: Vec<_> = env
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "machine.credential_evicted")
        .collect();
    assert_eq!(evicted.len(), 1, "{evicted:?}");
    assert_eq!(evicted[0].metadata["connections"], 1);
}
