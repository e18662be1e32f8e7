//! The permission catalog (PROTOCOL §8): every `resource:action` key roster checks,
//! fixed in code, and [`PermSet`], the set type every permission computation uses.
//!
//! Two kinds of permission need a word:
//! - `tenant:*` is platform-only: only platform `owner`/`admin` hold it, and no tenant
//!   role may ([`Resource::is_platform_only`]).
//! - `user:manage_owners` is what "changing owners" means. `owner` holds it and `admin`
//!   does not, so the no-escalation rule alone keeps an admin from assigning `owner`,
//!   minting an owner invite or acting on an owner (PROTOCOL §4 "Roles").

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What a permission is about: the part of its key before the colon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// Tenant records (platform scope only).
    Tenant,
    /// Invites.
    Invite,
    /// Users and their assignments.
    User,
    /// Roles and the catalog.
    Role,
    /// Sites and their enrollment keys.
    Site,
    /// Machines.
    Machine,
    /// The audit trail.
    Audit,
    /// API keys.
    Apikey,
    /// Stored credentials.
    Credential,
}

impl Resource {
    /// Every resource, in catalog order.
    pub const ALL: [Resource; 9] = [
        Resource::Tenant,
        Resource::Invite,
        Resource::User,
        Resource::Role,
        Resource::Site,
        Resource::Machine,
        Resource::Audit,
        Resource::Apikey,
        Resource::Credential,
    ];

    /// The resource as it appears in keys and in `role.catalog`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Resource::Tenant => "tenant",
            Resource::Invite => "invite",
            Resource::User => "user",
            Resource::Role => "role",
            Resource::Site => "site",
            Resource::Machine => "machine",
            Resource::Audit => "audit",
            Resource::Apikey => "apikey",
            Resource::Credential => "credential",
        }
    }

    /// The resource's `read` permission, which every other permission on it pairs with.
    pub const fn read(self) -> Permission {
        match self {
            Resource::Tenant => Permission::TenantRead,
            Resource::Invite => Permission::InviteRead,
            Resource::User => Permission::UserRead,
            Resource::Role => Permission::RoleRead,
            Resource::Site => Permission::SiteRead,
            Resource::Machine => Permission::MachineRead,
            Resource::Audit => Permission::AuditRead,
            Resource::Apikey => Permission::ApikeyRead,
            Resource::Credential => Permission::CredentialRead,
        }
    }

    /// True for `tenant`: held at platform scope only, never by a tenant role.
    pub const fn is_platform_only(self) -> bool {
        matches!(self, Resource::Tenant)
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Declares [`Permission`] from one table, so a key, its resource and its description
/// cannot drift apart.
macro_rules! catalog {
    ($($variant:ident = $key:literal, $resource:ident, $description:literal;)+) => {
        /// A permission of the catalog. Serialized as its key (`invite:create`).
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum Permission {
            $(#[doc = $description] $variant,)+
        }

        impl Permission {
            /// Every permission, in catalog order (grouped by resource, `read` first).
            pub const ALL: [Permission; [$($key),+].len()] = [$(Permission::$variant),+];

            /// The catalog key, `resource:action`.
            pub const fn key(self) -> &'static str {
                match self {
                    $(Permission::$variant => $key,)+
                }
            }

            /// The resource this permission is about.
            pub const fn resource(self) -> Resource {
                match self {
                    $(Permission::$variant => Resource::$resource,)+
                }
            }

            /// One line for people (`role.catalog`).
            pub const fn description(self) -> &'static str {
                match self {
                    $(Permission::$variant => $description,)+
                }
            }
        }
    };
}

catalog! {
    TenantRead = "tenant:read", Tenant, "Read tenant records (platform scope only).";
    TenantManage = "tenant:manage", Tenant,
        "Create and update tenants, set their status and products (platform scope only).";
    InviteRead = "invite:read", Invite, "List and read invites (never their tokens).";
    InviteCreate = "invite:create", Invite, "Mint invites for roles the minter could assign.";
    InviteCancel = "invite:cancel", Invite, "Cancel pending invites.";
    UserRead = "user:read", User, "List and read users and their assignments.";
    UserSetRole = "user:set_role", User, "Assign and unassign roles the actor could grant.";
    UserDelete = "user:delete", User, "Delete users.";
    UserRevoke = "user:revoke", User, "Revoke users.";
    UserManageOwners = "user:manage_owners", User,
        "Change owners: assign or remove roles holding this permission, act on their holders.";
    RoleRead = "role:read", Role, "List and read roles and the permission catalog.";
    RoleManage = "role:manage", Role, "Create, edit and delete roles.";
    SiteRead = "site:read", Site, "List and read sites.";
    SiteManage = "site:manage", Site, "Create sites and rotate their enrollment keys.";
    MachineRead = "machine:read", Machine, "List and read machines.";
    MachineApprove = "machine:approve", Machine, "Approve or reject pending machines.";
    MachineRevoke = "machine:revoke", Machine, "Revoke machines.";
    AuditRead = "audit:read", Audit, "Query the audit trail.";
    ApikeyRead = "apikey:read", Apikey, "List and read API keys (never their secrets).";
    ApikeyManage = "apikey:manage", Apikey, "Create, roll and revoke API keys.";
    ApikeyVerify = "apikey:verify", Apikey, "Verify API keys for other services.";
    CredentialRead = "credential:read", Credential, "List and read stored credentials, masked.";
    CredentialReveal = "credential:reveal", Credential, "Reveal stored credentials' values.";
    CredentialManage = "credential:manage", Credential,
        "Create, rotate, revoke and delete stored credentials.";
}

