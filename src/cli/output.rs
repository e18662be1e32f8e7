//! Tables for people. `--json` output bypasses this module.

use crate::wire::admin::{
    AuditQueryReply, DeleteReply, InviteCreateReply, InviteListReply, InviteView, MachineListReply,
    MachineView, RotateKeyReply, SiteCreateReply, SiteListReply, SiteView, UserListReply, UserView,
};
use crate::wire::register::RegisterReply;

/// Output mode.
pub(crate) struct Out {
    pub json: bool,
}

impl Out {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }
}

/// Prints rows as left-aligned columns under a header.
fn table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let s: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{:<w$}", c, w = widths[i]))
            .collect();
        println!("{}", s.join("  ").trim_end());
    };
    line(header.iter().map(|s| s.to_string()).collect());
    for r in rows {
        line(r);
    }
}

fn short(key: &str) -> String {
    if key.chars().count() > 16 {
        format!("{}…", key.chars().take(16).collect::<String>())
    } else {
        key.to_owned()
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
        i.expires_at.clone(),
        i.created_by.clone(),
    ]
}

pub(crate) fn invite_list(r: &InviteListReply) {
    table(
        &["INVITE", "HANDLE", "ROLE", "STATE", "EXPIRES", "BY"],
        r.invites.iter().map(invite_row).collect(),
    );
    if let Some(c) = &r.cursor {
        println!("(more: --cursor {c})");
    }
}

pub(crate) fn invite(i: &InviteView) {
    table(
        &["INVITE", "HANDLE", "ROLE", "STATE", "EXPIRES", "BY"],
        vec![invite_row(i)],
    );
    if let (Some(at), Some(k)) = (&i.used_at, &i.used_sign_pub) {
        println!("used at {at} by key {k}");
    }
}

fn user_row(u: &UserView) -> Vec<String> {
    vec![
        u.handle.to_string(),
        u.role.to_string(),
        u.status.clone(),
        short(&u.sign_pub),
        u.registered_at.clone(),
        u.sites
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(","),
    ]
}

const USER_COLUMNS: &[&str] = &[
    "HANDLE",
    "ROLE",
    "STATUS",
    "SIGN_PUB",
    "REGISTERED",
    "SITES",
];

pub(crate) fn user_list(r: &UserListReply) {
    table(USER_COLUMNS, r.users.iter().map(user_row).collect());
    if let Some(c) = &r.cursor {
        println!("(more: --cursor {c})");
    }
}

pub(crate) fn user(u: &UserView) {
    table(USER_COLUMNS, vec![user_row(u)]);
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
    table(
        &[
            "TIME", "ACTION", "OUTCOME", "CODE", "COUNT", "ACTOR", "TARGET", "SOURCE",
        ],
        r.events
            .iter()
            .map(|e| {
                vec![
                    e.time.clone(),
                    e.action.clone(),
                    format!("{:?}", e.outcome).to_lowercase(),
                    meta(e, "code"),
                    meta(e, "count"),
                    short(&e.actor.id),
                    format!("{}:{}", e.target.kind, short(&e.target.id)),
                    e.source.as_deref().map(short).unwrap_or_default(),
                ]
            })
            .collect(),
    );
}

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

fn site_row(s: &SiteView) -> Vec<String> {
    vec![
        crate::domain::SiteRef::new(&s.tenant, &s.site).to_string(),
        s.display_name.clone(),
        format!("{:?}", s.policy).to_lowercase(),
        s.fingerprint.clone(),
        s.created_at.clone(),
    ]
}

const SITE_HEADER: [&str; 5] = ["SITE", "NAME", "POLICY", "KEY", "CREATED"];

pub(crate) fn site_created(r: &SiteCreateReply) {
    table(&SITE_HEADER, vec![site_row(&r.site)]);
    println!(
        "\nenrollment key {} (shown once; bake it into the installer):\n\n  {}\n",
        r.site.fingerprint, r.enrollment_key
    );
}

pub(crate) fn site_list(r: &SiteListReply) {
    table(&SITE_HEADER, r.sites.iter().map(site_row).collect());
    if let Some(c) = &r.cursor {
        println!("(more: --cursor {c})");
    }
}

pub(crate) fn site(s: &SiteView) {
    table(&SITE_HEADER, vec![site_row(s)]);
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
        crate::domain::SiteRef::new(&m.tenant, &m.site).to_string(),
        m.state.clone(),
        m.machine_uid.clone(),
        m.hostname.clone().unwrap_or_default(),
        m.last_enrolled_at.clone(),
    ]
}

const MACHINE_HEADER: [&str; 6] = [
    "MACHINE",
    "SITE",
    "STATE",
    "UID",
    "HOSTNAME",
    "LAST ENROLLED",
];

pub(crate) fn machine_list(r: &MachineListReply) {
    table(
        &MACHINE_HEADER,
        r.machines.iter().map(machine_row).collect(),
    );
    if let Some(c) = &r.cursor {
        println!("(more: --cursor {c})");
    }
}

pub(crate) fn machine(m: &MachineView) {
    table(&MACHINE_HEADER, vec![machine_row(m)]);
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
