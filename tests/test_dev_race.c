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
 * zero page, which is a fresh translation). Rounds are bounded; threads
 * spin with rte_pause().
 *
 * Then the race between the consumer's mailbox and its ring, with a
 * negative control (below).
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <string.h>
#include <time.h>

#include <rte_lcore.h>
#include <rte_pause.h>

#include "common.h"
#include <mmrt_dev.h>
#include "dev_testhooks.h"

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

/*
 * Translate @va for reading, to cache it. -EAGAIN is in the contract of
 * mmrt_consumer_translate() (the map lock was taken, or a page request is
 * pending: retry on a later poll), so it is retried after a poll, a bounded
 * number of times: a page that never comes is still a failure.
 */
#define XL_TRIES 1000000UL
static int
translate_cache(struct mmrt_consumer *c, uint64_t va, struct mmrt_xlate *x)
{
	unsigned long i;
	int ret;

	for (i = 0;; i++) {
		ret = mmrt_consumer_translate(c, va, MMRT_ACCESS_READ, x);
		if (ret != -EAGAIN || i == XL_TRIES)
			return ret;
		mmrt_consumer_poll(c);
		spin(i);
	}
}

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
				cr_assert_eq(translate_cache(r.c, VA + p * PG,
					&x), 0);
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

	mmrt_test_up_placed(32, true);
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

/*
 * The mailbox and the ring together (see the top of lib/dev/consumer.c):
 * a post goes to the consumer's one-line mailbox when it acked what the
 * mailbox held, else to its ring; a poll must read the ring before the
 * mailbox, or a seq boxed between its two reads, while a later one went to
 * the ring, is acked unprocessed.
 *
 * Two invalidators own disjoint ranges, each in a leaf table of its own
 * (PT locks of their own), and are released at once each round. Each
 * writes the pages of its range, which the consumer cached mapped to the
 * zero page: each write replaces the zero page by a new frame and posts a
 * one-page descriptor. Zaps (MMRT_ADV_DONTNEED) would not do: of two
 * overlapping zaps the later one flushes everything (the nested-gather
 * rule), and a full flush covers whatever descriptor was skipped before
 * it, so the negative control could not fail.
 *
 * After an invalidator returns, the consumer looks up its range before its
 * next poll: a hit on the zero page it cached is stale (a miss walks to
 * the new frame). The hooks widen the window between the poll's two
 * reads; the negative control reads them in the wrong order.
 *
 * On two cpus, both posts land in one window only while the consumer is
 * preempted in it, so the test arranges for that rather than wait for
 * chance: the consumer and invalidator 1 share a cpu (lcore 1's),
 * invalidator 0 runs on the test thread's. The invalidators and the test
 * thread sleep between rounds, so when a round starts invalidator 0 posts
 * on its own cpu while invalidator 1 preempts the consumer, mostly inside
 * the window (the delay is most of a poll); the second of the two posts
 * goes to the ring (the first is not acked yet), and invalidator 1 spins
 * for its ack until its slice ends. Each post of invalidator 1 costs a
 * slice (milliseconds) and only the first pair races: two pages a range.
 */
#define MX_NPG 2
#define MX_VA(i) (VA + (uint64_t)(i) * MMRT_HUGE_SIZE)
#define MX_DELAY_NS 5000 /* the window between the poll's two reads */
#define MX_ROUNDS 120
#define MX_RING_ROUNDS 10 /* then on until the ring was used this often */
/* Bounds of a run (the negative control stops at its first stale hit). */
#define MX_MAX_ROUNDS 2000
#define MX_SECS 60
#define MX_WAIT_S 10 /* bound of a sleeping wait */

static struct mx {
	struct mmrt_as *as;
	struct mmrt_consumer *c;
	sem_t go[2];             /* posted by main: invalidator i may start */
	sem_t cached;            /* posted by the consumer: pages cached */
	sem_t checked;           /* posted by the consumer: both checked */
	uint32_t round;          /* current round, set by main */
	uint32_t returned[2];    /* round in which invalidator i returned */
	uint32_t pfn[2][MX_NPG]; /* frames the consumer cached */
	uint64_t stale;          /* stale hits seen */
	int err;                 /* first failing line of a thread */
	int stop;
} mx;

