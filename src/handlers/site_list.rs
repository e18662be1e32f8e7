//! `admin.site.list`: sites in `tenant.SITE` order, optionally of one tenant.

use crate::wire::admin::{PageLimit, SiteListReply, SiteListRequest, SiteView};
use crate::wire::ApiError;

use super::site_get::view;
use super::{page_after, Ctx};

pub(super) async fn handle(ctx: &Ctx, req: SiteListRequest) -> Result<SiteListReply, ApiError> {
    let limit = PageLimit::or_default(req.limit);
    let keys = ctx.store.sites.keys().await?;
    let prefix = req.tenant.as_ref().map(|t| format!("{}.", t.as_str()));
    let mut sites: Vec<SiteView> = Vec::new();
    let mut next = None;
    for key in page_after(&keys, req.cursor.as_ref().map(|c| c.as_str())) {
        if prefix
            .as_ref()
            .is_some_and(|p| !key.starts_with(p.as_str()))
        {
            continue;
        }
        let Some(rec) = ctx.store.sites.get(key).await? else {
            continue;
        };
        if sites.len() == limit {
            next = sites
                .last()
                .map(|s| format!("{}.{}", s.tenant.as_str(), s.site.as_str()));
            break;
        }
        sites.push(view(&rec.value));
    }
    Ok(SiteListReply {
        sites,
        cursor: next,
    })
}
