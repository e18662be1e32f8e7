//! Role names and role definitions (PROTOCOL §8): the built-ins, the rules a role must
//! meet to be saved, and what an upgrade does to a stored built-in.
//!
//! A role name's [`RoleName::key`] is the token it is stored under. It is the trimmed
//! name with every character lower-cased (`char::to_lowercase`, so `Floor Manager` and
//! `FLOOR MANAGER` are one role), then encoded into `[a-z0-9_=-]`, which is safe as one
//! NATS subject token and as part of a KV key:
//! - `a`–`z`, `0`–`9` and `-` stay as they are;
//! - a space becomes `_`;
//! - every other character becomes `=` and two lower-case hex digits per UTF-8 byte
//!   (`_` is `=5f`, `=` is `=3d`, `.` is `=2e`, `é` is `=c3=a9`).
//!
//! Each output piece decodes one way, so two names share a key only when they are equal
//! once lower-cased: `floor_manager` (`floor=5fmanager`) is not `floor manager`
//! (`floor_manager`).

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

use super::{PermSet, Permission};

/// A role name, parsed at the edge: trimmed, 3–32 characters, no control characters.
/// Equality, ordering and hashing go by [`RoleName::key`], so they ignore case.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleName {
    name: String,
    key: String,
}

impl RoleName {
    /// The fewest characters a name has after trimming.
    pub const MIN_CHARS: usize = 3;
    /// The most characters a name has after trimming.
    pub const MAX_CHARS: usize = 32;

    /// Parses a role name (any name: whether it may be a custom role's is
    /// [`RoleDef::custom`]'s question).
    pub fn parse(s: &str) -> Result<Self, RoleError> {
        let name = s.trim();
        let chars = name.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            return Err(RoleError::BadName(format!(
                "role names are {}-{} characters after trimming",
                Self::MIN_CHARS,
                Self::MAX_CHARS
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(RoleError::BadName(
                "role names hold no control characters".to_owned(),
            ));
        }
        Ok(RoleName {
            name: name.to_owned(),
            key: encode_key(name),
        })
    }

    /// The name as it was given, trimmed (what records and replies show).
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The case-insensitive storage token (see the module docs): `[a-z0-9_=-]+`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The built-in role this name denotes, in any case.
    pub fn builtin(&self) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.name() == self.key)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn encode_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        match c {
            'a'..='z' | '0'..='9' | '-' => key.push(c),
            ' ' => key.push('_'),
            _ => {
                let mut utf8 = [0u8; 4];
                for b in c.encode_utf8(&mut utf8).bytes() {
                    key.push('=');
                    key.push(char::from(HEX[usize::from(b >> 4)]));
                    key.push(char::from(HEX[usize::from(b & 0x0f)]));
                }
            }
        }
    }
    key
}

impl PartialEq for RoleName {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for RoleName {}
impl Hash for RoleName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}
impl PartialOrd for RoleName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for RoleName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}
/// A role name equals the built-in of the v1 model it names.
impl PartialEq<crate::domain::Role> for RoleName {
    fn eq(&self, other: &crate::domain::Role) -> bool {
        self.key() == other.as_str()
    }
}

impl TryFrom<String> for RoleName {
    type Error = RoleError;
    fn try_from(s: String) -> Result<Self, RoleError> {
        Self::parse(&s)
    }
}
impl From<RoleName> for String {
    fn from(r: RoleName) -> String {
        r.name
    }
}
impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The four roles every tenant gets; their names are reserved in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Builtin {
    /// Every tenant permission; immutable.
    Owner,
    /// Every tenant permission but changing owners (`user:manage_owners`).
    Admin,
    /// Every `read`, plus approving and revoking machines and managing sites.
    Operator,
    /// No admin permission.
    Member,
}

impl Builtin {
    /// The built-ins, in seeding order.
    pub const ALL: [Builtin; 4] = [
        Builtin::Owner,
        Builtin::Admin,
        Builtin::Operator,
        Builtin::Member,
    ];

