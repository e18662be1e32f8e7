//! A client's two key pairs (Ed25519 for signing, X25519 for key exchange), and the checks
//! a presented public key must pass.

use std::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::rngs::OsRng;
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey as XPublicKey, StaticSecret};
use zeroize::Zeroizing;

/// A 32-byte public key (Ed25519 or X25519) as raw bytes; `domain` wraps them in its
/// checked types (crypto sits below domain and knows none of them).
pub type PublicKeyBytes = [u8; 32];

/// True when `bytes` is an Ed25519 point that is not of small order ("weak").
pub fn is_acceptable_sign_key(bytes: &[u8; 32]) -> bool {
    match VerifyingKey::from_bytes(bytes) {
        Ok(k) => !k.is_weak(),
        Err(_) => false,
    }
}

/// The X25519 points of small order, as u-coordinates below 2^255 (the encodings
/// libsodium blocks: 0, 1, the two points of order 8, p - 1, p and p + 1).
const X25519_LOW_ORDER: [[u8; 32]; 7] = [
    [0; 32],
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57,
    ],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [
        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// True when an X25519 exchange with `bytes` is contributory: `bytes` (with the top bit
/// cleared, as X25519 ignores it) is none of the low-order points. A constant-time
/// blocklist check, far cheaper than a trial scalar multiplication; a unit test checks it
/// agrees with `was_contributory` on the listed points and on random keys.
pub fn is_contributory_kex_key(bytes: &[u8; 32]) -> bool {
    let mut u = *bytes;
    u[31] &= 0x7f;
    let mut hit = subtle::Choice::from(0u8);
    for p in &X25519_LOW_ORDER {
        hit |= u.ct_eq(p);
    }
    !bool::from(hit)
}

/// A client's two key pairs: Ed25519 for signing, X25519 for key exchange. Signing is in
/// `sign`, the nkey forms in `nkey`, opening a sealed credential in `seal`.
pub struct KeyPairs {
    pub(super) sign: SigningKey,
    pub(super) kex: StaticSecret,
    // Derived once: public keys are needed on every request.
    sign_pub: PublicKeyBytes,
    kex_pub: PublicKeyBytes,
}

impl fmt::Debug for KeyPairs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPairs")
            .field(
                "sign_pub",
                &hex::encode(self.sign.verifying_key().as_bytes()),
            )
            .finish_non_exhaustive()
    }
}

impl KeyPairs {
    /// Fresh key pairs from the OS CSPRNG.
    pub fn generate() -> Self {
        Self::assemble(
            SigningKey::generate(&mut OsRng),
            StaticSecret::random_from_rng(OsRng),
        )
    }
    fn assemble(sign: SigningKey, kex: StaticSecret) -> Self {
        let sign_pub = sign.verifying_key().to_bytes();
        let kex_pub = XPublicKey::from(&kex).to_bytes();
        Self {
            sign,
            kex,
            sign_pub,
            kex_pub,
        }
    }
    /// Rebuilds key pairs from their 32-byte secrets.
    pub fn from_secrets(sign_seed: &[u8; 32], kex_secret: &[u8; 32]) -> Self {
        Self::assemble(
            SigningKey::from_bytes(sign_seed),
            StaticSecret::from(*kex_secret),
        )
    }
    /// The Ed25519 seed (secret). Handle with care.
    pub fn sign_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.sign.to_bytes())
    }
    /// The X25519 secret. Handle with care.
    pub fn kex_secret(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.kex.to_bytes())
    }
    /// The signing public key, raw (`domain` adds the checked `sign_pub`).
    pub fn sign_pub_bytes(&self) -> &PublicKeyBytes {
        &self.sign_pub
    }
    /// The key-exchange public key, raw (`domain` adds the checked `kex_pub`).
    pub fn kex_pub_bytes(&self) -> &PublicKeyBytes {
        &self.kex_pub
    }
}

#[cfg(test)]
#[path = "keys_test.rs"]
mod tests;
