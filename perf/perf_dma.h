/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_PERF_DMA_H
#define MMRT_PERF_DMA_H

/*
 * perf-dma's DMA sides and the adapter that drives them: memcpy, DPDK's
 * dma_skeleton and mmrt's engine as the dma_mmrt dmadev (as= and mirror
 * mode), all through rte_dma_*, and one anchor: the same engine called
 * directly (DMA_ENGINE, over the same address space), which measures what
 * the rte_dma_* dispatch costs. Every direct call of the engine is in
 * perf_dma_engine.c (its set-up, start/stop, counters and its instance of
 * the client loop dma_loop() below); the harness (perf_dma.c) and this
 * header use rte_dma_* and mmrt_dma_mmrt.h only.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_dmadev.h>
#include <rte_pause.h>

#include <mmrt_dma_mmrt.h>
#include <mmrt_mm.h>

#include "perf_common.h"

#define DMA_SKEL_NAME "dma_skeleton0"
#define DMA_SKEL_ARGS "lcore=1"   /* its copy thread on lcore 1's cpu */
#define DMA_ENGINE_LCORE 1u
#define DMA_MMRT_NAME "dma_mmrt0"  /* args: as=<the space>,lcore=1,... */
/* mirror mode (IOVAs of DPDK memory), its engine on lcore 2, which
 * shares lcore 1's cpu: only one of the two devices runs at a time */
#define DMA_MIRROR_NAME "dma_mmrt1"
#define DMA_MIRROR_LCORE 2u

#define DMA_WS (UINT64_C(64) << 20)  /* working set per region */
#define DMA_NB_DESC 1024u     /* ring of both DMA sides */
#define DMA_WINDOW 512u       /* operations outstanding at most */
#define DMA_BATCH 32u         /* operations per submit */
#define DMA_ACK_DEADLINE_US 1000000 /* 1 s: no fence on VM jitter */

enum dma_kind {
	DMA_MEMCPY,
	DMA_SKEL,
	DMA_ENGINE,   /* the engine called directly: the dispatch anchor */
	DMA_MMRT,     /* the engine as a dmadev: rte_dma_* on space VAs */
	DMA_MIRROR,   /* dma_mmrt in mirror mode: rte_dma_* on DPDK IOVAs */
	DMA_KINDS,
};

/* Where a side's buffers are. */
enum dma_buf {
	DMA_BUF_HOST = 0,   /* dc->hsrc, dc->hdst */
	DMA_BUF_SPACE = 1,  /* the space's DMA_SRC_VA, DMA_DST_VA */
	DMA_BUF_DPDK = 2,   /* dc->msrc, dc->mdst (rte_malloc) */
};

/* The side addresses VAs of the address space (else host addresses). */
static inline bool
dma_kind_space(int k)
{
	return k == DMA_ENGINE || k == DMA_MMRT;
}

static inline enum dma_buf
dma_kind_buf(int k)
{
	return dma_kind_space(k) ? DMA_BUF_SPACE :
		k == DMA_MIRROR ? DMA_BUF_DPDK : DMA_BUF_HOST;
}

extern const char *const dma_kind_name[DMA_KINDS];

struct dma_ctx {
	struct mmrt_as *as;
	void *eng;              /* DMA_ENGINE's engine (perf_dma_engine.c) */
	struct mmrt_dma_mmrt_stats tot; /* dma_mmrt0's, summed over starts */
	uint8_t *hsrc;          /* host buffers: memcpy and skeleton */
	uint8_t *hdst;
	int16_t skel;           /* skeleton dev id, or -1 (skipped) */
	bool skel_probed;       /* the vdev exists (remove it at the end) */
	char skel_skip[128];    /* why it was skipped */
	int16_t mmrt_dev;       /* dma_mmrt dev id, or -1 (skipped) */
	bool mmrt_probed;
	char mmrt_skip[160];
	int16_t mirror_dev;     /* mirror-mode dma_mmrt, or -1 (skipped) */
	bool mirror_probed;
	char mirror_skip[160];
	uint8_t *msrc;          /* DPDK memory: the mirror side's buffers */
	uint8_t *mdst;
	uint64_t msrc_iova;
	uint64_t mdst_iova;
	bool guarded;           /* dma_mmrt0 starts with the guarded path */
	bool lookahead;         /* ... with its engine's look-ahead */
	uint32_t stamp;         /* pass number, stamped into the source */
	unsigned int rounds;
	bool quick;
};

