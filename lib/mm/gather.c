/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The gather (see mm_gather.h for the contract).
 *
 * States of a gather, by their predicates:
 *   empty:    active == &local.hdr, local.hdr.nr == 0, no tables,
 *             start == VA_LIMIT, end == 0
 *   batching: some batch has nr > 0, or tables hold pfns; [start, end)
 *             covers every entry cleared since the last flush
 *   flushed:  back to empty; batches beyond the bundle stay chained for
 *             reuse until finish
 * Transitions:
 *   empty/batching -> batching   add, remove_table, track
 *   batching -> empty            flush: device flush, rmap, frees, tables
 *   any -> (gone)                finish: nested check, flush, batches back
 *
 * A frame queued here was unhooked (its PTE cleared) before it was queued,
 * and the device flush of its range happens in flush() before the frame is
 * freed: so no consumer can still reach it when it is reused (invariant A).
 *
 * Page-table pages additionally wait for a QSBR grace period, because
 * lockless walkers read them without any lock: mm_table_free_now() runs
 * from the defer queue's reclaim after every registered poller has passed
 * a quiescent state since the table was queued.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memzone.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "mm_locking.h"
#include "mm_pte.h"
#include "mm_as.h"
#include "mm_notify.h"
#include "mm_gather.h"
#include "mm_fly.h"
#include "mm_testhooks.h"
#include "mm_stepprof.h"

/* the steps of a gather's flush, for -DMM_STEP_PROF (mm_stepprof.h) */
enum { SP_G_ENTER, SP_G_INVAL, SP_G_RMAP, SP_G_QUAR, SP_G_PUT, SP_G_TABLES };
MM_SP_DEFINE("gather flush", "enter", "invalidate", "rmap", "quarantine",
	"put_bulk", "tables")

#ifdef MMRT_TEST_HOOKS
struct mm_test_hooks mm_test_hooks;
#define MMRT_TEST_DQ_FULL mm_test_hooks.dq_full
#else
#define MMRT_TEST_DQ_FULL false
#endif

/* Per-lcore: cached batches and statistics. */
struct gather_lcore {
	struct mm_gather_batch *free;
	uint32_t nfree;
	struct mm_gather_stats st;
} __rte_cache_aligned;

/*
 * The per-lcore slots and the lock of the shared one are used by every
 * process of the runtime (a batch freed in one may be reused in another:
 * batches are DPDK memory), so they live in the memzone GATHER_MZ; lcore
 * ids are distinct between processes (lib/core). The defer queue of
 * page-table pages is per process: its free callback is a function of
 * this process, and the QSBR variable it waits on is the runtime's one.
 */
#define GATHER_MZ "mmrt_gather"
struct gather_shared {
	rte_spinlock_t other_lock;
	struct gather_lcore glc[RTE_MAX_LCORE + 1]; /* the last: others */
	/* each attached process's defer queue (its struct, DPDK memory),
	 * by process slot: what a reaper frees after the process died */
	struct rte_rcu_qsbr_dq *proc_dq[MMRT_PROC_MAX];
};
static const struct rte_memzone *gather_mz;
static struct gather_shared *gather_sh;
static int gather_slot = -1;      /* this process's slot in proc_dq */
static bool gather_owner;
static struct gather_lcore *glc;   /* RTE_MAX_LCORE + 1 (the last: others) */
static rte_spinlock_t *glc_other_lock;
static struct rte_rcu_qsbr_dq *pt_dq;
static uint32_t batch_max = 64;
static uint32_t free_chunk = 512;

static inline struct gather_lcore *
gl_self(void)
{
	unsigned int id = rte_lcore_id();

	return &glc[id < RTE_MAX_LCORE ? id : RTE_MAX_LCORE];
}

/* Statistics of non-lcore threads share a slot, under a lock. */
#define GL_STAT(field, n) do { \
	struct gather_lcore *g_ = gl_self(); \
	if (g_ == &glc[RTE_MAX_LCORE]) { \
		mm_spin_lock(glc_other_lock, MM_LC_GLC_OTHER); \
		g_->st.field += (n); \
		mm_spin_unlock(glc_other_lock, MM_LC_GLC_OTHER); \
	} else { \
		g_->st.field += (n); \
	} \
} while (0)

