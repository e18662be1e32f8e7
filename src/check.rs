//! `roster check`: walks every bucket and the audit stream and reports orphans and broken
//! invariants. Run it on a quiet bus (a request in flight can look like an orphan for
//! the few milliseconds between its writes).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::audit::Auditor;
use crate::store::records::{InviteState, MachineState, UserStatus};
use crate::store::{OwnersKey, Store, StoreError};

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A stable name, e.g. `claimed_invite_without_user`.
    pub kind: &'static str,
    /// The bucket and key (or record) concerned.
    pub subject: String,
    /// What is wrong, for people.
    pub detail: String,
}

/// What the checker looked at and found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub users: usize,
    pub user_keys: usize,
    pub invites: usize,
    pub sites: usize,
    pub machines: usize,
    pub machine_uids: usize,
    pub credentials: usize,
    pub apikeys: usize,
    pub tenants: usize,
    /// Customer id claims no tenant's record names (a crash between a claim and its
    /// record's write): the next tenant to claim the id takes them over once settled;
    /// not a problem.
    pub stale_tenant_claims: usize,
    /// Vault credentials (PROTOCOL §10), their name claims and the holders' data keys.
    pub vault_credentials: usize,
    pub vault_names: usize,
    pub vault_keys: usize,
    /// Name claims whose credential is gone (a crash between a creation's two writes):
    /// they hide nothing and the next creation of the name takes them over; not a problem.
    pub stale_credential_claims: usize,
    pub audit_events: usize,
    /// Index entries no record names (a lost race's, or a moved record's old entry
    /// after a crash): every list skips them; not a problem.
    pub stale_index_entries: usize,
    /// Index entries of invites redeemed since a healer last looked (the register writes
    /// no index; the healers remove them once the change settles): not a problem.
    pub redeemed_invite_entries: usize,
    pub problems: Vec<Problem>,
}

impl Report {
    fn problem(&mut self, kind: &'static str, subject: String, detail: String) {
        self.problems.push(Problem {
            kind,
            subject,
            detail,
        });
    }
}

/// Why the state to check could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenStateError {
    /// A bucket is missing or could not be looked up.
    #[error(transparent)]
    Store(#[from] crate::store::OpenError),
    /// The audit or the security stream is missing or could not be looked up.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
}

/// Opens every bucket and the audit streams as they are: the checker creates and changes
/// nothing, so pointed at the wrong bus (or prefix) it says so instead of setting one up.
pub async fn open_existing(
    client: &async_nats::Client,
    cfg: &crate::config::WorkerConfig,
) -> Result<(Store, Auditor), OpenStateError> {
    let js = async_nats::jetstream::new(client.clone());
    let store = Store::open_existing(&js, &cfg.store).await?;
    let audit = Auditor::open_existing(js, &cfg.handlers.prefix, cfg.security.clone()).await?;
    Ok((store, audit))
}

/// Runs every check. A problem is reported only if a second look a second later still
/// sees it: on a cluster, a node that just rejoined can briefly serve a view that misses
/// a committed write (seen on nats-server 2.15.1 in the leader-kill test).
pub async fn check(store: &Store, audit: &Auditor) -> Result<Report, StoreError> {
    let first = check_once(store, audit).await?;
    if first.problems.is_empty() {
        return Ok(first);
    }
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let mut second = check_once(store, audit).await?;
    second.problems.retain(|p| first.problems.contains(p));
    Ok(second)
}

