//! `P.v1.admin.<command>`: request and reply bodies of the admin commands, one file per
//! family (`credentials`, `invites`, `users`, `roles`, `sites`, `machines`, `audit`, `tenants`), the paging every list shares
//! (`page`), and the cross-field check [`Validate`]. All of it is re-exported here, so
//! every path stays `wire::admin::…`.

mod apikeys;
mod audit;
mod credentials;
mod invites;
mod machines;
mod page;
mod roles;
mod sites;
mod tenants;
mod users;

pub use apikeys::{
    ApiKeyCreateRequest, ApiKeyIdRequest, ApiKeyListReply, ApiKeyListRequest, ApiKeyRollRequest,
    ApiKeySecretReply, ApiKeyVerifyReply, ApiKeyVerifyRequest, ApiKeyView, VerifyCode,
    MAX_APIKEY_TTL_SECS,
};
pub use audit::{
    ActionFilter, AuditCursor, AuditQueryReply, AuditQueryRequest, AuditStream, Rfc3339,
};
pub use credentials::{
    CredentialCreateRequest, CredentialDeleteReply, CredentialIdRequest, CredentialListReply,
    CredentialListRequest, CredentialRevealReply, CredentialRewrapReply, CredentialRewrapRequest,
    CredentialRotateRequest, CredentialView, MAX_DESCRIPTION,
};
pub use invites::{
    InviteCreateReply, InviteCreateRequest, InviteIdRequest, InviteListReply, InviteListRequest,
    InviteStateFilter, InviteView, TtlSecs, MAX_INVITE_TTL_SECS,
};
pub use machines::{
    MachineIdRequest, MachineListReply, MachineListRequest, MachineStateFilter, MachineView,
};
pub use page::{Cursor, PageLimit, DEFAULT_LIMIT, MAX_LIMIT};
pub use roles::{
    tenant_or_default, CatalogEntry, RoleCatalogReply, RoleCatalogRequest, RoleCreateRequest,
    RoleDeleteReply, RoleListReply, RoleListRequest, RoleNameRequest, RoleUpdateRequest, RoleView,
};
pub use sites::{
    GraceSecs, RotateKeyReply, RotateKeyRequest, SiteCreateReply, SiteCreateRequest, SiteListReply,
    SiteListRequest, SiteRef, SiteView,
};
pub use tenants::{
    check_contract, Patch, ProductSpec, ProductView, TenantCreateRequest, TenantListReply,
    TenantListRequest, TenantRef, TenantSetProductRequest, TenantSetStatusRequest,
    TenantUpdateRequest, TenantView,
};
pub use users::{
    AssignRequest, DeleteReply, HandleRequest, PlatformScope, SetRoleRequest, UserListReply,
    UserListRequest, UserStatusFilter, UserView,
};

/// Checks of a request that span fields; run before anything is written.
pub trait Validate {
    /// `Err` with a `bad_request` message when the request is inconsistent.
    fn validate(&self) -> Result<(), crate::wire::ApiError> {
        Ok(())
    }
}

#[cfg(test)]
#[path = "admin_test.rs"]
mod tests;
