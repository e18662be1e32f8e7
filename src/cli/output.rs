//! Tables for people. `--json` output bypasses this module.

use crate::wire::admin::{
    AuditQueryReply, DeleteReply, InviteCreateReply, InviteListReply, InviteView, MachineListReply,
    MachineView, RotateKeyReply, SiteCreateReply, SiteListReply, SiteView, TenantListReply,
    TenantView, UserListReply, UserView,
};
use crate::wire::register::RegisterReply;

use super::table::{self, key_or_id, when, Col, Fit};

/// Output mode.
pub(crate) struct Out {
    pub json: bool,
}

impl Out {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }
}

/// Items in creation order (RFC 3339 times; one that does not parse sorts last), as
/// lists print them: the store pages by key, which for ids is no order at all.
pub(crate) fn by_created<T>(items: &[T], created: impl Fn(&T) -> &str) -> Vec<&T> {
    let mut v: Vec<&T> = items.iter().collect();
    super::pages::sort_by_created(&mut v, |i| created(i));
    v
}

/// A list's page: its items in creation order under `cols`, then the hint if there are
/// more.
fn list<T>(
    cols: &[Col],
    items: &[T],
    created: impl Fn(&T) -> &str,
    row: fn(&T) -> Vec<String>,
    cursor: Option<&String>,
) {
    let rows: Vec<_> = by_created(items, created).into_iter().map(row).collect();
    table::print(cols, &rows);
    more(cursor);
}

/// Tells, on stderr (stdout holds only the table), that more pages remain.
pub(crate) fn more(cursor: Option<&impl std::fmt::Display>) {
    if let Some(c) = cursor {
        eprintln!("(more: --cursor {c}, or --all for every page)");
    }
}

pub(crate) fn register(r: &RegisterReply) {
    println!(
        "registered as '{}' (role {}) at {}",
        r.handle, r.role, r.registered_at
    );
    println!("  sign_pub: {}", r.sign_pub);
}

pub(crate) fn invite_created(r: &InviteCreateReply) {
    println!(
        "invite {} for '{}' (role {}), expires {}",
        r.invite_id, r.handle, r.role, r.expires_at
    );
    println!("\n  {}\n", r.token);
    println!("The token is shown once. Send it to the invitee, who runs:");
    println!("  roster keygen && roster register --invite {}", r.token);
}

fn invite_row(i: &InviteView) -> Vec<String> {
    vec![
        i.invite_id.to_string(),
        i.handle.to_string(),
        i.role.to_string(),
        i.state.clone(),
        when(&i.created_at, false),
        when(&i.expires_at, false),
        i.created_by.clone(),
    ]
}

const INVITE_COLUMNS: &[Col] = &[
    Col("INVITE", Fit::Late),
    Col("HANDLE", Fit::Early),
    Col("ROLE", Fit::Fixed),
    Col("STATE", Fit::Fixed),
    Col("CREATED", Fit::Fixed),
    Col("EXPIRES", Fit::Drop),
    Col("BY", Fit::Early),
];

pub(crate) fn invite_list(r: &InviteListReply) {
    list(
        INVITE_COLUMNS,
        &r.invites,
        |i| &i.created_at,
        invite_row,
        r.cursor.as_ref(),
    );
}

pub(crate) fn invite(i: &InviteView) {
    table::print(INVITE_COLUMNS, &[invite_row(i)]);
    if let (Some(at), Some(k)) = (&i.used_at, &i.used_sign_pub) {
        println!("used at {at} by key {k}");
    }
}

fn user_row(u: &UserView) -> Vec<String> {
    vec![
        u.handle.to_string(),
        u.role.to_string(),
        u.status.clone(),
        key_or_id(&u.sign_pub),
        when(&u.registered_at, false),
        u.sites
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(","),
    ]
}

/// A user's CREATED is when it registered.
const USER_COLUMNS: &[Col] = &[
    Col("HANDLE", Fit::Late),
    Col("ROLE", Fit::Fixed),
    Col("STATUS", Fit::Fixed),
    Col("SIGN_PUB", Fit::Early),
    Col("CREATED", Fit::Fixed),
    Col("SITES", Fit::Early),
];

pub(crate) fn user_list(r: &UserListReply) {
    list(
        USER_COLUMNS,
        &r.users,
        |u| &u.registered_at,
        user_row,
        r.cursor.as_ref(),
    );
}

