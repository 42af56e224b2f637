#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# dma_mmrt in DPDK secondary processes (issue 14 item 1), with real
# processes: dmm-sec-peer (tests/dmm_sec_peer.c) as the primary, which
# probes dma_mmrt0 (as=dmm.as, service=1: it needs no lcore of its own),
# and as secondaries that attach to that dmadev, start it with their own
# --vdev (their engine lcore) and copy through it with rte_dma_* only.
# The check passes when
#   - a secondary copies pattern 2 through the device (its engine runs in
#     the secondary) and the primary finds it in DST; in the same
#     secondary rte_vdev_init() of a new dma_mmrt name fails with
#     -ENOTSUP (DPDK 22.11's dmadev library lets a secondary attach only
#     to a device the primary probed);
#   - while a second secondary's engine copies, the primary's
#     rte_dma_stop() and rte_dma_close() fail with -EBUSY;
#   - that secondary is killed with SIGKILL mid-copy; the primary's
#     mmrt_reap_dead() reclaims it, rte_dma_stop() then releases the
#     device, the engine's consumer is gone and the pool's free count is
#     back at its baseline;
#   - a third secondary starts the device again and copies pattern 4;
#   - the primary closes the device and leaves with mmrt_fini() == 0.
#
# Real hugepages as check-secondary.sh (root: a private hugetlbfs mount,
# only the missing 2 MiB pages reserved and given back; else skip 77);
# sanitizer builds skip (--asan). Processes are bounded by timeout(1);
# processes, the mount, the runtime directory and temporary files are
# removed on every exit.
#
#   check-dmm-secondary.sh DMM-SEC-PEER [--asan]
#
# Exit 0 pass, 77 skip, else fail.

set -u
peer=${1:?usage: $0 DMM-SEC-PEER [--asan]}
pages=72
eal_mb=112

. "$(dirname "$0")/hugetlb-private.sh"
secondary_require "$peer" "${2:-}" "the engine secondary"

tmp=$(mktemp -d /tmp/mmrt-dmmsec.XXXXXX)
huge=$tmp/huge
prefix=mmrt-dmmsec-$$
ppid_=
vpid=
exec 3>&-

trap 'stop_pid "$vpid"; held_cleanup "$prefix"' EXIT
trap 'exit 1' INT TERM

hugetlb_setup "$huge" "$pages"

eal_common=(--huge-dir "$huge" --no-pci --no-telemetry
	--log-level=lib.eal:error --log-level=pmd.dma.mmrt.vdev:info)

start_held primary "$peer" primary 300 -l 0 -m "$eal_mb" "${eal_common[@]}" \
	--file-prefix "$prefix" --vdev=dma_mmrt0,as=dmm.as,service=1 \
	-- --pool-mb 16
echo "primary: $(grep '^ready' "$tmp/primary.log")"

# the secondary's engine on its lcore 2, sharing a cpu with its main lcore
sec=(--lcores=1@1,2@0 --proc-type=secondary --file-prefix "$prefix"
	"${eal_common[@]}" --vdev=dma_mmrt0,as=dmm.as,lcore=2,idle=backoff)

# primary_cmd CMD REPLY: send CMD, wait (bounded) for a line REPLY...
primary_cmd() {
	echo "$1" >&3
	for _ in $(seq 60); do
		grep -q "^$2" "$tmp/primary.log" && break
		sleep 1
	done
	grep "^$2" "$tmp/primary.log" | tail -1 | sed 's/^/  [primary] /'
	grep "^$2" "$tmp/primary.log" | tail -1 | grep -q "^$2 ok"
}

copier() {
	timeout 120 "$peer" copier "$1" "${sec[@]}" > "$tmp/copier$1.log" 2>&1
	local rc=$?
	sed "s/^/  [copier$1] /" "$tmp/copier$1.log"
	[ $rc = 0 ] && grep -q "^copier ok" "$tmp/copier$1.log"
}

copier 2 || fail "a secondary could not copy through the primary's dma_mmrt0"
primary_cmd "check 2" checked || fail "DST does not hold the secondary's copy"
echo "ok: a secondary starts the primary's dma_mmrt0 and copies through it (its engine runs there)"
echo "ok: rte_vdev_init() of a new dma_mmrt device in a secondary fails with -ENOTSUP"

timeout 120 "$peer" victim "${sec[@]}" > "$tmp/victim.log" 2>&1 &
vpid=$!
for _ in $(seq 60); do
	grep -q '^copying' "$tmp/victim.log" && break
	kill -0 "$vpid" 2>/dev/null || break
	sleep 1
done
grep -q '^copying' "$tmp/victim.log" ||
	{ cat "$tmp/victim.log"; fail "the victim did not start copying"; }
primary_cmd busy busy ||
	fail "the primary stopped or closed a device whose engine runs in a live secondary"
echo "ok: while a secondary's engine runs, the primary's stop and close fail with -EBUSY"
# the peer itself (its parent, timeout(1), reaps it and exits)
kill -KILL "$(sed -n 's/^copying pid \([0-9]*\).*/\1/p' "$tmp/victim.log")"
wait "$vpid" 2>/dev/null
vpid=
sed 's/^/  [victim] /' "$tmp/victim.log"
primary_cmd reap reaped ||
	fail "the killed secondary's engine was not reclaimed"
echo "ok: after SIGKILL mid-copy, mmrt_reap_dead() and rte_dma_stop() in the primary release it; pool count restored"

copier 4 || fail "a new secondary could not start the device again"
primary_cmd "check 4" checked || fail "DST does not hold the new secondary's copy"
echo "ok: a new secondary starts the device again and copies"

held_end primary
grep '^primary done' "$tmp/primary.log" | sed 's/^/  [primary] /'
[ $rc = 0 ] && grep -q '^primary done ok' "$tmp/primary.log" ||
	{ cat "$tmp/primary.log"; fail "the primary exited $rc"; }
echo "PASS"
exit 0
