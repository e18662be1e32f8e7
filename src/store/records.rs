//! The values kept in KV. Each carries `v`, its schema version, and validates against
//! its file in `kv-schema/`. No value ever holds a secret: only digests.

use serde::{Deserialize, Serialize};

use std::collections::BTreeSet;

use crate::authz::{Assignment, Permission, RoleDef, RoleName};
use crate::domain::{Handle, InviteId, KexKey, SignKey, SiteCode, Tenant};

/// Current schema version of every record.
pub const SCHEMA_V: u32 = 3;

/// `roster_users`, key = handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRecord {
    pub v: u32,
    pub handle: Handle,
    /// The tenant its invite named (its home: where `role` and `sites` of its view are
    /// read, and whose archive deletes it when it holds nothing elsewhere).
    pub tenant: Tenant,
    /// What it holds where (PROTOCOL §8); the invite's assignment first.
    pub assignments: Vec<Assignment>,
    pub status: UserStatus,
    pub sign_pub: SignKey,
    pub kex_pub: KexKey,
    pub registered_at: String,
    /// The invite this user redeemed (absent for users made some other way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_id: Option<InviteId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
    /// The admin change this record's latest write made (see [`ChangeNote`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<ChangeNote>,
    /// The stream sequences of its index entries, one per place it holds something
    /// in (see [`UserRecord::index_subjects`]), written by the store.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub index_seqs: Vec<u64>,
}

/// Users are indexed once per place they hold an assignment in: `<tenant>.<status>`
/// (`_platform.<status>` for platform roles), so a tenant's users page its subjects.
impl super::index::Record for UserRecord {
    fn index_subjects(&self) -> Vec<String> {
        let places: std::collections::BTreeSet<&str> =
            self.assignments.iter().map(place_token).collect();
        places
            .into_iter()
            .map(|p| format!("{p}.{}", self.status.as_str()))
            .collect()
    }
    fn index_seqs(&self) -> Vec<u64> {
        self.index_seqs.clone()
    }
    fn set_index_seqs(&mut self, seqs: Vec<u64>) {
        self.index_seqs = seqs;
    }
    fn note(&self) -> Option<&ChangeNote> {
        self.note.as_ref()
    }
    fn clear_note(&mut self) {
        self.note = None;
    }
}

/// Who revoked an identity, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    pub at: String,
    /// A handle, or the machine itself (`self`).
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A user's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Revoked,
}

impl UserStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Revoked => "revoked",
        }
    }
}

/// `roster_user_keys`, key = signing key hex: which user a signing key belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyIndexRecord {
    pub v: u32,
    pub sign_pub: SignKey,
    pub handle: Handle,
    pub created_at: String,
}

/// `roster_invites`, key = invite id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteRecord {
    pub v: u32,
    pub invite_id: InviteId,
    /// SHA-256 of the token text; the token itself is never stored.
    pub token_sha256: String,
    pub handle: Handle,
    /// The new user's first assignment.
    pub assignment: Assignment,
    pub state: InviteState,
    pub created_at: String,
    pub created_by: String,
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_sign_pub: Option<SignKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_kex_pub: Option<KexKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    /// Set when the user made from this invite was deleted: a late retry of the
    /// registration must not bring the user back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_deleted_at: Option<String>,
    /// The admin change this record's latest write made (see [`ChangeNote`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<ChangeNote>,
    /// The stream sequence of its entry in the invites' index (`store::index`), which
    /// holds the pending and cancelled invites. A redeemed invite keeps naming its old
    /// entry until a healer removes it (the register path writes no index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_seq: Option<u64>,
}

/// The `index_seq` and `note` accessors of an indexed record with a change note.
macro_rules! indexed_and_noted {
    () => {
        fn index_seq(&self) -> Option<u64> {
            self.index_seq
        }
        fn set_index_seq(&mut self, seq: Option<u64>) {
            self.index_seq = seq;
        }
        fn note(&self) -> Option<&ChangeNote> {
            self.note.as_ref()
        }
        fn clear_note(&mut self) {
            self.note = None;
        }
    };
}

impl super::index::Record for InviteRecord {
    const UNINDEX_LATER: bool = true;
    fn index_subject(&self) -> Option<String> {
        let state = match self.state {
            InviteState::Pending => "pending",
            InviteState::Cancelled => "cancelled",
            InviteState::Used => return None,
        };
        Some(format!("{}.{state}", place_token(&self.assignment)))
    }
    indexed_and_noted!();
}

