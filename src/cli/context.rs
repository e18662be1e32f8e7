//! Contexts, as in `nats context`: named connection settings (bus URL, identity file,
//! creds file, subject prefix, TLS files) in `$XDG_CONFIG_HOME/roster/context/NAME.json`,
//! the selected one named in `$XDG_CONFIG_HOME/roster/context.txt`.
//!
//! Precedence: flags > `ROSTER_*` environment > the context > defaults. A context fills
//! in each `ROSTER_*` variable that is unset before the command line is parsed again, so
//! clap's own order (flag, then environment, then default) does the rest. A context
//! holds paths only, never a secret: passwords, tokens and seeds stay in their files.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use serde::{Deserialize, Serialize};

use super::*;

/// `roster context …`.
#[derive(Debug, Subcommand)]
pub enum ContextCmd {
    /// Save a context (refused if it exists, unless `--force`); the first one saved is
    /// selected.
    Add {
        /// Its name: letters, digits, `_` and `-`.
        name: String,
        /// NATS server URL(s), comma-separated (no password in it: use `--creds`).
        #[arg(long)]
        url: String,
        /// Identity file to sign with.
        #[arg(long)]
        identity: Option<PathBuf>,
        /// A `.creds` file (user JWT and seed) to connect with.
        #[arg(long)]
        creds: Option<PathBuf>,
        /// Subject prefix of the roster endpoints (default `roster`).
        #[arg(long)]
        prefix: Option<String>,
        /// CA certificate (PEM) to verify the server with (`--tls-ca`).
        #[arg(long, value_name = "FILE")]
        tls_ca: Option<PathBuf>,
        /// Client certificate (PEM) for mutual TLS (`--tls-cert`).
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The client certificate's private key (PEM) (`--tls-key`).
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Start TLS before the server's INFO (`--tls-first`).
        #[arg(long)]
        tls_first: bool,
        /// A line saying what this context is for.
        #[arg(long)]
        description: Option<String>,
        /// Select it now.
        #[arg(long = "use")]
        select: bool,
        /// Replace a context of that name.
        #[arg(long)]
        force: bool,
    },
    /// Select the context every command uses from now on.
    Use {
        /// The context's name.
        name: String,
    },
    /// List the saved contexts (`*` marks the selected one).
    #[command(alias = "ls")]
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a context's settings (default: the selected one).
    Show {
        /// The context's name.
        name: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a context (asks first on a terminal; `--yes` to skip, required otherwise).
    #[command(alias = "remove")]
    Rm {
        /// The context's name.
        name: String,
        /// Delete without asking.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// One saved context. Paths only, never a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// The file's format version (1).
    pub v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creds: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls_first: bool,
}

impl Context {
    /// Each setting with the `ROSTER_*` variable it stands in for.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        [
            ("ROSTER_NATS_URL", self.url.clone()),
            ("ROSTER_IDENTITY", path(&self.identity)),
            ("ROSTER_NATS_CREDS", path(&self.creds)),
            ("ROSTER_PREFIX", self.prefix.clone()),
            ("ROSTER_NATS_TLS_CA", path(&self.tls_ca)),
            ("ROSTER_NATS_TLS_CERT", path(&self.tls_cert)),
            ("ROSTER_NATS_TLS_KEY", path(&self.tls_key)),
            (
                "ROSTER_NATS_TLS_FIRST",
                self.tls_first.then(|| "true".into()),
            ),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }
}

/// Where contexts live: `context/` in roster's configuration directory.
fn dir() -> PathBuf {
    crate::identity::config_dir().join("context")
}

/// The file naming the selected context.
fn selection_file() -> PathBuf {
    crate::identity::config_dir().join("context.txt")
}

fn path_of(name: &str) -> PathBuf {
    dir().join(format!("{name}.json"))
}

/// A context name: 1 to 64 letters, digits, `_` or `-`, not starting with `-` (it names
/// a file).
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = (1..=64).contains(&name.len())
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    anyhow::ensure!(
        ok,
        "context name {name:?}: use 1 to 64 letters, digits, '_' or '-'"
    );
    Ok(())
}

