#!/usr/bin/python3
"""serve_check.py: checks `ccstream serve` with a client nobody here wrote
(python3-websockets). Each scenario connects to the server on 127.0.0.1,
asserts what the reference (cryptocompare-protocol.md, sections 2, 3, 6
and 7) says the streamer does, and exits 0, or 1 with "FAIL: what" on
stderr. Every wait is bounded. tests/test_serve.c runs the scenarios
against servers it starts.

usage: serve_check.py SCENARIO PORT [ARGS...]
"""
import asyncio
import json
import re
import ssl
import sys
import time

import websockets

TIMEOUT = 5.0
KEY = "test-key-0123456789"
BTC_TRADES = "0~Coinbase~BTC~USD"
ETH_TRADES = "0~Coinbase~ETH~USD"
BTC_AGG = "5~CCCAGG~BTC~USD"
ETH_AGG = "5~CCCAGG~ETH~USD"
LTC_AGG = "5~CCCAGG~LTC~USD"


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def connect(u, **kw):
    """websockets.connect, not waiting long for a closing handshake: a
    server streaming as fast as the client reads has megabytes in flight
    when the client closes."""
    kw.setdefault("close_timeout", 0.2)
    return websockets.connect(u, **kw)


def url(port, key=KEY, scheme="ws"):
    q = "?api_key=" + key if key else ""
    return "%s://127.0.0.1:%d/v2%s" % (scheme, port, q)


def frame_ok(raw):
    """Parse one frame and check its shape per the reference: compact JSON
    (no spaces outside strings), one object, TYPE a string, the data
    messages' required fields with their JSON types."""
    check(isinstance(raw, str), "a binary frame: %r" % (raw[:60],))
    d = json.loads(raw)
    check(isinstance(d, dict), "not an object: %s" % raw[:80])
    check(isinstance(d.get("TYPE"), str), "TYPE not a string: %s" % raw[:80])
    outside = re.sub(r'"(?:[^"\\]|\\.)*"', '""', raw)
    check(" " not in outside, "spaces in a frame: %s" % raw[:80])
    t = d["TYPE"]
    if t == "0":
        for k in ("M", "FSYM", "TSYM", "F", "ID"):
            check(isinstance(d.get(k), str), "trade %s not a string" % k)
        for k in ("TS",):
            check(isinstance(d.get(k), int), "trade %s not an int" % k)
        for k in ("Q", "P"):
            check(isinstance(d.get(k), (int, float)), "trade %s" % k)
    elif t in ("2", "5"):
        for k in ("MARKET", "FROMSYMBOL", "TOSYMBOL"):
            check(isinstance(d.get(k), str), "ticker %s" % k)
        check(isinstance(d.get("FLAGS"), int), "ticker FLAGS not a number")
        if "LASTUPDATE" in d:
            check(isinstance(d["LASTUPDATE"], int), "LASTUPDATE not int")
    elif t == "999":
        check(isinstance(d.get("TIMEMS"), int), "heartbeat TIMEMS")
    elif t == "20":
        for k in ("SERVER_TIME_MS", "CLIENT_ID", "SOCKETS_ACTIVE",
                  "SOCKETS_REMAINING", "SERVER_UPTIME_SECONDS"):
            check(isinstance(d.get(k), int), "welcome %s not int" % k)
        check(d.get("DATA_FORMAT") == "JSON", "welcome DATA_FORMAT")
        check(isinstance(d.get("SOCKET_ID"), str) and
              len(d["SOCKET_ID"]) == 20, "welcome SOCKET_ID")
    check("null" not in outside, "a null value: %s" % raw[:80])
    return d


def sub_of(d):
    t = d["TYPE"]
    if t == "0":
        return "0~%s~%s~%s" % (d["M"], d["FSYM"], d["TSYM"])
    if t in ("2", "5"):
        return "%s~%s~%s~%s" % (t, d["MARKET"], d["FROMSYMBOL"], d["TOSYMBOL"])
    return None


async def recv(ws, timeout=TIMEOUT):
    return frame_ok(await asyncio.wait_for(ws.recv(), timeout))


async def until(ws, pred, what, limit=20000, timeout=TIMEOUT):
    """Frames until pred(d) is true; returns (d, the frames before)."""
    seen = []
    for _ in range(limit):
        d = await recv(ws, timeout)
        if pred(d):
            return d, seen
        seen.append(d)
    raise Fail("never got " + what)


