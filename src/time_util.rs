//! Time: RFC 3339 UTC timestamps as every body and record carries them, the
//! [`Timestamp`] type, and the [`Clock`] the worker reads them from, which tests can move
//! forward instead of sleeping.
//!
//! Why not `tokio::time::pause()`: the tests run against a real nats-server, and a paused
//! runtime jumps its timers forward whenever it waits, I/O included, so request timeouts
//! would fire at once. An adjustable clock moves only the wall time the worker decides
//! by (invite expiry, key grace, the signed-request window), nothing else.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A point in time, UTC, with millisecond precision; shown and stored as RFC 3339.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The time `t`, cut to milliseconds.
    pub fn from_offset(t: OffsetDateTime) -> Self {
        let t = t.to_offset(time::UtcOffset::UTC);
        Timestamp(t.replace_millisecond(t.millisecond()).unwrap_or(t))
    }

    /// Parses RFC 3339 (any offset; kept as UTC).
    pub fn parse(s: &str) -> Option<Self> {
        OffsetDateTime::parse(s, &Rfc3339)
            .ok()
            .map(Self::from_offset)
    }

    /// RFC 3339 UTC, milliseconds.
    pub fn to_rfc3339(self) -> String {
        self.0
            .format(&Rfc3339)
            .unwrap_or_else(|_| self.0.unix_timestamp().to_string())
    }

    /// Unix milliseconds.
    pub fn unix_ms(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// Unix seconds.
    pub fn unix_secs(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// As a `time` value.
    pub fn as_offset(self) -> OffsetDateTime {
        self.0
    }

    /// True when this time is at or before `now` (an expiry that has passed).
    pub fn has_passed(self, now: Timestamp) -> bool {
        self <= now
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0 + d)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl std::fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Timestamp({})", self.to_rfc3339())
    }
}

/// Where the worker reads the time. The system clock in production; an adjustable one
/// in tests (`Clock::adjustable()` then `advance`), shared by the test and its worker.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    // Milliseconds added to the system time; `None`: the system clock, unmovable.
    ahead_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that starts at the system time and that [`Clock::advance`] moves ahead.
    pub fn adjustable() -> Self {
        Clock {
            ahead_ms: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    /// Moves an adjustable clock (and every copy of it) `by` ahead. The system clock
    /// does not move: `false`.
    pub fn advance(&self, by: Duration) -> bool {
        match &self.ahead_ms {
            Some(a) => {
                let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
                a.fetch_add(ms, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Now.
    pub fn now(&self) -> Timestamp {
        let sys = OffsetDateTime::now_utc();
        let ahead = self
            .ahead_ms
            .as_ref()
            .map_or(0, |a| a.load(Ordering::Relaxed));
        Timestamp::from_offset(sys + time::Duration::milliseconds(ahead))
    }

    /// Now in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.now().unix_ms()
    }
}

/// Formats a time as RFC 3339 UTC with millisecond precision.
pub fn rfc3339(t: OffsetDateTime) -> String {
    Timestamp::from_offset(t).to_rfc3339()
}

/// Now (system clock), as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    Clock::system().now().to_rfc3339()
}

/// Parses an RFC 3339 time.
pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    Timestamp::parse(s).map(Timestamp::as_offset)
}

/// Now (system clock) in Unix milliseconds.
pub fn now_ms() -> i64 {
    Clock::system().now_ms()
}

#[cfg(test)]
#[path = "time_util_test.rs"]
mod tests;