/// The selected context's name, if one is selected.
pub(super) fn selected() -> anyhow::Result<Option<String>> {
    let file = selection_file();
    match std::fs::read_to_string(&file) {
        Ok(s) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", file.display())),
    }
}

/// Loads the context `name`.
pub(super) fn load(name: &str) -> anyhow::Result<Context> {
    check_name(name)?;
    let path = path_of(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
            "no context {name:?} (see `roster context list`; `roster context add {name} --url …` saves one)"
        ),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    serde_json::from_str(&text).map_err(|e| {
        // The serde position is of no use to a person; the field and the file are.
        let why = e.to_string();
        let why = why.split(" at line ").next().unwrap_or(&why).to_owned();
        anyhow::anyhow!("{} is not a roster context: {why}", path.display())
    })
}

/// The context a command runs in: `--context` (or `ROSTER_CONTEXT`), else the selected
/// one; with its name.
pub(super) fn effective(flag: Option<&str>) -> anyhow::Result<Option<(String, Context)>> {
    let name = match flag {
        Some(n) => Some(n.to_owned()),
        None => selected()?,
    };
    name.map(|n| {
        let c = load(&n).with_context(|| match flag {
            Some(_) => format!("--context {n}"),
            None => format!("the selected context (in {})", selection_file().display()),
        })?;
        Ok((n, c))
    })
    .transpose()
}

/// Fills in every `ROSTER_*` variable the context sets and the environment does not;
/// true when it set any (the command line must then be parsed again).
///
/// Called by `main` before the runtime or any thread starts: changing the environment
/// is safe only while the process has one thread.
pub(super) fn apply(ctx: &Context) -> bool {
    let mut any = false;
    for (var, value) in ctx.settings() {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, value);
            any = true;
        }
    }
    any
}

