//! How records are named in KV: one key type per bucket, so a handler can never put a
//! handle where a machine id belongs, and the `tenant.SITE` and digest formats are
//! written once.

use std::borrow::Cow;

use crate::domain::{Handle, InviteId, MachineId, MachineUid, SignKey, SiteRef, Tenant};

/// A value that names a record in one bucket.
pub trait StoreKey {
    /// The KV key (tokens of `[A-Za-z0-9_=.-]`).
    fn store_key(&self) -> Cow<'_, str>;
}

impl StoreKey for Handle {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.as_str())
    }
}

impl StoreKey for InviteId {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.as_str())
    }
}

impl StoreKey for MachineId {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.as_str())
    }
}

/// The key index is keyed by the signing key's hex.
impl StoreKey for SignKey {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_hex())
    }
}

/// A site: `<tenant>.<SITE>`.
impl StoreKey for SiteRef {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Owned(format!("{}.{}", self.tenant.as_str(), self.site.as_str()))
    }
}

/// A machine uid within its tenant: `<tenant>.<sha256(uid) hex>` (uids may hold
/// characters KV keys do not allow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UidKey(String);

impl UidKey {
    /// A key as the bucket stores it (from a change feed).
    pub(super) fn stored(key: &str) -> Self {
        UidKey(key.to_owned())
    }

    /// The key of `uid` in `tenant`.
    pub fn new(tenant: &Tenant, uid: &MachineUid) -> Self {
        UidKey(format!(
            "{}.{}",
            tenant.as_str(),
            crate::crypto::sha256_hex(uid.as_str().as_bytes())
        ))
    }
}

impl StoreKey for UidKey {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0)
    }
}

/// A machine credential by the hex SHA-256 of its `cak_` text (never the credential).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialDigest(pub String);

impl StoreKey for CredentialDigest {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0)
    }
}

/// A nonce a key used: `<key hex>.<nonce>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceKey(String);

impl NonceKey {
    /// The nonce `nonce` of `key`.
    pub fn new(key: &SignKey, nonce: &str) -> Self {
        NonceKey(format!("{}.{nonce}", key.to_hex()))
    }
}

impl StoreKey for NonceKey {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0)
    }
}

/// The meta bucket's records: the owner guards.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum OwnersKey {
    /// The platform's owners: `owners`.
    Platform,
    /// A tenant's owners: `owners.<tenant>`.
    Tenant(Tenant),
}

impl StoreKey for OwnersKey {
    fn store_key(&self) -> Cow<'_, str> {
        match self {
            OwnersKey::Platform => Cow::Borrowed("owners"),
            OwnersKey::Tenant(t) => Cow::Owned(format!("owners.{}", t.as_str())),
        }
    }
}

/// A role of a tenant: `<tenant>.<role key>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleKey(String);

impl RoleKey {
    /// The key of role `name` in `tenant`.
    pub fn new(tenant: &Tenant, name: &crate::authz::RoleName) -> Self {
        RoleKey(format!("{}.{}", tenant.as_str(), name.key()))
    }
}

impl StoreKey for RoleKey {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0)
    }
}

/// A throttled source by digest: `sha256("roster-v1 throttle-source\n" ‖ source)` in hex
/// (sources are connection tokens, hosts or keys, and may hold characters KV keys do not
/// allow; the digest also keeps them out of key listings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDigest(String);

impl SourceDigest {
    /// The key of `source`.
    pub fn of(source: &str) -> Self {
        let mut text = b"roster-v1 throttle-source\n".to_vec();
        text.extend_from_slice(source.as_bytes());
        SourceDigest(crate::crypto::sha256_hex(&text))
    }
}

impl StoreKey for SourceDigest {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0)
    }
}

/// One security tally: `<window start, unix seconds>.<sha256(action ‖ code ‖ source) hex>`,
/// so every worker names the same (action, code, source) in the same window alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TallyKey {
    window: i64,
    digest: String,
}

impl TallyKey {
    /// The tally of (`action`, `code`, `source`) in the window starting at `window`.
    pub fn new(window: i64, action: &str, code: &str, source: &str) -> Self {
        let text = format!("roster-v1 security-tally\n{action}\n{code}\n{source}");
        TallyKey {
            window,
            digest: crate::crypto::sha256_hex(text.as_bytes()),
        }
    }

