//! API keys (PROTOCOL §9) against a real nats-server: create/list/get with the secret
//! shown once and never stored, every `apikey.verify` code, `Roster-Api-Key` requests
//! acting with exactly the key's scopes, roll with grace and inherited expiry, the key as
//! a NATS connect token (revoke closes it within a second), and one Argon2 run per key
//! and worker under 500 concurrent verifications.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{event, no_event_within, watched_with, TestEnv};
use roster::authz::Permission;
use roster::client::{ClientError, RosterClient};
use roster::config::WorkerArgs;
use roster::crypto::{KeyPairs, Secret};
use roster::domain::{ApiKeyName, Role, Tenant};
use roster::wire::admin::{
    ApiKeyCreateRequest, ApiKeyListRequest, ApiKeyRollRequest, ApiKeyVerifyRequest, GraceSecs,
    SiteListRequest, VerifyCode,
};
use roster::wire::{Command, Endpoint, ErrorCode};
use serde_json::{json, Value};

fn perms(keys: &[&str]) -> BTreeSet<Permission> {
    keys.iter().map(|k| Permission::parse(k).unwrap()).collect()
}

fn code<T: std::fmt::Debug>(r: Result<T, ClientError>) -> ErrorCode {
    r.expect_err("refused").code().expect("a roster refusal")
}

fn req(name: &str, scopes: &[&str]) -> ApiKeyCreateRequest {
    ApiKeyCreateRequest {
        tenant: None,
        name: ApiKeyName::parse(name).unwrap(),
        scopes: perms(scopes),
        product: None,
        ttl_secs: None,
    }
}

async fn verify(c: &RosterClient, key: &str, scopes: &[&str]) -> (VerifyCode, Option<String>) {
    let r = c
        .apikey_verify(&ApiKeyVerifyRequest {
            key: key.to_owned(),
            scopes: (!scopes.is_empty()).then(|| perms(scopes)),
            product: None,
        })
        .await
        .unwrap();
    assert_eq!(r.valid, r.code == VerifyCode::Valid);
    (r.code, r.key_id.map(|k| k.to_string()))
}

/// A client acting with API key `key` on the test's shared connection.
fn as_key(env: &TestEnv, key: &str) -> RosterClient {
    env.client().with_api_key(key)
}

/// Tenant `t` with enabled products `products`, by the platform owner.
async fn new_tenant(env: &TestEnv, t: &str, products: &[&str]) {
    let ps: serde_json::Map<String, Value> = products
        .iter()
        .map(|p| (p.to_string(), json!({"enabled": true})))
        .collect();
    let body = json!({"tenant": t, "name": format!("Tenant {t}"), "products": ps});
    env.owner
        .call::<_, Value>(Endpoint::Admin(Command::TenantCreate), &body)
        .await
        .unwrap();
}

