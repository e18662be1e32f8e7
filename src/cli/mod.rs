//! The `roster` command line: the worker (`serve`), operator tools (`bootstrap`, `dev`)
//! and a client command for every endpoint. Tables for people, `--json` for scripts.

mod admin;
mod args;
mod audit;
mod context;
mod manual;
mod output;
mod pages;
mod service;
mod status;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use crate::client::{ClientError, RosterClient};
use crate::config::{NatsArgs, WorkerArgs, WorkerConfig};
use crate::domain::{Handle, InviteId, Label, MachineId, Policy, Role, SiteCode, Tenant};
use crate::natsd::{NatsServer, ServerOptions};
use crate::wire::admin::{
    AuditQueryRequest, InviteListRequest, InviteStateFilter, UserListRequest, UserStatusFilter,
};
use crate::{bootstrap, identity, worker};

use output::Out;

use admin::{invite_cmd, machine_cmd, site_cmd, user_cmd};
pub use args::*;
use audit::audit_cmd;
pub use context::{Context, ContextCmd};
pub use service::wait_for_signal;
use service::{bootstrap_cmd, callout_keys, dev, serve};

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match with_context(Cli::parse()) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("error: {}", crate::store::error_chain(&*e));
            return ExitCode::FAILURE;
        }
    };
    let server_side = matches!(cli.command, Command::Serve { .. } | Command::Dev { .. });
    init_tracing(cli.log_json, server_side);
    block_on(run(cli))
}

/// The command line in its context (`--context`, `ROSTER_CONTEXT` or the selected one):
/// what flags and `ROSTER_*` leave unset comes from the context, by parsing again with
/// the context's variables set. `roster context …` itself runs in none (a broken
/// context must not keep one from fixing it), nor do completions and the man page.
fn with_context(cli: Cli) -> anyhow::Result<Cli> {
    if matches!(
        cli.command,
        Command::Context(_) | Command::Completions { .. } | Command::Man { .. }
    ) {
        return Ok(cli);
    }
    match context::effective(cli.context.as_deref())? {
        Some((_, ctx)) if context::apply(&ctx) => Ok(Cli::parse()),
        _ => Ok(cli),
    }
}

/// Runs a command on a multi-threaded runtime: its exit code, or its error chain on
/// stderr and exit code 1 (`roster` and `roster-bench` alike).
pub fn block_on(command: impl std::future::Future<Output = anyhow::Result<ExitCode>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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

/// Logs to stderr, filtered by `ROSTER_LOG` (or `RUST_LOG`): by default info and up for
/// the server side (`serve`, `dev`), warnings for the rest; async-nats never above info.
pub fn init_tracing(json: bool, server_side: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if server_side {
        "info,async_nats=warn"
    } else {
        "warn"
    };
    let mut filter = EnvFilter::try_from_env("ROSTER_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default));
    // async-nats logs whole protocol operations, payloads included, at debug and trace:
    // an invite or enrollment key in a request body would reach the log. Whatever the
    // filter asks for, async-nats says no more than info.
    if filter
        .max_level_hint()
        .is_some_and(|l| l > tracing_subscriber::filter::LevelFilter::INFO)
    {
        if let Ok(cap) = "async_nats=info".parse() {
            filter = filter.add_directive(cap);
        }
    }
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
        } => dev(port, data_dir, &handle, json, no_callout).await,
        Command::CalloutKeys { out, json } => callout_keys(&out, json),
        Command::Check { nats, json } => {
            let cfg = WorkerConfig::from_args(&nats, &WorkerArgs::default())?;
            let client = nats.connect("roster-check").await?;
            let (store, audit) = worker::open_state(&client, &cfg).await?;
            let report = crate::check::check(&store, &audit).await?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!(
                    "checked {} users, {} key index entries, {} invites, {} sites, {} machines, {} uid index entries, {} credentials, {} audit events",
                    report.users, report.user_keys, report.invites, report.sites, report.machines,
                    report.machine_uids, report.credentials, report.audit_events
                );
                for p in &report.problems {
                    println!("{}: {}: {}", p.kind, p.subject, p.detail);
                }
                println!("{} problem(s)", report.problems.len());
            }
            Ok(if report.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Bench { args } => run_bench(&args),
        Command::Revoke {
            client,
            user,
            machine,
            reason,
        } => {
            let c = connect_client(&client).await?;
            let out = Out::new(client.json);
            let res = match (user, machine) {
                (Some(u), _) => {
                    c.revoke_user(&parse("--user", Handle::parse(&u))?, reason.as_deref())
                        .await
                }
                (None, Some(m)) => {
                    c.revoke_machine(
                        &parse("--machine", MachineId::parse(&m))?,
                        reason.as_deref(),
                    )
                    .await
                }
                (None, None) => anyhow::bail!("give --user or --machine"),
            };
            finish(&out, res, output::revoked)
        }
        Command::Keygen {
            identity,
            force,
            json,
        } => keygen(identity, force, json),
        Command::Register {
            client,
            invite,
            invite_file,
        } => {
            let out = Out::new(client.json);
            let invite = required_secret(invite, invite_file, "--invite or --invite-file")?;
            let c = connect_client(&client).await?;
            finish(&out, c.register(&invite).await, output::register)
        }
        Command::Invite(cmd) => invite_cmd(cmd).await,
        Command::User(cmd) => user_cmd(cmd).await,
        Command::Audit(cmd) => audit_cmd(cmd).await,
        Command::Site(cmd) => site_cmd(cmd).await,
        Command::Machine(cmd) => machine_cmd(cmd).await,
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
            enroll_cmd(client, args, credential_out).await
        }
    }
}

