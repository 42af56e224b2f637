/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * dma_mmrt (pmd/dma_mmrt), tested the way a stock dmadev client uses it:
 * only rte_dma_* and rte_vdev_* calls touch the device. Created by EAL
 * devargs (--vdev, probed before mmrt is up: the space is bound at start)
 * and by rte_vdev_init() at run time; copies and fills between address
 * space VAs checked byte for byte; ring indexes from 0 after every start;
 * the PAGE_FAULT status of a copy from an unmapped VA (has_error stop,
 * completed_status, stats, the address in the dump); bad devargs (each
 * refused, no device left); configure and vchan_setup outside the
 * advertised ranges; operations on a stopped device; the engine stepped by
 * an rte_service on a service lcore; mmrt_fini() refused while a device is
 * started and accepted once it is stopped. Mirror mode (no as=): mbuf to
 * mbuf copies by rte_pktmbuf_iova() the way DPDK's examples/dma does them,
 * IOVA 0 failing with a status, the mirror shared with the application or
 * created and destroyed by the driver, and the runtime attached by the
 * driver in an application that only ran rte_eal_init() (and finalized
 * at its last close); rte_vhost_async_dma_configure() accepting the
 * device. rte_dma_copy_sg() across page boundaries, parked twice in a
 * uffd-served segment, failing on a hole, bad lists. dev=dma_skeleton0:
 * copies, PAGE_FAULT, the skeleton started and stopped with the device,
 * and the bridge's ack hold (destination protected or unmapped, source
 * unmapped while the skeleton holds pieces). mmrt_dma_mmrt_stats().
 * Every test checks that the frame pool balances.
 *
 * One EAL per test process (Criterion forks per test); lcore 1 runs the
 * engine. Every wait is bounded; nothing asserts on elapsed time.
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
#include <rte_dmadev.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_service.h>
#include <rte_vhost_async.h>

#include <mmrt_dma_mmrt.h>
#include <mmrt_uffd.h>

#include "common.h"
#include "dmm_common.h"

#define POOL_MB 64
#define WAIT_S 30
#define SRC_VA UINT64_C(0x10000000)
#define DST_VA UINT64_C(0x20000000)
#define HOLE_VA UINT64_C(0x30000000)
#define RGN_LEN (64 * PG)
#define NB_DESC 512
#define FILL_PAT UINT64_C(0x0123456789abcdef)
/* the invalidation ack deadline: generous, the machine is shared */
#define ACK ",ack_us=2000000"

/*
 * The EAL and mmrt for one test: @p nlcores floating lcores, --no-huge,
 * a 64 MiB pool, and up to two --vdev words (NULL: none).
 */
static void
up_eal(const char *tag, unsigned int nlcores, const char *vdev1,
	const char *vdev2)
{
	tdmm_eal_up("test-dma-mmrt", tag, nlcores, vdev1, vdev2);
}

static void
up(const char *vdev)
{
	up_eal("dmm", 2, vdev, NULL);
}

static void
teardown(void)
{
	if (mmrt_is_up())
		mmrt_fini();
}

TestSuite(dma_mmrt, .fini = teardown, .timeout = 120);

/* ---- the address space ---- */

/* Byte @i of the source region. */
static uint8_t
sbyte(uint64_t i)
{
	return (uint8_t)(i * 7 + (i >> 12) + 1);
}

/* A space @name with SRC (RW, populated, patterned) and DST (RW, demand
 * zero); HOLE_VA stays unmapped. */
static struct mmrt_as *
space(const char *name)
{
	struct mmrt_as *as = mmrt_as_create(name);
	static uint8_t buf[RGN_LEN];
	uint64_t i;

	cr_assert_not_null(as, "mmrt_as_create(%s): %d", name, rte_errno);
	cr_assert_eq(mmrt_map(as, SRC_VA, RGN_LEN, MMRT_PROT_READ | MMRT_PROT_WRITE,
		MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_map(as, DST_VA, RGN_LEN,
		MMRT_PROT_READ | MMRT_PROT_WRITE, 0), 0);
	for (i = 0; i < RGN_LEN; i++)
		buf[i] = sbyte(i);
	cr_assert_eq(mmrt_write(as, SRC_VA, buf, RGN_LEN), 0);
	return as;
}

/*
 * up(@vdev), then the space @name (*@used0: the frames in use before it)
 * and dma_mmrt0's id.
 */
static int16_t
up_space(const char *vdev, const char *name, struct mmrt_as **as,
	uint64_t *used0)
{
	up(vdev);
	*used0 = mmrt_test_used();
	*as = space(name);
	return tdmm_dev_id("dma_mmrt0");
}

/* ---- the client: rte_dma_* only ---- */

/* configure, vchan_setup and start, as dmadev_autotest does */
static void
dev_start(int16_t id, uint16_t nb_desc)
{
	struct rte_dma_conf conf = { .nb_vchans = 1 };
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
		.nb_desc = nb_desc,
	};
	struct rte_dma_info info;
	int ret;

	cr_assert_eq(rte_dma_info_get(id, &info), 0);
	cr_assert_geq(info.max_vchans, 1);
	cr_assert_eq(rte_dma_configure(id, &conf), 0);
	cr_assert_eq(rte_dma_vchan_setup(id, 0, &vc), 0);
	cr_assert_eq(rte_dma_info_get(id, &info), 0);
	cr_assert_eq(info.nb_vchans, 1);
	ret = rte_dma_start(id);
	cr_assert_eq(ret, 0, "rte_dma_start: %d", ret);
}

/* Reap @n operations with rte_dma_completed(); none may fail. Returns the
 * last index reported. */
static uint16_t
reap(int16_t id, unsigned int n)
{
	uint64_t d = mmrt_test_deadline(WAIT_S);
	unsigned long i = 0;
	uint16_t last = 0xffff, got;
	bool err = false;

	while (n > 0) {
		got = rte_dma_completed(id, 0, (uint16_t)RTE_MIN(n, 64u), &last,
			&err);
		if (err) {
			enum rte_dma_status_code sc = RTE_DMA_STATUS_SUCCESSFUL;

			rte_dma_completed_status(id, 0, 1, &last, &sc);
			rte_dma_dump(id, stderr);
			cr_assert_fail("operation %u failed: status %d", last,
				sc);
		}
		n -= RTE_MIN(got, n);
		if (got == 0) {
			cr_assert(!mmrt_test_expired(d), "%u never completed",
				n);
			mmrt_test_relax(i++, 255);
		}
	}
	return last;
}

/* Wait until vchan 0 is no longer ACTIVE (as dmadev_autotest's await). */
static void
await_idle(int16_t id)
{
	enum rte_dma_vchan_status st;
	uint64_t d = mmrt_test_deadline(WAIT_S);
	unsigned long i = 0;

	for (;;) {
		cr_assert_eq(rte_dma_vchan_status(id, 0, &st), 0);
		if (st != RTE_DMA_VCHAN_ACTIVE)
			return;
		if (mmrt_test_expired(d)) {
			/* where the operations stopped: the front ring, the
			 * bridge, and the dmadev behind it */
			mmrt_test_dump_threads(stderr);
			rte_dma_dump(id, stderr);
			if (rte_dma_get_dev_id_by_name("dma_skeleton0") >= 0)
				rte_dma_dump((int16_t)rte_dma_get_dev_id_by_name(
					"dma_skeleton0"), stderr);
			cr_assert_fail("vchan stays ACTIVE");
		}
		mmrt_test_relax(i++, 255);
	}
}

static struct rte_dma_stats
stats(int16_t id)
{
	struct rte_dma_stats st;

	cr_assert_eq(rte_dma_stats_get(id, 0, &st), 0);
	return st;
}

/* Copies of several shapes and fills, submitted in two doorbells, reaped
 * after the vchan went idle, checked byte for byte. @first is the index
 * the first one must get. */
