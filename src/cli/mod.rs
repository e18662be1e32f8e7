//! The `roster` command line: the worker (`serve`), operator tools (`bootstrap`, `dev`)
//! and a client command for every endpoint. Tables for people, `--json` for scripts.

mod admin;
mod apikeys;
mod args;
mod audit;
mod backup;
mod context;
mod credentials;
pub mod failure;
mod guard;
mod manual;
mod onboard;
mod output;
mod pages;
mod roles;
mod service;
mod status;
mod table;
mod tenants;
mod values;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

use crate::authz::RoleName;
use crate::client::{BusEvents, ClientError, RosterClient};
use crate::config::{NatsArgs, WorkerArgs, WorkerConfig};
use crate::domain::{Handle, InviteId, Label, MachineId, Policy, SiteCode, Tenant};
use crate::natsd::{NatsServer, ServerOptions};
use crate::wire::admin::{
    AuditQueryRequest, InviteListRequest, InviteStateFilter, UserListRequest, UserStatusFilter,
};
use crate::{bootstrap, identity, worker};

use failure::{Class, Connecting, Failure, EXIT_CODES_HELP};
use output::Out;
use values::*;

use admin::{invite_cmd, machine_cmd, site_cmd, user_cmd};
pub use args::*;
use audit::audit_cmd;
pub use context::{Context, ContextCmd};
pub use service::wait_for_signal;
use service::{bootstrap_cmd, callout_keys, check_cmd, console_cmd, dev, serve, DevConsole};

/// Entry point of the binary: parses the command line, runs the command, and ends with
/// the exit code of [`failure`]'s table (every error reported once, in JSON under
/// `--json`).
pub fn main() -> ExitCode {
    // Before parsing succeeds only the raw arguments can say whether JSON was asked for.
    let raw_json = std::env::args_os().any(|a| a == "--json");
    let parse = || {
        Cli::command()
            .try_get_matches()
            .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, wants_json(&m))))
    };
    let (cli, json) = match parse() {
        Ok(p) => p,
        Err(e) => return failure::report_clap(&e, raw_json),
    };
    // In a context, what flags and `ROSTER_*` leave unset comes from it: parse again.
    let (cli, json) = match apply_context(&cli) {
        Ok(false) => (cli, json),
        Ok(true) => match parse() {
            Ok(p) => p,
            Err(e) => return failure::report_clap(&e, raw_json),
        },
        Err(e) => return failure::classify(&e).report(json),
    };
    let server_side = matches!(cli.command, Command::Serve { .. } | Command::Dev { .. });
    init_tracing(cli.log_json, server_side);
    match runtime() {
        Ok(rt) => match rt.block_on(run(cli)) {
            Ok(code) => code,
            Err(e) => failure::classify(&e).report(json),
        },
        Err(e) => Failure::new(
            Class::Error,
            "runtime",
            format!("cannot start the runtime: {e}"),
        )
        .report(json),
    }
}

/// Whether the command that runs was given `--json` (any subcommand's own flag).
fn wants_json(m: &clap::ArgMatches) -> bool {
    let here = matches!(m.try_get_one::<bool>("json"), Ok(Some(true)));
    here || m.subcommand().is_some_and(|(_, sub)| wants_json(sub))
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Applies the command line's context (`--context`, `ROSTER_CONTEXT` or the selected
/// one): sets the `ROSTER_*` variables that flags and the environment leave unset; `true`
/// when it set any, so the command line is parsed again. `roster context …` itself runs in none (a broken
/// context must not keep one from fixing it), nor do completions and the man page.
fn apply_context(cli: &Cli) -> anyhow::Result<bool> {
    if matches!(
        cli.command,
        Command::Context(_) | Command::Completions { .. } | Command::Man { .. }
    ) {
        return Ok(false);
    }
    Ok(match context::effective(cli.context.as_deref())? {
        Some((_, ctx)) => context::apply(&ctx),
        None => false,
    })
}

/// Runs a command on a multi-threaded runtime: its exit code, or its error chain on
/// stderr and exit code 1 (`roster-bench`).
pub fn block_on(command: impl std::future::Future<Output = anyhow::Result<ExitCode>>) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(command) {
        Ok(code) => code,
        Err(e) => {
            // The whole chain of causes, each once (a NATS error repeats its source).
            eprintln!("error: {}", crate::store::error_chain(&*e));
            ExitCode::FAILURE
        }
    }
}

