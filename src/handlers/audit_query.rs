//! `admin.audit.query`: read events back from the audit stream (or, with `"stream":
//! "security"`, the security stream of strangers' refusals) with filters, a page at a
//! time going back (`cursor`).

use crate::audit::AuditFilter;
use crate::wire::admin::{AuditCursor, AuditQueryReply, AuditQueryRequest, AuditStream, PageLimit};
use crate::wire::ApiError;

use super::Ctx;

pub(super) async fn handle(ctx: &Ctx, req: AuditQueryRequest) -> Result<AuditQueryReply, ApiError> {
    let filter = AuditFilter {
        action: req.action.map(String::from),
        actor: req.actor,
        target: req.target,
        outcome: req.outcome,
        since: req.since.map(|t| t.0),
        until: req.until.map(|t| t.0),
        limit: PageLimit::or_default(req.limit),
        before: req.cursor.map(|c| c.0),
        security: req.stream == Some(AuditStream::Security),
    };
    let page = ctx.audit.query(&filter).await?;
    Ok(AuditQueryReply {
        events: page.events,
        cursor: page.cursor.map(AuditCursor),
    })
}
