//! Prometheus metrics of one worker: the registry, the handles its parts count into
//! (requests, the callout, the Argon2 pool and its cache, evictions), and `http`, the
//! small endpoint that serves them (`--metrics-addr`) with `/healthz`.
//!
//! Every label value is a `&'static str` from a closed set (an endpoint, a PROTOCOL
//! code, a refusal reason, an admission kind): nothing a client sends becomes a label,
//! so the series stay few and no secret or name can reach a scrape. One [`Metrics`] per
//! worker, made by the composition root and handed down (`Ctx`, the keyring); there is
//! no global registry.

pub(crate) mod http;

pub use http::{bind, serve, MetricsServerError};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// Request latency buckets, in seconds: 250 µs to about 8 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// Callout answer buckets, in seconds: 100 µs to about 2.3 s in steps of √2 (finer than
/// the request buckets: a reconnect storm's p50 and p99 are read from them), so an
/// interpolated percentile is within a factor of 1.19 of the true one.
fn callout_buckets() -> impl Iterator<Item = f64> {
    (0..30).map(|k| 0.000_1 * 2f64.powf(k as f64 / 2.0))
}

fn callout_histogram() -> Histogram {
    Histogram::new(callout_buckets())
}

/// What a worker counts, and whether it serves (for `/healthz`). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<EndpointLabels, Histogram, fn() -> Histogram>,
    admissions: Family<KindLabels, Counter>,
    denials: Family<ReasonLabels, Counter>,
    callout_latency: Family<KindLabels, Histogram, fn() -> Histogram>,
    argon2_queue: Gauge,
    argon2_runs: Counter,
    key_cache: Family<ResultLabels, Counter>,
    evictions: Family<KindLabels, Counter>,
    healed: Family<KindLabels, Counter>,
    serving: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every roster metric (prefix `roster_`).
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("roster");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by endpoint and code (ok, or the PROTOCOL error code)",
            requests.clone(),
        );
        let latency = Family::<EndpointLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "request_duration_seconds",
            "Time from taking a request to sending its reply, by endpoint",
            latency.clone(),
        );
        let admissions = Family::<KindLabels, Counter>::default();
        registry.register(
            "callout_admissions",
            "Connections the auth callout admitted, by kind (user, machine, onboarding)",
            admissions.clone(),
        );
        let denials = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "callout_denials",
            "Connections the auth callout refused, by reason (revoked, unknown_credential, ...)",
            denials.clone(),
        );
        let callout_latency =
            Family::<KindLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                callout_histogram,
            );
        registry.register(
            "callout_duration_seconds",
            "Time from taking an auth callout request to publishing its answer, by outcome \
             (user, machine, onboarding, denied)",
            callout_latency.clone(),
        );
        let healed = Family::<KindLabels, Counter>::default();
        registry.register(
            "healed",
            "Interrupted flows the healer finished, by kind (register, enroll, revoke, \
             machine_revoke, uid_claim)",
            healed.clone(),
        );
        let argon2_queue = Gauge::default();
        registry.register(
            "argon2_queue_depth",
            "Argon2 jobs waiting for a pool thread",
            argon2_queue.clone(),
        );
        let argon2_runs = Counter::default();
        registry.register(
            "argon2_runs",
            "Argon2 jobs run (hashes of new keys, verifications, dummy verifications)",
            argon2_runs.clone(),
        );
        let key_cache = Family::<ResultLabels, Counter>::default();
        registry.register(
            "enroll_key_cache",
            "Enrollment keys checked at a known site: hit (verified before, no Argon2) or miss",
            key_cache.clone(),
        );
        let evictions = Family::<KindLabels, Counter>::default();
        registry.register(
            "evicted_connections",
            "Live connections closed after a loss of permission, by kind (user, machine, \
             machine_credential, onboarding_over_limit)",
            evictions.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                latency,
                admissions,
                healed,
                denials,
                callout_latency,
                argon2_queue,
                argon2_runs,
                key_cache,
                evictions,
                serving: AtomicBool::new(false),
            }),
        }
    }

    /// One request answered on `endpoint`: `refused` is its PROTOCOL code, if refused.
    pub fn request(&self, endpoint: &'static str, refused: Option<&'static str>, took: Duration) {
        let i = &self.inner;
        let code = refused.unwrap_or("ok");
        i.requests
            .get_or_create(&RequestLabels { endpoint, code })
            .inc();
        i.latency
            .get_or_create(&EndpointLabels { endpoint })
            .observe(took.as_secs_f64());
    }

    /// The callout admitted a connection as `kind` (`user`, `machine`, `onboarding`).
    pub fn admitted(&self, kind: &'static str) {
        self.inner
            .admissions
            .get_or_create(&KindLabels { kind })
            .inc();
    }

    /// The healer finished an interrupted flow of `kind`.
    pub fn healed(&self, kind: &'static str) {
        self.inner.healed.get_or_create(&KindLabels { kind }).inc();
    }

    /// The callout refused a connection for `reason`.
    pub fn denied(&self, reason: &'static str) {
        self.inner
            .denials
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    /// One callout answered: its outcome (`user`, `machine`, `onboarding`, `denied`) and
    /// how long it took from taking the request to publishing the answer.
    pub fn callout_answered(&self, kind: &'static str, took: Duration) {
        self.inner
            .callout_latency
            .get_or_create(&KindLabels { kind })
            .observe(took.as_secs_f64());
    }

    /// The gauge of Argon2 jobs waiting for a thread (the keyring moves it).
    pub fn argon2_queue(&self) -> Gauge {
        self.inner.argon2_queue.clone()
    }

    /// The counter of Argon2 jobs (the keyring moves it).
    pub fn argon2_runs(&self) -> Counter {
        self.inner.argon2_runs.clone()
    }

    /// An enrollment key at a known site was found verified (`hit`) or not.
    pub fn key_cache(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.inner
            .key_cache
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    /// `n` live connections of `kind` were closed.
    pub fn evicted(&self, kind: &'static str, n: usize) {
        self.inner
            .evictions
            .get_or_create(&KindLabels { kind })
            .inc_by(n as u64);
    }

    /// Whether the worker serves (set once it is ready, cleared when it stops).
    pub fn set_serving(&self, serving: bool) {
        self.inner.serving.store(serving, Ordering::Relaxed);
    }

    /// True while the worker serves.
    pub fn serving(&self) -> bool {
        self.inner.serving.load(Ordering::Relaxed)
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would leave it partial.
        if prometheus_client::encoding::text::encode(&mut out, &self.inner.registry).is_err() {
            tracing::warn!("encoding the metrics failed");
        }
        out
    }
}
