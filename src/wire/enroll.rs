//! `P.v1.enroll`: an agent joins with its site's enrollment key.

use serde::{Deserialize, Serialize};

use crate::crypto::Sealed;
use crate::domain::{EnrollmentKey, KexKey, Label, MachineId, MachineUid, SiteCode, Tenant};

/// Body of an enroll request; the agent key travels in `Roster-Key`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub site: SiteCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    pub enrollment_key: EnrollmentKey,
    pub machine_uid: MachineUid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<Label>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Label>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<Label>,
    /// The agent's X25519 key; the credential is sealed to it.
    pub agent_kex: KexKey,
}

/// Success reply of enroll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollReply {
    pub machine_id: MachineId,
    /// `active` or `pending`.
    pub state: String,
    pub site: SiteCode,
    pub tenant: Tenant,
    /// The new `cak_` credential, sealed to `agent_kex`.
    pub credential: Sealed,
}

impl crate::wire::admin::Validate for EnrollRequest {}
