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
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
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

/// The subject nats-server sends authorization requests to.
pub const AUTH_SUBJECT: &str = "$SYS.REQ.USER.AUTH";
const XKEY_HEADER: &str = "Nats-Server-Xkey";

/// Publish and subscribe lists of one kind of identity. Placeholders: `{prefix}`,
/// `{inbox}`, `{handle}`, `{machine_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    #[serde(rename = "pub")]
    pub publish: Vec<String>,
    #[serde(rename = "sub")]
    pub subscribe: Vec<String>,
    /// Connection limits carried in the user JWT (absent: unlimited).
    #[serde(default)]
    pub limits: Limits,
}

/// The user JWT's limits. nats-server 2.15 enforces `subs` (a subscription beyond it is
/// refused) and `payload` (a larger message is refused) on client connections; `data`
/// is carried for servers and tools that read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub subs: i64,
    pub payload: i64,
    pub data: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            subs: -1,
            payload: -1,
            data: -1,
        }
    }
}

/// The onboarding lane's limits: a registering or enrolling client needs one muxed inbox
/// subscription and one request of at most 64 KiB of body (plus headers).
pub const ONBOARDING_LIMITS: Limits = Limits {
    subs: 16,
    payload: 72 * 1024,
    data: 1024 * 1024,
};

/// Longest life of an onboarding-lane connection's JWT; it then reconnects through the
/// callout (and, registered by then, gets its identity's permissions).
pub const ONBOARDING_TTL: Duration = Duration::from_secs(300);

/// How often workers close onboarding connections over their subscription limit.
pub const ONBOARDING_SWEEP: Duration = Duration::from_secs(2);

/// A machine's limits.
pub const MACHINE_LIMITS: Limits = Limits {
    subs: 256,
    payload: 1024 * 1024,
    data: 1024 * 1024 * 1024,
};

/// The permissions of a refused client (never issued; keeps the match total).
static NOTHING: Template = Template {
    publish: Vec::new(),
    subscribe: Vec::new(),
    limits: ONBOARDING_LIMITS,
};

/// Permission templates per role, plus `machine` and `onboarding`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    pub owner: Template,
    pub admin: Template,
    pub operator: Template,
    pub member: Template,
    pub machine: Template,
    pub onboarding: Template,
}

fn t(p: &[&str], s: &[&str]) -> Template {
    Template {
        publish: p.iter().map(|x| x.to_string()).collect(),
        subscribe: s.iter().map(|x| x.to_string()).collect(),
        limits: Limits::default(),
    }
}

impl Default for Templates {
    fn default() -> Self {
        let admin = t(
            &["{prefix}.v1.>", "$SRV.>", "id.>", "agents.>", "app.>"],
            &["{inbox}.>", "id.>", "agents.>", "app.>", "{prefix}.audit.>"],
        );
        Self {
            owner: admin.clone(),
            admin,
            operator: t(
                &["{prefix}.v1.>", "$SRV.>", "id.{handle}.>", "app.>"],
                &["{inbox}.>", "id.{handle}.>", "app.>"],
            ),
            member: t(
                &[
                    "{prefix}.v1.register",
                    "{prefix}.v1.enroll",
                    "{prefix}.v1.revoke",
                    "id.{handle}.>",
                    "app.>",
                ],
                &["{inbox}.>", "id.{handle}.>", "app.>"],
            ),
            machine: Template {
                limits: MACHINE_LIMITS,
                ..t(
                    &[
                        "{prefix}.v1.enroll",
                        "{prefix}.v1.revoke",
                        "agents.{machine_id}.>",
                    ],
                    &["{inbox}.>", "agents.{machine_id}.>"],
                )
            },
            onboarding: Template {
                limits: ONBOARDING_LIMITS,
                ..t(
                    &["{prefix}.v1.register", "{prefix}.v1.enroll"],
                    &["{inbox}.>"],
                )
            },
        }
    }
}

impl Templates {
    /// Loads templates from a JSON file (same shape as `Templates::default()`).
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a permission template file", path.display()))
    }

    fn for_role(&self, role: Role) -> &Template {
        match role {
            Role::Owner => &self.owner,
            Role::Admin => &self.admin,
            Role::Operator => &self.operator,
            Role::Member => &self.member,
        }
    }
}

