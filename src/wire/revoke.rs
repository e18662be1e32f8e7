//! `P.v1.revoke`: a user or a machine loses the bus.

use serde::{Deserialize, Serialize};

use crate::domain::{Handle, Label, MachineId};

/// Body of a revoke request: exactly one of `user` or `machine`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Handle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachineId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Label>,
}

/// Who a revoke names: exactly one user or one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeTarget {
    User(Handle),
    Machine(MachineId),
}

impl RevokeRequest {
    /// The one identity this request names.
    pub fn target(&self) -> Result<RevokeTarget, crate::wire::ApiError> {
        match (&self.user, &self.machine) {
            (Some(h), None) => Ok(RevokeTarget::User(h.clone())),
            (None, Some(m)) => Ok(RevokeTarget::Machine(m.clone())),
            _ => Err(crate::wire::ApiError::bad_request(
                "give exactly one of user or machine",
            )),
        }
    }
}

impl crate::wire::admin::Validate for RevokeRequest {
    fn validate(&self) -> Result<(), crate::wire::ApiError> {
        self.target().map(drop)
    }
}

/// Success reply of revoke. `changed` is false when it was already revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeReply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Handle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachineId>,
    /// `revoked`.
    pub status: String,
    pub changed: bool,
    pub revoked_at: String,
    /// Live connections closed on the bus (0 without the callout's system connection).
    pub evicted: usize,
}
