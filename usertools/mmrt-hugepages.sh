#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# Reserve, release or show 2 MiB hugepages for mmrt through DPDK's
# dpdk-hugepages.py.
#
#   mmrt-hugepages.sh reserve SIZE   reserve SIZE of 2 MiB pages (e.g. 1G,
#                                    512M) and mount them on /dev/hugepages
#   mmrt-hugepages.sh release [--remove-stale]
#                                    unmount and free all hugepages
#   mmrt-hugepages.sh show           show reserved pages and mounts
#
# A hugepage stays allocated while a file in a hugetlbfs mount holds it.
# DPDK names its files <file-prefix>map_<n> (rtemap_0 for the default
# prefix "rte") and leaves them behind after --legacy-mem runs and after
# a process that died; release then cannot free those pages. It lists such
# files by prefix, tells apart the prefixes a running process still maps
# or holds open (never touched) from stale ones, and removes the stale
# ones only when asked to (--remove-stale), printing the rm command
# otherwise.

set -e

prog=$(basename "$0")

usage()
{
	cat <<USAGE
usage: $prog reserve SIZE | release [--remove-stale] | show
  reserve SIZE  reserve SIZE (e.g. 1G, 512M) of 2 MiB hugepages, mount
                them on /dev/hugepages (replaces any earlier reservation)
  release       unmount hugetlbfs and free all reserved hugepages; stops
                if files in a hugetlbfs mount still hold pages, and says
                which (DPDK's <prefix>map_* files) and whose
    --remove-stale  first remove the hugepage files of DPDK prefixes that
                no running process maps or holds open
  show          show reserved hugepages, hugetlbfs mounts and the files
                in them
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

# hugetlbfs mount points, one a line (MMRT_HUGETLBFS_MOUNTS, a space
# separated list, replaces them: for testing this script).
hugetlbfs_mounts()
{
	if [ -n "${MMRT_HUGETLBFS_MOUNTS:-}" ]; then
		for m in $MMRT_HUGETLBFS_MOUNTS; do echo "$m"; done
		return
	fi
	awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts
}

# Files in hugetlbfs mounts: "mount<TAB>name", one a line.
hugetlbfs_files()
{
	for m in $(hugetlbfs_mounts); do
		for f in "$m"/* "$m"/.[!.]*; do
			[ -e "$f" ] || continue
			printf '%s\t%s\n' "$m" "${f##*/}"
		done
	done
}

# "dpdk<TAB>prefix" for DPDK's hugepage file name $1 (<prefix>map_<n>),
# "other<TAB>name" for a file DPDK did not make.
file_kind()
{
	case "$1" in
	*map_[0-9]*) printf 'dpdk\t%s\n' "${1%%map_[0-9]*}" ;;
	*) printf 'other\t%s\n' "$1" ;;
	esac
}

# Whether a process holds a flock on a file whose path starts with $1:
# DPDK keeps a shared lock on each hugepage file it uses.
locked()
{
	command -v flock >/dev/null 2>&1 || return 1
	for f in "$1"*; do
		[ -e "$f" ] || continue
		flock -n -x "$f" true 2>/dev/null || return 0
	done
	return 1
}

# Pids of processes that map, or hold open, a file whose path starts with
# $1 (a mount point and a prefix). Space separated, empty if none; "?"
# if only a lock shows that one does.
users_of()
{
	pids=
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" -eq "$$" ] && continue
		if grep -qF "$1" "$d/maps" 2>/dev/null; then
			pids="$pids $pid"
			continue
		fi
		for fd in "$d"/fd/*; do
			case "$(readlink "$fd" 2>/dev/null)" in
			"$1"*) pids="$pids $pid"; break ;;
			esac
		done
	done
	if [ -z "$pids" ] && locked "$1"; then
		pids=" ?"
	fi
	echo "${pids# }"
}

# Look at what holds hugepages. With $1 = yes remove the files of stale
# DPDK prefixes. Prints a report; returns 1 if files still hold pages.
check_files()
{
	remove=$1
	list=$(hugetlbfs_files | while IFS='	' read -r m n; do
		printf '%s\t%s\n' "$m" "$(file_kind "$n")"
	done | sort -u)
	[ -n "$list" ] || return 0
	echo "$list" | {
		held=0
		stale_cmd=
		while IFS='	' read -r m kind p; do
			if [ "$kind" = other ]; then
				users=$(users_of "$m/$p")
				echo "$prog: $m/$p holds hugepages (not a DPDK" \
					"file)${users:+, in use by pid(s) $users}:" \
					"remove it when nothing needs it" >&2
				held=1
				continue
			fi
			files="$m/${p}map_*"
			n=0
			for f in "$m/${p}map_"[0-9]*; do
				[ -e "$f" ] && n=$((n + 1))
			done
			users=$(users_of "$m/${p}map_")
			if [ -n "$users" ]; then
				echo "$prog: $n file(s) $files are in use by" \
					"running pid(s) $users ($(ps -o comm= \
					-p "$(echo "$users" | tr ' ' ',')" \
					2>/dev/null | sort -u | tr '\n' ' ' |
					sed 's/ $//')): stop them first" >&2
				held=1
			elif [ "$remove" = yes ]; then
				echo "$prog: removing $n stale file(s) $files" \
					"(no running process uses prefix '$p')"
				rm -f -- "$m/${p}map_"[0-9]*
			else
				echo "$prog: $n file(s) $files hold hugepages;" \
					"no running process uses prefix '$p' (left" \
					"by a --legacy-mem run, or one that died)" >&2
				stale_cmd="$stale_cmd rm -f $m/${p}map_[0-9]*;"
				held=1
			fi
		done
		if [ -n "$stale_cmd" ]; then
			echo "$prog: to remove the stale files: $prog release" \
				"--remove-stale (or by hand:$stale_cmd)" >&2
		fi
		return $held
	}
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
	remove=no
	case "${1:-}" in
	--remove-stale) remove=yes; shift ;;
	esac
	[ $# -eq 0 ] || die "usage: $prog release [--remove-stale]"
	need_root release
	if ! check_files "$remove"; then
		die "hugepages not released: files in hugetlbfs hold them (above)"
	fi
	"$tool" -c -u
	;;
show)
	[ $# -eq 0 ] || die "usage: $prog show"
	"$tool" -s
	files=$(hugetlbfs_files)
	if [ -n "$files" ]; then
		echo "Files holding hugepages:"
		echo "$files" | while IFS='	' read -r m n; do
			printf '%s\t%s\n' "$m" "$(file_kind "$n")"
		done | sort | uniq -c | while read -r c m kind p; do
			if [ "$kind" = dpdk ]; then
				echo "  $m/${p}map_* ($c files)"
			else
				echo "  $m/$p"
			fi
		done
		echo "(release lists their users; $prog release --remove-stale" \
			"removes DPDK files no running process uses)"
	fi
	;;
esac
