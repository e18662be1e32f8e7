//! `admin.site.create`: a site with its first enrollment key (shown once).

use crate::audit::Event;
use crate::authz::Permission;
use crate::crypto::{self, Secret, SecretKind};
use crate::domain::{Policy, SiteRef, Tenant};
use crate::store::records::{ChangeNote, Noted, SiteKey, SiteRecord, SCHEMA_V};
use crate::store::{StoreError, Versioned};
use crate::wire::admin::{SiteCreateReply, SiteCreateRequest};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::site_get::view;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: SiteCreateRequest,
) -> Result<SiteCreateReply, ApiError> {
    let tenant = req.tenant.unwrap_or_else(Tenant::default_tenant);
    admin.require(Permission::SiteManage, &tenant, Some(&req.site))?;
    ctx.writable_tenant(&tenant).await?;
    let (key, phc) = mint_key(ctx).await?;
    let now = ctx.clock.now().to_rfc3339();
    let rec = SiteRecord {
        v: SCHEMA_V,
        tenant: tenant.clone(),
        site: req.site.clone(),
        display_name: req
            .display_name
            .map_or_else(|| req.site.as_str().to_owned(), String::from),
        company: req.company.map(String::from),
        policy: req.policy.unwrap_or(Policy::Auto),
        key_version: 1,
        keys: vec![SiteKey {
            version: 1,
            phc,
            fingerprint: crypto::fingerprint(&key),
            created_at: now.clone(),
            retires_at: None,
        }],
        note: Some(admin.note(&now, Noted::SiteCreated)),
        created_at: now,
        created_by: admin.name().to_owned(),
        updated_at: None,
    };
    let place = SiteRef::new(&tenant, &req.site);
    let revision = match ctx.store.sites.create(&place, &rec).await {
        Ok(rev) => rev,
        Err(StoreError::Conflict) => {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "a site with this code exists in this tenant",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    crate::failpoint::hit("site_create.after_write");
    let v = view(&rec);
    finish(
        ctx,
        &Versioned {
            value: rec,
            revision,
        },
        Publish::Always,
    )
    .await?;
    Ok(SiteCreateReply {
        site: v,
        enrollment_key: key.expose().to_owned(),
    })
}

/// `site.created`, from the creation's note (by the handler, or by a healer).
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<SiteRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let Some(
        note @ ChangeNote {
            change: Noted::SiteCreated,
            ..
        },
    ) = &cur.value.note
    else {
        return Ok(());
    };
    let place = SiteRef::new(&cur.value.tenant, &cur.value.site);
    let fingerprint = view(&cur.value).fingerprint;
    let event = Event::SiteCreated {
        site: &place,
        revision: cur.revision,
        policy: cur.value.policy,
        fingerprint: &fingerprint,
    };
    publish
        .record(ctx, super::user_delete::note_actor(note), event)
        .await?;
    Ok(())
}

/// Mints a `cek_` key and its Argon2id PHC string (hashed on the Argon2 pool).
pub(super) async fn mint_key(ctx: &Ctx) -> Result<(Secret, String), ApiError> {
    let key = Secret::mint(SecretKind::Enrollment);
    let params = ctx.keys.params();
    let text = zeroize::Zeroizing::new(key.expose().to_owned());
    let phc = ctx
        .keys
        .on_pool(move |scratch| {
            let s = Secret::parse(SecretKind::Enrollment, &text).map_err(|e| e.0)?;
            crypto::argon2_hash_with(scratch, &s, params)
        })
        .await
        .and_then(Result::ok)
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "internal error"))?;
    Ok((key, phc))
}
