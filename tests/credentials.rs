//! The credential vault (PROTOCOL §10) against a real nats-server: values sealed in and
//! out (an independent Python client included), who may see, reveal and change what,
//! revoked and expired credentials, KEK rotation that rewraps every data key and no
//! value, a deleted user's data key, `credential.expiring` exactly once with two
//! workers, and no plaintext value in any KV value, either stream or the log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::{handle, run_python, TestEnv};
use roster::authz::{Permission, RoleName};
use roster::client::{ClientError, NewCredential, RosterClient};
use roster::config::WorkerArgs;
use roster::domain::{
    CredentialHolder, CredentialId, CredentialName, CredentialType, ProviderName, Role, Tenant,
};
use roster::vault::KeyFile;
use roster::wire::admin::{CredentialListRequest, Rfc3339, RoleCreateRequest};
use roster::wire::{Command, Endpoint, ErrorCode};

/// Every log line of this test binary's workers, at trace level (checked for secrets).
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .try_init();
        buf
    })
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A test roster whose workers share one vault key file.
struct Vaulted {
    env: TestEnv,
    key_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Vaulted {
    type Target = TestEnv;
    fn deref(&self) -> &TestEnv {
        &self.env
    }
}

async fn vaulted(workers: usize, tweak: impl FnOnce(&mut WorkerArgs)) -> Vaulted {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("vault.json");
    KeyFile::init(&key_file, false, "2026-01-01T00:00:00Z").unwrap();
    let mut args = WorkerArgs {
        vault_key_file: Some(key_file.clone()),
        ..WorkerArgs::default()
    };
    tweak(&mut args);
    let env = TestEnv::with_args(workers, args).await;
    Vaulted {
        env,
        key_file,
        _dir: dir,
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, ClientError>) -> ErrorCode {
    r.expect_err("refused").code().expect("a roster refusal")
}

fn spec(holder: CredentialHolder, provider: &str, name: &str) -> NewCredential {
    NewCredential {
        holder,
        provider: ProviderName::parse(provider).unwrap(),
        name: CredentialName::parse(name).unwrap(),
        kind: CredentialType::ApiKey,
        description: None,
        expires_at: None,
        metadata: None,
    }
}

fn mine(h: &str) -> CredentialHolder {
    CredentialHolder::User(handle(h))
}

fn default_tenant() -> CredentialHolder {
    CredentialHolder::Tenant(Tenant::default_tenant())
}

/// A user in the default tenant holding a custom role with `perms`.
async fn user_with(env: &TestEnv, h: &str, role: &str, perms: &[&str]) -> RosterClient {
    let req = RoleCreateRequest {
        tenant: None,
        name: RoleName::parse(role).unwrap(),
        permissions: perms
            .iter()
            .map(|p| Permission::parse(p).unwrap())
            .collect::<BTreeSet<_>>(),
        description: None,
    };
    env.owner.role_create(&req).await.unwrap();
    let token = env
        .owner
        .invite_create(&handle(h), RoleName::parse(role).unwrap(), None)
        .await
        .unwrap()
        .token;
    let c = env.client();
    c.register(&token).await.unwrap();
    c
}

/// `cmd` with `body`, signed at the workers' (moved) clock.
async fn at_worker_time<Rep: serde::de::DeserializeOwned>(
    env: &TestEnv,
    c: &RosterClient,
    cmd: Command,
    body: serde_json::Value,
) -> Result<Rep, ClientError> {
    let ep = Endpoint::Admin(cmd);
    let subject = c.subject(ep);
    let bytes = serde_json::to_vec(&body).unwrap();
    let headers = c.sign_headers_at(
        &subject,
        &bytes,
        env.cfg.clock.now_ms(),
        &roster::crypto::random_nonce_hex(),
    );
    let raw = c.send_raw(&subject, headers, bytes.into()).await?;
    roster::client::decode_reply(&raw.body)
}

fn in_hours(h: i64, env: &TestEnv) -> Rfc3339 {
    let now = env.cfg.clock.now().as_offset();
    Rfc3339(now + time::Duration::hours(h))
}

#[tokio::test]
async fn the_worker_announces_its_credential_kex_and_a_value_goes_in_and_out_sealed() {
    let env = vaulted(1, |_| {}).await;
    let kex = env
        .owner
        .credential_kex()
        .await
        .unwrap()
        .expect("announced");
    let file = KeyFile::load(&env.key_file).unwrap();
    assert_eq!(&kex, file.credential_kex().public());

    let alice = env.user("alice", Role::Member).await;
    let secret = "ghp_exampleTokenValue0123456789";
    let made = alice
        .credential_create(&spec(mine("alice"), "github", "deploy"), secret)
        .await
        .unwrap();
    assert_eq!(made.masked_value, "••••6789");
    assert!(made.active);
    assert_eq!(made.owner.as_ref().map(|h| h.as_str()), Some("alice"));
    let got = alice.credential_get(&made.credential_id).await.unwrap();
    assert_eq!(got, made, "get shows the masked record");
    let listed = alice
        .credential_list(&CredentialListRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.credentials, vec![made.clone()]);

    let sealed = alice
        .credential_reveal_sealed(&made.credential_id)
        .await
        .unwrap();
    assert!(!sealed.value.ciphertext.contains(&hex::encode(secret)));
    let opened = alice
        .keys()
        .open_revealed(&sealed.value, made.credential_id.as_str())
        .unwrap();
    assert_eq!(opened.as_str(), secret);
    let after = alice.credential_get(&made.credential_id).await.unwrap();
    assert!(after.last_used_at.is_some(), "a reveal is a use");
    let actions = env.audit_actions().await;
    assert!(actions.contains(&"credential.created".to_owned()));
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "credential.accessed")
            .count(),
        1
    );
    env.check_kv_schemas().await;
}

