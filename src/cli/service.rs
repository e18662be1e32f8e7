//! Commands that run, set up or check the service: `serve`, `dev`, `bootstrap`,
//! `callout-keys`, `check`.

use super::*;

/// Listens for Ctrl-C and SIGTERM from now on (the handlers are installed before this
/// returns, so a signal sent right after cannot kill the process); the future ends on
/// the first.
pub(super) fn listen_for_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let int = signal(SignalKind::interrupt());
        let term = signal(SignalKind::terminate());
        async move {
            match (int, term) {
                (Ok(mut i), Ok(mut t)) => {
                    tokio::select! {
                        _ = i.recv() => {},
                        _ = t.recv() => {},
                    }
                }
                _ => wait_for_signal().await,
            }
        }
    }
    #[cfg(not(unix))]
    {
        wait_for_signal()
    }
}

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
    let started = std::time::Instant::now();
    let client = nats
        .connect("roster-bootstrap")
        .await
        .map_err(|e| connect_failure(e, Connecting::WithCredentials, started))?;
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
        Err(bootstrap::BootstrapError::OwnerExists(owner)) => Err(Failure::new(
            Class::Refused,
            "owner_exists",
            format!("an owner already exists ({owner}); ask an owner for an invite instead"),
        )
        .into()),
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

/// The web console under `roster dev`: the websocket port and where its files are.
pub(crate) struct DevConsole {
    pub ws_port: u16,
    pub console_port: u16,
    pub console_dir: Option<PathBuf>,
}

