//! `admin.user.get`: one user by handle.

use crate::store::records::UserRecord;
use crate::wire::admin::{HandleRequest, UserView};
use crate::wire::{ApiError, ErrorCode};

use super::Ctx;

pub(super) async fn handle(ctx: &Ctx, req: HandleRequest) -> Result<UserView, ApiError> {
    let user = ctx
        .store
        .user(&req.handle)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such user"))?;
    Ok(view(&user.value))
}

/// The admin view of a user.
pub(crate) fn view(rec: &UserRecord) -> UserView {
    UserView {
        handle: rec.handle.clone(),
        role: rec.role,
        status: rec.status.as_str().to_owned(),
        sign_pub: rec.sign_pub.to_hex(),
        kex_pub: rec.kex_pub.to_hex(),
        registered_at: rec.registered_at.clone(),
        sites: rec.sites.clone(),
        invite_id: rec.invite_id.clone(),
        updated_at: rec.updated_at.clone(),
    }
}
