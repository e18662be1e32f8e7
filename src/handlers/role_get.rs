//! `admin.role.get`: one role of a tenant.

use crate::authz::{Permission, Visibility};
use crate::store::records::RoleRecord;
use crate::wire::admin::{tenant_or_default, RoleNameRequest, RoleView};
use crate::wire::{ApiError, ErrorCode};

use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: RoleNameRequest,
) -> Result<RoleView, ApiError> {
    let tenant = tenant_or_default(&req.tenant);
    let not_found = || ApiError::new(ErrorCode::NotFound, "no such role");
    // Roles are tenant-wide: a reader holding role:read anywhere in the tenant sees them.
    if admin.grants.visible_sites(Permission::RoleRead, &tenant) == Visibility::None {
        return Err(not_found());
    }
    let r = ctx
        .store
        .role(&tenant, &req.name)
        .await?
        .ok_or_else(not_found)?;
    Ok(view(&r.value))
}

/// The admin view of a role.
pub(crate) fn view(r: &RoleRecord) -> RoleView {
    RoleView {
        tenant: r.tenant.clone(),
        name: r.name.clone(),
        builtin: r.builtin,
        permissions: r.permissions.clone(),
        description: r.description.clone(),
        created_at: r.created_at.clone(),
        updated_at: r.updated_at.clone(),
    }
}
