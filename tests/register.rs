//! Register: bus clients redeem invites with their own keys.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use bytes::Bytes;
use common::{handle, TestEnv};
use roster::domain::Role;
use roster::handlers::Endpoint;
use roster::wire::ErrorCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_joins_with_an_invite_and_a_retry_gets_the_same_success() {
    let env = TestEnv::start().await;
    let token = env.invite("alice", Role::Member).await;
    let alice = env.client();

    let first = alice.register(&token).await.unwrap();
    let retry = alice.register(&token).await.unwrap();

    assert_eq!(first, retry, "a retried register returns the same success");
    assert_eq!(first.handle.as_str(), "alice");
    assert_eq!(first.role, Role::Member);
    assert_eq!(first.sign_pub, alice.keys().sign_pub());
    let user = env.owner.user_get(&handle("alice")).await.unwrap();
    assert_eq!(user.status, "active");
    assert_eq!(user.sign_pub, alice.keys().sign_pub().to_hex());
    let registered: Vec<_> = env
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "user.registered" && e.target.id == "alice")
        .collect();
    assert_eq!(registered.len(), 1, "the retry published no second event");
    env.assert_not_stored(&token).await;
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_invite_refuses_other_keys() {
    let env = TestEnv::start().await;
    let token = env.invite("bob", Role::Member).await;
    env.client().register(&token).await.unwrap();

    let err = env.client().register(&token).await.unwrap_err();

    assert_eq!(err.code(), Some(ErrorCode::InviteUsed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_signing_key_with_another_kex_key_is_not_a_retry() {
    let env = TestEnv::start().await;
    let token = env.invite("carol", Role::Member).await;
    let carol = env.client();
    carol.register(&token).await.unwrap();
    // Same signing key, different kex key: the invite is used "by other keys".
    let seed = carol.keys().sign_seed();
    let other = roster::client::RosterClient::new(
        env.nats().clone(),
        "roster",
        roster::crypto::KeyPairs::from_secrets(&seed, &[7u8; 32]),
    );
    let err = other.register(&token).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InviteUsed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_cancelled_and_expired_invites_are_refused() {
    let env = TestEnv::start().await;
    // A well-formed token that was never minted.
    let never = roster::crypto::Secret::mint(roster::crypto::SecretKind::Invite);
    assert_eq!(
        env.client()
            .register(never.expose())
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::InviteUnknown)
    );

    let minted = env
        .owner
        .invite_create(&handle("dave"), Role::Member, None)
        .await
        .unwrap();
    env.owner.invite_cancel(&minted.invite_id).await.unwrap();
    assert_eq!(
        env.client()
            .register(&minted.token)
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::InviteCancelled)
    );

    let short = env
        .owner
        .invite_create(&handle("erin"), Role::Member, Some(1))
        .await
        .unwrap();
    env.advance_clock(std::time::Duration::from_secs(2));
    assert_eq!(
        env.client()
            .register(&short.token)
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::InviteExpired)
    );
    let view = env.owner.invite_get(&short.invite_id).await.unwrap();
    assert_eq!(view.state, "expired");
    assert!(env.store.user(&handle("erin")).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_key_spends_the_invite_and_gets_key_registered() {
    let env = TestEnv::start().await;
    let first = env.invite("frank", Role::Member).await;
    let frank = env.client();
    frank.register(&first).await.unwrap();

    let second = env
        .owner
        .invite_create(&handle("frank2"), Role::Member, None)
        .await
        .unwrap();
    let err = frank.register(&second.token).await.unwrap_err();

    assert_eq!(err.code(), Some(ErrorCode::KeyRegistered));
    assert_eq!(
        env.owner.invite_get(&second.invite_id).await.unwrap().state,
        "used"
    );
    assert!(env.store.user(&handle("frank2")).await.unwrap().is_none());
    // The key still points at frank, nobody else.
    let idx = env
        .store
        .key_index(&frank.keys().sign_pub())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(idx.value.handle.as_str(), "frank");
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handle_taken_in_between_is_refused_and_frees_the_key() {
    let env = TestEnv::start().await;
    // Two invites for one handle: minted before either is redeemed.
    let a = env.invite("gina", Role::Member).await;
    let b = env.invite("gina", Role::Member).await;
    env.client().register(&a).await.unwrap();
    let late = env.client();

    let err = late.register(&b).await.unwrap_err();

    assert_eq!(err.code(), Some(ErrorCode::HandleTaken));
    assert!(
        env.store
            .key_index(&late.keys().sign_pub())
            .await
            .unwrap()
            .is_none(),
        "the losing key's binding was undone"
    );
    // The freed key can join under another handle.
    let other = env.invite("gina2", Role::Member).await;
    late.register(&other).await.unwrap();
    // Minting for a handle that exists now is refused up front.
    let err = env
        .owner
        .invite_create(&handle("gina"), Role::Member, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::HandleTaken));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_register_input_is_bad_request_and_writes_nothing() {
    let env = TestEnv::start().await;
    let token = env.invite("hank", Role::Member).await;
    let c = env.client();
    let kex = c.keys().kex_pub().unwrap().to_hex();
    let before = env.kv_dump().await.len();

    let oversize = format!(
        r#"{{"invite":"{token}","kex_pub":"{kex}","pad":"{}"}}"#,
        "x".repeat(70_000)
    );
    let mut typo = token.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let mut bodies: Vec<String> = vec![
        "not json".into(),
        "[]".into(),
        "\"str\"".into(),
        "{}".into(),
        format!(r#"{{"invite":"{token}"}}"#),
        format!(r#"{{"invite":"{token}","kex_pub":"{kex}","extra":1}}"#),
        format!(r#"{{"invite":1,"kex_pub":"{kex}"}}"#),
        format!(
            r#"{{"invite":"{token}","kex_pub":"{}"}}"#,
            kex.to_uppercase()
        ),
        format!(r#"{{"invite":"{token}","kex_pub":"{}"}}"#, &kex[..62]),
        format!(r#"{{"invite":"{typo}","kex_pub":"{kex}"}}"#),
        format!(r#"{{"invite":"inv_short","kex_pub":"{kex}"}}"#),
        format!(r#"{{"invite":"cek_{}","kex_pub":"{kex}"}}"#, &token[4..]),
        oversize,
    ];
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("data/test-vectors.json")).unwrap();
    for p in vectors["bad_keys"]["x25519_low_order_points"]
        .as_array()
        .unwrap()
    {
        bodies.push(format!(
            r#"{{"invite":"{token}","kex_pub":"{}"}}"#,
            p.as_str().unwrap()
        ));
    }

    for body in &bodies {
        let reply = c
            .call_raw(Endpoint::Register, body.as_bytes())
            .await
            .unwrap();
        assert_eq!(
            reply.error_code().as_deref(),
            Some("bad_request"),
            "body {:.80}",
            body
        );
        let h = reply.headers.as_ref().unwrap();
        assert_eq!(h.get("Nats-Service-Error-Code").unwrap().as_str(), "400");
        assert!(h.get("Nats-Service-Error").is_some());
    }

    assert_eq!(env.kv_dump().await.len(), before, "bad input wrote nothing");
    assert_eq!(
        env.owner
            .invite_list(&Default::default())
            .await
            .unwrap()
            .invites
            .iter()
            .filter(|i| i.state == "pending")
            .count(),
        1
    );
    // The invite still works for the real thing.
    c.register(&token).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_signing_keys_are_bad_request() {
    let env = TestEnv::start().await;
    let token = env.invite("ivan", Role::Member).await;
    let c = env.client();
    let subject = c.subject(Endpoint::Register);
    let body = format!(
        r#"{{"invite":"{token}","kex_pub":"{}"}}"#,
        c.keys().kex_pub().unwrap().to_hex()
    );
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("data/test-vectors.json")).unwrap();
    for weak in vectors["bad_keys"]["ed25519_small_order_keys"]
        .as_array()
        .unwrap()
    {
        let mut h = c.sign_headers(&subject, body.as_bytes());
        h.insert("Roster-Key", weak.as_str().unwrap());
        let reply = c
            .send_raw(&subject, h, Bytes::from(body.clone()))
            .await
            .unwrap();
        assert_eq!(
            reply.error_code().as_deref(),
            Some("bad_request"),
            "key {weak}"
        );
    }
}
