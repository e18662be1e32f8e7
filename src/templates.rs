//! The callout's permission templates (PROTOCOL §6): what each kind of identity may
//! publish and subscribe to, and the limits its user JWT carries. Settings, loaded from
//! a file or the defaults; the callout fills in the placeholders.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::authz::Builtin;

/// Publish and subscribe lists of one kind of identity. Placeholders: `{prefix}`,
/// `{inbox}`, `{handle}`, `{machine_id}`, and `{tenant}`/`{product}`: a subject naming
/// them is repeated for each (tenant, product) pair the identity may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    #[serde(rename = "pub")]
    pub publish: Vec<String>,
    #[serde(rename = "sub")]
    pub subscribe: Vec<String>,
    /// Connection limits carried in the user JWT (absent: unlimited).
    #[serde(default)]
    pub limits: Limits,
}

/// The user JWT's limits. nats-server 2.15 enforces `subs` (a subscription beyond it is
/// refused) and `payload` (a larger message is refused) on client connections; `data`
/// is carried for servers and tools that read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub subs: i64,
    pub payload: i64,
    pub data: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            subs: -1,
            payload: -1,
            data: -1,
        }
    }
}

/// The onboarding lane's limits: a registering or enrolling client needs one muxed inbox
/// subscription and one request of at most 64 KiB of body (plus headers).
pub const ONBOARDING_LIMITS: Limits = Limits {
    subs: 16,
    payload: 72 * 1024,
    data: 1024 * 1024,
};

/// Longest life of an onboarding-lane connection's JWT; it then reconnects through the
/// callout (and, registered by then, gets its identity's permissions).
pub const ONBOARDING_TTL: Duration = Duration::from_secs(300);

/// A machine's limits.
pub const MACHINE_LIMITS: Limits = Limits {
    subs: 256,
    payload: 1024 * 1024,
    data: 1024 * 1024 * 1024,
};

/// Permission templates per role, plus `machine` and `onboarding`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    pub owner: Template,
    pub admin: Template,
    pub operator: Template,
    pub member: Template,
    pub machine: Template,
    pub onboarding: Template,
    /// An API key's connections (PROTOCOL §9): admin commands with the key as
    /// `Roster-Api-Key` (the worker enforces its scopes), verification, and its
    /// tenant's application subjects. A file without it gets the default.
    #[serde(default = "default_apikey_template")]
    pub apikey: Template,
}

fn default_apikey_template() -> Template {
    Templates::default().apikey
}

fn t(p: &[&str], s: &[&str]) -> Template {
    Template {
        publish: p.iter().map(|x| x.to_string()).collect(),
        subscribe: s.iter().map(|x| x.to_string()).collect(),
        limits: Limits::default(),
    }
}

impl Default for Templates {
    fn default() -> Self {
        // Application traffic: `app.<tenant>.<product>.>` for each enabled product of
        // each tenant the identity belongs to (PROTOCOL §7); a platform owner or admin
        // gets `app.*.*.>`.
        let app = "app.{tenant}.{product}.>";
        let admin = t(
            &["{prefix}.v1.>", "$SRV.>", "id.>", "agents.>", app],
            &["{inbox}.>", "id.>", "agents.>", app, "{prefix}.audit.>"],
        );
        Self {
            owner: admin.clone(),
            admin,
            operator: t(
                &["{prefix}.v1.>", "$SRV.>", "id.{handle}.>", app],
                &["{inbox}.>", "id.{handle}.>", app],
            ),
            member: t(
                &[
                    "{prefix}.v1.register",
                    "{prefix}.v1.enroll",
                    "{prefix}.v1.revoke",
                    "{prefix}.v1.whoami",
                    // A member's own vault credentials (PROTOCOL §10), and the
                    // `credential_kex` in `$SRV.INFO` it seals values to.
                    "{prefix}.v1.admin.credential.>",
                    "$SRV.PING.roster",
                    "$SRV.INFO.roster",
                    "id.{handle}.>",
                    app,
                ],
                &["{inbox}.>", "id.{handle}.>", app],
            ),
            machine: Template {
                limits: MACHINE_LIMITS,
                ..t(
                    &[
                        "{prefix}.v1.enroll",
                        "{prefix}.v1.revoke",
                        "{prefix}.v1.whoami",
                        "$SRV.PING.roster",
                        "agents.{machine_id}.>",
                        app,
                    ],
                    &["{inbox}.>", "agents.{machine_id}.>", app],
                )
            },
            apikey: t(
                &[
                    "{prefix}.v1.admin.>",
                    "{prefix}.v1.apikey.verify",
                    "$SRV.PING.roster",
                    app,
                ],
                &["{inbox}.>", app],
            ),
            onboarding: Template {
                limits: ONBOARDING_LIMITS,
                ..t(
                    &["{prefix}.v1.register", "{prefix}.v1.enroll"],
                    &["{inbox}.>"],
                )
            },
        }
    }
}

/// Why a permission template file did not load.
#[derive(Debug, thiserror::Error)]
pub enum TemplatesError {
    /// The file could not be read.
    #[error("reading {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not the JSON shape of `Templates`.
    #[error("{} is not a permission template file", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl Templates {
    /// Loads templates from a JSON file (same shape as `Templates::default()`).
    pub fn load(path: &Path) -> Result<Self, TemplatesError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplatesError::Read {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| TemplatesError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// The template of a built-in role.
    pub fn for_role(&self, role: Builtin) -> &Template {
        match role {
            Builtin::Owner => &self.owner,
            Builtin::Admin => &self.admin,
            Builtin::Operator => &self.operator,
            Builtin::Member => &self.member,
        }
    }
}
