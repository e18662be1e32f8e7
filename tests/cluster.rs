//! A 3-node JetStream cluster on loopback (nats-config/cluster/c1-3.conf), R3 buckets
//! and two worker processes (`roster serve`, through `roster::harness`): killing the stream leader of the invites bucket during the invite
//! race still gives exactly one winner and loses no acknowledged write.
#![cfg(feature = "failpoints")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use roster::client::{ClientError, RosterClient};
use roster::config::{NatsArgs, WorkerArgs, WorkerConfig};
use roster::crypto::KeyPairs;
use roster::domain::{Handle, Role};
use roster::harness::{WorkerOptions, WorkerProcess};
use roster::wire::admin::InviteCreateRequest;
use roster::wire::ErrorCode;

struct Node {
    name: String,
    conf: std::path::PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Node {
    fn spawn(&mut self) {
        let log = std::fs::File::create(self.conf.with_extension("log")).unwrap();
        self.child = Some(
            Command::new(roster::natsd::server_binary())
                .arg("-c")
                .arg(&self.conf)
                .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .stdin(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A worker process on the cluster, `urls` from `first` on, serving once this returns.
async fn worker(urls: &[String], first: usize, password: &str, dir: &Path) -> WorkerProcess {
    let mut list = urls.to_vec();
    list.rotate_left(first);
    let mut nats = NatsArgs::for_url(&list.join(","));
    nats.nats_user = Some("roster".into());
    nats.nats_password = Some(password.to_owned());
    let opts = WorkerOptions {
        args: vec!["--replicas".into(), "3".into()],
        log: Some(dir.join(format!("worker{first}.log"))),
        ..Default::default()
    };
    WorkerProcess::start(Path::new(env!("CARGO_BIN_EXE_roster")), &nats, opts)
        .await
        .expect("the worker serves")
}

fn lost(e: &ClientError) -> bool {
    matches!(e, ClientError::Nats(_)) || e.code() == Some(ErrorCode::Unavailable)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_invites_leader_during_the_race_still_gives_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let setup = roster::natsd::CalloutSetup::generate().unwrap();
    let issuer = nkeys::KeyPair::from_seed(&setup.issuer_seed)
        .unwrap()
        .public_key();
    let xkey = nkeys::XKey::from_seed(&setup.xkey_seed)
        .unwrap()
        .public_key();
    let ports: Vec<(u16, u16)> = (0..3)
        .map(|_| {
            (
                roster::natsd::free_port().unwrap(),
                roster::natsd::free_port().unwrap(),
            )
        })
        .collect();
    let mut nodes: Vec<Node> = (1..=3)
        .map(|i| {
            let conf = dir.path().join(format!("c{i}.conf"));
            std::fs::copy(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(format!("nats-config/cluster/c{i}.conf")),
                &conf,
            )
            .unwrap();
            let mut env = vec![
                (
                    "ROSTER_STORE_DIR".to_owned(),
                    dir.path().join(format!("store{i}")).display().to_string(),
                ),
                ("ROSTER_ISSUER_PUB".to_owned(), issuer.clone()),
                ("ROSTER_XKEY_PUB".to_owned(), xkey.clone()),
                (
                    "ROSTER_WORKER_PASSWORD".to_owned(),
                    setup.worker_password.to_string(),
                ),
                (
                    "ROSTER_SYS_PASSWORD".to_owned(),
                    setup.sys_password.to_string(),
                ),
            ];
            for (j, (client, route)) in ports.iter().enumerate() {
                env.push((format!("ROSTER_C{}_PORT", j + 1), client.to_string()));
                env.push((format!("ROSTER_C{}_ROUTE_PORT", j + 1), route.to_string()));
                env.push((
                    format!("ROSTER_C{}_ROUTE", j + 1),
                    format!("nats-route://127.0.0.1:{route}"),
                ));
            }
            Node {
                name: format!("roster_c{i}"),
                conf,
                env,
                child: None,
            }
        })
        .collect();
    for n in &mut nodes {
        n.spawn();
    }
    let urls: Vec<String> = ports
        .iter()
        .map(|(c, _)| format!("nats://127.0.0.1:{c}"))
        .collect();
    let connect = |first: usize| {
        let mut list = urls.clone();
        list.rotate_left(first);
        let pw = setup.worker_password.to_string();
        async move {
            async_nats::ConnectOptions::with_user_and_password("roster".into(), pw)
                .retry_on_initial_connect()
                .connect(list)
                .await
                .unwrap()
        }
    };
    // Wait for the meta leader, then create R3 buckets.
    let admin = connect(0).await;
    let cfg = WorkerConfig::from_args(
        &NatsArgs::for_url(&urls[0]),
        &WorkerArgs {
            replicas: 3,
            ..Default::default()
        },
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (store, audit) = loop {
        match roster::worker::open_state(&admin, &cfg).await {
            Ok(s) => break s,
            Err(e) if Instant::now() < deadline => {
                eprintln!("waiting for the cluster: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("cluster never became ready: {e}"),
        }
    };
    // Two `roster serve` processes with R3 buckets, each listing the nodes from another
    // first, as the `roster` user.
    let _w1 = worker(&urls, 0, &setup.worker_password, dir.path()).await;
    let _w2 = worker(&urls, 1, &setup.worker_password, dir.path()).await;
    let js = async_nats::jetstream::new(admin.clone());

    let mut conns = Vec::new();
    for i in 0..3 {
        conns.push(connect(i).await);
    }
    const RACERS: usize = 200;
    for round in 0..3 {
        let handle = format!("cluster-{round}");
        let req = InviteCreateRequest::new(Handle::parse(&handle).unwrap(), Role::Member);
        let token = loop {
            let (h, a) = (&req.handle, req.assignment());
            match roster::handlers::mint_invite(&store, h, &a, Duration::from_secs(3600), "test")
                .await
            {
                Ok(r) => break r.token,
                Err(e) => {
                    eprintln!("minting: {e}");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        };
        let mut stream = js.get_stream("KV_roster_invites").await.unwrap();
        let leader = stream
            .info()
            .await
            .unwrap()
            .cluster
            .as_ref()
            .and_then(|c| c.leader.clone())
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..RACERS {
            let nats = conns[i % conns.len()].clone();
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                let keys = KeyPairs::generate();
                let (seed, kex) = (keys.sign_seed(), keys.kex_secret());
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    // Each attempt is a fresh signature over the same keys: a client retry.
                    let c = RosterClient::new(
                        nats.clone(),
                        "roster",
                        KeyPairs::from_secrets(&seed, &kex),
                    )
                    .with_timeout(Duration::from_secs(5));
                    match c.register(&token).await {
                        Ok(r) => return Ok(r),
                        Err(e) if lost(&e) && Instant::now() < deadline => {
                            tokio::time::sleep(Duration::from_millis(200)).await
                        }
                        Err(e) => return Err(e.code()),
                    }
                }
            }));
        }
        // Kill the invites stream leader while the race is on.
        tokio::time::sleep(Duration::from_millis(30)).await;
        let victim = nodes.iter_mut().find(|n| n.name == leader).unwrap();
        victim.kill();
        let mut winners = Vec::new();
        let mut used = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(r) => winners.push(r),
                Err(Some(ErrorCode::InviteUsed)) => used += 1,
                Err(other) => panic!("round {round}: unexpected {other:?}"),
            }
        }
        println!(
            "round {round}: killed leader {leader}; {} winner, {used} invite_used",
            winners.len()
        );
        assert_eq!(winners.len(), 1, "round {round}");
        assert_eq!(used, RACERS - 1);
        // The acknowledged registration survived the leader change.
        let user = loop {
            match store.user(&Handle::parse(&handle).unwrap()).await {
                Ok(u) => break u,
                Err(e) => {
                    eprintln!("reading: {e}");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        };
        assert_eq!(user.unwrap().value.sign_pub, winners[0].sign_pub);
        // Bring the node back before the next round.
        nodes.iter_mut().find(|n| n.name == leader).unwrap().spawn();
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    // The checker reads from stream leaders. Right after a node rejoins, a new leader can
    // still be applying committed entries; give the cluster a moment, then look twice.
    let mut report = roster::check::check(&store, &audit).await.unwrap();
    for _ in 0..10 {
        if report.problems.is_empty() {
            break;
        }
        eprintln!(
            "checker saw {} problem(s) while the cluster settles: {:?}",
            report.problems.len(),
            report.problems
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        report = roster::check::check(&store, &audit).await.unwrap();
    }
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
