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
//! - a revoked user or machine without its event: the event; and whether or not the
//!   event came, the kick of its connections made before the revoke;
//! - an admin change whose note (`store::records::ChangeNote`, written with the change)
//!   has no event: the flow's own finishing steps (`handlers::finish`): a role change's
//!   event and kick, a delete's key index, event, record and kick, an approval's or
//!   rejection's event and uid (and a rejection's kick), a site's creation or key
//!   rotation, an invite's creation or cancellation. The kicks that follow a loss of
//!   permission run even when the event came (the worker may have died between the
//!   two); they close only connections made before the change, so a healthy flow's
//!   second look closes nothing.
//!
//! A record written again within the settle time keeps only its latest note: a change
//! overwritten that fast by another is judged by the later one (see
//! docs/reliability.md).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::audit::{event_id, Actor, ActorType, Enrolled, Event, Evicted};
use crate::domain::InviteId;
use crate::handlers::{finish, Ctx, Publish, Seen};
use crate::store::records::{
    ApiKeyRecord, CredentialRecord, InviteRecord, InviteState, MachineRecord, MachineState, Noted,
    RoleRecord, SiteRecord, TenantRecord, UidIndexRecord, UserRecord, UserStatus,
};
use crate::store::scan;
use crate::store::{Change, Since, StoreError, Versioned};
use crate::wire::ApiError;

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
    /// How long before its `expires_at` a credential gets `credential.expiring`.
    pub credential_expiring: Duration,
    /// How often the healer looks for credentials about to expire.
    pub credential_sweep: Duration,
    /// Whether it writes the audit tenant index (`Auditor::index`).
    pub tenant_index: bool,
}

