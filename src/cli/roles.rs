//! `roster role …` and `roster user assign|unassign`: roles and assignments (PROTOCOL §8).

use std::collections::BTreeSet;

use super::args::AssignmentArgs;
use super::guard;
use super::*;
use crate::authz::Permission;
use crate::wire::admin::{
    AssignRequest, PlatformScope, RoleCatalogReply, RoleCreateRequest, RoleDeleteReply,
    RoleListReply, RoleListRequest, RoleNameRequest, RoleUpdateRequest, RoleView,
};

fn tenant_opt(t: Option<String>) -> anyhow::Result<Option<Tenant>> {
    t.map(|t| parse("--tenant", Tenant::parse(&t))).transpose()
}

fn permissions(keys: &[String]) -> anyhow::Result<BTreeSet<Permission>> {
    keys.iter()
        .filter(|k| !k.trim().is_empty())
        .map(|k| parse("--permissions", Permission::parse(k.trim())))
        .collect()
}

pub(super) async fn role_cmd(cmd: RoleCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        RoleCmd::Catalog { client } => {
            let c = connect_client(&client).await?;
            finish(&Out::new(client.json), c.role_catalog().await, catalog)
        }
        RoleCmd::List {
            client,
            tenant,
            page: PageArgs { limit, cursor, all },
        } => {
            let c = connect_client(&client).await?;
            let req = RoleListRequest {
                tenant: tenant_opt(tenant)?,
                limit: opt("--limit", pages::page_limit(limit, all))?,
                cursor: opt("--cursor", cursor)?,
            };
            let res = pages::pages(all, req.cursor.clone(), |cursor| {
                let req = RoleListRequest {
                    cursor,
                    ..req.clone()
                };
                let c = &c;
                async move { c.role_list(&req).await }
            })
            .await;
            finish(&Out::new(client.json), res, role_list)
        }
        RoleCmd::Get {
            client,
            name,
            tenant,
        } => {
            let req = RoleNameRequest {
                tenant: tenant_opt(tenant)?,
                name: parse("name", RoleName::parse(&name))?,
            };
            let c = connect_client(&client).await?;
            finish(&Out::new(client.json), c.role_get(&req).await, role)
        }
        RoleCmd::Create {
            client,
            name,
            permissions: p,
            description,
            tenant,
        } => {
            let req = RoleCreateRequest {
                tenant: tenant_opt(tenant)?,
                name: parse("name", RoleName::parse(&name))?,
                permissions: permissions(&p)?,
                description,
            };
            let c = connect_client(&client).await?;
            finish(&Out::new(client.json), c.role_create(&req).await, role)
        }
        RoleCmd::Update {
            client,
            name,
            permissions: p,
            description,
            tenant,
        } => {
            let req = RoleUpdateRequest {
                tenant: tenant_opt(tenant)?,
                name: parse("name", RoleName::parse(&name))?,
                permissions: p.as_deref().map(permissions).transpose()?,
                description,
            };
            let c = connect_client(&client).await?;
            finish(&Out::new(client.json), c.role_update(&req).await, role)
        }
        RoleCmd::Delete {
            client,
            name,
            tenant,
            yes,
        } => {
            let req = RoleNameRequest {
                tenant: tenant_opt(tenant)?,
                name: parse("name", RoleName::parse(&name))?,
            };
            guard::confirm(&format!("delete role '{name}'"), yes)?;
            let c = connect_client(&client).await?;
            finish(&Out::new(client.json), c.role_delete(&req).await, deleted)
        }
    }
}

/// The request `roster user assign|unassign` sends.
pub(super) fn assign_request(a: AssignmentArgs) -> anyhow::Result<AssignRequest> {
    Ok(AssignRequest {
        handle: parse("handle", Handle::parse(&a.handle))?,
        role: parse("role", RoleName::parse(&a.role))?,
        tenant: tenant_opt(a.tenant)?,
        site: a
            .site
            .map(|s| parse("--site", SiteCode::parse(&s)))
            .transpose()?,
        scope: a.platform.then_some(PlatformScope::Platform),
    })
}

fn catalog(r: &RoleCatalogReply) {
    for p in &r.permissions {
        println!("{:<22} {}", p.key, p.description);
    }
}

fn role_row(r: &RoleView) -> Vec<String> {
    let keys: Vec<&str> = r.permissions.iter().map(|p| p.key()).collect();
    vec![
        r.name.to_string(),
        if r.builtin { "built-in" } else { "custom" }.to_owned(),
        r.permissions.len().to_string(),
        keys.join(","),
    ]
}

const ROLE_COLUMNS: &[table::Col] = &[
    table::Col("NAME", table::Fit::Late),
    table::Col("KIND", table::Fit::Fixed),
    table::Col("N", table::Fit::Fixed),
    table::Col("PERMISSIONS", table::Fit::Early),
];

fn role_list(r: &RoleListReply) {
    let rows: Vec<_> = r.roles.iter().map(role_row).collect();
    table::print(ROLE_COLUMNS, &rows);
    if let Some(c) = &r.cursor {
        println!("more: --cursor {c}");
    }
}

fn role(r: &RoleView) {
    table::print(ROLE_COLUMNS, &[role_row(r)]);
    if !r.description.is_empty() {
        println!("{}", r.description);
    }
}

fn deleted(r: &RoleDeleteReply) {
    println!("deleted role '{}' of tenant {}", r.name, r.tenant);
}
