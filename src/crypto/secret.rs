//! The secrets the worker mints (PROTOCOL §2): `inv_`, `cek_`, `cak_` and `rak_` texts of
//! 32 random bytes with a checksum (an API key also carries its key id, §9), and what is derived from one (its stored digest, the
//! invite id, the fingerprint). A secret redacts itself in `Debug`; so does the text of
//! one in a reply ([`Redacted`]).

use std::fmt;

use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::base32;
use super::digest::sha256_hex;

/// A secret's text did not parse (wrong prefix, length, alphabet or checksum).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedSecret(pub String);

/// The kinds of secret the worker mints (PROTOCOL §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// An invite token.
    Invite,
    /// A site enrollment key.
    Enrollment,
    /// A machine credential.
    Credential,
    /// An API key: `rak_`, its 16-hex key id, then the secret (PROTOCOL §9).
    ApiKey,
}

impl SecretKind {
    const ALL: [SecretKind; 4] = [
        SecretKind::Invite,
        SecretKind::Enrollment,
        SecretKind::Credential,
        SecretKind::ApiKey,
    ];

    /// The string every secret of this kind starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::Invite => "inv_",
            SecretKind::Enrollment => "cek_",
            SecretKind::Credential => "cak_",
            SecretKind::ApiKey => "rak_",
        }
    }
    fn name(self) -> &'static str {
        match self {
            SecretKind::Invite => "invite token",
            SecretKind::Enrollment => "enrollment key",
            SecretKind::Credential => "machine credential",
            SecretKind::ApiKey => "API key",
        }
    }

    /// How many characters after the prefix name the secret (an API key's key id) before
    /// its random part.
    fn id_len(self) -> usize {
        match self {
            SecretKind::ApiKey => API_KEY_ID_LEN,
            _ => 0,
        }
    }
}

/// Length of an API key's key id: 16 lowercase hex characters (8 random bytes).
pub const API_KEY_ID_LEN: usize = 16;

const SECRET_LEN: usize = 32;
const CHECK_LEN: usize = 4;
/// Length of the part after the prefix: base32 of 32 random bytes plus a 4-byte checksum.
const ENCODED_LEN: usize = ((SECRET_LEN + CHECK_LEN) * 8).div_ceil(5);

/// A minted secret. It redacts itself in `Debug` and zeroes on drop.
pub struct Secret {
    kind: SecretKind,
    text: Zeroizing<String>,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({}<redacted>)", self.kind.prefix())
    }
}

impl Secret {
    /// Mints a new secret of `kind`: 32 bytes from the OS CSPRNG, with checksum.
    pub fn mint(kind: SecretKind) -> Self {
        let id = match kind {
            SecretKind::ApiKey => {
                let mut id = [0u8; API_KEY_ID_LEN / 2];
                OsRng.fill_bytes(&mut id);
                hex::encode(id)
            }
            _ => String::new(),
        };
        Self::mint_with_id(kind, &id)
    }

    /// Mints a new API key for the existing key id `key_id` (a roll keeps the id).
    pub fn mint_api_key(key_id: &str) -> Result<Self, MalformedSecret> {
        if !is_api_key_id(key_id) {
            return Err(MalformedSecret("malformed API key id".into()));
        }
        Ok(Self::mint_with_id(SecretKind::ApiKey, key_id))
    }

    fn mint_with_id(kind: SecretKind, id: &str) -> Self {
        let mut raw = Zeroizing::new([0u8; SECRET_LEN]);
        OsRng.fill_bytes(raw.as_mut());
        let mut buf = Zeroizing::new(Vec::with_capacity(SECRET_LEN + CHECK_LEN));
        buf.extend_from_slice(raw.as_ref());
        buf.extend_from_slice(&checksum(kind, id, raw.as_ref()));
        let text = format!("{}{id}{}", kind.prefix(), base32::encode(&buf));
        Self {
            kind,
            text: Zeroizing::new(text),
        }
    }