static void
copy_fill_round(struct mmrt_as *as, int16_t id, uint16_t first)
{
	static const struct { uint64_t so, doff; uint32_t len; } c[] = {
		{ 0, 0, 1 }, { 4095, 4095, 2 }, { 1, 8190, 4096 },
		{ 100, 3 * PG - 7, 5 * PG + 13 }, { 0, 20 * PG, 40 * PG },
	};
	static const struct { uint64_t doff; uint32_t len; } f[] = {
		{ 62 * PG + 3, 8 }, { 61 * PG - 5, 89 }, { 60 * PG, 1024 },
	};
	static uint8_t want[RGN_LEN], got[RGN_LEN];
	enum rte_dma_status_code status[16];
	unsigned int k, n = 0;
	uint16_t last;
	uint64_t i;
	int ret;

	cr_assert_eq(mmrt_read(as, DST_VA, want, RGN_LEN), 0);
	for (k = 0; k < RTE_DIM(c); k++) {
		ret = rte_dma_copy(id, 0, SRC_VA + c[k].so, DST_VA + c[k].doff,
			c[k].len, 0);
		cr_assert_eq(ret, (uint16_t)(first + n), "copy %u: %d", k, ret);
		n++;
		for (i = 0; i < c[k].len; i++)
			want[c[k].doff + i] = sbyte(c[k].so + i);
	}
	cr_assert_eq(rte_dma_submit(id, 0), 0);
	for (k = 0; k < RTE_DIM(f); k++) {
		ret = rte_dma_fill(id, 0, FILL_PAT, DST_VA + f[k].doff,
			f[k].len, k + 1 == RTE_DIM(f) ?
			RTE_DMA_OP_FLAG_SUBMIT : 0);
		cr_assert_eq(ret, (uint16_t)(first + n), "fill %u: %d", k, ret);
		n++;
		for (i = 0; i < f[k].len; i++)
			want[f[k].doff + i] =
				(uint8_t)(FILL_PAT >> (8 * (i % 8)));
	}
	await_idle(id);
	/* split completion: one by rte_dma_completed, the rest by status */
	last = reap(id, 1);
	cr_assert_eq(last, first);
	ret = rte_dma_completed_status(id, 0, 16, &last, status);
	cr_assert_eq(ret, (int)n - 1);
	cr_assert_eq(last, (uint16_t)(first + n - 1));
	for (k = 0; k < n - 1; k++)
		cr_assert_eq(status[k], RTE_DMA_STATUS_SUCCESSFUL);
	cr_assert_eq(mmrt_read(as, DST_VA, got, RGN_LEN), 0);
	mmrt_test_cmp_buf(got, want, RGN_LEN, DST_VA, "destination");
	/* nothing else to report: last_idx stays at the last one */
	cr_assert_eq(rte_dma_completed(id, 0, 8, &last, NULL), 0);
	cr_assert_eq(last, (uint16_t)(first + n - 1));
}

/* ================================================================== */

Test(dma_mmrt, devargs_copy_fill)
{
	struct rte_dma_stats st;
	struct rte_dma_info info;
	struct mmrt_as *as;
	uint64_t used0;
	int16_t id;
	FILE *f;
	char *dump = NULL;
	size_t dlen = 0;

	id = up_space("dma_mmrt0,as=t0,lcore=1" ACK, "t0", &as, &used0);
	cr_assert_eq(rte_dma_count_avail(), 1);
	cr_assert_eq(rte_dma_info_get(id, &info), 0);
	cr_assert_eq(info.dev_capa & (RTE_DMA_CAPA_MEM_TO_MEM |
		RTE_DMA_CAPA_OPS_COPY | RTE_DMA_CAPA_OPS_FILL |
		RTE_DMA_CAPA_HANDLES_ERRORS), RTE_DMA_CAPA_MEM_TO_MEM |
		RTE_DMA_CAPA_OPS_COPY | RTE_DMA_CAPA_OPS_FILL |
		RTE_DMA_CAPA_HANDLES_ERRORS);
	/* VAs of an mmrt space are not process VAs */
	cr_assert_eq(info.dev_capa & RTE_DMA_CAPA_SVA, 0);
	cr_assert_neq(info.dev_capa & RTE_DMA_CAPA_OPS_COPY_SG, 0);
	cr_assert_eq(info.max_sges, 16);
	cr_assert_leq(info.min_desc, NB_DESC);
	cr_assert_geq(info.max_desc, NB_DESC);

	dev_start(id, NB_DESC);
	st = stats(id);
	cr_assert_eq(st.submitted + st.completed + st.errors, 0);
	cr_assert_eq(rte_dma_burst_capacity(id, 0), NB_DESC - 1);
	copy_fill_round(as, id, 0);
	copy_fill_round(as, id, 8);
	cr_assert_eq(rte_dma_burst_capacity(id, 0), NB_DESC - 1);
	st = stats(id);
	cr_assert_eq(st.submitted, 16);
	cr_assert_eq(st.completed, 16);
	cr_assert_eq(st.errors, 0);

	/* the runtime cannot go while the engine runs */
	cr_assert_eq(mmrt_fini(), -EBUSY);

	f = open_memstream(&dump, &dlen);
	cr_assert_not_null(f);
	cr_assert_eq(rte_dma_dump(id, f), 0);
	fclose(f);
	cr_log_info("%s", dump);
	cr_assert_not_null(strstr(dump, "as=t0"));
	cr_assert_not_null(strstr(dump, "library's started bit 1"));
	free(dump);

	/* indexes restart at 0 after a stop; stats carry over */
	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert_eq(rte_dma_start(id), 0);
	copy_fill_round(as, id, 0);
	st = stats(id);
	cr_assert_eq(st.submitted, 24);
	cr_assert_eq(st.completed, 24);
	cr_assert_eq(rte_dma_stats_reset(id, 0), 0);
	st = stats(id);
	cr_assert_eq(st.submitted + st.completed + st.errors, 0);
	cr_assert_eq(rte_dma_stop(id), 0);

	mmrt_test_as_gone(as, used0);
	/* a stopped device holds nothing of mmrt's */
	cr_assert_eq(mmrt_fini(), 0);
}

Test(dma_mmrt, vdev_init_at_run_time)
{
	struct mmrt_as *as;
	uint64_t used0;
	int16_t id;

	up(NULL);
	used0 = mmrt_test_used();
	as = space("t1");
	cr_assert_eq(rte_dma_count_avail(), 0);
	cr_assert_eq(rte_vdev_init("dma_mmrt1", "as=t1,lcore=1" ACK), 0);
	id = tdmm_dev_id("dma_mmrt1");
	dev_start(id, 1000); /* rounded up to the engine's 1024 */
	cr_assert_eq(rte_dma_burst_capacity(id, 0), 1023);
	copy_fill_round(as, id, 0);
	/* remove stops a started device */
	cr_assert_eq(rte_vdev_uninit("dma_mmrt1"), 0);
	cr_assert_lt(rte_dma_get_dev_id_by_name("dma_mmrt1"), 0);
	cr_assert_eq(rte_dma_count_avail(), 0);
	/* and again, closed by the application first */
	cr_assert_eq(rte_vdev_init("dma_mmrt1", "as=t1" ACK), 0);
	id = tdmm_dev_id("dma_mmrt1");
	dev_start(id, NB_DESC);
	copy_fill_round(as, id, 0);
	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert_eq(rte_dma_close(id), 0);
	cr_assert_eq(rte_vdev_uninit("dma_mmrt1"), 0);
	cr_assert_eq(rte_dma_count_avail(), 0);
	mmrt_test_as_gone(as, used0);
}

Test(dma_mmrt, fault_status)
{
	enum rte_dma_status_code status[8];
	struct rte_dma_stats st;
	struct mmrt_as *as;
	uint64_t used0;
	uint16_t last = 0;
	bool err = false;
	char *dump = NULL, addr[32];
	size_t dlen = 0;
	int16_t id;
	FILE *f;
	uint8_t b[64];

	id = up_space("dma_mmrt0,as=tf,lcore=1" ACK, "tf", &as, &used0);
	dev_start(id, NB_DESC);
	/* op 0 fine, op 1 from a hole, op 2 fine */
	cr_assert_eq(rte_dma_copy(id, 0, SRC_VA, DST_VA, 64, 0), 0);
	cr_assert_eq(rte_dma_copy(id, 0, HOLE_VA + 8, DST_VA + 64, 64, 0), 1);
	cr_assert_eq(rte_dma_copy(id, 0, SRC_VA, DST_VA + 128, 64,
		RTE_DMA_OP_FLAG_SUBMIT), 2);
	await_idle(id);
	cr_assert_eq(rte_dma_completed(id, 0, 8, &last, &err), 1);
	cr_assert_eq(last, 0);
	cr_assert(err);
	/* the failed one stays at the head */
	err = false;
	cr_assert_eq(rte_dma_completed(id, 0, 8, &last, &err), 0);
	cr_assert(err);
	cr_assert_eq(last, 0);
	cr_assert_eq(rte_dma_completed_status(id, 0, 8, &last, status), 2);
	cr_assert_eq(last, 2);
	cr_assert_eq(status[0], RTE_DMA_STATUS_PAGE_FAULT, "status %d",
		status[0]);
	cr_assert_eq(status[1], RTE_DMA_STATUS_SUCCESSFUL);
	st = stats(id);
	cr_assert_eq(st.submitted, 3);
	cr_assert_eq(st.completed, 3);
	cr_assert_eq(st.errors, 1);
	cr_assert_eq(mmrt_read(as, DST_VA + 128, b, sizeof(b)), 0);
	cr_assert_eq(b[5], sbyte(5));
	/* the faulting address is in the dump */
	f = open_memstream(&dump, &dlen);
	cr_assert_not_null(f);
	cr_assert_eq(rte_dma_dump(id, f), 0);
	fclose(f);
	snprintf(addr, sizeof(addr), "%#" PRIx64, HOLE_VA + 8);
	cr_assert_not_null(strstr(dump, addr), "dump: %s", dump);
	free(dump);
	cr_assert_eq(rte_dma_stop(id), 0);
	mmrt_test_as_gone(as, used0);
}

