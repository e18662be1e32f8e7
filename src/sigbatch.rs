//! Request signatures verified one by one when the worker is idle and in batches under
//! load.
//!
//! A request whose signature arrives while no other check runs is verified inline, with
//! no hop (it first yields once, so requests that are ready at the same moment join it).
//! Signatures that arrive while a check runs wait in a queue; when that check ends, the
//! checker's leader task takes them in batches of up to [`MAX_BATCH`] and checks each
//! batch with one multiscalar multiplication ([`crypto::verify_batch`], about half the
//! CPU per signature). A batch that fails is checked one by one with the `verify_strict`
//! equation, so a bad signature never fails a good one. The outcome for each request is
//! what `verify_strict` decides (see [`crypto::verify_batch`] for the one edge case).
//!
//! Whoever holds the `busy` flag holds it through a [`Busy`] guard, so a check that is
//! cancelled half-way (its request task dropped) still hands the queue on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::{oneshot, Notify};

use crate::crypto::{self, PreparedSig};

/// The most signatures checked in one batch (~18–20 µs each on one core).
pub const MAX_BATCH: usize = 32;

type Waiting = (PreparedSig, oneshot::Sender<bool>);

#[derive(Default)]
struct State {
    busy: bool,
    queue: Vec<Waiting>,
}

/// Counters for tests, STATS and the benchmark.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SigStats {
    /// Signatures checked on their own (no other check was waiting).
    pub inline: u64,
    /// Signatures checked in batches of two or more.
    pub batched: u64,
    /// Batches of two or more.
    pub batches: u64,
    /// Batches that failed and were checked one by one.
    pub batch_failures: u64,
}

/// The signature checker of one worker.
pub struct SigBatcher {
    state: Mutex<State>,
    /// Wakes the leader task: the queue is its to drain.
    wake: Arc<Notify>,
    inline: AtomicU64,
    batched: AtomicU64,
    batches: AtomicU64,
    batch_failures: AtomicU64,
}

impl std::fmt::Debug for SigBatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigBatcher")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Drop for SigBatcher {
    fn drop(&mut self) {
        // Lets the leader task see that the checker is gone and end.
        self.wake.notify_one();
    }
}

/// The `busy` flag, held. Dropping it (done or cancelled) clears the flag, or wakes the
/// leader task when signatures queued up meanwhile (the flag then passes to it).
struct Busy<'a>(&'a SigBatcher);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        if st.queue.is_empty() {
            st.busy = false;
        } else {
            drop(st);
            self.0.wake.notify_one();
        }
    }
}

impl SigBatcher {
    /// A checker with an empty queue and its leader task (call inside a tokio runtime).
    pub fn new() -> Arc<Self> {
        let me = Arc::new(Self {
            state: Mutex::default(),
            wake: Arc::new(Notify::new()),
            inline: AtomicU64::new(0),
            batched: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            batch_failures: AtomicU64::new(0),
        });
        tokio::spawn(lead(Arc::downgrade(&me), me.wake.clone()));
        me
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The lock is never held across a check, so a poisoned lock's state is whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The counters so far.
    pub fn stats(&self) -> SigStats {
        SigStats {
            inline: self.inline.load(Ordering::Relaxed),
            batched: self.batched.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            batch_failures: self.batch_failures.load(Ordering::Relaxed),
        }
    }

    /// Verifies one prepared signature; `None` only if its check was dropped unanswered
    /// (the runtime is shutting down).
    pub async fn verify(&self, sig: PreparedSig) -> Option<bool> {
        let waiting = {
            let mut st = self.lock();
            if st.busy {
                let (tx, rx) = oneshot::channel();
                st.queue.push((sig, tx));
                Err(rx)
            } else {
                st.busy = true;
                Ok(sig)
            }
        };
        let sig = match waiting {
            Ok(sig) => sig,
            Err(rx) => return rx.await.ok(),
        };
        let _busy = Busy(self);
        // Let the other requests that are ready to run reach this point too (nothing
        // else is ready on an idle worker, and this returns at once), then check them
        // together with this one.
        tokio::task::yield_now().await;
        let others: Vec<Waiting> = {
            let mut st = self.lock();
            let n = st.queue.len().min(MAX_BATCH - 1);
            st.queue.drain(..n).collect()
        };
        let (mut sigs, replies): (Vec<PreparedSig>, Vec<oneshot::Sender<bool>>) =
            others.into_iter().unzip();
        sigs.insert(0, sig);
        let results = self.check(&sigs);
        answer(replies, &results[1..]);
        results.first().copied()
    }

    /// Checks the queue in batches until it is empty; the caller holds `busy`.
    async fn drain(&self) {
        let _busy = Busy(self);
        loop {
            let batch: Vec<Waiting> = {
                let mut st = self.lock();
                let n = st.queue.len().min(MAX_BATCH);
                st.queue.drain(..n).collect()
            };
            if batch.is_empty() {
                return;
            }
            let (sigs, replies): (Vec<PreparedSig>, Vec<oneshot::Sender<bool>>) =
                batch.into_iter().unzip();
            let results = self.check(&sigs);
            answer(replies, &results);
            // Let the requests just answered (and the connection) run.
            tokio::task::yield_now().await;
        }
    }

    /// Checks `sigs` (one or more): the batch equation first, one by one if it fails.
    fn check(&self, sigs: &[PreparedSig]) -> Vec<bool> {
        if let [one] = sigs {
            self.inline.fetch_add(1, Ordering::Relaxed);
            return vec![one.verify()];
        }
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batched.fetch_add(sigs.len() as u64, Ordering::Relaxed);
        if crypto::verify_batch(sigs) {
            vec![true; sigs.len()]
        } else {
            self.batch_failures.fetch_add(1, Ordering::Relaxed);
            sigs.iter().map(PreparedSig::verify).collect()
        }
    }
}

fn answer(replies: Vec<oneshot::Sender<bool>>, results: &[bool]) {
    for (tx, ok) in replies.into_iter().zip(results) {
        // The request may have gone away (its client timed out); nothing to tell.
        let _ = tx.send(*ok);
    }
}

/// The leader task: each wake-up means the queue was handed over with `busy` held.
async fn lead(batcher: Weak<SigBatcher>, wake: Arc<Notify>) {
    loop {
        wake.notified().await;
        let Some(batcher) = batcher.upgrade() else {
            return;
        };
        batcher.drain().await;
    }
}

#[cfg(test)]
#[path = "sigbatch_test.rs"]
mod tests;
