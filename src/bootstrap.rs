//! `roster bootstrap`: the first owner invite, minted only while no owner exists.

use std::time::Duration;

use crate::audit::{Actor, AuditEvent, Auditor, Outcome, Target};
use crate::domain::{Handle, Role};
use crate::handlers::mint_invite;
use crate::store::records::UserStatus;
use crate::store::Store;
use crate::wire::admin::{InviteCreateReply, InviteCreateRequest};

/// Why bootstrap refused.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The roster already has an active owner.
    #[error("an owner already exists ({0}); ask an owner for an invite instead")]
    OwnerExists(String),
    /// Anything else.
    #[error("{0}")]
    Failed(String),
}

/// Mints an owner invite for `handle` if the roster has no active owner.
pub async fn bootstrap(
    store: &Store,
    audit: &Auditor,
    handle: &Handle,
    ttl: Duration,
) -> Result<InviteCreateReply, BootstrapError> {
    let fail = |e: &dyn std::fmt::Display| BootstrapError::Failed(e.to_string());
    for key in store.users.keys().await.map_err(|e| fail(&e))? {
        if let Some(u) = store.users.get(&key).await.map_err(|e| fail(&e))? {
            if u.value.role == Role::Owner && u.value.status == UserStatus::Active {
                return Err(BootstrapError::OwnerExists(u.value.handle.to_string()));
            }
        }
    }
    let req = InviteCreateRequest {
        handle: handle.clone(),
        role: Role::Owner,
        ttl_secs: None,
    };
    let minted = mint_invite(store, &req, ttl, "system")
        .await
        .map_err(|e| fail(&e))?;
    let ev = AuditEvent::new(
        &format!("invite.created/{}", minted.invite_id),
        "invite.created",
        Outcome::Ok,
        Actor::system(),
        Target::new("invite", minted.invite_id.as_str()),
    )
    .with("handle", handle.as_str())
    .with("role", "owner")
    .with("expires_at", minted.expires_at.as_str())
    .with("bootstrap", true);
    audit.publish(&ev).await.map_err(|e| fail(&e))?;
    Ok(minted)
}
