// Every use of key material in the console, on @noble/curves and @noble/hashes only
// (no hand-written curve code). One Ed25519 key, two kinds of signature (PROTOCOL §3):
// pure Ed25519 only over the NATS server's connect nonce, Ed25519ph over every roster
// request, so no nonce a server sends can ever be a valid request signature.
import { ed25519, ed25519ph, x25519 } from "@noble/curves/ed25519.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes, randomBytes, utf8ToBytes } from "@noble/hashes/utils.js";

/** A signed-in identity: held in this tab's memory only, wiped on sign-out. */
export interface Identity {
  signSeed: Uint8Array;
  kexSecret: Uint8Array;
  /** Ed25519 public key, hex (`Roster-Key`). */
  signPub: string;
  /** X25519 public key, hex. */
  kexPub: string;
  /** The signing key as a NATS user nkey (`U…`). */
  nkey: string;
}

export class IdentityFileError extends Error {}

function hex32(v: unknown, field: string): Uint8Array {
  if (typeof v !== "string" || !/^[0-9a-f]{64}$/.test(v)) {
    throw new IdentityFileError(`${field} is not 32 bytes of lowercase hex`);
  }
  return hexToBytes(v);
}

function fromSecrets(signSeed: Uint8Array, kexSecret: Uint8Array): Identity {
  const pub = ed25519.getPublicKey(signSeed);
  return {
    signSeed,
    kexSecret,
    signPub: bytesToHex(pub),
    kexPub: bytesToHex(x25519.getPublicKey(kexSecret)),
    nkey: userNkey(pub),
  };
}

/** Reads the CLI's identity file (`roster keygen`: v 1, hex secrets and publics). */
export function identityFromFile(text: string): Identity {
  let f: Record<string, unknown>;
  try {
    f = JSON.parse(text);
  } catch {
    throw new IdentityFileError("not a roster identity file (not JSON)");
  }
  if (typeof f !== "object" || f === null || f.v !== 1) {
    throw new IdentityFileError("not a roster identity file (v 1)");
  }
  const id = fromSecrets(hex32(f.sign_seed, "sign_seed"), hex32(f.kex_secret, "kex_secret"));
  if (f.sign_pub !== id.signPub) {
    throw new IdentityFileError("identity file is inconsistent: sign_pub does not match sign_seed");
  }
  if (f.kex_pub !== undefined && f.kex_pub !== id.kexPub) {
    throw new IdentityFileError("identity file is inconsistent: kex_pub does not match kex_secret");
  }
  return id;
}

/** Fresh key pairs from the browser's CSPRNG. */
export function generateIdentity(): Identity {
  return fromSecrets(randomBytes(32), randomBytes(32));
}

/** The identity in the CLI's file format, for the user to save (never stored by the page). */
export function identityToFile(id: Identity, createdAt = new Date().toISOString()): string {
  return JSON.stringify(
    {
      v: 1,
      sign_seed: bytesToHex(id.signSeed),
      kex_secret: bytesToHex(id.kexSecret),
      sign_pub: id.signPub,
      kex_pub: id.kexPub,
      created_at: createdAt,
    },
    null,
    2,
  );
}

/** Overwrites the secrets (sign-out). */
export function wipe(id: Identity): void {
  id.signSeed.fill(0);
  id.kexSecret.fill(0);
}

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/** CRC-16/XMODEM, the nkey checksum (an encoding detail, not cryptography). */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The NATS user nkey (`U…`) of an Ed25519 public key. */
export function userNkey(pub: Uint8Array): string {
  const raw = new Uint8Array(35);
  raw[0] = 20 << 3; // the nkey prefix byte of a user key: 'U'
  raw.set(pub, 1);
  const c = crc16(raw.subarray(0, 33));
  raw[33] = c & 0xff;
  raw[34] = c >> 8;
  return base32(raw);
}

