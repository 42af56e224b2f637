/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * perf-dma: copies through translation by mmrt's DMA engine as the
 * dma_mmrt dmadev (dma_mmrt0, as= an address space, driven with
 * rte_dma_*) over a 64 MiB working set, against memcpy() on one core and
 * against DPDK's dma_skeleton driven with the same rte_dma_* client loop.
 *
 * The device's space holds two populated 64 MiB regions (src and dst);
 * its engine runs on lcore 1; the main lcore enqueues copies of 64 B or
 * 4 KiB walking both regions in order, submits every DMA_BATCH operations
 * and reaps completions, keeping up to DMA_WINDOW operations outstanding.
 * Its device TLB (default geometry, 256 entries) is much smaller than the
 * 32768 pages walked, so it misses every new page.
 *
 * Anchors, same sizes, same order, same loop (dma_loop()), in the same
 * run: memcpy() between two prefaulted 64 MiB host buffers on lcore 1
 * (where the engine copies), dma_skeleton (vdev dma_skeleton0, its copy
 * thread on lcore 1's cpu) copying between the same host buffers (IOVA as
 * VA), and, at 64 B only, the same engine called directly (DMA_ENGINE,
 * perf_dma_engine.c), for the cost of the rte_dma_* dispatch. The sides
 * run in separate passes, never at once: each device is started for its
 * own passes only. Every pass starts with all buffers flushed out of the
 * caches and warms up with one sweep, so no side inherits another's cache
 * state. The mirror-mode device (IOVAs of DPDK memory) and copy_sg rows
 * run on dma_mmrt too.
 *
 * Then the 4 KiB dma_mmrt workload with invalidation churn: a thread on
 * the main lcore's cpu write-protects one unrelated page of the space and
 * makes it writable again, in a loop with a sleep, so that invalidations
 * reach the engine's consumer while it copies. Reported: the time per
 * copy against the same workload without churn, and the protect round
 * trip (p99) against the same churn with the engine idle.
 *
 * The sides are driven through the adapter in perf_dma.h (fast path,
 * inline) and perf_dma_engine.c (set-up, start/stop, counters, and every
 * direct call of the engine).
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cpuid.h>
#include <immintrin.h>

#include <rte_branch_prediction.h>
#include <rte_atomic.h>
#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>

#include "perf_common.h"
#include "perf_dma.h"
#include "pmd_walk.h"

#define DMA_PROG "perf-dma"
#define DMA_POOL_MB 512u
#define DMA_EAL_MEM "1280"  /* the pool, the mirror side's buffers */

#define DMA_SRC_VA UINT64_C(0x100000000000)
#define DMA_DST_VA UINT64_C(0x110000000000)
#define DMA_CHURN_VA UINT64_C(0x200000000000) /* the churned page */

#define DMA_TARGET_4K 1.25    /* engine vs memcpy, time per byte */
#define DMA_TARGET_64B 0.5    /* engine vs skeleton, time per op */
#define DMA_TARGET_MMRT_4K 1.1   /* dma_mmrt (rte_dma_*) vs memcpy */
#define DMA_TARGET_MMRT_64B 0.25 /* dma_mmrt vs skeleton: 4x its op rate */
#define DMA_TARGET_MIRROR 1.1    /* mirror mode vs as= mode, 4 KiB */
#define DMA_TARGET_SG 1.1        /* copy_sg 16 x 4 KiB vs 16 copies */

/* The copy_sg rows: units of DMA_SG_SEGS segments of 4 KiB. */
#define DMA_SG_SEGS 16u
#define DMA_SG_UNIT (DMA_SG_SEGS * 4096u)
#define DMA_SG_WINDOW 32u       /* units outstanding (2 MiB, as 4k's) */
#define DMA_SG_BATCH 2u         /* units per submit (32 copies, as 4k's) */

#define DMA_BD_REPS 5u          /* repeats of each breakdown loop */

#define DMA_CHURN_SLEEP_US 100u /* churn thread sleep per iteration */
#define DMA_IDLE_MS_MIN 20u     /* idle-engine churn pass: as long as */
#define DMA_IDLE_MS_MAX 200u    /* the last churn pass, within these */

/* One copy size: its walk and its counts. */
struct dma_size {
	const char *tag;        /* "64b" or "4k" */
	uint32_t len;           /* bytes per operation */
	uint64_t warm_ops;      /* untimed, before each pass */
	uint64_t timed_ops;     /* timed, per pass; covers the working set */
	uint64_t chunk;         /* operations per sample */
};

/* Per-kind results of one size. */
struct dma_side {
	struct perf_samples s;  /* ns/op per chunk */
	double round[64];       /* ns/op of each pass */
	unsigned int nround;
};

/* The churn thread. */
struct dma_churn {
	pthread_t th;
	struct mmrt_as *as;
	uint32_t stop;          /* main -> churn */
	uint32_t record;        /* main -> churn: keep samples */
	struct perf_samples *s; /* ns per protect(READ), while recording */
	uint64_t iters;         /* iterations while recording */
	double cpu_ns;          /* thread CPU time over the whole run */
	double wall_ns;
	bool no_fifo;           /* SCHED_FIFO was refused */
	int error;
};

/* Host pointer of @p va in the space (not timed; dies on failure). */
static uint8_t *
dma_as_ptr(struct mmrt_as *as, uint64_t va, uint32_t access)
{
	struct mmrt_xlate x;
	int ret;

	ret = mmrt_translate(as, va, access, &x);
	if (ret < 0)
		perf_die("mmrt_translate(0x%" PRIx64 "): %s", va,
			strerror(-ret));
	return x.addr;
}

/*
 * Stamp a new pass number and the offset into the first 8 bytes of every
 * 64 B of a source (the host buffer or, with @p as, the space's src
 * region), so that a copy that did not happen shows in the check.
 */
static void
dma_page(struct dma_ctx *dc, enum dma_buf b, uint64_t page, uint8_t **s,
	uint8_t **d)
{
	switch (b) {
	case DMA_BUF_SPACE:
		*s = dma_as_ptr(dc->as, DMA_SRC_VA + page, MMRT_ACCESS_WRITE);
		*d = dma_as_ptr(dc->as, DMA_DST_VA + page, MMRT_ACCESS_WRITE);
		break;
	case DMA_BUF_DPDK:
		*s = dc->msrc + page;
		*d = dc->mdst + page;
		break;
	case DMA_BUF_HOST:
	default:
		*s = dc->hsrc + page;
		*d = dc->hdst + page;
		break;
	}
}

static void
dma_stamp(struct dma_ctx *dc, enum dma_buf b)
{
	uint64_t page, off, v;
	uint8_t *p, *q;

	dc->stamp++;
	for (page = 0; page < DMA_WS; page += MMRT_PAGE_SIZE) {
		dma_page(dc, b, page, &p, &q);
		for (off = 0; off < MMRT_PAGE_SIZE; off += 64) {
			v = ((uint64_t)dc->stamp << 32) | ((page + off) >> 6);
			memcpy(p + off, &v, sizeof(v));
		}
	}
}

/* CLFLUSHOPT: CPUID.(EAX=7,ECX=0):EBX[23]; CLFLUSH is far slower. */
static bool
dma_has_clflushopt(void)
{
	static int has = -1;
	unsigned int a, b, c, d;

	if (has < 0)
		has = __get_cpuid_count(7, 0, &a, &b, &c, &d) &&
			(b & (1u << 23)) != 0;
	return has == 1;
}

__attribute__((target("clflushopt")))
static void
dma_clflushopt_range(const uint8_t *p, uint64_t len)
{
	uint64_t off;

	for (off = 0; off < len; off += RTE_CACHE_LINE_SIZE)
		_mm_clflushopt((void *)(uintptr_t)(p + off));
}

/* Write back and drop every line of @p len bytes at @p p from the caches. */
static void
dma_flush_range(const uint8_t *p, uint64_t len)
{
	uint64_t off;

	if (dma_has_clflushopt()) {
		dma_clflushopt_range(p, len);
		return;
	}
	for (off = 0; off < len; off += RTE_CACHE_LINE_SIZE)
		_mm_clflush(p + off);
}

/*
 * Flush all four buffers (host and space, src and dst) out of the caches,
 * not timed: every pass starts from the same state, whatever ran before
 * it (with a large last-level cache, the previous pass's data, and dirty
 * lines in the other core's caches, would otherwise survive the warm-up
 * and favour or penalise the next side depending on the order).
 */
