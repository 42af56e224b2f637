/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Regions (VMAs) of an address space: a sorted array of disjoint ranges,
 * changed under the write map lock and searched by bisection. Callers
 * reserve room first (mm_region_reserve) so that an operation can fail with
 * -ENOMEM before it changes anything.
 */

#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "mm_testhooks.h"
#include "mm_object.h"
#include "mm_region.h"

int
mm_region_reserve(struct mmrt_as *as, uint32_t extra)
{
	struct mm_region *r;
	uint32_t cap;

	if (as->nr_regions + extra <= as->cap_regions)
		return 0;
	cap = RTE_MAX(as->cap_regions * 2, as->nr_regions + extra);
	cap = RTE_MAX(cap, 16u);
	r = TEST_ALLOC_FAIL() ? NULL :
		rte_realloc(as->regions, cap * sizeof(*r), 0);
	if (r == NULL)
		return -ENOMEM;
	as->regions = r;
	as->cap_regions = cap;
	return 0;
}

/* Index of the first region whose end is above @va (nr_regions if none). */
uint32_t
mm_region_first_after(const struct mmrt_as *as, uint64_t va)
{
	uint32_t lo = 0, hi = as->nr_regions;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (as->regions[mid].end <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
mm_region_find(const struct mmrt_as *as, uint64_t va)
{
	uint32_t i = mm_region_first_after(as, va);

	if (i < as->nr_regions && as->regions[i].start <= va)
		return (int)i;
	return -1;
}

bool
mm_region_overlaps(const struct mmrt_as *as, uint64_t start, uint64_t end)
{
	uint32_t i = mm_region_first_after(as, start);

	return i < as->nr_regions && as->regions[i].start < end;
}

bool
mm_region_covered(const struct mmrt_as *as, uint64_t start, uint64_t end)
{
	uint32_t i = mm_region_first_after(as, start);
	uint64_t at = start;

	for (; i < as->nr_regions && at < end; i++) {
		if (as->regions[i].start > at)
			return false;
		at = as->regions[i].end;
	}
	return at >= end;
}

/* Insert a region that overlaps nothing; room must have been reserved. */
int
mm_region_insert(struct mmrt_as *as, const struct mm_region *r)
{
	uint32_t i = mm_region_first_after(as, r->start);

	if (as->nr_regions >= as->cap_regions)
		return -ENOMEM;
	memmove(&as->regions[i + 1], &as->regions[i],
		(as->nr_regions - i) * sizeof(*r));
	as->regions[i] = *r;
	as->nr_regions++;
	if (r->flags & REGION_OBJECT)
		mm_object_map_count(r->obj, 1);
	return 0;
}

/* Cut the region containing @at in two at @at; one slot must be reserved. */
int
mm_region_split(struct mmrt_as *as, uint64_t at)
{
	int i = mm_region_find(as, at);
	struct mm_region hi;

	if (i < 0 || as->regions[i].start == at)
		return 0;
	if (as->nr_regions >= as->cap_regions)
		return -ENOMEM;
	hi = as->regions[i];
	hi.obj_off += at - hi.start;
	hi.start = at;
	as->regions[i].end = at;
	return mm_region_insert(as, &hi);
}

/* Remove every region inside [start, end), after splitting at both ends. */
void
mm_region_remove(struct mmrt_as *as, uint64_t start, uint64_t end)
{
	uint32_t i = mm_region_first_after(as, start), j;

	if (as->nr_regions == 0)
		return;
	for (j = i; j < as->nr_regions && as->regions[j].start < end; j++)
		if (as->regions[j].flags & REGION_OBJECT)
			mm_object_map_count(as->regions[j].obj, -1);
	memmove(&as->regions[i], &as->regions[j],
		(as->nr_regions - j) * sizeof(struct mm_region));
	as->nr_regions -= j - i;
}