/// `filter` with async-nats capped at info. async-nats logs whole protocol operations,
/// payloads included, at debug and trace: an invite token, an enrollment key or an API
/// key in a request body would reach the log. Whatever the filter asks for, async-nats
/// says no more than info (the log scans in the tests install this same filter).
pub fn capped(mut filter: tracing_subscriber::EnvFilter) -> tracing_subscriber::EnvFilter {
    if filter
        .max_level_hint()
        .is_some_and(|l| l > tracing_subscriber::filter::LevelFilter::INFO)
    {
        if let Ok(cap) = "async_nats=info".parse() {
            filter = filter.add_directive(cap);
        }
    }
    filter
}

/// Logs to stderr, filtered by `ROSTER_LOG` (or `RUST_LOG`): by default info and up for
/// the server side (`serve`, `dev`), warnings for the rest; async-nats never above info,
/// and for client commands nothing from it by default (each failure is reported once,
/// by the command, instead of a line per reconnect attempt).
pub fn init_tracing(json: bool, server_side: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if server_side {
        "info,async_nats=warn"
    } else {
        "warn,async_nats=off"
    };
    let filter = EnvFilter::try_from_env("ROSTER_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default));
    let filter = capped(filter);
    use std::io::IsTerminal as _;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { nats, worker } => serve(nats, worker).await,
        Command::Bootstrap {
            nats,
            handle,
            replicas,
            json,
        } => bootstrap_cmd(nats, &handle, replicas, json).await,
        Command::Dev {
            port,
            data_dir,
            handle,
            json,
            no_callout,
            metrics_addr,
            ws_port,
            console_port,
            console_dir,
        } => {
            // `--port 0` (tests, several dev buses at once) picks free ports for all three.
            let or_free =
                |p: Option<u16>, default: u16| p.unwrap_or(if port == 0 { 0 } else { default });
            let console = DevConsole {
                ws_port: or_free(ws_port, 4280),
                console_port: or_free(console_port, 4281),
                console_dir,
            };
            dev(
                port,
                data_dir,
                &handle,
                json,
                no_callout,
                metrics_addr,
                console,
            )
            .await
        }
        Command::Console {
            listen,
            dir,
            ws_url,
            prefix,
        } => console_cmd(listen, dir.as_deref(), ws_url, prefix).await,
        Command::CalloutKeys { out, json } => callout_keys(&out, json),
        Command::Backup { nats, out, json } => backup::backup_cmd(&nats, &out, json).await,
        Command::Restore {
            nats,
            from,
            force,
            replicas,
            json,
        } => {
            let opts = crate::backup::RestoreOptions { force, replicas };
            backup::restore_cmd(&nats, &from, opts, json).await
        }
        Command::Check { nats, json } => check_cmd(nats, json).await,
        Command::Bench { args } => run_bench(&args),
        Command::Revoke {
            client,
            user,
            machine,
            reason,
            yes,
        } => admin::revoke_cmd(client, user, machine, reason, yes).await,
        Command::Keygen {
            identity,
            force,
            yes,
            json,
        } => onboard::keygen(identity, force, yes, json),
        Command::Register {
            client,
            invite,
            invite_file,
            force,
        } => onboard::register_cmd(client, invite, invite_file, force).await,
        Command::Invite(cmd) => invite_cmd(cmd).await,
        Command::User(cmd) => user_cmd(cmd).await,
        Command::Audit(cmd) => audit_cmd(cmd).await,
        Command::Site(cmd) => site_cmd(cmd).await,
        Command::Machine(cmd) => machine_cmd(cmd).await,
        Command::Tenant(cmd) => tenants::tenant_cmd(cmd).await,
        Command::Role(cmd) => roles::role_cmd(cmd).await,
        Command::Apikey(cmd) => apikeys::apikey_cmd(cmd).await,
        Command::Credential(cmd) => credentials::credential_cmd(cmd).await,
        Command::Vault(cmd) => credentials::vault_cmd(cmd),
        Command::Whoami { client } => status::whoami(&client, cli.context.as_deref()).await,
        Command::Ping { client, wait_ms } => status::ping(&client, wait_ms).await,
        Command::Context(cmd) => context::context_cmd(cmd),
        Command::Completions { shell } => manual::completions(shell),
        Command::Man { out } => manual::man(out.as_deref()),
        Command::Enroll {
            client,
            site,
            tenant,
            key,
            key_file,
            uid,
            hostname,
            os,
            agent_version,
            credential_out,
        } => {
            let key = required_secret(key, key_file, "--key or --key-file")?;
            let args = crate::client::EnrollArgs {
                site,
                tenant,
                enrollment_key: key.to_string(),
                machine_uid: uid,
                hostname,
                os,
                agent_version,
            };
            onboard::enroll_cmd(client, args, credential_out).await
        }
    }
}

