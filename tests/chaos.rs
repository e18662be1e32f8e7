//! Crash tests: workers killed at every step of register, enroll and revoke, a SIGKILL
//! loop under load, a nats-server restart under load, and SIGTERM under load. Workers run
//! as real processes (`roster serve`, through `roster::harness`); built with `--features
//! failpoints` (scripts/test-chaos).
#![cfg(feature = "failpoints")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use roster::client::{ClientError, EnrollArgs, RosterClient};
use roster::config::{NatsArgs, WorkerArgs, WorkerConfig};
use roster::crypto::KeyPairs;
use roster::domain::{Handle, InviteId, MachineId, Policy, Role, SignKey, SiteCode};
use roster::harness::{WorkerOptions, WorkerProcess};
use roster::natsd::{NatsServer, ServerOptions};
use roster::store::Store;
use roster::wire::admin::{InviteCreateRequest, RotateKeyRequest, SiteCreateRequest};
use roster::wire::{Command, Endpoint, ErrorCode};

struct Bus {
    server: NatsServer,
    store: Store,
    audit: roster::audit::Auditor,
    nats: async_nats::Client,
}

impl Bus {
    async fn start(sync_always: bool) -> Self {
        let server = NatsServer::start(ServerOptions {
            sync_always,
            ..Default::default()
        })
        .await
        .unwrap();
        let nats = async_nats::connect(server.url()).await.unwrap();
        let cfg =
            WorkerConfig::from_args(&NatsArgs::for_url(&server.url()), &WorkerArgs::default())
                .unwrap();
        let (store, audit) = roster::worker::open_state(&nats, &cfg).await.unwrap();
        Self {
            server,
            store,
            audit,
            nats,
        }
    }

    fn url(&self) -> String {
        self.server.url()
    }

    /// A `roster serve` process on this bus, serving once this returns; armed with
    /// `failpoint` it dies there. Its log goes to `workers.log` in the server's directory.
    async fn worker(&self, failpoint: Option<&str>) -> WorkerProcess {
        self.worker_with(failpoint, Vec::new()).await
    }

    /// A healthy worker whose healer finishes changes older than a second.
    async fn healing_worker(&self) -> WorkerProcess {
        let args = vec!["--heal-settle-secs".into(), "1".into()];
        self.worker_with(None, args).await
    }

    async fn worker_with(&self, failpoint: Option<&str>, mut args: Vec<String>) -> WorkerProcess {
        // Every worker holds the vault's keys (one key file per bus, made on first use).
        let key_file = self.server.dir().join("vault.json");
        if !key_file.exists() {
            roster::vault::KeyFile::init(&key_file, false, "2026-01-01T00:00:00Z").unwrap();
        }
        args.extend(["--vault-key-file".into(), key_file.display().to_string()]);
        let mut env = vec![("ROSTER_LOG".to_owned(), "info".to_owned())];
        if let Some(f) = failpoint {
            env.push(("ROSTER_FAILPOINT".to_owned(), f.to_owned()));
        }
        let opts = WorkerOptions {
            args,
            env,
            log: Some(self.server.dir().join("workers.log")),
            ..Default::default()
        };
        let bin = Path::new(env!("CARGO_BIN_EXE_roster"));
        WorkerProcess::start(bin, &NatsArgs::for_url(&self.url()), opts)
            .await
            .expect("the worker serves")
    }

    /// The id of the invite minted for `handle`.
    async fn invite_of(&self, handle: &str) -> InviteId {
        for k in self.store.invites.keys().await.unwrap() {
            let id = InviteId::parse(&k).unwrap();
            let inv = self.store.invite(&id).await.unwrap().unwrap();
            if inv.value.handle.as_str() == handle {
                return id;
            }
        }
        panic!("no invite for {handle}")
    }

    /// How many events of `action` name `target` in the audit stream.
    /// The key id of the API key named `name` (default tenant), read from the store.
    async fn apikey_named(&self, name: &str) -> String {
        let page = self
            .store
            .apikeys
            .page(">", None, 10_000, |k| {
                (k.name.as_str() == name).then(|| k.key_id.to_string())
            })
            .await
            .unwrap();
        page.items.into_iter().next().expect("the flow's API key")
    }

