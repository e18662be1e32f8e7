//! One page of a `list` command, read through the server's subject index, in the order
//! records were last written (the stream's order). A cursor is the stream sequence of the
//! page's last record: the next page starts after it, so records written meanwhile
//! appear at the end, none is skipped, and one whose filtered fields changed during the
//! paging may show again at its new place.
//!
//! - [`TypedBucket::page`]: the bucket itself on a key filter (`>` for all, or a key
//!   prefix such as `<tenant>.>`); filters the key cannot express are applied to the
//!   records read, at most [`SCAN_BUDGET`] of them per page (a short page with a cursor
//!   means "go on").
//! - [`TypedBucket::page_indexed`]: the bucket's index on a subject filter; each entry
//!   is checked against its record, so stale entries never show.

use std::collections::HashMap;

use serde::{de::DeserializeOwned, Serialize};

use super::index::Record;
use super::scan;
use super::{StoreError, StoreKey, TypedBucket};

/// Most records one page reads to fill itself through a filter the server cannot apply.
pub const SCAN_BUDGET: usize = 10_000;
/// Most index rounds one page takes (each reads a batch of entries and their records).
const MAX_ROUNDS: usize = 16;

/// Items of one page and the cursor to the next (the stream sequence of the last record
/// read) when more may remain.
#[derive(Debug)]
pub struct Page<V> {
    pub items: Vec<V>,
    pub next: Option<u64>,
}

impl<K: StoreKey, T: Serialize + DeserializeOwned + Record> TypedBucket<K, T> {
    /// The records on key filter `filter` after stream sequence `after` that `keep`
    /// turns into items, at most `limit`.
    pub async fn page<V>(
        &self,
        filter: &str,
        after: Option<u64>,
        limit: usize,
        mut keep: impl FnMut(T) -> Option<V>,
    ) -> Result<Page<V>, StoreError> {
        let stream = self.stream_name();
        // The whole bucket is `>`, not `$KV.<bucket>.>`: the server serves `>` without
        // matching every key's subject (a wildcard over 100k keys walks them all).
        let subject = if filter == ">" {
            ">".to_owned()
        } else {
            self.key_subject(filter)
        };
        let mut items = Vec::new();
        let mut pos = after.unwrap_or(0);
        let mut read = 0usize;
        loop {
            let want = (limit - items.len()).clamp(1, 1000);
            let batch = self
                .scanner()
                .next(&stream, scan::From::Seq(pos + 1), &subject, want)
                .await?;
            let got = batch.items.len();
            for (i, item) in batch.items.into_iter().enumerate() {
                pos = item.seq;
                read += 1;
                if item.tombstone {
                    continue;
                }
                let key = self.key_of(&item.subject);
                if let Some(v) = keep(self.decode(key, &item.payload)?) {
                    items.push(v);
                }
                if items.len() == limit {
                    let more = i + 1 < got || batch.pending > 0;
                    return Ok(Page {
                        items,
                        next: more.then_some(pos),
                    });
                }
            }
            if got == 0 || batch.pending == 0 {
                return Ok(Page { items, next: None });
            }
            if read >= SCAN_BUDGET {
                return Ok(Page {
                    items,
                    next: Some(pos),
                });
            }
        }
    }

    /// The records whose index entries match `filter` (below the bucket's index), after
    /// stream sequence `after` of the index, that `keep` turns into items, at most
    /// `limit`. An entry counts only if its record names it (`Record::names_entry`).
    pub async fn page_indexed<V>(
        &self,
        filter: &str,
        after: Option<u64>,
        limit: usize,
        mut keep: impl FnMut(T) -> Option<V>,
    ) -> Result<Page<V>, StoreError> {
        let Some(index) = &self.index else {
            return Err(StoreError::Corrupt(format!("{} has no index", self.name())));
        };
        let stream = self.stream_name();
        let mut items = Vec::new();
        let mut pos = after.unwrap_or(0);
        for _ in 0..MAX_ROUNDS {
            let want = (limit - items.len()).clamp(1, scan::MAX_MULTI_LAST);
            let (entries, pending) = index.entries(filter, pos, want).await?;
            if entries.is_empty() {
                return Ok(Page { items, next: None });
            }
            let subjects: Vec<String> = entries.iter().map(|e| self.key_subject(&e.key)).collect();
            let mut records: HashMap<String, T> = HashMap::with_capacity(entries.len());
            for item in self.scanner().last_of(&stream, &subjects).await? {
                if item.tombstone {
                    continue;
                }
                let key = self.key_of(&item.subject).to_owned();
                let rec = self.decode(&key, &item.payload)?;
                records.insert(key, rec);
            }
            let got = entries.len();
            for (i, e) in entries.into_iter().enumerate() {
                pos = e.seq;
                let Some(rec) = records.remove(&e.key) else {
                    continue;
                };
                if !rec.names_entry(&e.subject, e.seq) {
                    continue;
                }
                if let Some(v) = keep(rec) {
                    items.push(v);
                }
                if items.len() == limit {
                    let more = i + 1 < got || pending > 0;
                    return Ok(Page {
                        items,
                        next: more.then_some(pos),
                    });
                }
            }
            if pending == 0 {
                return Ok(Page { items, next: None });
            }
        }
        Ok(Page {
            items,
            next: Some(pos),
        })
    }
}
