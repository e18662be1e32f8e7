//! `admin.role.create`: a custom role of a tenant (PROTOCOL §8). Its name is unique in
//! the tenant case-insensitively (the key is the name's case-folded form, so two admins
//! racing for one name meet at one `create`: one wins, the other gets `conflict`); the
//! built-in names are reserved in any case; read pairing holds; nobody creates a role
//! with a permission they lack.

use crate::audit::Event;
use crate::authz::{self, Permission, RoleDef};
use crate::store::records::{ChangeNote, Noted, RoleRecord};
use crate::store::{RoleKey, StoreError, Versioned};
use crate::wire::admin::{tenant_or_default, RoleCreateRequest, RoleView};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::role_get::view;
use super::user_delete::note_actor;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: RoleCreateRequest,
) -> Result<RoleView, ApiError> {
    let tenant = tenant_or_default(&req.tenant);
    admin.require(Permission::RoleManage, &tenant, None)?;
    ctx.writable_tenant(&tenant).await?;
    let def = RoleDef::custom(
        req.name,
        req.permissions,
        req.description.unwrap_or_default(),
    )
    .map_err(|e| ApiError::role(&e))?;
    authz::may_edit_role(&admin.grants, &tenant, None, &def).map_err(|e| escalation(admin, e))?;
    let now = ctx.clock.now().to_rfc3339();
    let mut rec = RoleRecord::new(&tenant, def, &now);
    rec.note = Some(ChangeNote::new(
        admin.name(),
        Some(admin.request.clone()),
        &now,
        Noted::RoleCreated,
    ));
    let key = RoleKey::new(&tenant, &rec.name);
    let revision = match ctx.store.roles.create(&key, &rec).await {
        Ok(r) => r,
        Err(StoreError::Conflict) => {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "tenant {} has a role named {} (names compare case-insensitively)",
                    tenant.as_str(),
                    rec.name.as_str()
                ),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    crate::failpoint::hit("role_create.after_write");
    let cur = Versioned {
        value: rec,
        revision,
    };
    finish(ctx, &cur, Publish::Always).await?;
    Ok(view(&cur.value))
}

/// The refusal of a role change that would grant what the signer lacks.
pub(super) fn escalation(admin: &Admin, e: authz::Escalation) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, format!("{} {e}", admin.name()))
}

/// `role.created`, from the creation's note (by the handler, or by a healer).
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<RoleRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let Some(
        note @ ChangeNote {
            change: Noted::RoleCreated,
            ..
        },
    ) = &cur.value.note
    else {
        return Ok(());
    };
    let event = Event::RoleCreated {
        role: &cur.value,
        revision: cur.revision,
    };
    publish.record(ctx, note_actor(note), event).await?;
    Ok(())
}
