#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# The allocation-failure sweep of a DPDK secondary's attach (issue 15
# item 3, test-hook builds): allocsweep-sec (tests/allocsweep_sec.c) runs
# an mmrt primary with a dma_mmrt0 vdev, then one secondary per N =
# 0, 1, ... whose mmrt_init() (the EAL's probe of dma_mmrt0 in it, the
# gather's per-process queue, the option words) has its allocation after
# the first N failing. The check passes when
#   - every secondary either fails whole with -ENOMEM (the runtime down in
#     it) or comes up (a failure it absorbed leaves at most dma_mmrt0
#     unattached there: its probe failed whole), then leaves;
#   - the sweep ends (a secondary passes every site) within 64 runs;
#   - the primary's rte_malloc heap (shared with the secondaries) is back
#     at what it was after a first secondary came and went;
#   - dma_mmrt0 still copies in the primary, which leaves with
#     mmrt_fini() == 0 ("primary done ok").
#
# Real hugepages, root, 2 cpus; sanitizer builds skip (see
# hugetlb-private.sh). Everything it made is removed on every exit.
#
#   check-allocsweep-secondary.sh ALLOCSWEEP-SEC [--asan]
#
# Exit 0 pass, 77 skip, else fail.

set -u
peer=${1:?usage: $0 ALLOCSWEEP-SEC [--asan]}
pages=160	# 320 MiB: the primary's -m 256 and room
eal_mb=256

. "$(dirname "$0")/hugetlb-private.sh"
secondary_setup "$peer" "${2:-}" secondary afsec "mmrt-afsec-$$" "$pages"

eal_common=(--huge-dir "$huge" --no-pci --no-telemetry
	--log-level=lib.eal:error --log-level=pmd.dma.mmrt:error)

start_held primary "$peer" primary 600 -l 0 -m "$eal_mb" \
	"${eal_common[@]}" --file-prefix "$prefix" \
	--vdev=dma_mmrt0,service=1 -- --pool-mb 64
echo "primary: $(head -1 "$tmp/primary.log")"

sec=(-l 1 --proc-type=secondary --file-prefix "$prefix" "${eal_common[@]}"
	-- --log-level 1)

# ask the primary CMD; wait for its Nth line starting with WORD: in $reply
nreply=0
ask() {
	local n
	echo "$1" >&3
	nreply=$((nreply + 1))
	for _ in $(seq 60); do
		n=$(grep -c "^$2" "$tmp/primary.log")
		[ "$n" -ge "$3" ] && break
		sleep 1
	done
	reply=$(grep "^$2" "$tmp/primary.log" | sed -n "$3p")
	[ -n "$reply" ] || { cat "$tmp/primary.log"; fail "no reply to $1"; }
}

# a first secondary, no failure: what it leaves for good is the baseline
timeout 120 "$peer" secondary -1 "${sec[@]}" > "$tmp/warm.log" 2>&1 ||
	{ cat "$tmp/warm.log"; fail "a secondary without a failure failed"; }
ask heap heap 1
heap0=${reply#heap }
echo "secondary without a failure: $(grep '^result' "$tmp/warm.log")"

fails=0
absorbed=0
n=0
while [ $n -lt 64 ]; do
	timeout 120 "$peer" secondary $n "${sec[@]}" > "$tmp/sec$n.log" 2>&1
	rc=$?
	res=$(grep '^result' "$tmp/sec$n.log")
	echo "  N=$n: $res"
	[ $rc = 0 ] || { cat "$tmp/sec$n.log"; fail "secondary N=$n"; }
	case $res in
	*hit=0*) break ;;
	*rc=-*) fails=$((fails + 1)) ;;
	*) absorbed=$((absorbed + 1)) ;;
	esac
	n=$((n + 1))
done
[ $n -lt 64 ] || fail "still failing at N=64"
[ $fails -gt 0 ] || fail "no secondary failed: the sweep reached no site"
echo "ok: $n allocation sites in a secondary's attach; $fails failed" \
	"whole with -ENOMEM, $absorbed absorbed"

ask heap heap 2
heap1=${reply#heap }
[ "$heap1" = "$heap0" ] ||
	fail "the primary's heap: $heap1 bytes in use, $heap0 before the sweep"
echo "ok: the shared heap is back ($heap0 bytes in use)"

ask copy copied 1
[ "$reply" = "copied ok" ] || fail "dma_mmrt0 in the primary: $reply"
echo "ok: dma_mmrt0 still copies in the primary"

held_end primary
sed 's/^/  [primary] /' "$tmp/primary.log" | tail -3
[ "$rc" = 0 ] && grep -q '^primary done ok' "$tmp/primary.log" ||
	fail "the primary did not leave cleanly"
echo "PASS"
