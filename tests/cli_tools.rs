//! The operator's command line, run as the real binary with a temporary HOME and
//! XDG_CONFIG_HOME: contexts and their precedence, whoami and ping, audit queries and
//! lists as a terminal shows them, completions and the man page.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{handle, TestEnv};
use roster::client::EnrollArgs;
use roster::domain::{Policy, Role};
use roster::wire::ErrorCode;

/// What one run of `roster` came to.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    out: String,
    err: String,
}

impl Run {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.out).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// A person's shell: a home of its own, nothing from the test's environment but PATH.
struct Shell {
    home: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Shell {
    fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            vars: Vec::new(),
        }
    }

    /// A shell on `env`'s bus whose identity is the owner's.
    fn owner_of(env: &TestEnv) -> Self {
        let mut sh = Self::new();
        sh.export("ROSTER_NATS_URL", &env.server.url());
        sh.export("ROSTER_IDENTITY", sh.path("owner.json").to_str().unwrap());
        roster::identity::save(&sh.path("owner.json"), env.owner.keys()).unwrap();
        sh
    }

    fn xdg(&self) -> PathBuf {
        self.home.path().join("xdg")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    /// Sets a variable for every later run.
    fn export(&mut self, k: &str, v: &str) {
        self.vars.push((k.to_owned(), v.to_owned()));
    }

    fn run_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.xdg())
            .current_dir(self.home.path())
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        Run {
            code: out.status.code(),
            out: String::from_utf8_lossy(&out.stdout).into_owned(),
            err: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// `run` from an async test, off the runtime's threads (the worker runs on them).
    async fn run_async(&self, args: &[&str]) -> Run {
        tokio::task::block_in_place(|| self.run(args))
    }
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn contexts_fill_in_what_flags_and_the_environment_leave_unset() {
    let sh = Shell::new();
    let add = sh.run(&[
        "context",
        "add",
        "prod",
        "--url",
        "nats://127.0.0.1:1",
        "--identity",
        "prod.json",
        "--description",
        "the real one",
    ]);
    assert_eq!(add.code, Some(0), "{add:?}");
    assert!(
        add.out.contains("selected \"prod\""),
        "the first is selected"
    );
    let file = sh.xdg().join("roster/context/prod.json");
    assert_eq!(mode(&file), 0o600);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["url"], "nats://127.0.0.1:1");
    assert_eq!(
        saved["identity"].as_str().unwrap(),
        sh.path("prod.json").to_str().unwrap(),
        "a relative path is kept absolute, so the context works from anywhere"
    );
    assert_eq!(
        std::fs::read_to_string(sh.xdg().join("roster/context.txt")).unwrap(),
        "prod\n"
    );
    sh.run(&["context", "add", "lab", "--url", "nats://127.0.0.1:2"]);

    // keygen writes the context's identity; whoami reports which URL it would use.
    assert_eq!(sh.run(&["keygen"]).code, Some(0));
    assert!(sh.path("prod.json").exists());
    let url = |r: Run| {
        assert_eq!(r.code, Some(1), "no bus at that URL: {r:?}");
        r.json()["nats_url"].as_str().unwrap().to_owned()
    };
    let id = sh.path("prod.json");
    let id = id.to_str().unwrap();
    assert_eq!(url(sh.run(&["whoami", "--json"])), "nats://127.0.0.1:1");
    // The environment wins over the context, and a flag over both.
    let env_url = [("ROSTER_NATS_URL", "nats://127.0.0.1:3")];
    assert_eq!(
        url(sh.run_with(&["whoami", "--json"], &env_url)),
        "nats://127.0.0.1:3"
    );
    assert_eq!(
        url(sh.run_with(
            &["whoami", "--json", "--nats-url", "nats://127.0.0.1:4"],
            &env_url
        )),
        "nats://127.0.0.1:4"
    );
    // Another context for one command, by flag or by ROSTER_CONTEXT.
    let lab = sh.run(&["--context", "lab", "whoami", "--json", "--identity", id]);
    assert_eq!(url(lab), "nats://127.0.0.1:2");
    let lab = sh.run_with(
        &["whoami", "--json", "--identity", id],
        &[("ROSTER_CONTEXT", "lab")],
    );
    assert_eq!(url(lab), "nats://127.0.0.1:2");
    let missing = sh.run(&["--context", "nope", "whoami"]);
    assert_ne!(missing.code, Some(0));
    assert!(missing.err.contains("no context \"nope\""), "{missing:?}");

    let list = sh.run(&["context", "list"]);
    assert!(
        list.out.contains("prod*") && list.out.contains("lab"),
        "{list:?}"
    );
    let show = sh.run(&["context", "show", "--json"]).json();
    assert_eq!(show["name"], "prod");
    assert_eq!(show["context"]["description"], "the real one");
    sh.run(&["context", "use", "lab"]);
    assert_eq!(sh.run(&["context", "show", "--json"]).json()["name"], "lab");
    assert_ne!(sh.run(&["context", "use", "nope"]).code, Some(0));
}

