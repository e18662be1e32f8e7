//! `P.v1.apikey.verify` (PROTOCOL §9), and the one check of a presented API key that it,
//! `Roster-Api-Key` requests and the callout share ([`check`]).
//!
//! The reply is always a success; its `code` says why a key is not valid. What a
//! requester learns depends only on what it may verify: a key of a tenant where it
//! lacks `apikey:verify` is `not_found`, as a key that does not exist (whose check costs
//! a dummy Argon2 run, so timing does not tell either), and a wrong secret for a real
//! key id is `not_found` too.

use std::collections::BTreeSet;

use crate::authz::Permission;
use crate::domain::{ApiKeyToken, TenantStatus};
use crate::keyring::Verdict;
use crate::store::records::ApiKeyRecord;
use crate::store::{ApiKeyKey, Decision, StoreError, Versioned};
use crate::time_util::Timestamp;
use crate::wire::admin::{ApiKeyVerifyReply, ApiKeyVerifyRequest, VerifyCode};
use crate::wire::ApiError;

use super::{Admin, Ctx};

/// A presented key, judged.
#[derive(Debug)]
pub(crate) enum KeyCheck {
    /// The secret is the key's (current, or the rolled-out one within its grace), and the
    /// key is neither revoked nor expired. `until`: when this secret stops working (the
    /// key's expiry, or the old secret's grace end), if ever.
    Valid {
        key: Box<Versioned<ApiKeyRecord>>,
        until: Option<Timestamp>,
        tenant_active: bool,
        /// True when it is the secret a roll replaced.
        previous: bool,
    },
    /// Not valid, and why (`not_found` for a malformed key, an unknown id or a wrong
    /// secret alike).
    Refused(VerifyCode, Option<Box<ApiKeyRecord>>),
}

/// Judges the key text `text`: parse (a malformed key is `not_found`), find the record by
/// the key id it carries, verify the secret (cached, throttled per key id), then the
/// record's state. A valid use is noted as `last_used_at`, at most once a minute.
///
/// `fresh`: read the record from the bucket (the callout: a connection is admitted for
/// long); otherwise from this worker's view of the API keys (requests and verification:
/// no KV read on the hot path; a change reaches the view within milliseconds, and the
/// worker that made it at once), or from the bucket while the view catches up.
pub(crate) async fn check(ctx: &Ctx, text: &str, fresh: bool) -> Result<KeyCheck, StoreError> {
    let Ok(token) = ApiKeyToken::parse(text) else {
        return Ok(KeyCheck::Refused(VerifyCode::NotFound, None));
    };
    let id = token.key_id();
    let viewed = if fresh {
        None
    } else {
        ctx.apikeys.get(id.as_str())
    };
    let rec = match viewed {
        Some(rec) => rec,
        None => match ctx.store.apikey_tenant(&id).await? {
            Some(t) => ctx.store.apikey(&t, &id).await?,
            None => None,
        },
    };
    let now = ctx.clock.now();
    let which = match ctx
        .keys
        .verify_api_key(&ctx.store, rec.as_ref(), &token, now)
        .await?
    {
        Verdict::Throttled => return Ok(KeyCheck::Refused(VerifyCode::RateLimited, None)),
        Verdict::Denied => return Ok(KeyCheck::Refused(VerifyCode::NotFound, None)),
        Verdict::Valid(v) => v,
    };
    let Some(rec) = rec else {
        return Ok(KeyCheck::Refused(VerifyCode::NotFound, None));
    };
    let k = &rec.value;
    let refuse = |code| Ok(KeyCheck::Refused(code, Some(Box::new(k.clone()))));
    if k.revoked_at.is_some() {
        return refuse(VerifyCode::Revoked);
    }
    let expires = k.expires_at.as_deref().and_then(Timestamp::parse);
    let grace_end = match (which, &k.previous) {
        (0, _) => None,
        (_, Some(p)) => Timestamp::parse(&p.until),
        (_, None) => return refuse(VerifyCode::NotFound),
    };
    let until = match (expires, grace_end) {
        (Some(a), Some(b)) => Some(if a.unix_ms() < b.unix_ms() { a } else { b }),
        (a, b) => a.or(b),
    };
    if until.is_some_and(|u| u.has_passed(now)) {
        return refuse(VerifyCode::Expired);
    }
    let tenant_active = match ctx.tenant(&k.tenant).await? {
        Some(t) => !matches!(
            t.effective_status(now),
            TenantStatus::Frozen | TenantStatus::Archived
        ),
        None => false,
    };
    touch(ctx, &rec, now);
    Ok(KeyCheck::Valid {
        key: Box::new(rec),
        until,
        tenant_active,
        previous: which != 0,
    })
}

