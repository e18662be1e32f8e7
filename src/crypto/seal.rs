//! The credential sealing of PROTOCOL §4: a fresh X25519 ephemeral key, HKDF-SHA256 over
//! the shared secret (salt: both public keys), ChaCha20-Poly1305 with the machine id as
//! associated data.

use std::fmt;

use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use x25519_dalek::{PublicKey as XPublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::keys::{KeyPairs, PublicKeyBytes};

/// A credential sealed to an agent's X25519 key (PROTOCOL §4), all hex. Its `Debug`
/// leaves the ciphertext out: it is the credential to whoever holds the agent's key.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    /// The ephemeral X25519 public key.
    pub epk: String,
    /// The 12-byte ChaCha20-Poly1305 nonce.
    pub nonce: String,
    /// The sealed credential with its tag.
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

fn credential_key(shared: &[u8; 32], epk: &[u8; 32], agent_kex: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(epk);
    salt[32..].copy_from_slice(agent_kex);
    let hk = hkdf::Hkdf::<Sha256>::new(Some(&salt), shared);
    let mut key = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's limit; expand cannot fail.
    let _ = hk.expand(b"roster-v1 credential", key.as_mut());
    key
}

/// Seals `plaintext` to `agent_kex` with a fresh ephemeral key and nonce.
pub fn seal_credential(
    plaintext: &str,
    agent_kex: &PublicKeyBytes,
    machine_id: &str,
) -> Result<Sealed, String> {
    let eph = StaticSecret::random_from_rng(OsRng);
    let mut nonce = [0u8; 12];
    OsRng.fill_bytes(&mut nonce);
    seal_with(plaintext, agent_kex, machine_id, &eph, &nonce)
}

fn seal_with(
    plaintext: &str,
    agent_kex: &PublicKeyBytes,
    machine_id: &str,
    eph: &StaticSecret,
    nonce: &[u8; 12],
) -> Result<Sealed, String> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let epk = XPublicKey::from(eph).to_bytes();
    let shared = eph.diffie_hellman(&XPublicKey::from(*agent_kex));
    if !shared.was_contributory() {
        return Err("agent_kex is a low-order point".into());
    }
    let key = credential_key(shared.as_bytes(), &epk, agent_kex);
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(key.as_ref().into());
    let ct = cipher
        .encrypt(
            nonce.into(),
            Payload {
                msg: plaintext.as_bytes(),
                aad: machine_id.as_bytes(),
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
        open_credential(&self.kex, sealed, machine_id)
    }
}

fn open_credential(
    kex: &StaticSecret,
    sealed: &Sealed,
    machine_id: &str,
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
    let key = credential_key(shared.as_bytes(), &epk, &own);
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(key.as_ref().into());
    let pt = cipher
        .decrypt(
            (&nonce).into(),
            Payload {
                msg: &ct,
                aad: machine_id.as_bytes(),
            },
        )
        .map_err(|_| "the credential does not open with this key".to_string())?;
    String::from_utf8(pt)
        .map(Zeroizing::new)
        .map_err(|_| "credential is not UTF-8".into())
}

#[cfg(test)]
#[path = "seal_test.rs"]
mod tests;
