#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# examples/vhost_mmrt against a stock front-end: Debian's dpdk-testpmd with
# --vdev=net_virtio_user0 in a second process. Each case starts the
# back-end and testpmd, drives testpmd through its command line (start,
# stop, show port stats, quit), lets the back-end exit when the device
# goes, and compares the two sides' packet and byte counts; the back-end
# checks every packet it receives (headers, and for its own packets the
# payload and the order) and fails on a bad one.
#
# Memory: virtio-user shares its memory with the back-end by file
# descriptor; DPDK 22.11's --no-huge memory is a memfd, so both processes
# run without hugepages (nothing to reserve or give back).
#
# usage: check-vhost.sh SOURCE_ROOT BUILD_ROOT
# Exit 77 (skip) when the machine cannot run virtio-user at all.
set -euo pipefail

src=$1 build=$2
testpmd=${TESTPMD:-$(command -v dpdk-testpmd || true)}
work=$(mktemp -d /tmp/check-vhost.XXXXXX)
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
	# testpmd's runtime directories (the back-end's go with it)
	rm -rf "$(dpdk_run_base)/dpdk/vhost-$$-"*
	# KEEP=1: leave the logs for a look
	if [ -n "${KEEP:-}" ]; then
		echo "logs in $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

skip() {
	echo "SKIP: $*"
	exit 77
}

[ -n "$testpmd" ] || skip "no dpdk-testpmd (apt-get install dpdk)"
pmds=$(pkg-config --variable=pmdsdir libdpdk 2>/dev/null || true)
[ -n "$pmds" ] || pmds=$(echo /usr/lib/*/dpdk/pmds-*)
ls "$pmds"/librte_net_virtio.so* >/dev/null 2>&1 ||
	skip "no net_virtio PMD in $pmds"

# The back-end, built out of tree against the build tree as in
# examples/README.md.
export PKG_CONFIG_PATH=$build/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export LD_LIBRARY_PATH=$build/lib:$build/pmd${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
make -s -C "$src/examples/vhost_mmrt" O="$work/bin" >/dev/null
be=$work/bin/vhost_mmrt

fails=0
ncase=0

# The engine's invalidation ack deadline: on two shared cpus an engine
# lcore may be off cpu for long; a fenced engine fails its copies, which
# vhost 22.11 cannot handle (its ring stops), so allow 10 s.
dma_vdev=dma_mmrt0,as=vhost_mmrt,lcore=1,ack_us=10000000

# run_case NAME "BACKEND ARGS" "TESTPMD COMMANDS" [SECONDS] [TX_LEN]
# Starts the back-end on a fresh socket, then testpmd in interactive mode
# reading the commands from a pipe: "set fwd ...; start", SECONDS of
# traffic, "stop", a pause for the back-end to drain its rings, "show port
# stats all", "quit". Leaves the logs in $work/NAME.{be,pmd}.
run_case() {
	if [ -n "${CASES:-}" ] && ! grep -qw -- "$1" <<<"$CASES"; then
		return
	fi
	local name=$1 beargs=$2 cmds=$3 secs=${4:-3} txlen=${5:-64}
	local sock=$work/$name.sock i bpid tpid
	ncase=$((ncase + 1))
	# A generator starts once testpmd's port is up: virtio's port start
	# drops what its receive ring held before (the guest's own flush).
	if grep -q -- '--count' <<<"$beargs"; then
		beargs="$beargs --start-on-usr1"
	fi
	# shellcheck disable=SC2086
	timeout -k 5 100 "$be" ${dma_vdev:+--vdev=$dma_vdev} -- --socket "$sock" \
		--exit-on-destroy --stats 0.5 --duration 90 $beargs \
		>"$work/$name.be" 2>&1 &
	bpid=$!
	pids+=("$bpid")
	for i in $(seq 600); do
		[ -S "$sock" ] && break
		kill -0 "$bpid" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -S "$sock" ]; then
		cat "$work/$name.be"
		echo "FAIL $name: the back-end did not create $sock"
		fails=$((fails + 1))
		wait "$bpid" || true
		return
	fi
	{
		if grep -q -- '--start-on-usr1' <<<"$beargs"; then
			port_up "$name"
			# the back-end itself, not timeout(1) in front of it
			pkill -USR1 -P "$bpid" || true
		fi
		echo "$cmds"
		sleep "$secs"
		# a back-end generator: until testpmd received all it sent
		grep -q -- '--count' <<<"$beargs" && settle "$name" "$beargs" rx
		echo "stop"
		settle "$name" "$beargs"
		echo "quit"
	} | timeout -k 5 90 $stdbuf "$testpmd" -l 0-1 --no-huge -m 256 --no-pci \
		--file-prefix "vhost-$$-$name" \
		--vdev "net_virtio_user0,path=$sock,queues=1" -- -i \
		--total-num-mbufs=4096 --nb-cores=1 --txpkts="$txlen" --no-flush-rx \
		>"$work/$name.pmd" 2>&1 &
	tpid=$!
	pids+=("$tpid")
	wait "$tpid" || true
	wait "$bpid" || true
}

# testpmd answers "show port stats all" once its port is started (its
# output line-buffered where stdbuf exists), at most 60 s. Runs inside
# the command feeder.
port_up() {
	local i
	for i in $(seq 120); do
		echo "show port stats all"
		sleep 0.5
		[ -n "$(pmd_stat "$work/$1.pmd" RX-packets)" ] && break
	done
}
stdbuf=$(command -v stdbuf >/dev/null && echo "stdbuf -oL" || true)

# After "stop" (or before it, with "rx": until testpmd received all the
# back-end delivered): ask testpmd for its port statistics until both sides
# agree (the back-end still drains testpmd's transmit ring, and a
# back-end generator may still be delivering), at most 30 s. Runs inside
# the command feeder: its output goes to testpmd.
settle() {
	local name=$1 i p_tx p_rx b_rx b_tx
	for i in $(seq 60); do
		if [ "${3:-}" = rx ]; then
			echo "show port stats all"
			sleep 0.5
			grep -q '^txonly: all' "$work/$name.be" || continue
			p_rx=$(pmd_stat "$work/$name.pmd" RX-packets)
			b_tx=$(sed -n 's/.*to guest: \([0-9]*\) pkts.*/\1/p' \
				"$work/$name.be" | tail -n 1)
			[ "$p_rx" = "$b_tx" ] && break
			continue
		fi
		echo "show port stats all"
		sleep 0.5
		p_tx=$(pmd_stat "$work/$name.pmd" TX-packets)
		p_rx=$(pmd_stat "$work/$name.pmd" RX-packets)
		b_rx=$(sed -n 's/.*from guest: \([0-9]*\) pkts.*/\1/p' \
			"$work/$name.be" | tail -n 1)
		b_tx=$(sed -n 's/.*to guest: \([0-9]*\) pkts.*/\1/p' \
			"$work/$name.be" | tail -n 1)
		[ -n "$p_tx" ] && [ "$p_tx" = "$b_rx" ] || continue
		# io: the last packets may sit in the unpolled receive ring
		[ "$name" = io-io ] || [ "$p_rx" = "$b_tx" ] || continue
		# and the generator, if any, is done
		! grep -q -- '--count' <<<"$2" ||
			grep -q '^txonly: all' "$work/$name.be" || continue
		break
	done
}

