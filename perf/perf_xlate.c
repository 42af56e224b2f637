/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * perf-xlate: mmrt_translate() on hot mappings, from a registered poller
 * (the lockless walk), against a flat two-level table in the shape of
 * SPDK's spdk_mem_map (a 1st-level array indexed by va[47:30] pointing to
 * 2nd-level arrays of translations, one per leaf page). A DMA consumer
 * needs both the host address and the IOVA of a VA, as struct mmrt_xlate
 * gives them, so each leaf holds both (16 bytes: one lookup, one line,
 * where SPDK would need a second map for the other).
 *
 * Both sides walk the same precomputed pseudo-random sequence of VAs in
 * batches of XLATE_BATCH lookups, in the same loop shape (chunks of
 * XLATE_QS_EVERY lookups; the mmrt poller reports a quiescent state after
 * each chunk, as a poll loop would), and use the same result: host
 * address, IOVA and size. The sample is the ns per lookup of one batch.
 * The sums of the translations must agree.
 *
 * A third case, xlate-dtlb-4k, times mmrt_consumer_translate() instead: a
 * device-TLB consumer owned by the same registered thread, bound to the
 * space, with a TLB holding every page of the 4 KiB case (XLATE_DTLB_SETS x
 * XLATE_DTLB_WAYS entries), warmed up on the sequence so that every timed
 * lookup is an inline hit (checked with the consumer's statistics). Its
 * poll loop calls mmrt_consumer_poll() (which reports the quiescent state)
 * after each chunk. Same sequence, loop shape and anchor as xlate-4k.
 *
 * The scaling curve, xlate-dtlb-ws-N (report only): the same device-TLB
 * translate through a consumer of the default geometry (64 sets x 4 ways:
 * 256 entries, 1 MiB of 4 KiB pages) over working sets of 256 KiB to
 * 64 MiB, each beside the flat table over the same working set: past the
 * TLB's reach the hits give way to walks. The hit rate is printed.
 *
 * Host mappings (issue 11): xlate-host-4k and xlate-host-2m are the
 * xlate-4k and xlate-2m cases over process memory the space maps with
 * mmrt_map_host() (an anonymous mmap, 4 KiB host leaves where the buffer
 * is placed 4 KiB off a 2 MiB boundary, 2 MiB leaves where it is 2 MiB
 * aligned), against the same flat-table anchor. The rows
 * xlate-host-4k/pool and xlate-host-2m/pool compare each host row's
 * ratio to its anchor with the pool row's (target 1.05: the host leaf's
 * extra branch costs at most 5%).
 *
 * Scatter-gather (issue 11): sg-64k translates a 64 KiB window of 4 KiB
 * pool pages with one mmrt_translate_sg() call, against the anchor of
 * 16 mmrt_translate() calls over the same window (one per page), both
 * from the registered poller, on the same random windows; the sample is
 * the ns per window of a batch. Before timing, every window's segments
 * are checked page by page against mmrt_translate().
 */

#include <errno.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_atomic.h>
#include <rte_branch_prediction.h>
#include <rte_errno.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>

#include "perf_common.h"

#define XLATE_PROG "perf-xlate"
#define XLATE_POOL_MB 384
#define XLATE_LEN (UINT64_C(64) << 20)     /* bytes mapped per case */
#define XLATE_VA_4K UINT64_C(0x100000000000)
#define XLATE_VA_2M UINT64_C(0x200000000000)
#define XLATE_NIDX 16384u                  /* VAs in the sequence */
#define XLATE_BATCH 1024u                  /* lookups per sample */
#define XLATE_QS_EVERY 64u                 /* lookups between quiescent states */
#define XLATE_TARGET 2.0
#define XLATE_DTLB_TARGET 1.2
#define XLATE_DTLB_SETS 4096u              /* x ways >= pages of the 4K case */
#define XLATE_DTLB_WAYS 4u
#define XLATE_VA_H4K UINT64_C(0x300000000000)
#define XLATE_VA_H2M UINT64_C(0x400000000000)
#define XLATE_HOST_TARGET 1.05             /* host ratio / pool ratio */
#define XLATE_VA_SG UINT64_C(0x500000000000)
#define XLATE_SG_WINDOW (UINT64_C(64) << 10)
#define XLATE_SG_PAGES (XLATE_SG_WINDOW / MMRT_PAGE_SIZE)
#define XLATE_SG_NIDX 1024u                /* windows in the sequence */
#define XLATE_SG_BATCH 64u                 /* windows per sample */
#define XLATE_SG_QS_EVERY 4u               /* windows between quiescent states */
#define XLATE_SG_TARGET 0.5

