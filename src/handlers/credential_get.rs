//! `admin.credential.get`: one credential, masked (never its value). One the requester
//! may not read is `not_found`.

use crate::wire::admin::{CredentialIdRequest, CredentialView};
use crate::wire::ApiError;

use super::credentials::{load, vault, view, Access};
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: CredentialIdRequest,
) -> Result<CredentialView, ApiError> {
    vault(ctx)?;
    let (cur, _) = load(ctx, admin, &req.credential_id, Access::Read).await?;
    Ok(view(&cur.value))
}
