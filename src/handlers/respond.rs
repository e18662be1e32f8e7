//! The responder: what a request came to (a reply, or a refusal and who it came from),
//! the PROTOCOL error envelope, and the record of a refusal (an identity's as an audit
//! event, a stranger's as a security tally).

use super::*;

/// What one request came to: the reply to send, and its PROTOCOL code if it was refused.
#[derive(Debug)]
pub struct Handled {
    pub body: Bytes,
    pub headers: HeaderMap,
    pub refused: Option<ErrorCode>,
}

/// Who a refused request can be attributed to, as far as its checks got.
#[derive(Debug)]
pub(super) enum Requester {
    /// Nobody proved a key (a bad, missing or malformed signature).
    Unproven,
    /// A proven key that is not an active user: a stranger.
    Stranger(Signed),
    /// An active user (boxed: the record is large and refusals travel in `Result`s).
    Identity(Box<Admin>),
    /// A known machine's agent key (a rejected or revoked machine enrolling again).
    Machine(Signed),
}

/// Where a refused enrollment was aimed: it is recorded at that site.
#[derive(Debug)]
pub(super) struct At {
    pub(super) site: crate::domain::SiteRef,
    pub(super) machine_uid: crate::domain::MachineUid,
}

/// A refusal, with who it came from and where it was aimed, for the record.
#[derive(Debug)]
pub(super) struct Refusal {
    pub(super) error: ApiError,
    pub(super) by: Requester,
    pub(super) at: Option<At>,
}

/// Refusals of a request nobody proved a key for.
pub(super) fn unproven(error: ApiError) -> Refusal {
    Refusal {
        error,
        by: Requester::Unproven,
        at: None,
    }
}

/// Refusals of a stranger's request (built only when one happens).
pub(super) fn stranger(signed: &Signed) -> impl Fn(ApiError) -> Refusal + '_ {
    move |error| Refusal {
        error,
        by: Requester::Stranger(signed.clone()),
        at: None,
    }
}

/// Refusals of an identity's request (built only when one happens).
pub(super) fn identity(admin: &Admin) -> impl Fn(ApiError) -> Refusal + '_ {
    move |error| Refusal {
        error,
        by: Requester::Identity(Box::new(admin.clone())),
        at: None,
    }
}

/// Handles one request end to end. `reply` is the request's reply subject, which names
/// its connection (a denial's source).
pub async fn handle(
    ctx: &Ctx,
    ep: Endpoint,
    subject: &str,
    reply: Option<&str>,
    headers: Option<&HeaderMap>,
    body: &[u8],
) -> Handled {
    let source = crate::audit::security::source_of_reply(reply);
    match dispatch(ctx, ep, subject, source.clone(), headers, body).await {
        Ok(body) => Handled {
            body,
            headers: HeaderMap::new(),
            refused: None,
        },
        Err(refusal) => {
            let error = &refusal.error;
            if should_audit(ep, error.code, refusal.at.is_some()) {
                record_denial(ctx, ep, &refusal, headers, body, source).await;
            }
            let error = refusal.error;
            let (body, reply_headers) = error_reply(&error);
            Handled {
                body,
                headers: reply_headers,
                refused: Some(error.code),
            }
        }
    }
}

/// The envelope and micro headers of a refusal.
pub fn error_reply(err: &ApiError) -> (Bytes, HeaderMap) {
    let mut h = HeaderMap::new();
    h.insert(
        async_nats::service::NATS_SERVICE_ERROR,
        err.message.as_str(),
    );
    h.insert(
        async_nats::service::NATS_SERVICE_ERROR_CODE,
        err.code.status().to_string().as_str(),
    );
    h.insert("Roster-Error", err.code.as_str());
    let body = serde_json::to_vec(&ErrorEnvelope::from(err)).unwrap_or_else(|_| {
        br#"{"error":{"code":"internal","message":"internal error"}}"#.to_vec()
    });
    (Bytes::from(body), h)
}

