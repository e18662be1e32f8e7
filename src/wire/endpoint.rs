//! The endpoints of PROTOCOL §4: their subjects, micro-service names and the
//! permission each admin command needs. Shared by the worker and every client.

use crate::authz::Permission;

/// Every endpoint the worker serves: the four any key may call, and the admin commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Register,
    Enroll,
    Revoke,
    /// The signer's own record (an extension of PROTOCOL §4).
    Whoami,
    /// `P.v1.apikey.verify`: API key verification for other services (PROTOCOL §9).
    ApikeyVerify,
    Admin(Command),
}

/// The admin commands (`P.v1.admin.<command>`), each needing one permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    InviteCreate,
    InviteList,
    InviteGet,
    InviteCancel,
    UserList,
    UserGet,
    UserSetRole,
    UserAssign,
    UserUnassign,
    UserDelete,
    RoleCatalog,
    RoleList,
    RoleGet,
    RoleCreate,
    RoleUpdate,
    RoleDelete,
    AuditQuery,
    SiteCreate,
    SiteList,
    SiteGet,
    SiteRotateKey,
    MachineList,
    MachineGet,
    MachineApprove,
    MachineReject,
    TenantCreate,
    TenantList,
    TenantGet,
    TenantUpdate,
    TenantSetStatus,
    TenantSetProduct,
    ApikeyCreate,
    ApikeyList,
    ApikeyGet,
    ApikeyRevoke,
    ApikeyRoll,
    CredentialCreate,
    CredentialList,
    CredentialGet,
    CredentialReveal,
    CredentialRotate,
    CredentialRevoke,
    CredentialDelete,
    CredentialRewrap,
}

impl Command {
    /// Every admin command, in the order they are registered with the micro service.
    pub const ALL: [Command; 44] = [
        Command::InviteCreate,
        Command::InviteList,
        Command::InviteGet,
        Command::InviteCancel,
        Command::UserList,
        Command::UserGet,
        Command::UserSetRole,
        Command::UserAssign,
        Command::UserUnassign,
        Command::UserDelete,
        Command::RoleCatalog,
        Command::RoleList,
        Command::RoleGet,
        Command::RoleCreate,
        Command::RoleUpdate,
        Command::RoleDelete,
        Command::AuditQuery,
        Command::SiteCreate,
        Command::SiteList,
        Command::SiteGet,
        Command::SiteRotateKey,
        Command::MachineList,
        Command::MachineGet,
        Command::MachineApprove,
        Command::MachineReject,
        Command::TenantCreate,
        Command::TenantList,
        Command::TenantGet,
        Command::TenantUpdate,
        Command::TenantSetStatus,
        Command::TenantSetProduct,
        Command::ApikeyCreate,
        Command::ApikeyList,
        Command::ApikeyGet,
        Command::ApikeyRevoke,
        Command::ApikeyRoll,
        Command::CredentialCreate,
        Command::CredentialList,
        Command::CredentialGet,
        Command::CredentialReveal,
        Command::CredentialRotate,
        Command::CredentialRevoke,
        Command::CredentialDelete,
        Command::CredentialRewrap,
    ];

