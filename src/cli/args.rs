//! The command line's shape: every command, subcommand and flag (clap derive).

use super::*;

/// roster: membership for NATS buses. Invites, registration, admin commands and an audit
/// trail, kept in JetStream KV and served over request-reply.
#[derive(Debug, Parser)]
#[command(name = "roster", version, about, long_about = None, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Log as JSON lines (for `serve` and `dev`).
    #[arg(long, global = true, env = "ROSTER_LOG_JSON")]
    pub log_json: bool,
    /// Run in this context (see `roster context`) instead of the selected one. Flags and
    /// `ROSTER_*` variables still win over what it sets.
    #[arg(long, global = true, env = "ROSTER_CONTEXT", value_name = "NAME")]
    pub context: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a worker: create buckets and the audit stream if missing, serve until SIGINT/SIGTERM.
    Serve {
        #[command(flatten)]
        nats: NatsArgs,
        #[command(flatten)]
        worker: WorkerArgs,
    },
    /// Mint the first owner invite (refused once an owner exists).
    Bootstrap {
        #[command(flatten)]
        nats: NatsArgs,
        /// Handle of the owner to invite.
        #[arg(long)]
        handle: String,
        /// Bucket replicas, if the buckets do not exist yet.
        #[arg(long, env = "ROSTER_REPLICAS", default_value_t = 1)]
        replicas: usize,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Start a private nats-server with JetStream, bootstrap, and run a worker: the whole
    /// service on a laptop. Ctrl-C stops everything.
    Dev {
        /// Port for nats-server (0 picks a free one).
        #[arg(long, default_value_t = 4222)]
        port: u16,
        /// Keep the server's data here (default: a temporary directory, removed on exit).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Handle for the owner invite.
        #[arg(long, default_value = "owner")]
        handle: String,
        /// Print one JSON line `{"nats_url", "owner_invite"}` once ready.
        #[arg(long)]
        json: bool,
        /// Run the bus without the auth callout (open to anyone on loopback).
        #[arg(long)]
        no_callout: bool,
        /// Serve the worker's Prometheus metrics and `/healthz` here (e.g.
        /// `127.0.0.1:9090`).
        #[arg(long, env = "ROSTER_METRICS_ADDR", value_name = "ADDR")]
        metrics_addr: Option<std::net::SocketAddr>,
        /// Port of nats-server's websocket listener, the web console's way onto the bus
        /// (0 picks a free one; only with the callout) [default: 4280, or a free one
        /// with `--port 0`].
        #[arg(long)]
        ws_port: Option<u16>,
        /// Serve the web console's files on this loopback port (0 picks a free one)
        /// [default: 4281, or a free one with `--port 0`].
        #[arg(long)]
        console_port: Option<u16>,
        /// The built console (default: `ROSTER_CONSOLE_DIR`, `console/` beside the binary,
        /// the repository's `console/dist`); without one, dev runs without the console.
        #[arg(long, value_name = "DIR")]
        console_dir: Option<PathBuf>,
    },
    /// Serve the web console's static files alone (it talks to the bus over NATS
    /// WebSocket; this serves only its files).
    ///
    /// The page asks for the websocket URL at sign-in; `--ws-url` fills it in. The
    /// files come from `--dir`, else `ROSTER_CONSOLE_DIR`, `console/` beside the binary,
    /// or the repository's `console/dist` (`cd console && npm ci && npm run build`).
    Console {
        /// Where to listen, e.g. `127.0.0.1:4281`.
        #[arg(long, default_value = "127.0.0.1:4281", value_name = "ADDR")]
        listen: std::net::SocketAddr,
        /// The built console's directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The websocket URL the sign-in form offers (e.g. `wss://bus.example:443`).
        #[arg(long, env = "ROSTER_CONSOLE_WS_URL", value_name = "URL")]
        ws_url: Option<String>,
        /// The subject prefix the page uses.
        #[arg(long, env = "ROSTER_PREFIX", default_value = "roster")]
        prefix: String,
    },
    /// Measure roster against the raw-NATS floor on this machine (runs `roster-bench`).
    ///
    /// Runs the `roster-bench` binary next to this one with these arguments (`roster
    /// bench --help` lists them); it starts its own nats-server and worker. `--storm`
    /// runs only the reconnect storm (`--storm-clients`, 2,000, reconnecting at once
    /// through the auth callout after a nats-server restart).
    #[command(disable_help_flag = true)]
    Bench {
        /// Arguments for `roster-bench` (`roster bench --help` lists them).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Check every bucket and the audit trail for orphans and broken invariants.
    ///
    /// Exits 4 when it finds any, 1 when it could not run. Run it on a quiet bus.
    /// It reads the buckets directly (never creates or changes one), so it connects
    /// with the worker's credentials: against `roster dev`, the line it prints
    /// (`--nats-user roster --nats-password-file <data dir>/worker.password`).
    Check {
        #[command(flatten)]
        nats: NatsArgs,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Back up every bucket's live records and the audit and security streams into a
    /// new directory (JSON lines and a manifest; mode 0700). Run it with the worker's
    /// NATS credentials, on a quiet bus for a consistent copy.
    Backup {
        #[command(flatten)]
        nats: NatsArgs,
        /// The directory to create (it must not exist, or be empty).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Print one JSON summary on stdout (progress stays on stderr).
        #[arg(long)]
        json: bool,
    },
    /// Restore a backup into an empty roster: recreates the buckets and streams with
    /// their settings, writes the records, republishes the events with their ids.
    /// Checks the whole backup first; refuses a roster that holds data unless --force.
    Restore {
        #[command(flatten)]
        nats: NatsArgs,
        /// The backup directory (from `roster backup --out`).
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// Write over a roster that holds data: records are overwritten, events already
        /// there are kept once.
        #[arg(long)]
        force: bool,
        /// Replicas of the buckets and streams made (default: those of the backup).
        #[arg(long, value_name = "N")]
        replicas: Option<usize>,
        /// Print one JSON summary on stdout (progress stays on stderr).
        #[arg(long)]
        json: bool,
    },
    /// Generate the callout's keys: an account nkey seed (issuer) and a curve seed (xkey),
    /// written with mode 0600; prints the public keys for the server config.
    CalloutKeys {
        /// Directory to write issuer.seed and xkey.seed into.
        #[arg(long)]
        out: PathBuf,
        /// Print the public keys and file paths as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a user or a machine (an admin, or the identity itself).
    ///
    /// Its live connections are closed and the bus refuses it from then on. Asks first
    /// on a terminal; `--yes` skips the question (and is required without a terminal).
    Revoke {
        #[command(flatten)]
        client: ClientArgs,
        /// Handle of the user to revoke (your own handle revokes yourself).
        #[arg(long, conflicts_with = "machine", required_unless_present = "machine")]
        user: Option<String>,
        /// Machine id (`m-…`, as `machine list` shows it) to revoke.
        #[arg(long)]
        machine: Option<String>,
        /// Why, for the audit trail (1-128 printable characters).
        #[arg(long)]
        reason: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Create an identity file with a fresh Ed25519 and X25519 key pair (mode 0600).
    Keygen {
        /// Where to write it.
        #[arg(long, env = "ROSTER_IDENTITY")]
        identity: Option<PathBuf>,
        /// Replace an existing file (asks first on a terminal: the old key is lost).
        #[arg(long)]
        force: bool,
        /// With --force, do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Print the public keys as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Redeem an invite with the identity file's keys.
    ///
    /// Refuses an identity this CLI registered already (its `<name>.registered.json`
    /// marker): the invite would be spent for nothing (`key_registered`).
    Register {
        #[command(flatten)]
        client: ClientArgs,
        /// The invite token (`inv_…`). Prefer `ROSTER_INVITE` or `--invite-file`: a flag's
        /// value is visible to other users in the process list.
        #[arg(
            long,
            env = "ROSTER_INVITE",
            hide_env_values = true,
            required_unless_present = "invite_file"
        )]
        invite: Option<String>,
        /// File holding the invite token (`-` reads it from standard input).
        #[arg(long, conflicts_with = "invite")]
        invite_file: Option<PathBuf>,
        /// Redeem the invite even if this identity is marked as registered already.
        #[arg(long)]
        force: bool,
    },
    /// Invites: create, list, get, cancel.
    #[command(subcommand)]
    Invite(InviteCmd),
    /// Users: list, get, set-role, delete.
    #[command(subcommand)]
    User(UserCmd),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Sites and their enrollment keys.
    #[command(subcommand)]
    Site(SiteCmd),
    /// Enrolled machines: list, get, approve, reject.
    #[command(subcommand)]
    Machine(MachineCmd),
    /// Tenants, the customer and demo accounts everything else belongs to (platform
    /// owners and admins): create, list, get, update, set-status, set-product.
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Roles of a tenant (PROTOCOL §8): the catalog, built-ins and custom roles.
    #[command(subcommand)]
    Role(RoleCmd),
    /// API keys for automation (PROTOCOL §9): create (shown once), list, get, roll,
    /// revoke, verify.
    #[command(subcommand)]
    Apikey(ApikeyCmd),
    /// The credential vault (PROTOCOL §10): secrets kept encrypted for you, your tenant
    /// or the platform. Values are read from stdin or --value-file (never argv), sealed
    /// to the worker before they leave this process, and revealed sealed to your key.
    #[command(subcommand)]
    Credential(super::credentials::CredentialCmd),
    /// The vault's key file, on the worker's host (no bus): `init` makes it, `rotate-kek`
    /// adds a key-encryption key version (then `roster credential rewrap`).
    #[command(subcommand)]
    Vault(super::credentials::VaultCmd),
    /// Who this identity is on the bus: handle, role and sites as the worker reports
    /// them, the bus URL, the context, and whether a worker answers.
    Whoami {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Ask every worker on the bus to answer (`$SRV.PING.roster`): how many did, and
    /// how fast. Exits 1 when none did.
    Ping {
        #[command(flatten)]
        client: ClientArgs,
        /// Milliseconds to wait for answers.
        #[arg(long, default_value_t = 1000)]
        wait_ms: u64,
    },
    /// Named connection settings (URL, identity, creds, TLS files) in
    /// `$XDG_CONFIG_HOME/roster/context/`, as `nats context` keeps them.
    #[command(subcommand)]
    Context(super::context::ContextCmd),
    /// Print a shell completion script (`roster completions bash > /etc/bash_completion.d/roster`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, or write one page per command into `--out`.
    Man {
        /// Directory to write `roster.1` and a page per subcommand (`roster-user-list.1`) into.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Enroll this machine as an agent with a site's enrollment key.
    ///
    /// Uses (or creates) an agent identity (`--identity`, default `agent.json` beside
    /// the default identity, never a registered user's) and writes the opened credential
    /// with mode 0600.
    Enroll {
        #[command(flatten)]
        client: ClientArgs,
        /// Site code.
        #[arg(long)]
        site: String,
        /// Tenant (default `default`).
        #[arg(long)]
        tenant: Option<String>,
        /// The site's enrollment key (`cek_…`). Prefer `ROSTER_ENROLLMENT_KEY` or
        /// `--key-file`: a flag's value is visible to other users in the process list.
        #[arg(
            long,
            env = "ROSTER_ENROLLMENT_KEY",
            hide_env_values = true,
            required_unless_present = "key_file"
        )]
        key: Option<String>,
        /// File holding the enrollment key (`-` reads it from standard input).
        #[arg(long, conflicts_with = "key")]
        key_file: Option<PathBuf>,
        /// This machine's stable id (e.g. /etc/machine-id).
        #[arg(long)]
        uid: String,
        /// Host name to show operators (1-128 printable characters).
        #[arg(long)]
        hostname: Option<String>,
        /// Operating system to show operators, e.g. `linux`.
        #[arg(long)]
        os: Option<String>,
        /// Agent software version to show operators.
        #[arg(long)]
        agent_version: Option<String>,
        /// Where to write the credential (default: beside the identity file, with
        /// `.credential.json` for `.json`: `agent.json` → `agent.credential.json`).
        #[arg(long, env = "ROSTER_CREDENTIAL")]
        credential_out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SiteCmd {
    /// Create a site; prints its first enrollment key once.
    Create {
        #[command(flatten)]
        client: ClientArgs,
        /// Site code: 3-32 letters, digits and `-` (stored upper case), e.g. ACME-PHX.
        site: String,
        /// Tenant (default `default`).
        #[arg(long)]
        tenant: Option<String>,
        /// Name for people (1-128 printable characters).
        #[arg(long)]
        display_name: Option<String>,
        /// Company name for people (1-128 printable characters).
        #[arg(long)]
        company: Option<String>,
        /// Enrollment policy: `auto` makes new machines active, `approval` makes them
        /// wait for an operator (default auto).
        #[arg(long, value_parser = ["auto", "approval"])]
        policy: Option<String>,
    },
    /// List sites.
    List {
        #[command(flatten)]
        client: ClientArgs,
        /// Only this tenant's sites.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one site.
    Get {
        #[command(flatten)]
        client: ClientArgs,
        /// Site code, e.g. ACME-PHX (any case).
        site: String,
        /// Tenant (default `default`).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Rotate a site's enrollment key; prints the new key once.
    ///
    /// The previous key keeps working for `--grace` (24h by default); `--grace 0`
    /// retires it at once (asks first on a terminal; `--yes` skips the question).
    RotateKey {
        #[command(flatten)]
        client: ClientArgs,
        /// Site code, e.g. ACME-PHX (any case).
        site: String,
        /// Tenant (default `default`).
        #[arg(long)]
        tenant: Option<String>,
        /// How long the previous key keeps working: `0`, or a number with `s`, `m`, `h`
        /// or `d` (a bare number is seconds); at most 30d.
        #[arg(long, alias = "grace-secs", default_value = "24h", value_parser = parse_duration_secs)]
        grace: u64,
        /// With --grace 0, do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MachineCmd {
    /// List machines.
    List {
        #[command(flatten)]
        client: ClientArgs,
        /// Only machines at this site code.
        #[arg(long)]
        site: Option<String>,
        /// Only this tenant's machines.
        #[arg(long)]
        tenant: Option<String>,
        /// Only machines in this state.
        #[arg(long, value_parser = ["active", "pending", "rejected", "revoked"])]
        state: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one machine.
    Get {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(help = MACHINE_ID_HELP)]
        machine_id: String,
    },
    /// Approve a pending machine.
    Approve {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(help = MACHINE_ID_HELP)]
        machine_id: String,
    },
    /// Reject a pending machine.
    Reject {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(help = MACHINE_ID_HELP)]
        machine_id: String,
    },
}

/// The paging options of every list command.
#[derive(Debug, Clone, Args)]
pub struct PageArgs {
    #[arg(long, help = LIMIT_HELP)]
    pub limit: Option<u32>,
    #[arg(long, help = CURSOR_HELP)]
    pub cursor: Option<String>,
    /// Follow the cursors and print every page as one list, oldest first.
    #[arg(long, conflicts_with = "cursor")]
    pub all: bool,
}

/// Options of every client command.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    #[command(flatten)]
    pub nats: NatsArgs,
    /// Identity file to sign with (default `$ROSTER_IDENTITY`, the context's, or
    /// `$XDG_CONFIG_HOME/roster/identity.json`, i.e. ~/.config/roster/identity.json).
    #[arg(long, env = "ROSTER_IDENTITY")]
    pub identity: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for a reply.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum InviteCmd {
    /// Mint an invite; prints the token once.
    Create {
        #[command(flatten)]
        client: ClientArgs,
        /// Handle the invitee gets: 3-32 lowercase letters, digits, `-` and `_`.
        #[arg(long)]
        handle: String,
        /// Role the invitee gets: a built-in (owner, admin, operator, member) or one of
        /// the tenant's custom roles; nothing beyond what you hold yourself there.
        #[arg(long, default_value = "member")]
        role: String,
        /// The tenant it is for (default `default`).
        #[arg(long)]
        tenant: Option<String>,
        /// Only at this site of the tenant (a site-scoped first assignment).
        #[arg(long)]
        site: Option<String>,
        /// Lifetime in seconds (default 7 days, at most 30 days).
        #[arg(long)]
        ttl_secs: Option<u64>,
    },
    /// List invites.
    List {
        #[command(flatten)]
        client: ClientArgs,
        /// Only invites in this state.
        #[arg(long, value_parser = ["pending", "used", "cancelled", "expired"])]
        state: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one invite.
    Get {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(help = INVITE_ID_HELP)]
        invite_id: String,
    },
    /// Cancel a pending invite.
    Cancel {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(help = INVITE_ID_HELP)]
        invite_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// List users.
    List {
        #[command(flatten)]
        client: ClientArgs,
        /// Only users holding this role (in `--tenant`, when given).
        #[arg(long)]
        role: Option<String>,
        /// Only users holding an assignment in this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Only users with this status.
        #[arg(long, value_parser = ["active", "revoked"])]
        status: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one user.
    Get {
        #[command(flatten)]
        client: ClientArgs,
        /// The user's handle.
        handle: String,
    },
    /// Replace a user's assignments in one tenant with one role (tenant-wide, or at
    /// `--sites` only).
    SetRole {
        #[command(flatten)]
        client: ClientArgs,
        /// The user's handle.
        handle: String,
        /// The role: a built-in or a custom role of the tenant (nothing beyond your own).
        role: String,
        /// The tenant (default `default`).
        #[arg(long)]
        tenant: Option<String>,
        /// Comma-separated site codes: the role at these sites only.
        #[arg(long, value_delimiter = ',')]
        sites: Option<Vec<String>>,
    },
    /// Give a user one more assignment: a role in a tenant (`--tenant`, default
    /// `default`), at one site (`--site`), or at platform scope (`--platform`, owner or
    /// admin only).
    Assign {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        assignment: AssignmentArgs,
    },
    /// Take one assignment from a user (the last active owner of a tenant or of the
    /// platform keeps its owner assignment).
    Unassign {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        assignment: AssignmentArgs,
    },
    /// Delete a user for good; its key may register again with a new invite.
    ///
    /// Asks first on a terminal; `--yes` skips the question (and is required without a
    /// terminal).
    Delete {
        #[command(flatten)]
        client: ClientArgs,
        /// The user's handle.
        handle: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// One assignment (PROTOCOL §8) on the command line.
#[derive(Debug, clap::Args)]
pub struct AssignmentArgs {
    /// The user's handle.
    pub handle: String,
    /// The role: a built-in (owner, admin, operator, member) or a custom role of the
    /// tenant.
    pub role: String,
    /// The tenant (default `default`).
    #[arg(long, conflicts_with = "platform")]
    pub tenant: Option<String>,
    /// Only at this site of the tenant.
    #[arg(long, conflicts_with = "platform")]
    pub site: Option<String>,
    /// At platform scope (every tenant, and the tenant registry): owner or admin.
    #[arg(long)]
    pub platform: bool,
}

#[derive(Debug, Subcommand)]
pub enum RoleCmd {
    /// The permission catalog: every `resource:action` a role may hold.
    Catalog {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A tenant's roles (its four built-ins and its custom roles).
    List {
        #[command(flatten)]
        client: ClientArgs,
        /// The tenant (default `default`).
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one role (names compare case-insensitively).
    Get {
        #[command(flatten)]
        client: ClientArgs,
        /// The role's name.
        name: String,
        /// The tenant (default `default`).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Create a custom role. Its name is unique in the tenant case-insensitively, and
    /// the built-in names are reserved; an action permission needs its `:read`; nobody
    /// creates a role with a permission they do not hold.
    Create {
        #[command(flatten)]
        client: ClientArgs,
        /// The name: 3-32 characters (`Floor Manager`).
        name: String,
        /// Comma-separated permission keys (`machine:read,machine:approve`).
        #[arg(long, value_delimiter = ',')]
        permissions: Vec<String>,
        /// Free text for people (at most 256 characters).
        #[arg(long)]
        description: Option<String>,
        /// The tenant (default `default`).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Change a role's permissions or description (`owner` is immutable).
    Update {
        #[command(flatten)]
        client: ClientArgs,
        /// The role's name.
        name: String,
        /// The new permission set, comma-separated (replaces the old one).
        #[arg(long, value_delimiter = ',')]
        permissions: Option<Vec<String>>,
        /// Free text for people (at most 256 characters).
        #[arg(long)]
        description: Option<String>,
        /// The tenant (default `default`).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Delete a custom role that nobody holds (built-ins cannot be deleted).
    ///
    /// Asks first on a terminal; `--yes` skips the question.
    Delete {
        #[command(flatten)]
        client: ClientArgs,
        /// The role's name.
        name: String,
        /// The tenant (default `default`).
        #[arg(long)]
        tenant: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Query audit events: the most recent `--limit` (oldest first), then older pages
    /// with `--cursor`, or every match with `--all`.
    Query {
        #[command(flatten)]
        client: ClientArgs,
        /// Action, e.g. `invite.created`, or a family like `user.>`.
        #[arg(long)]
        action: Option<String>,
        /// Actor id (handle, machine id or key).
        #[arg(long)]
        actor: Option<String>,
        /// Only events of this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Only events about this product of a tenant.
        #[arg(long)]
        product: Option<String>,
        /// Target: an id (`alice`) or the table's `type:id` form (`user:alice`).
        #[arg(long)]
        target: Option<String>,
        /// Only changes (`ok`) or only refusals (`denied`).
        #[arg(long, value_parser = ["ok", "denied"])]
        outcome: Option<String>,
        /// Lower bound: RFC 3339 (`2026-11-30T14:00:00Z`) or a time ago (`90s`, `30m`,
        /// `1h`, `2d`, `1w`).
        #[arg(long)]
        since: Option<String>,
        /// Upper bound (exclusive), in the same forms as `--since`.
        #[arg(long)]
        until: Option<String>,
        /// Most events per page (default 100, at most 1000; with `--all`, 1000).
        #[arg(long)]
        limit: Option<u32>,
        /// The page before this cursor (printed on stderr under a page that has more).
        #[arg(long)]
        cursor: Option<String>,
        /// Follow the cursors back to the first match and print everything, oldest first.
        #[arg(long)]
        all: bool,
        /// Read the security stream instead: strangers' refused attempts (bad
        /// signatures, unknown keys and invites, denied enrollments, refused
        /// connections), counted per action, code and source per minute.
        #[arg(long)]
        security: bool,
    },
}

/// The statuses a tenant can be set to, as `tenant set-status` and `--status` take them.
pub(super) const TENANT_STATUSES: [&str; 5] = ["demo", "trial", "active", "frozen", "archived"];

#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// Create a tenant.
    Create {
        #[command(flatten)]
        client: ClientArgs,
        /// The tenant's slug: 3-40 characters of a-z, 0-9 and `-`, starting and ending
        /// with a letter or digit (e.g. acme-corp). Slugs are never reused.
        tenant: String,
        /// Name for people (1-128 printable characters).
        #[arg(long)]
        name: String,
        /// The first status (default `active` for a customer, `demo` for a demo).
        #[arg(long, value_parser = ["demo", "trial", "active", "frozen"])]
        status: Option<String>,
        #[command(flatten)]
        fields: TenantFields,
    },
    /// List tenants.
    List {
        #[command(flatten)]
        client: ClientArgs,
        /// Only tenants with this (stored) status.
        #[arg(long, value_parser = TENANT_STATUSES)]
        status: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one tenant: its fields and products.
    Get {
        #[command(flatten)]
        client: ClientArgs,
        /// The tenant's slug.
        tenant: String,
    },
    /// Change a tenant's fields (not its slug; its status with `set-status`).
    Update {
        #[command(flatten)]
        client: ClientArgs,
        /// The tenant's slug.
        tenant: String,
        /// Name for people (1-128 printable characters).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        fields: TenantFields,
        /// Remove optional fields (comma-separated).
        #[arg(long, value_delimiter = ',', value_parser = [
            "trial-ends", "contract-start", "contract-end", "erp-customer-id",
            "stripe-customer-id", "sales-owner",
        ])]
        clear: Vec<String>,
    },
    /// Move a tenant to another status.
    ///
    /// demo, trial and active move freely among themselves and to frozen; frozen goes
    /// back to active or on to archived; archived is final (its users, machines, sites
    /// and keys go, and the slug is never reused). Archiving asks first on a terminal;
    /// `--yes` skips the question (and is required without a terminal).
    SetStatus {
        #[command(flatten)]
        client: ClientArgs,
        /// The tenant's slug.
        tenant: String,
        /// The new status.
        #[arg(value_parser = TENANT_STATUSES)]
        status: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Enable or disable one product of a tenant, with its configuration and expiry.
    ///
    /// Without --config the product keeps its configuration (a new one gets `{}`);
    /// without --expires it keeps its expiry.
    SetProduct {
        #[command(flatten)]
        client: ClientArgs,
        /// The tenant's slug.
        tenant: String,
        /// Product name: 1-32 characters of a-z, 0-9, `_` and `-` (one NATS subject token).
        product: String,
        /// Enable the product.
        #[arg(long, conflicts_with = "disable", required_unless_present = "disable")]
        enable: bool,
        /// Disable the product (its configuration stays).
        #[arg(long)]
        disable: bool,
        /// Its configuration: a JSON object of at most 4 KiB.
        #[arg(long, conflicts_with = "config_file", value_name = "JSON")]
        config: Option<String>,
        /// Read the configuration from this file (`-`: standard input).
        #[arg(long, value_name = "FILE")]
        config_file: Option<PathBuf>,
        /// When it stops counting: RFC 3339, or a time from now (`30d`, `12h`).
        #[arg(long, conflicts_with = "no_expiry", value_name = "WHEN")]
        expires: Option<String>,
        /// Remove its expiry.
        #[arg(long)]
        no_expiry: bool,
    },
}

/// The tenant fields `tenant create` and `tenant update` share.
#[derive(Debug, Clone, Args)]
pub struct TenantFields {
    /// `customer` or `demo` (create: default customer).
    #[arg(long, value_parser = ["customer", "demo"])]
    pub kind: Option<String>,
    /// Plan: 1-32 characters of a-z, 0-9, `_` and `-` (create: default starter).
    #[arg(long)]
    pub plan: Option<String>,
    /// When the trial ends: RFC 3339, or a time from now (`14d`, `36h`). Past it, a
    /// trial tenant acts as frozen.
    #[arg(long, value_name = "WHEN")]
    pub trial_ends: Option<String>,
    /// The contract's first day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub contract_start: Option<String>,
    /// The contract's last day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub contract_end: Option<String>,
    /// The customer's id in the ERP (unique across tenants).
    #[arg(long, value_name = "ID")]
    pub erp_customer_id: Option<String>,
    /// The customer's Stripe id, `cus_…` (unique across tenants).
    #[arg(long, value_name = "ID")]
    pub stripe_customer_id: Option<String>,
    /// Who looks after the customer (1-128 printable characters).
    #[arg(long, value_name = "NAME")]
    pub sales_owner: Option<String>,
}

/// `roster apikey …` (PROTOCOL §9).
#[derive(Debug, Subcommand)]
pub enum ApikeyCmd {
    /// Create an API key for automation; the `rak_` key is shown once. Its scopes must
    /// all be yours throughout the tenant; its name is unique there (any case).
    Create {
        #[command(flatten)]
        client: ClientArgs,
        /// A name for people (`CI deploy`), unique in the tenant case-insensitively.
        name: String,
        /// Comma-separated permission keys the key acts with (`site:read,machine:read`).
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// The one product the key's bus connections may use (default: every product).
        #[arg(long)]
        product: Option<String>,
        /// Seconds until the key expires (1 to five years; default: never).
        #[arg(long)]
        ttl_secs: Option<u64>,
        /// The tenant (default: your home tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// A tenant's API keys (never their secrets).
    List {
        #[command(flatten)]
        client: ClientArgs,
        /// The tenant (default: your home tenant).
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one API key by its key id.
    Get {
        #[command(flatten)]
        client: ClientArgs,
        /// The key id (16 hex characters; `rak_` and its first 8 are the key's prefix).
        key_id: String,
    },
    /// A new secret for a key (same id, scopes and expiry); the new key is shown once.
    /// The old one keeps working for `--grace-secs` (default 0: it stops at once).
    Roll {
        #[command(flatten)]
        client: ClientArgs,
        /// The key id (16 hex characters).
        key_id: String,
        /// Seconds the old secret keeps working (at most 30 days, never past expiry).
        #[arg(long)]
        grace_secs: Option<u64>,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Revoke a key: it stops working at once and its bus connections close.
    Revoke {
        #[command(flatten)]
        client: ClientArgs,
        /// The key id (16 hex characters).
        key_id: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Verify a key read from stdin (never from argv), as a service would:
    /// `valid`, `not_found`, `revoked`, `expired`, `insufficient_scope`,
    /// `tenant_inactive` or `rate_limited`. Exits 0 only for `valid`.
    Verify {
        #[command(flatten)]
        client: ClientArgs,
        /// Scopes the key must hold, comma-separated.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// The product it is used for.
        #[arg(long)]
        product: Option<String>,
    },
}
