/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * perf-inval: the invalidation round trip to a device-TLB consumer polling
 * on another lcore.
 *
 * A worker on the second lcore registers as an mmrt poller and, in turns
 * the main lcore sets, either plays cache-line ping-pong with the main
 * lcore (the anchor: the cheapest possible cross-core round trip) or loops
 * on mmrt_consumer_poll() of a consumer bound to the space. The turns
 * alternate in blocks (INVAL_BLOCKS of each), so both sides of the ratio
 * see the same vCPU placement and host load: measured in two phases, a
 * change of placement between them moved the anchor alone by 20-30%.
 *
 * inval-rt: mmrt_protect(va, 4 KiB, READ) of a writable present page, which
 * posts one descriptor to the consumer and spins for its ack; timed per
 * call. Between calls the page is made writable again (protect READ|WRITE
 * then mmrt_fault() for a write), not timed.
 *
 * unmap-2m-consumer: mmrt_unmap() of 2 MiB of populated 4 KiB pages with
 * the consumer bound, per page, against the kernel's munmap() of the same;
 * with the invalidation descriptors the consumer processed per unmap.
 *
 * inval-rt-cN, the scaling curve: the same round trip with N consumers
 * (1, 2, 4, 8, 16) bound to the space, all polled by the one worker in
 * turn (several consumers sharing a polling lcore). A protect posts one
 * descriptor to each (O(N) posts) and then waits for all the acks, which
 * should cost about one sweep of the worker over its consumers, not one
 * round trip per consumer. Each point has the ping-pong of its own turns
 * as anchor; the ratio to the 1-consumer point is printed.
 */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>

#include "perf_common.h"

#define INVAL_PROG "perf-inval"
#define INVAL_POOL_MB 128
#define INVAL_VA UINT64_C(0x100000000000)   /* the protected page */
#define INVAL_UNMAP_VA UINT64_C(0x200000000000)
#define INVAL_UNMAP_LEN MMRT_HUGE_SIZE
#define INVAL_UNMAP_PAGES (INVAL_UNMAP_LEN / MMRT_PAGE_SIZE)
#define INVAL_TARGET 1.5
#define INVAL_ACK_DEADLINE_US 1000000      /* 1 s: no fence on VM jitter */
#define INVAL_BLOCKS 20                    /* turns of each side */
#define INVAL_CURVE_MAX 16                 /* consumers at the last point */

/* What the worker does. */
enum inval_mode {
	MODE_PINGPONG = 1,
	MODE_POLL,
	MODE_STOP,
};

/* State shared between the main lcore and the worker. */
struct inval_shared {
	/*
	 * main -> worker sequence number. ping and pong are two lines
	 * apart: a prefetcher that fetches a line's neighbour would
	 * otherwise move both lines together and slow the anchor.
	 */
	uint64_t ping __rte_aligned(2 * RTE_CACHE_LINE_SIZE);
	/* worker -> main echo */
	uint64_t pong __rte_aligned(2 * RTE_CACHE_LINE_SIZE);
	/* enum inval_mode, set by main */
	uint32_t mode __rte_aligned(2 * RTE_CACHE_LINE_SIZE);
	uint32_t ready;            /* the worker registered */
	struct mmrt_consumer *cons; /* == cs[0] */
	/* the consumers the worker polls in turn, set while it is stopped */
	struct mmrt_consumer *cs[INVAL_CURVE_MAX];
	unsigned int ncons;
	int error;                 /* worker's failure, -errno */
	uint64_t polls;
};

static struct inval_shared sh;

static enum inval_mode
inval_mode(void)
{
	return (enum inval_mode)__atomic_load_n(&sh.mode, __ATOMIC_ACQUIRE);
}

/*
 * Worker: answer pings or poll the consumer, as the mode says, until
 * MODE_STOP. Both loops check the mode between steps (a load of a line
 * only main writes, between turns), so both pay the same for it.
 */
