// What the signed-in identity may do, from the same permission catalog and role
// definitions the worker enforces (PROTOCOL §8): the console hides the rest. The worker
// still decides; a refusal is shown as such.
import type { Bus, Json } from "./bus";

export class Perms {
  constructor(
    public keys: Set<string>,
    public platform: boolean,
    public catalog: Json[],
    public roles: Map<string, string[]>,
  ) {}
  has(key: string): boolean {
    return this.keys.has(key);
  }
  any(...keys: string[]): boolean {
    return keys.some((k) => this.keys.has(k));
  }
}

/**
 * Effective permissions in `tenant`: a platform owner or admin holds every catalog
 * permission (an admin changes no owner); otherwise the union of the roles the user is
 * assigned in the tenant, at tenant or site scope (the worker narrows site grants to
 * their sites; the console shows the action when it applies anywhere).
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
  const keys = new Set<string>();
  if (platform.length > 0) {
    for (const p of catalog) keys.add(p.key);
    if (!platform.includes("owner")) keys.delete("user:manage_owners");
  }
  for (const a of mine) for (const k of roles.get(String(a.role).toLowerCase()) ?? []) keys.add(k);
  return new Perms(keys, platform.length > 0, catalog, roles);
}