/*
 * The timed functions (both sides' batches and the anchor's lookup) each
 * start on a cache line of their own, so that a change elsewhere in this
 * file or in an inlined header does not move their loops across fetch and
 * uop-cache boundaries: either side's figure moved by 10-15% with such
 * placement alone (xlate-2m's anchor 2.3 -> 2.6 ns after an unrelated
 * change to mmrt's inline walk).
 */
#define XLATE_HOT __attribute__((aligned(64)))

/* SPDK mem-map shape: va[47:30] selects a 2nd-level array (1 GiB each). */
#define MEMMAP_L1_SHIFT 30
#define MEMMAP_L1_SIZE (UINT64_C(1) << (MMRT_VA_BITS - MEMMAP_L1_SHIFT))
#define MEMMAP_L1_MASK ((UINT64_C(1) << MEMMAP_L1_SHIFT) - 1)

/* A leaf translation: host address and IOVA of the page (host 0: none;
 * IOVA RTE_BAD_IOVA: memory without an IOVA). */
struct perf_memmap_leaf {
	uint64_t host;
	uint64_t iova;
};

/* The anchor: a 2-level translation table. */
struct perf_memmap {
	struct perf_memmap_leaf **l1; /* MEMMAP_L1_SIZE, NULL = unmapped */
	unsigned int leaf_shift;      /* 12 or 21 */
};

static int
memmap_init(struct perf_memmap *m, unsigned int leaf_shift)
{
	m->leaf_shift = leaf_shift;
	m->l1 = calloc(MEMMAP_L1_SIZE, sizeof(*m->l1));
	return m->l1 == NULL ? -ENOMEM : 0;
}

static int
memmap_set(struct perf_memmap *m, uint64_t va, uint64_t host, uint64_t iova)
{
	struct perf_memmap_leaf **l1e = &m->l1[va >> MEMMAP_L1_SHIFT];
	struct perf_memmap_leaf *l2e;

	if (*l1e == NULL) {
		*l1e = calloc(UINT64_C(1) << (MEMMAP_L1_SHIFT - m->leaf_shift),
			sizeof(**l1e));
		if (*l1e == NULL)
			return -ENOMEM;
	}
	l2e = &(*l1e)[(va & MEMMAP_L1_MASK) >> m->leaf_shift];
	l2e->host = host;
	l2e->iova = iova;
	return 0;
}

static void
memmap_free(struct perf_memmap *m)
{
	uint64_t i;

	if (m->l1 == NULL)
		return;
	for (i = 0; i < MEMMAP_L1_SIZE; i++)
		free(m->l1[i]);
	free(m->l1);
	m->l1 = NULL;
}

/*
 * Translate like spdk_mem_map_translate(): an out-of-line call returning
 * the host address, and the IOVA and the bytes left to the end of the leaf.
 */
static __rte_noinline XLATE_HOT uint64_t
memmap_translate(const struct perf_memmap *m, uint64_t va, uint64_t *iova,
	uint64_t *size)
{
	const struct perf_memmap_leaf *l2, *e;
	uint64_t leaf_mask;

	if (unlikely((va >> MMRT_VA_BITS) != 0))
		return UINT64_MAX;
	l2 = m->l1[va >> MEMMAP_L1_SHIFT];
	if (unlikely(l2 == NULL))
		return UINT64_MAX;
	e = &l2[(va & MEMMAP_L1_MASK) >> m->leaf_shift];
	if (unlikely(e->host == 0))
		return UINT64_MAX;
	leaf_mask = (UINT64_C(1) << m->leaf_shift) - 1;
	/* no IOVA (host memory DPDK does not know) stays RTE_BAD_IOVA,
	 * as in struct mmrt_xlate; branch-free */
	*iova = e->iova + ((va & leaf_mask) &
		-(uint64_t)(e->iova != RTE_BAD_IOVA));
	*size = leaf_mask + 1 - (va & leaf_mask);
	return e->host + (va & leaf_mask);
}

