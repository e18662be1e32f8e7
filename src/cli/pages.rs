//! `--all`: every page of a list or of the audit trail, by following the cursors.

use std::future::Future;

use crate::client::ClientError;
use crate::wire::admin::{
    AuditQueryReply, Cursor, InviteListReply, MachineListReply, SiteListReply, TenantListReply,
    UserListReply,
};

/// Page size when following every cursor and no `--limit` was given.
pub(crate) const ALL_PAGE: u32 = crate::wire::admin::MAX_LIMIT;

/// A list reply: its items and the cursor to the next page.
pub(crate) trait Paged: Sized {
    /// What the list holds.
    type Item;
    /// The page's items and its cursor.
    fn parts(self) -> (Vec<Self::Item>, Option<String>);
    /// One reply holding `items`, in creation order, without a cursor.
    fn whole(items: Vec<Self::Item>) -> Self;
}

/// The page at `cursor` (`fetch(cursor)`), or with `all` page after page from there until
/// one has no cursor: then the items of every page as one reply, in creation order. The
/// store pages by key, not by creation: the order is the CLI's (issue 13 brings
/// creation-order indexes).
pub(crate) async fn pages<R, F, Fut>(
    all: bool,
    cursor: Option<Cursor>,
    mut fetch: F,
) -> Result<R, ClientError>
where
    R: Paged,
    F: FnMut(Option<Cursor>) -> Fut,
    Fut: Future<Output = Result<R, ClientError>>,
{
    if !all {
        return fetch(cursor).await;
    }
    let mut items = Vec::new();
    let mut cursor = cursor;
    loop {
        let (page, next) = fetch(cursor.take()).await?.parts();
        items.extend(page);
        match next {
            Some(c) => cursor = Some(Cursor::try_from(c).map_err(ClientError::Decode)?),
            None => return Ok(R::whole(items)),
        }
    }
}

/// The page size to ask for: `--limit`, else with `--all` the largest page.
pub(crate) fn page_limit(limit: Option<u32>, all: bool) -> Option<u32> {
    limit.or(all.then_some(ALL_PAGE))
}

/// Sorts by an RFC 3339 field, oldest first (one that does not parse goes last).
pub(crate) fn sort_by_created<T>(items: &mut [T], created: impl Fn(&T) -> &str) {
    items.sort_by_cached_key(|i| {
        let t = crate::time_util::parse_rfc3339(created(i));
        (t.is_none(), t)
    });
}

/// Sorted by an RFC 3339 field, oldest first.
fn sorted<T>(mut items: Vec<T>, created: impl Fn(&T) -> &str) -> Vec<T> {
    sort_by_created(&mut items, created);
    items
}

macro_rules! paged {
    ($reply:ty, $field:ident, $item:ty, $created:ident) => {
        impl Paged for $reply {
            type Item = $item;
            fn parts(self) -> (Vec<$item>, Option<String>) {
                (self.$field, self.cursor)
            }
            fn whole(items: Vec<$item>) -> Self {
                Self {
                    $field: sorted(items, |i| &i.$created),
                    cursor: None,
                }
            }
        }
    };
}

paged!(
    crate::wire::admin::ApiKeyListReply,
    keys,
    crate::wire::admin::ApiKeyView,
    created_at
);
paged!(
    crate::wire::admin::RoleListReply,
    roles,
    crate::wire::admin::RoleView,
    created_at
);
paged!(
    UserListReply,
    users,
    crate::wire::admin::UserView,
    registered_at
);
paged!(
    InviteListReply,
    invites,
    crate::wire::admin::InviteView,
    created_at
);
paged!(
    SiteListReply,
    sites,
    crate::wire::admin::SiteView,
    created_at
);
paged!(
    MachineListReply,
    machines,
    crate::wire::admin::MachineView,
    enrolled_at
);

paged!(
    crate::wire::admin::CredentialListReply,
    credentials,
    crate::wire::admin::CredentialView,
    created_at
);

paged!(
    TenantListReply,
    tenants,
    crate::wire::admin::TenantView,
    created_at
);

/// Every page of an audit query, going back from `first`'s cursor: the events oldest
/// first, as one reply without a cursor.
pub(crate) async fn every_audit_page<F, Fut>(
    first: AuditQueryReply,
    mut fetch: F,
) -> Result<AuditQueryReply, ClientError>
where
    F: FnMut(crate::wire::admin::AuditCursor) -> Fut,
    Fut: Future<Output = Result<AuditQueryReply, ClientError>>,
{
    let mut next = first.cursor;
    let mut pages = vec![first.events];
    while let Some(c) = next {
        let page = fetch(c).await?;
        next = page.cursor;
        pages.push(page.events);
    }
    Ok(AuditQueryReply {
        events: pages.into_iter().rev().flatten().collect(),
        cursor: None,
    })
}