void
mm_table_free_now(uint32_t pfn)
{
	struct mmrt_frame *f = mmrt_frame_meta(pfn);

	f->flags &= ~MMRT_FRAME_PT;
	f->ptl = 0;
	mmrt_frame_put(pfn);
}

static void
pt_dq_free(void *p, void *e, unsigned int n)
{
	const uint32_t *pfns = e;
	unsigned int i;

	RTE_SET_USED(p);
	for (i = 0; i < n; i++)
		mm_table_free_now(pfns[i]);
}

static struct mm_gather_batch *
batch_get(void)
{
	struct gather_lcore *g = gl_self();
	struct mm_gather_batch *b;

#ifdef MMRT_TEST_HOOKS
	if (mm_test_hooks.gather_batch_fail > 0) {
		__atomic_fetch_sub(&mm_test_hooks.gather_batch_fail, 1,
			__ATOMIC_RELAXED);
		return NULL;
	}
#endif
	if (g != &glc[RTE_MAX_LCORE] && g->free != NULL) {
		b = g->free;
		g->free = b->next;
		g->nfree--;
	} else {
		b = TEST_ALLOC_FAIL() ? NULL :
			rte_malloc("mm_gather_batch", sizeof(*b) +
			MMRT_GATHER_BATCH_ENTRIES * sizeof(uint64_t), 0);
		if (b == NULL)
			return NULL;
	}
	b->next = NULL;
	b->nr = 0;
	b->max = MMRT_GATHER_BATCH_ENTRIES;
	return b;
}

static void
batch_put(struct mm_gather_batch *b)
{
	struct gather_lcore *g = gl_self();

	if (g != &glc[RTE_MAX_LCORE] && g->nfree < batch_max) {
		b->next = g->free;
		g->free = b;
		g->nfree++;
		return;
	}
	rte_free(b);
}

void
mm_gather_cache_drain(void)
{
	struct gather_lcore *g = gl_self();
	struct mm_gather_batch *b;

	if (g == &glc[RTE_MAX_LCORE])
		return; /* non-lcore threads cache nothing */
	while ((b = g->free) != NULL) {
		g->free = b->next;
		g->nfree--;
		rte_free(b);
	}
}

static void
gather_reset_range(struct mm_gather *tlb)
{
	tlb->start = MMRT_VA_LIMIT;
	tlb->end = 0;
	tlb->cleared = 0;
	tlb->freed_tables = false;
	tlb->need_flush_all = false;
}

void
mm_gather_init(struct mm_gather *tlb, struct mmrt_as *as, bool fullmm)
{
	memset(tlb, 0, sizeof(*tlb));
	tlb->as = as;
	tlb->fullmm = fullmm;
	tlb->local.hdr.max = MMRT_GATHER_BUNDLE;
	tlb->active = &tlb->local.hdr;
	gather_reset_range(tlb);
	/* pairs with the load in mm_gather_finish() of a concurrent gather */
	__atomic_fetch_add(&as->gather_pending, 1, __ATOMIC_SEQ_CST);
	/* a secondary's frames go to its record (mm_fly.h), after the raise */
	if (unlikely(mmrt_robust_locks))
		mm_fly_gather_start(tlb);
	/* counted in gathers when it finishes (gather_stats_add()) */
}

void
mm_gather_track(struct mm_gather *tlb, uint64_t start, uint64_t end,
	unsigned int level)
{
	if (start < tlb->start)
		tlb->start = start;
	if (end > tlb->end)
		tlb->end = end;
	if (level >= 1 && level <= PT_LEVELS)
		tlb->cleared |= 1u << (level - 1);
}

/*
 * A secondary's recorded gather (mm_fly.h, 2): its entries go to the
 * thread's record (first batch) and DPDK-memory batches chained from it,
 * so that a reaper finds them; each entry is written before the count
 * that makes it visible, and marked done before its frame is put.
 */
