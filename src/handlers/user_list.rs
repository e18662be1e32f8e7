//! `admin.user.list`: users in handle order, filtered by role and status, paged by cursor.

use crate::wire::admin::{PageLimit, UserListReply, UserListRequest, UserStatusFilter, UserView};
use crate::wire::ApiError;

use super::user_get::view;
use super::{page_after, Ctx};

pub(super) async fn handle(ctx: &Ctx, req: UserListRequest) -> Result<UserListReply, ApiError> {
    let limit = PageLimit::or_default(req.limit);
    let cursor = req.cursor.as_ref().map(|c| c.as_str());
    let keys = ctx.store.users.keys().await?;
    let mut users: Vec<UserView> = Vec::new();
    let mut next = None;
    for key in page_after(&keys, cursor) {
        let Some(rec) = ctx.store.users.get(key).await? else {
            continue;
        };
        let v = view(&rec.value);
        if req.role.is_some_and(|r| r != v.role) {
            continue;
        }
        let status = match req.status {
            Some(UserStatusFilter::Active) => Some("active"),
            Some(UserStatusFilter::Revoked) => Some("revoked"),
            None => None,
        };
        if status.is_some_and(|s| s != v.status) {
            continue;
        }
        if users.len() == limit {
            next = users.last().map(|l| l.handle.to_string());
            break;
        }
        users.push(v);
    }
    Ok(UserListReply {
        users,
        cursor: next,
    })
}
