//! Throttles and aggregations hold across workers (issue 13, fleet scale): the
//! enrollment failure budget of a source and the security stream's one event per key and
//! window are shared by every worker of the queue group, through KV.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::time::Duration;

use common::TestEnv;
use roster::app::App;
use roster::client::{EnrollArgs, RosterClient};
use roster::config::WorkerArgs;
use roster::domain::Policy;
use roster::store::records::{SecurityTallyRecord, SCHEMA_V};
use roster::store::TallyKey;
use roster::wire::ErrorCode;

fn args(site: &str, key: &str, uid: &str) -> EnrollArgs {
    EnrollArgs {
        site: site.into(),
        enrollment_key: key.into(),
        machine_uid: uid.into(),
        ..Default::default()
    }
}

fn wrong_key() -> String {
    roster::crypto::Secret::mint(roster::crypto::SecretKind::Enrollment)
        .expose()
        .to_owned()
}

/// The one source with failures recorded (the shared record's only key).
async fn failures_of_the_one_source(env: &TestEnv) -> usize {
    let keys = env.store.enroll_failures.keys().await.unwrap();
    assert_eq!(keys.len(), 1, "one failing source: {keys:?}");
    let all = env.store.enroll_failures.all_from_leader().await.unwrap();
    all[0].1.failures.len()
}

