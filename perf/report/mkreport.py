#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
"""Make the perf report from the harnesses' JSON files (perf/report.sh).

Reads DIR/raw/NAME.json (each harness's --json array), DIR/logs/NAME.log
(its output: the header line gives TSC Hz, hugepages and pool size) and
DIR/harnesses.txt ("name exit-status seconds" per harness), and writes:

- DIR/report.json: {"meta": run metadata, "harnesses": per harness status,
  "rows": every row (the harness's fields plus "harness"), "curves": the
  scaling curves (points by x, with the ratio to the first point),
  "plots": every plot (files, title, description)};
- DIR/plots/*.svg and *.png, drawn with gnuplot: a latency CDF per row
  with a quantile sketch (mmrt over its anchor), and one plot per curve;
- DIR/index.html: metadata, the table of rows (ratio, target, verdict),
  the curves' tables and the plots.

Standard library only.
"""

import argparse
import datetime
import html
import json
import math
import os
import platform
import re
import subprocess
import sys

# Rows with fewer samples than this get no CDF (medians over a few rounds).
CDF_MIN_SAMPLES = 20


def sh(cmd, cwd=None):
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


BUILD_OPTIONS = ("buildtype", "optimization", "b_ndebug", "b_sanitize",
                 "test_hooks", "perf", "c_args")


def build_options(build):
    """The options of the build that made the harnesses (meson-info)."""
    try:
        with open(os.path.join(build, "meson-info",
                               "intro-buildoptions.json")) as f:
            opts = json.load(f)
    except (OSError, ValueError):
        return None
    return {o["name"]: o["value"] for o in opts
            if o["name"] in BUILD_OPTIONS}


def header_of(log):
    """The harness header line: tsc_hz, hugepages, pool_mb, mode."""
    hdr = {}
    try:
        with open(log, errors="replace") as f:
            for line in f:
                m = re.match(r"^(perf-[a-z]+): tsc_hz=(\d+) hugepages=(\w+) "
                             r"pool_mb=(\d+).* mode=(\w+)", line)
                if m:
                    hdr = {"tsc_hz": int(m.group(2)),
                           "hugepages": m.group(3) == "yes",
                           "pool_mb": int(m.group(4)),
                           "mode": m.group(5)}
                    break
    except OSError:
        pass
    return hdr


def skipped_in(log):
    try:
        with open(log, errors="replace") as f:
            for line in f:
                if re.search(r": skipped: ", line):
                    return line.strip()
    except OSError:
        pass
    return None


def slug(s):
    return re.sub(r"[^A-Za-z0-9]+", "-", s).strip("-").lower()


def fmt(v, prec=2):
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return "-"
    if isinstance(v, (int, float)):
        a = abs(v)
        if a != 0 and (a >= 1e6 or a < 10 ** -prec):
            return "%.3g" % v
        return "%.*f" % (prec, v)
    return str(v)


