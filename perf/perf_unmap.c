/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * perf-unmap: one mmrt_unmap() of a large range of populated 4 KiB pages,
 * against the kernel's munmap() of an anonymous mapping of the same size
 * populated with 4 KiB pages (THP off). Populating is not timed; the
 * figure is ns per page of the single call, the value the median over
 * rounds. After each mmrt round the pool must be back where it started
 * (every data frame and page-table page returned).
 *
 * The scaling curves, report only: the same unmap, and the teardown of a
 * whole address space holding only that mapping (mmrt_as_destroy()), per
 * page, at sizes from 1 MiB up by 4x to what the pool holds (--pool-mb;
 * 64 MiB with --quick), each beside the kernel's munmap() of the same
 * size. The per-page cost should stay flat.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>
#include <rte_errno.h>

#include <mmrt_core.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>

#include "perf_common.h"

#define UNMAP_PROG "perf-unmap"
#define UNMAP_VA UINT64_C(0x100000000000)
#define UNMAP_TARGET 0.25
#define UNMAP_CURVE_MAX 16                 /* points of a curve */

/* Frames in use with nothing cached or deferred. */
static uint64_t
unmap_used(void)
{
	mmrt_mm_reclaim(true);
	mmrt_mem_cache_flush();
	return mmrt_mem_used();
}

static void
unmap_print_stats(const char *when)
{
	struct mmrt_mem_stats st;
	int ret;

	ret = mmrt_mem_stats(&st);
	if (ret < 0)
		perf_die("mmrt_mem_stats: %s", strerror(-ret));
	printf("  pool %-14s used %8" PRIu64 " free %8" PRIu64 "/%" PRIu64
		" huge_free %4" PRIu64 "/%" PRIu64 " pt_pages %5" PRIu64
		" allocs %9" PRIu64 " frees %9" PRIu64 " splits %4" PRIu64
		" alloc_fail %" PRIu64 "\n", when, mmrt_mem_used(),
		st.frames_free, st.frames_total, st.huge_free, st.huge_total,
		st.pt_pages, st.allocs, st.frees, st.splits, st.alloc_fail);
}

/*
 * Populate [UNMAP_VA, +len) with 4 KiB frames, then time its unmap, or
 * with @p teardown the destruction of @p as (which must hold nothing
 * else). Quiet unless @p verbose.
 */
static double
unmap_round_any(struct mmrt_as *as, uint64_t len, uint64_t used0,
	bool teardown, bool verbose)
{
	uint64_t npages = len / MMRT_PAGE_SIZE;
	uint64_t p, t0, t1, used;
	struct mmrt_as_stats st;
	uint8_t one = 1;
	int ret;

	ret = mmrt_map(as, UNMAP_VA, len, MMRT_PROT_READ | MMRT_PROT_WRITE,
		MMRT_MAP_POPULATE);
	if (ret < 0)
		perf_die("mmrt_map(%" PRIu64 " MiB, POPULATE): %s", len >> 20,
			strerror(-ret));
	/*
	 * MMRT_MAP_POPULATE may map the shared zero frame for reads only:
	 * write one byte per page unless every page has its own frame.
	 */
	used = unmap_used();
	if (used - used0 < npages) {
		printf("  MMRT_MAP_POPULATE left %" PRIu64 " of %" PRIu64
			" pages without a frame: writing one byte per page\n",
			npages - (used - used0), npages);
		for (p = 0; p < npages; p++) {
			ret = mmrt_write(as, UNMAP_VA + p * MMRT_PAGE_SIZE,
				&one, 1);
			if (ret < 0)
				perf_die("mmrt_write(page %" PRIu64 "): %s",
					p, strerror(-ret));
		}
		used = unmap_used();
	}
	ret = mmrt_as_stats(as, &st);
	if (ret < 0)
		perf_die("mmrt_as_stats: %s", strerror(-ret));
	if (st.rss_pages != npages || used - used0 < npages)
		perf_die("populated %" PRIu64 " pages: rss_pages %" PRIu64
			", %" PRIu64 " frames in use", npages, st.rss_pages,
			used - used0);
	if (verbose)
		unmap_print_stats("populated");

	t0 = perf_now();
	if (teardown)
		ret = mmrt_as_destroy(as);
	else
		ret = mmrt_unmap(as, UNMAP_VA, len);
	t1 = perf_now();
	if (ret < 0)
		perf_die("%s: %s", teardown ? "mmrt_as_destroy" :
			"mmrt_unmap", strerror(-ret));

	if (verbose)
		unmap_print_stats("after unmap");
	used = unmap_used();
	if (verbose)
		unmap_print_stats("after reclaim");
	if (used != used0)
		perf_die("pool not back after unmap + mmrt_mm_reclaim(true): "
			"%" PRIu64 " frames in use, %" PRIu64 " before map "
			"(%+" PRId64 ")", used, used0,
			(int64_t)(used - used0));
	return perf_ns(t1 - t0) / (double)npages;
}

