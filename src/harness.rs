//! Worker processes: `roster serve` as a child process, for the crash tests, the cluster
//! test and the bench. [`WorkerProcess::start`] returns once the worker serves, judged by
//! `$SRV` discovery, not by its log: it answers `$SRV.PING.roster` with its own process
//! id in the metadata (another worker on the same bus does not count), and `$SRV.INFO` on
//! its id lists every endpoint (the micro service answers PING as soon as it starts, a
//! moment before its endpoints are subscribed). An edge module: nothing in the library
//! uses it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;

use crate::config::{ConfigError, NatsArgs};
use crate::identity::FileError;
use crate::wire::{Endpoint, METADATA_PID, SERVICE_NAME};

/// How to run a worker process.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Flags after `serve` besides the connection's, e.g. `--replicas 3`.
    pub args: Vec<String>,
    /// More environment, e.g. `ROSTER_LOG` or `ROSTER_FAILPOINT`.
    pub env: Vec<(String, String)>,
    /// The worker's stderr (its log) is appended to this file; `None` discards it.
    pub log: Option<PathBuf>,
    /// A command the worker runs under, e.g. a profiler (`valgrind --tool=callgrind`).
    pub wrapper: Vec<String>,
    /// How long [`WorkerProcess::start`] waits for the worker to serve.
    pub ready_within: Duration,
    /// On drop: SIGTERM, then this long to finish, then SIGKILL. Zero kills at once.
    pub stop_grace: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            args: Vec::new(),
            env: Vec::new(),
            log: None,
            wrapper: Vec::new(),
            ready_within: Duration::from_secs(60),
            stop_grace: Duration::ZERO,
        }
    }
}