    /// The command's name (`invite.create`).
    pub fn name(self) -> &'static str {
        match self {
            Command::InviteCreate => "invite.create",
            Command::InviteList => "invite.list",
            Command::InviteGet => "invite.get",
            Command::InviteCancel => "invite.cancel",
            Command::UserList => "user.list",
            Command::UserGet => "user.get",
            Command::UserSetRole => "user.set_role",
            Command::UserAssign => "user.assign",
            Command::UserUnassign => "user.unassign",
            Command::UserDelete => "user.delete",
            Command::RoleCatalog => "role.catalog",
            Command::RoleList => "role.list",
            Command::RoleGet => "role.get",
            Command::RoleCreate => "role.create",
            Command::RoleUpdate => "role.update",
            Command::RoleDelete => "role.delete",
            Command::AuditQuery => "audit.query",
            Command::SiteCreate => "site.create",
            Command::SiteList => "site.list",
            Command::SiteGet => "site.get",
            Command::SiteRotateKey => "site.rotate_key",
            Command::MachineList => "machine.list",
            Command::MachineGet => "machine.get",
            Command::MachineApprove => "machine.approve",
            Command::MachineReject => "machine.reject",
            Command::TenantCreate => "tenant.create",
            Command::TenantList => "tenant.list",
            Command::TenantGet => "tenant.get",
            Command::TenantUpdate => "tenant.update",
            Command::TenantSetStatus => "tenant.set_status",
            Command::TenantSetProduct => "tenant.set_product",
            Command::ApikeyCreate => "apikey.create",
            Command::ApikeyList => "apikey.list",
            Command::ApikeyGet => "apikey.get",
            Command::ApikeyRevoke => "apikey.revoke",
            Command::ApikeyRoll => "apikey.roll",
            Command::CredentialCreate => "credential.create",
            Command::CredentialList => "credential.list",
            Command::CredentialGet => "credential.get",
            Command::CredentialReveal => "credential.reveal",
            Command::CredentialRotate => "credential.rotate",
            Command::CredentialRevoke => "credential.revoke",
            Command::CredentialDelete => "credential.delete",
            Command::CredentialRewrap => "credential.rewrap",
        }
    }

    /// The permission the command needs (`tenant:*` ones only at platform scope).
    pub fn permission(self) -> Permission {
        match self {
            Command::InviteCreate => Permission::InviteCreate,
            Command::InviteList | Command::InviteGet => Permission::InviteRead,
            Command::InviteCancel => Permission::InviteCancel,
            Command::UserList | Command::UserGet => Permission::UserRead,
            Command::UserSetRole | Command::UserAssign | Command::UserUnassign => {
                Permission::UserSetRole
            }
            Command::RoleCatalog | Command::RoleList | Command::RoleGet => Permission::RoleRead,
            Command::RoleCreate | Command::RoleUpdate | Command::RoleDelete => {
                Permission::RoleManage
            }
            Command::UserDelete => Permission::UserDelete,
            Command::AuditQuery => Permission::AuditRead,
            Command::SiteCreate | Command::SiteRotateKey => Permission::SiteManage,
            Command::SiteList | Command::SiteGet => Permission::SiteRead,
            Command::MachineList | Command::MachineGet => Permission::MachineRead,
            Command::MachineApprove | Command::MachineReject => Permission::MachineApprove,
            Command::TenantList | Command::TenantGet => Permission::TenantRead,
            Command::TenantCreate
            | Command::TenantUpdate
            | Command::TenantSetStatus
            | Command::TenantSetProduct => Permission::TenantManage,
            Command::ApikeyList | Command::ApikeyGet => Permission::ApikeyRead,
            Command::ApikeyCreate | Command::ApikeyRevoke | Command::ApikeyRoll => {
                Permission::ApikeyManage
            }
            Command::CredentialList | Command::CredentialGet => Permission::CredentialRead,
            Command::CredentialReveal => Permission::CredentialReveal,
            Command::CredentialCreate
            | Command::CredentialRotate
            | Command::CredentialRevoke
            | Command::CredentialDelete
            | Command::CredentialRewrap => Permission::CredentialManage,
        }
    }

    /// False for the commands any active user may send without holding their
    /// permission anywhere: the `credential.*` commands, since a user's own credentials
    /// need no role (PROTOCOL §10); their handlers check the permission where a
    /// credential of a tenant or of the system is concerned.
    pub fn needs_permission_somewhere(self) -> bool {
        !matches!(
            self,
            Command::CredentialCreate
                | Command::CredentialList
                | Command::CredentialGet
                | Command::CredentialReveal
                | Command::CredentialRotate
                | Command::CredentialRevoke
                | Command::CredentialDelete
        )
    }
}

impl Endpoint {
    /// Every endpoint, in the order they are registered with the micro service.
    pub fn all() -> impl Iterator<Item = Endpoint> {
        [
            Endpoint::Register,
            Endpoint::Enroll,
            Endpoint::Revoke,
            Endpoint::Whoami,
            Endpoint::ApikeyVerify,
        ]
        .into_iter()
        .chain(Command::ALL.into_iter().map(Endpoint::Admin))
    }

    /// The admin command name (`invite.create`), or `register`, `enroll`, `revoke`,
    /// `whoami`.
    pub fn command(self) -> &'static str {
        match self {
            Endpoint::Register => "register",
            Endpoint::Enroll => "enroll",
            Endpoint::Revoke => "revoke",
            Endpoint::Whoami => "whoami",
            Endpoint::ApikeyVerify => "apikey.verify",
            Endpoint::Admin(c) => c.name(),
        }
    }

    /// True for the endpoints any key may call (no admin role needed).
    pub fn is_public(self) -> bool {
        !matches!(self, Endpoint::Admin(_) | Endpoint::ApikeyVerify)
    }

    /// The subject under the prefix: `P.v1.register`, `P.v1.admin.<command>`.
    pub fn subject(self, prefix: &str) -> String {
        match self {
            Endpoint::Admin(c) => format!("{prefix}.v1.admin.{}", c.name()),
            public => format!("{prefix}.v1.{}", public.command()),
        }
    }

    /// The micro-service endpoint name (`register`, `admin-invite-create`).
    pub fn name(self) -> String {
        match self {
            Endpoint::Admin(c) => format!("admin-{}", c.name().replace(['.', '_'], "-")),
            public => public.command().replace('.', "-"),
        }
    }

    /// The permission an admin command needs (`None` for the public endpoints).
    pub fn permission(self) -> Option<Permission> {
        match self {
            Endpoint::Admin(c) => Some(c.permission()),
            _ => None,
        }
    }
}
