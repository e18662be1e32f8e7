//! Unit tests of `time_util` (a separate file so test-only unwraps stay out of the module).

use super::*;

#[test]
fn round_trips() {
    let s = now_rfc3339();
    assert!(s.ends_with('Z'), "{s}");
    assert!(parse_rfc3339(&s).is_some());
    assert!(parse_rfc3339("yesterday").is_none());
}

#[test]
fn an_adjustable_clock_moves_ahead_with_every_copy_and_the_system_clock_does_not() {
    let clock = Clock::adjustable();
    let copy = clock.clone();
    let before = clock.now();
    assert!(copy.advance(Duration::from_secs(3600)));
    let after = clock.now();
    assert!(
        after.unix_ms() - before.unix_ms() >= 3_600_000,
        "{before} {after}"
    );
    let system = Clock::system();
    assert!(!system.advance(Duration::from_secs(3600)));
    assert!(system.now() < after);
}

#[test]
fn timestamps_round_trip_at_millisecond_precision() {
    let t = Timestamp::parse("2026-12-02T01:02:03.456789Z").unwrap();
    assert_eq!(t.to_rfc3339(), "2026-12-02T01:02:03.456Z");
    assert_eq!(Timestamp::parse(&t.to_rfc3339()), Some(t));
    assert!(t.has_passed(t + Duration::from_millis(1)));
    assert!(!(t + Duration::from_millis(1)).has_passed(t));
}
