//! `roster whoami` and `roster ping`: who this identity is on the bus, and which workers
//! answer (`$SRV.PING.roster`, as `nats micro ping roster` asks).

use std::time::{Duration, Instant};

use futures::StreamExt as _;

use super::*;
use crate::wire::whoami::WhoamiReply;

/// One worker's answer to `$SRV.PING.roster`.
#[derive(Debug, Clone, serde::Serialize)]
struct Pong {
    id: String,
    version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<String>,
    rtt_ms: f64,
}

/// Publishes `$SRV.PING.roster` and collects the answers for `wait` (or only the first,
/// with `first_only`), fastest first.
async fn ping_workers(
    nats: &async_nats::Client,
    wait: Duration,
    first_only: bool,
) -> anyhow::Result<Vec<Pong>> {
    let inbox = nats.new_inbox();
    let mut sub = nats.subscribe(inbox.clone()).await?;
    let subject = format!("$SRV.PING.{}", crate::wire::SERVICE_NAME);
    let sent = Instant::now();
    nats.publish_with_reply(subject, inbox, bytes::Bytes::new())
        .await?;
    nats.flush().await?;
    let deadline = tokio::time::Instant::from_std(sent + wait);
    let mut pongs = Vec::new();
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, sub.next()).await {
        let rtt = sent.elapsed();
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&msg.payload) else {
            continue;
        };
        let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        pongs.push(Pong {
            id: text("id"),
            version: text("version"),
            pid: v["metadata"][crate::wire::METADATA_PID]
                .as_str()
                .map(str::to_owned),
            rtt_ms: (rtt.as_secs_f64() * 10_000.0).round() / 10.0,
        });
        if first_only {
            break;
        }
    }
    let _ = sub.unsubscribe().await;
    pongs.sort_by(|a, b| a.rtt_ms.total_cmp(&b.rtt_ms));
    Ok(pongs)
}

/// Connects with the identity if its file exists (a callout bus admits nothing else),
/// else without one (an open bus).
async fn connect_any(a: &ClientArgs) -> anyhow::Result<async_nats::Client> {
    let path = a.identity.clone().unwrap_or_else(identity::default_path);
    if path.exists() {
        let keys = identity::load(&path)?;
        Ok(a.nats.connect_as("roster-ping", &keys).await?)
    } else {
        Ok(a.nats.connect("roster-ping").await?)
    }
}

