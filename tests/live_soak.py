#!/usr/bin/python3
"""live_soak.py CCSTREAM BROKERS WORKDIR [MINUTES]: `ccstream live` for
MINUTES (default 10) of wall time against `ccstream serve --loop` at 50
times real speed (a synthetic 30-minute session played again and again),
with one of serve's faults every minute (a dropped socket, server closes
1001 and 1011, FORCE_DISCONNECT, a heartbeat stall, a malformed and a
truncated frame, a REST error, a data gap), publishing to the broker at
least once.

Checked:
  - memory: the producer's RSS at minute 9 is at most its RSS at minute 2
    plus 5% (sampled from /proc every 5 s, the median of each minute);
  - every reconnect recovered: after each fault that ends the socket the
    connection is STREAMING again (the metrics' machine state, sampled
    every 5 s, is never anything else for more than 30 s), and at the end;
  - no bar lost: a consumer (python3-confluent-kafka) reads every bar live
    made (its --bars-out, a multiset) from the topics, and no minute of a
    series is missing between its first and last bar.
Every process is started here and stopped by its PID."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

BIN, BROKERS, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
MINUTES = int(sys.argv[4]) if len(sys.argv) > 4 else 10
SPEED = 50
PREFIX = "soak%d" % (time.time_ns() % 10**9)
procs = []


def fail(msg):
    print("FAIL: %s" % msg, file=sys.stderr)
    raise SystemExit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) if m else 0


def scrape(port):
    try:
        return urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                      timeout=5).read().decode()
    except OSError:
        return ""


def conn_state(body):
    m = re.search(r'^ccstream_machine_state\{machine="conn",state="([a-z_]+)"'
                  r'\} 1$', body, re.M)
    return m.group(1) if m else "?"


def main():
    # faults in source time: one a wall minute (SPEED source minutes)
    # (no stall: 90 s of silence in source time is under 2 s of ours at
    # 50x, far below the 75 s the core waits before it calls a socket
    # stale, so its frames would be lost unnoticed, as they would not be
    # in real time. No slow: its delayed frames put the socket minutes of
    # ours behind the shared clock, hours of the session at 50x, a gap no
    # real minute of faults makes)
    kinds = [("drop", ""), ("close", ":1001"), ("force-disconnect", ""),
             ("close", ":1011"), ("heartbeat-stall", ":120s"),
             ("malformed", ""), ("truncated", ""), ("rest-error", ":500"),
             ("gap", ":60s")]
    faults = os.path.join(WORK, "faults")
    with open(faults, "w") as f:
        for i in range(1, MINUTES):
            kind, arg = kinds[(i - 1) % len(kinds)]
            f.write("%s@%dm%s\n" % (kind, i * SPEED, arg))
    out = open(os.path.join(WORK, "serve.out"), "w+")
    serve = subprocess.Popen(
        [BIN, "serve", "synth:minutes=30,seed=3", "--speed", str(SPEED),
         "--loop", "--rebase-time=1m", "--faults", faults, "--port", "0",
         "--max-time", "%dm" % (MINUTES + 2)], stdout=out,
        stderr=open(os.path.join(WORK, "serve.err"), "w"))
    procs.append(serve)
    port = None
    for _ in range(200):
        out.seek(0)
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", out.read())
        if m:
            port = int(m.group(1))
            break
        time.sleep(0.1)
    if port is None:
        fail("serve printed no port")
    # the session runs 50 times faster than the broker's clock: its bars
    # are stamped hours ahead, which a topic refuses past an hour by
    # default (INVALID_TIMESTAMP, as a real one should): the topics are
    # made here, taking any time stamp
    admin = AdminClient({"bootstrap.servers": BROKERS})
    fs = admin.create_topics([
        NewTopic("%s.%s.1m" % (PREFIX, m), num_partitions=1,
                 replication_factor=1,
                 config={"message.timestamp.after.max.ms":
                         "9223372036854775807"})
        for m in ("CCCAGG", "Coinbase")])
    for f in fs.values():
        f.result(30)
    mport = free_port()
    env = dict(os.environ, CRYPTOCOMPARE_API_KEY="soak-key-0123456789")
    err = open(os.path.join(WORK, "live.err"), "w")
    live = subprocess.Popen(
        [BIN, "live", "--brokers", BROKERS, "--ws-url",
         "ws://127.0.0.1:%d/v2" % port, "--rest-url",
         "http://127.0.0.1:%d" % port, "--kafka-format", "json",
         "--topic", PREFIX + ".{market}.{interval}", "--no-create-topics",
         "--state", "soak.state",
         "--bars-out", "soak.bars", "--duration", "%dm" % MINUTES,
         "--backfill-settle", "3s", "--metrics-listen",
         "127.0.0.1:%d" % mport, "--status-every", "30s"],
        stdout=err, stderr=err, env=env, cwd=WORK)
    procs.append(live)
    t0 = time.time()
    rss = {}
    not_streaming_since = None
    last_state = "?"
    while live.poll() is None:
        time.sleep(5)
        if live.poll() is not None:
            break
        minute = int((time.time() - t0) // 60)
        rss.setdefault(minute, []).append(rss_kb(live.pid))
        st = conn_state(scrape(mport))
        if time.time() - t0 < MINUTES * 60 - 10:
            last_state = st  # before the stop at the end
        if st == "streaming":
            not_streaming_since = None
        elif not_streaming_since is None:
            not_streaming_since = time.time()
        elif time.time() - not_streaming_since > 30 and \
                time.time() - t0 < MINUTES * 60 - 10:
            fail("the connection has not been streaming for 30 s (%s) at "
                 "minute %d" % (st, minute))
    rc = live.wait()
    if last_state != "streaming":
        fail("the connection was %s at the end, not streaming" % last_state)
    serve.send_signal(signal.SIGTERM)
    serve.wait(15)
    if rc != 0:
        fail("live exited %d (see %s/live.err)" % (rc, WORK))
    with open(os.path.join(WORK, "soak.bars")) as f:
        bars = [l.rstrip("\n") for l in f if l.strip()]
    c = Consumer({"bootstrap.servers": BROKERS,
                  "group.id": "soak-%d" % time.time_ns(),
                  "auto.offset.reset": "earliest",
                  "enable.auto.commit": False,
                  "topic.metadata.refresh.interval.ms": 1000})
    c.subscribe(["^" + PREFIX + r"\..*"])
    got, end = [], time.time() + 120
    while len(got) < len(bars) and time.time() < end:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value().decode())
    c.close()
    missing = Counter(bars) - Counter(got)
    if missing:
        fail("%d of live's %d bars never reached the topics" %
             (sum(missing.values()), len(bars)))
    starts = {}
    for v in got:
        b = json.loads(v)
        if b["interval_s"] == 60 and b["source"] != "rest":
            starts.setdefault((b["market"], b["base"], b["source"]),
                              set()).add(b["start_ms"])
    holes = 0
    for st in starts.values():
        holes += sum(1 for t in range(min(st), max(st), 60000)
                     if t not in st)
    if holes:
        fail("%d minutes missing between the first and last bars" % holes)
    med = {m: sorted(v)[len(v) // 2] for m, v in rss.items() if v}
    print("RSS by minute (median kB): %s" %
          " ".join("%d:%d" % (m, med[m]) for m in sorted(med)))
    if 2 not in med or MINUTES - 1 not in med:
        fail("RSS not sampled at minutes 2 and %d: %s" % (MINUTES - 1, med))
    if med[MINUTES - 1] > med[2] * 1.05:
        fail("RSS grew: %d kB at minute 2, %d kB at minute %d (more than "
             "5%%)" % (med[2], med[MINUTES - 1], MINUTES - 1))
    with open(os.path.join(WORK, "live.err")) as f:
        summary = [l for l in f if l.startswith("live: ") and
                   "reconnects" in l]
    print("ok soak: %d minutes at %dx, %d faults, %d bars all in Kafka, no "
          "minute missing; RSS %d kB at minute 2, %d kB at minute %d; %s" %
          (MINUTES, SPEED, MINUTES - 1, len(bars), med[2],
           med[MINUTES - 1], MINUTES - 1,
           summary[-1].strip() if summary else ""))


try:
    main()
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(10)