/// The index token of an assignment's place (an invite's first, each of a user's): its
/// tenant, or `_platform` (never a tenant: tenants start with a letter or digit).
pub fn place_token(a: &crate::authz::Assignment) -> &str {
    match a.scope() {
        crate::authz::AssignScope::Platform => "_platform",
        crate::authz::AssignScope::Tenant(t) => t.as_str(),
        crate::authz::AssignScope::Site(s) => s.tenant.as_str(),
    }
}

/// The stored state of an invite. `expired` is derived at read time from `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteState {
    Pending,
    Used,
    Cancelled,
}

/// `roster_meta`, key `owners` (the platform's owners) or `owners.<tenant>` (a tenant's):
/// the handles counted by one last-owner guard. Every change that removes an owner CASes
/// this record first, so two racing demotions cannot both pass the guard. It may
/// under-count (a crash after a new owner's user record was written but before this
/// was), never over-count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnersRecord {
    pub v: u32,
    pub owners: Vec<Handle>,
}

/// `roster_nonces`, key = `<signing key hex>.<nonce hex>`; expires with the bucket's max_age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonceRecord {
    pub v: u32,
    /// The signer's `Roster-Ts`.
    pub ts: i64,
}

/// `roster_sites`, key = `<tenant>.<SITE>`: a site and its enrollment key ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteRecord {
    pub v: u32,
    pub tenant: crate::domain::Tenant,
    pub site: SiteCode,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    pub policy: crate::domain::Policy,
    /// The version of the one active key. Exactly one key is active because the ring
    /// lives in this one record and every rotation is a CAS on it.
    pub key_version: u32,
    /// The active key and any previous key still inside its grace period.
    pub keys: Vec<SiteKey>,
    pub created_at: String,
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// The admin change this record's latest write made (see [`ChangeNote`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<ChangeNote>,
}

/// One enrollment key of a site's ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteKey {
    pub version: u32,
    /// Argon2id PHC string of the key.
    pub phc: String,
    /// 4 hex characters, shown as `vN (XXXX)`.
    pub fingerprint: String,
    pub created_at: String,
    /// When a rotated-out key stops working (absent on the active key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retires_at: Option<String>,
}

/// A machine's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineState {
    Active,
    Pending,
    Rejected,
    Revoked,
}

impl MachineState {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MachineState::Active => "active",
            MachineState::Pending => "pending",
            MachineState::Rejected => "rejected",
            MachineState::Revoked => "revoked",
        }
    }
}

/// One entry of a machine's site history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteVisit {
    pub site: SiteCode,
    pub at: String,
}

/// `roster_machines`, key = machine id (derived from the agent key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineRecord {
    pub v: u32,
    pub machine_id: crate::domain::MachineId,
    pub tenant: crate::domain::Tenant,
    pub site: SiteCode,
    pub machine_uid: crate::domain::MachineUid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    pub agent_pub: SignKey,
    pub agent_kex: KexKey,
    pub state: MachineState,
    /// Why a machine is pending: `uid_collision` or `site_policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_reason: Option<String>,
    /// SHA-256 of the current `cak_` credential; earlier credentials are dead.
    pub credential_sha256: String,
    pub enrolled_at: String,
    pub last_enrolled_at: String,
    /// The key version the last enrollment used.
    pub key_version: u32,
    pub site_history: Vec<SiteVisit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
    /// The stream sequence of the machine's entry in the index stream
    /// (`<prefix>.index.machines.<tenant>.<SITE>.<state>`); set by the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_seq: Option<u64>,
    /// The admin change this record's latest write made (see [`ChangeNote`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<ChangeNote>,
}

impl super::index::Record for MachineRecord {
    fn index_subject(&self) -> Option<String> {
        Some(format!(
            "{}.{}.{}",
            self.tenant.as_str(),
            self.site.as_str(),
            self.state.as_str()
        ))
    }
    indexed_and_noted!();
}

/// Records that carry a [`ChangeNote`] (not indexed: their lists page the bucket).
macro_rules! noted {
    ($($t:ty),*) => {$(
        impl super::index::Record for $t {
            fn note(&self) -> Option<&ChangeNote> {
                self.note.as_ref()
            }
            fn clear_note(&mut self) {
                self.note = None;
            }
        }
    )*};
}
noted!(
    SiteRecord,
    RoleRecord,
    ApiKeyRecord,
    TenantRecord,
    CredentialRecord
);

impl UserRecord {
    /// True while an interrupted `user.delete` is being finished: the user counts as
    /// gone (it signs nothing, the bus refuses it, it is no owner).
    pub fn deleting(&self) -> bool {
        matches!(
            self.note,
            Some(ChangeNote {
                change: Noted::Deleting,
                ..
            })
        )
    }
}

