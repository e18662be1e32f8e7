//! `admin.invite.cancel`: a pending (or expired) invite becomes `cancelled`.

use crate::audit::Event;
use crate::store::records::InviteState;
use crate::store::Decision;
use crate::wire::admin::{InviteIdRequest, InviteView};
use crate::wire::{ApiError, ErrorCode};

use super::invite_get::view;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: InviteIdRequest,
) -> Result<InviteView, ApiError> {
    let id = req.invite_id;
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
            next.cancelled_by = Some(admin.user.value.handle.to_string());
            Ok(Decision::put(next))
        })
        .await?;
    let cur = m
        .current
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such invite"))?;
    if m.changed {
        let event = Event::InviteCancelled {
            invite_id: &id,
            revision: cur.revision,
            handle: &cur.value.handle,
        };
        ctx.audit.record(admin.actor(), event).await?;
    }
    Ok(view(&cur.value, ctx.clock.now()))
}