    /// The canonical (lower-case) name, which is also its key.
    pub const fn name(self) -> &'static str {
        match self {
            Builtin::Owner => "owner",
            Builtin::Admin => "admin",
            Builtin::Operator => "operator",
            Builtin::Member => "member",
        }
    }

    /// The permissions it is seeded with, from the current catalog.
    pub const fn permissions(self) -> PermSet {
        match self {
            Builtin::Owner => PermSet::TENANT,
            Builtin::Admin => PermSet::TENANT.without(Permission::UserManageOwners),
            Builtin::Operator => OPERATOR,
            Builtin::Member => PermSet::EMPTY,
        }
    }

    /// The role's name as a [`RoleName`].
    pub fn role_name(self) -> RoleName {
        RoleName {
            name: self.name().to_owned(),
            key: self.name().to_owned(),
        }
    }

    /// The definition it is seeded with.
    pub fn def(self) -> RoleDef {
        RoleDef {
            name: self.role_name(),
            builtin: true,
            permissions: self.permissions().to_set(),
            description: self.description().to_owned(),
        }
    }

    const fn description(self) -> &'static str {
        match self {
            Builtin::Owner => "Every permission in the tenant.",
            Builtin::Admin => "Every permission in the tenant but changing owners.",
            Builtin::Operator => "Reads everything; approves and revokes machines, manages sites.",
            Builtin::Member => "No admin permission.",
        }
    }
}

/// Every tenant `read`, plus the three acting permissions of PROTOCOL §4.
const OPERATOR: PermSet = {
    let mut set = PermSet::EMPTY;
    let mut i = 0;
    while i < Permission::ALL.len() {
        let p = Permission::ALL[i];
        if p.is_read() && !p.is_platform_only() {
            set = set.with(p);
        }
        i += 1;
    }
    set.with(Permission::MachineApprove)
        .with(Permission::MachineRevoke)
        .with(Permission::SiteManage)
};

impl From<Builtin> for RoleName {
    fn from(b: Builtin) -> RoleName {
        b.role_name()
    }
}

/// The v1 role of a user record names the built-in of the same name.
impl From<crate::domain::Role> for RoleName {
    fn from(r: crate::domain::Role) -> RoleName {
        match r {
            crate::domain::Role::Owner => Builtin::Owner,
            crate::domain::Role::Admin => Builtin::Admin,
            crate::domain::Role::Operator => Builtin::Operator,
            crate::domain::Role::Member => Builtin::Member,
        }
        .role_name()
    }
}

/// The most characters a role's description has.
pub const MAX_DESCRIPTION_CHARS: usize = 256;

/// A role of a tenant, as `role.get` shows it (the store adds the tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    /// The name; unique in its tenant case-insensitively.
    pub name: RoleName,
    /// True for the four built-ins.
    pub builtin: bool,
    /// What the role grants.
    pub permissions: BTreeSet<Permission>,
    /// Free text for people (may be empty).
    #[serde(default)]
    pub description: String,
}

impl RoleDef {
    /// A new custom role (`role.create`), checked for saving: its name is not a
    /// built-in's in any case (`conflict`), its permissions pass [`check_permissions`],
    /// its description [`check_description`].
    pub fn custom(
        name: RoleName,
        permissions: BTreeSet<Permission>,
        description: String,
    ) -> Result<RoleDef, RoleError> {
        let def = RoleDef {
            name,
            builtin: false,
            permissions,
            description,
        };
        def.validate()?;
        Ok(def)
    }

    /// This role after `role.update` (`None` keeps a field): `owner` is immutable,
    /// everything else is checked again. The name and `builtin` never change.
    pub fn updated(
        &self,
        permissions: Option<BTreeSet<Permission>>,
        description: Option<String>,
    ) -> Result<RoleDef, RoleError> {
        if self.is_builtin(Builtin::Owner) {
            return Err(RoleError::BuiltinImmutable);
        }
        let def = RoleDef {
            name: self.name.clone(),
            builtin: self.builtin,
            permissions: permissions.unwrap_or_else(|| self.permissions.clone()),
            description: description.unwrap_or_else(|| self.description.clone()),
        };
        def.validate()?;
        Ok(def)
    }

    /// Checks that `role.delete` may remove this role: built-ins never. (Whether it is
    /// still assigned, `conflict`, is the store's question.)
    pub fn check_delete(&self) -> Result<(), RoleError> {
        if self.builtin {
            Err(RoleError::BuiltinNonDeletable)
        } else {
            Ok(())
        }
    }

    /// Checks a role as it is about to be saved: `builtin` matches the name (a custom role
    /// may not take a reserved name), the permissions and the description are valid.
    pub fn validate(&self) -> Result<(), RoleError> {
        match (self.builtin, self.name.builtin()) {
            (false, Some(_)) => return Err(RoleError::Reserved(self.name.as_str().to_owned())),
            (true, None) => return Err(RoleError::NotBuiltin(self.name.as_str().to_owned())),
            _ => {}
        }
        check_permissions(&self.permissions)?;
        check_description(&self.description)
    }

