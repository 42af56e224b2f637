/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The dmadev bridge, driven as a stock client drives a dmadev: rte_dma_*
 * on a dma_mmrt device with DPDK's dma_skeleton behind it
 * (dma_mmrt_NAME,as=NAME,service=1,dev=dma_skeleton0), tested against
 * pmd/dma_mmrt/mmrt_dma_mmrt.h and the bridge's contract: copies across
 * 4 KiB and 2 MiB boundaries checked byte for byte (nothing written
 * outside the target), operations parked on userfault pages and resumed
 * in order, what an operation gave the device when it failed after a park
 * (its destination made read-only meanwhile), a device ring shorter than
 * an operation, the completion status of every kind of unresolvable fault
 * (and the has_error stop of rte_dma_completed()), copy-on-write into a
 * forked child, invalidations issued while pieces are on the device (the
 * ack is held until they complete: invariant A under mmrt_protect() and
 * mmrt_unmap() from another thread, and in the window between the
 * bridge's peek at the pending invalidations and its poll, opened on
 * purpose by interposing mmrt_consumer_poll_n()), a stop with pieces in
 * flight, the space going away, the ring (full, index wrap), close twice
 * and bad input (devargs, configure, the data path, a stopped device).
 *
 * Each test process brings the runtime up with explicit EAL arguments that
 * probe the vdev dma_skeleton0 (its copy thread on lcore 1's cpu); without
 * it every test is skipped. The dma_mmrt device runs as an rte_service
 * that no service lcore runs: the test's main thread (a registered online
 * mmrt thread) is the bridge's one driving thread, stepping it with
 * rte_service_run_iter_on_app_lcore() between its rte_dma_* calls, so a
 * test decides when the bridge runs as it did with the bridge's own step.
 * The driver's page-request thread serves copy-on-write. Helper threads
 * (resolver, invalidator) run unregistered on every cpu of the process.
 * Every wait is bounded (a deadline, spinning with rte_pause() and
 * yielding); no assertion is about elapsed time. Every test checks that
 * the pool balances (mmrt_test_used()).
 */

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <rte_bus_vdev.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_service.h>

#include <mmrt_dev.h>
#include <mmrt_dma_mmrt.h>
#include <mmrt_uffd.h>

/* 25% of the pool is huge frames: 16 of them. */
#define POOL_MB "128"
#define SKEL_NAME "dma_skeleton0"

/* How long any wait may take before the test fails. */
#define WAIT_S 20

/* The ring of a device when a test does not say (the bridge's default). */
#define NB_DESC 1024
/* How long an op may stay parked on one page: long, the machine is
 * shared (fault_status sets its own, short, to see the timeout). */
#define PARK_US "30000000"

/*
 * The device under test (dmm_up()): its dmadev id and its service. The
 * queue of engine_common.h has no engine handle: its calls go to
 * rte_dma_* on dmm_id. Page requests are the driver's to serve.
 */
static int16_t dmm_id = -1;
static uint32_t dmm_sid;
static uint16_t dmm_ring;       /* its ring: nb_desc up to a power of 2 */
static char dmm_name[RTE_DEV_NAME_MAX_LEN];

static uint16_t
eng_completed(void *e, uint16_t n, uint16_t *last, bool *err)
{
	RTE_SET_USED(e);
	return rte_dma_completed(dmm_id, 0, n, last, err);
}

static uint16_t
eng_completed_status(void *e, uint16_t n, uint16_t *last,
	enum rte_dma_status_code *st)
{
	RTE_SET_USED(e);
	return rte_dma_completed_status(dmm_id, 0, n, last, st);
}

static int
eng_serve_faults(void *e, unsigned int max)
{
	RTE_SET_USED(e);
	RTE_SET_USED(max);
	return 0;
}

#define ENG_T void
#define ENG_COMPLETED eng_completed
#define ENG_COMPLETED_STATUS eng_completed_status
#define ENG_SERVE_FAULTS eng_serve_faults
#include "engine_common.h"
#include "dmm_common.h"

/* The dma_skeleton dmadev, or -1 (every test skips). */
static int16_t skel = -1;
/* The cpus of the process before the EAL pinned the main thread. */
static cpu_set_t all_cpus;
static unsigned int up_count;

static void
setup(void)
{
	static struct mmrt_test_argv a;
	char tag[16];
	int rc;

	CPU_ZERO(&all_cpus);
	if (sched_getaffinity(0, sizeof(all_cpus), &all_cpus) != 0)
		CPU_SET(0, &all_cpus);
	snprintf(tag, sizeof(tag), "tdb%u", up_count++);
	/* lcores 0 and 1 floating (lcore 1 runs the skeleton's copy
	 * thread) */
	mmrt_test_argv_start(&a, "test-dmadev", 2);
	mmrt_test_argv_eal(&a, tag, 512, false, "lib.eal:error");
	mmrt_test_argv_add(&a, "--vdev=" SKEL_NAME ",lcore=1");
	mmrt_test_argv_add(&a, "--log-level=pmd.dma.skeleton:warning");
	mmrt_test_argv_add(&a, "--");
	mmrt_test_argv_add(&a, "--pool-mb");
	mmrt_test_argv_add(&a, POOL_MB);
	mmrt_test_argv_add(&a, "--log-level");
	mmrt_test_argv_add(&a, "4");
	cr_assert(mmrt_dma_mmrt_registered());
	rc = mmrt_init(a.argc, a.argv);
	cr_assert_geq(rc, 0, "mmrt_init: %d", rc);
	rc = mmrt_thread_register();
	cr_assert_geq(rc, 0, "mmrt_thread_register: %d", rc);
	rc = rte_dma_get_dev_id_by_name(SKEL_NAME);
	skel = rc >= 0 ? (int16_t)rc : -1;
}

static void
teardown(void)
{
	/* a failed test may leave its device: the driver stops it */
	if (dmm_id >= 0)
		(void)rte_vdev_uninit(dmm_name);
	dmm_id = -1;
	mmrt_test_down();
}

TestSuite(dmadev, .init = setup, .fini = teardown, .timeout = 120);

/* Skip (visibly) when the skeleton was not probed. */
static void
need_skel(void)
{
	if (skel < 0) {
		/* shown without --verbose too */
		fprintf(stderr, "test-dmadev: SKIP: no dmadev %s\n", SKEL_NAME);
		cr_skip_test("no dmadev %s (dma_skeleton not probed: is "
			"librte_dma_skeleton installed?)", SKEL_NAME);
	}
	cr_log_info("%s is dmadev %d, iova mode %s", SKEL_NAME, skel,
		rte_eal_iova_mode() == RTE_IOVA_VA ? "va" : "pa");
}

/* ---- the device and its driving thread ---- */

/* The device's mmrt counters (the bridge's: it is started). */
static struct mmrt_dma_mmrt_stats
stats(void)
{
	struct mmrt_dma_mmrt_stats st;
	int rc = mmrt_dma_mmrt_stats(dmm_id, &st);

	cr_assert_eq(rc, 0, "mmrt_dma_mmrt_stats: %d", rc);
	cr_assert(st.dev_mode);
	return st;
}

static void
log_stats(const char *what)
{
	struct mmrt_dma_mmrt_stats st;

	if (mmrt_dma_mmrt_stats(dmm_id, &st) != 0)
		return;
	cr_log_info("%s: submitted %" PRIu64 " completed %" PRIu64
		" errors %" PRIu64 " pieces %" PRIu64 " bytes %" PRIu64
		" parks %" PRIu64 " acks_held %" PRIu64 " inflight %" PRIu64
		" | inval %" PRIu64 " acks %" PRIu64 " fences %" PRIu64
		" preq %" PRIu64 " ufaults %" PRIu64, what, st.submitted,
		st.completed, st.errors, st.pieces, st.bytes, st.parks,
		st.acks_held, st.inflight, st.consumer.inval_descs,
		st.consumer.acks, st.consumer.fences,
		st.consumer.page_requests, st.consumer.userfaults);
}

/* The device's own counters: pieces it was given and pieces it copied. */
static struct rte_dma_stats
dev_stats(void)
{
	struct rte_dma_stats ds;

	memset(&ds, 0, sizeof(ds));
	(void)rte_dma_stats_get(skel, 0, &ds);
	return ds;
}

/*
 * Probe dma_mmrt_@name on the space @as_name with the skeleton behind it,
 * as a service, @extra more devargs (or NULL): its dmadev id.
 */
static int16_t
dmm_probe(const char *name, const char *as_name, const char *extra)
{
	char args[192];
	int rc;

	snprintf(dmm_name, sizeof(dmm_name), "dma_mmrt_%s", name);
	snprintf(args, sizeof(args), "as=%s,service=1,dev=" SKEL_NAME
		",ack_us=%" PRIu64 "%s%s%s", as_name, ACK_DEADLINE_US,
		extra != NULL && strstr(extra, "park_us=") != NULL ? "" :
		",park_us=" PARK_US, extra != NULL ? "," : "",
		extra != NULL ? extra : "");
	rc = rte_vdev_init(dmm_name, args);
	cr_assert_eq(rc, 0, "probe %s,%s: %d", dmm_name, args, rc);
	rc = rte_dma_get_dev_id_by_name(dmm_name);
	cr_assert_geq(rc, 0);
	dmm_id = (int16_t)rc;
	return dmm_id;
}

/*
 * Configure (one vchan of @nb_desc) and start the device; its service is
 * then runnable by this thread. Ring indexes start at 0: so does the
 * queue.
 */
