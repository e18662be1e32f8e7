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
    evict_before(ctx, names, who, actor, revision, None).await
}

/// Closes user `handle`'s connections (made before `before`, when given) after a change
/// at `revision` took permissions away; how many.
pub(crate) async fn kick_user(
    ctx: &Ctx,
    handle: &crate::domain::Handle,
    actor: &Actor,
    revision: u64,
    before: Option<time::OffsetDateTime>,
) -> usize {
    let names = [crate::bus::user_conn_name(handle.as_str())];
    let who = crate::audit::Evicted::User(handle);
    evict_before(ctx, &names, who, actor, revision, before).await
}

/// Closes API key `key_id`'s connections named `names` (by which secret) after a change
/// at `revision` ended them.
pub(crate) async fn kick_apikey_names(
    ctx: &Ctx,
    key_id: &crate::domain::ApiKeyId,
    names: &[String],
    actor: &Actor,
    revision: u64,
) -> usize {
    let who = crate::audit::Evicted::ApiKey(key_id);
    evict_before(ctx, names, who, actor, revision, None).await
}

/// [`evict`], of only the connections made before `before` (when given).
pub(crate) async fn evict_before(
    ctx: &Ctx,
    names: &[String],
    who: crate::audit::Evicted<'_>,
    actor: &Actor,
    revision: u64,
    before: Option<time::OffsetDateTime>,
) -> usize {
    let Some(evictor) = &ctx.evictor else {
        return 0;
    };
    let kind = match who {
        crate::audit::Evicted::User(_) => "user",
        crate::audit::Evicted::Machine(_) => "machine",
        crate::audit::Evicted::MachineCredential(_) => "machine_credential",
        crate::audit::Evicted::ApiKey(_) => "apikey",
    };
    match evictor.evict_all(names, before).await {
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

/// Whether a step that finishes a change publishes the change's event.
#[derive(Clone, Copy)]
pub(crate) enum Publish<'a> {
    /// Yes: the handler that just made the change.
    Always,
    /// No: a repeat that changed nothing.
    Never,
    /// Only if the audit stream does not hold it yet: a healer, which follows the
    /// stream.
    Unseen(&'a dyn Seen),
}

/// What a healer knows of the audit stream.
pub(crate) trait Seen: Sync {
    /// True when the event `id` is in the stream (a finishing step then skips it).
    fn seen(&self, id: &str) -> bool;
}

impl Publish<'_> {
    /// True when `event` is to be published.
    pub(crate) fn wants(&self, event: &Event<'_>) -> bool {
        match self {
            Publish::Always => true,
            Publish::Never => false,
            Publish::Unseen(s) => !s.seen(&crate::audit::event_id(&event.dedup_key())),
        }
    }

    /// Publishes `event` by `actor` if [`Self::wants`] it.
    pub(crate) async fn record(
        &self,
        ctx: &Ctx,
        actor: Actor,
        event: Event<'_>,
    ) -> Result<(), StoreError> {
        if self.wants(&event) {
            ctx.audit.record(actor, event).await?;
        }
        Ok(())
    }

    /// Which connections a kick that follows a change made at `at` closes: all of them
    /// (the handler), or a healer's only those made before the change (a connection
    /// made since was admitted with what its identity holds now).
    pub(crate) fn kick_before(&self, at: &str) -> Option<time::OffsetDateTime> {
        match self {
            Publish::Unseen(_) => crate::time_util::parse_rfc3339(at),
            _ => None,
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
