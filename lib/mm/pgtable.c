/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Page-table walks and range operations: allocate tables on the way down,
 * split 2 MiB leaves, zap (unmap/DONTNEED/teardown) into a gather, change
 * protections (and userfault write protection), copy for fork and move for
 * remap. Lock order: mm_locking.h.
 */

#include <errno.h>
#include <string.h>

#include <rte_prefetch.h>

#include "mm_locking.h"
#include "mm_pte.h"
#include "mm_host_pte.h"
#include "mm_pin_frame.h"
#include "mm_as.h"
#include "mm_region.h"
#include "mm_notify.h"
#include "mm_gather.h"
#include "mm_fly.h"
#include "mm_stepprof.h"

/* the steps of a zap, for -DMM_STEP_PROF (mm_stepprof.h) */
enum { SP_ZAP_LEAVES, SP_ZAP_UPPER };
MM_SP_DEFINE("zap", "leaves", "upper")
#include "mm_pgtable.h"

/* A zeroed frame made a table (its PT lock free) of @as. */
static void
pt_frame_init(struct mmrt_as *as, uint32_t pfn)
{
	struct mmrt_frame *f = mmrt_frame_meta(pfn);

	f->ptl = 0;
	f->flags = MMRT_FRAME_PT;
	MM_STAT_ADD(as, pt_pages, 1);
}

int
mm_pt_alloc(struct mmrt_as *as, uint32_t *pfn)
{
	int64_t p = mmrt_frame_alloc(MMRT_ALLOC_ZERO);

	if (p < 0)
		return (int)p;
	pt_frame_init(as, (uint32_t)p);
	*pfn = (uint32_t)p;
	return 0;
}

/* A table allocated but never published goes back at once. */
static void
pt_free_unpublished(struct mmrt_as *as, uint32_t pfn)
{
	MM_STAT_ADD(as, pt_pages, -1);
	mm_table_free_now(pfn);
}

/*
 * A walk's new table for entry @p of table @tbl: a secondary's is
 * allocated into its record of frames in flight (mm_fly.h, 1.), so that
 * no instant of it is in neither the pool nor the record.
 */
static inline int
pt_walk_alloc(struct mmrt_as *as, uint64_t *p, uint32_t tbl, uint32_t *nt)
{
	int64_t ret;

	if (likely(!mmrt_robust_locks))
		return mm_pt_alloc(as, nt);
	ret = mm_fly_frame_alloc(p, tbl, MMRT_ALLOC_ZERO);
	if (ret < 0)
		return (int)ret;
	pt_frame_init(as, (uint32_t)ret);
#ifdef MMRT_TEST_HOOKS
	mmrt_test_pool_kill_point(MMRT_TEST_POOL_AT_PT);
#endif
	*nt = (uint32_t)ret;
	return 0;
}

/* ... and one that lost its race, put back before the record's clear */
static void
pt_walk_free(struct mmrt_as *as, uint32_t pfn)
{
	pt_free_unpublished(as, pfn);
	mm_fly_frame_done();
}

/*
 * The PT locks of two tables of one level (mm_locking.h): the lower table
 * pfn first, one lock if they are the same table. The order is global,
 * across address spaces too (merge locks tables of two spaces).
 */
void
mm_pt_lock_pair(uint32_t a, uint32_t b)
{
	mm_spin_lock(pt_lock(RTE_MIN(a, b)), MM_LC_PT);
	if (a != b)
		mm_spin_lock_nested(pt_lock(RTE_MAX(a, b)), MM_LC_PT);
}

void
mm_pt_unlock_pair(uint32_t a, uint32_t b)
{
	if (a != b)
		mm_spin_unlock(pt_lock(RTE_MAX(a, b)), MM_LC_PT);
	mm_spin_unlock(pt_lock(RTE_MIN(a, b)), MM_LC_PT);
}

/*
 * Entry for @va at @level; allocates missing tables above it if @alloc.
 * NULL with *err = -ENOENT (missing table), -EEXIST (a 2 MiB leaf sits
 * above @level), -ENOMEM. mm_pt_walk_try() allocates but only tries the
 * locks (for pollers): -EBUSY if one is taken.
 */
