//! `roster backup` and `roster restore`: every bucket's live records and both event
//! streams into a directory, and back into an empty roster.
//!
//! The directory (mode 0700, files 0600):
//! - `manifest.json`: the format and version, when and by which roster, the prefix, and
//!   each bucket's and stream's settings with its count. Written last: a directory
//!   without it is an unfinished backup, and restore refuses it.
//! - `kv/<bucket>.jsonl`: one `{"key": …, "value": …}` per live record, key order.
//! - `streams/audit.jsonl`, `streams/security.jsonl`: one event per line, oldest first.
//!
//! Records hold digests and public keys, never a secret (no invite, enrollment key or
//! credential), but they name every user and machine: a backup must be protected like
//! the bus itself. A restore reads and checks the whole backup before it writes
//! anything, refuses a roster that holds data unless forced, makes the missing buckets
//! and streams with the backed-up settings, writes the records, and publishes the events
//! with their ids (so a second run adds nothing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_nats::jetstream;
use serde::{Deserialize, Serialize};

use crate::audit::backup::{StreamManifest, Which};
use crate::audit::AuditEvent;
use crate::config::WorkerConfig;
use crate::identity::{write_private, FileError, IdentityError};
use crate::store::backup::{BucketDump, BucketManifest};
use crate::store::StoreError;

/// The manifest's `format`.
pub const FORMAT: &str = "roster-backup";
/// The manifest's `version` this roster writes and reads.
pub const VERSION: u32 = 1;

/// What a backup holds, and how its buckets and streams were set up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// When the backup was finished (RFC 3339).
    pub created_at: String,
    /// The roster version that wrote it.
    pub roster_version: String,
    /// The subject prefix of the backed-up roster.
    pub prefix: String,
    pub buckets: Vec<BucketManifest>,
    pub streams: Vec<StreamManifest>,
}

/// What a backup or a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The backup directory.
    pub dir: PathBuf,
    pub prefix: String,
    /// Records per bucket name.
    pub buckets: BTreeMap<String, usize>,
    pub audit_events: usize,
    pub security_events: usize,
    /// Restore only: events the streams already held (left alone).
    pub events_already_there: usize,
}

/// Why a backup or a restore did not complete.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The output directory holds something already.
    #[error("{} exists and is not empty; back up into a new directory", .0.display())]
    OutExists(PathBuf),
    /// A file of the backup could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// A file of the backup could not be written.
    #[error(transparent)]
    Write(#[from] IdentityError),
    /// The directory has no manifest: not a backup, or an unfinished one.
    #[error("{} has no manifest.json: not a roster backup, or an unfinished one", .0.display())]
    NoManifest(PathBuf),
    /// A line of the backup does not read (nothing was written).
    #[error("{}:{line}: {why}", file.display())]
    Invalid {
        file: PathBuf,
        line: usize,
        why: String,
    },
    /// The backup is of another subject prefix.
    #[error(
        "the backup is of prefix '{backup}', not '{given}'; restore it with --prefix {backup}"
    )]
    Prefix { backup: String, given: String },
    /// The target roster holds data and `--force` was not given (nothing was written).
    #[error("this roster is not empty ({0}); restore into a fresh one, or pass --force to write over it")]
    NotEmpty(String),
    /// Reading or writing the buckets or streams failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The buckets or the index stream could not be opened after the import.
    #[error(transparent)]
    Open(#[from] crate::store::OpenError),
    /// A record or event could not be encoded.
    #[error("encoding the backup")]
    Encode(#[source] serde_json::Error),
}

/// One line of `kv/<bucket>.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KvLine {
    key: String,
    value: serde_json::Value,
}

fn kv_file(dir: &Path, suffix: &str) -> PathBuf {
    dir.join("kv").join(format!("{suffix}.jsonl"))
}

fn stream_file(dir: &Path, which: Which) -> PathBuf {
    dir.join("streams").join(format!("{}.jsonl", which.root()))
}

