//! The wire contract (PROTOCOL.md): error codes, the signed-request headers, and the
//! request and reply bodies of every endpoint. Request types reject unknown fields.

pub mod admin;
pub mod endpoint;
pub mod enroll;
pub mod register;
pub mod request;
pub mod revoke;
pub mod whoami;

pub use endpoint::{Command, Endpoint};

use serde::{Deserialize, Serialize};

/// The NATS micro service name, also its queue group (PROTOCOL §1).
pub const SERVICE_NAME: &str = "roster";

/// Key of the worker's process id in its micro service metadata (`$SRV` PING and INFO
/// replies): it tells which process answered.
pub const METADATA_PID: &str = "pid";

/// Key of the vault's X25519 public key (hex) in the worker's `$SRV.INFO` metadata
/// (PROTOCOL §10): clients seal credential values to it.
pub const METADATA_CREDENTIAL_KEX: &str = "credential_kex";

/// Largest accepted request body (PROTOCOL §1).
pub const MAX_BODY: usize = 64 * 1024;

/// Header carrying the signer's Ed25519 public key.
pub const HDR_KEY: &str = "Roster-Key";
/// Header carrying the signer's clock in Unix milliseconds.
pub const HDR_TS: &str = "Roster-Ts";
/// Header carrying 16 random bytes in hex.
pub const HDR_NONCE: &str = "Roster-Nonce";
/// Header carrying the Ed25519 signature in hex.
pub const HDR_SIG: &str = "Roster-Sig";
/// Header carrying an API key (`rak_…`) in place of the four signing headers (§3, §9).
pub const HDR_API_KEY: &str = "Roster-Api-Key";

/// Every error code of PROTOCOL §1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    InvalidSignature,
    StaleRequest,
    Replayed,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    InviteUnknown,
    InviteUsed,
    InviteExpired,
    InviteCancelled,
    KeyRegistered,
    HandleTaken,
    LastOwner,
    EnrollmentDenied,
    RateLimited,
    TenantInactive,
    BuiltinRoleImmutable,
    BuiltinRoleNonDeletable,
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::InvalidSignature => "invalid_signature",
            ErrorCode::StaleRequest => "stale_request",
            ErrorCode::Replayed => "replayed",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::InviteUnknown => "invite_unknown",
            ErrorCode::InviteUsed => "invite_used",
            ErrorCode::InviteExpired => "invite_expired",
            ErrorCode::InviteCancelled => "invite_cancelled",
            ErrorCode::KeyRegistered => "key_registered",
            ErrorCode::HandleTaken => "handle_taken",
            ErrorCode::LastOwner => "last_owner",
            ErrorCode::EnrollmentDenied => "enrollment_denied",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::TenantInactive => "tenant_inactive",
            ErrorCode::BuiltinRoleImmutable => "builtin_role_immutable",
            ErrorCode::BuiltinRoleNonDeletable => "builtin_role_non_deletable",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP-like number carried in `Nats-Service-Error-Code`.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::InvalidSignature | ErrorCode::StaleRequest | ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden | ErrorCode::EnrollmentDenied => 403,
            ErrorCode::NotFound | ErrorCode::InviteUnknown => 404,
            ErrorCode::Replayed
            | ErrorCode::Conflict
            | ErrorCode::InviteUsed
            | ErrorCode::KeyRegistered
            | ErrorCode::HandleTaken
            | ErrorCode::LastOwner
            | ErrorCode::BuiltinRoleImmutable
            | ErrorCode::BuiltinRoleNonDeletable => 409,
            ErrorCode::InviteExpired | ErrorCode::InviteCancelled => 410,
            ErrorCode::TenantInactive => 423,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }

    /// Parses a wire code.
    pub fn from_wire(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal: a code from PROTOCOL §1 plus a message that is safe to show the requester.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The wire code.
    pub code: ErrorCode,
    /// Text for humans; never holds a secret or an internal cause.
    pub message: String,
}

impl ApiError {
    /// A refusal with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
    /// A role rule's refusal, with its PROTOCOL code.
    pub fn role(e: &crate::authz::RoleError) -> Self {
        let code = ErrorCode::from_wire(e.code()).unwrap_or(ErrorCode::BadRequest);
        Self::new(code, e.to_string())
    }
    /// Shorthand for `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
}

impl From<crate::domain::ParseError> for ApiError {
    fn from(e: crate::domain::ParseError) -> Self {
        ApiError::bad_request(e.0)
    }
}

/// The failure envelope `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// Inside the failure envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The wire code.
    pub code: String,
    /// Text for humans.
    pub message: String,
}

impl From<&ApiError> for ErrorEnvelope {
    fn from(e: &ApiError) -> Self {
        ErrorEnvelope {
            error: ErrorBody {
                code: e.code.as_str().to_owned(),
                message: e.message.clone(),
            },
        }
    }
}

/// Decodes a request body strictly: size, JSON object, known fields, types. A refusal
/// says which field and why, never where in the text (`at line 1 column 74`).
pub fn decode_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.len() > MAX_BODY {
        return Err(ApiError::bad_request(format!(
            "body is {} bytes; the limit is {MAX_BODY}",
            body.len()
        )));
    }
    // Request types derive Deserialize, which would also accept a JSON array in field
    // order; only an object is a valid body.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return match serde_json::from_slice::<serde_json::Value>(body) {
            Err(e) => Err(ApiError::bad_request(format!(
                "body is not valid JSON: {}",
                json_reason(&e)
            ))),
            Ok(_) => Err(ApiError::bad_request("body must be a JSON object")),
        };
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid body: {}", json_reason(&e))))
}

/// What serde_json says is wrong (`unknown field `x`, expected one of …`, `missing field
/// `handle``), without the position it appends (` at line 1 column 74`).
pub fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&position) {
        Some(reason) => reason.to_owned(),
        None => text,
    }
}

#[cfg(test)]
#[path = "wire_test.rs"]
mod tests;
