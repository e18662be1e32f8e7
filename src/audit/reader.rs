//! Reading events back: the pages behind `audit.query`, and whole-stream reads for
//! `roster check` and the tests.
//!
//! A page is the most recent `limit` matching events before a point in the stream,
//! oldest first; its cursor is the stream sequence of its oldest event, and the next page
//! holds the `limit` matches before that. Paging goes back in time, as `tail` and
//! `journalctl` do, so a request without a cursor answers what it always did.
//!
//! The server does the filtering it can (batched direct get, [`crate::store::scan`]): the
//! action is the subject (`P.audit.<action>`, wildcards allowed), `since` and `until`
//! become stream sequences by the server's time index, and the cursor is a sequence.
//! Actor, target and outcome filters are applied to the events read, at most
//! [`SCAN_BUDGET`] of them per page: a page that ran out of budget comes back short with
//! a cursor, and the next page goes on from there.

use std::collections::VecDeque;

use async_nats::jetstream;
use time::OffsetDateTime;

use super::{AuditEvent, Auditor, Outcome, Target};
use crate::store::scan::{self, Scanner};
use crate::store::{error_chain, StoreError};

/// Most events one page reads to fill itself through filters the server cannot apply.
pub(crate) const SCAN_BUDGET: u64 = 20_000;

/// Filters of `audit.query`, already validated.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// A subject filter below `P.audit.` (`invite.created`, `user.>`).
    pub action: Option<String>,
    pub actor: Option<String>,
    /// A target id (`alice`) or the `type:id` form tables print (`user:alice`).
    pub target: Option<String>,
    pub outcome: Option<Outcome>,
    /// Inclusive lower bound on the time the stream stored the event.
    pub since: Option<OffsetDateTime>,
    /// Exclusive upper bound on the time the stream stored the event.
    pub until: Option<OffsetDateTime>,
    pub limit: usize,
    /// Only events before this stream sequence (a previous page's cursor).
    pub before: Option<u64>,
    /// Read the security stream (strangers' refusals) instead of the audit stream.
    pub security: bool,
    /// Only events of these tenants (a scan within the page's budget, like `actor`).
    pub tenants: Option<Vec<String>>,
    /// Only events about this product (their `metadata.product`).
    pub product: Option<String>,
}

impl AuditFilter {
    /// True when the event passes the filters the stream cannot apply itself.
    fn matches(&self, ev: &AuditEvent) -> bool {
        self.actor.as_ref().is_none_or(|a| *a == ev.actor.id)
            && self
                .target
                .as_ref()
                .is_none_or(|t| target_matches(t, &ev.target))
            && self.outcome.is_none_or(|o| o == ev.outcome)
            && self
                .tenants
                .as_ref()
                .is_none_or(|ts| ev.tenant.as_ref().is_some_and(|t| ts.contains(t)))
            && self.product.as_ref().is_none_or(|p| {
                ev.metadata.get("product").and_then(|v| v.as_str()) == Some(p.as_str())
            })
    }
}

/// True when `filter` names `target`: by its id (`alice`), or as `type:id`
/// (`user:alice`), the form the audit table prints.
pub fn target_matches(filter: &str, target: &Target) -> bool {
    filter == target.id
        || filter
            .split_once(':')
            .is_some_and(|(kind, id)| kind == target.kind && id == target.id)
}

/// One page of `audit.query`: matching events oldest first, and where the page before
/// it ends when there are more.
#[derive(Debug, Clone, Default)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// The stream sequence of this page's oldest event, when older matches remain.
    pub cursor: Option<u64>,
}

/// One stored event and where the stream holds it.
struct Stored {
    seq: u64,
    event: AuditEvent,
}

/// Sequences read per consumer at first when paging back; each further step back reads
/// twice as many, so a sparse filter costs a few consumers, not one per event.
const FIRST_STEP: u64 = 256;
/// Most count probes that size a page's first step back.
const PROBES: usize = 6;
/// The most sequences one step back reads.
const MAX_STEP: u64 = 1 << 20;

