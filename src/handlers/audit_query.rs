//! `admin.audit.query`: read events back from the audit stream (or, with `"stream":
//! "security"`, the security stream of strangers' refusals) with filters, a page at a
//! time going back (`cursor`). A reader below platform scope gets only the events of
//! the tenants it may read.

use crate::audit::AuditFilter;
use crate::authz::{Permission, Visibility};
use crate::domain::Tenant;
use crate::wire::admin::{AuditCursor, AuditQueryReply, AuditQueryRequest, AuditStream, PageLimit};
use crate::wire::{ApiError, ErrorCode};

use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: AuditQueryRequest,
) -> Result<AuditQueryReply, ApiError> {
    let security = req.stream == Some(AuditStream::Security);
    let tenants = tenants(admin, req.tenant.as_ref(), security)?;
    let filter = AuditFilter {
        tenants,
        product: req.product.map(|p| p.as_str().to_owned()),
        action: req.action.map(String::from),
        actor: req.actor,
        target: req.target,
        outcome: req.outcome,
        since: req.since.map(|t| t.0),
        until: req.until.map(|t| t.0),
        limit: PageLimit::or_default(req.limit),
        before: req.cursor.map(|c| c.0),
        security,
    };
    let page = ctx.audit.query(&filter).await?;
    Ok(AuditQueryReply {
        events: page.events,
        cursor: page.cursor.map(AuditCursor),
    })
}

/// Which tenants' events the reader gets: a platform reader any (or the one it asks
/// for); anyone else only those of tenants where it holds `audit:read` (the one asked
/// for, if it holds it there). The security stream (strangers, no tenant) is the
/// platform's.
fn tenants(
    admin: &Admin,
    asked: Option<&Tenant>,
    security: bool,
) -> Result<Option<Vec<String>>, ApiError> {
    let perm = Permission::AuditRead;
    if admin.grants.allows_platform(perm) {
        return Ok(asked.map(|t| vec![t.as_str().to_owned()]));
    }
    if security {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "the security stream is read at platform scope",
        ));
    }
    let readable: Vec<String> = admin
        .grants
        .tenants()
        .filter(|t| admin.grants.visible_sites(perm, t) != Visibility::None)
        .filter(|t| asked.is_none_or(|a| a == *t))
        .map(|t| t.as_str().to_owned())
        .collect();
    if readable.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "no audit:read in that tenant",
        ));
    }
    Ok(Some(readable))
}
