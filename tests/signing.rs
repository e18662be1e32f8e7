//! Signed requests (PROTOCOL §3): bad, stale and replayed requests are refused, and the
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose
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
            "Ed25519 is deterministic"
        );
        let key = SignKey::parse(&s("Roster-Key")).unwrap();
        assert!(crypto::verify_request(&key.to_hex(), &bytes, &s("Roster-Sig")).is_ok());
        let mut flipped = bytes.clone();
        flipped[12] ^= 1;
        assert!(crypto::verify_request(&key.to_hex(), &flipped, &s("Roster-Sig")).is_err());
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
    let subject = c.subject(Endpoint::UserList);
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
    let other = c.subject(Endpoint::InviteList);
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

    // Refusals that matter are audited, without request content.
    let events = env.audit_events().await;
    assert!(events
        .iter()
        .any(|e| e.action == "user.list" && e.metadata["code"] == "invalid_signature"));
    assert!(events
        .iter()
        .any(|e| e.action == "user.list" && e.metadata["code"] == "replayed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_protection_holds_across_workers() {
    let env = TestEnv::with_workers(2).await;
    let c = &env.owner;
    let subject = c.subject(Endpoint::UserList);
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
async fn racing_requests_are_checked_in_batches_and_a_bad_signature_fails_only_itself() {
    let env = TestEnv::start().await;
    let c = &env.owner;
    let subject = c.subject(Endpoint::UserList);
    // Every fifth request's body differs from the signed one: its signature fails the
    // equation (not a parse check), so it reaches a batch and makes that batch fail.
    let mut tasks = Vec::new();
    for i in 0..300 {
        let c = c.clone();
        let subject = subject.clone();
        tasks.push(tokio::spawn(async move {
            let h = c.sign_headers(&subject, b"{}");
            let body: &[u8] = if i % 5 == 0 { br#"{"limit":5}"# } else { b"{}" };
            let code = c
                .send_raw(&subject, h, Bytes::copy_from_slice(body))
                .await
                .unwrap()
                .error_code()
                .unwrap_or_else(|| "ok".into());
            (i, code)
        }));
    }
    for t in tasks {
        let (i, code) = t.await.unwrap();
        let want = if i % 5 == 0 {
            "invalid_signature"
        } else {
            "ok"
        };
        assert_eq!(code, want, "request {i}");
    }
    let stats = env
        .nats()
        .request("$SRV.STATS.roster", Bytes::new())
        .await
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&stats.payload).unwrap();
    let sigs = &stats["endpoints"][0]["data"]["signatures"];
    println!("signature checks: {sigs}");
    let n = |k: &str| sigs[k].as_u64().unwrap();
    assert!(
        n("batches") > 0,
        "300 racing requests formed no batch: {sigs}"
    );
    assert!(
        n("batch_failures") > 0,
        "no batch held a bad signature: {sigs}"
    );
    assert!(n("inline") + n("batched") >= 300);
}
