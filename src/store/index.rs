//! Secondary indexes, answered by the server's subject index.
//!
//! One plain stream, `<prefix>_index` on `<prefix>.index.>`, holds one message per
//! indexed record, on a subject that names the fields its lists filter by
//! (`roster.index.machines.<tenant>.<SITE>.<state>`), with the record's key as payload.
//! Few distinct subjects (tenants × sites × states, not one per record) keep the
//! server's per-block subject state small, so a page on a literal subject or a short
//! wildcard costs work proportional to the page, not the store (measured: see
//! docs/performance.md, "Fleet scale").
//!
//! A record names its entry's stream sequence (`index_seq`), so an entry is current only
//! if its record points back at it: a list checks every entry against its record and
//! skips stale ones (a lost race's entry, the old entry of a moved record after a crash),
//! and `roster check` reports entries no record points at. The write order inside the
//! one CAS loop ([`super::TypedBucket::modify_from`]): new entry first, then the record
//! (naming it), then the old entry's removal.

use async_nats::jetstream;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::scan::{self, Scanner, StreamItem};
use super::{error_chain, StoreError};

/// What the store's CAS loop maintains for a record: its index entry (default: not
/// indexed) and its change note (default: none; see `records::ChangeNote`).
pub trait Record {
    /// True when a write that stops the record being indexed leaves its entry for a
    /// healer to remove (and the record naming it): that write is on a hot path (a
    /// redeemed invite), and readers skip an entry whose record's subject is not its.
    const UNINDEX_LATER: bool = false;
    /// The entry's subject below the bucket's index prefix, when the record is indexed.
    fn index_subject(&self) -> Option<String> {
        None
    }
    /// The stream sequence of the record's current entry.
    fn index_seq(&self) -> Option<u64> {
        None
    }
    /// Names the record's current entry.
    fn set_index_seq(&mut self, _seq: Option<u64>) {}
    /// Every entry subject of a record indexed in several places (a user, once per
    /// tenant it holds something in), sorted and distinct; by default the one of
    /// [`Record::index_subject`].
    fn index_subjects(&self) -> Vec<String> {
        self.index_subject().into_iter().collect()
    }
    /// The stream sequences of its entries, one per subject of
    /// [`Record::index_subjects`], in the same order.
    fn index_seqs(&self) -> Vec<u64> {
        self.index_seq().into_iter().collect()
    }
    /// Names its entries (in the order of [`Record::index_subjects`]).
    fn set_index_seqs(&mut self, seqs: Vec<u64>) {
        self.set_index_seq(seqs.first().copied());
    }
    /// True when the record names entry `seq` on `subject`: the entry is current
    /// (anything else is a lost race's, a moved record's old one, or a redeemed
    /// invite's left for a healer).
    fn names_entry(&self, subject: &str, seq: u64) -> bool {
        let subjects = self.index_subjects();
        let seqs = self.index_seqs();
        subjects.len() == seqs.len()
            && subjects
                .iter()
                .zip(&seqs)
                .any(|(s, q)| *q == seq && s == subject)
    }
    /// The admin change the record's latest write made, for the healer.
    fn note(&self) -> Option<&super::records::ChangeNote> {
        None
    }
    /// Drops the note (a write that did not make it must not carry it on).
    fn clear_note(&mut self) {}
}

/// What an index entry holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexEntry {
    pub v: u32,
    /// The indexed record's key in its bucket.
    pub key: String,
}

/// One entry read back.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: u64,
    pub subject: String,
    pub key: String,
}

/// The index of one bucket, inside the shared index stream.
#[derive(Debug, Clone)]
pub struct Index {
    js: jetstream::Context,
    stream_name: String,
    /// `<prefix>.index.<bucket suffix>`.
    subject_prefix: String,
    scanner: Scanner,
}

