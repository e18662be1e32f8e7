//! NATS JWTs for the auth callout, encoded by hand: nats-jwt 0.3 cannot build
//! authorization responses or config-mode user claims (no `aud`, always `issuer_account`).
//!
//! A NATS JWT is `b64url(header) . b64url(claims) . b64url(ed25519 signature)` with header
//! `{"typ":"JWT","alg":"ed25519-nkey"}`, signed by an nkey.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

const HEADER: &str = r#"{"typ":"JWT","alg":"ed25519-nkey"}"#;

/// Why a JWT was refused.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("not a three-part JWT")]
    Shape,
    #[error("bad base64: {0}")]
    Base64(String),
    #[error("bad claims JSON: {0}")]
    Json(String),
    #[error("unsupported header")]
    Header,
    #[error("bad issuer key")]
    Issuer,
    #[error("signature does not verify")]
    Signature,
    #[error("signing failed")]
    Sign,
}

/// Encodes and signs `claims` with `signer`.
pub fn encode<T: Serialize>(claims: &T, signer: &nkeys::KeyPair) -> Result<String, JwtError> {
    let body = serde_json::to_vec(claims).map_err(|e| JwtError::Json(e.to_string()))?;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(body)
    );
    let sig = signer
        .sign(signing_input.as_bytes())
        .map_err(|_| JwtError::Sign)?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// Decodes a JWT and verifies it was signed by the key in its `iss` claim.
pub fn decode_verified<T: for<'de> Deserialize<'de>>(token: &str) -> Result<(T, String), JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Shape);
    };
    let b64 = |p: &str| {
        URL_SAFE_NO_PAD
            .decode(p)
            .map_err(|e| JwtError::Base64(e.to_string()))
    };
    let header: serde_json::Value =
        serde_json::from_slice(&b64(h)?).map_err(|e| JwtError::Json(e.to_string()))?;
    let alg = header["alg"].as_str().unwrap_or_default();
    if !matches!(alg, "ed25519-nkey" | "ed25519") {
        return Err(JwtError::Header);
    }
    let claims_bytes = b64(c)?;
    let iss: IssOnly =
        serde_json::from_slice(&claims_bytes).map_err(|e| JwtError::Json(e.to_string()))?;
    let key = nkeys::KeyPair::from_public_key(&iss.iss).map_err(|_| JwtError::Issuer)?;
    key.verify(format!("{h}.{c}").as_bytes(), &b64(s)?)
        .map_err(|_| JwtError::Signature)?;
    let claims =
        serde_json::from_slice(&claims_bytes).map_err(|e| JwtError::Json(e.to_string()))?;
    Ok((claims, iss.iss))
}

#[derive(Deserialize)]
struct IssOnly {
    iss: String,
}

/// A `jti`: any unique string works (the server does not check it).
pub fn new_jti() -> String {
    crate::crypto::random_nonce_hex().to_uppercase()
}

/// The claims of a `$SYS.REQ.USER.AUTH` request (the fields roster reads).
#[derive(Debug, Clone, Deserialize)]
pub struct AuthRequestClaims {
    pub iss: String,
    #[serde(default)]
    pub aud: String,
    pub nats: AuthRequest,
}

/// `nats` of an authorization request.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthRequest {
    pub user_nkey: String,
    pub server_id: ServerId,
    #[serde(default)]
    pub client_info: ClientInfo,
    #[serde(default)]
    pub connect_opts: ConnectOpts,
}

/// The server asking.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServerId {
    #[serde(default)]
    pub name: String,
    pub id: String,
    #[serde(default)]
    pub xkey: Option<String>,
}

/// The connecting client.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientInfo {
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
}

/// What the client presented.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConnectOpts {
    #[serde(default)]
    pub nkey: Option<String>,
    #[serde(default)]
    pub sig: Option<String>,
    #[serde(default)]
    pub auth_token: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// A subject permission list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allow {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

/// `nats` of a user JWT.
#[derive(Debug, Clone, Serialize)]
pub struct UserNats {
    #[serde(rename = "pub")]
    pub publish: Allow,
    #[serde(rename = "sub")]
    pub subscribe: Allow,
    pub subs: i64,
    pub data: i64,
    pub payload: i64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub version: u32,
}

/// A user JWT for config mode: `aud` names the target account; no `issuer_account`.
#[derive(Debug, Clone, Serialize)]
pub struct UserClaims {
    pub jti: String,
    pub iat: i64,
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    pub nats: UserNats,
}

/// `nats` of an authorization response: a user JWT or an error.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseNats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub version: u32,
}

/// The authorization response, signed by the issuer account key.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseClaims {
    pub jti: String,
    pub iat: i64,
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub nats: ResponseNats,
}

#[cfg(test)]
#[path = "jwt_test.rs"]
mod tests;
