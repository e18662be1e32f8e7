//! Ed25519ph request signatures (PROTOCOL §3): the bytes a signature covers, signing, and
//! the one verification the worker accepts.

use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha512};

use super::keys::{KeyPairs, PublicKeyBytes};

/// Domain-separation tag of signed requests (PROTOCOL §3).
pub const SIGNING_TAG: &str = "roster-v1";

/// The exact bytes a request signature covers: `roster-v1\n{subject}\n{ts}\n{nonce}\n{body}`.
pub fn signed_bytes(subject: &str, ts: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(SIGNING_TAG.len() + subject.len() + ts.len() + 40 + body.len());
    out.extend_from_slice(SIGNING_TAG.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(subject.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(ts.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(nonce.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

/// Why a signed request's key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// The key is not 64 lowercase hex, not a point, or weak.
    BadKey(String),
    /// The signature is malformed or does not verify.
    BadSignature,
}

/// Checks a request signature (PROTOCOL §3): `key_hex` must be 64 lowercase hex
/// characters of a valid, non-weak Ed25519 key, and `sig_hex` an Ed25519ph signature
/// (RFC 8032 §5.1, SHA-512 prehash, empty context) of `msg`, checked by ed25519-dalek's
/// `verify_prehashed_strict` and nothing else. A pure Ed25519 signature of the same
/// bytes is refused: the key is also a NATS nkey, and NATS clients sign any connect
/// nonce a server sends with pure Ed25519.
/// Returns the signer's key, checked.
pub fn verify_request(
    key_hex: &str,
    msg: &[u8],
    sig_hex: &str,
) -> Result<PublicKeyBytes, SignatureCheck> {
    let mut raw = [0u8; 32];
    let lower = key_hex.len() == 64
        && key_hex
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
    if !lower || hex::decode_to_slice(key_hex, &mut raw).is_err() {
        return Err(SignatureCheck::BadKey(
            "signing key must be 64 lowercase hex characters".into(),
        ));
    }
    let vk = VerifyingKey::from_bytes(&raw)
        .ok()
        .filter(|k| !k.is_weak())
        .ok_or_else(|| {
            SignatureCheck::BadKey("signing key is not a valid, non-weak Ed25519 public key".into())
        })?;
    let mut sig = [0u8; 64];
    if sig_hex.len() != 128 || hex::decode_to_slice(sig_hex, &mut sig).is_err() {
        return Err(SignatureCheck::BadSignature);
    }
    let sig = ed25519_dalek::Signature::from_bytes(&sig);
    vk.verify_prehashed_strict(Sha512::new().chain_update(msg), None, &sig)
        .map(|()| raw)
        .map_err(|_| SignatureCheck::BadSignature)
}

impl KeyPairs {
    /// Signs `msg` with Ed25519ph (SHA-512 prehash, empty context), the only kind of
    /// signature roster requests carry (PROTOCOL §3); returns it as lowercase hex.
    pub fn sign_hex(&self, msg: &[u8]) -> String {
        match self
            .sign
            .sign_prehashed(Sha512::new().chain_update(msg), None)
        {
            Ok(sig) => hex::encode(sig.to_bytes()),
            // Only a context over 255 bytes can fail, and there is none.
            Err(_) => unreachable_prehash(),
        }
    }
}

#[cold]
fn unreachable_prehash() -> String {
    panic!("Ed25519ph signing failed without a context")
}

#[cfg(test)]
#[path = "sign_test.rs"]
mod tests;
