//! Unit tests of `audit` (a separate file so test-only unwraps stay out of the module).

use super::*;

#[test]
fn action_filters() {
    for ok in ["invite.created", "user.>", "user.*", "*.denied", "a-b.c_d"] {
        assert!(valid_action_filter(ok), "{ok}");
    }
    for bad in ["", "user.", ">.user", "User.created", "a b", "a..b", "a.>x"] {
        assert!(!valid_action_filter(bad), "{bad}");
    }
}

#[test]
fn event_ids_are_deterministic() {
    assert_eq!(event_id("x"), event_id("x"));
    assert_ne!(event_id("x"), event_id("y"));
    assert_eq!(event_id("x").len(), 32);
}