/// What an admin change did, kept on the record it wrote so that a healer can publish
/// the change's audit event (and do what followed it: a kick, the uid, the delete) when
/// the admin's worker died before it did. A note lives for one write: the store's CAS
/// loop drops a note that a later write would carry over unchanged, so a record's note
/// always describes its latest revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeNote {
    /// Who made the change: a handle, or `system` (`roster bootstrap`).
    pub by: String,
    /// The signed request's key, as the event's metadata names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    pub at: String,
    pub change: Noted,
}

impl ChangeNote {
    /// A note of `change` by `by` now.
    pub fn new(by: &str, request: Option<String>, at: &str, change: Noted) -> Self {
        ChangeNote {
            by: by.to_owned(),
            request,
            at: at.to_owned(),
            change,
        }
    }
}

/// The admin changes that leave a note, with what their events need that the record
/// itself no longer says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Noted {
    /// `user.set_role`, `user.assign`, `user.unassign`: which (its event's action), the
    /// assignment it set, added or removed, and the assignments before.
    Assignments {
        action: AssignAction,
        assignment: Assignment,
        before: Vec<Assignment>,
    },
    /// `user.delete`, `role.delete` or `credential.delete`, between marking the record
    /// and deleting it.
    Deleting,
    /// `role.create`.
    RoleCreated,
    /// `role.update`: the permissions before.
    RoleUpdated { before: BTreeSet<Permission> },
    /// `machine.approve` / `machine.reject` (the record's state says which), with the
    /// reason the machine waited.
    Decided {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pending_reason: Option<String>,
    },
    /// `site.create`.
    SiteCreated,
    /// `site.rotate_key`, with the previous key's grace.
    KeyRotated { grace_secs: u64 },
    /// `invite.create`.
    InviteCreated,
    /// `invite.cancel`.
    InviteCancelled,
    /// `apikey.create`.
    ApiKeyCreated,
    /// `apikey.roll`, with the old secret's grace.
    ApiKeyRolled { grace_secs: u64 },
    /// `apikey.revoke`.
    ApiKeyRevoked,
    /// `tenant.create`.
    TenantCreated,
    /// `tenant.update`: the fields it changed, and the customer ids the record stopped
    /// naming (their claims to release).
    TenantUpdated {
        fields: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        released: Vec<ReleasedId>,
    },
    /// `tenant.set_status`: the status before (an archive's purge follows).
    TenantStatusChanged { from: crate::domain::TenantStatus },
    /// `tenant.set_product`: which product.
    TenantProductSet { product: crate::domain::ProductName },
    /// A trial's end, recorded by a healer (`tenant.trial_expired`).
    TenantTrialExpired,
    /// An archived tenant's state deleted (`tenant.purged`), with its counts.
    TenantPurged { counts: PurgeCounts },
    /// `credential.create`.
    CredentialCreated,
    /// `credential.rotate`.
    CredentialRotated,
    /// `credential.revoke`.
    CredentialRevoked,
    /// A healer's notice that the credential expires soon (`credential.expiring`).
    CredentialExpiring,
}

/// A customer id a tenant's record stopped naming, whose claim is released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleasedId {
    pub kind: crate::domain::ExternalIdKind,
    pub id: crate::domain::ExternalId,
}

/// What an archive's purge deleted, as `tenant.purged` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurgeCounts {
    pub users: usize,
    pub users_deleted: usize,
    pub machines: usize,
    pub sites: usize,
    pub roles: usize,
    pub invites: usize,
    pub credentials: usize,
}

/// Which assignment command changed a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignAction {
    /// `user.set_role`: replaced its tenant-scope assignment (or its site assignments).
    SetRole,
    /// `user.assign`.
    Assign,
    /// `user.unassign`.
    Unassign,
}

/// `roster_roles`, key = `<tenant>.<role key>` ([`RoleName::key`]): one role of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRecord {
    pub v: u32,
    pub tenant: Tenant,
    pub name: RoleName,
    pub builtin: bool,
    pub permissions: BTreeSet<Permission>,
    #[serde(default)]
    pub description: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// The admin change this record's latest write made (see [`ChangeNote`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<ChangeNote>,
}

impl RoleRecord {
    /// A record of `def` in `tenant`, created at `now`.
    pub fn new(tenant: &Tenant, def: RoleDef, now: &str) -> Self {
        RoleRecord {
            v: SCHEMA_V,
            tenant: tenant.clone(),
            name: def.name,
            builtin: def.builtin,
            permissions: def.permissions,
            description: def.description,
            created_at: now.to_owned(),
            updated_at: None,
            note: None,
        }
    }