static void
dma_flush(struct dma_ctx *dc)
{
	uint64_t page;

	dma_flush_range(dc->hsrc, DMA_WS);
	dma_flush_range(dc->hdst, DMA_WS);
	for (page = 0; page < DMA_WS; page += MMRT_PAGE_SIZE) {
		dma_flush_range(dma_as_ptr(dc->as, DMA_SRC_VA + page,
			MMRT_ACCESS_READ), MMRT_PAGE_SIZE);
		dma_flush_range(dma_as_ptr(dc->as, DMA_DST_VA + page,
			MMRT_ACCESS_READ), MMRT_PAGE_SIZE);
	}
	if (dc->msrc != NULL && dc->mdst != NULL) {
		dma_flush_range(dc->msrc, DMA_WS);
		dma_flush_range(dc->mdst, DMA_WS);
	}
	rte_mb();
}

/* Every byte of dst equals src (the timed ops cover the working set). */
static void
dma_check(struct dma_ctx *dc, enum dma_buf b, const char *what)
{
	uint64_t page;
	uint8_t *s, *d;

	for (page = 0; page < DMA_WS; page += MMRT_PAGE_SIZE) {
		dma_page(dc, b, page, &s, &d);
		if (memcmp(s, d, MMRT_PAGE_SIZE) != 0)
			perf_die("%s: destination page at offset 0x%" PRIx64
				" differs from the source", what, page);
	}
}

/* Where side @p k copies from and to: the space, the mirror, the host. */
static void
dma_bases(const struct dma_ctx *dc, enum dma_kind k, uint64_t *sbase,
	uint64_t *dbase)
{
	if (dma_kind_space(k)) {
		*sbase = DMA_SRC_VA;
		*dbase = DMA_DST_VA;
	} else if (k == DMA_MIRROR) {
		*sbase = dc->msrc_iova;
		*dbase = dc->mdst_iova;
	} else {
		*sbase = (uintptr_t)dc->hsrc;
		*dbase = (uintptr_t)dc->hdst;
	}
}

/*
 * Run @p n operations of @p sz starting at operation @p first of the walk
 * (operation i copies len bytes at offset i * len mod DMA_WS) on side
 * @p k. Samples (unless @p s is NULL) are ns/op per sz->chunk operations
 * completed. @return ns/op over the whole run.
 */
static double
dma_run(const struct dma_ctx *dc, enum dma_kind k, const struct dma_size *sz,
	uint64_t first, uint64_t n, struct perf_samples *s)
{
	uint64_t sbase, dbase, mark, off, i;
	uint64_t t_start, t_prev, t;
	uint32_t len = sz->len;

	dma_bases(dc, k, &sbase, &dbase);
	if (k == DMA_ENGINE)
		return dma_engine_run(dc, sbase, dbase, len, sz->chunk, first,
			n, s);
	if (k != DMA_MEMCPY)
		return dma_loop(dc, k, sbase, dbase, len, sz->chunk, first, n,
			s, dma_enq, dma_doorbell, dma_reap, dma_empty);
	mark = sz->chunk;
	t_start = t_prev = perf_now();
	for (i = 0; i < n; i++) {
		off = ((first + i) * len) & (DMA_WS - 1);
		memcpy((void *)(uintptr_t)(dbase + off),
			(const void *)(uintptr_t)(sbase + off), len);
		if (s != NULL && i + 1 == mark) {
			t = perf_now();
			perf_samples_add(s, perf_ns(t - t_prev) /
				(double)sz->chunk);
			t_prev = t;
			mark += sz->chunk;
		}
	}
	return perf_ns(perf_now() - t_start) / (double)n;
}

/*
 * Info only: where the submitter's time goes on a DMA side (rte_rdtsc()
 * around each call group, so slightly slower than the timed passes):
 * enqueueing, ringing the doorbell and reaps that returned completions;
 * the rest is waiting for the engine (empty reaps, pauses, the loop and
 * the instrumentation itself). TSC cycles per operation.
 */
static void
dma_profile(const struct dma_ctx *dc, enum dma_kind k,
	const struct dma_size *sz, uint64_t first, uint64_t n)
{
	uint64_t sbase, dbase, enq = 0, done = 0;
	uint64_t c_enq = 0, c_db = 0, c_reap = 0, total;
	uint64_t n_reap = 0, n_empty = 0, t0, t1, t2, t_start;
	uint32_t len = sz->len;
	uint16_t c;

	dma_bases(dc, k, &sbase, &dbase);
	t_start = rte_rdtsc_precise();
	while (done < n) {
		while (enq < n && enq - done + DMA_BATCH <= DMA_WINDOW) {
			t0 = rte_rdtsc();
			enq = dma_enq_batch(dc, k, sbase, dbase, len, first,
				enq, dma_enq);
			t1 = rte_rdtsc();
			dma_doorbell(dc, k);
			t2 = rte_rdtsc();
			c_enq += t1 - t0;
			c_db += t2 - t1;
		}
		t0 = rte_rdtsc();
		c = dma_reap(dc, k);
		t1 = rte_rdtsc();
		if (c == 0) {
			dma_empty(dc, k, &n_empty);
		} else {
			c_reap += t1 - t0;
			n_reap++;
			done += c;
		}
	}
	total = rte_rdtsc_precise() - t_start;
	printf("    profile %s %s (TSC cycles/op): %.1f = enqueue %.1f + "
		"doorbell %.1f + reap %.1f (%.1f ops per reap) + waiting %.1f"
		" (%" PRIu64 " empty reaps)\n", sz->tag, dma_kind_name[k],
		(double)total / n, (double)c_enq / n, (double)c_db / n,
		(double)c_reap / n, n_reap > 0 ? (double)n / n_reap : 0.0,
		(double)(total - c_enq - c_db - c_reap) / n, n_empty);
}

/* What the breakdown's worker runs. */
enum dma_bd_mode {
	DMA_BD_REPLAY,  /* translate dst and src, memcpy, poll per batch */
	DMA_BD_XLATE,   /* the translations and polls only */
	DMA_BD_FLAT,    /* memcpy only, host addresses from a flat table */
	DMA_BD_HOST,    /* memcpy between the anchors' host buffers */
	DMA_BD_MODES,
};

static const char *const dma_bd_name[DMA_BD_MODES] = {
	"replay", "translate-only", "memcpy-flat", "memcpy-host",
};

/* The breakdown's worker on the engine's lcore (engine stopped). */
struct dma_bd {
	struct mmrt_consumer *cons;
	const struct dma_size *sz;
	enum dma_bd_mode mode;
	uint8_t **src_page;     /* host address of each page (FLAT) */
	uint8_t **dst_page;
	uint8_t *hsrc;          /* the host buffers (HOST) */
	uint8_t *hdst;
	struct mmrt_as *la_as;  /* the engine's look-ahead: its space, or
				 * NULL: off (REPLAY, XLATE) */
	uint64_t first, n;
	uint64_t cycles;
	uint64_t sink;
	int error;
};

