//! Secrets held as typed tokens (`inv_`, `cek_`, `cak_`), checked when parsed.

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

/// A secret of kind `K`, checked for prefix, length and checksum when parsed.
pub struct Token<K: TokenKind>(crate::crypto::Secret, std::marker::PhantomData<K>);

/// An invite token.
pub type InviteToken = Token<InviteKind>;
/// A site enrollment key.
pub type EnrollmentKey = Token<EnrollmentKind>;
/// A machine credential.
pub type Credential = Token<CredentialKind>;

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