async def ctl(ws):
    """The next frame that is not a heartbeat."""
    d, _ = await until(ws, lambda d: d["TYPE"] != "999", "a reply")
    return d


async def welcome(ws):
    d = await recv(ws)
    check(d["TYPE"] == "20" and d["MESSAGE"] == "STREAMERWELCOME",
          "first frame not TYPE 20: %r" % d)
    return d


async def sub_add(ws, subs):
    await ws.send(json.dumps({"action": "SubAdd", "subs": subs}))


# ---- scenarios ---------------------------------------------------------


async def s_protocol(port):
    # no key: TYPE 401, then the socket closes
    async with connect(url(port, key=None)) as ws:
        d = await recv(ws)
        check(d["TYPE"] == "401" and d["MESSAGE"] == "UNAUTHORIZED" and
              d.get("PARAMETER") == "format", "no key: %r" % d)
        try:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
            raise Fail("no key: the socket stayed open")
        except websockets.ConnectionClosed:
            pass
    # the key in the Authorization header
    async with connect(
            url(port, key=None),
            extra_headers={"Authorization": "Apikey " + KEY}) as ws:
        await welcome(ws)
    async with connect(url(port)) as ws:
        w = await welcome(ws)
        now_ms = time.time() * 1000
        check(abs(w["SERVER_TIME_MS"] - now_ms) < 86400e3 + 60e3,
              "SERVER_TIME_MS not re-based near now: %d" % w["SERVER_TIME_MS"])
        # malformed requests
        await ws.send("this is not json")
        d = await ctl(ws)
        check(d["TYPE"] == "500" and d["MESSAGE"] == "INVALID_JSON",
              "not JSON: %r" % d)
        await ws.send(json.dumps({"action": "Subscribe", "subs": [BTC_AGG]}))
        d = await ctl(ws)
        check(d["TYPE"] == "500" and d["MESSAGE"] == "INVALID_PARAMETER" and
              d.get("PARAMETER") == "action", "bad action: %r" % d)
        await ws.send(json.dumps({"action": "SubAdd", "subs": BTC_AGG}))
        d = await ctl(ws)
        check(d["MESSAGE"] == "INVALID_PARAMETER" and
              d.get("PARAMETER") == "subs", "subs not an array: %r" % d)
        # a message in fragments is one message; one too large is refused
        await ws.send(iter(['{"action":"SubRemove",', '"subs":["x"]}']))
        d = await ctl(ws)
        check(d["MESSAGE"] == "SUBSCRIPTION_UNRECOGNIZED" and
              d["PARAMETER"] == "x", "fragmented message: %r" % d)
        d = await ctl(ws)
        check(d["TYPE"] == "18", "fragmented message: its 18: %r" % d)
        await ws.send('{"action":"SubAdd","subs":["' + "x" * 1100000 +
                      '"]}')
        d = await ctl(ws)
        check(d["MESSAGE"] == "INVALID_JSON", "1.1 MB message: %r" % d)
        # hostile requests: nesting past any limit, a binary frame, bytes
        # that are not UTF-8; each answered, the socket goes on
        for bad in ('{"action":' + "[" * 5000 + "]" * 5000 + "}",
                    b"\x00\xff\xfe binary",
                    '{"action":"SubAdd","subs":["\udc80"]}'.encode(
                        "utf-8", "surrogatepass")):
            await ws.send(bad)
            d = await ctl(ws)
            check(d["TYPE"] == "500", "hostile request: %r" % d)
            if d["MESSAGE"] != "INVALID_JSON":
                d2, _ = await until(ws, lambda d: d["TYPE"] == "3", "TYPE 3")
        # a batch: valid, invalid, a market in another case
        batch = [BTC_AGG, BTC_TRADES, "5~CCCAGG~FOO~USD", "0~coinbase~ETH~USD"]
        await sub_add(ws, batch)
        got = []
        while True:
            d = await ctl(ws)
            got.append(d)
            if d["TYPE"] == "3":
                break
        check(got[-1]["MESSAGE"] == "LOADCOMPLETE", "TYPE 3 MESSAGE")
        done = [d["SUB"] for d in got if d["TYPE"] == "16"]
        check(done == [BTC_AGG, BTC_TRADES, ETH_TRADES],
              "TYPE 16s in order with canonical names: %r" % done)
        errs = [d for d in got if d["TYPE"] == "500"]
        check(len(errs) == 1 and errs[0]["MESSAGE"] == "INVALID_SUB" and
              errs[0]["PARAMETER"] == "5~CCCAGG~FOO~USD", "INVALID_SUB: %r"
              % errs)
        # each sub's payload comes before its 16: the snapshot, the trades
        i16 = [i for i, d in enumerate(got) if d["TYPE"] == "16"]
        snap = got[:i16[0]]
        check(len(snap) == 1 and snap[0]["TYPE"] == "5" and
              "PRICE" in snap[0] and "VOLUMEDAY" in snap[0],
              "the CCCAGG snapshot before its 16: %r" % snap)
        trades = got[i16[0] + 1:i16[1]]
        check(1 <= len(trades) <= 20 and
              all(sub_of(d) == BTC_TRADES for d in trades),
              "up to 20 replayed trades before the 16: %d" % len(trades))
        ts = [(d["TS"], d.get("TSNS", 0)) for d in trades]
        check(ts == sorted(ts) or len(ts) < 3 or
              sum(a > b for a, b in zip(ts, ts[1:])) <= 2,
              "replayed trades oldest first")
        # duplicates and removals
        await sub_add(ws, [BTC_AGG])
        d, before = await until(ws, lambda d: d["TYPE"] == "500",
                                "SUBSCRIPTION_ALREADY_ACTIVE")
        check(d["MESSAGE"] == "SUBSCRIPTION_ALREADY_ACTIVE" and
              d["PARAMETER"] == BTC_AGG, "duplicate: %r" % d)
        d, _ = await until(ws, lambda d: d["TYPE"] == "3", "TYPE 3")
        await ws.send(json.dumps({"action": "SubRemove",
                                  "subs": [BTC_TRADES, LTC_AGG]}))
        d, _ = await until(ws, lambda d: d["TYPE"] == "17", "TYPE 17")
        check(d["SUB"] == BTC_TRADES, "17 names the sub: %r" % d)
        d, _ = await until(ws, lambda d: d["TYPE"] == "500",
                           "SUBSCRIPTION_UNRECOGNIZED")
        check(d["MESSAGE"] == "SUBSCRIPTION_UNRECOGNIZED" and
              d["PARAMETER"] == LTC_AGG, "unknown removal: %r" % d)
        d, _ = await until(ws, lambda d: d["TYPE"] == "18", "TYPE 18")
        check(d["INFO_OBJ"] == {"valid": 1, "invalid": 1}, "18: %r" % d)
        # from here on: only what is subscribed, heartbeats, and a pong
        pong = await ws.ping()
        await asyncio.wait_for(pong, TIMEOUT)
        kinds, beats = {}, []
        t_end = time.time() + 2.6
        while time.time() < t_end:
            d = await recv(ws)
            s = sub_of(d)
            if s is not None:
                check(s in (BTC_AGG, ETH_TRADES), "unsubscribed data: %s" % s)
                kinds[s] = kinds.get(s, 0) + 1
            elif d["TYPE"] == "999":
                beats.append(d["TIMEMS"])
            else:
                raise Fail("unexpected frame: %r" % d)
        check(kinds.get(BTC_AGG, 0) > 0 and kinds.get(ETH_TRADES, 0) > 0,
              "live data of both subscriptions: %r" % kinds)
        check(len(beats) >= 2, "heartbeats: %r" % beats)
        gaps = [b - a for a, b in zip(beats, beats[1:])]
        check(all(900 <= g <= 1100 for g in gaps), "heartbeat TIMEMS steps "
              "(1 s of source time): %r" % gaps)


