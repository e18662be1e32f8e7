//! `admin.credential.reveal`: the value, sealed to the requester's registered `kex_pub`
//! (HKDF info `roster-v1 credential-out`, the credential id as associated data), so only
//! the requester can open it. Order: the checks (access, active, unexpired), the value
//! decrypted, `last_used_at` written (a CAS that checks again), `credential.accessed`
//! (every reveal is one), the reply.

use crate::audit::CredentialAction;
use crate::crypto;
use crate::store::{Decision, StoreError};
use crate::wire::admin::{CredentialIdRequest, CredentialRevealReply};
use crate::wire::{ApiError, ErrorCode};

use super::credentials::{load, not_found, publish, revealable, vault, vault_error, Access};
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: CredentialIdRequest,
) -> Result<CredentialRevealReply, ApiError> {
    let vault = vault(ctx)?;
    let id = req.credential_id;
    let (cur, holder) = load(ctx, admin, &id, Access::Reveal).await?;
    let now = ctx.clock.now();
    revealable(&cur.value, now)?;
    let value = vault
        .decrypt(&ctx.store, &holder, &id, &cur.value.value)
        .await
        .map_err(vault_error)?;
    let kex_pub = admin.user.value.kex_pub.bytes();
    let sealed = crypto::seal_value_out(&value, kex_pub, id.as_str()).map_err(|why| {
        tracing::error!(%why, "sealing a revealed value failed");
        ApiError::new(ErrorCode::Internal, "internal error")
    })?;
    drop(value);
    let at = now.to_rfc3339();
    let used = ctx
        .store
        .vault
        .modify(&id, |c| {
            let Some(c) = c else {
                return Err(not_found());
            };
            // Decided again on what is there now: a revoke that landed meanwhile wins.
            revealable(&c.value, now)?;
            let mut next = c.value.clone();
            next.last_used_at = Some(at.clone());
            Ok::<_, ApiError>(Decision::put(next))
        })
        .await?;
    let used = used
        .current
        .ok_or_else(|| ApiError::from(StoreError::Conflict))?;
    publish(ctx, admin, CredentialAction::Accessed, &used).await?;
    Ok(CredentialRevealReply {
        credential_id: id,
        value: sealed,
    })
}
