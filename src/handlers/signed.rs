//! The signed-request check (PROTOCOL §3): the four headers, the Ed25519ph signature,
//! the clock window. Writes nothing (the nonce is spent later, by `Ctx::spend_nonce`).

use super::*;
use crate::time_util::Timestamp;

/// A request whose signature, clock and nonce were checked.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The signer's key.
    pub key: SignKey,
    /// The signer's `Roster-Ts`.
    pub ts: i64,
    /// The request nonce.
    pub nonce: Nonce,
    /// The connection it came from, when its reply subject tells (see
    /// [`crate::audit::security::source_of_reply`]).
    pub source: Option<String>,
}

impl Signed {
    /// A name for this request that is stable across an exact re-send.
    pub fn request_key(&self) -> String {
        format!("{}/{}", self.key.to_hex(), self.nonce.as_str())
    }
}

pub(super) fn header<'a>(headers: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    headers.and_then(|h| h.get(name)).map(|v| v.as_str())
}

fn bad_signature() -> ApiError {
    ApiError::new(ErrorCode::InvalidSignature, "signature does not verify")
}

/// The clock check, after the signature: `Roster-Ts` within the window.
fn check_clock(
    cfg: &HandlerConfig,
    now: Timestamp,
    key: SignKey,
    ts: i64,
    nonce: Nonce,
) -> Result<Signed, ApiError> {
    let skew = (now.unix_ms() - ts).unsigned_abs();
    if skew > cfg.clock_window.as_millis() as u64 {
        return Err(ApiError::new(
            ErrorCode::StaleRequest,
            format!(
                "Roster-Ts is {} ms from the worker's clock; the window is {} s",
                skew,
                cfg.clock_window.as_secs()
            ),
        ));
    }
    Ok(Signed {
        key,
        ts,
        nonce,
        source: None,
    })
}

/// Checks the four signature headers, the Ed25519ph signature (PROTOCOL §3) and the
/// clock (`Roster-Ts` within the window around `now`). Writes nothing.
pub fn verify_signed(
    cfg: &HandlerConfig,
    now: Timestamp,
    subject: &str,
    headers: Option<&HeaderMap>,
    body: &[u8],
) -> Result<Signed, ApiError> {
    let missing =
        |h: &str| ApiError::new(ErrorCode::InvalidSignature, format!("missing {h} header"));
    let key_hex = header(headers, wire::HDR_KEY).ok_or_else(|| missing(wire::HDR_KEY))?;
    let ts_s = header(headers, wire::HDR_TS).ok_or_else(|| missing(wire::HDR_TS))?;
    let nonce_s = header(headers, wire::HDR_NONCE).ok_or_else(|| missing(wire::HDR_NONCE))?;
    let sig = header(headers, wire::HDR_SIG).ok_or_else(|| missing(wire::HDR_SIG))?;
    let ts: i64 = ts_s
        .parse()
        .ok()
        .filter(|_| !ts_s.starts_with('+') && ts_s.len() <= 16)
        .ok_or_else(|| ApiError::bad_request("Roster-Ts must be Unix milliseconds"))?;
    let nonce = Nonce::parse(nonce_s)?;
    let msg = crypto::signed_bytes(subject, ts_s, nonce_s, body);
    let key = crypto::verify_request(key_hex, &msg, sig).map_err(|e| match e {
        crypto::SignatureCheck::BadKey(why) => {
            ApiError::bad_request(format!("{}: {why}", wire::HDR_KEY))
        }
        crypto::SignatureCheck::BadSignature => bad_signature(),
    })?;
    // verify_request refused weak and malformed keys: the bytes are a checked key.
    let key = SignKey::from_checked(key).ok_or_else(bad_signature)?;
    check_clock(cfg, now, key, ts, nonce)
}