/*
 * Probe the skeleton and set up its one vchan; on failure leave dc->skel
 * at -1 with the reason in dc->skel_skip.
 */
void dma_skel_setup(struct dma_ctx *dc);

/* Create the directly called engine (DMA_ENGINE) and bind it to dc->as
 * (dies on failure). */
void dma_engine_setup(struct dma_ctx *dc);

/*
 * Probe dma_mmrt with as=dc->as and set up its one vchan; on failure
 * leave dc->mmrt_dev at -1 with the reason in dc->mmrt_skip.
 */
void dma_mmrt_setup(struct dma_ctx *dc);

/* The mirror-mode device and its DPDK-memory buffers (dc->mirror_dev -1
 * with the reason when it cannot be set up). */
void dma_mirror_setup(struct dma_ctx *dc);

/* The rte_dma device id of side @p k (skeleton or dma_mmrt). */
static inline int16_t
dma_dev_id(const struct dma_ctx *dc, enum dma_kind k)
{
	return k == DMA_SKEL ? dc->skel : k == DMA_MIRROR ? dc->mirror_dev :
		dc->mmrt_dev;
}

/* Close and remove the dma_mmrt devices, destroy the direct engine and
 * remove the skeleton's vdev if it was probed. */
void dma_engines_teardown(struct dma_ctx *dc);

/*
 * Start (@p run) or stop side @p k: its dmadev, or the direct engine on
 * DMA_ENGINE_LCORE; nothing for memcpy. A start of dma_mmrt0 with
 * dc->guarded set installs the guarded data path (the one processes that
 * do not run the engine get) in place of the plain one. At a stop of dma_mmrt0, its
 * counters are added to dc->tot (they start at 0 at each start). Dies on
 * failure, and when the engine's consumer was fenced.
 */
void dma_side_run(struct dma_ctx *dc, enum dma_kind k, bool run);

static inline void
dma_side_start(struct dma_ctx *dc, enum dma_kind k)
{
	dma_side_run(dc, k, true);
}

static inline void
dma_side_stop(struct dma_ctx *dc, enum dma_kind k)
{
	dma_side_run(dc, k, false);
}

/* The engine's counters of side @p k (DMA_ENGINE, or a started dma_mmrt
 * side: mmrt_dma_mmrt_stats()); dies on failure. */
void dma_engine_stats(const struct dma_ctx *dc, enum dma_kind k,
	struct mmrt_dma_mmrt_stats *st);

/* Engine counters over one pass (from @p a to @p b), per operation. */
void dma_engine_print(const struct mmrt_dma_mmrt_stats *a,
	const struct mmrt_dma_mmrt_stats *b, const char *what);

/* An operation failed: say which and how, with the engine's counters. */
void dma_reap_error(const struct dma_ctx *dc, enum dma_kind k)
	__rte_noreturn;

/* The rte_dma_* adapter of the dmadev sides. Enqueue one copy; @return
 * the ring index or -errno. */
static inline int
dma_enq(const struct dma_ctx *dc, enum dma_kind k, uint64_t src,
	uint64_t dst, uint32_t len)
{
	return rte_dma_copy(dma_dev_id(dc, k), 0, src, dst, len, 0);
}

static inline void
dma_doorbell(const struct dma_ctx *dc, enum dma_kind k)
{
	int ret = rte_dma_submit(dma_dev_id(dc, k), 0);

	if (unlikely(ret < 0))
		perf_die("%s: submit: %s", dma_kind_name[k], strerror(-ret));
}

static inline uint16_t
dma_reap(const struct dma_ctx *dc, enum dma_kind k)
{
	uint16_t n, last;
	bool err = false;

	n = rte_dma_completed(dma_dev_id(dc, k), 0, DMA_WINDOW, &last, &err);
	if (unlikely(err))
		dma_reap_error(dc, k);
	return n;
}

/* Nothing reaped: pause (the driver's own thread serves the engine's
 * page requests; none is expected here, the counters show any). */
static inline void
dma_empty(const struct dma_ctx *dc, enum dma_kind k, uint64_t *empty)
{
	RTE_SET_USED(dc);
	RTE_SET_USED(k);
	++*empty;
	rte_pause();
}

