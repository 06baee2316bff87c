#!/usr/bin/python3
"""capture_vs_source.py SOURCE.bars CAPTURE.bars SHIFT_S: the trade bars a
capture made live from `ccstream serve SOURCE` equal the bars `ccstream
replay` makes from SOURCE itself, once serve's re-basing (SHIFT_S whole
seconds, printed by serve) is undone: open, high, low, close, volumes,
trade count, first and last trade, for every bar closed by its timer in
both (the capture's run may end inside the source), except the source's
bars that span its own recorded disconnect or were revised after it (serve
plays the frames without that disconnect: live they are whole). Exit 0
with the count, or 1 naming the first difference."""
import json
import sys

FIELDS = ("open", "high", "low", "close", "volume", "quote_volume",
          "buy_volume", "sell_volume", "trades", "first_id", "last_id")


def load(path, shift_ms, skip_disturbed):
    bars, disturbed = {}, set()
    for line in open(path):
        if not line.strip():
            continue
        b = json.loads(line)
        if b["source"] != "trades":
            continue
        key = (b["market"], b["base"], b["quote"], b["interval"],
               b["start_ms"] - shift_ms)
        if b["revision"] > 0 or "spans_disconnect" in b.get("flags", []):
            disturbed.add(key)
        if b["close_reason"] == "timer" and b["revision"] == 0:
            bars[key] = b
    if skip_disturbed:
        for k in disturbed:
            bars.pop(k, None)
    return bars


def main():
    src = load(sys.argv[1], 0, True)
    cap = load(sys.argv[2], int(sys.argv[3]) * 1000, False)
    common = sorted(set(src) & set(cap))
    if len(common) < 3:
        print(f"capture_vs_source: only {len(common)} bars in common "
              f"(source {len(src)}, capture {len(cap)})")
        return 1
    for k in common:
        for f in FIELDS:
            if src[k].get(f) != cap[k].get(f):
                print(f"capture_vs_source: {k}: {f} {cap[k].get(f)} live, "
                      f"{src[k].get(f)} from the source")
                return 1
    print(f"capture_vs_source: {len(common)} bars equal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
