//! `roster backup` and `roster restore`, as an operator runs them: a populated roster
//! backed up, a fresh nats-server store, the restore, `roster check` clean, and the
//! registered users still signing requests. Real nats-servers, the real binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{handle, TestEnv};
use roster::app::{App, Settings};
use roster::client::{EnrollArgs, RosterClient};
use roster::config::{WorkerArgs, WorkerConfig};
use roster::crypto::KeyPairs;
use roster::domain::{Policy, Role};
use roster::natsd::NatsServer;
use roster::wire::admin::UserListRequest;

fn roster(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ROSTER_")) {
        cmd.env_remove(k);
    }
    cmd.args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every file under `dir` with its text.
fn files(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push((p.clone(), std::fs::read_to_string(&p).unwrap()));
        }
    }
    out
}

/// The records of every bucket but the nonces and the shared counters (which a backup
/// leaves out), as (bucket, key, value).
async fn records(store: &roster::store::Store) -> Vec<(String, String, serde_json::Value)> {
    let mut all: Vec<_> = store
        .dump_raw()
        .await
        .unwrap()
        .into_iter()
        .filter(|(b, _, _)| !["nonces", "enroll_failures", "security_tallies"].contains(b))
        .map(|(b, k, mut v)| {
            // Index entries are made anew by a restore: their sequences differ.
            if let Some(o) = v.as_object_mut() {
                o.remove("index_seq");
                o.remove("index_seqs");
            }
            (b.to_owned(), k, v)
        })
        .collect();
    all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    all
}

async fn state_of(server: &NatsServer) -> (roster::store::Store, roster::audit::Auditor) {
    let cfg = WorkerConfig::from_args(&server.worker_args(), &WorkerArgs::default()).unwrap();
    let nats = server.worker_args().connect("test-check").await.unwrap();
    roster::worker::open_state(&nats, &cfg).await.unwrap()
}

/// What a populated roster holds that the test looks for after the restore.
struct Populated {
    alice: RosterClient,
    pending: String,
    site_key: String,
    credential: String,
}

/// An owner (the harness's), a member, a pending invite, a site with an enrolled
/// machine, their audit events, and a stranger's refusal in the security stream.
async fn populate(env: &TestEnv) -> Populated {
    let alice = env.user("alice", Role::Member).await;
    let pending = env.invite("bob", Role::Admin).await;
    let site_key = env.site("ACME-PHX", Policy::Auto).await;
    let agent = env.client();
    let args = EnrollArgs {
        site: "ACME-PHX".into(),
        enrollment_key: site_key.clone(),
        machine_uid: "uid-1".into(),
        hostname: Some("phx-01".into()),
        ..Default::default()
    };
    let enrolled = agent.enroll(&args).await.unwrap();
    let credential = agent
        .open_credential(&enrolled)
        .unwrap()
        .as_str()
        .to_owned();
    let user_list = roster::wire::Endpoint::Admin(roster::wire::Command::UserList);
    env.client().call_raw(user_list, b"{}").await.unwrap();
    env.wait_security(|e| e.action == "user.list").await;
    Populated {
        alice,
        pending,
        site_key,
        credential,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restored_into_a_fresh_store_checks_clean_and_its_users_still_sign() {
    let env = TestEnv::start().await;
    // Boxed, each step: the story is long, and test threads have small stacks.
    Box::pin(round_trip(env)).await;
}

async fn round_trip(env: TestEnv) {
    let p = Box::pin(populate(&env)).await;
    let before = records(&env.store).await;
    let events_before = env.audit_events().await;
    let security_before = env.security_events().await;

    // Back up.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("backup");
    let d = dir.to_str().unwrap();
    let out = roster(&[
        "backup",
        "--nats-url",
        &env.server.url(),
        "--out",
        d,
        "--json",
    ]);
    let summary = json(&out);
    let progress = text(&out.stderr);
    assert!(progress.contains("roster_users: 2 records"), "{progress}");
    assert!(progress.contains("ROSTER_AUDIT:"), "{progress}");
    assert_eq!(summary["buckets"]["roster_users"], 2);
    assert_eq!(summary["buckets"]["roster_machines"], 1);
    assert_eq!(summary["audit_events"], events_before.len());
    assert_eq!(summary["security_events"], security_before.len());
    // Private: the directory 0700, every file 0600; no secret in any of them.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let written = files(&dir);
    assert!(written.len() >= 10, "{written:?}");
    for (path, body) in &written {
        assert_eq!(mode(path), 0o600, "{}", path.display());
        for secret in [&p.pending, &p.site_key, &p.credential] {
            assert!(
                !body.contains(&secret[4..]),
                "a secret in {}",
                path.display()
            );
        }
    }
    // A second backup into the same directory is refused.
    let again = roster(&["backup", "--nats-url", &env.server.url(), "--out", d]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("not empty"),
        "{}",
        text(&again.stderr)
    );

    // Wipe: a fresh nats-server with an empty store. Restore.
    let fresh = NatsServer::start(Default::default()).await.unwrap();
    let url = fresh.url();
    let restored = json(&roster(&[
        "restore",
        "--nats-url",
        &url,
        "--from",
        d,
        "--json",
    ]));
    assert_eq!(restored["buckets"]["roster_users"], 2);
    assert_eq!(restored["audit_events"], events_before.len());
    assert_eq!(restored["events_already_there"], 0);

    // The same records, the same events with the same ids in the same order.
    let (store, audit) = Box::pin(state_of(&fresh)).await;
    assert_eq!(records(&store).await, before);
    assert_eq!(audit_events(&audit).await, events_before);
    assert_eq!(audit.security().read_all().await.unwrap(), security_before);
    // `roster check`: clean, over everything.
    let report = Box::pin(roster::check::check(&store, &audit))
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.users, report.invites, report.machines), (2, 3, 1));
    let check = roster(&["check", "--nats-url", &url]);
    assert!(check.status.success(), "{}", text(&check.stdout));

    Box::pin(users_still_sign(&env, &fresh, &p)).await;

    // Into a roster that holds data: refused, nothing changed; --force adds no event twice.
    let held = records(&store).await;
    let refused = roster(&["restore", "--nats-url", &url, "--from", d]);
    assert_eq!(refused.status.code(), Some(1));
    let why = text(&refused.stderr);
    assert!(
        why.contains("not empty") && why.contains("--force"),
        "{why}"
    );
    assert_eq!(records(&store).await, held);
    let n_events = audit_events(&audit).await.len();
    let forced = json(&roster(&[
        "restore",
        "--nats-url",
        &url,
        "--from",
        d,
        "--force",
        "--json",
    ]));
    assert_eq!(forced["audit_events"], 0);
    assert_eq!(
        forced["events_already_there"],
        events_before.len() + security_before.len()
    );
    assert_eq!(audit_events(&audit).await.len(), n_events);
}