static int
dma_bd_main(void *arg)
{
	struct dma_bd *bd = arg;
	uint32_t len = bd->sz->len;
	uint64_t i, off, t0, sink = 0;
	struct pmd_xcache xc;
	struct pmd_piece p;
	struct pmd_walk w;
	uint8_t *d, *sp;
	int ret = 0;

	memset(&xc, 0, sizeof(xc));
	xc.as = bd->la_as;
	if (bd->mode == DMA_BD_REPLAY || bd->mode == DMA_BD_XLATE) {
		ret = mmrt_thread_register();
		if (ret < 0) {
			bd->error = ret;
			return ret;
		}
	}
	t0 = rte_rdtsc_precise();
	for (i = 0; i < bd->n; i++) {
		off = ((bd->first + i) * len) & (DMA_WS - 1);
		if (bd->mode == DMA_BD_HOST) {
			memcpy(bd->hdst + off, bd->hsrc + off, len);
			continue;
		}
		if (bd->mode == DMA_BD_FLAT) {
			memcpy(bd->dst_page[off >> MMRT_PAGE_SHIFT] +
				(off & (MMRT_PAGE_SIZE - 1)),
				bd->src_page[off >> MMRT_PAGE_SHIFT] +
				(off & (MMRT_PAGE_SIZE - 1)), len);
			continue;
		}
		/*
		 * as the engine (swdma's run_cached(), then its walk): both
		 * ends in the kept leaves, else the walk through them, the
		 * look-ahead and the device TLB (one piece: an operation
		 * lies in one page of each side)
		 */
		if (DMA_DST_VA + off - xc.e[0].va < xc.e[0].end - xc.e[0].va &&
				xc.e[0].end - (DMA_DST_VA + off) >= len &&
				DMA_SRC_VA + off - xc.e[1].va <
				xc.e[1].end - xc.e[1].va &&
				xc.e[1].end - (DMA_SRC_VA + off) >= len &&
				pmd_xcache_usable(bd->cons, &xc)) {
			pmd_xcache_hit(bd->cons);
			pmd_xcache_hit(bd->cons);
			d = xc.e[0].addr + (DMA_DST_VA + off - xc.e[0].va);
			sp = xc.e[1].addr + (DMA_SRC_VA + off - xc.e[1].va);
		} else {
			pmd_walk_init(&w, bd->cons, &xc, DMA_SRC_VA + off,
				DMA_DST_VA + off, len, true);
			ret = pmd_walk_next(&w, 0, UINT_MAX, &p);
			if (unlikely(ret != 0 || p.n != len)) {
				bd->error = ret != 0 ? ret : -ERANGE;
				break;
			}
			d = p.dst;
			sp = p.src;
		}
		if (bd->mode == DMA_BD_REPLAY)
			memcpy(d, sp, len);
		else
			sink += (uintptr_t)d ^ (uintptr_t)sp;
		if ((i + 1) % DMA_BATCH == 0 &&
				mmrt_consumer_poll(bd->cons) != 0)
			pmd_xcache_drop(&xc);
	}
	bd->cycles = rte_rdtsc_precise() - t0;
	bd->sink = sink;
	if (bd->mode == DMA_BD_REPLAY || bd->mode == DMA_BD_XLATE)
		mmrt_thread_unregister();
	return bd->error;
}

/*
 * Run the worker on the engine's lcore (or, with @p on_main, the memcpy
 * modes on the main lcore): a warm-up, then @p n timed ops.
 */
static double
dma_bd_run(struct dma_bd *bd, enum dma_bd_mode mode, uint64_t n,
	bool on_main)
{
	int ret, pass;

	bd->mode = mode;
	for (pass = 0; pass < 2; pass++) {
		bd->first = pass == 0 ? 0 : bd->sz->warm_ops;
		bd->n = pass == 0 ? bd->sz->warm_ops : n;
		if (on_main) {
			ret = dma_bd_main(bd);
			if (ret < 0)
				perf_die("breakdown (%s): %s",
					dma_bd_name[mode], strerror(-ret));
			continue;
		}
		ret = app_worker_launch(dma_bd_main, bd,
			DMA_ENGINE_LCORE);
		if (ret == 0)
			ret = app_worker_wait(DMA_ENGINE_LCORE);
		if (ret < 0)
			perf_die("breakdown worker (%s): %s",
				dma_bd_name[mode], strerror(-ret));
	}
	return (double)bd->cycles / (double)n;
}

/*
 * Info: where the engine's time per operation goes (TSC cycles/op), from
 * whole-loop timings of its work replayed on its lcore without the ring:
 * memcpy alone (host addresses from a flat per-page table, as the memcpy
 * anchor's buffers but in pool frames), the two translations and the polls
 * alone (through a consumer of the same geometry bound to the same space),
 * and both (the replay). The engine's figure minus the replay is what the
 * ring and the cross-core hand-off cost.
 */
static void
dma_breakdown(struct dma_ctx *dc, const struct dma_size *sz, double engine_ns,
	double memcpy_ns)
{
	const struct mmrt_consumer_conf cconf = { .name = "perf-dma-bd",
		.ack_deadline_us = DMA_ACK_DEADLINE_US };
	double c[DMA_BD_MODES], ns2c = (double)rte_get_tsc_hz() / 1e9;
	double v[DMA_BD_MODES][DMA_BD_REPS], v0[2][DMA_BD_REPS], c0[2];
	double sv[3][DMA_BD_REPS], sc[3], w[3];
	unsigned int reps = dc->quick ? 3 : DMA_BD_REPS, r, m;
	struct dma_bd bd;
	uint64_t p, n;
	int ret;

	memset(&bd, 0, sizeof(bd));
	bd.sz = sz;
	bd.la_as = dc->lookahead ? dc->as : NULL; /* the engine's setting */
	bd.hsrc = dc->hsrc;
	bd.hdst = dc->hdst;
	bd.src_page = malloc((DMA_WS / MMRT_PAGE_SIZE) * sizeof(uint8_t *));
	bd.dst_page = malloc((DMA_WS / MMRT_PAGE_SIZE) * sizeof(uint8_t *));
	if (bd.src_page == NULL || bd.dst_page == NULL)
		perf_die("out of memory for the breakdown");
	for (p = 0; p < DMA_WS / MMRT_PAGE_SIZE; p++) {
		bd.src_page[p] = dma_as_ptr(dc->as, DMA_SRC_VA +
			p * MMRT_PAGE_SIZE, MMRT_ACCESS_READ);
		bd.dst_page[p] = dma_as_ptr(dc->as, DMA_DST_VA +
			p * MMRT_PAGE_SIZE, MMRT_ACCESS_WRITE);
	}
	bd.cons = perf_consumer(dc->as, &cconf);

	/* interleaved repeats: memory bandwidth moves between runs */
	n = sz->timed_ops / 2;
	for (r = 0; r < reps; r++) {
		for (m = 0; m < DMA_BD_MODES; m++) {
			/* as before every timed pass (cache state) */
			dma_stamp(dc, m != DMA_BD_HOST);
			dma_flush(dc);
			v[m][r] = dma_bd_run(&bd, (enum dma_bd_mode)m, n,
				false);
		}
		/* the two memcpy modes on the main lcore too */
		for (m = 0; m < 2; m++) {
			dma_stamp(dc, m == 0);
			dma_flush(dc);
			v0[m][r] = dma_bd_run(&bd, m == 0 ? DMA_BD_FLAT :
				DMA_BD_HOST, n, true);
		}
		/* the engine's own work on one core, by phase */
		dma_stamp(dc, DMA_BUF_SPACE);
		dma_flush(dc);
		dma_engine_split(dc, DMA_SRC_VA, DMA_DST_VA, sz->len, 0,
			sz->warm_ops, w);
		dma_engine_split(dc, DMA_SRC_VA, DMA_DST_VA, sz->len,
			sz->warm_ops, n, w);
		for (m = 0; m < 3; m++)
			sv[m][r] = w[m];
	}
	for (m = 0; m < 3; m++)
		sc[m] = app_median(sv[m], reps);
	for (m = 0; m < DMA_BD_MODES; m++)
		c[m] = app_median(v[m], reps);
	for (m = 0; m < 2; m++)
		c0[m] = app_median(v0[m], reps);

	ret = mmrt_consumer_destroy(bd.cons);
	if (ret < 0)
		perf_die("mmrt_consumer_destroy: %s", strerror(-ret));
	free(bd.src_page);
	free(bd.dst_page);
	printf("  breakdown %s (info, TSC cycles/op, on lcore %u without the"
		" ring, median of %u): memcpy-flat %.0f, translate-only %.0f, "
		"replay %.0f; "
		"engine %.0f = memcpy %.0f + translation %.0f + ring/hand-off "
		"%.0f; memcpy anchor (lcore %u) %.0f\n", sz->tag,
		DMA_ENGINE_LCORE, reps, c[DMA_BD_FLAT], c[DMA_BD_XLATE],
		c[DMA_BD_REPLAY], engine_ns * ns2c, c[DMA_BD_FLAT],
		c[DMA_BD_REPLAY] - c[DMA_BD_FLAT],
		engine_ns * ns2c - c[DMA_BD_REPLAY], DMA_ENGINE_LCORE,
		memcpy_ns * ns2c);
	printf("  breakdown %s: memcpy alone (info, TSC cycles/op): pool "
		"frames on lcore %u %.0f, on lcore %u %.0f; host buffers on "
		"lcore %u %.0f, on lcore %u %.0f\n", sz->tag, DMA_ENGINE_LCORE,
		c[DMA_BD_FLAT], rte_get_main_lcore(), c0[0], DMA_ENGINE_LCORE,
		c[DMA_BD_HOST], rte_get_main_lcore(), c0[1]);
	printf("  breakdown %s: one core (info, TSC cycles/op, the engine "
		"called directly and stepped by the submitting thread on "
		"lcore %u, median of batches of %u): enqueue+submit %.1f, "
		"engine steps %.1f, reap %.1f\n", sz->tag, DMA_ENGINE_LCORE,
		DMA_BATCH, sc[0], sc[1], sc[2]);
}

