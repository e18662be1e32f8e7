//! `roster bench`: roster measured against the raw-NATS floor in one run.
//!
//! The floor is a bare async-nats responder doing exactly the NATS work one register
//! needs (request-reply, a nonce `create`, an invite read, the invite CAS, the key-index
//! and user `create`s, and the audit publish with a message id), against buckets and a
//! stream configured like roster's. roster's worker runs as its own process (`roster
//! serve`, the same binary) so its peak RSS can be read from /proc. Ratios from the same
//! run hold on a noisy machine; absolute numbers do not.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;

use crate::client::{EnrollArgs, RosterClient};
use crate::config::{NatsArgs, WorkerArgs, WorkerConfig};
use crate::crypto::{self, Argon2Params, KeyPairs, Secret, SecretKind};
use crate::domain::{Handle, Policy, Role, SiteCode};
use crate::natsd::{NatsServer, ServerOptions};
use crate::wire::admin::{InviteCreateRequest, SiteCreateRequest};

/// What to run.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Registrations measured with `--in-flight` concurrency (per sync mode).
    #[arg(long, default_value_t = 2000, value_parser = at_least_one())]
    pub registrations: usize,
    /// Sequential requests for the latency percentiles.
    #[arg(long, default_value_t = 500, value_parser = at_least_one())]
    pub sequential: usize,
    /// Agents in the enrollment storm (one site key).
    #[arg(long, default_value_t = 2000, value_parser = at_least_one())]
    pub agents: usize,
    /// Requests in flight for the throughput runs.
    #[arg(long, default_value_t = 64, value_parser = at_least_one())]
    pub in_flight: usize,
    /// Sequential registers measured unloaded, and again under the flood.
    #[arg(long, default_value_t = 1000, value_parser = at_least_one())]
    pub flood_samples: usize,
    /// Wrong-key enrollments per second during the flood.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub flood_rate: u32,
    /// Seconds the Argon2 ceiling is measured for.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub argon2_secs: u64,
    /// Skip the second pass with `sync_interval: always`.
    #[arg(long)]
    pub skip_sync_always: bool,
    /// Write an SVG chart of the latency distribution here.
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// Print one JSON object on stdout (progress goes to stderr either way).
    #[arg(long)]
    pub json: bool,
}

/// Counts must be at least 1 (0 in flight would never finish; 0 samples has no p50).
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
}

fn progress(msg: &str) {
    eprintln!("[bench] {msg}");
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Percentiles {
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
}

fn percentiles(samples: &[Duration]) -> Percentiles {
    let mut v: Vec<u64> = samples.iter().map(|d| d.as_micros() as u64).collect();
    v.sort_unstable();
    let at = |q: f64| {
        if v.is_empty() {
            return 0;
        }
        let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
        v[i]
    };
    Percentiles {
        p50_us: at(0.50),
        p90_us: at(0.90),
        p99_us: at(0.99),
    }
}

/// CPU time a process (all its threads) has run, from `/proc/<pid>/task/*/schedstat`
/// (nanosecond resolution, unlike the 10 ms ticks of `/proc/<pid>/stat`). 0 off Linux.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// CPU microseconds per operation, by process, over the 64-in-flight phases.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CpuPerOp {
    /// nats-server.
    pub server_us: f64,
    /// The roster worker, or the floor responder.
    pub responder_us: f64,
    /// The load generator (this process), which signs register requests.
    pub client_us: f64,
}

/// Accumulates per-process CPU over measured phases.
#[derive(Default)]
struct CpuMeter {
    ns: [u64; 3],
    ops: usize,
}

impl CpuMeter {
    fn snap(pids: [u32; 3]) -> [u64; 3] {
        pids.map(cpu_ns)
    }

    fn add(&mut self, before: [u64; 3], pids: [u32; 3], ops: usize) {
        let after = Self::snap(pids);
        for (acc, (a, b)) in self.ns.iter_mut().zip(after.iter().zip(before)) {
            *acc += a.saturating_sub(b);
        }
        self.ops += ops;
    }

    fn per_op(&self) -> CpuPerOp {
        let us = |ns: u64| ns as f64 / 1000.0 / self.ops.max(1) as f64;
        CpuPerOp {
            server_us: us(self.ns[0]),
            responder_us: us(self.ns[1]),
            client_us: us(self.ns[2]),
        }
    }
}

/// Results of one sync mode.
#[derive(Debug, Clone, Serialize)]
pub struct ModeResult {
    pub sync: &'static str,
    pub register_per_s: f64,
    pub register_floor_per_s: f64,
    pub register: Percentiles,
    pub register_floor: Percentiles,
    pub register_errors: usize,
    /// CPU per register at `--in-flight`, roster's worker as the responder.
    pub register_cpu: CpuPerOp,
    /// CPU per floor operation set at `--in-flight`.
    pub floor_cpu: CpuPerOp,
    #[serde(skip)]
    pub register_samples: Vec<Duration>,
    #[serde(skip)]
    pub floor_samples: Vec<Duration>,
}

