//! Names people choose: handles, tenants, site codes, roles, labels, site policies.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{err, ParseError};

/// A user handle: `^[a-z0-9][a-z0-9_-]{1,30}[a-z0-9]$`. Also a valid KV key token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Handle(String);

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn check_name(s: &str, what: &str) -> Result<(), ParseError> {
    let b = s.as_bytes();
    let ok = (3..=32).contains(&b.len())
        && is_lower_alnum(b[0])
        && is_lower_alnum(b[b.len() - 1])
        && b.iter()
            .all(|&c| is_lower_alnum(c) || c == b'_' || c == b'-');
    if ok {
        Ok(())
    } else {
        Err(err(format!(
            "{what} must be 3-32 characters of a-z, 0-9, '_' or '-', starting and ending with a letter or digit"
        )))
    }
}

impl Handle {
    /// Parses a handle, refusing upper case, dots, slashes and wrong lengths.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        check_name(s, "handle")?;
        Ok(Self(s.to_owned()))
    }
    /// The handle as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Handle {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<Handle> for String {
    fn from(h: Handle) -> String {
        h.0
    }
}
impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tenant's slug (PROTOCOL §7): `^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$`. Also a valid KV
/// key token and NATS subject token (no `_`, `.`, `*`, `>`), so `app.{tenant}.…` and
/// `<tenant>.<SITE>` keys need no escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tenant(String);

impl Tenant {
    /// Parses a tenant slug.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let b = s.as_bytes();
        let ok = (3..=40).contains(&b.len())
            && is_lower_alnum(b[0])
            && is_lower_alnum(b[b.len() - 1])
            && b.iter().all(|&c| is_lower_alnum(c) || c == b'-');
        if !ok {
            return Err(err(
                "tenant must be 3-40 characters of a-z, 0-9 or '-', starting and ending with a letter or digit",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    /// The tenant used when a request names none.
    pub fn default_tenant() -> Self {
        Self("default".to_owned())
    }
    /// The tenant as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Tenant {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<Tenant> for String {
    fn from(t: Tenant) -> String {
        t.0
    }
}
impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A site code: `^[A-Za-z0-9][A-Za-z0-9-]{1,30}[A-Za-z0-9]$`, compared case-insensitively.
/// The canonical form (stored, compared, used in KV keys) is upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SiteCode(String);

impl SiteCode {
    /// Parses a site code and returns its canonical (upper-case) form.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let b = s.as_bytes();
        let ok = (3..=32).contains(&b.len())
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-');
        if !ok {
            return Err(err(
                "site must be 3-32 characters of A-Z, a-z, 0-9 or '-', starting and ending with a letter or digit",
            ));
        }
        Ok(Self(s.to_ascii_uppercase()))
    }
    /// The canonical site code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for SiteCode {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<SiteCode> for String {
    fn from(s: SiteCode) -> String {
        s.0
    }
}

/// A role. Names compare case-insensitively; the canonical form is lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Role {
    /// No admin permission.
    Member,
    /// Reads everything; manages machines and keys at its own sites.
    Operator,
    /// Every permission but changing owners.
    Admin,
    /// Every permission.
    Owner,
}

impl Role {
    /// Parses a role name, case-insensitively.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.to_ascii_lowercase().as_str() {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "member" => Ok(Role::Member),
            _ => Err(err("role must be one of owner, admin, operator, member")),
        }
    }
    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Member => "member",
        }
    }
}
impl TryFrom<String> for Role {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<Role> for String {
    fn from(r: Role) -> String {
        r.as_str().to_owned()
    }
}
impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Free text for people (host names, display names): 1-128 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Label(String);

impl Label {
    /// Parses a label.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok =
            !s.trim().is_empty() && s.chars().count() <= 128 && !s.chars().any(char::is_control);
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(err("text fields must be 1-128 printable characters"))
        }
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Label {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<Label> for String {
    fn from(l: Label) -> String {
        l.0
    }
}

/// A site's enrollment policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// New machines are active at once (unless their uid collides).
    #[default]
    Auto,
    /// Every new machine waits for an operator's approval.
    Approval,
}

/// A site within its tenant. Shown as `tenant/SITE`: a site assignment never reaches a
/// same-named site of another tenant (PROTOCOL §4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteRef {
    pub tenant: Tenant,
    pub site: SiteCode,
}

impl SiteRef {
    /// The site `site` of `tenant`.
    pub fn new(tenant: &Tenant, site: &SiteCode) -> Self {
        SiteRef {
            tenant: tenant.clone(),
            site: site.clone(),
        }
    }
}

impl fmt::Display for SiteRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tenant.as_str(), self.site.as_str())
    }
}

/// An API key's name (PROTOCOL §9): 1-64 printable characters, trimmed; unique in its
/// tenant case-insensitively ([`ApiKeyName::fold`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ApiKeyName(String);

impl ApiKeyName {
    /// Parses a name, trimming surrounding white space.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let t = s.trim();
        if t.is_empty() || t.chars().count() > 64 || t.chars().any(char::is_control) {
            return Err(err("an API key name must be 1-64 printable characters"));
        }
        Ok(Self(t.to_owned()))
    }
    /// The name as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The case-folded name: two names equal case-insensitively fold alike.
    pub fn fold(&self) -> String {
        self.0.to_lowercase()
    }
}
impl TryFrom<String> for ApiKeyName {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<ApiKeyName> for String {
    fn from(n: ApiKeyName) -> String {
        n.0
    }
}
impl fmt::Display for ApiKeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
