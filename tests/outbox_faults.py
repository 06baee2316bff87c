#!/usr/bin/python3
"""outbox_faults.py CCSTREAM BROKERS WORKDIR CAPTURE CASE...: the outbox's
guarantees (docs/delivery.md) under faults, on a real broker, read back by
python3-confluent-kafka (a client nobody here wrote).

CAPTURE is replayed as fast as possible (`replay --what-if --brokers
BROKERS --state S --kafka-format json`, with --exactly-once: a
transactional producer, read back by a read_committed consumer), its bars
into topics of their own per case, and a fault is made while thousands of
bars are in the air:

  crash:POINT:N   the producer kills itself (SIGKILL) the Nth time it
                  passes POINT (produce, ack, commit-before, commit-after,
                  txn-commit; CCSTREAM_CRASH_AT), then is started again
                  with --resume S
  kill:MS         kill -9 of the producer MS ms after it started, then
                  --resume S
  hang:S          the broker (private: --broker-dir DIR, tests/kafka/
                  broker.sh) stopped with SIGSTOP for S seconds mid-stream
  restart         the broker killed (SIGKILL) and started again on its
                  data directory and ports mid-stream
  drop:S          hang:S with --outbox-max 2000 --outbox-full drop: the
                  bars closing while the outbox is full are dropped,
                  counted and said, the run exits 1, and every other bar
                  arrives

Checked for each case:
  - the outbox held bars not yet acknowledged when the fault hit (its row
    count, read from the state file, is printed: "in the air");
  - every record read back is one of the bars, with the identity headers;
    two records of one identity (key, start_ms, revision) are byte for
    byte the same (at least once: duplicates are exact); exactly once,
    there are none;
  - after a producer crash: every bar the state file still held and every
    bar a replay resumed from a copy of it makes (virtual broker) was
    published, and every other record is a bar of one uninterrupted
    replay, byte for byte: nothing lost, nothing made twice differently;
  - after a broker fault: the records are exactly the uninterrupted
    replay's bars.
Prints one line per case; exits 1 at the first failure."""
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

from confluent_kafka import Consumer

CC, BROKERS, WORK, CAPTURE = sys.argv[1:5]
args = sys.argv[5:]
EXACTLY_ONCE = "--exactly-once" in args
if EXACTLY_ONCE:
    args.remove("--exactly-once")
broker_dir = None
if "--broker-dir" in args:
    i = args.index("--broker-dir")
    broker_dir = args[i + 1]
    args = args[:i] + args[i + 2:]