/// A secret from its flag or environment variable, or else from its file (`-`: stdin).
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

fn required_secret(
    value: Option<String>,
    file: Option<PathBuf>,
    what: &str,
) -> anyhow::Result<zeroize::Zeroizing<String>> {
    crate::config::secret_from(value.as_deref(), file.as_deref())?
        .ok_or_else(|| anyhow::anyhow!("give {what}"))
}

fn keygen(path: Option<PathBuf>, force: bool, json: bool) -> anyhow::Result<ExitCode> {
    let path = path.unwrap_or_else(identity::default_path);
    let keys = identity::create(&path, force)?;
    let kex = keys.kex_pub()?;
    if json {
        println!(
            "{}",
            serde_json::json!({"identity": path, "sign_pub": keys.sign_pub().to_hex(), "kex_pub": kex.to_hex()})
        );
    } else {
        println!("wrote {} (mode 0600)", path.display());
        println!("  sign_pub: {}", keys.sign_pub());
        println!("  kex_pub:  {}", kex.to_hex());
    }
    Ok(ExitCode::SUCCESS)
}

async fn connect_client(a: &ClientArgs) -> anyhow::Result<RosterClient> {
    let path = a.identity.clone().unwrap_or_else(identity::default_path);
    let keys = identity::load(&path)?;
    crate::config::validate_prefix(&a.nats.prefix)?;
    let nats = a.nats.connect_as("roster-cli", &keys).await?;
    Ok(RosterClient::new(nats, &a.nats.prefix, keys)
        .with_timeout(Duration::from_secs(a.timeout.max(1))))
}

/// Prints a result: the table or JSON on success, the code and message on a refusal.
fn finish<T: serde::Serialize>(
    out: &Out,
    res: Result<T, ClientError>,
    table: fn(&T),
) -> anyhow::Result<ExitCode> {
    match res {
        Ok(v) => {
            if out.json {
                println!("{}", serde_json::to_string(&v)?);
            } else {
                table(&v);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(ClientError::Api(e)) => {
            if out.json {
                println!(
                    "{}",
                    serde_json::to_string(&crate::wire::ErrorEnvelope::from(&e))?
                );
            } else {
                eprintln!("error: {}: {}", e.code, e.message);
            }
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}

async fn enroll_cmd(
    a: ClientArgs,
    args: crate::client::EnrollArgs,
    out_path: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let id_path = a.identity.clone().unwrap_or_else(identity::default_path);
    if !id_path.exists() {
        identity::create(&id_path, false)?;
        eprintln!("created identity {}", id_path.display());
    }
    let c = connect_client(&a).await?;
    let out = Out::new(a.json);
    let reply = match c.enroll(&args).await {
        Ok(r) => r,
        Err(e) => return finish::<()>(&out, Err(e), |_| {}),
    };
    let credential = c.open_credential(&reply)?;
    let path = out_path.unwrap_or_else(|| identity::default_credential_path(&id_path));
    let doc = zeroize::Zeroizing::new(serde_json::to_vec_pretty(&serde_json::json!({
        "machine_id": reply.machine_id,
        "tenant": reply.tenant,
        "site": reply.site,
        "credential": credential.as_str(),
    }))?);
    identity::write_private(&path, &doc)?;
    let shown = serde_json::json!({
        "machine_id": reply.machine_id,
        "state": reply.state,
        "site": reply.site,
        "tenant": reply.tenant,
        "credential_file": path,
    });
    finish(&out, Ok::<_, ClientError>(shown), output::enrolled)
}

/// Converts an optional flag into its checked wire type.
fn opt<X, T: TryFrom<X, Error = String>>(what: &str, v: Option<X>) -> anyhow::Result<Option<T>> {
    v.map(T::try_from)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

fn parse<T>(what: &str, r: Result<T, crate::domain::ParseError>) -> anyhow::Result<T> {
    r.map_err(|e| anyhow::anyhow!("{what}: {e}"))
}
