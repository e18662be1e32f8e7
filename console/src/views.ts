// The console's views, one function each: they render into their section and may return
// a handler for live audit events (the list refreshes when something it shows changed).
import type { Subscription } from "@nats-io/nats-core";
import { RosterError, type Bus, type Json } from "./bus";
import { CREDENTIAL_OUT, credentialAd, openSealed, sealCredentialValue, type Identity } from "./crypto";
import type { Perms, Where } from "./perms";
import { confirmAction, download, field, flash, h, input, mount, promptSecret, refusal, select, setOptions, shownOnce, table, when } from "./ui";

export interface Session {
  bus: Bus;
  id: Identity;
  user: Json;
  perms: Perms;
  tenant: string;
  listeners: Set<(e: Json) => void>;
  live: Json[];
  tail?: Subscription;
  poll?: ReturnType<typeof setInterval>;
  liveMode?: "tail" | "poll";
  /** Drops what a view holds that must not outlive it (revealed values): run on leaving
   *  the view and on sign-out. */
  wipes: Set<() => void>;
  /** The tenants the picker offers (more than one: the picker is shown). */
  tenants: string[];
}

type OnEvent = ((e: Json) => void) | void;

export interface View {
  id: string;
  title: string;
  visible: (p: Perms) => boolean;
  render: (s: Session, el: HTMLElement) => Promise<OnEvent>;
}

/** Runs an action; shows the worker's refusal (code and message) if it says no. */
async function act(el: HTMLElement, what: () => Promise<unknown>, done?: () => unknown): Promise<void> {
  try {
    await what();
    await done?.();
  } catch (e) {
    flash(refusal(e), 15000);
    el.querySelector('[data-testid="refusal"]')?.remove();
    el.prepend(refusal(e));
  }
}

/** Every page of a list command (at most `max` records). */
async function all(bus: Bus, cmd: string, noun: string, body: Json = {}, max = 5000): Promise<{ items: Json[]; more: boolean }> {
  const items: Json[] = [];
  let cursor: string | undefined;
  do {
    const page = await bus.admin(cmd, { ...body, limit: 1000, ...(cursor ? { cursor } : {}) });
    items.push(...(page[noun] ?? []));
    cursor = page.cursor;
  } while (cursor && items.length < max);
  return { items, more: Boolean(cursor) };
}

/** A create form: labelled fields and a submit button that runs `run`, then `done`. */
function createForm(
  el: HTMLElement,
  testid: string,
  fields: [string, HTMLElement][],
  [buttonId, buttonText]: [string, string],
  run: () => Promise<unknown>,
  done: () => unknown,
): HTMLElement {
  const submit = (ev: Event) => {
    ev.preventDefault();
    void act(el, run, done);
  };
  return h(
    "form",
    { class: "inline", testid, onsubmit: submit },
    fields.map(([label, i]) => field(label, i)),
    h("button", { type: "submit", testid: buttonId }, buttonText),
  );
}

/** Runs `f` if the user says yes. */
function ask(question: string, f: () => Promise<unknown>): Promise<unknown> {
  return confirmAction(question).then((yes) => (yes ? f() : undefined));
}

function btn(testid: string, text: string, onclick: () => void, cls = ""): HTMLElement {
  return h("button", { testid, onclick, class: cls }, text);
}

function assignmentText(a: Json): string {
  return a.scope === "platform" ? `${a.role}@platform` : a.site ? `${a.role}@${a.tenant}/${a.site}` : `${a.role}@${a.tenant}`;
}

const debounce = (f: () => void, ms = 250) => {
  let t: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(t);
    t = setTimeout(f, ms);
  };
};

// ---------------------------------------------------------------- overview
async function overview(s: Session, el: HTMLElement): Promise<OnEvent> {
  const body = h("div");
  el.append(body);
  const load = async () => {
    const p = s.perms;
    const parts: HTMLElement[] = [];
    const count = async (perm: string, label: string, cmd: string, noun: string, filter: Json = {}, testid = "") => {
      if (!p.has(perm)) return;
      try {
        const r = await all(s.bus, cmd, noun, filter);
        parts.push(h("div", { class: "card", testid: testid || `count-${noun}` }, h("b", null, `${r.items.length}${r.more ? "+" : ""}`), h("span", null, label)));
        return r.items;
      } catch (e) {
        parts.push(refusal(e));
      }
    };
    await count("user:read", "users", "user.list", "users");
    await count("invite:read", "pending invites", "invite.list", "invites", { state: "pending" });
    await count("site:read", "sites", "site.list", "sites", { tenant: s.tenant });
    const machines = (await count("machine:read", "machines", "machine.list", "machines", { tenant: s.tenant })) ?? [];
    const pending = machines.filter((m) => m.state === "pending");
    const sections: HTMLElement[] = [h("div", { class: "cards" }, parts)];
    if (p.has("machine:read")) {
      sections.push(h("h3", null, `Pending machines (${pending.length})`), machineTable(s, el, pending, load, "pending-machines"));
    }
    if (p.has("audit:read")) {
      try {
        const d = await s.bus.admin("audit.query", { outcome: "denied", limit: 10 });
        sections.push(h("h3", null, "Recent denials"), eventTable((d.events ?? []).slice().reverse(), "recent-denials"));
      } catch (e) {
        sections.push(refusal(e));
      }
    }
    if (!p.any("user:read", "machine:read", "audit:read")) {
      sections.push(h("p", { testid: "no-admin" }, "This identity holds no admin permission: the console has nothing to show it but who it is."));
    }
    mount(body, sections);
  };
  await load();
  return debounce(() => void load(), 400);
}

