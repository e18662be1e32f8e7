//! The reconnect storm (issue 13, fleet scale): `--storm-clients` clients (nine in ten
//! registered users connecting with their signing key as nkey, one in ten enrolled
//! machines with their `cak_` credential as token) are connected through the auth
//! callout of a private nats-server (`nats-config/dev.conf`), then the server is killed
//! and started again on the same port and store, so every client reconnects at once.
//! Measured: the time until every client is admitted again, admissions per second, the
//! callout's per-answer p50/p99 from the worker's own histogram
//! (`roster_callout_duration_seconds`, scraped from its `/metrics`), and the worker's
//! peak RSS.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::StreamExt;
use roster::client::{EnrollArgs, RosterClient};
use roster::config::{NatsArgs, WorkerArgs, WorkerConfig};
use roster::crypto::KeyPairs;
use roster::domain::{Handle, Policy, SiteCode};
use roster::harness::{sibling_binary, WorkerOptions, WorkerProcess};
use roster::natsd::{CalloutSetup, NatsServer, ServerOptions};
use roster::wire::admin::SiteCreateRequest;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::measure::{peak_rss_mib, percentiles};
use crate::progress;

/// Sockets the bench needs besides one per client (its admin connections, the worker's
/// scrapes, the runtime's own descriptors).
const SPARE_FDS: u64 = 128;

/// What the storm measured.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Storm {
    pub(crate) clients: usize,
    pub(crate) users: usize,
    pub(crate) machines: usize,
    /// Users registered per second during setup (64 in flight, the normal endpoint).
    pub(crate) setup_register_per_s: f64,
    /// First connections per second, 64 connecting at a time, before the restart.
    pub(crate) initial_connect_per_s: f64,
    /// From the kill until the restarted server serves JetStream.
    pub(crate) server_restart_ms: u64,
    /// From the kill until the first client is admitted again.
    pub(crate) first_admitted_ms: u64,
    /// From the kill until the last client is admitted again.
    pub(crate) all_admitted_ms: u64,
    /// From the restarted server serving until the last client is admitted.
    pub(crate) all_admitted_after_ready_ms: u64,
    /// Clients admitted per second between the first and the last readmission.
    pub(crate) admissions_per_s: f64,
    /// Each client's readmission, from the restarted server serving (ms).
    pub(crate) readmitted_after_ready_ms: Millis,
    /// Callout answers during the storm (retries and refusals included).
    pub(crate) callout_answers: u64,
    /// Per-answer time in the worker, from taking the request to publishing the answer
    /// (interpolated within the histogram's √2-wide buckets), admissions only.
    pub(crate) callout_p50_us: u64,
    pub(crate) callout_p99_us: u64,
    /// Refusals during the storm, by reason (none expected).
    pub(crate) callout_denied: BTreeMap<String, u64>,
    /// Clients connected at the end (must be all of them).
    pub(crate) connected_at_end: usize,
    pub(crate) worker_rss_mib: f64,
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Millis {
    pub(crate) p50: u64,
    pub(crate) p90: u64,
    pub(crate) p99: u64,
}

/// One client's connection events: (client index, connected?, when).
type Events = mpsc::UnboundedSender<(usize, bool, Instant)>;

