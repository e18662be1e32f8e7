//! Reading a stream by the server's subject index: JetStream's batched direct get
//! (`$JS.API.DIRECT.GET.<stream>` with `batch` and `next_by_subj`, or `multi_last`,
//! nats-server 2.11+). async-nats 0.51 has no batched direct get, so this sends the
//! request itself and collects the replies up to the end-of-batch status (204 EOB).
//!
//! Costs measured on nats-server 2.15.1 (docs/performance.md, "Fleet scale"): a page of
//! 100 on a literal subject or `>` costs the same at 1k and 100k messages; a wildcard
//! over many distinct subjects walks them all, so filters are laid out as few subjects
//! (the index stream) and whole-bucket pages use `>`.

use std::time::Duration;

use async_nats::{HeaderMap, StatusCode};
use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;
use time::OffsetDateTime;

use super::{error_chain, StoreError};

/// The JetStream API prefix of the worker's context (no domain).
const API_PREFIX: &str = "$JS.API";
/// How long one batch may take before the store counts as unavailable.
const BATCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Most subjects one `multi_last` request names (nats-server allows 1024).
pub const MAX_MULTI_LAST: usize = 1000;

/// One stored message as a direct get returns it.
#[derive(Debug, Clone)]
pub struct StreamItem {
    pub subject: String,
    pub seq: u64,
    /// When the stream stored it.
    pub time: Option<OffsetDateTime>,
    /// A KV delete or purge marker (a tombstone): no value.
    pub tombstone: bool,
    pub payload: Bytes,
}

/// One batch and how many matching messages follow its last one.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub items: Vec<StreamItem>,
    /// Matching messages after the last item (the server's `Nats-Num-Pending` at EOB).
    pub pending: u64,
}

/// Where a batch starts.
#[derive(Debug, Clone, Copy)]
pub enum From {
    /// At this stream sequence (inclusive).
    Seq(u64),
    /// At the first message stored at or after this time.
    Time(OffsetDateTime),
}

#[derive(Serialize)]
struct Request<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_by_subj: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    multi_last: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    batch: Option<usize>,
}

/// Batched reads of streams through one NATS connection.
#[derive(Debug, Clone)]
pub struct Scanner {
    client: async_nats::Client,
}

impl Scanner {
    pub fn new(client: async_nats::Client) -> Self {
        Self { client }
    }

    /// At most `max` messages of `stream` on `filter` (`>` for all), from `from` on.
    pub async fn next(
        &self,
        stream: &str,
        from: From,
        filter: &str,
        max: usize,
    ) -> Result<Batch, StoreError> {
        let (seq, start_time) = match from {
            From::Seq(s) => (Some(s.max(1)), None),
            From::Time(t) => (
                None,
                Some(
                    t.format(&time::format_description::well_known::Rfc3339)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                ),
            ),
        };
        let req = Request {
            seq,
            start_time,
            next_by_subj: Some(filter),
            multi_last: None,
            batch: Some(max.max(1)),
        };
        self.send(stream, &req).await
    }

    /// The last message of each of `subjects` that has one (literal subjects; at most
    /// [`MAX_MULTI_LAST`]), in stream order.
    pub async fn last_of(
        &self,
        stream: &str,
        subjects: &[String],
    ) -> Result<Vec<StreamItem>, StoreError> {
        let mut out = Vec::with_capacity(subjects.len());
        for chunk in subjects.chunks(MAX_MULTI_LAST) {
            let req = Request {
                seq: None,
                start_time: None,
                next_by_subj: None,
                multi_last: Some(chunk),
                batch: Some(chunk.len()),
            };
            out.extend(self.send(stream, &req).await?.items);
        }
        Ok(out)
    }

    async fn send(&self, stream: &str, req: &Request<'_>) -> Result<Batch, StoreError> {
        let body = serde_json::to_vec(req).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let inbox = self.client.new_inbox();
        let mut sub = self
            .client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| StoreError::Unavailable(error_chain(&e)))?;
        self.client
            .publish_with_reply(
                format!("{API_PREFIX}.DIRECT.GET.{stream}"),
                inbox,
                body.into(),
            )
            .await
            .map_err(|e| StoreError::Unavailable(error_chain(&e)))?;
        let mut batch = Batch::default();
        let collect = async {
            while let Some(msg) = sub.next().await {
                match msg.status {
                    None | Some(StatusCode::OK) => {
                        if let Some(item) = item(msg.headers.as_ref(), msg.payload) {
                            batch.items.push(item);
                        }
                    }
                    // End of batch: how many more match.
                    Some(s) if s.as_u16() == 204 => {
                        batch.pending = header_u64(msg.headers.as_ref(), "Nats-Num-Pending");
                        return Ok(());
                    }
                    // Nothing matches.
                    Some(StatusCode::NOT_FOUND) => return Ok(()),
                    Some(StatusCode::NO_RESPONDERS) => {
                        return Err(StoreError::Unavailable(format!("no stream {stream}")))
                    }
                    Some(s) => {
                        return Err(StoreError::Unavailable(format!(
                            "direct get on {stream}: status {s} {}",
                            msg.description.unwrap_or_default()
                        )))
                    }
                }
            }
            Err(StoreError::Unavailable("connection closed".into()))
        };
        let res = tokio::time::timeout(BATCH_TIMEOUT, collect).await;
        let _ = sub.unsubscribe().await;
        match res {
            Ok(Ok(())) => Ok(batch),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(StoreError::Unavailable(format!(
                "direct get on {stream} timed out"
            ))),
        }
    }
}

fn header<'a>(h: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    h.and_then(|h| h.get(name)).map(|v| v.as_str())
}

fn header_u64(h: Option<&HeaderMap>, name: &str) -> u64 {
    header(h, name).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn item(h: Option<&HeaderMap>, payload: Bytes) -> Option<StreamItem> {
    let subject = header(h, "Nats-Subject")?.to_owned();
    let seq = header(h, "Nats-Sequence")?.parse().ok()?;
    let time = header(h, "Nats-Time-Stamp").and_then(|t| {
        OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    });
    let tombstone = matches!(header(h, "KV-Operation"), Some("DEL") | Some("PURGE"));
    Some(StreamItem {
        subject,
        seq,
        time,
        tombstone,
        payload,
    })
}