async fn check_once(store: &Store, audit: &Auditor) -> Result<Report, StoreError> {
    let mut r = Report::default();
    let users = values(&store.users).await?;
    let keys = values(&store.user_keys).await?;
    let invites = values(&store.invites).await?;
    let sites = values(&store.sites).await?;
    let machines = values(&store.machines).await?;
    let uids = values(&store.machine_uids).await?;
    let creds = values(&store.credentials).await?;
    let events = audit.read_all().await?;
    r.users = users.len();
    r.user_keys = keys.len();
    r.invites = invites.len();
    r.sites = sites.len();
    r.machines = machines.len();
    r.machine_uids = uids.len();
    r.credentials = creds.len();
    r.audit_events = events.len();

    // Which (action, target) pairs the audit trail holds.
    let seen: HashSet<(String, String)> = events
        .iter()
        .filter(|e| e.outcome == crate::audit::Outcome::Ok)
        .map(|e| (e.action.clone(), e.target.id.clone()))
        .collect();
    let has = |action: &str, target: &str| seen.contains(&(action.to_owned(), target.to_owned()));

    for (k, u) in &users {
        match keys.get(&u.sign_pub.to_hex()) {
            Some(idx) if idx.handle == u.handle => {}
            Some(idx) => r.problem(
                "user_without_key_index",
                format!("users/{k}"),
                format!("its key is indexed to '{}'", idx.handle),
            ),
            None => r.problem(
                "user_without_key_index",
                format!("users/{k}"),
                "no key index entry".into(),
            ),
        }
        if u.invite_id.is_some() && !has("user.registered", u.handle.as_str()) {
            r.problem(
                "change_without_audit",
                format!("users/{k}"),
                "no user.registered event".into(),
            );
        }
        if u.status == UserStatus::Revoked && !has("user.revoked", u.handle.as_str()) {
            r.problem(
                "change_without_audit",
                format!("users/{k}"),
                "revoked without a user.revoked event".into(),
            );
        }
    }
    for (k, idx) in &keys {
        match users.get(idx.handle.as_str()) {
            Some(u) if u.sign_pub.to_hex() == *k => {}
            _ => r.problem(
                "key_index_without_user",
                format!("user_keys/{k}"),
                format!("points at '{}'", idx.handle),
            ),
        }
    }
    for (k, inv) in &invites {
        if inv.state == InviteState::Used && inv.user_deleted_at.is_none() {
            let ok = users
                .get(inv.handle.as_str())
                .is_some_and(|u| Some(u.sign_pub) == inv.used_sign_pub);
            // A claim whose key belonged to someone else already (key_registered) never
            // makes a user: that is a spent invite, not an orphan.
            let key_taken = inv
                .used_sign_pub
                .and_then(|p| keys.get(&p.to_hex()))
                .is_some_and(|idx| idx.handle != inv.handle);
            let handle_taken = users
                .get(inv.handle.as_str())
                .is_some_and(|u| Some(u.sign_pub) != inv.used_sign_pub);
            if !ok && !key_taken && !handle_taken {
                r.problem(
                    "claimed_invite_without_user",
                    format!("invites/{k}"),
                    format!("claimed for '{}', no such user", inv.handle),
                );
            }
        }
    }
    for (key, guard) in store.owner_guards_from_leader().await? {
        let scope = match key.strip_prefix("owners.") {
            Some(t) => crate::domain::Tenant::parse(t).ok().map(OwnersKey::Tenant),
            None => Some(OwnersKey::Platform),
        };
        for h in &guard.owners {
            let real = users.get(h.as_str()).is_some_and(|u| {
                scope
                    .as_ref()
                    .is_some_and(|s| crate::store::owner_scopes(u).contains(s))
            });
            if !real {
                r.problem(
                    "owner_guard_overcount",
                    format!("meta/{key}"),
                    format!("lists '{h}', not an active owner there"),
                );
            }
        }
    }
    for (k, s) in &sites {
        let active = s.keys.iter().filter(|key| key.retires_at.is_none()).count();
        let current = s
            .keys
            .iter()
            .filter(|key| key.version == s.key_version)
            .count();
        if active != 1 || current != 1 {
            r.problem(
                "site_key_ring_invalid",
                format!("sites/{k}"),
                format!(
                    "{active} active keys, {current} at version {}",
                    s.key_version
                ),
            );
        }
        if !has(
            "site.created",
            &crate::domain::SiteRef::new(&s.tenant, &s.site).to_string(),
        ) {
            r.problem(
                "change_without_audit",
                format!("sites/{k}"),
                "no site.created event".into(),
            );
        }
    }
    let mut creds_by_machine: HashMap<String, usize> = HashMap::new();
    for (k, c) in &creds {
        match machines.get(c.machine_id.as_str()) {
            Some(_) => {
                *creds_by_machine
                    .entry(c.machine_id.to_string())
                    .or_default() += 1
            }
            None => r.problem(
                "credential_without_machine",
                format!("credentials/{k}"),
                format!("points at {}", c.machine_id),
            ),
        }
    }
    // Every machine is listed: its record names an index entry on its place.
    if let Some(index) = store.machines.index() {
        let entries: HashMap<u64, crate::store::index::Entry> =
            index.all().await?.into_iter().map(|e| (e.seq, e)).collect();
        for (k, m) in &machines {
            use crate::store::Record;
            let ok = m
                .index_seq
                .and_then(|seq| entries.get(&seq))
                .is_some_and(|e| {
                    e.key == *k && Some(e.subject.as_str()) == m.index_subject().as_deref()
                });
            if !ok {
                r.problem(
                    "machine_not_indexed",
                    format!("machines/{k}"),
                    "no index entry on its tenant, site and state: lists miss it".into(),
                );
            }
        }
        r.stale_index_entries = entries
            .values()
            .filter(|e| machines.get(&e.key).and_then(|m| m.index_seq) != Some(e.seq))
            .count();
    }
    // Every pending or cancelled invite is listed likewise; a redeemed invite's entry
    // waits for a healer (stale, not a problem).
    if let Some(index) = store.invites.index() {
        use crate::store::Record;
        let entries: HashMap<u64, crate::store::index::Entry> =
            index.all().await?.into_iter().map(|e| (e.seq, e)).collect();
        for (k, inv) in &invites {
            let Some(subject) = inv.index_subject() else {
                continue;
            };
            let ok = inv
                .index_seq
                .and_then(|seq| entries.get(&seq))
                .is_some_and(|e| e.key == *k && e.subject == subject);
            if !ok {
                r.problem(
                    "invite_not_indexed",
                    format!("invites/{k}"),
                    format!("no index entry on {subject}: lists by state miss it"),
                );
            }
        }
        for e in entries.values() {
            match invites.get(&e.key) {
                Some(i) if i.index_seq == Some(e.seq) && i.index_subject().is_none() => {
                    r.redeemed_invite_entries += 1;
                }
                Some(i) if i.index_seq == Some(e.seq) => {}
                _ => r.stale_index_entries += 1,
            }
        }
    }
    // Every user is listed in each place it holds something in.
    if let Some(index) = store.users.index() {
        use crate::store::Record;
        let entries: HashMap<u64, crate::store::index::Entry> =
            index.all().await?.into_iter().map(|e| (e.seq, e)).collect();
        for (k, u) in &users {
            let seqs = u.index_seqs();
            for (i, subject) in u.index_subjects().iter().enumerate() {
                let ok = seqs
                    .get(i)
                    .and_then(|seq| entries.get(seq))
                    .is_some_and(|e| e.key == *k && e.subject == *subject);
                if !ok {
                    r.problem(
                        "user_not_indexed",
                        format!("users/{k}"),
                        format!("no index entry on {subject}: its tenant's lists miss it"),
                    );
                }
            }
        }
        r.stale_index_entries += entries
            .values()
            .filter(|e| {
                !users
                    .get(&e.key)
                    .is_some_and(|u| u.names_entry(&e.subject, e.seq))
            })
            .count();
    }

    for (k, m) in &machines {
        let id = m.machine_id.as_str();
        if !creds.contains_key(&m.credential_sha256) {
            r.problem(
                "machine_without_credential_index",
                format!("machines/{k}"),
                "its credential is not indexed".into(),
            );
        }
        let enrolled = ["machine.enrolled", "machine.pending", "machine.reenrolled"]
            .iter()
            .any(|a| has(a, id));
        if !enrolled {
            r.problem(
                "change_without_audit",
                format!("machines/{k}"),
                "no enrollment event".into(),
            );
        }
        if m.state == MachineState::Revoked && !has("machine.revoked", id) {
            r.problem(
                "change_without_audit",
                format!("machines/{k}"),
                "revoked without a machine.revoked event".into(),
            );
        }
    }
    let apikeys = values(&store.apikeys).await?;
    let claims = values(&store.apikey_claims).await?;
    r.apikeys = apikeys.len();
    for (k, a) in &apikeys {
        let id = a.key_id.as_str();
        let id_claim = claims.get(&format!("id.{id}"));
        if id_claim.is_none_or(|c| c.tenant != a.tenant) {
            r.problem(
                "apikey_without_claim",
                format!("apikeys/{k}"),
                "its key id is not claimed for its tenant".into(),
            );
        }
        let name_key = crate::store::ApiKeyClaimKey::name(&a.tenant, &a.name);
        let name_claim = claims.get(crate::store::StoreKey::store_key(&name_key).as_ref());
        if name_claim.is_none_or(|c| c.key_id != a.key_id) {
            r.problem(
                "apikey_without_claim",
                format!("apikeys/{k}"),
                "its name is not claimed for it".into(),
            );
        }
        if !has("apikey.created", id) {
            r.problem(
                "change_without_audit",
                format!("apikeys/{k}"),
                "no apikey.created event".into(),
            );
        }
        if a.revoked_at.is_some() && !has("apikey.revoked", id) {
            r.problem(
                "change_without_audit",
                format!("apikeys/{k}"),
                "revoked without an apikey.revoked event".into(),
            );
        }
    }
    for (k, u) in &uids {
        if !machines.contains_key(u.machine_id.as_str()) {
            r.problem(
                "uid_index_without_machine",
                format!("machine_uids/{k}"),
                format!("points at {}", u.machine_id),
            );
        }
    }
    check_vault(store, &mut r, &users, &has).await?;
    check_tenants(store, &mut r, (&sites, &machines), &has).await?;
    Ok(r)
}

