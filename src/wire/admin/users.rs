//! `user.list`, `user.get`, `user.set_role`, `user.assign`, `user.unassign`,
//! `user.delete`.

use serde::{Deserialize, Serialize};

use super::{Cursor, PageLimit, Validate};
use crate::authz::{AssignScope, Assignment, RoleName};
use crate::domain::{Handle, InviteId, SiteCode, SiteRef, Tenant};

/// A user as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub handle: Handle,
    /// Its role in its home tenant (its tenant-scope assignment there; else its
    /// platform role; else its first assignment's).
    pub role: RoleName,
    /// Its home tenant: the one its invite named.
    pub tenant: Tenant,
    /// Everything it holds where (PROTOCOL §8).
    pub assignments: Vec<Assignment>,
    /// `active` or `revoked`.
    pub status: String,
    pub sign_pub: String,
    pub kex_pub: String,
    pub registered_at: String,
    /// The sites of its home tenant it holds site-scoped assignments at.
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
    /// Only users holding this role (in `tenant`, when given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleName>,
    /// Only users holding an assignment in this tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
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

/// `user.set_role`: replaces the user's assignments in `tenant` (default `default`) with
/// `role` at tenant scope, or with `role` at each of `sites`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRoleRequest {
    pub handle: Handle,
    pub role: RoleName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    /// Site-scoped assignments instead of a tenant-scope one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites: Option<Vec<SiteCode>>,
}

impl SetRoleRequest {
    /// The tenant it changes.
    pub fn tenant(&self) -> Tenant {
        self.tenant.clone().unwrap_or_else(Tenant::default_tenant)
    }

    /// The assignments it sets in that tenant.
    pub fn assignments(&self) -> Vec<Assignment> {
        let t = self.tenant();
        match self.sites.as_deref() {
            Some(sites) if !sites.is_empty() => {
                let mut sites = sites.to_vec();
                sites.sort();
                sites.dedup();
                sites
                    .iter()
                    .map(|s| Assignment::site(self.role.clone(), SiteRef::new(&t, s)))
                    .collect()
            }
            _ => vec![Assignment::tenant(self.role.clone(), t)],
        }
    }
}

/// `user.assign` and `user.unassign`: `{"handle", "role", "tenant"?, "site"?}` or
/// `{"handle", "role", "scope": "platform"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub handle: Handle,
    pub role: RoleName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteCode>,
    /// `platform`, for a platform assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<PlatformScope>,
}

/// The one scope named by word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformScope {
    Platform,
}

impl AssignRequest {
    /// The assignment it names (checked by [`Validate`]).
    pub fn assignment(&self) -> Result<Assignment, crate::wire::ApiError> {
        let scope = match (&self.scope, &self.tenant, &self.site) {
            (Some(PlatformScope::Platform), None, None) => AssignScope::Platform,
            (Some(_), _, _) => {
                return Err(crate::wire::ApiError::bad_request(
                    "a platform assignment names no tenant or site",
                ))
            }
            (None, t, None) => {
                AssignScope::Tenant(t.clone().unwrap_or_else(Tenant::default_tenant))
            }
            (None, t, Some(s)) => AssignScope::Site(SiteRef::new(
                &t.clone().unwrap_or_else(Tenant::default_tenant),
                s,
            )),
        };
        Assignment::new(self.role.clone(), scope)
            .map_err(|e| crate::wire::ApiError::bad_request(e.to_string()))
    }
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
        for a in self.assignments() {
            check_scope(&a)?;
        }
        Ok(())
    }
}
impl Validate for AssignRequest {
    fn validate(&self) -> Result<(), crate::wire::ApiError> {
        check_scope(&self.assignment()?)
    }
}

/// `owner` is a tenant or platform role: an owner at one site is `bad_request`.
fn check_scope(a: &Assignment) -> Result<(), crate::wire::ApiError> {
    if matches!(a.scope(), AssignScope::Site(_))
        && a.role().builtin() == Some(crate::authz::Builtin::Owner)
    {
        return Err(crate::wire::ApiError::bad_request(
            "owner is held at tenant or platform scope, not at a site",
        ));
    }
    Ok(())
}
