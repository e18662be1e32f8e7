//! `admin.credential.reveal`: the value, sealed to the requester's registered `kex_pub`
//! (HKDF info `roster-v1 credential-out`, the credential id as associated data), so only
//! the requester can open it. Order: the checks (access, active, unexpired), the value
//! decrypted, `last_used_at` written (a CAS that checks again), `credential.accessed`
//! (every reveal is one), the reply.

use crate::audit::CredentialAction;
use crate::crypto;
use crate::wire::admin::{CredentialIdRequest, CredentialRevealReply};
use crate::wire::{ApiError, ErrorCode};

use super::credentials::{change, load, publish, revealable, vault, vault_error, Access};
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
    let kex_pub = super::credentials::own_user(admin)?.value.kex_pub.bytes();
    let sealed = crypto::seal_value_out(&value, kex_pub, id.as_str()).map_err(|why| {
        tracing::error!(%why, "sealing a revealed value failed");
        ApiError::new(ErrorCode::Internal, "internal error")
    })?;
    drop(value);
    let at = now.to_rfc3339();
    let (used, _) = change(ctx, &id, |c| {
        // Decided again on what is there now: a revoke that landed meanwhile wins.
        revealable(c, now)?;
        let mut next = c.clone();
        next.last_used_at = Some(at.clone());
        Ok(Some(next))
    })
    .await?;
    publish(ctx, admin, CredentialAction::Accessed, &used).await?;
    Ok(CredentialRevealReply {
        credential_id: id,
        value: sealed,
    })
}
