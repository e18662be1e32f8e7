//! `admin.site.get`: one site (never a key).

use crate::authz::Permission;
use crate::domain::Tenant;
use crate::store::records::SiteRecord;
use crate::wire::admin::{SiteRef, SiteView};
use crate::wire::{ApiError, ErrorCode};

use super::{Admin, Ctx};

pub(super) async fn handle(ctx: &Ctx, admin: &Admin, req: SiteRef) -> Result<SiteView, ApiError> {
    let tenant = req.tenant.unwrap_or_else(Tenant::default_tenant);
    let not_found = || ApiError::new(ErrorCode::NotFound, "no such site");
    // A site the reader may not see does not exist for it.
    if !admin.sees(Permission::SiteRead, &tenant, Some(&req.site)) {
        return Err(not_found());
    }
    let site = ctx
        .store
        .site(&crate::domain::SiteRef::new(&tenant, &req.site))
        .await?
        .ok_or_else(not_found)?;
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