static uint64_t *
pt_walk(struct mmrt_as *as, uint64_t va, unsigned int level, bool alloc,
	bool try, uint32_t *table, int *err)
{
	uint32_t tbl = as->core.pgd;
	unsigned int l;

	for (l = PT_LEVELS; l > level; l--) {
		uint64_t *p = &pt_table(tbl)[level_index(va, l)];
		uint64_t e = pte_load(p);

		if (!(e & PTE_T)) {
			uint32_t nt;

			if (e != 0) {
				*err = -EEXIST;
				return NULL;
			}
			if (!alloc) {
				*err = -ENOENT;
				return NULL;
			}
			if (pt_walk_alloc(as, p, tbl, &nt) != 0) {
				*err = -ENOMEM;
				return NULL;
			}
			if (!try) {
				mm_spin_lock(pt_lock(tbl), MM_LC_PT);
			} else if (!mm_spin_trylock(pt_lock(tbl), MM_LC_PT)) {
				pt_walk_free(as, nt);
				*err = -EBUSY;
				return NULL;
			}
			e = pte_load(p);
			if (e == 0) {
				/* release: the zeroed table before the pointer */
				e = pte_mk(nt, PTE_T | PTE_P);
				pte_store(p, e);
				mm_fly_frame_done();
			}
			mm_spin_unlock(pt_lock(tbl), MM_LC_PT);
			if (pte_pfn(e) != nt || !(e & PTE_T)) {
				pt_walk_free(as, nt);
				if (!(e & PTE_T)) {
					*err = -EEXIST;
					return NULL;
				}
			}
		}
		tbl = pte_pfn(e);
	}
	*table = tbl;
	return &pt_table(tbl)[level_index(va, level)];
}

uint64_t *
mm_pt_walk(struct mmrt_as *as, uint64_t va, unsigned int level, bool alloc,
	uint32_t *table, int *err)
{
	return pt_walk(as, va, level, alloc, false, table, err);
}

uint64_t *
mm_pt_walk_try(struct mmrt_as *as, uint64_t va, unsigned int level,
	uint32_t *table, int *err)
{
	return pt_walk(as, va, level, true, true, table, err);
}

/*
 * Replace the 2 MiB leaf at *pmd (in table @tbl2) by a level-1 table of 512
 * leaves mapping the same frames with the same bits. An exclusively held
 * anonymous huge frame is broken into independent frames; a shared one
 * stays whole and every small leaf holds a reference on its head. The
 * frames do not change, so no flush is needed.
 */
static int
split_pmd(struct mmrt_as *as, uint32_t tbl2, uint64_t *pmd, bool locked)
{
	uint32_t nt, head, i;
	uint64_t e, bits, *t;
	struct mmrt_frame *hf;

	if (mm_pt_alloc(as, &nt) != 0)
		return -ENOMEM;
	if (locked)
		mm_spin_lock(pt_lock(tbl2), MM_LC_PT);
	e = pte_load(pmd);
	if (!pte_has_frame(e) || !(e & PTE_H)) {
		if (locked)
			mm_spin_unlock(pt_lock(tbl2), MM_LC_PT);
		pt_free_unpublished(as, nt);
		return 0;
	}
	bits = e & (PTE_P | PTE_W | PTE_A | PTE_D | PTE_PROTNONE | PTE_UFFD_WP);
	if (pte_is_host(e)) {
		/* host memory: 512 leaves of consecutive host pages */
		t = pt_table(nt);
		bits |= e & (PTE_HOST | PTE_HIOVA_BITS);
		for (i = 0; i < MMRT_HUGE_NR; i++)
			t[i] = (pte_host_addr(e) +
				((uint64_t)i << MMRT_PAGE_SHIFT)) | bits;
		goto publish;
	}
	head = pte_pfn(e);
	hf = mmrt_frame_meta(head);
	if (__atomic_load_n(&hf->refcount, __ATOMIC_ACQUIRE) == 1 &&
			mmrt_huge_split(head) == 0) {
		/* every frame is now its own, mapped once */
	} else {
		__atomic_fetch_add(&hf->refcount, MMRT_HUGE_NR - 1,
			__ATOMIC_RELAXED);
		__atomic_fetch_add(&hf->mapcount, MMRT_HUGE_NR - 1,
			__ATOMIC_RELAXED);
	}
	t = pt_table(nt);
	for (i = 0; i < MMRT_HUGE_NR; i++)
		t[i] = pte_mk(head + i, bits);
publish:
	/* release: the filled table before the pointer to it */
	pte_store(pmd, pte_mk(nt, PTE_T | PTE_P));
	if (locked)
		mm_spin_unlock(pt_lock(tbl2), MM_LC_PT);
	MM_STAT_ADD(as, splits, 1);
	return 0;
}

