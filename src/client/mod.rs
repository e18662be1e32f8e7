//! A typed Rust client for roster. It signs every request (PROTOCOL §3) with the
//! caller's Ed25519 key; the CLI and the tests use it. With [`BusEvents`] attached, a
//! request the bus refuses to carry fails at once instead of timing out.

mod apikeys;
mod credentials;
mod events;
mod reply;
mod tenants;

pub use credentials::NewCredential;
pub use events::{publish_denied_subject, BusEvents, BusSignal};
pub use reply::{decode_reply, ClientError, RawReply, RequestFailure};

use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

use crate::authz::RoleName;
use crate::crypto::{self, KeyPairs};
use crate::domain::{Handle, InviteId, MachineId, SiteCode, Tenant};
use crate::wire;
use crate::wire::admin::*;
use crate::wire::enroll::EnrollReply;
use crate::wire::register::RegisterReply;
use crate::wire::revoke::RevokeReply;
use crate::wire::{Command, Endpoint};

/// The connection options of a short-lived client (a CLI command): the connection's
/// events feed `events`, and a lost connection is tried again a few times, then given
/// up, instead of forever in the background (a revoked identity would be refused again
/// and again).
pub fn short_lived(
    opts: async_nats::ConnectOptions,
    events: &BusEvents,
) -> async_nats::ConnectOptions {
    events.install(opts).max_reconnects(Some(3))
}

/// A signed-request client.
#[derive(Debug, Clone)]
pub struct RosterClient {
    nats: async_nats::Client,
    prefix: String,
    keys: Arc<KeyPairs>,
    timeout: Duration,
    events: Option<BusEvents>,
    /// Set: requests carry this `Roster-Api-Key` instead of signatures (PROTOCOL §9).
    api_key: Option<Arc<zeroize::Zeroizing<String>>>,
}

impl RosterClient {
    /// A client that signs with `keys` and talks to the worker under `prefix`.
    pub fn new(nats: async_nats::Client, prefix: &str, keys: KeyPairs) -> Self {
        Self {
            nats,
            prefix: prefix.to_owned(),
            keys: Arc::new(keys),
            timeout: Duration::from_secs(10),
            events: None,
            api_key: None,
        }
    }

    /// Sends every request with `key` as `Roster-Api-Key` instead of signing it: the
    /// worker acts with the key's scopes in its tenant.
    pub fn with_api_key(mut self, key: &str) -> Self {
        self.api_key = Some(Arc::new(zeroize::Zeroizing::new(key.to_owned())));
        self
    }

    /// Watches the connection's events (installed on it with [`BusEvents::install`]):
    /// a refused publish fails its request at once, and so does a connection that is
    /// closed and then refused while a request waits.
    pub fn with_events(mut self, events: BusEvents) -> Self {
        self.events = Some(events);
        self
    }

    /// Sets the request timeout.
    pub fn with_timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// The key pairs this client signs with.
    pub fn keys(&self) -> &KeyPairs {
        &self.keys
    }

    /// The NATS connection.
    pub fn nats(&self) -> &async_nats::Client {
        &self.nats
    }

    /// The four signature headers for `body` on `subject`, at `ts_ms`, with `nonce`.
    pub fn sign_headers_at(
        &self,
        subject: &str,
        body: &[u8],
        ts_ms: i64,
        nonce: &str,
    ) -> HeaderMap {
        let ts = ts_ms.to_string();
        let msg = crypto::signed_bytes(subject, &ts, nonce, body);
        let mut h = HeaderMap::new();
        h.insert(wire::HDR_KEY, self.keys.sign_pub().to_hex().as_str());
        h.insert(wire::HDR_TS, ts.as_str());
        h.insert(wire::HDR_NONCE, nonce);
        h.insert(wire::HDR_SIG, self.keys.sign_hex(&msg).as_str());
        h
    }

    /// Fresh signature headers (now, random nonce).
    pub fn sign_headers(&self, subject: &str, body: &[u8]) -> HeaderMap {
        self.sign_headers_at(
            subject,
            body,
            crate::time_util::now_ms(),
            &crypto::random_nonce_hex(),
        )
    }

    /// The subject of an endpoint.
    pub fn subject(&self, ep: Endpoint) -> String {
        ep.subject(&self.prefix)
    }