// ---------------------------------------------------------------- users
/** Where an assignment lies, for the no-escalation check: platform, a site, or the
 *  tenant. */
const whereOf = (a: Json): Where => (a.scope === "platform" ? { platform: true } : { site: a.site });

/** An assignment, with an unassign button where the identity could have given it (and
 *  may change the user): the worker checks `user.unassign` the same way. */
function assignmentChip(s: Session, el: HTMLElement, u: Json, a: Json, reload: () => unknown): HTMLElement {
  const p = s.perms;
  const here = a.scope === "platform" || (a.tenant ?? "default") === s.tenant;
  const may = here && p.has("user:set_role") && p.mayGrant(String(a.role), whereOf(a)) && p.mayChange(u.assignments ?? [], s.tenant);
  const text = assignmentText(a);
  const body: Json = a.scope === "platform" ? { handle: u.handle, role: a.role, scope: "platform" } : { handle: u.handle, role: a.role, tenant: a.tenant, ...(a.site ? { site: a.site } : {}) };
  return h(
    "span",
    { class: "chip", testid: `assignment-${u.handle}-${text}` },
    text,
    may
      ? h(
          "button",
          {
            class: "chip-x",
            title: `unassign ${text}`,
            testid: `unassign-${u.handle}-${text}`,
            onclick: () => void ask(`Take ${text} from ${u.handle}?`, () => act(el, () => s.bus.admin("user.unassign", body), reload)),
          },
          "×",
        )
      : null,
  );
}

/** The assign form: a user, where (the current tenant, one of its sites, platform
 *  scope) and the roles the identity may grant there (no escalation, PROTOCOL §8). */
async function assignForm(s: Session, el: HTMLElement, reload: () => Promise<void>): Promise<HTMLElement | null> {
  const p = s.perms;
  if (!p.has("user:set_role")) return null;
  let sites: string[] = [];
  if (p.has("site:read")) {
    try {
      sites = (await all(s.bus, "site.list", "sites", { tenant: s.tenant })).items.map((x) => x.site);
    } catch {
      /* tenant scope only */
    }
  }
  type Place = [value: string, where: Where, label: string];
  const every: Place[] = [["", {}, `${s.tenant} (tenant)`], ...sites.map((site): Place => [`site:${site}`, { site }, `${s.tenant}/${site}`]), ["platform", { platform: true }, "platform"]];
  const places = every.filter(([, w]) => p.grantable(w).length > 0);
  if (places.length === 0) return null;
  const handle = input("assign_handle", { placeholder: "alice", required: true, size: 12 });
  const where = select("assign_where", places.map(([v]) => v), {}, places.map(([, , l]) => l));
  const role = select("assign_role", []);
  const roles = () => setOptions(role, p.grantable(places.find(([v]) => v === where.value)![1]));
  where.addEventListener("change", roles);
  roles();
  return createForm(el, "assign-form", [["User", handle], ["Where", where], ["Role", role]], ["assign-submit", "Assign"], async () => {
    const w = places.find(([v]) => v === where.value)![1];
    const body: Json = { handle: handle.value.trim(), role: role.value };
    if (w.platform) body.scope = "platform";
    else {
      body.tenant = s.tenant;
      if (w.site) body.site = w.site;
    }
    await s.bus.admin("user.assign", body);
  }, reload);
}

async function users(s: Session, el: HTMLElement): Promise<OnEvent> {
  const p = s.perms;
  const list = h("div");
  // The picked tenant's users (an assignment there); a platform reader may ask for
  // everyone, platform-scope identities included.
  const scope = p.atPlatform("user:read")
    ? select("users_tenant", ["", s.tenant], {}, ["every tenant", `in ${s.tenant}`])
    : select("users_tenant", [s.tenant], {}, [`in ${s.tenant}`]);
  const load = async () => {
    const { items } = await all(s.bus, "user.list", "users", scope.value ? { tenant: scope.value } : {});
    mount(
      list,
      table(
        items,
        [
          ["handle", (u) => h("b", null, u.handle)],
          ["assignments", (u) => (u.assignments?.length ? u.assignments.map((a: Json) => assignmentChip(s, el, u, a, load)) : u.role)],
          ["status", (u) => h("span", { class: `st-${u.status}` }, u.status)],
          ["registered", (u) => when(u.registered_at)],
          [
            "",
            (u) => [
              p.has("user:revoke") && u.status === "active"
                ? btn(`revoke-${u.handle}`, "Revoke", () =>
                    void ask(`Revoke ${u.handle}? Their connections close and their key stops working.`, () => act(el, () => s.bus.request(`${s.bus.prefix}.v1.revoke`, { user: u.handle, reason: "revoked in the console" }), load),
                    ),
                  "danger")
                : null,
              p.has("user:delete")
                ? btn(`delete-${u.handle}`, "Delete", () =>
                    void ask(`Delete ${u.handle} for good? Their key may register again with a new invite.`, () => act(el, () => s.bus.admin("user.delete", { handle: u.handle }), load),
                    ),
                  "danger")
                : null,
            ],
          ],
        ],
        "users-table",
        (u) => u.handle,
      ),
    );
  };
  const form = await assignForm(s, el, load);
  if (form) el.append(h("h3", null, `Assign a role in ${s.tenant}`), form);
  scope.addEventListener("change", () => void load().catch((e) => mount(list, refusal(e))));
  el.append(h("p", null, "Users ", scope), list);
  await load();
  const again = debounce(() => void load().catch((e) => mount(list, refusal(e))));
  return (e) => String(e.action ?? "").startsWith("user.") && again();
}

