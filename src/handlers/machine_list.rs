//! `admin.machine.list`: machines by id, filtered by site, tenant and state.

use crate::wire::admin::{MachineListReply, MachineListRequest, MachineView, PageLimit};
use crate::wire::ApiError;

use super::machine_get::view;
use super::{page_after, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    req: MachineListRequest,
) -> Result<MachineListReply, ApiError> {
    let limit = PageLimit::or_default(req.limit);
    let keys = ctx.store.machines.keys().await?;
    let state = req
        .state
        .map(|s| serde_json::to_value(s).unwrap_or_default());
    let mut machines: Vec<MachineView> = Vec::new();
    let mut next = None;
    for key in page_after(&keys, req.cursor.as_ref().map(|c| c.as_str())) {
        let Some(rec) = ctx.store.machines.get(key).await? else {
            continue;
        };
        let m = &rec.value;
        if req.site.as_ref().is_some_and(|s| *s != m.site)
            || req.tenant.as_ref().is_some_and(|t| *t != m.tenant)
            || state
                .as_ref()
                .is_some_and(|s| s.as_str() != Some(m.state.as_str()))
        {
            continue;
        }
        if machines.len() == limit {
            next = machines.last().map(|l| l.machine_id.to_string());
            break;
        }
        machines.push(view(m));
    }
    Ok(MachineListReply {
        machines,
        cursor: next,
    })
}
