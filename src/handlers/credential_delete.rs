//! `admin.credential.delete`: the record is marked first (a `Deleting` note, at the
//! revision the checks read), then [`finish`] publishes `credential.deleted`, deletes the
//! record (its encrypted value with it) and releases its name claim, so a crash in
//! between leaves a mark a healer finishes. A marked credential counts as gone at once.
//! A user's credential may also be deleted by a platform admin (who may never reveal it).

use crate::audit::{CredentialAction, Event};
use crate::store::records::{ChangeNote, CredentialRecord, Noted};
use crate::store::{Decision, Versioned};
use crate::wire::admin::{CredentialDeleteReply, CredentialIdRequest};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::credentials::{load, not_found, note, vault, writable, Access};
use super::user_delete::note_actor;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: CredentialIdRequest,
) -> Result<CredentialDeleteReply, ApiError> {
    vault(ctx)?;
    let (cur, holder) = load(ctx, admin, &req.credential_id, Access::Delete).await?;
    writable(ctx, &holder).await?;
    let at = ctx.clock.now().to_rfc3339();
    let noted = note(admin, &at, Noted::Deleting);
    let m = ctx
        .store
        .vault
        .modify(&req.credential_id, |c| match c {
            // Marked already (a retry, or a racing delete): finish that mark.
            Some(c) if c.value.deleting() => Ok(Decision::Keep(())),
            Some(c) if c.revision == cur.revision => {
                let mut next = c.value.clone();
                next.note = Some(noted.clone());
                Ok(Decision::put(next))
            }
            Some(_) => Err(ApiError::new(
                ErrorCode::Conflict,
                "the credential changed concurrently; retry",
            )),
            None => Err(not_found()),
        })
        .await?;
    crate::failpoint::hit("credential_delete.after_mark");
    let marked = m.current.ok_or_else(not_found)?;
    finish(ctx, &marked, Publish::Always).await?;
    Ok(CredentialDeleteReply {
        credential_id: req.credential_id,
        deleted: true,
    })
}

/// Finishes the delete of a credential marked `Deleting`: `credential.deleted` (its
/// revision is the mark's), then the record (only at the mark's revision) and its name
/// claim.
pub(crate) async fn finish(
    ctx: &Ctx,
    marked: &Versioned<CredentialRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let Some(
        note @ ChangeNote {
            change: Noted::Deleting,
            ..
        },
    ) = &marked.value.note
    else {
        return Ok(());
    };
    let event = Event::Credential {
        action: CredentialAction::Deleted,
        credential: &marked.value,
        revision: marked.revision,
    };
    publish.record(ctx, note_actor(note), event).await?;
    ctx.store.delete_credential(marked).await?;
    Ok(())
}
