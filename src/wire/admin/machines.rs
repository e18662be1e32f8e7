//! `machine.list`, `machine.get`, `machine.approve`, `machine.reject`.

use serde::{Deserialize, Serialize};

use super::{Cursor, PageLimit, Validate};
use crate::domain::{MachineId, SiteCode, Tenant};

/// A machine as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineView {
    pub machine_id: MachineId,
    pub tenant: Tenant,
    pub site: SiteCode,
    pub machine_uid: String,
    /// `active`, `pending`, `rejected` or `revoked`.
    pub state: String,
    pub agent_pub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    pub enrolled_at: String,
    pub last_enrolled_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_reason: Option<String>,
    pub key_version: u32,
    pub site_history: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
}

/// The machine states a list can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineStateFilter {
    Active,
    Pending,
    Rejected,
    Revoked,
}

/// `machine.list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineListRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<MachineStateFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<PageLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

/// `machine.list` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineListReply {
    pub machines: Vec<MachineView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `machine.get`, `machine.approve`, `machine.reject`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineIdRequest {
    pub machine_id: MachineId,
}

impl Validate for MachineListRequest {}
impl Validate for MachineIdRequest {}
