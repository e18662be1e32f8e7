//! `P.v1.register`: redeem an invite with the signer's own keys (DESIGN.md, Register).
//!
//! Mark first: the invite is CASed to `used` by these keys before anything else is
//! written, so exactly one key pair can ever own it. Every later step is idempotent, so
//! a worker killed between any two steps leaves state the client's retry completes.

use crate::audit::{Actor, Event};
use crate::crypto;
use crate::domain::InviteId;
use crate::store::records::{InviteRecord, InviteState, UserRecord, UserStatus, SCHEMA_V};
use crate::store::{Decision, KeyBinding, Known, StoreError, Versioned};
use crate::time_util::Timestamp;
use crate::wire::register::{RegisterReply, RegisterRequest};
use crate::wire::{ApiError, ErrorCode};

use super::{Ctx, Signed};

fn unknown() -> ApiError {
    ApiError::new(ErrorCode::InviteUnknown, "no such invite")
}

pub(super) async fn handle(
    ctx: &Ctx,
    signed: &Signed,
    req: RegisterRequest,
) -> Result<RegisterReply, ApiError> {
    let token = req.invite.secret();
    let invite_id = InviteId::for_token(token);
    let digest = token.digest_hex();
    // The invite must exist and carry this token's digest (compared in constant time).
    fn names_it<'a>(
        cur: Option<&'a Versioned<InviteRecord>>,
        digest: &str,
    ) -> Result<&'a Versioned<InviteRecord>, ApiError> {
        cur.filter(|c| crypto::ct_eq(&c.value.token_sha256, digest))
            .ok_or_else(unknown)
    }

    // 0. Only a request naming a real invite spends a nonce: a stranger's guess changes
    //    nothing (a replay of it would change nothing either), so it writes nothing.
    let first = ctx.store.invite(&invite_id).await?;
    let named = names_it(first.as_ref(), &digest)?;
    // A pending invite of a frozen or archived tenant is `tenant_inactive` (asked while
    // the nonce is spent: no extra round trip).
    let tenant_takes_it = async {
        match named.value.assignment.scope().tenant() {
            Some(t) if named.value.state == crate::store::records::InviteState::Pending => {
                ctx.writable_tenant(t).await.map(drop)
            }
            _ => Ok(()),
        }
    };
    let (spent, takes) = tokio::join!(ctx.spend_nonce(signed), tenant_takes_it);
    spent?;
    takes?;
    crate::failpoint::hit("register.after_nonce");

    // 1. Claim the invite for these keys (or find it already claimed by them).
    let now = ctx.clock.now().to_rfc3339();
    let claimed = ctx
        .store
        .invites
        .modify_from(&invite_id, Known::Read(first), |cur| {
            claim(
                &names_it(cur, &digest)?.value,
                signed,
                &req,
                &now,
                ctx.clock.now(),
            )
        })
        .await?;
    let inv = claimed.current.ok_or_else(unknown)?.value;
    crate::failpoint::hit("register.after_claim");
    let registered_at = inv.used_at.clone().unwrap_or_else(|| now.clone());

    let user = Box::pin(finish(
        ctx,
        &invite_id,
        &inv,
        &signed.key,
        &req.kex_pub,
        &registered_at,
    ))
    .await?;
    Ok(RegisterReply {
        role: super::user_get::home_role(&user),
        handle: user.handle,
        sign_pub: user.sign_pub,
        kex_pub: user.kex_pub,
        registered_at: user.registered_at,
    })
}

