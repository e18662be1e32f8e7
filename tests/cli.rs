//! The command line as a user meets it: help on every flag, argument and subcommand,
//! documented exit codes, and the JSON envelope for every error under `--json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::CommandFactory as _;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_roster");

/// `roster dev` in a process group of its own (as a terminal runs it), with its ready line.
struct Dev {
    child: Child,
    ready: serde_json::Value,
    dir: tempfile::TempDir,
}

impl Dev {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["dev", "--port", "0", "--json"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("dev.log")).unwrap());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let ready = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        Self { child, ready, dir }
    }

    fn url(&self) -> String {
        self.ready["nats_url"].as_str().unwrap().to_owned()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `roster` as the identity file `id` (in this test's directory), with `HOME`
    /// there too, so nothing outside it is touched.
    fn run(&self, id: &str, args: &[&str]) -> Run {
        self.run_with(id, args, &[])
    }

    fn run_with(&self, id: &str, args: &[&str], envs: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("ROSTER_NATS_URL", self.url())
            .env("HOME", self.dir.path())
            .env_remove("ROSTER_LOG")
            .envs(envs.iter().copied())
            .stdin(Stdio::null());
        if !id.is_empty() {
            cmd.env("ROSTER_IDENTITY", self.path(id));
        } else {
            cmd.env_remove("ROSTER_IDENTITY");
        }
        Run::of(&mut cmd)
    }

    /// Sends SIGINT to the whole process group, as Ctrl-C at a terminal does.
    fn interrupt(&self) {
        let pgid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-INT", "--", &format!("-{pgid}")])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits up to `within` for the process to exit.
    fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            if self.wait_exit(Duration::from_secs(10)).is_none() {
                let _ = self.child.kill();
            }
        }
    }
}

/// One CLI run: its exit code, output and how long it took.
struct Run {
    code: Option<i32>,
    out: String,
    err: String,
    took: Duration,
}

impl Run {
    fn of(cmd: &mut Command) -> Self {
        let t = Instant::now();
        let o = cmd.output().unwrap();
        Self {
            code: o.status.code(),
            out: String::from_utf8_lossy(&o.stdout).into_owned(),
            err: String::from_utf8_lossy(&o.stderr).into_owned(),
            took: t.elapsed(),
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.out).unwrap_or_else(|e| panic!("{e}: {self}"))
    }

    /// The JSON error envelope on stdout, with nothing on stderr.
    fn envelope(&self) -> (String, String) {
        let v = self.json();
        assert!(self.err.is_empty(), "stderr under --json: {self}");
        (
            v["error"]["code"].as_str().unwrap().to_owned(),
            v["error"]["message"].as_str().unwrap().to_owned(),
        )
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?} after {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.took, self.out, self.err
        )
    }
}

fn file_text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// Every subcommand, flag and argument, with its path (`roster user delete --yes`), that
/// has no help text.
fn missing_help(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if arg.is_hide_set() || id == "help" || id == "version" {
            continue;
        }
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        if help.trim().is_empty() {
            out.push(format!("{path} {id}"));
        }
    }
    for sub in cmd.get_subcommands() {
        let sub_path = format!("{path} {}", sub.get_name());
        if sub.get_name() != "help" && sub.get_about().is_none_or(|a| a.to_string().is_empty()) {
            out.push(format!("{sub_path} (subcommand)"));
        }
        missing_help(sub, &sub_path, out);
    }
}

