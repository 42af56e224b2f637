#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# lib/mm's layering: lib/mm/meson.build lists its files (`layers`) lowest
# layer first, and a file includes only the private headers (mm_*.h,
# itree.h) of files listed before it. Every private file of lib/mm must be
# listed. Public headers (mmrt_*.h) and lib/core's headers for the
# libraries above it (core_*.h) may be included by any file.
#
# usage: check-mm-layers.sh <source root>

set -u
root=${1:?usage: check-mm-layers.sh <source root>}
dir=$root/lib/mm
build=$dir/meson.build

# The list: the quoted names between "layers = [" and the closing "]".
mapfile -t layers < <(sed -n '/^layers = \[/,/^\]/p' "$build" |
	grep -o "'[^']*'" | tr -d "'")
if [ ${#layers[@]} -eq 0 ]; then
	echo "check-mm-layers: no layers list in $build" >&2
	exit 1
fi
declare -A pos
for i in "${!layers[@]}"; do
	pos[${layers[$i]}]=$i
done

fail=0
for path in "$dir"/*.c "$dir"/*.h; do
	f=${path##*/}
	case $f in mmrt_*.h) continue ;; esac
	if [ -z "${pos[$f]+x}" ]; then
		echo "$f: not in the layers list of lib/mm/meson.build"
		fail=1
		continue
	fi
	while IFS=: read -r line inc; do
		case $inc in mmrt_*.h|core_*.h) continue ;; esac
		if [ -z "${pos[$inc]+x}" ]; then
			echo "$f:$line: includes \"$inc\", not in the layers list"
			fail=1
		elif [ "${pos[$inc]}" -ge "${pos[$f]}" ]; then
			echo "$f:$line: includes \"$inc\", which is not below it"
			fail=1
		fi
	done < <(grep -n '^#[[:space:]]*include[[:space:]]*"' "$path" |
		sed 's/^\([0-9]*\):.*"\([^"]*\)".*/\1:\2/')
done
if [ $fail -ne 0 ]; then
	echo "check-mm-layers: a file includes a layer above it (rule at the" \
		"top of lib/mm/meson.build)"
	exit 1
fi
echo "check-mm-layers: ${#layers[@]} files, every include goes down"
