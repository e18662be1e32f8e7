//! Worker settings: the tuning flags (`WorkerArgs`), checked into everything a worker
//! needs (`WorkerConfig`: handlers, store, keyring, security stream, callout).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{flag, validate_prefix, CalloutConfig, ConfigError, NatsArgs};
use crate::store::StoreConfig;

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
    /// Connections the callout answers on (each in queue group `roster`). nats-server
    /// handles what one connection sends in order (the callout's KV reads and its
    /// answers), so after a server restart a single connection admits the reconnecting
    /// fleet one at a time; several spread the storm over the server's cores.
    #[arg(long, env = "ROSTER_CALLOUT_CONNECTIONS", default_value_t = 4)]
    pub callout_connections: usize,
    /// Seconds after which a change whose audit event has not appeared counts as
    /// interrupted, and the healer finishes it (1 to 120; below the audit stream's
    /// two-minute duplicate window, so each event is stored once).
    #[arg(long, env = "ROSTER_HEAL_SETTLE_SECS", default_value_t = 10)]
    pub heal_settle_secs: u64,
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
    /// Failed enrollments per source (connection, else agent key) within the window,
    /// counted by all workers together, before that source gets `rate_limited`; other
    /// sources are never affected (1 to 1000).
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
    /// code and source per window, whatever the number of workers (PROTOCOL §5 sets a
    /// minute).
    #[arg(long, env = "ROSTER_SECURITY_WINDOW_SECS", default_value_t = 60)]
    pub security_window_secs: u64,
    /// Largest size of the nonce bucket (the replay window), in MiB. When it is full,
    /// signed requests answer `rate_limited` until old nonces expire.
    #[arg(long, env = "ROSTER_NONCE_MAX_MIB", default_value_t = 256)]
    pub nonce_max_mib: u64,
    /// Largest size of each shared-counter bucket (the enrollment throttle's failures,
    /// the security log's tallies), in MiB; the oldest records go first.
    #[arg(long, env = "ROSTER_COUNTERS_MAX_MIB", default_value_t = 8)]
    pub counters_max_mib: u64,
    /// Serve Prometheus metrics on `http://ADDR/metrics` and a health check on
    /// `/healthz` (e.g. `127.0.0.1:9090`; port 0 picks one). Off when not given.
    #[arg(long, env = "ROSTER_METRICS_ADDR", value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// The credential vault's key file (`roster vault init`; mode 0600, shared by every
    /// worker of the queue group). Without it the `credential.*` commands answer
    /// `unavailable`.
    #[arg(long, env = "ROSTER_VAULT_KEY_FILE", value_name = "PATH")]
    pub vault_key_file: Option<PathBuf>,
    /// Days before a credential's `expires_at` that `credential.expiring` is published
    /// (once per credential; 1 to 365).
    #[arg(long, env = "ROSTER_CREDENTIAL_EXPIRING_DAYS", default_value_t = 7)]
    pub credential_expiring_days: u64,
    /// How often a worker looks for credentials about to expire, in seconds (1 to 3600).
    #[arg(long, env = "ROSTER_CREDENTIAL_SWEEP_SECS", default_value_t = 60)]
    pub credential_sweep_secs: u64,
    /// Copy each event of a tenant into the tenant index (`ROSTER_AUDIT_TENANTS`), so
    /// `audit.query` for one tenant is filtered by the server. `false` saves that write
    /// (one stream write per event, off the request path); tenant queries then read the
    /// audit stream, at most 20,000 events a page.
    #[arg(long, env = "ROSTER_AUDIT_TENANT_INDEX", default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub audit_tenant_index: bool,
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
            counters_max_mib: 8,
            callout_connections: 4,
            heal_settle_secs: 10,
            callout_issuer_seed_file: None,
            callout_xkey_seed_file: None,
            callout_account: "ROSTER".into(),
            callout_user_ttl_secs: 3600,
            callout_permissions: None,
            system_user: None,
            system_password: None,
            system_password_file: None,
            system_creds: None,
            metrics_addr: None,
            vault_key_file: None,
            credential_expiring_days: 7,
            credential_sweep_secs: 60,
            audit_tenant_index: true,
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
    /// Connections the callout answers on (`--callout-connections`).
    pub callout_connections: usize,
    /// How old an unfinished change must be before the healer finishes it.
    pub heal_settle: Duration,
    /// Where the handlers read the time (the system clock; adjustable in tests).
    pub clock: crate::time_util::Clock,
    /// Where to serve `/metrics` and `/healthz`, if anywhere.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// The credential vault (its key file loaded), if this worker has one.
    pub vault: Option<std::sync::Arc<crate::vault::Vault>>,
    /// How long before `expires_at` a credential's `credential.expiring` comes.
    pub credential_expiring: Duration,
    /// How often the healer looks for credentials about to expire.
    pub credential_sweep: Duration,
    /// Whether the healer writes the audit tenant index.
    pub audit_tenant_index: bool,
}

