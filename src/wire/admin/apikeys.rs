//! `apikey.create`, `apikey.list`, `apikey.get`, `apikey.revoke`, `apikey.roll`, and
//! `P.v1.apikey.verify` (PROTOCOL §9).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Cursor, GraceSecs, PageLimit, Validate};
use crate::authz::Permission;
use crate::crypto::Redacted;
use crate::domain::{ApiKeyId, ApiKeyName, ProductName, Tenant};

/// Longest life of an API key: five years.
pub const MAX_APIKEY_TTL_SECS: u64 = 5 * 366 * 24 * 3600;

/// An API key as `apikey.get` shows it: never its secret, nor its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyView {
    pub key_id: ApiKeyId,
    pub tenant: Tenant,
    pub name: ApiKeyName,
    pub scopes: BTreeSet<Permission>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductName>,
    pub prefix: String,
    pub created_by: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_at: Option<String>,
    /// Until when the secret a roll replaced still works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_valid_until: Option<String>,
}

/// `apikey.create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    pub name: ApiKeyName,
    pub scopes: BTreeSet<Permission>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<u64>,
}

impl Validate for ApiKeyCreateRequest {
    fn validate(&self) -> Result<(), crate::wire::ApiError> {
        if let Some(t) = self.ttl_secs {
            if !(1..=MAX_APIKEY_TTL_SECS).contains(&t) {
                return Err(crate::wire::ApiError::bad_request(format!(
                    "ttl_secs must be between 1 and {MAX_APIKEY_TTL_SECS}"
                )));
            }
        }
        if self.scopes.is_empty() {
            return Err(crate::wire::ApiError::bad_request(
                "scopes must name at least one permission",
            ));
        }
        Ok(())
    }
}

/// `apikey.create` and `apikey.roll` reply: the record and its secret, shown once.
#[derive(Clone, Serialize, Deserialize)]
pub struct ApiKeySecretReply {
    #[serde(flatten)]
    pub apikey: ApiKeyView,
    pub key: String,
}

impl fmt::Debug for ApiKeySecretReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeySecretReply")
            .field("apikey", &self.apikey)
            .field("key", &Redacted(&self.key))
            .finish()
    }
}

/// `apikey.list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyListRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<PageLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}
impl Validate for ApiKeyListRequest {}

/// `apikey.list` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyListReply {
    pub keys: Vec<ApiKeyView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `apikey.get` and `apikey.revoke`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyIdRequest {
    pub key_id: ApiKeyId,
}
impl Validate for ApiKeyIdRequest {}

/// `apikey.roll`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRollRequest {
    pub key_id: ApiKeyId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_secs: Option<GraceSecs>,
}
impl Validate for ApiKeyRollRequest {}

/// `P.v1.apikey.verify`. The key is held as text: a malformed one is `not_found`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyVerifyRequest {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<BTreeSet<Permission>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductName>,
}
impl Validate for ApiKeyVerifyRequest {}

impl fmt::Debug for ApiKeyVerifyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyVerifyRequest")
            .field("key", &Redacted(&self.key))
            .field("scopes", &self.scopes)
            .field("product", &self.product)
            .finish()
    }
}

/// The outcome of a verification (PROTOCOL §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyCode {
    Valid,
    NotFound,
    Revoked,
    Expired,
    InsufficientScope,
    TenantInactive,
    RateLimited,
}

/// `P.v1.apikey.verify` reply: always a success; `code` says why a key is not valid.
/// The key's fields come only with `valid` and `insufficient_scope`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyVerifyReply {
    pub valid: bool,
    pub code: VerifyCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<ApiKeyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<ApiKeyName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<BTreeSet<Permission>>,
}

impl ApiKeyVerifyReply {
    /// A refusal with nothing about the key.
    pub fn refused(code: VerifyCode) -> Self {
        Self {
            valid: false,
            code,
            key_id: None,
            tenant: None,
            name: None,
            scopes: None,
        }
    }
}