#[tokio::test]
async fn masked_values_show_at_most_the_last_four_and_nothing_of_short_secrets() {
    let env = vaulted(1, |_| {}).await;
    let cases = [
        ("abc", "••••"),
        ("1234567", "••••"),
        ("12345678", "••••5678"),
        (&"x".repeat(5000) as &str, "••••xxxx"),
    ];
    for (i, (secret, masked)) in cases.iter().enumerate() {
        let c = env
            .owner
            .credential_create(&spec(mine("root"), "p", &format!("n{i}")), secret)
            .await
            .unwrap();
        assert_eq!(&c.masked_value, masked);
        assert!(c.masked_value.chars().count() <= 20);
    }
}

#[tokio::test]
async fn a_users_credential_is_its_owners_alone_though_a_platform_owner_may_delete_it() {
    let env = vaulted(1, |_| {}).await;
    let alice = env.user("alice", Role::Member).await;
    let admin = env.user("tenantadmin", Role::Admin).await;
    let c = alice
        .credential_create(&spec(mine("alice"), "github", "deploy"), "alice-secret-1")
        .await
        .unwrap();
    let id = &c.credential_id;
    // A tenant admin does not even see it.
    assert_eq!(code(admin.credential_get(id).await), ErrorCode::NotFound);
    assert_eq!(code(admin.credential_reveal(id).await), ErrorCode::NotFound);
    assert_eq!(code(admin.credential_delete(id).await), ErrorCode::NotFound);
    let theirs = CredentialListRequest {
        owner: Some(handle("alice")),
        ..Default::default()
    };
    assert_eq!(
        code(admin.credential_list(&theirs).await),
        ErrorCode::Forbidden
    );
    // The platform owner sees it masked, may not reveal, rotate or revoke it.
    let root = &env.owner;
    assert_eq!(
        root.credential_get(id).await.unwrap().masked_value,
        "••••et-1"
    );
    assert_eq!(
        root.credential_list(&theirs)
            .await
            .unwrap()
            .credentials
            .len(),
        1
    );
    assert_eq!(code(root.credential_reveal(id).await), ErrorCode::Forbidden);
    assert_eq!(code(root.credential_revoke(id).await), ErrorCode::Forbidden);
    assert!(root.credential_get(id).await.unwrap().active);
    // Nobody creates a credential in another user's name: user scope is one's own.
    let other = alice
        .credential_create(&spec(mine("alice"), "github", "ci"), "x-secret-2")
        .await
        .unwrap();
    assert_eq!(other.owner.as_ref().unwrap().as_str(), "alice");
    // ... but the platform owner may delete it.
    assert!(root.credential_delete(id).await.unwrap().deleted);
    assert_eq!(code(alice.credential_get(id).await), ErrorCode::NotFound);
    let deleted = env
        .audit_events()
        .await
        .into_iter()
        .find(|e| e.action == "credential.deleted")
        .unwrap();
    assert_eq!(deleted.actor.id, "root");
    assert_eq!(deleted.target.id, id.as_str());
}

