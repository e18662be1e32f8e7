//! Unit tests of `crypto` (a separate file so test-only unwraps stay out of the module).

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
    assert_eq!(invite_id_for(&s), invite_id_for(&again));
    assert_eq!(invite_id_for(&s).as_str().len(), 32);
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
        let agent_kex = KexKey::parse(c["agent_kex"].as_str().unwrap()).unwrap();
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
        assert_eq!(back, kp.sign_pub());
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
fn generated_keys_sign_and_verify() {
    let kp = KeyPairs::generate();
    let msg = signed_bytes("roster.v1.register", "1", &"00".repeat(16), b"{}");
    let sig = kp.sign_hex(&msg);
    assert!(verify_request(&kp.sign_pub().to_hex(), &msg, &sig).is_ok());
    assert!(verify_request(&kp.sign_pub().to_hex(), b"other", &sig).is_err());
    assert!(kp.kex_pub().is_ok());
}

/// ed25519-dalek's own answer: `from_bytes`, not weak, `verify_strict`.
fn dalek_strict(key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    VerifyingKey::from_bytes(key).is_ok_and(|k| {
        !k.is_weak()
            && k.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig))
                .is_ok()
    })
}

fn ours(key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    PreparedSig::parse(&hex::encode(key), msg, &hex::encode(sig)).is_ok_and(|p| p.verify())
}

