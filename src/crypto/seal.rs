//! Sealing a secret to an X25519 key (PROTOCOL §4 and §10): a fresh X25519 ephemeral
//! key, HKDF-SHA256 over the shared secret (salt: both public keys, ephemeral first),
//! ChaCha20-Poly1305 with the purpose's associated data. One construction, three uses,
//! told apart by the HKDF info ([`SealPurpose`]): a machine credential (AD: the machine
//! id), a vault value on its way in (AD: `{scope}/{owner or tenant}/{provider}/{name}`)
//! and a revealed value on its way out (AD: the credential id).

use std::fmt;

use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use x25519_dalek::{PublicKey as XPublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::keys::{KeyPairs, PublicKeyBytes};

/// A secret sealed to an X25519 key, all hex. Its `Debug` leaves the ciphertext out: it
/// is the secret to whoever holds the recipient's key.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    /// The ephemeral X25519 public key.
    pub epk: String,
    /// The 12-byte ChaCha20-Poly1305 nonce.
    pub nonce: String,
    /// The sealed secret with its tag.
    pub ciphertext: String,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("epk", &self.epk)
            .field("nonce", &self.nonce)
            .field("ciphertext", &format_args!("[redacted]"))
            .finish()
    }
}

/// What a sealed secret is for: the HKDF info that keeps the three uses apart (a value
/// sealed for one never opens as another).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealPurpose {
    /// A machine's `cak_` credential to its agent (PROTOCOL §4).
    MachineCredential,
    /// A vault value from a client to the worker's `credential_kex` (PROTOCOL §10).
    CredentialIn,
    /// A revealed vault value from the worker to the requester's `kex_pub` (§10).
    CredentialOut,
}

impl SealPurpose {
    fn info(self) -> &'static [u8] {
        match self {
            SealPurpose::MachineCredential => b"roster-v1 credential",
            SealPurpose::CredentialIn => b"roster-v1 credential-in",
            SealPurpose::CredentialOut => b"roster-v1 credential-out",
        }
    }
}

fn seal_key(
    purpose: SealPurpose,
    shared: &[u8; 32],
    epk: &[u8; 32],
    recipient: &[u8; 32],
) -> Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(epk);
    salt[32..].copy_from_slice(recipient);
    let hk = hkdf::Hkdf::<Sha256>::new(Some(&salt), shared);
    let mut key = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's limit; expand cannot fail.
    let _ = hk.expand(purpose.info(), key.as_mut());
    key
}

/// Seals `plaintext` to `agent_kex` with a fresh ephemeral key and nonce (PROTOCOL §4).
pub fn seal_credential(
    plaintext: &str,
    agent_kex: &PublicKeyBytes,
    machine_id: &str,
) -> Result<Sealed, String> {
    seal(
        SealPurpose::MachineCredential,
        plaintext,
        agent_kex,
        machine_id,
    )
}

/// Seals `plaintext` to `recipient` for `purpose`, bound to `ad`, with a fresh
/// ephemeral key and nonce.
pub(super) fn seal(
    purpose: SealPurpose,
    plaintext: &str,
    recipient: &PublicKeyBytes,
    ad: &str,
) -> Result<Sealed, String> {
    let eph = StaticSecret::random_from_rng(OsRng);
    let mut nonce = [0u8; 12];
    OsRng.fill_bytes(&mut nonce);
    seal_with(purpose, plaintext, recipient, ad, &eph, &nonce)
}

fn seal_with(
    purpose: SealPurpose,
    plaintext: &str,
    recipient: &PublicKeyBytes,
    ad: &str,
    eph: &StaticSecret,
    nonce: &[u8; 12],
) -> Result<Sealed, String> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let epk = XPublicKey::from(eph).to_bytes();
    let shared = eph.diffie_hellman(&XPublicKey::from(*recipient));
    if !shared.was_contributory() {
        return Err("the recipient key is a low-order point".into());
    }
    let key = seal_key(purpose, shared.as_bytes(), &epk, recipient);
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(key.as_ref().into());
    let ct = cipher
        .encrypt(
            nonce.into(),
            Payload {
                msg: plaintext.as_bytes(),
                aad: ad.as_bytes(),
            },
        )
        .map_err(|_| "encryption failed".to_string())?;
    Ok(Sealed {
        epk: hex::encode(epk),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ct),
    })
}

impl KeyPairs {
    /// Opens a credential sealed to this identity's X25519 key.
    pub fn open_credential(
        &self,
        sealed: &Sealed,
        machine_id: &str,
    ) -> Result<Zeroizing<String>, String> {
        open(
            SealPurpose::MachineCredential,
            &self.kex,
            sealed,
            machine_id,
        )
    }

    /// Opens a revealed vault value (PROTOCOL §10) sealed to this identity's X25519 key.
    pub fn open_revealed(
        &self,
        sealed: &Sealed,
        credential_id: &str,
    ) -> Result<Zeroizing<String>, String> {
        open(SealPurpose::CredentialOut, &self.kex, sealed, credential_id)
    }
}

/// Opens `sealed` with the recipient's X25519 secret, for `purpose`, bound to `ad`.
pub(super) fn open(
    purpose: SealPurpose,
    kex: &StaticSecret,
    sealed: &Sealed,
    ad: &str,
) -> Result<Zeroizing<String>, String> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let mut epk = [0u8; 32];
    let mut nonce = [0u8; 12];
    hex::decode_to_slice(&sealed.epk, &mut epk).map_err(|_| "bad epk")?;
    hex::decode_to_slice(&sealed.nonce, &mut nonce).map_err(|_| "bad nonce")?;
    let ct = hex::decode(&sealed.ciphertext).map_err(|_| "bad ciphertext")?;
    let shared = kex.diffie_hellman(&XPublicKey::from(epk));
    if !shared.was_contributory() {
        return Err("epk is a low-order point".into());
    }
    let own = XPublicKey::from(kex).to_bytes();
    let key = seal_key(purpose, shared.as_bytes(), &epk, &own);
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(key.as_ref().into());
    let pt = cipher
        .decrypt(
            (&nonce).into(),
            Payload {
                msg: &ct,
                aad: ad.as_bytes(),
            },
        )
        .map_err(|_| "the sealed value does not open with this key".to_string())?;
    super::vault::utf8(pt)
}

#[cfg(test)]
#[path = "seal_test.rs"]
mod tests;
