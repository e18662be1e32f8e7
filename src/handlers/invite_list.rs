//! `admin.invite.list`: invites filtered by state, paged by cursor; only those the reader
//! may see. Pending, expired (pending past `expires_at`) and cancelled invites are read
//! from the invites' index (`<place>.pending`, `<place>.cancelled`: the server filters
//! them, in the order they were created), so a page costs its size however many invites
//! were redeemed; `used` and no filter page the bucket (in the order invites were last
//! written), the state applied to the records read within the page's scan budget.

use crate::authz::Permission;
use crate::wire::admin::{InviteListReply, InviteListRequest, InviteStateFilter};
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
    let from = match req.state {
        Some(InviteStateFilter::Pending | InviteStateFilter::Expired) => {
            Listing::Index("*.pending")
        }
        Some(InviteStateFilter::Cancelled) => Listing::Index("*.cancelled"),
        Some(InviteStateFilter::Used) | None => Listing::Bucket(">"),
    };
    let (invites, cursor) = list_page(
        &ctx.store.invites,
        from,
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