# Numbers out of the logs.
pmd_stat() { # LOG FIELD: from "show port stats all"
	sed -n "s/.*$2: *\([0-9]*\).*/\1/p" "$1" | tail -n 1
}
be_stat() { # LOG FIELD: from the back-end's "totals:" line
	sed -n "s/^totals:.* $2 \([0-9.]*\).*/\1/p" "$1"
}

# expect NAME DESCRIPTION LEFT RIGHT
expect() {
	if [ "$3" != "$4" ]; then
		echo "FAIL $1: $2: $3 != $4"
		fails=$((fails + 1))
		return 1
	fi
	return 0
}

# check_case NAME KIND: common checks, then per kind.
check_case() {
	if [ -n "${CASES:-}" ] && ! grep -qw -- "$1" <<<"$CASES"; then
		return
	fi
	local name=$1 kind=$2 be=$work/$1.be pmd=$work/$1.pmd ok=0
	local b_rx b_rxb b_tx b_txb p_rx p_rxb p_tx p_txb gen back
	if ! grep -q '^vhost_mmrt: OK' "$be"; then
		tail -n 20 "$be"
		echo "FAIL $name: the back-end did not end OK"
		fails=$((fails + 1))
		return
	fi
	if ! grep -q 'RX-packets' "$pmd"; then
		tail -n 20 "$pmd"
		echo "FAIL $name: no port statistics from testpmd"
		fails=$((fails + 1))
		return
	fi
	b_rx=$(be_stat "$be" rx)
	b_rxb=$(sed -n 's/^totals:.* rx [0-9]* pkts \([0-9]*\) bytes.*/\1/p' "$be")
	b_tx=$(be_stat "$be" tx)
	b_txb=$(sed -n 's/^totals:.* tx [0-9]* pkts \([0-9]*\) bytes.*/\1/p' "$be")
	gen=$(be_stat "$be" generated) back=$(be_stat "$be" back_in_order)
	p_rx=$(pmd_stat "$pmd" RX-packets) p_rxb=$(pmd_stat "$pmd" RX-bytes)
	p_tx=$(pmd_stat "$pmd" TX-packets) p_txb=$(pmd_stat "$pmd" TX-bytes)
	expect "$name" "testpmd RX-errors" "$(pmd_stat "$pmd" RX-errors)" 0 || ok=1
	expect "$name" "testpmd TX-errors" "$(pmd_stat "$pmd" TX-errors)" 0 || ok=1
	expect "$name" "back-end bad packets" "$(be_stat "$be" bad)" 0 || ok=1
	expect "$name" "back-end drops" "$(be_stat "$be" drops)" 0 || ok=1
	# guest -> back-end: everything testpmd sent was received
	expect "$name" "testpmd TX-packets = back-end rx" "$p_tx" "$b_rx" || ok=1
	expect "$name" "testpmd TX-bytes = back-end rx bytes" "$p_txb" "$b_rxb" || ok=1
	case $kind in
	rx)	# testpmd txonly -> back-end rxonly
		[ "$b_rx" -gt 0 ] || { echo "FAIL $name: no traffic"; ok=1; } ;;
	tx)	# back-end txonly (count) -> testpmd rxonly
		expect "$name" "back-end generated = delivered" "$gen" "$b_tx" || ok=1
		expect "$name" "back-end delivered = testpmd RX-packets" "$b_tx" "$p_rx" || ok=1
		expect "$name" "back-end bytes = testpmd RX-bytes" "$b_txb" "$p_rxb" || ok=1 ;;
	loop)	# back-end txonly (count) -> testpmd mac -> back-end: every
		# packet that came back is one of ours, intact, in order and
		# once; those testpmd dropped (its TX ring full) are the gaps
		expect "$name" "generated = delivered" "$gen" "$b_tx" || ok=1
		expect "$name" "delivered = testpmd RX-packets" "$b_tx" "$p_rx" || ok=1
		expect "$name" "back-end bytes = testpmd RX-bytes" "$b_txb" "$p_rxb" || ok=1
		expect "$name" "back-end rx = ours back in order" "$b_rx" "$back" || ok=1
		[ "$back" -gt 0 ] || { echo "FAIL $name: nothing came back"; ok=1; } ;;
	io)	# testpmd io (tx_first) <-> back-end io: testpmd's first
		# burst circulates; what the back-end delivered last may sit
		# in the guest's receive ring, unpolled after "stop".
		expect "$name" "back-end forwarded all it received" "$b_rx" "$b_tx" || ok=1
		if [ "$b_tx" -lt "$p_rx" ] || [ "$b_tx" -gt $((p_rx + 32)) ]; then
			echo "FAIL $name: back-end delivered $b_tx, testpmd received $p_rx (more than one burst apart)"
			ok=1
		fi
		[ "$b_rx" -gt 32 ] || { echo "FAIL $name: no circulation"; ok=1; } ;;
	esac
	if [ $ok -ne 0 ]; then
		fails=$((fails + 1))
		tail -n 8 "$be"
		return
	fi
	echo "ok   $name: back-end rx $b_rx/$b_rxb B tx $b_tx/$b_txb B," \
		"testpmd rx $p_rx/$p_rxb B tx $p_tx/$p_txb B," \
		"$(sed -n 's/^totals:.*\( invals [0-9]* remaps [0-9]*\).*\( lost [0-9]*\).*/\1\2/p' "$be")"
}

