//! `roster apikey …`: API keys (PROTOCOL §9): create (the key shown once), list, get,
//! roll, revoke, verify.

use std::collections::BTreeSet;

use super::guard;
use super::*;
use crate::authz::Permission;
use crate::domain::{ApiKeyId, ApiKeyName, ProductName};
use crate::wire::admin::{
    ApiKeyCreateRequest, ApiKeyListReply, ApiKeyListRequest, ApiKeyRollRequest, ApiKeySecretReply,
    ApiKeyVerifyReply, ApiKeyVerifyRequest, ApiKeyView,
};

fn scopes(keys: &[String]) -> anyhow::Result<BTreeSet<Permission>> {
    keys.iter()
        .filter(|k| !k.trim().is_empty())
        .map(|k| parse("--scopes", Permission::parse(k.trim())))
        .collect()
}

fn key_id(s: &str) -> anyhow::Result<ApiKeyId> {
    parse("key_id", ApiKeyId::parse(s))
}

/// Reads an API key to verify from stdin (first line), so it stays out of argv.
fn key_from_stdin() -> anyhow::Result<zeroize::Zeroizing<String>> {
    use std::io::BufRead;
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| anyhow::anyhow!("reading the key from stdin: {e}"))?;
    Ok(zeroize::Zeroizing::new(line.trim().to_owned()))
}

pub(super) async fn apikey_cmd(cmd: ApikeyCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ApikeyCmd::Create {
            client,
            name,
            scopes: s,
            product,
            ttl_secs,
            tenant,
        } => {
            let req = ApiKeyCreateRequest {
                tenant: tenant
                    .map(|t| parse("--tenant", Tenant::parse(&t)))
                    .transpose()?,
                name: parse("name", ApiKeyName::parse(&name))?,
                scopes: scopes(&s)?,
                product: product
                    .map(|p| parse("--product", ProductName::parse(&p)))
                    .transpose()?,
                ttl_secs,
            };
            let c = connect_client(&client).await?;
            finish(&Out::new(client.json), c.apikey_create(&req).await, created)
        }
        ApikeyCmd::List {
            client,
            tenant,
            page: PageArgs { limit, cursor, all },
        } => {
            let c = connect_client(&client).await?;
            let req = ApiKeyListRequest {
                tenant: tenant
                    .map(|t| parse("--tenant", Tenant::parse(&t)))
                    .transpose()?,
                limit: opt("--limit", pages::page_limit(limit, all))?,
                cursor: opt("--cursor", cursor)?,
            };
            let res = pages::pages(all, req.cursor.clone(), |cursor| {
                let req = ApiKeyListRequest {
                    cursor,
                    ..req.clone()
                };
                let c = &c;
                async move { c.apikey_list(&req).await }
            })
            .await;
            finish(&Out::new(client.json), res, list)
        }
        ApikeyCmd::Get { client, key_id: id } => {
            let id = key_id(&id)?;
            let c = connect_client(&client).await?;
            finish(&Out::new(client.json), c.apikey_get(&id).await, one)
        }
        ApikeyCmd::Roll {
            client,
            key_id: id,
            grace_secs,
            yes,
        } => {
            let req = ApiKeyRollRequest {
                key_id: key_id(&id)?,
                grace_secs: opt("--grace-secs", grace_secs)?,
            };
            let when = match grace_secs {
                Some(g) if g > 0 => format!("in {g} s"),
                _ => "at once".to_owned(),
            };
            guard::confirm(
                &format!("roll API key {id} (its current secret stops working {when})"),
                yes,
            )?;
            let c = connect_client(&client).await?;
            finish(&Out::new(client.json), c.apikey_roll(&req).await, rolled)
        }
        ApikeyCmd::Revoke {
            client,
            key_id: id,
            yes,
        } => {
            let kid = key_id(&id)?;
            guard::confirm(
                &format!("revoke API key {id} (it stops working and its connections close)"),
                yes,
            )?;
            let c = connect_client(&client).await?;
            finish(&Out::new(client.json), c.apikey_revoke(&kid).await, revoked)
        }
        ApikeyCmd::Verify {
            client,
            scopes: s,
            product,
        } => {
            let key = key_from_stdin()?;
            let req = ApiKeyVerifyRequest {
                key: key.to_string(),
                scopes: (!s.is_empty()).then(|| scopes(&s)).transpose()?,
                product: product
                    .map(|p| parse("--product", ProductName::parse(&p)))
                    .transpose()?,
            };
            let c = connect_client(&client).await?;
            let r = c.apikey_verify(&req).await;
            let valid = r.as_ref().is_ok_and(|r| r.valid);
            finish(&Out::new(client.json), r, verified)?;
            Ok(if valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn row(k: &ApiKeyView) -> Vec<String> {
    let state = if k.revoked_at.is_some() {
        "revoked"
    } else {
        "active"
    };
    let keys: Vec<&str> = k.scopes.iter().map(|p| p.key()).collect();
    vec![
        k.key_id.to_string(),
        k.prefix.clone(),
        k.name.to_string(),
        state.to_owned(),
        k.expires_at.clone().unwrap_or_else(|| "-".into()),
        k.last_used_at.clone().unwrap_or_else(|| "-".into()),
        keys.join(","),
    ]
}

const COLUMNS: &[table::Col] = &[
    table::Col("KEY ID", table::Fit::Fixed),
    table::Col("PREFIX", table::Fit::Fixed),
    table::Col("NAME", table::Fit::Late),
    table::Col("STATE", table::Fit::Fixed),
    table::Col("EXPIRES", table::Fit::Late),
    table::Col("LAST USED", table::Fit::Late),
    table::Col("SCOPES", table::Fit::Early),
];

fn list(r: &ApiKeyListReply) {
    let rows: Vec<_> = r.keys.iter().map(row).collect();
    table::print(COLUMNS, &rows);
    if let Some(c) = &r.cursor {
        println!("more: --cursor {c}");
    }
}

fn one(k: &ApiKeyView) {
    table::print(COLUMNS, &[row(k)]);
    if let Some(until) = &k.previous_valid_until {
        println!("the secret before the last roll works until {until}");
    }
}

fn created(r: &ApiKeySecretReply) {
    one(&r.apikey);
    println!(
        "\nAPI key for tenant {} (shown once; store it in your secret manager):\n\n  {}\n",
        r.apikey.tenant, r.key
    );
}

fn rolled(r: &ApiKeySecretReply) {
    one(&r.apikey);
    println!("\nnew secret (shown once):\n\n  {}\n", r.key);
}

fn revoked(k: &ApiKeyView) {
    println!("revoked API key {} ({})", k.key_id, k.name);
}

fn verified(r: &ApiKeyVerifyReply) {
    let code = serde_json::to_value(r.code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    match (&r.key_id, &r.name) {
        (Some(id), Some(name)) => println!("{code}: {id} ({name})"),
        _ => println!("{code}"),
    }
}