pub(crate) fn user(u: &UserView) {
    table::print(USER_COLUMNS, &[user_row(u)]);
    for a in &u.assignments {
        let place = match a.scope() {
            crate::authz::AssignScope::Platform => "platform".to_owned(),
            crate::authz::AssignScope::Tenant(t) => format!("tenant {t}"),
            crate::authz::AssignScope::Site(s) => format!("site {s}"),
        };
        println!("  {} at {place}", a.role());
    }
}

pub(crate) fn deleted(d: &DeleteReply) {
    println!("deleted '{}'", d.handle);
}

pub(crate) fn audit(r: &AuditQueryReply) {
    // Security events are tallies: show how many, which code, and from where.
    let meta = |e: &crate::audit::AuditEvent, k: &str| {
        e.metadata
            .get(k)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default()
    };
    let rows: Vec<_> = r
        .events
        .iter()
        .map(|e| {
            vec![
                when(&e.time, true),
                e.action.clone(),
                format!("{:?}", e.outcome).to_lowercase(),
                meta(e, "code"),
                meta(e, "count"),
                key_or_id(&e.actor.id),
                // The form `--target` takes back.
                format!("{}:{}", e.target.kind, key_or_id(&e.target.id)),
                e.source.as_deref().map(key_or_id).unwrap_or_default(),
            ]
        })
        .collect();
    table::print(AUDIT_COLUMNS, &rows);
    more(r.cursor.as_ref());
}

const AUDIT_COLUMNS: &[Col] = &[
    Col("TIME", Fit::Fixed),
    Col("ACTION", Fit::Late),
    Col("OUTCOME", Fit::Fixed),
    Col("CODE", Fit::Early),
    Col("COUNT", Fit::Fixed),
    Col("ACTOR", Fit::Late),
    Col("TARGET", Fit::Late),
    Col("SOURCE", Fit::Early),
];

pub(crate) fn enrolled(v: &serde_json::Value) {
    println!(
        "enrolled as {} at {}/{}: {}",
        v["machine_id"].as_str().unwrap_or("?"),
        v["tenant"].as_str().unwrap_or("?"),
        v["site"].as_str().unwrap_or("?"),
        v["state"].as_str().unwrap_or("?")
    );
    if v["state"] == "pending" {
        println!("an operator must approve this machine before its credential works");
    }
    println!(
        "credential written to {} (mode 0600)",
        v["credential_file"].as_str().unwrap_or("?")
    );
}

/// A site as tables show it: its code in the default tenant, `tenant/SITE` elsewhere.
fn site_label(tenant: &crate::domain::Tenant, site: &crate::domain::SiteCode) -> String {
    if *tenant == crate::domain::Tenant::default_tenant() {
        site.as_str().to_owned()
    } else {
        crate::domain::SiteRef::new(tenant, site).to_string()
    }
}

fn site_row(s: &SiteView) -> Vec<String> {
    vec![
        site_label(&s.tenant, &s.site),
        s.display_name.clone(),
        format!("{:?}", s.policy).to_lowercase(),
        s.fingerprint.clone(),
        when(&s.created_at, false),
    ]
}

const SITE_COLUMNS: &[Col] = &[
    Col("SITE", Fit::Late),
    Col("NAME", Fit::Early),
    Col("POLICY", Fit::Fixed),
    Col("KEY", Fit::Fixed),
    Col("CREATED", Fit::Fixed),
];

pub(crate) fn site_created(r: &SiteCreateReply) {
    table::print(SITE_COLUMNS, &[site_row(&r.site)]);
    println!(
        "\nenrollment key {} (shown once; bake it into the installer):\n\n  {}\n",
        r.site.fingerprint, r.enrollment_key
    );
}

pub(crate) fn site_list(r: &SiteListReply) {
    list(
        SITE_COLUMNS,
        &r.sites,
        |s| &s.created_at,
        site_row,
        r.cursor.as_ref(),
    );
}

pub(crate) fn site(s: &SiteView) {
    table::print(SITE_COLUMNS, &[site_row(s)]);
}

pub(crate) fn rotated(r: &RotateKeyReply) {
    println!(
        "new enrollment key {} for {}/{} (shown once):\n\n  {}\n",
        r.fingerprint,
        r.tenant.as_str(),
        r.site.as_str(),
        r.enrollment_key
    );
    match &r.previous_valid_until {
        Some(t) => println!("the previous key keeps working until {t}"),
        None => println!("the previous key no longer works"),
    }
}

fn machine_row(m: &MachineView) -> Vec<String> {
    vec![
        m.machine_id.to_string(),
        site_label(&m.tenant, &m.site),
        m.state.clone(),
        m.machine_uid.clone(),
        m.hostname.clone().unwrap_or_default(),
        when(&m.enrolled_at, false),
        when(&m.last_enrolled_at, false),
    ]
}