/// A worker on the restored store: the owner and alice still sign with their keys, and
/// bob's pending invite still works.
async fn users_still_sign(env: &TestEnv, fresh: &NatsServer, p: &Populated) {
    let settings = Settings::for_server(fresh, &WorkerArgs::default()).unwrap();
    let app = Box::pin(App::build(&settings, "test-worker"))
        .await
        .unwrap();
    let conn = async_nats::connect(fresh.url()).await.unwrap();
    let again_as = |c: &RosterClient| {
        let k = c.keys();
        RosterClient::new(
            conn.clone(),
            "roster",
            KeyPairs::from_secrets(&k.sign_seed(), &k.kex_secret()),
        )
    };
    let owner = again_as(&env.owner);
    let users = owner.user_list(&UserListRequest::default()).await.unwrap();
    assert_eq!(users.users.len(), 2);
    let invite = owner
        .invite_create(&handle("dave"), Role::Member, None)
        .await;
    assert!(invite.is_ok(), "{invite:?}");
    // alice is a member: refused as the identity she is, not as a stranger.
    let refused = again_as(&p.alice)
        .user_get(&handle("root"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(roster::wire::ErrorCode::Forbidden));
    let bob = RosterClient::new(conn.clone(), "roster", KeyPairs::generate());
    bob.register(&p.pending).await.unwrap();
    Box::pin(app.run_until(async {})).await.unwrap();
}

async fn audit_events(audit: &roster::audit::Auditor) -> Vec<roster::audit::AuditEvent> {
    audit.read_all().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_backup_is_refused_before_anything_is_written() {
    let env = TestEnv::start().await;
    env.user("alice", Role::Member).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("backup");
    let d = dir.to_str().unwrap();
    json(&roster(&[
        "backup",
        "--nats-url",
        &env.server.url(),
        "--out",
        d,
        "--json",
    ]));

    // A user record that is not one: alice's status is no status.
    let users = dir.join("kv/users.jsonl");
    let body = std::fs::read_to_string(&users).unwrap();
    let mut lines: Vec<String> = body.lines().map(str::to_owned).collect();
    let at = lines.iter().position(|l| l.contains("\"member\"")).unwrap();
    lines[at] = lines[at].replace("\"active\"", "\"emperor\"");
    std::fs::write(&users, lines.join("\n")).unwrap();
    let fresh = NatsServer::start(Default::default()).await.unwrap();
    let out = roster(&["restore", "--nats-url", &fresh.url(), "--from", d]);
    assert_eq!(out.status.code(), Some(1));
    let why = text(&out.stderr);
    assert!(why.contains(&format!("kv/users.jsonl:{}", at + 1)), "{why}");
    // Nothing made: not a bucket, not a stream.
    let js = async_nats::jetstream::new(async_nats::connect(fresh.url()).await.unwrap());
    let mut names = js.stream_names();
    use futures::StreamExt as _;
    assert!(names.next().await.is_none(), "a stream was created");

    // Another prefix's backup, and a directory that is none.
    let out = roster(&[
        "restore",
        "--nats-url",
        &fresh.url(),
        "--from",
        d,
        "--prefix",
        "acme",
    ]);
    assert!(
        text(&out.stderr).contains("--prefix roster"),
        "{}",
        text(&out.stderr)
    );
    let out = roster(&[
        "restore",
        "--nats-url",
        &fresh.url(),
        "--from",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(
        text(&out.stderr).contains("no manifest.json"),
        "{}",
        text(&out.stderr)
    );
}
