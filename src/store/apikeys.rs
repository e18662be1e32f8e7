//! API keys (PROTOCOL §9): records by `<tenant>.<key_id>`, and the claims that keep a key
//! id to one key and a name to one key per tenant.
//!
//! A new key's claims are written before its record, each with `create`: the id claim
//! (a collision of 64 random bits: the caller mints another id), then the name claim (of
//! two admins racing for one name in a tenant exactly one wins). A name claim counts
//! while its key's record exists; one a crash left behind (claimed, no record) is taken
//! over once older than [`CLAIM_SETTLE`]. A record is found by key id through its id
//! claim (which tenant), which never changes, so a verifier may keep that answer.

use crate::domain::{ApiKeyId, ApiKeyName, Tenant};
use crate::time_util::Timestamp;

use super::records::{ApiKeyClaimRecord, ApiKeyRecord, SCHEMA_V};
use super::{ApiKeyClaimKey, ApiKeyKey, Decision, Store, StoreError, Versioned, CLAIM_SETTLE};

/// Why a new key was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiKeyTaken {
    /// Another key has this id (mint another).
    Id,
    /// Another key of the tenant has this name (case-insensitively).
    Name,
}

impl Store {
    /// The key `key_id` of `tenant`.
    pub async fn apikey(
        &self,
        tenant: &Tenant,
        key_id: &ApiKeyId,
    ) -> Result<Option<Versioned<ApiKeyRecord>>, StoreError> {
        self.apikeys.get(&ApiKeyKey::new(tenant, key_id)).await
    }

    /// The tenant holding key id `key_id`, from its claim (it never changes).
    pub async fn apikey_tenant(&self, key_id: &ApiKeyId) -> Result<Option<Tenant>, StoreError> {
        Ok(self
            .apikey_claims
            .get(&ApiKeyClaimKey::id(key_id))
            .await?
            .map(|c| c.value.tenant))
    }

    /// Stores a new key: its id claim, its name claim, then the record (with `create`).
    /// Returns the record's revision, or what was taken (nothing of this key stays).
    pub async fn create_apikey(
        &self,
        rec: &ApiKeyRecord,
        now: Timestamp,
    ) -> Result<Result<u64, ApiKeyTaken>, StoreError> {
        let claim = ApiKeyClaimRecord {
            v: SCHEMA_V,
            key_id: rec.key_id.clone(),
            tenant: rec.tenant.clone(),
            claimed_at: now.to_rfc3339(),
        };
        let id_key = ApiKeyClaimKey::id(&rec.key_id);
        match self.apikey_claims.create(&id_key, &claim).await {
            Ok(_) => {}
            Err(StoreError::Conflict) => return Ok(Err(ApiKeyTaken::Id)),
            Err(e) => return Err(e),
        }
        if !self
            .claim_apikey_name(&rec.tenant, &rec.name, &claim, now)
            .await?
        {
            self.apikey_claims.remove(&id_key).await?;
            return Ok(Err(ApiKeyTaken::Name));
        }
        let key = ApiKeyKey::new(&rec.tenant, &rec.key_id);
        self.apikeys.create(&key, rec).await.map(Ok)
    }

    /// Claims `name` in `tenant` for `mine.key_id`; false when another key holds it.
    async fn claim_apikey_name(
        &self,
        tenant: &Tenant,
        name: &ApiKeyName,
        mine: &ApiKeyClaimRecord,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let key = ApiKeyClaimKey::name(tenant, name);
        for _ in 0..4 {
            match self.apikey_claims.create(&key, mine).await {
                Ok(_) => return Ok(true),
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e),
            }
            let Some(held) = self.apikey_claims.get(&key).await? else {
                continue; // released in between: claim again
            };
            if held.value.key_id == mine.key_id {
                return Ok(true);
            }
            if self.apikey(tenant, &held.value.key_id).await?.is_some() {
                return Ok(false);
            }
            let settled = Timestamp::parse(&held.value.claimed_at)
                .is_none_or(|at| (at + CLAIM_SETTLE).has_passed(now));
            if !settled {
                return Ok(false); // its key's write may be under way
            }
            let taken = self
                .apikey_claims
                .modify(&key, |cur| {
                    Ok::<_, StoreError>(match cur {
                        Some(c) if c.revision != held.revision => Decision::Keep(false),
                        _ => Decision::Put(mine.clone(), true),
                    })
                })
                .await?;
            if taken.extra {
                return Ok(true);
            }
        }
        Err(StoreError::Conflict)
    }

    /// Starts following the API keys into a view by key id (until `stop`).
    pub fn watch_apikeys(
        &self,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> super::BucketView<ApiKeyRecord> {
        self.apikeys.watch_view(apikey_view_name, stop)
    }

    /// Deletes every key of `tenant` with its name claims (an archived tenant's purge);
    /// the records deleted, for the kick of their connections.
    pub async fn purge_apikeys(&self, tenant: &Tenant) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut out = Vec::new();
        let mut after = None;
        let mine = format!("{}.>", tenant.as_str());
        loop {
            let page = self.apikeys.page(&mine, after, 1000, Some).await?;
            for k in page.items {
                self.apikey_claims
                    .remove(&ApiKeyClaimKey::name(&k.tenant, &k.name))
                    .await?;
                self.apikeys
                    .remove(&ApiKeyKey::new(&k.tenant, &k.key_id))
                    .await?;
                // The id claim stays: an id is never reused.
                out.push(k);
            }
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }
}

/// The view's name of the record at bucket key `<tenant>.<key_id>`: its key id.
fn apikey_view_name(key: &str) -> String {
    key.rsplit('.').next().unwrap_or(key).to_owned()
}