async def s_fanout(port):
    async with connect(url(port, KEY + "a")) as a, \
            connect(url(port, KEY + "b")) as b:
        await welcome(a)
        await welcome(b)
        await sub_add(a, [BTC_TRADES])
        await sub_add(b, [ETH_AGG])
        got = {BTC_TRADES: 0, ETH_AGG: 0}

        async def read(ws, mine):
            end = time.time() + 1.5
            while time.time() < end:
                d = await recv(ws)
                s = sub_of(d)
                if s is not None:
                    check(s == mine, "%s got %s" % (mine, s))
                    got[mine] += 1
        await asyncio.gather(read(a, BTC_TRADES), read(b, ETH_AGG))
        check(got[BTC_TRADES] > 0 and got[ETH_AGG] > 0, "both got data: %r"
              % got)


async def first_frames(port, n, subs):
    async with connect(url(port)) as ws:
        w = await welcome(ws)
        await sub_add(ws, subs)
        out = []
        while len(out) < n:
            d = await recv(ws)
            if d["TYPE"] in ("0", "5", "999"):
                out.append(d)
        return w, out


async def s_rebase(port_plain, port_rebased):
    """The same source with and without re-basing, as fast as the client
    reads: every frame equal but its times, all shifted by the same whole
    number of days; the nanosecond parts unchanged."""
    subs = [BTC_TRADES, BTC_AGG]
    w0, f0 = await first_frames(port_plain, 400, subs)
    w1, f1 = await first_frames(port_rebased, 400, subs)
    shift = None
    for a, b in zip(f0, f1):
        check(a["TYPE"] == b["TYPE"], "same frames in the same order")
        for k in ("TS", "RTS", "LASTUPDATE"):
            if k in a:
                d = b[k] - a[k]
                shift = d if shift is None else shift
                check(d == shift, "%s shifted by %d, others by %d" %
                      (k, d, shift))
        if "TIMEMS" in a:
            check(b["TIMEMS"] - a["TIMEMS"] == shift * 1000,
                  "TIMEMS shifted with the rest")
        for k in a:
            if k not in ("TS", "RTS", "LASTUPDATE", "TIMEMS"):
                check(a[k] == b[k], "%s changed by re-basing" % k)
    check(shift is not None and shift > 0 and shift % 86400 == 0,
          "a whole number of days: %r" % shift)
    check(w1["SERVER_TIME_MS"] - w0["SERVER_TIME_MS"] == shift * 1000,
          "SERVER_TIME_MS shifted with the rest")
    newest = max(d.get("TS", 0) for d in f1)
    check(time.time() - 86400 - 120 <= newest <= time.time() + 120,
          "re-based times within a day of now: %d" % newest)


