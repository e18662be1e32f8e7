//! Settings: NATS connection options and worker tuning, from flags and `ROSTER_*`
//! environment variables (clap reads both; flags win).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use crate::store::StoreConfig;

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
    pub async fn connect(&self, name: &str) -> anyhow::Result<async_nats::Client> {
        self.connect_with(name, None).await
    }

    /// Connects as a roster identity: unless other credentials are configured, the
    /// identity's signing key is the NATS nkey (the auth callout recognises it) and the
    /// reply inbox is `_INBOX.<nkey>`, the only inbox the callout lets it read.
    pub async fn connect_as(
        &self,
        name: &str,
        keys: &crate::crypto::KeyPairs,
    ) -> anyhow::Result<async_nats::Client> {
        self.connect_with(name, Some(keys)).await
    }

    async fn connect_with(
        &self,
        name: &str,
        keys: Option<&crate::crypto::KeyPairs>,
    ) -> anyhow::Result<async_nats::Client> {
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
                .with_context(|| format!("reading creds file {}", creds.display()))?;
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
            let seed = std::fs::read_to_string(f)
                .with_context(|| format!("reading nkey seed file {}", f.display()))?;
            opts = opts.nkey(seed.trim().to_owned());
        }
        let explicit = self.nats_creds.is_some()
            || self.nats_user.is_some()
            || token.is_some()
            || self.nats_nkey_seed_file.is_some();
        if let (Some(k), false) = (keys, explicit) {
            let seed = k
                .user_nkey_seed()
                .map_err(|e| anyhow::anyhow!("identity nkey: {e}"))?;
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
        opts.connect(urls)
            .await
            .with_context(|| format!("connecting to NATS at {}", self.nats_url))
    }
}

/// A secret given as a value (from the environment, say) or as a file, `-` meaning
/// standard input; the file's content is trimmed of surrounding whitespace.
pub fn secret_from(
    value: Option<&str>,
    file: Option<&std::path::Path>,
) -> anyhow::Result<Option<zeroize::Zeroizing<String>>> {
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
            .context("reading a secret from standard input")?;
        line
    } else {
        zeroize::Zeroizing::new(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        )
    };
    let trimmed = text.trim();
    anyhow::ensure!(!trimmed.is_empty(), "{} is empty", path.display());
    Ok(Some(zeroize::Zeroizing::new(trimmed.to_owned())))
}

/// Settings the handlers need.
#[derive(Debug, Clone)]
pub struct HandlerConfig {
    /// Subject prefix, `roster` by default.
    pub prefix: String,
    /// Largest accepted difference between `Roster-Ts` and the worker's clock.
    pub clock_window: Duration,
    /// Invite lifetime when `ttl_secs` is absent.
    pub invite_default_ttl: Duration,
    /// Longest invite lifetime.
    pub invite_max_ttl: Duration,
}

