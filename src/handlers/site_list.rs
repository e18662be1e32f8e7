//! `admin.site.list`: sites in the order they were last written, optionally of one
//! tenant (a key filter `<tenant>.>` the server applies); only those the reader may see.

use crate::authz::Permission;
use crate::wire::admin::{SiteListReply, SiteListRequest};
use crate::wire::ApiError;

use super::common::Listing;
use super::site_get::view;
use super::{list_page, Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: SiteListRequest,
) -> Result<SiteListReply, ApiError> {
    let filter = req
        .tenant
        .as_ref()
        .map_or_else(|| ">".to_owned(), |t| format!("{}.>", t.as_str()));
    let (sites, cursor) = list_page(
        &ctx.store.sites,
        Listing::Bucket(&filter),
        req.cursor.as_ref(),
        req.limit,
        // Only the sites the reader may see (the page goes on past the others).
        |s| {
            admin
                .sees(Permission::SiteRead, &s.tenant, Some(&s.site))
                .then(|| view(&s))
        },
    )
    .await?;
    Ok(SiteListReply { sites, cursor })
}
