//! `P.v1.admin.<command>`: request and reply bodies of the admin commands.

use serde::{Deserialize, Serialize};

use crate::domain::{Handle, InviteId, Role, SiteCode};

/// Default and largest page size of `list` commands.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page size of `list` commands.
pub const MAX_LIMIT: u32 = 1000;

/// `invite.create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteCreateRequest {
    /// The handle the invitee will get.
    pub handle: Handle,
    /// The role the invitee will get.
    pub role: Role,
    /// Lifetime in seconds; default 7 days, at most 30 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<u64>,
}

/// `invite.create` reply: the token is shown here once and never again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteCreateReply {
    /// The `inv_…` secret.
    pub token: String,
    /// The invite's id.
    pub invite_id: InviteId,
    /// The handle.
    pub handle: Handle,
    /// The role.
    pub role: Role,
    /// Expiry, RFC 3339 UTC.
    pub expires_at: String,
}

/// An invite as admins see it (never the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteView {
    pub invite_id: InviteId,
    pub handle: Handle,
    pub role: Role,
    /// `pending`, `used`, `cancelled` or `expired`.
    pub state: String,
    pub created_at: String,
    pub created_by: String,
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_sign_pub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
}

/// `invite.list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteListRequest {
    /// Only invites in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<InviteStateFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// The invite states a list can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteStateFilter {
    Pending,
    Used,
    Cancelled,
    Expired,
}

impl InviteStateFilter {
    /// The state as it appears in records.
    pub fn as_str(self) -> &'static str {
        match self {
            InviteStateFilter::Pending => "pending",
            InviteStateFilter::Used => "used",
            InviteStateFilter::Cancelled => "cancelled",
            InviteStateFilter::Expired => "expired",
        }
    }
}

/// `invite.list` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteListReply {
    pub invites: Vec<InviteView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `invite.get` and `invite.cancel`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteIdRequest {
    pub invite_id: InviteId,
}

/// A user as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub handle: Handle,
    pub role: Role,
    /// `active` or `revoked`.
    pub status: String,
    pub sign_pub: String,
    pub kex_pub: String,
    pub registered_at: String,
    /// An operator's sites (canonical codes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<SiteCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_id: Option<InviteId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// `user.list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserListRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<UserStatusFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// The user states a list can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatusFilter {
    Active,
    Revoked,
}

/// `user.list` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserListReply {
    pub users: Vec<UserView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `user.get` and `user.delete`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandleRequest {
    pub handle: Handle,
}

/// `user.set_role`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRoleRequest {
    pub handle: Handle,
    pub role: Role,
    /// An operator's sites; only valid with role `operator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites: Option<Vec<SiteCode>>,
}

/// `user.delete` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteReply {
    pub handle: Handle,
    pub deleted: bool,
}

/// `audit.query`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQueryRequest {
    /// Exact action, e.g. `invite.created`; a trailing `.>` or `.*` matches a family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The actor's id (handle, machine id or key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The target's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// RFC 3339 lower bound (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// RFC 3339 upper bound (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `audit.query` reply: the most recent matching events, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQueryReply {
    pub events: Vec<crate::audit::AuditEvent>,
}

/// Checks a `limit` field.
pub fn page_limit(limit: Option<u32>) -> Result<usize, crate::wire::ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT as usize),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n as usize),
        Some(_) => Err(crate::wire::ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        ))),
    }
}