fn prepared(key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> PreparedSig {
    PreparedSig::parse(&hex::encode(key), msg, &hex::encode(sig)).unwrap()
}

/// A signature by `seed` over `msg`, optionally made malformed: a small-order point added
/// to the key or to `R` (mixed-order points pass the small-order checks), `s + ℓ`
/// (non-canonical), one flipped bit, or a non-canonical small-order `R`.
fn variant(seed: [u8; 32], msg: &[u8], how: u8, at: usize) -> ([u8; 32], [u8; 64]) {
    use curve25519_dalek::constants::EIGHT_TORSION;
    let sk = SigningKey::from_bytes(&seed);
    let mut key = sk.verifying_key().to_bytes();
    let mut sig = sk.sign(msg).to_bytes();
    let torsion = EIGHT_TORSION[1 + at % 7];
    match how % 7 {
        0 => {}
        1 => {
            let a = CompressedEdwardsY(key).decompress().unwrap() + torsion;
            key = a.compress().0;
        }
        2 => {
            let mut r = [0u8; 32];
            r.copy_from_slice(&sig[..32]);
            let r = CompressedEdwardsY(r).decompress().unwrap() + torsion;
            sig[..32].copy_from_slice(&r.compress().0);
        }
        3 => {
            // s + ℓ still fits in 32 bytes for most s: a non-canonical encoding.
            // ℓ = 2^252 + 27742317777372353535851937790883648493, little endian.
            let l: [u8; 32] =
                hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
                    .unwrap()
                    .try_into()
                    .unwrap();
            let mut carry = 0u16;
            for i in 0..32 {
                let v = u16::from(sig[32 + i]) + u16::from(l[i]) + carry;
                sig[32 + i] = v as u8;
                carry = v >> 8;
            }
        }
        4 => sig[at % 64] ^= 1 << (at % 8),
        5 => key[at % 32] ^= 1 << (at % 8),
        _ => {
            // R: y = 1 + p (the identity, not canonical) or y = p − 1 (the point of order
            // two), each also with the sign bit set (x = 0 has no negative: not canonical).
            let mut r = [0xffu8; 32];
            r[0] = [0xee, 0xec][at % 2];
            r[31] = 0x7f | (((at / 2) % 2) as u8) << 7;
            sig[..32].copy_from_slice(&r);
        }
    }
    (key, sig)
}

#[test]
fn prepared_signatures_agree_with_verify_strict_on_the_vectors() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../tests/data/test-vectors.json")).unwrap();
    for case in v["signed_requests"].as_array().unwrap() {
        let key: [u8; 32] = hex::decode(case["Roster-Key"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let msg = hex::decode(case["signed_bytes_hex"].as_str().unwrap()).unwrap();
        let sig: [u8; 64] = hex::decode(case["Roster-Sig"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        assert!(ours(&key, &msg, &sig) && dalek_strict(&key, &msg, &sig));
    }
    for small in v["bad_keys"]["ed25519_small_order_keys"]
        .as_array()
        .unwrap()
    {
        let hex_key = small.as_str().unwrap();
        let r = PreparedSig::parse(hex_key, b"m", &"00".repeat(64));
        assert!(matches!(r, Err(SignatureCheck::BadKey(_))), "{hex_key}");
    }
}

#[test]
fn every_kind_of_malformed_signature_is_judged_as_verify_strict_judges_it() {
    let msg = b"roster-v1\nroster.v1.register\n1\nnonce\n{}";
    for how in 0..7u8 {
        for at in 0..40usize {
            let seed = [how.wrapping_mul(31).wrapping_add(at as u8); 32];
            let (key, sig) = variant(seed, msg, how, at);
            assert_eq!(
                ours(&key, msg, &sig),
                dalek_strict(&key, msg, &sig),
                "variant {how}/{at}"
            );
            if (2..=4).contains(&how) || how == 6 {
                assert!(
                    !dalek_strict(&key, msg, &sig),
                    "variant {how}/{at} must fail"
                );
            }
        }
    }
    // A small-order R is refused before any arithmetic, like verify_strict does.
    let sk = SigningKey::from_bytes(&[7; 32]);
    let mut sig = sk.sign(msg).to_bytes();
    sig[..32].copy_from_slice(&[
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ]);
    let key = sk.verifying_key().to_bytes();
    assert!(!dalek_strict(&key, msg, &sig));
    assert!(matches!(
        PreparedSig::parse(&hex::encode(key), msg, &hex::encode(sig)),
        Err(SignatureCheck::BadSignature)
    ));
}

#[test]
fn a_batch_passes_only_when_every_signature_verifies() {
    let msgs: Vec<Vec<u8>> = (0..24u8).map(|i| vec![i; 100 + usize::from(i)]).collect();
    // Good signatures by distinct keys over the first `n` messages.
    let good_sigs = |n: usize| -> Vec<PreparedSig> {
        msgs[..n]
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let (k, s) = variant([i as u8 + 1; 32], m, 0, 0);
                prepared(&k, m, &s)
            })
            .collect()
    };
    let good = good_sigs(msgs.len());
    assert!(verify_batch(&good));
    assert!(verify_batch(&good[..2]) && verify_batch(&good[..1]) && verify_batch(&[]));
    // One wrong signature anywhere in the batch fails it.
    for bad_at in [0, 7, 23] {
        let mut sigs = good_sigs(msgs.len());
        let (k, s) = variant([bad_at as u8 + 1; 32], &msgs[bad_at], 0, 0);
        sigs[bad_at] = prepared(&k, b"another message", &s);
        assert!(!verify_batch(&sigs), "bad signature at {bad_at}");
    }
    // A lone signature whose only error is a small-order component of R (it passes the
    // small-order checks) never passes a batch: the batch weights are odd.
    for round in 0..200usize {
        let mut sigs = good_sigs(4);
        let (k, s) = variant([9; 32], &msgs[5], 2, round);
        assert!(!ours(&k, &msgs[5], &s));
        sigs.push(prepared(&k, &msgs[5], &s));
        assert!(!verify_batch(&sigs), "round {round}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn prepared_verify_matches_verify_strict(
        seed in proptest::prelude::any::<[u8; 32]>(),
        msg in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        how in 0u8..7,
        at in 0usize..512,
    ) {
        let (key, sig) = variant(seed, &msg, how, at);
        proptest::prop_assert_eq!(ours(&key, &msg, &sig), dalek_strict(&key, &msg, &sig));
    }

    #[test]
    fn a_batch_agrees_with_one_by_one_checks(
        seeds in proptest::collection::vec(proptest::prelude::any::<[u8; 32]>(), 2..12),
        flips in proptest::collection::vec(proptest::prelude::any::<bool>(), 12),
    ) {
        let sigs: Vec<PreparedSig> = seeds
            .iter()
            .zip(&flips)
            .filter_map(|(seed, flip)| {
                // A flipped bit in the message, or none; parse failures are not batched.
                let (k, s) = variant(*seed, b"msg", 0, 0);
                let m: &[u8] = if *flip { b"msh" } else { b"msg" };
                PreparedSig::parse(&hex::encode(k), m, &hex::encode(s)).ok()
            })
            .collect();
        let each = sigs.iter().all(PreparedSig::verify);
        proptest::prop_assert_eq!(verify_batch(&sigs), each);
    }
}

#[test]
fn a_signer_made_identity_r_is_refused_like_verify_strict_refuses_it() {
    // With R = the identity and s = k·a, the equation [s]B − [k]A = R holds; only the
    // small-order check on R refuses it.
    let sk = SigningKey::from_bytes(&[42; 32]);
    let key = sk.verifying_key().to_bytes();
    let msg = b"crafted";
    let mut r = [0u8; 32];
    r[0] = 1;
    let mut h = Sha512::new();
    h.update(r);
    h.update(key);
    h.update(msg);
    let s = Scalar::from_hash(h) * sk.to_scalar();
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r);
    sig[32..].copy_from_slice(s.as_bytes());
    assert!(!dalek_strict(&key, msg, &sig));
    assert!(matches!(
        PreparedSig::parse(&hex::encode(key), msg, &hex::encode(sig)),
        Err(SignatureCheck::BadSignature)
    ));
    // The check is what refuses it: the equation itself holds.
    let a = CompressedEdwardsY(key).decompress().unwrap();
    let mut h = Sha512::new();
    h.update(r);
    h.update(key);
    h.update(msg);
    let forged = PreparedSig {
        key: SignKey::from_checked(key).unwrap(),
        minus_a: -a,
        r_bytes: r,
        s,
        k: Scalar::from_hash(h),
    };
    assert!(forged.verify());
    assert!(forged.batch_r().is_none(), "a batch refuses it too");
}

#[test]
fn only_canonical_r_encodings_enter_a_batch() {
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    assert!(!canonical_y(&p), "p itself");
    let mut below = p;
    below[0] = 0xec;
    assert!(canonical_y(&below), "p - 1");
    assert!(!canonical_y(&[0xff; 32]), "2^255 - 1 (sign bit set)");
    let mut one = [0u8; 32];
    one[0] = 1;
    assert!(canonical_y(&one));
    one[31] = 0x80; // the sign bit does not count
    assert!(canonical_y(&one));
    // y = 1 + p encodes the same point as y = 1 but is not canonical.
    let mut y_plus_p = p;
    y_plus_p[0] = 0xee;
    assert!(!canonical_y(&y_plus_p));
    assert_eq!(
        CompressedEdwardsY(y_plus_p)
            .decompress()
            .map(|q| q.compress().0),
        CompressedEdwardsY({
            let mut o = [0u8; 32];
            o[0] = 1;
            o
        })
        .decompress()
        .map(|q| q.compress().0)
    );
}