/* dma_run() of the memcpy side on the engine's lcore. */
struct dma_remote {
	const struct dma_ctx *dc;
	const struct dma_size *sz;
	uint64_t first, n;
	struct perf_samples *s;
	double v;
};

static int
dma_remote_main(void *arg)
{
	struct dma_remote *rm = arg;

	rm->v = dma_run(rm->dc, DMA_MEMCPY, rm->sz, rm->first, rm->n, rm->s);
	return 0;
}

/*
 * The memcpy anchor runs on the engine's lcore, where the engine and the
 * skeleton's thread copy too: on a VM the two vCPUs can copy at rates
 * 15% apart, which is not the engine's doing (the breakdown prints
 * memcpy on both lcores).
 */
static double
dma_run_copier(const struct dma_ctx *dc, enum dma_kind k,
	const struct dma_size *sz, uint64_t first, uint64_t n,
	struct perf_samples *s)
{
	struct dma_remote rm = { dc, sz, first, n, s, 0.0 };
	int ret;

	if (k != DMA_MEMCPY)
		return dma_run(dc, k, sz, first, n, s);
	ret = app_worker_launch(dma_remote_main, &rm, DMA_ENGINE_LCORE);
	if (ret == 0)
		ret = app_worker_wait(DMA_ENGINE_LCORE);
	if (ret < 0)
		perf_die("memcpy on lcore %u: %s", DMA_ENGINE_LCORE,
			strerror(-ret));
	return rm.v;
}

/*
 * One pass of side @p k: stamp the source, start the side, warm up, time
 * the pass (then, with @p profile, a profiled run, info only), stop,
 * check. @return ns/op.
 */
static double
dma_pass(struct dma_ctx *dc, enum dma_kind k, const struct dma_size *sz,
	struct perf_samples *s, bool profile)
{
	struct mmrt_dma_mmrt_stats st0, st1;
	bool eng = k == DMA_ENGINE || k == DMA_MMRT || k == DMA_MIRROR;
	double v;

	dma_stamp(dc, dma_kind_buf(k));
	dma_flush(dc);
	dma_side_start(dc, k);
	dma_run_copier(dc, k, sz, 0, sz->warm_ops, NULL);
	if (eng)
		dma_engine_stats(dc, k, &st0);
	v = dma_run_copier(dc, k, sz, sz->warm_ops, sz->timed_ops, s);
	if (eng)
		dma_engine_stats(dc, k, &st1);
	/* the profile's calls are rte_dma_*: not for the direct engine */
	if (profile && k != DMA_MEMCPY && k != DMA_ENGINE)
		dma_profile(dc, k, sz, sz->warm_ops + sz->timed_ops,
			sz->timed_ops / 4);
	dma_side_stop(dc, k);
	dma_check(dc, dma_kind_buf(k), dma_kind_name[k]);
	printf("  %-4s %-9s %9.2f ns/op %7.2f GB/s %7.2f Mops/s\n", sz->tag,
		dma_kind_name[k], v, sz->len / v, 1e3 / v);
	if (eng)
		dma_engine_print(&st0, &st1, "timed");
	return v;
}

/*
 * The copy_sg rows on dma_mmrt0: @p n units from unit @p first, a unit
 * being DMA_SG_SEGS source pages of a 64 KiB block of the working set
 * (permuted: segment j reads page 5j mod 16) copied to the same block's
 * pages in order, as one rte_dma_copy_sg() (@p sg) or as DMA_SG_SEGS
 * rte_dma_copy() calls. Both keep DMA_SG_WINDOW units outstanding and
 * ring the doorbell every DMA_SG_BATCH units. @return ns per unit.
 */
static double
dma_run_sg(const struct dma_ctx *dc, bool sg, uint64_t first, uint64_t n)
{
	struct rte_dma_sge src[DMA_SG_SEGS], dst[DMA_SG_SEGS];
	uint64_t enq = 0, ops_done = 0, off, t_start, empty = 0;
	uint64_t per = sg ? 1 : DMA_SG_SEGS;
	int16_t id = dc->mmrt_dev;
	unsigned int b, j;
	uint16_t c, last;
	bool err = false;
	int ret;

	t_start = perf_now();
	while (ops_done < n * per) {
		while (enq < n && enq * per - ops_done + DMA_SG_BATCH * per <=
				DMA_SG_WINDOW * per) {
			for (b = 0; b < DMA_SG_BATCH && enq < n; b++, enq++) {
				off = ((first + enq) * DMA_SG_UNIT) &
					(DMA_WS - 1);
				for (j = 0; j < DMA_SG_SEGS; j++) {
					src[j].addr = DMA_SRC_VA + off +
						((5 * j) % DMA_SG_SEGS) * 4096;
					src[j].length = 4096;
					dst[j].addr = DMA_DST_VA + off +
						j * 4096;
					dst[j].length = 4096;
					if (sg)
						continue;
					ret = rte_dma_copy(id, 0, src[j].addr,
						dst[j].addr, 4096, 0);
					if (unlikely(ret < 0))
						perf_die("copy: %s",
							strerror(-ret));
				}
				if (!sg)
					continue;
				ret = rte_dma_copy_sg(id, 0, src, dst,
					DMA_SG_SEGS, DMA_SG_SEGS, 0);
				if (unlikely(ret < 0))
					perf_die("copy_sg: %s", strerror(-ret));
			}
			ret = rte_dma_submit(id, 0);
			if (unlikely(ret < 0))
				perf_die("submit: %s", strerror(-ret));
		}
		c = rte_dma_completed(id, 0, DMA_WINDOW, &last, &err);
		if (unlikely(err))
			dma_reap_error(dc, DMA_MMRT);
		if (c == 0) {
			dma_empty(dc, DMA_MMRT, &empty);
			continue;
		}
		ops_done += c;
	}
	return perf_ns(perf_now() - t_start) / (double)n;
}

/* Every destination page is the source page the permutation names. */
static void
dma_check_sg(struct dma_ctx *dc, const char *what)
{
	uint64_t page, spage;
	uint8_t *s, *d;

	for (page = 0; page < DMA_WS; page += MMRT_PAGE_SIZE) {
		spage = (page & ~((uint64_t)DMA_SG_UNIT - 1)) +
			((5 * ((page / 4096) % DMA_SG_SEGS)) % DMA_SG_SEGS) *
			4096;
		s = dma_as_ptr(dc->as, DMA_SRC_VA + spage, MMRT_ACCESS_READ);
		d = dma_as_ptr(dc->as, DMA_DST_VA + page, MMRT_ACCESS_READ);
		if (memcmp(s, d, MMRT_PAGE_SIZE) != 0)
			perf_die("%s: destination page at offset 0x%" PRIx64
				" differs from the source", what, page);
	}
}

/* Rounds of copy_sg against single copies, alternating which goes first;
 * each pass sweeps the working set once untimed, @p sweeps times timed. */
static void
dma_sg_rounds(struct dma_ctx *dc, unsigned int sweeps, struct dma_side *sd)
{
	uint64_t units = DMA_WS / DMA_SG_UNIT;
	unsigned int r, j;
	double v;
	bool sg;

	printf("copy_sg: %u x 4 KiB per unit (permuted source pages), "
		"window %u units, submit every %u units, %" PRIu64 " warm-up "
		"+ %" PRIu64 " timed units per pass over 2 x %" PRIu64
		" MiB\n", DMA_SG_SEGS, DMA_SG_WINDOW, DMA_SG_BATCH, units,
		sweeps * units, DMA_WS >> 20);
	for (r = 0; r < dc->rounds; r++) {
		printf(" round %u\n", r);
		for (j = 0; j < 2; j++) {
			sg = ((r + j) & 1) != 0;
			dma_stamp(dc, DMA_BUF_SPACE);
			dma_flush(dc);
			dma_side_start(dc, DMA_MMRT);
			dma_run_sg(dc, sg, 0, units);
			v = dma_run_sg(dc, sg, units, sweeps * units);
			dma_side_stop(dc, DMA_MMRT);
			dma_check_sg(dc, sg ? "copy_sg" : "16 copies");
			perf_samples_add(&sd[sg].s, v);
			sd[sg].round[sd[sg].nround++] = v;
			printf("  %-10s %9.2f ns/64KiB %7.2f GB/s\n",
				sg ? "copy_sg" : "16 copies", v,
				DMA_SG_UNIT / v);
		}
	}
	fflush(stdout);
}

