#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# usertools/mmrt-deploy on this machine:
#   - bad input (unknown command or option, malformed lcore lists, bad
#     sizes and names) exits 2 with a message and changes nothing;
#   - plan prints one [OK|WARN|FAIL] line per check and a verdict, its exit
#     status matches the verdict, and it runs mmrt-topo (or says it was
#     not found);
#   - apply --dry-run and undo --dry-run change nothing;
#   - as root: apply reserves hugepages, writes the unit (CPUAffinity) into
#     a temporary unit directory and moves the IRQs it can off the polling
#     cpu; a second apply on the same state refuses; undo gives everything
#     back, leaving nr_hugepages of every node and size, the hugetlbfs
#     mounts, every IRQ affinity, the governors and the unit directory as
#     found; undo gives back only the pages apply added when someone else
#     changed the count meanwhile, and leaves an IRQ someone else moved.
# The state file and unit directory are temporary: nothing under /etc is
# touched. A trap gives back whatever apply did if a step fails.
#
#   check-deploy.sh MMRT-DEPLOY [MMRT-TOPO]
#
# Exit 0 pass, 77 skip (the root part, without root: after the rest
# passed), else fail.

set -u
deploy=${1:?usage: $0 MMRT-DEPLOY [MMRT-TOPO]}
topo=${2:-}

tmp=$(mktemp -d /tmp/mmrt-deploy-check.XXXXXX)
state=$tmp/state
units=$tmp/units
hugedir=$tmp/huge
out=$tmp/out

fail() { echo "FAIL: $*"; exit 1; }

cleanup() {
	if [ -f "$state" ]; then
		echo "cleanup: giving back what apply recorded"
		python3 "$deploy" undo --state "$state" || true
	fi
	[ -n "${extra_pages_path:-}" ] && echo "$extra_pages_before" \
		> "$extra_pages_path" 2>/dev/null
	mountpoint -q "$hugedir" 2>/dev/null && umount "$hugedir"
	rm -rf "$tmp"
}
trap cleanup EXIT

# What apply may change, as text: compare before and after.
snapshot() {
	for f in /sys/devices/system/node/node*/hugepages/hugepages-*/nr_hugepages \
		/sys/kernel/mm/hugepages/hugepages-*/nr_hugepages; do
		[ -f "$f" ] && echo "$f $(cat "$f")"
	done
	awk '$3 == "hugetlbfs" { print "mount", $2, $4 }' /proc/mounts
	for f in /proc/irq/*/smp_affinity_list; do
		echo "$f $(cat "$f" 2>/dev/null)"
	done
	echo "default_smp_affinity $(cat /proc/irq/default_smp_affinity 2>/dev/null)"
	for f in /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor; do
		[ -f "$f" ] && echo "$f $(cat "$f")"
	done
	if [ -d "$units" ]; then
		echo "units: $(cd "$units" && ls -A | tr '\n' ' ')"
	else
		echo "units: none"
	fi
	[ -e "$state" ] && echo "state file present"
}

run() {
	# run CMD...: output in $out, exit status in $rc
	python3 "$deploy" "$@" > "$out" 2>&1
	rc=$?
}

[ -f "$deploy" ] || fail "no $deploy"
if [ "$(nproc)" -ge 2 ]; then
	lcores=0-1
	poll_cpu=1
else
	lcores=0
	poll_cpu=0
fi
topo_args=()
[ -n "$topo" ] && topo_args=(--topo "$topo")
unit_args=(--state "$state" --unit-dir "$units" --huge-dir "$hugedir"
	--exec "/bin/true mmrt-deploy-check")

snapshot > "$tmp/before"

# ---- bad input: exit 2, a message, nothing changed
bad() {
	run "$@"
	[ "$rc" = 2 ] || { cat "$out"; fail "'$*' exited $rc, not 2"; }
	grep -q 'mmrt-deploy: ' "$out" || { cat "$out"; fail "'$*': no message"; }
	echo "ok: bad input '$*' -> 2: $(grep 'mmrt-deploy: ' "$out" | head -1)"
}
bad
bad frobnicate
bad -l 0-1
bad --dry-run frobnicate
bad plan --bogus
bad plan -l 1-0
bad plan -l 0,,1
bad plan -l zero
bad plan --lcores '(0-1@2'
bad plan --lcores '0@1,x'
bad plan -c 0xZZ
bad plan -l 0 --main-lcore 5
bad plan -l 0 --socket-mem 64,x
bad plan -l 0 --page-size 3M
bad apply -l 0 --dry-run --unit ../evil
bad apply --dry-run -l 0-1 -c 3
snapshot > "$tmp/after-bad"
diff "$tmp/before" "$tmp/after-bad" || fail "bad input changed the machine"

# ---- plan: a line per check, a verdict, exit status of the verdict
run plan -l "$lcores" -m 64 "${topo_args[@]}"
cat "$out"
verdict=$(sed -n 's/^verdict: \([A-Z]*\) .*/\1/p' "$out")
case "$verdict:$rc" in
OK:0|WARN:3|FAIL:1) echo "ok: plan verdict $verdict, exit $rc" ;;
*) fail "plan: verdict '$verdict' with exit $rc" ;;
esac
for c in lcores hugepages hugetlbfs isolcpus nohz_full rcu_nocbs \
	irq-affinity governor thp iommu-vfio smt mmrt-topo; do
	grep -Eq "^  \[ *(OK|WARN|FAIL)\] $c " "$out" ||
		fail "plan: no line for check $c"
