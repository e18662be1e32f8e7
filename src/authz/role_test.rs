//! Unit tests of role names and definitions (a separate file so test-only unwraps stay
//! out of the module).

use std::collections::{BTreeSet, HashSet};

use super::*;
use crate::authz::fixtures::role;
use crate::authz::Resource;

fn set(list: &[Permission]) -> BTreeSet<Permission> {
    list.iter().copied().collect()
}

fn custom(name: &str, list: &[Permission]) -> Result<RoleDef, RoleError> {
    RoleDef::custom(RoleName::parse(name)?, set(list), String::new())
}

#[test]
fn a_name_is_trimmed_and_keeps_its_case_for_display() {
    let name = role("  Floor Manager \t");
    assert_eq!(name.as_str(), "Floor Manager");
    assert_eq!(name.to_string(), "Floor Manager");
}

#[test]
fn a_name_is_three_to_thirty_two_characters_after_trimming() {
    assert!(RoleName::parse("ab").is_err());
    assert!(RoleName::parse("  ab  ").is_err());
    assert!(RoleName::parse("     ").is_err());
    assert!(RoleName::parse("abc").is_ok());
    assert!(RoleName::parse(&"x".repeat(32)).is_ok());
    assert!(RoleName::parse(&"x".repeat(33)).is_err());
    // Characters, not bytes: 32 two-byte characters are a valid name.
    assert!(RoleName::parse(&"é".repeat(32)).is_ok());
    let e = RoleName::parse("ab").unwrap_err();
    assert_eq!(e.code(), "bad_request");
}

