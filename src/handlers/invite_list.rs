//! `admin.invite.list`: invites in id order, filtered by state, paged by cursor.

use crate::wire::admin::{InviteListReply, InviteListRequest, PageLimit};
use crate::wire::ApiError;

use super::invite_get::view;
use super::{page_after, Ctx};

pub(super) async fn handle(ctx: &Ctx, req: InviteListRequest) -> Result<InviteListReply, ApiError> {
    let limit = PageLimit::or_default(req.limit);
    let cursor = req.cursor.as_ref().map(|c| c.as_str());
    let keys = ctx.store.invites.keys().await?;
    let mut invites = Vec::new();
    let mut next = None;
    for key in page_after(&keys, cursor) {
        let Some(rec) = ctx.store.invites.get(key).await? else {
            continue;
        };
        let v = view(&rec.value);
        if req.state.is_some_and(|s| s.as_str() != v.state) {
            continue;
        }
        if invites.len() == limit {
            next = invites
                .last()
                .map(|l: &crate::wire::admin::InviteView| l.invite_id.to_string());
            break;
        }
        invites.push(v);
    }
    Ok(InviteListReply {
        invites,
        cursor: next,
    })
}
