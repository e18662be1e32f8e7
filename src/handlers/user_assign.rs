//! `admin.user.assign`: give a user one more assignment (PROTOCOL §8). Assigning what it
//! already holds is a success that changes nothing.

use crate::store::records::AssignAction;
use crate::wire::admin::{AssignRequest, UserView};
use crate::wire::ApiError;

use super::user_set_role::{apply, Change};
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: AssignRequest,
) -> Result<UserView, ApiError> {
    let a = req.assignment()?;
    ctx.writable_scope(&a).await?;
    let a = admin.may_grant(ctx, &a).await?;
    let change = Change {
        action: AssignAction::Assign,
        assignment: a.clone(),
    };
    apply(ctx, admin, &req.handle, change, |cur| {
        let mut next = cur.to_vec();
        if !next.contains(&a) {
            next.push(a.clone());
        }
        next
    })
    .await
}
