//! `--scale 1000,10000,100000`: roster's reads as the store grows.
//!
//! One bus is filled through the real API, in steps up to each size: machines enroll
//! (`--in-flight` at a time) into sites of about 1,000 machines each (a site per
//! installer, their enrollments interleaved as a fleet's are), one registered user per
//! 10 machines, and their audit events. At each size it measures, one request after
//! another: `machine.list` of a site with its first 100, `machine.list` of an empty site,
//! `machine.get`, `user.list` (100), `user.list` and `audit.query` (100) of a tenant of
//! three users, `audit.query` with an action filter (100); then the
//! enrollment throughput of the next 6,000 enrollments (with each process's CPU per
//! enrollment) and the worker's RSS. Before measuring it waits for the bus to go quiet:
//! the fill's after-work (the healer reading its changes, the server's write-behind) is
//! setup, not what a size costs. The reads should cost the same at every size (they page
//! the server's subject index), and the report says each p50's ratio to the smallest
//! size's.

use std::sync::Arc;
use std::time::Duration;

use roster::client::{EnrollArgs, RosterClient};
use roster::crypto::KeyPairs;
use roster::domain::{MachineId, Policy, SiteCode};
use roster::wire::admin::SiteCreateRequest;
use roster::wire::{Command, Endpoint};
use serde_json::{json, Value};

use crate::args::BenchArgs;
use crate::measure::{
    concurrent, percentiles, rss_mib, sequential, CpuMeter, CpuPerOp, Percentiles,
};
use crate::progress;
use crate::setup::Bench;

/// Machines per site.
const SITE_SIZE: usize = 1000;
/// Machines per registered user.
const MACHINES_PER_USER: usize = 10;
/// Enrollments timed for the throughput at a size.
const THROUGHPUT_BATCH: usize = 6000;

/// What one size measured.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct SizeResult {
    pub(crate) machines: usize,
    pub(crate) users: usize,
    pub(crate) sites: usize,
    pub(crate) audit_events: u64,
    pub(crate) site_list_100: Percentiles,
    pub(crate) empty_site_list: Percentiles,
    pub(crate) machine_get: Percentiles,
    pub(crate) user_list_100: Percentiles,
    /// `user.list` of a tenant holding a few of the users (its index subjects).
    pub(crate) tenant_user_list: Percentiles,
    pub(crate) audit_action_100: Percentiles,
    /// `audit.query` of that tenant (its tenant index), 100.
    pub(crate) tenant_audit_100: Percentiles,
    pub(crate) enroll_per_s: f64,
    /// CPU per enrollment of the timed batch, by process.
    pub(crate) enroll_cpu: CpuPerOp,
    /// How long the bus took to go quiet after the fill (the healer digesting the fill's
    /// changes, the server's write-behind) before the timed batch began.
    pub(crate) quiet_wait_ms: u64,
    pub(crate) worker_rss_mib: f64,
    pub(crate) failures: usize,
}

/// The fill state between sizes.
struct Fill {
    enrolled: Vec<MachineId>,
    users: usize,
    sites: Vec<String>,
    keys: Vec<String>,
}

