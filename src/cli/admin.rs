//! Admin commands over the bus: invites, users, the audit trail, sites, machines.

use super::guard;
use super::pages::{page_limit, pages};
use super::*;

/// A flag value outside the choices (clap checks them first; this is the backstop).
fn expected(flag: &str, got: &str, choices: &str) -> anyhow::Error {
    Failure::usage(format!("{flag} {got}: expected {choices}")).into()
}

/// Whom `roster revoke` is for.
enum Target {
    User(Handle),
    Machine(MachineId),
}

/// `roster revoke`: asks first; one's own revoke is a success even when the kick it
/// causes beats its reply (the connection closed, and the bus now refuses this identity).
pub(super) async fn revoke_cmd(
    client: ClientArgs,
    user: Option<String>,
    machine: Option<String>,
    reason: Option<String>,
    yes: bool,
) -> anyhow::Result<ExitCode> {
    let path = identity_path(&client);
    let keys = identity::load(&path)?;
    let me = guard::registration(&path, &keys);
    let target = match (user, machine) {
        (Some(u), _) => Target::User(parse("--user", Handle::parse(&u))?),
        (None, Some(m)) => Target::Machine(parse("--machine", MachineId::parse(&m))?),
        (None, None) => return Err(Failure::usage("give --user or --machine").into()),
    };
    // Whether the target is this identity; `None` when only the bus can tell (a user
    // registered without this CLI's marker).
    let (what, is_me) = match &target {
        Target::User(h) => (
            format!("user '{h}'"),
            me.as_ref().map(|r| r.handle == h.as_str()),
        ),
        Target::Machine(m) => (
            format!("machine {m}"),
            Some(*m == MachineId::for_agent(&keys.sign_pub())),
        ),
    };
    let warning = match is_me {
        Some(true) => " (this identity: you lose access to the bus)",
        _ => "",
    };
    guard::confirm(&format!("revoke {what}{warning}"), yes)?;
    let c = connect_with_keys(&client, keys).await?;
    let reason = reason.as_deref();
    let res = match &target {
        Target::User(h) => c.revoke_user(h, reason).await,
        Target::Machine(m) => c.revoke_machine(m, reason).await,
    };
    let out = Out::new(client.json);
    match res {
        // The revoke closed this very connection before its reply could arrive, and the
        // bus now refuses this identity: the revoke we asked for took effect.
        Err(ClientError::ShutOut { .. }) if is_me != Some(false) => {
            if out.json {
                let mut v = serde_json::json!({
                    "status": "revoked",
                    "self": true,
                    "confirmed_by": "this connection was closed and the bus refuses this identity",
                });
                match &target {
                    Target::User(h) => v["user"] = h.as_str().into(),
                    Target::Machine(m) => v["machine"] = m.as_str().into(),
                }
                println!("{v}");
            } else {
                println!(
                    "revoked {what} (this identity): its connections were closed, this one \
                     included, and the bus refuses it from now on"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        res => finish(&out, res, output::revoked),
    }
}

pub(super) async fn site_cmd(cmd: SiteCmd) -> anyhow::Result<ExitCode> {
    use crate::wire::admin::{RotateKeyRequest, SiteCreateRequest, SiteListRequest};
    match cmd {
        SiteCmd::Create {
            client,
            site,
            tenant,
            display_name,
            company,
            policy,
        } => {
            let req = SiteCreateRequest {
                site: parse("site", SiteCode::parse(&site))?,
                tenant: tenant
                    .map(|t| parse("--tenant", Tenant::parse(&t)))
                    .transpose()?,
                display_name: display_name
                    .map(|d| parse("--display-name", Label::parse(&d)))
                    .transpose()?,
                company: company
                    .map(|d| parse("--company", Label::parse(&d)))
                    .transpose()?,
                policy: match policy.as_deref() {
                    None => None,
                    Some("auto") => Some(Policy::Auto),
                    Some("approval") => Some(Policy::Approval),
                    Some(o) => return Err(expected("--policy", o, "auto or approval")),
                },
            };
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.site_create(&req).await,
                output::site_created,
            )
        }
        SiteCmd::List {
            client,
            tenant,
            page: PageArgs { limit, cursor, all },
        } => {
            let req = SiteListRequest {
                tenant: tenant
                    .map(|t| parse("--tenant", Tenant::parse(&t)))
                    .transpose()?,
                limit: opt("--limit", page_limit(limit, all))?,
                cursor: opt("--cursor", cursor)?,
            };
            let c = connect_client(&client).await?;
            let res = pages(all, req.cursor.clone(), |cursor| {
                let req = SiteListRequest {
                    cursor,
                    ..req.clone()
                };
                let c = &c;
                async move { c.site_list(&req).await }
            })
            .await;
            finish(&Out::new(client.json), res, output::site_list)
        }
        SiteCmd::Get {
            client,
            site,
            tenant,
        } => {
            let site = parse("site", SiteCode::parse(&site))?;
            let tenant = tenant
                .map(|t| parse("--tenant", Tenant::parse(&t)))
                .transpose()?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.site_get(&site, tenant.as_ref()).await,
                output::site,
            )
        }
        SiteCmd::RotateKey {
            client,
            site,
            tenant,
            grace,
            yes,
        } => {
            let req = RotateKeyRequest {
                site: parse("site", SiteCode::parse(&site))?,
                tenant: tenant
                    .map(|t| parse("--tenant", Tenant::parse(&t)))
                    .transpose()?,
                grace_secs: opt("--grace", Some(grace))?,
            };
            if grace == 0 {
                guard::confirm(
                    &format!(
                        "retire the current enrollment key of {} at once (--grace 0): \
                         installers that carry it stop enrolling",
                        req.site.as_str()
                    ),
                    yes,
                )?;
            }
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.site_rotate_key(&req).await,
                output::rotated,
            )
        }
    }
}

