//! The tenant registry (PROTOCOL §7) against a real nats-server: the `default` tenant
//! from the first start, create/get/list with a status filter and pages, update, every
//! status move PROTOCOL allows and a refused one, customer ids unique across tenants (a
//! race for one Stripe id has one winner), the product configuration's size limit, bad
//! input refused with nothing written, members forbidden, and each change's event once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::time::Duration;

use common::TestEnv;
use roster::audit::AuditEvent;
use roster::client::RosterClient;
use roster::domain::{Role, Tenant, TenantStatus};
use roster::wire::admin::{TenantListReply, TenantView};
use roster::wire::{Command, Endpoint, ErrorCode};
use serde_json::{json, Value};

/// Sends `body` to `tenant.<command>` as `c`: the reply, or the refusal's code.
async fn call<T: serde::de::DeserializeOwned>(
    c: &RosterClient,
    command: Command,
    body: Value,
) -> Result<T, ErrorCode> {
    c.call(Endpoint::Admin(command), &body)
        .await
        .map_err(|e| e.code().expect("a refusal with a code"))
}

async fn create(env: &TestEnv, body: Value) -> Result<TenantView, ErrorCode> {
    call(&env.owner, Command::TenantCreate, body).await
}

async fn set_status(env: &TestEnv, tenant: &str, status: &str) -> Result<TenantView, ErrorCode> {
    call(
        &env.owner,
        Command::TenantSetStatus,
        json!({"tenant": tenant, "status": status}),
    )
    .await
}

fn slug(s: &str) -> Tenant {
    Tenant::parse(s).unwrap()
}

/// The audit events of `action` about tenant `tenant`.
async fn events(env: &TestEnv, action: &str, tenant: &str) -> Vec<AuditEvent> {
    env.audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == action && e.target.id == tenant)
        .collect()
}