fn jsonl<T: Serialize>(items: impl IntoIterator<Item = T>) -> Result<Vec<u8>, BackupError> {
    let mut out = Vec::new();
    for item in items {
        serde_json::to_writer(&mut out, &item).map_err(BackupError::Encode)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Makes `dir` (mode 0700), which must be new or empty.
fn new_dir(dir: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::DirBuilderExt;
    let has_entries = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    if has_entries {
        return Err(BackupError::OutExists(dir.to_owned()));
    }
    for d in [dir.to_owned(), dir.join("kv"), dir.join("streams")] {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&d)
            .map_err(FileError::at("creating", &d))?;
    }
    Ok(())
}

/// Backs up the roster `cfg` names (its prefix) into the new directory `dir`, telling
/// `progress` about each bucket and stream.
pub async fn backup(
    js: &jetstream::Context,
    cfg: &WorkerConfig,
    dir: &Path,
    progress: &mut dyn FnMut(String),
) -> Result<Summary, BackupError> {
    new_dir(dir)?;
    let prefix = &cfg.handlers.prefix;
    let mut summary = summary(dir, prefix);
    // Buckets first, then the streams: a change is written before its event, so every
    // record backed up finds its event in the streams read after it.
    let dumps = crate::store::backup::export(js, &cfg.store.bucket_prefix, |m| {
        progress(format!("{}: {} records", m.bucket, m.keys));
    })
    .await?;
    for d in &dumps {
        let lines = d.records.iter().map(|(key, value)| KvLine {
            key: key.clone(),
            value: value.clone(),
        });
        write_private(&kv_file(dir, &d.manifest.suffix), &jsonl(lines)?)?;
        summary
            .buckets
            .insert(d.manifest.bucket.clone(), d.manifest.keys);
    }
    let mut streams = Vec::new();
    for which in [Which::Audit, Which::Security] {
        let Some((m, events)) = crate::audit::backup::export(js, prefix, which).await? else {
            continue;
        };
        write_private(&stream_file(dir, which), &jsonl(&events)?)?;
        progress(format!("{}: {} events", m.stream, m.events));
        count_events(&mut summary, which, m.events);
        streams.push(m);
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        created_at: crate::time_util::now_rfc3339(),
        roster_version: env!("CARGO_PKG_VERSION").into(),
        prefix: prefix.clone(),
        buckets: dumps.into_iter().map(|d| d.manifest).collect(),
        streams,
    };
    let text = serde_json::to_vec_pretty(&manifest).map_err(BackupError::Encode)?;
    write_private(&dir.join("manifest.json"), &text)?;
    Ok(summary)
}

fn summary(dir: &Path, prefix: &str) -> Summary {
    Summary {
        dir: dir.to_owned(),
        prefix: prefix.to_owned(),
        buckets: BTreeMap::new(),
        audit_events: 0,
        security_events: 0,
        events_already_there: 0,
    }
}

fn count_events(s: &mut Summary, which: Which, n: usize) {
    match which {
        Which::Audit => s.audit_events += n,
        Which::Security => s.security_events += n,
    }
}

/// How to restore.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestoreOptions {
    /// Write over a roster that holds data (records are overwritten; events already
    /// there are kept once).
    pub force: bool,
    /// Replicas of the buckets and streams made (default: the backed-up ones).
    pub replicas: Option<usize>,
}

/// The lines of `file`, each parsed by `parse`; the first bad one is an error naming it.
fn read_lines<T>(
    file: &Path,
    expected: usize,
    mut parse: impl FnMut(&str) -> Result<T, String>,
) -> Result<Vec<T>, BackupError> {
    let text = std::fs::read_to_string(file).map_err(FileError::at("reading", file))?;
    let invalid = |line: usize, why: String| BackupError::Invalid {
        file: file.to_owned(),
        line,
        why,
    };
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        out.push(parse(line).map_err(|why| invalid(i + 1, why))?);
    }
    if out.len() != expected {
        let why = format!("{} lines, the manifest says {expected}", out.len());
        return Err(invalid(out.len(), why));
    }
    Ok(out)
}

