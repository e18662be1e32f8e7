//! Unit tests of `crypto::seal` (a separate file so test-only unwraps stay out of the module).

use super::*;

fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("../../tests/data/test-vectors.json")).unwrap()
}

fn bytes32(c: &serde_json::Value, k: &str) -> [u8; 32] {
    let mut b = [0u8; 32];
    hex::decode_to_slice(c[k].as_str().unwrap(), &mut b).unwrap();
    b
}

fn nonce12(c: &serde_json::Value) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    hex::decode_to_slice(c["nonce"].as_str().unwrap(), &mut nonce).unwrap();
    nonce
}

#[test]
fn sealing_matches_the_independent_vectors() {
    let v = vectors();
    for c in v["sealed_credentials"].as_array().unwrap() {
        let agent = StaticSecret::from(bytes32(c, "agent_x25519_secret"));
        let agent_kex = bytes32(c, "agent_kex");
        let eph = StaticSecret::from(bytes32(c, "ephemeral_x25519_secret"));
        let mid = c["machine_id"].as_str().unwrap();
        let sealed = seal_with(
            SealPurpose::MachineCredential,
            c["plaintext_utf8"].as_str().unwrap(),
            &agent_kex,
            mid,
            &eph,
            &nonce12(c),
        )
        .unwrap();
        assert_eq!(sealed.epk, c["epk"].as_str().unwrap());
        assert_eq!(sealed.ciphertext, c["ciphertext"].as_str().unwrap());
        let opened = open(SealPurpose::MachineCredential, &agent, &sealed, mid).unwrap();
        assert_eq!(opened.as_str(), c["plaintext_utf8"].as_str().unwrap());
        assert!(
            open(SealPurpose::MachineCredential, &agent, &sealed, "m-other").is_err(),
            "the machine id is bound"
        );
    }
}

/// PROTOCOL §10 in both directions, byte for byte against libsodium/pyca's vectors.
#[test]
fn vault_sealing_in_and_out_matches_the_independent_vectors() {
    let v = vectors();
    let cases = v["sealed_credential_values"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for c in cases {
        let purpose = match c["hkdf_info_utf8"].as_str().unwrap() {
            "roster-v1 credential-in" => SealPurpose::CredentialIn,
            "roster-v1 credential-out" => SealPurpose::CredentialOut,
            other => panic!("unexpected info {other}"),
        };
        let recipient = StaticSecret::from(bytes32(c, "recipient_x25519_secret"));
        let recipient_kex = bytes32(c, "recipient_kex");
        assert_eq!(XPublicKey::from(&recipient).to_bytes(), recipient_kex);
        let eph = StaticSecret::from(bytes32(c, "ephemeral_x25519_secret"));
        let ad = c["associated_data_utf8"].as_str().unwrap();
        let plaintext = c["plaintext_utf8"].as_str().unwrap();
        // The intermediate values, so a mismatch says where it starts.
        let epk = XPublicKey::from(&eph).to_bytes();
        assert_eq!(hex::encode(epk), c["epk"].as_str().unwrap());
        let shared = eph.diffie_hellman(&XPublicKey::from(recipient_kex));
        assert_eq!(
            hex::encode(shared.as_bytes()),
            c["shared_secret"].as_str().unwrap()
        );
        let key = seal_key(purpose, shared.as_bytes(), &epk, &recipient_kex);
        assert_eq!(hex::encode(key.as_ref()), c["aead_key"].as_str().unwrap());

        let sealed = seal_with(purpose, plaintext, &recipient_kex, ad, &eph, &nonce12(c)).unwrap();
        assert_eq!(sealed.epk, c["epk"].as_str().unwrap());
        assert_eq!(sealed.nonce, c["nonce"].as_str().unwrap());
        assert_eq!(sealed.ciphertext, c["ciphertext"].as_str().unwrap());

        let from_vector = Sealed {
            epk: c["epk"].as_str().unwrap().into(),
            nonce: c["nonce"].as_str().unwrap().into(),
            ciphertext: c["ciphertext"].as_str().unwrap().into(),
        };
        let opened = open(purpose, &recipient, &from_vector, ad).unwrap();
        assert_eq!(opened.as_str(), plaintext);
        assert!(open(
            purpose,
            &recipient,
            &from_vector,
            "user/mallory/github/deploy"
        )
        .is_err());
        let other = match purpose {
            SealPurpose::CredentialIn => SealPurpose::CredentialOut,
            _ => SealPurpose::CredentialIn,
        };
        assert!(
            open(other, &recipient, &from_vector, ad).is_err(),
            "the direction is bound"
        );
    }
}

#[test]
fn a_sealed_credential_leaves_its_ciphertext_out_of_debug() {
    let agent = StaticSecret::from([7u8; 32]);
    let agent_kex = XPublicKey::from(&agent).to_bytes();
    let sealed = seal_credential("cak_secret", &agent_kex, "m-1").unwrap();
    let dbg = format!("{sealed:?}");
    assert!(!dbg.contains(&sealed.ciphertext), "{dbg}");
    assert!(dbg.contains(&sealed.epk), "{dbg}");
    let json = serde_json::to_string(&sealed).unwrap();
    assert!(
        json.contains(&sealed.ciphertext),
        "the wire still carries it"
    );
}
