//! Counters every worker shares, so throttles and aggregations hold across a queue group
//! rather than per process (issue 13): the enrollment throttle's failures per source
//! (`roster_enroll_failures`) and the security log's tallies per (action, code, source)
//! and window (`roster_security_tallies`). Both buckets are written by strangers'
//! traffic, so both are bounded (`max_bytes`, `--counters-max-mib`: a failure record
//! is ~14 bytes per failure, a tally a few hundred bytes), forget by themselves (`max_age`) and
//! discard their *oldest* records when full: a write never fails for lack of room, and a
//! full bucket stops nothing else. Every write is a compare-and-swap through
//! [`TypedBucket::modify`].

use std::time::Duration;

use async_nats::jetstream::{self, kv};

use super::records::{EnrollFailuresRecord, SecurityTallyRecord, SCHEMA_V};
use super::{Decision, SourceDigest, Store, StoreConfig, StoreError, TallyKey};

/// The most windows a tally may move forward when it arrives after its window's event
/// was published (each move is one window later).
const MAX_TALLY_MOVES: usize = 4;

const ENROLL_FAILURES: &str = "enroll_failures";
const SECURITY_TALLIES: &str = "security_tallies";

/// True for the shared-counter buckets: counts that forget themselves, not roster's
/// state, so backups leave them out and a restore does not look at them.
pub(super) fn is_counter(suffix: &str) -> bool {
    matches!(suffix, ENROLL_FAILURES | SECURITY_TALLIES)
}

/// The limits of the two shared-counter buckets (`bucket_config` calls it for every
/// bucket; the others are left as they are).
pub(super) fn limits(cfg: &StoreConfig, suffix: &str, c: &mut kv::Config) {
    match suffix {
        ENROLL_FAILURES => {
            // A record lives the window after its last failure: then all its failures
            // are older than the window, and it would count nothing.
            c.max_age = cfg.enroll_fail_window;
            c.max_bytes = cfg.counters_max_bytes;
        }
        SECURITY_TALLIES => {
            c.max_age = tally_max_age(cfg.security_window);
            c.max_bytes = cfg.counters_max_bytes;
        }
        _ => {}
    }
}

/// How long a tally is kept: its window, the wait for every worker's count, and a few
/// windows more for counts that arrive late and move forward.
pub fn tally_max_age(window: Duration) -> Duration {
    window * (MAX_TALLY_MOVES as u32 + 2) + Duration::from_secs(60)
}

/// Makes the stream of a shared-counter bucket discard its oldest records when full, and
/// take the configured age limit (the KV API creates every bucket with `discard: new`
/// and never updates `max_age`). Other buckets are left alone.
pub(super) async fn tune_stream(
    js: &jetstream::Context,
    cfg: &kv::Config,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let ours = [ENROLL_FAILURES, SECURITY_TALLIES]
        .iter()
        .any(|s| cfg.bucket.ends_with(&format!("_{s}")));
    if !ours {
        return Ok(());
    }
    let mut stream = js.get_stream(format!("KV_{}", cfg.bucket)).await?;
    let mut sc = stream.info().await?.config.clone();
    if sc.discard != jetstream::stream::DiscardPolicy::Old || sc.max_age != cfg.max_age {
        sc.discard = jetstream::stream::DiscardPolicy::Old;
        sc.max_age = cfg.max_age;
        js.update_stream(&sc).await?;
    }
    Ok(())
}

fn window_ms(window: Duration) -> i64 {
    i64::try_from(window.as_millis()).unwrap_or(i64::MAX)
}

impl Store {
    /// The failures of `source` recorded by any worker within `window` before `now_ms`.
    pub async fn recent_failures(
        &self,
        source: &SourceDigest,
        now_ms: i64,
        window: Duration,
    ) -> Result<usize, StoreError> {
        let horizon = now_ms.saturating_sub(window_ms(window));
        Ok(self.enroll_failures.get(source).await?.map_or(0, |r| {
            r.value.failures.iter().filter(|t| **t >= horizon).count()
        }))
    }

    /// Records one failure of `source` at `now_ms` (dropping those older than `window`,
    /// and keeping at most `limit`), and returns its failures in the window now.
    pub async fn note_failure(
        &self,
        source: &SourceDigest,
        now_ms: i64,
        window: Duration,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let horizon = now_ms.saturating_sub(window_ms(window));
        let m = self
            .enroll_failures
            .modify(source, |cur| {
                let mut failures: Vec<i64> = cur
                    .map(|c| c.value.failures.clone())
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|t| *t >= horizon)
                    .collect();
                failures.push(now_ms);
                failures.sort_unstable();
                let excess = failures.len().saturating_sub(limit.max(1));
                failures.drain(..excess);
                Ok::<_, StoreError>(Decision::put(EnrollFailuresRecord {
                    v: SCHEMA_V,
                    failures,
                }))
            })
            .await?;
        Ok(m.current.map_or(0, |c| c.value.failures.len()))
    }

    /// Adds one worker's tally `add` (its count, first and last seen) to the shared tally
    /// at `key`. A tally whose event was already published takes it in the next window
    /// instead (`window_secs` later), so no count is lost and no window gets a second
    /// event. Returns where it landed.
    pub async fn merge_tally(
        &self,
        key: &TallyKey,
        add: &SecurityTallyRecord,
        window_secs: i64,
    ) -> Result<TallyKey, StoreError> {
        let mut key = key.clone();
        for _ in 0..=MAX_TALLY_MOVES {
            let window = key.window();
            let m = self
                .security_tallies
                .modify(&key, |cur| {
                    Ok::<_, StoreError>(match cur {
                        Some(c) if c.value.published_at.is_some() => Decision::Keep(false),
                        Some(c) => Decision::Put(summed(&c.value, add), true),
                        None => Decision::Put(
                            SecurityTallyRecord {
                                v: SCHEMA_V,
                                window,
                                published_at: None,
                                ..add.clone()
                            },
                            true,
                        ),
                    })
                })
                .await?;
            if m.extra {
                return Ok(key);
            }
            key = key.next(window_secs);
        }
        Err(StoreError::Conflict)
    }

    /// Claims the tally at `key` for publishing: the one caller that marks it published
    /// gets it back; everyone else (and a tally that expired) gets `None`.
    pub async fn claim_tally(
        &self,
        key: &TallyKey,
        now: &str,
    ) -> Result<Option<SecurityTallyRecord>, StoreError> {
        let m = self
            .security_tallies
            .modify(key, |cur| {
                Ok::<_, StoreError>(match cur {
                    Some(c) if c.value.published_at.is_none() => {
                        let mut claimed = c.value.clone();
                        claimed.published_at = Some(now.to_owned());
                        Decision::Put(claimed.clone(), Some(claimed))
                    }
                    _ => Decision::Keep(None),
                })
            })
            .await?;
        Ok(m.extra)
    }
}

/// `a` with `b`'s count added and the wider of their first and last seen (RFC 3339 UTC
/// with milliseconds sorts as text).
fn summed(a: &SecurityTallyRecord, b: &SecurityTallyRecord) -> SecurityTallyRecord {
    let mut out = a.clone();
    out.count = a.count.saturating_add(b.count);
    if b.first_seen < out.first_seen {
        out.first_seen = b.first_seen.clone();
    }
    if b.last_seen > out.last_seen {
        out.last_seen = b.last_seen.clone();
    }
    out
}
