//! Sites and zero-touch enrollment: agents join with a per-site key.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::time::Duration;

use common::{handle, TestEnv};
use roster::client::{EnrollArgs, RosterClient};
use roster::crypto::KeyPairs;
use roster::domain::{MachineId, Policy, Role, SiteCode};
use roster::handlers::Endpoint;
use roster::wire::admin::{MachineListRequest, MachineStateFilter, RotateKeyRequest};
use roster::wire::ErrorCode;

fn agent(env: &TestEnv) -> RosterClient {
    env.client()
}

fn args(site: &str, key: &str, uid: &str) -> EnrollArgs {
    EnrollArgs {
        site: site.into(),
        enrollment_key: key.into(),
        machine_uid: uid.into(),
        hostname: Some(format!("{uid}.example")),
        ..Default::default()
    }
}

fn site(s: &str) -> SiteCode {
    SiteCode::parse(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_enrolls_and_only_it_can_open_its_credential() {
    let env = TestEnv::start().await;
    let key = env.site("acme-phx", Policy::Auto).await;
    let a = agent(&env);

    let reply = a.enroll(&args("ACME-PHX", &key, "host-1")).await.unwrap();

    assert_eq!(reply.state, "active");
    assert_eq!(reply.site.as_str(), "ACME-PHX");
    assert_eq!(reply.tenant.as_str(), "default");
    let credential = a.open_credential(&reply).unwrap();
    assert!(credential.starts_with("cak_"));
    // Somebody else on the bus cannot open it.
    assert!(agent(&env).open_credential(&reply).is_err());
    let m = env
        .store
        .machine(&reply.machine_id)
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(
        m.credential_sha256,
        roster::crypto::sha256_hex(credential.as_bytes())
    );
    assert_eq!(m.agent_pub, a.keys().sign_pub());
    assert_eq!(m.hostname.as_deref(), Some("host-1.example"));
    let view = env.owner.machine_get(&reply.machine_id).await.unwrap();
    assert_eq!(
        (view.state.as_str(), view.machine_uid.as_str()),
        ("active", "host-1")
    );
    let events = env.audit_events().await;
    assert!(events
        .iter()
        .any(|e| e.action == "machine.enrolled" && e.target.id == reply.machine_id.as_str()));
    assert!(events
        .iter()
        .any(|e| e.action == "site.created" && e.target.id == "default/ACME-PHX"));
    env.assert_not_stored(&key).await;
    env.assert_not_stored(&credential).await;
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_enrolling_replaces_the_credential_and_records_a_site_move() {
    let env = TestEnv::start().await;
    let phx = env.site("acme-phx", Policy::Auto).await;
    let nyc = env.site("acme-nyc", Policy::Auto).await;
    let a = agent(&env);
    let first = a.enroll(&args("acme-phx", &phx, "host-2")).await.unwrap();
    let old = a.open_credential(&first).unwrap();

    let again = a.enroll(&args("acme-nyc", &nyc, "host-2")).await.unwrap();

    assert_eq!(
        again.machine_id, first.machine_id,
        "same agent key, same machine"
    );
    let new = a.open_credential(&again).unwrap();
    assert_ne!(old, new);
    let m = env
        .store
        .machine(&again.machine_id)
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(
        m.credential_sha256,
        roster::crypto::sha256_hex(new.as_bytes()),
        "the old credential is dead"
    );
    assert_eq!(m.site, site("ACME-NYC"));
    assert_eq!(m.site_history.len(), 2);
    assert!(env
        .store
        .credentials
        .get(&roster::store::CredentialDigest(
            roster::crypto::sha256_hex(old.as_bytes())
        ))
        .await
        .unwrap()
        .is_none());
    let actions = env.audit_actions().await;
    assert!(actions.contains(&"machine.reenrolled".to_string()));
    assert!(actions.contains(&"machine.site_moved".to_string()));
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloned_uid_waits_for_an_operator() {
    let env = TestEnv::start().await;
    let key = env.site("acme-phx", Policy::Auto).await;
    let original = agent(&env)
        .enroll(&args("acme-phx", &key, "host-3"))
        .await
        .unwrap();
    let clone = agent(&env);

    let pending = clone
        .enroll(&args("acme-phx", &key, "host-3"))
        .await
        .unwrap();

    assert_eq!(pending.state, "pending");
    assert_ne!(pending.machine_id, original.machine_id);
    let view = env.owner.machine_get(&pending.machine_id).await.unwrap();
    assert_eq!(view.pending_reason.as_deref(), Some("uid_collision"));
    // The operator decides the clone is the real machine now.
    let approved = env
        .owner
        .machine_approve(&pending.machine_id)
        .await
        .unwrap();
    assert_eq!(approved.state, "active");
    // Decided, it no longer waits for anything: the reason is history, kept in the event.
    assert_eq!(approved.pending_reason, None);
    let stored = env
        .store
        .machine(&pending.machine_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.value.pending_reason, None);
    let event = env
        .audit_events()
        .await
        .into_iter()
        .find(|e| e.action == "machine.approved")
        .unwrap();
    assert_eq!(event.metadata["pending_reason"], "uid_collision");
    let idx = env
        .store
        .machine_uids
        .get(&roster::store::UidKey::new(
            &roster::domain::Tenant::default_tenant(),
            &roster::domain::MachineUid::parse("host-3").unwrap(),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(idx.value.machine_id, pending.machine_id);
    // Approving again changes nothing; rejecting an active machine is a conflict.
    env.owner
        .machine_approve(&pending.machine_id)
        .await
        .unwrap();
    assert_eq!(
        env.owner
            .machine_reject(&pending.machine_id)
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Conflict)
    );
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_site_holds_every_new_machine_and_a_rejected_one_stays_out() {
    let env = TestEnv::start().await;
    let key = env.site("vault", Policy::Approval).await;
    let a = agent(&env);
    let r = a.enroll(&args("vault", &key, "host-4")).await.unwrap();
    assert_eq!(r.state, "pending");
    let listed = env
        .owner
        .machine_list(&MachineListRequest {
            state: Some(MachineStateFilter::Pending),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.machines.len(), 1);

    let rejected = env.owner.machine_reject(&r.machine_id).await.unwrap();
    assert_eq!(rejected.state, "rejected");
    assert_eq!(
        rejected.pending_reason, None,
        "a rejected machine waits for nothing"
    );
    let err = a.enroll(&args("vault", &key, "host-4")).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::EnrollmentDenied));
    // The uid was released: another agent may take it (and waits, by site policy).
    let b = agent(&env)
        .enroll(&args("vault", &key, "host-4"))
        .await
        .unwrap();
    assert_eq!(b.state, "pending");
    let actions = env.audit_actions().await;
    for a in ["machine.pending", "machine.rejected"] {
        assert!(actions.contains(&a.to_string()), "{a}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_retires_the_old_key_after_its_grace() {
    let env = TestEnv::start().await;
    let v1 = env.site("acme-phx", Policy::Auto).await;
    let o = &env.owner;
    let rot = |grace: Option<u64>| RotateKeyRequest {
        site: site("acme-phx"),
        tenant: None,
        grace_secs: grace.map(|g| g.try_into().unwrap()),
    };
    let r2 = o.site_rotate_key(&rot(Some(2))).await.unwrap();
    assert_eq!(r2.version, 2);
    assert!(r2.fingerprint.starts_with("v2 ("));
    assert_eq!(
        o.site_get(&site("acme-phx"), None)
            .await
            .unwrap()
            .fingerprint,
        r2.fingerprint
    );
    // During the grace both keys enroll.
    agent(&env)
        .enroll(&args("acme-phx", &v1, "h-a"))
        .await
        .unwrap();
    agent(&env)
        .enroll(&args("acme-phx", &r2.enrollment_key, "h-b"))
        .await
        .unwrap();
    env.advance_clock(Duration::from_secs(3));
    let err = agent(&env)
        .enroll(&args("acme-phx", &v1, "h-c"))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(ErrorCode::EnrollmentDenied),
        "rotated-out key refused"
    );
    // Without a grace the old key stops at once.
    let r3 = o.site_rotate_key(&rot(None)).await.unwrap();
    let err = agent(&env)
        .enroll(&args("acme-phx", &r2.enrollment_key, "h-d"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::EnrollmentDenied));
    agent(&env)
        .enroll(&args("acme-phx", &r3.enrollment_key, "h-e"))
        .await
        .unwrap();
    let rec = env
        .store
        .site(&roster::domain::SiteRef::new(
            &roster::domain::Tenant::default_tenant(),
            &site("acme-phx"),
        ))
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(rec.keys.len(), 1, "exactly one key left, the active one");
    assert_eq!(rec.key_version, 3);
    let events = env.audit_events().await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "site.key_rotated")
            .count(),
        2
    );
    // A stranger's denied enrollment is counted in the security stream, naming the site.
    let denied = env
        .wait_security(|e| {
            e.action == "machine.enroll"
                && e.outcome == roster::audit::Outcome::Denied
                && e.target.id == "default/ACME-PHX"
        })
        .await;
    assert_eq!(denied.metadata["code"], "enrollment_denied");
    assert!(!events.iter().any(|e| e.action == "machine.enroll"));
    env.assert_not_stored(&r3.enrollment_key).await;
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_act_only_at_their_sites() {
    let env = TestEnv::start().await;
    let key = env.site("acme-phx", Policy::Approval).await;
    env.site("acme-nyc", Policy::Approval).await;
    let op = env.user("opr", Role::Operator).await;
    env.owner
        .user_set_role(&handle("opr"), Role::Operator, Some(vec![site("acme-phx")]))
        .await
        .unwrap();
    let m = agent(&env)
        .enroll(&args("acme-phx", &key, "h-1"))
        .await
        .unwrap();

    op.machine_approve(&m.machine_id).await.unwrap();
    let rot = |s: &str| RotateKeyRequest {
        site: site(s),
        tenant: None,
        grace_secs: None,
    };
    op.site_rotate_key(&rot("acme-phx")).await.unwrap();
    assert_eq!(
        op.site_rotate_key(&rot("acme-nyc"))
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Forbidden)
    );
    let req = roster::wire::admin::SiteCreateRequest {
        site: site("other"),
        tenant: None,
        display_name: None,
        company: None,
        policy: None,
    };
    assert_eq!(
        op.site_create(&req).await.unwrap_err().code(),
        Some(ErrorCode::Forbidden)
    );
    // It reads its sites only (PROTOCOL §4); members cannot even read.
    assert_eq!(
        op.site_list(&Default::default()).await.unwrap().sites.len(),
        1
    );
    let member = env.user("mem", Role::Member).await;
    assert_eq!(
        member
            .site_list(&Default::default())
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Forbidden)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_agents_race_one_uid_and_exactly_one_is_active() {
    let env = TestEnv::with_workers(2).await;
    let key = env.site("acme-phx", Policy::Auto).await;
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let a = agent(&env).with_timeout(Duration::from_secs(30));
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            a.enroll(&args("acme-phx", &key, "golden-image")).await
        }));
    }
    let mut states = std::collections::HashMap::<String, usize>::new();
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        *states.entry(r.state).or_default() += 1;
    }
    println!("100 agents, one uid: {states:?}");
    assert_eq!(states.get("active"), Some(&1));
    assert_eq!(states.get("pending"), Some(&99));
    let active = env
        .owner
        .machine_list(&MachineListRequest {
            state: Some(MachineStateFilter::Active),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(active.machines.len(), 1);
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_agents_with_one_key_all_enroll_for_one_argon2_run() {
    let env = TestEnv::start().await;
    let key = env.site("fleet", Policy::Auto).await;
    let runs_before = env.argon2_runs();
    let mut tasks = Vec::new();
    for i in 0..300 {
        let a = agent(&env).with_timeout(Duration::from_secs(60));
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            a.enroll(&args("fleet", &key, &format!("node-{i}"))).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().state, "active");
    }
    let runs = env.argon2_runs() - runs_before;
    println!("300 enrollments cost {runs} Argon2 run(s)");
    assert_eq!(runs, 1, "racing first requests share one verification");
    assert_eq!(env.store.machines.keys().await.unwrap().len(), 300);
}

/// An agent on a connection of its own: its own source for the throttle.
async fn own_agent(env: &TestEnv) -> RosterClient {
    env.client_own_connection().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_throttled_per_source_and_nobody_else_is_locked_out() {
    let args_small = roster::config::WorkerArgs {
        enroll_fail_limit: 3,
        ..Default::default()
    };
    let env = TestEnv::with_args(1, args_small).await;
    let key = env.site("acme-phx", Policy::Auto).await;
    // A verified key is cached before the flood.
    agent(&env)
        .enroll(&args("acme-phx", &key, "first"))
        .await
        .unwrap();
    // One source (one connection) tries five wrong keys: three are checked, then it is
    // throttled, at this site and at every other, existing or not (the answer must not
    // tell which sites exist).
    let attacker = own_agent(&env).await;
    let wrong = roster::crypto::Secret::mint(roster::crypto::SecretKind::Enrollment);
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(
            attacker
                .enroll(&args("acme-phx", wrong.expose(), "x"))
                .await
                .unwrap_err()
                .code()
                .unwrap(),
        );
    }
    assert_eq!(&codes[..3], &[ErrorCode::EnrollmentDenied; 3]);
    assert_eq!(&codes[3..], &[ErrorCode::RateLimited; 2]);
    for s in ["acme-phx", "nowhere"] {
        assert_eq!(
            attacker
                .enroll(&args(s, wrong.expose(), "x"))
                .await
                .unwrap_err()
                .code(),
            Some(ErrorCode::RateLimited),
            "{s}"
        );
    }
    // The cached key still enrolls, and so does anyone else with the right key.
    agent(&env)
        .enroll(&args("acme-phx", &key, "second"))
        .await
        .unwrap();
    let other = env.site("acme-nyc", Policy::Auto).await;
    own_agent(&env)
        .await
        .enroll(&args("acme-nyc", &other, "third"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_wrong_keys_costs_at_most_the_failure_limit_in_argon2_runs() {
    let limit = 4;
    let env = TestEnv::with_args(
        1,
        roster::config::WorkerArgs {
            enroll_fail_limit: limit,
            ..Default::default()
        },
    )
    .await;
    env.site("acme-phx", Policy::Auto).await;
    let runs_before = env.argon2_runs();
    // 40 different wrong keys at once from one source: none has failed yet when most of
    // them arrive.
    let source = own_agent(&env).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let a = RosterClient::new(source.nats().clone(), "roster", KeyPairs::generate())
            .with_timeout(Duration::from_secs(60));
        tasks.push(tokio::spawn(async move {
            let wrong = roster::crypto::Secret::mint(roster::crypto::SecretKind::Enrollment);
            a.enroll(&args("acme-phx", wrong.expose(), &format!("x-{i}")))
                .await
                .unwrap_err()
                .code()
                .unwrap()
        }));
    }
    let mut denied = 0;
    for t in tasks {
        match t.await.unwrap() {
            ErrorCode::EnrollmentDenied => denied += 1,
            ErrorCode::RateLimited => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let runs = env.argon2_runs() - runs_before;
    println!("40 racing wrong keys: {denied} denied after Argon2, {runs} Argon2 runs");
    assert_eq!(runs, limit as u64, "each run holds a throttle slot");
    assert_eq!(denied, limit);
    // Unknown sites share the source's rule, and all unknown sites together run at most
    // one dummy verification at a time: a fresh source's 20 racing attempts at unknown
    // sites cost at most its limit, and no more than one at once.
    let before = env.argon2_runs();
    let fresh = own_agent(&env).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let a = RosterClient::new(fresh.nats().clone(), "roster", KeyPairs::generate())
            .with_timeout(Duration::from_secs(60));
        let wrong = roster::crypto::Secret::mint(roster::crypto::SecretKind::Enrollment);
        tasks.push(tokio::spawn(async move {
            a.enroll(&args(&format!("nowhere-{i}"), wrong.expose(), "y"))
                .await
                .unwrap_err()
                .code()
                .unwrap()
        }));
    }
    let mut denied = 0;
    for t in tasks {
        if t.await.unwrap() == ErrorCode::EnrollmentDenied {
            denied += 1;
        }
    }
    let runs = env.argon2_runs() - before;
    println!("20 racing unknown sites: {denied} denied, {runs} dummy runs");
    assert_eq!(denied, limit);
    assert!((1..=limit as u64).contains(&runs), "{runs} dummy runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_wrong_keys_then_the_first_use_of_a_rotated_key_succeeds_at_once() {
    let env = TestEnv::start().await;
    env.site("acme-phx", Policy::Auto).await;
    // Forty distinct wrong keys, each from a connection of its own (the worst case for a
    // per-source throttle): twice the default failure limit.
    for i in 0..40 {
        let wrong = roster::crypto::Secret::mint(roster::crypto::SecretKind::Enrollment);
        let e = own_agent(&env)
            .await
            .enroll(&args("acme-phx", wrong.expose(), &format!("w-{i}")))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::EnrollmentDenied));
    }
    // The operator rotates; the installer's new key is used for the first time.
    let rotated = env
        .owner
        .site_rotate_key(&RotateKeyRequest {
            site: site("acme-phx"),
            tenant: None,
            grace_secs: None,
        })
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let r = own_agent(&env)
        .await
        .enroll(&args("acme-phx", &rotated.enrollment_key, "legit"))
        .await
        .expect("the correct key is never locked out");
    println!(
        "first use of the rotated key after 40 wrong ones: {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(r.state, "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_enrollment_succeeds_within_two_seconds_during_a_flood_of_unknown_sites() {
    let env = TestEnv::start().await;
    let key = env.site("acme-phx", Policy::Auto).await;
    // 96 flooders, each on its own connection, send random unknown site codes as fast as
    // they are answered: more in flight than the Argon2 pool's queue holds (64).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut flooders = Vec::new();
    for f in 0..96 {
        let url = env.server.url();
        let (stop, sent) = (stop.clone(), sent.clone());
        flooders.push(tokio::spawn(async move {
            let wrong = roster::crypto::Secret::mint(roster::crypto::SecretKind::Enrollment);
            let mut conn = async_nats::connect(&url).await.unwrap();
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // A new connection (a new source) every ten attempts, so the per-source
                // throttle alone does not stop the flood.
                if i % 10 == 9 {
                    conn = async_nats::connect(&url).await.unwrap();
                }
                let a = RosterClient::new(conn.clone(), "roster", KeyPairs::generate());
                let code = format!("nx{f}x{i}");
                let _ = a.enroll(&args(&code, wrong.expose(), "z")).await;
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = sent.load(std::sync::atomic::Ordering::Relaxed);
    let started = std::time::Instant::now();
    let r = own_agent(&env)
        .await
        .with_timeout(Duration::from_secs(10))
        .enroll(&args("acme-phx", &key, "legit"))
        .await
        .expect("the first enrollment at a real site goes through");
    let took = started.elapsed();
    let during = sent.load(std::sync::atomic::Ordering::Relaxed) - before;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    println!("flood before the enrollment: {before} requests in 2 s");
    for f in flooders {
        f.await.unwrap();
    }
    println!(
        "first enrollment during the flood: {} ms ({during} flood requests meanwhile)",
        took.as_millis()
    );
    assert_eq!(r.state, "active");
    assert!(took < Duration::from_secs(2), "{} ms", took.as_millis());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_enroll_input_is_bad_request_and_writes_nothing() {
    let env = TestEnv::start().await;
    let key = env.site("acme-phx", Policy::Auto).await;
    let a = agent(&env);
    let kex = a.keys().kex_pub().unwrap().to_hex();
    let before = env.kv_dump().await.len();
    let mut typo = key.clone().into_bytes();
    typo[12] = if typo[12] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let body = |site: &str, k: &str, uid: &str, kex: &str| {
        format!(
            r#"{{"site":"{site}","enrollment_key":"{k}","machine_uid":"{uid}","agent_kex":"{kex}"}}"#
        )
    };
    let mut bodies = vec![
        body("acme_phx", &key, "u", &kex),
        body("a.b", &key, "u", &kex),
        body("ab", &key, "u", &kex),
        body("acme-phx", &typo, "u", &kex),
        body("acme-phx", &key.replace("cek_", "inv_"), "u", &kex),
        body("acme-phx", &key, "has space", &kex),
        body("acme-phx", &key, &"u".repeat(129), &kex),
        body("acme-phx", &key, "u", &"00".repeat(32)),
        format!(
            r#"{{"site":"acme-phx","tenant":"Default","enrollment_key":"{key}","machine_uid":"u","agent_kex":"{kex}"}}"#
        ),
        format!(
            r#"{{"site":"acme-phx","enrollment_key":"{key}","machine_uid":"u","agent_kex":"{kex}","hostname":""}}"#
        ),
        format!(
            r#"{{"site":"acme-phx","enrollment_key":"{key}","machine_uid":"u","agent_kex":"{kex}","extra":1}}"#
        ),
        format!(r#"{{"site":"acme-phx","enrollment_key":"{key}","machine_uid":"u"}}"#),
    ];
    bodies.push("[]".into());
    for b in &bodies {
        let r = a.call_raw(Endpoint::Enroll, b.as_bytes()).await.unwrap();
        assert_eq!(r.error_code().as_deref(), Some("bad_request"), "{b:.100}");
    }
    assert_eq!(env.kv_dump().await.len(), before, "bad input wrote nothing");
    let bad_id = MachineId::parse("m-nothex");
    assert!(bad_id.is_err());
    let _ = KeyPairs::generate();
}
