//! `roster bootstrap`: the first owner invite, minted only while no owner exists.

use std::time::Duration;

use crate::audit::{Actor, Auditor, Event};
use crate::domain::{Handle, Role};
use crate::handlers::mint_invite;
use crate::store::records::UserStatus;
use crate::store::{Store, StoreError};
use crate::wire::admin::{InviteCreateReply, InviteCreateRequest};
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
                (u.role == Role::Owner && u.status == UserStatus::Active).then_some(u.handle)
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
    let req = InviteCreateRequest {
        handle: handle.clone(),
        role: Role::Owner,
        ttl_secs: None,
    };
    let minted = mint_invite(store, &req, ttl, "system").await?;
    let event = Event::InviteCreated {
        invite_id: &minted.invite_id,
        handle,
        role: Role::Owner,
        expires_at: &minted.expires_at,
        request: None,
    };
    audit.record(Actor::system(), event).await?;
    Ok(minted)
}
