//! Request signatures verified one by one when the worker is idle and in batches under
//! load.
//!
//! A request whose signature arrives while no other check runs is verified inline, with
//! no hop. Signatures that arrive while a check runs wait in a queue; a leader task takes
//! them in batches of up to [`MAX_BATCH`] and checks each batch with one multiscalar
//! multiplication ([`crypto::verify_batch`], about half the CPU per signature). A batch
//! that fails is checked one by one with the `verify_strict` equation, so a bad
//! signature never fails a good one. The outcome for each request is what
//! `verify_strict` decides (see [`crypto::verify_batch`] for the one edge case).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use crate::crypto::{self, PreparedSig};

/// The most signatures checked in one batch (~20 µs each on one core).
pub const MAX_BATCH: usize = 32;

type Waiting = (PreparedSig, oneshot::Sender<bool>);

#[derive(Default)]
struct State {
    busy: bool,
    queue: Vec<Waiting>,
}

/// Counters for tests and the benchmark.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SigStats {
    /// Signatures checked inline (no other check was running).
    pub inline: u64,
    /// Signatures checked in batches of two or more.
    pub batched: u64,
    /// Batches of two or more.
    pub batches: u64,
    /// Batches that failed and were checked one by one.
    pub batch_failures: u64,
}

/// The signature checker of one worker.
#[derive(Default)]
pub struct SigBatcher {
    state: Mutex<State>,
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

impl SigBatcher {
    /// A checker with an empty queue.
    pub fn new() -> Arc<Self> {
        Arc::default()
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

    /// Verifies one prepared signature; `None` only if the checking task went away
    /// (the runtime is shutting down).
    pub async fn verify(self: &Arc<Self>, sig: PreparedSig) -> Option<bool> {
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
        for (tx, ok) in replies.into_iter().zip(&results[1..]) {
            // The request may have gone away (its client timed out); nothing to tell.
            let _ = tx.send(*ok);
        }
        self.release();
        Some(results[0])
    }

    /// Ends a check: idle again, or a leader task takes what queued up meanwhile.
    fn release(self: &Arc<Self>) {
        let mut st = self.lock();
        if st.queue.is_empty() {
            st.busy = false;
            return;
        }
        drop(st);
        let me = self.clone();
        tokio::spawn(async move { me.lead().await });
    }

    /// Checks queued signatures in batches until the queue is empty.
    async fn lead(self: Arc<Self>) {
        loop {
            let batch: Vec<Waiting> = {
                let mut st = self.lock();
                if st.queue.is_empty() {
                    st.busy = false;
                    return;
                }
                let n = st.queue.len().min(MAX_BATCH);
                st.queue.drain(..n).collect()
            };
            let (sigs, replies): (Vec<PreparedSig>, Vec<oneshot::Sender<bool>>) =
                batch.into_iter().unzip();
            let results = self.check(&sigs);
            for (tx, ok) in replies.into_iter().zip(results) {
                let _ = tx.send(ok);
            }
            // Let the requests just answered (and the connection) run.
            tokio::task::yield_now().await;
        }
    }

    /// Checks `sigs` (one or more): the batch equation first, one by one if it fails.
    fn check(&self, sigs: &[PreparedSig]) -> Vec<bool> {
        if sigs.len() == 1 {
            self.inline.fetch_add(1, Ordering::Relaxed);
            return vec![sigs[0].verify()];
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
