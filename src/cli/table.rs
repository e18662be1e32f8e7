//! Tables that fit the terminal: columns left-aligned under a header, empty columns left
//! out, and on a narrow terminal long cells cut with an ellipsis (or a column dropped)
//! instead of wrapping. The width is `COLUMNS`, else the terminal's (`stty size`), else
//! unlimited (a pipe gets every character; scripts should use `--json` anyway).

use std::io::IsTerminal as _;

/// How a column gives way when the table is wider than the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fit {
    /// Never cut (times, states, counts).
    Fixed,
    /// Cut first (names, uids, keys, sources).
    Early,
    /// Cut last, when nothing else is left to cut (ids people copy).
    Late,
    /// Left out before anything `Late` is cut.
    Drop,
}

/// A column: its header and how it fits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Col(pub &'static str, pub Fit);

/// The separator between columns.
const GAP: usize = 2;

/// Prints `rows` under `cols` on stdout, fitted to the terminal; with no rows, says so
/// on stderr instead (stdout stays empty).
pub(crate) fn print(cols: &[Col], rows: &[Vec<String>]) {
    if rows.is_empty() {
        eprintln!("(none)");
        return;
    }
    for line in render(cols, rows, terminal_width()) {
        println!("{line}");
    }
}

/// The lines of the table, fitted to `width` columns when one is given.
pub(crate) fn render(cols: &[Col], rows: &[Vec<String>], width: Option<usize>) -> Vec<String> {
    // Columns with nothing in them say nothing: leave them out.
    let mut shown: Vec<usize> = (0..cols.len())
        .filter(|&i| rows.is_empty() || rows.iter().any(|r| !cell(r, i).is_empty()))
        .collect();
    let mut widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| chars(cell(r, i)))
                .chain([chars(c.0)])
                .max()
                .unwrap_or(0)
        })
        .collect();
    if let Some(limit) = width {
        fit(cols, &mut shown, &mut widths, limit);
    }
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = shown
            .iter()
            .zip(cells)
            .map(|(&i, c)| format!("{:<w$}", cut(c, widths[i]), w = widths[i]))
            .collect();
        parts.join(&" ".repeat(GAP)).trim_end().to_owned()
    };
    let mut out = vec![line(shown.iter().map(|&i| cols[i].0).collect())];
    for r in rows {
        out.push(line(shown.iter().map(|&i| cell(r, i)).collect()));
    }
    out
}

/// The `i`th cell of a row (empty past its end).
fn cell(r: &[String], i: usize) -> &str {
    r.get(i).map(String::as_str).unwrap_or("")
}

/// Narrows `widths` (and drops columns from `shown`) until the table is at most `limit`
/// wide: `Early` columns first, then `Drop` columns go, then `Late` ones are cut.
fn fit(cols: &[Col], shown: &mut Vec<usize>, widths: &mut [usize], limit: usize) {
    let total = |shown: &[usize], widths: &[usize]| {
        shown.iter().map(|&i| widths[i]).sum::<usize>() + GAP * shown.len().saturating_sub(1)
    };
    let min = |i: usize| chars(cols[i].0).max(4);
    let shrink = |shown: &[usize], widths: &mut [usize], kind: Fit| {
        while total(shown, widths) > limit {
            // The widest column of this kind that can still give.
            let Some(&i) = shown
                .iter()
                .filter(|&&i| cols[i].1 == kind && widths[i] > min(i))
                .max_by_key(|&&i| widths[i])
            else {
                return;
            };
            let over = total(shown, widths) - limit;
            let second = shown
                .iter()
                .filter(|&&j| j != i && cols[j].1 == kind)
                .map(|&j| widths[j])
                .max()
                .unwrap_or(0);
            // Down to the next widest of its kind (or less if that is enough), not below min.
            let step = over.min(widths[i].saturating_sub(second).max(1));
            widths[i] = widths[i].saturating_sub(step).max(min(i));
        }
    };
    // Cut the early columns; if that is not enough, drop a column (the last droppable)
    // and cut again from the full widths, so nothing is cut that the drop made room for.
    let full = widths.to_vec();
    loop {
        widths.copy_from_slice(&full);
        shrink(shown, widths, Fit::Early);
        if total(shown, widths) <= limit {
            return;
        }
        match shown.iter().rposition(|&i| cols[i].1 == Fit::Drop) {
            Some(p) => {
                shown.remove(p);
            }
            None => break,
        }
    }
    shrink(shown, widths, Fit::Late);
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `s` in at most `w` characters: cut with an ellipsis when longer.
pub(crate) fn cut(s: &str, w: usize) -> String {
    if chars(s) <= w {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// The width to fit: `COLUMNS`, else the terminal's when stdout is one, else none.
pub(crate) fn terminal_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return Some(n);
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    // `stty size` on the controlling terminal prints "rows cols" (no crate, no unsafe).
    let tty = std::fs::File::open("/dev/tty").ok()?;
    let out = std::process::Command::new("stty")
        .arg("size")
        .stdin(tty)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .filter(|&n| n > 0)
}

/// A time as tables show it: UTC, to the minute (`2026-11-30 14:45`), or to the second
/// with `seconds`. Anything that does not parse is shown as it is.
pub(crate) fn when(rfc3339: &str, seconds: bool) -> String {
    let Some(t) = crate::time_util::parse_rfc3339(rfc3339) else {
        return rfc3339.to_owned();
    };
    let t = t.to_offset(time::UtcOffset::UTC);
    let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
    let (h, mi, s) = (t.hour(), t.minute(), t.second());
    if seconds {
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    } else {
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}")
    }
}

/// A 64-hex key shortened to its first 16 characters and an ellipsis; anything else as it is.
pub(crate) fn key_or_id(s: &str) -> String {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        cut(s, 17)
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
#[path = "table_test.rs"]
mod tests;
