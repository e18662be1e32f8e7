//! The only code that touches JetStream KV. Typed buckets return revisions; every
//! decision is a compare-and-swap write (`create`, `update` at a revision), and conflict
//! detection, including the 10164 code that async-nats 0.51 reports as `Other`, lives here.

pub mod records;

use std::marker::PhantomData;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures::TryStreamExt;
use serde::{de::DeserializeOwned, Serialize};

use crate::domain::{Handle, InviteId, SignKey};
use records::{
    CredentialIndexRecord, InviteRecord, KeyIndexRecord, MachineRecord, NonceRecord, OwnersRecord,
    SiteRecord, UidIndexRecord, UserRecord, SCHEMA_V,
};

/// JetStream API error codes that mean "the revision you expected is not the current one".
const WRONG_LAST_SEQUENCE: u64 = 10071;
const WRONG_LAST_SEQUENCE_CONSTANT: u64 = 10164;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A CAS write lost: the key exists, or its revision moved. Re-read and decide again.
    #[error("compare-and-swap conflict")]
    Conflict,
    /// JetStream did not answer or had no leader; the outcome of a write is unknown.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored value does not decode.
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    /// The bucket reached its size limit (the nonce bucket under a flood of identities'
    /// requests): nothing was written.
    #[error("bucket full: {0}")]
    Full(String),
}

/// A value with the revision it was read at.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub value: T,
    pub revision: u64,
}

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

/// A KV bucket whose values are JSON records of type `T`.
#[derive(Debug, Clone)]
pub struct TypedBucket<T> {
    kv: kv::Store,
    // The bucket's stream, for reads that must come from the leader.
    stream: jetstream::stream::Stream,
    name: String,
    _t: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> TypedBucket<T> {
    fn new(kv: kv::Store, stream: jetstream::stream::Stream, name: String) -> Self {
        Self {
            kv,
            stream,
            name,
            _t: PhantomData,
        }
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn encode(value: &T) -> Result<Bytes, StoreError> {
        serde_json::to_vec(value)
            .map(Bytes::from)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// Reads a key; tombstones read as absent.
    pub async fn get(&self, key: &str) -> Result<Option<Versioned<T>>, StoreError> {
        let entry = with_retry(|| async {
            self.kv
                .entry(key)
                .await
                .map_err(|e| StoreError::Unavailable(error_chain(&e)))
        })
        .await?;
        match entry {
            Some(e) if e.operation == kv::Operation::Put => {
                let value = serde_json::from_slice(&e.value)
                    .map_err(|err| StoreError::Corrupt(format!("{}/{}: {err}", self.name, key)))?;
                Ok(Some(Versioned {
                    value,
                    revision: e.revision,
                }))
            }
            _ => Ok(None),
        }
    }

    /// Reads a key from the stream leader (`STREAM.MSG.GET`), never from a replica that
    /// may lag: for the consistency checker, where a stale read would be a false alarm.
    pub async fn get_from_leader(&self, key: &str) -> Result<Option<T>, StoreError> {
        let subject = format!("$KV.{}.{key}", self.name);
        let msg = with_retry(|| async {
            match self.stream.get_last_raw_message_by_subject(&subject).await {
                Ok(m) => Ok(Some(m)),
                Err(e)
                    if e.kind() == jetstream::stream::LastRawMessageErrorKind::NoMessageFound =>
                {
                    Ok(None)
                }
                Err(e) => Err(StoreError::Unavailable(error_chain(&e))),
            }
        })
        .await?;
        let Some(m) = msg else { return Ok(None) };
        let op = m.headers.get("KV-Operation").map(|v| v.as_str().to_owned());
        if matches!(op.as_deref(), Some("DEL") | Some("PURGE")) || m.payload.is_empty() {
            return Ok(None);
        }
        serde_json::from_slice(&m.payload)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("{}/{key}: {e}", self.name)))
    }

    /// Writes a key that must not exist (a tombstone counts as absent).
    pub async fn create(&self, key: &str, value: &T) -> Result<u64, StoreError> {
        let bytes = Self::encode(value)?;
        with_retry(|| async {
            self.kv.create(key, bytes.clone()).await.map_err(|e| {
                let exists = e.kind() == kv::CreateErrorKind::AlreadyExists;
                classify(&e, exists)
            })
        })
        .await
    }

    /// Writes a key only if its revision is still `revision`.
    pub async fn update(&self, key: &str, value: &T, revision: u64) -> Result<u64, StoreError> {
        let bytes = Self::encode(value)?;
        with_retry(|| async {
            self.kv
                .update(key, bytes.clone(), revision)
                .await
                .map_err(|e| {
                    let wrong = e.kind() == kv::UpdateErrorKind::WrongLastRevision;
                    classify(&e, wrong)
                })
        })
        .await
    }

    /// Deletes a key only if its revision is still `revision`.
    pub async fn delete(&self, key: &str, revision: u64) -> Result<(), StoreError> {
        with_retry(|| async {
            self.kv
                .delete_expect_revision(key, Some(revision))
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
            let stream = self
                .kv
                .keys()
                .await
                .map_err(|e| StoreError::Unavailable(error_chain(&e)))?;
            stream
                .try_collect::<Vec<String>>()
                .await
                .map_err(|e| StoreError::Unavailable(error_chain(&e)))
        })
        .await?;
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    /// The raw JSON of every live value, for schema checks and the consistency checker.
    pub async fn dump_raw(&self) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        let mut out = Vec::new();
        for key in self.keys().await? {
            if let Some(bytes) = self
                .kv
                .get(&key)
                .await
                .map_err(|e| StoreError::Unavailable(error_chain(&e)))?
            {
                let v = serde_json::from_slice(&bytes)
                    .map_err(|e| StoreError::Corrupt(format!("{}/{key}: {e}", self.name)))?;
                out.push((key, v));
            }
        }
        Ok(out)
    }
}

/// Bucket settings, from the worker's configuration.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Bucket names start with this (`roster` → `roster_users`, …).
    pub bucket_prefix: String,
    /// Replicas of every bucket (1 on a single node, 3 on a cluster).
    pub replicas: usize,
    /// How long a nonce is remembered; must exceed twice the clock window.
    pub nonce_ttl: Duration,
    /// Largest size of the nonce bucket; beyond it new nonces are refused (`rate_limited`).
    pub nonce_max_bytes: i64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            bucket_prefix: "roster".into(),
            replicas: 1,
            nonce_ttl: Duration::from_secs(150),
            nonce_max_bytes: 256 * 1024 * 1024,
        }
    }
}