#[tokio::test]
async fn keys_are_created_shown_once_listed_and_never_stored() {
    let env = TestEnv::start().await;
    let made = env
        .owner
        .apikey_create(&req("CI Bot", &["site:read", "machine:read"]))
        .await
        .unwrap();
    assert!(made.key.starts_with("rak_"));
    assert_eq!(made.apikey.prefix, &made.key[..12]);
    assert!(made.key[4..].starts_with(made.apikey.key_id.as_str()));
    assert_eq!(made.apikey.tenant.as_str(), "default");
    assert_eq!(made.apikey.created_by, "root");
    // The same name in any case is taken in the tenant.
    assert_eq!(
        code(
            env.owner
                .apikey_create(&req("  ci bot ", &["site:read"]))
                .await
        ),
        ErrorCode::Conflict
    );
    // Another tenant may use it.
    new_tenant(&env, "other", &[]).await;
    let mut there = req("ci bot", &["site:read"]);
    there.tenant = Some(Tenant::parse("other").unwrap());
    env.owner.apikey_create(&there).await.unwrap();
    // Bad input changes nothing (but the requests' nonces).
    let records = |d: Vec<(String, String, Value)>| {
        d.into_iter()
            .filter(|(b, _, _)| !b.ends_with("nonces"))
            .count()
    };
    let before = records(env.kv_dump().await);
    for body in [
        json!({"name": "x", "scopes": []}),
        json!({"name": "x", "scopes": ["no:such"]}),
        json!({"name": "", "scopes": ["site:read"]}),
        json!({"name": "x", "scopes": ["tenant:manage"]}),
        json!({"name": "x", "scopes": ["site:read"], "ttl_secs": 0}),
        json!({"name": "x", "scopes": ["site:read"], "product": "nope"}),
        json!({"name": "x", "scopes": ["site:read"], "extra": 1}),
    ] {
        let r = env
            .owner
            .call::<_, Value>(Endpoint::Admin(Command::ApikeyCreate), &body)
            .await;
        assert_eq!(code(r), ErrorCode::BadRequest, "{body}");
    }
    assert_eq!(records(env.kv_dump().await), before);

    let list = env
        .owner
        .apikey_list(&ApiKeyListRequest::default())
        .await
        .unwrap();
    assert_eq!(list.keys.len(), 1, "only the default tenant's");
    let got = env.owner.apikey_get(&made.apikey.key_id).await.unwrap();
    assert_eq!(got, made.apikey);
    let as_json = serde_json::to_string(&got).unwrap();
    assert!(!as_json.contains("phc") && !as_json.contains(&made.key[20..]));
    // The secret is in no KV value and no event; only its Argon2id hash is stored.
    let secret_part = &made.key[20..];
    for (b, k, v) in env.kv_dump().await {
        assert!(!v.to_string().contains(secret_part), "secret in {b}/{k}");
    }
    for ev in env.audit_events().await {
        assert!(!serde_json::to_string(&ev).unwrap().contains(secret_part));
    }
    assert!(env
        .kv_dump()
        .await
        .iter()
        .any(|(b, _, v)| b.ends_with("apikeys")
            && v["phc"].as_str().unwrap().starts_with("$argon2id$")));
    let created = env
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "apikey.created")
        .count();
    assert_eq!(created, 2);
    assert!(env.check_kv_schemas().await > 0);
}

#[tokio::test]
async fn nobody_grants_a_key_what_they_do_not_hold() {
    let env = TestEnv::start().await;
    let op = env.user("oper", Role::Operator).await;
    // An operator holds no apikey:manage at all.
    assert_eq!(
        code(op.apikey_create(&req("x", &["site:read"])).await),
        ErrorCode::Forbidden
    );
    // A custom role with apikey:manage but not user:delete cannot mint a key with it.
    let role =
        json!({"name": "Key Maker", "permissions": ["apikey:manage", "apikey:read", "site:read"]});
    env.owner
        .call::<_, Value>(Endpoint::Admin(Command::RoleCreate), &role)
        .await
        .unwrap();
    let maker = env.user("maker", Role::Member).await;
    let assign = json!({"handle": "maker", "role": "key maker"});
    env.owner
        .call::<_, Value>(Endpoint::Admin(Command::UserAssign), &assign)
        .await
        .unwrap();
    assert_eq!(
        code(
            maker
                .apikey_create(&req("x", &["site:read", "user:delete"]))
                .await
        ),
        ErrorCode::Forbidden
    );
    maker
        .apikey_create(&req("x", &["site:read"]))
        .await
        .unwrap();
}

