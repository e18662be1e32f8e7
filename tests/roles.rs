//! Roles and assignments (PROTOCOL §8), against a real nats-server: the catalog, the
//! built-ins seeded once, custom roles and their names, read pairing, narrowing, lists
//! that filter, hidden records, no escalation, the last-owner guards and races.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::collections::BTreeSet;

use common::{handle, TestEnv};
use roster::authz::{Permission, RoleName};
use roster::client::{ClientError, EnrollArgs, RosterClient};
use roster::domain::{Policy, Role, SiteCode};
use roster::wire::admin::{
    AssignRequest, MachineListRequest, PlatformScope, RoleCreateRequest, RoleListRequest,
    RoleNameRequest, RoleUpdateRequest,
};
use roster::wire::ErrorCode;

fn name(s: &str) -> RoleName {
    RoleName::parse(s).unwrap()
}

fn perms(keys: &[&str]) -> BTreeSet<Permission> {
    keys.iter().map(|k| Permission::parse(k).unwrap()).collect()
}

fn code<T: std::fmt::Debug>(r: Result<T, ClientError>) -> ErrorCode {
    r.expect_err("refused").code().expect("a roster refusal")
}

fn create(n: &str, p: &[&str]) -> RoleCreateRequest {
    RoleCreateRequest {
        tenant: None,
        name: name(n),
        permissions: perms(p),
        description: None,
    }
}

fn assign(h: &str, role: &str, site: Option<&str>) -> AssignRequest {
    AssignRequest {
        handle: handle(h),
        role: name(role),
        tenant: None,
        site: site.map(|s| SiteCode::parse(s).unwrap()),
        scope: None,
    }
}

#[tokio::test]
async fn the_catalog_and_the_builtins_are_there_and_owner_is_immutable() {
    let env = TestEnv::start().await;
    let o = &env.owner;
    let cat = o.role_catalog().await.unwrap();
    let keys: Vec<&str> = cat.permissions.iter().map(|p| p.key.as_str()).collect();
    for k in [
        "tenant:manage",
        "role:read",
        "role:manage",
        "machine:approve",
        "credential:reveal",
    ] {
        assert!(keys.contains(&k), "{k} in {keys:?}");
    }
    let roles = o
        .role_list(&RoleListRequest::default())
        .await
        .unwrap()
        .roles;
    let names: BTreeSet<String> = roles.iter().map(|r| r.name.key().to_owned()).collect();
    assert_eq!(
        names,
        ["admin", "member", "operator", "owner"]
            .map(String::from)
            .into()
    );
    assert!(roles.iter().all(|r| r.builtin));

    let upd = RoleUpdateRequest {
        tenant: None,
        name: name("owner"),
        permissions: Some(perms(&["audit:read"])),
        description: None,
    };
    assert_eq!(
        code(o.role_update(&upd).await),
        ErrorCode::BuiltinRoleImmutable
    );
    for b in ["owner", "admin", "operator", "member"] {
        let del = RoleNameRequest {
            tenant: None,
            name: name(b),
        };
        assert_eq!(
            code(o.role_delete(&del).await),
            ErrorCode::BuiltinRoleNonDeletable,
            "{b}"
        );
    }
    // An edit of a built-in other than owner sticks, and a restart does not undo it.
    let upd = RoleUpdateRequest {
        name: name("operator"),
        permissions: Some(perms(&["machine:read", "audit:read"])),
        ..upd
    };
    let op = o.role_update(&upd).await.unwrap();
    assert_eq!(op.permissions, perms(&["machine:read", "audit:read"]));
    env.store
        .seed_roles(
            &roster::domain::Tenant::default_tenant(),
            "2026-01-01T00:00:00Z",
        )
        .await
        .unwrap();
    let again = o
        .role_get(&RoleNameRequest {
            tenant: None,
            name: name("operator"),
        })
        .await
        .unwrap();
    assert_eq!(
        again.permissions, op.permissions,
        "seeding never overwrites"
    );
    let actions = env.audit_actions().await;
    assert!(actions.contains(&"role.updated".to_owned()), "{actions:?}");
}

