//! `admin.credential.rewrap` (platform scope, `credential:manage`): after `roster vault
//! rotate-kek` added a key-encryption key version to the key file, every data key is
//! rewrapped under it (the worker re-reads the file first). No value ciphertext changes.
//! Safe to repeat; `credential.rewrapped` says how many keys moved.

use crate::audit::Event;
use crate::authz::Permission;
use crate::wire::admin::{CredentialRewrapReply, CredentialRewrapRequest};
use crate::wire::ApiError;

use super::credentials::{vault, vault_error};
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    _req: CredentialRewrapRequest,
) -> Result<CredentialRewrapReply, ApiError> {
    admin.require_platform(Permission::CredentialManage)?;
    let vault = vault(ctx)?;
    let at = ctx.clock.now().to_rfc3339();
    let done = vault
        .rewrap_all(&ctx.store, &at)
        .await
        .map_err(vault_error)?;
    let event = Event::CredentialsRewrapped {
        kek_version: done.kek_version,
        data_keys: done.data_keys,
        rewrapped: done.rewrapped,
        at: &at,
    };
    ctx.audit.record(admin.actor(), event).await?;
    Ok(CredentialRewrapReply {
        kek_version: done.kek_version,
        data_keys: done.data_keys,
        rewrapped: done.rewrapped,
    })
}
