/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The copy engine, driven through rte_dma_* only, on dma_mmrt devices
 * (pmd/dma_mmrt/mmrt_dma_mmrt.h) in as= mode: addresses are VAs of an
 * mmrt space; the engine runs on lcore 1 (dmm_up()) or as the device's
 * rte_service stepped by the test's own thread (dmm_up_app()); the
 * driver's thread serves page requests. Tested: copies and fills across
 * 4 KiB and 2 MiB boundaries checked byte for byte (and nothing written
 * outside the target), operations parked on userfault pages and resumed
 * in order, what an operation wrote when it failed after a park (its
 * destination made read-only meanwhile), the completion status of every
 * kind of unresolvable fault (and the has_error stop of
 * rte_dma_completed()), fencing, the kernel's hmm-tests anon_teardown
 * with the engine as the device, copy-on-write with the engine writing to
 * a forked child, a downgrade to read-only during a stream of writes, the
 * idle policies, an engine stepped by the application, operations
 * outstanding at a stop (and the space going away), close and remove of a
 * started device, a closed device, the ring (full, doorbell, index wrap)
 * and bad input that reaches the engine (devargs, ring sizes,
 * descriptors). The test's main thread is the submitter. Every wait is
 * bounded (a deadline, spinning with rte_pause() and yielding); no
 * assertion is about elapsed time. Every test checks that the pool
 * balances (mmrt_test_used()).
 */

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
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_service.h>

#include <mmrt_dev.h>
#include <mmrt_dma_mmrt.h>
#include <mmrt_uffd.h>

/* 25% of the pool is huge frames: 16 of them. */
#define POOL_MB 128

#define ENGINE_LCORE 1
/* How long any wait may take before the test fails. */
#define WAIT_S 30

/* Fill pattern: every byte even and not GUARD. */
#define FILL_PAT UINT64_C(0x1032547698badcfe)

/* Descriptors of the devices (dmm_up()'s @nb_desc), and the range
 * dma_mmrt advertises. */
#define NB_DESC 1024
#define NB_DESC_MIN 32
#define NB_DESC_MAX 8192

/*
 * The device the queue drives (dmm_up()): every call goes to rte_dma_* on
 * it. The driver's page-request thread serves its page requests, so
 * serving them here is a no-op. In application-stepped mode (dmm_up_app():
 * service=1, the service run by this thread with
 * rte_service_run_iter_on_app_lcore()), each poll steps the engine once,
 * unless svc_paused.
 */
static int16_t dmm_id = -1;
static char dmm_name[RTE_DEV_NAME_MAX_LEN];
static bool svc_app;
static bool svc_paused;
static uint32_t svc_id;

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

/* the engine polls on lcore 1, on a cpu of its own (common.h) */
#define MMRT_TEST_PINNED_LCORES
#define ENG_T void
#define ENG_COMPLETED eng_completed
#define ENG_COMPLETED_STATUS eng_completed_status
#define ENG_SERVE_FAULTS eng_serve_faults
#include "engine_common.h"

MMRT_TEST_FIXTURES(POOL_MB);

TestSuite(swdma, .init = setup, .fini = teardown, .timeout = 180);

/* ---- fill patterns ---- */

/* Byte @i of a fill target gets byte (i % 8) of the pattern. */
static inline uint8_t
fbyte(uint64_t pattern, uint64_t i)
{
	return (uint8_t)(pattern >> (8 * (i % 8)));
}

static void
fillbuf(uint8_t *b, uint64_t pattern, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = fbyte(pattern, i);
}

static uint64_t
fillpat(unsigned int k)
{
	unsigned int r = 8 * (k % 8);

	return r == 0 ? FILL_PAT : (FILL_PAT << r) | (FILL_PAT >> (64 - r));
}

/* ---- the device and its submitter ---- */

/* The device's mmrt counters (it is started). */
static struct mmrt_dma_mmrt_stats
stats(void)
{
	struct mmrt_dma_mmrt_stats st;
	int rc = mmrt_dma_mmrt_stats(dmm_id, &st);

	cr_assert_eq(rc, 0, "mmrt_dma_mmrt_stats(%d): %d", dmm_id, rc);
	return st;
}

static void
log_stats(const char *what)
{
	struct mmrt_dma_mmrt_stats st;

	if (mmrt_dma_mmrt_stats(dmm_id, &st) != 0)
		return;
	cr_log_info("%s: submitted %" PRIu64 " completed %" PRIu64
		" errors %" PRIu64 " page_faults %" PRIu64 " bytes %" PRIu64
		" parks %" PRIu64 " resumes %" PRIu64 " steps %" PRIu64
		" idle %" PRIu64 " | inval %" PRIu64 " acks %" PRIu64
		" fences %" PRIu64 " preq %" PRIu64 " ufaults %" PRIu64,
		what, st.submitted, st.completed, st.errors, st.page_faults,
		st.bytes, st.parks, st.resumes, st.steps, st.idle_polls,
		st.consumer.inval_descs, st.consumer.acks, st.consumer.fences,
		st.consumer.page_requests, st.consumer.userfaults);
}

/* Application-stepped mode: one engine step on this thread. */
static void
svc_step(void)
{
	int rc;

	if (!svc_app || svc_paused)
		return;
	rc = rte_service_run_iter_on_app_lcore(svc_id, 1);
	cr_assert_eq(rc, 0, "service run: %d", rc);
}

/* The hooks of engine_common.h: waiting is stepping (when this thread
 * steps the engine) and reaping. */
static unsigned int
q_poll(void)
{
	svc_step();
	return q_reap();
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

/*
 * Create a dma_mmrt device named after @name on @as (its VAs), with
 * devargs @engine (lcore=N or service=1) and more @extra (or NULL; a
 * generous ack_us unless @extra gives one), and configure its vchan with
 * @nb_desc descriptors; not started.
 */
static int16_t
dmm_probe(struct mmrt_as *as, const char *name, uint16_t nb_desc,
	const char *engine, const char *extra)
{
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
		.nb_desc = nb_desc,
	};
	struct rte_dma_conf dc = { .nb_vchans = 1 };
	/* more devargs for every device (tests/meson.build: the suite again
	 * without the engine's look-ahead) */
	const char *more = getenv("MMRT_TEST_DMM_EXTRA");
	char args[192], ack[32] = "";
	int rc;

	cr_assert(mmrt_dma_mmrt_registered());
	if (extra == NULL || strstr(extra, "ack_us=") == NULL)
		snprintf(ack, sizeof(ack), ",ack_us=%" PRIu64,
			ACK_DEADLINE_US);
	snprintf(dmm_name, sizeof(dmm_name), "dma_mmrt_%s", name);
	snprintf(args, sizeof(args), "as=%s,%s%s%s%s%s%s", mmrt_as_name(as),
		engine, ack, extra != NULL ? "," : "",
		extra != NULL ? extra : "", more != NULL ? "," : "",
		more != NULL ? more : "");
	rc = rte_eal_hotplug_add("vdev", dmm_name, args);
	cr_assert_eq(rc, 0, "probe %s,%s: %d", dmm_name, args, rc);
	rc = rte_dma_get_dev_id_by_name(dmm_name);
	cr_assert_geq(rc, 0);
	cr_assert_eq(rte_dma_configure((int16_t)rc, &dc), 0);
	cr_assert_eq(rte_dma_vchan_setup((int16_t)rc, 0, &vc), 0);
	dmm_id = (int16_t)rc;
	return dmm_id;
}

/* Start the device; a new queue (ring indexes start at 0 again). In
 * application-stepped mode, find the service (a new one each start) and
 * let it run. */
static void
dmm_start(void)
{
	int rc = rte_dma_start(dmm_id);

	cr_assert_eq(rc, 0, "start %s: %d", dmm_name, rc);
	q_init(NULL);
	if (!svc_app)
		return;
	cr_assert_eq(rte_service_get_by_name(dmm_name, &svc_id), 0);
	cr_assert_eq(rte_service_runstate_set(svc_id, 1), 0);
}

/*
 * A dma_mmrt device named after @name on @as (its VAs), the engine on
 * ENGINE_LCORE, @nb_desc descriptors, more devargs @extra (or NULL),
 * configured and started; the queue goes to it.
 */
static int16_t
dmm_up(struct mmrt_as *as, const char *name, uint16_t nb_desc,
	const char *extra)
{
	svc_app = false;
	dmm_probe(as, name, nb_desc, "lcore=" RTE_STR(ENGINE_LCORE), extra);
	dmm_start();
	return dmm_id;
}

/* As dmm_up(), the engine stepped by this thread (service=1, see
 * svc_step()). */
static int16_t
dmm_up_app(struct mmrt_as *as, const char *name, uint16_t nb_desc,
	const char *extra)
{
	svc_app = true;
	svc_paused = false;
	dmm_probe(as, name, nb_desc, "service=1", extra);
	dmm_start();
	return dmm_id;
}

/* Stop (the engine goes), close and remove the device. */
static void
dmm_down(void)
{
	cr_assert_eq(rte_dma_stop(dmm_id), 0);
	cr_assert_eq(rte_dma_close(dmm_id), 0);
	cr_assert_eq(rte_eal_hotplug_remove("vdev", dmm_name), 0);
	dmm_id = -1;
	svc_app = false;
}

/* Enqueue; returns the operation's number (its order of enqueue). */
static uint64_t
q_copy(uint64_t src, uint64_t dst, uint32_t len, uint64_t flags)
{
	q_enqueued(rte_dma_copy(dmm_id, 0, src, dst, len, flags), "copy");
	return q.n - 1;
}

static uint64_t
q_fill(uint64_t pattern, uint64_t dst, uint32_t len, uint64_t flags)
{
	q_enqueued(rte_dma_fill(dmm_id, 0, pattern, dst, len, flags), "fill");
	return q.n - 1;
}

/* An 8-byte fill at VA, submitted and waited for: its status. */
static enum rte_dma_status_code
fill8_status(void)
{
	uint64_t op = q_fill(FILL_PAT, VA, 8, RTE_DMA_OP_FLAG_SUBMIT);

	q_wait_all(false);
	return q_status(op);
}

/* Wait (bounded) until the stats say @field reached @want (stepping the
 * engine in application-stepped mode). */
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
		svc_step(); \
		relax(i_++); \
	} \
} while (0)

/* ---- mirrors: what a region must contain ---- */

/* Apply a copy (@fill false) or fill to the mirrors. */
static void
mirror_op(struct rgn *r, unsigned int nr, bool fill, uint64_t src_or_pat,
	uint64_t dst, uint32_t len)
{
	struct rgn *d;

	if (!fill) {
		mirror_copy(r, nr, src_or_pat, dst, len);
		return;
	}
	d = rgn_of(r, nr, dst, len);
	fillbuf(d->m + (dst - d->va), src_or_pat, len);
}

