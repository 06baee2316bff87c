#!/usr/bin/python3
"""report_check.py PAGE BARS.jsonl [--injected=N] [--conns=N] [SECRET...]:
checks a `ccstream report` page.

Well-formed HTML (python's html.parser, every tag closed in order), each
inline SVG well-formed XML; every section there; per series drawn, one
candle group per bar of the replay (BARS, its --bars-out), the same
(start_ms, revision) pairs, and each latest candle's tooltip holding its
open, high, low and close; one revision marker per bar with revision > 0;
the frames per TYPE adding up to the summary's frames; one connection
drawn per connection counted; nothing that a browser would fetch (no src=,
no href= other than #anchors, no url( in the style); no API key parameter
and none of the SECRETs; with --injected, N injected faults drawn on the
machines' timeline; with --conns, N connections drawn (counted elsewhere,
e.g. from the same run's trace). Exit 0, or 1 naming what is wrong."""
import html.parser
import json
import re
import sys
import xml.dom.minidom

VOID = {"meta", "br", "img", "input", "link", "hr"}


class Checker(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []
        self.errors = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "src" or (name == "href" and
                                 not (value or "").startswith("#")):
                self.errors.append(f"<{tag} {name}={value}> fetches")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()


def main():
    page = open(sys.argv[1], encoding="utf-8").read()
    bars = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
    c = Checker()
    c.feed(page)
    c.close()
    errors = list(c.errors)
    if c.stack:
        errors.append(f"unclosed: {c.stack}")
    svgs = re.findall(r"<svg\b.*?</svg>", page, re.S)
    for s in svgs:
        try:
            xml.dom.minidom.parseString(s)
        except Exception as e:  # noqa: BLE001
            errors.append(f"SVG not well-formed: {e}")
    candles = len(re.findall(r'<g class="bar[ "]', page))
    want = len(bars)
    if candles != want:
        errors.append(f"{candles} candle groups, {want} bars")
    for sec in ("summary", "capture", "machines", "frames", "liveness",
                "lag", "rest", "series"):
        if f'id="{sec}"' not in page:
            errors.append(f"no section {sec}")
    by_key = {}
    for b in bars:
        key = "%s:%s-%s:%s:%s" % (b["market"], b["base"], b["quote"],
                                  b["interval"], b["source"])
        by_key.setdefault(key, {})[(b["start_ms"], b["revision"])] = b
    charts = re.findall(r'<svg class="chart"[^>]*data-key="([^"]*)"(.*?)</svg>',
                        page, re.S)
    if not charts and bars:
        errors.append("no series chart")
    for key, body in charts:
        got = re.findall(r'<g class="bar([^"]*)" data-start="(-?\d+)" '
                         r'data-rev="(\d+)"><title>([^<]*)</title>', body)
        pairs = {(int(s), int(r)) for _, s, r, _ in got}
        want_pairs = set(by_key.get(key, {}))
        if pairs != want_pairs or len(got) != len(want_pairs):
            errors.append(f"{key}: {len(got)} candles, {len(want_pairs)} "
                          f"bars; missing {sorted(want_pairs - pairs)[:3]}, "
                          f"extra {sorted(pairs - want_pairs)[:3]}")
            continue
        for cls, st, rev, title in got:
            b = by_key[key][(int(st), int(rev))]
            if "revision %d," % b["revision"] not in title:
                errors.append(f"{key} {st}: tooltip without its revision")
            if "open" not in b or "superseded" in cls:
                continue
            m = re.search(r"open (\S+) high (\S+) low (\S+) close (\S+)",
                          title)
            if not m or [float(x) for x in m.groups()] != [
                    b["open"], b["high"], b["low"], b["close"]]:
                errors.append(f"{key} {st}: tooltip OHLC {m and m.groups()}"
                              f" is not the bar's")
    types = sum(int(n) for n in re.findall(
        r'<span class="k ty\d+">[^<]*: (\d+)</span>', page))
    m = re.search(r"<th>frames</th><td>(\d+)</td>", page)
    if not m or int(m.group(1)) != types:
        errors.append(f"frames by TYPE add up to {types}, the summary says "
                      f"{m and m.group(1)}")
    m = re.search(r"<th>connections</th><td>(\d+)</td>", page)
    conns = page.count('<g class="conn">')
    if not m or int(m.group(1)) != conns:
        errors.append(f"{conns} connections drawn, the summary says "
                      f"{m and m.group(1)}")
    for arg in sys.argv[3:]:
        if arg.startswith("--conns="):
            if conns != int(arg.split("=", 1)[1]):
                errors.append(f"{conns} connections drawn, {arg}")
            continue
        if arg.startswith("--injected="):
            tl = re.search(r'<svg class="timeline".*?</svg>', page, re.S)
            got = tl.group(0).count('class="inj"') if tl else 0
            if got != int(arg.split("=", 1)[1]):
                errors.append(f"{got} injected faults drawn, {arg}")
            continue
        secret = arg
        if secret in page:
            errors.append(f"the secret {secret[:4]}... is in the page")
    revs = len(re.findall(r'class="rev[ "]', page))
    want_revs = sum(1 for b in bars if b.get("revision", 0) > 0 and "open" in b)
    if revs != want_revs:
        errors.append(f"{revs} revision markers, {want_revs} revisions")
    if "url(" in page or re.search(r"api_?key=(?!\(redacted\))", page, re.I):
        errors.append("a url( or an API key parameter in the page")
    if len(svgs) < 2:
        errors.append(f"{len(svgs)} SVG charts")
    for e in errors:
        print("report_check:", e)
    if not errors:
        print(f"report_check: ok ({candles} candles, {revs} revisions, "
              f"{len(svgs)} charts)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