static int
inval_worker(void *arg)
{
	uint64_t last = 0, v;
	enum inval_mode m;
	unsigned int i;
	int ret;

	RTE_SET_USED(arg);
	ret = mmrt_thread_register();
	if (ret < 0) {
		sh.error = ret;
		__atomic_store_n(&sh.ready, 1, __ATOMIC_RELEASE);
		return ret;
	}
	__atomic_store_n(&sh.ready, 1, __ATOMIC_RELEASE);
	while ((m = inval_mode()) != MODE_STOP) {
		if (m == MODE_PINGPONG) {
			v = __atomic_load_n(&sh.ping, __ATOMIC_ACQUIRE);
			if (v != last) {
				__atomic_store_n(&sh.pong, v,
					__ATOMIC_RELEASE);
				last = v;
			}
		} else {
			for (i = 0; i < sh.ncons; i++) {
				ret = mmrt_consumer_poll(sh.cs[i]);
				if (ret < 0) {
					sh.error = ret;
					goto out;
				}
			}
			sh.polls++;
		}
		rte_pause();
	}
out:
	mmrt_thread_unregister();
	return sh.error;
}

/* Switch the worker to @p m (it sees it at its next step). */
static void
inval_set_mode(enum inval_mode m)
{
	__atomic_store_n(&sh.mode, m, __ATOMIC_RELEASE);
}

/* The anchor: @p n cache-line round trips with the worker into @p s. */
static void
inval_pingpong(unsigned int n, struct perf_samples *s)
{
	static uint64_t seq;
	uint64_t t0, t1;
	unsigned int i;

	inval_set_mode(MODE_PINGPONG);
	for (i = 0; i < n; i++) {
		seq++;
		t0 = perf_now();
		__atomic_store_n(&sh.ping, seq, __ATOMIC_RELEASE);
		while (__atomic_load_n(&sh.pong, __ATOMIC_ACQUIRE) != seq)
			rte_pause();
		t1 = perf_now();
		if (s != NULL)
			perf_samples_add(s, perf_ns(t1 - t0));
	}
}

static void
inval_stats(struct mmrt_consumer_stats *st)
{
	int ret;

	ret = mmrt_consumer_stats(sh.cons, st);
	if (ret < 0)
		perf_die("mmrt_consumer_stats: %s", strerror(-ret));
}

/*
 * The round trip against its anchor, in alternating turns: one untimed
 * turn of each, then INVAL_BLOCKS timed turns of @p n_pp / INVAL_BLOCKS
 * ping-pongs and @p n / INVAL_BLOCKS downgrades (each one invalidation
 * round trip). The worker polls the consumer when this returns.
 */
static void
inval_protect(struct mmrt_as *as, unsigned int n, unsigned int n_pp,
	struct perf_samples *sm, struct perf_samples *sa)
{
	struct mmrt_consumer_stats st0, st1;
	unsigned int b, per = n / INVAL_BLOCKS;

	inval_pingpong(n_pp / INVAL_BLOCKS, NULL);
	inval_set_mode(MODE_POLL);
	perf_downgrades(as, INVAL_VA, per, NULL);
	inval_stats(&st0);
	for (b = 0; b < INVAL_BLOCKS; b++) {
		inval_pingpong(n_pp / INVAL_BLOCKS, sa);
		inval_set_mode(MODE_POLL);
		perf_downgrades(as, INVAL_VA, per, sm);
	}
	inval_stats(&st1);
	printf("inval-rt: %u downgrades in %u turns: %" PRIu64
		" descriptors (%" PRIu64 " by the mailbox), %" PRIu64
		" acks processed by the consumer (%.2f descriptors per "
		"iteration: downgrade + re-arm)\n", per * INVAL_BLOCKS,
		INVAL_BLOCKS, st1.inval_descs - st0.inval_descs,
		st1.inval_mailbox - st0.inval_mailbox, st1.acks - st0.acks,
		(double)(st1.inval_descs - st0.inval_descs) /
		(per * INVAL_BLOCKS));
	if (st1.inval_descs - st0.inval_descs < per * INVAL_BLOCKS)
		perf_die("fewer descriptors than downgrades: the protect did "
			"not wait for the consumer");
}

