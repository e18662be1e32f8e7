//! Unit tests of `time_util` (a separate file so test-only unwraps stay out of the module).

use super::*;

#[test]
fn round_trips() {
    let s = now_rfc3339();
    assert!(s.ends_with('Z'), "{s}");
    assert!(parse_rfc3339(&s).is_some());
    assert!(parse_rfc3339("yesterday").is_none());
}
