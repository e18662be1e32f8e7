//! `roster-bench`: roster measured against the raw-NATS floor in one run.
//!
//! The floor ([`floor`]) is a bare async-nats responder doing exactly the NATS work one
//! register needs, against buckets and a stream configured like roster's. roster's worker
//! runs as its own process (`roster serve`, from the `roster` binary next to this one) so
//! its peak RSS can be read from /proc; the floor runs as its own process too
//! (`roster-bench floor`). Ratios from the same run hold on a noisy machine; absolute
//! numbers do not. `roster bench` runs this binary.

mod apikeys;
mod args;
mod chart;
mod flood;
mod floor;
mod measure;
mod phases;
mod register;
mod report;
mod scale;
mod setup;
mod storm;

use std::process::ExitCode;

use clap::Parser as _;

use args::{BenchArgs, Cli, Mode};

fn main() -> ExitCode {
    let cli = Cli::parse();
    roster::cli::init_tracing(false, false);
    roster::cli::block_on(async move {
        match cli.mode {
            Some(Mode::Floor { nats_url, records }) => floor::responder(&nats_url, records).await?,
            Some(Mode::Echo { nats_url }) => apikeys::echo(&nats_url).await?,
            None => bench(&cli.bench).await?,
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs the bench and prints its report.
async fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    // Interrupted, the bench returns so its servers and temporary stores are dropped
    // (killed and removed), not left behind.
    if let Some(sizes) = &args.scale {
        let mut sizes = sizes.clone();
        sizes.sort_unstable();
        sizes.dedup();
        let results = tokio::select! {
            r = scale::run(args, &sizes) => r?,
            _ = roster::cli::wait_for_signal() => anyhow::bail!("interrupted; the bench's processes were stopped"),
        };
        if args.json {
            println!(
                "{}",
                serde_json::to_string(&serde_json::json!({ "scale": results }))?
            );
        } else {
            print!("{}", scale::table(&results));
        }
        return Ok(());
    }
    let report = tokio::select! {
        r = run(args) => r?,
        _ = roster::cli::wait_for_signal() => anyhow::bail!("interrupted; the bench's processes were stopped"),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else if args.apikeys {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report::table(&report));
    }
    Ok(())
}

/// Runs the whole benchmark and returns the JSON report.
async fn run(args: &BenchArgs) -> anyhow::Result<serde_json::Value> {
    if args.storm {
        return Ok(report::storm_only(&storm::run(args.storm_clients).await?));
    }
    if args.apikeys {
        let r = apikeys::run(args).await?;
        return Ok(serde_json::json!({
            "apikeys": r,
            "hot_vs_floor": r.hot_per_s / r.floor_per_s,
            "many_vs_floor": r.many_per_s / r.floor_per_s,
        }));
    }
    let (default, b) = register::run_mode(args, false).await?;
    let (admin_get, admin_get_errors) = phases::admin_read(&b, args.sequential).await?;
    let argon2_ceiling = phases::argon2(args.argon2_secs).await?;
    let (storm_per_s, storm_errors) = phases::enroll_storm(&b, args).await?;
    let flood = flood::run(&b, args).await?;
    let worker_rss_mib = measure::peak_rss_mib(b.worker.pid());
    // The worker stops first, while its server still runs (see `setup::Bench`).
    drop(b);

    let always = if args.skip_sync_always {
        None
    } else {
        let (r, _b) = register::run_mode(args, true).await?;
        Some(r)
    };

    let storm = storm::run(args.storm_clients).await?;

    if let Some(path) = &args.chart {
        std::fs::write(path, chart::chart(&default, always.as_ref()))?;
        progress(&format!("wrote {}", path.display()));
    }
    Ok(report::json(&report::Results {
        default,
        always,
        admin_get,
        admin_get_errors,
        agents: args.agents,
        storm_per_s,
        storm_errors,
        argon2_ceiling,
        flood,
        worker_rss_mib,
        storm,
    }))
}

/// A progress line on stderr.
fn progress(msg: &str) {
    eprintln!("[bench] {msg}");
}