/* ---- copy_sg ---- */

static struct mmrt_dma_mmrt_stats mstats(int16_t id);

#define UF_VA UINT64_C(0x40000000)
#define MAX_SGES 16

/* Mirror of a scatter-gather copy into @want (DST_VA based), the source
 * being SRC_VA's pattern (@src addresses all in SRC). */
static void
sg_mirror(uint8_t *want, const struct rte_dma_sge *src, uint16_t nb_src,
	const struct rte_dma_sge *dst, uint16_t nb_dst)
{
	uint64_t si = 0, di = 0;
	uint16_t i = 0, j = 0;

	while (i < nb_src && j < nb_dst) {
		want[dst[j].addr - DST_VA + di] =
			sbyte(src[i].addr - SRC_VA + si);
		if (++si == src[i].length) {
			i++;
			si = 0;
		}
		if (++di == dst[j].length) {
			j++;
			di = 0;
		}
	}
}

/* Wait for the next uffd message: a missing-page fault at @va. */
static void
uffd_fault_at(struct mmrt_uffd *u, uint64_t va)
{
	uint64_t d = mmrt_test_deadline(WAIT_S);
	struct mmrt_uffd_msg m;
	unsigned long i = 0;
	int n;

	while ((n = mmrt_uffd_read(u, &m, 1)) == 0) {
		cr_assert(!mmrt_test_expired(d), "no fault at %#" PRIx64, va);
		mmrt_test_relax(i++, 255);
	}
	cr_assert_eq(n, 1);
	cr_assert_eq(m.event, MMRT_UFFD_EVENT_PAGEFAULT);
	cr_assert_eq(m.arg.pagefault.address, va, "fault at %#" PRIx64
		", want %#" PRIx64, (uint64_t)m.arg.pagefault.address, va);
}

/*
 * rte_dma_copy_sg(): segment lists of several shapes across page
 * boundaries byte for byte; an sg op that parks twice inside its second
 * destination segment (pages a uffd serves) and resumes there, in order
 * with the copy behind it; an unresolvable fault (a source segment in a
 * hole) completes with PAGE_FAULT having written exactly the chunks
 * before it; bad lists refused with -EINVAL, nothing enqueued.
 */
Test(dma_mmrt, copy_sg)
{
	struct rte_dma_sge s1[] = {
		{ SRC_VA + 100, 5000 }, { SRC_VA + 10 * PG - 7, 3000 },
		{ SRC_VA + 30 * PG, 2 * PG + 5 },
	};
	struct rte_dma_sge d1[] = {
		{ DST_VA + PG - 3, 7000 }, { DST_VA + 5 * PG, 4097 },
		{ DST_VA + 9 * PG + 1, 1 }, { DST_VA + 12 * PG + 11, 5099 },
	};
	struct rte_dma_sge s2[MAX_SGES], d2[1] = { { DST_VA + 16 * PG + 13,
		MAX_SGES * PG } };
	struct rte_dma_sge s3[1] = { { SRC_VA + 40 * PG + 1, MAX_SGES * 1024 } };
	struct rte_dma_sge d3[MAX_SGES], bad[MAX_SGES + 1];
	struct rte_dma_sge ps[] = { { SRC_VA + 50 * PG + 9, 3 * PG } };
	struct rte_dma_sge pd[] = { { DST_VA + 40 * PG + 1, PG + 99 },
		{ UF_VA + 50, 2 * PG - 99 } };
	struct rte_dma_sge es[] = { { SRC_VA, PG }, { HOLE_VA, PG } };
	struct rte_dma_sge ed[] = { { DST_VA + 50 * PG + 8, 2 * PG } };
	enum rte_dma_status_code status[4];
	static uint8_t want[RGN_LEN], got[RGN_LEN], page[2 * PG];
	uint8_t ufwant[4 * PG], ufgot[4 * PG];
	struct rte_dma_stats st;
	struct mmrt_uffd_conf ucf = { .wait_timeout_us = 20 * 1000 * 1000 };
	struct mmrt_uffd *u;
	struct mmrt_as *as;
	uint64_t used0, feat = 0, i;
	uint16_t last = 0;
	bool err = false;
	char *dump = NULL;
	size_t dlen = 0;
	unsigned int k;
	int16_t id;
	FILE *f;

	up("dma_mmrt0,as=tsg,lcore=1" ACK);
	used0 = mmrt_test_used();
	as = space("tsg");
	cr_assert_eq(mmrt_map(as, UF_VA, 4 * PG, MMRT_PROT_READ |
		MMRT_PROT_WRITE, 0), 0);
	u = mmrt_uffd_create(as, MMRT_UFFD_API, &feat, &ucf);
	cr_assert_not_null(u);
	cr_assert_eq(mmrt_uffd_register(u, UF_VA, 4 * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL), 0);
	id = tdmm_dev_id("dma_mmrt0");
	dev_start(id, NB_DESC);

	/* shapes, byte for byte */
	for (k = 0; k < MAX_SGES; k++) {
		s2[k].addr = SRC_VA + 2 * k * PG + (k == 0 ? 0 : 7);
		s2[k].length = PG;
		d3[k].addr = DST_VA + 34 * PG + k * 1500 + (k & 3);
		d3[k].length = 1024;
	}
	cr_assert_eq(mmrt_read(as, DST_VA, want, RGN_LEN), 0);
	cr_assert_eq(rte_dma_copy_sg(id, 0, s1, d1, RTE_DIM(s1), RTE_DIM(d1),
		0), 0);
	sg_mirror(want, s1, RTE_DIM(s1), d1, RTE_DIM(d1));
	cr_assert_eq(rte_dma_copy_sg(id, 0, s2, d2, MAX_SGES, 1, 0), 1);
	sg_mirror(want, s2, MAX_SGES, d2, 1);
	cr_assert_eq(rte_dma_copy_sg(id, 0, s3, d3, 1, MAX_SGES,
		RTE_DMA_OP_FLAG_SUBMIT), 2);
	sg_mirror(want, s3, 1, d3, MAX_SGES);
	await_idle(id);
	cr_assert_eq(reap(id, 3), 2);
	cr_assert_eq(mmrt_read(as, DST_VA, got, RGN_LEN), 0);
	mmrt_test_cmp_buf(got, want, RGN_LEN, DST_VA, "sg destination");

	/* bad lists: -EINVAL, nothing enqueued */
	memcpy(bad, s2, sizeof(s2));
	bad[MAX_SGES] = s2[0];
	cr_assert_eq(rte_dma_copy_sg(id, 0, bad, d2, MAX_SGES + 1, 1, 0),
		-EINVAL);                                     /* 17 segments */
	cr_assert_eq(rte_dma_copy_sg(id, 0, s1, d1, 0, RTE_DIM(d1), 0),
		-EINVAL);                                     /* none */
	cr_assert_eq(rte_dma_copy_sg(id, 0, s1, d1, RTE_DIM(s1), 2, 0),
		-EINVAL);                                     /* totals */
	bad[0] = (struct rte_dma_sge){ DST_VA + PG, 100 };
	bad[1] = (struct rte_dma_sge){ DST_VA + 200, PG };
	cr_assert_eq(rte_dma_copy_sg(id, 0, bad, &bad[1], 1, 1, 0), -EINVAL,
		"overlap");
	bad[0].length = 0;
	bad[1].length = 0;
	cr_assert_eq(rte_dma_copy_sg(id, 0, bad, &bad[1], 1, 1, 0), -EINVAL,
		"empty");
	cr_assert_eq(rte_dma_burst_capacity(id, 0), NB_DESC - 1);

	/* park and resume inside the second destination segment */
	cr_assert_eq(rte_dma_copy_sg(id, 0, ps, pd, 1, 2, 0), 3);
	sg_mirror(want, ps, 1, pd, 1);
	cr_assert_eq(rte_dma_copy(id, 0, SRC_VA, DST_VA + 45 * PG, 64,
		RTE_DMA_OP_FLAG_SUBMIT), 4);
	for (i = 0; i < 64; i++)
		want[45 * PG + i] = sbyte(i);
	memset(ufwant, 0, sizeof(ufwant));
	for (i = 0; i < 2 * PG - 99; i++)
		ufwant[50 + i] = sbyte(50 * PG + 9 + PG + 99 + i);
	uffd_fault_at(u, UF_VA);
	/* parked: its first segment is written, nothing behind it ran */
	cr_assert_eq(rte_dma_completed(id, 0, 8, &last, &err), 0);
	cr_assert_eq(last, 2);
	cr_assert_eq(mmrt_read(as, DST_VA + 40 * PG + 1, got, PG + 99), 0);
	mmrt_test_cmp_buf(got, want + 40 * PG + 1, PG + 99,
		DST_VA + 40 * PG + 1, "first segment while parked");
	cr_assert_eq(mmrt_read(as, DST_VA + 45 * PG, got, 64), 0);
	for (i = 0; i < 64; i++)
		cr_assert_eq(got[i], 0, "the copy behind ran");
	memset(page, 0, sizeof(page));
	{
		struct mmrt_uffd_copy c = { .dst = UF_VA, .src = page,
			.len = PG, .copy = INT64_MIN };

		cr_assert_eq(mmrt_uffd_copy(u, &c), 0);
	}
	/* resumed at the first page, parks again at the second */
	uffd_fault_at(u, UF_VA + PG);
	cr_assert_eq(rte_dma_completed(id, 0, 8, &last, &err), 0);
	{
		struct mmrt_uffd_copy c = { .dst = UF_VA + PG, .src = page,
			.len = PG, .copy = INT64_MIN };

		cr_assert_eq(mmrt_uffd_copy(u, &c), 0);
	}
	await_idle(id);
	cr_assert_eq(reap(id, 2), 4);
	{
		struct mmrt_dma_mmrt_stats ms = mstats(id);

		cr_assert(!ms.dev_mode);
		/* the engine runs in this process */
		cr_assert_eq(ms.run_pid, (int32_t)getpid());
		cr_assert_geq(ms.parks, 2, "parks %" PRIu64, ms.parks);
		cr_assert_geq(ms.resumes, 2, "resumes %" PRIu64, ms.resumes);
		cr_assert_eq(ms.errors, 0);
	}
	cr_assert_eq(mmrt_read(as, DST_VA, got, RGN_LEN), 0);
	mmrt_test_cmp_buf(got, want, RGN_LEN, DST_VA, "after the resume");
	cr_assert_eq(mmrt_read(as, UF_VA, ufgot, sizeof(ufgot) / 2), 0);
	mmrt_test_cmp_buf(ufgot, ufwant, sizeof(ufgot) / 2, UF_VA,
		"uffd pages");

	/* a source segment in a hole: PAGE_FAULT, the first chunk written */
	cr_assert_eq(rte_dma_copy_sg(id, 0, es, ed, 2, 1,
		RTE_DMA_OP_FLAG_SUBMIT), 5);
	for (i = 0; i < PG; i++)
		want[50 * PG + 8 + i] = sbyte(i);
	await_idle(id);
	cr_assert_eq(rte_dma_completed(id, 0, 8, &last, &err), 0);
	cr_assert(err);
	cr_assert_eq(rte_dma_completed_status(id, 0, 4, &last, status), 1);
	cr_assert_eq(last, 5);
	cr_assert_eq(status[0], RTE_DMA_STATUS_PAGE_FAULT, "status %d",
		status[0]);
	cr_assert_eq(mmrt_read(as, DST_VA, got, RGN_LEN), 0);
	mmrt_test_cmp_buf(got, want, RGN_LEN, DST_VA, "after the fault");
	st = stats(id);
	cr_assert_eq(st.submitted, 6);
	cr_assert_eq(st.completed, 6);
	cr_assert_eq(st.errors, 1);
	f = open_memstream(&dump, &dlen);
	cr_assert_not_null(f);
	cr_assert_eq(rte_dma_dump(id, f), 0);
	fclose(f);
	cr_assert_not_null(strstr(dump, "copy_sg 2+1 segments"), "dump: %s",
		dump);
	free(dump);

	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	mmrt_test_as_gone(as, used0);
}

