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
#   stop_pid PID              end PID (TERM, KILL a second later), reap it
#   start_held LOG CMD...     start CMD held by its stdin (commands on fd
#                             3), output in $tmp/LOG.log, its pid in ppid_;
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

start_held() {
	local log=$1; shift
	rm -f "$tmp/ctl"
	mkfifo "$tmp/ctl"
	"$@" < "$tmp/ctl" > "$tmp/$log.log" 2>&1 &
	ppid_=$!
	exec 3> "$tmp/ctl"
	for _ in $(seq 120); do
		grep -q '^ready' "$tmp/$log.log" && return 0
		kill -0 "$ppid_" 2>/dev/null || break
		sleep 1
	done
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
