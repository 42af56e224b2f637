/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * External memory in the DPDK-memory mirror (issue 11, item 2): an
 * mmap()ed anonymous area registered with rte_extmem_register() (4 KiB
 * pages, IOVAs far from DPDK's memory) made visible to the mirror
 *
 *   (1) by rte_dev_dma_map() on a mirror-mode dma_mmrt device (the
 *       vdev bus calls the driver's dma_map, mmrt_mirror_dma_map()),
 *       before and after the device's mirror exists, also in a stock
 *       application whose runtime the driver attaches at start, and
 *   (2) by mmrt_as_mirror_sync() (bare extmem: DPDK 22.11 fires no
 *       memory event for it), including areas present when the mirror
 *       is made.
 *
 * Each time: mmrt_translate() on the mirror at the IOVAs gives the host
 * address; the device copies from and to the area by IOVA with
 * rte_dma_copy() (bytes checked); after rte_dev_dma_unmap() or extmem
 * unregister + sync the translation is gone and a copy completes with an
 * error status and writes nothing. Bad input (unaligned, zero, wrapping,
 * overlaps, an unknown range on unmap) gets a negative errno and changes
 * nothing; an area both synced and dma-mapped stays until both let go;
 * a range dma-mapped twice (two devices) until two unmaps; invariant A
 * with the engine copying into the area while another thread unmaps it
 * and refills it with a canary. Every test checks that the frame pool
 * balances.
 *
 * One EAL per test process (Criterion forks per test); lcore 1 runs the
 * engine. Every wait is bounded; nothing asserts on elapsed time.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_dmadev.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include <mmrt_dma_mmrt.h>

#include "common.h"
#include "dmm_common.h"

#define WAIT_S 30
#define NB_DESC 64
#define AREA_PG 16
#define AREA_LEN (AREA_PG * PG)
/* IOVAs no DPDK memory of the test has (checked: a hole of the mirror) */
#define EXT_IOVA UINT64_C(0x400000000000)
#define EXT_IOVA2 (EXT_IOVA + UINT64_C(0x10000000))
#define MIRROR "dma_mmrt.mirror"
#define ACK ",ack_us=2000000"

/* The EAL and mmrt: two lcores, --no-huge, a 64 MiB pool, @vdev. */
static void
up(const char *vdev)
{
	tdmm_eal_up("test-extmem", "extm", 2, vdev, NULL);
}

static void
teardown(void)
{
	if (mmrt_is_up())
		mmrt_fini();
}

TestSuite(extmem, .fini = teardown, .timeout = 120);

/* ---- the device ---- */

/* The generic device of vdev @name, through the public iterator. */
static struct rte_device *
vdev_of(const char *name)
{
	struct rte_dev_iterator it;
	struct rte_device *dev, *found = NULL;

	RTE_DEV_FOREACH(dev, "bus=vdev", &it)
		if (strcmp(rte_dev_name(dev), name) == 0)
			found = dev;
	cr_assert_not_null(found, "no vdev %s", name);
	return found;
}

static void
dev_start(int16_t id)
{
	struct rte_dma_conf conf = { .nb_vchans = 1 };
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
		.nb_desc = NB_DESC,
	};

	cr_assert_eq(rte_dma_configure(id, &conf), 0);
	cr_assert_eq(rte_dma_vchan_setup(id, 0, &vc), 0);
	cr_assert_eq(rte_dma_start(id), 0);
}

/* One copy by IOVA, submitted and reaped: its status. */
static enum rte_dma_status_code
copy1(int16_t id, uint64_t src, uint64_t dst, uint32_t len)
{
	enum rte_dma_status_code st = RTE_DMA_STATUS_SUCCESSFUL;
	uint64_t d = mmrt_test_deadline(WAIT_S);
	unsigned long i = 0;
	uint16_t last;
	int ret;

	ret = rte_dma_copy(id, 0, src, dst, len, RTE_DMA_OP_FLAG_SUBMIT);
	cr_assert_geq(ret, 0, "rte_dma_copy: %d", ret);
	while (rte_dma_completed_status(id, 0, 1, &last, &st) == 0) {
		cr_assert(!mmrt_test_expired(d), "copy never completed");
		mmrt_test_relax(i++, 255);
	}
	cr_assert_eq(last, (uint16_t)ret);
	return st;
}

/* ---- the external area ---- */

struct area {
	uint8_t *p;
	uint64_t iova;
	rte_iova_t iovas[AREA_PG];
};

/* An anonymous area of AREA_LEN bytes with a pattern, its pages at
 * @iova + k * PG (nothing mirrored there yet). */
static void
area_make(struct area *a, uint64_t iova)
{
	unsigned int k;
	uint64_t i;

	a->p = mmap(NULL, AREA_LEN, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(a->p, MAP_FAILED);
	a->iova = iova;
	for (k = 0; k < AREA_PG; k++)
		a->iovas[k] = iova + (uint64_t)k * PG;
	for (i = 0; i < AREA_LEN; i++)
		a->p[i] = (uint8_t)(i * 11 + (i >> 12) + 5);
}

static void
area_free(struct area *a)
{
	cr_assert_eq(munmap(a->p, AREA_LEN), 0);
}

/* rte_extmem_register() with the IOVA table (@with_iova) or without. */
static void
area_register(struct area *a, bool with_iova)
{
	int ret = rte_extmem_register(a->p, AREA_LEN,
		with_iova ? a->iovas : NULL, with_iova ? AREA_PG : 0, PG);

	cr_assert_eq(ret, 0, "rte_extmem_register: %d", rte_errno);
}

static void
area_unregister(struct area *a)
{
	cr_assert_eq(rte_extmem_unregister(a->p, AREA_LEN), 0,
		"rte_extmem_unregister: %d", rte_errno);
}

/* Every page of @a translates in @mir at its IOVA to its host address. */
static void
mirrored(struct mmrt_as *mir, const struct area *a)
{
	struct mmrt_xlate x;
	unsigned int k;

	for (k = 0; k < AREA_PG; k++) {
		uint64_t o = (uint64_t)k * PG + (k % 7) * 97;

		cr_assert_eq(mmrt_translate(mir, a->iova + o,
			MMRT_ACCESS_WRITE, &x), 0,
			"IOVA %#" PRIx64 " not mirrored", a->iova + o);
		cr_assert_eq(x.addr, a->p + o);
		cr_assert_eq(x.iova, a->iova + o);
		cr_assert_eq(x.pfn, MMRT_PFN_NONE);
	}
}

/* No page of [iova, iova + AREA_LEN) translates in @mir. */
static void
not_mirrored(struct mmrt_as *mir, uint64_t iova)
{
	struct mmrt_xlate x;
	unsigned int k;

	for (k = 0; k < AREA_PG; k++)
		cr_assert_eq(mmrt_translate(mir, iova + (uint64_t)k * PG, 0,
			&x), -EFAULT, "IOVA %#" PRIx64 " still mirrored",
			iova + (uint64_t)k * PG);
}

/*
 * The device copies by IOVA within @a (across pages), from @a into DPDK
 * memory and from DPDK memory into @a; the bytes are checked.
 */
static void
copies_work(int16_t id, struct area *a)
{
	const uint32_t n = 3 * PG + 123;
	uint8_t *buf = rte_malloc(NULL, 4 * PG, PG);
	uint64_t biova;
	uint32_t i;

	cr_assert_not_null(buf);
	biova = rte_malloc_virt2iova(buf);
	cr_assert_neq(biova, RTE_BAD_IOVA);
	/* within the area: pages 1.. -> pages 9.. */
	cr_assert_eq(copy1(id, a->iova + PG + 17, a->iova + 9 * PG + 5, n),
		RTE_DMA_STATUS_SUCCESSFUL);
	cr_assert_eq(memcmp(a->p + 9 * PG + 5, a->p + PG + 17, n), 0);
	/* area -> DPDK memory */
	memset(buf, 0, 4 * PG);
	cr_assert_eq(copy1(id, a->iova + 2 * PG + 1, biova, n),
		RTE_DMA_STATUS_SUCCESSFUL);
	cr_assert_eq(memcmp(buf, a->p + 2 * PG + 1, n), 0);
	/* DPDK memory -> area */
	for (i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 3 + 77);
	cr_assert_eq(copy1(id, biova, a->iova + 13 * PG - 100, 2 * PG),
		RTE_DMA_STATUS_SUCCESSFUL);
	cr_assert_eq(memcmp(a->p + 13 * PG - 100, buf, 2 * PG), 0);
	rte_free(buf);
}

/*
 * @a is gone from the mirror: a copy from it and a copy into it both
 * complete with an error status and write nothing.
 */
static void
copies_fail(int16_t id, struct area *a)
{
	static uint8_t before[AREA_LEN];
	uint8_t *buf = rte_malloc(NULL, PG, PG);
	enum rte_dma_status_code st;
	uint64_t biova;

	cr_assert_not_null(buf);
	biova = rte_malloc_virt2iova(buf);
	memset(buf, 0x5a, PG);
	memcpy(before, a->p, AREA_LEN);
	st = copy1(id, a->iova + PG, biova, 512);
	cr_assert_neq(st, RTE_DMA_STATUS_SUCCESSFUL, "copy from a gone area");
	for (uint32_t i = 0; i < PG; i++)
		cr_assert_eq(buf[i], 0x5a, "byte %u written", i);
	st = copy1(id, biova, a->iova + 3 * PG, 512);
	cr_assert_neq(st, RTE_DMA_STATUS_SUCCESSFUL, "copy into a gone area");
	cr_assert_eq(memcmp(before, a->p, AREA_LEN), 0,
		"a copy wrote into a gone area");
	rte_free(buf);
}

/* A mirror-mode device dma_mmrt0, its mirror made by its start;
 * *@used0: the frames in use before. */
static int16_t
dev_up(struct mmrt_as **mir, uint64_t *used0)
{
	int16_t id;

	up("dma_mmrt0,lcore=1" ACK);
	*used0 = mmrt_test_used();
	id = tdmm_dev_id("dma_mmrt0");
	dev_start(id);
	*mir = mmrt_as_lookup(MIRROR);
	cr_assert_not_null(*mir);
	not_mirrored(*mir, EXT_IOVA);
	not_mirrored(*mir, EXT_IOVA2);
	return id;
}

static void
dev_down(int16_t id, uint64_t used0)
{
	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert_eq(rte_dma_close(id), 0);
	cr_assert_null(mmrt_as_lookup(MIRROR));
	cr_assert_eq(mmrt_test_used(), used0, "frames leaked");
	cr_assert_eq(mmrt_fini(), 0);
}

/* ================================================================== */

/*
 * (1) The sequence DPDK prescribes for external memory and a device:
 * rte_extmem_register() (no IOVAs), rte_dev_dma_map() with the IOVA.
 */
Test(extmem, dev_dma_map)
{
	struct rte_device *rdev;
	struct mmrt_as *mir;
	struct area a;
	uint64_t used0;
	uint8_t *dbuf;
	int16_t id;

	id = dev_up(&mir, &used0);
	rdev = vdev_of("dma_mmrt0");
	area_make(&a, EXT_IOVA);
	area_register(&a, false);
	/* registered only: DPDK reports nothing, and it has no IOVA */
	cr_assert_eq(mmrt_as_mirror_sync(NULL), 0);
	not_mirrored(mir, EXT_IOVA);
	cr_assert_eq(rte_dev_dma_map(rdev, a.p, EXT_IOVA, AREA_LEN), 0,
		"rte_dev_dma_map: %d", rte_errno);
	mirrored(mir, &a);
	copies_work(id, &a);

	/* bad input: a negative errno, nothing changed */
	cr_assert_lt(rte_dev_dma_map(rdev, a.p + 1, EXT_IOVA2, PG), 0);
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_lt(rte_dev_dma_map(rdev, a.p, EXT_IOVA2 + 8, PG), 0);
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_lt(rte_dev_dma_map(rdev, a.p, EXT_IOVA2, PG + 1), 0);
	cr_assert_eq(rte_errno, EINVAL);
	/* IOVAs overlapping the mapped range */
	cr_assert_lt(rte_dev_dma_map(rdev, a.p, EXT_IOVA + PG, PG), 0);
	cr_assert_eq(rte_errno, EEXIST);
	cr_assert_lt(rte_dev_dma_map(rdev, a.p, EXT_IOVA - PG, 2 * PG), 0);
	cr_assert_eq(rte_errno, EEXIST);
	/* IOVAs of DPDK memory the mirror maps already */
	dbuf = rte_malloc(NULL, PG, PG);
	cr_assert_not_null(dbuf);
	cr_assert_eq(mmrt_mirror_dma_map(a.p, rte_malloc_virt2iova(dbuf), PG),
		-EEXIST);
	/* ... but that memory at its own IOVA is accepted and left to
	 * DPDK: the unmap does not take it away */
	{
		struct mmrt_xlate x;
		uint64_t di = rte_malloc_virt2iova(dbuf);

		cr_assert_eq(mmrt_mirror_dma_map(dbuf, di, PG), 0);
		cr_assert_eq(mmrt_mirror_dma_unmap(dbuf, di, PG), 0);
		cr_assert_eq(mmrt_translate(mir, di, 0, &x), 0);
		cr_assert_eq(x.addr, dbuf);
	}
	rte_free(dbuf);
	/* an unknown range on unmap: part of one, other IOVA, other host */
	cr_assert_lt(rte_dev_dma_unmap(rdev, a.p, EXT_IOVA, PG), 0);
	cr_assert_eq(rte_errno, ENOENT);
	cr_assert_lt(rte_dev_dma_unmap(rdev, a.p, EXT_IOVA2, AREA_LEN), 0);
	cr_assert_eq(rte_errno, ENOENT);
	cr_assert_lt(rte_dev_dma_unmap(rdev, a.p + PG, EXT_IOVA,
		AREA_LEN - PG), 0);
	cr_assert_eq(rte_errno, ENOENT);
	not_mirrored(mir, EXT_IOVA2);
	mirrored(mir, &a);
	copies_work(id, &a);

	/* unmap: on return no engine uses it; copies fail, write nothing */
	cr_assert_eq(rte_dev_dma_unmap(rdev, a.p, EXT_IOVA, AREA_LEN), 0);
	not_mirrored(mir, EXT_IOVA);
	copies_fail(id, &a);
	cr_assert_lt(rte_dev_dma_unmap(rdev, a.p, EXT_IOVA, AREA_LEN), 0);
	cr_assert_eq(rte_errno, ENOENT);
	area_unregister(&a);
	area_free(&a);
	dev_down(id, used0);
}

/*
 * (1) rte_dev_dma_map() before the device's mirror exists (the device
 * not started yet): the mirror made at its start has the range, and so
 * does a mirror the application makes; two devices given the same range
 * hold it until both unmapped it.
 */
Test(extmem, dev_dma_map_before_start)
{
	struct rte_device *r0, *r1;
	struct mmrt_as *mir, *own;
	struct area a;
	uint64_t used0;
	int16_t id;

	up("dma_mmrt0,lcore=1" ACK);
	used0 = mmrt_test_used();
	cr_assert_eq(rte_vdev_init("dma_mmrt1", "service=1" ACK), 0);
	r0 = vdev_of("dma_mmrt0");
	r1 = vdev_of("dma_mmrt1");
	area_make(&a, EXT_IOVA);
	area_register(&a, false);
	cr_assert_eq(rte_dev_dma_map(r0, a.p, EXT_IOVA, AREA_LEN), 0);
	cr_assert_eq(rte_dev_dma_map(r1, a.p, EXT_IOVA, AREA_LEN), 0);
	id = tdmm_dev_id("dma_mmrt0");
	cr_assert_null(mmrt_as_lookup(MIRROR));
	dev_start(id);
	mir = mmrt_as_lookup(MIRROR);
	cr_assert_not_null(mir);
	mirrored(mir, &a);
	copies_work(id, &a);
	own = mmrt_as_mirror_dpdk("own");
	cr_assert_not_null(own, "mirror: %d", rte_errno);
	mirrored(own, &a);

	/* the first unmap drops a reference only */
	cr_assert_eq(rte_dev_dma_unmap(r1, a.p, EXT_IOVA, AREA_LEN), 0);
	mirrored(mir, &a);
	mirrored(own, &a);
	cr_assert_eq(rte_dev_dma_unmap(r0, a.p, EXT_IOVA, AREA_LEN), 0);
	not_mirrored(mir, EXT_IOVA);
	not_mirrored(own, EXT_IOVA);
	copies_fail(id, &a);
	cr_assert_eq(mmrt_as_destroy(own), 0);
	cr_assert_eq(rte_vdev_uninit("dma_mmrt1"), 0);
	area_unregister(&a);
	area_free(&a);
	dev_down(id, used0);
}

/*
 * (2) Bare external memory with IOVAs, followed by mmrt_as_mirror_sync():
 * mapped when registered and synced, gone when unregistered and synced;
 * an area present when the mirror is made is there from the start.
 */
Test(extmem, sync)
{
	struct mmrt_as *mir, *other;
	struct area a, b, c;
	uint64_t used0;
	int16_t id;

	up("dma_mmrt0,lcore=1" ACK);
	used0 = mmrt_test_used();
	/* c exists before the mirror */
	area_make(&c, EXT_IOVA2);
	area_register(&c, true);
	id = tdmm_dev_id("dma_mmrt0");
	dev_start(id);
	mir = mmrt_as_lookup(MIRROR);
	cr_assert_not_null(mir);
	mirrored(mir, &c);
	copies_work(id, &c);

	area_make(&a, EXT_IOVA);
	area_register(&a, true);
	not_mirrored(mir, EXT_IOVA); /* no event in DPDK 22.11 */
	cr_assert_eq(mmrt_as_mirror_sync(mir), 0);
	mirrored(mir, &a);
	copies_work(id, &a);
	cr_assert_eq(mmrt_as_mirror_sync(NULL), 0); /* idempotent */
	mirrored(mir, &a);

	/* an area registered at IOVAs the mirror has already: left out */
	area_make(&b, EXT_IOVA + 4 * PG);
	area_register(&b, true);
	cr_assert_eq(mmrt_as_mirror_sync(NULL), -EEXIST);
	mirrored(mir, &a);
	mirrored(mir, &c);
	area_unregister(&b);
	cr_assert_eq(mmrt_as_mirror_sync(NULL), 0);
	mirrored(mir, &a);
	area_free(&b);

	/* bad input */
	other = mmrt_as_create("notmirror");
	cr_assert_not_null(other);
	cr_assert_eq(mmrt_as_mirror_sync(other), -EINVAL);
	cr_assert_eq(mmrt_as_destroy(other), 0);
	mirrored(mir, &a);

	/* unregistered: still there until the sync, gone after it */
	area_unregister(&a);
	mirrored(mir, &a);
	cr_assert_eq(mmrt_as_mirror_sync(NULL), 0);
	not_mirrored(mir, EXT_IOVA);
	copies_fail(id, &a);
	mirrored(mir, &c);
	area_unregister(&c);
	cr_assert_eq(mmrt_as_mirror_sync(mir), 0);
	not_mirrored(mir, EXT_IOVA2);
	copies_fail(id, &c);
	area_free(&a);
	area_free(&c);
	dev_down(id, used0);
}

/*
 * (1) and (2) on one area: registered with its IOVAs and synced, then
 * dma-mapped with the same bounds: one set of leaves, kept until both
 * the dma unmap and the unregistration (+ sync) happened, in either
 * order; a dma map of a part of it is refused.
 */
Test(extmem, sync_and_dma_map)
{
	struct rte_device *rdev;
	struct mmrt_as *mir;
	struct area a;
	uint64_t used0;
	int16_t id;

	id = dev_up(&mir, &used0);
	rdev = vdev_of("dma_mmrt0");
	area_make(&a, EXT_IOVA);

	/* dma unmap first */
	area_register(&a, true);
	cr_assert_eq(mmrt_as_mirror_sync(NULL), 0);
	cr_assert_lt(rte_dev_dma_map(rdev, a.p, EXT_IOVA, PG), 0);
	cr_assert_eq(rte_errno, EEXIST);
	cr_assert_eq(rte_dev_dma_map(rdev, a.p, EXT_IOVA, AREA_LEN), 0);
	mirrored(mir, &a);
	cr_assert_eq(rte_dev_dma_unmap(rdev, a.p, EXT_IOVA, AREA_LEN), 0);
	mirrored(mir, &a);
	copies_work(id, &a);
	area_unregister(&a);
	cr_assert_eq(mmrt_as_mirror_sync(NULL), 0);
	not_mirrored(mir, EXT_IOVA);

	/* unregistration first */
	area_register(&a, true);
	cr_assert_eq(mmrt_as_mirror_sync(NULL), 0);
	cr_assert_eq(rte_dev_dma_map(rdev, a.p, EXT_IOVA, AREA_LEN), 0);
	area_unregister(&a);
	cr_assert_eq(mmrt_as_mirror_sync(NULL), 0);
	mirrored(mir, &a);
	copies_work(id, &a);
	/* rte_dev_dma_unmap() refuses memory no longer registered (DPDK's
	 * own check, before the driver): the library call */
	cr_assert_lt(rte_dev_dma_unmap(rdev, a.p, EXT_IOVA, AREA_LEN), 0);
	mirrored(mir, &a);
	cr_assert_eq(mmrt_mirror_dma_unmap(a.p, EXT_IOVA, AREA_LEN), 0);
	not_mirrored(mir, EXT_IOVA);
	copies_fail(id, &a);
	area_free(&a);
	dev_down(id, used0);
}

/* The library calls' argument checks: each refused, nothing recorded. */
Test(extmem, bad_input)
{
	struct mmrt_as *mir;
	struct area a;
	uint64_t used0;
	int16_t id;

	id = dev_up(&mir, &used0);
	area_make(&a, EXT_IOVA);
	cr_assert_eq(mmrt_mirror_dma_map(NULL, EXT_IOVA, PG), -EINVAL);
	cr_assert_eq(mmrt_mirror_dma_map(a.p, EXT_IOVA, 0), -EINVAL);
	cr_assert_eq(mmrt_mirror_dma_map(a.p + 8, EXT_IOVA, PG), -EINVAL);
	cr_assert_eq(mmrt_mirror_dma_map(a.p, EXT_IOVA + 8, PG), -EINVAL);
	cr_assert_eq(mmrt_mirror_dma_map(a.p, EXT_IOVA, PG - 8), -EINVAL);
	/* past the IOVA limit, wrapping IOVA, wrapping host range */
	cr_assert_eq(mmrt_mirror_dma_map(a.p, MMRT_VA_LIMIT - PG, 2 * PG),
		-EINVAL);
	cr_assert_eq(mmrt_mirror_dma_map(a.p, UINT64_MAX - PG + 1, 2 * PG),
		-EINVAL);
	cr_assert_eq(mmrt_mirror_dma_map((void *)(uintptr_t)(UINTPTR_MAX -
		PG + 1), EXT_IOVA, 2 * PG), -EINVAL);
	cr_assert_eq(mmrt_mirror_dma_unmap(NULL, EXT_IOVA, PG), -EINVAL);
	cr_assert_eq(mmrt_mirror_dma_unmap(a.p, EXT_IOVA, PG), -ENOENT);
	not_mirrored(mir, EXT_IOVA);
	/* the library call works without rte_extmem_register() too */
	cr_assert_eq(mmrt_mirror_dma_map(a.p, EXT_IOVA, AREA_LEN), 0);
	mirrored(mir, &a);
	copies_work(id, &a);
	cr_assert_eq(mmrt_mirror_dma_unmap(a.p, EXT_IOVA, AREA_LEN), 0);
	not_mirrored(mir, EXT_IOVA);
	copies_fail(id, &a);
	area_free(&a);
	dev_down(id, used0);
}

/*
 * A stock DPDK application (rte_eal_init() only, no mmrt): the dma map
 * comes before the driver brings mmrt up at the device's first start,
 * and the mirror it makes then has the range.
 */
Test(extmem, dev_dma_map_without_runtime)
{
	struct rte_device *rdev;
	struct mmrt_as *mir;
	struct area a;
	int16_t id;

	tdmm_eal_only("test-extmem", "extm", "dma_mmrt0,lcore=1" ACK);
	cr_assert(!mmrt_is_up());
	rdev = vdev_of("dma_mmrt0");
	area_make(&a, EXT_IOVA);
	area_register(&a, false);
	cr_assert_eq(rte_dev_dma_map(rdev, a.p, EXT_IOVA, AREA_LEN), 0);
	id = tdmm_dev_id("dma_mmrt0");
	dev_start(id);
	cr_assert(mmrt_is_up());
	mir = mmrt_as_lookup(MIRROR);
	cr_assert_not_null(mir);
	mirrored(mir, &a);
	copies_work(id, &a);
	cr_assert_eq(rte_dev_dma_unmap(rdev, a.p, EXT_IOVA, AREA_LEN), 0);
	not_mirrored(mir, EXT_IOVA);
	copies_fail(id, &a);
	cr_assert_eq(rte_dma_stop(id), 0);
	cr_assert_eq(rte_dma_close(id), 0);
	cr_assert(!mmrt_is_up(), "the driver left its runtime up");
	area_unregister(&a);
	area_free(&a);
	cr_assert_eq(rte_eal_cleanup(), 0);
}

/*
 * Invariant A under a running engine (hmm-tests' anon_teardown, on the
 * mirror): the engine copies into the area by IOVA without pause while
 * another thread calls rte_dev_dma_unmap(); the moment it returns, that
 * thread refills the area with a canary. No engine write may land in it
 * afterwards: every copy completes (successful before, failing after)
 * and the canary stays whole. Bounded by operation counts.
 */
struct unmapper {
	struct rte_device *rdev;
	struct area *a;
	uint32_t go;
	uint32_t done;
	int ret;
};

#define CANARY 0xc5

static void *
unmapper_run(void *arg)
{
	struct unmapper *u = arg;
	unsigned long i = 0;

	while (!__atomic_load_n(&u->go, __ATOMIC_ACQUIRE))
		mmrt_test_relax(i++, 255);
	u->ret = rte_dev_dma_unmap(u->rdev, u->a->p, u->a->iova, AREA_LEN);
	memset(u->a->p, CANARY, AREA_LEN);
	__atomic_store_n(&u->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

Test(extmem, unmap_under_running_engine)
{
	enum rte_dma_status_code st[32];
	struct unmapper u = { 0 };
	struct mmrt_as *mir;
	struct area a;
	pthread_t t;
	unsigned int round, after = 0, k, ok = 0, failed = 0;
	uint64_t used0, biova;
	uint8_t *buf;
	int16_t id;

	id = dev_up(&mir, &used0);
	area_make(&a, EXT_IOVA);
	area_register(&a, false);
	u.rdev = vdev_of("dma_mmrt0");
	u.a = &a;
	cr_assert_eq(rte_dev_dma_map(u.rdev, a.p, EXT_IOVA, AREA_LEN), 0);
	buf = rte_malloc(NULL, PG, PG);
	cr_assert_not_null(buf);
	memset(buf, 0x3b, PG);
	biova = rte_malloc_virt2iova(buf);
	cr_assert_eq(pthread_create(&t, NULL, unmapper_run, &u), 0);
	for (round = 0; after < 64; round++) {
		uint64_t d = mmrt_test_deadline(WAIT_S);
		unsigned long i = 0;
		unsigned int got = 0;
		bool was_done = __atomic_load_n(&u.done, __ATOMIC_ACQUIRE);
		uint16_t last;

		if (round == 8)
			__atomic_store_n(&u.go, 1, __ATOMIC_RELEASE);
		for (k = 0; k < 32; k++)
			cr_assert_geq(rte_dma_copy(id, 0, biova,
				EXT_IOVA + ((round * 32 + k) % AREA_PG) * PG +
				(k * 64) % (PG - 256), 256, 0), 0);
		cr_assert_eq(rte_dma_submit(id, 0), 0);
		while (got < 32) {
			int n = rte_dma_completed_status(id, 0, 32 - got,
				&last, st);

			for (k = 0; k < (unsigned int)n; k++) {
				if (st[k] == RTE_DMA_STATUS_SUCCESSFUL)
					ok++;
				else
					failed++;
				/* after the unmap returned: none lands */
				if (was_done)
					cr_assert_neq(st[k],
						RTE_DMA_STATUS_SUCCESSFUL,
						"a copy submitted after the unmap succeeded");
			}
			got += (unsigned int)n;
			if (n == 0) {
				cr_assert(!mmrt_test_expired(d),
					"copies never completed");
				mmrt_test_relax(i++, 255);
			}
		}
		if (was_done)
			after++;
		cr_assert_lt(round, 1000000u, "the unmap never returned");
	}
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(u.ret, 0);
	cr_assert_gt(ok, 0);
	cr_assert_gt(failed, 0);
	for (k = 0; k < AREA_LEN; k++)
		cr_assert_eq(a.p[k], CANARY, "an engine write landed at +%u "
			"after the unmap returned", k);
	not_mirrored(mir, EXT_IOVA);
	rte_free(buf);
	area_unregister(&a);
	area_free(&a);
	dev_down(id, used0);
}
