#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
"""Check that a perf report (perf/report.sh) is complete and renders.

usage: check_report.py DIR [--no-browser] [--chromium PATH]

Checks, each failure printed as "FAIL: ...":
- DIR/report.json parses; it has the run metadata; every harness of
  perf/meson.build's list ran (exit 0), and every harness that was not
  skipped has rows; every row has name, unit, value, verdict;
- every curve has at least two points;
- every plot of report.json exists as SVG and PNG, both non-empty (the PNG
  a valid PNG, the SVG an <svg> document), and index.html references both;
  every row with a sketch of enough samples, and every curve, has a plot;
- headless Chromium renders index.html: its DOM after load says every
  image decoded ("images loaded: N of N"), and its screenshot
  (DIR/screenshot.png, 1280x2000) is a PNG of that size with more than a
  few colours and a non-white share of at least 2%.

Exit status 0 if everything passed, 1 otherwise, 77 (skip) if Chromium
is missing and --no-browser was not given (the rest is still checked).
Standard library only.
"""

import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

REQUIRED_META = ("cpu_model", "cores", "tsc_hz", "kernel", "dpdk_version",
                 "hugepages", "pool_mb", "git_revision", "date")
CDF_MIN_SAMPLES = 20

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def harness_list(src):
    """The harnesses perf/meson.build builds."""
    with open(os.path.join(src, "perf", "meson.build")) as f:
        text = f.read()
    m = re.search(r"perf_harnesses\s*=\s*\[([^\]]*)\]", text)
    return re.findall(r"'([a-z0-9_]+)'", m.group(1)) if m else []


