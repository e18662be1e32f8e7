//! Domain newtypes, parsed once at the edge. Holding a `Handle` means it is valid.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto;

/// Why a value from the outside was refused; the text is safe to show the requester.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err(msg: impl Into<String>) -> ParseError {
    ParseError(msg.into())
}

/// A user handle: `^[a-z0-9][a-z0-9_-]{1,30}[a-z0-9]$`. Also a valid KV key token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Handle(String);

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn check_name(s: &str, what: &str) -> Result<(), ParseError> {
    let b = s.as_bytes();
    let ok = (3..=32).contains(&b.len())
        && is_lower_alnum(b[0])
        && is_lower_alnum(b[b.len() - 1])
        && b.iter()
            .all(|&c| is_lower_alnum(c) || c == b'_' || c == b'-');
    if ok {
        Ok(())
    } else {
        Err(err(format!(
            "{what} must be 3-32 characters of a-z, 0-9, '_' or '-', starting and ending with a letter or digit"
        )))
    }
}

impl Handle {
    /// Parses a handle, refusing upper case, dots, slashes and wrong lengths.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        check_name(s, "handle")?;
        Ok(Self(s.to_owned()))
    }
    /// The handle as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Handle {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<Handle> for String {
    fn from(h: Handle) -> String {
        h.0
    }
}
impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tenant name; follows the handle rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tenant(String);

impl Tenant {
    /// Parses a tenant name.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        check_name(s, "tenant")?;
        Ok(Self(s.to_owned()))
    }
    /// The tenant used when a request names none.
    pub fn default_tenant() -> Self {
        Self("default".to_owned())
    }
    /// The tenant as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Tenant {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<Tenant> for String {
    fn from(t: Tenant) -> String {
        t.0
    }
}

/// A site code: `^[A-Za-z0-9][A-Za-z0-9-]{1,30}[A-Za-z0-9]$`, compared case-insensitively.
/// The canonical form (stored, compared, used in KV keys) is upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SiteCode(String);

impl SiteCode {
    /// Parses a site code and returns its canonical (upper-case) form.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let b = s.as_bytes();
        let ok = (3..=32).contains(&b.len())
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-');
        if !ok {
            return Err(err(
                "site must be 3-32 characters of A-Z, a-z, 0-9 or '-', starting and ending with a letter or digit",
            ));
        }
        Ok(Self(s.to_ascii_uppercase()))
    }
    /// The canonical site code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for SiteCode {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<SiteCode> for String {
    fn from(s: SiteCode) -> String {
        s.0
    }
}

/// A role. Names compare case-insensitively; the canonical form is lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Role {
    /// No admin permission.
    Member,
    /// Reads everything; manages machines and keys at its own sites.
    Operator,
    /// Every permission but changing owners.
    Admin,
    /// Every permission.
    Owner,
}

impl Role {
    /// Parses a role name, case-insensitively.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.to_ascii_lowercase().as_str() {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "member" => Ok(Role::Member),
            _ => Err(err("role must be one of owner, admin, operator, member")),
        }
    }
    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Member => "member",
        }
    }
}
impl TryFrom<String> for Role {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<Role> for String {
    fn from(r: Role) -> String {
        r.as_str().to_owned()
    }
}
impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// Free text for people (host names, display names): 1-128 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Label(String);

impl Label {
    /// Parses a label.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok =
            !s.trim().is_empty() && s.chars().count() <= 128 && !s.chars().any(char::is_control);
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(err("text fields must be 1-128 printable characters"))
        }
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Label {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<Label> for String {
    fn from(l: Label) -> String {
        l.0
    }
}

/// A site's enrollment policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// New machines are active at once (unless their uid collides).
    #[default]
    Auto,
    /// Every new machine waits for an operator's approval.
    Approval,
}

#[cfg(test)]
#[path = "domain_test.rs"]
mod tests;

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

impl From<crypto::MalformedSecret> for ParseError {
    fn from(e: crypto::MalformedSecret) -> Self {
        ParseError(e.0)
    }
}
