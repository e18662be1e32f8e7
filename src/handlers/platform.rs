//! Who may use the platform-scope commands (`tenant.*`, PROTOCOL §7 and §8).
//!
//! INTEGRATION (issue 14, the permission catalog in `src/authz/`): a stand-in. Until the
//! catalog holds `tenant:read` and `tenant:manage` at platform scope, a tenant command is
//! allowed to a signer whose role is `owner` or `admin` (today's roles are global, so
//! these are the platform's owners and admins). Replace [`authorize_platform`] with the
//! catalog's platform-scope check; nothing else decides who may use a tenant command.

use crate::domain::Role;
use crate::wire::{ApiError, Command, ErrorCode};

use super::Admin;

/// Allows `command` (a platform-scope command) to `admin`, or refuses it `forbidden`.
pub(super) fn authorize_platform(admin: &Admin, command: Command) -> Result<(), ApiError> {
    let user = &admin.user.value;
    match user.role {
        Role::Owner | Role::Admin => Ok(()),
        role => Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "role {role} lacks {} at platform scope",
                command
                    .platform_permission()
                    .unwrap_or("a platform permission")
            ),
        )),
    }
}
