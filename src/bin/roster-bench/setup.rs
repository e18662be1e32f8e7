//! The bus under test: a private nats-server, a roster worker process on it, and a
//! registered owner.

use std::time::Duration;

use futures::StreamExt;
use roster::authz::{Assignment, Builtin};
use roster::client::RosterClient;
use roster::config::{NatsArgs, WorkerArgs, WorkerConfig};
use roster::crypto::KeyPairs;
use roster::domain::{Handle, Tenant};
use roster::harness::{sibling_binary, WorkerOptions, WorkerProcess};
use roster::natsd::{NatsServer, ServerOptions};

/// A bus with a roster worker and an owner, ready to measure.
pub(crate) struct Bench {
    // Dropped in this order: the worker first, while its server still runs.
    pub(crate) worker: WorkerProcess,
    pub(crate) server: NatsServer,
    pub(crate) conns: Vec<async_nats::Client>,
    store: roster::store::Store,
    pub(crate) owner: RosterClient,
}

impl Bench {
    /// Starts the server (`sync_interval: always` or the default) and the worker.
    pub(crate) async fn start(sync_always: bool) -> anyhow::Result<Self> {
        let server = NatsServer::start(ServerOptions {
            sync_always,
            ..Default::default()
        })
        .await?;
        let url = server.url();
        let worker = start_worker(&url, &server).await?;
        let mut conns = Vec::new();
        for _ in 0..4 {
            conns.push(async_nats::connect(url.as_str()).await?);
        }
        let cfg = WorkerConfig::from_args(&NatsArgs::for_url(&url), &WorkerArgs::default())?;
        let (store, audit) = roster::worker::open_state(&conns[0], &cfg).await?;
        let handle = Handle::parse("bench-owner").map_err(|e| anyhow::anyhow!("{e}"))?;
        let invite =
            roster::bootstrap::bootstrap(&store, &audit, &handle, Duration::from_secs(3600))
                .await?;
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
    pub(crate) async fn invites(&self, tag: &str, n: usize) -> anyhow::Result<Vec<String>> {
        mint_invites(&self.store, tag, n).await
    }

    /// Events in the audit stream now.
    pub(crate) async fn audit_events(&self) -> anyhow::Result<u64> {
        let js = async_nats::jetstream::new(self.conns[0].clone());
        let mut s = js.get_stream(roster::audit::stream_name("roster")).await?;
        Ok(s.info().await?.state.messages)
    }

    /// A client on one of the connections, signing with `keys`.
    pub(crate) fn client(&self, i: usize, keys: KeyPairs) -> RosterClient {
        RosterClient::new(self.conns[i % self.conns.len()].clone(), "roster", keys)
            .with_timeout(Duration::from_secs(30))
    }
}

/// `roster serve` from the `roster` binary next to this one, logging warnings to
/// `worker.log` in the server's directory. `ROSTER_BENCH_WORKER_WRAPPER` runs it under a
/// profiler, e.g. "valgrind --tool=callgrind --callgrind-out-file=/tmp/worker.cg".
async fn start_worker(url: &str, server: &NatsServer) -> anyhow::Result<WorkerProcess> {
    let wrapper = std::env::var("ROSTER_BENCH_WORKER_WRAPPER").unwrap_or_default();
    let wrapper: Vec<String> = wrapper.split_whitespace().map(str::to_owned).collect();
    // A profiler wrapping the worker needs time to start, and to write its output.
    let slow = Duration::from_secs(120);
    let opts = WorkerOptions {
        // `ROSTER_BENCH_WORKER_LOG` (a `ROSTER_LOG` filter) looks inside the worker.
        env: vec![(
            "ROSTER_LOG".into(),
            std::env::var("ROSTER_BENCH_WORKER_LOG").unwrap_or_else(|_| "warn".into()),
        )],
        log: Some(server.dir().join("worker.log")),
        ready_within: slow,
        stop_grace: if wrapper.is_empty() {
            Duration::from_secs(10)
        } else {
            slow
        },
        wrapper,
        ..Default::default()
    };
    Ok(WorkerProcess::start(&sibling_binary("roster")?, &NatsArgs::for_url(url), opts).await?)
}

/// Mints `n` member invites `<tag>-<i>` straight into KV, 64 at a time (setup, not
/// measured).
pub(crate) async fn mint_invites(
    store: &roster::store::Store,
    tag: &str,
    n: usize,
) -> anyhow::Result<Vec<String>> {
    let results: Vec<anyhow::Result<String>> = futures::stream::iter(0..n)
        .map(|i| async move {
            let handle =
                Handle::parse(&format!("{tag}-{i}")).map_err(|e| anyhow::anyhow!("{e}"))?;
            let member = Assignment::tenant(Builtin::Member.role_name(), Tenant::default_tenant());
            let r = roster::handlers::mint_invite(
                store,
                &handle,
                &member,
                Duration::from_secs(3600),
                "bench",
            )
            .await?;
            Ok(r.token)
        })
        .buffered(64)
        .collect()
        .await;
    results.into_iter().collect()
}