/* Map 2 MiB of populated 4 KiB pages, time its unmap: ns per page. */
static double
inval_unmap_mmrt(struct mmrt_as *as)
{
	struct mmrt_as_stats ast;
	uint64_t p, t0, t1;
	uint8_t one = 1;
	int ret;

	ret = mmrt_map(as, INVAL_UNMAP_VA, INVAL_UNMAP_LEN,
		MMRT_PROT_READ | MMRT_PROT_WRITE, MMRT_MAP_POPULATE);
	if (ret < 0)
		perf_die("mmrt_map(2 MiB, POPULATE): %s", strerror(-ret));
	ret = mmrt_as_stats(as, &ast);
	if (ret < 0)
		perf_die("mmrt_as_stats: %s", strerror(-ret));
	/* INVAL_VA's page is the other one in the space. */
	if (ast.rss_pages < INVAL_UNMAP_PAGES + 1) {
		for (p = 0; p < INVAL_UNMAP_PAGES; p++) {
			ret = mmrt_write(as, INVAL_UNMAP_VA +
				p * MMRT_PAGE_SIZE, &one, 1);
			if (ret < 0)
				perf_die("mmrt_write: %s", strerror(-ret));
		}
	}

	t0 = perf_now();
	ret = mmrt_unmap(as, INVAL_UNMAP_VA, INVAL_UNMAP_LEN);
	t1 = perf_now();
	if (ret < 0)
		perf_die("mmrt_unmap: %s", strerror(-ret));
	return perf_ns(t1 - t0) / (double)INVAL_UNMAP_PAGES;
}

static void
inval_unmap(struct mmrt_as *as, unsigned int rounds, struct perf_samples *sm,
	struct perf_samples *sa)
{
	struct mmrt_consumer_stats st0, st1;
	uint64_t descs = 0, acks = 0, d;
	uint64_t dmin = UINT64_MAX, dmax = 0;
	unsigned int r;

	/* One warm-up round of each. */
	inval_unmap_mmrt(as);
	perf_kernel_unmap_ns(INVAL_UNMAP_LEN);
	for (r = 0; r < rounds; r++) {
		if (r % 2 != 0)
			perf_samples_add(sa, perf_kernel_unmap_ns(INVAL_UNMAP_LEN));
		inval_stats(&st0);
		perf_samples_add(sm, inval_unmap_mmrt(as));
		inval_stats(&st1);
		if (r % 2 == 0)
			perf_samples_add(sa, perf_kernel_unmap_ns(INVAL_UNMAP_LEN));
		d = st1.inval_descs - st0.inval_descs;
		descs += d;
		acks += st1.acks - st0.acks;
		dmin = RTE_MIN(dmin, d);
		dmax = RTE_MAX(dmax, d);
	}
	printf("unmap-2m-consumer: %u rounds of %" PRIu64 " pages: %.2f "
		"invalidation descriptors per unmap (min %" PRIu64 ", max %"
		PRIu64 "), %.2f acks per unmap\n", rounds,
		(uint64_t)INVAL_UNMAP_PAGES, (double)descs / rounds, dmin, dmax,
		(double)acks / rounds);
	if (dmin == 0)
		perf_die("an unmap posted no invalidation to the consumer");
}

/* Info: the same downgrade with no consumer bound (no round trip). */
static void
inval_protect_unbound(struct mmrt_as *as, unsigned int n)
{
	struct perf_samples s;
	struct app_pct pct;

	if (perf_samples_init(&s, n) < 0)
		perf_die("out of memory for samples");
	perf_downgrades(as, INVAL_VA, n, &s);
	perf_percentiles(&s, &pct);
	printf("info: mmrt_protect(READ) with no consumer bound: p50 %.0f ns "
		"p99 %.0f ns (%zu samples, not a result)\n", pct.p50, pct.p99,
		pct.n);
	perf_samples_free(&s);
}