static void
dmm_start(uint16_t nb_desc)
{
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
		.nb_desc = nb_desc,
	};
	struct rte_dma_conf dc = { .nb_vchans = 1 };
	int rc;

	cr_assert_eq(rte_dma_configure(dmm_id, &dc), 0);
	cr_assert_eq(rte_dma_vchan_setup(dmm_id, 0, &vc), 0);
	rc = rte_dma_start(dmm_id);
	cr_assert_eq(rc, 0, "rte_dma_start: %d", rc);
	/* the service exists while the device is started */
	cr_assert_eq(rte_service_get_by_name(dmm_name, &dmm_sid), 0);
	cr_assert_eq(rte_service_runstate_set(dmm_sid, 1), 0);
	dmm_ring = (uint16_t)rte_align32pow2(nb_desc);
	q_init(NULL);
}

/* A device on @as (its VAs), @nb_desc descriptors, started. */
static int16_t
dmm_up(struct mmrt_as *as, const char *name, uint16_t nb_desc,
	const char *extra)
{
	dmm_probe(name, mmrt_as_name(as), extra);
	dmm_start(nb_desc);
	return dmm_id;
}

/* Stop (the bridge goes, the skeleton stops), close and remove. */
static void
dmm_down(void)
{
	cr_assert_eq(rte_dma_stop(dmm_id), 0);
	cr_assert_eq(rte_dma_close(dmm_id), 0);
	cr_assert_eq(rte_vdev_uninit(dmm_name), 0);
	dmm_id = -1;
}

/* Enqueue a copy; returns the operation's number (its order). */
static uint64_t
q_copy(uint64_t src, uint64_t dst, uint32_t len, uint64_t flags)
{
	q_enqueued(rte_dma_copy(dmm_id, 0, src, dst, len, flags), "copy");
	return q.n - 1;
}

/* A bridge step (the service, run by this thread), without reaping. */
static void
step(void)
{
	int rc = rte_service_run_iter_on_app_lcore(dmm_sid, 1);

	cr_assert_eq(rc, 0, "rte_service_run_iter_on_app_lcore: %d", rc);
}

/* One step of the driving thread: a bridge step, then reaping. */
static unsigned int
drive(void)
{
	step();
	return q_reap();
}

/* The hooks of engine_common.h: waiting is driving. */
static unsigned int
q_poll(void)
{
	return drive();
}

static void
q_log(const char *what)
{
	log_stats(what);
}

static uint64_t
q_completed(void)
{
	return stats().completed;
}

/* Step (bounded, not reaping) until the stats say @field reached @want. */
#define WAIT_STAT(field, want) do { \
	uint64_t d_ = deadline(WAIT_S); \
	unsigned long i_ = 0; \
	while (stats().field < (want)) { \
		if (expired(d_)) { \
			log_stats("timeout"); \
			cr_assert_fail("stats." #field " %" PRIu64 \
				" never reached %" PRIu64, \
				stats().field, (uint64_t)(want)); \
		} \
		step(); \
		relax(i_++); \
	} \
} while (0)

/* Step (bounded, not reaping) until no piece is on the device. */
static void
drain_device(void)
{
	uint64_t d = deadline(WAIT_S);
	unsigned long i = 0;

	while (stats().inflight != 0) {
		if (expired(d)) {
			log_stats("timeout");
			cr_assert_fail("pieces still on the device after %d s",
				WAIT_S);
		}
		step();
		relax(i++);
	}
}

/* Drive (bounded) until *@flag (set by another thread) is @want. */
static void
drive_until(const int *flag, int want, unsigned long yield_mask)
{
	uint64_t d = deadline(WAIT_S);
	unsigned long i = 0;

	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != want) {
		if (expired(d)) {
			log_stats("timeout");
			cr_assert_fail("helper thread did not finish in %d s",
				WAIT_S);
		}
		drive();
		mmrt_test_relax(i++, yield_mask);
	}
}

/* The end of a started run: the counters agree with what the client saw
 * (the mmrt ones since this start). */
static void
q_final_stats(void)
{
	struct mmrt_dma_mmrt_stats st = stats();

	cr_assert_eq(st.submitted, q.n, "submitted %" PRIu64 ", want %"
		PRIu64, st.submitted, q.n);
	cr_assert_eq(st.completed, q.done, "completed %" PRIu64 ", want %"
		PRIu64, st.completed, q.done);
	cr_assert_eq(st.errors, q.nerr, "errors %" PRIu64 ", want %" PRIu64,
		st.errors, q.nerr);
	cr_assert_eq(st.inflight, 0, "inflight %" PRIu64, st.inflight);
	cr_assert_eq(rte_dma_burst_capacity(dmm_id, 0),
		(uint16_t)(dmm_ring - 1));
}

/* The end of a test with the device on @as: the stats agree, both go
 * away and the pool balances (@used0: frames in use at the start). */
