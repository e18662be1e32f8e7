//! `admin.invite.list`: invites in the order they were last written, filtered by state
//! (applied to the records read, within the page's scan budget), paged by cursor; only
//! those the reader may see.

use crate::authz::Permission;
use crate::wire::admin::{InviteListReply, InviteListRequest};
use crate::wire::ApiError;

use super::common::Listing;
use super::invite_get::view;
use super::{list_page, Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: InviteListRequest,
) -> Result<InviteListReply, ApiError> {
    let now = ctx.clock.now();
    let (invites, cursor) = list_page(
        &ctx.store.invites,
        Listing::Bucket(">"),
        req.cursor.as_ref(),
        req.limit,
        |rec| {
            if !admin.sees_scope(Permission::InviteRead, rec.assignment.scope()) {
                return None;
            }
            let v = view(&rec, now);
            req.state.is_none_or(|s| s.as_str() == v.state).then_some(v)
        },
    )
    .await?;
    Ok(InviteListReply { invites, cursor })
}