/* ================================================================== */
/* Copies and fills across 4 KiB and 2 MiB boundaries                  */
/* ================================================================== */

Test(swdma, copy_fill_boundaries)
{
	static const struct bcase {
		bool fill;
		int sr;
		uint64_t so;
		int dr;
		uint64_t doff;
		uint32_t len;
	} cases[] = {
		/* 4 KiB pages */
		{ false, R_S4, 0, R_D4, 0, 1 },
		{ false, R_S4, 4095, R_D4, 4095, 2 },
		{ false, R_S4, 4093, R_D4, 1, 9 },
		{ false, R_S4, 1, R_D4, 4090, 4096 },
		{ false, R_S4, 100, R_D4, 8191, 8193 },
		{ false, R_S4, 4096, R_D4, 4096, 4096 },
		{ false, R_S4, 7, R_D4, 3 * PG - 3, 3 * PG + 17 },
		{ false, R_S4, 3, R_D4, 5, 31 * PG - 1 },
		{ false, R_S4, 0, R_D4, 0, 32 * PG },
		/* 2 MiB leaves */
		{ false, R_SH, HPG - 1, R_DH, HPG - 1, 2 },
		{ false, R_SH, HPG - PG - 3, R_DH, HPG - 5, 3 * PG },
		{ false, R_SH, 17, R_DH, HPG - 100000, 200000 },
		{ false, R_SH, HPG / 2, R_DH, HPG - 1, HPG + 1 },
		{ false, R_SH, 0, R_DH, 0, 2 * HPG },
		/* between the two */
		{ false, R_S4, 4000, R_DH, HPG - 50, 9000 },
		{ false, R_SH, HPG - 3000, R_D4, 2000, 8000 },
		{ false, R_DH, HPG + 5, R_D4, 10 * PG + 3, 5000 },
		/* into pages never touched: demand-zero in place */
		{ false, R_SH, HPG - 10, R_Z4, PG - 7, 2 * PG + 20 },
		{ false, R_S4, 5, R_ZH, HPG - 3 * PG - 1, 2 * PG + 2 },
		/* fills */
		{ true, 0, 0, R_D4, 0, 1 },
		{ true, 0, 0, R_D4, 4095, 2 },
		{ true, 0, 0, R_D4, 4093, 13 },
		{ true, 0, 0, R_D4, 8191, 8193 },
		{ true, 0, 0, R_D4, 3, 32 * PG - 6 },
		{ true, 0, 0, R_DH, HPG - 1, 2 },
		{ true, 0, 0, R_DH, HPG - 4097, 8194 },
		{ true, 0, 0, R_DH, 1, 2 * HPG - 2 },
		{ true, 0, 0, R_Z4, 3 * PG - 1, 3 },
		{ true, 0, 0, R_ZH, HPG - PG - 1, PG + 1 },
	};
	struct rgn r[R_NB];
	struct mmrt_dma_mmrt_stats st;
	uint64_t used0 = mmrt_test_used(), bytes = 0, dst, p;
	struct mmrt_as *as = bnd_setup(r);
	const struct bcase *c;
	char when[64];
	unsigned int k;
	uint32_t len;

	dmm_up(as, "bnd", NB_DESC, NULL);

	/* one at a time: the whole destination region checked after each */
	for (k = 0; k < RTE_DIM(cases); k++) {
		c = &cases[k];
		dst = r[c->dr].va + c->doff;
		if (c->fill) {
			p = fillpat(k);
			q_fill(p, dst, c->len, RTE_DMA_OP_FLAG_SUBMIT);
		} else {
			p = r[c->sr].va + c->so;
			q_copy(p, dst, c->len, RTE_DMA_OP_FLAG_SUBMIT);
		}
		q_wait_all(false);
		cr_assert_eq(q_status(q.n - 1), S_OK, "case %u: status %d", k,
			q_status(q.n - 1));
		mirror_op(r, R_NB, c->fill, p, dst, c->len);
		bytes += c->len;
		snprintf(when, sizeof(when), "after case %u", k);
		rgn_check(as, &r[c->dr], when);
	}

	/* 300 disjoint targets behind one doorbell */
	for (k = 0; k < 300; k++) {
		dst = VD + k * UINT64_C(13900) + k % 7;
		len = 1 + (k * 997) % 13000;
		if (k % 3 == 0) {
			p = fillpat(k);
			q_fill(p, dst, len, 0);
		} else {
			p = VC + (k * UINT64_C(104729)) % (2 * HPG - 13001);
			q_copy(p, dst, len, RTE_DMA_OP_FLAG_FENCE);
		}
		mirror_op(r, R_NB, k % 3 == 0, p, dst, len);
		bytes += len;
	}
	cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
	q_wait_all(false);
	cr_assert_eq(q.nerr, 0);
	for (k = 0; k < R_NB; k++)
		rgn_check(as, &r[k], "at the end");

	st = stats();
	log_stats("boundaries");
	cr_assert_eq(st.submitted, q.n);
	cr_assert_eq(st.completed, q.n);
	cr_assert_eq(st.errors, 0);
	cr_assert_eq(st.bytes, bytes, "bytes %" PRIu64 ", want %" PRIu64,
		st.bytes, bytes);
	cr_assert_eq(st.consumer.fences, 0);
	dmm_down();
	bnd_teardown(as, r, used0);
}

/* ================================================================== */
/* Parking on userfault pages                                          */
/* ================================================================== */

Test(swdma, park_resume_in_order)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("park");
	struct rgn r[2] = {
		{ VA, 4 * PG, NULL, "src" },
		{ VB, 8 * PG, NULL, "dst" },
	};
	uint8_t *fill0 = xmalloc(PG), *fill2 = xmalloc(PG);
	uint8_t *fill3 = xmalloc(PG), *want = xmalloc(PG);
	struct mmrt_dma_mmrt_stats st;
	struct mmrt_uffd_msg m;
	struct mmrt_uffd *u;
	unsigned int k;
	uint64_t acks;

	cr_assert_not_null(as);
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
	pat(fill3, 23, 0, PG);

	dmm_up(as, "park", NB_DESC, NULL);

	/* op 0 writes a missing page; ops 1-3 are ordinary; op 4 reads a
	 * missing page; op 5 is ordinary */
	q_copy(VA + 50, VC + 50, PG - 100, 0);
	q_copy(VA, VB, 1000, 0);
	mirror_op(r, 2, false, VA, VB, 1000);
	q_fill(FILL_PAT, VB + 2000, 5000, 0);
	mirror_op(r, 2, true, FILL_PAT, VB + 2000, 5000);
	q_copy(VA + PG, VB + 3 * PG - 7, 20, 0);
	mirror_op(r, 2, false, VA + PG, VB + 3 * PG - 7, 20);
	q_copy(VC + 2 * PG + 8, VB + 5 * PG, 200, 0);
	q_fill(fillpat(3), VB + 6 * PG, PG, RTE_DMA_OP_FLAG_SUBMIT);

	/* op 0 parks; nothing behind it runs */
	WAIT_STAT(parks, 1);
	q_none_more(0, 20000);
	check_byte(as, VB, GUARD, 8 * PG, "dst while op 0 is parked");
	/* parked, it still acks invalidations */
	acks = stats().consumer.acks;
	cr_assert_eq(mmrt_advise(as, VD, PG, MMRT_ADV_DONTNEED), 0);
	cr_assert_eq(mmrt_protect(as, VD, 2 * PG, RO), 0);
	st = stats();
	cr_assert_eq(st.consumer.fences, 0, "fenced while parked");
	cr_assert_geq(st.consumer.acks, acks + 2);
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
	fillbuf(r[1].m + 6 * PG, fillpat(3), PG);
	rgn_check(as, &r[1], "after the fills");
	memcpy(want, fill0, PG);
	memcpy(want + 50, r[0].m + 50, PG - 100);
	check(as, VC, want, PG, "the page op 0 parked on");
	check(as, VC + 2 * PG, fill2, PG, "the page op 4 parked on");
	st = stats();
	log_stats("park");
	cr_assert_eq(st.parks, 2, "parks %" PRIu64, st.parks);
	cr_assert_eq(st.resumes, 2, "resumes %" PRIu64, st.resumes);
	cr_assert_eq(st.errors, 0);
	cr_assert_geq(st.consumer.userfaults, 2);

	/*
	 * Parked, then stopped: a dmadev's stop drops what it holds (the
	 * engine goes, indexes restart), so the op is gone and nothing
	 * leaks; the fault it posted is still there to serve.
	 */
	q_copy(VA, VC + 3 * PG + 1, 100, RTE_DMA_OP_FLAG_SUBMIT);
	WAIT_STAT(parks, 3);
	dmm_down();
	m = next_fault(u);
	cr_assert_eq(m.arg.pagefault.address, VC + 3 * PG);
	ufill(u, VC + 3 * PG, fill3, PG);
	check(as, VC + 3 * PG, fill3, PG, "the page the dropped op parked on");
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(r[0].m);
	free(r[1].m);
	free(fill0);
	free(fill2);
	free(fill3);
	free(want);
	cr_assert_eq(mmrt_test_used(), used0, "used %" PRIu64 ", at start %"
		PRIu64, mmrt_test_used(), used0);
}

Test(swdma, park_stream_resolver)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("pstream");
	struct rgn r[3] = {
		{ VA, 16 * PG, NULL, "src" },
		{ VB, 64 * PG, NULL, "dst" },
		{ VC, 64 * PG, NULL, "uffd range" },
	};
	struct mmrt_dma_mmrt_stats st;
	uint64_t s, d;
	unsigned int k;
	pthread_t th;
	uint32_t len;

	rng_seed("park_stream_resolver");
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
	cr_assert_eq(pthread_create(&th, NULL, resolver_main, NULL), 0);

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
		mirror_op(r, 3, false, s, d, len);
	}
	q_wait_all(false);
	st = stats();
	log_stats("park stream");
	cr_assert_eq(q.nerr, 0, "%" PRIu64 " ops failed", q.nerr);
	cr_assert_geq(st.parks, 1);
	cr_assert_geq(st.resumes, 1);
	cr_assert_leq(st.resumes, st.parks);
	cr_assert_eq(st.errors, 0);
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
 * The headers: a failed operation wrote a prefix of its destination that
 * ends at a 4 KiB page boundary, and nothing of the page it failed on,
 * also when it parked on a missing source page and its destination page
 * was made read-only meanwhile (engine_common.h, pprot_ops).
 */
