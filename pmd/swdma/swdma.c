/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * swdma: the software DMA engine (swdma.h).
 *
 * Descriptor ring: one array of nb_desc slots and four free-running
 * counters, each written by one side:
 *
 *   enq      submitter: slots written so far
 *   sub      submitter: slots the engine may start (release at submit)
 *   done     engine:    slots finished, status written (release per step)
 *   cpl      submitter: slots reported and free again
 *
 * with cpl <= done <= sub <= enq <= cpl + nb_desc - 1. A slot is
 *   free:        cpl <= idx - nb_desc ... i.e. idx < cpl + nb_desc, idx >= enq
 *   enqueued:    sub <= idx < enq           (submitter owns it)
 *   submitted:   done <= idx < sub          (the engine owns it)
 *   finished:    cpl <= idx < done          (status readable by submitter)
 * Transitions: copy/fill (free -> enqueued), submit (-> submitted, release
 * store of sub, pairs with the engine's acquire load), the engine's step
 * (-> finished, release store of done after the statuses, pairs with the
 * submitter's acquire load), completed (-> free, submitter-local).
 *
 * The engine runs the op at `done` to completion, or parks it: a parked op
 * keeps its progress (bytes done, a clean offset: pmd_walk.h) and stays at
 * `done`, so the ops behind it wait. Between operations (every
 * SWDMA_POLL_EVERY ops or SWDMA_POLL_BYTES, and at each step) the engine
 * polls its consumer, which acks pending invalidations: no translation an
 * acked invalidation covers is used after it. The engine keeps its last
 * translation of each side across polls (pmd_walk.h's L0, which serves
 * most small copies without a walk: run_cached()) and drops it at a poll
 * that processed any descriptor.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_memcpy.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_spinlock.h>
#if defined(RTE_ARCH_X86)
#include <cpuid.h>
#endif

#include "core_namelist.h"
#include "core_testhooks.h"
#include "swdma.h"
#include "pmd_status.h"
#include "pmd_walk.h"

#define SWDMA_MAGIC 0x6d6d7377u /* "mmsw" */
/* Acks inside a step: after SWDMA_POLL_EVERY ops, or sooner once they
 * moved SWDMA_POLL_BYTES (every 4 ops of 4 KiB; 16 ops of 64 B take a
 * few hundred nanoseconds, so small ops ack as soon all the same) */
#define SWDMA_POLL_EVERY 16
#define SWDMA_POLL_BYTES (16u * 1024)
/* copies up to this many bytes: rte_memcpy() inline, no library call */
#define SWDMA_SMALL_COPY 256
#define SWDMA_PREFETCH_AHEAD 32 /* slots: the ring line enqueue asks for */

extern int mmrt_logtype_swdma __attribute__((visibility("hidden")));
RTE_LOG_REGISTER(mmrt_logtype_swdma, pmd.dma.mmrt.swdma, INFO);
#define SW_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, mmrt_logtype_swdma, \
		"swdma: " fmt "\n", ##__VA_ARGS__)

enum { OP_COPY = 1, OP_FILL = 2, OP_SG = 3 };

struct swdma_desc {
	uint64_t src;      /* copy: source va; fill: the pattern */
	uint64_t dst;      /* sg: unused (the lists are in sg[slot]) */
	uint32_t len;      /* sg: the total */
	uint16_t status;   /* enum rte_dma_status_code, set by the engine */
	uint8_t op;
	uint8_t pad;
};

/* A scatter-gather copy's lists, one per ring slot (written by the
 * submitter with the slot, read by the engine once submitted). */
struct swdma_sg {
	struct rte_dma_sge src[SWDMA_MAX_SGES];
	struct rte_dma_sge dst[SWDMA_MAX_SGES];
	uint16_t nb_src;
	uint16_t nb_dst;
};

struct swdma {
	uint32_t magic;
	char name[SWDMA_NAME_SIZE];
	struct swdma_conf conf;
	struct mmrt_consumer *c;
	struct mmrt_as *as;                 /* bound space (control side) */
	struct swdma_desc *ring;
	struct swdma_sg *sg;                /* nb_desc entries */
	uint32_t mask;
	bool bound;

	/* submitter side */
	uint64_t enq __rte_cache_aligned;
	uint64_t cpl;
	uint64_t sub_local;
	bool pfw;                           /* the CPU has PREFETCHW */

	/* shared counters, one line each */
	uint64_t sub __rte_cache_aligned;   /* release by submitter */
	uint64_t done __rte_cache_aligned;  /* release by engine */
	uint64_t done_errs;                 /* ops before done that failed */

	/* submitter side, read with done */
	uint64_t errs_seen __rte_cache_aligned; /* ... that were reported */

	/* engine side */
	uint64_t progress __rte_cache_aligned; /* bytes of op `done` done */
	uint64_t park_since;                /* tsc, 0: not parked */
	uint64_t park_va;                   /* address it parks on now */
	uint64_t park_page;                 /* page its timeout runs for */
	uint64_t park_off;                  /* op offset at that park */
	uint64_t park_cycles;
	uint32_t backoff_us;
	int run_owner;                      /* QSBR id of the stepping thread */
	struct pmd_xcache xc;               /* last translations (pmd_walk.h) */

	/* control */
	int lcore;                          /* -1: not started */
	uint32_t stop;
	uint32_t running;
	struct core_namelist_node next;     /* engines, under its lock */

	/* stats: engine-written (single writer), read relaxed */
	struct swdma_stats st;
	uint64_t submitted;                 /* submitter-written */
};

/*
 * Every engine of this process, a named list (core_namelist.h): an
 * engine takes its name there before its consumer (of the same name) is
 * made, and becomes live (swdma_live()) once built. Unnamed engines are
 * "swdma<N>".
 */
static struct core_namelist engines = CORE_NAMELIST_INITIALIZER(engines);
static const struct core_namelist_kind swdma_kind = CORE_NAMELIST_KIND(
	struct swdma, next, name, magic, SWDMA_MAGIC, "swdma", 0, NULL);

static bool
swdma_live(const struct swdma *d)
{
	return core_namelist_live(&swdma_kind, d);
}

/* ---- control ----------------------------------------------------------- */

/* PREFETCHW: CPUID 0x80000001, ECX bit 8 (enqueue_prefetch()). */
static bool
has_prefetchw(void)
{
#if defined(RTE_ARCH_X86)
	unsigned int a, b, c, d;

	return __get_cpuid(0x80000001u, &a, &b, &c, &d) &&
		(c & (1u << 8)) != 0;
#else
	return false;
#endif
}

struct swdma *
swdma_create(const struct swdma_conf *conf)
{
	struct swdma_conf cf;
	struct mmrt_consumer_conf cc;
	struct swdma *d;
	int ret;

	memset(&cf, 0, sizeof(cf));
	if (conf != NULL)
		cf = *conf;
	if (cf.nb_desc == 0)
		cf.nb_desc = SWDMA_NB_DESC_DEFAULT;
	if (cf.burst == 0)
		cf.burst = SWDMA_BURST_DEFAULT;
	if (cf.backoff_max_us == 0)
		cf.backoff_max_us = SWDMA_BACKOFF_MAX_US_DEFAULT;
	if (cf.park_timeout_us == 0)
		cf.park_timeout_us = SWDMA_PARK_TIMEOUT_US_DEFAULT;
	cc = cf.consumer;
	if (cc.ack_deadline_us == 0)
		cc.ack_deadline_us = MMRT_CONSUMER_ACK_DEADLINE_US_DEFAULT;
	if (cf.nb_desc < SWDMA_NB_DESC_MIN ||
			cf.nb_desc > SWDMA_NB_DESC_MAX ||
			!rte_is_power_of_2(cf.nb_desc) ||
			cf.burst > cf.nb_desc ||
			(unsigned int)cf.idle > SWDMA_IDLE_BACKOFF ||
			cf.backoff_max_us >= cc.ack_deadline_us ||
			cf.park_timeout_us > UINT64_C(3600000000)) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (cf.name != NULL && !core_namelist_name_ok(&swdma_kind, cf.name)) {
		rte_errno = EINVAL;
		return NULL;
	}
	d = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc("swdma", sizeof(*d), RTE_CACHE_LINE_SIZE);
	if (d == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	d->ring = TEST_ALLOC_FAIL() ? NULL : rte_zmalloc("swdma_ring",
		(size_t)cf.nb_desc * sizeof(*d->ring), RTE_CACHE_LINE_SIZE);
	d->sg = rte_zmalloc("swdma_sg",
		(size_t)cf.nb_desc * sizeof(*d->sg), RTE_CACHE_LINE_SIZE);
	if (d->ring == NULL || d->sg == NULL) {
		rte_free(d->sg);
		rte_free(d->ring);
		rte_free(d);
		rte_errno = ENOMEM;
		return NULL;
	}
	ret = core_namelist_reserve(&engines, &swdma_kind, d, cf.name);
	if (ret == 0) {
		cc.name = d->name;
		d->c = mmrt_consumer_create(&cc);
		if (d->c == NULL) {
			ret = -rte_errno;
			core_namelist_del(&engines, &swdma_kind, d);
		}
	}
	if (ret != 0) {
		rte_free(d->sg);
		rte_free(d->ring);
		rte_free(d);
		rte_errno = -ret;
		return NULL;
	}
	cf.name = NULL;
	d->conf = cf;
	d->pfw = has_prefetchw();
	d->mask = cf.nb_desc - 1;
	d->park_cycles = cf.park_timeout_us * rte_get_timer_hz() / 1000000;
	d->lcore = -1;
	d->run_owner = -1;
	core_namelist_publish(&swdma_kind, d);
	return d;
}

int
swdma_destroy(struct swdma *d)
{
	if (!swdma_live(d))
		return -EINVAL;
	if (d->lcore >= 0)
		swdma_stop(d);
	if (d->bound)
		mmrt_consumer_unbind(d->c);
	/* off the list first: a walk (swdma_foreach) that finds the
	 * engine finds its consumer live */
	core_namelist_del(&engines, &swdma_kind, d);
	mmrt_consumer_destroy(d->c);
	rte_free(d->sg);
	rte_free(d->ring);
	rte_free(d);
	return 0;
}

int
swdma_free_dead(struct swdma *d, uint64_t *submitted)
{
	if (!swdma_live(d))
		return -EINVAL;
	if (submitted != NULL)
		*submitted = __atomic_load_n(&d->submitted, __ATOMIC_RELAXED);
	d->magic = 0;
	rte_free(d->sg);
	rte_free(d->ring);
	rte_free(d);
	return 0;
}

int
swdma_bind(struct swdma *d, struct mmrt_as *as)
{
	int id;

	if (!swdma_live(d) || as == NULL)
		return -EINVAL;
	if (d->lcore >= 0 || d->bound)
		return -EBUSY;
	pmd_xcache_drop(&d->xc);
	id = mmrt_consumer_bind(d->c, as);
	if (id > 0) {
		d->xc.as = d->conf.lookahead ? as : NULL;
		d->bound = true;
		d->as = as;
	}
	return id;
}

/*
 * The binding is gone (engine stopped): every operation not finished yet,
 * submitted or only enqueued, completes with RTE_DMA_STATUS_BUS_ERROR, so
 * none of them runs against a space bound later.
 */
static void
fail_outstanding(struct swdma *d)
{
	uint64_t i, n = d->enq - d->done;

	for (i = d->done; i < d->enq; i++)
		d->ring[i & d->mask].status = RTE_DMA_STATUS_BUS_ERROR;
	__atomic_store_n(&d->submitted, d->submitted + d->enq - d->sub_local,
		__ATOMIC_RELAXED);
	d->sub_local = d->enq;
	__atomic_store_n(&d->sub, d->enq, __ATOMIC_RELEASE);
	d->progress = 0;
	d->park_since = 0;
	__atomic_store_n(&d->done_errs, d->done_errs + n, __ATOMIC_RELAXED);
	__atomic_store_n(&d->done, d->enq, __ATOMIC_RELEASE);
	PMD_ST_ADD(d, completed, n);
	PMD_ST_ADD(d, errors, n);
}

int
swdma_unbind(struct swdma *d)
{
	int ret;

	if (!swdma_live(d))
		return -EINVAL;
	if (d->lcore >= 0)
		return -EBUSY;
	if (!d->bound)
		return -ENOTCONN;
	ret = mmrt_consumer_unbind(d->c);
	pmd_xcache_drop(&d->xc);
	d->xc.as = NULL;
	d->bound = false;
	d->as = NULL;
	fail_outstanding(d);
	return ret == -ENOTCONN ? 0 : ret;
}

struct mmrt_consumer *
swdma_consumer(struct swdma *d)
{
	return swdma_live(d) ? d->c : NULL;
}

int
swdma_serve_faults(struct swdma *d, unsigned int max)
{
	if (!swdma_live(d))
		return -EINVAL;
	return mmrt_consumer_serve_faults(d->c, max);
}

/* ---- data path: submitter ---------------------------------------------- */

#define OP_FLAGS (RTE_DMA_OP_FLAG_FENCE | RTE_DMA_OP_FLAG_SUBMIT | \
	RTE_DMA_OP_FLAG_LLC)

/*
 * [@va, @va + @len) is a non-empty range of the address space (below
 * MMRT_VA_LIMIT, any alignment). The one range check of this file.
 */
static inline bool
range_ok(uint64_t va, uint64_t len)
{
	return mmrt_range_valid(va, len);
}

/*
 * The engine read the slots ahead when it ran their last operations, so
 * their lines sit shared in its cache: ask for ownership of the line
 * SWDMA_PREFETCH_AHEAD slots on now, so that the transfer overlaps the
 * enqueues in between instead of stalling the store that needs it. Only
 * for a free slot (one the engine is done with).
 *
 * rte_prefetch0_write() cannot ask for ownership here: DPDK's baseline
 * -march (corei7) has no PREFETCHW, and gcc emits nothing for it. So the
 * instruction itself, where CPUID said the CPU has it (swdma_create());
 * elsewhere a read prefetch, which brings the line at least.
 */
static inline void
enqueue_prefetch(struct swdma *d, uint64_t idx)
{
	const void *p;

	if (idx + SWDMA_PREFETCH_AHEAD - d->cpl >= d->mask)
		return;
	p = &d->ring[(idx + SWDMA_PREFETCH_AHEAD) & d->mask];
#if defined(RTE_ARCH_X86)
	if (likely(d->pfw)) {
		__asm__ volatile("prefetchw %0" : : "m" (*(const char *)p));
		return;
	}
#endif
	rte_prefetch0(p);
}

/* Publish slot @idx (written) and ring the doorbell if @flags asks. */
static inline int
enqueue_done(struct swdma *d, uint64_t idx, uint64_t flags)
{
	d->enq = idx + 1;
	if (flags & RTE_DMA_OP_FLAG_SUBMIT) {
		__atomic_store_n(&d->submitted, d->submitted + idx + 1 -
			d->sub_local, __ATOMIC_RELAXED);
		d->sub_local = idx + 1;
		/* release: the descriptors before the new limit */
		__atomic_store_n(&d->sub, idx + 1, __ATOMIC_RELEASE);
	}
	return (int)(idx & 0xffff);
}

static inline int
enqueue(struct swdma *d, uint8_t op, uint64_t src, uint64_t dst,
	uint32_t len, uint64_t flags)
{
	struct swdma_desc *s;
	uint64_t idx;

	if (unlikely(!swdma_live(d) || (flags & ~OP_FLAGS) ||
			!range_ok(dst, len) ||
			(op == OP_COPY && (!range_ok(src, len) ||
			(src < dst + len && dst < src + len)))))
		return -EINVAL;
	idx = d->enq;
	if (unlikely(idx - d->cpl >= d->mask))
		return -ENOSPC;
	enqueue_prefetch(d, idx);
	s = &d->ring[idx & d->mask];
	s->src = src;
	s->dst = dst;
	s->len = len;
	s->op = op;
	s->status = RTE_DMA_STATUS_SUCCESSFUL;
	return enqueue_done(d, idx, flags);
}

/* The segments of one side: 1..SWDMA_MAX_SGES non-empty ranges;
 * @total gets their sum (at most UINT32_MAX). */
static inline bool
sges_ok(const struct rte_dma_sge *g, uint16_t nb, uint64_t *total)
{
	uint64_t t = 0;
	uint16_t i;

	if (g == NULL || nb == 0 || nb > SWDMA_MAX_SGES)
		return false;
	for (i = 0; i < nb; i++) {
		if (!range_ok(g[i].addr, g[i].length))
			return false;
		t += g[i].length;
	}
	*total = t;
	return t <= UINT32_MAX;
}

int
swdma_copy_sg(struct swdma *d, const struct rte_dma_sge *src,
	const struct rte_dma_sge *dst, uint16_t nb_src, uint16_t nb_dst,
	uint64_t flags)
{
	uint64_t idx, ts, td;
	struct swdma_desc *s;
	struct swdma_sg *g;
	uint16_t i, j;

	if (unlikely(!swdma_live(d) || (flags & ~OP_FLAGS) ||
			!sges_ok(src, nb_src, &ts) ||
			!sges_ok(dst, nb_dst, &td) || ts != td))
		return -EINVAL;
	/* no source segment may overlap a destination segment */
	for (i = 0; i < nb_src; i++)
		for (j = 0; j < nb_dst; j++)
			if (src[i].addr < dst[j].addr + dst[j].length &&
					dst[j].addr < src[i].addr +
					src[i].length)
				return -EINVAL;
	idx = d->enq;
	if (unlikely(idx - d->cpl >= d->mask))
		return -ENOSPC;
	g = &d->sg[idx & d->mask];
	memcpy(g->src, src, nb_src * sizeof(*src));
	memcpy(g->dst, dst, nb_dst * sizeof(*dst));
	g->nb_src = nb_src;
	g->nb_dst = nb_dst;
	s = &d->ring[idx & d->mask];
	s->src = 0;
	s->dst = 0;
	s->len = (uint32_t)ts;
	s->op = OP_SG;
	s->status = RTE_DMA_STATUS_SUCCESSFUL;
	return enqueue_done(d, idx, flags);
}

int
swdma_copy(struct swdma *d, uint64_t src, uint64_t dst,
	uint32_t len, uint64_t flags)
{
	return enqueue(d, OP_COPY, src, dst, len, flags);
}

int
swdma_fill(struct swdma *d, uint64_t pattern, uint64_t dst,
	uint32_t len, uint64_t flags)
{
	return enqueue(d, OP_FILL, pattern, dst, len, flags);
}

int
swdma_submit(struct swdma *d)
{
	if (!swdma_live(d))
		return -EINVAL;
	if (d->sub_local != d->enq) {
		__atomic_store_n(&d->submitted, d->submitted + d->enq -
			d->sub_local, __ATOMIC_RELAXED);
		d->sub_local = d->enq;
		__atomic_store_n(&d->sub, d->enq, __ATOMIC_RELEASE);
	}
	return 0;
}

/*
 * Reports without reading the statuses: when the engine published no
 * failure the submitter has not reported yet (done_errs, stored before
 * the release of done, counts every failed op below the done loaded, and
 * maybe some after), every op below done succeeded.
 */
uint16_t
swdma_completed(struct swdma *d, uint16_t nb_cpls,
	uint16_t *last_idx, bool *has_error)
{
	uint64_t done, n;

	if (!swdma_live(d)) {
		if (has_error != NULL)
			*has_error = false;
		return 0;
	}
	/* acquire: pairs with the engine's release of done */
	done = __atomic_load_n(&d->done, __ATOMIC_ACQUIRE);
	if (unlikely(__atomic_load_n(&d->done_errs, __ATOMIC_RELAXED) !=
			d->errs_seen))
		return pmd_reap_ok(PMD_REAP_RING(d->ring), d->mask, &d->done,
			&d->cpl, nb_cpls, last_idx, has_error);
	n = RTE_MIN(done - d->cpl, (uint64_t)nb_cpls);
	d->cpl += n;
	if (last_idx != NULL)
		*last_idx = (uint16_t)((d->cpl - 1) & 0xffff);
	if (has_error != NULL)
		*has_error = false;
	return (uint16_t)n;
}

uint16_t
swdma_completed_status(struct swdma *d, uint16_t nb_cpls,
	uint16_t *last_idx, enum rte_dma_status_code *status)
{
	uint16_t n, i;

	if (!swdma_live(d) || status == NULL)
		return 0;
	n = pmd_reap_status(PMD_REAP_RING(d->ring), d->mask, &d->done,
		&d->cpl, nb_cpls, last_idx, status);
	for (i = 0; i < n; i++)
		if (status[i] != RTE_DMA_STATUS_SUCCESSFUL)
			d->errs_seen++;
	return n;
}

int
swdma_op_get(const struct swdma *d, uint16_t idx, struct swdma_op *op)
{
	const struct swdma_desc *s;
	const struct swdma_sg *g;
	uint32_t slot;

	if (!swdma_live(d) || op == NULL)
		return -EINVAL;
	/* nb_desc divides 65536: the index's low bits are the slot */
	slot = idx & d->mask;
	s = &d->ring[slot];
	memset(op, 0, sizeof(*op));
	op->len = s->len;
	if (s->op == OP_SG) {
		g = &d->sg[slot];
		op->src = g->src[0].addr;
		op->dst = g->dst[0].addr;
		op->nb_src = (uint8_t)g->nb_src;
		op->nb_dst = (uint8_t)g->nb_dst;
	} else {
		op->src = s->src;
		op->dst = s->dst;
		op->fill = s->op == OP_FILL;
	}
	return 0;
}

uint16_t
swdma_burst_capacity(const struct swdma *d)
{
	if (!swdma_live(d))
		return 0;
	return (uint16_t)(d->mask - (d->enq - d->cpl));
}

int
swdma_stats(struct swdma *d, struct swdma_stats *st)
{
	if (!swdma_live(d) || st == NULL)
		return -EINVAL;
#define LD(f) st->f = __atomic_load_n(&d->st.f, __ATOMIC_RELAXED)
	LD(completed);
	LD(errors);
	LD(page_faults);
	LD(bytes);
	LD(parks);
	LD(resumes);
	LD(steps);
	LD(idle_polls);
#undef LD
	st->submitted = __atomic_load_n(&d->submitted, __ATOMIC_RELAXED);
	return mmrt_consumer_stats(d->c, &st->consumer);
}

/* ---- the engine -------------------------------------------------------- */

/* Write @n bytes of the 8-byte @pattern at @p, @off bytes into the op. */
static void
fill_bytes(uint8_t *p, uint64_t pattern, uint64_t off, uint64_t n)
{
	uint64_t i = 0;

	/* byte k of the target is byte (k % 8) of the pattern */
	while (i < n && ((off + i) & 7) != 0) {
		p[i] = (uint8_t)(pattern >> (8 * ((off + i) & 7)));
		i++;
	}
	for (; i + 8 <= n; i += 8)
		memcpy(p + i, &pattern, 8);
	for (; i < n; i++)
		p[i] = (uint8_t)(pattern >> (8 * ((off + i) & 7)));
}

/*
 * 16..64 bytes: four 16-byte moves at 0, b, n - 16 - b and n - 16, with
 * b = 16 above 32 bytes, else n - 16: they cover [0, n) and overlap where
 * n < 64 (the ranges themselves never overlap: enqueue refused that).
 * No size dispatch: the small operations' whole copy.
 */
static __rte_always_inline void
copy_16_64(uint8_t *dst, const uint8_t *src, uint64_t n)
{
	uint64_t b = n > 32 ? 16 : n - 16;

	rte_mov16(dst, src);
	rte_mov16(dst + b, src + b);
	rte_mov16(dst + n - 16 - b, src + n - 16 - b);
	rte_mov16(dst + n - 16, src + n - 16);
}

static __rte_always_inline void
engine_copy(void *dst, const void *src, uint64_t n)
{
	if (n - 16 <= 64 - 16)
		copy_16_64(dst, src, n);
	else if (n <= SWDMA_SMALL_COPY)
		rte_memcpy(dst, src, n);
	else
		memcpy(dst, src, n);
}

/*
 * Ops @i, @i + 1, ... before @lim, as long as each is a copy whose source
 * and destination lie in the leaf last translated for that side
 * (pmd_walk.h's L0), nothing is parked, and fewer than @room bytes were
 * moved: run at once, with no walk (nothing of them can fault). The small
 * operations' common case, in a loop of its own: the L0 is loaded once
 * (only a poll or a walk changes it, and neither runs here), and the
 * check pmd_xcache_usable() makes is made for every operation, against
 * the inval_gen the L0 was filled at. Success leaves the status enqueue
 * wrote. @return the ops run, their bytes added to *@moved (each op is two
 * L0 hits: the caller counts them, engine_step()).
 */
static __rte_always_inline uint64_t
run_cached(struct swdma *d, const struct swdma_desc *ring, uint32_t mask,
	uint64_t i, uint64_t lim, uint64_t room, uint64_t *moved)
{
	const struct mmrt_consumer_core *cc =
		(const struct mmrt_consumer_core *)d->c;
	const uint64_t gen = d->xc.gen;
	const uint64_t dva = d->xc.e[0].va, dend = d->xc.e[0].end;
	const uint64_t sva = d->xc.e[1].va, send = d->xc.e[1].end;
	uint8_t *const dhost = d->xc.e[0].addr, *const shost = d->xc.e[1].addr;
	const struct swdma_desc *s;
	uint64_t n = 0, m = 0, src, dst;
	uint32_t len;

	if (unlikely(d->park_since != 0))
		return 0;
	for (; i + n < lim && m < room; n++) {
		s = &ring[(i + n) & mask];
		src = s->src;
		dst = s->dst;
		len = s->len;
		if (s->op != OP_COPY || dst - dva >= dend - dva ||
				dend - dst < len || src - sva >= send - sva ||
				send - src < len ||
				cc->inval_gen != gen ||
				__atomic_load_n(&cc->state, __ATOMIC_RELAXED) !=
				MMRT_CONSUMER_BOUND)
			break;
		engine_copy(dhost + (dst - dva), shost + (src - sva), len);
		m += len;
	}
	*moved += m;
	return n;
}

/*
 * Run bytes [@base, @base + @len) of the op as one contiguous copy (@copy)
 * from @src to @dst, or fill with @pattern, from op offset *@offp on
 * (within the range). 0: the range is done; -EAGAIN: parked on
 * d->park_va at *@offp; > 0: failed for good with that status at *@offp.
 * It stops only at a clean offset of the range (pmd_walk.h): its start
 * or where its destination enters a new page.
 */
static int
run_range(struct swdma *d, uint64_t src, uint64_t dst, uint64_t len,
	bool copy, uint64_t pattern, uint64_t base, uint64_t *offp)
{
	uint64_t off = *offp;
	struct pmd_piece p;
	struct pmd_walk w;
	int ret;

	pmd_walk_init(&w, d->c, &d->xc, src, dst, len, copy);
	while (off < base + len) {
		if (unlikely(d->park_since != 0) && off > d->park_off) {
			/* went past the page it was parked on */
			PMD_ST_ADD(d, resumes, 1);
			d->park_since = 0;
		}
		ret = pmd_walk_next(&w, off - base, UINT_MAX, &p);
		if (unlikely(ret != 0)) {
			*offp = off;
			if (ret == -EAGAIN) {
				d->park_va = w.fault_va;
				return -EAGAIN;
			}
			return pmd_fault_status(ret, w.fault_dst);
		}
		if (copy)
			engine_copy(p.dst, p.src, p.n);
		else
			fill_bytes(p.dst, pattern, off, p.n);
		off += p.n;
		PMD_ST_ADD(d, bytes, p.n);
	}
	*offp = off;
	return 0;
}

/*
 * A scatter-gather copy: the concatenated source segments to the
 * concatenated destination segments, as a run of chunks, each the overlap
 * of one source and one destination segment (contiguous on both sides),
 * from op offset *@offp on. Returns as run_range(); it stops only at the
 * start of a chunk or where a chunk's destination enters a new page.
 */
static int
run_sg(struct swdma *d, const struct swdma_sg *g, uint64_t *offp)
{
	uint64_t pos = 0, si = 0, di = 0, n;
	uint16_t i = 0, j = 0;
	int ret;

	while (i < g->nb_src && j < g->nb_dst) {
		n = RTE_MIN(g->src[i].length - si, g->dst[j].length - di);
		if (pos + n > *offp) {
			ret = run_range(d, g->src[i].addr + si,
				g->dst[j].addr + di, n, true, 0, pos, offp);
			if (ret != 0)
				return ret;
		}
		pos += n;
		si += n;
		di += n;
		if (si == g->src[i].length) {
			i++;
			si = 0;
		}
		if (di == g->dst[j].length) {
			j++;
			di = 0;
		}
	}
	return 0;
}

/*
 * Run the op in slot @s from d->progress on, through the walk (the ops
 * run_cached() takes do not come here; out of line, so that their loop in
 * engine_step() keeps its state in registers). 0: finished (status set);
 * -EAGAIN: parked on d->park_va. It parks or fails only at a clean offset
 * (pmd_walk.h): what it wrote is a prefix of the destination that ends
 * at a page boundary (for a scatter-gather copy: or at a chunk start),
 * whatever happens to the destination while parked.
 */
static __rte_noinline int
run_op(struct swdma *d, struct swdma_desc *s)
{
	uint64_t off = d->progress;
	int ret;

	if (likely(s->op != OP_SG))
		ret = run_range(d, s->src, s->dst, s->len, s->op == OP_COPY,
			s->src, 0, &off);
	else
		ret = run_sg(d, &d->sg[s - d->ring], &off);
	if (unlikely(ret != 0)) {
		if (ret == -EAGAIN)
			goto park;
		s->status = (uint16_t)ret;
		goto done;
	}
	/* success: the status enqueue wrote stays (no line written back) */
	if (d->park_since != 0) {
		PMD_ST_ADD(d, resumes, 1);
		d->park_since = 0;
	}
done:
	d->park_since = 0;
	d->progress = 0;
	return 0;
park:
	d->progress = off;
	if (d->park_since == 0 || (d->park_va ^ d->park_page) >=
			MMRT_PAGE_SIZE) {
		/* parked on a new page: its own timeout */
		d->park_since = rte_get_timer_cycles();
		d->park_page = d->park_va & ~(MMRT_PAGE_SIZE - 1);
		d->park_off = off;
		PMD_ST_ADD(d, parks, 1);
		if (d->conf.park_notify != NULL)
			d->conf.park_notify(d->conf.park_notify_arg);
	} else if (rte_get_timer_cycles() - d->park_since >= d->park_cycles) {
		/* nobody resolved it: give up on the op */
		s->status = RTE_DMA_STATUS_PAGE_FAULT;
		goto done;
	}
	return -EAGAIN;
}

/*
 * Ack invalidations (and report a quiescent state): nothing obtained
 * before is in use. The last translations stay cached only if the poll
 * processed no descriptor (pmd_walk.h says why that keeps them valid).
 */
static inline void
engine_poll(struct swdma *d)
{
	if (unlikely(mmrt_consumer_poll(d->c) != 0))
		pmd_xcache_drop(&d->xc);
}

/*
 * One step: ack invalidations, then run up to a burst of ops.
 *
 * The copies run_cached() takes (the small operations' common case) are
 * counted in locals, their L0 hits and bytes added to the counters once
 * at the end of the step, before the release of done: a reader that saw
 * an operation complete sees its counts.
 */
static int
engine_step(struct swdma *d)
{
	uint64_t sub, done, end, i, polled, bytes = 0, cached = 0, moved = 0;
	uint64_t n, m, pf;
	struct swdma_desc *const ring = d->ring, *s;
	const uint32_t mask = d->mask;
	unsigned int ok = 0, errs = 0, faults = 0;

	/* nothing of the last step is in use: ack and report quiescent */
	engine_poll(d);
	/* acquire: pairs with the submitter's release of sub */
	sub = __atomic_load_n(&d->sub, __ATOMIC_ACQUIRE);
	done = d->done;
	polled = done;
	end = RTE_MIN(sub, done + d->conf.burst);
	/*
	 * The submitter wrote these descriptors on its core: ask for all
	 * their lines at once, so that the transfers overlap instead of
	 * stalling one operation each (a 64 B copy costs less than one).
	 * Those of the next step too, where already submitted: they arrive
	 * while this step copies, so a busy engine waits for the other core
	 * only once, not once per step.
	 */
	pf = RTE_MIN(sub, end + d->conf.burst);
	for (i = done; i < pf; i += RTE_CACHE_LINE_SIZE / sizeof(*s))
		rte_prefetch0(&ring[i & mask]);
	if (pf > done)
		rte_prefetch0(&ring[(pf - 1) & mask]);
	for (i = done; i < end; i++) {
		/*
		 * Ack between operations too (every SWDMA_POLL_EVERY ops or
		 * SWDMA_POLL_BYTES): the ones before are complete, so an
		 * invalidation need not wait for the whole burst.
		 */
		if (i - polled >= SWDMA_POLL_EVERY ||
				bytes >= SWDMA_POLL_BYTES) {
			engine_poll(d);
			polled = i;
			bytes = 0;
		}
		/* up to the next poll, the ops the L0 serves */
		m = 0;
		n = run_cached(d, ring, mask, i, RTE_MIN(end,
			polled + SWDMA_POLL_EVERY), SWDMA_POLL_BYTES - bytes,
			&m);
		cached += n;
		moved += m;
		bytes += m;
		i += n;
		if (i == end)
			break;
		if (i - polled >= SWDMA_POLL_EVERY ||
				bytes >= SWDMA_POLL_BYTES) {
			i--; /* poll first (the loop's i++ undone) */
			continue;
		}
		/* op i: not resumable from the L0 (or resumed, parked) */
		s = &ring[i & mask];
		bytes += s->len;
		if (run_op(d, s) != 0)
			break;
		if (s->status == RTE_DMA_STATUS_SUCCESSFUL) {
			ok++;
		} else {
			errs++;
			if (s->status == RTE_DMA_STATUS_PAGE_FAULT)
				faults++;
		}
	}
	if (cached != 0) {
		pmd_xcache_hits(d->c, 2 * cached);
		PMD_ST_ADD(d, bytes, moved);
		ok += cached;
	}
	if (i == done) {
		if (sub == done)
			PMD_ST_ADD(d, idle_polls, 1);
		return 0;
	}
	if (unlikely(errs != 0))
		__atomic_store_n(&d->done_errs, d->done_errs + errs,
			__ATOMIC_RELAXED);
	/* release: the statuses (and the data) before the new limit, and
	 * the failures counted above */
	__atomic_store_n(&d->done, i, __ATOMIC_RELEASE);
	PMD_ST_ADD(d, completed, ok + errs);
	PMD_ST_ADD(d, errors, errs);
	PMD_ST_ADD(d, page_faults, faults);
	PMD_ST_ADD(d, steps, 1);
	return (int)(i - done);
}

int
swdma_run(struct swdma *d)
{
	if (!swdma_live(d))
		return -EINVAL;
	if (__atomic_load_n(&d->running, __ATOMIC_ACQUIRE))
		return -EBUSY;
	if (!mmrt_thread_is_online())
		return -EPERM;
	return engine_step(d);
}

/* Nothing to do: wait per the idle policy. */
static void
engine_idle(struct swdma *d)
{
	switch (d->conf.idle) {
	case SWDMA_IDLE_SPIN:
		break;
	case SWDMA_IDLE_BACKOFF:
		if (d->backoff_us == 0) {
			d->backoff_us = 1;
			rte_pause();
			break;
		}
		/* offline: a grace period need not wait for the sleep */
		mmrt_thread_offline();
		rte_delay_us_sleep(d->backoff_us);
		mmrt_thread_online();
		d->backoff_us = RTE_MIN(d->backoff_us * 2,
			d->conf.backoff_max_us);
		break;
	case SWDMA_IDLE_PAUSE:
	default:
		rte_pause();
		break;
	}
}

static int
engine_main(void *arg)
{
	struct swdma *d = arg;
	int id, n;

	id = mmrt_thread_register();
	if (id < 0) {
		SW_LOG(ERR, "%s: no QSBR slot for the engine: %s", d->name,
			rte_strerror(-id));
		__atomic_store_n(&d->running, 0, __ATOMIC_RELEASE);
		MMRT_TSAN_RELEASE(d);
		return id;
	}
	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		n = engine_step(d);
		if (n > 0 || d->park_since != 0) {
			d->backoff_us = 0;
			if (n == 0)
				rte_pause(); /* parked: poll on, gently */
			continue;
		}
		engine_idle(d);
	}
	mmrt_thread_unregister();
	MMRT_TSAN_RELEASE(d); /* to swdma_stop()'s wait */
	return 0;
}

int
swdma_start(struct swdma *d, unsigned int lcore_id)
{
	int ret;

	if (!swdma_live(d) || lcore_id >= RTE_MAX_LCORE ||
			!rte_lcore_is_enabled(lcore_id) ||
			lcore_id == rte_lcore_id() ||
			lcore_id == rte_get_main_lcore())
		return -EINVAL;
	if (d->lcore >= 0)
		return -EBUSY;
	if (!d->bound)
		return -ENOTCONN;
	if (rte_eal_get_lcore_state(lcore_id) != WAIT)
		return -EINVAL;
	d->stop = 0;
	d->backoff_us = 0;
	pmd_xcache_drop(&d->xc);
	__atomic_store_n(&d->running, 1, __ATOMIC_RELEASE);
	ret = rte_eal_remote_launch(engine_main, d, lcore_id);
	if (ret != 0) {
		__atomic_store_n(&d->running, 0, __ATOMIC_RELEASE);
		return -EINVAL;
	}
	d->lcore = (int)lcore_id;
	return 0;
}

int
swdma_stop(struct swdma *d)
{
	if (!swdma_live(d))
		return -EINVAL;
	if (d->lcore < 0)
		return -EALREADY;
	__atomic_store_n(&d->stop, 1, __ATOMIC_RELEASE);
	rte_eal_wait_lcore((unsigned int)d->lcore);
	MMRT_TSAN_ACQUIRE(d);
	d->lcore = -1;
	__atomic_store_n(&d->running, 0, __ATOMIC_RELEASE);
	return 0;
}

const char *
swdma_name(const struct swdma *d)
{
	return swdma_live(d) ? d->name : NULL;
}

/*
 * Iteration: the list's lock held across the walk and its callbacks. An
 * engine leaves the list (under that lock) before its consumer and
 * its memory go, so both stay valid while a walk can reach the engine.
 */
int
swdma_foreach(int (*cb)(struct swdma *dma, void *arg), void *arg)
{
	struct swdma *d;
	int ret = 0;

	if (cb == NULL)
		return -EINVAL;
	core_namelist_lock(&engines, &swdma_kind);
	CORE_NAMELIST_FOREACH(d, &engines, &swdma_kind) {
		ret = cb(d, arg);
		if (ret != 0)
			break;
	}
	core_namelist_unlock(&engines, &swdma_kind);
	return ret;
}
