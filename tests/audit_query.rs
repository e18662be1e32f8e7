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
