//! Enrollment timing: an unknown site and a wrong key cost the same, so the reply time
//! does not tell which sites exist. Alone in its own test binary so that no other test
//! shares the machine while it measures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::time::Instant;

use common::TestEnv;
use roster::client::EnrollArgs;
use roster::domain::Policy;
use roster::wire::ErrorCode;

fn args(site: &str, key: &str, uid: &str) -> EnrollArgs {
    EnrollArgs {
        site: site.into(),
        enrollment_key: key.into(),
        machine_uid: uid.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_site_and_wrong_key_look_the_same_and_cost_the_same() {
    let env = TestEnv::start().await;
    let good = env.site("acme-phx", Policy::Auto).await;
    let wrong = roster::crypto::Secret::mint(roster::crypto::SecretKind::Enrollment);
    let mut unknown = Vec::new();
    let mut wrong_key = Vec::new();
    for i in 0..10 {
        let t = Instant::now();
        let e = env
            .client()
            .enroll(&args(&format!("nosuch{i}"), &good, "h"))
            .await
            .unwrap_err();
        unknown.push(t.elapsed());
        assert_eq!(e.code(), Some(ErrorCode::EnrollmentDenied));
        let t = Instant::now();
        let e = env
            .client()
            .enroll(&args("acme-phx", wrong.expose(), "h"))
            .await
            .unwrap_err();
        wrong_key.push(t.elapsed());
        assert_eq!(e.code(), Some(ErrorCode::EnrollmentDenied));
        assert_eq!(
            e.to_string(),
            "enrollment_denied: enrollment denied",
            "same message"
        );
    }
    unknown.sort();
    wrong_key.sort();
    let (u, w) = (unknown[5].as_secs_f64(), wrong_key[5].as_secs_f64());
    println!(
        "median unknown site {:.1} ms, wrong key {:.1} ms",
        u * 1e3,
        w * 1e3
    );
    assert!(
        u / w < 2.0 && w / u < 2.0,
        "unknown {u:.4}s vs wrong key {w:.4}s"
    );
}
