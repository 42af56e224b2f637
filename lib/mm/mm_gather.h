/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_MM_GATHER_H
#define MMRT_MM_GATHER_H

/*
 * The gather (mmu_gather): unmap, zap and teardown collect the frames they
 * unhook and the page-table pages they empty, track the range and the levels
 * cleared, and flush in this order:
 *
 *   1. device flush of the accumulated range (one notifier call per flush,
 *      so one invalidation descriptor per consumer per flush, not per page);
 *   2. delayed rmap work (mapcount drops deferred until after the flush);
 *   3. frees, in chunks of mm.gather_free_chunk frames;
 *   4. page-table pages to the QSBR defer queue (synchronous grace period
 *      when the queue is full).
 *
 * Batches: an embedded bundle of MMRT_GATHER_BUNDLE entries, then batches of
 * MMRT_GATHER_BATCH_ENTRIES taken from a per-lcore cache (or rte_malloc),
 * at most mm.gather_batch_max of them; when one cannot be had the gather
 * flushes instead of failing.
 *
 * Nesting: every gather on an address space raises as->gather_pending for
 * its lifetime; a gather that finishes while another is pending on the same
 * address space flushes the whole space (mm_tlb_flush_nested).
 */

#include <stdbool.h>
#include <stdint.h>

#include "mmrt_mm.h"

struct mm_notify_flush;

struct mmrt_as;
struct mm_fly;

#define MMRT_GATHER_BUNDLE 8
#define MMRT_GATHER_BATCH_ENTRIES 510

/* Encoded entry: pfn << MM_GE_SHIFT | flags. */
#define MM_GE_SHIFT 3
#define MM_GE_DELAY_RMAP (1u << 0) /* drop the mapcount after the flush */
#define MM_GE_NR_NEXT    (1u << 1) /* next slot is a frame count */
#define MM_GE_HUGE       (1u << 2) /* a huge frame (head pfn) */

struct mm_gather_batch {
	struct mm_gather_batch *next;
	uint32_t nr;
	uint32_t max;
	uint64_t ent[];
};

/*
 * The counters a gather keeps for itself and adds to its lcore's sums
 * when it finishes (mm_gather_stats() sums those): one list for the
 * fields of both structures and for the code that moves them.
 */
#define MM_GATHER_COUNTERS(X) \
	X(flushes) X(nested_flushes) X(batch_allocs) X(batch_fail) \
	X(chunks) X(frames_freed) X(tables_freed)
#define MM_GATHER_COUNTER_FIELD(f) uint64_t f;

struct mm_gather {
	struct mmrt_as *as;
	uint64_t start;          /* flush range [start, end) */
	uint64_t end;
	bool fullmm;             /* tearing down the whole space */
	bool need_flush_all;
	bool freed_tables;
	bool delayed_rmap;       /* some entry carries MM_GE_DELAY_RMAP */
	uint8_t cleared;         /* bit L: entries cleared at level L (0 = PTE) */
	uint32_t batch_count;    /* batches allocated beyond the bundle */
	struct mm_gather_batch *active;
	struct mm_gather_batch *tables; /* page-table pages */
	struct {
		struct mm_gather_batch hdr;
		uint64_t ent[MMRT_GATHER_BUNDLE];
	} local;
	/* a secondary's gather: its record (mm_fly.h; NULL: not recorded,
	 * the primary's) and the record's batch that takes entries */
	struct mm_fly *rec;
	struct mm_gather_batch *rec_b;
	/* statistics of this gather */
	MM_GATHER_COUNTERS(MM_GATHER_COUNTER_FIELD)
};

/* Start a gather on @as (fullmm: the whole space is being torn down). */
void mm_gather_init(struct mm_gather *tlb, struct mmrt_as *as, bool fullmm);

/* Record that entries at @level covering [start, end) were cleared. */
void mm_gather_track(struct mm_gather *tlb, uint64_t start, uint64_t end,
	unsigned int level);