#define MX_ERR() __atomic_compare_exchange_n(&mx.err, &(int){ 0 }, \
	__LINE__, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)

static void *
mx_consumer(void *arg)
{
	uint32_t seen = 0, rd, checked = 3; /* nothing before round 1 */
	struct mmrt_xlate x;
	unsigned long it = 0;
	unsigned int i, p;

	RTE_SET_USED(arg);
	if (mmrt_thread_register() < 0) {
		MX_ERR();
		return NULL;
	}
	while (!__atomic_load_n(&mx.stop, __ATOMIC_ACQUIRE)) {
		rd = __atomic_load_n(&mx.round, __ATOMIC_ACQUIRE);
		if (rd != seen) {
			/* cache both ranges: read-only, on the zero page */
			for (i = 0; i < 2; i++)
				for (p = 0; p < MX_NPG; p++) {
					if (translate_cache(mx.c,
							MX_VA(i) + p * PG,
							&x) != 0 ||
							(x.prot &
							MMRT_PROT_WRITE))
						MX_ERR();
					else
						mx.pfn[i][p] = x.pfn;
				}
			seen = rd;
			checked = 0;
			sem_post(&mx.cached);
		}
		/* an invalidator returned: look before polling again */
		for (i = 0; i < 2; i++) {
			if ((checked & 1u << i) || __atomic_load_n(
					&mx.returned[i], __ATOMIC_ACQUIRE) !=
					seen)
				continue;
			for (p = 0; p < MX_NPG; p++)
				if (mmrt_consumer_translate(mx.c,
						MX_VA(i) + p * PG,
						MMRT_ACCESS_READ, &x) == 0 &&
						x.pfn == mx.pfn[i][p])
					__atomic_fetch_add(&mx.stale, 1,
						__ATOMIC_RELAXED);
			checked |= 1u << i;
			if (checked == 3)
				sem_post(&mx.checked);
		}
		mmrt_consumer_poll(mx.c);
		spin(it++);
	}
	mmrt_thread_unregister();
	return NULL;
}

/* Wait for @p s, at most MX_WAIT_S seconds: false on timeout. */
static bool
mx_sem_wait(sem_t *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += MX_WAIT_S;
	while (sem_timedwait(s, &ts) != 0)
		if (errno != EINTR)
			return false;
	return true;
}

