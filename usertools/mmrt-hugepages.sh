#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# Reserve, release or show 2 MiB hugepages for mmrt through DPDK's
# dpdk-hugepages.py.
#
#   mmrt-hugepages.sh reserve SIZE   reserve SIZE of 2 MiB pages (e.g. 1G,
#                                    512M) and mount them on /dev/hugepages
#   mmrt-hugepages.sh release        unmount and free all hugepages
#   mmrt-hugepages.sh show           show reserved pages and mounts

set -e

prog=$(basename "$0")

usage()
{
	cat <<USAGE
usage: $prog reserve SIZE | release | show
  reserve SIZE  reserve SIZE (e.g. 1G, 512M) of 2 MiB hugepages, mount
                them on /dev/hugepages (replaces any earlier reservation)
  release       unmount hugetlbfs and free all reserved hugepages
  show          show reserved hugepages and hugetlbfs mounts
USAGE
}

die()
{
	echo "$prog: $*" >&2
	exit 1
}

find_tool()
{
	for t in dpdk-hugepages.py /usr/bin/dpdk-hugepages.py \
		/usr/local/bin/dpdk-hugepages.py; do
		if command -v "$t" >/dev/null 2>&1; then
			command -v "$t"
			return 0
		fi
	done
	return 1
}

need_root()
{
	[ "$(id -u)" -eq 0 ] || die "'$1' needs root (try: sudo $prog $1 ...)"
}

[ $# -ge 1 ] || { usage >&2; exit 1; }
cmd=$1
shift

case "$cmd" in
-h|--help|help)
	usage
	exit 0
	;;
reserve|release|show)
	;;
*)
	usage >&2
	exit 1
	;;
esac

tool=$(find_tool) || die "dpdk-hugepages.py not found (Debian: apt-get install dpdk)"

case "$cmd" in
reserve)
	[ $# -eq 1 ] || die "usage: $prog reserve SIZE (e.g. 1G)"
	size=$1
	echo "$size" | grep -Eq '^[0-9]+[KkMmGg]?$' ||
		die "bad size '$size' (expected a number with K, M or G)"
	need_root reserve
	mkdir -p /dev/hugepages
	"$tool" -p 2M --setup "$size"
	"$tool" -s
	;;
release)
	[ $# -eq 0 ] || die "usage: $prog release"
	need_root release
	"$tool" -c -u
	;;
show)
	[ $# -eq 0 ] || die "usage: $prog show"
	"$tool" -s
	;;
esac
