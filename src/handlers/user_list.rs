//! `admin.user.list`: users filtered by tenant, role and status, paged by cursor; only
//! those the reader may see. With a tenant: the users' index (`<tenant>.<status>`), in
//! the order they entered their place there, the role filter applied to the tenant's
//! users read; without: the bucket in the order users were last written, the filters
//! applied to the records read, within the page's scan budget.

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
    // A tenant's users page its index subjects (`<tenant>.<status>`); the whole list
    // pages the bucket (a user of several tenants has an entry in each).
    let subject = req.tenant.as_ref().map(|t| {
        format!(
            "{}.{}",
            t.as_str(),
            status.map_or("*", crate::store::records::UserStatus::as_str)
        )
    });
    let from = match &subject {
        Some(s) => Listing::Index(s),
        None => Listing::Bucket(">"),
    };
    let (users, cursor) = list_page(
        &ctx.store.users,
        from,
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
