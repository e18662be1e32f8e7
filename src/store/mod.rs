//! The only code that touches JetStream KV. Each bucket is a [`TypedBucket`] with its own
//! key type; every decision goes through [`TypedBucket::modify`] (read, decide, write at
//! the revision read, decide again on a conflict), and the per-aggregate operations
//! (bind a key, claim a uid, the owner guard, a page of a listing) sit beside it:
//!
//! - `bucket`: typed reads and the CAS writes, conflict and full-bucket detection;
//! - `cas`: the one read-decide-write loop;
//! - `keys`: how each bucket names its records;
//! - `users`, `machines`: the operations on those aggregates beyond one decision;
//! - `tenants`: the tenant registry (PROTOCOL §7): a record by slug, the `default` tenant,
//!   and the claims that keep each external customer id to one tenant;
//! - `counters`: what every worker shares instead of counting alone (the enrollment
//!   throttle's failures, the security log's tallies), in bounded buckets that discard
//!   their oldest records;
//! - `vault`: the credential vault's records (PROTOCOL §10): credentials, their name
//!   claims, each holder's wrapped data key;
//! - `page`: one page of a bucket in key order;
//! - `backup`: every bucket's settings and live records out, and back in (`roster
//!   backup`/`restore`);
//! - `records`: the stored shapes (`kv-schema/`).

mod apikeys;
pub mod backup;
mod bucket;
mod cas;
mod counters;
mod feed;
pub mod index;
mod keys;
mod machines;
mod page;
pub mod records;
mod roles;
pub mod scan;
mod tenants;
mod users;
mod vault;
mod view;

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::future::BoxFuture;

use crate::domain::{Handle, InviteId, MachineId, SignKey, SiteRef};
use records::{
    ApiKeyClaimRecord, ApiKeyRecord, CredentialIndexRecord, CredentialRecord, DataKeyRecord,
    EnrollFailuresRecord, InviteRecord, KeyIndexRecord, MachineRecord, NonceRecord, OwnersRecord,
    RoleRecord, SecurityTallyRecord, SiteRecord, TenantClaimRecord, TenantRecord, UidIndexRecord,
    UserRecord, VaultNameRecord,
};

pub use apikeys::ApiKeyTaken;
pub use bucket::{error_chain, jetstream_error_code, TypedBucket};
pub use cas::{Decision, Known, Modified};
pub use counters::tally_max_age;
pub use feed::{Change, Since};
pub use index::Record;
pub use keys::{
    ApiKeyClaimKey, ApiKeyKey, ClaimKey, CredentialDigest, NonceKey, OwnersKey, RoleKey,
    SourceDigest, StoreKey, TallyKey, UidKey, VaultNameKey,
};
pub use machines::UidClaim;
pub use page::{Page, SCAN_BUDGET};
pub use tenants::{Claim, Purged, TenantView, CLAIM_SETTLE};
pub use users::{owner_scopes, KeyBinding};
pub use vault::{expiry_to_notice, holder_of_key, CLAIM_SETTLE as VAULT_CLAIM_SETTLE};
pub use view::BucketView;

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
    /// The enrollment throttle's window: the age limit of `enroll_failures`.
    pub enroll_fail_window: Duration,
    /// The security log's aggregation window (`security_tallies` keeps a few).
    pub security_window: Duration,
    /// Largest size of each shared-counter bucket (`enroll_failures`, `security_tallies`).
    pub counters_max_bytes: i64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            bucket_prefix: "roster".into(),
            replicas: 1,
            nonce_ttl: Duration::from_secs(150),
            nonce_max_bytes: 256 * 1024 * 1024,
            enroll_fail_window: Duration::from_secs(60),
            security_window: Duration::from_secs(60),
            counters_max_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Every bucket roster uses, written once: the field, its key and record types, the