    /// An API key's key id (the 16 hex characters after `rak_`); `None` for other kinds.
    pub fn api_key_id(&self) -> Option<&str> {
        match self.kind {
            SecretKind::ApiKey => self
                .text
                .get(self.kind.prefix().len()..self.kind.prefix().len() + API_KEY_ID_LEN),
            _ => None,
        }
    }

    /// The first 12 characters: an API key's display prefix (`rak_` and the start of its
    /// key id, nothing of the secret).
    pub fn display_prefix(&self) -> &str {
        self.text.get(..12).unwrap_or_default()
    }

    /// Parses a secret as typed by a person or program. A wrong prefix, length, alphabet
    /// or checksum is refused before any lookup.
    pub fn parse(kind: SecretKind, s: &str) -> Result<Self, MalformedSecret> {
        let bad = || {
            MalformedSecret(format!(
                "malformed {} (wrong format or checksum)",
                kind.name()
            ))
        };
        let rest = s.strip_prefix(kind.prefix()).ok_or_else(bad)?;
        let (id, rest) = rest.split_at_checked(kind.id_len()).ok_or_else(bad)?;
        if (kind.id_len() > 0 && !is_api_key_id(id)) || rest.len() != ENCODED_LEN {
            return Err(bad());
        }
        let mut buf = Zeroizing::new(base32::decode(rest).ok_or_else(bad)?);
        if buf.len() < SECRET_LEN + CHECK_LEN {
            return Err(bad());
        }
        buf.truncate(SECRET_LEN + CHECK_LEN);
        let (raw, sum) = buf.split_at(SECRET_LEN);
        if !bool::from(checksum(kind, id, raw).ct_eq(sum)) {
            return Err(bad());
        }
        Ok(Self {
            kind,
            text: Zeroizing::new(s.to_owned()),
        })
    }

    /// The secret text, to be shown once.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// SHA-256 of the secret text, the only form that is ever stored.
    pub fn digest_hex(&self) -> String {
        sha256_hex(self.text.as_bytes())
    }
}

/// True for a well-formed API key id: 16 lowercase hex characters.
pub fn is_api_key_id(id: &str) -> bool {
    id.len() == API_KEY_ID_LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn checksum(kind: SecretKind, id: &str, raw: &[u8]) -> [u8; CHECK_LEN] {
    let mut h = Sha256::new();
    h.update(b"roster-v1 checksum ");
    h.update(kind.prefix().as_bytes());
    h.update(id.as_bytes());
    h.update(raw);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The `Debug` view of a secret's text held as a plain string (a shown-once field of a
/// reply): `"inv_…[redacted]"`, the kind's prefix and never the secret.
#[derive(Clone, Copy)]
pub struct Redacted<'a>(pub &'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = SecretKind::ALL
            .into_iter()
            .map(SecretKind::prefix)
            .find(|p| self.0.starts_with(p))
            .unwrap_or_default();
        write!(f, "\"{prefix}…[redacted]\"")
    }
}

/// The invite id for a token, as 32 hex characters: the first 16 bytes of a
/// domain-separated SHA-256, so the id can be shown and logged while revealing nothing
/// usable about the token.
pub fn invite_id_hex(token: &Secret) -> String {
    let mut h = Sha256::new();
    h.update(b"roster-v1 invite-id\n");
    h.update(token.expose().as_bytes());
    let d = h.finalize();
    hex::encode(&d[..16])
}

/// The short, non-secret fingerprint of a key: 4 upper-case hex characters.
pub fn fingerprint(secret: &Secret) -> String {
    let mut h = Sha256::new();
    h.update(b"roster-v1 fingerprint\n");
    h.update(secret.expose().as_bytes());
    hex::encode_upper(&h.finalize()[..2])
}

#[cfg(test)]
#[path = "secret_test.rs"]
mod tests;
