//! `admin.role.delete`: remove a custom role. Built-ins are not deletable
//! (`builtin_role_non_deletable`); a role still assigned is `conflict`. The role is
//! marked first (a `Deleting` note), then [`finish`] publishes `role.deleted` and
//! deletes the record, so a crash in between leaves a mark the healer finishes.

use crate::audit::Event;
use crate::authz::{self, Permission};
use crate::store::records::{ChangeNote, Noted, RoleRecord};
use crate::store::{Decision, RoleKey, Versioned};
use crate::wire::admin::{tenant_or_default, RoleDeleteReply, RoleNameRequest};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::role_create::escalation;
use super::user_delete::note_actor;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: RoleNameRequest,
) -> Result<RoleDeleteReply, ApiError> {
    let tenant = tenant_or_default(&req.tenant);
    admin.require(Permission::RoleManage, &tenant, None)?;
    ctx.writable_tenant(&tenant).await?;
    let not_found = || ApiError::new(ErrorCode::NotFound, "no such role");
    let key = RoleKey::new(&tenant, &req.name);
    let cur = ctx
        .store
        .role(&tenant, &req.name)
        .await?
        .ok_or_else(not_found)?;
    let reply = RoleDeleteReply {
        tenant: tenant.clone(),
        name: cur.value.name.clone(),
        deleted: true,
    };
    if !matches!(
        cur.value.note.as_ref().map(|n| &n.change),
        Some(Noted::Deleting)
    ) {
        let def = cur.value.def();
        def.check_delete().map_err(|e| ApiError::role(&e))?;
        authz::may_edit_role(&admin.grants, &tenant, Some(&def), &def)
            .map_err(|e| escalation(admin, e))?;
        if ctx.store.role_assigned(&tenant, &req.name).await? {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "the role is still assigned; unassign it first",
            ));
        }
    }
    let now = ctx.clock.now().to_rfc3339();
    let note = ChangeNote::new(
        admin.name(),
        Some(admin.request.clone()),
        &now,
        Noted::Deleting,
    );
    let m = ctx
        .store
        .roles
        .modify(&key, |c| match c {
            Some(c)
                if matches!(
                    c.value.note.as_ref().map(|n| &n.change),
                    Some(Noted::Deleting)
                ) =>
            {
                Ok(Decision::Keep(()))
            }
            Some(c) if c.revision == cur.revision => {
                let mut next = c.value.clone();
                next.note = Some(note.clone());
                Ok(Decision::put(next))
            }
            Some(_) => Err(ApiError::new(
                ErrorCode::Conflict,
                "the role changed concurrently; retry",
            )),
            None => Err(not_found()),
        })
        .await?;
    crate::failpoint::hit("role_delete.after_mark");
    let marked = m.current.ok_or_else(not_found)?;
    finish(ctx, &marked, Publish::Always).await?;
    Ok(reply)
}

/// Finishes the delete of a role marked `Deleting`: `role.deleted` (its revision is the
/// mark's), then the record (only at the mark's revision).
pub(crate) async fn finish(
    ctx: &Ctx,
    marked: &Versioned<RoleRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let r = &marked.value;
    let Some(
        note @ ChangeNote {
            change: Noted::Deleting,
            ..
        },
    ) = &r.note
    else {
        return Ok(());
    };
    let event = Event::RoleDeleted {
        role: r,
        revision: marked.revision,
    };
    publish.record(ctx, note_actor(note), event).await?;
    let key = RoleKey::new(&r.tenant, &r.name);
    ctx.store.roles.delete_at(&key, marked.revision).await?;
    Ok(())
}