/// `roster ping`.
pub(super) async fn ping(a: &ClientArgs, wait_ms: u64) -> anyhow::Result<ExitCode> {
    let nats = connect_any(a).await?;
    let wait = Duration::from_millis(wait_ms.max(1));
    let pongs = ping_workers(&nats, wait, false).await?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({"nats_url": a.nats.nats_url, "answered": pongs.len(), "workers": pongs})
        );
    } else if pongs.is_empty() {
        eprintln!(
            "no worker answered $SRV.PING.roster on {} within {wait_ms} ms \
             (is `roster serve` running against this bus?)",
            a.nats.nats_url
        );
    } else {
        println!(
            "{} worker(s) answered $SRV.PING.roster on {} within {wait_ms} ms",
            pongs.len(),
            a.nats.nats_url
        );
        let rows: Vec<Vec<String>> = pongs
            .iter()
            .map(|p| {
                vec![
                    p.id.clone(),
                    p.version.clone(),
                    p.pid.clone().unwrap_or_default(),
                    format!("{:.1} ms", p.rtt_ms),
                ]
            })
            .collect();
        use super::table::{Col, Fit};
        let cols = [
            Col("ID", Fit::Late),
            Col("VERSION", Fit::Fixed),
            Col("PID", Fit::Fixed),
            Col("RTT", Fit::Fixed),
        ];
        super::table::print(&cols, &rows);
    }
    Ok(if pongs.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `roster whoami`: what the identity file, the context and the worker say, each as far
/// as it can be found out. Exit 0 when the worker knows the key, 2 when it says it does
/// not, 1 when no worker could be asked.
pub(super) async fn whoami(a: &ClientArgs, context_flag: Option<&str>) -> anyhow::Result<ExitCode> {
    let path = a.identity.clone().unwrap_or_else(identity::default_path);
    let keys = identity::load(&path)?;
    // The context was applied (or refused) before the command ran; here only its name.
    let context = super::context::effective(context_flag)
        .ok()
        .flatten()
        .map(|(name, _)| name);
    let mut doc = serde_json::json!({
        "identity": path,
        "sign_pub": keys.sign_pub().to_hex(),
        "context": context,
        "nats_url": a.nats.nats_url,
    });
    let lines = |doc: &serde_json::Value| {
        let s = |k: &str| doc[k].as_str().unwrap_or("none").to_owned();
        let mut v = vec![
            ("identity", s("identity")),
            ("sign_pub", s("sign_pub")),
            ("context", s("context")),
            ("bus", s("nats_url")),
        ];
        v.push(("worker", doc["worker"].as_str().unwrap_or("?").to_owned()));
        v
    };
    let c = match connect_client(a).await {
        Ok(c) => c,
        Err(e) => {
            let failure = super::failure::classify(&e);
            doc["worker"] = format!("not asked: {}", failure.message).into();
            print_whoami(a.json, &doc, lines(&doc));
            return Ok(ExitCode::from(failure.class.exit_code()));
        }
    };
    // A worker answers a PING within milliseconds; without one, asking who we are would
    // only wait out the timeout.
    let pongs = ping_workers(c.nats(), Duration::from_secs(1), true).await?;
    let timeout = if pongs.is_empty() {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(a.timeout.max(1))
    };
    doc["worker"] = match pongs.first() {
        Some(p) => format!("answering ($SRV.PING.roster in {:.1} ms)", p.rtt_ms),
        None => "none answered $SRV.PING.roster within 1 s".to_owned(),
    }
    .into();
    let asked = c.with_timeout(timeout).whoami().await;
    let mut out = lines(&doc);
    let code = match asked {
        Ok(WhoamiReply { user, machine }) => {
            if let Some(u) = user {
                out.push(("handle", u.handle.to_string()));
                out.push(("role", u.role.to_string()));
                out.push(("status", u.status.clone()));
                if !u.sites.is_empty() {
                    let sites: Vec<&str> = u.sites.iter().map(|s| s.as_str()).collect();
                    out.push(("sites", sites.join(",")));
                }
                out.push(("since", u.registered_at.clone()));
                doc["user"] = serde_json::to_value(&u)?;
            }
            if let Some(m) = machine {
                out.push(("machine", m.machine_id.to_string()));
                let site = crate::domain::SiteRef::new(&m.tenant, &m.site);
                out.push(("site", site.to_string()));
                out.push(("state", m.state.clone()));
                doc["machine"] = serde_json::to_value(&m)?;
            }
            ExitCode::SUCCESS
        }
        Err(ClientError::Api(e)) => {
            out.push(("handle", format!("none: {}: {}", e.code, e.message)));
            doc["error"] =
                serde_json::to_value(crate::wire::ErrorEnvelope::from(&e))?["error"].take();
            // Refused by the worker (see the exit-code table in `failure`).
            ExitCode::from(super::failure::EXIT_REFUSED)
        }
        Err(e) if pongs.is_empty() => {
            // Silence from both: no worker, or a callout bus that does not know this key
            // (an unknown key may publish only register and enroll).
            out.push((
                "handle",
                "unknown: nothing answered (no worker is running, or the bus does not know \
                 this key: a key that has not registered may only register or enroll)"
                    .to_owned(),
            ));
            doc["error"] = serde_json::json!({"code": "unreachable", "message": e.to_string()});
            ExitCode::FAILURE
        }
        Err(e) => {
            out.push(("handle", format!("unknown: {e}")));
            doc["error"] = serde_json::json!({"code": "unreachable", "message": e.to_string()});
            ExitCode::FAILURE
        }
    };
    print_whoami(a.json, &doc, out);
    Ok(code)
}

fn print_whoami(json: bool, doc: &serde_json::Value, lines: Vec<(&str, String)>) {
    if json {
        println!("{doc}");
        return;
    }
    for (k, v) in lines {
        println!("{k:<9} {v}");
    }
}
