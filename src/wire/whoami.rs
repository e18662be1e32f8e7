//! `P.v1.whoami`: who the signing key is, as the worker sees it (an extension of
//! PROTOCOL §4).

use serde::{Deserialize, Serialize};

use crate::wire::admin::{MachineView, UserView};

/// Body of a whoami request: nothing.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhoamiRequest {}

/// The signer's own record: an active user's, or a machine's (by its agent key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhoamiReply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachineView>,
}

impl crate::wire::admin::Validate for WhoamiRequest {}