async def s_fault(port, kind):
    """Faults as the client sees them (the server runs --speed max with the
    fault at 2 s of source time)."""
    async with connect(url(port)) as ws:
        await welcome(ws)
        await sub_add(ws, [BTC_TRADES, BTC_AGG])
        n = 0
        try:
            while True:
                raw = await asyncio.wait_for(ws.recv(), TIMEOUT)
                n += 1
                try:
                    d = json.loads(raw)
                except ValueError:
                    if kind in ("malformed", "truncated"):
                        print("%s frame after %d frames" % (kind, n))
                        return
                    raise Fail("a frame that is not JSON: %r" % raw[:80])
                if kind == "force-disconnect" and d.get("TYPE") == "500":
                    check(d["MESSAGE"] == "FORCE_DISCONNECT", "%r" % d)
                    await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
                    check(ws.close_code == 1000, "close after "
                          "FORCE_DISCONNECT: %r" % ws.close_code)
                    return
        except websockets.ConnectionClosed:
            code = ws.close_code
            if kind == "drop":
                check(code == 1006, "drop: close code %r (want 1006, no "
                      "close frame)" % code)
            elif kind == "close":
                check(code == 4001, "close: code %r (want 4001)" % code)
            else:
                raise Fail("%s: closed with %r" % (kind, code))
            check(n > 20, "data before the fault: %d frames" % n)
            return
        except asyncio.TimeoutError:
            raise Fail("%s: nothing happened" % kind)


