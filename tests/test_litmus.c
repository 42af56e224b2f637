/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Invariant B (docs/architecture.md) as a message-passing litmus.
 *
 * A parent space has two anonymous pages A and B, both 0; a fork arms
 * copy-on-write on them, and a consumer bound to the child caches both
 * read-only shared frames in its device TLB. Then, in the child:
 *
 *   T1 (breaker): mmrt_write(A, 1): breaks copy-on-write on A; a test hook
 *       spins in the window after the new PTE is published and the PT lock
 *       released, before the end of the operation.
 *   T1b (writer): waits until A is writable (the new PTE is published) and
 *       stores A = 1 through it, inside T1's window.
 *   T2: waits until it reads A == 1, then stores B = 1 (copy-on-write on B,
 *       not delayed).
 *   consumer: polls, then reads B, then A, through its device TLB.
 *
 * Forbidden: B == 1 and A == 0. With invariant B the device flush of A's
 * old frame completed under the PT lock before the new PTE became
 * reachable, so once A == 1 can be seen anywhere the consumer cannot reach
 * A's old frame. The negative control (the cow_flush_late test hook)
 * flushes at the end of the operation instead, after the window: the
 * consumer then still reaches A's old frame (0) while B == 1, and the
 * test must see it within a bounded number of iterations.
 *
 * T1b is needed because the faulting thread itself writes only after the
 * fault returns, i.e. after the late flush: only a store through the new
 * PTE inside the window exposes the missing flush.
 *
 * Waits are bounded loops that spin with rte_pause() and yield, so they
 * finish when every thread shares one cpu.
 */

#include <pthread.h>
#include <sched.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_pause.h>

#include "common.h"
#include <mmrt_dev.h>
#include "mm_testhooks.h"

#if defined(__SANITIZE_ADDRESS__)
#define LIT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LIT_ASAN 1
#endif
#endif
#ifndef LIT_ASAN
#define LIT_ASAN 0
#endif

#define LIT_A VA
/* 64 sets by default: page 33 is in another set than page 0 */
#define LIT_B (VA + 33 * PG)
#define LIT_PAGES 64
#define LIT_ITERS (LIT_ASAN ? 50 : 200)
#define LIT_DELAY_US 5000
#define SPIN_MAX 50000000UL

/* Spin step: yield every 4 steps. */
#define relax(i) mmrt_test_relax((i), 3)

MMRT_TEST_FIXTURES(64);

TestSuite(litmus, .init = setup, .fini = teardown, .timeout = 600);

static struct lit {
	struct mmrt_as *child;
	struct mmrt_consumer *c;
	int filled;        /* consumer cached A and B */
	int t1_done;       /* T1's write (and so its fault) returned */
	int err;           /* first error of a thread (line number) */
	int in_window;     /* T1b stored A = 1 before T1 returned */
	int b_in_window;   /* T2 stored B = 1 before T1 returned */
	int cb_in_window;  /* the consumer read B == 1 before T1 returned */
	int seen_both;     /* consumer read A == 1 and B == 1 */
	uint64_t forbidden; /* consumer read B == 1 and A == 0 */
	uint64_t reads;    /* consumer read pairs */
} L;

#define LIT_ERR() __atomic_compare_exchange_n(&L.err, &(int){ 0 }, \
	__LINE__, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)

