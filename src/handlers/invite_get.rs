//! `admin.invite.get`: one invite, never its token.

use crate::authz::Permission;
use crate::store::records::{InviteRecord, InviteState};
use crate::wire::admin::{InviteIdRequest, InviteView};
use crate::wire::{ApiError, ErrorCode};

use super::register::is_expired;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: InviteIdRequest,
) -> Result<InviteView, ApiError> {
    let not_found = || ApiError::new(ErrorCode::NotFound, "no such invite");
    let inv = ctx
        .store
        .invite(&req.invite_id)
        .await?
        .ok_or_else(not_found)?;
    if !admin.sees_scope(Permission::InviteRead, inv.value.assignment.scope()) {
        return Err(not_found());
    }
    Ok(view(&inv.value, ctx.clock.now()))
}

/// The tenant an assignment lies in, as views name it (`platform` for platform scope).
pub(crate) fn tenant_label(a: &crate::authz::Assignment) -> String {
    a.scope()
        .tenant()
        .map_or_else(|| "platform".to_owned(), |t| t.as_str().to_owned())
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
        role: rec.assignment.role().clone(),
        assignment: rec.assignment.clone(),
        tenant: tenant_label(&rec.assignment),
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
