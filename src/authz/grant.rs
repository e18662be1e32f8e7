//! Assignments and effective permissions (PROTOCOL §8): the one computation of what a
//! user may do where, for handlers and the callout alike.
//!
//! At a site S of tenant T a user holds its platform grants, plus the union of its
//! site-scoped grants at T/S if it has any assignment there, else the union of its
//! tenant-scoped grants in T. An assignment at T/S narrows even when its role grants
//! nothing (or is unknown): the tenant grant then stops at S and applies at every other
//! site. Platform `owner` and `admin` hold every permission in every tenant, `tenant:*`
//! included; at platform scope itself `admin` lacks `user:manage_owners`, so it changes
//! no platform owner.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Builtin, PermSet, Permission, RoleDef, RoleName};
use crate::domain::{SiteCode, SiteRef, Tenant};

/// The two roles a platform assignment may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PlatformRole {
    /// Every permission in every tenant; at platform scope all but changing owners.
    Admin,
    /// Every permission everywhere.
    Owner,
}

impl PlatformRole {
    /// The platform role of that name, in any case.
    pub fn of(name: &RoleName) -> Option<PlatformRole> {
        match name.builtin()? {
            Builtin::Owner => Some(PlatformRole::Owner),
            Builtin::Admin => Some(PlatformRole::Admin),
            Builtin::Operator | Builtin::Member => None,
        }
    }

    /// Its name.
    pub fn role_name(self) -> RoleName {
        match self {
            PlatformRole::Owner => Builtin::Owner,
            PlatformRole::Admin => Builtin::Admin,
        }
        .role_name()
    }

    /// What it holds at platform scope (and what assigning it there gives).
    pub const fn permissions(self) -> PermSet {
        match self {
            PlatformRole::Owner => PermSet::ALL,
            PlatformRole::Admin => PermSet::ALL.without(Permission::UserManageOwners),
        }
    }
}

/// Where an assignment applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AssignScope {
    /// Every tenant, and platform commands (`owner` and `admin` only).
    Platform,
    /// Every site of one tenant, and its tenant-level commands.
    Tenant(Tenant),
    /// One site of one tenant.
    Site(SiteRef),
}

impl AssignScope {
    /// The tenant it lies in; `None` for platform scope.
    pub fn tenant(&self) -> Option<&Tenant> {
        match self {
            AssignScope::Platform => None,
            AssignScope::Tenant(t) => Some(t),
            AssignScope::Site(s) => Some(&s.tenant),
        }
    }
}

/// A role held at a scope. Serialized as PROTOCOL §8 shows it: `{"role", "tenant"}`,
/// `{"role", "tenant", "site"}` or `{"role", "scope": "platform"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "AssignmentWire", into = "AssignmentWire")]
pub struct Assignment {
    role: RoleName,
    scope: AssignScope,
}

impl Assignment {
    /// An assignment of `role` at `scope`; platform scope takes only `owner` and `admin`.
    pub fn new(role: RoleName, scope: AssignScope) -> Result<Assignment, AssignmentError> {
        if scope == AssignScope::Platform && PlatformRole::of(&role).is_none() {
            return Err(AssignmentError::PlatformRole(role.as_str().to_owned()));
        }
        Ok(Assignment { role, scope })
    }

    /// A platform assignment.
    pub fn platform(role: PlatformRole) -> Assignment {
        Assignment {
            role: role.role_name(),
            scope: AssignScope::Platform,
        }
    }

    /// A tenant-scope assignment.
    pub fn tenant(role: RoleName, tenant: Tenant) -> Assignment {
        Assignment {
            role,
            scope: AssignScope::Tenant(tenant),
        }
    }

    /// A site-scope assignment.
    pub fn site(role: RoleName, site: SiteRef) -> Assignment {
        Assignment {
            role,
            scope: AssignScope::Site(site),
        }
    }

