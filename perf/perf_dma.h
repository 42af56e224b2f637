/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_PERF_DMA_H
#define MMRT_PERF_DMA_H

/*
 * perf-dma's DMA sides and the adapter that drives them: memcpy, DPDK's
 * dma_skeleton (rte_dma_*), mmrt's swdma engine called directly
 * (mmrt_swdma_*) and the same engine as the dma_mmrt dmadev (rte_dma_*,
 * over the same address space, so the two differ only by the dmadev
 * dispatch). The harness's loops (perf_dma.c) call the inline adapter
 * below with the side's kind; set-up, start/stop and counters are in
 * perf_dma_engine.c.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_dmadev.h>
#include <rte_pause.h>

#include <mmrt_mm.h>
#include <mmrt_swdma.h>

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
#define DMA_SERVE_EVERY 4096u /* empty reaps between page-request serving */

enum dma_kind {
	DMA_MEMCPY,
	DMA_SKEL,
	DMA_ENGINE,
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
	struct mmrt_swdma *dma;
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
	uint32_t stamp;         /* pass number, stamped into the source */
	unsigned int rounds;
	bool quick;
};

/*
 * Probe the skeleton and set up its one vchan; on failure leave dc->skel
 * at -1 with the reason in dc->skel_skip.
 */
void dma_skel_setup(struct dma_ctx *dc);

/* Create the engine and bind it to dc->as (dies on failure). */
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

/* Destroy the engine and remove the skeleton's vdev if it was probed. */
void dma_engines_teardown(struct dma_ctx *dc);

/*
 * Start (@p run) or stop side @p k: the skeleton's device, or the engine
 * on DMA_ENGINE_LCORE; nothing for memcpy. Dies on failure.
 */
void dma_side_run(const struct dma_ctx *dc, enum dma_kind k, bool run);

static inline void
dma_side_start(const struct dma_ctx *dc, enum dma_kind k)
{
	dma_side_run(dc, k, true);
}

static inline void
dma_side_stop(const struct dma_ctx *dc, enum dma_kind k)
{
	dma_side_run(dc, k, false);
}

/* The engine's counters (dies on failure). */
void dma_engine_stats(const struct dma_ctx *dc, struct mmrt_swdma_stats *st);

/* Engine counters over one pass (from @p a to @p b), per operation. */
void dma_engine_print(const struct mmrt_swdma_stats *a,
	const struct mmrt_swdma_stats *b, const char *what);

/* An operation failed: say which and how, with the engine's counters. */
void dma_reap_error(const struct dma_ctx *dc, enum dma_kind k)
	__rte_noreturn;

/* Enqueue one copy on a DMA side; @return the ring index or -errno. */
static inline int
dma_enq(const struct dma_ctx *dc, enum dma_kind k, uint64_t src,
	uint64_t dst, uint32_t len)
{
	if (k != DMA_ENGINE)
		return rte_dma_copy(dma_dev_id(dc, k), 0, src, dst, len, 0);
	return mmrt_swdma_copy(dc->dma, src, dst, len, 0);
}

static inline void
dma_doorbell(const struct dma_ctx *dc, enum dma_kind k)
{
	int ret;

	if (k != DMA_ENGINE)
		ret = rte_dma_submit(dma_dev_id(dc, k), 0);
	else
		ret = mmrt_swdma_submit(dc->dma);
	if (unlikely(ret < 0))
		perf_die("%s: submit: %s", dma_kind_name[k], strerror(-ret));
}

static inline uint16_t
dma_reap(const struct dma_ctx *dc, enum dma_kind k)
{
	uint16_t n, last;
	bool err = false;

	if (k != DMA_ENGINE)
		n = rte_dma_completed(dma_dev_id(dc, k), 0, DMA_WINDOW, &last,
			&err);
	else
		n = mmrt_swdma_completed(dc->dma, DMA_WINDOW, &last, &err);
	if (unlikely(err))
		dma_reap_error(dc, k);
	return n;
}

/*
 * Nothing reaped: pause, and every DMA_SERVE_EVERY empty reaps serve the
 * engine's page requests, as an application must (the engine parks an
 * operation whose page needs the fault path; none is expected here, the
 * counters show any).
 */
static inline void
dma_empty(const struct dma_ctx *dc, enum dma_kind k, uint64_t *empty)
{
	rte_pause();
	if ((++*empty & (DMA_SERVE_EVERY - 1)) == 0 && k == DMA_ENGINE)
		mmrt_swdma_serve_faults(dc->dma, DMA_BATCH);
}

#endif /* MMRT_PERF_DMA_H */
