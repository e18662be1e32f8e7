#!/usr/bin/env python3
"""Spike (issue 13, part 4): shared counters for the enrollment throttle and the
security aggregation, measured against a real nats-server.

    scripts/spikes/shared_counters.py            # starts .tools/bin/nats-server itself

Measures, on one R1 file-storage server:
  1. KV compare-and-swap increments of one key (sequential, and two racing clients);
  2. a KV stream switched to `discard: old` with a small `max_bytes`: do CAS writes go
     on when it is full, and what is dropped;
  3. NATS message counters (`allow_msg_counter`, header `Nats-Incr`) on 2.15.1: accepted,
     latency, whether they combine with `discard: old` + `max_bytes` + `max_age`.
Prints one line per measurement; the numbers go to docs/reliability.md.
"""
import asyncio, json, os, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, ".tools", "python"))
import nats  # noqa: E402
from nats.js.errors import KeyWrongLastSequenceError, APIError  # noqa: E402


async def api(nc, subject, body=None):
    m = await nc.request(subject, json.dumps(body or {}).encode(), timeout=5)
    return json.loads(m.data)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


async def kv_cas(nc, js):
    kv = await js.create_key_value(bucket="spike_cas", history=1)
    await kv.create("k", b'{"n":0}')
    lat = []
    for _ in range(1000):
        t = time.perf_counter()
        e = await kv.get("k")
        n = json.loads(e.value)["n"] + 1
        await kv.update("k", json.dumps({"n": n}).encode(), last=e.revision)
        lat.append((time.perf_counter() - t) * 1e6)
    print(f"kv cas increment (get+update), sequential: p50 {pct(lat, .5):.0f} us, "
          f"p99 {pct(lat, .99):.0f} us, {1e6 / (sum(lat) / len(lat)):.0f}/s")

    nc2 = await nats.connect(nc.connected_url.geturl())
    kv2 = await nc2.jetstream().key_value("spike_cas")
    conflicts = [0, 0]

    async def racer(store, i, rounds):
        for _ in range(rounds):
            while True:
                e = await store.get("k")
                n = json.loads(e.value)["n"] + 1
                try:
                    await store.update("k", json.dumps({"n": n}).encode(), last=e.revision)
                    break
                except (KeyWrongLastSequenceError, APIError):
                    conflicts[i] += 1
    start = (json.loads((await kv.get("k")).value))["n"]
    t = time.perf_counter()
    await asyncio.gather(racer(kv, 0, 500), racer(kv2, 1, 500))
    dt = time.perf_counter() - t
    end = json.loads((await kv.get("k")).value)["n"]
    print(f"kv cas increment, two racing clients x 500: {end - start} counted (want 1000), "
          f"{sum(conflicts)} conflicts retried, {1000 / dt:.0f} increments/s")
    await nc2.close()


async def kv_discard_old(nc, js):
    kv = await js.create_key_value(bucket="spike_old", history=1, max_bytes=64 * 1024)
    info = await api(nc, "$JS.API.STREAM.INFO.KV_spike_old")
    cfg = info["config"]
    print(f"kv bucket as created: discard={cfg['discard']} max_bytes={cfg['max_bytes']}")
    cfg["discard"] = "old"
    r = await api(nc, "$JS.API.STREAM.UPDATE.KV_spike_old", cfg)
    print(f"update to discard old: {'ok' if 'error' not in r else r['error']}")
    body = json.dumps({"v": 1, "pad": "x" * 300}).encode()
    lat, failed = [], 0
    for i in range(2000):
        t = time.perf_counter()
        try:
            await kv.create(f"k{i}", body)
        except Exception:
            failed += 1
        lat.append((time.perf_counter() - t) * 1e6)
    info = await api(nc, "$JS.API.STREAM.INFO.KV_spike_old")
    st = info["state"]
    first = await kv.get("k0") if False else None
    try:
        await kv.get("k0")
        k0 = "present"
    except Exception:
        k0 = "gone"
    e = await kv.get("k1999")
    try:
        await kv.update("k1999", body, last=e.revision)
        cas = "ok"
    except Exception as ex:
        cas = f"failed: {ex}"
    print(f"discard old, 2000 creates of ~330 B into 64 KiB: {failed} failed, stream holds "
          f"{st['messages']} msgs / {st['bytes']} B, oldest key {k0}, CAS on newest {cas}, "
          f"create p50 {pct(lat, .5):.0f} us")
    # The same bucket with discard new (as created): writes fail when full.
    kvn = await js.create_key_value(bucket="spike_new", history=1, max_bytes=64 * 1024)
    failed = 0
    for i in range(2000):
        try:
            await kvn.create(f"k{i}", body)
        except Exception:
            failed += 1
    print(f"discard new (async KV default), same load: {failed} of 2000 creates refused")


