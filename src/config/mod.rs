//! Settings: NATS connection options and worker tuning, from flags and `ROSTER_*`
//! environment variables (clap reads both; flags win).
//!
//! - `nats`: how to reach NATS (`NatsArgs`, `secret_from`).
//! - `worker`: the worker's flags and the checked `WorkerConfig`, with `HandlerConfig`.
//! - `callout`: the auth callout's keys and templates (`CalloutConfig`).
//!
//! Every failure is a [`ConfigError`]; the command line reports it with its sources.

mod callout;
mod nats;
mod worker;

pub use callout::CalloutConfig;
pub use nats::{secret_from, NatsArgs};
pub use worker::{HandlerConfig, WorkerArgs, WorkerConfig};

use std::path::{Path, PathBuf};

/// Why settings were refused, or a connection with them failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A flag's value is out of its range.
    #[error("{flag} must be {rule}")]
    Flag {
        /// The flag, e.g. `--replicas`.
        flag: &'static str,
        /// What it must be, e.g. `1 to 5`.
        rule: &'static str,
    },
    /// The Argon2 flags do not make valid parameters.
    #[error("invalid Argon2 parameters (--argon2-m-kib must be at least 8 x --argon2-p)")]
    Argon2,
    /// A file (a secret, a seed) could not be read.
    #[error("reading {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A secret could not be read from standard input.
    #[error("reading a secret from standard input")]
    ReadStdin(#[source] std::io::Error),
    /// A secret file holds nothing but whitespace.
    #[error("{} is empty", .0.display())]
    EmptySecret(PathBuf),
    /// The `.creds` file could not be read.
    #[error("reading creds file {}", path.display())]
    ReadCreds {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The nkey seed file could not be read.
    #[error("reading nkey seed file {}", path.display())]
    ReadNkeySeed {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The identity's signing key did not make an nkey seed.
    #[error("identity nkey")]
    IdentityNkey(#[source] nkeys::error::Error),
    /// Connecting to NATS failed.
    #[error("connecting to NATS at {url}")]
    Connect {
        url: String,
        #[source]
        source: async_nats::ConnectError,
    },
    /// The TLS handshake with NATS failed (an unknown CA, a missing client certificate).
    #[error(
        "TLS with NATS at {url} failed (a server certificate from a private CA needs \
         --tls-ca FILE; a server that verifies clients needs --tls-cert and --tls-key)"
    )]
    Tls {
        url: String,
        #[source]
        source: async_nats::ConnectError,
    },
    /// The callout's permission template file did not load.
    #[error(transparent)]
    Templates(#[from] crate::templates::TemplatesError),
    /// The callout issuer seed is not an nkey seed.
    #[error("issuer seed")]
    IssuerSeed(#[source] nkeys::error::Error),
    /// The callout issuer seed is not an account's.
    #[error("the issuer seed must be an account nkey seed (SA…)")]
    IssuerNotAccount,
    /// The callout xkey seed is not a curve seed.
    #[error("xkey seed")]
    XkeySeed(#[source] nkeys::error::Error),
    /// The vault key file could not be loaded.
    #[error("vault key file")]
    VaultKeyFile(#[from] crate::vault::KeyFileError),
}

/// `Ok` when `ok`, else the flag's range error.
fn flag(ok: bool, flag: &'static str, rule: &'static str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Flag { flag, rule })
    }
}

/// A file's whole text, zeroed when dropped (it may be a secret).
fn read_file(path: &Path) -> Result<zeroize::Zeroizing<String>, ConfigError> {
    std::fs::read_to_string(path)
        .map(zeroize::Zeroizing::new)
        .map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })
}

/// A subject prefix: dot-separated tokens of letters, digits, `_` and `-`.
pub fn validate_prefix(p: &str) -> Result<(), ConfigError> {
    let ok = !p.is_empty()
        && p.split('.').all(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        });
    flag(
        ok,
        "--prefix",
        "dot-separated tokens of letters, digits, '_' or '-'",
    )
}

#[cfg(test)]
#[path = "config_test.rs"]
mod tests;
