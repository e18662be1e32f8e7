//! Denials of strangers (PROTOCOL §5): signers that are not roster identities (unknown
//! keys, bad signatures, unknown invites, denied enrollments, refused connections).
//!
//! Nobody may fill the store with them, so they are never written one by one. Each
//! worker counts them in memory per (action, code, source) and per window (a wall-clock
//! minute by default; the worker's clock, adjustable in tests). When a window is over,
//! every worker adds what it counted to one shared tally per key and window in KV
//! (`roster_security_tallies`, a compare-and-swap sum through the store), and once the
//! other workers have had time to add theirs (`settle`: a twelfth of the window, 2 to
//! 10 s) one worker claims the tally (another compare-and-swap) and publishes it as the
//! key's one event on `P.security.<action>`, with the `count` summed over all workers
//! and the earliest `first_seen` and latest `last_seen` in its metadata. Its
//! `Nats-Msg-Id` names the key and window, not the worker, so even a second publish
//! would be dropped by the stream.
//!
//! The events go into their own stream (`<PREFIX>_SECURITY`) with a size and an age
//! limit that discards the oldest; the audit stream of state changes never shares its
//! limits, and a full security stream never stops a state change: the flusher runs
//! apart from every request, and a failed publish here is dropped. The tallies bucket
//! is bounded too (16 MiB, a few windows' age) and discards its oldest records, so a
//! full one stops nothing either.
//!
//! - A count that arrives after its window's event was published (a worker whose
//!   flusher ran late, a worker stopping, which publishes what it has at once) is added
//!   to the same key's next window instead: no count is lost and no window gets a
//!   second event.
//! - The store down: a worker that cannot add its tally publishes it alone, as an event
//!   of its own (named by the worker), so counts survive at the price of up to one event
//!   per worker for that key and window.
//! - Bounds: at most `max_keys` distinct keys per window per worker (more fold into one
//!   key whose source is `*`), so memory, the tallies bucket and the publish rate stay
//!   bounded whatever a flood sends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use tokio::sync::watch;

use crate::audit::{Actor, ActorType, AuditEvent, Outcome, Target};
use crate::store::records::{SecurityTallyRecord, SCHEMA_V};
use crate::store::{Store, StoreError, TallyKey};
use crate::time_util::{Clock, Timestamp};

/// Limits of the security stream and of the aggregation.
#[derive(Debug, Clone)]
pub struct SecurityConfig {
    /// Largest size of the stream; the oldest events go first.
    pub max_bytes: i64,
    /// Events older than this are dropped.
    pub max_age: Duration,
    /// The aggregation window (a minute by PROTOCOL §5).
    pub window: Duration,
    /// Distinct (action, code, source) keys kept per window before folding.
    pub max_keys: usize,
    /// The clock windows are measured by (the worker's; adjustable in tests).
    pub clock: Clock,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            max_age: Duration::from_secs(30 * 24 * 3600),
            window: Duration::from_secs(60),
            max_keys: 1024,
            clock: Clock::system(),
        }
    }
}

/// One refused attempt by a stranger.
#[derive(Debug, Clone)]
pub struct Denial {
    /// The audit action it attempted (`user.register`, `connect.denied`, …).
    pub action: String,
    /// The PROTOCOL code or refusal reason.
    pub code: String,
    /// Where it came from, when known: the connection's inbox token, or the client host.
    pub source: Option<String>,
    /// The claimed key or other non-secret actor id.
    pub actor: String,
    /// What it targeted.
    pub target: Target,
    /// The tenant and site it targeted, when it named one.
    pub site: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    window: i64,
    action: String,
    code: String,
    source: String,
}

#[derive(Debug)]
struct Tally {
    count: u64,
    first: Timestamp,
    last: Timestamp,
    actor: String,
    target: Target,
    site: Option<(String, String)>,
}

