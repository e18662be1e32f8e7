//! Unit tests of `identity` (a separate file so test-only unwraps stay out of the module).

use super::*;

use crate::store::error_chain;

#[test]
fn an_identity_round_trips_and_is_not_replaced_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/identity.json");
    let keys = create(&path, false).unwrap();
    assert_eq!(load(&path).unwrap().sign_pub(), keys.sign_pub());
    let e = create(&path, false).unwrap_err();
    assert!(
        matches!(&e, IdentityError::Exists(p) if *p == path),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{} already exists (use --force to replace it)",
            path.display()
        )
    );
    assert_ne!(create(&path, true).unwrap().sign_pub(), keys.sign_pub());
}

#[test]
fn load_errors_keep_their_source_and_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let e = load(&missing).unwrap_err();
    assert!(
        matches!(&e, IdentityError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{e:?}"
    );
    assert!(error_chain(&e).starts_with(&format!(
        "reading identity {} (create one with `roster keygen`): ",
        missing.display()
    )));

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{").unwrap();
    let e = load(&garbage).unwrap_err();
    assert!(matches!(e, IdentityError::Parse { .. }), "{e:?}");
    assert!(std::error::Error::source(&e).is_some());

    let path = dir.path().join("identity.json");
    save(&path, &KeyPairs::generate()).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["sign_seed"] = "zz".into();
    std::fs::write(&path, doc.to_string()).unwrap();
    let e = load(&path).unwrap_err();
    assert!(
        matches!(
            e,
            IdentityError::Hex {
                field: "sign_seed",
                ..
            }
        ),
        "{e:?}"
    );

    doc["sign_seed"] = hex::encode([7u8; 32]).into();
    std::fs::write(&path, doc.to_string()).unwrap();
    assert!(matches!(
        load(&path).unwrap_err(),
        IdentityError::Inconsistent
    ));
}

#[test]
fn a_write_that_fails_names_the_step_and_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    // The parent is a file: its "directory" cannot be created.
    let e = write_private(&file.join("identity.json"), b"{}").unwrap_err();
    assert!(
        matches!(&e, IdentityError::File(f) if f.op == "creating" && f.path == file),
        "{e:?}"
    );
    assert!(error_chain(&e).starts_with(&format!("creating {}: ", file.display())));
}