/* ---- dev=: a real dmadev (dma_skeleton0) behind the translation ---- */

static char *dump_of(int16_t id);

#define SKEL "dma_skeleton0"
#define IV_OPS 256
#define IV_LEN (16 * 1024)
#define IV_SIZE ((uint64_t)IV_OPS * IV_LEN)
#define IV_ROUNDS 16
#define IV_ROUNDS_MAX 64
#define IV_VA UINT64_C(0x100000000)
#define IV_VB UINT64_C(0x200000000)
#define IV_VE UINT64_C(0x300000000)
#define GUARD 0xa4
#define CANARY 0xee

/* The invalidating thread, on the skeleton's cpu. */
static struct tdmm_iv iv;

/*
 * The EAL for the dev= tests: lcore 0 (the test), lcore 1 (the
 * skeleton's copy thread) and lcore 2 (the dma_mmrt worker, which drives
 * the bridge), all floating over two cpus (mmrt_test_lcores()); @dmm:
 * dma_mmrt0's devargs. Skips when the skeleton cannot be probed.
 */
static void
up_dev(const char *dmm)
{
	char vd[256];
	cpu_set_t cs;

	CPU_ZERO(&cs);
	if (sched_getaffinity(0, sizeof(cs), &cs) != 0)
		CPU_SET(0, &cs);
	if (CPU_COUNT(&cs) < 2)
		cr_skip_test("needs 2 cpus");
	snprintf(vd, sizeof(vd), "dma_mmrt0,%s", dmm);
	up_eal("dmmd", 3, SKEL ",lcore=1", vd);
	if (rte_dma_get_dev_id_by_name(SKEL) < 0)
		cr_skip_test("no dmadev %s (is librte_dma_skeleton installed?)",
			SKEL);
}

/* The device's mmrt counters (it is started). */
static struct mmrt_dma_mmrt_stats
mstats(int16_t id)
{
	struct mmrt_dma_mmrt_stats ms;
	int ret = mmrt_dma_mmrt_stats(id, &ms);

	cr_assert_eq(ret, 0, "mmrt_dma_mmrt_stats: %d", ret);
	return ms;
}

/*
 * The copies of the rte_dma_* tests on a dma_mmrt with the skeleton
 * behind it: copies of several shapes (no fill: not advertised), a
 * PAGE_FAULT from a hole, ring indexes from 0 again after a restart, the
 * skeleton started and stopped with dma_mmrt0.
 */