static void
dmm_done(struct mmrt_as *as, uint64_t used0)
{
	q_final_stats();
	dmm_down();
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* A helper thread on @cpus (NULL: every cpu of the process, not just the
 * main lcore's). */
static void
thread_start_on(pthread_t *th, const cpu_set_t *cpus, void *(*fn)(void *),
	void *arg)
{
	pthread_attr_t attr;

	if (cpus == NULL)
		cpus = &all_cpus;
	cr_assert_eq(pthread_attr_init(&attr), 0);
	cr_assert_eq(pthread_attr_setaffinity_np(&attr, sizeof(*cpus), cpus),
		0);
	cr_assert_eq(pthread_create(th, &attr, fn, arg), 0);
	pthread_attr_destroy(&attr);
}

static void
thread_start(pthread_t *th, void *(*fn)(void *), void *arg)
{
	thread_start_on(th, NULL, fn, arg);
}

/* ---- pieces of a copy ---- */

/* Pieces of a copy split at the leaf boundaries of both sides (@gs, @gd:
 * leaf sizes). */
static uint64_t
npieces(uint64_t s, uint64_t gs, uint64_t d, uint64_t gd, uint64_t len)
{
	uint64_t o = 0, n = 0, k;

	while (o < len) {
		k = RTE_MIN(gs - (s + o) % gs, gd - (d + o) % gd);
		o += RTE_MIN(k, len - o);
		n++;
	}
	return n;
}

/* ================================================================== */
/* Copies across 4 KiB and 2 MiB boundaries                            */
/* ================================================================== */

/* One copy: source region and offset, destination region and offset. */
struct bcase {
	int sr;
	uint64_t so;
	int dr;
	uint64_t doff;
	uint32_t len;
};

Test(dmadev, copy_boundaries)
{
	static const struct bcase cases[] = {
		/* 4 KiB pages */
		{ R_S4, 0, R_D4, 0, 1 },
		{ R_S4, 4095, R_D4, 4095, 2 },
		{ R_S4, 4093, R_D4, 1, 9 },
		{ R_S4, 1, R_D4, 4090, 4096 },
		{ R_S4, 100, R_D4, 8191, 8193 },
		{ R_S4, 4096, R_D4, 4096, 4096 },
		{ R_S4, 7, R_D4, 3 * PG - 3, 3 * PG + 17 },
		{ R_S4, 3, R_D4, 5, 31 * PG - 1 },
		{ R_S4, 0, R_D4, 0, 32 * PG },
		/* 2 MiB leaves */
		{ R_SH, HPG - 1, R_DH, HPG - 1, 2 },
		{ R_SH, HPG - PG - 3, R_DH, HPG - 5, 3 * PG },
		{ R_SH, 17, R_DH, HPG - 100000, 200000 },
		{ R_SH, HPG / 2, R_DH, HPG - 1, HPG + 1 },
		{ R_SH, 0, R_DH, 0, 2 * HPG },
		{ R_SH, 1, R_DH, 3, 2 * HPG - 3 },
		/* between the two */
		{ R_S4, 4000, R_DH, HPG - 50, 9000 },
		{ R_SH, HPG - 3000, R_D4, 2000, 8000 },
		{ R_DH, HPG + 5, R_D4, 10 * PG + 3, 5000 },
		/* into pages never touched: demand-zero in place */
		{ R_SH, HPG - 10, R_Z4, PG - 7, 2 * PG + 20 },
		{ R_S4, 5, R_ZH, HPG - 3 * PG - 1, 2 * PG + 2 },
		/* out of pages never touched: zeros */
		{ R_Z4, 5 * PG + 3, R_D4, 20 * PG + 1, PG },
	};
	struct rgn r[R_NB];
	/* leaf sizes: smallest and largest possible */
	static const uint64_t gmin[R_NB] = { PG, PG, PG, PG, PG, PG };
	static const uint64_t gmax[R_NB] = { PG, PG, HPG, HPG, PG, HPG };
	struct mmrt_dma_mmrt_stats st;
	uint64_t used0, bytes = 0, src, dst, p0, dp, lo, hi, lo_sum = 0;
	uint64_t hi_sum = 0;
	const struct bcase *c;
	struct rte_dma_stats ds;
	struct mmrt_as *as;
	char when[64];
	unsigned int k;
	uint32_t len;

	need_skel();
	used0 = mmrt_test_used();
	as = bnd_setup(r);

	dmm_up(as, "bnd", NB_DESC, NULL);

	/* one at a time: the whole destination region checked after each */
	for (k = 0; k < RTE_DIM(cases); k++) {
		c = &cases[k];
		src = r[c->sr].va + c->so;
		dst = r[c->dr].va + c->doff;
		p0 = stats().pieces;
		q_copy(src, dst, c->len, RTE_DMA_OP_FLAG_SUBMIT);
		q_wait_all(false);
		cr_assert_eq(q_status(q.n - 1), S_OK, "case %u: status %d", k,
			q_status(q.n - 1));
		mirror_copy(r, R_NB, src, dst, c->len);
		bytes += c->len;
		snprintf(when, sizeof(when), "after case %u", k);
		rgn_check(as, &r[c->dr], when);
		/* split at page boundaries: at least at every 2 MiB one, at
		 * most at every 4 KiB one */
		dp = stats().pieces - p0;
		lo = npieces(src, gmax[c->sr], dst, gmax[c->dr], c->len);
		hi = npieces(src, gmin[c->sr], dst, gmin[c->dr], c->len);
		lo_sum += lo;
		hi_sum += hi;
		cr_assert(dp >= lo && dp <= hi, "case %u: %" PRIu64 " pieces,"
			" want %" PRIu64 "..%" PRIu64, k, dp, lo, hi);
		if (dp != hi)
			cr_log_info("case %u: %" PRIu64 " pieces (%" PRIu64
				" at 4 KiB)", k, dp, hi);
	}

	/* 400 disjoint targets behind one doorbell */
	for (k = 0; k < 400; k++) {
		if (k < 300) {
			dst = VD + k * UINT64_C(13900) + k % 7;
			len = 1 + (k * 997) % 13000;
			src = VC + (k * UINT64_C(104729)) % (2 * HPG - 13001);
		} else {
			dst = VB + (k - 300) * UINT64_C(1300) + k % 5;
			len = 1 + (k * 331) % 1290;
			src = VA + (k * UINT64_C(7919)) % (32 * PG - 1291);
		}
		q_copy(src, dst, len, k % 5 == 0 ? RTE_DMA_OP_FLAG_FENCE : 0);
		mirror_copy(r, R_NB, src, dst, len);
		bytes += len;
	}
	cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
	q_wait_all(false);
	cr_assert_eq(q.nerr, 0);
	for (k = 0; k < R_NB; k++)
		rgn_check(as, &r[k], "at the end");

	st = stats();
	log_stats("boundaries");
	cr_log_info("single cases: pieces between %" PRIu64 " and %" PRIu64,
		lo_sum, hi_sum);
	q_final_stats();
	cr_assert_eq(st.errors, 0);
	cr_assert_eq(st.bytes, bytes, "bytes %" PRIu64 ", want %" PRIu64,
		st.bytes, bytes);
	cr_assert_eq(st.consumer.fences, 0);
	/* the device saw every piece, and copied it */
	ds = dev_stats();
	cr_assert_eq(ds.submitted, st.pieces, "device: %" PRIu64
		" submitted, bridge: %" PRIu64 " pieces", ds.submitted,
		st.pieces);
	cr_assert_eq(ds.completed, st.pieces);
	dmm_down();
	bnd_teardown(as, r, used0);
}

/* ================================================================== */
/* Parking on userfault pages                                          */
/* ================================================================== */

/* Invalidations from another thread while the driver keeps driving. */
static struct {
	struct mmrt_as *as;
	int rc;
	int done;
} side;

static void *
side_main(void *arg)
{
	int rc;

	RTE_SET_USED(arg);
	rc = mmrt_advise(side.as, VD, PG, MMRT_ADV_DONTNEED);
	if (rc == 0)
		rc = mmrt_protect(side.as, VD, 2 * PG, RO);
	side.rc = rc;
	__atomic_store_n(&side.done, 1, __ATOMIC_RELEASE);
	return NULL;
}

Test(dmadev, park_resume_in_order)
{
	struct rgn r[2] = {
		{ VA, 4 * PG, NULL, "src" },
		{ VB, 8 * PG, NULL, "dst" },
	};
	uint8_t *fill0, *fill2, *want;
	struct mmrt_dma_mmrt_stats st;
	struct mmrt_uffd_msg m;
	struct mmrt_uffd *u;
	struct mmrt_as *as;
	uint64_t used0, acks;
	unsigned int k;
	pthread_t th;

	need_skel();
	used0 = mmrt_test_used();
	as = mmrt_as_create("park");
	cr_assert_not_null(as);
	fill0 = xmalloc(PG);
	fill2 = xmalloc(PG);
	want = xmalloc(PG);
	r[0].m = xmalloc(r[0].len);
	r[1].m = xmalloc(r[1].len);
	map_pat(as, VA, 4 * PG, 0, 11);
	pat(r[0].m, 11, 0, 4 * PG);
	map_guard(as, VB, 8 * PG, 0);
	memset(r[1].m, GUARD, 8 * PG);
	cr_assert_eq(mmrt_map(as, VC, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VD, 2 * PG, RW, MMRT_MAP_POPULATE), 0);
	u = mkuffd(as, 0);
	ureg(u, VC, 4 * PG);
	pat(fill0, 21, 0, PG);
	pat(fill2, 22, 0, PG);

	dmm_up(as, "park", NB_DESC, NULL);

	/* op 0 writes a missing page; ops 1-3 are ordinary; op 4 reads a
	 * missing page; op 5 is ordinary */
	q_copy(VA + 50, VC + 50, PG - 100, 0);
	q_copy(VA, VB, 1000, 0);
	mirror_copy(r, 2, VA, VB, 1000);
	q_copy(VA + PG, VB + 2000, 5000, 0);
	mirror_copy(r, 2, VA + PG, VB + 2000, 5000);
	q_copy(VA + PG, VB + 3 * PG - 7, 20, 0);
	mirror_copy(r, 2, VA + PG, VB + 3 * PG - 7, 20);
	q_copy(VC + 2 * PG + 8, VB + 5 * PG, 200, 0);
	q_copy(VA + 2 * PG, VB + 6 * PG, PG, RTE_DMA_OP_FLAG_SUBMIT);

	/* op 0 parks; nothing behind it runs */
	WAIT_STAT(parks, 1);
	q_none_more(0, 20000);
	check_byte(as, VB, GUARD, 8 * PG, "dst while op 0 is parked");
	cr_assert_eq(stats().inflight, 0);
	/* parked, it still acks invalidations (from another thread) */
	acks = stats().consumer.acks;
	side.as = as;
	thread_start(&th, side_main, NULL);
	drive_until(&side.done, 1, 0);
	pthread_join(th, NULL);
	cr_assert_eq(side.rc, 0, "advise/protect: %d", side.rc);
	st = stats();
	cr_assert_eq(st.consumer.fences, 0, "fenced while parked");
	cr_assert_geq(st.consumer.acks, acks + 1);
	q_none_more(0, 2000);
	m = next_fault(u);
	cr_assert_eq(m.arg.pagefault.address, VC, "fault at %#" PRIx64,
		m.arg.pagefault.address);
	cr_assert(m.arg.pagefault.flags & MMRT_UFFD_PAGEFAULT_FLAG_WRITE);
	ufill(u, VC, fill0, PG);

	/* ops 0-3 go on; op 4 parks on its source */
	q_wait(4, false);
	WAIT_STAT(parks, 2);
	q_none_more(4, 20000);
	check_byte(as, VB + 5 * PG, GUARD, 3 * PG, "dst while op 4 is parked");
	m = next_fault(u);
	cr_assert_eq(m.arg.pagefault.address, VC + 2 * PG, "fault at %#"
		PRIx64, m.arg.pagefault.address);
	cr_assert_not(m.arg.pagefault.flags & MMRT_UFFD_PAGEFAULT_FLAG_WRITE);
	ufill(u, VC + 2 * PG, fill2, PG);
	q_wait_all(false);
	for (k = 0; k < q.n; k++)
		cr_assert_eq(q_status(k), S_OK, "op %u: status %d", k,
			q_status(k));
	memcpy(r[1].m + 5 * PG, fill2 + 8, 200);
	memcpy(r[1].m + 6 * PG, r[0].m + 2 * PG, PG);
	rgn_check(as, &r[1], "after the fills");
	memcpy(want, fill0, PG);
	memcpy(want + 50, r[0].m + 50, PG - 100);
	check(as, VC, want, PG, "the page op 0 parked on");
	check(as, VC + 2 * PG, fill2, PG, "the page op 4 parked on");
	st = stats();
	log_stats("park");
	cr_assert_eq(st.parks, 2, "parks %" PRIu64, st.parks);
	cr_assert_geq(st.consumer.userfaults, 2);
	q_final_stats();

	/* parked, then stopped: dropped, nothing leaks */
	q_copy(VA, VC + PG, 64, RTE_DMA_OP_FLAG_SUBMIT);
	WAIT_STAT(parks, 3);
	dmm_down();
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(r[0].m);
	free(r[1].m);
	free(fill0);
	free(fill2);
	free(want);
	cr_assert_eq(mmrt_test_used(), used0, "used %" PRIu64 ", at start %"
		PRIu64, mmrt_test_used(), used0);
}

/*
 * The header: an operation whose page is missing is parked at that page
 * (its pieces before the page may already be on the device). An op whose
 * first page is present and second one missing: while it is parked, no
 * byte of the missing page reaches the device, and nothing behind it runs.
 */
Test(dmadev, park_at_missing_page)
{
	uint8_t *fill0, *fill1, *want;
	struct mmrt_dma_mmrt_stats st;
	struct mmrt_uffd_msg m;
	struct rte_dma_stats ds;
	struct mmrt_uffd *u;
	struct mmrt_as *as;
	uint64_t used0;

	need_skel();
	used0 = mmrt_test_used();
	as = mmrt_as_create("parkw");
	cr_assert_not_null(as);
	fill0 = xmalloc(PG);
	fill1 = xmalloc(PG);
	want = xmalloc(2 * PG);
	map_pat(as, VA, 2 * PG, 0, 12);
	cr_assert_eq(mmrt_map(as, VC, 2 * PG, RW, 0), 0);
	u = mkuffd(as, 0);
	ureg(u, VC, 2 * PG);
	pat(fill0, 24, 0, PG);
	pat(fill1, 25, 0, PG);
	ufill(u, VC, fill0, PG);        /* page 0 present, page 1 missing */

	dmm_up(as, "parkw", NB_DESC, NULL);
	q_copy(VA, VC + PG - 100, 200, RTE_DMA_OP_FLAG_SUBMIT);
	WAIT_STAT(parks, 1);
	q_none_more(0, 5000);
	st = stats();
	ds = dev_stats();
	log_stats("parked");
	cr_log_info("device: submitted %" PRIu64 " completed %" PRIu64,
		ds.submitted, ds.completed);
	cr_assert_leq(st.bytes, 100, "%" PRIu64 " piece(s) (%" PRIu64
		" bytes) of the parked op were given to the device: more than"
		" the 100 before the missing page", st.pieces, st.bytes);
	cr_assert_leq(ds.submitted, 1);

	m = next_fault(u);
	cr_assert_eq(m.arg.pagefault.address, VC + PG);
	ufill(u, VC + PG, fill1, PG);
	q_wait_all(false);
	cr_assert_eq(q_status(0), S_OK, "status %d", q_status(0));
	memcpy(want, fill0, PG);
	memcpy(want + PG, fill1, PG);
	pat(want + PG - 100, 12, 0, 200);
	check(as, VC, want, 2 * PG, "after the fill");
	q_final_stats();
	dmm_down();
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(fill0);
	free(fill1);
	free(want);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(dmadev, park_stream_resolver)
{
	struct rgn r[3] = {
		{ VA, 16 * PG, NULL, "src" },
		{ VB, 64 * PG, NULL, "dst" },
		{ VC, 64 * PG, NULL, "uffd range" },
	};
	struct mmrt_dma_mmrt_stats st;
	struct mmrt_as *as;
	uint64_t used0, s, d;
	unsigned int k;
	pthread_t th;
	uint32_t len;

	need_skel();
	rng_seed("park_stream_resolver");
	used0 = mmrt_test_used();
	as = mmrt_as_create("pstream");
	cr_assert_not_null(as);
	for (k = 0; k < 3; k++)
		r[k].m = xmalloc(r[k].len);
	map_pat(as, VA, 16 * PG, 0, 31);
	pat(r[0].m, 31, 0, 16 * PG);
	map_guard(as, VB, 64 * PG, 0);
	memset(r[1].m, GUARD, 64 * PG);
	cr_assert_eq(mmrt_map(as, VC, 64 * PG, RW, 0), 0);
	pat(r[2].m, 77, 0, 64 * PG);  /* what the resolver fills in */
	memset(&rs, 0, sizeof(rs));
	rs.u = mkuffd(as, 0);
	rs.base = VC;
	rs.tag = 77;
	ureg(rs.u, VC, 64 * PG);
	thread_start(&th, resolver_main, NULL);

	dmm_up(as, "pstream", NB_DESC, NULL);
	for (k = 0; k < 240; k++) {
		len = 1 + rnd() % (3 * PG);
		if (k % 3 != 2) {
			/* into the uffd range */
			s = VA + rnd() % (16 * PG - len + 1);
			d = VC + rnd() % (64 * PG - len + 1);
		} else {
			/* out of it */
			s = VC + rnd() % (64 * PG - len + 1);
			d = VB + rnd() % (64 * PG - len + 1);
		}
		q_copy(s, d, len, k % 16 == 15 ? RTE_DMA_OP_FLAG_SUBMIT : 0);
		mirror_copy(r, 3, s, d, len);
	}
	q_wait_all(false);
	st = stats();
	log_stats("park stream");
	cr_assert_eq(q.nerr, 0, "%" PRIu64 " ops failed", q.nerr);
	cr_assert_geq(st.parks, 1);
	q_final_stats();
	/* pages no op touched are filled by the resolver as they are read */
	for (k = 0; k < 3; k++)
		rgn_check(as, &r[k], "at the end");
	__atomic_store_n(&rs.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	cr_assert_eq(rs.err, 0, "resolver: %d", rs.err);
	cr_assert_geq(rs.served, 1);
	dmm_down();
	cr_assert_eq(mmrt_uffd_destroy(rs.u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	for (k = 0; k < 3; k++)
		free(r[k].m);
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * The headers: a failed operation gave the device a prefix of its
 * destination that ends at a 4 KiB page boundary, and nothing of the page
 * it failed on, also when it parked on a missing source page and its
 * destination page was made read-only meanwhile (engine_common.h,
 * pprot_ops).
 */
Test(dmadev, park_then_protect_dst)
{
	struct pprot_fix f;
	uint64_t used0;
	unsigned int k;

	need_skel();
	used0 = mmrt_test_used();
	pprot_setup(&f);
	dmm_up(f.as, "pprot", NB_DESC, NULL);
	for (k = 0; k < PPROT_NOPS; k++) {
		q_copy(pprot_ops[k].src, pprot_ops[k].dst, pprot_ops[k].len,
			RTE_DMA_OP_FLAG_SUBMIT);
		pprot_wait_park(&f, k);
		/* what it gave the device before parking has landed */
		drain_device();
		pprot_check_parked(&f, k);
		pprot_resume(&f, k);
		q_wait_all(false);
		pprot_check_done(&f, k);
	}
	log_stats("park then protect");
	q_final_stats();
	dmm_down();
	pprot_teardown(&f, used0);
}

/* ================================================================== */
/* Unresolvable faults: the status of each                             */
/* ================================================================== */

Test(dmadev, fault_status)
{
	enum rte_dma_status_code exp[32];
	struct mmrt_uffd *u, *usb;
	struct mmrt_dma_mmrt_stats st;
	struct mmrt_as *as;
	uint64_t used0, nerr, n, k, base;
	uint8_t *g, *want;
	unsigned int round, i;

	need_skel();
	used0 = mmrt_test_used();
	as = mmrt_as_create("fst");
	/*
	 * G: 16 pages, a hole, G2: 4 pages. RO, NONE. P: page 0 poisoned.
	 * M: missing, nobody serves it. SB: a SIGBUS uffd. S: the source.
	 */
	cr_assert_not_null(as);
	g = xmalloc(16 * PG);
	want = xmalloc(16 * PG);
	fst_layout(as, &u, &usb);

	/* a short park: the unserved page times out */
	dmm_up(as, "fst", NB_DESC, "park_us=20000");

	for (round = 0; round < 2; round++) {
		xset(as, VA, GUARD, 16 * PG);
		memset(want, GUARD, 16 * PG);
		base = q.n;
		i = 0;
#define OPC(s, d, l, e) do { \
		q_copy((s), (d), (l), 0); \
		exp[i++] = (e); \
	} while (0)
		OPC(VG, VA + 10, 100, S_OK);
		pat(want + 10, 41, 0, 100);
		OPC(VG, VH, 64, S_PF);                 /* dst: no region */
		OPC(VG + PG, VA + 2 * PG, PG, S_OK);
		pat(want + 2 * PG, 41, PG, PG);
		OPC(VH + 5, VA + 5 * PG, 64, S_PF);    /* src: no region */
		OPC(VG, VB + 1, 10, S_DST);            /* read-only */
		OPC(VB + 7, VA + 6 * PG, PG, S_OK);    /* reading it is fine */
		memset(want + 6 * PG, 0, PG);
		OPC(VC + 3, VA + 7 * PG, 10, S_SRC);   /* PROT_NONE */
		OPC(VG, VC, 8, S_DST);
		OPC(VD + 8, VA + 8 * PG, 16, S_POISON);
		OPC(VG, VD, PG, S_POISON);
		OPC(VE + PG, VA + 9 * PG, 32, S_PF);   /* park timeout */
		OPC(VG, VE + 2 * PG + 5, 3, S_PF);
		/* runs into the hole: nothing past the faulting page */
		OPC(VG, VA + 15 * PG + 100, 2 * PG, S_PF);
		OPC(VF, VA + 10 * PG, 8, S_PF);        /* SIGBUS uffd */
		OPC(VG + 3, VA + 11 * PG, 8, S_OK);
		pat(want + 11 * PG, 41, 3, 8);
		OPC(VG, VA + 12 * PG + 1, PG, S_OK);
		pat(want + 12 * PG + 1, 41, 0, PG);
#undef OPC
		n = i;
		cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
		WAIT_STAT(completed, q.n);

		q_reap_expect(base, n, exp, round != 0);
		for (k = 0; k < n; k++)
			q.nerr += exp[k] != S_OK;

		/* the op that ran into the hole gave the device exactly its
		 * bytes before the page holding the byte it failed on */
		xread(as, VA, g, 16 * PG);
		pat(want + 15 * PG + 100, 41, 0, PG - 100);
		cmp_buf(g, want, 16 * PG, VA, "G");
		check_byte(as, VA + 17 * PG, GUARD, 4 * PG,
			"G2, past the faulting page");
		check_byte(as, VB, 0, 4 * PG, "the read-only region");
	}
	cr_assert_eq(mmrt_read(as, VD, g, 8), -EHWPOISON);

	st = stats();
	log_stats("fault status");
	for (nerr = k = 0; k < n; k++)
		nerr += exp[k] != S_OK;
	q_final_stats();
	cr_assert_eq(st.errors, 2 * nerr, "errors %" PRIu64 ", want %" PRIu64,
		st.errors, 2 * nerr);
	cr_assert_geq(st.parks, 2);
	cr_assert_eq(st.consumer.fences, 0);
	dmm_down();
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_uffd_destroy(usb), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(g);
	free(want);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* Copy-on-write: the bridge writes to a forked child                  */
/* ================================================================== */

Test(dmadev, cow_child)
{
	struct mmrt_dma_mmrt_stats st;
	struct mmrt_as_stats as_st;
	uint64_t used0, s, d;
	unsigned int k, pass;
	struct cow_fix f;
	struct mmrt_as *w;
	uint32_t len;

	need_skel();
	rng_seed("cow_child");
	used0 = mmrt_test_used();
	cow_setup(&f);
	/* pass 0 writes to the child, pass 1 to the parent: a device on
	 * each in turn */
	for (pass = 0; pass < 2; pass++) {
		w = cow_written(&f, pass);
		dmm_up(w, "cow", NB_DESC, NULL);
		for (k = 0; k < 64; k++) {
			len = 1 + rnd() % (3 * PG);
			d = cow_dst(k, len);
			s = VB + rnd() % (8 * PG - len + 1);
			q_copy(s, d, len, 0);
			mirror_copy(f.r, 3, s, d, len);
		}
		cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
		/* the driver's page-request thread serves copy-on-write */
		q_wait_all(false);
		cr_assert_eq(q.nerr, 0, "%" PRIu64 " ops failed", q.nerr);
		cow_check(&f, pass);
		st = stats();
		log_stats(pass == 0 ? "cow child" : "cow parent");
		/* the parent's frames are mostly exclusive by pass 1 */
		if (pass == 0) {
			cr_assert_gt(st.consumer.page_requests, 0,
				"copy-on-write without a page request");
			cr_assert_geq(st.parks, 1);
		}
		cr_assert_eq(st.consumer.fences, 0);
		cr_assert_eq(mmrt_as_stats(w, &as_st), 0);
		cr_assert_geq(as_st.cow + as_st.cow_reuse, 1);
		q_final_stats();
		dmm_down();
		cow_next_pass(&f, pass);
	}
	cow_teardown(&f);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* Invalidations while pieces are on the device                        */
/* ================================================================== */

/*
 * IV_OPS copies of IV_LEN bytes from S (VA) to D (VB), slot k to slot k,
 * on 4 KiB pages: 4 pieces each, more than the device ring holds, so the
 * device is full when the invalidation comes. Another thread then
 * downgrades or unmaps a range every copy uses, sampling the device's own
 * counters (pieces given, pieces copied) just before the call and just
 * after it returns.
 */
#define IV_OPS 256
#define IV_LEN (16 * 1024)
#define IV_SIZE ((uint64_t)IV_OPS * IV_LEN)
#define IV_PIECES (IV_LEN / PG)
#define IV_ROUNDS 32
/*
 * Rounds go on past IV_ROUNDS, up to IV_ROUNDS_MAX, while no round has
 * yet caught pieces on the device with its ack held: the window depends
 * on timing (ASan on a loaded machine can miss it 32 times running).
 */
#define IV_ROUNDS_MAX (4 * IV_ROUNDS)

/* The invalidating thread, on the skeleton's cpu. */
static struct tdmm_iv iv;

static void
inval_rounds(enum tdmm_iv_kind kind, const char *name)
{
	struct mmrt_dma_mmrt_stats st, st0;
	uint64_t used0, given, ops_given, inflight0, first_bad;
	uint8_t *src, *d, *want;
	unsigned int round, good = 0, k;
	struct rte_dma_stats ds0;
	enum rte_dma_status_code bad = kind == IV_PROTECT_DST ? S_DST : S_PF;
	struct mmrt_as *as;
	rte_cpuset_t cpus;
	pthread_t th;

	need_skel();
	used0 = mmrt_test_used();
	as = mmrt_as_create(name);
	cr_assert_not_null(as);
	src = xmalloc(IV_SIZE);
	d = xmalloc(IV_SIZE);
	want = xmalloc(IV_SIZE);
	pat(src, 91, 0, IV_SIZE);
	dmm_up(as, name, NB_DESC, NULL);
	iv = (struct tdmm_iv){ .as = as, .kind = kind, .s = VA, .d = VB,
		.e = VE, .len = IV_SIZE, .canary = CANARY, .skel = skel,
		.bridge = dmm_id, .snap = xmalloc(IV_SIZE) };
	/*
	 * On the cpu of the skeleton's copy thread (lcore 1): while it runs
	 * (and spins for the ack) the device is stalled, so pieces are still
	 * on it when the invalidation comes; the driving thread keeps its
	 * own cpu.
	 */
	cpus = rte_lcore_cpuset(1);
	thread_start_on(&th, &cpus, tdmm_iv_main, &iv);

	for (round = 1; round <= IV_ROUNDS ||
			(good == 0 && round <= IV_ROUNDS_MAX); round++) {
		/* S and D (re)made, nothing outstanding */
		if (round == 1 || kind == IV_UNMAP_SRC) {
			cr_assert_eq(mmrt_map(as, VA, IV_SIZE, RW, 0), 0);
			xwrite(as, VA, src, IV_SIZE);
		}
		if (round == 1 || kind == IV_UNMAP_DST)
			cr_assert_eq(mmrt_map(as, VB, IV_SIZE, RW, 0), 0);
		if (kind == IV_PROTECT_DST && round > 1)
			cr_assert_eq(mmrt_protect(as, VB, IV_SIZE, RW), 0);
		xset(as, VB, GUARD, IV_SIZE);
		st0 = stats();
		ds0 = dev_stats();
		cr_assert_eq(ds0.submitted, st0.pieces);
		cr_assert_eq(ds0.completed, st0.pieces);

		for (k = 0; k < IV_OPS; k++)
			q_copy(VA + (uint64_t)k * IV_LEN,
				VB + (uint64_t)k * IV_LEN, IV_LEN, 0);
		cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
		drive();        /* fills the device */
		__atomic_store_n(&iv.go, (int)round, __ATOMIC_RELEASE);
		/* keep driving, giving the cpu away often */
		drive_until(&iv.done, (int)round, 0);
		q_wait_all(false);
		cr_assert_eq(iv.err, 0, "round %u: helper: %d", round, iv.err);
		cr_assert_eq(iv.rc, 0, "round %u: protect/unmap: %d", round,
			iv.rc);

		/*
		 * Invariant A: every piece the device was given before the
		 * call started was copied before it returned (the device's
		 * own counters), and so every op given whole before it
		 * started had completed (the bridge's).
		 */
		given = iv.before.submitted - ds0.submitted;
		ops_given = given / IV_PIECES;
		inflight0 = iv.before.submitted - iv.before.completed;
		cr_assert_geq(iv.after.completed, iv.before.submitted,
			"round %u: %" PRIu64 " pieces given before the call "
			"started, %" PRIu64 " copied when it returned (bridge "
			"then: inflight %" PRIu64 ", acks held this round %"
			PRIu64 ", acks %" PRIu64 ", fences %" PRIu64 ")",
			round, iv.before.submitted - ds0.submitted,
			iv.after.completed - ds0.submitted, iv.st.inflight,
			iv.st.acks_held - st0.acks_held,
			iv.st.consumer.acks - st0.consumer.acks,
			iv.st.consumer.fences);
		cr_assert_geq(iv.st.completed - st0.completed, ops_given,
			"round %u: %" PRIu64 " ops given whole before the "
			"call, %" PRIu64 " completed (bridge stats) when it "
			"returned", round, ops_given,
			iv.st.completed - st0.completed);
		if (kind != IV_PROTECT_DST)
			/* every piece touches the range: none after it */
			cr_assert_geq(iv.after.completed, iv.after.submitted,
				"round %u: %" PRIu64 " pieces still on the "
				"device after the unmap returned", round,
				iv.after.submitted - iv.after.completed);

		/* statuses: successes, then failures (the range is gone) */
		first_bad = IV_OPS;
		for (k = 0; k < IV_OPS; k++) {
			enum rte_dma_status_code s =
				q_status(q.n - IV_OPS + k);

			if (s != S_OK && first_bad == IV_OPS)
				first_bad = k;
			if (first_bad != IV_OPS)
				cr_assert_eq(s, bad, "round %u: op %u: status"
					" %d, want %d", round, k, s, bad);
		}
		st = stats();
		if (inflight0 > 0 && st.acks_held > st0.acks_held)
			good++;
		cr_log_info("%s round %u: %" PRIu64 " pieces on the device "
			"at the call, %" PRIu64 " ops given, %" PRIu64
			" failed from op %" PRIu64 ", acks held %" PRIu64,
			name, round, inflight0, ops_given,
			IV_OPS - first_bad, first_bad,
			st.acks_held - st0.acks_held);
		cr_assert_eq(st.consumer.fences, 0, "round %u: fenced", round);
		cr_assert_eq(st.inflight, 0);

		/* contents */
		if (kind == IV_PROTECT_DST) {
			/* nothing written after the downgrade returned */
			xread(as, VB, d, IV_SIZE);
			cmp_buf(d, iv.snap, IV_SIZE, VB,
				"D drained vs. D when protect returned");
		}
		if (kind != IV_UNMAP_DST) {
			xread(as, VB, d, IV_SIZE);
			mmrt_test_cmp_ops(d, src, want, IV_OPS, IV_LEN,
				first_bad, GUARD, VB, "D");
		} else {
			/* nothing wrote into D's old frames */
			check_byte(as, VE, CANARY, IV_SIZE,
				"E (frames D gave back)");
			cr_assert_eq(mmrt_unmap(as, VE, IV_SIZE), 0);
		}
	}
	__atomic_store_n(&iv.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	st = stats();
	log_stats(name);
	cr_assert_geq(good, 1, "no round had pieces on the device when the "
		"invalidation came and held its ack (acks_held %" PRIu64 ")",
		st.acks_held);
	cr_assert_gt(st.acks_held, 0);
	q_final_stats();
	dmm_down();
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(src);
	free(d);
	free(want);
	free(iv.snap);
	cr_assert_eq(mmrt_test_used(), used0, "used %" PRIu64 ", at start %"
		PRIu64, mmrt_test_used(), used0);
}

Test(dmadev, inval_protect_held)
{
	inval_rounds(IV_PROTECT_DST, "ivprot");
}

Test(dmadev, inval_unmap_dst_held)
{
	inval_rounds(IV_UNMAP_DST, "ivudst");
}

Test(dmadev, inval_unmap_src_held)
{
	inval_rounds(IV_UNMAP_SRC, "ivusrc");
}

/*
 * The window between the bridge's look at the pending invalidations and
 * its ack. The bridge decides whether to hold on a peek
 * (mmrt_consumer_inval_peek()), then acks with mmrt_consumer_poll_n(),
 * bounded to what it peeked (a plain poll would ack whatever is pending by
 * then). Here mmrt_consumer_poll_n() is interposed (the bridge reaches it through the PLT): once armed, called
 * while pieces are on the device, it lets another thread downgrade the
 * destination of those pieces and waits (bounded) until that invalidation
 * is pending before it polls. The ack must still wait for the pieces. If a
 * bridge never polls with pieces on the device, the window never opens
 * and the test only says so.
 */
static struct {
	int armed;                 /* the next poll in flight opens it */
	int open;                  /* the window is open: post now */
	int pending;               /* the invalidation was pending in it */
	int acked;                 /* ... and the poll acked it */
	int done;
	int rc;
	struct rte_dma_stats before, after;  /* helper: around the call */
	struct rte_dma_stats posted, polled; /* driver: around the poll */
	struct mmrt_dma_mmrt_stats st;
	struct mmrt_as *as;
} pw;

int
mmrt_consumer_poll_n(struct mmrt_consumer *c, unsigned int max)
{
	static int (*real_poll)(struct mmrt_consumer *, unsigned int);
	struct rte_dma_stats ds;
	uint64_t s[32], e[32], d;
	int ret;

	if (real_poll == NULL)
		*(void **)&real_poll = dlsym(RTLD_NEXT,
			"mmrt_consumer_poll_n");
	/* the bridge's consumer is the only one in the test */
	if (c != NULL && __atomic_load_n(&pw.armed, __ATOMIC_ACQUIRE) &&
			rte_dma_stats_get(skel, 0, &ds) == 0 &&
			ds.submitted > ds.completed) {
		pw.armed = 0;
		__atomic_store_n(&pw.open, 1, __ATOMIC_RELEASE);
		d = deadline(5);
		while (mmrt_consumer_inval_peek(c, s, e, 32) <= 0 &&
				!expired(d))
			rte_pause();
		pw.pending = mmrt_consumer_inval_peek(c, s, e, 32) > 0;
		/* nothing is given to the device meanwhile: this thread
		 * gives the pieces */
		(void)rte_dma_stats_get(skel, 0, &pw.posted);
		ret = real_poll(c, max);
		(void)rte_dma_stats_get(skel, 0, &pw.polled);
		pw.acked = pw.pending &&
			mmrt_consumer_inval_peek(c, s, e, 32) == 0;
		return ret;
	}
	return real_poll(c, max);
}

static void *
window_main(void *arg)
{
	unsigned long it = 0;
	uint64_t d = deadline(WAIT_S);

	RTE_SET_USED(arg);
	while (!__atomic_load_n(&pw.open, __ATOMIC_ACQUIRE) && !expired(d))
		relax(it++);
	if (__atomic_load_n(&pw.open, __ATOMIC_ACQUIRE)) {
		(void)rte_dma_stats_get(skel, 0, &pw.before);
		pw.rc = mmrt_protect(pw.as, VB, IV_SIZE, RO);
		(void)rte_dma_stats_get(skel, 0, &pw.after);
		(void)mmrt_dma_mmrt_stats(dmm_id, &pw.st);
	}
	__atomic_store_n(&pw.done, 1, __ATOMIC_RELEASE);
	return NULL;
}

Test(dmadev, inval_peek_poll_window)
{
	unsigned int k, attempt, hit = 0;
	struct mmrt_as *as;
	rte_cpuset_t cpus;
	uint64_t used0;
	pthread_t th;

	need_skel();
	used0 = mmrt_test_used();
	as = mmrt_as_create("pwin");
	cr_assert_not_null(as);
	map_pat(as, VA, IV_SIZE, 0, 9);
	map_guard(as, VB, IV_SIZE, 0);
	dmm_up(as, "pwin", NB_DESC, NULL);
	/* with the skeleton's copy thread: it stalls while this one runs */
	cpus = rte_lcore_cpuset(1);
	/* until pieces were still on the device when the call started */
	for (attempt = 0; attempt < 16 && hit == 0; attempt++) {
		if (attempt > 0)
			cr_assert_eq(mmrt_protect(as, VB, IV_SIZE, RW), 0);
		memset(&pw, 0, sizeof(pw));
		pw.as = as;
		thread_start_on(&th, &cpus, window_main, NULL);
		for (k = 0; k < IV_OPS; k++)
			q_copy(VA + (uint64_t)k * IV_LEN,
				VB + (uint64_t)k * IV_LEN, IV_LEN, 0);
		cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
		drive();        /* fills the device */
		__atomic_store_n(&pw.armed, 1, __ATOMIC_RELEASE);
		drive_until(&pw.done, 1, 255);
		pthread_join(th, NULL);
		__atomic_store_n(&pw.armed, 0, __ATOMIC_RELEASE);
		q_wait_all(false);
		cr_assert_eq(pw.rc, 0, "protect: %d", pw.rc);
		if (!pw.open || !pw.pending ||
				pw.posted.submitted == pw.posted.completed) {
			cr_log_info("attempt %u: not exercised (window %d, "
				"pending %d, device idle at the post %d)",
				attempt, pw.open, pw.pending,
				pw.posted.submitted == pw.posted.completed);
			continue;
		}
		hit++;
		cr_log_info("attempt %u: device when the invalidation was "
			"pending: %" PRIu64 " given, %" PRIu64 " copied; right "
			"after the poll (acked %d): %" PRIu64 " copied; "
			"helper: %" PRIu64 " copied when mmrt_protect() "
			"returned", attempt, pw.posted.submitted,
			pw.posted.completed, pw.acked, pw.polled.completed,
			pw.after.completed);
		/* the ack, if this poll gave it, came after those pieces */
		if (pw.acked)
			cr_assert_geq(pw.polled.completed,
				pw.posted.submitted, "the invalidation was "
				"acked with %" PRIu64 " pieces over its range "
				"still on the device (given %" PRIu64 ", "
				"copied %" PRIu64 " right after the ack)",
				pw.posted.submitted - pw.polled.completed,
				pw.posted.submitted, pw.polled.completed);
		cr_assert_geq(pw.after.completed, pw.posted.submitted,
			"%" PRIu64 " pieces given before the invalidation, %"
			PRIu64 " copied when mmrt_protect() returned (bridge "
			"then: inflight %" PRIu64 ", acks_held %" PRIu64 ")",
			pw.posted.submitted, pw.after.completed,
			pw.st.inflight, pw.st.acks_held);
	}
	log_stats("window");
	if (hit == 0)
		cr_log_warn("the window never opened with pieces on the "
			"device: nothing was tested");
	dmm_done(as, used0);
}

/* ================================================================== */
/* Lifetime: destroy with pieces in flight, the space going away        */
/* ================================================================== */

Test(dmadev, destroy_inflight)
{
	struct rte_dma_stats ds;
	struct mmrt_as *as;
	uint64_t used0;
	unsigned int k;
	uint8_t *want;

	need_skel();
	used0 = mmrt_test_used();
	as = mmrt_as_create("dinf");
	cr_assert_not_null(as);
	map_pat(as, VA, IV_SIZE, 0, 5);
	map_guard(as, VB, IV_SIZE, 0);
	dmm_up(as, "dinf", NB_DESC, NULL);
	for (k = 0; k < IV_OPS; k++)
		q_copy(VA + (uint64_t)k * IV_LEN, VB + (uint64_t)k * IV_LEN,
			IV_LEN, 0);
	cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
	drive();
	cr_assert_gt(stats().inflight, 0);
	/* stopped: pieces on the device are waited for, the rest dropped,
	 * the device behind stopped */
	cr_assert_eq(rte_dma_stop(dmm_id), 0);
	ds = dev_stats();
	cr_assert_eq(ds.completed, ds.submitted, "%" PRIu64 " pieces given, %"
		PRIu64 " copied at the stop", ds.submitted, ds.completed);
	cr_assert_eq(mmrt_dma_mmrt_stats(dmm_id, &(struct mmrt_dma_mmrt_stats){
		0 }), -ENOTCONN);
	/* a stopped device reports nothing and takes nothing */
	cr_assert_eq(rte_dma_completed(dmm_id, 0, 64, NULL, NULL), 0);
	cr_assert_eq(rte_dma_copy(dmm_id, 0, VA, VB, 8, 0), -EINVAL);
	cr_assert_eq(rte_dma_burst_capacity(dmm_id, 0), 0);

	/* the device can be started again: indexes from 0 */
	dmm_start(NB_DESC);
	q_copy(VA, VB + IV_SIZE - PG - 1, PG + 1, RTE_DMA_OP_FLAG_SUBMIT);
	cr_assert_eq(q.idx[0], 0);
	q_wait_all(false);
	cr_assert_eq(q_status(0), S_OK, "status %d", q_status(0));
	want = xmalloc(PG + 1);
	pat(want, 5, 0, PG + 1);
	check(as, VB + IV_SIZE - PG - 1, want, PG + 1, "after the restart");
	free(want);
	dmm_done(as, used0);
}

/* The bound space is destroyed under the started device (its binding
 * released): ops complete with an error, the stop works, and a start
 * binds the new space of that name. */
Test(dmadev, space_destroyed)
{
	struct mmrt_as *as;
	uint64_t used0;

	need_skel();
	used0 = mmrt_test_used();
	as = mmrt_as_create("gone");
	cr_assert_not_null(as);
	map_pat(as, VA, 4 * PG, 0, 6);
	map_guard(as, VB, 4 * PG, 0);
	dmm_up(as, "gone", NB_DESC, NULL);
	q_copy(VA, VB, 64, RTE_DMA_OP_FLAG_SUBMIT);
	q_wait_all(false);
	cr_assert_eq(q_status(0), S_OK);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	q_copy(VA, VB, 64, RTE_DMA_OP_FLAG_SUBMIT);
	q_wait_all(false);
	cr_assert_eq(q_status(1), S_BUS, "status %d", q_status(1));
	q_final_stats();
	cr_assert_eq(rte_dma_stop(dmm_id), 0);

	as = mmrt_as_create("gone");
	cr_assert_not_null(as);
	map_pat(as, VA, 4 * PG, 0, 6);
	map_guard(as, VB, 4 * PG, 0);
	dmm_start(NB_DESC);
	q_copy(VA, VB, 64, RTE_DMA_OP_FLAG_SUBMIT);
	q_wait_all(false);
	cr_assert_eq(q_status(0), S_OK, "status %d", q_status(0));
	dmm_done(as, used0);
}

/* ================================================================== */
/* The ring: full, index wrap                                          */
/* ================================================================== */

Test(dmadev, ring_full)
{
	struct mmrt_as *as;
	uint64_t used0;
	unsigned int k;
	int rc;

	need_skel();
	used0 = mmrt_test_used();
	as = mmrt_as_create("full");
	cr_assert_not_null(as);
	map_pat(as, VA, 4 * PG, 0, 7);
	map_guard(as, VB, 4 * PG, 0);
	dmm_up(as, "full", 32, NULL);
	cr_assert_eq(rte_dma_burst_capacity(dmm_id, 0), 31);
	for (k = 0; k < 31; k++) {
		q_copy(VA + k, VB + k * 64, 64, 0);
		cr_assert_eq(rte_dma_burst_capacity(dmm_id, 0), 30 - k);
	}
	rc = rte_dma_copy(dmm_id, 0, VA, VB + 3 * PG, 8, 0);
	cr_assert_eq(rc, -ENOSPC, "copy into a full ring: %d", rc);
	/* not submitted yet: nothing runs */
	for (k = 0; k < 1000; k++)
		cr_assert_eq(drive(), 0);
	cr_assert_eq(stats().pieces, 0);
	cr_assert_eq(stats().submitted, 0);
	cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
	/* still full until they are reaped */
	WAIT_STAT(completed, 31);
	cr_assert_eq(rte_dma_copy(dmm_id, 0, VA, VB + 3 * PG, 8, 0),
		-ENOSPC);
	cr_assert_eq(rte_dma_burst_capacity(dmm_id, 0), 0);
	q_wait_all(false);
	cr_assert_eq(q.nerr, 0);
	cr_assert_eq(rte_dma_burst_capacity(dmm_id, 0), 31);
	q_copy(VA, VB + 3 * PG, 8, RTE_DMA_OP_FLAG_SUBMIT);
	q_wait_all(false);
	dmm_done(as, used0);
}

/*
 * A device ring shorter than an operation's pieces: copies from 4 KiB
 * pages into a 2 MiB leaf (every piece but the last ends inside a
 * destination page) with the device ring at its smallest (dma_mmrt's
 * ring of 32 gives the device behind 32). When the device has room for
 * one piece only, the bridge gives it a piece that ends at a page
 * boundary of the destination, or none (pmd_walk.h): the data is right
 * and the pieces stay between the split at every leaf boundary and the
 * split at every 4 KiB one.
 */
Test(dmadev, device_ring_short)
{
	static const struct bcase cases[] = {
		{ R_S4, 5, R_DH, 3, 31 * PG },
		{ R_S4, 100, R_DH, HPG - 7 * PG - 1, 20 * PG },
		{ R_SH, 17, R_D4, 9, 31 * PG },
		{ R_S4, 1, R_DH, HPG + 2, 31 * PG + 7 },
	};
	static const uint64_t gmin[R_NB] = { PG, PG, PG, PG, PG, PG };
	static const uint64_t gmax[R_NB] = { PG, PG, HPG, HPG, PG, HPG };
	struct rgn r[R_NB];
	struct mmrt_as *as;
	uint64_t used0, src, dst, p0, dp, lo, hi;
	unsigned int k, pass;

	need_skel();
	used0 = mmrt_test_used();
	as = bnd_setup(r);
	dmm_up(as, "short", 32, NULL);
	for (pass = 0; pass < 4; pass++) {
		for (k = 0; k < RTE_DIM(cases); k++) {
			src = r[cases[k].sr].va + cases[k].so + pass;
			dst = r[cases[k].dr].va + cases[k].doff + 2 * pass;
			p0 = stats().pieces;
			q_copy(src, dst, cases[k].len, RTE_DMA_OP_FLAG_SUBMIT);
			q_wait_all(false);
			cr_assert_eq(q_status(q.n - 1), S_OK, "case %u: status"
				" %d", k, q_status(q.n - 1));
			mirror_copy(r, R_NB, src, dst, cases[k].len);
			rgn_check(as, &r[cases[k].dr], "after a copy");
			dp = stats().pieces - p0;
			lo = npieces(src, gmax[cases[k].sr], dst,
				gmax[cases[k].dr], cases[k].len);
			hi = npieces(src, gmin[cases[k].sr], dst,
				gmin[cases[k].dr], cases[k].len);
			cr_assert(dp >= lo && dp <= hi, "case %u: %" PRIu64
				" pieces, want %" PRIu64 "..%" PRIu64, k, dp,
				lo, hi);
			if (dp != lo)
				cr_log_info("case %u pass %u: %" PRIu64
					" pieces (%" PRIu64 " at leaf bounds)",
					k, pass, dp, lo);
		}
	}
	log_stats("short ring");
	q_final_stats();
	dmm_down();
	bnd_teardown(as, r, used0);
}

Test(dmadev, index_wrap)
{
	struct mmrt_as *as;
	uint64_t used0, k, total = 66000 + 300;
	uint8_t *want;

	need_skel();
	used0 = mmrt_test_used();
	as = mmrt_as_create("wrap");
	cr_assert_not_null(as);
	map_pat(as, VA, 2 * PG, 0, 8);
	map_guard(as, VB, 2 * PG, 0);
	dmm_up(as, "wrap", NB_DESC, NULL);
	q.bulk = true;
	for (k = 0; k < total; k++) {
		if (rte_dma_burst_capacity(dmm_id, 0) == 0)
			q_wait(q.n - 512, false);
		q_copy(VA + k % 512, VB + (k % 512) * 8, 8,
			k % 64 == 63 ? RTE_DMA_OP_FLAG_SUBMIT : 0);
		if (k % 64 == 63)
			drive();
	}
	cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
	q_wait_all(false);
	cr_assert_eq(q.nerr, 0);
	cr_assert_eq(q.idx[(total - 1) % MAXOPS], (uint16_t)(total - 1));
	want = xmalloc(512 * 8);
	for (k = 0; k < 512; k++)
		pat(want + k * 8, 8, k, 8);
	check(as, VB, want, 512 * 8, "after the wrap");
	free(want);
	dmm_done(as, used0);
}

/* ================================================================== */
/* Bad input                                                           */
/* ================================================================== */

/*
 * A device is closed once: closing it again (it is gone) and any call on
 * it say -EINVAL, as rte_dma_* documents for an invalid dev_id; stopping a
 * stopped device is fine.
 */
Test(dmadev, destroy_twice)
{
	enum rte_dma_status_code sts[4];
	struct rte_dma_info info;
	struct mmrt_as *as;
	uint64_t used0;
	uint16_t last;
	int16_t id;

	need_skel();
	used0 = mmrt_test_used();
	as = mmrt_as_create("twice");
	cr_assert_not_null(as);
	id = dmm_up(as, "twice", NB_DESC, NULL);
	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert_eq(rte_dma_close(id), 0);
	cr_assert_eq(rte_dma_close(id), -EINVAL);
	cr_assert_eq(rte_dma_start(id), -EINVAL);
	cr_assert_eq(rte_dma_info_get(id, &info), -EINVAL);
	cr_assert(!rte_dma_is_valid(id));
	cr_assert_eq(mmrt_dma_mmrt_stats(id, &(struct mmrt_dma_mmrt_stats){
		0 }), -ENODEV);
	/* the vdev is still there until it is removed */
	cr_assert_eq(rte_vdev_uninit(dmm_name), 0);
	cr_assert_neq(rte_vdev_uninit(dmm_name), 0);
	dmm_id = -1;
	cr_assert_lt(rte_dma_get_dev_id_by_name(dmm_name), 0);
	RTE_SET_USED(sts);
	RTE_SET_USED(last);
	/* the skeleton was stopped with it: free for anyone */
	cr_assert_eq(rte_dma_configure(skel,
		&(struct rte_dma_conf){ .nb_vchans = 1 }), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* A device that must not come up, for the reason in its log line. */
static void
bad_probe(const char *args)
{
	rte_errno = 0;
	cr_assert_neq(rte_vdev_init("dma_mmrt_bad", args), 0, "%s", args);
	cr_assert_lt(rte_dma_get_dev_id_by_name("dma_mmrt_bad"), 0, "%s",
		args);
}

Test(dmadev, badinput)
{
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
		.nb_desc = NB_DESC,
	};
	struct rte_dma_conf dc = { .nb_vchans = 1 };
	enum rte_dma_status_code sts[4];
	struct mmrt_dma_mmrt_stats st;
	struct rte_dma_info info;
	struct mmrt_as *as, *as2;
	unsigned int k, avail;
	int16_t id, id2;
	uint64_t used0, c0;
	uint16_t last;
	bool herr;

	need_skel();
	used0 = mmrt_test_used();
	as = mmrt_as_create("bad");
	cr_assert_not_null(as);
	as2 = mmrt_as_create("bad2");
	cr_assert_not_null(as2);
	map_guard(as, VA, 4 * PG, 0);
	avail = rte_dma_count_avail();

	/* devargs: each refused at probe, nothing left */
	bad_probe("as=bad,service=1,dev=dma_mmrt_x");
	bad_probe("as=bad,service=1,dev=" SKEL_NAME ",dev=" SKEL_NAME);
	bad_probe("as=bad,service=1,dev=");
	bad_probe("as=nosuch,service=1,dev=" SKEL_NAME);
	bad_probe("as=bad,service=1,lcore=1,dev=" SKEL_NAME);
	bad_probe("as=bad,service=1,dev=" SKEL_NAME ",ack_us=5");
	bad_probe("as=bad,service=1,dev=" SKEL_NAME ",park_us=0");
	bad_probe("as=bad,service=1,dev=" SKEL_NAME ",tlb_sets=3");
	bad_probe("as=bad,service=1,dev=0123456789012345678901234567890123"
		"4567890123456789012345678901234567890");
	cr_assert_eq(rte_dma_count_avail(), avail);

	/* dev= naming no dmadev: probed, refused at start */
	cr_assert_eq(rte_vdev_init("dma_mmrt_nodev",
		"as=bad,service=1,dev=nosuch"), 0);
	id2 = (int16_t)rte_dma_get_dev_id_by_name("dma_mmrt_nodev");
	cr_assert_geq(id2, 0);
	cr_assert_eq(rte_dma_configure(id2, &dc), 0);
	cr_assert_eq(rte_dma_vchan_setup(id2, 0, &vc), 0);
	cr_assert_eq(rte_dma_start(id2), -ENODEV);

	/* configure and vchan_setup outside the advertised ranges */
	id = dmm_probe("bad", "bad", NULL);
	cr_assert_eq(rte_dma_info_get(id, &info), 0);
	cr_assert_eq(info.max_vchans, 1);
	cr_assert_eq(info.max_sges, 0);
	cr_assert_eq(info.dev_capa & (RTE_DMA_CAPA_OPS_FILL |
		RTE_DMA_CAPA_OPS_COPY_SG | RTE_DMA_CAPA_SVA), 0);
	engine_bad_config(id, &info, &dc, &vc);

	/* stopped: the data path takes nothing */
	cr_assert_eq(rte_dma_copy(id, 0, VA, VA + PG, 8, 0), -EINVAL);
	cr_assert_eq(rte_dma_submit(id, 0), -EINVAL);
	cr_assert_eq(rte_dma_burst_capacity(id, 0), 0);
	herr = true;
	cr_assert_eq(rte_dma_completed(id, 0, 4, &last, &herr), 0);
	cr_assert_not(herr);
	cr_assert_eq(rte_dma_completed_status(id, 0, 4, &last, sts), 0);
	cr_assert_eq(mmrt_dma_mmrt_stats(id, &st), -ENOTCONN);
	cr_assert_eq(mmrt_dma_mmrt_stats(id, NULL), -EINVAL);
	cr_assert_eq(mmrt_dma_mmrt_stats(skel, &st), -ENODEV);
	cr_assert_eq(mmrt_dma_mmrt_stats(-1, &st), -ENODEV);

	dmm_start(NB_DESC);
	/* the device behind is taken: a second device on it cannot start */
	cr_assert_eq(rte_dma_close(id2), 0);
	cr_assert_eq(rte_vdev_uninit("dma_mmrt_nodev"), 0);
	cr_assert_eq(rte_vdev_init("dma_mmrt_second",
		"as=bad2,service=1,dev=" SKEL_NAME), 0);
	id2 = (int16_t)rte_dma_get_dev_id_by_name("dma_mmrt_second");
	cr_assert_geq(id2, 0);
	cr_assert_eq(rte_dma_configure(id2, &dc), 0);
	cr_assert_eq(rte_dma_vchan_setup(id2, 0, &vc), 0);
	cr_assert_lt(rte_dma_start(id2), 0, "two devices on one dmadev");
	cr_assert_eq(rte_vdev_uninit("dma_mmrt_second"), 0);
	/* started: reconfiguring and closing are refused */
	cr_assert_eq(rte_dma_configure(id, &dc), -EBUSY);
	cr_assert_eq(rte_dma_vchan_setup(id, 0, &vc), -EBUSY);
	cr_assert_eq(rte_dma_close(id), -EBUSY);
	cr_assert_eq(rte_dma_fill(id, 0, 0, VA, 8, 0), -EINVAL,
		"fill is not advertised");

	/* descriptors */
	cr_assert_eq(rte_dma_copy(id, 0, VA, VA + PG, 0, 0), -EINVAL);
	cr_assert_eq(rte_dma_copy(id, 0, MMRT_VA_LIMIT, VA, 8, 0), -EINVAL);
	cr_assert_eq(rte_dma_copy(id, 0, VA, MMRT_VA_LIMIT, 8, 0), -EINVAL);
	cr_assert_eq(rte_dma_copy(id, 0, MMRT_VA_LIMIT - 8, VA, 16, 0),
		-EINVAL);
	cr_assert_eq(rte_dma_copy(id, 0, VA, MMRT_VA_LIMIT - 8, 16, 0),
		-EINVAL);
	cr_assert_eq(rte_dma_copy(id, 0, UINT64_MAX - 3, VA, 16, 0),
		-EINVAL);
	cr_assert_eq(rte_dma_copy(id, 0, VA, UINT64_MAX - 3, 16, 0),
		-EINVAL);
	cr_assert_eq(rte_dma_copy(id, 0, VA, VA + PG, 8,
		UINT64_C(1) << 40), -EINVAL);
	cr_assert_eq(rte_dma_copy(id, 0, VA, VA + 4, 8, 0), -EINVAL,
		"overlapping ranges");
	/* nothing was enqueued by the calls above */
	cr_assert_eq(rte_dma_burst_capacity(id, 0), NB_DESC - 1);
	for (k = 0; k < 100; k++)
		step();
	cr_assert_eq(stats().submitted, 0);

	/* valid: flags FENCE and LLC, a range ending at the limit (it
	 * faults), out pointers NULL */
	q_copy(VA, VA + PG, 8, RTE_DMA_OP_FLAG_FENCE | RTE_DMA_OP_FLAG_LLC);
	q_copy(VA, VA + 2 * PG, 8, RTE_DMA_OP_FLAG_FENCE);
	q_copy(VA, MMRT_VA_LIMIT - 16, 16, 0);
	q_copy(VA, VA + 3 * PG, 8, RTE_DMA_OP_FLAG_SUBMIT);
	WAIT_STAT(completed, 4);
	cr_assert_eq(rte_dma_completed(id, 0, 64, NULL, NULL), 2);
	cr_assert_eq(rte_dma_completed_status(id, 0, 64, NULL, sts), 2);
	cr_assert_eq(sts[0], S_PF, "status %d", sts[0]);
	cr_assert_eq(sts[1], S_OK, "status %d", sts[1]);
	q.done = q.n;
	q.nerr++;
	cr_assert_eq(rte_dma_completed(id, 0, 0, &last, &herr), 0);

	/* run from a registered thread that is offline: no step */
	c0 = stats().completed;
	q_copy(VA, VA + 2 * PG, 8, RTE_DMA_OP_FLAG_SUBMIT);
	mmrt_thread_offline();
	for (k = 0; k < 1000; k++)
		cr_assert_eq(rte_service_run_iter_on_app_lcore(dmm_sid, 1), 0);
	mmrt_thread_online();
	cr_assert_eq(stats().submitted, 4, "stepped while offline");
	cr_assert_eq(stats().completed, c0);
	q_wait_all(false);
	cr_assert_eq(q_status(q.n - 1), S_OK);

	q_final_stats();
	dmm_down();
	cr_assert_eq(rte_dma_count_avail(), avail);
	cr_assert_eq(mmrt_as_destroy(as2), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}
