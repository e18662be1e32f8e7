//! `admin.apikey.roll`: a new secret for an API key (PROTOCOL §9). The key keeps its id,
//! name, scopes and expiry (never a later one); the old secret works until the grace
//! ends (default 0: at once no more). Rolling a revoked or expired key is `conflict`.

use crate::audit::Event;
use crate::authz::Permission;
use crate::crypto::Secret;
use crate::domain::ApiKeyToken;
use crate::store::records::{ApiKeyRecord, ChangeNote, Noted, PreviousSecret};
use crate::store::{ApiKeyKey, Decision, Versioned};
use crate::time_util::Timestamp;
use crate::wire::admin::{ApiKeyRollRequest, ApiKeySecretReply};
use crate::wire::{ApiError, ErrorCode};

use super::apikey_create::hash;
use super::apikey_get::{view, visible};
use super::common::kick_apikey_names as kick_names;
use super::common::Publish;
use super::user_delete::note_actor;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: ApiKeyRollRequest,
) -> Result<ApiKeySecretReply, ApiError> {
    let first = visible(ctx, admin, Permission::ApikeyManage, &req.key_id).await?;
    ctx.writable_tenant(&first.value.tenant).await?;
    let secret = Secret::mint_api_key(req.key_id.as_str())
        .map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))?;
    let token = ApiKeyToken::from_minted(secret);
    let phc = hash(ctx, &token).await?;
    let now = ctx.clock.now();
    let grace = req.grace_secs.map_or(0, |g| g.get().as_secs());
    let key = ApiKeyKey::new(&first.value.tenant, &first.value.key_id);
    let note = ChangeNote::new(
        admin.name(),
        Some(admin.request.clone()),
        &now.to_rfc3339(),
        Noted::ApiKeyRolled { grace_secs: grace },
    );
    let m = ctx
        .store
        .apikeys
        .modify(&key, |cur| {
            let cur = cur.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such API key"))?;
            ended(&cur.value, now)?;
            let mut next = cur.value.clone();
            // The old secret lives until its grace ends, never past the key's expiry.
            let mut until = now + std::time::Duration::from_secs(grace);
            if let Some(exp) = next.expires_at.as_deref().and_then(Timestamp::parse) {
                if exp.unix_ms() < until.unix_ms() {
                    until = exp;
                }
            }
            // Kept also with no grace (ending now), so its connections can be named.
            next.previous = Some(PreviousSecret {
                phc: cur.value.phc.clone(),
                until: until.to_rfc3339(),
            });
            next.phc = phc.clone();
            next.rolled_at = Some(now.to_rfc3339());
            next.note = Some(note.clone());
            Ok::<_, ApiError>(Decision::put(next))
        })
        .await?;
    crate::failpoint::hit("apikey_roll.after_write");
    let cur = m
        .current
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "internal error"))?;
    ctx.apikeys.put(cur.value.key_id.as_str(), cur.clone());
    finish(ctx, &cur, Publish::Always).await?;
    Ok(ApiKeySecretReply {
        apikey: view(&cur.value),
        key: token.secret().expose().to_owned(),
    })
}

/// `conflict` for a key that no longer works: revoked, or past its expiry.
pub(super) fn ended(k: &ApiKeyRecord, now: Timestamp) -> Result<(), ApiError> {
    if k.revoked_at.is_some() {
        return Err(ApiError::new(ErrorCode::Conflict, "the API key is revoked"));
    }
    if k.expires_at
        .as_deref()
        .and_then(Timestamp::parse)
        .is_some_and(|e| e.has_passed(now))
    {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the API key has expired",
        ));
    }
    Ok(())
}

/// `apikey.rolled`, from the roll's note (by the handler, or by a healer). The old
/// secret's connections stay until its grace ends (their JWTs expire then).
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<ApiKeyRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let Some(
        note @ ChangeNote {
            change: Noted::ApiKeyRolled { grace_secs },
            ..
        },
    ) = &cur.value.note
    else {
        return Ok(());
    };
    let event = Event::ApikeyRolled {
        key: &cur.value,
        revision: cur.revision,
        grace_secs: *grace_secs,
    };
    let actor = note_actor(note);
    publish.record(ctx, actor.clone(), event).await?;
    // Connections made with the old secret close when its grace ends: at once for no
    // grace; else at its end (this worker's timer; connections the old secret opens
    // after the roll get user JWTs that expire then by themselves).
    let old = old_conn_names(&cur.value);
    let until = cur
        .value
        .previous
        .as_ref()
        .and_then(|p| Timestamp::parse(&p.until));
    let ctx = ctx.clone();
    let key_id = cur.value.key_id.clone();
    let revision = cur.revision;
    let wait = until.map_or(std::time::Duration::ZERO, |u| {
        std::time::Duration::from_millis(
            u64::try_from(u.unix_ms() - ctx.clock.now().unix_ms()).unwrap_or(0),
        )
    });
    tokio::spawn(async move {
        tokio::time::sleep(wait).await;
        kick_names(&ctx, &key_id, &old, &actor, revision).await;
    });
    Ok(())
}

/// The connection names the secret before the roll gave.
fn old_conn_names(k: &ApiKeyRecord) -> Vec<String> {
    k.previous
        .iter()
        .map(|p| crate::bus::apikey_conn_name(k.key_id.as_str(), &p.phc))
        .collect()
}
