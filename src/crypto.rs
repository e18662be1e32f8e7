//! All cryptography in one place: Ed25519ph request signatures, X25519 key checks, the
//! secret formats (`inv_`, `cek_`, `cak_`) with their checksums, and digests.

use std::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey as XPublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

/// Domain-separation tag of signed requests (PROTOCOL §3).
pub const SIGNING_TAG: &str = "roster-v1";

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

/// The exact bytes a request signature covers: `roster-v1\n{subject}\n{ts}\n{nonce}\n{body}`.
pub fn signed_bytes(subject: &str, ts: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(SIGNING_TAG.len() + subject.len() + ts.len() + 40 + body.len());
    out.extend_from_slice(SIGNING_TAG.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(subject.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(ts.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(nonce.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

/// Why a signed request's key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// The key is not 64 lowercase hex, not a point, or weak.
    BadKey(String),
    /// The signature is malformed or does not verify.
    BadSignature,
}

/// A 32-byte public key (Ed25519 or X25519) as raw bytes; `domain` wraps them in its
/// checked types (crypto sits below domain and knows none of them).
pub type PublicKeyBytes = [u8; 32];

/// A secret's text did not parse (wrong prefix, length, alphabet or checksum).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedSecret(pub String);

/// Checks a request signature (PROTOCOL §3): `key_hex` must be 64 lowercase hex
/// characters of a valid, non-weak Ed25519 key, and `sig_hex` an Ed25519ph signature
/// (RFC 8032 §5.1, SHA-512 prehash, empty context) of `msg`, checked by ed25519-dalek's
/// `verify_prehashed_strict` and nothing else. A pure Ed25519 signature of the same
/// bytes is refused: the key is also a NATS nkey, and NATS clients sign any connect
/// nonce a server sends with pure Ed25519.
/// Returns the signer's key, checked.
pub fn verify_request(
    key_hex: &str,
    msg: &[u8],
    sig_hex: &str,
) -> Result<PublicKeyBytes, SignatureCheck> {
    let mut raw = [0u8; 32];
    let lower = key_hex.len() == 64
        && key_hex
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
    if !lower || hex::decode_to_slice(key_hex, &mut raw).is_err() {
        return Err(SignatureCheck::BadKey(
            "signing key must be 64 lowercase hex characters".into(),
        ));
    }
    let vk = VerifyingKey::from_bytes(&raw)
        .ok()
        .filter(|k| !k.is_weak())
        .ok_or_else(|| {
            SignatureCheck::BadKey("signing key is not a valid, non-weak Ed25519 public key".into())
        })?;
    let mut sig = [0u8; 64];
    if sig_hex.len() != 128 || hex::decode_to_slice(sig_hex, &mut sig).is_err() {
        return Err(SignatureCheck::BadSignature);
    }
    let sig = ed25519_dalek::Signature::from_bytes(&sig);
    vk.verify_prehashed_strict(Sha512::new().chain_update(msg), None, &sig)
        .map(|()| raw)
        .map_err(|_| SignatureCheck::BadSignature)
}

/// A client's two key pairs: Ed25519 for signing, X25519 for key exchange.
pub struct KeyPairs {
    sign: SigningKey,
    kex: StaticSecret,
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
    /// The signing key as a NATS user nkey seed (`SU…`), to connect with.
    pub fn user_nkey_seed(&self) -> Result<Zeroizing<String>, String> {
        let kp = nkeys::KeyPair::new_from_raw(nkeys::KeyPairType::User, self.sign.to_bytes())
            .map_err(|e| e.to_string())?;
        kp.seed().map(Zeroizing::new).map_err(|e| e.to_string())
    }

    /// The signing key as a NATS user public nkey (`U…`).
    pub fn user_nkey_public(&self) -> String {
        user_nkey_of(&self.sign_pub)
    }

    /// Signs `msg` with Ed25519ph (SHA-512 prehash, empty context), the only kind of
    /// signature roster requests carry (PROTOCOL §3); returns it as lowercase hex.
    pub fn sign_hex(&self, msg: &[u8]) -> String {
        match self
            .sign
            .sign_prehashed(Sha512::new().chain_update(msg), None)
        {
            Ok(sig) => hex::encode(sig.to_bytes()),
            // Only a context over 255 bytes can fail, and there is none.
            Err(_) => unreachable_prehash(),
        }
    }
}

#[cold]
fn unreachable_prehash() -> String {
    panic!("Ed25519ph signing failed without a context")
}

/// A signing key written as a NATS user public nkey (`U…`).
pub fn user_nkey_of(raw: &PublicKeyBytes) -> String {
    // nkeys encodes: prefix byte (U = 20 << 3), key, CRC16 (XMODEM, little endian), base32.
    let mut buf = Vec::with_capacity(35);
    buf.push(20u8 << 3);
    buf.extend_from_slice(raw);
    let crc = crc16_xmodem(&buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    base32_encode(&buf).to_ascii_uppercase()
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

/// The kinds of secret the worker mints (PROTOCOL §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// An invite token.
    Invite,
    /// A site enrollment key.
    Enrollment,
    /// A machine credential.
    Credential,
}

impl SecretKind {
    /// The string every secret of this kind starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::Invite => "inv_",
            SecretKind::Enrollment => "cek_",
            SecretKind::Credential => "cak_",
        }
    }
    fn name(self) -> &'static str {
        match self {
            SecretKind::Invite => "invite token",
            SecretKind::Enrollment => "enrollment key",
            SecretKind::Credential => "machine credential",
        }
    }
}

const SECRET_LEN: usize = 32;
const CHECK_LEN: usize = 4;
/// Length of the part after the prefix: base32 of 32 random bytes plus a 4-byte checksum.
const ENCODED_LEN: usize = ((SECRET_LEN + CHECK_LEN) * 8).div_ceil(5);

/// A minted secret. It redacts itself in `Debug` and zeroes on drop.
pub struct Secret {
    kind: SecretKind,
    text: Zeroizing<String>,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({}<redacted>)", self.kind.prefix())
    }
}

impl Secret {
    /// Mints a new secret of `kind`: 32 bytes from the OS CSPRNG, with checksum.
    pub fn mint(kind: SecretKind) -> Self {
        let mut raw = Zeroizing::new([0u8; SECRET_LEN]);
        OsRng.fill_bytes(raw.as_mut());
        let mut buf = Zeroizing::new(Vec::with_capacity(SECRET_LEN + CHECK_LEN));
        buf.extend_from_slice(raw.as_ref());
        buf.extend_from_slice(&checksum(kind, raw.as_ref()));
        let text = format!("{}{}", kind.prefix(), base32_encode(&buf));
        Self {
            kind,
            text: Zeroizing::new(text),
        }
    }

    /// Parses a secret as typed by a person or program. A wrong prefix, length, alphabet
    /// or checksum is refused before any lookup.
    pub fn parse(kind: SecretKind, s: &str) -> Result<Self, MalformedSecret> {
        let bad = || {
            MalformedSecret(format!(
                "malformed {} (wrong format or checksum)",
                kind.name()
            ))
        };
        let rest = s.strip_prefix(kind.prefix()).ok_or_else(bad)?;
        if rest.len() != ENCODED_LEN {
            return Err(bad());
        }
        let mut buf = Zeroizing::new(base32_decode(rest).ok_or_else(bad)?);
        if buf.len() < SECRET_LEN + CHECK_LEN {
            return Err(bad());
        }
        buf.truncate(SECRET_LEN + CHECK_LEN);
        let (raw, sum) = buf.split_at(SECRET_LEN);
        if !bool::from(checksum(kind, raw).ct_eq(sum)) {
            return Err(bad());
        }
        Ok(Self {
            kind,
            text: Zeroizing::new(s.to_owned()),
        })
    }

    /// The secret text, to be shown once.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// SHA-256 of the secret text, the only form that is ever stored.
    pub fn digest_hex(&self) -> String {
        sha256_hex(self.text.as_bytes())
    }
}

fn checksum(kind: SecretKind, raw: &[u8]) -> [u8; CHECK_LEN] {
    let mut h = Sha256::new();
    h.update(b"roster-v1 checksum ");
    h.update(kind.prefix().as_bytes());
    h.update(raw);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The invite id for a token, as 32 hex characters: the first 16 bytes of a
/// domain-separated SHA-256, so the id can be shown and logged while revealing nothing
/// usable about the token.
pub fn invite_id_hex(token: &Secret) -> String {
    let mut h = Sha256::new();
    h.update(b"roster-v1 invite-id\n");
    h.update(token.expose().as_bytes());
    let d = h.finalize();
    hex::encode(&d[..16])
}

const B32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity((data.len() * 8).div_ceil(5));
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(B32[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(B32[((acc << (5 - bits)) & 31) as usize] as char);
    }
    acc.zeroize();
    out
}

fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    // Canonical encodings only: the unused low bits of the last character must be zero,
    // or two different texts would decode to the same secret (a typo there would pass).
    let canonical = acc & ((1u32 << bits) - 1) == 0;
    acc.zeroize();
    canonical.then_some(out)
}

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

/// The short, non-secret fingerprint of a key: 4 upper-case hex characters.
pub fn fingerprint(secret: &Secret) -> String {
    let mut h = Sha256::new();
    h.update(b"roster-v1 fingerprint\n");
    h.update(secret.expose().as_bytes());
    hex::encode_upper(&h.finalize()[..2])
}

/// A process-local key for the verified-key cache, so a cache entry is useless outside
/// this process.
pub struct CacheKey([u8; 32]);

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CacheKey(<redacted>)")
    }
}

impl Default for CacheKey {
    fn default() -> Self {
        let mut k = [0u8; 32];
        OsRng.fill_bytes(&mut k);
        Self(k)
    }
}

impl CacheKey {
    /// HMAC-SHA256 of `scope` and the secret under this key.
    pub fn digest(&self, scope: &str, secret: &Secret) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable_hmac());
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

/// The machine id of an agent key: `m-` and the first 16 bytes of a domain-separated
/// SHA-256, so one agent key is one machine and a re-enroll finds it with one read.
pub fn machine_id_text(agent_pub: &PublicKeyBytes) -> String {
    let mut h = Sha256::new();
    h.update(b"roster-v1 machine-id\n");
    h.update(agent_pub);
    format!("m-{}", hex::encode(&h.finalize()[..16]))
}

/// A credential sealed to an agent's X25519 key (PROTOCOL §4), all hex.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    pub epk: String,
    pub nonce: String,
    pub ciphertext: String,
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
#[path = "crypto_test.rs"]
mod tests;