#[tokio::test]
async fn custom_role_names_are_unique_case_insensitively_and_builtin_names_reserved() {
    let env = TestEnv::start().await;
    let o = &env.owner;
    for n in ["Admin", " ADMIN ", "admin", "Owner"] {
        assert_eq!(
            code(o.role_create(&create(n, &["machine:read"])).await),
            ErrorCode::Conflict,
            "{n:?}"
        );
    }
    let made = o
        .role_create(&create(
            "Floor Manager",
            &["machine:read", "machine:approve"],
        ))
        .await
        .unwrap();
    assert_eq!(made.name.as_str(), "Floor Manager");
    assert!(!made.builtin);
    assert_eq!(
        code(
            o.role_create(&create("FLOOR MANAGER", &["machine:read"]))
                .await
        ),
        ErrorCode::Conflict
    );
    assert_eq!(
        code(
            o.role_create(&create(" floor manager ", &["machine:read"]))
                .await
        ),
        ErrorCode::Conflict
    );
    // Read pairing: an action needs its read, and the refusal names it.
    let e = o
        .role_create(&create("Approver", &["machine:approve"]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));
    assert!(e.to_string().contains("machine:read"), "{e}");
    // No platform permission in a tenant role.
    assert_eq!(
        code(o.role_create(&create("Tenants", &["tenant:read"])).await),
        ErrorCode::BadRequest
    );
    // Found by any case; deleted while unassigned, refused while assigned.
    let got = o
        .role_get(&RoleNameRequest {
            tenant: None,
            name: name("FLOOR manager"),
        })
        .await
        .unwrap();
    assert_eq!(got.name.as_str(), "Floor Manager");
    env.user("fmx", Role::Member).await;
    o.user_assign(&assign("fmx", "floor manager", None))
        .await
        .unwrap();
    let del = RoleNameRequest {
        tenant: None,
        name: name("Floor Manager"),
    };
    assert_eq!(code(o.role_delete(&del).await), ErrorCode::Conflict);
    o.user_unassign(&assign("fmx", "Floor Manager", None))
        .await
        .unwrap();
    assert!(o.role_delete(&del).await.unwrap().deleted);
    assert_eq!(code(o.role_get(&del).await), ErrorCode::NotFound);
    let actions = env.audit_actions().await;
    for a in [
        "role.created",
        "role.deleted",
        "user.assigned",
        "user.unassigned",
    ] {
        assert_eq!(
            actions.iter().filter(|x| *x == a).count(),
            1,
            "{a}: {actions:?}"
        );
    }
}

#[tokio::test]
async fn two_admins_creating_one_role_name_get_one_winner() {
    let env = TestEnv::start().await;
    let a = env.user("adm1", Role::Admin).await;
    let b = env.user("adm2", Role::Admin).await;
    let (qa, qb) = (
        create("Night Shift", &["machine:read"]),
        create("NIGHT shift", &["audit:read"]),
    );
    let (ra, rb) = tokio::join!(a.role_create(&qa), b.role_create(&qb));
    let wins = [ra.is_ok(), rb.is_ok()].iter().filter(|x| **x).count();
    assert_eq!(wins, 1, "{ra:?} {rb:?}");
    let loser = if ra.is_ok() { rb } else { ra };
    assert_eq!(code(loser), ErrorCode::Conflict);
}

