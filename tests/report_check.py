#!/usr/bin/python3
"""report_check.py PAGE BARS.jsonl: checks a `ccstream report` page.

Well-formed HTML (python's html.parser, every tag closed in order), each
inline SVG well-formed XML, one candle group per bar of the replay (BARS,
its --bars-out), one revision marker per bar with revision > 0, nothing
that a browser would fetch (no src=, no href= other than #anchors, no
url( in the style), and no API key parameter. Exit 0, or 1 naming what is
wrong."""
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
    want = sum(1 for b in bars if "open" in b)
    if candles != want:
        errors.append(f"{candles} candle groups, {want} bars")
    revs = len(re.findall(r'class="rev[ "]', page))
    want_revs = sum(1 for b in bars if b.get("revision", 0) > 0 and "open" in b)
    if revs != want_revs:
        errors.append(f"{revs} revision markers, {want_revs} revisions")
    if "url(" in page or re.search(r"api_?key=", page, re.I):
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
