//! `admin.machine.reject`: a pending machine becomes rejected and can never enroll again
//! with its agent key. If it held its uid, the uid is released.

use crate::audit::{AuditEvent, Outcome, Target};
use crate::authz::Permission;
use crate::domain::MachineId;
use crate::store::records::{MachineRecord, MachineState};
use crate::store::{uid_key, StoreError};
use crate::time_util;
use crate::wire::admin::{MachineIdRequest, MachineView};
use crate::wire::{ApiError, ErrorCode};

use super::machine_get::view;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: MachineIdRequest,
) -> Result<MachineView, ApiError> {
    let m = decide(
        ctx,
        admin,
        &req.machine_id,
        MachineState::Rejected,
        "machine.rejected",
    )
    .await?;
    let key = uid_key(&m.tenant, &m.machine_uid);
    if let Some(idx) = ctx.store.machine_uids.get(&key).await? {
        if idx.value.machine_id == m.machine_id {
            match ctx.store.machine_uids.delete(&key, idx.revision).await {
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    // A pending machine cannot connect, but a rejection must leave nothing behind.
    super::evict(
        ctx,
        &crate::bus::machine_conn_names(m.machine_id.as_str(), &m.credential_sha256),
        "machine.evicted",
        &admin.actor(),
        crate::audit::Target::new("machine", m.machine_id.as_str()),
        0,
    )
    .await;
    Ok(view(&m))
}

/// Moves a pending machine to `to` with a CAS, checks the operator's site scope, and
/// audits the decision. Deciding the same way twice is a success that changes nothing.
pub(super) async fn decide(
    ctx: &Ctx,
    admin: &Admin,
    id: &MachineId,
    to: MachineState,
    action: &str,
) -> Result<MachineRecord, ApiError> {
    loop {
        let cur = ctx
            .store
            .machine(id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such machine"))?;
        admin.require_at(Permission::MachineApprove, &cur.value.site)?;
        if cur.value.state == to {
            return Ok(cur.value);
        }
        if cur.value.state != MachineState::Pending {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("the machine is {}, not pending", cur.value.state.as_str()),
            ));
        }
        let mut next = cur.value.clone();
        let now = time_util::now_rfc3339();
        next.state = to;
        next.decided_by = Some(admin.user.value.handle.to_string());
        next.decided_at = Some(now.clone());
        next.updated_at = Some(now);
        match ctx
            .store
            .machines
            .update(id.as_str(), &next, cur.revision)
            .await
        {
            Ok(rev) => {
                let mut ev = AuditEvent::new(
                    &format!("{action}/{id}/{rev}"),
                    action,
                    Outcome::Ok,
                    admin.actor(),
                    Target::new("machine", id.as_str()),
                )
                .with("machine_uid", next.machine_uid.as_str());
                if let Some(r) = &cur.value.pending_reason {
                    ev = ev.with("pending_reason", r.as_str());
                }
                ev.tenant = Some(next.tenant.as_str().to_owned());
                ev.site = Some(next.site.as_str().to_owned());
                ctx.audit.publish(&ev).await?;
                return Ok(next);
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
