#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# The main job under ThreadSanitizer (a -Db_sanitize=thread build): thread
# races in lib/ and pmd/. Rings are compiled with DPDK's C11 memory model
# so that TSan sees their ordering; EAL is not instrumented, and the one
# edge it hides (a worker's return to rte_eal_wait_lcore()) is marked in
# the code (MMRT_TSAN_* in lib/core/mmrt_core.h); tsan.supp names the one
# DPDK-internal pattern TSan flags, with its reason. Any report fails; a TSan
# runtime that cannot start here skips visibly (exit 77, meson's skip).
#
# usage: run-tsan.sh PATH/TO/mmrt [ARGS]
set -uo pipefail

out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
supp=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tsan.supp
TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:exitcode=66:suppressions=$supp} \
	"$@" >"$out" 2>&1 ||
	rc=$?
if grep -q 'ThreadSanitizer: unexpected memory mapping' "$out"; then
	echo "SKIP: the TSan runtime cannot map its shadow here"
	exit 77
elif [ $rc -ne 0 ] || grep -q 'WARNING: ThreadSanitizer' "$out"; then
	cat "$out"
	echo "FAILED: main job under TSan (exit $rc)"
	exit 1
fi
grep -E '^(pool|mmrt):' "$out" || true
