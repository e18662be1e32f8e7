//! `P.v1.admin.<command>`: request and reply bodies of the admin commands.

use serde::{Deserialize, Serialize};

use crate::domain::{Handle, InviteId, Label, MachineId, Policy, Role, SiteCode, Tenant};

/// Default and largest page size of `list` commands.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page size of `list` commands.
pub const MAX_LIMIT: u32 = 1000;

/// A page size: 1 to 1000; absent means 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct PageLimit(u32);

impl PageLimit {
    /// The number of items.
    pub fn get(self) -> usize {
        self.0 as usize
    }
    /// The effective limit of an optional field.
    pub fn or_default(l: Option<PageLimit>) -> usize {
        l.map_or(DEFAULT_LIMIT as usize, PageLimit::get)
    }
}
impl TryFrom<u32> for PageLimit {
    type Error = String;
    fn try_from(n: u32) -> Result<Self, String> {
        if (1..=MAX_LIMIT).contains(&n) {
            Ok(Self(n))
        } else {
            Err(format!("limit must be between 1 and {MAX_LIMIT}"))
        }
    }
}
impl From<PageLimit> for u32 {
    fn from(l: PageLimit) -> u32 {
        l.0
    }
}

/// A list cursor: the last key of the previous page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cursor(String);

impl Cursor {
    /// The key after which the next page starts.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Cursor {
    type Error = String;
    fn try_from(c: String) -> Result<Self, String> {
        let ok = !c.is_empty()
            && c.len() <= 128
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(c))
        } else {
            Err("cursor is not one this service returned".into())
        }
    }
}
impl From<Cursor> for String {
    fn from(c: Cursor) -> String {
        c.0
    }
}

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

/// Checks of a request that span fields; run before anything is written.
pub trait Validate {
    /// `Err` with a `bad_request` message when the request is inconsistent.
    fn validate(&self) -> Result<(), crate::wire::ApiError> {
        Ok(())
    }
}

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
    pub ttl_secs: Option<TtlSecs>,
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
    /// The target's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// RFC 3339 lower bound (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Rfc3339>,
    /// RFC 3339 upper bound (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Rfc3339>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<PageLimit>,
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

/// `audit.query` reply: the most recent matching events, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQueryReply {
    pub events: Vec<crate::audit::AuditEvent>,
}

impl Validate for InviteCreateRequest {}
impl Validate for InviteListRequest {}
impl Validate for InviteIdRequest {}
impl Validate for UserListRequest {}
impl Validate for HandleRequest {}
impl Validate for AuditQueryRequest {}
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
impl Validate for crate::wire::register::RegisterRequest {}

/// A grace period for a rotated-out key: 0 to 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct GraceSecs(u64);

impl GraceSecs {
    /// The grace period.
    pub fn get(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.0)
    }
}
impl TryFrom<u64> for GraceSecs {
    type Error = String;
    fn try_from(n: u64) -> Result<Self, String> {
        if n <= MAX_INVITE_TTL_SECS {
            Ok(Self(n))
        } else {
            Err(format!(
                "grace_secs must be between 0 and {MAX_INVITE_TTL_SECS}"
            ))
        }
    }
}
impl From<GraceSecs> for u64 {
    fn from(g: GraceSecs) -> u64 {
        g.0
    }
}

/// A site as admins see it (never a key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteView {
    pub site: SiteCode,
    pub tenant: Tenant,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    pub policy: Policy,
    pub key_version: u32,
    /// `vN (XXXX)`.
    pub fingerprint: String,
    pub created_at: String,
    pub created_by: String,
}

/// `site.create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteCreateRequest {
    pub site: SiteCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<Label>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<Label>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
}

/// `site.create` reply: the site plus its first key, shown once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SiteCreateReply {
    #[serde(flatten)]
    pub site: SiteView,
    pub enrollment_key: String,
}

/// `site.get`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteRef {
    pub site: SiteCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
}

/// `site.list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteListRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<PageLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

/// `site.list` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteListReply {
    pub sites: Vec<SiteView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `site.rotate_key`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKeyRequest {
    pub site: SiteCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    /// How long the previous key still enrolls (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_secs: Option<GraceSecs>,
}

/// `site.rotate_key` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKeyReply {
    pub site: SiteCode,
    pub tenant: Tenant,
    pub enrollment_key: String,
    pub version: u32,
    /// `vN (XXXX)`.
    pub fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_valid_until: Option<String>,
}

/// A machine as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineView {
    pub machine_id: MachineId,
    pub tenant: Tenant,
    pub site: SiteCode,
    pub machine_uid: String,
    /// `active`, `pending`, `rejected` or `revoked`.
    pub state: String,
    pub agent_pub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    pub enrolled_at: String,
    pub last_enrolled_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_reason: Option<String>,
    pub key_version: u32,
    pub site_history: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
}

/// The machine states a list can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineStateFilter {
    Active,
    Pending,
    Rejected,
    Revoked,
}

/// `machine.list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineListRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<MachineStateFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<PageLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

/// `machine.list` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineListReply {
    pub machines: Vec<MachineView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `machine.get`, `machine.approve`, `machine.reject`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineIdRequest {
    pub machine_id: MachineId,
}

impl Validate for SiteCreateRequest {}
impl Validate for SiteRef {}
impl Validate for SiteListRequest {}
impl Validate for RotateKeyRequest {}
impl Validate for MachineListRequest {}
impl Validate for MachineIdRequest {}
