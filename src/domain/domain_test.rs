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
