//! Settings: NATS connection options and worker tuning, from flags and `ROSTER_*`
//! environment variables (clap reads both; flags win).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use crate::handlers::HandlerConfig;
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
    /// Password for user/password authentication.
    #[arg(long, env = "ROSTER_NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<String>,
    /// Token authentication.
    #[arg(long, env = "ROSTER_NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,
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
            nats_token: None,
            nats_nkey_seed_file: None,
            nats_creds: None,
            prefix: "roster".into(),
        }
    }

    /// Connects with the configured credentials.
    pub async fn connect(&self, name: &str) -> anyhow::Result<async_nats::Client> {
        let mut opts = async_nats::ConnectOptions::new()
            .name(name)
            .connection_timeout(Duration::from_secs(5))
            .request_timeout(Some(Duration::from_secs(10)));
        if let Some(creds) = &self.nats_creds {
            opts = opts
                .credentials_file(creds)
                .await
                .with_context(|| format!("reading creds file {}", creds.display()))?;
        }
        if let (Some(u), Some(p)) = (&self.nats_user, &self.nats_password) {
            opts = opts.user_and_password(u.clone(), p.clone());
        }
        if let Some(t) = &self.nats_token {
            opts = opts.token(t.clone());
        }
        if let Some(f) = &self.nats_nkey_seed_file {
            let seed = std::fs::read_to_string(f)
                .with_context(|| format!("reading nkey seed file {}", f.display()))?;
            opts = opts.nkey(seed.trim().to_owned());
        }
        opts.connect(self.nats_url.as_str())
            .await
            .with_context(|| format!("connecting to NATS at {}", self.nats_url))
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
    /// Concurrent Argon2 runs (default: the number of cores).
    #[arg(long, env = "ROSTER_ARGON2_THREADS")]
    pub argon2_threads: Option<usize>,
    /// Failed enrollments per site within the window before `rate_limited`.
    #[arg(long, env = "ROSTER_ENROLL_FAIL_LIMIT", default_value_t = 20)]
    pub enroll_fail_limit: usize,
    /// The failed-enrollment window, in seconds.
    #[arg(long, env = "ROSTER_ENROLL_FAIL_WINDOW_SECS", default_value_t = 60)]
    pub enroll_fail_window_secs: u64,
}

impl Default for WorkerArgs {
    fn default() -> Self {
        Self {
            replicas: 1,
            max_in_flight: 512,
            clock_window_secs: 60,
            argon2_m_kib: 19456,
            argon2_t: 2,
            argon2_p: 1,
            argon2_threads: None,
            enroll_fail_limit: 20,
            enroll_fail_window_secs: 60,
        }
    }
}

/// Everything a worker needs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub handlers: HandlerConfig,
    pub store: StoreConfig,
    pub max_in_flight: usize,
    pub replicas: usize,
    pub keyring: crate::keyring::KeyringConfig,
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
        let window = Duration::from_secs(w.clock_window_secs);
        Ok(Self {
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
            },
            max_in_flight: w.max_in_flight,
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
            },
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
