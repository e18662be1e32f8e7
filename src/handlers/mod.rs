//! Request handling: the signed-request check (PROTOCOL §3), the authorization of admin
//! commands, dispatch to one handler per endpoint, and the responder that turns a result
//! into a reply and a refusal into an error envelope plus an audit event.

mod audit_query;
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
mod revoke;
mod site_create;
mod site_get;
mod site_list;
mod site_rotate_key;
mod user_delete;
mod user_get;
mod user_list;
mod user_set_role;

pub use invite_create::mint as mint_invite;

use async_nats::HeaderMap;
use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

use crate::audit::{Actor, ActorType, AuditEvent, Auditor, Outcome, Target};
use crate::authz::{self, Permission, Scope};
use crate::crypto;
use crate::domain::{Nonce, SignKey};
use crate::store::records::{UserRecord, UserStatus};
use crate::store::{Store, StoreError, Versioned};
use crate::wire::admin::Validate;
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
}

pub use crate::wire::Endpoint;

/// A request whose signature, clock and nonce were checked.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The signer's key.
    pub key: SignKey,
    /// The signer's `Roster-Ts`.
    pub ts: i64,
    /// The request nonce.
    pub nonce: Nonce,
    /// The connection it came from, when its reply subject tells (see
    /// [`crate::audit::security::source_of_reply`]).
    pub source: Option<String>,
}

impl Signed {
    /// A name for this request that is stable across an exact re-send.
    pub fn request_key(&self) -> String {
        format!("{}/{}", self.key.to_hex(), self.nonce.as_str())
    }
}

/// The signer of an admin command, with its active user record.
#[derive(Debug, Clone)]
pub struct Admin {
    pub user: Versioned<UserRecord>,
}

impl Admin {
    /// Checks that this admin may use `perm` at `site` (operators only at their sites).
    pub fn require_at(
        &self,
        perm: Permission,
        site: &crate::domain::SiteCode,
    ) -> Result<(), ApiError> {
        let u = &self.user.value;
        match authz::scope(u.role, perm) {
            Scope::All => Ok(()),
            Scope::AssignedSites if u.sites.contains(site) => Ok(()),
            _ => Err(ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "{} may not use {} at site {}",
                    u.handle,
                    perm.as_str(),
                    site.as_str()
                ),
            )),
        }
    }

    /// The audit actor for this admin.
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.user.value.handle.to_string(),
            kind: ActorType::User,
            name: None,
        }
    }
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
                let now = crate::time_util::now_ms();
                let last = LAST.load(std::sync::atomic::Ordering::Relaxed);
                if now - last >= 60_000
                    && LAST
                        .compare_exchange(
                            last,
                            now,
                            std::sync::atomic::Ordering::Relaxed,
                            std::sync::atomic::Ordering::Relaxed,
                        )
                        .is_ok()
                {
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

fn header<'a>(headers: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    headers.and_then(|h| h.get(name)).map(|v| v.as_str())
}

fn bad_signature() -> ApiError {
    ApiError::new(ErrorCode::InvalidSignature, "signature does not verify")
}

/// The clock check, after the signature: `Roster-Ts` within the window.
fn check_clock(
    cfg: &HandlerConfig,
    key: SignKey,
    ts: i64,
    nonce: Nonce,
) -> Result<Signed, ApiError> {
    let skew = (crate::time_util::now_ms() - ts).unsigned_abs();
    if skew > cfg.clock_window.as_millis() as u64 {
        return Err(ApiError::new(
            ErrorCode::StaleRequest,
            format!(
                "Roster-Ts is {} ms from the worker's clock; the window is {} s",
                skew,
                cfg.clock_window.as_secs()
            ),
        ));
    }
    Ok(Signed {
        key,
        ts,
        nonce,
        source: None,
    })
}