#[tokio::test]
async fn a_tenant_credential_needs_credential_reveal_to_be_revealed() {
    let env = vaulted(1, |_| {}).await;
    let reader = user_with(&env, "reader", "cred reader", &["credential:read"]).await;
    let revealer = user_with(
        &env,
        "revealer",
        "cred revealer",
        &["credential:read", "credential:reveal"],
    )
    .await;
    let member = env.user("plainmember", Role::Member).await;
    let c = env
        .owner
        .credential_create(&spec(default_tenant(), "aws", "prod"), "AKIA-tenant-secret")
        .await
        .unwrap();
    let id = &c.credential_id;
    assert_eq!(c.tenant.as_ref().unwrap().as_str(), "default");
    let tenant_list = CredentialListRequest {
        scope: Some(roster::domain::CredentialScope::Tenant),
        ..Default::default()
    };
    // Read only: list and get, no reveal, no change.
    assert_eq!(
        reader
            .credential_list(&tenant_list)
            .await
            .unwrap()
            .credentials
            .len(),
        1
    );
    assert_eq!(
        reader.credential_get(id).await.unwrap().masked_value,
        "••••cret"
    );
    assert_eq!(
        code(reader.credential_reveal(id).await),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(reader.credential_revoke(id).await),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(
            reader
                .credential_create(&spec(default_tenant(), "aws", "dev"), "zzzzzzzzzz")
                .await
        ),
        ErrorCode::Forbidden
    );
    // Reveal: the value.
    assert_eq!(
        revealer.credential_reveal(id).await.unwrap().as_str(),
        "AKIA-tenant-secret"
    );
    // Nothing at all: hidden.
    assert_eq!(code(member.credential_get(id).await), ErrorCode::NotFound);
    assert_eq!(
        code(member.credential_list(&tenant_list).await),
        ErrorCode::Forbidden
    );
    let accessed = env
        .audit_events()
        .await
        .into_iter()
        .find(|e| e.action == "credential.accessed")
        .unwrap();
    assert_eq!(accessed.tenant.as_deref(), Some("default"));
    assert_eq!(accessed.actor.id, "revealer");
}

