/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The gather (mm_gather.h), used directly with frames the test allocates
 * and through the public unmap path:
 *
 * - batches grow beyond the embedded bundle, one per
 *   MMRT_GATHER_BATCH_ENTRIES entries, and every queued frame is freed;
 * - when no batch can be had the gather flushes instead of failing;
 * - frees happen in chunks of at most mm.gather_free_chunk frames;
 * - order: every device flush happens while the frames queued are still
 *   allocated (unhook -> flush -> free);
 * - nested gathers on one address space: the one finishing while another
 *   is pending flushes the whole space;
 * - page-table pages are reused only after a QSBR grace period.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <rte_cycles.h>
#include <rte_pause.h>

#include "common.h"
#include "mm_gather.h"
#include "mm_testhooks.h"

#define POOL_MB 64
#define MAX_TRACK 8192

/* What the on_flush hook sees. */
struct flush_log {
	struct mmrt_as *as;
	uint64_t flushes;      /* on @as */
	uint64_t full;         /* of which full */
	uint64_t start, end;   /* range of the last one */
	bool last_full;
	/* frames queued and not yet flushed: must be allocated at a flush */
	uint32_t pending[MAX_TRACK];
	unsigned int npending;
	uint64_t checked;      /* frames found allocated at a flush */
	uint64_t bad;          /* frames found free at a flush */
	uint32_t bad_pfn;
};

static void
on_flush(struct mmrt_as *as, uint64_t start, uint64_t end, bool full,
	void *arg)
{
	struct flush_log *l = arg;
	unsigned int i;

	if (as != l->as)
		return;
	l->flushes++;
	l->full += full;
	l->last_full = full;
	l->start = start;
	l->end = end;
	for (i = 0; i < l->npending; i++) {
		const struct mmrt_frame *f = mmrt_frame_meta(l->pending[i]);

		if (f != NULL && f->refcount > 0 &&
				!(f->flags & MMRT_FRAME_FREE)) {
			l->checked++;
		} else {
			l->bad++;
			l->bad_pfn = l->pending[i];
		}
	}
	/* after this flush the gather may free them */
	l->npending = 0;
}

static void
hook_install(struct flush_log *l, struct mmrt_as *as)
{
	memset(l, 0, sizeof(*l));
	l->as = as;
	mm_test_hooks.on_flush_arg = l;
	mm_test_hooks.on_flush = on_flush;
}

static void
hook_remove(void)
{
	mm_test_hooks.on_flush = NULL;
	mm_test_hooks.on_flush_arg = NULL;
}

static uint32_t
alloc_frame(void)
{
	int64_t pfn = mmrt_frame_alloc(0);

	cr_assert_geq(pfn, 0, "mmrt_frame_alloc: %" PRId64, pfn);
	return (uint32_t)pfn;
}

static bool
frame_is_free(uint32_t pfn)
{
	return (mmrt_frame_meta(pfn)->flags & MMRT_FRAME_FREE) != 0;
}

static struct mm_gather_stats
gstats(void)
{
	struct mm_gather_stats st;

	mm_gather_stats(&st);
	return st;
}

/* Frames in use before the test's address space was created. */
static uint64_t base0;

static struct mmrt_as *
setup(const char *name)
{
	struct mmrt_as *as;

	mmrt_test_up(POOL_MB);
	base0 = mmrt_test_used();
	as = mmrt_as_create(name);
	cr_assert_not_null(as);
	return as;
}

/* @base: frames used with the address space alive (for the message). */
static void
teardown(struct mmrt_as *as, uint64_t base)
{
	hook_remove();
	cr_assert_eq(mmrt_test_used(), base, "%" PRIu64 " frames used, %"
		PRIu64 " before", mmrt_test_used(), base);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), base0, "%" PRIu64 " frames used "
		"after destroy, %" PRIu64 " at start", mmrt_test_used(),
		base0);
	mmrt_test_down();
}

/*
 * The start of a test that queues @n fresh frames: space @name (*@as),
 * the frames used before (*@base), the statistics before (*@s0), the
 * flush hook logging into @log. @return an array for the @n frames.
 */
static uint32_t *
queue_start(const char *name, unsigned int n, struct flush_log *log,
	struct mmrt_as **as, uint64_t *base, struct mm_gather_stats *s0)
{
	uint32_t *pfns;

