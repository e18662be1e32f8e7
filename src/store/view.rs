//! A process's live copy of a bucket, kept by a KV watch ([`BucketView`]), for the paths
//! that would otherwise read a record on every request (the tenants on register, enroll
//! and the callout; API keys on every `Roster-Api-Key` request and verification). A
//! change reaches every worker within milliseconds, and the worker that made it at once
//! ([`BucketView::put`]). Until the watch has caught up (and while it is resumed after a
//! loss) the view says so (`get` is `None`), and the caller reads the bucket.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::{Record, StoreKey, TypedBucket, Versioned};

/// The live copy, by the name `rekey` gives each bucket key.
#[derive(Debug)]
pub struct BucketView<T>(Arc<RwLock<ViewState<T>>>);

impl<T> Clone for BucketView<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Default for BucketView<T> {
    fn default() -> Self {
        Self(Arc::new(RwLock::new(ViewState {
            ready: false,
            records: HashMap::new(),
        })))
    }
}

#[derive(Debug)]
struct ViewState<T> {
    ready: bool,
    records: HashMap<String, Versioned<T>>,
}

impl<T: Clone> BucketView<T> {
    /// `Some(the record, or None for none)` once caught up; `None` while not.
    pub fn get(&self, name: &str) -> Option<Option<Versioned<T>>> {
        let s = self.0.read().ok()?;
        s.ready.then(|| s.records.get(name).cloned())
    }

    /// What `pick` takes of every record, once caught up; `None` while not.
    pub fn filter<R>(&self, pick: impl Fn(&T) -> Option<R>) -> Option<Vec<R>> {
        let s = self.0.read().ok()?;
        s.ready
            .then(|| s.records.values().filter_map(|r| pick(&r.value)).collect())
    }

    /// A record this worker just wrote: seen at once, before its watch brings it (an
    /// older revision never replaces a newer one).
    pub fn put(&self, name: &str, rec: Versioned<T>) {
        if let Ok(mut s) = self.0.write() {
            match s.records.get(name) {
                Some(cur) if cur.revision > rec.revision && rec.revision != 0 => {}
                _ => {
                    s.records.insert(name.to_owned(), rec);
                }
            }
        }
    }

    fn apply(&self, name: String, rec: Option<Versioned<T>>) {
        if let Ok(mut s) = self.0.write() {
            match rec {
                Some(r) => {
                    s.records.insert(name, r);
                }
                None => {
                    s.records.remove(&name);
                }
            }
        }
    }

    fn set_ready(&self, ready: bool) {
        if let Ok(mut s) = self.0.write() {
            s.ready = ready;
        }
    }
}

impl<K, T> TypedBucket<K, T>
where
    K: StoreKey,
    T: serde::Serialize + serde::de::DeserializeOwned + Record + Clone + Send + Sync + 'static,
{
    /// Starts following this bucket into a [`BucketView`] (a task, until `stop` turns
    /// true), each record under `rekey(its key)`. A lost watch is resumed a second
    /// later; meanwhile the view is not ready and callers read the bucket.
    pub fn watch_view(
        &self,
        rekey: fn(&str) -> String,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> BucketView<T>
    where
        K: Clone + Send + Sync + 'static,
    {
        use futures::StreamExt;
        let view = BucketView::default();
        let (bucket, out) = (self.clone(), view.clone());
        tokio::spawn(async move {
            loop {
                match bucket.kv().watch_with_history(">").await {
                    Ok(mut w) => loop {
                        tokio::select! {
                            _ = stop.wait_for(|s| *s) => return,
                            next = w.next() => match next {
                                Some(Ok(e)) => {
                                    let rec = match e.operation {
                                        async_nats::jetstream::kv::Operation::Put => bucket
                                            .decode(&e.key, &e.value)
                                            .ok()
                                            .map(|value| Versioned {
                                                value,
                                                revision: e.revision,
                                            }),
                                        _ => None,
                                    };
                                    out.apply(rekey(&e.key), rec);
                                    if e.seen_current || e.delta == 0 {
                                        out.set_ready(true);
                                    }
                                }
                                _ => break,
                            },
                        }
                    },
                    Err(e) => {
                        tracing::debug!(error = %e, bucket = bucket.name(), "view watch: could not start")
                    }
                }
                out.set_ready(false);
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
        view
    }
}