static void *
consumer_main(void *arg)
{
	struct mmrt_xlate xa, xb;
	uint64_t pva[8];
	uint32_t pacc[8];
	uint8_t va, vb;
	unsigned long i;

	RTE_SET_USED(arg);
	if (mmrt_thread_register() < 0) {
		LIT_ERR();
		return NULL;
	}
	/* fill the device TLB with the read-only shared frames */
	if (mmrt_consumer_translate(L.c, LIT_A, MMRT_ACCESS_READ, &xa) != 0 ||
			mmrt_consumer_translate(L.c, LIT_B, MMRT_ACCESS_READ,
				&xb) != 0 ||
			(xa.prot & MMRT_PROT_WRITE) || (xb.prot & MMRT_PROT_WRITE))
		LIT_ERR();
	__atomic_store_n(&L.filled, 1, __ATOMIC_RELEASE);
	for (i = 0; i < SPIN_MAX; i++) {
		mmrt_consumer_poll(L.c);
		/* nobody resolves page requests: drop them */
		while (mmrt_consumer_page_requests(L.c, pva, pacc, 8) > 0)
			;
		/* an entry dropped by an invalidation: rewalk next round */
		if (mmrt_consumer_translate(L.c, LIT_B, MMRT_ACCESS_READ,
				&xb) != 0) {
			relax(i);
			continue;
		}
		vb = __atomic_load_n((uint8_t *)xb.addr, __ATOMIC_ACQUIRE);
		if (mmrt_consumer_translate(L.c, LIT_A, MMRT_ACCESS_READ,
				&xa) != 0) {
			relax(i);
			continue;
		}
		va = __atomic_load_n((uint8_t *)xa.addr, __ATOMIC_ACQUIRE);
		L.reads++;
		if (vb == 1 && va == 0)
			L.forbidden++;
		if (vb == 1 && !__atomic_load_n(&L.t1_done, __ATOMIC_ACQUIRE))
			L.cb_in_window = 1;
		if (vb == 1 && va == 1) {
			L.seen_both = 1;
			break;
		}
		relax(i);
	}
	mmrt_thread_unregister();
	return NULL;
}

