"""An independent client of the credential vault, written from PROTOCOL.md §3, §4 and
§10 alone: libsodium (PyNaCl) does X25519, ChaCha20-Poly1305 and Ed25519ph, HKDF-SHA256
is RFC 5869 over the standard library's HMAC, nats-py speaks NATS. Nothing here comes
from the Rust code. Run by tests/credentials.rs:

    ROSTER_NATS_URL=nats://127.0.0.1:PORT ROSTER_INVITE=inv_... ROSTER_SECRET=... \
        python3 vault_client.py

It registers with the invite, reads the worker's credential_kex from $SRV.INFO.roster,
seals ROSTER_SECRET to it, creates a user-scope credential, reveals it and opens the
sealed reply with its own key-exchange key. It prints one JSON object with what it saw
(never the secret itself: only whether the revealed value matched).
"""

import asyncio
import hashlib
import hmac
import json
import os
import sys
import time

import nacl.bindings as sodium
import nats
from nacl.public import PrivateKey
from nacl.signing import SigningKey

PREFIX = "roster"


def hkdf_sha256(salt: bytes, ikm: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869: extract, then expand."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


def seal(plaintext: bytes, recipient: bytes, info: bytes, ad: bytes) -> dict:
    """PROTOCOL §4/§10: fresh X25519 ephemeral key, HKDF salt epk || recipient."""
    eph = PrivateKey.generate()
    epk = bytes(eph.public_key)
    shared = sodium.crypto_scalarmult(bytes(eph), recipient)
    key = hkdf_sha256(epk + recipient, shared, info)
    nonce = os.urandom(12)
    ct = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, ad, nonce, key)
    return {"epk": epk.hex(), "nonce": nonce.hex(), "ciphertext": ct.hex()}


def open_sealed(sealed: dict, own: PrivateKey, info: bytes, ad: bytes) -> bytes:
    epk = bytes.fromhex(sealed["epk"])
    shared = sodium.crypto_scalarmult(bytes(own), epk)
    key = hkdf_sha256(epk + bytes(own.public_key), shared, info)
    return sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
        bytes.fromhex(sealed["ciphertext"]), ad, bytes.fromhex(sealed["nonce"]), key
    )


def sign_ph(sk: SigningKey, message: bytes) -> bytes:
    """Ed25519ph (RFC 8032 §5.1) with libsodium."""
    state = sodium.crypto_sign_ed25519ph_state()
    sodium.crypto_sign_ed25519ph_update(state, message)
    secret = sk._seed + bytes(sk.verify_key)
    return sodium.crypto_sign_ed25519ph_final_create(state, secret)


async def request(nc, sk: SigningKey, subject: str, body: dict) -> dict:
    raw = json.dumps(body, separators=(",", ":")).encode()
    ts = str(int(time.time() * 1000))
    nonce = os.urandom(16).hex()
    msg = f"roster-v1\n{subject}\n{ts}\n{nonce}\n".encode() + raw
    hdrs = {
        "Roster-Key": bytes(sk.verify_key).hex(),
        "Roster-Ts": ts,
        "Roster-Nonce": nonce,
        "Roster-Sig": sign_ph(sk, msg).hex(),
    }
    reply = await nc.request(subject, raw, timeout=10, headers=hdrs)
    return json.loads(reply.data)


async def main() -> None:
    url = os.environ["ROSTER_NATS_URL"]
    secret = os.environ["ROSTER_SECRET"].encode()
    sk = SigningKey.generate()
    kex = PrivateKey.generate()
    nc = await nats.connect(url, allow_reconnect=False, connect_timeout=5)
    seen = {}
    reg = await request(
        nc,
        sk,
        f"{PREFIX}.v1.register",
        {"invite": os.environ["ROSTER_INVITE"], "kex_pub": bytes(kex.public_key).hex()},
    )
    handle = reg["handle"]
    seen["registered"] = handle
    info = json.loads((await nc.request("$SRV.INFO.roster", b"", timeout=5)).data)
    worker_kex = bytes.fromhex(info["metadata"]["credential_kex"])
    seen["credential_kex"] = worker_kex.hex()
    ad = f"user/{handle}/github/deploy".encode()

    async def create(name: str) -> dict:
        value = seal(secret, worker_kex, b"roster-v1 credential-in", ad)
        body = {"scope": "user", "name": name, "provider": "github", "type": "api_key"}
        body["value"] = value
        return await request(nc, sk, f"{PREFIX}.v1.admin.credential.create", body)

    created = await create("deploy")
    if "error" in created:
        seen["create_error"] = created["error"]
        print(json.dumps(seen))
        return
    cid = created["credential_id"]
    seen["credential_id"] = cid
    seen["masked_value"] = created["masked_value"]
    # A value sealed for `deploy` does not open as `other`: the associated data is bound.
    moved = await create("other")
    seen["misbound_code"] = moved.get("error", {}).get("code")
    revealed = await request(
        nc, sk, f"{PREFIX}.v1.admin.credential.reveal", {"credential_id": cid}
    )
    plain = open_sealed(
        revealed["value"], kex, b"roster-v1 credential-out", cid.encode()
    )
    seen["revealed_matches"] = plain == secret
    seen["reveal_keys"] = sorted(revealed.keys())
    try:
        open_sealed(revealed["value"], kex, b"roster-v1 credential-out", b"c-other")
        seen["bound_to_id"] = False
    except Exception:
        seen["bound_to_id"] = True
    await nc.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # the Rust test shows stderr
        print(f"vault client failed: {e!r}", file=sys.stderr)
        sys.exit(1)
