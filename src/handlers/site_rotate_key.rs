//! `admin.site.rotate_key`: a new active key; the previous one works until the grace
//! period ends. The whole ring is one record, so one CAS keeps exactly one key active.

use crate::audit::Event;
use crate::authz::Permission;
use crate::crypto;
use crate::domain::{SiteRef, Tenant};
use crate::store::records::{ChangeNote, Noted, SiteKey, SiteRecord};
use crate::store::{Decision, Versioned};
use crate::time_util;
use crate::wire::admin::{RotateKeyReply, RotateKeyRequest};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::site_create::mint_key;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: RotateKeyRequest,
) -> Result<RotateKeyReply, ApiError> {
    let tenant = req.tenant.unwrap_or_else(Tenant::default_tenant);
    admin.require(Permission::SiteManage, &tenant, Some(&req.site))?;
    ctx.writable_tenant(&tenant).await?;
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
            let grace_secs = grace.as_secs();
            next.note =
                Some(admin.note(&time_util::rfc3339(now), Noted::KeyRotated { grace_secs }));
            Ok::<_, ApiError>(Decision::Put(next, version))
        })
        .await?;
    crate::failpoint::hit("site_rotate_key.after_write");
    let version = m.extra;
    let label = format!("v{version} ({fingerprint})");
    if let Some(cur) = &m.current {
        finish(ctx, cur, Publish::Always).await?;
    }
    Ok(RotateKeyReply {
        site: req.site,
        tenant,
        enrollment_key: key.expose().to_owned(),
        version,
        fingerprint: label,
        previous_valid_until: until,
    })
}

/// `site.key_rotated`, from the rotation's note (by the handler, or by a healer).
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<SiteRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let Some(
        note @ ChangeNote {
            change: Noted::KeyRotated { grace_secs },
            ..
        },
    ) = &cur.value.note
    else {
        return Ok(());
    };
    let s = &cur.value;
    let place = SiteRef::new(&s.tenant, &s.site);
    let fingerprint = s
        .keys
        .iter()
        .find(|k| k.version == s.key_version)
        .map_or_else(String::new, |k| k.fingerprint.clone());
    let label = format!("v{} ({fingerprint})", s.key_version);
    let event = Event::SiteKeyRotated {
        site: &place,
        revision: cur.revision,
        version: s.key_version,
        fingerprint: &label,
        grace_secs: *grace_secs,
    };
    publish
        .record(ctx, super::user_delete::note_actor(note), event)
        .await?;
    Ok(())
}
