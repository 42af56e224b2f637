/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Userfault on host mappings (mmrt_map_host), against mmrt_mm.h and
 * mmrt_uffd.h: MISSING, where a copy or zeropage fill writes the host
 * bytes at that place and then maps them (post-copy of application
 * memory), MINOR with continue (the bytes as they are), and WP; a CPU
 * reader and a dma_mmrt device (rte_dma_*) parked on a missing or
 * write-protected host page resume after the resolver's fill; a fill
 * that finds a page mapped leaves its host bytes alone; the DPDK mirror
 * refuses registration.
 *
 * Every wait is bounded; no assertion is about elapsed time.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <rte_errno.h>

#include <mmrt_uffd.h>

#include "common.h"
#include "dmm_common.h"

#define POOL_MB 64
#define ENGINE_LCORE 1
#define WAIT_S 30

#define NPG 16

#define VLEAF ((UINT64_C(1) << 30) + PG) /* 4 KiB leaves over the buffer */
#define VS (UINT64_C(3) << 30)

MMRT_TEST_FIXTURES(POOL_MB);

TestSuite(host_uffd, .init = setup, .fini = teardown, .timeout = 120);

struct env {
	struct mmrt_as *as;
	struct mmrt_uffd *u;
	uint8_t *buf;
};

/* A host mapping of NPG pages of 0xaa, registered in @mode, emptied. */
static void
env_up(struct env *e, uint64_t mode, bool empty)
{
	uint64_t f = 0;

	e->buf = aligned_alloc(PG, NPG * PG);
	cr_assert_not_null(e->buf);
	memset(e->buf, 0xaa, NPG * PG);
	e->as = mmrt_as_create("huffd");
	cr_assert_not_null(e->as);
	cr_assert_eq(mmrt_map_host(e->as, VLEAF, e->buf, NPG * PG, RW, 0), 0);
	e->u = mmrt_uffd_create(e->as, MMRT_UFFD_API, &f, NULL);
	cr_assert_not_null(e->u);
	cr_assert_eq(mmrt_uffd_register(e->u, VLEAF, NPG * PG, mode, NULL), 0);
	/* the bytes stay; the leaves go, so each page faults to the uffd */
	if (empty)
		cr_assert_eq(mmrt_advise(e->as, VLEAF, NPG * PG,
			MMRT_ADV_DONTNEED), 0);
}

static void
env_down(struct env *e)
{
	cr_assert_eq(mmrt_uffd_destroy(e->u), 0);
	cr_assert_eq(mmrt_as_destroy(e->as), 0);
	free(e->buf);
}

struct access_arg {
	struct mmrt_as *as;
	uint64_t va;
	uint8_t byte;
	bool write;
	int ret;
	int done;
};