/// A `roster serve` child process.
struct WorkerProcess {
    child: Child,
}

impl WorkerProcess {
    async fn start(url: &str, log: PathBuf) -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?;
        // ROSTER_BENCH_WORKER_WRAPPER runs the worker under a profiler, e.g.
        // "valgrind --tool=callgrind --callgrind-out-file=/tmp/worker.cg".
        let wrapper = std::env::var("ROSTER_BENCH_WORKER_WRAPPER").unwrap_or_default();
        let mut argv: Vec<String> = wrapper.split_whitespace().map(str::to_owned).collect();
        argv.push(exe.display().to_string());
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        let child = cmd
            .args(["serve", "--nats-url", url])
            .env("ROSTER_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .context("starting the worker process")?;
        // Owned from here on: if this start is abandoned, dropping it stops the worker.
        let me = Self { child };
        let probe = async_nats::connect(url).await?;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Ok(_)) = tokio::time::timeout(
                Duration::from_millis(300),
                probe.request("$SRV.PING.roster", Bytes::new()),
            )
            .await
            {
                return Ok(me);
            }
            anyhow::ensure!(Instant::now() < deadline, "the worker did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Peak resident set (VmHWM) in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    fn stop(self) {
        // Dropping stops it.
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        // A profiler wrapping the worker needs time to write its output.
        let grace = if std::env::var_os("ROSTER_BENCH_WORKER_WRAPPER").is_some() {
            120
        } else {
            10
        };
        let deadline = Instant::now() + Duration::from_secs(grace);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bus with a roster worker and an owner, ready to measure.
struct Bench {
    // Dropped in this order: the worker first, while its server still runs.
    worker: WorkerProcess,
    server: NatsServer,
    conns: Vec<async_nats::Client>,
    store: crate::store::Store,
    owner: RosterClient,
}

impl Bench {
    async fn start(sync_always: bool) -> anyhow::Result<Self> {
        let server = NatsServer::start(ServerOptions {
            sync_always,
            ..Default::default()
        })
        .await?;
        let url = server.url();
        let worker = WorkerProcess::start(&url, server.dir().join("worker.log")).await?;
        let mut conns = Vec::new();
        for _ in 0..4 {
            conns.push(async_nats::connect(url.as_str()).await?);
        }
        let cfg = WorkerConfig::from_args(&NatsArgs::for_url(&url), &WorkerArgs::default())?;
        let (store, audit) = crate::worker::open_state(&conns[0], &cfg).await?;
        let handle = Handle::parse("bench-owner").map_err(|e| anyhow::anyhow!("{e}"))?;
        let invite =
            crate::bootstrap::bootstrap(&store, &audit, &handle, Duration::from_secs(3600)).await?;
        let owner = RosterClient::new(conns[0].clone(), "roster", KeyPairs::generate());
        owner.register(&invite.token).await?;
        Ok(Self {
            server,
            worker,
            conns,
            store,
            owner,
        })
    }

    /// Mints `n` member invites straight into KV (setup, not measured).
    async fn invites(&self, tag: &str, n: usize) -> anyhow::Result<Vec<String>> {
        let store = &self.store;
        let results: Vec<anyhow::Result<String>> = futures::stream::iter(0..n)
            .map(|i| async move {
                let req = InviteCreateRequest {
                    handle: Handle::parse(&format!("{tag}-{i}"))
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                    role: Role::Member,
                    ttl_secs: None,
                };
                let r =
                    crate::handlers::mint_invite(store, &req, Duration::from_secs(3600), "bench")
                        .await?;
                Ok(r.token)
            })
            .buffer_unordered(64)
            .collect()
            .await;
        results.into_iter().collect()
    }

    fn client(&self, i: usize, keys: KeyPairs) -> RosterClient {
        RosterClient::new(self.conns[i % self.conns.len()].clone(), "roster", keys)
            .with_timeout(Duration::from_secs(30))
    }
}

/// The raw floor, run as its own process (`roster bench-floor`) like the worker, so both
/// sides pay the same process hops and wake-ups.
struct Floor {
    child: Child,
    conns: Vec<async_nats::Client>,
}

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const FLOOR_SUBJECT: &str = "roster.v1.floor";
// Sizes of roster's own messages for one register (measured on its records).
const REQUEST_BYTES: usize = 165;
const INVITE_BYTES: usize = 330;
const KEY_INDEX_BYTES: usize = 170;
const USER_BYTES: usize = 420;
const AUDIT_BYTES: usize = 470;
const REPLY_BYTES: usize = 290;

impl Floor {
    async fn start(url: &str, total: usize) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .args([
                "bench-floor",
                "--nats-url",
                url,
                "--records",
                &total.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the floor process")?;
        let stdout = child.stdout.take().context("floor stdout")?;
        // Owned from here on: if this start is abandoned, dropping it stops the floor.
        let mut me = Self {
            child,
            conns: Vec::new(),
        };
        let ready = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
                .map(|_| line)
        })
        .await??;
        anyhow::ensure!(ready.trim() == "ready", "the floor process did not start");
        for _ in 0..4 {
            me.conns.push(async_nats::connect(url).await?);
        }
        Ok(me)
    }

    async fn call(&self, i: usize) -> bool {
        let c = &self.conns[i % self.conns.len()];
        // The same four headers and body size a register request carries.
        let mut h = async_nats::HeaderMap::new();
        h.insert("Bench-I", i.to_string().as_str());
        h.insert(crate::wire::HDR_KEY, "k".repeat(64).as_str());
        h.insert(crate::wire::HDR_TS, "1763900000000");
        h.insert(crate::wire::HDR_NONCE, "n".repeat(32).as_str());
        h.insert(crate::wire::HDR_SIG, "s".repeat(128).as_str());
        let body = Bytes::from(vec![b'b'; REQUEST_BYTES]);
        matches!(c.request_with_headers(FLOOR_SUBJECT, h, body).await, Ok(m) if m.payload.as_ref() != b"error")
    }
}

/// Runs `f(i)` for `i in range` with `in_flight` at a time; returns (elapsed, failures).
async fn concurrent<F, Fut>(
    range: std::ops::Range<usize>,
    in_flight: usize,
    f: F,
) -> (Duration, usize)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    let failures = futures::stream::iter(range)
        .map(f)
        .buffer_unordered(in_flight)
        .filter(|ok| futures::future::ready(!ok))
        .count()
        .await;
    (start.elapsed(), failures)
}

