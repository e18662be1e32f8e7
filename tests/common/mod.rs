//! The test harness: every test gets its own real nats-server (free port, temporary
//! store, killed on drop), one or more in-process workers, and typed helpers.
#![allow(
    dead_code,
    reason = "each test binary uses its own part of the harness"
)]

use std::path::PathBuf;
use std::time::Duration;

use roster::app::{App, Settings};
use roster::audit::Auditor;
use roster::client::RosterClient;
use roster::config::{WorkerArgs, WorkerConfig};
use roster::crypto::KeyPairs;
use roster::domain::{Handle, Role};
use roster::natsd::{NatsServer, ServerOptions};
use roster::store::Store;
use roster::worker::{self, WorkerHandle};

pub(crate) struct TestEnv {
    pub(crate) server: NatsServer,
    pub(crate) workers: Vec<WorkerHandle>,
    pub(crate) store: Store,
    pub(crate) audit: Auditor,
    pub(crate) cfg: WorkerConfig,
    /// What the workers were built from (to start more with `App::build`).
    pub(crate) settings: Settings,
    pub(crate) owner: RosterClient,
    /// Where each worker serves `/metrics` (with `--metrics-addr`).
    pub(crate) metrics_addrs: Vec<std::net::SocketAddr>,
    nats: async_nats::Client,
}

impl TestEnv {
    /// Moves the workers' clock `by` ahead (invite expiry, key grace, the request window).
    pub(crate) fn advance_clock(&self, by: Duration) {
        assert!(
            self.settings.worker.clock.advance(by),
            "an adjustable clock"
        );
    }
}

