//! Unit tests of the table fitting.

use super::*;

const COLS: [Col; 5] = [
    Col("MACHINE", Fit::Late),
    Col("STATE", Fit::Fixed),
    Col("HOSTNAME", Fit::Early),
    Col("LAST", Fit::Drop),
    Col("CODE", Fit::Early),
];

fn rows() -> Vec<Vec<String>> {
    let row = |host: &str| {
        vec![
            "m-ac68dff0f71e8b35bb713aa5ec96f623".to_owned(),
            "pending".to_owned(),
            host.to_owned(),
            "2026-11-30 14:45".to_owned(),
            String::new(),
        ]
    };
    vec![row("a-very-long-hostname.example.internal"), row("short")]
}

fn width(lines: &[String]) -> usize {
    lines.iter().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn without_a_width_every_character_is_shown_and_empty_columns_are_left_out() {
    let lines = render(&COLS, &rows(), None);
    assert!(lines[0].starts_with("MACHINE"));
    assert!(!lines[0].contains("CODE"), "an empty column: {}", lines[0]);
    assert!(lines[1].contains("a-very-long-hostname.example.internal"));
    assert!(lines[1].contains("m-ac68dff0f71e8b35bb713aa5ec96f623"));
}

#[test]
fn a_narrow_table_cuts_early_columns_first_then_drops_then_cuts_ids() {
    let full = width(&render(&COLS, &rows(), None));
    // Just narrower than it needs: only the host name gives.
    let lines = render(&COLS, &rows(), Some(full - 10));
    assert!(width(&lines) <= full - 10);
    assert!(lines[1].contains("m-ac68dff0f71e8b35bb713aa5ec96f623"));
    assert!(lines[1].contains('…') && lines[0].contains("LAST"));
    // Narrower than cutting alone can make it: LAST goes, and the host name is cut only
    // as far as still needed.
    let lines = render(&COLS, &rows(), Some(62));
    assert!(width(&lines) <= 62, "{lines:#?}");
    assert!(!lines[0].contains("LAST"), "{lines:#?}");
    assert!(lines[1].contains("a-very-long-host…"), "{lines:#?}");
    // Narrower: the droppable column goes before an id is cut.
    let lines = render(&COLS, &rows(), Some(60));
    assert!(width(&lines) <= 60, "{lines:#?}");
    assert!(!lines[0].contains("LAST"));
    assert!(lines[1].contains("m-ac68dff0f71e8b35bb713aa5ec96f623"));
    // Narrower still: the id is cut too, and the fixed column never is.
    let lines = render(&COLS, &rows(), Some(40));
    assert!(width(&lines) <= 40, "{lines:#?}");
    assert!(lines[1].contains("m-ac68dff0f71e8b") && lines[1].contains('…'));
    assert!(lines.iter().skip(1).all(|l| l.contains("pending")));
}

#[test]
fn cells_are_cut_with_an_ellipsis_and_times_and_keys_are_shortened() {
    assert_eq!(cut("abcdef", 4), "abc…");
    assert_eq!(cut("abc", 4), "abc");
    assert_eq!(when("2026-11-30T14:45:04.225Z", false), "2026-11-30 14:45");
    assert_eq!(
        when("2026-11-30T14:45:04.225Z", true),
        "2026-11-30 14:45:04"
    );
    assert_eq!(when("not a time", true), "not a time");
    let key = "ab".repeat(32);
    assert_eq!(key_or_id(&key), format!("{}…", &key[..16]));
    assert_eq!(key_or_id("alice"), "alice");
}