int
mm_split_huge_at(struct mmrt_as *as, uint64_t va, bool locked)
{
	uint32_t tbl2;
	uint64_t *pmd;
	int err;

	if ((va & (MMRT_HUGE_SIZE - 1)) == 0 || va >= MMRT_VA_LIMIT)
		return 0;
	pmd = mm_pt_walk(as, va, MM_LEVEL_PMD, false, &tbl2, &err);
	if (pmd == NULL)
		return 0;
	if (!(pte_load(pmd) & PTE_H))
		return 0;
	return split_pmd(as, tbl2, pmd, locked);
}

int
mm_split_pmd(struct mmrt_as *as, uint32_t tbl2, uint64_t *pmd, bool locked)
{
	return split_pmd(as, tbl2, pmd, locked);
}

/*
 * The leaf for @va: a 2 MiB leaf (*huge) or a 4 KiB entry, allocating
 * tables if @alloc. NULL with *err = -ENOENT (no table: empty), -ENOMEM.
 */
uint64_t *
mm_pt_leaf(struct mmrt_as *as, uint64_t va, bool alloc, uint32_t *tbl,
	bool *huge, int *err)
{
	uint64_t *pmd, e;

	*huge = false;
	pmd = mm_pt_walk(as, va, MM_LEVEL_PMD, alloc, tbl, err);
	if (pmd == NULL)
		return NULL;
	e = pte_load(pmd);
	if (e & PTE_H) {
		*huge = true;
		return pmd;
	}
	if (e & PTE_T) {
		*tbl = pte_pfn(e);
		return &pt_table(*tbl)[level_index(va, MM_LEVEL_PTE)];
	}
	if (!alloc) {
		*err = -ENOENT;
		return NULL;
	}
	pmd = mm_pt_walk(as, va, MM_LEVEL_PTE, true, tbl, err);
	if (pmd == NULL && *err == -EEXIST)
		return mm_pt_leaf(as, va, alloc, tbl, huge, err);
	return pmd;
}

static bool
table_empty(uint32_t tbl)
{
	const uint64_t *t = pt_table(tbl);
	unsigned int i;

	for (i = 0; i < PT_ENTRIES; i++)
		if (t[i] != 0)
			return false;
	return true;
}

/*
 * Queue the frame behind a cleared leaf; consecutive leaves of one owner
 * (a PTE-mapped huge frame) become one counted entry. The pages leaving
 * rss_pages are summed here and subtracted once per table (zap_level()),
 * not with one locked add per page; the counter is a statistic, read
 * without any lock.
 */
struct zap_run {
	uint32_t owner;
	uint32_t nr;
	uint32_t flags;
	uint32_t zero_pfn;  /* mmrt_zero_pfn(), read once per table */
	int64_t rss;        /* pages unmapped, not yet taken off rss_pages */
	/*
	 * The pool's metadata array (mmrt_frame_meta(0)), read once per
	 * table: a frame's metadata is meta[pfn] (lib/mem/pool.c keeps one
	 * array indexed by pfn), so a leaf costs no library call.
	 */
	struct mmrt_frame *meta;
};

static void
zap_run_emit(struct mm_gather *tlb, struct zap_run *run)
{
	if (run->nr > 0)
		mm_gather_add(tlb, run->owner, run->nr, run->flags);
	run->nr = 0;
}

/*
 * Drop the mapcount of a frame whose leaf was just cleared. With the write
 * map lock held (@excl: a zap without PT locks, see struct mm_zap) a count
 * of 1 is this leaf alone, and nothing can raise it while we hold the
 * lock: a new mapping of an existing anonymous frame is made only from a
 * leaf that maps it (fork's copy, merge, move: each holds this space's map
 * lock), and every other holder of a mapping has counted it (a leaf is
 * cleared before its count drops). So the last mapping goes with a plain
 * store instead of a locked subtraction; a shared frame (count > 1: a fork
 * child or a merged space may drop theirs at any time) keeps the atomic.
 */
