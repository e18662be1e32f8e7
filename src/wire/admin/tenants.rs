//! `tenant.create`, `tenant.list`, `tenant.get`, `tenant.update`, `tenant.set_status`,
//! `tenant.set_product` (PROTOCOL §7).
//!
//! In `tenant.update` and `tenant.set_product` an optional field has three states
//! ([`Patch`]): absent (leave it), `null` (clear it) and a value (set it).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::{Cursor, PageLimit, Rfc3339, Validate};
use crate::domain::{
    Date, ExternalId, Label, Plan, ProductConfig, ProductName, Tenant, TenantKind, TenantStatus,
    MAX_PRODUCTS,
};
use crate::wire::ApiError;

/// A product as a tenant's replies show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductView {
    pub enabled: bool,
    pub config: ProductConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// A tenant as admins see it: its record, and the status it acts with now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantView {
    pub tenant: Tenant,
    pub name: String,
    pub status: TenantStatus,
    /// `status`, but `frozen` for a `trial` past `trial_ends_at` (an extension of
    /// PROTOCOL §7's record).
    pub effective_status: TenantStatus,
    pub kind: TenantKind,
    pub plan: Plan,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_ends_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_start: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_end: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erp_customer_id: Option<ExternalId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_customer_id: Option<ExternalId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_owner: Option<String>,
    pub products: BTreeMap<ProductName, ProductView>,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
}

/// A product as `tenant.create` and `tenant.update` give it: `config` defaults to `{}`,
/// no `expires_at` means it never expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductSpec {
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ProductConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Rfc3339>,
}

/// `tenant.create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantCreateRequest {
    pub tenant: Tenant,
    pub name: Label,
    /// Default `customer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TenantKind>,
    /// Default `starter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// Default `active` for a customer, `demo` for a demo; never `archived`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TenantStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_ends_at: Option<Rfc3339>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_start: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_end: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erp_customer_id: Option<ExternalId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_customer_id: Option<ExternalId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_owner: Option<Label>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub products: Option<BTreeMap<ProductName, ProductSpec>>,
}

/// `tenant.list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantListRequest {
    /// Only tenants whose stored status is this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TenantStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<PageLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

/// `tenant.list` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantListReply {
    pub tenants: Vec<TenantView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `tenant.get`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantRef {
    pub tenant: Tenant,
}

/// A field of an update: absent (leave it), `null` (clear it) or a value (set it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    /// True for an absent field.
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }
    /// The value it sets, if it sets one.
    pub fn set(&self) -> Option<&T> {
        match self {
            Patch::Set(v) => Some(v),
            _ => None,
        }
    }
    /// `current` after this patch: kept, cleared, or the value set (converted by `f`).
    pub fn apply<U>(&self, current: Option<U>, f: impl FnOnce(&T) -> U) -> Option<U> {
        match self {
            Patch::Keep => current,
            Patch::Clear => None,
            Patch::Set(v) => Some(f(v)),
        }
    }
}

/// `None` keeps, `Some(v)` sets.
impl<T> From<Option<T>> for Patch<T> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Patch::Keep, Patch::Set)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Only a present field reaches here (`#[serde(default)]` gives `Keep`).
        Ok(Option::<T>::deserialize(d)?.map_or(Patch::Clear, Patch::Set))
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Set(v) => v.serialize(s),
            Patch::Keep | Patch::Clear => s.serialize_none(),
        }
    }
}

/// `tenant.update`: any field but `tenant` (which names it) and `status` (see
/// `tenant.set_status`). Absent fields stay; `null` clears an optional one; `products`
/// replaces the whole set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantUpdateRequest {
    pub tenant: Tenant,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub name: Patch<Label>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub kind: Patch<TenantKind>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub plan: Patch<Plan>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub trial_ends_at: Patch<Rfc3339>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub contract_start: Patch<Date>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub contract_end: Patch<Date>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub erp_customer_id: Patch<ExternalId>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub stripe_customer_id: Patch<ExternalId>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub sales_owner: Patch<Label>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub products: Patch<BTreeMap<ProductName, ProductSpec>>,
}

