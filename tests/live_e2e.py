#!/usr/bin/python3
"""live_e2e.py CCSTREAM BROKERS WORKDIR CASE...: `ccstream live` end to
end on loopback: `ccstream serve` (a synthetic session re-based to now)
-> `ccstream live` -> the real broker -> python3-confluent-kafka, a
consumer nobody here wrote.

  basic   live records the session (--record); the consumer receives
          exactly the bars `ccstream replay --strict` of the recording
          makes (as a multiset of JSON values), and the bars live wrote;
          the metrics endpoint, scraped mid-run, passes `promtool check
          metrics` and holds every metric the Grafana dashboard of
          docs/operations.md uses; the API key is in no file, log,
          record or process argument, literally, URL-encoded or base64
  gap     serve drops the connection mid-session: live reconnects, the
          gap is backfilled over REST and the consumer sees the bars it
          spanned again as revisions flagged backfilled; equal to the
          recording's strict replay as in basic
  kill    live is killed with SIGKILL mid-run and started again on its
          state file: no identity (series, start, revision) arrives with
          two different values, no minute of a series is missing
          between its first and last bar, the restart publishes every
          bar it makes and exits 0; with --exactly-once
          (kill-eos) a read_committed consumer sees each identity once
  shard   three instances (--shard 0/3, 1/3, 2/3) and one unsharded,
          each its own socket on one serve: no subscription twice, and
          the union of the shards' bars is exactly the unsharded run's

Every process is started here and stopped by its PID; every wait is
bounded. Prints one line per case; exits 1 at the first failure."""
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter

from confluent_kafka import Consumer

BIN, BROKERS, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
CASES = sys.argv[4:]
KEY = "ccs/e2e+key=0123456789abcdef"
RUN_ID = "%d" % (time.time_ns() % 10**9)
procs = []


def fail(msg):
    print("FAIL: %s" % msg, file=sys.stderr)
    raise SystemExit(1)


def stop_all():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(10)


def serve(name, *args):
    """serve SOURCE ... --port 0: (process, port)."""
    out = open(os.path.join(WORK, name + ".serve.out"), "w+")
    err = open(os.path.join(WORK, name + ".serve.err"), "w")
    # times re-based to the present minute (not the default whole day):
    # the server's clock is then ours, as CryptoCompare's is
    p = subprocess.Popen([BIN, "serve", *args, "--rebase-time=1m",
                          "--port", "0"], stdout=out,
                         stderr=err)
    procs.append(p)
    end = time.time() + 20
    while time.time() < end:
        out.seek(0)
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", out.read())
        if m:
            return p, int(m.group(1))
        if p.poll() is not None:
            fail("%s: serve exited %d" % (name, p.returncode))
        time.sleep(0.05)
    fail("%s: serve printed no port" % name)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def live(name, port, *args, env_extra=None):
    """ccstream live against serve's port, its stderr in NAME.err."""
    env = dict(os.environ)
    env["CRYPTOCOMPARE_API_KEY"] = KEY
    env.pop("CCSTREAM_API_KEY", None)
    if env_extra:
        env.update(env_extra)
    cmd = [BIN, "live", "--brokers", BROKERS,
           "--ws-url", "ws://127.0.0.1:%d/v2" % port,
           "--rest-url", "http://127.0.0.1:%d" % port,
           "--kafka-format", "json", "--status-every", "1s", *args]
    err = open(os.path.join(WORK, name + ".err"), "a")
    p = subprocess.Popen(cmd, stdout=err, stderr=err, env=env, cwd=WORK)
    procs.append(p)
    return p


def wait(p, name, limit=60):
    try:
        return p.wait(limit)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("%s: did not stop within %d s" % (name, limit))


def consume(prefix, want, limit=60, committed=False, settle=3.0):
    """Every record of the topics PREFIX.*: read until want records came
    (then settle s more, for any extra) or limit s; [(topic, value)]."""
    conf = {"bootstrap.servers": BROKERS,
            "group.id": "e2e-%s-%d" % (prefix, time.time_ns()),
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "topic.metadata.refresh.interval.ms": 1000}
    if committed:
        conf["isolation.level"] = "read_committed"
    c = Consumer(conf)
    c.subscribe(["^" + re.escape(prefix) + r"\..*"])
    got, end, quiet_until = [], time.time() + limit, None
    while time.time() < end:
        m = c.poll(0.3)
        if m is None or m.error():
            if quiet_until is not None and time.time() > quiet_until:
                break
            continue
        got.append((m.topic(), m.value().decode()))
        if len(got) >= want and quiet_until is None:
            quiet_until = time.time() + settle
    c.close()
    return got