/* Launch the worker on @p worker in ping-pong mode; wait until it runs. */
static void
inval_worker_start(unsigned int worker)
{
	int ret;

	sh.ready = 0;
	sh.error = 0;
	inval_set_mode(MODE_PINGPONG);
	ret = app_worker_launch(inval_worker, NULL, worker);
	if (ret < 0)
		perf_die("rte_eal_remote_launch(lcore %u): %s", worker,
			strerror(-ret));
	while (!__atomic_load_n(&sh.ready, __ATOMIC_ACQUIRE))
		rte_pause();
	if (sh.error < 0)
		perf_die("worker: mmrt_thread_register: %s",
			strerror(-sh.error));
}

static void
inval_worker_stop(unsigned int worker)
{
	int ret;

	inval_set_mode(MODE_STOP);
	ret = app_worker_wait(worker);
	if (ret < 0)
		perf_die("worker: %s", strerror(-ret));
}

/*
 * The scaling curve: the round trip with 1, 2, 4, 8, 16 consumers bound,
 * all polled by the worker; one result per point into @p res.
 * @return the number of points.
 */
static unsigned int
inval_curve(struct mmrt_as *as, unsigned int worker, unsigned int n,
	unsigned int n_pp, struct perf_result *res)
{
	struct perf_samples sm, sa;
	struct mmrt_consumer_conf cconf = {
		.ack_deadline_us = INVAL_ACK_DEADLINE_US };
	char name[32];
	unsigned int k, i, np = 0;
	double p50_1 = NAN, p99_1 = NAN;
	int ret;

	for (k = 1; k <= INVAL_CURVE_MAX; k *= 2) {
		/* bind the new consumers while the worker is stopped */
		for (i = sh.ncons; i < k; i++) {
			snprintf(name, sizeof(name), "perf-inval-%u", i);
			cconf.name = name;
			sh.cs[i] = perf_consumer(as, &cconf);
		}
		sh.ncons = k;
		if (perf_samples_init(&sm, n) < 0 ||
				perf_samples_init(&sa, n_pp) < 0)
			perf_die("out of memory for samples");
		inval_worker_start(worker);
		printf("inval-rt-c%u: %u consumers polled in turn by lcore "
			"%u\n", k, k, worker);
		inval_protect(as, n, n_pp, &sm, &sa);
		inval_worker_stop(worker);
		snprintf(name, sizeof(name), "inval-rt-c%u", k);
		perf_result_set(&res[np], name, "cacheline-pingpong", "ns/rt",
			PERF_REPORT_ONLY, &sm, &sa);
		perf_result_point(&res[np], "inval-rt-consumers", k,
			"consumers");
		if (k == 1) {
			p50_1 = res[np].pct.p50;
			p99_1 = res[np].pct.p99;
		}
		printf("inval-rt-c%u: p50 %.0f ns p99 %.0f ns (x%.2f, x%.2f "
			"the 1-consumer point); ping-pong p50 %.0f ns\n", k,
			res[np].pct.p50, res[np].pct.p99,
			res[np].pct.p50 / p50_1, res[np].pct.p99 / p99_1,
			res[np].anchor_pct.p50);
		perf_samples_free(&sm);
		perf_samples_free(&sa);
		np++;
	}
	for (i = 0; i < sh.ncons; i++)
		if (mmrt_consumer_fenced(sh.cs[i]))
			perf_die("consumer %u was fenced (ack deadline "
				"missed)", i);
	/* back to the one consumer of the other results */
	for (i = 1; i < sh.ncons; i++) {
		ret = mmrt_consumer_destroy(sh.cs[i]);
		if (ret < 0)
			perf_die("mmrt_consumer_destroy: %s",
				strerror(-ret));
		sh.cs[i] = NULL;
	}
	sh.ncons = 1;
	return np;
}

