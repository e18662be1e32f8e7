//! `admin.invite.create`: mint a single-use invite for a handle and role.

use std::time::Duration;

use crate::audit::Event;
use crate::authz::{AssignScope, Assignment, Permission};
use crate::crypto::{Secret, SecretKind};
use crate::domain::Handle;
use crate::store::records::{ChangeNote, InviteRecord, InviteState, Noted, SCHEMA_V};
use crate::store::{Store, StoreError};
use crate::time_util::Timestamp;
use crate::wire::admin::{InviteCreateReply, InviteCreateRequest};
use crate::wire::{ApiError, ErrorCode};

use super::common::Publish;
use super::{Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: InviteCreateRequest,
) -> Result<InviteCreateReply, ApiError> {
    let a = req.assignment();
    match a.scope() {
        AssignScope::Site(s) => {
            admin.require(Permission::InviteCreate, &s.tenant, Some(&s.site))?
        }
        AssignScope::Tenant(t) => admin.require(Permission::InviteCreate, t, None)?,
        AssignScope::Platform => admin.require_platform(Permission::InviteCreate)?,
    }
    ctx.writable_scope(&a).await?;
    // Nobody mints an invite for a role holding a permission they lack there.
    let a = admin.may_grant(ctx, &a).await?;
    let ttl = req.ttl_secs.map_or(ctx.cfg.invite_default_ttl, |t| t.get());
    let by = admin.name();
    let request = Some(admin.request.clone());
    let minted = mint_at(
        &ctx.store,
        &req.handle,
        &a,
        ttl,
        by,
        request.clone(),
        ctx.clock.now(),
    )
    .await?;
    crate::failpoint::hit("invite_create.after_write");
    let event = Event::InviteCreated {
        invite_id: &minted.invite_id,
        handle: &req.handle,
        assignment: &a,
        expires_at: &minted.expires_at,
        request,
    };
    ctx.audit.record(admin.actor(), event).await?;
    Ok(minted)
}

/// `invite.created` for an invite whose creation note says its worker died before
/// publishing it (the healer's path).
pub(crate) async fn finish(
    ctx: &Ctx,
    rec: &InviteRecord,
    publish: Publish<'_>,
) -> Result<(), ApiError> {
    let Some(
        note @ ChangeNote {
            change: Noted::InviteCreated,
            ..
        },
    ) = &rec.note
    else {
        return Ok(());
    };
    let event = Event::InviteCreated {
        invite_id: &rec.invite_id,
        handle: &rec.handle,
        assignment: &rec.assignment,
        expires_at: &rec.expires_at,
        request: note.request.clone(),
    };
    publish
        .record(ctx, super::user_delete::note_actor(note), event)
        .await?;
    Ok(())
}

/// Mints and stores an invite for `handle` with first assignment `assignment` now
/// (system clock). Shared with `roster bootstrap`.
pub async fn mint(
    store: &Store,
    handle: &Handle,
    assignment: &Assignment,
    ttl: Duration,
    created_by: &str,
) -> Result<InviteCreateReply, ApiError> {
    let now = crate::time_util::Clock::system().now();
    mint_at(store, handle, assignment, ttl, created_by, None, now).await
}

/// Mints and stores an invite created at `now`.
async fn mint_at(
    store: &Store,
    handle: &Handle,
    assignment: &Assignment,
    ttl: Duration,
    created_by: &str,
    request: Option<String>,
    now: Timestamp,
) -> Result<InviteCreateReply, ApiError> {
    if store.user(handle).await?.is_some() {
        return Err(ApiError::new(
            ErrorCode::HandleTaken,
            "a user with this handle exists",
        ));
    }
    let token = Secret::mint(SecretKind::Invite);
    let invite_id = crate::domain::InviteId::for_token(&token);
    let rec = InviteRecord {
        index_seq: None,
        v: SCHEMA_V,
        invite_id: invite_id.clone(),
        token_sha256: token.digest_hex(),
        handle: handle.clone(),
        assignment: assignment.clone(),
        state: InviteState::Pending,
        created_at: now.to_rfc3339(),
        created_by: created_by.to_owned(),
        expires_at: (now + ttl).to_rfc3339(),
        used_at: None,
        used_sign_pub: None,
        used_kex_pub: None,
        cancelled_at: None,
        cancelled_by: None,
        user_deleted_at: None,
        note: Some(ChangeNote::new(
            created_by,
            request,
            &now.to_rfc3339(),
            Noted::InviteCreated,
        )),
    };
    // A fresh 256-bit token cannot collide; a conflict here would be a bug, not a race.
    // Through the store's CAS loop, which writes the pending invite's index entry.
    store
        .invites
        .modify_from(&invite_id, crate::store::Known::Absent, |cur| match cur {
            None => Ok(crate::store::Decision::put(rec.clone())),
            Some(_) => Err(StoreError::Conflict),
        })
        .await?;
    Ok(InviteCreateReply {
        token: token.expose().to_owned(),
        invite_id,
        handle: rec.handle,
        role: rec.assignment.role().clone(),
        tenant: super::invite_get::tenant_label(&rec.assignment),
        expires_at: rec.expires_at,
    })
}