class Plots:
    def __init__(self, outdir):
        self.dir = os.path.abspath(outdir)
        self.data = os.path.join(self.dir, "plots")
        os.makedirs(self.data, exist_ok=True)
        self.list = []

    def draw(self, base, title, desc, kind, script_body, datafiles):
        """Run gnuplot twice (SVG, PNG) on the same body."""
        for name, text in datafiles.items():
            with open(os.path.join(self.data, name), "w") as f:
                f.write(text)
        files = {}
        for term, ext in (("svg size 900,520 dynamic background rgb 'white' "
                           "font 'sans,12'", "svg"),
                          ("pngcairo size 900,520 font 'sans,10'", "png")):
            out = "plots/%s.%s" % (base, ext)
            gp = os.path.join(self.data, "%s.%s.gp" % (base, ext))
            with open(gp, "w") as f:
                f.write("set terminal %s\n" % term)
                f.write("set output '%s'\n" % out)
                f.write(script_body)
                f.write("unset output\n")
            r = subprocess.run(["gnuplot", gp], cwd=self.dir,
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.stderr.write("gnuplot %s failed:\n%s\n" % (gp, r.stderr))
                raise SystemExit(1)
            files[ext] = out
        self.list.append({"base": base, "kind": kind, "title": title,
                          "description": desc, "svg": files["svg"],
                          "png": files["png"]})


def gp_str(s):
    return "'" + s.replace("'", "''").replace("_", "\\\\_") + "'"


def cdf_plot(plots, row):
    levels = row.get("sketch_levels")
    m = row.get("sketch")
    a = row.get("anchor_sketch")
    if not levels or not m or row.get("samples", 0) < CDF_MIN_SAMPLES:
        return
    base = "cdf-" + slug(row["harness"] + "-" + row["name"])
    text = "# level mmrt anchor\n"
    vals = []
    for i, p in enumerate(levels):
        av = a[i] if a else None
        text += "%g %s %s\n" % (p, m[i] if m[i] is not None else "NaN",
                                av if av is not None else "NaN")
        vals += [v for v in (m[i], av) if v is not None]
    pos = [v for v in vals if v > 0]
    logx = pos and len(pos) == len(vals) and max(pos) / min(pos) > 20
    title = "%s: %s over %s (CDF)" % (row["harness"], row["name"],
                                      row.get("anchor") or "-")
    body = "set title %s\n" % gp_str(title)
    body += "set xlabel %s\nset ylabel 'fraction of samples'\n" % gp_str(
        row["unit"])
    body += "set yrange [0:1]\nset grid\nset key bottom right\n"
    if logx:
        body += "set logscale x\n"
    dat = "plots/%s.dat" % base
    body += ("plot '%s' using 2:1 with steps lw 2 lc rgb '#1f77b4' "
             "title %s" % (dat, gp_str("mmrt " + row["name"])))
    if a:
        body += (", '' using 3:1 with steps lw 2 dt 2 lc rgb '#d62728' "
                 "title %s" % gp_str("anchor " + row["anchor"]))
    body += "\n"
    desc = ("Cumulative distribution of the %s samples of %s (%d samples, "
            "%s) against its anchor %s (%s samples), from a sketch of %d "
            "quantiles. Further left is faster; the gap between the curves "
            "at the top is the tail. p50 %s / %s, p99 %s / %s %s."
            % (row.get("unit"), row["name"], row.get("samples", 0),
               "solid blue", row.get("anchor") or "-",
               row.get("anchor_samples", 0), len(levels),
               fmt(row.get("p50")), fmt(row.get("anchor_p50")),
               fmt(row.get("p99")), fmt(row.get("anchor_p99")),
               row.get("unit")))
    plots.draw(base, title, desc, "cdf", body, {base + ".dat": text})


def curve_plot(plots, cname, curve):
    pts = curve["points"]
    base = "curve-" + slug(cname)
    has_p99 = curve["stat"] != "p99" and all(
        p.get("p99") is not None and
        p.get("samples", 0) >= CDF_MIN_SAMPLES for p in pts)
    has_anchor = any(p.get("anchor_value") for p in pts)
    text = "# x value anchor p99 anchor_p99\n"
    for p in pts:
        text += "%g %s %s %s %s\n" % (
            p["x"], p["value"] if p["value"] is not None else "NaN",
            p["anchor_value"] if p.get("anchor_value") else "NaN",
            p.get("p99") if p.get("p99") is not None else "NaN",
            p.get("anchor_p99") if p.get("anchor_p99") is not None else "NaN")
    dat = "plots/%s.dat" % base
    title = "%s: %s against %s" % (curve["harness"], cname, curve["x_unit"])
    body = "set title %s\n" % gp_str(title)
    body += "set xlabel %s\nset ylabel %s\n" % (gp_str(curve["x_unit"]),
                                               gp_str(curve["unit"]))
    body += "set grid\nset key top left\nset logscale x 2\n"
    body += "set yrange [0:*]\nset offsets graph 0.05, graph 0.05, 0, 0\n"
    series = ["'%s' using 1:2 with linespoints lw 2 pt 7 lc rgb '#1f77b4' "
              "title %s" % (dat, gp_str("mmrt (%s)" % curve["stat"]))]
    if has_anchor:
        series.append("'' using 1:3 with linespoints lw 2 pt 5 dt 2 "
                      "lc rgb '#d62728' title %s"
                      % gp_str("anchor %s" % curve["anchor"]))
    if has_p99:
        series.append("'' using 1:4 with linespoints lw 1 pt 6 "
                      "lc rgb '#1f77b4' title 'mmrt p99'")
        if has_anchor:
            series.append("'' using 1:5 with linespoints lw 1 pt 4 dt 2 "
                          "lc rgb '#d62728' title 'anchor p99'")
    body += "plot " + ", ".join(series) + "\n"
    first = pts[0]
    last = pts[-1]
    desc = ("%s of %s per point (blue, solid)%s%s, against %s from %g to "
            "%g; the last point is %s the first (%s)."
            % (curve["stat"], curve["unit"],
               ", its anchor %s (red, dashed)" % curve["anchor"]
               if has_anchor else "",
               " and both p99s (thin lines)" if has_p99 else "",
               curve["x_unit"], first["x"], last["x"],
               "x%s" % fmt(last.get("vs_first")), cname))
    plots.draw(base, title, desc, "curve", body, {base + ".dat": text})


# What a curve's value is (the harness's figure per point).
CURVE_STAT = {
    "inval-rt-consumers": "p50",
    "fault-throughput": "median wall time per fault (1/throughput)",
    "fault-p99": "p99",
    "unmap-per-page": "median over rounds",
    "teardown-per-page": "median over rounds",
    "xlate-dtlb-working-set": "p50 over batches",
}


def build(args):
    d = args.dir
    status = {}
    try:
        with open(os.path.join(d, "harnesses.txt")) as f:
            for line in f:
                w = line.split()
                if len(w) == 3:
                    status[w[0]] = {"exit": int(w[1]),
                                    "seconds": float(w[2])}
    except OSError:
        pass

    harnesses = {}
    rows = []
    for h in args.harnesses:
        log = os.path.join(d, "logs", h + ".log")
        st = dict(status.get(h, {"exit": None, "seconds": None}))
        st.update(header_of(log))
        st["log"] = "logs/%s.log" % h
        skip = skipped_in(log)
        st["skipped"] = skip
        hrows = []
        raw = os.path.join(d, "raw", h + ".json")
        if os.path.exists(raw):
            with open(raw) as f:
                hrows = json.load(f)
        st["rows"] = len(hrows)
        st["status"] = ("failed" if st.get("exit") != 0 else
                        "skipped" if skip else "ok")
        harnesses[h] = st
        for r in hrows:
            r = dict(r)
            r["harness"] = h
            rows.append(r)

    first = next((harnesses[h] for h in args.harnesses
                  if harnesses[h].get("tsc_hz")), {})
    if args.build:
        bo = build_options(args.build) or {}
        if bo.get("test_hooks") or bo.get("b_sanitize", "none") != "none":
            print("warning: the harnesses were built with test hooks or "
                  "sanitizers: figures are not representative")
    meta = {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "tsc_hz": first.get("tsc_hz"),
        "kernel": platform.release(),
        "kernel_version": platform.version(),
        "dpdk_version": sh(["pkg-config", "--modversion", "libdpdk"]),
        "hugepages": any(harnesses[h].get("hugepages") for h in harnesses),
        "pool_mb": {h: harnesses[h].get("pool_mb") for h in harnesses},
        "pool_mb_option": args.pool_mb,
        "git_revision": sh(["git", "rev-parse", "HEAD"], cwd=args.src),
        "git_dirty": bool(sh(["git", "status", "--porcelain",
                              "--untracked-files=no"], cwd=args.src)),
        "date": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quick": args.quick,
        "seconds": args.seconds,
        "build_dir": os.path.abspath(args.build) if args.build else None,
        "build_options": build_options(args.build) if args.build else None,
        "hostname": platform.node(),
    }
    try:
        meta["loadavg"] = open("/proc/loadavg").read().split()[:3]
    except OSError:
        pass

    curves = {}
    for r in rows:
        c = r.get("curve")
        if not c:
            continue
        cv = curves.setdefault(c, {"harness": r["harness"],
                                   "unit": r["unit"],
                                   "x_unit": r.get("x_unit", ""),
                                   "anchor": re.sub(r"-?t?\d+$", "",
                                                    r.get("anchor") or ""),
                                   "stat": CURVE_STAT.get(c, "value"),
                                   "points": []})
        cv["points"].append({k: r.get(k) for k in (
            "name", "x", "value", "anchor", "anchor_value", "ratio", "p50",
            "p99", "samples", "anchor_p50", "anchor_p99", "anchor_samples")})
    for cv in curves.values():
        cv["points"].sort(key=lambda p: p["x"])
        v0 = cv["points"][0]["value"]
        for p in cv["points"]:
            p["vs_first"] = (p["value"] / v0 if v0 and p["value"] is not None
                             else None)

    plots = Plots(d)
    for r in rows:
        if not r.get("curve"):
            cdf_plot(plots, r)
    for cname in sorted(curves):
        curve_plot(plots, cname, curves[cname])

    report = {"meta": meta, "harnesses": harnesses, "rows": rows,
              "curves": curves, "plots": plots.list}
    with open(os.path.join(d, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(d, "index.html"), "w") as f:
        f.write(page(report))
    return report


CSS = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #eee; }
td.l { text-align: left; }
tr.pass td.v { background: #cfc; } tr.miss td.v { background: #fcc; }
tr.report td.v { background: #eef; }
figure { display: inline-block; margin: 0 1em 1.5em 0; width: 900px;
  vertical-align: top; }
figure img { width: 900px; border: 1px solid #ddd; }
figcaption { font-size: 13px; }
"""

# After load, count the images that decoded, so a headless check can tell.
SCRIPT = """
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('img'), ok = 0;
  for (var i = 0; i < imgs.length; i++)
    if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;
  document.getElementById('imgcheck').textContent =
    'images loaded: ' + ok + ' of ' + imgs.length;
});
"""


def page(rep):
    e = html.escape
    m = rep["meta"]
    out = ["<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
           "<title>mmrt perf report</title><style>%s</style>"
           "<script>%s</script></head><body>" % (CSS, SCRIPT)]
    out.append("<h1>mmrt perf report%s</h1>" %
               (" (quick)" if m["quick"] else ""))
    out.append("<p id='imgcheck'>images not checked</p>")
    out.append("<div style='display:flex; gap:2em; flex-wrap:wrap'>"
               "<div><h2>Run</h2><table>")
    for k in ("date", "git_revision", "git_dirty", "cpu_model", "cores",
              "tsc_hz", "kernel", "dpdk_version", "hugepages", "pool_mb",
              "quick", "seconds", "loadavg", "hostname", "build_options"):
        v = m.get(k)
        if isinstance(v, dict):
            v = ", ".join("%s %s" % (a, b) for a, b in v.items())
        elif isinstance(v, list):
            v = " ".join(v)
        out.append("<tr><th>%s</th><td class='l'>%s</td></tr>" %
                   (e(k), e(str(v))))
    out.append("</table></div>")

    out.append("<div><h2>Harnesses</h2><table><tr><th>harness</th><th>status"
               "</th><th>rows</th><th>seconds</th><th>pool MiB</th>"
               "<th>log</th></tr>")
    for h, st in rep["harnesses"].items():
        out.append("<tr><td class='l'>perf-%s</td><td class='l'>%s</td>"
                   "<td>%s</td><td>%s</td><td>%s</td><td class='l'>"
                   "<a href='%s'>%s</a></td></tr>" % (
                       e(h), e(st["status"] + (": " + st["skipped"]
                                               if st.get("skipped") else "")),
                       st["rows"], fmt(st.get("seconds"), 1),
                       st.get("pool_mb", "-"), e(st["log"]), e(st["log"])))
    out.append("</table></div></div>")

    out.append("<h2>Results</h2><p>ratio = value / anchor value (lower is "
               "better); pass if ratio &le; target; a report has no target."
               "</p><table><tr><th>harness</th><th>name</th><th>unit</th>"
               "<th>value</th><th>anchor</th><th>anchor value</th>"
               "<th>ratio</th><th>target</th><th>verdict</th><th>p50</th>"
               "<th>p99</th><th>anchor p50</th><th>anchor p99</th>"
               "<th>samples</th></tr>")
    for r in rep["rows"]:
        out.append(
            "<tr class='%s'><td class='l'>%s</td><td class='l'>%s</td>"
            "<td class='l'>%s</td><td>%s</td><td class='l'>%s</td><td>%s"
            "</td><td>%s</td><td>%s</td><td class='v l'>%s</td><td>%s</td>"
            "<td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
                e(r["verdict"]), e(r["harness"]), e(r["name"]), e(r["unit"]),
                fmt(r["value"]), e(r.get("anchor") or ""),
                fmt(r.get("anchor_value")), fmt(r.get("ratio"), 3),
                fmt(r.get("target"), 3), e(r["verdict"]), fmt(r.get("p50")),
                fmt(r.get("p99")), fmt(r.get("anchor_p50")),
                fmt(r.get("anchor_p99")), r.get("samples", "-")))
    out.append("</table>")

    out.append("<h2>Scaling curves</h2>")
    for cname, cv in sorted(rep["curves"].items()):
        out.append("<h3>%s (%s)</h3><table><tr><th>%s</th><th>name</th>"
                   "<th>value %s</th><th>x first point</th><th>p99</th>"
                   "<th>anchor</th><th>anchor value</th><th>ratio</th></tr>"
                   % (e(cname), e(cv["unit"]), e(cv["x_unit"]),
                      e(cv["unit"])))
        for p in cv["points"]:
            out.append("<tr><td>%s</td><td class='l'>%s</td><td>%s</td>"
                       "<td>%s</td><td>%s</td><td class='l'>%s</td><td>%s"
                       "</td><td>%s</td></tr>" % (
                           fmt(p["x"], 0), e(p["name"]), fmt(p["value"]),
                           fmt(p["vs_first"], 2), fmt(p.get("p99")),
                           e(p.get("anchor") or ""),
                           fmt(p.get("anchor_value")),
                           fmt(p.get("ratio"), 3)))
        out.append("</table>")

    for kind, title in (("curve", "Scaling curve plots"),
                        ("cdf", "Latency CDFs (mmrt over its anchor)")):
        out.append("<h2>%s</h2>" % title)
        for p in rep["plots"]:
            if p["kind"] != kind:
                continue
            out.append("<figure id='%s'><img src='%s' alt='%s'>"
                       "<figcaption><b>%s</b>. %s (<a href='%s'>SVG</a>, "
                       "<a href='%s'>PNG</a>)</figcaption></figure>" % (
                           e(p["base"]), e(p["svg"]), e(p["title"]),
                           e(p["title"]), e(p["description"]), e(p["svg"]),
                           e(p["png"])))
    out.append("</body></html>\n")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--seconds", type=int, default=None)
    ap.add_argument("--build", default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--pool-mb", type=int, default=None)
    ap.add_argument("harnesses", nargs="+")
    args = ap.parse_args()
    rep = build(args)
    print("report: %d rows, %d curves, %d plots" % (
        len(rep["rows"]), len(rep["curves"]), len(rep["plots"])))


if __name__ == "__main__":
    main()
