//! Unit tests of `client` (a separate file so test-only unwraps stay out of the module).

use super::*;

#[test]
fn enroll_args_never_show_the_enrollment_key_in_debug() {
    let key = crate::crypto::Secret::mint(crate::crypto::SecretKind::Enrollment);
    let args = EnrollArgs {
        site: "ACME".into(),
        enrollment_key: key.expose().to_owned(),
        machine_uid: "host-1".into(),
        ..Default::default()
    };
    let shown = format!("{args:?}");
    assert!(!shown.contains(key.expose()), "{shown}");
    assert!(shown.contains("cek_…[redacted]"), "{shown}");
    assert!(shown.contains("host-1"), "{shown}");
}
