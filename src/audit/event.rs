//! Typed audit events: one variant per PROTOCOL §5 action, each knowing its action name,
//! its dedup key (so a retry publishes the same `Nats-Msg-Id`), its target, its tenant
//! and site, and its metadata. Handlers say what happened; the wire shape is built here.

use serde_json::{Map, Value};

use super::{Actor, AuditEvent, Outcome, Target};
use std::collections::BTreeSet;

use crate::authz::{AssignScope, Assignment, Permission};
use crate::domain::{Handle, InviteId, MachineId, Policy, SignKey, SiteCode, SiteRef};
use crate::domain::{ProductName, Tenant, TenantStatus};
use crate::store::records::{
    ApiKeyRecord, AssignAction, CredentialRecord, MachineRecord, RoleRecord, TenantRecord,
};

/// What happened to a vault credential (PROTOCOL §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialAction {
    Created,
    /// A reveal (every one is an event).
    Accessed,
    Rotated,
    Revoked,
    Deleted,
    /// Its `expires_at` is near (once per credential and expiry).
    Expiring,
}

/// What a machine's enrollment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrolled {
    /// A new machine, active at once.
    New,
    /// A new machine waiting for an operator (`pending_reason` says why).
    Pending,
    /// A known machine enrolled again (a fresh credential).
    Again,
}

impl Enrolled {
    /// How machine `m` enrolled: again (`again`: it had enrolled before), pending, or new.
    pub fn of(again: bool, m: &MachineRecord) -> Self {
        if again {
            Enrolled::Again
        } else if m.state == crate::store::records::MachineState::Pending {
            Enrolled::Pending
        } else {
            Enrolled::New
        }
    }
}

