//! Argon2id for enrollment keys: hashing into a PHC string and verifying against one,
//! with working memory a pool thread keeps and reuses.

use std::fmt;

use rand::rngs::OsRng;
use rand::RngCore;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::secret::Secret;

/// Argon2id settings for enrollment keys (OWASP: m=19456 KiB, t=2, p=1 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self {
            m_kib: 19456,
            t: 2,
            p: 1,
        }
    }
}

impl Argon2Params {
    /// True when Argon2 accepts these parameters.
    pub fn is_valid(&self) -> bool {
        argon2::Params::new(self.m_kib, self.t, self.p, None).is_ok()
    }
}

/// Working memory for Argon2, kept by a pool thread and reused for every run, so memory
/// stays at (threads x m) instead of growing with each thread's allocator arena.
#[derive(Default)]
pub struct Argon2Scratch {
    blocks: Vec<argon2::Block>,
}

impl fmt::Debug for Argon2Scratch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Argon2Scratch({} blocks)", self.blocks.len())
    }
}

impl Argon2Scratch {
    fn blocks(&mut self, n: usize) -> &mut [argon2::Block] {
        if self.blocks.len() < n {
            self.blocks.resize(n, argon2::Block::default());
        }
        &mut self.blocks[..n]
    }
}

/// Largest Argon2 memory a stored PHC string may ask for (1 GiB), so a corrupt record
/// cannot make a verification allocate without bound.
const MAX_ARGON2_KIB: u32 = 1 << 20;

/// Hashes into a PHC string using `scratch` for Argon2's memory.
pub fn argon2_hash_with(
    scratch: &mut Argon2Scratch,
    secret: &Secret,
    params: Argon2Params,
) -> Result<String, String> {
    use argon2::password_hash::{Output, SaltString};
    let p = argon2::Params::new(params.m_kib, params.t, params.p, Some(32))
        .map_err(|e| e.to_string())?;
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let mut out = [0u8; 32];
    argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        p.clone(),
    )
    .hash_password_into_with_memory(
        secret.expose().as_bytes(),
        &salt,
        &mut out,
        scratch.blocks(p.block_count()),
    )
    .map_err(|e| e.to_string())?;
    let salt_b64 = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    let hash_b64 = Output::new(&out).map_err(|e| e.to_string())?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_kib,
        params.t,
        params.p,
        salt_b64.as_str(),
        hash_b64
    ))
}

/// Verifies `secret` against a PHC string using `scratch` for Argon2's memory.
pub fn argon2_verify_with(scratch: &mut Argon2Scratch, secret: &[u8], phc: &str) -> bool {
    use argon2::password_hash::PasswordHash;
    let Ok(h) = PasswordHash::new(phc) else {
        return false;
    };
    if h.algorithm.as_str() != "argon2id" {
        return false;
    }
    let (Ok(params), Some(salt), Some(expected)) = (argon2::Params::try_from(&h), h.salt, h.hash)
    else {
        return false;
    };
    if params.m_cost() > MAX_ARGON2_KIB {
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = Zeroizing::new(vec![0u8; expected.len()]);
    let ok = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params.clone(),
    )
    .hash_password_into_with_memory(secret, salt, &mut out, scratch.blocks(params.block_count()))
    .is_ok();
    ok && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
#[path = "argon_test.rs"]
mod tests;
