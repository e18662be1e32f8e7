//! `admin.tenant.update`: any field but the slug and the status. New external customer
//! ids are claimed before the record names them, and the ids it stops naming are
//! released after; an update that changes nothing writes nothing and publishes nothing.

use crate::audit::Event;
use crate::domain::{ExternalIdKind, TenantStatus};
use crate::store::records::{ChangeNote, Noted, ReleasedId, TenantRecord};
use crate::store::{Decision, Versioned};
use crate::time_util;
use crate::wire::admin::{check_contract, TenantUpdateRequest, TenantView};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::tenant_claims::{claim, dropped, ids_of, release, IdClaim};
use super::tenant_create::products;
use super::tenant_get::{no_such_tenant, view};
use super::user_delete::note_actor;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: TenantUpdateRequest,
) -> Result<TenantView, ApiError> {
    let now = ctx.clock.now();
    let tenant = req.tenant.clone();
    // The ids the update sets: claimed first (a claim this tenant holds already is ours).
    let wanted: Vec<IdClaim> = [
        (ExternalIdKind::ErpCustomerId, req.erp_customer_id.set()),
        (
            ExternalIdKind::StripeCustomerId,
            req.stripe_customer_id.set(),
        ),
    ]
    .into_iter()
    .filter_map(|(k, id)| id.map(|id| (k, id.clone())))
    .collect();
    claim(ctx, &tenant, &wanted).await?;
    let decided = ctx
        .store
        .tenants
        .modify(&tenant, |cur| {
            let cur = cur.ok_or_else(no_such_tenant)?;
            if cur.value.status == TenantStatus::Archived {
                return Err(archived());
            }
            let mut next = cur.value.clone();
            apply(&req, &mut next);
            check_contract(next.contract_start, next.contract_end)?;
            let fields = changed_fields(&cur.value, &next);
            if fields.is_empty() {
                return Ok(Decision::Keep(()));
            }
            next.updated_at = now.to_rfc3339();
            let released = dropped(&ids_of(&cur.value), &next)
                .into_iter()
                .map(|(kind, id)| ReleasedId { kind, id })
                .collect();
            let change = Noted::TenantUpdated {
                fields: fields.into_iter().map(str::to_owned).collect(),
                released,
            };
            next.note = Some(admin.note(&now.to_rfc3339(), change));
            Ok(Decision::put(next))
        })
        .await;
    let m = match decided {
        Ok(m) => m,
        Err(e) => {
            release(ctx, &tenant, &wanted).await;
            return Err(e);
        }
    };
    let rec = m.current.ok_or_else(no_such_tenant)?;
    // This worker sees its own change at once (others through their watch).
    ctx.tenants.put(&rec.value);
    if m.changed {
        crate::failpoint::hit("tenant_update.after_write");
        finish(ctx, &rec, Publish::Always).await?;
    }
    Ok(view(&rec.value, now))
}

/// The customer ids the record stopped naming released, then `tenant.updated`, from
/// the update's note (by the handler, or by a healer).
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<TenantRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let Some(
        note @ ChangeNote {
            change: Noted::TenantUpdated { fields, released },
            ..
        },
    ) = &cur.value.note
    else {
        return Ok(());
    };
    let ids: Vec<IdClaim> = released.iter().map(|r| (r.kind, r.id.clone())).collect();
    release(ctx, &cur.value.tenant, &ids).await;
    let event = Event::TenantUpdated {
        tenant: &cur.value,
        revision: cur.revision,
        fields,
    };
    publish.record(ctx, note_actor(note), event).await?;
    Ok(())
}

/// `conflict` for a change to an archived tenant.
pub(super) fn archived() -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        "the tenant is archived: its record no longer changes",
    )
}

/// Writes what `req` sets or clears into `rec` (validation already refused clearing a
/// required field).
fn apply(req: &TenantUpdateRequest, rec: &mut TenantRecord) {
    if let Some(name) = req.name.set() {
        rec.name = name.as_str().to_owned();
    }
    if let Some(kind) = req.kind.set() {
        rec.kind = *kind;
    }
    if let Some(plan) = req.plan.set() {
        rec.plan = plan.clone();
    }
    if let Some(p) = req.products.set() {
        rec.products = products(p.clone());
    }
    let ends_before = rec.trial_ends_at.clone();
    rec.trial_ends_at = req
        .trial_ends_at
        .apply(rec.trial_ends_at.take(), |t| time_util::rfc3339(t.0));
    if rec.trial_ends_at != ends_before {
        // A new end of trial gets its own `tenant.trial_expired`.
        rec.trial_expired_at = None;
    }
    rec.contract_start = req.contract_start.apply(rec.contract_start, |d| *d);
    rec.contract_end = req.contract_end.apply(rec.contract_end, |d| *d);
    rec.erp_customer_id = req
        .erp_customer_id
        .apply(rec.erp_customer_id.take(), Clone::clone);
    rec.stripe_customer_id = req
        .stripe_customer_id
        .apply(rec.stripe_customer_id.take(), Clone::clone);
    rec.sales_owner = req
        .sales_owner
        .apply(rec.sales_owner.take(), |l| l.as_str().to_owned());
}

/// The fields whose values differ between `a` and `b`, in record order.
fn changed_fields(a: &TenantRecord, b: &TenantRecord) -> Vec<&'static str> {
    [
        ("name", a.name != b.name),
        ("kind", a.kind != b.kind),
        ("plan", a.plan != b.plan),
        ("trial_ends_at", a.trial_ends_at != b.trial_ends_at),
        ("contract_start", a.contract_start != b.contract_start),
        ("contract_end", a.contract_end != b.contract_end),
        ("erp_customer_id", a.erp_customer_id != b.erp_customer_id),
        (
            "stripe_customer_id",
            a.stripe_customer_id != b.stripe_customer_id,
        ),
        ("sales_owner", a.sales_owner != b.sales_owner),
        ("products", a.products != b.products),
    ]
    .into_iter()
    .filter_map(|(f, differs)| differs.then_some(f))
    .collect()
}
