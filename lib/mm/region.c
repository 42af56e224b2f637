/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Regions (VMAs) of an address space: a sorted array of disjoint ranges,
 * changed under the write map lock and searched by bisection. Callers
 * reserve room first (mm_region_reserve) so that an operation can fail with
 * -ENOMEM before it changes anything.
 *
 * Torn edits. An insert, a split or a removal moves many entries: a
 * secondary killed in the middle would leave an entry twice or lost, and
 * the next holder of the map lock would trip on it. In a process that
 * records (core_robust.h's journalled edits: secondaries), each edit is
 * journalled in the thread's robust record and run as numbered steps, and
 * the reaper finishes a dead thread's edit from its recorded step
 * (region_repair(), before the map lock is released). The thread and the
 * reaper run the same steps (region_edit_run()). Steps, for an edit of n
 * entries:
 *   insert of R at i (a split's upper half: after cutting entry i - 1):
 *     1, 2   R's object mapped once more (if R maps one): its count
 *            changed with the thread's tag set, then the tag cleared;
 *     3      a split's cut: entry i - 1 ends at R's start;
 *     4..    the shift, one entry each: entry k = entry k - 1, for
 *            k = n down to i + 1;
 *     then   entry i = R; then nr_regions = n + 1.
 *   removal of entries [i, e):
 *     1..    each object mapped once less, entry i, then i + 1, ...,
 *            two steps each as above;
 *     then   the shift, one entry each: entry i + t = entry e + t;
 *     then   nr_regions = n - (e - i).
 * Why redoing the recorded step and the rest is right: a shift step
 * writes one entry from another that no earlier step wrote and only a
 * later one will (k - 1 < k going down; e + t > i + t going up), so its
 * source is intact however far the step got; the cut, the placing and
 * nr_regions are plain stores of values the journal holds. An object's
 * count is shared with other spaces, so it is not stored but changed by
 * one compare-and-swap that also sets the thread's tag in the word
 * (mm_object.h); the tag is cleared only after the next step is
 * journalled, so at the first step the tag tells whether the change
 * happened, exactly (as a robust read lock's tag does, core_robust.c).
 * The primary journals nothing (one predictable branch) and moves
 * entries with memmove().
 */

#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "core_robust.h"
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

/* The journal of a region edit (core_robust.h): its arguments. */
enum {
	RJ_REGION = 0,  /* arg[0..6]: the region inserted */
	RJ_I = 7,       /* the index inserted at, or the first removed */
	RJ_N = 8,       /* nr_regions before the edit */
	RJ_KIND = 9,    /* RJ_INSERT, _SPLIT or _REMOVE << 32 | the end
			 * index of a removal */
};
enum { RJ_INSERT = 1, RJ_SPLIT, RJ_REMOVE };

_Static_assert(sizeof(struct mm_region) <= RJ_I * sizeof(uint64_t),
	"a region fits the journal's arguments");

/*
 * Steps @s and @s + 1 of @j (redone from @from; @repair: by the reaper):
 * @obj's count changes by @delta with the thread's tag set in the same
 * compare-and-swap, then the tag is cleared. At step @s the tag tells
 * whether the change happened (it is cleared only once step @s + 1 is
 * journalled). The reaper's own change is untagged: another dead
 * thread's tag may sit in the word until its own repair.
 */
static void
region_count(struct mmrt_robust_edit *j, struct mmrt_object *obj, int delta,
	uint32_t s, uint32_t from, bool repair)
{
	if (from < s || (from == s && !mm_object_map_tagged(obj, j->tag))) {
		core_edit_step(j, s);
		if (repair) {
			mm_object_map_count(obj, delta);
		} else {
			mm_object_map_count_tagged(obj, delta, j->tag);
			/* test builds: a death after the change, at step s */
			core_edit_kill_point(j->op);
		}
	}
	core_edit_step(j, s + 1);
	mm_object_map_untag(obj, j->tag);
}

/*
 * Run the region edit journalled in @j on @as after step @from (0: all
 * of it; the reaper, @repair: from the step the dead thread recorded,
 * redone),
 * each step journalled before its stores (see the top of the file).
 */
static void
region_edit_run(struct mmrt_as *as, struct mmrt_robust_edit *j, uint32_t from,
	bool repair)
{
	uint32_t kind = (uint32_t)(j->arg[RJ_KIND] >> 32);
	uint32_t i = (uint32_t)j->arg[RJ_I], n = (uint32_t)j->arg[RJ_N];
	uint32_t step, k, e, shift, last;
	struct mm_region r;

	if (kind == RJ_REMOVE) {
		e = (uint32_t)j->arg[RJ_KIND];
		shift = 1 + 2 * (e - i);  /* the shift's first step */
		last = shift + (n - e);   /* the count's */
		/* entry k's object: steps 1 + 2 (k - i) and the next */
		for (k = i; k < e; k++) {
			step = 1 + 2 * (k - i);
			if (from <= step + 1 &&
					(as->regions[k].flags & REGION_OBJECT))
				region_count(j, as->regions[k].obj, -1, step,
					from, repair);
		}
		for (step = RTE_MAX(from, shift); step < last; step++) {
			k = i + (step - shift);
			core_edit_step(j, step);
			as->regions[k] = as->regions[k + (e - i)];
		}
		core_edit_step(j, last);
		as->nr_regions = n - (e - i);
		return;
	}
	memcpy(&r, &j->arg[RJ_REGION], sizeof(r));
	if (from <= 2 && (r.flags & REGION_OBJECT))
		region_count(j, r.obj, 1, 1, from, repair);
	if (from <= 3 && kind == RJ_SPLIT) {
		core_edit_step(j, 3);
		as->regions[i - 1].end = r.start;
	}
	last = 4 + (n - i);               /* the placing's step */
	for (step = RTE_MAX(from, 4u); step < last; step++) {
		k = n - (step - 4);
		core_edit_step(j, step);
		as->regions[k] = as->regions[k - 1];
	}
	if (from <= last) {
		core_edit_step(j, last);
		as->regions[i] = r;
	}
	core_edit_step(j, last + 1);
	as->nr_regions = n + 1;
}

/* Finish a dead thread's region edit (its map lock still held). */
static void
region_repair(struct mmrt_robust_edit *j)
{
	region_edit_run((struct mmrt_as *)j->obj, j, j->step, true);
}

RTE_INIT(region_repair_register)
{
	mmrt_robust_edit_handler(CORE_EDIT_REGIONS, region_repair);
}

/* Journal and run the insert of @r at @i (@kind RJ_INSERT or _SPLIT). */
static void
region_edit_insert(struct mmrt_as *as, struct mmrt_robust_edit *j,
	const struct mm_region *r, uint32_t i, uint32_t kind)
{
	j->obj = (uintptr_t)as;
	memcpy(&j->arg[RJ_REGION], r, sizeof(*r));
	j->arg[RJ_I] = i;
	j->arg[RJ_N] = as->nr_regions;
	j->arg[RJ_KIND] = (uint64_t)kind << 32;
	core_edit_arm(j, CORE_EDIT_REGIONS);
	region_edit_run(as, j, 0, false);
	core_edit_end(j);
}

/* Insert a region that overlaps nothing; room must have been reserved. */
int
mm_region_insert(struct mmrt_as *as, const struct mm_region *r)
{
	uint32_t i = mm_region_first_after(as, r->start);
	struct mmrt_robust_edit *j;

	if (as->nr_regions >= as->cap_regions)
		return -ENOMEM;
	j = core_edit_get();
	if (unlikely(j != NULL)) {
		region_edit_insert(as, j, r, i, RJ_INSERT);
		return 0;
	}
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
	struct mmrt_robust_edit *j;
	struct mm_region hi;

	if (i < 0 || as->regions[i].start == at)
		return 0;
	if (as->nr_regions >= as->cap_regions)
		return -ENOMEM;
	hi = as->regions[i];
	hi.obj_off += at - hi.start;
	hi.start = at;
	j = core_edit_get();
	if (unlikely(j != NULL)) {
		region_edit_insert(as, j, &hi, (uint32_t)i + 1, RJ_SPLIT);
		return 0;
	}
	as->regions[i].end = at;
	return mm_region_insert(as, &hi);
}

/* Remove every region inside [start, end), after splitting at both ends. */
void
mm_region_remove(struct mmrt_as *as, uint64_t start, uint64_t end)
{
	uint32_t i = mm_region_first_after(as, start), e, k;
	struct mmrt_robust_edit *j;

	if (as->nr_regions == 0)
		return;
	for (e = i; e < as->nr_regions && as->regions[e].start < end; e++)
		;
	if (e == i)
		return;
	j = core_edit_get();
	if (unlikely(j != NULL)) {
		j->obj = (uintptr_t)as;
		j->arg[RJ_I] = i;
		j->arg[RJ_N] = as->nr_regions;
		j->arg[RJ_KIND] = (uint64_t)RJ_REMOVE << 32 | e;
		core_edit_arm(j, CORE_EDIT_REGIONS);
		region_edit_run(as, j, 0, false);
		core_edit_end(j);
		return;
	}
	for (k = i; k < e; k++)
		if (as->regions[k].flags & REGION_OBJECT)
			mm_object_map_count(as->regions[k].obj, -1);
	memmove(&as->regions[i], &as->regions[e],
		(as->nr_regions - e) * sizeof(struct mm_region));
	as->nr_regions -= e - i;
}
