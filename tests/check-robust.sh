#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# Locks held by a process at the moment of its death (issue 14: "a killed
# process ... stops nothing"), with real processes: robust-peer
# (tests/robust_peer.c) as the primary and as victim secondaries.
#
#   1. Deterministic: for each case CLASS AT NTH below, a victim arms
#      mmrt_test_lock_kill() and works (uffd copies and drops, pins,
#      objects, protects, consumer binds) until the hook raises SIGKILL
#      at the NTH pass of a lock of CLASS at moment AT (held; waiting;
#      taken: the word changed, the record not yet; releasing). It must
#      die by SIGKILL. Then the primary's "check": reap, then unmap/map/
#      register, protect, fork, pin, object, uffd copy on the same space,
#      within a bounded wait (a hang bound, not a measurement), no victim
#      consumer left, the pool's free count back to the baseline.
#   2. Random moments: ROUNDS victims (default 20) killed by this script
#      after a random 20-319 ms of that loop, each checked the same way.
#      The loop leaves out the calls that allocate from DPDK's heap each
#      pass (pin, object, bind: the victim holds a pin and a binding
#      taken before): a process killed inside rte_malloc()/rte_free()
#      leaves DPDK's heap lock held, and every process's next DPDK
#      allocation waits for ever (seen: the reaper's rte_free() of the
#      dead consumer). That lock is DPDK's, not mmrt's: no reaper can
#      release it (its word holds 1, no owner).
#   3. Negative control: a primary with ROBUST_SKIP=1 (the reaper does not
#      release locks) and a victim killed holding a map lock: the check
#      must hang ("control caught hang in ...").
#   Frames in flight (lib/mm/mm_fly.h): a victim killed between a
#   frame's allocation and its publication (mmrt_uffd_copy()'s
#   fill_page(): allocated and filled before the PT lock, installed under
#   it), or with frames unhooked into a gather it never flushed, held
#   frames that only its record shows; the reap returns them. The pool's
#   own steps (lib/mem/pool.c: a frame between a cache and the caller's
#   record, a put's last reference dropped and the frame not back in a
#   cache yet) are the pool record's, reaped first. Any loss ("checked
#   LOST n frames"), in a deterministic case or a random round, fails.
#   The "pool" cases kill at the pool's moments (mmrt_test_pool_kill():
#   a cache's frame in the caller's slot; the cache's length down; the
#   frame initialized but its count; a ring burst into the cache; a
#   put's last reference dropped; the frame marked free) and at lib/mm's
#   (a walk's new table before its lock; a fault's demand-zero and
#   copy-on-write frame before its lock). "pool refill 1" comes first:
#   the victims' lcore's cache is empty only then. "pool-nl" victims
#   fault and drop a page in a thread without an lcore id: the pool's
#   ring paths (a frame dequeued into the caller's slot; a put's last
#   drop before the frame goes to the ring).
#   4. Negative control of frames in flight: a primary with
#      ROBUST_SKIP=fly (the reap leaves the records alone) and victims
#      killed holding a frame in flight (a pt lock held, pass 1: a new
#      table's or a fill's frame) and a DONTNEED's gather, unflushed (pt
#      lock released, pass 6: the zap's upper table, after its leaves):
#      each check must say LOST; the same cases pass in part 1.
#   5. The same with ROBUST_SKIP=pool (the pool's records left alone):
#      victims killed with a frame out of the cache and not initialized
#      ("pool popped 1") and with a put's frame marked free and not back
#      ("pool marked 1"), and with a ring's frame in a thread's slot,
#      not initialized ("pool-nl ring 1"): each check must say LOST.
#   The moments "taken" and "releasing" of read locks are the windows a
#   plain count cannot attribute (between the count's change and the
#   record's): the reader's tag in the word for that transition closes
#   them (lib/core/core_robust.c); the cases below kill there too.
#
# RB_GDB=1: after a hang the primary's threads' stacks (gdb) are shown.
#
# Real hugepages are needed (a DPDK secondary cannot attach to a --no-huge
# primary): as root a private hugetlbfs mount and only the missing pages
# are reserved, and given back; else skip (77). Sanitizer builds skip.
#
#   check-robust.sh ROBUST-PEER [--asan]
#
# Exit 0 pass, 77 skip, else fail.

