//! A tenant's vocabulary (PROTOCOL §7): its status and the moves between statuses, its
//! kind, plan and product names, the external customer ids, contract dates and product
//! configurations. The slug itself is [`super::Tenant`].

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{err, ParseError};
use crate::time_util::Timestamp;

/// Most products one tenant holds: with each configuration at most
/// [`MAX_PRODUCT_CONFIG`] bytes, a tenant record stays well inside its bucket's value size.
pub const MAX_PRODUCTS: usize = 32;

/// Largest product configuration, in bytes of its compact JSON encoding (PROTOCOL §7).
pub const MAX_PRODUCT_CONFIG: usize = 4 * 1024;

/// A tenant's status (PROTOCOL §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Demo,
    Trial,
    Active,
    /// Read-only.
    Frozen,
    /// Final: the tenant's state is gone, its record stays as a tombstone.
    Archived,
}

impl TenantStatus {
    /// Every status, in the order PROTOCOL §7 lists them.
    pub const ALL: [TenantStatus; 5] = [
        TenantStatus::Demo,
        TenantStatus::Trial,
        TenantStatus::Active,
        TenantStatus::Frozen,
        TenantStatus::Archived,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Demo => "demo",
            TenantStatus::Trial => "trial",
            TenantStatus::Active => "active",
            TenantStatus::Frozen => "frozen",
            TenantStatus::Archived => "archived",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| err("status must be one of demo, trial, active, frozen, archived"))
    }

    /// Whether a tenant in this status may be moved to `to`, another status: `demo`,
    /// `trial` and `active` move freely among themselves and to `frozen`; `frozen` goes
    /// back to `active` or on to `archived`; `archived` is final. Staying in a status is
    /// not a move (the caller treats it as a change of nothing).
    pub fn may_become(self, to: TenantStatus) -> bool {
        use TenantStatus::*;
        match (self, to) {
            (Demo | Trial | Active, Demo | Trial | Active | Frozen) => self != to,
            (Frozen, Active | Archived) => true,
            _ => false,
        }
    }

    /// The status a tenant acts with at `now`: a `trial` whose trial ended
    /// (`trial_ends_at` at or before `now`) acts as `frozen`; every other status is itself.
    pub fn effective(self, trial_ends_at: Option<Timestamp>, now: Timestamp) -> TenantStatus {
        match (self, trial_ends_at) {
            (TenantStatus::Trial, Some(end)) if end.has_passed(now) => TenantStatus::Frozen,
            (s, _) => s,
        }
    }
}

impl fmt::Display for TenantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a tenant is: a paying customer's account or a demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantKind {
    Customer,
    Demo,
}

impl TenantKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantKind::Customer => "customer",
            TenantKind::Demo => "demo",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s {
            "customer" => Ok(TenantKind::Customer),
            "demo" => Ok(TenantKind::Demo),
            _ => Err(err("kind must be customer or demo")),
        }
    }

    /// The status a new tenant of this kind gets when the request names none.
    pub fn default_status(self) -> TenantStatus {
        match self {
            TenantKind::Customer => TenantStatus::Active,
            TenantKind::Demo => TenantStatus::Demo,
        }
    }
}

/// Checks the token rule of plan and product names: `^[a-z0-9][a-z0-9_-]{0,31}$`, one
/// NATS subject token (no `.`, `*`, `>`, white space) and one KV key token.
fn check_token(s: &str, what: &str) -> Result<(), ParseError> {
    let b = s.as_bytes();
    let ok = (1..=32).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-');
    if ok {
        Ok(())
    } else {
        Err(err(format!(
            "{what} must be 1-32 characters of a-z, 0-9, '_' or '-', starting with a letter or digit"
        )))
    }
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, ParseError> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// A plan name (`starter`, `pro`, …): the product-name token rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Plan(String);

impl Plan {
    /// Parses a plan name.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        check_token(s, "plan")?;
        Ok(Self(s.to_owned()))
    }
    /// The plan a tenant gets when the request names none.
    pub fn starter() -> Self {
        Self("starter".to_owned())
    }
}
string_newtype!(Plan);

