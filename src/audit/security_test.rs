//! Unit tests of `security` (a separate file so test-only unwraps stay out of the module).

use super::*;

#[test]
fn the_source_is_the_reply_inbox_token() {
    let nkey = "UASLF7DRPJZ4JV46EYILMUZQMYQOYSE7USTTRZ7ABYQYJYP3FCKVOWIJ";
    assert_eq!(
        source_of_reply(Some(&format!("_INBOX.{nkey}.abc.1"))).as_deref(),
        Some(nkey)
    );
    assert_eq!(
        source_of_reply(Some("_INBOX.Hx9aZ.7")).as_deref(),
        Some("Hx9aZ")
    );
    for none in [None, Some("reply.to.me"), Some("_INBOX"), Some("_INBOX..x")] {
        assert_eq!(source_of_reply(none), None, "{none:?}");
    }
    let long = format!("_INBOX.{}.x", "a".repeat(65));
    assert_eq!(source_of_reply(Some(&long)), None, "bounded length");
}

#[test]
fn stream_names_follow_the_prefix() {
    assert_eq!(stream_name("roster"), "ROSTER_SECURITY");
    assert_eq!(stream_name("acme.roster-x"), "ACME_ROSTER_X_SECURITY");
}