    /// The role held.
    pub fn role(&self) -> &RoleName {
        &self.role
    }

    /// Where it applies.
    pub fn scope(&self) -> &AssignScope {
        &self.scope
    }

    /// What it grants at its scope: a platform role's fixed set, else the tenant role's
    /// permissions less any platform-only ones (an unknown role grants nothing).
    pub fn permissions(&self, roles: &impl RoleResolver) -> PermSet {
        match (&self.scope, PlatformRole::of(&self.role)) {
            (AssignScope::Platform, Some(p)) => p.permissions(),
            (AssignScope::Platform, None) => PermSet::EMPTY,
            (AssignScope::Tenant(t), _) => tenant_role(roles, t, &self.role),
            (AssignScope::Site(s), _) => tenant_role(roles, &s.tenant, &self.role),
        }
    }
}

fn tenant_role(roles: &impl RoleResolver, tenant: &Tenant, role: &RoleName) -> PermSet {
    roles
        .permissions(tenant, role)
        .unwrap_or(PermSet::EMPTY)
        .intersection(PermSet::TENANT)
}

/// The serde shape of an [`Assignment`].
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignmentWire {
    role: RoleName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant: Option<Tenant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    site: Option<SiteCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<ScopeWord>,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ScopeWord {
    Platform,
}

impl TryFrom<AssignmentWire> for Assignment {
    type Error = AssignmentError;
    fn try_from(w: AssignmentWire) -> Result<Self, AssignmentError> {
        let scope = match (w.scope, w.tenant, w.site) {
            (Some(ScopeWord::Platform), None, None) => AssignScope::Platform,
            (Some(ScopeWord::Platform), _, _) => return Err(AssignmentError::PlatformWithTenant),
            (None, Some(t), None) => AssignScope::Tenant(t),
            (None, Some(t), Some(s)) => AssignScope::Site(SiteRef { tenant: t, site: s }),
            (None, None, _) => return Err(AssignmentError::NoTenant),
        };
        Assignment::new(w.role, scope)
    }
}

impl From<Assignment> for AssignmentWire {
    fn from(a: Assignment) -> Self {
        let (tenant, site, scope) = match a.scope {
            AssignScope::Platform => (None, None, Some(ScopeWord::Platform)),
            AssignScope::Tenant(t) => (Some(t), None, None),
            AssignScope::Site(s) => (Some(s.tenant), Some(s.site), None),
        };
        AssignmentWire {
            role: a.role,
            tenant,
            site,
            scope,
        }
    }
}

/// Why an assignment was refused (`bad_request`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignmentError {
    /// Platform scope holds only `owner` and `admin`.
    #[error("platform assignments hold owner or admin, not {0:?}")]
    PlatformRole(String),
    /// A platform assignment names no tenant or site.
    #[error("a platform assignment names no tenant or site")]
    PlatformWithTenant,
    /// A tenant or site assignment names its tenant.
    #[error("an assignment names its tenant, or \"scope\": \"platform\"")]
    NoTenant,
}

/// Where [`Grants`] learns what a tenant's roles hold; the caller supplies it (from the
/// role records, a cache, or a test table).
pub trait RoleResolver {
    /// The permissions of `role` in `tenant`; `None` when the tenant has no such role.
    fn permissions(&self, tenant: &Tenant, role: &RoleName) -> Option<PermSet>;
}

impl<F> RoleResolver for F
where
    F: Fn(&Tenant, &RoleName) -> Option<PermSet>,
{
    fn permissions(&self, tenant: &Tenant, role: &RoleName) -> Option<PermSet> {
        self(tenant, role)
    }
}

/// A map from (tenant, role key) to the role's permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleTable {
    tenants: BTreeMap<Tenant, BTreeMap<String, PermSet>>,
}

impl RoleTable {
    /// An empty table.
    pub fn new() -> RoleTable {
        RoleTable::default()
    }

