//! Who a connecting client is, from what it presented: an nkey (a user's signing key or a
//! machine's agent key, proven by the connect-nonce signature), a `cak_` credential as
//! token, or nothing; and the security tally of a refusal.

use crate::audit::Target;
use crate::authz::{AssignScope, Assignment, Builtin};
use crate::bus::{inbox_for_nkey, machine_conn_name, machine_credential_conn_name};
use crate::crypto;
use crate::domain::{Credential, MachineId, SignKey, Tenant, TenantStatus};
use crate::handlers::Ctx;
use crate::jwt::AuthRequestClaims;
use crate::store::records::{MachineState, UserStatus};
use crate::store::StoreError;

/// The user template a user's connections get: the highest built-in it holds anywhere
/// (`owner` above `admin` above `operator` above `member`; a platform role counts as
/// its name); a custom role counts as `member`, whose template the operator may widen.
pub(crate) fn bus_template(assignments: &[Assignment]) -> Builtin {
    assignments
        .iter()
        .map(|a| match (a.scope(), a.role().builtin()) {
            (_, Some(b)) => b,
            (AssignScope::Platform, None) | (_, None) => Builtin::Member,
        })
        .min()
        .unwrap_or(Builtin::Member)
}

/// The (tenant, product) pairs of `tenant`'s enabled, unexpired products (PROTOCOL §7);
/// none for a tenant that is missing or archived.
async fn tenant_apps(ctx: &Ctx, tenant: &Tenant) -> Result<Vec<(String, String)>, StoreError> {
    let Some(rec) = ctx.tenant(tenant).await? else {
        return Ok(Vec::new());
    };
    let now = ctx.clock.now();
    if rec.effective_status(now) == TenantStatus::Archived {
        return Ok(Vec::new());
    }
    Ok(rec
        .active_products(now)
        .into_iter()
        .map(|p| (tenant.as_str().to_owned(), p))
        .collect())
}

/// A user's (tenant, product) pairs: every product of every tenant it holds an
/// assignment in; a platform owner or admin any (`*`, `*`).
async fn user_apps(
    ctx: &Ctx,
    assignments: &[Assignment],
) -> Result<Vec<(String, String)>, StoreError> {
    if assignments
        .iter()
        .any(|a| matches!(a.scope(), AssignScope::Platform))
    {
        return Ok(vec![("*".to_owned(), "*".to_owned())]);
    }
    let tenants: std::collections::BTreeSet<&Tenant> = assignments
        .iter()
        .filter_map(|a| a.scope().tenant())
        .collect();
    let mut out = Vec::new();
    for t in tenants {
        out.extend(tenant_apps(ctx, t).await?);
    }
    Ok(out)
}

/// Who a connecting client is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    User {
        handle: String,
        /// Which user template its connection gets ([`bus_template`]).
        template: Builtin,
        inbox: String,
        /// The (tenant, product) pairs its `{tenant}`/`{product}` lines expand to.
        apps: Vec<(String, String)>,
    },
    Machine {
        machine_id: String,
        /// The connection name: which credential (or the agent key) it came with.
        conn_name: String,
        inbox: String,
        /// The (tenant, product) pairs of its tenant's enabled products.
        apps: Vec<(String, String)>,
    },
    /// An API key presented as the connect token (PROTOCOL §6, §9).
    ApiKey {
        key_id: String,
        /// Which secret it came with (a roll's old one's connections close apart).
        conn_name: String,
        inbox: String,
        /// Its tenant's enabled products (only its own product, when it names one).
        apps: Vec<(String, String)>,
        /// When the secret stops working (expiry, a roll's grace end), Unix seconds:
        /// the user JWT expires then, so the server closes the connection itself.
        until: Option<i64>,
    },
    Onboarding {
        inbox: String,
    },
    /// Refused, with a short reason code (also the security event's `code`).
    Denied(&'static str),
}

fn machine_refusal(state: MachineState) -> &'static str {
    match state {
        MachineState::Active => "machine_active",
        MachineState::Pending => "machine_pending",
        MachineState::Rejected => "machine_rejected",
        MachineState::Revoked => "machine_revoked",
    }
}

