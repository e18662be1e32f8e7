//! `role.catalog`, `role.list`, `role.get`, `role.create`, `role.update`, `role.delete`
//! (PROTOCOL §8).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Cursor, PageLimit, Validate};
use crate::authz::{Permission, RoleName};
use crate::domain::Tenant;

/// `role.catalog`: no fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleCatalogRequest {}

/// One permission of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    pub key: String,
    pub resource: String,
    pub description: String,
}

/// `role.catalog` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleCatalogReply {
    pub permissions: Vec<CatalogEntry>,
}

/// A role as `role.get` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleView {
    pub tenant: Tenant,
    pub name: RoleName,
    pub builtin: bool,
    pub permissions: BTreeSet<Permission>,
    pub description: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// `role.list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleListRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<PageLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

/// `role.list` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleListReply {
    pub roles: Vec<RoleView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `role.get` and `role.delete`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleNameRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    pub name: RoleName,
}

/// `role.create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleCreateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    pub name: RoleName,
    pub permissions: BTreeSet<Permission>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `role.update`: `None` keeps a field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleUpdateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    pub name: RoleName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<BTreeSet<Permission>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `role.delete` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDeleteReply {
    pub tenant: Tenant,
    pub name: RoleName,
    pub deleted: bool,
}

/// The tenant a role request names (default `default`).
pub fn tenant_or_default(t: &Option<Tenant>) -> Tenant {
    t.clone().unwrap_or_else(Tenant::default_tenant)
}

impl Validate for RoleCatalogRequest {}
impl Validate for RoleListRequest {}
impl Validate for RoleNameRequest {}
impl Validate for RoleCreateRequest {}
impl Validate for RoleUpdateRequest {}