/** The bytes a request signature covers: `roster-v1\n{subject}\n{ts}\n{nonce}\n{body}`. */
export function signingInput(subject: string, ts: string, nonce: string, body: Uint8Array): Uint8Array {
  const head = utf8ToBytes(`roster-v1\n${subject}\n${ts}\n${nonce}\n`);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

export type SignedHeaders = Record<"Roster-Key" | "Roster-Ts" | "Roster-Nonce" | "Roster-Sig", string>;

/** The four headers of a signed request (Ed25519ph, RFC 8032 §5.1, empty context). */
export function signRequest(
  id: Pick<Identity, "signSeed" | "signPub">,
  subject: string,
  body: Uint8Array,
  ts: string = String(Date.now()),
  nonce: string = bytesToHex(randomBytes(16)),
): SignedHeaders {
  const sig = ed25519ph.sign(signingInput(subject, ts, nonce, body), id.signSeed);
  return { "Roster-Key": id.signPub, "Roster-Ts": ts, "Roster-Nonce": nonce, "Roster-Sig": bytesToHex(sig) };
}

/** The connect-nonce signature NATS nkey auth wants: pure Ed25519, base64. The only pure use. */
export function signConnectNonce(seed: Uint8Array, nonce: string): string {
  const sig = ed25519.sign(utf8ToBytes(nonce), seed);
  return btoa(String.fromCharCode(...sig));
}

/** A value sealed to an X25519 key (PROTOCOL §4, §10), all hex. */
export interface Sealed {
  epk: string;
  nonce: string;
  ciphertext: string;
}

/** The HKDF-SHA256 key of a seal: salt `epk ‖ recipient`, `info` the purpose. */
function sealKey(shared: Uint8Array, epk: Uint8Array, recipient: Uint8Array, info: string): Uint8Array {
  const salt = new Uint8Array(64);
  salt.set(epk);
  salt.set(recipient, 32);
  return hkdf(sha256, shared, salt, utf8ToBytes(info), 32);
}

/** What the HKDF info of a vault value says it is for (PROTOCOL §10). */
export const CREDENTIAL_IN = "roster-v1 credential-in";
export const CREDENTIAL_OUT = "roster-v1 credential-out";

/**
 * Seals `plaintext` to the X25519 key `recipient` (hex) with a fresh ephemeral key and
 * nonce (PROTOCOL §4's construction): X25519(ephemeral, recipient), HKDF-SHA256 with
 * salt `epk ‖ recipient` and `info`, ChaCha20-Poly1305 with `aad`. The ephemeral secret
 * and nonce are parameters only for the vectors; leave them out.
 */
export function seal(
  recipient: string,
  plaintext: Uint8Array,
  info: string,
  aad: string,
  ephemeral: Uint8Array = randomBytes(32),
  nonce: Uint8Array = randomBytes(12),
): Sealed {
  const to = hexToBytes(recipient);
  const epk = x25519.getPublicKey(ephemeral);
  const shared = x25519.getSharedSecret(ephemeral, to);
  const key = sealKey(shared, epk, to, info);
  try {
    const ct = chacha20poly1305(key, nonce, utf8ToBytes(aad)).encrypt(plaintext);
    return { epk: bytesToHex(epk), nonce: bytesToHex(nonce), ciphertext: bytesToHex(ct) };
  } finally {
    key.fill(0);
    shared.fill(0);
    ephemeral.fill(0);
  }
}

/**
 * A vault value sealed to the worker's `credential_kex` for `credential.create` and
 * `rotate` (PROTOCOL §10): associated data `{scope}/{owner or tenant}/{provider}/{name}`
 * ({@link credentialAd}). The plaintext never leaves the tab otherwise.
 */
export function sealCredentialValue(credentialKex: string, value: string, ad: string): Sealed {
  const bytes = utf8ToBytes(value);
  try {
    return seal(credentialKex, bytes, CREDENTIAL_IN, ad);
  } finally {
    bytes.fill(0);
  }
}

/** The associated data a value is sealed in with: `user/alice/github/deploy`,
 *  `tenant/acme/aws/ci`, `system/system/…` (names trimmed, as the worker keeps them). */
export function credentialAd(scope: string, holder: string, provider: string, name: string): string {
  return `${scope}/${scope === "system" ? "system" : holder}/${provider.trim()}/${name.trim()}`;
}

/**
 * Opens a value sealed to this identity's X25519 key: X25519(kex secret, epk), HKDF-SHA256
 * with salt `epk ‖ recipient kex` and `info`, ChaCha20-Poly1305 with `aad`. Throws when
 * it does not open (wrong key, tampered, other associated data). For the credential
 * reveals of PROTOCOL §10 (`info` "roster-v1 credential-out", `aad` the credential_id).
 */
export function openSealed(kexSecret: Uint8Array, sealed: Sealed, info: string, aad: string): Uint8Array {
  const epk = hexToBytes(sealed.epk);
  const shared = x25519.getSharedSecret(kexSecret, epk);
  const key = sealKey(shared, epk, x25519.getPublicKey(kexSecret), info);
  try {
    return chacha20poly1305(key, hexToBytes(sealed.nonce), utf8ToBytes(aad)).decrypt(hexToBytes(sealed.ciphertext));
  } finally {
    key.fill(0);
    shared.fill(0);
  }
}

export { bytesToHex, hexToBytes, utf8ToBytes };
