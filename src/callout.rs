//! The NATS auth callout: the bus admits exactly the roster (PROTOCOL §6).
//!
//! nats-server (config mode, `authorization { auth_callout { … } }`) sends every
//! connecting client to `$SYS.REQ.USER.AUTH`; workers answer in queue group `roster`.
//! - a client presenting an active user's signing key as its nkey gets its role's
//!   permissions; a machine presenting its `cak_` credential as token, or its agent key as
//!   nkey, gets machine permissions;
//! - any other client (unknown nkey, no credentials) gets the onboarding lane;
//! - revoked, pending and rejected identities are refused.
//!
//! Also here: the evictor, which closes an identity's live connections after a revoke
//! (CONNZ through the system account, then `$SYS.REQ.SERVER.<id>.KICK`).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::{watch, Semaphore};

use crate::audit::Target;
use crate::crypto;
use crate::domain::{Credential, MachineId, Role, SignKey};
use crate::handlers::Ctx;
use crate::jwt::{
    self, Allow, AuthRequestClaims, ResponseClaims, ResponseNats, UserClaims, UserNats,
};
use crate::store::records::{MachineState, UserStatus};
use crate::store::StoreError;

pub use crate::bus::{
    inbox_for_nkey, machine_conn_name, machine_conn_names, machine_credential_conn_name,
    run_onboarding_sweeper, user_conn_name, Evictor, ONBOARDING_CONN_NAME, ONBOARDING_SWEEP,
};
pub use crate::config::CalloutConfig;
pub use crate::templates::{
    Limits, Template, Templates, MACHINE_LIMITS, ONBOARDING_LIMITS, ONBOARDING_TTL,
};

/// The subject nats-server sends authorization requests to.
pub const AUTH_SUBJECT: &str = "$SYS.REQ.USER.AUTH";
const XKEY_HEADER: &str = "Nats-Server-Xkey";

/// The permissions of a refused client (never issued; keeps the match total).
static NOTHING: Template = Template {
    publish: Vec::new(),
    subscribe: Vec::new(),
    limits: ONBOARDING_LIMITS,
};

/// Fresh callout keys: (issuer account seed, xkey seed), for `roster dev` and operators.
pub fn generate_keys() -> anyhow::Result<(zeroize::Zeroizing<String>, zeroize::Zeroizing<String>)> {
    let issuer = nkeys::KeyPair::new_account();
    let xkey = nkeys::XKey::new();
    Ok((
        zeroize::Zeroizing::new(issuer.seed().map_err(|e| anyhow::anyhow!("{e}"))?),
        zeroize::Zeroizing::new(xkey.seed().map_err(|e| anyhow::anyhow!("{e}"))?),
    ))
}

/// Who a connecting client is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    User {
        handle: String,
        role: Role,
        inbox: String,
    },
    Machine {
        machine_id: String,
        /// The connection name: which credential (or the agent key) it came with.
        conn_name: String,
        inbox: String,
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

/// Serves the callout until `stop` turns true.
pub async fn serve(
    client: async_nats::Client,
    ctx: Arc<Ctx>,
    cfg: Arc<CalloutConfig>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut sub = client
        .queue_subscribe(AUTH_SUBJECT, crate::wire::SERVICE_NAME.to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("subscribing to {AUTH_SUBJECT}: {e}"))?;
    let permits = Arc::new(Semaphore::new(256));
    loop {
        let msg = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            m = sub.next() => match m { Some(m) => m, None => break },
        };
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let (client, ctx, cfg) = (client.clone(), ctx.clone(), cfg.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let Some(reply) = msg.reply.clone() else {
                return;
            };
            match respond(&ctx, &cfg, &msg).await {
                Ok(body) => {
                    if let Err(e) = client.publish(reply, body).await {
                        tracing::warn!(error = %e, "could not answer an auth callout");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "unreadable auth callout request"),
            }
        });
    }
    let _ = sub.unsubscribe().await;
    Ok(())
}