/// bucket's suffix and description. `Store`, the bucket configurations and the raw dump
/// all come from this list.
macro_rules! buckets {
    ($($field:ident: $key:ty => $rec:ty, $suffix:literal, $desc:literal;)*) => {
        /// Every bucket roster uses. Anyone may read; writes go through the store's
        /// decisions ([`TypedBucket::modify`]) and operations.
        #[derive(Debug, Clone)]
        pub struct Store {
            $(
                #[doc = $desc]
                pub $field: TypedBucket<$key, $rec>,
            )*
        }

        /// The names and settings of every bucket, as documented in `kv-schema/README.md`.
        pub fn bucket_configs(cfg: &StoreConfig) -> Vec<kv::Config> {
            vec![$(bucket_config(cfg, $suffix, $desc),)*]
        }

        /// Every bucket's suffix (`users`, `user_keys`, …), in the order of the list.
        pub const BUCKET_SUFFIXES: &[&str] = &[$($suffix,)*];

        /// Whether `value` reads as the record type of bucket `suffix` (`None`: no
        /// such bucket): a restore checks every value before it writes one.
        fn check_record(suffix: &str, value: &serde_json::Value) -> Option<Result<(), String>> {
            match suffix {
                $($suffix => Some(
                    <$rec as serde::Deserialize>::deserialize(value)
                        .map(drop)
                        .map_err(|e| e.to_string()),
                ),)*
                _ => None,
            }
        }

        impl Store {
            /// Opens every bucket, creating the missing ones (idempotent; safe to race).
            pub async fn ensure(
                js: &jetstream::Context,
                cfg: &StoreConfig,
            ) -> Result<Self, OpenError> {
                let store = Self {
                    $($field: open(js, bucket_config(cfg, $suffix, $desc)).await?,)*
                };
                Box::pin(store.with_indexes(js, cfg, true)).await
            }

            /// Opens every bucket as it is, creating and changing nothing (`roster check`):
            /// a missing bucket is an error.
            pub async fn open_existing(
                js: &jetstream::Context,
                cfg: &StoreConfig,
            ) -> Result<Self, OpenError> {
                let store = Self {
                    $($field: open_existing(js, format!("{}_{}", cfg.bucket_prefix, $suffix)).await?,)*
                };
                Box::pin(store.with_indexes(js, cfg, false)).await
            }

            /// The raw JSON of every live record, by bucket suffix and key (schema checks).
            pub async fn dump_raw(
                &self,
            ) -> Result<Vec<(&'static str, String, serde_json::Value)>, StoreError> {
                let mut out = Vec::new();
                $(
                    for (k, v) in self.$field.dump_raw().await? {
                        out.push(($suffix, k, v));
                    }
                )*
                Ok(out)
            }
        }
    };
}

buckets! {
    users: Handle => UserRecord, "users", "roster: users by handle";
    user_keys: SignKey => KeyIndexRecord, "user_keys", "roster: signing key -> handle index";
    invites: InviteId => InviteRecord, "invites",
        "roster: invites by invite id (token digests only)";
    meta: OwnersKey => OwnersRecord, "meta", "roster: service-wide records (owner guard)";
    nonces: NonceKey => NonceRecord, "nonces",
        "roster: request nonces seen within the replay window";
    sites: SiteRef => SiteRecord, "sites", "roster: sites and their enrollment key rings";
    roles: RoleKey => RoleRecord, "roles", "roster: each tenant's roles (built-in and custom)";
    machines: MachineId => MachineRecord, "machines", "roster: machines by machine id";
    machine_uids: UidKey => UidIndexRecord, "machine_uids",
        "roster: (tenant, machine_uid digest) -> machine id";
    credentials: CredentialDigest => CredentialIndexRecord, "credentials",
        "roster: machine credential digest -> machine id";
    enroll_failures: SourceDigest => EnrollFailuresRecord, "enroll_failures",
        "roster: failed enrollment-key checks per source digest, shared by all workers";
    security_tallies: TallyKey => SecurityTallyRecord, "security_tallies",
        "roster: strangers' denials per (action, code, source) and window, summed over workers";
    tenants: crate::domain::Tenant => TenantRecord, "tenants",
        "roster: tenants by slug (archived ones stay, so a slug is never reused)";
    tenant_claims: ClaimKey => TenantClaimRecord, "tenant_claims",
        "roster: external customer id (ERP, Stripe) -> the one tenant holding it";
    apikeys: ApiKeyKey => ApiKeyRecord, "apikeys",
        "roster: API keys by <tenant>.<key id> (Argon2id PHC strings only)";
    apikey_claims: ApiKeyClaimKey => ApiKeyClaimRecord, "apikey_claims",
        "roster: API key ids and names -> the key holding them";
    vault: crate::domain::CredentialId => CredentialRecord, "vault",
        "roster: vault credentials by id (values encrypted under their holder's data key)";
    vault_names: VaultNameKey => VaultNameRecord, "vault_names",
        "roster: (holder, provider, name) -> the one credential holding it";
    vault_keys: crate::domain::CredentialHolder => DataKeyRecord, "vault_keys",
        "roster: each holder's data key, wrapped by a key-encryption key of the key file";
}

