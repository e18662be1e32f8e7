//! Admin commands: invites, users, roles, the last-owner guard and the audit query.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use common::{handle, TestEnv};
use roster::domain::{Role, SiteCode};
use roster::handlers::Endpoint;
use roster::wire::admin::{AuditQueryReply, InviteListRequest, InviteStateFilter, UserListRequest};
use roster::wire::ErrorCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invites_are_created_listed_fetched_and_cancelled() {
    let env = TestEnv::start().await;
    let o = &env.owner;
    let a = o
        .invite_create(&handle("amy"), Role::Member, Some(3600))
        .await
        .unwrap();
    let b = o
        .invite_create(&handle("ben"), Role::Operator, None)
        .await
        .unwrap();
    assert!(a.token.starts_with("inv_"));

    let got = o.invite_get(&a.invite_id).await.unwrap();
    assert_eq!(
        (got.handle.as_str(), got.role.clone(), got.state.as_str()),
        ("amy", Role::Member.into(), "pending")
    );
    assert_eq!(got.created_by, "root");
    assert!(
        !serde_json::to_string(&got).unwrap().contains(&a.token[4..]),
        "get never shows the token"
    );

    let cancelled = o.invite_cancel(&b.invite_id).await.unwrap();
    assert_eq!(cancelled.state, "cancelled");
    assert_eq!(cancelled.cancelled_by.as_deref(), Some("root"));
    // Cancelling twice changes nothing; cancelling a used invite is a conflict.
    assert_eq!(
        o.invite_cancel(&b.invite_id).await.unwrap().state,
        "cancelled"
    );
    env.client().register(&a.token).await.unwrap();
    assert_eq!(
        o.invite_cancel(&a.invite_id).await.unwrap_err().code(),
        Some(ErrorCode::Conflict)
    );

    let pending = o
        .invite_list(&InviteListRequest {
            state: Some(InviteStateFilter::Cancelled),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(pending.invites.len(), 1);
    assert_eq!(pending.invites[0].invite_id, b.invite_id);
    let used = o.invite_get(&a.invite_id).await.unwrap();
    assert_eq!(used.state, "used");
    assert!(used.used_at.is_some() && used.used_sign_pub.is_some());

    let unknown = roster::domain::InviteId::parse(&"0".repeat(32)).unwrap();
    assert_eq!(
        o.invite_get(&unknown).await.unwrap_err().code(),
        Some(ErrorCode::NotFound)
    );
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_with_a_cursor() {
    let env = TestEnv::start().await;
    for i in 0..7 {
        env.user(&format!("user{i}"), Role::Member).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = env
            .owner
            .call::<_, roster::wire::admin::UserListReply>(
                Endpoint::Admin(roster::wire::Command::UserList),
                &json!({"limit": 3, "cursor": cursor}),
            )
            .await
            .unwrap();
        assert!(page.users.len() <= 3);
        seen.extend(page.users.iter().map(|u| u.handle.to_string()));
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut expected: Vec<String> = (0..7).map(|i| format!("user{i}")).collect();
    expected.push("root".into());
    expected.sort();
    assert_eq!(seen, expected);

    let owners = env
        .owner
        .user_list(&UserListRequest {
            role: Some(Role::Owner.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(owners.users.len(), 1);
    let bad = env
        .owner
        .call::<_, serde_json::Value>(
            Endpoint::Admin(roster::wire::Command::UserList),
            &json!({"limit": 1001}),
        )
        .await;
    assert_eq!(bad.unwrap_err().code(), Some(ErrorCode::BadRequest));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_limit_what_each_user_may_do() {
    let env = TestEnv::start().await;
    let o = &env.owner;
    let admin = env.user("adm", Role::Admin).await;
    let op = env.user("opr", Role::Operator).await;
    let member = env.user("mem", Role::Member).await;
    let stranger = env.client();

    // Unknown signers are unauthorized; members have no admin permission.
    assert_eq!(
        stranger
            .user_list(&Default::default())
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Unauthorized)
    );
    assert_eq!(
        member
            .user_list(&Default::default())
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Forbidden)
    );
    // Operators read but do not mint invites.
    op.user_list(&Default::default()).await.unwrap();
    op.audit_query(&Default::default()).await.unwrap();
    assert_eq!(
        op.invite_create(&handle("zed"), Role::Member, None)
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Forbidden)
    );
    // Nobody mints above their own role; admins never touch owners.
    assert_eq!(
        admin
            .invite_create(&handle("zed"), Role::Owner, None)
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Forbidden)
    );
    admin
        .invite_create(&handle("zed"), Role::Admin, None)
        .await
        .unwrap();
    // root is a platform owner: a tenant admin does not even see it.
    assert_eq!(
        admin
            .user_set_role(&handle("root"), Role::Member, None)
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::NotFound)
    );
    assert_eq!(
        admin.user_delete(&handle("root")).await.unwrap_err().code(),
        Some(ErrorCode::NotFound)
    );
    assert_eq!(
        admin
            .user_set_role(&handle("mem"), Role::Owner, None)
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Forbidden)
    );

    // Any role may be held at sites (PROTOCOL §8), but owner only tenant-wide.
    let site = SiteCode::parse("acme-phx").unwrap();
    let v = admin
        .user_set_role(&handle("opr"), Role::Operator, Some(vec![site.clone()]))
        .await
        .unwrap();
    assert_eq!(v.sites, vec![SiteCode::parse("ACME-PHX").unwrap()]);
    assert_eq!(
        o.user_set_role(&handle("mem"), Role::Owner, Some(vec![site]))
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::BadRequest)
    );
    let promoted = admin
        .user_set_role(&handle("mem"), Role::Admin, None)
        .await
        .unwrap();
    assert_eq!(promoted.role, Role::Admin);
    assert_eq!(
        env.owner
            .user_get(&handle("nobody"))
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::NotFound)
    );

    // Every refusal above is in the audit trail as `denied`.
    let denied = env
        .owner
        .call::<_, AuditQueryReply>(
            Endpoint::Admin(roster::wire::Command::AuditQuery),
            &json!({"action": "user.set_role"}),
        )
        .await
        .unwrap();
    assert!(denied
        .events
        .iter()
        .any(|e| e.metadata["code"] == "forbidden" && e.actor.id == "adm"));
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_owner_cannot_be_demoted_or_deleted_even_in_a_race() {
    let env = TestEnv::start().await;
    let o = &env.owner;
    // root, the first owner, is the platform's only owner.
    let platform_owner = roster::wire::admin::AssignRequest {
        handle: handle("root"),
        role: Role::Owner.into(),
        tenant: None,
        site: None,
        scope: Some(roster::wire::admin::PlatformScope::Platform),
    };
    assert_eq!(
        o.user_unassign(&platform_owner).await.unwrap_err().code(),
        Some(ErrorCode::LastOwner)
    );
    assert_eq!(
        o.user_delete(&handle("root")).await.unwrap_err().code(),
        Some(ErrorCode::LastOwner)
    );
    assert_eq!(
        o.revoke_user(&handle("root"), None)
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::LastOwner)
    );
    // A second platform owner: now either may go, but not both at once.
    env.user("root2", Role::Member).await;
    let mut second = platform_owner.clone();
    second.handle = handle("root2");
    o.user_assign(&second).await.unwrap();
    let (h2, h1) = (handle("root2"), handle("root"));
    let (a, b) = tokio::join!(o.user_delete(&h2), o.user_delete(&h1));
    let outcomes = [
        a.as_ref().err().and_then(|e| e.code()),
        b.as_ref().err().and_then(|e| e.code()),
    ];
    let wins = outcomes.iter().filter(|c| c.is_none()).count();
    assert!(wins <= 1, "outcomes {outcomes:?}");
    let left: Vec<_> = env
        .store
        .owners(&roster::store::OwnersKey::Platform)
        .await
        .unwrap()
        .owners;
    assert_eq!(
        left.len(),
        1,
        "exactly one platform owner is left: {left:?}"
    );
    // The racing demotions of a tenant's two owners are in tests/roles.rs.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_user_is_gone_and_its_key_may_join_again() {
    let env = TestEnv::start().await;
    let token = env.invite("kim", Role::Member).await;
    let kim = env.client();
    kim.register(&token).await.unwrap();

    let d = env.owner.user_delete(&handle("kim")).await.unwrap();
    assert!(d.deleted);
    assert_eq!(
        env.owner.user_get(&handle("kim")).await.unwrap_err().code(),
        Some(ErrorCode::NotFound)
    );
    // A late retry of the old registration does not bring the user back.
    assert_eq!(
        kim.register(&token).await.unwrap_err().code(),
        Some(ErrorCode::InviteUsed)
    );
    // The same key registers again with a new invite.
    let again = env.invite("kim", Role::Member).await;
    kim.register(&again).await.unwrap();
    assert_eq!(
        env.owner.user_get(&handle("kim")).await.unwrap().status,
        "active"
    );
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_query_filters_by_action_actor_target_and_time() {
    let env = TestEnv::start().await;
    // Times have millisecond precision: keep the boundary clear of both sides.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let start = roster::time_util::now_rfc3339();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    env.user("lee", Role::Member).await;
    env.user("max", Role::Member).await;
    let o = &env.owner;

    let q = |body: serde_json::Value| async move {
        o.call::<_, AuditQueryReply>(Endpoint::Admin(roster::wire::Command::AuditQuery), &body)
            .await
    };
    let created = q(json!({"action": "invite.created"})).await.unwrap();
    assert_eq!(created.events.len(), 3, "bootstrap + two invites");
    let users = q(json!({"action": "user.>"})).await.unwrap();
    assert!(users.events.iter().all(|e| e.action.starts_with("user.")));
    let lee = q(json!({"target": "lee"})).await.unwrap();
    assert_eq!(lee.events.len(), 1);
    assert_eq!(lee.events[0].action, "user.registered");
    assert_eq!(lee.events[0].actor.id, "lee");
    let by_root = q(json!({"actor": "root", "since": start})).await.unwrap();
    assert_eq!(
        by_root.events.len(),
        2,
        "two invites minted by root since start"
    );
    let last = q(json!({"limit": 1})).await.unwrap();
    assert_eq!(last.events.len(), 1);
    assert_eq!(
        last.events[0].target.id, "max",
        "limit keeps the most recent"
    );
    let none = q(json!({"until": start, "action": "user.registered"}))
        .await
        .unwrap();
    assert_eq!(none.events.len(), 1, "only root registered before start");
    for bad in [
        json!({"action": "User.Created"}),
        json!({"since": "yesterday"}),
        json!({"limit": 0}),
    ] {
        assert_eq!(
            q(bad).await.unwrap_err().code(),
            Some(ErrorCode::BadRequest)
        );
    }
    // Events have the PROTOCOL §5 shape.
    let ev = &lee.events[0];
    assert_eq!(ev.id.len(), 32);
    assert!(roster::time_util::parse_rfc3339(&ev.time).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_bodies_are_parsed_strictly() {
    let env = TestEnv::start().await;
    let o = &env.owner;
    let before = env.kv_dump().await.len();
    let cases: &[(Endpoint, &str)] = &[
        (
            Endpoint::Admin(roster::wire::Command::InviteCreate),
            r#"{"handle":"Upper","role":"member"}"#,
        ),
        (
            Endpoint::Admin(roster::wire::Command::InviteCreate),
            r#"{"handle":"a.b","role":"member"}"#,
        ),
        (
            Endpoint::Admin(roster::wire::Command::InviteCreate),
            r#"{"handle":"a/bc","role":"member"}"#,
        ),
        (
            Endpoint::Admin(roster::wire::Command::InviteCreate),
            r#"{"handle":"ab","role":"member"}"#,
        ),
        (
            Endpoint::Admin(roster::wire::Command::InviteCreate),
            &format!(r#"{{"handle":"{}","role":"member"}}"#, "a".repeat(33)),
        ),
        (
            Endpoint::Admin(roster::wire::Command::InviteCreate),
            r#"{"handle":"okay","role":"r"}"#,
        ),
        (
            Endpoint::Admin(roster::wire::Command::InviteCreate),
            r#"{"handle":"okay","role":"member","ttl_secs":0}"#,
        ),
        (
            Endpoint::Admin(roster::wire::Command::InviteCreate),
            r#"{"handle":"okay","role":"member","ttl_secs":2592001}"#,
        ),
        (
            Endpoint::Admin(roster::wire::Command::InviteCreate),
            r#"{"handle":"okay","role":"member","extra":true}"#,
        ),
        (
            Endpoint::Admin(roster::wire::Command::InviteGet),
            r#"{"invite_id":"xyz"}"#,
        ),
        (
            Endpoint::Admin(roster::wire::Command::UserGet),
            r#"{"handle":42}"#,
        ),
        (
            Endpoint::Admin(roster::wire::Command::UserSetRole),
            r#"{"handle":"root","role":"owner","sites":["a_b"]}"#,
        ),
        (
            Endpoint::Admin(roster::wire::Command::UserList),
            r#"{"cursor":"../../etc"}"#,
        ),
        (
            Endpoint::Admin(roster::wire::Command::InviteList),
            r#"{"state":"gone"}"#,
        ),
        (Endpoint::Admin(roster::wire::Command::AuditQuery), "[]"),
    ];
    for (ep, body) in cases {
        let reply = o.call_raw(*ep, body.as_bytes()).await.unwrap();
        assert_eq!(
            reply.error_code().as_deref(),
            Some("bad_request"),
            "{} {body}",
            ep.command()
        );
    }
    // Role names compare case-insensitively.
    let ok = o
        .call_raw(
            Endpoint::Admin(roster::wire::Command::InviteCreate),
            br#"{"handle":"okay","role":"MEMBER"}"#,
        )
        .await
        .unwrap();
    assert_eq!(ok.error_code(), None);
    // Only the accepted request's invite and nonce were written.
    assert_eq!(env.kv_dump().await.len(), before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identitys_refusals_are_audit_events_and_a_strangers_are_tallies() {
    let env = TestEnv::start().await;
    let member = env.user("meg", Role::Member).await;
    // A member lacks the permission: an identity's refusal, one audit event naming it.
    let err = member
        .user_list(&UserListRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
    // A key that is nobody's: a stranger's refusal, counted in the security stream.
    let err = env
        .client()
        .user_list(&UserListRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Unauthorized));

    let audited: Vec<_> = env
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "user.list")
        .collect();
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0].actor.id, "meg");
    assert_eq!(audited[0].metadata["code"], "forbidden");
    let tally = env
        .wait_security(|e| e.action == "user.list" && e.metadata["code"] == "unauthorized")
        .await;
    assert_eq!(tally.metadata["count"], 1);
}
