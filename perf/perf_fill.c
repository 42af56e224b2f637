/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * perf-fill: copy throughput of userfault fills into a MISSING-registered
 * region, against memcpy() of the same bytes in the same pieces.
 *
 * fill-4k: mmrt_uffd_copy() of one 4 KiB page per call (as a resolver
 * answering one fault at a time would) over the whole region.
 * fill-2m: the same region mapped with MMRT_MAP_HUGE, one 2 MiB copy per
 * call, each of which must install a 2 MiB leaf.
 *
 * The anchor of each is memcpy() from the same source buffer into another
 * buffer of the same size (both prefaulted anonymous memory with THP off),
 * one call per 4 KiB or 2 MiB piece. Rounds of the two alternate which goes
 * first; mapping, registering, checking and unmapping are not timed. The
 * figure is ns per 4 KiB of data (GB/s in the round lines); the ratio is
 * time(mmrt) / time(memcpy).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_errno.h>

#include <mmrt_core.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>
#include <mmrt_uffd.h>

#include "perf_common.h"

#define FILL_PROG "perf-fill"
#define FILL_VA UINT64_C(0x100000000000)
#define FILL_CHUNK 64u           /* 4 KiB calls per sample */
#define FILL_TARGET_4K 1.2
#define FILL_TARGET_2M 1.0
/*
 * The pool keeps 25% (mem.huge_reserve_pct) of its chunks as whole 2 MiB
 * frames and never coalesces split ones, so fill-2m needs a pool of four
 * times the region (plus slack for page tables and the zero frame); the
 * other 75% hold fill-4k's frames.
 */
#define FILL_LEN_MB 256u
#define FILL_POOL_MB 1100u
#define FILL_QUICK_LEN_MB 64u
#define FILL_QUICK_POOL_MB 300u

enum fill_case {
	FILL_4K,
	FILL_2M,
};

struct fill_ctx {
	struct mmrt_as *as;
	struct mmrt_uffd *u;
	uint8_t *src;        /* source, host memory */
	uint8_t *dst;        /* the anchor's destination */
	uint64_t len;
	uint64_t used0;      /* frames in use with the region unmapped */
};

/* Frames in use with nothing cached or deferred. */
static uint64_t
fill_used(void)
{
	mmrt_mm_reclaim(true);
	mmrt_mem_cache_flush();
	return mmrt_mem_used();
}

/* Stamp round @p r into every source page, so no stale frame passes. */
static void
fill_stamp(struct fill_ctx *fc, unsigned int r)
{
	uint64_t p, v;

	for (p = 0; p < fc->len / MMRT_PAGE_SIZE; p++) {
		v = ((uint64_t)r << 32) | p;
		memcpy(fc->src + p * MMRT_PAGE_SIZE, &v, sizeof(v));
	}
}

/*
 * Time the calls of one side over the region: samples (unless @p s is
 * NULL) per FILL_CHUNK 4 KiB calls or per 2 MiB call; returns ns per 4 KiB
 * of the whole round.
 */
static double
fill_timed(struct fill_ctx *fc, enum fill_case fcase, bool mmrt,
	struct perf_samples *s)
{
	uint64_t piece = fcase == FILL_4K ? MMRT_PAGE_SIZE : MMRT_HUGE_SIZE;
	unsigned int per_sample = fcase == FILL_4K ? FILL_CHUNK : 1;
	double pages_per_sample = (double)(piece / MMRT_PAGE_SIZE) *
		per_sample;
	struct mmrt_uffd_copy c;
	uint64_t off, n = 0, t_start, t_prev, t;
	int ret;

	t_start = t_prev = perf_now();
	for (off = 0; off < fc->len; off += piece) {
		if (mmrt) {
			c.dst = FILL_VA + off;
			c.src = fc->src + off;
			c.len = piece;
			c.mode = 0;
			c.copy = 0;
			ret = mmrt_uffd_copy(fc->u, &c);
			if (unlikely(ret != 0 || c.copy != (int64_t)piece))
				perf_die("mmrt_uffd_copy(0x%" PRIx64 ", %"
					PRIu64 "): %d (copy %" PRId64 ")",
					c.dst, piece, ret, c.copy);
		} else {
			memcpy(fc->dst + off, fc->src + off, piece);
		}
		if (++n == per_sample) {
			t = perf_now();
			if (s != NULL)
				perf_samples_add(s, perf_ns(t - t_prev) /
					pages_per_sample);
			t_prev = t;
			n = 0;
		}
	}
	t = perf_now();
	return perf_ns(t - t_start) / (double)(fc->len / MMRT_PAGE_SIZE);
}