impl Default for HealConfig {
    fn default() -> Self {
        Self {
            settle: Duration::from_secs(10),
            period: Duration::from_secs(2),
            horizon: Duration::from_secs(600),
            credential_expiring: Duration::from_secs(7 * 24 * 3600),
            credential_sweep: Duration::from_secs(60),
            tenant_index: true,
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

/// The feeds a healer follows, as indexes into its positions.
const INVITES: usize = 0;
const USERS: usize = 1;
const MACHINES: usize = 2;
const UIDS: usize = 3;
const SITES: usize = 4;
const ROLES: usize = 5;
const TENANTS: usize = 6;
const APIKEYS: usize = 7;
const VAULT: usize = 8;
const FEEDS: usize = 9;

struct Healer {
    ctx: Arc<Ctx>,
    cfg: HealConfig,
    start: OffsetDateTime,
    audit: Option<u64>,
    /// Per feed: where it stands.
    pos: [Position; FEEDS],
    /// Event ids seen in the audit stream, with their events' times (pruned once no
    /// change still to be judged can be that old).
    seen: HashMap<String, OffsetDateTime>,
    order: VecDeque<(OffsetDateTime, String)>,
    /// Per feed: the time up to which its changes are judged.
    judged: [OffsetDateTime; FEEDS],
    /// Machines written recently (a uid claim for one of them is not an orphan).
    recent_machines: HashSet<String>,
    recent_order: VecDeque<(OffsetDateTime, String)>,
    /// When the last sweep for expiring credentials ran.
    swept: Option<std::time::Instant>,
    /// Credentials that may get `credential.expiring`, by expiry.
    expiries: Expiries,
    /// The audit sequence up to which this healer wrote the tenant index.
    indexed: u64,
}

impl Healer {
    fn new(ctx: Arc<Ctx>, cfg: HealConfig) -> Self {
        let start = OffsetDateTime::now_utc() - cfg.horizon;
        Self {
            ctx,
            cfg,
            start,
            audit: None,
            pos: [Position(None); FEEDS],
            seen: HashMap::new(),
            order: VecDeque::new(),
            judged: [start; FEEDS],
            recent_machines: HashSet::new(),
            recent_order: VecDeque::new(),
            swept: None,
            expiries: Expiries::default(),
            indexed: 0,
        }
    }

    /// One look: the audit tail first (events of changes about to be judged), then each
    /// bucket's settled changes.
    async fn tick(&mut self) -> Result<(), StoreError> {
        self.read_audit().await?;
        let settled = OffsetDateTime::now_utc() - self.cfg.settle;
        let ctx = self.ctx.clone();
        let store = &ctx.store;
        loop {
            let (changes, done) = self.ripe(INVITES, &store.invites, settled).await?;
            for c in changes {
                if let Some(v) = c.value {
                    self.invite(c.seq, &c.key, v).await;
                }
            }
            if done {
                break;
            }
        }
        loop {
            let (changes, done) = self.ripe(USERS, &store.users, settled).await?;
            for c in changes {
                if let Some(v) = c.value {
                    self.user(c.seq, v).await;
                }
            }
            if done {
                break;
            }
        }
        loop {
            let (changes, done) = self.ripe(MACHINES, &store.machines, settled).await?;
            for c in changes {
                let at = c.time.unwrap_or(settled);
                self.recent_machines.insert(c.key.clone());
                self.recent_order.push_back((at, c.key.clone()));
                if let Some(v) = c.value {
                    self.machine(c.seq, v).await;
                }
            }
            if done {
                break;
            }
        }
        loop {
            let (changes, done) = self.ripe(SITES, &store.sites, settled).await?;
            for c in changes {
                if let Some(v) = c.value {
                    self.site(c.seq, v).await;
                }
            }
            if done {
                break;
            }
        }
        loop {
            let (changes, done) = self.ripe(ROLES, &store.roles, settled).await?;
            for c in changes {
                if let Some(v) = c.value {
                    self.role(c.seq, v).await;
                }
            }
            if done {
                break;
            }
        }
        loop {
            let (changes, done) = self.ripe(TENANTS, &store.tenants, settled).await?;
            for c in changes {
                if let Some(v) = c.value {
                    self.tenant(c.seq, v).await;
                }
            }
            if done {
                break;
            }
        }
        loop {
            let (changes, done) = self.ripe(APIKEYS, &store.apikeys, settled).await?;
            for c in changes {
                if let Some(v) = c.value {
                    self.apikey(c.seq, v).await;
                }
            }
            if done {
                break;
            }
        }
        loop {
            let (changes, done) = self.ripe(VAULT, &store.vault, settled).await?;
            for c in changes {
                self.expiries.follow(&c.key, c.value.as_ref());
                if let Some(v) = c.value {
                    self.credential(c.seq, v).await;
                }
            }
            if done {
                break;
            }
        }
        self.trials().await?;
        self.expiring_credentials().await?;
        // Uid claims a settle time later still: by then the machine written after a
        // claim is among the recent machines, so a healthy enrollment costs no read.
        let later = settled - self.cfg.settle;
        loop {
            let (changes, done) = self.ripe(UIDS, &store.machine_uids, later).await?;
            for c in changes {
                if let Some(u) = c.value {
                    self.uid(&c.key, &u).await?;
                }
            }
            if done {
                break;
            }
        }
        self.prune();
        Ok(())
    }

    /// The next batch of `feed`'s changes old enough to judge, and whether the feed is
    /// caught up; marks the feed judged up to them.
    async fn ripe<K, T>(
        &mut self,
        feed: usize,
        bucket: &crate::store::TypedBucket<K, T>,
        settled: OffsetDateTime,
    ) -> Result<(Vec<Change<T>>, bool), StoreError>
    where
        K: crate::store::StoreKey,
        T: serde::Serialize + serde::de::DeserializeOwned + crate::store::Record,
    {
        let (changes, done) = next_ripe(bucket, &mut self.pos[feed], self.start, settled).await?;
        self.judged[feed] = if done {
            settled
        } else {
            changes.last().and_then(|c| c.time).unwrap_or(settled)
        };
        Ok((changes, done))
    }

    /// Reads the audit tail, and writes the tenant index entries of the events read
    /// that the index does not hold yet (the same batches: no second read).
    async fn read_audit(&mut self) -> Result<(), StoreError> {
        if self.cfg.tenant_index {
            self.index_catch_up().await?;
        }
        loop {
            let from = match self.audit {
                Some(s) => scan::From::Seq(s + 1),
                None => scan::From::Time(self.start - Duration::from_secs(60)),
            };
            let got = self.ctx.audit.tail(from, BATCH).await?;
            let Some(last) = got.last().map(|t| t.seq) else {
                return Ok(());
            };
            if self.cfg.tenant_index {
                let fresh = got.partition_point(|t| t.seq <= self.indexed);
                if fresh < got.len() {
                    self.ctx.audit.index(&got[fresh..]).await?;
                    self.indexed = last;
                }
            }
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

    /// Before a tail read: if the tenant index ends before what this healer has read
    /// (a starting worker, or an earlier write that failed), writes the entries from
    /// where it ends, in batches; afterwards the index holds everything up to the
    /// stream's end. Another worker may have written them since this one looked: the
    /// index's end is read first, and workers that index the same event store it once
    /// (its id is the entry's `Nats-Msg-Id`).
    async fn index_catch_up(&mut self) -> Result<(), StoreError> {
        self.indexed = self.indexed.max(self.ctx.audit.indexed_upto().await?);
        if self.audit.is_some_and(|a| a <= self.indexed) {
            return Ok(());
        }
        let mut from = self.indexed + 1;
        loop {
            let got = self.ctx.audit.tail(scan::From::Seq(from), BATCH).await?;
            let Some(last) = got.last().map(|t| t.seq) else {
                return Ok(());
            };
            self.ctx.audit.index(&got).await?;
            self.indexed = last;
            from = last + 1;
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

    /// Logs and counts what a finishing step did.
    fn report(&self, kind: &'static str, what: &str, w: &Watch<'_>, r: Result<(), ApiError>) {
        match r {
            Ok(()) if w.published.load(Ordering::Relaxed) => {
                tracing::info!(what, "healer: finished an interrupted {kind}");
                self.ctx.metrics.healed(kind);
            }
            Ok(()) => {}
            Err(e) => tracing::info!(what, code = ?e.code, "healer: could not finish a {kind}"),
        }
    }

    /// A claimed invite whose `user.registered` never came: finish the register. A
    /// creation or cancellation whose event never came: the event.
    async fn invite(&mut self, revision: u64, key: &str, inv: InviteRecord) {
        // A redeemed invite's index entry is left for the healer (the register path
        // writes no index): remove it.
        if inv.index_seq.is_some() && crate::store::Record::index_subject(&inv).is_none() {
            self.ctx.store.unindex_invite(&inv).await;
        }
        if inv.state == InviteState::Used && inv.user_deleted_at.is_none() {
            self.register(key, &inv).await;
        }
        let what = inv.invite_id.to_string();
        match inv.note.as_ref().map(|n| &n.change) {
            Some(Noted::InviteCreated) => {
                let w = Watch::new(&self.seen);
                let r = finish::invite_created(&self.ctx, &inv, w.publish()).await;
                self.report("invite_create", &what, &w, r);
            }
            Some(Noted::InviteCancelled) => {
                let cur = Versioned {
                    value: inv.clone(),
                    revision,
                };
                {
                    let w = Watch::new(&self.seen);
                    let r = finish::invite_cancelled(&self.ctx, &cur, w.publish()).await;
                    self.report("invite_cancel", &what, &w, r);
                }
            }
            _ => {}
        }
    }

    async fn register(&mut self, key: &str, inv: &InviteRecord) {
        let (Ok(id), Some(sign_pub), Some(kex_pub)) =
            (InviteId::parse(key), inv.used_sign_pub, inv.used_kex_pub)
        else {
            return;
        };
        let expected = Event::UserRegistered {
            handle: &inv.handle,
            invite_id: &id,
            assignment: &inv.assignment,
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

    /// A revoked user: `user.revoked` if it never came, then the kick of connections
    /// made before the revoke. A role change or a delete with its note: its finishing
    /// steps.
    async fn user(&mut self, revision: u64, u: UserRecord) {
        let cur = Versioned { value: u, revision };
        let u = &cur.value;
        let what = u.handle.to_string();
        match u.note.as_ref().map(|n| &n.change) {
            Some(Noted::Assignments { .. }) => {
                {
                    let w = Watch::new(&self.seen);
                    let r = finish::user_role_changed(&self.ctx, &cur, w.publish()).await;
                    self.report("set_role", &what, &w, r);
                }
                // The owner guard counts a promoted owner once its change is done.
                if let Err(e) = self.ctx.store.owner_guard_follows(&u.handle).await {
                    tracing::debug!(error = %e, "healer: could not update the owner guard");
                }
                return;
            }
            Some(Noted::Deleting) => {
                {
                    let w = Watch::new(&self.seen);
                    let r = finish::user_deleted(&self.ctx, &cur, w.publish()).await;
                    self.report("user_delete", &what, &w, r);
                }
                return;
            }
            _ => {}
        }
        let (UserStatus::Revoked, Some(rec)) = (u.status, u.revoked.as_ref()) else {
            return;
        };
        let event = Event::UserRevoked {
            handle: &u.handle,
            revision,
            by_self: rec.by == u.handle.as_str(),
            reason: rec.reason.as_deref(),
        };
        let actor = Actor {
            id: rec.by.clone(),
            kind: ActorType::User,
            name: None,
        };
        if !self.published(&event) {
            if self.ctx.audit.record(actor.clone(), event).await.is_err() {
                return;
            }
            tracing::info!(handle = %u.handle, "healer: finished an interrupted revoke");
            self.ctx.metrics.healed("revoke");
        }
        let before = crate::time_util::parse_rfc3339(&rec.at).or(Some(OffsetDateTime::now_utc()));
        crate::handlers::kick_user(&self.ctx, &u.handle, &actor, revision, before).await;
    }

    /// A site's creation or key rotation whose event never came: the event.
    async fn site(&mut self, revision: u64, s: SiteRecord) {
        let what = format!("{}/{}", s.tenant.as_str(), s.site.as_str());
        let cur = Versioned { value: s, revision };
        match cur.value.note.as_ref().map(|n| &n.change) {
            Some(Noted::SiteCreated) => {
                let w = Watch::new(&self.seen);
                let r = finish::site_created(&self.ctx, &cur, w.publish()).await;
                self.report("site_create", &what, &w, r);
            }
            Some(Noted::KeyRotated { .. }) => {
                let w = Watch::new(&self.seen);
                let r = finish::site_key_rotated(&self.ctx, &cur, w.publish()).await;
                self.report("site_rotate_key", &what, &w, r);
            }
            _ => {}
        }
    }

    /// A tenant change whose event never came (its note): its finishing step. An
    /// archived tenant whose state was not purged (its worker died): the purge.
    async fn tenant(&mut self, revision: u64, t: TenantRecord) {
        let what = t.tenant.to_string();
        let cur = Versioned { value: t, revision };
        let w = Watch::new(&self.seen);
        let (kind, res) = match cur.value.note.as_ref().map(|n| &n.change) {
            Some(Noted::TenantCreated) => (
                "tenant_create",
                finish::tenant_created(&self.ctx, &cur, w.publish()).await,
            ),
            Some(Noted::TenantUpdated { .. }) => (
                "tenant_update",
                finish::tenant_updated(&self.ctx, &cur, w.publish()).await,
            ),
            Some(Noted::TenantProductSet { .. }) => (
                "tenant_set_product",
                finish::tenant_product_set(&self.ctx, &cur, w.publish()).await,
            ),
            Some(Noted::TenantStatusChanged { .. }) => (
                "tenant_set_status",
                finish::tenant_status_changed(&self.ctx, &cur, w.publish()).await,
            ),
            Some(Noted::TenantTrialExpired) => (
                "tenant_trial_expired",
                finish::tenant_trial_expired(&self.ctx, &cur, w.publish()).await,
            ),
            Some(Noted::TenantPurged { .. }) => (
                "tenant_archive",
                finish::tenant_purged(&self.ctx, &cur, w.publish()).await,
            ),
            _ if cur.value.status == crate::domain::TenantStatus::Archived
                && cur.value.purged_at.is_none() =>
            {
                (
                    "tenant_archive",
                    finish::tenant_purge(&self.ctx, &cur.value.tenant, None).await,
                )
            }
            _ => return,
        };
        self.report(kind, &what, &w, res);
    }

    /// Trials that ended: each gets `tenant.trial_expired` once (the worker whose mark
    /// lands publishes it; the mark's note lets a healer finish it). Found in this
    /// worker's view of the tenants, or a walk of the bucket while it is not ready.
    async fn trials(&mut self) -> Result<(), StoreError> {
        let now = self.ctx.clock.now();
        let ended = match self.ctx.tenants.ended_trials(now) {
            Some(ended) => ended,
            None => self.ctx.store.ended_trials(now).await?,
        };
        for t in ended {
            if let Some(cur) = self.ctx.store.mark_trial_expired(&t, now).await? {
                if let Err(e) = finish::tenant_trial_expired(&self.ctx, &cur, Publish::Always).await
                {
                    tracing::info!(tenant = %t, code = ?e.code, "could not publish a trial's end (a healer will)");
                }
            }
        }
        Ok(())
    }

    /// An API key's creation, roll or revoke whose event never came: its finishing
    /// steps (a revoke's kick too).
    async fn apikey(&mut self, revision: u64, k: ApiKeyRecord) {
        let what = k.key_id.to_string();
        let cur = Versioned { value: k, revision };
        let w = Watch::new(&self.seen);
        let (kind, res) = match cur.value.note.as_ref().map(|n| &n.change) {
            Some(Noted::ApiKeyCreated) => (
                "apikey_create",
                finish::apikey_created(&self.ctx, &cur, w.publish()).await,
            ),
            Some(Noted::ApiKeyRolled { .. }) => (
                "apikey_roll",
                finish::apikey_rolled(&self.ctx, &cur, w.publish()).await,
            ),
            Some(Noted::ApiKeyRevoked) => (
                "apikey_revoke",
                finish::apikey_revoked(&self.ctx, &cur, w.publish()).await,
            ),
            _ => return,
        };
        self.report(kind, &what, &w, res);
    }

    /// A credential's creation, rotation, revoke or expiry notice whose event never
    /// came: the event. A delete marked but not finished: its event, the record and
    /// the name claim.
    async fn credential(&mut self, revision: u64, c: CredentialRecord) {
        let what = c.credential_id.to_string();
        let cur = Versioned { value: c, revision };
        let w = Watch::new(&self.seen);
        let (kind, res) = match cur.value.note.as_ref().map(|n| &n.change) {
            Some(Noted::Deleting) => (
                "credential_delete",
                finish::credential_deleted(&self.ctx, &cur, w.publish()).await,
            ),
            Some(n) => {
                let kind = match n {
                    Noted::CredentialCreated => "credential_create",
                    Noted::CredentialRotated => "credential_rotate",
                    Noted::CredentialRevoked => "credential_revoke",
                    Noted::CredentialExpiring => "credential_expiring",
                    _ => return,
                };
                (
                    kind,
                    finish::credential_changed(&self.ctx, &cur, w.publish()).await,
                )
            }
            _ => return,
        };
        self.report(kind, &what, &w, res);
    }

    /// Credentials about to expire (every `credential_sweep`): each gets
    /// `credential.expiring` once (the worker whose mark lands publishes it; the mark's
    /// note lets a healer finish it). Found in this healer's expiry index: one walk of
    /// the bucket when the worker starts, then the vault's changes keep it.
    async fn expiring_credentials(&mut self) -> Result<(), StoreError> {
        if self
            .swept
            .is_some_and(|at| at.elapsed() < self.cfg.credential_sweep)
        {
            return Ok(());
        }
        let now = self.ctx.clock.now();
        let notice = self.cfg.credential_expiring;
        if !self.expiries.loaded {
            for (id, at) in self.ctx.store.credential_expiries().await? {
                self.expiries.insert(id.as_str(), at);
            }
            self.expiries.loaded = true;
        }
        self.swept = Some(std::time::Instant::now());
        for (at, id) in self.expiries.due(now + notice) {
            let Ok(id) = crate::domain::CredentialId::parse(&id) else {
                continue;
            };
            let Some(c) = self
                .ctx
                .store
                .mark_credential_expiring(&id, now, notice)
                .await
                .inspect_err(|_| self.expiries.insert(id.as_str(), at))?
            else {
                continue;
            };
            if let Err(e) = finish::credential_changed(&self.ctx, &c, Publish::Always).await {
                tracing::info!(credential = %id, code = ?e.code, "could not publish a credential's expiry notice (a healer will)");
                continue;
            }
            tracing::info!(credential = %id, "a credential expires soon");
        }
        Ok(())
    }

    /// A role's creation, update or delete whose event never came: its finishing step.
    async fn role(&mut self, revision: u64, r: RoleRecord) {
        let what = format!("{}/{}", r.tenant.as_str(), r.name.as_str());
        let cur = Versioned { value: r, revision };
        let w = Watch::new(&self.seen);
        let (kind, res) = match cur.value.note.as_ref().map(|n| &n.change) {
            Some(Noted::RoleCreated) => (
                "role_create",
                finish::role_created(&self.ctx, &cur, w.publish()).await,
            ),
            Some(Noted::RoleUpdated { .. }) => (
                "role_update",
                finish::role_updated(&self.ctx, &cur, w.publish()).await,
            ),
            Some(Noted::Deleting) => (
                "role_delete",
                finish::role_deleted(&self.ctx, &cur, w.publish()).await,
            ),
            _ => return,
        };
        self.report(kind, &what, &w, res);
    }

    /// A machine write whose event never came. An approval or rejection (its note):
    /// its finishing steps. A revocation: the event, and the kick of connections made
    /// before it. An enrollment (new, pending or again): the credential index entry,
    /// then `machine.enrolled`.
    async fn machine(&mut self, revision: u64, m: MachineRecord) {
        if matches!(
            m.note.as_ref().map(|n| &n.change),
            Some(Noted::Decided { .. })
        ) {
            let what = m.machine_id.to_string();
            let cur = Versioned { value: m, revision };
            {
                let w = Watch::new(&self.seen);
                let r = finish::machine_decided(&self.ctx, &cur, w.publish()).await;
                self.report("machine_decide", &what, &w, r);
            }
            return;
        }
        let m = &m;
        if m.state == MachineState::Revoked {
            self.machine_revoked(revision, m).await;
            return;
        }
        let candidates = [
            Event::MachineEnrolled {
                machine: m,
                revision,
                how: Enrolled::New,
            },
            Event::MachineDecided {
                machine: m,
                revision,
                approved: m.state == MachineState::Active,
                pending_reason: None,
            },
        ];
        let moved = crate::handlers::moved_from(m).map(|from| Event::MachineSiteMoved {
            machine: m,
            revision,
            from,
        });
        if candidates.iter().any(|e| self.published(e)) {
            // The enrollment's first event came; a move's second may not have.
            if let Some(e) = moved.filter(|e| !self.published(e)) {
                let actor = Actor::machine(&m.machine_id, m.hostname.as_deref());
                if self.ctx.audit.record(actor, e).await.is_ok() {
                    self.ctx.metrics.healed("enroll");
                }
            }
            return;
        }
        if m.decided_at.is_some() && m.decided_at == m.updated_at {
            // A decision whose note a later write replaced: nothing of the enrollment's.
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
        let actor = Actor::machine(&m.machine_id, m.hostname.as_deref());
        if self.ctx.audit.record(actor.clone(), event).await.is_err() {
            return;
        }
        if let Some(e) = moved {
            if self.ctx.audit.record(actor, e).await.is_err() {
                return;
            }
        }
        tracing::info!(machine = %m.machine_id, "healer: finished an interrupted enrollment");
        self.ctx.metrics.healed("enroll");
    }

    async fn machine_revoked(&mut self, revision: u64, m: &MachineRecord) {
        let Some(rec) = &m.revoked else { return };
        let by_self = rec.by == m.machine_id.as_str();
        let event = Event::MachineRevoked {
            machine: m,
            revision,
            by_self,
            reason: rec.reason.as_deref(),
        };
        let by = Actor {
            id: rec.by.clone(),
            kind: if by_self {
                ActorType::Machine
            } else {
                ActorType::User
            },
            name: None,
        };
        if !self.published(&event) {
            if self.ctx.audit.record(by.clone(), event).await.is_err() {
                return;
            }
            self.ctx.metrics.healed("machine_revoke");
        }
        let names = crate::bus::machine_conn_names(m.machine_id.as_str(), &m.credential_sha256);
        let before = crate::time_util::parse_rfc3339(&rec.at);
        crate::handlers::evict_before(
            &self.ctx,
            &names,
            Evicted::Machine(&m.machine_id),
            &by,
            revision,
            before.or(Some(OffsetDateTime::now_utc())),
        )
        .await;
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

/// A healer's view of the audit stream for one finishing step: the events it has seen,
/// and whether the step published one it had not.
struct Watch<'a> {
    seen: &'a HashMap<String, OffsetDateTime>,
    published: AtomicBool,
}

impl<'a> Watch<'a> {
    fn new(seen: &'a HashMap<String, OffsetDateTime>) -> Self {
        Self {
            seen,
            published: AtomicBool::new(false),
        }
    }

    fn publish(&self) -> Publish<'_> {
        Publish::Unseen(self)
    }
}

impl Seen for Watch<'_> {
    fn seen(&self, id: &str) -> bool {
        let seen = self.seen.contains_key(id);
        if !seen {
            self.published.store(true, Ordering::Relaxed);
        }
        seen
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

/// A healer's index of the credentials that may get `credential.expiring`: active, not
/// told yet, with an expiry. Loaded by one walk of the vault when the worker starts, then
/// kept by the vault's changes; a sweep takes what falls due (the store decides again on
/// the record as it is then, so a stale entry costs one read and publishes nothing).
#[derive(Default)]
struct Expiries {
    loaded: bool,
    by_time: std::collections::BTreeSet<(crate::time_util::Timestamp, String)>,
    of: HashMap<String, crate::time_util::Timestamp>,
}

impl Expiries {
    fn insert(&mut self, id: &str, at: crate::time_util::Timestamp) {
        self.remove(id);
        self.by_time.insert((at, id.to_owned()));
        self.of.insert(id.to_owned(), at);
    }

    fn remove(&mut self, id: &str) {
        if let Some(at) = self.of.remove(id) {
            self.by_time.remove(&(at, id.to_owned()));
        }
    }

    /// Follows one change of credential `id` (`None`: deleted).
    fn follow(&mut self, id: &str, rec: Option<&CredentialRecord>) {
        match rec.and_then(crate::store::expiry_to_notice) {
            Some(at) => self.insert(id, at),
            None => self.remove(id),
        }
    }

    /// Takes the entries that expire by `by`, soonest first.
    fn due(
        &mut self,
        by: crate::time_util::Timestamp,
    ) -> Vec<(crate::time_util::Timestamp, String)> {
        let mut out = Vec::new();
        while let Some(first) = self.by_time.first().filter(|(at, _)| *at <= by).cloned() {
            self.by_time.remove(&first);
            self.of.remove(&first.1);
            out.push(first);
        }
        out
    }
}
