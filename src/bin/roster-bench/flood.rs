//! Register latency under a wrong-key flood: sequential registers unloaded, and again
//! while wrong-key enrollments arrive at `--flood-rate`, in alternating rounds.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use roster::client::{EnrollArgs, RosterClient};
use roster::crypto::{KeyPairs, Secret, SecretKind};

use crate::args::BenchArgs;
use crate::measure::{percentiles, Percentiles};
use crate::progress;
use crate::register::register_all;
use crate::setup::Bench;

/// What the flood phase measured.
pub(crate) struct Flood {
    pub(crate) unloaded: Percentiles,
    pub(crate) flooded: Percentiles,
    /// Wrong-key enrollments sent.
    pub(crate) sent: u64,
    /// Time with the flood on.
    pub(crate) elapsed: Duration,
    /// Registers that failed under the flood.
    pub(crate) failures: usize,
}

/// Runs the flood phase against the worker and the `BENCH` site.
pub(crate) async fn run(b: &Bench, args: &BenchArgs) -> anyhow::Result<Flood> {
    // Unloaded and flooded blocks alternate (four rounds each), so machine noise lands
    // on both; each side gets `--flood-samples` samples in all.
    const FLOOD_ROUNDS: usize = 4;
    let n_flood = args.flood_samples.max(FLOOD_ROUNDS);
    progress(&format!(
        "wrong-key flood: {n_flood} sequential registers unloaded and {n_flood} under {} wrong keys/s, alternating",
        args.flood_rate
    ));
    let tokens = b.invites("flood", 2 * n_flood).await?;
    let flooding = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let pending = Arc::new(AtomicUsize::new(0));
    let flood = {
        let (flooding, done, pending) = (flooding.clone(), done.clone(), pending.clone());
        let conn = b.conns[3].clone();
        let rate = args.flood_rate.max(1);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
            // A late tick is skipped, not made up in a burst: the rate stays the rate.
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut sent = 0u64;
            while !done.load(Ordering::Relaxed) {
                tick.tick().await;
                if !flooding.load(Ordering::Relaxed) {
                    continue;
                }
                let c = RosterClient::new(conn.clone(), "roster", KeyPairs::generate())
                    .with_timeout(Duration::from_secs(5));
                pending.fetch_add(1, Ordering::SeqCst);
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
                    pending.fetch_sub(1, Ordering::SeqCst);
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
        let (s, _, _) = register_all(b, &tokens[base..base + half], keys, None).await;
        unloaded.extend(s);
        flooding.store(true, Ordering::Relaxed);
        let on = Instant::now();
        // Let the flood reach its rate before the first measured request.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let keys: Vec<KeyPairs> = (0..half).map(|_| KeyPairs::generate()).collect();
        let (s, _, f) = register_all(b, &tokens[base + half..base + 2 * half], keys, None).await;
        flooding.store(false, Ordering::Relaxed);
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
        while pending.load(Ordering::SeqCst) > 0 && settle.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    done.store(true, Ordering::Relaxed);
    Ok(Flood {
        unloaded: percentiles(&unloaded),
        flooded: percentiles(&flooded),
        sent: flood.await.unwrap_or(0),
        elapsed: flood_elapsed,
        failures: flood_failures,
    })
}
