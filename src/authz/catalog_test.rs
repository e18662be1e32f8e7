//! Unit tests of the permission catalog (a separate file so test-only unwraps stay out of
//! the module).

use std::collections::BTreeSet;

use super::*;

/// `^[a-z]+:[a-z_]+$`, by hand (the crate has no regex engine).
fn is_catalog_key(key: &str) -> bool {
    let Some((resource, action)) = key.split_once(':') else {
        return false;
    };
    !resource.is_empty()
        && resource.bytes().all(|b| b.is_ascii_lowercase())
        && !action.is_empty()
        && action.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

#[test]
fn every_key_follows_the_grammar_and_names_its_resource() {
    for p in Permission::ALL {
        assert!(is_catalog_key(p.key()), "{}", p.key());
        assert_eq!(p.key().split(':').next(), Some(p.resource().as_str()));
        assert_eq!(p.as_str(), p.key());
        assert_eq!(p.to_string(), p.key());
    }
}

#[test]
fn the_grammar_check_refuses_what_the_grammar_refuses() {
    for bad in [
        "",
        "invite",
        ":read",
        "invite:",
        "Invite:read",
        "invite:Read",
        "a:b:c",
        "a1:b",
    ] {
        assert!(!is_catalog_key(bad), "{bad}");
    }
}

#[test]
fn keys_are_unique_and_parse_back() {
    let keys: BTreeSet<&str> = Permission::ALL.iter().map(|p| p.key()).collect();
    assert_eq!(keys.len(), Permission::ALL.len());
    for p in Permission::ALL {
        assert_eq!(Permission::parse(p.key()), Ok(p));
    }
}

#[test]
fn the_catalog_holds_every_permission_the_protocol_names() {
    let named = [
        "tenant:read",
        "tenant:manage",
        "invite:read",
        "invite:create",
        "invite:cancel",
        "user:read",
        "user:set_role",
        "user:delete",
        "user:revoke",
        "user:manage_owners",
        "role:read",
        "role:manage",
        "site:read",
        "site:manage",
        "machine:read",
        "machine:approve",
        "machine:revoke",
        "audit:read",
        "apikey:read",
        "apikey:manage",
        "apikey:verify",
        "credential:read",
        "credential:reveal",
        "credential:manage",
    ];
    for key in named {
        assert!(Permission::parse(key).is_ok(), "{key}");
    }
    assert_eq!(Permission::ALL.len(), named.len());
}

#[test]
fn parsing_is_exact() {
    for bad in [
        "Invite:create",
        " invite:create",
        "invite:create ",
        "invite:*",
        "",
        "x:y",
    ] {
        assert!(Permission::parse(bad).is_err(), "{bad:?}");
    }
    let long = "z".repeat(10_000);
    let e = Permission::parse(&long).unwrap_err();
    assert_eq!(e.0.chars().count(), 64, "the error holds a bounded excerpt");
}

#[test]
fn every_resource_has_a_read_that_pairs_with_it() {
    for r in Resource::ALL {
        assert_eq!(r.read().resource(), r);
        assert!(r.read().is_read());
        assert!(Permission::ALL.iter().any(|p| p.resource() == r));
    }
    assert!(!Permission::InviteCreate.is_read());
    assert!(Permission::ALL
        .iter()
        .all(|p| Resource::ALL.contains(&p.resource())));
}

#[test]
fn descriptions_are_one_line() {
    for p in Permission::ALL {
        let d = p.description();
        assert!(
            !d.is_empty() && !d.contains('\n') && d.len() <= 100,
            "{}",
            p.key()
        );
    }
}

#[test]
fn only_tenant_permissions_are_platform_only() {
    let platform_only: Vec<&str> = Permission::ALL
        .iter()
        .filter(|p| p.is_platform_only())
        .map(|p| p.key())
        .collect();
    assert_eq!(platform_only, ["tenant:read", "tenant:manage"]);
}

#[test]
fn a_permission_serializes_as_its_key() {
    let json = serde_json::to_string(&Permission::UserManageOwners).unwrap();
    assert_eq!(json, r#""user:manage_owners""#);
    let back: Permission = serde_json::from_str(&json).unwrap();
    assert_eq!(back, Permission::UserManageOwners);
    assert!(serde_json::from_str::<Permission>(r#""user:own_everything""#).is_err());
    assert!(serde_json::from_str::<Permission>("3").is_err());
}

#[test]
fn perm_sets_hold_what_they_are_given() {
    let set = PermSet::of(Permission::SiteRead).with(Permission::SiteManage);
    assert!(set.contains(Permission::SiteRead) && set.contains(Permission::SiteManage));
    assert!(!set.contains(Permission::AuditRead));
    assert_eq!(set.len(), 2);
    assert_eq!(
        set.without(Permission::SiteManage),
        PermSet::of(Permission::SiteRead)
    );
    assert!(PermSet::of(Permission::SiteRead).is_subset(set));
    assert!(!set.is_subset(PermSet::of(Permission::SiteRead)));
    assert_eq!(set.difference(PermSet::of(Permission::SiteRead)).len(), 1);
    assert_eq!(set.intersection(PermSet::EMPTY), PermSet::EMPTY);
    assert_eq!(set.union(PermSet::EMPTY), set);
    assert!(PermSet::EMPTY.is_empty() && !set.is_empty());
    assert_eq!(set.to_string(), "site:read, site:manage");
    assert_eq!(format!("{set:?}"), r#"{"site:read", "site:manage"}"#);
}

#[test]
fn the_whole_and_the_tenant_sets() {
    assert_eq!(PermSet::ALL.len(), Permission::ALL.len());
    assert_eq!(PermSet::ALL.iter().collect::<Vec<_>>(), Permission::ALL);
    assert_eq!(PermSet::TENANT.len(), Permission::ALL.len() - 2);
    assert!(!PermSet::TENANT.contains(Permission::TenantManage));
    assert!(PermSet::TENANT.contains(Permission::UserManageOwners));
}

#[test]
fn a_perm_set_serializes_as_keys_in_catalog_order() {
    let set = PermSet::of(Permission::SiteManage).with(Permission::AuditRead);
    let json = serde_json::to_string(&set).unwrap();
    assert_eq!(json, r#"["site:manage","audit:read"]"#);
    let back: PermSet =
        serde_json::from_str(r#"["audit:read","site:manage","audit:read"]"#).unwrap();
    assert_eq!(back, set);
    let as_set: BTreeSet<Permission> = set.into();
    assert_eq!(PermSet::from(as_set), set);
}
