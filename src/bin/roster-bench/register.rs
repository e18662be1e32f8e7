//! One sync mode's register measurement: roster's register against the floor, one at a
//! time and with `--in-flight`, in alternating rounds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use roster::client::RosterClient;
use roster::crypto::KeyPairs;
use roster::wire::Endpoint;
use serde::Serialize;

use crate::args::BenchArgs;
use crate::floor::Floor;
use crate::measure::{concurrent, percentiles, sequential, CpuMeter, CpuPerOp, Percentiles};
use crate::progress;
use crate::setup::Bench;

/// Results of one sync mode.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ModeResult {
    pub(crate) sync: &'static str,
    pub(crate) register_per_s: f64,
    pub(crate) register_floor_per_s: f64,
    pub(crate) register: Percentiles,
    pub(crate) register_floor: Percentiles,
    pub(crate) register_errors: usize,
    /// CPU per register at `--in-flight`, roster's worker as the responder.
    pub(crate) register_cpu: CpuPerOp,
    /// CPU per floor operation set at `--in-flight`.
    pub(crate) floor_cpu: CpuPerOp,
    #[serde(skip)]
    pub(crate) register_samples: Vec<Duration>,
    #[serde(skip)]
    pub(crate) floor_samples: Vec<Duration>,
}

/// Register requests built and signed, ready to send.
struct Prepared(Arc<Vec<(RosterClient, async_nats::HeaderMap, Bytes)>>);

/// Builds and signs one register request per token, before the clock starts (a block is
/// a few hundred requests, well inside the worker's clock window): the client's Ed25519
/// signing (~15 µs) is work a real client does on its own machine, and here it would
/// share the two cores with the worker. The per-process CPU split is measured around
/// [`send_registers`] only.
fn prepare_registers(b: &Bench, tokens: &[String], keys: Vec<KeyPairs>) -> Prepared {
    let subject = Endpoint::Register.subject("roster");
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
    let subject = Endpoint::Register.subject("roster");
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

/// Prepares and sends registers (see [`send_registers`]).
pub(crate) async fn register_all(
    b: &Bench,
    tokens: &[String],
    keys: Vec<KeyPairs>,
    in_flight: Option<usize>,
) -> (Vec<Duration>, Duration, usize) {
    send_registers(&prepare_registers(b, tokens, keys), in_flight).await
}

/// Starts a bus (and the floor on it) for one sync mode and measures register; the bus
/// stays up for the phases that follow.
pub(crate) async fn run_mode(
    args: &BenchArgs,
    sync_always: bool,
) -> anyhow::Result<(ModeResult, Bench)> {
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
    let roster_pids = [server_pid, b.worker.pid(), me];
    let floor_pids = [server_pid, floor.pid(), me];
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