impl Default for HandlerConfig {
    fn default() -> Self {
        Self {
            prefix: "roster".into(),
            clock_window: Duration::from_secs(60),
            invite_default_ttl: Duration::from_secs(7 * 24 * 3600),
            invite_max_ttl: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Worker tuning.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Replicas of every bucket and of the audit stream (3 on a cluster).
    #[arg(long, env = "ROSTER_REPLICAS", default_value_t = 1)]
    pub replicas: usize,
    /// Most requests handled at once by this worker; more wait in NATS.
    #[arg(long, env = "ROSTER_MAX_IN_FLIGHT", default_value_t = 512)]
    pub max_in_flight: usize,
    /// On SIGTERM/SIGINT, how long to finish requests in flight and drain the
    /// connection before exiting anyway (e.g. when NATS is gone), in seconds.
    #[arg(long, env = "ROSTER_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    /// Allowed clock difference of signed requests, in seconds.
    #[arg(long, env = "ROSTER_CLOCK_WINDOW_SECS", default_value_t = 60)]
    pub clock_window_secs: u64,
    /// Argon2id memory for new enrollment keys, KiB (OWASP: 19456).
    #[arg(long, env = "ROSTER_ARGON2_M_KIB", default_value_t = 19456)]
    pub argon2_m_kib: u32,
    /// Argon2id iterations for new enrollment keys.
    #[arg(long, env = "ROSTER_ARGON2_T", default_value_t = 2)]
    pub argon2_t: u32,
    /// Argon2id lanes for new enrollment keys.
    #[arg(long, env = "ROSTER_ARGON2_P", default_value_t = 1)]
    pub argon2_p: u32,
    /// Concurrent Argon2 runs (default: the number of cores less one, at least one).
    #[arg(long, env = "ROSTER_ARGON2_THREADS")]
    pub argon2_threads: Option<usize>,
    /// Answer the NATS auth callout: the account nkey seed file (`SA…`) whose public key
    /// is the server's `auth_callout.issuer`.
    #[arg(long, env = "ROSTER_CALLOUT_ISSUER_SEED_FILE")]
    pub callout_issuer_seed_file: Option<PathBuf>,
    /// The callout's curve seed file (`SX…`) when the server sets `auth_callout.xkey`.
    #[arg(long, env = "ROSTER_CALLOUT_XKEY_SEED_FILE")]
    pub callout_xkey_seed_file: Option<PathBuf>,
    /// The account admitted clients are placed in.
    #[arg(long, env = "ROSTER_CALLOUT_ACCOUNT", default_value = "ROSTER")]
    pub callout_account: String,
    /// Lifetime of the user JWTs the callout issues, in seconds (the revocation backstop).
    #[arg(long, env = "ROSTER_CALLOUT_USER_TTL_SECS", default_value_t = 3600)]
    pub callout_user_ttl_secs: u64,
    /// JSON file with permission templates per role (see README); default built in.
    #[arg(long, env = "ROSTER_CALLOUT_PERMISSIONS")]
    pub callout_permissions: Option<PathBuf>,
    /// System-account user for evicting revoked identities (CONNZ + KICK).
    #[arg(long, env = "ROSTER_SYSTEM_USER")]
    pub system_user: Option<String>,
    /// Its password.
    #[arg(long, env = "ROSTER_SYSTEM_PASSWORD", hide_env_values = true)]
    pub system_password: Option<String>,
    /// File holding the system-account password (`-` reads standard input).
    #[arg(
        long,
        env = "ROSTER_SYSTEM_PASSWORD_FILE",
        conflicts_with = "system_password"
    )]
    pub system_password_file: Option<PathBuf>,
    /// Or a `.creds` file for the system-account connection.
    #[arg(long, env = "ROSTER_SYSTEM_CREDS")]
    pub system_creds: Option<PathBuf>,
    /// Failed enrollments per source (connection, else agent key) within the window
    /// before that source gets `rate_limited`; other sources are never affected.
    #[arg(long, env = "ROSTER_ENROLL_FAIL_LIMIT", default_value_t = 20)]
    pub enroll_fail_limit: usize,
    /// The failed-enrollment window, in seconds.
    #[arg(long, env = "ROSTER_ENROLL_FAIL_WINDOW_SECS", default_value_t = 60)]
    pub enroll_fail_window_secs: u64,
    /// Largest size of the security stream (strangers' denials, aggregated), in MiB; the
    /// oldest events are discarded beyond it.
    #[arg(long, env = "ROSTER_SECURITY_MAX_MIB", default_value_t = 64)]
    pub security_max_mib: u64,
    /// Age after which security events are discarded, in days.
    #[arg(long, env = "ROSTER_SECURITY_MAX_AGE_DAYS", default_value_t = 30)]
    pub security_max_age_days: u64,
    /// The security log's aggregation window in seconds: at most one event per action,
    /// code and source per window and worker (PROTOCOL §5 sets a minute).
    #[arg(long, env = "ROSTER_SECURITY_WINDOW_SECS", default_value_t = 60)]
    pub security_window_secs: u64,
    /// Largest size of the nonce bucket (the replay window), in MiB. When it is full,
    /// signed requests answer `rate_limited` until old nonces expire.
    #[arg(long, env = "ROSTER_NONCE_MAX_MIB", default_value_t = 256)]
    pub nonce_max_mib: u64,
}

