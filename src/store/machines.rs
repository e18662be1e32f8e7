//! Machines and their indexes: the uid claimed in a tenant, the credential digest.

use super::records::{CredentialIndexRecord, MachineRecord, UidIndexRecord, SCHEMA_V};
use super::{CredentialDigest, Decision, Store, StoreError, UidKey, Versioned};
use crate::domain::{MachineId, MachineUid, Tenant};

/// Who holds a machine uid in a tenant after a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UidClaim {
    /// The claiming machine (now, or already).
    Ours,
    /// Another machine: a clone or a collision.
    Theirs,
}

impl Store {
    /// Claims `uid` in `tenant` for `id` unless another machine holds it.
    pub async fn claim_uid(
        &self,
        tenant: &Tenant,
        uid: &MachineUid,
        id: &MachineId,
        at: &str,
    ) -> Result<UidClaim, StoreError> {
        let key = UidKey::new(tenant, uid);
        let rec = uid_record(id, uid, at);
        loop {
            match self.machine_uids.create(&key, &rec).await {
                Ok(_) => return Ok(UidClaim::Ours),
                Err(StoreError::Conflict) => match self.machine_uids.get(&key).await? {
                    Some(Versioned { value, .. }) if value.machine_id == *id => {
                        return Ok(UidClaim::Ours)
                    }
                    Some(_) => return Ok(UidClaim::Theirs),
                    None => continue, // released in between: try again
                },
                Err(e) => return Err(e),
            }
        }
    }

    /// Points the tenant's uid index at `m`, whoever held it (an operator decided `m`
    /// is the real machine). Idempotent.
    pub async fn take_over_uid(&self, m: &MachineRecord, at: &str) -> Result<(), StoreError> {
        let key = UidKey::new(&m.tenant, &m.machine_uid);
        self.machine_uids
            .modify(&key, |cur| {
                Ok::<_, StoreError>(match cur {
                    Some(c) if c.value.machine_id == m.machine_id => Decision::Keep(()),
                    _ => Decision::put(uid_record(&m.machine_id, &m.machine_uid, at)),
                })
            })
            .await
            .map(drop)
    }

    /// Releases `m`'s uid if `m` holds it (idempotent).
    pub async fn release_uid(&self, m: &MachineRecord) -> Result<(), StoreError> {
        let key = UidKey::new(&m.tenant, &m.machine_uid);
        self.machine_uids
            .modify(&key, |cur| {
                Ok::<_, StoreError>(match cur {
                    Some(c) if c.value.machine_id == m.machine_id => Decision::Delete(()),
                    _ => Decision::Keep(()),
                })
            })
            .await
            .map(drop)
    }

    /// Releases the uid claim stored at `key` if it still names `machine` and that machine
    /// was never written (an enrollment that died between its claim and its record);
    /// true if it did. Should the machine appear meanwhile, its claim is put back.
    pub async fn release_orphan_uid(
        &self,
        key: &str,
        machine: &MachineId,
    ) -> Result<bool, StoreError> {
        let key = UidKey::stored(key);
        let released = self
            .machine_uids
            .modify(&key, |cur| {
                Ok::<_, StoreError>(match cur {
                    Some(c) if c.value.machine_id == *machine => Decision::Delete(true),
                    _ => Decision::Keep(false),
                })
            })
            .await?;
        if !(released.changed && released.extra) {
            return Ok(false);
        }
        if let Some(m) = self.machine(machine).await? {
            self.take_over_uid(&m.value, &m.value.enrolled_at).await?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Indexes a credential digest to its machine (idempotent).
    pub async fn index_credential(
        &self,
        digest: &str,
        id: &MachineId,
        at: &str,
    ) -> Result<(), StoreError> {
        let rec = CredentialIndexRecord {
            v: SCHEMA_V,
            machine_id: id.clone(),
            created_at: at.to_owned(),
        };
        match self
            .credentials
            .create(&CredentialDigest(digest.to_owned()), &rec)
            .await
        {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes a replaced credential's index entry (cleanup: the machine record no
    /// longer carries its digest, so it is dead either way).
    pub async fn drop_credential(&self, digest: &str) -> Result<(), StoreError> {
        self.credentials
            .remove(&CredentialDigest(digest.to_owned()))
            .await
            .map(drop)
    }

    /// The machine a credential digest is indexed to.
    pub async fn credential_machine(&self, digest: &str) -> Result<Option<MachineId>, StoreError> {
        Ok(self
            .credentials
            .get(&CredentialDigest(digest.to_owned()))
            .await?
            .map(|v| v.value.machine_id))
    }
}

fn uid_record(id: &MachineId, uid: &MachineUid, at: &str) -> UidIndexRecord {
    UidIndexRecord {
        v: SCHEMA_V,
        machine_id: id.clone(),
        machine_uid: uid.clone(),
        created_at: at.to_owned(),
    }
}

impl Store {
    /// Gives every pending or cancelled invite whose record names no index entry one
    /// (after a restore, which does not carry index entries); how many it indexed.
    pub async fn index_unindexed_invites(&self) -> Result<usize, StoreError> {
        self.invites
            .reindex_all(|k| crate::domain::InviteId::parse(k).ok())
            .await
    }

    /// Gives every user whose record names no index entries its entries (after a
    /// restore); how many it indexed.
    pub async fn index_unindexed_users(&self) -> Result<usize, StoreError> {
        self.users
            .reindex_all(|k| crate::domain::Handle::parse(k).ok())
            .await
    }

    /// Gives every machine whose record names no index entry one (after a restore, which
    /// does not carry index entries); how many it indexed.
    pub async fn index_unindexed_machines(&self) -> Result<usize, StoreError> {
        self.machines
            .reindex_all(|k| MachineId::parse(k).ok())
            .await
    }
}