/// `roster bench`: runs the `roster-bench` binary next to this one with the same
/// arguments (on Unix this process becomes it, so a signal reaches the bench itself).
fn run_bench(args: &[std::ffi::OsString]) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("locating the roster binary")?;
    let bench = exe.with_file_name(format!("roster-bench{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(
        bench.is_file(),
        "the bench is its own binary, and {} is missing: build it with \
         `cargo build --release --bin roster-bench` (or `--bins`)",
        bench.display()
    );
    let mut cmd = std::process::Command::new(&bench);
    cmd.args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let e = cmd.exec();
        Err(e).with_context(|| format!("running {}", bench.display()))
    }
    #[cfg(not(unix))]
    {
        let status = cmd
            .status()
            .with_context(|| format!("running {}", bench.display()))?;
        Ok(ExitCode::from(
            status.code().map_or(1, |c| c.clamp(0, 255) as u8),
        ))
    }
}

/// A secret from its flag or environment variable, or else from its file (`-`: stdin).
fn required_secret(
    value: Option<String>,
    file: Option<PathBuf>,
    what: &str,
) -> anyhow::Result<zeroize::Zeroizing<String>> {
    crate::config::secret_from(value.as_deref(), file.as_deref())?
        .ok_or_else(|| Failure::usage(format!("give {what}")).into())
}

/// Connects as the identity of `a` (through the auth callout, if the bus has one) with
/// a watch on the connection, so a refused publish fails its request at once, and a
/// refused connection is one line with its likely causes.
async fn connect_client(a: &ClientArgs) -> anyhow::Result<RosterClient> {
    let path = identity_path(a);
    let keys = identity::load(&path)?;
    connect_with_keys(a, keys).await
}

/// The identity file of a client command: `--identity`, `$ROSTER_IDENTITY`, or the default.
fn identity_path(a: &ClientArgs) -> PathBuf {
    a.identity.clone().unwrap_or_else(identity::default_path)
}

async fn connect_with_keys(
    a: &ClientArgs,
    keys: crate::crypto::KeyPairs,
) -> anyhow::Result<RosterClient> {
    crate::config::validate_prefix(&a.nats.prefix).map_err(|e| Failure::usage(e.to_string()))?;
    let events = BusEvents::new();
    let started = std::time::Instant::now();
    let nats = a
        .nats
        .connect_tweaked("roster-cli", Some(&keys), |o| {
            crate::client::short_lived(o, &events)
        })
        .await
        .map_err(|e| connect_failure(e, Connecting::AsIdentity, started))?;
    Ok(RosterClient::new(nats, &a.nats.prefix, keys)
        .with_timeout(Duration::from_secs(a.timeout.max(1)))
        .with_events(events))
}

/// A connection error as the failure it is (with how long the refusal took).
fn connect_failure(
    e: crate::config::ConfigError,
    how: Connecting,
    started: std::time::Instant,
) -> anyhow::Error {
    match failure::from_config(&e, Some((how, started.elapsed()))) {
        Some(f) => f.into(),
        None => e.into(),
    }
}

/// Prints a success (the table, or JSON); a refusal becomes the command's failure.
fn finish<T: serde::Serialize>(
    out: &Out,
    res: Result<T, ClientError>,
    table: fn(&T),
) -> anyhow::Result<ExitCode> {
    let v = res?;
    if out.json {
        println!("{}", serde_json::to_string(&v)?);
    } else {
        table(&v);
    }
    Ok(ExitCode::SUCCESS)
}

/// Converts an optional flag into its checked wire type (a usage error if it does not fit).
fn opt<X, T: TryFrom<X, Error = String>>(what: &str, v: Option<X>) -> anyhow::Result<Option<T>> {
    v.map(T::try_from)
        .transpose()
        .map_err(|e| Failure::usage(format!("{what}: {e}")).into())
}

/// A flag's value parsed into its domain type (a usage error if it does not parse).
fn parse<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> anyhow::Result<T> {
    r.map_err(|e| Failure::usage(format!("{what}: {e}")).into())
}
