//! The bus's live connections: the names the callout gives them (what CONNZ filters
//! on) and the evictor that closes them through the system account (CONNZ, then
//! `$SYS.REQ.SERVER.<id>.KICK`), including the onboarding lane's subscription sweep.

use std::time::Duration;

use futures::StreamExt;
use serde::Deserialize;
use tokio::sync::watch;

/// How often workers close onboarding connections over their subscription limit.
pub const ONBOARDING_SWEEP: Duration = Duration::from_secs(2);

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

/// The NATS user name given to the connections made with API key `key_id` as token,
/// by the secret whose PHC string is `phc` (a roll's old secret's connections close when
/// its grace ends, the new one's stay; 12 hex characters of a digest of a salted hash
/// tell nothing about the secret).
pub fn apikey_conn_name(key_id: &str, phc: &str) -> String {
    let d = crate::crypto::sha256_hex(phc.as_bytes());
    format!("apikey:{key_id}:s{}", d.get(..12).unwrap_or_default())
}

/// Every connection name an API key's live connections can have now.
pub fn apikey_conn_names(k: &crate::store::records::ApiKeyRecord) -> Vec<String> {
    std::iter::once(&k.phc)
        .chain(k.previous.as_ref().map(|p| &p.phc))
        .map(|phc| apikey_conn_name(k.key_id.as_str(), phc))
        .collect()
}

/// The inbox prefix a client connecting with API key `key_id` as token must use.
pub fn inbox_for_apikey(key_id: &str) -> String {
    format!("_INBOX.apikey.{key_id}")
}

/// The inbox prefix a client connecting with nkey `nkey` must use.
pub fn inbox_for_nkey(nkey: &str) -> String {
    format!("_INBOX.{nkey}")
}

/// Why the evictor could not ask the servers for their connections (CONNZ).
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Subscribing to the inbox the servers answer on failed.
    #[error(transparent)]
    Subscribe(#[from] async_nats::SubscribeError),
    /// The CONNZ filter could not be encoded.
    #[error(transparent)]
    Encode(#[from] serde_json::Error),
    /// Publishing the CONNZ request failed.
    #[error(transparent)]
    Publish(#[from] async_nats::PublishError),
    /// Flushing the CONNZ request to the server failed.
    #[error(transparent)]
    Flush(#[from] async_nats::client::FlushError),
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
    /// When the connection was made (RFC 3339, nanoseconds).
    #[serde(default)]
    start: Option<String>,
}

impl ConnzConn {
    /// True unless the connection provably started at or after `t` (one that started
    /// later was admitted with what its identity holds now).
    fn started_before(&self, t: time::OffsetDateTime) -> bool {
        self.start
            .as_deref()
            .and_then(|s| {
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
            })
            .is_none_or(|s| s < t)
    }
}

impl Evictor {
    /// An evictor on a system-account connection.
    pub fn new(sys: async_nats::Client) -> Self {
        Self { sys }
    }

    /// Kicks every connection whose NATS user is one of `names` (only those that
    /// started before `before`, when given: a healer finishing a change closes what
    /// the change should have closed, never a connection made since); returns how many.
    pub async fn evict_all(
        &self,
        names: &[String],
        before: Option<time::OffsetDateTime>,
    ) -> Result<usize, BusError> {
        let mut kicked = 0;
        for name in names {
            let targets = self.connections(name).await?.into_iter();
            let targets = targets.filter(|(_, c)| before.is_none_or(|t| c.started_before(t)));
            kicked += self.kick(targets.map(|(s, c)| (s, c.cid))).await;
        }
        Ok(kicked)
    }

    /// Kicks every connection whose NATS user is in `names`, from one listing of every
    /// server's connections (many identities at once: an archived tenant's); returns
    /// how many were kicked.
    pub async fn evict_set(
        &self,
        names: &std::collections::HashSet<String>,
    ) -> Result<usize, BusError> {
        if names.is_empty() {
            return Ok(0);
        }
        let all = self.connections_matching(None).await?;
        let targets = all.into_iter().filter(|(_, c)| {
            c.authorized_user
                .as_ref()
                .is_some_and(|u| names.contains(u))
        });
        Ok(self.kick(targets.map(|(s, c)| (s, c.cid))).await)
    }

    /// Kicks every connection whose NATS user is `name`, on every server. Returns how
    /// many were kicked.
    pub async fn evict(&self, name: &str) -> Result<usize, BusError> {
        let targets = self.connections(name).await?;
        Ok(self
            .kick(targets.into_iter().map(|(s, c)| (s, c.cid)))
            .await)
    }

    /// Closes onboarding-lane connections holding more than `max_subs` subscriptions.
    /// nats-server 2.15 does not apply a callout-issued user JWT's `subs` limit
    /// (nats-server#5002: limits are read from the client's own JWT), so the lane's limit
    /// is enforced here, from CONNZ. Returns how many were closed.
    pub async fn sweep_onboarding(&self, max_subs: u64) -> Result<usize, BusError> {
        let over = self
            .connections(ONBOARDING_CONN_NAME)
            .await?
            .into_iter()
            .filter(|(_, c)| c.num_subscriptions > max_subs)
            .map(|(s, c)| (s, c.cid));
        Ok(self.kick(over).await)
    }

    /// Every live connection whose NATS user is `name`, with its server, on every server.
    async fn connections(&self, name: &str) -> Result<Vec<(String, ConnzConn)>, BusError> {
        self.connections_matching(Some(name)).await
    }

    /// Every live connection (of NATS user `name`, when given), with its server.
    async fn connections_matching(
        &self,
        name: Option<&str>,
    ) -> Result<Vec<(String, ConnzConn)>, BusError> {
        let inbox = self.sys.new_inbox();
        let mut sub = self.sys.subscribe(inbox.clone()).await?;
        let filter = match name {
            Some(n) => serde_json::json!({ "user": n, "auth": true, "limit": 100_000 }),
            None => serde_json::json!({ "auth": true, "limit": 100_000 }),
        };
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
                if name.is_none_or(|n| c.authorized_user.as_deref().is_none_or(|u| u == n)) {
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
    metrics: crate::metrics::Metrics,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stop.borrow() {
        tokio::select! {
            changed = stop.changed() => if changed.is_err() { break },
            _ = tick.tick() => match evictor.sweep_onboarding(max_subs).await {
                Ok(0) => {}
                Ok(n) => {
                    metrics.evicted("onboarding_over_limit", n);
                    tracing::info!(closed = n, max_subs, "onboarding connections over the subscription limit closed");
                }
                Err(e) => tracing::debug!(error = %e, "onboarding sweep failed"),
            },
        }
    }
}