// ---------------------------------------------------------------- invites
async function invites(s: Session, el: HTMLElement): Promise<OnEvent> {
  const p = s.perms;
  const list = h("div");
  const state = select("state", ["pending", "used", "cancelled", "expired", ""]);
  const load = async () => {
    const { items: every } = await all(s.bus, "invite.list", "invites", state.value ? { state: state.value } : {});
    // invite.list has no tenant filter: the current tenant's are shown.
    const items = every.filter((i) => (i.tenant ?? "default") === s.tenant);
    mount(
      list,
      table(
        items,
        [
          ["invite", (i) => h("code", null, i.invite_id)],
          ["handle", (i) => i.handle],
          ["role", (i) => i.role],
          ["state", (i) => i.state],
          ["created", (i) => `${when(i.created_at)} by ${i.created_by ?? ""}`],
          ["expires", (i) => when(i.expires_at)],
          [
            "",
            (i) =>
              p.has("invite:cancel") && i.state === "pending"
                ? btn(`cancel-${i.handle}`, "Cancel", () => void act(el, () => s.bus.admin("invite.cancel", { invite_id: i.invite_id }), load), "danger")
                : null,
          ],
        ],
        "invites-table",
        (i) => i.invite_id,
      ),
    );
  };
  state.addEventListener("change", () => void load());
  if (p.has("invite:create")) {
    const handle = input("handle", { placeholder: "alice", required: true });
    // Only roles the identity may mint an invite for (no escalation, PROTOCOL §8).
    const grantable = p.grantable({});
    const roles = grantable.length > 0 ? grantable : ["member"];
    const role = select("role", roles);
    const ttl = input("ttl_days", { type: "number", min: 1, max: 30, value: 7, size: 4 });
    const out = h("div");
    el.append(
      createForm(el, "invite-form", [["Handle", handle], ["Role", role], ["Days", ttl]], ["invite-create", "Create invite"], async () => {
        const r = await s.bus.admin("invite.create", { handle: handle.value.trim(), role: role.value, tenant: s.tenant, ttl_secs: Number(ttl.value) * 86400 });
        handle.value = "";
        mount(out, shownOnce(`Invite for ${r.handle} (${r.role}), expires ${when(r.expires_at)}`, r.token));
      }, load),
      out
    );
  }
  el.append(h("div", { class: "row" }, field("State", state)), list);
  await load();
  const again = debounce(() => void load().catch(() => {}));
  return (e) => /^(invite|user)\./.test(String(e.action ?? "")) && again();
}

// ---------------------------------------------------------------- sites
async function sites(s: Session, el: HTMLElement): Promise<OnEvent> {
  const p = s.perms;
  const list = h("div");
  const out = h("div");
  const load = async () => {
    const { items } = await all(s.bus, "site.list", "sites", { tenant: s.tenant });
    mount(
      list,
      table(
        items,
        [
          ["site", (x) => h("b", null, x.site)],
          ["name", (x) => x.display_name],
          ["policy", (x) => x.policy],
          ["key", (x) => h("span", { testid: `fp-${x.site}` }, x.fingerprint)],
          ["created", (x) => when(x.created_at)],
          [
            "",
            (x) => {
              if (!p.has("site:manage")) return null;
              const grace = input(`grace-${x.site}`, { type: "number", min: 0, value: 86400, size: 7, title: "grace, seconds: the old key keeps working this long" });
              return h(
                "span",
                null,
                grace,
                btn(`rotate-${x.site}`, "Rotate key", () =>
                  void act(el, async () => {
                    const secs = Number(grace.value);
                    if (secs === 0 && !(await confirmAction(`Retire ${x.site}'s key at once? Installers carrying it stop enrolling.`))) return;
                    const r = await s.bus.admin("site.rotate_key", { site: x.site, tenant: x.tenant, grace_secs: secs });
                    mount(
                      out,
                      shownOnce(
                        `New enrollment key for ${r.site}: ${r.fingerprint}`,
                        r.enrollment_key,
                        h("p", null, r.previous_valid_until ? `The previous key works until ${when(r.previous_valid_until)}.` : "The previous key no longer works."),
                      ),
                    );
                  }, load),
                ),
              );
            },
          ],
        ],
        "sites-table",
        (x) => x.site,
      ),
    );
  };
  if (p.has("site:manage")) {
    const site = input("site", { placeholder: "ACME-PHX", required: true });
    const name = input("display_name", { placeholder: "Acme Phoenix" });
    const policy = select("policy", ["auto", "approval"]);
    el.append(
      createForm(el, "site-form", [["Site", site], ["Display name", name], ["Policy", policy]], ["site-create", "Create site"], async () => {
        const body: Json = { site: site.value.trim(), tenant: s.tenant, policy: policy.value };
        if (name.value.trim()) body.display_name = name.value.trim();
        const r = await s.bus.admin("site.create", body);
        site.value = "";
        name.value = "";
        mount(out, shownOnce(`Enrollment key for ${r.site}: ${r.fingerprint}`, r.enrollment_key, h("p", null, "Bake it into the site's installer.")));
      }, load)
    );
  }
  el.append(
    out,
    list,
    h("p", { class: "muted", testid: "policy-note" }, "A site's policy (auto or approval) is set when it is created: the protocol has no command to change it, so it is shown read-only here."),
  );
  await load();
  const again = debounce(() => void load().catch(() => {}));
  return (e) => String(e.action ?? "").startsWith("site.") && again();
}

