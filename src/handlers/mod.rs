//! Request handling: the signed-request check (PROTOCOL §3), the authorization of admin
//! commands, dispatch to one handler per endpoint, and the responder that turns a result
//! into a reply and a refusal into an error envelope plus an audit event.

mod apikey_create;
mod apikey_get;
mod apikey_list;
mod apikey_revoke;
mod apikey_roll;
mod apikey_verify;
mod audit_query;
mod common;
mod credential_create;
mod credential_delete;
mod credential_get;
mod credential_list;
mod credential_reveal;
mod credential_revoke;
mod credential_rewrap;
mod credential_rotate;
mod credentials;
mod enroll;
mod invite_cancel;
mod invite_create;
mod invite_get;
mod invite_list;
mod machine_approve;
mod machine_get;
mod machine_list;
mod machine_reject;
mod register;
mod respond;
mod revoke;
mod role_catalog;
mod role_create;
mod role_delete;
mod role_get;
mod role_list;
mod role_update;
mod signed;
mod site_create;
mod site_get;
mod site_list;
mod site_rotate_key;
mod tenant_claims;
mod tenant_create;
mod tenant_get;
mod tenant_list;
mod tenant_set_product;
mod tenant_set_status;
mod tenant_update;
mod user_assign;
mod user_delete;
mod user_get;
mod user_list;
mod user_set_role;
mod user_unassign;
mod whoami;

pub use invite_create::mint as mint_invite;
pub use respond::{error_reply, handle, Handled};
pub use signed::{verify_signed, Signed};

pub(crate) use apikey_verify::{check as check_apikey, KeyCheck};
pub(crate) use common::{evict, evict_before, kick_user, list_page, Publish, Seen};
pub(crate) use enroll::moved_from;
pub(crate) use register::finish as finish_register;

/// Each admin flow's finishing steps, from the note its write left (`store::records::
/// ChangeNote`): what the handler runs after its write, and what a healer runs when
/// the handler's worker died before it did.
pub(crate) mod finish {
    pub(crate) use super::apikey_create::finish as apikey_created;
    pub(crate) use super::apikey_revoke::finish as apikey_revoked;
    pub(crate) use super::apikey_roll::finish as apikey_rolled;
    pub(crate) use super::credential_delete::finish as credential_deleted;
    pub(crate) use super::credentials::finish as credential_changed;
    pub(crate) use super::invite_cancel::finish as invite_cancelled;
    pub(crate) use super::invite_create::finish as invite_created;
    pub(crate) use super::machine_reject::finish as machine_decided;
    pub(crate) use super::role_create::finish as role_created;
    pub(crate) use super::role_delete::finish as role_deleted;
    pub(crate) use super::role_update::finish as role_updated;
    pub(crate) use super::site_create::finish as site_created;
    pub(crate) use super::site_rotate_key::finish as site_key_rotated;
    pub(crate) use super::tenant_create::finish as tenant_created;
    pub(crate) use super::tenant_set_product::finish as tenant_product_set;
    pub(crate) use super::tenant_set_status::finish as tenant_status_changed;
    pub(crate) use super::tenant_set_status::purge as tenant_purge;
    pub(crate) use super::tenant_set_status::purged_finish as tenant_purged;
    pub(crate) use super::tenant_set_status::trial_expired_finish as tenant_trial_expired;
    pub(crate) use super::tenant_update::finish as tenant_updated;
    pub(crate) use super::user_delete::finish as user_deleted;
    pub(crate) use super::user_set_role::finish as user_role_changed;
}
use respond::{identity, stranger, unproven, At, Refusal, Requester};
use signed::header;

use async_nats::HeaderMap;
use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

use crate::audit::{Actor, Auditor, Event, Target};
use crate::authz::{self, Grants, Permission};
use crate::crypto;
use crate::domain::{Nonce, SignKey, SiteCode, Tenant};
use crate::store::records::{UserRecord, UserStatus};
use crate::store::{Store, StoreError, Versioned};
use crate::wire::request::{decode, AdminRequest};
use crate::wire::{self, ApiError, ErrorCode, ErrorEnvelope};

