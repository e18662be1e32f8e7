//! `admin.credential.revoke`: the credential goes inactive; it is never revealed again
//! (nor rotated). Revoking twice is a success that changes nothing (one event). Like
//! every revoke, it works in a frozen tenant.

use crate::audit::CredentialAction;
use crate::store::{Decision, StoreError};
use crate::wire::admin::{CredentialIdRequest, CredentialView};
use crate::wire::ApiError;

use super::credentials::{load, not_found, publish, view, Access};
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: CredentialIdRequest,
) -> Result<CredentialView, ApiError> {
    let id = req.credential_id;
    load(ctx, admin, &id, Access::Manage).await?;
    let at = ctx.clock.now().to_rfc3339();
    let m = ctx
        .store
        .vault
        .modify(&id, |c| {
            let Some(c) = c else {
                return Err(not_found());
            };
            if !c.value.active {
                return Ok(Decision::Keep(()));
            }
            let mut next = c.value.clone();
            next.active = false;
            next.revoked_at = Some(at.clone());
            next.updated_at = at.clone();
            Ok::<_, ApiError>(Decision::put(next))
        })
        .await?;
    let cur = m
        .current
        .ok_or_else(|| ApiError::from(StoreError::Conflict))?;
    if m.changed {
        publish(ctx, admin, CredentialAction::Revoked, &cur).await?;
    }
    Ok(view(&cur.value))
}
