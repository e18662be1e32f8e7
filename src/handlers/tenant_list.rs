//! `admin.tenant.list`: tenants in the order they were last written, optionally only
//! those whose stored status is `status` (applied to the records read).

use crate::wire::admin::{TenantListReply, TenantListRequest};
use crate::wire::ApiError;

use super::common::Listing;
use super::tenant_get::view;
use super::{list_page, Ctx};

pub(super) async fn handle(ctx: &Ctx, req: TenantListRequest) -> Result<TenantListReply, ApiError> {
    let now = ctx.clock.now();
    let (tenants, cursor) = list_page(
        &ctx.store.tenants,
        Listing::Bucket(">"),
        req.cursor.as_ref(),
        req.limit,
        |t| {
            req.status
                .is_none_or(|s| t.status == s)
                .then(|| view(&t, now))
        },
    )
    .await?;
    Ok(TenantListReply { tenants, cursor })
}
