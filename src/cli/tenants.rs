//! `roster tenant …`: the tenant registry (PROTOCOL §7), for platform owners and admins.

use super::args::TenantFields;
use super::guard;
use super::pages::{page_limit, pages};
use super::*;
use crate::domain::{Date, ExternalId, Plan, ProductConfig, ProductName, TenantKind, TenantStatus};
use crate::wire::admin::{
    Patch, Rfc3339, TenantCreateRequest, TenantListRequest, TenantUpdateRequest,
};

pub(super) async fn tenant_cmd(cmd: TenantCmd) -> anyhow::Result<ExitCode> {
    let now = time::OffsetDateTime::now_utc();
    match cmd {
        TenantCmd::Create {
            client,
            tenant,
            name,
            status,
            fields,
        } => {
            let f = Fields::parse(&fields, now)?;
            let req = TenantCreateRequest {
                tenant: parse("tenant", Tenant::parse(&tenant))?,
                name: parse("--name", Label::parse(&name))?,
                kind: f.kind,
                plan: f.plan,
                status: status
                    .map(|s| parse("--status", TenantStatus::parse(&s)))
                    .transpose()?,
                trial_ends_at: f.trial_ends_at,
                contract_start: f.contract_start,
                contract_end: f.contract_end,
                erp_customer_id: f.erp_customer_id,
                stripe_customer_id: f.stripe_customer_id,
                sales_owner: f.sales_owner,
                products: None,
            };
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.tenant_create(&req).await,
                output::tenant,
            )
        }
        TenantCmd::List {
            client,
            status,
            page: PageArgs { limit, cursor, all },
        } => {
            let req = TenantListRequest {
                status: status
                    .map(|s| parse("--status", TenantStatus::parse(&s)))
                    .transpose()?,
                limit: opt("--limit", page_limit(limit, all))?,
                cursor: opt("--cursor", cursor)?,
            };
            let c = connect_client(&client).await?;
            let res = pages(all, req.cursor.clone(), |cursor| {
                let req = TenantListRequest {
                    cursor,
                    ..req.clone()
                };
                let c = &c;
                async move { c.tenant_list(&req).await }
            })
            .await;
            finish(&Out::new(client.json), res, output::tenant_list)
        }
        TenantCmd::Get { client, tenant } => {
            let tenant = parse("tenant", Tenant::parse(&tenant))?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.tenant_get(&tenant).await,
                output::tenant,
            )
        }
        TenantCmd::Update {
            client,
            tenant,
            name,
            fields,
            clear,
        } => {
            let req = update_request(&tenant, name, &fields, &clear, now)?;
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.tenant_update(&req).await,
                output::tenant,
            )
        }
        TenantCmd::SetStatus {
            client,
            tenant,
            status,
            yes,
        } => {
            let tenant = parse("tenant", Tenant::parse(&tenant))?;
            let status = parse("status", TenantStatus::parse(&status))?;
            if status == TenantStatus::Archived {
                guard::confirm(
                    &format!(
                        "archive tenant {tenant}: its users, machines, sites, roles and keys \
                         are deleted, its identities refused, and the slug is never reused"
                    ),
                    yes,
                )?;
            }
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.tenant_set_status(&tenant, status).await,
                output::tenant,
            )
        }
        TenantCmd::SetProduct {
            client,
            tenant,
            product,
            enable,
            disable,
            config,
            config_file,
            expires,
            no_expiry,
        } => {
            let tenant = parse("tenant", Tenant::parse(&tenant))?;
            let product = parse("product", ProductName::parse(&product))?;
            let enabled = match (enable, disable) {
                (true, false) => true,
                (false, true) => false,
                _ => return Err(Failure::usage("give --enable or --disable").into()),
            };
            let config = product_config(config, config_file)?;
            let expires_at = match (expires, no_expiry) {
                (Some(e), _) => Patch::Set(later("--expires", &e, now)?),
                (None, true) => Patch::Clear,
                (None, false) => Patch::Keep,
            };
            let c = connect_client(&client).await?;
            finish(
                &Out::new(client.json),
                c.tenant_set_product(&tenant, &product, enabled, config, expires_at)
                    .await,
                output::tenant,
            )
        }
    }
}

/// The shared tenant flags, parsed into their wire types.
struct Fields {
    kind: Option<TenantKind>,
    plan: Option<Plan>,
    trial_ends_at: Option<Rfc3339>,
    contract_start: Option<Date>,
    contract_end: Option<Date>,
    erp_customer_id: Option<ExternalId>,
    stripe_customer_id: Option<ExternalId>,
    sales_owner: Option<Label>,
}

