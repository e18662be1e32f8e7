//! `admin.apikey.get`: one API key by id (PROTOCOL §9), never its secret or hash. A key
//! of a tenant the reader may not read keys in is `not_found`.

use crate::authz::Permission;
use crate::domain::ApiKeyId;
use crate::store::records::ApiKeyRecord;
use crate::store::Versioned;
use crate::wire::admin::{ApiKeyIdRequest, ApiKeyView};
use crate::wire::{ApiError, ErrorCode};

use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: ApiKeyIdRequest,
) -> Result<ApiKeyView, ApiError> {
    let k = visible(ctx, admin, Permission::ApikeyRead, &req.key_id).await?;
    Ok(view(&k.value))
}

/// Key `key_id` if `admin` holds `perm` in its tenant (else `not_found`, as for no key).
pub(super) async fn visible(
    ctx: &Ctx,
    admin: &Admin,
    perm: Permission,
    key_id: &ApiKeyId,
) -> Result<Versioned<ApiKeyRecord>, ApiError> {
    let not_found = || ApiError::new(ErrorCode::NotFound, "no such API key");
    let tenant = ctx
        .store
        .apikey_tenant(key_id)
        .await?
        .ok_or_else(not_found)?;
    if !admin.grants.allows(perm, &tenant, None) {
        return Err(not_found());
    }
    ctx.store
        .apikey(&tenant, key_id)
        .await?
        .ok_or_else(not_found)
}

/// The admin view of a key.
pub(crate) fn view(k: &ApiKeyRecord) -> ApiKeyView {
    ApiKeyView {
        key_id: k.key_id.clone(),
        tenant: k.tenant.clone(),
        name: k.name.clone(),
        scopes: k.scopes.clone(),
        product: k.product.clone(),
        prefix: k.prefix.clone(),
        created_by: k.created_by.clone(),
        created_at: k.created_at.clone(),
        expires_at: k.expires_at.clone(),
        last_used_at: k.last_used_at.clone(),
        revoked_at: k.revoked_at.clone(),
        rolled_at: k.rolled_at.clone(),
        previous_valid_until: k.previous.as_ref().map(|p| p.until.clone()),
    }
}
