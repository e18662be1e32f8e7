//! `admin.machine.list`: machines filtered by tenant, site and state, through the
//! machines' index (`<tenant>.<SITE>.<state>` subjects), in the order they entered
//! their current place.

use crate::authz::{Permission, Visibility};
use crate::store::records::MachineState;
use crate::wire::admin::{MachineListReply, MachineListRequest, MachineStateFilter};
use crate::wire::ApiError;

use super::common::Listing;
use super::machine_get::view;
use super::{list_page, Admin, Ctx};

pub(super) async fn handle(
    ctx: &Ctx,
    admin: &Admin,
    req: MachineListRequest,
) -> Result<MachineListReply, ApiError> {
    let state = req.state.map(|s| match s {
        MachineStateFilter::Active => MachineState::Active,
        MachineStateFilter::Pending => MachineState::Pending,
        MachineStateFilter::Rejected => MachineState::Rejected,
        MachineStateFilter::Revoked => MachineState::Revoked,
    });
    // A site is a `tenant/SITE` pair: a site filter without a tenant means the default
    // tenant's site, as everywhere else a tenant is optional (never a same-named site of
    // another tenant).
    let tenant = match (&req.tenant, &req.site) {
        (None, Some(_)) => Some(crate::domain::Tenant::default_tenant()),
        (t, _) => t.clone(),
    };
    // A reader who sees one site of the tenant only is served from that site's
    // subjects; any other partial view filters the page (which goes on past the rest).
    let mut site = req.site.clone();
    if let (Some(t), None) = (&tenant, &site) {
        if let Visibility::Sites(only) = admin.grants.visible_sites(Permission::MachineRead, t) {
            if only.len() == 1 {
                site = only.into_iter().next();
            }
        }
    }
    let filter = match (&tenant, &site, state) {
        (None, None, None) => ">".to_owned(),
        (tenant, site, state) => format!(
            "{}.{}.{}",
            tenant.as_ref().map_or("*", |t| t.as_str()),
            site.as_ref().map_or("*", |s| s.as_str()),
            state.map_or("*", MachineState::as_str)
        ),
    };
    let (machines, cursor) = list_page(
        &ctx.store.machines,
        Listing::Index(&filter),
        req.cursor.as_ref(),
        req.limit,
        |m| {
            admin
                .sees(Permission::MachineRead, &m.tenant, Some(&m.site))
                .then(|| view(&m))
        },
    )
    .await?;
    Ok(MachineListReply { machines, cursor })
}
