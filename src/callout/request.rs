//! The server's side of the exchange: opening an authorization request (sealed to the
//! callout's xkey when the server sets `auth_callout.xkey`, then a JWT signed by the
//! server) and sealing the answer the same way back.

use bytes::Bytes;

use super::{CalloutConfig, CalloutError};
use crate::jwt::{self, AuthRequestClaims};

/// The header carrying the server's curve key when it encrypts.
const XKEY_HEADER: &str = "Nats-Server-Xkey";

/// The verified request, and the server's xkey when the request came sealed.
pub(super) fn open(
    cfg: &CalloutConfig,
    msg: &async_nats::Message,
) -> Result<(AuthRequestClaims, Option<String>), CalloutError> {
    let server_xkey = msg
        .headers
        .as_ref()
        .and_then(|h| h.get(XKEY_HEADER))
        .map(|v| v.as_str().to_owned());
    let token = match (&server_xkey, &cfg.xkey) {
        (Some(sx), Some(ours)) => {
            let sender = nkeys::XKey::from_public_key(sx).map_err(CalloutError::ServerXkey)?;
            let plain = ours
                .open(&msg.payload, &sender)
                .map_err(CalloutError::Decrypt)?;
            String::from_utf8(plain)?
        }
        (Some(_), None) => return Err(CalloutError::NoXkey),
        (None, _) => String::from_utf8(msg.payload.to_vec())?,
    };
    let (req, iss) =
        jwt::decode_verified::<AuthRequestClaims>(&token).map_err(CalloutError::RequestJwt)?;
    if !iss.starts_with('N') {
        return Err(CalloutError::NotServerSigned);
    }
    if req.aud != "nats-authorization-request" {
        return Err(CalloutError::NotAuthRequest);
    }
    Ok((req, server_xkey))
}

/// The encoded response, sealed to the server's xkey if the request came sealed.
pub(super) fn seal(
    cfg: &CalloutConfig,
    server_xkey: Option<&str>,
    encoded: String,
) -> Result<Bytes, CalloutError> {
    match (server_xkey, &cfg.xkey) {
        (Some(sx), Some(ours)) => {
            let to = nkeys::XKey::from_public_key(sx).map_err(CalloutError::ServerXkey)?;
            let sealed = ours
                .seal(encoded.as_bytes(), &to)
                .map_err(CalloutError::Seal)?;
            Ok(Bytes::from(sealed))
        }
        _ => Ok(Bytes::from(encoded)),
    }
}
