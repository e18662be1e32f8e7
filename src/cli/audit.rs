//! `roster audit query`: filters, relative times, pages and `--all`.

use std::time::Duration;

use super::*;
use crate::audit::Outcome;
use crate::wire::admin::{AuditCursor, AuditStream, Rfc3339};

pub(super) async fn audit_cmd(cmd: AuditCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCmd::Query {
            client,
            action,
            actor,
            tenant,
            product,
            target,
            outcome,
            since,
            until,
            limit,
            cursor,
            all,
            security,
        } => {
            let now = time::OffsetDateTime::now_utc();
            let limit = super::pages::page_limit(limit, all);
            let mut req = AuditQueryRequest {
                action: opt("--action", action)?,
                actor,
                tenant: tenant
                    .map(|t| parse("--tenant", Tenant::parse(&t)))
                    .transpose()?,
                product: product
                    .map(|p| parse("--product", crate::domain::ProductName::parse(&p)))
                    .transpose()?,
                target,
                outcome: match outcome.as_deref() {
                    None => None,
                    Some("ok") => Some(Outcome::Ok),
                    Some("denied") => Some(Outcome::Denied),
                    Some(o) => anyhow::bail!("--outcome {o}: expected ok or denied"),
                },
                since: since.map(|s| when_flag("--since", &s, now)).transpose()?,
                until: until.map(|s| when_flag("--until", &s, now)).transpose()?,
                limit: opt("--limit", limit)?,
                cursor: opt("--cursor", cursor)?,
                stream: security.then_some(AuditStream::Security),
            };
            if let Some(t) = req.target.as_deref().filter(|t| t.ends_with('…')) {
                anyhow::bail!(
                    "--target {t}: this was cut to fit the table; use the whole id \
                     (a wider terminal, or --json, shows it)"
                );
            }
            let c = connect_client(&client).await.context("audit query")?;
            let first = c.audit_query(&req).await;
            let res = match first {
                Ok(page) if all => {
                    super::pages::every_audit_page(page, |cursor: AuditCursor| {
                        req.cursor = Some(cursor);
                        let (c, req) = (&c, req.clone());
                        async move { c.audit_query(&req).await }
                    })
                    .await
                }
                other => other,
            };
            finish(&Out::new(client.json), res, output::audit)
        }
    }
}

/// A `--since`/`--until` value: RFC 3339, or a duration back from `now`: a whole number
/// and a unit, `s`, `m`, `h`, `d` or `w` (`90s`, `30m`, `1h`, `2d`, `1w`).
pub(crate) fn when_flag(flag: &str, s: &str, now: time::OffsetDateTime) -> anyhow::Result<Rfc3339> {
    if let Some(t) = crate::time_util::parse_rfc3339(s) {
        return Ok(Rfc3339(t));
    }
    let ago = parse_ago(s).ok_or_else(|| {
        anyhow::anyhow!(
            "{flag} {s:?}: expected an RFC 3339 time (2026-11-30T14:00:00Z) or a time ago \
             such as 90s, 30m, 1h, 2d or 1w"
        )
    })?;
    let t = time::Duration::try_from(ago)
        .ok()
        .and_then(|d| now.checked_sub(d))
        .ok_or_else(|| anyhow::anyhow!("{flag} {s:?}: too far back"))?;
    Ok(Rfc3339(t))
}

/// `30m` → 30 minutes; `None` for anything else.
fn parse_ago(s: &str) -> Option<Duration> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: u64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    n.checked_mul(secs).map(Duration::from_secs)
}

#[cfg(test)]
#[path = "audit_test.rs"]
mod tests;
