//! `admin.tenant.set_product`: one product of a tenant, enabled or not, with its
//! configuration (kept when the request gives none) and expiry (kept when absent,
//! removed by `null`). The event names the product and the configuration's size only.

use crate::audit::Event;
use crate::domain::{TenantStatus, MAX_PRODUCTS};
use crate::store::records::{ChangeNote, Noted, ProductRecord, TenantRecord};
use crate::store::{Decision, Versioned};
use crate::time_util;
use crate::wire::admin::{TenantSetProductRequest, TenantView};
use crate::wire::ApiError;

use super::common::Publish;
use super::tenant_get::{no_such_tenant, view};
use super::tenant_update::archived;
use super::user_delete::note_actor;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: TenantSetProductRequest,
) -> Result<TenantView, ApiError> {
    let now = ctx.clock.now();
    let m = ctx
        .store
        .tenants
        .modify(&req.tenant, |cur| {
            let cur = cur.ok_or_else(no_such_tenant)?;
            if cur.value.status == TenantStatus::Archived {
                return Err(archived());
            }
            let had = cur.value.products.get(&req.product);
            if had.is_none() && cur.value.products.len() >= MAX_PRODUCTS {
                return Err(ApiError::bad_request(format!(
                    "a tenant holds at most {MAX_PRODUCTS} products"
                )));
            }
            let product = ProductRecord {
                enabled: req.enabled,
                config: match (&req.config, had) {
                    (Some(c), _) => c.clone(),
                    (None, Some(p)) => p.config.clone(),
                    (None, None) => Default::default(),
                },
                expires_at: req
                    .expires_at
                    .apply(had.and_then(|p| p.expires_at.clone()), |t| {
                        time_util::rfc3339(t.0)
                    }),
            };
            if had == Some(&product) {
                return Ok(Decision::Keep(()));
            }
            let mut next = cur.value.clone();
            next.products.insert(req.product.clone(), product);
            next.updated_at = now.to_rfc3339();
            let change = Noted::TenantProductSet {
                product: req.product.clone(),
            };
            next.note = Some(admin.note(&now.to_rfc3339(), change));
            Ok(Decision::put(next))
        })
        .await?;
    let rec = m.current.ok_or_else(no_such_tenant)?;
    // This worker sees its own change at once (others through their watch).
    ctx.tenants.put(&rec.value);
    if m.changed {
        crate::failpoint::hit("tenant_set_product.after_write");
        finish(ctx, &rec, Publish::Always).await?;
    }
    Ok(view(&rec.value, now))
}

/// `tenant.product_set`, from the change's note (by the handler, or by a healer).
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<TenantRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let Some(
        note @ ChangeNote {
            change: Noted::TenantProductSet { product },
            ..
        },
    ) = &cur.value.note
    else {
        return Ok(());
    };
    let Some(p) = cur.value.products.get(product) else {
        return Ok(());
    };
    let event = Event::TenantProductSet {
        tenant: &cur.value.tenant,
        revision: cur.revision,
        product,
        enabled: p.enabled,
        expires_at: p.expires_at.as_deref(),
        config_bytes: p.config.encoded_len(),
    };
    publish.record(ctx, note_actor(note), event).await?;
    Ok(())
}