/// Runs `f(i)` one after another; returns each latency and the failure count.
async fn sequential<F, Fut>(range: std::ops::Range<usize>, f: F) -> (Vec<Duration>, usize)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut samples = Vec::with_capacity(range.len());
    let mut failures = 0;
    for i in range {
        let t = Instant::now();
        if !f(i).await {
            failures += 1;
        }
        samples.push(t.elapsed());
    }
    (samples, failures)
}

/// Register requests built and signed, ready to send.
struct Prepared(Arc<Vec<(RosterClient, async_nats::HeaderMap, Bytes)>>);

/// Builds and signs one register request per token, before the clock starts (a block is
/// a few hundred requests, well inside the worker's clock window): the client's Ed25519
/// signing (~15 µs) is work a real client does on its own machine, and here it would
/// share the two cores with the worker. The per-process CPU split is measured around
/// [`send_registers`] only.
fn prepare_registers(b: &Bench, tokens: &[String], keys: Vec<KeyPairs>) -> Prepared {
    let subject = crate::handlers::Endpoint::Register.subject("roster");
    let prepared = keys
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            let kex = k.kex_pub().map(|x| x.to_hex()).unwrap_or_default();
            let body =
                serde_json::to_vec(&serde_json::json!({ "invite": tokens[i], "kex_pub": kex }))
                    .unwrap_or_default();
            let client = b.client(i, k);
            let headers = client.sign_headers(&subject, &body);
            (client, headers, Bytes::from(body))
        })
        .collect();
    Prepared(Arc::new(prepared))
}

/// Sends prepared registers, one at a time (`None`: latency samples) or `in_flight` at a
/// time; returns (samples, elapsed, failures).
async fn send_registers(
    p: &Prepared,
    in_flight: Option<usize>,
) -> (Vec<Duration>, Duration, usize) {
    let subject = crate::handlers::Endpoint::Register.subject("roster");
    let one = |i: usize| {
        let (prepared, subject) = (p.0.clone(), subject.clone());
        async move {
            let (client, headers, body) = &prepared[i];
            // Every failure carries `Nats-Service-Error-Code` (PROTOCOL.md), so a reply
            // without it is a success; cheaper than parsing each body on the client.
            matches!(client.send_raw(&subject, headers.clone(), body.clone()).await,
                Ok(r) if r.headers.as_ref().is_none_or(|h| h.get(async_nats::service::NATS_SERVICE_ERROR_CODE).is_none()))
        }
    };
    let n = p.0.len();
    match in_flight {
        None => {
            let start = Instant::now();
            let (samples, failures) = sequential(0..n, one).await;
            (samples, start.elapsed(), failures)
        }
        Some(k) => {
            let (elapsed, failures) = concurrent(0..n, k, one).await;
            (Vec::new(), elapsed, failures)
        }
    }
}

async fn register_all(
    b: &Bench,
    tokens: &[String],
    keys: Vec<KeyPairs>,
    in_flight: Option<usize>,
) -> (Vec<Duration>, Duration, usize) {
    send_registers(&prepare_registers(b, tokens, keys), in_flight).await
}

