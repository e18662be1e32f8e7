//! Denials of strangers (PROTOCOL §5): signers that are not roster identities (unknown
//! keys, bad signatures, unknown invites, denied enrollments, refused connections).
//!
//! Nobody may fill the store with them, so they are never written one by one. Each
//! worker counts them in memory per (action, code, source) and per wall-clock minute,
//! and when the minute is over publishes one event per key on `P.security.<action>`
//! with the `count`, `first_seen` and `last_seen` in its metadata. The events go into
//! their own stream (`<PREFIX>_SECURITY`) with a size and an age limit that discards
//! the oldest; the audit stream of state changes never shares its limits, and a full
//! security stream never stops a state change (a failed publish here is dropped).
//!
//! Bounds: at most `max_keys` distinct keys per minute per worker (more fold into one
//! key whose source is `*`), so memory and the publish rate stay bounded whatever a
//! flood sends; with N workers, up to N events per key and minute (each worker counts
//! what it saw).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::audit::{Actor, ActorType, AuditEvent, Outcome, Target};
use crate::store::StoreError;
use crate::time_util;

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
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            max_age: Duration::from_secs(30 * 24 * 3600),
            window: Duration::from_secs(60),
            max_keys: 1024,
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
    first: OffsetDateTime,
    last: OffsetDateTime,
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
    /// Names this worker's events apart from other workers' (same key, same minute).
    worker: String,
    tallies: Mutex<HashMap<Key, Tally>>,
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
            }),
        }
    }

    /// The stream's name.
    pub fn stream(&self) -> &str {
        &self.inner.stream_name
    }

    /// Counts one denial. Cheap and synchronous: nothing is written until its window ends.
    pub fn record(&self, d: Denial) {
        let now = OffsetDateTime::now_utc();
        let secs = self.inner.cfg.window.as_secs().max(1) as i64;
        let window = now.unix_timestamp().div_euclid(secs) * secs;
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

    /// Publishes the tallies of every window that has ended (all of them when `all`).
    /// Returns how many events were published.
    pub async fn flush(&self, all: bool) -> usize {
        let secs = self.inner.cfg.window.as_secs().max(1) as i64;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let due: Vec<(Key, Tally)> = {
            let mut tallies = self.inner.tallies.lock().unwrap_or_else(|e| e.into_inner());
            let keys: Vec<Key> = tallies
                .keys()
                .filter(|k| all || k.window + secs <= now)
                .cloned()
                .collect();
            keys.into_iter()
                .filter_map(|k| tallies.remove(&k).map(|t| (k, t)))
                .collect()
        };
        let mut published = 0;
        for (key, tally) in due {
            let ev = self.event(&key, tally);
            match self.publish(&ev).await {
                Ok(()) => published += 1,
                // Never retried forever, never blocking anything: the count is lost.
                Err(e) => tracing::debug!(error = %e, "could not record a security event"),
            }
        }
        published
    }

    fn event(&self, key: &Key, t: Tally) -> AuditEvent {
        let dedup = format!(
            "security/{}/{}/{}/{}/{}",
            self.inner.worker, key.window, key.action, key.code, key.source
        );
        let mut ev = AuditEvent::new(
            &dedup,
            &key.action,
            Outcome::Denied,
            Actor {
                id: t.actor,
                kind: ActorType::Anonymous,
                name: None,
            },
            t.target,
        )
        .with("code", key.code.as_str())
        .with("count", t.count)
        .with("first_seen", time_util::rfc3339(t.first))
        .with("last_seen", time_util::rfc3339(t.last))
        .with("aggregated", true);
        ev.time = time_util::rfc3339(t.last);
        if key.source != "unknown" {
            ev.source = Some(key.source.clone());
        }
        if let Some((tenant, site)) = t.site {
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
