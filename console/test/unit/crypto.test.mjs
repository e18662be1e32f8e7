// The browser-side signing checked against the independent vectors of
// shared/test-vectors.json (copied to tests/data/ in the repository).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(mkdtempSync(join(tmpdir(), "roster-console-")), "crypto.mjs");
await build({ entryPoints: [join(here, "../../src/crypto.ts")], bundle: true, format: "esm", platform: "node", outfile: out, logLevel: "silent" });
const c = await import(out);
const vectors = JSON.parse(readFileSync(join(here, "../../../tests/data/test-vectors.json"), "utf8"));
const { ed25519 } = await import("@noble/curves/ed25519.js");

test("signed requests match the independent vectors byte for byte", () => {
  assert.ok(vectors.signed_requests.length >= 3);
  for (const v of vectors.signed_requests) {
    const seed = c.hexToBytes(v.ed25519_seed);
    const pub = c.bytesToHex(ed25519.getPublicKey(seed));
    assert.equal(pub, v["Roster-Key"]);
    const body = c.utf8ToBytes(v.body_utf8);
    assert.equal(c.bytesToHex(c.signingInput(v.subject, v["Roster-Ts"], v["Roster-Nonce"], body)), v.signed_bytes_hex);
    const h = c.signRequest({ signSeed: seed, signPub: pub }, v.subject, body, v["Roster-Ts"], v["Roster-Nonce"]);
    assert.deepEqual(h, { "Roster-Key": v["Roster-Key"], "Roster-Ts": v["Roster-Ts"], "Roster-Nonce": v["Roster-Nonce"], "Roster-Sig": v["Roster-Sig"] });
    assert.notEqual(h["Roster-Sig"], v.pure_ed25519_sig_must_be_refused, "Ed25519ph, never pure");
  }
});

test("Ed25519ph is RFC 8032 section 7.3", async () => {
  const v = vectors.rfc8032_ed25519ph;
  const { ed25519ph } = await import("@noble/curves/ed25519.js");
  assert.equal(c.bytesToHex(ed25519ph.sign(c.hexToBytes(v.message_hex), c.hexToBytes(v.secret))), v.signature);
});

test("the nkey of a signing key is the NATS encoding", () => {
  for (const v of vectors.nkeys) {
    assert.equal(c.userNkey(c.hexToBytes(v.ed25519_public)), v.user_nkey_public);
  }
});

test("the connect nonce is signed with pure Ed25519, verifiable by the nkey's key", () => {
  const id = c.generateIdentity();
  const sig = Uint8Array.from(atob(c.signConnectNonce(id.signSeed, "nonce-from-server")), (ch) => ch.charCodeAt(0));
  assert.ok(ed25519.verify(sig, c.utf8ToBytes("nonce-from-server"), c.hexToBytes(id.signPub)));
});

test("an identity file round-trips and a tampered one is refused", () => {
  const id = c.generateIdentity();
  const text = c.identityToFile(id);
  const back = c.identityFromFile(text);
  assert.equal(back.signPub, id.signPub);
  assert.equal(back.kexPub, id.kexPub);
  assert.equal(back.nkey, id.nkey);
  const f = JSON.parse(text);
  f.sign_pub = "00".repeat(32);
  assert.throws(() => c.identityFromFile(JSON.stringify(f)), /inconsistent/);
  assert.throws(() => c.identityFromFile("{}"), /not a roster identity file/);
  c.wipe(back);
  assert.ok(back.signSeed.every((b) => b === 0));
});

test("sealed values open with the identity's X25519 key, and only with the right data", () => {
  const cases = [
    ...vectors.sealed_credentials.map((v) => ({ secret: v.agent_x25519_secret, info: v.hkdf_info_utf8, aad: v.machine_id, v })),
    ...vectors.sealed_credential_values.map((v) => ({ secret: v.recipient_x25519_secret, info: v.hkdf_info_utf8, aad: v.associated_data_utf8, v })),
  ];
  assert.ok(cases.length >= 3);
  for (const { secret, info, aad, v } of cases) {
    const sealed = { epk: v.epk, nonce: v.nonce, ciphertext: v.ciphertext };
    const plain = c.openSealed(c.hexToBytes(secret), sealed, info, aad);
    assert.equal(new TextDecoder().decode(plain), v.plaintext_utf8);
    assert.throws(() => c.openSealed(c.hexToBytes(secret), sealed, info, aad + "x"));
    assert.throws(() => c.openSealed(c.hexToBytes(secret), sealed, info + "x", aad));
  }
});

test("a vault value is sealed in exactly as the vectors say, byte for byte", () => {
  const ins = vectors.sealed_credential_values.filter((v) => v.hkdf_info_utf8 === c.CREDENTIAL_IN);
  assert.ok(ins.length >= 1);
  for (const v of ins) {
    const sealed = c.seal(v.recipient_kex, c.utf8ToBytes(v.plaintext_utf8), v.hkdf_info_utf8, v.associated_data_utf8, c.hexToBytes(v.ephemeral_x25519_secret), c.hexToBytes(v.nonce));
    assert.deepEqual(sealed, { epk: v.epk, nonce: v.nonce, ciphertext: v.ciphertext });
    // The worker's side: it opens with the credential_kex secret and the same AD only.
    const back = c.openSealed(c.hexToBytes(v.recipient_x25519_secret), sealed, c.CREDENTIAL_IN, v.associated_data_utf8);
    assert.equal(new TextDecoder().decode(back), v.plaintext_utf8);
    assert.throws(() => c.openSealed(c.hexToBytes(v.recipient_x25519_secret), sealed, c.CREDENTIAL_OUT, v.associated_data_utf8));
  }
  // Every seal's output is fresh (ephemeral key and nonce), and carries the AD the
  // worker rebuilds from the scope, holder, provider and name.
  const v = ins[0];
  assert.equal(c.credentialAd("user", "alice", " github ", "deploy"), v.associated_data_utf8);
  assert.equal(c.credentialAd("system", "", "aws", "root"), "system/system/aws/root");
  const a = c.sealCredentialValue(v.recipient_kex, v.plaintext_utf8, v.associated_data_utf8);
  const b = c.sealCredentialValue(v.recipient_kex, v.plaintext_utf8, v.associated_data_utf8);
  assert.notEqual(a.epk, b.epk);
  assert.notEqual(a.ciphertext, b.ciphertext);
  assert.ok(!a.ciphertext.includes(Buffer.from(v.plaintext_utf8).toString("hex")));
  const opened = c.openSealed(c.hexToBytes(v.recipient_x25519_secret), a, c.CREDENTIAL_IN, v.associated_data_utf8);
  assert.equal(new TextDecoder().decode(opened), v.plaintext_utf8);
});

test("a reveal sealed out to the identity's kex_pub opens in the tab, and only with its credential id", () => {
  const v = vectors.sealed_credential_values.find((x) => x.hkdf_info_utf8 === c.CREDENTIAL_OUT);
  const sealed = c.seal(v.recipient_kex, c.utf8ToBytes(v.plaintext_utf8), c.CREDENTIAL_OUT, v.associated_data_utf8, c.hexToBytes(v.ephemeral_x25519_secret), c.hexToBytes(v.nonce));
  assert.deepEqual(sealed, { epk: v.epk, nonce: v.nonce, ciphertext: v.ciphertext });
  assert.throws(() => c.openSealed(c.hexToBytes(v.recipient_x25519_secret), sealed, c.CREDENTIAL_OUT, "c-" + "0".repeat(32)));
});
