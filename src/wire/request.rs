//! Request bodies decoded once, at the edge, into one typed value per admin command:
//! the dispatcher matches on [`AdminRequest`] and hands each handler its own type.

use super::admin::{
    ApiKeyCreateRequest, ApiKeyIdRequest, ApiKeyListRequest, ApiKeyRollRequest, AssignRequest,
    AuditQueryRequest, CredentialCreateRequest, CredentialIdRequest, CredentialListRequest,
    CredentialRewrapRequest, CredentialRotateRequest, HandleRequest, InviteCreateRequest,
    InviteIdRequest, InviteListRequest, MachineIdRequest, MachineListRequest, RoleCatalogRequest,
    RoleCreateRequest, RoleListRequest, RoleNameRequest, RoleUpdateRequest, RotateKeyRequest,
    SetRoleRequest, SiteCreateRequest, SiteListRequest, SiteRef, TenantCreateRequest,
    TenantListRequest, TenantRef, TenantSetProductRequest, TenantSetStatusRequest,
    TenantUpdateRequest, UserListRequest, Validate,
};
use super::{decode_body, ApiError, Command};

/// A decoded and validated admin command.
#[derive(Debug)]
pub enum AdminRequest {
    InviteCreate(InviteCreateRequest),
    InviteList(InviteListRequest),
    InviteGet(InviteIdRequest),
    InviteCancel(InviteIdRequest),
    UserList(UserListRequest),
    UserGet(HandleRequest),
    UserSetRole(SetRoleRequest),
    UserAssign(AssignRequest),
    UserUnassign(AssignRequest),
    UserDelete(HandleRequest),
    RoleCatalog(RoleCatalogRequest),
    RoleList(RoleListRequest),
    RoleGet(RoleNameRequest),
    RoleCreate(RoleCreateRequest),
    RoleUpdate(RoleUpdateRequest),
    RoleDelete(RoleNameRequest),
    AuditQuery(AuditQueryRequest),
    SiteCreate(SiteCreateRequest),
    SiteList(SiteListRequest),
    SiteGet(SiteRef),
    SiteRotateKey(RotateKeyRequest),
    MachineList(MachineListRequest),
    MachineGet(MachineIdRequest),
    MachineApprove(MachineIdRequest),
    MachineReject(MachineIdRequest),
    TenantCreate(TenantCreateRequest),
    TenantList(TenantListRequest),
    TenantGet(TenantRef),
    TenantUpdate(TenantUpdateRequest),
    TenantSetStatus(TenantSetStatusRequest),
    TenantSetProduct(TenantSetProductRequest),
    ApikeyCreate(ApiKeyCreateRequest),
    ApikeyList(ApiKeyListRequest),
    ApikeyGet(ApiKeyIdRequest),
    ApikeyRevoke(ApiKeyIdRequest),
    ApikeyRoll(ApiKeyRollRequest),
    CredentialCreate(CredentialCreateRequest),
    CredentialList(CredentialListRequest),
    CredentialGet(CredentialIdRequest),
    CredentialReveal(CredentialIdRequest),
    CredentialRotate(CredentialRotateRequest),
    CredentialRevoke(CredentialIdRequest),
    CredentialDelete(CredentialIdRequest),
    CredentialRewrap(CredentialRewrapRequest),
}

/// Decodes a body strictly (`deny_unknown_fields`, an object only) and validates it.
pub fn decode<T: serde::de::DeserializeOwned + Validate>(body: &[u8]) -> Result<T, ApiError> {
    let req: T = decode_body(body)?;
    req.validate()?;
    Ok(req)
}

impl AdminRequest {
    /// The body of `command`, decoded and validated. Writes nothing.
    pub fn decode(command: Command, body: &[u8]) -> Result<Self, ApiError> {
        Ok(match command {
            Command::InviteCreate => AdminRequest::InviteCreate(decode(body)?),
            Command::InviteList => AdminRequest::InviteList(decode(body)?),
            Command::InviteGet => AdminRequest::InviteGet(decode(body)?),
            Command::InviteCancel => AdminRequest::InviteCancel(decode(body)?),
            Command::UserList => AdminRequest::UserList(decode(body)?),
            Command::UserGet => AdminRequest::UserGet(decode(body)?),
            Command::UserSetRole => AdminRequest::UserSetRole(decode(body)?),
            Command::UserAssign => AdminRequest::UserAssign(decode(body)?),
            Command::UserUnassign => AdminRequest::UserUnassign(decode(body)?),
            Command::UserDelete => AdminRequest::UserDelete(decode(body)?),
            Command::RoleCatalog => AdminRequest::RoleCatalog(decode(body)?),
            Command::RoleList => AdminRequest::RoleList(decode(body)?),
            Command::RoleGet => AdminRequest::RoleGet(decode(body)?),
            Command::RoleCreate => AdminRequest::RoleCreate(decode(body)?),
            Command::RoleUpdate => AdminRequest::RoleUpdate(decode(body)?),
            Command::RoleDelete => AdminRequest::RoleDelete(decode(body)?),
            Command::AuditQuery => AdminRequest::AuditQuery(decode(body)?),
            Command::SiteCreate => AdminRequest::SiteCreate(decode(body)?),
            Command::SiteList => AdminRequest::SiteList(decode(body)?),
            Command::SiteGet => AdminRequest::SiteGet(decode(body)?),
            Command::SiteRotateKey => AdminRequest::SiteRotateKey(decode(body)?),
            Command::MachineList => AdminRequest::MachineList(decode(body)?),
            Command::MachineGet => AdminRequest::MachineGet(decode(body)?),
            Command::MachineApprove => AdminRequest::MachineApprove(decode(body)?),
            Command::MachineReject => AdminRequest::MachineReject(decode(body)?),
            Command::TenantCreate => AdminRequest::TenantCreate(decode(body)?),
            Command::TenantList => AdminRequest::TenantList(decode(body)?),
            Command::TenantGet => AdminRequest::TenantGet(decode(body)?),
            Command::TenantUpdate => AdminRequest::TenantUpdate(decode(body)?),
            Command::TenantSetStatus => AdminRequest::TenantSetStatus(decode(body)?),
            Command::TenantSetProduct => AdminRequest::TenantSetProduct(decode(body)?),
            Command::ApikeyCreate => AdminRequest::ApikeyCreate(decode(body)?),
            Command::ApikeyList => AdminRequest::ApikeyList(decode(body)?),
            Command::ApikeyGet => AdminRequest::ApikeyGet(decode(body)?),
            Command::ApikeyRevoke => AdminRequest::ApikeyRevoke(decode(body)?),
            Command::ApikeyRoll => AdminRequest::ApikeyRoll(decode(body)?),
            Command::CredentialCreate => AdminRequest::CredentialCreate(decode(body)?),
            Command::CredentialList => AdminRequest::CredentialList(decode(body)?),
            Command::CredentialGet => AdminRequest::CredentialGet(decode(body)?),
            Command::CredentialReveal => AdminRequest::CredentialReveal(decode(body)?),
            Command::CredentialRotate => AdminRequest::CredentialRotate(decode(body)?),
            Command::CredentialRevoke => AdminRequest::CredentialRevoke(decode(body)?),
            Command::CredentialDelete => AdminRequest::CredentialDelete(decode(body)?),
            Command::CredentialRewrap => AdminRequest::CredentialRewrap(decode(body)?),
        })
    }
}
