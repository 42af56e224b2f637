#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# mmrt in DPDK secondary processes (issue 14, item 1), with real
# processes: sec-peer (tests/sec_peer.c) runs as the primary and as each
# secondary. The check passes when
#   - a secondary (--proc-type=secondary, the primary's --file-prefix,
#     its own lcore) attaches with mmrt_init(), finds the primary's space
#     by name, reads the primary's pattern (accessor and lockless
#     translate), writes another, maps a new range and writes it, maps
#     and unmaps a scratch range, and meets -E_RTE_SECONDARY for what
#     only the primary may do, then leaves with mmrt_fini() == 0;
#   - the primary then sees the secondary's writes and its new range;
#   - a consumer made and bound in a secondary receives the primary's
#     unmap of its page, drops its TLB entry and acks in its poll, and
#     is not fenced; the primary's unmap returns 0;
#   - the primary finds that consumer by name: its statistics read, its
#     owner's calls (poll, peek, unbind, destroy) fail with -EPERM; a
#     secondary finds the primary's consumer by name likewise, and bad
#     names (missing, NULL, too long) fail;
#   - a handler in a secondary finds the primary's uffd by name on its
#     space, reads the fault the primary's read posted and resolves it with a
#     copy; the primary's read returns the handler's page;
#   - a secondary finds the primary's objects by name: reads a pool
#     object, maps it into a space and reads and writes it there (the
#     primary sees the write), reads a file-backed object's page the
#     primary never read, may not destroy it (-E_RTE_SECONDARY), and
#     creates and destroys an object of its own;
#   - a secondary pins two pages of the primary's space (bad pins fail:
#     -EFAULT unmapped, -E_RTE_SECONDARY with a callback, and on a space
#     with an interval notifier in the primary's heap, which the pin's
#     tree insert would write to); the primary
#     unmaps them and the pool's free count does not grow; the pin is
#     revoked and still reads the pages; once the secondary unpinned and
#     left, the count is back up by the two frames and pinned_pages is 0;
#   - a second secondary attaches after the first left (the runtime's
#     lcore and QSBR slots were given back);
#   - a secondary on the primary's lcore fails with -EBUSY, a secondary
#     of a primary that runs no mmrt with -ENOENT, a secondary of another
#     --file-prefix (no primary) fails, all without touching the runtime;
#   - a secondary killed (SIGKILL) with table pages waiting in its QSBR
#     defer queue: the primary's mmrt_reap_dead() frees them, the pool's
#     free count is what it was before that secondary (fails with the
#     mm.gather reap step left out: 3 table pages lost);
#   - a secondary killed while its thread waits for a userfault's wake
#     (its fault read from the primary's uffd, never resolved): the
#     primary's destroy of that uffd returns (bounded) though the dead
#     waiter never dropped its reference; in test builds the destroy is
#     first shown to wait with the rule broken on purpose
#     (MMRT_TEST_REAP_SKIP_WAITERS);
#   - the primary leaves with mmrt_fini() == 0 once its secondaries are
#     gone (its output says "primary done ok").
#
# Real hugepages are needed: a DPDK 22.11 secondary cannot attach to a
# --no-huge primary. As root the check mounts its own hugetlbfs (a
# temporary directory), reserves only the missing 2 MiB pages and gives
# back exactly those; else it skips (77). Sanitizer builds skip (--asan:
# a secondary cannot map the primary's memory under ASan). Processes are
# bounded by timeout(1); processes, the mount, the runtime directories
# and temporary files are removed on every exit.
#
#   check-secondary.sh SEC-PEER [--asan]
#
# Exit 0 pass, 77 skip, else fail.

set -u
peer=${1:?usage: $0 SEC-PEER [--asan]}
pages=160	# 320 MiB: the primary's -m 256 and room
eal_mb=256

. "$(dirname "$0")/hugetlb-private.sh"
plain_prefix=mmrt-sec-plain-$$
# ---- hugepages: a private mount, the missing pages reserved
secondary_setup "$peer" "${2:-}" secondary sec "mmrt-sec-$$" "$pages" \
	"$plain_prefix" "mmrt-sec-$$-other"