    /// The role as the authorization rules see it.
    pub fn def(&self) -> RoleDef {
        RoleDef {
            name: self.name.clone(),
            builtin: self.builtin,
            permissions: self.permissions.clone(),
            description: self.description.clone(),
        }
    }
}

// Not indexed and never noted.
impl super::index::Record for KeyIndexRecord {}
impl super::index::Record for OwnersRecord {}
impl super::index::Record for NonceRecord {}
impl super::index::Record for UidIndexRecord {}
impl super::index::Record for CredentialIndexRecord {}
impl super::index::Record for EnrollFailuresRecord {}
impl super::index::Record for SecurityTallyRecord {}
impl super::index::Record for serde_json::Value {}

/// `roster_machine_uids`, key = `<tenant>.<sha256(machine_uid) hex>`: which machine owns a
/// uid in a tenant. Written with `create`; a second agent key with the same uid goes to
/// `pending` instead of taking it over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UidIndexRecord {
    pub v: u32,
    pub machine_id: crate::domain::MachineId,
    pub machine_uid: crate::domain::MachineUid,
    pub created_at: String,
}

/// `roster_credentials`, key = SHA-256 hex of a `cak_` credential: its machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialIndexRecord {
    pub v: u32,
    pub machine_id: crate::domain::MachineId,
    pub created_at: String,
}

/// `roster_enroll_failures`, key = [`super::SourceDigest`] of a source: its failed
/// enrollment-key checks within the throttle window, shared by every worker. Expires
/// with the bucket's `max_age` (the window), so a quiet source leaves nothing behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollFailuresRecord {
    pub v: u32,
    /// When each failure was recorded (Unix milliseconds), oldest first; only those
    /// inside the window, at most the failure limit.
    pub failures: Vec<i64>,
}

/// `roster_security_tallies`, key = [`super::TallyKey`]: one (action, code, source)'s
/// strangers' denials in one window, summed over every worker, until one worker
/// publishes it as the window's one security event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityTallyRecord {
    pub v: u32,
    /// The window's start, Unix seconds.
    pub window: i64,
    pub action: String,
    pub code: String,
    /// Where the denials came from (`unknown` when not known, `*` for a folded flood).
    pub source: String,
    pub count: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// The first denial's claimed actor and target (never a secret).
    pub actor: String,
    pub target_id: String,
    pub target_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Set by the one worker that publishes the event; later counts go to the next window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
}

/// `roster_tenants`, key = the tenant's slug (PROTOCOL §7). Never deleted: an archived
/// tenant's record stays, with status `archived`, so its slug is never reused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantRecord {
    pub v: u32,
    pub tenant: crate::domain::Tenant,
    pub name: String,
    pub status: crate::domain::TenantStatus,
    pub kind: crate::domain::TenantKind,
    pub plan: crate::domain::Plan,
    /// When a trial ends (RFC 3339): past it, a `trial` tenant acts as `frozen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_ends_at: Option<String>,
    /// When a worker recorded that the trial ended (`tenant.trial_expired`, once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_expired_at: Option<String>,
    /// When an archived tenant's state was deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purged_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_start: Option<crate::domain::Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_end: Option<crate::domain::Date>,
    /// Unique across tenants: held in `roster_tenant_claims`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erp_customer_id: Option<crate::domain::ExternalId>,
    /// Unique across tenants: held in `roster_tenant_claims`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_customer_id: Option<crate::domain::ExternalId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_owner: Option<String>,
    /// By product name, in name order.
    #[serde(default)]
    pub products: std::collections::BTreeMap<crate::domain::ProductName, ProductRecord>,
    pub created_at: String,
    /// A handle, or `system` (the `default` tenant).
    pub created_by: String,
    pub updated_at: String,
    /// The change this record's latest write made (see [`ChangeNote`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<ChangeNote>,
}

/// One product of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductRecord {
    pub enabled: bool,
    /// A JSON object of at most 4 KiB, opaque to roster.
    pub config: crate::domain::ProductConfig,
    /// When the product stops counting (RFC 3339); absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// `roster_tenant_claims`, key = [`super::ClaimKey`]: which tenant holds an external
/// customer id. Written with `create` (the first claim wins), released when the tenant's
/// id changes or the tenant is archived. A claim counts only while its tenant's record
/// names the id (see `Store::claim_external_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantClaimRecord {
    pub v: u32,
    pub kind: crate::domain::ExternalIdKind,
    pub value: crate::domain::ExternalId,
    pub tenant: crate::domain::Tenant,
    pub claimed_at: String,
}

