#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# The perf report: run every harness of perf/ and write into DIR one JSON
# file with the run's metadata and all rows (report.json), the plots
# (gnuplot, SVG and PNG) and index.html. See perf/README.md, "The report".
#
# usage: perf/report.sh [--quick] [--pool-mb N] --report DIR BUILD_DIR
#
# --quick     every harness in its quick mode (the whole report in about
#             3 minutes on a 2-core VM)
# --pool-mb N passed to the harnesses that size their pool from it for the
#             scaling curves (perf-unmap: the curve goes up to what the
#             pool holds)
# BUILD_DIR   a build configured with -Dperf=true
#
# Exit status: 0 when every harness completed and the report was written
# (whether targets were met or not), 1 if a harness failed or the report
# could not be made, 2 for a usage error.

set -u

src=$(cd "$(dirname "$0")/.." && pwd)
# every harness perf/meson.build builds (its perf_harnesses list)
HARNESSES=$(sed -n '/^perf_harnesses *=/,/]/p' "$src/perf/meson.build" |
	tr -c 'a-z0-9_\n' ' ' | sed 's/perf_harnesses//' | tr -s ' \n' '  ')
[ -n "$HARNESSES" ] || { echo "$0: no harness list in perf/meson.build" >&2;
	exit 1; }

usage() {
	echo "usage: $0 [--quick] [--pool-mb N] --report DIR BUILD_DIR" >&2
	exit 2
}

quick=""
pool=""
dir=""
build=""
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick="--quick" ;;
	--pool-mb) [ $# -ge 2 ] || usage; pool="$2"; shift ;;
	--report) [ $# -ge 2 ] || usage; dir="$2"; shift ;;
	-h|--help) usage ;;
	-*) echo "$0: unknown option $1" >&2; usage ;;
	*) [ -z "$build" ] || usage; build="$1" ;;
	esac
	shift
done
[ -n "$dir" ] && [ -n "$build" ] || usage
case "$pool" in
''|*[!0-9]*) [ -z "$pool" ] || usage ;;
esac

for h in $HARNESSES; do
	if [ ! -x "$build/perf/perf-$h" ]; then
		echo "$0: $build/perf/perf-$h missing (configure with" \
			"-Dperf=true and build)" >&2
		exit 1
	fi
done
for t in gnuplot python3; do
	if ! command -v $t >/dev/null 2>&1; then
		echo "$0: $t not found (Debian: apt-get install" \
			"gnuplot-nox python3)" >&2
		exit 1
	fi
done

mkdir -p "$dir/raw" "$dir/logs" || exit 1
rm -f "$dir"/raw/*.json "$dir"/logs/*.log "$dir"/*.svg "$dir"/*.png \
	"$dir"/report.json "$dir"/index.html "$dir"/harnesses.txt
start=$(date +%s)
failed=0
: > "$dir/harnesses.txt"
for h in $HARNESSES; do
	extra=""
	# only perf-unmap's curve grows with the pool; the others size their
	# pool for their workload
	if [ -n "$pool" ] && [ "$h" = unmap ]; then
		extra="--pool-mb $pool"
	fi
	echo "== perf-$h $quick $extra"
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086
	"$build/perf/perf-$h" $quick $extra --json "$dir/raw/$h.json" \
		> "$dir/logs/$h.log" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	secs=$(python3 -c "print(round($t1 - $t0, 1))")
	echo "$h $rc $secs" >> "$dir/harnesses.txt"
	tail -n +1 "$dir/logs/$h.log" | grep -E '^(name |[a-z0-9+-]+ +(ns|B)|.*skipped)' \
		| head -40
	echo "   perf-$h: exit $rc, ${secs} s"
	if [ $rc -ne 0 ]; then
		failed=1
		tail -5 "$dir/logs/$h.log" >&2
	fi
done
end=$(date +%s)

python3 "$src/perf/report/mkreport.py" --dir "$dir" --src "$src" \
	--build "$build" \
	--seconds $((end - start)) ${quick:+--quick} ${pool:+--pool-mb "$pool"} \
	$HARNESSES || exit 1
echo "report: $dir/index.html ($((end - start)) s of harnesses)"
exit $failed
