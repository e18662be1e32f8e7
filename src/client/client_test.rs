//! Unit tests of `client` (a separate file so test-only unwraps stay out of the module).

use super::events::{publish_denied_subject, BusSignal};
use super::*;
use async_nats::{ClientError as NatsClientError, Event, ServerError};

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

#[test]
fn the_subject_of_a_publish_violation_is_read_from_the_servers_message() {
    assert_eq!(
        publish_denied_subject(
            r#"Permissions Violation for Publish to "roster.v1.admin.user.list""#
        )
        .as_deref(),
        Some("roster.v1.admin.user.list")
    );
    assert_eq!(
        publish_denied_subject(
            r#"Permissions Violation for Publish to "$JS.API.INFO" using queue "q""#
        )
        .as_deref(),
        Some("$JS.API.INFO")
    );
    assert_eq!(
        publish_denied_subject(r#"Permissions Violation for Subscription to "id.bob.>""#),
        None
    );
}

#[test]
fn a_refused_reconnect_and_a_denied_publish_become_signals() {
    let e = Event::ClientError(NatsClientError::Other("authorization violation".into()));
    assert_eq!(BusSignal::from_event(&e), Some(BusSignal::ReconnectRefused));
    let e = Event::ServerError(ServerError::Other(
        r#"Permissions Violation for Publish to "roster.v1.revoke""#.into(),
    ));
    assert_eq!(
        BusSignal::from_event(&e),
        Some(BusSignal::PublishDenied("roster.v1.revoke".into()))
    );
    assert_eq!(BusSignal::from_event(&Event::Connected), None);
}
