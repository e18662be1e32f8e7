//! Unit tests of `wire::admin` (a separate file so test-only unwraps stay out of the module).

use super::*;
use crate::crypto::{Secret, SecretKind};

/// Decodes `json` as `T`, checks it encodes back to the same bytes (the wire contract is
/// fixed), and returns its `Debug` text.
fn round_trip_debug<T>(json: &str) -> String
where
    T: serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let reply: T = serde_json::from_str(json).unwrap();
    assert_eq!(serde_json::to_string(&reply).unwrap(), json);
    format!("{reply:?}")
}

#[test]
fn shown_once_replies_serialise_the_secret_but_never_debug_it() {
    let token = Secret::mint(SecretKind::Invite);
    let t = token.expose();
    let dbg = round_trip_debug::<InviteCreateReply>(&format!(
        r#"{{"token":"{t}","invite_id":"{}","handle":"bob","role":"member","tenant":"default","expires_at":"2030-01-01T00:00:00Z"}}"#,
        "ab".repeat(16)
    ));
    assert!(!dbg.contains(&t[4..]), "{dbg}");
    assert!(dbg.contains(r#"token: "inv_…[redacted]""#), "{dbg}");
    assert!(dbg.contains("bob"), "the rest stays visible: {dbg}");

    let key = Secret::mint(SecretKind::Enrollment);
    let k = key.expose();
    let site = r#""site":"ACME-PHX","tenant":"acme","display_name":"acme-phx","policy":"auto","key_version":1,"fingerprint":"v1 (ABCD)","created_at":"2030-01-01T00:00:00Z","created_by":"alice""#;
    let dbg = round_trip_debug::<SiteCreateReply>(&format!(r#"{{{site},"enrollment_key":"{k}"}}"#));
    assert!(!dbg.contains(&k[4..]), "{dbg}");
    assert!(
        dbg.contains(r#"enrollment_key: "cek_…[redacted]""#),
        "{dbg}"
    );
    assert!(dbg.contains("ACME-PHX"), "{dbg}");

    let dbg = round_trip_debug::<RotateKeyReply>(&format!(
        r#"{{"site":"ACME-PHX","tenant":"acme","enrollment_key":"{k}","version":2,"fingerprint":"v2 (ABCD)","previous_valid_until":"2030-01-01T00:00:00Z"}}"#
    ));
    assert!(!dbg.contains(&k[4..]), "{dbg}");
    assert!(
        dbg.contains(r#"enrollment_key: "cek_…[redacted]""#),
        "{dbg}"
    );
    assert!(dbg.contains("v2 (ABCD)"), "{dbg}");
}