typedef int (*dma_enq_fn)(const struct dma_ctx *dc, enum dma_kind k,
	uint64_t src, uint64_t dst, uint32_t len);
typedef void (*dma_doorbell_fn)(const struct dma_ctx *dc, enum dma_kind k);
typedef uint16_t (*dma_reap_fn)(const struct dma_ctx *dc, enum dma_kind k);
typedef void (*dma_empty_fn)(const struct dma_ctx *dc, enum dma_kind k,
	uint64_t *empty);

/*
 * One submit: DMA_BATCH copies through @p enq_fn, operations @p enq on of
 * the walk dma_loop() describes; dies on a refused copy. @return the next
 * operation.
 */
static __rte_always_inline uint64_t
dma_enq_batch(const struct dma_ctx *dc, enum dma_kind k, uint64_t sbase,
	uint64_t dbase, uint32_t len, uint64_t first, uint64_t enq,
	dma_enq_fn enq_fn)
{
	uint64_t off;
	unsigned int b;
	int ret;

	for (b = 0; b < DMA_BATCH; b++, enq++) {
		off = ((first + enq) * len) & (DMA_WS - 1);
		ret = enq_fn(dc, k, sbase + off, dbase + off, len);
		if (unlikely(ret < 0))
			perf_die("%s: copy: %s", dma_kind_name[k],
				strerror(-ret));
	}
	return enq;
}

/*
 * The client loop of every DMA side: @p n copies of @p len bytes from
 * operation @p first of the walk (operation i copies at offset i * len mod
 * DMA_WS from @p sbase to @p dbase), DMA_BATCH per doorbell, at most
 * DMA_WINDOW outstanding, reaping in between. Samples (unless @p s is
 * NULL): ns/op per @p chunk operations completed. The side's calls come in
 * as constant function pointers: always inlined, the compiler makes them
 * direct (and inlines the static inline ones), so the rte_dma_* sides and
 * perf_dma_engine.c's direct engine run the same loop code.
 * @return ns/op over the whole run.
 */
static __rte_always_inline double
dma_loop(const struct dma_ctx *dc, enum dma_kind k, uint64_t sbase,
	uint64_t dbase, uint32_t len, uint64_t chunk, uint64_t first,
	uint64_t n, struct perf_samples *s, dma_enq_fn enq_fn,
	dma_doorbell_fn bell_fn, dma_reap_fn reap_fn, dma_empty_fn empty_fn)
{
	uint64_t enq = 0, done = 0, done_prev = 0, mark = chunk;
	uint64_t empty = 0, t_start, t_prev, t;
	uint16_t c;

	t_start = t_prev = perf_now();
	while (done < n) {
		while (enq < n && enq - done + DMA_BATCH <= DMA_WINDOW) {
			enq = dma_enq_batch(dc, k, sbase, dbase, len, first,
				enq, enq_fn);
			bell_fn(dc, k);
		}
		c = reap_fn(dc, k);
		if (c == 0) {
			empty_fn(dc, k, &empty);
			continue;
		}
		done += c;
		if (s != NULL && done >= mark) {
			t = perf_now();
			perf_samples_add(s, perf_ns(t - t_prev) /
				(double)(done - done_prev));
			t_prev = t;
			done_prev = done;
			mark = done + chunk;
		}
	}
	return perf_ns(perf_now() - t_start) / (double)n;
}

/* dma_loop() on the directly called engine (perf_dma_engine.c). */
double dma_engine_run(const struct dma_ctx *dc, uint64_t sbase,
	uint64_t dbase, uint32_t len, uint64_t chunk, uint64_t first,
	uint64_t n, struct perf_samples *s);

/*
 * Info: the engine called directly with no second core: on the engine's
 * lcore (engine stopped), batches of DMA_BATCH copies of @p len bytes from
 * operation @p first of the walk, each enqueued and submitted, run by
 * swdma_run() in the same thread, then reaped; @p n operations. @p out:
 * the median over batches of TSC cycles/op of the enqueue (with the
 * submit), the engine's steps and the reap. What the same work costs
 * across two cores, less these, is the hand-off between them.
 */
void dma_engine_split(const struct dma_ctx *dc, uint64_t sbase,
	uint64_t dbase, uint32_t len, uint64_t first, uint64_t n,
	double out[3]);

#endif /* MMRT_PERF_DMA_H */
