//! Roles and the permission catalog (PROTOCOL §4, "Roles").

use crate::domain::Role;

/// A permission an admin command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    InviteCreate,
    InviteRead,
    InviteCancel,
    UserRead,
    UserSetRole,
    UserDelete,
    UserRevoke,
    SiteManage,
    SiteRead,
    MachineRead,
    MachineApprove,
    MachineRevoke,
    AuditRead,
}

impl Permission {
    /// The catalog name, e.g. `invite:create`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::InviteCreate => "invite:create",
            Permission::InviteRead => "invite:read",
            Permission::InviteCancel => "invite:cancel",
            Permission::UserRead => "user:read",
            Permission::UserSetRole => "user:set_role",
            Permission::UserDelete => "user:delete",
            Permission::UserRevoke => "user:revoke",
            Permission::SiteManage => "site:manage",
            Permission::SiteRead => "site:read",
            Permission::MachineRead => "machine:read",
            Permission::MachineApprove => "machine:approve",
            Permission::MachineRevoke => "machine:revoke",
            Permission::AuditRead => "audit:read",
        }
    }

    /// Every permission, for docs and tests.
    pub const ALL: [Permission; 13] = [
        Permission::InviteCreate,
        Permission::InviteRead,
        Permission::InviteCancel,
        Permission::UserRead,
        Permission::UserSetRole,
        Permission::UserDelete,
        Permission::UserRevoke,
        Permission::SiteManage,
        Permission::SiteRead,
        Permission::MachineRead,
        Permission::MachineApprove,
        Permission::MachineRevoke,
        Permission::AuditRead,
    ];
}

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

/// The permission catalog: what each role may do.
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
#[path = "authz_test.rs"]
mod tests;
