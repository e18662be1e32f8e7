//! `admin.machine.reject`: a pending machine becomes rejected and can never enroll again
//! with its agent key. If it held its uid, the uid is released. Also the decision that
//! `machine.approve` shares.

use crate::audit::{Actor, Event, Evicted};
use crate::authz::Permission;
use crate::domain::MachineId;
use crate::store::records::{ChangeNote, MachineRecord, MachineState, Noted};
use crate::store::{Decision, Versioned};
use crate::wire::admin::{MachineIdRequest, MachineView};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::machine_get::view;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: MachineIdRequest,
) -> Result<MachineView, ApiError> {
    let m = decide(ctx, admin, &req.machine_id, MachineState::Rejected).await?;
    Ok(view(&m))
}

/// Moves a pending machine to `to` with a CAS (clearing its pending reason, which the
/// note and the event keep), checks the operator's site scope, then [`finish`]es.
/// Deciding the same way twice is a success that changes nothing (its after-steps run
/// again, idempotent; no second event).
pub(super) async fn decide(
    ctx: &Ctx,
    admin: &Admin,
    id: &MachineId,
    to: MachineState,
) -> Result<MachineRecord, ApiError> {
    // A machine never leaves its tenant, so its tenant is asked once, before deciding.
    if let Some(m) = ctx.store.machine(id).await? {
        if admin.sees(
            Permission::MachineRead,
            &m.value.tenant,
            Some(&m.value.site),
        ) {
            ctx.writable_tenant(&m.value.tenant).await?;
        }
    }
    let now = ctx.clock.now().to_rfc3339();
    let m = ctx
        .store
        .machines
        .modify(id, |cur| {
            let cur = cur.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such machine"))?;
            if !admin.sees(
                Permission::MachineRead,
                &cur.value.tenant,
                Some(&cur.value.site),
            ) {
                return Err(ApiError::new(ErrorCode::NotFound, "no such machine"));
            }
            admin.require(
                Permission::MachineApprove,
                &cur.value.tenant,
                Some(&cur.value.site),
            )?;
            if cur.value.state == to {
                return Ok(Decision::Keep(()));
            }
            if cur.value.state != MachineState::Pending {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!("the machine is {}, not pending", cur.value.state.as_str()),
                ));
            }
            // The reason it waited is history once decided: it moves to the note (and
            // the event), and the record no longer shows it as current.
            let mut next = cur.value.clone();
            let reason = next.pending_reason.take();
            next.note = Some(admin.note(
                &now,
                Noted::Decided {
                    pending_reason: reason,
                },
            ));
            next.state = to;
            next.decided_by = Some(admin.name().to_owned());
            next.decided_at = Some(now.clone());
            next.updated_at = Some(now.clone());
            Ok(Decision::put(next))
        })
        .await?;
    crate::failpoint::hit("machine_decide.after_write");
    let cur = m
        .current
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such machine"))?;
    let publish = if m.changed {
        Publish::Always
    } else {
        Publish::Never
    };
    finish(ctx, &cur, publish).await?;
    Ok(cur.value)
}

/// What follows a decision's write (by the handler, or by a healer from the note):
/// `machine.approved` or `machine.rejected` when `publish`, then for an approval the uid
/// taken over, for a rejection the uid released and any connection closed (a pending
/// machine cannot connect, but a rejection must leave nothing behind).
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<MachineRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let m = &cur.value;
    let approved = m.state == MachineState::Active;
    let mut before = None;
    let actor = match &m.note {
        Some(
            note @ ChangeNote {
                change: Noted::Decided { pending_reason },
                ..
            },
        ) => {
            let actor = super::user_delete::note_actor(note);
            let event = Event::MachineDecided {
                machine: m,
                revision: cur.revision,
                approved,
                pending_reason: pending_reason.as_deref(),
            };
            publish.record(ctx, actor.clone(), event).await?;
            before = publish.kick_before(&note.at);
            actor
        }
        _ => m
            .decided_by
            .as_deref()
            .and_then(|h| crate::domain::Handle::parse(h).ok())
            .map_or_else(Actor::system, |h| Actor::user(&h)),
    };
    if approved {
        ctx.store
            .take_over_uid(m, &ctx.clock.now().to_rfc3339())
            .await?;
    } else {
        ctx.store.release_uid(m).await?;
        let names = crate::bus::machine_conn_names(m.machine_id.as_str(), &m.credential_sha256);
        let who = Evicted::Machine(&m.machine_id);
        super::common::evict_before(ctx, &names, who, &actor, 0, before).await;
    }
    Ok(())
}
