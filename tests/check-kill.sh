#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# A killed process loses nothing and stops nothing (issue 14, item 2),
# with real processes: kill-peer (tests/kill_peer.c) as the primary and
# as workers in DPDK secondaries. ROUNDS rounds (default 50), each:
#   - the primary starts a round: its faulter reads userfault pages the
#     worker serves, and it protects the worker's source range read-only
#     and back every few ms (invalidations the worker's consumer acks);
#   - the worker (copying through its consumer's translations, in 1 KiB
#     pieces, and holding userfaults it read for 0-4 ms before serving
#     them) is killed with SIGKILL after a random 50-399 ms; odd rounds
#     wait for it at once, even ones leave it a zombie until after the
#     reclaim (liveness must see both);
#   - fence: the primary unmaps pages the dead consumer cached: it misses
#     its ack deadline and is fenced; no frame its TLB reaches is free;
#     a grace period ends (its reader slots were freed); it unmaps and
#     maps again the range the worker held pinned (the old frames stay
#     held by the dead pin);
#   - reap: mmrt_reap_dead() reclaims exactly one process, its consumer
#     is gone, its pin released (no page pinned; the old frames free);
#   - the next round's worker attaches on the same lcore and works (it
#     serves the fault the dead one had read: the primary's faulter
#     finishes);
#   - end: the pool's free count equals the round's baseline, the canary
#     is intact, the primary's own consumer translates and gets
#     invalidations.
# Then two negative controls, each one round with a test-only hook that
# skips one reclaim step, which the primary must catch:
#   KILL_SKIP=qsbr        the dead process's reader slots are kept: the
#                         grace period does not end
#   KILL_SKIP=quarantine  the dead consumer's fence holds no frame: its
#                         TLB reaches freed frames
#
# A process killed inside an mmrt call that holds a shared lock had it
# recorded (robust locks, docs/architecture.md "Processes"): the reap
# releases it. check-robust.sh kills inside each lock class on purpose.
#
# Real hugepages are needed (a DPDK secondary cannot attach to a --no-huge
# primary): as root a private hugetlbfs mount and only the missing pages
# are reserved, and given back; else skip (77). Sanitizer builds skip.
#
#   check-kill.sh KILL-PEER [--asan]
#
# Exit 0 pass, 77 skip, else fail.

set -u
peer=${1:?usage: $0 KILL-PEER [--asan]}
rounds=${ROUNDS:-50}
pages=300	# two primaries' -m 256 one after the other, and room
eal_mb=256

. "$(dirname "$0")/hugetlb-private.sh"
secondary_require "$peer" "${2:-}" worker

tmp=$(mktemp -d /tmp/mmrt-kill.XXXXXX)
huge=$tmp/huge
prefix=
prefixes=()
ppid_=
wpid=
exec 3>&-

cleanup() {
	exec 3>&- 2>/dev/null
	stop_pid "$wpid"
	held_cleanup "${prefixes[@]}"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

hugetlb_setup "$huge" "$pages"
eal_common=(--huge-dir "$huge" --no-pci --no-telemetry
	--log-level=lib.eal:error)

# wait_n LOG PATTERN N: until LOG has N lines matching ^PATTERN (bounded)
wait_n() {
	local i
	for i in $(seq 1200); do
		[ "$(grep -c "^$2" "$tmp/$1.log")" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# start_primary NAME [ENV...]: a held primary, commands on fd 3
start_primary() {
	local name=$1; shift
	prefix=mmrt-kill-$$-$name
	prefixes+=("$prefix")
	rm -f "$tmp/ctl"
	mkfifo "$tmp/ctl"
	env "$@" "$peer" primary 1800 -l 0 -m "$eal_mb" "${eal_common[@]}" \
		--file-prefix "$prefix" -- --pool-mb 64 \
		< "$tmp/ctl" > "$tmp/$name.log" 2>&1 &
	ppid_=$!
	exec 3> "$tmp/ctl"
	wait_n "$name" ready 1 || { cat "$tmp/$name.log"; fail "$name did not come up"; }
	plog=$name
}

# start_worker N: a worker secondary on lcore 1; the pid of its
# timeout(1) in wpid, its own in wself
start_worker() {
	timeout 1800 "$peer" worker "$1" -l 1 --proc-type=secondary \
		--file-prefix "$prefix" "${eal_common[@]}" \
		> "$tmp/w$1.log" 2>&1 &
	wpid=$!
	wait_n "w$1" working 1 ||
		{ cat "$tmp/w$1.log"; fail "worker $1 did not start working"; }
	wself=$(sed -n 's/^working pid //p' "$tmp/w$1.log")
}

# cmd CMD REPLY N: send CMD, wait for the Nth REPLY line, print it
cmd() {
	echo "$1" >&3
	wait_n "$plog" "$2" "$3" ||
		{ tail -20 "$tmp/$plog.log"; fail "no reply to $1 (round $3)"; }
	grep "^$2" "$tmp/$plog.log" | sed -n "${3}p" | sed "s/^/  [$plog] /"
	grep "^$2" "$tmp/$plog.log" | sed -n "${3}p" | grep -q "$2 ok\|$2 [0-9]* ok"
}

kill_worker() {
	sleep "0.$(printf %03d $((RANDOM % 350 + 50)))"
	kill -9 "$wself"
}

# ---- the rounds
start_primary main
start_worker 0
grep '^pin' "$tmp/w0.log" | sed 's/^/  [w0] /'
for r in $(seq "$rounds"); do
	echo "round $r"
	cmd begin begun "$r" || fail "round $r: begin"
	kill_worker
	dead=$wpid
	[ $((r % 2)) = 1 ] && wait "$dead" 2>/dev/null
	cmd fence fenced "$r" || fail "round $r: fence"
	cmd reap reaped "$r" || fail "round $r: reap"
	[ $((r % 2)) = 0 ] && wait "$dead" 2>/dev/null
	start_worker "$r"
	cmd end round "$r" || fail "round $r: end"
done
kill -TERM "$wself"
wait "$wpid"
wrc=$?
wpid=
tail -1 "$tmp/w$rounds.log" | sed "s/^/  [w$rounds] /"
[ $wrc = 0 ] || { cat "$tmp/w$rounds.log"; fail "the last worker exited $wrc"; }
exec 3>&-
wait "$ppid_"
rc=$?
ppid_=
grep '^primary done' "$tmp/main.log" | sed 's/^/  [main] /'
[ $rc = 0 ] && grep -q '^primary done ok' "$tmp/main.log" ||
	{ tail -30 "$tmp/main.log"; fail "the primary exited $rc"; }
echo "ok: $rounds rounds: killed workers reclaimed, pool restored, new" \
	"workers attached and served"
rm -f "$huge"/*

# ---- negative controls: each must be caught
for ctl in qsbr quarantine; do
	start_primary "ctl-$ctl" KILL_SKIP=$ctl
	start_worker "c$ctl"
	echo begin >&3
	wait_n "$plog" begun 1 || fail "control $ctl: begin"
	kill_worker
	wait "$wpid" 2>/dev/null
	wpid=
	echo fence >&3
	wait_n "$plog" control 1 ||
		{ tail -20 "$tmp/$plog.log"; fail "control $ctl: no verdict"; }
	wait "$ppid_"
	rc=$?
	ppid_=
	exec 3>&-
	grep '^control' "$tmp/$plog.log" | sed "s/^/  [$plog] /"
	[ $rc = 0 ] && grep -q '^control caught' "$tmp/$plog.log" ||
		fail "negative control $ctl was not caught"
	rm -f "$huge"/*
	echo "ok: negative control $ctl caught"
done
echo "PASS"
exit 0
