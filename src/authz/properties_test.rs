//! Property tests of `authz`: effective permissions, narrowing, no escalation, role-name
//! keys and read pairing, over random assignments and random role tables.

use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;
use proptest::sample::select;

use super::fixtures::{at_site, code, in_tenant, tenant};
use super::*;
use crate::domain::{SiteCode, Tenant};

/// Tenants and sites assignments use; `initech` and `SEA` stand for everywhere else.
const TENANTS: [&str; 2] = ["acme", "globex"];
const SITES: [&str; 2] = ["PHX", "LAX"];
const EVERY_TENANT: [&str; 3] = ["acme", "globex", "initech"];
const EVERY_SITE: [&str; 3] = ["PHX", "LAX", "SEA"];
/// Role names assignments use; the table defines all but `Ghost`.
const ROLES: [&str; 7] = [
    "owner",
    "admin",
    "operator",
    "member",
    "Floor Manager",
    "Auditor",
    "Ghost",
];

/// A role table: (tenant, role key) to any permissions, platform-only ones included, so
/// the properties hold whatever the records say.
type Table = BTreeMap<(String, String), PermSet>;

fn resolver(table: &Table) -> impl Fn(&Tenant, &RoleName) -> Option<PermSet> + '_ {
    |t, r| {
        table
            .get(&(t.as_str().to_owned(), r.key().to_owned()))
            .copied()
    }
}

fn perm_set() -> impl Strategy<Value = PermSet> {
    any::<u32>().prop_map(|bits| {
        Permission::ALL
            .into_iter()
            .filter(|p| (bits >> (*p as u32)) & 1 == 1)
            .collect()
    })
}

fn table() -> impl Strategy<Value = Table> {
    let defined = &ROLES[..ROLES.len() - 1];
    prop::collection::vec(perm_set(), TENANTS.len() * defined.len()).prop_map(move |sets| {
        let keys = TENANTS.iter().flat_map(|t| {
            defined
                .iter()
                .map(move |r| (t.to_string(), RoleName::parse(r)))
        });
        keys.zip(sets)
            .filter_map(|((t, r), set)| Some(((t, r.ok()?.key().to_owned()), set)))
            .collect()
    })
}

fn assignment() -> impl Strategy<Value = Assignment> {
    prop_oneof![
        1 => select(&[PlatformRole::Owner, PlatformRole::Admin][..]).prop_map(Assignment::platform),
        4 => (select(&ROLES[..]), select(&TENANTS[..])).prop_map(|(r, t)| in_tenant(r, t)),
        4 => (select(&ROLES[..]), select(&TENANTS[..]), select(&SITES[..]))
            .prop_map(|(r, t, s)| at_site(r, t, s)),
    ]
}

fn assignments() -> impl Strategy<Value = Vec<Assignment>> {
    prop::collection::vec(assignment(), 0..6)
}

/// Every place that can differ: each tenant at tenant level and at each site.
fn places() -> Vec<(Tenant, Option<SiteCode>)> {
    EVERY_TENANT
        .iter()
        .flat_map(|t| {
            std::iter::once(None)
                .chain(EVERY_SITE.iter().map(|s| Some(code(s))))
                .map(move |s| (tenant(t), s))
        })
        .collect()
}

fn scopes() -> Vec<AssignScope> {
    std::iter::once(AssignScope::Platform)
        .chain(places().into_iter().map(|(t, s)| match s {
            None => AssignScope::Tenant(t),
            Some(s) => AssignScope::Site(crate::domain::SiteRef { tenant: t, site: s }),
        }))
        .collect()
}

/// PROTOCOL §8 read literally, over the assignment list: the platform grants, plus the
/// union of the site-scoped grants at T/S if there are any, else the union of the
/// tenant-scoped grants in T.
fn by_the_protocol(
    list: &[Assignment],
    table: &Table,
    t: &Tenant,
    s: Option<&SiteCode>,
) -> PermSet {
    let roles = resolver(table);
    let platform = list.iter().any(|a| *a.scope() == AssignScope::Platform);
    let union = |keep: &dyn Fn(&AssignScope) -> bool| -> PermSet {
        list.iter()
            .filter(|a| keep(a.scope()))
            .map(|a| a.permissions(&roles))
            .fold(PermSet::EMPTY, PermSet::union)
    };
    let at_site = |scope: &AssignScope| match scope {
        AssignScope::Site(r) => &r.tenant == t && Some(&r.site) == s,
        _ => false,
    };
    let in_tenant = |scope: &AssignScope| matches!(scope, AssignScope::Tenant(x) if x == t);
    let has_site = list.iter().any(|a| at_site(a.scope()));
    let local = if has_site {
        union(&at_site)
    } else {
        union(&in_tenant)
    };
    let everywhere = if platform {
        PermSet::ALL
    } else {
        PermSet::EMPTY
    };
    everywhere.union(local)
}

