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
use std::time::Duration;

use async_nats::jetstream;
use time::OffsetDateTime;

use serde::{Deserialize, Serialize};

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
    /// Only events before this point (a previous page's cursor).
    pub before: Option<Cursor>,
    /// Read the security stream (strangers' refusals) instead of the audit stream.
    pub security: bool,
    /// Only events of these tenants: exactly one is read through the tenant index;
    /// several are a scan within the page's budget, like `actor`.
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
    /// Where this page's oldest event is, when older matches remain.
    pub cursor: Option<Cursor>,
}

/// One stored event: where the stream read holds it, and where the audit stream does.
struct Stored {
    seq: u64,
    audit_seq: u64,
    event: AuditEvent,
}

/// Sequences read per consumer at first when paging back; each further step back reads
/// twice as many, so a sparse filter costs a few consumers, not one per event.
const FIRST_STEP: u64 = 256;
/// Most count probes that size a page's first step back.
const PROBES: usize = 6;
/// The most sequences one step back reads.
const MAX_STEP: u64 = 1 << 20;

/// Where a page's oldest event is, for the next page: the audit stream's sequence, or
/// the tenant index's (a page read through [`tenant_index_name`]'s stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    Stream(u64),
    Tenant(u64),
}

/// Where one page reads: a stream, the subjects it asks the server for, and how a stored
/// message becomes an event and the audit sequence it has.
struct Source<'a> {
    stream: &'a str,
    filter_subject: String,
    /// True for the tenant index (its messages are [`IndexEntry`]s).
    index: bool,
}

impl Source<'_> {
    fn decode(&self, item: &scan::StreamItem) -> Option<Stored> {
        if self.index {
            let e: IndexEntry = serde_json::from_slice(&item.payload).ok()?;
            Some(Stored {
                seq: item.seq,
                audit_seq: e.seq,
                event: e.event,
            })
        } else {
            let event = serde_json::from_slice::<AuditEvent>(&item.payload).ok()?;
            Some(Stored {
                seq: item.seq,
                audit_seq: item.seq,
                event,
            })
        }
    }
}

/// One entry of the tenant index: an event of a tenant, and where the audit stream holds
/// it. Written by the workers' healers from the audit stream's tail (`Nats-Msg-Id` the
/// event's id, so workers indexing the same event store it once).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IndexEntry {
    pub(crate) seq: u64,
    pub(crate) event: AuditEvent,
}

/// The tenant index stream's name for a subject prefix (`roster` → `ROSTER_AUDIT_TENANTS`).
pub fn tenant_index_name(prefix: &str) -> String {
    format!("{}_TENANTS", super::stream_name(prefix))
}

/// What a step back found.
struct Found {
    events: VecDeque<Stored>,
    /// The sequence the step back stopped at (nothing below it was read).
    reached: u64,
    out_of_budget: bool,
}