    /// A table holding the seeded built-ins of each tenant.
    pub fn with_builtins<'a>(tenants: impl IntoIterator<Item = &'a Tenant>) -> RoleTable {
        let mut table = RoleTable::new();
        for tenant in tenants {
            for b in Builtin::ALL {
                table.insert(tenant, &b.def());
            }
        }
        table
    }

    /// Adds or replaces `role` of `tenant`.
    pub fn insert(&mut self, tenant: &Tenant, role: &RoleDef) {
        self.tenants
            .entry(tenant.clone())
            .or_default()
            .insert(role.name.key().to_owned(), role.perm_set());
    }

    /// Removes `role` of `tenant`.
    pub fn remove(&mut self, tenant: &Tenant, role: &RoleName) {
        if let Some(roles) = self.tenants.get_mut(tenant) {
            roles.remove(role.key());
        }
    }
}

impl RoleResolver for RoleTable {
    fn permissions(&self, tenant: &Tenant, role: &RoleName) -> Option<PermSet> {
        self.tenants.get(tenant)?.get(role.key()).copied()
    }
}

/// One tenant's grants: the union of its tenant-scope roles, and per site the union of
/// its site-scope roles (an entry exists for every site it is assigned at).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct TenantGrants {
    tenant_wide: PermSet,
    sites: BTreeMap<SiteCode, PermSet>,
}

/// A user's effective permissions, computed once from its assignments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    platform: Option<PlatformRole>,
    tenants: BTreeMap<Tenant, TenantGrants>,
}