#[test]
fn a_name_holds_no_control_character() {
    for bad in ["ab\ncd", "ab\u{7}cd", "ab\u{0}cd", "ab\u{9b}cd"] {
        assert!(
            matches!(RoleName::parse(bad), Err(RoleError::BadName(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn floor_manager_in_any_case_is_one_role() {
    let a = role("Floor Manager");
    let b = role("FLOOR MANAGER");
    assert_eq!(a, b);
    assert_eq!(a.key(), "floor_manager");
    assert_eq!(a.key(), b.key());
    assert_eq!(a.cmp(&b), std::cmp::Ordering::Equal);
    let names: HashSet<RoleName> = [a, b, role(" floor manager ")].into_iter().collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn the_key_is_one_subject_token_and_names_one_role() {
    let cases = [
        ("floor_manager", "floor=5fmanager"),
        ("floor manager", "floor_manager"),
        ("a.b*c>d", "a=2eb=2ac=3ed"),
        ("x=5f", "x=3d5f"),
        ("Équipe", "=c3=a9quipe"),
        ("site-lead", "site-lead"),
    ];
    for (name, key) in cases {
        assert_eq!(role(name).key(), key, "{name}");
    }
    // The escapes keep apart what a plain mapping would merge.
    assert_ne!(role("floor_manager"), role("floor manager"));
    assert_ne!(role("x=5f"), role("x_f"));
    assert_eq!(role("ÉQUIPE"), role("équipe"));
}

#[test]
fn built_in_names_are_recognised_in_any_case() {
    assert_eq!(role("Admin").builtin(), Some(Builtin::Admin));
    assert_eq!(role(" OWNER ").builtin(), Some(Builtin::Owner));
    assert_eq!(role("Floor Manager").builtin(), None);
    assert_eq!(RoleName::from(Builtin::Operator), role("operator"));
    assert_eq!(RoleName::from(crate::domain::Role::Member), role("MEMBER"));
}

#[test]
fn admin_in_any_case_is_refused_as_a_custom_name() {
    for name in ["Admin", " ADMIN ", "admin", "oWnEr", "operator", "Member"] {
        let e = custom(name, &[]).unwrap_err();
        assert!(matches!(e, RoleError::Reserved(_)), "{name}: {e:?}");
        assert_eq!(e.code(), "conflict");
    }
}

#[test]
fn read_pairing_names_what_is_missing() {
    let e = custom(
        "Gatekeeper",
        &[
            Permission::InviteCreate,
            Permission::InviteCancel,
            Permission::SiteManage,
            Permission::AuditRead,
        ],
    )
    .unwrap_err();
    assert_eq!(
        e,
        RoleError::MissingRead(PermSet::of(Permission::InviteRead).with(Permission::SiteRead))
    );
    assert_eq!(e.code(), "bad_request");
    let message = e.to_string();
    assert!(
        message.contains("invite:read") && message.contains("site:read"),
        "{message}"
    );
    assert!(!message.contains("audit:read"), "{message}");

    let ok = custom(
        "Gatekeeper",
        &[Permission::InviteRead, Permission::InviteCreate],
    );
    assert!(ok.is_ok());
}

#[test]
fn a_tenant_role_holds_no_platform_only_permission() {
    let e = custom(
        "Tenant Boss",
        &[Permission::TenantRead, Permission::TenantManage],
    )
    .unwrap_err();
    assert_eq!(
        e,
        RoleError::PlatformOnly(PermSet::of(Permission::TenantRead).with(Permission::TenantManage))
    );
    assert_eq!(e.code(), "bad_request");
}

#[test]
fn the_built_ins_hold_what_the_protocol_says() {
    assert_eq!(Builtin::Owner.permissions(), PermSet::TENANT);
    assert_eq!(
        Builtin::Admin.permissions(),
        PermSet::TENANT.without(Permission::UserManageOwners)
    );
    let reads: PermSet = Permission::ALL
        .into_iter()
        .filter(|p| p.is_read() && !p.is_platform_only())
        .collect();
    assert_eq!(
        Builtin::Operator.permissions(),
        reads
            .with(Permission::MachineApprove)
            .with(Permission::MachineRevoke)
            .with(Permission::SiteManage)
    );
    assert_eq!(Builtin::Member.permissions(), PermSet::EMPTY);
}

#[test]
fn seeding_gives_the_four_built_ins_and_each_is_valid() {
    let seeded = seed_builtins();
    let names: Vec<&str> = seeded.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["owner", "admin", "operator", "member"]);
    for def in &seeded {
        assert!(def.builtin);
        assert_eq!(def.validate(), Ok(()), "{}", def.name);
        assert!(!def.description.is_empty());
    }
}

#[test]
fn owner_is_immutable_and_the_others_editable() {
    let owner = Builtin::Owner.def();
    assert_eq!(
        owner.updated(None, Some("mine".into())),
        Err(RoleError::BuiltinImmutable)
    );
    assert_eq!(RoleError::BuiltinImmutable.code(), "builtin_role_immutable");

    let operator = Builtin::Operator.def();
    let edited = operator
        .updated(Some(set(&[Permission::MachineRead])), None)
        .unwrap();
    assert_eq!(edited.name, operator.name);
    assert!(edited.builtin);
    assert_eq!(edited.description, operator.description);
    assert_eq!(edited.permissions, set(&[Permission::MachineRead]));
}

#[test]
fn an_edit_is_checked_again() {
    let admin = Builtin::Admin.def();
    let mut without_read = admin.permissions.clone();
    without_read.remove(&Permission::RoleRead);
    assert_eq!(
        admin.updated(Some(without_read), None),
        Err(RoleError::MissingRead(PermSet::of(Permission::RoleRead)))
    );
    assert_eq!(
        admin.updated(None, Some("x".repeat(MAX_DESCRIPTION_CHARS + 1))),
        Err(RoleError::BadDescription)
    );
}

#[test]
fn built_ins_cannot_be_deleted_and_custom_roles_can() {
    for b in Builtin::ALL {
        assert_eq!(b.def().check_delete(), Err(RoleError::BuiltinNonDeletable));
    }
    assert_eq!(
        RoleError::BuiltinNonDeletable.code(),
        "builtin_role_non_deletable"
    );
    assert_eq!(custom("Floor Manager", &[]).unwrap().check_delete(), Ok(()));
}

#[test]
fn a_record_cannot_claim_to_be_built_in() {
    let mut fake = custom("Floor Manager", &[]).unwrap();
    fake.builtin = true;
    assert!(matches!(fake.validate(), Err(RoleError::NotBuiltin(_))));
}

#[test]
fn descriptions_are_bounded_and_printable() {
    assert_eq!(check_description(""), Ok(()));
    assert_eq!(
        check_description(&"é".repeat(MAX_DESCRIPTION_CHARS)),
        Ok(())
    );
    assert_eq!(
        check_description(&"é".repeat(MAX_DESCRIPTION_CHARS + 1)),
        Err(RoleError::BadDescription)
    );
    assert_eq!(
        check_description("two\nlines"),
        Err(RoleError::BadDescription)
    );
}

#[test]
fn an_upgrade_gives_new_permissions_to_owner_only() {
    // Stored under an older catalog that had no API keys.
    let old_catalog: BTreeSet<Permission> = PermSet::TENANT
        .iter()
        .filter(|p| p.resource() != Resource::Apikey)
        .collect();
    let mut owner = Builtin::Owner.def();
    owner.permissions = old_catalog.clone();
    let upgraded = upgrade_builtin(&owner, &Permission::ALL).unwrap();
    assert_eq!(upgraded.perm_set(), PermSet::TENANT);
    assert_eq!(upgraded.name, owner.name);
    assert_eq!(upgraded.description, owner.description);
    assert_eq!(upgrade_builtin(&upgraded, &Permission::ALL), None);

    // The same catalog changes nothing.
    let catalog: Vec<Permission> = old_catalog.iter().copied().collect();
    assert_eq!(upgrade_builtin(&owner, &catalog), None);

    // Other built-ins keep what they hold, edited or not.
    let mut admin = Builtin::Admin.def();
    admin.permissions = old_catalog.clone();
    assert_eq!(upgrade_builtin(&admin, &Permission::ALL), None);
    let edited = Builtin::Operator
        .def()
        .updated(Some(set(&[Permission::SiteRead])), None)
        .unwrap();
    assert_eq!(upgrade_builtin(&edited, &Permission::ALL), None);
    assert_eq!(
        upgrade_builtin(&Builtin::Member.def(), &Permission::ALL),
        None
    );

    // A custom role is not a built-in, whatever it holds.
    let custom = custom("Floor Manager", &[]).unwrap();
    assert_eq!(upgrade_builtin(&custom, &Permission::ALL), None);
}

#[test]
fn a_role_record_round_trips_through_json() {
    let def = RoleDef::custom(
        role(" Floor Manager "),
        set(&[Permission::MachineApprove, Permission::MachineRead]),
        "Approves machines".into(),
    )
    .unwrap();
    let json = serde_json::to_value(&def).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "name": "Floor Manager",
            "builtin": false,
            "permissions": ["machine:read", "machine:approve"],
            "description": "Approves machines",
        })
    );
    let back: RoleDef = serde_json::from_value(json).unwrap();
    assert_eq!(back, def);
    assert!(serde_json::from_value::<RoleDef>(serde_json::json!({
        "name": "ab", "builtin": false, "permissions": []
    }))
    .is_err());
}
