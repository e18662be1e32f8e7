//! Tenants (PROTOCOL §7): the record by slug, the `default` tenant every roster starts
//! with, what a record says at a given time (its effective status, its live products),
//! and the claims that keep each external customer id (ERP, Stripe) to one tenant.
//!
//! A claim is written before the record that names the id, with `create`, so of two
//! tenants racing for one id exactly one wins. It counts only while its tenant's record
//! names the id and the tenant is not archived: a claim a crash left behind (written,
//! then no record) is taken over once it is older than [`CLAIM_SETTLE`].

use std::time::Duration;

use super::records::{
    ChangeNote, Noted, RoleRecord, SiteRecord, TenantClaimRecord, TenantRecord, SCHEMA_V,
};
use super::{ClaimKey, Decision, OwnersKey, RoleKey, Store, StoreError, StoreKey, Versioned};
use crate::domain::{
    ExternalId, ExternalIdKind, Handle, Plan, SiteRef, Tenant, TenantKind, TenantStatus,
};
use crate::time_util::Timestamp;

/// Largest tenant record: 32 products of 4 KiB configurations and the rest fit with room.
pub(super) const MAX_RECORD_BYTES: i32 = 256 * 1024;

/// How long a claim whose tenant's record does not name its id is taken for a write still
/// under way (claim first, record second); after that it is an orphan another tenant may
/// take over. Far longer than any request.
pub const CLAIM_SETTLE: Duration = Duration::from_secs(60);

/// Most rounds of [`Store::claim_external_id`] before it gives up with a `Conflict`
/// (each round means the claim changed hands while it looked).
const CLAIM_ROUNDS: usize = 8;

/// Who holds an external customer id after a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The claiming tenant (now, or already).
    Ours,
    /// Another tenant, whose record names the id (or whose write of it is under way).
    Theirs(Tenant),
}

impl TenantRecord {
    /// The `default` tenant as the first start writes it: an active customer tenant on
    /// the starter plan, created by `system`.
    pub fn default_tenant(now: Timestamp) -> Self {
        let at = now.to_rfc3339();
        TenantRecord {
            v: SCHEMA_V,
            tenant: Tenant::default_tenant(),
            name: "Default".into(),
            status: TenantStatus::Active,
            kind: TenantKind::Customer,
            plan: Plan::starter(),
            trial_ends_at: None,
            trial_expired_at: None,
            purged_at: None,
            contract_start: None,
            contract_end: None,
            erp_customer_id: None,
            stripe_customer_id: None,
            sales_owner: None,
            products: Default::default(),
            created_at: at.clone(),
            created_by: "system".into(),
            updated_at: at,
            note: None,
        }
    }

    /// The record's external customer id of `kind`.
    pub fn external_id(&self, kind: ExternalIdKind) -> Option<&ExternalId> {
        match kind {
            ExternalIdKind::ErpCustomerId => self.erp_customer_id.as_ref(),
            ExternalIdKind::StripeCustomerId => self.stripe_customer_id.as_ref(),
        }
    }

    /// True when this record holds `id` as its `kind` and its claim counts (the tenant
    /// is not archived).
    pub fn holds(&self, kind: ExternalIdKind, id: &ExternalId) -> bool {
        self.status != TenantStatus::Archived && self.external_id(kind) == Some(id)
    }

    /// The status the tenant acts with at `now`: a `trial` past `trial_ends_at` acts as
    /// `frozen` (an end that does not parse counts as passed: a corrupt value must not
    /// extend a trial).
    pub fn effective_status(&self, now: Timestamp) -> TenantStatus {
        let end = self
            .trial_ends_at
            .as_deref()
            .map(|s| Timestamp::parse(s).unwrap_or(now));
        self.status.effective(end, now)
    }

    /// The names of the products that count at `now`, in name order: enabled, and not
    /// expired (an expiry that does not parse counts as passed). The tenant's status
    /// is not consulted: what a status takes away is decided where it applies.
    pub fn active_products(&self, now: Timestamp) -> Vec<String> {
        self.products
            .iter()
            .filter(|(_, p)| {
                p.enabled
                    && p.expires_at
                        .as_deref()
                        .is_none_or(|s| Timestamp::parse(s).is_some_and(|t| !t.has_passed(now)))
            })
            .map(|(name, _)| name.as_str().to_owned())
            .collect()
    }
}

