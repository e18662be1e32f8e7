//! The credential vault's keys (PROTOCOL §10): envelope encryption and the worker's
//! `credential_kex`.
//!
//! - A [`DataKey`] (32 random bytes) per user, per tenant and for the system scope
//!   encrypts that scope's values: XChaCha20-Poly1305, a random 24-byte nonce per value,
//!   the credential id as associated data (a ciphertext moved to another record does not
//!   open).
//! - A data key is stored wrapped by a versioned key-encryption key ([`Kek`]):
//!   XChaCha20-Poly1305 again, with associated data naming the data key's scope and the
//!   KEK version (`roster-v1 data-key\n{label}\nv{version}`), so a wrapped key copied to
//!   another scope, or relabelled with another version, does not open.
//! - The [`CredentialKex`] is the worker's X25519 key that clients seal values to.
//!
//! Every secret is in `Zeroizing` and redacted from `Debug`.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::rngs::OsRng;
use rand::RngCore;
use x25519_dalek::{PublicKey as XPublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

use super::keys::PublicKeyBytes;
use super::seal::{self, SealPurpose, Sealed};

/// Why a vault key operation failed. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultCryptoError {
    /// A ciphertext, nonce or key is not well-formed hex of the right length.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The AEAD tag did not verify: wrong key, wrong associated data, or tampering.
    #[error("{0} does not open with this key")]
    DoesNotOpen(&'static str),
    /// Encryption failed (a value too large for the cipher).
    #[error("encryption failed")]
    Encrypt,
}

/// 32 secret bytes, zeroed on drop, redacted in `Debug`.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

impl SecretKey {
    /// 32 fresh bytes from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(k.as_mut());
        SecretKey(k)
    }

    /// From 64 hex characters.
    pub fn from_hex(text: &str) -> Result<Self, VaultCryptoError> {
        let mut k = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), k.as_mut())
            .map_err(|_| VaultCryptoError::Malformed("key"))?;
        Ok(SecretKey(k))
    }

    /// The key as 64 hex characters (for the key file only).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_ref()))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.0.as_ref().into())
    }
}

/// A data key: encrypts the values of one scope (a user, a tenant, the system).
pub type DataKey = SecretKey;

/// A key-encryption key of the key file, with its version.
#[derive(Debug, Clone)]
pub struct Kek {
    pub version: u32,
    pub key: SecretKey,
}

/// Bytes sealed with XChaCha20-Poly1305, hex (a wrapped data key, a stored value).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Boxed {
    /// The 24-byte nonce.
    pub nonce: String,
    /// The ciphertext with its tag.
    pub ciphertext: String,
}

impl fmt::Debug for Boxed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Boxed")
            .field("nonce", &self.nonce)
            .field(
                "ciphertext",
                &format_args!("[{} hex]", self.ciphertext.len()),
            )
            .finish()
    }
}

fn encrypt(key: &SecretKey, plaintext: &[u8], ad: &[u8]) -> Result<Boxed, VaultCryptoError> {
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut nonce);
    let ct = key
        .cipher()
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: ad,
            },
        )
        .map_err(|_| VaultCryptoError::Encrypt)?;
    Ok(Boxed {
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ct),
    })
}

