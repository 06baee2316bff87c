#!/usr/bin/python3
"""kafka_consume.py BROKERS TOPIC N BARS.jsonl: read N records of TOPIC
from the beginning with python3-confluent-kafka (a client nobody here
wrote) and check each against the bars `ccstream replay --bars-out`
wrote: its JSON value is one of them, its headers say the same identity
(docs/bars.md, "On Kafka"), its key names its series, its timestamp is the
bar's end (or earlier for a bar flushed before its end). Prints "ok N";
exits 1 with the first difference, or if fewer than N come in 60 s."""
import json
import sys
import time

from confluent_kafka import Consumer

brokers, topic, want, bars_path = (sys.argv[1], sys.argv[2],
                                   int(sys.argv[3]), sys.argv[4])
with open(bars_path) as f:
    bars = {line.rstrip("\n") for line in f}
c = Consumer({"bootstrap.servers": brokers,
              "group.id": "ccstream-test-%d" % time.time_ns(),
              "auto.offset.reset": "earliest",
              "enable.auto.commit": False})
c.subscribe([topic])
got, end = 0, time.time() + 60


def fail(msg):
    print("FAIL: %s" % msg, file=sys.stderr)
    c.close()
    sys.exit(1)


while got < want and time.time() < end:
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        continue
    value = m.value().decode()
    if value not in bars:
        fail("a record that is not one of the bars: %s" % value[:200])
    b = json.loads(value)
    h = {k: v.decode() for k, v in (m.headers() or [])}
    want_h = {"ccs-schema": str(b["v"]), "start_ms": str(b["start_ms"]),
              "end_ms": str(b["end_ms"]), "revision": str(b["revision"]),
              "source": b["source"], "close_reason": b["close_reason"],
              "flags": ",".join(b["flags"]),
              "content-type": "application/json"}
    if h != want_h:
        fail("headers %r, want %r" % (h, want_h))
    key = "%s:%s-%s:%s:%s" % (b["market"], b["base"], b["quote"],
                              b["interval"], b["source"])
    if m.key().decode() != key:
        fail("key %r, want %r" % (m.key().decode(), key))
    ts = m.timestamp()[1]
    if not (ts == b["end_ms"] or
            (b["close_reason"] == "flush" and ts <= b["end_ms"])):
        fail("timestamp %d for a bar ending %d (%s)" % (ts, b["end_ms"],
                                                         b["close_reason"]))
    got += 1
c.close()
if got < want:
    fail("only %d of %d records in 60 s" % (got, want))
print("ok %d" % got)
