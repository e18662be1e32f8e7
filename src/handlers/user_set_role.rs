//! `admin.user.set_role`: change a user's role (and an operator's sites).
//!
//! The change runs under the owner guard (`Store::modify_user`): demoting an owner first
//! takes it out of the guard, refused as `last_owner` if none would remain; promoting
//! one adds it after the write. A crash or a lost race leaves the guard at worst
//! under-counting, which only makes it stricter, and the retry completes it.

use crate::audit::{Event, Evicted};
use crate::authz;
use crate::domain::Role;
use crate::store::records::{ChangeNote, Noted, UserRecord};
use crate::store::{Decision, Versioned};

use super::user_delete::note_actor;
use crate::wire::admin::{SetRoleRequest, UserView};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
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
            if cur.value.role == req.role && cur.value.sites == sites {
                return Ok(Decision::Keep(())); // nothing to change
            }
            let mut next = cur.value.clone();
            next.role = req.role;
            next.sites = sites.clone();
            next.updated_at = Some(now.clone());
            next.note = Some(ChangeNote::new(
                admin.user.value.handle.as_str(),
                Some(signed.request_key()),
                &now,
                Noted::RoleChanged {
                    from: cur.value.role,
                    from_sites: cur.value.sites.clone(),
                },
            ));
            Ok(Decision::put(next))
        })
        .await;
    let m = decided?;
    crate::failpoint::hit("set_role.after_write");
    let cur = m.current.ok_or_else(not_found)?;
    if !m.changed {
        return Ok(view(&cur.value));
    }
    finish(ctx, &cur, Publish::Always).await?;
    Ok(view(&cur.value))
}

/// What follows a role change's write, from its note (by the handler, or by a healer
/// after a crash): `user.role_changed`, then the kick if the user lost permissions.
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<UserRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let u = &cur.value;
    let Some(
        note @ ChangeNote {
            change: Noted::RoleChanged { from, from_sites },
            ..
        },
    ) = &u.note
    else {
        return Ok(());
    };
    let actor = note_actor(note);
    let event = Event::UserRoleChanged {
        handle: &u.handle,
        revision: cur.revision,
        from: *from,
        to: u.role,
        sites: &u.sites,
        request: note.request.clone().unwrap_or_default(),
    };
    publish.record(ctx, actor.clone(), event).await?;
    crate::failpoint::hit("set_role.after_audit");
    if authz::loses_permissions(*from, from_sites, u.role, &u.sites) {
        let names = [crate::bus::user_conn_name(u.handle.as_str())];
        let who = Evicted::User(&u.handle);
        let before = publish.kick_before(&note.at);
        super::common::evict_before(ctx, &names, who, &actor, cur.revision, before).await;
    }
    Ok(())
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
