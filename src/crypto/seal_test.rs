//! Unit tests of `crypto::seal` (a separate file so test-only unwraps stay out of the module).

use super::*;

#[test]
fn sealing_matches_the_independent_vectors() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/data/test-vectors.json")).unwrap();
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
