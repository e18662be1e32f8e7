//! Verifying site enrollment keys at fleet scale.
//!
//! - Argon2id runs on a bounded pool (one permit per core) via `spawn_blocking`, never on
//!   the async runtime's threads, so a flood of bad keys cannot starve other requests.
//! - A verified-key cache remembers, per site record revision, a keyed digest (HMAC with a
//!   process-local key) of each key that verified, so a fleet enrolling with one installer
//!   key costs one Argon2 run. Racing first requests share that one run (single flight).
//!   Rotation changes the site record's revision, which makes old entries dead.
//! - Unknown sites cost a dummy verification, so timing does not tell which sites exist.
//! - Failed attempts are throttled per site; cache hits are never throttled, so a flood of
//!   wrong keys does not lock out the agents that hold the right one.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OnceCell, Semaphore};
use tracing::Instrument;

use crate::crypto::{self, Argon2Params, CacheKey};
use crate::domain::EnrollmentKey;
use crate::store::records::SiteRecord;
use crate::store::Versioned;

/// Limits of the verifier.
#[derive(Debug, Clone)]
pub struct KeyringConfig {
    /// Argon2 parameters for new keys (and the dummy hash).
    pub argon2: Argon2Params,
    /// Concurrent Argon2 runs; defaults to the number of cores.
    pub pool_size: usize,
    /// Failed attempts per site allowed within `fail_window` before `rate_limited`.
    pub fail_limit: usize,
    /// The throttle's window.
    pub fail_window: Duration,
}

impl Default for KeyringConfig {
    fn default() -> Self {
        Self {
            argon2: Argon2Params::default(),
            pool_size: std::thread::available_parallelism().map_or(2, |n| n.get()),
            fail_limit: 20,
            fail_window: Duration::from_secs(60),
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
    /// Too many failures at this site recently.
    Throttled,
}

type Slot = (String, u64, [u8; 32]);

const MAX_CACHE: usize = 10_000;
const MAX_THROTTLED_SITES: usize = 10_000;

/// Verifies enrollment keys; one per worker.
#[derive(Debug)]
pub struct KeyVerifier {
    cfg: KeyringConfig,
    pool: Arc<Semaphore>,
    cache_key: CacheKey,
    cache: Mutex<HashMap<Slot, Arc<OnceCell<Option<u32>>>>>,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
    dummy_phc: Arc<str>,
    runs: AtomicU64,
}

impl KeyVerifier {
    /// A verifier. Computing the dummy hash takes one Argon2 run.
    pub async fn new(cfg: KeyringConfig) -> Self {
        let params = cfg.argon2;
        let dummy = tokio::task::spawn_blocking(move || crypto::dummy_phc(params))
            .await
            .unwrap_or_default();
        Self {
            pool: Arc::new(Semaphore::new(cfg.pool_size.max(1))),
            cfg,
            cache_key: CacheKey::default(),
            cache: Mutex::default(),
            failures: Mutex::default(),
            dummy_phc: dummy.into(),
            runs: AtomicU64::new(0),
        }
    }

    /// The Argon2 parameters for new keys.
    pub fn params(&self) -> Argon2Params {
        self.cfg.argon2
    }

    /// How many Argon2 jobs this verifier ran (hashes, verifications, dummies).
    pub fn argon2_runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Runs `f` on the bounded Argon2 pool.
    pub async fn on_pool<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let _permit = self.pool.acquire().await.ok()?;
        self.runs.fetch_add(1, Ordering::Relaxed);
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(f))
            .await
            .ok()
    }

    /// Checks `key` for the site `site_id` (`tenant/SITE`), whose record may not exist.
    pub async fn verify(
        &self,
        site_id: &str,
        site: Option<&Versioned<SiteRecord>>,
        key: &EnrollmentKey,
    ) -> Verdict {
        let Some(site) = site else {
            if self.throttled(site_id) {
                return Verdict::Throttled;
            }
            let phc = self.dummy_phc.clone();
            let secret = zeroize::Zeroizing::new(key.secret().expose().as_bytes().to_vec());
            let _ = self
                .on_pool(move || crypto::argon2_verify(&secret, &phc))
                .await;
            self.record_failure(site_id);
            return Verdict::Denied;
        };
        let now = time::OffsetDateTime::now_utc();
        let live: Vec<(u32, String)> = site
            .value
            .keys
            .iter()
            .filter(|k| {
                k.version == site.value.key_version
                    || k.retires_at
                        .as_deref()
                        .and_then(crate::time_util::parse_rfc3339)
                        .is_some_and(|t| t > now)
            })
            .map(|k| (k.version, k.phc.clone()))
            .collect();
        let slot: Slot = (
            site_id.to_owned(),
            site.revision,
            self.cache_key.digest(site_id, key.secret()),
        );
        let cached = self.cache.lock().ok().and_then(|c| c.get(&slot).cloned());
        let cell = match cached {
            // A verified key: no Argon2, no throttle.
            Some(cell) if cell.get().is_some_and(|v| v.is_some()) => cell,
            other => {
                if self.throttled(site_id) {
                    return Verdict::Throttled;
                }
                match other {
                    Some(cell) => cell,
                    None => self.cell_for(slot.clone()),
                }
            }
        };
        let secret = zeroize::Zeroizing::new(key.secret().expose().as_bytes().to_vec());
        let result = *cell
            .get_or_init(|| {
                async {
                    let live = live.clone();
                    self.on_pool(move || {
                        live.iter()
                            .find(|(_, phc)| crypto::argon2_verify(&secret, phc))
                            .map(|(v, _)| *v)
                    })
                    .await
                    .flatten()
                }
                .in_current_span()
            })
            .await;
        match result {
            Some(v) if live.iter().any(|(lv, _)| *lv == v) => Verdict::Valid(v),
            _ => {
                if result.is_none() {
                    // Keep only keys that verified; a wrong key leaves nothing behind.
                    if let Ok(mut c) = self.cache.lock() {
                        c.remove(&slot);
                    }
                }
                self.record_failure(site_id);
                Verdict::Denied
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

    fn throttled(&self, site_id: &str) -> bool {
        let Ok(mut f) = self.failures.lock() else {
            return false;
        };
        let Some(q) = f.get_mut(site_id) else {
            return false;
        };
        let horizon = Instant::now().checked_sub(self.cfg.fail_window);
        while q.front().is_some_and(|t| horizon.is_some_and(|h| *t < h)) {
            q.pop_front();
        }
        q.len() >= self.cfg.fail_limit
    }

    fn record_failure(&self, site_id: &str) {
        let Ok(mut f) = self.failures.lock() else {
            return;
        };
        if f.len() >= MAX_THROTTLED_SITES && !f.contains_key(site_id) {
            f.clear();
        }
        let q = f.entry(site_id.to_owned()).or_default();
        q.push_back(Instant::now());
        while q.len() > self.cfg.fail_limit {
            q.pop_front();
        }
    }
}