bool
mm_fly_gather_start(struct mm_gather *tlb)
{
	struct mm_fly *r = mm_fly_rec();
	unsigned int i;

	/* none, or a gather of this thread already recorded (nested):
	 * this one keeps its bundle (lost if the process dies in it) */
	if (r == NULL || __atomic_load_n(&r->gas, __ATOMIC_RELAXED) != NULL)
		return false;
	r->gb.hdr.next = NULL;
	r->gb.hdr.nr = 0;
	r->gb.hdr.max = MMRT_GATHER_BUNDLE;
	for (i = 0; i < MMRT_GATHER_BUNDLE; i++)
		r->gb.ent[i] = MM_GE_DONE;
	r->gtables = NULL;
	r->zextra = MM_GE_DONE;
	r->zstate = 0;
	r->pp_at = NULL;
	tlb->rec = r;
	tlb->rec_b = &r->gb.hdr;
	/* the inline add never fits: every entry takes gather_rec_add() */
	tlb->local.hdr.max = 0;
	mm_fly_order();
	__atomic_store_n(&r->gas, tlb->as, __ATOMIC_RELAXED);
	mm_fly_order();
	return true;
}

static struct mm_gather_batch *
gather_rec_room(struct mm_gather *tlb, unsigned int slots)
{
	struct mm_gather_batch *b = tlb->rec_b, *nb;

	if (b->nr + slots > b->max) {
		nb = b->next; /* chained before, emptied by a flush */
		if (nb == NULL && tlb->batch_count < batch_max) {
			nb = batch_get();
			if (nb != NULL) {
				tlb->batch_count++;
				tlb->batch_allocs++;
				mm_fly_order(); /* empty before it is reachable */
				b->next = nb;
			} else {
				tlb->batch_fail++;
			}
		}
		if (nb == NULL) {
			/* no batch to be had: flush instead of failing */
			mm_gather_flush(tlb);
			nb = tlb->rec_b;
		}
		b = nb;
		tlb->rec_b = b;
	}
	return b;
}

struct mm_gather_batch *
mm_fly_gather_room(struct mm_gather *tlb)
{
	return gather_rec_room(tlb, 2);
}

static void
gather_rec_add(struct mm_gather *tlb, uint32_t pfn, uint32_t nr,
	uint32_t flags)
{
	unsigned int slots = nr > 1 ? 2 : 1;
	struct mm_gather_batch *b = gather_rec_room(tlb, slots);

	if (flags & MM_GE_DELAY_RMAP)
		tlb->delayed_rmap = true;
	if (nr > 1) {
		b->ent[b->nr] = ((uint64_t)pfn << MM_GE_SHIFT) | flags |
			MM_GE_NR_NEXT;
		b->ent[b->nr + 1] = nr;
	} else {
		b->ent[b->nr] = ((uint64_t)pfn << MM_GE_SHIFT) | flags;
	}
	mm_fly_order();
	__atomic_store_n(&b->nr, b->nr + slots, __ATOMIC_RELAXED);
	mm_fly_order();
}

/* mm_fly.h 4.: the put of a recorded flush's frame, marked around */
static inline void
rec_put_mark(struct mm_fly *r, uint64_t *at, uint32_t pfn)
{
	r->pp_old = *at;
	r->pp_pfn = pfn;
	r->pp_gen = __atomic_load_n(&mmrt_frame_meta(pfn)->gen,
		__ATOMIC_RELAXED);
	mm_fly_order();
	__atomic_store_n(&r->pp_at, at, __ATOMIC_RELAXED);
	mm_fly_order();
}

static inline void
rec_put(struct mm_gather *tlb, uint32_t pfn)
{
	mm_fly_order();
	if (mmrt_frame_put(pfn) == 1)
		tlb->frames_freed++;
	mm_fly_order();
	__atomic_store_n(&tlb->rec->pp_at, NULL, __ATOMIC_RELAXED);
	mm_fly_order();
}

/*
 * gather_free_frames() of a recorded gather: frame by frame, each marked
 * done before its put (a count entry: its count down by one before each
 * put), each delayed rmap's bit cleared before its drop, so that a
 * reaper never puts or drops twice.
 */