/// The tenant registry (PROTOCOL §7): every tenant has its `tenant.created` event (the
/// `default` tenant, made by the first start, has none), its built-in roles while it
/// lives, the customer ids it names claimed for it, and its last change's event; an
/// archived tenant is purged (nothing of it is left but its record) with its
/// `tenant.purged`; a recorded trial end has its `tenant.trial_expired`; no site or
/// machine names a tenant that does not exist.
async fn check_tenants(
    store: &Store,
    r: &mut Report,
    (sites, machines): (
        &HashMap<String, crate::store::records::SiteRecord>,
        &HashMap<String, crate::store::records::MachineRecord>,
    ),
    has: &impl Fn(&str, &str) -> bool,
) -> Result<(), StoreError> {
    use crate::domain::{ExternalIdKind, TenantStatus};
    use crate::store::records::Noted;
    let tenants = values(&store.tenants).await?;
    let claims = values(&store.tenant_claims).await?;
    let roles = values(&store.roles).await?;
    r.tenants = tenants.len();
    r.stale_tenant_claims = claims
        .values()
        .filter(|c| {
            tenants
                .get(c.tenant.as_str())
                .is_none_or(|t| !t.holds(c.kind, &c.value))
        })
        .count();
    let default = crate::domain::Tenant::default_tenant();
    for (k, t) in &tenants {
        let subject = format!("tenants/{k}");
        if t.tenant != default && !has("tenant.created", k) {
            r.problem(
                "change_without_audit",
                subject.clone(),
                "no tenant.created event".into(),
            );
        }
        let last = t.note.as_ref().and_then(|n| match n.change {
            Noted::TenantUpdated { .. } => Some("tenant.updated"),
            Noted::TenantStatusChanged { .. } => Some("tenant.status_changed"),
            Noted::TenantProductSet { .. } => Some("tenant.product_set"),
            _ => None,
        });
        if let Some(action) = last.filter(|a| !has(a, k)) {
            r.problem(
                "change_without_audit",
                subject.clone(),
                format!("its last change has no {action} event"),
            );
        }
        if t.trial_expired_at.is_some() && !has("tenant.trial_expired", k) {
            r.problem(
                "change_without_audit",
                subject.clone(),
                "its trial's end has no tenant.trial_expired event".into(),
            );
        }
        for kind in ExternalIdKind::ALL {
            let Some(id) = t
                .external_id(kind)
                .filter(|_| t.status != TenantStatus::Archived)
            else {
                continue;
            };
            let key = crate::store::ClaimKey::new(kind, id);
            let claim = claims.get(crate::store::StoreKey::store_key(&key).as_ref());
            if claim.is_none_or(|c| c.tenant != t.tenant) {
                r.problem(
                    "customer_id_unclaimed",
                    subject.clone(),
                    format!(
                        "its {} is not claimed for it: another tenant may take it",
                        kind.field()
                    ),
                );
            }
        }
        let prefix = format!("{k}.");
        let own_roles = roles.keys().filter(|rk| rk.starts_with(&prefix)).count();
        if t.status == TenantStatus::Archived {
            let left = own_roles
                + sites.values().filter(|s| s.tenant == t.tenant).count()
                + machines.values().filter(|m| m.tenant == t.tenant).count();
            if t.purged_at.is_none() || left > 0 {
                r.problem(
                    "archived_tenant_not_purged",
                    subject.clone(),
                    format!("{left} roles, sites and machines of it remain"),
                );
            }
            if t.purged_at.is_some() && !has("tenant.purged", k) {
                r.problem(
                    "change_without_audit",
                    subject.clone(),
                    "purged without a tenant.purged event".into(),
                );
            }
        } else if own_roles == 0 {
            r.problem(
                "tenant_without_roles",
                subject.clone(),
                "none of its built-in roles exist".into(),
            );
        }
    }
    let mut orphan = |what: &str, key: &str, tenant: &crate::domain::Tenant| {
        if !tenants.contains_key(tenant.as_str()) {
            r.problem(
                "record_without_tenant",
                format!("{what}/{key}"),
                format!("names tenant {tenant}, which does not exist"),
            );
        }
    };
    for (k, s) in sites {
        orphan("sites", k, &s.tenant);
    }
    for (k, m) in machines {
        orphan("machines", k, &m.tenant);
    }
    Ok(())
}

