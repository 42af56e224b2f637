/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * perf-dma's adapter outside the fast path: set-up, start and stop of the
 * dmadev sides (dma_skeleton, dma_mmrt), their counters and their error
 * report (perf_dma.h); and the only direct calls of the engine in
 * perf-dma (swdma_*): the DMA_ENGINE side, which runs the same client
 * loop (dma_loop()) on the engine called directly, so that the difference
 * with the dma_mmrt side is the rte_dma_* dispatch.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include <mmrt_dev.h>
#include <mmrt_dma_mmrt.h>
#include <swdma.h>
#include <dma_mmrt_internal.h>

#include "perf_dma.h"

const char *const dma_kind_name[DMA_KINDS] = {
	"memcpy", "skeleton", "engine", "dma_mmrt", "mirror",
};

/* The direct engine's counters in the shape of mmrt_dma_mmrt_stats(). */
static void
dma_eng_counters(const struct dma_ctx *dc, struct mmrt_dma_mmrt_stats *st)
{
	struct swdma_stats es;
	int ret;

	ret = swdma_stats(dc->eng, &es);
	if (ret < 0)
		perf_die("swdma_stats: %s", strerror(-ret));
	memset(st, 0, sizeof(*st));
	st->submitted = es.submitted;
	st->completed = es.completed;
	st->errors = es.errors;
	st->page_faults = es.page_faults;
	st->bytes = es.bytes;
	st->parks = es.parks;
	st->resumes = es.resumes;
	st->steps = es.steps;
	st->idle_polls = es.idle_polls;
	st->consumer = es.consumer;
}

/* An operation failed: say which and how, with the engine's counters. */
void __rte_noinline __rte_cold
dma_reap_error(const struct dma_ctx *dc, enum dma_kind k)
{
	enum rte_dma_status_code st = RTE_DMA_STATUS_SUCCESSFUL;
	struct mmrt_dma_mmrt_stats es;
	uint16_t n, last = 0;
	int ret = -1;

	if (k != DMA_ENGINE)
		n = rte_dma_completed_status(dma_dev_id(dc, k), 0, 1, &last,
			&st);
	else
		n = swdma_completed_status(dc->eng, 1, &last, &st);
	if (k == DMA_ENGINE) {
		dma_eng_counters(dc, &es);
		ret = 0;
	} else if (k == DMA_MMRT || k == DMA_MIRROR) {
		ret = mmrt_dma_mmrt_stats(dma_dev_id(dc, k), &es);
	}
	if (ret == 0)
		printf("engine: %" PRIu64 " completed, %" PRIu64 " errors, %"
			PRIu64 " page faults, %" PRIu64 " parks; consumer: %"
			PRIu64 " fences, %" PRIu64 " inval descs, %" PRIu64
			" page requests, %" PRIu64 " userfaults\n",
			es.completed, es.errors, es.page_faults, es.parks,
			es.consumer.fences, es.consumer.inval_descs,
			es.consumer.page_requests, es.consumer.userfaults);
	perf_die("%s: operation %u completed with status %d (%u reported)",
		dma_kind_name[k], last, (int)st, n);
}

/* ---- the direct engine's data path: dma_loop()'s calls ---- */

static inline int
dma_eng_enq(const struct dma_ctx *dc, enum dma_kind k, uint64_t src,
	uint64_t dst, uint32_t len)
{
	RTE_SET_USED(k);
	return swdma_copy(dc->eng, src, dst, len, 0);
}

static inline void
dma_eng_doorbell(const struct dma_ctx *dc, enum dma_kind k)
{
	int ret = swdma_submit(dc->eng);

	if (unlikely(ret < 0))
		perf_die("%s: submit: %s", dma_kind_name[k], strerror(-ret));
}

static inline uint16_t
dma_eng_reap(const struct dma_ctx *dc, enum dma_kind k)
{
	uint16_t n, last;
	bool err = false;

	n = swdma_completed(dc->eng, DMA_WINDOW, &last, &err);
	if (unlikely(err))
		dma_reap_error(dc, k);
	return n;
}

/*
 * Nothing reaped: pause, and every 4096 empty reaps serve the engine's
 * page requests, as an application of the raw engine must (dma_mmrt has
 * its own thread for them; none is expected here, the counters show any).
 */
