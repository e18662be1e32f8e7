//! Unit tests of assignments and effective permissions (a separate file so test-only
//! unwraps stay out of the module).

use serde_json::json;

use super::*;
use crate::authz::fixtures::{at_site, code, grants, in_tenant, perms, role, roles, site, tenant};

fn operator() -> PermSet {
    Builtin::Operator.permissions()
}

fn admin() -> PermSet {
    Builtin::Admin.permissions()
}

#[test]
fn assignments_have_the_three_protocol_shapes() {
    let cases = [
        (
            in_tenant("admin", "acme"),
            json!({"role": "admin", "tenant": "acme"}),
        ),
        (
            at_site("operator", "acme", "phx"),
            json!({"role": "operator", "tenant": "acme", "site": "PHX"}),
        ),
        (
            Assignment::platform(PlatformRole::Owner),
            json!({"role": "owner", "scope": "platform"}),
        ),
    ];
    for (assignment, shape) in cases {
        assert_eq!(serde_json::to_value(&assignment).unwrap(), shape);
        let back: Assignment = serde_json::from_value(shape).unwrap();
        assert_eq!(back, assignment);
    }
}

#[test]
fn malformed_assignments_are_refused() {
    for bad in [
        json!({"role": "member", "scope": "platform"}),
        json!({"role": "Floor Manager", "scope": "platform"}),
        json!({"role": "owner", "scope": "platform", "tenant": "acme"}),
        json!({"role": "owner", "scope": "tenant", "tenant": "acme"}),
        json!({"role": "admin"}),
        json!({"role": "admin", "site": "PHX"}),
        json!({"role": "admin", "tenant": "acme", "extra": 1}),
        json!({"role": "ad", "tenant": "acme"}),
        json!({"role": "admin", "tenant": "ACME"}),
    ] {
        assert!(
            serde_json::from_value::<Assignment>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn platform_assignments_hold_owner_or_admin_only() {
    assert!(Assignment::new(role("Admin"), AssignScope::Platform).is_ok());
    assert_eq!(
        Assignment::new(role("operator"), AssignScope::Platform),
        Err(AssignmentError::PlatformRole("operator".into()))
    );
    assert!(Assignment::new(role("operator"), AssignScope::Tenant(tenant("acme"))).is_ok());
}

#[test]
fn a_tenant_assignment_applies_at_every_site_of_its_tenant_only() {
    let g = grants(&[in_tenant("admin", "acme")]);
    assert_eq!(g.at(&tenant("acme"), None), admin());
    assert_eq!(g.at(&tenant("acme"), Some(&code("PHX"))), admin());
    assert_eq!(g.at(&tenant("globex"), Some(&code("PHX"))), PermSet::EMPTY);
    assert!(!g.is_platform());
    assert_eq!(g.platform(), PermSet::EMPTY);
}

#[test]
fn a_site_assignment_narrows_only_that_site() {
    let g = grants(&[
        in_tenant("admin", "acme"),
        at_site("operator", "acme", "PHX"),
    ]);
    assert_eq!(g.at(&tenant("acme"), Some(&code("PHX"))), operator());
    assert_eq!(g.at(&tenant("acme"), Some(&code("LAX"))), admin());
    assert_eq!(g.at(&tenant("acme"), None), admin());
    assert!(!g.allows(Permission::UserDelete, &tenant("acme"), Some(&code("phx"))));
    assert!(g.allows(Permission::UserDelete, &tenant("acme"), Some(&code("lax"))));
}

#[test]
fn a_site_assignment_never_reaches_another_tenants_same_named_site() {
    let g = grants(&[at_site("operator", "acme", "PHX")]);
    assert_eq!(g.at(&tenant("acme"), Some(&code("PHX"))), operator());
    assert_eq!(g.at(&tenant("globex"), Some(&code("PHX"))), PermSet::EMPTY);
    assert_eq!(g.at(&tenant("acme"), Some(&code("LAX"))), PermSet::EMPTY);
    assert_eq!(g.at(&tenant("acme"), None), PermSet::EMPTY);
}

#[test]
fn site_grants_at_one_site_add_up() {
    let g = grants(&[
        at_site("Floor Manager", "acme", "PHX"),
        at_site("FLOOR MANAGER", "acme", "PHX"),
        at_site("member", "acme", "PHX"),
    ]);
    assert_eq!(
        g.at(&tenant("acme"), Some(&code("PHX"))),
        perms(&[Permission::MachineRead, Permission::MachineApprove])
    );
}

#[test]
fn a_site_assignment_narrows_even_when_it_grants_nothing() {
    for narrowing in ["member", "No Such Role"] {
        let g = grants(&[
            in_tenant("admin", "acme"),
            at_site(narrowing, "acme", "PHX"),
        ]);
        assert_eq!(
            g.at(&tenant("acme"), Some(&code("PHX"))),
            PermSet::EMPTY,
            "{narrowing}"
        );
        assert_eq!(g.at(&tenant("acme"), Some(&code("LAX"))), admin());
    }
}

#[test]
fn a_role_another_tenant_defines_grants_nothing_here() {
    // `Floor Manager` exists in acme only.
    let g = grants(&[in_tenant("Floor Manager", "globex")]);
    assert_eq!(g.at(&tenant("globex"), None), PermSet::EMPTY);
}

#[test]
fn platform_owners_hold_everything_everywhere() {
    let g = grants(&[Assignment::platform(PlatformRole::Owner)]);
    assert!(g.is_platform());
    assert_eq!(g.platform_role(), Some(PlatformRole::Owner));
    assert_eq!(g.platform(), PermSet::ALL);
    for t in ["acme", "globex", "initech"] {
        assert_eq!(g.at(&tenant(t), Some(&code("PHX"))), PermSet::ALL);
    }
    assert!(g.allows_platform(Permission::TenantManage));
    assert!(g.allows(Permission::TenantRead, &tenant("initech"), None));
}

#[test]
fn platform_admins_hold_everything_in_tenants_but_change_no_platform_owner() {
    let g = grants(&[Assignment::platform(PlatformRole::Admin)]);
    assert_eq!(g.at(&tenant("acme"), None), PermSet::ALL);
    assert!(g.allows_platform(Permission::TenantManage));
    assert!(!g.allows_platform(Permission::UserManageOwners));
    // Holding both, the higher counts.
    let both = grants(&[
        Assignment::platform(PlatformRole::Admin),
        Assignment::platform(PlatformRole::Owner),
    ]);
    assert_eq!(both.platform_role(), Some(PlatformRole::Owner));
}

#[test]
fn platform_grants_are_not_narrowed_by_site_assignments() {
    let g = grants(&[
        Assignment::platform(PlatformRole::Admin),
        at_site("member", "acme", "PHX"),
    ]);
    assert_eq!(g.at(&tenant("acme"), Some(&code("PHX"))), PermSet::ALL);
}

#[test]
fn a_tenant_role_never_carries_platform_only_permissions() {
    let resolver = |_: &Tenant, _: &RoleName| Some(PermSet::ALL);
    let g = Grants::new(&[in_tenant("Rogue", "acme")], &resolver);
    assert_eq!(g.at(&tenant("acme"), None), PermSet::TENANT);
    assert_eq!(g.platform(), PermSet::EMPTY);
}

#[test]
fn throughout_a_tenant_means_at_every_narrowed_site_too() {
    let g = grants(&[
        in_tenant("admin", "acme"),
        at_site("operator", "acme", "PHX"),
    ]);
    assert_eq!(
        g.throughout(&tenant("acme")),
        admin().intersection(operator())
    );
    let plain = grants(&[in_tenant("admin", "acme")]);
    assert_eq!(plain.throughout(&tenant("acme")), admin());
}

#[test]
fn lists_see_the_sites_they_may_read() {
    let read = Permission::MachineRead;
    let operator_at_sites = grants(&[
        at_site("operator", "acme", "PHX"),
        at_site("operator", "acme", "LAX"),
        at_site("member", "acme", "NYC"),
    ]);
    let seen = operator_at_sites.visible_sites(read, &tenant("acme"));
    assert_eq!(seen, Visibility::Sites([code("PHX"), code("LAX")].into()));
    assert!(seen.allows(&code("PHX")) && !seen.allows(&code("NYC")));
    assert!(!seen.allows(&code("SEA")));
    assert_eq!(
        operator_at_sites.visible_sites(read, &tenant("globex")),
        Visibility::None
    );

    let narrowed = grants(&[in_tenant("admin", "acme"), at_site("member", "acme", "NYC")]);
    let seen = narrowed.visible_sites(read, &tenant("acme"));
    assert_eq!(seen, Visibility::AllExcept([code("NYC")].into()));
    assert!(seen.allows(&code("SEA")) && !seen.allows(&code("NYC")));

    let whole = grants(&[
        in_tenant("operator", "acme"),
        at_site("operator", "acme", "PHX"),
    ]);
    assert_eq!(whole.visible_sites(read, &tenant("acme")), Visibility::All);

    let platform = grants(&[Assignment::platform(PlatformRole::Admin)]);
    assert_eq!(
        platform.visible_sites(read, &tenant("initech")),
        Visibility::All
    );

    let member = grants(&[in_tenant("member", "acme")]);
    assert_eq!(
        member.visible_sites(read, &tenant("acme")),
        Visibility::None
    );
}

#[test]
fn a_role_table_answers_by_tenant_and_key() {
    let mut table = roles();
    let acme = tenant("acme");
    assert_eq!(table.permissions(&acme, &role("ADMIN")), Some(admin()));
    assert_eq!(
        table.permissions(&acme, &role("floor manager")),
        Some(perms(&[
            Permission::MachineRead,
            Permission::MachineApprove
        ]))
    );
    assert_eq!(
        table.permissions(&tenant("globex"), &role("Floor Manager")),
        None
    );
    assert_eq!(table.permissions(&tenant("initech"), &role("admin")), None);
    table.remove(&acme, &role("Floor Manager"));
    assert_eq!(table.permissions(&acme, &role("Floor Manager")), None);
}

#[test]
fn an_assignment_says_what_it_grants() {
    let table = roles();
    assert_eq!(
        Assignment::platform(PlatformRole::Admin).permissions(&table),
        PermSet::ALL.without(Permission::UserManageOwners)
    );
    assert_eq!(
        at_site("operator", "acme", "PHX").permissions(&table),
        operator()
    );
    assert_eq!(
        in_tenant("No Such Role", "acme").permissions(&table),
        PermSet::EMPTY
    );
    assert_eq!(
        in_tenant("admin", "acme").scope().tenant(),
        Some(&tenant("acme"))
    );
    assert_eq!(site("acme", "PHX").to_string(), "acme/PHX");
    assert_eq!(
        AssignScope::Site(site("acme", "PHX")).to_string(),
        "acme/PHX"
    );
    assert_eq!(AssignScope::Platform.tenant(), None);
}