#[test]
fn a_context_never_holds_a_secret_and_is_removed_only_when_asked() {
    let sh = Shell::new();
    for (name, url) in [
        ("leaky", "nats://ops:hunter2@127.0.0.1:4222"),
        ("a/b", "nats://127.0.0.1:4222"),
        ("-x", "nats://127.0.0.1:4222"),
    ] {
        let r = sh.run(&["context", "add", name, "--url", url]);
        assert_ne!(r.code, Some(0), "{name}: {r:?}");
        assert!(!r.err.contains("hunter2"), "the refusal repeats no secret");
    }
    assert!(!sh.xdg().join("roster/context").exists(), "nothing written");
    // A user name alone is no secret.
    let ok = sh.run(&[
        "context",
        "add",
        "ops",
        "--url",
        "nats://ops@127.0.0.1:4222",
    ]);
    assert_eq!(ok.code, Some(0), "{ok:?}");
    let again = sh.run(&["context", "add", "ops", "--url", "nats://127.0.0.1:9"]);
    assert_ne!(again.code, Some(0));
    assert!(again.err.contains("--force"), "{again:?}");

    // Without a terminal, removal needs --yes.
    let rm = sh.run(&["context", "rm", "ops"]);
    assert_ne!(rm.code, Some(0));
    assert!(rm.err.contains("--yes"), "{rm:?}");
    assert!(sh.xdg().join("roster/context/ops.json").exists());
    let rm = sh.run(&["context", "rm", "ops", "--yes"]);
    assert_eq!(rm.code, Some(0), "{rm:?}");
    assert!(!sh.xdg().join("roster/context/ops.json").exists());
    assert!(
        !sh.xdg().join("roster/context.txt").exists(),
        "the selection went with it"
    );
    // With no context at all, the defaults apply (the XDG identity path).
    let w = sh.run(&["whoami"]);
    assert!(
        w.err
            .contains(&sh.xdg().join("roster/identity.json").display().to_string()),
        "{w:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_and_ping_say_who_the_key_is_and_which_workers_answer() {
    let mut env = TestEnv::with_callout().await;
    let mut sh = Shell::new();
    sh.export("ROSTER_NATS_URL", &env.server.url());
    roster::identity::save(&sh.path("owner.json"), env.owner.keys()).unwrap();
    let (alice, _) = env.join_over_callout("alice", Role::Member).await;
    roster::identity::save(&sh.path("alice.json"), &alice).unwrap();

    let owner = sh
        .run_async(&["whoami", "--identity", "owner.json", "--json"])
        .await;
    assert_eq!(owner.code, Some(0), "{owner:?}");
    let v = owner.json();
    assert_eq!(v["user"]["handle"], "root");
    assert_eq!(v["user"]["role"], "owner");
    assert!(v["worker"].as_str().unwrap().starts_with("answering"));
    // A member has no admin permission, and still learns who it is, through the callout.
    let member = sh.run_async(&["whoami", "--identity", "alice.json"]).await;
    assert_eq!(member.code, Some(0), "{member:?}");
    assert!(member.out.contains("handle    alice"), "{member:?}");
    assert!(member.out.contains("role      member"), "{member:?}");
    let ping = sh
        .run_async(&["ping", "--identity", "alice.json", "--json"])
        .await;
    assert_eq!(ping.code, Some(0), "{ping:?}");
    assert_eq!(ping.json()["answered"], 1);
    assert!(ping.json()["workers"][0]["rtt_ms"].as_f64().unwrap() > 0.0);

    // A key the bus does not know: the onboarding lane cannot ask, and it says so fast.
    sh.run_async(&["keygen", "--identity", "stranger.json"])
        .await;
    let t = std::time::Instant::now();
    let stranger = sh
        .run_async(&["whoami", "--identity", "stranger.json"])
        .await;
    assert_eq!(stranger.code, Some(1), "{stranger:?}");
    assert!(stranger.out.contains("has not registered"), "{stranger:?}");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );

    // No worker: on a callout bus nobody gets in at all: the bus refuses the connection
    // (exit 3, the refusal code of the exit-code table).
    let worker = env.workers.pop().unwrap();
    worker.shutdown().await.unwrap();
    let none = sh.run_async(&["ping", "--identity", "owner.json"]).await;
    assert_eq!(none.code, Some(3), "{none:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_on_a_bus_without_a_worker_exits_1_and_says_so() {
    let server = roster::natsd::NatsServer::start(Default::default())
        .await
        .unwrap();
    let sh = Shell::new();
    let url = server.url();
    let none =
        tokio::task::block_in_place(|| sh.run(&["ping", "--nats-url", &url, "--wait-ms", "300"]));
    assert_eq!(none.code, Some(1), "{none:?}");
    assert!(none.err.contains("no worker answered"), "{none:?}");
    assert!(none.out.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whoami_endpoint_answers_users_machines_and_refuses_strangers() {
    let env = TestEnv::start().await;
    let me = env.owner.whoami().await.unwrap();
    assert_eq!(me.user.unwrap().handle, handle("root"));
    let stranger = env.client().whoami().await.unwrap_err();
    assert_eq!(stranger.code(), Some(ErrorCode::Unauthorized));
    // An agent key is its machine, pending or active.
    let key = env.site("vault", Policy::Approval).await;
    let agent = env.client();
    let enrolled = agent
        .enroll(&EnrollArgs {
            site: "vault".into(),
            enrollment_key: key,
            machine_uid: "host-9".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let m = agent.whoami().await.unwrap().machine.unwrap();
    assert_eq!(
        (m.machine_id, m.state.as_str()),
        (enrolled.machine_id.clone(), "pending")
    );
    env.owner
        .machine_reject(&enrolled.machine_id)
        .await
        .unwrap();
    assert_eq!(
        agent.whoami().await.unwrap_err().code(),
        Some(ErrorCode::Unauthorized),
        "a rejected machine is nobody"
    );
    // A body with anything in it is bad_request, like every strict body.
    let raw = env
        .owner
        .call_raw(roster::handlers::Endpoint::Whoami, br#"{"x":1}"#)
        .await
        .unwrap();
    assert_eq!(raw.error_code().as_deref(), Some("bad_request"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_and_lists_fit_the_terminal_page_and_keep_hints_off_stdout() {
    let env = TestEnv::start().await;
    let sh = Shell::owner_of(&env);
    for i in 0..24 {
        env.invite(&format!("member{i}"), Role::Member).await;
    }
    env.user("alice", Role::Member).await;

    // A page says there is more on stderr; stdout holds only the table.
    let page = sh.run_async(&["invite", "list", "--limit", "10"]).await;
    assert_eq!(page.code, Some(0), "{page:?}");
    assert_eq!(page.out.lines().count(), 11, "a header and ten rows");
    assert!(page.out.starts_with("INVITE") && page.out.contains("CREATED"));
    assert!(!page.out.contains("more"), "{page:?}");
    assert!(page.err.contains("(more: --cursor "), "{page:?}");
    // --all follows the cursors: every invite once, in creation order.
    let all = sh
        .run_async(&["invite", "list", "--all", "--limit", "10", "--json"])
        .await
        .json();
    let created: Vec<&str> = all["invites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["created_at"].as_str().unwrap())
        .collect();
    assert_eq!(created.len(), 26, "bootstrap, 24, alice's");
    let times: Vec<_> = created
        .iter()
        .map(|t| roster::time_util::parse_rfc3339(t).unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{created:?}");
    assert!(all.get("cursor").is_none());
    for list in [["user", "list"], ["site", "list"], ["machine", "list"]] {
        let r = sh.run_async(&list).await;
        assert_eq!(r.code, Some(0), "{r:?}");
    }
    assert!(sh
        .run_async(&["user", "list"])
        .await
        .out
        .contains("CREATED"));

    // Audit: every page, relative times, outcome, the table's target form.
    let events = sh
        .run_async(&[
            "audit", "query", "--all", "--limit", "7", "--since", "1h", "--json",
        ])
        .await
        .json();
    let n = events["events"].as_array().unwrap().len();
    assert_eq!(
        n,
        env.audit_events().await.len(),
        "every event, over pages of 7"
    );
    let alice = sh
        .run_async(&["audit", "query", "--target", "user:alice", "--json"])
        .await
        .json();
    assert_eq!(alice["events"][0]["action"], "user.registered");
    let denied = sh
        .run_async(&["audit", "query", "--outcome", "denied", "--json"])
        .await
        .json();
    assert_eq!(denied["events"].as_array().unwrap().len(), 0);
    let bad = sh.run_async(&["audit", "query", "--since", "1y"]).await;
    assert_ne!(bad.code, Some(0));
    assert!(bad.err.contains("30m"), "{bad:?}");
    let cut = sh
        .run_async(&["audit", "query", "--target", "invite:4a6d726af2…"])
        .await;
    assert_ne!(cut.code, Some(0));
    assert!(cut.err.contains("cut to fit"), "{cut:?}");

    // In an 80-column terminal nothing wraps.
    let narrow = tokio::task::block_in_place(|| {
        sh.run_with(&["audit", "query", "--limit", "30"], &[("COLUMNS", "80")])
    });
    assert!(narrow.out.lines().count() > 20);
    for line in narrow.out.lines() {
        assert!(line.chars().count() <= 80, "{line}");
    }
    assert!(narrow.out.contains('…'), "long targets cut: {}", narrow.out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_machine_no_longer_shows_why_it_waited() {
    let env = TestEnv::start().await;
    let sh = Shell::owner_of(&env);
    let key = env.site("vault", Policy::Approval).await;
    let r = env
        .client()
        .enroll(&EnrollArgs {
            site: "vault".into(),
            enrollment_key: key,
            machine_uid: "host-1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let id = r.machine_id.to_string();
    let before = sh.run_async(&["machine", "get", &id]).await;
    assert!(before.out.contains("pending: site_policy"), "{before:?}");
    let approved = sh.run_async(&["machine", "approve", &id]).await;
    assert_eq!(approved.code, Some(0), "{approved:?}");
    assert!(approved.out.contains("active") && !approved.out.contains("pending"));
    let after = sh.run_async(&["machine", "get", &id]).await;
    assert!(!after.out.contains("pending"), "{after:?}");
    // In 80 columns the id people copy stays whole; lesser columns give way.
    let narrow =
        tokio::task::block_in_place(|| sh.run_with(&["machine", "list"], &[("COLUMNS", "80")]));
    assert!(narrow.out.contains(&id), "{narrow:?}");
    assert!(
        narrow.out.lines().all(|l| l.chars().count() <= 80),
        "{narrow:?}"
    );
    assert!(narrow.out.starts_with("MACHINE") && narrow.out.contains("CREATED"));
    env.check_kv_schemas().await;
}

#[test]
fn completions_and_the_man_page_come_from_the_command_tree() {
    let sh = Shell::new();
    for (shell, marker) in [
        ("bash", "_roster()"),
        ("zsh", "#compdef roster"),
        ("fish", "complete -c roster"),
    ] {
        let r = sh.run(&["completions", shell]);
        assert_eq!(r.code, Some(0), "{r:?}");
        assert!(r.out.contains(marker), "{shell}");
        for word in ["whoami", "context", "--since"] {
            assert!(r.out.contains(word), "{shell} completes {word}");
        }
    }
    assert_ne!(sh.run(&["completions", "cmd"]).code, Some(0));
    let man = sh.run(&["man"]);
    assert_eq!(man.code, Some(0));
    assert!(
        man.out.contains(".TH roster 1"),
        "{}",
        &man.out[..200.min(man.out.len())]
    );
    assert!(man.out.contains("whoami"));
    let dir = sh.path("man");
    let r = sh.run(&["man", "--out", dir.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{r:?}");
    for page in ["roster.1", "roster-context-add.1", "roster-audit-query.1"] {
        let text =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
    // `man` itself reads it.
    let page = std::fs::read_to_string(dir.join("roster-audit-query.1")).unwrap();
    assert!(page.contains("since"));
}

#[test]
fn completions_and_the_man_page_survive_a_reader_that_stops_early() {
    for args in [&["completions", "bash"][..], &["man"][..]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -0`: the reader goes away before the first byte.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_assignments_from_the_command_line() {
    let env = TestEnv::start().await;
    let sh = Shell::owner_of(&env);
    env.user("tech", Role::Member).await;
    let made = sh
        .run_async(&[
            "role",
            "create",
            "Floor Manager",
            "--permissions",
            "machine:read,machine:approve",
            "--json",
        ])
        .await;
    assert_eq!(made.code, Some(0), "{made:?}");
    assert_eq!(made.json()["name"], "Floor Manager");
    // The same name in other case: the worker's conflict, exit 3, said on stderr.
    let again = sh
        .run_async(&[
            "role",
            "create",
            "FLOOR MANAGER",
            "--permissions",
            "machine:read",
        ])
        .await;
    assert_eq!(again.code, Some(3), "{again:?}");
    assert!(again.err.contains("conflict"), "{again:?}");
    // Read pairing, named.
    let unpaired = sh
        .run_async(&[
            "role",
            "create",
            "Approver",
            "--permissions",
            "machine:approve",
        ])
        .await;
    assert_eq!(unpaired.code, Some(3), "{unpaired:?}");
    assert!(unpaired.err.contains("machine:read"), "{unpaired:?}");
    // A bad permission key never reaches the worker: a usage error.
    let typo = sh
        .run_async(&["role", "create", "Typo", "--permissions", "machine:fly"])
        .await;
    assert_eq!(typo.code, Some(2), "{typo:?}");
    // Assign it at one site, see it, take it away.
    let a = sh
        .run_async(&[
            "user",
            "assign",
            "tech",
            "floor manager",
            "--site",
            "PHX",
            "--json",
        ])
        .await;
    assert_eq!(a.code, Some(0), "{a:?}");
    let got = sh.run_async(&["user", "get", "tech"]).await;
    assert!(
        got.out.contains("Floor Manager at site default/PHX"),
        "{got:?}"
    );
    let del = sh
        .run_async(&["role", "delete", "Floor Manager", "--yes"])
        .await;
    assert_eq!(del.code, Some(3), "still assigned: {del:?}");
    let u = sh
        .run_async(&["user", "unassign", "tech", "Floor Manager", "--site", "PHX"])
        .await;
    assert_eq!(u.code, Some(0), "{u:?}");
    let del = sh
        .run_async(&["role", "delete", "Floor Manager", "--yes"])
        .await;
    assert_eq!(del.code, Some(0), "{del:?}");
    let list = sh.run_async(&["role", "list", "--json"]).await;
    assert_eq!(list.json()["roles"].as_array().unwrap().len(), 4);
    let cat = sh.run_async(&["role", "catalog"]).await;
    assert!(cat.out.contains("user:manage_owners"), "{cat:?}");
}
