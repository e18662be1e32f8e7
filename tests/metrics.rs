//! `--metrics-addr`: a worker's Prometheus metrics and `/healthz`, scraped over real HTTP
//! while real requests, connections and evictions go through a real nats-server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{handle, TestEnv};
use roster::client::{EnrollArgs, RosterClient};
use roster::config::WorkerArgs;
use roster::crypto::KeyPairs;
use roster::domain::{Policy, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One HTTP/1.1 exchange: (status, headers and body as text).
async fn http(addr: SocketAddr, request_line: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("{request_line}\r\nHost: {addr}\r\nUser-Agent: roster-test\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out))
        .await
        .expect("the response comes and the connection closes")
        .unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}

/// A sample's labels, sorted by name.
type Labels = Vec<(String, String)>;

/// The parsed scrape: every sample as (name, labels, value).
struct Scrape(Vec<(String, Labels, f64)>);

impl Scrape {
    async fn of(addr: SocketAddr) -> Self {
        let (status, text) = http(addr, "GET /metrics HTTP/1.1").await;
        assert_eq!(status, 200, "{text}");
        assert!(text.contains("Content-Type: application/openmetrics-text"));
        let body = text.split("\r\n\r\n").nth(1).unwrap();
        assert!(body.trim_end().ends_with("# EOF"), "a complete exposition");
        let samples = body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (series, value) = l.rsplit_once(' ').unwrap();
                let (name, labels) = match series.split_once('{') {
                    Some((n, rest)) => (n, rest.trim_end_matches('}')),
                    None => (series, ""),
                };
                let mut labels: Labels = labels
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once('=').unwrap();
                        (k.to_owned(), v.trim_matches('"').to_owned())
                    })
                    .collect();
                labels.sort();
                (name.to_owned(), labels, value.parse().unwrap())
            })
            .collect();
        Self(samples)
    }

    /// The sample `name` with exactly `labels` (0 when absent: never counted).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut want: Labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        want.sort();
        self.0
            .iter()
            .find(|(n, l, _)| n == name && *l == want)
            .map_or(0.0, |(_, _, v)| *v)
    }
}

async fn metrics_env() -> TestEnv {
    let args = WorkerArgs {
        metrics_addr: Some("127.0.0.1:0".parse().unwrap()),
        ..WorkerArgs::default()
    };
    TestEnv::with_callout_capped(args, "4GB").await
}