impl Auditor {
    /// One page of matching events: the most recent `limit` before `f.before` (or the
    /// end), oldest first, with a cursor when older matches remain.
    ///
    /// A query for exactly one tenant reads that tenant's subjects in the tenant index
    /// (the server filters them), and the audit stream only for what the index does not
    /// hold yet (its newest events, a few seconds' worth); any other query reads the
    /// audit stream, the tenant filter then scanned like `actor`.
    pub async fn query(&self, f: &AuditFilter) -> Result<AuditPage, StoreError> {
        let (stream_name, root) = if f.security {
            (self.security.stream(), "security")
        } else {
            (self.stream_name.as_str(), "audit")
        };
        let main = Source {
            stream: stream_name,
            filter_subject: match &f.action {
                Some(a) => format!("{}.{root}.{a}", self.subject_prefix),
                None => format!("{}.{root}.>", self.subject_prefix),
            },
            index: false,
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
        let scanner = Scanner::new(self.js.client());
        // The time range as stream sequences, by the server's time index.
        let mut floor = state.first_sequence.max(1);
        if let Some(since) = f.since {
            match seq_at(&scanner, stream_name, since).await? {
                Some(seq) => floor = floor.max(seq),
                None => return Ok(AuditPage::default()),
            }
        }
        let mut hi = state.last_sequence.saturating_add(1);
        if let Some(Cursor::Stream(before)) = f.before {
            hi = hi.min(before);
        }
        if let Some(until) = f.until {
            if let Some(seq) = seq_at(&scanner, stream_name, until).await? {
                hi = hi.min(seq);
            }
        }
        let want = f.limit.saturating_add(1);
        let tenant = match f.tenants.as_deref() {
            Some([t]) if !f.security => Some(t.as_str()),
            _ => None,
        };
        let Some(tenant) = tenant else {
            if hi <= floor {
                return Ok(AuditPage::default());
            }
            let found =
                page_back(&scanner, &main, floor, hi, want, |s| f.matches(&s.event)).await?;
            tracing::debug!(
                us = started.elapsed().as_micros() as u64,
                "audit query read its page"
            );
            return Ok(stream_page(found, f.limit, floor));
        };
        // The tenant index: what it holds (up to audit sequence `indexed`), then the
        // newer events from the audit stream itself.
        let index_name = tenant_index_name(&self.subject_prefix);
        let (index_hi, indexed) = self.index_end(&scanner, &index_name).await?;
        let mut found = Found {
            events: VecDeque::new(),
            reached: hi,
            out_of_budget: false,
        };
        let tail_floor = floor.max(indexed.saturating_add(1));
        if !matches!(f.before, Some(Cursor::Tenant(_))) && hi > tail_floor {
            found = page_back(&scanner, &main, tail_floor, hi, want, |s| {
                f.matches(&s.event)
            })
            .await?;
            if found.out_of_budget || found.events.len() >= want {
                return Ok(stream_page(found, f.limit, floor));
            }
        }
        let index = Source {
            stream: &index_name,
            filter_subject: match &f.action {
                Some(a) => format!("{}.audit_tenant.{tenant}.{a}", self.subject_prefix),
                None => format!("{}.audit_tenant.{tenant}.>", self.subject_prefix),
            },
            index: true,
        };
        let mut ihi = index_hi;
        if let Some(Cursor::Tenant(before)) = f.before {
            ihi = ihi.min(before);
        }
        // Index entries are written a moment after their events: start a minute early.
        let mut ifloor = 1;
        if let Some(since) = f.since {
            // None: nothing was indexed since then.
            ifloor = seq_at(&scanner, &index_name, since - Duration::from_secs(60))
                .await?
                .unwrap_or(ihi);
        }
        let upto = hi.min(indexed.saturating_add(1));
        let older = page_back(
            &scanner,
            &index,
            ifloor,
            ihi,
            want - found.events.len(),
            |s| (floor..upto).contains(&s.audit_seq) && f.matches(&s.event),
        )
        .await?;
        tracing::debug!(
            tail = found.events.len(),
            indexed = older.events.len(),
            us = started.elapsed().as_micros() as u64,
            "audit query read its page through the tenant index"
        );
        // The tail's events are newer than every indexed one. A page whose oldest event
        // came from the tail goes on from its stream sequence (the next page then reads
        // the index); one whose oldest came from the index goes on in the index.
        let mut all = older.events;
        all.extend(found.events);
        let merged = Found {
            events: all,
            reached: older.reached,
            out_of_budget: older.out_of_budget,
        };
        let page = finish_page(
            merged,
            f.limit,
            ifloor,
            |s| {
                if s.audit_seq > indexed {
                    Cursor::Stream(s.seq)
                } else {
                    Cursor::Tenant(s.seq)
                }
            },
            Cursor::Tenant,
        );
        Ok(page)
    }

    /// The tenant index's end: the sequence after its last entry, and the audit
    /// sequence that entry indexes (0: empty, or no index).
    pub(crate) async fn index_end(
        &self,
        scanner: &Scanner,
        name: &str,
    ) -> Result<(u64, u64), StoreError> {
        let Ok(stream) = self.js.get_stream(name).await else {
            return Ok((1, 0));
        };
        let last = stream.cached_info().state.last_sequence;
        if last == 0 {
            return Ok((1, 0));
        }
        let batch = scanner.next(name, scan::From::Seq(last), ">", 1).await?;
        let seq = batch
            .items
            .first()
            .and_then(|i| serde_json::from_slice::<IndexEntry>(&i.payload).ok())
            .map_or(0, |e| e.seq);
        Ok((last + 1, seq))
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

/// Steps back from `hi` on `src` until `want` events pass `keep`, the range (`floor`)
/// begins, or the scan budget is spent. The first step is sized from the server's
/// counts of matches (its subject index answers them): a few probes find a start with
/// about one page of matches before `hi`, however the matches cluster, so a page reads
/// about its size.
async fn page_back(
    scanner: &Scanner,
    src: &Source<'_>,
    floor: u64,
    mut hi: u64,
    want: usize,
    keep: impl Fn(&Stored) -> bool,
) -> Result<Found, StoreError> {
    let mut found: VecDeque<Stored> = VecDeque::new();
    if hi <= floor || want == 0 {
        return Ok(Found {
            events: found,
            reached: hi,
            out_of_budget: false,
        });
    }
    let (stream, subject) = (src.stream, src.filter_subject.as_str());
    let at_hi = matches_from(scanner, stream, subject, hi).await?;
    let in_range = matches_from(scanner, stream, subject, floor)
        .await?
        .saturating_sub(at_hi);
    if in_range == 0 {
        return Ok(Found {
            events: found,
            reached: floor,
            out_of_budget: false,
        });
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
        count = matches_from(scanner, stream, subject, lo)
            .await?
            .saturating_sub(at_hi);
        if lo == floor {
            break;
        }
    }
    let mut step = (hi - lo).clamp(1, MAX_STEP);
    let mut scanned = 0u64;
    let mut out_of_budget = false;
    while hi > floor && found.len() < want {
        if scanned >= SCAN_BUDGET {
            out_of_budget = true;
            break;
        }
        let lo = hi.saturating_sub(step).max(floor);
        let mut older = Vec::new();
        for_each_item(scanner, stream, subject, lo, hi, |item| {
            scanned += 1;
            if let Some(s) = src.decode(item).filter(|s| keep(s)) {
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
    Ok(Found {
        events: found,
        reached: hi,
        out_of_budget,
    })
}

/// [`finish_page`] of a page read from the audit stream alone.
fn stream_page(found: Found, limit: usize, floor: u64) -> AuditPage {
    finish_page(
        found,
        limit,
        floor,
        |s| Cursor::Stream(s.seq),
        Cursor::Stream,
    )
}

/// The page of the `limit` newest events `found` holds, and its cursor: `at` names the
/// oldest kept event's place when an older match was found; `below` names where the
/// step back stopped when the budget ran out above `floor`.
fn finish_page(
    mut found: Found,
    limit: usize,
    floor: u64,
    at: impl Fn(&Stored) -> Cursor,
    below: fn(u64) -> Cursor,
) -> AuditPage {
    let extra = found.events.len().saturating_sub(limit);
    found.events.drain(..extra);
    let cursor = if extra > 0 {
        found.events.front().map(at)
    } else if found.out_of_budget && found.reached > floor {
        // Nothing more matched within the budget: go on below what was read.
        Some(below(found.reached))
    } else {
        None
    };
    AuditPage {
        events: found.events.into_iter().map(|s| s.event).collect(),
        cursor,
    }
}

/// Every event of `stream` on `filter`, oldest first.
pub(crate) async fn read_stream(
    js: &jetstream::Context,
    stream: &str,
    filter: String,
) -> Result<Vec<AuditEvent>, StoreError> {
    let scanner = Scanner::new(js.client());
    let mut out = Vec::new();
    for_each_item(&scanner, stream, &filter, 1, u64::MAX, |item| {
        if let Ok(event) = serde_json::from_slice::<AuditEvent>(&item.payload) {
            out.push(event);
        }
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

/// Feeds the messages of `stream` on `filter` with sequences in `from..upto` to `f`,
/// oldest first, in batches the server filters by subject.
async fn for_each_item(
    scanner: &Scanner,
    stream: &str,
    filter: &str,
    from: u64,
    upto: u64,
    mut f: impl FnMut(&scan::StreamItem),
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
        for item in &batch.items {
            if item.seq >= upto {
                return Ok(());
            }
            f(item);
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