async def s_window(port, kind):
    """A window fault at 5 s of source time (the server runs --speed max
    --heartbeat 5s): stall, nothing at all for 100 s; gap, no data for 60 s
    but heartbeats; heartbeat-stall, no heartbeat for 100 s but data."""
    async with connect(url(port)) as ws:
        await welcome(ws)
        await sub_add(ws, [BTC_TRADES, BTC_AGG])
        data, beats, events = [], [], []
        while len(data) < 1500:
            d = await recv(ws)
            if d["TYPE"] == "0":
                t = d["TS"] + d.get("TSNS", 0) / 1e9
            elif d["TYPE"] == "5" and "LASTUPDATE" in d:
                t = d["LASTUPDATE"]
            elif d["TYPE"] == "999":
                beats.append(d["TIMEMS"] / 1e3)
                events.append(("hb", d["TIMEMS"] / 1e3))
                continue
            else:
                continue
            data.append(t)
            events.append(("data", t))
    dgap = max((b - a, a, b) for a, b in zip(data, data[1:]))
    bgap = max((b - a, a, b) for a, b in zip(beats, beats[1:]))
    inside = [t for k, t in events if k == "hb" and dgap[1] < t < dgap[2]]
    if kind == "stall":
        check(dgap[0] >= 95, "stall: largest data gap %.1f s" % dgap[0])
        early = [t for t in inside if dgap[1] + 6 < t < dgap[2] - 6]
        check(not early, "stall: heartbeats inside it: %r" % early)
        check(bgap[0] >= 95, "stall: largest heartbeat gap %.1f" % bgap[0])
    elif kind == "gap":
        check(dgap[0] >= 55, "gap: largest data gap %.1f s" % dgap[0])
        check(len(inside) >= 8, "gap: heartbeats go on (%d)" % len(inside))
        # what the stream missed, REST still has: a backfill finds it
        mid = int((dgap[1] + dgap[2]) / 2) // 60 * 60
        st, h, d = rest_json("http://127.0.0.1:%d" % port,
                             "/data/v2/histominute?fsym=BTC&tsym=USD&limit=1"
                             "&e=Coinbase&toTs=%d&api_key=%s" % (mid, KEY))
        bar = d["Data"]["Data"][-1]
        check(bar["time"] == mid and bar["volumefrom"] > 0,
              "gap: REST has the trades of the gap: %r" % bar)
    elif kind == "heartbeat-stall":
        check(bgap[0] >= 95, "heartbeat-stall: largest heartbeat gap %.1f s"
              % bgap[0])
        check(dgap[0] < 30, "heartbeat-stall: data goes on (gap %.1f s)"
              % dgap[0])
    print("%s: data gap %.1f s, heartbeat gap %.1f s" % (kind, dgap[0],
                                                          bgap[0]))


