//! The v1 model, to be replaced: one fixed [`Role`] per user, operators acting at their
//! `sites`. Handlers still call these until they are rewired to [`super::Grants`] and the
//! checks of [`super::escalation`]; new code uses those. Permissions added to the catalog
//! after v1 mean nothing here beyond "owners and admins hold everything".

use super::Permission;
use crate::domain::Role;

/// Where a role may use a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Not at all.
    None,
    /// Only at the sites assigned to the user.
    AssignedSites,
    /// Everywhere.
    All,
}

/// What each v1 role may do.
pub fn scope(role: Role, perm: Permission) -> Scope {
    use Permission::*;
    match role {
        // Owners and admins hold every permission; what admins may not do to owners is
        // a rule on the target (`may_manage`), not a missing permission.
        Role::Owner | Role::Admin => Scope::All,
        Role::Operator => match perm {
            InviteRead | UserRead | SiteRead | MachineRead | AuditRead => Scope::All,
            MachineApprove | MachineRevoke | SiteManage => Scope::AssignedSites,
            _ => Scope::None,
        },
        Role::Member => Scope::None,
    }
}

/// True when `actor` may change a user whose role is (or becomes) `target`: only owners
/// change owners, and nobody grants a role above their own.
pub fn may_manage(actor: Role, target: Role) -> bool {
    if target == Role::Owner {
        actor == Role::Owner
    } else {
        actor >= target
    }
}

/// True when moving a user from (`old`, `old_sites`) to (`new`, `new_sites`) takes
/// anything away: a lower role, or (same role) a site it held. Such a change evicts the
/// user's live connections (PROTOCOL §6).
pub fn loses_permissions(
    old: Role,
    old_sites: &[crate::domain::SiteCode],
    new: Role,
    new_sites: &[crate::domain::SiteCode],
) -> bool {
    new < old || (new == old && old_sites.iter().any(|s| !new_sites.contains(s)))
}

#[cfg(test)]
#[path = "v1_test.rs"]
mod tests;