/// Callout settings.
pub struct CalloutConfig {
    /// The issuer account key pair (`SA…` seed); the server config names its public key.
    pub issuer: nkeys::KeyPair,
    /// The callout's curve key pair (`SX…` seed) when the server encrypts requests.
    pub xkey: Option<nkeys::XKey>,
    /// The account clients are placed in (`aud` of the user JWT).
    pub account: String,
    /// Lifetime of issued user JWTs: the backstop if an eviction is missed.
    pub user_ttl: Duration,
    pub templates: Templates,
}

impl std::fmt::Debug for CalloutConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalloutConfig")
            .field("issuer", &self.issuer.public_key())
            .field("xkey", &self.xkey.as_ref().map(|x| x.public_key()))
            .field("account", &self.account)
            .field("user_ttl", &self.user_ttl)
            .finish()
    }
}

impl CalloutConfig {
    /// Reads the issuer seed and optional xkey seed from files.
    pub fn from_files(
        issuer_seed: &Path,
        xkey_seed: Option<&Path>,
        account: &str,
        user_ttl: Duration,
        templates: Templates,
    ) -> anyhow::Result<Self> {
        let seed = zeroize::Zeroizing::new(
            std::fs::read_to_string(issuer_seed)
                .with_context(|| format!("reading {}", issuer_seed.display()))?,
        );
        let issuer = nkeys::KeyPair::from_seed(seed.trim())
            .map_err(|e| anyhow::anyhow!("issuer seed: {e}"))?;
        anyhow::ensure!(
            issuer.public_key().starts_with('A'),
            "the issuer seed must be an account nkey seed (SA…)"
        );
        let xkey = match xkey_seed {
            Some(p) => {
                let s = zeroize::Zeroizing::new(
                    std::fs::read_to_string(p)
                        .with_context(|| format!("reading {}", p.display()))?,
                );
                Some(
                    nkeys::XKey::from_seed(s.trim())
                        .map_err(|e| anyhow::anyhow!("xkey seed: {e}"))?,
                )
            }
            None => None,
        };
        Ok(Self {
            issuer,
            xkey,
            account: account.to_owned(),
            user_ttl,
            templates,
        })
    }
}

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

/// The NATS user name of every onboarding-lane connection.
pub const ONBOARDING_CONN_NAME: &str = "onboarding";

/// The NATS user name given to an identity's connections (what CONNZ filters on).
pub fn user_conn_name(handle: &str) -> String {
    format!("user:{handle}")
}

/// The NATS user name given to a machine's connections made with its agent key.
pub fn machine_conn_name(machine_id: &str) -> String {
    format!("machine:{machine_id}")
}

/// The NATS user name given to a machine's connections made with the `cak_` credential
/// whose SHA-256 is `credential_sha256`: the evictor closes exactly the connections of a
/// replaced credential (the first 12 hex characters of a digest of a 256-bit random
/// secret tell nothing about it).
pub fn machine_credential_conn_name(machine_id: &str, credential_sha256: &str) -> String {
    let short = credential_sha256.get(..12).unwrap_or(credential_sha256);
    format!("machine:{machine_id}:c{short}")
}

/// Every connection name a machine's live connections can have now: its agent key's and
/// its current credential's.
pub fn machine_conn_names(machine_id: &str, credential_sha256: &str) -> Vec<String> {
    vec![
        machine_conn_name(machine_id),
        machine_credential_conn_name(machine_id, credential_sha256),
    ]
}

/// The inbox prefix a client connecting with nkey `nkey` must use.
pub fn inbox_for_nkey(nkey: &str) -> String {
    format!("_INBOX.{nkey}")
}