/// `roster console`: serves the built console's files until a signal.
pub(super) async fn console_cmd(
    listen: std::net::SocketAddr,
    dir: Option<&std::path::Path>,
    ws_url: Option<String>,
    prefix: String,
) -> anyhow::Result<ExitCode> {
    crate::config::validate_prefix(&prefix)?;
    let dir = crate::console::find_dir(dir)?;
    let (listener, addr) = crate::console::bind(listen).await?;
    let stop = listen_for_signal();
    let config = crate::console::PageConfig { ws_url, prefix };
    println!(
        "serving the roster console from {} at http://{addr}/",
        dir.display()
    );
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let server = crate::console::serve(listener, dir, config, stop);
    let _ = server.await;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn dev(
    port: u16,
    data_dir: Option<PathBuf>,
    handle: &str,
    json: bool,
    no_callout: bool,
    metrics_addr: Option<std::net::SocketAddr>,
    console: DevConsole,
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
        own_process_group: true,
        tls: None,
        ws_port: Some(console.ws_port),
    })
    .await?;
    let url = server.url();
    let ws_url = server.ws_url();
    // The console's files, when they were built; dev runs without them otherwise and
    // says how to build them.
    let console_dir = crate::console::find_dir(console.console_dir.as_deref());
    if let (Err(e), Some(_)) = (&console_dir, &console.console_dir) {
        anyhow::bail!("--console-dir: {e}");
    }
    let console_listener = match &console_dir {
        Ok(_) if ws_url.is_some() => Some(
            crate::console::bind(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                console.console_port,
            )))
            .await?,
        ),
        _ => None,
    };
    // `roster check` reads the buckets with the worker's credentials: leave them where
    // the banner says (mode 0600, in the data dir, rewritten every run).
    let password_file = match server.callout() {
        Some(c) => {
            let p = server.dir().join("worker.password");
            identity::write_private(&p, c.worker_password.as_bytes())?;
            Some(p)
        }
        None => None,
    };
    let check_line = match &password_file {
        Some(p) => format!(
            "roster check --nats-url {url} --nats-user roster --nats-password-file {}",
            p.display()
        ),
        None => format!("roster check --nats-url {url}"),
    };
    // The vault's key file lives in the data dir: made once, kept with the data.
    let vault_key_file = server.dir().join("vault.json");
    if !vault_key_file.exists() {
        crate::vault::KeyFile::init(&vault_key_file, false, &crate::time_util::now_rfc3339())?;
    }
    let worker_args = WorkerArgs {
        metrics_addr,
        vault_key_file: Some(vault_key_file.clone()),
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
    let (console_stop, console_stopped) = tokio::sync::oneshot::channel::<()>();
    let console_url = match (console_listener, &console_dir) {
        (Some((listener, addr)), Ok(dir)) => {
            let config = crate::console::PageConfig {
                ws_url: ws_url.clone(),
                prefix: settings.worker.handlers.prefix.clone(),
            };
            crate::console::serve(listener, dir.clone(), config, async {
                let _ = console_stopped.await;
            });
            Some(format!("http://{addr}/"))
        }
        _ => None,
    };
    // Listening before "ready" is printed: a Ctrl-C right after it stops dev cleanly.
    let stop = listen_for_signal();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "nats_url": url,
                "owner_invite": invite.as_ref().map(|i| i.token.clone()),
                "owner_handle": handle,
                "data_dir": server.dir(),
                "callout": !no_callout,
                "worker_user": password_file.as_ref().map(|_| "roster"),
                "worker_password_file": password_file,
                "metrics_url": metrics_url,
                "vault_key_file": vault_key_file,
                "ws_url": ws_url,
                "console_url": console_url,
            })
        );
    } else {
        println!("roster dev is ready.\n");
        println!("  NATS URL:  {url}");
        println!("  data dir:  {}", server.dir().display());
        println!(
            "  vault:     {} (the credential vault's keys)",
            vault_key_file.display()
        );
        if let Some(m) = &metrics_url {
            println!("  metrics:   {m} (and /healthz)");
        }
        if let Some(w) = &ws_url {
            println!("  websocket: {w} (the web console's way onto the bus)");
        }
        match (&console_url, &console_dir) {
            (Some(c), _) => {
                println!("  console:   {c} (sign in with your identity file or the owner invite)")
            }
            (None, Err(e)) => println!("  console:   not served: {e}"),
            (None, Ok(_)) => {
                println!("  console:   not served (--no-callout runs no websocket listener)")
            }
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
        println!("Check the roster's state (reads only):\n\n  {check_line}\n");
        println!("Ctrl-C stops the worker, then nats-server (a second Ctrl-C at once).");
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    // nats-server runs in a process group of its own, so the terminal's Ctrl-C reaches
    // only this process: the worker stops first (finishing what it holds, draining into
    // a server that still runs), then the server. Were the server to get the signal
    // too, it could die while the worker drains, and the worker would wait out its
    // whole grace period for a reconnect.
    stop.await;
    if !json {
        eprintln!("stopping…");
    }
    tokio::select! {
        stopped = app.run_until(async {}) => stopped?,
        () = wait_for_signal() => eprintln!("stopping at once; requests in flight are dropped"),
    }
    let _ = console_stop.send(());
    drop(admin);
    drop(server);
    Ok(ExitCode::SUCCESS)
}

/// `roster check`: opens the buckets and streams as they are (creating nothing), runs
/// every check, and prints the report; exit 4 when it found problems, 1 when it could
/// not run.
pub(super) async fn check_cmd(nats: NatsArgs, json: bool) -> anyhow::Result<ExitCode> {
    let cfg = WorkerConfig::from_args(&nats, &WorkerArgs::default())?;
    let events = BusEvents::new();
    let started = std::time::Instant::now();
    let could_not_run = |e: &dyn std::fmt::Display| {
        Failure::new(
            Class::Error,
            "check_could_not_run",
            format!("roster check could not run: {e}"),
        )
    };
    let client = match nats
        .connect_tweaked("roster-check", None, |o| {
            crate::client::short_lived(o, &events)
        })
        .await
    {
        Ok(c) => c,
        // Whatever the bus said, the check did not run (exit 1, never 3 or 4).
        Err(e) => {
            let why =
                failure::from_config(&e, Some((Connecting::WithCredentials, started.elapsed())))
                    .map_or_else(|| crate::store::error_chain(&e), |f| f.message);
            return Err(could_not_run(&why).into());
        }
    };
    // A connection without JetStream permissions never hears back from the JetStream
    // API; the server's refusal of the publish says so at once.
    let mut signals = events.subscribe();
    let denied = async move {
        loop {
            match signals.recv().await {
                Ok(crate::client::BusSignal::PublishDenied(s)) => return s,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => std::future::pending::<()>().await,
            }
        }
    };
    let (store, audit) = tokio::select! {
        opened = crate::check::open_existing(&client, &cfg) => {
            opened.map_err(|e| could_not_run(&crate::store::error_chain(&e)))?
        }
        subject = denied => {
            return Err(could_not_run(&format!(
                "this connection may not use JetStream (the bus refused a publish to \
                 {subject}); check reads the buckets directly, so connect with the worker's \
                 credentials (`roster dev` prints the line: --nats-user roster \
                 --nats-password-file <data dir>/worker.password)"
            ))
            .into());
        }
    };
    let report = crate::check::check(&store, &audit)
        .await
        .map_err(|e| could_not_run(&crate::store::error_chain(&e)))?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "checked {} tenants, {} users, {} key index entries, {} invites, {} sites, {} machines, {} uid index entries, {} credentials, {} API keys, {} vault credentials, {} vault data keys, {} audit events",
            report.tenants, report.users, report.user_keys, report.invites, report.sites,
            report.machines, report.machine_uids, report.credentials, report.apikeys,
            report.vault_credentials, report.vault_keys, report.audit_events
        );
        for p in &report.problems {
            println!("{}: {}: {}", p.kind, p.subject, p.detail);
        }
        println!("{} problem(s)", report.problems.len());
    }
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(failure::EXIT_PROBLEMS)
    })
}