async fn run_mode(args: &BenchArgs, sync_always: bool) -> anyhow::Result<(ModeResult, Bench)> {
    let sync = if sync_always { "always" } else { "default" };
    progress(&format!(
        "sync {sync}: starting nats-server and a roster worker process"
    ));
    let b = Bench::start(sync_always).await?;
    let total = args.sequential + args.registrations;
    progress(&format!(
        "sync {sync}: preparing {total} invites and the floor's {total} records"
    ));
    let floor = Floor::start(&b.server.url(), total).await?;
    let tokens = b
        .invites(&format!("r{}", u8::from(sync_always)), total)
        .await?;
    let keys: Vec<KeyPairs> = (0..total).map(|_| KeyPairs::generate()).collect();
    let (seq_keys, conc_keys) = {
        let mut k = keys;
        let rest = k.split_off(args.sequential);
        (k, rest)
    };

    // Floor and roster run in alternating blocks, so drift over the run (store growth,
    // a noisy neighbour) lands on both sides alike.
    const ROUNDS: usize = 4;
    let mut seq_keys = seq_keys.into_iter();
    let mut conc_keys = conc_keys.into_iter();
    let (mut floor_samples, mut register_samples) = (Vec::new(), Vec::new());
    let (mut floor_elapsed, mut reg_elapsed) = (Duration::ZERO, Duration::ZERO);
    let (mut ff1, mut ff2, mut rf1, mut rf2) = (0, 0, 0, 0);
    progress(&format!(
        "sync {sync}: floor and register, {} sequential then {} with {} in flight, in {ROUNDS} alternating rounds",
        args.sequential, args.registrations, args.in_flight
    ));
    let server_pid = b.server.pid().unwrap_or(0);
    let me = std::process::id();
    let roster_pids = [server_pid, b.worker.child.id(), me];
    let floor_pids = [server_pid, floor.child.id(), me];
    let (mut roster_cpu, mut floor_cpu) = (CpuMeter::default(), CpuMeter::default());
    #[derive(Clone, Copy)]
    enum Step {
        FloorSeq,
        RosterSeq,
        FloorConc,
        RosterConc,
    }
    for r in 0..ROUNDS {
        let part = |n: usize| (n * r / ROUNDS)..(n * (r + 1) / ROUNDS);
        let seq = part(args.sequential);
        let conc = part(args.registrations);
        let range = (args.sequential + conc.start)..(args.sequential + conc.end);
        // Who goes first alternates, so the server's trailing work after a block (its
        // write-behind) lands on each side equally often.
        let steps = if r % 2 == 0 {
            [
                Step::FloorSeq,
                Step::RosterSeq,
                Step::FloorConc,
                Step::RosterConc,
            ]
        } else {
            [
                Step::RosterSeq,
                Step::FloorSeq,
                Step::RosterConc,
                Step::FloorConc,
            ]
        };
        for step in steps {
            match step {
                Step::FloorSeq => {
                    let (s1, f1) = sequential(seq.clone(), |i| floor.call(i)).await;
                    floor_samples.extend(s1);
                    ff1 += f1;
                }
                Step::RosterSeq => {
                    let keys: Vec<KeyPairs> = seq_keys.by_ref().take(seq.len()).collect();
                    let (s2, _, f2) = register_all(&b, &tokens[seq.clone()], keys, None).await;
                    register_samples.extend(s2);
                    rf1 += f2;
                }
                Step::FloorConc => {
                    let before = CpuMeter::snap(floor_pids);
                    let (e1, f3) =
                        concurrent(range.clone(), args.in_flight, |i| floor.call(i)).await;
                    floor_cpu.add(before, floor_pids, range.len());
                    floor_elapsed += e1;
                    ff2 += f3;
                }
                Step::RosterConc => {
                    let keys: Vec<KeyPairs> = conc_keys.by_ref().take(range.len()).collect();
                    let prepared = prepare_registers(&b, &tokens[range.clone()], keys);
                    let before = CpuMeter::snap(roster_pids);
                    let (_, e2, f4) = send_registers(&prepared, Some(args.in_flight)).await;
                    roster_cpu.add(before, roster_pids, range.len());
                    reg_elapsed += e2;
                    rf2 += f4;
                }
            }
        }
    }
    anyhow::ensure!(ff1 + ff2 == 0, "the floor failed {} requests", ff1 + ff2);
    let result = ModeResult {
        sync,
        register_per_s: args.registrations as f64 / reg_elapsed.as_secs_f64(),
        register_floor_per_s: args.registrations as f64 / floor_elapsed.as_secs_f64(),
        register: percentiles(&register_samples),
        register_floor: percentiles(&floor_samples),
        register_errors: rf1 + rf2,
        register_cpu: roster_cpu.per_op(),
        floor_cpu: floor_cpu.per_op(),
        register_samples,
        floor_samples,
    };
    Ok((result, b))
}

