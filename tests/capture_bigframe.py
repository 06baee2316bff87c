#!/usr/bin/python3
"""capture_bigframe.py < EXPORT.jsonl > EXPORT.jsonl: a capture's export
with its first CCCAGG update (TYPE 5) padded to over 200,000 bytes by a
field nobody reads, so that a server sends it in several WebSocket
fragments (libwebsockets hands a client 64 KB at a time)."""
import json
import sys

done = False
for line in sys.stdin:
    rec = json.loads(line)
    p = rec.get("payload")
    if not done and rec.get("kind") == "ws_text" and rec.get("dir") == "in" \
            and isinstance(p, str) and p.startswith('{"TYPE":"5"'):
        frame = json.loads(p)
        frame["PADDING"] = "x" * 200000
        rec["payload"] = json.dumps(frame, separators=(",", ":"))
        line = json.dumps(rec, separators=(",", ":")) + "\n"
        done = True
    sys.stdout.write(line)
if not done:
    sys.exit("capture_bigframe: no CCCAGG update")