/// Runs the storm with `clients` clients.
pub(crate) async fn run(clients: usize) -> anyhow::Result<Storm> {
    check_fd_limit(clients)?;
    let machines = clients / 10;
    let users = clients - machines;
    progress(&format!(
        "reconnect storm: nats-server with the auth callout, a roster worker process, {users} users and {machines} machines"
    ));
    let mut server = NatsServer::start(ServerOptions {
        callout: Some(CalloutSetup::generate()?),
        ..Default::default()
    })
    .await?;
    let metrics_addr: SocketAddr = ([127, 0, 0, 1], roster::natsd::free_port()?).into();
    let worker = start_worker(&server, metrics_addr).await?;

    // Setup over the worker's own user (it bypasses the callout), four connections.
    let admin_args = server.worker_args();
    let mut conns = Vec::new();
    for i in 0..4 {
        conns.push(admin_args.connect(&format!("storm-admin-{i}")).await?);
    }
    let cfg = WorkerConfig::from_args(&admin_args, &WorkerArgs::default())?;
    let (store, audit) = roster::worker::open_state(&conns[0], &cfg).await?;
    let owner_handle = Handle::parse("storm-owner").map_err(|e| anyhow::anyhow!("{e}"))?;
    let invite =
        roster::bootstrap::bootstrap(&store, &audit, &owner_handle, Duration::from_secs(3600))
            .await?;
    let owner = RosterClient::new(conns[0].clone(), "roster", KeyPairs::generate());
    owner.register(&invite.token).await?;
    let client = |i: usize, keys: KeyPairs| {
        RosterClient::new(conns[i % conns.len()].clone(), "roster", keys)
            .with_timeout(Duration::from_secs(30))
    };

    progress(&format!("reconnect storm: registering {users} users"));
    let tokens = crate::setup::mint_invites(&store, "storm", users).await?;
    let started = Instant::now();
    // Each user's nkey seed and public key, as its client connects with them.
    let registered: Vec<anyhow::Result<(zeroize::Zeroizing<String>, String)>> =
        futures::stream::iter(tokens)
            .enumerate()
            .map(|(i, token)| {
                let c = client(i, KeyPairs::generate());
                async move {
                    c.register(&token).await?;
                    Ok((c.keys().user_nkey_seed()?, c.keys().user_nkey_public()))
                }
            })
            .buffer_unordered(64)
            .collect()
            .await;
    let setup_register_per_s = users as f64 / started.elapsed().as_secs_f64();
    let user_keys: Vec<(zeroize::Zeroizing<String>, String)> =
        registered.into_iter().collect::<anyhow::Result<_>>()?;

    progress(&format!("reconnect storm: enrolling {machines} machines"));
    let site = owner
        .site_create(&SiteCreateRequest {
            site: SiteCode::parse("STORM").map_err(|e| anyhow::anyhow!("{e}"))?,
            tenant: None,
            display_name: None,
            company: None,
            policy: Some(Policy::Auto),
        })
        .await?;
    let key = site.enrollment_key.clone();
    let enrolled: Vec<anyhow::Result<(String, String)>> = futures::stream::iter(0..machines)
        .map(|i| {
            let (c, key) = (client(i, KeyPairs::generate()), key.clone());
            async move {
                let r = c
                    .enroll(&EnrollArgs {
                        site: "STORM".into(),
                        enrollment_key: key,
                        machine_uid: format!("storm-node-{i}"),
                        ..Default::default()
                    })
                    .await?;
                anyhow::ensure!(r.state == "active", "machine {i} is {}", r.state);
                let cak = c.open_credential(&r)?;
                Ok((r.machine_id.to_string(), cak.to_string()))
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let machine_creds: Vec<(String, String)> =
        enrolled.into_iter().collect::<anyhow::Result<_>>()?;

    progress(&format!(
        "reconnect storm: connecting {clients} clients through the callout"
    ));
    let url = server.url();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut shapes: Vec<async_nats::ConnectOptions> = Vec::with_capacity(clients);
    for (seed, public) in &user_keys {
        shapes.push(
            async_nats::ConnectOptions::new()
                .nkey(seed.to_string())
                .custom_inbox_prefix(roster::callout::inbox_for_nkey(public)),
        );
    }
    for (id, cak) in &machine_creds {
        shapes.push(
            async_nats::ConnectOptions::with_token(cak.clone())
                .custom_inbox_prefix(format!("_INBOX.{id}")),
        );
    }
    let started = Instant::now();
    let connected: Vec<anyhow::Result<async_nats::Client>> = futures::stream::iter(shapes)
        .enumerate()
        .map(|(i, opts)| {
            let (url, tx) = (url.clone(), tx.clone());
            async move { Ok(storm_client(i, opts, tx).connect(url).await?) }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let initial_connect_per_s = clients as f64 / started.elapsed().as_secs_f64();
    let fleet: Vec<async_nats::Client> = connected.into_iter().collect::<anyhow::Result<_>>()?;
    drop(tx);
    // The initial connects' events are not the storm's.
    while rx.try_recv().is_ok() {}
    let before = scrape(metrics_addr).await?;

    progress(
        "reconnect storm: killing nats-server and starting it again on the same port and store",
    );
    let killed = Instant::now();
    server.restart().await?;
    let ready = Instant::now();
    // A readmission is a client's first connect after its disconnect by the kill (an
    // initial connect's event may still come in late).
    let mut lost = vec![false; clients];
    let mut readmitted: Vec<Option<Instant>> = vec![None; clients];
    let mut left = clients;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while left > 0 {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some((i, false, _))) => lost[i] = true,
            Ok(Some((i, true, at))) if lost[i] && readmitted[i].is_none() => {
                readmitted[i] = Some(at);
                left -= 1;
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    anyhow::ensure!(
        left == 0,
        "{left} of {clients} clients were not admitted again within 120 s"
    );
    let times: Vec<Instant> = readmitted.into_iter().flatten().collect();
    let first = times.iter().min().copied().unwrap_or(ready);
    let last = times.iter().max().copied().unwrap_or(ready);
    // Every client is back: a round trip on each proves it.
    let flushed = futures::stream::iter(&fleet)
        .map(|c| async move { c.flush().await.is_ok() })
        .buffer_unordered(256)
        .filter(|ok| futures::future::ready(*ok))
        .count()
        .await;
    // The worker counts an answer once it is published; give the last ones a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = scrape(metrics_addr).await?;
    let answers = after.histogram_since(&before);
    let (callout_p50_us, callout_p99_us) = (answers.quantile_us(0.50), answers.quantile_us(0.99));
    let ms = |d: Duration| d.as_millis() as u64;
    let since_ready: Vec<Duration> = times
        .iter()
        .map(|t| t.saturating_duration_since(ready))
        .collect();
    let p = percentiles(&since_ready);
    let readmitted_after_ready_ms = Millis {
        p50: p.p50_us / 1000,
        p90: p.p90_us / 1000,
        p99: p.p99_us / 1000,
    };
    let storm = Storm {
        clients,
        users,
        machines,
        setup_register_per_s,
        initial_connect_per_s,
        server_restart_ms: ms(ready - killed),
        first_admitted_ms: ms(first - killed),
        all_admitted_ms: ms(last - killed),
        all_admitted_after_ready_ms: ms(last.saturating_duration_since(ready)),
        admissions_per_s: clients as f64 / (last - first).as_secs_f64().max(0.001),
        readmitted_after_ready_ms,
        callout_answers: answers.total + answers.denied.values().sum::<u64>(),
        callout_p50_us,
        callout_p99_us,
        callout_denied: answers.denied,
        connected_at_end: flushed,
        worker_rss_mib: peak_rss_mib(worker.pid()),
    };
    // The clients go first, then the worker while its server still runs.
    drop(fleet);
    drop(worker);
    Ok(storm)
}

/// A storm client: reconnects for ever, at once the first time and then every 50 to
/// 100 ms (spread by client, so retries do not come in lockstep), and reports its
/// connects and disconnects.
fn storm_client(
    i: usize,
    opts: async_nats::ConnectOptions,
    tx: Events,
) -> async_nats::ConnectOptions {
    let spread = Duration::from_millis(50 + (i as u64 * 37) % 50);
    opts.name(format!("storm-{i}"))
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(10))
        .reconnect_delay_callback(move |attempts| {
            if attempts <= 1 {
                Duration::ZERO
            } else {
                spread
            }
        })
        .event_callback(move |e| {
            let tx = tx.clone();
            async move {
                let connected = match e {
                    async_nats::Event::Connected => true,
                    async_nats::Event::Disconnected => false,
                    _ => return,
                };
                let _ = tx.send((i, connected, Instant::now()));
            }
        })
}

/// The worker: `roster serve` answering the callout with the server's keys, evicting
/// through the system account, serving `/metrics` on `metrics`.
async fn start_worker(server: &NatsServer, metrics: SocketAddr) -> anyhow::Result<WorkerProcess> {
    let setup = server
        .callout()
        .ok_or_else(|| anyhow::anyhow!("the storm's server runs the callout"))?;
    let issuer = server.dir().join("issuer.seed");
    let xkey = server.dir().join("xkey.seed");
    roster::identity::write_private(&issuer, setup.issuer_seed.as_bytes())?;
    roster::identity::write_private(&xkey, setup.xkey_seed.as_bytes())?;
    let path = |p: &std::path::Path| p.display().to_string();
    let opts = WorkerOptions {
        args: vec![
            "--callout-issuer-seed-file".into(),
            path(&issuer),
            "--callout-xkey-seed-file".into(),
            path(&xkey),
            "--system-user".into(),
            "sys".into(),
            "--metrics-addr".into(),
            metrics.to_string(),
        ],
        env: vec![
            ("ROSTER_LOG".into(), "warn".into()),
            (
                "ROSTER_SYSTEM_PASSWORD".into(),
                setup.sys_password.to_string(),
            ),
        ],
        log: Some(server.dir().join("worker.log")),
        stop_grace: Duration::from_secs(10),
        ..Default::default()
    };
    let nats: NatsArgs = server.worker_args();
    Ok(WorkerProcess::start(&sibling_binary("roster")?, &nats, opts).await?)
}

/// Refuses to start when the soft limit on open files is below one per client plus
/// [`SPARE_FDS`]: the bench holds every client's socket (nats-server raises its own
/// limit; this process does not, it has no libc binding).
fn check_fd_limit(clients: usize) -> anyhow::Result<()> {
    let need = clients as u64 + SPARE_FDS;
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok());
    match soft {
        Some(soft) if soft < need => anyhow::bail!(
            "the reconnect storm holds {clients} client sockets but this process may open only \
             {soft} files: run `ulimit -n 8192` (or at least {need}) in this shell first"
        ),
        _ => Ok(()),
    }
}

/// The callout histogram's cumulative counts at one scrape, summed over the admitted
/// kinds, and the refusal counters by reason.
struct Scrape {
    /// (upper bound in seconds, cumulative count), `f64::INFINITY` last.
    buckets: Vec<(f64, u64)>,
    denied: BTreeMap<String, u64>,
}

/// What happened between two scrapes.
struct Answers {
    buckets: Vec<(f64, u64)>,
    total: u64,
    denied: BTreeMap<String, u64>,
}

impl Scrape {
    fn histogram_since(&self, before: &Scrape) -> Answers {
        let was = |le: f64| {
            before
                .buckets
                .iter()
                .find(|(b, _)| *b == le)
                .map_or(0, |(_, n)| *n)
        };
        let buckets: Vec<(f64, u64)> = self
            .buckets
            .iter()
            .map(|(le, n)| (*le, n.saturating_sub(was(*le))))
            .collect();
        let total = buckets.last().map_or(0, |(_, n)| *n);
        let denied = self
            .denied
            .iter()
            .map(|(r, n)| {
                (
                    r.clone(),
                    n.saturating_sub(*before.denied.get(r).unwrap_or(&0)),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        Answers {
            buckets,
            total,
            denied,
        }
    }
}

impl Answers {
    /// The `q` quantile in microseconds, linear within its bucket (the last finite bound
    /// when it falls in `+Inf`).
    fn quantile_us(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = q * self.total as f64;
        let (mut lo, mut below) = (0.0, 0u64);
        for (le, n) in &self.buckets {
            if *n as f64 >= rank {
                if le.is_infinite() {
                    return (lo * 1e6) as u64;
                }
                let inside = (*n - below).max(1) as f64;
                let at = lo + (le - lo) * ((rank - below as f64) / inside).clamp(0.0, 1.0);
                return (at * 1e6) as u64;
            }
            (lo, below) = (*le, *n);
        }
        (lo * 1e6) as u64
    }
}

/// Reads the worker's `/metrics`.
async fn scrape(addr: SocketAddr) -> anyhow::Result<Scrape> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let req = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: roster-bench\r\n\r\n");
    s.write_all(req.as_bytes()).await?;
    let mut text = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut text)).await??;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .ok_or_else(|| anyhow::anyhow!("no body in the worker's /metrics answer"))?;
    let mut buckets: BTreeMap<u64, (f64, u64)> = BTreeMap::new();
    let mut denied = BTreeMap::new();
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Some((name, labels)) = series.split_once('{') else {
            continue;
        };
        let label = |key: &str| {
            labels
                .trim_end_matches('}')
                .split(',')
                .find_map(|kv| kv.strip_prefix(&format!("{key}=\"")))
                .map(|v| v.trim_end_matches('"').to_owned())
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        match name {
            "roster_callout_duration_seconds_bucket"
                if label("kind").is_some_and(|k| k != "denied") =>
            {
                let le = match label("le").as_deref() {
                    Some("+Inf") => f64::INFINITY,
                    Some(v) => v.parse().unwrap_or(f64::INFINITY),
                    None => continue,
                };
                // Keyed by the bound's bits: the same bound from every kind adds up.
                let e = buckets.entry(le.to_bits()).or_insert((le, 0));
                e.1 += value as u64;
            }
            "roster_callout_denials_total" => {
                if let Some(r) = label("reason") {
                    denied.insert(r, value as u64);
                }
            }
            _ => {}
        }
    }
    let mut buckets: Vec<(f64, u64)> = buckets.into_values().collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(Scrape { buckets, denied })
}