/// The aggregating publisher of strangers' denials.
#[derive(Debug, Clone)]
pub struct SecurityLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    js: jetstream::Context,
    prefix: String,
    stream_name: String,
    cfg: SecurityConfig,
    /// Names this worker's events apart from other workers' (same key, same minute),
    /// when it publishes alone (no shared tallies, or the store down).
    worker: String,
    tallies: Mutex<HashMap<Key, Tally>>,
    /// The shared tallies (set once the buckets are open; without them, each worker
    /// publishes what it counted itself).
    shared: OnceLock<Arc<Store>>,
    /// Shared tallies this worker added to, with when to try publishing them (unix secs).
    pending: Mutex<HashMap<TallyKey, i64>>,
}

/// How long after a window's end its shared tally waits for the other workers' counts:
/// a twelfth of the window, 2 to 10 s (every flusher ticks each second).
pub fn settle(window: Duration) -> Duration {
    (window / 12).clamp(Duration::from_secs(2), Duration::from_secs(10))
}

/// The security stream's name for a subject prefix (`roster` → `ROSTER_SECURITY`).
pub fn stream_name(prefix: &str) -> String {
    format!(
        "{}_SECURITY",
        prefix.replace(['.', '-'], "_").to_ascii_uppercase()
    )
}

/// The source token of a request: the second token of its reply subject. Under the
/// auth callout an onboarding client may only read `_INBOX.<its nkey>.>`, so this names
/// its connection; elsewhere it is the client library's per-connection inbox id.
pub fn source_of_reply(reply: Option<&str>) -> Option<String> {
    let reply = reply?;
    let mut tokens = reply.split('.');
    let first = tokens.next()?;
    let second = tokens.next()?;
    (first == "_INBOX" && !second.is_empty() && second.len() <= 64).then(|| second.to_owned())
}

impl SecurityLog {
    /// Opens the security stream, creating it when missing, and updating its limits when
    /// they changed (idempotent; safe to race).
    pub async fn ensure(
        js: jetstream::Context,
        prefix: &str,
        replicas: usize,
        cfg: SecurityConfig,
    ) -> Result<Self, crate::audit::AuditError> {
        let name = stream_name(prefix);
        let want = stream::Config {
            name: name.clone(),
            description: Some("roster: aggregated denials of non-identities".into()),
            subjects: vec![format!("{prefix}.security.>")],
            num_replicas: replicas,
            storage: stream::StorageType::File,
            max_bytes: cfg.max_bytes,
            max_age: cfg.max_age,
            max_message_size: 8 * 1024,
            discard: stream::DiscardPolicy::Old,
            duplicate_window: Duration::from_secs(120),
            allow_direct: true,
            ..Default::default()
        };
        crate::audit::ensure_stream(&js, want).await?;
        Ok(Self::on(js, prefix, cfg))
    }

    /// Opens the security stream as it is, creating and changing nothing (`roster check`).
    pub async fn open_existing(
        js: jetstream::Context,
        prefix: &str,
        cfg: SecurityConfig,
    ) -> Result<Self, crate::audit::AuditError> {
        crate::audit::existing_stream(&js, &stream_name(prefix)).await?;
        Ok(Self::on(js, prefix, cfg))
    }

