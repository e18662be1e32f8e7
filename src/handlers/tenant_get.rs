//! `admin.tenant.get`: one tenant, archived ones too.

use crate::store::records::{ProductRecord, TenantRecord};
use crate::time_util::Timestamp;
use crate::wire::admin::{ProductView, TenantRef, TenantView};
use crate::wire::{ApiError, ErrorCode};

use super::Ctx;

pub(super) async fn handle(ctx: &Ctx, req: TenantRef) -> Result<TenantView, ApiError> {
    let rec = ctx
        .store
        .tenant(&req.tenant)
        .await?
        .ok_or_else(no_such_tenant)?;
    Ok(view(&rec.value, ctx.clock.now()))
}

/// `not_found` for a tenant that does not exist.
pub(super) fn no_such_tenant() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such tenant")
}

/// The admin view of a tenant at `now`.
pub(super) fn view(rec: &TenantRecord, now: Timestamp) -> TenantView {
    TenantView {
        tenant: rec.tenant.clone(),
        name: rec.name.clone(),
        status: rec.status,
        effective_status: rec.effective_status(now),
        kind: rec.kind,
        plan: rec.plan.clone(),
        trial_ends_at: rec.trial_ends_at.clone(),
        contract_start: rec.contract_start,
        contract_end: rec.contract_end,
        erp_customer_id: rec.erp_customer_id.clone(),
        stripe_customer_id: rec.stripe_customer_id.clone(),
        sales_owner: rec.sales_owner.clone(),
        products: rec
            .products
            .iter()
            .map(|(name, p)| (name.clone(), product_view(p)))
            .collect(),
        created_at: rec.created_at.clone(),
        created_by: rec.created_by.clone(),
        updated_at: rec.updated_at.clone(),
    }
}

fn product_view(p: &ProductRecord) -> ProductView {
    ProductView {
        enabled: p.enabled,
        config: p.config.clone(),
        expires_at: p.expires_at.clone(),
    }
}