impl Grants {
    /// The grants of `assignments`, with tenant roles looked up in `roles`.
    pub fn new<'a>(
        assignments: impl IntoIterator<Item = &'a Assignment>,
        roles: &impl RoleResolver,
    ) -> Grants {
        let mut grants = Grants::default();
        for a in assignments {
            let perms = a.permissions(roles);
            match &a.scope {
                AssignScope::Platform => {
                    grants.platform = grants.platform.max(PlatformRole::of(&a.role));
                }
                AssignScope::Tenant(t) => {
                    let g = grants.tenants.entry(t.clone()).or_default();
                    g.tenant_wide = g.tenant_wide.union(perms);
                }
                AssignScope::Site(s) => {
                    let g = grants.tenants.entry(s.tenant.clone()).or_default();
                    let site = g.sites.entry(s.site.clone()).or_default();
                    *site = site.union(perms);
                }
            }
        }
        grants
    }

    /// The grants of an API key (PROTOCOL §9): exactly `scopes` throughout `tenant`,
    /// platform-only permissions never.
    pub fn of_key(tenant: &Tenant, scopes: PermSet) -> Grants {
        let tenant_wide: PermSet = scopes.iter().filter(|p| !p.is_platform_only()).collect();
        let mut grants = Grants::default();
        grants.tenants.insert(
            tenant.clone(),
            TenantGrants {
                tenant_wide,
                sites: BTreeMap::new(),
            },
        );
        grants
    }

    /// True for a platform owner or admin.
    pub fn is_platform(&self) -> bool {
        self.platform.is_some()
    }

    /// The platform role held, the higher one if both.
    pub fn platform_role(&self) -> Option<PlatformRole> {
        self.platform
    }

    /// What it holds at platform scope (tenant commands, platform assignments).
    pub fn platform(&self) -> PermSet {
        self.platform
            .map_or(PermSet::EMPTY, PlatformRole::permissions)
    }

    /// What its platform role gives it in any tenant: everything, or nothing.
    pub fn in_every_tenant(&self) -> PermSet {
        if self.is_platform() {
            PermSet::ALL
        } else {
            PermSet::EMPTY
        }
    }

    /// Its effective permissions in `tenant`: at `site`, or with `None` at tenant level
    /// (tenant-level commands, and every site it holds no site assignment at).
    pub fn at(&self, tenant: &Tenant, site: Option<&SiteCode>) -> PermSet {
        let local = self.tenants.get(tenant).map_or(PermSet::EMPTY, |g| {
            site.and_then(|s| g.sites.get(s).copied())
                .unwrap_or(g.tenant_wide)
        });
        self.in_every_tenant().union(local)
    }

    /// Its permissions at `scope`: [`Grants::platform`], [`Grants::at`] tenant level, or
    /// [`Grants::at`] the site.
    pub fn at_scope(&self, scope: &AssignScope) -> PermSet {
        match scope {
            AssignScope::Platform => self.platform(),
            AssignScope::Tenant(t) => self.at(t, None),
            AssignScope::Site(s) => self.at(&s.tenant, Some(&s.site)),
        }
    }

    /// What it holds throughout `tenant`: at tenant level and at every site where a
    /// site assignment narrows it.
    pub fn throughout(&self, tenant: &Tenant) -> PermSet {
        let narrowed = self
            .narrowed_sites(tenant)
            .map(|s| self.at(tenant, Some(s)));
        narrowed.fold(self.at(tenant, None), PermSet::intersection)
    }

    /// True when it holds `perm` in `tenant` at `site` (`None`: tenant level).
    pub fn allows(&self, perm: Permission, tenant: &Tenant, site: Option<&SiteCode>) -> bool {
        self.at(tenant, site).contains(perm)
    }

    /// True when it holds `perm` at platform scope.
    pub fn allows_platform(&self, perm: Permission) -> bool {
        self.platform().contains(perm)
    }

    /// Which sites of `tenant` it may use `perm` at, so that a list can filter.
    pub fn visible_sites(&self, perm: Permission, tenant: &Tenant) -> Visibility {
        if self.in_every_tenant().contains(perm) {
            return Visibility::All;
        }
        let Some(g) = self.tenants.get(tenant) else {
            return Visibility::None;
        };
        // Site assignments that disagree with the tenant grant are the exceptions.
        let tenant_has = g.tenant_wide.contains(perm);
        let differing: BTreeSet<SiteCode> = g
            .sites
            .iter()
            .filter(|(_, perms)| perms.contains(perm) != tenant_has)
            .map(|(site, _)| site.clone())
            .collect();
        match (tenant_has, differing.is_empty()) {
            (true, true) => Visibility::All,
            (true, false) => Visibility::AllExcept(differing),
            (false, true) => Visibility::None,
            (false, false) => Visibility::Sites(differing),
        }
    }

    /// The tenants it holds an assignment in (platform scope aside).
    pub fn tenants(&self) -> impl Iterator<Item = &Tenant> {
        self.tenants.keys()
    }

    /// The sites of `tenant` it holds site assignments at.
    pub fn narrowed_sites<'a>(&'a self, tenant: &Tenant) -> impl Iterator<Item = &'a SiteCode> {
        self.tenants
            .get(tenant)
            .into_iter()
            .flat_map(|g| g.sites.keys())
    }
}

/// The sites of a tenant a list may show for one permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Every site.
    All,
    /// Every site but these (site assignments that narrow the tenant grant away).
    AllExcept(BTreeSet<SiteCode>),
    /// These sites only.
    Sites(BTreeSet<SiteCode>),
    /// No site.
    None,
}

impl Visibility {
    /// True when a record at `site` is visible.
    pub fn allows(&self, site: &SiteCode) -> bool {
        match self {
            Visibility::All => true,
            Visibility::AllExcept(hidden) => !hidden.contains(site),
            Visibility::Sites(shown) => shown.contains(site),
            Visibility::None => false,
        }
    }
}

impl fmt::Display for AssignScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssignScope::Platform => f.write_str("platform"),
            AssignScope::Tenant(t) => f.write_str(t.as_str()),
            AssignScope::Site(s) => s.fmt(f),
        }
    }
}

#[cfg(test)]
#[path = "grant_test.rs"]
mod tests;
