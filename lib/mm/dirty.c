/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Dirty tracking: the harvest of the D bits of a range (mmrt_mm.h).
 *
 * The D bit of a leaf is the dirty state of its page. Who sets it:
 *   - every path that grants write to a leaf, under the leaf's PT lock
 *     (fault.c write faults, access.c's copy, host.c's host fault); a
 *     leaf that is W but not D is "writable, clean": mmrt_walk() refuses
 *     to hand out a write translation for it (mmrt_pte_writable()), so
 *     a lockless walker or a consumer's TLB miss that wants to write
 *     takes the fault path, which sets D, before it gets one;
 *   - uffd copy and zeropage fills and moves, when they publish the leaf.
 * Who clears it: only the harvest below, under the same PT lock, with the
 * read map lock held (the write-side paths that rebuild leaves, unmap,
 * protect, fork, are excluded by it).
 *
 * Why no write is lost. A write reaches a page in one of three ways:
 *   1. under the PT lock (mmrt_write(), fills): it sets D under the lock
 *      the harvest clears D under, so the harvest either sees D (the
 *      write came first) or the write comes after and sets D again;
 *   2. through a translation handed out to a registered poller
 *      (mmrt_translate()), only for a D leaf, valid until the poller's
 *      next quiescent state: the harvest waits for a grace period after
 *      clearing, so any such write is done before the harvest returns,
 *      and its page was D when cleared, hence reported;
 *   3. through a consumer's device TLB (DMA engines): the entry was filled
 *      from a D leaf; the harvest tracks every cleared leaf that was W in
 *      a gather and flushes it, waiting for every consumer's ack, and a
 *      consumer acks only between operations; after the ack its next
 *      write misses, walks, finds W without D, and faults to set D.
 * In all three cases the reported page's contents are final for this
 * round once the call returns; a write after that shows in the next.
 *
 * Why none is invented: D is set only by a write, a fill, or a fault that
 * makes a leaf writable (which a write asked for, or the first mapping).
 *
 * Pinned pool frames (pin.c) are the exception to case 3: a pin holder
 * writes by DMA through the addresses the pin gave it, without any
 * translation to drop, so a writable leaf of a pinned frame keeps D and
 * is reported by every harvest while it stays pinned, as VFIO reports
 * pinned pages (an over-report, never a loss). Pins on host mappings
 * hold no frame and are not seen here (docs/guide.md says so).
 *
 * Order of a clearing harvest (as mmrt_protect()'s downgrade, the
 * deferred flush that mm_locking.h allows for a write-protect):
 *   map_lock (read) -> range start -> per table: PT lock, clear D, unlock
 *   -> gather finish (device flush, acks) -> range end -> map unlock
 *   -> mmrt_synchronize().
 * No wait happens under a PT lock.
 */

#include <errno.h>

#include <rte_common.h>
#include <rte_rwlock.h>

#include "mm_locking.h"
#include "mm_pte.h"
#include "mm_host_pte.h"
#include "mm_pin_frame.h"
#include "mm_as.h"
#include "mm_notify.h"
#include "mm_gather.h"
#include "mm_pgtable.h"
#include "mmrt_notifier.h"

struct harvest {
	uint64_t va;             /* bit 0 of the bitmap */
	uint64_t *bitmap;        /* NULL: count only */
	bool clear;
	int64_t found;
	struct mm_gather *tlb;   /* cleared writable leaves, to flush */
	bool tracked;
};

/* Report the pages of [start, end), a dirty leaf's part of the range. */
static void
harvest_report(struct harvest *h, uint64_t start, uint64_t end)
{
	uint64_t i = (start - h->va) >> MMRT_PAGE_SHIFT;
	uint64_t n = (end - h->va) >> MMRT_PAGE_SHIFT;

	h->found += (int64_t)(n - i);
	if (h->bitmap == NULL)
		return;
	for (; i < n; i++)
		h->bitmap[i / 64] |= UINT64_C(1) << (i % 64);
}

/*
 * Must the writable, dirty leaf @e stay dirty? Yes while its pool frame is
 * pinned (@huge: @e is a 2 MiB leaf, its head frame carries the count).
 */
static bool
harvest_keep(uint64_t e, bool huge)
{
	uint32_t pfn;

	if (!(e & PTE_W) || pte_is_host(e))
		return false;
	pfn = pte_pfn(e);
	if (pfn == mmrt_zero_pfn())
		return false;
	return mm_frame_pinned(huge ? pfn : frame_owner(pfn));
}

/* A dirty leaf was cleared: drop its write translations at the end. */
static void
harvest_track(struct harvest *h, uint64_t e, uint64_t va, unsigned int level)
{
	if (!(e & PTE_W))
		return; /* no translation for write can exist */
	mm_gather_track_entry(h->tlb, va, level);
	h->tracked = true;
}