Test(dma_mmrt, dev_copies)
{
	static const struct { uint64_t so, doff; uint32_t len; } c[] = {
		{ 0, 0, 1 }, { 4095, 4095, 2 }, { 1, 8190, 4096 },
		{ 100, 3 * PG - 7, 5 * PG + 13 }, { 0, 20 * PG, 40 * PG },
	};
	static uint8_t want[RGN_LEN], got[RGN_LEN];
	enum rte_dma_status_code status[8];
	struct rte_dma_info info;
	struct rte_dma_stats st;
	struct mmrt_as *as;
	uint64_t used0, i;
	uint16_t last = 0;
	unsigned int k, pass;
	bool err = false;
	int16_t id, sk;
	int ret;

	up_dev("as=tdev,lcore=2,dev=" SKEL ACK);
	used0 = mmrt_test_used();
	as = space("tdev");
	id = tdmm_dev_id("dma_mmrt0");
	sk = tdmm_dev_id(SKEL);
	cr_assert_eq(rte_dma_info_get(id, &info), 0);
	cr_assert_eq(info.dev_capa & (RTE_DMA_CAPA_OPS_FILL |
		RTE_DMA_CAPA_OPS_COPY_SG | RTE_DMA_CAPA_SVA), 0);
	cr_assert_neq(info.dev_capa & RTE_DMA_CAPA_HANDLES_ERRORS, 0);
	cr_assert_eq(info.max_sges, 0);
	cr_assert_eq(info.max_vchans, 1);
	for (pass = 0; pass < 2; pass++) {
		dev_start(id, NB_DESC);
		/* the library's stub */
		cr_assert_eq(rte_dma_fill(id, 0, FILL_PAT, DST_VA, 8, 0),
			-EINVAL);
		/*
		 * Not read before the first pass: a read maps the zero page,
		 * and the device's first write would then need copy-on-write
		 * (a park, and an invalidation the bridge holds while pieces
		 * are on the skeleton, whose thread a loaded machine starves
		 * past the park timeout). Demand-zero pages are filled in
		 * place. The dev_ack_hold tests cover the invalidations.
		 */
		if (pass == 0)
			memset(want, 0, RGN_LEN);
		else
			cr_assert_eq(mmrt_read(as, DST_VA, want, RGN_LEN), 0);
		for (k = 0; k < RTE_DIM(c); k++) {
			ret = rte_dma_copy(id, 0, SRC_VA + c[k].so,
				DST_VA + c[k].doff, c[k].len,
				k + 1 == RTE_DIM(c) ?
				RTE_DMA_OP_FLAG_SUBMIT : 0);
			cr_assert_eq(ret, (int)k, "copy %u: %d", k, ret);
			for (i = 0; i < c[k].len; i++)
				want[c[k].doff + i] = sbyte(c[k].so + i);
		}
		await_idle(id);
		cr_assert_eq(reap(id, RTE_DIM(c)), RTE_DIM(c) - 1);
		cr_assert_eq(mmrt_read(as, DST_VA, got, RGN_LEN), 0);
		mmrt_test_cmp_buf(got, want, RGN_LEN, DST_VA, "destination");
		/* a hole: PAGE_FAULT, the next one fine */
		cr_assert_eq(rte_dma_copy(id, 0, HOLE_VA, DST_VA, 64, 0),
			(int)RTE_DIM(c));
		cr_assert_eq(rte_dma_copy(id, 0, SRC_VA, DST_VA + 64, 64,
			RTE_DMA_OP_FLAG_SUBMIT), (int)RTE_DIM(c) + 1);
		await_idle(id);
		cr_assert_eq(rte_dma_completed(id, 0, 8, &last, &err), 0);
		cr_assert(err);
		cr_assert_eq(rte_dma_completed_status(id, 0, 8, &last, status),
			2);
		cr_assert_eq(status[0], RTE_DMA_STATUS_PAGE_FAULT);
		cr_assert_eq(status[1], RTE_DMA_STATUS_SUCCESSFUL);
		{
			struct mmrt_dma_mmrt_stats ms = mstats(id);

			cr_assert(ms.dev_mode);
			cr_assert_eq(ms.run_pid, (int32_t)getpid());
			cr_assert_eq(ms.submitted, RTE_DIM(c) + 2);
			cr_assert_eq(ms.completed, RTE_DIM(c) + 2);
			cr_assert_eq(ms.errors, 1);
			cr_assert_geq(ms.pieces, RTE_DIM(c) + 1);
			cr_assert_eq(ms.inflight, 0);
			cr_assert_eq(ms.consumer.fences, 0);
		}
		/* the skeleton runs while dma_mmrt0 does, only then */
		cr_assert_eq(rte_dma_vchan_status(sk, 0,
			&(enum rte_dma_vchan_status){ 0 }), 0);
		cr_assert_eq(rte_dma_stop(id), 0);
		/* stopped with dma_mmrt0: anyone may configure it now */
		cr_assert_eq(rte_dma_configure(sk,
			&(struct rte_dma_conf){ .nb_vchans = 1 }), 0);
	}
	/* dev= naming no dmadev: probed, refused at start */
	cr_assert_eq(rte_vdev_init("dma_mmrt7", "as=tdev,service=1,dev=nosuch"),
		0);
	k = (unsigned int)tdmm_dev_id("dma_mmrt7");
	cr_assert_eq(rte_dma_configure((int16_t)k,
		&(struct rte_dma_conf){ .nb_vchans = 1 }), 0);
	cr_assert_eq(rte_dma_vchan_setup((int16_t)k, 0,
		&(struct rte_dma_vchan_conf){ .direction =
		RTE_DMA_DIR_MEM_TO_MEM, .nb_desc = NB_DESC }), 0);
	cr_assert_eq(rte_dma_start((int16_t)k), -ENODEV);
	cr_assert_eq(rte_vdev_uninit("dma_mmrt7"), 0);
	cr_assert_eq(rte_dma_count_avail(), 2);
	/* the mmrt counters: only while started, only of dma_mmrt */
	{
		struct mmrt_dma_mmrt_stats ms;

		cr_assert_eq(mmrt_dma_mmrt_stats(id, &ms), -ENOTCONN);
		cr_assert_eq(mmrt_dma_mmrt_stats(sk, &ms), -ENODEV);
		cr_assert_eq(mmrt_dma_mmrt_stats(id, NULL), -EINVAL);
	}
	st = stats(id);
	cr_assert_eq(st.submitted, 2 * (RTE_DIM(c) + 2));
	cr_assert_eq(st.completed, st.submitted);
	cr_assert_eq(st.errors, 2);
	mmrt_test_as_gone(as, used0);
	cr_assert_eq(mmrt_fini(), 0);
}

/*
 * The bridge's ack hold, through dma_mmrt0,dev=dma_skeleton0: rounds of
 * IV_OPS copies of 16 KiB (4 pieces each on the device); once the
 * skeleton holds pieces, another thread (on the skeleton's cpu, so the
 * device stalls while it runs) write-protects or unmaps the destination,
 * or unmaps the source.
 * Invariant A: every piece the device was given before the call started
 * was copied before the call returned, so no frame is reused and nothing
 * is written under a dropped translation; the ops after the cut fail with
 * the status of the change, the ones before it are whole. Rounds go on
 * (bounded) until one had pieces on the device at the call and the dump
 * shows acks held.
 */