/// Runs the scale phase over `sizes` (ascending) and returns one result per size.
pub(crate) async fn run(args: &BenchArgs, sizes: &[usize]) -> anyhow::Result<Vec<SizeResult>> {
    let b = Bench::start(false).await?;
    let mut fill = Fill {
        enrolled: Vec::new(),
        users: 0,
        sites: Vec::new(),
        keys: Vec::new(),
    };
    create_site(&b, &mut fill, "EMPTY").await?;
    small_tenant(&b).await?;
    // The empty site's key is never used.
    fill.sites.clear();
    fill.keys.clear();
    let mut out = Vec::new();
    for &size in sizes {
        grow(&b, args, &mut fill, size).await?;
        progress(&format!("scale: measuring at {size} machines"));
        let quiet_wait_ms = quiet(&b).await;
        let mut r = measure(&b, args, &fill).await?;
        r.quiet_wait_ms = quiet_wait_ms;
        r.enroll_per_s = {
            let before = fill.enrolled.len();
            let pids = [
                b.server.pid().unwrap_or(0),
                b.worker.pid(),
                std::process::id(),
            ];
            let mut cpu = CpuMeter::default();
            let snap = CpuMeter::snap(pids);
            let t = std::time::Instant::now();
            let failures = enroll(&b, args, &mut fill, before + THROUGHPUT_BATCH).await?;
            let per_s = THROUGHPUT_BATCH as f64 / t.elapsed().as_secs_f64();
            cpu.add(snap, pids, THROUGHPUT_BATCH);
            r.enroll_cpu = cpu.per_op();
            r.failures += failures;
            per_s
        };
        r.worker_rss_mib = rss_mib(b.worker.pid());
        progress(&format!(
            "scale {size}: site list p50 {} us, empty site p50 {} us, get p50 {} us, user list p50 {} us, audit p50 {} us, enroll {:.0}/s (CPU us/op: server {:.0}, worker {:.0}, bench {:.0}; quiet after {} ms), RSS {:.1} MiB",
            r.site_list_100.p50_us, r.empty_site_list.p50_us, r.machine_get.p50_us,
            r.user_list_100.p50_us, r.audit_action_100.p50_us, r.enroll_per_s,
            r.enroll_cpu.server_us, r.enroll_cpu.responder_us, r.enroll_cpu.client_us,
            r.quiet_wait_ms, r.worker_rss_mib
        ));
        out.push(r);
    }
    Ok(out)
}

/// Waits until the fill's after-work is done, so that it is setup, not the measurement:
/// first the healer's settle time and two of its periods (it judges a change only once
/// it is that old, so until then the worker looks idle while the fill's last changes
/// wait to ripen: at 100k, the last ~10 s of 84,000 fill enrollments would land in the
/// measurement), then (up to 60 s) until the worker and the server are quiet, each under
/// a tenth of a core over half a second (the server's write-behind). Returns how long
/// that took, in milliseconds.
async fn quiet(b: &Bench) -> u64 {
    let pids = [
        b.server.pid().unwrap_or(0),
        b.worker.pid(),
        std::process::id(),
    ];
    let t = std::time::Instant::now();
    let heal = roster::heal::HealConfig::default();
    tokio::time::sleep(heal.settle + 2 * heal.period).await;
    let window = Duration::from_millis(500);
    while t.elapsed() < Duration::from_secs(60) {
        let mut m = CpuMeter::default();
        let before = CpuMeter::snap(pids);
        tokio::time::sleep(window).await;
        m.add(before, pids, 1);
        let busy = m.per_op();
        let limit = window.as_secs_f64() * 1e6 / 10.0;
        if busy.server_us < limit && busy.responder_us < limit {
            break;
        }
    }
    t.elapsed().as_millis() as u64
}

/// The tenant of a few users among the fill's (whose lists page its index subjects).
const SMALL_TENANT: &str = "small";

/// Creates [`SMALL_TENANT`] and registers three members there.
async fn small_tenant(b: &Bench) -> anyhow::Result<()> {
    let tenant = roster::domain::Tenant::parse(SMALL_TENANT).map_err(|e| anyhow::anyhow!("{e}"))?;
    b.owner
        .call::<Value, Value>(
            Endpoint::Admin(Command::TenantCreate),
            &json!({"tenant": SMALL_TENANT, "name": "A small tenant"}),
        )
        .await?;
    for i in 0..3 {
        let h = roster::domain::Handle::parse(&format!("small-{i}"))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let tok = b
            .owner
            .invite_create_at(&h, roster::domain::Role::Member, Some(&tenant), None, None)
            .await?
            .token;
        b.client(i, KeyPairs::generate()).register(&tok).await?;
    }
    Ok(())
}

