// The console's NATS connection: NATS over WebSocket, authenticated with the identity's
// key as its nkey (the auth callout gives it its roster permissions), with the inbox
// prefix the callout allows (`_INBOX.<user nkey>`), and every roster request signed.
import {
  headers,
  wsconnect,
  AuthorizationError,
  PermissionViolationError,
  type NatsConnection,
  type Subscription,
} from "@nats-io/nats-core";
import { type Identity, signConnectNonce, signRequest, utf8ToBytes } from "./crypto";

/** A refusal: the worker's `{"error": {"code", "message"}}`, or the bus's own. */
export class RosterError extends Error {
  constructor(
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Json = Record<string, any>;

interface Pending {
  subject: string;
  reject: (e: Error) => void;
}

export class Bus {
  private pending = new Set<Pending>();
  /** Called once when the bus ends this session: closed, or refused on reconnect. */
  onEnded: (why: string) => void = () => {};
  onStatus: (text: string) => void = () => {};

  private constructor(
    public nc: NatsConnection,
    private id: Identity,
    public prefix: string,
  ) {
    void this.watch();
  }

  static async connect(url: string, id: Identity, prefix: string): Promise<Bus> {
    const nc = await wsconnect({
      servers: url,
      name: `roster-console ${id.nkey}`,
      // The nonce the server sent, signed with pure Ed25519: the one pure use of the key.
      authenticator: (nonce?: string) => ({ nkey: id.nkey, sig: nonce ? signConnectNonce(id.signSeed, nonce) : "" }),
      inboxPrefix: `_INBOX.${id.nkey}`,
      maxReconnectAttempts: 10,
      reconnectTimeWait: 500,
      timeout: 5000,
    });
    return new Bus(nc, id, prefix);
  }

  private async watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === "error" && s.error instanceof PermissionViolationError && s.error.operation === "publish") {
        // The bus refused the publish: fail the requests on that subject at once instead
        // of waiting for a reply that cannot come.
        for (const p of [...this.pending]) {
          if (p.subject === s.error.subject) {
            p.reject(new RosterError("permission_violation", `the bus refused a publish to ${p.subject}`));
          }
        }
      } else if (s.type === "error" && s.error instanceof AuthorizationError) {
        this.onStatus("the bus refused this identity");
      } else if (s.type === "disconnect") {
        this.onStatus("disconnected; reconnecting…");
      } else if (s.type === "reconnect") {
        this.onStatus("connected");
      }
    }
  }

  /** Resolves when the connection is closed for good, with why. */
  async closedWhy(): Promise<string> {
    const err = await this.nc.closed();
    if (err instanceof AuthorizationError || /authoriz/i.test(String(err))) {
      return "the bus refused this identity (revoked or deleted)";
    }
    return err ? `connection closed: ${err.message}` : "signed out";
  }

  /** A signed request to `subject`; a worker's error reply is thrown as a RosterError. */
  async request(subject: string, body: Json = {}): Promise<Json> {
    const bytes = utf8ToBytes(JSON.stringify(body));
    const h = headers();
    for (const [k, v] of Object.entries(signRequest(this.id, subject, bytes))) h.set(k, v);
    let pending!: Pending;
    const refused = new Promise<never>((_, reject) => {
      pending = { subject, reject };
      this.pending.add(pending);
    });
    try {
      const msg = await Promise.race([this.nc.request(subject, bytes, { timeout: 8000, headers: h }), refused]);
      const reply = msg.json<Json>();
      if (reply && typeof reply === "object" && reply.error) {
        throw new RosterError(reply.error.code ?? "error", reply.error.message ?? "refused");
      }
      return reply;
    } catch (e) {
      if (e instanceof RosterError) throw e;
      const text = String((e as Error)?.message ?? e);
      if (/no responders/i.test(text)) throw new RosterError("no_worker", "no roster worker answers on this bus");
      if (/timeout/i.test(text)) throw new RosterError("timeout", "the worker did not answer in time");
      throw new RosterError("error", text);
    } finally {
      this.pending.delete(pending);
    }
  }

  /** `P.v1.admin.<command>`. */
  admin(command: string, body: Json = {}): Promise<Json> {
    return this.request(`${this.prefix}.v1.admin.${command}`, body);
  }

  /**
   * The workers' `credential_kex` (hex), announced in the metadata of
   * `$SRV.INFO.roster` (PROTOCOL §10): the X25519 key vault values are sealed to.
   * `null` when the worker that answered has no vault.
   */
  async credentialKex(): Promise<string | null> {
    try {
      const info = (await this.nc.request("$SRV.INFO.roster", undefined, { timeout: 5000 })).json<Json>();
      const kex = info?.metadata?.credential_kex;
      return typeof kex === "string" && /^[0-9a-f]{64}$/.test(kex) ? kex : null;
    } catch (e) {
      const text = String((e as Error)?.message ?? e);
      if (/no responders/i.test(text)) throw new RosterError("no_worker", "no roster worker answers on this bus");
      throw new RosterError("error", `$SRV.INFO.roster: ${text}`);
    }
  }

  /** A live subscription to the audit subjects (`P.audit.>`), where the identity may read them. */
  auditTail(onEvent: (e: Json) => void): Subscription {
    const sub = this.nc.subscribe(`${this.prefix}.audit.>`);
    void (async () => {
      for await (const m of sub) {
        try {
          onEvent(m.json<Json>());
        } catch {
          /* not an event */
        }
      }
    })().catch(() => {});
    return sub;
  }

  async close(): Promise<void> {
    for (const p of this.pending) p.reject(new RosterError("signed_out", "signed out"));
    await this.nc.close().catch(() => {});
  }
}
