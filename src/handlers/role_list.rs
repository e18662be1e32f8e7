//! `admin.role.list`: a tenant's roles (key filter `<tenant>.>` the server applies).

use crate::authz::{Permission, Visibility};
use crate::wire::admin::{tenant_or_default, RoleListReply, RoleListRequest};
use crate::wire::{ApiError, ErrorCode};

use super::common::Listing;
use super::role_get::view;
use super::{list_page, Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: RoleListRequest,
) -> Result<RoleListReply, ApiError> {
    let tenant = tenant_or_default(&req.tenant);
    if admin.grants.visible_sites(Permission::RoleRead, &tenant) == Visibility::None {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("no role:read in tenant {}", tenant.as_str()),
        ));
    }
    let filter = format!("{}.>", tenant.as_str());
    let (roles, cursor) = list_page(
        &ctx.store.roles,
        Listing::Bucket(&filter),
        req.cursor.as_ref(),
        req.limit,
        |r| Some(view(&r)),
    )
    .await?;
    Ok(RoleListReply { roles, cursor })
}
