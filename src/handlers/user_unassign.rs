//! `admin.user.unassign`: take one assignment from a user (PROTOCOL §8). The last active
//! owner of a tenant or of the platform keeps its owner assignment (`last_owner`);
//! unassigning what it does not hold is a success that changes nothing.

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
    let change = Change {
        action: AssignAction::Unassign,
        assignment: a.clone(),
    };
    apply(ctx, admin, &req.handle, change, |cur| {
        cur.iter().filter(|x| **x != a).cloned().collect()
    })
    .await
}