static inline void
zap_mapcount_drop(struct mmrt_frame *f, bool excl)
{
	if (excl && __atomic_load_n(&f->mapcount, __ATOMIC_RELAXED) == 1)
		__atomic_store_n(&f->mapcount, 0, __ATOMIC_RELAXED);
	else
		__atomic_fetch_sub(&f->mapcount, 1, __ATOMIC_RELAXED);
}

/* model: models/gather.pml [G.1] */
static void
zap_leaf(struct mm_gather *tlb, struct zap_run *run, uint64_t e, bool huge,
	bool excl)
{
	uint32_t pfn = pte_pfn(e), owner = pfn, flags = 0;
	struct mmrt_frame *f;

	if (!pte_has_frame(e) || pte_is_host(e) || pfn == run->zero_pfn)
		return; /* host pages are the caller's: no frame to drop */
	f = &run->meta[pfn];
	if (!huge && (f->flags & MMRT_FRAME_TAIL)) {
		owner = pfn & ~(MMRT_HUGE_NR - 1);
		f = &run->meta[owner];
	}
	if (f->flags & MMRT_FRAME_OBJECT)
		flags |= MM_GE_DELAY_RMAP; /* object keeps it; drop after flush */
	else
		zap_mapcount_drop(f, excl);
	if (huge)
		flags |= MM_GE_HUGE;
	run->rss += huge ? (int64_t)MMRT_HUGE_NR : 1;
	if (run->nr > 0 && run->owner == owner && run->flags == flags &&
			!huge) {
		run->nr++;
		return;
	}
	zap_run_emit(tlb, run);
	run->owner = owner;
	run->nr = 1;
	run->flags = flags;
	if (huge)
		zap_run_emit(tlb, run);
}

/*
 * zap_leaf() of a recorded gather (a secondary's, mm_fly.h 3.): the leaf
 * recorded before its clear, its entry queued at once (no run kept
 * across leaves), the record cleared after.
 */
static void
zap_leaf_rec(struct mm_zap *z, struct zap_run *run, uint64_t *p, uint64_t e,
	bool huge)
{
	struct mm_fly *r = z->tlb->rec;
	struct mm_gather_batch *b = mm_fly_gather_room(z->tlb);

	zap_run_emit(z->tlb, run); /* nothing kept: always emitted below */
	r->zpte = p;
	r->ze = e;
	r->zb = b;
	r->znr = __atomic_load_n(&b->nr, __ATOMIC_RELAXED);
	mm_fly_order();
	__atomic_store_n(&r->zstate, 1, __ATOMIC_RELAXED);
	mm_fly_order();
	pte_store(p, 0);
	zap_leaf(z->tlb, run, e, huge, !z->locked);
	zap_run_emit(z->tlb, run);
	mm_fly_order();
	__atomic_store_n(&r->zstate, 0, __ATOMIC_RELAXED);
	mm_fly_order();
}

/* zap_level(): leaves ahead whose metadata is prefetched */
#define ZAP_PREFETCH 32

