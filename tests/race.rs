//! Single use under races: many clients redeem one invite across two workers.
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
