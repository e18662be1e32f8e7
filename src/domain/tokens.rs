//! Secrets held as typed tokens (`inv_`, `cek_`, `cak_`, `rak_`), checked when parsed.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// Which kind of secret a [`Token`] holds.
pub trait TokenKind {
    /// The secret kind, with its prefix.
    const KIND: crate::crypto::SecretKind;
}

/// Marker: invite tokens (`inv_…`).
#[derive(Debug)]
pub enum InviteKind {}
impl TokenKind for InviteKind {
    const KIND: crate::crypto::SecretKind = crate::crypto::SecretKind::Invite;
}

/// Marker: site enrollment keys (`cek_…`).
#[derive(Debug)]
pub enum EnrollmentKind {}
impl TokenKind for EnrollmentKind {
    const KIND: crate::crypto::SecretKind = crate::crypto::SecretKind::Enrollment;
}

/// Marker: machine credentials (`cak_…`).
#[derive(Debug)]
pub enum CredentialKind {}
impl TokenKind for CredentialKind {
    const KIND: crate::crypto::SecretKind = crate::crypto::SecretKind::Credential;
}

/// Marker: API keys (`rak_…`).
#[derive(Debug)]
pub enum ApiKeyKind {}
impl TokenKind for ApiKeyKind {
    const KIND: crate::crypto::SecretKind = crate::crypto::SecretKind::ApiKey;
}

/// A secret of kind `K`, checked for prefix, length and checksum when parsed.
pub struct Token<K: TokenKind>(crate::crypto::Secret, std::marker::PhantomData<K>);

/// An invite token.
pub type InviteToken = Token<InviteKind>;
/// A site enrollment key.
pub type EnrollmentKey = Token<EnrollmentKind>;
/// A machine credential.
pub type Credential = Token<CredentialKind>;
/// An API key.
pub type ApiKeyToken = Token<ApiKeyKind>;

impl ApiKeyToken {
    /// The key id it carries.
    pub fn key_id(&self) -> super::ApiKeyId {
        // A parsed or minted `rak_` always carries a well-formed id.
        super::ApiKeyId::from_trusted(self.0.api_key_id().unwrap_or_default())
    }
    /// Wraps a freshly minted API key.
    pub fn from_minted(s: crate::crypto::Secret) -> Self {
        Self(s, std::marker::PhantomData)
    }
}

impl<K: TokenKind> fmt::Debug for Token<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<K: TokenKind> Token<K> {
    /// Parses a secret as typed by a person or program.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        crate::crypto::Secret::parse(K::KIND, s)
            .map(|t| Self(t, std::marker::PhantomData))
            .map_err(ParseError::from)
    }
    /// The secret.
    pub fn secret(&self) -> &crate::crypto::Secret {
        &self.0
    }
}

impl<K: TokenKind> Serialize for Token<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose())
    }
}

impl<'de, K: TokenKind> Deserialize<'de> for Token<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = zeroize::Zeroizing::new(String::deserialize(d)?);
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}