set -u
peer=${1:?usage: $0 ROBUST-PEER [--asan]}
rounds=${ROUNDS:-20}
pages=300	# primaries' -m 256 one after the other, and room

. "$(dirname "$0")/hugetlb-private.sh"
secondary_setup "$peer" "${2:-}" victim robust "mmrt-rb-$$-main" "$pages" \
	"mmrt-rb-$$-ctl" "mmrt-rb-$$-flyctl" "mmrt-rb-$$-poolctl"
eal_common=(--huge-dir "$huge" --no-pci --no-telemetry
	--log-level=lib.eal:error)
vpid=
held_exit_hook() { stop_pid "$vpid"; }

# start_primary NAME [ENV...]: a held primary of prefix mmrt-rb-$$-NAME
start_primary() {
	local name=$1; shift
	prefix=mmrt-rb-$$-$name
	plog=$name
	start_held "$name" env "$@" "$peer" primary 1800 -l 0 -m 256 \
		"${eal_common[@]}" --file-prefix "$prefix" -- --pool-mb 64
}

# ask CMD WANT: send CMD, wait (bounded) for one more line starting
# with WANT, print it; 0 if it says "WANT ok"
ask() {
	local n i line
	n=$(grep -c "^$2" "$tmp/$plog.log")
	echo "$1" >&3
	for i in $(seq 1500); do
		[ "$(grep -c "^$2" "$tmp/$plog.log")" -gt "$n" ] && break
		kill -0 "$ppid_" 2>/dev/null || break
		sleep 0.1
	done
	line=$(grep "^$2" "$tmp/$plog.log" | sed -n "$((n + 1))p")
	[ -n "$line" ] || { tail -20 "$tmp/$plog.log"; fail "no reply to $1"; }
	echo "  [$plog] $line"
	case $line in
	"$2 ok"*) return 0 ;;
	"$2 LOST"*) return 2 ;;
	esac
	return 1
}

# checked WHAT: the primary's check after a victim's death; a hang, a
# failure or a lost frame fails
checked() {
	ask check checked
	case $? in
	0) return 0 ;;
	2) fail "$1: frames in flight lost" ;;
	esac
	# RB_GDB=1: the primary prints every thread's stack after a hang
	[ -n "${RB_GDB:-}" ] && wait "$ppid_" 2>/dev/null
	tail -${RB_GDB:+300}30 "$tmp/$plog.log"
	fail "$1: the primary did not recover"
}

# victim LOG CLASS AT NTH: start a victim secondary on lcore 1, pid in vpid
victim() {
	"$peer" victim "$2" "$3" "$4" -l 1 --proc-type=secondary \
		--file-prefix "$prefix" "${eal_common[@]}" \
		> "$tmp/$1.log" 2>&1 &
	vpid=$!
}

# victim_died LOG: wait (bounded) for the victim to end; it must have
# been killed by SIGKILL
victim_died() {
	local rc i
	for i in $(seq 1200); do
		kill -0 "$vpid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$vpid" 2>/dev/null; then
		stop_pid "$vpid"
		vpid=
		cat "$tmp/$1.log"
		fail "$1: the victim was not killed by its hook"
	fi
	wait "$vpid"
	rc=$?
	vpid=
	[ $rc = 137 ] || { cat "$tmp/$1.log"; fail "$1: victim exited $rc"; }
}

# ---- 1. deterministic kills, one per case
cases=(
	"pool refill 1" "pool taken 1" "pool popped 1" "pool init 1"
	"pool popped 5" "pool dropped 1" "pool marked 1" "pool marked 3"
	"pool pt 1" "pool fault 1" "pool fault 2"
	"pool-nl ring 1" "pool-nl dropped 1" "pool-nl init 1"
	"map held 1" "map held 5" "map held:w 1" "map taken:w 1"
	"map releasing:w 1" "map waiting 1" "map taken 1" "map taken 4"
	"map releasing 1" "map releasing 3" "changing held 1"
	"changing taken 1" "changing releasing 1"
	"pt held 1" "pt held 9" "pt taken 3" "pt releasing 2"
	"pin held 1" "pins held 1" "pins taken 1" "pins releasing 1"
	"subs held 1" "obj_table held 1" "obj held 1" "as_table held 1"
	"bind held 1" "consumers held 1" "map held 20" "any held 60"
	"pt releasing 6"
)
[ "${RB_RANDOM_ONLY:-0}" = 1 ] && cases=()	# debugging: part 2 only
# debugging: RB_CASES="pt held 1,map held:w 1" runs those cases only
[ -n "${RB_CASES:-}" ] && IFS=, read -ra cases <<< "$RB_CASES"
start_primary main
ask base base || fail "baseline"
k=0
for c in "${cases[@]}"; do
	k=$((k + 1))
	set -- $c
	echo "case $k: killed at pass $3 of a $1 lock at moment $2"
	victim "d$k" "$1" "$2" "$3"
	victim_died "d$k"
	checked "case $k ($c)"
