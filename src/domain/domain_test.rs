//! Unit tests of `domain` (a separate file so test-only unwraps stay out of the module).

use super::*;

#[test]
fn handles_follow_the_grammar() {
    for ok in ["abc", "alice", "a_b-c", "0ops", &"a".repeat(32)] {
        assert!(Handle::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "ab",
        "Alice",
        "a.b",
        "a/b",
        "-ab",
        "ab-",
        "a b",
        &"a".repeat(33),
        "",
        "é12",
    ] {
        assert!(Handle::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn site_codes_are_case_insensitive() {
    assert_eq!(
        SiteCode::parse("acme-phx").unwrap(),
        SiteCode::parse("ACME-PHX").unwrap()
    );
    assert!(SiteCode::parse("acme_phx").is_err());
    assert!(SiteCode::parse("a.b").is_err());
}

#[test]
fn roles_parse_case_insensitively() {
    assert_eq!(Role::parse("OWNER").unwrap(), Role::Owner);
    assert!(Role::parse("root").is_err());
    assert!(Role::Owner > Role::Admin && Role::Admin > Role::Operator);
    assert!(Role::Operator > Role::Member);
}

#[test]
fn hex_keys_must_be_lowercase_and_exact() {
    let upper = "AB".repeat(32);
    assert!(KexKey::parse(&upper).is_err());
    assert!(KexKey::parse(&"ab".repeat(31)).is_err());
    assert!(KexKey::parse(&"ab".repeat(32)).is_ok());
}

#[test]
fn tenants_follow_the_slug_rule() {
    for ok in [
        "default",
        "acme",
        "a-1",
        "0ab",
        &"a".repeat(40),
        "acme--corp",
    ] {
        assert!(Tenant::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "ab",
        "Acme",
        "a_b",
        "a.b",
        "-ab",
        "ab-",
        "a b",
        &"a".repeat(41),
        "",
    ] {
        assert!(Tenant::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn tenant_statuses_move_as_protocol_section_7_says() {
    use TenantStatus::*;
    // (from, to) pairs that are moves; every other pair of different statuses is not.
    let allowed = [
        (Demo, Trial),
        (Demo, Active),
        (Demo, Frozen),
        (Trial, Demo),
        (Trial, Active),
        (Trial, Frozen),
        (Active, Demo),
        (Active, Trial),
        (Active, Frozen),
        (Frozen, Active),
        (Frozen, Archived),
    ];
    for from in TenantStatus::ALL {
        for to in TenantStatus::ALL {
            assert_eq!(
                from.may_become(to),
                allowed.contains(&(from, to)),
                "{from} -> {to}"
            );
        }
    }
}

#[test]
fn a_trial_past_its_end_acts_as_frozen() {
    let now = crate::time_util::Timestamp::parse("2030-01-02T00:00:00Z").unwrap();
    let before = crate::time_util::Timestamp::parse("2030-01-01T00:00:00Z").unwrap();
    let after = crate::time_util::Timestamp::parse("2030-01-03T00:00:00Z").unwrap();
    let t = TenantStatus::Trial;
    assert_eq!(t.effective(Some(before), now), TenantStatus::Frozen);
    assert_eq!(t.effective(Some(now), now), TenantStatus::Frozen);
    assert_eq!(t.effective(Some(after), now), TenantStatus::Trial);
    assert_eq!(t.effective(None, now), TenantStatus::Trial);
    assert_eq!(
        TenantStatus::Active.effective(Some(before), now),
        TenantStatus::Active
    );
}

#[test]
fn product_names_plans_ids_dates_and_configs_are_checked() {
    for ok in ["vision", "a", "x_1-b", &"p".repeat(32)] {
        assert!(ProductName::parse(ok).is_ok(), "{ok}");
    }
    for bad in ["", "Vision", "a.b", "a*", ">", "a b", "_a", &"p".repeat(33)] {
        assert!(ProductName::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(Plan::starter().as_str(), "starter");
    assert!(ExternalId::parse("cus_Nf3kL9").is_ok());
    assert!(ExternalId::parse("ERP/10042").is_ok());
    assert!(ExternalId::parse("a b").is_err());
    assert!(ExternalId::parse("").is_err());
    assert!(ExternalId::parse(&"x".repeat(129)).is_err());
    assert_eq!(Date::parse("2026-01-31").unwrap().to_text(), "2026-01-31");
    for bad in [
        "2026-02-30",
        "2026-1-31",
        "31.01.2026",
        "2026-01-31T00:00:00Z",
    ] {
        assert!(Date::parse(bad).is_err(), "{bad}");
    }
    let big = serde_json::json!({ "k": "x".repeat(MAX_PRODUCT_CONFIG) });
    assert!(serde_json::from_value::<ProductConfig>(big).is_err());
    let fits = serde_json::json!({ "k": "x".repeat(MAX_PRODUCT_CONFIG - 8) });
    let c: ProductConfig = serde_json::from_value(fits).unwrap();
    assert_eq!(c.encoded_len(), MAX_PRODUCT_CONFIG);
    assert!(serde_json::from_value::<ProductConfig>(serde_json::json!([1])).is_err());
    assert_eq!(TenantKind::Demo.default_status(), TenantStatus::Demo);
    assert_eq!(TenantKind::Customer.default_status(), TenantStatus::Active);
}

#[test]
fn masked_values_show_at_most_the_last_four_of_eight_or_more() {
    assert_eq!(masked_value("abc"), "••••");
    assert_eq!(masked_value("1234567"), "••••");
    assert_eq!(masked_value("12345678"), "••••5678");
    assert_eq!(masked_value("ghp_exampleTokenValue0123456789"), "••••6789");
    assert_eq!(masked_value("pässwörtchen"), "••••chen");
    assert!(masked_value(&"x".repeat(9000)).chars().count() <= 20);
}

#[test]
fn credential_names_ids_and_the_sealing_ad() {
    assert!(CredentialId::parse("c-0123456789abcdef0123456789abcdef").is_ok());
    assert!(CredentialId::parse("c-0123456789ABCDEF0123456789abcdef").is_err());
    assert!(CredentialId::parse("m-0123456789abcdef0123456789abcdef").is_err());
    assert_eq!(CredentialId::generate().as_str().len(), 34);
    assert!(
        CredentialName::parse("a/b").is_err(),
        "'/' separates the AD"
    );
    assert!(ProviderName::parse(" ").is_err());
    assert!(ProviderName::parse(&"p".repeat(65)).is_err());
    let n = CredentialName::parse("  Deploy ").unwrap();
    assert_eq!((n.as_str(), n.folded().as_str()), ("Deploy", "deploy"));
    let p = ProviderName::parse("github").unwrap();
    let alice = CredentialHolder::User(Handle::parse("alice").unwrap());
    assert_eq!(
        alice.sealing_ad(&p, &CredentialName::parse("deploy").unwrap()),
        "user/alice/github/deploy",
        "the vector's associated data"
    );
    assert_eq!(
        CredentialHolder::System.sealing_ad(&p, &n),
        "system/system/github/Deploy"
    );
}
