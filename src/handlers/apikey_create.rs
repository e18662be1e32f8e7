//! `admin.apikey.create`: a new API key of a tenant (PROTOCOL §9), its `rak_` secret
//! shown once. Its scopes must all be held by the creator throughout that tenant (no key
//! grants what its creator lacks, and a site-scoped reader mints no tenant-wide key);
//! its name is unique in the tenant case-insensitively. The record holds the secret's
//! Argon2id PHC string only, hashed on the Argon2 pool.

use crate::audit::Event;
use crate::authz::{PermSet, Permission};
use crate::crypto::{self, Secret};
use crate::domain::ApiKeyToken;
use crate::store::records::{ApiKeyRecord, ChangeNote, Noted, SCHEMA_V};
use crate::store::{ApiKeyTaken, Versioned};
use crate::wire::admin::{ApiKeyCreateRequest, ApiKeySecretReply};
use crate::wire::{ApiError, ErrorCode};

use super::apikey_get::view;
use super::common::Publish;
use super::user_delete::note_actor;
use super::{Admin, Ctx};

/// Most fresh key ids tried when one collides (64 random bits: never twice in practice).
const ID_ROUNDS: usize = 4;

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: ApiKeyCreateRequest,
) -> Result<ApiKeySecretReply, ApiError> {
    let tenant = req.tenant.clone().unwrap_or_else(|| admin.home_tenant());
    admin.require(Permission::ApikeyManage, &tenant, None)?;
    let t = ctx.writable_tenant(&tenant).await?;
    may_hold(admin, &tenant, &req.scopes)?;
    if let Some(p) = &req.product {
        if !t.products.contains_key(p.as_str()) {
            return Err(ApiError::bad_request(format!(
                "tenant {tenant} has no product {p}"
            )));
        }
    }
    let now = ctx.clock.now();
    let expires_at = req
        .ttl_secs
        .map(|s| (now + std::time::Duration::from_secs(s)).to_rfc3339());
    for _ in 0..ID_ROUNDS {
        let secret = Secret::mint(crypto::SecretKind::ApiKey);
        let token = ApiKeyToken::from_minted(secret);
        let phc = hash(ctx, &token).await?;
        let mut rec = ApiKeyRecord {
            v: SCHEMA_V,
            key_id: token.key_id(),
            tenant: tenant.clone(),
            name: req.name.clone(),
            scopes: req.scopes.clone(),
            product: req.product.clone(),
            prefix: token.secret().display_prefix().to_owned(),
            phc,
            created_by: admin.name().to_owned(),
            created_at: now.to_rfc3339(),
            expires_at: expires_at.clone(),
            last_used_at: None,
            revoked_at: None,
            rolled_at: None,
            previous: None,
            note: None,
        };
        rec.note = Some(ChangeNote::new(
            admin.name(),
            Some(admin.request.clone()),
            &now.to_rfc3339(),
            Noted::ApiKeyCreated,
        ));
        let revision = match ctx.store.create_apikey(&rec, now).await? {
            Ok(r) => r,
            Err(ApiKeyTaken::Id) => continue,
            Err(ApiKeyTaken::Name) => {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!(
                    "tenant {tenant} has an API key named {} (names compare case-insensitively)",
                    req.name
                ),
                ))
            }
        };
        crate::failpoint::hit("apikey_create.after_write");
        let cur = Versioned {
            value: rec,
            revision,
        };
        ctx.apikeys.put(cur.value.key_id.as_str(), cur.clone());
        finish(ctx, &cur, Publish::Always).await?;
        return Ok(ApiKeySecretReply {
            apikey: view(&cur.value),
            key: token.secret().expose().to_owned(),
        });
    }
    Err(ApiError::new(
        ErrorCode::Unavailable,
        "could not mint an unused key id; retry",
    ))
}

/// Checks `admin` holds every one of `scopes` throughout `tenant`.
fn may_hold(
    admin: &Admin,
    tenant: &crate::domain::Tenant,
    scopes: &std::collections::BTreeSet<Permission>,
) -> Result<(), ApiError> {
    if let Some(p) = scopes.iter().find(|p| p.is_platform_only()) {
        return Err(ApiError::bad_request(format!(
            "{} is a platform permission: no API key holds it",
            p.key()
        )));
    }
    let held = admin.grants.at(tenant, None);
    let wanted: PermSet = scopes.iter().collect();
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|p| !held.contains(*p))
        .map(Permission::key)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "{} may not grant {} in tenant {tenant}",
                admin.name(),
                missing.join(", ")
            ),
        ))
    }
}

/// The Argon2id PHC string of `token`, computed on the Argon2 pool.
pub(super) async fn hash(ctx: &Ctx, token: &ApiKeyToken) -> Result<String, ApiError> {
    let params = ctx.keys.params();
    let text = Secret::parse(crypto::SecretKind::ApiKey, token.secret().expose())
        .map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))?;
    ctx.keys
        .on_pool(move |scratch| crypto::argon2_hash_with(scratch, &text, params))
        .await
        .and_then(Result::ok)
        .ok_or_else(|| {
            tracing::error!("hashing an API key failed");
            ApiError::new(ErrorCode::Internal, "internal error")
        })
}

/// `apikey.created`, from the creation's note (by the handler, or by a healer).
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<ApiKeyRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let Some(
        note @ ChangeNote {
            change: Noted::ApiKeyCreated,
            ..
        },
    ) = &cur.value.note
    else {
        return Ok(());
    };
    let event = Event::ApikeyCreated {
        key: &cur.value,
        revision: cur.revision,
    };
    publish.record(ctx, note_actor(note), event).await?;
    Ok(())
}