// Not indexed: tenants are listed from their own bucket.
impl super::index::Record for TenantClaimRecord {}

/// `roster_apikeys`, key = `<tenant>.<key_id>`: one API key (PROTOCOL §9). It holds the
/// Argon2id PHC string of its secret, never the secret; during a roll's grace also the
/// previous secret's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRecord {
    pub v: u32,
    pub key_id: crate::domain::ApiKeyId,
    pub tenant: Tenant,
    pub name: crate::domain::ApiKeyName,
    pub scopes: BTreeSet<Permission>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<crate::domain::ProductName>,
    /// The key's first 12 characters (`rak_` and the start of its id).
    pub prefix: String,
    /// Argon2id PHC string of the current secret.
    pub phc: String,
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
    /// The secret a roll replaced, valid until its grace ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousSecret>,
    /// The admin change this record's latest write made (see [`ChangeNote`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<ChangeNote>,
}

/// A rolled-out API key secret and the end of its grace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousSecret {
    pub phc: String,
    pub until: String,
}

/// `roster_apikey_claims`: `id.<key_id>` (the key id is taken, and in which tenant) or
/// `name.<tenant>.<SHA-256 hex of the folded name>` (the name is taken in the tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyClaimRecord {
    pub v: u32,
    pub key_id: crate::domain::ApiKeyId,
    pub tenant: Tenant,
    pub claimed_at: String,
}
impl super::index::Record for ApiKeyClaimRecord {}

/// `roster_vault`, key = credential id: one credential of the vault (PROTOCOL §10). Its
/// value is held only encrypted under its holder's data key (`roster_vault_keys`), with
/// the credential id as associated data; the record never holds the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRecord {
    pub v: u32,
    pub credential_id: crate::domain::CredentialId,
    pub scope: crate::domain::CredentialScope,
    /// The owner's handle (user scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Handle>,
    /// The tenant (tenant scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    pub name: crate::domain::CredentialName,
    pub provider: crate::domain::ProviderName,
    #[serde(rename = "type")]
    pub kind: crate::domain::CredentialType,
    pub masked_value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    #[serde(default)]
    pub metadata: crate::domain::CredentialMetadata,
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    /// The value, encrypted under the holder's data key (XChaCha20-Poly1305, the
    /// credential id as associated data).
    pub value: crate::crypto::Boxed,
    /// When a worker published `credential.expiring` for the current `expires_at`
    /// (once: the worker whose mark lands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiring_notified_at: Option<String>,
    /// The change this revision made (create, rotate, revoke, the expiry notice, or a
    /// delete in progress), for a healer to finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<ChangeNote>,
}

impl CredentialRecord {
    /// True while an interrupted `credential.delete` is being finished: the credential
    /// counts as gone (no get, list, reveal, rotate or revoke shows it).
    pub fn deleting(&self) -> bool {
        matches!(
            self.note,
            Some(ChangeNote {
                change: Noted::Deleting,
                ..
            })
        )
    }

    /// Whose it is.
    pub fn holder(&self) -> Option<crate::domain::CredentialHolder> {
        use crate::domain::{CredentialHolder as H, CredentialScope as S};
        match self.scope {
            S::User => self.owner.clone().map(H::User),
            S::Tenant => self.tenant.clone().map(H::Tenant),
            S::System => Some(H::System),
        }
    }
}

/// `roster_vault_names`, key = [`super::VaultNameKey`]: which credential holds a
/// (provider, name) pair of a holder, case-insensitively. Written with `create` before
/// the credential (the first claim wins); deleted after it. A claim whose credential is
/// gone (a crash between the two writes) is taken over once older than a minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultNameRecord {
    pub v: u32,
    pub credential_id: crate::domain::CredentialId,
    pub claimed_at: String,
}

/// `roster_vault_keys`, key = the holder (`u.<handle>`, `t.<tenant>`, `system`): its data
/// key, wrapped by the key file's key-encryption key of `kek_version` (associated data
/// `roster-v1 data-key\n{label}\nv{kek_version}`). Deleting it makes the holder's values
/// undecryptable for good (a deleted user's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataKeyRecord {
    pub v: u32,
    /// `user/<handle>`, `tenant/<tenant>` or `system/system`.
    pub label: String,
    pub kek_version: u32,
    pub wrapped: crate::crypto::Boxed,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrapped_at: Option<String>,
}

// Not indexed and never noted.
impl super::index::Record for VaultNameRecord {}
impl super::index::Record for DataKeyRecord {}