async def s_slow(port):
    """slow@5s:2s with --speed max: the frames of those 2 s of source time
    come one per 200 ms of real time; the rest as fast as they are read."""
    async with connect(url(port)) as ws:
        await welcome(ws)
        await sub_add(ws, [BTC_TRADES, BTC_AGG])
        got = []
        first = None
        while len(got) < 400:
            d = await recv(ws)
            if d["TYPE"] not in ("0", "5") or "LASTUPDATE" not in d and \
                    d["TYPE"] == "5":
                continue
            t = d["TS"] + d.get("TSNS", 0) / 1e9 if d["TYPE"] == "0" \
                else d["LASTUPDATE"]
            got.append((t, time.monotonic()))
            if first is None:
                first = t
    slow = [(b[1] - a[1]) for a, b in zip(got, got[1:])
            if first + 6 < b[0] < first + 6.9]
    fast = [(b[1] - a[1]) for a, b in zip(got, got[1:])
            if b[0] > first + 12]
    check(len(slow) >= 3 and min(slow) >= 0.15, "slow frames: %r" % slow)
    check(fast and sorted(fast)[len(fast) // 2] < 0.05,
          "fast again after the window")


async def s_refused(port):
    """too-many-sockets@0s: the first socket gets TYPE 429 and is closed;
    the next one is welcome."""
    async with connect(url(port)) as ws:
        d = await recv(ws)
        check(d["TYPE"] == "429" and
              d["MESSAGE"] == "TOO_MANY_SOCKETS_MAX_1_PER_CLIENT",
              "refused socket: %r" % d)
        try:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
            raise Fail("the refused socket stayed open")
        except websockets.ConnectionClosed:
            pass
    async with connect(url(port)) as ws:
        await welcome(ws)


async def s_loop(port):
    """--loop with a one-minute source, as fast as the client reads: the
    times go on across the end, by the source's length rounded up to a
    minute, and the trade ids are shifted so none repeats."""
    async with connect(url(port)) as ws:
        await welcome(ws)
        await sub_add(ws, [BTC_TRADES])
        trades = []
        while len(trades) < 2500:
            d = await recv(ws)
            if d["TYPE"] == "0":
                trades.append(d)
    ids = [int(d["ID"]) for d in trades]
    check(len(set(ids)) == len(ids), "a trade id repeats across loops")
    ts = [d["TS"] for d in trades]
    back = [(a, b) for a, b in zip(ts, ts[1:]) if b < a - 5]
    check(not back, "time went back across the loop: %r" % back[:3])
    check(ts[-1] - ts[0] > 180, "several loops played: %d s" %
          (ts[-1] - ts[0]))
    first = trades[0]
    again = [d for d in trades[1:] if d["P"] == first["P"] and
             d["Q"] == first["Q"] and d.get("TSNS") == first.get("TSNS")]
    check(again, "the first trade comes again")
    check((again[0]["TS"] - first["TS"]) % 60 == 0,
          "a loop is a whole number of minutes: %d" %
          (again[0]["TS"] - first["TS"]))


async def s_backpressure(port, pid):
    """A client that stops reading: serve writes only what the socket
    takes, so its memory stays flat; then the client reads on, in order."""
    def rss():
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0
    async with connect(url(port), max_queue=4,
                                  read_limit=2 ** 16) as ws:
        await welcome(ws)
        await sub_add(ws, [BTC_TRADES, BTC_AGG, ETH_TRADES, ETH_AGG])
        before = rss()
        await asyncio.sleep(3)   # not reading
        after = rss()
        check(after - before < 20000, "serve grew by %d KiB while the "
              "client did not read" % (after - before))
        last = None
        for _ in range(3000):
            d = await recv(ws)
            if d["TYPE"] == "0" and d["FSYM"] == "BTC":
                t = (d["TS"], d.get("TSNS", 0))
                last = t
        check(last is not None, "data after the pause")


async def s_sockets(port):
    """--one-socket-per-key: a second socket of the key gets TYPE 429 and
    is closed; another key is welcome."""
    async with connect(url(port)) as a:
        await welcome(a)
        async with connect(url(port)) as b:
            d = await recv(b)
            check(d["TYPE"] == "429" and
                  d["MESSAGE"] == "TOO_MANY_SOCKETS_MAX_1_PER_CLIENT",
                  "second socket: %r" % d)
            try:
                await asyncio.wait_for(b.recv(), TIMEOUT)
                raise Fail("the refused socket stayed open")
            except websockets.ConnectionClosed:
                pass
        async with connect(url(port, KEY + "x")) as c:
            await welcome(c)
    async with connect(url(port)) as a:
        await welcome(a)   # the first one closed: the key may open again


async def s_tls(port, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT  # RFC 5280 as Python 3.13
    async with connect(url(port, scheme="wss"), ssl=ctx) as ws:
        await welcome(ws)
        await sub_add(ws, [BTC_AGG])
        d, _ = await until(ws, lambda d: d["TYPE"] == "16", "TYPE 16")
    # curl over https with the printed CA, and refusing without it
    base = "https://localhost:%d/data/price?fsym=BTC&tsyms=USD" % port
    rc, st, h, body = curl(["--cacert", cafile, base])
    check(rc == 0 and st == 200, "https with the CA: curl %d, HTTP %d" %
          (rc, st))
    rc, st, h, body = curl([base.replace("localhost", "127.0.0.1"),
                            "--cacert", cafile])
    check(rc == 0 and st == 200, "https to 127.0.0.1: curl %d" % rc)
    rc, st, h, body = curl([base])
    check(rc == 60, "https without the CA: curl exit %d (want 60)" % rc)
    # a client that trusts only the system CAs must refuse it
    try:
        async with connect(url(port, scheme="wss"),
                                      ssl=ssl.create_default_context()):
            raise Fail("TLS accepted without the CA")
    except ssl.SSLCertVerificationError:
        pass


def curl(args, timeout=20):
    """Run the curl CLI; (exit status, HTTP status, headers, body)."""
    import subprocess
    p = subprocess.run(["curl", "-sS", "-i", "--max-time", "15"] + args,
                       capture_output=True, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        return p.returncode, 0, {}, ""
    head, _, body = out.partition("\r\n\r\n")
    lines = head.split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return 0, status, hdrs, body


def rest_json(base, path, extra=()):
    rc, status, hdrs, body = curl(list(extra) + [base + path])
    check(rc == 0, "curl %s: exit %d" % (path, rc))
    check(hdrs.get("content-type", "").startswith("application/json"),
          "%s: Content-Type %r" % (path, hdrs.get("content-type")))
    try:
        return status, hdrs, json.loads(body)
    except ValueError:
        raise Fail("%s: not JSON: %r" % (path, body[:200]))


async def s_rest(port, cafile=None):
    """The REST endpoints through the curl CLI (over TLS with the printed
    CA when cafile is given)."""
    if cafile:
        base = "https://localhost:%d" % port
        extra = ["--cacert", cafile]
        rc, _, _, _ = curl([base + "/data/price?fsym=BTC&tsyms=USD"])
        check(rc == 60, "TLS without the CA: curl exit %d (want 60)" % rc)
    else:
        base = "http://127.0.0.1:%d" % port
        extra = []
    k = "&api_key=" + KEY
    now = time.time()
    st, h, v2 = rest_json(base, "/data/v2/histominute?fsym=BTC&tsym=USD"
                          "&limit=10" + k, extra)
    check(st == 200 and v2.get("Response") == "Success", "v2: %r" %
          str(v2)[:200])
    bars = v2["Data"]["Data"]
    check(len(bars) == 11, "v2: limit+1 bars: %d" % len(bars))
    times = [b["time"] for b in bars]
    check(all(t % 60 == 0 for t in times) and
          all(b - a == 60 for a, b in zip(times, times[1:])),
          "v2: aligned, consecutive minutes")
    check(v2["Data"]["TimeFrom"] == times[0] and
          v2["Data"]["TimeTo"] == times[-1], "v2: TimeFrom/TimeTo")
    check(now - 86400 - 3600 <= times[-1] <= now + 120,
          "v2: re-based near now: %d" % times[-1])
    for b in bars:
        for f in ("high", "low", "open", "close", "volumefrom", "volumeto"):
            check(isinstance(b[f], (int, float)), "v2: bar %s" % f)
    st, h, v1 = rest_json(base, "/data/histominute?fsym=BTC&tsym=USD"
                          "&limit=5" + k, extra)
    check(v1.get("Response") == "Success" and
          v1.get("FirstValueInArray") is True and
          isinstance(v1.get("Data"), list) and len(v1["Data"]) == 6,
          "v1 shape: %r" % str(v1)[:200])
    st, h, pr = rest_json(base, "/data/price?fsym=BTC&tsyms=USD" + k, extra)
    check(isinstance(pr.get("USD"), (int, float)) and "Response" not in pr,
          "price: %r" % pr)
    st, h, pm = rest_json(base, "/data/pricemulti?fsyms=BTC,ETH&tsyms=USD"
                          + k, extra)
    check(isinstance(pm.get("BTC", {}).get("USD"), (int, float)) and
          isinstance(pm.get("ETH", {}).get("USD"), (int, float)),
          "pricemulti: %r" % pm)
    st, h, pf = rest_json(base, "/data/pricemultifull?fsyms=BTC&tsyms=USD" +
                          k, extra)
    raw = pf.get("RAW", {}).get("BTC", {}).get("USD", {})
    check(isinstance(raw.get("PRICE"), (int, float)) and
          isinstance(raw.get("FLAGS"), str) and raw.get("TYPE") == "5",
          "pricemultifull RAW: %r" % str(pf)[:200])
    # errors: the envelope, HTTP 200
    for path, param in (("/data/v2/histominute?tsym=USD", "fsym"),
                        ("/data/v2/histominute?fsym=BTC", "tsym"),
                        ("/data/price?fsym=NOPE9&tsyms=USD", "fsym")):
        st, h, e = rest_json(base, path + k, extra)
        check(st == 200 and e.get("Response") == "Error" and
              e.get("Message") and e.get("ParamWithError") == param,
              "%s: %r" % (path, e))
    st, h, e = rest_json(base, "/data/nothing-here?x=1" + k, extra)
    check(e.get("Response") == "Error" and "Path does not exist" in
          e.get("Message", ""), "unknown path: %r" % e)


async def s_rest_replay(port, bars_path):
    """histominute synthesised by serve (--no-rebase --speed max: the
    market at the source's end) equals the bars `ccstream replay` computes
    from the same capture: every 1-minute trade and CCCAGG bar, OHLC and
    volumes exactly (the same aggregator), each in its last revision from
    the stream (a backfill revision's values are REST's)."""
    want = {}
    with open(bars_path) as f:
        for line in f:
            b = json.loads(line)
            if b["interval_s"] != 60 or b["source"] not in ("trades",
                                                            "cccagg"):
                continue
            if b["close_reason"] in ("backfill", "flush"):
                continue   # values from REST; a partial bar at replay's end
            k = (b["market"], b["base"], b["quote"], b["start_ms"] // 1000)
            if k not in want or b["revision"] >= want[k]["revision"]:
                want[k] = b
    check(len(want) > 30, "replay made bars: %d" % len(want))
    series = {}
    for (m, base, quote, t), b in want.items():
        series.setdefault((m, base, quote), []).append(t)
    compared = 0
    for (m, base, quote), ts in sorted(series.items()):
        lo, hi = min(ts), max(ts)
        q = "/data/v2/histominute?fsym=%s&tsym=%s&limit=%d&toTs=%d" % (
            base, quote, (hi - lo) // 60, hi)
        if m != "CCCAGG":
            q += "&e=" + m
        st, h, d = rest_json("http://127.0.0.1:%d" % port,
                             q + "&api_key=" + KEY)
        check(d.get("Response") == "Success", "%s: %r" % (q, d))
        got = {x["time"]: x for x in d["Data"]["Data"]}
        for t in ts:
            b, x = want[(m, base, quote, t)], got.get(t)
            check(x is not None, "%s %s/%s %d: no bar" % (m, base, quote, t))
            for f1, f2 in (("open", "open"), ("high", "high"), ("low", "low"),
                           ("close", "close"), ("volume", "volumefrom"),
                           ("quote_volume", "volumeto")):
                if f1 not in b:
                    continue
                check(b[f1] == x[f2], "%s %s/%s %d %s: replay %r, serve %r"
                      % (m, base, quote, t, f1, b[f1], x[f2]))
            compared += 1
    print("%d bars equal" % compared)


async def s_rest_faults(port):
    """rest-error@0s:503, rest-delay@0s:2s, rest-rate-limit@0s and
    rest-drop@0s, each taken by the next request, in that order."""
    base = "http://127.0.0.1:%d/data/price?fsym=BTC&tsyms=USD&api_key=%s" % (
        port, KEY)
    rc, st, h, body = curl([base])
    check(rc == 0 and st == 503, "rest-error: %d %d" % (rc, st))
    t0 = time.monotonic()
    rc, st, h, body = curl([base])
    check(rc == 0 and time.monotonic() - t0 >= 1.9, "rest-delay: %.2f s" %
          (time.monotonic() - t0))
    rc, st, h, body = curl([base])
    check(rc == 0 and st == 200 and json.loads(body).get("Type") == 99,
          "rest-rate-limit: %r" % body[:200])
    rc, st, h, body = curl([base])
    check(rc == 52, "rest-drop: curl exit %d (want 52, empty reply)" % rc)
    rc, st, h, body = curl([base])
    check(rc == 0 and st == 200, "after the faults: %d %d" % (rc, st))


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    name, port, rest = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    scen = {
        "protocol": lambda: s_protocol(port),
        "fanout": lambda: s_fanout(port),
        "rebase": lambda: s_rebase(port, int(rest[0])),
        "fault": lambda: s_fault(port, rest[0]),
        "sockets": lambda: s_sockets(port),
        "window": lambda: s_window(port, rest[0]),
        "slow": lambda: s_slow(port),
        "refused": lambda: s_refused(port),
        "rest": lambda: s_rest(port, rest[0] if rest else None),
        "loop": lambda: s_loop(port),
        "backpressure": lambda: s_backpressure(port, int(rest[0])),
        "rest-faults": lambda: s_rest_faults(port),
        "rest-replay": lambda: s_rest_replay(port, rest[0]),
        "tls": lambda: s_tls(port, rest[0]),
    }
    if name not in scen:
        print("unknown scenario " + name, file=sys.stderr)
        return 2
    try:
        asyncio.run(asyncio.wait_for(scen[name](), 60))
    except Fail as e:
        print("FAIL: %s: %s" % (name, e), file=sys.stderr)
        return 1
    except (asyncio.TimeoutError, OSError, websockets.WebSocketException,
            ValueError, KeyError, IndexError, TypeError) as e:
        print("FAIL: %s: %s: %s" % (name, type(e).__name__, e),
              file=sys.stderr)
        return 1
    print("ok: " + name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