N=2000
async="--dma dma_mmrt0"

run_case txonly-rx "$async --fwd rxonly" "set fwd txonly
start"
check_case txonly-rx rx
run_case tx-rxonly "$async --fwd txonly --count $N --pkt-len 1518" \
	"set fwd rxonly
start" 3
check_case tx-rxonly tx
run_case loop-mac "$async --fwd txonly --count $N" "set fwd mac
start"
check_case loop-mac loop
run_case io-io "$async --fwd io" "set fwd io
start tx_first" 3
check_case io-io io
dma_vdev=
run_case loop-sync "--sync --fwd txonly --count $N" "set fwd mac
start"
check_case loop-sync loop
dma_vdev=dma_mmrt0,as=vhost_mmrt,lcore=1,ack_us=10000000
# Churn while traffic flows.
run_case churn-inval-rx "$async --fwd rxonly --churn inval" "set fwd txonly
start"
check_case churn-inval-rx rx
run_case churn-inval-loop "$async --fwd txonly --count $N --churn inval" \
	"set fwd mac
start"
check_case churn-inval-loop loop
run_case churn-remap-loop "$async --fwd txonly --count $N --churn remap" \
	"set fwd mac
start"
check_case churn-remap-loop loop

for f in "$work"/churn-*.be; do
	[ -e "$f" ] || continue
	if ! grep -Eq 'invals [1-9]|remaps [1-9]' "$f"; then
		echo "FAIL $(basename "$f" .be): the churn did nothing"
		fails=$((fails + 1))
	fi
	# the invalidations dropped present translations (each flush is one
	# round of engine acks), under traffic
	case $f in
	*inval*)
		nf=$(sed -n 's/.*space vhost_mmrt: faults [0-9]* flushes \([0-9]*\).*/\1/p' \
			"$f" | tail -n 1)
		if [ "${nf:-0}" -le 1 ]; then
			echo "FAIL $(basename "$f" .be): no invalidation flushed anything"
			fails=$((fails + 1))
		else
			echo "ok   $(basename "$f" .be): $nf invalidation flushes acked by the engine"
		fi ;;
	esac
done

echo "check-vhost: $ncase cases, $fails failed"
[ $fails -eq 0 ]
