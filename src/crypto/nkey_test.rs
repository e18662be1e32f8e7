//! Unit tests of `crypto::nkey` (a separate file so test-only unwraps stay out of the module).

use super::*;

#[test]
fn nkeys_match_the_independent_vectors() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/data/test-vectors.json")).unwrap();
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
