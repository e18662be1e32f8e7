//! `admin.machine.approve`: a pending machine becomes active. A machine that was pending
//! because its uid collided takes the uid over (the operator decided it is the real one).

use crate::store::records::MachineState;
use crate::wire::admin::{MachineIdRequest, MachineView};
use crate::wire::ApiError;

use super::machine_get::view;
use super::machine_reject::decide;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: MachineIdRequest,
) -> Result<MachineView, ApiError> {
    let m = decide(ctx, admin, &req.machine_id, MachineState::Active).await?;
    Ok(view(&m))
}
