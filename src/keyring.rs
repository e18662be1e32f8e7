//! Verifying site enrollment keys at fleet scale, and API keys (PROTOCOL §9) the same way
//! ([`KeyVerifier::verify_api_key`]: the cache, the dummy, the shared throttle per key id).
//!
//! - Argon2id runs on its own threads (cores less one, at least one), each reusing its
//!   working memory, never on the async runtime's threads; a flood of bad keys cannot
//!   starve other requests, and memory stays at threads x m.
//! - A verified-key cache remembers, per site record revision, a keyed digest (HMAC with a
//!   process-local key) of each key that verified, so a fleet enrolling with one installer
//!   key costs one Argon2 run. Racing first requests share that one run (single flight).
//!   Rotation changes the site record's revision, which makes old entries dead.
//! - Unknown sites cost a dummy verification, so timing does not tell which sites exist;
//!   all unknown site codes share one pool slot (a flood of random codes runs at most one
//!   dummy at a time and waits out the rest), so pool capacity stays with real sites.
//! - Failed attempts are throttled per *source* (the requester's connection, else its
//!   agent key), never per site: a stranger's wrong keys use up only that stranger's
//!   budget, and a correct key from anyone else can always be tried. The budget is
//!   shared by every worker of the queue group: each failure is recorded in KV
//!   (`roster_enroll_failures`, keyed by a digest of the source, one record holding the
//!   failures of the last `fail_window`, written by compare-and-swap through the store),
//!   so a source gets `fail_limit` failures per window in total, not per worker. What a
//!   worker has in flight stays per worker (`running`), with its own failures as a floor
//!   while the shared record is being written. Each site runs at most
//!   `site_concurrency` unverified keys at a time (the rest wait their turn, in order),
//!   so one site's flood cannot take the pool from the others.
//! - Off the hot path: a cache hit (a verified key) is never throttled and never reads
//!   or writes the shared record; only an attempt that would run Argon2 reads it, and
//!   only a failure writes it.
//! - The store down: an attempt that would run Argon2 cannot read the shared record, and
//!   is refused as `unavailable` without running Argon2 (as every store error in
//!   enroll); a failure that cannot be recorded is still denied, and logged. Racing
//!   attempts of one source on several workers may each pass the check before any of
//!   them fails: a burst spread over N workers costs at most N × `fail_limit` Argon2
//!   runs once, after which every worker refuses the source for the window.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;
use tracing::Instrument;

use crate::crypto::{self, Argon2Params, Argon2Scratch, CacheKey};
use crate::domain::{ApiKeyToken, EnrollmentKey};
use crate::store::records::{ApiKeyRecord, SiteRecord};
use crate::store::{SourceDigest, Store, StoreError, Versioned};

/// Limits of the verifier.
#[derive(Debug, Clone)]
pub struct KeyringConfig {
    /// Argon2 parameters for new keys (and the dummy hash).
    pub argon2: Argon2Params,
    /// Concurrent Argon2 runs; defaults to the number of cores less one (at least one),
    /// so a flood of bad keys always leaves a core for everything else.
    pub pool_size: usize,
    /// Failed attempts per source allowed within `fail_window` before `rate_limited`,
    /// counted by every worker together (at most 1000: one KV value holds them).
    pub fail_limit: usize,
    /// The throttle's window.
    pub fail_window: Duration,
    /// Most verifications waiting for the pool; beyond it new ones are `rate_limited`
    /// at once, so a flood spread over many sites cannot queue unbounded work.
    pub max_queue: usize,
    /// Unverified keys of one site checked at the same time; more wait in line.
    pub site_concurrency: usize,
    /// Longest wait in a site's line before `rate_limited`.
    pub site_wait: Duration,
}

impl Default for KeyringConfig {
    fn default() -> Self {
        Self {
            argon2: Argon2Params::default(),
            pool_size: std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1).max(1)),
            fail_limit: 20,
            fail_window: Duration::from_secs(60),
            max_queue: 64,
            site_concurrency: 2,
            site_wait: Duration::from_secs(2),
        }
    }
}

/// The outcome of checking a presented enrollment key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The key is valid: this key version.
    Valid(u32),
    /// Unknown site, wrong key or rotated-out key: all look the same.
    Denied,
    /// Too many failures from this source recently, or the site's line is too long.
    Throttled,
}