    /// The permissions as a [`PermSet`].
    pub fn perm_set(&self) -> PermSet {
        PermSet::from(&self.permissions)
    }

    /// True when this is the built-in `b`.
    pub fn is_builtin(&self, b: Builtin) -> bool {
        self.builtin && self.name.builtin() == Some(b)
    }
}

/// Checks a tenant role's permissions: none platform-only, and read pairing (a role
/// holding `X:<action>` holds `X:read`); the error names what is missing.
pub fn check_permissions(permissions: &BTreeSet<Permission>) -> Result<(), RoleError> {
    let held = PermSet::from(permissions);
    let platform_only = held.difference(PermSet::TENANT);
    if !platform_only.is_empty() {
        return Err(RoleError::PlatformOnly(platform_only));
    }
    let missing = held
        .iter()
        .map(|p| p.resource().read())
        .collect::<PermSet>();
    let missing = missing.difference(held);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(RoleError::MissingRead(missing))
    }
}

/// Checks a description: at most [`MAX_DESCRIPTION_CHARS`], no control characters.
pub fn check_description(description: &str) -> Result<(), RoleError> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS
        || description.chars().any(char::is_control)
    {
        Err(RoleError::BadDescription)
    } else {
        Ok(())
    }
}

/// The built-ins a new tenant is seeded with, once.
pub fn seed_builtins() -> Vec<RoleDef> {
    Builtin::ALL.into_iter().map(Builtin::def).collect()
}

/// What an upgrade does to a stored built-in, given the catalog the running code knows:
/// `owner` gains the tenant permissions it lacks; every other role, edited or not, is
/// left as it is (`None`: write nothing).
pub fn upgrade_builtin(stored: &RoleDef, catalog: &[Permission]) -> Option<RoleDef> {
    if !stored.is_builtin(Builtin::Owner) {
        return None;
    }
    let new: Vec<Permission> = catalog
        .iter()
        .copied()
        .filter(|p| !p.is_platform_only() && !stored.permissions.contains(p))
        .collect();
    if new.is_empty() {
        return None;
    }
    let mut upgraded = stored.clone();
    upgraded.permissions.extend(new);
    Some(upgraded)
}

/// Why a role name or definition was refused. [`RoleError::code`] is its wire code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    /// The name breaks the name rule (`bad_request`).
    #[error("{0}")]
    BadName(String),
    /// A custom role may not take a built-in's name, in any case (`conflict`).
    #[error("role name {0:?} is reserved for a built-in role")]
    Reserved(String),
    /// A record claims to be built-in under another name (`bad_request`).
    #[error("{0:?} is not a built-in role")]
    NotBuiltin(String),
    /// Read pairing: these `X:read` permissions are missing (`bad_request`).
    #[error("a role holding a resource's permissions must hold its read: missing {0}")]
    MissingRead(PermSet),
    /// A tenant role may not hold platform-only permissions (`bad_request`).
    #[error("platform-only permissions in a tenant role: {0}")]
    PlatformOnly(PermSet),
    /// The description is too long or holds control characters (`bad_request`).
    #[error(
        "descriptions are at most {MAX_DESCRIPTION_CHARS} characters, none a control character"
    )]
    BadDescription,
    /// The built-in `owner` never changes (`builtin_role_immutable`).
    #[error("the built-in owner role cannot change")]
    BuiltinImmutable,
    /// Built-in roles cannot be deleted (`builtin_role_non_deletable`).
    #[error("built-in roles cannot be deleted")]
    BuiltinNonDeletable,
}

impl RoleError {
    /// The PROTOCOL error code this error answers with.
    pub fn code(&self) -> &'static str {
        match self {
            RoleError::BadName(_)
            | RoleError::NotBuiltin(_)
            | RoleError::MissingRead(_)
            | RoleError::PlatformOnly(_)
            | RoleError::BadDescription => "bad_request",
            RoleError::Reserved(_) => "conflict",
            RoleError::BuiltinImmutable => "builtin_role_immutable",
            RoleError::BuiltinNonDeletable => "builtin_role_non_deletable",
        }
    }
}

#[cfg(test)]
#[path = "role_test.rs"]
mod tests;