/// The names and settings of every bucket, as documented in `kv-schema/README.md`.
pub fn bucket_configs(cfg: &StoreConfig) -> Vec<kv::Config> {
    let b = |suffix: &str, description: &str| kv::Config {
        bucket: format!("{}_{suffix}", cfg.bucket_prefix),
        description: description.to_owned(),
        history: 1,
        num_replicas: cfg.replicas,
        storage: jetstream::stream::StorageType::File,
        max_value_size: 16 * 1024,
        ..Default::default()
    };
    let mut nonces = b(
        "nonces",
        "roster: request nonces seen within the replay window",
    );
    nonces.max_age = cfg.nonce_ttl;
    nonces.max_bytes = cfg.nonce_max_bytes;
    vec![
        b("users", "roster: users by handle"),
        b("user_keys", "roster: signing key -> handle index"),
        b(
            "invites",
            "roster: invites by invite id (token digests only)",
        ),
        b("meta", "roster: service-wide records (owner guard)"),
        nonces,
        b("sites", "roster: sites and their enrollment key rings"),
        b("machines", "roster: machines by machine id"),
        b(
            "machine_uids",
            "roster: (tenant, machine_uid digest) -> machine id",
        ),
        b(
            "credentials",
            "roster: machine credential digest -> machine id",
        ),
    ]
}

