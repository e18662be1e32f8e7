//! Audit events (PROTOCOL §5): the event type, the publisher that puts each event into
//! the audit stream with a deterministic `Nats-Msg-Id` before the reply, and (in
//! `reader`) the pages behind `audit.query`.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use serde::{Deserialize, Serialize};

pub mod backup;
mod event;
mod reader;
pub mod security;

pub use event::{CredentialAction, Enrolled, Event, Evicted};
pub(crate) use reader::read_stream;
pub(crate) use reader::IndexEntry;
pub use reader::{target_matches, tenant_index_name, AuditFilter, AuditPage, Cursor, Tailed};

use crate::store::{error_chain, StoreError};
use crate::time_util;

/// `ok` for a change that happened, `denied` for a refused attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Denied,
}

/// What kind of party acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorType {
    User,
    Machine,
    /// An API key (PROTOCOL §9), by key id.
    ApiKey,
    System,
    Anonymous,
}

/// Who acted: a user by handle, a machine by id, an unknown party by its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ActorType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Actor {
    /// A user, by handle.
    pub fn user(handle: &crate::domain::Handle) -> Self {
        Actor {
            id: handle.to_string(),
            kind: ActorType::User,
            name: None,
        }
    }

    /// A machine, by id, with its host name when it gave one.
    pub fn machine(id: &crate::domain::MachineId, hostname: Option<&str>) -> Self {
        Actor {
            id: id.to_string(),
            kind: ActorType::Machine,
            name: hostname.map(str::to_owned),
        }
    }

    /// An API key, by key id.
    pub fn api_key(key_id: &str) -> Self {
        Actor {
            id: key_id.to_owned(),
            kind: ActorType::ApiKey,
            name: None,
        }
    }

    /// The worker itself (bootstrap and other operator tooling).
    pub fn system() -> Self {
        Actor {
            id: "system".into(),
            kind: ActorType::System,
            name: None,
        }
    }
}

/// What was acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Target {
    /// A target of `kind` named by `id`.
    pub fn new(kind: &str, id: impl Into<String>) -> Self {
        Target {
            id: id.into(),
            kind: kind.into(),
            name: None,
        }
    }

    /// The same target with a display name.
    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }
}

/// One audit event. It never holds a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    pub id: String,
    pub time: String,
    pub action: String,
    pub outcome: Outcome,
    pub actor: Actor,
    pub target: Target,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Where the attempt came from, when the server tells (a connection, a host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

impl AuditEvent {
    /// A new event; `dedup_key` names the change (or the refused request) so that a
    /// retry produces the same `id` and `Nats-Msg-Id` and the stream keeps one copy.
    pub fn new(
        dedup_key: &str,
        action: &str,
        outcome: Outcome,
        actor: Actor,
        target: Target,
    ) -> Self {
        AuditEvent {
            id: event_id(dedup_key),
            time: time_util::now_rfc3339(),
            action: action.to_owned(),
            outcome,
            actor,
            target,
            tenant: None,
            site: None,
            source: None,
            metadata: serde_json::Map::new(),
        }
    }

    /// Adds a metadata field.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.metadata.insert(key.to_owned(), value.into());
        self
    }
}

/// The event id for a dedup key: 32 hex chars, also used as `Nats-Msg-Id`.
pub fn event_id(dedup_key: &str) -> String {
    let full = crate::crypto::sha256_hex(format!("roster-audit\n{dedup_key}").as_bytes());
    full[..32].to_owned()
}

/// Checks an action filter: dot-separated tokens of `[a-z0-9_-]`, the last may be `*`/`>`.
pub fn valid_action_filter(s: &str) -> bool {
    let tokens: Vec<&str> = s.split('.').collect();
    let n = tokens.len();
    !s.is_empty()
        && s.len() <= 128
        && tokens.iter().enumerate().all(|(i, t)| {
            (!t.is_empty()
                && t.bytes().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-'
                }))
                || (*t == "*")
                || (*t == ">" && i == n - 1)
        })
}

/// Why the audit stream or the security stream could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The existing stream's settings could not be read.
    #[error("cannot read stream {name}")]
    Info {
        name: String,
        #[source]
        source: stream::InfoError,
    },
    /// The stream's limits could not be updated.
    #[error("cannot update stream {name}")]
    Update {
        name: String,
        #[source]
        source: jetstream::context::UpdateStreamError,
    },
    /// The stream is not there (or could not be looked up), and was not to be created.
    #[error("cannot open stream {name} (it is created by `roster serve`)")]
    Missing {
        name: String,
        #[source]
        source: jetstream::context::GetStreamError,
    },
    /// The stream was missing and could not be created (nor did another worker create it).
    #[error("cannot create stream {name}")]
    Create {
        name: String,
        #[source]
        source: jetstream::context::CreateStreamError,
    },
}

