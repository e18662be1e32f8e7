//! No escalation, and losing permissions (PROTOCOL §6, §8).
//!
//! Nobody creates or edits a role with, assigns, or mints an invite for a role holding
//! a permission they do not hold at that scope. These checks come after the command's
//! own permission (`role:manage`, `user:set_role`, `invite:create`): they say how far
//! the actor may go, not whether it may act at all. Because `owner` holds
//! `user:manage_owners` and `admin` does not, they are also what stops an admin from
//! making, unmaking or acting on an owner.

use super::{AssignScope, Assignment, Grants, PermSet, Permission, RoleDef, RoleResolver};
use crate::domain::Tenant;

/// The actor lacks these permissions where it tried to grant them (`forbidden`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("lacks {missing}")]
pub struct Escalation {
    /// What the actor would have granted beyond its own permissions.
    pub missing: PermSet,
}

impl Escalation {
    /// The PROTOCOL error code this error answers with.
    pub fn code(&self) -> &'static str {
        "forbidden"
    }
}

fn covered(needed: PermSet, held: PermSet) -> Result<(), Escalation> {
    let missing = needed.difference(held);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Escalation { missing })
    }
}

/// Checks that `actor` may grant `role_perms` at `scope`: it holds them all there. A
/// tenant-scope grant reaches every site of the tenant, so there the actor must hold
/// them [`Grants::throughout`] the tenant, narrowed sites included. Platform-only
/// permissions are not granted below platform scope, so they are not asked for there.
pub fn may_grant(
    actor: &Grants,
    role_perms: PermSet,
    scope: &AssignScope,
) -> Result<(), Escalation> {
    let (needed, held) = match scope {
        AssignScope::Platform => (role_perms, actor.platform()),
        AssignScope::Tenant(t) => (
            role_perms.intersection(PermSet::TENANT),
            actor.throughout(t),
        ),
        AssignScope::Site(s) => (
            role_perms.intersection(PermSet::TENANT),
            actor.at(&s.tenant, Some(&s.site)),
        ),
    };
    covered(needed, held)
}

/// Checks that `actor` may assign (or unassign: only what it could give) `assignment`,
/// or mint an invite that fixes it. An unknown role grants nothing, so it passes here:
/// the caller answers `not_found` for it first.
pub fn may_assign(
    actor: &Grants,
    assignment: &Assignment,
    roles: &impl RoleResolver,
) -> Result<(), Escalation> {
    may_grant(actor, assignment.permissions(roles), assignment.scope())
}

/// Checks that `actor` may save `new` as a role of `tenant`, replacing `old` (`None`
/// for `role.create`): it holds everything the role grants before and after, and for a
/// built-in (which only a tenant's owners edit) `user:manage_owners` too.
pub fn may_edit_role(
    actor: &Grants,
    tenant: &Tenant,
    old: Option<&RoleDef>,
    new: &RoleDef,
) -> Result<(), Escalation> {
    let mut needed = new.perm_set();
    if let Some(old) = old {
        needed = needed.union(old.perm_set());
    }
    if new.builtin || old.is_some_and(|o| o.builtin) {
        needed = needed.with(Permission::UserManageOwners);
    }
    may_grant(actor, needed, &AssignScope::Tenant(tenant.clone()))
}

/// Checks that `actor` may act on a whole user (revoke, delete): wherever the target
/// holds a permission, the actor holds it too. So an admin acts on no owner, and a
/// platform admin on no platform owner.
pub fn may_change_user(actor: &Grants, target: &Grants) -> Result<(), Escalation> {
    match excess(target, actor) {
        None => Ok(()),
        Some(missing) => Err(Escalation { missing }),
    }
}

/// True when going from `before` to `after` takes any permission away anywhere (at
/// platform scope, in any tenant, at any site), so the user's live connections must be
/// evicted (PROTOCOL §6). Works for assignment changes and role edits alike: build both
/// from the same user with the old and the new assignments or role table.
pub fn loses_any_permission(before: &Grants, after: &Grants) -> bool {
    excess(before, after).is_some()
}

/// Something `a` holds somewhere that `b` does not hold there, if any. The places that
/// can differ are platform scope, a tenant neither names, tenant level and each site
/// either holds a site assignment at; every other site behaves as its tenant level.
fn excess(a: &Grants, b: &Grants) -> Option<PermSet> {
    let lacking = |x: PermSet, y: PermSet| Some(x.difference(y)).filter(|m| !m.is_empty());
    if let Some(m) = lacking(a.platform(), b.platform()) {
        return Some(m);
    }
    if let Some(m) = lacking(a.in_every_tenant(), b.in_every_tenant()) {
        return Some(m);
    }
    for tenant in a.tenants().chain(b.tenants()) {
        if let Some(m) = lacking(a.at(tenant, None), b.at(tenant, None)) {
            return Some(m);
        }
        for site in a.narrowed_sites(tenant).chain(b.narrowed_sites(tenant)) {
            if let Some(m) = lacking(a.at(tenant, Some(site)), b.at(tenant, Some(site))) {
                return Some(m);
            }
        }
    }
    None
}

#[cfg(test)]
#[path = "escalation_test.rs"]
mod tests;