static void
gather_rec_free(struct mm_gather *tlb)
{
	struct mm_gather_batch *b;
	uint64_t e;
	uint32_t i, pfn, cnt;

	if (tlb->delayed_rmap) {
		for (b = &tlb->rec->gb.hdr; b != NULL; b = b->next) {
			for (i = 0; i < b->nr; i++) {
				e = b->ent[i];
				if (e == MM_GE_DONE)
					continue;
				cnt = (e & MM_GE_NR_NEXT) ?
					(uint32_t)b->ent[i + 1] : 1;
				if (e & MM_GE_DELAY_RMAP) {
					b->ent[i] = e & ~(uint64_t)
						MM_GE_DELAY_RMAP;
					mm_fly_order();
					__atomic_fetch_sub(&mmrt_frame_meta(
						e >> MM_GE_SHIFT)->mapcount,
						cnt, __ATOMIC_RELAXED);
				}
				if (e & MM_GE_NR_NEXT)
					i++;
			}
			if (b == tlb->rec_b)
				break;
		}
		tlb->delayed_rmap = false;
	}
	for (b = &tlb->rec->gb.hdr; b != NULL; b = b->next) {
		for (i = 0; i < b->nr; i++) {
			e = b->ent[i];
			if (e == MM_GE_DONE)
				continue;
			pfn = (uint32_t)(e >> MM_GE_SHIFT);
			if (e & MM_GE_NR_NEXT) {
				while (b->ent[i + 1] > 0) {
					mm_notify_quarantine(tlb->as, &pfn, 1);
					rec_put_mark(tlb->rec, &b->ent[i + 1],
						pfn);
					b->ent[i + 1]--;
					rec_put(tlb, pfn);
				}
				i++;
				continue;
			}
			mm_notify_quarantine(tlb->as, &pfn, 1);
			rec_put_mark(tlb->rec, &b->ent[i], pfn);
			b->ent[i] = MM_GE_DONE;
			rec_put(tlb, pfn);
		}
		mm_fly_order();
		__atomic_store_n(&b->nr, 0, __ATOMIC_RELAXED);
		mm_fly_order();
		if (b == tlb->rec_b)
			break;
	}
	tlb->chunks++;
	tlb->rec_b = &tlb->rec->gb.hdr;
}

/* Free every queued frame, in chunks of free_chunk puts. */
static void
gather_free_frames(struct mm_gather *tlb)
{
	uint32_t chunk[512];
	unsigned int n = 0, lim = RTE_MIN(free_chunk, (uint32_t)RTE_DIM(chunk));
	struct mm_gather_batch *b;
	uint32_t i;

	if (unlikely(tlb->rec != NULL)) {
		gather_rec_free(tlb);
		return;
	}
	/* model: models/gather.pml [G.4] */
	/* delayed rmap: the mapcount drops only now, after the flush */
	if (tlb->delayed_rmap) {
		for (b = &tlb->local.hdr; b != NULL; b = b->next) {
			for (i = 0; i < b->nr; i++) {
				uint64_t e = b->ent[i];
				uint32_t cnt = 1;

				if (e & MM_GE_NR_NEXT)
					cnt = (uint32_t)b->ent[++i];
				if (e & MM_GE_DELAY_RMAP)
					__atomic_fetch_sub(&mmrt_frame_meta(
						e >> MM_GE_SHIFT)->mapcount,
						cnt, __ATOMIC_RELAXED);
			}
			if (b == tlb->active)
				break;
		}
		tlb->delayed_rmap = false;
	}
	MM_SP(SP_G_RMAP);
	/* model: models/gather.pml [G.5] */
	for (b = &tlb->local.hdr; b != NULL; b = b->next) {
		for (i = 0; i < b->nr; i++) {
			uint64_t e = b->ent[i];
			uint32_t pfn = e >> MM_GE_SHIFT, cnt = 1;

			if (e & MM_GE_NR_NEXT)
				cnt = (uint32_t)b->ent[++i];
			while (cnt-- > 0) {
				chunk[n++] = pfn;
				if (n == lim) {
					MM_SP(SP_G_ENTER);
					mm_notify_quarantine(tlb->as, chunk, n);
					MM_SP(SP_G_QUAR);
					tlb->frames_freed +=
						mmrt_frame_put_bulk(chunk, n);
					MM_SP(SP_G_PUT);
					MM_SP_ITEMS(n);
					tlb->chunks++;
					n = 0;
				}
			}
		}
		b->nr = 0;
		if (b == tlb->active)
			break;
	}
	if (n > 0) {
		MM_SP(SP_G_ENTER);
		mm_notify_quarantine(tlb->as, chunk, n);
		MM_SP(SP_G_QUAR);
		tlb->frames_freed += mmrt_frame_put_bulk(chunk, n);
		MM_SP(SP_G_PUT);
		MM_SP_ITEMS(n);
		tlb->chunks++;
	}
	tlb->active = &tlb->local.hdr;
}

