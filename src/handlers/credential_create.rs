//! `admin.credential.create` (PROTOCOL §10): a value sealed to the worker's
//! `credential_kex` is opened, encrypted under its holder's data key, and stored with
//! its masked form. Order: the (provider, name) claim (`create`: of two racing
//! creations one wins, the other is `conflict`), the record (with its note), then
//! `credential.created` (a healer publishes it if the worker died first).

use crate::domain::{masked_value, CredentialId, CredentialScope};
use crate::store::records::{CredentialRecord, Noted, SCHEMA_V};
use crate::store::{VaultNameKey, Versioned};
use crate::time_util::Timestamp;
use crate::wire::admin::{CredentialCreateRequest, CredentialView};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::credentials::{
    check_named, finish, future_expiry, holder_of, note, opened_value, vault, vault_error, view,
    writable, Access,
};
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: CredentialCreateRequest,
) -> Result<CredentialView, ApiError> {
    let vault = vault(ctx)?;
    let holder = holder_of(admin, req.scope, req.tenant.as_ref())?;
    check_named(admin, &holder, Access::Manage, "create credentials of")?;
    writable(ctx, &holder).await?;
    let now = ctx.clock.now();
    let expires_at = future_expiry(req.expires_at, now)?;
    let value = opened_value(
        vault,
        &req.value,
        &holder.sealing_ad(&req.provider, &req.name),
    )?;
    let id = CredentialId::generate();
    let claim = VaultNameKey::new(&holder, &req.provider, &req.name);
    if !ctx.store.claim_credential_name(&claim, &id, now).await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "{holder} has a credential {}/{} (names compare case-insensitively)",
                req.provider, req.name
            ),
        ));
    }
    let at = now.to_rfc3339();
    let stored = vault
        .encrypt(&ctx.store, &holder, &id, &value, &at)
        .await
        .map_err(vault_error);
    let stored = match stored {
        Ok(s) => s,
        Err(e) => {
            ctx.store.release_credential_name(&claim, &id).await?;
            return Err(e);
        }
    };
    let rec = CredentialRecord {
        v: SCHEMA_V,
        credential_id: id.clone(),
        scope: req.scope,
        owner: match req.scope {
            CredentialScope::User => {
                Some(super::credentials::own_user(admin)?.value.handle.clone())
            }
            _ => None,
        },
        tenant: match &holder {
            crate::domain::CredentialHolder::Tenant(t) => Some(t.clone()),
            _ => None,
        },
        name: req.name,
        provider: req.provider,
        kind: req.kind,
        masked_value: masked_value(&value),
        description: req.description,
        expires_at: expires_at.map(Timestamp::to_rfc3339),
        last_used_at: None,
        metadata: req.metadata.unwrap_or_default(),
        active: true,
        rotated_at: None,
        revoked_at: None,
        created_at: at.clone(),
        created_by: admin.name().to_owned(),
        updated_at: at.clone(),
        value: stored,
        expiring_notified_at: None,
        note: Some(note(admin, &at, Noted::CredentialCreated)),
    };
    drop(value);
    let revision = match ctx.store.vault.create(&id, &rec).await {
        Ok(r) => r,
        Err(e) => {
            ctx.store.release_credential_name(&claim, &id).await?;
            return Err(e.into());
        }
    };
    let cur = Versioned {
        value: rec,
        revision,
    };
    crate::failpoint::hit("credential_create.after_write");
    finish(ctx, &cur, Publish::Always).await?;
    Ok(view(&cur.value))
}
