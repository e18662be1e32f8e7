//! `admin.credential.revoke`: the credential goes inactive; it is never revealed again
//! (nor rotated). Revoking twice is a success that changes nothing (one event). Like
//! every revoke, it works in a frozen tenant.

use crate::store::records::Noted;
use crate::wire::admin::{CredentialIdRequest, CredentialView};
use crate::wire::ApiError;

use super::common::Publish;
use super::credentials::{change, finish, load, note, vault, view, Access};
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: CredentialIdRequest,
) -> Result<CredentialView, ApiError> {
    vault(ctx)?;
    let id = req.credential_id;
    load(ctx, admin, &id, Access::Manage).await?;
    let at = ctx.clock.now().to_rfc3339();
    let noted = note(admin, &at, Noted::CredentialRevoked);
    let (cur, changed) = change(ctx, &id, |c| {
        if !c.active {
            return Ok(None);
        }
        let mut next = c.clone();
        next.active = false;
        next.revoked_at = Some(at.clone());
        next.updated_at = at.clone();
        next.note = Some(noted.clone());
        Ok(Some(next))
    })
    .await?;
    if changed {
        crate::failpoint::hit("credential_revoke.after_write");
        finish(ctx, &cur, Publish::Always).await?;
    }
    Ok(view(&cur.value))
}
