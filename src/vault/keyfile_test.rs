//! Unit tests of the vault key file.

use super::*;

#[test]
fn init_writes_a_private_file_that_loads_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.json");
    let made = KeyFile::init(&path, false, "2026-01-01T00:00:00Z").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let loaded = KeyFile::load(&path).unwrap();
    assert_eq!(loaded.versions(), vec![1]);
    assert_eq!(
        loaded.credential_kex().public(),
        made.credential_kex().public()
    );
    assert!(matches!(
        KeyFile::init(&path, false, "2026-01-01T00:00:00Z"),
        Err(KeyFileError::Exists(_))
    ));
    let forced = KeyFile::init(&path, true, "2026-01-01T00:00:00Z").unwrap();
    assert_ne!(
        forced.credential_kex().public(),
        made.credential_kex().public()
    );
}

#[test]
fn rotation_adds_a_version_and_keeps_the_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.json");
    let first = KeyFile::init(&path, false, "2026-01-01T00:00:00Z").unwrap();
    assert_eq!(KeyFile::rotate(&path, "2026-02-01T00:00:00Z").unwrap(), 2);
    let loaded = KeyFile::load(&path).unwrap();
    assert_eq!(loaded.versions(), vec![1, 2]);
    assert_eq!(loaded.newest().unwrap().version, 2);
    assert_eq!(
        loaded.kek(1).unwrap().key.to_hex().as_str(),
        first.kek(1).unwrap().key.to_hex().as_str()
    );
    assert_eq!(
        loaded.credential_kex().public(),
        first.credential_kex().public()
    );
}

#[cfg(unix)]
#[test]
fn a_file_others_may_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.json");
    KeyFile::init(&path, false, "2026-01-01T00:00:00Z").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert!(matches!(
        KeyFile::load(&path),
        Err(KeyFileError::Permissions { .. })
    ));
}

#[test]
fn the_debug_form_holds_no_key() {
    let f = KeyFile::generate("2026-01-01T00:00:00Z");
    let dbg = format!("{f:?}");
    assert!(
        !dbg.contains(f.newest().unwrap().key.to_hex().as_str()),
        "{dbg}"
    );
    assert!(!dbg.contains(f.credential_kex().secret().to_hex().as_str()));
}
