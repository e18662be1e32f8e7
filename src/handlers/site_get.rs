//! `admin.site.get`: one site (never a key).

use crate::domain::Tenant;
use crate::store::records::SiteRecord;
use crate::wire::admin::{SiteRef, SiteView};
use crate::wire::{ApiError, ErrorCode};

use super::Ctx;

pub(super) async fn handle(ctx: &Ctx, req: SiteRef) -> Result<SiteView, ApiError> {
    let tenant = req.tenant.unwrap_or_else(Tenant::default_tenant);
    let site = ctx
        .store
        .site(&crate::domain::SiteRef::new(&tenant, &req.site))
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such site"))?;
    Ok(view(&site.value))
}

/// `vN (XXXX)` of the active key.
pub(crate) fn fingerprint_label(rec: &SiteRecord) -> String {
    let fp = rec
        .keys
        .iter()
        .find(|k| k.version == rec.key_version)
        .map_or("????", |k| k.fingerprint.as_str());
    format!("v{} ({fp})", rec.key_version)
}

/// The admin view of a site.
pub(crate) fn view(rec: &SiteRecord) -> SiteView {
    SiteView {
        site: rec.site.clone(),
        tenant: rec.tenant.clone(),
        display_name: rec.display_name.clone(),
        company: rec.company.clone(),
        policy: rec.policy,
        key_version: rec.key_version,
        fingerprint: fingerprint_label(rec),
        created_at: rec.created_at.clone(),
        created_by: rec.created_by.clone(),
    }
}