type Slot = (String, u64, [u8; 32]);

const MAX_CACHE: usize = 10_000;
const MAX_THROTTLED_SOURCES: usize = 10_000;
const MAX_SITE_GATES: usize = 10_000;

type Job = Box<dyn FnOnce(&mut Argon2Scratch) + Send>;

/// Argon2 threads run at the lowest priority of the normal scheduler (batch policy,
/// nice 19): every other thread on the machine, NATS included, preempts them, so a
/// flood of bad keys slows only the enrollments that cost Argon2. They are never starved
/// outright (unlike SCHED_IDLE), so enrollment still progresses on a busy machine.
fn lower_priority() {
    use thread_priority::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
        ThreadPriority, ThreadSchedulePolicy,
    };
    let policy = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch);
    if let Err(e) = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, policy)
    {
        tracing::debug!(error = ?e, "could not lower the Argon2 thread's priority");
    }
}

/// The Argon2 threads: a fixed set, one per core by default, each keeping its own
/// working memory between runs. Work waits in a channel; `queued` counts it.
struct Pool {
    tx: Mutex<std::sync::mpsc::Sender<Job>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pool")
    }
}

impl Pool {
    fn start(threads: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    let mut scratch = Argon2Scratch::default();
                    loop {
                        // Hold the lock only to take the next job, not while running it.
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut scratch),
                            Err(_) => return, // the verifier is gone
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start an Argon2 thread");
            }
        }
        Self { tx: Mutex::new(tx) }
    }
}

/// Verifies enrollment keys; one per worker.
#[derive(Debug)]
pub struct KeyVerifier {
    cfg: KeyringConfig,
    pool: Pool,
    cache_key: CacheKey,
    /// Keys the API key slots' version hash (random per process).
    phc_hasher: std::hash::RandomState,
    cache: Mutex<HashMap<Slot, Arc<OnceCell<Option<u32>>>>>,
    failures: Mutex<HashMap<String, SourceFailures>>,
    /// Per known site: how many of its unverified keys may be checked at once.
    site_gates: Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
    /// One dummy verification at a time for all unknown sites together.
    unknown_gate: tokio::sync::Semaphore,
    /// Typical time of a verification as a caller sees it (microseconds, a moving
    /// average): what an unknown site waits when the dummy's slot is taken.
    typical_us: AtomicU64,
    dummy_phc: Arc<str>,
    /// When this worker last noted each API key's use (`last_used_at`, once a minute).
    touched: Mutex<HashMap<String, Instant>>,
    /// Argon2 jobs run, and jobs waiting for a thread: the worker's metrics themselves.
    runs: prometheus_client::metrics::counter::Counter,
    queued: prometheus_client::metrics::gauge::Gauge,
    metrics: crate::metrics::Metrics,
}

impl KeyVerifier {
    /// A verifier counting into `metrics`. Computing the dummy hash takes one Argon2 run.
    pub async fn new(cfg: KeyringConfig, metrics: crate::metrics::Metrics) -> Self {
        let params = cfg.argon2;
        let pool = Pool::start(cfg.pool_size);
        let mut me = Self {
            pool,
            cfg,
            cache_key: CacheKey::default(),
            phc_hasher: std::hash::RandomState::new(),
            cache: Mutex::default(),
            failures: Mutex::default(),
            site_gates: Mutex::default(),
            unknown_gate: tokio::sync::Semaphore::new(1),
            typical_us: AtomicU64::new(0),
            dummy_phc: Arc::from(""),
            touched: Mutex::default(),
            runs: metrics.argon2_runs(),
            queued: metrics.argon2_queue(),
            metrics,
        };
        // The dummy hash uses the same parameters as real keys, so an unknown site costs
        // what a real verification costs.
        let started = Instant::now();
        let dummy = me
            .on_pool(move |scratch| {
                let s = crypto::Secret::mint(crypto::SecretKind::Enrollment);
                crypto::argon2_hash_with(scratch, &s, params).unwrap_or_default()
            })
            .await
            .unwrap_or_default();
        me.note_duration(started.elapsed());
        me.dummy_phc = dummy.into();
        me
    }

    /// The Argon2 parameters for new keys.
    pub fn params(&self) -> Argon2Params {
        self.cfg.argon2
    }