impl WorkerConfig {
    /// Builds the worker settings from the command line.
    pub fn from_args(nats: &NatsArgs, w: &WorkerArgs) -> Result<Self, ConfigError> {
        validate_prefix(&nats.prefix)?;
        flag(w.replicas >= 1 && w.replicas <= 5, "--replicas", "1 to 5")?;
        flag(w.max_in_flight >= 1, "--max-in-flight", "at least 1")?;
        flag(
            (1..=120).contains(&w.heal_settle_secs),
            "--heal-settle-secs",
            "1 to 120",
        )?;
        flag(
            (1..=64).contains(&w.callout_connections),
            "--callout-connections",
            "1 to 64",
        )?;
        let argon2 = crate::crypto::Argon2Params {
            m_kib: w.argon2_m_kib,
            t: w.argon2_t,
            p: w.argon2_p,
        };
        if !argon2.is_valid() {
            return Err(ConfigError::Argon2);
        }
        // The shared failure record keeps one timestamp per failure in one KV value.
        flag(
            (1..=1000).contains(&w.enroll_fail_limit),
            "--enroll-fail-limit",
            "1 to 1000",
        )?;
        flag(
            (1..=86_400).contains(&w.enroll_fail_window_secs),
            "--enroll-fail-window-secs",
            "1 to 86400",
        )?;
        flag(
            (1..=600).contains(&w.clock_window_secs),
            "--clock-window-secs",
            "1 to 600",
        )?;
        flag(
            (1..=1 << 20).contains(&w.security_max_mib),
            "--security-max-mib",
            "1 to 1048576",
        )?;
        flag(
            (1..=3650).contains(&w.security_max_age_days),
            "--security-max-age-days",
            "1 to 3650",
        )?;
        flag(
            (1..=3600).contains(&w.security_window_secs),
            "--security-window-secs",
            "1 to 3600",
        )?;
        flag(
            (1..=1 << 20).contains(&w.nonce_max_mib),
            "--nonce-max-mib",
            "1 to 1048576",
        )?;
        flag(
            (1..=1 << 20).contains(&w.counters_max_mib),
            "--counters-max-mib",
            "1 to 1048576",
        )?;
        flag(
            (1..=365).contains(&w.credential_expiring_days),
            "--credential-expiring-days",
            "1 to 365",
        )?;
        flag(
            (1..=3600).contains(&w.credential_sweep_secs),
            "--credential-sweep-secs",
            "1 to 3600",
        )?;
        let vault = match &w.vault_key_file {
            Some(path) => Some(std::sync::Arc::new(crate::vault::Vault::from_key_file(
                path,
            )?)),
            None => None,
        };
        let window = Duration::from_secs(w.clock_window_secs);
        Ok(Self {
            vault,
            credential_expiring: Duration::from_secs(w.credential_expiring_days * 24 * 3600),
            credential_sweep: Duration::from_secs(w.credential_sweep_secs),
            audit_tenant_index: w.audit_tenant_index,
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
                enroll_fail_window: Duration::from_secs(w.enroll_fail_window_secs),
                security_window: Duration::from_secs(w.security_window_secs),
                counters_max_bytes: (w.counters_max_mib * 1024 * 1024) as i64,
            },
            security: crate::audit::security::SecurityConfig {
                max_bytes: (w.security_max_mib * 1024 * 1024) as i64,
                max_age: Duration::from_secs(w.security_max_age_days * 24 * 3600),
                window: Duration::from_secs(w.security_window_secs),
                ..crate::audit::security::SecurityConfig::default()
            },
            metrics_addr: w.metrics_addr,
            max_in_flight: w.max_in_flight,
            callout_connections: w.callout_connections,
            heal_settle: Duration::from_secs(w.heal_settle_secs),
            shutdown_grace: Duration::from_secs(w.shutdown_grace_secs),
            replicas: w.replicas,
            keyring: crate::keyring::KeyringConfig {
                argon2,
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
                    flag(
                        w.callout_user_ttl_secs >= 1,
                        "--callout-user-ttl-secs",
                        "at least 1",
                    )?;
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
        // The same server, so the same TLS settings.
        let mut a = nats.same_server();
        a.nats_user = self.system_user.clone();
        a.nats_password = self.system_password.clone();
        a.nats_password_file = self.system_password_file.clone();
        a.nats_creds = self.system_creds.clone();
        Some(a)
    }
}