impl Default for WorkerArgs {
    fn default() -> Self {
        Self {
            replicas: 1,
            max_in_flight: 512,
            shutdown_grace_secs: 30,
            clock_window_secs: 60,
            argon2_m_kib: 19456,
            argon2_t: 2,
            argon2_p: 1,
            argon2_threads: None,
            enroll_fail_limit: 20,
            enroll_fail_window_secs: 60,
            security_max_mib: 64,
            security_max_age_days: 30,
            security_window_secs: 60,
            nonce_max_mib: 256,
            callout_issuer_seed_file: None,
            callout_xkey_seed_file: None,
            callout_account: "ROSTER".into(),
            callout_user_ttl_secs: 3600,
            callout_permissions: None,
            system_user: None,
            system_password: None,
            system_password_file: None,
            system_creds: None,
        }
    }
}

/// Everything a worker needs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub handlers: HandlerConfig,
    pub store: StoreConfig,
    pub max_in_flight: usize,
    /// How long a stopping worker waits for requests in flight and the drain.
    pub shutdown_grace: Duration,
    pub replicas: usize,
    pub keyring: crate::keyring::KeyringConfig,
    /// Limits of the security stream.
    pub security: crate::audit::security::SecurityConfig,
    /// The auth callout, when this worker answers it.
    pub callout: Option<std::sync::Arc<CalloutConfig>>,
    /// Where the handlers read the time (the system clock; adjustable in tests).
    pub clock: crate::time_util::Clock,
}

impl WorkerConfig {
    /// Builds the worker settings from the command line.
    pub fn from_args(nats: &NatsArgs, w: &WorkerArgs) -> anyhow::Result<Self> {
        validate_prefix(&nats.prefix)?;
        anyhow::ensure!(
            w.replicas >= 1 && w.replicas <= 5,
            "--replicas must be 1 to 5"
        );
        anyhow::ensure!(w.max_in_flight >= 1, "--max-in-flight must be at least 1");
        anyhow::ensure!(
            crate::crypto::Argon2Params {
                m_kib: w.argon2_m_kib,
                t: w.argon2_t,
                p: w.argon2_p
            }
            .is_valid(),
            "invalid Argon2 parameters (--argon2-m-kib must be at least 8 x --argon2-p)"
        );
        anyhow::ensure!(
            w.enroll_fail_limit >= 1,
            "--enroll-fail-limit must be at least 1"
        );
        anyhow::ensure!(
            (1..=600).contains(&w.clock_window_secs),
            "--clock-window-secs must be 1 to 600"
        );
        anyhow::ensure!(
            (1..=1 << 20).contains(&w.security_max_mib),
            "--security-max-mib must be 1 to 1048576"
        );
        anyhow::ensure!(
            (1..=3650).contains(&w.security_max_age_days),
            "--security-max-age-days must be 1 to 3650"
        );
        anyhow::ensure!(
            (1..=3600).contains(&w.security_window_secs),
            "--security-window-secs must be 1 to 3600"
        );
        anyhow::ensure!(
            (1..=1 << 20).contains(&w.nonce_max_mib),
            "--nonce-max-mib must be 1 to 1048576"
        );
        let window = Duration::from_secs(w.clock_window_secs);
        Ok(Self {
            clock: crate::time_util::Clock::system(),
            handlers: HandlerConfig {
                prefix: nats.prefix.clone(),
                clock_window: window,
                ..HandlerConfig::default()
            },
            store: StoreConfig {
                bucket_prefix: nats.prefix.replace('.', "_"),
                replicas: w.replicas,
                // Twice the window plus slack: a nonce must outlive every timestamp that
                // could still be accepted with it.
                nonce_ttl: window * 2 + Duration::from_secs(30),
                nonce_max_bytes: (w.nonce_max_mib * 1024 * 1024) as i64,
            },
            security: crate::audit::security::SecurityConfig {
                max_bytes: (w.security_max_mib * 1024 * 1024) as i64,
                max_age: Duration::from_secs(w.security_max_age_days * 24 * 3600),
                window: Duration::from_secs(w.security_window_secs),
                ..crate::audit::security::SecurityConfig::default()
            },
            max_in_flight: w.max_in_flight,
            shutdown_grace: Duration::from_secs(w.shutdown_grace_secs),
            replicas: w.replicas,
            keyring: crate::keyring::KeyringConfig {
                argon2: crate::crypto::Argon2Params {
                    m_kib: w.argon2_m_kib,
                    t: w.argon2_t,
                    p: w.argon2_p,
                },
                pool_size: w
                    .argon2_threads
                    .unwrap_or(crate::keyring::KeyringConfig::default().pool_size),
                fail_limit: w.enroll_fail_limit,
                fail_window: Duration::from_secs(w.enroll_fail_window_secs),
                ..crate::keyring::KeyringConfig::default()
            },
            callout: match &w.callout_issuer_seed_file {
                None => None,
                Some(seed) => {
                    let templates = match &w.callout_permissions {
                        Some(p) => crate::templates::Templates::load(p)?,
                        None => crate::templates::Templates::default(),
                    };
                    anyhow::ensure!(
                        w.callout_user_ttl_secs >= 1,
                        "--callout-user-ttl-secs must be at least 1"
                    );
                    Some(std::sync::Arc::new(CalloutConfig::from_files(
                        seed,
                        w.callout_xkey_seed_file.as_deref(),
                        &w.callout_account,
                        Duration::from_secs(w.callout_user_ttl_secs),
                        templates,
                    )?))
                }
            },
        })
    }
}

