//! Public keys: Ed25519 signing keys and X25519 key-exchange keys, checked for weak and
//! low-order points, and the typed views of a key pair.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{err, ParseError};
use crate::crypto;

fn parse_hex32(s: &str, what: &str) -> Result<[u8; 32], ParseError> {
    if s.len() != 64
        || !s
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return Err(err(format!("{what} must be 64 lowercase hex characters")));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| err(format!("{what} is not valid hex")))?;
    Ok(out)
}

/// An Ed25519 public key that is canonical and not of small order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SignKey([u8; 32]);

impl SignKey {
    /// Parses 64 lowercase hex characters and refuses weak (small-order) keys.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let bytes = parse_hex32(s, "signing key")?;
        Self::from_bytes(bytes)
    }
    /// Checks raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, ParseError> {
        if !crypto::is_acceptable_sign_key(&bytes) {
            return Err(err(
                "signing key is not a valid, non-weak Ed25519 public key",
            ));
        }
        Ok(Self(bytes))
    }
    /// Wraps bytes `crypto` has already checked.
    pub(crate) fn from_checked(bytes: [u8; 32]) -> Option<Self> {
        Some(Self(bytes))
    }
    /// The raw key.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}
impl TryFrom<String> for SignKey {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<SignKey> for String {
    fn from(k: SignKey) -> String {
        k.to_hex()
    }
}
impl fmt::Debug for SignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignKey({})", self.to_hex())
    }
}
impl fmt::Display for SignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// An X25519 public key that is not a low-order point.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KexKey([u8; 32]);

impl KexKey {
    /// Parses 64 lowercase hex characters and refuses low-order points.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let bytes = parse_hex32(s, "key-exchange key")?;
        Self::from_bytes(bytes)
    }
    /// Checks raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, ParseError> {
        if !crypto::is_contributory_kex_key(&bytes) {
            return Err(err("key-exchange key is a low-order X25519 point"));
        }
        Ok(Self(bytes))
    }
    /// The raw key.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}
impl TryFrom<String> for KexKey {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<KexKey> for String {
    fn from(k: KexKey) -> String {
        k.to_hex()
    }
}
impl fmt::Debug for KexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KexKey({})", self.to_hex())
    }
}

// Typed views of what `crypto` computes on raw bytes (crypto sits below domain).

impl crypto::KeyPairs {
    /// The signing public key. A key derived from a real seed is never weak.
    pub fn sign_pub(&self) -> SignKey {
        SignKey(*self.sign_pub_bytes())
    }
    /// The key-exchange public key.
    pub fn kex_pub(&self) -> Result<KexKey, ParseError> {
        KexKey::from_bytes(*self.kex_pub_bytes())
    }
}
