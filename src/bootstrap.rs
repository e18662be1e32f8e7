//! `roster bootstrap`: the first owner invite, minted only while no owner exists.

use std::time::Duration;

use crate::audit::{Actor, Auditor, Event};
use crate::authz::{Assignment, PlatformRole};
use crate::domain::Handle;
use crate::handlers::mint_invite;
use crate::store::{owner_scopes, OwnersKey, Store, StoreError};
use crate::wire::admin::InviteCreateReply;
use crate::wire::ApiError;

/// Why bootstrap refused.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The roster already has an active owner.
    #[error("an owner already exists ({0}); ask an owner for an invite instead")]
    OwnerExists(String),
    /// Reading the users, or recording the invite's audit event, failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Minting the invite was refused (a taken handle, an unavailable store).
    #[error(transparent)]
    Mint(#[from] ApiError),
}

/// Mints an owner invite for `handle` if the roster has no active owner.
pub async fn bootstrap(
    store: &Store,
    audit: &Auditor,
    handle: &Handle,
    ttl: Duration,
) -> Result<InviteCreateReply, BootstrapError> {
    // Every user is read if need be (bootstrap runs once, on a small roster).
    let mut after = None;
    loop {
        let owners = store
            .users
            .page(">", after, 1, |u| {
                owner_scopes(&u)
                    .contains(&OwnersKey::Platform)
                    .then_some(u.handle)
            })
            .await?;
        if let Some(owner) = owners.items.into_iter().next() {
            return Err(BootstrapError::OwnerExists(owner.to_string()));
        }
        match owners.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    // The first owner is a platform owner (PROTOCOL §8).
    let first = Assignment::platform(PlatformRole::Owner);
    let minted = mint_invite(store, handle, &first, ttl, "system").await?;
    let event = Event::InviteCreated {
        invite_id: &minted.invite_id,
        handle,
        assignment: &first,
        expires_at: &minted.expires_at,
        request: None,
    };
    audit.record(Actor::system(), event).await?;
    Ok(minted)
}