async fn code(c: &RosterClient, a: &EnrollArgs) -> ErrorCode {
    c.enroll(a).await.unwrap_err().code().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sources_failure_budget_is_shared_by_every_worker() {
    let limit = 3;
    let wargs = WorkerArgs {
        enroll_fail_limit: limit,
        // Shorter than the request clock window, so the test can move the clock past it.
        enroll_fail_window_secs: 30,
        ..Default::default()
    };
    let mut env = TestEnv::with_args(2, wargs).await;
    let key = env.site("acme-phx", Policy::Auto).await;

    // 1. Two workers serve one queue group: one source's sequential wrong keys are
    //    checked `limit` times in total, then refused by both, without Argon2.
    let attacker = env.client_own_connection().await;
    let runs_before = env.argon2_runs();
    let mut codes = Vec::new();
    for i in 0..12 {
        codes.push(
            code(
                &attacker,
                &args("acme-phx", &wrong_key(), &format!("x-{i}")),
            )
            .await,
        );
    }
    println!("two workers, limit {limit}: {codes:?}");
    assert_eq!(&codes[..limit], &[ErrorCode::EnrollmentDenied; 3]);
    assert_eq!(&codes[limit..], &[ErrorCode::RateLimited; 9]);
    assert_eq!(
        env.argon2_runs() - runs_before,
        limit as u64,
        "Argon2 ran only for the first {limit} wrong keys, on both workers together"
    );
    // Unknown sites share the same budget.
    assert_eq!(
        code(&attacker, &args("nowhere", &wrong_key(), "y")).await,
        ErrorCode::RateLimited
    );
    // The shared record: one per failing source (by digest), its `limit` failures.
    assert_eq!(failures_of_the_one_source(&env).await, limit);

    // 2. A verified key is a cache hit: never throttled, and it never reads or writes
    //    the shared record. Both workers verify the right key once (directly, from
    //    another source), then the throttled source enrolls with it through either.
    let place = roster::domain::SiteRef::new(
        &roster::domain::Tenant::default_tenant(),
        &roster::domain::SiteCode::parse("acme-phx").unwrap(),
    );
    let rec = env.store.site(&place).await.unwrap().unwrap();
    let right = roster::domain::EnrollmentKey::parse(&key).unwrap();
    for w in &env.workers {
        let now = env.settings.worker.clock.now();
        let v = w.keys().verify(
            &env.store,
            "default/ACME-PHX",
            Some(&rec),
            &right,
            "warm",
            now,
        );
        assert_eq!(v.await.unwrap(), roster::keyring::Verdict::Valid(1));
    }
    let runs_before = env.argon2_runs();
    for _ in 0..6 {
        attacker
            .enroll(&args("acme-phx", &key, "good"))
            .await
            .unwrap();
    }
    assert_eq!(env.argon2_runs(), runs_before, "cache hits only");
    assert_eq!(
        failures_of_the_one_source(&env).await,
        limit,
        "successes write nothing"
    );

    // 3. A worker that never saw the source refuses it from the shared record alone:
    //    stop both workers and start a fresh one.
    for w in env.workers.drain(..) {
        w.shutdown().await.unwrap();
    }
    let fresh = App::build(&env.settings, "test-worker").await.unwrap();
    env.workers.push(fresh.into_worker());
    common::until_serving(attacker.nats()).await;
    let runs_before = env.argon2_runs();
    assert_eq!(
        code(&attacker, &args("acme-phx", &wrong_key(), "z")).await,
        ErrorCode::RateLimited,
        "a new worker honours the failures other workers recorded"
    );
    assert_eq!(
        env.argon2_runs(),
        runs_before,
        "no Argon2 for a throttled source"
    );

    // 4. Once the window has passed (the clock moved), the source may try again.
    env.advance_clock(Duration::from_secs(31));
    assert_eq!(
        code(&attacker, &args("acme-phx", &wrong_key(), "w")).await,
        ErrorCode::EnrollmentDenied
    );
    assert_eq!(
        failures_of_the_one_source(&env).await,
        1,
        "failures older than the window are dropped when the next is recorded"
    );
    env.check_kv_schemas().await;
}

/// The security window of the next test: long, so the 20 denials fall in one window,
/// and the clock moves instead of the test waiting.
const WINDOW: u64 = 3600;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_publish_one_security_event_per_key_and_window_with_the_summed_count() {
    let wargs = WorkerArgs {
        security_window_secs: WINDOW,
        ..Default::default()
    };
    let env = TestEnv::with_args(2, wargs).await;
    // A stranger (an unknown key) sends 20 admin commands from one connection; the
    // queue group spreads them over both workers (all 20 on one: p = 2^-19).
    let stranger = env.client_own_connection().await;
    let user_list = roster::wire::Endpoint::Admin(roster::wire::Command::UserList);
    for _ in 0..20 {
        let reply = stranger.call_raw(user_list, b"{}").await.unwrap();
        assert_eq!(reply.error_code().as_deref(), Some("unauthorized"));
    }
    let mine = |e: &roster::audit::AuditEvent| e.action == "user.list";
    // The window ends (the clock moves to a second after its end): each worker adds its
    // count to the shared tally within a second.
    let now = env.settings.worker.clock.now().unix_secs();
    let end = (now.div_euclid(WINDOW as i64) + 1) * WINDOW as i64;
    env.advance_clock(Duration::from_secs((end + 1 - now) as u64));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let source = loop {
        let tallies = env.store.security_tallies.all_from_leader().await.unwrap();
        if let [(_, t)] = &tallies[..] {
            if t.count == 20 {
                assert_eq!(
                    (t.action.as_str(), t.code.as_str()),
                    ("user.list", "unauthorized")
                );
                assert_eq!(t.published_at, None, "not before the settle");
                break t.source.clone();
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "both workers' counts in one tally: {tallies:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        !env.security_events().await.iter().any(mine),
        "nothing is published while other workers may still add to it"
    );
    // After the settle, exactly one worker publishes exactly one event.
    let settle = roster::audit::security::settle(Duration::from_secs(WINDOW));
    env.advance_clock(settle + Duration::from_secs(1));
    let ev = env.wait_security(mine).await;
    // Both flushers tick at least twice more: still one event.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let events: Vec<_> = env
        .security_events()
        .await
        .into_iter()
        .filter(mine)
        .collect();
    println!("{}", serde_json::to_string(&ev).unwrap());
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(ev.metadata["count"], 20, "summed over both workers");
    assert_eq!(ev.metadata["code"], "unauthorized");
    assert_eq!(ev.source.as_deref(), Some(source.as_str()));
    assert!(ev.metadata["first_seen"].as_str() <= ev.metadata["last_seen"].as_str());
    let tallies = env.store.security_tallies.all_from_leader().await.unwrap();
    assert_eq!(tallies.len(), 1);
    assert!(
        tallies[0].1.published_at.is_some(),
        "claimed by the publisher"
    );
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_count_after_its_windows_event_goes_to_the_next_window() {
    let env = TestEnv::start().await;
    let key = TallyKey::new(1_800_000_000, "user.register", "invite_unknown", "src");
    let tally = |count| SecurityTallyRecord {
        v: SCHEMA_V,
        window: 1_800_000_000,
        action: "user.register".into(),
        code: "invite_unknown".into(),
        source: "src".into(),
        count,
        first_seen: "2027-01-15T08:00:01.000Z".into(),
        last_seen: "2027-01-15T08:00:02.000Z".into(),
        actor: "anonymous".into(),
        target_id: "x".into(),
        target_type: "invite".into(),
        target_name: None,
        tenant: None,
        site: None,
        published_at: None,
    };
    let s = &env.store;
    assert_eq!(s.merge_tally(&key, &tally(3), 60).await.unwrap(), key);
    assert_eq!(s.merge_tally(&key, &tally(4), 60).await.unwrap(), key);
    let claimed = s
        .claim_tally(&key, "2027-01-15T08:01:05.000Z")
        .await
        .unwrap();
    assert_eq!(claimed.unwrap().count, 7);
    assert_eq!(
        s.claim_tally(&key, "2027-01-15T08:01:05.000Z")
            .await
            .unwrap(),
        None,
        "claimed once"
    );
    // A late worker's count lands one window later, to be that window's event.
    let landed = s.merge_tally(&key, &tally(5), 60).await.unwrap();
    assert_eq!(landed, key.next(60));
    let next = s
        .security_tallies
        .get(&landed)
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!((next.window, next.count), (1_800_000_060, 5));
    assert_eq!(
        s.security_tallies
            .get(&key)
            .await
            .unwrap()
            .unwrap()
            .value
            .count,
        7
    );
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_counter_buckets_are_bounded_and_discard_the_oldest() {
    let env = TestEnv::start().await;
    let js = async_nats::jetstream::new(env.nats().clone());
    for (bucket, max_bytes, max_age) in [
        ("roster_enroll_failures", 8 << 20, Duration::from_secs(60)),
        (
            "roster_security_tallies",
            8 << 20,
            roster::store::tally_max_age(Duration::from_secs(60)),
        ),
    ] {
        let mut stream = js.get_stream(format!("KV_{bucket}")).await.unwrap();
        let c = stream.info().await.unwrap().config.clone();
        assert_eq!(c.max_bytes, max_bytes, "{bucket}");
        assert_eq!(c.max_age, max_age, "{bucket}");
        assert_eq!(
            c.discard,
            async_nats::jetstream::stream::DiscardPolicy::Old,
            "{bucket}"
        );
    }
}
