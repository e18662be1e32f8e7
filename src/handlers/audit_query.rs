//! `admin.audit.query`: read events back from the audit stream with filters.

use crate::audit::{valid_action_filter, AuditFilter};
use crate::time_util::parse_rfc3339;
use crate::wire::admin::{page_limit, AuditQueryReply, AuditQueryRequest};
use crate::wire::ApiError;

use super::Ctx;

pub(super) async fn handle(ctx: &Ctx, req: AuditQueryRequest) -> Result<AuditQueryReply, ApiError> {
    if let Some(a) = &req.action {
        if !valid_action_filter(a) {
            return Err(ApiError::bad_request(
                "action must be dot-separated tokens of a-z, 0-9, '_' or '-', optionally ending in '*' or '>'",
            ));
        }
    }
    let time = |s: &Option<String>, name: &str| match s {
        None => Ok(None),
        Some(s) => parse_rfc3339(s)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("{name} must be an RFC 3339 time"))),
    };
    let filter = AuditFilter {
        action: req.action.clone(),
        actor: req.actor.clone(),
        target: req.target.clone(),
        since: time(&req.since, "since")?,
        until: time(&req.until, "until")?,
        limit: page_limit(req.limit)?,
    };
    let events = ctx.audit.query(&filter).await?;
    Ok(AuditQueryReply { events })
}
