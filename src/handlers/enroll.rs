//! `P.v1.enroll`: an agent joins with its site's enrollment key (DESIGN.md, Enroll).
//!
//! The agent key decides the machine id, so a re-enroll finds its machine with one read.
//! A new machine first claims its uid in the tenant with a `create`; losing that claim to
//! another agent key means a clone or a collision, and the machine waits as `pending`.

use crate::audit::{Actor, Enrolled, Event, Evicted};
use crate::crypto::{self, Secret, SecretKind};
use crate::domain::{MachineId, Policy, SiteRef, Tenant};
use crate::keyring::Verdict;
use crate::store::records::{MachineRecord, MachineState, SiteVisit, SCHEMA_V};
use crate::store::{Decision, Known, UidClaim};
use crate::wire::enroll::{EnrollReply, EnrollRequest};
use crate::wire::{ApiError, ErrorCode};

use super::{Ctx, Signed};

fn denied() -> ApiError {
    ApiError::new(ErrorCode::EnrollmentDenied, "enrollment denied")
}

pub(super) async fn handle(
    ctx: &Ctx,
    signed: &Signed,
    req: EnrollRequest,
) -> Result<EnrollReply, EnrollError> {
    let tenant = req.tenant.clone().unwrap_or_else(Tenant::default_tenant);
    let place = SiteRef::new(&tenant, &req.site);
    let site_id = place.to_string();

    // 1. The key: unknown site, wrong key and rotated-out key all end in the same denial.
    // The tenant is read beside the site (no extra round trip) and judged after the key.
    let (site, tenant_open) = tokio::join!(ctx.store.site(&place), ctx.writable_tenant(&tenant));
    let site = site?;
    let refusal = match ctx
        .keys
        .verify(
            &ctx.store,
            &site_id,
            site.as_ref(),
            &req.enrollment_key,
            signed.source.as_deref().unwrap_or(&signed.key.to_hex()),
            ctx.clock.now(),
        )
        .await?
    {
        Verdict::Valid(v) => Ok(v),
        Verdict::Denied => Err(denied()),
        Verdict::Throttled => Err(ApiError::new(
            ErrorCode::RateLimited,
            "too many failed enrollments; retry later",
        )),
    };
    let key_version = match refusal {
        Ok(v) => v,
        Err(error) => return Err(at_site(error, &place, &req, false)),
    };
    // A frozen or archived tenant enrolls nothing: the same denial, after the same key
    // check, so the reply does not tell a frozen tenant from a wrong key.
    match tenant_open {
        Ok(_) => {}
        Err(e) if matches!(e.code, ErrorCode::NotFound | ErrorCode::TenantInactive) => {
            return Err(at_site(denied(), &place, &req, false))
        }
        Err(e) => return Err(e.into()),
    }
    // Only a valid site key spends a nonce, so strangers cannot fill the nonce bucket.
    ctx.spend_nonce(signed).await?;
    let site = site.ok_or_else(denied)?.value;

    // 2. The machine: one per agent key. A new one first claims its uid in the tenant.
    let machine_id = MachineId::for_agent(&signed.key);
    let credential = Secret::mint(SecretKind::Credential);
    let cred_digest = credential.digest_hex();
    let now = ctx.clock.now().to_rfc3339();
    let known = ctx.store.machine(&machine_id).await?;
    let owns_uid = match &known {
        Some(_) => UidClaim::Ours, // decided when it first enrolled
        None => {
            let claim = ctx
                .store
                .claim_uid(&tenant, &req.machine_uid, &machine_id, &now)
                .await?;
            crate::failpoint::hit("enroll.after_uid_claim");
            claim
        }
    };
    let fresh = Fresh {
        req: &req,
        signed,
        machine_id: &machine_id,
        cred_digest: &cred_digest,
        now: &now,
        key_version,
        approval: site.policy == Policy::Approval,
        owns_uid,
    };
    let decided = ctx
        .store
        .machines
        .modify_from(&machine_id, Known::Read(known), |cur| match cur {
            Some(cur) => fresh.reenroll(&cur.value),
            None => Ok(Decision::Put(fresh.new_machine(), (None, None))),
        })
        .await;
    let m = match decided {
        Ok(m) => m,
        Err(e) if e.code == ErrorCode::EnrollmentDenied => {
            return Err(at_site(e, &place, &req, true))
        }
        Err(e) => return Err(e.into()),
    };
    let (old_digest, moved_from) = m.extra;
    let current = m.current.ok_or_else(denied)?;
    let (machine, revision) = (current.value, current.revision);

    crate::failpoint::hit("enroll.after_machine");

    // 3. Index the new credential; the old one is dead because the record no longer
    //    carries its digest, and its index entry is removed as cleanup.
    ctx.store
        .index_credential(&cred_digest, &machine_id, &now)
        .await?;
    crate::failpoint::hit("enroll.after_credential_index");
    let reenrolled = old_digest.is_some();
    if let Some(old) = &old_digest {
        if let Err(e) = ctx.store.drop_credential(old).await {
            tracing::debug!(error = %e, "could not drop a replaced credential's index entry");
        }
    }

    // 4. Audit, then reply with the credential sealed to the agent.
    publish_events(ctx, &machine, revision, reenrolled, moved_from.as_ref()).await?;
    crate::failpoint::hit("enroll.after_audit");

    // 5. The replaced credential's live connections close; the agent key's and the new
    //    credential's stay (PROTOCOL §6).
    if let Some(old) = old_digest.filter(|old| *old != cred_digest) {
        let actor = Actor::machine(&machine_id, machine.hostname.as_deref());
        let names = [crate::bus::machine_credential_conn_name(
            machine_id.as_str(),
            &old,
        )];
        let who = Evicted::MachineCredential(&machine_id);
        super::evict(ctx, &names, who, &actor, revision).await;
    }
    let sealed = crypto::seal_credential(
        credential.expose(),
        req.agent_kex.bytes(),
        machine_id.as_str(),
    )
    .map_err(|_| ApiError::bad_request("agent_kex is not usable"))?;
    Ok(EnrollReply {
        machine_id,
        state: machine.state.as_str().to_owned(),
        site: machine.site,
        tenant,
        credential: sealed,
    })
}