/// Why a worker process could not be found, started, or seen serving.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The running executable's path could not be read.
    #[error("locating the running executable")]
    CurrentExe(#[source] std::io::Error),
    /// The binary is not next to the running executable.
    #[error(
        "{} not found next to {} (build both binaries: cargo build --release --bins)",
        path.display(),
        exe.display()
    )]
    NotFound { path: PathBuf, exe: PathBuf },
    /// The worker's log file could not be opened.
    #[error(transparent)]
    Log(#[from] FileError),
    /// The worker process could not be started.
    #[error("starting the worker process {}", bin.display())]
    Spawn {
        bin: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The probe connection to NATS failed.
    #[error(transparent)]
    Connect(#[from] ConfigError),
    /// The probe could not subscribe to its reply inbox.
    #[error(transparent)]
    Subscribe(#[from] async_nats::SubscribeError),
    /// The probe could not send its PING.
    #[error(transparent)]
    Publish(#[from] async_nats::PublishError),
    /// Whether the worker process still runs could not be asked.
    #[error("waiting for the worker process")]
    Wait(#[source] std::io::Error),
    /// The worker process exited before it served.
    #[error("the worker process exited with {0} before it served")]
    Exited(ExitStatus),
    /// The worker process did not serve in time.
    #[error("the worker process {pid} did not serve within {secs} s")]
    NotServing { pid: u32, secs: u64 },
}

/// The binary `name` in the running executable's directory (`roster-bench` runs the
/// `roster` next to it).
pub fn sibling_binary(name: &str) -> Result<PathBuf, HarnessError> {
    let exe = std::env::current_exe().map_err(HarnessError::CurrentExe)?;
    let path = exe.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        return Err(HarnessError::NotFound { path, exe });
    }
    Ok(path)
}

/// A running `roster serve` child process, stopped when dropped.
#[derive(Debug)]
pub struct WorkerProcess {
    child: Child,
    service_id: String,
    stop_grace: Duration,
}

impl WorkerProcess {
    /// Starts `bin serve` connected as `nats` and returns once it serves.
    pub async fn start(
        bin: &Path,
        nats: &NatsArgs,
        opts: WorkerOptions,
    ) -> Result<Self, HarnessError> {
        let mut argv: Vec<OsString> = opts.wrapper.iter().map(OsString::from).collect();
        argv.push(bin.into());
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).arg("serve").args(&opts.args);
        for (key, value) in connection_env(nats) {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        let stderr = match &opts.log {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(FileError::at("opening", path))?,
            ),
            None => Stdio::null(),
        };
        let child = cmd
            .envs(opts.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                bin: bin.to_owned(),
                source,
            })?;
        // Owned from here on: if this start fails or is abandoned, dropping it stops it.
        let mut me = Self {
            child,
            service_id: String::new(),
            stop_grace: opts.stop_grace,
        };
        me.service_id = me.wait_serving(nats, opts.ready_within).await?;
        Ok(me)
    }

    async fn wait_serving(
        &mut self,
        nats: &NatsArgs,
        within: Duration,
    ) -> Result<String, HarnessError> {
        let probe = nats.connect("roster-harness").await?;
        let inbox = probe.new_inbox();
        let mut replies = probe.subscribe(inbox.clone()).await?;
        let ping = format!("$SRV.PING.{SERVICE_NAME}");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().map_err(HarnessError::Wait)? {
                return Err(HarnessError::Exited(status));
            }
            probe
                .publish_with_reply(ping.clone(), inbox.clone(), Bytes::new())
                .await?;
            if let Some(id) = self.own_pong(&mut replies).await {
                if serves_every_endpoint(&probe, &id).await {
                    return Ok(id);
                }
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::NotServing {
                    pid: self.pid(),
                    secs: within.as_secs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The service id of this process's PING reply, if one comes within 100 ms (a later
    /// one is read on the next try); other workers' replies are skipped.
    async fn own_pong(&self, replies: &mut async_nats::Subscriber) -> Option<String> {
        let until = tokio::time::Instant::now() + Duration::from_millis(100);
        while let Ok(Some(msg)) = tokio::time::timeout_at(until, replies.next()).await {
            let Ok(pong) =
                serde_json::from_slice::<async_nats::service::PingResponse>(&msg.payload)
            else {
                continue;
            };
            let pid = pong.metadata.get(METADATA_PID).and_then(|p| p.parse().ok());
            if pid.is_some_and(|p| is_or_runs_under(p, self.pid())) {
                return Some(pong.id);
            }
        }
        None
    }

    /// The process id (of the wrapper, if there is one).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The worker's micro service id (as in its `$SRV` replies).
    pub fn service_id(&self) -> &str {
        &self.service_id
    }

    /// Kills the worker with SIGKILL, as a crash would, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM: the worker stops gracefully (see [`WorkerProcess::wait_exit`]).
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
    }

    /// Waits up to `within` for the worker to exit; its status, or `None` if it still runs.
    pub async fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        if !self.stop_grace.is_zero() {
            self.terminate();
            let deadline = Instant::now() + self.stop_grace;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill();
    }
}

/// The connection as the worker's `ROSTER_NATS_*` environment: passwords and tokens stay
/// out of the process list, and what is unset here is removed, so none of the caller's
/// own settings leak in.
fn connection_env(n: &NatsArgs) -> [(&'static str, Option<OsString>); 13] {
    let s = |v: &Option<String>| v.clone().map(OsString::from);
    let p = |v: &Option<PathBuf>| v.clone().map(PathBuf::into_os_string);
    [
        ("ROSTER_NATS_URL", Some(n.nats_url.clone().into())),
        ("ROSTER_NATS_USER", s(&n.nats_user)),
        ("ROSTER_NATS_PASSWORD", s(&n.nats_password)),
        ("ROSTER_NATS_PASSWORD_FILE", p(&n.nats_password_file)),
        ("ROSTER_NATS_TOKEN", s(&n.nats_token)),
        ("ROSTER_NATS_TOKEN_FILE", p(&n.nats_token_file)),
        ("ROSTER_NATS_NKEY_SEED_FILE", p(&n.nats_nkey_seed_file)),
        ("ROSTER_NATS_CREDS", p(&n.nats_creds)),
        ("ROSTER_PREFIX", Some(n.prefix.clone().into())),
        ("ROSTER_NATS_TLS_CA", p(&n.tls_ca)),
        ("ROSTER_NATS_TLS_CERT", p(&n.tls_cert)),
        ("ROSTER_NATS_TLS_KEY", p(&n.tls_key)),
        ("ROSTER_NATS_TLS_FIRST", n.tls_first.then(|| "true".into())),
    ]
}

/// Whether the INFO reply of service `id` lists every endpoint: by then the worker has
/// subscribed them all (it subscribes an endpoint before listing it, on the connection
/// that sends the reply).
async fn serves_every_endpoint(probe: &async_nats::Client, id: &str) -> bool {
    let info = tokio::time::timeout(
        Duration::from_millis(500),
        probe.request(format!("$SRV.INFO.{SERVICE_NAME}.{id}"), Bytes::new()),
    )
    .await;
    let Ok(Ok(msg)) = info else {
        return false;
    };
    serde_json::from_slice::<async_nats::service::Info>(&msg.payload)
        .is_ok_and(|i| i.endpoints.len() >= Endpoint::all().count())
}

/// Whether process `pid` is `root` or runs under it (a wrapper such as a profiler may run
/// the worker as its child). Parents come from `/proc`: off Linux only `pid == root`.
fn is_or_runs_under(pid: u32, root: u32) -> bool {
    let mut p = pid;
    for _ in 0..8 {
        if p == root {
            return true;
        }
        match parent_pid(p) {
            Some(parent) if parent > 1 => p = parent,
            _ => return false,
        }
    }
    false
}

fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`, and comm may hold spaces and parentheses.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
