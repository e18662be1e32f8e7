//! `audit.query` pages: cursors going back in time, the outcome filter, targets in the
//! table's `type:id` form, and requests without the extensions answering as before.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use common::{handle, TestEnv};
use roster::audit::{Actor, AuditEvent, Outcome, Target};
use roster::domain::Role;
use roster::handlers::Endpoint;
use roster::wire::admin::AuditQueryReply;
use roster::wire::ErrorCode;
use serde_json::json;

async fn query(env: &TestEnv, body: serde_json::Value) -> Result<AuditQueryReply, ErrorCode> {
    env.owner
        .call::<_, AuditQueryReply>(Endpoint::Admin(roster::wire::Command::AuditQuery), &body)
        .await
        .map_err(|e| e.code().expect("a refusal"))
}

/// Every page of `body`, following cursors: the pages in the order they came.
async fn pages(env: &TestEnv, body: serde_json::Value) -> Vec<AuditQueryReply> {
    let mut out = Vec::new();
    let mut body = body;
    loop {
        let page = query(env, body.clone()).await.unwrap();
        let next = page.cursor;
        out.push(page);
        match next {
            Some(c) => body["cursor"] = json!(c.to_string()),
            None => return out,
        }
        assert!(out.len() < 1000, "the cursors never ran out");
    }
}