static void
ack_hold_rounds(enum tdmm_iv_kind kind, const char *name)
{
	enum rte_dma_status_code status[64], bad;
	uint8_t *src, *d, *want;
	unsigned int round, good = 0, k, got;
	uint64_t used0, held0, held, first_bad, i, dl;
	struct rte_dma_stats ds0;
	struct mmrt_as *as;
	char args[128];
	cpu_set_t cpus;
	pthread_t th;
	uint16_t last;
	int16_t id;

	bad = kind == IV_PROTECT_DST ? RTE_DMA_STATUS_INVALID_DST_ADDR :
		RTE_DMA_STATUS_PAGE_FAULT;
	/* (an unmapped source or destination is a hole: PAGE_FAULT) */
	/* a long ack deadline: the bridge holds acks while the skeleton's
	 * thread, sharing its cpu with the invalidator, is off the cpu, and
	 * a loaded machine keeps it off for long; a fence would fail every
	 * later op with BUS_ERROR */
	snprintf(args, sizeof(args), "as=%s,lcore=2,dev=" SKEL
		",ack_us=30000000,park_us=30000000", name);
	up_dev(args);
	used0 = mmrt_test_used();
	as = mmrt_as_create(name);
	cr_assert_not_null(as);
	src = malloc(IV_SIZE);
	d = malloc(IV_SIZE);
	want = malloc(IV_SIZE);
	cr_assert(src != NULL && d != NULL && want != NULL);
	for (i = 0; i < IV_SIZE; i++)
		src[i] = (uint8_t)(i * 13 + (i >> 14) + 5);
	id = tdmm_dev_id("dma_mmrt0");
	iv = (struct tdmm_iv){ .as = as, .kind = kind, .s = IV_VA,
		.d = IV_VB, .e = IV_VE, .len = IV_SIZE, .canary = CANARY,
		.skel = tdmm_dev_id(SKEL), .bridge = -1,
		.snap = malloc(IV_SIZE) };
	cr_assert_not_null(iv.snap);
	dev_start(id, 2048);
	cpus = rte_lcore_cpuset(1);
	cr_assert_eq(pthread_create(&th, NULL, tdmm_iv_main, &iv), 0);
	cr_assert_eq(pthread_setaffinity_np(th, sizeof(cpus), &cpus), 0);

	for (round = 1; round <= IV_ROUNDS ||
			(good == 0 && round <= IV_ROUNDS_MAX); round++) {
		if (round == 1 || kind == IV_UNMAP_SRC) {
			cr_assert_eq(mmrt_map(as, IV_VA, IV_SIZE,
				MMRT_PROT_READ | MMRT_PROT_WRITE, 0), 0);
			cr_assert_eq(mmrt_write(as, IV_VA, src, IV_SIZE), 0);
		}
		if (round == 1 || kind == IV_UNMAP_DST)
			cr_assert_eq(mmrt_map(as, IV_VB, IV_SIZE,
				MMRT_PROT_READ | MMRT_PROT_WRITE, 0), 0);
		else
			cr_assert_eq(mmrt_protect(as, IV_VB, IV_SIZE,
				MMRT_PROT_READ | MMRT_PROT_WRITE), 0);
		memset(d, GUARD, IV_SIZE);
		cr_assert_eq(mmrt_write(as, IV_VB, d, IV_SIZE), 0);
		held0 = mstats(id).acks_held;
		cr_assert_eq(rte_dma_stats_get(iv.skel, 0, &ds0), 0);
		for (k = 0; k < IV_OPS; k++)
			cr_assert_eq(rte_dma_copy(id, 0,
				IV_VA + (uint64_t)k * IV_LEN,
				IV_VB + (uint64_t)k * IV_LEN, IV_LEN,
				k + 1 == IV_OPS ? RTE_DMA_OP_FLAG_SUBMIT : 0),
				(int)((round - 1) * IV_OPS + k) & 0xffff);
		/* until the skeleton has pieces (bounded: go anyway) */
		dl = mmrt_test_deadline(2);
		for (i = 0; !mmrt_test_expired(dl); i++) {
			struct rte_dma_stats ds;

			cr_assert_eq(rte_dma_stats_get(iv.skel, 0, &ds), 0);
			if (ds.submitted > ds.completed)
				break;
			mmrt_test_relax(i, 255);
		}
		__atomic_store_n(&iv.go, (int)round, __ATOMIC_RELEASE);
		dl = mmrt_test_deadline(WAIT_S);
		for (i = 0; __atomic_load_n(&iv.done, __ATOMIC_ACQUIRE) !=
				(int)round; i++) {
			if (mmrt_test_expired(dl)) {
				struct rte_dma_stats ds;
				char *dm;

				mmrt_test_dump_threads(stderr);
					dm = dump_of(id);

				(void)rte_dma_stats_get(iv.skel, 0, &ds);
				cr_assert_fail("round %u: the invalidation "
					"never returned; skeleton: %" PRIu64
					" given, %" PRIu64 " copied; %s", round,
					ds.submitted, ds.completed, dm);
			}
			mmrt_test_relax(i, 15);
		}
		cr_assert_eq(iv.rc, 0, "round %u: %d", round, iv.rc);
		cr_assert_eq(iv.err, 0, "round %u: after the call: %d", round,
			iv.err);
		/* invariant A, on the device's own counters */
		cr_assert_geq(iv.after.completed, iv.before.submitted,
			"round %u: %" PRIu64 " pieces given before the call, %"
			PRIu64 " copied when it returned", round,
			iv.before.submitted - ds0.submitted,
			iv.after.completed - ds0.submitted);
		if (kind != IV_PROTECT_DST)
			/* every piece touches the range: none after it */
			cr_assert_geq(iv.after.completed, iv.after.submitted,
				"round %u: pieces on the device after the "
				"unmap returned", round);
		/* statuses: successes, then failures */
		first_bad = IV_OPS;
		for (got = 0, dl = mmrt_test_deadline(WAIT_S), i = 0;
				got < IV_OPS; ) {
			uint16_t n = rte_dma_completed_status(id, 0,
				RTE_MIN(64u, IV_OPS - got), &last, status);

			for (k = 0; k < n; k++) {
				if (status[k] != RTE_DMA_STATUS_SUCCESSFUL &&
						first_bad == IV_OPS)
					first_bad = got + k;
				if (first_bad != IV_OPS)
					cr_assert_eq(status[k], bad, "round %u:"
						" op %u: status %d, want %d",
						round, got + k, status[k], bad);
			}
			got += n;
			if (n == 0) {
				cr_assert(!mmrt_test_expired(dl),
					"round %u: %u of %u", round, got,
					IV_OPS);
				mmrt_test_relax(i++, 255);
			}
		}
		held = mstats(id).acks_held;
		if (iv.before.submitted > iv.before.completed && held > held0)
			good++;
		cr_log_info("%s round %u: %" PRIu64 " pieces on the device at "
			"the call, %" PRIu64 " ops failed from op %" PRIu64
			", acks held %" PRIu64, name, round,
			iv.before.submitted - iv.before.completed,
			IV_OPS - first_bad, first_bad, held - held0);
		/* contents */
		if (kind != IV_UNMAP_DST) {
			cr_assert_eq(mmrt_read(as, IV_VB, d, IV_SIZE), 0);
			if (kind == IV_PROTECT_DST)
				mmrt_test_cmp_buf(d, iv.snap, IV_SIZE, IV_VB,
					"D now vs. D when protect returned");
			mmrt_test_cmp_ops(d, src, want, IV_OPS, IV_LEN,
				first_bad, GUARD, IV_VB, "D");
		} else {
			/* nothing wrote into D's old frames */
			cr_assert_eq(mmrt_read(as, IV_VE, d, IV_SIZE), 0);
			for (i = 0; i < IV_SIZE; i++)
				cr_assert_eq(d[i], CANARY, "round %u: E+%#"
					PRIx64 " written", round, i);
			cr_assert_eq(mmrt_unmap(as, IV_VE, IV_SIZE), 0);
		}
	}
	__atomic_store_n(&iv.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	{
		char *dm = dump_of(id);

		cr_log_info("%s: dump: %s", name, dm);
		free(dm);
	}
	cr_assert_geq(good, 1, "no round had pieces on the device when the "
		"invalidation came and held its ack");
	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(src);
	free(d);
	free(want);
	free(iv.snap);
	cr_assert_eq(mmrt_test_used(), used0, "frames leaked");
}

Test(dma_mmrt, dev_ack_hold_protect, .timeout = 300)
{
	ack_hold_rounds(IV_PROTECT_DST, "ivprot");
}

Test(dma_mmrt, dev_ack_hold_unmap, .timeout = 300)
{
	ack_hold_rounds(IV_UNMAP_DST, "ivunmap");
}

Test(dma_mmrt, dev_ack_hold_unmap_src, .timeout = 300)
{
	ack_hold_rounds(IV_UNMAP_SRC, "ivusrc");
}

Test(dma_mmrt, bad_devargs)
{
	static const char *const bad[] = {
		"as=nosuch,lcore=1",            /* no such space */
		"as=tb,bogus=1",                /* unknown key */
		"as=tb,lcore=abc",              /* malformed */
		"as=tb,lcore=-1",
		"as=tb,lcore=99999",            /* out of range */
		"as=tb,lcore=7",                /* not enabled */
		"as=tb,lcore=0",                /* the main lcore */
		"as=tb,lcore=1,service=1",      /* both */
		"as=tb,as=tb",                  /* twice */
		"as",                           /* no value */
		"as=",
		"as=tb,service=2",
		"as=tb,idle=sometimes",
		"as=tb,burst=0",
		"as=tb,ack_us=5",
		"as=tb,park_us=0",
		"as=tb,park_us=1x",
		"as=tb,lookahead=2",
		"as=tb,lookahead=yes",
		"as=tb,dev=dma_mmrt0",          /* stacked */
		"as=tb,dev=dma_mmrt_7",
		"as=tb,dev=dma_skeleton0123456789012345678901234567890123456789012345678901234567890",
		"as=tb,dev=a,dev=b",
		"as=0123456789012345678901234567890123456789",
	};
	struct mmrt_as *as;
	uint64_t used0;
	unsigned int k;
	int ret;

	up(NULL);
	used0 = mmrt_test_used();
	as = space("tb");
	for (k = 0; k < RTE_DIM(bad); k++) {
		ret = rte_vdev_init("dma_mmrt5", bad[k]);
		cr_assert_lt(ret, 0, "\"%s\" accepted", bad[k]);
		cr_assert_eq(rte_dma_count_avail(), 0, "\"%s\" left a device",
			bad[k]);
	}
	/* lcore in use: by another dma_mmrt device */
	cr_assert_eq(rte_vdev_init("dma_mmrt5", "as=tb,lcore=1"), 0);
	cr_assert_lt(rte_vdev_init("dma_mmrt6", "as=tb,lcore=1"), 0);
	/* ... and when none is left for the default */
	cr_assert_lt(rte_vdev_init("dma_mmrt6", "as=tb"), 0);
	cr_assert_eq(rte_dma_count_avail(), 1);
	cr_assert_eq(rte_vdev_uninit("dma_mmrt5"), 0);
	cr_assert_eq(rte_dma_count_avail(), 0);
	/* the space went away before start */
	cr_assert_eq(rte_vdev_init("dma_mmrt5", "as=tb,lcore=1"), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	{
		struct rte_dma_conf conf = { .nb_vchans = 1 };
		struct rte_dma_vchan_conf vc = {
			.direction = RTE_DMA_DIR_MEM_TO_MEM,
			.nb_desc = NB_DESC,
		};
		int16_t id = tdmm_dev_id("dma_mmrt5");

		cr_assert_eq(rte_dma_configure(id, &conf), 0);
		cr_assert_eq(rte_dma_vchan_setup(id, 0, &vc), 0);
		cr_assert_eq(rte_dma_start(id), -ENODEV);
	}
	cr_assert_eq(rte_vdev_uninit("dma_mmrt5"), 0);
	cr_assert_eq(mmrt_test_used(), used0, "frames leaked");
}

Test(dma_mmrt, ranges_and_stopped_device)
{
	struct rte_dma_conf conf = { .nb_vchans = 1 };
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
		.nb_desc = NB_DESC,
	};
	struct rte_dma_info info;
	struct mmrt_as *as;
	uint16_t last;
	uint64_t used0;
	bool err;
	int16_t id;

	id = up_space("dma_mmrt0,as=tr,lcore=1" ACK, "tr", &as, &used0);
	cr_assert_eq(rte_dma_info_get(id, &info), 0);

	/* not configured: cannot start */
	cr_assert_lt(rte_dma_start(id), 0);
	conf.nb_vchans = 0;
	cr_assert_eq(rte_dma_configure(id, &conf), -EINVAL);
	conf.nb_vchans = info.max_vchans + 1;
	cr_assert_eq(rte_dma_configure(id, &conf), -EINVAL);
	conf.nb_vchans = 1;
	conf.enable_silent = true;
	cr_assert_eq(rte_dma_configure(id, &conf), -EINVAL);
	conf.enable_silent = false;
	cr_assert_eq(rte_dma_configure(id, &conf), 0);

	vc.nb_desc = info.min_desc - 1;
	cr_assert_eq(rte_dma_vchan_setup(id, 0, &vc), -EINVAL);
	vc.nb_desc = info.max_desc + 1;
	cr_assert_eq(rte_dma_vchan_setup(id, 0, &vc), -EINVAL);
	vc.nb_desc = NB_DESC;
	cr_assert_eq(rte_dma_vchan_setup(id, 1, &vc), -EINVAL);
	vc.direction = RTE_DMA_DIR_MEM_TO_DEV;
	cr_assert_eq(rte_dma_vchan_setup(id, 0, &vc), -EINVAL);
	vc.direction = RTE_DMA_DIR_MEM_TO_MEM;
	/* configured but no vchan: start refused */
	cr_assert_lt(rte_dma_start(id), 0);
	cr_assert_eq(rte_dma_vchan_setup(id, 0, &vc), 0);

	/* stopped: the data path refuses, nothing is enqueued */
	cr_assert_eq(rte_dma_copy(id, 0, SRC_VA, DST_VA, 8, 0), -EINVAL);
	cr_assert_eq(rte_dma_fill(id, 0, 1, DST_VA, 8, 0), -EINVAL);
	cr_assert_eq(rte_dma_burst_capacity(id, 0), 0);
	cr_assert_eq(rte_dma_completed(id, 0, 8, &last, &err), 0);
	cr_assert(!err);

	cr_assert_eq(rte_dma_start(id), 0);
	/* started: reconfiguring is refused, closing too */
	cr_assert_eq(rte_dma_configure(id, &conf), -EBUSY);
	cr_assert_eq(rte_dma_vchan_setup(id, 0, &vc), -EBUSY);
	cr_assert_eq(rte_dma_close(id), -EBUSY);
	cr_assert_eq(rte_dma_copy(id, 0, SRC_VA, DST_VA, 8,
		RTE_DMA_OP_FLAG_SUBMIT), 0);
	/* bad operations on a started device */
	cr_assert_eq(rte_dma_copy(id, 0, SRC_VA, DST_VA, 0, 0), -EINVAL);
	cr_assert_eq(rte_dma_copy(id, 0, SRC_VA, SRC_VA + 4, 8, 0), -EINVAL);
	cr_assert_eq(rte_dma_copy(id, 0, SRC_VA, DST_VA, 8, 1u << 20),
		-EINVAL);
	reap(id, 1);
	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert_eq(rte_dma_copy(id, 0, SRC_VA, DST_VA, 8, 0), -EINVAL);
	cr_assert_eq(rte_dma_submit(id, 0), -EINVAL);
	cr_assert_eq(stats(id).submitted, 1);
	mmrt_test_as_gone(as, used0);
}

Test(dma_mmrt, service_mode)
{
	struct rte_dma_stats st;
	struct mmrt_as *as;
	uint64_t used0;
	uint32_t sid;
	int16_t id;

	id = up_space("dma_mmrt0,as=ts,service=1" ACK, "ts", &as, &used0);
	/* the service exists while the device is started */
	cr_assert_lt(rte_service_get_by_name("dma_mmrt0", &sid), 0);
	dev_start(id, NB_DESC);
	cr_assert_eq(rte_service_get_by_name("dma_mmrt0", &sid), 0);
	cr_assert_eq(rte_service_lcore_add(1), 0);
	cr_assert_eq(rte_service_map_lcore_set(sid, 1, 1), 0);
	cr_assert_eq(rte_service_runstate_set(sid, 1), 0);
	cr_assert_eq(rte_service_lcore_start(1), 0);

	copy_fill_round(as, id, 0);
	copy_fill_round(as, id, 8);
	st = stats(id);
	cr_assert_eq(st.completed, 16);
	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert_lt(rte_service_get_by_name("dma_mmrt0", &sid), 0);
	/* the service lcore holds no QSBR slot between steps */
	mmrt_synchronize();
	/* start again: a new service, indexes from 0 */
	cr_assert_eq(rte_dma_start(id), 0);
	cr_assert_eq(rte_service_get_by_name("dma_mmrt0", &sid), 0);
	cr_assert_eq(rte_service_map_lcore_set(sid, 1, 1), 0);
	cr_assert_eq(rte_service_runstate_set(sid, 1), 0);
	copy_fill_round(as, id, 0);
	cr_assert_eq(rte_dma_stop(id), 0);

	cr_assert_eq(rte_service_lcore_stop(1), 0);
	cr_assert_eq(rte_service_lcore_del(1), 0);
	mmrt_test_as_gone(as, used0);
	cr_assert_eq(mmrt_fini(), 0);
}

/* ---- mirror mode: IOVAs of DPDK memory ---- */

#define MBUF_N 256
#define BURST 32

/* Fill @m's data with a pattern of @seed, @len bytes long. */
static void
mbuf_pattern(struct rte_mbuf *m, uint32_t len, unsigned int seed)
{
	uint8_t *p;
	uint32_t i;

	cr_assert_not_null(rte_pktmbuf_append(m, (uint16_t)len));
	p = rte_pktmbuf_mtod(m, uint8_t *);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 13 + seed * 7 + 1);
}