	*as = setup(name);
	*base = mmrt_test_used();
	pfns = calloc(n, sizeof(*pfns));
	cr_assert_not_null(pfns);
	*s0 = gstats();
	hook_install(log, *as);
	return pfns;
}

/*
 * Queue a fresh frame in @tlb as the page VA + @i * PG, pending in @log
 * until a flush. @return the frame.
 */
static uint32_t
queue_frame(struct mm_gather *tlb, struct flush_log *log, unsigned int i)
{
	uint32_t pfn = alloc_frame();

	cr_assert_lt(log->npending, MAX_TRACK);
	log->pending[log->npending++] = pfn;
	mm_gather_add(tlb, pfn, 1, 0);
	mm_gather_track(tlb, VA + i * PG, VA + (i + 1) * PG, 1);
	return pfn;
}

/* Entries beyond the bundle take one batch per BATCH_ENTRIES. */
static uint64_t
batches_for(uint64_t entries)
{
	if (entries <= MMRT_GATHER_BUNDLE)
		return 0;
	return (entries - MMRT_GATHER_BUNDLE + MMRT_GATHER_BATCH_ENTRIES - 1) /
		MMRT_GATHER_BATCH_ENTRIES;
}

Test(gather, batch_growth)
{
	const unsigned int n = MMRT_GATHER_BUNDLE +
		3 * MMRT_GATHER_BATCH_ENTRIES + 5;
	struct mm_gather_stats s0, s1;
	struct mm_gather tlb;
	struct flush_log log;
	struct mmrt_as *as;
	uint32_t *pfns;
	uint64_t base, used0;
	unsigned int i;

	pfns = queue_start("gather-growth", n, &log, &as, &base, &s0);
	mm_gather_init(&tlb, as, false);
	for (i = 0; i < n; i++)
		pfns[i] = queue_frame(&tlb, &log, i);
	used0 = mmrt_test_used();
	cr_assert_eq(used0, base + n, "queued frames must stay allocated");
	cr_assert_eq(tlb.batch_allocs, batches_for(n),
		"batch_allocs %" PRIu64 ", expected %" PRIu64,
		tlb.batch_allocs, batches_for(n));
	cr_assert_eq(tlb.batch_count, batches_for(n));
	cr_assert_eq(tlb.flushes, 0, "flushed before it was full");
	cr_assert_eq(log.flushes, 0);
	for (i = 0; i < n; i++)
		cr_assert(!frame_is_free(pfns[i]));

	mm_gather_finish(&tlb);
	s1 = gstats();
	cr_assert_eq(log.flushes, 1);
	cr_assert_eq(log.bad, 0, "frame %u freed before the flush",
		log.bad_pfn);
	cr_assert_eq(log.checked, n);
	cr_assert(log.start <= VA && log.end >= VA + n * PG,
		"flush range [%#" PRIx64 ", %#" PRIx64 ") misses the tracked "
		"range", log.start, log.end);
	for (i = 0; i < n; i++)
		cr_assert(frame_is_free(pfns[i]), "frame %u not freed",
			pfns[i]);
	cr_assert_eq(s1.gathers - s0.gathers, 1);
	cr_assert_eq(s1.batch_allocs - s0.batch_allocs, batches_for(n));
	cr_assert_eq(s1.batch_fail - s0.batch_fail, 0);
	cr_assert_eq(s1.frames_freed - s0.frames_freed, n);
	cr_assert_eq(s1.flushes - s0.flushes, 1);
	cr_assert_eq(mmrt_test_used(), base);

	/*
	 * Counted entries: nr references on one frame (the PTE-mapped pieces
	 * of a huge frame each hold a reference on its head) in one slot pair.
	 */
	{
		int64_t head = mmrt_huge_alloc(0);

		if (head >= 0) {
			for (i = 1; i < MMRT_HUGE_NR; i++)
				cr_assert_eq(mmrt_frame_get((uint32_t)head), 0);
			cr_assert_eq(mmrt_frame_meta((uint32_t)head)->refcount,
				MMRT_HUGE_NR);
			mm_gather_init(&tlb, as, false);
			mm_gather_add(&tlb, (uint32_t)head, MMRT_HUGE_NR, 0);
			cr_assert_eq(tlb.local.hdr.nr, 2,
				"a counted entry takes a slot and a count");
			cr_assert_eq(tlb.batch_allocs, 0);
			cr_assert(!frame_is_free((uint32_t)head));
			mm_gather_finish(&tlb);
			cr_assert(frame_is_free((uint32_t)head),
				"%u references queued, frame not freed",
				MMRT_HUGE_NR);
			cr_assert_eq(mmrt_test_used(), base);
		} else {
			cr_log_warn("no huge frame: counted entries untested");
		}
	}
	/* a whole huge frame as one entry */
	{
		int64_t head = mmrt_huge_alloc(0);

		if (head >= 0) {
			mm_gather_init(&tlb, as, false);
			mm_gather_add(&tlb, (uint32_t)head, 1,
				MM_GE_HUGE);
			mm_gather_finish(&tlb);
			cr_assert(frame_is_free((uint32_t)head));
			cr_assert_eq(mmrt_test_used(), base);
		}
	}
	free(pfns);
	teardown(as, base);
}

