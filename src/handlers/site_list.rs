//! `admin.site.list`: sites in `tenant.SITE` order, optionally of one tenant.

use crate::wire::admin::{SiteListReply, SiteListRequest};
use crate::wire::ApiError;

use super::site_get::view;
use super::{list_page, Ctx};

pub(super) async fn handle(ctx: &Ctx, req: SiteListRequest) -> Result<SiteListReply, ApiError> {
    let (sites, cursor) = list_page(&ctx.store.sites, req.cursor.as_ref(), req.limit, |s| {
        req.tenant
            .as_ref()
            .is_none_or(|t| *t == s.tenant)
            .then(|| view(&s))
    })
    .await?;
    Ok(SiteListReply { sites, cursor })
}
