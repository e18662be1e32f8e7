//! What several handlers share: evicting live connections after a loss of permission,
//! and paging a bucket.

use super::*;

/// Closes the live connections named `names` after a change that took permissions away
/// (PROTOCOL §6) and audits the eviction (`action`, e.g. `user.evicted`) when any were
/// closed. They reconnect through the callout with what they hold now. A failure is
/// logged, not returned: the change stands, the callout refuses what it must, and the
/// user JWT's expiry is the backstop.
pub(crate) async fn evict(
    ctx: &Ctx,
    names: &[String],
    action: &str,
    actor: &Actor,
    target: Target,
    rev: u64,
) -> usize {
    let Some(evictor) = &ctx.evictor else {
        return 0;
    };
    match evictor.evict_all(names).await {
        Ok(0) => 0,
        Ok(n) => {
            let ev = AuditEvent::new(
                &format!("{action}/{}/{rev}", target.id),
                action,
                Outcome::Ok,
                actor.clone(),
                target,
            )
            .with("connections", n);
            if let Err(e) = ctx.audit.publish(&ev).await {
                tracing::warn!(error = %e, "could not record an eviction");
            }
            n
        }
        Err(e) => {
            tracing::warn!(error = %e, "eviction failed");
            0
        }
    }
}

/// One page of a bucket in key order: the records after `cursor` that `keep` turns into
/// items, at most `limit` of them, and the cursor to the next page (the key of the last
/// item) when more remain. Shared by every `list` command.
pub(crate) async fn list_page<T, V>(
    bucket: &crate::store::TypedBucket<T>,
    cursor: Option<&wire::admin::Cursor>,
    limit: Option<wire::admin::PageLimit>,
    mut keep: impl FnMut(T) -> Option<V>,
) -> Result<(Vec<V>, Option<String>), ApiError>
where
    T: Serialize + DeserializeOwned,
{
    let limit = wire::admin::PageLimit::or_default(limit);
    let keys = bucket.keys().await?;
    let start = cursor.map_or(0, |c| keys.partition_point(|k| k.as_str() <= c.as_str()));
    let mut items = Vec::new();
    let mut last: Option<&String> = None;
    for key in &keys[start..] {
        let Some(rec) = bucket.get(key).await? else {
            continue;
        };
        let Some(item) = keep(rec.value) else {
            continue;
        };
        if items.len() == limit {
            return Ok((items, last.cloned()));
        }
        items.push(item);
        last = Some(key);
    }
    Ok((items, None))
}