    /// The id of the system-scope credential named `name`, read from the store (a
    /// credential being deleted too).
    async fn credential_named(&self, name: &str) -> String {
        let page = self
            .store
            .vault
            .page(">", None, 10_000, |c| {
                (c.name.as_str() == name).then(|| c.credential_id.to_string())
            })
            .await
            .unwrap();
        page.items
            .into_iter()
            .next()
            .expect("the flow's credential")
    }

    async fn events_of(&self, action: &str, target: &str) -> usize {
        self.audit
            .read_all()
            .await
            .unwrap()
            .iter()
            .filter(|e| e.action == action && e.target.id == target)
            .count()
    }

    async fn invite(&self, handle: &str, role: Role) -> String {
        let req = InviteCreateRequest::new(Handle::parse(handle).unwrap(), role);
        let a = req.assignment();
        roster::handlers::mint_invite(
            &self.store,
            &req.handle,
            &a,
            Duration::from_secs(3600),
            "test",
        )
        .await
        .unwrap()
        .token
    }

    fn client(&self, timeout: Duration) -> RosterClient {
        RosterClient::new(self.nats.clone(), "roster", KeyPairs::generate()).with_timeout(timeout)
    }

    /// `n` member invites for handles `<prefix>-0`, `<prefix>-1`, ….
    async fn member_invites(&self, prefix: &str, n: usize) -> Vec<String> {
        let mut tokens = Vec::with_capacity(n);
        for i in 0..n {
            tokens.push(self.invite(&format!("{prefix}-{i}"), Role::Member).await);
        }
        tokens
    }

    /// A registered owner and a site (auto policy) it created; returns both.
    async fn owner_and_site(&self, code: &str) -> (RosterClient, String) {
        let owner = self.client(Duration::from_secs(10));
        // The first owner is a platform owner, as `roster bootstrap` makes it.
        let platform = roster::authz::Assignment::platform(roster::authz::PlatformRole::Owner);
        let root = Handle::parse("root").unwrap();
        let token = roster::handlers::mint_invite(
            &self.store,
            &root,
            &platform,
            Duration::from_secs(3600),
            "test",
        )
        .await
        .unwrap()
        .token;
        owner.register(&token).await.unwrap();
        let req = SiteCreateRequest {
            site: SiteCode::parse(code).unwrap(),
            tenant: None,
            display_name: None,
            company: None,
            policy: Some(Policy::Auto),
        };
        let key = owner.site_create(&req).await.unwrap().enrollment_key;
        (owner, key)
    }

    async fn check(&self) -> roster::check::Report {
        roster::check::check(&self.store, &self.audit)
            .await
            .unwrap()
    }
}

fn same_keys(c: &RosterClient) -> RosterClient {
    RosterClient::new(
        c.nats().clone(),
        "roster",
        KeyPairs::from_secrets(&c.keys().sign_seed(), &c.keys().kex_secret()),
    )
    .with_timeout(Duration::from_secs(10))
}