/// An agent connected through the callout with fresh keys (the onboarding lane).
async fn agent(env: &TestEnv) -> RosterClient {
    let keys = KeyPairs::generate();
    let conn = env.connect_as(&keys).await.unwrap();
    RosterClient::new(
        conn,
        "roster",
        KeyPairs::from_secrets(&keys.sign_seed(), &keys.kex_secret()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counters_move_for_the_right_endpoint_and_code_and_healthz_follows_nats() {
    let mut env = metrics_env().await;
    let addr = env.metrics_addrs[0];
    let before = Scrape::of(addr).await;
    let requests = "roster_requests_total";
    let ok_creates = [("endpoint", "invite.create"), ("code", "ok")];

    // Two invites; a stranger's register with an invite nobody minted.
    env.invite("alice", Role::Member).await;
    env.invite("bob", Role::Member).await;
    let stranger = agent(&env).await;
    let unknown = roster::crypto::Secret::mint(roster::crypto::SecretKind::Invite);
    let refused = stranger.register(unknown.expose()).await.unwrap_err();
    assert_eq!(
        refused.code(),
        Some(roster::wire::ErrorCode::InviteUnknown),
        "{refused:?}"
    );
    // A connection with a token that is no credential.
    let denied = async_nats::ConnectOptions::with_token("not-a-credential".into())
        .max_reconnects(0)
        .connect(env.server.url())
        .await;
    assert!(denied.is_err());
    // Two agents with one installer key: one Argon2 verification, then a cache hit.
    let key = env.site("acme-phx", Policy::Auto).await;
    for uid in ["uid-1", "uid-2"] {
        let args = EnrollArgs {
            site: "acme-phx".into(),
            enrollment_key: key.clone(),
            machine_uid: uid.into(),
            ..Default::default()
        };
        agent(&env).await.enroll(&args).await.unwrap();
    }
    // A member with a live connection, revoked: its connection is evicted.
    let (keys, _lane) = env.join_over_callout("carol", Role::Member).await;
    let _as_member = env.connect_as(&keys).await.unwrap();
    env.owner.revoke_user(&handle("carol"), None).await.unwrap();

    let after = Scrape::of(addr).await;
    let moved =
        |name: &str, labels: &[(&str, &str)]| after.get(name, labels) - before.get(name, labels);
    // alice's, bob's and carol's invites.
    assert_eq!(moved(requests, &ok_creates), 3.0);
    assert_eq!(
        moved(
            requests,
            &[("endpoint", "register"), ("code", "invite_unknown")]
        ),
        1.0
    );
    assert_eq!(
        moved(requests, &[("endpoint", "register"), ("code", "ok")]),
        1.0
    );
    assert_eq!(
        moved(requests, &[("endpoint", "enroll"), ("code", "ok")]),
        2.0
    );
    assert_eq!(
        moved(requests, &[("endpoint", "revoke"), ("code", "ok")]),
        1.0
    );
    // Nothing counted against another endpoint or code for what was not sent.
    assert_eq!(
        moved(
            requests,
            &[("endpoint", "invite.create"), ("code", "invite_unknown")]
        ),
        0.0
    );
    let creates = [("endpoint", "invite.create")];
    assert_eq!(
        moved("roster_request_duration_seconds_count", &creates),
        3.0
    );
    assert!(after.get("roster_request_duration_seconds_sum", &creates) > 0.0);
    assert!(
        moved(
            "roster_request_duration_seconds_bucket",
            &[("endpoint", "invite.create"), ("le", "+Inf")]
        ) == 3.0
    );
    // The callout: the stranger, two agents and carol came in on the onboarding lane, carol
    // again as a user; the token was refused for what it was.
    assert!(moved("roster_callout_admissions_total", &[("kind", "onboarding")]) >= 4.0);
    assert!(moved("roster_callout_admissions_total", &[("kind", "user")]) >= 1.0);
    assert!(
        moved(
            "roster_callout_denials_total",
            &[("reason", "unknown_token")]
        ) >= 1.0
    );
    // The keyring: one miss, one hit; Argon2 ran (the site's hash and the verification).
    assert_eq!(
        moved("roster_enroll_key_cache_total", &[("result", "miss")]),
        1.0
    );
    assert_eq!(
        moved("roster_enroll_key_cache_total", &[("result", "hit")]),
        1.0
    );
    assert!(moved("roster_argon2_runs_total", &[]) >= 2.0);
    assert_eq!(
        after.get("roster_argon2_queue_depth", &[]),
        0.0,
        "nothing waits at rest"
    );
    assert!(moved("roster_evicted_connections_total", &[("kind", "user")]) >= 1.0);
    // No label carries anything a client chose: no handle, no key, no token.
    let text = http(addr, "GET /metrics HTTP/1.1").await.1;
    for secret in [
        "carol",
        "alice",
        "not-a-credential",
        key.as_str(),
        unknown.expose(),
    ] {
        assert!(!text.contains(secret), "{secret} in the scrape");
    }

    // Health, and the two other answers of a two-path server.
    let (status, body) = http(addr, "GET /healthz HTTP/1.1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(http(addr, "GET /nope HTTP/1.1").await.0, 404);
    assert_eq!(http(addr, "POST /metrics HTTP/1.1").await.0, 405);

    // NATS goes away: the worker's connection is down, and /healthz says so.
    env.server.kill();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = http(addr, "GET /healthz HTTP/1.1").await;
        if status == 503 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Metrics are still served: they are the worker's own.
    assert!(Scrape::of(addr).await.get(requests, &ok_creates) >= 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_bounds_what_it_reads_and_goes_when_the_worker_stops() {
    let mut env = metrics_env().await;
    let addr = env.metrics_addrs[0];
    // A request head past 8 KiB is refused without reading on.
    let long = format!("GET /metrics?{} HTTP/1.1", "x".repeat(16 * 1024));
    assert_eq!(http(addr, &long).await.0, 431);

    // A worker that shuts down stops serving /metrics once it is gone.
    let worker = env.workers.remove(0);
    worker.shutdown().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "still listening");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_in_use_fails_the_start_before_the_worker_runs() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = roster::natsd::NatsServer::start(Default::default())
        .await
        .unwrap();
    let args = WorkerArgs {
        metrics_addr: Some(taken.local_addr().unwrap()),
        ..WorkerArgs::default()
    };
    let settings = roster::app::Settings::for_server(&server, &args).unwrap();
    let err = roster::app::App::build(&settings, "test-worker")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot listen for metrics"),
        "{err}"
    );
    // No worker answers: the failed start left nothing serving.
    let nats = async_nats::connect(server.url()).await.unwrap();
    let ping = tokio::time::timeout(
        Duration::from_millis(500),
        nats.request("$SRV.PING.roster", bytes::Bytes::new()),
    )
    .await;
    assert!(!matches!(ping, Ok(Ok(_))), "a worker serves: {ping:?}");
}
