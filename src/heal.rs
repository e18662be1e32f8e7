//! The healer: workers finish flows that a crash interrupted, with no client retry.
//!
//! Every flow's first compare-and-swap leaves a record that says what the flow was doing
//! (a claimed invite names the keys that claimed it; a machine record holds everything
//! its enrollment decided; a revoked user says who revoked it and why), and every flow
//! ends with its audit event, whose id is a function of the change (its dedup key). So
//! a change is finished exactly when its event is in the audit stream.
//!
//! Each worker follows the buckets' changes (`store::TypedBucket::changes`, batched,
//! costing the write rate, never the store's size) and the audit stream's tail. A change
//! older than the settle time whose event has not appeared is finished with the flow's
//! own idempotent steps, then its event is published with its usual `Nats-Msg-Id`; two
//! workers finishing the same change publish one event (the stream deduplicates within
//! its two-minute window, far longer than the settle time). What it finishes:
//!
//! - a claimed invite without its user: the key binding, the user, the owner guard and
//!   `user.registered` (`handlers::register::finish`, the retry's own path);
//! - a machine write without its event: the credential index entry and the
//!   `machine.enrolled` (or `machine.revoked`) event;
//! - a machine uid claimed for a machine that was never written (the enrollment died
//!   between its two writes, before anything was decided): the claim is released, so
//!   the uid is free again; no event, since nothing happened;
//! - a revoked user without `user.revoked`: the event, then the kick of its connections.
//!
//! Admin changes other than revoke (role changes, deletes, approve and reject, sites,
//! invites) are finished by the admin's retry; see docs/reliability.md.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::audit::{event_id, Actor, ActorType, Enrolled, Event, Evicted};
use crate::domain::InviteId;
use crate::handlers::Ctx;
use crate::store::records::{
    InviteRecord, InviteState, MachineRecord, MachineState, UidIndexRecord, UserRecord, UserStatus,
};
use crate::store::scan;
use crate::store::{Change, Since, StoreError};

/// How the healer runs.
#[derive(Debug, Clone)]
pub struct HealConfig {
    /// How old a change must be before it counts as interrupted (its flow had this long
    /// to publish its event).
    pub settle: Duration,
    /// How often the healer looks.
    pub period: Duration,
    /// How far back a starting worker looks.
    pub horizon: Duration,
}

impl Default for HealConfig {
    fn default() -> Self {
        Self {
            settle: Duration::from_secs(10),
            period: Duration::from_secs(2),
            horizon: Duration::from_secs(600),
        }
    }
}

/// Changes read per request.
const BATCH: usize = 1000;

/// Runs the healer until `stop` turns true.
pub async fn run(ctx: Arc<Ctx>, cfg: HealConfig, mut stop: watch::Receiver<bool>) {
    let mut healer = Healer::new(ctx, cfg.clone());
    loop {
        if let Err(e) = healer.tick().await {
            tracing::debug!(error = %e, "healer: store unavailable; trying again");
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(cfg.period) => {}
        }
    }
}

/// Where one feed stands.
#[derive(Debug, Clone, Copy)]
struct Position(Option<u64>);

impl Position {
    fn since(self, start: OffsetDateTime) -> Since {
        match self.0 {
            Some(s) => Since::Seq(s),
            None => Since::Time(start),
        }
    }
}

struct Healer {
    ctx: Arc<Ctx>,
    cfg: HealConfig,
    start: OffsetDateTime,
    audit: Option<u64>,
    invites: Position,
    users: Position,
    machines: Position,
    uids: Position,
    /// Event ids seen in the audit stream, with their events' times (pruned once no
    /// change still to be judged can be that old).
    seen: HashMap<String, OffsetDateTime>,
    order: VecDeque<(OffsetDateTime, String)>,
    /// Per feed (invites, users, machines, uids): the time up to which its changes
    /// are judged.
    judged: [OffsetDateTime; 4],
    /// Machines written recently (a uid claim for one of them is not an orphan).
    recent_machines: HashSet<String>,
    recent_order: VecDeque<(OffsetDateTime, String)>,
}

