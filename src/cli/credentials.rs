//! `roster credential …` (the vault's commands over the bus, PROTOCOL §10) and `roster
//! vault init|rotate-kek` (its key file, on the worker's host). A value is read from
//! stdin or `--value-file`, never from the command line (argv is visible to every user
//! of the host), sealed to the worker's `credential_kex` inside this process; a revealed
//! value is opened here and printed only with `--show`, or written to `--out` (0600).

use std::io::{IsTerminal as _, Read as _, Write as _};

use clap::Subcommand;
use zeroize::Zeroizing;

use super::guard;
use super::*;
use crate::client::NewCredential;
use crate::domain::{
    CredentialHolder, CredentialId, CredentialMetadata, CredentialName, CredentialScope,
    CredentialType, ProviderName,
};
use crate::wire::admin::{
    CredentialDeleteReply, CredentialListReply, CredentialListRequest, CredentialRewrapReply,
    CredentialView, Rfc3339,
};

/// `roster credential …`.
#[derive(Debug, Subcommand)]
pub enum CredentialCmd {
    /// Store a new credential. The value comes from stdin (or --value-file).
    Create {
        #[command(flatten)]
        client: ClientArgs,
        /// Who for: `user` (yours), `tenant` (needs credential:manage there), `system`
        /// (platform scope).
        #[arg(long, default_value = "user")]
        scope: String,
        /// The tenant, for `--scope tenant` (default `default`).
        #[arg(long)]
        tenant: Option<String>,
        /// Who issued it (`github`, `aws`).
        #[arg(long)]
        provider: String,
        /// Its name, unique with the provider (case-insensitively) per owner or tenant.
        #[arg(long)]
        name: String,
        /// api_key, oauth_token, access_token, secret, password or custom.
        #[arg(long = "type", default_value = "secret")]
        kind: String,
        /// Free text for people.
        #[arg(long)]
        description: Option<String>,
        /// When it expires (RFC 3339); `credential.expiring` comes a few days before.
        #[arg(long)]
        expires_at: Option<String>,
        /// A JSON object of at most 4 KiB (never the secret).
        #[arg(long)]
        metadata: Option<String>,
        /// Read the value from this file (`-`: stdin, the default).
        #[arg(long, value_name = "FILE")]
        value_file: Option<PathBuf>,
    },
    /// One owner's or tenant's credentials, masked.
    List {
        #[command(flatten)]
        client: ClientArgs,
        /// `user` (yours, or --owner's for platform admins), `tenant` or `system`.
        #[arg(long, default_value = "user")]
        scope: String,
        /// The tenant, for `--scope tenant` (default `default`).
        #[arg(long)]
        tenant: Option<String>,
        /// Another user's credentials (platform owners and admins: masked, to delete).
        #[arg(long)]
        owner: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// One credential, masked.
    Get {
        #[command(flatten)]
        client: ClientArgs,
        /// The credential id (`c-` and 32 hex characters).
        credential_id: String,
    },
    /// The value: printed only with --show, or written to --out (mode 0600).
    Reveal {
        #[command(flatten)]
        client: ClientArgs,
        /// The credential id (`c-` and 32 hex characters).
        credential_id: String,
        /// Print the value on stdout.
        #[arg(long)]
        show: bool,
        /// Write the value to this new file (mode 0600) instead.
        #[arg(long, value_name = "FILE", conflicts_with = "show")]
        out: Option<PathBuf>,
    },
    /// Replace the value (from stdin or --value-file), optionally with a new expiry.
    Rotate {
        #[command(flatten)]
        client: ClientArgs,
        /// The credential id (`c-` and 32 hex characters).
        credential_id: String,
        /// A new expiry (RFC 3339); `credential.expiring` comes again before it.
        #[arg(long)]
        expires_at: Option<String>,
        /// Read the new value from this file (`-`: stdin, the default).
        #[arg(long, value_name = "FILE")]
        value_file: Option<PathBuf>,
    },
    /// Make it inactive: it is never revealed again.
    Revoke {
        #[command(flatten)]
        client: ClientArgs,
        /// The credential id (`c-` and 32 hex characters).
        credential_id: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// Delete it and its encrypted value.
    Delete {
        #[command(flatten)]
        client: ClientArgs,
        /// The credential id (`c-` and 32 hex characters).
        credential_id: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// After `roster vault rotate-kek`: rewrap every data key under the newest
    /// key-encryption key (platform scope; no value changes).
    Rewrap {
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// `roster vault …`: the key file, on the worker's host.
#[derive(Debug, Subcommand)]
pub enum VaultCmd {
    /// Make a new key file (mode 0600): KEK version 1 and the workers' credential_kex.
    Init {
        /// Where to write it (every worker reads the same file: --vault-key-file).
        #[arg(long, env = "ROSTER_VAULT_KEY_FILE", value_name = "PATH")]
        key_file: PathBuf,
        /// Replace an existing file: every value sealed under its keys is lost.
        #[arg(long)]
        force: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Add a key-encryption key version (the old ones stay until every data key is
    /// rewrapped: `roster credential rewrap`).
    RotateKek {
        /// The key file (`roster vault init` made it).
        #[arg(long, env = "ROSTER_VAULT_KEY_FILE", value_name = "PATH")]
        key_file: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

fn credential_id(s: &str) -> anyhow::Result<CredentialId> {
    parse("credential_id", CredentialId::parse(s))
}

fn scope(s: &str) -> anyhow::Result<CredentialScope> {
    parse(
        "--scope",
        serde_json::from_value(serde_json::Value::from(s))
            .map_err(|_| "expected user, tenant or system"),
    )
}

fn expiry(s: Option<String>) -> anyhow::Result<Option<Rfc3339>> {
    opt("--expires-at", s)
}

/// The value to store: all of `--value-file` (or stdin), less one trailing newline.
fn read_value(file: Option<PathBuf>) -> anyhow::Result<Zeroizing<String>> {
    let mut text = Zeroizing::new(String::new());
    match file.filter(|p| p.as_os_str() != "-") {
        Some(p) => {
            std::fs::File::open(&p)
                .and_then(|mut f| f.read_to_string(&mut text))
                .with_context(|| format!("reading {}", p.display()))?;
        }
        None => {
            if std::io::stdin().is_terminal() {
                eprintln!("value (end with Ctrl-D):");
            }
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the value from stdin")?;
        }
    }
    let trimmed = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if trimmed.is_empty() {
        return Err(Failure::usage("the value is empty").into());
    }
    Ok(Zeroizing::new(trimmed.to_owned()))
}

pub(super) async fn credential_cmd(cmd: CredentialCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        CredentialCmd::Create {
            client,
            scope: s,
            tenant,
            provider,
            name,
            kind,
            description,
            expires_at,
            metadata,
            value_file,
        } => {
            let scope = scope(&s)?;
            let kind: CredentialType = parse(
                "--type",
                serde_json::from_value(serde_json::Value::from(kind.as_str())).map_err(|_| {
                    "expected api_key, oauth_token, access_token, secret, password or custom"
                }),
            )?;
            let metadata: Option<CredentialMetadata> = metadata
                .map(|m| parse("--metadata", serde_json::from_str(&m)))
                .transpose()?;
            let tenant = tenant
                .map(|t| parse("--tenant", Tenant::parse(&t)))
                .transpose()?;
            let provider = parse("--provider", ProviderName::parse(&provider))?;
            let name = parse("--name", CredentialName::parse(&name))?;
            let expires_at = expiry(expires_at)?;
            let value = read_value(value_file)?;
            let c = connect_client(&client).await?;
            let holder = match scope {
                CredentialScope::User => {
                    let me = c.whoami().await?.user.ok_or_else(|| {
                        Failure::usage("this identity is no user: it has no credentials")
                    })?;
                    CredentialHolder::User(me.handle)
                }
                CredentialScope::Tenant => {
                    CredentialHolder::Tenant(tenant.unwrap_or_else(Tenant::default_tenant))
                }
                CredentialScope::System => CredentialHolder::System,
            };
            let new = NewCredential {
                holder,
                provider,
                name,
                kind,
                description,
                expires_at,
                metadata,
            };
            let res = c.credential_create(&new, &value).await;
            finish(&Out::new(client.json), res, credential)
        }
        CredentialCmd::List {
            client,
            scope: s,
            tenant,
            owner,
            page: PageArgs { limit, cursor, all },
        } => {
            let req = CredentialListRequest {
                scope: Some(scope(&s)?),
                tenant: tenant
                    .map(|t| parse("--tenant", Tenant::parse(&t)))
                    .transpose()?,
                owner: owner
                    .map(|h| parse("--owner", Handle::parse(&h)))
                    .transpose()?,
                limit: opt("--limit", pages::page_limit(limit, all))?,
                cursor: opt("--cursor", cursor)?,
            };
            let c = connect_client(&client).await?;
            let res = pages::pages(all, req.cursor.clone(), |cursor| {
                let req = CredentialListRequest {
                    cursor,
                    ..req.clone()
                };
                let c = &c;
                async move { c.credential_list(&req).await }
            })
            .await;
            finish(&Out::new(client.json), res, credential_list)
        }
        CredentialCmd::Get {
            client,
            credential_id: id,
        } => {
            let id = credential_id(&id)?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.credential_get(&id).await,
                credential,
            )
        }
        CredentialCmd::Reveal {
            client,
            credential_id: id,
            show,
            out,
        } => {
            let id = credential_id(&id)?;
            if !show && out.is_none() {
                return Err(Failure::usage(
                    "the value is printed only with --show, or written to --out FILE",
                )
                .into());
            }
            let c = connect_client(&client).await?;
            let value = c.credential_reveal(&id).await?;
            match out {
                Some(path) => {
                    write_private(&path, &value)?;
                    if client.json {
                        println!(
                            "{}",
                            serde_json::json!({"credential_id": id, "written_to": path})
                        );
                    } else {
                        eprintln!("wrote the value of {id} to {}", path.display());
                    }
                }
                None if client.json => {
                    println!(
                        "{}",
                        serde_json::json!({"credential_id": id, "value": value.as_str()})
                    );
                }
                None => println!("{}", value.as_str()),
            }
            Ok(ExitCode::SUCCESS)
        }
        CredentialCmd::Rotate {
            client,
            credential_id: id,
            expires_at,
            value_file,
        } => {
            let id = credential_id(&id)?;
            let expires_at = expiry(expires_at)?;
            let value = read_value(value_file)?;
            let c = connect_client(&client).await?;
            let res = c.credential_rotate(&id, &value, expires_at).await;
            finish(&Out::new(client.json), res, credential)
        }
        CredentialCmd::Revoke {
            client,
            credential_id: id,
            yes,
        } => {
            let id = credential_id(&id)?;
            guard::confirm(&format!("revoke credential {id}"), yes)?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.credential_revoke(&id).await,
                credential,
            )
        }
        CredentialCmd::Delete {
            client,
            credential_id: id,
            yes,
        } => {
            let id = credential_id(&id)?;
            guard::confirm(&format!("delete credential {id}"), yes)?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.credential_delete(&id).await,
                deleted,
            )
        }
        CredentialCmd::Rewrap { client } => {
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.credential_rewrap().await,
                rewrapped,
            )
        }
    }
}

/// Writes `value` to a new file of mode 0600 (never over an existing one).
fn write_private(path: &std::path::Path, value: &str) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {} (it must not exist)", path.display()))?;
    f.write_all(value.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub(super) fn vault_cmd(cmd: VaultCmd) -> anyhow::Result<ExitCode> {
    let now = crate::time_util::now_rfc3339();
    match cmd {
        VaultCmd::Init {
            key_file,
            force,
            json,
        } => {
            let f = crate::vault::KeyFile::init(&key_file, force, &now)?;
            let kex = hex::encode(f.credential_kex().public());
            if json {
                println!(
                    "{}",
                    serde_json::json!({"key_file": key_file, "kek_version": 1, "credential_kex": kex})
                );
            } else {
                println!("wrote {} (mode 0600)", key_file.display());
                println!("credential_kex {kex}");
                println!(
                    "start every worker with --vault-key-file {}",
                    key_file.display()
                );
            }
        }
        VaultCmd::RotateKek { key_file, json } => {
            let v = crate::vault::KeyFile::rotate(&key_file, &now)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"key_file": key_file, "kek_version": v})
                );
            } else {
                println!(
                    "added key-encryption key version {v} to {}",
                    key_file.display()
                );
                println!(
                    "now run `roster credential rewrap` (platform scope) to rewrap every data key"
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn credential_row(c: &CredentialView) -> Vec<String> {
    let whose = match (&c.owner, &c.tenant) {
        (Some(o), _) => format!("user/{o}"),
        (None, Some(t)) => format!("tenant/{t}"),
        (None, None) => "system".to_owned(),
    };
    vec![
        c.credential_id.to_string(),
        whose,
        format!("{}/{}", c.provider, c.name),
        c.kind.as_str().to_owned(),
        c.masked_value.clone(),
        if c.active { "active" } else { "revoked" }.to_owned(),
        c.expires_at.clone().unwrap_or_else(|| "-".into()),
    ]
}

const CREDENTIAL_COLUMNS: &[table::Col] = &[
    table::Col("ID", table::Fit::Fixed),
    table::Col("HOLDER", table::Fit::Late),
    table::Col("PROVIDER/NAME", table::Fit::Early),
    table::Col("TYPE", table::Fit::Fixed),
    table::Col("MASKED", table::Fit::Fixed),
    table::Col("STATE", table::Fit::Fixed),
    table::Col("EXPIRES", table::Fit::Late),
];

fn credential_list(r: &CredentialListReply) {
    let rows: Vec<_> = r.credentials.iter().map(credential_row).collect();
    table::print(CREDENTIAL_COLUMNS, &rows);
    if let Some(c) = &r.cursor {
        println!("more: --cursor {c}");
    }
}

fn credential(c: &CredentialView) {
    table::print(CREDENTIAL_COLUMNS, &[credential_row(c)]);
    if let Some(d) = &c.description {
        println!("{d}");
    }
}

fn deleted(r: &CredentialDeleteReply) {
    println!("deleted credential {}", r.credential_id);
}

fn rewrapped(r: &CredentialRewrapReply) {
    println!(
        "{} of {} data keys rewrapped; all are under key-encryption key version {}",
        r.rewrapped, r.data_keys, r.kek_version
    );
}
