//! `admin.credential.list`: one holder's credentials, masked, in creation order (paged
//! over the holder's name claims, a key filter the server applies).

use crate::domain::{CredentialHolder, CredentialScope};
use crate::wire::admin::{CredentialListReply, CredentialListRequest, PageLimit};
use crate::wire::ApiError;

use super::credentials::{check_named, holder_of, vault, view, Access};
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: CredentialListRequest,
) -> Result<CredentialListReply, ApiError> {
    vault(ctx)?;
    let scope = req.scope.unwrap_or(CredentialScope::User);
    let holder = match (&req.owner, scope) {
        (Some(owner), CredentialScope::User) => CredentialHolder::User(owner.clone()),
        _ => holder_of(admin, scope, req.tenant.as_ref())?,
    };
    // A list the requester may not read is refused (not emptied): it names its holder.
    check_named(admin, &holder, Access::Read, "list the credentials of")?;
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
