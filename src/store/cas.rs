//! The one compare-and-swap loop: read a record, let the caller decide, write at the
//! revision read, and on a conflict read again and decide again. Every decision in
//! roster goes through here, so "someone else wrote first" is handled in one place.

use serde::{de::DeserializeOwned, Serialize};

use super::bucket::TypedBucket;
use super::index::Record;
use super::keys::StoreKey;
use super::{StoreError, Versioned};

/// What a decision makes of the record it was shown. `R` is whatever the caller wants
/// back from the pass that won (the role before a change, say).
#[derive(Debug)]
pub enum Decision<T, R = ()> {
    /// Leave the record as it is (a repeat that changes nothing).
    Keep(R),
    /// Write this value: create it if the record is absent, else update at the revision read.
    Put(T, R),
    /// Delete the record at the revision read (nothing to do if it is absent).
    Delete(R),
}

impl<T> Decision<T> {
    /// `Put` with nothing else to return.
    pub fn put(value: T) -> Self {
        Decision::Put(value, ())
    }
}

/// The result of a decided change.
#[derive(Debug)]
pub struct Modified<T, R = ()> {
    /// The record now: the one written, or the one kept; `None` if absent or deleted.
    pub current: Option<Versioned<T>>,
    /// True when this call wrote (`Put` or `Delete` of a present record).
    pub changed: bool,
    /// What the winning decision returned.
    pub extra: R,
}

/// What the caller already knows of a record before [`TypedBucket::modify_from`]: each
/// read saved is a JetStream round trip off the hot path.
#[derive(Debug)]
pub enum Known<T> {
    /// Nothing: read it.
    Nothing,
    /// It is expected to be absent (a new user, a new machine): decide on that and
    /// `create`; if it exists after all, the conflict reads it and decides again.
    Absent,
    /// It was just read.
    Read(Option<Versioned<T>>),
}

impl<K: StoreKey, T: Serialize + DeserializeOwned + Clone + Record> TypedBucket<K, T> {
    /// Reads `key`, asks `decide`, and writes what it decided at the revision read.
    /// A lost race re-reads and asks again: `decide` must be a pure function of the
    /// record it is shown (it may run several times). Its errors end the loop unchanged.
    pub async fn modify<R, E>(
        &self,
        key: &K,
        decide: impl FnMut(Option<&Versioned<T>>) -> Result<Decision<T, R>, E>,
    ) -> Result<Modified<T, R>, E>
    where
        E: From<StoreError>,
    {
        self.modify_from(key, Known::Nothing, decide).await
    }

    /// Deletes `key` if it holds a record (idempotent); true if it deleted one.
    pub async fn remove(&self, key: &K) -> Result<bool, StoreError> {
        self.delete_if(key, |_| true).await
    }

    /// Deletes `key` if it is still at `revision` (a record changed since, or gone, is
    /// left alone); true if it deleted it.
    pub async fn delete_at(&self, key: &K, revision: u64) -> Result<bool, StoreError> {
        self.delete_if(key, |c| c.revision == revision).await
    }

    /// Deletes `key` if its record passes `keep_deleting` (decided again on a conflict).
    pub async fn delete_if(
        &self,
        key: &K,
        keep_deleting: impl Fn(&Versioned<T>) -> bool,
    ) -> Result<bool, StoreError> {
        let m = self
            .modify(key, |cur| {
                Ok::<_, StoreError>(match cur {
                    Some(c) if keep_deleting(c) => Decision::Delete(()),
                    _ => Decision::Keep(()),
                })
            })
            .await?;
        Ok(m.changed)
    }

