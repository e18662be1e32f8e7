//! `roster check` finds nothing on a healthy roster and names each orphan it is shown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::process::Command;

use common::TestEnv;
use roster::client::EnrollArgs;
use roster::domain::{Policy, Role};
use roster::store::records::{KeyIndexRecord, UidIndexRecord, SCHEMA_V};

fn check_cli(url: &str) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["check", "--nats-url", url, "--json"])
        .output()
        .unwrap();
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checker_is_clean_on_a_healthy_roster_and_names_orphans() {
    let env = TestEnv::start().await;
    let alice = env.user("alice", Role::Member).await;
    let key = env.site("acme-phx", Policy::Auto).await;
    let agent = env.client();
    let m = agent
        .enroll(&EnrollArgs {
            site: "acme-phx".into(),
            enrollment_key: key,
            machine_uid: "h1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    env.owner.revoke_machine(&m.machine_id, None).await.unwrap();
    env.owner
        .revoke_user(&common::handle("alice"), None)
        .await
        .unwrap();

    let (code, report) = check_cli(&env.server.url());
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["problems"].as_array().unwrap().len(), 0);
    assert_eq!(report["users"], 2);
    assert_eq!(report["machines"], 1);

    // Break things the way a crash or a buggy writer would.
    let ghost = roster::crypto::KeyPairs::generate().sign_pub();
    let rec = KeyIndexRecord {
        v: SCHEMA_V,
        sign_pub: ghost,
        handle: common::handle("nobody"),
        created_at: roster::time_util::now_rfc3339(),
    };
    env.store.user_keys.create(&ghost, &rec).await.unwrap();
    env.store
        .unbind_key(&alice.keys().sign_pub(), &common::handle("alice"))
        .await
        .unwrap();
    let uid = UidIndexRecord {
        v: SCHEMA_V,
        machine_id: roster::domain::MachineId::parse(&format!("m-{}", "0".repeat(32))).unwrap(),
        machine_uid: roster::domain::MachineUid::parse("lost").unwrap(),
        created_at: roster::time_util::now_rfc3339(),
    };
    env.store
        .machine_uids
        .create(
            &roster::store::UidKey::new(
                &roster::domain::Tenant::default_tenant(),
                &uid.machine_uid,
            ),
            &uid,
        )
        .await
        .unwrap();

    let (code, report) = check_cli(&env.server.url());
    assert_eq!(
        code,
        Some(4),
        "exit 4: problems found (1 would mean it could not run)"
    );
    let kinds: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    for k in [
        "key_index_without_user",
        "user_without_key_index",
        "uid_index_without_machine",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    assert_eq!(kinds.len(), 3, "{kinds:?}");
}