static double
unmap_round_mmrt(struct mmrt_as *as, uint64_t len, uint64_t used0)
{
	return unmap_round_any(as, len, used0, false, true);
}

/* The largest mapping of 4 KiB pages the pool's free frames hold. */
static uint64_t
unmap_pool_limit(void)
{
	struct mmrt_mem_stats st;
	uint64_t pages;
	int ret;

	mmrt_mm_reclaim(true);
	mmrt_mem_cache_flush();
	ret = mmrt_mem_stats(&st);
	if (ret < 0)
		perf_die("mmrt_mem_stats: %s", strerror(-ret));
	/* leave room for the page-table pages (1 per 512) and some slack */
	if (st.frames_free < 1024)
		return 0;
	pages = (st.frames_free - 1024) / 512 * 511;
	return pages * MMRT_PAGE_SIZE;
}

static void
unmap_curve_result(struct perf_result *res, const char *what,
	const char *curve, uint64_t len, double *m, double *a,
	unsigned int rounds)
{
	struct perf_samples sm = { m, rounds, rounds };
	struct perf_samples sa = { a, rounds, rounds };

	memset(res, 0, sizeof(*res));
	if (len >= (UINT64_C(1) << 30))
		snprintf(res->name, sizeof(res->name), "%s-4k-%uG", what,
			(unsigned int)(len >> 30));
	else
		snprintf(res->name, sizeof(res->name), "%s-4k-%uM", what,
			(unsigned int)(len >> 20));
	snprintf(res->anchor, sizeof(res->anchor), "kernel-munmap");
	res->unit = "ns/page";
	res->target = PERF_REPORT_ONLY;
	perf_percentiles(&sm, &res->pct);
	perf_percentiles(&sa, &res->anchor_pct);
	res->value = app_median(m, rounds);
	res->anchor_value = app_median(a, rounds);
	perf_result_point(res, curve, (double)(len >> 20), "MiB");
}

/*
 * The curves: unmap and teardown per page against mapped size, each
 * point beside munmap of the same size. @return the results written.
 */
static unsigned int
unmap_curve(bool quick, struct perf_result *res)
{
	uint64_t len, limit, used0, tused;
	uint64_t max = quick ? UINT64_C(64) << 20 : UINT64_C(4) << 30;
	unsigned int rounds = quick ? 2 : 3, r, np = 0;
	double um[3], ut[3], ua[3], ka[3];
	struct mmrt_as *as, *tas;

	as = perf_as_create("perf-unmap-curve");
	used0 = unmap_used();
	limit = unmap_pool_limit();
	printf("curves: sizes 1 MiB .. %" PRIu64 " MiB (pool holds %" PRIu64
		" MiB of 4 KiB pages), %u rounds per size\n",
		RTE_MIN(max, limit) >> 20, limit >> 20, rounds);
	for (len = UINT64_C(1) << 20; len <= max && len <= limit &&
			np + 2 <= 2 * UNMAP_CURVE_MAX; len *= 4) {
		for (r = 0; r < rounds; r++) {
			if (r % 2 != 0)
				ua[r] = perf_kernel_unmap_ns(len);
			um[r] = unmap_round_any(as, len, used0, false, false);
			/* after the teardown, not even the space's root */
			tused = unmap_used();
			tas = mmrt_as_create("perf-unmap-teardown");
			if (tas == NULL)
				perf_die("mmrt_as_create: %s",
					strerror(rte_errno));
			ut[r] = unmap_round_any(tas, len, tused, true, false);
			if (r % 2 == 0)
				ua[r] = perf_kernel_unmap_ns(len);
			ka[r] = ua[r];
		}
		unmap_curve_result(&res[np], "unmap", "unmap-per-page", len,
			um, ua, rounds);
		unmap_curve_result(&res[np + 1], "teardown",
			"teardown-per-page", len, ut, ka, rounds);
		printf("%" PRIu64 " MiB: mmrt_unmap %.2f ns/page, "
			"mmrt_as_destroy %.2f ns/page, munmap %.2f ns/page\n",
			len >> 20, res[np].value, res[np + 1].value,
			res[np].anchor_value);
		np += 2;
	}
	if (mmrt_as_destroy(as) < 0)
		perf_die("mmrt_as_destroy");
	return np;
}