// A `PermSet` is one bit per permission.
const _: () = assert!(Permission::ALL.len() <= 64);

impl Permission {
    /// The catalog key; the v1 name of [`Permission::key`], kept for existing callers.
    pub const fn as_str(self) -> &'static str {
        self.key()
    }

    /// Parses a catalog key exactly (keys are lower case; nothing is trimmed).
    pub fn parse(s: &str) -> Result<Permission, UnknownPermission> {
        Permission::ALL
            .into_iter()
            .find(|p| p.key() == s)
            .ok_or_else(|| UnknownPermission(s.chars().take(64).collect()))
    }

    /// True for its resource's `read` permission.
    pub const fn is_read(self) -> bool {
        self as u8 == self.resource().read() as u8
    }

    /// True when only platform scope may hold it (`tenant:*`).
    pub const fn is_platform_only(self) -> bool {
        self.resource().is_platform_only()
    }

    const fn bit(self) -> u64 {
        1 << self as u32
    }
}

/// A key that is not in the catalog (`bad_request`); holds at most its first 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission {0:?}")]
pub struct UnknownPermission(pub String);

impl TryFrom<String> for Permission {
    type Error = UnknownPermission;
    fn try_from(s: String) -> Result<Self, UnknownPermission> {
        Permission::parse(&s)
    }
}

impl From<Permission> for &'static str {
    fn from(p: Permission) -> &'static str {
        p.key()
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A set of permissions, one bit each: `Copy`, and cheap enough to compute on every
/// request and every connect. Serialized as a list of keys in catalog order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "BTreeSet<Permission>", into = "BTreeSet<Permission>")]
pub struct PermSet(u64);

impl PermSet {
    /// No permission.
    pub const EMPTY: PermSet = PermSet(0);
    /// Every permission of the catalog, `tenant:*` included (platform owners).
    pub const ALL: PermSet = PermSet::matching(false);
    /// Every permission a tenant role may hold: all but the platform-only ones.
    pub const TENANT: PermSet = PermSet::matching(true);

    const fn matching(tenant_only: bool) -> PermSet {
        let mut bits = 0;
        let mut i = 0;
        while i < Permission::ALL.len() {
            let p = Permission::ALL[i];
            if !(tenant_only && p.is_platform_only()) {
                bits |= p.bit();
            }
            i += 1;
        }
        PermSet(bits)
    }

    /// The set holding `perm` alone.
    pub const fn of(perm: Permission) -> PermSet {
        PermSet(perm.bit())
    }

    /// True when `perm` is in the set.
    pub const fn contains(self, perm: Permission) -> bool {
        self.0 & perm.bit() != 0
    }

    /// This set plus `perm`.
    pub const fn with(self, perm: Permission) -> PermSet {
        PermSet(self.0 | perm.bit())
    }

    /// This set less `perm`.
    pub const fn without(self, perm: Permission) -> PermSet {
        PermSet(self.0 & !perm.bit())
    }

    /// Permissions in either set.
    pub const fn union(self, other: PermSet) -> PermSet {
        PermSet(self.0 | other.0)
    }

    /// Permissions in both sets.
    pub const fn intersection(self, other: PermSet) -> PermSet {
        PermSet(self.0 & other.0)
    }

    /// Permissions in this set and not in `other`.
    pub const fn difference(self, other: PermSet) -> PermSet {
        PermSet(self.0 & !other.0)
    }

    /// True when every permission of this set is in `other`.
    pub const fn is_subset(self, other: PermSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// True when the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many permissions the set holds.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The permissions, in catalog order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }

    /// The permissions as an ordered set (role records).
    pub fn to_set(self) -> BTreeSet<Permission> {
        self.iter().collect()
    }
}

impl FromIterator<Permission> for PermSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        iter.into_iter().fold(PermSet::EMPTY, PermSet::with)
    }
}

impl<'a> FromIterator<&'a Permission> for PermSet {
    fn from_iter<I: IntoIterator<Item = &'a Permission>>(iter: I) -> Self {
        iter.into_iter().copied().collect()
    }
}

impl From<&BTreeSet<Permission>> for PermSet {
    fn from(set: &BTreeSet<Permission>) -> Self {
        set.iter().collect()
    }
}

impl From<BTreeSet<Permission>> for PermSet {
    fn from(set: BTreeSet<Permission>) -> Self {
        PermSet::from(&set)
    }
}

impl From<PermSet> for BTreeSet<Permission> {
    fn from(set: PermSet) -> Self {
        set.to_set()
    }
}

impl fmt::Debug for PermSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Permission::key))
            .finish()
    }
}

/// Comma-separated keys, for error messages (`invite:read, site:read`).
impl fmt::Display for PermSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(p.key())?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "catalog_test.rs"]
mod tests;