    /// Sends exactly these bytes and headers; returns the raw reply.
    pub async fn send_raw(
        &self,
        subject: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<RawReply, ClientError> {
        let req = async_nats::Request::new()
            .payload(body)
            .headers(headers)
            .timeout(Some(self.timeout));
        // Listen before publishing: the server's refusal can come back within a
        // millisecond.
        let signals = self.events.as_ref().map(BusEvents::subscribe);
        let reply = self.nats.send_request(subject.to_owned(), req);
        let msg = match signals {
            None => reply.await,
            Some(signals) => events::watch_reply(subject, reply, signals).await?,
        }
        .map_err(|e| {
            ClientError::Nats(RequestFailure {
                subject: subject.to_owned(),
                kind: e.kind(),
                message: e.to_string(),
            })
        })?;
        Ok(RawReply {
            headers: msg.headers,
            body: msg.payload,
        })
    }

    /// Signs and sends `body` to `ep`; returns the raw reply.
    pub async fn call_raw(&self, ep: Endpoint, body: &[u8]) -> Result<RawReply, ClientError> {
        let subject = self.subject(ep);
        let headers = match &self.api_key {
            Some(k) => {
                let mut h = HeaderMap::new();
                h.insert(wire::HDR_API_KEY, k.as_str());
                h
            }
            None => self.sign_headers(&subject, body),
        };
        self.send_raw(&subject, headers, Bytes::copy_from_slice(body))
            .await
    }

    /// Signs and sends a typed request; decodes the success or the error envelope.
    pub async fn call<Req: Serialize, Rep: DeserializeOwned>(
        &self,
        ep: Endpoint,
        req: &Req,
    ) -> Result<Rep, ClientError> {
        let body = serde_json::to_vec(req).map_err(|e| ClientError::Decode(e.to_string()))?;
        let raw = self.call_raw(ep, &body).await?;
        decode_reply(&raw.body)
    }

    /// Registers this client's keys with an invite.
    pub async fn register(&self, invite: &str) -> Result<RegisterReply, ClientError> {
        let kex_pub = self
            .keys
            .kex_pub()
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        // The token is sent as typed (even if malformed) so the worker can refuse it.
        let body = serde_json::json!({ "invite": invite, "kex_pub": kex_pub });
        self.call(Endpoint::Register, &body).await
    }

    /// `invite.create` in the default tenant.
    pub async fn invite_create(
        &self,
        handle: &Handle,
        role: impl Into<RoleName>,
        ttl_secs: Option<u64>,
    ) -> Result<InviteCreateReply, ClientError> {
        self.invite_create_at(handle, role, None, None, ttl_secs)
            .await
    }

    /// `invite.create` for `role` in `tenant` (default `default`), at `site` when given.
    pub async fn invite_create_at(
        &self,
        handle: &Handle,
        role: impl Into<RoleName>,
        tenant: Option<&Tenant>,
        site: Option<&SiteCode>,
        ttl_secs: Option<u64>,
    ) -> Result<InviteCreateReply, ClientError> {
        // Sent as given, so an out-of-range ttl reaches the worker and gets its code.
        let mut body = serde_json::json!({ "handle": handle, "role": role.into() });
        if let Some(t) = tenant {
            body["tenant"] = t.as_str().into();
        }
        if let Some(s) = site {
            body["site"] = s.as_str().into();
        }
        if let Some(t) = ttl_secs {
            body["ttl_secs"] = t.into();
        }
        self.call(Endpoint::Admin(Command::InviteCreate), &body)
            .await
    }

    /// `invite.list`.
    pub async fn invite_list(
        &self,
        req: &InviteListRequest,
    ) -> Result<InviteListReply, ClientError> {
        self.call(Endpoint::Admin(Command::InviteList), req).await
    }

    /// `invite.get`.
    pub async fn invite_get(&self, id: &InviteId) -> Result<InviteView, ClientError> {
        self.call(
            Endpoint::Admin(Command::InviteGet),
            &InviteIdRequest {
                invite_id: id.clone(),
            },
        )
        .await
    }

    /// `invite.cancel`.
    pub async fn invite_cancel(&self, id: &InviteId) -> Result<InviteView, ClientError> {
        self.call(
            Endpoint::Admin(Command::InviteCancel),
            &InviteIdRequest {
                invite_id: id.clone(),
            },
        )
        .await
    }

    /// `user.list`.
    pub async fn user_list(&self, req: &UserListRequest) -> Result<UserListReply, ClientError> {
        self.call(Endpoint::Admin(Command::UserList), req).await
    }

    /// `user.get`.
    pub async fn user_get(&self, handle: &Handle) -> Result<UserView, ClientError> {
        self.call(
            Endpoint::Admin(Command::UserGet),
            &HandleRequest {
                handle: handle.clone(),
            },
        )
        .await
    }

    /// `user.set_role` in the default tenant.
    pub async fn user_set_role(
        &self,
        handle: &Handle,
        role: impl Into<RoleName>,
        sites: Option<Vec<SiteCode>>,
    ) -> Result<UserView, ClientError> {
        let req = SetRoleRequest {
            handle: handle.clone(),
            role: role.into(),
            tenant: None,
            sites,
        };
        self.call(Endpoint::Admin(Command::UserSetRole), &req).await
    }

    /// `user.set_role`, any request.
    pub async fn user_set_role_req(&self, req: &SetRoleRequest) -> Result<UserView, ClientError> {
        self.call(Endpoint::Admin(Command::UserSetRole), req).await
    }

    /// `user.assign`.
    pub async fn user_assign(&self, req: &AssignRequest) -> Result<UserView, ClientError> {
        self.call(Endpoint::Admin(Command::UserAssign), req).await
    }

    /// `user.unassign`.
    pub async fn user_unassign(&self, req: &AssignRequest) -> Result<UserView, ClientError> {
        self.call(Endpoint::Admin(Command::UserUnassign), req).await
    }

    /// `role.catalog`.
    pub async fn role_catalog(&self) -> Result<RoleCatalogReply, ClientError> {
        self.call(
            Endpoint::Admin(Command::RoleCatalog),
            &RoleCatalogRequest {},
        )
        .await
    }

    /// `role.list`.
    pub async fn role_list(&self, req: &RoleListRequest) -> Result<RoleListReply, ClientError> {
        self.call(Endpoint::Admin(Command::RoleList), req).await
    }

    /// `role.get`.
    pub async fn role_get(&self, req: &RoleNameRequest) -> Result<RoleView, ClientError> {
        self.call(Endpoint::Admin(Command::RoleGet), req).await
    }

    /// `role.create`.
    pub async fn role_create(&self, req: &RoleCreateRequest) -> Result<RoleView, ClientError> {
        self.call(Endpoint::Admin(Command::RoleCreate), req).await
    }

    /// `role.update`.
    pub async fn role_update(&self, req: &RoleUpdateRequest) -> Result<RoleView, ClientError> {
        self.call(Endpoint::Admin(Command::RoleUpdate), req).await
    }

    /// `role.delete`.
    pub async fn role_delete(&self, req: &RoleNameRequest) -> Result<RoleDeleteReply, ClientError> {
        self.call(Endpoint::Admin(Command::RoleDelete), req).await
    }

    /// `user.delete`.
    pub async fn user_delete(&self, handle: &Handle) -> Result<DeleteReply, ClientError> {
        self.call(
            Endpoint::Admin(Command::UserDelete),
            &HandleRequest {
                handle: handle.clone(),
            },
        )
        .await
    }

    /// Enrolls this client's keys as an agent. Strings are sent as given, so a malformed
    /// value reaches the worker and gets its code.
    pub async fn enroll(&self, req: &EnrollArgs) -> Result<EnrollReply, ClientError> {
        let kex = self
            .keys
            .kex_pub()
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        let mut body = serde_json::json!({
            "site": req.site,
            "enrollment_key": req.enrollment_key,
            "machine_uid": req.machine_uid,
            "agent_kex": kex,
        });
        for (k, v) in [
            ("tenant", &req.tenant),
            ("hostname", &req.hostname),
            ("os", &req.os),
            ("agent_version", &req.agent_version),
        ] {
            if let Some(v) = v {
                body[k] = v.clone().into();
            }
        }
        self.call(Endpoint::Enroll, &body).await
    }

    /// Opens the credential of an enroll reply with this client's X25519 key.
    pub fn open_credential(
        &self,
        reply: &EnrollReply,
    ) -> Result<zeroize::Zeroizing<String>, ClientError> {
        self.keys
            .open_credential(&reply.credential, reply.machine_id.as_str())
            .map_err(ClientError::Decode)
    }

    /// `site.create`.
    pub async fn site_create(
        &self,
        req: &SiteCreateRequest,
    ) -> Result<SiteCreateReply, ClientError> {
        self.call(Endpoint::Admin(Command::SiteCreate), req).await
    }

    /// `site.list`.
    pub async fn site_list(&self, req: &SiteListRequest) -> Result<SiteListReply, ClientError> {
        self.call(Endpoint::Admin(Command::SiteList), req).await
    }

    /// `site.get`.
    pub async fn site_get(
        &self,
        site: &SiteCode,
        tenant: Option<&Tenant>,
    ) -> Result<SiteView, ClientError> {
        let req = SiteRef {
            site: site.clone(),
            tenant: tenant.cloned(),
        };
        self.call(Endpoint::Admin(Command::SiteGet), &req).await
    }

    /// `site.rotate_key`.
    pub async fn site_rotate_key(
        &self,
        req: &RotateKeyRequest,
    ) -> Result<RotateKeyReply, ClientError> {
        self.call(Endpoint::Admin(Command::SiteRotateKey), req)
            .await
    }

    /// `machine.list`.
    pub async fn machine_list(
        &self,
        req: &MachineListRequest,
    ) -> Result<MachineListReply, ClientError> {
        self.call(Endpoint::Admin(Command::MachineList), req).await
    }

    /// `machine.get`.
    pub async fn machine_get(&self, id: &MachineId) -> Result<MachineView, ClientError> {
        self.call(
            Endpoint::Admin(Command::MachineGet),
            &MachineIdRequest {
                machine_id: id.clone(),
            },
        )
        .await
    }

    /// `machine.approve`.
    pub async fn machine_approve(&self, id: &MachineId) -> Result<MachineView, ClientError> {
        self.call(
            Endpoint::Admin(Command::MachineApprove),
            &MachineIdRequest {
                machine_id: id.clone(),
            },
        )
        .await
    }

    /// `machine.reject`.
    pub async fn machine_reject(&self, id: &MachineId) -> Result<MachineView, ClientError> {
        self.call(
            Endpoint::Admin(Command::MachineReject),
            &MachineIdRequest {
                machine_id: id.clone(),
            },
        )
        .await
    }

    /// Revokes a user (an admin, or the user itself).
    pub async fn revoke_user(
        &self,
        handle: &Handle,
        reason: Option<&str>,
    ) -> Result<RevokeReply, ClientError> {
        let mut body = serde_json::json!({ "user": handle });
        if let Some(r) = reason {
            body["reason"] = r.into();
        }
        self.call(Endpoint::Revoke, &body).await
    }

    /// Revokes a machine (an admin, or the machine itself).
    pub async fn revoke_machine(
        &self,
        id: &MachineId,
        reason: Option<&str>,
    ) -> Result<RevokeReply, ClientError> {
        let mut body = serde_json::json!({ "machine": id });
        if let Some(r) = reason {
            body["reason"] = r.into();
        }
        self.call(Endpoint::Revoke, &body).await
    }

    /// `P.v1.whoami`: this key's own record, as the worker sees it.
    pub async fn whoami(&self) -> Result<crate::wire::whoami::WhoamiReply, ClientError> {
        let req = crate::wire::whoami::WhoamiRequest {};
        self.call(Endpoint::Whoami, &req).await
    }

    /// `audit.query`.
    pub async fn audit_query(
        &self,
        req: &AuditQueryRequest,
    ) -> Result<AuditQueryReply, ClientError> {
        self.call(Endpoint::Admin(Command::AuditQuery), req).await
    }
}

/// What an agent sends to enroll (as typed; the worker checks it). Its `Debug` never
/// shows the enrollment key.
#[derive(Clone, Default)]
pub struct EnrollArgs {
    pub site: String,
    pub tenant: Option<String>,
    pub enrollment_key: String,
    pub machine_uid: String,
    pub hostname: Option<String>,
    pub os: Option<String>,
    pub agent_version: Option<String>,
}

impl std::fmt::Debug for EnrollArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollArgs")
            .field("site", &self.site)
            .field("tenant", &self.tenant)
            .field(
                "enrollment_key",
                &crate::crypto::Redacted(&self.enrollment_key),
            )
            .field("machine_uid", &self.machine_uid)
            .field("hostname", &self.hostname)
            .field("os", &self.os)
            .field("agent_version", &self.agent_version)
            .finish()
    }
}

#[cfg(test)]
#[path = "client_test.rs"]
mod tests;
