#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# One entry point: ./mmrt.sh {setup|build|run|test|perf|fuzz|topo|hugepages} [args]
# Every command installs what is missing (Debian 12) and builds first.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$top"

pkgs=(libdpdk-dev libhwloc-dev libnuma-dev libcriterion-dev meson ninja-build
	pkg-config gcc dpdk)
# What only the tests need: Spin for the protocol models, Debian's dpdk-dev
# for the stock DPDK clients (dpdk-test, dpdk-testpmd, dpdk-telemetry.py).
# gnuplot and Chromium draw and render the perf report the tests check.
# clang with its runtimes (libFuzzer, ASan, UBSan) and llvm (the
# symbolizer) build and run the API fuzzer.
fuzz_pkgs=(clang libclang-rt-14-dev llvm)
test_pkgs=(spin dpdk-dev gnuplot-nox chromium python3 "${fuzz_pkgs[@]}")

log() { printf 'mmrt.sh: %s\n' "$*" >&2; }

# setup [EXTRA PACKAGES...]: install what is missing of pkgs and EXTRA.
setup() {
	local missing=()
	for p in "${pkgs[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing: ${missing[*]}"
	local sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
}

# build DIR [meson options...]: configure DIR (or apply the options to an
# existing one), then build it. On a terminal ninja shows its progress;
# otherwise the build is quiet and prints its log only if it fails.
# MMRT_JOBS=N limits ninja to N jobs.
build() {
	local dir=$1; shift
	local out rc=0
	out=$(mktemp)
	if [ ! -f "$dir/build.ninja" ]; then
		log "configuring and building $dir/ (a first build takes about 30 s)"
		meson setup "$dir" "$@" >"$out" 2>&1 || rc=$?
	elif [ $# -gt 0 ]; then
		# an option whose type changed since DIR was configured is
		# only accepted by a full reconfigure
		meson configure "$dir" "$@" >"$out" 2>&1 ||
			meson setup --reconfigure "$dir" "$@" >"$out" 2>&1 ||
			rc=$?
	fi
	if [ $rc -ne 0 ]; then
		cat "$out" >&2
		rm -f "$out"
		log "meson could not configure $dir/"
		return $rc
	fi
	if [ -t 2 ]; then
		ninja -C "$dir" ${MMRT_JOBS:+-j "$MMRT_JOBS"} >&2 || rc=$?
	else
		ninja -C "$dir" ${MMRT_JOBS:+-j "$MMRT_JOBS"} >"$out" 2>&1 ||
			{ rc=$?; cat "$out" >&2; }
	fi
	rm -f "$out"
	[ $rc -eq 0 ] || log "build of $dir/ failed"
	return $rc
}

# The production build: no test hooks, no tests. Extra meson options (for
# example --prefix=DIR) are applied to build/ as it is configured.
main_build() { setup; build build -Dtest_hooks=false -Dtests=disabled "$@"; }

# test_build DIR LABEL [env...]: run `meson test` in DIR (the suites are
# labelled in tests/meson.build) with the arguments given to ./mmrt.sh test,
# then read meson-logs/testlog.json: print the output of whatever failed,
# Criterion's assertion messages kept and its progress lines dropped, and
# add its counts to TOTAL_* (Criterion's per-test counts for the Criterion
# suites, one per meson test for the others).
TOTAL_PASS=0 TOTAL_FAIL=0 TOTAL_SKIP=0
test_build() {
	local dir=$1 label=$2 rc=0 counts p f s
	shift 2
	log "[$label] meson test -C $dir ${TEST_ARGS[*]}"
	rm -f "$dir/meson-logs/testlog.json"
	env "$@" meson test -C "$dir" --no-rebuild "${TEST_ARGS[@]}" || rc=1
	if [ ! -f "$dir/meson-logs/testlog.json" ]; then
		log "[$label] no test ran"
		return $rc
	fi
	counts=$(python3 - "$dir/meson-logs/testlog.json" "$label" <<'EOF'
import json, re, sys

synth = re.compile(r'Synthesis: Tested: \d+ \| Passing: (\d+) \| '
		   r'Failing: (\d+) \| Crashing: (\d+)')
total = [0, 0, 0]
for line in open(sys.argv[1]):
	t = json.loads(line)
	out = (t.get('stdout') or '') + (t.get('stderr') or '')
	ok = t['result'] in ('OK', 'EXPECTEDFAIL')
	m = synth.findall(out)
	if m:
		p, f, c = map(int, m[-1])
		s = sum(1 for l in out.splitlines() if l.startswith('[SKIP]'))
		if not ok and f + c == 0:
			f = 1   # crashed or timed out after its synthesis
	elif t['result'] == 'SKIP':
		p, f, c, s = 0, 0, 0, 1
	else:
		p, f, c, s = (1, 0, 0, 0) if ok else (0, 1, 0, 0)
	total[0] += p
	total[1] += f + c
	total[2] += s
	if ok and f + c == 0:
		continue
	print('mmrt.sh: [%s] %s: %s (exit %s)' % (sys.argv[2], t['name'],
	      t['result'], t.get('returncode')), file=sys.stderr)
	keep = False
	for l in out.splitlines():
		# Criterion: drop the progress lines, keep the assertion
		# messages (file:line and the lines of the message after it)
		if l.startswith('[RUN ]') or l.startswith('[PASS]'):
			keep = False
			continue
		if l.startswith('[----]'):
			if re.search(r'\.[ch]:\d+:', l):
				keep = True
			if keep:
				print(l, file=sys.stderr)
			continue
		keep = False
		print(l, file=sys.stderr)
print(*total)
EOF
	) || { log "[$label] cannot read testlog.json"; return 1; }
	read -r p f s <<<"$counts"
	log "[$label] $p passed, $f failed, $s skipped"
	TOTAL_PASS=$((TOTAL_PASS + p))
	TOTAL_FAIL=$((TOTAL_FAIL + f))
	TOTAL_SKIP=$((TOTAL_SKIP + s))
	[ "$f" -eq 0 ] || rc=1
	return $rc
}

# Real hugepages for the hugepage suite: when root and the machine has none
# of its own, reserve 512 MiB of 2 MiB pages for the run and give them back
# on exit (MMRT_TEST_HUGEPAGES=0 turns this off). A machine's own
# configuration is never touched; without hugepages the suite skips visibly.
HP_NR=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
HP_RESERVED=0 HP_MOUNTED=0
hugepages_release() {
	[ "$HP_RESERVED" -eq 1 ] || return 0
	dpdk-hugepages.py -c >/dev/null 2>&1 || true
	[ "$HP_MOUNTED" -eq 1 ] && { umount /dev/hugepages 2>/dev/null || true; }
	HP_RESERVED=0
	log "gave back the reserved hugepages"
}
hugepages_reserve() {
	[ "${MMRT_TEST_HUGEPAGES:-1}" = 1 ] && [ "$(id -u)" -eq 0 ] &&
		[ -w "$HP_NR" ] && [ "$(cat "$HP_NR")" -eq 0 ] &&
		command -v dpdk-hugepages.py >/dev/null || return 0
	mkdir -p /dev/hugepages
	if ! mountpoint -q /dev/hugepages; then
		mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages 2>/dev/null &&
			HP_MOUNTED=1
	fi
	HP_RESERVED=1
	trap hugepages_release EXIT
	dpdk-hugepages.py -p 2M -r 512M >/dev/null 2>&1 || true
	log "reserved $(cat "$HP_NR") hugepages of 2 MiB for the test run"
}

# The API fuzzer (tests/fuzz/README.md): build-fuzz/, a clang build of
# its own (libFuzzer, ASan+UBSan, the test hooks, coverage of the
# libraries); only its target is built.
FUZZ_BIN=build-fuzz/tests/fuzz/fuzz-api
fuzz_build() {
	local dir=build-fuzz out rc=0
	out=$(mktemp)
	if [ ! -f "$dir/build.ninja" ]; then
		log "configuring and building $dir/ (clang, libFuzzer, ASan+UBSan)"
		CC=clang meson setup "$dir" -Dfuzz=true -Dtest_hooks=true \
			-Dtests=disabled -Dperf=false \
			-Db_sanitize=address,undefined -Db_lundef=false \
			-Dwerror=false -Dc_args=-fsanitize=fuzzer-no-link \
			>"$out" 2>&1 || rc=$?
	fi
	[ $rc -eq 0 ] && { ninja -C "$dir" ${MMRT_JOBS:+-j "$MMRT_JOBS"} \
		tests/fuzz/fuzz-api >"$out" 2>&1 || rc=$?; }
	[ $rc -eq 0 ] || { cat "$out" >&2; log "build of $dir/ failed"; }
	rm -f "$out"
	return $rc
}

# fuzz_run WORKDIR [libFuzzer args...]: run the fuzzer on a working
# corpus in WORKDIR (seeded from tests/fuzz/corpus, kept between runs),
# crash inputs to WORKDIR/artifacts/, then print what it did.
# -entropic=0: the entropic schedule's bookkeeping (a linear search of
# its rare features for each feature an input hits) cost about twice the
# harness's own time per execution, for no more coverage in our runs;
# pass -entropic=1 to have it back.
fuzz_run() {
	local work=$1 rc=0 logf
	shift
	mkdir -p "$work/corpus" "$work/artifacts"
	cp -n tests/fuzz/corpus/* "$work/corpus/"
	logf=$work/last.log
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
		"$FUZZ_BIN" -max_len=512 -timeout=60 -print_final_stats=1 \
		-entropic=0 \
		-artifact_prefix="$work/artifacts/" "$@" "$work/corpus" \
		>"$logf" 2>&1 || rc=$?
	grep -E 'fuzz_api:|ERROR|SUMMARY|Test unit written' "$logf" >&2 ||
		true
	python3 - "$logf" <<'EOF'
import re, sys
txt = open(sys.argv[1], errors='replace').read()
runs = re.findall(r'stat::number_of_executed_units: (\d+)', txt)
runs = runs or re.findall(r'^#(\d+)', txt, re.M)  # -fork=N mode
secs = re.findall(r'Done (\d+) runs in (\d+) second', txt)
cov = re.findall(r'cov: (\d+) ft: (\d+) corp: (\d+)', txt)
line = 'fuzz: %s executions' % (runs[-1] if runs else '?')
if secs:
	n, s = map(int, secs[-1])
	line += ' in %d s (%.0f exec/s)' % (s, n / s if s else n)
if cov:
	line += ', coverage %s edges, %s features, corpus %s inputs' % cov[-1]
print(line)
EOF
	return $rc
}

# ./mmrt.sh test [MESON TEST ARGS]: every suite in three builds.
#   plain      build-test/: test hooks on; every suite (fast, stress, race,
#              litmus with its negative control, examples)
#   asan       build-asan/: the same under ASan+UBSan (examples excepted)
#   tsan       build-tsan/: the main job under ThreadSanitizer (suite tsan)
#   fuzz       build-fuzz/: the API fuzzer over its seed corpus, then a
#              bounded session of MMRT_FUZZ_RUNS (default 2000) inputs
# MMRT_TEST_BUILDS picks builds (default "plain asan tsan report fuzz"); the arguments
# go to each `meson test`, e.g. --suite fast.
run_tests() {
	local rc=0 b
	TEST_ARGS=("$@")
	hugepages_reserve
	for b in ${MMRT_TEST_BUILDS:-plain asan tsan report fuzz}; do
		case $b in
		plain)
			build build-test -Dtest_hooks=true -Dperf=false \
				-Dtests=enabled || { rc=1; TOTAL_FAIL=$((TOTAL_FAIL + 1)); continue; }
			test_build build-test plain || rc=1
			;;
		asan)
			build build-asan -Dtest_hooks=true -Dperf=false \
				-Dtests=enabled -Db_sanitize=address,undefined \
				-Db_lundef=false || { rc=1; TOTAL_FAIL=$((TOTAL_FAIL + 1)); continue; }
			test_build build-asan asan+ubsan \
				"ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}" \
				"UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}" ||
				rc=1
			;;
		report)
			# The perf report of the production build (no test hooks:
			# they slow the fast paths), quick mode, checked for
			# completeness and rendered in headless Chromium.
			main_build || { rc=1; TOTAL_FAIL=$((TOTAL_FAIL + 1)); continue; }
			log "[report] perf all --quick, then the page in Chromium"
			local r=0
			./perf/check_report.sh --make build build/perf-report || r=$?
			case $r in
			0) TOTAL_PASS=$((TOTAL_PASS + 1)) ;;
			77) log "[report] SKIP: chromium missing, page not rendered"
				TOTAL_SKIP=$((TOTAL_SKIP + 1)) ;;
			*) log "[report] FAILED (exit $r)"
				TOTAL_FAIL=$((TOTAL_FAIL + 1)); rc=1 ;;
			esac
			;;
		tsan)
			# Rings use DPDK's C11 memory model so that TSan sees
			# their ordering (tests/run-tsan.sh says more).
			build build-tsan -Dtests=enabled -Dperf=false \
				-Db_sanitize=thread -Db_lundef=false \
				"-Dc_args=-DRTE_USE_C11_MEM_MODEL -Wno-tsan" ||
				{ rc=1; TOTAL_FAIL=$((TOTAL_FAIL + 1)); continue; }
			test_build build-tsan tsan || rc=1
			;;
		fuzz)
			# every seed once, then a bounded session from a
			# fresh copy of the seeds: a crash fails the run
			fuzz_build || { rc=1; TOTAL_FAIL=$((TOTAL_FAIL + 1)); continue; }
			local fw
			fw=$(mktemp -d)
			log "[fuzz] the seed corpus, then ${MMRT_FUZZ_RUNS:-2000} inputs"
			if fuzz_run "$fw" -runs=0 >&2; then
				TOTAL_PASS=$((TOTAL_PASS + 1))
			else
				log "[fuzz] FAILED on the seed corpus"
				TOTAL_FAIL=$((TOTAL_FAIL + 1)); rc=1
			fi
			if fuzz_run "$fw" -runs="${MMRT_FUZZ_RUNS:-2000}" >&2; then
				TOTAL_PASS=$((TOTAL_PASS + 1))
			else
				log "[fuzz] FAILED: the crash input is kept in build-fuzz/artifacts/"
				mkdir -p build-fuzz/artifacts
				cp "$fw"/artifacts/* build-fuzz/artifacts/ 2>/dev/null || true
				TOTAL_FAIL=$((TOTAL_FAIL + 1)); rc=1
			fi
			rm -rf "$fw"
			;;
		*)
			log "unknown build '$b' in MMRT_TEST_BUILDS (plain asan tsan report fuzz)"
			return 2
			;;
		esac
	done
	hugepages_release
	echo "tests: $TOTAL_PASS passed, $TOTAL_FAIL failed, $TOTAL_SKIP skipped"
	if [ $rc -eq 0 ] && [ "$TOTAL_FAIL" -eq 0 ]; then
		log "all suites passed (${MMRT_TEST_BUILDS:-plain asan tsan report fuzz})"
	else
		log "FAILED"
		rc=1
	fi
	return $rc
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
setup)
	setup
	;;
build)
	main_build "$@"
	;;
run)
	main_build
	exec ./build/apps/mmrt "$@"
	;;
test)
	setup "${test_pkgs[@]}"
	rc=0
	run_tests "$@" || rc=$?
	exit $rc
	;;
perf)
	[ $# -ge 1 ] || { log "usage: ./mmrt.sh perf NAME [--quick] [--json FILE] | perf all [--quick] [--pool-mb N] --report DIR"; exit 2; }
	if [ "$1" = all ]; then
		shift
		setup gnuplot-nox python3
		main_build
		exec ./perf/report.sh "$@" build
	fi
	main_build
	name=$1; shift
	[ -x "./build/perf/perf-$name" ] || { log "no harness perf-$name; there are:"; ls build/perf | grep '^perf-' >&2; exit 2; }
	exec "./build/perf/perf-$name" "$@"
	;;
fuzz)
	# ./mmrt.sh fuzz [SECONDS] [libFuzzer args]: fuzz the API (default
	# 600 s); the corpus grows in build-fuzz/work/corpus, crash inputs go
	# to build-fuzz/work/artifacts/ (add each to tests/fuzz/corpus/)
	setup "${fuzz_pkgs[@]}" python3
	fuzz_build
	secs=${1:-600}
	[ $# -gt 0 ] && shift
	log "fuzzing for $secs s (build-fuzz/work/)"
	fuzz_run build-fuzz/work -max_total_time="$secs" "$@"
	;;
topo)
	main_build
	exec ./build/apps/mmrt-topo "$@"
	;;
hugepages)
	setup
	exec ./usertools/mmrt-hugepages.sh "$@"
	;;
*)
	echo "usage: ./mmrt.sh {setup|build|run|test|perf NAME|fuzz [SECONDS]|topo|hugepages}" >&2
	exit 2
	;;
esac