/// Argon2id verifications per second on all cores, default parameters.
fn argon2_ceiling(secs: u64) -> f64 {
    let params = Argon2Params::default();
    let secret = Secret::mint(SecretKind::Enrollment);
    let Ok(phc) = crypto::argon2_hash_with(&mut crypto::Argon2Scratch::default(), &secret, params)
    else {
        return 0.0;
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (phc, text) = (phc.clone(), secret.expose().to_owned());
            std::thread::spawn(move || {
                let mut n = 0u64;
                let mut scratch = crypto::Argon2Scratch::default();
                while Instant::now() < deadline {
                    crypto::argon2_verify_with(&mut scratch, text.as_bytes(), &phc);
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    total as f64 / start.elapsed().as_secs_f64()
}

/// Runs the whole benchmark and returns the JSON report.
pub async fn run(args: &BenchArgs) -> anyhow::Result<serde_json::Value> {
    let (default_mode, b) = run_mode(args, false).await?;

    progress("admin read (user.get), sequential");
    let owner_handle = Handle::parse("bench-owner").map_err(|e| anyhow::anyhow!("{e}"))?;
    let (get_samples, get_failures) = sequential(0..args.sequential, |_| {
        let (o, h) = (b.owner.clone(), owner_handle.clone());
        async move { o.user_get(&h).await.is_ok() }
    })
    .await;
    let admin_get = percentiles(&get_samples);

    progress(&format!(
        "Argon2 ceiling: verifying on all cores for {} s",
        args.argon2_secs
    ));
    let ceiling = tokio::task::spawn_blocking({
        let s = args.argon2_secs;
        move || argon2_ceiling(s)
    })
    .await?;

    progress(&format!(
        "enrollment storm: {} agents, one site key, {} in flight",
        args.agents, args.in_flight
    ));
    let site = b
        .owner
        .site_create(&SiteCreateRequest {
            site: SiteCode::parse("BENCH").map_err(|e| anyhow::anyhow!("{e}"))?,
            tenant: None,
            display_name: None,
            company: None,
            policy: Some(Policy::Auto),
        })
        .await?;
    let key = site.enrollment_key.clone();
    let agents: Arc<Vec<RosterClient>> = Arc::new(
        (0..args.agents)
            .map(|i| b.client(i, KeyPairs::generate()))
            .collect(),
    );
    let (storm_elapsed, storm_failures) = concurrent(0..args.agents, args.in_flight, |i| {
        let (agents, key) = (agents.clone(), key.clone());
        async move {
            let a = EnrollArgs {
                site: "BENCH".into(),
                enrollment_key: key,
                machine_uid: format!("node-{i}"),
                ..Default::default()
            };
            agents[i].enroll(&a).await.is_ok()
        }
    })
    .await;
    let storm_per_s = args.agents as f64 / storm_elapsed.as_secs_f64();

    // Unloaded and flooded blocks alternate (four rounds each), so machine noise lands
    // on both; each side gets `--flood-samples` samples in all.
    const FLOOD_ROUNDS: usize = 4;
    let n_flood = args.flood_samples.max(FLOOD_ROUNDS);
    progress(&format!(
        "wrong-key flood: {n_flood} sequential registers unloaded and {n_flood} under {} wrong keys/s, alternating",
        args.flood_rate
    ));
    let tokens = b.invites("flood", 2 * n_flood).await?;
    let flooding = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pending = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let flood = {
        let (flooding, done, pending) = (flooding.clone(), done.clone(), pending.clone());
        let conn = b.conns[3].clone();
        let rate = args.flood_rate.max(1);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
            // A late tick is skipped, not made up in a burst: the rate stays the rate.
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut sent = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                tick.tick().await;
                if !flooding.load(std::sync::atomic::Ordering::Relaxed) {
                    continue;
                }
                let c = RosterClient::new(conn.clone(), "roster", KeyPairs::generate())
                    .with_timeout(Duration::from_secs(5));
                pending.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let pending = pending.clone();
                tokio::spawn(async move {
                    let wrong = Secret::mint(SecretKind::Enrollment);
                    let a = EnrollArgs {
                        site: "BENCH".into(),
                        enrollment_key: wrong.expose().to_owned(),
                        machine_uid: "intruder".into(),
                        ..Default::default()
                    };
                    let _ = c.enroll(&a).await;
                    pending.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                });
                sent += 1;
            }
            sent
        })
    };
    let (mut unloaded, mut flooded) = (Vec::new(), Vec::new());
    let (mut flood_elapsed, mut flood_failures) = (Duration::ZERO, 0);
    let half = n_flood / FLOOD_ROUNDS;
    for r in 0..FLOOD_ROUNDS {
        let base = r * 2 * half;
        let keys: Vec<KeyPairs> = (0..half).map(|_| KeyPairs::generate()).collect();
        let (s, _, _) = register_all(&b, &tokens[base..base + half], keys, None).await;
        unloaded.extend(s);
        flooding.store(true, std::sync::atomic::Ordering::Relaxed);
        let on = Instant::now();
        // Let the flood reach its rate before the first measured request.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let keys: Vec<KeyPairs> = (0..half).map(|_| KeyPairs::generate()).collect();
        let (s, _, f) = register_all(&b, &tokens[base + half..base + 2 * half], keys, None).await;
        flooding.store(false, std::sync::atomic::Ordering::Relaxed);
        progress(&format!(
            "  round {}: p99 unloaded {} µs, flooded {} µs",
            r + 1,
            percentiles(&unloaded[unloaded.len() - half..]).p99_us,
            percentiles(&s).p99_us
        ));
        flood_elapsed += on.elapsed();
        flooded.extend(s);
        flood_failures += f;
        // The next unloaded block starts once the flood's last requests are answered,
        // so none of its work lands on the unloaded side.
        let settle = Instant::now();
        while pending.load(std::sync::atomic::Ordering::SeqCst) > 0
            && settle.elapsed() < Duration::from_secs(10)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let flood_sent = flood.await.unwrap_or(0);
    let flood_span = flood_elapsed;
    let unloaded_p = percentiles(&unloaded);
    let flooded_p = percentiles(&flooded);
    let rss = b.worker.peak_rss_mib();

    let always = if args.skip_sync_always {
        None
    } else {
        b.worker.stop();
        drop(b.server);
        let (r, b2) = run_mode(args, true).await?;
        b2.worker.stop();
        Some(r)
    };

    if let Some(path) = &args.chart {
        std::fs::write(path, chart(&default_mode, always.as_ref()))?;
        progress(&format!("wrote {}", path.display()));
    }

    let d = &default_mode;
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let mut report = serde_json::json!({
        "machine": { "cores": std::thread::available_parallelism().map_or(0, |n| n.get()), "nats_server": "2.15.1" },
        "register_per_s": d.register_per_s,
        "register_floor_per_s": d.register_floor_per_s,
        "register_p50_us": d.register.p50_us,
        "register_floor_p50_us": d.register_floor.p50_us,
        "register_p99_us": d.register.p99_us,
        "register_floor_p99_us": d.register_floor.p99_us,
        "register_errors": d.register_errors,
        "admin_get_p50_us": admin_get.p50_us,
        "admin_get_p99_us": admin_get.p99_us,
        "admin_get_errors": get_failures,
        "enroll_storm_per_s": storm_per_s,
        "enroll_storm_agents": args.agents,
        "enroll_storm_errors": storm_failures,
        "argon2_ceiling_per_s": ceiling,
        "flood_register_p99_us": flooded_p.p99_us,
        "unloaded_register_p99_us": unloaded_p.p99_us,
        "flood_wrong_keys_sent": flood_sent,
        "flood_wrong_keys_per_s": flood_sent as f64 / flood_span.as_secs_f64().max(0.001),
        "flood_measured_secs": flood_elapsed.as_secs_f64(),
        "flood_register_errors": flood_failures,
        "worker_rss_mib": rss,
        "register_cpu_us": d.register_cpu,
        "register_floor_cpu_us": d.floor_cpu,
        "ratios": {
            "register_throughput_vs_floor": ratio(d.register_per_s, d.register_floor_per_s),
            "register_p50_vs_floor": ratio(d.register.p50_us as f64, d.register_floor.p50_us as f64),
            "enroll_storm_vs_argon2_ceiling": ratio(storm_per_s, ceiling),
            "flood_p99_vs_unloaded": ratio(flooded_p.p99_us as f64, unloaded_p.p99_us as f64),
        },
    });
    let r = &report["ratios"];
    let met = serde_json::json!({
        "register_throughput_ge_0_7": r["register_throughput_vs_floor"].as_f64().unwrap_or(0.0) >= 0.7,
        "register_p50_le_1_3": r["register_p50_vs_floor"].as_f64().unwrap_or(f64::MAX) <= 1.3,
        "enroll_storm_ge_15": r["enroll_storm_vs_argon2_ceiling"].as_f64().unwrap_or(0.0) >= 15.0,
        "flood_p99_le_2": r["flood_p99_vs_unloaded"].as_f64().unwrap_or(f64::MAX) <= 2.0,
        "worker_rss_le_64_mib": rss <= 64.0,
    });
    report["targets_met"] = met;
    if let Some(a) = &always {
        report["sync_always"] = serde_json::json!({
            "register_per_s": a.register_per_s,
            "register_floor_per_s": a.register_floor_per_s,
            "register_p50_us": a.register.p50_us,
            "register_floor_p50_us": a.register_floor.p50_us,
            "register_p99_us": a.register.p99_us,
            "register_floor_p99_us": a.register_floor.p99_us,
            "register_errors": a.register_errors,
            "register_throughput_vs_floor": ratio(a.register_per_s, a.register_floor_per_s),
            "register_p50_vs_floor": ratio(a.register.p50_us as f64, a.register_floor.p50_us as f64),
        });
    }
    Ok(report)
}

pub async fn floor_responder(url: &str, total: usize) -> anyhow::Result<()> {
    let nats = async_nats::connect(url).await?;
    let js = jetstream::new(nats.clone());
    let bucket = |name: &str| kv::Config {
        bucket: format!("floor_{name}"),
        history: 1,
        storage: jetstream::stream::StorageType::File,
        max_value_size: 16 * 1024,
        ..Default::default()
    };
    let nonces = js
        .create_key_value(kv::Config {
            max_age: Duration::from_secs(150),
            ..bucket("nonces")
        })
        .await?;
    let invites = js.create_key_value(bucket("invites")).await?;
    let keys = js.create_key_value(bucket("keys")).await?;
    let users = js.create_key_value(bucket("users")).await?;
    js.create_stream(jetstream::stream::Config {
        name: "FLOOR_AUDIT".into(),
        subjects: vec!["bench.audit.>".into()],
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await?;
    // Keys and values shaped like roster's: 32-hex invite ids, 64-hex signing keys,
    // `<key>.<nonce>` nonce keys, and records of roster's sizes.
    let invite_rec = Bytes::from(vec![b'i'; INVITE_BYTES]);
    futures::stream::iter(0..total)
        .map(|i| {
            let (invites, rec) = (invites.clone(), invite_rec.clone());
            async move { invites.create(format!("{i:032x}"), rec).await }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let mut sub = nats.subscribe(FLOOR_SUBJECT).await?;
    let responder = tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            let (nats, js, nonces, invites, keys, users) = (
                nats.clone(),
                js.clone(),
                nonces.clone(),
                invites.clone(),
                keys.clone(),
                users.clone(),
            );
            tokio::spawn(async move {
                let i: usize = msg
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("Bench-I"))
                    .and_then(|v| v.as_str().parse().ok())
                    .unwrap_or(0);
                let work = async {
                    let sign_key = format!("{i:064x}");
                    nonces
                        .create(
                            format!("{sign_key}.{i:032x}"),
                            Bytes::from_static(b"{\"v\":1,\"ts\":1763900000000}"),
                        )
                        .await
                        .ok()?;
                    let entry = invites.entry(format!("{i:032x}")).await.ok()??;
                    invites
                        .update(
                            format!("{i:032x}"),
                            Bytes::from(vec![b'u'; INVITE_BYTES + 200]),
                            entry.revision,
                        )
                        .await
                        .ok()?;
                    keys.create(sign_key, Bytes::from(vec![b'k'; KEY_INDEX_BYTES]))
                        .await
                        .ok()?;
                    users
                        .create(format!("floor-{i}"), Bytes::from(vec![b'u'; USER_BYTES]))
                        .await
                        .ok()?;
                    let publish = jetstream::message::PublishMessage::build()
                        .payload(Bytes::from(vec![b'a'; AUDIT_BYTES]))
                        .message_id(format!("{i:032x}"));
                    js.send_publish("bench.audit.user.registered", publish)
                        .await
                        .ok()?
                        .await
                        .ok()?;
                    Some(())
                };
                let body = if work.await.is_some() {
                    Bytes::from(vec![b'r'; REPLY_BYTES])
                } else {
                    Bytes::from_static(b"error")
                };
                if let Some(reply) = msg.reply {
                    let _ = nats.publish(reply, body).await;
                }
            });
        }
    });
    println!("ready");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let _ = responder.await;
    Ok(())
}

/// A table for people.
pub fn table(r: &serde_json::Value) -> String {
    let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
    let ratio = |k: &str| r["ratios"][k].as_f64().unwrap_or(0.0);
    let ok = |k: &str| {
        if r["targets_met"][k].as_bool().unwrap_or(false) {
            "yes"
        } else {
            "NO"
        }
    };
    let mut out = String::new();
    out.push_str(
        "measure                         roster        raw floor     ratio   target   met\n",
    );
    out.push_str(&format!(
        "register/s, {} in flight        {:>10.0}    {:>10.0}    {:>5.2}   >= 0.70  {}\n",
        64,
        f("register_per_s"),
        f("register_floor_per_s"),
        ratio("register_throughput_vs_floor"),
        ok("register_throughput_ge_0_7")
    ));
    out.push_str(&format!(
        "register p50 (us)               {:>10.0}    {:>10.0}    {:>5.2}   <= 1.30  {}\n",
        f("register_p50_us"),
        f("register_floor_p50_us"),
        ratio("register_p50_vs_floor"),
        ok("register_p50_le_1_3")
    ));
    out.push_str(&format!(
        "register p99 (us)               {:>10.0}    {:>10.0}\n",
        f("register_p99_us"),
        f("register_floor_p99_us")
    ));
    out.push_str(&format!(
        "user.get p50 / p99 (us)         {:>10.0} / {:.0}\n",
        f("admin_get_p50_us"),
        f("admin_get_p99_us")
    ));
    out.push_str(&format!(
        "enroll storm/s vs Argon2/s      {:>10.0}    {:>10.1}    {:>5.1}   >= 15    {}\n",
        f("enroll_storm_per_s"),
        f("argon2_ceiling_per_s"),
        ratio("enroll_storm_vs_argon2_ceiling"),
        ok("enroll_storm_ge_15")
    ));
    out.push_str(&format!(
        "register p99 flood/unloaded us  {:>10.0}    {:>10.0}    {:>5.2}   <= 2.00  {}\n",
        f("flood_register_p99_us"),
        f("unloaded_register_p99_us"),
        ratio("flood_p99_vs_unloaded"),
        ok("flood_p99_le_2")
    ));
    out.push_str(&format!(
        "worker peak RSS (MiB)           {:>10.1}                          <= 64    {}\n",
        f("worker_rss_mib"),
        ok("worker_rss_le_64_mib")
    ));
    let cpu = |k: &str| {
        let c = &r[k];
        let g = |f: &str| c[f].as_f64().unwrap_or(0.0);
        format!(
            "{:.0} / {:.0} / {:.0}",
            g("server_us"),
            g("responder_us"),
            g("client_us")
        )
    };
    out.push_str(&format!(
        "CPU us/op server/worker/client  {:>14}  {:>14}\n",
        cpu("register_cpu_us"),
        cpu("register_floor_cpu_us")
    ));
    if let Some(a) = r.get("sync_always") {
        let g = |k: &str| a[k].as_f64().unwrap_or(0.0);
        out.push_str(&format!(
            "sync always: register/s        {:>10.0}    {:>10.0}    {:>5.2}\n",
            g("register_per_s"),
            g("register_floor_per_s"),
            g("register_throughput_vs_floor")
        ));
        out.push_str(&format!(
            "sync always: register p50 (us) {:>10.0}    {:>10.0}    {:>5.2}\n",
            g("register_p50_us"),
            g("register_floor_p50_us"),
            g("register_p50_vs_floor")
        ));
    }
    out
}

/// An SVG chart: the cumulative distribution of sequential register latency, roster
/// against the raw floor, for each sync mode measured.
pub fn chart(d: &ModeResult, always: Option<&ModeResult>) -> String {
    let mut series: Vec<(&str, &str, &[Duration])> = vec![
        (
            "roster register (sync default)",
            "#d62728",
            &d.register_samples,
        ),
        ("raw floor (sync default)", "#1f77b4", &d.floor_samples),
    ];
    if let Some(a) = always {
        series.push((
            "roster register (sync always)",
            "#ff9896",
            &a.register_samples,
        ));
        series.push(("raw floor (sync always)", "#aec7e8", &a.floor_samples));
    }
    let max_us = series
        .iter()
        .flat_map(|(_, _, s)| s.iter())
        .map(|d| d.as_micros() as f64)
        .fold(1.0, f64::max);
    let p99_cap = series
        .iter()
        .map(|(_, _, s)| percentiles(s).p99_us as f64)
        .fold(1.0, f64::max)
        .min(max_us)
        * 1.2;
    let (w, h, left, bottom, top, right) = (760.0, 420.0, 70.0, 50.0, 30.0, 20.0);
    let x = |us: f64| left + (us.min(p99_cap) / p99_cap) * (w - left - right);
    let y = |q: f64| top + (1.0 - q) * (h - top - bottom);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="18" text-anchor="middle" font-size="14">Sequential register latency, cumulative distribution (same run)</text>
<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="black"/>
<line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="black"/>
"#,
        w / 2.0,
        h - bottom,
        w - right,
        h - bottom,
        h - bottom
    );
    for i in 0..=5 {
        let us = p99_cap * f64::from(i) / 5.0;
        svg.push_str(&format!(
            r##"<text x="{:.1}" y="{}" text-anchor="middle">{:.0}</text><line x1="{:.1}" y1="{top}" x2="{:.1}" y2="{}" stroke="#eee"/>
"##,
            x(us), h - bottom + 16.0, us, x(us), x(us), h - bottom
        ));
        let q = f64::from(i) / 5.0;
        svg.push_str(&format!(
            r#"<text x="{}" y="{:.1}" text-anchor="end">{:.0}%</text>
"#,
            left - 6.0,
            y(q) + 4.0,
            q * 100.0
        ));
    }
    svg.push_str(&format!(
        r#"<text x="{}" y="{}" text-anchor="middle">latency (µs)</text>
"#,
        (left + w - right) / 2.0,
        h - 12.0
    ));
    for (n, (label, color, samples)) in series.iter().enumerate() {
        let mut v: Vec<f64> = samples.iter().map(|d| d.as_micros() as f64).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        let pts: Vec<String> = v
            .iter()
            .enumerate()
            .map(|(i, us)| format!("{:.1},{:.1}", x(*us), y((i + 1) as f64 / v.len() as f64)))
            .collect();
        svg.push_str(&format!(
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>
"#,
            pts.join(" ")
        ));
        let ly = top + 16.0 + 16.0 * n as f64;
        svg.push_str(&format!(
            r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{label}</text>
"#,
            w - 260.0, w - 235.0, w - 228.0, ly + 4.0
        ));
    }
    svg.push_str("</svg>\n");
    svg
}