eal_common=(--huge-dir "$huge" --no-pci --no-telemetry
	--log-level=lib.eal:error)

# Run a secondary (bounded); its output in $1.log; @return its status
secondary() {
	local log=$1; shift
	timeout 120 "$peer" "$@" > "$tmp/$log.log" 2>&1
	local rc=$?
	sed "s/^/  [$log] /" "$tmp/$log.log"
	return $rc
}

# ---- a plain DPDK primary: a secondary's mmrt_init() finds no runtime
start_held plain "$peer" plain 120 -l 0 -m 64 "${eal_common[@]}" \
	--file-prefix "$plain_prefix"
secondary noruntime expect 2 -l 1 \
	--proc-type=secondary --file-prefix "$plain_prefix" \
	"${eal_common[@]}" || fail "secondary of a primary without mmrt"
echo "ok: a secondary of a primary without mmrt fails with -ENOENT"
exec 3>&-
wait "$ppid_"
ppid_=
rm -rf "/var/run/dpdk/$plain_prefix"

# ---- the mmrt primary
start_held primary "$peer" primary 300 -l 0 -m "$eal_mb" "${eal_common[@]}" \
	--file-prefix "$prefix" -- --pool-mb 64
echo "primary: $(head -1 "$tmp/primary.log")"

sec=(-l 1 --proc-type=secondary --file-prefix "$prefix" "${eal_common[@]}")
secondary first secondary "${sec[@]}" || fail "the secondary failed"
grep -q '^secondary ok' "$tmp/first.log" || fail "no 'secondary ok'"
echo "ok: the secondary attached, found the space, read, wrote, mapped"

# reply_of WORD: wait (bounded) for the primary's line WORD..., shown
reply_of() {
	wait_line "$tmp/primary.log" "$1" "$ppid_" 60
	grep "^$1" "$tmp/primary.log" | sed 's/^/  [primary] /'
}

echo check >&3
reply_of checked
grep -q '^checked ok' "$tmp/primary.log" ||
	fail "the primary did not see the secondary's writes"
echo "ok: the primary sees the secondary's writes, its new range and its object write"

# side_cmd ROLE READY CMD REPLY: "$peer ROLE" as a secondary in the
# background until it prints READY; then CMD to the primary; the
# secondary's exit status in side_rc, its output and the primary's REPLY
# line shown (both waits bounded)
side_cmd() {
	local role=$1 pid
	timeout 120 "$peer" "$role" "${sec[@]}" > "$tmp/$role.log" 2>&1 &
	pid=$!
	wait_line "$tmp/$role.log" "$2" "$pid" 60 ||
		{ wait "$pid"; cat "$tmp/$role.log"; fail "the $role did not print '$2'"; }
	echo "$3" >&3
	wait "$pid"
	side_rc=$?
	sed "s/^/  [$role] /" "$tmp/$role.log"
	reply_of "$4"
}

# a consumer in a secondary receives the primary's invalidation and
# acks it (the primary's unmap returns once it did)
side_cmd consumer bound unmap unmapped
[ $side_rc = 0 ] && grep -q '^consumer ok' "$tmp/consumer.log" ||
	fail "the secondary's consumer did not see and ack the invalidation"
grep -q '^unmapped 0 ' "$tmp/primary.log" || fail "the primary's unmap failed"
echo "ok: a consumer in a secondary receives the primary's invalidation and acks it"
grep '^looked' "$tmp/primary.log" | sed 's/^/  [primary] /'
grep -q '^looked ok' "$tmp/primary.log" ||
	fail "the primary's lookup of the secondary's consumer"
echo "ok: the primary finds the secondary's consumer by name: stats, no poll (-EPERM)"

# a fault of the primary's uffd is served by a handler in a secondary
side_cmd handler handling fault faulted
[ $side_rc = 0 ] && grep -q '^handler ok' "$tmp/handler.log" ||
	fail "the handler in the secondary failed"
grep -q '^faulted 0 ok' "$tmp/primary.log" ||
	fail "the primary's fault was not resolved with the handler's page"