/// One bucket's configuration. Every bucket keeps one revision per key and small
/// values; the nonce bucket also forgets after the replay window and has a size bound.
fn bucket_config(cfg: &StoreConfig, suffix: &str, description: &str) -> kv::Config {
    let mut c = kv::Config {
        bucket: format!("{}_{suffix}", cfg.bucket_prefix),
        description: description.to_owned(),
        history: 1,
        num_replicas: cfg.replicas,
        storage: jetstream::stream::StorageType::File,
        max_value_size: 16 * 1024,
        ..Default::default()
    };
    if suffix == "nonces" {
        c.max_age = cfg.nonce_ttl;
        c.max_bytes = cfg.nonce_max_bytes;
    }
    if suffix == "tenants" {
        c.max_value_size = tenants::MAX_RECORD_BYTES;
    }
    if suffix == "vault" {
        // A 16 KiB value is 32 KiB of hex ciphertext, beside 4 KiB of metadata.
        c.max_value_size = 64 * 1024;
    }
    counters::limits(cfg, suffix, &mut c);
    c
}

/// Why the buckets could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Creating a missing bucket failed (and no other worker created it meanwhile).
    #[error("cannot create bucket {bucket}")]
    Create {
        bucket: String,
        #[source]
        source: jetstream::context::CreateKeyValueError,
    },
    /// The bucket is not there (or could not be looked up), and was not to be created.
    #[error("cannot open bucket {bucket} (it is created by `roster serve`)")]
    Missing {
        bucket: String,
        #[source]
        source: jetstream::context::KeyValueError,
    },
    /// A bucket's stream could not be opened or its limits updated.
    #[error("cannot open the stream of bucket {bucket}")]
    Stream {
        bucket: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Opens (or creates) one bucket. The future is boxed where it is made, so opening nine
/// buckets in a row stays small on the caller's stack (debug builds keep every inlined
/// future apart, and test threads have 2 MiB stacks).
fn open<'a, K: StoreKey + 'a, T: serde::Serialize + serde::de::DeserializeOwned + Record + 'a>(
    js: &'a jetstream::Context,
    cfg: kv::Config,
) -> BoxFuture<'a, Result<TypedBucket<K, T>, OpenError>> {
    Box::pin(async move {
        let name = cfg.bucket.clone();
        let stream_err = |e: Box<dyn std::error::Error + Send + Sync>| OpenError::Stream {
            bucket: name.clone(),
            source: e,
        };
        let kv = match js.get_key_value(&cfg.bucket).await {
            Ok(store) => {
                // A bucket made by an older version keeps its data but takes the current
                // limits (the nonce bucket gained a size bound).
                if let Ok(mut stream) = js.get_stream(format!("KV_{name}")).await {
                    if let Ok(info) = stream.info().await {
                        let mut sc = info.config.clone();
                        if sc.max_bytes != cfg.max_bytes.max(-1) && cfg.max_bytes > 0 {
                            sc.max_bytes = cfg.max_bytes;
                            js.update_stream(&sc)
                                .await
                                .map_err(|e| stream_err(Box::new(e)))?;
                        }
                    }
                }
                store
            }
            Err(_) => match js.create_key_value(cfg.clone()).await {
                Ok(store) => store,
                // Another worker may have created it in between.
                Err(source) => {
                    js.get_key_value(&cfg.bucket)
                        .await
                        .map_err(|_| OpenError::Create {
                            bucket: name.clone(),
                            source,
                        })?
                }
            },
        };
        counters::tune_stream(js, &cfg).await.map_err(stream_err)?;
        let stream = js
            .get_stream(format!("KV_{name}"))
            .await
            .map_err(|e| stream_err(Box::new(e)))?;
        Ok(TypedBucket::new(
            kv,
            stream,
            name,
            scan::Scanner::new(js.client()),
        ))
    })
}