CASES = args
RUN_TIMEOUT = 180
# topics of their own for each run of this script, too
TOKEN = "%x" % (time.time_ns() // 1000000 % 0xffffffff)


def fail(msg):
    print("FAIL: %s" % msg, file=sys.stderr)
    sys.exit(1)


def replay(extra, env=None, check=True, timeout=RUN_TIMEOUT):
    cmd = [CC, "replay", CAPTURE, "--what-if"] + extra
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    err = p.stderr.decode(errors="replace")
    if check and p.returncode != 0:
        fail("%s: exit %d\n%s" % (" ".join(cmd), p.returncode, err[-3000:]))
    return p.returncode, err


def lines(path):
    with open(path, "rb") as f:
        return [l.rstrip(b"\n") for l in f if l.strip()]


def rows_in(state):
    """Bars in the outbox's batches not done (committed)."""
    db = sqlite3.connect("file:%s?mode=ro" % state, uri=True, timeout=10)
    try:
        return db.execute("SELECT coalesce(sum(n), 0) FROM outbox"
                          ).fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        db.close()


def records(blob):
    """The records of an outbox batch (docs/delivery.md, "The state
    file"): topic, key, value, headers, each after its length (2, 2, 4,
    2 bytes, little-endian), then the timestamp (8 bytes)."""
    out, at = [], 0
    while at < len(blob):
        fields = []
        for width in (2, 2, 4, 2):
            n = int.from_bytes(blob[at:at + width], "little")
            fields.append(bytes(blob[at + width:at + width + n]))
            at += width + n
        at += 8
        out.append(fields)
    return out


def pending_values(state):
    db = sqlite3.connect(state)
    v = []
    for n, data in db.execute("SELECT n, data FROM outbox ORDER BY first"):
        recs = records(data)
        if len(recs) != n:
            fail("%s: a batch of %d bars holds %d records" % (state, n,
                                                             len(recs)))
        v += [r[2] for r in recs]
    db.close()
    return v


def copy_state(src, dst):
    for ext in ("", "-wal", "-shm"):
        if os.path.exists(src + ext):
            shutil.copyfile(src + ext, dst + ext)


def consume(prefix, brokers):
    """Every record of the topics named prefix.*, until 3 s bring none;
    exactly once, only committed ones (isolation.level read_committed)."""
    conf = {"bootstrap.servers": brokers,
            "group.id": "ccstream-outbox-%d" % time.time_ns(),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "topic.metadata.refresh.interval.ms": 1000}
    if EXACTLY_ONCE:
        conf["isolation.level"] = "read_committed"
    c = Consumer(conf)
    c.subscribe(["^" + re.escape(prefix) + r"\..*"])
    out, quiet_since, end = [], time.time(), time.time() + 120
    while time.time() < end and time.time() - quiet_since < 3:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        quiet_since = time.time()
        out.append((m.key(), tuple(m.headers() or []), m.value()))
    c.close()
    return out


def check_records(recs, case):
    """Identity headers right; duplicates exact. The distinct values."""
    by_id, dups = {}, 0
    for key, hdrs, value in recs:
        b = json.loads(value)
        h = {k: v.decode() for k, v in hdrs}
        if h.get("start_ms") != str(b["start_ms"]) or \
                h.get("revision") != str(b["revision"]):
            fail("%s: headers %r do not name the bar %s" % (case, h,
                                                            value[:120]))
        ident = (key, b["start_ms"], b["revision"])
        if ident in by_id:
            dups += 1
            if by_id[ident] != (hdrs, value):
                fail("%s: two records of %r differ:\n%s\n%s" % (
                    case, ident, by_id[ident][1][:300], value[:300]))
        else:
            by_id[ident] = (hdrs, value)
    return {v for _, v in by_id.values()}, dups


U = None


def uninterrupted():
    global U
    if U is None:
        # with a state file, as the producer runs: its open bars at the
        # end stay open (kept for a next run), not flushed
        path = os.path.join(WORK, "uninterrupted.jsonl")
        replay(["--bars-out", path, "--quiet", "--state",
                os.path.join(WORK, "uninterrupted.state")])
        U = set(lines(path))
    return U


def crash_case(case, n):
    prefix = "ob%s%s-%d%s" % ("x" if EXACTLY_ONCE else "", TOKEN, n,
                             re.sub(r"[^a-z0-9]", "", case))
    state = os.path.join(WORK, prefix + ".state")
    ref = os.path.join(WORK, prefix + ".ref")
    common = ["--brokers", BROKERS, "--kafka-format", "json", "--topic",
              prefix + ".{market}.{interval}"] + \
        (["--exactly-once"] if EXACTLY_ONCE else []) + ["--state", state]
    env = dict(os.environ)
    kind = case.split(":")[0]
    cmd = [CC, "replay", CAPTURE, "--what-if"] + common
    if kind == "crash":
        env["CCSTREAM_CRASH_AT"] = case.split(":", 1)[1]
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
        rc = p.returncode
    else:
        ms = int(case.split(":")[1])
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        time.sleep(ms / 1000.0)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=RUN_TIMEOUT)
        rc = p.returncode
    killed = rc == -signal.SIGKILL
    if kind == "crash" and not killed:
        fail("%s: the producer was not killed (exit %d)" % (case, rc))
    in_air = rows_in(state) if os.path.exists(state) else 0
    if kind == "crash" and in_air == 0:
        fail("%s: the outbox was empty when the producer died" % case)
    pend = []
    r2 = set()
    if os.path.exists(state):
        copy_state(state, ref)
        pend = pending_values(ref)
        if killed:
            # what the restarted producer makes after the checkpoint
            rbars = os.path.join(WORK, prefix + ".resumed.jsonl")
            replay(["--resume", ref, "--bars-out", rbars, "--quiet"])
            r2 = set(lines(rbars))
        # the producer started again
        rc2, err = replay(common[:-2] + ["--resume", state]
                          if killed else common)
        if not re.search(r"\b0 left unacknowledged", err):
            fail("%s: the restarted producer left bars:\n%s" % (case,
                                                                err[-2000:]))
    recs = consume(prefix, BROKERS)
    got, dups = check_records(recs, case)
    u = uninterrupted()
    lost = (set(pend) | r2) - got
    if lost:
        fail("%s: %d bars never arrived, e.g. %s" % (case, len(lost),
                                                     sorted(lost)[0][:200]))
    strange = (got - r2) - u
    if strange:
        fail("%s: %d records are no bar of an uninterrupted replay, e.g. %s"
             % (case, len(strange), sorted(strange)[0][:200]))
    if EXACTLY_ONCE and dups:
        fail("%s: exactly once, but %d bars came twice to a read_committed "
             "consumer" % (case, dups))
    if not killed:
        if got != u:
            fail("%s: finished before the kill, but %d of %d bars arrived"
                 % (case, len(got & u), len(u)))
    print("%-24s %s; %5d in the air; %5d records, %5d bars (%d made after "
          "the restart), %d duplicates, all exact" % (
              case, "killed" if killed else "not killed (it ended first)",
              in_air, len(recs), len(got), len(r2), dups))
    return killed