#[tokio::test]
async fn verify_answers_every_code() {
    let args = WorkerArgs {
        enroll_fail_limit: 3,
        ..WorkerArgs::default()
    };
    let env = TestEnv::with_args(1, args).await;
    let o = &env.owner;
    let k = o
        .apikey_create(&req("svc", &["site:read", "machine:read"]))
        .await
        .unwrap();
    let (c, id) = verify(o, &k.key, &[]).await;
    assert_eq!(
        (c, id.as_deref()),
        (VerifyCode::Valid, Some(k.apikey.key_id.as_str()))
    );
    assert_eq!(verify(o, &k.key, &["site:read"]).await.0, VerifyCode::Valid);
    let (c, id) = verify(o, &k.key, &["site:manage"]).await;
    assert_eq!(c, VerifyCode::InsufficientScope);
    assert!(id.is_some(), "an insufficient key still says which");
    // Malformed, unknown id, wrong secret: all not_found, and none says which key.
    let wrong_secret = {
        let mut s = k.key.clone();
        s.replace_range(20..40, &"a".repeat(20));
        s
    };
    let unknown = roster::crypto::Secret::mint(roster::crypto::SecretKind::ApiKey);
    for bad in [
        "rak_nonsense",
        "cak_x",
        "",
        unknown.expose(),
        wrong_secret.as_str(),
    ] {
        let (c, id) = verify(o, bad, &[]).await;
        assert_eq!((c, id), (VerifyCode::NotFound, None), "{bad:.12}");
    }
    // A typo (bad checksum) is not_found too, not bad_request.
    let typo = format!("{}x", &k.key[..k.key.len() - 1]);
    assert_eq!(verify(o, &typo, &[]).await.0, VerifyCode::NotFound);
    // A wrong secret with a real key id counts against that id: after the limit (3
    // Argon2-checked failures) the id is throttled; the right key still verifies from
    // the cache (a key that verified is never throttled).
    let victim = o
        .apikey_create(&req("victim", &["site:read"]))
        .await
        .unwrap();
    // A well-formed key for the same id with another secret.
    let other = roster::crypto::Secret::mint_api_key(victim.apikey.key_id.as_str()).unwrap();
    let bad = other.expose().to_owned();
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(verify(o, &bad, &[]).await.0);
    }
    assert_eq!(codes[..3], [VerifyCode::NotFound; 3], "{codes:?}");
    assert_eq!(codes[3..], [VerifyCode::RateLimited; 2], "{codes:?}");
    // Revoked.
    o.apikey_revoke(&k.apikey.key_id).await.unwrap();
    assert_eq!(verify(o, &k.key, &[]).await.0, VerifyCode::Revoked);
    // Tenant inactive: a frozen tenant's key.
    new_tenant(&env, "frozen", &[]).await;
    let mut fk = req("f", &["site:read"]);
    fk.tenant = Some(Tenant::parse("frozen").unwrap());
    let fk = o.apikey_create(&fk).await.unwrap();
    o.call::<_, Value>(
        Endpoint::Admin(Command::TenantSetStatus),
        &json!({"tenant": "frozen", "status": "frozen"}),
    )
    .await
    .unwrap();
    assert_eq!(verify(o, &fk.key, &[]).await.0, VerifyCode::TenantInactive);
    // A verifier of another tenant learns nothing about this one's keys.
    new_tenant(&env, "elsewhere", &[]).await;
    let mut vk = req("verifier", &["apikey:verify"]);
    vk.tenant = Some(Tenant::parse("elsewhere").unwrap());
    let vk = o.apikey_create(&vk).await.unwrap();
    let outsider = as_key(&env, &vk.key);
    let mut probe = req("probe", &["site:read"]);
    probe.ttl_secs = Some(60);
    let probe = o.apikey_create(&probe).await.unwrap();
    assert_eq!(
        verify(&outsider, &probe.key, &[]).await,
        (VerifyCode::NotFound, None)
    );
    assert_eq!(
        verify(&outsider, &fk.key, &[]).await,
        (VerifyCode::NotFound, None)
    );
    // Expired: past its ttl (the clock moves; the verifier is an API key, so no request
    // timestamp goes stale).
    let mut dk = req("default-verifier", &["apikey:verify"]);
    dk.tenant = None;
    let dk = o.apikey_create(&dk).await.unwrap();
    let verifier = as_key(&env, &dk.key);
    let plain = o
        .apikey_create(&req("plain", &["site:read"]))
        .await
        .unwrap();
    assert_eq!(
        verify(&verifier, &probe.key, &[]).await.0,
        VerifyCode::Valid
    );
    env.advance_clock(Duration::from_secs(61));
    assert_eq!(
        verify(&verifier, &probe.key, &[]).await.0,
        VerifyCode::Expired
    );
    // The victim's id is throttled for a key that never verified here, even the right
    // one (the throttle is per key id).
    assert_eq!(
        code(
            as_key(&env, &victim.key)
                .site_list(&Default::default())
                .await
        ),
        ErrorCode::RateLimited
    );
    // A requester without apikey:verify is forbidden.
    let member = env.client().with_api_key(&plain.key);
    assert_eq!(
        code(
            member
                .apikey_verify(&ApiKeyVerifyRequest {
                    key: probe.key.clone(),
                    scopes: None,
                    product: None
                })
                .await
        ),
        ErrorCode::Forbidden
    );
}