/*
 * Hand unhooked tables to the QSBR defer queue (or wait, if it is full).
 * model: models/gather.pml [G.6]
 */
static void
gather_free_tables(struct mm_gather *tlb)
{
	struct mm_gather_batch *b = tlb->tables;
	bool synced = false;
	uint32_t i;

	if (b == NULL || b->nr == 0)
		return;
	for (i = 0; i < b->nr; i++) {
		uint32_t pfn = (uint32_t)b->ent[i];

		if (unlikely(tlb->rec != NULL)) {
			/* recorded: done before the hand-off (mm_fly.h) */
			if (b->ent[i] == MM_GE_DONE)
				continue;
			b->ent[i] = MM_GE_DONE;
			mm_fly_order();
		}
#ifdef MMRT_TEST_HOOKS
		if (mm_test_hooks.pt_free_early) {
			/* negative control: skip the grace period */
			mm_table_free_now(pfn);
			continue;
		}
#endif
		if (!synced && !MMRT_TEST_DQ_FULL &&
				rte_rcu_qsbr_dq_enqueue(pt_dq, &pfn) == 0)
			continue;
		/* queue full: wait for every poller, then free directly */
		if (!synced) {
			mmrt_synchronize();
			synced = true;
		}
		mm_table_free_now(pfn);
		GL_STAT(tables_sync, 1);
	}
	tlb->tables_freed += b->nr;
	b->nr = 0;
}

/* A flush's first half: post the device flush of the range (step 1). */
static __rte_always_inline void
gather_flush_post(struct mm_gather *tlb, struct mm_notify_flush *f)
{
	bool tables = tlb->tables != NULL && tlb->tables->nr > 0;
	bool frames = (unlikely(tlb->rec != NULL) ? tlb->rec->gb.hdr.nr :
		tlb->local.hdr.nr) > 0;

	MM_SP(SP_G_ENTER);
	f->subs = NULL;
	if (tlb->end > tlb->start || tlb->need_flush_all || frames || tables) {
		bool full = tlb->need_flush_all || tlb->fullmm;

		/* model: models/gather.pml [G.3] */
		/* 1. device flush of the whole accumulated range */
		mm_notify_invalidate_post(tlb->as, full ? 0 : tlb->start,
			full ? MMRT_VA_LIMIT : tlb->end, full, f);
		tlb->flushes++;
	}
}

/* The second half: the flush's acks, then what it let go (steps 2-4). */
static __rte_always_inline void
gather_flush_wait(struct mm_gather *tlb, struct mm_notify_flush *f)
{
	bool frames = (unlikely(tlb->rec != NULL) ? tlb->rec->gb.hdr.nr :
		tlb->local.hdr.nr) > 0;

	mm_notify_invalidate_wait(tlb->as, f);
	MM_SP(SP_G_INVAL);
	/* 2. delayed rmap, 3. frees in chunks */
	if (frames)
		gather_free_frames(tlb);
	/* 4. page-table pages after a grace period */
	MM_SP(SP_G_ENTER);
	gather_free_tables(tlb);
	gather_reset_range(tlb);
	MM_SP(SP_G_TABLES);
}

void
mm_gather_flush(struct mm_gather *tlb)
{
	struct mm_notify_flush f;

	gather_flush_post(tlb, &f);
	gather_flush_wait(tlb, &f);
}

/* Room for @slots more entries in the active batch, flushing if needed. */
static void
gather_make_room(struct mm_gather *tlb, unsigned int slots)
{
	struct mm_gather_batch *b = tlb->active;

	if (b->nr + slots <= b->max)
		return;
	if (b->next != NULL) {
		tlb->active = b->next;
		return;
	}
	if (tlb->batch_count < batch_max) {
		struct mm_gather_batch *nb = batch_get();

		if (nb != NULL) {
			b->next = nb;
			tlb->active = nb;
			tlb->batch_count++;
			tlb->batch_allocs++;
			return;
		}
		tlb->batch_fail++;
	}
	/* no batch to be had: flush instead of failing */
	mm_gather_flush(tlb);
}

