//! One KV bucket of JSON records with typed keys: reads, and the compare-and-swap writes
//! (`create`, `update` and `delete` at a revision) that only the store's own operations
//! use. Conflict detection, including the 10164 code that async-nats 0.51 reports as
//! `Other`, and the retry of leaderless errors live here.

use std::marker::PhantomData;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures::TryStreamExt;
use serde::{de::DeserializeOwned, Serialize};

use super::index::{Index, Record};
use super::keys::StoreKey;
use super::scan::Scanner;
use super::{StoreError, Versioned};

/// JetStream API error codes that mean "the revision you expected is not the current one".
const WRONG_LAST_SEQUENCE: u64 = 10071;
const WRONG_LAST_SEQUENCE_CONSTANT: u64 = 10164;

/// The JetStream API error code anywhere in an error's source chain.
pub fn jetstream_error_code(err: &(dyn std::error::Error + 'static)) -> Option<u64> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(js) = e.downcast_ref::<jetstream::Error>() {
            return Some(js.error_code().0);
        }
        cur = e.source();
    }
    None
}

fn classify(err: &(dyn std::error::Error + 'static), already_exists: bool) -> StoreError {
    if already_exists {
        return StoreError::Conflict;
    }
    match jetstream_error_code(err) {
        Some(WRONG_LAST_SEQUENCE | WRONG_LAST_SEQUENCE_CONSTANT) => StoreError::Conflict,
        _ => {
            let chain = error_chain(err);
            // A stream with `discard: new` at its `max_bytes` (nats-server's ErrMaxBytes).
            if chain.contains("maximum bytes exceeded") {
                StoreError::Full(chain)
            } else {
                StoreError::Unavailable(chain)
            }
        }
    }
}

/// An error and its sources on one line, for logs.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}

fn unavailable(e: &(dyn std::error::Error + 'static)) -> StoreError {
    StoreError::Unavailable(error_chain(e))
}

/// Retries an operation that failed as `Unavailable` (no leader right after an election,
/// a timeout) with a short backoff. CAS writes are safe to retry: if an earlier attempt
/// landed, the retry reports `Conflict` and the caller re-reads.
async fn with_retry<T, F, Fut>(mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut delay = Duration::from_millis(50);
    let mut attempt = 0;
    loop {
        match op().await {
            Err(StoreError::Unavailable(why)) if attempt < 5 => {
                tracing::debug!(attempt, %why, "store unavailable, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(800));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A KV bucket whose keys are `K` and whose values are JSON records of type `T`.
/// Anyone may read; only the store's operations write (at a revision).
#[derive(Debug, Clone)]
pub struct TypedBucket<K, T> {
    // Shared: the bucket's handles are large (cached stream info), and every handler
    // future that holds a store would carry them.
    inner: std::sync::Arc<Inner>,
    /// The bucket's secondary index, if its records have one.
    pub(super) index: Option<std::sync::Arc<Index>>,
    _t: PhantomData<fn(&K) -> T>,
}

#[derive(Debug)]
struct Inner {
    kv: kv::Store,
    // The bucket's stream, for reads that must come from the leader.
    stream: jetstream::stream::Stream,
    name: String,
    /// Batched reads of the bucket's stream (pages, many records at once).
    scanner: Scanner,
}

impl<K: StoreKey, T: Serialize + DeserializeOwned + Record> TypedBucket<K, T> {
    pub(super) fn new(
        kv: kv::Store,
        stream: jetstream::stream::Stream,
        name: String,
        scanner: Scanner,
    ) -> Self {
        Self {
            inner: std::sync::Arc::new(Inner {
                kv,
                stream,
                name,
                scanner,
            }),
            index: None,
            _t: PhantomData,
        }
    }

    /// Batched reads of the bucket's stream.
    pub(super) fn scanner(&self) -> &Scanner {
        &self.inner.scanner
    }

    /// The KV store itself (a watch: `store::TenantView`).
    pub(super) fn kv(&self) -> &kv::Store {
        &self.inner.kv
    }

    /// The same bucket with a secondary index.
    pub(super) fn with_index(mut self, index: Index) -> Self {
        self.index = Some(std::sync::Arc::new(index));
        self
    }

    /// The bucket's secondary index (for `roster check`).
    pub fn index(&self) -> Option<&Index> {
        self.index.as_deref()
    }

    /// The name of the bucket's stream.
    pub(super) fn stream_name(&self) -> String {
        format!("KV_{}", self.inner.name)
    }

    /// The key a stream subject of this bucket names.
    pub(super) fn key_of<'a>(&self, subject: &'a str) -> &'a str {
        subject
            .strip_prefix("$KV.")
            .and_then(|s| s.strip_prefix(self.inner.name.as_str()))
            .and_then(|s| s.strip_prefix('.'))
            .unwrap_or(subject)
    }

    /// The stream subject of a stored key (or a filter below the bucket).
    pub(super) fn key_subject(&self, key: &str) -> String {
        format!("$KV.{}.{key}", self.inner.name)
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    fn encode(value: &T) -> Result<Bytes, StoreError> {
        serde_json::to_vec(value)
            .map(Bytes::from)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    pub(super) fn decode(&self, key: &str, bytes: &[u8]) -> Result<T, StoreError> {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError::Corrupt(format!("{}/{key}: {e}", self.inner.name)))
    }

    /// Reads a key; tombstones read as absent.
    pub async fn get(&self, key: &K) -> Result<Option<Versioned<T>>, StoreError> {
        let key = key.store_key();
        let entry = with_retry(|| async {
            self.inner
                .kv
                .entry(key.as_ref())
                .await
                .map_err(|e| unavailable(&e))
        })
        .await?;
        match entry {
            Some(e) if e.operation == kv::Operation::Put => Ok(Some(Versioned {
                value: self.decode(&key, &e.value)?,
                revision: e.revision,
            })),
            _ => Ok(None),
        }
    }

    /// Reads a key from the stream leader (`STREAM.MSG.GET`), never from a replica that
    /// may lag: for the consistency checker, where a stale read would be a false alarm.
    pub(super) async fn get_from_leader(&self, key: &str) -> Result<Option<T>, StoreError> {
        let subject = format!("$KV.{}.{key}", self.inner.name);
        let msg = with_retry(|| async {
            match self
                .inner
                .stream
                .get_last_raw_message_by_subject(&subject)
                .await
            {
                Ok(m) => Ok(Some(m)),
                Err(e)
                    if e.kind() == jetstream::stream::LastRawMessageErrorKind::NoMessageFound =>
                {
                    Ok(None)
                }
                Err(e) => Err(unavailable(&e)),
            }
        })
        .await?;
        let Some(m) = msg else { return Ok(None) };
        let op = m.headers.get("KV-Operation").map(|v| v.as_str().to_owned());
        if matches!(op.as_deref(), Some("DEL") | Some("PURGE")) || m.payload.is_empty() {
            return Ok(None);
        }
        self.decode(key, &m.payload).map(Some)
    }

    /// Every live value read from the leader, by key (for the consistency checker).
    pub async fn all_from_leader(&self) -> Result<Vec<(String, T)>, StoreError> {
        let mut out = Vec::new();
        for key in self.keys().await? {
            if let Some(v) = self.get_from_leader(&key).await? {
                out.push((key, v));
            }
        }
        Ok(out)
    }

    /// Writes a key that must not exist (a tombstone counts as absent): `Conflict` if it
    /// does. A decision-free write: a fresh id, a uid claim, an index entry.
    pub async fn create(&self, key: &K, value: &T) -> Result<u64, StoreError> {
        let key = key.store_key();
        let bytes = Self::encode(value)?;
        with_retry(|| async {
            self.inner
                .kv
                .create(key.as_ref(), bytes.clone())
                .await
                .map_err(|e| {
                    let exists = e.kind() == kv::CreateErrorKind::AlreadyExists;
                    classify(&e, exists)
                })
        })
        .await
    }

    /// Writes a key only if its revision is still `revision`.
    pub(super) async fn update(
        &self,
        key: &K,
        value: &T,
        revision: u64,
    ) -> Result<u64, StoreError> {
        let key = key.store_key();
        let bytes = Self::encode(value)?;
        with_retry(|| async {
            self.inner
                .kv
                .update(key.as_ref(), bytes.clone(), revision)
                .await
                .map_err(|e| {
                    let wrong = e.kind() == kv::UpdateErrorKind::WrongLastRevision;
                    classify(&e, wrong)
                })
        })
        .await
    }

    /// Deletes a key only if its revision is still `revision`.
    pub(super) async fn delete(&self, key: &K, revision: u64) -> Result<(), StoreError> {
        let key = key.store_key();
        with_retry(|| async {
            self.inner
                .kv
                .delete_expect_revision(key.as_ref(), Some(revision))
                .await
                .map_err(|e| {
                    let wrong = e.kind() == kv::UpdateErrorKind::WrongLastRevision;
                    classify(&e, wrong)
                })
        })
        .await
    }

    /// Every live key, sorted.
    pub async fn keys(&self) -> Result<Vec<String>, StoreError> {
        let mut keys: Vec<String> = with_retry(|| async {
            let stream = self.inner.kv.keys().await.map_err(|e| unavailable(&e))?;
            stream
                .try_collect::<Vec<String>>()
                .await
                .map_err(|e| unavailable(&e))
        })
        .await?;
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    /// The raw JSON of every live value, for schema checks.
    pub async fn dump_raw(&self) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        let mut out = Vec::new();
        for key in self.keys().await? {
            if let Some(bytes) = self.inner.kv.get(&key).await.map_err(|e| unavailable(&e))? {
                let v = serde_json::from_slice(&bytes)
                    .map_err(|e| StoreError::Corrupt(format!("{}/{key}: {e}", self.inner.name)))?;
                out.push((key, v));
            }
        }
        Ok(out)
    }
}