done

# ---- 2. random moments
for r in $(seq "$rounds"); do
	echo "round $r: killed at a random moment"
	victim "r$r" any held 0
	wait_line "$tmp/r$r.log" working "$vpid" 60 ||
		{ cat "$tmp/r$r.log"; fail "round $r: victim did not start"; }
	sleep "0.$(printf %03d $((RANDOM % 300 + 20)))"
	kill -9 "$vpid"
	victim_died "r$r"
	checked "round $r"
done
held_end "$plog"
grep '^primary done' "$tmp/$plog.log" | sed "s/^/  [$plog] /"
[ $rc = 0 ] && grep -q '^primary done ok' "$tmp/$plog.log" ||
	{ tail -30 "$tmp/$plog.log"; fail "the primary exited $rc"; }
cat "$tmp"/main*.log | grep -c "released its" |
	sed 's/^/  locks released by the reaps: /'
grep -h "in flight (a\|unflushed gather\|had not queued\|putting back" \
	"$tmp"/main*.log |
	sed 's/^mmrt_mm: /  reaped: /'
grep -h "(pool record" "$tmp"/main*.log | sed 's/^mmrt_mem: /  reaped: /'
rm -f "$huge"/*

# ---- 3. negative control: the release skipped must hang the primary
start_primary ctl ROBUST_SKIP=1
victim c map held 1
victim_died c
echo check >&3
wait_line "$tmp/ctl.log" control "$ppid_" 120 ||
	{ tail -20 "$tmp/ctl.log"; fail "control: no verdict"; }
grep '^control' "$tmp/ctl.log" | sed 's/^/  [ctl] /'
grep -q '^control caught' "$tmp/ctl.log" || fail "negative control missed"
exec 3>&-
wait "$ppid_"
ppid_=
rm -f "$huge"/*
echo "ok: negative control caught"
# control NAME SKIP CASES WHAT: a primary of prefix NAME with
# ROBUST_SKIP=SKIP (a reap step left out) and, for each case "CLASS AT
# NTH" of the comma-separated CASES, a victim killed there: each check
# must say LOST (exit 2 of ask)
control() {
	local name=$1 skip=$2 cases=$3 what=$4 k=0 c
	# the killed processes' hugepages are freed after their exit: wait
	# (bounded) until a primary's -m 256 fits again
	for i in $(seq 100); do
		[ "$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)" -ge 128 ] &&
			break
		sleep 0.1
	done
	start_primary "$name" ROBUST_SKIP="$skip"
	ask base base || fail "$name: baseline"
	IFS=, read -ra ctlcases <<< "$cases"
	for c in "${ctlcases[@]}"; do
		k=$((k + 1))
		set -- $c
		echo "$what control $k: killed at pass $3 of $1 at moment $2"
		victim "${name:0:1}$k" "$1" "$2" "$3"
		victim_died "${name:0:1}$k"
		ask check checked
		[ $? = 2 ] || fail "$what control $k ($c): no frame lost"
	done
	held_end "$plog"
	[ $rc = 0 ] && grep -q '^primary done ok' "$tmp/$plog.log" ||
		{ tail -30 "$tmp/$plog.log"; fail "$name: the primary exited $rc"; }
	rm -f "$huge"/*
}
# ---- 4. negative control: frames in flight not returned must be lost
control flyctl fly "${RB_FLY_CASES:-pt held 1,pt releasing 6}" frames-in-flight
echo "ok: frames-in-flight control caught"
# ---- 5. negative control: the pool's records not reaped must lose
control poolctl pool \
	"${RB_POOL_CASES:-pool popped 1,pool marked 1,pool-nl ring 1}" pool
echo "ok: pool records control caught"

echo "PASS"
exit 0