static inline void
dma_eng_empty(const struct dma_ctx *dc, enum dma_kind k, uint64_t *empty)
{
	RTE_SET_USED(k);
	rte_pause();
	if ((++*empty & 4095) == 0)
		swdma_serve_faults(dc->eng, DMA_BATCH);
}

double
dma_engine_run(const struct dma_ctx *dc, uint64_t sbase, uint64_t dbase,
	uint32_t len, uint64_t chunk, uint64_t first, uint64_t n,
	struct perf_samples *s)
{
	return dma_loop(dc, DMA_ENGINE, sbase, dbase, len, chunk, first, n,
		s, dma_eng_enq, dma_eng_doorbell, dma_eng_reap, dma_eng_empty);
}

/* dma_engine_split()'s worker: the engine stepped by the submitter. */
struct dma_split {
	const struct dma_ctx *dc;
	uint64_t sbase, dbase, first, n;
	uint32_t len;
	double *v[3];           /* cycles/op of each batch, per phase */
	uint64_t nb;            /* batches timed */
	int error;
};

static int
dma_split_main(void *arg)
{
	struct dma_split *sp = arg;
	struct swdma *eng = sp->dc->eng;
	uint64_t i = 0, off, t0, t1, t2, t3;
	unsigned int b, got;
	uint16_t last;
	bool err = false;
	int ret;

	ret = mmrt_thread_register();
	if (ret < 0) {
		sp->error = ret;
		return ret;
	}
	sp->nb = 0;
	while (i + DMA_BATCH <= sp->n) {
		t0 = rte_rdtsc();
		for (b = 0; b < DMA_BATCH; b++, i++) {
			off = ((sp->first + i) * sp->len) & (DMA_WS - 1);
			ret = swdma_copy(eng, sp->sbase + off, sp->dbase + off,
				sp->len, 0);
			if (unlikely(ret < 0))
				break;
		}
		if (ret >= 0)
			ret = swdma_submit(eng);
		t1 = rte_rdtsc();
		for (got = 0; ret >= 0 && got < DMA_BATCH; got += ret)
			ret = swdma_run(eng);
		t2 = rte_rdtsc();
		if (ret >= 0 && (swdma_completed(eng, DMA_BATCH, &last,
				&err) != DMA_BATCH || err))
			ret = -EIO;
		t3 = rte_rdtsc();
		if (ret < 0) {
			sp->error = ret;
			break;
		}
		sp->v[0][sp->nb] = (double)(t1 - t0) / DMA_BATCH;
		sp->v[1][sp->nb] = (double)(t2 - t1) / DMA_BATCH;
		sp->v[2][sp->nb] = (double)(t3 - t2) / DMA_BATCH;
		sp->nb++;
	}
	mmrt_thread_unregister();
	return sp->error;
}

void
dma_engine_split(const struct dma_ctx *dc, uint64_t sbase, uint64_t dbase,
	uint32_t len, uint64_t first, uint64_t n, double out[3])
{
	struct dma_split sp;
	unsigned int j;
	int ret;

	memset(&sp, 0, sizeof(sp));
	sp.dc = dc;
	sp.sbase = sbase;
	sp.dbase = dbase;
	sp.len = len;
	sp.first = first;
	sp.n = n;
	for (j = 0; j < 3; j++) {
		sp.v[j] = malloc((n / DMA_BATCH + 1) * sizeof(double));
		if (sp.v[j] == NULL)
			perf_die("out of memory for the split");
	}
	ret = app_worker_launch(dma_split_main, &sp, DMA_ENGINE_LCORE);
	if (ret == 0)
		ret = app_worker_wait(DMA_ENGINE_LCORE);
	if (ret < 0 || sp.nb == 0)
		perf_die("split worker: %s", strerror(ret < 0 ? -ret : EIO));
	for (j = 0; j < 3; j++) {
		out[j] = app_median(sp.v[j], sp.nb);
		free(sp.v[j]);
	}
}

/*
 * Probe the skeleton and set up its one vchan; on failure leave dc->skel
 * at -1 with the reason.
 */
