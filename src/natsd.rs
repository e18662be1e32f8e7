//! Starts a private nats-server: for `roster dev`, the benchmark and the test harness.
//! The server runs from a config in `nats-config/` on a free loopback port with its own
//! store directory, and is killed when the handle drops.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// The dev config, compiled in so `roster dev` works from any directory.
pub const DEV_CONF: &str = include_str!("../nats-config/dev.conf");

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

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// How to start a server.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Port to listen on; `0` picks a free one.
    pub port: u16,
    /// Store directory; `None` makes a temporary one that is removed on drop.
    pub data_dir: Option<PathBuf>,
    /// `sync_interval` of JetStream: `2m` (the server default) or `always`.
    pub sync_always: bool,
}

/// A running nats-server process.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    conf: PathBuf,
    remove_dir: bool,
}

impl NatsServer {
    /// Writes the config and starts the server; returns once it accepts connections.
    pub async fn start(opts: ServerOptions) -> anyhow::Result<Self> {
        let port = if opts.port == 0 {
            free_port()?
        } else {
            opts.port
        };
        let (dir, remove_dir) = match opts.data_dir {
            Some(d) => (d, false),
            None => {
                let d = std::env::temp_dir()
                    .join(format!("roster-nats-{}", crate::crypto::random_nonce_hex()));
                (d, true)
            }
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = dir.canonicalize()?;
        let conf = dir.join("nats-server.conf");
        let text = DEV_CONF
            .replace("{{PORT}}", &port.to_string())
            .replace(
                "{{STORE_DIR}}",
                &dir.join("jetstream").display().to_string(),
            )
            .replace(
                "{{SYNC_INTERVAL}}",
                if opts.sync_always { "always" } else { "2m" },
            );
        std::fs::write(&conf, text)?;
        let mut server = Self {
            child: None,
            port,
            dir,
            conf,
            remove_dir,
        };
        server.spawn().await?;
        Ok(server)
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let bin = server_binary();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("nats-server.log"))?;
        let child = Command::new(&bin)
            .arg("-c")
            .arg(&self.conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (run scripts/install-nats-server, or set NATS_SERVER_BIN)",
                    bin.display()
                )
            })?;
        self.child = Some(child);
        self.wait_ready().await
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    anyhow::bail!(
                        "nats-server exited with {status}; see {}",
                        self.dir.join("nats-server.log").display()
                    );
                }
            }
            if let Ok(client) = async_nats::connect(self.url()).await {
                let js = async_nats::jetstream::new(client);
                if js.query_account().await.is_ok() {
                    return Ok(());
                }
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "nats-server did not become ready in 15 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
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
    pub async fn restart(&mut self) -> anyhow::Result<()> {
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
