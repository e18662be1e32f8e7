//! The identity file: a client's Ed25519 and X25519 key pairs, written with mode 0600.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::KeyPairs;

/// Why an identity file (or another private file) could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The file is there and replacing it was not asked for.
    #[error("{} already exists (use --force to replace it)", .0.display())]
    Exists(PathBuf),
    /// The file, its temporary twin or its directory could not be written.
    #[error(transparent)]
    File(#[from] FileError),
    /// The identity file could not be read.
    #[error("reading identity {} (create one with `roster keygen`)", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The identity file is not the JSON shape of one.
    #[error("{} is not a roster identity file", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A secret of the identity file is not 32 bytes of hex.
    #[error("identity {field} is not 32 bytes of hex")]
    Hex {
        field: &'static str,
        #[source]
        source: hex::FromHexError,
    },
    /// The public signing key written in the file is not the seed's.
    #[error("identity file is inconsistent: sign_pub does not match sign_seed")]
    Inconsistent,
    /// The key pairs do not make a valid public key.
    #[error(transparent)]
    Key(#[from] crate::domain::ParseError),
    /// The identity could not be encoded.
    #[error(transparent)]
    Encode(#[from] serde_json::Error),
}

/// A file system step that failed on `path` ("creating …", "writing …").
#[derive(Debug, thiserror::Error)]
#[error("{op} {}", path.display())]
pub struct FileError {
    /// What was being done: `creating`, `writing`.
    pub op: &'static str,
    /// The file or directory it was done to.
    pub path: PathBuf,
    /// What the file system said.
    #[source]
    pub source: std::io::Error,
}

impl FileError {
    /// For `map_err`: the failure of `op` on `path`.
    pub fn at(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |source| Self { op, path, source }
    }
}

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

/// The default identity path: `$ROSTER_IDENTITY`, else `identity.json` in
/// [`config_dir`].
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("ROSTER_IDENTITY") {
        return PathBuf::from(p);
    }
    config_dir().join("identity.json")
}

/// roster's configuration directory: `$XDG_CONFIG_HOME/roster` (an absolute path, as the
/// XDG spec requires), else `~/.config/roster`.
pub fn config_dir() -> PathBuf {
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let base = xdg.unwrap_or_else(|| {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".config")
    });
    base.join("roster")
}

/// Writes new key pairs to `path` (mode 0600, atomically). Refuses to overwrite unless
/// `force`.
pub fn create(path: &Path, force: bool) -> Result<KeyPairs, IdentityError> {
    if path.exists() && !force {
        return Err(IdentityError::Exists(path.to_owned()));
    }
    let keys = KeyPairs::generate();
    save(path, &keys)?;
    Ok(keys)
}

/// Saves key pairs to `path` with mode 0600 via a temporary file and a rename.
pub fn save(path: &Path, keys: &KeyPairs) -> Result<(), IdentityError> {
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
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), IdentityError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(FileError::at("creating", dir))?;
    }
    let tmp = path.with_extension("tmp");
    let writing = |path: &Path| FileError::at("writing", path);
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(writing(&tmp))?;
        f.write_all(bytes).map_err(writing(&tmp))?;
        f.sync_all().map_err(writing(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(writing(path))?;
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
pub fn load(path: &Path) -> Result<KeyPairs, IdentityError> {
    let text =
        Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| IdentityError::Read {
                path: path.to_owned(),
                source,
            })?,
        );
    let f: IdentityFile = serde_json::from_str(&text).map_err(|source| IdentityError::Parse {
        path: path.to_owned(),
        source,
    })?;
    let mut seed = Zeroizing::new([0u8; 32]);
    let mut kex = Zeroizing::new([0u8; 32]);
    let not_hex = |field| move |source| IdentityError::Hex { field, source };
    hex::decode_to_slice(&f.sign_seed, seed.as_mut()).map_err(not_hex("sign_seed"))?;
    hex::decode_to_slice(&f.kex_secret, kex.as_mut()).map_err(not_hex("kex_secret"))?;
    let keys = KeyPairs::from_secrets(&seed, &kex);
    if keys.sign_pub().to_hex() != f.sign_pub {
        return Err(IdentityError::Inconsistent);
    }
    Ok(keys)
}

#[cfg(test)]
#[path = "identity_test.rs"]
mod tests;