#[tokio::test]
async fn a_key_acts_with_exactly_its_scopes_in_its_tenant() {
    let env = TestEnv::start().await;
    env.site("SITE-A", roster::domain::Policy::Auto).await;
    let k = env
        .owner
        .apikey_create(&req("reader", &["site:read"]))
        .await
        .unwrap();
    let c = as_key(&env, &k.key);
    let sites = c.site_list(&SiteListRequest::default()).await.unwrap();
    assert_eq!(sites.sites.len(), 1);
    // Not in its scopes.
    let create = json!({"site": "SITE-B", "policy": "auto"});
    assert_eq!(
        code(
            c.call::<_, Value>(Endpoint::Admin(Command::SiteCreate), &create)
                .await
        ),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(
            c.call::<_, Value>(Endpoint::Admin(Command::UserList), &json!({}))
                .await
        ),
        ErrorCode::Forbidden
    );
    // Not in another tenant.
    new_tenant(&env, "other", &[]).await;
    let there = json!({"tenant": "other"});
    let r: Value = c
        .call(Endpoint::Admin(Command::SiteList), &there)
        .await
        .unwrap_or_else(|_| json!({"sites": []}));
    assert_eq!(r["sites"].as_array().map(Vec::len), Some(0));
    // A key with apikey:manage creates keys in its tenant and names itself the creator.
    let mgr = env
        .owner
        .apikey_create(&req(
            "manager",
            &["apikey:manage", "apikey:read", "site:read"],
        ))
        .await
        .unwrap();
    let m = as_key(&env, &mgr.key);
    let child = m
        .apikey_create(&req("child", &["site:read"]))
        .await
        .unwrap();
    assert_eq!(
        child.apikey.created_by,
        format!("apikey:{}", mgr.apikey.key_id)
    );
    assert_eq!(
        code(m.apikey_create(&req("greedy", &["user:delete"])).await),
        ErrorCode::Forbidden
    );
    let ev = env
        .audit_events()
        .await
        .into_iter()
        .find(|e| e.action == "apikey.created" && e.target.id == child.apikey.key_id.as_str())
        .unwrap();
    assert_eq!(ev.actor.id, mgr.apikey.key_id.as_str());
    // Register, enroll and whoami need signatures; a revoked key is unauthorized.
    assert_eq!(
        code(c.call::<_, Value>(Endpoint::Whoami, &json!({})).await),
        ErrorCode::Unauthorized
    );
    env.owner.apikey_revoke(&k.apikey.key_id).await.unwrap();
    assert_eq!(
        code(c.site_list(&SiteListRequest::default()).await),
        ErrorCode::Unauthorized
    );
    assert_eq!(
        code(
            as_key(&env, "rak_garbage")
                .site_list(&SiteListRequest::default())
                .await
        ),
        ErrorCode::Unauthorized
    );
}