#[test]
fn every_subcommand_flag_and_argument_has_help() {
    let cmd = roster::cli::Cli::command();
    let mut missing = Vec::new();
    missing_help(&cmd, "roster", &mut missing);
    assert!(
        missing.is_empty(),
        "{} without help:\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
}

#[test]
fn help_shows_defaults_role_names_and_the_exit_codes() {
    let mut cmd = roster::cli::Cli::command();
    let top = cmd.render_help().to_string();
    for line in [
        "Exit status:",
        "0  success",
        "2  usage",
        "3  refused",
        "4  `roster check` found problems",
        "{\"error\":{\"code\"",
    ] {
        assert!(top.contains(line), "{line:?} not in:\n{top}");
    }
    let mut invite = roster::cli::Cli::command();
    let invite = invite
        .find_subcommand_mut("invite")
        .unwrap()
        .find_subcommand_mut("create")
        .unwrap()
        .render_help()
        .to_string();
    assert!(invite.contains("[default: member]"), "{invite}");
    assert!(invite.contains("custom roles"), "{invite}");
    let mut site = roster::cli::Cli::command();
    let rotate = site
        .find_subcommand_mut("site")
        .unwrap()
        .find_subcommand_mut("rotate-key")
        .unwrap()
        .render_help()
        .to_string();
    assert!(rotate.contains("[default: 24h]"), "{rotate}");
    let enroll = roster::cli::Cli::command()
        .find_subcommand_mut("enroll")
        .unwrap()
        .render_long_help()
        .to_string();
    assert!(enroll.contains("agent.credential.json"), "{enroll}");
}

#[test]
fn the_cli_tells_the_truth_when_the_dev_bus_says_no() {
    let dev = Dev::start();
    let owner_invite = dev.ready["owner_invite"].as_str().unwrap().to_owned();
    assert_eq!(dev.run("owner.json", &["keygen"]).code, Some(0));
    let r = dev.run_with(
        "owner.json",
        &["register"],
        &[("ROSTER_INVITE", &owner_invite)],
    );
    assert_eq!(r.code, Some(0), "{r}");
    let mint = |handle: &str| {
        let r = dev.run(
            "owner.json",
            &["invite", "create", "--handle", handle, "--json"],
        );
        assert_eq!(r.code, Some(0), "{r}");
        r.json()["token"].as_str().unwrap().to_owned()
    };

    // An identity that is registered already is not spent on a second invite.
    let bob_invite = mint("bob");
    let r = dev.run_with(
        "owner.json",
        &["register"],
        &[("ROSTER_INVITE", &bob_invite)],
    );
    assert_eq!(r.code, Some(2), "{r}");
    assert!(r.err.contains("already registered as user 'owner'"), "{r}");
    dev.run("bob.json", &["keygen"]);
    let r = dev.run_with("bob.json", &["register"], &[("ROSTER_INVITE", &bob_invite)]);
    assert_eq!(
        r.code,
        Some(0),
        "the refused redeem left the invite usable: {r}"
    );

    // A member's admin command is refused at once, as a refusal (friction 1).
    let r = dev.run("bob.json", &["user", "list"]);
    assert_eq!(r.code, Some(3), "{r}");
    assert!(r.took < Duration::from_secs(1), "{r}");
    assert!(
        r.err
            .contains("you may not publish to roster.v1.admin.user.list")
            && r.err.contains("Permissions Violation"),
        "{r}"
    );
    assert_eq!(r.err.lines().count(), 1, "one line: {r}");
    let r = dev.run("bob.json", &["user", "list", "--json"]);
    assert_eq!(r.code, Some(3), "{r}");
    assert_eq!(r.envelope().0, "permission_violation");
    // So is a key the roster does not know (the onboarding lane).
    dev.run("stranger.json", &["keygen"]);
    let r = dev.run("stranger.json", &["invite", "list"]);
    assert_eq!(r.code, Some(3), "{r}");
    assert!(r.took < Duration::from_secs(1), "{r}");

    // Destructive commands ask, and without a terminal want --yes (friction 6).
    let r = dev.run("owner.json", &["user", "delete", "bob"]);
    assert_eq!(r.code, Some(2), "{r}");
    assert!(r.err.contains("pass --yes"), "{r}");
    let r = dev.run("owner.json", &["user", "get", "bob", "--json"]);
    assert_eq!(r.json()["status"], "active", "nothing was deleted: {r}");
    let before = file_text(&dev.path("owner.json"));
    let r = dev.run("owner.json", &["keygen", "--force"]);
    assert_eq!(r.code, Some(2), "{r}");
    assert!(r.err.contains("the key of user 'owner'"), "{r}");
    assert_eq!(
        file_text(&dev.path("owner.json")),
        before,
        "the key is kept"
    );

    // One's own revoke is a success, in one line, though the kick beats the reply
    // (friction 2).
    let r = dev.run("bob.json", &["revoke", "--user", "bob", "--yes"]);
    assert_eq!(r.code, Some(0), "{r}");
    assert_eq!(r.out.lines().count(), 1, "{r}");
    assert!(r.out.contains("revoked user 'bob'"), "{r}");
    assert!(r.err.is_empty(), "no reconnect noise: {r}");
    let r = dev.run("owner.json", &["user", "get", "bob", "--json"]);
    assert_eq!(r.json()["status"], "revoked", "{r}");

    // A revoked identity gets one line with the likely causes (friction 3).
    let r = dev.run("bob.json", &["user", "list"]);
    assert_eq!(r.code, Some(3), "{r}");
    assert_eq!(r.err.lines().count(), 1, "{r}");
    assert!(
        r.err
            .contains("refused this connection (authorization violation)")
            && r.err.contains("it is revoked"),
        "{r}"
    );
    assert_eq!(r.err.matches("authorization violation").count(), 1, "{r}");
    let r = dev.run_with("bob.json", &["user", "list", "--json"], &[]);
    assert_eq!(r.envelope().0, "auth_violation");
    // No server at all.
    let r = dev.run_with(
        "owner.json",
        &["user", "list"],
        &[("ROSTER_NATS_URL", "nats://127.0.0.1:1")],
    );
    assert_eq!(r.code, Some(1), "{r}");
    assert!(
        r.err.contains("no NATS server at nats://127.0.0.1:1"),
        "{r}"
    );
    assert_eq!(r.err.lines().count(), 1, "{r}");

    // Rotation keeps the old key a day by default; --grace 0 asks first.
    let r = dev.run("owner.json", &["site", "create", "acme-phx", "--json"]);
    assert_eq!(r.code, Some(0), "{r}");
    let r = dev.run("owner.json", &["site", "rotate-key", "acme-phx", "--json"]);
    assert_eq!(r.code, Some(0), "{r}");
    let until = r.json()["previous_valid_until"]
        .as_str()
        .unwrap()
        .to_owned();
    let until = roster::time_util::Timestamp::parse(&until).unwrap();
    let left_secs = until.unix_secs() - roster::time_util::now_ms() / 1000;
    assert!(
        (23 * 3600..=24 * 3600).contains(&left_secs),
        "{left_secs} s"
    );
    let r = dev.run(
        "owner.json",
        &["site", "rotate-key", "acme-phx", "--grace", "0"],
    );
    assert_eq!(r.code, Some(2), "{r}");
    assert!(r.err.contains("pass --yes"), "{r}");

    // `enroll` never takes a user's identity: by default it makes an agent identity of
    // its own beside the default one.
    let key_file = dev.path("site.key");
    let r = dev.run(
        "owner.json",
        &[
            "site",
            "rotate-key",
            "acme-phx",
            "--grace",
            "0",
            "--yes",
            "--json",
        ],
    );
    assert_eq!(r.code, Some(0), "{r}");
    std::fs::write(&key_file, r.json()["enrollment_key"].as_str().unwrap()).unwrap();
    let enroll = [
        "enroll",
        "--site",
        "ACME-PHX",
        "--key-file",
        key_file.to_str().unwrap(),
        "--uid",
        "host-1",
        "--json",
    ];
    let r = dev.run("owner.json", &enroll);
    assert_eq!(r.code, Some(2), "{r}");
    assert_eq!(r.envelope().0, "usage");
    let r = dev.run("", &enroll);
    assert_eq!(r.code, Some(0), "{r}");
    let agent = dev.path(".config/roster/agent.json");
    assert_eq!(Path::new(r.json()["identity"].as_str().unwrap()), agent);
    assert_eq!(
        Path::new(r.json()["credential_file"].as_str().unwrap()),
        dev.path(".config/roster/agent.credential.json")
    );
    // An agent revoking itself is a success too.
    let machine = r.json()["machine_id"].as_str().unwrap().to_owned();
    let r = dev.run(
        ".config/roster/agent.json",
        &["revoke", "--machine", &machine, "--yes"],
    );
    assert_eq!(r.code, Some(0), "{r}");
    assert!(r.out.contains(&format!("revoked machine {machine}")), "{r}");

    // `roster check` runs against `roster dev` as its banner says, and only reads
    // (friction 5).
    let password = dev.ready["worker_password_file"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = dev.run(
        "",
        &[
            "check",
            "--nats-user",
            "roster",
            "--nats-password-file",
            &password,
            "--json",
        ],
    );
    assert_eq!(r.code, Some(0), "{r}");
    assert_eq!(r.json()["problems"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(r.json()["users"], 2, "{r}");
    // Without credentials it could not run: exit 1, at once, saying why.
    let r = dev.run("", &["check"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(
        r.err.contains("roster check could not run") && r.err.contains("authorization violation"),
        "{r}"
    );
    // With an identity's key (no JetStream permissions) it says so at once.
    let keys = roster::identity::load(&dev.path("owner.json")).unwrap();
    let seed = dev.path("owner.nk");
    std::fs::write(&seed, keys.user_nkey_seed().unwrap().as_str()).unwrap();
    let r = dev.run(
        "",
        &[
            "check",
            "--nats-nkey-seed-file",
            seed.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.took < Duration::from_secs(3), "{r}");
    let (code, message) = r.envelope();
    assert_eq!(code, "check_could_not_run");
    assert!(message.contains("may not use JetStream"), "{message}");

    // Local errors and usage errors are the envelope too under --json.
    let r = dev.run("missing.json", &["user", "list", "--json"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.envelope().1.contains("missing.json"), "{r}");
    let r = dev.run("owner.json", &["user", "list", "--json", "--bogus"]);
    assert_eq!(r.code, Some(2), "{r}");
    assert_eq!(r.envelope().0, "usage");
    let r = dev.run("owner.json", &["user", "list", "--limit", "0", "--json"]);
    assert_eq!(r.code, Some(2), "{r}");
    assert!(r.envelope().1.contains("--limit"), "{r}");
    // A worker's refusal keeps its PROTOCOL code.
    let r = dev.run(
        "owner.json",
        &["invite", "create", "--handle", "owner", "--json"],
    );
    assert_eq!(r.code, Some(3), "{r}");
    assert_eq!(r.envelope().0, "handle_taken");
}

#[test]
fn ctrl_c_at_the_terminal_stops_roster_dev_within_seconds() {
    // Ctrl-C signals the terminal's whole process group. nats-server used to get it too
    // and could die while the worker drained into it, which then waited out its 30 s
    // grace for a reconnect (3 of 8 tries).
    for attempt in 0..3 {
        let mut dev = Dev::start();
        let data_dir = dev.ready["data_dir"].as_str().unwrap().to_owned();
        let t = Instant::now();
        dev.interrupt();
        let status = dev.wait_exit(Duration::from_secs(5));
        let status = status.unwrap_or_else(|| {
            panic!(
                "attempt {attempt}: still running 5 s after SIGINT:\n{}",
                file_text(&dev.path("dev.log"))
            )
        });
        assert!(status.success(), "{status:?}");
        assert!(!Path::new(&data_dir).exists(), "temporary data dir removed");
        println!("attempt {attempt}: stopped {:?} after SIGINT", t.elapsed());
    }
}

/// Runs `roster` against `url` as a fresh identity in `dir`.
fn cli_at(url: &str, dir: &Path, args: &[&str]) -> Run {
    let id = dir.join("me.json");
    if !id.exists() {
        roster::identity::create(&id, false).unwrap();
    }
    Run::of(
        Command::new(BIN)
            .args(args)
            .env("ROSTER_NATS_URL", url)
            .env("ROSTER_IDENTITY", &id)
            .env_remove("ROSTER_LOG")
            .stdin(Stdio::null()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_without_a_worker_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    // With the callout on, nobody answers it: the server refuses every client at its
    // callout deadline, and the CLI says what that most likely means.
    let mut env = common::TestEnv::with_callout().await;
    env.workers.pop().unwrap().shutdown().await.unwrap();
    let r = cli_at(&env.server.url(), dir.path(), &["user", "list"]);
    assert_eq!(r.code, Some(3), "{r}");
    assert_eq!(r.err.lines().count(), 1, "{r}");
    assert!(
        r.err
            .contains("no roster worker is answering the auth callout")
            && r.err.contains("most likely no worker answered"),
        "{r}"
    );
    // Without the callout, nobody serves the subject.
    let mut env = common::TestEnv::start().await;
    env.workers.pop().unwrap().shutdown().await.unwrap();
    let r = cli_at(&env.server.url(), dir.path(), &["user", "list", "--json"]);
    assert_eq!(r.code, Some(1), "{r}");
    let (code, message) = r.envelope();
    assert_eq!(code, "no_worker");
    assert!(
        message.contains("no roster worker is serving roster.v1.admin.user.list"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_only_reads_and_says_so_on_a_bus_without_a_roster() {
    let server = roster::natsd::NatsServer::start(Default::default())
        .await
        .unwrap();
    let r = Run::of(Command::new(BIN).args(["check", "--nats-url", &server.url()]));
    assert_eq!(r.code, Some(1), "{r}");
    assert!(
        r.err.contains("could not run") && r.err.contains("cannot open bucket roster_users"),
        "{r}"
    );
    let nats = async_nats::connect(server.url()).await.unwrap();
    let js = async_nats::jetstream::new(nats);
    let mut names = js.stream_names();
    use futures::StreamExt as _;
    assert!(names.next().await.is_none(), "check created a stream");
}

#[test]
fn a_destructive_command_asks_at_a_terminal() {
    // `script` (util-linux) gives the command a terminal and feeds it our answer.
    let dir = tempfile::tempdir().unwrap();
    let id = dir.path().join("me.json");
    roster::identity::create(&id, false).unwrap();
    let before = file_text(&id);
    let at_terminal = |answer: &str| {
        let line = format!("{BIN} keygen --force --identity {}", id.display());
        let mut child = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("`script` (util-linux) runs the command on a terminal");
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, shown) = at_terminal("n\n");
    assert_eq!(code, Some(1), "{shown}");
    assert!(
        shown.contains("Go on? [y/N]") && shown.contains("nothing was changed"),
        "{shown}"
    );
    assert_eq!(file_text(&id), before, "no means no");
    let (code, shown) = at_terminal("y\n");
    assert_eq!(code, Some(0), "{shown}");
    assert_ne!(file_text(&id), before, "yes replaced the key");
}

#[test]
fn the_vault_from_the_command_line_reads_values_from_files_and_reveals_only_when_asked() {
    let dev = Dev::start();
    let key_file = dev.ready["vault_key_file"].as_str().unwrap().to_owned();
    assert!(
        Path::new(&key_file).is_file(),
        "roster dev made its key file"
    );
    let owner_invite = dev.ready["owner_invite"].as_str().unwrap().to_owned();
    dev.run("owner.json", &["keygen"]);
    let r = dev.run_with(
        "owner.json",
        &["register"],
        &[("ROSTER_INVITE", &owner_invite)],
    );
    assert_eq!(r.code, Some(0), "{r}");
    let secret = "cli-vault-secret-5150";
    let value_file = dev.path("value.txt");
    std::fs::write(&value_file, format!("{secret}\n")).unwrap();
    let r = dev.run(
        "owner.json",
        &[
            "credential",
            "create",
            "--provider",
            "github",
            "--name",
            "deploy",
            "--type",
            "api_key",
            "--value-file",
            value_file.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(r.code, Some(0), "{r}");
    let made = r.json();
    assert_eq!(made["masked_value"], "••••5150");
    let id = made["credential_id"].as_str().unwrap().to_owned();
    let r = dev.run("owner.json", &["credential", "list"]);
    assert!(r.out.contains(&id) && !r.out.contains(secret), "{r}");
    // Without --show or --out: a usage error, nothing printed.
    let r = dev.run("owner.json", &["credential", "reveal", &id]);
    assert_eq!(r.code, Some(2), "{r}");
    assert!(!r.out.contains(secret));
    let r = dev.run("owner.json", &["credential", "reveal", &id, "--show"]);
    assert_eq!(r.out.trim(), secret, "{r}");
    let out = dev.path("revealed.txt");
    let r = dev.run(
        "owner.json",
        &["credential", "reveal", &id, "--out", out.to_str().unwrap()],
    );
    assert_eq!(r.code, Some(0), "{r}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), secret);
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Destructive: asks (no terminal here, so --yes is required).
    let r = dev.run("owner.json", &["credential", "delete", &id]);
    assert_eq!(r.code, Some(2), "{r}");
    let r = dev.run("owner.json", &["credential", "delete", &id, "--yes"]);
    assert_eq!(r.code, Some(0), "{r}");
    // KEK rotation on the worker's host, then the rewrap over the bus.
    let r = dev.run(
        "",
        &["vault", "rotate-kek", "--key-file", &key_file, "--json"],
    );
    assert_eq!(r.json()["kek_version"], 2, "{r}");
    let r = dev.run("owner.json", &["credential", "rewrap", "--json"]);
    assert_eq!(r.json()["kek_version"], 2, "{r}");
}
