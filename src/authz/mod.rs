//! Authorization (PROTOCOL §4 "Roles", §8): the permission catalog, roles, assignments
//! and the one computation of effective permissions, as pure code (no KV, no I/O).
//!
//! One file per job:
//! - [`catalog`]: every `resource:action` [`Permission`], and [`PermSet`];
//! - [`role`]: [`RoleName`] (case-insensitive, with a subject-safe key), [`RoleDef`], the
//!   built-ins, the rules for saving a role, and what an upgrade does to a built-in;
//! - [`grant`]: [`Assignment`]s at platform, tenant or site scope, and [`Grants`], what a
//!   user holds where (`at`, `allows`, `visible_sites`);
//! - [`escalation`]: no escalation ([`may_grant`] and the checks built on it) and
//!   [`loses_any_permission`], which tells when to evict;
//! - [`v1`]: the v1 model (one [`crate::domain::Role`] per user), which the handlers still
//!   use until they are rewired; re-exported here as before.
//!
//! How "admin holds every permission but changing owners" is expressed: changing owners
//! is the permission `user:manage_owners`. `owner` holds it, `admin` does not, and the
//! no-escalation rule does the rest: an admin cannot grant `owner` (or any role holding
//! it), mint an owner invite, edit a built-in or act on a user who holds it. At platform
//! scope the same goes for platform `admin` and platform `owner`.

pub mod catalog;
pub mod escalation;
pub mod grant;
pub mod role;
pub mod v1;

pub use catalog::{PermSet, Permission, Resource, UnknownPermission};
pub use escalation::{
    loses_any_permission, may_assign, may_change_user, may_edit_role, may_grant, Escalation,
};
pub use grant::{
    AssignScope, Assignment, AssignmentError, Grants, PlatformRole, RoleResolver, RoleTable,
    Visibility,
};
pub use role::{
    check_description, check_permissions, seed_builtins, upgrade_builtin, Builtin, RoleDef,
    RoleError, RoleName, MAX_DESCRIPTION_CHARS,
};
pub use v1::{loses_permissions, may_manage, scope, Scope};

#[cfg(test)]
#[path = "fixtures_test.rs"]
mod fixtures;
#[cfg(test)]
#[path = "properties_test.rs"]
mod properties;
