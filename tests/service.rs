//! The worker as a NATS micro service, the operator commands, and graceful shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use common::{handle, TestEnv};
use roster::domain::Role;
use roster::handlers::Endpoint;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_answers_srv_discovery_with_every_endpoint() {
    let env = TestEnv::start().await;
    let nats = env.nats();
    let ping = nats
        .request("$SRV.PING.roster", Bytes::new())
        .await
        .unwrap();
    let ping: serde_json::Value = serde_json::from_slice(&ping.payload).unwrap();
    assert_eq!(ping["name"], "roster");

    let info = nats
        .request("$SRV.INFO.roster", Bytes::new())
        .await
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.payload).unwrap();
    let subjects: Vec<&str> = info["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    for ep in Endpoint::all() {
        assert!(
            subjects.contains(&ep.subject("roster").as_str()),
            "{}",
            ep.subject("roster")
        );
    }
    assert!(info["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["queue_group"] == "roster"));

    // A refusal carries the micro headers and is counted in the endpoint's stats.
    let reply = env
        .client()
        .call_raw(Endpoint::Admin(roster::wire::Command::UserList), b"{}")
        .await
        .unwrap();
    let h = reply.headers.clone().unwrap();
    assert_eq!(h.get("Nats-Service-Error-Code").unwrap().as_str(), "401");
    assert_eq!(
        reply.error_code().as_deref(),
        Some("unauthorized"),
        "the refusal has a JSON body too"
    );
    let stats = nats
        .request("$SRV.STATS.roster", Bytes::new())
        .await
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&stats.payload).unwrap();
    let user_list = stats["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "admin-user-list")
        .unwrap();
    assert!(user_list["num_requests"].as_u64().unwrap() >= 1);
    assert_eq!(user_list["data"]["errors"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_refuses_once_an_owner_exists() {
    let env = TestEnv::start().await;
    let res = roster::bootstrap::bootstrap(
        &env.store,
        &env.audit,
        &handle("again"),
        Duration::from_secs(60),
    )
    .await;
    assert!(matches!(res, Err(roster::bootstrap::BootstrapError::OwnerExists(o)) if o == "root"));

    // The CLI says so: a refusal (exit 3), as the JSON envelope.
    let out = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args([
            "bootstrap",
            "--nats-url",
            &env.server.url(),
            "--handle",
            "again",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "owner_exists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_requests_in_flight() {
    let mut env = TestEnv::start().await;
    let owner = env.owner.clone();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let o = owner.clone();
        tasks.push(tokio::spawn(async move {
            o.invite_create(&handle(&format!("inflight{i}")), Role::Member, None)
                .await
        }));
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let worker = env.workers.pop().unwrap();
    worker.shutdown().await.unwrap();
    // Every request either got its success, or found no worker and was never taken.
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(roster::client::ClientError::Nats(_)) => {}
            Err(e) => panic!("a request in flight failed with {e}"),
        }
    }
    let stored = env.store.invites.keys().await.unwrap().len() - 1; // minus the bootstrap invite
    assert_eq!(
        stored, ok,
        "every acknowledged invite is stored, and only those"
    );
}

#[test]
fn the_cli_runs_a_dev_bus_where_an_owner_and_a_member_join() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_roster");
    let log_path = dir.path().join("dev.log");
    let mut dev = Command::new(bin)
        .args(["dev", "--port", "0", "--json"])
        // Everything a worker can log, async-nats's protocol traces included: still no
        // secret may appear (checked at the end).
        .env("ROSTER_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(dev.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = ready["nats_url"].as_str().unwrap().to_owned();
    let invite = ready["owner_invite"].as_str().unwrap().to_owned();
    let data_dir = ready["data_dir"].as_str().unwrap().to_owned();
    let client_logs = std::cell::RefCell::new(String::new());
    let run_with = |id: &str, args: &[&str], envs: &[(&str, &str)]| {
        let out = Command::new(bin)
            .args(args)
            .env("ROSTER_NATS_URL", &url)
            .env("ROSTER_IDENTITY", dir.path().join(id))
            .env("ROSTER_LOG", "trace")
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        client_logs.borrow_mut().push_str(&err);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            err,
        )
    };
    let run = |id: &str, args: &[&str]| run_with(id, args, &[]);

    let (code, _, _) = run("owner.json", &["keygen"]);
    assert_eq!(code, Some(0));
    let meta = std::fs::metadata(dir.path().join("owner.json")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    // Secrets stay off the command line: the invite from a file.
    let invite_file = dir.path().join("owner.invite");
    std::fs::write(&invite_file, format!("{invite}\n")).unwrap();
    let (code, out, err) = run(
        "owner.json",
        &[
            "register",
            "--invite-file",
            invite_file.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{out} {err}");
    let reg: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(reg["role"], "owner");

    let (code, out, _) = run(
        "owner.json",
        &[
            "invite", "create", "--handle", "alice", "--role", "member", "--json",
        ],
    );
    assert_eq!(code, Some(0));
    let inv: serde_json::Value = serde_json::from_str(&out).unwrap();
    run("alice.json", &["keygen"]);
    // … or from the environment.
    let (code, out, _) = run_with(
        "alice.json",
        &["register"],
        &[("ROSTER_INVITE", inv["token"].as_str().unwrap())],
    );
    assert_eq!(code, Some(0));
    assert!(out.contains("registered as 'alice'"), "{out}");

    let (code, out, _) = run("owner.json", &["user", "list"]);
    assert_eq!(code, Some(0));
    assert!(
        out.starts_with("HANDLE") && out.contains("alice") && out.contains("owner"),
        "{out}"
    );
    // On the dev bus (callout on) a member cannot even publish admin commands: the
    // server refuses the publish and the CLI says so, as a refusal.
    let (code, _, err) = run("alice.json", &["user", "list"]);
    assert_eq!(code, Some(3));
    assert!(
        err.to_lowercase().contains("permissions violation"),
        "{err}"
    );
    let (code, out, _) = run(
        "owner.json",
        &["audit", "query", "--action", "user.registered", "--json"],
    );
    assert_eq!(code, Some(0));
    let events: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(events["events"].as_array().unwrap().len(), 2);

    // An operator creates a site; an agent enrolls with its key and keeps a credential.
    let (code, out, _) = run("owner.json", &["site", "create", "acme-phx", "--json"]);
    assert_eq!(code, Some(0));
    let site: serde_json::Value = serde_json::from_str(&out).unwrap();
    let cek = site["enrollment_key"].as_str().unwrap().to_owned();
    let key_file = dir.path().join("site.key");
    std::fs::write(&key_file, &cek).unwrap();
    let (code, out, err) = run(
        "agent.json",
        &[
            "enroll",
            "--site",
            "ACME-PHX",
            "--key-file",
            key_file.to_str().unwrap(),
            "--uid",
            "host-1",
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{out} {err}");
    let enrolled: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(enrolled["state"], "active");
    let cred_file = enrolled["credential_file"].as_str().unwrap();
    let meta = std::fs::metadata(cred_file).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    let cred: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cred_file).unwrap()).unwrap();
    let cak = cred["credential"].as_str().unwrap().to_owned();
    assert!(
        cak.starts_with("cak_") && !out.contains(&cak),
        "the credential is only in the file"
    );
    let (code, out, _) = run("owner.json", &["machine", "list"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("host-1") && out.contains("active"), "{out}");

    // No secret in any log, at trace level, on either side.
    let dev_log = std::fs::read_to_string(&log_path).unwrap();
    let client_logs = client_logs.borrow();
    assert!(
        dev_log.contains("TRACE") || dev_log.contains("DEBUG") || dev_log.len() > 1000,
        "the worker logged at trace level"
    );
    for (what, secret) in [
        ("owner invite", invite.as_str()),
        ("member invite", inv["token"].as_str().unwrap()),
        ("enrollment key", cek.as_str()),
        ("machine credential", cak.as_str()),
    ] {
        // The part after the prefix: a secret is never printed in any form.
        let body = &secret[4..];
        assert!(!dev_log.contains(body), "{what} in the worker's trace log");
        assert!(
            !client_logs.contains(body),
            "{what} in a client's trace log"
        );
    }

    // SIGTERM stops the worker and the server and removes the temporary store.
    Command::new("kill")
        .args(["-TERM", &dev.id().to_string()])
        .status()
        .unwrap();
    let status = dev.wait().unwrap();
    assert!(status.success());
    assert!(
        !std::path::Path::new(&data_dir).exists(),
        "temporary data dir removed"
    );
    assert!(
        std::net::TcpStream::connect(url.trim_start_matches("nats://")).is_err(),
        "nats-server stopped"
    );
}

#[test]
fn every_shipped_server_config_is_valid() {
    let setup = roster::natsd::CalloutSetup::generate().unwrap();
    let issuer = nkeys::KeyPair::from_seed(&setup.issuer_seed)
        .unwrap()
        .public_key();
    let xkey = nkeys::XKey::from_seed(&setup.xkey_seed)
        .unwrap()
        .public_key();
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("nats-config");
    let mut checked = 0;
    for file in [
        "open.conf",
        "dev.conf",
        "single.conf",
        "cluster/c1.conf",
        "cluster/c2.conf",
        "cluster/c3.conf",
    ] {
        let out = Command::new(roster::natsd::server_binary())
            .arg("-c")
            .arg(root.join(file))
            .arg("-t")
            .env("ROSTER_NATS_PORT", "4222")
            .env("ROSTER_WS_PORT", "4280")
            .env("ROSTER_STORE_DIR", dir.path())
            .env("ROSTER_SYNC_INTERVAL", "always")
            .env("ROSTER_MAX_FILE_STORE", "4GB")
            .env("ROSTER_ISSUER_PUB", &issuer)
            .env("ROSTER_XKEY_PUB", &xkey)
            .env("ROSTER_WORKER_PASSWORD", "w")
            .env("ROSTER_SYS_PASSWORD", "s")
            .envs((1..=3).flat_map(|i| {
                [
                    (format!("ROSTER_C{i}_PORT"), format!("{}", 14230 + i)),
                    (format!("ROSTER_C{i}_ROUTE_PORT"), format!("{}", 14240 + i)),
                    (
                        format!("ROSTER_C{i}_ROUTE"),
                        format!("nats-route://127.0.0.1:{}", 14240 + i),
                    ),
                ]
            }))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_server_is_gone_still_stops_within_its_grace_period() {
    let mut server = roster::natsd::NatsServer::start(Default::default())
        .await
        .unwrap();
    let opts = roster::harness::WorkerOptions {
        args: vec!["--shutdown-grace-secs".into(), "2".into()],
        ..Default::default()
    };
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_roster"));
    let nats = roster::config::NatsArgs::for_url(&server.url());
    let up = roster::harness::WorkerProcess::start(bin, &nats, opts).await;
    let mut worker = up.expect("the worker did not start");
    // NATS goes away; then the worker is told to stop. Its drain cannot complete.
    server.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.terminate();
    let t = std::time::Instant::now();
    // Still running after 20 s, it is killed when dropped.
    let status = worker.wait_exit(Duration::from_secs(20)).await;
    let status = status.expect("the worker hung after SIGTERM without NATS");
    assert!(status.success(), "{status:?}");
    println!("stopped {:?} after SIGTERM", t.elapsed());
}

#[test]
fn roster_bench_runs_the_bench_binary_with_its_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["bench", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        help.contains("Usage: roster-bench") && help.contains("--registrations"),
        "{help}"
    );
    // The bench's own argument checks apply.
    let out = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["bench", "--in-flight", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