/// Refused admin commands are always recorded; on register, everything but malformed
/// input. Our own failures (`unavailable`, `internal`) and load shedding (`rate_limited`:
/// a full replay window, say) are logged, not recorded: recording them would add writes
/// exactly when there is no room for them. An enrollment refused at a site (a wrong key,
/// a throttled source, a rejected machine) is always recorded there: a stranger's only
/// as a tally in memory.
pub(super) fn should_audit(ep: Endpoint, code: ErrorCode, at_site: bool) -> bool {
    if at_site {
        return true;
    }
    match code {
        ErrorCode::Unavailable | ErrorCode::Internal | ErrorCode::RateLimited => false,
        ErrorCode::BadRequest => !ep.is_public(),
        _ => true,
    }
}

/// The audit action of a refused request on `ep`.
pub(super) fn denied_action(ep: Endpoint) -> String {
    match ep {
        Endpoint::Register => "user.register".to_owned(),
        Endpoint::Enroll => "machine.enroll".to_owned(),
        Endpoint::Revoke => "revoke".to_owned(),
        other => other.command().to_owned(),
    }
}

/// The tenant an identity's refused request was in: the one its body named, else where
/// a command that names none acts (the signer's home tenant), except for a signer with
/// a platform role (whose commands without a tenant act on the platform: none).
pub(super) fn denied_tenant(admin: &super::Admin, body: &[u8]) -> Option<crate::domain::Tenant> {
    #[derive(serde::Deserialize)]
    struct Named {
        tenant: Option<String>,
    }
    if let Some(t) = serde_json::from_slice::<Named>(body)
        .ok()
        .and_then(|n| n.tenant)
        .and_then(|t| crate::domain::Tenant::parse(&t).ok())
    {
        return Some(t);
    }
    let platform = admin.user().is_some_and(|u| {
        u.value
            .assignments
            .iter()
            .any(|a| matches!(a.scope(), crate::authz::AssignScope::Platform))
    });
    (!platform).then(|| admin.home_tenant())
}

/// Records a refusal. An identity's (an active user, a known machine) is one audit
/// event; a stranger's (bad signature, unknown key, wrong site key, …) is counted into
/// the security log, so a flood of them cannot fill the store (PROTOCOL §5).
pub(super) async fn record_denial(
    ctx: &Ctx,
    ep: Endpoint,
    refusal: &Refusal,
    headers: Option<&HeaderMap>,
    body: &[u8],
    source: Option<String>,
) {
    let Refusal { error, by, at } = refusal;
    let code = error.code.as_str();
    let action = denied_action(ep);
    let (actor, event) = match by {
        Requester::Identity(admin) => {
            // An exact re-send of a refused request is one attempt, not two.
            let event = Event::Denied {
                action: &action,
                command: ep.command(),
                request: admin.request.clone(),
                code,
                source,
                tenant: denied_tenant(admin, body),
            };
            (admin.actor(), event)
        }
        Requester::Machine(signed) => {
            let Some(at) = at else { return };
            let event = Event::EnrollDenied {
                request: signed.request_key(),
                code,
                machine_uid: at.machine_uid.as_str(),
                site: &at.site,
                source,
            };
            let id = crate::domain::MachineId::for_agent(&signed.key);
            (Actor::machine(&id, None), event)
        }
        stranger => {
            // The proven key, else the claimed one if it parses; never other header content.
            let actor = match stranger {
                Requester::Stranger(s) => s.key.to_hex(),
                _ => header(headers, wire::HDR_KEY)
                    .and_then(|k| SignKey::parse(k).ok())
                    .map(|k| k.to_hex())
                    .unwrap_or_else(|| "unknown".into()),
            };
            let (target, site) = match at {
                Some(at) => (
                    Target::new("site", at.site.to_string()),
                    Some((
                        at.site.tenant.as_str().to_owned(),
                        at.site.site.as_str().to_owned(),
                    )),
                ),
                None => (Target::new("endpoint", ep.command()), None),
            };
            ctx.audit.security().record(crate::audit::security::Denial {
                action,
                code: code.to_owned(),
                source,
                actor,
                target,
                site,
            });
            return;
        }
    };
    if let Err(e) = ctx.audit.record(actor, event).await {
        tracing::warn!(error = %e, "could not record a denied request");
    }
}