/* [start, end) within one level-1 table. */
static void
harvest_ptes(struct harvest *h, uint32_t tbl, uint64_t start, uint64_t end)
{
	uint64_t *t = pt_table(tbl);
	unsigned int i = level_index(start, MM_LEVEL_PTE);
	unsigned int n = i + (unsigned int)((end - start) >> MMRT_PAGE_SHIFT);
	uint64_t va = start, e;

	if (h->clear)
		mm_spin_lock(pt_lock(tbl), MM_LC_PT);
	for (; i < n; i++, va += MMRT_PAGE_SIZE) {
		/* markers carry no D; every leaf with D has a page */
		e = __atomic_load_n(&t[i], __ATOMIC_RELAXED);
		if (likely(!(e & PTE_D)))
			continue;
		harvest_report(h, va, va + MMRT_PAGE_SIZE);
		if (!h->clear || harvest_keep(e, false))
			continue;
		/* PT lock held: nobody else changes this entry */
		pte_store(&t[i], e & ~PTE_D);
		harvest_track(h, e, va, MM_LEVEL_PTE);
	}
	if (h->clear)
		mm_spin_unlock(pt_lock(tbl), MM_LC_PT);
}

/*
 * The 2 MiB entry @p of table @tbl covering [start, end), seen as a dirty
 * 2 MiB leaf. A leaf the range covers only in part is reported and left
 * dirty: clearing it would drop the state of its pages outside the range.
 */
static void
harvest_huge(struct harvest *h, uint32_t tbl, uint64_t *p, uint64_t start,
	uint64_t end)
{
	bool whole = (start & (MMRT_HUGE_SIZE - 1)) == 0 &&
		end - start == MMRT_HUGE_SIZE;
	uint64_t e;

	if (!h->clear || !whole) {
		e = pte_load(p);
		if (e & PTE_T) /* split since we looked */
			harvest_ptes(h, pte_pfn(e), start, end);
		else if ((e & PTE_H) && (e & PTE_D))
			harvest_report(h, start, end);
		return;
	}
	mm_spin_lock(pt_lock(tbl), MM_LC_PT);
	e = pte_load(p);
	if ((e & PTE_H) && (e & PTE_D)) {
		harvest_report(h, start, end);
		if (!harvest_keep(e, true)) {
			pte_store(p, e & ~PTE_D);
			harvest_track(h, e, start, MM_LEVEL_PMD);
		}
	}
	mm_spin_unlock(pt_lock(tbl), MM_LC_PT);
	if (e & PTE_T) /* split since we looked: its 4 KiB leaves */
		harvest_ptes(h, pte_pfn(e), start, end);
}

static void
harvest_level(struct harvest *h, uint32_t tbl, unsigned int level,
	uint64_t start, uint64_t end)
{
	uint64_t size = level_size(level), *t = pt_table(tbl), va, next, e;

	for (va = start; va < end; va = next) {
		uint64_t *p = &t[level_index(va, level)];

		next = RTE_MIN((va | (size - 1)) + 1, end);
		/* tables stay while the map lock is held (read side) */
		e = pte_load(p);
		if (e & PTE_T) {
			if (level > MM_LEVEL_PMD)
				harvest_level(h, pte_pfn(e), level - 1, va,
					next);
			else
				harvest_ptes(h, pte_pfn(e), va, next);
		} else if (level == MM_LEVEL_PMD && (e & PTE_H) &&
				(e & PTE_D)) {
			harvest_huge(h, tbl, p, va, next);
		}
	}
}

static int64_t
dirty_scan(struct mmrt_as *as, uint64_t va, uint64_t len, uint64_t *bitmap,
	bool clear)
{
	struct harvest h = {
		.va = va, .bitmap = bitmap, .clear = clear, .found = 0,
	};
	struct mmrt_notifier_range nr;
	struct mm_gather tlb;

	MM_BLOCKING_BEGIN();
	mm_read_lock(&as->map_lock, MM_LC_MAP);
	if (clear) {
		mm_range_init(&nr, as, MMRT_NOTIFY_PROTECTION_PAGE, true, va,
			va + len, NULL);
		mm_notify_start(&nr);
		mm_gather_init(&tlb, as, false);
		h.tlb = &tlb;
	}
	harvest_level(&h, as->core.pgd, PT_LEVELS, va, va + len);
	if (clear) {
		/* every consumer acks: no write through a cleared entry */
		mm_gather_finish(&tlb);
		mm_notify_end(&nr);
	}
	mm_read_unlock(&as->map_lock, MM_LC_MAP);
	/* translations handed to pollers end at their quiescent state */
	if (h.tracked)
		mmrt_synchronize();
	MM_BLOCKING_END();
	return h.found;
}

int64_t
mmrt_dirty_harvest(struct mmrt_as *as, uint64_t va, uint64_t len,
	uint64_t *bitmap, size_t bitmap_bits, uint32_t flags)
{
	if (!mm_as_live(as) || !mm_range_valid_pages(va, len) ||
			bitmap == NULL || (flags & ~MMRT_DIRTY_NO_CLEAR))
		return -EINVAL;
	if ((uint64_t)bitmap_bits < len >> MMRT_PAGE_SHIFT)
		return -ENOBUFS;
	return dirty_scan(as, va, len, bitmap,
		!(flags & MMRT_DIRTY_NO_CLEAR));
}

int64_t
mmrt_dirty_clear(struct mmrt_as *as, uint64_t va, uint64_t len)
{
	if (!mm_as_live(as) || !mm_range_valid_pages(va, len))
		return -EINVAL;
	return dirty_scan(as, va, len, NULL, true);
}
