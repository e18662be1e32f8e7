//! The worker: opens the buckets and the audit stream, starts the NATS micro service
//! `roster` (queue group `roster`) with one endpoint per command, and serves until told
//! to stop. Shutdown is explicit: stop taking requests, finish those in flight, drain.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::service::ServiceExt;
use futures::StreamExt;
use tokio::sync::{watch, Semaphore};
use tracing::Instrument;

use crate::audit::{AuditError, Auditor};
use crate::config::WorkerConfig;
use crate::handlers::{self, Ctx, Endpoint};
use crate::metrics::Metrics;
use crate::store::{error_chain, OpenError, Store};

pub use crate::wire::SERVICE_NAME;

/// Why a worker could not open its state, start serving, or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The buckets could not be opened.
    #[error(transparent)]
    Store(#[from] OpenError),
    /// The audit or the security stream could not be opened.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The first records (the default tenant's roles) could not be written.
    #[error("seeding the default tenant")]
    Seed(#[from] crate::store::StoreError),
    /// The micro service did not start.
    #[error("starting the micro service")]
    Service(#[source] async_nats::Error),
    /// An endpoint could not be added to the micro service.
    #[error("adding endpoint {subject}")]
    Endpoint {
        subject: String,
        #[source]
        source: async_nats::Error,
    },
    /// The connection could not be flushed (before serving, or while draining).
    #[error(transparent)]
    Flush(#[from] async_nats::client::FlushError),
    /// The auth callout could not subscribe.
    #[error(transparent)]
    Callout(#[from] crate::callout::CalloutError),
    /// The worker's task ended without an error before it served.
    #[error("worker stopped before it was ready")]
    NotReady,
    /// The worker's task panicked or was cancelled.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
    /// The `default` tenant could not be written.
    #[error("writing the default tenant")]
    DefaultTenant(#[source] crate::store::StoreError),
}

/// Writes the `default` tenant if it is missing (PROTOCOL §7: it exists from the first
/// start, `active`). Every worker calls this at start; the one whose `create` lands
/// publishes `tenant.created` (by `system`). A failed publish is logged, not fatal: the
/// tenant exists, and its event is the only thing missing.
async fn seed_default_tenant(
    store: &Store,
    audit: &Auditor,
    clock: &crate::time_util::Clock,
) -> Result<(), WorkerError> {
    let Some(created) = store
        .ensure_default_tenant(clock.now())
        .await
        .map_err(WorkerError::DefaultTenant)?
    else {
        return Ok(());
    };
    let event = crate::audit::Event::TenantCreated {
        tenant: &created.value,
        revision: created.revision,
    };
    if let Err(e) = audit.record(crate::audit::Actor::system(), event).await {
        tracing::warn!(error = %e, "could not publish tenant.created for the default tenant");
    }
    Ok(())
}

/// Opens (creating when missing) every bucket and the audit and security streams; the
/// security log sums its tallies with other workers' through the store.
pub async fn open_state(
    client: &async_nats::Client,
    cfg: &WorkerConfig,
) -> Result<(Store, Auditor), WorkerError> {
    // JetStream may not be ready yet (a server or cluster still starting, a meta leader
    // still being elected): keep trying for a while, saying so, before giving up.
    let js = async_nats::jetstream::new(client.clone());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut delay = Duration::from_millis(200);
    loop {
        // Boxed: opening nine buckets and a stream is a large future, and callers (tests,
        // the CLI) may await it on a thread's own stack.
        let opened = Box::pin(async {
            let store = Store::ensure(&js, &cfg.store).await?;
            // Security windows follow the worker's clock (adjustable in tests).
            let security = crate::audit::security::SecurityConfig {
                clock: cfg.clock.clone(),
                ..cfg.security.clone()
            };
            let audit =
                Auditor::ensure(js.clone(), &cfg.handlers.prefix, cfg.replicas, security).await?;
            // Strangers' denials are summed over every worker through the store.
            // (An `Arc`: a `Store` is large, and test threads have small stacks.)
            audit.security().share_through(Arc::new(store.clone()));
            seed_default_tenant(&store, &audit, &cfg.clock).await?;
            // The default tenant's built-in roles, seeded once (never overwritten).
            let now = cfg.clock.now().to_rfc3339();
            store
                .seed_roles(&crate::domain::Tenant::default_tenant(), &now)
                .await?;
            Ok::<_, WorkerError>((store, audit))
        })
        .await;
        match opened {
            Ok(state) => return Ok(state),
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::warn!(error = %error_chain(&e), "JetStream not ready; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(e),
        }
    }
}

/// A running worker. Dropping it does not stop it; call [`WorkerHandle::shutdown`].
#[derive(Debug)]
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    keys: Arc<crate::keyring::KeyVerifier>,
    metrics: Metrics,
    task: tokio::task::JoinHandle<Result<(), WorkerError>>,
}

impl WorkerHandle {
    /// Stops taking requests, finishes those in flight, and drains the connection.
    pub async fn shutdown(self) -> Result<(), WorkerError> {
        let _ = self.stop.send(true);
        self.task.await?
    }
    /// This worker's enrollment-key verifier (for its counters).
    pub fn keys(&self) -> &Arc<crate::keyring::KeyVerifier> {
        &self.keys
    }

    /// This worker's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Completes once this handle is gone (the worker shut down, aborted or dropped):
    /// what the metrics endpoint serves until.
    pub fn gone(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.stop.subscribe();
        async move { while rx.changed().await.is_ok() {} }
    }

    /// Stops the worker abruptly, as a crash would (requests in flight are lost).
    pub fn abort(self) {
        self.task.abort();
    }
}

/// How soon a worker's own connections try again after losing the server: at once,
/// then every 25, 50, 100 ms and from then on every 200 ms. The async-nats default
/// doubles up to 4 s, so after a server restart the worker came back up to seconds
/// after the fleet it admits, whose callouts meanwhile waited out the server's
/// authorization timeout and were refused. A handful of workers retrying five times a
/// second is no load on a server that is down.
pub fn reconnect_delay(attempts: usize) -> Duration {
    match attempts {
        0 | 1 => Duration::ZERO,
        n => Duration::from_millis(25 << (n - 2).min(3)),
    }
}

/// Starts a worker on `client` and returns once it is serving.
pub async fn start(
    client: async_nats::Client,
    cfg: WorkerConfig,
) -> Result<WorkerHandle, WorkerError> {
    start_with(client, None, Vec::new(), cfg, Metrics::new()).await
}

/// Starts a worker counting into `metrics`; `system` is a system-account connection
/// used to evict revoked identities' live connections; the callout answers on
/// `callout_conns` (on `client` when there are none).
pub async fn start_with(
    client: async_nats::Client,
    system: Option<async_nats::Client>,
    callout_conns: Vec<async_nats::Client>,
    cfg: WorkerConfig,
    metrics: Metrics,
) -> Result<WorkerHandle, WorkerError> {
    let (stop, stop_rx) = watch::channel(false);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let keys =
        Arc::new(crate::keyring::KeyVerifier::new(cfg.keyring.clone(), metrics.clone()).await);
    let evictor = system.map(crate::bus::Evictor::new);
    let task = tokio::spawn(run(
        (client, callout_conns),
        cfg,
        (keys.clone(), metrics.clone()),
        evictor,
        stop_rx,
        ready_tx,
    ));
    match ready_rx.await {
        Ok(()) => Ok(WorkerHandle {
            stop,
            keys,
            metrics,
            task,
        }),
        Err(_) => match task.await {
            Ok(Err(e)) => Err(e),
            Ok(Ok(())) => Err(WorkerError::NotReady),
            Err(e) => Err(e.into()),
        },
    }
}

async fn run(
    (client, callout_conns): (async_nats::Client, Vec<async_nats::Client>),
    cfg: WorkerConfig,
    (keys, metrics): (Arc<crate::keyring::KeyVerifier>, Metrics),
    evictor: Option<crate::bus::Evictor>,
    mut stop: watch::Receiver<bool>,
    ready: tokio::sync::oneshot::Sender<()>,
) -> Result<(), WorkerError> {
    let (store, audit) = open_state(&client, &cfg).await?;
    let tenants = store.watch_tenants(stop.clone());
    let apikeys = store.watch_apikeys(stop.clone());
    let ctx = Arc::new(Ctx {
        tenants,
        apikeys,
        store,
        audit,
        cfg: cfg.handlers.clone(),
        keys,
        evictor,
        clock: cfg.clock.clone(),
        metrics: metrics.clone(),
        vault: cfg.vault.clone(),
    });
    // Refusals are replied with a JSON body, so they go out through the success path of
    // the micro API and are not in `num_errors`; they are counted here and shown in each
    // endpoint's STATS `data.errors`.
    let errors: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let stats_errors = errors.clone();
    // Which process answered a `$SRV` PING (the harness waits for its own worker), and
    // the vault's `credential_kex` that clients seal values to (PROTOCOL §10).
    let mut metadata = HashMap::from([(
        crate::wire::METADATA_PID.to_owned(),
        std::process::id().to_string(),
    )]);
    if let Some(v) = &ctx.vault {
        metadata.insert(
            crate::wire::METADATA_CREDENTIAL_KEX.to_owned(),
            v.credential_kex_hex(),
        );
    }
    let service = client
        .service_builder()
        .description("roster membership service")
        .metadata(metadata)
        .queue_group(SERVICE_NAME)
        .stats_handler(move |name, _stats| {
            let n = stats_errors
                .lock()
                .map(|m| m.get(&name).copied().unwrap_or(0))
                .unwrap_or(0);
            serde_json::json!({ "errors": n })
        })
        .start(SERVICE_NAME, env!("CARGO_PKG_VERSION"))
        .await
        .map_err(WorkerError::Service)?;

    let permits = Arc::new(Semaphore::new(cfg.max_in_flight));
    let mut loops = Vec::new();
    for ep in Endpoint::all() {
        let subject = ep.subject(&cfg.handlers.prefix);
        let endpoint = service
            .endpoint_builder()
            .name(ep.name())
            .add(subject.clone())
            .await
            .map_err(|source| WorkerError::Endpoint {
                subject: subject.clone(),
                source,
            })?;
        loops.push(tokio::spawn(serve_endpoint(
            ctx.clone(),
            ep,
            endpoint,
            stop.clone(),
            permits.clone(),
            errors.clone(),
        )));
    }
    let callout = match &cfg.callout {
        Some(c) => Some(
            crate::callout::start(
                callout_pool(&client, callout_conns, &ctx, &cfg).await?,
                c.clone(),
                stop.clone(),
            )
            .await?,
        ),
        None => None,
    };
    let sweeper = match (&cfg.callout, &ctx.evictor) {
        (Some(c), Some(evictor)) => Some(tokio::spawn(crate::bus::run_onboarding_sweeper(
            evictor.clone(),
            c.templates.onboarding.limits.subs.max(0) as u64,
            crate::bus::ONBOARDING_SWEEP,
            metrics.clone(),
            stop.clone(),
        ))),
        _ => None,
    };
    let flusher = tokio::spawn(ctx.audit.security().clone().run_flusher(stop.clone()));
    let healer = tokio::spawn(crate::heal::run(
        ctx.clone(),
        crate::heal::HealConfig {
            settle: cfg.heal_settle,
            credential_expiring: cfg.credential_expiring,
            credential_sweep: cfg.credential_sweep,
            tenant_index: cfg.audit_tenant_index,
            ..Default::default()
        },
        stop.clone(),
    ));
    // Make sure the server has every subscription before anyone is told we are ready.
    client.flush().await?;
    tracing::info!(prefix = %cfg.handlers.prefix, endpoints = Endpoint::all().count(), "roster worker serving");
    metrics.set_serving(true);
    let _ = ready.send(());

    let _ = stop.wait_for(|s| *s).await;
    metrics.set_serving(false);
    tracing::info!(
        grace_secs = cfg.shutdown_grace.as_secs(),
        "shutting down: no new requests; finishing those in flight"
    );
    let finish = async {
        for l in loops {
            let _ = l.await;
        }
        if let Some(c) = callout {
            let _ = c.await;
        }
        if let Some(s) = sweeper {
            let _ = s.await;
        }
        let _ = healer.await;
        // The last minute's security tallies, before the connection goes.
        let _ = flusher.await;
        // Every request task holds a permit; taking them all waits for the last one.
        let _all = permits.acquire_many(cfg.max_in_flight as u32).await;
        let _ = service.stop().await;
        client.flush().await?;
        let _ = client.drain().await;
        Ok::<_, WorkerError>(())
    };
    // Without NATS (a server that went away) the drain would wait for a reconnect
    // forever; a stopping worker gives up after the grace period. Requests it did not
    // finish are safe to retry (every step is idempotent).
    match tokio::time::timeout(cfg.shutdown_grace, finish).await {
        Ok(r) => {
            r?;
            tracing::info!("worker stopped");
        }
        Err(_) => tracing::warn!(
            in_flight = cfg.max_in_flight - permits.available_permits(),
            "shutdown grace period over; exiting without finishing"
        ),
    }
    Ok(())
}

async fn serve_endpoint(
    ctx: Arc<Ctx>,
    ep: Endpoint,
    mut endpoint: async_nats::service::endpoint::Endpoint,
    mut stop: watch::Receiver<bool>,
    permits: Arc<Semaphore>,
    errors: Arc<Mutex<HashMap<String, u64>>>,
) {
    loop {
        let next = tokio::select! {
            _ = stop.wait_for(|s| *s) => None,
            req = endpoint.next() => Some(req),
        };
        match next {
            None => break,
            Some(Some(req)) => spawn_request(&ctx, ep, req, &permits, &errors).await,
            Some(None) => return,
        }
    }
    // Unsubscribe, then serve what the client library had already buffered.
    let _ = endpoint.stop().await;
    while let Ok(Some(req)) =
        tokio::time::timeout(Duration::from_millis(200), endpoint.next()).await
    {
        spawn_request(&ctx, ep, req, &permits, &errors).await;
    }
}

async fn spawn_request(
    ctx: &Arc<Ctx>,
    ep: Endpoint,
    req: async_nats::service::Request,
    permits: &Arc<Semaphore>,
    errors: &Arc<Mutex<HashMap<String, u64>>>,
) {
    // Backpressure: wait for a slot before taking the request off the subscription.
    let Ok(permit) = permits.clone().acquire_owned().await else {
        return;
    };
    let ctx = ctx.clone();
    let errors = errors.clone();
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let span = tracing::debug_span!("request", endpoint = ep.command(), id);
    tokio::spawn(
        async move {
            let _permit = permit;
            let started = std::time::Instant::now();
            let msg = &req.message;
            // Boxed: the handler future is large (every endpoint's state), and a boxed
            // one is moved into the task by pointer instead of by a multi-KB memcpy.
            let handled = Box::pin(handlers::handle(
                &ctx,
                ep,
                msg.subject.as_str(),
                msg.reply.as_deref(),
                msg.headers.as_ref(),
                &msg.payload,
            ))
            .await;
            if let Some(code) = handled.refused {
                // Debug, not info: strangers can send refusals as fast as they like.
                tracing::debug!(code = code.as_str(), "request refused");
                if let Ok(mut m) = errors.lock() {
                    *m.entry(ep.name()).or_default() += 1;
                }
            } else {
                tracing::debug!("request served");
            }
            let (body, headers) = (handled.body, handled.headers);
            if let Err(e) = req.respond_with_headers(Ok(body), headers).await {
                tracing::warn!(error = %e, "could not send the reply");
            }
            let code = handled.refused.map(|c| c.as_str());
            ctx.metrics.request(ep.command(), code, started.elapsed());
        }
        .instrument(span),
    );
}

/// The callout's connections, each with the store read through it: `conns`, or the
/// worker's own connection when there are none.
async fn callout_pool(
    client: &async_nats::Client,
    conns: Vec<async_nats::Client>,
    ctx: &Arc<Ctx>,
    cfg: &WorkerConfig,
) -> Result<Vec<(async_nats::Client, Arc<Ctx>)>, WorkerError> {
    if conns.is_empty() {
        return Ok(vec![(client.clone(), ctx.clone())]);
    }
    let mut pool = Vec::with_capacity(conns.len());
    for conn in conns {
        let store = Store::ensure(&async_nats::jetstream::new(conn.clone()), &cfg.store).await?;
        let own = Arc::new(Ctx {
            store,
            audit: ctx.audit.clone(),
            cfg: ctx.cfg.clone(),
            keys: ctx.keys.clone(),
            evictor: ctx.evictor.clone(),
            clock: ctx.clock.clone(),
            metrics: ctx.metrics.clone(),
            tenants: ctx.tenants.clone(),
            apikeys: ctx.apikeys.clone(),
            vault: ctx.vault.clone(),
        });
        pool.push((conn, own));
    }
    Ok(pool)
}
