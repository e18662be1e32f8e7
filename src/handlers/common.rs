//! What several handlers share: evicting live connections after a loss of permission,
//! and paging a bucket.

use super::*;

/// Closes the live connections named `names` after a change that took permissions away
/// (PROTOCOL §6) and audits the eviction (`who`) when any were closed. They reconnect
/// through the callout with what they hold now. A failure is logged, not returned: the
/// change stands, the callout refuses what it must, and the user JWT's expiry is the
/// backstop.
pub(crate) async fn evict(
    ctx: &Ctx,
    names: &[String],
    who: crate::audit::Evicted<'_>,
    actor: &Actor,
    revision: u64,
) -> usize {
    let Some(evictor) = &ctx.evictor else {
        return 0;
    };
    let kind = match who {
        crate::audit::Evicted::User(_) => "user",
        crate::audit::Evicted::Machine(_) => "machine",
        crate::audit::Evicted::MachineCredential(_) => "machine_credential",
    };
    match evictor.evict_all(names).await {
        Ok(0) => 0,
        Ok(connections) => {
            ctx.metrics.evicted(kind, connections);
            let event = crate::audit::Event::Evicted {
                who,
                revision,
                connections,
            };
            if let Err(e) = ctx.audit.record(actor.clone(), event).await {
                tracing::warn!(error = %e, "could not record an eviction");
            }
            connections
        }
        Err(e) => {
            tracing::warn!(error = %e, "eviction failed");
            0
        }
    }
}

/// Where a `list` command reads its page.
pub(crate) enum Listing<'a> {
    /// The bucket itself, on a key filter (`>` for all, `<tenant>.>`).
    Bucket(&'a str),
    /// The bucket's index, on a subject filter.
    Index(&'a str),
}

/// One page of a listing (see [`crate::store::TypedBucket::page`]), with the request's
/// cursor and limit. Shared by every `list` command.
pub(crate) async fn list_page<K, T, V>(
    bucket: &crate::store::TypedBucket<K, T>,
    from: Listing<'_>,
    cursor: Option<&wire::admin::Cursor>,
    limit: Option<wire::admin::PageLimit>,
    keep: impl FnMut(T) -> Option<V>,
) -> Result<(Vec<V>, Option<String>), ApiError>
where
    K: crate::store::StoreKey,
    T: Serialize + DeserializeOwned + crate::store::Record,
{
    let limit = wire::admin::PageLimit::or_default(limit);
    let after = match cursor {
        Some(c) => Some(
            c.seq()
                .ok_or_else(|| ApiError::bad_request("cursor is not one this service returned"))?,
        ),
        None => None,
    };
    let page = match from {
        Listing::Bucket(filter) => bucket.page(filter, after, limit, keep).await?,
        Listing::Index(filter) => bucket.page_indexed(filter, after, limit, keep).await?,
    };
    Ok((page.items, page.next.map(|n| n.to_string())))
}
