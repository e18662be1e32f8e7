//! Unit tests of `crypto::secret` (a separate file so test-only unwraps stay out of the module).

use super::*;

#[test]
fn secrets_round_trip_and_reject_typos() {
    for kind in [
        SecretKind::Invite,
        SecretKind::Enrollment,
        SecretKind::Credential,
    ] {
        let s = Secret::mint(kind);
        let text = s.expose().to_owned();
        assert!(text.starts_with(kind.prefix()));
        assert_eq!(
            Secret::parse(kind, &text).unwrap().digest_hex(),
            s.digest_hex()
        );
        // Change one character in the body: the checksum must catch it.
        let mut chars: Vec<char> = text.chars().collect();
        let i = 10;
        chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert!(Secret::parse(kind, &typo).is_err());
        assert!(Secret::parse(kind, &text[..text.len() - 1]).is_err());
        assert!(Secret::parse(kind, &text.to_uppercase()).is_err());
    }
    let inv = Secret::mint(SecretKind::Invite);
    assert!(Secret::parse(SecretKind::Enrollment, inv.expose()).is_err());
}

#[test]
fn debug_never_shows_the_secret() {
    let s = Secret::mint(SecretKind::Invite);
    let dbg = format!("{s:?}");
    assert!(!dbg.contains(&s.expose()[4..]));
}

#[test]
fn invite_ids_are_stable_per_token() {
    let s = Secret::mint(SecretKind::Invite);
    let again = Secret::parse(SecretKind::Invite, s.expose()).unwrap();
    assert_eq!(invite_id_hex(&s), invite_id_hex(&again));
    assert_eq!(invite_id_hex(&s).len(), 32);
}

#[test]
fn redacted_text_shows_only_the_prefix() {
    for kind in SecretKind::ALL {
        let s = Secret::mint(kind);
        let dbg = format!("{:?}", Redacted(s.expose()));
        assert_eq!(dbg, format!("\"{}…[redacted]\"", kind.prefix()));
    }
    assert_eq!(format!("{:?}", Redacted("hunter2")), "\"…[redacted]\"");
}