/// Serves the callout until `stop` turns true.
pub async fn serve(
    client: async_nats::Client,
    ctx: Arc<Ctx>,
    cfg: Arc<CalloutConfig>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut sub = client
        .queue_subscribe(AUTH_SUBJECT, crate::worker::SERVICE_NAME.to_owned())
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
        let Some(idx) = ctx.store.credentials.get(&digest).await? else {
            return Ok(Admission::Denied("unknown_credential"));
        };
        let Some(m) = ctx.store.machine(&idx.value.machine_id).await? else {
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

/// Closes live connections through the system account.
#[derive(Debug, Clone)]
pub struct Evictor {
    sys: async_nats::Client,
}

#[derive(Deserialize)]
struct ConnzResponse {
    #[serde(default)]
    server: Option<ConnzServer>,
    #[serde(default)]
    data: Option<ConnzData>,
}

#[derive(Deserialize)]
struct ConnzServer {
    id: String,
}

#[derive(Deserialize)]
struct ConnzData {
    #[serde(default)]
    connections: Vec<ConnzConn>,
}

#[derive(Deserialize)]
struct ConnzConn {
    cid: u64,
    #[serde(default)]
    authorized_user: Option<String>,
    /// CONNZ's count of the connection's subscriptions.
    #[serde(default, rename = "subscriptions")]
    num_subscriptions: u64,
}

impl Evictor {
    /// An evictor on a system-account connection.
    pub fn new(sys: async_nats::Client) -> Self {
        Self { sys }
    }

    /// Kicks every connection whose NATS user is one of `names`; returns how many.
    pub async fn evict_all(&self, names: &[String]) -> anyhow::Result<usize> {
        let mut kicked = 0;
        for name in names {
            kicked += self.evict(name).await?;
        }
        Ok(kicked)
    }

    /// Kicks every connection whose NATS user is `name`, on every server. Returns how
    /// many were kicked.
    pub async fn evict(&self, name: &str) -> anyhow::Result<usize> {
        let targets = self.connections(name).await?;
        Ok(self
            .kick(targets.into_iter().map(|(s, c)| (s, c.cid)))
            .await)
    }

    /// Closes onboarding-lane connections holding more than `max_subs` subscriptions.
    /// nats-server 2.15 does not apply a callout-issued user JWT's `subs` limit
    /// (nats-server#5002: limits are read from the client's own JWT), so the lane's limit
    /// is enforced here, from CONNZ. Returns how many were closed.
    pub async fn sweep_onboarding(&self, max_subs: u64) -> anyhow::Result<usize> {
        let over = self
            .connections(ONBOARDING_CONN_NAME)
            .await?
            .into_iter()
            .filter(|(_, c)| c.num_subscriptions > max_subs)
            .map(|(s, c)| (s, c.cid));
        Ok(self.kick(over).await)
    }

    /// Every live connection whose NATS user is `name`, with its server, on every server.
    async fn connections(&self, name: &str) -> anyhow::Result<Vec<(String, ConnzConn)>> {
        let inbox = self.sys.new_inbox();
        let mut sub = self.sys.subscribe(inbox.clone()).await?;
        let filter = serde_json::json!({ "user": name, "auth": true, "limit": 100_000 });
        self.sys
            .publish_with_reply(
                "$SYS.REQ.SERVER.PING.CONNZ",
                inbox,
                serde_json::to_vec(&filter)?.into(),
            )
            .await?;
        self.sys.flush().await?;
        let mut found = Vec::new();
        // Every server answers once; stop after a short quiet period.
        let mut wait = Duration::from_millis(500);
        while let Ok(Some(msg)) = tokio::time::timeout(wait, sub.next()).await {
            wait = Duration::from_millis(50);
            let Ok(r) = serde_json::from_slice::<ConnzResponse>(&msg.payload) else {
                continue;
            };
            let (Some(server), Some(data)) = (r.server, r.data) else {
                continue;
            };
            for c in data.connections {
                if c.authorized_user.as_deref().is_none_or(|u| u == name) {
                    found.push((server.id.clone(), c));
                }
            }
        }
        let _ = sub.unsubscribe().await;
        Ok(found)
    }

    async fn kick(&self, targets: impl Iterator<Item = (String, u64)>) -> usize {
        let mut kicked = 0;
        for (server, cid) in targets {
            let subject = format!("$SYS.REQ.SERVER.{server}.KICK");
            let body = serde_json::json!({ "cid": cid }).to_string();
            match tokio::time::timeout(
                Duration::from_secs(2),
                self.sys.request(subject, body.into()),
            )
            .await
            {
                Ok(Ok(_)) => kicked += 1,
                Ok(Err(e)) => tracing::warn!(error = %e, cid, "kick failed"),
                Err(_) => tracing::warn!(cid, "kick timed out"),
            }
        }
        kicked
    }
}

/// Enforces the onboarding lane's subscription limit every `every` until `stop`.
pub async fn run_onboarding_sweeper(
    evictor: Evictor,
    max_subs: u64,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stop.borrow() {
        tokio::select! {
            changed = stop.changed() => if changed.is_err() { break },
            _ = tick.tick() => match evictor.sweep_onboarding(max_subs).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(closed = n, max_subs, "onboarding connections over the subscription limit closed"),
                Err(e) => tracing::debug!(error = %e, "onboarding sweep failed"),
            },
        }
    }
}