Test(gather, batch_alloc_failure_flushes_instead)
{
	const unsigned int n = 5000;
	struct mm_gather_stats s0, s1;
	struct mm_gather tlb;
	struct flush_log log;
	struct mmrt_as *as;
	uint32_t *pfns;
	uint64_t base;
	unsigned int i;

	pfns = queue_start("gather-fail", n, &log, &as, &base, &s0);
	mm_test_hooks.gather_batch_fail = 1000000;
	mm_gather_init(&tlb, as, false);
	for (i = 0; i < n; i++)
		pfns[i] = queue_frame(&tlb, &log, i);
	cr_assert_gt(tlb.flushes, 1, "a gather without batches must flush "
		"(%" PRIu64 " flushes)", tlb.flushes);
	cr_assert_gt(tlb.batch_fail, 0);
	cr_assert_eq(tlb.batch_allocs, 0);
	mm_gather_finish(&tlb);
	mm_test_hooks.gather_batch_fail = 0;
	s1 = gstats();

	cr_log_info("%u frames, %" PRIu64 " flushes, %" PRIu64
		" failed batch allocations", n, s1.flushes - s0.flushes,
		s1.batch_fail - s0.batch_fail);
	cr_assert_eq(log.bad, 0, "frame %u freed before its flush",
		log.bad_pfn);
	cr_assert_eq(log.checked, n);
	cr_assert_gt(s1.batch_fail - s0.batch_fail, 0);
	cr_assert_geq(s1.flushes - s0.flushes,
		n / MMRT_GATHER_BUNDLE - 1);
	cr_assert_eq(s1.frames_freed - s0.frames_freed, n);
	for (i = 0; i < n; i++)
		cr_assert(frame_is_free(pfns[i]), "frame %u not freed",
			pfns[i]);
	cr_assert_eq(mmrt_test_used(), base, "frames leaked");

	/* page-table pages without a batch: freed after a synchronous wait */
	s0 = gstats();
	mm_test_hooks.gather_batch_fail = 1000000;
	mm_gather_init(&tlb, as, false);
	for (i = 0; i < 4; i++) {
		pfns[i] = alloc_frame();
		mmrt_frame_meta(pfns[i])->flags |= MMRT_FRAME_PT;
		mm_gather_remove_table(&tlb, pfns[i]);
	}
	mm_gather_finish(&tlb);
	mm_test_hooks.gather_batch_fail = 0;
	s1 = gstats();
	cr_assert_eq(s1.tables_freed - s0.tables_freed, 4);
	cr_assert_eq(s1.tables_sync - s0.tables_sync, 4);
	for (i = 0; i < 4; i++)
		cr_assert(frame_is_free(pfns[i]));
	cr_assert_eq(mmrt_test_used(), base);

	/* and the gather works normally afterwards */
	s0 = gstats();
	mm_gather_init(&tlb, as, false);
	for (i = 0; i < 1000; i++)
		mm_gather_add(&tlb, alloc_frame(), 1, 0);
	mm_gather_finish(&tlb);
	s1 = gstats();
	cr_assert_eq(s1.batch_fail - s0.batch_fail, 0);
	cr_assert_eq(s1.batch_allocs - s0.batch_allocs, batches_for(1000));
	cr_assert_eq(mmrt_test_used(), base);
	free(pfns);
	teardown(as, base);
}

