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

#[test]
fn a_bad_body_is_explained_by_its_field_and_reason_without_a_text_position() {
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "only decoded")]
    struct R {
        handle: String,
    }
    for (body, reason) in [
        (&br#"{"handle":"a","rol":"x"}"#[..], "unknown field `rol`"),
        (br#"{}"#, "missing field `handle`"),
        (
            br#"{"handle":7}"#,
            "invalid type: integer `7`, expected a string",
        ),
        (br#"{"handle":"a""#, "EOF while parsing an object"),
        (b"nope", "expected ident"),
    ] {
        let e = decode_body::<R>(body).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(e.message.contains(reason), "{body:?}: {}", e.message);
        assert!(!e.message.contains("at line"), "{}", e.message);
        assert!(!e.message.contains("column"), "{}", e.message);
    }
}
