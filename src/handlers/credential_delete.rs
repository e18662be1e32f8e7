//! `admin.credential.delete`: the record (its encrypted value with it), then its name
//! claim, then `credential.deleted`. A user's credential may also be deleted by a
//! platform admin (who may never reveal it).

use crate::audit::CredentialAction;
use crate::wire::admin::{CredentialDeleteReply, CredentialIdRequest};
use crate::wire::{ApiError, ErrorCode};

use super::credentials::{load, publish, vault, writable, Access};
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: CredentialIdRequest,
) -> Result<CredentialDeleteReply, ApiError> {
    vault(ctx)?;
    let (cur, holder) = load(ctx, admin, &req.credential_id, Access::Delete).await?;
    writable(ctx, &holder).await?;
    if !ctx.store.delete_credential(&cur).await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the credential changed concurrently; retry",
        ));
    }
    publish(ctx, admin, CredentialAction::Deleted, &cur).await?;
    Ok(CredentialDeleteReply {
        credential_id: req.credential_id,
        deleted: true,
    })
}