def lines(path):
    with open(path) as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def strict_replay(name):
    """replay --strict of NAME.db: its bars; fails on a divergence."""
    r = subprocess.run([BIN, "replay", name + ".db", "--strict",
                        "--bars-out", name + ".rbars"], cwd=WORK,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=120)
    if r.returncode != 0:
        fail("%s: strict replay of the recording: exit %d: %s" %
             (name, r.returncode, r.stderr.decode()[-400:]))
    return lines(os.path.join(WORK, name + ".rbars"))


def same_multiset(name, got, want):
    g, w = Counter(got), Counter(want)
    if g != w:
        extra, missing = g - w, w - g
        fail("%s: the consumer's bars differ from the replay's: %d extra, "
             "%d missing; e.g. %s" % (name, sum(extra.values()),
                                      sum(missing.values()),
                                      (list(extra) + list(missing))[:1]))


def key_nowhere(name, extra_text=""):
    """The key in no file of WORK, nor in extra_text (a process's
    arguments), in any of its forms."""
    forms = {KEY.encode(), urllib.parse.quote(KEY, safe="").encode(),
             urllib.parse.quote_plus(KEY).encode(),
             base64.b64encode(KEY.encode()),
             base64.urlsafe_b64encode(KEY.encode())}
    for root, _, files in os.walk(WORK):
        for fn in files:
            with open(os.path.join(root, fn), "rb") as f:
                data = f.read()
            for form in forms:
                if form in data:
                    fail("%s: the API key (%s) is in %s" %
                         (name, form.decode(), fn))
    for form in forms:
        if form.decode() in extra_text:
            fail("%s: the API key is in the process's arguments" % name)


