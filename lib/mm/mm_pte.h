/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_PTE_H
#define MM_PTE_H

/*
 * The page-table format of lib/mm (header-only, the lowest layer).
 *
 * Page table: 4 levels of 512 64-bit entries, level 4 at the top, level 1
 * (MM_LEVEL_PTE) holding 4 KiB leaves; level 2 (MM_LEVEL_PMD) entries may
 * be 2 MiB leaves. The geometry is MMRT_PT_SHIFT() of mmrt_mm_core.h, which
 * the inline walk uses too. Page-table pages are frames (flag
 * MMRT_FRAME_PT) whose metadata word `ptl` is the split PT lock guarding
 * their entries (order: mm_locking.h).
 *
 * Lockless walkers (mmrt_translate from registered pollers) load each entry
 * with acquire semantics; every entry store that publishes a table or a
 * frame is a release store, pairing with those loads, so a walker that sees
 * an entry also sees the zeroed table or the complete frame contents behind
 * it. Unhooked tables go through the gather to the QSBR defer queue, so a
 * walker that loaded a table pointer can keep reading that table until its
 * next quiescent state.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_spinlock.h>

#include "mmrt_mem.h"
#include "mmrt_mm.h"

/* PTE bits (the format is in mmrt_mm_core.h, for the inline walk). */
#define PTE_P        MMRT_PTE_P
#define PTE_W        MMRT_PTE_W
#define PTE_A        MMRT_PTE_A
#define PTE_D        MMRT_PTE_D
#define PTE_H        MMRT_PTE_H
#define PTE_UFFD_WP  MMRT_PTE_UFFD_WP
#define PTE_T        MMRT_PTE_T
#define PTE_PROTNONE MMRT_PTE_PROTNONE
#define PTE_POISON   MMRT_PTE_POISON
#define PTE_PFN_SHIFT MMRT_PTE_PFN_SHIFT
#define PTE_PFN_MASK MMRT_PTE_PFN_MASK

#define PT_ENTRIES (MMRT_PT_INDEX_MASK + 1)
#define PT_LEVELS 4

/* Named levels: the 4 KiB leaves and the level whose leaves are 2 MiB. */
#define MM_LEVEL_PTE 1
#define MM_LEVEL_PMD 2

static inline uint32_t
pte_pfn(uint64_t e)
{
	return (uint32_t)((e & PTE_PFN_MASK) >> PTE_PFN_SHIFT);
}

static inline uint64_t
pte_mk(uint32_t pfn, uint64_t bits)
{
	return ((uint64_t)pfn << PTE_PFN_SHIFT) | bits;
}

/* A leaf that holds a frame reference (present or PROT_NONE). */
static inline bool
pte_has_frame(uint64_t e)
{
	return (e & (PTE_P | PTE_PROTNONE)) != 0 && !(e & PTE_T);
}

/* A marker: a non-present leaf that carries only software bits (WP,
 * poison). */
static inline bool
pte_is_marker(uint64_t e)
{
	return e != 0 && !(e & (PTE_P | PTE_PROTNONE | PTE_T));
}

/* Bytes covered by one entry at @level (1..4). */
static inline uint64_t
level_size(unsigned int level)
{
	return UINT64_C(1) << MMRT_PT_SHIFT(level);
}

static inline unsigned int
level_index(uint64_t va, unsigned int level)
{
	return (va >> MMRT_PT_SHIFT(level)) & MMRT_PT_INDEX_MASK;
}

static inline uint64_t *
pt_table(uint32_t pfn)
{
	return mmrt_frame_addr_unchecked(pfn);
}

static inline rte_spinlock_t *
pt_lock(uint32_t pfn)
{
	return (rte_spinlock_t *)&mmrt_frame_meta(pfn)->ptl;
}

static inline uint64_t
pte_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void
pte_store(uint64_t *p, uint64_t e)
{
	__atomic_store_n(p, e, __ATOMIC_RELEASE);
}

/* The frame that owns the reference of a mapped pfn (head for huge tails). */
static inline uint32_t
frame_owner(uint32_t pfn)
{
	if (mmrt_frame_meta(pfn)->flags & MMRT_FRAME_TAIL)
		return pfn & ~(MMRT_HUGE_NR - 1);
	return pfn;
}

/*
 * A new anonymous frame (or huge head) about to be mapped by one leaf: the
 * rmap state the fault and fill paths give it before the release store
 * that publishes the entry. The frame is not reachable yet: plain stores.
 */
static inline void
mm_anon_frame_init(uint32_t pfn)
{
	struct mmrt_frame *f = mmrt_frame_meta(pfn);

	f->flags |= MMRT_FRAME_ANON;
	f->mapcount = 1;
}

#endif /* MM_PTE_H */
