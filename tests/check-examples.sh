#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# examples/ against an installed mmrt, as an application is built: install
# the build into a staging directory (meson install --destdir), point
# pkg-config and the loader at it, build every example out of tree with its
# own Makefile (examples/README.md), then run each one on the embedded
# default. An example that no longer builds or runs fails.
#
# An example may say how it is run here in examples/NAME/selftest: its
# first line that is not a comment is either the arguments to give it
# (instead of none), or "skip: REASON" (built, not run).
#
# usage: check-examples.sh SOURCE_ROOT BUILD_ROOT
set -euo pipefail

src=$1 build=$2
stage=$build/.stage
out=$build/examples

rm -rf "$stage" "$out"
meson install -C "$build" --destdir "$stage" --no-rebuild --quiet

# The installed .pc names the final prefix: point a copy at the stage.
pc=$(find "$stage" -name libmmrt.pc | head -n 1)
[ -n "$pc" ] || { echo "no libmmrt.pc under $stage"; exit 1; }
prefix=$(sed -n 's/^prefix=//p' "$pc")
mkdir -p "$stage/pc"
sed "s|^prefix=.*|prefix=$stage$prefix|" "$pc" >"$stage/pc/libmmrt.pc"
export PKG_CONFIG_PATH=$stage/pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
libdir=$(dirname "$(find "$stage" -name 'libmmrt_core.so' | head -n 1)")
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "staged install: $stage$prefix; pkg-config --cflags libmmrt:" \
	"$(pkg-config --cflags libmmrt)"

rc=0
for mk in "$src"/examples/*/Makefile; do
	name=$(basename "$(dirname "$mk")")
	if ! make -s -C "$(dirname "$mk")" O="$out/$name"; then
		echo "examples/$name: FAILED to build"
		rc=1
		continue
	fi
	echo "examples/$name: built"
	args=()
	if [ -f "$src/examples/$name/selftest" ]; then
		line=$(grep -v '^#' "$src/examples/$name/selftest" | head -n 1 || true)
		case $line in
		skip:*)
			echo "examples/$name: not run (${line#skip:})"
			continue ;;
		esac
		read -r -a args <<<"$line"
	fi
	if "$out/$name/$name" "${args[@]}" >"$out/$name.log" 2>&1; then
		echo "examples/$name: $(tail -n 1 "$out/$name.log")"
	else
		cat "$out/$name.log"
		echo "examples/$name: FAILED to run"
		rc=1
	fi
done
exit $rc
