"""An independent roster client written from PROTOCOL.md §3, §5 and §6 alone.

libsodium (PyNaCl) signs and verifies, nats-py speaks NATS; nothing here comes from the
Rust code. Run by tests/independent.rs against a real worker on the callout bus:

    ROSTER_NATS_URL=nats://127.0.0.1:PORT ROSTER_INVITE=inv_... python3 client.py

It prints one JSON object with what it saw; the Rust test asserts on it.
"""

import asyncio
import base64
import binascii
import json
import os
import sys
import time

import nacl.bindings as sodium
import nats
from nacl.public import PrivateKey
from nacl.signing import SigningKey

PREFIX = "roster"


def nkey_seed(seed: bytes) -> bytes:
    """A user nkey seed ("SU…") for a raw Ed25519 seed: the NATS nkeys encoding."""
    prefix_seed, prefix_user = 18 << 3, 20 << 3
    raw = bytes([prefix_seed | (prefix_user >> 5), (prefix_user & 31) << 3]) + seed
    crc = binascii.crc_hqx(raw, 0)
    return base64.b32encode(raw + crc.to_bytes(2, "little")).rstrip(b"=")


def nkey_public(public: bytes) -> str:
    """A user public nkey ("U…")."""
    raw = bytes([20 << 3]) + public
    crc = binascii.crc_hqx(raw, 0)
    return base64.b32encode(raw + crc.to_bytes(2, "little")).rstrip(b"=").decode()


def signed_bytes(subject: str, ts: str, nonce: str, body: bytes) -> bytes:
    return f"roster-v1\n{subject}\n{ts}\n{nonce}\n".encode() + body


def sign_ph(sk: SigningKey, message: bytes) -> bytes:
    """Ed25519ph (RFC 8032 §5.1, SHA-512 prehash, empty context) with libsodium."""
    state = sodium.crypto_sign_ed25519ph_state()
    sodium.crypto_sign_ed25519ph_update(state, message)
    secret = sk._seed + bytes(sk.verify_key)  # libsodium's 64-byte secret key
    return sodium.crypto_sign_ed25519ph_final_create(state, secret)


def headers(sk: SigningKey, subject: str, body: bytes, pure: bool = False) -> dict:
    ts = str(int(time.time() * 1000))
    nonce = os.urandom(16).hex()
    msg = signed_bytes(subject, ts, nonce, body)
    sig = sk.sign(msg).signature if pure else sign_ph(sk, msg)
    return {
        "Roster-Key": bytes(sk.verify_key).hex(),
        "Roster-Ts": ts,
        "Roster-Nonce": nonce,
        "Roster-Sig": sig.hex(),
    }


async def connect(url: str, seed: bytes, public: bytes):
    """Connect with the key as nkey, reading replies on _INBOX.<nkey> (PROTOCOL §6)."""
    return await nats.connect(
        url,
        nkeys_seed_str=nkey_seed(seed).decode(),
        inbox_prefix=f"_INBOX.{nkey_public(public)}",
        allow_reconnect=False,
        connect_timeout=5,
    )


async def request(nc, subject: str, body: dict, sk: SigningKey, pure: bool = False):
    raw = json.dumps(body, separators=(",", ":")).encode()
    msg = await nc.request(subject, raw, timeout=10, headers=headers(sk, subject, raw, pure))
    return json.loads(msg.data), dict(msg.headers or {})


async def main() -> None:
    url, invite = os.environ["ROSTER_NATS_URL"], os.environ["ROSTER_INVITE"]
    out = {}
    sk = SigningKey.generate()
    kex = PrivateKey.generate()
    seed, public = sk._seed, bytes(sk.verify_key)

    # Onboarding lane: an unknown nkey may register (PROTOCOL §6).
    nc = await connect(url, seed, public)
    register = f"{PREFIX}.v1.register"
    body = {"invite": invite, "kex_pub": bytes(kex.public_key).hex()}
    # A pure Ed25519 signature of the same bytes is refused (PROTOCOL §3).
    reply, hdrs = await request(nc, register, body, sk, pure=True)
    out["pure_code"] = reply.get("error", {}).get("code")
    out["pure_status"] = hdrs.get("Nats-Service-Error-Code")
    # Ed25519ph registers.
    reply, _ = await request(nc, register, body, sk)
    out["registered"] = reply
    await nc.close()

    # Reconnect as the identity: its role's permissions now (an admin here).
    nc = await connect(url, seed, public)
    reply, _ = await request(
        nc,
        f"{PREFIX}.v1.admin.invite.create",
        {"handle": "bob-indep", "role": "member"},
        sk,
    )
    out["invite_created"] = {k: reply.get(k) for k in ("handle", "role", "invite_id")}
    out["token_prefix"] = str(reply.get("token", ""))[:4]
    # A replay of the very same signed request is refused.
    raw = json.dumps({"limit": 5}, separators=(",", ":")).encode()
    subject = f"{PREFIX}.v1.admin.user.list"
    h = headers(sk, subject, raw)
    first = json.loads((await nc.request(subject, raw, timeout=10, headers=h)).data)
    again = json.loads((await nc.request(subject, raw, timeout=10, headers=h)).data)
    out["listed"] = len(first.get("users", []))
    out["replay_code"] = again.get("error", {}).get("code")
    out["nkey"] = nkey_public(public)
    await nc.close()
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # report, do not hide: the Rust test prints stderr
        print(f"independent client failed: {e!r}", file=sys.stderr)
        raise