/* Not timed: every page present, with the source's bytes, leaves as asked. */
static void
fill_check_mmrt(struct fill_ctx *fc, enum fill_case fcase)
{
	struct mmrt_as_stats st;
	struct mmrt_xlate x;
	uint64_t off, n;
	int ret;

	ret = mmrt_as_stats(fc->as, &st);
	if (ret < 0)
		perf_die("mmrt_as_stats: %s", strerror(-ret));
	if (st.rss_pages != fc->len / MMRT_PAGE_SIZE)
		perf_die("rss_pages %" PRIu64 " after filling %" PRIu64
			" pages", st.rss_pages, fc->len / MMRT_PAGE_SIZE);
	for (off = 0; off < fc->len; off += n) {
		ret = mmrt_translate(fc->as, FILL_VA + off, MMRT_ACCESS_READ,
			&x);
		if (ret < 0)
			perf_die("mmrt_translate(0x%" PRIx64 "): %s",
				FILL_VA + off, strerror(-ret));
		if (fcase == FILL_2M && !x.huge)
			perf_die("0x%" PRIx64 " is not mapped by a 2 MiB leaf "
				"after a 2 MiB copy", FILL_VA + off);
		n = RTE_MIN(x.size, fc->len - off);
		if (memcmp(x.addr, fc->src + off, n) != 0)
			perf_die("0x%" PRIx64 ": contents differ from the "
				"source", FILL_VA + off);
	}
}

/* One mmrt round: map, register, fill (timed), check, unmap. */
static double
fill_round_mmrt(struct fill_ctx *fc, enum fill_case fcase,
	struct perf_samples *s)
{
	struct mmrt_mem_stats st0, st1;
	uint64_t ops = 0, used;
	double v;
	int ret;

	ret = mmrt_map(fc->as, FILL_VA, fc->len, MMRT_PROT_READ |
		MMRT_PROT_WRITE, fcase == FILL_2M ? MMRT_MAP_HUGE : 0);
	if (ret < 0)
		perf_die("mmrt_map(%" PRIu64 " MiB): %s", fc->len >> 20,
			strerror(-ret));
	ret = mmrt_uffd_register(fc->u, FILL_VA, fc->len,
		MMRT_UFFD_REGISTER_MODE_MISSING, &ops);
	if (ret < 0)
		perf_die("mmrt_uffd_register: %s", strerror(-ret));
	if (!(ops & MMRT_UFFD_OP_COPY))
		perf_die("mmrt_uffd_register: COPY not allowed");
	perf_mem_stats(&st0);
	if (fcase == FILL_2M && st0.huge_free * MMRT_HUGE_SIZE < fc->len)
		perf_die("%" PRIu64 " free huge frames for %" PRIu64 " MiB: "
			"pool too small", st0.huge_free, fc->len >> 20);

	v = fill_timed(fc, fcase, true, s);

	perf_mem_stats(&st1);
	if (st1.splits != st0.splits)
		perf_die("%" PRIu64 " huge frames split while filling: pool "
			"too small", st1.splits - st0.splits);
	fill_check_mmrt(fc, fcase);
	ret = mmrt_unmap(fc->as, FILL_VA, fc->len);
	if (ret < 0)
		perf_die("mmrt_unmap: %s", strerror(-ret));
	used = fill_used();
	if (used != fc->used0)
		perf_die("pool not back after unmap + reclaim: %" PRIu64
			" frames in use, %" PRIu64 " before", used, fc->used0);
	return v;
}

/* One anchor round: memcpy (timed), check. */
static double
fill_round_memcpy(struct fill_ctx *fc, enum fill_case fcase,
	struct perf_samples *s)
{
	double v;

