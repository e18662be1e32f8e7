//! Each tenant's roles: the built-ins seeded once, custom roles, and the lookup that
//! turns a user's assignments into what its roles grant.

use crate::authz::{
    seed_builtins, upgrade_builtin, AssignScope, Assignment, Builtin, Permission, RoleName,
    RoleTable,
};
use crate::domain::{Handle, Tenant};

use super::records::RoleRecord;
use super::{RoleKey, Store, StoreError, Versioned};

impl Store {
    /// Role `name` of `tenant`.
    pub async fn role(
        &self,
        tenant: &Tenant,
        name: &RoleName,
    ) -> Result<Option<Versioned<RoleRecord>>, StoreError> {
        self.roles.get(&RoleKey::new(tenant, name)).await
    }

    /// Seeds `tenant`'s built-in roles: each is created if absent, never overwritten,
    /// so an edit survives every restart and upgrade. An existing `owner` gains the
    /// catalog's new permissions (only `owner` does). Safe to race.
    pub async fn seed_roles(&self, tenant: &Tenant, now: &str) -> Result<(), StoreError> {
        for def in seed_builtins() {
            let key = RoleKey::new(tenant, &def.name);
            match self
                .roles
                .create(&key, &RoleRecord::new(tenant, def, now))
                .await
            {
                Ok(_) => {}
                Err(StoreError::Conflict) => self.upgrade_owner_role(&key).await?,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn upgrade_owner_role(&self, key: &RoleKey) -> Result<(), StoreError> {
        self.roles
            .modify(key, |cur| {
                let Some(cur) = cur else {
                    return Ok::<_, StoreError>(super::Decision::Keep(()));
                };
                match upgrade_builtin(&cur.value.def(), &Permission::ALL) {
                    Some(def) => {
                        let mut next = cur.value.clone();
                        next.permissions = def.permissions;
                        Ok(super::Decision::put(next))
                    }
                    None => Ok(super::Decision::Keep(())),
                }
            })
            .await
            .map(drop)
    }

    /// What the tenant roles named in `assignments` grant, read from the roles bucket
    /// (`owner` is the catalog's, never read). A role that does not exist grants
    /// nothing.
    pub async fn role_table(&self, assignments: &[Assignment]) -> Result<RoleTable, StoreError> {
        let mut table = RoleTable::new();
        let mut seen = std::collections::BTreeSet::new();
        for a in assignments {
            let Some(tenant) = a.scope().tenant() else {
                continue;
            };
            if !seen.insert((tenant.clone(), a.role().clone())) {
                continue;
            }
            if a.role().builtin() == Some(Builtin::Owner) {
                table.insert(tenant, &Builtin::Owner.def());
                continue;
            }
            if let Some(r) = self.role(tenant, a.role()).await? {
                table.insert(tenant, &r.value.def());
            }
        }
        Ok(table)
    }

    /// Up to `max` users holding role `name` of `tenant` (a walk of the tenant's users
    /// through the users' index, batched: for `role.delete` and the kick after a role
    /// loses permissions, both rare).
    pub async fn users_holding(
        &self,
        tenant: &Tenant,
        name: &RoleName,
        max: usize,
    ) -> Result<Vec<Handle>, StoreError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .users
                .page_indexed(&format!("{}.*", tenant.as_str()), after, 1000, |u| {
                    let holds = u.assignments.iter().any(|a| {
                        a.role() == name
                            && a.scope().tenant() == Some(tenant)
                            && !matches!(a.scope(), AssignScope::Platform)
                    });
                    holds.then_some(u.handle)
                })
                .await?;
            out.extend(page.items);
            if out.len() >= max {
                out.truncate(max);
                return Ok(out);
            }
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// True when some user holds role `name` of `tenant`.
    pub async fn role_assigned(
        &self,
        tenant: &Tenant,
        name: &RoleName,
    ) -> Result<bool, StoreError> {
        Ok(!self.users_holding(tenant, name, 1).await?.is_empty())
    }
}
