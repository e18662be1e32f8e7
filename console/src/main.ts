// The roster web console: sign-in, the app shell, live updates. The views are in views.ts.
import { Bus, RosterError, type Json } from "./bus";
import { generateIdentity, identityFromFile, identityToFile, wipe, type Identity } from "./crypto";
import { loadPerms, tenantsInScope } from "./perms";
import { download, field, flash, h, input, mount, refusal, select } from "./ui";
import { VIEWS, type Session } from "./views";

const root = document.getElementById("app")!;
let session: Session | null = null;

interface PageConfig {
  ws_url?: string;
  prefix?: string;
}

async function pageConfig(): Promise<PageConfig> {
  try {
    const r = await fetch("config.json", { cache: "no-store" });
    return r.ok ? await r.json() : {};
  } catch {
    return {};
  }
}

/** Connects with `id`, asks whoami, and opens the console; throws a RosterError. */
async function signIn(url: string, prefix: string, id: Identity): Promise<void> {
  const bus = await Bus.connect(url, id, prefix).catch((e) => {
    throw new RosterError("no_connection", `cannot connect to ${url}: ${e?.message ?? e}`);
  });
  try {
    const who = await bus.request(`${prefix}.v1.whoami`);
    if (!who.user) {
      throw new RosterError("unauthorized", who.machine ? "this key is a machine's, not a user's" : "this key is not a roster user");
    }
    const tenant = who.user.tenant ?? "default";
    const perms = await loadPerms(bus, who.user, tenant);
    const tenants = await tenantsInScope(bus, who.user, perms);
    session = { bus, id, user: who.user, perms, tenant, listeners: new Set(), live: [], wipes: new Set(), tenants };
  } catch (e) {
    await bus.close();
    throw e instanceof RosterError && e.code === "permission_violation"
      ? new RosterError("unauthorized", "this key is not a registered roster user (the bus gave it only the onboarding lane)")
      : e;
  }
  startLive(session!);
  watchSession(session!);
  location.hash = location.hash.startsWith("#/") ? location.hash : "#/overview";
  renderShell();
}

/** Drops the keys and the connection. */
async function signOut(why: string): Promise<void> {
  const s = session;
  session = null;
  if (s) {
    dropSecrets(s);
    s.tail?.unsubscribe();
    if (s.poll) clearInterval(s.poll);
    await s.bus.close();
    wipe(s.id);
  }
  void renderSignIn(why);
}

/** Drops every revealed value the views hold (their text leaves the DOM, their bytes
 *  are zeroed). */
function dropSecrets(s: Session): void {
  for (const w of [...s.wipes]) w();
  s.wipes.clear();
}

/** Switches the tenant the tenant-scoped views act in: its permissions are loaded
 *  anew (an identity may hold other roles there) and the shell is drawn again. */
async function switchTenant(s: Session, tenant: string): Promise<void> {
  try {
    const perms = await loadPerms(s.bus, s.user, tenant);
    if (session !== s) return;
    s.tenant = tenant;
    s.perms = perms;
    renderShell();
  } catch (e) {
    flash(refusal(e), 15000);
  }
}

/** Signs out when the bus ends the session: a revoked identity's connection is closed
 *  and its reconnect refused; a deleted one comes back with the onboarding lane only. */
function watchSession(s: Session): void {
  s.bus.onStatus = (text) => {
    const el = document.querySelector('[data-testid="conn"]');
    if (el) el.textContent = text;
    if (text === "connected" && session === s) {
      s.bus.request(`${s.bus.prefix}.v1.whoami`).then(
        (who) => {
          if (!who.user || who.user.status !== "active") void signOut("this identity is no longer an active roster user");
        },
        () => void signOut("this identity is no longer a roster user (the bus refused it)"),
      );
    }
  };
  void s.bus.closedWhy().then((why) => {
    if (session === s) void signOut(why);
  });
}

/** Live updates: the audit tail where the bus lets this identity read `P.audit.>`,
 *  else a poll of audit.query, else nothing (lists then refresh on their own actions). */
function startLive(s: Session): void {
  const deliver = (e: Json) => {
    // The picked tenant's events and the platform's (no tenant); another tenant's
    // stay in the Audit view's queries.
    if (e.tenant && e.tenant !== s.tenant) return;
    s.live.unshift(e);
    s.live.length = Math.min(s.live.length, 200);
    for (const f of s.listeners) f(e);
  };
  if (!s.perms.has("audit:read")) return;
  if (s.user.assignments?.some((a: Json) => ["owner", "admin"].includes(String(a.role).toLowerCase()))) {
    s.tail = s.bus.auditTail(deliver);
    s.liveMode = "tail";
    return;
  }
  const seen = new Set<string>();
  let first = true;
  s.liveMode = "poll";
  s.poll = setInterval(() => {
    s.bus.admin("audit.query", { limit: 20 }).then(
      (r) => {
        for (const e of r.events ?? []) {
          if (seen.has(e.id)) continue;
          seen.add(e.id);
          if (!first) deliver(e);
        }
        first = false;
      },
      () => {},
    );
  }, 3000);
}

