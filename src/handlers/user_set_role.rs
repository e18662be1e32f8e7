//! `admin.user.set_role`: change a user's role (and an operator's sites).
//!
//! Demoting an owner first removes it from the owner guard with a CAS that refuses to
//! leave the guard empty (`last_owner`), then updates the user; promoting to owner
//! updates the user, then adds it to the guard. A crash between the two steps leaves the
//! guard under-counting, which only makes it stricter, and the retry completes it.

use crate::audit::{AuditEvent, Outcome, Target};
use crate::authz;
use crate::domain::Role;
use crate::store::StoreError;
use crate::time_util;
use crate::wire::admin::{SetRoleRequest, UserView};
use crate::wire::{ApiError, ErrorCode};

use super::user_get::view;
use super::{Admin, Ctx, Signed};

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
    loop {
        let cur = ctx
            .store
            .user(&req.handle)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such user"))?;
        let old_role = cur.value.role;
        if !authz::may_manage(actor_role, old_role) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("a {actor_role} cannot change a user whose role is {old_role}"),
            ));
        }
        if old_role == req.role && cur.value.sites == sites {
            return Ok(view(&cur.value)); // nothing to change
        }
        if old_role == Role::Owner
            && req.role != Role::Owner
            && !ctx.store.remove_owner(&req.handle).await?
        {
            return Err(ApiError::new(
                ErrorCode::LastOwner,
                "the last owner cannot be demoted",
            ));
        }
        let mut next = cur.value.clone();
        next.role = req.role;
        next.sites = sites.clone();
        next.updated_at = Some(time_util::now_rfc3339());
        match ctx
            .store
            .users
            .update(req.handle.as_str(), &next, cur.revision)
            .await
        {
            Ok(rev) => {
                if req.role == Role::Owner {
                    ctx.store.add_owner(&req.handle).await?;
                }
                let ev = AuditEvent::new(
                    &format!("user.role_changed/{}/{rev}", req.handle),
                    "user.role_changed",
                    Outcome::Ok,
                    admin.actor(),
                    Target::new("user", req.handle.as_str()),
                )
                .with("from", old_role.as_str())
                .with("to", req.role.as_str())
                .with(
                    "sites",
                    sites
                        .iter()
                        .map(|s| s.as_str().to_owned())
                        .collect::<Vec<_>>(),
                )
                .with("request", signed.request_key());
                ctx.audit.publish(&ev).await?;
                if authz::loses_permissions(old_role, &cur.value.sites, req.role, &sites) {
                    super::evict(
                        ctx,
                        &[crate::bus::user_conn_name(req.handle.as_str())],
                        "user.evicted",
                        &admin.actor(),
                        Target::new("user", req.handle.as_str()),
                        rev,
                    )
                    .await;
                }
                return Ok(view(&next));
            }
            Err(StoreError::Conflict) => {
                // The user changed under us; if we took it out of the owner guard but it
                // is still an owner after the re-read, the next pass decides again.
                if old_role == Role::Owner && req.role != Role::Owner {
                    if let Some(u) = ctx.store.user(&req.handle).await? {
                        if u.value.role == Role::Owner {
                            ctx.store.add_owner(&req.handle).await?;
                        }
                    }
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
