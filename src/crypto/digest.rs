//! Digests and comparisons: SHA-256 as hex, constant-time equality, request nonces, the
//! machine id of an agent key, and the keyed digest of the verified-key cache.

use std::fmt;

use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::keys::PublicKeyBytes;
use super::secret::Secret;

/// 16 random bytes as lowercase hex, for `Roster-Nonce`. A nonce must be unique, not
/// secret: the thread-local CSPRNG (seeded from the OS) saves a syscall per request.
pub fn random_nonce_hex() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Constant-time equality of two strings of equal length (digests).
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The machine id of an agent key: `m-` and the first 16 bytes of a domain-separated
/// SHA-256, so one agent key is one machine and a re-enroll finds it with one read.
pub fn machine_id_text(agent_pub: &PublicKeyBytes) -> String {
    let mut h = Sha256::new();
    h.update(b"roster-v1 machine-id\n");
    h.update(agent_pub);
    format!("m-{}", hex::encode(&h.finalize()[..16]))
}

/// A process-local key for the verified-key cache, so a cache entry is useless outside
/// this process. Held as the HMAC state already keyed (its inner and outer pads
/// absorbed once), which each digest clones: two SHA-256 blocks less per check.
pub struct CacheKey(hmac::Hmac<Sha256>);

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CacheKey(<redacted>)")
    }
}

impl Default for CacheKey {
    fn default() -> Self {
        use hmac::Mac;
        let mut k = zeroize::Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(k.as_mut());
        Self(
            <hmac::Hmac<Sha256> as Mac>::new_from_slice(k.as_ref())
                .unwrap_or_else(|_| unreachable_hmac()),
        )
    }
}

impl CacheKey {
    /// HMAC-SHA256 of `scope` and the secret under this key.
    pub fn digest(&self, scope: &str, secret: &Secret) -> [u8; 32] {
        use hmac::Mac;
        let mut mac = self.0.clone();
        mac.update(scope.as_bytes());
        mac.update(b"\n");
        mac.update(secret.expose().as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cold]
fn unreachable_hmac() -> hmac::Hmac<Sha256> {
    // HMAC accepts keys of any length; this cannot happen.
    panic!("HMAC rejected a 32-byte key")
}