/// Publishes events into, and reads them back from, the audit stream.
#[derive(Debug, Clone)]
pub struct Auditor {
    js: jetstream::Context,
    subject_prefix: String,
    stream_name: String,
    security: crate::audit::security::SecurityLog,
}

/// The audit stream's name for a subject prefix (`roster` → `ROSTER_AUDIT`).
pub fn stream_name(prefix: &str) -> String {
    format!(
        "{}_AUDIT",
        prefix.replace(['.', '-'], "_").to_ascii_uppercase()
    )
}

impl Auditor {
    /// Opens the audit stream, creating it when missing (idempotent).
    pub async fn ensure(
        js: jetstream::Context,
        prefix: &str,
        replicas: usize,
        security: crate::audit::security::SecurityConfig,
    ) -> Result<Self, AuditError> {
        let cfg = stream::Config {
            name: stream_name(prefix),
            description: Some("roster audit events".into()),
            subjects: vec![format!("{prefix}.audit.>")],
            num_replicas: replicas,
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            // Queries page through the server's subject index (batched direct get).
            allow_direct: true,
            ..Default::default()
        };
        ensure_stream(&js, cfg).await?;
        // The tenant index (derived: the healers write it from the audit stream, and
        // write it again after a restore); see `reader`.
        let index = stream::Config {
            name: tenant_index_name(prefix),
            description: Some(
                "roster audit events by tenant (derived from the audit stream)".into(),
            ),
            subjects: vec![format!("{prefix}.audit_tenant.>")],
            num_replicas: replicas,
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            allow_direct: true,
            ..Default::default()
        };
        ensure_stream(&js, index).await?;
        let security =
            crate::audit::security::SecurityLog::ensure(js.clone(), prefix, replicas, security)
                .await?;
        Ok(Self::on(js, prefix, security))
    }

    /// Opens the audit and security streams as they are, creating and changing nothing
    /// (`roster check` reads; it never sets up a bus).
    pub async fn open_existing(
        js: jetstream::Context,
        prefix: &str,
        security: crate::audit::security::SecurityConfig,
    ) -> Result<Self, AuditError> {
        existing_stream(&js, &stream_name(prefix)).await?;
        let security =
            crate::audit::security::SecurityLog::open_existing(js.clone(), prefix, security)
                .await?;
        Ok(Self::on(js, prefix, security))
    }

    fn on(
        js: jetstream::Context,
        prefix: &str,
        security: crate::audit::security::SecurityLog,
    ) -> Self {
        Self {
            js,
            subject_prefix: prefix.to_owned(),
            stream_name: stream_name(prefix),
            security,
        }
    }

    /// The security log for strangers' denials (PROTOCOL §5).
    pub fn security(&self) -> &crate::audit::security::SecurityLog {
        &self.security
    }

    /// Publishes what happened, by `actor` (see [`Event`]), and waits for the ack.
    pub async fn record(&self, actor: Actor, event: Event<'_>) -> Result<(), StoreError> {
        self.publish(&event.into_audit_event(actor)).await
    }

    /// The audit sequence up to which the tenant index holds the events (0: none yet).
    pub async fn indexed_upto(&self) -> Result<u64, StoreError> {
        let scanner = crate::store::scan::Scanner::new(self.js.client());
        Ok(self
            .index_end(&scanner, &tenant_index_name(&self.subject_prefix))
            .await?
            .1)
    }

    /// Writes the tenant index entries of `events` (those with a tenant), in order, and
    /// waits for the acks. An entry's `Nats-Msg-Id` is its event's id, so two workers
    /// indexing the same event store it once.
    pub async fn index(&self, events: &[Tailed]) -> Result<(), StoreError> {
        let mut acks = Vec::new();
        for t in events {
            let Some(tenant) = t.event.tenant.as_deref().filter(|t| is_token(t)) else {
                continue;
            };
            let subject = format!("{tenant}.{}", t.event.action);
            acks.push(self.send_entry(&subject, t, &t.event.id).await?);
        }
        // The index's last entry says how far it goes: after events of no tenant, a
        // mark (`_.mark`, never a tenant's subject) names the last one.
        if let Some(last) = events
            .last()
            .filter(|t| !t.event.tenant.as_deref().is_some_and(is_token))
        {
            let id = format!("mark-{}", last.seq);
            acks.push(self.send_entry("_.mark", last, &id).await?);
        }
        let acks = acks.into_iter().map(std::future::IntoFuture::into_future);
        for ack in futures::future::join_all(acks).await {
            ack.map_err(|e| StoreError::Unavailable(error_chain(&e)))?;
        }
        Ok(())
    }