// ---------------------------------------------------------------- machines
function machineTable(s: Session, el: HTMLElement, items: Json[], reload: () => unknown, testid: string): HTMLElement {
  const p = s.perms;
  return table(
    items,
    [
      ["machine", (m) => h("code", null, m.machine_id)],
      ["site", (m) => m.site],
      ["host", (m) => m.hostname ?? ""],
      ["uid", (m) => m.machine_uid],
      ["state", (m) => h("span", { class: `st-${m.state}` }, m.state, m.pending_reason ? ` (${m.pending_reason})` : "")],
      ["enrolled", (m) => when(m.last_enrolled_at ?? m.enrolled_at)],
      [
        "",
        (m) => [
          p.has("machine:approve") && m.state === "pending"
            ? [
                btn(`approve-${m.machine_id}`, "Approve", () => void act(el, () => s.bus.admin("machine.approve", { machine_id: m.machine_id }), reload)),
                btn(`reject-${m.machine_id}`, "Reject", () => void act(el, () => s.bus.admin("machine.reject", { machine_id: m.machine_id }), reload), "danger"),
              ]
            : null,
          p.has("machine:revoke") && (m.state === "active" || m.state === "pending")
            ? btn(`mrevoke-${m.machine_id}`, "Revoke", () =>
                void ask(`Revoke ${m.machine_id}? Its credential stops working.`, () => act(el, () => s.bus.request(`${s.bus.prefix}.v1.revoke`, { machine: m.machine_id, reason: "revoked in the console" }), reload),
                ),
              "danger")
            : null,
        ],
      ],
    ],
    testid,
    (m) => m.machine_id,
  );
}

async function machines(s: Session, el: HTMLElement): Promise<OnEvent> {
  const list = h("div");
  const site = input("site", { placeholder: "any site", size: 12 });
  const state = select("state", ["", "pending", "active", "rejected", "revoked"]);
  const load = async () => {
    const body: Json = { tenant: s.tenant };
    if (site.value.trim()) body.site = site.value.trim();
    if (state.value) body.state = state.value;
    const { items } = await all(s.bus, "machine.list", "machines", body);
    mount(list, machineTable(s, el, items, load, "machines-table"));
  };
  const reload = () => void load().catch((e) => mount(list, refusal(e)));
  state.addEventListener("change", reload);
  site.addEventListener("change", reload);
  el.append(h("div", { class: "row" }, field("Site", site), field("State", state)), list);
  await load();
  const again = debounce(reload);
  return (e) => String(e.action ?? "").startsWith("machine.") && again();
}

// ---------------------------------------------------------------- audit
const who = (x?: Json) => (x ? `${x.type ?? ""}:${x.name ?? x.id ?? ""}` : "");

function eventRow(e: Json): HTMLElement {
  const extra = { ...(e.metadata ?? {}) };
  const before = e.before ?? extra.before;
  const after = e.after ?? extra.after;
  return h(
    "tr",
    { "data-id": e.id, class: e.outcome === "denied" ? "denied" : "" },
    h("td", null, when(e.time)),
    h("td", null, h("code", null, e.action)),
    h("td", null, e.outcome),
    h("td", null, who(e.actor)),
    h("td", null, who(e.target)),
    h(
      "td",
      null,
      h(
        "details",
        null,
        h("summary", null, before !== undefined || after !== undefined ? "before / after" : "details"),
        before !== undefined ? h("div", null, h("b", null, "before"), h("pre", null, JSON.stringify(before, null, 1))) : null,
        after !== undefined ? h("div", null, h("b", null, "after"), h("pre", null, JSON.stringify(after, null, 1))) : null,
        h("pre", null, JSON.stringify({ tenant: e.tenant, site: e.site, source: e.source, metadata: e.metadata }, null, 1)),
      ),
    ),
  );
}

function eventTable(events: Json[], testid: string): HTMLElement {
  if (events.length === 0) return h("p", { class: "empty", testid }, "none");
  return h(
    "table",
    { testid },
    h("thead", null, h("tr", null, ["time", "action", "outcome", "actor", "target", ""].map((c) => h("th", null, c)))),
    h("tbody", null, events.map(eventRow)),
  );
}

function csv(events: Json[]): string {
  const q = (v: unknown) => `"${String(v ?? "").replace(/"/g, '""')}"`;
  const rows = [["id", "time", "action", "outcome", "actor_type", "actor", "target_type", "target", "tenant", "site", "metadata"].join(",")];
  for (const e of events) {
    rows.push(
      [e.id, e.time, e.action, e.outcome, e.actor?.type, e.actor?.name ?? e.actor?.id, e.target?.type, e.target?.name ?? e.target?.id, e.tenant, e.site, JSON.stringify(e.metadata ?? {})]
        .map(q)
        .join(","),
    );
  }
  return rows.join("\n") + "\n";
}

