//! Flag values several commands share: help texts, the role names, durations.

/// The help of every `--limit`.
pub(super) const LIMIT_HELP: &str = "Most items per page (default 100, at most 1000).";
/// The help of every `--cursor`.
pub(super) const CURSOR_HELP: &str =
    "Start after this key: the `--cursor` the previous page printed.";
/// The help of every machine id argument.
pub(super) const MACHINE_ID_HELP: &str =
    "Machine id (`m-` and 32 hex characters, as `machine list` shows it).";
/// The help of every invite id argument.
pub(super) const INVITE_ID_HELP: &str = "Invite id (32 hex characters, as `invite list` shows it).";

/// A duration: `0`, or a number with `s`, `m`, `h` or `d` (a bare number is seconds).
pub(super) fn parse_duration_secs(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}`: expected a number with s, m, h or d (e.g. 90m, 24h, 7d)"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{s}`: the unit must be s, m, h or d")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("`{s}`: too long"))
}