/*
 * The client loop of DPDK's examples/dma: a burst of mbuf to mbuf copies
 * by rte_pktmbuf_iova(), one doorbell per burst, rte_dma_completed() until
 * the burst is back; then the destination data, read through the VA
 * (rte_pktmbuf_mtod()), must equal the source's. @n mbufs in all, bursts
 * of BURST; the ring index continues from @first.
 */
static uint16_t
mbuf_copies(int16_t id, struct rte_mempool *mp, unsigned int n,
	uint16_t first)
{
	struct rte_mbuf *src[BURST], *dst[BURST];
	unsigned int b, k, left, done;
	uint16_t last = 0, idx = first, got;
	uint32_t len;
	bool err;
	int ret;

	for (b = 0; b < n; b += BURST) {
		left = RTE_MIN(n - b, (unsigned int)BURST);
		cr_assert_eq(rte_pktmbuf_alloc_bulk(mp, src, left), 0);
		cr_assert_eq(rte_pktmbuf_alloc_bulk(mp, dst, left), 0);
		for (k = 0; k < left; k++) {
			len = 64 + ((b + k) * 61) % 1900;
			mbuf_pattern(src[k], len, b + k);
			cr_assert_not_null(rte_pktmbuf_append(dst[k],
				(uint16_t)len));
			memset(rte_pktmbuf_mtod(dst[k], void *), 0, len);
			ret = rte_dma_copy(id, 0, rte_pktmbuf_iova(src[k]),
				rte_pktmbuf_iova(dst[k]), len, 0);
			cr_assert_eq(ret, idx, "copy %u: %d", b + k, ret);
			idx++;
		}
		cr_assert_eq(rte_dma_submit(id, 0), 0);
		{
			uint64_t d = mmrt_test_deadline(WAIT_S);
			unsigned long i = 0;

			for (done = 0; done < left; ) {
				err = false;
				got = rte_dma_completed(id, 0, BURST, &last,
					&err);
				cr_assert(!err, "a copy failed (op %u)", last);
				done += got;
				if (got == 0) {
					cr_assert(!mmrt_test_expired(d),
						"burst never completed");
					mmrt_test_relax(i++, 255);
				}
			}
		}
		cr_assert_eq(done, left);
		cr_assert_eq(last, (uint16_t)(idx - 1));
		for (k = 0; k < left; k++) {
			len = rte_pktmbuf_data_len(src[k]);
			mmrt_test_cmp_buf(rte_pktmbuf_mtod(dst[k], uint8_t *),
				rte_pktmbuf_mtod(src[k], uint8_t *), len,
				rte_pktmbuf_iova(dst[k]), "mbuf copy");
		}
		rte_pktmbuf_free_bulk(src, left);
		rte_pktmbuf_free_bulk(dst, left);
	}
	return idx;
}