/* mm_gather_add() (mm_gather.h) without its inline fast path */
void
mm_gather_add_slow(struct mm_gather *tlb, uint32_t pfn, uint32_t nr,
	uint32_t flags)
{
	struct mm_gather_batch *b;

	if (nr == 0)
		return;
	flags &= MM_GE_DELAY_RMAP | MM_GE_HUGE;
	if (unlikely(tlb->rec != NULL)) {
		gather_rec_add(tlb, pfn, nr, flags);
		return;
	}
	gather_make_room(tlb, nr > 1 ? 2 : 1);
	b = tlb->active;
	if (flags & MM_GE_DELAY_RMAP)
		tlb->delayed_rmap = true;
	if (nr > 1) {
		b->ent[b->nr++] = ((uint64_t)pfn << MM_GE_SHIFT) | flags |
			MM_GE_NR_NEXT;
		b->ent[b->nr++] = nr;
	} else {
		b->ent[b->nr++] = ((uint64_t)pfn << MM_GE_SHIFT) | flags;
	}
}

void
mm_gather_remove_table(struct mm_gather *tlb, uint32_t pfn)
{
	if (tlb->tables == NULL) {
		tlb->tables = batch_get();
		if (tlb->tables == NULL) {
			/* no batch: wait for the pollers and free it now */
			tlb->batch_fail++;
			mm_notify_invalidate(tlb->as, 0, MMRT_VA_LIMIT, true);
			mmrt_synchronize();
			mm_table_free_now(pfn);
			tlb->tables_freed++;
			GL_STAT(tables_sync, 1);
			return;
		}
		tlb->batch_allocs++;
		if (unlikely(tlb->rec != NULL)) {
			mm_fly_order();
			tlb->rec->gtables = tlb->tables;
			mm_fly_order();
		}
	}
	if (tlb->tables->nr == tlb->tables->max)
		mm_gather_flush(tlb);
	/* the entry before the count (a recorded gather's reaper reads them) */
	tlb->tables->ent[tlb->tables->nr] = pfn;
	mm_fly_order();
	tlb->tables->nr++;
	tlb->freed_tables = true;
}

void
mm_gather_finish_post(struct mm_gather *tlb, struct mm_notify_flush *f)
{
	/*
	 * Another gather on this space is still in flight: it may have
	 * cleared entries in our range without flushing yet, and we must not
	 * return before those translations are gone too. Flush everything
	 * (the kernel's mm_tlb_flush_nested()). Pairs with the increment in
	 * mm_gather_init().
	 */
	/* model: models/gather.pml [G.12] */
	if (__atomic_load_n(&tlb->as->gather_pending, __ATOMIC_SEQ_CST) > 1) {
		tlb->need_flush_all = true;
		tlb->start = 0;
		tlb->end = MMRT_VA_LIMIT;
		tlb->nested_flushes++;
		MM_STAT_ADD(tlb->as, nested_flushes, 1);
	}
	gather_flush_post(tlb, f);
}

/*
 * Add a finished gather's counters, and the gather itself, to the sums of
 * @g (gl_self() of the calling thread): one lookup of the lcore slot (a
 * call of __tls_get_addr from this library, through the PLT) and
 * one lock for a non-lcore thread, for all of them.
 */
static void
gather_stats_add(struct gather_lcore *g, const struct mm_gather *tlb)
{
	bool other = g == &glc[RTE_MAX_LCORE];

	if (other)
		mm_spin_lock(glc_other_lock, MM_LC_GLC_OTHER);
	g->st.gathers++;
#define GL_STAT_GATHER(f) g->st.f += tlb->f;
	MM_GATHER_COUNTERS(GL_STAT_GATHER)
#undef GL_STAT_GATHER
	if (other)
		mm_spin_unlock(glc_other_lock, MM_LC_GLC_OTHER);
}

