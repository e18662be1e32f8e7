//! `P.v1.revoke`: a user or machine is revoked by an admin holding the permission, or by
//! itself (DESIGN.md, Revoke): a CAS status flip, the audit event, then the eviction of
//! its live connections (the callout refuses the reconnect).

use crate::audit::{Actor, ActorType, Event, Evicted};
use crate::authz::Permission;
use crate::domain::{Handle, MachineId};
use crate::store::records::{MachineState, Revocation, UserStatus};
use crate::store::Decision;
use crate::wire::revoke::{RevokeReply, RevokeRequest, RevokeTarget};
use crate::wire::{ApiError, ErrorCode};

use super::{Admin, Ctx, Signed};

/// `by_user` is the signer as an active user, if it is one. Anyone else may only revoke
/// the machine its own agent key enrolled; every other stranger is `unauthorized` before
/// anything is read or written for it (its nonce included).
pub(super) async fn handle(
    ctx: &Ctx,
    signed: &Signed,
    by_user: Option<&Admin>,
    req: RevokeRequest,
) -> Result<RevokeReply, ApiError> {
    let reason = req.reason.as_ref().map(|r| r.as_str().to_owned());
    let unauthorized = || {
        ApiError::new(
            ErrorCode::Unauthorized,
            "the signing key is not an active user",
        )
    };
    match req.target()? {
        RevokeTarget::User(h) => {
            let signer = by_user.ok_or_else(unauthorized)?;
            ctx.spend_nonce(signed).await?;
            revoke_user(ctx, signer, h, reason).await
        }
        RevokeTarget::Machine(m) => {
            if by_user.is_none() && MachineId::for_agent(&signed.key) != m {
                return Err(unauthorized());
            }
            ctx.spend_nonce(signed).await?;
            revoke_machine(ctx, signed, by_user, m, reason).await
        }
    }
}

async fn revoke_user(
    ctx: &Ctx,
    signer: &Admin,
    handle: Handle,
    reason: Option<String>,
) -> Result<RevokeReply, ApiError> {
    let not_found = || ApiError::new(ErrorCode::NotFound, "no such user");
    let first = ctx.store.user(&handle).await?.ok_or_else(not_found)?;
    // Who may do this: the user itself (while active), or an admin who may manage it.
    let actor = signer.actor();
    let by_self = signer.user().is_some_and(|u| u.value.handle == handle);
    if !by_self {
        signer
            .may_change(ctx, Permission::UserRevoke, &first.value)
            .await?;
    }
    let now = ctx.clock.now().to_rfc3339();
    let last_owner = || ApiError::new(ErrorCode::LastOwner, "the last owner cannot be revoked");
    let decided = ctx
        .store
        .modify_user(&handle, last_owner, |cur| {
            let cur = cur.ok_or_else(not_found)?;
            if cur.value.status == UserStatus::Revoked {
                return Ok(Decision::Keep(()));
            }
            let mut next = cur.value.clone();
            next.status = UserStatus::Revoked;
            next.updated_at = Some(now.clone());
            next.revoked = Some(Revocation {
                at: now.clone(),
                by: actor.id.clone(),
                reason: reason.clone(),
            });
            Ok(Decision::put(next))
        })
        .await;
    let m = decided?;
    let cur = m.current.ok_or_else(not_found)?;
    if m.changed {
        crate::failpoint::hit("revoke.after_flip");
    }
    // Revoking twice is a success that changes nothing. The event is published again
    // with the same id (so the stream keeps one copy): a worker that died between the
    // flip and the event leaves the retry to record it.
    let rec = cur.value.revoked.clone();
    let by_actor = match (&rec, m.changed) {
        (Some(r), false) => Actor {
            id: r.by.clone(),
            kind: ActorType::User,
            name: None,
        },
        _ => actor.clone(),
    };
    let event = Event::UserRevoked {
        handle: &handle,
        revision: cur.revision,
        by_self,
        reason: rec.as_ref().and_then(|r| r.reason.as_deref()),
    };
    ctx.audit.record(by_actor, event).await?;
    if !m.changed {
        let at = rec.map(|r| r.at).unwrap_or_default();
        return Ok(reply(Some(handle), None, false, at, 0));
    }
    crate::failpoint::hit("revoke.after_audit");
    let evicted = super::common::kick_user(ctx, &handle, &actor, cur.revision, None).await;
    Ok(reply(Some(handle), None, true, now, evicted))
}

async fn revoke_machine(
    ctx: &Ctx,
    signed: &Signed,
    by_user: Option<&Admin>,
    id: MachineId,
    reason: Option<String>,
) -> Result<RevokeReply, ApiError> {
    let not_found = || ApiError::new(ErrorCode::NotFound, "no such machine");
    let first = ctx.store.machine(&id).await?.ok_or_else(not_found)?;
    let (actor, by_self) = if first.value.agent_pub == signed.key {
        if first.value.state == MachineState::Revoked {
            return Err(ApiError::new(
                ErrorCode::Unauthorized,
                "this machine is revoked",
            ));
        }
        (Actor::machine(&id, first.value.hostname.as_deref()), true)
    } else {
        let admin = by_user.ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthorized,
                "the signing key is not an active user",
            )
        })?;
        let (t, s) = (&first.value.tenant, &first.value.site);
        if !admin.sees(Permission::MachineRead, t, Some(s)) {
            return Err(not_found());
        }
        admin.require(Permission::MachineRevoke, t, Some(s))?;
        (admin.actor(), false)
    };
    let now = ctx.clock.now().to_rfc3339();
    let m = ctx
        .store
        .machines
        .modify(&id, |cur| {
            let cur = cur.ok_or_else(not_found)?;
            if cur.value.state == MachineState::Revoked {
                return Ok::<_, ApiError>(Decision::Keep(()));
            }
            let mut next = cur.value.clone();
            next.state = MachineState::Revoked;
            next.updated_at = Some(now.clone());
            next.revoked = Some(Revocation {
                at: now.clone(),
                by: if by_self {
                    "self".into()
                } else {
                    actor.id.clone()
                },
                reason: reason.clone(),
            });
            Ok(Decision::put(next))
        })
        .await?;
    let cur = m.current.ok_or_else(not_found)?;
    if m.changed {
        crate::failpoint::hit("revoke.after_flip");
    }
    // As for users: a repeat records the event again under the same id.
    let rec = cur.value.revoked.clone();
    let event = Event::MachineRevoked {
        machine: &cur.value,
        revision: cur.revision,
        by_self,
        reason: rec.as_ref().and_then(|r| r.reason.as_deref()),
    };
    ctx.audit.record(actor.clone(), event).await?;
    if !m.changed {
        let at = rec.map(|r| r.at).unwrap_or_default();
        return Ok(reply(None, Some(id), false, at, 0));
    }
    crate::failpoint::hit("revoke.after_audit");
    let names = crate::bus::machine_conn_names(id.as_str(), &cur.value.credential_sha256);
    let evicted = super::evict(ctx, &names, Evicted::Machine(&id), &actor, cur.revision).await;
    Ok(reply(None, Some(id), true, now, evicted))
}

fn reply(
    user: Option<Handle>,
    machine: Option<MachineId>,
    changed: bool,
    revoked_at: String,
    evicted: usize,
) -> RevokeReply {
    RevokeReply {
        user,
        machine,
        status: "revoked".into(),
        changed,
        revoked_at,
        evicted,
    }
}