/// Checks the four signature headers, the Ed25519ph signature (PROTOCOL §3) and the
/// clock. Writes nothing.
pub fn verify_signed(
    cfg: &HandlerConfig,
    subject: &str,
    headers: Option<&HeaderMap>,
    body: &[u8],
) -> Result<Signed, ApiError> {
    let missing =
        |h: &str| ApiError::new(ErrorCode::InvalidSignature, format!("missing {h} header"));
    let key_hex = header(headers, wire::HDR_KEY).ok_or_else(|| missing(wire::HDR_KEY))?;
    let ts_s = header(headers, wire::HDR_TS).ok_or_else(|| missing(wire::HDR_TS))?;
    let nonce_s = header(headers, wire::HDR_NONCE).ok_or_else(|| missing(wire::HDR_NONCE))?;
    let sig = header(headers, wire::HDR_SIG).ok_or_else(|| missing(wire::HDR_SIG))?;
    let ts: i64 = ts_s
        .parse()
        .ok()
        .filter(|_| !ts_s.starts_with('+') && ts_s.len() <= 16)
        .ok_or_else(|| ApiError::bad_request("Roster-Ts must be Unix milliseconds"))?;
    let nonce = Nonce::parse(nonce_s)?;
    let msg = crypto::signed_bytes(subject, ts_s, nonce_s, body);
    let key = crypto::verify_request(key_hex, &msg, sig).map_err(|e| match e {
        crypto::SignatureCheck::BadKey(why) => {
            ApiError::bad_request(format!("{}: {why}", wire::HDR_KEY))
        }
        crypto::SignatureCheck::BadSignature => bad_signature(),
    })?;
    // verify_request refused weak and malformed keys: the bytes are a checked key.
    let key = SignKey::from_checked(key).ok_or_else(bad_signature)?;
    check_clock(cfg, key, ts, nonce)
}

impl Ctx {
    /// Decodes a body strictly, then records the nonce. Bad input writes nothing; a
    /// nonce is spent only by a well-formed request.
    async fn accept<T: DeserializeOwned + Validate>(
        &self,
        signed: &Signed,
        body: &[u8],
    ) -> Result<T, ApiError> {
        let req = decode::<T>(body)?;
        self.spend_nonce(signed).await?;
        Ok(req)
    }

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
            .filter(|u| u.value.status == UserStatus::Active)
            .map(|user| Admin { user })
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "the signing key is not an active user",
                )
            })
    }
}

impl Admin {
    /// Checks this admin holds `perm` somewhere (the handler checks where).
    fn require(&self, perm: Permission) -> Result<(), ApiError> {
        let role = self.user.value.role;
        if authz::scope(role, perm) == Scope::None {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("role {role} lacks {}", perm.as_str()),
            ));
        }
        Ok(())
    }
}

/// Decodes and validates a body strictly. Writes nothing.
fn decode<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, ApiError> {
    let req: T = wire::decode_body(body)?;
    req.validate()?;
    Ok(req)
}

fn to_json<T: Serialize>(v: &T) -> Result<Bytes, ApiError> {
    serde_json::to_vec(v).map(Bytes::from).map_err(|e| {
        tracing::error!(error = %e, "reply encoding failed");
        ApiError::new(ErrorCode::Internal, "internal error")
    })
}

/// What one request came to: the reply to send, and its PROTOCOL code if it was refused.
#[derive(Debug)]
pub struct Handled {
    pub body: Bytes,
    pub headers: HeaderMap,
    pub refused: Option<ErrorCode>,
}

/// Who a refused request can be attributed to, as far as its checks got.
#[derive(Debug)]
enum Requester {
    /// Nobody proved a key (a bad, missing or malformed signature).
    Unproven,
    /// A proven key that is not an active user: a stranger.
    Stranger(Signed),
    /// An active user (boxed: the record is large and refusals travel in `Result`s).
    Identity(Signed, Box<Admin>),
}

/// A refusal, with who it came from for the record.
#[derive(Debug)]
struct Refusal {
    error: ApiError,
    by: Requester,
}

/// Refusals of a request nobody proved a key for.
fn unproven(error: ApiError) -> Refusal {
    Refusal {
        error,
        by: Requester::Unproven,
    }
}