int
main(int argc, char **argv)
{
	struct perf_samples sm, sa;
	struct perf_result res[1 + 2 * UNMAP_CURVE_MAX];
	struct perf_opts opts;
	unsigned int nres;
	struct mmrt_as *as;
	unsigned int rounds, r;
	double *round_m, *round_a;
	uint64_t len, used0;
	int ret;

	perf_parse_args(argc, argv, UNMAP_PROG, &opts);
	perf_init(UNMAP_PROG, opts.quick ? 300 : 1300, &opts);
	if (unmap_pool_limit() < (opts.quick ? UINT64_C(256) :
			UINT64_C(1024)) << 20)
		perf_die("the pool is too small for the %s run (--pool-mb "
			"at least %u)", opts.quick ? "quick" : "full",
			opts.quick ? 300 : 1300);
	len = (opts.quick ? UINT64_C(256) : UINT64_C(1024)) << 20;
	rounds = opts.quick ? 2 : 3;

	as = perf_as_create("perf-unmap");
	round_m = calloc(rounds, sizeof(*round_m));
	round_a = calloc(rounds, sizeof(*round_a));
	if (round_m == NULL || round_a == NULL ||
			perf_samples_init(&sm, rounds) < 0 ||
			perf_samples_init(&sa, rounds) < 0)
		perf_die("out of memory");

	used0 = unmap_used();
	unmap_print_stats("start");
	for (r = 0; r < rounds; r++) {
		printf("round %u: %" PRIu64 " pages\n", r,
			len / MMRT_PAGE_SIZE);
		if (r % 2 == 0) {
			round_m[r] = unmap_round_mmrt(as, len, used0);
			round_a[r] = perf_kernel_unmap_ns(len);
		} else {
			round_a[r] = perf_kernel_unmap_ns(len);
			round_m[r] = unmap_round_mmrt(as, len, used0);
		}
		perf_samples_add(&sm, round_m[r]);
		perf_samples_add(&sa, round_a[r]);
		printf("round %u: mmrt_unmap %7.2f ns/page (%.1f ms)  "
			"munmap %7.2f ns/page (%.1f ms)\n", r, round_m[r],
			round_m[r] * (double)(len / MMRT_PAGE_SIZE) / 1e6,
			round_a[r],
			round_a[r] * (double)(len / MMRT_PAGE_SIZE) / 1e6);
	}

	memset(&res[0], 0, sizeof(res[0]));
	snprintf(res[0].name, sizeof(res[0].name), "unmap-4k-%uM",
		(unsigned int)(len >> 20));
	snprintf(res[0].anchor, sizeof(res[0].anchor), "kernel-munmap");
	res[0].unit = "ns/page";
	res[0].target = UNMAP_TARGET;
	perf_percentiles(&sm, &res[0].pct);
	perf_percentiles(&sa, &res[0].anchor_pct);
	res[0].value = app_median(round_m, rounds);
	res[0].anchor_value = app_median(round_a, rounds);
	printf("percentiles over %u rounds\n", rounds);

	perf_as_destroy(as);
	perf_samples_free(&sm);
	perf_samples_free(&sa);
	free(round_m);
	free(round_a);

	nres = 1 + unmap_curve(opts.quick, &res[1]);
	ret = perf_report(&opts, res, nres);
	perf_fini();
	return ret;
}