	v = fill_timed(fc, fcase, false, s);
	if (memcmp(fc->dst, fc->src, fc->len) != 0)
		perf_die("memcpy anchor: destination differs");
	return v;
}

/* Info: one memcpy of the whole buffer (glibc may stream it). */
static double
fill_memcpy_whole(struct fill_ctx *fc)
{
	uint64_t t0, t1;

	t0 = perf_now();
	memcpy(fc->dst, fc->src, fc->len);
	t1 = perf_now();
	return perf_ns(t1 - t0) / (double)(fc->len / MMRT_PAGE_SIZE);
}

/*
 * Info for fill-4k: where the time beyond memcpy goes. The same 4 KiB
 * copies into pool frames taken with mmrt_frame_alloc() (in the order the
 * pool hands them out, as the fills get them; the allocations are not
 * timed), then the allocations and puts alone. A fill costs about
 * *frames + *alloc + its own bookkeeping (locks, leaf, counters, wake).
 */
static void
fill_frames_memcpy(struct fill_ctx *fc, double *frames, double *alloc)
{
	uint64_t n = fc->len / MMRT_PAGE_SIZE, p, t0, t1, t2, t3;
	uint32_t *pfn;
	int64_t f;

	pfn = calloc(n, sizeof(*pfn));
	if (pfn == NULL)
		perf_die("out of memory");
	t0 = perf_now();
	for (p = 0; p < n; p++) {
		f = mmrt_frame_alloc(0);
		if (f < 0)
			perf_die("mmrt_frame_alloc: %s", strerror((int)-f));
		pfn[p] = (uint32_t)f;
	}
	t1 = perf_now();
	for (p = 0; p < n; p++)
		memcpy(mmrt_frame_addr(pfn[p]), fc->src + p * MMRT_PAGE_SIZE,
			MMRT_PAGE_SIZE);
	t2 = perf_now();
	for (p = 0; p < n; p++)
		if (memcmp(mmrt_frame_addr(pfn[p]), fc->src + p *
				MMRT_PAGE_SIZE, MMRT_PAGE_SIZE) != 0)
			perf_die("memcpy into pool frames: contents differ");
	t3 = perf_now();
	for (p = 0; p < n; p++)
		if (mmrt_frame_put(pfn[p]) < 0)
			perf_die("mmrt_frame_put failed");
	*frames = perf_ns(t2 - t1) / (double)n;
	*alloc = perf_ns(t1 - t0 + perf_now() - t3) / (double)n;
	free(pfn);
}

/*
 * Info for fill-4k: the fixed cost of one 4 KiB call when nothing misses
 * the cache. FILL_HOT_PAGES pages are filled one call each, then unmapped
 * and mapped again (not timed; their frames go back to the lcore cache
 * and come out again, still cached), FILL_HOT_ROUNDS times, against
 * memcpy() of the same pages into a buffer of the same size; each sample
 * is one pass of the pages, alternating which side goes first. The
 * difference of the p50s is what a fill adds to its copy (locks, walk,
 * frame, leaf, counters, wake) without the memory's share.
 */