    /// [`Self::modify`], starting from what the caller already knows of the record; only
    /// a lost race reads it (again).
    pub async fn modify_from<R, E>(
        &self,
        key: &K,
        known: Known<T>,
        mut decide: impl FnMut(Option<&Versioned<T>>) -> Result<Decision<T, R>, E>,
    ) -> Result<Modified<T, R>, E>
    where
        E: From<StoreError>,
    {
        let mut known = known;
        loop {
            let cur = match std::mem::replace(&mut known, Known::Nothing) {
                Known::Nothing => self.get(key).await?,
                Known::Absent => None,
                Known::Read(cur) => cur,
            };
            let written = match decide(cur.as_ref())? {
                Decision::Keep(extra) => {
                    return Ok(Modified {
                        current: cur,
                        changed: false,
                        extra,
                    })
                }
                Decision::Put(mut value, extra) => {
                    // A note describes the write that made it, never a later one.
                    if value.note().is_some()
                        && value.note() == cur.as_ref().and_then(|c| c.value.note())
                    {
                        value.clear_note();
                    }
                    // Boxed: the index work would otherwise grow every caller's future.
                    let placed =
                        Box::pin(self.place(key, cur.as_ref().map(|c| &c.value), &mut value))
                            .await?;
                    let res = match &cur {
                        Some(c) => self.update(key, &value, c.revision).await,
                        None => self.create(key, &value).await,
                    };
                    Box::pin(self.settle(placed, &res)).await;
                    res.map(|revision| Modified {
                        current: Some(Versioned { value, revision }),
                        changed: true,
                        extra,
                    })
                }
                Decision::Delete(extra) => {
                    let Some(c) = &cur else {
                        return Ok(Modified {
                            current: None,
                            changed: false,
                            extra,
                        });
                    };
                    let res = self.delete(key, c.revision).await;
                    let placed = Placed {
                        added: Vec::new(),
                        stale: c.value.index_seqs(),
                    };
                    Box::pin(self.settle(placed, &res)).await;
                    res.map(|()| Modified {
                        current: None,
                        changed: true,
                        extra,
                    })
                }
            };
            match written {
                Ok(m) => return Ok(m),
                // Someone else wrote first (or our own earlier attempt landed): decide again.
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl<K: StoreKey, T: Serialize + DeserializeOwned + Clone + Record> TypedBucket<K, T> {
    /// Gives record `key` the index entry it lacks (a restored record names none), the
    /// record otherwise unchanged, its note kept; true when it wrote one.
    pub(super) async fn reindex(&self, key: &K) -> Result<bool, StoreError> {
        loop {
            let Some(cur) = self.get(key).await? else {
                return Ok(false);
            };
            if !cur.value.index_seqs().is_empty() || cur.value.index_subjects().is_empty() {
                return Ok(false);
            }
            let mut value = cur.value.clone();
            let placed = Box::pin(self.place(key, None, &mut value)).await?;
            let res = self.update(key, &value, cur.revision).await;
            Box::pin(self.settle(placed, &res)).await;
            match res {
                Ok(_) => return Ok(true),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl<K: StoreKey, T: Serialize + DeserializeOwned + Clone + Record> TypedBucket<K, T> {
    /// [`Self::reindex`] of every record whose key `parse` takes; how many it indexed.
    pub(super) async fn reindex_all(
        &self,
        parse: impl Fn(&str) -> Option<K>,
    ) -> Result<usize, StoreError> {
        let mut n = 0;
        for key in self.keys().await? {
            if let Some(k) = parse(&key) {
                n += usize::from(self.reindex(&k).await?);
            }
        }
        Ok(n)
    }
}

/// The index entries one write adds and makes stale.
#[derive(Debug, Default)]
struct Placed {
    /// The entries written for the new value (removed again if the write loses).
    added: Vec<u64>,
    /// The old value's entries it no longer names (removed once the write lands).
    stale: Vec<u64>,
}

impl<K: StoreKey, T: Serialize + DeserializeOwned + Clone + Record> TypedBucket<K, T> {
    /// Before writing `next` over `cur`: if the bucket is indexed, keeps the entries of
    /// the subjects `next` shares with `cur`, writes one for each subject it adds, and
    /// names them all in `next`.
    async fn place(&self, key: &K, cur: Option<&T>, next: &mut T) -> Result<Placed, StoreError> {
        let Some(index) = &self.index else {
            return Ok(Placed::default());
        };
        let old_seqs = cur.map(Record::index_seqs).unwrap_or_default();
        let old_subjects = cur.map(Record::index_subjects).unwrap_or_default();
        let subjects = next.index_subjects();
        if subjects.is_empty() && T::UNINDEX_LATER {
            // The old entry stays, named, for a healer (see `Record::UNINDEX_LATER`).
            next.set_index_seqs(old_seqs);
            return Ok(Placed::default());
        }
        // The old entries, by subject (none if the record does not name one per subject:
        // a restored record, say).
        let old: Vec<(String, u64)> = if old_subjects.len() == old_seqs.len() {
            old_subjects
                .into_iter()
                .zip(old_seqs.iter().copied())
                .collect()
        } else {
            Vec::new()
        };
        let mut placed = Placed::default();
        let mut seqs = Vec::with_capacity(subjects.len());
        for subject in &subjects {
            let kept = old.iter().find(|(s, _)| s == subject).map(|(_, q)| *q);
            let seq = match kept {
                Some(q) => q,
                None => match index.add(subject, &key.store_key()).await {
                    Ok(q) => {
                        placed.added.push(q);
                        q
                    }
                    Err(e) => {
                        // Entries written before the failure name nothing.
                        self.remove_entries(placed.added).await;
                        return Err(e);
                    }
                },
            };
            seqs.push(seq);
        }
        placed.stale = old_seqs.into_iter().filter(|q| !seqs.contains(q)).collect();
        next.set_index_seqs(seqs);
        Ok(placed)
    }

    /// After the write: removes the entries that are now stale (the old ones if the
    /// write landed, the new ones if it lost). If the outcome is unknown, all stay:
    /// readers skip whichever the record does not name.
    async fn settle<V>(&self, placed: Placed, res: &Result<V, StoreError>) {
        let stale = match res {
            Ok(_) => placed.stale,
            Err(StoreError::Conflict) => placed.added,
            Err(_) => Vec::new(),
        };
        self.remove_entries(stale).await;
    }

    async fn remove_entries(&self, seqs: Vec<u64>) {
        let Some(index) = &self.index else { return };
        for seq in seqs {
            index.remove(seq).await;
        }
    }
}