impl Healer {
    fn new(ctx: Arc<Ctx>, cfg: HealConfig) -> Self {
        let start = OffsetDateTime::now_utc() - cfg.horizon;
        Self {
            ctx,
            cfg,
            start,
            audit: None,
            invites: Position(None),
            users: Position(None),
            machines: Position(None),
            uids: Position(None),
            seen: HashMap::new(),
            order: VecDeque::new(),
            judged: [start; 4],
            recent_machines: HashSet::new(),
            recent_order: VecDeque::new(),
        }
    }

    /// One look: the audit tail first (events of changes about to be judged), then each
    /// bucket's settled changes.
    async fn tick(&mut self) -> Result<(), StoreError> {
        self.read_audit().await?;
        let settled = OffsetDateTime::now_utc() - self.cfg.settle;
        self.follow_invites(settled).await?;
        self.follow_users(settled).await?;
        self.follow_machines(settled).await?;
        // Uid claims a settle time later still: by then the machine written after a
        // claim is among the recent machines, so a healthy enrollment costs no read.
        self.follow_uids(settled - self.cfg.settle).await?;
        self.prune();
        Ok(())
    }

    async fn read_audit(&mut self) -> Result<(), StoreError> {
        loop {
            let from = match self.audit {
                Some(s) => scan::From::Seq(s + 1),
                None => scan::From::Time(self.start - Duration::from_secs(60)),
            };
            let got = self.ctx.audit.tail(from, BATCH).await?;
            let Some(last) = got.last().map(|t| t.seq) else {
                return Ok(());
            };
            for t in got {
                let at = time::OffsetDateTime::parse(
                    &t.event.time,
                    &time::format_description::well_known::Rfc3339,
                )
                .unwrap_or_else(|_| OffsetDateTime::now_utc());
                self.order.push_back((at, t.event.id.clone()));
                self.seen.insert(t.event.id, at);
            }
            self.audit = Some(last);
        }
    }

    /// Forgets events older than any change still to be judged (with 15 s of slack
    /// for clocks), and machines written before that.
    fn prune(&mut self) {
        let oldest = self.judged.iter().min().copied().unwrap_or(self.start);
        let keep = oldest - Duration::from_secs(15);
        while self.order.front().is_some_and(|(t, _)| *t < keep) {
            if let Some((t, id)) = self.order.pop_front() {
                if self.seen.get(&id) == Some(&t) {
                    self.seen.remove(&id);
                }
            }
        }
        while self.recent_order.front().is_some_and(|(t, _)| *t < keep) {
            if let Some((_, id)) = self.recent_order.pop_front() {
                self.recent_machines.remove(&id);
            }
        }
    }

    fn published(&self, event: &Event<'_>) -> bool {
        self.seen.contains_key(&event_id(&event.dedup_key()))
    }

    async fn follow_invites(&mut self, settled: OffsetDateTime) -> Result<(), StoreError> {
        loop {
            let (changes, done) = next_ripe(
                &self.ctx.store.invites,
                &mut self.invites,
                self.start,
                settled,
            )
            .await?;
            for c in changes {
                self.judged[0] = c.time.unwrap_or(settled);
                if let Some(inv) = c.value {
                    self.invite(&c.key, &inv).await;
                }
            }
            if done {
                self.judged[0] = settled;
                return Ok(());
            }
        }
    }

