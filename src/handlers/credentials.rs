//! What the `credential.*` handlers share (PROTOCOL §10): the vault (or `unavailable`),
//! who may do what with a credential, the masked view, and the audit event.
//!
//! Access, decided in one place ([`check`]):
//! - user scope: the owner's alone. A platform-scope holder of `credential:manage`
//!   (platform owners and admins) may list, get and delete another user's credentials,
//!   never reveal, rotate or revoke them;
//! - tenant scope: `credential:read` (list, get), `credential:reveal`, or
//!   `credential:manage` (create, rotate, revoke, delete) held at tenant level in its
//!   tenant;
//! - system scope: the same permissions at platform scope.
//!
//! A credential the requester may not read is `not_found`; one it may read but not act
//! on is `forbidden`.

use crate::audit::{CredentialAction, Event};
use crate::authz::Permission;
use crate::domain::{CredentialHolder, CredentialId, CredentialScope, Tenant};
use crate::store::records::{ChangeNote, CredentialRecord, Noted};
use crate::store::{Decision, Versioned};
use crate::time_util::Timestamp;
use crate::vault::{Vault, VaultError};
use crate::wire::admin::{CredentialView, Rfc3339};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::user_delete::note_actor;
use super::{Admin, Ctx};

/// What a request does with a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// `get`, `list`.
    Read,
    /// `reveal`.
    Reveal,
    /// `create`, `rotate`, `revoke`.
    Manage,
    /// `delete` (also a platform admin's, of a user's credential).
    Delete,
}

impl Access {
    fn permission(self) -> Permission {
        match self {
            Access::Read => Permission::CredentialRead,
            Access::Reveal => Permission::CredentialReveal,
            Access::Manage | Access::Delete => Permission::CredentialManage,
        }
    }
}

/// The worker's vault, or `unavailable` when it has no key file.
pub(super) fn vault(ctx: &Ctx) -> Result<&Vault, ApiError> {
    ctx.vault.as_deref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unavailable,
            "this worker has no credential vault (start it with --vault-key-file, made by `roster vault init`)",
        )
    })
}

pub(super) fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such credential")
}

/// Whether `admin` may do `access` on what `holder` holds: `not_found` when it may not
/// even read it, `forbidden` when it may read but not do this.
pub(super) fn check(
    admin: &Admin,
    holder: &CredentialHolder,
    access: Access,
) -> Result<(), ApiError> {
    let g = &admin.grants;
    let perm = access.permission();
    let (reads, may) = match holder {
        CredentialHolder::User(owner) if admin.user().is_some_and(|u| &u.value.handle == owner) => {
            (true, true)
        }
        CredentialHolder::User(_) => {
            let platform = g.allows_platform(Permission::CredentialManage);
            let may = matches!(access, Access::Read | Access::Delete);
            (platform, platform && may)
        }
        CredentialHolder::Tenant(t) => (
            g.allows(Permission::CredentialRead, t, None),
            g.allows(perm, t, None),
        ),
        CredentialHolder::System => (
            g.allows_platform(Permission::CredentialRead),
            g.allows_platform(perm),
        ),
    };
    if may {
        Ok(())
    } else if reads {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            match holder {
                CredentialHolder::User(_) => format!(
                    "a user's credential is its owner's alone; {} may not {}",
                    admin.name(),
                    verb(access)
                ),
                _ => format!("{} may not use {} on {holder}", admin.name(), perm.key()),
            },
        ))
    } else {
        Err(not_found())
    }
}

/// [`check`] for a request that names the holder itself (`create`, `list`): there is
/// nothing to hide, so a refusal is `forbidden` ("may not {what} {holder}").
pub(super) fn check_named(
    admin: &Admin,
    holder: &CredentialHolder,
    access: Access,
    what: &str,
) -> Result<(), ApiError> {
    check(admin, holder, access).map_err(|e| {
        if e.code == ErrorCode::NotFound {
            ApiError::new(
                ErrorCode::Forbidden,
                format!("{} may not {what} {holder}", admin.name()),
            )
        } else {
            e
        }
    })
}

fn verb(access: Access) -> &'static str {
    match access {
        Access::Read => "read it",
        Access::Reveal => "reveal it",
        Access::Manage => "change it",
        Access::Delete => "delete it",
    }
}