void
mm_gather_finish_wait(struct mm_gather *tlb, struct mm_notify_flush *f)
{
	/* the slot looked up while the consumers ack, not after */
	struct gather_lcore *g = gl_self();
	struct mm_gather_batch *b, *next;

	gather_flush_wait(tlb, f);
	if (unlikely(tlb->rec != NULL)) {
		/* not recorded any more before the fall and the batches'
		 * reuse (mm_fly.h) */
		mm_fly_order();
		__atomic_store_n(&tlb->rec->gas, NULL, __ATOMIC_RELAXED);
		mm_fly_order();
		tlb->local.hdr.next = tlb->rec->gb.hdr.next;
		tlb->rec->gb.hdr.next = NULL;
		tlb->rec->gtables = NULL;
	}
	/* still counted while its flush was in flight (G.12 above) */
	__atomic_fetch_sub(&tlb->as->gather_pending, 1, __ATOMIC_SEQ_CST);

	for (b = tlb->local.hdr.next; b != NULL; b = next) {
		next = b->next;
		batch_put(b);
	}
	if (tlb->tables != NULL)
		batch_put(tlb->tables);
	tlb->local.hdr.next = NULL;
	tlb->tables = NULL;
	gather_stats_add(g, tlb);
}

void
mm_gather_finish(struct mm_gather *tlb)
{
	struct mm_notify_flush f;

	mm_gather_finish_post(tlb, &f);
	mm_gather_finish_wait(tlb, &f);
}

void
mm_gather_stats(struct mm_gather_stats *st)
{
	unsigned int i;

	memset(st, 0, sizeof(*st));
	if (glc == NULL)
		return;
	for (i = 0; i <= RTE_MAX_LCORE; i++) {
		const struct mm_gather_stats *s = &glc[i].st;

#define GL_SUM(f) st->f += s->f;
		GL_SUM(gathers)
		MM_GATHER_COUNTERS(GL_SUM)
		GL_SUM(tables_sync)
#undef GL_SUM
	}
}

unsigned int
mmrt_mm_reclaim(bool wait)
{
	unsigned int freed = 0, pending = 0, avail = 0;

	if (pt_dq == NULL)
		return 0;
	if (wait) {
		MM_BLOCKING_BEGIN();
		mmrt_synchronize();
		MM_BLOCKING_END();
	}
	rte_rcu_qsbr_dq_reclaim(pt_dq, UINT32_MAX, &freed, &pending, &avail);
	return pending;
}

/* The name of a process's defer queue (and of its ring): @pid 0, the
 * primary's. */
static void
gather_dq_name(char *name, size_t len, int pid)
{
	if (pid == 0)
		snprintf(name, len, "mmrt_pt_dq");
	else
		snprintf(name, len, "mmrt_pt_dq_%d", pid);
}

/*
 * A dead secondary's deferred table frees (mmrt_reap_dead(), through
 * mmrt_reap_register()). Its defer queue held table pages unhooked from
 * the page tables and waiting for a grace period; without this step they
 * stay allocated for good. The queue's ring is DPDK memory found by its
 * name; the queue's struct is DPDK memory too (its address is in
 * proc_dq), but its free callback is a function of the dead process's
 * mapping of this library, so the ring is drained here by hand. Each
 * entry is the QSBR token the enqueue took, then the pfn (the layout
 * rte_rcu_qsbr_dq documents for its ring: the token, then the element).
 * The dead process's reader slots were freed before reap steps run, so
 * one grace period started now covers every token: the tables are freed
 * after it without checking them. Idempotent: a reaper that dies here
 * loses the entries it had dequeued and not freed, nothing else; the
 * next one finds the rest.
 */
struct dq_entry {
	uint64_t token;
	uint32_t pfn;
} __rte_packed;

