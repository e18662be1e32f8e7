//! `admin.tenant.set_status`: a move PROTOCOL §7 allows (see
//! [`TenantStatus::may_become`]), else `conflict`. Setting the status a tenant has is a
//! success that changes nothing. An archived tenant's customer ids are released: its
//! record stays as a tombstone, but the ids may serve another tenant.

use std::collections::HashSet;

use crate::audit::{Actor, Event};
use crate::domain::{Tenant, TenantStatus};
use crate::store::records::{ChangeNote, Noted, PurgeCounts, TenantRecord};
use crate::store::{Decision, StoreError, Versioned};
use crate::wire::admin::{TenantSetStatusRequest, TenantView};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::tenant_claims::{ids_of, release};
use super::tenant_get::{no_such_tenant, view};
use super::user_delete::note_actor;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: TenantSetStatusRequest,
) -> Result<TenantView, ApiError> {
    let now = ctx.clock.now();
    let to = req.status;
    let m = ctx
        .store
        .tenants
        .modify(&req.tenant, |cur| {
            let cur = cur.ok_or_else(no_such_tenant)?;
            let from = cur.value.status;
            if from == to {
                return Ok::<_, ApiError>(Decision::Keep(()));
            }
            refuse_move(&req.tenant, from, to)?;
            let mut next = cur.value.clone();
            next.status = to;
            next.updated_at = now.to_rfc3339();
            next.note = Some(admin.note(&now.to_rfc3339(), Noted::TenantStatusChanged { from }));
            Ok(Decision::put(next))
        })
        .await?;
    let rec = m.current.ok_or_else(no_such_tenant)?;
    // This worker sees its own change at once (others through their watch).
    ctx.tenants.put(&rec.value);
    if m.changed {
        crate::failpoint::hit("tenant_set_status.after_write");
        finish(ctx, &rec, Publish::Always).await?;
    } else if to == TenantStatus::Archived && rec.value.purged_at.is_none() {
        // An archive repeated while its purge is unfinished: finish it.
        purge(ctx, &rec.value.tenant, rec.value.note.as_ref()).await?;
    }
    let now_rec = ctx
        .store
        .tenant(&req.tenant)
        .await?
        .map_or(rec.value, |r| r.value);
    Ok(view(&now_rec, now))
}

/// After a status change (its note): an archive's released customer ids,
/// `tenant.status_changed`, then an archive's purge. By the handler, or by a healer.
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<TenantRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let t = &cur.value;
    let Some(
        note @ ChangeNote {
            change: Noted::TenantStatusChanged { from },
            ..
        },
    ) = &t.note
    else {
        return Ok(());
    };
    if t.status == TenantStatus::Archived {
        release(ctx, &t.tenant, &ids_of(t)).await;
    }
    let event = Event::TenantStatusChanged {
        tenant: &t.tenant,
        revision: cur.revision,
        from: *from,
        to: t.status,
    };
    publish.record(ctx, note_actor(note), event).await?;
    if t.status == TenantStatus::Archived && t.purged_at.is_none() {
        // Only an archive on its way to the purge: a healer that finishes some other
        // status change passes here too.
        crate::failpoint::hit("tenant_archive.after_status");
        purge(ctx, &t.tenant, Some(note)).await?;
    }
    Ok(())
}

