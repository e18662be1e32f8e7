//! The credential vault's names (PROTOCOL §10): a credential's id, scope, holder, name,
//! provider and type, and its masked value.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{err, Handle, ParseError, Tenant};
use crate::crypto;

/// A credential's id: `c-` and 32 lowercase hex characters (16 random bytes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CredentialId(String);

impl CredentialId {
    /// A fresh random id.
    pub fn generate() -> Self {
        Self(format!("c-{}", crypto::random_nonce_hex()))
    }
    /// Parses `c-` and 32 lowercase hex characters.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok = s.len() == 34
            && s.starts_with("c-")
            && s[2..]
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(err(
                "credential_id must be c- and 32 lowercase hex characters",
            ))
        }
    }
}
text_type!(CredentialId);

/// Where a credential belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialScope {
    /// One user's own (its `owner`).
    User,
    /// A tenant's, shared by those holding `credential:*` there.
    Tenant,
    /// The platform's.
    System,
}

impl CredentialScope {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialScope::User => "user",
            CredentialScope::Tenant => "tenant",
            CredentialScope::System => "system",
        }
    }
}

/// Whose a credential (and a data key) is: a user, a tenant, or the system.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CredentialHolder {
    User(Handle),
    Tenant(Tenant),
    System,
}

impl CredentialHolder {
    /// The holder's scope.
    pub fn scope(&self) -> CredentialScope {
        match self {
            CredentialHolder::User(_) => CredentialScope::User,
            CredentialHolder::Tenant(_) => CredentialScope::Tenant,
            CredentialHolder::System => CredentialScope::System,
        }
    }
    /// The middle part of the sealing's associated data: the owner's handle, the
    /// tenant's slug, or `system` for the system scope.
    pub fn name(&self) -> &str {
        match self {
            CredentialHolder::User(h) => h.as_str(),
            CredentialHolder::Tenant(t) => t.as_str(),
            CredentialHolder::System => "system",
        }
    }
    /// `user/alice`, `tenant/acme`, `system/system`: the scope and the name.
    pub fn label(&self) -> String {
        format!("{}/{}", self.scope().as_str(), self.name())
    }
    /// The associated data a value of credential `provider`/`name` is sealed with on
    /// its way in (PROTOCOL §10): `{scope}/{owner or tenant}/{provider}/{name}`.
    pub fn sealing_ad(&self, provider: &ProviderName, name: &CredentialName) -> String {
        format!("{}/{}/{}", self.label(), provider.as_str(), name.as_str())
    }
}

impl fmt::Display for CredentialHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// A label's text: 1 to 64 characters after trimming, no control characters and no
/// `/` (the sealing's associated data joins labels with `/`, so one must not hold it).
fn label(what: &str, s: &str) -> Result<String, ParseError> {
    let t = s.trim();
    let n = t.chars().count();
    if n == 0 || n > 64 {
        return Err(err(format!("{what} must be 1 to 64 characters")));
    }
    if t.chars().any(|c| c.is_control() || c == '/') {
        return Err(err(format!(
            "{what} must not hold '/' or control characters"
        )));
    }
    Ok(t.to_owned())
}

macro_rules! label_type {
    ($(#[$doc:meta])* $t:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $t(String);

        impl $t {
            /// Parses (and trims) the text.
            pub fn parse(s: &str) -> Result<Self, ParseError> {
                label($what, s).map(Self)
            }
            /// The form names compare by: lower case.
            pub fn folded(&self) -> String {
                self.0.to_lowercase()
            }
        }
        text_type!($t);
    };
}

label_type!(
    /// A credential's name (`deploy`), unique with its provider per holder,
    /// case-insensitively.
    CredentialName,
    "name"
);
label_type!(
    /// Who issued a credential (`github`, `aws`).
    ProviderName,
    "provider"
);

/// What kind of secret a credential holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialType {
    ApiKey,
    OauthToken,
    AccessToken,
    Secret,
    Password,
    Custom,
}

impl CredentialType {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialType::ApiKey => "api_key",
            CredentialType::OauthToken => "oauth_token",
            CredentialType::AccessToken => "access_token",
            CredentialType::Secret => "secret",
            CredentialType::Password => "password",
            CredentialType::Custom => "custom",
        }
    }
}

/// Largest value the vault keeps, in bytes of UTF-8.
pub const MAX_CREDENTIAL_VALUE: usize = 16 * 1024;

/// A value's masked form (PROTOCOL §10: at most 20 characters, at most the last 4 of the
/// secret): `••••` and the last four characters, or only `••••` for a secret under 8
/// characters (a tail would be half of it).
pub fn masked_value(secret: &str) -> String {
    const MASK: &str = "••••";
    let n = secret.chars().count();
    if n < 8 {
        return MASK.to_owned();
    }
    let tail: String = secret.chars().skip(n - 4).collect();
    format!("{MASK}{tail}")
}

/// A credential's metadata: a JSON object of at most 4 KiB (the same rule as a product's
/// configuration), opaque to roster and never a place for the secret.
pub type CredentialMetadata = super::ProductConfig;
