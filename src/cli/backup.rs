//! `roster backup` and `roster restore`: progress on stderr, the summary on stdout.

use super::*;

use crate::backup::{RestoreOptions, Summary};

/// The worker settings naming the roster on `nats` (its prefix, bucket names), and the
/// JetStream context to reach it.
async fn open(
    nats: &NatsArgs,
    name: &str,
    replicas: Option<usize>,
) -> anyhow::Result<(WorkerConfig, async_nats::jetstream::Context)> {
    let args = WorkerArgs {
        replicas: replicas.unwrap_or(1),
        ..WorkerArgs::default()
    };
    let cfg = WorkerConfig::from_args(nats, &args)?;
    let client = nats.connect(name).await?;
    Ok((cfg, async_nats::jetstream::new(client)))
}

fn print(summary: &Summary, json: bool, what: &str) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string(summary)?);
    } else {
        let records: usize = summary.buckets.values().sum();
        println!(
            "{what} {records} records in {} buckets, {} audit and {} security events ({})",
            summary.buckets.len(),
            summary.audit_events,
            summary.security_events,
            summary.dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn backup_cmd(
    nats: &NatsArgs,
    out: &std::path::Path,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (cfg, js) = open(nats, "roster-backup", None).await?;
    let summary = crate::backup::backup(&js, &cfg, out, &mut |line| eprintln!("{line}")).await?;
    print(&summary, json, "backed up")
}

pub(super) async fn restore_cmd(
    nats: &NatsArgs,
    from: &std::path::Path,
    opts: RestoreOptions,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (cfg, js) = open(nats, "roster-restore", opts.replicas).await?;
    let summary =
        crate::backup::restore(&js, &cfg, from, opts, &mut |line| eprintln!("{line}")).await?;
    print(&summary, json, "restored")
}
