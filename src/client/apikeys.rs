//! API keys' commands (PROTOCOL §9) on [`RosterClient`].

use super::{ClientError, RosterClient};
use crate::domain::ApiKeyId;
use crate::wire::admin::{
    ApiKeyCreateRequest, ApiKeyIdRequest, ApiKeyListReply, ApiKeyListRequest, ApiKeyRollRequest,
    ApiKeySecretReply, ApiKeyVerifyReply, ApiKeyVerifyRequest, ApiKeyView,
};
use crate::wire::{Command, Endpoint};

impl RosterClient {
    /// `apikey.create`: the record and its secret, shown once.
    pub async fn apikey_create(
        &self,
        req: &ApiKeyCreateRequest,
    ) -> Result<ApiKeySecretReply, ClientError> {
        self.call(Endpoint::Admin(Command::ApikeyCreate), req).await
    }

    /// `apikey.list`.
    pub async fn apikey_list(
        &self,
        req: &ApiKeyListRequest,
    ) -> Result<ApiKeyListReply, ClientError> {
        self.call(Endpoint::Admin(Command::ApikeyList), req).await
    }

    /// `apikey.get`.
    pub async fn apikey_get(&self, key_id: &ApiKeyId) -> Result<ApiKeyView, ClientError> {
        let req = ApiKeyIdRequest {
            key_id: key_id.clone(),
        };
        self.call(Endpoint::Admin(Command::ApikeyGet), &req).await
    }

    /// `apikey.revoke`.
    pub async fn apikey_revoke(&self, key_id: &ApiKeyId) -> Result<ApiKeyView, ClientError> {
        let req = ApiKeyIdRequest {
            key_id: key_id.clone(),
        };
        self.call(Endpoint::Admin(Command::ApikeyRevoke), &req)
            .await
    }

    /// `apikey.roll`: a new secret; the old one works `grace_secs` more.
    pub async fn apikey_roll(
        &self,
        req: &ApiKeyRollRequest,
    ) -> Result<ApiKeySecretReply, ClientError> {
        self.call(Endpoint::Admin(Command::ApikeyRoll), req).await
    }

    /// `P.v1.apikey.verify`.
    pub async fn apikey_verify(
        &self,
        req: &ApiKeyVerifyRequest,
    ) -> Result<ApiKeyVerifyReply, ClientError> {
        self.call(Endpoint::ApikeyVerify, req).await
    }
}
