//! `admin.invite.cancel`: a pending (or expired) invite becomes `cancelled`.

use crate::audit::Event;
use crate::authz::{AssignScope, Permission};
use crate::store::records::{ChangeNote, InviteRecord, InviteState, Noted};
use crate::store::{Decision, Versioned};
use crate::wire::admin::{InviteIdRequest, InviteView};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::invite_get::view;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: InviteIdRequest,
) -> Result<InviteView, ApiError> {
    let id = req.invite_id;
    let not_found = || ApiError::new(ErrorCode::NotFound, "no such invite");
    let first = ctx.store.invite(&id).await?.ok_or_else(not_found)?;
    if !admin.sees_scope(Permission::InviteRead, first.value.assignment.scope()) {
        return Err(not_found());
    }
    match first.value.assignment.scope() {
        AssignScope::Site(s) => {
            admin.require(Permission::InviteCancel, &s.tenant, Some(&s.site))?
        }
        AssignScope::Tenant(t) => admin.require(Permission::InviteCancel, t, None)?,
        AssignScope::Platform => admin.require_platform(Permission::InviteCancel)?,
    }
    ctx.writable_scope(&first.value.assignment).await?;
    let now = ctx.clock.now().to_rfc3339();
    let m = ctx
        .store
        .invites
        .modify(&id, |cur| {
            let cur = cur.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such invite"))?;
            match cur.value.state {
                // Cancelling twice is a success that changes nothing.
                InviteState::Cancelled => return Ok(Decision::Keep(())),
                InviteState::Used => {
                    return Err(ApiError::new(
                        ErrorCode::Conflict,
                        "the invite was already used",
                    ))
                }
                InviteState::Pending => {}
            }
            let mut next = cur.value.clone();
            next.state = InviteState::Cancelled;
            next.cancelled_at = Some(now.clone());
            next.cancelled_by = Some(admin.name().to_owned());
            next.note = Some(admin.note(&now, Noted::InviteCancelled));
            Ok(Decision::put(next))
        })
        .await?;
    crate::failpoint::hit("invite_cancel.after_write");
    let cur = m
        .current
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such invite"))?;
    if m.changed {
        finish(ctx, &cur, Publish::Always).await?;
    }
    Ok(view(&cur.value, ctx.clock.now()))
}

/// `invite.cancelled`, from the cancel's note (by the handler, or by a healer).
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<InviteRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let Some(
        note @ ChangeNote {
            change: Noted::InviteCancelled,
            ..
        },
    ) = &cur.value.note
    else {
        return Ok(());
    };
    let event = Event::InviteCancelled {
        invite_id: &cur.value.invite_id,
        revision: cur.revision,
        handle: &cur.value.handle,
    };
    publish
        .record(ctx, super::user_delete::note_actor(note), event)
        .await?;
    Ok(())
}
