//! `admin.invite.cancel`: a pending (or expired) invite becomes `cancelled`.

use crate::audit::{AuditEvent, Outcome, Target};
use crate::store::records::InviteState;
use crate::store::StoreError;
use crate::time_util;
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
    loop {
        let cur = ctx
            .store
            .invite(&id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such invite"))?;
        match cur.value.state {
            // Cancelling twice is a success that changes nothing.
            InviteState::Cancelled => return Ok(view(&cur.value)),
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
        next.cancelled_at = Some(time_util::now_rfc3339());
        next.cancelled_by = Some(admin.user.value.handle.to_string());
        match ctx
            .store
            .invites
            .update(id.as_str(), &next, cur.revision)
            .await
        {
            Ok(rev) => {
                let ev = AuditEvent::new(
                    &format!("invite.cancelled/{id}/{rev}"),
                    "invite.cancelled",
                    Outcome::Ok,
                    admin.actor(),
                    Target::new("invite", id.as_str()),
                )
                .with("handle", next.handle.as_str());
                ctx.audit.publish(&ev).await?;
                return Ok(view(&next));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
