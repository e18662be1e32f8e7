//! Users and what hangs off them: the signing-key index, the owner guards (the
//! platform's and each tenant's), request nonces.

use super::records::{KeyIndexRecord, NonceRecord, OwnersRecord, UserRecord, UserStatus, SCHEMA_V};
use super::{Decision, Modified, NonceKey, OwnersKey, Store, StoreError, Versioned};
use crate::authz::{AssignScope, Builtin};
use crate::domain::{Handle, SignKey};

/// What binding a signing key to a handle found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyBinding {
    /// The key is bound to the handle (now, or already), at this revision of the index.
    Bound(u64),
    /// The key belongs to another handle.
    Taken,
}

impl Store {
    /// Records a request nonce. `Ok(false)` means this key used it within the window.
    pub async fn record_nonce(
        &self,
        key: &SignKey,
        nonce: &str,
        ts: i64,
    ) -> Result<bool, StoreError> {
        let rec = NonceRecord { v: SCHEMA_V, ts };
        match self.nonces.create(&NonceKey::new(key, nonce), &rec).await {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The key-index entry of a signing key.
    pub async fn key_index(
        &self,
        key: &SignKey,
    ) -> Result<Option<Versioned<KeyIndexRecord>>, StoreError> {
        self.user_keys.get(key).await
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

    /// Binds `key` to `handle` in the key index (idempotent). An index entry deleted
    /// while we looked is a `Conflict`: the caller's retry binds it again.
    pub async fn bind_key(
        &self,
        key: &SignKey,
        handle: &Handle,
        at: &str,
    ) -> Result<KeyBinding, StoreError> {
        let rec = KeyIndexRecord {
            v: SCHEMA_V,
            sign_pub: *key,
            handle: handle.clone(),
            created_at: at.to_owned(),
        };
        match self.user_keys.create(key, &rec).await {
            Ok(rev) => Ok(KeyBinding::Bound(rev)),
            Err(StoreError::Conflict) => match self.key_index(key).await? {
                Some(existing) if existing.value.handle == *handle => {
                    Ok(KeyBinding::Bound(existing.revision))
                }
                Some(_) => Ok(KeyBinding::Taken),
                None => Err(StoreError::Conflict),
            },
            Err(e) => Err(e),
        }
    }

    /// Removes `key` from the index if it still points at `handle` (idempotent).
    pub async fn unbind_key(&self, key: &SignKey, handle: &Handle) -> Result<(), StoreError> {
        self.user_keys
            .modify(key, |cur| {
                Ok::<_, StoreError>(match cur {
                    Some(idx) if idx.value.handle == *handle => Decision::Delete(()),
                    _ => Decision::Keep(()),
                })
            })
            .await
            .map(drop)
    }

    /// An owner-guard record (empty when it was never written).
    pub async fn owners(&self, scope: &OwnersKey) -> Result<OwnersRecord, StoreError> {
        Ok(self
            .meta
            .get(scope)
            .await?
            .map_or_else(empty_owners, |v| v.value))
    }

    /// Every owner-guard record as the stream leader has them, by key (for the
    /// consistency checker).
    pub async fn owner_guards_from_leader(
        &self,
    ) -> Result<Vec<(String, OwnersRecord)>, StoreError> {
        let mut out = Vec::new();
        for key in self.meta.keys().await? {
            if key == "owners" || key.starts_with("owners.") {
                if let Some(r) = self.meta.get_from_leader(&key).await? {
                    out.push((key, r));
                }
            }
        }
        Ok(out)
    }

    /// Adds `handle` to the owner guard of `scope` (idempotent).
    pub async fn add_owner(&self, scope: &OwnersKey, handle: &Handle) -> Result<(), StoreError> {
        self.meta
            .modify(scope, |cur| {
                let mut next = cur.map_or_else(empty_owners, |c| c.value.clone());
                if next.owners.contains(handle) {
                    return Ok::<_, StoreError>(Decision::Keep(()));
                }
                next.owners.push(handle.clone());
                next.owners.sort();
                Ok(Decision::put(next))
            })
            .await
            .map(drop)
    }

    /// Removes `handle` from the owner guard of `scope` if at least one other owner
    /// stays. `Ok(false)`: it would leave no owner. Idempotent when `handle` is not
    /// listed but others are.
    pub async fn remove_owner(
        &self,
        scope: &OwnersKey,
        handle: &Handle,
    ) -> Result<bool, StoreError> {
        let m = self
            .meta
            .modify(scope, |cur| {
                let owners = cur.map_or_else(Vec::new, |c| c.value.owners.clone());
                let remaining: Vec<Handle> =
                    owners.iter().filter(|h| *h != handle).cloned().collect();
                Ok::<_, StoreError>(if remaining.is_empty() {
                    Decision::Keep(false)
                } else if remaining.len() == owners.len() {
                    Decision::Keep(true)
                } else {
                    Decision::Put(
                        OwnersRecord {
                            v: SCHEMA_V,
                            owners: remaining,
                        },
                        true,
                    )
                })
            })
            .await?;
        Ok(m.extra)
    }

    /// Decides a change to a user under the owner guard. `decide` is first tried on the
    /// record as it is: if the change would take an active owner away (demote, revoke,
    /// delete), the owner leaves the guard first, and `last_owner()` is the refusal when
    /// no owner would remain. Then the change is decided and written as in
    /// [`super::TypedBucket::modify`]; a pass that would take away an owner the guard was
    /// not asked about (promoted meanwhile) is a `Conflict`. Whatever happened, the guard
    /// ends following the record.
    pub async fn modify_user<R, E>(
        &self,
        handle: &Handle,
        last_owner: impl FnOnce() -> E,
        mut decide: impl FnMut(Option<&Versioned<UserRecord>>) -> Result<Decision<UserRecord, R>, E>,
    ) -> Result<Modified<UserRecord, R>, E>
    where
        E: From<StoreError>,
    {
        let first = self.user(handle).await?;
        let asked = owners_taken_away(first.as_ref(), &decide(first.as_ref())?);
        for scope in &asked {
            if !self.remove_owner(scope, handle).await? {
                // Put back what this call took out before it found the last owner.
                self.owner_guard_follows(handle).await?;
                return Err(last_owner());
            }
        }
        let decided = self
            .users
            .modify(handle, |cur| {
                let d = decide(cur)?;
                if !owners_taken_away(cur, &d).is_subset(&asked) {
                    return Err(StoreError::Conflict.into());
                }
                Ok(d)
            })
            .await;
        self.owner_guard_follows(handle).await?;
        decided
    }

    /// Puts `handle` back into every owner guard it is an active owner of. A guard may
    /// under-count after an interrupted or refused change (which only makes it
    /// stricter); every change of an owner ends with this.
    pub async fn owner_guard_follows(&self, handle: &Handle) -> Result<(), StoreError> {
        let Some(u) = self.user(handle).await? else {
            return Ok(());
        };
        for scope in owner_scopes(&u.value) {
            self.add_owner(&scope, handle).await?;
        }
        Ok(())
    }
}

/// The owner guards an active user counts in: the platform's if it holds platform
/// `owner`, each tenant's where it holds `owner` at tenant scope. Revoked users, and
/// users being deleted, count nowhere.
pub fn owner_scopes(u: &UserRecord) -> std::collections::BTreeSet<OwnersKey> {
    if u.status != UserStatus::Active || u.deleting() {
        return Default::default();
    }
    u.assignments
        .iter()
        .filter(|a| a.role().builtin() == Some(Builtin::Owner))
        .filter_map(|a| match a.scope() {
            AssignScope::Platform => Some(OwnersKey::Platform),
            AssignScope::Tenant(t) => Some(OwnersKey::Tenant(t.clone())),
            AssignScope::Site(_) => None,
        })
        .collect()
}

/// The owner guards `d` takes `cur` out of (a demotion, an unassignment, a revoke, a
/// delete).
fn owners_taken_away<R>(
    cur: Option<&Versioned<UserRecord>>,
    d: &Decision<UserRecord, R>,
) -> std::collections::BTreeSet<OwnersKey> {
    let was = cur.map(|c| owner_scopes(&c.value)).unwrap_or_default();
    match d {
        Decision::Keep(_) => Default::default(),
        Decision::Put(next, _) => was.difference(&owner_scopes(next)).cloned().collect(),
        Decision::Delete(_) => was,
    }
}

fn empty_owners() -> OwnersRecord {
    OwnersRecord {
        v: SCHEMA_V,
        owners: Vec::new(),
    }
}