/*
 * Record that the entry at @level mapping @va was cleared or downgraded:
 * the whole range that entry covers (level 1: its 4 KiB page, level 2: its
 * 2 MiB), whatever offset of it @va is.
 */
static inline void
mm_gather_track_entry(struct mm_gather *tlb, uint64_t va, unsigned int level)
{
	uint64_t size = UINT64_C(1) << MMRT_PT_SHIFT(level);
	uint64_t base = va & ~(size - 1);

	mm_gather_track(tlb, base, base + size, level);
}

/*
 * Queue @nr references on frame @pfn for dropping after the flush: one per
 * PTE just cleared that mapped it (nr > 1 uses a count slot, as for the
 * 512 small leaves of a PTE-mapped huge frame, which all hold a reference
 * on its head; a huge leaf is one entry with MM_GE_HUGE). Never fails: a
 * full gather flushes first.
 */
void mm_gather_add_slow(struct mm_gather *tlb, uint32_t pfn, uint32_t nr,
	uint32_t flags);
static inline void
mm_gather_add(struct mm_gather *tlb, uint32_t pfn, uint32_t nr,
	uint32_t flags)
{
	struct mm_gather_batch *b = tlb->active;

	/* the common case inline (one reference, room in the batch) */
	if (nr == 1 && !(flags & MM_GE_DELAY_RMAP) && b->nr < b->max) {
		b->ent[b->nr++] = ((uint64_t)pfn << MM_GE_SHIFT) |
			(flags & MM_GE_HUGE);
		return;
	}
	mm_gather_add_slow(tlb, pfn, nr, flags);
}

/* Queue an unhooked page-table page for freeing after a grace period. */
void mm_gather_remove_table(struct mm_gather *tlb, uint32_t pfn);

/* Flush now: device flush, rmap, frees; the gather stays usable. */
void mm_gather_flush(struct mm_gather *tlb);

/* Final flush (full if nested), release the batches, end the gather. */
void mm_gather_finish(struct mm_gather *tlb);
/*
 * mm_gather_finish() in two halves (mm_notify_invalidate_post() and
 * _wait(), mm_notify.h): _post() posts the final flush, _wait() waits for
 * its acks, frees what the gather holds and ends it. The gather is in
 * flight (counted in gather_pending) until _wait() returns. Between the
 * halves the caller may do work that needs no device TLB flushed, under
 * the rules of mm_notify_invalidate_post().
 */
void mm_gather_finish_post(struct mm_gather *tlb, struct mm_notify_flush *f);
void mm_gather_finish_wait(struct mm_gather *tlb, struct mm_notify_flush *f);

/*
 * Per-lcore statistics summed over all gathers since init, each added
 * when its gather finishes (a gather in flight is not counted yet).
 */
struct mm_gather_stats {
	uint64_t gathers;
	MM_GATHER_COUNTERS(MM_GATHER_COUNTER_FIELD)
	uint64_t tables_sync;  /* tables freed after a synchronous grace period */
};
void mm_gather_stats(struct mm_gather_stats *st);

/*
 * Give the calling lcore's cached batches back to rte_malloc (none for a
 * non-lcore thread). For leak checks that compare the rte_malloc heap
 * byte for byte: the cached batch a gather returns need not be the one
 * it took (a fresh one may be kept and the old one freed), and a fresh
 * element may carry up to 128 bytes of padding the allocator did not
 * split off, so the heap in use differs while nothing leaked. Calling
 * lcore only, not concurrently with a gather of that lcore.
 */
void mm_gather_cache_drain(void);

struct mmrt_config;
/* The per-lcore batch caches and statistics (as.c: library init/fini). */
int mm_gather_subsys_init(const struct mmrt_config *cfg);
void mm_gather_subsys_fini(void);
/* Free a page-table page that no walker can reach (never published, or
 * the root at teardown after the grace period). */
void mm_table_free_now(uint32_t pfn);

#endif /* MMRT_MM_GATHER_H */