impl Auditor {
    /// One page of matching events: the most recent `limit` before `f.before` (or the
    /// end), oldest first, with a cursor when older matches remain.
    pub async fn query(&self, f: &AuditFilter) -> Result<AuditPage, StoreError> {
        let (stream_name, root) = if f.security {
            (self.security.stream(), "security")
        } else {
            (self.stream_name.as_str(), "audit")
        };
        let filter_subject = match &f.action {
            Some(a) => format!("{}.{root}.{a}", self.subject_prefix),
            None => format!("{}.{root}.>", self.subject_prefix),
        };
        let started = std::time::Instant::now();
        let stream = self
            .js
            .get_stream(stream_name)
            .await
            .map_err(|e| unavailable(&e))?;
        let state = &stream.cached_info().state;
        if state.messages == 0 || f.limit == 0 {
            return Ok(AuditPage::default());
        }
        let info_us = started.elapsed().as_micros() as u64;
        let scanner = Scanner::new(self.js.client());
        // The time range as stream sequences, by the server's time index.
        let mut floor = state.first_sequence.max(1);
        if let Some(since) = f.since {
            match seq_at(&scanner, stream_name, since).await? {
                Some(seq) => floor = floor.max(seq),
                None => return Ok(AuditPage::default()),
            }
        }
        let mut hi = f
            .before
            .unwrap_or(u64::MAX)
            .min(state.last_sequence.saturating_add(1));
        if let Some(until) = f.until {
            if let Some(seq) = seq_at(&scanner, stream_name, until).await? {
                hi = hi.min(seq);
            }
        }
        let want = f.limit.saturating_add(1);
        if hi <= floor {
            return Ok(AuditPage::default());
        }
        // The first step back is sized from the server's counts of matches (its subject
        // index answers them): a few probes find a start with about one page of matches
        // before `hi`, however the matches cluster, so a page reads about its size.
        let at_hi = matches_from(&scanner, stream_name, &filter_subject, hi).await?;
        let in_range = matches_from(&scanner, stream_name, &filter_subject, floor)
            .await?
            .saturating_sub(at_hi);
        if in_range == 0 {
            return Ok(AuditPage::default());
        }
        let want_u = u64::try_from(want).unwrap_or(u64::MAX);
        let mut lo = floor;
        let mut count = in_range;
        for _ in 0..PROBES {
            if count <= want_u.saturating_mul(2) && count >= want_u {
                break;
            }
            if count < want_u {
                // Too few after `lo`: only reachable after a probe moved it up too far.
                let wider = (hi - lo).saturating_mul(2).max(FIRST_STEP);
                lo = hi.saturating_sub(wider).max(floor);
            } else {
                let share = ((hi - lo) as f64) * (want_u as f64) / (count as f64) * 1.2;
                lo = hi.saturating_sub((share.ceil() as u64).max(1)).max(floor);
            }
            count = matches_from(&scanner, stream_name, &filter_subject, lo)
                .await?
                .saturating_sub(at_hi);
            if lo == floor {
                break;
            }
        }
        let mut step = (hi - lo).clamp(1, MAX_STEP);
        let mut found: VecDeque<Stored> = VecDeque::new();
        let mut scanned = 0u64;
        let mut out_of_budget = false;
        // Step back from `hi` until the page has one match more than it shows (then older
        // ones remain), the range begins, or the scan budget is spent.
        while hi > floor && found.len() < want {
            if scanned >= SCAN_BUDGET {
                out_of_budget = true;
                break;
            }
            let lo = hi.saturating_sub(step).max(floor);
            let mut older = Vec::new();
            for_each_event(&scanner, stream_name, &filter_subject, lo, hi, |s| {
                scanned += 1;
                if f.matches(&s.event) {
                    older.push(s);
                }
            })
            .await?;
            for s in older.into_iter().rev() {
                found.push_front(s);
            }
            hi = lo;
            step = step.saturating_mul(2).min(MAX_STEP);
        }
        tracing::debug!(
            in_range,
            scanned,
            found = found.len(),
            from = hi,
            step,
            info_us,
            us = started.elapsed().as_micros() as u64,
            "audit query read its page"
        );
        let extra = found.len().saturating_sub(f.limit);
        found.drain(..extra);
        let cursor = if extra > 0 {
            found.front().map(|s| s.seq)
        } else if out_of_budget {
            // Nothing more matched within the budget: go on below what was read.
            Some(found.front().map_or(hi, |s| s.seq.min(hi)))
        } else {
            None
        };
        Ok(AuditPage {
            events: found.into_iter().map(|s| s.event).collect(),
            cursor,
        })
    }

