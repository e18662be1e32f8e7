//! Starts a private nats-server: for `roster dev`, the benchmark and the test harness.
//! The server runs one of the checked-in configs from `nats-config/` (filled in through
//! environment variables) on a free loopback port with its own store directory, and is
//! killed when the handle drops.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::config::NatsArgs;
use crate::identity::FileError;

/// `nats-config/open.conf`: no auth (tests, benchmarks, operators with their own auth).
pub const OPEN_CONF: &str = include_str!("../nats-config/open.conf");
/// `nats-config/dev.conf`: the auth callout on.
pub const DEV_CONF: &str = include_str!("../nats-config/dev.conf");
/// `nats-config/tls.conf`: production settings with TLS and the auth callout.
pub const TLS_CONF: &str = include_str!("../nats-config/tls.conf");

/// The nats-server binary: `NATS_SERVER_BIN`, else the repo's `.tools/bin/nats-server`
/// (installed by `scripts/install-nats-server`), else `nats-server` on `PATH`.
pub fn server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("NATS_SERVER_BIN") {
        return PathBuf::from(p);
    }
    for base in [
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
        std::env::current_dir().ok(),
    ]
    .into_iter()
    .flatten()
    {
        let p = base.join(".tools/bin/nats-server");
        if p.is_file() {
            return p;
        }
    }
    PathBuf::from("nats-server")
}