/// The vault: every credential holds its name claim, has its holder's data key, its
/// `credential.created` event, its revoke's event and its last noted change's (a
/// rotation, an expiry notice); no delete is left half done; every user's data key
/// belongs to a user that exists.
async fn check_vault(
    store: &Store,
    r: &mut Report,
    users: &HashMap<String, crate::store::records::UserRecord>,
    has: &impl Fn(&str, &str) -> bool,
) -> Result<(), StoreError> {
    use crate::store::records::Noted;
    use crate::store::StoreKey as _;
    let creds = values(&store.vault).await?;
    let names = values(&store.vault_names).await?;
    let keys = values(&store.vault_keys).await?;
    r.vault_credentials = creds.len();
    r.vault_names = names.len();
    r.vault_keys = keys.len();
    r.stale_credential_claims = names
        .values()
        .filter(|n| !creds.contains_key(n.credential_id.as_str()))
        .count();
    for (k, c) in &creds {
        let Some(holder) = c.holder() else {
            r.problem(
                "credential_without_holder",
                format!("vault/{k}"),
                format!("scope {} names no owner or tenant", c.scope.as_str()),
            );
            continue;
        };
        let claim = crate::store::VaultNameKey::new(&holder, &c.provider, &c.name);
        let claimed = names.get(claim.store_key().as_ref());
        if claimed.is_none_or(|n| n.credential_id != c.credential_id) {
            r.problem(
                "credential_without_name_claim",
                format!("vault/{k}"),
                format!(
                    "{holder}'s claim of {}/{} is not its own",
                    c.provider, c.name
                ),
            );
        }
        if !keys.contains_key(holder.store_key().as_ref()) {
            r.problem(
                "credential_without_data_key",
                format!("vault/{k}"),
                format!("{holder} has no data key: the value cannot be decrypted"),
            );
        }
        if !has("credential.created", k) {
            r.problem(
                "credential_without_created_event",
                format!("vault/{k}"),
                "no credential.created event".to_owned(),
            );
        }
        if c.deleting() {
            r.problem(
                "delete_not_finished",
                format!("vault/{k}"),
                "marked for deletion but still there".to_owned(),
            );
        }
        if !c.active && !has("credential.revoked", k) {
            r.problem(
                "change_without_audit",
                format!("vault/{k}"),
                "revoked without a credential.revoked event".to_owned(),
            );
        }
        let last = c.note.as_ref().and_then(|n| match n.change {
            Noted::CredentialRotated => Some("credential.rotated"),
            Noted::CredentialExpiring => Some("credential.expiring"),
            _ => None,
        });
        if let Some(action) = last.filter(|a| !has(a, k)) {
            r.problem(
                "change_without_audit",
                format!("vault/{k}"),
                format!("its last change has no {action} event"),
            );
        }
    }
    for k in keys.keys() {
        if let Some(crate::domain::CredentialHolder::User(h)) = crate::store::holder_of_key(k) {
            if !users.contains_key(h.as_str()) {
                r.problem(
                    "data_key_of_missing_user",
                    format!("vault_keys/{k}"),
                    format!("user {h} is gone; its data key should be too"),
                );
            }
        }
    }
    Ok(())
}

async fn values<
    K: crate::store::StoreKey,
    T: serde::Serialize + serde::de::DeserializeOwned + crate::store::Record,
>(
    b: &crate::store::TypedBucket<K, T>,
) -> Result<HashMap<String, T>, StoreError> {
    // From the leader: a lagging replica would make a healthy record look orphaned.
    Ok(b.all_from_leader().await?.into_iter().collect())
}