Test(swdma, park_then_protect_dst)
{
	uint64_t used0 = mmrt_test_used();
	struct pprot_fix f;
	unsigned int k;

	pprot_setup(&f);
	dmm_up(f.as, "pprot", NB_DESC, NULL);
	for (k = 0; k < PPROT_NOPS; k++) {
		q_copy(pprot_ops[k].src, pprot_ops[k].dst, pprot_ops[k].len,
			RTE_DMA_OP_FLAG_SUBMIT);
		pprot_wait_park(&f, k);
		pprot_check_parked(&f, k);
		pprot_resume(&f, k);
		q_wait_all(false);
		pprot_check_done(&f, k);
	}
	log_stats("park then protect");
	dmm_down();
	pprot_teardown(&f, used0);
}

/* ================================================================== */
/* Unresolvable faults: the status of each                             */
/* ================================================================== */

Test(swdma, fault_status)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("fst");
	enum rte_dma_status_code exp[32];
	struct mmrt_uffd *u, *usb;
	struct mmrt_dma_mmrt_stats st;
	uint8_t *g, *want;
	uint64_t npf, nerr, n, k, base;
	unsigned int round, i;

	/*
	 * G: 16 pages, a hole, G2: 4 pages. RO, NONE. P: page 0 poisoned.
	 * M: missing, nobody serves it. SB: a SIGBUS uffd. S: the source.
	 */
	cr_assert_not_null(as);
	g = xmalloc(16 * PG);
	want = xmalloc(16 * PG);
	fst_layout(as, &u, &usb);

	dmm_up(as, "fst", NB_DESC, "park_us=20000");

	for (round = 0; round < 2; round++) {
		xset(as, VA, GUARD, 16 * PG);
		memset(want, GUARD, 16 * PG);
		base = q.n;
		i = 0;
#define OPF(p, d, l, e) do { \
		q_fill((p), (d), (l), 0); \
		exp[i++] = (e); \
	} while (0)
#define OPC(s, d, l, e) do { \
		q_copy((s), (d), (l), 0); \
		exp[i++] = (e); \
	} while (0)
		OPF(FILL_PAT, VA + 10, 100, S_OK);
		fillbuf(want + 10, FILL_PAT, 100);
		OPC(VG, VA + PG - 3, 10, S_OK);
		pat(want + PG - 3, 41, 0, 10);
		OPC(VG, VH, 64, S_PF);                 /* dst: no region */
		OPF(FILL_PAT, VA + 2 * PG, PG, S_OK);
		fillbuf(want + 2 * PG, FILL_PAT, PG);
		OPC(VH + 5, VA + 5 * PG, 64, S_PF);    /* src: no region */
		OPF(FILL_PAT, VB + 1, 10, S_DST);      /* read-only */
		OPC(VB + 7, VA + 6 * PG, PG, S_OK);    /* reading it is fine */
		memset(want + 6 * PG, 0, PG);
		OPC(VC + 3, VA + 7 * PG, 10, S_SRC);   /* PROT_NONE */
		OPF(FILL_PAT, VC, 8, S_DST);
		OPC(VD + 8, VA + 8 * PG, 16, S_POISON);
		OPF(FILL_PAT, VD, PG, S_POISON);
		OPC(VE + PG, VA + 9 * PG, 32, S_PF);   /* park timeout */
		OPF(FILL_PAT, VE + 2 * PG + 5, 3, S_PF);
		/* runs into the hole: nothing past the faulting page */
		OPF(fillpat(1), VA + 15 * PG + 100, 2 * PG, S_PF);
		OPC(VF, VA + 10 * PG, 8, S_PF);        /* SIGBUS uffd */
		OPF(FILL_PAT, VA + 11 * PG, 8, S_OK);
		fillbuf(want + 11 * PG, FILL_PAT, 8);
		OPC(VG, VA + 12 * PG + 1, PG, S_OK);
		pat(want + 12 * PG + 1, 41, 0, PG);
#undef OPF
#undef OPC
		n = i;
		cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
		WAIT_STAT(completed, q.n);

		q_reap_expect(base, n, exp, round != 0);

		/* the op that ran into the hole wrote exactly its bytes
		 * before the page holding the byte it failed on */
		xread(as, VA, g, 16 * PG);
		fillbuf(want + 15 * PG + 100, fillpat(1), PG - 100);
		cmp_buf(g, want, 16 * PG, VA, "G");
		check_byte(as, VA + 17 * PG, GUARD, 4 * PG,
			"G2, past the faulting page");
		check_byte(as, VB, 0, 4 * PG, "the read-only region");
	}
	cr_assert_eq(mmrt_read(as, VD, g, 8), -EHWPOISON);

	st = stats();
	log_stats("fault status");
	for (nerr = npf = k = 0; k < n; k++) {
		nerr += exp[k] != S_OK;
		npf += exp[k] == S_PF;
	}
	cr_assert_eq(st.completed, q.n);
	cr_assert_eq(st.submitted, q.n);
	cr_assert_eq(st.errors, 2 * nerr, "errors %" PRIu64 ", want %" PRIu64,
		st.errors, 2 * nerr);
	cr_assert_eq(st.page_faults, 2 * npf, "page_faults %" PRIu64
		", want %" PRIu64, st.page_faults, 2 * npf);
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
/* An engine stepped by the application; fencing                       */
/* ================================================================== */

/*
 * service=1, the service stepped by this thread (svc_step()): nothing
 * runs while it does not step, every operation completes once it does, at
 * most burst=4 operations per step; lcore= and service=1 exclude each
 * other. (The raw engine's -EPERM for an unregistered stepper and -EBUSY
 * for a step of an engine started on an lcore have no rte_dma_* form:
 * the service callback registers its thread for the step itself, and a
 * device's engine runs either on its lcore or as its service.)
 */
Test(swdma, run_driven)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("run");
	struct rgn r[2] = {
		{ VA, 8 * PG, NULL, "src" },
		{ VB, 16 * PG, NULL, "dst" },
	};
	uint64_t s, d, p;
	unsigned int k;
	uint32_t len;

	rng_seed("run_driven");
	cr_assert_not_null(as);
	r[0].m = xmalloc(r[0].len);
	r[1].m = xmalloc(r[1].len);
	map_pat(as, VA, 8 * PG, 0, 51);
	pat(r[0].m, 51, 0, 8 * PG);
	map_guard(as, VB, 16 * PG, 0);
	memset(r[1].m, GUARD, 16 * PG);
	cr_assert_lt(rte_eal_hotplug_add("vdev", "dma_mmrt_run2",
		"as=run,lcore=" RTE_STR(ENGINE_LCORE) ",service=1"), 0);
	cr_assert_lt(rte_dma_get_dev_id_by_name("dma_mmrt_run2"), 0);
	dmm_up_app(as, "run", NB_DESC, "burst=4");
	/* not stepped: nothing runs */
	svc_paused = true;
	q_fill(fillpat(0), VB, 100, RTE_DMA_OP_FLAG_SUBMIT);
	mirror_op(r, 2, true, fillpat(0), VB, 100);
	q_none_more(0, 2000);
	cr_assert_eq(stats().steps, 0);
	check_byte(as, VB, GUARD, 16 * PG, "not stepped");
	svc_paused = false;
	for (k = 1; k < 300; k++) {
		len = 1 + rnd() % (2 * PG);
		d = VB + rnd() % (16 * PG - len + 1);
		if (k & 1) {
			p = fillpat(k);
			q_fill(p, d, len, 0);
		} else {
			s = VA + rnd() % (8 * PG - len + 1);
			p = s;
			q_copy(s, d, len, 0);
		}
		mirror_op(r, 2, k & 1, p, d, len);
		if (k % 20 == 19) {
			cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
			if (k % 60 == 59)
				q_wait_all(false);
		}
	}
	cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
	q_wait_all(false);
	cr_assert_eq(q.nerr, 0);
	rgn_check(as, &r[1], "at the end");
	/* every operation ran in a step of this thread */
	cr_assert_eq(stats().completed, q.n);
	/* at most burst operations per step */
	cr_assert_geq(stats().steps, q.n / 4, "steps %" PRIu64,
		stats().steps);
	log_stats("run");
	dmm_down();
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(r[0].m);
	free(r[1].m);
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * An engine that stops stepping (application-stepped, paused) misses the
 * ack deadline of an unmap and is fenced: the parked operation and the
 * ones behind it complete with a bus error, nothing is written. A stop
 * and a start (a new engine, bound again) unfence it.
 */
Test(swdma, fence_bus_error)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("fence");
	struct mmrt_uffd_msg m;
	struct mmrt_uffd *u;
	uint8_t *xfill;
	unsigned int k;

	cr_assert_not_null(as);
	map_guard(as, VA, 4 * PG, 0);
	map_guard(as, VB, 4 * PG, 0);
	cr_assert_eq(mmrt_map(as, VC, PG, RW, 0), 0);
	u = mkuffd(as, 0);
	ureg(u, VC, PG);
	dmm_up_app(as, "fence", NB_DESC, "ack_us=2000");

	q_fill(FILL_PAT, VA, 100, RTE_DMA_OP_FLAG_SUBMIT);
	q_wait_all(false);
	cr_assert_eq(q_status(0), S_OK);
	/* op 1 parks on a missing page */
	q_fill(FILL_PAT, VC + 8, 8, RTE_DMA_OP_FLAG_SUBMIT);
	WAIT_STAT(parks, 1);
	/* the engine stops stepping: the unmap fences it */
	svc_paused = true;
	cr_assert_eq(mmrt_unmap(as, VA, PG), 0);
	cr_assert_eq(stats().consumer.fences, 1, "not fenced");
	q_fill(FILL_PAT, VB, 8, 0);
	q_copy(VB + PG, VB + 2 * PG, 16, RTE_DMA_OP_FLAG_SUBMIT);
	/* the page comes: too late, the engine is fenced */
	m = next_fault(u);
	cr_assert_eq(m.arg.pagefault.address, VC);
	xfill = xmalloc(PG);
	memset(xfill, GUARD, PG);
	ufill(u, VC, xfill, PG);
	svc_paused = false;
	q_wait_all(false);
	for (k = 1; k < 4; k++)
		cr_assert_eq(q_status(k), S_BUS, "op %u: status %d", k,
			q_status(k));
	check_byte(as, VB, GUARD, 4 * PG, "target of fenced ops");
	check_byte(as, VC, GUARD, PG, "target of the parked op");
	cr_assert_eq(stats().consumer.fences, 1);
	log_stats("fenced");

	/* stop and start (unbind, bind again): it works again */
	cr_assert_eq(rte_dma_stop(dmm_id), 0);
	cr_assert_eq(rte_dma_stop(dmm_id), 0);
	dmm_start();
	cr_assert_eq(stats().consumer.fences, 0);
	q_fill(FILL_PAT, VB, 8, RTE_DMA_OP_FLAG_SUBMIT);
	q_wait_all(false);
	cr_assert_eq(q_status(0), S_OK, "status %d", q_status(0));
	cr_assert_eq(q.idx[0], 0, "ring index %u after the restart",
		q.idx[0]);
	check_byte(as, VB + 8, GUARD, 4 * PG - 8, "after the restart");
	log_stats("fence");
	dmm_down();
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	free(xfill);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* hmm-tests anon_teardown: unmap half a buffer during a long copy     */
/* ================================================================== */

