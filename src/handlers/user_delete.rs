//! `admin.user.delete`: hard delete. The signing key may register again with a new invite.
//!
//! Order: owner guard (refuses to delete the last owner), then mark the redeemed invite
//! so a late register retry cannot bring the user back, then the key index, then the
//! user record. Each step is idempotent, so a retry after a crash completes the delete.

use crate::audit::{AuditEvent, Outcome, Target};
use crate::authz;
use crate::domain::Role;
use crate::store::StoreError;
use crate::time_util;
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
        loop {
            let Some(inv) = ctx.store.invite(invite_id).await? else {
                break;
            };
            if inv.value.user_deleted_at.is_some() {
                break;
            }
            let mut next = inv.value.clone();
            next.user_deleted_at = Some(time_util::now_rfc3339());
            match ctx
                .store
                .invites
                .update(invite_id.as_str(), &next, inv.revision)
                .await
            {
                Ok(_) => break,
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
    let sign_pub = user.value.sign_pub;
    if let Some(idx) = ctx.store.key_index(&sign_pub).await? {
        if idx.value.handle == handle {
            match ctx
                .store
                .user_keys
                .delete(&sign_pub.to_hex(), idx.revision)
                .await
            {
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    match ctx.store.users.delete(handle.as_str(), user.revision).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "the user changed concurrently; retry",
            ))
        }
        Err(e) => return Err(e.into()),
    }
    let ev = AuditEvent::new(
        &format!("user.deleted/{handle}/{}", user.revision),
        "user.deleted",
        Outcome::Ok,
        admin.actor(),
        Target::new("user", handle.as_str()),
    )
    .with("role", role.as_str())
    .with("sign_pub", sign_pub.to_hex())
    .with("request", signed.request_key());
    ctx.audit.publish(&ev).await?;
    super::evict(
        ctx,
        &[crate::bus::user_conn_name(handle.as_str())],
        "user.evicted",
        &admin.actor(),
        Target::new("user", handle.as_str()),
        user.revision,
    )
    .await;
    Ok(DeleteReply {
        handle,
        deleted: true,
    })
}