/// The holder a `create` or `list` names: the requester itself (user scope), a tenant
/// (default `default`), or the system.
pub(super) fn holder_of(
    admin: &Admin,
    scope: CredentialScope,
    tenant: Option<&Tenant>,
) -> Result<CredentialHolder, ApiError> {
    Ok(match scope {
        CredentialScope::User => CredentialHolder::User(own_user(admin)?.value.handle.clone()),
        CredentialScope::Tenant => {
            CredentialHolder::Tenant(tenant.cloned().unwrap_or_else(Tenant::default_tenant))
        }
        CredentialScope::System => CredentialHolder::System,
    })
}

/// The requester as a user: an API key holds no user-scope credentials and reveals
/// nothing (a reveal is sealed to a user's registered key), so it is `forbidden`.
pub(super) fn own_user(
    admin: &Admin,
) -> Result<&crate::store::Versioned<crate::store::records::UserRecord>, ApiError> {
    admin.user().ok_or_else(|| {
        ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "{} is an API key: user-scope credentials and reveals need a user",
                admin.name()
            ),
        )
    })
}

/// Credential `id` and its holder, if `admin` may do `access` on it.
pub(super) async fn load(
    ctx: &Ctx,
    admin: &Admin,
    id: &CredentialId,
    access: Access,
) -> Result<(Versioned<CredentialRecord>, CredentialHolder), ApiError> {
    let cur = ctx
        .store
        .vault
        .get(id)
        .await?
        .filter(|c| access == Access::Delete || !c.value.deleting())
        .ok_or_else(not_found)?;
    let holder = cur.value.holder().ok_or_else(|| {
        tracing::error!(credential = %id, "credential record names no holder");
        ApiError::new(ErrorCode::Internal, "internal error")
    })?;
    check(admin, &holder, access)?;
    Ok((cur, holder))
}

/// For a change of a tenant's credential: the tenant takes changes (PROTOCOL §7).
pub(super) async fn writable(ctx: &Ctx, holder: &CredentialHolder) -> Result<(), ApiError> {
    match holder {
        CredentialHolder::Tenant(t) => ctx.writable_tenant(t).await.map(drop),
        _ => Ok(()),
    }
}

/// True when `rec` has expired at `now`.
pub(super) fn expired(rec: &CredentialRecord, now: Timestamp) -> bool {
    rec.expires_at
        .as_deref()
        .and_then(Timestamp::parse)
        .is_some_and(|at| at.has_passed(now))
}

/// `conflict` for a credential that may not be revealed: revoked, or expired.
pub(super) fn revealable(rec: &CredentialRecord, now: Timestamp) -> Result<(), ApiError> {
    if !rec.active {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the credential is revoked: it is not revealed",
        ));
    }
    if expired(rec, now) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the credential has expired: it is not revealed (rotate it with a new expiry)",
        ));
    }
    Ok(())
}

/// A vault failure on the wire: a value that does not open is the caller's fault; the
/// rest is logged and answered without detail.
pub(super) fn vault_error(e: VaultError) -> ApiError {
    match e {
        VaultError::Sealed(_) => ApiError::bad_request(
            "value does not open with the worker's credential_kex and this credential's associated data ({scope}/{owner or tenant}/{provider}/{name})",
        ),
        VaultError::DataKeyGone(_) => ApiError::new(
            ErrorCode::Conflict,
            "the credential's data key is gone: its value can never be decrypted",
        ),
        VaultError::Store(s) => s.into(),
        VaultError::Provider(why) => {
            tracing::warn!(%why, "vault key provider unavailable");
            ApiError::new(ErrorCode::Unavailable, "the vault's keys are unavailable")
        }
        other => {
            tracing::error!(error = %other, "vault failure");
            ApiError::new(ErrorCode::Internal, "internal error")
        }
    }
}

/// Publishes `action` on credential `cur` by `admin` (a reveal's `credential.accessed`,
/// which leaves no note: a reveal whose worker died before its event never replied).
pub(super) async fn publish(
    ctx: &Ctx,
    admin: &Admin,
    action: CredentialAction,
    cur: &Versioned<CredentialRecord>,
) -> Result<(), ApiError> {
    let event = Event::Credential {
        action,
        credential: &cur.value,
        revision: cur.revision,
    };
    ctx.audit.record(admin.actor(), event).await?;
    Ok(())
}

