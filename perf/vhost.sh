#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# vhost back-end benchmark (issue 13): examples/vhost_mmrt against stock
# dpdk-testpmd (virtio-user, --no-huge memfd memory), one run, every row
# against its anchor from the same run: the synchronous path
# (rte_vhost_enqueue_burst / rte_vhost_dequeue_burst, CPU copies) with the
# same direction and frame size.
#
#   deq  testpmd txonly -> back-end rxonly (rte_vhost_async_try_dequeue_burst)
#   enq  back-end txonly -> testpmd rxonly (rte_vhost_submit_enqueue_burst
#        + rte_vhost_poll_enqueue_completed)
#
# Paths: sync; async through dma_skeleton0 (DPDK's software dmadev, a
# memcpy thread on process addresses); async through dma_mmrt0 (as=, the
# guest memory as host mappings); the same with the invalidation churn
# (DONTNEED of a rotating 256 KiB guest range every 200 us).
#
# Values: back-end data-path cycles per packet (busy rounds only, unit
# cycles/pkt, lower is better) and packets per second (first to last
# packet). Placement, on a 2-cpu machine: back-end main lcore (data path)
# on cpu 0, the dmadev engine (dma_mmrt lcore=1, dma_skeleton lcore=1) on
# cpu 1, testpmd's forwarding lcore on cpu 1 (its main lcore on cpu 0,
# idle); the vhost control and churn threads float.
#
# usage: perf/vhost.sh SOURCE_ROOT BUILD_ROOT [--quick]
set -euo pipefail

src=$1 build=$2 secs=4
[ "${3:-}" = --quick ] && secs=2
testpmd=$(command -v dpdk-testpmd) || { echo "no dpdk-testpmd"; exit 77; }
work=$(mktemp -d /tmp/perf-vhost.XXXXXX)
pids=()
# Where the EAL keeps its runtime directories (eal_create_runtime_dir).
dpdk_run_base() {
	if [ "$(id -u)" = 0 ]; then echo /var/run
	else echo "${XDG_RUNTIME_DIR:-/tmp}"; fi
}
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work" "$(dpdk_run_base)/dpdk/perf-vhost-$$"
}
trap cleanup EXIT

export PKG_CONFIG_PATH=$build/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export LD_LIBRARY_PATH=$build/lib:$build/pmd${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
make -s -C "$src/examples/vhost_mmrt" O="$work/bin" >/dev/null
be=$work/bin/vhost_mmrt

# run NAME DIR LEN VDEV BEARGS -> "$work/NAME.be"
run() {
	local name=$1 dir=$2 len=$3 vdev=$4 beargs=$5 sock=$work/$1.sock
	local bfwd pfwd bpid tpid i
	if [ "$dir" = deq ]; then bfwd=rxonly pfwd=txonly; else bfwd=txonly pfwd=rxonly; fi
	# shellcheck disable=SC2086
	timeout -k 5 60 "$be" ${vdev:+--vdev=$vdev} -- --socket "$sock" \
		--exit-on-destroy --expect-traffic --stats 0 --no-verify --fwd $bfwd \
		--pkt-len "$len" $beargs >"$work/$name.be" 2>&1 &
	bpid=$!
	pids+=("$bpid")
	for i in $(seq 600); do
		[ -S "$sock" ] && break
		kill -0 "$bpid" 2>/dev/null || break
		sleep 0.1
	done
	{
		printf 'set fwd %s\nstart\n' "$pfwd"
		sleep "$secs"
		printf 'stop\n'
		sleep 1
		printf 'quit\n'
	} | timeout -k 5 60 "$testpmd" -l 0-1 --no-huge -m 256 --no-pci \
		--file-prefix "perf-vhost-$$" \
		--vdev "net_virtio_user0,path=$sock,queues=1" -- -i \
		--total-num-mbufs=4096 --nb-cores=1 --txpkts="$len" \
		>"$work/$name.pmd" 2>&1 &
	tpid=$!
	pids+=("$tpid")
	wait "$tpid" || true
	wait "$bpid" || true
}

val() { # NAME FIELD
	sed -n "s/^totals:.* $2 \([0-9.]*\).*/\1/p" "$work/$1.be"
}

# MMRT_VDEV_EXTRA: more devargs for dma_mmrt0 (e.g. idle=spin);
# DIRS, LENS, PATHS: subsets (default: all).
mmrt_vdev=dma_mmrt0,as=vhost_mmrt,lcore=1,ack_us=10000000${MMRT_VDEV_EXTRA:+,$MMRT_VDEV_EXTRA}
printf '%-34s %-10s %12s %-22s %12s %8s %6s %s\n' name unit value anchor \
	anchor_val ratio target verdict
paths=${PATHS:-skel mmrt churn} # and sync, the anchor, always
for dir in ${DIRS:-deq enq}; do
	for len in ${LENS:-64 1518}; do
		run "sync-$dir-$len" $dir $len "" "--sync"
		for p in $paths; do
			case $p in
			skel) run "skel-$dir-$len" $dir $len \
				"dma_skeleton0,lcore=1" "--dma dma_skeleton0" ;;
			mmrt) run "mmrt-$dir-$len" $dir $len "$mmrt_vdev" \
				"--dma dma_mmrt0" ;;
			churn) run "churn-$dir-$len" $dir $len "$mmrt_vdev" \
				"--dma dma_mmrt0 --churn inval" ;;
			esac
		done
		a=$(val "sync-$dir-$len" cycles_per_pkt)
		ap=$(val "sync-$dir-$len" pps)
		for p in sync $paths; do
			n=$p-$dir-$len
			v=$(val "$n" cycles_per_pkt) pps=$(val "$n" pps)
			if ! grep -q '^vhost_mmrt: OK' "$work/$n.be"; then
				echo "$n: back-end did not end OK:"
				tail -n 5 "$work/$n.be"
				continue
			fi
			awk -v n="vhost.$n.cycles" -v v="$v" -v a="$a" 'BEGIN {
				printf "%-34s %-10s %12.1f %-22s %12.1f %8.2f %6s %s\n",
					n, "cyc/pkt", v, "sync path, same run", a,
					(a > 0 ? v / a : 0), "-", "report" }'
			awk -v n="vhost.$n.pps" -v v="$pps" -v a="$ap" 'BEGIN {
				printf "%-34s %-10s %12.0f %-22s %12.0f %8.2f %6s %s\n",
					n, "pkt/s", v, "sync path, same run", a,
					(a > 0 ? v / a : 0), "-", "report (higher is better)" }'
			grep -q 'invals [1-9]' "$work/$n.be" &&
				echo "    ($n: $(sed -n 's/^totals:.*\(invals [0-9]*\).*/\1/p' "$work/$n.be") during the run)"
		done
	done
done