async function audit(s: Session, el: HTMLElement): Promise<OnEvent> {
  const liveBody = h("tbody", { testid: "live-events" });
  const liveNote =
    s.liveMode === "tail"
      ? `Live from ${s.bus.prefix}.audit.> on the bus.`
      : "This identity's bus permissions do not cover the audit subjects: new events are polled with audit.query every 3 s.";
  el.append(
    h("h3", null, "Live"),
    h("p", { class: "muted", testid: "live-mode" }, liveNote),
    h("table", { class: "live" }, h("thead", null, h("tr", null, ["time", "action", "outcome", "actor", "target", ""].map((c) => h("th", null, c)))), liveBody),
  );
  for (const e of s.live.slice(0, 50)) liveBody.append(eventRow(e));

  const action = input("action", { placeholder: "user.> or machine.approved", size: 18 });
  const actor = input("actor", { placeholder: "owner", size: 10 });
  const target = input("target", { placeholder: "user:alice", size: 14 });
  const outcome = select("outcome", ["", "ok", "denied"]);
  const since = input("since", { type: "datetime-local" });
  const until = input("until", { type: "datetime-local" });
  const limit = input("limit", { type: "number", value: 50, min: 1, max: 1000, size: 5 });
  // The current tenant's events by default; "any" is every tenant the identity may read.
  const tenant = select("audit_tenant", [s.tenant, ""]);
  const results = h("div");
  let loaded: Json[] = [];
  let cursor: unknown;
  const iso = (v: string) => (v ? new Date(v).toISOString().replace(/\.\d+Z$/, "Z") : undefined);
  const query = async (more: boolean) => {
    const body: Json = { limit: Number(limit.value) || 50 };
    for (const [k, v] of [
      ["action", action.value.trim()],
      ["actor", actor.value.trim()],
      ["target", target.value.trim()],
      ["outcome", outcome.value],
      ["since", iso(since.value)],
      ["until", iso(until.value)],
      ["tenant", tenant.value],
    ] as const) {
      if (v) body[k] = v;
    }
    if (more && cursor !== undefined) body.cursor = cursor;
    try {
      const r = await s.bus.admin("audit.query", body);
      // A page is oldest first; "older" pages go further back in time.
      const page = (r.events ?? []).slice().reverse();
      loaded = more ? [...loaded, ...page] : page;
      cursor = r.cursor;
      mount(
        results,
        h("p", { class: "muted", testid: "audit-count" }, `${loaded.length} events, newest first`),
        eventTable(loaded, "audit-table"),
        cursor !== undefined ? btn("audit-older", "Older…", () => void query(true)) : null,
      );
    } catch (e) {
      mount(results, refusal(e));
    }
  };
  el.append(
    h("h3", null, "Query"),
    h(
      "form",
      {
        class: "inline",
        testid: "audit-form",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          void query(false);
        },
      },
      field("Action", action),
      field("Actor", actor),
      field("Target", target),
      field("Outcome", outcome),
      field("Since", since),
      field("Until", until),
      field("Tenant", tenant),
      field("Limit", limit),
      h("button", { type: "submit", testid: "audit-query" }, "Query"),
      btn("export-csv", "Export CSV", () => download("roster-audit.csv", csv(loaded), "text/csv")),
      btn("export-json", "Export JSON", () => download("roster-audit.json", JSON.stringify(loaded, null, 2) + "\n", "application/json")),
    ),
    results,
  );
  await query(false);
  return (e) => {
    liveBody.prepend(eventRow(e));
    while (liveBody.children.length > 100) liveBody.lastChild?.remove();
  };
}

// ---------------------------------------------------------------- tenants
async function tenants(s: Session, el: HTMLElement): Promise<OnEvent> {
  const p = s.perms;
  const list = h("div");
  const load = async () => {
    const { items } = await all(s.bus, "tenant.list", "tenants");
    mount(
      list,
      table(
        items,
        [
          ["tenant", (t) => h("b", null, t.tenant)],
          ["name", (t) => t.name],
          ["status", (t) => t.status],
          ["kind", (t) => t.kind],
          ["plan", (t) => t.plan],
          ["products", (t) => Object.entries(t.products ?? {}).filter(([, v]: any) => v.enabled).map(([k]) => k).join(", ")],
          ["created", (t) => when(t.created_at)],
          [
            "",
            (t) => {
              if (!p.has("tenant:manage") || t.status === "archived") return null;
              const next = select(`status-${t.tenant}`, ["", "demo", "trial", "active", "frozen", "archived"].filter((x) => x !== t.status));
              return h(
                "span",
                null,
                next,
                btn(`set-status-${t.tenant}`, "Set status", () =>
                  void (async () => {
                    if (!next.value) return;
                    if (next.value === "archived" && !(await confirmAction(`Archive ${t.tenant}? Its users, machines and sites are deleted; only its audit remains.`))) return;
                    await act(el, () => s.bus.admin("tenant.set_status", { tenant: t.tenant, status: next.value }), load);
                  })(),
                ),
              );
            },
          ],
        ],
        "tenants-table",
        (t) => t.tenant,
      ),
    );
  };
  if (p.has("tenant:manage")) {
    const slug = input("tenant", { placeholder: "acme", required: true });
    const name = input("tenant_name", { placeholder: "Acme Inc.", required: true });
    el.append(
      createForm(el, "tenant-form", [["Tenant", slug], ["Name", name]], ["tenant-create", "Create tenant"], () => s.bus.admin("tenant.create", { tenant: slug.value.trim(), name: name.value.trim() }), load)
    );
  }
  el.append(list);
  await load();
  const again = debounce(() => void load().catch(() => {}));
  return (e) => String(e.action ?? "").startsWith("tenant.") && again();
}

