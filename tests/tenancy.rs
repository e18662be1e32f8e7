//! What a tenant's status and products do (PROTOCOL §7), with roles per tenant (§8),
//! against a real nats-server: frozen is read-only, a trial that ends acts as frozen
//! (one `tenant.trial_expired`), products confine application traffic, each tenant's
//! roles are its own, an MSP technician works in two tenants, and an archive deletes
//! the tenant's state and evicts its identities within a second while its audit stays.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{event, handle, no_event_within, watched, TestEnv};
use roster::authz::{Permission, RoleName};
use roster::client::{ClientError, EnrollArgs, RosterClient};
use roster::crypto::KeyPairs;
use roster::domain::{Role, SiteCode, Tenant};
use roster::wire::admin::{MachineListRequest, RoleNameRequest, RoleUpdateRequest, SiteListReply};
use roster::wire::{Command, Endpoint, ErrorCode};
use serde_json::{json, Value};

fn tenant(s: &str) -> Tenant {
    Tenant::parse(s).unwrap()
}

fn code<T: std::fmt::Debug>(r: Result<T, ClientError>) -> ErrorCode {
    r.expect_err("refused").code().expect("a roster refusal")
}

async fn call(c: &RosterClient, cmd: Command, body: Value) -> Result<Value, ClientError> {
    c.call(Endpoint::Admin(cmd), &body).await
}

/// Tenant `t` with products `products` (enabled), created by the platform owner.
async fn new_tenant(env: &TestEnv, t: &str, extra: Value, products: &[&str]) {
    let mut body = json!({"tenant": t, "name": format!("Tenant {t}")});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            body[k] = v;
        }
    }
    let ps: serde_json::Map<String, Value> = products
        .iter()
        .map(|p| (p.to_string(), json!({"enabled": true})))
        .collect();
    body["products"] = Value::Object(ps);
    call(&env.owner, Command::TenantCreate, body).await.unwrap();
}

/// A site of tenant `t`; its enrollment key.
async fn site_in(env: &TestEnv, t: &str, code: &str) -> String {
    let r = call(
        &env.owner,
        Command::SiteCreate,
        json!({"site": code, "tenant": t, "policy": "auto"}),
    )
    .await
    .unwrap();
    r["enrollment_key"].as_str().unwrap().to_owned()
}

