//! The paging of every `list` command: the page size and the cursor.

use serde::{Deserialize, Serialize};

/// Default and largest page size of `list` commands.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page size of `list` commands.
pub const MAX_LIMIT: u32 = 1000;

/// A page size: 1 to 1000; absent means 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct PageLimit(u32);

impl PageLimit {
    /// The number of items.
    pub fn get(self) -> usize {
        self.0 as usize
    }
    /// The effective limit of an optional field.
    pub fn or_default(l: Option<PageLimit>) -> usize {
        l.map_or(DEFAULT_LIMIT as usize, PageLimit::get)
    }
}
impl TryFrom<u32> for PageLimit {
    type Error = String;
    fn try_from(n: u32) -> Result<Self, String> {
        if (1..=MAX_LIMIT).contains(&n) {
            Ok(Self(n))
        } else {
            Err(format!("limit must be between 1 and {MAX_LIMIT}"))
        }
    }
}
impl From<PageLimit> for u32 {
    fn from(l: PageLimit) -> u32 {
        l.0
    }
}

/// A list cursor: opaque to clients; the stream sequence of the previous page's last
/// record (decimal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cursor(String);

impl Cursor {
    /// The cursor as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The stream sequence after which the next page starts; `None` if the cursor is not
    /// one this service returns.
    pub fn seq(&self) -> Option<u64> {
        self.0.parse().ok().filter(|n| *n > 0)
    }
}
impl TryFrom<String> for Cursor {
    type Error = String;
    fn try_from(c: String) -> Result<Self, String> {
        let ok = !c.is_empty()
            && c.len() <= 128
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(c))
        } else {
            Err("cursor is not one this service returned".into())
        }
    }
}
impl From<Cursor> for String {
    fn from(c: Cursor) -> String {
        c.0
    }
}