pub use crate::config::HandlerConfig;

/// What every handler may use.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub store: Store,
    pub audit: Auditor,
    pub cfg: HandlerConfig,
    pub keys: std::sync::Arc<crate::keyring::KeyVerifier>,
    /// Closes revoked identities' connections; `None` without a system-account connection.
    pub evictor: Option<crate::bus::Evictor>,
    /// Where handlers read the time (adjustable in tests).
    pub clock: crate::time_util::Clock,
    /// The worker's metrics (requests, the callout, evictions).
    pub metrics: crate::metrics::Metrics,
    /// The tenants as this worker sees them, kept by a KV watch (`store::TenantView`).
    pub tenants: crate::store::TenantView,
    /// The API keys as this worker sees them, by key id, kept by a KV watch.
    pub apikeys: crate::store::BucketView<crate::store::records::ApiKeyRecord>,
    /// The credential vault's keys (`--vault-key-file`); `None`: the `credential.*`
    /// commands answer `unavailable`.
    pub vault: Option<std::sync::Arc<crate::vault::Vault>>,
}

pub use crate::wire::Endpoint;

/// Who acts for an admin command, and what it is granted where (PROTOCOL §8), computed
/// once per request: an active user (a signed request), or an API key (§9).
#[derive(Debug, Clone)]
pub struct Admin {
    pub who: Principal,
    pub grants: Grants,
    /// The request's name, stable across an exact re-send (a change note's `request`).
    pub request: String,
}

/// The identity behind an admin command.
#[derive(Debug, Clone)]
pub enum Principal {
    /// An active user who signed the request (boxed: the record is large).
    User(Box<Versioned<UserRecord>>),
    /// An API key presented as `Roster-Api-Key`: it acts with its scopes in its tenant.
    ApiKey(ApiKeyPrincipal),
}

/// An API key acting (PROTOCOL §9).
#[derive(Debug, Clone)]
pub struct ApiKeyPrincipal {
    pub key_id: String,
    pub tenant: Tenant,
    /// `apikey:<key_id>`: how records name it (`created_by`, `decided_by`); no handle
    /// has a `:`.
    pub label: String,
}

impl Admin {
    /// The acting user's record; `None` when an API key acts.
    pub fn user(&self) -> Option<&Versioned<UserRecord>> {
        match &self.who {
            Principal::User(u) => Some(u),
            Principal::ApiKey(_) => None,
        }
    }

    /// Where a command that names no tenant acts: the user's home tenant (the one its
    /// invite named), or the API key's tenant.
    pub fn home_tenant(&self) -> Tenant {
        match &self.who {
            Principal::User(u) => u.value.tenant.clone(),
            Principal::ApiKey(k) => k.tenant.clone(),
        }
    }

    /// The acting identity's name: a handle, or `apikey:<key_id>`.
    pub fn name(&self) -> &str {
        match &self.who {
            Principal::User(u) => u.value.handle.as_str(),
            Principal::ApiKey(k) => &k.label,
        }
    }

    fn forbidden(&self, perm: Permission, place: &str) -> ApiError {
        ApiError::new(
            ErrorCode::Forbidden,
            format!("{} may not use {} {place}", self.name(), perm.key()),
        )
    }

    /// Checks that this admin holds `perm` in `tenant`, at `site` (`None`: at tenant
    /// level).
    pub fn require(
        &self,
        perm: Permission,
        tenant: &Tenant,
        site: Option<&SiteCode>,
    ) -> Result<(), ApiError> {
        if self.grants.allows(perm, tenant, site) {
            return Ok(());
        }
        Err(match site {
            Some(s) => self.forbidden(perm, &format!("at site {}/{}", tenant.as_str(), s.as_str())),
            None => self.forbidden(perm, &format!("in tenant {}", tenant.as_str())),
        })
    }