/// Why a private nats-server could not be set up, started, or seen ready.
#[derive(Debug, thiserror::Error)]
pub enum NatsdError {
    /// No free loopback port could be found.
    #[error("finding a free port on 127.0.0.1")]
    FreePort(#[source] std::io::Error),
    /// The callout's keys could not be generated.
    #[error("generating the callout keys")]
    Keys(#[source] crate::callout::CalloutError),
    /// A generated callout seed did not read back as an nkey.
    #[error("callout key seed")]
    Seed(#[source] nkeys::error::Error),
    /// The server's directory, config or log file could not be written.
    #[error(transparent)]
    File(#[from] FileError),
    /// The server binary could not be started.
    #[error(
        "starting {} (run scripts/install-nats-server, or set NATS_SERVER_BIN)",
        bin.display()
    )]
    Spawn {
        bin: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Whether the server still runs could not be asked.
    #[error("waiting for nats-server")]
    Wait(#[source] std::io::Error),
    /// The server exited before it served; `log` is the tail of its log.
    #[error("nats-server exited with {status}: {log}")]
    Exited {
        status: std::process::ExitStatus,
        log: String,
    },
    /// The server did not serve JetStream in time.
    #[error("nats-server did not become ready in 15 s")]
    NotReady,
    /// TLS was asked for without the callout (`tls.conf` runs the callout).
    #[error("a TLS server runs nats-config/tls.conf, which needs the callout keys")]
    TlsNeedsCallout,
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16, NatsdError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(NatsdError::FreePort)
}

/// Keys and passwords of a callout-enabled server, generated per run.
pub struct CalloutSetup {
    pub issuer_seed: Zeroizing<String>,
    pub xkey_seed: Zeroizing<String>,
    pub worker_password: Zeroizing<String>,
    pub sys_password: Zeroizing<String>,
}

impl std::fmt::Debug for CalloutSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CalloutSetup(<secrets>)")
    }
}

impl CalloutSetup {
    /// Fresh keys and passwords.
    pub fn generate() -> Result<Self, NatsdError> {
        let (issuer_seed, xkey_seed) = crate::callout::generate_keys().map_err(NatsdError::Keys)?;
        Ok(Self {
            issuer_seed,
            xkey_seed,
            worker_password: Zeroizing::new(crate::crypto::random_nonce_hex()),
            sys_password: Zeroizing::new(crate::crypto::random_nonce_hex()),
        })
    }

    fn env(&self) -> Result<Vec<(&'static str, String)>, NatsdError> {
        let issuer = nkeys::KeyPair::from_seed(&self.issuer_seed).map_err(NatsdError::Seed)?;
        let xkey = nkeys::XKey::from_seed(&self.xkey_seed).map_err(NatsdError::Seed)?;
        Ok(vec![
            ("ROSTER_ISSUER_PUB", issuer.public_key()),
            ("ROSTER_XKEY_PUB", xkey.public_key()),
            ("ROSTER_WORKER_PASSWORD", self.worker_password.to_string()),
            ("ROSTER_SYS_PASSWORD", self.sys_password.to_string()),
        ])
    }

    /// The worker's callout settings for these keys.
    pub fn callout_config(
        &self,
        templates: crate::callout::Templates,
        user_ttl: Duration,
    ) -> Result<crate::callout::CalloutConfig, NatsdError> {
        Ok(crate::callout::CalloutConfig {
            issuer: nkeys::KeyPair::from_seed(&self.issuer_seed).map_err(NatsdError::Seed)?,
            xkey: Some(nkeys::XKey::from_seed(&self.xkey_seed).map_err(NatsdError::Seed)?),
            account: "ROSTER".into(),
            user_ttl,
            templates,
        })
    }
}

/// The TLS files of a server running `nats-config/tls.conf` (PEM files).
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// The server's certificate chain.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// The CA that signed it, which the server's own clients (the worker, the
    /// ready check) trust, and which signs client certificates when verifying.
    pub ca: PathBuf,
    /// Require client certificates (`verify: true`): the certificate and key the
    /// server's own clients present.
    pub client: Option<(PathBuf, PathBuf)>,
}

/// How to start a server.
#[derive(Debug, Default)]
pub struct ServerOptions {
    /// Port to listen on; `0` picks a free one.
    pub port: u16,
    /// Store directory; `None` makes a temporary one that is removed on drop.
    pub data_dir: Option<PathBuf>,
    /// `sync_interval` of JetStream: `2m` (the server default) or `always`.
    pub sync_always: bool,
    /// Run `dev.conf` with the auth callout (else `open.conf`).
    pub callout: Option<CalloutSetup>,
    /// JetStream's `max_file_store` (`None`: 4GB), e.g. `"32MB"` to test a full store.
    pub max_file_store: Option<String>,
    /// Run the server in a process group of its own, so a Ctrl-C at the terminal reaches
    /// only the process that started it, which stops its worker first and then the
    /// server (`roster dev`). Otherwise the server dies with the terminal's signal
    /// while the worker is still draining into it.
    pub own_process_group: bool,
    /// Run `tls.conf` with these files (needs `callout`; `max_file_store` and
    /// `sync_always` do not apply: that config fsyncs every write).
    pub tls: Option<ServerTls>,
    /// Port of `dev.conf`'s websocket listener for the web console (`Some(0)` picks a
    /// free one; `None`: a port the server picks and nobody uses, so parallel test
    /// servers never race for one; only `dev.conf` has the listener).
    pub ws_port: Option<u16>,
}

/// A running nats-server process.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    conf: PathBuf,
    env: Vec<(&'static str, String)>,
    remove_dir: bool,
    callout: Option<CalloutSetup>,
    own_process_group: bool,
    tls: Option<ServerTls>,
    ws_port: Option<u16>,
}

impl NatsServer {
    /// Writes the config and starts the server; returns once it serves JetStream.
    pub async fn start(opts: ServerOptions) -> Result<Self, NatsdError> {
        let port = if opts.port == 0 {
            free_port()?
        } else {
            opts.port
        };
        let (dir, remove_dir) = match opts.data_dir {
            Some(d) => (d, false),
            None => (
                std::env::temp_dir()
                    .join(format!("roster-nats-{}", crate::crypto::random_nonce_hex())),
                true,
            ),
        };
        let dir = std::fs::create_dir_all(&dir)
            .and_then(|()| dir.canonicalize())
            .map_err(FileError::at("creating", &dir))?;
        let conf = dir.join("nats-server.conf");
        let text = match (&opts.tls, &opts.callout) {
            (Some(_), None) => return Err(NatsdError::TlsNeedsCallout),
            (Some(_), Some(_)) => TLS_CONF,
            (None, Some(_)) => DEV_CONF,
            (None, None) => OPEN_CONF,
        };
        std::fs::write(&conf, text).map_err(FileError::at("writing", &conf))?;
        let mut env = vec![
            ("ROSTER_NATS_PORT", port.to_string()),
            (
                "ROSTER_STORE_DIR",
                dir.join("jetstream").display().to_string(),
            ),
            (
                "ROSTER_SYNC_INTERVAL",
                if opts.sync_always { "always" } else { "2m" }.to_owned(),
            ),
            (
                "ROSTER_MAX_FILE_STORE",
                opts.max_file_store.unwrap_or_else(|| "4GB".into()),
            ),
        ];
        let mut ws_port = None;
        if let Some(c) = &opts.callout {
            env.extend(c.env()?);
            if opts.tls.is_none() {
                match opts.ws_port {
                    // nats-server's random port (-1): the listener exists, unused.
                    None => env.push(("ROSTER_WS_PORT", "-1".to_owned())),
                    Some(want) => {
                        let p = if want == 0 { free_port()? } else { want };
                        env.push(("ROSTER_WS_PORT", p.to_string()));
                        ws_port = Some(p);
                    }
                }
            }
        }
        if let Some(t) = &opts.tls {
            let path = |p: &Path| p.display().to_string();
            env.extend([
                ("ROSTER_TLS_CERT", path(&t.cert)),
                ("ROSTER_TLS_KEY", path(&t.key)),
                ("ROSTER_TLS_CA", path(&t.ca)),
                ("ROSTER_TLS_VERIFY", t.client.is_some().to_string()),
            ]);
        }
        let mut server = Self {
            child: None,
            port,
            dir,
            conf,
            env,
            remove_dir,
            callout: opts.callout,
            own_process_group: opts.own_process_group,
            tls: opts.tls,
            ws_port,
        };
        server.spawn().await?;
        Ok(server)
    }

