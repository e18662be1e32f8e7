//! `admin.apikey.revoke`: an API key stops working at once (PROTOCOL §9): verification
//! answers `revoked`, requests with it `unauthorized`, the callout refuses it, and its
//! live connections close within a second. Revoking a revoked key changes nothing.

use crate::audit::Event;
use crate::authz::Permission;
use crate::store::records::{ApiKeyRecord, ChangeNote, Noted};
use crate::store::{ApiKeyKey, Decision, Versioned};
use crate::wire::admin::{ApiKeyIdRequest, ApiKeyView};
use crate::wire::{ApiError, ErrorCode};

use super::apikey_get::{view, visible};
use super::common::{kick_apikey_names, Publish};
use super::user_delete::note_actor;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: ApiKeyIdRequest,
) -> Result<ApiKeyView, ApiError> {
    // Revoking works in a frozen tenant too: taking access away is always allowed.
    let first = visible(ctx, admin, Permission::ApikeyManage, &req.key_id).await?;
    let key = ApiKeyKey::new(&first.value.tenant, &first.value.key_id);
    let now = ctx.clock.now().to_rfc3339();
    let note = ChangeNote::new(
        admin.name(),
        Some(admin.request.clone()),
        &now,
        Noted::ApiKeyRevoked,
    );
    let m = ctx
        .store
        .apikeys
        .modify(&key, |cur| {
            let cur = cur.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such API key"))?;
            if cur.value.revoked_at.is_some() {
                return Ok(Decision::Keep(()));
            }
            let mut next = cur.value.clone();
            next.revoked_at = Some(now.clone());
            next.note = Some(note.clone());
            Ok::<_, ApiError>(Decision::put(next))
        })
        .await?;
    let cur = m
        .current
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such API key"))?;
    ctx.apikeys.put(cur.value.key_id.as_str(), cur.clone());
    if m.changed {
        crate::failpoint::hit("apikey_revoke.after_write");
        finish(ctx, &cur, Publish::Always).await?;
    }
    Ok(view(&cur.value))
}

/// `apikey.revoked` and the kick of the key's connections, from the revoke's note (by
/// the handler, or by a healer).
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<ApiKeyRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let Some(
        note @ ChangeNote {
            change: Noted::ApiKeyRevoked,
            ..
        },
    ) = &cur.value.note
    else {
        return Ok(());
    };
    let actor = note_actor(note);
    let event = Event::ApikeyRevoked {
        key: &cur.value,
        revision: cur.revision,
    };
    publish.record(ctx, actor.clone(), event).await?;
    let names = crate::bus::apikey_conn_names(&cur.value);
    kick_apikey_names(ctx, &cur.value.key_id, &names, &actor, cur.revision).await;
    Ok(())
}
