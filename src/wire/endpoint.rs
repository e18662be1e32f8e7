//! The endpoints of PROTOCOL §4: their subjects, micro-service names and the
//! permission each admin command needs. Shared by the worker and every client.

use crate::authz::Permission;

/// Every endpoint the worker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Register,
    InviteCreate,
    InviteList,
    InviteGet,
    InviteCancel,
    UserList,
    UserGet,
    UserSetRole,
    UserDelete,
    AuditQuery,
    Enroll,
    SiteCreate,
    SiteList,
    SiteGet,
    SiteRotateKey,
    MachineList,
    MachineGet,
    MachineApprove,
    MachineReject,
    Revoke,
}

impl Endpoint {
    /// Every endpoint, in the order they are registered with the micro service.
    pub const ALL: [Endpoint; 20] = [
        Endpoint::Register,
        Endpoint::Enroll,
        Endpoint::Revoke,
        Endpoint::InviteCreate,
        Endpoint::InviteList,
        Endpoint::InviteGet,
        Endpoint::InviteCancel,
        Endpoint::UserList,
        Endpoint::UserGet,
        Endpoint::UserSetRole,
        Endpoint::UserDelete,
        Endpoint::AuditQuery,
        Endpoint::SiteCreate,
        Endpoint::SiteList,
        Endpoint::SiteGet,
        Endpoint::SiteRotateKey,
        Endpoint::MachineList,
        Endpoint::MachineGet,
        Endpoint::MachineApprove,
        Endpoint::MachineReject,
    ];

    /// The admin command name (`invite.create`), or `register`.
    pub fn command(self) -> &'static str {
        match self {
            Endpoint::Register => "register",
            Endpoint::InviteCreate => "invite.create",
            Endpoint::InviteList => "invite.list",
            Endpoint::InviteGet => "invite.get",
            Endpoint::InviteCancel => "invite.cancel",
            Endpoint::UserList => "user.list",
            Endpoint::UserGet => "user.get",
            Endpoint::UserSetRole => "user.set_role",
            Endpoint::UserDelete => "user.delete",
            Endpoint::AuditQuery => "audit.query",
            Endpoint::Enroll => "enroll",
            Endpoint::SiteCreate => "site.create",
            Endpoint::SiteList => "site.list",
            Endpoint::SiteGet => "site.get",
            Endpoint::SiteRotateKey => "site.rotate_key",
            Endpoint::MachineList => "machine.list",
            Endpoint::MachineGet => "machine.get",
            Endpoint::MachineApprove => "machine.approve",
            Endpoint::MachineReject => "machine.reject",
            Endpoint::Revoke => "revoke",
        }
    }

    /// True for the endpoints any key may call (no admin role needed).
    pub fn is_public(self) -> bool {
        matches!(
            self,
            Endpoint::Register | Endpoint::Enroll | Endpoint::Revoke
        )
    }

    /// The subject under the prefix: `P.v1.register`, `P.v1.admin.<command>`.
    pub fn subject(self, prefix: &str) -> String {
        match self {
            Endpoint::Register | Endpoint::Enroll | Endpoint::Revoke => {
                format!("{prefix}.v1.{}", self.command())
            }
            other => format!("{prefix}.v1.admin.{}", other.command()),
        }
    }

    /// The micro-service endpoint name (`register`, `admin-invite-create`).
    pub fn name(self) -> String {
        match self {
            Endpoint::Register | Endpoint::Enroll | Endpoint::Revoke => self.command().into(),
            other => format!("admin-{}", other.command().replace(['.', '_'], "-")),
        }
    }

    /// The permission an admin command needs.
    pub fn permission(self) -> Option<Permission> {
        Some(match self {
            Endpoint::Register | Endpoint::Enroll | Endpoint::Revoke => return None,
            Endpoint::InviteCreate => Permission::InviteCreate,
            Endpoint::InviteList | Endpoint::InviteGet => Permission::InviteRead,
            Endpoint::InviteCancel => Permission::InviteCancel,
            Endpoint::UserList | Endpoint::UserGet => Permission::UserRead,
            Endpoint::UserSetRole => Permission::UserSetRole,
            Endpoint::UserDelete => Permission::UserDelete,
            Endpoint::AuditQuery => Permission::AuditRead,
            Endpoint::SiteCreate | Endpoint::SiteRotateKey => Permission::SiteManage,
            Endpoint::SiteList | Endpoint::SiteGet => Permission::SiteRead,
            Endpoint::MachineList | Endpoint::MachineGet => Permission::MachineRead,
            Endpoint::MachineApprove | Endpoint::MachineReject => Permission::MachineApprove,
        })
    }
}
