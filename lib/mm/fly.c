/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Frames in flight (mm_fly.h): a secondary's records, and their reclaim
 * when it died: a fill's frame from core_robust.c's lock reap (before the
 * dead thread's locks are released), a gather's frames from the reap step
 * mm.fly (after the locks, after lib/dev's step fenced the dead's
 * consumers, before mm.gather frees its defer queue).
 */

#include <stdint.h>

#include <rte_malloc.h>

#include "mm_locking.h"
#include "mm_pte.h"
#include "mm_host_pte.h"
#include "mm_as.h"
#include "mm_gather.h"
#include "mm_fly.h"

_Static_assert(sizeof(struct mm_fly) <= MMRT_ROBUST_FLY_WORDS *
	sizeof(uint64_t), "the record fits its words");

static uint64_t fly_frames_reaped;
static uint64_t fly_gathers_reaped;

static void
fly_frame_where(struct mm_fly *r, uint64_t *pte, uint32_t tbl, uint32_t pfn)
{
	r->pte = pte;
	/* no table yet (a fill's frame before its walk): not installable */
	r->ptl = pte == NULL ? NULL : (int *)(uintptr_t)&pt_lock(tbl)->locked;
	__atomic_store_n(&r->fpfn, pfn, __ATOMIC_RELAXED);
	r->fgenv = 0;
	mm_fly_order();
	__atomic_store_n(&r->fstate, 1, __ATOMIC_RELAXED);
	mm_fly_order();
}

void
mm_fly_frame_set_(uint32_t pfn, uint64_t *pte, uint32_t tbl)
{
	struct mm_fly *r = mm_fly_rec();

	if (r != NULL)
		fly_frame_where(r, pte, tbl, pfn);
}

int64_t
mm_fly_frame_alloc_(uint64_t *pte, uint32_t tbl, uint32_t flags, bool huge)
{
	struct mm_fly *r = mm_fly_rec();
	int64_t ret;

	if (r == NULL)
		return huge ? mmrt_huge_alloc(flags) : mmrt_frame_alloc(flags);
	fly_frame_where(r, pte, tbl, MMRT_PFN_NONE);
	/* the pool writes the pfn into the record as it takes the frame */
	ret = huge ? mmrt_huge_alloc_rec(&r->fpfn, flags) :
		mmrt_frame_alloc_rec(&r->fpfn, flags);
	if (ret < 0) {
		mm_fly_order();
		__atomic_store_n(&r->fstate, 0, __ATOMIC_RELAXED);
		mm_fly_order();
		return ret;
	}
	r->fgen = __atomic_load_n(&mmrt_frame_meta((uint32_t)ret)->gen,
		__ATOMIC_RELAXED);
	mm_fly_order();
	r->fgenv = 1;
	mm_fly_order();
	return ret;
}

void
mm_fly_frame_put_(uint32_t pfn)
{
	mmrt_frame_put(pfn);
	mm_fly_frame_clear_();
}

void
mm_fly_frame_clear_(void)
{
	struct mm_fly *r = mm_fly_rec();

	if (r == NULL)
		return;
	mm_fly_order();
	__atomic_store_n(&r->fstate, 0, __ATOMIC_RELAXED);
	mm_fly_order();
}

uint64_t
mm_fly_leaf_entry(uint64_t e, bool huge)
{
	uint32_t pfn = pte_pfn(e), owner = pfn;
	uint64_t flags = 0;
	struct mmrt_frame *f;

	/* zap_leaf()'s choice of frame and flags */
	if (!pte_has_frame(e) || pte_is_host(e) || pfn == mmrt_zero_pfn())
		return MM_GE_DONE;
	f = mmrt_frame_meta(pfn);
	if (f == NULL)
		return MM_GE_DONE;
	if (!huge && (f->flags & MMRT_FRAME_TAIL)) {
		owner = pfn & ~(MMRT_HUGE_NR - 1);
		f = mmrt_frame_meta(owner);
	}
	if (f->flags & MMRT_FRAME_OBJECT)
		flags |= MM_GE_DELAY_RMAP;
	if (huge)
		flags |= MM_GE_HUGE;
	return (uint64_t)owner << MM_GE_SHIFT | flags;
}

/*
 * A dead thread's zap leaf (mm_fly.h, 3.), with its locks still held:
 * cleared and not queued, its entry goes to zextra for the mm.fly step.
 */
static void
fly_reap_leaf(struct mm_fly *r, int32_t pid)
{
	uint64_t ent;

	if (__atomic_load_n(&r->zstate, __ATOMIC_RELAXED) == 0)
		return;
	__atomic_store_n(&r->zstate, 0, __ATOMIC_RELAXED);
	if (pte_load(r->zpte) != 0 ||
			__atomic_load_n(&r->zb->nr, __ATOMIC_RELAXED) != r->znr)
		return; /* not cleared, or queued */
	ent = mm_fly_leaf_entry(r->ze, (r->ze & PTE_H) != 0);
	if (ent == MM_GE_DONE)
		return;
	__atomic_store_n(&r->zextra, ent, __ATOMIC_RELAXED);
	MMRT_LOG(NOTICE, mm, "dead process %d: a leaf it cleared and had not"
		" queued goes to its gather's reap", (int)pid);
}

/*
 * A dead thread's fill frame (mm_fly.h, 1), from core_robust_reap() while
 * the thread's locks are still held: @spin_word is the word of a spin
 * lock it holds. The record is cleared before the free: a reaper that
 * dies in between loses the frame, never frees it twice.
 */
static void
fly_reap_frame(uint64_t *w, int spin_word, int32_t pid)
{
	struct mm_fly *r = (struct mm_fly *)w;
	uint32_t pfn = __atomic_load_n(&r->fpfn, __ATOMIC_RELAXED);
	struct mmrt_frame *f;
	bool held;
	uint64_t e;

	fly_reap_leaf(r, pid);
	if (__atomic_load_n(&r->fstate, __ATOMIC_RELAXED) == 0)
		return;
	held = r->ptl != NULL &&
		__atomic_load_n(r->ptl, __ATOMIC_ACQUIRE) == spin_word;
	__atomic_store_n(&r->fstate, 0, __ATOMIC_RELAXED);
	if (pfn == MMRT_PFN_NONE || (f = mmrt_frame_meta(pfn)) == NULL)
		return;
	if (held) {
		/* a leaf (present or PROT_NONE) or a table entry */
		e = pte_load(r->pte);
		if ((e & (PTE_P | PTE_PROTNONE | PTE_T)) && pte_pfn(e) == pfn)
			return; /* installed: the entry's now */
	}
	/* put since it was taken (its put ran: the pool's reap finished it) */
	if (r->fgenv && __atomic_load_n(&f->gen, __ATOMIC_ACQUIRE) != r->fgen)
		return;
	/* not installed: free it if the pool handed it out */
	if (__atomic_load_n(&f->refcount, __ATOMIC_ACQUIRE) != 1 ||
			(__atomic_load_n(&f->flags, __ATOMIC_RELAXED) &
			MMRT_FRAME_FREE))
		return;
	if (__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & MMRT_FRAME_PT)
		mm_table_free_now(pfn); /* a table never published */
	else
		mmrt_frame_put(pfn);
	__atomic_fetch_add(&fly_frames_reaped, 1, __ATOMIC_RELAXED);
	MMRT_LOG(NOTICE, mm, "dead process %d: frame %u in flight (a fill's"
		" or a new table) returned to the pool", (int)pid, pfn);
}

/*
 * A dead thread's put in its own flush (mm_fly.h, 4.): a frame marked
 * done whose put did not happen goes into @g. 1 if so.
 */
static int
fly_reap_put(struct mm_fly *r, struct mm_gather *g, int32_t pid)
{
	uint64_t *at = __atomic_load_n(&r->pp_at, __ATOMIC_RELAXED);
	struct mmrt_frame *f;

	if (at == NULL)
		return 0;
	__atomic_store_n(&r->pp_at, NULL, __ATOMIC_RELAXED);
	mm_fly_order();
	if (*at == r->pp_old)
		return 0; /* not marked: the entry is still queued */
	f = mmrt_frame_meta(r->pp_pfn);
	if (f == NULL ||
			__atomic_load_n(&f->gen, __ATOMIC_ACQUIRE) != r->pp_gen ||
			__atomic_load_n(&f->refcount, __ATOMIC_ACQUIRE) != 1 ||
			(f->flags & MMRT_FRAME_FREE) ||
			__atomic_load_n(&f->mapcount, __ATOMIC_RELAXED) != 0 ||
			f->priv2 != 0)
		return 0; /* put, or shared: not ours to drop */
	mm_gather_add(g, r->pp_pfn, 1, 0);
	MMRT_LOG(NOTICE, mm, "dead process %d: frame %u it was putting back"
		" goes to its gather's reap", (int)pid, r->pp_pfn);
	return 1;
}

/*
 * A dead thread's recorded gather on @as (mm_fly.h, 2): every queued
 * entry moves into a gather of ours, whose flush invalidates the whole
 * space before it frees. Each entry is marked done (a count entry: its
 * count zeroed) before it moves: a reaper that dies in between loses it,
 * never lets it be put twice (a secondary reaper's own gather is recorded
 * too, and reaped by its own reaper).
 */
static int
fly_reap_gather(struct mm_fly *r, struct mmrt_as *as, int32_t pid)
{
	struct mm_gather_batch *b, *next;
	struct mm_gather g;
	uint64_t e;
	uint32_t i, cnt, flags;
	int n = 0, t = 0;

	if (!mm_as_live(as)) {
		MMRT_LOG(WARNING, mm, "dead process %d: its gather's space %p"
			" is gone; its queued frames are left", (int)pid,
			(void *)as);
		__atomic_store_n(&r->gas, NULL, __ATOMIC_RELAXED);
		return 0;
	}
	MM_BLOCKING_BEGIN();
	mm_read_lock(&as->map_lock, MM_LC_MAP);
	mm_gather_init(&g, as, false);
	/* the dead's range is unknown: the whole space */
	mm_gather_track(&g, 0, MMRT_VA_LIMIT, 1);
	g.need_flush_all = true;
	for (b = &r->gb.hdr; b != NULL; b = b->next) {
		for (i = 0; i < b->nr; i++) {
			e = b->ent[i];
			if (e == MM_GE_DONE)
				continue;
			flags = (uint32_t)e & (MM_GE_DELAY_RMAP | MM_GE_HUGE);
			if (e & MM_GE_NR_NEXT) {
				cnt = (uint32_t)b->ent[i + 1];
				b->ent[i + 1] = 0;
				mm_fly_order();
				if (cnt > 0)
					mm_gather_add(&g, (uint32_t)(e >>
						MM_GE_SHIFT), cnt, flags);
				n += (int)cnt;
				i++;
				continue;
			}
			b->ent[i] = MM_GE_DONE;
			mm_fly_order();
			mm_gather_add(&g, (uint32_t)(e >> MM_GE_SHIFT), 1, flags);
			n++;
		}
	}
	n += fly_reap_put(r, &g, pid);
	e = r->zextra;
	if (e != MM_GE_DONE) {
		r->zextra = MM_GE_DONE;
		mm_fly_order();
		mm_gather_add(&g, (uint32_t)(e >> MM_GE_SHIFT), 1,
			(uint32_t)e & (MM_GE_DELAY_RMAP | MM_GE_HUGE));
		n++;
	}
	b = r->gtables;
	for (i = 0; b != NULL && i < b->nr; i++) {
		e = b->ent[i];
		if (e == MM_GE_DONE)
			continue;
		b->ent[i] = MM_GE_DONE;
		mm_fly_order();
		mm_gather_remove_table(&g, (uint32_t)e);
		t++;
	}
	mm_gather_finish(&g);
	mm_read_unlock(&as->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
	/* not recorded any more, then its raise of gather_pending ends (a
	 * reaper that dies in between leaves it raised: nested flushes) */
	__atomic_store_n(&r->gas, NULL, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&as->gather_pending, 1, __ATOMIC_SEQ_CST);
	for (b = r->gb.hdr.next; b != NULL; b = next) {
		next = b->next;
		rte_free(b);
	}
	r->gb.hdr.next = NULL;
	rte_free(r->gtables);
	r->gtables = NULL;
	__atomic_fetch_add(&fly_gathers_reaped, 1, __ATOMIC_RELAXED);
	MMRT_LOG(NOTICE, mm, "dead process %d: its unflushed gather: %d frame"
		" references and %d table pages flushed", (int)pid, n, t);
	return n + t;
}

static int
fly_reap(int32_t pid, unsigned int slot)
{
	unsigned int ti, nt = mmrt_robust_fly_threads();
	struct mmrt_as *as;
	struct mm_fly *r;
	int n = 0;

#ifdef MMRT_TEST_HOOKS
	if (mmrt_test_reap_skipped() & MMRT_TEST_REAP_SKIP_FLY)
		return 0;
#endif
	for (ti = 0; ti < nt; ti++) {
		r = (struct mm_fly *)mmrt_robust_fly_of(slot, ti);
		if (r == NULL)
			break;
		as = __atomic_load_n(&r->gas, __ATOMIC_ACQUIRE);
		if (as != NULL)
			n += fly_reap_gather(r, as, pid);
	}
	return n;
}

RTE_INIT(fly_register)
{
	mmrt_robust_fly_register(fly_reap_frame);
	/* after lib/dev's step (30) fenced the dead's consumers and
	 * mm.notify (35) ended its notifier periods; before mm.gather */
	mmrt_reap_register("mm.fly", 28, fly_reap);
}