#[tokio::test]
async fn a_system_credential_needs_platform_scope() {
    let env = vaulted(1, |_| {}).await;
    let admin = env.user("tenantadmin", Role::Admin).await;
    let c = env
        .owner
        .credential_create(
            &spec(CredentialHolder::System, "smtp", "relay"),
            "smtp-pass-123",
        )
        .await
        .unwrap();
    assert_eq!(c.scope, roster::domain::CredentialScope::System);
    assert_eq!(
        env.owner
            .credential_reveal(&c.credential_id)
            .await
            .unwrap()
            .as_str(),
        "smtp-pass-123"
    );
    assert_eq!(
        code(admin.credential_get(&c.credential_id).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(admin.credential_reveal(&c.credential_id).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(
            admin
                .credential_create(&spec(CredentialHolder::System, "smtp", "b"), "zzzzzzzz")
                .await
        ),
        ErrorCode::Forbidden
    );
    assert_eq!(code(admin.credential_rewrap().await), ErrorCode::Forbidden);
}

#[tokio::test]
async fn revoked_and_expired_credentials_are_not_revealed() {
    let env = vaulted(1, |_| {}).await;
    let o = &env.owner;
    let mut soon = spec(mine("root"), "github", "short");
    soon.expires_at = Some(in_hours(1, &env));
    let short = o.credential_create(&soon, "expiring-value").await.unwrap();
    let revoked = o
        .credential_create(&spec(mine("root"), "github", "gone"), "revoked-value")
        .await
        .unwrap();
    assert_eq!(
        o.credential_reveal(&short.credential_id)
            .await
            .unwrap()
            .as_str(),
        "expiring-value"
    );
    let r = o.credential_revoke(&revoked.credential_id).await.unwrap();
    assert!(!r.active && r.revoked_at.is_some());
    assert!(
        !o.credential_revoke(&revoked.credential_id)
            .await
            .unwrap()
            .active
    );
    assert_eq!(
        code(o.credential_reveal(&revoked.credential_id).await),
        ErrorCode::Conflict
    );
    assert_eq!(
        code(
            o.credential_rotate(&revoked.credential_id, "new-value-1", None)
                .await
        ),
        ErrorCode::Conflict
    );
    env.advance_clock(Duration::from_secs(2 * 3600));
    // The workers' clock moved on: sign with it.
    let reveal = serde_json::json!({ "credential_id": short.credential_id });
    assert_eq!(
        code(
            at_worker_time::<serde_json::Value>(&env, o, Command::CredentialReveal, reveal.clone())
                .await
        ),
        ErrorCode::Conflict
    );
    // A rotation with a new expiry brings it back.
    let kex = o.credential_kex().await.unwrap().unwrap();
    let rotate = serde_json::json!({
        "credential_id": short.credential_id,
        "value": roster::crypto::seal_value_in("fresh-value-99", &kex, "user/root/github/short").unwrap(),
        "expires_at": String::from(in_hours(24, &env)),
    });
    let rotated: roster::wire::admin::CredentialView =
        at_worker_time(&env, o, Command::CredentialRotate, rotate)
            .await
            .unwrap();
    assert!(rotated.rotated_at.is_some());
    assert_eq!(rotated.masked_value, "••••e-99");
    let sealed: roster::wire::admin::CredentialRevealReply =
        at_worker_time(&env, o, Command::CredentialReveal, reveal)
            .await
            .unwrap();
    let opened = o
        .keys()
        .open_revealed(&sealed.value, short.credential_id.as_str())
        .unwrap();
    assert_eq!(opened.as_str(), "fresh-value-99");
    let actions = env.audit_actions().await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "credential.revoked")
            .count(),
        1
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "credential.rotated")
            .count(),
        1
    );
}

#[tokio::test]
async fn bad_input_is_bad_request_and_changes_nothing() {
    let env = vaulted(1, |_| {}).await;
    let o = &env.owner;
    o.credential_create(&spec(mine("root"), "GitHub", "Deploy"), "first-value")
        .await
        .unwrap();
    let before = env.kv_dump().await;
    // The same provider and name in another case: taken.
    assert_eq!(
        code(
            o.credential_create(&spec(mine("root"), "github", "deploy"), "second-value")
                .await
        ),
        ErrorCode::Conflict
    );
    // A value sealed for another name does not open.
    let kex = o.credential_kex().await.unwrap().unwrap();
    let sealed =
        roster::crypto::seal_value_in("misbound-value", &kex, "user/root/github/other").unwrap();
    let body = serde_json::json!({
        "scope": "user", "name": "deploy2", "provider": "github", "type": "api_key",
        "value": sealed,
    });
    let ep = Endpoint::Admin(Command::CredentialCreate);
    let raw = |b: serde_json::Value| async move {
        let reply = o
            .call_raw(ep, &serde_json::to_vec(&b).unwrap())
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        v["error"]["code"].as_str().unwrap_or("ok").to_owned()
    };
    assert_eq!(raw(body.clone()).await, "bad_request");
    let mut unknown = body.clone();
    unknown["plaintext"] = "oops".into();
    assert_eq!(raw(unknown).await, "bad_request");
    let mut slash = body.clone();
    slash["name"] = "a/b".into();
    assert_eq!(raw(slash).await, "bad_request");
    let mut kind = body.clone();
    kind["type"] = "certificate".into();
    assert_eq!(raw(kind).await, "bad_request");
    let mut meta = body.clone();
    meta["metadata"] = serde_json::json!({ "big": "x".repeat(5000) });
    assert_eq!(raw(meta).await, "bad_request");
    let mut past = body.clone();
    past["expires_at"] = "2001-01-01T00:00:00Z".into();
    assert_eq!(raw(past).await, "bad_request");
    let mut tenant_on_user = body.clone();
    tenant_on_user["tenant"] = "default".into();
    assert_eq!(raw(tenant_on_user).await, "bad_request");
    let bad_id = serde_json::json!({ "credential_id": "c-xyz" });
    let reveal = o
        .call_raw(
            Endpoint::Admin(Command::CredentialReveal),
            &serde_json::to_vec(&bad_id).unwrap(),
        )
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&reveal.body).contains("bad_request"));
    let after = env.kv_dump().await;
    let vault_only = |d: &[(String, String, serde_json::Value)]| -> Vec<(String, String)> {
        d.iter()
            .filter(|(b, _, _)| b.starts_with("vault"))
            .map(|(b, k, v)| (format!("{b}/{k}"), v.to_string()))
            .collect()
    };
    assert_eq!(vault_only(&before), vault_only(&after), "nothing written");
}