function renderShell(): void {
  const s = session!;
  const views = VIEWS.filter((v) => v.visible(s.perms));
  const nav = h(
    "nav",
    null,
    views.map((v) => h("a", { href: `#/${v.id}`, testid: `nav-${v.id}` }, v.title)),
  );
  const main = h("main", { id: "main" });
  const roleText = (s.user.assignments ?? [])
    .map((a: Json) => (a.scope === "platform" ? `${a.role} (platform)` : a.site ? `${a.role} at ${a.tenant}/${a.site}` : `${a.role} in ${a.tenant}`))
    .join(", ");
  const picker = select("tenant_picker", s.tenants, { testid: "tenant-picker" });
  picker.value = s.tenant;
  picker.addEventListener("change", () => void switchTenant(s, picker.value));
  mount(
    root,
    h(
      "header",
      null,
      h("h1", null, "roster"),
      h(
        "div",
        { class: "who", testid: "whoami" },
        h("strong", { testid: "whoami-handle" }, s.user.handle),
        " · ",
        h("span", { testid: "whoami-role" }, roleText || s.user.role),
        " · ",
        h("span", { class: "muted", title: s.id.nkey }, s.id.nkey.slice(0, 12) + "…"),
        " · ",
        h("span", { testid: "conn", class: "muted" }, "connected"),
      ),
      s.tenants.length > 1
        ? h(
            "label",
            { class: "tenant-picker", title: "The tenant that sites, machines, roles, API keys, credentials, invites and audit act in" },
            h("span", null, "Tenant"),
            picker,
          )
        : null,
      h("button", { testid: "sign-out", onclick: () => void signOut("signed out; the keys were dropped from this tab") }, "Sign out"),
    ),
    nav,
    h("div", { id: "messages" }),
    main,
  );
  void route();
}

let routeToken = 0;
async function route(): Promise<void> {
  const s = session;
  if (!s) return;
  const main = document.getElementById("main");
  if (!main) return;
  const views = VIEWS.filter((v) => v.visible(s.perms));
  const id = location.hash.replace(/^#\//, "") || "overview";
  const view = views.find((v) => v.id === id) ?? views[0];
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.getAttribute("href") === `#/${view.id}`);
  const token = ++routeToken;
  s.listeners.clear();
  dropSecrets(s);
  const el = h("section", { testid: `view-${view.id}`, class: "view" }, h("h2", null, view.title));
  mount(main, el);
  try {
    const onEvent = await view.render(s, el);
    if (token === routeToken && onEvent) s.listeners.add(onEvent);
  } catch (e) {
    el.append(refusal(e));
    if (e instanceof RosterError && e.code === "unauthorized") void signOut(`the worker refused this identity: ${e.message}`);
  }
}

async function renderSignIn(why = ""): Promise<void> {
  const cfg = await pageConfig();
  const hashWs = new URLSearchParams(location.hash.replace(/^#/, "")).get("ws");
  const url = input("ws_url", { value: hashWs ?? cfg.ws_url ?? `ws://${location.hostname}:4280`, size: 40 });
  const prefix = input("prefix", { value: cfg.prefix ?? "roster", size: 10 });
  const status = h("div", { testid: "sign-in-status" });
  const busy = async (what: () => Promise<void>) => {
    mount(status, h("p", { class: "muted" }, "connecting…"));
    try {
      await what();
    } catch (e) {
      mount(status, refusal(e));
    }
  };

  const file = input("identity_file", { type: "file", accept: ".json,application/json" });
  const paste = h("textarea", { testid: "in-identity_text", rows: 4, cols: 60, placeholder: "…or paste the identity file's JSON" }) as HTMLTextAreaElement;
  const fromFile = async () => {
    const text = file.files?.[0] ? await file.files[0].text() : paste.value;
    paste.value = "";
    file.value = "";
    const id = identityFromFile(text);
    await signIn(url.value.trim(), prefix.value.trim(), id);
  };

  const invite = input("invite", { placeholder: "inv_…", size: 60, autocomplete: "off" });
  let fresh: Identity | null = null;
  const register = async () => {
    fresh = generateIdentity();
    const id = fresh;
    const bus = await Bus.connect(url.value.trim(), id, prefix.value.trim()).catch((e) => {
      throw new RosterError("no_connection", `cannot connect: ${e?.message ?? e}`);
    });
    try {
      // Proof of possession: signed by the new key (PROTOCOL §4, register).
      await bus.request(`${prefix.value.trim()}.v1.register`, { invite: invite.value.trim(), kex_pub: id.kexPub });
    } finally {
      await bus.close();
    }
    invite.value = "";
    // The callout decided this connection's permissions at connect: reconnect as a user.
    await signIn(url.value.trim(), prefix.value.trim(), id);
    flash(
      h(
        "div",
        { class: "secret", testid: "save-identity" },
        h("p", null, "Registered. These keys exist only in this tab: save the identity file to sign in again (the page never stores or sends it)."),
        h("button", { testid: "save-identity-file", onclick: () => download("identity.json", identityToFile(id), "application/json") }, "Save identity file"),
      ),
      60000,
    );
  };

  mount(
    root,
    h(
      "div",
      { class: "sign-in", testid: "sign-in" },
      h("h1", null, "roster console"),
      why ? h("p", { class: "notice", testid: "signed-out-reason" }, why) : null,
      h("p", { class: "muted" }, "Your keys stay in this tab's memory: they are never sent (the bus sees only signatures) and never stored by the page. Signing out drops them."),
      h("fieldset", null, h("legend", null, "Bus"), field("WebSocket URL", url), field("Subject prefix", prefix)),
      h(
        "fieldset",
        null,
        h("legend", null, "Sign in with an identity file"),
        h("p", { class: "muted" }, "The file `roster keygen` wrote (~/.config/roster/identity.json)."),
        file,
        paste,
        h("button", { testid: "sign-in-file", onclick: () => void busy(fromFile) }, "Sign in"),
      ),
      h(
        "fieldset",
        null,
        h("legend", null, "New here: create keys and register with an invite"),
        field("Invite", invite),
        h("button", { testid: "register", onclick: () => void busy(register) }, "Create keys and register"),
      ),
      status,
    ),
  );
}

window.addEventListener("hashchange", () => void route());
window.addEventListener("beforeunload", () => {
  if (session) wipe(session.id);
});
void renderSignIn();