done
if [ -n "$topo" ]; then
	grep -q "mmrt-topo .*verdict '" "$out" ||
		fail "plan: mmrt-topo's verdict not shown"
fi
run plan -l "$lcores" --topo /nonexistent/mmrt-topo
grep -q 'mmrt-topo not found' "$out" ||
	{ cat "$out"; fail "plan: a missing mmrt-topo is not reported"; }
echo "ok: a missing mmrt-topo is reported"

# ---- dry runs change nothing (no root needed)
run apply --dry-run -l "$lcores" -m 64 "${unit_args[@]}"
[ "$rc" = 0 ] || { cat "$out"; fail "apply --dry-run exited $rc"; }
grep -q 'dry run: nothing changed' "$out" || fail "apply --dry-run: no summary"
snapshot > "$tmp/after-dry"
diff "$tmp/before" "$tmp/after-dry" || fail "apply --dry-run changed the machine"
echo "ok: apply --dry-run changed nothing ($(grep -c '^would' "$out") planned step(s))"
# options may come before the command
run --dry-run -l "$lcores" -m 64 apply "${unit_args[@]}"
[ "$rc" = 0 ] && grep -q 'dry run: nothing changed' "$out" ||
	{ cat "$out"; fail "'--dry-run ... apply' exited $rc"; }
snapshot > "$tmp/after-dry2"
diff "$tmp/before" "$tmp/after-dry2" || fail "'--dry-run ... apply' changed the machine"
echo "ok: '--dry-run -l $lcores -m 64 apply' changed nothing"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: apply and undo need root (bad input, plan and --dry-run passed)"
	exit 77
fi

# ---- apply
nodefile=$(ls /sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages \
	/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages 2>/dev/null | head -1)
[ -n "$nodefile" ] || fail "no 2 MiB hugepage counters"
free_before=$(cat "${nodefile%/*}/free_hugepages")
nr_before=$(cat "$nodefile")
irqs_on_poller=0
# whether cpu $2 is in the kernel cpu list $1
in_list() {
	local IFS=, p
	for p in $1; do
		[ "$2" -ge "${p%-*}" ] && [ "$2" -le "${p#*-}" ] && return 0
	done
	return 1
}
for f in /proc/irq/*/smp_affinity_list; do
	in_list "$(cat "$f")" "$poll_cpu" && irqs_on_poller=$((irqs_on_poller + 1))
done

run apply -l "$lcores" -m 64 "${unit_args[@]}"
cat "$out"
[ "$rc" = 0 ] || fail "apply exited $rc"
[ -f "$state" ] || fail "apply wrote no state file"
snapshot > "$tmp/applied"
free_now=$(cat "${nodefile%/*}/free_hugepages")
[ "$free_now" -ge 32 ] || [ "$free_before" -ge 32 ] ||
	fail "apply: $free_now free 2 MiB pages, 32 needed"
echo "ok: hugepages node0 $nr_before -> $(cat "$nodefile") ($free_now free)"
unit=$units/mmrt-app.service
[ -f "$unit" ] || fail "apply wrote no $unit"
grep -qx "CPUAffinity=${lcores/,/ }" "$unit" || fail "unit: no CPUAffinity=$lcores"
grep -qx 'ExecStart=/bin/true mmrt-deploy-check' "$unit" || fail "unit: no ExecStart"
echo "ok: unit written with CPUAffinity=$lcores"
moved=$(sed -n 's/^irqs: moved \([0-9]*\) .*/\1/p' "$out")
if [ "$lcores" = 0 ]; then
	echo "note: one cpu: no IRQ can move off it (apply says so)"