/// A user registered with an invite for `role` in tenant `t`, on the shared connection.
async fn member_of(env: &TestEnv, h: &str, role: Role, t: &str) -> RosterClient {
    let tok = env
        .owner
        .invite_create_at(&handle(h), role, Some(&tenant(t)), None, None)
        .await
        .unwrap()
        .token;
    let c = env.client();
    c.register(&tok).await.unwrap();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_tenant_reads_and_revokes_but_changes_nothing_and_enrolls_nobody() {
    let env = TestEnv::start().await;
    new_tenant(&env, "acme", json!({}), &[]).await;
    let key = site_in(&env, "acme", "ACME-1").await;
    let admin = member_of(&env, "acme-admin", Role::Admin, "acme").await;
    let pending = env
        .owner
        .invite_create_at(
            &handle("acme-late"),
            Role::Member,
            Some(&tenant("acme")),
            None,
            None,
        )
        .await
        .unwrap()
        .token;
    member_of(&env, "acme-mem", Role::Member, "acme").await;

    call(
        &env.owner,
        Command::TenantSetStatus,
        json!({"tenant": "acme", "status": "frozen"}),
    )
    .await
    .unwrap();
    // Writes in the tenant: tenant_inactive, whoever asks.
    for (who, cmd, body) in [
        (
            &admin,
            Command::SiteCreate,
            json!({"site": "ACME-2", "tenant": "acme"}),
        ),
        (
            &env.owner,
            Command::SiteRotateKey,
            json!({"site": "ACME-1", "tenant": "acme"}),
        ),
        (
            &admin,
            Command::InviteCreate,
            json!({"handle": "acme-x", "role": "member", "tenant": "acme"}),
        ),
        (
            &admin,
            Command::RoleCreate,
            json!({"tenant": "acme", "name": "Night", "permissions": ["machine:read"]}),
        ),
        (
            &env.owner,
            Command::UserSetRole,
            json!({"handle": "acme-mem", "role": "operator", "tenant": "acme"}),
        ),
    ] {
        assert_eq!(
            code(call(who, cmd, body.clone()).await),
            ErrorCode::TenantInactive,
            "{} {body}",
            cmd.name()
        );
    }
    // Its invites register nobody; its sites enroll nobody (the usual denial).
    assert_eq!(
        code(env.client().register(&pending).await),
        ErrorCode::TenantInactive
    );
    let agent = env.client();
    let enroll = EnrollArgs {
        site: "ACME-1".into(),
        tenant: Some("acme".into()),
        enrollment_key: key.clone(),
        machine_uid: "acme-host".into(),
        ..Default::default()
    };
    assert_eq!(
        code(agent.enroll(&enroll).await),
        ErrorCode::EnrollmentDenied
    );
    // Reads and revokes work.
    let sites: SiteListReply = admin
        .call(
            Endpoint::Admin(Command::SiteList),
            &json!({"tenant": "acme"}),
        )
        .await
        .unwrap();
    assert_eq!(sites.sites.len(), 1);
    admin.revoke_user(&handle("acme-mem"), None).await.unwrap();
    // Active again: it all works.
    call(
        &env.owner,
        Command::TenantSetStatus,
        json!({"tenant": "acme", "status": "active"}),
    )
    .await
    .unwrap();
    assert!(agent.enroll(&enroll).await.is_ok());
    assert!(env.client().register(&pending).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trial_that_ends_acts_as_frozen_and_says_so_once() {
    let env = TestEnv::start().await;
    let ends = time::OffsetDateTime::now_utc() + Duration::from_secs(20);
    let ends = roster::time_util::rfc3339(ends);
    new_tenant(
        &env,
        "trialco",
        json!({"status": "trial", "trial_ends_at": ends}),
        &[],
    )
    .await;
    site_in(&env, "trialco", "TRIAL-1").await;
    env.advance_clock(Duration::from_secs(30));
    assert_eq!(
        code(
            call(
                &env.owner,
                Command::SiteCreate,
                json!({"site": "TRIAL-2", "tenant": "trialco"})
            )
            .await
        ),
        ErrorCode::TenantInactive
    );
    let got = call(&env.owner, Command::TenantGet, json!({"tenant": "trialco"}))
        .await
        .unwrap();
    assert_eq!(got["status"], "trial");
    assert_eq!(got["effective_status"], "frozen");
    // Every worker's healer looks; one event, even after several looks.
    let deadline = Instant::now() + Duration::from_secs(20);
    let count = || async {
        env.audit_events()
            .await
            .iter()
            .filter(|e| e.action == "tenant.trial_expired" && e.target.id == "trialco")
            .count()
    };
    while count().await == 0 {
        assert!(
            Instant::now() < deadline,
            "no tenant.trial_expired within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(count().await, 1);
    let ev = env
        .audit_events()
        .await
        .into_iter()
        .find(|e| e.action == "tenant.trial_expired")
        .unwrap();
    assert_eq!(ev.tenant.as_deref(), Some("trialco"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_publishes_only_to_its_tenants_enabled_products() {
    let env = TestEnv::with_callout().await;
    new_tenant(&env, "tee", json!({}), &["pp"]).await;
    new_tenant(&env, "you", json!({}), &["pp"]).await;
    let tok = env
        .owner
        .invite_create_at(
            &handle("tmember"),
            Role::Member,
            Some(&tenant("tee")),
            None,
            None,
        )
        .await
        .unwrap()
        .token;
    let keys = KeyPairs::generate();
    let conn = env.connect_as(&keys).await.unwrap();
    let c = RosterClient::new(
        conn,
        "roster",
        KeyPairs::from_secrets(&keys.sign_seed(), &keys.kex_secret()),
    );
    c.register(&tok).await.unwrap();
    let (conn, mut events) = watched(&env, &keys).await.unwrap();
    conn.publish("app.tee.pp.x", Bytes::from_static(b"ok"))
        .await
        .unwrap();
    conn.flush().await.unwrap();
    assert!(
        no_event_within(
            &mut events,
            "permissions violation",
            Duration::from_millis(700)
        )
        .await,
        "its tenant's product"
    );
    for subject in ["app.tee.qq.x", "app.you.pp.x"] {
        conn.publish(subject, Bytes::from_static(b"no"))
            .await
            .unwrap();
        assert!(
            event(&mut events, "permissions violation for publish")
                .await
                .is_some(),
            "{subject} is refused"
        );
    }
}

#[tokio::test]
async fn each_tenant_has_its_own_roles_and_an_msp_technician_works_in_both() {
    let env = TestEnv::start().await;
    new_tenant(&env, "tee", json!({}), &[]).await;
    new_tenant(&env, "you", json!({}), &[]).await;
    // Editing tee's admin leaves you's untouched.
    let upd = RoleUpdateRequest {
        tenant: Some(tenant("tee")),
        name: RoleName::parse("admin").unwrap(),
        permissions: Some(
            ["machine:read", "site:read", "audit:read"]
                .iter()
                .map(|k| Permission::parse(k).unwrap())
                .collect(),
        ),
        description: None,
    };
    env.owner.role_update(&upd).await.unwrap();
    let get = |t: &str| RoleNameRequest {
        tenant: Some(tenant(t)),
        name: RoleName::parse("admin").unwrap(),
    };
    assert_eq!(
        env.owner
            .role_get(&get("tee"))
            .await
            .unwrap()
            .permissions
            .len(),
        3
    );
    assert!(
        env.owner
            .role_get(&get("you"))
            .await
            .unwrap()
            .permissions
            .len()
            > 10
    );
    // An MSP technician: operator in both tenants.
    let k1 = site_in(&env, "tee", "TEE-1").await;
    let k2 = site_in(&env, "you", "YOU-1").await;
    for (t, s, k) in [("tee", "TEE-1", &k1), ("you", "YOU-1", &k2)] {
        env.client()
            .enroll(&EnrollArgs {
                site: s.into(),
                tenant: Some(t.into()),
                enrollment_key: k.clone(),
                machine_uid: format!("{t}-box"),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let tech = member_of(&env, "msp-tech", Role::Operator, "tee").await;
    call(
        &env.owner,
        Command::UserAssign,
        json!({"handle": "msp-tech", "role": "operator", "tenant": "you"}),
    )
    .await
    .unwrap();
    let all = tech
        .machine_list(&MachineListRequest::default())
        .await
        .unwrap();
    let mut tenants: Vec<String> = all
        .machines
        .iter()
        .map(|m| m.tenant.as_str().to_owned())
        .collect();
    tenants.sort();
    assert_eq!(tenants, ["tee", "you"]);
    // A tee admin sees nothing of you.
    let tee_admin = member_of(&env, "tee-admin", Role::Admin, "tee").await;
    let theirs = tee_admin
        .machine_list(&MachineListRequest {
            tenant: Some(tenant("you")),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(theirs.machines.is_empty());
    assert_eq!(
        code(
            tee_admin
                .site_get(&SiteCode::parse("YOU-1").unwrap(), Some(&tenant("you")))
                .await
        ),
        ErrorCode::NotFound
    );
    // The audit filters by tenant and by product.
    call(
        &env.owner,
        Command::TenantSetProduct,
        json!({"tenant": "tee", "product": "vision", "enabled": true}),
    )
    .await
    .unwrap();
    let q = call(
        &env.owner,
        Command::AuditQuery,
        json!({"tenant": "tee", "product": "vision"}),
    )
    .await
    .unwrap();
    let evs = q["events"].as_array().unwrap();
    assert_eq!(evs.len(), 1, "{evs:?}");
    assert_eq!(evs[0]["action"], "tenant.product_set");
    // Its audit is tee's alone.
    let audit = tee_admin.audit_query(&Default::default()).await.unwrap();
    assert!(
        audit
            .events
            .iter()
            .all(|e| e.tenant.as_deref() == Some("tee")),
        "only tee's events"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_evicts_the_tenants_identities_within_a_second_and_leaves_only_audit() {
    let env = TestEnv::with_callout().await;
    new_tenant(&env, "gone", json!({}), &["pp"]).await;
    let key = site_in(&env, "gone", "GONE-1").await;
    // A member of the tenant, connected; a machine of the tenant, connected; and an MSP
    // technician who also works in the default tenant.
    let tok = env
        .owner
        .invite_create_at(
            &handle("gone-mem"),
            Role::Member,
            Some(&tenant("gone")),
            None,
            None,
        )
        .await
        .unwrap()
        .token;
    let mk = KeyPairs::generate();
    let c = RosterClient::new(
        env.connect_as(&mk).await.unwrap(),
        "roster",
        KeyPairs::from_secrets(&mk.sign_seed(), &mk.kex_secret()),
    );
    c.register(&tok).await.unwrap();
    let (_mconn, mut mevents) = watched(&env, &mk).await.unwrap();
    let ak = KeyPairs::generate();
    let agent = RosterClient::new(
        env.nats().clone(),
        "roster",
        KeyPairs::from_secrets(&ak.sign_seed(), &ak.kex_secret()),
    );
    agent
        .enroll(&EnrollArgs {
            site: "GONE-1".into(),
            tenant: Some("gone".into()),
            enrollment_key: key,
            machine_uid: "gone-box".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (_aconn, mut aevents) = watched(&env, &ak).await.unwrap();
    env.user("msp", Role::Operator).await;
    call(
        &env.owner,
        Command::UserAssign,
        json!({"handle": "msp", "role": "operator", "tenant": "gone"}),
    )
    .await
    .unwrap();

    call(
        &env.owner,
        Command::TenantSetStatus,
        json!({"tenant": "gone", "status": "frozen"}),
    )
    .await
    .unwrap();
    call(
        &env.owner,
        Command::TenantSetStatus,
        json!({"tenant": "gone", "status": "archived"}),
    )
    .await
    .unwrap();
    let replied = Instant::now();
    for (who, rx) in [("member", &mut mevents), ("machine", &mut aevents)] {
        let at = event(rx, "disconnected")
            .await
            .unwrap_or_else(|| panic!("the {who} was evicted"));
        assert!(
            at <= replied + Duration::from_secs(1),
            "the {who} within a second"
        );
    }
    // Nothing of the tenant is left but its record and its audit.
    let dump = env.kv_dump().await;
    let left: Vec<_> = dump
        .iter()
        .filter(|(b, k, v)| {
            b != "tenants"
                && (k.starts_with("gone.") || v.to_string().contains("\"tenant\":\"gone\""))
        })
        .collect();
    assert!(left.is_empty(), "left of the tenant: {left:?}");
    assert!(env.owner.user_get(&handle("gone-mem")).await.is_err());
    let msp = env.owner.user_get(&handle("msp")).await.unwrap();
    assert_eq!(
        msp.assignments.len(),
        1,
        "the MSP keeps its default assignment"
    );
    let q = call(
        &env.owner,
        Command::AuditQuery,
        json!({"tenant": "gone", "limit": 1000}),
    )
    .await
    .unwrap();
    let actions: Vec<&str> = q["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "tenant.created",
        "site.created",
        "user.registered",
        "machine.enrolled",
        "tenant.purged",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    // Its slug is never reused; the archive is final.
    assert_eq!(
        code(
            call(
                &env.owner,
                Command::TenantCreate,
                json!({"tenant": "gone", "name": "Again"})
            )
            .await
        ),
        ErrorCode::Conflict
    );
    let report = roster::check::check(&env.store, &env.audit).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roster_check_finds_what_a_tenant_lost() {
    let env = TestEnv::start().await;
    new_tenant(&env, "acme", json!({"erp_customer_id": "ERP-7"}), &["vpn"]).await;
    site_in(&env, "acme", "ACME-1").await;
    let body = json!({"tenant": "acme", "name": "Acme Renamed"});
    call(&env.owner, Command::TenantUpdate, body).await.unwrap();
    let body = json!({"tenant": "acme", "product": "vpn", "enabled": false});
    call(&env.owner, Command::TenantSetProduct, body)
        .await
        .unwrap();
    let clean = env.check().await;
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);
    assert_eq!((clean.tenants, clean.stale_tenant_claims), (2, 0));
    env.check_kv_schemas().await;

    // Behind roster's back: the ERP id's claim goes, acme's roles go, and a site of a
    // tenant that never existed appears.
    let js = async_nats::jetstream::new(env.nats().clone());
    let claims = js.get_key_value("roster_tenant_claims").await.unwrap();
    let id = roster::domain::ExternalId::parse("ERP-7").unwrap();
    let claim = roster::store::ClaimKey::new(roster::domain::ExternalIdKind::ErpCustomerId, &id);
    claims
        .delete(roster::store::StoreKey::store_key(&claim).as_ref())
        .await
        .unwrap();
    let roles = js.get_key_value("roster_roles").await.unwrap();
    for k in env.store.roles.keys().await.unwrap() {
        if k.starts_with("acme.") {
            roles.delete(&k).await.unwrap();
        }
    }
    let (_, key, mut site) = env
        .kv_dump()
        .await
        .into_iter()
        .find(|(b, _, v)| b == "sites" && v["tenant"] == "acme")
        .unwrap();
    site["tenant"] = json!("ghost");
    let sites = js.get_key_value("roster_sites").await.unwrap();
    let ghost_key = key.replacen("acme.", "ghost.", 1);
    sites
        .put(&ghost_key, serde_json::to_vec(&site).unwrap().into())
        .await
        .unwrap();

    let found = env.check().await;
    let kinds: Vec<(&str, &str)> = found
        .problems
        .iter()
        .map(|p| (p.kind, p.subject.as_str()))
        .collect();
    assert!(
        kinds.contains(&("customer_id_unclaimed", "tenants/acme")),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("tenant_without_roles", "tenants/acme")),
        "{kinds:?}"
    );
    let ghost = format!("sites/{ghost_key}");
    assert!(
        kinds.contains(&("record_without_tenant", ghost.as_str())),
        "{kinds:?}"
    );
    // (and the ghost site has no `site.created`)
    assert!(
        kinds.contains(&("change_without_audit", ghost.as_str())),
        "{kinds:?}"
    );
    assert_eq!(found.problems.len(), 4, "{kinds:?}");
}