/// Opens the bucket `name` as it is.
fn open_existing<
    'a,
    K: StoreKey + 'a,
    T: serde::Serialize + serde::de::DeserializeOwned + Record + 'a,
>(
    js: &'a jetstream::Context,
    name: String,
) -> BoxFuture<'a, Result<TypedBucket<K, T>, OpenError>> {
    Box::pin(async move {
        let kv = js
            .get_key_value(&name)
            .await
            .map_err(|source| OpenError::Missing {
                bucket: name.clone(),
                source,
            })?;
        let stream = js
            .get_stream(format!("KV_{name}"))
            .await
            .map_err(|e| OpenError::Stream {
                bucket: name.clone(),
                source: Box::new(e),
            })?;
        Ok(TypedBucket::new(
            kv,
            stream,
            name,
            scan::Scanner::new(js.client()),
        ))
    })
}

impl Store {
    /// Attaches the secondary indexes (machines by tenant, site and state; invites by
    /// place and state; users by place and status),
    /// creating the index stream when `create` is set.
    async fn with_indexes(
        mut self,
        js: &jetstream::Context,
        cfg: &StoreConfig,
        create: bool,
    ) -> Result<Self, OpenError> {
        let sc = index::stream_config(&cfg.bucket_prefix, &cfg.bucket_prefix, cfg.replicas);
        let name = sc.name.clone();
        let stream_err = |e: Box<dyn std::error::Error + Send + Sync>| OpenError::Stream {
            bucket: name.clone(),
            source: e,
        };
        // The stream must exist; its entries are written and removed by name.
        if create {
            js.get_or_create_stream(sc.clone())
                .await
                .map_err(|e| stream_err(Box::new(e)))?;
        } else {
            js.get_stream(&name)
                .await
                .map_err(|e| stream_err(Box::new(e)))?;
        }
        let index = |of: &str| {
            index::Index::new(
                js.clone(),
                name.clone(),
                format!("{}.index.{of}", cfg.bucket_prefix),
            )
        };
        self.machines = self.machines.with_index(index("machines"));
        self.invites = self.invites.with_index(index("invites"));
        self.users = self.users.with_index(index("users"));
        Ok(self)
    }

    /// Removes the index entry a redeemed invite still names (see
    /// `index::Record::UNINDEX_LATER`; best effort, like every entry's removal).
    pub async fn unindex_invite(&self, inv: &records::InviteRecord) {
        if let (Some(seq), Some(index)) = (inv.index_seq, self.invites.index()) {
            index.remove(seq).await;
        }
    }

    /// A user by handle.
    pub async fn user(&self, handle: &Handle) -> Result<Option<Versioned<UserRecord>>, StoreError> {
        self.users.get(handle).await
    }

    /// A site by tenant and code.
    pub async fn site(&self, site: &SiteRef) -> Result<Option<Versioned<SiteRecord>>, StoreError> {
        self.sites.get(site).await
    }

    /// A machine by id.
    pub async fn machine(
        &self,
        id: &MachineId,
    ) -> Result<Option<Versioned<MachineRecord>>, StoreError> {
        self.machines.get(id).await
    }

    /// An invite by id.
    pub async fn invite(
        &self,
        id: &InviteId,
    ) -> Result<Option<Versioned<InviteRecord>>, StoreError> {
        self.invites.get(id).await
    }
}