/// Reads and checks the manifest in `dir`.
fn read_manifest(dir: &Path) -> Result<Manifest, BackupError> {
    let path = dir.join("manifest.json");
    if !path.is_file() {
        return Err(BackupError::NoManifest(dir.to_owned()));
    }
    let text = std::fs::read_to_string(&path).map_err(FileError::at("reading", &path))?;
    let invalid = |why: String| BackupError::Invalid {
        file: path.clone(),
        line: 1,
        why,
    };
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if manifest.format != FORMAT || manifest.version != VERSION {
        return Err(invalid(format!(
            "format {} version {}; this roster reads {FORMAT} version {VERSION}",
            manifest.format, manifest.version
        )));
    }
    Ok(manifest)
}

/// Reads the whole backup in `dir` and checks every line: nothing is written unless all
/// of it reads.
fn load(
    dir: &Path,
    manifest: &Manifest,
) -> Result<(Vec<BucketDump>, Vec<Vec<AuditEvent>>), BackupError> {
    let mut dumps = Vec::new();
    for m in &manifest.buckets {
        let file = kv_file(dir, &m.suffix);
        let records = read_lines(&file, m.keys, |line| {
            let l: KvLine = serde_json::from_str(line).map_err(|e| e.to_string())?;
            crate::store::backup::check(&m.suffix, &l.key, &l.value)?;
            Ok((l.key, l.value))
        })?;
        dumps.push(BucketDump {
            manifest: m.clone(),
            records,
        });
    }
    let mut events = Vec::new();
    for m in &manifest.streams {
        let file = stream_file(dir, m.which);
        events.push(read_lines(&file, m.events, |line| {
            serde_json::from_str::<AuditEvent>(line).map_err(|e| e.to_string())
        })?);
    }
    Ok((dumps, events))
}

/// Restores the backup in `dir` into the roster `cfg` names, telling `progress` about
/// each bucket and stream.
pub async fn restore(
    js: &jetstream::Context,
    cfg: &WorkerConfig,
    dir: &Path,
    opts: RestoreOptions,
    progress: &mut dyn FnMut(String),
) -> Result<Summary, BackupError> {
    let manifest = read_manifest(dir)?;
    let prefix = &cfg.handlers.prefix;
    if manifest.prefix != *prefix {
        return Err(BackupError::Prefix {
            backup: manifest.prefix,
            given: prefix.clone(),
        });
    }
    let (dumps, events) = load(dir, &manifest)?;
    let bucket_prefix = &cfg.store.bucket_prefix;
    if !opts.force {
        let mut held: Vec<String> = crate::store::backup::state_keys(js, bucket_prefix)
            .await?
            .into_iter()
            .map(|(bucket, n)| format!("{bucket} holds {n} records"))
            .collect();
        let audit = crate::audit::backup::held(js, prefix, Which::Audit).await?;
        if audit > 0 {
            held.push(format!(
                "{} holds {audit} events",
                Which::Audit.stream_name(prefix)
            ));
        }
        if !held.is_empty() {
            return Err(BackupError::NotEmpty(held.join(", ")));
        }
    }
    let mut summary = summary(dir, prefix);
    for d in &dumps {
        let n =
            crate::store::backup::import(js, bucket_prefix, d, opts.replicas, opts.force).await?;
        progress(format!(
            "{}_{}: {n} records",
            bucket_prefix, d.manifest.suffix
        ));
        summary
            .buckets
            .insert(format!("{bucket_prefix}_{}", d.manifest.suffix), n);
    }
    // Restored machines, invites and users get their index entries (lists read them).
    let store = crate::store::Store::ensure(js, &cfg.store).await?;
    let indexed = store.index_unindexed_machines().await?;
    if indexed > 0 {
        progress(format!("{indexed} machines indexed"));
    }
    let indexed = store.index_unindexed_invites().await?;
    if indexed > 0 {
        progress(format!("{indexed} pending or cancelled invites indexed"));
    }
    let indexed = store.index_unindexed_users().await?;
    if indexed > 0 {
        progress(format!("{indexed} users indexed"));
    }
    for (m, evs) in manifest.streams.iter().zip(&events) {
        let (published, there) =
            crate::audit::backup::import(js, prefix, m, evs, opts.replicas).await?;
        progress(format!(
            "{}: {published} events ({there} already there)",
            m.which.stream_name(prefix)
        ));
        count_events(&mut summary, m.which, published);
        summary.events_already_there += there;
    }
    Ok(summary)
}