impl Fields {
    fn parse(f: &TenantFields, now: time::OffsetDateTime) -> anyhow::Result<Self> {
        let date = |flag: &str, v: &Option<String>| {
            v.as_deref()
                .map(|d| parse(flag, Date::parse(d)))
                .transpose()
        };
        let id = |flag: &str, v: &Option<String>| {
            v.as_deref()
                .map(|d| parse(flag, ExternalId::parse(d)))
                .transpose()
        };
        Ok(Fields {
            kind: f
                .kind
                .as_deref()
                .map(|k| parse("--kind", TenantKind::parse(k)))
                .transpose()?,
            plan: f
                .plan
                .as_deref()
                .map(|p| parse("--plan", Plan::parse(p)))
                .transpose()?,
            trial_ends_at: f
                .trial_ends
                .as_deref()
                .map(|t| later("--trial-ends", t, now))
                .transpose()?,
            contract_start: date("--contract-start", &f.contract_start)?,
            contract_end: date("--contract-end", &f.contract_end)?,
            erp_customer_id: id("--erp-customer-id", &f.erp_customer_id)?,
            stripe_customer_id: id("--stripe-customer-id", &f.stripe_customer_id)?,
            sales_owner: f
                .sales_owner
                .as_deref()
                .map(|s| parse("--sales-owner", Label::parse(s)))
                .transpose()?,
        })
    }
}

/// `tenant update`'s request: what the flags set, and what `--clear` removes (a field
/// both set and cleared is a usage error).
fn update_request(
    tenant: &str,
    name: Option<String>,
    fields: &TenantFields,
    clear: &[String],
    now: time::OffsetDateTime,
) -> anyhow::Result<TenantUpdateRequest> {
    let f = Fields::parse(fields, now)?;
    let mut req = TenantUpdateRequest::new(parse("tenant", Tenant::parse(tenant))?);
    req.name = name
        .map(|n| parse("--name", Label::parse(&n)))
        .transpose()?
        .into();
    req.kind = f.kind.into();
    req.plan = f.plan.into();
    req.trial_ends_at = f.trial_ends_at.into();
    req.contract_start = f.contract_start.into();
    req.contract_end = f.contract_end.into();
    req.erp_customer_id = f.erp_customer_id.into();
    req.stripe_customer_id = f.stripe_customer_id.into();
    req.sales_owner = f.sales_owner.into();
    for field in clear {
        let given = match field.as_str() {
            "trial-ends" => clear_field(&mut req.trial_ends_at),
            "contract-start" => clear_field(&mut req.contract_start),
            "contract-end" => clear_field(&mut req.contract_end),
            "erp-customer-id" => clear_field(&mut req.erp_customer_id),
            "stripe-customer-id" => clear_field(&mut req.stripe_customer_id),
            "sales-owner" => clear_field(&mut req.sales_owner),
            other => return Err(Failure::usage(format!("--clear {other}: no such field")).into()),
        };
        if given {
            return Err(Failure::usage(format!("--{field} and --clear {field} contradict")).into());
        }
    }
    Ok(req)
}

/// Makes `p` clear its field; true if the field was also given a value.
fn clear_field<T>(p: &mut Patch<T>) -> bool {
    !std::mem::replace(p, Patch::Clear).is_keep()
}

/// `--config` or `--config-file` (`-`: standard input), checked as a product
/// configuration.
fn product_config(
    config: Option<String>,
    file: Option<PathBuf>,
) -> anyhow::Result<Option<ProductConfig>> {
    let text = match (config, file) {
        (Some(c), _) => c,
        (None, Some(path)) if path.as_os_str() == "-" => {
            std::io::read_to_string(std::io::stdin()).context("reading --config-file -")?
        }
        (None, Some(path)) => std::fs::read_to_string(&path)
            .with_context(|| format!("reading --config-file {}", path.display()))?,
        (None, None) => return Ok(None),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Failure::usage(format!("--config: {}", crate::wire::json_reason(&e))).into())
}

/// A time given as RFC 3339, or as a time from `now` (`0`, or a number with `s`, `m`,
/// `h` or `d`).
fn later(flag: &str, s: &str, now: time::OffsetDateTime) -> anyhow::Result<Rfc3339> {
    if let Some(t) = crate::time_util::parse_rfc3339(s) {
        return Ok(Rfc3339(t));
    }
    let secs = parse_duration_secs(s).map_err(|e| {
        Failure::usage(format!(
            "{flag}: {e}; or give an RFC 3339 time (2026-11-30T14:00:00Z)"
        ))
    })?;
    i64::try_from(secs)
        .ok()
        .and_then(|s| now.checked_add(time::Duration::seconds(s)))
        .map(Rfc3339)
        .ok_or_else(|| Failure::usage(format!("{flag} {s:?}: too far ahead")).into())
}
