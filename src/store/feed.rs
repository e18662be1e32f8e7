//! A bucket's changes in the order they were written, for the healer: every live record
//! and tombstone after a stream sequence (each key's latest write; a bucket keeps one
//! revision), read in batches through the server's index, so following a bucket costs
//! its write rate, never its size.

use serde::{de::DeserializeOwned, Serialize};
use time::OffsetDateTime;

use super::index::Record;
use super::scan;
use super::{StoreError, StoreKey, TypedBucket};

/// One write: the record now at a key (`None`: deleted), at its revision.
#[derive(Debug, Clone)]
pub struct Change<T> {
    /// The stream sequence, which is the record's revision.
    pub seq: u64,
    /// When it was written.
    pub time: Option<OffsetDateTime>,
    pub key: String,
    pub value: Option<T>,
}

/// Where a feed starts.
#[derive(Debug, Clone, Copy)]
pub enum Since {
    /// After this stream sequence.
    Seq(u64),
    /// At the first write at or after this time.
    Time(OffsetDateTime),
}

impl<K: StoreKey, T: Serialize + DeserializeOwned + Record> TypedBucket<K, T> {
    /// At most `max` changes from `since`, oldest first. A value that does not decode is
    /// skipped (the consistency checker reports it).
    pub async fn changes(&self, since: Since, max: usize) -> Result<Vec<Change<T>>, StoreError> {
        let from = match since {
            Since::Seq(s) => scan::From::Seq(s.saturating_add(1)),
            Since::Time(t) => scan::From::Time(t),
        };
        let batch = self
            .scanner()
            .next(&self.stream_name(), from, ">", max)
            .await?;
        Ok(batch
            .items
            .into_iter()
            .map(|i| {
                let key = self.key_of(&i.subject).to_owned();
                let value = if i.tombstone {
                    None
                } else {
                    self.decode(&key, &i.payload).ok()
                };
                Change {
                    seq: i.seq,
                    time: i.time,
                    key,
                    value,
                }
            })
            .collect())
    }
}