void
dma_skel_setup(struct dma_ctx *dc)
{
	struct rte_dma_conf conf = { .nb_vchans = 1 };
	struct rte_dma_vchan_conf vconf = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
		.nb_desc = DMA_NB_DESC,
	};
	struct rte_dma_info info;
	int id, ret;

	dc->skel = -1;
	ret = rte_eal_hotplug_add("vdev", DMA_SKEL_NAME, DMA_SKEL_ARGS);
	if (ret < 0) {
		snprintf(dc->skel_skip, sizeof(dc->skel_skip),
			"probing vdev %s,%s failed: %s (no dma_skeleton "
			"driver?)", DMA_SKEL_NAME, DMA_SKEL_ARGS,
			strerror(-ret));
		return;
	}
	dc->skel_probed = true;
	id = rte_dma_get_dev_id_by_name(DMA_SKEL_NAME);
	if (id < 0) {
		snprintf(dc->skel_skip, sizeof(dc->skel_skip),
			"%s probed but no dmadev of that name", DMA_SKEL_NAME);
		return;
	}
	if (rte_eal_iova_mode() != RTE_IOVA_VA) {
		snprintf(dc->skel_skip, sizeof(dc->skel_skip),
			"IOVA mode is not VA");
		return;
	}
	ret = rte_dma_info_get(id, &info);
	if (ret == 0)
		ret = rte_dma_configure(id, &conf);
	if (ret == 0)
		ret = rte_dma_vchan_setup(id, 0, &vconf);
	if (ret < 0) {
		snprintf(dc->skel_skip, sizeof(dc->skel_skip),
			"set-up of %s failed: %s", DMA_SKEL_NAME,
			strerror(-ret));
		return;
	}
	dc->skel = (int16_t)id;
	printf("skeleton: %s dev %d, %u..%u descriptors, nb_desc %u, copy "
		"thread on lcore %u's cpu\n", DMA_SKEL_NAME, id,
		info.min_desc, info.max_desc, DMA_NB_DESC, DMA_ENGINE_LCORE);
}

void
dma_engine_setup(struct dma_ctx *dc)
{
	struct swdma_conf conf;
	struct swdma *eng;
	int ret;

	memset(&conf, 0, sizeof(conf));
	conf.name = "perf-dma";
	conf.nb_desc = DMA_NB_DESC;
	conf.burst = SWDMA_BURST_DEFAULT;
	conf.idle = SWDMA_IDLE_PAUSE;
	conf.consumer.ack_deadline_us = DMA_ACK_DEADLINE_US;
	eng = swdma_create(&conf);
	if (eng == NULL)
		perf_die("swdma_create: %s", strerror(rte_errno));
	ret = swdma_bind(eng, dc->as);
	if (ret < 0)
		perf_die("swdma_bind: %s", strerror(-ret));
	dc->eng = eng;
	printf("engine called directly (the dispatch anchor): nb_desc %u, burst %u, idle pause, device TLB %u x %u,"
		" on lcore %u\n", DMA_NB_DESC, SWDMA_BURST_DEFAULT,
		MMRT_CONSUMER_TLB_SETS_DEFAULT, MMRT_CONSUMER_TLB_WAYS_DEFAULT,
		DMA_ENGINE_LCORE);
}

void
dma_mmrt_setup(struct dma_ctx *dc)
{
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
		.nb_desc = DMA_NB_DESC,
	};
	struct rte_dma_conf conf = { .nb_vchans = 1 };
	char args[160];
	int id, ret;

	dc->mmrt_dev = -1;
	/* keeps libmmrt_pmd_dma_mmrt (and its driver) linked in */
	if (!mmrt_dma_mmrt_registered()) {
		snprintf(dc->mmrt_skip, sizeof(dc->mmrt_skip),
			"the dma_mmrt driver is not registered");
		return;
	}
	snprintf(args, sizeof(args), "as=%s,lcore=%u,ack_us=%u",
		mmrt_as_name(dc->as), DMA_ENGINE_LCORE, DMA_ACK_DEADLINE_US);
	ret = rte_eal_hotplug_add("vdev", DMA_MMRT_NAME, args);
	if (ret < 0) {
		snprintf(dc->mmrt_skip, sizeof(dc->mmrt_skip),
			"probing vdev %s failed: %s", DMA_MMRT_NAME,
			strerror(-ret));
		return;
	}
	dc->mmrt_probed = true;
	id = rte_dma_get_dev_id_by_name(DMA_MMRT_NAME);
	if (id < 0 || rte_dma_configure(id, &conf) < 0 ||
			rte_dma_vchan_setup(id, 0, &vc) < 0) {
		snprintf(dc->mmrt_skip, sizeof(dc->mmrt_skip),
			"set-up of %s failed", DMA_MMRT_NAME);
		return;
	}
	dc->mmrt_dev = (int16_t)id;
	printf("dma_mmrt: %s dev %d (%s), nb_desc %u\n", DMA_MMRT_NAME, id,
		args, DMA_NB_DESC);
}