/// Writes `last_used_at` if this worker has not within a minute, and the record's is
/// older than a minute (so all workers together write it at most about once a minute),
/// off the request's path.
fn touch(ctx: &Ctx, rec: &Versioned<ApiKeyRecord>, now: Timestamp) {
    const EVERY_MS: i64 = 60_000;
    let fresh = move |at: &Option<String>| {
        at.as_deref()
            .and_then(Timestamp::parse)
            .is_some_and(|t| now.unix_ms() - t.unix_ms() < EVERY_MS)
    };
    if fresh(&rec.value.last_used_at) || !ctx.keys.first_use_this_minute(rec.value.key_id.as_str())
    {
        return;
    }
    let store = ctx.store.clone();
    let key = ApiKeyKey::new(&rec.value.tenant, &rec.value.key_id);
    tokio::spawn(async move {
        let r = store
            .apikeys
            .modify(&key, |cur| {
                Ok::<_, StoreError>(match cur {
                    Some(c) if !fresh(&c.value.last_used_at) => {
                        let mut next = c.value.clone();
                        next.last_used_at = Some(now.to_rfc3339());
                        Decision::put(next)
                    }
                    _ => Decision::Keep(()),
                })
            })
            .await;
        if let Err(e) = r {
            tracing::debug!(error = %e, "could not note an API key's last use");
        }
    });
}

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: ApiKeyVerifyRequest,
) -> Result<ApiKeyVerifyReply, ApiError> {
    let may_verify = |k: &ApiKeyRecord| {
        admin
            .grants
            .allows(Permission::ApikeyVerify, &k.tenant, None)
    };
    let (key, code) = match check(ctx, &req.key, false).await? {
        KeyCheck::Refused(VerifyCode::RateLimited, _) => {
            return Ok(ApiKeyVerifyReply::refused(VerifyCode::RateLimited))
        }
        KeyCheck::Refused(code, Some(k)) if may_verify(&k) => {
            return Ok(ApiKeyVerifyReply::refused(code))
        }
        KeyCheck::Refused(..) => return Ok(ApiKeyVerifyReply::refused(VerifyCode::NotFound)),
        KeyCheck::Valid { key, .. } if !may_verify(&key.value) => {
            return Ok(ApiKeyVerifyReply::refused(VerifyCode::NotFound))
        }
        KeyCheck::Valid {
            tenant_active: false,
            ..
        } => return Ok(ApiKeyVerifyReply::refused(VerifyCode::TenantInactive)),
        KeyCheck::Valid { key, .. } => {
            let code = if covers(&key.value, req.scopes.as_ref(), req.product.as_ref()) {
                VerifyCode::Valid
            } else {
                VerifyCode::InsufficientScope
            };
            (key.value, code)
        }
    };
    Ok(ApiKeyVerifyReply {
        valid: code == VerifyCode::Valid,
        code,
        key_id: Some(key.key_id),
        tenant: Some(key.tenant),
        name: Some(key.name),
        scopes: Some(key.scopes),
    })
}

/// True when key `k` holds every scope asked and may be used for the product asked (a
/// key naming no product serves every product).
fn covers(
    k: &ApiKeyRecord,
    scopes: Option<&BTreeSet<Permission>>,
    product: Option<&crate::domain::ProductName>,
) -> bool {
    let scopes_ok = scopes.is_none_or(|s| s.is_subset(&k.scopes));
    let product_ok = match (product, &k.product) {
        (Some(asked), Some(own)) => asked == own,
        _ => true,
    };
    scopes_ok && product_ok
}