/// A machine's CREATED is its first enrollment.
const MACHINE_COLUMNS: &[Col] = &[
    Col("MACHINE", Fit::Late),
    Col("SITE", Fit::Early),
    Col("STATE", Fit::Fixed),
    Col("UID", Fit::Drop),
    Col("HOSTNAME", Fit::Early),
    Col("CREATED", Fit::Fixed),
    Col("LAST ENROLLED", Fit::Drop),
];

pub(crate) fn machine_list(r: &MachineListReply) {
    list(
        MACHINE_COLUMNS,
        &r.machines,
        |m| &m.enrolled_at,
        machine_row,
        r.cursor.as_ref(),
    );
}

pub(crate) fn machine(m: &MachineView) {
    table::print(MACHINE_COLUMNS, &[machine_row(m)]);
    if let Some(r) = &m.pending_reason {
        println!("pending: {r}");
    }
}

pub(crate) fn revoked(r: &crate::wire::revoke::RevokeReply) {
    let who = match (&r.user, &r.machine) {
        (Some(u), _) => format!("user '{u}'"),
        (_, Some(m)) => format!("machine {m}"),
        _ => "?".into(),
    };
    if r.changed {
        println!(
            "revoked {who} at {}; closed {} live connection(s)",
            r.revoked_at, r.evicted
        );
    } else {
        println!("{who} was already revoked (at {})", r.revoked_at);
    }
}

/// A tenant's STATUS: its status, and what it acts as when that differs (an ended trial).
fn tenant_status(t: &TenantView) -> String {
    if t.effective_status == t.status {
        t.status.to_string()
    } else {
        format!("{} (acts {})", t.status, t.effective_status)
    }
}

fn tenant_row(t: &TenantView) -> Vec<String> {
    let products: Vec<&str> = t
        .products
        .iter()
        .filter(|(_, p)| p.enabled)
        .map(|(n, _)| n.as_str())
        .collect();
    vec![
        t.tenant.to_string(),
        t.name.clone(),
        tenant_status(t),
        t.kind.as_str().to_owned(),
        t.plan.to_string(),
        products.join(","),
        when(&t.created_at, false),
    ]
}

const TENANT_COLUMNS: &[Col] = &[
    Col("TENANT", Fit::Late),
    Col("NAME", Fit::Early),
    Col("STATUS", Fit::Fixed),
    Col("KIND", Fit::Fixed),
    Col("PLAN", Fit::Early),
    Col("PRODUCTS", Fit::Early),
    Col("CREATED", Fit::Fixed),
];

pub(crate) fn tenant_list(r: &TenantListReply) {
    list(
        TENANT_COLUMNS,
        &r.tenants,
        |t| &t.created_at,
        tenant_row,
        r.cursor.as_ref(),
    );
}

/// One tenant: its row, the fields the row leaves out, and its products.
pub(crate) fn tenant(t: &TenantView) {
    table::print(TENANT_COLUMNS, &[tenant_row(t)]);
    let fields = [
        ("trial ends", t.trial_ends_at.clone()),
        ("contract start", t.contract_start.map(|d| d.to_text())),
        ("contract end", t.contract_end.map(|d| d.to_text())),
        (
            "erp customer id",
            t.erp_customer_id.as_ref().map(|i| i.to_string()),
        ),
        (
            "stripe customer id",
            t.stripe_customer_id.as_ref().map(|i| i.to_string()),
        ),
        ("sales owner", t.sales_owner.clone()),
        ("updated", Some(when(&t.updated_at, false))),
    ];
    println!();
    for (label, value) in fields {
        if let Some(v) = value {
            println!("{label:<19} {v}");
        }
    }
    if t.products.is_empty() {
        return;
    }
    println!();
    let rows: Vec<Vec<String>> = t
        .products
        .iter()
        .map(|(name, p)| {
            vec![
                name.to_string(),
                if p.enabled { "enabled" } else { "disabled" }.to_owned(),
                p.expires_at
                    .as_deref()
                    .map(|e| when(e, false))
                    .unwrap_or_default(),
                format!("{} B", p.config.encoded_len()),
            ]
        })
        .collect();
    table::print(PRODUCT_COLUMNS, &rows);
}

const PRODUCT_COLUMNS: &[Col] = &[
    Col("PRODUCT", Fit::Late),
    Col("STATE", Fit::Fixed),
    Col("EXPIRES", Fit::Fixed),
    Col("CONFIG", Fit::Fixed),
];
