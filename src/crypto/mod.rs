//! All cryptography in one place, on raw bytes: it sits below `domain`, which wraps its
//! results in checked types, and knows no roster type.
//!
//! - `keys`: a client's two key pairs, and the checks of Ed25519 and X25519 public keys.
//! - `sign`: Ed25519ph request signatures (PROTOCOL §3).
//! - `nkey`: the signing key as a NATS user nkey; NATS connect-nonce signatures.
//! - `secret`: the secret formats (`inv_`, `cek_`, `cak_`, `rak_` with its key id) with
//!   their checksums, and what
//!   is derived from a secret (its digest, the invite id, the fingerprint).
//! - `digest`: SHA-256, constant-time comparison, nonces, machine ids, the keyed cache
//!   digest.
//! - `argon`: Argon2id hashing and verification of enrollment keys, with reused memory.
//! - `seal`: sealing a secret to an X25519 key (X25519, HKDF-SHA256, ChaCha20-Poly1305):
//!   machine credentials (PROTOCOL §4) and vault values in and out (§10).
//! - `vault`: the vault's envelope encryption (data keys wrapped by versioned KEKs,
//!   values under their data key, XChaCha20-Poly1305) and the worker's `credential_kex`.

mod argon;
mod base32;
mod digest;
mod keys;
mod nkey;
mod seal;
mod secret;
mod sign;
mod vault;

pub use argon::{argon2_hash_with, argon2_verify_with, Argon2Params, Argon2Scratch};
pub use digest::{ct_eq, machine_id_text, random_nonce_hex, sha256_hex, CacheKey};
pub use keys::{is_acceptable_sign_key, is_contributory_kex_key, KeyPairs, PublicKeyBytes};
pub use nkey::{sign_key_from_user_nkey, user_nkey_of, verify_nkey_nonce};
pub use seal::{seal_credential, SealPurpose, Sealed};
pub use secret::{
    fingerprint, invite_id_hex, is_api_key_id, MalformedSecret, Redacted, Secret, SecretKind,
    API_KEY_ID_LEN,
};
pub use sign::{signed_bytes, verify_request, SignatureCheck, SIGNING_TAG};
pub use vault::{
    decrypt_value, encrypt_value, seal_value_in, seal_value_out, unwrap_data_key, wrap_data_key,
    Boxed, CredentialKex, DataKey, Kek, SecretKey, VaultCryptoError,
};
