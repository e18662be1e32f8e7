//! `credential.create`, `list`, `get`, `reveal`, `rotate`, `revoke`, `delete` and
//! `rewrap` (PROTOCOL §10). Values travel only sealed (`crypto::Sealed`): to the worker's
//! `credential_kex` on the way in, to the requester's `kex_pub` on the way out.

use serde::{Deserialize, Serialize};

use super::{Cursor, PageLimit, Rfc3339, Validate};
use crate::crypto::Sealed;
use crate::domain::{
    CredentialId, CredentialMetadata, CredentialName, CredentialScope, CredentialType, Handle,
    ProviderName, Tenant,
};
use crate::wire::ApiError;

/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 512;

/// `credential.create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialCreateRequest {
    pub scope: CredentialScope,
    /// The tenant (tenant scope only; default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    pub name: CredentialName,
    pub provider: ProviderName,
    #[serde(rename = "type")]
    pub kind: CredentialType,
    /// The value sealed to `credential_kex`, associated data
    /// `{scope}/{owner or tenant}/{provider}/{name}`.
    pub value: Sealed,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Rfc3339>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<CredentialMetadata>,
}

impl Validate for CredentialCreateRequest {
    fn validate(&self) -> Result<(), ApiError> {
        if self.tenant.is_some() && self.scope != CredentialScope::Tenant {
            return Err(ApiError::bad_request("tenant is for tenant scope only"));
        }
        check_description(self.description.as_deref())
    }
}

fn check_description(d: Option<&str>) -> Result<(), ApiError> {
    match d {
        Some(d) if d.chars().count() > MAX_DESCRIPTION || d.chars().any(char::is_control) => {
            Err(ApiError::bad_request(format!(
                "description must be at most {MAX_DESCRIPTION} characters, none of them control characters"
            )))
        }
        _ => Ok(()),
    }
}

/// `credential.list`: one holder's credentials. `scope` defaults to `user` (the
/// requester's own; `owner` names another user's, for platform admins, who may see and
/// delete them but never reveal them).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialListRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<CredentialScope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Handle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<PageLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

impl Validate for CredentialListRequest {
    fn validate(&self) -> Result<(), ApiError> {
        let scope = self.scope.unwrap_or(CredentialScope::User);
        if self.tenant.is_some() && scope != CredentialScope::Tenant {
            return Err(ApiError::bad_request("tenant is for tenant scope only"));
        }
        if self.owner.is_some() && scope != CredentialScope::User {
            return Err(ApiError::bad_request("owner is for user scope only"));
        }
        Ok(())
    }
}

/// `credential.get`, `reveal`, `revoke`, `delete`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialIdRequest {
    pub credential_id: CredentialId,
}
impl Validate for CredentialIdRequest {}

/// `credential.rotate`: a new value (sealed like `create`'s, with the credential's own
/// scope, holder, provider and name as associated data), and optionally a new expiry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRotateRequest {
    pub credential_id: CredentialId,
    pub value: Sealed,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Rfc3339>,
}
impl Validate for CredentialRotateRequest {}

/// A credential as `get` and `list` show it: masked, never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialView {
    pub credential_id: CredentialId,
    pub scope: CredentialScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Handle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    pub name: CredentialName,
    pub provider: ProviderName,
    #[serde(rename = "type")]
    pub kind: CredentialType,
    pub masked_value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    pub metadata: CredentialMetadata,
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
}

/// `credential.list` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialListReply {
    pub credentials: Vec<CredentialView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `credential.reveal` reply: the value sealed to the requester's `kex_pub`, associated
/// data the credential id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRevealReply {
    pub credential_id: CredentialId,
    pub value: Sealed,
}

/// `credential.delete` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialDeleteReply {
    pub credential_id: CredentialId,
    pub deleted: bool,
}

/// `credential.rewrap`: no fields (platform scope).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRewrapRequest {}
impl Validate for CredentialRewrapRequest {}

/// `credential.rewrap` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRewrapReply {
    /// The KEK version every data key is now wrapped under.
    pub kek_version: u32,
    /// Data keys there are.
    pub data_keys: usize,
    /// Data keys this run rewrapped.
    pub rewrapped: usize,
}
