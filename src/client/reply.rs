//! What comes back from a request: the raw reply, its decoding, and why a call failed.

use async_nats::HeaderMap;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::wire::{self, ApiError, ErrorCode, ErrorEnvelope};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// roster refused the request with a PROTOCOL code.
    #[error("{0}")]
    Api(ApiError),
    /// The bus refused to let this connection publish the request: its permissions
    /// (given by the auth callout for its role) do not include the subject.
    #[error("the bus refused to let this connection publish to {subject} (Permissions Violation)")]
    PublishDenied {
        /// The subject the request was for.
        subject: String,
    },
    /// The connection was closed while the request waited for its reply, and the bus
    /// refused to let it back in: what a revoke of this very identity does.
    #[error(
        "the connection was closed while waiting for the reply to {subject}, and the bus \
         refuses to let it back in"
    )]
    ShutOut {
        /// The subject the request was for.
        subject: String,
    },
    /// No worker answered in time, or NATS failed.
    #[error("{0}")]
    Nats(RequestFailure),
    /// The reply was not what the protocol promises.
    #[error("unexpected reply: {0}")]
    Decode(String),
}

/// A request NATS could not complete, with the subject it was for.
#[derive(Debug, Clone, thiserror::Error)]
#[error("NATS request to {subject} failed: {message}")]
pub struct RequestFailure {
    /// The subject the request was for.
    pub subject: String,
    /// What went wrong: no responders, a timeout, or something else.
    pub kind: async_nats::client::RequestErrorKind,
    /// What async-nats said.
    pub message: String,
}

impl ClientError {
    /// The PROTOCOL code, if roster answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api(e) => Some(e.code),
            _ => None,
        }
    }
}

/// A reply as it came off the bus, for tests that check headers and raw bodies.
#[derive(Debug, Clone)]
pub struct RawReply {
    pub headers: Option<HeaderMap>,
    pub body: Bytes,
}

impl RawReply {
    /// The error envelope's code, if this is a refusal.
    pub fn error_code(&self) -> Option<String> {
        serde_json::from_slice::<ErrorEnvelope>(&self.body)
            .ok()
            .map(|e| e.error.code)
    }
}

/// Decodes a reply body: the success type, or the error envelope as `ClientError::Api`.
pub fn decode_reply<Rep: DeserializeOwned>(body: &[u8]) -> Result<Rep, ClientError> {
    if let Ok(env) = serde_json::from_slice::<ErrorEnvelope>(body) {
        let code = ErrorCode::from_wire(&env.error.code).unwrap_or(ErrorCode::Internal);
        return Err(ClientError::Api(ApiError::new(code, env.error.message)));
    }
    // Not the body itself: a reply may hold a secret shown once (an invite token).
    serde_json::from_slice(body).map_err(|e| ClientError::Decode(wire::json_reason(&e)))
}
