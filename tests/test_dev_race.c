/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Two concurrent zappers of one range: after either returns, no consumer
 * holds a translation in that range. MMRT_ADV_DONTNEED runs under the read
 * map lock, so both zap at once; the one that finds the PTEs already
 * cleared has nothing of its own to flush, and must still not return while
 * the other's flush is pending (the nested-gather rule, the kernel's
 * mm_tlb_flush_nested()).
 *
 * The consumer thread caches every page, then waits for a zapper to
 * return; before its next poll it looks up every page: a translation to
 * the frame it cached would be stale (a miss now resolves in place to the
 * zero page, which is a fresh translation). Rounds are bounded; threads spin with rte_pause().
 */

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include <rte_pause.h>

#include "common.h"
#include <mmrt_dev.h>

#define PG MMRT_PAGE_SIZE
#define VA (UINT64_C(1) << 30)
#define NPG 16
#define SPIN_MAX 200000000UL

static struct race {
	struct mmrt_as *as;
	struct mmrt_consumer *c;
	unsigned int rounds;
	uint32_t round;          /* current round, set by main */
	uint32_t cached;         /* round whose pages the consumer cached */
	uint32_t returned;       /* round in which a zapper returned */
	uint32_t checked;        /* round the consumer checked */
	uint32_t go[2];          /* round each zapper may start */
	uint32_t zapped[2];      /* round each zapper finished */
	uint64_t stale;          /* stale hits seen */
	uint32_t pfn[NPG];       /* frames the consumer cached */
	int stop;
} r;

/* Spin step: yield every 1024 steps. */
#define spin(i) mmrt_test_relax((i), 1023)

static void *
consumer_main(void *arg)
{
	struct mmrt_xlate x;
	uint32_t seen = 0, rd;
	unsigned long i = 0;
	unsigned int p;

	RTE_SET_USED(arg);
	cr_assert_geq(mmrt_thread_register(), 0);
	while (!__atomic_load_n(&r.stop, __ATOMIC_ACQUIRE)) {
		rd = __atomic_load_n(&r.round, __ATOMIC_ACQUIRE);
		if (rd != seen) {
			/* cache every page of the range */
			for (p = 0; p < NPG; p++) {
				cr_assert_eq(mmrt_consumer_translate(r.c,
					VA + p * PG, MMRT_ACCESS_READ, &x), 0);
				r.pfn[p] = x.pfn;
			}
			seen = rd;
			__atomic_store_n(&r.cached, rd, __ATOMIC_RELEASE);
		}
		/* a zapper returned: look before polling again */
		if (__atomic_load_n(&r.returned, __ATOMIC_ACQUIRE) == seen &&
				__atomic_load_n(&r.checked, __ATOMIC_RELAXED) !=
				seen) {
			for (p = 0; p < NPG; p++)
				if (mmrt_consumer_translate(r.c, VA + p * PG,
						MMRT_ACCESS_READ, &x) == 0 &&
						x.pfn == r.pfn[p])
					__atomic_fetch_add(&r.stale, 1,
						__ATOMIC_RELAXED);
			__atomic_store_n(&r.checked, seen, __ATOMIC_RELEASE);
		}
		mmrt_consumer_poll(r.c);
		spin(i++);
	}
	mmrt_thread_unregister();
	return NULL;
}

static void *
zapper_main(void *arg)
{
	unsigned int me = (unsigned int)(uintptr_t)arg;
	uint32_t done = 0, rd;
	unsigned long i = 0;

	while (!__atomic_load_n(&r.stop, __ATOMIC_ACQUIRE)) {
		rd = __atomic_load_n(&r.go[me], __ATOMIC_ACQUIRE);
		if (rd == done) {
			spin(i++);
			continue;
		}
		cr_assert_eq(mmrt_advise(r.as, VA, NPG * PG,
			MMRT_ADV_DONTNEED), 0);
		/* the first to return tells the consumer to look */
		__atomic_store_n(&r.returned, rd, __ATOMIC_RELEASE);
		done = rd;
		__atomic_store_n(&r.zapped[me], rd, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void
wait_eq(uint32_t *v, uint32_t want)
{
	unsigned long i;

	for (i = 0; i < SPIN_MAX; i++) {
		if (__atomic_load_n(v, __ATOMIC_ACQUIRE) == want)
			return;
		spin(i);
	}
	cr_assert_fail("a thread did not answer");
}

Test(dev_race, concurrent_zappers_leave_no_translation, .timeout = 300)
{
	struct mmrt_consumer_conf conf = { .name = "race",
		.ack_deadline_us = 1000000 };
	struct mmrt_consumer_stats st;
	struct mmrt_as_stats as_st;
	pthread_t cth, zth[2];
	uint64_t used0, va[NPG];
	uint32_t acc[NPG];
	unsigned int rd, p;

	mmrt_test_up(32);
#if defined(__SANITIZE_ADDRESS__)
	r.rounds = 100;
#else
	r.rounds = 400;
#endif
	used0 = mmrt_test_used();
	r.as = mmrt_as_create("race");
	cr_assert_not_null(r.as);
	cr_assert_eq(mmrt_map(r.as, VA, NPG * PG, MMRT_PROT_READ |
		MMRT_PROT_WRITE, 0), 0);
	r.c = mmrt_consumer_create(&conf);
	cr_assert_not_null(r.c);
	cr_assert_gt(mmrt_consumer_bind(r.c, r.as), 0);
	cr_assert_eq(pthread_create(&cth, NULL, consumer_main, NULL), 0);
	cr_assert_eq(pthread_create(&zth[0], NULL, zapper_main,
		(void *)(uintptr_t)0), 0);
	cr_assert_eq(pthread_create(&zth[1], NULL, zapper_main,
		(void *)(uintptr_t)1), 0);

	for (rd = 1; rd <= r.rounds; rd++) {
		for (p = 0; p < NPG; p++)
			cr_assert_eq(mmrt_fault(r.as, VA + p * PG,
				MMRT_ACCESS_WRITE), 0);
		while (mmrt_consumer_page_requests(r.c, va, acc, NPG) > 0)
			;
		__atomic_store_n(&r.round, rd, __ATOMIC_RELEASE);
		wait_eq(&r.cached, rd);
		/* both zappers at once */
		__atomic_store_n(&r.go[0], rd, __ATOMIC_RELEASE);
		__atomic_store_n(&r.go[1], rd, __ATOMIC_RELEASE);
		wait_eq(&r.zapped[0], rd);
		wait_eq(&r.zapped[1], rd);
		wait_eq(&r.checked, rd);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(zth[0], NULL);
	pthread_join(zth[1], NULL);
	pthread_join(cth, NULL);

	cr_assert_eq(mmrt_consumer_stats(r.c, &st), 0);
	cr_assert_eq(mmrt_as_stats(r.as, &as_st), 0);
	cr_log_info("rounds %u: stale %" PRIu64 ", descriptors %" PRIu64
		", nested flushes %" PRIu64 ", fences %" PRIu64, r.rounds,
		r.stale, st.inval_descs, as_st.nested_flushes, st.fences);
	cr_assert_eq(st.fences, 0, "the consumer was fenced");
	cr_assert_eq(r.stale, 0, "%" PRIu64 " stale translations after a "
		"zapper returned", r.stale);
	cr_assert_gt(as_st.nested_flushes, 0,
		"the zappers never overlapped: the race was not exercised");
	cr_assert_eq(mmrt_consumer_destroy(r.c), 0);
	cr_assert_eq(mmrt_as_destroy(r.as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
	mmrt_test_down();
}
