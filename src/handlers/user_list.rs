//! `admin.user.list`: users in the order they were last written, filtered by tenant,
//! role and status (applied to the records read, within the page's scan budget), paged
//! by cursor; only those the reader may see.

use crate::authz::Permission;
use crate::store::records::UserStatus;
use crate::wire::admin::{UserListReply, UserListRequest, UserStatusFilter};
use crate::wire::ApiError;

use super::common::Listing;
use super::user_get::view;
use super::{list_page, Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: UserListRequest,
) -> Result<UserListReply, ApiError> {
    let status = req.status.map(|s| match s {
        UserStatusFilter::Active => UserStatus::Active,
        UserStatusFilter::Revoked => UserStatus::Revoked,
    });
    let (users, cursor) = list_page(
        &ctx.store.users,
        Listing::Bucket(">"),
        req.cursor.as_ref(),
        req.limit,
        |u| {
            let in_tenant = |a: &crate::authz::Assignment| {
                req.tenant
                    .as_ref()
                    .is_none_or(|t| a.scope().tenant() == Some(t))
            };
            let role_ok = u
                .assignments
                .iter()
                .any(|a| in_tenant(a) && req.role.as_ref().is_none_or(|r| a.role() == r))
                || (req.role.is_none() && req.tenant.is_none());
            let wanted = role_ok
                && status.is_none_or(|s| s == u.status)
                && admin.sees_user(Permission::UserRead, &u);
            wanted.then(|| view(&u))
        },
    )
    .await?;
    Ok(UserListReply { users, cursor })
}