    async fn spawn(&mut self) -> Result<(), NatsdError> {
        let bin = server_binary();
        let log_path = self.dir.join("nats-server.log");
        let (stdout, stderr) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .and_then(|log| Ok((log.try_clone()?, log)))
            .map_err(FileError::at("writing", &log_path))?;
        let mut cmd = Command::new(&bin);
        cmd.arg("-c")
            .arg(&self.conf)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        #[cfg(unix)]
        if self.own_process_group {
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        }
        let child = cmd
            .spawn()
            .map_err(|source| NatsdError::Spawn { bin, source })?;
        self.child = Some(child);
        self.wait_ready().await
    }

    async fn wait_ready(&mut self) -> Result<(), NatsdError> {
        let deadline = Instant::now() + Duration::from_secs(15);
        let args = self.worker_args();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait().map_err(NatsdError::Wait)? {
                    let log = std::fs::read_to_string(self.dir.join("nats-server.log"))
                        .unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(5).collect();
                    return Err(NatsdError::Exited {
                        status,
                        log: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
                    });
                }
            }
            if let Ok(client) = args.connect("roster-ready-check").await {
                let js = async_nats::jetstream::new(client);
                if js.query_account().await.is_ok() {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(NatsdError::NotReady);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// `ws://127.0.0.1:<port>`: the websocket listener of `dev.conf` (the web console's
    /// way in), when this server runs it.
    pub fn ws_url(&self) -> Option<String> {
        self.ws_port.map(|p| format!("ws://127.0.0.1:{p}"))
    }

    /// How a client reaches this server: its URL, and with TLS its CA (and the client
    /// certificate when the server verifies clients).
    pub fn client_args(&self) -> NatsArgs {
        let mut a = NatsArgs::for_url(&self.url());
        if let Some(t) = &self.tls {
            a.tls_ca = Some(t.ca.clone());
            if let Some((cert, key)) = &t.client {
                a.tls_cert = Some(cert.clone());
                a.tls_key = Some(key.clone());
            }
        }
        a
    }

    /// How the worker connects (the `roster` user when the callout is on).
    pub fn worker_args(&self) -> NatsArgs {
        let mut a = self.client_args();
        if let Some(c) = &self.callout {
            a.nats_user = Some("roster".into());
            a.nats_password = Some(c.worker_password.to_string());
        }
        a
    }

    /// How the worker's system-account connection connects (callout servers only).
    pub fn system_args(&self) -> Option<NatsArgs> {
        self.callout.as_ref().map(|c| {
            let mut a = self.client_args();
            a.nats_user = Some("sys".into());
            a.nats_password = Some(c.sys_password.to_string());
            a
        })
    }

    /// The callout keys, when this server runs the callout.
    pub fn callout(&self) -> Option<&CalloutSetup> {
        self.callout.as_ref()
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kills the server with SIGKILL (the store stays).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port and store.
    pub async fn restart(&mut self) -> Result<(), NatsdError> {
        self.kill();
        self.spawn().await
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
