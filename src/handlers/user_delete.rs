//! `admin.user.delete`: hard delete. The signing key may register again with a new invite.
//!
//! Order: owner guard (refuses to delete the last owner), then mark the redeemed invite
//! so a late register retry cannot bring the user back, then the key index, then the
//! user record. Each step is idempotent, so a retry after a crash completes the delete.

use crate::audit::{Event, Evicted};
use crate::authz;
use crate::domain::Role;
use crate::store::{Decision, StoreError};
use crate::wire::admin::{DeleteReply, HandleRequest};
use crate::wire::{ApiError, ErrorCode};

use super::{Admin, Ctx, Signed};

pub(super) async fn handle(
    ctx: &Ctx,
    signed: &Signed,
    admin: &Admin,
    req: HandleRequest,
) -> Result<DeleteReply, ApiError> {
    let handle = req.handle;
    let Some(user) = ctx.store.user(&handle).await? else {
        return Err(ApiError::new(ErrorCode::NotFound, "no such user"));
    };
    let role = user.value.role;
    if !authz::may_manage(admin.user.value.role, role) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "a {} cannot delete a user whose role is {role}",
                admin.user.value.role
            ),
        ));
    }
    if role == Role::Owner && !ctx.store.remove_owner(&handle).await? {
        return Err(ApiError::new(
            ErrorCode::LastOwner,
            "the last owner cannot be deleted",
        ));
    }
    if let Some(invite_id) = &user.value.invite_id {
        let now = ctx.clock.now().to_rfc3339();
        ctx.store
            .invites
            .modify(invite_id, |cur| {
                Ok::<_, StoreError>(match cur {
                    Some(inv) if inv.value.user_deleted_at.is_none() => {
                        let mut next = inv.value.clone();
                        next.user_deleted_at = Some(now.clone());
                        Decision::put(next)
                    }
                    _ => Decision::Keep(()),
                })
            })
            .await?;
    }
    let sign_pub = user.value.sign_pub;
    ctx.store.unbind_key(&sign_pub, &handle).await?;
    // The record we checked, or nothing: a user changed meanwhile is decided again.
    let last_owner = || ApiError::new(ErrorCode::LastOwner, "the last owner cannot be deleted");
    ctx.store
        .modify_user(&handle, last_owner, |cur| match cur {
            Some(c) if c.revision == user.revision => Ok(Decision::Delete(())),
            Some(_) => Err(ApiError::new(
                ErrorCode::Conflict,
                "the user changed concurrently; retry",
            )),
            None => Ok(Decision::Keep(())),
        })
        .await?;
    let event = Event::UserDeleted {
        handle: &handle,
        revision: user.revision,
        role,
        sign_pub: &sign_pub,
        request: signed.request_key(),
    };
    ctx.audit.record(admin.actor(), event).await?;
    let names = [crate::bus::user_conn_name(handle.as_str())];
    super::evict(
        ctx,
        &names,
        Evicted::User(&handle),
        &admin.actor(),
        user.revision,
    )
    .await;
    Ok(DeleteReply {
        handle,
        deleted: true,
    })
}