async fn respond(
    ctx: &Ctx,
    cfg: &CalloutConfig,
    msg: &async_nats::Message,
) -> anyhow::Result<Bytes> {
    let server_xkey = msg
        .headers
        .as_ref()
        .and_then(|h| h.get(XKEY_HEADER))
        .map(|v| v.as_str().to_owned());
    let token = match (&server_xkey, &cfg.xkey) {
        (Some(sx), Some(ours)) => {
            let sender = nkeys::XKey::from_public_key(sx)
                .map_err(|e| anyhow::anyhow!("server xkey: {e}"))?;
            let plain = ours
                .open(&msg.payload, &sender)
                .map_err(|e| anyhow::anyhow!("decrypting: {e}"))?;
            String::from_utf8(plain)?
        }
        (Some(_), None) => anyhow::bail!(
            "the server encrypts callout requests but no --callout-xkey-seed-file is set"
        ),
        (None, _) => String::from_utf8(msg.payload.to_vec())?,
    };
    let (req, iss) = jwt::decode_verified::<AuthRequestClaims>(&token)
        .map_err(|e| anyhow::anyhow!("request JWT: {e}"))?;
    anyhow::ensure!(
        iss.starts_with('N'),
        "the request was not signed by a server key"
    );
    anyhow::ensure!(
        req.aud == "nats-authorization-request",
        "not an authorization request"
    );
    let admission = match admit(ctx, &req).await {
        Ok(a) => a,
        // If the store is down we cannot tell who is revoked: refuse rather than guess.
        Err(e) => {
            tracing::warn!(error = %e, "callout: store unavailable; refusing");
            Admission::Denied("unavailable")
        }
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let issuer = cfg.issuer.public_key();
    let nats = match &admission {
        Admission::Denied(why) => {
            audit_denied(ctx, &req, why);
            ResponseNats {
                jwt: None,
                error: Some((*why).to_owned()),
                kind: "authorization_response",
                version: 2,
            }
        }
        other => {
            let user = user_claims(ctx, cfg, &req, other, now, &issuer);
            let user_jwt = jwt::encode(&user, &cfg.issuer).map_err(|e| anyhow::anyhow!("{e}"))?;
            ResponseNats {
                jwt: Some(user_jwt),
                error: None,
                kind: "authorization_response",
                version: 2,
            }
        }
    };
    let resp = ResponseClaims {
        jti: jwt::new_jti(),
        iat: now,
        iss: issuer,
        sub: req.nats.user_nkey.clone(),
        aud: req.nats.server_id.id.clone(),
        nats,
    };
    let encoded = jwt::encode(&resp, &cfg.issuer).map_err(|e| anyhow::anyhow!("{e}"))?;
    match (&server_xkey, &cfg.xkey) {
        (Some(sx), Some(ours)) => {
            let to = nkeys::XKey::from_public_key(sx)
                .map_err(|e| anyhow::anyhow!("server xkey: {e}"))?;
            let sealed = ours
                .seal(encoded.as_bytes(), &to)
                .map_err(|e| anyhow::anyhow!("sealing: {e}"))?;
            Ok(Bytes::from(sealed))
        }
        _ => Ok(Bytes::from(encoded)),
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
                UserStatus::Active => Admission::User {
                    handle: u.value.handle.to_string(),
                    role: u.value.role,
                    inbox,
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
                },
                other => Admission::Denied(machine_refusal(other)),
            });
        }
        return Ok(Admission::Onboarding { inbox });
    }
    if let Some(token) = opts.auth_token.as_deref().filter(|t| !t.is_empty()) {
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

fn fill(list: &[String], vars: &HashMap<&str, String>) -> Vec<String> {
    list.iter()
        .map(|s| {
            vars.iter()
                .fold(s.clone(), |acc, (k, v)| acc.replace(&format!("{{{k}}}"), v))
        })
        .collect()
}

fn user_claims(
    ctx: &Ctx,
    cfg: &CalloutConfig,
    req: &AuthRequestClaims,
    a: &Admission,
    now: i64,
    issuer: &str,
) -> UserClaims {
    let mut vars = HashMap::new();
    vars.insert("prefix", ctx.cfg.prefix.clone());
    let (name, template) = match a {
        Admission::User {
            handle,
            role,
            inbox,
        } => {
            vars.insert("handle", handle.clone());
            vars.insert("inbox", inbox.clone());
            (user_conn_name(handle), cfg.templates.for_role(*role))
        }
        Admission::Machine {
            machine_id,
            conn_name,
            inbox,
        } => {
            vars.insert("machine_id", machine_id.clone());
            vars.insert("inbox", inbox.clone());
            (conn_name.clone(), &cfg.templates.machine)
        }
        Admission::Onboarding { inbox } => {
            vars.insert("inbox", inbox.clone());
            (ONBOARDING_CONN_NAME.to_owned(), &cfg.templates.onboarding)
        }
        Admission::Denied(_) => ("denied".to_owned(), &NOTHING),
    };
    // A stranger's lane is for one registration or enrollment: it does not last long.
    let ttl = match a {
        Admission::Onboarding { .. } => cfg.user_ttl.min(ONBOARDING_TTL),
        _ => cfg.user_ttl,
    };
    UserClaims {
        jti: jwt::new_jti(),
        iat: now,
        iss: issuer.to_owned(),
        sub: req.nats.user_nkey.clone(),
        aud: cfg.account.clone(),
        name,
        exp: Some(now + ttl.as_secs() as i64),
        nats: UserNats {
            publish: Allow {
                allow: fill(&template.publish, &vars),
                deny: vec![],
            },
            subscribe: Allow {
                allow: fill(&template.subscribe, &vars),
                deny: vec![],
            },
            subs: template.limits.subs,
            data: template.limits.data,
            payload: template.limits.payload,
            kind: "user",
            version: 2,
        },
    }
}

/// Counts a refused connection into the security log (PROTOCOL §5): per reason and
/// client host, at most one event a minute, whatever the rate of attempts.
fn audit_denied(ctx: &Ctx, req: &AuthRequestClaims, why: &str) {
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
