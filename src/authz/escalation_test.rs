//! Unit tests of the no-escalation checks and of losing permissions (a separate file so
//! test-only unwraps stay out of the module).

use super::*;
use crate::authz::fixtures::{at_site, custom_role, grants, in_tenant, roles, site, tenant};
use crate::authz::{Builtin, PlatformRole, RoleTable};

fn acme() -> AssignScope {
    AssignScope::Tenant(tenant("acme"))
}

fn owner() -> PermSet {
    Builtin::Owner.permissions()
}

#[test]
fn a_platform_admin_cannot_grant_platform_owner() {
    let actor = grants(&[Assignment::platform(PlatformRole::Admin)]);
    let e = may_assign(&actor, &Assignment::platform(PlatformRole::Owner), &roles()).unwrap_err();
    assert_eq!(e.missing, PermSet::of(Permission::UserManageOwners));
    assert_eq!(e.code(), "forbidden");
    assert!(e.to_string().contains("user:manage_owners"));
    assert!(may_assign(&actor, &Assignment::platform(PlatformRole::Admin), &roles()).is_ok());
    // In a tenant it holds everything, owners included.
    assert!(may_assign(&actor, &in_tenant("owner", "acme"), &roles()).is_ok());
}

#[test]
fn a_platform_owner_grants_anything() {
    let actor = grants(&[Assignment::platform(PlatformRole::Owner)]);
    assert!(may_assign(&actor, &Assignment::platform(PlatformRole::Owner), &roles()).is_ok());
    assert!(may_grant(&actor, PermSet::ALL, &acme()).is_ok());
}

#[test]
fn a_tenant_admin_cannot_make_an_owner() {
    let actor = grants(&[in_tenant("admin", "acme")]);
    for target in [
        in_tenant("owner", "acme"),
        in_tenant("OWNER", "acme"),
        at_site("owner", "acme", "PHX"),
    ] {
        let e = may_assign(&actor, &target, &roles()).unwrap_err();
        assert_eq!(
            e.missing,
            PermSet::of(Permission::UserManageOwners),
            "{target:?}"
        );
    }
    // Nor any role that holds what owners hold.
    assert!(may_grant(
        &actor,
        PermSet::of(Permission::UserManageOwners).with(Permission::UserRead),
        &acme()
    )
    .is_err());
    assert!(may_assign(&actor, &in_tenant("admin", "acme"), &roles()).is_ok());
    assert!(may_assign(&actor, &in_tenant("operator", "acme"), &roles()).is_ok());
    assert!(may_assign(&actor, &Assignment::platform(PlatformRole::Admin), &roles()).is_err());
}

#[test]
fn a_tenant_owner_makes_owners_in_its_tenant_only() {
    let actor = grants(&[in_tenant("owner", "acme")]);
    assert!(may_assign(&actor, &in_tenant("owner", "acme"), &roles()).is_ok());
    assert!(may_assign(&actor, &in_tenant("owner", "globex"), &roles()).is_err());
    assert!(may_grant(&actor, owner(), &AssignScope::Platform).is_err());
}

#[test]
fn an_operator_grants_at_most_operator_and_only_where_it_is() {
    let actor = grants(&[at_site("operator", "acme", "PHX")]);
    assert!(may_assign(&actor, &at_site("operator", "acme", "PHX"), &roles()).is_ok());
    assert!(may_assign(&actor, &at_site("Floor Manager", "acme", "PHX"), &roles()).is_ok());
    assert!(may_assign(&actor, &at_site("admin", "acme", "PHX"), &roles()).is_err());
    assert!(may_assign(&actor, &at_site("operator", "acme", "LAX"), &roles()).is_err());
    assert!(may_assign(&actor, &in_tenant("operator", "acme"), &roles()).is_err());
    assert!(may_assign(&actor, &at_site("operator", "globex", "PHX"), &roles()).is_err());
}

#[test]
fn a_narrowed_admin_cannot_grant_tenant_wide_what_it_lacks_at_a_site() {
    let actor = grants(&[in_tenant("admin", "acme"), at_site("member", "acme", "PHX")]);
    let e = may_assign(&actor, &in_tenant("operator", "acme"), &roles()).unwrap_err();
    assert_eq!(e.missing, Builtin::Operator.permissions());
    assert!(may_assign(&actor, &at_site("admin", "acme", "LAX"), &roles()).is_ok());
    assert!(may_assign(&actor, &at_site("operator", "acme", "PHX"), &roles()).is_err());
}

#[test]
fn granting_a_role_that_grants_nothing_is_never_an_escalation() {
    let nobody = grants(&[]);
    assert!(may_assign(&nobody, &in_tenant("member", "acme"), &roles()).is_ok());
    assert!(may_grant(&nobody, PermSet::EMPTY, &AssignScope::Platform).is_ok());
}

#[test]
fn platform_only_permissions_are_not_asked_for_below_platform_scope() {
    let actor = grants(&[in_tenant("owner", "acme")]);
    assert!(may_grant(&actor, PermSet::ALL, &acme()).is_ok());
    assert!(may_grant(
        &actor,
        PermSet::ALL,
        &AssignScope::Site(site("acme", "PHX"))
    )
    .is_ok());
}

