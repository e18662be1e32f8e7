//! `admin.site.rotate_key`: a new active key; the previous one works until the grace
//! period ends. The whole ring is one record, so one CAS keeps exactly one key active.

use crate::audit::Event;
use crate::authz::Permission;
use crate::crypto;
use crate::domain::{SiteRef, Tenant};
use crate::store::records::SiteKey;
use crate::store::Decision;
use crate::time_util;
use crate::wire::admin::{RotateKeyReply, RotateKeyRequest};
use crate::wire::{ApiError, ErrorCode};

use super::site_create::mint_key;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: RotateKeyRequest,
) -> Result<RotateKeyReply, ApiError> {
    admin.require_at(Permission::SiteManage, &req.site)?;
    let tenant = req.tenant.unwrap_or_else(Tenant::default_tenant);
    let grace = req.grace_secs.map(|g| g.get()).unwrap_or_default();
    let (key, phc) = mint_key(ctx).await?;
    let fingerprint = crypto::fingerprint(&key);
    let place = SiteRef::new(&tenant, &req.site);
    let now = ctx.clock.now().as_offset();
    let until = (!grace.is_zero()).then(|| time_util::rfc3339(now + grace));
    let m = ctx
        .store
        .sites
        .modify(&place, |cur| {
            let cur = cur.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such site"))?;
            let mut next = cur.value.clone();
            let old_version = next.key_version;
            let version = old_version + 1;
            // Keep only keys that still work after this rotation: the previous one during
            // its grace, and older ones whose grace has not ended.
            next.keys.retain_mut(|k| {
                if k.version == old_version {
                    k.retires_at = until.clone();
                    until.is_some()
                } else {
                    k.retires_at
                        .as_deref()
                        .and_then(time_util::parse_rfc3339)
                        .is_some_and(|t| t > now)
                }
            });
            next.keys.push(SiteKey {
                version,
                phc: phc.clone(),
                fingerprint: fingerprint.clone(),
                created_at: time_util::rfc3339(now),
                retires_at: None,
            });
            next.key_version = version;
            next.updated_at = Some(time_util::rfc3339(now));
            Ok::<_, ApiError>(Decision::Put(next, version))
        })
        .await?;
    let version = m.extra;
    let revision = m.current.map_or(0, |c| c.revision);
    let label = format!("v{version} ({fingerprint})");
    let event = Event::SiteKeyRotated {
        site: &place,
        revision,
        version,
        fingerprint: &label,
        grace_secs: grace.as_secs(),
    };
    ctx.audit.record(admin.actor(), event).await?;
    Ok(RotateKeyReply {
        site: req.site,
        tenant,
        enrollment_key: key.expose().to_owned(),
        version,
        fingerprint: label,
        previous_valid_until: until,
    })
}
