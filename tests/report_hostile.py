#!/usr/bin/python3
"""report_hostile.py < EXPORT.jsonl > EXPORT.jsonl: a capture's export
(`ccstream export`) with the first trade's ID made hostile for a page:
'<', '&', a quote and a control character (U+0001, as the JSON escape the
streamer may send), so that test_report can check the page stays well-
formed XML around a bar's record."""
import json
import sys

done = False
for line in sys.stdin:
    rec = json.loads(line)
    p = rec.get("payload")
    if not done and rec.get("kind") == "ws_text" and isinstance(p, str) \
            and '"TYPE":"0"' in p:
        frame = json.loads(p)
        frame["ID"] = "85<&\"\u0001x"
        rec["payload"] = json.dumps(frame, separators=(",", ":"))
        line = json.dumps(rec, separators=(",", ":")) + "\n"
        done = True
    sys.stdout.write(line)
if not done:
    sys.exit("report_hostile: no trade frame")
