//! `roster bench --apikeys`: `apikey.verify` per second and p50/p99 with one hot key and
//! with many keys (each verified once first: a warm cache), next to the raw
//! request-reply floor in the same run (a bare responder process answering a request of
//! the same size with a reply of the same size, no KV work), and the cost of a wrong key
//! (a fresh unknown key id each time: one dummy Argon2 run). The requester is an API key
//! holding `apikey:verify`, as a service would use: each request checks two keys.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use futures::StreamExt;
use roster::authz::Permission;
use roster::client::RosterClient;
use roster::crypto::{KeyPairs, Secret, SecretKind};
use roster::domain::ApiKeyName;
use roster::wire::admin::{ApiKeyCreateRequest, ApiKeyVerifyRequest, VerifyCode};

use crate::args::BenchArgs;
use crate::measure::{concurrent, percentiles, sequential, Percentiles};
use crate::progress;
use crate::setup::Bench;

const ECHO_SUBJECT: &str = "roster.v1.echo";
/// Sizes of a verify request and its reply (measured on roster's).
const REQUEST_BYTES: usize = 110;
const REPLY_BYTES: usize = 180;

/// The results of the API key phase.
#[derive(Debug, serde::Serialize)]
pub(crate) struct ApiKeyResults {
    pub(crate) floor_per_s: f64,
    pub(crate) floor: Percentiles,
    pub(crate) hot_per_s: f64,
    pub(crate) hot: Percentiles,
    pub(crate) keys: usize,
    pub(crate) many_per_s: f64,
    pub(crate) many: Percentiles,
    pub(crate) wrong_key: Percentiles,
    pub(crate) errors: usize,
}

/// The bare responder process (`roster-bench echo`).
struct Echo(Child);

impl Drop for Echo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves the floor: answers every request on the echo subject with a reply of a verify
/// reply's size (`roster-bench echo`).
pub(crate) async fn echo(url: &str) -> anyhow::Result<()> {
    let nats = async_nats::connect(url).await?;
    let mut sub = nats.queue_subscribe(ECHO_SUBJECT, "echo".into()).await?;
    nats.flush().await?;
    println!("ready");
    let reply = Bytes::from(vec![b'r'; REPLY_BYTES]);
    while let Some(msg) = sub.next().await {
        if let Some(to) = msg.reply {
            let _ = nats.publish(to, reply.clone()).await;
        }
    }
    Ok(())
}

async fn start_echo(url: &str) -> anyhow::Result<Echo> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["echo", "--nats-url", url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the echo process")?;
    let stdout = child.stdout.take().context("echo stdout")?;
    let me = Echo(child);
    tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).map(|_| line)
    })
    .await??;
    Ok(me)
}

fn create(name: &str, scopes: &[Permission]) -> anyhow::Result<ApiKeyCreateRequest> {
    Ok(ApiKeyCreateRequest {
        tenant: None,
        name: ApiKeyName::parse(name).map_err(|e| anyhow::anyhow!("{e}"))?,
        scopes: scopes.iter().copied().collect(),
        product: None,
        ttl_secs: None,
    })
}

async fn verify_ok(c: &RosterClient, key: &str, want: VerifyCode) -> bool {
    let req = ApiKeyVerifyRequest {
        key: key.to_owned(),
        scopes: None,
        product: None,
    };
    c.apikey_verify(&req).await.is_ok_and(|r| r.code == want)
}

/// Runs the phase: `args.apikey_keys` keys, `args.registrations` verifications per
/// throughput run, `args.sequential` sequential samples.
pub(crate) async fn run(args: &BenchArgs) -> anyhow::Result<ApiKeyResults> {
    let b = Bench::start(false).await?;
    let _echo = start_echo(&b.server.url()).await?;
    let n = args.registrations;
    let owner = &b.owner;
    let requester = owner
        .apikey_create(&create("bench-verifier", &[Permission::ApikeyVerify])?)
        .await?;
    let hot = owner
        .apikey_create(&create("bench-hot", &[Permission::SiteRead])?)
        .await?;
    let clients: Arc<Vec<RosterClient>> = Arc::new(
        (0..b.conns.len())
            .map(|i| {
                b.client(i, KeyPairs::generate())
                    .with_api_key(&requester.key)
            })
            .collect(),
    );
    let mut errors = 0;

    progress("API keys: the raw request-reply floor");
    let conns = b.conns.clone();
    let body = Bytes::from(vec![b'q'; REQUEST_BYTES]);
    let echo_once = |i: usize| {
        let (c, body) = (conns[i % conns.len()].clone(), body.clone());
        async move { c.request(ECHO_SUBJECT, body).await.is_ok() }
    };
    let _ = concurrent(0..200, args.in_flight, echo_once).await;
    let (t, e) = concurrent(0..n, args.in_flight, echo_once).await;
    errors += e;
    let floor_per_s = n as f64 / t.as_secs_f64();
    let (s, e) = sequential(0..args.sequential, echo_once).await;
    errors += e;
    let floor = percentiles(&s);

    progress("API keys: one hot key");
    let hot_once = |i: usize| {
        let (c, key) = (clients.clone(), hot.key.clone());
        async move { verify_ok(&c[i % c.len()], &key, VerifyCode::Valid).await }
    };
    let _ = concurrent(0..200, args.in_flight, hot_once).await;
    let (t, e) = concurrent(0..n, args.in_flight, hot_once).await;
    errors += e;
    let hot_per_s = n as f64 / t.as_secs_f64();
    let (s, e) = sequential(0..args.sequential, hot_once).await;
    errors += e;
    let hot_p = percentiles(&s);

    progress(&format!(
        "API keys: {} keys (created and verified once each first)",
        args.apikey_keys
    ));
    let made = futures::stream::iter(0..args.apikey_keys)
        .map(|i| async move {
            owner
                .apikey_create(&create(&format!("bench-{i}"), &[Permission::SiteRead])?)
                .await
                .map(|r| r.key)
                .map_err(anyhow::Error::from)
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    let keys: Arc<Vec<String>> = Arc::new(made.into_iter().collect::<Result<_, _>>()?);
    let many_once = |i: usize| {
        let (c, keys) = (clients.clone(), keys.clone());
        // A spread over all keys that is not the creation order.
        let k = (i * 7919) % keys.len();
        async move { verify_ok(&c[i % c.len()], &keys[k], VerifyCode::Valid).await }
    };
    // Warm: every key once through every connection's worker (one worker here).
    let (_, e) = concurrent(0..keys.len(), args.in_flight, |i| {
        let (c, keys) = (clients.clone(), keys.clone());
        async move { verify_ok(&c[0], &keys[i], VerifyCode::Valid).await }
    })
    .await;
    errors += e;
    let (t, e) = concurrent(0..n, args.in_flight, many_once).await;
    errors += e;
    let many_per_s = n as f64 / t.as_secs_f64();
    let (s, e) = sequential(0..args.sequential, many_once).await;
    errors += e;
    let many = percentiles(&s);

    progress("API keys: wrong keys (a fresh unknown key id each)");
    let wrong = 20.min(args.sequential);
    let (s, e) = sequential(0..wrong, |_| {
        let c = clients.clone();
        let key = Secret::mint(SecretKind::ApiKey).expose().to_owned();
        async move { verify_ok(&c[0], &key, VerifyCode::NotFound).await }
    })
    .await;
    errors += e;
    Ok(ApiKeyResults {
        floor_per_s,
        floor,
        hot_per_s,
        hot: hot_p,
        keys: keys.len(),
        many_per_s,
        many,
        wrong_key: percentiles(&s),
        errors,
    })
}