#define TD_LEN (2 * HPG)
#define TD_HALF (TD_LEN / 2)
#define TD_PAGES (TD_HALF / PG)

static struct teardown_ctl {
	struct mmrt_as *as;
	uint64_t va;         /* half to unmap */
	uint64_t trigger;    /* once stats.completed reaches it */
	uint64_t at, after;  /* stats.completed at the unmap, after it */
	bool huge;
	uint32_t go;         /* round to run */
	uint32_t done;       /* round done */
	int rc;
	int stop;
	/* frames of the half, and the generation each had */
	uint32_t pfn[TD_PAGES];
	uint32_t gen[TD_PAGES];
	uint32_t nfr;
	uint64_t fsize;
	/* frames found free after the unmap and filled with CANARY */
	uint32_t cpfn[TD_PAGES];
	uint32_t cgen[TD_PAGES];
	uint32_t ncan;
} td;

static void
td_record(void)
{
	struct mmrt_xlate x;
	uint64_t off;

	td.nfr = 0;
	td.fsize = td.huge ? HPG : PG;
	for (off = 0; off < TD_HALF; off += td.fsize) {
		if (mmrt_translate(td.as, td.va + off, 0, &x) != 0)
			continue;
		td.pfn[td.nfr] = x.pfn;
		td.gen[td.nfr] = __atomic_load_n(&mmrt_frame_meta(x.pfn)->gen,
			__ATOMIC_ACQUIRE);
		td.nfr++;
	}
}

/*
 * Plain build: fill the frames the unmap freed with CANARY; a late write
 * of the engine would change them (the ASan build poisons free frames
 * instead, and such a write aborts).
 */
static void
td_canary(void)
{
#if !defined(__SANITIZE_ADDRESS__)
	struct mmrt_frame *f;
	uint32_t i;

	td.ncan = 0;
	for (i = 0; i < td.nfr; i++) {
		f = mmrt_frame_meta(td.pfn[i]);
		if (!(__atomic_load_n(&f->flags, __ATOMIC_ACQUIRE) &
				MMRT_FRAME_FREE) ||
				__atomic_load_n(&f->gen, __ATOMIC_ACQUIRE) ==
				td.gen[i])
			continue;
		td.cpfn[td.ncan] = td.pfn[i];
		td.cgen[td.ncan] = f->gen;
		memset(mmrt_frame_addr_unchecked(td.pfn[i]), CANARY, td.fsize);
		td.ncan++;
	}
#endif
}

/* The canaried frames that are still free are intact; then zero them
 * (as a free frame may be on the known-zero list). */
static void
td_canary_check(void)
{
#if !defined(__SANITIZE_ADDRESS__)
	struct mmrt_frame *f;
	uint8_t *a;
	uint64_t k;
	uint32_t i;

	for (i = 0; i < td.ncan; i++) {
		f = mmrt_frame_meta(td.cpfn[i]);
		if (!(f->flags & MMRT_FRAME_FREE) || f->gen != td.cgen[i])
			continue;
		a = mmrt_frame_addr_unchecked(td.cpfn[i]);
		for (k = 0; k < td.fsize; k++)
			cr_assert(a[k] == CANARY || a[k] == 0, "freed frame "
				"%u written at +%#" PRIx64 " (%#x) after unmap",
				td.cpfn[i], k, a[k]);
		memset(a, 0, td.fsize);
	}
#endif
}

static void *
unmapper_main(void *arg)
{
	uint32_t done = 0, rd;
	unsigned long it = 0;
	uint64_t d = 0;
	int rc;

	RTE_SET_USED(arg);
	while (!__atomic_load_n(&td.stop, __ATOMIC_ACQUIRE)) {
		rd = __atomic_load_n(&td.go, __ATOMIC_ACQUIRE);
		if (rd == done) {
			relax(it++);
			continue;
		}
		if (d == 0) {
			d = deadline(WAIT_S);
			td_record();
		}
		if (stats().completed < td.trigger && !expired(d)) {
			relax(it++);
			continue;
		}
		td.at = stats().completed;
		rc = mmrt_unmap(td.as, td.va, TD_HALF);
		td.after = stats().completed;
		td_canary();
		td.rc = rc;
		d = 0;
		done = rd;
		__atomic_store_n(&td.done, rd, __ATOMIC_RELEASE);
	}
	return NULL;
}