fn flip_case(s: &str, upper: bool) -> String {
    if upper {
        s.chars().flat_map(char::to_uppercase).collect()
    } else {
        s.chars().flat_map(char::to_lowercase).collect()
    }
}

/// A character that an encoding could confuse with `c`.
fn look_alike(c: char) -> char {
    match c {
        ' ' => '_',
        '_' => ' ',
        '=' => '_',
        '.' => '=',
        'é' => 'e',
        'É' => 'é',
        '5' => '=',
        'f' => '5',
        other => other,
    }
}

fn folded(s: &str) -> String {
    s.trim().chars().flat_map(char::to_lowercase).collect()
}

proptest! {
    #[test]
    fn effective_permissions_follow_the_protocol_rule(list in assignments(), table in table()) {
        let g = Grants::new(&list, &resolver(&table));
        for (t, s) in places() {
            prop_assert_eq!(g.at(&t, s.as_ref()), by_the_protocol(&list, &table, &t, s.as_ref()));
        }
    }

    #[test]
    fn effective_permissions_never_exceed_the_assigned_roles(
        list in assignments(),
        table in table(),
    ) {
        let roles = resolver(&table);
        let g = Grants::new(&list, &roles);
        let platform_grants = g.in_every_tenant();
        for (t, s) in places() {
            let assigned = list
                .iter()
                .filter(|a| a.scope().tenant() == Some(&t))
                .map(|a| a.permissions(&roles))
                .fold(PermSet::EMPTY, PermSet::union);
            prop_assert!(g.at(&t, s.as_ref()).is_subset(assigned.union(platform_grants)));
            // Below platform scope no tenant role carries `tenant:*`.
            if !g.is_platform() {
                prop_assert!(g.at(&t, s.as_ref()).is_subset(PermSet::TENANT));
            }
        }
        let platform_assigned = list
            .iter()
            .filter(|a| *a.scope() == AssignScope::Platform)
            .map(|a| a.permissions(&roles))
            .fold(PermSet::EMPTY, PermSet::union);
        prop_assert_eq!(g.platform(), platform_assigned);
    }

    #[test]
    fn a_site_assignment_changes_nothing_anywhere_else(
        list in assignments(),
        table in table(),
        role in select(&ROLES[..]),
        t in select(&TENANTS[..]),
        s in select(&SITES[..]),
    ) {
        let roles = resolver(&table);
        let before = Grants::new(&list, &roles);
        let mut more = list.clone();
        more.push(at_site(role, t, s));
        let after = Grants::new(&more, &roles);
        prop_assert_eq!(before.platform(), after.platform());
        for (pt, ps) in places() {
            if pt == tenant(t) && ps == Some(code(s)) {
                continue;
            }
            prop_assert_eq!(before.at(&pt, ps.as_ref()), after.at(&pt, ps.as_ref()));
        }
    }

    #[test]
    fn may_grant_is_monotone(
        list in assignments(),
        extra in assignments(),
        table in table(),
        role_perms in perm_set(),
        mask in perm_set(),
    ) {
        let roles = resolver(&table);
        let actor = Grants::new(&list, &roles);
        // More permissions: extra tenant and platform assignments, and extra site
        // assignments only where the actor is already narrowed (a new site assignment
        // could narrow it).
        let narrowed: HashSet<crate::domain::SiteRef> = list
            .iter()
            .filter_map(|a| match a.scope() {
                AssignScope::Site(r) => Some(r.clone()),
                _ => None,
            })
            .collect();
        let mut more = list.clone();
        more.extend(extra.into_iter().filter(|a| match a.scope() {
            AssignScope::Site(r) => narrowed.contains(r),
            _ => true,
        }));
        let stronger = Grants::new(&more, &roles);
        let fewer = role_perms.intersection(mask);
        for scope in scopes() {
            prop_assert!(actor.at_scope(&scope).is_subset(stronger.at_scope(&scope)));
            if may_grant(&actor, role_perms, &scope).is_ok() {
                prop_assert!(may_grant(&stronger, role_perms, &scope).is_ok(), "{}", scope);
                prop_assert!(may_grant(&actor, fewer, &scope).is_ok(), "{}", scope);
            }
        }
    }

    #[test]
    fn an_actor_may_grant_what_it_holds_and_never_more(list in assignments(), table in table()) {
        let actor = Grants::new(&list, &resolver(&table));
        for scope in scopes() {
            let held = match &scope {
                AssignScope::Tenant(t) => actor.throughout(t),
                other => actor.at_scope(other),
            };
            prop_assert!(may_grant(&actor, held, &scope).is_ok());
            for p in Permission::ALL {
                let beyond = held.with(p);
                let platform_only_below = p.is_platform_only() && scope != AssignScope::Platform;
                if !held.contains(p) && !platform_only_below {
                    let e = may_grant(&actor, beyond, &scope).unwrap_err();
                    prop_assert_eq!(e.missing, PermSet::of(p));
                }
            }
        }
    }

    #[test]
    fn losing_permissions_is_losing_them_at_some_place(
        before in assignments(),
        kept in prop::collection::vec(any::<bool>(), 6),
        added in assignments(),
        table in table(),
    ) {
        // `after` keeps some of `before` and adds some, so near misses are common.
        let roles = resolver(&table);
        let after: Vec<Assignment> = before
            .iter()
            .zip(&kept)
            .filter(|(_, keep)| **keep)
            .map(|(a, _)| a.clone())
            .chain(added)
            .collect();
        let (b, a) = (Grants::new(&before, &roles), Grants::new(&after, &roles));
        let somewhere = !b.platform().is_subset(a.platform())
            || places()
                .iter()
                .any(|(t, s)| !b.at(t, s.as_ref()).is_subset(a.at(t, s.as_ref())));
        prop_assert_eq!(loses_any_permission(&b, &a), somewhere);
        prop_assert_eq!(may_change_user(&a, &b).is_ok(), !somewhere);
        prop_assert!(!loses_any_permission(&b, &b.clone()));
    }

    #[test]
    fn lists_see_exactly_the_sites_where_the_permission_holds(
        list in assignments(),
        table in table(),
        perm in select(&Permission::ALL[..]),
    ) {
        let g = Grants::new(&list, &resolver(&table));
        for t in EVERY_TENANT.map(tenant) {
            let seen = g.visible_sites(perm, &t);
            for s in EVERY_SITE.map(code) {
                prop_assert_eq!(seen.allows(&s), g.allows(perm, &t, Some(&s)));
            }
        }
    }

    #[test]
    fn grants_do_not_depend_on_assignment_order(list in assignments(), table in table()) {
        let roles = resolver(&table);
        let reversed: Vec<Assignment> = list.iter().rev().cloned().collect();
        prop_assert_eq!(Grants::new(&list, &roles), Grants::new(&reversed, &roles));
    }

    #[test]
    fn assignments_round_trip_through_json(a in assignment()) {
        let json = serde_json::to_value(&a).unwrap();
        prop_assert_eq!(serde_json::from_value::<Assignment>(json).unwrap(), a);
    }

    #[test]
    fn the_role_key_ignores_case_and_surrounding_space(
        name in "[A-Za-zÉé0-9 _.=*>-]{1,34}",
        pad_left in " {0,3}",
        pad_right in "[ \t]{0,3}",
        upper in any::<bool>(),
    ) {
        let variant = format!("{pad_left}{}{pad_right}", flip_case(&name, upper));
        let (a, b) = (RoleName::parse(&name), RoleName::parse(&variant));
        prop_assert_eq!(a.is_ok(), b.is_ok());
        if let (Ok(a), Ok(b)) = (a, b) {
            prop_assert_eq!(a.key(), b.key());
            prop_assert_eq!(&a, &b);
            prop_assert!(a.key().bytes().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'=' | b'-')
            }), "{}", a.key());
        }
    }

    #[test]
    fn two_names_share_a_key_only_when_they_are_one_name_in_any_case(
        a in "[aA _=5fé.É]{3,6}",
        edits in prop::collection::vec(0u8..4, 6),
    ) {
        // `b` is `a` with some characters case-flipped or swapped for a look-alike, so
        // the pairs are near misses rather than strangers.
        let b: String = a
            .chars()
            .zip(edits.iter().chain(std::iter::repeat(&0)))
            .map(|(c, edit)| match edit {
                1 => flip_case(&c.to_string(), c.is_lowercase()),
                2 => look_alike(c).to_string(),
                _ => c.to_string(),
            })
            .collect();
        if let (Ok(x), Ok(y)) = (RoleName::parse(&a), RoleName::parse(&b)) {
            prop_assert_eq!(x.key() == y.key(), folded(&a) == folded(&b), "{:?} {:?}", a, b);
            prop_assert_eq!(x == y, folded(&a) == folded(&b));
        }
    }

    #[test]
    fn every_role_that_validates_pairs_its_reads(set in perm_set()) {
        let paired = set.iter().all(|p| set.contains(p.resource().read()));
        let tenant_only = set.is_subset(PermSet::TENANT);
        let checked = check_permissions(&set.to_set());
        prop_assert_eq!(checked.is_ok(), paired && tenant_only);
        let name = RoleName::parse("Custom Role").unwrap();
        if let Ok(def) = RoleDef::custom(name, set.to_set(), String::new()) {
            for p in &def.permissions {
                prop_assert!(def.permissions.contains(&p.resource().read()), "{}", p);
            }
        }
    }
}
