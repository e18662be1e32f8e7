//! `P.v1.register`: redeem an invite with the signer's own keys (DESIGN.md, Register).
//!
//! Mark first: the invite is CASed to `used` by these keys before anything else is
//! written, so exactly one key pair can ever own it. Every later step is idempotent, so
//! a worker killed between any two steps leaves state the client's retry completes.

use crate::audit::{Actor, ActorType, AuditEvent, Outcome, Target};
use crate::crypto;
use crate::domain::Role;
use crate::store::records::{
    InviteRecord, InviteState, KeyIndexRecord, UserRecord, UserStatus, SCHEMA_V,
};
use crate::store::{StoreError, Versioned};
use crate::time_util;
use crate::wire::register::{RegisterReply, RegisterRequest};
use crate::wire::{ApiError, ErrorCode};

use super::{Ctx, Signed};

pub(super) async fn handle(
    ctx: &Ctx,
    signed: &Signed,
    req: RegisterRequest,
) -> Result<RegisterReply, ApiError> {
    let token = req.invite.secret();
    let invite_id = crate::domain::InviteId::for_token(token);
    let unknown = || ApiError::new(ErrorCode::InviteUnknown, "no such invite");

    let read = || async {
        let cur = ctx.store.invite(&invite_id).await?.ok_or_else(unknown)?;
        if !crypto::ct_eq(&cur.value.token_sha256, &token.digest_hex()) {
            return Err(unknown());
        }
        Ok::<_, ApiError>(cur)
    };
    // 0. Only a request naming a real invite spends a nonce: a stranger's guess changes
    //    nothing (a replay of it would change nothing either), so it writes nothing.
    let mut cur = read().await?;
    ctx.spend_nonce(signed).await?;
    crate::failpoint::hit("register.after_nonce");

    // 1. Claim the invite for these keys (or find it already claimed by them).
    let invite: Versioned<InviteRecord> = loop {
        let rec = &cur.value;
        match rec.state {
            InviteState::Used => {
                let ours =
                    rec.used_sign_pub == Some(signed.key) && rec.used_kex_pub == Some(req.kex_pub);
                if ours && rec.user_deleted_at.is_none() {
                    break cur; // a retry: finish the remaining steps
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
        if is_expired(rec) {
            return Err(ApiError::new(
                ErrorCode::InviteExpired,
                "this invite has expired",
            ));
        }
        let mut claimed = rec.clone();
        claimed.state = InviteState::Used;
        claimed.used_at = Some(time_util::now_rfc3339());
        claimed.used_sign_pub = Some(signed.key);
        claimed.used_kex_pub = Some(req.kex_pub);
        match ctx
            .store
            .invites
            .update(invite_id.as_str(), &claimed, cur.revision)
            .await
        {
            Ok(revision) => {
                break Versioned {
                    value: claimed,
                    revision,
                }
            }
            // Someone else wrote first (or our own earlier attempt landed): decide again.
            Err(StoreError::Conflict) => cur = read().await?,
            Err(e) => return Err(e.into()),
        }
    };
    crate::failpoint::hit("register.after_claim");
    let inv = &invite.value;
    let registered_at = inv.used_at.clone().unwrap_or_else(time_util::now_rfc3339);

    // 2. Bind the signing key to the handle. Another user's key: the invite stays spent.
    let key_rec = KeyIndexRecord {
        v: SCHEMA_V,
        sign_pub: signed.key,
        handle: inv.handle.clone(),
        created_at: registered_at.clone(),
    };
    let key_rev = match ctx
        .store
        .user_keys
        .create(&signed.key.to_hex(), &key_rec)
        .await
    {
        Ok(rev) => rev,
        Err(StoreError::Conflict) => match ctx.store.key_index(&signed.key).await? {
            Some(existing) if existing.value.handle == inv.handle => existing.revision,
            Some(_) => {
                return Err(ApiError::new(
                    ErrorCode::KeyRegistered,
                    "this signing key already belongs to a user; the invite is spent",
                ))
            }
            // Deleted in between: the retry will create it.
            None => {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    "concurrent change; retry",
                ))
            }
        },
        Err(e) => return Err(e.into()),
    };
    crate::failpoint::hit("register.after_key_index");

    // 3. Create the user.
    let user = UserRecord {
        v: SCHEMA_V,
        handle: inv.handle.clone(),
        role: inv.role,
        status: UserStatus::Active,
        sign_pub: signed.key,
        kex_pub: req.kex_pub,
        registered_at: registered_at.clone(),
        invite_id: Some(invite_id.clone()),
        sites: Vec::new(),
        updated_at: None,
        revoked: None,
    };
    let user = match ctx.store.users.create(inv.handle.as_str(), &user).await {
        Ok(_) => user,
        Err(StoreError::Conflict) => match ctx.store.user(&inv.handle).await? {
            Some(existing) if existing.value.sign_pub == signed.key => existing.value,
            _ => {
                // The handle belongs to someone else: undo our key binding so the key is
                // free again, and refuse. A crash before the undo is repaired by a retry.
                if let Err(e) = ctx
                    .store
                    .user_keys
                    .delete(&signed.key.to_hex(), key_rev)
                    .await
                {
                    tracing::warn!(error = %e, "could not undo a key binding");
                }
                return Err(ApiError::new(
                    ErrorCode::HandleTaken,
                    "this handle is already taken",
                ));
            }
        },
        Err(e) => return Err(e.into()),
    };

    crate::failpoint::hit("register.after_user");

    // 4. Count a new owner in the last-owner guard.
    if user.role == Role::Owner {
        ctx.store.add_owner(&user.handle).await?;
    }

    // 5. Audit, deduplicated by invite: a retry publishes nothing new.
    let ev = AuditEvent::new(
        &format!("user.registered/{invite_id}"),
        "user.registered",
        Outcome::Ok,
        Actor {
            id: user.handle.to_string(),
            kind: ActorType::User,
            name: None,
        },
        Target::new("user", user.handle.as_str()),
    )
    .with("invite_id", invite_id.as_str())
    .with("role", user.role.as_str())
    .with("sign_pub", signed.key.to_hex());
    ctx.audit.publish(&ev).await?;
    crate::failpoint::hit("register.after_audit");

    Ok(RegisterReply {
        handle: user.handle,
        role: user.role,
        sign_pub: user.sign_pub,
        kex_pub: user.kex_pub,
        registered_at: user.registered_at,
    })
}

/// True when a pending invite's `expires_at` has passed.
pub(crate) fn is_expired(rec: &InviteRecord) -> bool {
    match time_util::parse_rfc3339(&rec.expires_at) {
        Some(t) => t <= time::OffsetDateTime::now_utc(),
        None => true,
    }
}