    /// True when the pool's queue is full (the caller answers `rate_limited`).
    fn saturated(&self) -> bool {
        self.queued.get() >= i64::try_from(self.cfg.max_queue).unwrap_or(i64::MAX)
    }

    /// How many Argon2 jobs this verifier ran (hashes, verifications, dummies).
    pub fn argon2_runs(&self) -> u64 {
        self.runs.get()
    }

    /// Runs `f` on the Argon2 pool with that thread's working memory.
    pub async fn on_pool<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Argon2Scratch) -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        // Counted while waiting for a thread; the job itself uncounts when it starts, so
        // the count is right even if the request that queued it goes away.
        let queued = self.queued.clone();
        queued.inc();
        let job: Job = Box::new(move |scratch| {
            queued.dec();
            let _ = tx.send(span.in_scope(|| f(scratch)));
        });
        self.runs.inc();
        let sent = self
            .pool
            .tx
            .lock()
            .ok()
            .is_some_and(|t| t.send(job).is_ok());
        if sent {
            rx.await.ok()
        } else {
            None
        }
    }

    /// Checks `key` for the site `site_id` (`tenant/SITE`), whose record may not exist,
    /// presented by `source` (the requester's connection, else its agent key); `store`
    /// holds the failures every worker recorded.
    ///
    /// Every Argon2 run for a key not yet verified holds one of the source's `fail_limit`
    /// slots while it runs, and a wrong key keeps it as a failure for `fail_window`: so a
    /// burst of wrong keys from one source costs at most `fail_limit` Argon2 runs per
    /// window, not as many as can be queued before the first one fails. The answer to a
    /// source depends only on that source's own history, never on the site existing.
    /// A store that cannot be read is an error (no Argon2 ran).
    pub async fn verify(
        &self,
        store: &Store,
        site_id: &str,
        site: Option<&Versioned<SiteRecord>>,
        key: &EnrollmentKey,
        source: &str,
        now: crate::time_util::Timestamp,
    ) -> Result<Verdict, StoreError> {
        let now_ms = now.unix_ms();
        let Some(site) = site else {
            return self.unknown(store, key.secret(), source, now_ms).await;
        };
        let live: Vec<(u32, String)> = site
            .value
            .keys
            .iter()
            .filter(|k| {
                k.version == site.value.key_version
                    || k.retires_at
                        .as_deref()
                        .and_then(crate::time_util::Timestamp::parse)
                        .is_some_and(|t| t > now)
            })
            .map(|k| (k.version, k.phc.clone()))
            .collect();
        let slot: Slot = (
            site_id.to_owned(),
            site.revision,
            self.cache_key.digest(site_id, key.secret()),
        );
        self.check(store, site_id, slot, live, key.secret(), source, now_ms)
            .await
    }

    /// A key for something that does not exist: a dummy verification (one at a time for
    /// all of them), counted as the source's failure.
    async fn unknown(
        &self,
        store: &Store,
        secret: &crypto::Secret,
        source: &str,
        now_ms: i64,
    ) -> Result<Verdict, StoreError> {
        let Some(_slot) = self.reserve(store, source, now_ms).await? else {
            return Ok(Verdict::Throttled);
        };
        match self.unknown_gate.try_acquire() {
            Ok(_one) => {
                let phc = self.dummy_phc.clone();
                let secret = zeroize::Zeroizing::new(secret.expose().as_bytes().to_vec());
                let _ = self
                    .on_pool(move |scratch| crypto::argon2_verify_with(scratch, &secret, &phc))
                    .await;
            }
            // Another unknown key's dummy is running: take as long, without the pool.
            Err(_) => tokio::time::sleep(self.typical()).await,
        }
        self.record_failure(store, source, now_ms).await;
        Ok(Verdict::Denied)
    }

    /// Checks `secret` against the PHC strings `live` (by version) of the thing `gate`
    /// names, through the verified-key cache at `slot`.
    #[allow(
        clippy::too_many_arguments,
        reason = "the two callers differ in each: the gate, slot, keys and source"
    )]
    async fn check(
        &self,
        store: &Store,
        gate: &str,
        slot: Slot,
        live: Vec<(u32, String)>,
        secret: &crypto::Secret,
        source: &str,
        now_ms: i64,
    ) -> Result<Verdict, StoreError> {
        let cached = self.cache.lock().ok().and_then(|c| c.get(&slot).cloned());
        let cell = match cached {
            // A verified key: no Argon2, no throttle, no store.
            Some(cell) if cell.get().is_some_and(|v| v.is_some()) => {
                self.metrics.key_cache(true);
                cell
            }
            other => {
                self.metrics.key_cache(false);
                if self.saturated() {
                    return Ok(Verdict::Throttled);
                }
                match other {
                    Some(cell) => cell,
                    None => self.cell_for(slot.clone()),
                }
            }
        };
        let secret = zeroize::Zeroizing::new(secret.expose().as_bytes().to_vec());
        // One Argon2 run per (site, key) at a time: requests with the same key wait for
        // it. Only the request that runs it takes a throttle slot; a throttled run
        // leaves the cell empty for the next request to try.
        let outcome = cell
            .get_or_try_init(|| {
                async {
                    let Some(_slot) = self.reserve(store, source, now_ms).await? else {
                        return Err(Stop::Throttled);
                    };
                    // The site's line: at most `site_concurrency` of its unverified keys
                    // on the pool at once, the rest in order (a fair semaphore).
                    let gate = self.site_gate(gate);
                    let Ok(Ok(_turn)) =
                        tokio::time::timeout(self.cfg.site_wait, gate.acquire_owned()).await
                    else {
                        return Err(Stop::Throttled);
                    };
                    let live = live.clone();
                    let started = Instant::now();
                    let verified = self
                        .on_pool(move |scratch| {
                            live.iter()
                                .find(|(_, phc)| crypto::argon2_verify_with(scratch, &secret, phc))
                                .map(|(v, _)| *v)
                        })
                        .await
                        .flatten();
                    self.note_duration(started.elapsed());
                    if verified.is_none() {
                        // Recorded while the slot is still held: no gap for another run.
                        self.record_failure(store, source, now_ms).await;
                    }
                    Ok(verified)
                }
                .in_current_span()
            })
            .await;
        match outcome {
            Err(Stop::Throttled) => Ok(Verdict::Throttled),
            Err(Stop::Store(e)) => Err(e),
            Ok(Some(v)) if live.iter().any(|(lv, _)| lv == v) => Ok(Verdict::Valid(*v)),
            Ok(result) => {
                if result.is_none() {
                    // Keep only keys that verified; a wrong key leaves nothing behind.
                    if let Ok(mut c) = self.cache.lock() {
                        c.remove(&slot);
                    }
                }
                Ok(Verdict::Denied)
            }
        }
    }

    /// Checks API key `key` against its record `rec` (`None`: no key has its id), as
    /// the enrollment keys are checked: one Argon2 run per key and worker (the cache
    /// slot is the key id and its PHC strings, so only a roll retires it), a dummy run
    /// for an unknown id, and failures throttled per key id, shared by every worker.
    /// `Valid(0)` is the current secret, `Valid(1)` the one a roll replaced (the caller
    /// judges its grace).
    pub async fn verify_api_key(
        &self,
        store: &Store,
        rec: Option<&Versioned<ApiKeyRecord>>,
        key: &ApiKeyToken,
        now: crate::time_util::Timestamp,
    ) -> Result<Verdict, StoreError> {
        let source = format!("apikey:{}", key.key_id());
        let Some(rec) = rec else {
            return self
                .unknown(store, key.secret(), &source, now.unix_ms())
                .await;
        };
        let mut live = vec![(0, rec.value.phc.clone())];
        if let Some(p) = &rec.value.previous {
            live.push((1, p.phc.clone()));
        }
        // The slot's version: a keyed 64-bit hash of the live PHC strings, so a roll
        // retires the cached verdicts and a `last_used_at` write keeps them.
        let version = std::hash::BuildHasher::hash_one(&self.phc_hasher, &live);
        let slot: Slot = (
            source.clone(),
            version,
            self.cache_key.digest(&source, key.secret()),
        );
        self.check(
            store,
            &source,
            slot,
            live,
            key.secret(),
            &source,
            now.unix_ms(),
        )
        .await
    }

    /// True at most once a minute per API key: when this worker should note its use.
    pub fn first_use_this_minute(&self, key_id: &str) -> bool {
        let mut t = self.touched.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if t.len() >= MAX_CACHE {
            t.retain(|_, at| now.duration_since(*at) < Duration::from_secs(60));
        }
        match t.get(key_id) {
            Some(at) if now.duration_since(*at) < Duration::from_secs(60) => false,
            _ => {
                t.insert(key_id.to_owned(), now);
                true
            }
        }
    }

    fn cell_for(&self, slot: Slot) -> Arc<OnceCell<Option<u32>>> {
        match self.cache.lock() {
            Ok(mut c) => {
                if c.len() >= MAX_CACHE {
                    c.clear();
                }
                c.entry(slot).or_default().clone()
            }
            Err(_) => Arc::default(),
        }
    }

    /// The line of a known site.
    fn site_gate(&self, site_id: &str) -> Arc<tokio::sync::Semaphore> {
        let mut gates = self.site_gates.lock().unwrap_or_else(|e| e.into_inner());
        if gates.len() >= MAX_SITE_GATES && !gates.contains_key(site_id) {
            // Bounded memory: forget idle lines (a busy one is still held elsewhere).
            gates.retain(|_, g| Arc::strong_count(g) > 1);
        }
        gates
            .entry(site_id.to_owned())
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(self.cfg.site_concurrency)))
            .clone()
    }

    /// Folds one verification's duration into the typical duration.
    fn note_duration(&self, d: Duration) {
        let us = d.as_micros().min(u128::from(u32::MAX)) as u64;
        let old = self.typical_us.load(Ordering::Relaxed);
        let new = if old == 0 { us } else { (old * 7 + us) / 8 };
        self.typical_us.store(new, Ordering::Relaxed);
    }

    /// What a verification typically takes.
    fn typical(&self) -> Duration {
        Duration::from_micros(self.typical_us.load(Ordering::Relaxed))
    }

    /// Takes one of the source's throttle slots for an Argon2 run, unless its recent
    /// failures (recorded by any worker, and at least those this worker recorded) and
    /// this worker's runs in progress already hold them all.
    async fn reserve<'a>(
        &'a self,
        store: &Store,
        source: &str,
        now_ms: i64,
    ) -> Result<Option<Reservation<'a>>, StoreError> {
        let shared = store
            .recent_failures(&SourceDigest::of(source), now_ms, self.cfg.fail_window)
            .await?;
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if f.len() >= MAX_THROTTLED_SOURCES && !f.contains_key(source) {
            // Bounded memory: forget idle sources (runs in progress keep their count).
            f.retain(|_, s| s.running > 0);
        }
        let entry = f.entry(source.to_owned()).or_default();
        let horizon = Instant::now().checked_sub(self.cfg.fail_window);
        while entry
            .recent
            .front()
            .is_some_and(|t| horizon.is_some_and(|h| *t < h))
        {
            entry.recent.pop_front();
        }
        if shared.max(entry.recent.len()) + entry.running >= self.cfg.fail_limit {
            return Ok(None);
        }
        entry.running += 1;
        Ok(Some(Reservation {
            verifier: self,
            source: source.to_owned(),
        }))
    }

    /// Counts one failure of `source`: here at once, and in the shared record for every
    /// worker. A shared record that cannot be written is logged; the denial stands.
    async fn record_failure(&self, store: &Store, source: &str, now_ms: i64) {
        {
            let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
            let entry = f.entry(source.to_owned()).or_default();
            entry.recent.push_back(Instant::now());
            while entry.recent.len() > self.cfg.fail_limit {
                entry.recent.pop_front();
            }
        }
        let digest = SourceDigest::of(source);
        let noted = store
            .note_failure(&digest, now_ms, self.cfg.fail_window, self.cfg.fail_limit)
            .await;
        if let Err(e) = noted {
            tracing::warn!(error = %e, "could not record a failed enrollment for the shared throttle");
        }
    }
}

/// Why a verification stopped before Argon2.
enum Stop {
    /// The source's slots are all held, or the site's line is too long.
    Throttled,
    /// The shared failure count could not be read.
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Store(e)
    }
}

/// Recent failures and Argon2 runs in progress of one source.
#[derive(Debug, Default)]
struct SourceFailures {
    recent: VecDeque<Instant>,
    running: usize,
}

/// One throttle slot held while an Argon2 run is in progress; released on drop (also
/// when the request goes away mid-run).
struct Reservation<'a> {
    verifier: &'a KeyVerifier,
    source: String,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut f = self
            .verifier
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = f.get_mut(&self.source) {
            entry.running = entry.running.saturating_sub(1);
        }
    }
}