/// Enrolls `n` machines at `site`, 32 at a time.
async fn enroll_many(env: &TestEnv, site: &str, key: &str, n: usize) {
    use futures::StreamExt;
    futures::stream::iter(0..n)
        .for_each_concurrent(32, |i| async move {
            let a = env.client();
            a.enroll(&EnrollArgs {
                site: site.into(),
                enrollment_key: key.into(),
                machine_uid: format!("{site}-{i}"),
                ..Default::default()
            })
            .await
            .unwrap();
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_scoped_reader_pages_through_exactly_its_sites_and_sees_nothing_else() {
    let env = TestEnv::start().await;
    let mut sites = Vec::new();
    for i in 0..10 {
        let code = format!("S{i:02}");
        let key = env.site(&code, Policy::Auto).await;
        sites.push((code, key));
    }
    for (code, key) in &sites {
        enroll_many(&env, code, key, 100).await;
    }
    // A field tech: operator at S03 and S07 only.
    let tech = env.user("tech", Role::Member).await;
    env.owner
        .user_set_role(
            &handle("tech"),
            Role::Operator,
            Some(vec![
                SiteCode::parse("S03").unwrap(),
                SiteCode::parse("S07").unwrap(),
            ]),
        )
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = tech
            .machine_list(&MachineListRequest {
                limit: Some(serde_json::from_value(serde_json::json!(50)).unwrap()),
                cursor: cursor.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(page.machines.len() <= 50);
        seen.extend(
            page.machines
                .into_iter()
                .map(|m| (m.site.as_str().to_owned(), m.machine_id)),
        );
        match page.cursor {
            Some(c) => cursor = Some(serde_json::from_value(serde_json::json!(c)).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 200, "exactly its two sites' machines");
    assert!(seen.iter().all(|(s, _)| s == "S03" || s == "S07"));
    let unique: BTreeSet<_> = seen.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(unique.len(), 200, "each once");
    // A machine elsewhere is not found, not forbidden; so is its site.
    let other = env
        .owner
        .machine_list(&MachineListRequest {
            site: Some(SiteCode::parse("S05").unwrap()),
            ..Default::default()
        })
        .await
        .unwrap()
        .machines
        .remove(0);
    assert_eq!(
        code(tech.machine_get(&other.machine_id).await),
        ErrorCode::NotFound
    );
    let s5 = SiteCode::parse("S05").unwrap();
    assert_eq!(code(tech.site_get(&s5, None).await), ErrorCode::NotFound);
    // It acts at its sites only.
    assert_eq!(
        code(tech.machine_approve(&other.machine_id).await),
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn a_site_assignment_narrows_only_that_site() {
    let env = TestEnv::start().await;
    env.site("NARROW-A", Policy::Auto).await;
    env.site("NARROW-B", Policy::Auto).await;
    let op = env.user("nop", Role::Operator).await;
    // Operator tenant-wide, member at NARROW-A: site:manage everywhere but there.
    env.owner
        .user_assign(&assign("nop", "member", Some("NARROW-A")))
        .await
        .unwrap();
    let rotate = |s: &str| roster::wire::admin::RotateKeyRequest {
        site: SiteCode::parse(s).unwrap(),
        tenant: None,
        grace_secs: None,
    };
    assert!(op.site_rotate_key(&rotate("NARROW-B")).await.is_ok());
    assert_eq!(
        code(op.site_rotate_key(&rotate("NARROW-A")).await),
        ErrorCode::Forbidden
    );
    let u = env.owner.user_get(&handle("nop")).await.unwrap();
    assert_eq!(u.assignments.len(), 2, "{u:?}");
}

#[tokio::test]
async fn nobody_grants_what_they_do_not_hold() {
    let env = TestEnv::start().await;
    let admin = env.user("adm", Role::Admin).await;
    let op = env.user("opx", Role::Operator).await;
    env.user("mem", Role::Member).await;
    // An admin cannot make an owner (assign, set_role, invite), nor a role holding
    // what it lacks.
    assert_eq!(
        code(admin.user_assign(&assign("mem", "owner", None)).await),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(admin.user_set_role(&handle("mem"), Role::Owner, None).await),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(
            admin
                .invite_create(&handle("newowner"), Role::Owner, None)
                .await
        ),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(
            admin
                .role_create(&create("Boss", &["user:read", "user:manage_owners"]))
                .await
        ),
        ErrorCode::Forbidden
    );
    // An admin cannot touch an owner; a platform owner it does not even see.
    env.user("towner", Role::Owner).await;
    assert_eq!(
        code(admin.revoke_user(&handle("towner"), None).await),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(admin.revoke_user(&handle("root"), None).await),
        ErrorCode::NotFound
    );
    // An operator mints no invite at all, and no admin invite in particular.
    assert_eq!(
        code(
            op.invite_create(&handle("newadmin"), Role::Admin, None)
                .await
        ),
        ErrorCode::Forbidden
    );
    // A platform admin cannot make a platform owner.
    let padm = env.user("padm", Role::Member).await;
    let platform = |h: &str, r: &str| AssignRequest {
        handle: handle(h),
        role: name(r),
        tenant: None,
        site: None,
        scope: Some(PlatformScope::Platform),
    };
    env.owner
        .user_assign(&platform("padm", "admin"))
        .await
        .unwrap();
    assert_eq!(
        code(padm.user_assign(&platform("mem", "owner")).await),
        ErrorCode::Forbidden
    );
    assert!(padm.user_assign(&platform("mem", "admin")).await.is_ok());
    // A member has no admin command at all.
    let mem = env.user("mem2", Role::Member).await;
    assert_eq!(
        code(mem.role_list(&RoleListRequest::default()).await),
        ErrorCode::Forbidden
    );
}

#[tokio::test]
async fn the_last_active_owner_of_a_tenant_and_of_the_platform_stays() {
    let env = TestEnv::start().await;
    let o = &env.owner;
    // root is the only platform owner: it cannot drop that.
    let platform_owner = AssignRequest {
        handle: handle("root"),
        role: name("owner"),
        tenant: None,
        site: None,
        scope: Some(PlatformScope::Platform),
    };
    assert_eq!(
        code(o.user_unassign(&platform_owner).await),
        ErrorCode::LastOwner
    );
    // Tenant owners: t1 and t2; a revoked t3 does not count.
    let t1 = env.user("tt1", Role::Owner).await;
    env.user("tt2", Role::Owner).await;
    env.user("tt3", Role::Owner).await;
    o.revoke_user(&handle("tt3"), None).await.unwrap();
    t1.user_set_role(&handle("tt2"), Role::Member, None)
        .await
        .unwrap();
    assert_eq!(
        code(t1.user_set_role(&handle("tt1"), Role::Member, None).await),
        ErrorCode::LastOwner,
        "the revoked t3 does not count"
    );
    assert_eq!(
        code(o.user_delete(&handle("tt1")).await),
        ErrorCode::LastOwner
    );
    assert_eq!(
        code(o.revoke_user(&handle("tt1"), None).await),
        ErrorCode::LastOwner
    );
    let report = roster::check::check(&env.store, &env.audit).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_owners_demoting_each_other_leave_one_owner() {
    let env = TestEnv::with_workers(2).await;
    // oa and ob are the default tenant's only owners (root is a platform owner).
    let a: RosterClient = env.user("oaa", Role::Owner).await;
    let b: RosterClient = env.user("obb", Role::Owner).await;
    let (ha, hb) = (handle("oaa"), handle("obb"));
    let (ra, rb) = tokio::join!(
        a.user_set_role(&hb, Role::Member, None),
        b.user_set_role(&ha, Role::Member, None)
    );
    let wins = [ra.is_ok(), rb.is_ok()].iter().filter(|x| **x).count();
    assert_eq!(wins, 1, "{ra:?} {rb:?}");
    let loser = if ra.is_ok() { rb } else { ra };
    // The loser finds the other the last owner, or itself demoted already.
    assert!(
        matches!(code(loser), ErrorCode::LastOwner | ErrorCode::Forbidden),
        "a refusal"
    );
    let owners: Vec<_> = env
        .owner
        .user_list(&Default::default())
        .await
        .unwrap()
        .users
        .into_iter()
        .filter(|u| u.role == Role::Owner && u.status == "active" && u.handle.as_str() != "root")
        .collect();
    assert_eq!(owners.len(), 1, "{owners:?}");
    // Even the platform owner cannot take the tenant's last owner away.
    let last = owners[0].handle.clone();
    assert_eq!(
        code(env.owner.user_set_role(&last, Role::Member, None).await),
        ErrorCode::LastOwner
    );
    let report = roster::check::check(&env.store, &env.audit).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