pub(super) async fn machine_cmd(cmd: MachineCmd) -> anyhow::Result<ExitCode> {
    use crate::wire::admin::{MachineListRequest, MachineStateFilter};
    match cmd {
        MachineCmd::List {
            client,
            site,
            tenant,
            state,
            page: PageArgs { limit, cursor, all },
        } => {
            let req = MachineListRequest {
                site: site
                    .map(|s| parse("--site", SiteCode::parse(&s)))
                    .transpose()?,
                tenant: tenant
                    .map(|t| parse("--tenant", Tenant::parse(&t)))
                    .transpose()?,
                state: match state.as_deref() {
                    None => None,
                    Some("active") => Some(MachineStateFilter::Active),
                    Some("pending") => Some(MachineStateFilter::Pending),
                    Some("rejected") => Some(MachineStateFilter::Rejected),
                    Some("revoked") => Some(MachineStateFilter::Revoked),
                    Some(o) => {
                        return Err(expected(
                            "--state",
                            o,
                            "active, pending, rejected or revoked",
                        ))
                    }
                },
                limit: opt("--limit", page_limit(limit, all))?,
                cursor: opt("--cursor", cursor)?,
            };
            let c = connect_client(&client).await?;
            let res = pages(all, req.cursor.clone(), |cursor| {
                let req = MachineListRequest {
                    cursor,
                    ..req.clone()
                };
                let c = &c;
                async move { c.machine_list(&req).await }
            })
            .await;
            finish(&Out::new(client.json), res, output::machine_list)
        }
        MachineCmd::Get { client, machine_id } => {
            let id = parse("machine id", MachineId::parse(&machine_id))?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.machine_get(&id).await,
                output::machine,
            )
        }
        MachineCmd::Approve { client, machine_id } => {
            let id = parse("machine id", MachineId::parse(&machine_id))?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.machine_approve(&id).await,
                output::machine,
            )
        }
        MachineCmd::Reject { client, machine_id } => {
            let id = parse("machine id", MachineId::parse(&machine_id))?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.machine_reject(&id).await,
                output::machine,
            )
        }
    }
}