/* model: models/gather.pml [G.1] */
static void
zap_level(struct mmrt_as *as, struct mm_zap *z, uint32_t tbl,
	unsigned int level, uint64_t start, uint64_t end)
{
	uint64_t size = level_size(level), va, next;
	uint64_t *t = pt_table(tbl);
	struct zap_run run = {
		.zero_pfn = mmrt_zero_pfn(), .meta = mmrt_frame_meta(0),
	};

	/* level 1 under level 2: the sheet's one PT nesting by level */
	if (z->locked && level <= 2)
		mm_spin_lock_nest(pt_lock(tbl), MM_LC_PT, level == 1);
	for (va = start; va < end; va = next) {
		uint64_t *p = &t[level_index(va, level)];
		uint64_t e = *p;
		bool whole;

		next = RTE_MIN((va | (size - 1)) + 1, end);
		if (level == 1 && next < end) {
			/*
			 * The metadata of a leaf a few entries on, cold after
			 * a large populate: zap_leaf() reads its flags and
			 * drops its mapcount (the entry itself may be gone
			 * or moved by then: a prefetch is only a hint).
			 */
			uint64_t ahead = t[(level_index(va, 1) +
				ZAP_PREFETCH) & (PT_ENTRIES - 1)];

			if (pte_has_frame(ahead) && !pte_is_host(ahead))
				rte_prefetch0(&run.meta[pte_pfn(ahead)]);
		}
		if (e == 0)
			continue;
		whole = (va & (size - 1)) == 0 && next - va == size;
		if (level == 1 || (e & PTE_H)) {
			if ((e & PTE_H) && !whole) {
				/* callers split partial 2 MiB leaves first */
				continue;
			}
			if (unlikely(z->tlb->rec != NULL))
				zap_leaf_rec(z, &run, p, e, level == 2);
			else {
				pte_store(p, 0);
				zap_leaf(z->tlb, &run, e, level == 2,
					!z->locked);
			}
			MM_SP_ITEMS(1);
			mm_gather_track_entry(z->tlb, va, level);
			continue;
		}
		if (!(e & PTE_T))
			continue;
		if (level == 2)
			MM_SP(SP_ZAP_UPPER);
		zap_level(as, z, pte_pfn(e), level - 1, va, next);
		/* model: models/gather.pml [G.2] */
		if (z->free_tables && (whole || table_empty(pte_pfn(e)))) {
			pte_store(p, 0);
			MM_STAT_ADD(as, pt_pages, -1);
			mm_gather_remove_table(z->tlb, pte_pfn(e));
			mm_gather_track_entry(z->tlb, va, level);
		}
	}
	zap_run_emit(z->tlb, &run);
	if (run.rss != 0)
		MM_STAT_ADD(z->tlb->as, rss_pages, -run.rss);
	if (z->locked && level <= 2)
		mm_spin_unlock(pt_lock(tbl), MM_LC_PT);
	if (level == 1)
		MM_SP(SP_ZAP_LEAVES);
	else
		MM_SP(SP_ZAP_UPPER);
}

void
mm_zap_range(struct mmrt_as *as, struct mm_zap *z, uint64_t start,
	uint64_t end)
{
	MM_SP_START();
	zap_level(as, z, as->core.pgd, PT_LEVELS, start, end);
}

/* New bits of a leaf under protection @prot. */
static uint64_t
leaf_protect(uint64_t e, uint32_t prot)
{
	if (!pte_has_frame(e))
		return e;
	if (prot == MMRT_PROT_NONE) {
		if (e & PTE_P)
			e = (e & ~(PTE_P | PTE_W)) | PTE_PROTNONE;
		return e;
	}
	if (e & PTE_PROTNONE)
		e = (e & ~PTE_PROTNONE) | PTE_P;
	if (!(prot & MMRT_PROT_WRITE))
		e &= ~PTE_W;
	return e;
}

static void
protect_level(struct mmrt_as *as, struct mm_gather *tlb, uint32_t tbl,
	unsigned int level, uint64_t start, uint64_t end, uint32_t prot)
{
	uint64_t size = level_size(level), va, next;
	uint64_t *t = pt_table(tbl);

	for (va = start; va < end; va = next) {
		uint64_t *p = &t[level_index(va, level)];
		uint64_t e = *p, ne;

		next = RTE_MIN((va | (size - 1)) + 1, end);
		if (e == 0)
			continue;
		if (e & PTE_T) {
			if (level > 1)
				protect_level(as, tlb, pte_pfn(e), level - 1,
					va, next, prot);
			continue;
		}
		ne = leaf_protect(e, prot);
		if (ne == e)
			continue;
		pte_store(p, ne);
		/* a removed permission must be flushed before we return */
		if ((e & ~ne) & (PTE_P | PTE_W))
			mm_gather_track_entry(tlb, va, level);
	}
}

void
mm_protect_range(struct mmrt_as *as, struct mm_gather *tlb, uint64_t start,
	uint64_t end, uint32_t prot)
{
	protect_level(as, tlb, as->core.pgd, PT_LEVELS, start, end, prot);
}