    /// Every event in the audit stream, oldest first (`roster check`, tests).
    pub async fn read_all(&self) -> Result<Vec<AuditEvent>, StoreError> {
        read_stream(
            &self.js,
            &self.stream_name,
            format!("{}.audit.>", self.subject_prefix),
        )
        .await
    }
}

fn unavailable(e: &(dyn std::error::Error + 'static)) -> StoreError {
    StoreError::Unavailable(error_chain(e))
}

/// Every event of `stream` on `filter`, oldest first.
pub(crate) async fn read_stream(
    js: &jetstream::Context,
    stream: &str,
    filter: String,
) -> Result<Vec<AuditEvent>, StoreError> {
    let scanner = Scanner::new(js.client());
    let mut out = Vec::new();
    for_each_event(&scanner, stream, &filter, 1, u64::MAX, |s| {
        out.push(s.event)
    })
    .await?;
    Ok(out)
}

/// How many messages on `filter` the stream holds at or after sequence `seq`.
async fn matches_from(
    scanner: &Scanner,
    stream: &str,
    filter: &str,
    seq: u64,
) -> Result<u64, StoreError> {
    let batch = scanner
        .next(stream, scan::From::Seq(seq), filter, 1)
        .await?;
    Ok(if batch.items.is_empty() {
        0
    } else {
        1 + batch.pending
    })
}

/// The sequence of the first message stored at or after `t`, if any.
async fn seq_at(
    scanner: &Scanner,
    stream: &str,
    t: OffsetDateTime,
) -> Result<Option<u64>, StoreError> {
    let batch = scanner.next(stream, scan::From::Time(t), ">", 1).await?;
    Ok(batch.items.first().map(|i| i.seq))
}

/// Feeds the events of `stream` on `filter` with sequences in `from..upto` to `f`,
/// oldest first, in batches the server filters by subject.
async fn for_each_event(
    scanner: &Scanner,
    stream: &str,
    filter: &str,
    from: u64,
    upto: u64,
    mut f: impl FnMut(Stored),
) -> Result<(), StoreError> {
    let mut next = from;
    while next < upto {
        let want = usize::try_from(upto - next)
            .unwrap_or(usize::MAX)
            .clamp(1, 500);
        let batch = scanner
            .next(stream, scan::From::Seq(next), filter, want)
            .await?;
        let Some(last) = batch.items.last().map(|i| i.seq) else {
            return Ok(());
        };
        for item in batch.items {
            if item.seq >= upto {
                return Ok(());
            }
            if let Ok(event) = serde_json::from_slice::<AuditEvent>(&item.payload) {
                f(Stored {
                    seq: item.seq,
                    event,
                });
            }
        }
        if batch.pending == 0 {
            return Ok(());
        }
        next = last + 1;
    }
    Ok(())
}

/// One stored event, for the healer's tail of the stream.
#[derive(Debug, Clone)]
pub struct Tailed {
    pub seq: u64,
    pub event: AuditEvent,
}

impl Auditor {
    /// At most `max` events of the audit stream from `from` on, oldest first.
    pub async fn tail(&self, from: scan::From, max: usize) -> Result<Vec<Tailed>, StoreError> {
        let scanner = Scanner::new(self.js.client());
        let batch = scanner.next(&self.stream_name, from, ">", max).await?;
        Ok(batch
            .items
            .into_iter()
            .filter_map(|i| {
                let event = serde_json::from_slice(&i.payload).ok()?;
                Some(Tailed { seq: i.seq, event })
            })
            .collect())
    }
}
