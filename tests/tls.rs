//! TLS between roster and nats-server: the shipped `nats-config/tls.conf` with a private
//! CA made here (openssl), the `--tls-ca`/`--tls-cert`/`--tls-key`/`--tls-first` flags of
//! the `roster` binary, and the loopback default of every shipped config.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::TestEnv;
use roster::domain::Role;
use roster::natsd::ServerTls;

/// A private CA, a server certificate for 127.0.0.1 and a client certificate, made with
/// openssl in `dir`.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn make(dir: &Path) -> Self {
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl is installed (Debian package openssl)");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        run(&[
            &["req", "-x509", "-nodes", "-days", "2"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=roster test CA",
            ],
        ]
        .concat());
        for (name, usage) in [("server", "serverAuth"), ("client", "clientAuth")] {
            let ext = format!("{name}.ext");
            std::fs::write(
                dir.join(&ext),
                format!("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage={usage}\n"),
            )
            .unwrap();
            let (key, csr, pem) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("{name}.pem"),
            );
            run(&[
                &["req", "-nodes"][..],
                &ec,
                &[
                    "-keyout",
                    &key,
                    "-out",
                    &csr,
                    "-subj",
                    &format!("/CN={name}"),
                ],
            ]
            .concat());
            run(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &pem,
                "-extfile",
                &ext,
            ]);
        }
        Self {
            dir: dir.to_owned(),
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn server(&self, verify_clients: bool) -> ServerTls {
        ServerTls {
            cert: self.file("server.pem"),
            key: self.file("server.key"),
            ca: self.file("ca.pem"),
            client: verify_clients.then(|| (self.file("client.pem"), self.file("client.key"))),
        }
    }
}

/// Runs the `roster` binary with `args` and nothing from this process's `ROSTER_*`.
fn roster(env: &[(&str, &Path)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ROSTER_")) {
        cmd.env_remove(k);
    }
    cmd.args(args).envs(env.iter().map(|(k, v)| (*k, *v)));
    cmd.output().unwrap()
}

/// What the command said about a failure: with `--json` the error envelope is on stdout
/// (see the exit-code table in README), otherwise one line on stderr.
fn stderr(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A new member's identity file and its invite, for `roster register` over TLS.
async fn newcomer(env: &TestEnv, dir: &Path, h: &str) -> (PathBuf, PathBuf) {
    let identity = dir.join(format!("{h}.json"));
    roster::identity::create(&identity, false).unwrap();
    let invite = dir.join(format!("{h}.invite"));
    std::fs::write(&invite, env.invite(h, Role::Member).await).unwrap();
    (identity, invite)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roster_connects_with_its_private_ca_and_says_why_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::make(dir.path());
    let env = TestEnv::with_tls(pki.server(false)).await;
    let url = env.server.url();
    let (identity, invite) = newcomer(&env, dir.path(), "alice").await;
    let ca = pki.file("ca.pem");
    let register = |extra: &[&str]| {
        let mut args = vec!["register", "--json", "--nats-url", url.as_str()];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--invite-file", invite.to_str().unwrap()]);
        roster(&[("ROSTER_IDENTITY", identity.as_path())], &args)
    };

    // Without the CA: the system's roots do not know it; one clear error, no request.
    let out = register(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("certificate"), "{err}");
    assert!(err.contains("--tls-ca"), "the hint names the flag: {err}");
    assert!(env
        .store
        .user(&common::handle("alice"))
        .await
        .unwrap()
        .is_none());

    // With it: registered, through the callout, over TLS.
    let out = register(&["--tls-ca", ca.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["handle"], "alice");

    // TLS first (the config's `handshake_first: auto` serves both), from the environment.
    let out = roster(
        &[
            ("ROSTER_IDENTITY", identity.as_path()),
            ("ROSTER_NATS_TLS_CA", ca.as_path()),
            ("ROSTER_NATS_TLS_FIRST", Path::new("true")),
        ],
        &[
            "register",
            "--json",
            // The same identity again (register is idempotent): past the local guard.
            "--force",
            "--nats-url",
            &url,
            "--invite-file",
            invite.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // A CA file that is not there is a local error naming it, before any connection.
    let out = register(&["--force", "--tls-ca", "/nonexistent/ca.pem"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/nonexistent/ca.pem"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_verifies_clients_admits_roster_with_its_certificate_only() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::make(dir.path());
    // The worker and the owner connect with the client certificate (the harness).
    let env = TestEnv::with_tls(pki.server(true)).await;
    let url = env.server.url();
    let (identity, invite) = newcomer(&env, dir.path(), "bob").await;
    let path = |n: &str| pki.file(n).display().to_string();
    let (ca, cert, key) = (path("ca.pem"), path("client.pem"), path("client.key"));
    let mut args = vec!["register", "--json", "--nats-url", &url, "--tls-ca", &ca];
    args.extend_from_slice(&["--invite-file", invite.to_str().unwrap()]);
    let id = [("ROSTER_IDENTITY", identity.as_path())];

    let out = roster(&id, &args);
    assert_eq!(out.status.code(), Some(1), "no certificate, no connection");
    assert!(
        stderr(&out).contains("CertificateRequired"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--tls-cert"), "{}", stderr(&out));
    assert!(env
        .store
        .user(&common::handle("bob"))
        .await
        .unwrap()
        .is_none());

    // A key without its certificate is a usage error (clap), before anything runs.
    let mut half = args.clone();
    half.extend_from_slice(&["--tls-key", &key]);
    let out = roster(&id, &half);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--tls-cert"), "{}", stderr(&out));

    args.extend_from_slice(&["--tls-cert", &cert, "--tls-key", &key]);
    let out = roster(&id, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(env
        .store
        .user(&common::handle("bob"))
        .await
        .unwrap()
        .is_some());
}

#[test]
fn every_shipped_config_listens_on_loopback() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("nats-config");
    let mut files = vec![];
    for entry in walk(&root) {
        let text = std::fs::read_to_string(&entry).unwrap();
        let lines: Vec<&str> = text
            .lines()
            .map(|l| l.split('#').next().unwrap().trim())
            .filter(|l| !l.is_empty())
            .collect();
        // Every `host`, `listen` and `http` setting names loopback; a client port needs a
        // `host` (nats-server's default is every interface).
        for l in &lines {
            for key in ["host:", "listen:", "http:"] {
                if let Some(v) = l.strip_prefix(key) {
                    assert!(
                        v.trim().starts_with("127.0.0.1"),
                        "{}: {l}",
                        entry.display()
                    );
                }
            }
        }
        assert!(
            lines.iter().any(|l| l.starts_with("host: 127.0.0.1")),
            "{} sets no loopback host",
            entry.display()
        );
        files.push(entry);
    }
    assert!(files.len() >= 7, "{files:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "conf") {
            out.push(p);
        }
    }
    out
}
