//! `admin.credential.rotate`: a new value (sealed like `create`'s, to the credential's
//! own `{scope}/{owner or tenant}/{provider}/{name}`), and optionally a new expiry, which
//! re-arms `credential.expiring`. A revoked credential is not rotated (`conflict`).

use crate::domain::masked_value;
use crate::store::records::Noted;
use crate::wire::admin::{CredentialRotateRequest, CredentialView};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::credentials::{
    change, finish, future_expiry, load, note, opened_value, vault, vault_error, view, writable,
    Access,
};
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: CredentialRotateRequest,
) -> Result<CredentialView, ApiError> {
    let vault = vault(ctx)?;
    let id = req.credential_id;
    let (cur, holder) = load(ctx, admin, &id, Access::Manage).await?;
    writable(ctx, &holder).await?;
    let now = ctx.clock.now();
    let expires_at = future_expiry(req.expires_at, now)?;
    let value = opened_value(
        vault,
        &req.value,
        &holder.sealing_ad(&cur.value.provider, &cur.value.name),
    )?;
    let at = now.to_rfc3339();
    let stored = vault
        .encrypt(&ctx.store, &holder, &id, &value, &at)
        .await
        .map_err(vault_error)?;
    let masked = masked_value(&value);
    drop(value);
    let noted = note(admin, &at, Noted::CredentialRotated);
    let (cur, _) = change(ctx, &id, |c| {
        if !c.active {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "the credential is revoked: it is not rotated",
            ));
        }
        let mut next = c.clone();
        next.value = stored.clone();
        next.masked_value = masked.clone();
        next.rotated_at = Some(at.clone());
        next.updated_at = at.clone();
        next.note = Some(noted.clone());
        if let Some(e) = expires_at {
            let e = e.to_rfc3339();
            if next.expires_at.as_deref() != Some(e.as_str()) {
                next.expiring_notified_at = None;
            }
            next.expires_at = Some(e);
        }
        Ok(Some(next))
    })
    .await?;
    crate::failpoint::hit("credential_rotate.after_write");
    finish(ctx, &cur, Publish::Always).await?;
    Ok(view(&cur.value))
}