/* One batch through mmrt_translate() from a registered poller. */
static __rte_noinline XLATE_HOT uint64_t
batch_mmrt(struct mmrt_as *as, const uint64_t *va, unsigned int n)
{
	struct mmrt_xlate x;
	uint64_t sum = 0;
	unsigned int i, j;
	int ret;

	for (i = 0; i < n; i += XLATE_QS_EVERY) {
		for (j = i; j < i + XLATE_QS_EVERY; j++) {
			ret = mmrt_translate(as, va[j], MMRT_ACCESS_READ, &x);
			if (unlikely(ret != 0))
				perf_die("mmrt_translate(%#" PRIx64 "): %s",
					va[j], strerror(-ret));
			sum += (uint64_t)(uintptr_t)x.addr + x.iova + x.size;
		}
		mmrt_quiescent();
	}
	return sum;
}

/* One batch through a consumer's device TLB, polling after each chunk. */
static __rte_noinline XLATE_HOT uint64_t
batch_dtlb(struct mmrt_consumer *c, const uint64_t *va, unsigned int n)
{
	struct mmrt_xlate x;
	uint64_t sum = 0;
	unsigned int i, j;
	int ret;

	for (i = 0; i < n; i += XLATE_QS_EVERY) {
		for (j = i; j < i + XLATE_QS_EVERY; j++) {
			ret = mmrt_consumer_translate(c, va[j],
				MMRT_ACCESS_READ, &x);
			if (unlikely(ret != 0))
				perf_die("mmrt_consumer_translate(%#" PRIx64
					"): %s", va[j], strerror(-ret));
			sum += (uint64_t)(uintptr_t)x.addr + x.iova + x.size;
		}
		/* Drains invalidations and reports the quiescent state. */
		mmrt_consumer_poll(c);
	}
	return sum;
}

/* The same batch through the anchor table. */
static __rte_noinline XLATE_HOT uint64_t
batch_anchor(const struct perf_memmap *m, const uint64_t *va, unsigned int n)
{
	uint64_t sum = 0, host, iova, size;
	unsigned int i, j;

	for (i = 0; i < n; i += XLATE_QS_EVERY) {
		for (j = i; j < i + XLATE_QS_EVERY; j++) {
			host = memmap_translate(m, va[j], &iova, &size);
			if (unlikely(host == UINT64_MAX))
				perf_die("anchor lookup(%#" PRIx64 ") failed",
					va[j]);
			sum += host + iova + size;
		}
		/* Where the poller reports its quiescent state. */
		rte_compiler_barrier();
	}
	return sum;
}

struct xlate_case {
	const char *name;
	const char *anchor;
	uint64_t va;
	uint64_t len;
	uint32_t map_flags;
	unsigned int leaf_shift;
	bool dtlb;           /* time mmrt_consumer_translate() */
	double target;
	bool curve;          /* a curve point: default TLB geometry */
	bool host;           /* a host mapping (mmrt_map_host) of an mmap */
};

