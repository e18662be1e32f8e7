//! Unit tests of `--since`/`--until` parsing.

use super::*;

#[test]
fn since_takes_rfc3339_or_a_time_ago() {
    let now = time::macros::datetime!(2026-11-30 14:00:00 UTC);
    let at = |s: &str| when_flag("--since", s, now).map(|t| t.0);
    assert_eq!(
        at("2026-11-29T10:00:00Z").unwrap(),
        time::macros::datetime!(2026-11-29 10:00:00 UTC)
    );
    assert_eq!(
        at("90s").unwrap(),
        time::macros::datetime!(2026-11-30 13:58:30 UTC)
    );
    assert_eq!(
        at("30m").unwrap(),
        time::macros::datetime!(2026-11-30 13:30:00 UTC)
    );
    assert_eq!(
        at("1h").unwrap(),
        time::macros::datetime!(2026-11-30 13:00:00 UTC)
    );
    assert_eq!(
        at("2d").unwrap(),
        time::macros::datetime!(2026-11-28 14:00:00 UTC)
    );
    assert_eq!(
        at("1w").unwrap(),
        time::macros::datetime!(2026-11-23 14:00:00 UTC)
    );
    for bad in ["", "h", "1y", "-1h", "1.5h", "yesterday", "1 h x"] {
        let e = at(bad).unwrap_err().to_string();
        assert!(e.starts_with("--since") && e.contains("30m"), "{bad}: {e}");
    }
    assert!(at("99999999999999d")
        .unwrap_err()
        .to_string()
        .contains("too far back"));
}
