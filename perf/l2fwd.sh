#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# perf-l2fwd: examples/l2fwd_mmrt forwarding on a net_null port, with the
# guest copy (each packet copied by the dma_mmrt dmadev by IOVA into a guest
# region paged on demand, then compared with its packet), with the copy but
# without the comparison, and without the copy (--no-copy: the anchor), for
# 64 B and 1500 B packets, in one run. Rounds alternate which mode goes
# first; each figure is the median over the rounds of ns per packet
# (1e9 / packets per second of the receive window). Report rows, no target.
#
# Configured by perf/meson.build into BUILD/perf/perf-l2fwd (with the source
# and build roots filled in); ./mmrt.sh perf l2fwd runs it. It builds the
# example out of tree against the build tree (meson-uninstalled pkg-config).
#
# usage: perf-l2fwd [--quick] [--json FILE] [-- ignored]
set -euo pipefail

src='@SOURCE_ROOT@'
build='@BUILD_ROOT@'
quick=false json=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=true ;;
	--json) [ $# -ge 2 ] || { echo "$0: --json needs a file" >&2; exit 2; }
		json=$2; shift ;;
	--) break ;;
	*) echo "usage: $0 [--quick] [--json FILE]" >&2; exit 2 ;;
	esac
	shift
done

if $quick; then rounds=3 secs=0.5; else rounds=7 secs=1.5; fi
out=$build/perf/l2fwd
mkdir -p "$out"
export PKG_CONFIG_PATH=$build/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export LD_LIBRARY_PATH=$build/lib:$build/pmd${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ! make -s -C "$src/examples/l2fwd_mmrt" O="$out" >"$out/build.log" 2>&1; then
	cat "$out/build.log" >&2
	echo "$0: examples/l2fwd_mmrt does not build" >&2
	exit 1
fi

# one run: SIZE MODE -> "packets seconds" of the receive window
one() {
	local size=$1 mode=$2 log=$out/run.log flags=
	case $mode in
	no-copy) flags=--no-copy ;;
	copy-no-verify) flags=--no-verify ;;
	esac
	if ! timeout 120 "$out/l2fwd_mmrt" --vdev=net_null0,size="$size" \
			-- -T 0 --seconds "$secs" $flags >"$log" 2>&1 ||
	   [ "$(tail -n 1 "$log")" != "l2fwd_mmrt: OK" ]; then
		cat "$log" >&2
		echo "$0: l2fwd_mmrt failed ($size B, $mode)" >&2
		exit 1
	fi
	sed -n 's/^rate: \([0-9]*\) packets [0-9]* bytes in \([0-9.]*\) s:.*/\1 \2/p' "$log"
}

echo "perf-l2fwd: examples/l2fwd_mmrt on net_null, forwarding on lcore 0," \
	"dma_mmrt engine on lcore 1, --no-huge; $rounds rounds of ${secs} s" \
	"per mode ($($quick && echo quick || echo full))"
samples=$out/samples.txt
: >"$samples"
modes=(copy copy-no-verify no-copy)
for size in 64 1500; do
	for r in $(seq 1 "$rounds"); do
		# rotate the order so that no mode always runs first
		for k in 0 1 2; do
			m=${modes[$(( (k + r) % 3 ))]}
			echo "$size $m $(one "$size" "$m")" >>"$samples"
		done
	done
done

python3 - "$samples" "$json" "$quick" <<'EOF'
import json, statistics, sys
path, jpath, quick = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
ns = {}
pps = {}
for line in open(path):
    size, mode, pkts, secs = line.split()
    v = 1e9 * float(secs) / int(pkts)
    ns.setdefault((int(size), mode), []).append(v)
rows = []
hdr = "%-24s %-7s %9s %-20s %10s %7s %6s %s" % (
    "name", "unit", "value", "anchor", "anchor_val", "ratio", "target", "")
print(hdr)
for size in (64, 1500):
    anchor = statistics.median(ns[(size, "no-copy")])
    for mode in ("copy", "copy-no-verify"):
        val = statistics.median(ns[(size, mode)])
        name = "l2fwd-%s-%d" % (mode, size)
        aname = "l2fwd-no-copy-%d" % size
        ratio = val / anchor
        print("%-24s %-7s %9.1f %-20s %10.1f %7.2f %6s %s" % (
            name, "ns/pkt", val, aname, anchor, ratio, "-", "report"))
        print("  %-22s %.3f Mpps vs %.3f Mpps without the copy (%.1f%%)" % (
            "", 1e3 / val, 1e3 / anchor, 100.0 * anchor / val))
        rows.append({"name": name, "unit": "ns/pkt", "value": val,
                     "anchor": aname, "anchor_value": anchor,
                     "ratio": ratio, "target": None, "verdict": "report",
                     "pass": None, "quick": quick})
if jpath:
    with open(jpath, "w") as f:
        json.dump(rows, f, indent=2)
        f.write("\n")
    print("results written to %s" % jpath)
EOF