// ---------------------------------------------------------------- roles
async function roles(s: Session, el: HTMLElement): Promise<OnEvent> {
  const p = s.perms;
  const list = h("div");
  const catalog = s.perms.catalog;
  const load = async () => {
    const { items } = await all(s.bus, "role.list", "roles", { tenant: s.tenant });
    mount(
      list,
      table(
        items,
        [
          ["role", (r) => h("b", null, r.name)],
          ["built-in", (r) => (r.builtin ? "yes" : "")],
          ["permissions", (r) => h("span", { class: "perms" }, (r.permissions ?? []).join(" "))],
          ["description", (r) => r.description ?? ""],
          [
            "",
            (r) =>
              p.has("role:manage") && !r.builtin
                ? btn(`role-delete-${r.name}`, "Delete", () =>
                    void ask(`Delete the role ${r.name}?`, () => act(el, () => s.bus.admin("role.delete", { tenant: s.tenant, name: r.name }), load)),
                  "danger")
                : null,
          ],
        ],
        "roles-table",
        (r) => r.name,
      ),
    );
  };
  if (p.has("role:manage") && catalog.length > 0) {
    const name = input("role_name", { placeholder: "auditor", required: true });
    const boxes = catalog.map((c) => {
      const box = h("input", { type: "checkbox", value: c.key, testid: `perm-${c.key}` }) as HTMLInputElement;
      return h("label", { class: "perm", title: c.description }, box, c.key);
    });
    el.append(
      h(
        "form",
        {
          testid: "role-form",
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            const permissions = [...el.querySelectorAll<HTMLInputElement>('form[data-testid="role-form"] input[type=checkbox]:checked')].map((b) => b.value);
            void act(el, () => s.bus.admin("role.create", { tenant: s.tenant, name: name.value.trim(), permissions }), load);
          },
        },
        field("New role", name),
        h("div", { class: "perm-grid" }, boxes),
        h("button", { type: "submit", testid: "role-create" }, "Create role"),
      ),
    );
  }
  el.append(
    list,
    h("h3", null, "Permission catalog"),
    table(catalog, [["permission", (c) => h("code", null, c.key)], ["resource", (c) => c.resource], ["what it allows", (c) => c.description]], "catalog-table"),
  );
  await load();
  const again = debounce(() => void load().catch(() => {}));
  return (e) => String(e.action ?? "").startsWith("role.") && again();
}

// ---------------------------------------------------------------- API keys
async function apikeys(s: Session, el: HTMLElement): Promise<OnEvent> {
  const p = s.perms;
  const list = h("div");
  const out = h("div");
  const load = async () => {
    const { items } = await all(s.bus, "apikey.list", "keys", { tenant: s.tenant });
    mount(
      list,
      table(
        items,
        [
          ["name", (k) => h("b", null, k.name)],
          ["prefix", (k) => h("code", null, `${k.prefix}…`)],
          ["scopes", (k) => h("span", { class: "perms" }, (k.scopes ?? []).join(" "))],
          ["created", (k) => `${when(k.created_at)} by ${k.created_by}`],
          ["expires", (k) => when(k.expires_at)],
          ["last used", (k) => when(k.last_used_at)],
          ["state", (k) => (k.revoked_at ? h("span", { class: "st-revoked" }, "revoked") : "active")],
          [
            "",
            (k) =>
              p.has("apikey:manage") && !k.revoked_at
                ? [
                    btn(`roll-${k.name}`, "Roll", () =>
                      void act(el, async () => {
                        const r = await s.bus.admin("apikey.roll", { key_id: k.key_id, grace_secs: 3600 });
                        mount(out, shownOnce(`New key for ${r.name}`, r.key, h("p", null, `The previous key works until ${when(r.previous_valid_until)}.`)));
                      }, load),
                    ),
                    btn(`akrevoke-${k.name}`, "Revoke", () =>
                      void ask(`Revoke the API key ${k.name}? Its connections close.`, () => act(el, () => s.bus.admin("apikey.revoke", { key_id: k.key_id }), load)),
                    "danger"),
                  ]
                : null,
          ],
        ],
        "apikeys-table",
        (k) => k.name,
      ),
    );
  };
  if (p.has("apikey:manage")) {
    const name = input("apikey_name", { placeholder: "ci-deployer", required: true });
    const scopes = input("apikey_scopes", { placeholder: "machine:read site:read", size: 30, required: true });
    const days = input("apikey_days", { type: "number", min: 0, value: 90, size: 4, title: "0: no expiry" });
    el.append(
      createForm(el, "apikey-form", [["Name", name], ["Scopes", scopes], ["Days", days]], ["apikey-create", "Create API key"], async () => {
        const body: Json = { tenant: s.tenant, name: name.value.trim(), scopes: scopes.value.split(/[\s,]+/).filter(Boolean) };
        if (Number(days.value) > 0) body.ttl_secs = Number(days.value) * 86400;
        const r = await s.bus.admin("apikey.create", body);
        name.value = "";
        mount(out, shownOnce(`API key ${r.name} (${(r.scopes ?? []).join(" ")})`, r.key));
      }, load)
    );
  }
  el.append(out, list);
  await load();
  const again = debounce(() => void load().catch(() => {}));
  return (e) => String(e.action ?? "").startsWith("apikey.") && again();
}

// ---------------------------------------------------------------- credentials
const CREDENTIAL_TYPES = ["secret", "api_key", "oauth_token", "access_token", "password", "custom"];