#[tokio::test]
async fn a_rolled_key_keeps_its_expiry_and_the_old_secret_lives_out_its_grace() {
    let env = TestEnv::start().await;
    let o = &env.owner;
    let mut r = req("rolling", &["site:read"]);
    r.ttl_secs = Some(3600);
    let a = o.apikey_create(&r).await.unwrap();
    // Keys act after the clock moves (a signed request would be stale then).
    let dk = o
        .apikey_create(&req("verifier", &["apikey:verify"]))
        .await
        .unwrap();
    let verifier = as_key(&env, &dk.key);
    let mk = o
        .apikey_create(&req(
            "roller",
            &["apikey:manage", "apikey:read", "site:read"],
        ))
        .await
        .unwrap();
    let roller = as_key(&env, &mk.key);
    let roll = |key_id: &roster::domain::ApiKeyId, grace: Option<u64>| ApiKeyRollRequest {
        key_id: key_id.clone(),
        grace_secs: grace.map(|g| GraceSecs::try_from(g).unwrap()),
    };
    let b = o
        .apikey_roll(&roll(&a.apikey.key_id, Some(30)))
        .await
        .unwrap();
    assert_ne!(b.key, a.key);
    assert_eq!(b.apikey.key_id, a.apikey.key_id);
    assert_eq!(b.apikey.expires_at, a.apikey.expires_at, "never later");
    assert_eq!(b.apikey.scopes, a.apikey.scopes);
    assert!(b.apikey.previous_valid_until.is_some());
    assert_eq!(verify(&verifier, &a.key, &[]).await.0, VerifyCode::Valid);
    assert_eq!(verify(&verifier, &b.key, &[]).await.0, VerifyCode::Valid);
    env.advance_clock(Duration::from_secs(31));
    assert_eq!(verify(&verifier, &a.key, &[]).await.0, VerifyCode::Expired);
    assert_eq!(verify(&verifier, &b.key, &[]).await.0, VerifyCode::Valid);
    // No grace: the old secret ends at once; the expiry is still the first one's.
    let c = roller
        .apikey_roll(&roll(&a.apikey.key_id, None))
        .await
        .unwrap();
    assert_eq!(verify(&verifier, &b.key, &[]).await.0, VerifyCode::Expired);
    assert_eq!(verify(&verifier, &c.key, &[]).await.0, VerifyCode::Valid);
    assert_eq!(verify(&verifier, &a.key, &[]).await.0, VerifyCode::NotFound);
    assert_eq!(c.apikey.expires_at, a.apikey.expires_at);
    // A grace past the key's expiry ends with the key (a rolled trial key keeps its end).
    let mut short = req("trial", &["site:read"]);
    short.ttl_secs = Some(60);
    let t = roller.apikey_create(&short).await.unwrap();
    let t2 = roller
        .apikey_roll(&roll(&t.apikey.key_id, Some(3600)))
        .await
        .unwrap();
    assert_eq!(t2.apikey.expires_at, t.apikey.expires_at);
    assert_eq!(t2.apikey.previous_valid_until, t.apikey.expires_at);
    // A revoked key does not roll.
    roller.apikey_revoke(&t.apikey.key_id).await.unwrap();
    assert_eq!(
        code(roller.apikey_roll(&roll(&t.apikey.key_id, None)).await),
        ErrorCode::Conflict
    );
    let rolled: Vec<_> = env
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "apikey.rolled")
        .collect();
    assert_eq!(rolled.len(), 3);
    assert_eq!(rolled[0].metadata["grace_secs"], 30);
}

#[tokio::test]
async fn a_key_is_a_bus_credential_and_revoke_closes_it_within_a_second() {
    let env = TestEnv::with_callout().await;
    new_tenant(&env, "tee", &["pp"]).await;
    let mut r = req("bus", &["site:read"]);
    r.tenant = Some(Tenant::parse("tee").unwrap());
    let k = env.owner.apikey_create(&r).await.unwrap();
    let inbox = format!("_INBOX.apikey.{}", k.apikey.key_id);
    let opts =
        || async_nats::ConnectOptions::with_token(k.key.clone()).custom_inbox_prefix(inbox.clone());
    let (conn, mut events) = watched_with(&env, opts()).await.unwrap();
    conn.publish("app.tee.pp.x", Bytes::from_static(b"ok"))
        .await
        .unwrap();
    conn.flush().await.unwrap();
    assert!(
        no_event_within(
            &mut events,
            "permissions violation",
            Duration::from_millis(500)
        )
        .await,
        "its tenant's product"
    );
    conn.publish("app.other.pp.x", Bytes::from_static(b"no"))
        .await
        .unwrap();
    assert!(event(&mut events, "permissions violation").await.is_some());
    // The key on its own connection acts as itself (Roster-Api-Key over the token
    // connection).
    let c = RosterClient::new(conn.clone(), "roster", KeyPairs::generate()).with_api_key(&k.key);
    let sites: Value = c
        .call(
            Endpoint::Admin(Command::SiteList),
            &json!({"tenant": "tee"}),
        )
        .await
        .unwrap();
    assert!(sites["sites"].is_array());
    // A wrong key is refused at connect.
    let other = roster::crypto::Secret::mint_api_key(k.apikey.key_id.as_str()).unwrap();
    let refused = async_nats::ConnectOptions::with_token(other.expose().to_owned())
        .max_reconnects(1)
        .connect(env.server.url())
        .await;
    assert!(refused.is_err(), "a wrong secret is not admitted");
    // Revoke: the connection closes within a second, its reconnect is refused.
    env.owner.apikey_revoke(&k.apikey.key_id).await.unwrap();
    let replied = Instant::now();
    let gone = event(&mut events, "disconnected").await.expect("closed");
    assert!(gone <= replied + Duration::from_secs(1));
    assert!(event(&mut events, "authorization violation")
        .await
        .is_some());
    let evicted = env
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "apikey.evicted")
        .count();
    assert_eq!(evicted, 1);
}