async fn create_site(b: &Bench, fill: &mut Fill, code: &str) -> anyhow::Result<()> {
    let site = b
        .owner
        .site_create(&SiteCreateRequest {
            site: SiteCode::parse(code).map_err(|e| anyhow::anyhow!("{e}"))?,
            tenant: None,
            display_name: None,
            company: None,
            policy: Some(Policy::Auto),
        })
        .await?;
    fill.sites.push(code.to_owned());
    fill.keys.push(site.enrollment_key.clone());
    Ok(())
}

/// Enrolls and registers until the bus holds `size` machines (and their users).
async fn grow(b: &Bench, args: &BenchArgs, fill: &mut Fill, size: usize) -> anyhow::Result<()> {
    let sites = size.div_ceil(SITE_SIZE).max(1);
    while fill.sites.len() < sites {
        let code = format!("SITE-{:04}", fill.sites.len());
        create_site(b, fill, &code).await?;
    }
    progress(&format!(
        "scale: filling to {size} machines in {sites} sites ({} now)",
        fill.enrolled.len()
    ));
    let failures = enroll(b, args, fill, size).await?;
    if failures > 0 {
        anyhow::bail!("{failures} enrollments failed while filling");
    }
    let users = size / MACHINES_PER_USER;
    if users > fill.users {
        let tokens = b
            .invites(&format!("u{}", fill.users), users - fill.users)
            .await?;
        let clients: Vec<RosterClient> = (0..tokens.len())
            .map(|i| b.client(i, KeyPairs::generate()))
            .collect();
        let (clients, tokens) = (Arc::new(clients), Arc::new(tokens));
        let (_, failed) = concurrent(0..tokens.len(), args.in_flight, |i| {
            let (c, t) = (clients.clone(), tokens.clone());
            async move { c[i].register(&t[i]).await.is_ok() }
        })
        .await;
        if failed > 0 {
            anyhow::bail!("{failed} registrations failed while filling");
        }
        fill.users = users;
    }
    Ok(())
}