/// The folder holding PyNaCl, nats-py and nkeys: `ROSTER_TEST_PYTHONPATH` (set by
/// scripts/test), else installed now by scripts/install-python-client.
fn python_path() -> PathBuf {
    if let Some(p) = std::env::var_os("ROSTER_TEST_PYTHONPATH") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(root.join("scripts/install-python-client"))
        .output()
        .expect("scripts/install-python-client runs");
    assert!(
        out.status.success(),
        "installing the Python client's packages failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Runs the independent Python client `script` (under tests/independent/) against the
/// server at `url` with `envs`; the one JSON object it printed.
pub(crate) async fn run_python(
    script: &str,
    url: String,
    envs: Vec<(&'static str, String)>,
) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/independent")
        .join(script);
    let pythonpath = python_path();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .env("PYTHONPATH", pythonpath)
            .env("ROSTER_NATS_URL", url)
            .envs(envs)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the Python client failed:\n{stderr}");
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    println!("the independent client saw: {seen}");
    seen
}

pub(crate) fn handle(s: &str) -> Handle {
    Handle::parse(s).unwrap()
}

impl TestEnv {
    /// One server, one worker, and a registered owner `root`.
    pub(crate) async fn start() -> Self {
        Self::with_workers(1).await
    }

    pub(crate) async fn with_workers(n: usize) -> Self {
        Self::with_args(n, WorkerArgs::default()).await
    }

    pub(crate) async fn with_args(n: usize, args: WorkerArgs) -> Self {
        // Boxed: the setup future is large, and test threads have small stacks.
        Box::pin(Self::build(n, args, false, None, None)).await
    }

    /// One worker answering the callout on a server running nats-config/tls.conf with
    /// these files; everyone (worker, owner) connects with TLS.
    pub(crate) async fn with_tls(tls: roster::natsd::ServerTls) -> Self {
        Box::pin(Self::build(1, WorkerArgs::default(), true, None, Some(tls))).await
    }

    /// One worker answering the auth callout on a server running nats-config/dev.conf.
    /// The owner connects through the callout with its own nkey, like everyone else.
    pub(crate) async fn with_callout() -> Self {
        Box::pin(Self::build(1, WorkerArgs::default(), true, None, None)).await
    }

    /// [`TestEnv::with_callout`] with worker settings and JetStream's `max_file_store`.
    pub(crate) async fn with_callout_capped(args: WorkerArgs, max_file_store: &str) -> Self {
        Box::pin(Self::build(
            1,
            args,
            true,
            Some(max_file_store.to_owned()),
            None,
        ))
        .await
    }

    async fn build(
        n: usize,
        args: WorkerArgs,
        callout: bool,
        max_file_store: Option<String>,
        tls: Option<roster::natsd::ServerTls>,
    ) -> Self {
        let setup = callout.then(|| roster::natsd::CalloutSetup::generate().unwrap());
        let server = NatsServer::start(ServerOptions {
            callout: setup,
            max_file_store,
            tls,
            ..Default::default()
        })
        .await
        .expect("nats-server starts");
        // The same composition root as `roster serve` and `roster dev`.
        let mut settings = Settings::for_server(&server, &args).unwrap();
        if args.security_window_secs == WorkerArgs::default().security_window_secs {
            // Tests read strangers' denials within seconds, not after a minute.
            settings.worker.security.window = Duration::from_secs(1);
        }
        // Time-dependent tests move the workers' clock instead of sleeping.
        settings.worker.clock = roster::time_util::Clock::adjustable();
        let cfg = settings.worker.clone();
        let nats = settings.nats.connect("test-admin").await.unwrap();
        let (store, audit) = worker::open_state(&nats, &cfg).await.unwrap();
        let mut workers = Vec::new();
        let mut metrics_addrs = Vec::new();
        for _ in 0..n {
            let app = App::build(&settings, "test-worker").await.unwrap();
            metrics_addrs.extend(app.metrics_addr());
            workers.push(app.into_worker());
        }
        let invite = roster::bootstrap::bootstrap(
            &store,
            &audit,
            &handle("root"),
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
        let keys = KeyPairs::generate();
        let owner_conn = if callout {
            server
                .client_args()
                .connect_as("test-owner", &keys)
                .await
                .unwrap()
        } else {
            nats.clone()
        };
        let seeds = (keys.sign_seed(), keys.kex_secret());
        let owner = RosterClient::new(owner_conn, "roster", keys);
        owner
            .register(&invite.token)
            .await
            .expect("owner registers");
        // Through the callout a connection keeps the permissions it was admitted with:
        // reconnect to get the owner's.
        let owner = if callout {
            let keys = KeyPairs::from_secrets(&seeds.0, &seeds.1);
            let conn = server
                .client_args()
                .connect_as("test-owner", &keys)
                .await
                .unwrap();
            RosterClient::new(conn, "roster", keys)
        } else {
            owner
        };
        Self {
            server,
            workers,
            store,
            audit,
            cfg,
            settings,
            owner,
            metrics_addrs,
            nats,
        }
    }

    /// Connects `keys` through the auth callout (its signing key as nkey).
    pub(crate) async fn connect_as(&self, keys: &KeyPairs) -> anyhow::Result<async_nats::Client> {
        Ok(self
            .server
            .client_args()
            .connect_as("test-client", keys)
            .await?)
    }

    /// A client with fresh keys on the shared connection.
    pub(crate) fn client(&self) -> RosterClient {
        RosterClient::new(self.nats.clone(), "roster", KeyPairs::generate())
    }

    /// A client with fresh keys on its own connection.
    pub(crate) async fn client_own_connection(&self) -> RosterClient {
        let nats = async_nats::connect(self.server.url()).await.unwrap();
        RosterClient::new(nats, "roster", KeyPairs::generate())
    }

    /// An invite token minted by the owner.
    pub(crate) async fn invite(&self, h: &str, role: Role) -> String {
        self.owner
            .invite_create(&handle(h), role, None)
            .await
            .unwrap()
            .token
    }

    /// A registered user with `role`.
    pub(crate) async fn user(&self, h: &str, role: Role) -> RosterClient {
        let token = self.invite(h, role).await;
        let c = self.client();
        c.register(&token).await.unwrap();
        c
    }

    pub(crate) fn nats(&self) -> &async_nats::Client {
        &self.nats
    }

    /// Every audit event in the stream.
    pub(crate) async fn audit_events(&self) -> Vec<roster::audit::AuditEvent> {
        self.audit.read_all().await.unwrap()
    }

    /// The action of every audit event, in order.
    pub(crate) async fn audit_actions(&self) -> Vec<String> {
        self.audit_events()
            .await
            .into_iter()
            .map(|e| e.action)
            .collect()
    }

    /// A user with `role` who registered over its own callout connection (the
    /// onboarding lane); its keys, and that client.
    pub(crate) async fn join_over_callout(&self, h: &str, role: Role) -> (KeyPairs, RosterClient) {
        let token = self.invite(h, role).await;
        let keys = KeyPairs::generate();
        let conn = self.connect_as(&keys).await.unwrap();
        let c = RosterClient::new(
            conn,
            "roster",
            KeyPairs::from_secrets(&keys.sign_seed(), &keys.kex_secret()),
        );
        c.register(&token).await.unwrap();
        (keys, c)
    }

    /// Every event in the security stream (strangers' denials, aggregated).
    pub(crate) async fn security_events(&self) -> Vec<roster::audit::AuditEvent> {
        self.audit.security().read_all().await.unwrap()
    }

    /// Waits (up to 10 s) until the security stream holds an event `pred` accepts: the
    /// workers publish a window's tallies once it has ended.
    pub(crate) async fn wait_security(
        &self,
        pred: impl Fn(&roster::audit::AuditEvent) -> bool,
    ) -> roster::audit::AuditEvent {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(e) = self.security_events().await.into_iter().find(|e| pred(e)) {
                return e;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no such security event in {:?}",
                self.security_events().await
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Every KV value, as (bucket, key, JSON).
    pub(crate) async fn kv_dump(&self) -> Vec<(String, String, serde_json::Value)> {
        let dump = self.store.dump_raw().await.unwrap();
        dump.into_iter()
            .map(|(bucket, k, v)| (bucket.to_string(), k, v))
            .collect()
    }

    /// `roster check` over the whole state.
    pub(crate) async fn check(&self) -> roster::check::Report {
        Box::pin(roster::check::check(&self.store, &self.audit))
            .await
            .unwrap()
    }

    /// Validates every KV value against its schema in kv-schema/.
    pub(crate) async fn check_kv_schemas(&self) -> usize {
        let dump = self.kv_dump().await;
        for (schema, key, value) in &dump {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join(format!("kv-schema/{schema}.schema.json"));
            let text = std::fs::read_to_string(&path).unwrap();
            let schema_json: serde_json::Value = serde_json::from_str(&text).unwrap();
            let validator = jsonschema::validator_for(&schema_json).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(value)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{schema}/{key} = {value} violates its schema: {errors:?}"
            );
        }
        dump.len()
    }

    /// A site created by the owner; returns its first enrollment key.
    pub(crate) async fn site(&self, code: &str, policy: roster::domain::Policy) -> String {
        let req = roster::wire::admin::SiteCreateRequest {
            site: roster::domain::SiteCode::parse(code).unwrap(),
            tenant: None,
            display_name: None,
            company: None,
            policy: Some(policy),
        };
        self.owner.site_create(&req).await.unwrap().enrollment_key
    }

    /// Argon2 runs across all workers.
    pub(crate) fn argon2_runs(&self) -> u64 {
        self.workers.iter().map(|w| w.keys().argon2_runs()).sum()
    }

    /// Asserts `secret` appears in no KV value and no audit event.
    pub(crate) async fn assert_not_stored(&self, secret: &str) {
        let body = &secret[4..];
        for (b, k, v) in self.kv_dump().await {
            let s = v.to_string();
            assert!(!s.contains(body), "secret found in {b}/{k}");
        }
        for ev in self.audit_events().await {
            let s = serde_json::to_string(&ev).unwrap();
            assert!(
                !s.contains(body),
                "secret found in audit event {}",
                ev.action
            );
        }
    }
}

/// Waits until a worker answers `$SRV.PING.roster` on `nats`: a worker started just now
/// has sent its subscriptions on its own connection, and a request this connection sends
/// before they reach the server finds no responders.
pub(crate) async fn until_serving(nats: &async_nats::Client) {
    let ready = std::time::Instant::now();
    while nats
        .request("$SRV.PING.roster", bytes::Bytes::new())
        .await
        .is_err()
    {
        assert!(
            ready.elapsed() < Duration::from_secs(10),
            "no worker answers"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Events of a watched connection: (when, what).
pub(crate) type Events = tokio::sync::mpsc::UnboundedReceiver<(std::time::Instant, String)>;

/// A connection through the callout whose events (disconnects, permission violations)
/// are reported on a channel with the time they happened.
pub(crate) async fn watched(
    env: &TestEnv,
    keys: &KeyPairs,
) -> anyhow::Result<(async_nats::Client, Events)> {
    let seed = keys.user_nkey_seed().unwrap();
    let opts = async_nats::ConnectOptions::new()
        .nkey(seed.to_string())
        .custom_inbox_prefix(roster::callout::inbox_for_nkey(&keys.user_nkey_public()));
    watched_with(env, opts).await
}

/// [`watched`] with any connect options (a token, say).
pub(crate) async fn watched_with(
    env: &TestEnv,
    opts: async_nats::ConnectOptions,
) -> anyhow::Result<(async_nats::Client, Events)> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let client = opts
        .max_reconnects(3)
        .event_callback(move |e| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((std::time::Instant::now(), e.to_string()));
            }
        })
        .connect(env.server.url())
        .await?;
    Ok((client, rx))
}

/// Waits for an event whose text contains `needle`.
pub(crate) async fn event(rx: &mut Events, needle: &str) -> Option<std::time::Instant> {
    event_within(rx, needle, Duration::from_secs(5)).await
}

/// True when no event whose text contains `needle` comes within `within`.
pub(crate) async fn no_event_within(rx: &mut Events, needle: &str, within: Duration) -> bool {
    event_within(rx, needle, within).await.is_none()
}

/// Waits up to `within` for an event whose text contains `needle`.
pub(crate) async fn event_within(
    rx: &mut Events,
    needle: &str,
    within: Duration,
) -> Option<std::time::Instant> {
    let deadline = std::time::Instant::now() + within;
    while let Ok(Some((at, text))) = tokio::time::timeout_at(deadline.into(), rx.recv()).await {
        if text.to_lowercase().contains(&needle.to_lowercase()) {
            return Some(at);
        }
    }
    None
}
