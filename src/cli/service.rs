//! Commands that run or set up the service: `serve`, `dev`, `bootstrap`, `callout-keys`.

use super::*;

/// Returns on Ctrl-C or, on Unix, SIGTERM.
pub async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

pub(super) async fn serve(nats: NatsArgs, w: WorkerArgs) -> anyhow::Result<ExitCode> {
    let settings = crate::app::Settings::from_args(&nats, &w)?;
    let app = crate::app::App::build(&settings, "roster-worker").await?;
    app.run_until(wait_for_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn bootstrap_cmd(
    nats: NatsArgs,
    handle: &str,
    replicas: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let handle = Handle::parse(handle).map_err(|e| anyhow::anyhow!("--handle: {e}"))?;
    let cfg = WorkerConfig::from_args(
        &nats,
        &WorkerArgs {
            replicas,
            ..WorkerArgs::default()
        },
    )?;
    let client = nats.connect("roster-bootstrap").await?;
    let (store, audit) = worker::open_state(&client, &cfg).await?;
    match bootstrap::bootstrap(&store, &audit, &handle, cfg.handlers.invite_default_ttl).await {
        Ok(inv) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"token": inv.token, "handle": inv.handle, "role": inv.role, "expires_at": inv.expires_at})
                );
            } else {
                println!(
                    "Owner invite for '{}' (expires {}):\n\n  {}\n",
                    inv.handle, inv.expires_at, inv.token
                );
                println!(
                    "Redeem it with:\n  roster keygen\n  ROSTER_INVITE={} roster register --nats-url {}",
                    inv.token, nats.nats_url
                );
            }
            client.flush().await?;
            Ok(ExitCode::SUCCESS)
        }
        Err(bootstrap::BootstrapError::OwnerExists(owner)) => {
            let msg =
                format!("an owner already exists ({owner}); ask an owner for an invite instead");
            if json {
                println!(
                    "{}",
                    serde_json::json!({"error": {"code": "owner_exists", "message": msg}})
                );
            } else {
                eprintln!("error: {msg}");
            }
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) fn callout_keys(out: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    let (issuer, xkey) = crate::callout::generate_keys()?;
    let issuer_path = out.join("issuer.seed");
    let xkey_path = out.join("xkey.seed");
    for p in [&issuer_path, &xkey_path] {
        anyhow::ensure!(
            !p.exists(),
            "{} exists; refusing to overwrite a key",
            p.display()
        );
    }
    identity::write_private(&issuer_path, issuer.as_bytes())?;
    identity::write_private(&xkey_path, xkey.as_bytes())?;
    let issuer_pub = nkeys::KeyPair::from_seed(&issuer)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .public_key();
    let xkey_pub = nkeys::XKey::from_seed(&xkey)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .public_key();
    if json {
        println!(
            "{}",
            serde_json::json!({"issuer_pub": issuer_pub, "xkey_pub": xkey_pub, "issuer_seed_file": issuer_path, "xkey_seed_file": xkey_path})
        );
    } else {
        println!(
            "wrote {} and {} (mode 0600)\n",
            issuer_path.display(),
            xkey_path.display()
        );
        println!("server config (auth_callout):\n  issuer: {issuer_pub}\n  xkey: {xkey_pub}\n");
        println!(
            "worker:\n  roster serve --callout-issuer-seed-file {} --callout-xkey-seed-file {} …",
            issuer_path.display(),
            xkey_path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn dev(
    port: u16,
    data_dir: Option<PathBuf>,
    handle: &str,
    json: bool,
    no_callout: bool,
    metrics_addr: Option<std::net::SocketAddr>,
) -> anyhow::Result<ExitCode> {
    let handle = Handle::parse(handle).map_err(|e| anyhow::anyhow!("--handle: {e}"))?;
    if !json {
        eprintln!("starting nats-server with JetStream…");
    }
    let server = NatsServer::start(ServerOptions {
        port,
        data_dir,
        sync_always: false,
        callout: if no_callout {
            None
        } else {
            Some(crate::natsd::CalloutSetup::generate()?)
        },
        max_file_store: None,
        tls: None,
    })
    .await?;
    let url = server.url();
    let worker_args = WorkerArgs {
        metrics_addr,
        ..WorkerArgs::default()
    };
    let settings = crate::app::Settings::for_server(&server, &worker_args)?;
    let admin = settings.nats.connect("roster-dev").await?;
    let (store, audit) = worker::open_state(&admin, &settings.worker).await?;
    let invite = match bootstrap::bootstrap(
        &store,
        &audit,
        &handle,
        settings.worker.handlers.invite_default_ttl,
    )
    .await
    {
        Ok(inv) => Some(inv),
        Err(bootstrap::BootstrapError::OwnerExists(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let app = crate::app::App::build(&settings, "roster-dev-worker").await?;
    let metrics_url = app.metrics_addr().map(|a| format!("http://{a}/metrics"));
    if json {
        println!(
            "{}",
            serde_json::json!({
                "nats_url": url,
                "owner_invite": invite.as_ref().map(|i| i.token.clone()),
                "owner_handle": handle,
                "data_dir": server.dir(),
                "callout": !no_callout,
                "metrics_url": metrics_url,
            })
        );
    } else {
        println!("roster dev is ready.\n");
        println!("  NATS URL:  {url}");
        println!("  data dir:  {}", server.dir().display());
        if let Some(m) = &metrics_url {
            println!("  metrics:   {m} (and /healthz)");
        }
        if no_callout {
            println!("  auth:      none (--no-callout): the bus is open");
        } else {
            println!("  auth:      roster auth callout: only the roster gets in; unknown keys get the onboarding lane");
        }
        match &invite {
            Some(inv) => {
                println!(
                    "  owner invite for '{}' (expires {}):\n\n    {}\n",
                    inv.handle, inv.expires_at, inv.token
                );
                println!("Join as the owner from another terminal:\n");
                println!("  export ROSTER_NATS_URL={url}");
                println!("  roster keygen");
                println!("  ROSTER_INVITE={} roster register", inv.token);
                println!("  roster invite create --handle alice --role member\n");
            }
            None => println!("  an owner already exists in this data dir; use its identity.\n"),
        }
        println!("Ctrl-C stops the worker and nats-server.");
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    app.run_until(async {
        wait_for_signal().await;
        if !json {
            eprintln!("stopping…");
        }
    })
    .await?;
    drop(admin);
    drop(server);
    Ok(ExitCode::SUCCESS)
}
