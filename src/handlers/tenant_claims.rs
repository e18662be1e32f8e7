//! What the tenant commands share: the external customer ids a record names, claimed
//! before a record naming them is written and released once it no longer does.

use crate::domain::{ExternalId, ExternalIdKind, Tenant};
use crate::store::records::TenantRecord;
use crate::store::Claim;
use crate::wire::{ApiError, ErrorCode};

use super::Ctx;

/// An external customer id with its kind.
pub(super) type IdClaim = (ExternalIdKind, ExternalId);

/// The external customer ids `rec` names.
pub(super) fn ids_of(rec: &TenantRecord) -> Vec<IdClaim> {
    ExternalIdKind::ALL
        .into_iter()
        .filter_map(|k| rec.external_id(k).map(|id| (k, id.clone())))
        .collect()
}

/// Claims every id of `ids` for `tenant`. If another tenant holds one, what this call
/// claimed is released again and the answer is `conflict`, naming the holder.
pub(super) async fn claim(ctx: &Ctx, tenant: &Tenant, ids: &[IdClaim]) -> Result<(), ApiError> {
    let now = ctx.clock.now();
    for (i, (kind, id)) in ids.iter().enumerate() {
        let refusal = match ctx.store.claim_external_id(*kind, id, tenant, now).await {
            Ok(Claim::Ours) => continue,
            Ok(Claim::Theirs(holder)) => ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "{} {} belongs to tenant {holder}",
                    kind.field(),
                    id.as_str()
                ),
            ),
            Err(e) => e.into(),
        };
        release(ctx, tenant, &ids[..i]).await;
        return Err(refusal);
    }
    Ok(())
}

/// Releases `tenant`'s claims of `ids` that its record no longer names. A failure is
/// logged, not returned: the change stands, and a claim its record does not name is
/// taken over by the next tenant that claims the id once it has settled.
pub(super) async fn release(ctx: &Ctx, tenant: &Tenant, ids: &[IdClaim]) {
    for (kind, id) in ids {
        if let Err(e) = ctx.store.release_external_id(*kind, id, tenant).await {
            tracing::warn!(error = %e, tenant = %tenant, field = kind.field(), "could not release a customer id claim");
        }
    }
}

/// The ids `before` names that `after` does not (to release once `after` is written).
pub(super) fn dropped(before: &[IdClaim], after: &TenantRecord) -> Vec<IdClaim> {
    before
        .iter()
        .filter(|(k, id)| after.external_id(*k) != Some(id))
        .cloned()
        .collect()
}