/** One holder's credentials, and what the identity may do with them (PROTOCOL §10). */
interface Holder {
  scope: "user" | "tenant" | "system";
  title: string;
  /** The `credential.list` body. */
  list: Json;
  /** The holder part of the sealing's associated data. */
  name: string;
  reveal: boolean;
  manage: boolean;
  /** Delete only: another user's, for a platform `credential:manage` holder. */
  remove?: boolean;
}

/** The holders the identity may list: its own (always), its tenant's with
 *  `credential:read` at tenant level there, the system's with it at platform scope. */
function holders(s: Session): Holder[] {
  const p = s.perms;
  const out: Holder[] = [{ scope: "user", title: `Yours (${s.user.handle})`, list: { scope: "user" }, name: s.user.handle, reveal: true, manage: true }];
  if (p.atTenant("credential:read")) {
    out.push({ scope: "tenant", title: `Tenant ${s.tenant}`, list: { scope: "tenant", tenant: s.tenant }, name: s.tenant, reveal: p.atTenant("credential:reveal"), manage: p.atTenant("credential:manage") });
  }
  if (p.atPlatform("credential:read")) {
    out.push({ scope: "system", title: "System", list: { scope: "system" }, name: "system", reveal: p.atPlatform("credential:reveal"), manage: p.atPlatform("credential:manage") });
  }
  return out;
}

function credentialState(c: Json): string {
  if (!c.active) return "revoked";
  if (c.expires_at && Date.parse(c.expires_at) <= Date.now()) return "expired";
  return "active";
}

/** The workers' credential_kex, or a refusal that says why there is none. */
async function credentialKex(s: Session): Promise<string> {
  const kex = await s.bus.credentialKex();
  if (!kex) throw new RosterError("unavailable", "the worker announces no credential_kex: it has no credential vault");
  return kex;
}

/**
 * A revealed value, opened in this tab: hidden until Show is clicked, copyable, and
 * dropped (bytes zeroed, text out of the DOM) on Hide, on Done, when another reveal
 * replaces it, when the view is left and on sign-out (`s.wipes`).
 */
function revealed(s: Session, c: Json, plain: Uint8Array): HTMLElement {
  const hidden = "•••••••• (hidden)";
  const code = h("code", { testid: "revealed-value" }, hidden);
  const text = () => new TextDecoder().decode(plain);
  const toggle = btn("reveal-show", "Show", () => {
    const show = code.textContent === hidden;
    code.textContent = show ? text() : hidden;
    toggle.textContent = show ? "Hide" : "Show";
  });
  const box: HTMLElement = h(
    "div",
    { class: "secret", testid: "revealed" },
    h("strong", null, `${c.provider}/${c.name}`),
    h("p", null, "Opened in this tab with your key: the worker sealed it to your kex_pub, so nobody on the bus could read it. It leaves the page when you hide it, leave this view or sign out."),
    code,
    h(
      "div",
      { class: "row" },
      toggle,
      btn("reveal-copy", "Copy", () => void navigator.clipboard?.writeText(text()).catch(() => {})),
      btn("reveal-done", "Done", () => drop()),
    ),
  );
  const drop = () => {
    plain.fill(0);
    code.textContent = "";
    box.remove();
    s.wipes.delete(drop);
  };
  s.wipes.add(drop);
  return box;
}

async function credentials(s: Session, el: HTMLElement): Promise<OnEvent> {
  const out = h("div", { testid: "reveal-area" });
  const sections = holders(s).map((holder) => ({ holder, list: h("div") }));
  const reveal = async (c: Json) => {
    const r = await s.bus.admin("credential.reveal", { credential_id: c.credential_id });
    // Sealed to this identity's kex_pub with the credential id as associated data.
    const plain = openSealed(s.id.kexSecret, r.value, CREDENTIAL_OUT, c.credential_id);
    for (const w of [...s.wipes]) w();
    mount(out, revealed(s, c, plain));
  };
  const seal = async (holder: Holder, provider: string, name: string, value: string) =>
    sealCredentialValue(await credentialKex(s), value, credentialAd(holder.scope, holder.name, provider, name));
  const load = async () => {
    for (const { holder, list } of sections) {
      try {
        const { items } = await all(s.bus, "credential.list", "credentials", holder.list);
        mount(list, credentialTable(s, el, holder, items, { reveal, seal, reload: load }));
      } catch (e) {
        mount(list, refusal(e));
      }
    }
  };
  const managed = sections.filter(({ holder }) => holder.manage).map(({ holder }) => holder);
  if (managed.length > 0) {
    const scope = select("cred_scope", managed.map((x) => x.scope), {}, managed.map((x) => x.title));
    const provider = input("cred_provider", { placeholder: "github", required: true, size: 10 });
    const name = input("cred_name", { placeholder: "deploy-token", required: true, size: 14 });
    const kind = select("cred_type", CREDENTIAL_TYPES);
    const value = input("cred_value", { type: "password", required: true, autocomplete: "off", size: 24 });
    const description = input("cred_description", { size: 16 });
    const expires = input("cred_expires", { type: "datetime-local" });
    el.append(
      createForm(
        el,
        "cred-form",
        [["Whose", scope], ["Provider", provider], ["Name", name], ["Type", kind], ["Value", value], ["Description", description], ["Expires", expires]],
        ["cred-create", "Store credential"],
        async () => {
          const holder = managed.find((x) => x.scope === scope.value)!;
          const body: Json = {
            scope: holder.scope,
            name: name.value.trim(),
            provider: provider.value.trim(),
            type: kind.value,
            value: await seal(holder, provider.value, name.value, value.value),
          };
          value.value = "";
          if (holder.scope === "tenant") body.tenant = s.tenant;
          if (description.value.trim()) body.description = description.value.trim();
          if (expires.value) body.expires_at = new Date(expires.value).toISOString().replace(/\.\d+Z$/, "Z");
          await s.bus.admin("credential.create", body);
          name.value = "";
          description.value = "";
        },
        load,
      ),
      h("p", { class: "muted" }, "The value is sealed in this tab to the worker's credential key (credential_kex) before it is sent: it never crosses the bus in the clear."),
    );
  }
  el.append(out, ...sections.flatMap(({ holder, list }) => [h("h3", null, holder.title), list]));
  if (s.perms.atPlatform("credential:manage")) el.append(...othersCredentials(s, el, reveal, seal));
  await load();
  const again = debounce(() => void load());
  return (e) => String(e.action ?? "").startsWith("credential.") && again();
}