/*
 * The engine's translation look-ahead (on by default) at 4 KiB: rounds of
 * three passes, memcpy (the anchor, as in dma_size_rounds()), dma_mmrt0
 * as configured by default and dma_mmrt0 with lookahead=0, rotating
 * which goes first. @p sd: [0] memcpy, [1] default, [2] lookahead=0.
 */
static void
dma_lookahead_rounds(struct dma_ctx *dc, const struct dma_size *sz,
	struct dma_side *sd)
{
	static const char *const nm[3] = { "memcpy", "default",
		"lookahead=0" };
	unsigned int r, j, m;
	double v;

	printf("%s copies: dma_mmrt0 by default (the engine's translation "
		"look-ahead on) against lookahead=0 and memcpy\n", sz->tag);
	for (r = 0; r < dc->rounds; r++) {
		printf(" round %u\n", r);
		for (j = 0; j < 3; j++) {
			m = (r + j) % 3;
			dc->lookahead = m != 2;
			v = dma_pass(dc, m == 0 ? DMA_MEMCPY : DMA_MMRT, sz,
				&sd[m].s, false);
			sd[m].round[sd[m].nround++] = v;
			printf("  (%s)\n", nm[m]);
		}
	}
	dc->lookahead = true;
	fflush(stdout);
}

/*
 * The guarded data path against the plain one, on dma_mmrt0 at @p sz:
 * rounds of one pass each, alternating which goes first. A process that
 * does not run the engine gets the guarded calls (a store, a full fence
 * and a release store around each call, dmm_dp_enter()); here the runner
 * installs them for its own passes (dmm_perf_dp_guarded()), so both run
 * in one process on the same engine. @p sd[0] plain, @p sd[1] guarded.
 */
static void
dma_guarded_rounds(struct dma_ctx *dc, const struct dma_size *sz,
	struct dma_side *sd)
{
	unsigned int r, j, g;
	double v;

	printf("%s copies through the guarded data path (another process's "
		"calls) against the plain one, dma_mmrt0\n", sz->tag);
	for (r = 0; r < dc->rounds; r++) {
		printf(" round %u\n", r);
		for (j = 0; j < 2; j++) {
			g = (r + j) & 1;
			dc->guarded = g != 0;
			v = dma_pass(dc, DMA_MMRT, sz, &sd[g].s, false);
			sd[g].round[sd[g].nround++] = v;
			printf("  (%s)\n", g ? "guarded" : "plain");
		}
	}
	dc->guarded = false;
	fflush(stdout);
}

/* Rounds of the three sides on @p sz, rotating which goes first. */
static void
dma_size_rounds(struct dma_ctx *dc, const struct dma_size *sz,
	struct dma_side *side)
{
	unsigned int r, j;
	enum dma_kind k;
	double v;

	printf("%s copies: %u B, window %u, submit every %u, %" PRIu64
		" warm-up + %" PRIu64 " timed ops per pass over 2 x %" PRIu64
		" MiB\n", sz->tag, sz->len, DMA_WINDOW, DMA_BATCH,
		sz->warm_ops, sz->timed_ops, DMA_WS >> 20);
	for (r = 0; r < dc->rounds; r++) {
		printf(" round %u\n", r);
		for (j = 0; j < DMA_KINDS; j++) {
			k = (enum dma_kind)((r + j) % DMA_KINDS);
			/* the direct engine is the dispatch anchor, at
			 * 64 B only */
			if ((k == DMA_ENGINE && sz->len != 64) ||
					(k == DMA_SKEL && dc->skel < 0) ||
					(k == DMA_MMRT && dc->mmrt_dev < 0) ||
					(k == DMA_MIRROR &&
					 dc->mirror_dev < 0))
				continue;
			v = dma_pass(dc, k, sz, &side[k].s,
				r + 1 == dc->rounds);
			side[k].round[side[k].nround++] = v;
		}
	}
	fflush(stdout);
}

static double
dma_thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return NAN;
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Churn: protect the page read-only (timed), then writable again. */
static void *
dma_churn_main(void *arg)
{
	struct dma_churn *ch = arg;
	struct timespec nap = { 0, DMA_CHURN_SLEEP_US * 1000 };
	double cpu0, w0;
	uint64_t t0, t1;
	int ret;

	cpu0 = dma_thread_cpu_ns();
	w0 = perf_ns(perf_now());
	while (!__atomic_load_n(&ch->stop, __ATOMIC_ACQUIRE)) {
		t0 = perf_now();
		ret = mmrt_protect(ch->as, DMA_CHURN_VA, MMRT_PAGE_SIZE,
			MMRT_PROT_READ);
		t1 = perf_now();
		if (ret < 0) {
			ch->error = ret;
			break;
		}
		if (__atomic_load_n(&ch->record, __ATOMIC_ACQUIRE)) {
			perf_samples_add(ch->s, perf_ns(t1 - t0));
			ch->iters++;
		}
		ret = mmrt_protect(ch->as, DMA_CHURN_VA, MMRT_PAGE_SIZE,
			MMRT_PROT_READ | MMRT_PROT_WRITE);
		if (ret == 0)
			ret = mmrt_fault(ch->as, DMA_CHURN_VA,
				MMRT_ACCESS_WRITE);
		if (ret < 0) {
			ch->error = ret;
			break;
		}
		nanosleep(&nap, NULL);
	}
	ch->cpu_ns = dma_thread_cpu_ns() - cpu0;
	ch->wall_ns = perf_ns(perf_now()) - w0;
	return NULL;
}

/*
 * Start the churn thread on the main lcore's cpu (it shares that core with
 * the submitter), SCHED_FIFO priority 1 where allowed: it then runs as soon
 * as its sleep ends and a protect waiting for the engine's ack is not
 * preempted by the spinning submitter, so the round trip measures the
 * engine, not the scheduler. It sleeps DMA_CHURN_SLEEP_US per iteration,
 * which bounds its share of the core (printed per pass).
 */
static void
dma_churn_start(struct dma_churn *ch)
{
	rte_cpuset_t cs = rte_lcore_cpuset(rte_get_main_lcore());
	struct sched_param sp = { .sched_priority = 1 };
	pthread_attr_t attr;
	int ret;

	ch->stop = 0;
	ch->record = 0;
	ch->error = 0;
	if (pthread_attr_init(&attr) != 0)
		perf_die("pthread_attr_init failed");
	if (pthread_attr_setaffinity_np(&attr, sizeof(cs), &cs) != 0)
		perf_die("pthread_attr_setaffinity_np failed");
	ret = EPERM;
	if (!ch->no_fifo &&
			pthread_attr_setinheritsched(&attr,
				PTHREAD_EXPLICIT_SCHED) == 0 &&
			pthread_attr_setschedpolicy(&attr, SCHED_FIFO) == 0 &&
			pthread_attr_setschedparam(&attr, &sp) == 0)
		ret = pthread_create(&ch->th, &attr, dma_churn_main, ch);
	if (ret == EPERM || ret == EINVAL) {
		if (!ch->no_fifo)
			printf("  churn thread: SCHED_FIFO not allowed, "
				"normal priority\n");
		ch->no_fifo = true;
		pthread_attr_destroy(&attr);
		if (pthread_attr_init(&attr) != 0 ||
				pthread_attr_setaffinity_np(&attr, sizeof(cs),
					&cs) != 0)
			perf_die("pthread_attr_init failed");
		ret = pthread_create(&ch->th, &attr, dma_churn_main, ch);
	}
	pthread_attr_destroy(&attr);
	if (ret != 0)
		perf_die("pthread_create: %s", strerror(ret));
}

static void
dma_churn_stop(struct dma_churn *ch)
{
	int ret;

	__atomic_store_n(&ch->stop, 1, __ATOMIC_RELEASE);
	ret = pthread_join(ch->th, NULL);
	if (ret != 0)
		perf_die("pthread_join: %s", strerror(ret));
	if (ch->error < 0)
		perf_die("churn: %s", strerror(-ch->error));
}