/* A host buffer for @c: mmap'd, placed so that the leaves are @c's size. */
static void *
host_buffer(const struct xlate_case *c, void **map, size_t *maplen)
{
	uint8_t *p, *h;

	*maplen = c->len + 2 * MMRT_HUGE_SIZE;
	p = mmap(NULL, *maplen, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		perf_die("%s: mmap: %s", c->name, strerror(errno));
	*map = p;
	h = (uint8_t *)RTE_ALIGN_CEIL((uintptr_t)p, MMRT_HUGE_SIZE);
	if (c->leaf_shift == MMRT_PAGE_SHIFT)
		h += MMRT_PAGE_SIZE; /* never 2 MiB aligned with the VA */
	memset(h, 0x5a, c->len); /* present before it is mapped */
	return h;
}

static void
dtlb_stats(struct mmrt_consumer *c, struct mmrt_consumer_stats *st)
{
	int ret;

	ret = mmrt_consumer_stats(c, st);
	if (ret < 0)
		perf_die("mmrt_consumer_stats: %s", strerror(-ret));
}

/* Batch of the mmrt side: lockless walk or device TLB. */
static inline uint64_t
batch_side(struct mmrt_as *as, struct mmrt_consumer *c, const uint64_t *va,
	unsigned int n)
{
	if (c != NULL)
		return batch_dtlb(c, va, n);
	return batch_mmrt(as, va, n);
}

/* Map and populate the case, fill the anchor table, check they agree. */
static void
xlate_setup(struct mmrt_as *as, const struct xlate_case *c,
	struct perf_memmap *m, uint64_t *seq, void **map, size_t *maplen)
{
	uint64_t leaf = UINT64_C(1) << c->leaf_shift;
	uint64_t npages = c->len >> c->leaf_shift;
	uint64_t p, off, host, iova, size, lcg = 0x5eed + c->leaf_shift;
	struct mmrt_xlate x;
	unsigned int i;
	int ret;

	*map = NULL;
	if (c->host)
		ret = mmrt_map_host(as, c->va, host_buffer(c, map, maplen),
			c->len, MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	else
		ret = mmrt_map(as, c->va, c->len,
			MMRT_PROT_READ | MMRT_PROT_WRITE,
			MMRT_MAP_POPULATE | c->map_flags);
	if (ret < 0)
		perf_die("%s: mmrt_map(%#" PRIx64 ", %" PRIu64 "): %s",
			c->name, c->va, c->len, strerror(-ret));
	if (memmap_init(m, c->leaf_shift) < 0)
		perf_die("out of memory for the anchor table");
	for (p = 0; p < npages; p++) {
		ret = mmrt_translate(as, c->va + p * leaf, MMRT_ACCESS_READ,
			&x);
		if (ret < 0)
			perf_die("%s: page %" PRIu64 " not present after "
				"MMRT_MAP_POPULATE: %s", c->name, p,
				strerror(-ret));
		if (x.huge != (c->leaf_shift == MMRT_HUGE_SHIFT))
			perf_die("%s: page %" PRIu64 " mapped by a %s leaf "
				"(pool out of huge frames?)", c->name, p,
				x.huge ? "2 MiB" : "4 KiB");
		if (x.size != leaf)
			perf_die("%s: page %" PRIu64 ": size %" PRIu64
				" at the leaf start, expected %" PRIu64,
				c->name, p, x.size, leaf);
		if (memmap_set(m, c->va + p * leaf,
				(uint64_t)(uintptr_t)x.addr, x.iova) < 0)
			perf_die("out of memory for the anchor table");
	}
	/* Random pages, random 8-byte aligned offsets inside them. */
	for (i = 0; i < XLATE_NIDX; i++) {
		p = perf_lcg(&lcg) % npages;
		off = (perf_lcg(&lcg) & (leaf - 1)) & ~UINT64_C(7);
		seq[i] = c->va + p * leaf + off;
	}
	/* The lookups must agree before they are timed. */
	for (i = 0; i < XLATE_NIDX; i++) {
		ret = mmrt_translate(as, seq[i], MMRT_ACCESS_READ, &x);
		host = memmap_translate(m, seq[i], &iova, &size);
		if (ret < 0 || host != (uint64_t)(uintptr_t)x.addr ||
				iova != x.iova || size != x.size)
			perf_die("%s: va %#" PRIx64 ": mmrt %p iova %#" PRIx64
				" size %" PRIu64 " (ret %d), anchor %#" PRIx64
				" iova %#" PRIx64 " size %" PRIu64, c->name,
				seq[i], x.addr, x.iova, x.size, ret, host,
				iova, size);
	}
}

static void
xlate_run(struct mmrt_as *as, const struct xlate_case *c,
	const struct perf_opts *opts, struct perf_result *res)
{
	unsigned int rounds = opts->quick ? (c->curve ? 2 : 4) : 20;
	unsigned int batches = opts->quick ? (c->curve ? 200 : 500) :
		(c->curve ? 250 : 1000);
	struct mmrt_consumer_stats st0, st1;
	const struct mmrt_consumer_conf cconf = { .name = "perf-xlate-dtlb",
		.tlb_sets = c->curve ? 0 : XLATE_DTLB_SETS,
		.tlb_ways = c->curve ? 0 : XLATE_DTLB_WAYS };
	struct mmrt_consumer *cons = NULL;
	struct perf_samples sm, sa;
	struct perf_memmap m;
	uint64_t *seq;
	uint64_t sum_m = 0, sum_a = 0, t0, t1;
	unsigned int r, b, side, pos;
	size_t maplen = 0;
	void *map;
	int ret;

	seq = malloc(XLATE_NIDX * sizeof(*seq));
	if (seq == NULL)
		perf_die("out of memory for the sequence");
	xlate_setup(as, c, &m, seq, &map, &maplen);
	if (perf_samples_init(&sm, (size_t)rounds * batches) < 0 ||
			perf_samples_init(&sa, (size_t)rounds * batches) < 0)
		perf_die("out of memory for samples");

	ret = mmrt_thread_register();
	if (ret < 0)
		perf_die("mmrt_thread_register: %s", strerror(-ret));

	if (c->dtlb) {
		if (!c->curve && (uint64_t)XLATE_DTLB_SETS * XLATE_DTLB_WAYS <
				(c->len >> c->leaf_shift))
			perf_die("%s: device TLB smaller than the working set",
				c->name);
		cons = perf_consumer(as, &cconf);
	}

	/* Warm both up on the whole sequence (fills the device TLB). */
	for (pos = 0; pos < XLATE_NIDX; pos += XLATE_BATCH) {
		batch_side(as, cons, &seq[pos], XLATE_BATCH);
		batch_anchor(&m, &seq[pos], XLATE_BATCH);
	}
	if (cons != NULL && !c->curve) {
		/* A second pass must hit only. */
		dtlb_stats(cons, &st0);
		for (pos = 0; pos < XLATE_NIDX; pos += XLATE_BATCH)
			batch_dtlb(cons, &seq[pos], XLATE_BATCH);
		dtlb_stats(cons, &st1);
		printf("%s: warm-up: %" PRIu64 " fills, %" PRIu64
			" evictions, second pass %" PRIu64 " misses\n",
			c->name, st1.tlb_fills, st1.tlb_evictions,
			st1.tlb_misses - st0.tlb_misses);
		if (st1.tlb_misses != st0.tlb_misses)
			perf_die("%s: device TLB misses after warm-up",
				c->name);
		st0 = st1;
	} else if (cons != NULL) {
		dtlb_stats(cons, &st0);
	}

	/* Alternate which side goes first, round by round. */
	for (r = 0; r < rounds; r++) {
		for (side = 0; side < 2; side++) {
			bool is_mmrt = ((r + side) % 2) == 0;

			pos = 0;
			for (b = 0; b < batches; b++) {
				t0 = perf_now();
				if (is_mmrt)
					sum_m += batch_side(as, cons,
						&seq[pos], XLATE_BATCH);
				else
					sum_a += batch_anchor(&m, &seq[pos],
						XLATE_BATCH);
				t1 = perf_now();
				perf_samples_add(is_mmrt ? &sm : &sa,
					perf_ns(t1 - t0) / XLATE_BATCH);
				pos = (pos + XLATE_BATCH) % XLATE_NIDX;
			}
		}
	}

	if (cons != NULL && c->curve) {
		dtlb_stats(cons, &st1);
		printf("%s: %" PRIu64 " KiB working set, %.1f%% of the timed "
			"lookups hit the device TLB (%" PRIu64 " misses)\n",
			c->name, c->len >> 10, 100.0 *
			(double)(st1.tlb_hits - st0.tlb_hits) /
			((double)rounds * batches * XLATE_BATCH),
			st1.tlb_misses - st0.tlb_misses);
		ret = mmrt_consumer_destroy(cons);
		if (ret < 0)
			perf_die("mmrt_consumer_destroy: %s", strerror(-ret));
	} else if (cons != NULL) {
		dtlb_stats(cons, &st1);
		printf("%s: timed: %" PRIu64 " hits, %" PRIu64 " misses, %"
			PRIu64 " evictions, %" PRIu64 " invalidations\n",
			c->name, st1.tlb_hits - st0.tlb_hits,
			st1.tlb_misses - st0.tlb_misses,
			st1.tlb_evictions - st0.tlb_evictions,
			st1.inval_descs - st0.inval_descs);
		if (st1.tlb_misses != st0.tlb_misses ||
				st1.tlb_hits - st0.tlb_hits !=
				(uint64_t)rounds * batches * XLATE_BATCH)
			perf_die("%s: not every timed lookup hit the device "
				"TLB", c->name);
		ret = mmrt_consumer_destroy(cons);
		if (ret < 0)
			perf_die("mmrt_consumer_destroy: %s", strerror(-ret));
	}
	ret = mmrt_thread_unregister();
	if (ret < 0)
		perf_die("mmrt_thread_unregister: %s", strerror(-ret));
	if (sum_m != sum_a)
		perf_die("%s: checksums differ: mmrt %#" PRIx64 ", anchor %#"
			PRIx64, c->name, sum_m, sum_a);
	printf("%s: %" PRIu64 " pages of %u KiB, %u x %u lookups per side, "
		"checksum %#" PRIx64 " (agrees)\n", c->name,
		c->len >> c->leaf_shift, 1u << (c->leaf_shift - 10),
		rounds * batches, XLATE_BATCH, sum_m);

	perf_result_set(res, c->name, c->anchor, "ns/lookup", c->target, &sm,
		&sa);
	if (c->curve)
		perf_result_point(res, "xlate-dtlb-working-set",
			(double)(c->len >> 10), "KiB");

	perf_samples_free(&sm);
	perf_samples_free(&sa);
	memmap_free(&m);
	free(seq);
	ret = mmrt_unmap(as, c->va, c->len);
	if (ret < 0)
		perf_die("%s: mmrt_unmap: %s", c->name, strerror(-ret));
	if (map != NULL)
		munmap(map, maplen);
}

/* The row comparing a host case's ratio with its pool case's. */
static void
host_vs_pool(struct perf_result *r, const struct perf_result *host,
	const struct perf_result *pool)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%.40s/pool", host->name);
	snprintf(r->anchor, sizeof(r->anchor), "%s", pool->name);
	r->unit = "x anchor";
	r->value = host->value / host->anchor_value;
	r->anchor_value = pool->value / pool->anchor_value;
	r->target = XLATE_HOST_TARGET;
	printf("%s: %.3fx its anchor, %s %.3fx: %.3f\n", host->name,
		r->value, pool->name, r->anchor_value,
		r->value / r->anchor_value);
}

/* One batch of windows through mmrt_translate_sg(). */
static __rte_noinline XLATE_HOT uint64_t
batch_sg(struct mmrt_as *as, const uint64_t *va, unsigned int n)
{
	struct mmrt_sg sg[XLATE_SG_PAGES];
	uint64_t sum = 0;
	unsigned int i, j;
	int k, ret;

	for (i = 0; i < n; i += XLATE_SG_QS_EVERY) {
		for (j = i; j < i + XLATE_SG_QS_EVERY; j++) {
			ret = mmrt_translate_sg(as, va[j], XLATE_SG_WINDOW,
				MMRT_ACCESS_READ, sg, XLATE_SG_PAGES);
			if (unlikely(ret <= 0))
				perf_die("mmrt_translate_sg(%#" PRIx64 "): %s",
					va[j], strerror(-ret));
			for (k = 0; k < ret; k++)
				sum += (uint64_t)(uintptr_t)sg[k].addr +
					sg[k].iova + sg[k].len;
		}
		mmrt_quiescent();
	}
	return sum;
}

/* The anchor: one mmrt_translate() per page of each window. */
static __rte_noinline XLATE_HOT uint64_t
batch_sg_anchor(struct mmrt_as *as, const uint64_t *va, unsigned int n)
{
	struct mmrt_xlate x;
	uint64_t sum = 0, o;
	unsigned int i, j;
	int ret;

	for (i = 0; i < n; i += XLATE_SG_QS_EVERY) {
		for (j = i; j < i + XLATE_SG_QS_EVERY; j++) {
			for (o = 0; o < XLATE_SG_WINDOW; o += MMRT_PAGE_SIZE) {
				ret = mmrt_translate(as, va[j] + o,
					MMRT_ACCESS_READ, &x);
				if (unlikely(ret != 0))
					perf_die("mmrt_translate(%#" PRIx64
						"): %s", va[j] + o,
						strerror(-ret));
				sum += (uint64_t)(uintptr_t)x.addr + x.iova +
					x.size;
			}
		}
		mmrt_quiescent();
	}
	return sum;
}

/* The segments of a window must be its pages, coalesced. */
static void
sg_check(struct mmrt_as *as, uint64_t va, unsigned int *nseg)
{
	struct mmrt_sg sg[XLATE_SG_PAGES];
	struct mmrt_xlate x;
	uint64_t at = va, o;
	int n, k;

	n = mmrt_translate_sg(as, va, XLATE_SG_WINDOW, MMRT_ACCESS_READ, sg,
		XLATE_SG_PAGES);
	if (n <= 0)
		perf_die("sg-64k: mmrt_translate_sg(%#" PRIx64 "): %d", va, n);
	for (k = 0; k < n; k++) {
		for (o = 0; o < sg[k].len; o += MMRT_PAGE_SIZE) {
			if (mmrt_translate(as, at + o, MMRT_ACCESS_READ,
					&x) != 0 ||
					x.addr != (uint8_t *)sg[k].addr + o ||
					x.iova != sg[k].iova + o)
				perf_die("sg-64k: va %#" PRIx64 " disagrees "
					"with its segment", at + o);
		}
		at += sg[k].len;
	}
	if (at != va + XLATE_SG_WINDOW)
		perf_die("sg-64k: segments cover %" PRIu64 " bytes",
			at - va);
	*nseg += (unsigned int)n;
}

static void
sg_run(struct mmrt_as *as, const struct perf_opts *opts,
	struct perf_result *res)
{
	unsigned int rounds = opts->quick ? 4 : 20;
	unsigned int batches = opts->quick ? 200 : 1000;
	uint64_t len = XLATE_LEN, lcg = 0x5e9, *seq, t0, t1;
	uint64_t sum_m = 0, sum_a = 0;
	unsigned int i, r, b, side, pos, nseg = 0;
	struct perf_samples sm, sa;
	int ret;

	ret = mmrt_map(as, XLATE_VA_SG, len, MMRT_PROT_READ | MMRT_PROT_WRITE,
		MMRT_MAP_POPULATE);
	if (ret < 0)
		perf_die("sg-64k: mmrt_map: %s", strerror(-ret));
	seq = malloc(XLATE_SG_NIDX * sizeof(*seq));
	if (seq == NULL)
		perf_die("out of memory for the sequence");
	for (i = 0; i < XLATE_SG_NIDX; i++)
		seq[i] = XLATE_VA_SG + (perf_lcg(&lcg) %
			((len - XLATE_SG_WINDOW) / MMRT_PAGE_SIZE)) *
			MMRT_PAGE_SIZE;
	if (perf_samples_init(&sm, (size_t)rounds * batches) < 0 ||
			perf_samples_init(&sa, (size_t)rounds * batches) < 0)
		perf_die("out of memory for samples");
	ret = mmrt_thread_register();
	if (ret < 0)
		perf_die("mmrt_thread_register: %s", strerror(-ret));
	for (i = 0; i < XLATE_SG_NIDX; i++)
		sg_check(as, seq[i], &nseg);
	for (pos = 0; pos < XLATE_SG_NIDX; pos += XLATE_SG_BATCH) {
		batch_sg(as, &seq[pos], XLATE_SG_BATCH);
		batch_sg_anchor(as, &seq[pos], XLATE_SG_BATCH);
	}
	for (r = 0; r < rounds; r++) {
		for (side = 0; side < 2; side++) {
			bool is_mmrt = ((r + side) % 2) == 0;

			pos = 0;
			for (b = 0; b < batches; b++) {
				t0 = perf_now();
				if (is_mmrt)
					sum_m += batch_sg(as, &seq[pos],
						XLATE_SG_BATCH);
				else
					sum_a += batch_sg_anchor(as,
						&seq[pos], XLATE_SG_BATCH);
				t1 = perf_now();
				perf_samples_add(is_mmrt ? &sm : &sa,
					perf_ns(t1 - t0) / XLATE_SG_BATCH);
				pos = (pos + XLATE_SG_BATCH) % XLATE_SG_NIDX;
			}
		}
	}
	ret = mmrt_thread_unregister();
	if (ret < 0)
		perf_die("mmrt_thread_unregister: %s", strerror(-ret));
	printf("sg-64k: %u windows of %" PRIu64 " pages, %.2f segments per "
		"window (checked), sums %#" PRIx64 " / %#" PRIx64 "\n",
		XLATE_SG_NIDX, XLATE_SG_PAGES, (double)nseg / XLATE_SG_NIDX,
		sum_m, sum_a);

	perf_result_set(res, "sg-64k", "16x-mmrt_translate", "ns/64KiB",
		XLATE_SG_TARGET, &sm, &sa);
	perf_samples_free(&sm);
	perf_samples_free(&sa);
	free(seq);
	ret = mmrt_unmap(as, XLATE_VA_SG, len);
	if (ret < 0)
		perf_die("sg-64k: mmrt_unmap: %s", strerror(-ret));
}

int
main(int argc, char **argv)
{
	static const struct xlate_case cases[] = {
		{ "xlate-4k", "spdk-memmap-4k", XLATE_VA_4K, XLATE_LEN, 0,
			MMRT_PAGE_SHIFT, false, XLATE_TARGET, false, false },
		{ "xlate-2m", "spdk-memmap-2m", XLATE_VA_2M, XLATE_LEN,
			MMRT_MAP_HUGE, MMRT_HUGE_SHIFT, false, XLATE_TARGET,
			false, false },
		{ "xlate-dtlb-4k", "spdk-memmap-4k", XLATE_VA_4K, XLATE_LEN, 0,
			MMRT_PAGE_SHIFT, true, XLATE_DTLB_TARGET, false, false },
		/* the curve: default TLB (1 MiB reach) over growing sets */
		{ "xlate-dtlb-ws-256K", "spdk-memmap-4k", XLATE_VA_4K,
			UINT64_C(256) << 10, 0, MMRT_PAGE_SHIFT, true,
			PERF_REPORT_ONLY, true, false },
		{ "xlate-dtlb-ws-1M", "spdk-memmap-4k", XLATE_VA_4K,
			UINT64_C(1) << 20, 0, MMRT_PAGE_SHIFT, true,
			PERF_REPORT_ONLY, true, false },
		{ "xlate-dtlb-ws-4M", "spdk-memmap-4k", XLATE_VA_4K,
			UINT64_C(4) << 20, 0, MMRT_PAGE_SHIFT, true,
			PERF_REPORT_ONLY, true, false },
		{ "xlate-dtlb-ws-16M", "spdk-memmap-4k", XLATE_VA_4K,
			UINT64_C(16) << 20, 0, MMRT_PAGE_SHIFT, true,
			PERF_REPORT_ONLY, true, false },
		{ "xlate-dtlb-ws-64M", "spdk-memmap-4k", XLATE_VA_4K,
			UINT64_C(64) << 20, 0, MMRT_PAGE_SHIFT, true,
			PERF_REPORT_ONLY, true, false },
		/* host mappings, the same anchor (cases 0 and 1: pool) */
		{ "xlate-host-4k", "spdk-memmap-4k", XLATE_VA_H4K, XLATE_LEN,
			0, MMRT_PAGE_SHIFT, false, XLATE_TARGET, false, true },
		{ "xlate-host-2m", "spdk-memmap-2m", XLATE_VA_H2M, XLATE_LEN,
			0, MMRT_HUGE_SHIFT, false, XLATE_TARGET, false, true },
	};
	/* the cases, two host/pool rows, sg-64k */
	struct perf_result res[RTE_DIM(cases) + 3];
	const unsigned int nc = RTE_DIM(cases);
	struct perf_opts opts;
	struct mmrt_as *as;
	unsigned int i;
	int ret;

	perf_parse_args(argc, argv, XLATE_PROG, &opts);
	perf_init(XLATE_PROG, XLATE_POOL_MB, &opts);

	as = perf_as_create("perf-xlate");
	for (i = 0; i < nc; i++)
		xlate_run(as, &cases[i], &opts, &res[i]);
	host_vs_pool(&res[nc], &res[nc - 2], &res[0]);
	host_vs_pool(&res[nc + 1], &res[nc - 1], &res[1]);
	sg_run(as, &opts, &res[nc + 2]);
	perf_as_destroy(as);

	ret = perf_report(&opts, res, RTE_DIM(res));
	perf_fini();
	return ret;
}