#[tokio::test]
async fn one_argon2_run_per_key_and_worker_under_500_concurrent_verifications() {
    let env = TestEnv::with_workers(2).await;
    let k = env
        .owner
        .apikey_create(&req("hot", &["apikey:verify", "site:read"]))
        .await
        .unwrap();
    let before = env.argon2_runs();
    let verifier = as_key(&env, &k.key);
    let mut tasks = Vec::new();
    for _ in 0..500 {
        let v = verifier.clone();
        let key = k.key.clone();
        tasks.push(tokio::spawn(async move {
            v.apikey_verify(&ApiKeyVerifyRequest {
                key,
                scopes: None,
                product: None,
            })
            .await
            .unwrap()
            .code
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), VerifyCode::Valid);
    }
    // Each request checks the requester's key and the verified key (the same one): at
    // most one Argon2 run per worker in all.
    let runs = env.argon2_runs() - before;
    assert!((1..=2).contains(&runs), "{runs} Argon2 runs");
    // last_used_at was written, at most once a minute per worker.
    let got = env.owner.apikey_get(&k.apikey.key_id).await.unwrap();
    let mut tries = 0;
    let mut got = got;
    while got.last_used_at.is_none() && tries < 20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        got = env.owner.apikey_get(&k.apikey.key_id).await.unwrap();
        tries += 1;
    }
    assert!(got.last_used_at.is_some());
}

#[tokio::test]
async fn expiry_and_the_end_of_a_rolls_grace_close_the_connections() {
    let env = TestEnv::with_callout().await;
    let o = &env.owner;
    // A key that expires in 3 s: its connection's user JWT expires with it, so the
    // server closes it then, and the reconnect is refused.
    let mut r = req("short", &["site:read"]);
    r.ttl_secs = Some(3);
    let k = o.apikey_create(&r).await.unwrap();
    let connect = |key: &str, id: &str| {
        async_nats::ConnectOptions::with_token(key.to_owned())
            .custom_inbox_prefix(format!("_INBOX.apikey.{id}"))
    };
    let id = k.apikey.key_id.to_string();
    let (_conn, mut events) = watched_with(&env, connect(&k.key, &id)).await.unwrap();
    let expires = roster::time_util::Timestamp::parse(k.apikey.expires_at.as_deref().unwrap())
        .unwrap()
        .unix_ms();
    let gone = event(&mut events, "disconnected")
        .await
        .expect("closed at expiry");
    let now_ms = roster::time_util::now_ms();
    // The JWT's expiry is in whole seconds, rounded down: the connection closes within
    // the second before the key's expiry, never after it (allowing the server's timer).
    let late_ms = now_ms - (gone.elapsed().as_millis() as i64) - expires;
    assert!(
        (-1200..500).contains(&late_ms),
        "closed {late_ms} ms after its expiry"
    );
    assert!(event(&mut events, "authorization violation")
        .await
        .is_some());

    // A roll with a 2 s grace: connections of the old secret (made before the roll and
    // after it) close when the grace ends; the new secret's connection stays.
    let k = o
        .apikey_create(&req("rolling", &["site:read"]))
        .await
        .unwrap();
    let id = k.apikey.key_id.to_string();
    let (_before, mut before_events) = watched_with(&env, connect(&k.key, &id)).await.unwrap();
    let rolled = o
        .apikey_roll(&ApiKeyRollRequest {
            key_id: k.apikey.key_id.clone(),
            grace_secs: Some(GraceSecs::try_from(2).unwrap()),
        })
        .await
        .unwrap();
    let rolled_at = Instant::now();
    let (_after, mut after_events) = watched_with(&env, connect(&k.key, &id)).await.unwrap();
    let (_new, mut new_events) = watched_with(&env, connect(&rolled.key, &id)).await.unwrap();
    for (what, ev) in [("before", &mut before_events), ("after", &mut after_events)] {
        let at = event(ev, "disconnected").await.expect(what);
        let since = at.duration_since(rolled_at);
        assert!(
            since >= Duration::from_millis(900) && since <= Duration::from_secs(3),
            "{what}: closed {since:?} after the roll"
        );
    }
    assert!(
        no_event_within(&mut new_events, "disconnected", Duration::from_millis(1500)).await,
        "the new secret's connection stays"
    );
}

