#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# Check a perf report made by perf/report.sh: complete (every harness,
# every plot non-empty and referenced by index.html, the JSON parses) and
# rendered by headless Chromium (DIR/screenshot.png). See
# perf/report/check_report.py for the list of checks.
#
# usage: perf/check_report.sh [--make BUILD_DIR] DIR [--no-browser]
#
# --make BUILD_DIR  first make a quick report into DIR with perf/report.sh
#                   from the harnesses of BUILD_DIR (as a test does)
#
# Exit status: 0 passed, 1 failed, 77 Chromium missing (the rest passed),
# 2 usage.

here=$(dirname "$0")
if [ "${1:-}" = "--make" ]; then
	[ $# -ge 3 ] || { echo "usage: $0 [--make BUILD_DIR] DIR" \
		"[--no-browser]" >&2; exit 2; }
	build=$2
	shift 2
	"$here/report.sh" --quick --report "$1" "$build" || exit 1
fi
[ $# -ge 1 ] || { echo "usage: $0 [--make BUILD_DIR] DIR [--no-browser]" >&2;
	exit 2; }
exec python3 "$here/report/check_report.py" "$@"
