// What the signed-in identity may do, from the same permission catalog and role
// definitions the worker enforces (PROTOCOL §8): the console hides the rest. The worker
// still decides; a refusal is shown as such.
import type { Bus, Json } from "./bus";

type Keys = Set<string>;

const union = (...sets: Iterable<string>[]): Keys => new Set(sets.flatMap((s) => [...s]));
const intersect = (a: Keys, b: Keys): Keys => new Set([...a].filter((k) => b.has(k)));
/** Platform-only permissions (the `tenant` resource): no tenant role grants them. */
const tenantOnly = (keys: Iterable<string>): Keys => new Set([...keys].filter((k) => !k.startsWith("tenant:")));

/** Where an assignment applies: the current tenant (`site` absent), one of its sites, or
 *  platform scope. */
export type Where = { platform: true } | { platform?: false; site?: string };

export class Perms {
  constructor(
    /** The union of everything held in the tenant, anywhere in it (what views show). */
    public keys: Keys,
    public platform: boolean,
    public catalog: Json[],
    public roles: Map<string, string[]>,
    /** What the platform role holds at platform scope (owner: all; admin: all but
     *  `user:manage_owners`). */
    public platformKeys: Keys = new Set(),
    /** What it holds at tenant level (platform grants give everything in every tenant). */
    public tenantKeys: Keys = new Set(),
    /** What it holds at each site a site assignment narrows it at. */
    public siteKeys: Map<string, Keys> = new Map(),
  ) {}
  has(key: string): boolean {
    return this.keys.has(key);
  }
  any(...keys: string[]): boolean {
    return keys.some((k) => this.keys.has(k));
  }
  /** Held at tenant level (tenant-scope commands: credentials, roles, API keys). */
  atTenant(key: string): boolean {
    return this.tenantKeys.has(key);
  }
  /** Held at platform scope. */
  atPlatform(key: string): boolean {
    return this.platformKeys.has(key);
  }
  /** What it holds at `where`: a site it is narrowed at has its own set. */
  private heldAt(where: Where): Keys {
    if (where.platform) return this.platformKeys;
    if (where.site) {
      const key = [...this.siteKeys.keys()].find((s) => s.toLowerCase() === where.site!.toLowerCase());
      return key ? this.siteKeys.get(key)! : this.tenantKeys;
    }
    // A tenant-scope grant reaches every site: it must be held at each narrowed one too.
    return [...this.siteKeys.values()].reduce(intersect, this.tenantKeys);
  }
  /** What assigning `role` at `where` would grant (an unknown role: nothing). */
  private grantOf(role: string, where: Where): Keys {
    const r = role.toLowerCase();
    if (where.platform) {
      if (r === "owner") return new Set(this.catalog.map((c) => c.key));
      if (r === "admin") return new Set(this.catalog.map((c) => c.key).filter((k) => k !== "user:manage_owners"));
      return new Set();
    }
    return tenantOnly(this.roles.get(r) ?? []);
  }
  /**
   * The no-escalation rule of §8, as the worker applies it to `user.assign`,
   * `user.unassign` and invites: the identity holds everything `role` grants, where it
   * would grant it, and `user:set_role` there.
   */
  mayGrant(role: string, where: Where): boolean {
    if (where.platform && !["owner", "admin"].includes(role.toLowerCase())) return false;
    if (!where.platform && !this.roles.has(role.toLowerCase())) return false;
    const held = this.heldAt(where);
    if (!held.has("user:set_role") && !this.platformKeys.has("user:set_role")) return false;
    return [...this.grantOf(role, where)].every((k) => held.has(k));
  }
  /**
   * Whether it may change the assignments of a user holding `theirs` (in `tenant`, the
   * tenant these permissions are of): `user:set_role` wherever the user is assigned, and
   * everything the user holds there (an admin changes no owner). A user assigned in
   * another tenant is changed by platform identities only, as far as the console knows.
   */
  mayChange(theirs: Json[], tenant: string): boolean {
    return theirs.every((a) => {
      const where: Where = a.scope === "platform" ? { platform: true } : { site: a.site };
      if (a.scope !== "platform" && (a.tenant ?? "default") !== tenant) return this.platform;
      const held = this.heldAt(where);
      return held.has("user:set_role") && [...this.grantOf(String(a.role), where)].every((k) => held.has(k));
    });
  }
  /** The role names it may grant at `where`. */
  grantable(where: Where): string[] {
    const names = where.platform ? ["owner", "admin"] : [...this.roles.keys()];
    return names.filter((r) => this.mayGrant(r, where));
  }
}