impl TenantUpdateRequest {
    /// An update of `tenant` that changes nothing yet (set the fields to change).
    pub fn new(tenant: Tenant) -> Self {
        TenantUpdateRequest {
            tenant,
            name: Patch::Keep,
            kind: Patch::Keep,
            plan: Patch::Keep,
            trial_ends_at: Patch::Keep,
            contract_start: Patch::Keep,
            contract_end: Patch::Keep,
            erp_customer_id: Patch::Keep,
            stripe_customer_id: Patch::Keep,
            sales_owner: Patch::Keep,
            products: Patch::Keep,
        }
    }

    /// The names of the fields it sets or clears, in record order.
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_keep()),
            ("kind", self.kind.is_keep()),
            ("plan", self.plan.is_keep()),
            ("trial_ends_at", self.trial_ends_at.is_keep()),
            ("contract_start", self.contract_start.is_keep()),
            ("contract_end", self.contract_end.is_keep()),
            ("erp_customer_id", self.erp_customer_id.is_keep()),
            ("stripe_customer_id", self.stripe_customer_id.is_keep()),
            ("sales_owner", self.sales_owner.is_keep()),
            ("products", self.products.is_keep()),
        ]
        .into_iter()
        .filter_map(|(f, keep)| (!keep).then_some(f))
        .collect()
    }
}

/// `tenant.set_status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSetStatusRequest {
    pub tenant: Tenant,
    pub status: TenantStatus,
}

/// `tenant.set_product`: sets one product. Without `config` a product keeps its
/// configuration (a new one gets `{}`); without `expires_at` it keeps its expiry, and
/// `"expires_at": null` removes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSetProductRequest {
    pub tenant: Tenant,
    pub product: ProductName,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ProductConfig>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub expires_at: Patch<Rfc3339>,
}

/// At most [`MAX_PRODUCTS`] products.
fn check_products<T>(products: Option<&BTreeMap<ProductName, T>>) -> Result<(), ApiError> {
    match products {
        Some(p) if p.len() > MAX_PRODUCTS => Err(ApiError::bad_request(format!(
            "a tenant holds at most {MAX_PRODUCTS} products"
        ))),
        _ => Ok(()),
    }
}

/// A contract does not end before it starts.
pub fn check_contract(start: Option<Date>, end: Option<Date>) -> Result<(), ApiError> {
    match (start, end) {
        (Some(s), Some(e)) if e < s => Err(ApiError::bad_request(format!(
            "contract_end {e} is before contract_start {s}"
        ))),
        _ => Ok(()),
    }
}

impl Validate for TenantCreateRequest {
    fn validate(&self) -> Result<(), ApiError> {
        if self.status == Some(TenantStatus::Archived) {
            return Err(ApiError::bad_request("a tenant is not created archived"));
        }
        check_contract(self.contract_start, self.contract_end)?;
        check_products(self.products.as_ref())
    }
}

impl Validate for TenantUpdateRequest {
    fn validate(&self) -> Result<(), ApiError> {
        if self.fields().is_empty() {
            return Err(ApiError::bad_request(
                "name at least one field to change (status changes through tenant.set_status)",
            ));
        }
        for (field, cleared) in [
            ("name", matches!(self.name, Patch::Clear)),
            ("kind", matches!(self.kind, Patch::Clear)),
            ("plan", matches!(self.plan, Patch::Clear)),
            ("products", matches!(self.products, Patch::Clear)),
        ] {
            if cleared {
                return Err(ApiError::bad_request(format!(
                    "{field} cannot be cleared (null)"
                )));
            }
        }
        check_products(self.products.set())
    }
}

impl Validate for TenantListRequest {}
impl Validate for TenantRef {}
impl Validate for TenantSetStatusRequest {}
impl Validate for TenantSetProductRequest {}