pub(super) async fn invite_cmd(cmd: InviteCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        InviteCmd::Create {
            client,
            handle,
            role,
            tenant,
            site,
            ttl_secs,
        } => {
            let handle = parse("--handle", Handle::parse(&handle))?;
            let role = parse("--role", RoleName::parse(&role))?;
            let tenant = tenant
                .map(|t| parse("--tenant", Tenant::parse(&t)))
                .transpose()?;
            let site = site
                .map(|s| parse("--site", SiteCode::parse(&s)))
                .transpose()?;
            let c = connect_client(&client).await?;
            let made = c
                .invite_create_at(&handle, role, tenant.as_ref(), site.as_ref(), ttl_secs)
                .await;
            finish(&Out::new(client.json), made, output::invite_created)
        }
        InviteCmd::List {
            client,
            state,
            page: PageArgs { limit, cursor, all },
        } => {
            let state = match state.as_deref() {
                None => None,
                Some("pending") => Some(InviteStateFilter::Pending),
                Some("used") => Some(InviteStateFilter::Used),
                Some("cancelled") => Some(InviteStateFilter::Cancelled),
                Some("expired") => Some(InviteStateFilter::Expired),
                Some(other) => {
                    return Err(expected(
                        "--state",
                        other,
                        "pending, used, cancelled or expired",
                    ))
                }
            };
            let c = connect_client(&client).await?;
            let req = InviteListRequest {
                state,
                limit: opt("--limit", page_limit(limit, all))?,
                cursor: opt("--cursor", cursor)?,
            };
            let res = pages(all, req.cursor.clone(), |cursor| {
                let req = InviteListRequest {
                    cursor,
                    ..req.clone()
                };
                let c = &c;
                async move { c.invite_list(&req).await }
            })
            .await;
            finish(&Out::new(client.json), res, output::invite_list)
        }
        InviteCmd::Get { client, invite_id } => {
            let id = parse("invite id", InviteId::parse(&invite_id))?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.invite_get(&id).await,
                output::invite,
            )
        }
        InviteCmd::Cancel { client, invite_id } => {
            let id = parse("invite id", InviteId::parse(&invite_id))?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.invite_cancel(&id).await,
                output::invite,
            )
        }
    }
}

pub(super) async fn user_cmd(cmd: UserCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        UserCmd::List {
            client,
            role,
            tenant,
            status,
            page: PageArgs { limit, cursor, all },
        } => {
            let role = role
                .map(|r| parse("--role", RoleName::parse(&r)))
                .transpose()?;
            let tenant = tenant
                .map(|t| parse("--tenant", Tenant::parse(&t)))
                .transpose()?;
            let status = match status.as_deref() {
                None => None,
                Some("active") => Some(UserStatusFilter::Active),
                Some("revoked") => Some(UserStatusFilter::Revoked),
                Some(other) => return Err(expected("--status", other, "active or revoked")),
            };
            let c = connect_client(&client).await?;
            let req = UserListRequest {
                role,
                tenant,
                status,
                limit: opt("--limit", page_limit(limit, all))?,
                cursor: opt("--cursor", cursor)?,
            };
            let res = pages(all, req.cursor.clone(), |cursor| {
                let req = UserListRequest {
                    cursor,
                    ..req.clone()
                };
                let c = &c;
                async move { c.user_list(&req).await }
            })
            .await;
            finish(&Out::new(client.json), res, output::user_list)
        }
        UserCmd::Get { client, handle } => {
            let handle = parse("handle", Handle::parse(&handle))?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.user_get(&handle).await,
                output::user,
            )
        }
        UserCmd::SetRole {
            client,
            handle,
            role,
            tenant,
            sites,
        } => {
            let handle = parse("handle", Handle::parse(&handle))?;
            let role = parse("role", RoleName::parse(&role))?;
            let tenant = tenant
                .map(|t| parse("--tenant", Tenant::parse(&t)))
                .transpose()?;
            let sites = sites
                .map(|v| {
                    v.iter()
                        .map(|s| parse("--sites", SiteCode::parse(s)))
                        .collect::<anyhow::Result<Vec<_>>>()
                })
                .transpose()?;
            let c = connect_client(&client).await?;
            let req = crate::wire::admin::SetRoleRequest {
                handle,
                role,
                tenant,
                sites,
            };
            finish(
                &Out::new(client.json),
                c.user_set_role_req(&req).await,
                output::user,
            )
        }
        UserCmd::Assign { client, assignment } => {
            let req = super::roles::assign_request(assignment)?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.user_assign(&req).await,
                output::user,
            )
        }
        UserCmd::Unassign { client, assignment } => {
            let req = super::roles::assign_request(assignment)?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.user_unassign(&req).await,
                output::user,
            )
        }
        UserCmd::Delete {
            client,
            handle,
            yes,
        } => {
            let handle = parse("handle", Handle::parse(&handle))?;
            guard::confirm(
                &format!("delete user '{handle}' for good (record, role and key binding)"),
                yes,
            )?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.user_delete(&handle).await,
                output::deleted,
            )
        }
    }
}
