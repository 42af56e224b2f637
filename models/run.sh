#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# Check every Spin model of this directory and every mutant of it.
#
#   models/run.sh [MODEL.pml ...]
#
# A model file lists its configurations ("// model: NAME [+DEFINE ...]",
# "base" when it lists none) and its mutants ("// mutant: MACRO [+DEFINE
# ...] what it breaks"). Every configuration must pass (no assertion
# violation, no invalid end state, search complete); every mutant must
# fail (Spin reports a counterexample). One line per run; exit 1 if a
# model fails or a mutant passes, 77 (skipped) if spin or a C compiler is
# missing. Builds happen in a temporary directory, never here.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if ! command -v spin >/dev/null 2>&1; then
	echo "models: SKIP: spin is not installed (Debian package 'spin')"
	exit 77
fi
cc=${CC:-cc}
# -O0: the verifiers compile in a quarter of the -O2 time and the searches
# are short, so the whole run is faster
cflags=${MODELS_CFLAGS:--O0}
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "models: SKIP: no C compiler ($cc) to build Spin's verifiers"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mmrt-models.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ $# -gt 0 ]; then
	files=("$@")
else
	files=("$here"/*.pml)
fi

bad=0
runs=0
t_all=$(date +%s.%N)

# check NAME CONFIG EXPECT FILE DEFINES...: EXPECT is pass or fail
check() {
	local name=$1 cfg=$2 expect=$3 file=$4
	shift 4
	local dir="$work/$name.$cfg" out verdict states secs t0 errs
	mkdir -p "$dir"
	t0=$(date +%s.%N)
	if ! (cd "$dir" && spin "$@" -a "$file" >spin.log 2>&1 &&
			"$cc" $cflags -w -DSAFETY -o pan pan.c >cc.log 2>&1); then
		printf '%-9s %-26s %-5s build failed (%s)\n' "$name" "$cfg" \
			"ERROR" "$dir"
		cat "$dir/spin.log" "$dir/cc.log" 2>/dev/null | head -5
		bad=1
		return
	fi
	out=$(cd "$dir" && ./pan -m2000000 2>&1) || true
	secs=$(echo "$(date +%s.%N) - $t0" | bc)
	errs=$(echo "$out" | sed -n 's/.*errors: \([0-9]*\).*/\1/p' | head -1)
	states=$(echo "$out" | sed -n 's/^ *\([0-9]*\) states, stored.*/\1/p' |
		head -1)
	if [ -z "$errs" ]; then
		verdict=ERROR
	elif echo "$out" | grep -q "depth too small"; then
		verdict=TRUNC
	elif [ "$errs" -eq 0 ]; then
		verdict=pass
	else
		verdict=fail
	fi
	runs=$((runs + 1))
	local ok=no why
	if [ "$verdict" = "$expect" ]; then
		ok=yes
	fi
	why=$(echo "$out" | grep -m1 -E "^pan:1: " | sed 's/^pan:1: //' |
		cut -c1-60 || true)
	printf '%-9s %-26s %-5s %10s states %6.2fs %s%s\n' "$name" "$cfg" \
		"$verdict" "${states:-?}" "$secs" \
		"$([ $ok = yes ] && echo ok || echo 'UNEXPECTED ')" \
		"${why:+  ($why)}"
	if [ $ok != yes ]; then
		bad=1
	fi
}

for f in "${files[@]}"; do
	f=$(cd "$(dirname "$f")" && pwd)/$(basename "$f")
	name=$(basename "$f" .pml)
	configs=$(sed -n 's|^// model: *||p' "$f")
	[ -n "$configs" ] || configs=base
	while read -r cfg defs; do
		args=()
		for d in $defs; do
			args+=("-D${d#+}")
		done
		check "$name" "$cfg" pass "$f" "${args[@]}"
	done <<<"$configs"
	while read -r macro rest; do
		[ -n "$macro" ] || continue
		args=("-D$macro")
		for d in $rest; do
			case $d in
			+*) args+=("-D${d#+}") ;;
			*) break ;;
			esac
		done
		check "$name" "$macro" fail "$f" "${args[@]}"
	done < <(sed -n 's|^// mutant: *||p' "$f")
done

printf 'models: %d runs in %.1fs: %s\n' "$runs" \
	"$(echo "$(date +%s.%N) - $t_all" | bc)" \
	"$([ $bad -eq 0 ] && echo 'all as expected' || echo FAILED)"
exit $bad
