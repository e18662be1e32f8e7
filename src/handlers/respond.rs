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
    Identity(Signed, Box<Admin>),
}

/// A refusal, with who it came from for the record.
#[derive(Debug)]
pub(super) struct Refusal {
    pub(super) error: ApiError,
    pub(super) by: Requester,
}

/// Refusals of a request nobody proved a key for.
pub(super) fn unproven(error: ApiError) -> Refusal {
    Refusal {
        error,
        by: Requester::Unproven,
    }
}

/// Refusals of a stranger's request (built only when one happens).
pub(super) fn stranger(signed: &Signed) -> impl Fn(ApiError) -> Refusal + '_ {
    move |error| Refusal {
        error,
        by: Requester::Stranger(signed.clone()),
    }
}

/// Refusals of an identity's request (built only when one happens).
pub(super) fn identity<'a>(
    signed: &'a Signed,
    admin: &'a Admin,
) -> impl Fn(ApiError) -> Refusal + 'a {
    move |error| Refusal {
        error,
        by: Requester::Identity(signed.clone(), Box::new(admin.clone())),
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
        Err(Refusal { error, by }) => {
            if should_audit(ep, error.code) {
                record_denial(ctx, ep, &error, &by, headers, source).await;
            }
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
/// exactly when there is no room for them.
pub(super) fn should_audit(ep: Endpoint, code: ErrorCode) -> bool {
    match code {
        ErrorCode::Unavailable | ErrorCode::Internal | ErrorCode::RateLimited => false,
        ErrorCode::BadRequest => !ep.is_public(),
        // The enroll handler records its denials itself, naming the site.
        ErrorCode::EnrollmentDenied => ep != Endpoint::Enroll,
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

/// Records a refusal. An identity's (the signer resolved to an active user) is one
/// audit event; a stranger's (bad signature, unknown key, …) is counted into the
/// security log, so a flood of them cannot fill the store (PROTOCOL §5).
pub(super) async fn record_denial(
    ctx: &Ctx,
    ep: Endpoint,
    err: &ApiError,
    by: &Requester,
    headers: Option<&HeaderMap>,
    source: Option<String>,
) {
    let target = Target::new("endpoint", ep.command());
    let (signed, admin) = match by {
        Requester::Identity(signed, admin) => (signed, admin),
        stranger => {
            // The proven key, else the claimed one if it parses; never other header content.
            let actor = match stranger {
                Requester::Stranger(s) => s.key.to_hex(),
                _ => header(headers, wire::HDR_KEY)
                    .and_then(|k| SignKey::parse(k).ok())
                    .map(|k| k.to_hex())
                    .unwrap_or_else(|| "unknown".into()),
            };
            ctx.audit.security().record(crate::audit::security::Denial {
                action: denied_action(ep),
                code: err.code.as_str().to_owned(),
                source,
                actor,
                target,
                site: None,
            });
            return;
        }
    };
    // An exact re-send of a refused request is one attempt, not two.
    let action = denied_action(ep);
    let event = Event::Denied {
        action: &action,
        command: ep.command(),
        request: signed.request_key(),
        code: err.code.as_str(),
        source,
    };
    if let Err(e) = ctx.audit.record(admin.actor(), event).await {
        tracing::warn!(error = %e, "could not record a denied request");
    }
}
