//! Signed requests (PROTOCOL §3): bad, stale and replayed requests are refused, and the
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]
//! worker's signature check agrees with the independent test vectors.

mod common;

use bytes::Bytes;
use common::TestEnv;
use roster::crypto;
use roster::domain::SignKey;
use roster::handlers::Endpoint;
use roster::time_util::now_ms;

fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("data/test-vectors.json")).unwrap()
}

#[test]
fn signatures_match_the_independent_vectors() {
    for v in vectors()["signed_requests"].as_array().unwrap() {
        let s = |k: &str| v[k].as_str().unwrap().to_owned();
        let bytes = crypto::signed_bytes(
            &s("subject"),
            &s("Roster-Ts"),
            &s("Roster-Nonce"),
            s("body_utf8").as_bytes(),
        );
        assert_eq!(hex::encode(&bytes), s("signed_bytes_hex"));
        let mut seed = [0u8; 32];
        hex::decode_to_slice(s("ed25519_seed"), &mut seed).unwrap();
        let kp = crypto::KeyPairs::from_secrets(&seed, &[1u8; 32]);
        assert_eq!(kp.sign_pub().to_hex(), s("Roster-Key"));
        assert_eq!(
            kp.sign_hex(&bytes),
            s("Roster-Sig"),
            "Ed25519ph is deterministic: libsodium made the same signature"
        );
        let key = SignKey::parse(&s("Roster-Key")).unwrap();
        assert!(crypto::verify_request(&key.to_hex(), &bytes, &s("Roster-Sig")).is_ok());
        assert_eq!(
            crypto::verify_request(
                &key.to_hex(),
                &bytes,
                &s("pure_ed25519_sig_must_be_refused")
            ),
            Err(crypto::SignatureCheck::BadSignature),
            "a pure Ed25519 signature of the same bytes is refused"
        );
        let mut flipped = bytes.clone();
        flipped[12] ^= 1;
        assert!(crypto::verify_request(&key.to_hex(), &flipped, &s("Roster-Sig")).is_err());
    }
}

#[test]
fn the_rfc_8032_ed25519ph_vector_holds() {
    let v = &vectors()["rfc8032_ed25519ph"];
    let h = |k: &str| hex::decode(v[k].as_str().unwrap()).unwrap();
    let seed: [u8; 32] = h("secret").try_into().unwrap();
    let kp = crypto::KeyPairs::from_secrets(&seed, &[1u8; 32]);
    assert_eq!(kp.sign_pub().to_hex(), v["public"].as_str().unwrap());
    let msg = h("message_hex");
    let sig = kp.sign_hex(&msg);
    assert_eq!(sig, v["signature"].as_str().unwrap());
    assert!(crypto::verify_request(v["public"].as_str().unwrap(), &msg, &sig).is_ok());
}

/// An Ed25519ph signature that only the key's holder can make, with a small-order point
/// `T` added to `R`: `[s]B = R − T + [k]A`, so the cofactored equation holds and the
/// strict (cofactorless) one does not. The batch check that used to run under load
/// accepted such signatures; `torsion` 0 gives an honest signature (the construction's
/// own check).
fn holder_sig_with_torsion_in_r(seed: &[u8; 32], msg: &[u8], torsion: usize) -> String {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
    use curve25519_dalek::scalar::Scalar;
    use rand::RngCore;
    use sha2::{Digest, Sha512};
    let h = Sha512::digest(seed);
    let mut a = [0u8; 32];
    a.copy_from_slice(&h[..32]);
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a);
    let public = (B * a).compress();
    let mut wide = [0u8; 64];
    rand::thread_rng().fill_bytes(&mut wide);
    let r = Scalar::from_bytes_mod_order_wide(&wide);
    let big_r = (B * r + EIGHT_TORSION[torsion % 8]).compress();
    let mut k = Sha512::new();
    k.update(b"SigEd25519 no Ed25519 collisions");
    k.update([1u8, 0u8]); // phflag = 1, empty context
    k.update(big_r.as_bytes());
    k.update(public.as_bytes());
    k.update(Sha512::digest(msg));
    let s = r + Scalar::from_hash(k) * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(big_r.as_bytes());
    sig[32..].copy_from_slice(s.as_bytes());
    hex::encode(sig)
}

#[test]
fn a_key_holders_signature_with_a_small_order_component_in_r_is_refused() {
    let kp = crypto::KeyPairs::generate();
    let key = kp.sign_pub().to_hex();
    let msg = crypto::signed_bytes("roster.v1.admin.user.list", "1", &"00".repeat(16), b"{}");
    let honest = holder_sig_with_torsion_in_r(&kp.sign_seed(), &msg, 0);
    assert!(
        crypto::verify_request(&key, &msg, &honest).is_ok(),
        "the construction makes valid signatures without torsion"
    );
    for t in 1..8 {
        for _ in 0..20 {
            let sig = holder_sig_with_torsion_in_r(&kp.sign_seed(), &msg, t);
            assert_eq!(
                crypto::verify_request(&key, &msg, &sig),
                Err(crypto::SignatureCheck::BadSignature),
                "torsion {t}"
            );
        }
    }
}