/// Every log line of this test binary's workers, at trace level (checked for secrets).
fn logs() -> &'static std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> =
        std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = buf.clone();
        // The worker's own filter at its most verbose (`ROSTER_LOG=trace`).
        let filter = roster::cli::capped(tracing_subscriber::EnvFilter::new("trace"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .try_init();
        buf
    })
}

struct LogSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_rak_secret_is_in_any_kv_value_either_stream_or_the_log() {
    logs();
    let env = TestEnv::with_callout().await;
    let o = &env.owner;
    let a = o
        .apikey_create(&req("scan-a", &["site:read", "apikey:verify"]))
        .await
        .unwrap();
    let b = o
        .apikey_roll(&ApiKeyRollRequest {
            key_id: a.apikey.key_id.clone(),
            grace_secs: Some(GraceSecs::try_from(60).unwrap()),
        })
        .await
        .unwrap();
    let c = o
        .apikey_create(&req("scan-c", &["site:read"]))
        .await
        .unwrap();
    // Uses of every kind: verification, requests with the key, a bus connection, a wrong
    // secret for a real id, a refused request.
    let as_a = as_key(&env, &b.key);
    assert_eq!(verify(&as_a, &c.key, &[]).await.0, VerifyCode::Valid);
    assert_eq!(verify(o, &a.key, &[]).await.0, VerifyCode::Valid);
    let wrong = Secret::mint_api_key(c.apikey.key_id.as_str()).unwrap();
    assert_eq!(verify(o, wrong.expose(), &[]).await.0, VerifyCode::NotFound);
    let _ = as_key(&env, wrong.expose())
        .site_list(&SiteListRequest::default())
        .await;
    let _ = as_key(&env, &c.key)
        .call::<_, Value>(Endpoint::Admin(Command::UserList), &json!({}))
        .await;
    let opts = async_nats::ConnectOptions::with_token(c.key.clone())
        .custom_inbox_prefix(format!("_INBOX.apikey.{}", c.apikey.key_id));
    let (_conn, _events) = watched_with(&env, opts).await.unwrap();
    let _ = async_nats::ConnectOptions::with_token(wrong.expose().to_owned())
        .max_reconnects(1)
        .connect(env.server.url())
        .await;
    o.apikey_revoke(&c.apikey.key_id).await.unwrap();

    let dump = env.kv_dump().await;
    let audit = env.audit_events().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let security = env.security_events().await;
    let log = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
    assert!(
        log.contains("apikey"),
        "the log was captured at trace level"
    );
    for key in [&a.key, &b.key, &c.key, &wrong.expose().to_owned()] {
        // The part after the key id is the secret (the id is shown and logged).
        let secret = &key[20..];
        for (bucket, k, v) in &dump {
            assert!(!v.to_string().contains(secret), "a secret in {bucket}/{k}");
        }
        for e in audit.iter().chain(&security) {
            let text = serde_json::to_string(e).unwrap();
            assert!(!text.contains(secret), "a secret in event {}", e.action);
        }
        let leaked: Vec<String> = log
            .lines()
            .filter(|l| l.contains(secret))
            .map(|l| l.replace(secret, "<SECRET>"))
            .collect();
        assert!(leaked.is_empty(), "a secret in the log: {leaked:#?}");
    }
}
