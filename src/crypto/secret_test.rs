//! Unit tests of `crypto::secret` (a separate file so test-only unwraps stay out of the module).

use super::*;

#[test]
fn secrets_round_trip_and_reject_typos() {
    for kind in [
        SecretKind::Invite,
        SecretKind::Enrollment,
        SecretKind::Credential,
        SecretKind::ApiKey,
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

#[test]
fn api_keys_carry_their_key_id_under_the_checksum() {
    let k = Secret::mint(SecretKind::ApiKey);
    let id = k.api_key_id().unwrap().to_owned();
    assert!(is_api_key_id(&id));
    assert_eq!(k.display_prefix(), &k.expose()[..12]);
    assert!(k.display_prefix().starts_with("rak_") && id.starts_with(&k.display_prefix()[4..]));
    // A roll keeps the id and changes the secret.
    let rolled = Secret::mint_api_key(&id).unwrap();
    assert_eq!(rolled.api_key_id(), Some(id.as_str()));
    assert_ne!(rolled.expose(), k.expose());
    // The id is under the checksum: another id with the same secret is malformed.
    let other = if id.starts_with('0') { "1" } else { "0" };
    let forged = format!("rak_{other}{}", &k.expose()[5..]);
    assert!(Secret::parse(SecretKind::ApiKey, &forged).is_err());
    assert!(Secret::parse(SecretKind::ApiKey, "rak_").is_err());
    assert!(Secret::parse(SecretKind::ApiKey, "rak_0123456789abcdeZ").is_err());
    assert!(Secret::mint_api_key("XYZ").is_err());
    assert!(Secret::parse(SecretKind::Invite, k.expose()).is_err());
    assert_eq!(format!("{:?}", Redacted(k.expose())), "\"rak_…[redacted]\"");
}
