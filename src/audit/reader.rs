//! Reading events back: the pages behind `audit.query`, and whole-stream reads for
//! `roster check` and the tests.
//!
//! A page is the most recent `limit` matching events before a point in the stream,
//! oldest first; its cursor is the stream sequence of its oldest event, and the next page
//! holds the `limit` matches before that. Paging goes back in time, as `tail` and
//! `journalctl` do, so a request without a cursor answers what it always did.

use std::collections::VecDeque;
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use time::OffsetDateTime;

use super::{AuditEvent, Auditor, Outcome, Target};
use crate::store::{error_chain, StoreError};

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
    published: OffsetDateTime,
    event: AuditEvent,
}

/// Sequences read per consumer at first when paging back; each further step back reads
/// twice as many, so a sparse filter costs a few consumers, not one per event.
const FIRST_STEP: u64 = 256;
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
        let stream = self
            .js
            .get_stream(stream_name)
            .await
            .map_err(|e| unavailable(&e))?;
        let state = &stream.cached_info().state;
        if state.messages == 0 || f.limit == 0 {
            return Ok(AuditPage::default());
        }
        let floor = state.first_sequence.max(1);
        let mut hi = f
            .before
            .unwrap_or(u64::MAX)
            .min(state.last_sequence.saturating_add(1));
        let want = f.limit.saturating_add(1);
        let mut step = FIRST_STEP.max(u64::try_from(want).unwrap_or(u64::MAX).min(MAX_STEP));
        let mut found: VecDeque<Stored> = VecDeque::new();
        // Step back from `hi` until the page has one match more than it shows (then older
        // ones remain), the stream begins, or the events get older than `since`.
        while hi > floor && found.len() < want {
            let lo = hi.saturating_sub(step).max(floor);
            let mut older = Vec::new();
            let mut before_since = false;
            let deliver = consumer::DeliverPolicy::ByStartSequence { start_sequence: lo };
            for_each_event(
                &self.js,
                stream_name,
                filter_subject.clone(),
                deliver,
                hi,
                |s| {
                    if f.since.is_some_and(|t| s.published < t) {
                        before_since = true;
                    } else if f.until.is_none_or(|t| s.published < t) && f.matches(&s.event) {
                        older.push(s);
                    }
                    true
                },
            )
            .await?;
            for s in older.into_iter().rev() {
                found.push_front(s);
            }
            if before_since {
                break;
            }
            hi = lo;
            step = step.saturating_mul(2).min(MAX_STEP);
        }
        let extra = found.len().saturating_sub(f.limit);
        found.drain(..extra);
        let cursor = (extra > 0).then(|| found.front().map(|s| s.seq)).flatten();
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
    let mut out = Vec::new();
    let deliver = consumer::DeliverPolicy::All;
    for_each_event(js, stream, filter, deliver, u64::MAX, |s| {
        out.push(s.event);
        true
    })
    .await?;
    Ok(out)
}

/// Feeds the events of `stream` on `filter` from `deliver` to `f`, oldest first, until
/// none are left, the stream sequence reaches `upto` (exclusive), or `f` returns false,
/// through a short-lived ephemeral consumer.
async fn for_each_event(
    js: &jetstream::Context,
    stream: &str,
    filter: String,
    deliver: consumer::DeliverPolicy,
    upto: u64,
    mut f: impl FnMut(Stored) -> bool,
) -> Result<(), StoreError> {
    let stream = js.get_stream(stream).await.map_err(|e| unavailable(&e))?;
    let start = match deliver {
        consumer::DeliverPolicy::ByStartSequence { start_sequence } => start_sequence,
        _ => 0,
    };
    let consumer = stream
        .create_consumer(consumer::pull::Config {
            filter_subject: filter,
            deliver_policy: deliver,
            ack_policy: consumer::AckPolicy::None,
            inactive_threshold: Duration::from_secs(30),
            memory_storage: true,
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable(&e))?;
    let name = consumer.cached_info().name.clone();
    let mut pending = consumer.cached_info().num_pending;
    // A batch never asks for more than the range holds (a short page stays cheap).
    let batch_size = usize::try_from(upto.saturating_sub(start).clamp(1, 500)).unwrap_or(500);
    'outer: while pending > 0 {
        let mut batch = consumer
            .fetch()
            .max_messages(batch_size)
            .messages()
            .await
            .map_err(|e| unavailable(&e))?;
        let mut got = 0;
        while let Some(msg) = batch.next().await {
            let msg = msg.map_err(|e| unavailable(&*e))?;
            got += 1;
            let Ok(info) = msg.info() else {
                pending = 0;
                continue;
            };
            pending = info.pending;
            if info.stream_sequence >= upto {
                break 'outer;
            }
            let (seq, published) = (info.stream_sequence, info.published);
            if let Ok(event) = serde_json::from_slice::<AuditEvent>(&msg.payload) {
                if !f(Stored {
                    seq,
                    published,
                    event,
                }) {
                    break 'outer;
                }
            }
        }
        if got == 0 {
            // Nothing came although the server said more was pending: ask again once.
            let info = stream
                .consumer_info(&name)
                .await
                .map_err(|e| unavailable(&e))?;
            if info.num_pending == 0 {
                break;
            }
        }
    }
    let _ = stream.delete_consumer(&name).await;
    Ok(())
}