async def counters(nc, js):
    cfg = {"name": "SPIKE_CTR", "subjects": ["spike.ctr.>"], "storage": "file",
           "allow_msg_counter": True, "allow_direct": True, "discard": "old",
           "max_bytes": 64 * 1024, "max_age": 180 * 10**9, "max_msgs_per_subject": 1}
    r = await api(nc, "$JS.API.STREAM.CREATE.SPIKE_CTR", cfg)
    if "error" in r:
        print(f"counter stream (discard old, max_bytes, max_age): refused: {r['error']}")
        cfg.pop("max_msgs_per_subject")
        r = await api(nc, "$JS.API.STREAM.CREATE.SPIKE_CTR", cfg)
    print(f"counter stream created: {'ok' if 'error' not in r else r['error']}; "
          f"allow_msg_counter={r.get('config', {}).get('allow_msg_counter')}")
    if "error" in r:
        return
    lat = []
    last = None
    for _ in range(1000):
        t = time.perf_counter()
        m = await nc.request("spike.ctr.a", b"", headers={"Nats-Incr": "+3"}, timeout=5)
        lat.append((time.perf_counter() - t) * 1e6)
        last = json.loads(m.data)
    print(f"Nats-Incr +3 x 1000: ack {last}, p50 {pct(lat, .5):.0f} us, "
          f"p99 {pct(lat, .99):.0f} us")
    # Two racing clients: is the sum exact?
    nc2 = await nats.connect(nc.connected_url.geturl())

    async def inc(c, n):
        for _ in range(n):
            await c.request("spike.ctr.b", b"", headers={"Nats-Incr": "+1"}, timeout=5)
    t = time.perf_counter()
    await asyncio.gather(inc(nc, 500), inc(nc2, 500))
    dt = time.perf_counter() - t
    g = await api(nc, "$JS.API.DIRECT.GET.SPIKE_CTR", {"last_by_subj": "spike.ctr.b"})
    print(f"two racing clients x 500 Nats-Incr +1: final {g}, {1000 / dt:.0f} increments/s")
    m = await nc.request("spike.ctr.c", b"hello", headers={"Nats-Incr": "+1"}, timeout=5)
    print(f"Nats-Incr with a body: {json.loads(m.data)}")
    m = await nc.request("spike.ctr.d", b"", headers={"Nats-Incr": "+1",
                                                    "Nats-Msg-Id": "x"}, timeout=5)
    print(f"Nats-Incr with Nats-Msg-Id: {json.loads(m.data)}")
    await nc2.close()


async def main():
    binary = os.environ.get("NATS_SERVER_BIN", os.path.join(ROOT, ".tools/bin/nats-server"))
    d = tempfile.mkdtemp()
    import socket
    with socket.socket() as sock:  # a free port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    p = subprocess.Popen([binary, "-js", "-sd", d, "-p", str(port), "-a", "127.0.0.1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await asyncio.sleep(0.5)
        if p.poll() is not None:
            sys.exit(f"nats-server did not start on port {port}")
        nc = await nats.connect(f"nats://127.0.0.1:{port}")
        print("server", nc._server_info.get("version"))
        js = nc.jetstream()
        await kv_cas(nc, js)
        await kv_discard_old(nc, js)
        await counters(nc, js)
        await nc.close()
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)


asyncio.run(main())
