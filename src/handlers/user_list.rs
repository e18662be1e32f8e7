//! `admin.user.list`: users in the order they were last written, filtered by role and
//! status (applied to the records read, within the page's scan budget), paged by cursor.

use crate::store::records::UserStatus;
use crate::wire::admin::{UserListReply, UserListRequest, UserStatusFilter};
use crate::wire::ApiError;

use super::common::Listing;
use super::user_get::view;
use super::{list_page, Ctx};

pub(super) async fn handle(ctx: &Ctx, req: UserListRequest) -> Result<UserListReply, ApiError> {
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
            let wanted =
                req.role.is_none_or(|r| r == u.role) && status.is_none_or(|s| s == u.status);
            wanted.then(|| view(&u))
        },
    )
    .await?;
    Ok(UserListReply { users, cursor })
}
