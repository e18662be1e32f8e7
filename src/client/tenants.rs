//! The tenant registry's commands (PROTOCOL §7) on [`RosterClient`].

use super::{ClientError, RosterClient};
use crate::domain::{ProductConfig, ProductName, Tenant, TenantStatus};
use crate::wire::admin::{
    Patch, Rfc3339, TenantCreateRequest, TenantListReply, TenantListRequest, TenantRef,
    TenantSetProductRequest, TenantSetStatusRequest, TenantUpdateRequest, TenantView,
};
use crate::wire::{Command, Endpoint};

impl RosterClient {
    /// `tenant.create`.
    pub async fn tenant_create(
        &self,
        req: &TenantCreateRequest,
    ) -> Result<TenantView, ClientError> {
        self.call(Endpoint::Admin(Command::TenantCreate), req).await
    }

    /// `tenant.list`.
    pub async fn tenant_list(
        &self,
        req: &TenantListRequest,
    ) -> Result<TenantListReply, ClientError> {
        self.call(Endpoint::Admin(Command::TenantList), req).await
    }

    /// `tenant.get`.
    pub async fn tenant_get(&self, tenant: &Tenant) -> Result<TenantView, ClientError> {
        let req = TenantRef {
            tenant: tenant.clone(),
        };
        self.call(Endpoint::Admin(Command::TenantGet), &req).await
    }

    /// `tenant.update`.
    pub async fn tenant_update(
        &self,
        req: &TenantUpdateRequest,
    ) -> Result<TenantView, ClientError> {
        self.call(Endpoint::Admin(Command::TenantUpdate), req).await
    }

    /// `tenant.set_status`.
    pub async fn tenant_set_status(
        &self,
        tenant: &Tenant,
        status: TenantStatus,
    ) -> Result<TenantView, ClientError> {
        let req = TenantSetStatusRequest {
            tenant: tenant.clone(),
            status,
        };
        self.call(Endpoint::Admin(Command::TenantSetStatus), &req)
            .await
    }

    /// `tenant.set_product`: `config` `None` keeps the product's configuration;
    /// `expires_at` keeps, removes or sets its expiry.
    pub async fn tenant_set_product(
        &self,
        tenant: &Tenant,
        product: &ProductName,
        enabled: bool,
        config: Option<ProductConfig>,
        expires_at: Patch<Rfc3339>,
    ) -> Result<TenantView, ClientError> {
        let req = TenantSetProductRequest {
            tenant: tenant.clone(),
            product: product.clone(),
            enabled,
            config,
            expires_at,
        };
        self.call(Endpoint::Admin(Command::TenantSetProduct), &req)
            .await
    }
}