/// Deletes an archived tenant's state and closes its identities' connections, then
/// marks the record `purged_at` with a note of what went, and publishes `tenant.purged`
/// (once: the worker whose mark lands). By the archive's finishing step, or by a healer
/// when that worker died first: every step is idempotent. `origin` is the archive's
/// note (who archived it), if the record still carries it.
pub(crate) async fn purge(
    ctx: &Ctx,
    tenant: &Tenant,
    origin: Option<&ChangeNote>,
) -> Result<(), ApiError> {
    let purged = ctx.store.purge_tenant(tenant).await?;
    // Records first, then the kick: a reconnect finds nothing of the tenant.
    let mut names: HashSet<String> = purged
        .users
        .iter()
        .map(|h| crate::bus::user_conn_name(h.as_str()))
        .collect();
    for (id, digest) in &purged.machines {
        names.extend(crate::bus::machine_conn_names(id, digest));
    }
    for k in &purged.apikeys {
        names.extend(crate::bus::apikey_conn_names(k));
    }
    if let Some(evictor) = &ctx.evictor {
        match evictor.evict_set(&names).await {
            Ok(n) => ctx.metrics.evicted("tenant", n),
            Err(e) => {
                tracing::warn!(error = %e, tenant = %tenant, "could not evict an archived tenant")
            }
        }
    }
    let at = ctx.clock.now().to_rfc3339();
    let counts = PurgeCounts {
        users: purged.users.len(),
        users_deleted: purged.users_deleted,
        machines: purged.machines.len(),
        sites: purged.sites,
        roles: purged.roles,
        invites: purged.invites,
        credentials: purged.credentials,
    };
    let (by, request) = origin.map_or(("system", None), |n| (n.by.as_str(), n.request.clone()));
    let note = ChangeNote::new(by, request, &at, Noted::TenantPurged { counts });
    let marked = ctx
        .store
        .tenants
        .modify(tenant, |cur| {
            Ok::<_, StoreError>(match cur {
                Some(c) if c.value.purged_at.is_none() => {
                    let mut next = c.value.clone();
                    next.purged_at = Some(at.clone());
                    next.note = Some(note.clone());
                    Decision::put(next)
                }
                _ => Decision::Keep(()),
            })
        })
        .await?;
    match marked.current {
        Some(cur) if marked.changed => purged_finish(ctx, &cur, Publish::Always).await,
        _ => Ok(()),
    }
}

/// `tenant.purged`, from the purge's note (by the purging worker, or by a healer).
pub(crate) async fn purged_finish(
    ctx: &Ctx,
    cur: &Versioned<TenantRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let Some(
        note @ ChangeNote {
            change: Noted::TenantPurged { counts: c },
            ..
        },
    ) = &cur.value.note
    else {
        return Ok(());
    };
    let event = Event::TenantPurged {
        tenant: &cur.value.tenant,
        users: c.users,
        users_deleted: c.users_deleted,
        machines: c.machines,
        sites: c.sites,
        roles: c.roles,
        invites: c.invites,
        credentials: c.credentials,
    };
    publish.record(ctx, note_actor(note), event).await?;
    Ok(())
}

/// `conflict` unless `tenant` may move from `from` to `to`: PROTOCOL §7's moves, and the
/// `default` tenant, which every roster has, is never archived.
fn refuse_move(tenant: &Tenant, from: TenantStatus, to: TenantStatus) -> Result<(), ApiError> {
    if *tenant == Tenant::default_tenant() && to == TenantStatus::Archived {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the default tenant is never archived",
        ));
    }
    if from.may_become(to) {
        return Ok(());
    }
    let next: Vec<&str> = TenantStatus::ALL
        .into_iter()
        .filter(|s| from.may_become(*s))
        .map(TenantStatus::as_str)
        .collect();
    let message = if next.is_empty() {
        format!("tenant {tenant} is {from}, which is final")
    } else {
        format!(
            "tenant {tenant} is {from}: it can become {}, not {to}",
            next.join(" or ")
        )
    };
    Err(ApiError::new(ErrorCode::Conflict, message))
}

/// `tenant.trial_expired`, from the note a healer's mark of a trial's end left (by
/// that healer, or by another when it died first).
pub(crate) async fn trial_expired_finish(
    ctx: &Ctx,
    cur: &Versioned<TenantRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let t = &cur.value;
    let (
        Some(ChangeNote {
            change: Noted::TenantTrialExpired,
            ..
        }),
        Some(ends),
    ) = (&t.note, &t.trial_ends_at)
    else {
        return Ok(());
    };
    let event = Event::TenantTrialExpired {
        tenant: &t.tenant,
        trial_ends_at: ends,
    };
    publish.record(ctx, Actor::system(), event).await?;
    tracing::info!(tenant = %t.tenant, "a trial ended; the tenant acts as frozen");
    Ok(())
}
