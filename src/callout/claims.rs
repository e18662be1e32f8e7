//! The answer to an admitted client: its user JWT's claims (name, permissions from its
//! template with the variables filled in, limits, lifetime), wrapped in the response
//! claims; a refused client's response carries the reason instead.

use std::collections::HashMap;

use crate::bus::{user_conn_name, ONBOARDING_CONN_NAME};
use crate::handlers::Ctx;
use crate::jwt::{
    self, Allow, AuthRequestClaims, ResponseClaims, ResponseNats, UserClaims, UserNats,
};
use crate::templates::{Template, ONBOARDING_LIMITS, ONBOARDING_TTL};

use super::{Admission, CalloutConfig, CalloutError};

/// The permissions of a refused client (never issued; keeps the match total).
static NOTHING: Template = Template {
    publish: Vec::new(),
    subscribe: Vec::new(),
    limits: ONBOARDING_LIMITS,
};

/// The response claims for `admission`: a signed user JWT, or the refusal's reason.
pub(super) fn response(
    ctx: &Ctx,
    cfg: &CalloutConfig,
    req: &AuthRequestClaims,
    admission: &Admission,
) -> Result<ResponseClaims, CalloutError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let issuer = cfg.issuer.public_key();
    let nats = match admission {
        Admission::Denied(why) => ResponseNats {
            jwt: None,
            error: Some((*why).to_owned()),
            kind: "authorization_response",
            version: 2,
        },
        other => {
            let user = user_claims(ctx, cfg, req, other, now, &issuer);
            ResponseNats {
                jwt: Some(jwt::encode(&user, &cfg.issuer)?),
                error: None,
                kind: "authorization_response",
                version: 2,
            }
        }
    };
    Ok(ResponseClaims {
        jti: jwt::new_jti(),
        iat: now,
        iss: issuer,
        sub: req.nats.user_nkey.clone(),
        aud: req.nats.server_id.id.clone(),
        nats,
    })
}

/// A template's subjects with its variables filled in. A subject naming `{tenant}` or
/// `{product}` becomes one subject per (tenant, product) pair of `apps`, and none when
/// there is none (an identity without products gets no application traffic).
fn fill(list: &[String], vars: &HashMap<&str, String>, apps: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for s in list {
        let s = vars
            .iter()
            .fold(s.clone(), |acc, (k, v)| acc.replace(&format!("{{{k}}}"), v));
        if s.contains("{tenant}") || s.contains("{product}") {
            for (t, p) in apps {
                let one = s.replace("{tenant}", t).replace("{product}", p);
                if !out.contains(&one) {
                    out.push(one);
                }
            }
        } else if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn user_claims(
    ctx: &Ctx,
    cfg: &CalloutConfig,
    req: &AuthRequestClaims,
    a: &Admission,
    now: i64,
    issuer: &str,
) -> UserClaims {
    let mut vars = HashMap::new();
    vars.insert("prefix", ctx.cfg.prefix.clone());
    let mut apps: &[(String, String)] = &[];
    let (name, template) = match a {
        Admission::User {
            handle,
            template,
            inbox,
            apps: a,
        } => {
            apps = a.as_slice();
            vars.insert("handle", handle.clone());
            vars.insert("inbox", inbox.clone());
            (user_conn_name(handle), cfg.templates.for_role(*template))
        }
        Admission::Machine {
            machine_id,
            conn_name,
            inbox,
            apps: a,
        } => {
            apps = a.as_slice();
            vars.insert("machine_id", machine_id.clone());
            vars.insert("inbox", inbox.clone());
            (conn_name.clone(), &cfg.templates.machine)
        }
        Admission::ApiKey {
            key_id,
            conn_name,
            inbox,
            apps: a,
            ..
        } => {
            apps = a.as_slice();
            vars.insert("key_id", key_id.clone());
            vars.insert("inbox", inbox.clone());
            (conn_name.clone(), &cfg.templates.apikey)
        }
        Admission::Onboarding { inbox } => {
            vars.insert("inbox", inbox.clone());
            (ONBOARDING_CONN_NAME.to_owned(), &cfg.templates.onboarding)
        }
        Admission::Denied(_) => ("denied".to_owned(), &NOTHING),
    };
    // A stranger's lane is for one registration or enrollment: it does not last long.
    let ttl = match a {
        Admission::Onboarding { .. } => cfg.user_ttl.min(ONBOARDING_TTL),
        _ => cfg.user_ttl,
    };
    let mut exp = now + ttl.as_secs() as i64;
    if let Admission::ApiKey {
        until: Some(until), ..
    } = a
    {
        // The server closes the connection when its key (or a rolled-out secret's
        // grace) ends; a second is its precision.
        exp = exp.min((*until).max(now + 1));
    }
    UserClaims {
        jti: jwt::new_jti(),
        iat: now,
        iss: issuer.to_owned(),
        sub: req.nats.user_nkey.clone(),
        aud: cfg.account.clone(),
        name,
        exp: Some(exp),
        nats: UserNats {
            publish: Allow {
                allow: fill(&template.publish, &vars, apps),
                deny: vec![],
            },
            subscribe: Allow {
                allow: fill(&template.subscribe, &vars, apps),
                deny: vec![],
            },
            subs: template.limits.subs,
            data: template.limits.data,
            payload: template.limits.payload,
            kind: "user",
            version: 2,
        },
    }
}