/* May this leaf become writable again (WP cleared)? */
static bool
leaf_may_write(const struct mm_region *r, uint64_t e, bool huge)
{
	uint32_t pfn = pte_pfn(e);

	if (!(r->prot & MMRT_PROT_WRITE) || !(e & PTE_P))
		return false;
	if ((r->flags & REGION_OBJECT) || pte_is_host(e))
		return true; /* shared memory: never copied on write */
	if (pfn == mmrt_zero_pfn() || (!huge && frame_owner(pfn) != pfn))
		return false;
	return mm_frame_unpinned_refs(pfn) == 1;
}

/*
 * Set or clear uffd write protection on [start, end) of region @r
 * (userfault write-protect, uffd_fill.c; unregister, uffd.c).
 * Setting tracks the downgrades in @tlb (flushed by the caller; clearing
 * removes no permission and passes NULL); markers go on empty pages if
 * @markers. -ENOMEM (markers) or 0.
 */
int
mm_wp_range(struct mmrt_as *as, const struct mm_region *r,
	struct mm_gather *tlb, uint64_t start, uint64_t end, bool set,
	bool markers)
{
	uint64_t va, *p, e, ne, size;
	uint32_t tbl;
	bool huge;
	int err;

	for (va = start; va < end; va += size) {
		size = MMRT_PAGE_SIZE;
		p = mm_pt_leaf(as, va, set && markers, &tbl, &huge, &err);
		if (p == NULL) {
			if (err != -ENOENT)
				return err;
			/* no level-1 table: nothing below this 2 MiB */
			size = ((va | (MMRT_HUGE_SIZE - 1)) + 1) - va;
			continue;
		}
		if (huge)
			size = ((va | (MMRT_HUGE_SIZE - 1)) + 1) - va;
		mm_spin_lock(pt_lock(tbl), MM_LC_PT);
		e = pte_load(p);
		if (huge && (va & (MMRT_HUGE_SIZE - 1)) == 0 && end - va >=
				MMRT_HUGE_SIZE) {
			/* a whole 2 MiB leaf */
		} else if (huge) {
			/* part of a 2 MiB leaf: split it, then look again */
			mm_spin_unlock(pt_lock(tbl), MM_LC_PT);
			err = mm_split_pmd(as, tbl, p, true);
			if (err != 0)
				return err;
			size = 0;
			continue;
		}
		if (set) {
			if (e & (PTE_P | PTE_PROTNONE))
				ne = (e | PTE_UFFD_WP) & ~PTE_W;
			else if (e == 0 && markers && !huge)
				ne = PTE_UFFD_WP;
			else
				ne = e;
		} else {
			if (!(e & PTE_UFFD_WP))
				ne = e;
			else if (pte_is_marker(e))
				ne = e & ~PTE_UFFD_WP;
			else if (leaf_may_write(r, e, huge))
				ne = (e & ~PTE_UFFD_WP) | PTE_W | PTE_D;
			else
				ne = e & ~PTE_UFFD_WP;
		}
		if (ne != e) {
			pte_store(p, ne);
			if ((e & PTE_W) && !(ne & PTE_W))
				mm_gather_track_entry(tlb, va,
					huge ? MM_LEVEL_PMD : MM_LEVEL_PTE);
		}
		mm_spin_unlock(pt_lock(tbl), MM_LC_PT);
	}
	return 0;
}

/*
 * A pinned anonymous page (mm_pin_frame.h) is not shared with a child:
 * the child gets a copy at once, and the parent's leaf stays as it is
 * (still writable), so the frame the pin holds stays the parent's.
 * Write map lock of the parent held: no pin comes or goes meanwhile.
 * Returns the child's entry, or 0 with *err = -ENOMEM.
 */
static uint64_t
copy_pinned(struct mmrt_as *dst, uint64_t e, bool huge, int *err)
{
	uint32_t pfn = pte_pfn(e);
	int64_t nf;

	nf = huge ? mmrt_huge_alloc(0) : mmrt_frame_alloc(0);
	if (nf < 0) {
		*err = -ENOMEM;
		return 0;
	}
	memcpy(mmrt_frame_addr((uint32_t)nf), mmrt_frame_addr(pfn),
		huge ? MMRT_HUGE_SIZE : MMRT_PAGE_SIZE);
	mm_anon_frame_init((uint32_t)nf);
	MM_STAT_ADD(dst, rss_pages, huge ? MMRT_HUGE_NR : 1);
	/* the child's frame is its own: writable where the parent's is */
	return pte_mk((uint32_t)nf, e & ~PTE_PFN_MASK);
}

