//! The phases after register, on the default mode's bus: an admin read, the Argon2
//! ceiling and the enrollment storm.

use std::sync::Arc;
use std::time::{Duration, Instant};

use roster::client::{EnrollArgs, RosterClient};
use roster::crypto::{self, Argon2Params, KeyPairs, Secret, SecretKind};
use roster::domain::{Handle, Policy, SiteCode};
use roster::wire::admin::SiteCreateRequest;

use crate::args::BenchArgs;
use crate::measure::{concurrent, percentiles, sequential, Percentiles};
use crate::progress;
use crate::setup::Bench;

/// `user.get` of the owner, `n` one after another: its percentiles and failures.
pub(crate) async fn admin_read(b: &Bench, n: usize) -> anyhow::Result<(Percentiles, usize)> {
    progress("admin read (user.get), sequential");
    let owner_handle = Handle::parse("bench-owner").map_err(|e| anyhow::anyhow!("{e}"))?;
    let (get_samples, get_failures) = sequential(0..n, |_| {
        let (o, h) = (b.owner.clone(), owner_handle.clone());
        async move { o.user_get(&h).await.is_ok() }
    })
    .await;
    Ok((percentiles(&get_samples), get_failures))
}

/// The Argon2 ceiling, measured for `secs` on blocking threads.
pub(crate) async fn argon2(secs: u64) -> anyhow::Result<f64> {
    progress(&format!(
        "Argon2 ceiling: verifying on all cores for {secs} s"
    ));
    Ok(tokio::task::spawn_blocking(move || argon2_ceiling(secs)).await?)
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

/// `--agents` agents enrolling with one site key (auto policy), `--in-flight` at a time:
/// enrollments per second and failures.
pub(crate) async fn enroll_storm(b: &Bench, args: &BenchArgs) -> anyhow::Result<(f64, usize)> {
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
    Ok((
        args.agents as f64 / storm_elapsed.as_secs_f64(),
        storm_failures,
    ))
}