/* Frees in chunks of at most @chunk frames. */
static void
check_chunks(struct mmrt_as *as, uint64_t base, unsigned int n)
{
	const struct mmrt_config *cfg = mmrt_config_get();
	struct mm_gather_stats s0, s1;
	struct mm_gather tlb;
	unsigned int i;
	uint64_t want;

	cr_assert_not_null(cfg);
	want = (n + cfg->gather_free_chunk - 1) / cfg->gather_free_chunk;
	s0 = gstats();
	mm_gather_init(&tlb, as, false);
	for (i = 0; i < n; i++)
		mm_gather_add(&tlb, alloc_frame(), 1, 0);
	mm_gather_finish(&tlb);
	s1 = gstats();
	cr_log_info("chunk %u: %u frames in %" PRIu64 " chunks",
		cfg->gather_free_chunk, n, tlb.chunks);
	cr_assert_eq(tlb.frames_freed, n);
	cr_assert_eq(s1.frames_freed - s0.frames_freed, n);
	cr_assert_geq(tlb.chunks, want, "%u frames freed in %" PRIu64
		" chunks of at most %u", n, tlb.chunks,
		cfg->gather_free_chunk);
	cr_assert_eq(s1.chunks - s0.chunks, tlb.chunks);
	cr_assert_eq(mmrt_test_used(), base);
}

Test(gather, chunked_frees_default)
{
	struct mmrt_as *as = setup("gather-chunks");
	uint64_t base = mmrt_test_used();

	check_chunks(as, base, 3000);
	teardown(as, base);
}

Test(gather, chunked_frees_small_chunk)
{
	struct mmrt_as *as;
	uint64_t base;

	mmrt_test_up_ini(64, 4, "[mm]\ngather_free_chunk = 16\n");
	cr_assert_eq(mmrt_config_get()->gather_free_chunk, 16);
	base0 = mmrt_test_used();
	as = mmrt_as_create("gather-chunk16");
	cr_assert_not_null(as);
	base = mmrt_test_used();
	check_chunks(as, base, 1000);
	teardown(as, base);
}

Test(gather, nested_gathers_flush_all)
{
	struct mm_gather a, b;
	struct mmrt_as_stats st0, st1;
	struct flush_log log;
	struct mmrt_as *as;
	uint32_t pa[16], pb[16];
	uint64_t base;
	unsigned int i;

	as = setup("gather-nested");
	base = mmrt_test_used();
	hook_install(&log, as);
	cr_assert_eq(mmrt_as_stats(as, &st0), 0);

	mm_gather_init(&a, as, false);
	mm_gather_init(&b, as, false);
	for (i = 0; i < 16; i++) {
		pa[i] = alloc_frame();
		pb[i] = alloc_frame();
		mm_gather_add(&a, pa[i], 1, 0);
		mm_gather_add(&b, pb[i], 1, 0);
	}
	mm_gather_track(&a, VA, VA + 16 * PG, 1);
	mm_gather_track(&b, VA + 64 * PG, VA + 80 * PG, 1);
	for (i = 0; i < 16; i++)
		log.pending[log.npending++] = pb[i];

	/* B finishes while A is pending: a full flush */
	mm_gather_finish(&b);
	cr_assert_eq(log.flushes, 1);
	cr_assert(log.last_full, "nested finish did not flush everything");
	cr_assert(log.start == 0 && log.end >= MMRT_VA_LIMIT,
		"nested flush range [%#" PRIx64 ", %#" PRIx64 ")", log.start,
		log.end);
	cr_assert_eq(b.nested_flushes, 1);
	cr_assert_eq(log.bad, 0);
	for (i = 0; i < 16; i++) {
		cr_assert(frame_is_free(pb[i]));
		cr_assert(!frame_is_free(pa[i]), "B freed A's frame");
	}
	cr_assert_eq(mmrt_as_stats(as, &st1), 0);
	cr_assert_eq(st1.nested_flushes, st0.nested_flushes + 1);

	/* A finishes alone: its own range only */
	for (i = 0; i < 16; i++)
		log.pending[log.npending++] = pa[i];
	mm_gather_finish(&a);
	cr_assert_eq(log.flushes, 2);
	cr_assert(!log.last_full, "A was not nested");
	cr_assert(log.start <= VA && log.end >= VA + 16 * PG);
	cr_assert_eq(a.nested_flushes, 0);
	cr_assert_eq(log.bad, 0);
	cr_assert_eq(log.checked, 32);
	for (i = 0; i < 16; i++)
		cr_assert(frame_is_free(pa[i]));
	cr_assert_eq(mmrt_as_stats(as, &st1), 0);
	cr_assert_eq(st1.nested_flushes, st0.nested_flushes + 1);
	teardown(as, base);
}