/// Every bucket roster uses.
#[derive(Debug, Clone)]
pub struct Store {
    pub users: TypedBucket<UserRecord>,
    pub user_keys: TypedBucket<KeyIndexRecord>,
    pub invites: TypedBucket<InviteRecord>,
    pub meta: TypedBucket<OwnersRecord>,
    pub nonces: TypedBucket<NonceRecord>,
    pub sites: TypedBucket<SiteRecord>,
    pub machines: TypedBucket<MachineRecord>,
    pub machine_uids: TypedBucket<UidIndexRecord>,
    pub credentials: TypedBucket<CredentialIndexRecord>,
}

const OWNERS_KEY: &str = "owners";

/// The KV key of a site: `<tenant>.<SITE>`.
pub fn site_key(tenant: &crate::domain::Tenant, site: &crate::domain::SiteCode) -> String {
    format!("{}.{}", tenant.as_str(), site.as_str())
}

/// The KV key of a machine uid: `<tenant>.<sha256(uid) hex>` (uids may hold characters
/// KV keys do not allow).
pub fn uid_key(tenant: &crate::domain::Tenant, uid: &crate::domain::MachineUid) -> String {
    format!(
        "{}.{}",
        tenant.as_str(),
        crate::crypto::sha256_hex(uid.as_str().as_bytes())
    )
}

async fn open_or_create(js: &jetstream::Context, cfg: kv::Config) -> anyhow::Result<kv::Store> {
    if let Ok(store) = js.get_key_value(&cfg.bucket).await {
        // A bucket made by an older version keeps its data but takes the current limits
        // (the nonce bucket gained a size bound).
        let name = format!("KV_{}", cfg.bucket);
        if let Ok(mut stream) = js.get_stream(&name).await {
            if let Ok(info) = stream.info().await {
                let mut sc = info.config.clone();
                if sc.max_bytes != cfg.max_bytes.max(-1) && cfg.max_bytes > 0 {
                    sc.max_bytes = cfg.max_bytes;
                    js.update_stream(&sc).await.map_err(|e| {
                        anyhow::anyhow!("updating the limits of {name}: {}", error_chain(&e))
                    })?;
                }
            }
        }
        return Ok(store);
    }
    match js.create_key_value(cfg.clone()).await {
        Ok(store) => Ok(store),
        // Another worker may have created it in between.
        Err(create_err) => js.get_key_value(&cfg.bucket).await.map_err(|_| {
            anyhow::anyhow!(
                "cannot create bucket {}: {}",
                cfg.bucket,
                error_chain(&create_err)
            )
        }),
    }
}

type Opened = (kv::Store, jetstream::stream::Stream, String);

fn take<T: Serialize + DeserializeOwned>(
    it: &mut impl Iterator<Item = Opened>,
) -> anyhow::Result<TypedBucket<T>> {
    let (kv, stream, name) = it
        .next()
        .ok_or_else(|| anyhow::anyhow!("bucket list mismatch"))?;
    Ok(TypedBucket::new(kv, stream, name))
}

impl Store {
    /// Opens every bucket, creating the missing ones (idempotent; safe to race).
    pub async fn ensure(js: &jetstream::Context, cfg: &StoreConfig) -> anyhow::Result<Self> {
        let mut stores = Vec::new();
        for c in bucket_configs(cfg) {
            let name = c.bucket.clone();
            let kv = open_or_create(js, c).await?;
            let stream = js.get_stream(format!("KV_{name}")).await.map_err(|e| {
                anyhow::anyhow!("opening the stream of bucket {name}: {}", error_chain(&e))
            })?;
            stores.push((kv, stream, name));
        }
        let mut it = stores.into_iter();
        // Field initialisers run in the order written: the order of `bucket_configs`.
        Ok(Self {
            users: take(&mut it)?,
            user_keys: take(&mut it)?,
            invites: take(&mut it)?,
            meta: take(&mut it)?,
            nonces: take(&mut it)?,
            sites: take(&mut it)?,
            machines: take(&mut it)?,
            machine_uids: take(&mut it)?,
            credentials: take(&mut it)?,
        })
    }