    /// The window's start (unix seconds).
    pub fn window(&self) -> i64 {
        self.window
    }

    /// The same tally in the window `secs` later.
    pub fn next(&self, secs: i64) -> Self {
        TallyKey {
            window: self.window + secs,
            digest: self.digest.clone(),
        }
    }
}

impl StoreKey for TallyKey {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Owned(format!("{}.{}", self.window, self.digest))
    }
}

/// A tenant by its slug.
impl StoreKey for Tenant {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.as_str())
    }
}

/// An external customer id's claim: `<erp|stripe>.<sha256 hex>` of
/// `"roster-v1 tenant-claim\n" ‖ field ‖ "\n" ‖ id` (ids may hold characters KV keys do
/// not allow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimKey(String);

impl ClaimKey {
    /// The claim of `id` as a `kind`.
    pub fn new(kind: crate::domain::ExternalIdKind, id: &crate::domain::ExternalId) -> Self {
        let text = format!("roster-v1 tenant-claim\n{}\n{}", kind.field(), id.as_str());
        ClaimKey(format!(
            "{}.{}",
            kind.token(),
            crate::crypto::sha256_hex(text.as_bytes())
        ))
    }
}

impl StoreKey for ClaimKey {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0)
    }
}

/// An API key's record: `<tenant>.<key_id>`, so a tenant's keys page by subject filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyKey(String);

impl ApiKeyKey {
    /// The key of `key_id` in `tenant`.
    pub fn new(tenant: &Tenant, key_id: &crate::domain::ApiKeyId) -> Self {
        ApiKeyKey(format!("{}.{}", tenant.as_str(), key_id.as_str()))
    }
}

impl StoreKey for ApiKeyKey {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0)
    }
}

/// A claim in `roster_apikey_claims`: a key id, or a name in a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyClaimKey(String);

impl ApiKeyClaimKey {
    /// The claim of key id `id` (which tenant holds it).
    pub fn id(id: &crate::domain::ApiKeyId) -> Self {
        ApiKeyClaimKey(format!("id.{}", id.as_str()))
    }
    /// The claim of `name` in `tenant` (names compare case-insensitively).
    pub fn name(tenant: &Tenant, name: &crate::domain::ApiKeyName) -> Self {
        let text = format!("roster-v1 apikey-name\n{}", name.fold());
        ApiKeyClaimKey(format!(
            "name.{}.{}",
            tenant.as_str(),
            crate::crypto::sha256_hex(text.as_bytes())
        ))
    }
}

impl StoreKey for ApiKeyClaimKey {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0)
    }
}

/// A credential by its id.
impl StoreKey for crate::domain::CredentialId {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.as_str())
    }
}

/// A holder's token in vault keys: `u.<handle>`, `t.<tenant>`, `s.system`.
fn holder_prefix(h: &crate::domain::CredentialHolder) -> String {
    use crate::domain::CredentialHolder as H;
    match h {
        H::User(u) => format!("u.{}", u.as_str()),
        H::Tenant(t) => format!("t.{}", t.as_str()),
        H::System => "s.system".to_owned(),
    }
}

/// A holder's data key: `u.<handle>`, `t.<tenant>`, `s.system`.
impl StoreKey for crate::domain::CredentialHolder {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Owned(holder_prefix(self))
    }
}

/// A (provider, name) claim of a holder: `<holder>.<sha256 hex>` of
/// `"roster-v1 credential-name\n" ‖ provider ‖ "\n" ‖ name`, both in lower case (names
/// compare case-insensitively and may hold characters KV keys do not allow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultNameKey(String);

impl VaultNameKey {
    /// The claim of `provider`/`name` by `holder`.
    pub fn new(
        holder: &crate::domain::CredentialHolder,
        provider: &crate::domain::ProviderName,
        name: &crate::domain::CredentialName,
    ) -> Self {
        let text = format!(
            "roster-v1 credential-name\n{}\n{}",
            provider.folded(),
            name.folded()
        );
        VaultNameKey(format!(
            "{}.{}",
            holder_prefix(holder),
            crate::crypto::sha256_hex(text.as_bytes())
        ))
    }

    /// The key filter of every claim of `holder` (`u.alice.>`).
    pub fn filter(holder: &crate::domain::CredentialHolder) -> String {
        format!("{}.>", holder_prefix(holder))
    }
}

impl StoreKey for VaultNameKey {
    fn store_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0)
    }
}
