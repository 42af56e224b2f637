#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# One entry point: ./mmrt.sh {setup|build|run|test|perf|topo|hugepages} [args]
# Every command installs what is missing (Debian 12) and builds first.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$top"

pkgs=(libdpdk-dev libhwloc-dev libnuma-dev libcriterion-dev meson ninja-build
	pkg-config gcc dpdk)

log() { printf 'mmrt.sh: %s\n' "$*" >&2; }

setup() {
	local missing=()
	for p in "${pkgs[@]}"; do
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

# build DIR [meson options...]
build() {
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null
	else
		meson configure "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir" ${BUILD_TARGET:-} >/dev/null
}

main_build() { setup; build build -Dtest_hooks=false -Dtests=false; }

# Each suite is a Criterion binary (tests/meson.build names them). Output
# keeps skips, failures and each synthesis; totals accumulate in TOTAL_*.
TOTAL_PASS=0 TOTAL_FAIL=0 TOTAL_SKIP=0
run_suites() {
	local dir=$1 label=$2; shift 2
	local rc=0 t out p f c s
	for t in "$dir"/tests/${RUN_GLOB:-test-*}; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		log "[$label] $(basename "$t")"
		out=$(mktemp)
		p="" f="" c=""
		"$t" --jobs 2 --short-filename --verbose "$@" >"$out" 2>&1 || rc=1
		# drop the progress lines, keep assertion messages (file:line
		# and the lines of the message after it)
		awk '/^\[(RUN |PASS)\]/ { keep = 0; next }
			/^\[----\]/ && /\.[ch]:[0-9]+:/ { keep = 1 }
			/^\[----\]/ { if (keep) print; next }
			{ keep = 0; print }' "$out"
		read -r p f c < <(sed -nE \
			's/.*Passing: ([0-9]+) \| Failing: ([0-9]+) \| Crashing: ([0-9]+).*/\1 \2 \3/p' \
			"$out" | tail -n 1)
		s=$(grep -c '^\[SKIP\]' "$out" || true)
		if [ -z "${p:-}" ]; then
			log "[$label] $(basename "$t") printed no synthesis"
			p=0 f=1 c=0 rc=1
		fi
		TOTAL_PASS=$((TOTAL_PASS + p))
		TOTAL_FAIL=$((TOTAL_FAIL + f + c))
		TOTAL_SKIP=$((TOTAL_SKIP + s))
		rm -f "$out"
	done
	return $rc
}

# Thread races in lib/ and pmd/ under ThreadSanitizer. Criterion cannot
# run under TSan (its inheritable arena fails to map: Criterion issue 274),
# so the check is the main job, which runs a polling consumer, a userfault
# consumer and a DMA engine on lcore 1 against the main lcore. Rings are
# compiled with DPDK's C11 memory model so that TSan sees their ordering;
# EAL is not instrumented, and the one edge it hides (a worker's return
# to rte_eal_wait_lcore()) is marked in the code (MMRT_TSAN_* in lib/core/mmrt_core.h).
# Any report fails; a TSan runtime that cannot start skips visibly.
run_tsan() {
	local out rc=0
	BUILD_TARGET=apps/mmrt build build-tsan -Dtests=false -Dperf=false \
		-Db_sanitize=thread -Db_lundef=false \
		"-Dc_args=-DRTE_USE_C11_MEM_MODEL -Wno-tsan"
	log "[tsan] mmrt (main job)"
	out=$(mktemp)
	TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:exitcode=66} \
		./build-tsan/apps/mmrt >"$out" 2>&1 || rc=$?
	if grep -q 'ThreadSanitizer: unexpected memory mapping' "$out"; then
		log "[tsan] SKIP: the TSan runtime cannot map its shadow here"
		TOTAL_SKIP=$((TOTAL_SKIP + 1))
	elif [ $rc -ne 0 ] || grep -q 'WARNING: ThreadSanitizer' "$out"; then
		cat "$out"
		log "[tsan] FAILED (exit $rc)"
		TOTAL_FAIL=$((TOTAL_FAIL + 1))
		rc=1
	else
		grep -E '^(pool|mmrt):' "$out" || true
		TOTAL_PASS=$((TOTAL_PASS + 1))
	fi
	rm -f "$out"
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

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
setup)
	setup
	;;
build)
	main_build
	;;
run)
	main_build
	exec ./build/apps/mmrt "$@"
	;;
test)
	setup
	rc=0
	hugepages_reserve
	build build-test -Dtest_hooks=true -Dperf=false
	run_suites build-test plain "$@" || rc=1
	build build-asan -Dtest_hooks=true -Dperf=false \
		-Db_sanitize=address,undefined -Db_lundef=false
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
		run_suites build-asan asan+ubsan "$@" || rc=1
	# negative control: the litmus must see invariant B broken
	BUILD_TARGET=tests/test-litmus build build-negctl -Dtest_hooks=true \
		-Dperf=false -Dcow_flush_late=true
	RUN_GLOB=test-litmus run_suites build-negctl negative-control "$@" ||
		rc=1
	run_tsan || rc=1
	hugepages_release
	echo "tests: $TOTAL_PASS passed, $TOTAL_FAIL failed, $TOTAL_SKIP skipped"
	if [ $rc -eq 0 ] && [ "$TOTAL_FAIL" -eq 0 ]; then
		log "all suites passed (plain, asan+ubsan, negative-control, tsan)"
	else
		log "FAILED"
		rc=1
	fi
	exit $rc
	;;
perf)
	main_build
	[ $# -ge 1 ] || { log "usage: ./mmrt.sh perf NAME [--quick] [--json FILE]"; ls build/perf | grep '^perf-' >&2; exit 2; }
	name=$1; shift
	exec "./build/perf/perf-$name" "$@"
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
	echo "usage: ./mmrt.sh {setup|build|run|test|perf NAME|topo|hugepages}" >&2
	exit 2
	;;
esac