/* Share the frame behind a leaf with a child; anonymous pages become
 * copy-on-write in both (pinned ones are copied). Returns the child's
 * entry; 0 with *err set if a copy found no frame. */
static uint64_t
copy_leaf(struct mmrt_as *dst, struct mm_gather *src_tlb, uint64_t *p,
	uint64_t va, bool shared, bool keep_wp, int *err)
{
	uint64_t e = *p;
	uint32_t pfn = pte_pfn(e), owner;
	bool huge = (e & PTE_H) != 0;
	struct mmrt_frame *f;

	if (!pte_has_frame(e)) {
		/* markers: poison always, uffd-wp with the registration */
		if (e & PTE_POISON)
			return e;
		return keep_wp ? e : 0;
	}
	if (pte_is_host(e)) {
		/* shared with the child, like MAP_SHARED: no frame, no COW */
		return keep_wp ? e : e & ~PTE_UFFD_WP;
	}
	if (pfn != mmrt_zero_pfn()) {
		owner = huge ? pfn : frame_owner(pfn);
		f = mmrt_frame_meta(owner);
		if (!shared && mm_frame_pinned(owner)) {
			e = copy_pinned(dst, e, huge, err);
			return keep_wp ? e : e & ~PTE_UFFD_WP;
		}
		__atomic_fetch_add(&f->refcount, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&f->mapcount, 1, __ATOMIC_RELAXED);
		MM_STAT_ADD(dst, rss_pages, huge ? MMRT_HUGE_NR : 1);
	}
	if (!shared && (e & PTE_W)) {
		/* write-protect the parent; flush deferred to the end */
		e &= ~PTE_W;
		pte_store(p, e);
		mm_gather_track_entry(src_tlb, va,
			huge ? MM_LEVEL_PMD : MM_LEVEL_PTE);
	}
	return keep_wp ? e : e & ~PTE_UFFD_WP;
}

static int
copy_level(struct mmrt_as *dst, struct mmrt_as *src,
	struct mm_gather *src_tlb, uint32_t dtbl, uint32_t stbl,
	unsigned int level, uint64_t start, uint64_t end, bool shared,
	bool keep_wp)
{
	uint64_t size = level_size(level), va, next;
	uint64_t *st = pt_table(stbl), *dt = pt_table(dtbl);
	int ret;

	for (va = start; va < end; va = next) {
		unsigned int i = level_index(va, level);
		uint64_t e = st[i];

		next = RTE_MIN((va | (size - 1)) + 1, end);
		if (e == 0)
			continue;
		if (!(e & PTE_T)) {
			/* regions are copied whole, so leaves are too */
			ret = 0;
			pte_store(&dt[i], copy_leaf(dst, src_tlb, &st[i], va,
				shared, keep_wp, &ret));
			if (ret != 0)
				return ret;
			continue;
		}
		if (!(dt[i] & PTE_T)) {
			uint32_t nt;

			ret = mm_pt_alloc(dst, &nt);
			if (ret != 0)
				return ret;
			pte_store(&dt[i], pte_mk(nt, PTE_T | PTE_P));
		}
		ret = copy_level(dst, src, src_tlb, pte_pfn(dt[i]), pte_pfn(e),
			level - 1, va, next, shared, keep_wp);
		if (ret != 0)
			return ret;
	}
	return 0;
}

int
mm_copy_range(struct mmrt_as *dst, struct mmrt_as *src,
	struct mm_gather *src_tlb, uint64_t start, uint64_t end,
	bool keep_uffd_wp)
{
	int i = mm_region_find(src, start);
	bool shared = i >= 0 && (src->regions[i].flags & REGION_OBJECT);

	return copy_level(dst, src, src_tlb, dst->core.pgd, src->core.pgd, PT_LEVELS,
		start, end, shared, keep_uffd_wp);
}

/*
 * A move goes by the 2 MiB chunks of its source. The chunk holding old +
 * off ends at offset *@next from @old (at most @len); return its level-2
 * entry, read into *@e, with *@tbl its table, or NULL if the chunk maps
 * nothing (no table there, or an empty entry).
 */