/*
 * One churn-phase pass of the engine on 4 KiB copies, with the churn
 * thread running if @p ch is not NULL. @return ns/op; *@p wall_ms: the
 * timed part's duration.
 */
static double
dma_churn_pass(struct dma_ctx *dc, const struct dma_size *sz,
	struct dma_churn *ch, struct perf_samples *s, double *wall_ms)
{
	struct mmrt_dma_mmrt_stats st0, st1;
	uint64_t it0 = 0;
	double v;

	dma_stamp(dc, DMA_BUF_SPACE);
	dma_flush(dc);
	dma_side_start(dc, DMA_MMRT);
	if (ch != NULL)
		dma_churn_start(ch);
	dma_run(dc, DMA_MMRT, sz, 0, sz->warm_ops, NULL);
	dma_engine_stats(dc, DMA_MMRT, &st0);
	if (ch != NULL) {
		it0 = ch->iters;
		__atomic_store_n(&ch->record, 1, __ATOMIC_RELEASE);
	}
	v = dma_run(dc, DMA_MMRT, sz, sz->warm_ops, sz->timed_ops, s);
	if (ch != NULL)
		__atomic_store_n(&ch->record, 0, __ATOMIC_RELEASE);
	dma_engine_stats(dc, DMA_MMRT, &st1);
	if (ch != NULL)
		dma_churn_stop(ch);
	dma_side_stop(dc, DMA_MMRT);
	dma_check(dc, DMA_BUF_SPACE, ch != NULL ? "dma_mmrt (churn)" :
		"dma_mmrt");
	*wall_ms = v * (double)sz->timed_ops / 1e6;
	printf("  4k   engine%-7s %9.2f ns/op %7.2f GB/s", ch != NULL ?
		"+churn" : "", v, sz->len / v);
	if (ch != NULL)
		printf(", %" PRIu64 " protects (%.0f/s), thread cpu %.0f%% "
			"(%s)", ch->iters - it0,
			(ch->iters - it0) / *wall_ms * 1e3,
			100.0 * ch->cpu_ns / ch->wall_ns,
			ch->no_fifo ? "normal priority" : "SCHED_FIFO");
	printf("\n");
	dma_engine_print(&st0, &st1, "timed");
	return v;
}

/*
 * The round-trip anchor: the churn thread against the engine started but
 * idle (polling, no copies) for @p ms, the main lcore spinning as it does
 * while reaping.
 */
static void
dma_churn_idle(struct dma_ctx *dc, struct dma_churn *ch, double ms)
{
	uint64_t t_end, it0;

	dma_side_start(dc, DMA_MMRT);
	dma_churn_start(ch);
	it0 = ch->iters;
	__atomic_store_n(&ch->record, 1, __ATOMIC_RELEASE);
	t_end = perf_now() + (uint64_t)(ms * 1e-3 * (double)rte_get_tsc_hz());
	while (perf_now() < t_end)
		rte_pause();
	__atomic_store_n(&ch->record, 0, __ATOMIC_RELEASE);
	dma_churn_stop(ch);
	dma_side_stop(dc, DMA_MMRT);
	printf("  idle engine+churn %.0f ms: %" PRIu64 " protects, thread "
		"cpu %.0f%%\n", ms, ch->iters - it0,
		100.0 * ch->cpu_ns / ch->wall_ns);
}

/* Map, populate and own every page of a region (before any bind). */
static void
dma_map(struct mmrt_as *as, uint64_t va, uint64_t len)
{
	static const uint8_t one = 1;
	uint64_t off;
	int ret;

	ret = mmrt_map(as, va, len, MMRT_PROT_READ | MMRT_PROT_WRITE,
		MMRT_MAP_POPULATE);
	if (ret < 0)
		perf_die("mmrt_map(0x%" PRIx64 ", %" PRIu64 " KiB): %s", va,
			len >> 10, strerror(-ret));
	/* A write per page: every page gets its own writable frame. */
	for (off = 0; off < len; off += MMRT_PAGE_SIZE) {
		ret = mmrt_write(as, va + off, &one, 1);
		if (ret < 0)
			perf_die("mmrt_write(0x%" PRIx64 "): %s", va + off,
				strerror(-ret));
	}
}

static double
dma_median_rounds(struct dma_side *sd)
{
	double v[RTE_DIM(sd->round)];

	memcpy(v, sd->round, sd->nround * sizeof(v[0]));
	return app_median(v, sd->nround);
}

static void
dma_result(struct perf_result *res, const char *name, const char *anchor,
	const char *unit, double target, struct dma_side *m,
	struct dma_side *a)
{
	memset(res, 0, sizeof(*res));
	snprintf(res->name, sizeof(res->name), "%s", name);
	snprintf(res->anchor, sizeof(res->anchor), "%s", anchor);
	res->unit = unit;
	res->target = target;
	perf_percentiles(&m->s, &res->pct);
	perf_percentiles(&a->s, &res->anchor_pct);
	res->value = dma_median_rounds(m);
	res->anchor_value = dma_median_rounds(a);
}

static void
dma_sides_init(struct dma_side *sd, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		memset(&sd[i], 0, sizeof(sd[i]));
		if (perf_samples_init(&sd[i].s, 1024) < 0)
			perf_die("out of memory for samples");
	}
}

static void
dma_sides_free(struct dma_side *sd, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		perf_samples_free(&sd[i].s);
}

/* CPU time of the whole machine and of this process, for dma_other_load(). */
struct dma_cpu {
	uint64_t busy;          /* jiffies, all cpus */
	uint64_t total;
	double self_s;          /* this process, user + system */
};

static void
dma_cpu_sample(struct dma_cpu *c)
{
	unsigned long long v[8] = { 0 };
	struct rusage ru;
	FILE *f;

	memset(c, 0, sizeof(*c));
	f = fopen("/proc/stat", "r");
	if (f != NULL) {
		if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
				&v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
				&v[6], &v[7]) == 8) {
			c->total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] +
				v[6] + v[7];
			c->busy = c->total - v[3] - v[4];
		}
		fclose(f);
	}
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		c->self_s = (double)ru.ru_utime.tv_sec +
			(double)ru.ru_utime.tv_usec / 1e6 +
			(double)ru.ru_stime.tv_sec +
			(double)ru.ru_stime.tv_usec / 1e6;
}

/*
 * Info: CPU time other processes took since @p c0, in percent of all
 * cpus. The harness keeps both cpus busy; anything else running skews
 * every figure (the engine's lcore, the skeleton's thread and the
 * submitter each need a whole cpu).
 */
static void
dma_other_load(const struct dma_cpu *c0)
{
	struct dma_cpu c1;
	double hz = (double)sysconf(_SC_CLK_TCK), other;

	dma_cpu_sample(&c1);
	if (c1.total <= c0->total || hz <= 0)
		return;
	other = (double)(c1.busy - c0->busy) / hz - (c1.self_s - c0->self_s);
	printf("other processes used %.1f%% of the cpus during the run%s\n",
		RTE_MAX(0.0, 100.0 * other * hz /
			(double)(c1.total - c0->total)),
		other * hz > 0.05 * (double)(c1.total - c0->total) ?
		" (over 5%: the figures are skewed)" : "");
}

/*
 * PERF_DMA_ONLY=64b: the 64 B rows (as the full run names them) and a
 * summary line. @return the rows written to @p res.
 */
static unsigned int
dma_results64(const struct dma_ctx *dc, struct dma_side *s64,
	struct perf_result *res)
{
	unsigned int n = 0;

	if (dc->skel >= 0) {
		dma_result(&res[n++], "dma-64b", "skeleton-64b", "ns/op",
			DMA_TARGET_64B, &s64[DMA_MMRT], &s64[DMA_SKEL]);
		dma_result(&res[n++], "dma-mmrt-64b", "skeleton-64b",
			"ns/op", DMA_TARGET_MMRT_64B, &s64[DMA_MMRT],
			&s64[DMA_SKEL]);
	} else {
		printf("dma-64b: SKIP (no skeleton anchor: %s)\n",
			dc->skel_skip);
	}
	dma_result(&res[n++], "dma-mmrt-dispatch-64b", "engine-direct-64b",
		"ns/op", PERF_REPORT_ONLY, &s64[DMA_MMRT], &s64[DMA_ENGINE]);
	dma_result(&res[n++], "dma-64b-vs-memcpy", "memcpy-64b", "ns/op",
		PERF_REPORT_ONLY, &s64[DMA_MMRT], &s64[DMA_MEMCPY]);
	printf("\nsummary (medians over rounds): 64b: dma_mmrt %.2f ns/op, "
		"engine called directly %.2f, memcpy %.2f, skeleton %.2f\n",
		dma_median_rounds(&s64[DMA_MMRT]),
		dma_median_rounds(&s64[DMA_ENGINE]),
		dma_median_rounds(&s64[DMA_MEMCPY]),
		dc->skel >= 0 ? dma_median_rounds(&s64[DMA_SKEL]) : 0.0);
	return n;
}

