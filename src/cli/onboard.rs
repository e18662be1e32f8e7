//! Commands on this machine's own identity: `keygen`, `register`, `enroll`. Each guards
//! the identity it is given: a key is replaced only when confirmed, an identity already
//! registered is not spent on a second invite, and a user's identity is never enrolled
//! as a machine.

use super::guard::{self, Registration};
use super::*;

/// `roster keygen`: a fresh identity file; replacing one (`--force`) asks first.
pub(super) fn keygen(
    path: Option<PathBuf>,
    force: bool,
    yes: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let path = path.unwrap_or_else(identity::default_path);
    if path.exists() {
        if !force {
            return Err(Failure::usage(format!(
                "{} already exists (use --force to replace it; its key is then lost)",
                path.display()
            ))
            .into());
        }
        let registered = identity::load(&path)
            .ok()
            .and_then(|old| guard::registration(&path, &old));
        let what = match &registered {
            Some(reg) => format!(
                "replace {}, the key of {}: that user can no longer sign with it",
                path.display(),
                guard::describe(reg)
            ),
            None => format!("replace {} (its key is lost for good)", path.display()),
        };
        guard::confirm(&what, yes)?;
    }
    let keys = identity::create(&path, force)?;
    guard::forget_registration(&path);
    let kex = keys.kex_pub()?;
    if json {
        println!(
            "{}",
            serde_json::json!({"identity": path, "sign_pub": keys.sign_pub().to_hex(), "kex_pub": kex.to_hex()})
        );
    } else {
        println!("wrote {} (mode 0600)", path.display());
        println!("  sign_pub: {}", keys.sign_pub());
        println!("  kex_pub:  {}", kex.to_hex());
    }
    Ok(ExitCode::SUCCESS)
}

/// `roster register`: redeems an invite, unless this identity is marked as registered.
pub(super) async fn register_cmd(
    client: ClientArgs,
    invite: Option<String>,
    invite_file: Option<PathBuf>,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let out = Out::new(client.json);
    let invite = required_secret(invite, invite_file, "--invite or --invite-file")?;
    let path = identity_path(&client);
    let keys = identity::load(&path)?;
    if let Some(reg) = guard::registration(&path, &keys).filter(|_| !force) {
        return Err(Failure::usage(format!(
            "{} is already registered as {}: an invite redeemed with it would be spent for \
             nothing (key_registered). Give the invitee an identity of their own \
             (ROSTER_IDENTITY=new.json roster keygen), or pass --force",
            path.display(),
            guard::describe(&reg)
        ))
        .into());
    }
    let c = connect_with_keys(&client, keys).await?;
    let res = c.register(&invite).await;
    if let Ok(r) = &res {
        guard::mark_registered(
            &path,
            &Registration {
                handle: r.handle.to_string(),
                role: r.role.to_string(),
                sign_pub: r.sign_pub.to_hex(),
                nats_url: client.nats.nats_url.clone(),
                registered_at: r.registered_at.clone(),
            },
        );
    }
    finish(&out, res, output::register)
}

/// The default agent identity: `agent.json` beside the default identity file.
fn default_agent_path() -> PathBuf {
    identity::default_path().with_file_name("agent.json")
}

/// `roster enroll`: enrolls an agent identity (created if missing, never a registered
/// user's) and writes the opened credential beside it.
pub(super) async fn enroll_cmd(
    a: ClientArgs,
    args: crate::client::EnrollArgs,
    out_path: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let id_path = a.identity.clone().unwrap_or_else(default_agent_path);
    if !id_path.exists() {
        identity::create(&id_path, false)?;
        eprintln!("created agent identity {}", id_path.display());
    }
    let keys = identity::load(&id_path)?;
    if let Some(reg) = guard::registration(&id_path, &keys) {
        return Err(Failure::usage(format!(
            "{} is the identity of {}: an agent needs a key of its own; give --identity \
             FILE (created if missing), e.g. --identity {}",
            id_path.display(),
            guard::describe(&reg),
            default_agent_path().display()
        ))
        .into());
    }
    let c = connect_with_keys(&a, keys).await?;
    let out = Out::new(a.json);
    let reply = c.enroll(&args).await?;
    let credential = c.open_credential(&reply)?;
    let path = out_path.unwrap_or_else(|| identity::default_credential_path(&id_path));
    let doc = zeroize::Zeroizing::new(serde_json::to_vec_pretty(&serde_json::json!({
        "machine_id": reply.machine_id,
        "tenant": reply.tenant,
        "site": reply.site,
        "credential": credential.as_str(),
    }))?);
    identity::write_private(&path, &doc)?;
    let shown = serde_json::json!({
        "machine_id": reply.machine_id,
        "state": reply.state,
        "site": reply.site,
        "tenant": reply.tenant,
        "identity": id_path,
        "credential_file": path,
    });
    finish(&out, Ok::<_, ClientError>(shown), output::enrolled)
}
