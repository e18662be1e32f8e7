//! Identifiers: request nonces, invite ids, machine uids and machine ids.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{err, ParseError, SignKey};
use crate::crypto;

/// A request nonce: 16 bytes, 32 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nonce(String);

impl Nonce {
    /// Parses 32 lowercase hex characters.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.len() != 32
            || !s
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        {
            return Err(err("Roster-Nonce must be 32 lowercase hex characters"));
        }
        Ok(Self(s.to_owned()))
    }
    /// The hex nonce.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of an invite: 32 lowercase hex characters derived from the token's digest,
/// so the token is found with one KV read and the id reveals nothing about the token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InviteId(String);

impl InviteId {
    /// Parses an invite id.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.len() != 32
            || !s
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        {
            return Err(err("invite_id must be 32 lowercase hex characters"));
        }
        Ok(Self(s.to_owned()))
    }
    /// Wraps an id computed by `crypto`.
    pub(crate) fn from_trusted(s: String) -> Self {
        Self(s)
    }
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for InviteId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<InviteId> for String {
    fn from(i: InviteId) -> String {
        i.0
    }
}
impl fmt::Display for InviteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A machine's stable id from its installer: 1-128 characters of `A-Za-z0-9._:-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MachineUid(String);

impl MachineUid {
    /// Parses a machine uid.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok = (1..=128).contains(&s.len())
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"._:-".contains(&c));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(err(
                "machine_uid must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'",
            ))
        }
    }
    /// The uid.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for MachineUid {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<MachineUid> for String {
    fn from(u: MachineUid) -> String {
        u.0
    }
}

/// A machine id: `m-` and 32 lowercase hex characters, derived from the agent key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MachineId(String);

impl MachineId {
    /// Parses a machine id.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok = s.len() == 34
            && s.starts_with("m-")
            && s[2..]
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(err(
                "machine_id must be 'm-' and 32 lowercase hex characters",
            ))
        }
    }
    pub(crate) fn from_trusted(s: String) -> Self {
        Self(s)
    }
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for MachineId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<MachineId> for String {
    fn from(m: MachineId) -> String {
        m.0
    }
}
impl fmt::Display for MachineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl InviteId {
    /// The invite id of a token (see `crypto::invite_id_hex`).
    pub fn for_token(token: &crypto::Secret) -> Self {
        Self::from_trusted(crypto::invite_id_hex(token))
    }
}

impl MachineId {
    /// The machine id of an agent key (see `crypto::machine_id_text`).
    pub fn for_agent(agent_pub: &SignKey) -> Self {
        Self::from_trusted(crypto::machine_id_text(agent_pub.bytes()))
    }
}

/// An API key's id (PROTOCOL §9): 16 lowercase hex characters, carried in its `rak_`
/// secret so the record is found without a slow hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ApiKeyId(String);

impl ApiKeyId {
    /// Parses a key id.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if crate::crypto::is_api_key_id(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(err("key_id must be 16 lowercase hex characters"))
        }
    }
    /// Wraps an id taken from a checked `rak_` secret.
    pub(crate) fn from_trusted(s: &str) -> Self {
        Self(s.to_owned())
    }
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for ApiKeyId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<ApiKeyId> for String {
    fn from(i: ApiKeyId) -> String {
        i.0
    }
}
impl fmt::Display for ApiKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
