//! `admin.user.set_role`: replace a user's assignments in one tenant (PROTOCOL §4, §8);
//! also the change `user.assign` and `user.unassign` share ([`change`]).
//!
//! The change runs under the owner guards (`Store::modify_user`): taking an owner away
//! (a demotion, an unassignment) first takes it out of the guard of that tenant or the
//! platform, refused as `last_owner` if none would remain; a new owner is added after
//! the write. A crash or a lost race leaves a guard at worst under-counting, which only
//! makes it stricter. The signer must be able to change the user (it holds what the
//! user holds, where the user holds it) and to grant what it assigns.

use crate::audit::Event;
use crate::authz::{self, Assignment, Permission};
use crate::domain::Handle;
use crate::store::records::{AssignAction, ChangeNote, Noted, UserRecord};
use crate::store::{Decision, Versioned};
use crate::wire::admin::{SetRoleRequest, UserView};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::user_delete::note_actor;
use super::user_get::view;
use super::{grants_of, Admin, Ctx};

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such user")
}

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: SetRoleRequest,
) -> Result<UserView, ApiError> {
    let tenant = req.tenant();
    ctx.writable_tenant(&tenant).await?;
    let mut new = Vec::new();
    for a in req.assignments() {
        new.push(admin.may_grant(ctx, &a).await?);
    }
    let first = new
        .first()
        .cloned()
        .ok_or_else(|| ApiError::bad_request("no assignment"))?;
    let change = Change {
        action: AssignAction::SetRole,
        assignment: first,
    };
    apply(ctx, admin, &req.handle, change, |cur| {
        let mut next: Vec<Assignment> = cur
            .iter()
            .filter(|a| a.scope().tenant() != Some(&tenant))
            .cloned()
            .collect();
        next.extend(new.iter().cloned());
        next
    })
    .await
}

/// An assignment command's change: which, and the assignment it names.
pub(super) struct Change {
    pub action: AssignAction,
    pub assignment: Assignment,
}

/// Changes `handle`'s assignments to `edit(current)` as `change` says, under the owner
/// guards, with a note; then [`finish`]es. An edit that changes nothing is a success
/// that writes nothing.
pub(super) async fn apply(
    ctx: &Ctx,
    admin: &Admin,
    handle: &Handle,
    change: Change,
    edit: impl Fn(&[Assignment]) -> Vec<Assignment>,
) -> Result<UserView, ApiError> {
    let target = ctx.store.user(handle).await?.ok_or_else(not_found)?;
    admin
        .may_change(ctx, Permission::UserSetRole, &target.value)
        .await?;
    let now = ctx.clock.now().to_rfc3339();
    let last_owner = || ApiError::new(ErrorCode::LastOwner, "the last owner cannot be removed");
    let decided = ctx
        .store
        .modify_user(handle, last_owner, |cur| {
            let cur = cur.ok_or_else(not_found)?;
            if cur.value.deleting() {
                return Err(not_found());
            }
            let after = edit(&cur.value.assignments);
            if after == cur.value.assignments {
                return Ok(Decision::Keep(())); // nothing to change
            }
            let mut next = cur.value.clone();
            next.assignments = after;
            next.updated_at = Some(now.clone());
            next.note = Some(ChangeNote::new(
                admin.name(),
                Some(admin.request.clone()),
                &now,
                Noted::Assignments {
                    action: change.action,
                    assignment: change.assignment.clone(),
                    before: cur.value.assignments.clone(),
                },
            ));
            Ok(Decision::put(next))
        })
        .await;
    let m = decided?;
    crate::failpoint::hit("set_role.after_write");
    let cur = m.current.ok_or_else(not_found)?;
    if m.changed {
        finish(ctx, &cur, Publish::Always).await?;
    }
    Ok(view(&cur.value))
}

/// What follows an assignment change's write, from its note (by the handler, or by a
/// healer after a crash): its event, then the kick if the user lost permissions
/// anywhere (PROTOCOL §6).
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<UserRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let u = &cur.value;
    let Some(
        note @ ChangeNote {
            change:
                Noted::Assignments {
                    action,
                    assignment,
                    before,
                },
            ..
        },
    ) = &u.note
    else {
        return Ok(());
    };
    let actor = note_actor(note);
    let event = Event::UserAssignments {
        handle: &u.handle,
        revision: cur.revision,
        action: *action,
        assignment,
        before,
        after: &u.assignments,
        request: note.request.clone().unwrap_or_default(),
    };
    publish.record(ctx, actor.clone(), event).await?;
    crate::failpoint::hit("set_role.after_audit");
    let (was, now) = (
        grants_of(ctx, before).await?,
        grants_of(ctx, &u.assignments).await?,
    );
    if authz::loses_any_permission(&was, &now) {
        let before = publish.kick_before(&note.at);
        super::common::kick_user(ctx, &u.handle, &actor, cur.revision, before).await;
    }
    Ok(())
}