impl WorkerArgs {
    /// The system-account connection settings, if any were given.
    pub fn system_args(&self, nats: &NatsArgs) -> Option<NatsArgs> {
        if self.system_user.is_none() && self.system_creds.is_none() {
            return None;
        }
        let mut a = NatsArgs::for_url(&nats.nats_url);
        a.nats_user = self.system_user.clone();
        a.nats_password = self.system_password.clone();
        a.nats_password_file = self.system_password_file.clone();
        a.nats_creds = self.system_creds.clone();
        Some(a)
    }
}

/// Callout settings.
pub struct CalloutConfig {
    /// The issuer account key pair (`SA…` seed); the server config names its public key.
    pub issuer: nkeys::KeyPair,
    /// The callout's curve key pair (`SX…` seed) when the server encrypts requests.
    pub xkey: Option<nkeys::XKey>,
    /// The account clients are placed in (`aud` of the user JWT).
    pub account: String,
    /// Lifetime of issued user JWTs: the backstop if an eviction is missed.
    pub user_ttl: Duration,
    pub templates: crate::templates::Templates,
}

impl std::fmt::Debug for CalloutConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalloutConfig")
            .field("issuer", &self.issuer.public_key())
            .field("xkey", &self.xkey.as_ref().map(|x| x.public_key()))
            .field("account", &self.account)
            .field("user_ttl", &self.user_ttl)
            .finish()
    }
}

impl CalloutConfig {
    /// Reads the issuer seed and optional xkey seed from files.
    pub fn from_files(
        issuer_seed: &Path,
        xkey_seed: Option<&Path>,
        account: &str,
        user_ttl: Duration,
        templates: crate::templates::Templates,
    ) -> anyhow::Result<Self> {
        let seed = zeroize::Zeroizing::new(
            std::fs::read_to_string(issuer_seed)
                .with_context(|| format!("reading {}", issuer_seed.display()))?,
        );
        let issuer = nkeys::KeyPair::from_seed(seed.trim())
            .map_err(|e| anyhow::anyhow!("issuer seed: {e}"))?;
        anyhow::ensure!(
            issuer.public_key().starts_with('A'),
            "the issuer seed must be an account nkey seed (SA…)"
        );
        let xkey = match xkey_seed {
            Some(p) => {
                let s = zeroize::Zeroizing::new(
                    std::fs::read_to_string(p)
                        .with_context(|| format!("reading {}", p.display()))?,
                );
                Some(
                    nkeys::XKey::from_seed(s.trim())
                        .map_err(|e| anyhow::anyhow!("xkey seed: {e}"))?,
                )
            }
            None => None,
        };
        Ok(Self {
            issuer,
            xkey,
            account: account.to_owned(),
            user_ttl,
            templates,
        })
    }
}

/// A subject prefix: dot-separated tokens of letters, digits, `_` and `-`.
pub fn validate_prefix(p: &str) -> anyhow::Result<()> {
    let ok = !p.is_empty()
        && p.split('.').all(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        });
    anyhow::ensure!(
        ok,
        "--prefix must be dot-separated tokens of letters, digits, '_' or '-'"
    );
    Ok(())
}
