/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Fault resolution (demand-zero, copy-on-write, object page-in) and the
 * lockless translate.
 *
 * Leaf states for a page of a region, by the PTE's predicates:
 *   none:      e == 0
 *   zero:      P, !W, pfn == zero frame (read fault on anonymous memory)
 *   shared-ro: P, !W, frame mapped more than once or write-protected
 *   exclusive: P, W (or !W with the only reference: reused on write)
 * Transitions (under the PT lock of the leaf's table):
 *   none -> zero              read fault, anonymous
 *   none -> exclusive         write fault, anonymous (zeroed frame)
 *   none -> shared            fault on an object page
 *   zero/shared-ro -> exclusive   write fault: copy, then
 *                                 clear; flush; set   (invariant B)
 *   shared-ro -> exclusive    write fault on the only reference: set W
 *
 * Invariant B: when a leaf is re-pointed to a new frame, the device flush
 * of the old translation completes (mm_notify_invalidate() returns) while
 * the PT lock is held, between the store that clears the old entry and the
 * release store that publishes the new one. So once anyone can reach the
 * new frame, no consumer can reach the old one.
 */

#include <errno.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_rwlock.h>
#ifdef MMRT_TEST_HOOKS
#include <rte_cycles.h>
#include <rte_pause.h>
#endif

#include "mm_locking.h"
#include "mm_pte.h"
#include "mm_host_pte.h"
#include "mm_pin_frame.h"
#include "mm_as.h"
#include "mm_testhooks.h"
#include "mm_object.h"
#include "mm_region.h"
#include <rte_errno.h>

#include "mm_notify.h"
#include "mm_gather.h"
#include "mm_pgtable.h"
#include "mm_host.h"
#include "mm_uffd.h"
#include "mm_fault.h"
#include "mm_fly.h"
#include "mmrt_uffd.h"

/*
 * A write to a writable 2 MiB leaf whose dirty bit a harvest cleared: set
 * it under the PT lock. @return false if the leaf changed meanwhile (the
 * caller classifies it again).
 */
static bool
huge_mark_dirty(uint32_t tbl2, uint64_t *pmd)
{
	uint64_t e;
	bool ok;

	mm_spin_lock(pt_lock(tbl2), MM_LC_PT);
	e = pte_load(pmd);
	ok = (e & (PTE_H | PTE_P | PTE_W)) == (PTE_H | PTE_P | PTE_W);
	if (ok && !(e & PTE_D))
		pte_store(pmd, e | PTE_D | PTE_A);
	mm_spin_unlock(pt_lock(tbl2), MM_LC_PT);
	return ok;
}

/* Write fault on a 2 MiB leaf. Entered and left with no PT lock held. */
static int
huge_wp_fault(struct mmrt_as *as, uint32_t tbl2, uint64_t *pmd, uint64_t va)
{
	uint64_t base = va & ~(MMRT_HUGE_SIZE - 1), e;
	struct mmrt_notifier_range nr;
	bool ranged = false;
	int64_t nh = -1;
	uint32_t head;
	int ret;

	for (;;) {
		mm_spin_lock(pt_lock(tbl2), MM_LC_PT);
		e = pte_load(pmd);
		if (!(e & PTE_H) || !(e & PTE_P) || mmrt_pte_writable(e)) {
			/* raced: split, unmapped or already writable */
			mm_spin_unlock(pt_lock(tbl2), MM_LC_PT);
			if (ranged)
				mm_notify_end(&nr);
			if (nh >= 0)
				mm_fly_frame_put((uint32_t)nh);
			return (e & PTE_H) ? 0 : -EAGAIN;
		}
		head = pte_pfn(e);
		if (mm_frame_unpinned_refs(head) == 1) {
			pte_store(pmd, (e | PTE_W | PTE_D | PTE_A) &
				~PTE_UFFD_WP);
			mm_spin_unlock(pt_lock(tbl2), MM_LC_PT);
			if (ranged)
				mm_notify_end(&nr);
			if (nh >= 0)
				mm_fly_frame_put((uint32_t)nh);
			MM_STAT_ADD(as, cow_reuse, 1);
			MM_STAT_ADD(as, cow_reuse_huge, 1);
			return 0;
		}
		if (nh >= 0 && ranged)
			break;
		mm_spin_unlock(pt_lock(tbl2), MM_LC_PT);
		if (nh >= 0 && mm_notify_foreign(as)) {
			/* the primary's subscribers: not from a secondary */
			mm_fly_frame_put((uint32_t)nh);
			return -E_RTE_SECONDARY;
		}
		if (nh >= 0) {
			/* the copy replaces a translation: start the range */
			mm_range_init(&nr, as, MMRT_NOTIFY_CLEAR, true, base,
				base + MMRT_HUGE_SIZE, NULL);
			mm_notify_start(&nr);
			ranged = true;
			continue;
		}
		nh = mm_fly_huge_alloc(pmd, tbl2, 0);
		if (nh < 0) {
			/* no huge frame: copy only the page written */
			ret = mm_split_pmd(as, tbl2, pmd, true);
			return ret != 0 ? ret : -EAGAIN;
		}
	}
	/* locked, shared leaf, new huge frame in hand */
	memcpy(mmrt_frame_addr((uint32_t)nh), mmrt_frame_addr(head),
		MMRT_HUGE_SIZE);
	mm_anon_frame_init((uint32_t)nh);
	pte_store(pmd, 0);
	mm_notify_invalidate(as, base, base + MMRT_HUGE_SIZE, false);
	pte_store(pmd, pte_mk((uint32_t)nh, PTE_P | PTE_H | PTE_W | PTE_A |
		PTE_D));
	mm_fly_frame_done(); /* installed, under the PT lock */
	mm_spin_unlock(pt_lock(tbl2), MM_LC_PT);
	mm_notify_end(&nr);
	__atomic_fetch_sub(&mmrt_frame_meta(head)->mapcount, 1,
		__ATOMIC_RELAXED);
	mm_frame_release(as, head);
	MM_STAT_ADD(as, cow, 1);
	MM_STAT_ADD(as, cow_huge, 1);
	return 0;
}

#ifdef MMRT_TEST_HOOKS
/* The negative control of invariant B is on (mm_testhooks.h). */
static inline bool
cow_flush_late(void)
{
	return __atomic_load_n(&mm_test_hooks.cow_flush_late,
		__ATOMIC_RELAXED);
}

/*
 * The copy-on-write window of a 4 KiB page: the new PTE is published and
 * the PT lock released, the operation has not ended. The litmus spins
 * here on the page it chose; the negative control flushes here, late.
 */
static void
cow_window(struct mmrt_as *as, uint64_t va, bool late)
{
	uint64_t t0;

	if (mm_test_hooks.cow_delay_cycles != 0 &&
			(va & ~(MMRT_PAGE_SIZE - 1)) ==
			__atomic_load_n(&mm_test_hooks.cow_delay_va,
				__ATOMIC_ACQUIRE)) {
		t0 = rte_get_timer_cycles();
		while (rte_get_timer_cycles() - t0 <
				mm_test_hooks.cow_delay_cycles)
			rte_pause();
	}
	if (late)
		mm_notify_invalidate(as, va, va + MMRT_PAGE_SIZE, false);
}
#else
/* The plain build: the flush is always under the PT lock, no window. */
#define cow_flush_late() false
#define cow_window(as, va, late) do { } while (0)
#endif

/*
 * A fault on a 4 KiB leaf, as its three resolvers (below, in the order of
 * the leaf-state table at the top of this file) see it. They run with the
 * PT lock of @tbl1 held and return 0 (resolved: the caller unlocks), a
 * negative errno (the caller unlocks and fails), or one of these.
 */
enum {
	PF_NEED_FRAME = 1, /* unlock, allocate @nf, look again */
	PF_NEED_RANGE,     /* unlock, start the notifier range, look again */
	PF_FINISHED,       /* resolved and the PT lock released: return 0 */
};

struct pte_fault {
	struct mmrt_as *as;
	const struct mm_region *r;
	uint32_t tbl1;           /* the table holding @pte, its PT lock */
	uint64_t *pte;
	uint64_t va;
	bool write;
	int64_t nf;              /* a zeroed frame allocated ahead, or -1 */
	uint32_t opfn;           /* object regions: the object's page */
	bool ranged;             /* @nr started (ended by the caller) */
	struct mmrt_notifier_range nr;
};

/* none -> zero (read) or exclusive (write, a zeroed frame): anonymous. */
/*
 * A demand-zero or copy-on-write frame for leaf @pte of table @tbl: a
 * secondary's is allocated into its record of frames in flight
 * (mm_fly.h, 1.), cleared under the PT lock right after the leaf's
 * store, or after the put of a frame that lost its race.
 */
static inline int64_t
fault_frame_alloc(uint64_t *pte, uint32_t tbl)
{
	int64_t nf = mm_fly_frame_alloc(pte, tbl, MMRT_ALLOC_ZERO);

#ifdef MMRT_TEST_HOOKS
	if (nf >= 0 && unlikely(mmrt_robust_locks))
		mmrt_test_pool_kill_point(MMRT_TEST_POOL_AT_FAULT);
#endif
	return nf;
}

static int
do_anonymous(struct pte_fault *f, uint64_t e)
{
	/* none, or a uffd-wp marker: a read keeps the protection */
	uint64_t wp = f->write ? 0 : (e & PTE_UFFD_WP);

	if (!f->write) {
		pte_store(f->pte, pte_mk(mmrt_zero_pfn(), PTE_P | PTE_A | wp));
		return 0;
	}
	if (f->nf < 0)
		return PF_NEED_FRAME;
	mm_anon_frame_init((uint32_t)f->nf);
	pte_store(f->pte, pte_mk((uint32_t)f->nf, PTE_P | PTE_W | PTE_A |
		PTE_D));
	mm_fly_frame_done(); /* installed, under the PT lock */
	f->nf = -1;
	MM_STAT_ADD(f->as, rss_pages, 1);
	return 0;
}

/* none -> shared: map the object's page; a write to it just sets W. */
static int
do_object(struct pte_fault *f, uint64_t e)
{
	struct mmrt_frame *fm;
	uint64_t wp;

	if (e & PTE_P) {
		/* object pages are shared, never copied */
		pte_store(f->pte, (e | PTE_W | PTE_D) & ~PTE_UFFD_WP);
		return 0;
	}
	/* none, or a uffd-wp marker: a read keeps the protection */
	wp = f->write ? 0 : (e & PTE_UFFD_WP);
	fm = mmrt_frame_meta(f->opfn);
	__atomic_fetch_add(&fm->refcount, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&fm->mapcount, 1, __ATOMIC_RELAXED);
	pte_store(f->pte, pte_mk(f->opfn, PTE_P | PTE_A | wp |
		((f->r->prot & MMRT_PROT_WRITE) && wp == 0 ?
		PTE_W | PTE_D : 0)));
	MM_STAT_ADD(f->as, rss_pages, 1);
	return 0;
}

/*
 * zero/shared-ro -> exclusive on a write to an anonymous leaf: reuse the
 * frame if this is its only reference, else copy (invariant B: clear,
 * flush, set under the PT lock).
 */
static int
do_cow(struct pte_fault *f, uint64_t e)
{
	struct mmrt_as *as = f->as;
	uint32_t zero = mmrt_zero_pfn(), pfn = pte_pfn(e);
	uint32_t owner = frame_owner(pfn);
	uint64_t va = f->va;
	bool late;

	if (pfn != zero && owner == pfn && mm_frame_unpinned_refs(pfn) == 1) {
		pte_store(f->pte, (e | PTE_W | PTE_D | PTE_A) & ~PTE_UFFD_WP);
		MM_STAT_ADD(as, cow_reuse, 1);
		return 0;
	}
	if (f->nf < 0)
		return PF_NEED_FRAME;
	/* the copy replaces a translation: the range starts unlocked */
	if (!f->ranged)
		return PF_NEED_RANGE;
	/* copy-on-write: contents first, then the switch */
	if (pfn != zero)
		memcpy(mmrt_frame_addr((uint32_t)f->nf), mmrt_frame_addr(pfn),
			MMRT_PAGE_SIZE);
	mm_anon_frame_init((uint32_t)f->nf);
	late = cow_flush_late();
	/* model: models/gather.pml [G.7] */
	pte_store(f->pte, 0);
	/* model: models/gather.pml [G.8] */
	if (!late)
		mm_notify_invalidate(as, va, va + MMRT_PAGE_SIZE, false);
	/* model: models/gather.pml [G.9] */
	pte_store(f->pte, pte_mk((uint32_t)f->nf, PTE_P | PTE_W | PTE_A |
		PTE_D));
	mm_fly_frame_done(); /* installed, under the PT lock */
	f->nf = -1;
	mm_spin_unlock(pt_lock(f->tbl1), MM_LC_PT);
	cow_window(as, va, late);
	mm_notify_end(&f->nr);
	if (pfn != zero) {
		__atomic_fetch_sub(&mmrt_frame_meta(owner)->mapcount, 1,
			__ATOMIC_RELAXED);
		mm_frame_release(as, owner);
	} else {
		MM_STAT_ADD(as, rss_pages, 1);
	}
	MM_STAT_ADD(as, cow, 1);
	return PF_FINISHED;
}

/*
 * Fault on a 4 KiB leaf. Entered and left with no PT lock held. Under the
 * PT lock, re-checks what the map-locked classification saw (poison, uffd
 * registration) and hands the leaf to its resolver.
 */
static int
pte_fault(struct mmrt_as *as, const struct mm_region *r, uint32_t tbl1,
	uint64_t *pte, uint64_t va, uint32_t access)
{
	struct pte_fault f = {
		.as = as, .r = r, .tbl1 = tbl1, .pte = pte, .va = va,
		.write = (access & MMRT_ACCESS_WRITE) != 0,
		.nf = -1, .opfn = MMRT_PFN_NONE, .ranged = false,
	};
	bool object = (r->flags & REGION_OBJECT) != 0;
	bool opfn_existed = false;
	uint64_t e;
	int ret;

	if (object) {
		uint64_t idx = (r->obj_off + (va - r->start)) >>
			MMRT_PAGE_SHIFT;

		opfn_existed = mm_object_has_page(r->obj, idx);
		ret = mm_object_page(r->obj, idx, &f.opfn);
		if (ret != 0)
			return ret;
	}
	/* likely demand-zero on write: get the frame before taking the lock */
	if (f.write && !object && pte_load(pte) == 0) {
		f.nf = fault_frame_alloc(pte, tbl1);
		if (f.nf < 0)
			return (int)f.nf;
	}
	for (;;) {
		mm_spin_lock(pt_lock(tbl1), MM_LC_PT);
		e = pte_load(pte);
		if (e & PTE_POISON) {
			ret = -EHWPOISON;
			break;
		}
		if ((e & PTE_UFFD_WP) && f.write && r->uffd != NULL) {
			/* write-protected since the uffd check: again */
			ret = -EAGAIN;
			break;
		}
		if (!(e & (PTE_P | PTE_PROTNONE)) && r->uffd != NULL &&
				((!object && (r->uffd_mode &
				MMRT_UFFD_REGISTER_MODE_MISSING)) ||
				(object && opfn_existed && (r->uffd_mode &
				MMRT_UFFD_REGISTER_MODE_MINOR)))) {
			/* emptied since the uffd check: post it */
			ret = -EAGAIN;
			break;
		}
		if (e & PTE_PROTNONE) {
			/* the region allows access again: restore the leaf */
			e = (e & ~PTE_PROTNONE) | PTE_P;
			pte_store(pte, e);
		}
		if ((e & PTE_P) && (!f.write || mmrt_pte_writable(e))) {
			ret = 0; /* present with the access asked for */
		} else if ((e & PTE_P) && (e & PTE_W)) {
			/* writable, clean since a harvest: mark it dirty */
			pte_store(pte, e | PTE_D | PTE_A);
			ret = 0;
		} else if (object) {
			ret = do_object(&f, e);
		} else if (e & PTE_P) {
			ret = do_cow(&f, e);
		} else {
			ret = do_anonymous(&f, e);
		}
		if (ret == PF_FINISHED)
			return 0;
		if (ret != PF_NEED_FRAME && ret != PF_NEED_RANGE)
			break;
		mm_spin_unlock(pt_lock(tbl1), MM_LC_PT);
		if (ret == PF_NEED_RANGE && mm_notify_foreign(as)) {
			/* the primary's subscribers: not from a secondary */
			if (f.nf >= 0)
				mm_fly_frame_put((uint32_t)f.nf);
			return -E_RTE_SECONDARY;
		}
		if (ret == PF_NEED_RANGE) {
			mm_range_init(&f.nr, as, MMRT_NOTIFY_CLEAR, true, va,
				va + MMRT_PAGE_SIZE, NULL);
			mm_notify_start(&f.nr);
			f.ranged = true;
			continue;
		}
		f.nf = fault_frame_alloc(pte, tbl1);
		if (f.nf < 0) {
			if (f.ranged)
				mm_notify_end(&f.nr);
			return (int)f.nf;
		}
	}
	mm_spin_unlock(pt_lock(tbl1), MM_LC_PT);
	if (f.ranged)
		mm_notify_end(&f.nr);
	if (f.nf >= 0)
		mm_fly_frame_put((uint32_t)f.nf);
	return ret;
}

int
mm_fault_locked(struct mmrt_as *as, uint64_t va, uint32_t access,
	struct mm_fault_wait *w)
{
	const struct mm_region *r;
	uint32_t tbl2, tbl1;
	uint64_t *pmd, *pte, e, exact;
	int i, err = 0;

	i = mm_region_find(as, va);
	if (i < 0)
		return -EFAULT;
	r = &as->regions[i];
	if (r->prot == MMRT_PROT_NONE ||
			((access & MMRT_ACCESS_WRITE) &&
			!(r->prot & MMRT_PROT_WRITE)))
		return -EACCES;
	if (r->flags & REGION_HOST) {
		for (;;) {
			if (r->uffd != NULL) {
				err = mm_uffd_fault(as, r, va, access, w);
				if (err != MM_FAULT_ORDINARY)
					return err;
			}
			err = mm_host_fault(as, r, va, access, false);
			if (err != -EAGAIN)
				return err;
		}
	}
	exact = va;
	va &= ~(MMRT_PAGE_SIZE - 1);
	for (;;) {
		if (r->uffd != NULL) {
			err = mm_uffd_fault(as, r, exact, access, w);
			if (err != MM_FAULT_ORDINARY)
				return err;
		}
		pmd = mm_pt_walk(as, va, MM_LEVEL_PMD, true, &tbl2, &err);
		if (pmd == NULL)
			return err;
		e = pte_load(pmd);
		if (e == 0 && r->uffd != NULL && (r->uffd_mode &
				MMRT_UFFD_REGISTER_MODE_MISSING))
			continue; /* emptied since the uffd check */
		if (e == 0 && (r->flags & MMRT_MAP_HUGE)) {
			uint64_t base = va & ~(MMRT_HUGE_SIZE - 1);
			int64_t h = -1;

			if (base >= r->start && base + MMRT_HUGE_SIZE <= r->end)
				h = mm_fly_huge_alloc(pmd, tbl2,
					MMRT_ALLOC_ZERO);
			if (h >= 0) {
				mm_anon_frame_init((uint32_t)h);
				mm_spin_lock(pt_lock(tbl2), MM_LC_PT);
				if (pte_load(pmd) == 0) {
					pte_store(pmd, pte_mk((uint32_t)h,
						PTE_P | PTE_H | PTE_A |
						((r->prot & MMRT_PROT_WRITE) ?
						PTE_W | PTE_D : 0)));
					mm_fly_frame_done();
					h = -1;
					MM_STAT_ADD(as, rss_pages, MMRT_HUGE_NR);
				}
				mm_spin_unlock(pt_lock(tbl2), MM_LC_PT);
				if (h >= 0)
					mm_fly_frame_put((uint32_t)h);
				continue;
			}
		}
		if ((e & PTE_H) && pte_has_frame(e)) {
			if (e & PTE_PROTNONE) {
				mm_spin_lock(pt_lock(tbl2), MM_LC_PT);
				e = pte_load(pmd);
				if ((e & PTE_H) && (e & PTE_PROTNONE))
					pte_store(pmd, (e & ~PTE_PROTNONE) | PTE_P);
				mm_spin_unlock(pt_lock(tbl2), MM_LC_PT);
				continue;
			}
			if (!(access & MMRT_ACCESS_WRITE) ||
					mmrt_pte_writable(e))
				break;
			if ((e & PTE_W) && huge_mark_dirty(tbl2, pmd))
				break;
			if ((e & PTE_UFFD_WP) && r->uffd != NULL)
				continue; /* write-protected since the check */
			err = huge_wp_fault(as, tbl2, pmd, va);
			if (err == -EAGAIN)
				continue;
			if (err != 0)
				return err;
			break;
		}
		if (e & PTE_T) {
			/* the level-1 table is there: no second walk */
			tbl1 = pte_pfn(e);
			pte = &pt_table(tbl1)[level_index(va, MM_LEVEL_PTE)];
		} else {
			pte = mm_pt_walk(as, va, MM_LEVEL_PTE, true, &tbl1,
				&err);
		}
		if (pte == NULL) {
			if (err == -EEXIST)
				continue; /* a 2 MiB leaf appeared: retry */
			return err;
		}
		err = pte_fault(as, r, tbl1, pte, va, access);
		if (err == -EAGAIN)
			continue; /* changed under us: classify again */
		if (err != 0)
			return err;
		break;
	}
	MM_STAT_ADD(as, faults, 1);
	return 0;
}

/* model: models/uffd.pml [U.2] */
int
mmrt_fault(struct mmrt_as *as, uint64_t va, uint32_t access)
{
	uint32_t rw = access & (MMRT_ACCESS_READ | MMRT_ACCESS_WRITE);
	struct mm_fault_wait w;
	int ret;

	if (!mm_as_live(as) || va >= MMRT_VA_LIMIT || rw == 0 ||
			(access & ~(MMRT_ACCESS_READ | MMRT_ACCESS_WRITE |
				MMRT_ACCESS_NOWAIT)))
		return -EINVAL;
	mm_fault_wait_init(&w, access);
	w.requester = (uint32_t)rte_gettid();
	MM_BLOCKING_BEGIN();
	for (;;) {
		mm_read_lock(&as->map_lock, MM_LC_MAP);
		ret = mm_fault_locked(as, va, rw, &w);
		mm_read_unlock(&as->map_lock, MM_LC_MAP);
		if (ret != MM_FAULT_POSTED)
			break;
		if (w.nowait) {
			ret = -EAGAIN;
			break;
		}
		ret = mm_uffd_wait(&w);
		if (ret != 0)
			break;
	}
	MM_BLOCKING_END();
	return ret;
}

/*
 * A present 4 KiB entry that only needs more permission: a PROT_NONE leaf
 * whose region allows access again, or a write to an exclusive anonymous
 * frame (or an object page) of a writable region. Granting permission
 * needs no invalidation. Anything else (copy-on-write, write-protected
 * by a uffd) is MM_FAULT_WOULD_WAIT.
 */
static int
probe_upgrade(struct mmrt_as *as, const struct mm_region *r, uint32_t tbl1,
	uint64_t *pte, uint64_t e, bool write)
{
	bool object = (r->flags & REGION_OBJECT) != 0;
	uint64_t ne = e;
	uint32_t pfn;

	RTE_SET_USED(as);
	if (!pte_has_frame(e) || (e & PTE_UFFD_WP))
		return MM_FAULT_WOULD_WAIT;
	if (e & PTE_PROTNONE)
		ne = (ne & ~PTE_PROTNONE) | PTE_P;
	if (write && !(ne & PTE_W)) {
		pfn = pte_pfn(ne);
		if (!object && (pfn == mmrt_zero_pfn() ||
				frame_owner(pfn) != pfn ||
				mm_frame_unpinned_refs(pfn) != 1))
			return MM_FAULT_WOULD_WAIT; /* copy-on-write */
		ne |= PTE_W | PTE_D | PTE_A;
	} else if (write) {
		/* writable, clean since a harvest: mark it dirty */
		ne |= PTE_D | PTE_A;
	}
	if (ne == e)
		return 0;
	if (!mm_spin_trylock(pt_lock(tbl1), MM_LC_PT))
		return MM_FAULT_WOULD_WAIT;
	if (pte_load(pte) != e) {
		mm_spin_unlock(pt_lock(tbl1), MM_LC_PT);
		return MM_FAULT_WOULD_WAIT;
	}
	pte_store(pte, ne);
	mm_spin_unlock(pt_lock(tbl1), MM_LC_PT);
	return 0;
}

/*
 * The probe's own resolution: an empty 4 KiB entry (allocating the tables
 * above it) or a permission upgrade, with try-locks only. An invalidator
 * may hold a PT lock while it waits for this very poller's ack
 * (copy-on-write, invariant B), so a poller that waited for one could
 * deadlock (mm_locking.h): everything else is MM_FAULT_WOULD_WAIT, for
 * the fault path.
 */
static int
probe_resolve(struct mmrt_as *as, const struct mm_region *r, uint64_t va,
	uint32_t access)
{
	bool object = (r->flags & REGION_OBJECT) != 0;
	bool write = (access & MMRT_ACCESS_WRITE) != 0;
	uint32_t tbl1, pfn;
	uint64_t *pte, bits, e;
	int64_t nf = -1;
	int err;

	/* tables are allocated, their locks only tried */
	pte = mm_pt_walk_try(as, va, MM_LEVEL_PTE, &tbl1, &err);
	if (pte == NULL)
		return err == -ENOMEM ? -ENOMEM : MM_FAULT_WOULD_WAIT;
	e = pte_load(pte);
	if (e != 0)
		return probe_upgrade(as, r, tbl1, pte, e, write);
	/* emptied since the uffd check: the fault path posts it */
	if (r->uffd != NULL && (r->uffd_mode &
			(MMRT_UFFD_REGISTER_MODE_MISSING |
			MMRT_UFFD_REGISTER_MODE_MINOR)))
		return MM_FAULT_WOULD_WAIT;
	if (object) {
		/* a page read from a file waits: the fault path reads it */
		err = mm_object_page_nowait(r->obj, (r->obj_off +
			(va - r->start)) >> MMRT_PAGE_SHIFT, &pfn);
		if (err == -EWOULDBLOCK)
			return MM_FAULT_WOULD_WAIT;
		if (err != 0)
			return err;
		bits = PTE_P | PTE_A | ((r->prot & MMRT_PROT_WRITE) ?
			PTE_W | PTE_D : 0);
	} else if (write) {
		nf = fault_frame_alloc(pte, tbl1);
		if (nf < 0)
			return (int)nf;
		pfn = (uint32_t)nf;
		bits = PTE_P | PTE_W | PTE_A | PTE_D;
	} else {
		pfn = mmrt_zero_pfn();
		bits = PTE_P | PTE_A;
	}
	if (!mm_spin_trylock(pt_lock(tbl1), MM_LC_PT)) {
		err = MM_FAULT_WOULD_WAIT;
		goto out;
	}
	if (pte_load(pte) != 0) {
		mm_spin_unlock(pt_lock(tbl1), MM_LC_PT);
		err = MM_FAULT_WOULD_WAIT;
		goto out;
	}
	if (object) {
		struct mmrt_frame *f = mmrt_frame_meta(pfn);

		__atomic_fetch_add(&f->refcount, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&f->mapcount, 1, __ATOMIC_RELAXED);
	} else if (nf >= 0) {
		mm_anon_frame_init(pfn);
		nf = -1; /* the entry owns it now */
	}
	pte_store(pte, pte_mk(pfn, bits));
	if (write && !object)
		mm_fly_frame_done(); /* installed, under the PT lock */
	mm_spin_unlock(pt_lock(tbl1), MM_LC_PT);
	if (object || write)
		MM_STAT_ADD(as, rss_pages, 1);
	MM_STAT_ADD(as, faults, 1);
	err = 0;
out:
	if (nf >= 0)
		mm_fly_frame_put((uint32_t)nf);
	return err;
}

int
mmrt_fault_request(struct mmrt_as *as, uint64_t va, uint32_t access,
	uint32_t requester)
{
	return mmrt_fault_request_token(as, va, access, requester, NULL);
}

int
mmrt_fault_request_token(struct mmrt_as *as, uint64_t va, uint32_t access,
	uint32_t requester, struct mmrt_fault_token *tok)
{
	const struct mm_region *r;
	struct mm_fault_wait w;
	struct mmrt_xlate x;
	uint32_t tbl;
	uint64_t *p;
	int i, ret;

	if (tok != NULL)
		tok->seq = NULL;
	if (!mm_as_live(as) || va >= MMRT_VA_LIMIT || access == 0 ||
			(access & ~(MMRT_ACCESS_READ | MMRT_ACCESS_WRITE)))
		return -EINVAL;
	/*
	 * The map lock's line was last RMWed by another core (a fill's read
	 * lock, in a userfault's round trip). The trylock loads it and then
	 * RMWs it: a shared copy first, ownership after, two transfers on
	 * this poller's path and the same two again for the fill that takes
	 * the line back. Asking for it owned at once makes that one each
	 * way. A prefetch never faults and changes nothing.
	 */
	mm_prefetchw(&as->map_lock);
	if (mm_read_trylock(&as->map_lock, MM_LC_MAP) != 0)
		return -EBUSY;
	/*
	 * The region first: in a uffd's region the uffd check below walks
	 * to the leaf itself (after loading the wake sequence, which must
	 * come before the page-table check), and the full walk is only done
	 * if that check leaves the fault to the ordinary path. A leaf that
	 * the walk would accept lies in a region that allows the access, so
	 * the order changes no answer.
	 */
	i = mm_region_find(as, va);
	if (i >= 0 && as->regions[i].uffd != NULL)
		goto region;
	if (mmrt_walk(&as->core, va, access, &x) == 0) {
		ret = 0;
		goto out;
	}
region:
	if (i < 0) {
		ret = -EFAULT;
		goto out;
	}
	r = &as->regions[i];
	if (r->prot == MMRT_PROT_NONE || ((access & MMRT_ACCESS_WRITE) &&
			!(r->prot & MMRT_PROT_WRITE))) {
		ret = -EACCES;
		goto out;
	}
	if (r->uffd != NULL) {
		mm_fault_wait_init(&w, MMRT_ACCESS_NOWAIT);
		w.requester = requester;
		w.probe = true;
		ret = mm_uffd_fault(as, r, va, access, &w);
		if (ret == MM_FAULT_POSTED) {
			/* w.seq was loaded before the page-table check */
			if (tok != NULL)
				mm_uffd_token(&w, tok);
			ret = -EAGAIN;
			goto out;
		}
		if (ret == MM_FAULT_WOULD_WAIT) {
			ret = -ENOENT;
			goto out;
		}
		if (ret != MM_FAULT_ORDINARY)
			goto out;
		/* raced with a fill, or not the uffd's: the walk skipped */
		if (mmrt_walk(&as->core, va, access, &x) == 0) {
			ret = 0;
			goto out;
		}
	}
	if (r->flags & REGION_HOST) {
		ret = mm_host_fault(as, r, va, access, true);
		/* a lock taken, or a userfault since: a page request */
		if (ret == -EBUSY || ret == -EAGAIN)
			ret = -ENOENT;
		goto out;
	}
	p = mm_pt_walk(as, va, MM_LEVEL_PTE, false, &tbl, &ret);
	if (p != NULL && (pte_load(p) & PTE_POISON)) {
		ret = -EHWPOISON;
		goto out;
	}
	ret = probe_resolve(as, r, va & ~(MMRT_PAGE_SIZE - 1), access);
	if (ret == MM_FAULT_WOULD_WAIT)
		ret = -ENOENT;
out:
	mm_read_unlock(&as->map_lock, MM_LC_MAP);
	return ret;
}

#ifdef MMRT_TEST_HOOKS
/*
 * The table a lockless walk reads must still be a live table while it
 * reads it: the QSBR rule guarantees it, the negative control breaks it.
 */
uint32_t
mmrt_test_walk_begin(uint32_t tbl)
{
	return __atomic_load_n(&mmrt_frame_meta(tbl)->gen, __ATOMIC_ACQUIRE);
}

void
mmrt_test_walk_end(uint32_t tbl, uint32_t gen)
{
	const struct mmrt_frame *f = mmrt_frame_meta(tbl);
	uint32_t fl = __atomic_load_n(&f->flags, __ATOMIC_ACQUIRE);

	__atomic_fetch_add(&mm_test_hooks.walk_checked, 1, __ATOMIC_RELAXED);
	if (!(fl & MMRT_FRAME_PT) ||
			__atomic_load_n(&f->gen, __ATOMIC_ACQUIRE) != gen)
		__atomic_fetch_add(&mm_test_hooks.walk_uaf, 1,
			__ATOMIC_RELAXED);
}
#endif

int
mmrt_translate_locked(struct mmrt_as *as, uint64_t va, uint32_t access,
	struct mmrt_xlate *out)
{
	int ret;

	if (!mm_as_live(as) || out == NULL || va >= MMRT_VA_LIMIT ||
			(access & ~(MMRT_ACCESS_READ | MMRT_ACCESS_WRITE)))
		return -EINVAL;
	mm_read_lock(&as->map_lock, MM_LC_MAP);
	ret = mmrt_walk(&as->core, va, access, out);
	mm_read_unlock(&as->map_lock, MM_LC_MAP);
	return ret;
}
