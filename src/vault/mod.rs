//! The credential vault's keys at work (PROTOCOL §10): where key-encryption keys come
//! from ([`KeyProvider`], today the key file: [`FileKeyProvider`]), and the envelope
//! steps the handlers run ([`Vault`]): a holder's data key made on first use and
//! stored wrapped, a value encrypted or decrypted under it, every data key rewrapped
//! under the newest KEK.
//!
//! - `keyfile`: the 0600 JSON key file (`roster vault init`, `rotate-kek`).
//!
//! Plaintext values and unwrapped keys exist only in this process, in `Zeroizing`
//! buffers, for the length of one request.

mod keyfile;

pub use keyfile::{KeyFile, KeyFileError};

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use futures::future::BoxFuture;
use zeroize::Zeroizing;

use crate::crypto::{self, Boxed, CredentialKex, DataKey, Sealed};
use crate::domain::{CredentialHolder, CredentialId};
use crate::store::records::{DataKeyRecord, SCHEMA_V};
use crate::store::{Store, StoreError};

/// Why a vault step failed. Never carries a key or a value.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The KEK source could not be used (the key file could not be re-read, a transit
    /// service did not answer).
    #[error("key provider unavailable: {0}")]
    Provider(String),
    /// A data key is wrapped under a KEK version the provider does not have.
    #[error("no key-encryption key of version {0}")]
    UnknownKek(u32),
    /// The holder has no data key any more (a deleted user's): its values are gone.
    #[error("the data key of {0} is gone")]
    DataKeyGone(String),
    /// A wrapped key or a value did not open, or a seal failed.
    #[error(transparent)]
    Crypto(#[from] crypto::VaultCryptoError),
    /// A sealed value did not open (wrong key, wrong associated data, tampering).
    #[error("{0}")]
    Sealed(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where key-encryption keys live. The file provider holds them in memory; a transit
/// service (OpenBao, Vault's transit engine) would wrap and unwrap remotely, which is
/// why these calls are futures. Versions only grow: a data key names the version that
/// wrapped it.
pub trait KeyProvider: Send + Sync + fmt::Debug {
    /// The version new wraps use.
    fn newest_version(&self) -> u32;
    /// Wraps `dk` of scope `label` under the newest KEK; the version used and the box.
    fn wrap<'a>(
        &'a self,
        label: &'a str,
        dk: &'a DataKey,
    ) -> BoxFuture<'a, Result<(u32, Boxed), VaultError>>;
    /// Unwraps the data key of scope `label` wrapped under KEK `version`.
    fn unwrap<'a>(
        &'a self,
        label: &'a str,
        version: u32,
        wrapped: &'a Boxed,
    ) -> BoxFuture<'a, Result<DataKey, VaultError>>;
    /// Picks up KEK versions added since start (`roster vault rotate-kek`); the newest.
    fn refresh(&self) -> BoxFuture<'_, Result<u32, VaultError>>;
}

/// KEKs from the key file (re-read on [`KeyProvider::refresh`] and when a data key names
/// a version this process has not seen).
#[derive(Debug)]
pub struct FileKeyProvider {
    path: PathBuf,
    file: RwLock<KeyFile>,
}

impl FileKeyProvider {
    /// Loads the key file at `path`.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        Ok(Self {
            file: RwLock::new(KeyFile::load(path)?),
            path: path.to_owned(),
        })
    }

    fn current(&self) -> Result<KeyFile, VaultError> {
        self.file
            .read()
            .map(|f| f.clone())
            .map_err(|_| VaultError::Provider("key file lock poisoned".into()))
    }

    fn reload(&self) -> Result<u32, VaultError> {
        let fresh = KeyFile::load(&self.path).map_err(|e| VaultError::Provider(e.to_string()))?;
        let newest = fresh.newest().map_or(0, |k| k.version);
        let mut f = self
            .file
            .write()
            .map_err(|_| VaultError::Provider("key file lock poisoned".into()))?;
        *f = fresh;
        Ok(newest)
    }
}

impl KeyProvider for FileKeyProvider {
    fn newest_version(&self) -> u32 {
        self.current()
            .ok()
            .and_then(|f| f.newest().map(|k| k.version))
            .unwrap_or(0)
    }

    fn wrap<'a>(
        &'a self,
        label: &'a str,
        dk: &'a DataKey,
    ) -> BoxFuture<'a, Result<(u32, Boxed), VaultError>> {
        Box::pin(async move {
            let f = self.current()?;
            let kek = f
                .newest()
                .ok_or_else(|| VaultError::Provider("the key file holds no KEK".into()))?;
            Ok((kek.version, crypto::wrap_data_key(kek, label, dk)?))
        })
    }

    fn unwrap<'a>(
        &'a self,
        label: &'a str,
        version: u32,
        wrapped: &'a Boxed,
    ) -> BoxFuture<'a, Result<DataKey, VaultError>> {
        Box::pin(async move {
            let mut f = self.current()?;
            if f.kek(version).is_none() {
                // Another worker may have wrapped under a version added since we started.
                self.reload()?;
                f = self.current()?;
            }
            let kek = f.kek(version).ok_or(VaultError::UnknownKek(version))?;
            Ok(crypto::unwrap_data_key(kek, label, wrapped)?)
        })
    }

    fn refresh(&self) -> BoxFuture<'_, Result<u32, VaultError>> {
        Box::pin(async move { self.reload() })
    }
}

