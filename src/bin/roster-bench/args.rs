//! The command line: the bench's flags, and the floor responder's hidden mode.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Measure roster against the raw-NATS floor on this machine: starts its own nats-server,
/// a roster worker process (`roster serve`, the `roster` binary next to this one) and the
/// floor. Progress on stderr; `--json` prints one object.
#[derive(Debug, Parser)]
#[command(name = "roster-bench", version, args_conflicts_with_subcommands = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) mode: Option<Mode>,
    #[command(flatten)]
    pub(crate) bench: BenchArgs,
}

/// Another mode than the bench itself.
#[derive(Debug, Subcommand)]
pub(crate) enum Mode {
    /// The raw-NATS floor responder (the bench starts it as its own process).
    #[command(hide = true)]
    Floor {
        #[arg(long)]
        nats_url: String,
        #[arg(long)]
        records: usize,
    },
    /// The bare request-reply responder of the API key phase's floor.
    #[command(hide = true)]
    Echo {
        #[arg(long)]
        nats_url: String,
    },
}

/// What to run.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct BenchArgs {
    /// Registrations measured with `--in-flight` concurrency (per sync mode).
    #[arg(long, default_value_t = 2000, value_parser = at_least_one())]
    pub(crate) registrations: usize,
    /// Sequential requests for the latency percentiles.
    #[arg(long, default_value_t = 500, value_parser = at_least_one())]
    pub(crate) sequential: usize,
    /// Agents in the enrollment storm (one site key).
    #[arg(long, default_value_t = 2000, value_parser = at_least_one())]
    pub(crate) agents: usize,
    /// Requests in flight for the throughput runs.
    #[arg(long, default_value_t = 64, value_parser = at_least_one())]
    pub(crate) in_flight: usize,
    /// Sequential registers measured unloaded, and again under the flood.
    #[arg(long, default_value_t = 1000, value_parser = at_least_one())]
    pub(crate) flood_samples: usize,
    /// Wrong-key enrollments per second during the flood.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) flood_rate: u32,
    /// Seconds the Argon2 ceiling is measured for.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) argon2_secs: u64,
    /// Skip the second pass with `sync_interval: always`.
    #[arg(long)]
    pub(crate) skip_sync_always: bool,
    /// Run only the reconnect storm: `--storm-clients` clients connected through the
    /// auth callout reconnect at once after nats-server is killed and started again
    /// (admissions per second, the callout's p50/p99, the worker's RSS). Without it the
    /// storm runs last, after the other phases. Needs one open file per client: run
    /// `ulimit -n 8192` first if the soft limit is lower (the bench says so).
    #[arg(long)]
    pub(crate) storm: bool,
    /// Clients in the reconnect storm (nine in ten registered users with their signing
    /// key as nkey, one in ten enrolled machines with their `cak_` credential).
    #[arg(long, default_value_t = 2000, value_parser = at_least_one())]
    pub(crate) storm_clients: usize,
    /// Write an SVG chart of the latency distribution here.
    #[arg(long)]
    pub(crate) chart: Option<PathBuf>,
    /// Run only the scale phase: fill the store through the API up to each of these
    /// machine counts (ascending, comma-separated, e.g. 1000,10000,100000) and measure
    /// lists, gets, audit queries, enrollment throughput and worker RSS at each.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(usize))]
    pub(crate) scale: Option<Vec<usize>>,
    /// Sequential samples per measure at each scale size.
    #[arg(long, default_value_t = 200, value_parser = at_least_one())]
    pub(crate) scale_samples: usize,
    /// Run only the API key phase: `apikey.verify` with one hot key and with
    /// `--apikey-keys` keys, next to a raw request-reply floor, and wrong keys
    /// (`--registrations` verifications per throughput run, `--sequential` samples).
    #[arg(long)]
    pub(crate) apikeys: bool,
    /// Keys in the API key phase's many-keys run.
    #[arg(long, default_value_t = 1000, value_parser = at_least_one())]
    pub(crate) apikey_keys: usize,
    /// Print one JSON object on stdout (progress goes to stderr either way).
    #[arg(long)]
    pub(crate) json: bool,
}

/// Counts must be at least 1 (0 in flight would never finish; 0 samples has no p50).
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
}
