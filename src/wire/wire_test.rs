//! Unit tests of `wire` (a separate file so test-only unwraps stay out of the module).

use super::*;

#[test]
fn codes_round_trip() {
    for c in [
        ErrorCode::BadRequest,
        ErrorCode::InviteUsed,
        ErrorCode::LastOwner,
    ] {
        assert_eq!(ErrorCode::from_wire(c.as_str()), Some(c));
    }
    assert_eq!(ErrorCode::InviteExpired.status(), 410);
    assert_eq!(ErrorCode::Unavailable.status(), 503);
}

#[test]
fn strict_decoding() {
    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "the field is only decoded, never read")]
    struct R {
        a: u32,
    }
    assert!(decode_body::<R>(br#"{"a":1}"#).is_ok());
    assert!(decode_body::<R>(br#"{"a":1,"b":2}"#).is_err());
    assert!(decode_body::<R>(br#"[1]"#).is_err());
    assert!(decode_body::<R>(br#"{"a":"1"}"#).is_err());
    assert!(decode_body::<R>(b"").is_err());
    let big = format!(r#"{{"a":1,"pad":"{}"}}"#, "x".repeat(MAX_BODY));
    assert!(decode_body::<R>(big.as_bytes()).is_err());
}