static uint64_t *
move_chunk(struct mmrt_as *as, uint64_t old, uint64_t off, uint64_t len,
	uint64_t *next, uint32_t *tbl, uint64_t *e)
{
	uint64_t end = (((old + off) | (MMRT_HUGE_SIZE - 1)) + 1) - old;
	uint64_t *pmd;
	int err;

	*next = RTE_MIN(end, len);
	pmd = mm_pt_walk(as, old + off, MM_LEVEL_PMD, false, tbl, &err);
	if (pmd == NULL || (*e = pte_load(pmd)) == 0)
		return NULL;
	return pmd;
}

/* For each source chunk of a move that maps something (move_chunk()). */
#define MOVE_FOR_EACH_CHUNK(as, old, len, off, next, pmd, tbl, e) \
	for ((off) = 0; (off) < (len); (off) = (next)) \
		if (((pmd) = move_chunk((as), (old), (off), (len), &(next), \
				&(tbl), &(e))) != NULL)

int
mm_move_prepare(struct mmrt_as *as, uint64_t old, uint64_t new, uint64_t len)
{
	bool aligned = ((old ^ new) & (MMRT_HUGE_SIZE - 1)) == 0;
	uint64_t off, next, *pmd, e;
	uint32_t tbl;
	int err;

	MOVE_FOR_EACH_CHUNK(as, old, len, off, next, pmd, tbl, e) {
		if ((e & PTE_H) && aligned) {
			/* moves whole (the ends were split by the caller) */
			if (mm_pt_walk(as, new + off, MM_LEVEL_PMD, true,
					&tbl, &err) == NULL)
				return err;
			continue;
		}
		if (e & PTE_H) {
			err = mm_split_pmd(as, tbl, pmd, false);
			if (err != 0)
				return err;
		}
		/* the chunk lands in at most two level-1 tables */
		if (mm_pt_walk(as, new + off, MM_LEVEL_PTE, true, &tbl,
				&err) == NULL ||
				mm_pt_walk(as, new + next - MMRT_PAGE_SIZE,
					MM_LEVEL_PTE, true, &tbl, &err) == NULL)
			return err;
	}
	return 0;
}

/* The entry at its new place: WP dropped unless kept (a marker -> 0). */
static uint64_t
move_bits(uint64_t e, bool keep_wp)
{
	return keep_wp ? e : e & ~PTE_UFFD_WP;
}

void
mm_move_range(struct mmrt_as *as, struct mm_gather *tlb, uint64_t old,
	uint64_t new, uint64_t len, bool keep_wp)
{
	uint64_t off, next, a, *pmd, *dp, *t1, e, ne;
	uint32_t tbl;
	int err;

	MOVE_FOR_EACH_CHUNK(as, old, len, off, next, pmd, tbl, e) {
		if (e & PTE_H) {
			dp = mm_pt_walk(as, new + off, MM_LEVEL_PMD, false,
				&tbl, &err);
			pte_store(dp, move_bits(e, keep_wp));
			pte_store(pmd, 0);
			mm_gather_track_entry(tlb, old + off, MM_LEVEL_PMD);
			continue;
		}
		t1 = pt_table(pte_pfn(e));
		for (a = old + off; a < old + next; a += MMRT_PAGE_SIZE) {
			uint64_t *p = &t1[level_index(a, MM_LEVEL_PTE)];

			e = pte_load(p);
			if (e == 0)
				continue;
			ne = move_bits(e, keep_wp);
			if (ne != 0) {
				dp = mm_pt_walk(as, new + (a - old),
					MM_LEVEL_PTE, false, &tbl, &err);
				pte_store(dp, ne);
			}
			pte_store(p, 0);
			if (pte_has_frame(e))
				mm_gather_track_entry(tlb, a, MM_LEVEL_PTE);
		}
	}
}

void
mm_pt_free_all(struct mmrt_as *as, struct mm_gather *tlb)
{
	struct mm_zap z = { .tlb = tlb, .free_tables = true, .locked = false };

	mm_zap_range(as, &z, 0, MMRT_VA_LIMIT);
	MM_STAT_ADD(as, pt_pages, -1);
	mm_gather_remove_table(tlb, as->core.pgd);
	as->core.pgd = MMRT_PFN_NONE;
}
