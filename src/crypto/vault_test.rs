//! Unit tests of `crypto::vault`.

use super::*;

fn kek(version: u32) -> Kek {
    Kek {
        version,
        key: SecretKey::generate(),
    }
}

#[test]
fn a_wrapped_data_key_opens_only_with_its_kek_scope_and_version() {
    let k1 = kek(1);
    let dk = DataKey::generate();
    let w = wrap_data_key(&k1, "user/alice", &dk).unwrap();
    let back = unwrap_data_key(&k1, "user/alice", &w).unwrap();
    assert_eq!(back.to_hex().as_str(), dk.to_hex().as_str());
    assert!(unwrap_data_key(&k1, "user/bob", &w).is_err(), "scope bound");
    let relabelled = Kek {
        version: 2,
        key: k1.key.clone(),
    };
    assert!(
        unwrap_data_key(&relabelled, "user/alice", &w).is_err(),
        "version bound"
    );
    assert!(
        unwrap_data_key(&kek(1), "user/alice", &w).is_err(),
        "key bound"
    );
}

#[test]
fn a_value_opens_only_under_its_credential_id() {
    let dk = DataKey::generate();
    let b = encrypt_value(&dk, "c-1", "hunter22").unwrap();
    assert_eq!(decrypt_value(&dk, "c-1", &b).unwrap().as_str(), "hunter22");
    assert!(decrypt_value(&dk, "c-2", &b).is_err());
    assert!(decrypt_value(&DataKey::generate(), "c-1", &b).is_err());
    let again = encrypt_value(&dk, "c-1", "hunter22").unwrap();
    assert_ne!(again.ciphertext, b.ciphertext, "a fresh nonce each time");
}

#[test]
fn the_credential_kex_opens_what_clients_seal_and_nothing_else() {
    let kex = CredentialKex::generate();
    let sealed = seal_value_in("s3cret-value", kex.public(), "tenant/acme/aws/prod").unwrap();
    assert_eq!(
        kex.open_in(&sealed, "tenant/acme/aws/prod")
            .unwrap()
            .as_str(),
        "s3cret-value"
    );
    assert!(kex.open_in(&sealed, "tenant/acme/aws/dev").is_err());
    let out = seal_value_out("s3cret-value", kex.public(), "c-1").unwrap();
    assert!(
        kex.open_in(&out, "c-1").is_err(),
        "an outgoing seal is not an incoming one"
    );
}

#[test]
fn secrets_stay_out_of_debug() {
    let k = SecretKey::generate();
    let hexed = k.to_hex();
    assert!(!format!("{k:?}").contains(hexed.as_str()));
    let kex = CredentialKex::generate();
    let s = kex.secret().to_hex();
    assert!(!format!("{kex:?}").contains(s.as_str()));
    let b = encrypt_value(&SecretKey::generate(), "c-1", "v").unwrap();
    assert!(!format!("{b:?}").contains(&b.ciphertext));
}
