//! roster: a membership service for NATS buses.
//!
//! Module map (one job each):
//! - [`app`]: the composition root: `Settings` in, a serving worker out (`App::build`).
//! - [`config`]: NATS connection options, worker and callout settings from flags and
//!   `ROSTER_*`; one `ConfigError`.
//! - [`domain`]: newtypes parsed at the edge, one file per kind: names (Handle, Role,
//!   Tenant, SiteCode, SiteRef), keys (SignKey, KexKey), ids (InviteId, MachineId), tokens,
//!   tenancy (a tenant's status and its moves, kind, plan, products, customer ids).
//! - [`crypto`]: every use of Ed25519, X25519, digests, Argon2, the sealing (machine
//!   credentials, vault values in and out), the vault's envelope encryption and the secret
//!   formats, on raw bytes, one file per job (it sits below `domain`, which wraps its
//!   results in checked types).
//! - [`wire`]: request/reply bodies (one file per family; shown-once secrets redacted in
//!   `Debug`), error codes, the signed-request headers.
//! - [`store`]: the only code that touches JetStream KV: a typed bucket per record with its
//!   own key type, the one read-decide-write loop (`TypedBucket::modify`), the
//!   per-aggregate operations (bind a key, the owner guards, uids, credentials, a page,
//!   the tenant registry and its customer-id claims, each tenant's roles, API keys and
//!   their id and name claims, the vault's credentials, name claims and wrapped data
//!   keys; `BucketView`, a worker's live copy of a bucket kept by a KV watch).
//! - [`vault`]: the credential vault's keys (PROTOCOL §10): the key file, the
//!   `KeyProvider` trait and its file provider, and the envelope steps (a holder's data
//!   key, a value encrypted or decrypted under it, the rewrap after a KEK rotation).
//! - [`authz`]: pure RBAC (PROTOCOL §8): the permission catalog, role names and
//!   definitions, assignments and the one computation of effective permissions
//!   (`Grants`), no escalation; plus the v1 one-role model (the `domain::Role` names
//!   tests and the CLI use for the built-ins).
//! - [`audit`]: typed audit events (`audit::Event`, one variant per action), their
//!   publisher and the query reader; [`audit::security`]:
//!   strangers' denials, aggregated per minute into a bounded stream of their own.
//! - [`time_util`]: `Timestamp` and the `Clock` handlers read (adjustable in tests).
//! - [`failpoint`]: crash points for the crash tests (feature `failpoints`).
//! - [`handlers`]: one file per endpoint (verify → decide → audit → reply), the signed-
//!   request check, `Roster-Api-Key` requests (an API key acting, PROTOCOL §9), the dispatch over typed requests, the responder, and (`platform`)
//!   who may use the platform-scope tenant commands.
//! - [`heal`]: the healer: every worker follows the buckets' changes and the audit tail
//!   and finishes flows a crash interrupted (no client retry), each event once; admin
//!   changes through the change note their write left (`store::records::ChangeNote`).
//! - [`worker`]: the NATS micro service, backpressure and graceful shutdown.
//! - [`callout`]: the NATS auth callout: the server's request opened, who a connecting
//!   client is (`admit`), and its user JWT.
//! - [`templates`]: the callout's permission templates and JWT limits.
//! - [`bus`]: live connections: their names, the evictor (CONNZ + KICK), the lane sweep.
//! - [`bootstrap`]: the first owner invite.
//! - [`client`]: a typed Rust client that signs requests (used by the CLI and tests), and
//!   watches its connection's events so a refused publish fails at once.
//! - [`jwt`]: NATS JWT encoding for the auth callout (hand-rolled, tested).
//! - [`identity`]: the identity file holding a client's two key pairs.
//! - [`keyring`]: enrollment-key and API-key verification: Argon2 pool, verified-key
//!   cache, dummy runs, the shared throttle.
//! - [`metrics`]: a worker's Prometheus metrics and the `/metrics` + `/healthz` endpoint.
//! - [`console`]: the web console's static files (`console/dist`, a TypeScript page
//!   that speaks to the worker over NATS WebSocket) on a minimal GET/HEAD responder.
//! - [`natsd`]: starts a private nats-server (dev command, tests, the bench).
//! - [`harness`]: worker processes (`roster serve`), ready when `$SRV` PING finds them;
//!   for the crash and cluster tests and the bench. Nothing in the library uses it.
//! - [`check`]: `roster check`, the consistency checker over every bucket and the audit trail.
//! - [`backup`]: `roster backup`/`restore`: the buckets and both event streams to a
//!   directory of JSON lines with a manifest, and back into an empty roster.
//! - [`cli`]: the `roster` command line; [`cli::failure`] is its one table from error to
//!   exit code.
//!
//! The bench (`roster-bench`, also run as `roster bench`) is a binary of its own,
//! `src/bin/roster-bench/`, on this library's public API.

pub mod app;
pub mod audit;
pub mod authz;
pub mod backup;
pub mod bootstrap;
pub mod bus;
pub mod callout;
pub mod check;
pub mod cli;
pub mod client;
pub mod config;
pub mod console;
pub mod crypto;
pub mod domain;
pub mod failpoint;
pub mod handlers;
pub mod harness;
pub mod heal;
pub mod identity;
pub mod jwt;
pub mod keyring;
pub mod metrics;
pub mod natsd;
pub mod store;
pub mod templates;
pub mod time_util;
pub mod vault;
pub mod wire;
pub mod worker;
