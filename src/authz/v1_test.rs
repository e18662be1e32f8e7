//! Unit tests of the v1 model (a separate file so test-only unwraps stay out of the module).

use super::*;

#[test]
fn members_have_no_admin_permission() {
    for p in Permission::ALL {
        assert_eq!(scope(Role::Member, p), Scope::None, "{}", p.as_str());
    }
}

#[test]
fn operators_read_all_and_act_at_their_sites() {
    assert_eq!(scope(Role::Operator, Permission::AuditRead), Scope::All);
    assert_eq!(scope(Role::Operator, Permission::InviteCreate), Scope::None);
    assert_eq!(
        scope(Role::Operator, Permission::SiteManage),
        Scope::AssignedSites
    );
}

#[test]
fn only_owners_manage_owners() {
    assert!(may_manage(Role::Owner, Role::Owner));
    assert!(!may_manage(Role::Admin, Role::Owner));
    assert!(may_manage(Role::Admin, Role::Admin));
    assert!(!may_manage(Role::Operator, Role::Admin));
}
