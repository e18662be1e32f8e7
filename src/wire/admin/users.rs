//! `user.list`, `user.get`, `user.set_role`, `user.delete`.

use serde::{Deserialize, Serialize};

use super::{Cursor, PageLimit, Validate};
use crate::domain::{Handle, InviteId, Role, SiteCode};

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
    pub limit: Option<PageLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
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

impl Validate for UserListRequest {}
impl Validate for HandleRequest {}
impl Validate for SetRoleRequest {
    fn validate(&self) -> Result<(), crate::wire::ApiError> {
        let has_sites = self.sites.as_ref().is_some_and(|s| !s.is_empty());
        if has_sites && self.role != Role::Operator {
            return Err(crate::wire::ApiError::bad_request(
                "sites are only for role operator",
            ));
        }
        Ok(())
    }
}
