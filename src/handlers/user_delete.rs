//! `admin.user.delete`: hard delete. The signing key may register again with a new invite.
//!
//! Order: mark the user as being deleted (a `Deleting` note, under the owner guards,
//! which refuse to delete the last owner: from here on it counts as gone), then
//! [`finish`]: the redeemed invite marked (a late register retry cannot bring the user
//! back), the key index, `user.deleted`, its vault data key and credentials, the record,
//! the kick. Each step is idempotent, so the
//! admin's retry, or a healer finding the note (`heal.rs`), completes the delete.

use crate::audit::{Actor, Event};
use crate::authz::Permission;
use crate::domain::Handle;
use crate::store::records::{ChangeNote, Noted, UserRecord};
use crate::store::{Decision, StoreError, Versioned};
use crate::wire::admin::{DeleteReply, HandleRequest};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::{Admin, Ctx};

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such user")
}

fn last_owner() -> ApiError {
    ApiError::new(ErrorCode::LastOwner, "the last owner cannot be deleted")
}

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: HandleRequest,
) -> Result<DeleteReply, ApiError> {
    let handle = req.handle;
    let Some(user) = ctx.store.user(&handle).await? else {
        return Err(not_found());
    };
    let reply = DeleteReply {
        handle: handle.clone(),
        deleted: true,
    };
    if user.value.deleting() {
        // A delete already under way (its worker died): finish it.
        finish(ctx, &user, Publish::Always).await?;
        return Ok(reply);
    }
    admin
        .may_change(ctx, Permission::UserDelete, &user.value)
        .await?;
    let now = ctx.clock.now().to_rfc3339();
    // The record we checked, or nothing: a user changed meanwhile is decided again.
    let note = ChangeNote::new(
        admin.name(),
        Some(admin.request.clone()),
        &now,
        Noted::Deleting,
    );
    let marked = ctx
        .store
        .modify_user(&handle, last_owner, |cur| match cur {
            Some(c) if c.revision == user.revision => {
                let mut next = c.value.clone();
                next.note = Some(note.clone());
                next.updated_at = Some(now.clone());
                Ok(Decision::put(next))
            }
            Some(_) => Err(ApiError::new(
                ErrorCode::Conflict,
                "the user changed concurrently; retry",
            )),
            None => Err(not_found()),
        })
        .await?;
    let marked = marked.current.ok_or_else(not_found)?;
    crate::failpoint::hit("user_delete.after_mark");
    finish(ctx, &marked, Publish::Always).await?;
    Ok(reply)
}

/// Finishes the delete of a user marked `Deleting` (by the handler, or by a healer after
/// a crash): the key index entry, `user.deleted` (its revision is the mark's), the
/// record (only at the mark's revision), then the kick of its connections.
pub(crate) async fn finish(
    ctx: &Ctx,
    marked: &Versioned<UserRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let u = &marked.value;
    let Some(note) = u.note.as_ref().filter(|_| u.deleting()) else {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the user is not being deleted",
        ));
    };
    let handle: &Handle = &u.handle;
    if let Some(invite_id) = &u.invite_id {
        ctx.store
            .invites
            .modify(invite_id, |cur| {
                Ok::<_, StoreError>(match cur {
                    Some(inv) if inv.value.user_deleted_at.is_none() => {
                        let mut next = inv.value.clone();
                        next.user_deleted_at = Some(note.at.clone());
                        Decision::put(next)
                    }
                    _ => Decision::Keep(()),
                })
            })
            .await?;
    }
    ctx.store.unbind_key(&u.sign_pub, handle).await?;
    let actor = note_actor(note);
    let event = Event::UserDeleted {
        handle,
        revision: marked.revision,
        assignments: &u.assignments,
        sign_pub: &u.sign_pub,
        request: note.request.clone().unwrap_or_default(),
    };
    publish.record(ctx, actor.clone(), event).await?;
    crate::failpoint::hit("user_delete.after_audit");
    // Its data key first, then its credentials (PROTOCOL §10): from here on nothing it
    // kept in the vault can be decrypted, whatever a crash leaves behind.
    ctx.store
        .destroy_holder(&crate::domain::CredentialHolder::User(handle.clone()))
        .await?;
    ctx.store.users.delete_at(handle, marked.revision).await?;
    let before = publish.kick_before(&note.at);
    super::common::kick_user(ctx, handle, &actor, marked.revision, before).await;
    Ok(())
}

/// The audit actor a note names: `system` (`roster bootstrap`), or a user by handle.
pub(crate) fn note_actor(note: &ChangeNote) -> Actor {
    if let Some(id) = note.by.strip_prefix("apikey:") {
        return Actor::api_key(id);
    }
    match Handle::parse(&note.by) {
        Ok(h) if note.by != "system" => Actor::user(&h),
        _ => Actor::system(),
    }
}