/// The index stream's name and subjects (the buckets' prefix names both).
pub fn stream_config(
    prefix: &str,
    bucket_prefix: &str,
    replicas: usize,
) -> jetstream::stream::Config {
    jetstream::stream::Config {
        name: format!("{bucket_prefix}_index"),
        description: Some("roster: secondary indexes of the KV buckets (list filters)".into()),
        subjects: vec![format!("{prefix}.index.>")],
        storage: jetstream::stream::StorageType::File,
        num_replicas: replicas.max(1),
        allow_direct: true,
        max_message_size: 1024,
        ..Default::default()
    }
}

impl Index {
    pub(super) fn new(js: jetstream::Context, stream_name: String, subject_prefix: String) -> Self {
        let scanner = Scanner::new(js.client());
        Self {
            js,
            stream_name,
            subject_prefix,
            scanner,
        }
    }

    /// The full subject of an entry subject (or filter) below this index.
    fn subject(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.subject_prefix)
    }

    /// Writes an entry for `key` on `suffix`; its stream sequence.
    pub(super) async fn add(&self, suffix: &str, key: &str) -> Result<u64, StoreError> {
        let body = serde_json::to_vec(&IndexEntry {
            v: super::records::SCHEMA_V,
            key: key.to_owned(),
        })
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let ack = self
            .js
            .publish(self.subject(suffix), Bytes::from(body))
            .await
            .map_err(|e| StoreError::Unavailable(error_chain(&e)))?
            .await
            .map_err(|e| StoreError::Unavailable(error_chain(&e)))?;
        Ok(ack.sequence)
    }

    /// Removes an entry (best effort: a stale entry is skipped by every reader anyway,
    /// and `roster check` reports it).
    ///
    /// With `no_erase`: async-nats 0.51's `Stream::delete_message` sends only the
    /// sequence, and the server's default is a secure erase, which overwrites the
    /// message and rewrites its whole block file with an fsync. Measured at 100k
    /// machines, the healers' removals of 9,000 redeemed invites' entries that way kept
    /// nats-server busy for over a minute (docs/performance.md, 2026-12-04). An index
    /// entry holds a key, nothing secret: a plain delete is enough.
    pub async fn remove(&self, seq: u64) {
        #[derive(Serialize)]
        struct Delete {
            seq: u64,
            no_erase: bool,
        }
        let res: Result<serde_json::Value, _> = self
            .js
            .request(
                format!("STREAM.MSG.DELETE.{}", self.stream_name),
                &Delete {
                    seq,
                    no_erase: true,
                },
            )
            .await;
        match res {
            Ok(v) if v.get("error").is_none() => {}
            Ok(v) => tracing::debug!(seq, error = %v["error"], "could not remove an index entry"),
            Err(e) => {
                tracing::debug!(seq, error = %error_chain(&e), "could not remove an index entry")
            }
        }
    }

    /// At most `max` entries on `filter` (below this index; `>` for all) after stream
    /// sequence `after`, and how many more match.
    pub(super) async fn entries(
        &self,
        filter: &str,
        after: u64,
        max: usize,
    ) -> Result<(Vec<Entry>, u64), StoreError> {
        let batch = self
            .scanner
            .next(
                &self.stream_name,
                scan::From::Seq(after.saturating_add(1)),
                &self.subject(filter),
                max,
            )
            .await?;
        let entries = batch
            .items
            .into_iter()
            .filter_map(|i| self.entry(i))
            .collect();
        Ok((entries, batch.pending))
    }

    fn entry(&self, i: StreamItem) -> Option<Entry> {
        let e: IndexEntry = serde_json::from_slice(&i.payload).ok()?;
        let subject = i
            .subject
            .strip_prefix(&self.subject_prefix)?
            .strip_prefix('.')?
            .to_owned();
        Some(Entry {
            seq: i.seq,
            subject,
            key: e.key,
        })
    }

    /// Every entry of this index, oldest first (`roster check`).
    pub async fn all(&self) -> Result<Vec<Entry>, StoreError> {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let (page, pending) = self.entries(">", after, 1000).await?;
            let Some(last) = page.last().map(|e| e.seq) else {
                return Ok(out);
            };
            out.extend(page);
            if pending == 0 {
                return Ok(out);
            }
            after = last;
        }
    }
}
