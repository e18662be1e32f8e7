//! How to reach NATS: the connection flags, the credentials they name (values or files),
//! and connecting with them, or as a roster identity.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::{read_file, ConfigError};

/// How to reach and authenticate to NATS.
#[derive(Debug, Clone, Args)]
pub struct NatsArgs {
    /// NATS server URL(s), comma-separated.
    #[arg(long, env = "ROSTER_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// User name for user/password authentication.
    #[arg(long, env = "ROSTER_NATS_USER")]
    pub nats_user: Option<String>,
    /// Password for user/password authentication. Prefer the environment variable or
    /// `--nats-password-file`: a flag's value is visible in the process list.
    #[arg(long, env = "ROSTER_NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<String>,
    /// File holding the password (`-` reads it from standard input).
    #[arg(
        long,
        env = "ROSTER_NATS_PASSWORD_FILE",
        conflicts_with = "nats_password"
    )]
    pub nats_password_file: Option<PathBuf>,
    /// Token authentication (prefer the environment variable or `--nats-token-file`).
    #[arg(long, env = "ROSTER_NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,
    /// File holding the token (`-` reads it from standard input).
    #[arg(long, env = "ROSTER_NATS_TOKEN_FILE", conflicts_with = "nats_token")]
    pub nats_token_file: Option<PathBuf>,
    /// File holding an nkey seed (`SU…`) to authenticate with.
    #[arg(long, env = "ROSTER_NATS_NKEY_SEED_FILE")]
    pub nats_nkey_seed_file: Option<PathBuf>,
    /// A `.creds` file (user JWT and seed).
    #[arg(long, env = "ROSTER_NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
    /// Subject prefix of every roster endpoint.
    #[arg(long, env = "ROSTER_PREFIX", default_value = "roster")]
    pub prefix: String,
}

impl NatsArgs {
    /// Arguments for a plain connection to `url`.
    pub fn for_url(url: &str) -> Self {
        Self {
            nats_url: url.to_owned(),
            nats_user: None,
            nats_password: None,
            nats_password_file: None,
            nats_token: None,
            nats_token_file: None,
            nats_nkey_seed_file: None,
            nats_creds: None,
            prefix: "roster".into(),
        }
    }

    /// Connects with the configured credentials.
    pub async fn connect(&self, name: &str) -> Result<async_nats::Client, ConfigError> {
        self.connect_tweaked(name, None, |o| o).await
    }

    /// Connects as a roster identity: unless other credentials are configured, the
    /// identity's signing key is the NATS nkey (the auth callout recognises it) and the
    /// reply inbox is `_INBOX.<nkey>`, the only inbox the callout lets it read.
    pub async fn connect_as(
        &self,
        name: &str,
        keys: &crate::crypto::KeyPairs,
    ) -> Result<async_nats::Client, ConfigError> {
        self.connect_tweaked(name, Some(keys), |o| o).await
    }

    /// [`NatsArgs::connect`] or [`NatsArgs::connect_as`] (with `keys`), with `tweak`
    /// applied last to the options (a short-lived client's event watcher and reconnects).
    pub async fn connect_tweaked(
        &self,
        name: &str,
        keys: Option<&crate::crypto::KeyPairs>,
        tweak: impl FnOnce(async_nats::ConnectOptions) -> async_nats::ConnectOptions,
    ) -> Result<async_nats::Client, ConfigError> {
        let mut opts = async_nats::ConnectOptions::new()
            .name(name)
            .event_callback(|event| async move {
                // Permission violations arrive asynchronously; say so instead of only
                // timing out.
                if let async_nats::Event::ServerError(e) = event {
                    tracing::warn!(error = %e, "NATS server error");
                }
            })
            .connection_timeout(Duration::from_secs(5))
            .request_timeout(Some(Duration::from_secs(10)));
        if let Some(creds) = &self.nats_creds {
            opts = opts
                .credentials_file(creds)
                .await
                .map_err(|source| ConfigError::ReadCreds {
                    path: creds.clone(),
                    source,
                })?;
        }
        let password = secret_from(
            self.nats_password.as_deref(),
            self.nats_password_file.as_deref(),
        )?;
        if let (Some(u), Some(p)) = (&self.nats_user, password) {
            opts = opts.user_and_password(u.clone(), p.to_string());
        }
        let token = secret_from(self.nats_token.as_deref(), self.nats_token_file.as_deref())?;
        if let Some(t) = &token {
            opts = opts.token(t.to_string());
        }
        if let Some(f) = &self.nats_nkey_seed_file {
            let seed = std::fs::read_to_string(f).map_err(|source| ConfigError::ReadNkeySeed {
                path: f.clone(),
                source,
            })?;
            opts = opts.nkey(seed.trim().to_owned());
        }
        let explicit = self.nats_creds.is_some()
            || self.nats_user.is_some()
            || token.is_some()
            || self.nats_nkey_seed_file.is_some();
        if let (Some(k), false) = (keys, explicit) {
            let seed = k.user_nkey_seed().map_err(ConfigError::IdentityNkey)?;
            opts = opts
                .nkey(seed.to_string())
                .custom_inbox_prefix(crate::bus::inbox_for_nkey(&k.user_nkey_public()));
        }
        let urls: Vec<&str> = self
            .nats_url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        tweak(opts)
            .connect(urls)
            .await
            .map_err(|source| ConfigError::Connect {
                url: self.nats_url.clone(),
                source,
            })
    }
}

/// A secret given as a value (from the environment, say) or as a file, `-` meaning
/// standard input; the file's content is trimmed of surrounding whitespace.
pub fn secret_from(
    value: Option<&str>,
    file: Option<&Path>,
) -> Result<Option<zeroize::Zeroizing<String>>, ConfigError> {
    if let Some(v) = value {
        return Ok(Some(zeroize::Zeroizing::new(v.to_owned())));
    }
    let Some(path) = file else {
        return Ok(None);
    };
    let text = if path.as_os_str() == "-" {
        let mut line = zeroize::Zeroizing::new(String::new());
        std::io::stdin()
            .read_line(&mut line)
            .map_err(ConfigError::ReadStdin)?;
        line
    } else {
        read_file(path)?
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ConfigError::EmptySecret(path.to_owned()));
    }
    Ok(Some(zeroize::Zeroizing::new(trimmed.to_owned())))
}