/// Steps 2–5 of a register once the invite is claimed by these keys: bind the key,
/// create the user, count an owner, record the event. Every step is idempotent, so a
/// client's retry and the healer (the `heal` module) finish an interrupted register alike.
pub(crate) async fn finish(
    ctx: &Ctx,
    invite_id: &InviteId,
    inv: &InviteRecord,
    sign_pub: &crate::domain::SignKey,
    kex_pub: &crate::domain::KexKey,
    registered_at: &str,
) -> Result<UserRecord, ApiError> {
    let registered_at = registered_at.to_owned();
    // 2. Bind the signing key to the handle. Another user's key: the invite stays spent.
    match ctx
        .store
        .bind_key(sign_pub, &inv.handle, &registered_at)
        .await
    {
        Ok(KeyBinding::Bound(_)) => {}
        Ok(KeyBinding::Taken) => {
            return Err(ApiError::new(
                ErrorCode::KeyRegistered,
                "this signing key already belongs to a user; the invite is spent",
            ))
        }
        // Deleted in between: the retry will create it.
        Err(StoreError::Conflict) => {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "concurrent change; retry",
            ))
        }
        Err(e) => return Err(e.into()),
    }
    crate::failpoint::hit("register.after_key_index");

    // 3. Create the user.
    let user = UserRecord {
        v: SCHEMA_V,
        handle: inv.handle.clone(),
        tenant: inv
            .assignment
            .scope()
            .tenant()
            .cloned()
            .unwrap_or_else(crate::domain::Tenant::default_tenant),
        assignments: vec![inv.assignment.clone()],
        status: UserStatus::Active,
        sign_pub: *sign_pub,
        kex_pub: *kex_pub,
        registered_at: registered_at.clone(),
        invite_id: Some(invite_id.clone()),
        updated_at: None,
        revoked: None,
        note: None,
        index_seqs: Vec::new(),
    };
    let made = ctx
        .store
        .users
        .modify_from(&inv.handle, Known::Absent, |cur| match cur {
            None => Ok(Decision::put(user.clone())),
            // A retry: the user is ours already.
            Some(existing) if existing.value.sign_pub == *sign_pub => Ok(Decision::Keep(())),
            Some(_) => Err(ApiError::new(
                ErrorCode::HandleTaken,
                "this handle is already taken",
            )),
        })
        .await;
    let user = match made {
        Ok(m) => m.current.map_or(user, |c| c.value),
        Err(e) => {
            if e.code == ErrorCode::HandleTaken {
                // The handle belongs to someone else: undo our key binding so the key is
                // free again, and refuse. A crash before the undo is repaired by a retry.
                if let Err(undo) = ctx.store.unbind_key(sign_pub, &inv.handle).await {
                    tracing::warn!(error = %undo, "could not undo a key binding");
                }
            }
            return Err(e);
        }
    };
    crate::failpoint::hit("register.after_user");

    // 4. Count a new owner in its last-owner guard.
    for scope in crate::store::owner_scopes(&user) {
        ctx.store.add_owner(&scope, &user.handle).await?;
    }

    // 5. Audit, deduplicated by invite: a retry publishes nothing new.
    let event = Event::UserRegistered {
        handle: &user.handle,
        invite_id,
        assignment: &inv.assignment,
        sign_pub,
    };
    ctx.audit.record(Actor::user(&user.handle), event).await?;
    crate::failpoint::hit("register.after_audit");

    Ok(user)
}

/// The claim decision: a pending, unexpired invite becomes `used` by these keys; a
/// claim by these same keys is a retry that finishes the remaining steps.
fn claim(
    rec: &InviteRecord,
    signed: &Signed,
    req: &RegisterRequest,
    now: &str,
    at: Timestamp,
) -> Result<Decision<InviteRecord>, ApiError> {
    match rec.state {
        InviteState::Used => {
            let ours =
                rec.used_sign_pub == Some(signed.key) && rec.used_kex_pub == Some(req.kex_pub);
            if ours && rec.user_deleted_at.is_none() {
                return Ok(Decision::Keep(()));
            }
            return Err(ApiError::new(
                ErrorCode::InviteUsed,
                "this invite was already used",
            ));
        }
        InviteState::Cancelled => {
            return Err(ApiError::new(
                ErrorCode::InviteCancelled,
                "this invite was cancelled",
            ));
        }
        InviteState::Pending => {}
    }
    if is_expired(rec, at) {
        return Err(ApiError::new(
            ErrorCode::InviteExpired,
            "this invite has expired",
        ));
    }
    let mut claimed = rec.clone();
    claimed.state = InviteState::Used;
    claimed.used_at = Some(now.to_owned());
    claimed.used_sign_pub = Some(signed.key);
    claimed.used_kex_pub = Some(req.kex_pub);
    Ok(Decision::put(claimed))
}

/// True when a pending invite's `expires_at` has passed at `now` (or does not parse).
pub(crate) fn is_expired(rec: &InviteRecord, now: Timestamp) -> bool {
    Timestamp::parse(&rec.expires_at).is_none_or(|t| t.has_passed(now))
}