/// Refusals of a stranger's request (built only when one happens).
fn stranger(signed: &Signed) -> impl Fn(ApiError) -> Refusal + '_ {
    move |error| Refusal {
        error,
        by: Requester::Stranger(signed.clone()),
    }
}

/// Refusals of an identity's request (built only when one happens).
fn identity<'a>(signed: &'a Signed, admin: &'a Admin) -> impl Fn(ApiError) -> Refusal + 'a {
    move |error| Refusal {
        error,
        by: Requester::Identity(signed.clone(), Box::new(admin.clone())),
    }
}

/// Handles one request end to end. `reply` is the request's reply subject, which names
/// its connection (a denial's source).
pub async fn handle(
    ctx: &Ctx,
    ep: Endpoint,
    subject: &str,
    reply: Option<&str>,
    headers: Option<&HeaderMap>,
    body: &[u8],
) -> Handled {
    let source = crate::audit::security::source_of_reply(reply);
    match dispatch(ctx, ep, subject, source.clone(), headers, body).await {
        Ok(body) => Handled {
            body,
            headers: HeaderMap::new(),
            refused: None,
        },
        Err(Refusal { error, by }) => {
            if should_audit(ep, error.code) {
                record_denial(ctx, ep, &error, &by, headers, source).await;
            }
            let (body, reply_headers) = error_reply(&error);
            Handled {
                body,
                headers: reply_headers,
                refused: Some(error.code),
            }
        }
    }
}

/// The envelope and micro headers of a refusal.
pub fn error_reply(err: &ApiError) -> (Bytes, HeaderMap) {
    let mut h = HeaderMap::new();
    h.insert(
        async_nats::service::NATS_SERVICE_ERROR,
        err.message.as_str(),
    );
    h.insert(
        async_nats::service::NATS_SERVICE_ERROR_CODE,
        err.code.status().to_string().as_str(),
    );
    h.insert("Roster-Error", err.code.as_str());
    let body = serde_json::to_vec(&ErrorEnvelope::from(err)).unwrap_or_else(|_| {
        br#"{"error":{"code":"internal","message":"internal error"}}"#.to_vec()
    });
    (Bytes::from(body), h)
}

/// Refused admin commands are always recorded; on register, everything but malformed
/// input. Our own failures (`unavailable`, `internal`) and load shedding (`rate_limited`:
/// a full replay window, say) are logged, not recorded: recording them would add writes
/// exactly when there is no room for them.
fn should_audit(ep: Endpoint, code: ErrorCode) -> bool {
    match code {
        ErrorCode::Unavailable | ErrorCode::Internal | ErrorCode::RateLimited => false,
        ErrorCode::BadRequest => !ep.is_public(),
        // The enroll handler records its denials itself, naming the site.
        ErrorCode::EnrollmentDenied => ep != Endpoint::Enroll,
        _ => true,
    }
}

/// The audit action of a refused request on `ep`.
fn denied_action(ep: Endpoint) -> String {
    match ep {
        Endpoint::Register => "user.register".to_owned(),
        Endpoint::Enroll => "machine.enroll".to_owned(),
        Endpoint::Revoke => "revoke".to_owned(),
        other => other.command().to_owned(),
    }
}

/// Records a refusal. An identity's (the signer resolved to an active user) is one
/// audit event; a stranger's (bad signature, unknown key, …) is counted into the
/// security log, so a flood of them cannot fill the store (PROTOCOL §5).
async fn record_denial(
    ctx: &Ctx,
    ep: Endpoint,
    err: &ApiError,
    by: &Requester,
    headers: Option<&HeaderMap>,
    source: Option<String>,
) {
    let target = Target::new("endpoint", ep.command());
    let (signed, admin) = match by {
        Requester::Identity(signed, admin) => (signed, admin),
        stranger => {
            // The proven key, else the claimed one if it parses; never other header content.
            let actor = match stranger {
                Requester::Stranger(s) => s.key.to_hex(),
                _ => header(headers, wire::HDR_KEY)
                    .and_then(|k| SignKey::parse(k).ok())
                    .map(|k| k.to_hex())
                    .unwrap_or_else(|| "unknown".into()),
            };
            ctx.audit.security().record(crate::audit::security::Denial {
                action: denied_action(ep),
                code: err.code.as_str().to_owned(),
                source,
                actor,
                target,
                site: None,
            });
            return;
        }
    };
    // An exact re-send of a refused request is one attempt, not two.
    let mut ev = AuditEvent::new(
        &format!("denied/{}/{}", ep.command(), signed.request_key()),
        &denied_action(ep),
        Outcome::Denied,
        admin.actor(),
        target,
    )
    .with("code", err.code.as_str());
    ev.source = source;
    if let Err(e) = ctx.audit.publish(&ev).await {
        tracing::warn!(error = %e, "could not record a denied request");
    }
}