/// Which live connections an eviction closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evicted<'a> {
    /// A user's connections.
    User(&'a Handle),
    /// A machine's connections (agent key and credential).
    Machine(&'a MachineId),
    /// A machine's connections by a credential that was replaced.
    MachineCredential(&'a MachineId),
    /// An API key's connections (revoked, its tenant archived).
    ApiKey(&'a crate::domain::ApiKeyId),
}

/// One state change, or one refused request of a roster identity.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// `invite.created`.
    InviteCreated {
        invite_id: &'a InviteId,
        handle: &'a Handle,
        assignment: &'a Assignment,
        expires_at: &'a str,
        /// The signed request's key (`None`: minted by `roster bootstrap`).
        request: Option<String>,
    },
    /// `invite.cancelled`.
    InviteCancelled {
        invite_id: &'a InviteId,
        revision: u64,
        handle: &'a Handle,
    },
    /// `user.registered`, once per invite.
    UserRegistered {
        handle: &'a Handle,
        invite_id: &'a InviteId,
        assignment: &'a Assignment,
        sign_pub: &'a SignKey,
    },
    /// `user.role_changed` (`set_role`), `user.assigned`, `user.unassigned`.
    UserAssignments {
        handle: &'a Handle,
        revision: u64,
        action: AssignAction,
        /// The assignment set, added or removed.
        assignment: &'a Assignment,
        before: &'a [Assignment],
        after: &'a [Assignment],
        request: String,
    },
    /// `role.created`.
    RoleCreated { role: &'a RoleRecord, revision: u64 },
    /// `role.updated`.
    RoleUpdated {
        role: &'a RoleRecord,
        revision: u64,
        before: &'a BTreeSet<Permission>,
    },
    /// `role.deleted`.
    RoleDeleted { role: &'a RoleRecord, revision: u64 },
    /// `apikey.created`.
    ApikeyCreated {
        key: &'a ApiKeyRecord,
        revision: u64,
    },
    /// `apikey.rolled`, with the old secret's grace.
    ApikeyRolled {
        key: &'a ApiKeyRecord,
        revision: u64,
        grace_secs: u64,
    },
    /// `apikey.revoked`.
    ApikeyRevoked {
        key: &'a ApiKeyRecord,
        revision: u64,
    },
    /// `user.revoked`.
    UserRevoked {
        handle: &'a Handle,
        revision: u64,
        by_self: bool,
        reason: Option<&'a str>,
    },
    /// `user.deleted`.
    UserDeleted {
        handle: &'a Handle,
        revision: u64,
        assignments: &'a [Assignment],
        sign_pub: &'a SignKey,
        request: String,
    },
    /// `user.evicted`, `machine.evicted`, `machine.credential_evicted`: live
    /// connections closed after a loss of permission (PROTOCOL §6).
    Evicted {
        who: Evicted<'a>,
        revision: u64,
        connections: usize,
    },
    /// `site.created`.
    SiteCreated {
        site: &'a SiteRef,
        revision: u64,
        policy: Policy,
        fingerprint: &'a str,
    },
    /// `site.key_rotated`.
    SiteKeyRotated {
        site: &'a SiteRef,
        revision: u64,
        version: u32,
        fingerprint: &'a str,
        grace_secs: u64,
    },
    /// `machine.enrolled`, `machine.pending`, `machine.reenrolled`.
    MachineEnrolled {
        machine: &'a MachineRecord,
        revision: u64,
        how: Enrolled,
    },
    /// `machine.site_moved`: a re-enroll at another site of the tenant.
    MachineSiteMoved {
        machine: &'a MachineRecord,
        revision: u64,
        from: &'a SiteCode,
    },
    /// `machine.approved` or `machine.rejected`.
    MachineDecided {
        machine: &'a MachineRecord,
        revision: u64,
        approved: bool,
        /// Why it was pending before the decision.
        pending_reason: Option<&'a str>,
    },
    /// `machine.revoked`.
    MachineRevoked {
        machine: &'a MachineRecord,
        revision: u64,
        by_self: bool,
        reason: Option<&'a str>,
    },
    /// `tenant.created` (slugs are never reused, so once per tenant).
    TenantCreated {
        tenant: &'a TenantRecord,
        revision: u64,
    },
    /// `tenant.updated`: `fields` are those whose values changed, in record order.
    TenantUpdated {
        tenant: &'a TenantRecord,
        revision: u64,
        fields: &'a [String],
    },
    /// `tenant.status_changed`.
    TenantStatusChanged {
        tenant: &'a Tenant,
        revision: u64,
        from: TenantStatus,
        to: TenantStatus,
    },
    /// `tenant.product_set`: never the configuration itself, only its size.
    TenantProductSet {
        tenant: &'a Tenant,
        revision: u64,
        product: &'a ProductName,
        enabled: bool,
        expires_at: Option<&'a str>,
        config_bytes: usize,
    },
    /// `tenant.trial_expired`, once per end of a trial.
    TenantTrialExpired {
        tenant: &'a Tenant,
        trial_ends_at: &'a str,
    },
    /// `tenant.purged`: an archived tenant's state deleted (PROTOCOL §7).
    TenantPurged {
        tenant: &'a Tenant,
        users: usize,
        users_deleted: usize,
        machines: usize,
        sites: usize,
        roles: usize,
        invites: usize,
        credentials: usize,
    },
    /// `credential.created`, `.accessed`, `.rotated`, `.revoked`, `.deleted`,
    /// `.expiring`: never the value, never a key.
    Credential {
        action: CredentialAction,
        credential: &'a CredentialRecord,
        revision: u64,
    },
    /// `credential.rewrapped`: every data key wrapped under KEK `kek_version`.
    CredentialsRewrapped {
        kek_version: u32,
        data_keys: usize,
        rewrapped: usize,
        at: &'a str,
    },
    /// A refused request of an active user (`action` is the command's, `denied`), in
    /// the tenant it named (else its signer's, see `handlers::respond::denied_tenant`).
    Denied {
        action: &'a str,
        command: &'a str,
        request: String,
        code: &'a str,
        source: Option<String>,
        tenant: Option<Tenant>,
    },
    /// A refused enrollment of a known (rejected or revoked) machine.
    EnrollDenied {
        request: String,
        code: &'a str,
        machine_uid: &'a str,
        site: &'a SiteRef,
        source: Option<String>,
    },
}

impl Event<'_> {
    /// The PROTOCOL §5 action (the subject below `P.audit.`).
    pub fn action(&self) -> &str {
        match self {
            Event::InviteCreated { .. } => "invite.created",
            Event::InviteCancelled { .. } => "invite.cancelled",
            Event::UserRegistered { .. } => "user.registered",
            Event::UserAssignments { action, .. } => match action {
                AssignAction::SetRole => "user.role_changed",
                AssignAction::Assign => "user.assigned",
                AssignAction::Unassign => "user.unassigned",
            },
            Event::RoleCreated { .. } => "role.created",
            Event::RoleUpdated { .. } => "role.updated",
            Event::RoleDeleted { .. } => "role.deleted",
            Event::ApikeyCreated { .. } => "apikey.created",
            Event::ApikeyRolled { .. } => "apikey.rolled",
            Event::ApikeyRevoked { .. } => "apikey.revoked",
            Event::UserRevoked { .. } => "user.revoked",
            Event::UserDeleted { .. } => "user.deleted",
            Event::Evicted { who, .. } => match who {
                Evicted::User(_) => "user.evicted",
                Evicted::Machine(_) => "machine.evicted",
                Evicted::MachineCredential(_) => "machine.credential_evicted",
                Evicted::ApiKey(_) => "apikey.evicted",
            },
            Event::SiteCreated { .. } => "site.created",
            Event::SiteKeyRotated { .. } => "site.key_rotated",
            Event::MachineEnrolled { how, .. } => match how {
                Enrolled::New => "machine.enrolled",
                Enrolled::Pending => "machine.pending",
                Enrolled::Again => "machine.reenrolled",
            },
            Event::MachineSiteMoved { .. } => "machine.site_moved",
            Event::MachineDecided { approved: true, .. } => "machine.approved",
            Event::MachineDecided {
                approved: false, ..
            } => "machine.rejected",
            Event::MachineRevoked { .. } => "machine.revoked",
            Event::TenantCreated { .. } => "tenant.created",
            Event::TenantUpdated { .. } => "tenant.updated",
            Event::TenantStatusChanged { .. } => "tenant.status_changed",
            Event::TenantProductSet { .. } => "tenant.product_set",
            Event::TenantTrialExpired { .. } => "tenant.trial_expired",
            Event::TenantPurged { .. } => "tenant.purged",
            Event::Credential { action, .. } => match action {
                CredentialAction::Created => "credential.created",
                CredentialAction::Accessed => "credential.accessed",
                CredentialAction::Rotated => "credential.rotated",
                CredentialAction::Revoked => "credential.revoked",
                CredentialAction::Deleted => "credential.deleted",
                CredentialAction::Expiring => "credential.expiring",
            },
            Event::CredentialsRewrapped { .. } => "credential.rewrapped",
            Event::Denied { action, .. } => action,
            Event::EnrollDenied { .. } => "machine.enroll",
        }
    }

    /// Names the change (or the refused request): a retry of the same change gives the
    /// same key, so the same event id and `Nats-Msg-Id`, and the stream keeps one copy.
    pub fn dedup_key(&self) -> String {
        let action = self.action();
        match self {
            Event::InviteCreated { invite_id, .. } => format!("{action}/{invite_id}"),
            Event::UserRegistered { invite_id, .. } => format!("{action}/{invite_id}"),
            Event::InviteCancelled {
                invite_id,
                revision,
                ..
            } => format!("{action}/{invite_id}/{revision}"),
            Event::UserAssignments {
                handle, revision, ..
            }
            | Event::UserRevoked {
                handle, revision, ..
            }
            | Event::UserDeleted {
                handle, revision, ..
            } => format!("{action}/{handle}/{revision}"),
            Event::Evicted { revision, .. } => {
                format!("{action}/{}/{revision}", self.target().id)
            }
            Event::ApikeyCreated { key, revision }
            | Event::ApikeyRolled { key, revision, .. }
            | Event::ApikeyRevoked { key, revision } => {
                format!("{action}/{}/{revision}", key.key_id)
            }
            Event::RoleCreated { role, revision }
            | Event::RoleUpdated { role, revision, .. }
            | Event::RoleDeleted { role, revision } => format!(
                "{action}/{}.{}/{revision}",
                role.tenant.as_str(),
                role.name.key()
            ),
            Event::SiteCreated { site, revision, .. }
            | Event::SiteKeyRotated { site, revision, .. } => format!(
                "{action}/{}.{}/{revision}",
                site.tenant.as_str(),
                site.site.as_str()
            ),
            Event::MachineEnrolled {
                machine, revision, ..
            }
            | Event::MachineSiteMoved {
                machine, revision, ..
            }
            | Event::MachineDecided {
                machine, revision, ..
            }
            | Event::MachineRevoked {
                machine, revision, ..
            } => format!("{action}/{}/{revision}", machine.machine_id),
            Event::TenantCreated { tenant, .. } => format!("{action}/{}", tenant.tenant),
            Event::TenantPurged { tenant, .. } => format!("{action}/{tenant}"),
            Event::TenantTrialExpired {
                tenant,
                trial_ends_at,
            } => format!("{action}/{tenant}/{trial_ends_at}"),
            Event::TenantUpdated { revision, .. }
            | Event::TenantStatusChanged { revision, .. }
            | Event::TenantProductSet { revision, .. } => {
                format!("{action}/{}/{revision}", self.target().id)
            }
            // Every write of a credential has its own revision; an expiry notice is
            // once per expiry.
            Event::Credential {
                action: CredentialAction::Expiring,
                credential,
                ..
            } => format!(
                "{action}/{}/{}",
                credential.credential_id,
                credential.expires_at.as_deref().unwrap_or("")
            ),
            Event::Credential {
                credential,
                revision,
                ..
            } => format!("{action}/{}/{revision}", credential.credential_id),
            Event::CredentialsRewrapped {
                kek_version, at, ..
            } => {
                format!("{action}/v{kek_version}/{at}")
            }
            Event::Denied {
                command, request, ..
            } => format!("denied/{command}/{request}"),
            Event::EnrollDenied { request, .. } => format!("denied/enroll/{request}"),
        }
    }

    /// What was acted on.
    pub fn target(&self) -> Target {
        match self {
            Event::InviteCreated { invite_id, .. } | Event::InviteCancelled { invite_id, .. } => {
                Target::new("invite", invite_id.as_str())
            }
            Event::UserRegistered { handle, .. }
            | Event::UserAssignments { handle, .. }
            | Event::UserRevoked { handle, .. }
            | Event::UserDeleted { handle, .. }
            | Event::Evicted {
                who: Evicted::User(handle),
                ..
            } => Target::new("user", handle.as_str()),
            Event::Evicted {
                who: Evicted::Machine(id) | Evicted::MachineCredential(id),
                ..
            } => Target::new("machine", id.as_str()),
            Event::Evicted {
                who: Evicted::ApiKey(id),
                ..
            } => Target::new("apikey", id.as_str()),
            Event::SiteCreated { site, .. }
            | Event::SiteKeyRotated { site, .. }
            | Event::EnrollDenied { site, .. } => Target::new("site", site.to_string()),
            Event::MachineEnrolled { machine, .. }
            | Event::MachineSiteMoved { machine, .. }
            | Event::MachineDecided { machine, .. }
            | Event::MachineRevoked { machine, .. } => {
                Target::new("machine", machine.machine_id.as_str())
            }
            Event::ApikeyCreated { key, .. }
            | Event::ApikeyRolled { key, .. }
            | Event::ApikeyRevoked { key, .. } => Target {
                id: key.key_id.to_string(),
                kind: "apikey".into(),
                name: Some(key.name.to_string()),
            },
            Event::RoleCreated { role, .. }
            | Event::RoleUpdated { role, .. }
            | Event::RoleDeleted { role, .. } => Target::new(
                "role",
                format!("{}/{}", role.tenant.as_str(), role.name.as_str()),
            ),
            Event::TenantCreated { tenant, .. } | Event::TenantUpdated { tenant, .. } => {
                Target::new("tenant", tenant.tenant.as_str())
            }
            Event::TenantStatusChanged { tenant, .. }
            | Event::TenantProductSet { tenant, .. }
            | Event::TenantTrialExpired { tenant, .. }
            | Event::TenantPurged { tenant, .. } => Target::new("tenant", tenant.as_str()),
            Event::Credential { credential, .. } => {
                Target::new("credential", credential.credential_id.as_str()).named(&format!(
                    "{}/{}",
                    credential.provider.as_str(),
                    credential.name.as_str()
                ))
            }
            Event::CredentialsRewrapped { .. } => Target::new("vault", "data_keys"),
            Event::Denied { command, .. } => Target::new("endpoint", *command),
        }
    }

    /// The tenant the change happened in, when it has one (its site's, its role's, its
    /// assignment's).
    pub fn tenant(&self) -> Option<Tenant> {
        if let Some(p) = self.place() {
            return Some(p.tenant);
        }
        match self {
            Event::InviteCreated { assignment, .. }
            | Event::UserRegistered { assignment, .. }
            | Event::UserAssignments { assignment, .. } => assignment.scope().tenant().cloned(),
            Event::RoleCreated { role, .. }
            | Event::RoleUpdated { role, .. }
            | Event::RoleDeleted { role, .. } => Some(role.tenant.clone()),
            Event::ApikeyCreated { key, .. }
            | Event::ApikeyRolled { key, .. }
            | Event::ApikeyRevoked { key, .. } => Some(key.tenant.clone()),
            Event::TenantCreated { tenant, .. } | Event::TenantUpdated { tenant, .. } => {
                Some(tenant.tenant.clone())
            }
            Event::TenantStatusChanged { tenant, .. }
            | Event::TenantProductSet { tenant, .. }
            | Event::TenantTrialExpired { tenant, .. }
            | Event::TenantPurged { tenant, .. } => Some((*tenant).clone()),
            Event::Credential { credential, .. } => credential.tenant.clone(),
            Event::Denied { tenant, .. } => tenant.clone(),
            _ => None,
        }
    }

    /// The tenant and site the change happened in, when it has one.
    pub fn place(&self) -> Option<SiteRef> {
        match self {
            Event::SiteCreated { site, .. }
            | Event::SiteKeyRotated { site, .. }
            | Event::EnrollDenied { site, .. } => Some((*site).clone()),
            Event::MachineEnrolled { machine, .. }
            | Event::MachineSiteMoved { machine, .. }
            | Event::MachineDecided { machine, .. }
            | Event::MachineRevoked { machine, .. } => {
                Some(SiteRef::new(&machine.tenant, &machine.site))
            }
            _ => None,
        }
    }

    fn outcome(&self) -> Outcome {
        match self {
            Event::Denied { .. } | Event::EnrollDenied { .. } => Outcome::Denied,
            _ => Outcome::Ok,
        }
    }

    fn source(&self) -> Option<String> {
        match self {
            Event::Denied { source, .. } | Event::EnrollDenied { source, .. } => source.clone(),
            _ => None,
        }
    }

    /// The event's metadata (never a secret).
    pub fn metadata(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_owned(), v);
        };
        match self {
            Event::InviteCreated {
                handle,
                assignment,
                expires_at,
                request,
                ..
            } => {
                put("handle", handle.as_str().into());
                put_assignment(assignment, &mut put);
                put("expires_at", (*expires_at).into());
                match request {
                    Some(r) => put("request", r.as_str().into()),
                    None => put("bootstrap", true.into()),
                }
            }
            Event::InviteCancelled { handle, .. } => put("handle", handle.as_str().into()),
            Event::UserRegistered {
                invite_id,
                assignment,
                sign_pub,
                ..
            } => {
                put("invite_id", invite_id.as_str().into());
                put_assignment(assignment, &mut put);
                put("sign_pub", sign_pub.to_hex().into());
            }
            Event::UserAssignments {
                assignment,
                before,
                after,
                request,
                ..
            } => {
                put_assignment(assignment, &mut put);
                put("before", serde_json::to_value(before).unwrap_or_default());
                put("after", serde_json::to_value(after).unwrap_or_default());
                put("request", request.as_str().into());
            }
            Event::RoleCreated { role, .. } | Event::RoleDeleted { role, .. } => {
                put("builtin", role.builtin.into());
                put(
                    "permissions",
                    serde_json::to_value(&role.permissions).unwrap_or_default(),
                );
            }
            Event::RoleUpdated { role, before, .. } => {
                put("builtin", role.builtin.into());
                put("before", serde_json::to_value(before).unwrap_or_default());
                put(
                    "after",
                    serde_json::to_value(&role.permissions).unwrap_or_default(),
                );
            }
            Event::UserRevoked {
                by_self, reason, ..
            } => {
                put("self", (*by_self).into());
                if let Some(r) = reason {
                    put("reason", (*r).into());
                }
            }
            Event::UserDeleted {
                assignments,
                sign_pub,
                request,
                ..
            } => {
                put(
                    "assignments",
                    serde_json::to_value(assignments).unwrap_or_default(),
                );
                put("sign_pub", sign_pub.to_hex().into());
                put("request", request.as_str().into());
            }
            Event::Evicted { connections, .. } => put("connections", (*connections).into()),
            Event::SiteCreated {
                policy,
                fingerprint,
                ..
            } => {
                put("policy", serde_json::to_value(policy).unwrap_or_default());
                put("fingerprint", (*fingerprint).into());
            }
            Event::SiteKeyRotated {
                version,
                fingerprint,
                grace_secs,
                ..
            } => {
                put("version", (*version).into());
                put("fingerprint", (*fingerprint).into());
                put("grace_secs", (*grace_secs).into());
            }
            Event::MachineEnrolled { machine, .. } => machine_state(machine, &mut put),
            Event::MachineSiteMoved { machine, from, .. } => {
                machine_state(machine, &mut put);
                put("from_site", from.as_str().into());
                put("to_site", machine.site.as_str().into());
            }
            Event::MachineDecided {
                machine,
                pending_reason,
                ..
            } => {
                put("machine_uid", machine.machine_uid.as_str().into());
                if let Some(r) = pending_reason {
                    put("pending_reason", (*r).into());
                }
            }
            Event::MachineRevoked {
                machine,
                by_self,
                reason,
                ..
            } => {
                put("self", (*by_self).into());
                put("machine_uid", machine.machine_uid.as_str().into());
                if let Some(r) = reason {
                    put("reason", (*r).into());
                }
            }
            Event::TenantCreated { tenant, .. } => {
                for field in TENANT_FIELDS {
                    if let Some(v) = tenant_field(tenant, field) {
                        put(field, v);
                    }
                }
                put("status", tenant.status.as_str().into());
            }
            Event::TenantUpdated { tenant, fields, .. } => {
                let names: Vec<Value> = fields.iter().map(|f| f.as_str().into()).collect();
                put("fields", names.into());
                let values: Map<String, Value> = fields
                    .iter()
                    .map(|f| (f.clone(), tenant_field(tenant, f).unwrap_or(Value::Null)))
                    .collect();
                put("values", values.into());
            }
            Event::ApikeyCreated { key, .. }
            | Event::ApikeyRolled { key, .. }
            | Event::ApikeyRevoked { key, .. } => {
                put("prefix", key.prefix.as_str().into());
                put(
                    "scopes",
                    key.scopes.iter().map(|p| Value::from(p.key())).collect(),
                );
                if let Some(p) = &key.product {
                    put("product", p.as_str().into());
                }
                if let Some(at) = &key.expires_at {
                    put("expires_at", at.as_str().into());
                }
                if let Self::ApikeyRolled { grace_secs, .. } = self {
                    put("grace_secs", (*grace_secs).into());
                }
            }
            Event::TenantStatusChanged { from, to, .. } => {
                put("from", from.as_str().into());
                put("to", to.as_str().into());
            }
            Event::TenantProductSet {
                product,
                enabled,
                expires_at,
                config_bytes,
                ..
            } => {
                put("product", product.as_str().into());
                put("enabled", (*enabled).into());
                if let Some(at) = expires_at {
                    put("expires_at", (*at).into());
                }
                put("config_bytes", (*config_bytes).into());
            }
            Event::TenantTrialExpired { trial_ends_at, .. } => {
                put("trial_ends_at", (*trial_ends_at).into());
            }
            Event::TenantPurged {
                users,
                users_deleted,
                machines,
                sites,
                roles,
                invites,
                credentials,
                ..
            } => {
                put("users", (*users).into());
                put("users_deleted", (*users_deleted).into());
                put("machines", (*machines).into());
                put("sites", (*sites).into());
                put("roles", (*roles).into());
                put("invites", (*invites).into());
                put("credentials", (*credentials).into());
            }
            Event::Credential { credential: c, .. } => {
                put("scope", c.scope.as_str().into());
                if let Some(o) = &c.owner {
                    put("owner", o.as_str().into());
                }
                put("provider", c.provider.as_str().into());
                put("name", c.name.as_str().into());
                put("type", c.kind.as_str().into());
                put("active", c.active.into());
                if let Some(at) = &c.expires_at {
                    put("expires_at", at.as_str().into());
                }
            }
            Event::CredentialsRewrapped {
                kek_version,
                data_keys,
                rewrapped,
                ..
            } => {
                put("kek_version", (*kek_version).into());
                put("data_keys", (*data_keys).into());
                put("rewrapped", (*rewrapped).into());
            }
            Event::Denied { code, .. } => put("code", (*code).into()),
            Event::EnrollDenied {
                code, machine_uid, ..
            } => {
                put("code", (*code).into());
                put("machine_uid", (*machine_uid).into());
            }
        }
        m
    }

    /// The wire shape of this event, by `actor`.
    pub fn into_audit_event(self, actor: Actor) -> AuditEvent {
        let mut ev = AuditEvent::new(
            &self.dedup_key(),
            self.action(),
            self.outcome(),
            actor,
            self.target(),
        );
        if let Some(place) = self.place() {
            ev.site = Some(place.site.as_str().to_owned());
        }
        ev.tenant = self.tenant().map(|t| t.as_str().to_owned());
        ev.source = self.source();
        ev.metadata = self.metadata();
        ev
    }
}

/// An assignment's role, tenant and site (or `scope: platform`) as metadata.
fn put_assignment(a: &Assignment, put: &mut impl FnMut(&str, Value)) {
    put("role", a.role().as_str().into());
    match a.scope() {
        AssignScope::Platform => put("scope", "platform".into()),
        AssignScope::Tenant(t) => put("assigned_tenant", t.as_str().into()),
        AssignScope::Site(s) => {
            put("assigned_tenant", s.tenant.as_str().into());
            put("assigned_site", s.site.as_str().into());
        }
    }
}

/// What every enrollment event says about the machine.
fn machine_state(m: &MachineRecord, put: &mut impl FnMut(&str, Value)) {
    put("machine_uid", m.machine_uid.as_str().into());
    put("state", m.state.as_str().into());
    put("key_version", m.key_version.into());
    put("agent_pub", m.agent_pub.to_hex().into());
    if let Some(r) = &m.pending_reason {
        put("pending_reason", r.as_str().into());
    }
}

/// The tenant fields events show (all but `products`, shown by name, and the times).
const TENANT_FIELDS: [&str; 10] = [
    "name",
    "kind",
    "plan",
    "trial_ends_at",
    "contract_start",
    "contract_end",
    "erp_customer_id",
    "stripe_customer_id",
    "sales_owner",
    "products",
];

/// A tenant field's value as an event shows it: products by name only (a configuration
/// is the tenant's business, and may hold anything); `None` when absent.
fn tenant_field(t: &TenantRecord, field: &str) -> Option<Value> {
    let text = |s: &str| Some(Value::from(s));
    match field {
        "name" => text(&t.name),
        "kind" => text(t.kind.as_str()),
        "plan" => text(t.plan.as_str()),
        "trial_ends_at" => t.trial_ends_at.as_deref().and_then(text),
        "contract_start" => t.contract_start.map(|d| d.to_text().into()),
        "contract_end" => t.contract_end.map(|d| d.to_text().into()),
        "erp_customer_id" => t.erp_customer_id.as_ref().and_then(|i| text(i.as_str())),
        "stripe_customer_id" => t.stripe_customer_id.as_ref().and_then(|i| text(i.as_str())),
        "sales_owner" => t.sales_owner.as_deref().and_then(text),
        "products" => Some(
            t.products
                .keys()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .into(),
        ),
        _ => None,
    }
}
