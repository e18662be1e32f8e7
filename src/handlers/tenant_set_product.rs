//! `admin.tenant.set_product`: one product of a tenant, enabled or not, with its
//! configuration (kept when the request gives none) and expiry (kept when absent,
//! removed by `null`). The event names the product and the configuration's size only.

use crate::audit::Event;
use crate::domain::{TenantStatus, MAX_PRODUCTS};
use crate::store::records::ProductRecord;
use crate::store::Decision;
use crate::time_util;
use crate::wire::admin::{TenantSetProductRequest, TenantView};
use crate::wire::ApiError;

use super::tenant_get::{no_such_tenant, view};
use super::tenant_update::archived;
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
            Ok(Decision::put(next))
        })
        .await?;
    let rec = m.current.ok_or_else(no_such_tenant)?;
    // This worker sees its own change at once (others through their watch).
    ctx.tenants.put(&rec.value);
    if m.changed {
        if let Some(p) = rec.value.products.get(&req.product) {
            let event = Event::TenantProductSet {
                tenant: &req.tenant,
                revision: rec.revision,
                product: &req.product,
                enabled: p.enabled,
                expires_at: p.expires_at.as_deref(),
                config_bytes: p.config.encoded_len(),
            };
            ctx.audit.record(admin.actor(), event).await?;
        }
    }
    Ok(view(&rec.value, now))
}