/** Another user's credentials, for a platform `credential:manage` holder (PROTOCOL §10):
 *  listed masked and deletable, never revealed, rotated or revoked. */
function othersCredentials(s: Session, el: HTMLElement, reveal: CredentialActions["reveal"], seal: CredentialActions["seal"]): HTMLElement[] {
  const owner = input("cred_owner", { placeholder: "alice", size: 12, required: true });
  const list = h("div", { testid: "creds-other" });
  const load = async () => {
    const handle = owner.value.trim();
    if (!handle) return;
    const holder: Holder = { scope: "user", title: `${handle}'s`, list: { scope: "user", owner: handle }, name: handle, reveal: false, manage: false, remove: true };
    try {
      const { items } = await all(s.bus, "credential.list", "credentials", holder.list);
      mount(list, credentialTable(s, el, holder, items, { reveal, seal, reload: load }));
    } catch (e) {
      mount(list, refusal(e));
    }
  };
  const form = h("form", { testid: "cred-owner-form" }, owner, " ", h("button", { type: "submit", testid: "cred-owner-list" }, "List"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void load();
  });
  return [h("h3", null, "Another user's"), h("p", { class: "muted" }, "Masked; a user's values are its own: you may delete them, never reveal them."), form, list];
}

interface CredentialActions {
  reveal: (c: Json) => Promise<void>;
  seal: (holder: Holder, provider: string, name: string, value: string) => Promise<Json>;
  reload: () => Promise<void>;
}

function credentialTable(s: Session, el: HTMLElement, holder: Holder, items: Json[], a: CredentialActions): HTMLElement {
  return table(
    items,
    [
      ["name", (c) => h("b", null, c.name)],
      ["provider", (c) => c.provider],
      ["type", (c) => c.type],
      ["value", (c) => h("code", { testid: "masked" }, c.masked_value)],
      ["expires", (c) => when(c.expires_at)],
      ["last used", (c) => when(c.last_used_at)],
      ["state", (c) => h("span", { class: `st-${credentialState(c)}`, testid: "cred-state" }, credentialState(c))],
      [
        "",
        (c) => {
          const live = credentialState(c) === "active";
          return [
            holder.reveal && live ? btn("cred-reveal", "Reveal", () => void act(el, () => a.reveal(c))) : null,
            holder.manage && c.active
              ? btn("cred-rotate", "Rotate", () =>
                  void act(el, async () => {
                    const v = await promptSecret(`New value for ${c.provider}/${c.name} (sealed in this tab before it is sent)`);
                    if (v === null) return;
                    await s.bus.admin("credential.rotate", { credential_id: c.credential_id, value: await a.seal(holder, c.provider, c.name, v) });
                  }, a.reload),
                )
              : null,
            holder.manage && c.active
              ? btn("cred-revoke", "Revoke", () =>
                  void ask(`Revoke ${c.provider}/${c.name}? It is never revealed again.`, () => act(el, () => s.bus.admin("credential.revoke", { credential_id: c.credential_id }), a.reload)),
                "danger")
              : null,
            holder.manage || holder.remove
              ? btn("cred-delete", "Delete", () =>
                  void ask(`Delete ${c.provider}/${c.name} and its encrypted value for good?`, () => act(el, () => s.bus.admin("credential.delete", { credential_id: c.credential_id }), a.reload)),
                "danger")
              : null,
          ];
        },
      ],
    ],
    `creds-${holder.scope}`,
    (c) => c.credential_id,
  );
}

export const VIEWS: View[] = [
  { id: "overview", title: "Overview", visible: () => true, render: overview },
  { id: "users", title: "Users", visible: (p) => p.has("user:read"), render: users },
  { id: "invites", title: "Invites", visible: (p) => p.has("invite:read"), render: invites },
  { id: "sites", title: "Sites", visible: (p) => p.has("site:read"), render: sites },
  { id: "machines", title: "Machines", visible: (p) => p.has("machine:read"), render: machines },
  { id: "audit", title: "Audit", visible: (p) => p.has("audit:read"), render: audit },
  { id: "tenants", title: "Tenants", visible: (p) => p.has("tenant:read"), render: tenants },
  { id: "roles", title: "Roles", visible: (p) => p.has("role:read"), render: roles },
  { id: "apikeys", title: "API keys", visible: (p) => p.has("apikey:read"), render: apikeys },
  // Every user keeps its own credentials (the bus lets members publish credential.*).
  { id: "credentials", title: "Credentials", visible: () => true, render: credentials },
];