/// Checks a request step by step; a refusal says how far it got.
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
    let mut signed = verify_signed(&ctx.cfg, subject, headers, body).map_err(unproven)?;
    signed.source = source;
    let refuse = stranger(&signed);
    match ep {
        // Register and enroll spend the nonce themselves, once the request is shown to
        // matter (see `Ctx::spend_nonce`).
        Endpoint::Register => {
            let req = decode(body).map_err(&refuse)?;
            let reply = register::handle(ctx, &signed, req).await.map_err(&refuse)?;
            return to_json(&reply).map_err(&refuse);
        }
        Endpoint::Enroll => {
            let req = decode(body).map_err(&refuse)?;
            let reply = enroll::handle(ctx, &signed, req).await.map_err(&refuse)?;
            return to_json(&reply).map_err(&refuse);
        }
        Endpoint::Revoke => {
            let req = decode(body).map_err(&refuse)?;
            // A revoke by an active user (an admin, or a user revoking itself) is that
            // identity's; otherwise only a machine revoking itself may go on.
            let by_user = match ctx.active_signer(&signed).await {
                Ok(a) => Some(a),
                Err(e) if e.code == ErrorCode::Unauthorized => None,
                Err(e) => return Err(refuse(e)),
            };
            let result = revoke::handle(ctx, &signed, by_user.as_ref(), req)
                .await
                .and_then(|reply| to_json(&reply));
            return match &by_user {
                Some(a) => result.map_err(identity(&signed, a)),
                None => result.map_err(&refuse),
            };
        }
        _ => {}
    }
    let admin = ctx.active_signer(&signed).await.map_err(&refuse)?;
    admin_command(ctx, ep, &signed, &admin, body)
        .await
        .map_err(identity(&signed, &admin))
}

