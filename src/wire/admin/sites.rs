//! `site.create`, `site.get`, `site.list`, `site.rotate_key`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Cursor, PageLimit, Validate, MAX_INVITE_TTL_SECS};
use crate::crypto::Redacted;
use crate::domain::{Label, Policy, SiteCode, Tenant};

/// A grace period for a rotated-out key: 0 to 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct GraceSecs(u64);

impl GraceSecs {
    /// The grace period.
    pub fn get(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.0)
    }
}
impl TryFrom<u64> for GraceSecs {
    type Error = String;
    fn try_from(n: u64) -> Result<Self, String> {
        if n <= MAX_INVITE_TTL_SECS {
            Ok(Self(n))
        } else {
            Err(format!(
                "grace_secs must be between 0 and {MAX_INVITE_TTL_SECS}"
            ))
        }
    }
}
impl From<GraceSecs> for u64 {
    fn from(g: GraceSecs) -> u64 {
        g.0
    }
}

/// A site as admins see it (never a key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteView {
    pub site: SiteCode,
    pub tenant: Tenant,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    pub policy: Policy,
    pub key_version: u32,
    /// `vN (XXXX)`.
    pub fingerprint: String,
    pub created_at: String,
    pub created_by: String,
}

/// `site.create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteCreateRequest {
    pub site: SiteCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<Label>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<Label>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
}

/// `site.create` reply: the site plus its first key, shown once (and never in `Debug`).
#[derive(Clone, Serialize, Deserialize)]
pub struct SiteCreateReply {
    #[serde(flatten)]
    pub site: SiteView,
    pub enrollment_key: String,
}

impl fmt::Debug for SiteCreateReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteCreateReply")
            .field("site", &self.site)
            .field("enrollment_key", &Redacted(&self.enrollment_key))
            .finish()
    }
}

/// `site.get`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteRef {
    pub site: SiteCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
}

/// `site.list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteListRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<PageLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

/// `site.list` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteListReply {
    pub sites: Vec<SiteView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `site.rotate_key`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKeyRequest {
    pub site: SiteCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
    /// How long the previous key still enrolls (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_secs: Option<GraceSecs>,
}

/// `site.rotate_key` reply: the new key, shown once (and never in `Debug`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKeyReply {
    pub site: SiteCode,
    pub tenant: Tenant,
    pub enrollment_key: String,
    pub version: u32,
    /// `vN (XXXX)`.
    pub fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_valid_until: Option<String>,
}

impl fmt::Debug for RotateKeyReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotateKeyReply")
            .field("site", &self.site)
            .field("tenant", &self.tenant)
            .field("enrollment_key", &Redacted(&self.enrollment_key))
            .field("version", &self.version)
            .field("fingerprint", &self.fingerprint)
            .field("previous_valid_until", &self.previous_valid_until)
            .finish()
    }
}

impl Validate for SiteCreateRequest {}
impl Validate for SiteRef {}
impl Validate for SiteListRequest {}
impl Validate for RotateKeyRequest {}
