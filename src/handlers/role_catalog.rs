//! `admin.role.catalog`: the permission catalog (PROTOCOL §8), fixed in code.

use crate::authz::Permission;
use crate::wire::admin::{CatalogEntry, RoleCatalogReply, RoleCatalogRequest};

pub(super) fn handle(_req: RoleCatalogRequest) -> RoleCatalogReply {
    RoleCatalogReply {
        permissions: Permission::ALL
            .iter()
            .map(|p| CatalogEntry {
                key: p.key().to_owned(),
                resource: p.resource().as_str().to_owned(),
                description: p.description().to_owned(),
            })
            .collect(),
    }
}
