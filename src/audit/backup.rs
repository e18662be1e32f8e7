//! The audit and security streams out and back in, for `roster backup` and `roster
//! restore`: a stream's settings and every event, oldest first; events go back on their
//! subjects (`P.audit.<action>`, `P.security.<action>`) with their own ids as
//! `Nats-Msg-Id`, in their order, and an event whose id the stream already holds is
//! left alone, so a restore run twice adds nothing.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use serde::{Deserialize, Serialize};

use super::{publish_event, read_stream, AuditEvent};
use crate::store::{error_chain, StoreError};

/// Which of roster's two event streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    /// State changes and identities' refusals (`P.audit.>`).
    Audit,
    /// Strangers' refusals, aggregated (`P.security.>`).
    Security,
}

impl Which {
    /// The subject root below the prefix: `audit`, `security`.
    pub fn root(self) -> &'static str {
        match self {
            Which::Audit => "audit",
            Which::Security => "security",
        }
    }

    /// The stream's name for `prefix`.
    pub fn stream_name(self, prefix: &str) -> String {
        match self {
            Which::Audit => super::stream_name(prefix),
            Which::Security => super::security::stream_name(prefix),
        }
    }
}

/// A stream's settings and size, as a backup's manifest records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamManifest {
    pub which: Which,
    /// The stream's name when it was backed up (`ROSTER_AUDIT`).
    pub stream: String,
    pub description: Option<String>,
    /// Size limit in bytes (-1: none).
    pub max_bytes: i64,
    /// Age limit in seconds (0: none).
    pub max_age_secs: u64,
    /// Largest message in bytes (-1: none).
    pub max_message_size: i32,
    /// `old` (the oldest go first) or `new` (new ones are refused) at a limit.
    pub discard_old: bool,
    pub duplicate_window_secs: u64,
    pub replicas: usize,
    /// Events backed up.
    pub events: usize,
}

fn unavailable(e: &(dyn std::error::Error + 'static)) -> StoreError {
    StoreError::Unavailable(error_chain(e))
}

/// The stream's settings and message count; `None` when it does not exist.
async fn info(
    js: &jetstream::Context,
    name: &str,
) -> Result<Option<(stream::Config, u64)>, StoreError> {
    match js.get_stream(name).await {
        Ok(mut s) => {
            let info = s.info().await.map_err(|e| unavailable(&e))?;
            Ok(Some((info.config.clone(), info.state.messages)))
        }
        Err(e) if crate::store::backup::stream_missing(&e) => Ok(None),
        Err(e) => Err(unavailable(&e)),
    }
}

fn every_event(prefix: &str, which: Which) -> String {
    format!("{prefix}.{}.>", which.root())
}

/// The stream's settings and every event, oldest first; `None` when it does not exist.
/// Fails if an event the stream held did not read as one (a newer roster's shape, say):
/// a backup leaves nothing out silently.
pub async fn export(
    js: &jetstream::Context,
    prefix: &str,
    which: Which,
) -> Result<Option<(StreamManifest, Vec<AuditEvent>)>, StoreError> {
    let name = which.stream_name(prefix);
    let Some((c, held)) = info(js, &name).await? else {
        return Ok(None);
    };
    let events = read_stream(js, &name, every_event(prefix, which)).await?;
    // New events may arrive while it is read; fewer than it held means some did not
    // read. The security stream discards its oldest by age and size, so it may shrink.
    if which == Which::Audit && (events.len() as u64) < held {
        return Err(StoreError::Corrupt(format!(
            "{name} holds {held} messages but only {} read as audit events; back up with a \
             roster as new as the workers",
            events.len()
        )));
    }
    let manifest = StreamManifest {
        which,
        stream: name,
        description: c.description.clone(),
        max_bytes: c.max_bytes,
        max_age_secs: c.max_age.as_secs(),
        max_message_size: c.max_message_size,
        discard_old: c.discard == stream::DiscardPolicy::Old,
        duplicate_window_secs: c.duplicate_window.as_secs(),
        replicas: c.num_replicas,
        events: events.len(),
    };
    Ok(Some((manifest, events)))
}

/// How many events the stream holds (0 when it does not exist).
pub async fn held(js: &jetstream::Context, prefix: &str, which: Which) -> Result<u64, StoreError> {
    Ok(info(js, &which.stream_name(prefix))
        .await?
        .map_or(0, |(_, n)| n))
}

/// Puts a stream back under `prefix`: creates it with the backed-up settings when it is
/// missing (`replicas` overrides theirs), then publishes each event the stream does not
/// hold yet, in order, with its id as `Nats-Msg-Id`. Returns (published, already there).
pub async fn import(
    js: &jetstream::Context,
    prefix: &str,
    manifest: &StreamManifest,
    events: &[AuditEvent],
    replicas: Option<usize>,
) -> Result<(usize, usize), StoreError> {
    let which = manifest.which;
    let name = which.stream_name(prefix);
    let have: HashSet<String> = if info(js, &name).await?.is_some() {
        read_stream(js, &name, every_event(prefix, which))
            .await?
            .into_iter()
            .map(|e| e.id)
            .collect()
    } else {
        let cfg = stream::Config {
            name: name.clone(),
            description: manifest.description.clone(),
            subjects: vec![every_event(prefix, which)],
            num_replicas: replicas.unwrap_or(manifest.replicas),
            storage: stream::StorageType::File,
            max_bytes: manifest.max_bytes,
            max_age: Duration::from_secs(manifest.max_age_secs),
            max_message_size: manifest.max_message_size,
            discard: if manifest.discard_old {
                stream::DiscardPolicy::Old
            } else {
                stream::DiscardPolicy::New
            },
            duplicate_window: Duration::from_secs(manifest.duplicate_window_secs),
            ..Default::default()
        };
        if let Err(e) = js.create_stream(cfg).await {
            // Another process (a worker starting) may have made it; fail if still missing.
            if info(js, &name).await?.is_none() {
                return Err(unavailable(&e));
            }
        }
        HashSet::new()
    };
    let mut published = 0;
    for event in events.iter().filter(|e| !have.contains(&e.id)) {
        let subject = format!("{prefix}.{}.{}", which.root(), event.action);
        publish_event(js, subject, event, 6).await?;
        published += 1;
    }
    Ok((published, events.len() - published))
}