/// Runs an admin command for an active user: its permission, its body, its handler.
async fn admin_command(
    ctx: &Ctx,
    ep: Endpoint,
    signed: &Signed,
    admin: &Admin,
    body: &[u8],
) -> Result<Bytes, ApiError> {
    let perm = ep
        .permission()
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "internal error"))?;
    admin.require(perm)?;
    match ep {
        Endpoint::Register | Endpoint::Enroll | Endpoint::Revoke => {
            Err(ApiError::new(ErrorCode::Internal, "internal error"))
        }
        Endpoint::SiteCreate => {
            let req = ctx.accept(signed, body).await?;
            to_json(&site_create::handle(ctx, admin, req).await?)
        }
        Endpoint::SiteList => {
            to_json(&site_list::handle(ctx, ctx.accept(signed, body).await?).await?)
        }
        Endpoint::SiteGet => {
            to_json(&site_get::handle(ctx, ctx.accept(signed, body).await?).await?)
        }
        Endpoint::SiteRotateKey => {
            let req = ctx.accept(signed, body).await?;
            to_json(&site_rotate_key::handle(ctx, admin, req).await?)
        }
        Endpoint::MachineList => {
            to_json(&machine_list::handle(ctx, ctx.accept(signed, body).await?).await?)
        }
        Endpoint::MachineGet => {
            to_json(&machine_get::handle(ctx, ctx.accept(signed, body).await?).await?)
        }
        Endpoint::MachineApprove => {
            let req = ctx.accept(signed, body).await?;
            to_json(&machine_approve::handle(ctx, admin, req).await?)
        }
        Endpoint::MachineReject => {
            let req = ctx.accept(signed, body).await?;
            to_json(&machine_reject::handle(ctx, admin, req).await?)
        }
        Endpoint::InviteCreate => {
            let req = ctx.accept(signed, body).await?;
            to_json(&invite_create::handle(ctx, signed, admin, req).await?)
        }
        Endpoint::InviteList => {
            to_json(&invite_list::handle(ctx, ctx.accept(signed, body).await?).await?)
        }
        Endpoint::InviteGet => {
            to_json(&invite_get::handle(ctx, ctx.accept(signed, body).await?).await?)
        }
        Endpoint::InviteCancel => {
            let req = ctx.accept(signed, body).await?;
            to_json(&invite_cancel::handle(ctx, admin, req).await?)
        }
        Endpoint::UserList => {
            to_json(&user_list::handle(ctx, ctx.accept(signed, body).await?).await?)
        }
        Endpoint::UserGet => {
            to_json(&user_get::handle(ctx, ctx.accept(signed, body).await?).await?)
        }
        Endpoint::UserSetRole => {
            let req = ctx.accept(signed, body).await?;
            to_json(&user_set_role::handle(ctx, signed, admin, req).await?)
        }
        Endpoint::UserDelete => {
            let req = ctx.accept(signed, body).await?;
            to_json(&user_delete::handle(ctx, signed, admin, req).await?)
        }
        Endpoint::AuditQuery => {
            to_json(&audit_query::handle(ctx, ctx.accept(signed, body).await?).await?)
        }
    }
}

/// Closes the live connections named `names` after a change that took permissions away
/// (PROTOCOL §6) and audits the eviction (`action`, e.g. `user.evicted`) when any were
/// closed. They reconnect through the callout with what they hold now. A failure is
/// logged, not returned: the change stands, the callout refuses what it must, and the
/// user JWT's expiry is the backstop.
pub(crate) async fn evict(
    ctx: &Ctx,
    names: &[String],
    action: &str,
    actor: &Actor,
    target: Target,
    rev: u64,
) -> usize {
    let Some(evictor) = &ctx.evictor else {
        return 0;
    };
    match evictor.evict_all(names).await {
        Ok(0) => 0,
        Ok(n) => {
            let ev = AuditEvent::new(
                &format!("{action}/{}/{rev}", target.id),
                action,
                Outcome::Ok,
                actor.clone(),
                target,
            )
            .with("connections", n);
            if let Err(e) = ctx.audit.publish(&ev).await {
                tracing::warn!(error = %e, "could not record an eviction");
            }
            n
        }
        Err(e) => {
            tracing::warn!(error = %e, "eviction failed");
            0
        }
    }
}

/// One page of a bucket in key order: the records after `cursor` that `keep` turns into
/// items, at most `limit` of them, and the cursor to the next page (the key of the last
/// item) when more remain. Shared by every `list` command.
pub(crate) async fn list_page<T, V>(
    bucket: &crate::store::TypedBucket<T>,
    cursor: Option<&wire::admin::Cursor>,
    limit: Option<wire::admin::PageLimit>,
    mut keep: impl FnMut(T) -> Option<V>,
) -> Result<(Vec<V>, Option<String>), ApiError>
where
    T: Serialize + DeserializeOwned,
{
    let limit = wire::admin::PageLimit::or_default(limit);
    let keys = bucket.keys().await?;
    let start = cursor.map_or(0, |c| keys.partition_point(|k| k.as_str() <= c.as_str()));
    let mut items = Vec::new();
    let mut last: Option<&String> = None;
    for key in &keys[start..] {
        let Some(rec) = bucket.get(key).await? else {
            continue;
        };
        let Some(item) = keep(rec.value) else {
            continue;
        };
        if items.len() == limit {
            return Ok((items, last.cloned()));
        }
        items.push(item);
        last = Some(key);
    }
    Ok((items, None))
}