/// `admin`'s note of `change`, now, for the record it writes.
pub(super) fn note(admin: &Admin, at: &str, change: Noted) -> ChangeNote {
    ChangeNote::new(admin.name(), Some(admin.request.clone()), at, change)
}

/// The event of the change credential `cur`'s note records (create, rotate, revoke, the
/// expiry notice), from that note (by the handler, or by a healer). A delete's note is
/// finished by [`super::credential_delete::finish`].
pub(crate) async fn finish(
    ctx: &Ctx,
    cur: &Versioned<CredentialRecord>,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let Some(note) = &cur.value.note else {
        return Ok(());
    };
    let action = match note.change {
        Noted::CredentialCreated => CredentialAction::Created,
        Noted::CredentialRotated => CredentialAction::Rotated,
        Noted::CredentialRevoked => CredentialAction::Revoked,
        Noted::CredentialExpiring => CredentialAction::Expiring,
        _ => return Ok(()),
    };
    let event = Event::Credential {
        action,
        credential: &cur.value,
        revision: cur.revision,
    };
    publish.record(ctx, note_actor(note), event).await?;
    Ok(())
}

/// A credential as `get` and `list` show it: masked, never the value.
pub(crate) fn view(r: &CredentialRecord) -> CredentialView {
    CredentialView {
        credential_id: r.credential_id.clone(),
        scope: r.scope,
        owner: r.owner.clone(),
        tenant: r.tenant.clone(),
        name: r.name.clone(),
        provider: r.provider.clone(),
        kind: r.kind,
        masked_value: r.masked_value.clone(),
        description: r.description.clone(),
        expires_at: r.expires_at.clone(),
        last_used_at: r.last_used_at.clone(),
        metadata: r.metadata.clone(),
        active: r.active,
        rotated_at: r.rotated_at.clone(),
        revoked_at: r.revoked_at.clone(),
        created_at: r.created_at.clone(),
        created_by: r.created_by.clone(),
        updated_at: r.updated_at.clone(),
    }
}

/// Changes credential `id`, decided on what is there now (`not_found` if it went; run
/// again on a lost race): `decide` returns the next record, or `None` to keep it. The
/// record now, and whether this call wrote it.
pub(super) async fn change(
    ctx: &Ctx,
    id: &CredentialId,
    mut decide: impl FnMut(&CredentialRecord) -> Result<Option<CredentialRecord>, ApiError>,
) -> Result<(Versioned<CredentialRecord>, bool), ApiError> {
    let m = ctx
        .store
        .vault
        .modify(id, |c| {
            let Some(c) = c.filter(|c| !c.value.deleting()) else {
                return Err(not_found());
            };
            Ok(match decide(&c.value)? {
                Some(next) => Decision::put(next),
                None => Decision::Keep(()),
            })
        })
        .await?;
    let cur = m.current.ok_or_else(not_found)?;
    Ok((cur, m.changed))
}

/// A requested expiry, which must lie ahead.
pub(super) fn future_expiry(
    at: Option<Rfc3339>,
    now: Timestamp,
) -> Result<Option<Timestamp>, ApiError> {
    let at = at.map(|t| Timestamp::from_offset(t.0));
    if at.is_some_and(|at| at.has_passed(now)) {
        return Err(ApiError::bad_request("expires_at is in the past"));
    }
    Ok(at)
}

/// A value opened from its seal, checked: not empty, at most the vault's limit.
pub(super) fn opened_value(
    vault: &Vault,
    sealed: &crate::crypto::Sealed,
    ad: &str,
) -> Result<zeroize::Zeroizing<String>, ApiError> {
    let value = vault.open_in(sealed, ad).map_err(vault_error)?;
    if value.is_empty() || value.len() > crate::domain::MAX_CREDENTIAL_VALUE {
        return Err(ApiError::bad_request(format!(
            "value must be 1 to {} bytes",
            crate::domain::MAX_CREDENTIAL_VALUE
        )));
    }
    Ok(value)
}