impl Store {
    /// A tenant by slug (an archived one too: its record is a tombstone).
    pub async fn tenant(
        &self,
        tenant: &Tenant,
    ) -> Result<Option<Versioned<TenantRecord>>, StoreError> {
        self.tenants.get(tenant).await
    }

    /// Writes the `default` tenant if it is not there (idempotent, safe to race: every
    /// worker calls it at start). `Some` when this call wrote it.
    pub async fn ensure_default_tenant(
        &self,
        now: Timestamp,
    ) -> Result<Option<Versioned<TenantRecord>>, StoreError> {
        let rec = TenantRecord::default_tenant(now);
        match self.tenants.create(&rec.tenant, &rec).await {
            Ok(revision) => Ok(Some(Versioned {
                value: rec,
                revision,
            })),
            Err(StoreError::Conflict) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Claims the external customer id `id` (as a `kind`) for `tenant`, unless another
    /// tenant holds it. Call it before writing a record that names the id; if that write
    /// does not happen, [`Store::release_external_id`] undoes the claim.
    pub async fn claim_external_id(
        &self,
        kind: ExternalIdKind,
        id: &ExternalId,
        tenant: &Tenant,
        now: Timestamp,
    ) -> Result<Claim, StoreError> {
        let key = ClaimKey::new(kind, id);
        let mine = TenantClaimRecord {
            v: SCHEMA_V,
            kind,
            value: id.clone(),
            tenant: tenant.clone(),
            claimed_at: now.to_rfc3339(),
        };
        for _ in 0..CLAIM_ROUNDS {
            match self.tenant_claims.create(&key, &mine).await {
                Ok(_) => return Ok(Claim::Ours),
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e),
            }
            let Some(held) = self.tenant_claims.get(&key).await? else {
                continue; // released in between: claim again
            };
            let holder = held.value.tenant.clone();
            if holder == *tenant {
                return Ok(Claim::Ours);
            }
            // The claim counts while its tenant's record names the id.
            let rec = self.tenant(&holder).await?;
            if rec.as_ref().is_some_and(|r| r.value.holds(kind, id)) {
                return Ok(Claim::Theirs(holder));
            }
            let archived = rec
                .as_ref()
                .is_some_and(|r| r.value.status == TenantStatus::Archived);
            let settled = Timestamp::parse(&held.value.claimed_at)
                .is_none_or(|at| (at + CLAIM_SETTLE).has_passed(now));
            if !archived && !settled {
                // Its tenant's write may be under way: it is theirs for now.
                return Ok(Claim::Theirs(holder));
            }
            // An orphan: take it over, if it is still the claim judged here.
            let taken = self
                .tenant_claims
                .modify(&key, |cur| {
                    Ok::<_, StoreError>(match cur {
                        Some(c) if c.revision != held.revision => Decision::Keep(false),
                        _ => Decision::Put(mine.clone(), true),
                    })
                })
                .await?;
            if taken.extra {
                return Ok(Claim::Ours);
            }
        }
        Err(StoreError::Conflict)
    }

    /// Releases `tenant`'s claim of `id` (as a `kind`) unless its record still holds it
    /// (idempotent). Called after a record stopped naming the id (changed, archived) and
    /// after a write that would have named it did not happen.
    pub async fn release_external_id(
        &self,
        kind: ExternalIdKind,
        id: &ExternalId,
        tenant: &Tenant,
    ) -> Result<(), StoreError> {
        if self
            .tenant(tenant)
            .await?
            .is_some_and(|r| r.value.holds(kind, id))
        {
            return Ok(());
        }
        self.tenant_claims
            .modify(&ClaimKey::new(kind, id), |cur| {
                Ok::<_, StoreError>(match cur {
                    Some(c) if c.value.tenant == *tenant => Decision::Delete(()),
                    _ => Decision::Keep(()),
                })
            })
            .await
            .map(drop)
    }
}

/// What archiving a tenant deleted (PROTOCOL §7): the identities whose connections are
/// to close, and counts for its event.
#[derive(Debug, Default, Clone)]
pub struct Purged {
    /// Users deleted (they held nothing elsewhere) or trimmed (their assignments in the
    /// tenant removed): both lose permissions, so both are kicked.
    pub users: Vec<Handle>,
    pub users_deleted: usize,
    /// The machines deleted, as (machine id, credential digest) for the kick.
    pub machines: Vec<(String, String)>,
    pub sites: usize,
    pub roles: usize,
    pub invites: usize,
    /// The API keys deleted, for the kick.
    pub apikeys: Vec<super::records::ApiKeyRecord>,
    /// The tenant's vault credentials (its data key went with them).
    pub credentials: usize,
}

impl Store {
    /// Deletes everything of `tenant` but its record and its audit events: machines
    /// (with their uid claims and credential index entries), sites, roles, invites,
    /// its owner guard, and its users (those holding nothing elsewhere are deleted, the
    /// others lose the tenant's assignments). Idempotent: a crash part way is finished
    /// by running it again.
    pub async fn purge_tenant(&self, tenant: &Tenant) -> Result<Purged, StoreError> {
        let mut out = Purged::default();
        let mine = format!("{}.>", tenant.as_str());
        // Machines, through the index (`<tenant>.<SITE>.<state>`).
        let mut after = None;
        loop {
            let page = self.machines.page_indexed(&mine, after, 1000, Some).await?;
            for m in page.items {
                self.release_uid(&m).await?;
                self.drop_credential(&m.credential_sha256).await?;
                self.machines.remove(&m.machine_id).await?;
                out.machines
                    .push((m.machine_id.to_string(), m.credential_sha256.clone()));
            }
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        out.sites = delete_all(&self.sites, &mine, |s: &SiteRecord| {
            SiteRef::new(&s.tenant, &s.site)
        })
        .await?;
        out.roles = delete_all(&self.roles, &mine, |r: &RoleRecord| {
            RoleKey::new(&r.tenant, &r.name)
        })
        .await?;
        // Invites and users name their tenant inside the record: a walk of the bucket.
        let mut after = None;
        loop {
            let page = self
                .invites
                .page(">", after, 1000, |i| {
                    (i.assignment.scope().tenant() == Some(tenant)).then_some(i.invite_id)
                })
                .await?;
            for id in page.items {
                self.invites.remove(&id).await?;
                out.invites += 1;
            }
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let mut after = None;
        loop {
            let page = self
                .users
                .page(">", after, 1000, |u| {
                    u.assignments
                        .iter()
                        .any(|a| a.scope().tenant() == Some(tenant))
                        .then_some(u.handle)
                })
                .await?;
            for h in page.items {
                if self.purge_user(tenant, &h).await? {
                    out.users_deleted += 1;
                }
                out.users.push(h);
            }
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        out.apikeys = self.purge_apikeys(tenant).await?;
        self.meta.remove(&OwnersKey::Tenant(tenant.clone())).await?;
        out.credentials = self
            .destroy_holder(&crate::domain::CredentialHolder::Tenant(tenant.clone()))
            .await?;
        Ok(out)
    }

    /// Takes `tenant` from user `h`: its assignments there go; a user left with none
    /// (and none elsewhere) is deleted with its key binding. True when deleted. The
    /// tenant's owner guard is not asked: the whole tenant goes.
    async fn purge_user(&self, tenant: &Tenant, h: &Handle) -> Result<bool, StoreError> {
        let m = self
            .users
            .modify(h, |cur| {
                let Some(cur) = cur else {
                    return Ok::<_, StoreError>(Decision::Keep(None));
                };
                let rest: Vec<_> = cur
                    .value
                    .assignments
                    .iter()
                    .filter(|a| a.scope().tenant() != Some(tenant))
                    .cloned()
                    .collect();
                if rest.is_empty() {
                    return Ok(Decision::Delete(Some(cur.value.sign_pub)));
                }
                let mut next = cur.value.clone();
                next.assignments = rest;
                Ok(Decision::Put(next, None))
            })
            .await?;
        match m.extra {
            Some(key) if m.changed => {
                self.unbind_key(&key, h).await?;
                // A deleted user's data key goes: its credentials never open again.
                self.destroy_holder(&crate::domain::CredentialHolder::User(h.clone()))
                    .await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// Deletes every record of `bucket` on key filter `filter`; how many.
async fn delete_all<K: StoreKey, T>(
    bucket: &super::TypedBucket<K, T>,
    filter: &str,
    key: impl Fn(&T) -> K,
) -> Result<usize, StoreError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Clone + super::Record,
{
    let mut n = 0;
    let mut after = None;
    loop {
        let page = bucket.page(filter, after, 1000, Some).await?;
        for rec in page.items {
            bucket.remove(&key(&rec)).await?;
            n += 1;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(n),
        }
    }
}

impl Store {
    /// Tenants whose trial has ended (`trial`, past `trial_ends_at`) and whose end no
    /// worker recorded yet: a walk of the tenants bucket (small), batched.
    pub async fn ended_trials(&self, now: Timestamp) -> Result<Vec<Tenant>, StoreError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .tenants
                .page(">", after, 1000, |t| {
                    trial_ended(&t, now).then_some(t.tenant)
                })
                .await?;
            out.extend(page.items);
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// Records that `tenant`'s trial ended, with a note for its `tenant.trial_expired`
    /// (once: the worker whose write lands gets the record and publishes the event; a
    /// healer finishes it if that worker died first).
    pub async fn mark_trial_expired(
        &self,
        tenant: &Tenant,
        now: Timestamp,
    ) -> Result<Option<Versioned<TenantRecord>>, StoreError> {
        let note = ChangeNote::new("system", None, &now.to_rfc3339(), Noted::TenantTrialExpired);
        let m = self
            .tenants
            .modify(tenant, |cur| {
                Ok::<_, StoreError>(match cur {
                    Some(c) if trial_ended(&c.value, now) => {
                        let mut next = c.value.clone();
                        next.trial_expired_at = Some(now.to_rfc3339());
                        next.note = Some(note.clone());
                        Decision::put(next)
                    }
                    _ => Decision::Keep(()),
                })
            })
            .await?;
        Ok(m.current.filter(|_| m.changed))
    }
}

/// This process's live copy of the tenants bucket ([`super::BucketView`]), for the paths
/// that ask a tenant's status or products on every request (register, enroll, the
/// callout, a tenant's writes).
#[derive(Debug, Clone, Default)]
pub struct TenantView(super::BucketView<TenantRecord>);

impl TenantView {
    /// `Some(the record, or None for no such tenant)` once caught up; `None` while not.
    pub fn get(&self, t: &Tenant) -> Option<Option<TenantRecord>> {
        self.0.get(t.as_str()).map(|r| r.map(|v| v.value))
    }

    /// The tenants whose trial ended and whose end no worker recorded yet (as
    /// [`Store::ended_trials`] finds them), from memory; `None` while not caught up.
    pub fn ended_trials(&self, now: Timestamp) -> Option<Vec<Tenant>> {
        self.0
            .filter(|t| trial_ended(t, now).then(|| t.tenant.clone()))
    }

    /// A record this worker just wrote: seen at once, before its watch brings it.
    pub fn put(&self, rec: &TenantRecord) {
        let v = super::Versioned {
            value: rec.clone(),
            revision: 0,
        };
        self.0.put(rec.tenant.as_str(), v);
    }
}

impl Store {
    /// Starts following the tenants bucket into a [`TenantView`] (until `stop`).
    pub fn watch_tenants(&self, stop: tokio::sync::watch::Receiver<bool>) -> TenantView {
        TenantView(self.tenants.watch_view(str::to_owned, stop))
    }
}

/// True when `t`'s trial has ended and no worker recorded it yet.
fn trial_ended(t: &TenantRecord, now: Timestamp) -> bool {
    t.status == TenantStatus::Trial
        && t.trial_expired_at.is_none()
        && t.effective_status(now) == TenantStatus::Frozen
}