/* A copy from IOVA 0 (no DPDK memory) completes with an error status and
 * writes nothing; the op after it completes. Index @idx. */
static void
iova_zero_fails(int16_t id, struct rte_mempool *mp, uint16_t idx)
{
	enum rte_dma_status_code status[4];
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint16_t last = 0;
	bool err = false;
	uint8_t *p;

	cr_assert_not_null(m);
	mbuf_pattern(m, 256, 3);
	p = rte_pktmbuf_mtod(m, uint8_t *);
	cr_assert_eq(rte_dma_copy(id, 0, 0, rte_pktmbuf_iova(m), 64, 0), idx);
	cr_assert_eq(rte_dma_copy(id, 0, rte_pktmbuf_iova(m) + 128,
		rte_pktmbuf_iova(m) + 64, 64, RTE_DMA_OP_FLAG_SUBMIT),
		(uint16_t)(idx + 1));
	await_idle(id);
	cr_assert_eq(rte_dma_completed(id, 0, 4, &last, &err), 0);
	cr_assert(err);
	cr_assert_eq(rte_dma_completed_status(id, 0, 4, &last, status), 2);
	cr_assert_eq(last, (uint16_t)(idx + 1));
	cr_assert_eq(status[0], RTE_DMA_STATUS_PAGE_FAULT, "status %d",
		status[0]);
	cr_assert_eq(status[1], RTE_DMA_STATUS_SUCCESSFUL);
	/* the failed copy wrote nothing; the next one did */
	cr_assert_eq(p[0], 1 + 3 * 7);
	cr_assert_eq(p[64], (uint8_t)(128 * 13 + 3 * 7 + 1));
	rte_pktmbuf_free(m);
}

static char *
dump_of(int16_t id)
{
	char *dump = NULL;
	size_t dlen = 0;
	FILE *f = open_memstream(&dump, &dlen);

	cr_assert_not_null(f);
	cr_assert_eq(rte_dma_dump(id, f), 0);
	fclose(f);
	return dump;
}

/* The application runs mmrt (mmrt_init()); the driver creates the mirror
 * at the first start and destroys it at close, and leaves mmrt up. */
Test(dma_mmrt, mirror_mbuf_copies)
{
	struct rte_mempool *mp;
	struct rte_dma_info info;
	struct rte_dma_stats st;
	uint64_t used0;
	uint16_t idx;
	int16_t id;
	char *dump;

	up("dma_mmrt0" ACK);
	used0 = mmrt_test_used();
	id = tdmm_dev_id("dma_mmrt0");
	cr_assert_eq(rte_dma_info_get(id, &info), 0);
	cr_assert_eq(info.dev_capa & RTE_DMA_CAPA_SVA, 0,
		"IOVAs outside DPDK memory fault: not SVA");
	cr_assert_neq(info.dev_capa & RTE_DMA_CAPA_HANDLES_ERRORS, 0);
	mp = rte_pktmbuf_pool_create("dmm_mbufs", MBUF_N, 0, 0,
		RTE_MBUF_DEFAULT_BUF_SIZE, (int)info.numa_node);
	cr_assert_not_null(mp, "pool: %d", rte_errno);
	cr_assert_null(mmrt_as_lookup("dma_mmrt.mirror"));
	dev_start(id, NB_DESC);
	cr_assert_not_null(mmrt_as_lookup("dma_mmrt.mirror"));
	idx = mbuf_copies(id, mp, 4 * NB_DESC + 40, 0);
	iova_zero_fails(id, mp, idx);
	st = stats(id);
	cr_assert_eq(st.submitted, 4 * NB_DESC + 40 + 2);
	cr_assert_eq(st.completed, st.submitted);
	cr_assert_eq(st.errors, 1);
	dump = dump_of(id);
	cr_log_info("%s", dump);
	cr_assert_not_null(strstr(dump, "mirror dma_mmrt.mirror (created by the driver)"),
		"dump: %s", dump);
	free(dump);
	/* stop and start: the mirror stays, indexes from 0 */
	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert_not_null(mmrt_as_lookup("dma_mmrt.mirror"));
	cr_assert_eq(rte_dma_start(id), 0);
	mbuf_copies(id, mp, 64, 0);
	cr_assert_eq(rte_dma_stop(id), 0);
	/* close: the driver's mirror goes, the application's runtime stays */
	cr_assert_eq(rte_dma_close(id), 0);
	cr_assert_null(mmrt_as_lookup("dma_mmrt.mirror"));
	cr_assert(mmrt_is_up());
	rte_mempool_free(mp);
	cr_assert_eq(mmrt_test_used(), used0, "frames leaked");
	cr_assert_eq(mmrt_fini(), 0);
}

/* The application made the mirror under the driver's name: two devices
 * share it, and closing them leaves it to the application. */
Test(dma_mmrt, mirror_of_the_application)
{
	struct rte_mempool *mp;
	struct mmrt_as *mir;
	uint64_t used0;
	int16_t a, b;
	char *dump;

	up(NULL);
	used0 = mmrt_test_used();
	mir = mmrt_as_mirror_dpdk("dma_mmrt.mirror");
	cr_assert_not_null(mir, "mirror: %d", rte_errno);
	cr_assert_eq(rte_vdev_init("dma_mmrt1", "lcore=1" ACK), 0);
	cr_assert_eq(rte_vdev_init("dma_mmrt2", "service=1" ACK), 0);
	a = tdmm_dev_id("dma_mmrt1");
	b = tdmm_dev_id("dma_mmrt2");
	mp = rte_pktmbuf_pool_create("dmm_mbufs2", MBUF_N, 0, 0,
		RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	cr_assert_not_null(mp);
	dev_start(a, NB_DESC);
	dev_start(b, NB_DESC);
	mbuf_copies(a, mp, 3 * BURST, 0);
	dump = dump_of(a);
	cr_assert_not_null(strstr(dump, "(the application's)"), "dump: %s",
		dump);
	free(dump);
	/* b is a service nobody maps: stopping it with nothing in flight */
	cr_assert_eq(rte_vdev_uninit("dma_mmrt2"), 0);
	cr_assert_eq(rte_vdev_uninit("dma_mmrt1"), 0);
	cr_assert(mmrt_as_lookup("dma_mmrt.mirror") == mir);
	rte_mempool_free(mp);
	mmrt_test_as_gone(mir, used0);
	cr_assert_eq(mmrt_fini(), 0);
}

/*
 * A stock DPDK application: rte_eal_init() only, no mmrt. The driver
 * attaches mmrt at the first start and finalizes it when the device is
 * closed.
 */
Test(dma_mmrt, mirror_attaches_the_runtime)
{
	struct rte_mempool *mp;
	int16_t id;

	tdmm_eal_only("test-dma-mmrt", "dmm", "dma_mmrt0" ACK);
	cr_assert(!mmrt_is_up());
	id = tdmm_dev_id("dma_mmrt0");
	mp = rte_pktmbuf_pool_create("dmm_mbufs3", MBUF_N, 0, 0,
		RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	cr_assert_not_null(mp);
	dev_start(id, NB_DESC);
	cr_assert(mmrt_is_up(), "the driver did not bring mmrt up");
	mbuf_copies(id, mp, 2 * NB_DESC, 0);
	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert(mmrt_is_up());
	cr_assert_eq(rte_dma_close(id), 0);
	cr_assert(!mmrt_is_up(), "the driver left its runtime up");
	rte_mempool_free(mp);
	cr_assert_eq(rte_eal_cleanup(), 0);
}

/* vhost's async data path accepts the device and its vchan. */
Test(dma_mmrt, vhost_async_configure)
{
	int16_t id;

	up("dma_mmrt0" ACK);
	id = tdmm_dev_id("dma_mmrt0");
	dev_start(id, NB_DESC);
	cr_assert_eq(rte_vhost_async_dma_configure(id, 0), 0);
	/* no such vchan */
	cr_assert_lt(rte_vhost_async_dma_configure(id, 1), 0);
	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert_eq(rte_dma_close(id), 0);
	cr_assert_eq(mmrt_fini(), 0);
}
