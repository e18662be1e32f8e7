//! Unit tests of `jwt` (a separate file so test-only unwraps stay out of the module).

use super::*;

#[test]
fn encoded_tokens_verify_and_tampering_is_caught() {
    let kp = nkeys::KeyPair::new_account();
    let claims = serde_json::json!({"iss": kp.public_key(), "sub": "x", "nats": {"a": 1}});
    let token = encode(&claims, &kp).unwrap();
    assert!(token.starts_with("eyJ"));
    let (back, iss): (serde_json::Value, String) = decode_verified(&token).unwrap();
    assert_eq!(iss, kp.public_key());
    assert_eq!(back["nats"]["a"], 1);
    // Swap the claims for other claims with the same issuer: the signature breaks.
    let other = encode(
        &serde_json::json!({"iss": kp.public_key(), "sub": "y"}),
        &kp,
    )
    .unwrap();
    let mut parts: Vec<&str> = token.split('.').collect();
    let other_parts: Vec<&str> = other.split('.').collect();
    parts[1] = other_parts[1];
    assert!(matches!(
        decode_verified::<serde_json::Value>(&parts.join(".")),
        Err(JwtError::Signature)
    ));
    assert!(matches!(
        decode_verified::<serde_json::Value>("a.b"),
        Err(JwtError::Shape)
    ));
}

#[test]
fn user_claims_have_the_config_mode_shape() {
    let kp = nkeys::KeyPair::new_account();
    let claims = UserClaims {
        jti: new_jti(),
        iat: 1,
        iss: kp.public_key(),
        sub: "UABC".into(),
        aud: "ROSTER".into(),
        name: "user:alice".into(),
        exp: Some(2),
        nats: UserNats {
            publish: Allow {
                allow: vec!["a.>".into()],
                deny: vec![],
            },
            subscribe: Allow::default(),
            subs: -1,
            data: -1,
            payload: -1,
            kind: "user",
            version: 2,
        },
    };
    let token = encode(&claims, &kp).unwrap();
    let (v, _): (serde_json::Value, String) = decode_verified(&token).unwrap();
    assert_eq!(v["aud"], "ROSTER");
    assert!(v.get("issuer_account").is_none());
    assert_eq!(v["nats"]["pub"]["allow"][0], "a.>");
    assert_eq!(v["nats"]["type"], "user");
}
