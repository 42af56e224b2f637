# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# Sourced by the checks that need real 2 MiB hugepages of their own
# (check-secondary.sh, check-proc-info.sh, check-kill.sh): a private
# hugetlbfs mount and only the missing pages reserved, given back exactly
# on release; and the held DPDK primary those checks all start. Source
# it first: it defines skip() and fail() (exit 77 and 1, meson's skip and
# failure); the functions that start processes use the caller's $tmp (its
# temporary directory).
#
#   secondary_require PEER ARG WHO
#                             fail if PEER is not executable; skip when
#                             ARG is --asan (a DPDK secondary cannot map
#                             the primary's memory at its addresses under
#                             ASan) or with fewer than 2 cpus (the primary
#                             and WHO on distinct lcores); hugetlb_require
#   hugetlb_require           skip unless root and the kernel has 2 MiB
#                             pages
#   hugetlb_setup DIR PAGES   mount DIR, make PAGES free pages available
#                             (calls the caller's skip() when it cannot)
#   hugetlb_release           unmount (emptied first) and give back exactly
#                             the pages hugetlb_setup reserved; idempotent
#   secondary_setup PEER ARG WHO NAME PREFIX PAGES [PREFIX...]
#                             secondary_require PEER ARG WHO, then
#                             held_setup NAME PREFIX PAGES [PREFIX...]
#   held_setup NAME PREFIX PAGES [PREFIX...]
#                             the start of a check that holds a primary:
#                             $tmp (a new /tmp/mmrt-NAME.XXXXXX), $huge
#                             ($tmp/huge), $prefix (PREFIX), no held
#                             process yet (ppid_ empty, fd 3 closed); an
#                             EXIT trap that runs the caller's
#                             held_exit_hook when it defines one, then
#                             held_cleanup with all the PREFIXes; INT and
#                             TERM exit 1; hugetlb_setup "$huge" PAGES
#   stop_pid PID              end PID (TERM, KILL a second later), reap it
#   wait_line FILE WANT PID SECONDS
#                             wait (at most SECONDS, while PID lives) for
#                             a line of FILE starting with WANT: 0 once
#                             there is one, else 1
#   held_start FD LOG WANT SECONDS CMD...
#                             start CMD held by its stdin (commands on fd
#                             FD), output in $tmp/LOG.log, its pid in
#                             held_pid; 0 once it prints a line starting
#                             with WANT (at most SECONDS), else 1
#   start_held LOG CMD...     held_start on fd 3 with its pid in ppid_;
#                             returns when it prints "ready" (at most
#                             120 s), else fails
#   held_cleanup PREFIX...    an EXIT trap's work: close fd 3, end the
#                             held process, remove the DPDK runtime
#                             directories of the PREFIXes,
#                             hugetlb_release, copy the logs to /tmp when
#                             KEEP_LOG is set, remove $tmp
#   held_end LOG [WHY]        the held process must still be alive (else
#                             fail, "the primary died WHY"); close fd 3,
#                             wait for it: its exit status in rc
#   primary_done              held_end primary; it must have exited 0
#                             saying "primary done ok" (else fail, its
#                             log shown)

hp=/sys/kernel/mm/hugepages/hugepages-2048kB
hugetlb_dir=
hugetlb_mounted=0
hugetlb_reserved=0

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

secondary_require() {
	[ "$2" = --asan ] && skip "sanitizer build: a DPDK secondary cannot" \
		"map the primary's memory at its addresses under ASan"
	[ -x "$1" ] || fail "no $1"
	[ "$(nproc)" -ge 2 ] || skip "needs 2 cpus (primary and $3 on" \
		"distinct lcores)"
	hugetlb_require
}

hugetlb_require() {
	[ "$(id -u)" = 0 ] || skip "needs root: a DPDK 22.11 secondary cannot" \
		"attach to a --no-huge primary, and hugepages need root to" \
		"reserve and mount"
	[ -d "$hp" ] || skip "no 2 MiB hugepages in this kernel"
}