    fn on(js: jetstream::Context, prefix: &str, cfg: SecurityConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                js,
                prefix: prefix.to_owned(),
                stream_name: stream_name(prefix),
                cfg,
                worker: crate::crypto::random_nonce_hex(),
                tallies: Mutex::default(),
                shared: OnceLock::new(),
                pending: Mutex::default(),
            }),
        }
    }

    /// Sums this worker's tallies with every other worker's in `store`'s shared tallies
    /// from now on (the first store given is kept).
    pub fn share_through(&self, store: Arc<Store>) {
        let _ = self.inner.shared.set(store);
    }

    fn window_secs(&self) -> i64 {
        self.inner.cfg.window.as_secs().max(1) as i64
    }

    /// The stream's name.
    pub fn stream(&self) -> &str {
        &self.inner.stream_name
    }

    /// Counts one denial. Cheap and synchronous: nothing is written until its window ends.
    pub fn record(&self, d: Denial) {
        let now = self.inner.cfg.clock.now();
        let secs = self.window_secs();
        let window = now.unix_secs().div_euclid(secs) * secs;
        let mut key = Key {
            window,
            action: d.action,
            code: d.code,
            source: d.source.unwrap_or_else(|| "unknown".into()),
        };
        let mut tallies = self.inner.tallies.lock().unwrap_or_else(|e| e.into_inner());
        if tallies.len() >= self.inner.cfg.max_keys && !tallies.contains_key(&key) {
            // Bounded memory: a flood of distinct sources folds into one key.
            key.source = "*".into();
        }
        tallies
            .entry(key)
            .and_modify(|t| {
                t.count += 1;
                t.last = now;
            })
            .or_insert(Tally {
                count: 1,
                first: now,
                last: now,
                actor: d.actor,
                target: d.target,
                site: d.site,
            });
    }

    /// Adds the tallies of every window that has ended (all of them when `all`) to the
    /// shared tallies, and publishes the shared tallies that are due (all this worker
    /// added to when `all`: a stopping worker leaves nothing behind). Returns how many
    /// events this worker published.
    pub async fn flush(&self, all: bool) -> usize {
        let secs = self.window_secs();
        let now = self.inner.cfg.clock.now();
        let due: Vec<(Key, Tally)> = {
            let mut tallies = self.inner.tallies.lock().unwrap_or_else(|e| e.into_inner());
            let keys: Vec<Key> = tallies
                .keys()
                .filter(|k| all || k.window + secs <= now.unix_secs())
                .cloned()
                .collect();
            keys.into_iter()
                .filter_map(|k| tallies.remove(&k).map(|t| (k, t)))
                .collect()
        };
        let mut published = 0;
        let settle = settle(self.inner.cfg.window).as_secs() as i64;
        for (key, tally) in due {
            let merged = match self.inner.shared.get() {
                Some(store) => {
                    let at = TallyKey::new(key.window, &key.action, &key.code, &key.source);
                    match store
                        .merge_tally(&at, &Self::as_record(&key, &tally), secs)
                        .await
                    {
                        Ok(landed) => Ok(landed),
                        Err(e) => Err(Some(e)),
                    }
                }
                None => Err(None),
            };
            match merged {
                Ok(landed) => {
                    let when = landed.window() + secs + settle;
                    let mut pending = self.inner.pending.lock().unwrap_or_else(|e| e.into_inner());
                    pending.insert(landed, when);
                }
                Err(why) => {
                    if let Some(e) = why {
                        tracing::debug!(error = %e, "could not share a security tally; publishing it alone");
                    }
                    let ev = self.own_event(&key, tally);
                    if self.publish_logged(&ev).await {
                        published += 1;
                    }
                }
            }
        }
        published + self.publish_shared(all, now).await
    }

    /// Claims and publishes the shared tallies whose wait is over (all when `all`).
    async fn publish_shared(&self, all: bool, now: Timestamp) -> usize {
        let Some(store) = self.inner.shared.get() else {
            return 0;
        };
        let ready: Vec<TallyKey> = {
            let mut pending = self.inner.pending.lock().unwrap_or_else(|e| e.into_inner());
            let keys: Vec<TallyKey> = pending
                .iter()
                .filter(|(_, when)| all || **when <= now.unix_secs())
                .map(|(k, _)| k.clone())
                .collect();
            for k in &keys {
                pending.remove(k);
            }
            keys
        };
        let mut published = 0;
        let stamp = now.to_rfc3339();
        for key in ready {
            match store.claim_tally(&key, &stamp).await {
                // Ours to publish; anyone else who added to it finds it claimed.
                Ok(Some(rec)) => {
                    if self.publish_logged(&Self::shared_event(rec)).await {
                        published += 1;
                    }
                }
                // Another worker published it, or it expired.
                Ok(None) => {}
                // Another worker that added to it may still publish it.
                Err(e) => tracing::debug!(error = %e, "could not claim a security tally"),
            }
        }
        published
    }

    /// Publishes `ev`; a failure is logged and dropped (never retried forever, never
    /// blocking anything: the count is lost).
    async fn publish_logged(&self, ev: &AuditEvent) -> bool {
        match self.publish(ev).await {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(error = %e, "could not record a security event");
                false
            }
        }
    }

    /// This worker's tally as a shared record (its window is set where it lands).
    fn as_record(key: &Key, t: &Tally) -> SecurityTallyRecord {
        SecurityTallyRecord {
            v: SCHEMA_V,
            window: key.window,
            action: key.action.clone(),
            code: key.code.clone(),
            source: key.source.clone(),
            count: t.count,
            first_seen: t.first.to_rfc3339(),
            last_seen: t.last.to_rfc3339(),
            actor: t.actor.clone(),
            target_id: t.target.id.clone(),
            target_type: t.target.kind.clone(),
            target_name: t.target.name.clone(),
            tenant: t.site.as_ref().map(|(tenant, _)| tenant.clone()),
            site: t.site.as_ref().map(|(_, site)| site.clone()),
            published_at: None,
        }
    }

    /// The one event of a shared tally, named by its key and window (not the worker).
    fn shared_event(r: SecurityTallyRecord) -> AuditEvent {
        let dedup = format!("security/{}/{}/{}/{}", r.window, r.action, r.code, r.source);
        Self::event(dedup, r)
    }

    /// A tally this worker publishes alone, named by the worker.
    fn own_event(&self, key: &Key, t: Tally) -> AuditEvent {
        let dedup = format!(
            "security/{}/{}/{}/{}/{}",
            self.inner.worker, key.window, key.action, key.code, key.source
        );
        Self::event(dedup, Self::as_record(key, &t))
    }

    fn event(dedup: String, r: SecurityTallyRecord) -> AuditEvent {
        let mut ev = AuditEvent::new(
            &dedup,
            &r.action,
            Outcome::Denied,
            Actor {
                id: r.actor,
                kind: ActorType::Anonymous,
                name: None,
            },
            Target {
                id: r.target_id,
                kind: r.target_type,
                name: r.target_name,
            },
        )
        .with("code", r.code.as_str())
        .with("count", r.count)
        .with("first_seen", r.first_seen.as_str())
        .with("last_seen", r.last_seen.as_str())
        .with("aggregated", true);
        ev.time = r.last_seen;
        if r.source != "unknown" {
            ev.source = Some(r.source);
        }
        if let (Some(tenant), Some(site)) = (r.tenant, r.site) {
            ev.tenant = Some(tenant);
            ev.site = Some(site);
        }
        ev
    }

    async fn publish(&self, ev: &AuditEvent) -> Result<(), StoreError> {
        let subject = format!("{}.security.{}", self.inner.prefix, ev.action);
        crate::audit::publish_event(&self.inner.js, subject, ev, 2).await
    }

    /// Flushes ended windows every second until `stop`, then everything left.
    pub async fn run_flusher(self, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !*stop.borrow() {
            tokio::select! {
                changed = stop.changed() => if changed.is_err() { break },
                _ = tick.tick() => { self.flush(false).await; }
            }
        }
        self.flush(true).await;
    }

    /// Reads every event in the security stream, oldest first (tests and `roster check`).
    pub async fn read_all(&self) -> Result<Vec<AuditEvent>, StoreError> {
        crate::audit::read_stream(
            &self.inner.js,
            &self.inner.stream_name,
            format!("{}.security.>", self.inner.prefix),
        )
        .await
    }
}

#[cfg(test)]
#[path = "security_test.rs"]
mod tests;