static int
gather_reap(int32_t pid, unsigned int slot)
{
	struct dq_entry e[64];
	struct rte_rcu_qsbr_dq *dq;
	struct rte_ring *r;
	char name[RTE_RING_NAMESIZE];
	unsigned int i, k;
	bool synced = false;
	int n = 0;

	if (gather_sh == NULL || slot >= MMRT_PROC_MAX || pid <= 0)
		return 0;
	RTE_BUILD_BUG_ON(sizeof(struct dq_entry) != 8 + sizeof(uint32_t));
	gather_dq_name(name, sizeof(name), (int)pid);
	r = rte_ring_lookup(name);
	if (r != NULL) {
		for (;;) {
			k = rte_ring_dequeue_burst_elem(r, e, sizeof(e[0]),
				RTE_DIM(e), NULL);
			if (k == 0)
				break;
			if (!synced) {
				MM_BLOCKING_BEGIN();
				mmrt_synchronize();
				MM_BLOCKING_END();
				synced = true;
			}
			for (i = 0; i < k; i++)
				mm_table_free_now(e[i].pfn);
			n += (int)k;
		}
		rte_ring_free(r);
	}
	dq = __atomic_exchange_n(&gather_sh->proc_dq[slot], NULL,
		__ATOMIC_ACQ_REL);
	rte_free(dq);
	if (n > 0)
		MMRT_LOG(NOTICE, mm, "dead process %d: %d deferred table pages"
			" freed", (int)pid, n);
	return n;
}

RTE_INIT(gather_reap_register)
{
	mmrt_reap_register("mm.gather", 25, gather_reap);
}

int
mm_gather_subsys_init(const struct mmrt_config *cfg)
{
	struct rte_rcu_qsbr_dq_parameters p;
	struct gather_shared *sh;
	char name[32];

	batch_max = cfg->gather_batch_max;
	free_chunk = cfg->gather_free_chunk;
	gather_owner = rte_eal_process_type() == RTE_PROC_PRIMARY;
	if (gather_owner)
		gather_mz = TEST_ALLOC_FAIL() ? NULL :
			rte_memzone_reserve_aligned(GATHER_MZ, sizeof(*sh),
			SOCKET_ID_ANY, 0, RTE_CACHE_LINE_SIZE);
	else
		gather_mz = rte_memzone_lookup(GATHER_MZ);
	if (gather_mz == NULL)
		return gather_owner ? -ENOMEM : -ENOENT;
	sh = gather_mz->addr;
	if (gather_owner) {
		memset(sh, 0, sizeof(*sh));
		rte_spinlock_init(&sh->other_lock);
	}
	glc = sh->glc;
	glc_other_lock = &sh->other_lock;
	memset(&p, 0, sizeof(p));
	/* one queue per process (see above) */
	gather_dq_name(name, sizeof(name), gather_owner ? 0 : (int)getpid());
	p.name = name;
	p.size = cfg->qsbr_dq_size;
	p.esize = sizeof(uint32_t);
	p.trigger_reclaim_limit = cfg->qsbr_dq_size / 4;
	p.max_reclaim_size = 64;
	p.free_fn = pt_dq_free;
	p.v = mmrt_qsbr();
	pt_dq = TEST_ALLOC_FAIL() ? NULL : rte_rcu_qsbr_dq_create(&p);
	if (pt_dq == NULL) {
		if (gather_owner)
			rte_memzone_free(gather_mz);
		gather_mz = NULL;
		glc = NULL;
		return -ENOMEM;
	}
	gather_sh = sh;
	gather_slot = mmrt_process_slot();
	if (gather_slot >= 0 && gather_slot < MMRT_PROC_MAX)
		__atomic_store_n(&sh->proc_dq[gather_slot], pt_dq,
			__ATOMIC_RELEASE);
	return 0;
}

void
mm_gather_subsys_fini(void)
{
	unsigned int i;

	if (pt_dq != NULL) {
		if (gather_slot >= 0 && gather_slot < MMRT_PROC_MAX)
			__atomic_store_n(&gather_sh->proc_dq[gather_slot],
				NULL, __ATOMIC_RELEASE);
		gather_slot = -1;
		mmrt_synchronize();
		/* reclaims whatever is left, then frees the queue */
		rte_rcu_qsbr_dq_delete(pt_dq);
		pt_dq = NULL;
	}
	gather_sh = NULL;
	if (glc == NULL)
		return;
	/* a secondary frees the batches of its own lcores only */
	for (i = 0; i < RTE_MAX_LCORE; i++) {
		if (!gather_owner && !rte_lcore_is_enabled(i))
			continue;
		while (glc[i].free != NULL) {
			struct mm_gather_batch *b = glc[i].free;

			glc[i].free = b->next;
			glc[i].nfree--;
			rte_free(b);
		}
	}
	if (gather_owner)
		rte_memzone_free(gather_mz);
	gather_mz = NULL;
	glc = NULL;
	glc_other_lock = NULL;
}
