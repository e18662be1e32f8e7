//! `admin.machine.reject`: a pending machine becomes rejected and can never enroll again
//! with its agent key. If it held its uid, the uid is released.

use crate::audit::{Event, Evicted};
use crate::authz::Permission;
use crate::domain::MachineId;
use crate::store::records::{MachineRecord, MachineState};
use crate::store::Decision;
use crate::wire::admin::{MachineIdRequest, MachineView};
use crate::wire::{ApiError, ErrorCode};

use super::machine_get::view;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: MachineIdRequest,
) -> Result<MachineView, ApiError> {
    let m = decide(ctx, admin, &req.machine_id, MachineState::Rejected).await?;
    ctx.store.release_uid(&m).await?;
    // A pending machine cannot connect, but a rejection must leave nothing behind.
    let names = crate::bus::machine_conn_names(m.machine_id.as_str(), &m.credential_sha256);
    let who = Evicted::Machine(&m.machine_id);
    super::evict(ctx, &names, who, &admin.actor(), 0).await;
    Ok(view(&m))
}

/// Moves a pending machine to `to` with a CAS (clearing its pending reason, which the
/// event keeps), checks the operator's site scope, and audits the decision. Deciding the same way twice is a success that changes nothing.
pub(super) async fn decide(
    ctx: &Ctx,
    admin: &Admin,
    id: &MachineId,
    to: MachineState,
) -> Result<MachineRecord, ApiError> {
    let now = ctx.clock.now().to_rfc3339();
    let m = ctx
        .store
        .machines
        .modify(id, |cur| {
            let cur = cur.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such machine"))?;
            admin.require_at(Permission::MachineApprove, &cur.value.site)?;
            if cur.value.state == to {
                return Ok(Decision::Keep(None));
            }
            if cur.value.state != MachineState::Pending {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!("the machine is {}, not pending", cur.value.state.as_str()),
                ));
            }
            // The reason it waited is history once decided: it moves to the event
            // (`extra`), and the record no longer shows it as current.
            let mut next = cur.value.clone();
            let reason = next.pending_reason.take();
            next.state = to;
            next.decided_by = Some(admin.user.value.handle.to_string());
            next.decided_at = Some(now.clone());
            next.updated_at = Some(now.clone());
            Ok(Decision::Put(next, reason))
        })
        .await?;
    let cur = m
        .current
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such machine"))?;
    if m.changed {
        let event = Event::MachineDecided {
            machine: &cur.value,
            revision: cur.revision,
            approved: to == MachineState::Active,
            pending_reason: m.extra.as_deref(),
        };
        ctx.audit.record(admin.actor(), event).await?;
    }
    Ok(cur.value)
}
