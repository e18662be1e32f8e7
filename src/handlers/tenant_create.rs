//! `admin.tenant.create`: a new tenant. Its external customer ids are claimed first, so
//! of two tenants racing for one id exactly one is created; the slug is taken with a
//! `create`, and since records are never deleted, a slug is never reused.

use std::collections::BTreeMap;

use crate::audit::Event;
use crate::domain::{Plan, ProductName, TenantKind, TenantStatus};
use crate::store::records::{ChangeNote, Noted, ProductRecord, TenantRecord, SCHEMA_V};
use crate::store::{StoreError, Versioned};
use crate::time_util;
use crate::wire::admin::{ProductSpec, TenantCreateRequest, TenantView};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::tenant_claims::{claim, ids_of, release};
use super::tenant_get::view;
use super::user_delete::note_actor;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: TenantCreateRequest,
) -> Result<TenantView, ApiError> {
    let now = ctx.clock.now();
    let mut rec = record(req, admin.name(), now.to_rfc3339());
    rec.note = Some(admin.note(&now.to_rfc3339(), Noted::TenantCreated));
    let ids = ids_of(&rec);
    if ctx.store.tenant(&rec.tenant).await?.is_some() {
        return Err(taken(&rec.tenant));
    }
    // Its built-in roles first (created only where absent, so seeding a slug that turns
    // out taken changes nothing but an archived tenant's, undone below): a tenant never
    // exists without them.
    ctx.store.seed_roles(&rec.tenant, &now.to_rfc3339()).await?;
    claim(ctx, &rec.tenant, &ids).await?;
    let revision = match ctx.store.tenants.create(&rec.tenant, &rec).await {
        Ok(rev) => rev,
        Err(e) => {
            // The record is not ours: give back what we claimed (a claim the existing
            // tenant's record names stays).
            release(ctx, &rec.tenant, &ids).await;
            if matches!(e, StoreError::Conflict) {
                // Raced with a creation of the slug: if that tenant is archived, the
                // roles seeded here are the only state it has, and go again.
                let other = ctx.store.tenant(&rec.tenant).await?;
                if other.is_some_and(|t| t.value.status == TenantStatus::Archived) {
                    ctx.store.purge_tenant(&rec.tenant).await?;
                }
                return Err(taken(&rec.tenant));
            }
            return Err(e.into());
        }
    };
    ctx.tenants.put(&rec);
    crate::failpoint::hit("tenant_create.after_write");
    let cur = Versioned {
        value: rec,
        revision,
    };
    finish(ctx, &cur, Publish::Always).await?;
    Ok(view(&cur.value, now))
}

/// `tenant.created`, from the creation's note (by the handler, or by a healer).
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<TenantRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let Some(
        note @ ChangeNote {
            change: Noted::TenantCreated,
            ..
        },
    ) = &cur.value.note
    else {
        return Ok(());
    };
    let event = Event::TenantCreated {
        tenant: &cur.value,
        revision: cur.revision,
    };
    publish.record(ctx, note_actor(note), event).await?;
    Ok(())
}

/// `conflict`: the slug is taken.
fn taken(tenant: &crate::domain::Tenant) -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        format!("tenant {tenant} exists (slugs are never reused, archived tenants' included)"),
    )
}

/// The record `req` asks for, created by `by` at `at`.
fn record(req: TenantCreateRequest, by: &str, at: String) -> TenantRecord {
    let kind = req.kind.unwrap_or(TenantKind::Customer);
    TenantRecord {
        v: SCHEMA_V,
        tenant: req.tenant,
        name: req.name.into(),
        status: req.status.unwrap_or_else(|| kind.default_status()),
        kind,
        plan: req.plan.unwrap_or_else(Plan::starter),
        trial_ends_at: req.trial_ends_at.map(|t| time_util::rfc3339(t.0)),
        trial_expired_at: None,
        purged_at: None,
        contract_start: req.contract_start,
        contract_end: req.contract_end,
        erp_customer_id: req.erp_customer_id,
        stripe_customer_id: req.stripe_customer_id,
        sales_owner: req.sales_owner.map(String::from),
        products: products(req.products.unwrap_or_default()),
        created_at: at.clone(),
        created_by: by.to_owned(),
        updated_at: at,
        note: None,
    }
}

/// Products as a request gives them, as the record keeps them.
pub(super) fn products(
    specs: BTreeMap<ProductName, ProductSpec>,
) -> BTreeMap<ProductName, ProductRecord> {
    specs
        .into_iter()
        .map(|(name, p)| {
            let rec = ProductRecord {
                enabled: p.enabled,
                config: p.config.unwrap_or_default(),
                expires_at: p.expires_at.map(|t| time_util::rfc3339(t.0)),
            };
            (name, rec)
        })
        .collect()
}