elif [ "$irqs_on_poller" = 0 ]; then
	echo "note: no IRQ could run on cpu $poll_cpu: none to move"
elif [ "${moved:-0}" -gt 0 ]; then
	echo "ok: $moved of $irqs_on_poller IRQ(s) on cpu $poll_cpu moved" \
		"($(grep -c 'cannot move' "$out") refused by the kernel)"
else
	echo "note: IRQ moves are not possible here (the kernel refused all" \
		"$irqs_on_poller); only their restore is checked"
fi

# a second apply on the same state refuses and changes nothing
run apply -l "$lcores" -m 64 "${unit_args[@]}"
[ "$rc" = 1 ] && grep -q 'is not undone' "$out" ||
	{ cat "$out"; fail "a second apply did not refuse (exit $rc)"; }
snapshot > "$tmp/applied2"
diff "$tmp/applied" "$tmp/applied2" || fail "the refused apply changed something"
echo "ok: a second apply on the same state refuses"

# undo --dry-run changes nothing
run undo --dry-run --state "$state"
[ "$rc" = 0 ] || { cat "$out"; fail "undo --dry-run exited $rc"; }
snapshot > "$tmp/undo-dry"
diff "$tmp/applied" "$tmp/undo-dry" || fail "undo --dry-run changed the machine"
echo "ok: undo --dry-run changed nothing"

# ---- undo: the machine as found
run undo --state "$state"
cat "$out"
[ "$rc" = 0 ] || fail "undo exited $rc"
[ -e "$state" ] && fail "undo left the state file"
snapshot > "$tmp/after"
diff "$tmp/before" "$tmp/after" || fail "undo did not restore the machine"
echo "ok: apply + undo left hugepages, mounts, IRQs, governors and units as found"
run undo --state "$state"
[ "$rc" = 0 ] && grep -q 'nothing to undo' "$out" || fail "undo without state: exit $rc"

# ---- undo gives back only what apply changed
run apply -l "$lcores" -m 64 --no-irq "${unit_args[@]}"
[ "$rc" = 0 ] || { cat "$out"; fail "apply (2) exited $rc"; }
hp=$(python3 -c 'import json,sys
for c in json.load(open(sys.argv[1]))["changes"]:
    if c["kind"] == "hugepages": print(c["path"], c["before"], c["after"])' "$state")
if [ -n "$hp" ]; then
	read -r hpath hbefore hafter <<< "$hp"
	# someone else reserves one more page meanwhile
	extra_pages_path=$hpath
	extra_pages_before=$hbefore
	echo $((hafter + 1)) > "$hpath"
	run undo --state "$state"
	[ "$rc" = 0 ] || { cat "$out"; fail "undo (2) exited $rc"; }
	[ "$(cat "$hpath")" = $((hbefore + 1)) ] ||
		fail "undo (2): $hpath is $(cat "$hpath"), want $((hbefore + 1))"
	echo "$hbefore" > "$hpath"
	extra_pages_path=
	echo "ok: undo gave back only the $((hafter - hbefore)) page(s) apply added"
else
	run undo --state "$state"
	echo "note: enough free pages already: apply reserved none"
fi

# an IRQ someone else moved after apply is left as they set it
if [ "${moved:-0}" -gt 0 ]; then
	run apply -l "$lcores" "${unit_args[@]}"
	[ "$rc" = 0 ] || { cat "$out"; fail "apply (3) exited $rc"; }
	irq=$(python3 -c 'import json,sys
for c in json.load(open(sys.argv[1]))["changes"]:
    if c["kind"] == "irq" and c["path"].endswith("_list"):
        print(c["path"], c["before"]); break' "$state")
	read -r ipath ibefore <<< "$irq"
	echo "$ibefore" > "$ipath"
	run undo --state "$state"
	[ "$rc" = 1 ] && grep -q "$ipath is .*changed since, left as is" "$out" ||
		{ cat "$out"; fail "undo (3) did not report the IRQ changed since"; }
	echo "ok: an IRQ moved by someone else after apply is left as is (exit 1)"
fi

snapshot > "$tmp/final"
diff "$tmp/before" "$tmp/final" || fail "the machine is not as found at the end"
echo "PASS"
exit 0
