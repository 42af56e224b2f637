/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * perf-populate: demand-zero faults, one mmrt_fault(MMRT_ACCESS_WRITE) per
 * 4 KiB page over a freshly mapped anonymous region, against the kernel's
 * first-touch fault (anonymous private mmap with THP off, one written byte
 * per page). Rounds of the two are interleaved; mapping and unmapping are
 * not timed. Samples are the ns per page of each chunk of
 * POP_CHUNK pages; the value is the median over rounds of ns per page.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_errno.h>

#include <mmrt_core.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>

#include "perf_common.h"

#define POP_PROG "perf-populate"
#define POP_POOL_MB 256
#define POP_VA UINT64_C(0x100000000000)
#define POP_CHUNK 64u          /* pages per sample */
#define POP_CHECK_PAGES 64u    /* pages read back per round */
#define POP_DIRTY_EVERY 8u     /* dirty every 8th page after a round */
#define POP_TARGET 0.1

/* Kernel page faults taken by this thread so far. */
static uint64_t
pop_minflt(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return 0;
	return (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
}

/* Fault in every page of a fresh region; ns per page of the round. */
static double
pop_round_mmrt(struct mmrt_as *as, uint64_t len, struct perf_samples *s,
	uint64_t *lcg, uint64_t *kflt)
{
	static uint8_t buf[MMRT_PAGE_SIZE];
	static const uint8_t zero[MMRT_PAGE_SIZE];
	uint64_t npages = len / MMRT_PAGE_SIZE;
	uint64_t p, t_start, t_prev, t;
	struct mmrt_as_stats st;
	unsigned int i;
	int ret;

	ret = mmrt_map(as, POP_VA, len, MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	if (ret < 0)
		perf_die("mmrt_map(%" PRIu64 " MiB): %s", len >> 20,
			strerror(-ret));

	*kflt = pop_minflt();
	t_start = t_prev = perf_now();
	for (p = 0; p < npages; p++) {
		ret = mmrt_fault(as, POP_VA + p * MMRT_PAGE_SIZE,
			MMRT_ACCESS_WRITE);
		if (unlikely(ret != 0))
			perf_die("mmrt_fault(page %" PRIu64 "): %s", p,
				strerror(-ret));
		if (((p + 1) % POP_CHUNK) == 0) {
			t = perf_now();
			perf_samples_add(s, perf_ns(t - t_prev) / POP_CHUNK);
			t_prev = t;
		}
	}
	t = perf_now();
	*kflt = pop_minflt() - *kflt;

	/* Not timed: every page present, demand-zero pages read as zero. */
	ret = mmrt_as_stats(as, &st);
	if (ret < 0)
		perf_die("mmrt_as_stats: %s", strerror(-ret));
	if (st.rss_pages != npages)
		perf_die("rss_pages %" PRIu64 " after faulting %" PRIu64
			" pages", st.rss_pages, npages);
	for (i = 0; i < POP_CHECK_PAGES; i++) {
		p = perf_lcg(lcg) % npages;
		ret = mmrt_read(as, POP_VA + p * MMRT_PAGE_SIZE, buf,
			sizeof(buf));
		if (ret < 0)
			perf_die("mmrt_read(page %" PRIu64 "): %s", p,
				strerror(-ret));
		if (memcmp(buf, zero, sizeof(buf)) != 0)
			perf_die("demand-zero page %" PRIu64 " is not zero",
				p);
	}
	/* Dirty frames so that later rounds prove they are zeroed again. */
	memset(buf, 0xa5, sizeof(buf));
	for (p = 0; p < npages; p += POP_DIRTY_EVERY) {
		ret = mmrt_write(as, POP_VA + p * MMRT_PAGE_SIZE, buf,
			sizeof(buf));
		if (ret < 0)
			perf_die("mmrt_write(page %" PRIu64 "): %s", p,
				strerror(-ret));
	}
	ret = mmrt_unmap(as, POP_VA, len);
	if (ret < 0)
		perf_die("mmrt_unmap: %s", strerror(-ret));
	mmrt_mm_reclaim(true);

	return perf_ns(t - t_start) / (double)npages;
}

/* The kernel's first-touch fault over a fresh mapping; ns per page. */
static double
pop_round_kernel(uint64_t len, struct perf_samples *s, uint64_t *kflt)
{
	uint64_t npages = len / MMRT_PAGE_SIZE;
	uint64_t p, t_start, t_prev, t;
	volatile uint8_t *m;
	void *addr;

	addr = mmap(NULL, len, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr == MAP_FAILED)
		perf_die("mmap(%" PRIu64 " MiB): %s", len >> 20,
			strerror(errno));
	if (madvise(addr, len, MADV_NOHUGEPAGE) != 0)
		perf_die("madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
	m = addr;

	*kflt = pop_minflt();
	t_start = t_prev = perf_now();
	for (p = 0; p < npages; p++) {
		m[p * MMRT_PAGE_SIZE] = 1;
		if (((p + 1) % POP_CHUNK) == 0) {
			t = perf_now();
			perf_samples_add(s, perf_ns(t - t_prev) / POP_CHUNK);
			t_prev = t;
		}
	}
	t = perf_now();
	*kflt = pop_minflt() - *kflt;

	if (munmap(addr, len) != 0)
		perf_die("munmap: %s", strerror(errno));
	return perf_ns(t - t_start) / (double)npages;
}

int
main(int argc, char **argv)
{
	struct perf_samples sm, sa, dummy;
	struct perf_result res;
	struct perf_opts opts;
	struct mmrt_as *as;
	unsigned int rounds, r;
	double *round_m, *round_a;
	uint64_t len, lcg = 0x5eed, kflt_m, kflt_a;
	int ret;

	perf_parse_args(argc, argv, POP_PROG, &opts);
	perf_init(POP_PROG, POP_POOL_MB, &opts);
	len = (opts.quick ? UINT64_C(32) : UINT64_C(64)) << 20;
	rounds = opts.quick ? 6 : 12;

	as = mmrt_as_create("perf-populate");
	if (as == NULL)
		perf_die("mmrt_as_create: %s", strerror(rte_errno));
	round_m = calloc(rounds, sizeof(*round_m));
	round_a = calloc(rounds, sizeof(*round_a));
	if (round_m == NULL || round_a == NULL ||
			perf_samples_init(&sm, 1024) < 0 ||
			perf_samples_init(&sa, 1024) < 0 ||
			perf_samples_init(&dummy, 1024) < 0)
		perf_die("out of memory");

	/* One warm-up round of each, not recorded. */
	pop_round_mmrt(as, len, &dummy, &lcg, &kflt_m);
	pop_round_kernel(len, &dummy, &kflt_a);

	for (r = 0; r < rounds; r++) {
		if (r % 2 == 0) {
			round_m[r] = pop_round_mmrt(as, len, &sm, &lcg,
				&kflt_m);
			round_a[r] = pop_round_kernel(len, &sa, &kflt_a);
		} else {
			round_a[r] = pop_round_kernel(len, &sa, &kflt_a);
			round_m[r] = pop_round_mmrt(as, len, &sm, &lcg,
				&kflt_m);
		}
		printf("round %2u: %" PRIu64 " pages: mmrt_fault %8.1f ns/page"
			" (%" PRIu64 " kernel faults)  kernel first touch %8.1f"
			" ns/page (%" PRIu64 " kernel faults)\n", r,
			len / MMRT_PAGE_SIZE, round_m[r], kflt_m, round_a[r],
			kflt_a);
	}

	memset(&res, 0, sizeof(res));
	snprintf(res.name, sizeof(res.name), "populate-4k");
	snprintf(res.anchor, sizeof(res.anchor), "kernel-first-touch");
	res.unit = "ns/page";
	res.target = POP_TARGET;
	res.value = perf_median(round_m, rounds);
	res.anchor_value = perf_median(round_a, rounds);
	perf_percentiles(&sm, &res.pct);
	perf_percentiles(&sa, &res.anchor_pct);
	printf("percentiles over chunks of %u pages (%zu per side)\n",
		POP_CHUNK, sm.n);

	ret = mmrt_as_destroy(as);
	if (ret < 0)
		perf_die("mmrt_as_destroy: %s", strerror(-ret));
	perf_samples_free(&sm);
	perf_samples_free(&sa);
	perf_samples_free(&dummy);
	free(round_m);
	free(round_a);

	ret = perf_report(&opts, &res, 1);
	perf_fini();
	return ret;
}