static void *
access_thread(void *p)
{
	struct access_arg *a = p;

	if (a->write)
		a->ret = mmrt_write(a->as, a->va, &a->byte, 1);
	else
		a->ret = mmrt_read(a->as, a->va, &a->byte, 1);
	__atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Start @a's access of @e's space in thread *@t and wait for the fault
 * it takes, which must be at @page. @return its message.
 */
static struct mmrt_uffd_msg
access_fault(struct env *e, struct access_arg *a, pthread_t *t,
	uint64_t page)
{
	struct mmrt_uffd_msg m;

	a->as = e->as;
	cr_assert_eq(pthread_create(t, NULL, access_thread, a), 0);
	m = tdmm_uffd_wait(e->u, WAIT_S);
	cr_assert_eq(m.arg.pagefault.address, page);
	return m;
}

/* Post-copy: a reader waits on a missing page; the fill's bytes appear
 * at the host address and the reader sees them. */
Test(host_uffd, missing_copy)
{
	struct access_arg a = { .va = VLEAF + 3 * PG + 9 };
	struct mmrt_uffd_copy c;
	struct mmrt_uffd_msg m;
	struct mmrt_xlate x;
	uint8_t src[PG];
	struct env e;
	pthread_t t;

	env_up(&e, MMRT_UFFD_REGISTER_MODE_MISSING, true);
	m = access_fault(&e, &a, &t, VLEAF + 3 * PG);
	cr_assert_eq(m.arg.pagefault.flags & MMRT_UFFD_PAGEFAULT_FLAG_MINOR,
		0, "a MISSING fault");
	cr_assert_eq(__atomic_load_n(&a.done, __ATOMIC_ACQUIRE), 0);
	memset(src, 0x55, sizeof(src));
	c = (struct mmrt_uffd_copy){ .dst = VLEAF + 3 * PG, .src = src,
		.len = PG };
	cr_assert_eq(mmrt_uffd_copy(e.u, &c), 0);
	cr_assert_eq(c.copy, (int64_t)PG);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(a.ret, 0);
	cr_assert_eq(a.byte, 0x55, "the reader sees the fill");
	cr_assert_eq(e.buf[3 * PG], 0x55, "the fill wrote the host bytes");
	cr_assert_eq(e.buf[4 * PG], 0xaa, "and only those");
	/* the page is the host page, writable */
	cr_assert_eq(mmrt_translate(e.as, VLEAF + 3 * PG, MMRT_ACCESS_WRITE, &x),
		0);
	cr_assert_eq(x.addr, e.buf + 3 * PG);
	/* a fill of a mapped page fails and leaves its bytes alone */
	memset(src, 0x66, sizeof(src));
	cr_assert_eq(mmrt_uffd_copy(e.u, &c), -EEXIST);
	cr_assert_eq(e.buf[3 * PG], 0x55);
	/* zeropage: the host bytes become zeros */
	{
		struct mmrt_uffd_zeropage z = {
			.range = { VLEAF + 5 * PG, PG } };

		cr_assert_eq(mmrt_uffd_zeropage(e.u, &z), 0);
		cr_assert_eq(e.buf[5 * PG], 0);
		cr_assert_eq(e.buf[6 * PG - 1], 0);
		cr_assert_eq(mmrt_translate(e.as, VLEAF + 5 * PG,
			MMRT_ACCESS_WRITE, &x), 0);
		cr_assert_eq(x.addr, e.buf + 5 * PG);
		cr_assert_eq(mmrt_uffd_zeropage(e.u, &z), -EEXIST);
	}
	env_down(&e);
}

/* MINOR: the page's bytes are there; continue maps them as they are. */
Test(host_uffd, minor_continue)
{
	struct access_arg a = { .va = VLEAF + 7 * PG };
	struct mmrt_uffd_continue c;
	struct mmrt_uffd_msg m;
	struct env e;
	pthread_t t;

	env_up(&e, MMRT_UFFD_REGISTER_MODE_MINOR, true);
	e.buf[7 * PG] = 0x42;
	m = access_fault(&e, &a, &t, VLEAF + 7 * PG);
	cr_assert_neq(m.arg.pagefault.flags & MMRT_UFFD_PAGEFAULT_FLAG_MINOR,
		0, "a MINOR fault");
	c = (struct mmrt_uffd_continue){ .range = { VLEAF + 7 * PG, PG } };
	cr_assert_eq(mmrt_uffd_continue(e.u, &c), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(a.ret, 0);
	cr_assert_eq(a.byte, 0x42);
	cr_assert_eq(mmrt_uffd_continue(e.u, &c), -EEXIST);
	env_down(&e);
}

/* WP: a write to a write-protected host page waits for the resolver. */
Test(host_uffd, wp)
{
	struct access_arg a = { .va = VLEAF + 2 * PG + 1, .byte = 0x99,
		.write = true };
	struct mmrt_uffd_writeprotect w = { .range = { VLEAF, NPG * PG },
		.mode = MMRT_UFFD_MODE_WP };
	struct mmrt_uffd_msg m;
	struct mmrt_xlate x;
	struct env e;
	pthread_t t;
	uint8_t b;

	env_up(&e, MMRT_UFFD_REGISTER_MODE_WP, false);
	cr_assert_eq(mmrt_uffd_writeprotect(e.u, &w), 0);
	cr_assert_eq(mmrt_translate(e.as, VLEAF + 2 * PG, MMRT_ACCESS_WRITE, &x),
		-EACCES);
	cr_assert_eq(mmrt_read(e.as, VLEAF + 2 * PG + 1, &b, 1), 0, "reads go");
	cr_assert_eq(b, 0xaa);
	m = access_fault(&e, &a, &t, VLEAF + 2 * PG);
	cr_assert_neq(m.arg.pagefault.flags & MMRT_UFFD_PAGEFAULT_FLAG_WP, 0);
	cr_assert_eq(e.buf[2 * PG + 1], 0xaa, "not written while protected");
	w = (struct mmrt_uffd_writeprotect){ .range = { VLEAF + 2 * PG, PG },
		.mode = 0 };
	cr_assert_eq(mmrt_uffd_writeprotect(e.u, &w), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(a.ret, 0);
	cr_assert_eq(e.buf[2 * PG + 1], 0x99);
	env_down(&e);
}

/*
 * WP markers on emptied host pages (WP_UNPOPULATED): a read maps the
 * bytes write-protected, a write waits for the resolver.
 */
Test(host_uffd, wp_unpopulated)
{
	struct access_arg a = { .va = VLEAF + 6 * PG, .byte = 0x17,
		.write = true };
	struct mmrt_uffd_writeprotect w = { .range = { VLEAF, NPG * PG },
		.mode = MMRT_UFFD_MODE_WP };
	uint64_t f = MMRT_UFFD_FEATURE_WP_UNPOPULATED;
	struct mmrt_uffd_msg m;
	struct mmrt_xlate x;
	struct env e;
	pthread_t t;
	uint8_t b;

	e.buf = aligned_alloc(PG, NPG * PG);
	cr_assert_not_null(e.buf);
	memset(e.buf, 0xaa, NPG * PG);
	e.as = mmrt_as_create("huffd-wpu");
	cr_assert_not_null(e.as);
	cr_assert_eq(mmrt_map_host(e.as, VLEAF, e.buf, NPG * PG, RW, 0), 0);
	e.u = mmrt_uffd_create(e.as, MMRT_UFFD_API, &f, NULL);
	cr_assert_not_null(e.u);
	cr_assert_eq(mmrt_uffd_register(e.u, VLEAF, NPG * PG,
		MMRT_UFFD_REGISTER_MODE_WP, NULL), 0);
	cr_assert_eq(mmrt_advise(e.as, VLEAF, NPG * PG, MMRT_ADV_DONTNEED), 0);
	cr_assert_eq(mmrt_uffd_writeprotect(e.u, &w), 0);
	/* a read through the marker: the bytes, still protected */
	cr_assert_eq(mmrt_read(e.as, VLEAF + 5 * PG, &b, 1), 0);
	cr_assert_eq(b, 0xaa);
	cr_assert_eq(mmrt_translate(e.as, VLEAF + 5 * PG, MMRT_ACCESS_READ, &x),
		0);
	cr_assert_eq(x.addr, e.buf + 5 * PG);
	cr_assert_eq(mmrt_translate(e.as, VLEAF + 5 * PG, MMRT_ACCESS_WRITE, &x),
		-EACCES);
	/* a write through a marker waits */
	m = access_fault(&e, &a, &t, VLEAF + 6 * PG);
	cr_assert_neq(m.arg.pagefault.flags & MMRT_UFFD_PAGEFAULT_FLAG_WP, 0);
	w = (struct mmrt_uffd_writeprotect){ .range = { VLEAF + 6 * PG, PG },
		.mode = 0 };
	cr_assert_eq(mmrt_uffd_writeprotect(e.u, &w), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(a.ret, 0);
	cr_assert_eq(e.buf[6 * PG], 0x17);
	env_down(&e);
}

/* ---- an engine parked on a host page ---- */

/* A dma_mmrt device on @as, driven with rte_dma_*. */
static void
dma_up(struct tdmm *dma, struct mmrt_as *as)
{
	tdmm_up_as(dma, "huffd", as, ENGINE_LCORE,
		"ack_us=5000000,park_us=5000000");
}

/* The one submitted operation's status, waiting for it. */
static enum rte_dma_status_code
dma_wait_one(struct tdmm *dma)
{
	return tdmm_wait_one(dma, WAIT_S);
}

/* No completion yet: the engine is parked on the page. */
static void
dma_none(struct tdmm *dma)
{
	enum rte_dma_status_code s;
	unsigned long it;
	uint16_t last;

	for (it = 0; it < 2000; it++) {
		cr_assert_eq(rte_dma_completed_status(dma->id, 0, 1, &last,
			&s), 0, "completed before the resolver answered");
		mmrt_test_relax(it, 255);
	}
}

Test(host_uffd, engine_parked)
{
	struct mmrt_uffd_writeprotect w = { .range = { VLEAF + 9 * PG, PG },
		.mode = MMRT_UFFD_MODE_WP };
	struct mmrt_uffd_copy c;
	struct tdmm dma;
	struct mmrt_uffd_msg m;
	uint8_t src[PG];
	struct env e;

	env_up(&e, MMRT_UFFD_REGISTER_MODE_MISSING |
		MMRT_UFFD_REGISTER_MODE_WP, true);
	cr_assert_eq(mmrt_map(e.as, VS, PG, RW, 0), 0);
	memset(src, 0x31, sizeof(src));
	cr_assert_eq(mmrt_write(e.as, VS, src, 64), 0);
	dma_up(&dma, e.as);

	/* the engine writes a missing host page: parked until the fill */
	cr_assert_geq(rte_dma_copy(dma.id, 0, VS, VLEAF + 4 * PG + 100, 64, 0), 0);
	cr_assert_eq(rte_dma_submit(dma.id, 0), 0);
	m = tdmm_uffd_wait(e.u, WAIT_S);
	cr_assert_eq(m.arg.pagefault.address, VLEAF + 4 * PG);
	dma_none(&dma);
	memset(src, 0x77, sizeof(src));
	c = (struct mmrt_uffd_copy){ .dst = VLEAF + 4 * PG, .src = src,
		.len = PG };
	cr_assert_eq(mmrt_uffd_copy(e.u, &c), 0);
	cr_assert_eq(dma_wait_one(&dma), RTE_DMA_STATUS_SUCCESSFUL);
	cr_assert_eq(e.buf[4 * PG + 99], 0x77, "the fill's bytes");
	cr_assert_eq(e.buf[4 * PG + 100], 0x31, "then the engine's");
	cr_assert_eq(e.buf[4 * PG + 163], 0x31);
	cr_assert_eq(e.buf[4 * PG + 164], 0x77);

	/* the engine writes a write-protected host page: parked too */
	c = (struct mmrt_uffd_copy){ .dst = VLEAF + 9 * PG, .src = src,
		.len = PG };
	cr_assert_eq(mmrt_uffd_copy(e.u, &c), 0);
	cr_assert_eq(mmrt_uffd_writeprotect(e.u, &w), 0);
	cr_assert_geq(rte_dma_copy(dma.id, 0, VS, VLEAF + 9 * PG, 8, 0), 0);
	cr_assert_eq(rte_dma_submit(dma.id, 0), 0);
	m = tdmm_uffd_wait(e.u, WAIT_S);
	cr_assert_eq(m.arg.pagefault.address, VLEAF + 9 * PG);
	cr_assert_neq(m.arg.pagefault.flags & MMRT_UFFD_PAGEFAULT_FLAG_WP, 0);
	dma_none(&dma);
	cr_assert_eq(e.buf[9 * PG], 0x77);
	w.mode = 0;
	cr_assert_eq(mmrt_uffd_writeprotect(e.u, &w), 0);
	cr_assert_eq(dma_wait_one(&dma), RTE_DMA_STATUS_SUCCESSFUL);
	cr_assert_eq(e.buf[9 * PG], 0x31);
	tdmm_down(&dma);
	env_down(&e);
}

/* The DPDK mirror follows DPDK's memory: no userfault there. */
Test(host_uffd, mirror_refused)
{
	struct mmrt_as *as = mmrt_as_mirror_dpdk("huffd-mirror");
	struct mmrt_uffd *u;
	uint64_t f = 0;

	if (as == NULL)
		cr_skip_test("no mirror: %d", rte_errno);
	u = mmrt_uffd_create(as, MMRT_UFFD_API, &f, NULL);
	cr_assert_not_null(u);
	cr_assert_eq(mmrt_uffd_register(u, 0, MMRT_VA_LIMIT,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL), -EINVAL);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
}