void
dma_mirror_setup(struct dma_ctx *dc)
{
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
		.nb_desc = DMA_NB_DESC,
	};
	struct rte_dma_conf conf = { .nb_vchans = 1 };
	char args[96];
	int id, ret;

	dc->mirror_dev = -1;
	if (rte_lcore_count() <= DMA_MIRROR_LCORE) {
		snprintf(dc->mirror_skip, sizeof(dc->mirror_skip),
			"no lcore %u for its engine", DMA_MIRROR_LCORE);
		return;
	}
	dc->msrc = rte_malloc("perf-dma-msrc", DMA_WS, MMRT_PAGE_SIZE);
	dc->mdst = rte_malloc("perf-dma-mdst", DMA_WS, MMRT_PAGE_SIZE);
	if (dc->msrc == NULL || dc->mdst == NULL) {
		snprintf(dc->mirror_skip, sizeof(dc->mirror_skip),
			"no 2 x %" PRIu64 " MiB of DPDK memory", DMA_WS >> 20);
		return;
	}
	memset(dc->msrc, 0, DMA_WS);
	memset(dc->mdst, 0, DMA_WS);
	dc->msrc_iova = rte_malloc_virt2iova(dc->msrc);
	dc->mdst_iova = rte_malloc_virt2iova(dc->mdst);
	/* the loop walks IOVAs linearly: each buffer must be contiguous */
	if (rte_mem_virt2iova(dc->msrc + DMA_WS - 1) !=
			dc->msrc_iova + DMA_WS - 1 ||
			rte_mem_virt2iova(dc->mdst + DMA_WS - 1) !=
			dc->mdst_iova + DMA_WS - 1) {
		snprintf(dc->mirror_skip, sizeof(dc->mirror_skip),
			"the DPDK buffers are not IOVA-contiguous");
		return;
	}
	snprintf(args, sizeof(args), "lcore=%u,ack_us=%u", DMA_MIRROR_LCORE,
		DMA_ACK_DEADLINE_US);
	ret = rte_eal_hotplug_add("vdev", DMA_MIRROR_NAME, args);
	if (ret < 0) {
		snprintf(dc->mirror_skip, sizeof(dc->mirror_skip),
			"probing vdev %s failed: %s", DMA_MIRROR_NAME,
			strerror(-ret));
		return;
	}
	dc->mirror_probed = true;
	id = rte_dma_get_dev_id_by_name(DMA_MIRROR_NAME);
	if (id < 0 || rte_dma_configure(id, &conf) < 0 ||
			rte_dma_vchan_setup(id, 0, &vc) < 0) {
		snprintf(dc->mirror_skip, sizeof(dc->mirror_skip),
			"set-up of %s failed", DMA_MIRROR_NAME);
		return;
	}
	dc->mirror_dev = (int16_t)id;
	printf("dma_mmrt mirror: %s dev %d (%s), nb_desc %u, 2 x %" PRIu64
		" MiB of rte_malloc memory by IOVA\n", DMA_MIRROR_NAME, id,
		args, DMA_NB_DESC, DMA_WS >> 20);
}

void
dma_engines_teardown(struct dma_ctx *dc)
{
	int ret;

	if (dc->mirror_probed) {
		if (dc->mirror_dev >= 0)
			rte_dma_close(dc->mirror_dev);
		if (rte_eal_hotplug_remove("vdev", DMA_MIRROR_NAME) < 0)
			printf("warning: removing vdev %s failed\n",
				DMA_MIRROR_NAME);
		dc->mirror_probed = false;
		dc->mirror_dev = -1;
	}
	rte_free(dc->msrc);
	rte_free(dc->mdst);
	dc->msrc = dc->mdst = NULL;

	if (dc->mmrt_probed) {
		if (dc->mmrt_dev >= 0)
			rte_dma_close(dc->mmrt_dev);
		if (rte_eal_hotplug_remove("vdev", DMA_MMRT_NAME) < 0)
			printf("warning: removing vdev %s failed\n",
				DMA_MMRT_NAME);
		dc->mmrt_probed = false;
		dc->mmrt_dev = -1;
	}

	ret = swdma_destroy(dc->eng);
	if (ret < 0)
		perf_die("swdma_destroy: %s", strerror(-ret));
	dc->eng = NULL;
	if (dc->skel_probed &&
			rte_eal_hotplug_remove("vdev", DMA_SKEL_NAME) < 0)
		printf("warning: removing vdev %s failed\n", DMA_SKEL_NAME);
	dc->skel_probed = false;
}