    /// Sends the tenant index entry of `t` on `subject` (below `P.audit_tenant.`) with
    /// `Nats-Msg-Id` `id`; its ack, to wait for.
    async fn send_entry(
        &self,
        subject: &str,
        t: &Tailed,
        id: &str,
    ) -> Result<jetstream::context::PublishAckFuture, StoreError> {
        let entry = IndexEntry {
            seq: t.seq,
            event: t.event.clone(),
        };
        let payload: bytes::Bytes = serde_json::to_vec(&entry)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .into();
        let msg = jetstream::message::PublishMessage::build()
            .payload(payload)
            .message_id(id);
        self.js
            .send_publish(
                format!("{}.audit_tenant.{subject}", self.subject_prefix),
                msg,
            )
            .await
            .map_err(|e| StoreError::Unavailable(error_chain(&e)))
    }

    /// Publishes one event and waits for the stream's ack. A duplicate (same id within
    /// the duplicate window) is acknowledged without a second copy.
    pub async fn publish(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let subject = format!("{}.audit.{}", self.subject_prefix, event.action);
        publish_event(&self.js, subject, event, 6).await
    }
}

/// True when `s` is one subject token (a tenant from an event, before it goes into a
/// subject).
fn is_token(s: &str) -> bool {
    !s.is_empty() && !s.contains(['.', '*', '>', ' ', '\t', '\r', '\n'])
}

/// Opens the stream `want` names, creating it when missing (safe to race: another worker
/// may win). A stream with size or age limits takes `want`'s when they changed.
pub(crate) async fn ensure_stream(
    js: &jetstream::Context,
    want: stream::Config,
) -> Result<(), AuditError> {
    let name = want.name.clone();
    match js.get_stream(&name).await {
        Ok(mut s) => {
            let info = s.info().await.map_err(|source| AuditError::Info {
                name: name.clone(),
                source,
            })?;
            let have = &info.config;
            let limited = want.max_bytes > 0 || !want.max_age.is_zero();
            let changed = (limited
                && (have.max_bytes != want.max_bytes || have.max_age != want.max_age))
                || have.allow_direct != want.allow_direct;
            if changed {
                js.update_stream(&want)
                    .await
                    .map_err(|source| AuditError::Update { name, source })?;
            }
        }
        Err(_) => {
            if let Err(source) = js.create_stream(want).await {
                // Another worker may have won the race; only fail if it is still missing.
                if js.get_stream(&name).await.is_err() {
                    return Err(AuditError::Create { name, source });
                }
            }
        }
    }
    Ok(())
}

/// Fails unless the stream `name` exists.
pub(crate) async fn existing_stream(js: &jetstream::Context, name: &str) -> Result<(), AuditError> {
    js.get_stream(name)
        .await
        .map(|_| ())
        .map_err(|source| AuditError::Missing {
            name: name.to_owned(),
            source,
        })
}

/// Publishes one event on `subject` with its id as `Nats-Msg-Id` and waits for the ack,
/// retrying up to `attempts` times with a short backoff. A duplicate (same id within the
/// duplicate window) is acknowledged without a second copy.
pub(crate) async fn publish_event(
    js: &jetstream::Context,
    subject: String,
    event: &AuditEvent,
    attempts: u32,
) -> Result<(), StoreError> {
    let payload: bytes::Bytes = serde_json::to_vec(event)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?
        .into();
    let mut delay = Duration::from_millis(50);
    let mut last = String::from("no attempt");
    for attempt in 0..attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(800));
        }
        let msg = jetstream::message::PublishMessage::build()
            .payload(payload.clone())
            .message_id(event.id.as_str());
        let res = match js.send_publish(subject.clone(), msg).await {
            Ok(ack) => ack.await.map(|_| ()).map_err(|e| error_chain(&e)),
            Err(e) => Err(error_chain(&e)),
        };
        match res {
            Ok(()) => return Ok(()),
            Err(why) => {
                tracing::debug!(attempt, %why, "event publish failed");
                last = why;
            }
        }
    }
    Err(StoreError::Unavailable(last))
}

#[cfg(test)]
#[path = "audit_test.rs"]
mod tests;
