//! Tables for people. `--json` output bypasses this module.

use crate::wire::admin::{
    AuditQueryReply, DeleteReply, InviteCreateReply, InviteListReply, InviteView, UserListReply,
    UserView,
};
use crate::wire::register::RegisterReply;

/// Output mode.
pub struct Out {
    pub json: bool,
}

impl Out {
    pub fn new(json: bool) -> Self {
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
    if key.len() > 16 {
        format!("{}…", &key[..16])
    } else {
        key.to_owned()
    }
}

pub fn register(r: &RegisterReply) {
    println!(
        "registered as '{}' (role {}) at {}",
        r.handle, r.role, r.registered_at
    );
    println!("  sign_pub: {}", r.sign_pub);
}

pub fn invite_created(r: &InviteCreateReply) {
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

pub fn invite_list(r: &InviteListReply) {
    table(
        &["INVITE", "HANDLE", "ROLE", "STATE", "EXPIRES", "BY"],
        r.invites.iter().map(invite_row).collect(),
    );
    if let Some(c) = &r.cursor {
        println!("(more: --cursor {c})");
    }
}

pub fn invite(i: &InviteView) {
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

pub fn user_list(r: &UserListReply) {
    table(
        &[
            "HANDLE",
            "ROLE",
            "STATUS",
            "SIGN_PUB",
            "REGISTERED",
            "SITES",
        ],
        r.users.iter().map(user_row).collect(),
    );
    if let Some(c) = &r.cursor {
        println!("(more: --cursor {c})");
    }
}

pub fn user(u: &UserView) {
    table(
        &[
            "HANDLE",
            "ROLE",
            "STATUS",
            "SIGN_PUB",
            "REGISTERED",
            "SITES",
        ],
        vec![user_row(u)],
    );
}

pub fn deleted(d: &DeleteReply) {
    println!("deleted '{}'", d.handle);
}

pub fn audit(r: &AuditQueryReply) {
    table(
        &["TIME", "ACTION", "OUTCOME", "ACTOR", "TARGET"],
        r.events
            .iter()
            .map(|e| {
                vec![
                    e.time.clone(),
                    e.action.clone(),
                    format!("{:?}", e.outcome).to_lowercase(),
                    short(&e.actor.id),
                    format!("{}:{}", e.target.kind, short(&e.target.id)),
                ]
            })
            .collect(),
    );
}
