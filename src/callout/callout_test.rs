//! Unit tests of `callout` (a separate file so test-only unwraps stay out of the module).

use super::*;

#[test]
fn errors_keep_their_source_and_log_as_before() {
    let e = CalloutError::RequestJwt(JwtError::Shape);
    assert!(std::error::Error::source(&e).is_some());
    assert_eq!(
        crate::store::error_chain(&e),
        "request JWT: not a three-part JWT"
    );
    let bad_key = nkeys::XKey::from_public_key("not a key").unwrap_err();
    let e = CalloutError::ServerXkey(bad_key);
    assert!(crate::store::error_chain(&e).starts_with("server xkey: "));
    // Converted at the edge, anyhow shows the same chain.
    let edge = anyhow::Error::from(CalloutError::NoXkey);
    assert_eq!(
        format!("{edge:#}"),
        "the server encrypts callout requests but no --callout-xkey-seed-file is set"
    );
}
