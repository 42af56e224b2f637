/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The dmadev bridge (bridge.h).
 *
 * Operations live in a ring of nb_desc slots with free-running counters,
 * all owned by the one driving thread:
 *
 *   cpl <= done <= issue <= sub <= enq
 *
 *   enqueued:   sub <= i < enq
 *   submitted:  issue <= i < sub      not given to the device yet (the op
 *                                     at `issue` may be partly given)
 *   on device:  done <= i < issue     pieces still in flight (or final)
 *   finished:   cpl <= i < done       status readable
 *
 * Each piece given to the device is recorded by its device ring index
 * (dev_map), so a completion finds its operation. An operation is final
 * once every byte was given to the device or its error decided, and
 * finished once it is final with no piece in flight.
 *
 * The ack rule: before polling the consumer (which acks), the bridge
 * peeks at the pending invalidation ranges; if an operation with pieces
 * in flight overlaps one, it holds the ack and gives the device nothing
 * new, so the device drains; the ack follows the last completion.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_spinlock.h>

#include "core_namelist.h"
#include "core_testhooks.h"
#include "bridge.h"
#include "pmd_status.h"
#include "pmd_walk.h"

#define BRIDGE_MAGIC 0x6d6d6462u /* "mmdb" */
#define REAP_BURST 64
#define PEEK_MAX 32

extern int mmrt_logtype_dmadev __attribute__((visibility("hidden")));
RTE_LOG_REGISTER(mmrt_logtype_dmadev, pmd.dma.mmrt.bridge, INFO);
#define DB_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, mmrt_logtype_dmadev, \
		"bridge: " fmt "\n", ##__VA_ARGS__)

struct bridge_op {
	uint64_t src;
	uint64_t dst;
	uint32_t len;
	uint32_t issued;        /* bytes given to the device */
	uint32_t inflight;      /* pieces on the device */
	uint16_t status;        /* enum rte_dma_status_code */
	uint8_t final;
};

struct bridge {
	uint32_t magic;
	char name[BRIDGE_NAME_SIZE];
	int16_t dev_id;
	uint16_t dev_desc;
	struct mmrt_consumer *c;
	struct mmrt_as *as;
	bool bound;
	struct bridge_op *ops;
	uint32_t mask;
	uint64_t enq, sub, issue, done, cpl;
	uint64_t *dev_map;        /* op counter per device ring slot */
	uint64_t dev_head;        /* device pieces completed so far */
	uint64_t park_since;
	uint64_t park_page;
	uint64_t park_cycles;
	void (*park_notify)(void *arg);
	void *park_notify_arg;
	struct bridge_stats st;
	struct core_namelist_node next;   /* bridges, under its lock */
};

/*
 * Every bridge of this process, a named list (core_namelist.h), for
 * unique names: a bridge takes its name there before its consumer (of
 * the same name) is made, and becomes live (bridge_live()) once built.
 * Unnamed bridges are "dmadev<N>".
 */
static struct core_namelist bridges = CORE_NAMELIST_INITIALIZER(bridges);
static const struct core_namelist_kind bridge_kind = CORE_NAMELIST_KIND(
	struct bridge, next, name, magic, BRIDGE_MAGIC, "dmadev", 0, NULL);

static bool
bridge_live(const struct bridge *b)
{
	return core_namelist_live(&bridge_kind, b);
}