/// What a rewrap did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewrapped {
    /// The KEK version every data key is now wrapped under.
    pub kek_version: u32,
    /// Data keys there are.
    pub data_keys: usize,
    /// Data keys this run rewrapped (the others already were under it).
    pub rewrapped: usize,
}

/// The vault's keys: the KEK provider and the workers' `credential_kex`.
#[derive(Debug, Clone)]
pub struct Vault {
    provider: Arc<dyn KeyProvider>,
    kex: CredentialKex,
}

impl Vault {
    /// The vault of the key file at `path`.
    pub fn from_key_file(path: &Path) -> Result<Self, KeyFileError> {
        let provider = FileKeyProvider::load(path)?;
        let kex = provider
            .file
            .read()
            .map(|f| f.credential_kex().clone())
            .map_err(|_| KeyFileError::Format {
                path: path.to_owned(),
                why: "lock poisoned".into(),
            })?;
        Ok(Self::new(Arc::new(provider), kex))
    }

    /// A vault of any provider.
    pub fn new(provider: Arc<dyn KeyProvider>, kex: CredentialKex) -> Self {
        Self { provider, kex }
    }

    /// The `credential_kex` public key, hex (announced in `$SRV.INFO`).
    pub fn credential_kex_hex(&self) -> String {
        hex::encode(self.kex.public())
    }

    /// Opens a value a client sealed to `credential_kex`, bound to `ad`.
    pub fn open_in(&self, sealed: &Sealed, ad: &str) -> Result<Zeroizing<String>, VaultError> {
        self.kex.open_in(sealed, ad).map_err(VaultError::Sealed)
    }

    /// Encrypts `value` of credential `id` under `holder`'s data key, making and storing
    /// that key (wrapped) on first use.
    pub async fn encrypt(
        &self,
        store: &Store,
        holder: &CredentialHolder,
        id: &CredentialId,
        value: &str,
        now: &str,
    ) -> Result<Boxed, VaultError> {
        let dk = match self.data_key(store, holder).await {
            Ok(dk) => dk,
            Err(VaultError::DataKeyGone(_)) => self.new_data_key(store, holder, now).await?,
            Err(e) => return Err(e),
        };
        Ok(crypto::encrypt_value(&dk, id.as_str(), value)?)
    }

    /// Decrypts credential `id`'s value under `holder`'s data key.
    pub async fn decrypt(
        &self,
        store: &Store,
        holder: &CredentialHolder,
        id: &CredentialId,
        boxed: &Boxed,
    ) -> Result<Zeroizing<String>, VaultError> {
        let dk = self.data_key(store, holder).await?;
        Ok(crypto::decrypt_value(&dk, id.as_str(), boxed)?)
    }

    /// `holder`'s data key, unwrapped; `DataKeyGone` when it has none.
    async fn data_key(
        &self,
        store: &Store,
        holder: &CredentialHolder,
    ) -> Result<DataKey, VaultError> {
        let rec = store
            .data_key(holder)
            .await?
            .ok_or_else(|| VaultError::DataKeyGone(holder.label()))?;
        self.provider
            .unwrap(&rec.value.label, rec.value.kek_version, &rec.value.wrapped)
            .await
    }

    /// Makes `holder`'s data key; if another worker made one first, that one.
    async fn new_data_key(
        &self,
        store: &Store,
        holder: &CredentialHolder,
        now: &str,
    ) -> Result<DataKey, VaultError> {
        let dk = DataKey::generate();
        let label = holder.label();
        let (kek_version, wrapped) = self.provider.wrap(&label, &dk).await?;
        let rec = DataKeyRecord {
            v: SCHEMA_V,
            label,
            kek_version,
            wrapped,
            created_at: now.to_owned(),
            rewrapped_at: None,
        };
        let stored = store.create_data_key(holder, rec).await?;
        self.provider
            .unwrap(
                &stored.value.label,
                stored.value.kek_version,
                &stored.value.wrapped,
            )
            .await
    }

    /// Rewraps every data key under the newest KEK (re-reading the key file first),
    /// touching no value: each key is unwrapped and wrapped again, a CAS at the revision
    /// read (a key changed meanwhile is read again). Safe to run again, or on several
    /// workers at once.
    pub async fn rewrap_all(&self, store: &Store, now: &str) -> Result<Rewrapped, VaultError> {
        let newest = self.provider.refresh().await?;
        let holders = store.data_key_holders().await?;
        let mut rewrapped = 0;
        for holder in &holders {
            loop {
                let Some(cur) = store.data_key(holder).await? else {
                    break;
                };
                if cur.value.kek_version == newest {
                    break;
                }
                let dk = self
                    .provider
                    .unwrap(&cur.value.label, cur.value.kek_version, &cur.value.wrapped)
                    .await?;
                let (kek_version, wrapped) = self.provider.wrap(&cur.value.label, &dk).await?;
                let next = DataKeyRecord {
                    kek_version,
                    wrapped,
                    rewrapped_at: Some(now.to_owned()),
                    ..cur.value.clone()
                };
                if store.rewrap_data_key(holder, cur.revision, &next).await? {
                    rewrapped += 1;
                    break;
                }
            }
        }
        Ok(Rewrapped {
            kek_version: newest,
            data_keys: holders.len(),
            rewrapped,
        })
    }
}
