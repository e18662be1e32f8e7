//! Strangers cannot stop the service by filling the store (PROTOCOL §5): with JetStream
//! storage capped small, a flood of bad-signature registers and refused connections
//! leaves the security stream within its limits, the audit stream untouched, and the
//! owner's commands and a newcomer's registration working.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::time::Instant;

use bytes::Bytes;
use common::{handle, TestEnv};
use futures::StreamExt;
use roster::client::RosterClient;
use roster::config::WorkerArgs;
use roster::crypto::KeyPairs;
use roster::domain::Role;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const BAD_REGISTERS: usize = 50_000;
const REFUSED_CONNECTS: usize = 5_000;

/// One connection attempt in raw NATS protocol with credentials the roster refuses;
/// true when the server answered with an authorization error.
async fn refused_connect(port: u16, with_password: bool) -> bool {
    let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let Ok(Some(info)) = lines.next_line().await else {
        return false;
    };
    assert!(info.starts_with("INFO"), "{info}");
    let creds = if with_password {
        r#","user":"intruder","pass":"guess""#
    } else {
        ""
    };
    let connect = format!(
        "CONNECT {{\"verbose\":false,\"pedantic\":false,\"protocol\":1,\"lang\":\"raw\",\"version\":\"0\"{creds}}}\r\nPING\r\n"
    );
    if write.write_all(connect.as_bytes()).await.is_err() {
        return false;
    }
    matches!(lines.next_line().await, Ok(Some(l)) if l.to_lowercase().contains("authorization violation"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_strangers_fills_nothing_and_stops_nothing() {
    let args = WorkerArgs {
        security_max_mib: 1,
        nonce_max_mib: 4,
        counters_max_mib: 1,
        ..WorkerArgs::default()
    };
    // 16 MB in all: the old one-event-per-denial audit (~420 B each) would need ~23 MB.
    let env = TestEnv::with_callout_capped(args, "16MB").await;
    let audit_before = env.audit_events().await.len();

    // 1. Fifty thousand registers with bad signatures, 256 in flight, from one
    //    onboarding connection.
    let stranger = KeyPairs::generate();
    let conn = env.connect_as(&stranger).await.unwrap();
    let started = Instant::now();
    let codes: Vec<Option<String>> = futures::stream::iter(0..BAD_REGISTERS)
        .map(|i| {
            let conn = conn.clone();
            async move {
                let key = KeyPairs::generate().sign_pub().to_hex();
                let mut h = async_nats::HeaderMap::new();
                h.insert("Roster-Key", key.as_str());
                h.insert(
                    "Roster-Ts",
                    roster::time_util::now_ms().to_string().as_str(),
                );
                h.insert("Roster-Nonce", format!("{i:032x}").as_str());
                h.insert("Roster-Sig", "ab".repeat(64).as_str());
                let body = Bytes::from_static(br#"{"invite":"inv_x","kex_pub":"00"}"#);
                let reply = conn
                    .request_with_headers("roster.v1.register", h, body)
                    .await
                    .ok()?;
                serde_json::from_slice::<serde_json::Value>(&reply.payload)
                    .ok()
                    .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            }
        })
        .buffer_unordered(256)
        .collect()
        .await;
    let refused = codes
        .iter()
        .filter(|c| c.as_deref() == Some("invalid_signature"))
        .count();
    println!(
        "{BAD_REGISTERS} bad-signature registers in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(refused, BAD_REGISTERS, "every one is invalid_signature");

    // 2. Five thousand refused connections (a password the roster does not know, or no
    //    credential at all), 16 at a time.
    let port = env.server.port();
    let started = Instant::now();
    let answered = futures::stream::iter(0..REFUSED_CONNECTS)
        .map(|i| refused_connect(port, i % 2 == 0))
        .buffer_unordered(16)
        .filter(|refused| futures::future::ready(*refused))
        .count()
        .await;
    println!(
        "{REFUSED_CONNECTS} refused connects in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(answered, REFUSED_CONNECTS, "every attempt was refused");

    // 3. The owner and a newcomer are not affected.
    let token = env.invite("newcomer", Role::Member).await;
    let keys = KeyPairs::generate();
    let newcomer = RosterClient::new(
        env.connect_as(&keys).await.unwrap(),
        "roster",
        KeyPairs::from_secrets(&keys.sign_seed(), &keys.kex_secret()),
    );
    newcomer.register(&token).await.expect("a new registration");
    env.owner
        .revoke_user(&handle("newcomer"), Some("flood test"))
        .await
        .expect("a revoke");

    // 4. The denials are counted, not stored one by one, within the stream's limits.
    let counted = |action: &'static str| {
        let env = &env;
        async move {
            env.security_events()
                .await
                .iter()
                .filter(|e| e.action == action)
                .map(|e| e.metadata["count"].as_u64().unwrap())
                .sum::<u64>()
        }
    };
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while counted("user.register").await < BAD_REGISTERS as u64
        || counted("connect.denied").await < REFUSED_CONNECTS as u64
    {
        assert!(Instant::now() < deadline, "the tallies were published");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(counted("user.register").await, BAD_REGISTERS as u64);
    assert_eq!(counted("connect.denied").await, REFUSED_CONNECTS as u64);
    let events = env.security_events().await;
    println!("security stream: {} events", events.len());
    for e in events.iter().take(3) {
        println!("  {}", serde_json::to_string(e).unwrap());
    }
    assert!(
        events.len() < 200,
        "aggregated per window, code and source: {} events",
        events.len()
    );
    let js = async_nats::jetstream::new(env.nats().clone());
    let mut stream = js.get_stream(env.audit.security().stream()).await.unwrap();
    let info = stream.info().await.unwrap();
    assert_eq!(info.config.max_bytes, 1024 * 1024);
    assert_eq!(
        info.config.discard,
        async_nats::jetstream::stream::DiscardPolicy::Old
    );
    assert!(
        info.state.bytes <= 1024 * 1024,
        "{} bytes",
        info.state.bytes
    );

    // The audit stream holds only the state changes (invite, registration, revoke).
    let audit_after = env.audit_events().await;
    let added = audit_after.len() - audit_before;
    assert!(added <= 5, "{added} audit events: {audit_after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bounded_streams_room_is_reserved_out_of_the_store() {
    let args = WorkerArgs {
        security_max_mib: 4,
        nonce_max_mib: 4,
        counters_max_mib: 1,
        ..WorkerArgs::default()
    };
    let env = TestEnv::with_callout_capped(args, "16MB").await;
    let js = async_nats::jetstream::new(env.nats().clone());
    let stream = |name: &str, mib: i64| async_nats::jetstream::stream::Config {
        name: name.to_owned(),
        subjects: vec![format!("probe.{name}")],
        max_bytes: mib * 1024 * 1024,
        ..Default::default()
    };
    // 16 MB less the 10 MiB the security stream, the nonce bucket and the two shared
    // counter buckets reserve: a stream asking for 7 MiB more does not fit, one asking
    // for 5 MiB does. So nothing else can take the bounded streams' room, and they
    // cannot take anyone else's.
    let err = js.create_stream(stream("big", 7)).await.unwrap_err();
    println!("7 MiB more: {err}");
    assert!(
        err.to_string().to_lowercase().contains("insufficient"),
        "{err}"
    );
    js.create_stream(stream("small", 5)).await.unwrap();
}
