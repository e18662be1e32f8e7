//! The credential vault's records (PROTOCOL §10): credentials by id, the (provider, name)
//! claims that keep a holder's names unique, and each holder's wrapped data key.
//!
//! A credential is created claim first: the name claim (`create`: of two racing
//! creations exactly one wins), then the record. A delete goes the other way: the
//! record, then its claim. A claim whose record never came (a crash in between) is taken
//! over once older than [`CLAIM_SETTLE`]. Lists page the claims of one holder (the
//! server's key filter `u.<handle>.>`), so their cost is the page's, and read the records
//! they name in one batch.

use std::collections::HashMap;
use std::time::Duration;

use crate::domain::{CredentialHolder, CredentialId};
use crate::time_util::Timestamp;

use super::records::{
    ChangeNote, CredentialRecord, DataKeyRecord, Noted, VaultNameRecord, SCHEMA_V,
};
use super::{Decision, Page, Store, StoreError, VaultNameKey, Versioned};

/// How old a name claim without its credential must be before another creation may take
/// it over (its creation had this long to write the record).
pub const CLAIM_SETTLE: Duration = Duration::from_secs(60);

impl Store {
    /// Claims `key` for credential `id`: true when this credential now holds it (a fresh
    /// claim, or one a crash left behind), false when another credential does.
    pub async fn claim_credential_name(
        &self,
        key: &VaultNameKey,
        id: &CredentialId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let claim = VaultNameRecord {
            v: SCHEMA_V,
            credential_id: id.clone(),
            claimed_at: now.to_rfc3339(),
        };
        loop {
            match self.vault_names.create(key, &claim).await {
                Ok(_) => return Ok(true),
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e),
            }
            let Some(cur) = self.vault_names.get(key).await? else {
                continue;
            };
            if &cur.value.credential_id == id {
                return Ok(true);
            }
            if self.vault.get(&cur.value.credential_id).await?.is_some() {
                return Ok(false);
            }
            let stale = Timestamp::parse(&cur.value.claimed_at)
                .is_none_or(|at| (at + CLAIM_SETTLE).has_passed(now));
            if !stale {
                return Ok(false);
            }
            match self.vault_names.update(key, &claim, cur.revision).await {
                Ok(_) => return Ok(true),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Releases `key` if credential `id` holds it.
    pub async fn release_credential_name(
        &self,
        key: &VaultNameKey,
        id: &CredentialId,
    ) -> Result<(), StoreError> {
        self.vault_names
            .delete_if(key, |c| &c.value.credential_id == id)
            .await
            .map(drop)
    }

    /// Deletes credential `cur` (at the revision read) and then its name claim; false if
    /// the record changed or went meanwhile.
    pub async fn delete_credential(
        &self,
        cur: &Versioned<CredentialRecord>,
    ) -> Result<bool, StoreError> {
        let deleted = self
            .vault
            .delete_at(&cur.value.credential_id, cur.revision)
            .await?;
        if let Some(holder) = cur.value.holder() {
            let key = VaultNameKey::new(&holder, &cur.value.provider, &cur.value.name);
            self.release_credential_name(&key, &cur.value.credential_id)
                .await?;
        }
        Ok(deleted)
    }

    /// One page of `holder`'s credentials (in the order they were created), after the
    /// claims stream's sequence `after`.
    pub async fn credential_page(
        &self,
        holder: &CredentialHolder,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Page<Versioned<CredentialRecord>>, StoreError> {
        let filter = VaultNameKey::filter(holder);
        let claims = self
            .vault_names
            .page(&filter, after, limit, |c| Some(c.credential_id))
            .await?;
        let subjects: Vec<String> = claims
            .items
            .iter()
            .map(|id| self.vault.key_subject(id.as_str()))
            .collect();
        let mut records: HashMap<String, Versioned<CredentialRecord>> = HashMap::new();
        if !subjects.is_empty() {
            let stream = self.vault.stream_name();
            for item in self.vault.scanner().last_of(&stream, &subjects).await? {
                if item.tombstone {
                    continue;
                }
                let key = self.vault.key_of(&item.subject).to_owned();
                let value = self.vault.decode(&key, &item.payload)?;
                records.insert(
                    key,
                    Versioned {
                        value,
                        revision: item.seq,
                    },
                );
            }
        }
        // A claim counts only when its record names this holder (a claim a crash left
        // without its record shows nothing).
        let items = claims
            .items
            .into_iter()
            .filter_map(|id| records.remove(id.as_str()))
            .filter(|r| r.value.holder().as_ref() == Some(holder) && !r.value.deleting())
            .collect();
        Ok(Page {
            items,
            next: claims.next,
        })
    }

    /// Every credential of `holder` (a user's delete, a tenant's purge).
    pub async fn credentials_of(
        &self,
        holder: &CredentialHolder,
    ) -> Result<Vec<Versioned<CredentialRecord>>, StoreError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.credential_page(holder, after, 1000).await?;
            out.extend(page.items);
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// Deletes every credential of `holder` and its name claims, then its data key (so
    /// nothing it held can be decrypted again); how many credentials went.
    pub async fn destroy_holder(&self, holder: &CredentialHolder) -> Result<usize, StoreError> {
        self.vault_keys.remove(holder).await?;
        let mut n = 0;
        for c in self.credentials_of(holder).await? {
            if self.delete_credential(&c).await? {
                n += 1;
            }
        }
        // A claim whose record was already gone (a crash between a creation's two writes)
        // stays; it names no credential, and the next creation of its name takes it over.
        Ok(n)
    }

    /// Every credential that may get `credential.expiring` (see [`expiry_to_notice`]),
    /// with its expiry: a walk of the bucket, batched, once when a worker's healer
    /// starts (the vault's changes keep its index after that).
    pub async fn credential_expiries(&self) -> Result<Vec<(CredentialId, Timestamp)>, StoreError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .vault
                .page(">", after, 1000, |c| {
                    expiry_to_notice(&c).map(|at| (c.credential_id, at))
                })
                .await?;
            out.extend(page.items);
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// Marks credential `id` as told of its coming expiry (once: the worker whose write
    /// lands gets the record, and publishes `credential.expiring`).
    pub async fn mark_credential_expiring(
        &self,
        id: &CredentialId,
        now: Timestamp,
        notice: Duration,
    ) -> Result<Option<Versioned<CredentialRecord>>, StoreError> {
        let m = self
            .vault
            .modify(id, |cur| {
                Ok::<_, StoreError>(match cur {
                    Some(c) if expiring_soon(&c.value, now, notice) => {
                        let mut next = c.value.clone();
                        let at = now.to_rfc3339();
                        next.expiring_notified_at = Some(at.clone());
                        next.note = Some(ChangeNote::new(
                            "system",
                            None,
                            &at,
                            Noted::CredentialExpiring,
                        ));
                        Decision::put(next)
                    }
                    _ => Decision::Keep(()),
                })
            })
            .await?;
        Ok(m.current.filter(|_| m.changed))
    }

    /// `holder`'s wrapped data key.
    pub async fn data_key(
        &self,
        holder: &CredentialHolder,
    ) -> Result<Option<Versioned<DataKeyRecord>>, StoreError> {
        self.vault_keys.get(holder).await
    }

    /// Writes `holder`'s first data key; if another worker wrote one first, returns that
    /// one instead (a holder has one data key, whoever made it).
    pub async fn create_data_key(
        &self,
        holder: &CredentialHolder,
        rec: DataKeyRecord,
    ) -> Result<Versioned<DataKeyRecord>, StoreError> {
        let m = self
            .vault_keys
            .modify(holder, |cur| {
                Ok::<_, StoreError>(match cur {
                    Some(_) => Decision::Keep(()),
                    None => Decision::put(rec.clone()),
                })
            })
            .await?;
        m.current
            .ok_or_else(|| StoreError::Corrupt(format!("data key of {holder} vanished")))
    }

    /// Replaces `holder`'s wrapped data key read at `revision` with `rec` (a rewrap);
    /// false when it changed meanwhile (the caller reads it again).
    pub async fn rewrap_data_key(
        &self,
        holder: &CredentialHolder,
        revision: u64,
        rec: &DataKeyRecord,
    ) -> Result<bool, StoreError> {
        match self.vault_keys.update(holder, rec, revision).await {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every holder that has a data key.
    pub async fn data_key_holders(&self) -> Result<Vec<CredentialHolder>, StoreError> {
        let keys = self.vault_keys.keys().await?;
        Ok(keys.iter().filter_map(|k| holder_of_key(k)).collect())
    }
}

/// The expiry of `c` if it may still get `credential.expiring`: active, not being
/// deleted, not told yet.
pub fn expiry_to_notice(c: &CredentialRecord) -> Option<Timestamp> {
    if !c.active || c.deleting() || c.expiring_notified_at.is_some() {
        return None;
    }
    c.expires_at.as_deref().and_then(Timestamp::parse)
}

/// True when `c` may get `credential.expiring` and expires within `notice` of `now`.
fn expiring_soon(c: &CredentialRecord, now: Timestamp, notice: Duration) -> bool {
    expiry_to_notice(c).is_some_and(|at| (now + notice) >= at)
}

/// The holder a `roster_vault_keys` key names (`u.<handle>`, `t.<tenant>`, `s.system`).
pub fn holder_of_key(key: &str) -> Option<CredentialHolder> {
    match key.split_once('.')? {
        ("u", h) => crate::domain::Handle::parse(h)
            .ok()
            .map(CredentialHolder::User),
        ("t", t) => crate::domain::Tenant::parse(t)
            .ok()
            .map(CredentialHolder::Tenant),
        ("s", "system") => Some(CredentialHolder::System),
        _ => None,
    }
}
