#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# Check a perf report made by perf/report.sh: complete (every harness,
# every plot non-empty and referenced by index.html, the JSON parses) and
# rendered by headless Chromium (DIR/screenshot.png). See
# perf/report/check_report.py for the list of checks.
#
# usage: perf/check_report.sh DIR [--no-browser]
#
# Exit status: 0 passed, 1 failed, 77 Chromium missing (the rest passed),
# 2 usage.

[ $# -ge 1 ] || { echo "usage: $0 DIR [--no-browser]" >&2; exit 2; }
exec python3 "$(dirname "$0")/report/check_report.py" "$@"
