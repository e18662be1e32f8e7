//! `admin.role.update`: new permissions or description for a tenant's role. `owner` is
//! immutable (`builtin_role_immutable`); the other built-ins are editable by those who
//! hold what they grant (only owners: editing a built-in needs `user:manage_owners`).
//! When the role loses permissions, the connections of the users holding it close
//! (PROTOCOL §6).

use crate::audit::Event;
use crate::authz::{self, Permission};
use crate::store::records::{ChangeNote, Noted, RoleRecord};
use crate::store::{Decision, RoleKey, Versioned};
use crate::wire::admin::{tenant_or_default, RoleUpdateRequest, RoleView};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::role_create::escalation;
use super::role_get::view;
use super::user_delete::note_actor;
use super::{Admin, Ctx};

/// At most this many holders of a role are kicked after it loses permissions (the
/// rest reconnect with the new permissions when their user JWT expires).
const MAX_KICKED: usize = 10_000;

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: RoleUpdateRequest,
) -> Result<RoleView, ApiError> {
    let tenant = tenant_or_default(&req.tenant);
    admin.require(Permission::RoleManage, &tenant, None)?;
    ctx.writable_tenant(&tenant).await?;
    let not_found = || ApiError::new(ErrorCode::NotFound, "no such role");
    let now = ctx.clock.now().to_rfc3339();
    let m = ctx
        .store
        .roles
        .modify(&RoleKey::new(&tenant, &req.name), |cur| {
            let cur = cur.ok_or_else(not_found)?;
            let old = cur.value.def();
            let new = old
                .updated(req.permissions.clone(), req.description.clone())
                .map_err(|e| ApiError::role(&e))?;
            authz::may_edit_role(&admin.grants, &tenant, Some(&old), &new)
                .map_err(|e| escalation(admin, e))?;
            if new == old {
                return Ok::<_, ApiError>(Decision::Keep(()));
            }
            let mut next = cur.value.clone();
            next.permissions = new.permissions;
            next.description = new.description;
            next.updated_at = Some(now.clone());
            next.note = Some(ChangeNote::new(
                admin.name(),
                Some(admin.request.clone()),
                &now,
                Noted::RoleUpdated {
                    before: old.permissions,
                },
            ));
            Ok(Decision::put(next))
        })
        .await?;
    crate::failpoint::hit("role_update.after_write");
    let cur = m.current.ok_or_else(not_found)?;
    if m.changed {
        finish(ctx, &cur, Publish::Always).await?;
    }
    Ok(view(&cur.value))
}

/// `role.updated`, from the update's note (by the handler, or by a healer), then the
/// kick of its holders' connections if it lost a permission.
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<RoleRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let r = &cur.value;
    let Some(
        note @ ChangeNote {
            change: Noted::RoleUpdated { before },
            ..
        },
    ) = &r.note
    else {
        return Ok(());
    };
    let actor = note_actor(note);
    let event = Event::RoleUpdated {
        role: r,
        revision: cur.revision,
        before,
    };
    publish.record(ctx, actor.clone(), event).await?;
    if before.iter().any(|p| !r.permissions.contains(p)) {
        let holders = ctx
            .store
            .users_holding(&r.tenant, &r.name, MAX_KICKED)
            .await?;
        let kick_before = publish.kick_before(&note.at);
        for h in &holders {
            super::common::kick_user(ctx, h, &actor, cur.revision, kick_before).await;
        }
    }
    Ok(())
}