/**
 * Effective permissions in `tenant`: a platform owner or admin holds every catalog
 * permission in every tenant (at platform scope an admin changes no owner); otherwise
 * the roles the user is assigned in the tenant: at tenant level its tenant-scope roles,
 * at a site where it holds site assignments those instead (a site assignment narrows).
 * `keys` is the union of them all (the console shows an action when it applies
 * anywhere; the worker narrows site grants to their sites).
 */
export async function loadPerms(bus: Bus, user: Json, tenant: string): Promise<Perms> {
  const assignments: Json[] = user.assignments ?? [];
  const platform = assignments.filter((a) => a.scope === "platform").map((a) => String(a.role).toLowerCase());
  let catalog: Json[] = [];
  const roles = new Map<string, string[]>();
  const mine = assignments.filter((a) => a.scope !== "platform" && (a.tenant ?? "default") === tenant);
  const maybeReader = platform.length > 0 || mine.some((a) => String(a.role).toLowerCase() !== "member");
  if (maybeReader) {
    // A member may not even publish admin commands: do not ask.
    try {
      catalog = (await bus.admin("role.catalog")).permissions ?? [];
    } catch {
      /* no role:read */
    }
    try {
      let cursor: string | undefined;
      do {
        const page = await bus.admin("role.list", { tenant, ...(cursor ? { cursor } : {}) });
        for (const r of page.roles ?? []) roles.set(String(r.name).toLowerCase(), r.permissions ?? []);
        cursor = page.cursor;
      } while (cursor);
    } catch {
      /* no role:read */
    }
  }
  const all = catalog.map((c) => String(c.key));
  const platformKeys = new Set(platform.includes("owner") ? all : platform.length > 0 ? all.filter((k) => k !== "user:manage_owners") : []);
  const everywhere = new Set(platform.length > 0 ? all : []);
  const roleKeys = (a: Json) => tenantOnly(roles.get(String(a.role).toLowerCase()) ?? []);
  const tenantKeys = union(everywhere, ...mine.filter((a) => !a.site).map(roleKeys));
  const siteKeys = new Map<string, Keys>();
  for (const a of mine.filter((a) => a.site)) siteKeys.set(a.site, union(everywhere, siteKeys.get(a.site) ?? [], roleKeys(a)));
  const keys = union(platformKeys, tenantKeys, ...siteKeys.values());
  if (platform.length > 0 && !platform.includes("owner")) keys.delete("user:manage_owners");
  return new Perms(keys, platform.length > 0, catalog, roles, platformKeys, tenantKeys, siteKeys);
}

/** The tenants this user holds assignments in (a platform role: every tenant, listed
 *  with `tenant.list`), its home tenant first. */
export async function tenantsInScope(bus: Bus, user: Json, perms: Perms): Promise<string[]> {
  const home = user.tenant ?? "default";
  const out = new Set<string>([home]);
  for (const a of user.assignments ?? []) if (a.scope !== "platform" && a.tenant) out.add(a.tenant);
  if (perms.platform && perms.atPlatform("tenant:read")) {
    try {
      let cursor: string | undefined;
      do {
        const page = await bus.admin("tenant.list", { limit: 1000, ...(cursor ? { cursor } : {}) });
        for (const t of page.tenants ?? []) if (t.status !== "archived") out.add(t.tenant);
        cursor = page.cursor;
      } while (cursor);
    } catch {
      /* the picker then offers the assignments' tenants */
    }
  }
  return [...out];
}