/// Runs `roster context …`.
pub(super) fn context_cmd(cmd: ContextCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ContextCmd::Add {
            name,
            url,
            identity,
            creds,
            prefix,
            tls_ca,
            tls_cert,
            tls_key,
            tls_first,
            description,
            select,
            force,
        } => {
            check_name(&name)?;
            check_url(&url)?;
            if let Some(p) = &prefix {
                crate::config::validate_prefix(p)?;
            }
            let path = path_of(&name);
            anyhow::ensure!(
                force || !path.exists(),
                "context {name:?} exists ({}); give --force to replace it",
                path.display()
            );
            let ctx = Context {
                v: 1,
                description,
                url: Some(url),
                identity: identity.map(absolute).transpose()?,
                creds: creds.map(absolute).transpose()?,
                prefix,
                tls_ca: tls_ca.map(absolute).transpose()?,
                tls_cert: tls_cert.map(absolute).transpose()?,
                tls_key: tls_key.map(absolute).transpose()?,
                tls_first,
            };
            for (what, p) in [
                ("identity", &ctx.identity),
                ("creds", &ctx.creds),
                ("tls-ca", &ctx.tls_ca),
                ("tls-cert", &ctx.tls_cert),
                ("tls-key", &ctx.tls_key),
            ] {
                if let Some(p) = p.as_ref().filter(|p| !p.exists()) {
                    eprintln!("note: --{what} {} does not exist (yet)", p.display());
                }
            }
            let text = serde_json::to_string_pretty(&ctx)?;
            crate::identity::write_private(&path, format!("{text}\n").as_bytes())?;
            println!("saved context {name:?} in {}", path.display());
            if select || selected()?.is_none() {
                select_context(&name)?;
                println!("selected {name:?}");
            }
            Ok(ExitCode::SUCCESS)
        }
        ContextCmd::Use { name } => {
            load(&name)?;
            select_context(&name)?;
            println!("selected {name:?}");
            Ok(ExitCode::SUCCESS)
        }
        ContextCmd::List { json } => list(json),
        ContextCmd::Show { name, json } => {
            let name = match name {
                Some(n) => n,
                None => selected()?.ok_or_else(|| {
                    anyhow::anyhow!("no context is selected (`roster context use NAME`)")
                })?,
            };
            let ctx = load(&name)?;
            show(&name, &ctx, json)
        }
        ContextCmd::Rm { name, yes } => {
            check_name(&name)?;
            let path = path_of(&name);
            anyhow::ensure!(path.exists(), "no context {name:?}");
            super::guard::confirm(&format!("delete context {name:?}"), yes)?;
            std::fs::remove_file(&path).with_context(|| format!("deleting {}", path.display()))?;
            if selected()?.as_deref() == Some(name.as_str()) {
                let sel = selection_file();
                std::fs::remove_file(&sel)
                    .with_context(|| format!("deleting {}", sel.display()))?;
                println!("deleted context {name:?}; no context is selected now");
            } else {
                println!("deleted context {name:?}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A URL list without a password in it (a context holds no secret).
fn check_url(url: &str) -> anyhow::Result<()> {
    for u in url.split(',').map(str::trim) {
        anyhow::ensure!(!u.is_empty(), "--url: an empty URL in {url:?}");
        let rest = u.split_once("://").map_or(u, |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or(rest);
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            anyhow::ensure!(
                !userinfo.contains(':'),
                "--url: a context holds no secret, and this URL carries a password; \
                 use --creds, or ROSTER_NATS_PASSWORD_FILE when running commands"
            );
        }
    }
    Ok(())
}

fn absolute(p: PathBuf) -> anyhow::Result<PathBuf> {
    std::path::absolute(&p).with_context(|| format!("resolving {}", p.display()))
}

fn select_context(name: &str) -> anyhow::Result<()> {
    crate::identity::write_private(&selection_file(), format!("{name}\n").as_bytes())?;
    Ok(())
}

/// Asks on the terminal; without one, refuses (the caller needs `--yes`).
fn names() -> anyhow::Result<Vec<String>> {
    let dir = dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "json")
                .then(|| p.file_stem()?.to_str().map(str::to_owned))
                .flatten()
        })
        .filter(|n| check_name(n).is_ok())
        .collect();
    names.sort();
    Ok(names)
}

fn list(json: bool) -> anyhow::Result<ExitCode> {
    let sel = selected()?;
    let mut rows = Vec::new();
    let mut docs = Vec::new();
    for name in names()? {
        let mark = if sel.as_deref() == Some(name.as_str()) {
            "*"
        } else {
            ""
        };
        match load(&name) {
            Ok(c) => {
                rows.push(vec![
                    format!("{name}{mark}"),
                    c.url.clone().unwrap_or_default(),
                    c.identity
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    c.description.clone().unwrap_or_default(),
                ]);
                docs.push(serde_json::json!({"name": name, "context": c}));
            }
            Err(e) => {
                rows.push(vec![
                    format!("{name}{mark}"),
                    format!("(unreadable: {e:#})"),
                ]);
                docs.push(serde_json::json!({"name": name, "error": format!("{e:#}")}));
            }
        }
    }
    if json {
        println!(
            "{}",
            serde_json::json!({"selected": sel, "contexts": docs, "dir": dir()})
        );
    } else if rows.is_empty() {
        eprintln!("no contexts yet: `roster context add NAME --url …`");
    } else {
        use super::table::{Col, Fit};
        let cols = [
            Col("NAME", Fit::Late),
            Col("URL", Fit::Early),
            Col("IDENTITY", Fit::Early),
            Col("DESCRIPTION", Fit::Drop),
        ];
        super::table::print(&cols, &rows);
    }
    Ok(ExitCode::SUCCESS)
}

fn show(name: &str, ctx: &Context, json: bool) -> anyhow::Result<ExitCode> {
    let path = path_of(name);
    if json {
        println!(
            "{}",
            serde_json::json!({"name": name, "file": path, "context": ctx})
        );
        return Ok(ExitCode::SUCCESS);
    }
    let selected = selected()?.as_deref() == Some(name);
    println!(
        "context {name:?}{} ({})",
        if selected { ", selected" } else { "" },
        path.display()
    );
    if let Some(d) = &ctx.description {
        println!("  {d}");
    }
    for (var, value) in ctx.settings() {
        let shadowed = std::env::var_os(var).is_some_and(|v| v != value.as_str());
        let missing = Path::new(&value).is_absolute() && !Path::new(&value).exists();
        println!(
            "  {:<22} {value}{}{}",
            var,
            if missing { "  (missing)" } else { "" },
            if shadowed {
                "  (the environment's value wins)"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