struct bridge *
bridge_create(const struct bridge_conf *conf)
{
	struct rte_dma_vchan_conf vc = { .direction = RTE_DMA_DIR_MEM_TO_MEM };
	struct rte_dma_conf dc = { .nb_vchans = 1 };
	struct mmrt_consumer_conf cc;
	struct rte_dma_info info;
	struct bridge *b;
	uint16_t nb;
	int ret;

	if (conf == NULL || !rte_dma_is_valid(conf->dev_id)) {
		rte_errno = EINVAL;
		return NULL;
	}
	nb = conf->nb_desc != 0 ? conf->nb_desc : BRIDGE_NB_DESC_DEFAULT;
	if (nb < 32 || nb > 8192 || !rte_is_power_of_2(nb) ||
			conf->park_timeout_us > UINT64_C(3600000000)) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (rte_dma_info_get(conf->dev_id, &info) != 0 ||
			!(info.dev_capa & RTE_DMA_CAPA_MEM_TO_MEM) ||
			!(info.dev_capa & RTE_DMA_CAPA_OPS_COPY)) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (conf->name != NULL &&
			!core_namelist_name_ok(&bridge_kind, conf->name)) {
		rte_errno = EINVAL;
		return NULL;
	}
	b = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc("bridge", sizeof(*b), RTE_CACHE_LINE_SIZE);
	if (b == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	/* the device ring: as many as ours, within its limits */
	b->dev_desc = (uint16_t)RTE_MAX(RTE_MIN((uint32_t)nb,
		(uint32_t)info.max_desc), (uint32_t)info.min_desc);
	if (!rte_is_power_of_2(b->dev_desc))
		b->dev_desc = (uint16_t)rte_align32prevpow2(b->dev_desc);
	b->ops = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc("bridge_ops", nb * sizeof(*b->ops),
		RTE_CACHE_LINE_SIZE);
	b->dev_map = TEST_ALLOC_FAIL() ? NULL : rte_zmalloc("bridge_map",
		b->dev_desc * sizeof(uint64_t), RTE_CACHE_LINE_SIZE);
	if (b->ops == NULL || b->dev_map == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = core_namelist_reserve(&bridges, &bridge_kind, b, conf->name);
	if (ret != 0)
		goto fail;
	vc.nb_desc = b->dev_desc;
	ret = rte_dma_configure(conf->dev_id, &dc);
	if (ret == 0)
		ret = rte_dma_vchan_setup(conf->dev_id, 0, &vc);
	if (ret == 0)
		ret = rte_dma_start(conf->dev_id);
	if (ret != 0) {
		DB_LOG(ERR, "%s: dmadev %d setup failed: %s", b->name,
			conf->dev_id, rte_strerror(-ret));
		goto unlist;
	}
	cc = conf->consumer;
	cc.name = b->name;
	b->c = mmrt_consumer_create(&cc);
	if (b->c == NULL) {
		ret = -rte_errno;
		rte_dma_stop(conf->dev_id);
		goto unlist;
	}
	b->dev_id = conf->dev_id;
	b->park_notify = conf->park_notify;
	b->park_notify_arg = conf->park_notify_arg;
	b->mask = nb - 1;
	b->park_cycles = (conf->park_timeout_us != 0 ? conf->park_timeout_us :
		UINT64_C(1000000)) * rte_get_timer_hz() / 1000000;
	core_namelist_publish(&bridge_kind, b);
	return b;
unlist:
	core_namelist_del(&bridges, &bridge_kind, b);
fail:
	rte_free(b->ops);
	rte_free(b->dev_map);
	rte_free(b);
	rte_errno = -ret;
	return NULL;
}

/* Reap the device's completions into their operations. */
static void
reap(struct bridge *b)
{
	enum rte_dma_status_code status[REAP_BURST];
	uint16_t last, n, i;

	do {
		n = rte_dma_completed_status(b->dev_id, 0, REAP_BURST, &last,
			status);
		for (i = 0; i < n; i++) {
			uint64_t id = b->dev_map[b->dev_head++ &
				(b->dev_desc - 1)];
			struct bridge_op *op = &b->ops[id & b->mask];

			if (status[i] != RTE_DMA_STATUS_SUCCESSFUL &&
					op->status == RTE_DMA_STATUS_SUCCESSFUL)
				op->status = (uint16_t)status[i];
			op->inflight--;
			PMD_ST_ADD(b, inflight, -1);
		}
	} while (n == REAP_BURST);
}

/* Advance `done` over finished operations; @return how many. */
static unsigned int
finish(struct bridge *b)
{
	unsigned int n = 0, errs = 0;
	struct bridge_op *op;

	while (b->done < b->issue) {
		op = &b->ops[b->done & b->mask];
		if (!op->final || op->inflight != 0)
			break;
		if (op->status != RTE_DMA_STATUS_SUCCESSFUL)
			errs++;
		b->done++;
		n++;
	}
	PMD_ST_ADD(b, completed, n);
	PMD_ST_ADD(b, errors, errs);
	return n;
}

static bool
overlaps(uint64_t a, uint64_t alen, uint64_t s, uint64_t e)
{
	return a < e && s < a + alen;
}

/*
 * Does an operation with pieces in flight touch a pending invalidation?
 * *checked: how many pending invalidations were looked at (only those may
 * be acked: one posted after the peek was not checked).
 */
static bool
must_hold(struct bridge *b, unsigned int *checked)
{
	uint64_t s[PEEK_MAX], e[PEEK_MAX], i;
	int k, j;

	k = mmrt_consumer_inval_peek(b->c, s, e, PEEK_MAX);
	*checked = k > 0 ? (unsigned int)k : 0;
	if (b->st.inflight == 0 || k <= 0)
		return false;
	for (i = b->done; i <= b->issue && i < b->sub; i++) {
		const struct bridge_op *op = &b->ops[i & b->mask];

		if (op->inflight == 0)
			continue;
		for (j = 0; j < k; j++)
			if (overlaps(op->src, op->len, s[j], e[j]) ||
					overlaps(op->dst, op->len, s[j], e[j]))
				return true;
	}
	return false;
}


/*
 * Give submitted operations to the device. @return pieces given.
 *
 * An operation stops (parks, fails, or waits for room on the device) only
 * at a clean offset (pmd_walk.h): what the device got of it is a prefix of
 * its destination ending at a page boundary, whatever happens to the
 * destination before the operation goes on. The walker gets the device's
 * room for that: with room for one piece only, it hands out none that
 * would need a second one to finish its page.
 */
static unsigned int
feed(struct bridge *b)
{
	unsigned int pieces = 0;
	struct bridge_op *op;
	struct pmd_piece p;
	struct pmd_walk w;
	uint16_t room;
	int ret;

	while (b->issue < b->sub) {
		op = &b->ops[b->issue & b->mask];
		pmd_walk_init(&w, b->c, NULL, op->src, op->dst, op->len, true);
		while (op->issued < op->len) {
			room = rte_dma_burst_capacity(b->dev_id, 0);
			if (room == 0)
				goto out;
			ret = pmd_walk_next(&w, op->issued, room, &p);
			if (ret == -ENOSPC)
				goto out; /* the rest of the page next time */
			if (ret == -EAGAIN) {
				uint64_t pg = w.fault_va &
					~(MMRT_PAGE_SIZE - 1);

				if (b->park_since == 0 || pg != b->park_page) {
					/* a new page: its own timeout */
					b->park_since = rte_get_timer_cycles();
					b->park_page = pg;
					PMD_ST_ADD(b, parks, 1);
					if (b->park_notify != NULL)
						b->park_notify(
							b->park_notify_arg);
					goto out;
				}
				if (rte_get_timer_cycles() - b->park_since <
						b->park_cycles)
					goto out;
				ret = -EFAULT; /* nobody resolved it */
			}
			b->park_since = 0;
			if (ret != 0) {
				op->status = pmd_fault_status(ret, w.fault_dst);
				break;
			}
			if (unlikely(w.d.x.iova == RTE_BAD_IOVA ||
					(w.copy && w.s.x.iova == RTE_BAD_IOVA))) {
				/* host memory DPDK does not know: no IOVA a
				 * device could be given (mmrt_map_host()) */
				op->status = w.d.x.iova == RTE_BAD_IOVA ?
					RTE_DMA_STATUS_INVALID_DST_ADDR :
					RTE_DMA_STATUS_INVALID_SRC_ADDR;
				break;
			}
			/* room said there is a slot: only a broken device
			 * refuses it, and then the op goes on next time */
			ret = rte_dma_copy(b->dev_id, 0, p.src_iova, p.dst_iova,
				(uint32_t)p.n, 0);
			if (ret < 0)
				goto out;
			b->dev_map[(uint16_t)ret & (b->dev_desc - 1)] =
				b->issue;
			op->inflight++;
			op->issued += (uint32_t)p.n;
			PMD_ST_ADD(b, inflight, 1);
			PMD_ST_ADD(b, pieces, 1);
			PMD_ST_ADD(b, bytes, p.n);
			pieces++;
		}
		op->final = 1;
		b->issue++;
	}
out:
	if (pieces > 0)
		rte_dma_submit(b->dev_id, 0);
	return pieces;
}

int
bridge_run(struct bridge *b)
{
	unsigned int n;

	if (!bridge_live(b))
		return -EINVAL;
	if (!mmrt_thread_is_online())
		return -EPERM;
	unsigned int checked;

	reap(b);
	n = finish(b);
	if (must_hold(b, &checked)) {
		/* let the device drain first; no new pieces meanwhile */
		PMD_ST_ADD(b, acks_held, 1);
		return (int)n;
	}
	/* ack exactly what was checked */
	mmrt_consumer_poll_n(b->c, checked);
	feed(b);
	return (int)n;
}

/* ---- submitter side ---------------------------------------------------- */

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

int
bridge_copy(struct bridge *b, uint64_t src, uint64_t dst,
	uint32_t len, uint64_t flags)
{
	struct bridge_op *op;
	uint64_t idx;

	if (!bridge_live(b) || (flags & ~OP_FLAGS) || !range_ok(dst, len) ||
			!range_ok(src, len) ||
			(src < dst + len && dst < src + len))
		return -EINVAL;
	idx = b->enq;
	if (idx - b->cpl >= b->mask)
		return -ENOSPC;
	op = &b->ops[idx & b->mask];
	memset(op, 0, sizeof(*op));
	op->src = src;
	op->dst = dst;
	op->len = len;
	op->status = RTE_DMA_STATUS_SUCCESSFUL;
	b->enq = idx + 1;
	if (flags & RTE_DMA_OP_FLAG_SUBMIT)
		bridge_submit(b);
	return (int)(idx & 0xffff);
}

int
bridge_submit(struct bridge *b)
{
	if (!bridge_live(b))
		return -EINVAL;
	PMD_ST_ADD(b, submitted, b->enq - b->sub);
	b->sub = b->enq;
	return 0;
}

uint16_t
bridge_completed(struct bridge *b, uint16_t nb_cpls,
	uint16_t *last_idx, bool *has_error)
{
	uint64_t i, n;
	bool err = false;

	if (!bridge_live(b)) {
		if (has_error != NULL)
			*has_error = false;
		return 0;
	}
	n = RTE_MIN(b->done - b->cpl, (uint64_t)nb_cpls);
	for (i = 0; i < n; i++)
		if (b->ops[(b->cpl + i) & b->mask].status !=
				RTE_DMA_STATUS_SUCCESSFUL) {
			err = true;
			break;
		}
	b->cpl += i;
	if (last_idx != NULL)
		*last_idx = (uint16_t)((b->cpl - 1) & 0xffff);
	if (has_error != NULL)
		*has_error = err;
	return (uint16_t)i;
}

uint16_t
bridge_completed_status(struct bridge *b, uint16_t nb_cpls,
	uint16_t *last_idx, enum rte_dma_status_code *status)
{
	uint64_t i, n;

	if (!bridge_live(b) || status == NULL)
		return 0;
	n = RTE_MIN(b->done - b->cpl, (uint64_t)nb_cpls);
	for (i = 0; i < n; i++)
		status[i] = (enum rte_dma_status_code)
			b->ops[(b->cpl + i) & b->mask].status;
	b->cpl += n;
	if (last_idx != NULL)
		*last_idx = (uint16_t)((b->cpl - 1) & 0xffff);
	return (uint16_t)n;
}

uint16_t
bridge_burst_capacity(const struct bridge *b)
{
	if (!bridge_live(b))
		return 0;
	return (uint16_t)(b->mask - (b->enq - b->cpl));
}

int
bridge_stats(struct bridge *b, struct bridge_stats *st)
{
	if (!bridge_live(b) || st == NULL)
		return -EINVAL;
	*st = b->st;
	return mmrt_consumer_stats(b->c, &st->consumer);
}

int
bridge_bind(struct bridge *b, struct mmrt_as *as)
{
	int id;

	if (!bridge_live(b) || as == NULL)
		return -EINVAL;
	if (b->bound)
		return -EBUSY;
	id = mmrt_consumer_bind(b->c, as);
	if (id > 0) {
		b->bound = true;
		b->as = as;
	}
	return id;
}

int
bridge_unbind(struct bridge *b)
{
	int ret;

	if (!bridge_live(b))
		return -EINVAL;
	if (!b->bound)
		return -ENOTCONN;
	if (b->cpl != b->enq)
		return -EBUSY;
	ret = mmrt_consumer_unbind(b->c);
	b->bound = false;
	b->as = NULL;
	return ret == -ENOTCONN ? 0 : ret;
}

int
bridge_serve_faults(struct bridge *b, unsigned int max)
{
	if (!bridge_live(b))
		return -EINVAL;
	return mmrt_consumer_serve_faults(b->c, max);
}

int
bridge_destroy(struct bridge *b)
{
	uint64_t t0;

	if (!bridge_live(b))
		return -EINVAL;
	/* let the device finish what it has (bounded) */
	t0 = rte_get_timer_cycles();
	while (b->st.inflight != 0 &&
			rte_get_timer_cycles() - t0 < rte_get_timer_hz()) {
		reap(b);
		rte_pause();
	}
	if (b->st.inflight != 0)
		DB_LOG(ERR, "%s: %" PRIu64 " pieces still on the device",
			b->name, b->st.inflight);
	rte_dma_stop(b->dev_id);
	if (b->bound)
		mmrt_consumer_unbind(b->c);
	mmrt_consumer_destroy(b->c);
	core_namelist_del(&bridges, &bridge_kind, b);
	rte_free(b->ops);
	rte_free(b->dev_map);
	rte_free(b);
	return 0;
}
