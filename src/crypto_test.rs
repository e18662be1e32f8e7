//! Unit tests of `crypto` (a separate file so test-only unwraps stay out of the module).

use super::*;
use ed25519_dalek::SigningKey;

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
fn sealing_matches_the_independent_vectors() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../tests/data/test-vectors.json")).unwrap();
    for c in v["sealed_credentials"].as_array().unwrap() {
        let h = |k: &str| {
            let mut b = [0u8; 32];
            hex::decode_to_slice(c[k].as_str().unwrap(), &mut b).unwrap();
            b
        };
        let mut nonce = [0u8; 12];
        hex::decode_to_slice(c["nonce"].as_str().unwrap(), &mut nonce).unwrap();
        let agent = StaticSecret::from(h("agent_x25519_secret"));
        let agent_kex = h("agent_kex");
        let eph = StaticSecret::from(h("ephemeral_x25519_secret"));
        let mid = c["machine_id"].as_str().unwrap();
        let sealed = seal_with(
            c["plaintext_utf8"].as_str().unwrap(),
            &agent_kex,
            mid,
            &eph,
            &nonce,
        )
        .unwrap();
        assert_eq!(sealed.epk, c["epk"].as_str().unwrap());
        assert_eq!(sealed.ciphertext, c["ciphertext"].as_str().unwrap());
        let opened = open_credential(&agent, &sealed, mid).unwrap();
        assert_eq!(opened.as_str(), c["plaintext_utf8"].as_str().unwrap());
        assert!(
            open_credential(&agent, &sealed, "m-other").is_err(),
            "the machine id is bound"
        );
    }
}

#[test]
fn argon2_round_trips_with_small_params() {
    use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
    let p = Argon2Params {
        m_kib: 64,
        t: 1,
        p: 1,
    };
    let s = Secret::mint(SecretKind::Enrollment);
    let mut scratch = Argon2Scratch::default();
    let phc = argon2_hash_with(&mut scratch, &s, p).unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
    assert!(!phc.contains(&s.expose()[4..]));
    assert!(argon2_verify_with(
        &mut scratch,
        s.expose().as_bytes(),
        &phc
    ));
    assert!(!argon2_verify_with(&mut scratch, b"cek_wrong", &phc));
    assert!(!argon2_verify_with(
        &mut scratch,
        s.expose().as_bytes(),
        "not a phc"
    ));
    assert_eq!(fingerprint(&s).len(), 4);
    // Interoperable with the argon2 crate's own PHC hashing and verification.
    let std_params = argon2::Params::new(64, 1, 1, None).unwrap();
    let a2 = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        std_params,
    );
    let parsed = PasswordHash::new(&phc).unwrap();
    assert!(a2.verify_password(s.expose().as_bytes(), &parsed).is_ok());
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let theirs = a2
        .hash_password(s.expose().as_bytes(), &salt)
        .unwrap()
        .to_string();
    assert!(argon2_verify_with(
        &mut scratch,
        s.expose().as_bytes(),
        &theirs
    ));
    let huge = phc.replace("m=64", "m=4194304");
    assert!(!argon2_verify_with(
        &mut scratch,
        s.expose().as_bytes(),
        &huge
    ));
}

#[test]
fn nkeys_match_the_independent_vectors() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../tests/data/test-vectors.json")).unwrap();
    for c in v["nkeys"].as_array().unwrap() {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(c["ed25519_seed"].as_str().unwrap(), &mut seed).unwrap();
        let kp = KeyPairs::from_secrets(&seed, &[9u8; 32]);
        assert_eq!(
            kp.sign_pub().to_hex(),
            c["ed25519_public"].as_str().unwrap()
        );
        assert_eq!(
            kp.user_nkey_public(),
            c["user_nkey_public"].as_str().unwrap()
        );
        assert_eq!(
            kp.user_nkey_seed().unwrap().as_str(),
            c["user_nkey_seed"].as_str().unwrap()
        );
        let back = sign_key_from_user_nkey(c["user_nkey_public"].as_str().unwrap()).unwrap();
        assert_eq!(&back, kp.sign_pub_bytes());
    }
    let acct = nkeys::KeyPair::new_account();
    assert!(
        sign_key_from_user_nkey(&acct.public_key()).is_none(),
        "only user nkeys"
    );
}

#[test]
fn nkey_nonce_signatures_verify() {
    use base64::Engine;
    let kp = KeyPairs::generate();
    let nk = nkeys::KeyPair::from_seed(&kp.user_nkey_seed().unwrap()).unwrap();
    let sig = nk.sign(b"nonce-123").unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig);
    assert!(verify_nkey_nonce(&kp.user_nkey_public(), "nonce-123", &b64));
    assert!(!verify_nkey_nonce(
        &kp.user_nkey_public(),
        "nonce-124",
        &b64
    ));
    assert!(!verify_nkey_nonce(
        &kp.user_nkey_public(),
        "nonce-123",
        "!!"
    ));
}

#[test]
fn the_low_order_blocklist_agrees_with_a_real_exchange() {
    let probe = StaticSecret::from([0x5a; 32]);
    let dh = |b: [u8; 32]| {
        probe
            .diffie_hellman(&XPublicKey::from(b))
            .was_contributory()
    };
    for p in X25519_LOW_ORDER {
        assert!(!is_contributory_kex_key(&p));
        assert!(!dh(p));
        let mut high = p;
        high[31] |= 0x80;
        assert!(
            !is_contributory_kex_key(&high),
            "the ignored top bit does not help"
        );
        assert!(!dh(high));
    }
    for _ in 0..200 {
        let k = XPublicKey::from(&StaticSecret::random_from_rng(OsRng)).to_bytes();
        assert!(is_contributory_kex_key(&k) && dh(k));
    }
}

#[test]
fn generated_keys_sign_ed25519ph_and_a_pure_signature_is_refused() {
    use ed25519_dalek::Signer;
    let kp = KeyPairs::generate();
    let msg = signed_bytes("roster.v1.register", "1", &"00".repeat(16), b"{}");
    let key = kp.sign_pub().to_hex();
    let sig = kp.sign_hex(&msg);
    assert!(verify_request(&key, &msg, &sig).is_ok());
    assert!(verify_request(&key, b"other", &sig).is_err());
    // The same key's pure Ed25519 signature of the same bytes (what a NATS client makes
    // of any connect nonce) is not a request signature.
    let pure = SigningKey::from_bytes(&kp.sign_seed()).sign(&msg);
    assert_eq!(
        verify_request(&key, &msg, &hex::encode(pure.to_bytes())),
        Err(SignatureCheck::BadSignature)
    );
    assert!(kp.kex_pub().is_ok());
}

#[test]
fn keys_that_are_not_lowercase_hex_points_are_bad_keys() {
    let kp = KeyPairs::generate();
    let msg = b"m";
    let sig = kp.sign_hex(msg);
    let upper = kp.sign_pub().to_hex().to_uppercase();
    for bad in [upper.as_str(), "00", &"zz".repeat(32)] {
        assert!(matches!(
            verify_request(bad, msg, &sig),
            Err(SignatureCheck::BadKey(_))
        ));
    }
    assert_eq!(
        verify_request(&kp.sign_pub().to_hex(), msg, "00"),
        Err(SignatureCheck::BadSignature)
    );
}
