//! Every bucket out and back in, for `roster backup` and `roster restore`: each bucket's
//! settings and live records (read from the stream leader), and the writes that put
//! them back into buckets made with the same settings. The records go through the same
//! [`TypedBucket`] reads and compare-and-swap writes as everything else, as JSON values;
//! a restore checks each value against its bucket's record type before anything is
//! written.

use std::borrow::Cow;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use serde::{Deserialize, Serialize};

use super::keys::StoreKey;
use super::{check_record, StoreError, TypedBucket, BUCKET_SUFFIXES};

/// True when a stream lookup failed because there is no such stream.
pub fn stream_missing(e: &jetstream::context::GetStreamError) -> bool {
    matches!(
        e.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(err)
            if err.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

/// A bucket's settings and size, as a backup's manifest records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketManifest {
    /// The suffix after the prefix (`users`): which records the bucket holds.
    pub suffix: String,
    /// The bucket's name when it was backed up (`roster_users`).
    pub bucket: String,
    pub description: String,
    /// Revisions kept per key.
    pub history: i64,
    /// Size limit in bytes (-1: none).
    pub max_bytes: i64,
    /// Age limit in seconds (0: none).
    pub max_age_secs: u64,
    /// Largest value in bytes (-1: none).
    pub max_value_size: i32,
    pub replicas: usize,
    /// Live keys backed up.
    pub keys: usize,
}

/// One bucket's settings and live records, key order.
#[derive(Debug, Clone)]
pub struct BucketDump {
    pub manifest: BucketManifest,
    pub records: Vec<(String, serde_json::Value)>,
}

/// A key as stored, for buckets read and written without their key type.
struct RawKey(String);

impl StoreKey for RawKey {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0)
    }
}

type RawBucket = TypedBucket<RawKey, serde_json::Value>;

fn unavailable(e: &(dyn std::error::Error + 'static)) -> StoreError {
    StoreError::Unavailable(super::error_chain(e))
}

/// Opens bucket `name` as raw JSON values with its stream's settings; `None` when it
/// does not exist.
async fn open_raw(
    js: &jetstream::Context,
    name: &str,
) -> Result<Option<(RawBucket, jetstream::stream::Config)>, StoreError> {
    let mut stream = match js.get_stream(format!("KV_{name}")).await {
        Ok(s) => s,
        Err(e) if stream_missing(&e) => return Ok(None),
        Err(e) => return Err(unavailable(&e)),
    };
    let config = stream
        .info()
        .await
        .map_err(|e| unavailable(&e))?
        .config
        .clone();
    let kv = js.get_key_value(name).await.map_err(|e| unavailable(&e))?;
    Ok(Some((
        TypedBucket::new(
            kv,
            stream,
            name.to_owned(),
            super::scan::Scanner::new(js.client()),
        ),
        config,
    )))
}

/// Every bucket of `bucket_prefix` that exists, with its settings and live records read
/// from the stream leader (but the shared counters, which forget by themselves).
/// `on_bucket` hears of each as it is read.
pub async fn export(
    js: &jetstream::Context,
    bucket_prefix: &str,
    mut on_bucket: impl FnMut(&BucketManifest),
) -> Result<Vec<BucketDump>, StoreError> {
    let mut out = Vec::new();
    for suffix in BUCKET_SUFFIXES
        .iter()
        .filter(|s| !super::counters::is_counter(s))
    {
        let name = format!("{bucket_prefix}_{suffix}");
        let Some((bucket, c)) = open_raw(js, &name).await? else {
            continue;
        };
        let records = bucket.all_from_leader().await?;
        let manifest = BucketManifest {
            suffix: (*suffix).to_owned(),
            bucket: name,
            description: c.description.clone().unwrap_or_default(),
            history: c.max_messages_per_subject,
            max_bytes: c.max_bytes,
            max_age_secs: c.max_age.as_secs(),
            max_value_size: c.max_message_size,
            replicas: c.num_replicas,
            keys: records.len(),
        };
        on_bucket(&manifest);
        out.push(BucketDump { manifest, records });
    }
    Ok(out)
}

/// Live keys of every bucket that holds roster's state (all but the nonces and the
/// shared counters, which expire by themselves), by bucket name; buckets that hold none
/// are left out.
pub async fn state_keys(
    js: &jetstream::Context,
    bucket_prefix: &str,
) -> Result<Vec<(String, usize)>, StoreError> {
    let mut out = Vec::new();
    for suffix in BUCKET_SUFFIXES
        .iter()
        .filter(|s| **s != "nonces" && !super::counters::is_counter(s))
    {
        let name = format!("{bucket_prefix}_{suffix}");
        if let Some((bucket, _)) = open_raw(js, &name).await? {
            let n = bucket.keys().await?.len();
            if n > 0 {
                out.push((name, n));
            }
        }
    }
    Ok(out)
}

/// Why a backed-up record cannot go back: its key or value, for people.
pub fn check(suffix: &str, key: &str, value: &serde_json::Value) -> Result<(), String> {
    let key_ok = !key.is_empty()
        && key.split('.').all(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'=' | b'-'))
        });
    if !key_ok {
        return Err(format!("{key:?} is not a KV key"));
    }
    match check_record(suffix, value) {
        Some(r) => r,
        None => Err(format!("no bucket '{suffix}'")),
    }
}

/// Puts one bucket back under `bucket_prefix`: creates it with the backed-up settings
/// when it is missing (`replicas` overrides theirs), then writes every record, over a
/// live one only when `overwrite`. Returns how many records were written.
pub async fn import(
    js: &jetstream::Context,
    bucket_prefix: &str,
    dump: &BucketDump,
    replicas: Option<usize>,
    overwrite: bool,
) -> Result<usize, StoreError> {
    let m = &dump.manifest;
    let name = format!("{bucket_prefix}_{}", m.suffix);
    let bucket = match open_raw(js, &name).await? {
        Some((b, _)) => b,
        None => {
            let cfg = kv::Config {
                bucket: name.clone(),
                description: m.description.clone(),
                history: m.history,
                max_bytes: m.max_bytes,
                max_age: Duration::from_secs(m.max_age_secs),
                max_value_size: m.max_value_size,
                num_replicas: replicas.unwrap_or(m.replicas),
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            };
            if let Err(e) = js.create_key_value(cfg).await {
                // Another process may have made it meanwhile; only fail if it is missing.
                if open_raw(js, &name).await?.is_none() {
                    return Err(unavailable(&e));
                }
            }
            open_raw(js, &name)
                .await?
                .map(|(b, _)| b)
                .ok_or_else(|| StoreError::Unavailable(format!("bucket {name} vanished")))?
        }
    };
    let mut written = 0;
    for (key, value) in &dump.records {
        let k = RawKey(key.clone());
        // Index entries are not backed up: a restored machine, invite or user gets new
        // ones (`Store::index_unindexed_machines` and its siblings).
        let mut value = value.clone();
        if matches!(m.suffix.as_str(), "machines" | "invites" | "users") {
            if let Some(o) = value.as_object_mut() {
                o.remove("index_seq");
                o.remove("index_seqs");
            }
        }
        let value = &value;
        let outcome = match bucket.get(&k).await? {
            None => bucket.create(&k, value).await,
            Some(_) if !overwrite => Err(StoreError::Conflict),
            Some(live) => bucket.update(&k, value, live.revision).await,
        };
        match outcome {
            Ok(_) => written += 1,
            Err(StoreError::Conflict) => {
                return Err(StoreError::Unavailable(format!(
                    "{name}/{key} exists (restore with --force to overwrite)"
                )))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}