#[test]
fn roles_are_created_and_edited_within_the_actors_permissions() {
    let acme_t = tenant("acme");
    let admin = grants(&[in_tenant("admin", "acme")]);
    let auditors = custom_role("Auditors", &[Permission::AuditRead, Permission::UserRead]);
    assert!(may_edit_role(&admin, &acme_t, None, &auditors).is_ok());

    let owners_like = custom_role(
        "Deputies",
        &[Permission::UserRead, Permission::UserManageOwners],
    );
    assert!(may_edit_role(&admin, &acme_t, None, &owners_like).is_err());

    // Taking away what the actor could not give is refused as well.
    let operator = grants(&[in_tenant("operator", "acme")]);
    let fewer = custom_role("Deputies", &[Permission::UserRead]);
    assert!(may_edit_role(&operator, &acme_t, Some(&owners_like), &fewer).is_err());
    assert!(may_edit_role(&admin, &acme_t, Some(&fewer), &auditors).is_ok());
}

#[test]
fn only_owners_edit_built_ins() {
    let acme_t = tenant("acme");
    let operator = Builtin::Operator.def();
    let edited = operator
        .updated(Some([Permission::MachineRead].into()), None)
        .unwrap();
    let admin = grants(&[in_tenant("admin", "acme")]);
    let e = may_edit_role(&admin, &acme_t, Some(&operator), &edited).unwrap_err();
    assert_eq!(e.missing, PermSet::of(Permission::UserManageOwners));
    let owner = grants(&[in_tenant("owner", "acme")]);
    assert!(may_edit_role(&owner, &acme_t, Some(&operator), &edited).is_ok());
}

#[test]
fn acting_on_a_user_needs_what_the_user_holds_wherever_it_holds_it() {
    let owner = grants(&[in_tenant("owner", "acme")]);
    let admin = grants(&[in_tenant("admin", "acme")]);
    let operator = grants(&[at_site("operator", "acme", "PHX")]);
    assert!(may_change_user(&owner, &admin).is_ok());
    assert!(may_change_user(&admin, &operator).is_ok());
    assert_eq!(
        may_change_user(&admin, &owner).unwrap_err().missing,
        PermSet::of(Permission::UserManageOwners)
    );
    assert!(may_change_user(&operator, &admin).is_err());

    // A user who also holds a role elsewhere is out of a one-tenant admin's reach.
    let elsewhere = grants(&[in_tenant("member", "acme"), in_tenant("operator", "globex")]);
    assert!(may_change_user(&admin, &elsewhere).is_err());

    let platform_admin = grants(&[Assignment::platform(PlatformRole::Admin)]);
    let platform_owner = grants(&[Assignment::platform(PlatformRole::Owner)]);
    assert!(may_change_user(&platform_admin, &owner).is_ok());
    assert!(may_change_user(&platform_admin, &platform_owner).is_err());
    assert!(may_change_user(&platform_owner, &platform_admin).is_ok());
}

#[test]
fn demotions_unassignments_and_narrowing_lose_permissions() {
    let admin = grants(&[in_tenant("admin", "acme")]);
    let cases = [
        ("demoted", grants(&[in_tenant("operator", "acme")])),
        ("unassigned", grants(&[])),
        (
            "narrowed",
            grants(&[in_tenant("admin", "acme"), at_site("member", "acme", "PHX")]),
        ),
        ("moved", grants(&[in_tenant("admin", "globex")])),
    ];
    for (what, after) in cases {
        assert!(loses_any_permission(&admin, &after), "{what}");
    }
    let platform_owner = grants(&[Assignment::platform(PlatformRole::Owner)]);
    let platform_admin = grants(&[Assignment::platform(PlatformRole::Admin)]);
    assert!(loses_any_permission(&platform_owner, &platform_admin));
    assert!(loses_any_permission(&platform_admin, &admin));
}

#[test]
fn gains_and_no_change_lose_nothing() {
    let operator = grants(&[at_site("operator", "acme", "PHX")]);
    assert!(!loses_any_permission(&operator, &operator.clone()));
    let more = [
        grants(&[
            at_site("operator", "acme", "PHX"),
            at_site("operator", "acme", "LAX"),
        ]),
        grants(&[at_site("admin", "acme", "PHX")]),
        grants(&[in_tenant("operator", "acme")]),
        grants(&[Assignment::platform(PlatformRole::Admin)]),
    ];
    for after in more {
        assert!(!loses_any_permission(&operator, &after), "{after:?}");
    }
    // A site move loses the old site.
    let moved = grants(&[at_site("operator", "acme", "LAX")]);
    assert!(loses_any_permission(&operator, &moved));
}

#[test]
fn a_role_edit_loses_permissions_for_its_holders() {
    let assignments = [at_site("Floor Manager", "acme", "PHX")];
    let before = Grants::new(&assignments, &roles());
    let mut edited = roles();
    let fewer = custom_role("Floor Manager", &[Permission::MachineRead]);
    edited.insert(&tenant("acme"), &fewer);
    let after = Grants::new(&assignments, &edited);
    assert!(loses_any_permission(&before, &after));
    assert!(!loses_any_permission(&after, &before));
    let gone = Grants::new(&assignments, &RoleTable::new());
    assert!(loses_any_permission(&before, &gone));
}
