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
//! One file per step: `request` opens the server's request (xkey, the request JWT) and
//! seals the answer, `admit` decides who the client is, `claims` writes its user JWT from
//! the templates. This file serves them. The evictor lives in [`crate::bus`] (re-exported
//! here).

mod admit;
mod claims;
mod request;

pub use admit::{admit, Admission};

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::{watch, Semaphore};

use crate::handlers::Ctx;
use crate::jwt::{self, JwtError};

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

/// Why the callout could not start, or could not answer one request.
#[derive(Debug, thiserror::Error)]
pub enum CalloutError {
    /// The queue subscription to [`AUTH_SUBJECT`] failed.
    #[error("subscribing to {}", AUTH_SUBJECT)]
    Subscribe(#[source] async_nats::SubscribeError),
    /// The subscription could not be flushed to the server.
    #[error("subscribing to {}", AUTH_SUBJECT)]
    Flush(#[source] async_nats::client::FlushError),
    /// The server's `Nats-Server-Xkey` is not a curve public key.
    #[error("server xkey")]
    ServerXkey(#[source] nkeys::error::Error),
    /// The request does not open with the callout's xkey.
    #[error("decrypting")]
    Decrypt(#[source] nkeys::error::Error),
    /// The server encrypts but the callout has no xkey.
    #[error("the server encrypts callout requests but no --callout-xkey-seed-file is set")]
    NoXkey,
    /// The request is not UTF-8.
    #[error(transparent)]
    Utf8(#[from] std::string::FromUtf8Error),
    /// The request JWT is malformed or its signature does not verify.
    #[error("request JWT")]
    RequestJwt(#[source] JwtError),
    /// The request JWT's issuer is not a server key.
    #[error("the request was not signed by a server key")]
    NotServerSigned,
    /// The request JWT is not an authorization request.
    #[error("not an authorization request")]
    NotAuthRequest,
    /// Signing the user JWT or the response failed.
    #[error(transparent)]
    Sign(#[from] JwtError),
    /// Sealing the response to the server's xkey failed.
    #[error("sealing")]
    Seal(#[source] nkeys::error::Error),
    /// Making fresh callout keys failed.
    #[error(transparent)]
    Keys(nkeys::error::Error),
}

/// Fresh callout keys: (issuer account seed, xkey seed), for `roster dev` and operators.
pub fn generate_keys(
) -> Result<(zeroize::Zeroizing<String>, zeroize::Zeroizing<String>), CalloutError> {
    let issuer = nkeys::KeyPair::new_account();
    let xkey = nkeys::XKey::new();
    Ok((
        zeroize::Zeroizing::new(issuer.seed().map_err(CalloutError::Keys)?),
        zeroize::Zeroizing::new(xkey.seed().map_err(CalloutError::Keys)?),
    ))
}

/// Requests answered at once by one worker, over all its callout connections.
const IN_FLIGHT: usize = 256;

/// Subscribes every connection of `pool` (each with the store read through it) and,
/// once the server has the subscriptions, serves the callout on them until `stop` turns
/// true (the returned task). nats-server handles what one connection sends in order,
/// the KV reads of `admit` and the answers alike, so one connection would admit a
/// reconnecting fleet one client at a time on the server's side; each connection of the
/// pool subscribes in the queue group, reads and answers on itself.
pub async fn start(
    pool: Vec<(async_nats::Client, Arc<Ctx>)>,
    cfg: Arc<CalloutConfig>,
    stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, CalloutError> {
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut subs = Vec::with_capacity(pool.len());
    for (client, ctx) in pool {
        let sub = client
            .queue_subscribe(AUTH_SUBJECT, crate::wire::SERVICE_NAME.to_owned())
            .await
            .map_err(CalloutError::Subscribe)?;
        client.flush().await.map_err(CalloutError::Flush)?;
        subs.push((client, ctx, sub));
    }
    let loops: Vec<_> = subs
        .into_iter()
        .map(|(client, ctx, sub)| {
            serve_on(client, sub, ctx, cfg.clone(), permits.clone(), stop.clone())
        })
        .collect();
    Ok(tokio::spawn(async move {
        futures::future::join_all(loops).await;
    }))
}

/// Answers the requests of one subscription until `stop`.
async fn serve_on(
    client: async_nats::Client,
    mut sub: async_nats::Subscriber,
    ctx: Arc<Ctx>,
    cfg: Arc<CalloutConfig>,
    permits: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let msg = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            m = sub.next() => match m { Some(m) => m, None => break },
        };
        // From here to the published answer is what `roster_callout_duration_seconds`
        // counts, the wait for a permit included.
        let taken = std::time::Instant::now();
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
                Ok((body, kind)) => {
                    if let Err(e) = client.publish(reply, body).await {
                        tracing::warn!(error = %e, "could not answer an auth callout");
                    }
                    ctx.metrics.callout_answered(kind, taken.elapsed());
                }
                Err(e) => tracing::warn!(
                    error = %crate::store::error_chain(&e),
                    "unreadable auth callout request"
                ),
            }
        });
    }
    let _ = sub.unsubscribe().await;
}

/// One request: open it, decide, answer with the signed response (sealed if it came
/// sealed); with the outcome's metric label.
async fn respond(
    ctx: &Ctx,
    cfg: &CalloutConfig,
    msg: &async_nats::Message,
) -> Result<(Bytes, &'static str), CalloutError> {
    let (req, server_xkey) = request::open(cfg, msg)?;
    let admission = match admit(ctx, &req).await {
        Ok(a) => a,
        // If the store is down we cannot tell who is revoked: refuse rather than guess.
        Err(e) => {
            tracing::warn!(error = %e, "callout: store unavailable; refusing");
            Admission::Denied("unavailable")
        }
    };
    let kind = match &admission {
        Admission::Denied(why) => {
            ctx.metrics.denied(why);
            admit::audit_denied(ctx, &req, why);
            "denied"
        }
        Admission::User { .. } => "user",
        Admission::Machine { .. } => "machine",
        Admission::Onboarding { .. } => "onboarding",
        Admission::ApiKey { .. } => "apikey",
    };
    if kind != "denied" {
        ctx.metrics.admitted(kind);
    }
    let resp = claims::response(ctx, cfg, &req, &admission)?;
    let encoded = jwt::encode(&resp, &cfg.issuer)?;
    Ok((request::seal(cfg, server_xkey.as_deref(), encoded)?, kind))
}

#[cfg(test)]
#[path = "callout_test.rs"]
mod tests;
