//! The composition root: settings in, a serving worker out. `roster serve` (and so the
//! bench's and the crash tests' worker processes), `roster dev` and the test harness all
//! start workers through [`App::build`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{ConfigError, NatsArgs, WorkerArgs, WorkerConfig};
use crate::natsd::{NatsServer, NatsdError};
use crate::worker::{self, WorkerError, WorkerHandle};

/// Why a worker could not be built, or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The settings were refused, or connecting with them failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The private nats-server's callout keys did not make a callout config.
    #[error(transparent)]
    Natsd(#[from] NatsdError),
    /// The worker did not start, or did not stop cleanly.
    #[error(transparent)]
    Worker(#[from] WorkerError),
    /// The metrics endpoint could not listen.
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsServerError),
}

/// Everything a worker is built from.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The worker's own NATS connection.
    pub nats: NatsArgs,
    /// The system-account connection that evicts live connections, if any.
    pub system: Option<NatsArgs>,
    /// The worker's tuning, handlers, store, callout.
    pub worker: WorkerConfig,
}

impl Settings {
    /// From the command line (`roster serve`).
    pub fn from_args(nats: &NatsArgs, w: &WorkerArgs) -> Result<Self, AppError> {
        Ok(Self {
            nats: nats.clone(),
            system: w.system_args(nats),
            worker: WorkerConfig::from_args(nats, w)?,
        })
    }

    /// For a private nats-server started by [`crate::natsd`] (`roster dev`, the tests):
    /// its worker and system users, and the callout keys it was configured with.
    pub fn for_server(server: &NatsServer, w: &WorkerArgs) -> Result<Self, AppError> {
        let nats = server.worker_args();
        let mut worker = WorkerConfig::from_args(&nats, w)?;
        if let Some(setup) = server.callout() {
            worker.callout = Some(Arc::new(setup.callout_config(
                crate::templates::Templates::default(),
                Duration::from_secs(w.callout_user_ttl_secs),
            )?));
        }
        Ok(Self {
            nats,
            system: server.system_args(),
            worker,
        })
    }
}

/// A serving worker.
#[derive(Debug)]
pub struct App {
    worker: WorkerHandle,
    metrics_addr: Option<std::net::SocketAddr>,
}

impl App {
    /// Connects (the connections named after `name`), opens the state and starts serving;
    /// returns once the worker serves.
    pub async fn build(settings: &Settings, name: &str) -> Result<Self, AppError> {
        // A worker's connections come back soon after a server restart (see
        // `worker::reconnect_delay`): the fleet it admits reconnects at once.
        let quick =
            |o: async_nats::ConnectOptions| o.reconnect_delay_callback(worker::reconnect_delay);
        let client = settings.nats.connect_tweaked(name, None, quick).await?;
        let system = match &settings.system {
            Some(a) => Some(
                a.connect_tweaked(&format!("{name}-system"), None, quick)
                    .await?,
            ),
            None => None,
        };
        let mut callout_conns = Vec::new();
        if settings.worker.callout.is_some() {
            for i in 0..settings.worker.callout_connections {
                let conn = settings
                    .nats
                    .connect_tweaked(&format!("{name}-callout-{i}"), None, quick)
                    .await?;
                callout_conns.push(conn);
            }
        }
        if settings.worker.callout.is_some() && system.is_none() {
            tracing::warn!("the callout is on but no --system-user/--system-creds: revokes will not close live connections");
        }
        let listener = match settings.worker.metrics_addr {
            Some(addr) => Some(crate::metrics::bind(addr).await?),
            None => None,
        };
        let metrics = crate::metrics::Metrics::new();
        let nats = client.clone();
        let worker = worker::start_with(
            client,
            system,
            callout_conns,
            settings.worker.clone(),
            metrics.clone(),
        )
        .await?;
        let metrics_addr = listener.map(|(listener, bound)| {
            // Healthy while the worker serves and its own NATS connection is up.
            let serving = metrics.clone();
            let healthy = Arc::new(move || {
                serving.serving()
                    && nats.connection_state() == async_nats::connection::State::Connected
            });
            // The endpoint lives as long as the worker: it answers 503 while the worker
            // drains, and stops once the worker is gone.
            crate::metrics::serve(listener, metrics, healthy, worker.gone());
            bound
        });
        Ok(Self {
            worker,
            metrics_addr,
        })
    }

    /// Where `/metrics` and `/healthz` are served (`--metrics-addr`, its port resolved).
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_addr
    }

    /// The running worker (for tests: its counters, a crash).
    pub fn into_worker(self) -> WorkerHandle {
        self.worker
    }

    /// Serves until `shutdown` completes, then stops in order (see [`WorkerHandle::shutdown`]).
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), AppError> {
        shutdown.await;
        Ok(self.worker.shutdown().await?)
    }
}
