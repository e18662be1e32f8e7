//! The signing key as a NATS user nkey (`U…` public, `SU…` seed), and the check of a
//! NATS connect-nonce signature (the callout's proof that a client holds its nkey).

use zeroize::Zeroizing;

use super::base32;
use super::keys::{KeyPairs, PublicKeyBytes};

impl KeyPairs {
    /// The signing key as a NATS user nkey seed (`SU…`), to connect with.
    pub fn user_nkey_seed(&self) -> Result<Zeroizing<String>, nkeys::error::Error> {
        let kp = nkeys::KeyPair::new_from_raw(nkeys::KeyPairType::User, self.sign.to_bytes())?;
        kp.seed().map(Zeroizing::new)
    }

    /// The signing key as a NATS user public nkey (`U…`).
    pub fn user_nkey_public(&self) -> String {
        user_nkey_of(self.sign_pub_bytes())
    }
}

/// A signing key written as a NATS user public nkey (`U…`).
pub fn user_nkey_of(raw: &PublicKeyBytes) -> String {
    // nkeys encodes: prefix byte (U = 20 << 3), key, CRC16 (XMODEM, little endian), base32.
    let mut buf = Vec::with_capacity(35);
    buf.push(20u8 << 3);
    buf.extend_from_slice(raw);
    let crc = crc16_xmodem(&buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    base32::encode(&buf).to_ascii_uppercase()
}

fn crc16_xmodem(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Decodes a NATS user public nkey (`U…`) into its raw key (not yet checked for weakness).
pub fn sign_key_from_user_nkey(nkey: &str) -> Option<PublicKeyBytes> {
    let (prefix, raw) = nkeys::from_public_key(nkey).ok()?;
    (prefix == 20 << 3).then_some(raw)
}

/// Verifies a NATS connect signature (`sig`, base64url) of `nonce` by user nkey `nkey`.
pub fn verify_nkey_nonce(nkey: &str, nonce: &str, sig_b64: &str) -> bool {
    use base64::Engine;
    let Ok(kp) = nkeys::KeyPair::from_public_key(nkey) else {
        return false;
    };
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig_b64.trim_end_matches('='))
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(sig_b64));
    match sig {
        Ok(sig) => kp.verify(nonce.as_bytes(), &sig).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
#[path = "nkey_test.rs"]
mod tests;
