//! The identity file: a client's Ed25519 and X25519 key pairs, written with mode 0600.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::KeyPairs;

/// On-disk form. The secrets are hex; the public halves are there for people to read.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityFile {
    v: u32,
    sign_seed: String,
    kex_secret: String,
    sign_pub: String,
    kex_pub: String,
    created_at: String,
}

/// The default identity path: `$ROSTER_IDENTITY`, else `~/.config/roster/identity.json`.
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("ROSTER_IDENTITY") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".config/roster/identity.json")
}

/// Writes new key pairs to `path` (mode 0600, atomically). Refuses to overwrite unless
/// `force`.
pub fn create(path: &Path, force: bool) -> anyhow::Result<KeyPairs> {
    if path.exists() && !force {
        anyhow::bail!(
            "{} already exists (use --force to replace it)",
            path.display()
        );
    }
    let keys = KeyPairs::generate();
    save(path, &keys)?;
    Ok(keys)
}

/// Saves key pairs to `path` with mode 0600 via a temporary file and a rename.
pub fn save(path: &Path, keys: &KeyPairs) -> anyhow::Result<()> {
    let file = IdentityFile {
        v: 1,
        sign_seed: hex::encode(keys.sign_seed().as_ref()),
        kex_secret: hex::encode(keys.kex_secret().as_ref()),
        sign_pub: keys.sign_pub().to_hex(),
        kex_pub: keys.kex_pub()?.to_hex(),
        created_at: crate::time_util::now_rfc3339(),
    };
    let text = Zeroizing::new(serde_json::to_string_pretty(&file)?);
    write_private(path, text.as_bytes())
}

/// Writes `bytes` to `path` with mode 0600, via a temporary file and a rename, so a crash
/// never leaves a half-written file.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The default credential path: `$ROSTER_CREDENTIAL`, else beside the identity file.
pub fn default_credential_path(identity: &Path) -> PathBuf {
    if let Some(p) = std::env::var_os("ROSTER_CREDENTIAL") {
        return PathBuf::from(p);
    }
    identity.with_extension("credential.json")
}

/// Loads key pairs from `path`.
pub fn load(path: &Path) -> anyhow::Result<KeyPairs> {
    let text = Zeroizing::new(std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading identity {} (create one with `roster keygen`)",
            path.display()
        )
    })?);
    let f: IdentityFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a roster identity file", path.display()))?;
    let mut seed = Zeroizing::new([0u8; 32]);
    let mut kex = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(&f.sign_seed, seed.as_mut())
        .context("identity sign_seed is not 32 bytes of hex")?;
    hex::decode_to_slice(&f.kex_secret, kex.as_mut())
        .context("identity kex_secret is not 32 bytes of hex")?;
    let keys = KeyPairs::from_secrets(&seed, &kex);
    anyhow::ensure!(
        keys.sign_pub().to_hex() == f.sign_pub,
        "identity file is inconsistent: sign_pub does not match sign_seed"
    );
    Ok(keys)
}
