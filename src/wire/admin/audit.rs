//! `audit.query`: its filters and the events it returns.

use serde::{Deserialize, Serialize};

use super::{PageLimit, Validate};

/// An audit action filter: dot-separated tokens of `[a-z0-9_-]`, the last may be `*`/`>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ActionFilter(String);

impl ActionFilter {
    /// The filter text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for ActionFilter {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if crate::audit::valid_action_filter(&s) {
            Ok(Self(s))
        } else {
            Err("action must be dot-separated tokens of a-z, 0-9, '_' or '-', optionally ending in '*' or '>'".into())
        }
    }
}
impl From<ActionFilter> for String {
    fn from(a: ActionFilter) -> String {
        a.0
    }
}

/// An RFC 3339 time given in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rfc3339(pub time::OffsetDateTime);

impl TryFrom<String> for Rfc3339 {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        crate::time_util::parse_rfc3339(&s)
            .map(Self)
            .ok_or_else(|| format!("{s:?} is not an RFC 3339 time"))
    }
}
impl From<Rfc3339> for String {
    fn from(t: Rfc3339) -> String {
        crate::time_util::rfc3339(t.0)
    }
}

/// `audit.query`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQueryRequest {
    /// Exact action, e.g. `invite.created`; a trailing `.>` or `.*` matches a family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<ActionFilter>,
    /// The actor's id (handle, machine id or key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Only events of this tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<crate::domain::Tenant>,
    /// Only events about this product (`metadata.product`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<crate::domain::ProductName>,
    /// The target's id (`alice`), or `type:id` as tables print it (`user:alice`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Only `ok` (changes) or only `denied` (refusals); an extension of PROTOCOL §4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<crate::audit::Outcome>,
    /// RFC 3339 lower bound (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Rfc3339>,
    /// RFC 3339 upper bound (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Rfc3339>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<PageLimit>,
    /// A previous reply's `cursor`: the page of events before it (an extension of
    /// PROTOCOL §4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<AuditCursor>,
    /// Which stream: `audit` (state changes and identities' refusals, the default) or
    /// `security` (strangers' refusals, aggregated per minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<AuditStream>,
}

/// The two event streams `audit.query` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditStream {
    Audit,
    Security,
}

/// `audit.query` reply: the most recent matching events (before the cursor, if one was
/// given), oldest first, and a cursor when older matches remain.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQueryReply {
    pub events: Vec<crate::audit::AuditEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<AuditCursor>,
}

/// An `audit.query` cursor: opaque to clients; where the oldest event of the page it came
/// with is (the audit stream's sequence, or `t` and the tenant index's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AuditCursor(pub crate::audit::Cursor);

impl TryFrom<String> for AuditCursor {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let (digits, make): (&str, fn(u64) -> crate::audit::Cursor) = match s.strip_prefix('t') {
            Some(d) => (d, crate::audit::Cursor::Tenant),
            None => (s.as_str(), crate::audit::Cursor::Stream),
        };
        match digits.parse::<u64>() {
            Ok(n) if n > 0 && !digits.starts_with(['+', '0']) => Ok(Self(make(n))),
            _ => Err("cursor is not one this service returned".into()),
        }
    }
}
impl From<AuditCursor> for String {
    fn from(c: AuditCursor) -> String {
        c.to_string()
    }
}
impl std::fmt::Display for AuditCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            crate::audit::Cursor::Stream(n) => write!(f, "{n}"),
            crate::audit::Cursor::Tenant(n) => write!(f, "t{n}"),
        }
    }
}

impl Validate for AuditQueryRequest {}
