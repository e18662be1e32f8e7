//! `admin.credential.rotate`: a new value (sealed like `create`'s, to the credential's
//! own `{scope}/{owner or tenant}/{provider}/{name}`), and optionally a new expiry, which
//! re-arms `credential.expiring`. A revoked credential is not rotated (`conflict`).

use crate::audit::CredentialAction;
use crate::domain::masked_value;
use crate::store::{Decision, StoreError};
use crate::time_util::Timestamp;
use crate::wire::admin::{CredentialRotateRequest, CredentialView};
use crate::wire::{ApiError, ErrorCode};

use super::credentials::{
    load, not_found, opened_value, publish, vault, vault_error, view, writable, Access,
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
    let expires_at = req.expires_at.map(|t| Timestamp::from_offset(t.0));
    if expires_at.is_some_and(|at| at.has_passed(now)) {
        return Err(ApiError::bad_request("expires_at is in the past"));
    }
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
    let m = ctx
        .store
        .vault
        .modify(&id, |c| {
            let Some(c) = c else {
                return Err(not_found());
            };
            if !c.value.active {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    "the credential is revoked: it is not rotated",
                ));
            }
            let mut next = c.value.clone();
            next.value = stored.clone();
            next.masked_value = masked.clone();
            next.rotated_at = Some(at.clone());
            next.updated_at = at.clone();
            if let Some(e) = expires_at {
                let e = e.to_rfc3339();
                if next.expires_at.as_deref() != Some(e.as_str()) {
                    next.expiring_notified_at = None;
                }
                next.expires_at = Some(e);
            }
            Ok::<_, ApiError>(Decision::put(next))
        })
        .await?;
    let cur = m
        .current
        .ok_or_else(|| ApiError::from(StoreError::Conflict))?;
    publish(ctx, admin, CredentialAction::Rotated, &cur).await?;
    Ok(view(&cur.value))
}
