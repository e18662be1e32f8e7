//! `P.v1.revoke`: a user or machine is revoked by an admin holding the permission, or by
//! itself (DESIGN.md, Revoke): a CAS status flip, the audit event, then the eviction of
//! its live connections (the callout refuses the reconnect).

use crate::audit::{Actor, ActorType, AuditEvent, Outcome, Target};
use crate::authz::{self, Permission, Scope};
use crate::domain::{Handle, MachineId, Role};
use crate::store::records::{MachineState, Revocation, UserStatus};
use crate::store::StoreError;
use crate::time_util;
use crate::wire::revoke::{RevokeReply, RevokeRequest};
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
    match (req.user, req.machine) {
        (Some(h), None) => {
            let signer = by_user.ok_or_else(unauthorized)?;
            ctx.spend_nonce(signed).await?;
            revoke_user(ctx, signer, h, reason).await
        }
        (None, Some(m)) => {
            if by_user.is_none() && MachineId::for_agent(&signed.key) != m {
                return Err(unauthorized());
            }
            ctx.spend_nonce(signed).await?;
            revoke_machine(ctx, signed, by_user, m, reason).await
        }
        _ => Err(ApiError::bad_request("give exactly one of user or machine")),
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
    let by_self = signer.user.value.handle == handle;
    if !by_self {
        let role = signer.user.value.role;
        if authz::scope(role, Permission::UserRevoke) != Scope::All
            || !authz::may_manage(role, first.value.role)
        {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "a {role} cannot revoke a user whose role is {}",
                    first.value.role
                ),
            ));
        }
    }
    loop {
        let cur = ctx.store.user(&handle).await?.ok_or_else(not_found)?;
        if cur.value.status == UserStatus::Revoked {
            // Revoking twice is a success that changes nothing. The event is published
            // again with the same id (so the stream keeps one copy): a worker that died
            // between the flip and the event leaves the retry to record it.
            let rec = cur.value.revoked.clone();
            let by = rec
                .as_ref()
                .map_or_else(|| actor.id.clone(), |r| r.by.clone());
            let by_actor = Actor {
                id: by,
                kind: ActorType::User,
                name: None,
            };
            let ev = user_revoked_event(
                &handle,
                cur.revision,
                by_actor,
                by_self,
                rec.as_ref().and_then(|r| r.reason.as_deref()),
            );
            ctx.audit.publish(&ev).await?;
            let at = rec.map(|r| r.at).unwrap_or_default();
            return Ok(reply(Some(handle), None, false, at, 0));
        }
        if cur.value.role == Role::Owner && !ctx.store.remove_owner(&handle).await? {
            return Err(ApiError::new(
                ErrorCode::LastOwner,
                "the last owner cannot be revoked",
            ));
        }
        let now = time_util::now_rfc3339();
        let mut next = cur.value.clone();
        next.status = UserStatus::Revoked;
        next.updated_at = Some(now.clone());
        next.revoked = Some(Revocation {
            at: now.clone(),
            by: actor.id.clone(),
            reason: reason.clone(),
        });
        match ctx
            .store
            .users
            .update(handle.as_str(), &next, cur.revision)
            .await
        {
            Ok(rev) => {
                crate::failpoint::hit("revoke.after_flip");
                let ev =
                    user_revoked_event(&handle, rev, actor.clone(), by_self, reason.as_deref());
                ctx.audit.publish(&ev).await?;
                crate::failpoint::hit("revoke.after_audit");
                let evicted = super::evict(
                    ctx,
                    &[crate::bus::user_conn_name(handle.as_str())],
                    "user.evicted",
                    &actor,
                    Target::new("user", handle.as_str()),
                    rev,
                )
                .await;
                return Ok(reply(Some(handle), None, true, now, evicted));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
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
        let actor = Actor {
            id: id.to_string(),
            kind: ActorType::Machine,
            name: first.value.hostname.clone(),
        };
        (actor, true)
    } else {
        let admin = by_user.ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthorized,
                "the signing key is not an active user",
            )
        })?;
        admin.require_at(Permission::MachineRevoke, &first.value.site)?;
        (admin.actor(), false)
    };
    loop {
        let cur = ctx.store.machine(&id).await?.ok_or_else(not_found)?;
        if cur.value.state == MachineState::Revoked {
            // As for users: record the event again under the same id.
            let rec = cur.value.revoked.clone();
            let ev = machine_revoked_event(
                &cur.value,
                cur.revision,
                actor.clone(),
                by_self,
                rec.as_ref().and_then(|r| r.reason.as_deref()),
            );
            ctx.audit.publish(&ev).await?;
            let at = rec.map(|r| r.at).unwrap_or_default();
            return Ok(reply(None, Some(id), false, at, 0));
        }
        let now = time_util::now_rfc3339();
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
        match ctx
            .store
            .machines
            .update(id.as_str(), &next, cur.revision)
            .await
        {
            Ok(rev) => {
                crate::failpoint::hit("revoke.after_flip");
                let ev =
                    machine_revoked_event(&next, rev, actor.clone(), by_self, reason.as_deref());
                ctx.audit.publish(&ev).await?;
                crate::failpoint::hit("revoke.after_audit");
                let evicted = super::evict(
                    ctx,
                    &crate::bus::machine_conn_names(id.as_str(), &next.credential_sha256),
                    "machine.evicted",
                    &actor,
                    Target::new("machine", id.as_str()),
                    rev,
                )
                .await;
                return Ok(reply(None, Some(id), true, now, evicted));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

fn user_revoked_event(
    handle: &Handle,
    rev: u64,
    actor: Actor,
    by_self: bool,
    reason: Option<&str>,
) -> AuditEvent {
    let mut ev = AuditEvent::new(
        &format!("user.revoked/{handle}/{rev}"),
        "user.revoked",
        Outcome::Ok,
        actor,
        Target::new("user", handle.as_str()),
    )
    .with("self", by_self);
    if let Some(r) = reason {
        ev = ev.with("reason", r);
    }
    ev
}

fn machine_revoked_event(
    m: &crate::store::records::MachineRecord,
    rev: u64,
    actor: Actor,
    by_self: bool,
    reason: Option<&str>,
) -> AuditEvent {
    let id = m.machine_id.as_str();
    let mut ev = AuditEvent::new(
        &format!("machine.revoked/{id}/{rev}"),
        "machine.revoked",
        Outcome::Ok,
        actor,
        Target::new("machine", id),
    )
    .with("self", by_self)
    .with("machine_uid", m.machine_uid.as_str());
    if let Some(r) = reason {
        ev = ev.with("reason", r);
    }
    ev.tenant = Some(m.tenant.as_str().to_owned());
    ev.site = Some(m.site.as_str().to_owned());
    ev
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
