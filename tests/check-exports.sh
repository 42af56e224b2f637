#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# Only the API is exported: every symbol that a shared library of the build
# exports (nm -D --defined-only) must be declared in an installed header.
#
# usage: check-exports.sh HEADER... -- LIBRARY...
set -euo pipefail

hdrs=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	hdrs+=("$1")
	shift
done
[ $# -gt 1 ] && [ ${#hdrs[@]} -gt 0 ] || {
	echo "usage: $0 HEADER... -- LIBRARY..." >&2
	exit 2
}
shift

# Every identifier of the installed headers, comments stripped (a name
# mentioned only in a comment declares nothing).
ids=$(mktemp)
trap 'rm -f "$ids"' EXIT
cat "${hdrs[@]}" | ${CC:-cc} -x c -w -fpreprocessed -dD -E -P - |
	grep -oE '[A-Za-z_][A-Za-z0-9_]*' | sort -u >"$ids"

rc=0
for lib in "$@"; do
	# drop the version node (type A) and the @@MMRT_0 version suffix
	syms=$(nm -D --defined-only "$lib" |
		awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u)
	n=$(printf '%s\n' "$syms" | grep -c . || true)
	bad=$(printf '%s\n' "$syms" | grep . | grep -vxFf "$ids" || true)
	if [ "$n" -eq 0 ]; then
		echo "$(basename "$lib"): exports nothing (version script?)"
		rc=1
	elif [ -n "$bad" ]; then
		echo "$(basename "$lib"): $n exported, not declared in an installed header:"
		printf '  %s\n' $bad
		rc=1
	else
		echo "$(basename "$lib"): $n exported, all declared in the installed headers"
	fi
done
exit $rc
