//! Unit tests of `failure` (a separate file so test-only unwraps stay out of the module).

use super::*;
use crate::wire::{ApiError, ErrorCode};

#[test]
fn the_exit_codes_are_distinct_and_documented() {
    let codes = [EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REFUSED, EXIT_PROBLEMS];
    let mut unique = codes.to_vec();
    unique.dedup();
    assert_eq!(unique.len(), codes.len());
    for c in codes {
        assert!(
            EXIT_CODES_HELP.contains(&format!("\n  {c}  ")),
            "exit code {c} is not in the help"
        );
    }
}

#[test]
fn a_refusal_by_the_worker_or_the_bus_exits_3_and_a_lost_request_1() {
    let api = ClientError::Api(ApiError::new(ErrorCode::Forbidden, "no"));
    assert_eq!(from_client(&api).class, Class::Refused);
    assert_eq!(from_client(&api).code, "forbidden");
    let denied = ClientError::PublishDenied {
        subject: "roster.v1.admin.user.list".into(),
    };
    let f = from_client(&denied);
    assert_eq!(
        (f.class, f.code.as_str()),
        (Class::Refused, "permission_violation")
    );
    assert!(
        f.message.contains("roster.v1.admin.user.list"),
        "{}",
        f.message
    );
    let lost = ClientError::Nats(crate::client::RequestFailure {
        subject: "roster.v1.register".into(),
        kind: RequestErrorKind::NoResponders,
        message: "no responders".into(),
    });
    let f = from_client(&lost);
    assert_eq!((f.class, f.code.as_str()), (Class::Error, "no_worker"));
}

#[test]
fn a_failure_keeps_the_context_around_it() {
    let e = anyhow::Error::from(Failure::usage("--limit: limit must be between 1 and 1000"))
        .context("user list");
    let f = classify(&e);
    assert_eq!(f.class, Class::Usage);
    assert_eq!(
        f.message,
        "user list: --limit: limit must be between 1 and 1000"
    );
    let plain = classify(&anyhow::anyhow!("disk full"));
    assert_eq!((plain.class, plain.code.as_str()), (Class::Error, "error"));
}