#define FILL_HOT_PAGES 32u
#define FILL_HOT_ROUNDS 400u
static void
fill_hot(struct fill_ctx *fc, double *m50, double *a50)
{
	uint64_t len = FILL_HOT_PAGES * MMRT_PAGE_SIZE, off, t0, t1, ops;
	struct perf_samples sm, sa;
	struct app_pct pm, pa;
	struct mmrt_uffd_copy c;
	unsigned int r, side;
	int ret;

	if (perf_samples_init(&sm, FILL_HOT_ROUNDS) < 0 ||
			perf_samples_init(&sa, FILL_HOT_ROUNDS) < 0)
		perf_die("out of memory");
	for (r = 0; r < FILL_HOT_ROUNDS + 1; r++) {
		ret = mmrt_map(fc->as, FILL_VA, len, MMRT_PROT_READ |
			MMRT_PROT_WRITE, 0);
		if (ret == 0)
			ret = mmrt_uffd_register(fc->u, FILL_VA, len,
				MMRT_UFFD_REGISTER_MODE_MISSING, &ops);
		if (ret < 0)
			perf_die("hot fill map/register: %s", strerror(-ret));
		for (side = 0; side < 2; side++) {
			bool mm = (side == 0) == (r % 2 == 0);

			t0 = perf_now();
			for (off = 0; off < len; off += MMRT_PAGE_SIZE) {
				if (!mm) {
					memcpy(fc->dst + off, fc->src + off,
						MMRT_PAGE_SIZE);
					continue;
				}
				c.dst = FILL_VA + off;
				c.src = fc->src + off;
				c.len = MMRT_PAGE_SIZE;
				c.mode = 0;
				c.copy = 0;
				ret = mmrt_uffd_copy(fc->u, &c);
				if (ret != 0 || c.copy != MMRT_PAGE_SIZE)
					perf_die("hot mmrt_uffd_copy: %d", ret);
			}
			t1 = perf_now();
			if (r > 0) /* the first round warms up */
				perf_samples_add(mm ? &sm : &sa,
					perf_ns(t1 - t0) / FILL_HOT_PAGES);
		}
		ret = mmrt_unmap(fc->as, FILL_VA, len);
		if (ret < 0)
			perf_die("hot fill unmap: %s", strerror(-ret));
	}
	perf_percentiles(&sm, &pm);
	perf_percentiles(&sa, &pa);
	*m50 = pm.p50;
	*a50 = pa.p50;
	perf_samples_free(&sm);
	perf_samples_free(&sa);
}

/* GB/s of a figure in ns per 4 KiB. */
static double
fill_gbs(double ns_per_4k)
{
	return (double)MMRT_PAGE_SIZE / ns_per_4k;
}

static void
fill_case_run(struct fill_ctx *fc, enum fill_case fcase, unsigned int rounds,
	struct perf_result *res)
{
	const char *cname = fcase == FILL_4K ? "fill-4k" : "fill-2m";
	struct perf_samples sm, sa;
	double *round_m, *round_a, *whole, *frames, *alloc;
	unsigned int r, warm = 1;
	double m, a;

	round_m = calloc(rounds, sizeof(*round_m));
	round_a = calloc(rounds, sizeof(*round_a));
	whole = calloc(rounds, sizeof(*whole));
	frames = calloc(rounds, sizeof(*frames));
	alloc = calloc(rounds, sizeof(*alloc));
	if (round_m == NULL || round_a == NULL || whole == NULL ||
			frames == NULL || alloc == NULL ||
			perf_samples_init(&sm, 1024) < 0 ||
			perf_samples_init(&sa, 1024) < 0)
		perf_die("out of memory");

	for (r = 0; r < warm + rounds; r++) {
		fill_stamp(fc, r + (fcase == FILL_2M ? 1000 : 0));
		if (r < warm) {
			fill_round_mmrt(fc, fcase, NULL);
			fill_round_memcpy(fc, fcase, NULL);
			continue;
		}
		if (r % 2 == 0) {
			m = fill_round_mmrt(fc, fcase, &sm);
			a = fill_round_memcpy(fc, fcase, &sa);
		} else {
			a = fill_round_memcpy(fc, fcase, &sa);
			m = fill_round_mmrt(fc, fcase, &sm);
		}
		round_m[r - warm] = m;
		round_a[r - warm] = a;
		whole[r - warm] = fill_memcpy_whole(fc);
		if (fcase == FILL_4K)
			fill_frames_memcpy(fc, &frames[r - warm],
				&alloc[r - warm]);
		printf("%s round %u: mmrt_uffd_copy %7.1f ns/4KiB (%5.2f GB/s)"
			"  memcpy %7.1f ns/4KiB (%5.2f GB/s)  ratio %.3f\n",
			cname, r - warm, m, fill_gbs(m), a, fill_gbs(a),
			m / a);
	}