/* Add @p b's counters to @p a. */
static void
dma_stats_add(struct mmrt_dma_mmrt_stats *a,
	const struct mmrt_dma_mmrt_stats *b)
{
	a->submitted += b->submitted;
	a->completed += b->completed;
	a->errors += b->errors;
	a->page_faults += b->page_faults;
	a->bytes += b->bytes;
	a->parks += b->parks;
	a->resumes += b->resumes;
	a->steps += b->steps;
	a->idle_polls += b->idle_polls;
	a->consumer.tlb_hits += b->consumer.tlb_hits;
	a->consumer.tlb_misses += b->consumer.tlb_misses;
	a->consumer.inval_descs += b->consumer.inval_descs;
	a->consumer.entries_dropped += b->consumer.entries_dropped;
	a->consumer.acks += b->consumer.acks;
	a->consumer.fences += b->consumer.fences;
	a->consumer.page_requests += b->consumer.page_requests;
}

void
dma_side_run(struct dma_ctx *dc, enum dma_kind k, bool run)
{
	struct mmrt_dma_mmrt_stats st;
	int ret = 0;

	/* before a stop: the engine's consumer was never fenced */
	if (!run && (k == DMA_ENGINE || k == DMA_MMRT || k == DMA_MIRROR)) {
		dma_engine_stats(dc, k, &st);
		if (st.consumer.fences != 0)
			perf_die("%s: the engine's consumer was fenced %"
				PRIu64 " times", dma_kind_name[k],
				st.consumer.fences);
		if (k == DMA_MMRT)
			dma_stats_add(&dc->tot, &st);
	}
	if (run && k == DMA_MMRT)
		ret = dmm_perf_lookahead(dma_dev_id(dc, k), dc->lookahead);
	if (ret < 0)
		perf_die("%s: lookahead: %s", dma_kind_name[k],
			strerror(-ret));
	if (k == DMA_SKEL || k == DMA_MMRT || k == DMA_MIRROR)
		ret = run ? rte_dma_start(dma_dev_id(dc, k)) :
			rte_dma_stop(dma_dev_id(dc, k));
	else if (k == DMA_ENGINE)
		ret = run ? swdma_start(dc->eng, DMA_ENGINE_LCORE) :
			swdma_stop(dc->eng);
	if (ret == 0 && run && k == DMA_MMRT && dc->guarded)
		ret = dmm_perf_dp_guarded(dma_dev_id(dc, k), true);
	if (ret < 0)
		perf_die("%s: %s: %s", dma_kind_name[k],
			run ? "start" : "stop", strerror(-ret));
}

void
dma_engine_stats(const struct dma_ctx *dc, enum dma_kind k,
	struct mmrt_dma_mmrt_stats *st)
{
	int ret;

	if (k == DMA_ENGINE) {
		dma_eng_counters(dc, st);
		return;
	}
	ret = mmrt_dma_mmrt_stats(dma_dev_id(dc, k), st);
	if (ret < 0)
		perf_die("mmrt_dma_mmrt_stats(%s): %s", dma_kind_name[k],
			strerror(-ret));
}

/* Engine counters over one pass, per operation. */
void
dma_engine_print(const struct mmrt_dma_mmrt_stats *a,
	const struct mmrt_dma_mmrt_stats *b, const char *what)
{
	uint64_t ops = b->completed - a->completed;
	uint64_t steps = b->steps - a->steps;

	if (ops == 0)
		return;
	printf("    engine %s: %" PRIu64 " ops, %.1f ops/step, %.3f TLB "
		"misses/op, %.3f hits/op, %" PRIu64 " idle polls, %" PRIu64
		" inval descs, %" PRIu64 " errors, %" PRIu64 " parks\n", what,
		ops, steps > 0 ? (double)ops / steps : 0.0,
		(double)(b->consumer.tlb_misses - a->consumer.tlb_misses) /
		ops, (double)(b->consumer.tlb_hits - a->consumer.tlb_hits) /
		ops, b->idle_polls - a->idle_polls,
		b->consumer.inval_descs - a->consumer.inval_descs,
		b->errors - a->errors, b->parks - a->parks);
}