    /// Records a request nonce. `Ok(false)` means it was seen within the window.
    pub async fn record_nonce(
        &self,
        key: &SignKey,
        nonce: &str,
        ts: i64,
    ) -> Result<bool, StoreError> {
        let k = format!("{}.{}", key.to_hex(), nonce);
        match self
            .nonces
            .create(&k, &NonceRecord { v: SCHEMA_V, ts })
            .await
        {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A user by handle.
    pub async fn user(&self, handle: &Handle) -> Result<Option<Versioned<UserRecord>>, StoreError> {
        self.users.get(handle.as_str()).await
    }

    /// The key-index entry of a signing key.
    pub async fn key_index(
        &self,
        key: &SignKey,
    ) -> Result<Option<Versioned<KeyIndexRecord>>, StoreError> {
        self.user_keys.get(&key.to_hex()).await
    }

    /// The user a signing key belongs to, if the index and the user agree.
    pub async fn user_by_key(
        &self,
        key: &SignKey,
    ) -> Result<Option<Versioned<UserRecord>>, StoreError> {
        let Some(idx) = self.key_index(key).await? else {
            return Ok(None);
        };
        match self.user(&idx.value.handle).await? {
            Some(u) if u.value.sign_pub == *key => Ok(Some(u)),
            // An index entry left by an interrupted registration: not a user (yet).
            _ => Ok(None),
        }
    }

    /// A site by tenant and code.
    pub async fn site(
        &self,
        tenant: &crate::domain::Tenant,
        site: &crate::domain::SiteCode,
    ) -> Result<Option<Versioned<SiteRecord>>, StoreError> {
        self.sites.get(&site_key(tenant, site)).await
    }

    /// A machine by id.
    pub async fn machine(
        &self,
        id: &crate::domain::MachineId,
    ) -> Result<Option<Versioned<MachineRecord>>, StoreError> {
        self.machines.get(id.as_str()).await
    }

    /// An invite by id.
    pub async fn invite(
        &self,
        id: &InviteId,
    ) -> Result<Option<Versioned<InviteRecord>>, StoreError> {
        self.invites.get(id.as_str()).await
    }

    /// The owner-guard record and its revision (`0` when it was never written).
    pub async fn owners(&self) -> Result<Versioned<OwnersRecord>, StoreError> {
        Ok(self.meta.get(OWNERS_KEY).await?.unwrap_or(Versioned {
            value: OwnersRecord {
                v: SCHEMA_V,
                owners: Vec::new(),
            },
            revision: 0,
        }))
    }

    /// Writes the owner-guard record at `revision` (`0`: create).
    pub async fn write_owners(&self, rec: &OwnersRecord, revision: u64) -> Result<u64, StoreError> {
        if revision == 0 {
            self.meta.create(OWNERS_KEY, rec).await
        } else {
            self.meta.update(OWNERS_KEY, rec, revision).await
        }
    }

    /// Adds `handle` to the owner guard (idempotent, CAS loop).
    pub async fn add_owner(&self, handle: &Handle) -> Result<(), StoreError> {
        loop {
            let cur = self.owners().await?;
            if cur.value.owners.contains(handle) {
                return Ok(());
            }
            let mut next = cur.value.clone();
            next.owners.push(handle.clone());
            next.owners.sort();
            match self.write_owners(&next, cur.revision).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Removes `handle` from the owner guard if at least one other owner stays.
    /// `Ok(false)`: it would leave no owner. Idempotent when `handle` is not listed
    /// but others are.
    pub async fn remove_owner(&self, handle: &Handle) -> Result<bool, StoreError> {
        loop {
            let cur = self.owners().await?;
            let remaining: Vec<Handle> = cur
                .value
                .owners
                .iter()
                .filter(|h| *h != handle)
                .cloned()
                .collect();
            if remaining.is_empty() {
                return Ok(false);
            }
            if remaining.len() == cur.value.owners.len() {
                return Ok(true);
            }
            let next = OwnersRecord {
                v: SCHEMA_V,
                owners: remaining,
            };
            match self.write_owners(&next, cur.revision).await {
                Ok(_) => return Ok(true),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}
