#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# DPDK's own dmadev suite as a stock client of dma_mmrt: Debian's
# dpdk-test (package dpdk-dev) loads the plugin with EAL -d, creates
# --vdev=dma_mmrt0 (mirror mode: the test's mbuf IOVAs go through the
# DPDK-memory mirror, and the driver attaches mmrt itself) and runs
# dmadev_autotest. Passes only if the test says OK and the dma_mmrt0
# instance ran the copy, burst capacity, error handling and fill groups,
# each with every op completed (the error group with its expected errors).
#
#   check-dmadev-autotest.sh PLUGIN.so [no-huge|in-memory] [dev]
#
# Third argument "dev": a real dmadev behind the translation,
# --vdev=dma_skeleton0 --vdev=dma_mmrt0,dev=dma_skeleton0 (the bridge
# mode). The skeleton instance is tested too (before and after dma_mmrt0
# used it); dma_mmrt0 then advertises no fill, so its fill group must be
# skipped, and copy, burst capacity and error handling must run.
#
# Second argument "in-memory": run under --in-memory on real hugepages
# instead of --no-huge. Uses free 2 MiB hugepages; with none free, as root,
# reserves the missing ones up to 256 (512 MiB) through
# /proc/sys/vm/nr_hugepages (what dpdk-hugepages.py writes), mounting
# hugetlbfs on /dev/hugepages if nothing is, and gives back exactly the
# pages it reserved (and unmounts what it mounted); otherwise skips (77)
# and says why.
#
# Exit 0 pass, 77 skip (no dpdk-test, one cpu, no hugepages), else fail.

set -u
plugin=${1:?usage: $0 PLUGIN.so [in-memory]}
mode=${2:-no-huge}
behind=${3:-}
case "$behind" in
'') vdevs=(--vdev=dma_mmrt0); groups=(copy 'burst capacity' 'error handling' fill) ;;
dev) vdevs=(--vdev=dma_skeleton0 --vdev=dma_mmrt0,dev=dma_skeleton0)
	groups=(copy 'burst capacity' 'error handling') ;;
*) echo "FAIL: unknown variant $behind"; exit 1 ;;
esac
dpdk_test=${DPDK_TEST_BIN:-/usr/bin/dpdk-test}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ -x "$dpdk_test" ] || skip "$dpdk_test not found (install Debian's dpdk-dev)"
[ -f "$plugin" ] || fail "no plugin at $plugin"
[ "$(nproc)" -ge 2 ] || skip "needs 2 cpus (-l 0-1: the engine runs on lcore 1)"
plugin=$(realpath "$plugin")

# EAL refuses a -d path with a world-writable ancestor (such as /tmp):
# then load the plugin with LD_PRELOAD instead (its constructor registers
# the driver just the same) and say so.
load=(-d "$plugin")
preload=
d=$(dirname "$plugin")
while [ "$d" != / ]; do
	if [ -n "$(find "$d" -maxdepth 0 -perm -0002)" ]; then
		echo "note: $d is world-writable, EAL would refuse -d; using LD_PRELOAD"
		load=()
		preload=$plugin
		break
	fi
	d=$(dirname "$d")
done

log=$(mktemp)
reserved=0
mounted=0
cleanup() {
	rm -f "$log"
	[ "$mounted" = 1 ] && umount /dev/hugepages
	if [ "$reserved" -gt 0 ]; then
		# give back exactly the pages reserved here
		total=$(awk '/^HugePages_Total/ { print $2 }' /proc/meminfo)
		echo $((total - reserved)) > /proc/sys/vm/nr_hugepages
		echo "gave back $reserved hugepages"
	fi
}
trap cleanup EXIT

case "$mode" in
no-huge)
	mem=(--no-huge -m 512)
	;;