    /// A claimed invite whose `user.registered` never came: finish the register.
    async fn invite(&mut self, key: &str, inv: &InviteRecord) {
        if inv.state != InviteState::Used || inv.user_deleted_at.is_some() {
            return;
        }
        let (Ok(id), Some(sign_pub), Some(kex_pub)) =
            (InviteId::parse(key), inv.used_sign_pub, inv.used_kex_pub)
        else {
            return;
        };
        let expected = Event::UserRegistered {
            handle: &inv.handle,
            invite_id: &id,
            role: inv.role,
            sign_pub: &sign_pub,
        };
        if self.published(&expected) {
            return;
        }
        let at = inv.used_at.clone().unwrap_or_default();
        match crate::handlers::finish_register(&self.ctx, &id, inv, &sign_pub, &kex_pub, &at).await
        {
            Ok(_) => {
                tracing::info!(handle = %inv.handle, "healer: finished an interrupted register");
                self.ctx.metrics.healed("register");
                self.seen
                    .insert(event_id(&expected.dedup_key()), OffsetDateTime::now_utc());
            }
            // Another key took the handle or the key: the register cannot finish; the
            // invite stays spent, as the client's retry would have found.
            Err(e) => {
                tracing::info!(handle = %inv.handle, code = ?e.code, "healer: an interrupted register cannot finish")
            }
        }
    }

    async fn follow_users(&mut self, settled: OffsetDateTime) -> Result<(), StoreError> {
        loop {
            let (changes, done) =
                next_ripe(&self.ctx.store.users, &mut self.users, self.start, settled).await?;
            for c in changes {
                self.judged[1] = c.time.unwrap_or(settled);
                if let Some(u) = c.value {
                    self.user(c.seq, &u).await;
                }
            }
            if done {
                self.judged[1] = settled;
                return Ok(());
            }
        }
    }

    /// A revoked user whose `user.revoked` never came: the event, then the kick.
    async fn user(&mut self, revision: u64, u: &UserRecord) {
        let (UserStatus::Revoked, Some(rec)) = (u.status, u.revoked.as_ref()) else {
            return;
        };
        let event = Event::UserRevoked {
            handle: &u.handle,
            revision,
            by_self: rec.by == u.handle.as_str(),
            reason: rec.reason.as_deref(),
        };
        if self.published(&event) {
            return;
        }
        let actor = Actor {
            id: rec.by.clone(),
            kind: ActorType::User,
            name: None,
        };
        if self.ctx.audit.record(actor.clone(), event).await.is_err() {
            return;
        }
        let names = [crate::bus::user_conn_name(u.handle.as_str())];
        crate::handlers::evict(
            &self.ctx,
            &names,
            Evicted::User(&u.handle),
            &actor,
            revision,
        )
        .await;
        tracing::info!(handle = %u.handle, "healer: finished an interrupted revoke");
        self.ctx.metrics.healed("revoke");
    }

    async fn follow_machines(&mut self, settled: OffsetDateTime) -> Result<(), StoreError> {
        loop {
            let (changes, done) = next_ripe(
                &self.ctx.store.machines,
                &mut self.machines,
                self.start,
                settled,
            )
            .await?;
            for c in changes {
                let at = c.time.unwrap_or(settled);
                self.judged[2] = at;
                self.recent_machines.insert(c.key.clone());
                self.recent_order.push_back((at, c.key.clone()));
                if let Some(m) = c.value {
                    self.machine(c.seq, &m).await;
                }
            }
            if done {
                self.judged[2] = settled;
                return Ok(());
            }
        }
    }

