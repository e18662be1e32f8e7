//! `invite.create`, `invite.list`, `invite.get`, `invite.cancel`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Cursor, PageLimit, Validate};
use crate::authz::{Assignment, RoleName};
use crate::crypto::Redacted;
use crate::domain::{Handle, InviteId, SiteCode, Tenant};

/// An invite lifetime in seconds: 1 s to 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct TtlSecs(u64);

/// The longest invite lifetime (PROTOCOL §4).
pub const MAX_INVITE_TTL_SECS: u64 = 30 * 24 * 3600;

impl TtlSecs {
    /// The lifetime.
    pub fn get(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.0)
    }
}
impl TryFrom<u64> for TtlSecs {
    type Error = String;
    fn try_from(n: u64) -> Result<Self, String> {
        if (1..=MAX_INVITE_TTL_SECS).contains(&n) {
            Ok(Self(n))
        } else {
            Err(format!(
                "ttl_secs must be between 1 and {MAX_INVITE_TTL_SECS}"
            ))
        }
    }
}
impl From<TtlSecs> for u64 {
    fn from(t: TtlSecs) -> u64 {
        t.0
    }
}

/// `invite.create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteCreateRequest {
    /// The handle the invitee will get.
    pub handle: Handle,
    /// The role the invitee will get (its first assignment).
    pub role: RoleName,
    /// Where: this tenant (default `default`) …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    /// … at this site only, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteCode>,
    /// Lifetime in seconds; default 7 days, at most 30 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<TtlSecs>,
}

impl InviteCreateRequest {
    /// An invite for `handle` as `role` in the default tenant.
    pub fn new(handle: Handle, role: impl Into<RoleName>) -> Self {
        InviteCreateRequest {
            handle,
            role: role.into(),
            tenant: None,
            site: None,
            ttl_secs: None,
        }
    }

    /// The new user's first assignment.
    pub fn assignment(&self) -> Assignment {
        let t = self.tenant.clone().unwrap_or_else(Tenant::default_tenant);
        match &self.site {
            Some(s) => Assignment::site(self.role.clone(), crate::domain::SiteRef::new(&t, s)),
            None => Assignment::tenant(self.role.clone(), t),
        }
    }
}

/// `invite.create` reply: the token is shown here once and never again (and never in
/// `Debug`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteCreateReply {
    /// The `inv_…` secret.
    pub token: String,
    /// The invite's id.
    pub invite_id: InviteId,
    /// The handle.
    pub handle: Handle,
    /// The role.
    pub role: RoleName,
    /// The tenant it is for (`platform` for a platform owner's invite).
    pub tenant: String,
    /// Expiry, RFC 3339 UTC.
    pub expires_at: String,
}

impl fmt::Debug for InviteCreateReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InviteCreateReply")
            .field("token", &Redacted(&self.token))
            .field("invite_id", &self.invite_id)
            .field("handle", &self.handle)
            .field("role", &self.role)
            .field("tenant", &self.tenant)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// An invite as admins see it (never the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteView {
    pub invite_id: InviteId,
    pub handle: Handle,
    pub role: RoleName,
    /// The new user's first assignment (its role, tenant and site).
    pub assignment: Assignment,
    /// Its tenant (`platform` for a platform owner's invite).
    pub tenant: String,
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
    pub limit: Option<PageLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
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

impl Validate for InviteCreateRequest {
    fn validate(&self) -> Result<(), crate::wire::ApiError> {
        if self.site.is_some() && self.role.builtin() == Some(crate::authz::Builtin::Owner) {
            return Err(crate::wire::ApiError::bad_request(
                "owner is held at tenant or platform scope, not at a site",
            ));
        }
        Ok(())
    }
}
impl Validate for InviteListRequest {}
impl Validate for InviteIdRequest {}
