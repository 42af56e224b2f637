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
 *
 * Two results: populate-4k, with no zeroing service (every fault zeroes its
 * frame), then populate-4k-zsvc, with the pool's zeroing service
 * ("mmrt_mem_zero") running on service lcore 1, so that faults take frames
 * zeroed ahead of time. Between the rounds of the latter the harness waits
 * (not timed, bounded) for the service to zero what the last unmap freed,
 * as if it had idle time. The zeroing is moved to the service lcore, not
 * eliminated: its cost per page is measured once and printed beside.
 */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_service.h>

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
#define POP_ZSVC_LCORE 1u      /* service lcore of populate-4k-zsvc */
#define POP_ZWAIT_MS 200u      /* bound of the wait for the service */
#define POP_ZWAIT_POLL_US 100u /* sleep between checks of that wait */

/* What the zeroing service did around one mmrt round (zsvc only). */
struct pop_zround {
	uint64_t allocs;     /* frames allocated while faulting */
	uint64_t hits;       /* of which served pre-zeroed (zero_hits) */
	uint64_t zeroed;     /* frames the service zeroed after faulting */
	uint64_t dirty_left; /* free frames still dirty after the wait */
	double wait_ms;      /* time waited for the service, not timed */
};

/* Kernel page faults taken by this thread so far. */
static uint64_t
pop_minflt(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return 0;
	return (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
}

/*
 * Free 4 KiB frames not yet zeroed: those in the shared ring and in the
 * caches of the lcores (call mmrt_mem_cache_flush() first to empty the
 * caller's). Whole huge frames free are not counted: the service only
 * zeroes 4 KiB frames.
 */
static uint64_t
pop_dirty_free(const struct mmrt_mem_stats *st)
{
	return st->frames_free - st->frames_clean -
		st->huge_free * MMRT_HUGE_NR;
}

/*
 * Not timed: return the frames the last unmap freed to the shared ring,
 * where the service finds them, and wait until the service has zeroed
 * every dirty free frame, or POP_ZWAIT_MS have passed.
 */
static void
pop_zero_wait(struct pop_zround *zr)
{
	struct mmrt_mem_stats st;
	uint64_t t0, deadline;

	mmrt_mem_cache_flush();
	t0 = rte_get_timer_cycles();
	deadline = t0 + rte_get_timer_hz() * POP_ZWAIT_MS / 1000;
	for (;;) {
		perf_mem_stats(&st);
		zr->dirty_left = pop_dirty_free(&st);
		if (zr->dirty_left == 0 || rte_get_timer_cycles() >= deadline)
			break;
		rte_delay_us_sleep(POP_ZWAIT_POLL_US);
	}
	zr->wait_ms = (double)(rte_get_timer_cycles() - t0) * 1e3 /
		(double)rte_get_timer_hz();
}

/*
 * Fault in every page of a fresh region; ns per page of the round. With
 * @p zr (zsvc only), also count the frames served pre-zeroed while
 * faulting and, after the unmap, wait for the service (all not timed).
 */
static double
pop_round_mmrt(struct mmrt_as *as, uint64_t len, struct perf_samples *s,
	uint64_t *lcg, uint64_t *kflt, struct pop_zround *zr)
{
	struct mmrt_mem_stats mst0, mst1, mst2;
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
	if (zr != NULL)
		perf_mem_stats(&mst0);

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
	if (zr != NULL) {
		perf_mem_stats(&mst1);
		zr->allocs = mst1.allocs - mst0.allocs;
		zr->hits = mst1.zero_hits - mst0.zero_hits;
	}

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
	if (zr != NULL) {
		pop_zero_wait(zr);
		perf_mem_stats(&mst2);
		zr->zeroed = mst2.zeroed - mst1.zeroed;
	}

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

	addr = perf_kernel_map(len, false);
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

/*
 * Warm-up, then interleaved rounds of mmrt and the kernel, into @p res.
 * populate-4k runs it with no zeroing service, populate-4k-zsvc with the
 * service running (@p zsvc: per-round zero hits and the wait).
 */
static void
pop_phase(struct mmrt_as *as, uint64_t len, unsigned int rounds, bool zsvc,
	uint64_t *lcg, struct perf_result *res)
{
	struct perf_samples sm, sa, dummy;
	struct pop_zround zr, *zrp = zsvc ? &zr : NULL;
	double *round_m, *round_a;
	uint64_t npages = len / MMRT_PAGE_SIZE, kflt_m, kflt_a;
	unsigned int r;

	memset(&zr, 0, sizeof(zr));
	round_m = calloc(rounds, sizeof(*round_m));
	round_a = calloc(rounds, sizeof(*round_a));
	if (round_m == NULL || round_a == NULL ||
			perf_samples_init(&sm, 1024) < 0 ||
			perf_samples_init(&sa, 1024) < 0 ||
			perf_samples_init(&dummy, 1024) < 0)
		perf_die("out of memory");

	/* One warm-up round of each, not recorded. */
	pop_round_mmrt(as, len, &dummy, lcg, &kflt_m, zrp);
	pop_round_kernel(len, &dummy, &kflt_a);

	for (r = 0; r < rounds; r++) {
		if (r % 2 == 0) {
			round_m[r] = pop_round_mmrt(as, len, &sm, lcg,
				&kflt_m, zrp);
			round_a[r] = pop_round_kernel(len, &sa, &kflt_a);
		} else {
			round_a[r] = pop_round_kernel(len, &sa, &kflt_a);
			round_m[r] = pop_round_mmrt(as, len, &sm, lcg,
				&kflt_m, zrp);
		}
		printf("%sround %2u: %" PRIu64 " pages: mmrt_fault %8.1f"
			" ns/page (%" PRIu64 " kernel faults)  kernel first"
			" touch %8.1f ns/page (%" PRIu64 " kernel faults)\n",
			zsvc ? "zsvc " : "", r, npages, round_m[r], kflt_m,
			round_a[r], kflt_a);
		if (zsvc)
			printf("zsvc round %2u: pre-zeroed (zero_hits) %" PRIu64
				" of %" PRIu64 " frame allocs (%" PRIu64
				" faults + %" PRIu64 " page-table pages);"
				" after the unmap the service zeroed %" PRIu64
				" frames, waited %.1f ms, %" PRIu64
				" dirty left\n", r, zr.hits, zr.allocs,
				npages, zr.allocs - npages, zr.zeroed,
				zr.wait_ms, zr.dirty_left);
	}

	memset(res, 0, sizeof(*res));
	snprintf(res->name, sizeof(res->name), "%s",
		zsvc ? "populate-4k-zsvc" : "populate-4k");
	snprintf(res->anchor, sizeof(res->anchor), "kernel-first-touch");
	res->unit = "ns/page";
	res->target = POP_TARGET;
	res->value = app_median(round_m, rounds);
	res->anchor_value = app_median(round_a, rounds);
	perf_percentiles(&sm, &res->pct);
	perf_percentiles(&sa, &res->anchor_pct);
	printf("%spercentiles over chunks of %u pages (%zu per side)\n",
		zsvc ? "zsvc: " : "", POP_CHUNK, sm.n);

	perf_samples_free(&sm);
	perf_samples_free(&sa);
	perf_samples_free(&dummy);
	free(round_m);
	free(round_a);
}

/*
 * What the service lcore spends per page: mmrt_mem_zero_poll() timed once
 * on the main lcore (service not running) over up to @p batch dirty free
 * frames. @return ns per frame zeroed, NAN if none was dirty.
 */
static double
pop_zero_cost(unsigned int batch, int *nzeroed)
{
	uint64_t t0, t1;
	int ret;

	mmrt_mem_cache_flush();
	t0 = perf_now();
	ret = mmrt_mem_zero_poll(batch);
	t1 = perf_now();
	if (ret < 0)
		perf_die("mmrt_mem_zero_poll: %s", strerror(-ret));
	*nzeroed = ret;
	if (ret == 0)
		return NAN;
	return perf_ns(t1 - t0) / (double)ret;
}

/* Run the zeroing service @p sid on service lcore POP_ZSVC_LCORE. */
static void
pop_zsvc_start(uint32_t sid)
{
	int ret;

	ret = rte_service_lcore_add(POP_ZSVC_LCORE);
	if (ret < 0)
		perf_die("rte_service_lcore_add(%u): %s", POP_ZSVC_LCORE,
			strerror(-ret));
	ret = rte_service_map_lcore_set(sid, POP_ZSVC_LCORE, 1);
	if (ret < 0)
		perf_die("rte_service_map_lcore_set: %s", strerror(-ret));
	ret = rte_service_runstate_set(sid, 1);
	if (ret < 0)
		perf_die("rte_service_runstate_set(1): %s", strerror(-ret));
	ret = rte_service_lcore_start(POP_ZSVC_LCORE);
	if (ret < 0)
		perf_die("rte_service_lcore_start(%u): %s", POP_ZSVC_LCORE,
			strerror(-ret));
}

/* Stop the service and give POP_ZSVC_LCORE back to the EAL. */
static void
pop_zsvc_stop(uint32_t sid)
{
	int ret;

	ret = rte_service_runstate_set(sid, 0);
	if (ret < 0)
		perf_die("rte_service_runstate_set(0): %s", strerror(-ret));
	ret = rte_service_lcore_stop(POP_ZSVC_LCORE);
	if (ret < 0)
		perf_die("rte_service_lcore_stop(%u): %s", POP_ZSVC_LCORE,
			strerror(-ret));
	/* the service thread returns to the EAL once its loop sees the stop */
	rte_eal_wait_lcore(POP_ZSVC_LCORE);
	ret = rte_service_map_lcore_set(sid, POP_ZSVC_LCORE, 0);
	if (ret < 0)
		perf_die("rte_service_map_lcore_set(0): %s", strerror(-ret));
	ret = rte_service_lcore_del(POP_ZSVC_LCORE);
	if (ret < 0)
		perf_die("rte_service_lcore_del(%u): %s", POP_ZSVC_LCORE,
			strerror(-ret));
}

int
main(int argc, char **argv)
{
	struct perf_result res[2];
	struct mmrt_mem_stats st;
	struct perf_opts opts;
	struct mmrt_as *as;
	unsigned int rounds, nres = 1;
	uint64_t len, lcg = 0x5eed;
	double zcost;
	uint32_t sid;
	int ret, nz;

	perf_parse_args(argc, argv, POP_PROG, &opts);
	perf_init(POP_PROG, POP_POOL_MB, &opts);
	len = (opts.quick ? UINT64_C(32) : UINT64_C(64)) << 20;
	rounds = opts.quick ? 6 : 12;

	as = perf_as_create("perf-populate");

	/* populate-4k: no zeroing service, every fault zeroes its frame. */
	pop_phase(as, len, rounds, false, &lcg, &res[0]);

	/* The zeroing work the service lcore takes over, per page. */
	zcost = pop_zero_cost((unsigned int)(len / MMRT_PAGE_SIZE), &nz);
	printf("info: zeroing cost %.1f ns/page zeroed (mmrt_mem_zero_poll()"
		" timed once on the main lcore over %d dirty free frames);"
		" populate-4k-zsvc moves this work to the service lcore, it"
		" does not eliminate it\n", zcost, nz);

	/* populate-4k-zsvc: the zeroing service on service lcore 1. */
	ret = mmrt_mem_zero_service_id(&sid);
	if (rte_lcore_count() < 2) {
		printf("populate-4k-zsvc: skipped: %u lcore, the zeroing"
			" service needs service lcore %u\n",
			rte_lcore_count(), POP_ZSVC_LCORE);
	} else if (ret < 0) {
		printf("populate-4k-zsvc: skipped: no zeroing service: %s\n",
			strerror(-ret));
	} else {
		printf("populate-4k-zsvc: zeroing service \"mmrt_mem_zero\""
			" on service lcore %u; between rounds (not timed) wait"
			" up to %u ms for it to zero what the unmap freed\n",
			POP_ZSVC_LCORE, POP_ZWAIT_MS);
		pop_zsvc_start(sid);
		pop_phase(as, len, rounds, true, &lcg, &res[1]);
		pop_zsvc_stop(sid);
		nres = 2;
		perf_mem_stats(&st);
		printf("zeroing service totals (whole run): zeroed=%" PRIu64
			" (%d of them by the timed cost batch) zero_hits=%"
			PRIu64 " frames_clean=%" PRIu64 "\n", st.zeroed, nz,
			st.zero_hits, st.frames_clean);
		printf("info: populate-4k-zsvc: %.2f ns/page on the faulting"
			" lcore + %.2f ns/page of zeroing on the service lcore"
			" = %.2f ns/page of CPU time, %.3f of the kernel's"
			" first touch (which includes its zeroing)\n",
			res[1].value, zcost, res[1].value + zcost,
			(res[1].value + zcost) / res[1].anchor_value);
		printf("note: populate-4k-zsvc moves the zeroing to the"
			" service lcore (not eliminated), done there while the"
			" faulting lcore is idle between rounds; populate-4k"
			" zeroes on the fault path\n");
	}

	perf_as_destroy(as);

	ret = perf_report(&opts, res, nres);
	perf_fini();
	return ret;
}
