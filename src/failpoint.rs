//! Crash points for the crash tests. Built only with the cargo feature `failpoints`;
//! otherwise every `hit` is an empty inline function. With the feature, a worker started
//! with `ROSTER_FAILPOINT=<name>` aborts (like a SIGKILL: no cleanup, nothing flushed)
//! when it reaches that point.

/// Aborts the process if `name` is the armed failpoint.
#[cfg(feature = "failpoints")]
pub fn hit(name: &str) {
    static ARMED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let armed = ARMED.get_or_init(|| std::env::var("ROSTER_FAILPOINT").ok());
    if armed.as_deref() == Some(name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}

/// Does nothing without the `failpoints` feature.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}

/// Every failpoint, in flow order, for the tests.
pub const ALL: &[&str] = &[
    "register.after_nonce",
    "register.after_claim",
    "register.after_key_index",
    "register.after_user",
    "register.after_audit",
    "enroll.after_uid_claim",
    "enroll.after_machine",
    "enroll.after_credential_index",
    "enroll.after_audit",
    "revoke.after_flip",
    "revoke.after_audit",
    "set_role.after_write",
    "set_role.after_audit",
    "user_delete.after_mark",
    "user_delete.after_audit",
    "machine_decide.after_write",
    "site_create.after_write",
    "site_rotate_key.after_write",
    "invite_create.after_write",
    "invite_cancel.after_write",
    "role_create.after_write",
    "role_update.after_write",
    "role_delete.after_mark",
    "tenant_create.after_write",
    "tenant_update.after_write",
    "tenant_set_product.after_write",
    "tenant_set_status.after_write",
    "tenant_archive.after_status",
    "apikey_create.after_write",
    "apikey_roll.after_write",
    "apikey_revoke.after_write",
    "credential_create.after_write",
    "credential_rotate.after_write",
    "credential_revoke.after_write",
    "credential_delete.after_mark",
];