/* Unmap through the public API: unhook -> flush -> free, and the stats. */
static void
unmap_order(bool huge)
{
	const uint64_t len = 4 * MMRT_HUGE_SIZE;
	const unsigned int npages = len / PG;
	struct mm_gather_stats s0, s1;
	struct flush_log log;
	struct mmrt_as *as;
	uint64_t base, used, off;

	as = setup("gather-unmap");
	base = mmrt_test_used();
	cr_assert_eq(mmrt_map(as, VA, len, RW,
		MMRT_MAP_POPULATE | (huge ? MMRT_MAP_HUGE : 0)), 0);
	hook_install(&log, as);
	for (off = 0; off < len; off += PG) {
		struct mmrt_xlate x;
		uint32_t pfn;

		cr_assert_eq(mmrt_translate(as, VA + off, MMRT_ACCESS_WRITE,
			&x), 0);
		pfn = x.pfn;
		if (mmrt_frame_meta(pfn)->flags & MMRT_FRAME_TAIL)
			pfn &= ~(MMRT_HUGE_NR - 1);
		if (log.npending == 0 || log.pending[log.npending - 1] != pfn)
			log.pending[log.npending++] = pfn;
	}
	used = mmrt_test_used();
	s0 = gstats();
	cr_assert_eq(mmrt_unmap(as, VA, len), 0);
	s1 = gstats();
	cr_assert_geq(log.flushes, 1);
	cr_assert_eq(log.bad, 0, "frame %u was freed before the device flush",
		log.bad_pfn);
	cr_assert_eq(log.npending, 0, "unmap freed frames without a flush");
	cr_assert(log.last_full || (log.start <= VA && log.end >= VA + len),
		"flush range [%#" PRIx64 ", %#" PRIx64 ") misses the unmap",
		log.start, log.end);
	cr_assert_eq(s1.gathers - s0.gathers, 1);
	cr_assert_geq(s1.tables_freed - s0.tables_freed, 1,
		"no page-table page freed by a 1 GiB-aligned unmap");
	if (huge)
		cr_assert_geq(s1.frames_freed - s0.frames_freed, 4);
	else {
		cr_assert_eq(s1.frames_freed - s0.frames_freed, npages);
		cr_assert_geq(s1.batch_allocs - s0.batch_allocs,
			batches_for(npages));
	}
	cr_assert_lt(mmrt_test_used(), used);
	cr_assert_eq(mmrt_test_used(), base);
	teardown(as, base);
}

Test(gather, unmap_order_small)
{
	unmap_order(false);
}

Test(gather, unmap_order_huge)
{
	unmap_order(true);
}

/*
 * Page-table pages wait for a grace period: a registered reader that is
 * online and does not report keeps them out of the pool.
 */
struct lazy_reader {
	volatile int phase; /* 0 start, 1 registered, 2 report, 3 stop */
	int id;
};

static void *
lazy_reader(void *arg)
{
	struct lazy_reader *r = arg;

	r->id = mmrt_thread_register();
	__atomic_store_n(&r->phase, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&r->phase, __ATOMIC_ACQUIRE) < 2)
		rte_pause();        /* online, never quiescent */
	while (__atomic_load_n(&r->phase, __ATOMIC_ACQUIRE) < 3) {
		mmrt_quiescent();
		rte_pause();
	}
	mmrt_thread_unregister();
	return NULL;
}

static uint64_t
used_nowait(void)
{
	mmrt_mm_reclaim(false);
	mmrt_mem_cache_flush();
	return mmrt_mem_used();
}

