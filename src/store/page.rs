//! One page of a bucket in key order, for every `list` command.

use serde::{de::DeserializeOwned, Serialize};

use super::{StoreError, StoreKey, TypedBucket};

/// Items of one page and the cursor to the next (the key of the last item) when more
/// remain.
#[derive(Debug)]
pub struct Page<V> {
    pub items: Vec<V>,
    pub next: Option<String>,
}

impl<K: StoreKey, T: Serialize + DeserializeOwned> TypedBucket<K, T> {
    /// The records after the key `after` that `keep` turns into items, at most `limit`.
    pub async fn page<V>(
        &self,
        after: Option<&str>,
        limit: usize,
        mut keep: impl FnMut(T) -> Option<V>,
    ) -> Result<Page<V>, StoreError> {
        let keys = self.keys().await?;
        let start = after.map_or(0, |c| keys.partition_point(|k| k.as_str() <= c));
        let mut items = Vec::new();
        let mut last: Option<&String> = None;
        for key in &keys[start..] {
            let Some(rec) = self.get_raw_key(key).await? else {
                continue;
            };
            let Some(item) = keep(rec) else {
                continue;
            };
            if items.len() == limit {
                return Ok(Page {
                    items,
                    next: last.cloned(),
                });
            }
            items.push(item);
            last = Some(key);
        }
        Ok(Page { items, next: None })
    }
}
