//! The `roster` command line: the worker (`serve`), operator tools (`bootstrap`, `dev`)
//! and a client command for every endpoint. Tables for people, `--json` for scripts.

mod output;

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

/// roster: membership for NATS buses. Invites, registration, admin commands and an audit
/// trail, kept in JetStream KV and served over request-reply.
#[derive(Debug, Parser)]
#[command(name = "roster", version, about, long_about = None)]
pub struct Cli {
    /// Log as JSON lines (for `serve` and `dev`).
    #[arg(long, global = true, env = "ROSTER_LOG_JSON")]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a worker: create buckets and the audit stream if missing, serve until SIGINT/SIGTERM.
    Serve {
        #[command(flatten)]
        nats: NatsArgs,
        #[command(flatten)]
        worker: WorkerArgs,
    },
    /// Mint the first owner invite (refused once an owner exists).
    Bootstrap {
        #[command(flatten)]
        nats: NatsArgs,
        /// Handle of the owner to invite.
        #[arg(long)]
        handle: String,
        /// Bucket replicas, if the buckets do not exist yet.
        #[arg(long, env = "ROSTER_REPLICAS", default_value_t = 1)]
        replicas: usize,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Start a private nats-server with JetStream, bootstrap, and run a worker: the whole
    /// service on a laptop. Ctrl-C stops everything.
    Dev {
        /// Port for nats-server (0 picks a free one).
        #[arg(long, default_value_t = 4222)]
        port: u16,
        /// Keep the server's data here (default: a temporary directory, removed on exit).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Handle for the owner invite.
        #[arg(long, default_value = "owner")]
        handle: String,
        /// Print one JSON line `{"nats_url", "owner_invite"}` once ready.
        #[arg(long)]
        json: bool,
        /// Run the bus without the auth callout (open to anyone on loopback).
        #[arg(long)]
        no_callout: bool,
    },
    /// Measure roster against the raw-NATS floor on this machine (starts its own
    /// nats-server and worker). Progress on stderr; `--json` prints one object.
    Bench(crate::bench::BenchArgs),
    /// Check every bucket and the audit trail for orphans and broken invariants; exits
    /// 1 when it finds any. Run it on a quiet bus.
    Check {
        #[command(flatten)]
        nats: NatsArgs,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// The benchmark's raw-NATS floor responder (started by `roster bench`).
    #[command(hide = true)]
    BenchFloor {
        #[arg(long)]
        nats_url: String,
        #[arg(long)]
        records: usize,
    },
    /// Generate the callout's keys: an account nkey seed (issuer) and a curve seed (xkey),
    /// written with mode 0600; prints the public keys for the server config.
    CalloutKeys {
        /// Directory to write issuer.seed and xkey.seed into.
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a user or a machine (an admin, or the identity itself). Its live
    /// connections are closed and the bus refuses it from then on.
    Revoke {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long, conflicts_with = "machine", required_unless_present = "machine")]
        user: Option<String>,
        #[arg(long)]
        machine: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Create an identity file with a fresh Ed25519 and X25519 key pair (mode 0600).
    Keygen {
        /// Where to write it.
        #[arg(long, env = "ROSTER_IDENTITY")]
        identity: Option<PathBuf>,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
        /// Print the public keys as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Redeem an invite with the identity file's keys.
    Register {
        #[command(flatten)]
        client: ClientArgs,
        /// The invite token (`inv_…`). Prefer `ROSTER_INVITE` or `--invite-file`: a flag's
        /// value is visible to other users in the process list.
        #[arg(
            long,
            env = "ROSTER_INVITE",
            hide_env_values = true,
            required_unless_present = "invite_file"
        )]
        invite: Option<String>,
        /// File holding the invite token (`-` reads it from standard input).
        #[arg(long, conflicts_with = "invite")]
        invite_file: Option<PathBuf>,
    },
    /// Invites: create, list, get, cancel.
    #[command(subcommand)]
    Invite(InviteCmd),
    /// Users: list, get, set-role, delete.
    #[command(subcommand)]
    User(UserCmd),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Sites and their enrollment keys.
    #[command(subcommand)]
    Site(SiteCmd),
    /// Enrolled machines: list, get, approve, reject.
    #[command(subcommand)]
    Machine(MachineCmd),
    /// Enroll this machine as an agent with a site's enrollment key. Uses (or creates) the
    /// identity file and writes the opened credential with mode 0600.
    Enroll {
        #[command(flatten)]
        client: ClientArgs,
        /// Site code.
        #[arg(long)]
        site: String,
        /// Tenant (default `default`).
        #[arg(long)]
        tenant: Option<String>,
        /// The site's enrollment key (`cek_…`). Prefer `ROSTER_ENROLLMENT_KEY` or
        /// `--key-file`: a flag's value is visible to other users in the process list.
        #[arg(
            long,
            env = "ROSTER_ENROLLMENT_KEY",
            hide_env_values = true,
            required_unless_present = "key_file"
        )]
        key: Option<String>,
        /// File holding the enrollment key (`-` reads it from standard input).
        #[arg(long, conflicts_with = "key")]
        key_file: Option<PathBuf>,
        /// This machine's stable id (e.g. /etc/machine-id).
        #[arg(long)]
        uid: String,
        #[arg(long)]
        hostname: Option<String>,
        #[arg(long)]
        os: Option<String>,
        #[arg(long)]
        agent_version: Option<String>,
        /// Where to write the credential (default: credential.json beside the identity).
        #[arg(long, env = "ROSTER_CREDENTIAL")]
        credential_out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SiteCmd {
    /// Create a site; prints its first enrollment key once.
    Create {
        #[command(flatten)]
        client: ClientArgs,
        site: String,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        company: Option<String>,
        /// auto (default) or approval.
        #[arg(long)]
        policy: Option<String>,
    },
    /// List sites.
    List {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show one site.
    Get {
        #[command(flatten)]
        client: ClientArgs,
        site: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Rotate a site's enrollment key; prints the new key once.
    RotateKey {
        #[command(flatten)]
        client: ClientArgs,
        site: String,
        #[arg(long)]
        tenant: Option<String>,
        /// Seconds the previous key keeps working (default 0).
        #[arg(long)]
        grace_secs: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MachineCmd {
    /// List machines.
    List {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        site: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
        /// active, pending, rejected or revoked.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show one machine.
    Get {
        #[command(flatten)]
        client: ClientArgs,
        machine_id: String,
    },
    /// Approve a pending machine.
    Approve {
        #[command(flatten)]
        client: ClientArgs,
        machine_id: String,
    },
    /// Reject a pending machine.
    Reject {
        #[command(flatten)]
        client: ClientArgs,
        machine_id: String,
    },
}

/// Options of every client command.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    #[command(flatten)]
    pub nats: NatsArgs,
    /// Identity file to sign with (default `$ROSTER_IDENTITY` or ~/.config/roster/identity.json).
    #[arg(long, env = "ROSTER_IDENTITY")]
    pub identity: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for a reply.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum InviteCmd {
    /// Mint an invite; prints the token once.
    Create {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        handle: String,
        /// owner, admin, operator or member.
        #[arg(long, default_value = "member")]
        role: String,
        /// Lifetime in seconds (default 7 days, at most 30 days).
        #[arg(long)]
        ttl_secs: Option<u64>,
    },
    /// List invites.
    List {
        #[command(flatten)]
        client: ClientArgs,
        /// pending, used, cancelled or expired.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show one invite.
    Get {
        #[command(flatten)]
        client: ClientArgs,
        invite_id: String,
    },
    /// Cancel a pending invite.
    Cancel {
        #[command(flatten)]
        client: ClientArgs,
        invite_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// List users.
    List {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        role: Option<String>,
        /// active or revoked.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show one user.
    Get {
        #[command(flatten)]
        client: ClientArgs,
        handle: String,
    },
    /// Change a user's role (and an operator's sites).
    SetRole {
        #[command(flatten)]
        client: ClientArgs,
        handle: String,
        role: String,
        /// Comma-separated site codes (operators only).
        #[arg(long, value_delimiter = ',')]
        sites: Option<Vec<String>>,
    },
    /// Delete a user for good; its key may register again with a new invite.
    Delete {
        #[command(flatten)]
        client: ClientArgs,
        handle: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Query audit events (most recent `--limit`, oldest first).
    Query {
        #[command(flatten)]
        client: ClientArgs,
        /// Action, e.g. `invite.created`, or a family like `user.>`.
        #[arg(long)]
        action: Option<String>,
        /// Actor id (handle, machine id or key).
        #[arg(long)]
        actor: Option<String>,
        /// Target id.
        #[arg(long)]
        target: Option<String>,
        /// RFC 3339 lower bound.
        #[arg(long)]
        since: Option<String>,
        /// RFC 3339 upper bound.
        #[arg(long)]
        until: Option<String>,
        /// Most events to print (default 100, at most 1000).
        #[arg(long)]
        limit: Option<u32>,
        /// Read the security stream instead: strangers' refused attempts (bad
        /// signatures, unknown keys and invites, denied enrollments, refused
        /// connections), counted per action, code and source per minute.
        #[arg(long)]
        security: bool,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let server_side = matches!(cli.command, Command::Serve { .. } | Command::Dev { .. });
    init_tracing(cli.log_json, server_side);
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
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(json: bool, server_side: bool) {
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
        Command::BenchFloor { nats_url, records } => {
            crate::bench::floor_responder(&nats_url, records).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => {
            // Interrupted, the bench returns so its servers and temporary stores are
            // dropped (killed and removed), not left behind.
            let report = tokio::select! {
                r = crate::bench::run(&args) => r?,
                _ = wait_for_signal() => anyhow::bail!("interrupted; the bench's processes were stopped"),
            };
            if args.json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", crate::bench::table(&report));
            }
            Ok(ExitCode::SUCCESS)
        }
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
fn required_secret(
    value: Option<String>,
    file: Option<PathBuf>,
    what: &str,
) -> anyhow::Result<zeroize::Zeroizing<String>> {
    crate::config::secret_from(value.as_deref(), file.as_deref())?
        .ok_or_else(|| anyhow::anyhow!("give {what}"))
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

async fn serve(nats: NatsArgs, w: WorkerArgs) -> anyhow::Result<ExitCode> {
    let settings = crate::app::Settings::from_args(&nats, &w)?;
    let app = crate::app::App::build(&settings, "roster-worker").await?;
    app.run_until(wait_for_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

async fn bootstrap_cmd(
    nats: NatsArgs,
    handle: &str,
    replicas: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let handle = Handle::parse(handle).map_err(|e| anyhow::anyhow!("--handle: {e}"))?;
    let cfg = WorkerConfig::from_args(
        &nats,
        &WorkerArgs {
            replicas,
            ..WorkerArgs::default()
        },
    )?;
    let client = nats.connect("roster-bootstrap").await?;
    let (store, audit) = worker::open_state(&client, &cfg).await?;
    match bootstrap::bootstrap(&store, &audit, &handle, cfg.handlers.invite_default_ttl).await {
        Ok(inv) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"token": inv.token, "handle": inv.handle, "role": inv.role, "expires_at": inv.expires_at})
                );
            } else {
                println!(
                    "Owner invite for '{}' (expires {}):\n\n  {}\n",
                    inv.handle, inv.expires_at, inv.token
                );
                println!(
                    "Redeem it with:\n  roster keygen\n  ROSTER_INVITE={} roster register --nats-url {}",
                    inv.token, nats.nats_url
                );
            }
            client.flush().await?;
            Ok(ExitCode::SUCCESS)
        }
        Err(bootstrap::BootstrapError::OwnerExists(owner)) => {
            let msg =
                format!("an owner already exists ({owner}); ask an owner for an invite instead");
            if json {
                println!(
                    "{}",
                    serde_json::json!({"error": {"code": "owner_exists", "message": msg}})
                );
            } else {
                eprintln!("error: {msg}");
            }
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}

fn callout_keys(out: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    let (issuer, xkey) = crate::callout::generate_keys()?;
    let issuer_path = out.join("issuer.seed");
    let xkey_path = out.join("xkey.seed");
    for p in [&issuer_path, &xkey_path] {
        anyhow::ensure!(
            !p.exists(),
            "{} exists; refusing to overwrite a key",
            p.display()
        );
    }
    identity::write_private(&issuer_path, issuer.as_bytes())?;
    identity::write_private(&xkey_path, xkey.as_bytes())?;
    let issuer_pub = nkeys::KeyPair::from_seed(&issuer)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .public_key();
    let xkey_pub = nkeys::XKey::from_seed(&xkey)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .public_key();
    if json {
        println!(
            "{}",
            serde_json::json!({"issuer_pub": issuer_pub, "xkey_pub": xkey_pub, "issuer_seed_file": issuer_path, "xkey_seed_file": xkey_path})
        );
    } else {
        println!(
            "wrote {} and {} (mode 0600)\n",
            issuer_path.display(),
            xkey_path.display()
        );
        println!("server config (auth_callout):\n  issuer: {issuer_pub}\n  xkey: {xkey_pub}\n");
        println!(
            "worker:\n  roster serve --callout-issuer-seed-file {} --callout-xkey-seed-file {} …",
            issuer_path.display(),
            xkey_path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn dev(
    port: u16,
    data_dir: Option<PathBuf>,
    handle: &str,
    json: bool,
    no_callout: bool,
) -> anyhow::Result<ExitCode> {
    let handle = Handle::parse(handle).map_err(|e| anyhow::anyhow!("--handle: {e}"))?;
    if !json {
        eprintln!("starting nats-server with JetStream…");
    }
    let server = NatsServer::start(ServerOptions {
        port,
        data_dir,
        sync_always: false,
        callout: if no_callout {
            None
        } else {
            Some(crate::natsd::CalloutSetup::generate()?)
        },
        max_file_store: None,
    })
    .await?;
    let url = server.url();
    let settings = crate::app::Settings::for_server(&server, &WorkerArgs::default())?;
    let admin = settings.nats.connect("roster-dev").await?;
    let (store, audit) = worker::open_state(&admin, &settings.worker).await?;
    let invite = match bootstrap::bootstrap(
        &store,
        &audit,
        &handle,
        settings.worker.handlers.invite_default_ttl,
    )
    .await
    {
        Ok(inv) => Some(inv),
        Err(bootstrap::BootstrapError::OwnerExists(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let app = crate::app::App::build(&settings, "roster-dev-worker").await?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "nats_url": url,
                "owner_invite": invite.as_ref().map(|i| i.token.clone()),
                "owner_handle": handle,
                "data_dir": server.dir(),
                "callout": !no_callout,
            })
        );
    } else {
        println!("roster dev is ready.\n");
        println!("  NATS URL:  {url}");
        println!("  data dir:  {}", server.dir().display());
        if no_callout {
            println!("  auth:      none (--no-callout): the bus is open");
        } else {
            println!("  auth:      roster auth callout: only the roster gets in; unknown keys get the onboarding lane");
        }
        match &invite {
            Some(inv) => {
                println!(
                    "  owner invite for '{}' (expires {}):\n\n    {}\n",
                    inv.handle, inv.expires_at, inv.token
                );
                println!("Join as the owner from another terminal:\n");
                println!("  export ROSTER_NATS_URL={url}");
                println!("  roster keygen");
                println!("  ROSTER_INVITE={} roster register", inv.token);
                println!("  roster invite create --handle alice --role member\n");
            }
            None => println!("  an owner already exists in this data dir; use its identity.\n"),
        }
        println!("Ctrl-C stops the worker and nats-server.");
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    app.run_until(async {
        wait_for_signal().await;
        if !json {
            eprintln!("stopping…");
        }
    })
    .await?;
    drop(admin);
    drop(server);
    Ok(ExitCode::SUCCESS)
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

async fn site_cmd(cmd: SiteCmd) -> anyhow::Result<ExitCode> {
    use crate::wire::admin::{RotateKeyRequest, SiteCreateRequest, SiteListRequest};
    match cmd {
        SiteCmd::Create {
            client,
            site,
            tenant,
            display_name,
            company,
            policy,
        } => {
            let req = SiteCreateRequest {
                site: parse("site", SiteCode::parse(&site))?,
                tenant: tenant
                    .map(|t| parse("--tenant", Tenant::parse(&t)))
                    .transpose()?,
                display_name: display_name
                    .map(|d| parse("--display-name", Label::parse(&d)))
                    .transpose()?,
                company: company
                    .map(|d| parse("--company", Label::parse(&d)))
                    .transpose()?,
                policy: match policy.as_deref() {
                    None => None,
                    Some("auto") => Some(Policy::Auto),
                    Some("approval") => Some(Policy::Approval),
                    Some(o) => anyhow::bail!("--policy {o}: expected auto or approval"),
                },
            };
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.site_create(&req).await,
                output::site_created,
            )
        }
        SiteCmd::List {
            client,
            tenant,
            limit,
            cursor,
        } => {
            let req = SiteListRequest {
                tenant: tenant
                    .map(|t| parse("--tenant", Tenant::parse(&t)))
                    .transpose()?,
                limit: opt("--limit", limit)?,
                cursor: opt("--cursor", cursor)?,
            };
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.site_list(&req).await,
                output::site_list,
            )
        }
        SiteCmd::Get {
            client,
            site,
            tenant,
        } => {
            let site = parse("site", SiteCode::parse(&site))?;
            let tenant = tenant
                .map(|t| parse("--tenant", Tenant::parse(&t)))
                .transpose()?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.site_get(&site, tenant.as_ref()).await,
                output::site,
            )
        }
        SiteCmd::RotateKey {
            client,
            site,
            tenant,
            grace_secs,
        } => {
            let req = RotateKeyRequest {
                site: parse("site", SiteCode::parse(&site))?,
                tenant: tenant
                    .map(|t| parse("--tenant", Tenant::parse(&t)))
                    .transpose()?,
                grace_secs: opt("--grace-secs", grace_secs)?,
            };
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.site_rotate_key(&req).await,
                output::rotated,
            )
        }
    }
}

async fn machine_cmd(cmd: MachineCmd) -> anyhow::Result<ExitCode> {
    use crate::wire::admin::{MachineListRequest, MachineStateFilter};
    match cmd {
        MachineCmd::List {
            client,
            site,
            tenant,
            state,
            limit,
            cursor,
        } => {
            let req = MachineListRequest {
                site: site
                    .map(|s| parse("--site", SiteCode::parse(&s)))
                    .transpose()?,
                tenant: tenant
                    .map(|t| parse("--tenant", Tenant::parse(&t)))
                    .transpose()?,
                state: match state.as_deref() {
                    None => None,
                    Some("active") => Some(MachineStateFilter::Active),
                    Some("pending") => Some(MachineStateFilter::Pending),
                    Some("rejected") => Some(MachineStateFilter::Rejected),
                    Some("revoked") => Some(MachineStateFilter::Revoked),
                    Some(o) => {
                        anyhow::bail!("--state {o}: expected active, pending, rejected or revoked")
                    }
                },
                limit: opt("--limit", limit)?,
                cursor: opt("--cursor", cursor)?,
            };
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.machine_list(&req).await,
                output::machine_list,
            )
        }
        MachineCmd::Get { client, machine_id } => {
            let id = parse("machine id", MachineId::parse(&machine_id))?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.machine_get(&id).await,
                output::machine,
            )
        }
        MachineCmd::Approve { client, machine_id } => {
            let id = parse("machine id", MachineId::parse(&machine_id))?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.machine_approve(&id).await,
                output::machine,
            )
        }
        MachineCmd::Reject { client, machine_id } => {
            let id = parse("machine id", MachineId::parse(&machine_id))?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.machine_reject(&id).await,
                output::machine,
            )
        }
    }
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

async fn invite_cmd(cmd: InviteCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        InviteCmd::Create {
            client,
            handle,
            role,
            ttl_secs,
        } => {
            let handle = parse("--handle", Handle::parse(&handle))?;
            let role = parse("--role", Role::parse(&role))?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.invite_create(&handle, role, ttl_secs).await,
                output::invite_created,
            )
        }
        InviteCmd::List {
            client,
            state,
            limit,
            cursor,
        } => {
            let state = match state.as_deref() {
                None => None,
                Some("pending") => Some(InviteStateFilter::Pending),
                Some("used") => Some(InviteStateFilter::Used),
                Some("cancelled") => Some(InviteStateFilter::Cancelled),
                Some("expired") => Some(InviteStateFilter::Expired),
                Some(other) => {
                    anyhow::bail!("--state {other}: expected pending, used, cancelled or expired")
                }
            };
            let c = connect_client(&client).await?;
            let req = InviteListRequest {
                state,
                limit: opt("--limit", limit)?,
                cursor: opt("--cursor", cursor)?,
            };
            finish(
                &Out::new(client.json),
                c.invite_list(&req).await,
                output::invite_list,
            )
        }
        InviteCmd::Get { client, invite_id } => {
            let id = parse("invite id", InviteId::parse(&invite_id))?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.invite_get(&id).await,
                output::invite,
            )
        }
        InviteCmd::Cancel { client, invite_id } => {
            let id = parse("invite id", InviteId::parse(&invite_id))?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.invite_cancel(&id).await,
                output::invite,
            )
        }
    }
}

async fn user_cmd(cmd: UserCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        UserCmd::List {
            client,
            role,
            status,
            limit,
            cursor,
        } => {
            let role = role.map(|r| parse("--role", Role::parse(&r))).transpose()?;
            let status = match status.as_deref() {
                None => None,
                Some("active") => Some(UserStatusFilter::Active),
                Some("revoked") => Some(UserStatusFilter::Revoked),
                Some(other) => anyhow::bail!("--status {other}: expected active or revoked"),
            };
            let c = connect_client(&client).await?;
            let req = UserListRequest {
                role,
                status,
                limit: opt("--limit", limit)?,
                cursor: opt("--cursor", cursor)?,
            };
            finish(
                &Out::new(client.json),
                c.user_list(&req).await,
                output::user_list,
            )
        }
        UserCmd::Get { client, handle } => {
            let handle = parse("handle", Handle::parse(&handle))?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.user_get(&handle).await,
                output::user,
            )
        }
        UserCmd::SetRole {
            client,
            handle,
            role,
            sites,
        } => {
            let handle = parse("handle", Handle::parse(&handle))?;
            let role = parse("role", Role::parse(&role))?;
            let sites = sites
                .map(|v| {
                    v.iter()
                        .map(|s| parse("--sites", SiteCode::parse(s)))
                        .collect::<anyhow::Result<Vec<_>>>()
                })
                .transpose()?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.user_set_role(&handle, role, sites).await,
                output::user,
            )
        }
        UserCmd::Delete { client, handle } => {
            let handle = parse("handle", Handle::parse(&handle))?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.user_delete(&handle).await,
                output::deleted,
            )
        }
    }
}

async fn audit_cmd(cmd: AuditCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCmd::Query {
            client,
            action,
            actor,
            target,
            since,
            until,
            limit,
            security,
        } => {
            let c = connect_client(&client).await.context("audit query")?;
            let req = AuditQueryRequest {
                action: opt("--action", action)?,
                actor,
                target,
                since: opt("--since", since)?,
                until: opt("--until", until)?,
                limit: opt("--limit", limit)?,
                stream: security.then_some(crate::wire::admin::AuditStream::Security),
            };
            finish(
                &Out::new(client.json),
                c.audit_query(&req).await,
                output::audit,
            )
        }
    }
}