Test(swdma, anon_teardown)
{
	static const uint32_t lens[] = {
		4096, 5000, 8192, 3000, 12288, 777, 16384, 4100,
	};
	uint64_t used0 = mmrt_test_used(), src = VA, dst = VB;
	struct mmrt_as *as = mmrt_as_create("tear");
	uint8_t *exp = xmalloc(TD_LEN), *got = xmalloc(TD_LEN);
	struct mmrt_dma_mmrt_stats st;
	uint64_t off[1024], first, o, lo, hi, b, j, nfail = 0, rfail, base;
	uint32_t len[1024], flags;
	unsigned int round, nops, k, rounds, mid;
	bool side_dst, second, huge, touch;
	uint64_t cut;   /* offset of the unmapped half */
	pthread_t th;

	rng_seed("anon_teardown");
	cr_assert_not_null(as);
	pat(exp, 61, 0, TD_LEN);
	dmm_up(as, "tear", NB_DESC, NULL);
	q.bulk = true;
	memset(&td, 0, sizeof(td));
	td.as = as;
	/* stats() (mmrt_dma_mmrt_stats()) from the unmapper's thread too */
	cr_assert_eq(pthread_create(&th, NULL, unmapper_main, NULL), 0);

	/* the ops: consecutive pieces of the buffer, src offset = dst
	 * offset */
	for (nops = 0, o = 0; o < TD_LEN; nops++) {
		cr_assert_lt(nops, RTE_DIM(off));
		off[nops] = o;
		len[nops] = RTE_MIN(lens[nops % RTE_DIM(lens)], TD_LEN - o);
		o += len[nops];
	}
	cr_assert_lt(nops, NB_DESC);
	for (mid = 0; off[mid] < TD_HALF; mid++)
		;

	rounds = 16;
	for (round = 1; round <= rounds; round++) {
		side_dst = round & 1;
		second = (round >> 1) & 1;
		huge = ((round - 1) >> 2) & 1;
		flags = MMRT_MAP_POPULATE | (huge ? MMRT_MAP_HUGE : 0);
		cut = second ? TD_HALF : 0;
		cr_assert_eq(mmrt_map(as, src, TD_LEN, RW, flags), 0);
		xwrite(as, src, exp, TD_LEN);
		cr_assert_eq(mmrt_map(as, dst, TD_LEN, RW, flags), 0);
		if (huge)
			cr_assert(is_huge(as, src) && is_huge(as, dst + HPG));

		first = q.n;
		for (k = 0; k < nops; k++)
			q_copy(src + off[k], dst + off[k], len[k], 0);
		td.va = (side_dst ? dst : src) + cut;
		td.huge = huge;
		/* unmap while the ops on that half run, more or less */
		base = stats().completed;
		td.trigger = base + (second ? mid : 0) +
			rnd() % (second ? nops - mid : mid);
		__atomic_store_n(&td.go, round, __ATOMIC_RELEASE);
		cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
		q_wait_all(true);
		{
			uint64_t d = deadline(WAIT_S);
			unsigned long i = 0;

			while (__atomic_load_n(&td.done, __ATOMIC_ACQUIRE) !=
					round) {
				cr_assert(!expired(d), "unmapper stuck");
				relax(i++);
			}
		}
		cr_assert_eq(td.rc, 0, "unmap: %d", td.rc);

		/* statuses: only ops touching the unmapped half may fail,
		 * and only with a page fault */
		rfail = 0;
		for (k = 0; k < nops; k++) {
			enum rte_dma_status_code s = q_status(first + k);

			touch = off[k] < cut + TD_HALF &&
				off[k] + len[k] > cut;
			if (s == S_OK)
				continue;
			nfail++;
			rfail++;
			cr_assert(touch, "round %u op %u [%#" PRIx64 ", +%u) "
				"failed (%d) away from the unmapped half",
				round, k, off[k], len[k], s);
			cr_assert_eq(s, S_PF, "round %u op %u: status %d",
				round, k, s);
		}

		/* what is left of the destination: the copy where the op
		 * succeeded, else the copy or zero byte by byte */
		lo = side_dst && !second ? TD_HALF : 0;
		hi = side_dst && second ? TD_HALF : TD_LEN;
		xread(as, dst + lo, got + lo, hi - lo);
		for (k = 0; k < nops; k++) {
			b = RTE_MAX(off[k], lo);
			for (j = b; j < RTE_MIN(off[k] + len[k], hi); j++) {
				if (got[j] == exp[j])
					continue;
				cr_assert(q_status(first + k) != S_OK &&
					got[j] == 0, "round %u op %u: dst +%#"
					PRIx64 " is %#x, want %#x (status %d)",
					round, k, j, got[j], exp[j],
					q_status(first + k));
			}
		}
		/* what is left of the source is intact */
		lo = !side_dst && !second ? TD_HALF : 0;
		hi = !side_dst && second ? TD_HALF : TD_LEN;
		check(as, src + lo, exp + lo, hi - lo, "source left");
		td_canary_check();
		cr_log_info("teardown round %u: unmap %s half of the %s (%s),"
			" trigger %" PRIu64 " of %u ops, unmap from %" PRIu64
			" to %" PRIu64 ": %" PRIu64 " failed, %u freed frames"
			" watched", round, second ? "second" : "first",
			side_dst ? "destination" : "source",
			huge ? "2 MiB" : "4 KiB", td.trigger - base, nops,
			td.at - base, td.after - base, rfail, td.ncan);
		st = stats();
		cr_assert_eq(st.consumer.fences, 0, "fenced");
		cr_assert_eq(mmrt_unmap(as, src, TD_LEN), 0);
		cr_assert_eq(mmrt_unmap(as, dst, TD_LEN), 0);
	}
	__atomic_store_n(&td.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	log_stats("teardown");
	cr_log_info("teardown: %u rounds of %u ops, %" PRIu64 " failed",
		rounds, nops, nfail);
	dmm_down();
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(exp);
	free(got);
	cr_assert_eq(mmrt_test_used(), used0, "used %" PRIu64 ", at start %"
		PRIu64, mmrt_test_used(), used0);
}

/* ================================================================== */
/* Copy-on-write: the engine writes to a forked child                  */
/* ================================================================== */

Test(swdma, cow_child)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_dma_mmrt_stats st;
	struct mmrt_as_stats as_st;
	struct cow_fix f;
	struct mmrt_as *w;
	unsigned int k, pass;
	uint64_t s, d, p;
	uint32_t len;

	rng_seed("cow_child");
	cow_setup(&f);
	/* pass 0 writes to the child, pass 1 to the parent: a device on
	 * each (as=, the space it writes) */
	for (pass = 0; pass < 2; pass++) {
		w = cow_written(&f, pass);
		dmm_up(w, "cow", NB_DESC, NULL);
		for (k = 0; k < 64; k++) {
			len = 1 + rnd() % (3 * PG);
			d = cow_dst(k, len);
			if (k % 3 == 0) {
				p = fillpat(k);
				q_fill(p, d, len, 0);
			} else {
				s = VB + rnd() % (8 * PG - len + 1);
				p = s;
				q_copy(s, d, len, 0);
			}
			mirror_op(f.r, 3, k % 3 == 0, p, d, len);
		}
		cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
		q_wait_all(true);
		cr_assert_eq(q.nerr, 0, "%" PRIu64 " ops failed", q.nerr);
		cow_check(&f, pass);
		st = stats();
		log_stats(pass == 0 ? "cow child" : "cow parent");
		cr_assert_geq(st.consumer.page_requests, 1,
			"copy-on-write without a page request");
		cr_assert_eq(mmrt_as_stats(w, &as_st), 0);
		cr_assert_geq(as_st.cow + as_st.cow_reuse, 1);
		dmm_down();
		cow_next_pass(&f, pass);
	}
	cow_teardown(&f);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* Downgrade to read-only during a stream of writes                    */
/* ================================================================== */

#define PB_PAGES 64

static struct protector {
	struct mmrt_as *as;
	uint64_t trigger;
	uint32_t go;
	uint32_t done;    /* round whose mmrt_protect() returned */
	int rc;
	int stop;
	uint8_t *snap;    /* the buffer just after it returned */
} pr;

static void *
protector_main(void *arg)
{
	uint32_t last = 0, rd;
	unsigned long it = 0;
	uint64_t d = 0;

	RTE_SET_USED(arg);
	while (!__atomic_load_n(&pr.stop, __ATOMIC_ACQUIRE)) {
		rd = __atomic_load_n(&pr.go, __ATOMIC_ACQUIRE);
		if (rd == last) {
			relax(it++);
			continue;
		}
		if (d == 0)
			d = deadline(WAIT_S);
		if (stats().completed < pr.trigger && !expired(d)) {
			relax(it++);
			continue;
		}
		pr.rc = mmrt_protect(pr.as, VA, PB_PAGES * PG, RO);
		__atomic_store_n(&pr.done, rd, __ATOMIC_RELEASE);
		if (pr.rc == 0)
			pr.rc = mmrt_read(pr.as, VA, pr.snap, PB_PAGES * PG);
		last = rd;
		d = 0;
	}
	return NULL;
}

Test(swdma, protect_during_writes)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("prot");
	uint8_t *after = xmalloc(PB_PAGES * PG);
	uint64_t first, n, after_ops, ok_after, failed, s, d, p;
	bool pre[MAXOPS];
	unsigned int round;
	uint64_t dl, k;
	pthread_t th;
	uint32_t len;
	int rc;

	rng_seed("protect_during_writes");
	cr_assert_not_null(as);
	map_guard(as, VA, PB_PAGES * PG, 0);
	map_pat(as, VB, 16 * PG, 0, 81);
	dmm_up(as, "prot", NB_DESC, NULL);
	q.bulk = true;
	memset(&pr, 0, sizeof(pr));
	pr.as = as;
	/* stats() from the protector's thread too */
	pr.snap = xmalloc(PB_PAGES * PG);
	cr_assert_eq(pthread_create(&th, NULL, protector_main, NULL), 0);

	for (round = 1; round <= 6; round++) {
		if (round > 1)
			cr_assert_eq(mmrt_protect(as, VA, PB_PAGES * PG, RW),
				0);
		first = q.n;
		pr.trigger = stats().completed + rnd() % 400;
		__atomic_store_n(&pr.go, round, __ATOMIC_RELEASE);
		after_ops = 0;
		dl = deadline(WAIT_S);
		for (n = 0; after_ops < 150; n++) {
			cr_assert_lt(n, MAXOPS - 1024, "round %u: protect did "
				"not return within %" PRIu64 " ops", round, n);
			cr_assert(!expired(dl));
			pre[n] = __atomic_load_n(&pr.done, __ATOMIC_ACQUIRE) ==
				round;
			after_ops += pre[n];
			len = 1 + rnd() % (2 * PG);
			d = VA + rnd() % (PB_PAGES * PG - len + 1);
			s = VB + rnd() % (16 * PG - len + 1);
			p = fillpat((unsigned int)n);
			for (;;) {
				if (n & 1)
					rc = rte_dma_copy(dmm_id, 0, s, d, len,
						RTE_DMA_OP_FLAG_SUBMIT);
				else
					rc = rte_dma_fill(dmm_id, 0, p, d, len,
						RTE_DMA_OP_FLAG_SUBMIT);
				if (rc != -ENOSPC)
					break;
				if (q_reap() == 0 && expired(dl)) {
					log_stats("stuck");
					cr_assert_fail("round %u: ring full",
						round);
				}
			}
			q_enqueued(rc, "stream");
			if ((n & 7) == 7) {
				/* writes after the upgrade back to RW are
				 * page requests: the driver's thread serves
				 * them */
				q_reap();
			}
			if ((n & 63) == 63)
				sched_yield();
		}
		q_wait_all(true);
		cr_assert_eq(pr.rc, 0, "protect: %d", pr.rc);
		ok_after = failed = 0;
		for (k = 0; k < n; k++) {
			enum rte_dma_status_code st = q_status(first + k);

			failed += st != S_OK;
			if (pre[k])
				cr_assert_eq(st, S_DST, "round %u: op %" PRIu64
					" enqueued after protect returned: "
					"status %d", round, k, st);
			else
				cr_assert(st == S_OK || st == S_DST,
					"round %u: op %" PRIu64 ": status %d",
					round, k, st);
			ok_after += pre[k] && st == S_OK;
		}
		/* nothing was written after protect returned */
		xread(as, VA, after, PB_PAGES * PG);
		cmp_buf(after, pr.snap, PB_PAGES * PG, VA,
			"buffer after mmrt_protect() returned");
		cr_log_info("protect round %u: %" PRIu64 " ops, %" PRIu64
			" failed, %" PRIu64 " after the downgrade (%" PRIu64
			" of them succeeded)", round, n, failed, after_ops,
			ok_after);
	}
	__atomic_store_n(&pr.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	log_stats("protect");
	cr_assert_eq(stats().consumer.fences, 0);
	dmm_down();
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(after);
	free(pr.snap);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* Idle policies                                                       */
/* ================================================================== */

static void
idle_workload(const char *idle, const char *name)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create(name);
	struct rgn r[2] = {
		{ VA, 4 * PG, NULL, "src" },
		{ VB, 16 * PG, NULL, "dst" },
	};
	struct mmrt_dma_mmrt_stats st;
	unsigned int b, k;
	uint64_t s, d, p;
	uint32_t len;

	rng_seed(name);
	cr_assert_not_null(as);
	r[0].m = xmalloc(r[0].len);
	r[1].m = xmalloc(r[1].len);
	map_pat(as, VA, 4 * PG, 0, 91);
	pat(r[0].m, 91, 0, 4 * PG);
	map_guard(as, VB, 16 * PG, 0);
	memset(r[1].m, GUARD, 16 * PG);
	cr_assert_eq(mmrt_map(as, VC, 4 * PG, RW, MMRT_MAP_POPULATE), 0);
	dmm_up(as, name, NB_DESC, idle);
	for (b = 0; b < 4; b++) {
		/* let it go idle (and back off to its ceiling) */
		usleep(3000);
		for (k = 0; k < 16; k++) {
			len = 1 + rnd() % (2 * PG);
			d = VB + rnd() % (16 * PG - len + 1);
			if (k & 1) {
				p = fillpat(k);
				q_fill(p, d, len, 0);
			} else {
				s = VA + rnd() % (4 * PG - len + 1);
				p = s;
				q_copy(s, d, len, 0);
			}
			mirror_op(r, 2, k & 1, p, d, len);
		}
		cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
		q_wait_all(false);
		/* an invalidation while it idles is acked, and a grace
		 * period passes */
		usleep(1000);
		cr_assert_eq(mmrt_advise(as, VC + (b % 4) * PG, PG,
			MMRT_ADV_DONTNEED), 0);
		mmrt_mm_reclaim(true);
	}
	cr_assert_eq(q.nerr, 0);
	rgn_check(as, &r[1], name);
	st = stats();
	log_stats(name);
	cr_assert_gt(st.idle_polls, 0);
	cr_assert_gt(st.steps, 0);
	cr_assert_eq(st.completed, 64);
	cr_assert_eq(st.consumer.fences, 0);
	dmm_down();
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(r[0].m);
	free(r[1].m);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(swdma, idle_pause)
{
	idle_workload("idle=pause", "idle-pause");
}

Test(swdma, idle_spin)
{
	idle_workload("idle=spin", "idle-spin");
}

Test(swdma, idle_backoff)
{
	idle_workload("idle=backoff", "idle-backoff");
}

/* ================================================================== */
/* The ring: full, doorbell, index wrap                                */
/* ================================================================== */

Test(swdma, ring_full_and_doorbell)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("ring");
	uint8_t *want = xmalloc(PG);
	const uint16_t nb = NB_DESC_MIN;
	unsigned int k;

	cr_assert_not_null(as);
	map_guard(as, VA, PG, 0);
	dmm_up(as, "ring", nb, NULL);
	/* started, no doorbell: nb_desc - 1 slots, then -ENOSPC */
	cr_assert_eq(rte_dma_burst_capacity(dmm_id, 0), nb - 1);
	for (k = 0; k < nb - 1u; k++) {
		q_fill(fillpat(k), VA + k * 8, 8, k % 2 ? RTE_DMA_OP_FLAG_LLC :
			0);
		cr_assert_eq(rte_dma_burst_capacity(dmm_id, 0), nb - 2 - k);
	}
	cr_assert_eq(rte_dma_fill(dmm_id, 0, 0, VA, 8, 0), -ENOSPC);
	cr_assert_eq(rte_dma_copy(dmm_id, 0, VA, VA + 2048, 8, 0), -ENOSPC);
	/* no doorbell yet: nothing runs */
	q_none_more(0, 20000);
	check_byte(as, VA, GUARD, PG, "before the doorbell");
	cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
	WAIT_STAT(completed, nb - 1u);
	/* completed but not reported: still outstanding */
	cr_assert_eq(rte_dma_burst_capacity(dmm_id, 0), 0);
	q_wait_all(false);
	cr_assert_eq(q.nerr, 0);
	cr_assert_eq(rte_dma_burst_capacity(dmm_id, 0), nb - 1);
	memset(want, GUARD, PG);
	for (k = 0; k < nb - 1u; k++)
		fillbuf(want + k * 8, fillpat(k), 8);
	check(as, VA, want, PG, "after the doorbell");
	cr_assert_eq(stats().submitted, nb - 1u);
	dmm_down();
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(want);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* A different fill pattern for every op. */
static uint64_t
wpat(uint64_t k)
{
	return (k * UINT64_C(0x0101010101010101)) ^ FILL_PAT;
}

Test(swdma, index_wrap)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("wrap");
	uint8_t *want = xmalloc(PG);
	uint64_t k, total = 65536 + 1000;

	cr_assert_not_null(as);
	map_guard(as, VA, PG, 0);
	dmm_up(as, "wrap", 256, NULL);
	for (k = 0; k < total; k++) {
		while (rte_dma_burst_capacity(dmm_id, 0) == 0)
			q_wait(q.done + 1, false);
		q_fill(wpat(k), VA + (k % 512) * 8, 8,
			k % 64 == 63 ? RTE_DMA_OP_FLAG_SUBMIT : 0);
	}
	cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
	q_wait_all(false);
	cr_assert_eq(q.nerr, 0);
	for (k = total - 512; k < total; k++)
		fillbuf(want + (k % 512) * 8, wpat(k), 8);
	check(as, VA, want, PG, "after the wrap");
	cr_assert_eq(stats().completed, total);
	dmm_down();
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(want);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* Control: close and remove while started, bad input                  */
/* ================================================================== */

/*
 * A started device is not closed (-EBUSY, it goes on); removed from the
 * bus while started, it is stopped first: the outstanding operations are
 * dropped and its lcore is free for the next device.
 */
Test(swdma, destroy_started)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("dstr");
	int16_t old;
	unsigned int k;

	cr_assert_not_null(as);
	map_guard(as, VA, 16 * PG, 0);
	dmm_up(as, "dstr1", NB_DESC, NULL);
	for (k = 0; k < 100; k++)
		q_fill(FILL_PAT, VA + k * 64, 64, 0);
	cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
	cr_assert_eq(rte_dma_close(dmm_id), -EBUSY);
	cr_assert_geq(stats().submitted, 100, "the refused close stopped it");
	/* removed while started */
	old = dmm_id;
	cr_assert_eq(rte_eal_hotplug_remove("vdev", dmm_name), 0);
	cr_assert_lt(rte_dma_get_dev_id_by_name(dmm_name), 0);
	cr_assert_eq(mmrt_dma_mmrt_stats(old, &(struct mmrt_dma_mmrt_stats){
		0 }), -ENODEV);
	/* the same name, the same lcore: it works */
	dmm_up(as, "dstr1", NB_DESC, NULL);
	cr_assert_eq(fill8_status(), S_OK);
	dmm_down();
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * Operations outstanding when the engine goes (stop: the raw engine's
 * unbind) never run, not against the space the device has afterwards,
 * and are never reported: a dmadev's stop drops them and its ring starts
 * again at index 0. (The raw engine completed them with
 * RTE_DMA_STATUS_BUS_ERROR; a stopped dmadev reports nothing, so no
 * status is observable.) Held back by an engine that is not stepped, they
 * are dropped at a stop; then the same device starts again on its space,
 * and a device of the same name comes on another space.
 */
Test(swdma, unbind_outstanding)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as1 = mmrt_as_create("ub1");
	struct mmrt_as *as2 = mmrt_as_create("ub2");
	enum rte_dma_status_code sts[4];
	uint16_t last;
	unsigned int k, pass;
	bool herr;

	cr_assert_not_null(as1);
	cr_assert_not_null(as2);
	map_guard(as1, VA, 4 * PG, 0);
	map_guard(as2, VA, 4 * PG, 0);
	dmm_up_app(as1, "ub", NB_DESC, NULL);
	for (pass = 0; pass < 2; pass++) {
		/* submitted, not stepped: outstanding */
		svc_paused = true;
		for (k = 0; k < 8; k++)
			q_fill(FILL_PAT, VA + 8 + k * 100, 100, 0);
		cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
		q_none_more(q.done, 2000);
		cr_assert_eq(stats().submitted, q.n);
		cr_assert_eq(rte_dma_stop(dmm_id), 0);
		/* stopped: nothing is reported, nothing can be enqueued */
		herr = true;
		cr_assert_eq(rte_dma_completed(dmm_id, 0, 64, &last, &herr),
			0);
		cr_assert_not(herr);
		cr_assert_eq(rte_dma_completed_status(dmm_id, 0, 4, &last,
			sts), 0);
		cr_assert_eq(rte_dma_burst_capacity(dmm_id, 0), 0);
		if (pass == 0) {
			/* the same device, the same space */
			dmm_start();
		} else {
			/* a device of that name on the other space */
			cr_assert_eq(rte_dma_close(dmm_id), 0);
			cr_assert_eq(rte_eal_hotplug_remove("vdev", dmm_name),
				0);
			dmm_up_app(as2, "ub", NB_DESC, NULL);
		}
		/* a new op works, at ring index 0; the dropped ones never
		 * run */
		svc_paused = false;
		cr_assert_eq(fill8_status(), S_OK, "pass %u: status %d", pass,
			q_status(0));
		cr_assert_eq(q.idx[0], 0);
		q_none_more(1, 2000);
		check_byte(pass == 0 ? as1 : as2, VA + 8, GUARD, 4 * PG - 8,
			"after the stop");
	}
	check_byte(as1, VA + 8, GUARD, 4 * PG - 8, "the first space");
	dmm_down();
	cr_assert_eq(mmrt_as_destroy(as1), 0);
	cr_assert_eq(mmrt_as_destroy(as2), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * The space of a device goes away. Stopped: the start finds no space
 * (-ENODEV, the device stays stopped), and binds a new space of that name
 * once there is one. Started: the engine's binding is released, its
 * operations complete with a bus error.
 */
Test(swdma, space_destroyed)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("gone");
	struct mmrt_dma_mmrt_stats ms;

	cr_assert_not_null(as);
	map_guard(as, VA, 4 * PG, 0);
	dmm_up(as, "gone", NB_DESC, NULL);
	cr_assert_eq(fill8_status(), S_OK);
	/* stopped */
	cr_assert_eq(rte_dma_stop(dmm_id), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(rte_dma_start(dmm_id), -ENODEV);
	cr_assert_eq(mmrt_dma_mmrt_stats(dmm_id, &ms), -ENOTCONN);
	as = mmrt_as_create("gone");
	cr_assert_not_null(as);
	map_guard(as, VA, 4 * PG, 0);
	dmm_start();
	cr_assert_eq(fill8_status(), S_OK);
	check_byte(as, VA + 8, GUARD, 4 * PG - 8, "the new space");
	/* started */
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(fill8_status(), S_BUS, "status %d", q_status(q.n - 1));
	log_stats("gone");
	dmm_down();
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * An engine stepped by the thread that also changes the page table: the
 * change's invalidation is acked inline (this thread owns the engine's
 * consumer), so no poll of the engine's sees a descriptor; the leaves the
 * engine kept from the last copy must go all the same. A copy, then the
 * destination page made read-only: the same kind of copy again completes
 * with INVALID_DST_ADDR and writes nothing. (The fuzzer's input
 * crash-swdma-inline-ack-kept-leaf found it.)
 */
Test(swdma, inline_ack_drops_kept)
{
	uint64_t used0 = mmrt_test_used(), op;
	struct mmrt_as *as = mmrt_as_create("inl");
	struct mmrt_dma_mmrt_stats st;

	cr_assert_not_null(as);
	map_pat(as, VA, PG, 0, 61);
	map_guard(as, VB, PG, 0);
	/* a registered thread keeps its registration across the steps:
	 * it owns the engine's consumer (docs/guide.md) */
	cr_assert_geq(mmrt_thread_register(), 0);
	dmm_up_app(as, "inl", NB_DESC, NULL);
	op = q_copy(VA, VB, 64, RTE_DMA_OP_FLAG_SUBMIT);
	q_wait_all(false);
	cr_assert_eq(q_status(op), S_OK);
	cr_assert_eq(mmrt_protect(as, VB, PG, MMRT_PROT_READ), 0);
	/* the protect was acked inline, not by a fence */
	cr_assert_eq(mmrt_dma_mmrt_stats(dmm_id, &st), 0);
	cr_assert_eq(st.consumer.fences, 0);
	op = q_copy(VA + 64, VB + 64, 64, RTE_DMA_OP_FLAG_SUBMIT);
	q_wait_all(false);
	cr_assert_eq(q_status(op), S_DST, "status %d", q_status(op));
	check_byte(as, VB + 64, GUARD, PG - 64, "after the protect");
	dmm_down();
	cr_assert_eq(mmrt_thread_unregister(), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * The look-ahead (on by default): a stream of 4 KiB copies through 256
 * fresh pages is served mostly from the engine's look-ahead (far fewer
 * device-TLB misses than pages), byte for byte. Then a destination page the look-ahead holds is made
 * read-only and a source page it holds is unmapped: copies into the one
 * complete with INVALID_DST_ADDR and from the other with PAGE_FAULT (the
 * invalidations dropped what the engine kept), and nothing is written
 * there. (Skipped in the suite run with every device on lookahead=0,
 * MMRT_TEST_DMM_EXTRA.)
 */
#define LA_PAGES 256
Test(swdma, lookahead_stream)
{
	uint64_t used0 = mmrt_test_used(), k, miss0 = 0;
	const char *more = getenv("MMRT_TEST_DMM_EXTRA");
	struct mmrt_as *as;
	unsigned int pass;
	struct mmrt_dma_mmrt_stats st;
	uint8_t *want;

	if (more != NULL && strstr(more, "lookahead=0") != NULL)
		cr_skip_test("the look-ahead is off in this run");
	as = mmrt_as_create("la");
	want = xmalloc(LA_PAGES * PG);
	cr_assert_not_null(as);
	map_pat(as, VA, LA_PAGES * PG, MMRT_MAP_POPULATE, 7);
	map_guard(as, VB, LA_PAGES * PG, MMRT_MAP_POPULATE);
	dmm_up(as, "la", NB_DESC, NULL);
	pat(want, 7, 0, LA_PAGES * PG);
	/* twice: the look-ahead writes only through dirty leaves, which
	 * the first stream's device-TLB path makes them */
	for (pass = 0; pass < 2; pass++) {
		miss0 = stats().consumer.tlb_misses;
		for (k = 0; k < LA_PAGES; k++)
			q_copy(VA + k * PG, VB + k * PG, PG, k % 32 == 31 ?
				RTE_DMA_OP_FLAG_SUBMIT : 0);
		q_wait_all(false);
		cr_assert_eq(q.nerr, 0);
		check(as, VB, want, LA_PAGES * PG, "the stream's destination");
		log_stats("lookahead");
	}
	st = stats();
	/* 2 misses per page without it; about one per side per 64 pages
	 * (contiguous frames) or 16 with it */
	cr_assert_lt(st.consumer.tlb_misses - miss0, LA_PAGES / 4,
		"%" PRIu64 " device-TLB misses for %u pages",
		st.consumer.tlb_misses - miss0, LA_PAGES);

	/* a fresh engine (each start makes one), so that no back-off of
	 * the passes' last look-ahead is left; misses at pages 95 and 96:
	 * the look-ahead then holds pages 96 or 97 and after (both sides);
	 * take two of them away */
	cr_assert_eq(rte_dma_stop(dmm_id), 0);
	dmm_start();
	q_copy(VA + 95 * PG, VB + 95 * PG, 64, 0);
	q_copy(VA + 96 * PG, VB + 96 * PG, 64, RTE_DMA_OP_FLAG_SUBMIT);
	q_wait_all(false);
	cr_assert_eq(q_status(q.n - 2), S_OK);
	cr_assert_eq(q_status(q.n - 1), S_OK);
	cr_assert_eq(mmrt_protect(as, VB + 100 * PG, PG, MMRT_PROT_READ), 0);
	cr_assert_eq(mmrt_unmap(as, VA + 101 * PG, PG), 0);
	q_copy(VA + 50 * PG, VB + 100 * PG, PG, 0);
	q_copy(VA + 101 * PG, VB + 102 * PG, PG, 0);
	q_copy(VA + 103 * PG, VB + 103 * PG, 64, RTE_DMA_OP_FLAG_SUBMIT);
	q_wait_all(false);
	cr_assert_eq(q_status(q.n - 3), S_DST, "status %d", q_status(q.n - 3));
	cr_assert_eq(q_status(q.n - 2), S_PF, "status %d", q_status(q.n - 2));
	cr_assert_eq(q_status(q.n - 1), S_OK, "status %d", q_status(q.n - 1));
	check(as, VB + 100 * PG, want + 100 * PG, PG, "read-only page");
	check(as, VB + 102 * PG, want + 102 * PG, PG, "page after the hole");
	cr_assert_eq(stats().consumer.fences, 0);
	dmm_down();
	free(want);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * The look-ahead writes only where the device TLB would: a stream of
 * 4 KiB copies into present, writable but clean pages (after
 * mmrt_dirty_clear()) leaves every destination page dirty, so that
 * mmrt_dirty_harvest() reports each of them. The look-ahead's walk takes
 * a destination page only if it is writable and dirty (as the device
 * TLB's prefetch grants write), so each clean page still takes the TLB's
 * miss path, which marks it dirty. (Negative control, by hand: a
 * look-ahead that walks a destination for read access only writes the
 * pages after each miss without that path, and this test fails on the
 * harvest.)
 */
#define LD_PAGES 64
Test(swdma, lookahead_dirty)
{
	uint64_t used0 = mmrt_test_used(), k, bm[LD_PAGES / 64] = { 0 };
	struct mmrt_as *as = mmrt_as_create("ladirty");
	uint8_t *want = xmalloc(2 * LD_PAGES * PG);
	int64_t got;

	cr_assert_not_null(as);
	/* mapped past the stream's end, so that the look-ahead's walks
	 * (256 KiB from each miss) find every page present */
	map_pat(as, VA, 2 * LD_PAGES * PG, MMRT_MAP_POPULATE, 9);
	map_guard(as, VB, 2 * LD_PAGES * PG, MMRT_MAP_POPULATE);
	/* present, writable and clean (before the bind: nobody to ack) */
	cr_assert_geq(mmrt_dirty_clear(as, VB, 2 * LD_PAGES * PG), 0);
	dmm_up(as, "ladirty", NB_DESC, NULL);
	pat(want, 9, 0, 2 * LD_PAGES * PG);
	for (k = 0; k < LD_PAGES; k++)
		q_copy(VA + k * PG, VB + k * PG, PG, k % 16 == 15 ?
			RTE_DMA_OP_FLAG_SUBMIT : 0);
	q_wait_all(false);
	cr_assert_eq(q.nerr, 0);
	check(as, VB, want, LD_PAGES * PG, "the stream's destination");
	got = mmrt_dirty_harvest(as, VB, LD_PAGES * PG, bm, LD_PAGES,
		MMRT_DIRTY_NO_CLEAR);
	cr_assert_eq(got, LD_PAGES, "%" PRId64 " of %u written pages dirty "
		"(bitmap 0x%016" PRIx64 ")", got, LD_PAGES, bm[0]);
	cr_assert_eq(stats().consumer.fences, 0);
	dmm_down();
	free(want);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * Small copies, the engine's fast case (swdma's run_cached(): a run of
 * copies each inside the source and destination pages the engine
 * translated last, served with no walk): every length from 1 to 80 bytes
 * and some longer, at every alignment, many per page pair behind each
 * doorbell, each to its own place with GUARD bytes between; then every
 * byte of both regions is checked (a copy one byte too long or too short,
 * or one of a wrong source, fails). The counters too: the bytes, and two
 * translations per copy, each counted once as a device-TLB hit (the
 * engine's kept leaves count as hits) or a miss: the engine sums the hits
 * of a run in a local and adds them before it publishes the run's
 * completions. (Negative controls, by hand: 16..64-byte moves whose second
 * move is always at 16 fail the contents for lengths under 32; an engine
 * that does not add the summed hits fails the count.)
 */
Test(swdma, small_copies)
{
	static const uint32_t longer[] = { 96, 127, 128, 129, 255, 256, 257,
		1000 };
	uint64_t used0 = mmrt_test_used(), bytes = 0, ops = 0, src, dst;
	uint64_t look0;
	struct mmrt_dma_mmrt_stats st;
	struct rgn r[R_NB];
	struct mmrt_as *as = bnd_setup(r);
	unsigned int page, k = 0;
	uint32_t len, cur;

	dmm_up(as, "small", NB_DESC, NULL);
	st = stats();
	look0 = st.consumer.tlb_hits + st.consumer.tlb_misses;
	for (page = 0; page < 32; page++) {
		/* destination: back to back with 1..3 GUARD bytes between */
		for (cur = page % 5; ; k++) {
			len = k % 11 == 10 ?
				longer[(k / 11) % RTE_DIM(longer)] :
				1 + k % 80;
			if (cur + len > PG)
				break;
			dst = VB + page * PG + cur;
			src = VA + page * PG + (k * 37 + page) % (PG - len + 1);
			q_copy(src, dst, len, ops % 32 == 31 ?
				RTE_DMA_OP_FLAG_SUBMIT : 0);
			mirror_copy(r, R_NB, src, dst, len);
			bytes += len;
			ops++;
			if (ops % 512 == 0) /* the ring holds 1023 */
				q_wait_all(false);
			cur += len + 1 + k % 3;
		}
	}
	cr_assert_eq(rte_dma_submit(dmm_id, 0), 0);
	q_wait_all(false);
	cr_assert_eq(q.nerr, 0);
	rgn_check(as, &r[R_D4], "small copies");
	rgn_check(as, &r[R_S4], "small copies");
	st = stats();
	log_stats("small copies");
	cr_assert_gt(ops, 32 * 40, "%" PRIu64 " copies", ops);
	cr_assert_eq(st.bytes, bytes, "bytes %" PRIu64 ", want %" PRIu64,
		st.bytes, bytes);
	cr_assert_eq(st.consumer.tlb_hits + st.consumer.tlb_misses - look0,
		2 * ops, "%" PRIu64 " hits + %" PRIu64 " misses for %" PRIu64
		" copies (2 translations each)", st.consumer.tlb_hits,
		st.consumer.tlb_misses, ops);
	cr_assert_eq(st.consumer.fences, 0);
	dmm_down();
	bnd_teardown(as, r, used0);
}

/*
 * Close twice: the second is refused (-EINVAL, as every call on a closed
 * device: rte_dma_* checks the id), and so is a second remove. A stopped
 * device refuses the data path (-EINVAL) and reports nothing.
 */
Test(swdma, destroy_twice)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("twice");
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM, .nb_desc = NB_DESC,
	};
	struct rte_dma_sge sg[2] = { { VA, 8 }, { VA + PG, 8 } };
	struct rte_dma_conf dc = { .nb_vchans = 1 };
	struct mmrt_dma_mmrt_stats ms;
	enum rte_dma_status_code st;
	enum rte_dma_vchan_status vs;
	struct rte_dma_stats ds;
	struct rte_dma_info info;
	uint16_t last;
	bool herr;
	int16_t id;
	unsigned int pass;

	cr_assert_not_null(as);
	map_guard(as, VA, 4 * PG, 0);
	dmm_up(as, "twice", NB_DESC, NULL);
	id = dmm_id;
	cr_assert_eq(fill8_status(), S_OK);
	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert_eq(rte_dma_stop(id), 0); /* already stopped: a warning */
	/* pass 0 stopped, pass 1 closed */
	for (pass = 0; pass < 2; pass++) {
		cr_assert_eq(rte_dma_copy(id, 0, VA, VA + PG, 8, 0), -EINVAL);
		cr_assert_eq(rte_dma_fill(id, 0, FILL_PAT, VA, 8, 0),
			-EINVAL);
		cr_assert_eq(rte_dma_copy_sg(id, 0, &sg[0], &sg[1], 1, 1, 0),
			-EINVAL);
		cr_assert_eq(rte_dma_submit(id, 0), -EINVAL);
		herr = true;
		cr_assert_eq(rte_dma_completed(id, 0, 4, &last, &herr), 0);
		cr_assert_not(herr);
		cr_assert_eq(rte_dma_completed_status(id, 0, 1, &last, &st),
			0);
		cr_assert_eq(rte_dma_burst_capacity(id, 0), 0);
		if (pass == 0) {
			cr_assert_eq(mmrt_dma_mmrt_stats(id, &ms), -ENOTCONN);
			cr_assert_eq(rte_dma_stats_get(id, 0, &ds), 0);
			cr_assert_eq(ds.submitted, 1);
			cr_assert_eq(ds.completed, 1);
			cr_assert_eq(rte_dma_vchan_status(id, 0, &vs), 0);
			cr_assert_eq(vs, RTE_DMA_VCHAN_IDLE);
			cr_assert_eq(rte_dma_close(id), 0);
			continue;
		}
		cr_assert_eq(rte_dma_close(id), -EINVAL);
		cr_assert_eq(rte_dma_start(id), -EINVAL);
		cr_assert_eq(rte_dma_stop(id), -EINVAL);
		cr_assert_eq(rte_dma_configure(id, &dc), -EINVAL);
		cr_assert_eq(rte_dma_vchan_setup(id, 0, &vc), -EINVAL);
		cr_assert_eq(rte_dma_info_get(id, &info), -EINVAL);
		cr_assert_eq(rte_dma_stats_get(id, 0, &ds), -EINVAL);
		cr_assert_eq(rte_dma_stats_reset(id, 0), -EINVAL);
		cr_assert_eq(rte_dma_vchan_status(id, 0, &vs), -EINVAL);
		cr_assert_eq(rte_dma_dump(id, stderr), -EINVAL);
		cr_assert_eq(mmrt_dma_mmrt_stats(id, &ms), -ENODEV);
		cr_assert_lt(rte_dma_get_dev_id_by_name(dmm_name), 0);
	}
	/* the vdev goes (its dmadev was closed already), once */
	cr_assert_eq(rte_eal_hotplug_remove("vdev", dmm_name), 0);
	cr_assert_lt(rte_eal_hotplug_remove("vdev", dmm_name), 0);
	dmm_id = -1;
	check_byte(as, VA + 8, GUARD, 4 * PG - 8, "nothing ran");
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * Bad input that reaches the engine: the devargs of its configuration
 * (burst, idle policy, ack deadline, park timeout), its lcore (busy with
 * another device), the vchan's ring size, and every descriptor: nothing
 * is enqueued, the valid limits work. (Devargs the driver alone checks
 * are in test_dma_mmrt.c's bad_devargs.)
 */
Test(swdma, badinput)
{
	static const char *const bad_args[] = {
		"burst=0", "burst=8193", "burst=x", "burst=",
		"idle=lazy", "idle=",
		"ack_us=99", "ack_us=60000001", "ack_us=-1",
		"park_us=0", "park_us=3600000001", "park_us=1e3",
		"lcore=2", "lcore=0", "lcore=-1",
		"lcore=" RTE_STR(RTE_MAX_LCORE),
		"service=1,lcore=1", "burst=4,burst=4",
	};
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("bad");
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM, .nb_desc = NB_DESC,
	};
	struct rte_dma_conf dc = { .nb_vchans = 1 };
	struct rte_dma_sge sa[NB_DESC_MIN], sb[NB_DESC_MIN];
	enum rte_dma_status_code sts[4];
	struct rte_dma_info info;
	char args[128];
	uint16_t last, avail;
	unsigned int k;
	bool herr;
	int16_t id;
	int rc;

	cr_assert_not_null(as);
	map_guard(as, VA, 4 * PG, 0);
	avail = rte_dma_count_avail();

	/* devargs: the probe fails, nothing is left behind */
	for (k = 0; k < RTE_DIM(bad_args); k++) {
		snprintf(args, sizeof(args), "as=bad,%s", bad_args[k]);
		rc = rte_vdev_init("dma_mmrt_bad", args);
		cr_assert_lt(rc, 0, "\"%s\" accepted", args);
		cr_assert_eq(rte_dma_count_avail(), avail, "\"%s\" left a"
			" device", args);
	}
	/* the limits themselves are fine */
	cr_assert_eq(rte_vdev_init("dma_mmrt_bad", "as=bad,lcore="
		RTE_STR(ENGINE_LCORE) ",burst=8192,idle=backoff,ack_us=100,"
		"park_us=3600000000"), 0);
	/* another device on its lcore */
	cr_assert_lt(rte_vdev_init("dma_mmrt_bad2", "as=bad,lcore="
		RTE_STR(ENGINE_LCORE)), 0);
	cr_assert_eq(rte_dma_count_avail(), avail + 1);
	id = (int16_t)rte_dma_get_dev_id_by_name("dma_mmrt_bad");
	cr_assert_geq(id, 0);
	cr_assert_eq(rte_dma_info_get(id, &info), 0);
	cr_assert_eq(info.min_desc, NB_DESC_MIN);
	cr_assert_eq(info.max_desc, NB_DESC_MAX);
	cr_assert_eq(info.max_sges, 16);
	/* configure and vchan_setup out of the advertised ranges */
	engine_bad_config(id, &info, &dc, &vc);
	/* not a power of 2: the ring is the next one */
	vc.nb_desc = 100;
	cr_assert_eq(rte_dma_vchan_setup(id, 0, &vc), 0);
	cr_assert_eq(rte_dma_start(id), 0);
	cr_assert_eq(rte_dma_burst_capacity(id, 0), 127);
	cr_assert_eq(rte_dma_configure(id, &dc), -EBUSY);
	cr_assert_eq(rte_dma_vchan_setup(id, 0, &vc), -EBUSY);
	cr_assert_eq(rte_dma_stop(id), 0);
	vc.nb_desc = NB_DESC;
	cr_assert_eq(rte_dma_vchan_setup(id, 0, &vc), 0);
	cr_assert_eq(rte_dma_start(id), 0);
	dmm_id = id;
	snprintf(dmm_name, sizeof(dmm_name), "dma_mmrt_bad");
	q_init(NULL);

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
	cr_assert_eq(rte_dma_copy(id, 0, VA, VA + 8, 16, 0), -EINVAL);
	cr_assert_eq(rte_dma_copy(id, 0, VA, VA + PG, 8, UINT64_C(1) << 40),
		-EINVAL);
	cr_assert_eq(rte_dma_fill(id, 0, 0, VA, 0, 0), -EINVAL);
	cr_assert_eq(rte_dma_fill(id, 0, 0, MMRT_VA_LIMIT, 8, 0), -EINVAL);
	cr_assert_eq(rte_dma_fill(id, 0, 0, MMRT_VA_LIMIT - 8, 16, 0),
		-EINVAL);
	cr_assert_eq(rte_dma_fill(id, 0, 0, UINT64_MAX - 3, 16, 0), -EINVAL);
	cr_assert_eq(rte_dma_fill(id, 0, 0, VA, 8, UINT64_C(1) << 40),
		-EINVAL);
	/* scatter-gather lists */
	for (k = 0; k < NB_DESC_MIN; k++) {
		sa[k] = (struct rte_dma_sge){ VA + k * 8, 8 };
		sb[k] = (struct rte_dma_sge){ VA + 2 * PG + k * 8, 8 };
	}
	cr_assert_eq(rte_dma_copy_sg(id, 0, sa, sb, 0, 1, 0), -EINVAL);
	cr_assert_eq(rte_dma_copy_sg(id, 0, sa, sb, 1, 0, 0), -EINVAL);
	cr_assert_eq(rte_dma_copy_sg(id, 0, sa, sb, 17, 17, 0), -EINVAL);
	cr_assert_eq(rte_dma_copy_sg(id, 0, sa, sb, 2, 1, 0), -EINVAL);
	cr_assert_eq(rte_dma_copy_sg(id, 0, NULL, sb, 1, 1, 0), -EINVAL);
	cr_assert_eq(rte_dma_copy_sg(id, 0, sa, NULL, 1, 1, 0), -EINVAL);
	cr_assert_eq(rte_dma_copy_sg(id, 0, sa, sa + 1, 2, 2, 0), -EINVAL);
	sb[0].length = 0;
	cr_assert_eq(rte_dma_copy_sg(id, 0, sa, sb, 1, 1, 0), -EINVAL);
	sb[0].length = 8;
	cr_assert_eq(rte_dma_copy_sg(id, 0, sa, sb, 1, 1,
		UINT64_C(1) << 40), -EINVAL);
	/* nothing was enqueued by the calls above */
	cr_assert_eq(rte_dma_burst_capacity(id, 0), NB_DESC - 1);
	cr_assert_eq(stats().submitted, 0);
	/* valid: flags FENCE and LLC, a range ending at the limit (it
	 * faults), 16 segments a side, out pointers NULL */
	q_fill(FILL_PAT, VA, 8, RTE_DMA_OP_FLAG_FENCE | RTE_DMA_OP_FLAG_LLC);
	q_copy(VA, VA + PG, 8, RTE_DMA_OP_FLAG_FENCE);
	q_fill(FILL_PAT, MMRT_VA_LIMIT - 16, 16, 0);
	q_enqueued(rte_dma_copy_sg(id, 0, sa, sb, 16, 16, 0), "copy_sg");
	q_fill(FILL_PAT, VA + 3 * PG, 8, RTE_DMA_OP_FLAG_SUBMIT);
	WAIT_STAT(completed, 5);
	cr_assert_eq(rte_dma_completed(id, 0, 64, NULL, NULL), 2);
	cr_assert_eq(rte_dma_completed_status(id, 0, 64, NULL, sts), 3);
	cr_assert_eq(sts[0], S_PF, "status %d", sts[0]);
	cr_assert_eq(sts[1], S_OK, "status %d", sts[1]);
	cr_assert_eq(sts[2], S_OK, "status %d", sts[2]);
	cr_assert_eq(rte_dma_completed(id, 0, 0, &last, &herr), 0);
	cr_assert_eq(stats().errors, 1);
	/* the segments: VA's first 128 bytes, a fill then guard bytes */
	{
		uint8_t want[16 * 8];

		memset(want, GUARD, sizeof(want));
		fillbuf(want, FILL_PAT, 8);
		check(as, VA + 2 * PG, want, sizeof(want), "copy_sg");
	}
	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert_eq(rte_dma_close(id), 0);
	cr_assert_eq(rte_vdev_uninit("dma_mmrt_bad"), 0);
	dmm_id = -1;
	cr_assert_eq(rte_dma_count_avail(), avail);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}
