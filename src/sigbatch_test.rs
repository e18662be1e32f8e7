//! Unit tests of `sigbatch` (no bus: the checker is plain CPU work and a queue).

use std::future::Future;
use std::task::Context;
use std::time::Duration;

use super::*;
use crate::crypto::KeyPairs;

/// A signature over `msg` by fresh keys; `good = false` signs something else.
fn sig(msg: &[u8], good: bool) -> PreparedSig {
    let k = KeyPairs::generate();
    let signed = if good {
        msg.to_vec()
    } else {
        b"other".to_vec()
    };
    PreparedSig::parse(&k.sign_pub().to_hex(), msg, &k.sign_hex(&signed)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_checks_batch_and_each_gets_its_own_answer() {
    let b = SigBatcher::new();
    let mut tasks = Vec::new();
    for i in 0..200usize {
        let b = b.clone();
        let s = sig(format!("m{i}").as_bytes(), i % 7 != 3);
        tasks.push(tokio::spawn(async move { (i, b.verify(s).await) }));
    }
    for t in tasks {
        let (i, ok) = t.await.unwrap();
        assert_eq!(ok, Some(i % 7 != 3), "signature {i}");
    }
    let st = b.stats();
    assert_eq!(st.inline + st.batched, 200);
    assert!(st.batches > 0, "200 racing checks formed no batch: {st:?}");
    assert!(
        st.batch_failures > 0,
        "no batch held a bad signature: {st:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_check_dropped_half_way_hands_the_queue_on() {
    let b = SigBatcher::new();
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    {
        // The first check takes `busy` and stops at its yield; a second one queues.
        let mut first = Box::pin(b.verify(sig(b"first", true)));
        assert!(first.as_mut().poll(&mut cx).is_pending());
        let second = tokio::spawn({
            let b = b.clone();
            async move { b.verify(sig(b"second", true)).await }
        });
        tokio::task::yield_now().await; // the second one queues behind `busy`
        assert_eq!(b.lock().queue.len(), 1);
        // Dropping the first (its request went away) must not strand the second.
        drop(first);
        let got = tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("the queued check was stranded")
            .unwrap();
        assert_eq!(got, Some(true));
    }
    // Idle again once the leader task has finished its round.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!b.lock().busy);
    assert!(b.lock().queue.is_empty());
    assert_eq!(b.verify(sig(b"third", true)).await, Some(true));
    assert_eq!(b.verify(sig(b"fourth", false)).await, Some(false));
}

#[tokio::test(flavor = "current_thread")]
async fn the_leader_task_ends_with_its_checker() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let b = SigBatcher::new();
    assert_eq!(
        metrics.num_alive_tasks(),
        before + 1,
        "the leader task runs"
    );
    assert_eq!(b.verify(sig(b"x", true)).await, Some(true));
    drop(b);
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(metrics.num_alive_tasks(), before, "the leader task ended");
}
