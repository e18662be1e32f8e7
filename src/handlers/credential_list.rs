//! `admin.credential.list`: one holder's credentials, masked, in creation order (paged
//! over the holder's name claims, a key filter the server applies).

use crate::domain::{CredentialHolder, CredentialScope};
use crate::wire::admin::{CredentialListReply, CredentialListRequest, PageLimit};
use crate::wire::{ApiError, ErrorCode};

use super::credentials::{check, holder_of, view, Access};
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: CredentialListRequest,
) -> Result<CredentialListReply, ApiError> {
    let scope = req.scope.unwrap_or(CredentialScope::User);
    let holder = match (&req.owner, scope) {
        (Some(owner), CredentialScope::User) => CredentialHolder::User(owner.clone()),
        _ => holder_of(admin, scope, req.tenant.as_ref()),
    };
    // A list the requester may not read is refused (not emptied): it names its holder.
    check(admin, &holder, Access::Read).map_err(|e| {
        if e.code == ErrorCode::NotFound {
            ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "{} may not list the credentials of {holder}",
                    admin.user.value.handle
                ),
            )
        } else {
            e
        }
    })?;
    let after = match &req.cursor {
        Some(c) => Some(
            c.seq()
                .ok_or_else(|| ApiError::bad_request("cursor is not one this service returned"))?,
        ),
        None => None,
    };
    let page = ctx
        .store
        .credential_page(&holder, after, PageLimit::or_default(req.limit))
        .await?;
    Ok(CredentialListReply {
        credentials: page.items.iter().map(|c| view(&c.value)).collect(),
        cursor: page.next.map(|n| n.to_string()),
    })
}
