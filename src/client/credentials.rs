//! The credential vault's commands (PROTOCOL §10) on [`RosterClient`]: values are sealed
//! here to the worker's `credential_kex` (read from `$SRV.INFO.roster`) and revealed
//! values opened here with this client's own key-exchange key. Plaintext never leaves
//! this process unsealed.

use zeroize::Zeroizing;

use super::{ClientError, RosterClient};
use crate::crypto;
use crate::domain::{
    CredentialHolder, CredentialId, CredentialMetadata, CredentialName, CredentialType,
    ProviderName,
};
use crate::wire::admin::{
    CredentialCreateRequest, CredentialDeleteReply, CredentialIdRequest, CredentialListReply,
    CredentialListRequest, CredentialRevealReply, CredentialRewrapReply, CredentialRewrapRequest,
    CredentialRotateRequest, CredentialView, Rfc3339,
};
use crate::wire::{Command, Endpoint};

/// What a new credential is, but its value.
#[derive(Debug, Clone)]
pub struct NewCredential {
    /// Whose: this client's own user (its handle), a tenant, or the system.
    pub holder: CredentialHolder,
    pub provider: ProviderName,
    pub name: CredentialName,
    pub kind: CredentialType,
    pub description: Option<String>,
    pub expires_at: Option<Rfc3339>,
    pub metadata: Option<CredentialMetadata>,
}

impl RosterClient {
    /// The workers' `credential_kex` from `$SRV.INFO.roster` (`None`: the worker that
    /// answered has no vault).
    pub async fn credential_kex(&self) -> Result<Option<[u8; 32]>, ClientError> {
        let subject = format!("$SRV.INFO.{}", crate::wire::SERVICE_NAME);
        let msg = tokio::time::timeout(self.timeout, self.nats.request(subject.clone(), "".into()))
            .await
            .map_err(|_| ClientError::Decode(format!("no reply on {subject}")))?
            .map_err(|e| ClientError::Decode(format!("{subject}: {e}")))?;
        let info: serde_json::Value =
            serde_json::from_slice(&msg.payload).map_err(|e| ClientError::Decode(e.to_string()))?;
        let Some(hex_key) = info["metadata"][crate::wire::METADATA_CREDENTIAL_KEX].as_str() else {
            return Ok(None);
        };
        let mut key = [0u8; 32];
        hex::decode_to_slice(hex_key, &mut key)
            .map_err(|_| ClientError::Decode("credential_kex is not 32 bytes of hex".into()))?;
        Ok(Some(key))
    }

    async fn seal_in(&self, value: &str, ad: &str) -> Result<crypto::Sealed, ClientError> {
        let kex = self.credential_kex().await?.ok_or_else(|| {
            ClientError::Decode("the worker announces no credential_kex: it has no vault".into())
        })?;
        crypto::seal_value_in(value, &kex, ad).map_err(ClientError::Decode)
    }

    /// `credential.create`: `value` is sealed to the worker's `credential_kex` first.
    pub async fn credential_create(
        &self,
        new: &NewCredential,
        value: &str,
    ) -> Result<CredentialView, ClientError> {
        let sealed = self
            .seal_in(value, &new.holder.sealing_ad(&new.provider, &new.name))
            .await?;
        let req = CredentialCreateRequest {
            scope: new.holder.scope(),
            tenant: match &new.holder {
                CredentialHolder::Tenant(t) => Some(t.clone()),
                _ => None,
            },
            name: new.name.clone(),
            provider: new.provider.clone(),
            kind: new.kind,
            value: sealed,
            description: new.description.clone(),
            expires_at: new.expires_at,
            metadata: new.metadata.clone(),
        };
        self.call(Endpoint::Admin(Command::CredentialCreate), &req)
            .await
    }

    /// `credential.list`.
    pub async fn credential_list(
        &self,
        req: &CredentialListRequest,
    ) -> Result<CredentialListReply, ClientError> {
        self.call(Endpoint::Admin(Command::CredentialList), req)
            .await
    }

    /// `credential.get`.
    pub async fn credential_get(&self, id: &CredentialId) -> Result<CredentialView, ClientError> {
        self.call(Endpoint::Admin(Command::CredentialGet), &id_req(id))
            .await
    }

    /// `credential.reveal` as the worker answers it (the value sealed to this client).
    pub async fn credential_reveal_sealed(
        &self,
        id: &CredentialId,
    ) -> Result<CredentialRevealReply, ClientError> {
        self.call(Endpoint::Admin(Command::CredentialReveal), &id_req(id))
            .await
    }

    /// `credential.reveal`, opened with this client's key-exchange key.
    pub async fn credential_reveal(
        &self,
        id: &CredentialId,
    ) -> Result<Zeroizing<String>, ClientError> {
        let reply = self.credential_reveal_sealed(id).await?;
        self.keys
            .open_revealed(&reply.value, reply.credential_id.as_str())
            .map_err(ClientError::Decode)
    }

    /// `credential.rotate`: the new value sealed to the credential's own associated data
    /// (read with a `get` first).
    pub async fn credential_rotate(
        &self,
        id: &CredentialId,
        value: &str,
        expires_at: Option<Rfc3339>,
    ) -> Result<CredentialView, ClientError> {
        let cur = self.credential_get(id).await?;
        let holder = match (&cur.owner, &cur.tenant) {
            (Some(o), _) => CredentialHolder::User(o.clone()),
            (None, Some(t)) => CredentialHolder::Tenant(t.clone()),
            (None, None) => CredentialHolder::System,
        };
        let sealed = self
            .seal_in(value, &holder.sealing_ad(&cur.provider, &cur.name))
            .await?;
        let req = CredentialRotateRequest {
            credential_id: id.clone(),
            value: sealed,
            expires_at,
        };
        self.call(Endpoint::Admin(Command::CredentialRotate), &req)
            .await
    }

    /// `credential.revoke`.
    pub async fn credential_revoke(
        &self,
        id: &CredentialId,
    ) -> Result<CredentialView, ClientError> {
        self.call(Endpoint::Admin(Command::CredentialRevoke), &id_req(id))
            .await
    }

    /// `credential.delete`.
    pub async fn credential_delete(
        &self,
        id: &CredentialId,
    ) -> Result<CredentialDeleteReply, ClientError> {
        self.call(Endpoint::Admin(Command::CredentialDelete), &id_req(id))
            .await
    }

    /// `credential.rewrap` (platform scope): every data key under the newest KEK.
    pub async fn credential_rewrap(&self) -> Result<CredentialRewrapReply, ClientError> {
        self.call(
            Endpoint::Admin(Command::CredentialRewrap),
            &CredentialRewrapRequest {},
        )
        .await
    }
}

fn id_req(id: &CredentialId) -> CredentialIdRequest {
    CredentialIdRequest {
        credential_id: id.clone(),
    }
}
