//! Guards before acts that cannot be undone: a question on the terminal (`--yes` skips
//! it; without a terminal `--yes` is required), and the registration marker `register`
//! leaves beside an identity file, so that identity is neither spent on a second invite
//! nor enrolled as a machine by mistake.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::failure::{Class, Failure};
use crate::crypto::KeyPairs;

/// Goes on only if `yes`, or the person at the terminal answers yes to `what`; without
/// a terminal and `--yes`, a usage error says so.
pub(super) fn confirm(what: &str, yes: bool) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Failure::usage(format!(
            "{what}: this cannot be undone, and there is no terminal to ask on: pass --yes"
        )));
    }
    eprint!("{what}: this cannot be undone. Go on? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::new(Class::Error, "aborted", format!("reading the answer: {e}")))?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(Failure::new(
            Class::Error,
            "aborted",
            "not confirmed; nothing was changed",
        )),
    }
}

/// Who an identity was registered as, written beside it by `register`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Registration {
    /// The handle it was registered as.
    pub(super) handle: String,
    /// Its role then.
    pub(super) role: String,
    /// The signing key (the marker counts only for the key it was written for).
    pub(super) sign_pub: String,
    /// The bus it registered on.
    pub(super) nats_url: String,
    /// When.
    pub(super) registered_at: String,
}

/// `identity.json` → `identity.registered.json`.
pub(super) fn marker_path(identity: &Path) -> PathBuf {
    identity.with_extension("registered.json")
}

/// The registration marker of `identity`, if there is one for its current key.
pub(super) fn registration(identity: &Path, keys: &KeyPairs) -> Option<Registration> {
    let text = std::fs::read_to_string(marker_path(identity)).ok()?;
    let reg: Registration = serde_json::from_str(&text).ok()?;
    (reg.sign_pub == keys.sign_pub().to_hex()).then_some(reg)
}

/// Writes the marker (a failure only costs the guard later, so it is a warning).
pub(super) fn mark_registered(identity: &Path, reg: &Registration) {
    let path = marker_path(identity);
    let written = serde_json::to_vec_pretty(reg)
        .map_err(|e| e.to_string())
        .and_then(|b| crate::identity::write_private(&path, &b).map_err(|e| e.to_string()));
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), error = %e, "could not write the registration marker");
    }
}

/// Removes the marker (the identity's key was replaced).
pub(super) fn forget_registration(identity: &Path) {
    let _ = std::fs::remove_file(marker_path(identity));
}

/// What a registered identity is, for messages: `user 'alice' (owner) on nats://…`.
pub(super) fn describe(reg: &Registration) -> String {
    format!(
        "user '{}' ({}) on {} since {}",
        reg.handle, reg.role, reg.nats_url, reg.registered_at
    )
}
