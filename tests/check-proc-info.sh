#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# Debian's dpdk-proc-info (package dpdk) attaches as a DPDK secondary to a
# running mmrt primary and lists what mmrt put in shared memory.
#
# The primary is proc-info-primary: mmrt up on real hugepages with a known
# --file-prefix, the space "procinfo.as" with a uffd, and dma_mmrt0
# started on lcore 1; it runs until its stdin closes (bounded by its HOLD
# argument). The check passes when
#   - dpdk-proc-info -m (memory segments, memzones, tail queues) exits 0
#     and its memzones hold mmrt's frame pool (mmrt_pool_frames), the
#     pool's rings (RG_mmrt_pool_4k, _2m, _zero), the uffd's fault queue
#     and event ring (mmuf_f_<pid>_*, RG_mmuf_e_<pid>_*) and the dmadev library's
#     shared device data (rte_dma_dev_data);
#   - dma_mmrt0 is among the primary's devices as the secondary sees
#     them: DPDK 22.11's dpdk-proc-info has no dmadev option (--help
#     lists none), so the device is checked in the vdev list the
#     secondary receives from the primary at attach ("receive vdev,
#     dma_mmrt0", bus.vdev at info level);
#   - dpdk-proc-info --show-ring lists the same rings by name;
#   - the primary is still alive afterwards and exits 0 when told to.
#
# Real hugepages are needed: a DPDK 22.11 secondary cannot attach to a
# --no-huge primary (it looks for the primary's hugepage_data /
# hugepage info, which --no-huge does not write). The check uses free
# 2 MiB pages of its own hugetlbfs mount (a temporary directory); as root
# it reserves the missing ones and gives back exactly those, else it
# skips (77). Processes, the mount, the runtime directory
# (/var/run/dpdk/<prefix>) and temporary files are removed on every exit.
#
#   check-proc-info.sh PROC-INFO-PRIMARY
#
# Exit 0 pass, 77 skip (no dpdk-proc-info, one cpu, not root), else fail.

set -u
primary=${1:?usage: $0 PROC-INFO-PRIMARY}
proc_info=${DPDK_PROC_INFO_BIN:-/usr/bin/dpdk-proc-info}
pages=192	# 384 MiB: the primary's -m 256 and room
eal_mb=256

. "$(dirname "$0")/hugetlb-private.sh"

[ -x "$proc_info" ] || skip "$proc_info not found (install Debian's dpdk)"
[ -x "$primary" ] || fail "no $primary"
[ "$(nproc)" -ge 2 ] || skip "needs 2 cpus (dma_mmrt0's engine runs on lcore 1)"
hugetlb_require

tmp=$(mktemp -d /tmp/mmrt-proc-info.XXXXXX)
huge=$tmp/huge
prefix=mmrt-pi-$$
ppid_=
exec 3>&-

trap 'held_cleanup "$prefix"' EXIT

# ---- hugepages: a private mount, the missing pages reserved
hugetlb_setup "$huge" "$pages"

# ---- the primary, held by its stdin. net_null0 (Debian's net_null PMD,
# loaded by the EAL from its plugin directory) is there because
# dpdk-proc-info's --show-* options exit early ("No Ethernet ports")
# without an ethdev.
start_held primary "$primary" 300 -l 0-1 -m "$eal_mb" --huge-dir "$huge" \
	--no-pci --vdev=net_null0 --file-prefix "$prefix" -- --pool-mb 64
echo "primary pid $ppid_, --file-prefix $prefix"

# ---- dpdk-proc-info -m: memzones; the vdev list it receives
# dpdk-proc-info sets the global log level to 6 (NOTICE); the vdev bus
# logs what it receives from the primary at INFO: raise both.
pi=(timeout 120 "$proc_info" --file-prefix "$prefix" --no-pci
	--log-level=info --log-level=bus.vdev:info)
echo "${pi[*]} -- -m"
"${pi[@]}" -- -m > "$tmp/m.log" 2>&1
rc=$?
[ $rc = 0 ] || { tail -30 "$tmp/m.log"; fail "dpdk-proc-info -m exited $rc"; }
zones=$(sed -n '/^------------ MEMORY_ZONES/,/^---------- END_MEMORY_ZONES/p' \
	"$tmp/m.log" | sed -n 's/^Zone [0-9]*: name:<\([^>]*\)>.*/\1/p')
[ -n "$zones" ] || { cat "$tmp/m.log"; fail "no memzones listed"; }
echo "memzones: $(echo "$zones" | tr '\n' ' ')"
for z in mmrt_pool_frames RG_mmrt_pool_4k RG_mmrt_pool_2m RG_mmrt_pool_zero \
	"mmuf_f_${ppid_}_" "RG_mmuf_e_${ppid_}_" rte_dma_dev_data; do
	echo "$zones" | grep -q "^$z" || fail "memzone $z* not listed"
	echo "ok: memzone $(echo "$zones" | grep "^$z" | head -1)"
done
grep -q 'Received [1-9][0-9]* vdevs' "$tmp/m.log" &&
	grep -q 'receive vdev, dma_mmrt0$' "$tmp/m.log" ||
	{ grep -i vdev "$tmp/m.log"; fail "dma_mmrt0 not in the vdev list the secondary received"; }
echo "ok: the secondary received the primary's device dma_mmrt0"

# ---- dpdk-proc-info --show-ring: the rings by name
"${pi[@]}" -- --show-ring > "$tmp/r.log" 2>&1
rc=$?
[ $rc = 0 ] || { tail -30 "$tmp/r.log"; fail "dpdk-proc-info --show-ring exited $rc"; }
for r in mmrt_pool_4k mmrt_pool_2m mmrt_pool_zero "mmuf_e_${ppid_}_"; do
	grep -q "^ring <$r" "$tmp/r.log" ||
		{ cat "$tmp/r.log"; fail "ring $r* not listed by --show-ring"; }
done
echo "ok: --show-ring lists mmrt's rings"

# ---- the primary is undisturbed and exits cleanly
held_end primary "while proc-info attached"
[ $rc = 0 ] || { cat "$tmp/primary.log"; fail "the primary exited $rc"; }
echo "ok: the primary exited 0 after dpdk-proc-info detached"
echo "PASS"
exit 0
