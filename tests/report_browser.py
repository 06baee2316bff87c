#!/usr/bin/python3
"""report_browser.py BIN CAPTURE.db [ARGS...]: `ccstream report` of the
capture (ARGS passed on, e.g. --inject) rendered by Debian's chromium,
headless. Fails when the browser logs any console message (the page has
no script: any message is an error), when the page asks for anything over
the network (chromium's net log: a request whose isolation key is the
page's file:// origin), or when the screenshot is blank (decoded here:
fewer than 8 colours, or under 2 % of it not white). make check runs it;
chromium runs as root, so with --no-sandbox. Exit 0, or 1 naming what is
wrong."""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
         "--hide-scrollbars", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--enable-logging=stderr", "--v=0",
         "--window-size=1000,2600"]


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB/RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6):
                raise ValueError(f"PNG depth {depth} colour type {ctype}")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def main():
    binary, capture, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
    chromium = shutil.which("chromium")
    if chromium is None:
        print("report_browser: chromium is not installed "
              "(scripts/deps.sh check installs it)")
        return 1
    tmp = tempfile.mkdtemp(prefix="report_browser.")
    errors = []
    try:
        page = os.path.join(tmp, "report.html")
        subprocess.run([binary, "report", capture, "--out", page] + extra,
                       check=True, timeout=120)
        shot = os.path.join(tmp, "shot.png")
        net = os.path.join(tmp, "net.json")
        r = subprocess.run([chromium] + FLAGS +
                           [f"--screenshot={shot}", f"--log-net-log={net}",
                            "file://" + page],
                           capture_output=True, text=True, timeout=180,
                           env=dict(os.environ, HOME=tmp))
        for line in r.stderr.splitlines():
            if ":CONSOLE" in line:
                errors.append("console: " + line.split("]", 1)[-1].strip())
        if not os.path.exists(shot):
            errors.append(f"no screenshot (chromium exit {r.returncode})")
        else:
            w, h, bpp, rows = png_pixels(shot)
            colours, ink = set(), 0
            for row in rows[::4]:
                for x in range(0, w * bpp, bpp * 4):
                    px = row[x:x + 3]
                    colours.add(px)
                    ink += px != b"\xff\xff\xff"
            total = len(rows[::4]) * len(range(0, w * bpp, bpp * 4))
            if len(colours) < 8 or ink < total * 0.02:
                errors.append(f"blank screenshot: {len(colours)} colours, "
                              f"{ink} of {total} samples not white")
        try:
            events = json.load(open(net)).get("events", [])
        except (OSError, ValueError):
            events = []
            errors.append("no net log")
        for e in events:
            p = e.get("params", {})
            url = p.get("url", "")
            if ("file://" in p.get("network_isolation_key", "") and
                    url and not url.startswith("file:")):
                errors.append("the page fetched " + url)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for e in errors:
        print("report_browser:", e)
    if not errors:
        print(f"report_browser: ok ({os.path.basename(capture)} "
              f"{' '.join(extra)})")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