/// A refused enrollment. The key check's and a known machine's refusals name the site
/// they targeted, so the responder records them there (never the key).
#[derive(Debug)]
pub(super) enum EnrollError {
    /// Any other refusal, recorded as every endpoint's are.
    Api(ApiError),
    /// A refusal at a site: by a stranger (a wrong, unknown or rotated-out key, a
    /// throttled source) or by a known machine that was rejected or revoked.
    AtSite {
        error: ApiError,
        site: SiteRef,
        machine_uid: crate::domain::MachineUid,
        known_machine: bool,
    },
}

impl From<ApiError> for EnrollError {
    fn from(e: ApiError) -> Self {
        EnrollError::Api(e)
    }
}

impl From<crate::store::StoreError> for EnrollError {
    fn from(e: crate::store::StoreError) -> Self {
        EnrollError::Api(e.into())
    }
}

fn at_site(error: ApiError, site: &SiteRef, req: &EnrollRequest, known: bool) -> EnrollError {
    EnrollError::AtSite {
        error,
        site: site.clone(),
        machine_uid: req.machine_uid.clone(),
        known_machine: known,
    }
}

/// The inputs of one enrollment's machine decision.
struct Fresh<'a> {
    req: &'a EnrollRequest,
    signed: &'a Signed,
    machine_id: &'a MachineId,
    cred_digest: &'a str,
    now: &'a str,
    key_version: u32,
    approval: bool,
    owns_uid: UidClaim,
}

/// What a re-enroll replaced: the old credential's digest and the site it moved from.
type Replaced = (Option<String>, Option<crate::domain::SiteCode>);

