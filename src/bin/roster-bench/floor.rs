//! The raw-NATS floor: a bare async-nats responder doing exactly the NATS work one
//! register needs (request-reply, a nonce `create`, an invite read, the invite CAS, the
//! key-index `create`, the user's index entry (a stream publish) and the user `create`,
//! and the audit publish with a message id), against
//! buckets and a stream configured like roster's. [`responder`] is the process
//! (`roster-bench floor`); [`Floor`] starts it and sends it requests.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures::StreamExt;
use roster::wire;

/// The raw floor, run as its own process (`roster-bench floor`) like the worker, so both
/// sides pay the same process hops and wake-ups.
pub(crate) struct Floor {
    child: Child,
    conns: Vec<async_nats::Client>,
}

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const FLOOR_SUBJECT: &str = "roster.v1.floor";
// Sizes of roster's own messages for one register (measured on its records).
const REQUEST_BYTES: usize = 165;
const INVITE_BYTES: usize = 330;
const KEY_INDEX_BYTES: usize = 170;
const USER_BYTES: usize = 420;
const AUDIT_BYTES: usize = 470;
const REPLY_BYTES: usize = 290;

impl Floor {
    /// Starts the floor process with `total` invite records and connects to its bus.
    pub(crate) async fn start(url: &str, total: usize) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["floor", "--nats-url", url, "--records", &total.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the floor process")?;
        let stdout = child.stdout.take().context("floor stdout")?;
        // Owned from here on: if this start is abandoned, dropping it stops the floor.
        let mut me = Self {
            child,
            conns: Vec::new(),
        };
        let ready = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
                .map(|_| line)
        })
        .await??;
        anyhow::ensure!(ready.trim() == "ready", "the floor process did not start");
        for _ in 0..4 {
            me.conns.push(async_nats::connect(url).await?);
        }
        Ok(me)
    }

    /// Sends floor request `i`; whether it succeeded.
    pub(crate) async fn call(&self, i: usize) -> bool {
        let c = &self.conns[i % self.conns.len()];
        // The same four headers and body size a register request carries.
        let mut h = async_nats::HeaderMap::new();
        h.insert("Bench-I", i.to_string().as_str());
        h.insert(wire::HDR_KEY, "k".repeat(64).as_str());
        h.insert(wire::HDR_TS, "1763900000000");
        h.insert(wire::HDR_NONCE, "n".repeat(32).as_str());
        h.insert(wire::HDR_SIG, "s".repeat(128).as_str());
        let body = Bytes::from(vec![b'b'; REQUEST_BYTES]);
        matches!(c.request_with_headers(FLOOR_SUBJECT, h, body).await, Ok(m) if m.payload.as_ref() != b"error")
    }

    /// The floor process's id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// The floor process: prepares `total` invite records, says `ready` on stdout, and
/// answers floor requests until killed.
pub(crate) async fn responder(url: &str, total: usize) -> anyhow::Result<()> {
    let nats = async_nats::connect(url).await?;
    let js = jetstream::new(nats.clone());
    let bucket = |name: &str| kv::Config {
        bucket: format!("floor_{name}"),
        history: 1,
        storage: jetstream::stream::StorageType::File,
        max_value_size: 16 * 1024,
        ..Default::default()
    };
    let nonces = js
        .create_key_value(kv::Config {
            max_age: Duration::from_secs(150),
            ..bucket("nonces")
        })
        .await?;
    let invites = js.create_key_value(bucket("invites")).await?;
    let keys = js.create_key_value(bucket("keys")).await?;
    let users = js.create_key_value(bucket("users")).await?;
    js.create_stream(jetstream::stream::Config {
        name: "FLOOR_AUDIT".into(),
        subjects: vec!["bench.audit.>".into()],
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await?;
    // Like roster's index stream: the user's entry on its tenant and status.
    js.create_stream(jetstream::stream::Config {
        name: "FLOOR_INDEX".into(),
        subjects: vec!["bench.index.>".into()],
        allow_direct: true,
        max_message_size: 1024,
        ..Default::default()
    })
    .await?;
    // Keys and values shaped like roster's: 32-hex invite ids, 64-hex signing keys,
    // `<key>.<nonce>` nonce keys, and records of roster's sizes.
    let invite_rec = Bytes::from(vec![b'i'; INVITE_BYTES]);
    futures::stream::iter(0..total)
        .map(|i| {
            let (invites, rec) = (invites.clone(), invite_rec.clone());
            async move { invites.create(format!("{i:032x}"), rec).await }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let mut sub = nats.subscribe(FLOOR_SUBJECT).await?;
    let responder = tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            let (nats, js, nonces, invites, keys, users) = (
                nats.clone(),
                js.clone(),
                nonces.clone(),
                invites.clone(),
                keys.clone(),
                users.clone(),
            );
            tokio::spawn(async move {
                let i: usize = msg
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("Bench-I"))
                    .and_then(|v| v.as_str().parse().ok())
                    .unwrap_or(0);
                let work = async {
                    let sign_key = format!("{i:064x}");
                    nonces
                        .create(
                            format!("{sign_key}.{i:032x}"),
                            Bytes::from_static(b"{\"v\":1,\"ts\":1763900000000}"),
                        )
                        .await
                        .ok()?;
                    let entry = invites.entry(format!("{i:032x}")).await.ok()??;
                    invites
                        .update(
                            format!("{i:032x}"),
                            Bytes::from(vec![b'u'; INVITE_BYTES + 200]),
                            entry.revision,
                        )
                        .await
                        .ok()?;
                    keys.create(sign_key, Bytes::from(vec![b'k'; KEY_INDEX_BYTES]))
                        .await
                        .ok()?;
                    let entry = format!("{{\"v\":3,\"key\":\"floor-{i}\"}}");
                    js.publish("bench.index.users.default.active", Bytes::from(entry))
                        .await
                        .ok()?
                        .await
                        .ok()?;
                    users
                        .create(format!("floor-{i}"), Bytes::from(vec![b'u'; USER_BYTES]))
                        .await
                        .ok()?;
                    let publish = jetstream::message::PublishMessage::build()
                        .payload(Bytes::from(vec![b'a'; AUDIT_BYTES]))
                        .message_id(format!("{i:032x}"));
                    js.send_publish("bench.audit.user.registered", publish)
                        .await
                        .ok()?
                        .await
                        .ok()?;
                    Some(())
                };
                let body = if work.await.is_some() {
                    Bytes::from(vec![b'r'; REPLY_BYTES])
                } else {
                    Bytes::from_static(b"error")
                };
                if let Some(reply) = msg.reply {
                    let _ = nats.publish(reply, body).await;
                }
            });
        }
    });
    println!("ready");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let _ = responder.await;
    Ok(())
}