/// Every tenant, following the cursors with pages of `limit`.
async fn all_pages(env: &TestEnv, filter: Value, limit: u32) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut body = filter.clone();
        body["limit"] = limit.into();
        if let Some(c) = &cursor {
            body["cursor"] = c.clone().into();
        }
        let page: TenantListReply = call(&env.owner, Command::TenantList, body).await.unwrap();
        assert!(page.tenants.len() <= limit as usize);
        seen.extend(page.tenants.iter().map(|t| t.tenant.to_string()));
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return seen,
        }
    }
    panic!("the cursors never ran out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_tenant_is_there_from_the_first_start_once() {
    // Three starts (the harness's and two workers') race to write it.
    let env = TestEnv::with_workers(2).await;
    let d = env
        .owner
        .tenant_get(&Tenant::default_tenant())
        .await
        .unwrap();
    assert_eq!(d.status, TenantStatus::Active);
    assert_eq!(d.effective_status, TenantStatus::Active);
    assert_eq!(
        (d.kind.as_str(), d.plan.as_str(), d.created_by.as_str()),
        ("customer", "starter", "system")
    );
    let created = events(&env, "tenant.created", "default").await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].actor.id, "system");
    assert_eq!(created[0].tenant.as_deref(), Some("default"));
    // It is never archived.
    assert_eq!(
        set_status(&env, "default", "frozen").await.unwrap().status,
        TenantStatus::Frozen
    );
    assert_eq!(
        set_status(&env, "default", "archived").await.unwrap_err(),
        ErrorCode::Conflict
    );
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_are_created_fetched_and_listed_by_status_in_pages() {
    let env = TestEnv::start().await;
    let acme = create(&env, json!({"tenant": "acme", "name": "Acme Corp"}))
        .await
        .unwrap();
    assert_eq!(
        (acme.status, acme.kind.as_str(), acme.plan.as_str()),
        (TenantStatus::Active, "customer", "starter")
    );
    assert_eq!(acme.created_by, "root");
    assert!(acme.products.is_empty());
    let demo = create(
        &env,
        json!({"tenant": "demo-1", "name": "Demo", "kind": "demo"}),
    )
    .await
    .unwrap();
    assert_eq!(demo.status, TenantStatus::Demo, "a demo starts as demo");
    let full = create(
        &env,
        json!({
            "tenant": "globex", "name": "Globex", "kind": "customer", "plan": "enterprise",
            "status": "trial", "trial_ends_at": "2099-01-01T00:00:00Z",
            "contract_start": "2026-01-01", "contract_end": "2026-12-31",
            "erp_customer_id": "ERP-1", "stripe_customer_id": "cus_globex",
            "sales_owner": "Dana Scully",
            "products": {"vision": {"enabled": true, "config": {"seats": 5}}}
        }),
    )
    .await
    .unwrap();
    assert_eq!(full.status, TenantStatus::Trial);
    assert_eq!(full.trial_ends_at.as_deref(), Some("2099-01-01T00:00:00Z"));
    assert_eq!(full.contract_end.unwrap().to_text(), "2026-12-31");
    assert_eq!(full.products["vision"].config.as_map()["seats"], 5);
    for i in 0..5 {
        create(
            &env,
            json!({"tenant": format!("t-{i}"), "name": "T", "kind": "demo"}),
        )
        .await
        .unwrap();
    }

    // A get is the record itself; an unknown tenant is not_found.
    assert_eq!(env.owner.tenant_get(&slug("globex")).await.unwrap(), full);
    let unknown = env.owner.tenant_get(&slug("nobody")).await.unwrap_err();
    assert_eq!(unknown.code(), Some(ErrorCode::NotFound));

    // Pages: every tenant once (the default one too), whatever the page size.
    let mut every = all_pages(&env, json!({}), 3).await;
    every.sort();
    let mut expected = vec![
        "acme", "default", "demo-1", "globex", "t-0", "t-1", "t-2", "t-3", "t-4",
    ];
    expected.sort_unstable();
    assert_eq!(every, expected);
    let mut demos = all_pages(&env, json!({"status": "demo"}), 2).await;
    demos.sort();
    assert_eq!(demos, ["demo-1", "t-0", "t-1", "t-2", "t-3", "t-4"]);
    assert_eq!(
        all_pages(&env, json!({"status": "trial"}), 10).await,
        ["globex"]
    );
    assert!(all_pages(&env, json!({"status": "archived"}), 10)
        .await
        .is_empty());
    for bad in [
        json!({"limit": 0}),
        json!({"status": "gone"}),
        json!({"cursor": "x.y"}),
    ] {
        let r: Result<TenantListReply, _> = call(&env.owner, Command::TenantList, bad).await;
        assert_eq!(r.unwrap_err(), ErrorCode::BadRequest);
    }

    // A slug is taken once.
    let again = create(&env, json!({"tenant": "acme", "name": "Other"})).await;
    assert_eq!(again.unwrap_err(), ErrorCode::Conflict);
    assert_eq!(
        env.owner.tenant_get(&slug("acme")).await.unwrap().name,
        "Acme Corp"
    );
    let created = events(&env, "tenant.created", "globex").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].tenant.as_deref(), Some("globex"));
    assert_eq!(created[0].metadata["stripe_customer_id"], "cus_globex");
    assert_eq!(created[0].metadata["products"], json!(["vision"]));
    assert!(
        !serde_json::to_string(&created[0])
            .unwrap()
            .contains("seats"),
        "no configuration in an event"
    );
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_changes_what_it_names_and_publishes_once() {
    let env = TestEnv::start().await;
    create(
        &env,
        json!({"tenant": "acme", "name": "Acme", "sales_owner": "Fox", "contract_start": "2026-01-01"}),
    )
    .await
    .unwrap();
    let update = |body: Value| call::<TenantView>(&env.owner, Command::TenantUpdate, body);
    let body = json!({
        "tenant": "acme", "name": "Acme Corp", "plan": "pro", "kind": "demo",
        "contract_end": "2026-06-30", "sales_owner": null
    });
    let u = update(body.clone()).await.unwrap();
    assert_eq!(
        (u.name.as_str(), u.plan.as_str(), u.kind.as_str()),
        ("Acme Corp", "pro", "demo")
    );
    assert_eq!(u.sales_owner, None, "null clears");
    assert_eq!(u.status, TenantStatus::Active, "the status is not update's");
    // The same update again changes nothing: no second event.
    assert_eq!(update(body).await.unwrap(), u);
    let updated = events(&env, "tenant.updated", "acme").await;
    assert_eq!(updated.len(), 1, "{updated:?}");
    assert_eq!(
        updated[0].metadata["fields"],
        json!(["name", "kind", "plan", "contract_end", "sales_owner"])
    );
    assert_eq!(updated[0].metadata["values"]["sales_owner"], Value::Null);
    assert_eq!(updated[0].tenant.as_deref(), Some("acme"));

    // Refused, and nothing changes.
    for bad in [
        json!({"tenant": "acme", "status": "frozen"}),
        json!({"tenant": "acme"}),
        json!({"tenant": "acme", "name": null}),
        json!({"tenant": "acme", "contract_end": "2025-12-31"}),
        json!({"tenant": "acme", "contract_start": "2026-02-30"}),
        json!({"tenant": "acme", "plan": "Pro Plan"}),
        json!({"name": "x"}),
    ] {
        assert_eq!(
            update(bad.clone()).await.unwrap_err(),
            ErrorCode::BadRequest,
            "{bad}"
        );
    }
    assert_eq!(
        update(json!({"tenant": "nobody", "name": "x"}))
            .await
            .unwrap_err(),
        ErrorCode::NotFound
    );
    assert_eq!(env.owner.tenant_get(&slug("acme")).await.unwrap(), u);
    assert_eq!(events(&env, "tenant.updated", "acme").await.len(), 1);
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_move_protocol_allows_works_and_the_others_are_conflicts() {
    let env = TestEnv::start().await;
    let moves = [
        ("demo", "trial"),
        ("demo", "active"),
        ("demo", "frozen"),
        ("trial", "demo"),
        ("trial", "active"),
        ("trial", "frozen"),
        ("active", "demo"),
        ("active", "trial"),
        ("active", "frozen"),
        ("frozen", "active"),
        ("frozen", "archived"),
    ];
    for (i, (from, to)) in moves.iter().enumerate() {
        let t = format!("move-{i}");
        create(&env, json!({"tenant": t, "name": "M", "status": from}))
            .await
            .unwrap();
        let moved = set_status(&env, &t, to).await.unwrap();
        assert_eq!(moved.status.as_str(), *to, "{from} -> {to}");
        let ev = events(&env, "tenant.status_changed", &t).await;
        assert_eq!(ev.len(), 1, "{from} -> {to}");
        assert_eq!(
            (
                ev[0].metadata["from"].as_str(),
                ev[0].metadata["to"].as_str()
            ),
            (Some(*from), Some(*to))
        );
    }
    // The moves PROTOCOL does not allow are conflicts, and change nothing.
    create(&env, json!({"tenant": "stuck", "name": "S"}))
        .await
        .unwrap();
    assert_eq!(
        set_status(&env, "stuck", "archived").await.unwrap_err(),
        ErrorCode::Conflict
    );
    set_status(&env, "stuck", "frozen").await.unwrap();
    for to in ["demo", "trial"] {
        assert_eq!(
            set_status(&env, "stuck", to).await.unwrap_err(),
            ErrorCode::Conflict
        );
    }
    set_status(&env, "stuck", "archived").await.unwrap();
    for to in ["demo", "trial", "active", "frozen"] {
        assert_eq!(
            set_status(&env, "stuck", to).await.unwrap_err(),
            ErrorCode::Conflict,
            "archived is final"
        );
    }
    // Setting the status a tenant has is a success that changes nothing.
    let before = env.owner.tenant_get(&slug("stuck")).await.unwrap();
    assert_eq!(set_status(&env, "stuck", "archived").await.unwrap(), before);
    assert_eq!(
        events(&env, "tenant.status_changed", "stuck").await.len(),
        2
    );
    // An archived tenant stays, as a tombstone, and no longer changes; its slug is taken.
    assert_eq!(before.status, TenantStatus::Archived);
    let upd: Result<TenantView, _> = call(
        &env.owner,
        Command::TenantUpdate,
        json!({"tenant": "stuck", "name": "New"}),
    )
    .await;
    assert_eq!(upd.unwrap_err(), ErrorCode::Conflict);
    assert_eq!(
        create(&env, json!({"tenant": "stuck", "name": "S"}))
            .await
            .unwrap_err(),
        ErrorCode::Conflict
    );
    assert_eq!(
        set_status(&env, "nobody", "active").await.unwrap_err(),
        ErrorCode::NotFound
    );
    assert_eq!(
        set_status(&env, "stuck", "gone").await.unwrap_err(),
        ErrorCode::BadRequest
    );
    // A tenant is not created archived.
    let r = create(
        &env,
        json!({"tenant": "tomb", "name": "T", "status": "archived"}),
    )
    .await;
    assert_eq!(r.unwrap_err(), ErrorCode::BadRequest);
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trial_past_its_end_acts_as_frozen() {
    let env = TestEnv::start().await;
    // Within the signed-request window: the clients sign by the system clock.
    let ends =
        roster::time_util::rfc3339(time::OffsetDateTime::now_utc() + time::Duration::seconds(20));
    let t = create(
        &env,
        json!({"tenant": "trial-co", "name": "T", "status": "trial", "trial_ends_at": ends}),
    )
    .await
    .unwrap();
    assert_eq!(t.effective_status, TenantStatus::Trial);
    env.advance_clock(Duration::from_secs(25));
    let t = env.owner.tenant_get(&slug("trial-co")).await.unwrap();
    assert_eq!(
        (t.status, t.effective_status),
        (TenantStatus::Trial, TenantStatus::Frozen)
    );
    // The store's helpers say the same.
    let rec = env
        .store
        .tenant(&slug("trial-co"))
        .await
        .unwrap()
        .unwrap()
        .value;
    let later = roster::time_util::Timestamp::parse(&ends).unwrap() + Duration::from_secs(1);
    assert_eq!(rec.effective_status(later), TenantStatus::Frozen);
    // Converting it to active ends the trial's effect.
    let t = set_status(&env, "trial-co", "active").await.unwrap();
    assert_eq!(t.effective_status, TenantStatus::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_ids_belong_to_one_tenant_at_a_time() {
    let env = TestEnv::start().await;
    create(&env, json!({"tenant": "acme", "name": "A", "erp_customer_id": "E-1", "stripe_customer_id": "cus_a"}))
        .await
        .unwrap();
    // Another tenant cannot have one, at create or by update; nothing is written, and
    // what the refused create had claimed already is given back.
    let taken = create(&env, json!({"tenant": "beta", "name": "B", "erp_customer_id": "E-b", "stripe_customer_id": "cus_a"})).await;
    assert_eq!(taken.unwrap_err(), ErrorCode::Conflict);
    assert_eq!(
        env.owner
            .tenant_get(&slug("beta"))
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::NotFound)
    );
    create(
        &env,
        json!({"tenant": "beta", "name": "B", "erp_customer_id": "E-b"}),
    )
    .await
    .expect("E-b was given back when the first try failed");
    let update = |body: Value| call::<TenantView>(&env.owner, Command::TenantUpdate, body);
    assert_eq!(
        update(json!({"tenant": "beta", "erp_customer_id": "E-1"}))
            .await
            .unwrap_err(),
        ErrorCode::Conflict
    );
    assert_eq!(
        env.owner
            .tenant_get(&slug("beta"))
            .await
            .unwrap()
            .erp_customer_id
            .unwrap()
            .as_str(),
        "E-b"
    );
    // An id is an exact string: another spelling is another id.
    update(json!({"tenant": "beta", "erp_customer_id": "e-1"}))
        .await
        .unwrap();
    // Changing an id releases the old one.
    update(json!({"tenant": "acme", "erp_customer_id": "E-2"}))
        .await
        .unwrap();
    let b = update(json!({"tenant": "beta", "erp_customer_id": "E-1"}))
        .await
        .unwrap();
    assert_eq!(b.erp_customer_id.unwrap().as_str(), "E-1");
    // Clearing releases it too, and archiving releases them all.
    update(json!({"tenant": "acme", "stripe_customer_id": null}))
        .await
        .unwrap();
    create(
        &env,
        json!({"tenant": "gamma", "name": "G", "stripe_customer_id": "cus_a"}),
    )
    .await
    .unwrap();
    set_status(&env, "gamma", "frozen").await.unwrap();
    set_status(&env, "gamma", "archived").await.unwrap();
    update(json!({"tenant": "acme", "stripe_customer_id": "cus_a"}))
        .await
        .expect("an archived tenant's ids are free");

    // Sixteen tenants race for one Stripe id: exactly one is created.
    let racers: Vec<_> = (0..16)
        .map(|i| {
            let c = env.owner.clone();
            tokio::spawn(async move {
                call::<TenantView>(
                    &c,
                    Command::TenantCreate,
                    json!({"tenant": format!("racer-{i}"), "name": "R", "stripe_customer_id": "cus_race"}),
                )
                .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for r in racers {
        match r.await.unwrap() {
            Ok(t) => winners.push(t.tenant.to_string()),
            Err(code) => assert_eq!(code, ErrorCode::Conflict),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    // And two existing tenants racing to take one id by update: one wins.
    let both = ["acme", "beta"].map(|t| {
        let c = env.owner.clone();
        tokio::spawn(async move {
            call::<TenantView>(
                &c,
                Command::TenantUpdate,
                json!({"tenant": t, "stripe_customer_id": "cus_twice"}),
            )
            .await
        })
    });
    let mut ok = 0;
    for r in both {
        match r.await.unwrap() {
            Ok(_) => ok += 1,
            Err(code) => assert_eq!(code, ErrorCode::Conflict),
        }
    }
    assert_eq!(ok, 1);
    // Each claim names the tenant whose record holds its id, and each id a record
    // holds has its one claim: nothing stale, nothing unclaimed.
    let claims = env.store.tenant_claims.all_from_leader().await.unwrap();
    for (_, c) in &claims {
        let rec = env.store.tenant(&c.tenant).await.unwrap().unwrap().value;
        assert!(rec.holds(c.kind, &c.value), "a stale claim: {c:?}");
    }
    let mut held: Vec<String> = claims.iter().map(|(_, c)| c.value.to_string()).collect();
    held.sort();
    let mut named = Vec::new();
    for t in env.store.tenants.all_from_leader().await.unwrap() {
        for kind in roster::domain::ExternalIdKind::ALL {
            if let Some(id) = t.1.external_id(kind).filter(|id| t.1.holds(kind, id)) {
                named.push(id.to_string());
            }
        }
    }
    named.sort();
    assert_eq!(held, named);
    for id in ["E-1", "E-2", "cus_race", "cus_twice"] {
        assert!(held.contains(&id.to_owned()), "{id} in {held:?}");
    }
    for id in ["E-b", "e-1"] {
        assert!(
            !held.contains(&id.to_owned()),
            "{id} was released: {held:?}"
        );
    }
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_are_set_one_at_a_time_within_the_size_limit() {
    let env = TestEnv::start().await;
    create(&env, json!({"tenant": "acme", "name": "A"}))
        .await
        .unwrap();
    let set = |body: Value| call::<TenantView>(&env.owner, Command::TenantSetProduct, body);
    let t = set(json!({"tenant": "acme", "product": "vision", "enabled": true, "config": {"seats": 3}, "expires_at": "2099-01-01T00:00:00Z"}))
        .await
        .unwrap();
    let p = &t.products["vision"];
    assert!(p.enabled);
    assert_eq!(p.expires_at.as_deref(), Some("2099-01-01T00:00:00Z"));
    // Disabling keeps the configuration and the expiry; `null` removes the expiry.
    let t = set(json!({"tenant": "acme", "product": "vision", "enabled": false}))
        .await
        .unwrap();
    assert_eq!(t.products["vision"].config.as_map()["seats"], 3);
    assert!(t.products["vision"].expires_at.is_some());
    let t =
        set(json!({"tenant": "acme", "product": "vision", "enabled": true, "expires_at": null}))
            .await
            .unwrap();
    assert_eq!(t.products["vision"].expires_at, None);
    // The same again changes nothing.
    set(json!({"tenant": "acme", "product": "vision", "enabled": true}))
        .await
        .unwrap();
    assert_eq!(events(&env, "tenant.product_set", "acme").await.len(), 3);

    // A configuration of 4 KiB fits; one byte more does not, and nothing changes.
    let fits = json!({"k": "x".repeat(4096 - 8)});
    set(json!({"tenant": "acme", "product": "big", "enabled": true, "config": fits}))
        .await
        .unwrap();
    let before = env.owner.tenant_get(&slug("acme")).await.unwrap();
    for bad in [
        json!({"tenant": "acme", "product": "big", "enabled": true, "config": {"k": "x".repeat(4096 - 7)}}),
        json!({"tenant": "acme", "product": "big", "enabled": true, "config": [1, 2]}),
        json!({"tenant": "acme", "product": "Big", "enabled": true}),
        json!({"tenant": "acme", "product": "a.b", "enabled": true}),
        json!({"tenant": "acme", "product": "big"}),
        json!({"tenant": "acme", "product": "big", "enabled": "yes"}),
        json!({"tenant": "acme", "product": "big", "enabled": true, "expires_at": "soon"}),
    ] {
        assert_eq!(
            set(bad.clone()).await.unwrap_err(),
            ErrorCode::BadRequest,
            "{bad}"
        );
    }
    assert_eq!(env.owner.tenant_get(&slug("acme")).await.unwrap(), before);
    let unknown = set(json!({"tenant": "nobody", "product": "big", "enabled": true})).await;
    assert_eq!(unknown.unwrap_err(), ErrorCode::NotFound);

    // Events name the product and the size, never the configuration.
    let ev = events(&env, "tenant.product_set", "acme").await;
    let big = ev.iter().find(|e| e.metadata["product"] == "big").unwrap();
    assert_eq!(big.metadata["config_bytes"], 4096);
    assert!(!serde_json::to_string(big).unwrap().contains("xxxx"));

    // Active products: enabled and unexpired, in name order.
    set(json!({"tenant": "acme", "product": "maps", "enabled": true, "expires_at": roster::time_util::now_rfc3339()}))
        .await
        .unwrap();
    set(json!({"tenant": "acme", "product": "audio", "enabled": false}))
        .await
        .unwrap();
    let rec = env
        .store
        .tenant(&slug("acme"))
        .await
        .unwrap()
        .unwrap()
        .value;
    let now = roster::time_util::Clock::system().now() + Duration::from_secs(1);
    assert_eq!(rec.active_products(now), ["big", "vision"]);
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_writes_nothing() {
    let env = TestEnv::start().await;
    let before = env.store.tenants.keys().await.unwrap();
    for bad in [
        json!({"tenant": "Acme", "name": "A"}),
        json!({"tenant": "a_b", "name": "A"}),
        json!({"tenant": "ab", "name": "A"}),
        json!({"tenant": "a.b", "name": "A"}),
        json!({"tenant": "x".repeat(41), "name": "A"}),
        json!({"tenant": "acme", "name": "A", "colour": "red"}),
        json!({"tenant": "acme"}),
        json!({"tenant": "acme", "name": ""}),
        json!({"tenant": "acme", "name": "A", "kind": "partner"}),
        json!({"tenant": "acme", "name": "A", "trial_ends_at": "tomorrow"}),
        json!({"tenant": "acme", "name": "A", "contract_start": "2026-05-01", "contract_end": "2026-04-30"}),
        json!({"tenant": "acme", "name": "A", "stripe_customer_id": "cus 1"}),
        json!({"tenant": "acme", "name": "A", "products": {"x.y": {"enabled": true}}}),
        json!({"tenant": "acme", "name": "A", "products": {"x": {"enabled": true, "colour": 1}}}),
        json!({"tenant": 7, "name": "A"}),
    ] {
        assert_eq!(
            create(&env, bad.clone()).await.unwrap_err(),
            ErrorCode::BadRequest,
            "{bad}"
        );
    }
    let raw = env
        .owner
        .call_raw(Endpoint::Admin(Command::TenantCreate), b"[\"acme\"]")
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&raw.body).unwrap();
    assert_eq!(v["error"]["code"], "bad_request");
    assert_eq!(
        env.store.tenants.keys().await.unwrap(),
        before,
        "nothing written"
    );
    assert!(env.store.tenant_claims.keys().await.unwrap().is_empty());
    let get: Result<TenantView, _> =
        call(&env.owner, Command::TenantGet, json!({"tenant": "Default"})).await;
    assert_eq!(get.unwrap_err(), ErrorCode::BadRequest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_and_operators_may_not_touch_tenants() {
    let env = TestEnv::start().await;
    for (h, role) in [("mia", Role::Member), ("otto", Role::Operator)] {
        let c = env.user(h, role).await;
        let list: Result<TenantListReply, _> = call(&c, Command::TenantList, json!({})).await;
        assert_eq!(list.unwrap_err(), ErrorCode::Forbidden, "{h}");
        // Refused before the body is judged: a bad body is forbidden too.
        let made: Result<TenantView, _> =
            call(&c, Command::TenantCreate, json!({"tenant": "Bad Slug"})).await;
        assert_eq!(made.unwrap_err(), ErrorCode::Forbidden, "{h}");
    }
    let denied: Vec<_> = env
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "tenant.create" && e.actor.id == "mia")
        .collect();
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].metadata["code"], "forbidden");
    // A tenant admin may not (tenant:* is held at platform scope only); a platform
    // admin may.
    let admin = env.user("ada", Role::Admin).await;
    let refused: Result<TenantView, _> = call(
        &admin,
        Command::TenantCreate,
        json!({"tenant": "by-tenant-admin", "name": "A"}),
    )
    .await;
    assert_eq!(refused.unwrap_err(), ErrorCode::Forbidden);
    env.owner
        .call::<_, serde_json::Value>(
            Endpoint::Admin(Command::UserAssign),
            &json!({"handle": "ada", "role": "admin", "scope": "platform"}),
        )
        .await
        .unwrap();
    let t: TenantView = call(
        &admin,
        Command::TenantCreate,
        json!({"tenant": "by-admin", "name": "A"}),
    )
    .await
    .unwrap();
    assert_eq!(t.created_by, "ada");
    assert!(env.store.tenant(&slug("by-admin")).await.unwrap().is_some());
}

/// Runs `roster` as the owner (its identity in `dir`) against `env`'s bus.
async fn cli(env: &TestEnv, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let id = dir.join("owner.json");
    if !id.exists() {
        roster::identity::save(&id, env.owner.keys()).unwrap();
    }
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.args(args)
        .env("ROSTER_NATS_URL", env.server.url())
        .env("ROSTER_IDENTITY", &id)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("xdg"))
        .env_remove("ROSTER_LOG")
        .env_remove("ROSTER_CONTEXT")
        .stdin(std::process::Stdio::null());
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_manages_tenants_and_asks_before_archiving() {
    let env = TestEnv::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let out = cli(
        &env,
        d,
        &[
            "tenant",
            "create",
            "acme",
            "--name",
            "Acme",
            "--stripe-customer-id",
            "cus_1",
            "--trial-ends",
            "14d",
            "--status",
            "trial",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("acme") && text(&out.stdout).contains("cus_1"),
        "{}",
        text(&out.stdout)
    );
    let out = cli(
        &env,
        d,
        &[
            "tenant",
            "set-product",
            "acme",
            "vision",
            "--enable",
            "--config",
            r#"{"seats":2}"#,
            "--json",
        ],
    )
    .await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["products"]["vision"]["config"]["seats"], 2, "{v}");
    let out = cli(
        &env,
        d,
        &[
            "tenant",
            "update",
            "acme",
            "--plan",
            "pro",
            "--clear",
            "stripe-customer-id",
            "--json",
        ],
    )
    .await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["plan"], "pro");
    assert!(v.get("stripe_customer_id").is_none(), "{v}");
    let out = cli(&env, d, &["tenant", "list", "--status", "trial"]).await;
    let listed = text(&out.stdout);
    assert!(
        listed.starts_with("TENANT") && listed.contains("acme") && listed.contains("vision"),
        "{listed}"
    );
    // Archiving asks; without a terminal, --yes is required, and nothing changes.
    cli(&env, d, &["tenant", "set-status", "acme", "frozen"]).await;
    let out = cli(&env, d, &["tenant", "set-status", "acme", "archived"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert_eq!(
        env.owner.tenant_get(&slug("acme")).await.unwrap().status,
        TenantStatus::Frozen
    );
    let out = cli(
        &env,
        d,
        &[
            "tenant",
            "set-status",
            "acme",
            "archived",
            "--yes",
            "--json",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A refused move is the refusal's exit code and envelope.
    let out = cli(
        &env,
        d,
        &["tenant", "set-status", "acme", "active", "--json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "conflict");
    let out = cli(&env, d, &["tenant", "create", "Bad_Slug", "--name", "x"]).await;
    assert_eq!(out.status.code(), Some(2), "a bad slug is a usage error");
}