def png_decode(path):
    """(width, height, rows of RGB(A) byte strings) of an 8-bit PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos = 8
    idat = b""
    w = h = depth = ctype = None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif typ == b"IDAT":
            idat += body
        elif typ == b"IEND":
            break
        pos += 12 + n
    if depth != 8 or ctype not in (2, 6):
        raise ValueError("PNG depth %s colour type %s not handled"
                         % (depth, ctype))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows = []
    prev = bytearray(stride)
    i = 0
    for _ in range(h):
        ft = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 1:
                line[x] = (line[x] + a) & 0xff
            elif ft == 2:
                line[x] = (line[x] + b) & 0xff
            elif ft == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 0xff
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pr) & 0xff
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def check_screenshot(path, want_w, want_h):
    try:
        w, h, bpp, rows = png_decode(path)
    except (OSError, ValueError, zlib.error) as e:
        fail("screenshot %s: %s" % (path, e))
        return
    if (w, h) != (want_w, want_h):
        fail("screenshot is %dx%d, expected %dx%d" % (w, h, want_w, want_h))
    colours = set()
    nonwhite = 0
    total = 0
    for r in rows[::4]:
        for x in range(0, w * bpp, bpp * 4):
            px = r[x:x + 3]
            colours.add(px)
            total += 1
            if px != b"\xff\xff\xff":
                nonwhite += 1
    share = nonwhite / total if total else 0
    print("screenshot: %dx%d, %d colours sampled, %.1f%% not white"
          % (w, h, len(colours), 100 * share))
    if len(colours) < 16 or share < 0.02:
        fail("screenshot looks blank (%d colours, %.1f%% not white)"
             % (len(colours), 100 * share))


def browser(d, chromium):
    """Render index.html headless: DOM check and screenshot."""
    url = "file://" + os.path.abspath(os.path.join(d, "index.html"))
    shot = os.path.abspath(os.path.join(d, "screenshot.png"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync",
             "--hide-scrollbars"]
    with tempfile.TemporaryDirectory(prefix="mmrt-chromium-") as prof:
        r = subprocess.run([chromium] + flags + [
            "--user-data-dir=" + os.path.join(prof, "dom"),
            "--virtual-time-budget=10000", "--dump-dom", url],
            capture_output=True, text=True, timeout=120)
        m = re.search(r"images loaded: (\d+) of (\d+)", r.stdout)
        if r.returncode != 0 or m is None:
            fail("chromium --dump-dom of %s: exit %d, no image check in "
                 "the DOM (%s)" % (url, r.returncode,
                                   r.stderr.strip()[-300:]))
        else:
            print("page: images loaded: %s of %s" % m.groups())
            if m.group(1) != m.group(2) or m.group(2) == "0":
                fail("page: only %s of %s images decoded" % m.groups())
        if os.path.exists(shot):
            os.unlink(shot)
        r = subprocess.run([chromium] + flags + [
            "--user-data-dir=" + os.path.join(prof, "shot"),
            "--screenshot=" + shot, "--window-size=1280,2000", url],
            capture_output=True, text=True, timeout=120)
        if r.returncode != 0 or not os.path.exists(shot):
            fail("chromium --screenshot: exit %d (%s)"
                 % (r.returncode, r.stderr.strip()[-300:]))
            return
    check_screenshot(shot, 1280, 2000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--chromium", default=None)
    args = ap.parse_args()
    d = args.dir
    src = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

    try:
        with open(os.path.join(d, "report.json")) as f:
            rep = json.load(f)
    except (OSError, ValueError) as e:
        fail("report.json: %s" % e)
        return 1
    meta = rep.get("meta", {})
    for k in REQUIRED_META:
        if meta.get(k) is None:
            fail("meta.%s missing" % k)
    hs = rep.get("harnesses", {})
    expected = harness_list(src)
    if not expected:
        fail("no harness list in perf/meson.build")
    for h in expected:
        st = hs.get(h)
        if st is None:
            fail("harness %s missing from the report" % h)
            continue
        if st.get("exit") != 0:
            fail("harness %s exited %s" % (h, st.get("exit")))
        if not st.get("skipped") and st.get("rows", 0) == 0:
            fail("harness %s has no rows" % h)
    rows = rep.get("rows", [])
    for r in rows:
        for k in ("harness", "name", "unit", "value", "verdict"):
            if k not in r:
                fail("row %s: no %s" % (r.get("name"), k))
        if r.get("verdict") not in ("pass", "miss", "report"):
            fail("row %s: verdict %r" % (r.get("name"), r.get("verdict")))
    for c, cv in rep.get("curves", {}).items():
        if len(cv.get("points", [])) < 2:
            fail("curve %s has %d points" % (c, len(cv.get("points", []))))

    try:
        with open(os.path.join(d, "index.html")) as f:
            page = f.read()
    except OSError as e:
        fail("index.html: %s" % e)
        page = ""
    plots = rep.get("plots", [])
    bases = set()
    for p in plots:
        bases.add(p["base"])
        for ext in ("svg", "png"):
            path = os.path.join(d, p[ext])
            try:
                size = os.path.getsize(path)
            except OSError:
                fail("plot %s missing" % p[ext])
                continue
            if size == 0:
                fail("plot %s is empty" % p[ext])
                continue
            with open(path, "rb") as f:
                head = f.read(512)
            if ext == "png" and head[:8] != b"\x89PNG\r\n\x1a\n":
                fail("plot %s is not a PNG" % p[ext])
            if ext == "svg" and b"<svg" not in head:
                fail("plot %s is not an SVG" % p[ext])
            if ("'%s'" % p[ext]) not in page:
                fail("index.html does not reference %s" % p[ext])
    for r in rows:
        if (not r.get("curve") and r.get("sketch") and
                r.get("samples", 0) >= CDF_MIN_SAMPLES):
            b = "cdf-" + re.sub(r"[^A-Za-z0-9]+", "-",
                                r["harness"] + "-" + r["name"]).strip(
                                    "-").lower()
            if b not in bases:
                fail("row %s/%s has no CDF plot" % (r["harness"], r["name"]))
    for c in rep.get("curves", {}):
        b = "curve-" + re.sub(r"[^A-Za-z0-9]+", "-", c).strip("-").lower()
        if b not in bases:
            fail("curve %s has no plot" % c)
    print("report: %d harnesses, %d rows, %d curves, %d plots" % (
        len(hs), len(rows), len(rep.get("curves", {})), len(plots)))

    skip = False
    if not args.no_browser:
        chromium = args.chromium or shutil.which("chromium") or \
            shutil.which("chromium-browser")
        if chromium is None:
            print("SKIP: chromium not found (Debian: apt-get install "
                  "chromium): the page was not rendered")
            skip = True
        else:
            browser(d, chromium)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("report OK" + (" (page not rendered)" if skip else ""))
    return 77 if skip else 0


if __name__ == "__main__":
    sys.exit(main())
