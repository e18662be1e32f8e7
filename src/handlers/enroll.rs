//! `P.v1.enroll`: an agent joins with its site's enrollment key (DESIGN.md, Enroll).
//!
//! The agent key decides the machine id, so a re-enroll finds its machine with one read.
//! A new machine first claims its uid in the tenant with a `create`; losing that claim to
//! another agent key means a clone or a collision, and the machine waits as `pending`.

use crate::audit::{Actor, ActorType, AuditEvent, Outcome, Target};
use crate::crypto::{self, Secret, SecretKind};
use crate::domain::{MachineId, Policy, Tenant};
use crate::keyring::Verdict;
use crate::store::records::{
    CredentialIndexRecord, MachineRecord, MachineState, SiteVisit, UidIndexRecord, SCHEMA_V,
};
use crate::store::{uid_key, StoreError, Versioned};
use crate::time_util;
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
) -> Result<EnrollReply, ApiError> {
    let tenant = req.tenant.clone().unwrap_or_else(Tenant::default_tenant);
    let site_id = format!("{}/{}", tenant.as_str(), req.site.as_str());

    // 1. The key: unknown site, wrong key and rotated-out key all end in the same denial.
    let site = ctx.store.site(&tenant, &req.site).await?;
    let refusal = match ctx
        .keys
        .verify(
            &site_id,
            site.as_ref(),
            &req.enrollment_key,
            signed.source.as_deref().unwrap_or(&signed.key.to_hex()),
        )
        .await
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
        Err(e) => {
            audit_denial(ctx, signed, &req, &tenant, &e, false).await;
            return Err(e);
        }
    };
    // Only a valid site key spends a nonce, so strangers cannot fill the nonce bucket.
    ctx.spend_nonce(signed).await?;
    let site = site.ok_or_else(denied)?.value;

    // 2. The machine: one per agent key.
    let machine_id = MachineId::for_agent(&signed.key);
    let credential = Secret::mint(SecretKind::Credential);
    let cred_digest = credential.digest_hex();
    let now = time_util::now_rfc3339();
    let label = |l: &Option<crate::domain::Label>| l.as_ref().map(|v| v.as_str().to_owned());
    let (machine, revision, old_digest, moved_from) = loop {
        match ctx.store.machine(&machine_id).await? {
            Some(cur) => {
                let m = &cur.value;
                if m.tenant != tenant {
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
                    let e = denied();
                    audit_denial(ctx, signed, &req, &tenant, &e, true).await;
                    return Err(e);
                }
                let mut next = m.clone();
                next.credential_sha256 = cred_digest.clone();
                next.last_enrolled_at = now.clone();
                next.key_version = key_version;
                next.agent_kex = req.agent_kex;
                next.hostname = label(&req.hostname).or(next.hostname);
                next.os = label(&req.os).or(next.os);
                next.agent_version = label(&req.agent_version).or(next.agent_version);
                let moved = (m.site != req.site).then(|| m.site.clone());
                if moved.is_some() {
                    next.site = req.site.clone();
                    next.site_history.push(SiteVisit {
                        site: req.site.clone(),
                        at: now.clone(),
                    });
                }
                next.updated_at = Some(now.clone());
                match ctx
                    .store
                    .machines
                    .update(machine_id.as_str(), &next, cur.revision)
                    .await
                {
                    Ok(rev) => break (next, rev, Some(m.credential_sha256.clone()), moved),
                    Err(StoreError::Conflict) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            None => {
                let owns_uid = claim_uid(ctx, &tenant, &req, &machine_id, &now).await?;
                let (state, reason) = if !owns_uid {
                    (MachineState::Pending, Some("uid_collision"))
                } else if site.policy == Policy::Approval {
                    (MachineState::Pending, Some("site_policy"))
                } else {
                    (MachineState::Active, None)
                };
                let rec = MachineRecord {
                    v: SCHEMA_V,
                    machine_id: machine_id.clone(),
                    tenant: tenant.clone(),
                    site: req.site.clone(),
                    machine_uid: req.machine_uid.clone(),
                    hostname: label(&req.hostname),
                    os: label(&req.os),
                    agent_version: label(&req.agent_version),
                    agent_pub: signed.key,
                    agent_kex: req.agent_kex,
                    state,
                    pending_reason: reason.map(str::to_owned),
                    credential_sha256: cred_digest.clone(),
                    enrolled_at: now.clone(),
                    last_enrolled_at: now.clone(),
                    key_version,
                    site_history: vec![SiteVisit {
                        site: req.site.clone(),
                        at: now.clone(),
                    }],
                    decided_by: None,
                    decided_at: None,
                    updated_at: None,
                    revoked: None,
                };
                match ctx.store.machines.create(machine_id.as_str(), &rec).await {
                    Ok(rev) => break (rec, rev, None, None),
                    // Our own earlier attempt (or a racing twin) made it: re-enroll instead.
                    Err(StoreError::Conflict) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    };

    crate::failpoint::hit("enroll.after_machine");

    // 3. Index the new credential; the old one is dead because the record no longer
    //    carries its digest, and its index entry is removed as cleanup.
    let idx = CredentialIndexRecord {
        v: SCHEMA_V,
        machine_id: machine_id.clone(),
        created_at: now.clone(),
    };
    match ctx.store.credentials.create(&cred_digest, &idx).await {
        Ok(_) | Err(StoreError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    crate::failpoint::hit("enroll.after_credential_index");
    let reenrolled = old_digest.is_some();
    if let Some(old) = &old_digest {
        if let Ok(Some(e)) = ctx.store.credentials.get(old).await {
            let _ = ctx.store.credentials.delete(old, e.revision).await;
        }
    }

    // 4. Audit, then reply with the credential sealed to the agent.
    publish_events(ctx, &machine, revision, reenrolled, moved_from.as_ref()).await?;
    crate::failpoint::hit("enroll.after_audit");

    // 5. The replaced credential's live connections close; the agent key's and the new
    //    credential's stay (PROTOCOL §6).
    if let Some(old) = old_digest.filter(|old| *old != cred_digest) {
        let actor = Actor {
            id: machine_id.to_string(),
            kind: ActorType::Machine,
            name: machine.hostname.clone(),
        };
        super::evict(
            ctx,
            &[crate::bus::machine_credential_conn_name(
                machine_id.as_str(),
                &old,
            )],
            "machine.credential_evicted",
            &actor,
            Target::new("machine", machine_id.as_str()),
            revision,
        )
        .await;
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

/// Records a denied enrollment: the site it targeted and the code, never the key. A
/// known machine's (`identity`) is an audit event; a stranger's is counted into the
/// security log.
async fn audit_denial(
    ctx: &Ctx,
    signed: &Signed,
    req: &EnrollRequest,
    tenant: &Tenant,
    err: &ApiError,
    identity: bool,
) {
    let target = Target::new("site", format!("{}/{}", tenant.as_str(), req.site.as_str()));
    if !identity {
        ctx.audit.security().record(crate::audit::security::Denial {
            action: "machine.enroll".into(),
            code: err.code.as_str().to_owned(),
            source: signed.source.clone(),
            actor: signed.key.to_hex(),
            target,
            site: Some((tenant.as_str().to_owned(), req.site.as_str().to_owned())),
        });
        return;
    }
    let mut ev = AuditEvent::new(
        &format!("denied/enroll/{}", signed.request_key()),
        "machine.enroll",
        Outcome::Denied,
        Actor {
            id: MachineId::for_agent(&signed.key).to_string(),
            kind: ActorType::Machine,
            name: None,
        },
        target,
    )
    .with("code", err.code.as_str())
    .with("machine_uid", req.machine_uid.as_str());
    ev.tenant = Some(tenant.as_str().to_owned());
    ev.site = Some(req.site.as_str().to_owned());
    ev.source = signed.source.clone();
    if let Err(e) = ctx.audit.publish(&ev).await {
        tracing::warn!(error = %e, "could not record a denied enrollment");
    }
}

/// Claims the uid for `machine_id`; `false` when another machine holds it.
async fn claim_uid(
    ctx: &Ctx,
    tenant: &Tenant,
    req: &EnrollRequest,
    machine_id: &MachineId,
    now: &str,
) -> Result<bool, ApiError> {
    let key = uid_key(tenant, &req.machine_uid);
    let rec = UidIndexRecord {
        v: SCHEMA_V,
        machine_id: machine_id.clone(),
        machine_uid: req.machine_uid.clone(),
        created_at: now.to_owned(),
    };
    loop {
        match ctx.store.machine_uids.create(&key, &rec).await {
            Ok(_) => {
                crate::failpoint::hit("enroll.after_uid_claim");
                return Ok(true);
            }
            Err(StoreError::Conflict) => match ctx.store.machine_uids.get(&key).await? {
                Some(Versioned { value, .. }) => return Ok(value.machine_id == *machine_id),
                None => continue, // released in between: try again
            },
            Err(e) => return Err(e.into()),
        }
    }
}

async fn publish_events(
    ctx: &Ctx,
    m: &MachineRecord,
    revision: u64,
    reenrolled: bool,
    moved_from: Option<&crate::domain::SiteCode>,
) -> Result<(), ApiError> {
    let actor = Actor {
        id: m.machine_id.to_string(),
        kind: ActorType::Machine,
        name: m.hostname.clone(),
    };
    let action = if reenrolled {
        "machine.reenrolled"
    } else if m.state == MachineState::Pending {
        "machine.pending"
    } else {
        "machine.enrolled"
    };
    let mut events = vec![(action, None)];
    if let Some(from) = moved_from {
        events.push(("machine.site_moved", Some(from)));
    }
    for (action, from) in events {
        let mut ev = AuditEvent::new(
            &format!("{action}/{}/{revision}", m.machine_id),
            action,
            Outcome::Ok,
            actor.clone(),
            Target::new("machine", m.machine_id.as_str()),
        )
        .with("machine_uid", m.machine_uid.as_str())
        .with("state", m.state.as_str())
        .with("key_version", m.key_version)
        .with("agent_pub", m.agent_pub.to_hex());
        if let Some(r) = &m.pending_reason {
            ev = ev.with("pending_reason", r.as_str());
        }
        if let Some(from) = from {
            ev = ev
                .with("from_site", from.as_str())
                .with("to_site", m.site.as_str());
        }
        ev.tenant = Some(m.tenant.as_str().to_owned());
        ev.site = Some(m.site.as_str().to_owned());
        ctx.audit.publish(&ev).await?;
    }
    Ok(())
}
