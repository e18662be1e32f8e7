//! `admin.user.get`: one user by handle.

use crate::authz::{AssignScope, Builtin, Permission, RoleName};
use crate::store::records::UserRecord;
use crate::wire::admin::{HandleRequest, UserView};
use crate::wire::{ApiError, ErrorCode};

use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: HandleRequest,
) -> Result<UserView, ApiError> {
    let not_found = || ApiError::new(ErrorCode::NotFound, "no such user");
    let user = ctx.store.user(&req.handle).await?.ok_or_else(not_found)?;
    if !admin.sees_user(Permission::UserRead, &user.value) {
        return Err(not_found());
    }
    Ok(view(&user.value))
}

/// A user's role as its view shows it: its tenant-scope role in its home tenant, else
/// its platform role, else its first assignment's; `member` when it holds none.
pub(crate) fn home_role(rec: &UserRecord) -> RoleName {
    let home = rec
        .assignments
        .iter()
        .find(|a| matches!(a.scope(), AssignScope::Tenant(t) if *t == rec.tenant));
    let platform = || {
        rec.assignments
            .iter()
            .find(|a| matches!(a.scope(), AssignScope::Platform))
    };
    home.or_else(platform)
        .or_else(|| rec.assignments.first())
        .map_or_else(|| Builtin::Member.role_name(), |a| a.role().clone())
}

/// The sites of its home tenant a user holds site-scoped assignments at.
pub(crate) fn home_sites(rec: &UserRecord) -> Vec<crate::domain::SiteCode> {
    let mut sites: Vec<_> = rec
        .assignments
        .iter()
        .filter_map(|a| match a.scope() {
            AssignScope::Site(s) if s.tenant == rec.tenant => Some(s.site.clone()),
            _ => None,
        })
        .collect();
    sites.sort();
    sites.dedup();
    sites
}

/// The admin view of a user.
pub(crate) fn view(rec: &UserRecord) -> UserView {
    UserView {
        handle: rec.handle.clone(),
        role: home_role(rec),
        tenant: rec.tenant.clone(),
        assignments: rec.assignments.clone(),
        status: rec.status.as_str().to_owned(),
        sign_pub: rec.sign_pub.to_hex(),
        kex_pub: rec.kex_pub.to_hex(),
        registered_at: rec.registered_at.clone(),
        sites: home_sites(rec),
        invite_id: rec.invite_id.clone(),
        updated_at: rec.updated_at.clone(),
    }
}