#[tokio::test]
async fn without_a_key_file_the_credential_commands_are_unavailable() {
    logs();
    let env = TestEnv::start().await;
    assert_eq!(env.owner.credential_kex().await.unwrap(), None);
    let r = env
        .owner
        .call_raw(Endpoint::Admin(Command::CredentialList), b"{}")
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["error"]["code"], "unavailable");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("--vault-key-file"));
}

#[tokio::test]
async fn a_kek_rotation_rewraps_every_data_key_and_touches_no_value() {
    let env = vaulted(1, |_| {}).await;
    let alice = env.user("alice", Role::Member).await;
    let o = &env.owner;
    let ids = [
        alice
            .credential_create(&spec(mine("alice"), "github", "a"), "alice-value-1")
            .await
            .unwrap()
            .credential_id,
        o.credential_create(&spec(default_tenant(), "aws", "t"), "tenant-value-2")
            .await
            .unwrap()
            .credential_id,
        o.credential_create(
            &spec(CredentialHolder::System, "smtp", "s"),
            "system-value-3",
        )
        .await
        .unwrap()
        .credential_id,
    ];
    let values = |env: &Vaulted| {
        let store = env.store.clone();
        async move {
            let mut out = Vec::new();
            for (k, v) in store.vault.dump_raw().await.unwrap() {
                out.push((k, v["value"].to_string()));
            }
            out
        }
    };
    let before = values(&env).await;
    let keys_before = env.store.vault_keys.dump_raw().await.unwrap();
    assert_eq!(
        keys_before.len(),
        3,
        "a data key per holder: {keys_before:?}"
    );
    assert!(keys_before.iter().all(|(_, v)| v["kek_version"] == 1));

    assert_eq!(
        KeyFile::rotate(&env.key_file, "2026-02-01T00:00:00Z").unwrap(),
        2
    );
    let done = o.credential_rewrap().await.unwrap();
    assert_eq!(
        (done.kek_version, done.data_keys, done.rewrapped),
        (2, 3, 3)
    );
    let keys_after = env.store.vault_keys.dump_raw().await.unwrap();
    assert!(keys_after.iter().all(|(_, v)| v["kek_version"] == 2));
    for ((k1, v1), (k2, v2)) in keys_before.iter().zip(&keys_after) {
        assert_eq!(k1, k2);
        assert_ne!(v1["wrapped"], v2["wrapped"], "{k1} rewrapped");
    }
    assert_eq!(values(&env).await, before, "no value ciphertext changed");
    // Again: nothing left to do.
    assert_eq!(o.credential_rewrap().await.unwrap().rewrapped, 0);
    assert_eq!(
        alice.credential_reveal(&ids[0]).await.unwrap().as_str(),
        "alice-value-1"
    );
    assert_eq!(
        o.credential_reveal(&ids[1]).await.unwrap().as_str(),
        "tenant-value-2"
    );
    assert_eq!(
        o.credential_reveal(&ids[2]).await.unwrap().as_str(),
        "system-value-3"
    );
    // The old version may now go from the file: the values still open... but only after
    // every key moved, which is what the rewrap guarantees.
    assert!(env
        .audit_actions()
        .await
        .contains(&"credential.rewrapped".to_owned()));
}

