//! The vault key file: a 0600 JSON file holding the key-encryption keys by version and
//! the secret of the workers' `credential_kex`. Every worker of a queue group reads the
//! same file, so they all announce the same `credential_kex` and unwrap the same data
//! keys. `roster vault init` writes it (never over an existing file without `--force`),
//! `roster vault rotate-kek` adds a version; a file readable by group or others is
//! refused.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::crypto::{CredentialKex, Kek, SecretKey};

/// The key file's format version.
const FORMAT: u32 = 1;

/// Why the key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be read, created or replaced.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file exists and `--force` was not given.
    #[error("{} exists; pass --force to replace it (every value sealed under its keys is then lost)", .0.display())]
    Exists(PathBuf),
    /// Group or others may read the file.
    #[error("{} is readable by group or others (mode {mode:o}); chmod 600 it", path.display())]
    Permissions { path: PathBuf, mode: u32 },
    /// The file is not a vault key file.
    #[error("{} is not a vault key file: {why}", path.display())]
    Format { path: PathBuf, why: String },
}

/// One key-encryption key as the file holds it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KekEntry {
    version: u32,
    created_at: String,
    /// 32 bytes, hex.
    key: String,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBody {
    v: u32,
    /// The X25519 secret of `credential_kex`, hex.
    credential_kex_secret: String,
    keks: Vec<KekEntry>,
}

impl Drop for FileBody {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.credential_kex_secret.zeroize();
        for k in &mut self.keks {
            k.key.zeroize();
        }
    }
}

/// A loaded key file: the KEKs in version order and the credential key.
#[derive(Clone)]
pub struct KeyFile {
    keks: Vec<Kek>,
    created: Vec<String>,
    kex: CredentialKex,
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFile")
            .field("kek_versions", &self.versions())
            .field("credential_kex", &self.kex)
            .finish()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

impl KeyFile {
    /// A new key file's contents: KEK version 1 and a fresh `credential_kex`.
    pub fn generate(now: &str) -> Self {
        Self {
            keks: vec![Kek {
                version: 1,
                key: SecretKey::generate(),
            }],
            created: vec![now.to_owned()],
            kex: CredentialKex::generate(),
        }
    }

    /// Writes a new key file at `path` (mode 0600); refuses an existing file unless
    /// `force`.
    pub fn init(path: &Path, force: bool, now: &str) -> Result<Self, KeyFileError> {
        if path.exists() && !force {
            return Err(KeyFileError::Exists(path.to_owned()));
        }
        let file = Self::generate(now);
        file.write(path)?;
        Ok(file)
    }

    /// Reads the key file at `path`, refusing one readable by group or others.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        check_mode(path)?;
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(io(path))?);
        let format = |why: String| KeyFileError::Format {
            path: path.to_owned(),
            why,
        };
        let body: FileBody = serde_json::from_str(&text).map_err(|e| format(e.to_string()))?;
        if body.v != FORMAT {
            return Err(format(format!(
                "format version {} (expected {FORMAT})",
                body.v
            )));
        }
        let kex = SecretKey::from_hex(&body.credential_kex_secret)
            .map(CredentialKex::from_secret)
            .map_err(|_| format("credential_kex_secret is not 32 bytes of hex".into()))?;
        let mut keks = Vec::new();
        let mut created = Vec::new();
        for e in &body.keks {
            let key = SecretKey::from_hex(&e.key).map_err(|_| {
                format(format!(
                    "key of version {} is not 32 bytes of hex",
                    e.version
                ))
            })?;
            if e.version == 0 || keks.iter().any(|k: &Kek| k.version >= e.version) {
                return Err(format(
                    "versions must be distinct, ascending and above 0".into(),
                ));
            }
            keks.push(Kek {
                version: e.version,
                key,
            });
            created.push(e.created_at.clone());
        }
        if keks.is_empty() {
            return Err(format("no key-encryption key".into()));
        }
        Ok(Self { keks, created, kex })
    }

    /// Adds a new KEK version to the key file at `path` (the old ones stay, so data keys
    /// wrapped under them still open until they are rewrapped); the new version.
    pub fn rotate(path: &Path, now: &str) -> Result<u32, KeyFileError> {
        let mut file = Self::load(path)?;
        let version = file.newest().map_or(0, |k| k.version) + 1;
        file.keks.push(Kek {
            version,
            key: SecretKey::generate(),
        });
        file.created.push(now.to_owned());
        file.write(path)?;
        Ok(version)
    }

    /// The newest KEK (what new wraps use); `load` and `generate` never make a file
    /// without one.
    pub fn newest(&self) -> Option<&Kek> {
        self.keks.last()
    }

    /// The KEK of `version`.
    pub fn kek(&self, version: u32) -> Option<&Kek> {
        self.keks.iter().find(|k| k.version == version)
    }

    /// Every KEK version, ascending.
    pub fn versions(&self) -> Vec<u32> {
        self.keks.iter().map(|k| k.version).collect()
    }

    /// The credential key-exchange key.
    pub fn credential_kex(&self) -> &CredentialKex {
        &self.kex
    }

    /// Writes the file atomically: a 0600 temporary file beside it, then a rename.
    fn write(&self, path: &Path) -> Result<(), KeyFileError> {
        let body = FileBody {
            v: FORMAT,
            credential_kex_secret: self.kex.secret().to_hex().to_string(),
            keks: self
                .keks
                .iter()
                .zip(&self.created)
                .map(|(k, at)| KekEntry {
                    version: k.version,
                    created_at: at.clone(),
                    key: k.key.to_hex().to_string(),
                })
                .collect(),
        };
        let text = zeroize::Zeroizing::new(serde_json::to_string_pretty(&body).map_err(|e| {
            KeyFileError::Format {
                path: path.to_owned(),
                why: e.to_string(),
            }
        })?);
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io(&tmp))?;
        f.write_all(text.as_bytes()).map_err(io(&tmp))?;
        f.write_all(b"\n").map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io(path))
    }
}

#[cfg(unix)]
fn check_mode(path: &Path) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(io(path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path) -> Result<(), KeyFileError> {
    Ok(())
}

#[cfg(test)]
#[path = "keyfile_test.rs"]
mod tests;
