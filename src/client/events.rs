//! What a client's NATS connection tells it on the side: nats-server reports a refused
//! publish (`-ERR 'Permissions Violation for Publish to "…"'`) and a refused reconnect
//! only through the connection's event callback, never to the request that caused them.
//! [`BusEvents`] turns those events into signals a waiting request can act on at once.

use std::sync::{Arc, Mutex};

use async_nats::{ClientError as NatsClientError, Event, ServerError};
use tokio::sync::broadcast;

use super::ClientError;

/// One thing the connection saw that a waiting request cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusSignal {
    /// The server refused to let this connection publish to the subject.
    PublishDenied(String),
    /// The connection to the server was lost (closed by the server, say).
    Disconnected,
    /// A reconnect was refused with an authorization violation.
    ReconnectRefused,
}

impl BusSignal {
    /// The signal an async-nats event carries, if any.
    pub fn from_event(event: &Event) -> Option<Self> {
        match event {
            Event::ServerError(ServerError::Other(msg)) => {
                publish_denied_subject(msg).map(BusSignal::PublishDenied)
            }
            Event::ServerError(ServerError::AuthorizationViolation) => {
                Some(BusSignal::ReconnectRefused)
            }
            // A reconnect attempt that failed: async-nats reports the connect error's
            // kind as text (`ConnectErrorKind::AuthorizationViolation`).
            Event::ClientError(NatsClientError::Other(kind))
                if kind.eq_ignore_ascii_case("authorization violation") =>
            {
                Some(BusSignal::ReconnectRefused)
            }
            Event::Disconnected => Some(BusSignal::Disconnected),
            _ => None,
        }
    }
}

/// The subject of a server's `Permissions Violation for Publish to "<subject>"`.
pub fn publish_denied_subject(msg: &str) -> Option<String> {
    const PREFIX: &str = "permissions violation for publish to ";
    let lower = msg.to_ascii_lowercase();
    let at = lower.find(PREFIX)? + PREFIX.len();
    let rest = msg
        .get(at..)?
        .trim()
        .trim_matches(|c| c == '"' || c == '\'');
    // A subject has no spaces; anything after one is not part of it.
    let subject = rest
        .split_whitespace()
        .next()?
        .trim_end_matches(['"', '\'']);
    (!subject.is_empty()).then(|| subject.to_owned())
}

/// The events of one connection, fanned out to every request waiting on it. Install it
/// with [`BusEvents::install`] before connecting, then give it to
/// [`crate::client::RosterClient::with_events`].
#[derive(Debug, Clone)]
pub struct BusEvents {
    tx: broadcast::Sender<BusSignal>,
    denied: Arc<Mutex<Option<String>>>,
}

impl Default for BusEvents {
    fn default() -> Self {
        Self::new()
    }
}

impl BusEvents {
    /// A fresh fan-out with no listeners.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(64);
        Self {
            tx,
            denied: Arc::default(),
        }
    }

    /// `opts` with an event callback that feeds this fan-out (it replaces any other).
    pub fn install(&self, opts: async_nats::ConnectOptions) -> async_nats::ConnectOptions {
        let me = self.clone();
        opts.event_callback(move |event| {
            let me = me.clone();
            async move { me.observe(&event) }
        })
    }

    /// Records an event and tells every waiting request.
    pub fn observe(&self, event: &Event) {
        tracing::debug!(%event, "NATS connection event");
        if let Some(signal) = BusSignal::from_event(event) {
            if let BusSignal::PublishDenied(s) = &signal {
                if let Ok(mut d) = self.denied.lock() {
                    *d = Some(s.clone());
                }
            }
            // Nobody waiting is fine: the signal concerns no request.
            let _ = self.tx.send(signal);
        }
    }

    /// A receiver of the signals from now on (subscribe before publishing).
    pub fn subscribe(&self) -> broadcast::Receiver<BusSignal> {
        self.tx.subscribe()
    }

    /// The subject of the last publish the server refused on this connection.
    pub fn last_denied(&self) -> Option<String> {
        self.denied.lock().ok().and_then(|d| d.clone())
    }
}

/// Waits for `reply` unless the connection says first that it will not come: the server
/// refused the publish to `subject`, or the connection was closed and a reconnect then
/// refused.
pub(super) async fn watch_reply<F, T>(
    subject: &str,
    reply: F,
    mut signals: tokio::sync::broadcast::Receiver<BusSignal>,
) -> Result<T, ClientError>
where
    F: std::future::Future<Output = T>,
{
    use tokio::sync::broadcast::error::RecvError;
    tokio::pin!(reply);
    let mut disconnected = false;
    loop {
        tokio::select! {
            r = &mut reply => return Ok(r),
            signal = signals.recv() => match signal {
                Ok(BusSignal::PublishDenied(s)) if s == subject => {
                    return Err(ClientError::PublishDenied { subject: s });
                }
                Ok(BusSignal::Disconnected) => disconnected = true,
                Ok(BusSignal::ReconnectRefused) if disconnected => {
                    return Err(ClientError::ShutOut { subject: subject.to_owned() });
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                // The connection is gone for good: only the reply (or its timeout) is left.
                Err(RecvError::Closed) => return Ok(reply.await),
            },
        }
    }
}
