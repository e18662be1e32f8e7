//! `admin.machine.list`: machines by id, filtered by site, tenant and state.

use crate::store::records::MachineState;
use crate::wire::admin::{MachineListReply, MachineListRequest, MachineStateFilter};
use crate::wire::ApiError;

use super::machine_get::view;
use super::{list_page, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    req: MachineListRequest,
) -> Result<MachineListReply, ApiError> {
    let state = req.state.map(|s| match s {
        MachineStateFilter::Active => MachineState::Active,
        MachineStateFilter::Pending => MachineState::Pending,
        MachineStateFilter::Rejected => MachineState::Rejected,
        MachineStateFilter::Revoked => MachineState::Revoked,
    });
    let (machines, cursor) = list_page(&ctx.store.machines, req.cursor.as_ref(), req.limit, |m| {
        let wanted = req.site.as_ref().is_none_or(|s| *s == m.site)
            && req.tenant.as_ref().is_none_or(|t| *t == m.tenant)
            && state.is_none_or(|s| s == m.state);
        wanted.then(|| view(&m))
    })
    .await?;
    Ok(MachineListReply { machines, cursor })
}