    /// Checks that this admin holds `perm` at platform scope.
    pub fn require_platform(&self, perm: Permission) -> Result<(), ApiError> {
        if self.grants.allows_platform(perm) {
            Ok(())
        } else {
            Err(self.forbidden(perm, "at platform scope"))
        }
    }

    /// True when this admin may see records of `tenant`'s site `site` with `perm`
    /// (lists filter on it; a `get` of anything else is `not_found`).
    pub fn sees(&self, perm: Permission, tenant: &Tenant, site: Option<&SiteCode>) -> bool {
        match site {
            Some(s) => self.grants.visible_sites(perm, tenant).allows(s),
            None => self.grants.allows(perm, tenant, None),
        }
    }

    /// True when this admin may see with `perm` what is placed at `scope`: a platform
    /// thing at platform scope only; a tenant-wide thing wherever it reaches any site of
    /// the tenant; a site's thing at that site.
    pub fn sees_scope(&self, perm: Permission, scope: &authz::AssignScope) -> bool {
        match scope {
            authz::AssignScope::Platform => self.grants.allows_platform(perm),
            authz::AssignScope::Tenant(t) => {
                self.grants.visible_sites(perm, t) != authz::Visibility::None
            }
            authz::AssignScope::Site(s) => self.sees(perm, &s.tenant, Some(&s.site)),
        }
    }

    /// True when this admin may see user `u` with `perm`: through any of its
    /// assignments (a user holding none is the platform's to see).
    pub fn sees_user(&self, perm: Permission, u: &UserRecord) -> bool {
        self.grants.allows_platform(perm)
            || u.assignments
                .iter()
                .any(|a| self.sees_scope(perm, a.scope()))
    }

    /// Checks that this admin may change user `target` with `perm` (revoke, delete, a
    /// change of its assignments): it sees the user (else `not_found`), holds `perm`
    /// wherever the user holds anything, and holds every permission the user holds
    /// there (no acting on someone above oneself: `forbidden`).
    pub async fn may_change(
        &self,
        ctx: &Ctx,
        perm: Permission,
        target: &UserRecord,
    ) -> Result<(), ApiError> {
        if !self.sees_user(perm, target) && !self.sees_user(Permission::UserRead, target) {
            return Err(ApiError::new(ErrorCode::NotFound, "no such user"));
        }
        for a in &target.assignments {
            let held = match a.scope() {
                authz::AssignScope::Platform => self.grants.allows_platform(perm),
                authz::AssignScope::Tenant(t) => self.grants.allows(perm, t, None),
                authz::AssignScope::Site(s) => self.grants.allows(perm, &s.tenant, Some(&s.site)),
            };
            if !held {
                return Err(self.forbidden(perm, &format!("on {}", target.handle)));
            }
        }
        let theirs = grants_of(ctx, &target.assignments).await?;
        authz::may_change_user(&self.grants, &theirs).map_err(|e| {
            ApiError::new(
                ErrorCode::Forbidden,
                format!("{} holds what {} does not: {e}", target.handle, self.name()),
            )
        })
    }

    /// Checks that this admin may grant `a` (assign it, or mint an invite for it): it
    /// holds every permission of the role where the assignment applies (`forbidden`),
    /// and the role exists (`not_found`). Returns `a` with the role's name as the role
    /// spells it (`floor manager` becomes `Floor Manager`).
    pub async fn may_grant(
        &self,
        ctx: &Ctx,
        a: &authz::Assignment,
    ) -> Result<authz::Assignment, ApiError> {
        self.may_grant_as_asked(ctx, a).await?;
        let name = match (a.role().builtin(), a.scope().tenant()) {
            (Some(b), _) => b.role_name(),
            (None, Some(t)) => ctx
                .store
                .role(t, a.role())
                .await?
                .map_or_else(|| a.role().clone(), |r| r.value.name),
            (None, None) => a.role().clone(),
        };
        authz::Assignment::new(name, a.scope().clone())
            .map_err(|e| ApiError::bad_request(e.to_string()))
    }