/// Publishes `n` synthetic `test.tick` events (real ones, into the real stream) with
/// target `tick:<i>`.
async fn ticks(env: &TestEnv, n: usize) {
    for i in 0..n {
        let ev = AuditEvent::new(
            &format!("tick-{i}"),
            "test.tick",
            Outcome::Ok,
            Actor::system(),
            Target::new("tick", i.to_string()),
        );
        env.audit.publish(&ev).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursors_page_back_through_more_events_than_one_page_holds() {
    let env = TestEnv::start().await;
    ticks(&env, 57).await;

    // Without a cursor: the most recent `limit`, oldest first, as before, plus a cursor.
    let first = query(&env, json!({"action": "test.tick", "limit": 10}))
        .await
        .unwrap();
    let ids: Vec<&str> = first.events.iter().map(|e| e.target.id.as_str()).collect();
    assert_eq!(ids, (47..57).map(|i| i.to_string()).collect::<Vec<_>>());
    assert!(first.cursor.is_some(), "older events remain");

    // Following the cursors visits every event once, each page older than the last.
    let all = pages(&env, json!({"action": "test.tick", "limit": 10})).await;
    assert_eq!(all.len(), 6, "five pages of ten and one of seven");
    assert_eq!(all.last().unwrap().events.len(), 7);
    assert!(
        all.last().unwrap().cursor.is_none(),
        "the last page says so"
    );
    let seen: Vec<usize> = all
        .iter()
        .rev()
        .flat_map(|p| p.events.iter().map(|e| e.target.id.parse().unwrap()))
        .collect();
    assert_eq!(
        seen,
        (0..57).collect::<Vec<_>>(),
        "oldest first, none twice"
    );

    // A page that ends exactly at the oldest match has no cursor.
    let exact = pages(&env, json!({"action": "test.tick", "limit": 19})).await;
    assert_eq!(exact.len(), 3);
    assert!(exact[2].cursor.is_none());
    assert_eq!(exact[2].events.len(), 19);

    // More events than the first step back reads, with a sparse filter.
    ticks(&env, 700).await;
    let sparse = pages(
        &env,
        json!({"action": "test.tick", "target": "tick:3", "limit": 1}),
    )
    .await;
    assert_eq!(sparse.len(), 1, "the tick 3 event is one, deduplicated");
    assert_eq!(sparse[0].events[0].target.id, "3");
    let big = pages(&env, json!({"action": "test.tick", "limit": 250})).await;
    let n: usize = big.iter().map(|p| p.events.len()).sum();
    assert_eq!(n, 700, "ticks 0..700 (the first 57 were the same ids)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcome_and_the_tables_target_form_filter() {
    let env = TestEnv::start().await;
    let alice = env.user("alice", Role::Member).await;
    // A member's admin command is an identity's refusal: an audit event, denied.
    let refused = alice
        .invite_create(&handle("nope"), Role::Member, None)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Forbidden));

    let denied = query(&env, json!({"outcome": "denied"})).await.unwrap();
    assert_eq!(denied.events.len(), 1, "{:?}", denied.events);
    assert_eq!(denied.events[0].actor.id, "alice");
    let ok = query(&env, json!({"outcome": "ok"})).await.unwrap();
    assert!(!ok.events.is_empty());
    assert!(ok.events.iter().all(|e| e.outcome == Outcome::Ok));

    // `user:alice` is how the table prints the target; both forms find it.
    let plain = query(&env, json!({"target": "alice"})).await.unwrap();
    let typed = query(&env, json!({"target": "user:alice"})).await.unwrap();
    assert!(!plain.events.is_empty());
    assert_eq!(
        plain.events.iter().map(|e| &e.id).collect::<Vec<_>>(),
        typed.events.iter().map(|e| &e.id).collect::<Vec<_>>()
    );
    assert!(typed.events.iter().all(|e| e.target.kind == "user"));
    let wrong_kind = query(&env, json!({"target": "machine:alice"}))
        .await
        .unwrap();
    assert!(wrong_kind.events.is_empty());

    for bad in [
        json!({"outcome": "maybe"}),
        json!({"cursor": "0"}),
        json!({"cursor": "abc"}),
        json!({"cursor": "-3"}),
        json!({"cursor": 5}),
    ] {
        assert_eq!(
            query(&env, bad.clone()).await.unwrap_err(),
            ErrorCode::BadRequest,
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_bounds_the_pages_and_a_request_without_extensions_is_unchanged() {
    let env = TestEnv::start().await;
    ticks(&env, 5).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let start = roster::time_util::now_rfc3339();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    for i in 0..12 {
        env.owner
            .invite_create(&handle(&format!("late{i}")), Role::Member, None)
            .await
            .unwrap();
    }
    let recent = pages(&env, json!({"since": start, "limit": 5})).await;
    let n: usize = recent.iter().map(|p| p.events.len()).sum();
    assert_eq!(n, 12, "only what happened since start, over three pages");
    assert!(recent
        .iter()
        .flat_map(|p| &p.events)
        .all(|e| e.action == "invite.created"));

    // The body of PROTOCOL §4 alone: the reply is the most recent `limit`, oldest first.
    let raw = env
        .owner
        .call_raw(
            Endpoint::Admin(roster::wire::Command::AuditQuery),
            br#"{"limit":3}"#,
        )
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&raw.body).unwrap();
    let ids: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let every = env.audit_events().await;
    let last3: Vec<&str> = every[every.len() - 3..]
        .iter()
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(ids, last3);
    assert!(v["cursor"].is_string(), "a cursor, as a string: {v}");
}

/// Publishes `test.tick` events `tenant-<from..to>` of `tenant` (concurrently, `in_flight`
/// at a time).
async fn tenant_ticks(env: &TestEnv, tenant: Option<&str>, from: usize, to: usize) {
    use futures::StreamExt;
    let tag = tenant.unwrap_or("none");
    futures::stream::iter(from..to)
        .for_each_concurrent(64, |i| async move {
            let mut ev = AuditEvent::new(
                &format!("{tag}-tick-{i}"),
                "test.tick",
                Outcome::Ok,
                Actor::system(),
                Target::new("tick", format!("{tag}-{i}")),
            );
            ev.tenant = tenant.map(str::to_owned);
            env.audit.publish(&ev).await.unwrap();
        })
        .await;
}

/// Waits (up to 20 s) until the healers have indexed every event in the audit stream.
async fn indexed(env: &TestEnv) {
    let last = env.audit.read_all().await.unwrap().len() as u64;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while env.audit.indexed_upto().await.unwrap() < last {
        assert!(
            std::time::Instant::now() < deadline,
            "the tenant index never caught up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The target ids of every page, oldest first, and the cursors the pages gave.
async fn tenant_pages(env: &TestEnv, body: serde_json::Value) -> (Vec<String>, Vec<String>) {
    let all = pages(env, body).await;
    let cursors = all
        .iter()
        .filter_map(|p| p.cursor.map(|c| c.to_string()))
        .collect();
    let ids = all
        .iter()
        .rev()
        .flat_map(|p| p.events.iter().map(|e| e.target.id.clone()))
        .collect();
    (ids, cursors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_query_reads_the_tenant_index_and_the_events_not_indexed_yet() {
    let env = TestEnv::start().await;
    // One tenant's few events among many of another's: more than a page's scan budget.
    tenant_ticks(&env, Some("alpha"), 0, 5).await;
    tenant_ticks(&env, Some("beta"), 0, 21_000).await;
    tenant_ticks(&env, None, 0, 100).await;
    indexed(&env).await;
    let mut want: Vec<String> = (0..5).map(|i| format!("alpha-{i}")).collect();
    // The server filters the tenant's subjects: one full page, no cursor (a scan of the
    // audit stream would stop after 20,000 events with a short page and a cursor).
    let page = query(
        &env,
        json!({"tenant": "alpha", "action": "test.tick", "limit": 10}),
    )
    .await
    .unwrap();
    let mut ids: Vec<String> = page.events.iter().map(|e| e.target.id.clone()).collect();
    ids.sort();
    want.sort();
    assert_eq!(ids, want);
    assert!(page.cursor.is_none(), "{:?}", page.cursor);
    // Its action filter runs on the server too: another action of alpha is not read.
    let none = query(
        &env,
        json!({"tenant": "alpha", "action": "user.>", "limit": 10}),
    )
    .await
    .unwrap();
    assert!(none.events.is_empty());

    // Events the index does not hold yet are read from the audit stream: paging right
    // after they were written sees every one once, newest first, then the indexed ones.
    tenant_ticks(&env, Some("alpha"), 5, 300).await;
    let (ids, _) = tenant_pages(
        &env,
        json!({"tenant": "alpha", "action": "test.tick", "limit": 37}),
    )
    .await;
    // In the stream's order (they were published 64 at a time).
    let want: Vec<String> = env
        .audit
        .read_all()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.tenant.as_deref() == Some("alpha"))
        .map(|e| e.target.id)
        .collect();
    assert_eq!(want.len(), 300);
    assert_eq!(ids, want, "every event once, oldest first");
    // Once indexed, the same pages come from the index (its cursors begin with `t`).
    indexed(&env).await;
    let (ids, cursors) = tenant_pages(&env, json!({"tenant": "alpha", "limit": 37})).await;
    assert_eq!(ids, want);
    assert!(
        !cursors.is_empty() && cursors.iter().all(|c| c.starts_with('t')),
        "{cursors:?}"
    );
    // A platform query without a tenant still reads every event.
    let all = query(&env, json!({"action": "test.tick", "limit": 1000}))
        .await
        .unwrap();
    assert_eq!(all.events.len(), 1000);
    // A cursor this service never gave is refused.
    for bad in ["t0", "t", "tt5", "t-1", "x9"] {
        assert_eq!(
            query(&env, json!({"tenant": "alpha", "cursor": bad}))
                .await
                .unwrap_err(),
            ErrorCode::BadRequest,
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identitys_refusal_is_in_the_tenant_it_named_else_its_signers() {
    use roster::domain::Tenant;
    let env = TestEnv::start().await;
    let admin = |body: serde_json::Value, cmd: roster::wire::Command| {
        let owner = env.owner.clone();
        async move {
            owner
                .call::<_, serde_json::Value>(Endpoint::Admin(cmd), &body)
                .await
        }
    };
    admin(
        json!({"tenant": "tee", "name": "Tenant tee"}),
        roster::wire::Command::TenantCreate,
    )
    .await
    .unwrap();
    let tok = env
        .owner
        .invite_create_at(
            &handle("tee-op"),
            Role::Operator,
            Some(&Tenant::parse("tee").unwrap()),
            None,
            None,
        )
        .await
        .unwrap()
        .token;
    let op = env.client();
    op.register(&tok).await.unwrap();
    // An operator of tee may not mint invites: refused in tee, named or not.
    let named = op
        .invite_create_at(
            &handle("named"),
            Role::Member,
            Some(&Tenant::parse("tee").unwrap()),
            None,
            None,
        )
        .await;
    assert_eq!(named.unwrap_err().code(), Some(ErrorCode::Forbidden));
    let unnamed = op
        .invite_create(&handle("unnamed"), Role::Member, None)
        .await;
    assert_eq!(unnamed.unwrap_err().code(), Some(ErrorCode::Forbidden));
    // The platform owner's refusal that names no tenant is the platform's.
    let missing = admin(json!({"handle": "nobody"}), roster::wire::Command::UserGet).await;
    assert_eq!(missing.unwrap_err().code(), Some(ErrorCode::NotFound));

    let tee = query(&env, json!({"tenant": "tee", "outcome": "denied"}))
        .await
        .unwrap();
    assert_eq!(tee.events.len(), 2, "{:?}", tee.events);
    assert!(tee
        .events
        .iter()
        .all(|e| e.actor.id == "tee-op" && e.action == "invite.create"));
    let all = query(&env, json!({"outcome": "denied"})).await.unwrap();
    let get = all
        .events
        .iter()
        .find(|e| e.action == "user.get")
        .expect("the owner's refusal");
    assert_eq!(get.tenant, None);
}