/* T1: break copy-on-write on A (delayed by the hook) and store A = 1. */
static void *
t1_main(void *arg)
{
	uint8_t one = 1;

	RTE_SET_USED(arg);
	if (mmrt_write(L.child, LIT_A, &one, 1) != 0)
		LIT_ERR();
	__atomic_store_n(&L.t1_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* T1b: store A = 1 through the new PTE as soon as it is published. */
static void *
t1b_main(void *arg)
{
	struct mmrt_xlate x;
	uint8_t one = 1;
	unsigned long i;

	RTE_SET_USED(arg);
	for (i = 0; i < SPIN_MAX; i++) {
		if (mmrt_translate(L.child, LIT_A, MMRT_ACCESS_WRITE, &x) == 0)
			break;
		if (__atomic_load_n(&L.t1_done, __ATOMIC_ACQUIRE))
			break;
		relax(i);
	}
	if (mmrt_write(L.child, LIT_A, &one, 1) != 0)
		LIT_ERR();
	if (!__atomic_load_n(&L.t1_done, __ATOMIC_ACQUIRE))
		L.in_window = 1;
	return NULL;
}

/* T2: wait for A == 1, then store B = 1. */
static void *
t2_main(void *arg)
{
	struct mmrt_xlate x;
	uint8_t v = 0, one = 1;
	unsigned long i;

	RTE_SET_USED(arg);
	/*
	 * mmrt_read() spins on A's PT lock without yielding while T1 holds it
	 * waiting for the consumer's ack: wait without the PT lock until A's
	 * new PTE is published (or T1 is done).
	 */
	for (i = 0; i < SPIN_MAX; i++) {
		if (mmrt_translate(L.child, LIT_A, MMRT_ACCESS_WRITE, &x) == 0 ||
				__atomic_load_n(&L.t1_done, __ATOMIC_ACQUIRE))
			break;
		relax(i);
	}
	for (i = 0; i < SPIN_MAX; i++) {
		if (mmrt_read(L.child, LIT_A, &v, 1) != 0) {
			LIT_ERR();
			return NULL;
		}
		if (v == 1)
			break;
		relax(i);
	}
	if (v != 1) {
		LIT_ERR();
		return NULL;
	}
	if (mmrt_write(L.child, LIT_B, &one, 1) != 0)
		LIT_ERR();
	if (!__atomic_load_n(&L.t1_done, __ATOMIC_ACQUIRE))
		L.b_in_window = 1;
	return NULL;
}

/*
 * The breaker spins (waiting for the consumer's ack, then in the window)
 * without yielding: on a shared run queue the consumer would wait for the
 * breaker's time slice and the window would close unused. With two cpus,
 * run the breaker on one and everybody else on the other.
 */
static int lit_cpu[2] = { -1, -1 };

static void
lit_cpus(void)
{
	/* not sched_getaffinity(): EAL pinned the main thread to one lcore */
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n >= 2) {
		lit_cpu[0] = 0;
		lit_cpu[1] = 1;
	}
}

static void
lit_spawn(pthread_t *th, void *(*fn)(void *), int cpu)
{
	pthread_attr_t attr;
	cpu_set_t set;

	cr_assert_eq(pthread_attr_init(&attr), 0);
	CPU_ZERO(&set);
	if (cpu >= 0)
		CPU_SET(cpu, &set);
	else
		CPU_SET(0, &set);
	cr_assert_eq(pthread_attr_setaffinity_np(&attr, sizeof(set), &set),
		0);
	cr_assert_eq(pthread_create(th, &attr, fn, NULL), 0);
	pthread_attr_destroy(&attr);
}

#ifdef MMRT_TEST_HOOKS
/*
 * LIT_ITERS iterations of the litmus, or with @p negctl (copy-on-write
 * flushes late, breaking invariant B on purpose) until the first
 * iteration that observes the forbidden outcome. The hooks are set only
 * while the threads run and are off again before any assertion.
 * @return the forbidden outcomes observed.
 */
static uint64_t
lit_run(bool negctl)
{
	struct mmrt_consumer_conf cf = {
		.name = "litmus", .ack_deadline_us = 5000000,
	};
	uint64_t forbidden = 0, reads = 0, windows = 0, hit_iters = 0;
	uint64_t bwin = 0, cbwin = 0;
	uint64_t delay = rte_get_timer_hz() / 1000000 * LIT_DELAY_US;
	struct mmrt_consumer_stats st;
	struct mmrt_as *parent;
	pthread_t tc, t1, t1b, t2;
	uint8_t zero = 0, v;
	unsigned long i;
	int it;

	lit_cpus();
	L.c = mmrt_consumer_create(&cf);
	cr_assert_not_null(L.c, "consumer create: %d", rte_errno);
	for (it = 0; it < LIT_ITERS && !(negctl && forbidden > 0); it++) {
		parent = mmrt_as_create("litmus-p");
		cr_assert_not_null(parent);
		cr_assert_eq(mmrt_map(parent, VA, LIT_PAGES * PG, RW, 0), 0);
		cr_assert_eq(mmrt_write(parent, LIT_A, &zero, 1), 0);
		cr_assert_eq(mmrt_write(parent, LIT_B, &zero, 1), 0);
		L.child = mmrt_as_fork(parent, "litmus-c");
		cr_assert_not_null(L.child, "fork: %d", rte_errno);
		L.filled = 0;
		L.t1_done = 0;
		L.err = 0;
		L.in_window = 0;
		L.seen_both = 0;
		L.forbidden = 0;
		L.reads = 0;
		L.b_in_window = 0;
		L.cb_in_window = 0;
		cr_assert_gt(mmrt_consumer_bind(L.c, L.child), 0);

		lit_spawn(&tc, consumer_main, lit_cpu[1]);
		for (i = 0; i < SPIN_MAX &&
				!__atomic_load_n(&L.filled, __ATOMIC_ACQUIRE); i++)
			relax(i);
		cr_assert(__atomic_load_n(&L.filled, __ATOMIC_ACQUIRE),
			"consumer did not fill its TLB");
		/* only A's copy-on-write is delayed */
		mm_test_hooks.cow_delay_cycles = delay;
		__atomic_store_n(&mm_test_hooks.cow_flush_late, negctl,
			__ATOMIC_RELAXED);
		__atomic_store_n(&mm_test_hooks.cow_delay_va, LIT_A,
			__ATOMIC_RELEASE);
		lit_spawn(&t2, t2_main, lit_cpu[1]);
		lit_spawn(&t1b, t1b_main, lit_cpu[1]);
		lit_spawn(&t1, t1_main, lit_cpu[0]);
		pthread_join(t1, NULL);
		pthread_join(t1b, NULL);
		pthread_join(t2, NULL);
		pthread_join(tc, NULL);
		__atomic_store_n(&mm_test_hooks.cow_delay_va, 0,
			__ATOMIC_RELEASE);
		__atomic_store_n(&mm_test_hooks.cow_flush_late, false,
			__ATOMIC_RELAXED);
		mm_test_hooks.cow_delay_cycles = 0;

		cr_assert_eq(L.err, 0, "iteration %d: thread error at line %d",
			it, L.err);
		cr_assert(L.seen_both, "iteration %d: the consumer never read "
			"A == 1 and B == 1 (read pairs %" PRIu64 ", forbidden %"
			PRIu64 ")", it, L.reads, L.forbidden);
		cr_assert_not(mmrt_consumer_fenced(L.c));
		cr_assert_eq(mmrt_read(L.child, LIT_A, &v, 1), 0);
		cr_assert_eq(v, 1);
		cr_assert_eq(mmrt_read(L.child, LIT_B, &v, 1), 0);
		cr_assert_eq(v, 1);
		/* the parent keeps its copies */
		cr_assert_eq(mmrt_read(parent, LIT_A, &v, 1), 0);
		cr_assert_eq(v, 0);
		forbidden += L.forbidden;
		hit_iters += L.forbidden != 0;
		reads += L.reads;
		windows += L.in_window;
		bwin += L.b_in_window;
		cbwin += L.cb_in_window;

		cr_assert_eq(mmrt_consumer_unbind(L.c), 0);
		cr_assert_eq(mmrt_as_destroy(L.child), 0);
		cr_assert_eq(mmrt_as_destroy(parent), 0);
	}
	cr_assert_eq(mmrt_consumer_stats(L.c, &st), 0);
	cr_assert_eq(mmrt_consumer_destroy(L.c), 0);
	cr_log_info("litmus%s: %d iterations, delay %d us, A stored inside "
		"the window in %" PRIu64 ", B stored inside it in %" PRIu64
		", B == 1 read inside it in %" PRIu64 ", read pairs %" PRIu64
		", forbidden (B == 1, A == 0) %" PRIu64 " in %" PRIu64
		" iterations, invalidations %" PRIu64 ", entries dropped %"
		PRIu64, negctl ? " (negative control)" : "", it,
		LIT_DELAY_US, windows, bwin, cbwin, reads, forbidden, hit_iters,
		st.inval_descs, st.entries_dropped);
	cr_assert_gt(windows, 0, "A was never stored inside the window: the "
		"litmus exercised nothing");
	return forbidden;
}
#endif

Test(litmus, invariant_b_message_passing)
{
#ifndef MMRT_TEST_HOOKS
	cr_skip_test("needs -Dtest_hooks=true (copy-on-write delay hook)");
#else
	uint64_t forbidden = lit_run(false);

	cr_assert_eq(forbidden, 0, "invariant B broken: B == 1 with A == 0 "
		"observed %" PRIu64 " times", forbidden);
#endif
}

/*
 * Negative control: copy-on-write flushes the device TLB after the
 * window instead of under the PT lock, and the litmus must see the
 * forbidden outcome (within LIT_ITERS iterations; it stops at the first).
 */
Test(litmus, invariant_b_negative_control)
{
#ifndef MMRT_TEST_HOOKS
	cr_skip_test("needs -Dtest_hooks=true (the cow_flush_late hook)");
#else
	uint64_t forbidden = lit_run(true);

	cr_assert_gt(forbidden, 0, "negative control: the forbidden outcome "
		"was never observed in %d iterations with a late flush, the "
		"litmus does not catch a broken invariant B", LIT_ITERS);
#endif
}
