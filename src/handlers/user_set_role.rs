//! `admin.user.set_role`: change a user's role (and an operator's sites).
//!
//! The change runs under the owner guard (`Store::modify_user`): demoting an owner first
//! takes it out of the guard, refused as `last_owner` if none would remain; promoting
//! one adds it after the write. A crash or a lost race leaves the guard at worst
//! under-counting, which only makes it stricter, and the retry completes it.

use crate::audit::{Event, Evicted};
use crate::authz;
use crate::domain::{Role, SiteCode};
use crate::store::records::UserRecord;
use crate::store::Decision;
use crate::wire::admin::{SetRoleRequest, UserView};
use crate::wire::{ApiError, ErrorCode};

use super::user_get::view;
use super::{Admin, Ctx, Signed};

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such user")
}

pub(super) async fn handle(
    ctx: &Ctx,
    signed: &Signed,
    admin: &Admin,
    req: SetRoleRequest,
) -> Result<UserView, ApiError> {
    let actor_role = admin.user.value.role;
    let mut sites = req.sites.clone().unwrap_or_default();
    sites.sort();
    sites.dedup();
    if !authz::may_manage(actor_role, req.role) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("a {actor_role} cannot grant role {}", req.role),
        ));
    }
    let now = ctx.clock.now().to_rfc3339();
    let last_owner = || ApiError::new(ErrorCode::LastOwner, "the last owner cannot be demoted");
    let decided = ctx
        .store
        .modify_user(&req.handle, last_owner, |cur| {
            let cur = cur.ok_or_else(not_found)?;
            may_change(actor_role, &cur.value)?;
            let before = (cur.value.role, cur.value.sites.clone());
            if cur.value.role == req.role && cur.value.sites == sites {
                return Ok(Decision::Keep(before)); // nothing to change
            }
            let mut next = cur.value.clone();
            next.role = req.role;
            next.sites = sites.clone();
            next.updated_at = Some(now.clone());
            Ok(Decision::Put(next, before))
        })
        .await;
    let m = decided?;
    let cur = m.current.ok_or_else(not_found)?;
    if !m.changed {
        return Ok(view(&cur.value));
    }
    let (old_role, old_sites): (Role, Vec<SiteCode>) = m.extra;
    let event = Event::UserRoleChanged {
        handle: &req.handle,
        revision: cur.revision,
        from: old_role,
        to: req.role,
        sites: &sites,
        request: signed.request_key(),
    };
    ctx.audit.record(admin.actor(), event).await?;
    if authz::loses_permissions(old_role, &old_sites, req.role, &sites) {
        let names = [crate::bus::user_conn_name(req.handle.as_str())];
        let who = Evicted::User(&req.handle);
        super::evict(ctx, &names, who, &admin.actor(), cur.revision).await;
    }
    Ok(view(&cur.value))
}

/// An actor may change only users whose role it may manage.
fn may_change(actor_role: Role, user: &UserRecord) -> Result<(), ApiError> {
    if authz::may_manage(actor_role, user.role) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "a {actor_role} cannot change a user whose role is {}",
                user.role
            ),
        ))
    }
}