/// Sends a request until a worker answers it: a NATS-level failure (no responders, a
/// timeout) is retried a few times, 200 ms apart, and said on stderr; a roster answer,
/// success or refusal, is final.
async fn until_served<T, F, Fut>(what: &str, mut send: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    for attempt in 1.. {
        match send().await {
            Ok(v) => return v,
            Err(ClientError::Nats(e)) if attempt < 10 => {
                eprintln!("{what}: attempt {attempt} reached no worker ({e}); sending again");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
    unreachable!("the loop returns or panics")
}

/// One flow interrupted at failpoint `fp`: what it was, for the checks after.
struct Crashed {
    subject: RosterClient,
    token: String,
    enroll: EnrollArgs,
    /// The request that never got its reply.
    first: tokio::task::JoinHandle<Result<(), ClientError>>,
    /// An admin flow's event, as (action, target id), once its change was written.
    event: Option<(String, String)>,
    /// The invite an `invite_cancel` flow cancels.
    invite: Option<InviteId>,
}

/// The flow a failpoint interrupts (`register`, `enroll`, `revoke`, `set_role`, …).
fn flow(fp: &str) -> &str {
    fp.split('.').next().unwrap_or(fp)
}

/// Names step `n`'s records: the subject's handle, a new site's code, a new invite's
/// handle.
fn names(prefix: &str, n: usize) -> (String, String, String) {
    (
        format!("{prefix}{n}"),
        format!("{}-S{n}", prefix.to_uppercase()),
        format!("{prefix}-i{n}"),
    )
}

/// Sends step `n`'s request of `fp`'s flow (the interrupted one, or its retry).
async fn send(
    fp: &str,
    (owner, subject): (&RosterClient, &RosterClient),
    (prefix, n): (&str, usize),
    token: &str,
    enroll: &EnrollArgs,
    invite: Option<&InviteId>,
) -> Result<(), ClientError> {
    let (handle, site, invitee) = names(prefix, n);
    let h = Handle::parse(&handle).unwrap();
    let machine =
        MachineId::for_agent(&SignKey::from_bytes(*subject.keys().sign_pub_bytes()).unwrap());
    match flow(fp) {
        "register" => subject.register(token).await.map(drop),
        "enroll" => subject.enroll(enroll).await.map(drop),
        "revoke" => owner.revoke_user(&h, None).await.map(drop),
        "set_role" => owner.user_set_role(&h, Role::Member, None).await.map(drop),
        "user_delete" => owner.user_delete(&h).await.map(drop),
        "machine_decide" => owner.machine_approve(&machine).await.map(drop),
        "site_create" => owner.site_create(&site_req(&site)).await.map(drop),
        "site_rotate_key" => {
            let req = RotateKeyRequest {
                site: SiteCode::parse(&site).unwrap(),
                tenant: None,
                grace_secs: None,
            };
            owner.site_rotate_key(&req).await.map(drop)
        }
        "invite_create" => owner
            .invite_create(&Handle::parse(&invitee).unwrap(), Role::Member, None)
            .await
            .map(drop),
        "invite_cancel" => owner.invite_cancel(invite.unwrap()).await.map(drop),
        "role_create" => owner.role_create(&role_req(prefix, n)).await.map(drop),
        "role_update" => {
            let req = roster::wire::admin::RoleUpdateRequest {
                tenant: None,
                name: role_name(prefix, n),
                permissions: Some(perms(&["machine:read", "site:read"])),
                description: None,
            };
            owner.role_update(&req).await.map(drop)
        }
        "role_delete" => {
            let req = roster::wire::admin::RoleNameRequest {
                tenant: None,
                name: role_name(prefix, n),
            };
            owner.role_delete(&req).await.map(drop)
        }
        "apikey_create" => owner.apikey_create(&apikey_req(prefix, n)).await.map(drop),
        f @ ("apikey_roll" | "apikey_revoke") => {
            let name = apikey_name(prefix, n);
            let keys = owner.apikey_list(&Default::default()).await?.keys;
            let id = keys
                .into_iter()
                .find(|k| k.name.as_str() == name)
                .map(|k| k.key_id)
                .expect("the flow's key");
            if f == "apikey_roll" {
                let req = roster::wire::admin::ApiKeyRollRequest {
                    key_id: id,
                    grace_secs: None,
                };
                owner.apikey_roll(&req).await.map(drop)
            } else {
                owner.apikey_revoke(&id).await.map(drop)
            }
        }
        f @ ("tenant_archive" | "tenant_create" | "tenant_update" | "tenant_set_product"
        | "tenant_set_status") => {
            let (cmd, body) = tenant_req(f, &format!("{prefix}-t{n}"));
            owner
                .call::<_, serde_json::Value>(Endpoint::Admin(cmd), &body)
                .await
                .map(drop)
        }
        "credential_create" => owner
            .credential_create(&credential_spec(prefix, n), "crash-value-one")
            .await
            .map(drop),
        f @ ("credential_rotate" | "credential_revoke" | "credential_delete") => {
            let name = credential_name(prefix, n);
            let req = roster::wire::admin::CredentialListRequest {
                scope: Some(roster::domain::CredentialScope::System),
                ..Default::default()
            };
            let Some(id) = owner
                .credential_list(&req)
                .await?
                .credentials
                .into_iter()
                .find(|c| c.name.as_str() == name)
                .map(|c| c.credential_id)
            else {
                // A delete whose mark landed: the credential is gone already for every
                // reader (lists hide it); the healer finishes it.
                assert_eq!(f, "credential_delete", "the flow's credential is listed");
                return Ok(());
            };
            match f {
                "credential_rotate" => owner
                    .credential_rotate(&id, "crash-value-two", None)
                    .await
                    .map(drop),
                "credential_revoke" => owner.credential_revoke(&id).await.map(drop),
                _ => owner.credential_delete(&id).await.map(drop),
            }
        }
        other => panic!("no flow {other}"),
    }
}

/// The tenant command of flow `f` on tenant `t`.
fn tenant_req(f: &str, t: &str) -> (Command, serde_json::Value) {
    use serde_json::json;
    match f {
        "tenant_archive" => (
            Command::TenantSetStatus,
            json!({"tenant": t, "status": "archived"}),
        ),
        "tenant_set_status" => (
            Command::TenantSetStatus,
            json!({"tenant": t, "status": "frozen"}),
        ),
        "tenant_update" => (
            Command::TenantUpdate,
            json!({"tenant": t, "name": "Renamed", "erp_customer_id": null}),
        ),
        "tenant_set_product" => (
            Command::TenantSetProduct,
            json!({"tenant": t, "product": "vpn", "enabled": true}),
        ),
        _ => (
            Command::TenantCreate,
            json!({"tenant": t, "name": "Crash test", "erp_customer_id": format!("ERP-{t}")}),
        ),
    }
}

fn credential_name(prefix: &str, n: usize) -> String {
    format!("{prefix}-cred-{n}")
}

/// A system-scope credential (the bus's owner is a platform owner).
fn credential_spec(prefix: &str, n: usize) -> roster::client::NewCredential {
    roster::client::NewCredential {
        holder: roster::domain::CredentialHolder::System,
        provider: roster::domain::ProviderName::parse("crash").unwrap(),
        name: roster::domain::CredentialName::parse(&credential_name(prefix, n)).unwrap(),
        kind: roster::domain::CredentialType::ApiKey,
        description: None,
        expires_at: None,
        metadata: None,
    }
}

fn apikey_name(prefix: &str, n: usize) -> String {
    format!("{prefix} key {n}")
}

fn apikey_req(prefix: &str, n: usize) -> roster::wire::admin::ApiKeyCreateRequest {
    roster::wire::admin::ApiKeyCreateRequest {
        tenant: None,
        name: roster::domain::ApiKeyName::parse(&apikey_name(prefix, n)).unwrap(),
        scopes: perms(&["site:read"]),
        product: None,
        ttl_secs: None,
    }
}

fn role_name(prefix: &str, n: usize) -> roster::authz::RoleName {
    roster::authz::RoleName::parse(&format!("{prefix} role {n}")).unwrap()
}

fn perms(keys: &[&str]) -> std::collections::BTreeSet<roster::authz::Permission> {
    keys.iter()
        .map(|k| roster::authz::Permission::parse(k).unwrap())
        .collect()
}

fn role_req(prefix: &str, n: usize) -> roster::wire::admin::RoleCreateRequest {
    roster::wire::admin::RoleCreateRequest {
        tenant: None,
        name: role_name(prefix, n),
        permissions: perms(&["machine:read"]),
        description: None,
    }
}

fn site_req(code: &str) -> SiteCreateRequest {
    SiteCreateRequest {
        site: SiteCode::parse(code).unwrap(),
        tenant: None,
        display_name: None,
        company: None,
        policy: Some(Policy::Auto),
    }
}

/// Arranges step `n` (`<prefix><n>`'s invite, registered first for the flows that
/// change a user; a pending machine for a decision; a site to rotate; an invite to
/// cancel), then sends its request to a worker armed with `fp` and waits for that
/// worker to die there.
async fn crash_at(
    bus: &Bus,
    owner: &RosterClient,
    (site, site_key): (&str, &str),
    prefix: &str,
    n: usize,
    fp: &str,
) -> Crashed {
    let mut w = bus.worker(None).await;
    let subject = bus.client(Duration::from_secs(10));
    let (handle, new_site, invitee) = names(prefix, n);
    let role = if flow(fp) == "set_role" {
        Role::Admin
    } else {
        Role::Member
    };
    let token = bus.invite(&handle, role).await;
    let enroll = EnrollArgs {
        site: site.into(),
        enrollment_key: site_key.into(),
        machine_uid: format!("{prefix}-host-{n}"),
        ..Default::default()
    };
    let mut invite = None;
    match flow(fp) {
        "revoke" | "set_role" | "user_delete" => {
            subject.register(&token).await.unwrap();
        }
        "machine_decide" => {
            // Another agent holds the uid: the subject's enrollment waits for approval.
            bus.client(Duration::from_secs(10))
                .enroll(&enroll)
                .await
                .unwrap();
            let r = subject.enroll(&enroll).await.unwrap();
            assert_eq!(r.state, "pending");
        }
        "site_rotate_key" => {
            owner.site_create(&site_req(&new_site)).await.unwrap();
        }
        "role_update" | "role_delete" => {
            owner.role_create(&role_req(prefix, n)).await.unwrap();
        }
        "apikey_roll" | "apikey_revoke" => {
            owner.apikey_create(&apikey_req(prefix, n)).await.unwrap();
        }
        "credential_rotate" | "credential_revoke" | "credential_delete" => {
            owner
                .credential_create(&credential_spec(prefix, n), "crash-value-zero")
                .await
                .unwrap();
        }
        f @ ("tenant_archive" | "tenant_update" | "tenant_set_product" | "tenant_set_status") => {
            let t = format!("{prefix}-t{n}");
            let mut steps = vec![tenant_req("tenant_create", &t)];
            if f == "tenant_archive" {
                steps.push(tenant_req("tenant_set_status", &t));
            }
            for (cmd, body) in steps {
                owner
                    .call::<_, serde_json::Value>(Endpoint::Admin(cmd), &body)
                    .await
                    .unwrap();
            }
        }
        "invite_cancel" => {
            let who = Handle::parse(&invitee).unwrap();
            invite = Some(
                owner
                    .invite_create(&who, Role::Member, None)
                    .await
                    .unwrap()
                    .invite_id,
            );
        }
        _ => {}
    }
    w.kill();

    let mut armed = bus.worker(Some(fp)).await;
    let first = {
        let (subject, owner, token, enroll, fp, invite) = (
            same_keys(&subject),
            owner.clone(),
            token.clone(),
            enroll.clone(),
            fp.to_string(),
            invite.clone(),
        );
        let prefix = prefix.to_owned();
        tokio::spawn(async move {
            let who = (&owner, &subject);
            send(&fp, who, (&prefix, n), &token, &enroll, invite.as_ref()).await
        })
    };
    assert!(
        armed.wait_exit(Duration::from_secs(30)).await.is_some(),
        "{fp}: the worker crashed"
    );
    let machine =
        MachineId::for_agent(&SignKey::from_bytes(*subject.keys().sign_pub_bytes()).unwrap());
    let event = match flow(fp) {
        "set_role" => Some(("user.role_changed", handle.clone())),
        "user_delete" => Some(("user.deleted", handle.clone())),
        "machine_decide" => Some(("machine.approved", machine.to_string())),
        "site_create" | "site_rotate_key" => {
            let action = if flow(fp) == "site_create" {
                "site.created"
            } else {
                "site.key_rotated"
            };
            Some((action, format!("default/{new_site}")))
        }
        "invite_create" => Some(("invite.created", bus.invite_of(&invitee).await.to_string())),
        "invite_cancel" => Some(("invite.cancelled", invite.clone().unwrap().to_string())),
        f @ ("role_create" | "role_update" | "role_delete") => {
            let action = match f {
                "role_create" => "role.created",
                "role_update" => "role.updated",
                _ => "role.deleted",
            };
            Some((action, format!("default/{}", role_name(prefix, n).as_str())))
        }
        f @ ("tenant_archive" | "tenant_create" | "tenant_update" | "tenant_set_product"
        | "tenant_set_status") => {
            let action = match f {
                "tenant_archive" => "tenant.purged",
                "tenant_create" => "tenant.created",
                "tenant_update" => "tenant.updated",
                "tenant_set_product" => "tenant.product_set",
                _ => "tenant.status_changed",
            };
            Some((action, format!("{prefix}-t{n}")))
        }
        f @ ("apikey_create" | "apikey_roll" | "apikey_revoke") => {
            let action = match f {
                "apikey_create" => "apikey.created",
                "apikey_roll" => "apikey.rolled",
                _ => "apikey.revoked",
            };
            Some((action, bus.apikey_named(&apikey_name(prefix, n)).await))
        }
        f @ ("credential_create" | "credential_rotate" | "credential_revoke"
        | "credential_delete") => {
            let action = match f {
                "credential_create" => "credential.created",
                "credential_rotate" => "credential.rotated",
                "credential_revoke" => "credential.revoked",
                _ => "credential.deleted",
            };
            Some((
                action,
                bus.credential_named(&credential_name(prefix, n)).await,
            ))
        }
        _ => None,
    }
    .map(|(a, t)| (a.to_owned(), t));
    Crashed {
        subject,
        token,
        enroll,
        first,
        event,
        invite,
    }
}

fn is_lost(e: &ClientError) -> bool {
    matches!(e, ClientError::Nats(_)) || e.code() == Some(ErrorCode::Unavailable)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_at_every_step_leaves_state_the_retry_completes() {
    let bus = Bus::start(false).await;
    // An owner, a site and its key, through a healthy worker.
    let mut healthy = bus.worker(None).await;
    let (owner, site_key) = bus.owner_and_site("crash").await;
    healthy.kill();

    let mut crashes = 0;
    for (n, fp) in roster::failpoint::ALL.iter().enumerate() {
        eprintln!("crash and retry: {fp}");
        // The armed worker dies at the failpoint; the request in flight never gets a
        // reply.
        let Crashed {
            subject,
            token,
            enroll,
            first,
            invite,
            ..
        } = crash_at(&bus, &owner, ("CRASH", &site_key), "crash", n, fp).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        if first.is_finished() {
            let r = first.await.unwrap();
            assert!(r.as_ref().is_err_and(is_lost), "{fp}: {r:?}");
        } else {
            first.abort();
        }
        crashes += 1;

        // The client retries against a healthy worker: it completes. (A client whose
        // request finds no worker at all, as right after a crash, sends it again.)
        let _w = bus.worker(None).await;
        let retry = same_keys(&subject);
        if fp.starts_with("register.") {
            let r = until_served(fp, || retry.register(&token)).await;
            assert_eq!(r.handle.as_str(), format!("crash{n}"), "{fp}");
        } else if fp.starts_with("enroll.") {
            let r = until_served(fp, || retry.enroll(&enroll)).await;
            assert_eq!(r.state, "active", "{fp}");
            assert!(retry.open_credential(&r).is_ok());
        } else if fp.starts_with("revoke.") {
            let h = Handle::parse(&format!("crash{n}")).unwrap();
            let r = until_served(fp, || owner.revoke_user(&h, None)).await;
            assert_eq!(r.status, "revoked", "{fp}");
        } else {
            // An admin command sent again completes (a site created already is a
            // conflict: it exists, which is what the admin wanted).
            let who = (&owner, &retry);
            let r = until_served(fp, || async {
                match send(fp, who, ("crash", n), &token, &enroll, invite.as_ref()).await {
                    Err(e) if e.code() == Some(ErrorCode::Conflict) => Ok(()),
                    r => r,
                }
            })
            .await;
            assert_eq!(r, (), "{fp}");
        }
        if matches!(
            flow(fp),
            "site_create"
                | "apikey_create"
                | "apikey_revoke"
                | "tenant_create"
                | "tenant_update"
                | "tenant_set_product"
                | "tenant_set_status"
                | "credential_create"
                | "credential_revoke"
                | "credential_delete"
        ) {
            // The retry finds the site, the key or the tenant (`conflict`), or the change
            // made already (nothing to change); the event is the healer's to publish.
            healed_within_30s(fp, async || bus.check().await.problems.is_empty()).await;
        }
        let report = bus.check().await;
        assert!(report.problems.is_empty(), "{fp}: {:?}", report.problems);
    }
    println!("crashed at {crashes} failpoints; every retry completed; checker clean");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_loop_under_a_thousand_requests_loses_nothing() {
    let bus = Arc::new(Bus::start(false).await);
    let mut workers = [bus.worker(None).await, bus.worker(None).await];
    let (_owner, key) = bus.owner_and_site("storm").await;
    const REGISTERS: usize = 700;
    const ENROLLS: usize = 300;
    let tokens = bus.member_invites("mem", REGISTERS).await;
    let retries = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..REGISTERS + ENROLLS {
        let (bus, retries, key) = (bus.clone(), retries.clone(), key.clone());
        let token = tokens.get(i).cloned();
        tasks.push(tokio::spawn(async move {
            // Spread over five seconds, so the load outlasts several kill-and-restart
            // cycles however fast this machine answers (a restarted worker is waited for
            // until it serves, which takes longer than the kill period).
            tokio::time::sleep(Duration::from_millis(5 * i as u64)).await;
            let c = bus.client(Duration::from_secs(3));
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let res = match &token {
                    Some(t) => c.register(t).await.map(|_| ()),
                    None => c
                        .enroll(&EnrollArgs {
                            site: "STORM".into(),
                            enrollment_key: key.clone(),
                            machine_uid: format!("n{i}"),
                            ..Default::default()
                        })
                        .await
                        .map(|_| ()),
                };
                match res {
                    Ok(()) => return Ok(c.keys().sign_pub()),
                    Err(e) if is_lost(&e) && Instant::now() < deadline => {
                        retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => return Err(format!("{e}")),
                }
            }
        }));
    }
    // Kill a random worker every 200-400 ms and start it again, until the load is done.
    let mut kills: usize = 0;
    let start = Instant::now();
    while tasks.iter().any(|t| !t.is_finished()) && start.elapsed() < Duration::from_secs(150) {
        tokio::time::sleep(Duration::from_millis(200 + (kills as u64 % 3) * 100)).await;
        let i = kills % 2;
        workers[i].kill();
        kills += 1;
        workers[i] = bus.worker(None).await;
    }
    let mut ok = 0;
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.is_ok(), "{r:?}");
        ok += 1;
    }
    assert_eq!(ok, REGISTERS + ENROLLS);
    assert_eq!(bus.store.users.keys().await.unwrap().len(), REGISTERS + 1);
    assert_eq!(bus.store.machines.keys().await.unwrap().len(), ENROLLS);
    let report = bus.check().await;
    println!(
        "{} requests, {kills} SIGKILLs, {} client retries, checker: {} records, {} problems",
        REGISTERS + ENROLLS,
        retries.load(Ordering::Relaxed),
        report.users
            + report.user_keys
            + report.invites
            + report.machines
            + report.machine_uids
            + report.credentials,
        report.problems.len()
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(kills >= 3, "the loop killed workers under load");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_server_restart_loses_no_acknowledged_registration() {
    let mut bus = Bus::start(true).await;
    let _w = bus.worker(None).await;
    let owner = bus.client(Duration::from_secs(10));
    owner
        .register(&bus.invite("root", Role::Owner).await)
        .await
        .unwrap();
    const N: usize = 300;
    let tokens = bus.member_invites("reg", N).await;
    let nats = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(bus.url())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for (i, t) in tokens.into_iter().enumerate() {
        let nats = nats.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5 * i as u64)).await;
            let c = RosterClient::new(nats, "roster", KeyPairs::generate())
                .with_timeout(Duration::from_secs(3));
            let mut first_errors = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                match c.register(&t).await {
                    Ok(r) => return (r, first_errors),
                    Err(e) if is_lost(&e) && Instant::now() < deadline => {
                        first_errors.push(format!("{e}"));
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(e) => panic!("register r{i} failed with a wrong answer: {e}"),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    bus.server.restart().await.unwrap();
    let mut acked = Vec::new();
    let mut interrupted = 0;
    for t in tasks {
        let (reply, errs) = t.await.unwrap();
        if !errs.is_empty() {
            interrupted += 1;
        }
        acked.push(reply);
    }
    // Every acknowledged registration is in the store after the restart.
    let bus_nats = async_nats::connect(bus.url()).await.unwrap();
    let cfg =
        WorkerConfig::from_args(&NatsArgs::for_url(&bus.url()), &WorkerArgs::default()).unwrap();
    let (store, audit) = roster::worker::open_state(&bus_nats, &cfg).await.unwrap();
    for r in &acked {
        let u = store
            .user(&r.handle)
            .await
            .unwrap()
            .expect("acknowledged user survives");
        assert_eq!(u.value.sign_pub, r.sign_pub);
    }
    bus.store = store;
    bus.audit = audit;
    let report = bus.check().await;
    println!("{N} registrations across a nats-server restart: {interrupted} saw unavailable/timeouts and retried, {} acknowledged and all present", acked.len());
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_acknowledged_request() {
    let bus = Bus::start(false).await;
    let mut w = bus.worker(None).await;
    let owner = bus.client(Duration::from_secs(10));
    owner
        .register(&bus.invite("root", Role::Owner).await)
        .await
        .unwrap();
    const N: usize = 300;
    let tokens = bus.member_invites("term", N).await;
    let mut tasks = Vec::new();
    for (i, t) in tokens.into_iter().enumerate() {
        let c = bus.client(Duration::from_secs(5));
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(2 * i as u64)).await;
            c.register(&t).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    w.terminate();
    let exited = w.wait_exit(Duration::from_secs(30)).await.is_some();
    assert!(exited, "the worker stops on SIGTERM");
    let (mut acked, mut unanswered) = (Vec::new(), 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => acked.push(r),
            Err(e) if is_lost(&e) => unanswered += 1,
            Err(e) => panic!("a request got a wrong answer during shutdown: {e}"),
        }
    }
    for r in &acked {
        assert!(
            bus.store.user(&r.handle).await.unwrap().is_some(),
            "acknowledged {} is stored",
            r.handle
        );
    }
    println!(
        "SIGTERM under load: {} acknowledged (all stored), {unanswered} never taken",
        acked.len()
    );
    assert!(
        !acked.is_empty() && unanswered > 0,
        "the stop landed mid-load"
    );
    let report = bus.check().await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

/// What a healed flow must leave, polled until it holds (or 30 s pass).
async fn healed_within_30s(fp: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(Instant::now() < deadline, "{fp}: not healed within 30 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_at_every_step_is_healed_by_the_workers_with_no_retry() {
    let bus = Bus::start(false).await;
    let mut healthy = bus.worker(None).await;
    let (owner, site_key) = bus.owner_and_site("heal").await;
    healthy.kill();

    for (n, fp) in roster::failpoint::ALL.iter().enumerate() {
        eprintln!("crash and heal: {fp}");
        let handle = format!("heal{n}");
        let Crashed {
            subject,
            first,
            event,
            ..
        } = crash_at(&bus, &owner, ("HEAL", &site_key), "heal", n, fp).await;
        first.abort();

        // Two healthy workers come up (both heal; each event is still stored once);
        // nobody retries.
        let _w = bus.healing_worker().await;
        let _w2 = bus.healing_worker().await;
        let h = Handle::parse(&handle).unwrap();
        let machine = roster::domain::MachineId::for_agent(
            &roster::domain::SignKey::from_bytes(*subject.keys().sign_pub_bytes()).unwrap(),
        );
        if *fp == "register.after_nonce" {
            // Nothing was written: nothing to finish.
            tokio::time::sleep(Duration::from_secs(3)).await;
            assert!(bus.store.user(&h).await.unwrap().is_none(), "{fp}");
        } else if fp.starts_with("register.") {
            healed_within_30s(fp, async || {
                bus.store.user(&h).await.unwrap().is_some()
                    && bus.events_of("user.registered", &handle).await == 1
            })
            .await;
        } else if *fp == "enroll.after_uid_claim" {
            // The claim is released: the uid is free, no machine, no event.
            healed_within_30s(fp, async || {
                bus.store
                    .machine_uids
                    .keys()
                    .await
                    .unwrap()
                    .iter()
                    .all(|k| {
                        !k.ends_with(&roster::crypto::sha256_hex(
                            format!("heal-host-{n}").as_bytes(),
                        ))
                    })
            })
            .await;
            assert!(bus.store.machine(&machine).await.unwrap().is_none(), "{fp}");
            assert_eq!(bus.events_of("machine.enrolled", machine.as_str()).await, 0);
        } else if fp.starts_with("enroll.") {
            healed_within_30s(fp, async || {
                bus.events_of("machine.enrolled", machine.as_str()).await == 1
            })
            .await;
        } else if let Some((action, target)) = &event {
            healed_within_30s(fp, async || bus.events_of(action, target).await == 1).await;
            if flow(fp) == "user_delete" {
                healed_within_30s(fp, async || bus.store.user(&h).await.unwrap().is_none()).await;
            }
            if flow(fp) == "credential_delete" {
                let id = roster::domain::CredentialId::parse(target).unwrap();
                healed_within_30s(fp, async || {
                    bus.store.vault.get(&id).await.unwrap().is_none()
                })
                .await;
            }
            if flow(fp) == "role_delete" {
                let t = roster::domain::Tenant::default_tenant();
                let name = role_name("heal", n);
                healed_within_30s(fp, async || {
                    bus.store.role(&t, &name).await.unwrap().is_none()
                })
                .await;
            }
        } else {
            healed_within_30s(fp, async || {
                bus.events_of("user.revoked", &handle).await == 1
            })
            .await;
        }
        // Exactly once, even after the healer has looked again.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let admin = event.clone().unwrap_or_default();
        for (action, target) in [
            ("user.registered", handle.as_str()),
            ("user.revoked", handle.as_str()),
            ("machine.enrolled", machine.as_str()),
            (admin.0.as_str(), admin.1.as_str()),
        ] {
            assert!(
                bus.events_of(action, target).await <= 1,
                "{fp}: {action} twice"
            );
        }
        let report = bus.check().await;
        assert!(report.problems.is_empty(), "{fp}: {:?}", report.problems);
    }
}
