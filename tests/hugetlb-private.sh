# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# Sourced by the checks that need real 2 MiB hugepages of their own
# (check-secondary.sh, check-proc-info.sh): a private hugetlbfs mount and
# only the missing pages reserved, given back exactly on release.
#
#   hugetlb_setup DIR PAGES   mount DIR, make PAGES free pages available
#                             (calls the caller's skip() when it cannot)
#   hugetlb_release           unmount (emptied first) and give back exactly
#                             the pages hugetlb_setup reserved; idempotent

hp=/sys/kernel/mm/hugepages/hugepages-2048kB
hugetlb_dir=
hugetlb_mounted=0
hugetlb_reserved=0

hugetlb_setup() {
	local before after free
	hugetlb_dir=$1
	mkdir -p "$hugetlb_dir"
	mount -t hugetlbfs -o pagesize=2M nodev "$hugetlb_dir" ||
		skip "cannot mount hugetlbfs on $hugetlb_dir"
	hugetlb_mounted=1
	free=$(cat "$hp/free_hugepages")
	[ "$free" -ge "$2" ] && return 0
	before=$(cat "$hp/nr_hugepages")
	echo $((before + $2 - free)) > "$hp/nr_hugepages"
	after=$(cat "$hp/nr_hugepages")
	hugetlb_reserved=$((after - before))
	echo "reserved $hugetlb_reserved 2 MiB hugepages (wanted $(($2 - free)))"
	free=$(cat "$hp/free_hugepages")
	[ "$free" -ge "$2" ] ||
		skip "only $free free 2 MiB hugepages after reserving, need $2"
}

hugetlb_release() {
	local total
	if [ "$hugetlb_mounted" = 1 ]; then
		rm -f "$hugetlb_dir"/*
		umount "$hugetlb_dir"
		hugetlb_mounted=0
	fi
	if [ "$hugetlb_reserved" -gt 0 ]; then
		total=$(cat "$hp/nr_hugepages")
		echo $((total - hugetlb_reserved)) > "$hp/nr_hugepages"
		echo "gave back $hugetlb_reserved hugepages" \
			"($(cat "$hp/nr_hugepages") left)"
		hugetlb_reserved=0
	fi
}