int
main(int argc, char **argv)
{
	struct perf_samples sm, sa, um, ua;
	const struct mmrt_consumer_conf cconf = { .name = "perf-inval",
		.ack_deadline_us = INVAL_ACK_DEADLINE_US };
	struct mmrt_consumer_stats st;
	struct perf_result res[2 + 5];
	struct perf_opts opts;
	struct mmrt_as *as;
	unsigned int worker, n_pp, n_inval, rounds, nres;
	int ret;

	perf_parse_args(argc, argv, INVAL_PROG, &opts);
	perf_init(INVAL_PROG, INVAL_POOL_MB, &opts);

	if (perf_skip_lcores(INVAL_PROG, 2))
		return 0;
	worker = rte_get_next_lcore(-1, 1, 0);
	n_pp = opts.quick ? 20000 : 200000;
	n_inval = opts.quick ? 20000 : 200000;
	rounds = opts.quick ? 50 : 200;

	as = perf_as_create("perf-inval");
	ret = mmrt_map(as, INVAL_VA, MMRT_PAGE_SIZE,
		MMRT_PROT_READ | MMRT_PROT_WRITE, MMRT_MAP_POPULATE);
	if (ret < 0)
		perf_die("mmrt_map: %s", strerror(-ret));

	sh.cons = perf_consumer(as, &cconf);
	sh.cs[0] = sh.cons;
	sh.ncons = 1;

	if (perf_samples_init(&sm, n_inval) < 0 ||
			perf_samples_init(&sa, n_pp) < 0 ||
			perf_samples_init(&um, rounds) < 0 ||
			perf_samples_init(&ua, rounds) < 0)
		perf_die("out of memory for samples");

	inval_worker_start(worker);
	printf("main lcore %u, consumer on lcore %u\n", rte_lcore_id(),
		worker);

	inval_protect(as, n_inval, n_pp, &sm, &sa);
	inval_unmap(as, rounds, &um, &ua);
	inval_worker_stop(worker);

	/* the scaling curve: a quarter of the samples per point */
	nres = 2 + inval_curve(as, worker, n_inval / 4, n_pp / 4, &res[2]);

	if (mmrt_consumer_fenced(sh.cons))
		perf_die("the consumer was fenced (ack deadline missed)");
	inval_stats(&st);
	printf("consumer: %" PRIu64 " polls, %" PRIu64 " descriptors, %"
		PRIu64 " acks, %" PRIu64 " fences\n", sh.polls,
		st.inval_descs, st.acks, st.fences);

	perf_result_set(&res[0], "inval-rt", "cacheline-pingpong", "ns/rt",
		INVAL_TARGET, &sm, &sa);
	perf_result_set(&res[1], "unmap-2m-consumer", "kernel-munmap-2m",
		"ns/page", PERF_REPORT_ONLY, &um, &ua);
	printf("inval-rt: p50 %.0f ns p99 %.0f ns; ping-pong p50 %.0f ns "
		"p99 %.0f ns (%zu / %zu samples)\n", res[0].pct.p50,
		res[0].pct.p99, res[0].anchor_pct.p50, res[0].anchor_pct.p99,
		res[0].pct.n, res[0].anchor_pct.n);
	printf("unmap-2m-consumer: report only (no target)\n");

	ret = mmrt_consumer_unbind(sh.cons);
	if (ret < 0)
		perf_die("mmrt_consumer_unbind: %s", strerror(-ret));
	inval_protect_unbound(as, n_inval);

	ret = mmrt_consumer_destroy(sh.cons);
	if (ret < 0)
		perf_die("mmrt_consumer_destroy: %s", strerror(-ret));
	perf_as_destroy(as);
	perf_samples_free(&sm);
	perf_samples_free(&sa);
	perf_samples_free(&um);
	perf_samples_free(&ua);

	ret = perf_report(&opts, res, nres);
	perf_fini();
	return ret;
}
