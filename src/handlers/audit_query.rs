//! `admin.audit.query`: read events back from the audit stream with filters.

use crate::audit::AuditFilter;
use crate::wire::admin::{AuditQueryReply, AuditQueryRequest, PageLimit};
use crate::wire::ApiError;

use super::Ctx;

pub(super) async fn handle(ctx: &Ctx, req: AuditQueryRequest) -> Result<AuditQueryReply, ApiError> {
    let filter = AuditFilter {
        action: req.action.map(String::from),
        actor: req.actor,
        target: req.target,
        since: req.since.map(|t| t.0),
        until: req.until.map(|t| t.0),
        limit: PageLimit::or_default(req.limit),
    };
    let events = ctx.audit.query(&filter).await?;
    Ok(AuditQueryReply { events })
}
