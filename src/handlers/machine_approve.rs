//! `admin.machine.approve`: a pending machine becomes active. A machine that was pending
//! because its uid collided takes the uid over (the operator decided it is the real one).

use crate::store::records::{MachineRecord, MachineState, UidIndexRecord, SCHEMA_V};
use crate::store::{uid_key, StoreError};
use crate::time_util;
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
    let m = decide(
        ctx,
        admin,
        &req.machine_id,
        MachineState::Active,
        "machine.approved",
    )
    .await?;
    claim_uid(ctx, &m).await?;
    Ok(view(&m))
}

/// Points the tenant's uid index at `m` (idempotent).
async fn claim_uid(ctx: &Ctx, m: &MachineRecord) -> Result<(), ApiError> {
    let key = uid_key(&m.tenant, &m.machine_uid);
    let rec = UidIndexRecord {
        v: SCHEMA_V,
        machine_id: m.machine_id.clone(),
        machine_uid: m.machine_uid.clone(),
        created_at: time_util::now_rfc3339(),
    };
    loop {
        let res = match ctx.store.machine_uids.get(&key).await? {
            Some(cur) if cur.value.machine_id == m.machine_id => return Ok(()),
            Some(cur) => {
                ctx.store
                    .machine_uids
                    .update(&key, &rec, cur.revision)
                    .await
            }
            None => ctx.store.machine_uids.create(&key, &rec).await,
        };
        match res {
            Ok(_) => return Ok(()),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
