//! `admin.apikey.list`: a tenant's API keys (key filter `<tenant>.>` the server applies),
//! in the order they were last written.

use crate::authz::Permission;
use crate::wire::admin::{ApiKeyListReply, ApiKeyListRequest};

use super::apikey_get::view;
use super::common::Listing;
use super::{list_page, Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: ApiKeyListRequest,
) -> Result<ApiKeyListReply, crate::wire::ApiError> {
    let tenant = req.tenant.unwrap_or_else(|| admin.home_tenant());
    admin.require(Permission::ApikeyRead, &tenant, None)?;
    let filter = format!("{}.>", tenant.as_str());
    let (keys, cursor) = list_page(
        &ctx.store.apikeys,
        Listing::Bucket(&filter),
        req.cursor.as_ref(),
        req.limit,
        |k| Some(view(&k)),
    )
    .await?;
    Ok(ApiKeyListReply { keys, cursor })
}