def dashboard_metrics():
    """The metric names the Grafana dashboard of docs/operations.md uses."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "docs", "operations.md")) as f:
        doc = f.read()
    blocks = [b for b in re.findall(r"```json\n(.*?)\n```", doc, re.S)
              if '"panels"' in b]
    if not blocks:
        fail("docs/operations.md has no dashboard (a ```json block)")
    dash = json.loads(blocks[0])
    names = set()
    for panel in dash.get("panels", []):
        for t in panel.get("targets", []):
            names.update(re.findall(r"ccstream_[a-z_]+", t.get("expr", "")))
    if len(names) < 10:
        fail("the dashboard uses only %d metrics" % len(names))
    return names


def scrape_check(name, port):
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                  timeout=5).read().decode()
    path = os.path.join(WORK, name + ".metrics")
    with open(path, "w") as f:
        f.write(body)
    r = subprocess.run(["promtool", "check", "metrics"], input=body.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    if r.returncode != 0:
        fail("%s: promtool check metrics: %s" % (name, r.stdout.decode()))
    present = set(re.findall(r"^(ccstream_[a-z_]+?)(?:_bucket|_sum|_count)?"
                             r"[{ ]", body, re.M))
    present |= set(re.findall(r"^(ccstream_[a-z_]+)[{ ]", body, re.M))
    # the REST budget's samples wait until the server has told it: its
    # family declared is enough
    if "# TYPE ccstream_rest_budget_remaining gauge" in body:
        present.add("ccstream_rest_budget_remaining")
    missing = sorted(n for n in dashboard_metrics() if n not in present and
                     re.sub(r"_(bucket|sum|count)$", "", n) not in present)
    if missing:
        fail("%s: the dashboard uses metrics a scrape lacks: %s" %
             (name, missing))
    frames = re.search(r'^ccstream_frames_total\{type="trade"\} (\d+)',
                       body, re.M)
    if not frames or int(frames.group(1)) == 0:
        fail("%s: no trade frames counted in the scrape" % name)
    return body


def check_config_cases():
    """--check-config: validates without connecting, prints no secret."""
    env = dict(os.environ, CRYPTOCOMPARE_API_KEY=KEY)
    base = [BIN, "live", "--brokers", "127.0.0.1:1", "--check-config"]
    r = subprocess.run(base + ["-X", "sasl.password=hunter2-secret",
                               "-X", "security.protocol=SASL_PLAINTEXT",
                               "-X", "sasl.mechanisms=PLAIN"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, cwd=WORK, timeout=30)
    out = (r.stdout + r.stderr).decode()
    if r.returncode != 0 or "hunter2" in out or KEY in out or \
            "#   5~CCCAGG~BTC~USD" not in out or \
            "kafka-property = sasl.password=" \
            "(hidden)" not in out:
        fail("--check-config with a password: exit %d: %s" %
             (r.returncode, out[-300:]))
    # flags are part of the effective configuration, as a file says them
    r = subprocess.run(base + ["--ohlc", "--stop-flush", "--max-message",
                               "65536"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, cwd=WORK, timeout=30)
    out = r.stdout.decode()
    for line in ("ohlc = true", "stop-flush = true", "max-message = 65536"):
        if r.returncode != 0 or ("\n" + line + "\n") not in out:
            fail("--check-config: %r not in: %s" % (line, out[-600:]))
    for bad in (["--ws-url", "ws://127.0.0.1:1/v2?api_key=" + KEY],
                ["-X", "no.such.property=1"], ["--shard", "3/3"],
                ["--intervals", "7x"]):
        r = subprocess.run(base + bad, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, cwd=WORK,
                           timeout=30)
        out = (r.stdout + r.stderr).decode()
        if r.returncode != 2 or KEY in out:
            fail("--check-config %s: exit %d (want 2): %s" %
                 (bad, r.returncode, out[-300:]))


def case_basic():
    name = "basic"
    check_config_cases()
    sp, port = serve(name, "synth:minutes=3,seed=7", "--speed", "max",
                     "--max-time", "60s")
    mport = free_port()
    p = live(name, port, "--duration", "6s", "--record", name + ".db",
             "--state", name + ".state", "--bars-out", name + ".bars",
             "--topic", "e2e%s-basic.{market}.{interval}" % RUN_ID,
             "--metrics-listen", "127.0.0.1:%d" % mport,
             "--log-format", "json")
    time.sleep(2.5)
    try:
        with open("/proc/%d/cmdline" % p.pid, "rb") as f:
            argv = f.read().replace(b"\0", b" ").decode()
    except OSError:
        argv = ""
    scrape_check(name, mport)
    rc = wait(p, name)
    if rc != 0:
        fail("%s: live exited %d (see %s/%s.err)" % (name, rc, WORK, name))
    sp.send_signal(signal.SIGTERM)
    sp.wait(10)
    want = strict_replay(name)
    mine = lines(os.path.join(WORK, name + ".bars"))
    if Counter(mine) != Counter(want):
        fail("%s: the bars live made differ from the strict replay's" % name)
    got = consume("e2e%s-basic" % RUN_ID, len(want))
    same_multiset(name, [v for _, v in got], want)
    for line in lines(os.path.join(WORK, name + ".err")):
        json.loads(line)  # --log-format json: every line an object
    key_nowhere(name, argv)
    print("ok basic: %d bars, consumer = strict replay of the recording; "
          "metrics pass promtool; key nowhere" % len(want))


def case_gap():
    name = "gap"
    sp, port = serve(name, "synth:minutes=6,seed=11", "--speed", "12",
                     "--max-time", "60s", "--fault", "drop@150s")
    p = live(name, port, "--duration", "26s", "--record", name + ".db",
             "--backfill-settle", "5s",
             "--state", name + ".state", "--bars-out", name + ".bars",
             "--topic", "e2e%s-gap.{market}.{interval}" % RUN_ID,
             "--symbols", "BTC")
    rc = wait(p, name)
    sp.send_signal(signal.SIGTERM)
    sp.wait(10)
    if rc != 0:
        fail("%s: live exited %d (see %s/%s.err)" % (name, rc, WORK, name))
    want = strict_replay(name)
    got = consume("e2e%s-gap" % RUN_ID, len(want))
    same_multiset(name, [v for _, v in got], want)
    bf = [json.loads(v) for _, v in got
          if "backfilled" in json.loads(v)["flags"]]
    revised = [b for b in bf if b["revision"] > 0]
    if not revised:
        fail("%s: no backfilled revision reached the consumer (%d bars)" %
             (name, len(got)))
    print("ok gap: %d bars, %d backfilled revisions after the reconnect" %
          (len(got), len(revised)))


def identity(b):
    return (b["market"], b["base"], b["quote"], b["interval_s"], b["source"],
            b["start_ms"], b["revision"])


def case_kill(eos):
    name = "kill-eos" if eos else "kill"
    extra = ["--exactly-once"] if eos else []
    prefix = "e2e%s-%s" % (RUN_ID, name)
    sp, port = serve(name, "synth:minutes=30,seed=5", "--speed", "30",
                     "--max-time", "90s")
    common = ["--state", name + ".state", "--symbols", "BTC",
              "--backfill-settle", "2s",
              "--topic", prefix + ".{market}.{interval}", *extra]
    p = live(name, port, *common, "--bars-out", name + ".1.bars")
    time.sleep(9)
    p.send_signal(signal.SIGKILL)
    p.wait(10)
    time.sleep(1)
    p = live(name, port, *common, "--duration", "12s", "--bars-out",
             name + ".2.bars")
    rc = wait(p, name)
    sp.send_signal(signal.SIGTERM)
    sp.wait(10)
    if rc != 0:
        fail("%s: the restarted live exited %d (see %s/%s.err)" %
             (name, rc, WORK, name))
    second = lines(os.path.join(WORK, name + ".2.bars"))
    got = consume(prefix, len(second), committed=eos)
    values = [v for _, v in got]
    seen = {}
    for v in values:
        k = identity(json.loads(v))
        if k in seen and seen[k] != v:
            fail("%s: %s arrived with two different values" % (name, k))
        seen[k] = v
    dups = len(values) - len(seen)
    if eos and dups:
        fail("%s: %d duplicates to a read_committed consumer" % (name, dups))
    missing = Counter(second) - Counter(values)
    if missing:
        fail("%s: %d bars of the restarted run never arrived" %
             (name, sum(missing.values())))
    starts = {}
    for v in values:
        b = json.loads(v)
        if b["interval_s"] == 60 and b["source"] != "rest":
            starts.setdefault((b["market"], b["source"]), set()).add(
                b["start_ms"])
    for s, st in starts.items():
        lo, hi = min(st), max(st)
        holes = [t for t in range(lo, hi, 60000) if t not in st]
        if holes:
            fail("%s: %s: %d minutes missing between its first and last "
                 "bar (first at %d)" % (name, s, len(holes), holes[0]))
    backfilled = sum(1 for v in values if "backfilled" in json.loads(v)["flags"])
    if backfilled == 0:
        fail("%s: the minutes lost while live was down were not backfilled"
             % name)
    print("ok %s: %d records, %d identities, %d duplicates (byte-identical), "
          "no minute missing, %d backfilled after the restart" %
          (name, len(values), len(seen), dups, backfilled))


def case_shard():
    name = "shard"
    # --speed max: every client reads the same session from its start
    sp, port = serve(name, "synth:minutes=3,seed=7", "--speed", "max",
                     "--max-time", "60s")
    runs = []
    for k, shard in enumerate(["0/3", "1/3", "2/3", None]):
        n = "shard%d" % k if shard else "shard-all"
        args = ["--duration", "6s", "--state", n + ".state", "--bars-out",
                n + ".bars", "--topic",
                "e2e%s-%s.{market}.{interval}" % (RUN_ID, n)]
        if shard:
            args += ["--shard", shard]
        cfg = subprocess.run([BIN, "live", "--brokers", BROKERS, *args,
                              "--check-config"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             timeout=30, cwd=WORK)
        if cfg.returncode != 0:
            fail("%s: --check-config %s: %s" % (name, shard,
                                                cfg.stderr.decode()))
        subs = re.findall(r"^#   (\S+)$", cfg.stdout.decode(), re.M)
        runs.append((n, shard, subs, live(n, port, *args)))
    for n, shard, subs, p in runs:
        if wait(p, n) != 0:
            fail("%s: live %s exited non-zero (see %s/%s.err)" %
                 (name, n, WORK, n))
    sp.send_signal(signal.SIGTERM)
    sp.wait(10)
    all_subs = Counter(s for _, shard, subs, _ in runs if shard for s in subs)
    unsharded = next(subs for _, shard, subs, _ in runs if shard is None)
    if max(all_subs.values()) > 1 or set(all_subs) != set(unsharded):
        fail("%s: the shards' subscriptions %s are not a partition of %s" %
             (name, dict(all_subs), unsharded))

    def live_bars(n):
        # the bars of the stream, whole, but for each series' first: did
        # the preflight's answer (REST) come before the stream's first
        # trade? That race decides its partial_start flag and open, so it
        # is compared by identity; the preflight's own REST bars are left
        # out (how many the server has depends on the moment each request
        # was made)
        out, first = [], set()
        for b in lines(os.path.join(WORK, n + ".bars")):
            j = json.loads(b)
            if j["source"] == "rest":
                continue
            series = identity(j)[:5]
            if series not in first:
                first.add(series)
                out.append(repr(identity(j)))
            else:
                out.append(b)
        return out
    union = Counter()
    for n, shard, _, _ in runs[:3]:
        union += Counter(live_bars(n))
    whole = Counter(live_bars("shard-all"))
    if union != whole:
        fail("%s: the shards' bars (%d) are not the unsharded run's (%d)" %
             (name, sum(union.values()), sum(whole.values())))
    got = consume("e2e%s-shard0" % RUN_ID,
                  len(lines(os.path.join(WORK, "shard0.bars"))))
    if Counter(v for _, v in got) != Counter(
            lines(os.path.join(WORK, "shard0.bars"))):
        fail("%s: shard 0's topics differ from its bars" % name)
    print("ok shard: %d subscriptions in 3 shards (%s), union of %d bars = "
          "the unsharded run's" % (len(unsharded),
                                   "/".join(str(len(r[2])) for r in runs[:3]),
                                   sum(whole.values())))


def main():
    try:
        for c in CASES:
            {"basic": case_basic, "gap": case_gap,
             "kill": lambda: case_kill(False),
             "kill-eos": lambda: case_kill(True),
             "shard": case_shard}[c]()
    finally:
        stop_all()


main()