fn decrypt(
    key: &SecretKey,
    boxed: &Boxed,
    ad: &[u8],
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>, VaultCryptoError> {
    let mut nonce = [0u8; 24];
    hex::decode_to_slice(&boxed.nonce, &mut nonce)
        .map_err(|_| VaultCryptoError::Malformed("nonce"))?;
    let ct = hex::decode(&boxed.ciphertext).map_err(|_| VaultCryptoError::Malformed(what))?;
    key.cipher()
        .decrypt(XNonce::from_slice(&nonce), Payload { msg: &ct, aad: ad })
        .map(Zeroizing::new)
        .map_err(|_| VaultCryptoError::DoesNotOpen(what))
}

/// The associated data of a data key wrapped under KEK `version` for scope `label`.
fn wrap_ad(label: &str, version: u32) -> Vec<u8> {
    format!("roster-v1 data-key\n{label}\nv{version}").into_bytes()
}

/// Wraps data key `dk` of scope `label` under `kek`.
pub fn wrap_data_key(kek: &Kek, label: &str, dk: &DataKey) -> Result<Boxed, VaultCryptoError> {
    encrypt(&kek.key, dk.0.as_ref(), &wrap_ad(label, kek.version))
}

/// Unwraps the data key of scope `label` that `kek` wrapped.
pub fn unwrap_data_key(
    kek: &Kek,
    label: &str,
    wrapped: &Boxed,
) -> Result<DataKey, VaultCryptoError> {
    let pt = decrypt(&kek.key, wrapped, &wrap_ad(label, kek.version), "data key")?;
    let mut k = Zeroizing::new([0u8; 32]);
    if pt.len() != 32 {
        return Err(VaultCryptoError::Malformed("data key"));
    }
    k.copy_from_slice(&pt);
    Ok(SecretKey(k))
}

/// Encrypts a credential's value under its scope's data key, bound to `credential_id`.
pub fn encrypt_value(
    dk: &DataKey,
    credential_id: &str,
    value: &str,
) -> Result<Boxed, VaultCryptoError> {
    encrypt(dk, value.as_bytes(), credential_id.as_bytes())
}

/// Decrypts a credential's value (the credential id is the associated data).
pub fn decrypt_value(
    dk: &DataKey,
    credential_id: &str,
    boxed: &Boxed,
) -> Result<Zeroizing<String>, VaultCryptoError> {
    let pt = decrypt(dk, boxed, credential_id.as_bytes(), "value")?;
    utf8(pt.to_vec()).map_err(|_| VaultCryptoError::Malformed("value"))
}

/// Bytes as UTF-8, zeroing them when they are not.
pub(super) fn utf8(bytes: Vec<u8>) -> Result<Zeroizing<String>, String> {
    String::from_utf8(bytes).map(Zeroizing::new).map_err(|e| {
        let mut b = e.into_bytes();
        b.zeroize();
        "the value is not UTF-8".to_string()
    })
}

/// The worker's credential key-exchange key (`credential_kex`): clients seal values to
/// its public half, announced in `$SRV.INFO`.
#[derive(Clone)]
pub struct CredentialKex {
    secret: StaticSecret,
    public: PublicKeyBytes,
}

impl fmt::Debug for CredentialKex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialKex")
            .field("public", &hex::encode(self.public))
            .finish_non_exhaustive()
    }
}

impl CredentialKex {
    /// A fresh key pair.
    pub fn generate() -> Self {
        Self::from_secret(SecretKey::generate())
    }

    /// From its 32-byte secret.
    pub fn from_secret(secret: SecretKey) -> Self {
        let secret = StaticSecret::from(*secret.0);
        let public = XPublicKey::from(&secret).to_bytes();
        Self { secret, public }
    }

    /// The secret, for the key file.
    pub fn secret(&self) -> SecretKey {
        SecretKey(Zeroizing::new(self.secret.to_bytes()))
    }

    /// The public key clients seal to.
    pub fn public(&self) -> &PublicKeyBytes {
        &self.public
    }

    /// Opens a value a client sealed to this key (HKDF info `roster-v1 credential-in`),
    /// bound to `ad` (`{scope}/{owner or tenant}/{provider}/{name}`).
    pub fn open_in(&self, sealed: &Sealed, ad: &str) -> Result<Zeroizing<String>, String> {
        seal::open(SealPurpose::CredentialIn, &self.secret, sealed, ad)
    }
}

/// Seals a vault value to the worker's `credential_kex` (a client's side of `create` and
/// `rotate`), bound to `ad`.
pub fn seal_value_in(
    value: &str,
    credential_kex: &PublicKeyBytes,
    ad: &str,
) -> Result<Sealed, String> {
    seal::seal(SealPurpose::CredentialIn, value, credential_kex, ad)
}

/// Seals a revealed value to the requester's `kex_pub`, bound to the credential id.
pub fn seal_value_out(
    value: &str,
    kex_pub: &PublicKeyBytes,
    credential_id: &str,
) -> Result<Sealed, String> {
    seal::seal(SealPurpose::CredentialOut, value, kex_pub, credential_id)
}

#[cfg(test)]
#[path = "vault_test.rs"]
mod tests;