/* The EAL words: lcores 0 and 1 on the first two cpus we may run on. */
static void
dma_eal_args(const char **w, char *prefix, size_t plen, char *lcores,
	size_t llen)
{
	cpu_set_t cs;
	int cpus[2], ncpu = 0, c, n = 0;

	CPU_ZERO(&cs);
	if (sched_getaffinity(0, sizeof(cs), &cs) == 0)
		for (c = 0; c < CPU_SETSIZE && ncpu < 2; c++)
			if (CPU_ISSET(c, &cs))
				cpus[ncpu++] = c;
	if (ncpu < 2) {
		printf("%s: skipped: needs 2 cpus, has %d\n", DMA_PROG, ncpu);
		exit(0);
	}
	snprintf(prefix, plen, "--file-prefix=perf-dma-%d", (int)getpid());
	snprintf(lcores, llen, "0@%d,1@%d,2@%d", cpus[0], cpus[1], cpus[1]);
	w[n++] = "--no-huge";
	w[n++] = "-m";
	w[n++] = DMA_EAL_MEM;
	w[n++] = "--no-pci";
	w[n++] = "--no-shconf";
	w[n++] = "--no-telemetry";
	w[n++] = prefix;
	w[n++] = "--lcores";
	w[n++] = lcores;
	w[n++] = "--log-level=lib.eal:error";
	w[n] = NULL;
}

