//! `admin.invite.get`: one invite, never its token.

use crate::store::records::{InviteRecord, InviteState};
use crate::wire::admin::{InviteIdRequest, InviteView};
use crate::wire::{ApiError, ErrorCode};

use super::register::is_expired;
use super::Ctx;

pub(super) async fn handle(ctx: &Ctx, req: InviteIdRequest) -> Result<InviteView, ApiError> {
    let inv = ctx
        .store
        .invite(&req.invite_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such invite"))?;
    Ok(view(&inv.value, ctx.clock.now()))
}

/// The admin view of an invite; `expired` is derived from `expires_at`.
pub(crate) fn view(rec: &InviteRecord, now: crate::time_util::Timestamp) -> InviteView {
    let state = match rec.state {
        InviteState::Pending if is_expired(rec, now) => "expired",
        InviteState::Pending => "pending",
        InviteState::Used => "used",
        InviteState::Cancelled => "cancelled",
    };
    InviteView {
        invite_id: rec.invite_id.clone(),
        handle: rec.handle.clone(),
        role: rec.role,
        state: state.to_owned(),
        created_at: rec.created_at.clone(),
        created_by: rec.created_by.clone(),
        expires_at: rec.expires_at.clone(),
        used_at: rec.used_at.clone(),
        used_sign_pub: rec.used_sign_pub.map(|k| k.to_hex()),
        cancelled_at: rec.cancelled_at.clone(),
        cancelled_by: rec.cancelled_by.clone(),
    }
}