/// Enrolls new agents round-robin over the sites until `upto` are enrolled; failures.
async fn enroll(
    b: &Bench,
    args: &BenchArgs,
    fill: &mut Fill,
    upto: usize,
) -> anyhow::Result<usize> {
    let from = fill.enrolled.len();
    if upto <= from {
        return Ok(0);
    }
    let sites = Arc::new((fill.sites.clone(), fill.keys.clone()));
    let ids = Arc::new(std::sync::Mutex::new(Vec::with_capacity(upto - from)));
    let (_, failures) = concurrent(from..upto, args.in_flight, |i| {
        let (sites, ids) = (sites.clone(), ids.clone());
        let agent = b.client(i, KeyPairs::generate());
        async move {
            let s = i % sites.0.len();
            let a = EnrollArgs {
                site: sites.0[s].clone(),
                enrollment_key: sites.1[s].clone(),
                machine_uid: format!("node-{i}"),
                ..Default::default()
            };
            // As agents do: a `rate_limited` (a new site's first key check waiting in
            // its line) is tried again after a pause.
            for attempt in 0..5u32 {
                match agent.enroll(&a).await {
                    Ok(r) => {
                        if let Ok(mut v) = ids.lock() {
                            v.push(r.machine_id);
                        }
                        return true;
                    }
                    Err(e) if e.code() == Some(roster::wire::ErrorCode::RateLimited) => {
                        tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                    }
                    Err(_) => return false,
                }
            }
            false
        }
    })
    .await;
    let got = std::mem::take(&mut *ids.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    fill.enrolled.extend(got);
    Ok(failures)
}

/// One admin request; true if it answered with a success.
async fn ask(owner: &RosterClient, cmd: Command, body: Value) -> bool {
    owner
        .call::<Value, Value>(Endpoint::Admin(cmd), &body)
        .await
        .is_ok()
}

async fn measure(b: &Bench, args: &BenchArgs, fill: &Fill) -> anyhow::Result<SizeResult> {
    let n = args.scale_samples;
    let owner = &b.owner;
    let site = fill.sites[0].clone();
    let mut failures = 0;
    let mut timed = |(s, f): (Vec<Duration>, usize)| {
        failures += f;
        percentiles(&s)
    };
    let site_list_100 = timed(
        sequential(0..n, |_| {
            let body = json!({"site": site, "limit": 100});
            ask(owner, Command::MachineList, body)
        })
        .await,
    );
    let empty_site_list = timed(
        sequential(0..n, |_| {
            ask(
                owner,
                Command::MachineList,
                json!({"site": "EMPTY", "limit": 100}),
            )
        })
        .await,
    );
    let machine_get = timed(
        sequential(0..n, |i| {
            let id = fill.enrolled[(i * 7919) % fill.enrolled.len()].clone();
            ask(owner, Command::MachineGet, json!({ "machine_id": id }))
        })
        .await,
    );
    let user_list_100 = timed(
        sequential(0..n, |_| {
            ask(owner, Command::UserList, json!({"limit": 100}))
        })
        .await,
    );
    let tenant_user_list = timed(
        sequential(0..n, |_| {
            ask(
                owner,
                Command::UserList,
                json!({"tenant": SMALL_TENANT, "limit": 100}),
            )
        })
        .await,
    );
    let tenant_audit_100 = timed(
        sequential(0..n, |_| {
            ask(
                owner,
                Command::AuditQuery,
                json!({"tenant": SMALL_TENANT, "limit": 100}),
            )
        })
        .await,
    );
    let audit_action_100 = timed(
        sequential(0..n, |_| {
            ask(
                owner,
                Command::AuditQuery,
                json!({"action": "user.registered", "limit": 100}),
            )
        })
        .await,
    );
    let audit_events = b.audit_events().await.unwrap_or(0);
    Ok(SizeResult {
        machines: fill.enrolled.len(),
        users: fill.users,
        sites: fill.sites.len(),
        audit_events,
        site_list_100,
        empty_site_list,
        machine_get,
        user_list_100,
        tenant_user_list,
        audit_action_100,
        tenant_audit_100,
        enroll_per_s: 0.0,
        enroll_cpu: CpuPerOp::default(),
        quiet_wait_ms: 0,
        worker_rss_mib: 0.0,
        failures,
    })
}

/// The scale table for people, with each p50's ratio to the first size's.
pub(crate) fn table(results: &[SizeResult]) -> String {
    let mut out = String::from(
        "machines  users  sites  events | site list p50/p99 | empty site | machine.get | user.list | tenant's users | audit action | tenant's audit | enroll/s | RSS MiB\n",
    );
    let Some(first) = results.first() else {
        return out;
    };
    let cell = |p: &Percentiles, base: &Percentiles| {
        format!(
            "{:.1}/{:.1} ms ({:.2}x)",
            p.p50_us as f64 / 1000.0,
            p.p99_us as f64 / 1000.0,
            p.p50_us as f64 / base.p50_us.max(1) as f64
        )
    };
    for r in results {
        out.push_str(&format!(
            "{:>8} {:>6} {:>6} {:>7} | {} | {} | {} | {} | {} | {} | {} | {:.0} ({:.2}x) | {:.1}\n",
            r.machines,
            r.users,
            r.sites,
            r.audit_events,
            cell(&r.site_list_100, &first.site_list_100),
            cell(&r.empty_site_list, &first.empty_site_list),
            cell(&r.machine_get, &first.machine_get),
            cell(&r.user_list_100, &first.user_list_100),
            cell(&r.tenant_user_list, &first.tenant_user_list),
            cell(&r.audit_action_100, &first.audit_action_100),
            cell(&r.tenant_audit_100, &first.tenant_audit_100),
            r.enroll_per_s,
            r.enroll_per_s / first.enroll_per_s.max(1e-9),
            r.worker_rss_mib,
        ));
    }
    out
}