int
main(int argc, char **argv)
{
	struct dma_size sz64 = { "64b", 64, 0, 0, 8192 };
	struct dma_size sz4k = { "4k", 4096, 0, 0, 256 };
	struct dma_side s64[DMA_KINDS], s4k[DMA_KINDS], churn[2], sg[2], gd[2];
	struct dma_side la[3];
	struct perf_samples rt_load, rt_idle;
	struct perf_result res[14];
	const struct mmrt_dma_mmrt_stats *est;
	struct dma_churn ch;
	struct dma_cpu cpu0;
	struct perf_opts opts;
	struct dma_ctx dc;
	const char *eal[16];
	char prefix[64], lcores[32];
	unsigned int nres = 0, r;
	double wall_ms, idle_ms;
	const char *only;
	bool only64;
	int ret;

	/* PERF_DMA_ONLY=64b: the 64 B rounds and their breakdown only (a
	 * shorter run for work on the 64 B path) */
	only = getenv("PERF_DMA_ONLY");
	if (only != NULL && strcmp(only, "64b") != 0) {
		fprintf(stderr, "%s: PERF_DMA_ONLY=%s: only 64b is known\n",
			DMA_PROG, only);
		return 2;
	}
	only64 = only != NULL;
	perf_parse_args(argc, argv, DMA_PROG, &opts);
	dma_eal_args(eal, prefix, sizeof(prefix), lcores, sizeof(lcores));
	perf_init_eal(DMA_PROG, DMA_POOL_MB, &opts, eal);
	if (perf_skip_lcores(DMA_PROG, 2))
		return 0;

	memset(&dc, 0, sizeof(dc));
	dc.lookahead = true; /* the driver's default */
	dc.quick = opts.quick;
	dc.rounds = opts.quick ? 5 : 12;
	/*
	 * Warm-up: one sweep of the working set by the side itself, so that
	 * every side starts timing with its own buffers as cached as they
	 * can be (the host's L3 may hold much of the 2 x 64 MiB) whatever
	 * ran before it.
	 */
	sz64.warm_ops = DMA_WS / 64;
	sz64.timed_ops = (opts.quick ? 1 : 2) * (DMA_WS / 64);
	sz4k.warm_ops = DMA_WS / 4096;
	sz4k.timed_ops = (opts.quick ? 4 : 8) * (DMA_WS / 4096);

	/* Host buffers of the anchors, prefaulted. */
	dc.hsrc = perf_kernel_map(DMA_WS, true);
	dc.hdst = perf_kernel_map(DMA_WS, true);

	/* The space: src, dst and the churned page, each page its frame. */
	dc.as = perf_as_create("perf-dma");
	dma_map(dc.as, DMA_SRC_VA, DMA_WS);
	dma_map(dc.as, DMA_DST_VA, DMA_WS);
	dma_map(dc.as, DMA_CHURN_VA, MMRT_PAGE_SIZE);

	dma_cpu_sample(&cpu0);
	dma_skel_setup(&dc);
	if (dc.skel < 0)
		printf("skeleton anchor: SKIP: %s\n", dc.skel_skip);
	dma_engine_setup(&dc);
	dma_mmrt_setup(&dc);
	/* the engine is measured through it */
	if (dc.mmrt_dev < 0)
		perf_die("dma_mmrt side: %s", dc.mmrt_skip);
	dma_mirror_setup(&dc);
	if (dc.mirror_dev < 0)
		printf("mirror side: SKIP: %s\n", dc.mirror_skip);
	fflush(stdout);

	dma_sides_init(s64, DMA_KINDS);
	dma_sides_init(s4k, DMA_KINDS);
	dma_sides_init(churn, 2);
	dma_sides_init(sg, 2);
	dma_sides_init(gd, 2);
	dma_sides_init(la, 3);
	if (perf_samples_init(&rt_load, 4096) < 0 ||
			perf_samples_init(&rt_idle, 4096) < 0)
		perf_die("out of memory for samples");

	dma_size_rounds(&dc, &sz64, s64);
	dma_breakdown(&dc, &sz64, dma_median_rounds(&s64[DMA_MMRT]),
		dma_median_rounds(&s64[DMA_MEMCPY]));
	if (only64) {
		dma_other_load(&cpu0);
		nres = dma_results64(&dc, s64, res);
		goto teardown;
	}
	dma_size_rounds(&dc, &sz4k, s4k);
	dma_breakdown(&dc, &sz4k, dma_median_rounds(&s4k[DMA_MMRT]),
		dma_median_rounds(&s4k[DMA_MEMCPY]));

	dma_sg_rounds(&dc, opts.quick ? 2 : 4, sg);
	dma_guarded_rounds(&dc, &sz64, gd);
	dma_lookahead_rounds(&dc, &sz4k, la);

	/* Churn phase: 4 KiB with and without churn, then the idle anchor. */
	printf("4k copies with invalidation churn (one page protected "
		"read-only and back, %u us sleep per iteration, thread on "
		"the main lcore's cpu)\n", DMA_CHURN_SLEEP_US);
	memset(&ch, 0, sizeof(ch));
	ch.as = dc.as;
	for (r = 0; r < dc.rounds; r++) {
		printf(" round %u\n", r);
		if (r % 2 != 0)
			churn[0].round[churn[0].nround++] =
				dma_churn_pass(&dc, &sz4k, NULL, &churn[0].s,
					&wall_ms);
		ch.s = &rt_load;
		churn[1].round[churn[1].nround++] =
			dma_churn_pass(&dc, &sz4k, &ch, &churn[1].s, &wall_ms);
		if (r % 2 == 0)
			churn[0].round[churn[0].nround++] =
				dma_churn_pass(&dc, &sz4k, NULL, &churn[0].s,
					&wall_ms);
		idle_ms = RTE_MIN(RTE_MAX(wall_ms, (double)DMA_IDLE_MS_MIN),
			(double)DMA_IDLE_MS_MAX);
		ch.s = &rt_idle;
		dma_churn_idle(&dc, &ch, idle_ms);
	}

	dma_other_load(&cpu0);
	/* dma_side_stop() checked every start's consumer: never fenced */
	est = &dc.tot;
	printf("dma_mmrt0 totals over its starts: %" PRIu64 " submitted, %"
		PRIu64 " completed, %" PRIu64 " errors, %" PRIu64 " bytes, %"
		PRIu64 " steps, %" PRIu64 " idle polls; consumer: %" PRIu64
		" TLB hits, %" PRIu64 " misses, %" PRIu64 " inval descs, %"
		PRIu64 " entries dropped, %" PRIu64 " acks, %" PRIu64
		" fences, %" PRIu64 " page requests; %" PRIu64 " parks\n",
		est->submitted, est->completed, est->errors, est->bytes,
		est->steps, est->idle_polls, est->consumer.tlb_hits,
		est->consumer.tlb_misses, est->consumer.inval_descs,
		est->consumer.entries_dropped, est->consumer.acks,
		est->consumer.fences, est->consumer.page_requests,
		est->parks);

	/* Results: the engine is dma_mmrt0, driven with rte_dma_* */
	dma_result(&res[nres++], "dma-4k", "memcpy-4k", "ns/op",
		DMA_TARGET_4K, &s4k[DMA_MMRT], &s4k[DMA_MEMCPY]);
	dma_result(&res[nres++], "dma-mmrt-4k", "memcpy-4k", "ns/op",
		DMA_TARGET_MMRT_4K, &s4k[DMA_MMRT], &s4k[DMA_MEMCPY]);
	if (dc.skel >= 0) {
		dma_result(&res[nres++], "dma-64b", "skeleton-64b", "ns/op",
			DMA_TARGET_64B, &s64[DMA_MMRT], &s64[DMA_SKEL]);
		dma_result(&res[nres++], "dma-mmrt-64b", "skeleton-64b",
			"ns/op", DMA_TARGET_MMRT_64B, &s64[DMA_MMRT],
			&s64[DMA_SKEL]);
		dma_result(&res[nres++], "dma-4k-vs-skeleton", "skeleton-4k",
			"ns/op", PERF_REPORT_ONLY, &s4k[DMA_MMRT],
			&s4k[DMA_SKEL]);
	} else {
		printf("dma-64b: SKIP (no skeleton anchor: %s)\n",
			dc.skel_skip);
	}
	/* the rte_dma_* dispatch against the engine called directly */
	dma_result(&res[nres++], "dma-mmrt-dispatch-64b", "engine-direct-64b",
		"ns/op", PERF_REPORT_ONLY, &s64[DMA_MMRT], &s64[DMA_ENGINE]);
	printf("dma_mmrt: rte_dma_* dispatch %+.2f ns/op at 64 B "
		"(dma_mmrt %.2f, engine called directly %.2f)\n",
		dma_median_rounds(&s64[DMA_MMRT]) -
		dma_median_rounds(&s64[DMA_ENGINE]),
		dma_median_rounds(&s64[DMA_MMRT]),
		dma_median_rounds(&s64[DMA_ENGINE]));
	/* copy_sg of 16 x 4 KiB against 16 single copies */
	dma_result(&res[nres++], "dma-mmrt-copy-sg-16x4k",
		"dma-mmrt-16-copies-4k", "ns/64KiB", DMA_TARGET_SG, &sg[1],
		&sg[0]);
	/* the guarded data path (other processes') against the plain one */
	dma_result(&res[nres++], "dma-mmrt-guarded-64b", "dma-mmrt-plain-64b",
		"ns/op", PERF_REPORT_ONLY, &gd[1], &gd[0]);
	printf("dma_mmrt: guarded data path %+.2f ns/op at 64 B (guarded "
		"%.2f, plain %.2f)\n", dma_median_rounds(&gd[1]) -
		dma_median_rounds(&gd[0]), dma_median_rounds(&gd[1]),
		dma_median_rounds(&gd[0]));
	/* without the engine's translation look-ahead, own rounds */
	dma_result(&res[nres++], "dma-mmrt-4k-no-lookahead", "memcpy-4k",
		"ns/op", PERF_REPORT_ONLY, &la[2], &la[0]);
	printf("dma_mmrt: 4k with lookahead=0 %.2f ns/op, default %.2f, "
		"memcpy %.2f (same rounds)\n", dma_median_rounds(&la[2]),
		dma_median_rounds(&la[1]), dma_median_rounds(&la[0]));
	if (dc.mirror_dev >= 0)
		dma_result(&res[nres++], "dma-mmrt-mirror-4k", "dma-mmrt-4k",
			"ns/op", DMA_TARGET_MIRROR, &s4k[DMA_MIRROR],
			&s4k[DMA_MMRT]);
	else
		printf("dma-mmrt-mirror-4k: SKIP (%s)\n", dc.mirror_skip);
	dma_result(&res[nres++], "dma-64b-vs-memcpy", "memcpy-64b", "ns/op",
		PERF_REPORT_ONLY, &s64[DMA_MMRT], &s64[DMA_MEMCPY]);
	dma_result(&res[nres++], "dma-4k-churn", "dma-4k-no-churn", "ns/op",
		PERF_REPORT_ONLY, &churn[1], &churn[0]);
	/* The round trip: p99 is the figure. */
	memset(&res[nres], 0, sizeof(res[nres]));
	snprintf(res[nres].name, sizeof(res[nres].name), "dma-inval-rt-p99");
	snprintf(res[nres].anchor, sizeof(res[nres].anchor),
		"inval-rt-idle-p99");
	res[nres].unit = "ns/rt";
	res[nres].target = PERF_REPORT_ONLY;
	perf_percentiles(&rt_load, &res[nres].pct);
	perf_percentiles(&rt_idle, &res[nres].anchor_pct);
	res[nres].value = res[nres].pct.p99;
	res[nres].anchor_value = res[nres].anchor_pct.p99;
	nres++;

	printf("\nsummary (medians over rounds):\n");
	printf("  64b: engine %.2f ns/op (%.2f Mops/s, %.2f GB/s), memcpy "
		"%.2f ns/op (%.2f GB/s)", dma_median_rounds(&s64[DMA_MMRT]),
		1e3 / dma_median_rounds(&s64[DMA_MMRT]),
		64 / dma_median_rounds(&s64[DMA_MMRT]),
		dma_median_rounds(&s64[DMA_MEMCPY]),
		64 / dma_median_rounds(&s64[DMA_MEMCPY]));
	if (dc.skel >= 0)
		printf(", skeleton %.2f ns/op (%.2f Mops/s, %.2f GB/s)",
			dma_median_rounds(&s64[DMA_SKEL]),
			1e3 / dma_median_rounds(&s64[DMA_SKEL]),
			64 / dma_median_rounds(&s64[DMA_SKEL]));
	printf("\n  4k:  engine %.2f ns/op (%.2f GB/s), memcpy %.2f ns/op "
		"(%.2f GB/s)", dma_median_rounds(&s4k[DMA_MMRT]),
		4096 / dma_median_rounds(&s4k[DMA_MMRT]),
		dma_median_rounds(&s4k[DMA_MEMCPY]),
		4096 / dma_median_rounds(&s4k[DMA_MEMCPY]));
	if (dc.skel >= 0)
		printf(", skeleton %.2f ns/op (%.2f GB/s)",
			dma_median_rounds(&s4k[DMA_SKEL]),
			4096 / dma_median_rounds(&s4k[DMA_SKEL]));
	printf("\n  4k churn: %.2f GB/s with churn, %.2f GB/s without: "
		"%.1f%% of the throughput kept\n",
		4096 / dma_median_rounds(&churn[1]),
		4096 / dma_median_rounds(&churn[0]),
		100.0 * dma_median_rounds(&churn[0]) /
		dma_median_rounds(&churn[1]));
	printf("  protect round trip: under copies p50 %.0f p99 %.0f ns "
		"(%zu), engine idle p50 %.0f p99 %.0f ns (%zu)\n",
		res[nres - 1].pct.p50, res[nres - 1].pct.p99,
		res[nres - 1].pct.n, res[nres - 1].anchor_pct.p50,
		res[nres - 1].anchor_pct.p99, res[nres - 1].anchor_pct.n);

teardown:
	dma_engines_teardown(&dc);
	perf_as_destroy(dc.as);
	munmap(dc.hsrc, DMA_WS);
	munmap(dc.hdst, DMA_WS);
	dma_sides_free(s64, DMA_KINDS);
	dma_sides_free(s4k, DMA_KINDS);
	dma_sides_free(churn, 2);
	dma_sides_free(sg, 2);
	dma_sides_free(gd, 2);
	dma_sides_free(la, 3);
	perf_samples_free(&rt_load);
	perf_samples_free(&rt_idle);

	ret = perf_report(&opts, res, nres);
	perf_fini();
	return ret;
}