Test(gather, tables_wait_for_grace_period)
{
	struct lazy_reader r = { 0, -1 };
	struct mm_gather_stats s0, s1;
	struct mm_gather tlb;
	struct mmrt_as *as;
	uint32_t pfns[12];
	uint64_t base, used;
	pthread_t th;
	unsigned int i, pending;

	as = setup("gather-tables");
	base = mmrt_test_used();
	cr_assert_eq(pthread_create(&th, NULL, lazy_reader, &r), 0);
	while (__atomic_load_n(&r.phase, __ATOMIC_ACQUIRE) < 1)
		rte_pause();
	cr_assert_geq(r.id, 0, "mmrt_thread_register: %d", r.id);

	s0 = gstats();
	mm_gather_init(&tlb, as, false);
	for (i = 0; i < RTE_DIM(pfns); i++) {
		pfns[i] = alloc_frame();
		mmrt_frame_meta(pfns[i])->flags |= MMRT_FRAME_PT;
		mm_gather_remove_table(&tlb, pfns[i]);
	}
	mm_gather_finish(&tlb);
	s1 = gstats();
	cr_assert_eq(s1.tables_freed - s0.tables_freed, RTE_DIM(pfns));
	cr_assert_eq(s1.tables_sync - s0.tables_sync, 0);

	/* the reader has not reported: nothing may be reused */
	used = used_nowait();
	cr_assert_eq(used, base + RTE_DIM(pfns), "page-table pages were "
		"freed before the grace period (%" PRIu64 " used, %" PRIu64
		" expected)", used, base + RTE_DIM(pfns));
	pending = mmrt_mm_reclaim(false);
	cr_assert_geq(pending, RTE_DIM(pfns));
	for (i = 0; i < RTE_DIM(pfns); i++)
		cr_assert(!frame_is_free(pfns[i]), "table %u freed early",
			pfns[i]);

	/* the same through an unmap that empties page tables */
	cr_assert_eq(mmrt_map(as, VA, PG, RW, MMRT_MAP_POPULATE), 0);
	used = used_nowait();
	cr_assert_eq(mmrt_unmap(as, VA, PG), 0);
	cr_assert_eq(used_nowait(), used - 1, "only the data frame may go "
		"back before the grace period");

	/* the reader reports: after a grace period everything is back */
	__atomic_store_n(&r.phase, 2, __ATOMIC_RELEASE);
	pending = mmrt_mm_reclaim(true);
	cr_assert_eq(pending, 0);
	for (i = 0; i < RTE_DIM(pfns); i++)
		cr_assert(frame_is_free(pfns[i]), "table %u not freed",
			pfns[i]);
	cr_assert_eq(used_nowait(), base);

	__atomic_store_n(&r.phase, 3, __ATOMIC_RELEASE);
	cr_assert_eq(pthread_join(th, NULL), 0);
	teardown(as, base);
}

struct releaser {
	struct lazy_reader *r;
	volatile int released;
};

/* Let the reader report after a while, and say that it did. */
static void *
release_later(void *arg)
{
	struct releaser *rl = arg;

	rte_delay_us_sleep(50 * 1000);
	__atomic_store_n(&rl->released, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&rl->r->phase, 2, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The defer queue full: the gather waits for a grace period and frees the
 * tables itself. The finish cannot return before the silent reader has
 * reported (released is set just before it does), and every table is free
 * when it returns.
 */
Test(gather, tables_full_queue_waits_then_frees)
{
	struct lazy_reader r = { 0, -1 };
	struct releaser rl = { &r, 0 };
	struct mm_gather_stats s0, s1;
	struct mm_gather tlb;
	struct mmrt_as *as;
	uint32_t pfns[8];
	pthread_t th, rth;
	uint64_t base;
	unsigned int i;

	as = setup("gather-dqfull");
	base = mmrt_test_used();
	cr_assert_eq(pthread_create(&th, NULL, lazy_reader, &r), 0);
	while (__atomic_load_n(&r.phase, __ATOMIC_ACQUIRE) < 1)
		rte_pause();
	cr_assert_geq(r.id, 0);

	s0 = gstats();
	mm_test_hooks.dq_full = true;
	mm_gather_init(&tlb, as, false);
	for (i = 0; i < RTE_DIM(pfns); i++) {
		pfns[i] = alloc_frame();
		mmrt_frame_meta(pfns[i])->flags |= MMRT_FRAME_PT;
		mm_gather_remove_table(&tlb, pfns[i]);
	}
	cr_assert_eq(pthread_create(&rth, NULL, release_later, &rl), 0);
	mm_gather_finish(&tlb);
	cr_assert_eq(__atomic_load_n(&rl.released, __ATOMIC_ACQUIRE), 1,
		"tables freed before the silent reader reported");
	mm_test_hooks.dq_full = false;
	s1 = gstats();
	cr_assert_eq(s1.tables_sync - s0.tables_sync, RTE_DIM(pfns));
	for (i = 0; i < RTE_DIM(pfns); i++)
		cr_assert(frame_is_free(pfns[i]), "table %u not freed",
			pfns[i]);
	cr_assert_eq(used_nowait(), base);

	cr_assert_eq(pthread_join(rth, NULL), 0);
	__atomic_store_n(&r.phase, 3, __ATOMIC_RELEASE);
	cr_assert_eq(pthread_join(th, NULL), 0);
	teardown(as, base);
}