def broker_pid():
    with open(os.path.join(broker_dir, "broker.pid")) as f:
        return int(f.read().split()[0])


def broker_sh(cmd):
    env = dict(os.environ, KAFKA_RUN_DIR=broker_dir)
    subprocess.run(["tests/kafka/broker.sh", cmd], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=120)


def broker_case(case, n):
    if broker_dir is None:
        fail("%s needs --broker-dir" % case)
    with open(os.path.join(broker_dir, "bootstrap")) as f:
        brokers = f.read().strip()
    prefix = "ob%s-%d%s" % (TOKEN, n, re.sub(r"[^a-z0-9]", "", case))
    state = os.path.join(WORK, prefix + ".state")
    cmd = [CC, "replay", CAPTURE, "--what-if", "--brokers", brokers,
           "--kafka-format", "json", "--topic",
           prefix + ".{market}.{interval}", "--state", state] + \
        (["--exactly-once"] if EXACTLY_ONCE else [])
    drop = case.startswith("drop")
    if drop:
        cmd += ["--outbox-max", "2000", "--outbox-full", "drop"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    # the fault when bars are in the outbox, before they are all sent
    end = time.time() + 60
    while time.time() < end and (not os.path.exists(state) or
                                 rows_in(state) < 1000):
        time.sleep(0.01)
    if case.startswith("hang") or drop:
        pid = broker_pid()
        secs = float(case.split(":")[1])
        os.kill(pid, signal.SIGSTOP)
        time.sleep(secs / 2)
        in_air = rows_in(state)
        time.sleep(secs / 2)
        os.kill(pid, signal.SIGCONT)
    else:
        broker_sh("crash")  # SIGKILL: no clean shutdown
        in_air = rows_in(state)
        time.sleep(2)
        broker_sh("restart")  # on its data, on the same ports
    try:
        _, err = p.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("%s: the producer did not end" % case)
    err = err.decode(errors="replace")
    dropped = 0
    if drop:
        m = re.search(r"(\d+) bars dropped at their closing", err)
        if p.returncode != 1 or m is None or int(m.group(1)) == 0:
            fail("%s: exit %d, want 1 with bars dropped\n%s" % (
                case, p.returncode, err[-3000:]))
        dropped = int(m.group(1))
    if (not drop and p.returncode != 0) or \
            not re.search(r"\b0 left unacknowledged", err):
        fail("%s: exit %d\n%s" % (case, p.returncode, err[-3000:]))
    if in_air == 0:
        fail("%s: the outbox was empty during the fault" % case)
    recs = consume(prefix, brokers)
    got, dups = check_records(recs, case)
    u = uninterrupted()
    if drop:
        if not got <= u or len(got) != len(u) - dropped:
            fail("%s: %d records, %d not bars of the uninterrupted replay; "
                 "want %d (%d bars less %d dropped)" % (
                     case, len(got), len(got - u), len(u) - dropped, len(u),
                     dropped))
        print("%-24s %5d in the air; %5d dropped, counted and said; every "
              "other bar arrived" % (case, in_air, dropped))
        return
    if got != u:
        fail("%s: %d bars missing, %d records not bars of the uninterrupted "
             "replay" % (case, len(u - got), len(got - u)))
    print("%-24s %5d in the air; %5d records, every bar of the "
          "uninterrupted replay, %d duplicates, all exact" % (
              case, in_air, len(recs), dups))


def main():
    os.makedirs(WORK, exist_ok=True)
    killed = 0
    for n, case in enumerate(CASES):
        if case.startswith("crash") or case.startswith("kill"):
            killed += crash_case(case, n)
        else:
            broker_case(case, n)
    kills = [c for c in CASES if c.startswith("kill")]
    if kills and killed < (len(kills) + 1) // 2 + sum(
            c.startswith("crash") for c in CASES):
        fail("most random kills came after the producer ended: "
             "nothing tested")
    print("ok %d cases" % len(CASES))


main()