/// Decides who the client is, from what it presented.
pub async fn admit(ctx: &Ctx, req: &AuthRequestClaims) -> Result<Admission, StoreError> {
    let opts = &req.nats.connect_opts;
    if let Some(nkey) = opts.nkey.as_deref().filter(|n| !n.is_empty()) {
        let nonce = req.nats.client_info.nonce.as_deref().unwrap_or_default();
        let sig = opts.sig.as_deref().unwrap_or_default();
        if nonce.is_empty() || !crypto::verify_nkey_nonce(nkey, nonce, sig) {
            return Ok(Admission::Denied("bad_nkey_signature"));
        }
        let Some(key) =
            crypto::sign_key_from_user_nkey(nkey).and_then(|raw| SignKey::from_bytes(raw).ok())
        else {
            return Ok(Admission::Denied("not_user_nkey"));
        };
        let inbox = inbox_for_nkey(nkey);
        if let Some(u) = ctx.store.user_by_key(&key).await? {
            return Ok(match u.value.status {
                _ if u.value.deleting() => Admission::Denied("deleted"),
                UserStatus::Active => Admission::User {
                    handle: u.value.handle.to_string(),
                    template: bus_template(&u.value.assignments),
                    inbox,
                    apps: user_apps(ctx, &u.value.assignments).await?,
                },
                UserStatus::Revoked => Admission::Denied("revoked"),
            });
        }
        if let Some(m) = ctx.store.machine(&MachineId::for_agent(&key)).await? {
            return Ok(match m.value.state {
                MachineState::Active => Admission::Machine {
                    conn_name: machine_conn_name(m.value.machine_id.as_str()),
                    machine_id: m.value.machine_id.to_string(),
                    inbox,
                    apps: tenant_apps(ctx, &m.value.tenant).await?,
                },
                other => Admission::Denied(machine_refusal(other)),
            });
        }
        return Ok(Admission::Onboarding { inbox });
    }
    if let Some(token) = opts.auth_token.as_deref().filter(|t| !t.is_empty()) {
        if token.starts_with(crate::crypto::SecretKind::ApiKey.prefix()) {
            return api_key(ctx, token).await;
        }
        let Ok(cred) = Credential::parse(token) else {
            return Ok(Admission::Denied("unknown_token"));
        };
        let digest = cred.secret().digest_hex();
        let Some(id) = ctx.store.credential_machine(&digest).await? else {
            return Ok(Admission::Denied("unknown_credential"));
        };
        let Some(m) = ctx.store.machine(&id).await? else {
            return Ok(Admission::Denied("unknown_credential"));
        };
        if !crypto::ct_eq(&m.value.credential_sha256, &digest) {
            return Ok(Admission::Denied("credential_replaced"));
        }
        return Ok(match m.value.state {
            MachineState::Active => Admission::Machine {
                apps: tenant_apps(ctx, &m.value.tenant).await?,
                inbox: format!("_INBOX.{}", m.value.machine_id),
                conn_name: machine_credential_conn_name(
                    m.value.machine_id.as_str(),
                    &m.value.credential_sha256,
                ),
                machine_id: m.value.machine_id.to_string(),
            },
            other => Admission::Denied(machine_refusal(other)),
        });
    }
    if opts.user.as_deref().is_some_and(|u| !u.is_empty()) {
        return Ok(Admission::Denied("password_not_roster"));
    }
    // No credential at all: nothing to give an inbox of its own, so no lane.
    Ok(Admission::Denied("no_credential"))
}

/// A connection presenting an API key: admitted while the key is valid (a frozen
/// tenant's keys, like its users, still connect; an archived tenant's keys are gone).
async fn api_key(ctx: &Ctx, token: &str) -> Result<Admission, StoreError> {
    use crate::handlers::KeyCheck;
    use crate::wire::admin::VerifyCode;
    Ok(
        match crate::handlers::check_apikey(ctx, token, true).await? {
            KeyCheck::Valid {
                key,
                until,
                previous,
                ..
            } => {
                let k = key.value;
                let mut apps = tenant_apps(ctx, &k.tenant).await?;
                if let Some(p) = &k.product {
                    apps.retain(|(_, name)| name == p.as_str());
                }
                let phc = match (&k.previous, previous) {
                    (Some(p), true) => &p.phc,
                    _ => &k.phc,
                };
                Admission::ApiKey {
                    conn_name: crate::bus::apikey_conn_name(k.key_id.as_str(), phc),
                    inbox: crate::bus::inbox_for_apikey(k.key_id.as_str()),
                    key_id: k.key_id.to_string(),
                    apps,
                    until: until.map(|u| u.unix_ms() / 1000),
                }
            }
            KeyCheck::Refused(VerifyCode::Revoked, _) => Admission::Denied("apikey_revoked"),
            KeyCheck::Refused(VerifyCode::Expired, _) => Admission::Denied("apikey_expired"),
            KeyCheck::Refused(VerifyCode::RateLimited, _) => Admission::Denied("apikey_throttled"),
            KeyCheck::Refused(..) => Admission::Denied("unknown_apikey"),
        },
    )
}

/// Counts a refused connection into the security log (PROTOCOL §5): per reason and
/// client host, at most one event a minute, whatever the rate of attempts.
pub(super) fn audit_denied(ctx: &Ctx, req: &AuthRequestClaims, why: &str) {
    let opts = &req.nats.connect_opts;
    let actor = opts
        .nkey
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| {
            if opts.auth_token.is_some() {
                "token".into()
            } else {
                "anonymous".into()
            }
        });
    ctx.audit.security().record(crate::audit::security::Denial {
        action: "connect.denied".into(),
        code: why.to_owned(),
        source: req.nats.client_info.host.clone(),
        actor,
        target: Target::new("bus", req.nats.server_id.name.clone()),
        site: None,
    });
}