    async fn may_grant_as_asked(&self, ctx: &Ctx, a: &authz::Assignment) -> Result<(), ApiError> {
        let table = ctx.store.role_table(std::slice::from_ref(a)).await?;
        if let Some(t) = a.scope().tenant() {
            if authz::RoleResolver::permissions(&table, t, a.role()).is_none() {
                return Err(ApiError::new(
                    ErrorCode::NotFound,
                    format!("no role {} in tenant {}", a.role().as_str(), t.as_str()),
                ));
            }
        }
        authz::may_assign(&self.grants, a, &table).map_err(|e| {
            ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "{} may not grant {} there: {e}",
                    self.name(),
                    a.role().as_str()
                ),
            )
        })
    }

    /// True when this admin may use `perm` somewhere (the dispatcher's first check;
    /// the handler checks where).
    fn holds_somewhere(&self, perm: Permission) -> bool {
        self.grants.platform().contains(perm)
            || (!perm.is_platform_only()
                && (self.grants.in_every_tenant().contains(perm)
                    || self
                        .grants
                        .tenants()
                        .any(|t| self.grants.visible_sites(perm, t) != authz::Visibility::None)))
    }

    /// The audit actor for this admin.
    pub fn actor(&self) -> Actor {
        match &self.who {
            Principal::User(u) => Actor::user(&u.value.handle),
            Principal::ApiKey(k) => Actor::api_key(&k.key_id),
        }
    }

    /// A note of `change`, made by this admin at `at`, for the record it writes.
    pub fn note(
        &self,
        at: &str,
        change: crate::store::records::Noted,
    ) -> crate::store::records::ChangeNote {
        crate::store::records::ChangeNote::new(self.name(), None, at, change)
    }
}

/// What `assignments` grant, with their tenants' roles read now.
pub(crate) async fn grants_of(
    ctx: &Ctx,
    assignments: &[authz::Assignment],
) -> Result<Grants, StoreError> {
    let table = ctx.store.role_table(assignments).await?;
    Ok(Grants::new(assignments, &table))
}

/// Maps a store failure to the wire. Details go to the log, not to the requester.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => ApiError::new(
                ErrorCode::Conflict,
                "the record changed concurrently; retry",
            ),
            StoreError::Unavailable(why) => {
                tracing::warn!(%why, "store unavailable");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "the store is unavailable; retry later",
                )
            }
            StoreError::Full(why) => {
                // Every request says so while the bucket is full: once a minute is enough.
                static LAST: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
                if once_a_minute(&LAST) {
                    tracing::warn!(%why, "the nonce bucket is full: signed requests answer rate_limited until nonces expire (raise --nonce-max-mib?)");
                }
                ApiError::new(
                    ErrorCode::RateLimited,
                    "too many requests in the replay window; retry later",
                )
            }
            StoreError::Corrupt(why) => {
                tracing::error!(%why, "corrupt store value");
                ApiError::new(ErrorCode::Internal, "internal error")
            }
        }
    }
}

impl Ctx {
    /// Records the request's nonce: `replayed` if this key used it within the window.
    /// Register and enroll call it themselves, once the request proved it could change
    /// something (a real invite, a valid site key), so strangers cannot fill the bucket.
    pub(crate) async fn spend_nonce(&self, signed: &Signed) -> Result<(), ApiError> {
        if self
            .store
            .record_nonce(&signed.key, signed.nonce.as_str(), signed.ts)
            .await?
        {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::Replayed,
                "this nonce was already used",
            ))
        }
    }

    /// The signer as an active user, or `unauthorized` (unknown or revoked key).
    pub(crate) async fn active_signer(&self, signed: &Signed) -> Result<Admin, ApiError> {
        self.store
            .user_by_key(&signed.key)
            .await?
            .filter(|u| u.value.status == UserStatus::Active && !u.value.deleting())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "the signing key is not an active user",
                )
            })
            .map(|user| async move {
                let table = self.store.role_table(&user.value.assignments).await?;
                let grants = Grants::new(&user.value.assignments, &table);
                Ok::<_, ApiError>(Admin {
                    who: Principal::User(Box::new(user)),
                    grants,
                    request: signed.request_key(),
                })
            })?
            .await
    }
}

