//! Tenants (PROTOCOL §7): the record by slug, the `default` tenant every roster starts
//! with, what a record says at a given time (its effective status, its live products),
//! and the claims that keep each external customer id (ERP, Stripe) to one tenant.
//!
//! A claim is written before the record that names the id, with `create`, so of two
//! tenants racing for one id exactly one wins. It counts only while its tenant's record
//! names the id and the tenant is not archived: a claim a crash left behind (written,
//! then no record) is taken over once it is older than [`CLAIM_SETTLE`].

use std::time::Duration;

use super::records::{TenantClaimRecord, TenantRecord, SCHEMA_V};
use super::{ClaimKey, Decision, Store, StoreError, Versioned};
use crate::domain::{ExternalId, ExternalIdKind, Plan, Tenant, TenantKind, TenantStatus};
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
            contract_start: None,
            contract_end: None,
            erp_customer_id: None,
            stripe_customer_id: None,
            sales_owner: None,
            products: Default::default(),
            created_at: at.clone(),
            created_by: "system".into(),
            updated_at: at,
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
