//! Races across two workers: many clients redeem one invite (single use), and many
//! admin changes move users between tenants (the users' index stays exact).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::collections::HashMap;

use common::TestEnv;
use roster::domain::Role;
use roster::wire::ErrorCode;

const RACERS: usize = 200;
const ROUNDS: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_race_one_invite_and_exactly_one_wins() {
    let env = TestEnv::with_workers(2).await;
    // Racers spread over four connections so both workers see the race.
    let mut conns = Vec::new();
    for _ in 0..4 {
        conns.push(env.client_own_connection().await.nats().clone());
    }
    for round in 0..ROUNDS {
        let handle = format!("racer{round}");
        let token = env.invite(&handle, Role::Member).await;
        let mut tasks = Vec::new();
        for i in 0..RACERS {
            let c = roster::client::RosterClient::new(
                conns[i % conns.len()].clone(),
                "roster",
                roster::crypto::KeyPairs::generate(),
            )
            .with_timeout(std::time::Duration::from_secs(30));
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                let r = c.register(&token).await;
                (c.keys().sign_pub(), r)
            }));
        }
        // Per outcome: a success, or the refusal's code (`None`: not a roster refusal).
        let mut outcomes: HashMap<Result<(), Option<ErrorCode>>, usize> = HashMap::new();
        let mut winner = None;
        for t in tasks {
            let (key, r) = t.await.unwrap();
            match r {
                Ok(_) => {
                    *outcomes.entry(Ok(())).or_default() += 1;
                    winner = Some(key);
                }
                Err(e) => *outcomes.entry(Err(e.code())).or_default() += 1,
            }
        }
        println!("round {round}: {outcomes:?}");
        assert_eq!(
            outcomes.get(&Ok(())),
            Some(&1),
            "round {round}: {outcomes:?}"
        );
        assert_eq!(
            outcomes.get(&Err(Some(ErrorCode::InviteUsed))),
            Some(&(RACERS - 1)),
            "round {round}: {outcomes:?}"
        );
        let user = env
            .store
            .user(&common::handle(&handle))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            Some(user.value.sign_pub),
            winner,
            "the stored user is the winner"
        );
    }
    env.check_kv_schemas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_assignments_leave_each_user_listed_exactly_where_it_holds_something() {
    use futures::StreamExt;
    use roster::wire::{Command, Endpoint};
    use serde_json::{json, Value};
    let env = TestEnv::with_workers(2).await;
    const TENANTS: [&str; 3] = ["t-one", "t-two", "t-three"];
    for t in TENANTS {
        env.owner
            .call::<_, Value>(
                Endpoint::Admin(Command::TenantCreate),
                &json!({"tenant": t, "name": t}),
            )
            .await
            .unwrap();
    }
    let handles = ["racer-a", "racer-b", "racer-c"];
    for h in handles {
        env.user(h, Role::Member).await;
    }
    // The owner signs on four connections, so both workers decide.
    let keys = env.owner.keys();
    let mut owners = Vec::new();
    for _ in 0..4 {
        let nats = env.client_own_connection().await.nats().clone();
        owners.push(roster::client::RosterClient::new(
            nats,
            "roster",
            roster::crypto::KeyPairs::from_secrets(&keys.sign_seed(), &keys.kex_secret()),
        ));
    }
    // 240 assigns and unassigns of the three users in the three tenants, 32 at a time:
    // every write that moves a user between places races others of the same user.
    let done = std::sync::atomic::AtomicUsize::new(0);
    futures::stream::iter(0..240usize)
        .for_each_concurrent(32, |i| {
            let c = owners[i % owners.len()].clone();
            let done = &done;
            async move {
                let cmd = if (i / 3) % 2 == 0 {
                    Command::UserAssign
                } else {
                    Command::UserUnassign
                };
                let body = json!({
                    "handle": handles[i % 3],
                    "role": "member",
                    "tenant": TENANTS[(i / 7) % 3],
                });
                // An unassign of what is not held is refused; the end state is what counts.
                if c.call::<_, Value>(Endpoint::Admin(cmd), &body)
                    .await
                    .is_ok()
                {
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        })
        .await;
    let done = done.into_inner();
    println!("{done} of 240 changes answered ok");
    assert!(done >= 60, "only {done} changes went through");
    // Each tenant lists exactly the users whose records hold something there, once.
    for t in TENANTS {
        let mut want = Vec::new();
        for h in handles {
            let u = env.store.user(&common::handle(h)).await.unwrap().unwrap();
            if u.value
                .assignments
                .iter()
                .any(|a| a.scope().tenant().map(|x| x.as_str()) == Some(t))
            {
                want.push(h.to_owned());
            }
        }
        let page: roster::wire::admin::UserListReply = env
            .owner
            .call(
                Endpoint::Admin(Command::UserList),
                &json!({"tenant": t, "limit": 100}),
            )
            .await
            .unwrap();
        let mut got: Vec<String> = page.users.iter().map(|u| u.handle.to_string()).collect();
        got.sort();
        assert_eq!(got, want, "tenant {t}");
    }
    let report = env.check().await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.stale_index_entries, 0);
}