#[tokio::test]
async fn a_deleted_users_data_key_is_gone_and_its_values_never_decrypt() {
    let env = vaulted(1, |_| {}).await;
    let alice = env.user("alice", Role::Member).await;
    let c = alice
        .credential_create(&spec(mine("alice"), "github", "deploy"), "doomed-value-42")
        .await
        .unwrap();
    let record = env
        .store
        .vault
        .get(&c.credential_id)
        .await
        .unwrap()
        .unwrap();
    assert!(env.store.data_key(&mine("alice")).await.unwrap().is_some());
    env.owner.user_delete(&handle("alice")).await.unwrap();
    assert!(env.store.data_key(&mine("alice")).await.unwrap().is_none());
    assert!(env
        .store
        .vault
        .get(&c.credential_id)
        .await
        .unwrap()
        .is_none());
    assert!(env.store.vault_names.keys().await.unwrap().is_empty());
    // Even with the record's ciphertext kept aside, nothing opens it any more.
    let vault = roster::vault::Vault::from_key_file(&env.key_file).unwrap();
    let r = vault
        .decrypt(
            &env.store,
            &mine("alice"),
            &record.value.credential_id,
            &record.value.value,
        )
        .await;
    assert!(
        matches!(r, Err(roster::vault::VaultError::DataKeyGone(_))),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_expiring_is_published_exactly_once_with_two_workers() {
    let env = vaulted(2, |a| {
        a.credential_sweep_secs = 1;
        a.credential_expiring_days = 7;
    })
    .await;
    let mut s = spec(mine("root"), "github", "expiring");
    s.expires_at = Some(in_hours(8 * 24, &env));
    let c = env
        .owner
        .credential_create(&s, "expiring-soon-value")
        .await
        .unwrap();
    let mut later = spec(mine("root"), "github", "later");
    later.expires_at = Some(in_hours(30 * 24, &env));
    env.owner
        .credential_create(&later, "much-later-value")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let count = |env: &Vaulted| {
        let audit = env.audit.clone();
        async move {
            audit
                .read_all()
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.action == "credential.expiring")
                .collect::<Vec<_>>()
        }
    };
    assert!(count(&env).await.is_empty(), "eight days out: not yet");
    env.advance_clock(Duration::from_secs(2 * 24 * 3600));
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while count(&env).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no credential.expiring"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Both workers sweep every second: give them several rounds.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let events = count(&env).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].target.id, c.credential_id.as_str());
    assert_eq!(events[0].actor.id, "system");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_python_client_seals_creates_reveals_and_opens() {
    let env = vaulted(1, |_| {}).await;
    let invite = env.invite("pyvault", Role::Member).await;
    let secret = "py-independent-secret-7741";
    let envs = vec![
        ("ROSTER_INVITE", invite),
        ("ROSTER_SECRET", secret.to_owned()),
    ];
    let seen = run_python("vault_client.py", env.server.url(), envs).await;
    assert_eq!(seen["registered"], "pyvault");
    assert!(seen.get("create_error").is_none(), "{seen}");
    assert_eq!(seen["masked_value"], "••••7741");
    assert_eq!(seen["misbound_code"], "bad_request");
    assert_eq!(seen["revealed_matches"], true);
    assert_eq!(seen["bound_to_id"], true);
    assert_eq!(
        seen["reveal_keys"],
        serde_json::json!(["credential_id", "value"])
    );
    // And the Rust side reads the same record.
    let id = CredentialId::parse(seen["credential_id"].as_str().unwrap()).unwrap();
    let rec = env.store.vault.get(&id).await.unwrap().unwrap();
    assert_eq!(rec.value.owner.unwrap().as_str(), "pyvault");
    env.assert_not_stored(&format!("xxxx{secret}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_plaintext_value_is_in_any_kv_value_either_stream_or_the_log() {
    let env = vaulted(1, |_| {}).await;
    let alice = env.user("alice", Role::Member).await;
    let secrets = [
        "plain-user-secret-0001",
        "plain-tenant-secret-0002",
        "plain-system-secret-0003",
        "plain-rotated-secret-0004",
    ];
    let a = alice
        .credential_create(&spec(mine("alice"), "github", "a"), secrets[0])
        .await
        .unwrap();
    let t = env
        .owner
        .credential_create(&spec(default_tenant(), "aws", "t"), secrets[1])
        .await
        .unwrap();
    let s = env
        .owner
        .credential_create(&spec(CredentialHolder::System, "smtp", "s"), secrets[2])
        .await
        .unwrap();
    alice.credential_reveal(&a.credential_id).await.unwrap();
    env.owner.credential_reveal(&t.credential_id).await.unwrap();
    env.owner.credential_reveal(&s.credential_id).await.unwrap();
    alice
        .credential_rotate(&a.credential_id, secrets[3], None)
        .await
        .unwrap();
    alice.credential_reveal(&a.credential_id).await.unwrap();
    KeyFile::rotate(&env.key_file, "2026-02-01T00:00:00Z").unwrap();
    env.owner.credential_rewrap().await.unwrap();
    // A refusal too (a reader who may not reveal).
    let reader = user_with(&env, "reader", "cred reader", &["credential:read"]).await;
    let _ = reader.credential_reveal(&t.credential_id).await;

    let dump = env.kv_dump().await;
    let audit = env.audit_events().await;
    let security = env.security_events().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
    assert!(
        log.contains("request"),
        "the log was captured at trace level"
    );
    for secret in secrets {
        let hexed = hex::encode(secret);
        for (b, k, v) in &dump {
            let text = v.to_string();
            assert!(
                !text.contains(secret) && !text.contains(&hexed),
                "{secret} in {b}/{k}"
            );
        }
        for e in audit.iter().chain(&security) {
            let text = serde_json::to_string(e).unwrap();
            assert!(!text.contains(secret), "{secret} in event {}", e.action);
        }
        assert!(
            !log.contains(secret) && !log.contains(&hexed),
            "{secret} in the log"
        );
    }
    env.check_kv_schemas().await;
}

#[tokio::test]
async fn roster_check_finds_nothing_wrong_with_a_healthy_vault_and_names_a_missing_data_key() {
    let env = vaulted(1, |_| {}).await;
    let alice = env.user("alice", Role::Member).await;
    alice
        .credential_create(&spec(mine("alice"), "github", "a"), "alice-value-9")
        .await
        .unwrap();
    env.owner
        .credential_create(&spec(default_tenant(), "aws", "t"), "tenant-value-9")
        .await
        .unwrap();
    let report = roster::check::check(&env.store, &env.audit).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(
        (
            report.vault_credentials,
            report.vault_names,
            report.vault_keys
        ),
        (2, 2, 2)
    );
    // A data key gone from under its credential is a problem `roster check` names.
    env.store.vault_keys.remove(&mine("alice")).await.unwrap();
    let report = roster::check::check(&env.store, &env.audit).await.unwrap();
    let kinds: Vec<&str> = report.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, vec!["credential_without_data_key"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restored_elsewhere_reveals_with_the_same_key_file() {
    let env = vaulted(1, |_| {}).await;
    let c = env
        .owner
        .credential_create(&spec(mine("root"), "github", "kept"), "backed-up-value-1")
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("backup");
    let js = async_nats::jetstream::new(env.nats().clone());
    roster::backup::backup(&js, &env.cfg, &dir, &mut |_| {})
        .await
        .unwrap();
    let fresh = roster::natsd::NatsServer::start(roster::natsd::ServerOptions::default())
        .await
        .unwrap();
    let args = WorkerArgs {
        vault_key_file: Some(env.key_file.clone()),
        ..WorkerArgs::default()
    };
    let settings = roster::app::Settings::for_server(&fresh, &args).unwrap();
    let conn = async_nats::connect(fresh.url()).await.unwrap();
    let fresh_js = async_nats::jetstream::new(conn.clone());
    let opts = roster::backup::RestoreOptions {
        force: false,
        replicas: None,
    };
    roster::backup::restore(&fresh_js, &settings.worker, &dir, opts, &mut |_| {})
        .await
        .unwrap();
    let app = Box::pin(roster::app::App::build(&settings, "test-worker"))
        .await
        .unwrap();
    common::until_serving(&conn).await;
    let k = env.owner.keys();
    let owner = RosterClient::new(
        conn,
        "roster",
        roster::crypto::KeyPairs::from_secrets(&k.sign_seed(), &k.kex_secret()),
    );
    assert_eq!(
        owner
            .credential_reveal(&c.credential_id)
            .await
            .unwrap()
            .as_str(),
        "backed-up-value-1"
    );
    Box::pin(app.run_until(async {})).await.unwrap();
}