in-memory)
	free=$(awk '/^HugePages_Free/ { print $2 }' /proc/meminfo)
	if [ "${free:-0}" -lt 256 ]; then
		[ "$(id -u)" = 0 ] || skip "in-memory: $free free 2 MiB hugepages, need 256 (not root: cannot reserve)"
		[ -w /proc/sys/vm/nr_hugepages ] ||
			skip "in-memory: cannot write /proc/sys/vm/nr_hugepages"
		mkdir -p /dev/hugepages
		if ! mountpoint -q /dev/hugepages; then
			mount -t hugetlbfs nodev /dev/hugepages ||
				skip "in-memory: cannot mount hugetlbfs on /dev/hugepages"
			mounted=1
		fi
		before=$(awk '/^HugePages_Total/ { print $2 }' /proc/meminfo)
		want=$((256 - free))
		echo $((before + want)) > /proc/sys/vm/nr_hugepages
		after=$(awk '/^HugePages_Total/ { print $2 }' /proc/meminfo)
		reserved=$((after - before))
		echo "reserved $reserved 2 MiB hugepages (wanted $want)"
		free=$(awk '/^HugePages_Free/ { print $2 }' /proc/meminfo)
		[ "$free" -ge 256 ] ||
			skip "in-memory: only $free free hugepages after reserving"
	fi
	# VA: the driver does not set the IOVA-as-VA flag, and root with
	# hugepages would otherwise get PA (where the test skips its error
	# group)
	mem=(--in-memory -m 512 --iova-mode=va)
	;;
*)
	fail "unknown mode $mode"
	;;
esac

cmd=("$dpdk_test" "${mem[@]}" --no-pci --no-shconf -l 0-1 "${load[@]}"
	"${vdevs[@]}")
echo "DPDK_TEST=dmadev_autotest ${preload:+LD_PRELOAD=$preload }${cmd[*]}"
DPDK_TEST=dmadev_autotest LD_PRELOAD=$preload timeout 600 "${cmd[@]}" \
	< /dev/null > "$log" 2>&1
rc=$?

# The per-group progress lines end in \r; keep the last counter of each
# group of the dma_mmrt0 instance.
summary=$(tr '\r' '\n' < "$log" | awk '
	/^### Test dmadev instance/ { inst = ($0 ~ /\[dma_mmrt0\]/) ; next }
	!inst { next }
	/^DMA Dev [0-9]+: / { if (g != "") print g " -> " last
		g = $0; sub(/ +$/, "", g); last = ""; next }
	/Ops submitted:/ { last = $0 }
	END { if (g != "") print g " -> " last }')
grep -a -E '^(EAL: Selected IOVA|dma_mmrt|### Test dmadev instance|Test OK|Test Failed|Test Skipped)' "$log"
echo "dma_mmrt0 groups:"
echo "$summary" | sed 's/^/  /'

if [ $rc -ne 0 ]; then
	tr '\r' '\n' < "$log" | grep -a -v 'Ops submitted' | tail -40
	[ $rc -eq 77 ] && fail "dpdk-test skipped the test (exit 77): no dmadev tested"
	fail "dpdk-test exit $rc"
fi
grep -aq '^### Test dmadev instance [0-9]* \[dma_mmrt0\]' "$log" ||
	fail "the dma_mmrt0 instance was not tested"
if [ "$behind" = dev ]; then
	echo "$summary" | grep -q 'No device fill support' ||
		fail "dma_mmrt0 with dev=: the fill group was not skipped"
	grep -aq '^### Test dmadev instance [0-9]* \[dma_skeleton0\]' "$log" ||
		fail "the dma_skeleton0 instance was not tested"
fi
for g in "${groups[@]}"; do
	line=$(echo "$summary" | grep "Running $g Tests") ||
		fail "dma_mmrt0: group '$g' did not run"
	read -r sub cpl err <<< "$(echo "$line" | sed -E \
		's/.*Ops submitted: *([0-9]+)[[:space:]]+Ops completed: *([0-9]+)[[:space:]]+Errors: *([0-9]+).*/\1 \2 \3/')"
	[ -n "$sub" ] && [ "$sub" -gt 0 ] && [ "$sub" = "$cpl" ] ||
		fail "dma_mmrt0: group '$g': $line"
	if [ "$g" = 'error handling' ]; then
		[ "$err" -gt 0 ] || fail "dma_mmrt0: no errors in the error group"
	else
		[ "$err" = 0 ] || fail "dma_mmrt0: group '$g' had errors"
	fi
done
echo "PASS ($mode${behind:+, $behind})"
exit 0