echo "ok: the primary's uffd fault is served by a handler in a secondary"

# a secondary's pin outlives the primary's unmap of its range, and its
# frames go back to the pool at its unpin
side_cmd pinner pinned pinunmap pinunmapped
[ $side_rc = 0 ] && grep -q '^pinner ok' "$tmp/pinner.log" ||
	fail "the pinner in the secondary failed"
grep -q '^pinunmapped 0 ok' "$tmp/primary.log" ||
	fail "the primary's unmap of the pinned range freed frames"
echo pinfree >&3
reply_of pinfreed
grep -q '^pinfreed ok' "$tmp/primary.log" ||
	fail "the pinned frames did not go back to the pool at the unpin"
echo "ok: a secondary's pin holds the frames through the primary's unmap until its unpin"

# the first secondary's lcore and QSBR slot are free again: another
# attaches on the same lcore and reads what the first wrote
secondary reader reader "${sec[@]}" || fail "a second secondary failed"
grep -q '^reader ok' "$tmp/reader.log" || fail "no 'reader ok'"
echo "ok: a second secondary on the same lcore reads the first one's writes"

secondary busy expect 16 -l 0 --proc-type=secondary \
	--file-prefix "$prefix" "${eal_common[@]}" ||
	fail "a secondary on the primary's lcore 0 was not refused with -EBUSY"
echo "ok: a secondary on the primary's lcore fails with -EBUSY"

secondary other expect 0 -l 1 --proc-type=secondary \
	--file-prefix "$prefix-other" "${eal_common[@]}" ||
	fail "a secondary of another --file-prefix did not fail cleanly"
echo "ok: a secondary of another --file-prefix fails cleanly"

# a secondary killed with table pages in its QSBR defer queue: the reap
# frees them (the mm.gather step), the pool's count comes back
echo ptbase >&3
reply_of ptbased
# (no timeout(1): the secondary bounds its own wait, SP_WAIT_S)
"$peer" ptdefer "${sec[@]}" > "$tmp/ptdefer.log" 2>&1 &
ptpid=$!
wait_line "$tmp/ptdefer.log" deferred "$ptpid" 60 ||
	{ wait "$ptpid"; cat "$tmp/ptdefer.log"; fail "the ptdefer secondary did not print 'deferred'"; }
kill -9 "$ptpid"
wait "$ptpid" 2>/dev/null
sed "s/^/  [ptdefer] /" "$tmp/ptdefer.log"
echo ptreap >&3
reply_of ptreaped
grep -q '^ptreaped ok' "$tmp/primary.log" ||
	fail "a dead secondary's deferred table pages were not freed"
echo "ok: a dead secondary's deferred table pages are freed by the reap"

# a secondary killed while its thread waits for a userfault's wake: the
# primary's destroy of that uffd does not wait for ever for the dead
# waiter (in test builds it first waits while the rule is broken on
# purpose, then returns once it is restored)
"$peer" ufwaiter "${sec[@]}" > "$tmp/ufwaiter.log" 2>&1 &
ufwpid=$!
wait_line "$tmp/ufwaiter.log" faulting "$ufwpid" 60 ||
	{ wait "$ufwpid"; cat "$tmp/ufwaiter.log"; fail "the ufwaiter secondary did not print 'faulting'"; }
echo ufwposted >&3
reply_of ufwposted
grep -q '^ufwposted ok' "$tmp/primary.log" ||
	fail "the ufwaiter's fault did not reach the primary's uffd"
kill -9 "$ufwpid"
wait "$ufwpid" 2>/dev/null
sed "s/^/  [ufwaiter] /" "$tmp/ufwaiter.log"
echo ufwdestroy >&3
reply_of ufwdestroyed
grep -q '^ufwdestroyed ok' "$tmp/primary.log" ||
	fail "the destroy of a uffd a dead secondary waited on"
echo "ok: a uffd's destroy drops the wait of a killed secondary's thread"

primary_done
echo "ok: the primary left with mmrt_fini() == 0 after its secondaries"
echo "PASS"
exit 0