#[test]
fn low_order_and_weak_keys_are_refused_by_the_parsers() {
    let v = vectors();
    for p in v["bad_keys"]["x25519_low_order_points"].as_array().unwrap() {
        assert!(
            roster::domain::KexKey::parse(p.as_str().unwrap()).is_err(),
            "{p}"
        );
    }
    for p in v["bad_keys"]["ed25519_small_order_keys"]
        .as_array()
        .unwrap()
    {
        assert!(SignKey::parse(p.as_str().unwrap()).is_err(), "{p}");
    }
}

async fn code_of(env: &TestEnv, subject: &str, h: async_nats::HeaderMap, body: &[u8]) -> String {
    env.owner
        .send_raw(subject, h, Bytes::copy_from_slice(body))
        .await
        .unwrap()
        .error_code()
        .unwrap_or_else(|| "ok".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_stale_and_replayed_requests_are_refused() {
    let env = TestEnv::start().await;
    let c = &env.owner;
    let subject = c.subject(Endpoint::Admin(roster::wire::Command::UserList));
    let body = b"{}";

    // A good request works once, and its exact re-send is a replay.
    let h = c.sign_headers(&subject, body);
    assert_eq!(code_of(&env, &subject, h.clone(), body).await, "ok");
    assert_eq!(code_of(&env, &subject, h, body).await, "replayed");

    // Tampered body, wrong subject, missing and garbage signatures.
    let h = c.sign_headers(&subject, body);
    assert_eq!(
        code_of(&env, &subject, h, br#"{"limit":5}"#).await,
        "invalid_signature"
    );
    let other = c.subject(Endpoint::Admin(roster::wire::Command::InviteList));
    let h = c.sign_headers(&other, body);
    assert_eq!(code_of(&env, &subject, h, body).await, "invalid_signature");
    let mut h = c.sign_headers(&subject, body);
    h.insert("Roster-Sig", "00".repeat(64).as_str());
    assert_eq!(code_of(&env, &subject, h, body).await, "invalid_signature");
    let mut h = c.sign_headers(&subject, body);
    h.insert("Roster-Sig", "zz");
    assert_eq!(code_of(&env, &subject, h, body).await, "invalid_signature");
    assert_eq!(
        code_of(&env, &subject, async_nats::HeaderMap::new(), body).await,
        "invalid_signature"
    );

    // Malformed header values.
    let mut h = c.sign_headers(&subject, body);
    h.insert("Roster-Nonce", "xyz");
    assert_eq!(code_of(&env, &subject, h, body).await, "bad_request");
    let mut h = c.sign_headers(&subject, body);
    h.insert("Roster-Ts", "soon");
    assert_eq!(code_of(&env, &subject, h, body).await, "bad_request");

    // Outside the 60 s window, either way.
    for skew in [-61_000i64, 61_000] {
        let h = c.sign_headers_at(&subject, body, now_ms() + skew, &crypto::random_nonce_hex());
        assert_eq!(code_of(&env, &subject, h, body).await, "stale_request");
    }
    // Inside the window is fine.
    let h = c.sign_headers_at(
        &subject,
        body,
        now_ms() - 50_000,
        &crypto::random_nonce_hex(),
    );
    assert_eq!(code_of(&env, &subject, h, body).await, "ok");

    // Refusals that matter are recorded, without request content: the owner's replay
    // is an identity's denial (an audit event); the bad signatures are a stranger's
    // (nobody proved a key), counted in the security stream per minute and source.
    let events = env.audit_events().await;
    assert!(events
        .iter()
        .any(|e| e.action == "user.list" && e.metadata["code"] == "replayed"));
    assert!(!events.iter().any(|e| e
        .metadata
        .get("code")
        .is_some_and(|c| c == "invalid_signature")));
    let is_bad = |e: &roster::audit::AuditEvent| {
        e.action == "user.list" && e.metadata["code"] == "invalid_signature"
    };
    env.wait_security(is_bad).await;
    // The five may straddle two windows; both are flushed a second after they end.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let counted: u64 = env
        .security_events()
        .await
        .iter()
        .filter(|e| is_bad(e))
        .map(|e| e.metadata["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 5, "five bad signatures, counted");
    // Operators read them with audit.query on the security stream.
    let req: roster::wire::admin::AuditQueryRequest =
        serde_json::from_value(serde_json::json!({"stream": "security", "action": "user.list"}))
            .unwrap();
    let read = env.owner.audit_query(&req).await.unwrap();
    assert!(read.events.iter().any(is_bad));
    assert!(read.events.iter().all(|e| e.action == "user.list"));
    // Malformed headers and stale timestamps come before anyone is known: strangers' too.
    for code in ["bad_request", "stale_request"] {
        assert!(
            read.events.iter().any(|e| e.metadata["code"] == code),
            "{code}"
        );
    }
    let audit_side: roster::wire::admin::AuditQueryRequest =
        serde_json::from_value(serde_json::json!({"action": "user.list"})).unwrap();
    let read = env.owner.audit_query(&audit_side).await.unwrap();
    assert!(read.events.iter().all(|e| e.metadata["code"] == "replayed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_protection_holds_across_workers() {
    let env = TestEnv::with_workers(2).await;
    let c = &env.owner;
    let subject = c.subject(Endpoint::Admin(roster::wire::Command::UserList));
    let h = c.sign_headers(&subject, b"{}");
    // Twenty copies of one signed request, spread by the queue group over both workers.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let c = c.clone();
        let (s, h) = (subject.clone(), h.clone());
        tasks.push(tokio::spawn(async move {
            c.send_raw(&s, h, Bytes::from_static(b"{}"))
                .await
                .unwrap()
                .error_code()
        }));
    }
    let mut ok = 0;
    let mut replayed = 0;
    for t in tasks {
        match t.await.unwrap().as_deref() {
            None => ok += 1,
            Some("replayed") => replayed += 1,
            Some(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!((ok, replayed), (1, 19));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_racing_torsion_signatures_are_all_refused_and_honest_ones_pass() {
    let env = TestEnv::start().await;
    let c = &env.owner;
    let subject = c.subject(Endpoint::Admin(roster::wire::Command::UserList));
    let seed = c.keys().sign_seed();
    // The owner's own key signs 200 requests with an order-2 or order-4 component in R
    // (the shape the old batch check accepted under load), and 50 honest ones; all race.
    let mut tasks = Vec::new();
    for i in 0..250usize {
        let c = c.clone();
        let subject = subject.clone();
        let seed = *seed;
        tasks.push(tokio::spawn(async move {
            let ts = now_ms().to_string();
            let nonce = crypto::random_nonce_hex();
            let msg = crypto::signed_bytes(&subject, &ts, &nonce, b"{}");
            let torsion = if i < 200 { [4, 2, 6][i % 3] } else { 0 };
            let mut h = async_nats::HeaderMap::new();
            h.insert("Roster-Key", c.keys().sign_pub().to_hex().as_str());
            h.insert("Roster-Ts", ts.as_str());
            h.insert("Roster-Nonce", nonce.as_str());
            let sig = holder_sig_with_torsion_in_r(&seed, &msg, torsion);
            h.insert("Roster-Sig", sig.as_str());
            let code = c
                .send_raw(&subject, h, Bytes::from_static(b"{}"))
                .await
                .unwrap()
                .error_code()
                .unwrap_or_else(|| "ok".into());
            (i, code)
        }));
    }
    for t in tasks {
        let (i, code) = t.await.unwrap();
        let want = if i < 200 { "invalid_signature" } else { "ok" };
        assert_eq!(code, want, "request {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_nonce_bucket_answers_rate_limited_and_writes_nothing_else() {
    let env = TestEnv::with_args(
        1,
        roster::config::WorkerArgs {
            nonce_max_mib: 1,
            ..Default::default()
        },
    )
    .await;
    let c = env.owner.clone();
    let subject = c.subject(Endpoint::Admin(roster::wire::Command::InviteCreate));
    // Invites are the state these requests would change.
    let invites_before = env.store.invites.keys().await.unwrap().len();
    // A signed request spends ~200 bytes of nonce; a MiB holds about five thousand.
    let mut first_full = None;
    let mut ok = 0usize;
    'outer: for round in 0..40 {
        let mut tasks = Vec::new();
        for i in 0..256 {
            let c = c.clone();
            let subject = subject.clone();
            tasks.push(tokio::spawn(async move {
                let body = format!(r#"{{"handle":"n{round}x{i}","role":"member"}}"#);
                let h = c.sign_headers(&subject, body.as_bytes());
                c.send_raw(&subject, h, Bytes::from(body))
                    .await
                    .unwrap()
                    .error_code()
            }));
        }
        for t in tasks {
            match t.await.unwrap() {
                None => ok += 1,
                Some(code) => {
                    assert_eq!(code, "rate_limited");
                    first_full.get_or_insert(round);
                }
            }
        }
        if first_full.is_some() {
            break 'outer;
        }
    }
    assert!(first_full.is_some(), "the bucket filled");
    println!("nonce bucket of 1 MiB full after {ok} signed requests");
    // Every success made exactly one invite; every refusal made none.
    let invites_after = env.store.invites.keys().await.unwrap().len();
    assert_eq!(invites_after - invites_before, ok);
}