static void *
mx_invalidator(void *arg)
{
	unsigned int me = (unsigned int)(uintptr_t)arg, p;
	uint32_t rd;

	for (;;) {
		/* asleep between rounds: both wake at once */
		if (!mx_sem_wait(&mx.go[me])) {
			MX_ERR();
			break;
		}
		if (__atomic_load_n(&mx.stop, __ATOMIC_ACQUIRE))
			break;
		rd = __atomic_load_n(&mx.round, __ATOMIC_ACQUIRE);
		/* copy-on-write of the zero page: one post per page */
		for (p = 0; p < MX_NPG; p++)
			if (mmrt_fault(mx.as, MX_VA(me) + p * PG,
					MMRT_ACCESS_WRITE) != 0)
				MX_ERR();
		__atomic_store_n(&mx.returned[me], rd, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Start @p fn on the cpus of lcore @p lcore. */
static void
mx_spawn(pthread_t *th, void *(*fn)(void *), void *arg, unsigned int lcore)
{
	rte_cpuset_t set = rte_lcore_cpuset(lcore);
	pthread_attr_t attr;

	cr_assert_eq(pthread_attr_init(&attr), 0);
	cr_assert_eq(pthread_attr_setaffinity_np(&attr, sizeof(set), &set),
		0);
	cr_assert_eq(pthread_create(th, &attr, fn, arg), 0);
	pthread_attr_destroy(&attr);
}

/* Descriptors that came through the ring; false if the stats failed. */
static bool
mx_ring_descs(uint64_t *n)
{
	struct mmrt_consumer_stats st;

	if (mmrt_consumer_stats(mx.c, &st) != 0)
		return false;
	*n = st.inval_descs - st.inval_mailbox;
	return true;
}

/* Wait on @p s, then read the ring's count: @return NULL, or what failed. */
static const char *
mx_wait_ring(sem_t *s, uint64_t *ring, const char *why)
{
	if (!mx_sem_wait(s))
		return why;
	return mx_ring_descs(ring) ? NULL : "stats failed";
}

struct mx_result {
	unsigned int rounds;      /* rounds run */
	unsigned int ring_rounds; /* rounds in which the ring was used */
	struct mmrt_consumer_stats st;
};

/*
 * Run @p rounds rounds, then on until the ring was used in MX_RING_ROUNDS
 * of them (up to MX_MAX_ROUNDS), or fewer: when @p box_first (the
 * negative control, hooks only: the poll reads the mailbox first) at the
 * first stale hit, and after MX_SECS (a bound of the run, not a pass
 * criterion). The hooks are set only while the threads run, and are off
 * again before any assertion. Checks what both tests share (no thread
 * failed, no fence, the pool balances); the stale count is left in mx.
 */
static void
mx_run(struct mx_result *res, unsigned int rounds, bool box_first)
{
	struct mmrt_consumer_conf conf = { .name = "mailbox",
		.ack_deadline_us = 1000000 };
	uint64_t used0, deadline, delay, ring0, ring;
	unsigned int rd, i, p, other;
	pthread_t cth, ith[2];
	const char *err = NULL;

	mmrt_test_up_placed(32, true);
	memset(&mx, 0, sizeof(mx));
	memset(res, 0, sizeof(*res));
	delay = rte_get_timer_hz() / (1000000000 / MX_DELAY_NS);
	for (i = 0; i < 2; i++)
		cr_assert_eq(sem_init(&mx.go[i], 0, 0), 0);
	cr_assert_eq(sem_init(&mx.cached, 0, 0), 0);
	cr_assert_eq(sem_init(&mx.checked, 0, 0), 0);
	used0 = mmrt_test_used();
	mx.as = mmrt_as_create("mailbox");
	cr_assert_not_null(mx.as);
	for (i = 0; i < 2; i++)
		cr_assert_eq(mmrt_map(mx.as, MX_VA(i), MX_NPG * PG,
			MMRT_PROT_READ | MMRT_PROT_WRITE, 0), 0);
	mx.c = mmrt_consumer_create(&conf);
	cr_assert_not_null(mx.c);
	cr_assert_gt(mmrt_consumer_bind(mx.c, mx.as), 0);
	/* with one lcore everything shares its cpu */
	other = rte_get_next_lcore(-1, 1, 0);
	if (other >= RTE_MAX_LCORE)
		other = rte_get_main_lcore();
	mx_spawn(&cth, mx_consumer, NULL, other);
	mx_spawn(&ith[0], mx_invalidator, (void *)(uintptr_t)0,
		rte_get_main_lcore());
	mx_spawn(&ith[1], mx_invalidator, (void *)(uintptr_t)1, other);
#ifdef MMRT_TEST_HOOKS
	dev_test_hooks.inval_poll_delay_cycles = delay;
	dev_test_hooks.inval_box_first = box_first;
#endif

	deadline = mmrt_test_deadline(MX_SECS);
	for (rd = 1; rd <= MX_MAX_ROUNDS; rd++) {
		if (rd > rounds && (box_first ||
				res->ring_rounds >= MX_RING_ROUNDS))
			break;
		if ((box_first && __atomic_load_n(&mx.stale,
				__ATOMIC_RELAXED) > 0) ||
				__atomic_load_n(&mx.err,
					__ATOMIC_RELAXED) != 0 ||
				mmrt_test_expired(deadline))
			break;
		/* back to the zero page: zap, then read faults */
		for (i = 0; i < 2 && err == NULL; i++) {
			if (mmrt_advise(mx.as, MX_VA(i), MX_NPG * PG,
					MMRT_ADV_DONTNEED) != 0)
				err = "zap failed";
			for (p = 0; p < MX_NPG && err == NULL; p++)
				if (mmrt_fault(mx.as, MX_VA(i) + p * PG,
						MMRT_ACCESS_READ) != 0)
					err = "read fault failed";
		}
		if (err != NULL)
			break;
		/* failures stop the loop: asserted once the hooks are off */
		__atomic_store_n(&mx.round, rd, __ATOMIC_RELEASE);
		err = mx_wait_ring(&mx.cached, &ring0,
			"the consumer did not cache");
		if (err != NULL)
			break;
		sem_post(&mx.go[0]);
		sem_post(&mx.go[1]);
		err = mx_wait_ring(&mx.checked, &ring,
			"a thread did not answer");
		if (err != NULL)
			break;
		if (ring > ring0)
			res->ring_rounds++;
	}
	res->rounds = rd - 1;
	__atomic_store_n(&mx.stop, 1, __ATOMIC_RELEASE);
	sem_post(&mx.go[0]);
	sem_post(&mx.go[1]);
	pthread_join(ith[0], NULL);
	pthread_join(ith[1], NULL);
	pthread_join(cth, NULL);
#ifdef MMRT_TEST_HOOKS
	dev_test_hooks.inval_poll_delay_cycles = 0;
	dev_test_hooks.inval_box_first = false;
#else
	delay = 0; /* no window without the hooks */
#endif
	cr_assert_null(err, "round %u: %s", rd, err);
	cr_assert_eq(mx.err, 0, "a thread failed at line %d", mx.err);
	cr_assert_eq(mmrt_consumer_stats(mx.c, &res->st), 0);
	cr_log_info("%s%u rounds, poll window %" PRIu64 " cycles: stale %"
		PRIu64 ", descriptors %" PRIu64 " (mailbox %" PRIu64
		", ring %" PRIu64 "), ring used in %u of %u rounds, fences %"
		PRIu64, box_first ? "mailbox read first (negative control): "
		: "", res->rounds, delay, mx.stale, res->st.inval_descs,
		res->st.inval_mailbox,
		res->st.inval_descs - res->st.inval_mailbox, res->ring_rounds,
		res->rounds, res->st.fences);
	cr_assert_eq(res->st.fences, 0, "the consumer was fenced");
	cr_assert_eq(mmrt_consumer_destroy(mx.c), 0);
	cr_assert_eq(mmrt_as_destroy(mx.as), 0);
	for (i = 0; i < 2; i++)
		sem_destroy(&mx.go[i]);
	sem_destroy(&mx.cached);
	sem_destroy(&mx.checked);
	cr_assert_eq(mmrt_test_used(), used0);
	mmrt_test_down();
}

Test(dev_race, mailbox_and_ring, .timeout = 300)
{
	struct mx_result res;

	mx_run(&res, MX_ROUNDS, false);
	cr_assert_eq(mx.stale, 0, "%" PRIu64 " stale translations after an "
		"invalidator returned", mx.stale);
	cr_assert_gt(res.st.inval_mailbox, 0, "the mailbox was never used");
	cr_assert_gt(res.st.inval_descs - res.st.inval_mailbox, 0,
		"the ring was never used in %u rounds: the race between the "
		"mailbox and the ring was not exercised", res.rounds);
}

/*
 * Negative control: with the poll reading the mailbox before the ring, a
 * seq boxed between the reads is acked unprocessed, and its range stays
 * cached after its invalidator returned.
 */
Test(dev_race, mailbox_negative_control, .timeout = 300)
{
#ifndef MMRT_TEST_HOOKS
	cr_skip_test("needs -Dtest_hooks=true (the inval_box_first hook)");
#else
	struct mx_result res;

	mx_run(&res, MX_MAX_ROUNDS, true);
	cr_assert_gt(mx.stale, 0, "no stale translation in %u rounds with "
		"the mailbox read before the ring: the test would not catch "
		"a mailbox read before the ring", res.rounds);
#endif
}