    /// A machine write whose event never came. An enrollment (new, pending or again):
    /// the credential index entry, then `machine.enrolled`; a revocation: the event and
    /// the kick. Approvals and rejections are the admin's to retry.
    async fn machine(&mut self, revision: u64, m: &MachineRecord) {
        let candidates = [
            Event::MachineEnrolled {
                machine: m,
                revision,
                how: Enrolled::New,
            },
            Event::MachineRevoked {
                machine: m,
                revision,
                by_self: false,
                reason: None,
            },
            Event::MachineDecided {
                machine: m,
                revision,
                approved: m.state == MachineState::Active,
                pending_reason: None,
            },
        ];
        if candidates.iter().any(|e| self.published(e)) {
            return;
        }
        let actor = Actor::machine(&m.machine_id, m.hostname.as_deref());
        if m.state == MachineState::Revoked {
            let Some(rec) = &m.revoked else { return };
            let event = Event::MachineRevoked {
                machine: m,
                revision,
                by_self: rec.by == m.machine_id.as_str(),
                reason: rec.reason.as_deref(),
            };
            let by = Actor {
                id: rec.by.clone(),
                kind: if rec.by == m.machine_id.as_str() {
                    ActorType::Machine
                } else {
                    ActorType::User
                },
                name: None,
            };
            if self.ctx.audit.record(by.clone(), event).await.is_ok() {
                let names =
                    crate::bus::machine_conn_names(m.machine_id.as_str(), &m.credential_sha256);
                crate::handlers::evict(
                    &self.ctx,
                    &names,
                    Evicted::Machine(&m.machine_id),
                    &by,
                    revision,
                )
                .await;
                self.ctx.metrics.healed("machine_revoke");
            }
            return;
        }
        if m.decided_at.is_some() && m.decided_at == m.updated_at {
            // An approval or rejection: the admin's retry records it.
            return;
        }
        let now = self.ctx.clock.now().to_rfc3339();
        if let Err(e) = self
            .ctx
            .store
            .index_credential(&m.credential_sha256, &m.machine_id, &now)
            .await
        {
            tracing::debug!(error = %e, "healer: could not index a credential");
            return;
        }
        let how = Enrolled::of(m.enrolled_at != m.last_enrolled_at, m);
        let event = Event::MachineEnrolled {
            machine: m,
            revision,
            how,
        };
        if self.ctx.audit.record(actor, event).await.is_ok() {
            tracing::info!(machine = %m.machine_id, "healer: finished an interrupted enrollment");
            self.ctx.metrics.healed("enroll");
        }
    }

    async fn follow_uids(&mut self, settled: OffsetDateTime) -> Result<(), StoreError> {
        loop {
            let (changes, done) = next_ripe(
                &self.ctx.store.machine_uids,
                &mut self.uids,
                self.start,
                settled,
            )
            .await?;
            for c in changes {
                self.judged[3] = c.time.unwrap_or(settled);
                if let Some(u) = c.value {
                    self.uid(&c.key, &u).await?;
                }
            }
            if done {
                self.judged[3] = settled;
                return Ok(());
            }
        }
    }

    /// A uid claimed for a machine that was never written: release it.
    async fn uid(&mut self, key: &str, u: &UidIndexRecord) -> Result<(), StoreError> {
        if self.recent_machines.contains(u.machine_id.as_str()) {
            return Ok(());
        }
        if self.ctx.store.machine(&u.machine_id).await?.is_some() {
            return Ok(());
        }
        if self
            .ctx
            .store
            .release_orphan_uid(key, &u.machine_id)
            .await?
        {
            tracing::info!(machine = %u.machine_id, "healer: released an orphaned uid claim");
            self.ctx.metrics.healed("uid_claim");
        }
        Ok(())
    }
}

/// The next changes of `bucket` old enough to judge, in order (the position moves past
/// them and stops at the first that is too young), and whether the feed is caught up.
async fn next_ripe<K, T>(
    bucket: &crate::store::TypedBucket<K, T>,
    pos: &mut Position,
    start: OffsetDateTime,
    settled: OffsetDateTime,
) -> Result<(Vec<Change<T>>, bool), StoreError>
where
    K: crate::store::StoreKey,
    T: serde::Serialize + serde::de::DeserializeOwned + crate::store::Record,
{
    let changes = bucket.changes(pos.since(start), BATCH).await?;
    let full = changes.len() == BATCH;
    let mut out = Vec::new();
    for c in changes {
        if c.time.is_none_or(|t| t > settled) {
            return Ok((out, true));
        }
        pos.0 = Some(c.seq);
        out.push(c);
    }
    Ok((out, !full))
}