impl Fresh<'_> {
    fn label(l: &Option<crate::domain::Label>) -> Option<String> {
        l.as_ref().map(|v| v.as_str().to_owned())
    }

    /// A known machine enrolls again: a fresh credential, the newest facts, perhaps a
    /// new site of the same tenant. A rejected or revoked machine never comes back.
    fn reenroll(&self, m: &MachineRecord) -> Result<Decision<MachineRecord, Replaced>, ApiError> {
        let req = self.req;
        if m.tenant != req.tenant.clone().unwrap_or_else(Tenant::default_tenant) {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "this agent key is enrolled in another tenant",
            ));
        }
        if m.machine_uid != req.machine_uid {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "this agent key is enrolled with another machine_uid",
            ));
        }
        if matches!(m.state, MachineState::Rejected | MachineState::Revoked) {
            return Err(denied());
        }
        let mut next = m.clone();
        next.credential_sha256 = self.cred_digest.to_owned();
        next.last_enrolled_at = self.now.to_owned();
        next.key_version = self.key_version;
        next.agent_kex = req.agent_kex;
        next.hostname = Self::label(&req.hostname).or(next.hostname);
        next.os = Self::label(&req.os).or(next.os);
        next.agent_version = Self::label(&req.agent_version).or(next.agent_version);
        let moved = (m.site != req.site).then(|| m.site.clone());
        if moved.is_some() {
            next.site = req.site.clone();
            next.site_history.push(SiteVisit {
                site: req.site.clone(),
                at: self.now.to_owned(),
            });
        }
        next.updated_at = Some(self.now.to_owned());
        Ok(Decision::Put(
            next,
            (Some(m.credential_sha256.clone()), moved),
        ))
    }

    /// A new machine: active, or pending when its uid collided or the site wants approval.
    fn new_machine(&self) -> MachineRecord {
        let req = self.req;
        let (state, reason) = if self.owns_uid == UidClaim::Theirs {
            (MachineState::Pending, Some("uid_collision"))
        } else if self.approval {
            (MachineState::Pending, Some("site_policy"))
        } else {
            (MachineState::Active, None)
        };
        MachineRecord {
            v: SCHEMA_V,
            machine_id: self.machine_id.clone(),
            tenant: req.tenant.clone().unwrap_or_else(Tenant::default_tenant),
            site: req.site.clone(),
            machine_uid: req.machine_uid.clone(),
            hostname: Self::label(&req.hostname),
            os: Self::label(&req.os),
            agent_version: Self::label(&req.agent_version),
            agent_pub: self.signed.key,
            agent_kex: req.agent_kex,
            state,
            pending_reason: reason.map(str::to_owned),
            credential_sha256: self.cred_digest.to_owned(),
            enrolled_at: self.now.to_owned(),
            last_enrolled_at: self.now.to_owned(),
            key_version: self.key_version,
            site_history: vec![SiteVisit {
                site: req.site.clone(),
                at: self.now.to_owned(),
            }],
            decided_by: None,
            decided_at: None,
            updated_at: None,
            revoked: None,
            index_seq: None,
            note: None,
        }
    }
}

/// The site machine `m`'s latest enrollment moved it from, read from its record (that
/// enrollment's visit is the last of its history): for a healer finishing it.
pub(crate) fn moved_from(m: &MachineRecord) -> Option<&crate::domain::SiteCode> {
    match m.site_history.as_slice() {
        [.., before, last] if last.at == m.last_enrolled_at && last.site == m.site => {
            Some(&before.site).filter(|s| **s != m.site)
        }
        _ => None,
    }
}

async fn publish_events(
    ctx: &Ctx,
    m: &MachineRecord,
    revision: u64,
    reenrolled: bool,
    moved_from: Option<&crate::domain::SiteCode>,
) -> Result<(), ApiError> {
    let actor = Actor::machine(&m.machine_id, m.hostname.as_deref());
    let how = Enrolled::of(reenrolled, m);
    let event = Event::MachineEnrolled {
        machine: m,
        revision,
        how,
    };
    ctx.audit.record(actor.clone(), event).await?;
    if let Some(from) = moved_from {
        let event = Event::MachineSiteMoved {
            machine: m,
            revision,
            from,
        };
        ctx.audit.record(actor, event).await?;
    }
    Ok(())
}
