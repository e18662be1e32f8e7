//! Unit tests of `crypto::sign` (a separate file so test-only unwraps stay out of the module).

use super::*;
use ed25519_dalek::SigningKey;

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