impl Ctx {
    /// The signer as an active user, or `None` for a key that is not one (a machine's,
    /// a stranger's): revoke and whoami go on without a user.
    async fn signer_if_user(&self, signed: &Signed) -> Result<Option<Admin>, ApiError> {
        match self.active_signer(signed).await {
            Ok(a) => Ok(Some(a)),
            Err(e) if e.code == ErrorCode::Unauthorized => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Ctx {
    /// Tenant `t` if it takes changes now (PROTOCOL §7): `not_found` when there is no
    /// such tenant, `tenant_inactive` when it is frozen (or a trial that ended) or
    /// archived. Reads, revokes and unassignments do not ask.
    pub(crate) async fn writable_tenant(
        &self,
        t: &Tenant,
    ) -> Result<crate::store::records::TenantRecord, ApiError> {
        let rec = self
            .tenant(t)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no tenant {t}")))?;
        match rec.effective_status(self.clock.now()) {
            crate::domain::TenantStatus::Frozen | crate::domain::TenantStatus::Archived => {
                Err(ApiError::new(
                    ErrorCode::TenantInactive,
                    format!(
                        "tenant {t} is {}: it takes no changes",
                        rec.effective_status(self.clock.now())
                    ),
                ))
            }
            _ => Ok(rec),
        }
    }

    /// Tenant `t` as this worker's view has it (the bucket while the view catches up).
    pub(crate) async fn tenant(
        &self,
        t: &Tenant,
    ) -> Result<Option<crate::store::records::TenantRecord>, StoreError> {
        match self.tenants.get(t) {
            Some(rec) => Ok(rec),
            None => Ok(self.store.tenant(t).await?.map(|v| v.value)),
        }
    }

    /// [`Ctx::writable_tenant`] for the tenant of an assignment (platform scope: none).
    pub(crate) async fn writable_scope(&self, a: &authz::Assignment) -> Result<(), ApiError> {
        match a.scope().tenant() {
            Some(t) => self.writable_tenant(t).await.map(drop),
            None => Ok(()),
        }
    }
}

/// A refusal of a request signed by `by_user` if it is an active user (its audit
/// event), else by a stranger (a security tally).
fn refused_by(signed: &Signed, by_user: Option<&Admin>, e: ApiError) -> Refusal {
    match by_user {
        Some(a) => identity(a)(e),
        None => stranger(signed)(e),
    }
}

impl Admin {
    /// Checks this admin holds `perm` somewhere (the handler checks where).
    fn require_somewhere(&self, perm: Permission) -> Result<(), ApiError> {
        if self.holds_somewhere(perm) {
            Ok(())
        } else {
            Err(self.forbidden(perm, "anywhere"))
        }
    }
}

/// True at most once a minute per `last` (the Unix milliseconds it last said true), for
/// warnings that every request of a flood would otherwise repeat.
fn once_a_minute(last: &std::sync::atomic::AtomicI64) -> bool {
    use std::sync::atomic::Ordering::Relaxed;
    let now = crate::time_util::now_ms();
    let prev = last.load(Relaxed);
    now - prev >= 60_000 && last.compare_exchange(prev, now, Relaxed, Relaxed).is_ok()
}

fn to_json<T: Serialize>(v: &T) -> Result<Bytes, ApiError> {
    serde_json::to_vec(v).map(Bytes::from).map_err(|e| {
        tracing::error!(error = %e, "reply encoding failed");
        ApiError::new(ErrorCode::Internal, "internal error")
    })
}

/// Checks a request step by step; a refusal says how far it got and who it came from.
async fn dispatch(
    ctx: &Ctx,
    ep: Endpoint,
    subject: &str,
    source: Option<String>,
    headers: Option<&HeaderMap>,
    body: &[u8],
) -> Result<Bytes, Refusal> {
    if body.len() > wire::MAX_BODY {
        return Err(unproven(ApiError::bad_request(format!(
            "body is {} bytes; the limit is {}",
            body.len(),
            wire::MAX_BODY
        ))));
    }
    if let Some(key) = header(headers, wire::HDR_API_KEY) {
        if header(headers, wire::HDR_SIG).is_none() {
            return Box::pin(by_api_key(ctx, ep, key, body)).await;
        }
    }
    let mut signed =
        verify_signed(&ctx.cfg, ctx.clock.now(), subject, headers, body).map_err(unproven)?;
    signed.source = source;
    let refuse = stranger(&signed);
    // Register and enroll spend the nonce themselves, once the request is shown to
    // matter (see `Ctx::spend_nonce`); revoke once it knows who is asking.
    match ep {
        Endpoint::Register => {
            let req = decode(body).map_err(&refuse)?;
            // Each endpoint's future is boxed: together they would be one large future.
            let reply = Box::pin(register::handle(ctx, &signed, req))
                .await
                .map_err(&refuse)?;
            to_json(&reply).map_err(&refuse)
        }
        Endpoint::Enroll => {
            let req = decode(body).map_err(&refuse)?;
            match Box::pin(enroll::handle(ctx, &signed, req)).await {
                Ok(reply) => to_json(&reply).map_err(&refuse),
                Err(enroll::EnrollError::Api(e)) => Err(refuse(e)),
                Err(enroll::EnrollError::AtSite {
                    error,
                    site,
                    machine_uid,
                    known_machine,
                }) => Err(Refusal {
                    error,
                    by: if known_machine {
                        Requester::Machine(signed.clone())
                    } else {
                        Requester::Stranger(signed.clone())
                    },
                    at: Some(At { site, machine_uid }),
                }),
            }
        }
        Endpoint::Revoke => {
            let req = decode(body).map_err(&refuse)?;
            // A revoke by an active user (an admin, or a user revoking itself) is that
            // identity's; otherwise only a machine revoking itself may go on.
            let by_user = ctx.signer_if_user(&signed).await.map_err(&refuse)?;
            let result = Box::pin(revoke::handle(ctx, &signed, by_user.as_ref(), req))
                .await
                .and_then(|reply| to_json(&reply));
            result.map_err(|e| refused_by(&signed, by_user.as_ref(), e))
        }
        Endpoint::Whoami => {
            let req = decode(body).map_err(&refuse)?;
            let by_user = ctx.signer_if_user(&signed).await.map_err(&refuse)?;
            let result = whoami::handle(ctx, &signed, by_user.as_ref(), req)
                .await
                .and_then(|reply| to_json(&reply));
            result.map_err(|e| refused_by(&signed, by_user.as_ref(), e))
        }
        Endpoint::Admin(command) => {
            // An admin command is authorized before its body is judged: a stranger's
            // refusal says `unauthorized`, whatever it sent.
            let admin = ctx.active_signer(&signed).await.map_err(&refuse)?;
            let by = identity(&admin);
            if command.needs_permission_somewhere() {
                admin.require_somewhere(command.permission()).map_err(&by)?;
            }
            let req = AdminRequest::decode(command, body).map_err(&by)?;
            ctx.spend_nonce(&signed).await.map_err(&by)?;
            Box::pin(admin_command(ctx, &admin, req)).await.map_err(&by)
        }
        Endpoint::ApikeyVerify => {
            let admin = ctx.active_signer(&signed).await.map_err(&refuse)?;
            let by = identity(&admin);
            ctx.spend_nonce(&signed).await.map_err(&by)?;
            verify_for(ctx, &admin, body).await.map_err(&by)
        }
    }
}

/// `P.v1.apikey.verify` for a requester holding `apikey:verify` somewhere.
async fn verify_for(ctx: &Ctx, admin: &Admin, body: &[u8]) -> Result<Bytes, ApiError> {
    admin.require_somewhere(Permission::ApikeyVerify)?;
    let req = decode(body)?;
    to_json(&apikey_verify::handle(ctx, admin, req).await?)
}

/// A request carrying `Roster-Api-Key` instead of the signing headers (PROTOCOL §3, §9):
/// it acts for the key, with exactly its scopes in its tenant. A malformed, unknown,
/// revoked or expired key is `unauthorized` (a throttled key id `rate_limited`); a key
/// of a frozen tenant still reads, and its writes answer `tenant_inactive` as anyone's.
/// Admin commands and `apikey.verify` take one; register, enroll, revoke and whoami need
/// a signed request.
async fn by_api_key(ctx: &Ctx, ep: Endpoint, key: &str, body: &[u8]) -> Result<Bytes, Refusal> {
    let refused = |code: ErrorCode, msg: &str| unproven(ApiError::new(code, msg.to_owned()));
    if !matches!(ep, Endpoint::Admin(_) | Endpoint::ApikeyVerify) {
        return Err(refused(
            ErrorCode::Unauthorized,
            "this endpoint needs a signed request (Roster-Key, -Ts, -Nonce, -Sig), not an API key",
        ));
    }
    let rec = match check_apikey(ctx, key, false).await {
        Ok(KeyCheck::Valid { key, .. }) => key.value,
        Ok(KeyCheck::Refused(wire::admin::VerifyCode::RateLimited, _)) => {
            return Err(refused(
                ErrorCode::RateLimited,
                "too many failed attempts with this API key id; retry later",
            ))
        }
        Ok(KeyCheck::Refused(..)) => {
            return Err(refused(
                ErrorCode::Unauthorized,
                "the API key is not valid (unknown, revoked or expired)",
            ))
        }
        Err(e) => return Err(unproven(e.into())),
    };
    let scopes: authz::PermSet = rec.scopes.iter().collect();
    let admin = Admin {
        grants: Grants::of_key(&rec.tenant, scopes),
        request: format!("apikey:{}/{}", rec.key_id, crypto::random_nonce_hex()),
        who: Principal::ApiKey(ApiKeyPrincipal {
            label: format!("apikey:{}", rec.key_id),
            key_id: rec.key_id.to_string(),
            tenant: rec.tenant,
        }),
    };
    let by = identity(&admin);
    match ep {
        Endpoint::Admin(command) => {
            admin.require_somewhere(command.permission()).map_err(&by)?;
            let req = AdminRequest::decode(command, body).map_err(&by)?;
            Box::pin(admin_command(ctx, &admin, req)).await.map_err(&by)
        }
        _ => verify_for(ctx, &admin, body).await.map_err(&by),
    }
}

/// Runs a decoded admin command for an active user holding its permission.
async fn admin_command(ctx: &Ctx, admin: &Admin, req: AdminRequest) -> Result<Bytes, ApiError> {
    use AdminRequest as R;
    match req {
        R::SiteCreate(r) => to_json(&site_create::handle(ctx, admin, r).await?),
        R::SiteList(r) => to_json(&site_list::handle(ctx, admin, r).await?),
        R::SiteGet(r) => to_json(&site_get::handle(ctx, admin, r).await?),
        R::SiteRotateKey(r) => to_json(&site_rotate_key::handle(ctx, admin, r).await?),
        R::MachineList(r) => to_json(&machine_list::handle(ctx, admin, r).await?),
        R::MachineGet(r) => to_json(&machine_get::handle(ctx, admin, r).await?),
        R::MachineApprove(r) => to_json(&machine_approve::handle(ctx, admin, r).await?),
        R::MachineReject(r) => to_json(&machine_reject::handle(ctx, admin, r).await?),
        R::InviteCreate(r) => to_json(&invite_create::handle(ctx, admin, r).await?),
        R::InviteList(r) => to_json(&invite_list::handle(ctx, admin, r).await?),
        R::InviteGet(r) => to_json(&invite_get::handle(ctx, admin, r).await?),
        R::InviteCancel(r) => to_json(&invite_cancel::handle(ctx, admin, r).await?),
        R::UserList(r) => to_json(&user_list::handle(ctx, admin, r).await?),
        R::UserGet(r) => to_json(&user_get::handle(ctx, admin, r).await?),
        R::UserSetRole(r) => to_json(&user_set_role::handle(ctx, admin, r).await?),
        R::UserAssign(r) => to_json(&user_assign::handle(ctx, admin, r).await?),
        R::UserUnassign(r) => to_json(&user_unassign::handle(ctx, admin, r).await?),
        R::UserDelete(r) => to_json(&user_delete::handle(ctx, admin, r).await?),
        R::RoleCatalog(r) => to_json(&role_catalog::handle(r)),
        R::RoleList(r) => to_json(&role_list::handle(ctx, admin, r).await?),
        R::RoleGet(r) => to_json(&role_get::handle(ctx, admin, r).await?),
        R::RoleCreate(r) => to_json(&role_create::handle(ctx, admin, r).await?),
        R::RoleUpdate(r) => to_json(&role_update::handle(ctx, admin, r).await?),
        R::RoleDelete(r) => to_json(&role_delete::handle(ctx, admin, r).await?),
        R::AuditQuery(r) => to_json(&audit_query::handle(ctx, admin, r).await?),
        R::TenantCreate(r) => to_json(&tenant_create::handle(ctx, admin, r).await?),
        R::TenantList(r) => to_json(&tenant_list::handle(ctx, r).await?),
        R::TenantGet(r) => to_json(&tenant_get::handle(ctx, r).await?),
        R::TenantUpdate(r) => to_json(&tenant_update::handle(ctx, admin, r).await?),
        R::TenantSetStatus(r) => to_json(&tenant_set_status::handle(ctx, admin, r).await?),
        R::TenantSetProduct(r) => to_json(&tenant_set_product::handle(ctx, admin, r).await?),
        R::ApikeyCreate(r) => to_json(&apikey_create::handle(ctx, admin, r).await?),
        R::ApikeyList(r) => to_json(&apikey_list::handle(ctx, admin, r).await?),
        R::ApikeyGet(r) => to_json(&apikey_get::handle(ctx, admin, r).await?),
        R::ApikeyRevoke(r) => to_json(&apikey_revoke::handle(ctx, admin, r).await?),
        R::ApikeyRoll(r) => to_json(&apikey_roll::handle(ctx, admin, r).await?),
        R::CredentialCreate(r) => to_json(&credential_create::handle(ctx, admin, r).await?),
        R::CredentialList(r) => to_json(&credential_list::handle(ctx, admin, r).await?),
        R::CredentialGet(r) => to_json(&credential_get::handle(ctx, admin, r).await?),
        R::CredentialReveal(r) => to_json(&credential_reveal::handle(ctx, admin, r).await?),
        R::CredentialRotate(r) => to_json(&credential_rotate::handle(ctx, admin, r).await?),
        R::CredentialRevoke(r) => to_json(&credential_revoke::handle(ctx, admin, r).await?),
        R::CredentialDelete(r) => to_json(&credential_delete::handle(ctx, admin, r).await?),
        R::CredentialRewrap(r) => to_json(&credential_rewrap::handle(ctx, admin, r).await?),
    }
}