hugetlb_setup() {
	local before after free
	hugetlb_dir=$1
	mkdir -p "$hugetlb_dir"
	mount -t hugetlbfs -o pagesize=2M nodev "$hugetlb_dir" ||
		skip "cannot mount hugetlbfs on $hugetlb_dir"
	hugetlb_mounted=1
	free=$(cat "$hp/free_hugepages")
	[ "$free" -ge "$2" ] && return 0
	before=$(cat "$hp/nr_hugepages")
	echo $((before + $2 - free)) > "$hp/nr_hugepages"
	after=$(cat "$hp/nr_hugepages")
	hugetlb_reserved=$((after - before))
	echo "reserved $hugetlb_reserved 2 MiB hugepages (wanted $(($2 - free)))"
	free=$(cat "$hp/free_hugepages")
	[ "$free" -ge "$2" ] ||
		skip "only $free free 2 MiB hugepages after reserving, need $2"
}

hugetlb_release() {
	local total
	if [ "$hugetlb_mounted" = 1 ]; then
		rm -f "$hugetlb_dir"/*
		umount "$hugetlb_dir"
		hugetlb_mounted=0
	fi
	if [ "$hugetlb_reserved" -gt 0 ]; then
		total=$(cat "$hp/nr_hugepages")
		echo $((total - hugetlb_reserved)) > "$hp/nr_hugepages"
		echo "gave back $hugetlb_reserved hugepages" \
			"($(cat "$hp/nr_hugepages") left)"
		hugetlb_reserved=0
	fi
}

stop_pid() {
	[ -n "$1" ] || return 0
	if kill -0 "$1" 2>/dev/null; then
		kill "$1" 2>/dev/null
		sleep 1
		kill -9 "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null
}

secondary_setup() {
	secondary_require "$1" "$2" "$3"
	shift 3
	held_setup "$@"
}

held_setup() {
	tmp=$(mktemp -d "/tmp/mmrt-$1.XXXXXX")
	huge=$tmp/huge
	prefix=$2
	held_prefixes=("$2" "${@:4}")
	ppid_=
	exec 3>&-
	trap held_exit EXIT
	trap 'exit 1' INT TERM
	hugetlb_setup "$huge" "$3"
}

held_exit() {
	declare -F held_exit_hook > /dev/null && held_exit_hook
	held_cleanup "${held_prefixes[@]}"
}

wait_line() {
	for _ in $(seq $(($4 * 10))); do
		grep -q "^$2" "$1" && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "^$2" "$1"
}

held_start() {
	local fd=$1 log=$2 want=$3 secs=$4
	shift 4
	rm -f "$tmp/ctl$fd"
	mkfifo "$tmp/ctl$fd"
	"$@" < "$tmp/ctl$fd" > "$tmp/$log.log" 2>&1 &
	held_pid=$!
	eval "exec $fd> \"\$tmp/ctl$fd\""
	wait_line "$tmp/$log.log" "$want" "$held_pid" "$secs"
}

start_held() {
	local log=$1; shift
	held_start 3 "$log" ready 120 "$@"
	local ok=$?
	ppid_=$held_pid
	[ $ok = 0 ] && return 0
	cat "$tmp/$log.log"
	fail "$log did not come up"
}

held_end() {
	kill -0 "$ppid_" 2>/dev/null ||
		{ cat "$tmp/$1.log"; fail "the primary died${2:+ $2}"; }
	exec 3>&-
	wait "$ppid_"
	rc=$?
	ppid_=
}

primary_done() {
	held_end primary
	grep '^primary done' "$tmp/primary.log" | sed 's/^/  [primary] /'
	[ $rc = 0 ] && grep -q '^primary done ok' "$tmp/primary.log" ||
		{ cat "$tmp/primary.log"; fail "the primary exited $rc"; }
}

held_cleanup() {
	local p
	exec 3>&- 2>/dev/null
	stop_pid "$ppid_"
	for p in "$@"; do
		rm -rf "/var/run/dpdk/$p"
	done
	hugetlb_release
	[ -n "${KEEP_LOG:-}" ] && cp "$tmp"/*.log /tmp/ 2>/dev/null
	rm -rf "$tmp"
}
