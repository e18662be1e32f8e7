//! `admin.machine.get`: one machine.

use crate::authz::Permission;
use crate::store::records::{MachineRecord, MachineState};
use crate::wire::admin::{MachineIdRequest, MachineView};
use crate::wire::{ApiError, ErrorCode};

use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: MachineIdRequest,
) -> Result<MachineView, ApiError> {
    let not_found = || ApiError::new(ErrorCode::NotFound, "no such machine");
    let m = ctx
        .store
        .machine(&req.machine_id)
        .await?
        .ok_or_else(not_found)?;
    // A machine the reader may not see does not exist for it.
    if !admin.sees(
        Permission::MachineRead,
        &m.value.tenant,
        Some(&m.value.site),
    ) {
        return Err(not_found());
    }
    Ok(view(&m.value))
}

/// The admin view of a machine (never its credential digest). A pending reason shows only
/// while the machine is pending: a record decided before decisions cleared it keeps one.
pub(crate) fn view(m: &MachineRecord) -> MachineView {
    MachineView {
        machine_id: m.machine_id.clone(),
        tenant: m.tenant.clone(),
        site: m.site.clone(),
        machine_uid: m.machine_uid.as_str().to_owned(),
        state: m.state.as_str().to_owned(),
        agent_pub: m.agent_pub.to_hex(),
        hostname: m.hostname.clone(),
        os: m.os.clone(),
        agent_version: m.agent_version.clone(),
        enrolled_at: m.enrolled_at.clone(),
        last_enrolled_at: m.last_enrolled_at.clone(),
        pending_reason: m
            .pending_reason
            .clone()
            .filter(|_| m.state == MachineState::Pending),
        key_version: m.key_version,
        site_history: m
            .site_history
            .iter()
            .map(|h| serde_json::json!({"site": h.site, "at": h.at}))
            .collect(),
        decided_by: m.decided_by.clone(),
        decided_at: m.decided_at.clone(),
    }
}
