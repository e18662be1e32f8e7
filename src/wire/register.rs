//! `P.v1.register`: a bus client redeems an invite with its own keys.

use serde::{Deserialize, Serialize};

use crate::domain::{Handle, InviteToken, KexKey, SignKey};

/// Body of a register request; the signing key travels in `Roster-Key`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The `inv_…` token, checksum verified.
    pub invite: InviteToken,
    /// The client's X25519 public key.
    pub kex_pub: KexKey,
}

/// Success reply of register. A retry with the same invite and keys gets the same reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterReply {
    /// The handle the invite was minted for.
    pub handle: Handle,
    /// The role the invite grants.
    pub role: crate::authz::RoleName,
    /// The registered signing key.
    pub sign_pub: SignKey,
    /// The registered key-exchange key.
    pub kex_pub: KexKey,
    /// When the user was created (RFC 3339 UTC).
    pub registered_at: String,
}

impl crate::wire::admin::Validate for RegisterRequest {}