	memset(res, 0, sizeof(*res));
	snprintf(res->name, sizeof(res->name), "%s-%uM", cname,
		(unsigned int)(fc->len >> 20));
	snprintf(res->anchor, sizeof(res->anchor), "memcpy-%s",
		fcase == FILL_4K ? "4k" : "2m");
	res->unit = "ns/4KiB";
	res->target = fcase == FILL_4K ? FILL_TARGET_4K : FILL_TARGET_2M;
	perf_percentiles(&sm, &res->pct);
	perf_percentiles(&sa, &res->anchor_pct);
	res->value = app_median(round_m, rounds);
	res->anchor_value = app_median(round_a, rounds);
	m = app_median(whole, rounds);
	printf("%s: median %.2f GB/s, memcpy in the same pieces %.2f GB/s; "
		"info: one memcpy of all %" PRIu64 " MiB %.2f GB/s (%.1f "
		"ns/4KiB)\n", cname, fill_gbs(res->value),
		fill_gbs(res->anchor_value), fc->len >> 20, fill_gbs(m), m);

	if (fcase == FILL_4K) {
		double hm, ha;

		fill_hot(fc, &hm, &ha);
		printf("%s: info: cache-resident (%u pages, p50 of %u passes):"
			" mmrt_uffd_copy %.1f ns/4KiB, memcpy %.1f ns/4KiB: "
			"a fill's fixed cost %.1f ns\n", cname,
			FILL_HOT_PAGES, FILL_HOT_ROUNDS, hm, ha, hm - ha);
	}
	if (fcase == FILL_4K)
		printf("%s: info: memcpy into pool frames %.1f ns/4KiB (%.3f "
			"x memcpy-4k), frame alloc + put %.1f ns/frame; "
			"the rest of a fill: %.1f ns/4KiB\n", cname,
			app_median(frames, rounds), app_median(frames, rounds) /
			res->anchor_value, app_median(alloc, rounds),
			res->value - app_median(frames, rounds) -
			app_median(alloc, rounds));
	perf_samples_free(&sm);
	perf_samples_free(&sa);
	free(frames);
	free(alloc);
	free(round_m);
	free(round_a);
	free(whole);
}

int
main(int argc, char **argv)
{
	struct mmrt_uffd_stats ust;
	struct perf_result res[2];
	struct perf_opts opts;
	struct fill_ctx fc;
	uint64_t features = 0;
	unsigned int rounds;
	int ret;

	perf_parse_args(argc, argv, FILL_PROG, &opts);
	perf_init(FILL_PROG, opts.quick ? FILL_QUICK_POOL_MB : FILL_POOL_MB,
		&opts);
	memset(&fc, 0, sizeof(fc));
	fc.len = (uint64_t)(opts.quick ? FILL_QUICK_LEN_MB : FILL_LEN_MB) <<
		20;
	rounds = 8;
	printf("region %" PRIu64 " MiB, %u rounds per case (+1 warm-up); "
		"%" PRIu64 " calls of 4 KiB, %" PRIu64 " of 2 MiB per round\n",
		fc.len >> 20, rounds, fc.len / MMRT_PAGE_SIZE,
		fc.len / MMRT_HUGE_SIZE);

	fc.src = perf_kernel_map(fc.len, true);
	fc.dst = perf_kernel_map(fc.len, true);
	memset(fc.src, 0x5a, fc.len);
	fc.as = perf_as_create("perf-fill");
	fc.u = mmrt_uffd_create(fc.as, MMRT_UFFD_API, &features, NULL);
	if (fc.u == NULL)
		perf_die("mmrt_uffd_create: %s", strerror(rte_errno));
	fc.used0 = fill_used();

	fill_case_run(&fc, FILL_4K, rounds, &res[0]);
	fill_case_run(&fc, FILL_2M, rounds, &res[1]);

	ret = mmrt_uffd_stats(fc.u, &ust);
	if (ret < 0)
		perf_die("mmrt_uffd_stats: %s", strerror(-ret));
	printf("uffd: %" PRIu64 " pages filled, %" PRIu64 " wakes, %" PRIu64
		" faults\n", ust.filled_pages, ust.wakes, ust.faults);
	ret = mmrt_uffd_destroy(fc.u);
	if (ret < 0)
		perf_die("mmrt_uffd_destroy: %s", strerror(-ret));
	perf_as_destroy(fc.as);
	munmap(fc.src, fc.len);
	munmap(fc.dst, fc.len);

	ret = perf_report(&opts, res, RTE_DIM(res));
	perf_fini();
	return ret;
}
