//! `admin.audit.query`: read events back from the audit stream (or, with `"stream":
//! "security"`, the security stream of strangers' refusals) with filters.

use crate::audit::AuditFilter;
use crate::wire::admin::{AuditQueryReply, AuditQueryRequest, AuditStream, PageLimit};
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
        security: req.stream == Some(AuditStream::Security),
    };
    let events = ctx.audit.query(&filter).await?;
    Ok(AuditQueryReply { events })
}
