/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_REGION_H
#define MM_REGION_H

/*
 * region.c: the regions (VMAs) of an address space, a sorted array of
 * disjoint ranges in struct mmrt_as (mm_as.h). Read under the map lock,
 * changed under the write map lock.
 */

#include <stdbool.h>
#include <stdint.h>

#include "mm_as.h"

struct mmrt_object;
struct mmrt_uffd;

#define REGION_OBJECT (1u << 16) /* backed by a shared object */

/* A region (VMA). */
struct mm_region {
	uint64_t start;
	uint64_t end;
	uint32_t prot;
	uint32_t flags;          /* MMRT_MAP_HUGE | REGION_OBJECT */
	struct mmrt_object *obj;
	uint64_t obj_off;        /* object offset of @start */
	struct mmrt_uffd *uffd;  /* registered with (uffd.c), or NULL */
	uint64_t uffd_mode;      /* MMRT_UFFD_REGISTER_MODE_* */
};

int mm_region_reserve(struct mmrt_as *as, uint32_t extra);
int mm_region_find(const struct mmrt_as *as, uint64_t va);
uint32_t mm_region_first_after(const struct mmrt_as *as, uint64_t va);
bool mm_region_overlaps(const struct mmrt_as *as, uint64_t start, uint64_t end);
bool mm_region_covered(const struct mmrt_as *as, uint64_t start, uint64_t end);
int mm_region_insert(struct mmrt_as *as, const struct mm_region *r);
int mm_region_split(struct mmrt_as *as, uint64_t at);
void mm_region_remove(struct mmrt_as *as, uint64_t start, uint64_t end);

/*
 * For each region index @i of @as that overlaps [@lo, @hi), in address
 * order (@i is a uint32_t; map lock held). The body may change the region
 * at @i but not insert or remove regions.
 */
#define MM_FOR_EACH_REGION(as, i, lo, hi) \
	for ((i) = mm_region_first_after((as), (lo)); \
		(i) < (as)->nr_regions && (as)->regions[(i)].start < (hi); \
		(i)++)

#endif /* MM_REGION_H */
