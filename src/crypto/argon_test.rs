//! Unit tests of `crypto::argon` (a separate file so test-only unwraps stay out of the module).

use super::*;
use crate::crypto::{fingerprint, SecretKind};

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
