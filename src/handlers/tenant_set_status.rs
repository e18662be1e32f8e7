//! `admin.tenant.set_status`: a move PROTOCOL §7 allows (see
//! [`TenantStatus::may_become`]), else `conflict`. Setting the status a tenant has is a
//! success that changes nothing. An archived tenant's customer ids are released: its
//! record stays as a tombstone, but the ids may serve another tenant.

use std::collections::HashSet;

use crate::audit::{Actor, Event};
use crate::domain::{Tenant, TenantStatus};
use crate::store::{Decision, StoreError};
use crate::wire::admin::{TenantSetStatusRequest, TenantView};
use crate::wire::{ApiError, ErrorCode};

use super::tenant_claims::{ids_of, release};
use super::tenant_get::{no_such_tenant, view};
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
                return Ok::<_, ApiError>(Decision::Keep(from));
            }
            refuse_move(&req.tenant, from, to)?;
            let mut next = cur.value.clone();
            next.status = to;
            next.updated_at = now.to_rfc3339();
            Ok(Decision::Put(next, from))
        })
        .await?;
    let rec = m.current.ok_or_else(no_such_tenant)?;
    // This worker sees its own change at once (others through their watch).
    ctx.tenants.put(&rec.value);
    if m.changed {
        if to == TenantStatus::Archived {
            release(ctx, &req.tenant, &ids_of(&rec.value)).await;
        }
        let event = Event::TenantStatusChanged {
            tenant: &req.tenant,
            revision: rec.revision,
            from: m.extra,
            to,
        };
        ctx.audit.record(admin.actor(), event).await?;
    }
    crate::failpoint::hit("tenant_archive.after_status");
    if to == TenantStatus::Archived && rec.value.purged_at.is_none() {
        purge(ctx, &req.tenant, &admin.actor()).await?;
    }
    let now_rec = ctx
        .store
        .tenant(&req.tenant)
        .await?
        .map_or(rec.value, |r| r.value);
    Ok(view(&now_rec, now))
}

/// Deletes an archived tenant's state and closes its identities' connections, then
/// marks the record `purged_at` and publishes `tenant.purged` (once). By the handler
/// right after the archive, or by a healer when that worker died first: every step is
/// idempotent.
pub(crate) async fn purge(ctx: &Ctx, tenant: &Tenant, actor: &Actor) -> Result<(), ApiError> {
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
    let marked = ctx
        .store
        .tenants
        .modify(tenant, |cur| {
            Ok::<_, StoreError>(match cur {
                Some(c) if c.value.purged_at.is_none() => {
                    let mut next = c.value.clone();
                    next.purged_at = Some(at.clone());
                    Decision::put(next)
                }
                _ => Decision::Keep(()),
            })
        })
        .await?;
    if marked.changed {
        let event = Event::TenantPurged {
            tenant,
            users: purged.users.len(),
            users_deleted: purged.users_deleted,
            machines: purged.machines.len(),
            sites: purged.sites,
            roles: purged.roles,
            invites: purged.invites,
            credentials: purged.credentials,
        };
        ctx.audit.record(actor.clone(), event).await?;
    }
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
