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
    /// A CA certificate (PEM) to verify the server's TLS certificate with, in place of
    /// the system's roots (a private CA); implies TLS.
    #[arg(long, env = "ROSTER_NATS_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// A client certificate (PEM) for servers that verify clients (`verify: true`);
    /// needs `--tls-key`.
    #[arg(
        long,
        env = "ROSTER_NATS_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(
        long,
        env = "ROSTER_NATS_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Start TLS before the server's INFO (the server sets `handshake_first`).
    #[arg(long, env = "ROSTER_NATS_TLS_FIRST")]
    pub tls_first: bool,
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
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            tls_first: false,
        }
    }

    /// The same server with other credentials: `url` and the TLS settings (CA, client
    /// certificate, TLS first) of these arguments, no user, token or creds.
    pub fn same_server(&self) -> Self {
        Self {
            tls_ca: self.tls_ca.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            tls_first: self.tls_first,
            prefix: self.prefix.clone(),
            ..Self::for_url(&self.nats_url)
        }
    }

    /// True when any TLS flag is set (the connection then requires TLS).
    pub fn wants_tls(&self) -> bool {
        self.tls_ca.is_some() || self.tls_cert.is_some() || self.tls_first
    }

    /// Applies the TLS flags. Each file is read once here, so a missing or unreadable
    /// one is a clear local error instead of a failed handshake.
    fn apply_tls(
        &self,
        mut opts: async_nats::ConnectOptions,
    ) -> Result<async_nats::ConnectOptions, ConfigError> {
        let check = |path: &Path| read_file(path).map(drop);
        if let Some(ca) = &self.tls_ca {
            check(ca)?;
            opts = opts.add_root_certificates(ca.clone());
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            check(cert)?;
            check(key)?;
            opts = opts.add_client_certificate(cert.clone(), key.clone());
        }
        if self.tls_first {
            opts = opts.tls_first();
        } else if self.wants_tls() {
            opts = opts.require_tls(true);
        }
        Ok(opts)
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
        opts = self.apply_tls(opts)?;
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
        tweak(opts).connect(urls).await.map_err(|source| {
            let url = self.nats_url.clone();
            if tls_failed(&source) {
                ConfigError::Tls { url, source }
            } else {
                ConfigError::Connect { url, source }
            }
        })
    }
}

/// True when connecting failed in TLS: setting it up (`Tls`), or the handshake, which
/// async-nats reports as an I/O error around rustls' own.
fn tls_failed(err: &async_nats::ConnectError) -> bool {
    if err.kind() == async_nats::ConnectErrorKind::Tls {
        return true;
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = cur {
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|i| i as &(dyn std::error::Error + 'static));
        if e.is::<async_nats::rustls::Error>()
            || inner.is_some_and(|i| i.is::<async_nats::rustls::Error>())
        {
            return true;
        }
        cur = e.source();
    }
    false
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
