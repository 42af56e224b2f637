/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_PGTABLE_H
#define MM_PGTABLE_H

/*
 * pgtable.c: walks, table allocation, huge splits and the range
 * operations on page tables (zap, protect, copy for fork, move for remap).
 * Format and PT locks: mm_pte.h; lock order: mm_locking.h.
 */

#include <stdbool.h>
#include <stdint.h>

#include "mm_pte.h"
#include "mm_gather.h"

struct mmrt_as;
struct mm_region;

/* Lock / unlock the PT locks of two tables of one level, in the order of
 * mm_locking.h (lower pfn first); @a == @b takes one. */
void mm_pt_lock_pair(uint32_t a, uint32_t b);
void mm_pt_unlock_pair(uint32_t a, uint32_t b);
int mm_pt_alloc(struct mmrt_as *as, uint32_t *pfn);
uint64_t *mm_pt_walk(struct mmrt_as *as, uint64_t va, unsigned int level,
	bool alloc, uint32_t *table, int *err);
uint64_t *mm_pt_walk_try(struct mmrt_as *as, uint64_t va, unsigned int level,
	uint32_t *table, int *err);
/*
 * The leaf for @va: a 2 MiB leaf (*huge) or a 4 KiB entry, allocating
 * tables if @alloc; *tbl is the table holding it (its PT lock guards it).
 * NULL with *err = -ENOENT (no table: empty) or -ENOMEM.
 */
uint64_t *mm_pt_leaf(struct mmrt_as *as, uint64_t va, bool alloc,
	uint32_t *tbl, bool *huge, int *err);
int mm_split_huge_at(struct mmrt_as *as, uint64_t va, bool locked);
int mm_split_pmd(struct mmrt_as *as, uint32_t tbl2, uint64_t *pmd, bool locked);
struct mm_zap {
	struct mm_gather *tlb;
	bool free_tables;  /* unmap/teardown: free emptied tables */
	bool locked;       /* under the read map lock: take PT locks */
};
void mm_zap_range(struct mmrt_as *as, struct mm_zap *z, uint64_t start,
	uint64_t end);
void mm_protect_range(struct mmrt_as *as, struct mm_gather *tlb,
	uint64_t start, uint64_t end, uint32_t prot);
/*
 * Set (@set) or clear userfault write protection on [start, end) of region
 * @r, map lock held. Setting tracks the downgrades in @tlb (the caller
 * flushes; clearing grants only and passes NULL) and, if @markers, puts
 * WP markers on empty pages. 0, or -ENOMEM (markers, splits).
 */
int mm_wp_range(struct mmrt_as *as, const struct mm_region *r,
	struct mm_gather *tlb, uint64_t start, uint64_t end, bool set,
	bool markers);
int mm_copy_range(struct mmrt_as *dst, struct mmrt_as *src,
	struct mm_gather *src_tlb, uint64_t start, uint64_t end,
	bool keep_uffd_wp);
/* Remap, write map lock held, [new, new + len) free of leaves: first
 * allocate the destination tables and split 2 MiB leaves that cannot move
 * whole (-ENOMEM leaves every translation as it was), then move the leaves
 * (cannot fail; the old ones are tracked in @tlb for the flush). */
int mm_move_prepare(struct mmrt_as *as, uint64_t old, uint64_t new,
	uint64_t len);
void mm_move_range(struct mmrt_as *as, struct mm_gather *tlb, uint64_t old,
	uint64_t new, uint64_t len, bool keep_uffd_wp);
void mm_pt_free_all(struct mmrt_as *as, struct mm_gather *tlb);

#endif /* MM_PGTABLE_H */
