//! Names and tables the `authz` tests share.

use super::*;
use crate::domain::{SiteCode, SiteRef, Tenant};

/// A tenant by name.
pub(crate) fn tenant(name: &str) -> Tenant {
    Tenant::parse(name).unwrap()
}

/// A site code.
pub(crate) fn code(site: &str) -> SiteCode {
    SiteCode::parse(site).unwrap()
}

/// The site `site` of tenant `t`.
pub(crate) fn site(t: &str, site: &str) -> SiteRef {
    SiteRef::new(&tenant(t), &code(site))
}

/// A role name.
pub(crate) fn role(name: &str) -> RoleName {
    RoleName::parse(name).unwrap()
}

/// A set of permissions.
pub(crate) fn perms(list: &[Permission]) -> PermSet {
    list.iter().collect()
}

/// `role` held throughout tenant `t`.
pub(crate) fn in_tenant(name: &str, t: &str) -> Assignment {
    Assignment::tenant(role(name), tenant(t))
}

/// `role` held at site `t/s`.
pub(crate) fn at_site(name: &str, t: &str, s: &str) -> Assignment {
    Assignment::site(role(name), site(t, s))
}

/// A valid custom role holding `list`, with no description.
pub(crate) fn custom_role(name: &str, list: &[Permission]) -> RoleDef {
    RoleDef::custom(role(name), list.iter().copied().collect(), String::new()).unwrap()
}

/// The built-ins of `acme` and `globex`, plus acme's custom `Floor Manager`
/// (machines: read and approve).
pub(crate) fn roles() -> RoleTable {
    let mut table = RoleTable::with_builtins([&tenant("acme"), &tenant("globex")]);
    let floor = custom_role(
        "Floor Manager",
        &[Permission::MachineRead, Permission::MachineApprove],
    );
    table.insert(&tenant("acme"), &floor);
    table
}

/// The grants of `assignments` under [`roles`].
pub(crate) fn grants(assignments: &[Assignment]) -> Grants {
    Grants::new(assignments, &roles())
}
