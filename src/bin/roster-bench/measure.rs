//! Measurement: latency percentiles, per-process CPU and memory from `/proc`, and the
//! two load shapes (one at a time, or a number in flight).

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Percentiles {
    pub(crate) p50_us: u64,
    pub(crate) p90_us: u64,
    pub(crate) p99_us: u64,
}

pub(crate) fn percentiles(samples: &[Duration]) -> Percentiles {
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
pub(crate) struct CpuPerOp {
    /// nats-server.
    pub(crate) server_us: f64,
    /// The roster worker, or the floor responder.
    pub(crate) responder_us: f64,
    /// The load generator (this process), which signs register requests.
    pub(crate) client_us: f64,
}

/// Accumulates per-process CPU over measured phases.
#[derive(Default)]
pub(crate) struct CpuMeter {
    ns: [u64; 3],
    ops: usize,
}

impl CpuMeter {
    pub(crate) fn snap(pids: [u32; 3]) -> [u64; 3] {
        pids.map(cpu_ns)
    }

    pub(crate) fn add(&mut self, before: [u64; 3], pids: [u32; 3], ops: usize) {
        let after = Self::snap(pids);
        for (acc, (a, b)) in self.ns.iter_mut().zip(after.iter().zip(before)) {
            *acc += a.saturating_sub(b);
        }
        self.ops += ops;
    }

    pub(crate) fn per_op(&self) -> CpuPerOp {
        let us = |ns: u64| ns as f64 / 1000.0 / self.ops.max(1) as f64;
        CpuPerOp {
            server_us: us(self.ns[0]),
            responder_us: us(self.ns[1]),
            client_us: us(self.ns[2]),
        }
    }
}

/// Runs `f(i)` for `i in range` with `in_flight` at a time; returns (elapsed, failures).
pub(crate) async fn concurrent<F, Fut>(
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
pub(crate) async fn sequential<F, Fut>(
    range: std::ops::Range<usize>,
    f: F,
) -> (Vec<Duration>, usize)
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

/// Peak resident set (VmHWM) of process `pid` in MiB; 0 off Linux.
pub(crate) fn peak_rss_mib(pid: u32) -> f64 {
    status_mib(pid, "VmHWM:")
}

/// Resident set (VmRSS) of process `pid` now, in MiB; 0 off Linux.
pub(crate) fn rss_mib(pid: u32) -> f64 {
    status_mib(pid, "VmRSS:")
}

/// A kB field of `/proc/<pid>/status` in MiB.
fn status_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
