//! An independent client, written in Python from PROTOCOL.md §3, §5 and §6 alone (libsodium
//! through PyNaCl signs, nats-py connects), works against a real worker on the callout
//! bus: it registers over the onboarding lane with Ed25519ph, is refused for a pure
//! Ed25519 signature of the same bytes, reconnects as its identity and signs admin
//! commands; its refusals are counted in the security stream under its connection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use common::{run_python, TestEnv};
use roster::domain::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_python_client_follows_the_protocol_as_written() {
    let env = TestEnv::with_callout().await;
    let invite = env.invite("pyadmin", Role::Admin).await;
    let seen = run_python(
        "client.py",
        env.server.url(),
        vec![("ROSTER_INVITE", invite)],
    )
    .await;

    // §3: a pure Ed25519 signature is refused with the documented code and header.
    assert_eq!(seen["pure_code"], "invalid_signature");
    assert_eq!(seen["pure_status"], "401");
    // Ed25519ph registers; reconnected as the identity, it mints an invite and lists
    // users; an exact re-send is a replay.
    assert_eq!(seen["registered"]["handle"], "pyadmin");
    assert_eq!(seen["registered"]["role"], "admin");
    assert_eq!(seen["invite_created"]["handle"], "bob-indep");
    assert_eq!(seen["token_prefix"], "inv_");
    // A tenant admin lists the tenant's users (itself), not the platform owner.
    assert!(seen["listed"].as_u64().unwrap() >= 1);
    assert_eq!(seen["replay_code"], "replayed");
    // §5: the refused pure signature is a stranger's, counted under its connection.
    let nkey = seen["nkey"].as_str().unwrap().to_owned();
    let ev = env
        .wait_security(|e| e.action == "user.register" && e.source.as_deref() == Some(&nkey))
        .await;
    assert_eq!(ev.metadata["code"], "invalid_signature");
    assert_eq!(ev.metadata["count"], 1);
}
