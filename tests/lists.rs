//! Lists through the server's subject index (issue 13): machines by tenant, site and
//! state from the index stream, each entry checked against its record; cursors that
//! visit every record once while others are written; `roster check` counting no stale
//! entries afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::collections::{HashMap, HashSet};

use common::TestEnv;
use roster::client::{EnrollArgs, RosterClient};
use roster::crypto::KeyPairs;
use roster::domain::{MachineId, Policy};
use roster::wire::admin::MachineListReply;
use roster::wire::{Command, Endpoint};
use serde_json::{json, Value};

fn agent(env: &TestEnv) -> RosterClient {
    RosterClient::new(env.nats().clone(), "roster", KeyPairs::generate())
}

async fn enroll(env: &TestEnv, site: &str, key: &str, uid: &str) -> (RosterClient, MachineId) {
    let a = agent(env);
    let reply = a
        .enroll(&EnrollArgs {
            site: site.into(),
            enrollment_key: key.into(),
            machine_uid: uid.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    (a, reply.machine_id)
}

/// `roster check` finds nothing, and no stale index entry is left.
async fn assert_checks_clean(env: &TestEnv) -> roster::check::Report {
    let report = roster::check::check(&env.store, &env.audit).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.stale_index_entries, 0);
    report
}

/// Every page of list command `cmd` with `filter`, `limit` at a time: the `id` field of
/// each item of the reply's `items` array, in order.
async fn pages_of(
    env: &TestEnv,
    cmd: Command,
    filter: Value,
    limit: u32,
    (items, id): (&str, &str),
) -> Vec<String> {
    let mut out = Vec::new();
    let mut body = filter;
    body["limit"] = json!(limit);
    loop {
        let page: Value = env.owner.call(Endpoint::Admin(cmd), &body).await.unwrap();
        let got = page[items].as_array().unwrap();
        assert!(got.len() <= limit as usize);
        out.extend(got.iter().map(|m| m[id].as_str().unwrap().to_owned()));
        match page["cursor"].as_str() {
            Some(c) => body["cursor"] = json!(c),
            None => return out,
        }
        assert!(out.len() < 10_000, "the cursors never ran out");
    }
}

/// Every page of `machine.list` with `filter`, `limit` at a time: the ids in order.
async fn all_pages(env: &TestEnv, filter: Value, limit: u32) -> Vec<String> {
    pages_of(
        env,
        Command::MachineList,
        filter,
        limit,
        ("machines", "machine_id"),
    )
    .await
}

/// Every page of `user.list` with `filter`, `limit` at a time: the handles in order.
async fn user_pages(env: &TestEnv, filter: Value, limit: u32) -> Vec<String> {
    pages_of(env, Command::UserList, filter, limit, ("users", "handle")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machine_lists_filter_by_site_and_state_through_the_index() {
    let env = TestEnv::start().await;
    let keys = [
        ("ALPHA", env.site("ALPHA", Policy::Auto).await),
        ("BETA", env.site("BETA", Policy::Auto).await),
        ("GAMMA", env.site("GAMMA", Policy::Approval).await),
    ];
    let mut by_site: HashMap<&str, Vec<String>> = HashMap::new();
    for i in 0..30 {
        let (site, key) = &keys[i % 3];
        let (_, id) = enroll(&env, site, key, &format!("node-{i}")).await;
        by_site.entry(site).or_default().push(id.to_string());
    }

    // A site's machines, in enrollment order, each once, over pages of 3.
    for (site, ids) in &by_site {
        assert_eq!(&all_pages(&env, json!({ "site": site }), 3).await, ids);
    }
    // Sites are case-insensitive; tenant and state narrow the same index.
    assert_eq!(
        all_pages(&env, json!({"site": "alpha", "tenant": "default"}), 4).await,
        by_site["ALPHA"]
    );
    assert_eq!(
        all_pages(&env, json!({"state": "pending"}), 4).await,
        by_site["GAMMA"]
    );
    assert!(
        all_pages(&env, json!({"site": "GAMMA", "state": "active"}), 4)
            .await
            .is_empty()
    );
    assert!(all_pages(&env, json!({"site": "NOWHERE"}), 4)
        .await
        .is_empty());
    assert!(all_pages(&env, json!({"tenant": "other"}), 4)
        .await
        .is_empty());
    let everyone = all_pages(&env, json!({}), 7).await;
    assert_eq!(everyone.len(), 30);
    assert_eq!(everyone.iter().collect::<HashSet<_>>().len(), 30);

    // Approving moves a machine from the pending entries to the active ones, at the end.
    let gamma = &by_site["GAMMA"];
    for id in &gamma[..3] {
        env.owner
            .machine_approve(&MachineId::parse(id).unwrap())
            .await
            .unwrap();
    }
    assert_eq!(
        all_pages(&env, json!({"site": "GAMMA", "state": "active"}), 2).await,
        gamma[..3].to_vec()
    );
    assert_eq!(
        all_pages(&env, json!({"site": "GAMMA", "state": "pending"}), 2).await,
        gamma[3..].to_vec()
    );
    let mut site_order = gamma[3..].to_vec();
    site_order.extend_from_slice(&gamma[..3]);
    assert_eq!(
        all_pages(&env, json!({"site": "GAMMA"}), 5).await,
        site_order
    );

    // A revoked machine lists under `revoked`; the old entries are gone.
    let revoked = MachineId::parse(&by_site["BETA"][0]).unwrap();
    env.owner.revoke_machine(&revoked, None).await.unwrap();
    assert_eq!(
        all_pages(&env, json!({"state": "revoked"}), 5).await,
        vec![revoked.to_string()]
    );
    assert_eq!(
        all_pages(&env, json!({"site": "BETA", "state": "active"}), 5).await,
        by_site["BETA"][1..].to_vec()
    );

    assert_eq!(assert_checks_clean(&env).await.machines, 30);
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursors_visit_every_machine_once_while_others_enroll_and_reenroll() {
    let env = TestEnv::start().await;
    let key = env.site("FLEET", Policy::Auto).await;
    let mut first = Vec::new();
    let mut agents = Vec::new();
    for i in 0..24 {
        let (a, id) = enroll(&env, "FLEET", &key, &format!("node-{i}")).await;
        first.push(id.to_string());
        agents.push((a, i));
    }
    // Page slowly while new machines enroll and the existing ones enroll again (new
    // credentials, same place: their entries stay where they are).
    let writer = {
        let (env_nats, key) = (env.nats().clone(), key.clone());
        tokio::spawn(async move {
            let mut new_ids = Vec::new();
            for (i, (a, n)) in agents.into_iter().enumerate() {
                let re = EnrollArgs {
                    site: "FLEET".into(),
                    enrollment_key: key.clone(),
                    machine_uid: format!("node-{n}"),
                    ..Default::default()
                };
                a.enroll(&re).await.unwrap();
                let fresh = RosterClient::new(env_nats.clone(), "roster", KeyPairs::generate());
                let r = fresh
                    .enroll(&EnrollArgs {
                        site: "FLEET".into(),
                        enrollment_key: key.clone(),
                        machine_uid: format!("late-{i}"),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                new_ids.push(r.machine_id.to_string());
            }
            new_ids
        })
    };
    let mut seen = Vec::new();
    let mut body = json!({"site": "FLEET", "limit": 2});
    loop {
        let page: MachineListReply = env
            .owner
            .call(Endpoint::Admin(Command::MachineList), &body)
            .await
            .unwrap();
        seen.extend(page.machines.iter().map(|m| m.machine_id.to_string()));
        match page.cursor {
            Some(c) => body["cursor"] = json!(c),
            None => break,
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let late = writer.await.unwrap();
    // Every machine that was there is seen exactly once, in its place; new ones only
    // after them; none twice.
    assert_eq!(seen[..first.len()], first[..]);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a machine was listed twice");
    assert!(seen[first.len()..].iter().all(|id| late.contains(id)));
    // Afterwards the whole list is the 48, each once.
    let all = all_pages(&env, json!({"site": "FLEET"}), 10).await;
    assert_eq!(all.len(), 48);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 48);
    assert_checks_clean(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_enrollments_of_one_agent_leave_one_listed_machine() {
    let env = TestEnv::start().await;
    let key = env.site("RACE", Policy::Auto).await;
    let keys = KeyPairs::generate();
    let racers: Vec<_> = (0..16)
        .map(|_| {
            let a = RosterClient::new(
                env.nats().clone(),
                "roster",
                KeyPairs::from_secrets(&keys.sign_seed(), &keys.kex_secret()),
            );
            let key = key.clone();
            tokio::spawn(async move {
                a.enroll(&EnrollArgs {
                    site: "RACE".into(),
                    enrollment_key: key,
                    machine_uid: "the-one".into(),
                    ..Default::default()
                })
                .await
            })
        })
        .collect();
    let mut ok = 0;
    for r in racers {
        if r.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert!(ok >= 1);
    assert_eq!(all_pages(&env, json!({"site": "RACE"}), 5).await.len(), 1);
    // The losers' entries, if any were written, are gone or skipped.
    assert_checks_clean(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_not_from_this_service_is_refused() {
    let env = TestEnv::start().await;
    for cursor in ["abc", "0", "-1", "1.5"] {
        let err = env
            .owner
            .call::<_, Value>(
                Endpoint::Admin(Command::MachineList),
                &json!({ "cursor": cursor }),
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some(roster::wire::ErrorCode::BadRequest),
            "{cursor}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invites_by_state_page_the_index_however_many_were_redeemed() {
    use futures::StreamExt;
    use roster::store::records::InviteState;
    let env = TestEnv::start().await;
    let mint = |name: String, ttl: u64| {
        let store = env.store.clone();
        async move {
            let h = roster::domain::Handle::parse(&name).unwrap();
            let req =
                roster::wire::admin::InviteCreateRequest::new(h, roster::domain::Role::Member);
            roster::handlers::mint_invite(
                &store,
                &req.handle,
                &req.assignment(),
                std::time::Duration::from_secs(ttl),
                "test",
            )
            .await
            .unwrap();
        }
    };
    // More redeemed invites than a page's scan budget (10,000 records), claimed through
    // the store's CAS loop as a register claims them.
    const REDEEMED: usize = 10_100;
    futures::stream::iter(0..REDEEMED)
        .for_each_concurrent(64, |i| mint(format!("used{i}"), 3600))
        .await;
    let keys = env.store.invites.keys().await.unwrap();
    futures::stream::iter(keys)
        .for_each_concurrent(64, |k| {
            let store = env.store.clone();
            async move {
                let id = roster::domain::InviteId::parse(&k).unwrap();
                store
                    .invites
                    .modify(&id, |cur| {
                        let mut next = cur.unwrap().value.clone();
                        if next.state != InviteState::Pending {
                            return Ok::<_, roster::store::StoreError>(
                                roster::store::Decision::Keep(()),
                            );
                        }
                        // Redeemed by a user since deleted (`roster check` then expects
                        // no user, and the healers finish no register).
                        next.state = InviteState::Used;
                        next.used_at = Some("2026-12-03T00:00:00Z".into());
                        next.user_deleted_at = Some("2026-12-03T00:00:01Z".into());
                        Ok(roster::store::Decision::put(next))
                    })
                    .await
                    .unwrap();
            }
        })
        .await;
    for i in 0..5 {
        mint(format!("pending{i}"), 3600).await;
    }
    mint("soon".into(), 1).await;
    for i in 0..2 {
        let h = roster::domain::Handle::parse(&format!("gone{i}")).unwrap();
        let r = env
            .owner
            .invite_create(&h, roster::domain::Role::Member, None)
            .await
            .unwrap();
        env.owner.invite_cancel(&r.invite_id).await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let page = |state: &str, limit: u32, cursor: Option<String>| {
        let mut body = json!({"state": state, "limit": limit});
        if let Some(c) = cursor {
            body["cursor"] = json!(c);
        }
        let owner = env.owner.clone();
        async move {
            let page: roster::wire::admin::InviteListReply = owner
                .call(Endpoint::Admin(Command::InviteList), &body)
                .await
                .unwrap();
            let mut handles: Vec<String> =
                page.invites.iter().map(|i| i.handle.to_string()).collect();
            handles.sort();
            (handles, page.cursor.map(|c| c.to_string()))
        }
    };
    // Right after the registers their entries are still there (the healers remove them
    // once the changes settle): pages skip them, and following the cursors finds every
    // pending invite once.
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..1000 {
        let (h, next) = page("pending", 100, cursor).await;
        seen.extend(h);
        cursor = next;
        if cursor.is_none() {
            break;
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        ["pending0", "pending1", "pending2", "pending3", "pending4"]
    );
    let report = roster::check::check(&env.store, &env.audit).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.stale_index_entries, 0);
    assert!(report.redeemed_invite_entries > 0);
    // The healers remove the redeemed invites' entries once the changes settle (10 s).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let r = roster::check::check(&env.store, &env.audit).await.unwrap();
        if r.redeemed_invite_entries == 0 {
            assert_eq!(r.stale_index_entries, 0);
            assert!(r.problems.is_empty(), "{:?}", r.problems);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} entries left",
            r.redeemed_invite_entries
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    // Then one full page each, no cursor: the server filtered the index (a scan of the
    // bucket would stop at its 10,000-record budget with a short page and a cursor).
    let (pending, cursor) = page("pending", 10, None).await;
    assert_eq!(
        pending,
        ["pending0", "pending1", "pending2", "pending3", "pending4"]
    );
    assert!(cursor.is_none());
    assert_eq!(
        page("expired", 10, None).await,
        (vec!["soon".to_owned()], None)
    );
    assert_eq!(
        page("cancelled", 10, None).await,
        (vec!["gone0".to_owned(), "gone1".to_owned()], None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_users_page_the_index_once_per_place_they_hold_something_in() {
    use roster::domain::{Role, Tenant};
    let env = TestEnv::start().await;
    let admin = |cmd: Command, body: Value| {
        let owner = env.owner.clone();
        async move {
            owner
                .call::<_, Value>(Endpoint::Admin(cmd), &body)
                .await
                .unwrap()
        }
    };
    for t in ["tee", "you"] {
        admin(
            Command::TenantCreate,
            json!({"tenant": t, "name": format!("Tenant {t}")}),
        )
        .await;
    }
    let register = |h: &'static str, role: Role, t: &'static str| {
        let env = &env;
        async move {
            let tok = env
                .owner
                .invite_create_at(
                    &common::handle(h),
                    role,
                    Some(&Tenant::parse(t).unwrap()),
                    None,
                    None,
                )
                .await
                .unwrap()
                .token;
            env.client().register(&tok).await.unwrap();
        }
    };
    register("ann", Role::Operator, "tee").await;
    for i in 0..5 {
        let h: &'static str = Box::leak(format!("tee-{i}").into_boxed_str());
        register(h, Role::Member, "tee").await;
    }
    // ann enters you first, then bob registers there.
    admin(
        Command::UserAssign,
        json!({"handle": "ann", "role": "operator", "tenant": "you"}),
    )
    .await;
    register("bob", Role::Member, "you").await;
    // A later write of ann that leaves its place in you as it was (a second role in
    // tee): the bucket's order now has ann after bob, you's index does not.
    admin(
        Command::UserAssign,
        json!({"handle": "ann", "role": "member", "tenant": "tee"}),
    )
    .await;
    assert_eq!(
        user_pages(&env, json!({"tenant": "you"}), 1).await,
        ["ann", "bob"]
    );
    let unfiltered = user_pages(&env, json!({}), 100).await;
    let pos = |h: &str| unfiltered.iter().position(|u| u == h).unwrap();
    assert!(pos("bob") < pos("ann"), "{unfiltered:?}");
    // ann is listed once in tee (where it entered first), with its members, paged two
    // at a time.
    assert_eq!(
        user_pages(&env, json!({"tenant": "tee"}), 2).await,
        ["ann", "tee-0", "tee-1", "tee-2", "tee-3", "tee-4"]
    );
    assert_eq!(
        user_pages(&env, json!({"tenant": "tee", "role": "operator"}), 10).await,
        ["ann"]
    );
    let report = assert_checks_clean(&env).await;
    assert_eq!(report.users, 8);
    // Leaving you removes its entry there; a revoke moves every entry to `revoked`.
    admin(
        Command::UserUnassign,
        json!({"handle": "ann", "role": "operator", "tenant": "you"}),
    )
    .await;
    assert_eq!(
        user_pages(&env, json!({"tenant": "you"}), 10).await,
        ["bob"]
    );
    env.owner
        .revoke_user(&common::handle("tee-1"), None)
        .await
        .unwrap();
    assert_eq!(
        user_pages(&env, json!({"tenant": "tee", "status": "revoked"}), 10).await,
        ["tee-1"]
    );
    assert_eq!(
        user_pages(&env, json!({"tenant": "tee", "status": "active"}), 10).await,
        ["ann", "tee-0", "tee-2", "tee-3", "tee-4"]
    );
    // A delete removes its entries with the record.
    admin(Command::UserDelete, json!({"handle": "tee-1"})).await;
    assert_eq!(
        user_pages(&env, json!({"tenant": "tee", "status": "revoked"}), 10).await,
        Vec::<String>::new()
    );
    assert_checks_clean(&env).await;
}