/// A product name: `^[a-z0-9][a-z0-9_-]{0,31}$`, so it is one NATS subject token
/// (`app.{tenant}.{product}.>` in the callout's templates).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProductName(String);

impl ProductName {
    /// Parses a product name.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        check_token(s, "product")?;
        Ok(Self(s.to_owned()))
    }
}
string_newtype!(ProductName);

/// Products are looked up by name (`products["vision"]`); the order is the text's.
impl std::borrow::Borrow<str> for ProductName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// A customer id in another system (an ERP's, Stripe's `cus_…`): 1-128 visible ASCII
/// characters (`!` to `~`), compared exactly. Unique across tenants.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExternalId(String);

impl ExternalId {
    /// Parses an external customer id.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if (1..=128).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_graphic()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(err(
                "customer ids must be 1-128 visible ASCII characters (no spaces)",
            ))
        }
    }
}
string_newtype!(ExternalId);

/// Which external customer id: each is unique across tenants on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExternalIdKind {
    ErpCustomerId,
    StripeCustomerId,
}

impl ExternalIdKind {
    /// Both kinds.
    pub const ALL: [ExternalIdKind; 2] = [
        ExternalIdKind::ErpCustomerId,
        ExternalIdKind::StripeCustomerId,
    ];

    /// The record field's name (`erp_customer_id`).
    pub fn field(self) -> &'static str {
        match self {
            ExternalIdKind::ErpCustomerId => "erp_customer_id",
            ExternalIdKind::StripeCustomerId => "stripe_customer_id",
        }
    }

    /// The short token that starts its claim key (`erp`, `stripe`).
    pub fn token(self) -> &'static str {
        match self {
            ExternalIdKind::ErpCustomerId => "erp",
            ExternalIdKind::StripeCustomerId => "stripe",
        }
    }
}

/// A calendar date, RFC 3339's `full-date` (`2026-01-31`): contract starts and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date(time::Date);

const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        time::Date::parse(s, DATE_FORMAT)
            .ok()
            .filter(|_| s.len() == 10)
            .map(Self)
            .ok_or_else(|| err(format!("{s:?} is not a date (YYYY-MM-DD)")))
    }
    /// `YYYY-MM-DD`.
    pub fn to_text(self) -> String {
        self.0
            .format(DATE_FORMAT)
            .unwrap_or_else(|_| self.0.to_string())
    }
}
impl TryFrom<String> for Date {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<Date> for String {
    fn from(d: Date) -> String {
        d.to_text()
    }
}
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A product's configuration: a JSON object of at most [`MAX_PRODUCT_CONFIG`] bytes
/// (compact encoding). Opaque to roster; events carry its size, never its content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "serde_json::Map<String, serde_json::Value>",
    into = "serde_json::Map<String, serde_json::Value>"
)]
pub struct ProductConfig(serde_json::Map<String, serde_json::Value>);

impl ProductConfig {
    /// The bytes of its compact JSON encoding.
    pub fn encoded_len(&self) -> usize {
        encoded_len(&self.0)
    }
    /// The object.
    pub fn as_map(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.0
    }
}

fn encoded_len(m: &serde_json::Map<String, serde_json::Value>) -> usize {
    // Encoding a map of JSON values cannot fail; a failure counts as too large.
    serde_json::to_vec(m).map_or(usize::MAX, |v| v.len())
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for ProductConfig {
    type Error = ParseError;
    fn try_from(m: serde_json::Map<String, serde_json::Value>) -> Result<Self, ParseError> {
        let n = encoded_len(&m);
        if n <= MAX_PRODUCT_CONFIG {
            Ok(Self(m))
        } else {
            Err(err(format!(
                "the object is {n} bytes of JSON; the limit is {MAX_PRODUCT_CONFIG}"
            )))
        }
    }
}
impl From<ProductConfig> for serde_json::Map<String, serde_json::Value> {
    fn from(c: ProductConfig) -> Self {
        c.0
    }
}
