/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Host mappings (mmrt_map_host) and the DPDK-memory mirror
 * (mmrt_as_mirror_dpdk), tested against mmrt_mm.h: translation of 4 KiB
 * and 2 MiB host leaves with their IOVA (DPDK memory and memory DPDK
 * does not know), CPU accessors, protect/DONTNEED, device-TLB hits and
 * their invalidation, the hmm-tests anon_teardown race with the engine
 * writing into a host buffer that is refilled with a canary as soon as
 * the unmap returns, fork sharing, copy-on-write/merge/uffd move refused, the
 * engine (a dma_mmrt device, driven with rte_dma_*) between host and
 * pool memory, the mirror (an mbuf pool made after it, reached by
 * rte_pktmbuf_iova(), and copied by a dma_mmrt device on it), a real
 * dmadev (dma_skeleton) behind a dma_mmrt device refusing memory that
 * has no IOVA, and bad input to every new call with the pool unchanged.
 *
 * Every wait is bounded; no assertion is about elapsed time.
 */

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_memory.h>

#include <unistd.h>

#include <rte_dmadev.h>

#include <mmrt_dev.h>
#include <mmrt_uffd.h>

#include "common.h"
#include "dmm_common.h"

#define POOL_MB 64
#define ENGINE_LCORE 1
#define WAIT_S 30

#define CANARY 0xee

MMRT_TEST_FIXTURES(POOL_MB);

TestSuite(host, .init = setup, .fini = teardown, .timeout = 180);

static uint64_t
nregions(struct mmrt_as *as)
{
	struct mmrt_as_stats st;

	cr_assert_eq(mmrt_as_stats(as, &st), 0);
	return st.regions;
}

/* ---- translation ---- */

Test(host, translate_4k)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("h4k");
	uint8_t *heap = xalign(PG, 8 * PG);
	uint8_t *dpdk = rte_malloc(NULL, 8 * PG, PG);
	struct mmrt_xlate x;
	int i;

	cr_assert_not_null(as);
	cr_assert_not_null(dpdk);
	cr_assert_eq(mmrt_map_host(as, VA, heap, 8 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map_host(as, VB, dpdk, 8 * PG, RO, 0), 0);
	for (i = 0; i < 8; i++) {
		cr_assert_eq(mmrt_translate(as, VA + i * PG + 17,
			MMRT_ACCESS_WRITE, &x), 0);
		cr_assert_eq(x.addr, heap + i * PG + 17);
		cr_assert_eq(x.iova, RTE_BAD_IOVA, "memory DPDK does not "
			"know has no IOVA");
		cr_assert_eq(x.pfn, MMRT_PFN_NONE);
		cr_assert_eq(x.prot, RW);
		cr_assert_eq(x.size, PG - 17);
		cr_assert(!x.huge);

		cr_assert_eq(mmrt_translate(as, VB + i * PG + 5,
			MMRT_ACCESS_READ, &x), 0);
		cr_assert_eq(x.addr, dpdk + i * PG + 5);
		cr_assert_eq(x.iova, rte_mem_virt2iova(dpdk + i * PG + 5));
		cr_assert_eq(x.prot, RO);
		cr_assert_eq(mmrt_translate(as, VB + i * PG,
			MMRT_ACCESS_WRITE, &x), -EACCES);
	}
	cr_assert_eq(mmrt_translate(as, VA + 8 * PG, 0, &x), -EFAULT);
	/* no frames: the pool did not move (tables aside) */
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
	rte_free(dpdk);
	free(heap);
}

Test(host, translate_2m)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("h2m");
	uint8_t *buf = xalign(HPG, 4 * HPG);
	struct mmrt_xlate x;

	cr_assert_not_null(as);
	memset(buf, 0x5a, 4 * HPG);
	/* both aligned: 2 MiB leaves */
	cr_assert_eq(mmrt_map_host(as, VA, buf, 2 * HPG, RW, 0), 0);
	cr_assert_eq(mmrt_translate(as, VA + HPG + 12345, 0, &x), 0);
	cr_assert(x.huge);
	cr_assert_eq(x.addr, buf + HPG + 12345);
	cr_assert_eq(x.size, HPG - 12345);
	/* host misaligned by a page: 4 KiB leaves */
	cr_assert_eq(mmrt_map_host(as, VB, buf + 2 * HPG + PG, HPG, RW, 0), 0);
	cr_assert_eq(mmrt_translate(as, VB + 3 * PG, 0, &x), 0);
	cr_assert(!x.huge);
	cr_assert_eq(x.addr, buf + 2 * HPG + 4 * PG);
	/* unmapping part of a 2 MiB host leaf splits it, the rest stays */
	cr_assert_eq(mmrt_unmap(as, VA + HPG + 8 * PG, PG), 0);
	cr_assert_eq(mmrt_translate(as, VA + HPG + 8 * PG, 0, &x), -EFAULT);
	cr_assert_eq(mmrt_translate(as, VA + HPG + 9 * PG, 0, &x), 0);
	cr_assert_eq(x.addr, buf + HPG + 9 * PG);
	cr_assert(!x.huge);
	cr_assert_eq(mmrt_translate(as, VA + 5, 0, &x), 0);
	cr_assert(x.huge);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
	cr_assert_eq(buf[HPG + 8 * PG], 0x5a, "host memory is the caller's");
	free(buf);
}

/* ---- CPU accessors, protect, DONTNEED ---- */

Test(host, read_write_protect)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("hrw");
	uint8_t *buf = xalign(PG, 4 * PG), b[64];
	struct mmrt_xlate x;

	cr_assert_not_null(as);
	memset(buf, 1, 4 * PG);
	cr_assert_eq(mmrt_map_host(as, VA, buf, 4 * PG, RW, 0), 0);
	memset(b, 7, sizeof(b));
	/* across a page boundary */
	cr_assert_eq(mmrt_write(as, VA + PG - 32, b, sizeof(b)), 0);
	cr_assert_eq(buf[PG - 32], 7);
	cr_assert_eq(buf[PG + 31], 7);
	buf[2 * PG] = 9;
	cr_assert_eq(mmrt_read(as, VA + 2 * PG, b, 1), 0);
	cr_assert_eq(b[0], 9);

	cr_assert_eq(mmrt_protect(as, VA, 4 * PG, RO), 0);
	cr_assert_eq(mmrt_write(as, VA, b, 1), -EACCES);
	cr_assert_eq(mmrt_translate(as, VA, MMRT_ACCESS_WRITE, &x), -EACCES);
	cr_assert_eq(mmrt_protect(as, VA, 4 * PG, MMRT_PROT_NONE), 0);
	cr_assert_eq(mmrt_translate(as, VA, 0, &x), -EFAULT);
	cr_assert_eq(mmrt_read(as, VA, b, 1), -EACCES);
	cr_assert_eq(mmrt_protect(as, VA, 4 * PG, RW), 0);
	/* the write fault grants write on the same bytes */
	b[0] = 3;
	cr_assert_eq(mmrt_write(as, VA + 3 * PG, b, 1), 0);
	cr_assert_eq(buf[3 * PG], 3);
	cr_assert_eq(mmrt_translate(as, VA + 3 * PG, MMRT_ACCESS_WRITE, &x),
		0);
	cr_assert_eq(x.addr, buf + 3 * PG);

	/* DONTNEED drops the leaves; the next access maps the same bytes */
	cr_assert_eq(mmrt_advise(as, VA, 4 * PG, MMRT_ADV_DONTNEED), 0);
	cr_assert_eq(mmrt_translate(as, VA + PG, 0, &x), -EFAULT);
	cr_assert_eq(buf[PG], 7, "DONTNEED never touches host memory");
	cr_assert_eq(mmrt_fault(as, VA + PG, MMRT_ACCESS_WRITE), 0);
	cr_assert_eq(mmrt_translate(as, VA + PG, MMRT_ACCESS_WRITE, &x), 0);
	cr_assert_eq(x.addr, buf + PG);
	cr_assert_eq(mmrt_read(as, VA + 2 * PG, b, 1), 0);
	cr_assert_eq(b[0], 9);
	/* remap moves the leaves: the same bytes at the new place */
	cr_assert_eq(mmrt_remap(as, VA, 4 * PG, VC + 8 * PG), 0);
	cr_assert_eq(mmrt_translate(as, VA, 0, &x), -EFAULT);
	cr_assert_eq(mmrt_translate(as, VC + 10 * PG + 1, 0, &x), 0);
	cr_assert_eq(x.addr, buf + 2 * PG + 1);
	cr_assert_eq(mmrt_advise(as, VC + 8 * PG, 4 * PG, MMRT_ADV_DONTNEED),
		0);
	cr_assert_eq(mmrt_read(as, VC + 10 * PG, b, 1), 0);
	cr_assert_eq(b[0], 9, "refault after remap finds the same bytes");
	cr_assert_eq(mmrt_unmap(as, VC + 8 * PG, 4 * PG), 0);
	cr_assert_eq(nregions(as), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
	free(buf);
}

/* ---- consumers: device-TLB hits, invalidation ---- */

Test(host, consumer_tlb)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("htlb");
	uint8_t *heap = xalign(HPG, 2 * HPG);
	uint8_t *dpdk = rte_malloc(NULL, 4 * PG, PG);
	struct mmrt_consumer_conf cf = {
		.name = "htlb", .ack_deadline_us = 2000000,
	};
	struct mmrt_consumer_stats st;
	struct mmrt_consumer *c;
	struct mmrt_xlate x;
	uint64_t hits;

	cr_assert_not_null(as);
	cr_assert_not_null(dpdk);
	c = mmrt_consumer_create(&cf);
	cr_assert_not_null(c);
	cr_assert_geq(mmrt_thread_register(), 0);
	cr_assert_eq(mmrt_map_host(as, VA, heap, 2 * HPG, RW, 0), 0);
	cr_assert_eq(mmrt_map_host(as, VB, dpdk, 4 * PG, RW, 0), 0);
	cr_assert_gt(mmrt_consumer_bind(c, as), 0);

	/* miss then hit, 4 KiB (DPDK memory: the IOVA from the entry) */
	cr_assert_eq(mmrt_consumer_translate(c, VB + PG + 3,
		MMRT_ACCESS_WRITE, &x), 0);
	cr_assert_eq(mmrt_consumer_stats(c, &st), 0);
	hits = st.tlb_hits;
	cr_assert_eq(mmrt_consumer_translate(c, VB + PG + 9,
		MMRT_ACCESS_WRITE, &x), 0);
	cr_assert_eq(mmrt_consumer_stats(c, &st), 0);
	cr_assert_eq(st.tlb_hits, hits + 1);
	cr_assert_eq(x.addr, dpdk + PG + 9);
	cr_assert_eq(x.iova, rte_mem_virt2iova(dpdk + PG + 9));
	cr_assert_eq(x.pfn, MMRT_PFN_NONE);
	/* 2 MiB entry of memory DPDK does not know: no IOVA on a hit */
	cr_assert_eq(mmrt_consumer_translate(c, VA + HPG + 7, 0, &x), 0);
	cr_assert_eq(mmrt_consumer_translate(c, VA + HPG + 4 * PG, 0, &x), 0);
	cr_assert_eq(mmrt_consumer_stats(c, &st), 0);
	cr_assert_eq(st.tlb_hits, hits + 2);
	cr_assert_eq(x.addr, heap + HPG + 4 * PG);
	cr_assert_eq(x.iova, RTE_BAD_IOVA);
	cr_assert_eq(x.pfn, MMRT_PFN_NONE);
	cr_assert(x.huge);

	/* a downgrade invalidates the entry */
	cr_assert_eq(mmrt_protect(as, VB, 4 * PG, RO), 0);
	mmrt_consumer_poll(c);
	cr_assert_eq(mmrt_consumer_translate(c, VB + PG, MMRT_ACCESS_WRITE,
		&x), -EACCES);
	cr_assert_eq(mmrt_consumer_translate(c, VB + PG, MMRT_ACCESS_READ,
		&x), 0);
	/* unmap invalidates: the consumer holds no translation after it */
	cr_assert_eq(mmrt_unmap(as, VA, 2 * HPG), 0);
	mmrt_consumer_poll(c);
	cr_assert_eq(mmrt_consumer_translate(c, VA + HPG + 7, 0, &x),
		-EFAULT);
	cr_assert_eq(mmrt_consumer_destroy(c), 0);
	mmrt_thread_unregister();
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
	rte_free(dpdk);
	free(heap);
}

/* ---- the engine: a dma_mmrt device, driven with rte_dma_* ---- */

static void
dma_up(struct tdmm *dma, const char *name, struct mmrt_as *as)
{
	tdmm_up_as(dma, name, as, ENGINE_LCORE,
		"ack_us=2000000,park_us=200000");
}

Test(host, dma_copy)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("hdma");
	uint8_t *buf = xalign(HPG, HPG), *got = xalign(PG, 3 * PG);
	struct tdmm dma;
	uint64_t i;

	cr_assert_not_null(as);
	for (i = 0; i < HPG; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	cr_assert_eq(mmrt_map_host(as, VA, buf, HPG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VB, HPG, RW, 0), 0);
	dma_up(&dma, "hdma", as);
	/* host -> pool, then pool -> another place of the host buffer */
	cr_assert_geq(rte_dma_copy(dma.id, 0, VA + 100, VB + 50, 3 * PG, 0), 0);
	cr_assert_eq(rte_dma_submit(dma.id, 0), 0);
	cr_assert_eq(tdmm_drain(&dma, WAIT_S), 0);
	cr_assert_eq(mmrt_read(as, VB + 50, got, 3 * PG), 0);
	cr_assert_eq(memcmp(got, buf + 100, 3 * PG), 0);
	cr_assert_geq(rte_dma_copy(dma.id, 0, VB + 50, VA + HPG / 2 + 1,
		3 * PG, 0), 0);
	cr_assert_eq(rte_dma_submit(dma.id, 0), 0);
	cr_assert_eq(tdmm_drain(&dma, WAIT_S), 0);
	cr_assert_eq(memcmp(buf + HPG / 2 + 1, got, 3 * PG), 0);
	tdmm_down(&dma);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
	free(got);
	free(buf);
}

/*
 * hmm-tests anon_teardown over a host buffer: the engine streams copies
 * from pool memory into the host mapping while this thread unmaps it (or,
 * every other round, makes it read-only); the moment mmrt_unmap() or
 * mmrt_protect() returns the buffer is refilled with CANARY. No write of
 * the engine may land after that.
 */
#define TD_LEN (256 * PG)

Test(host, anon_teardown)
{
	static const uint32_t lens[] = { 16 * PG, 64 * PG, 5 * PG + 100,
		32 * PG, 128 * PG - 7 };
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("htear");
	uint8_t *buf = xalign(PG, TD_LEN);
	struct tdmm dma;
	unsigned int round, k, nops;
	uint64_t fails = 0, trigger, d, i, bad;
	unsigned long it;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VB, TD_LEN, RW, MMRT_MAP_POPULATE), 0);
	dma_up(&dma, "htear", as);
	for (round = 0; round < 40; round++) {
		memset(buf, 0, TD_LEN);
		cr_assert_eq(mmrt_map_host(as, VA, buf, TD_LEN, RW, 0), 0);
		trigger = tdmm_stats(&dma).completed + 2 + round % 7;
		/* long copies into the host buffer: an engine acks only
		 * between operations, so the unmap lands in the middle of one */
		for (nops = 0, k = 0; k < 200; k++) {
			uint32_t len = lens[(k + round) % RTE_DIM(lens)];
			uint64_t o = ((uint64_t)k * 37 * PG) % (TD_LEN - len);

			if (rte_dma_copy(dma.id, 0, VB + o, VA + o, len, 0) < 0)
				break;
			nops++;
		}
		cr_assert_gt(nops, 50);
		cr_assert_eq(rte_dma_submit(dma.id, 0), 0);
		d = mmrt_test_deadline(WAIT_S);
		it = 0;
		while (tdmm_stats(&dma).completed < trigger &&
				!mmrt_test_expired(d))
			mmrt_test_relax(it++, 255);
		/* odd rounds downgrade instead: no write may land after the
		 * protect returns either */
		if (round & 1)
			cr_assert_eq(mmrt_protect(as, VA, TD_LEN, RO), 0);
		else
			cr_assert_eq(mmrt_unmap(as, VA, TD_LEN), 0);
		/* the caller owns the bytes again: reuse them at once */
		memset(buf, CANARY, TD_LEN);
		fails += tdmm_drain(&dma, WAIT_S);
		for (i = 0, bad = 0; i < TD_LEN; i++)
			bad += buf[i] != CANARY;
		cr_assert_eq(bad, 0, "round %u: the engine wrote %" PRIu64
			" bytes after %s returned", round, bad,
			(round & 1) ? "protect" : "unmap");
		if (round & 1)
			cr_assert_eq(mmrt_unmap(as, VA, TD_LEN), 0);
	}
	cr_log_info("anon_teardown: %" PRIu64 " operations failed on the "
		"unmapped buffer", fails);
	tdmm_down(&dma);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
	free(buf);
}

/* ---- fork, COW, merge, uffd ---- */

Test(host, fork_shares)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("hfork"), *child;
	uint8_t *buf = xalign(HPG, HPG), b = 0x42;
	struct mmrt_as_stats st0, st;
	struct mmrt_xlate x;

	cr_assert_not_null(as);
	memset(buf, 0, HPG);
	cr_assert_eq(mmrt_map_host(as, VA, buf, HPG, RW, 0), 0);
	child = mmrt_as_fork(as, "hfork-c");
	cr_assert_not_null(child);
	cr_assert_eq(mmrt_as_stats(as, &st0), 0);
	/* the child sees the same bytes, and writes them, like MAP_SHARED */
	cr_assert_eq(mmrt_translate(child, VA + 10, MMRT_ACCESS_WRITE, &x),
		0);
	cr_assert_eq(x.addr, buf + 10);
	cr_assert_eq(mmrt_write(child, VA + 10, &b, 1), 0);
	cr_assert_eq(buf[10], 0x42);
	b = 0x43;
	cr_assert_eq(mmrt_write(as, VA + 11, &b, 1), 0);
	cr_assert_eq(mmrt_read(child, VA + 11, &b, 1), 0);
	cr_assert_eq(b, 0x43);
	/* never copy-on-write: the parent's leaf stayed writable */
	cr_assert_eq(mmrt_translate(as, VA, MMRT_ACCESS_WRITE, &x), 0);
	cr_assert_eq(mmrt_as_stats(as, &st), 0);
	cr_assert_eq(st.cow, st0.cow);
	cr_assert_eq(mmrt_as_destroy(child), 0);
	cr_assert_eq(mmrt_translate(as, VA + 10, 0, &x), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
	free(buf);
}

Test(host, merge_uffd_refused)
{
	uint64_t used0 = mmrt_test_used(), f = 0;
	struct mmrt_as *as = mmrt_as_create("hmerge");
	uint8_t *buf = xalign(PG, 4 * PG);
	struct mmrt_uffd_move m;
	struct mmrt_uffd *u;
	struct mmrt_xlate x;

	cr_assert_not_null(as);
	memset(buf, 0, 4 * PG);
	cr_assert_eq(mmrt_map_host(as, VA, buf, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VB, 4 * PG, RW, MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_merge(as, VA, as, VB), -EINVAL);
	cr_assert_eq(mmrt_merge(as, VB, as, VA + PG), -EINVAL);
	u = mmrt_uffd_create(as, MMRT_UFFD_API, &f, NULL);
	cr_assert_not_null(u);
	/* registration works (tests/test_host_uffd.c); moves do not */
	cr_assert_eq(mmrt_uffd_register(u, VA, 4 * PG,
		MMRT_UFFD_REGISTER_MODE_WP, NULL), 0);
	cr_assert_eq(mmrt_uffd_register(u, VB, 4 * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL), 0);
	memset(&m, 0, sizeof(m));
	m.dst = VB;
	m.src = VA;
	m.len = PG;
	cr_assert_eq(mmrt_uffd_move(u, &m), -EINVAL);
	/* nothing changed */
	cr_assert_eq(mmrt_translate(as, VA, MMRT_ACCESS_WRITE, &x), 0);
	cr_assert_eq(x.addr, buf);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
	free(buf);
}

/* ---- the mirror ---- */

/*
 * Memory DPDK had when the mirror was made: the frame pool's frames (a
 * memzone) are found at their IOVA, each page by its own IOVA (under
 * IOVA-as-PA hugepages are not IOVA-contiguous).
 */
static void
check_pool_mirrored(struct mmrt_as *mir)
{
	struct mmrt_as *as = mmrt_as_create("hpool");
	struct mmrt_xlate x, y;
	uint64_t o;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 2 * HPG, RW, MMRT_MAP_POPULATE), 0);
	for (o = 0; o < 2 * HPG; o += PG) {
		cr_assert_eq(mmrt_translate(as, VA + o, 0, &x), 0);
		cr_assert_eq(mmrt_translate(mir, x.iova, 0, &y), 0,
			"pool frame %u (IOVA %#" PRIx64 ") not mirrored",
			x.pfn, (uint64_t)x.iova);
		cr_assert_eq(y.addr, x.addr);
		cr_assert_eq(y.iova, x.iova);
	}
	cr_assert_eq(mmrt_as_destroy(as), 0);
}

Test(host, mirror_mbufs)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *mir = mmrt_as_mirror_dpdk("mirror");
	struct rte_mempool *mp;
	struct rte_mbuf *a, *b;
	struct mmrt_xlate x;
	struct tdmm dma;
	uint8_t *pa, *pb;
	int i;

	cr_assert_not_null(mir, "mirror: %d", rte_errno);
	cr_assert_null(mmrt_as_mirror_dpdk("mirror"));
	cr_assert_eq(rte_errno, EEXIST);
	check_pool_mirrored(mir);
	/* a pool made after the mirror: reachable by IOVA */
	mp = rte_pktmbuf_pool_create("hmbuf", 255, 0, 0,
		RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	cr_assert_not_null(mp, "mempool: %d", rte_errno);
	a = rte_pktmbuf_alloc(mp);
	b = rte_pktmbuf_alloc(mp);
	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_assert_not_null(rte_pktmbuf_append(a, 1500));
	cr_assert_not_null(rte_pktmbuf_append(b, 1500));
	pa = rte_pktmbuf_mtod(a, uint8_t *);
	pb = rte_pktmbuf_mtod(b, uint8_t *);
	cr_assert_eq(mmrt_translate(mir, rte_pktmbuf_iova(a),
		MMRT_ACCESS_WRITE, &x), 0);
	cr_assert_eq(x.addr, pa);
	cr_assert_eq(x.iova, rte_pktmbuf_iova(a));
	cr_assert_eq(x.pfn, MMRT_PFN_NONE);
	for (i = 0; i < 1500; i++) {
		pa[i] = (uint8_t)(i * 3 + 1);
		pb[i] = 0;
	}
	/* an engine bound to the mirror copies mbuf to mbuf by IOVA */
	dma_up(&dma, "hmir", mir);
	cr_assert_geq(rte_dma_copy(dma.id, 0, rte_pktmbuf_iova(a),
		rte_pktmbuf_iova(b), 1500, 0), 0);
	cr_assert_eq(rte_dma_submit(dma.id, 0), 0);
	cr_assert_eq(tdmm_drain(&dma, WAIT_S), 0);
	cr_assert_eq(memcmp(pa, pb, 1500), 0);
	/* a hole of the mirror is not refaulted: no memory there */
	cr_assert_eq(mmrt_fault(mir, 16 * PG, MMRT_ACCESS_READ), -EFAULT);
	cr_assert_geq(rte_dma_copy(dma.id, 0, 16 * PG, rte_pktmbuf_iova(b), 64,
		0), 0);
	cr_assert_eq(rte_dma_submit(dma.id, 0), 0);
	cr_assert_eq(tdmm_drain(&dma, WAIT_S), 1, "a copy from a hole fails");
	tdmm_down(&dma);
	rte_pktmbuf_free(a);
	rte_pktmbuf_free(b);
	rte_mempool_free(mp);
	cr_assert_eq(mmrt_as_destroy(mir), 0);
	/* the slot and the callback name are free again */
	mir = mmrt_as_mirror_dpdk("mirror");
	cr_assert_not_null(mir);
	cr_assert_eq(mmrt_as_destroy(mir), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ---- bad input ---- */

Test(host, bad_input)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("hbad");
	uint8_t *buf = xalign(HPG, 2 * HPG);
	struct mmrt_xlate x;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VC, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map_host(NULL, VA, buf, PG, RW, 0), -EINVAL);
	cr_assert_eq(mmrt_map_host(as, VA, NULL, PG, RW, 0), -EINVAL);
	cr_assert_eq(mmrt_map_host(as, VA, buf + 1, PG, RW, 0), -EINVAL);
	cr_assert_eq(mmrt_map_host(as, VA + 1, buf, PG, RW, 0), -EINVAL);
	cr_assert_eq(mmrt_map_host(as, VA, buf, 0, RW, 0), -EINVAL);
	cr_assert_eq(mmrt_map_host(as, VA, buf, PG + 1, RW, 0), -EINVAL);
	cr_assert_eq(mmrt_map_host(as, MMRT_VA_LIMIT - PG, buf, 2 * PG, RW,
		0), -EINVAL);
	cr_assert_eq(mmrt_map_host(as, UINT64_MAX & ~(PG - 1), buf, PG, RW,
		0), -EINVAL);
	cr_assert_eq(mmrt_map_host(as, VA, buf, UINT64_MAX & ~(PG - 1), RW,
		0), -EINVAL);
	cr_assert_eq(mmrt_map_host(as, VA, (void *)(uintptr_t)(MMRT_VA_LIMIT),
		PG, RW, 0), -EINVAL);
	cr_assert_eq(mmrt_map_host(as, VA, buf, PG, 1u << 5, 0), -EINVAL);
	cr_assert_eq(mmrt_map_host(as, VA, buf, PG, RW, 1u), -EINVAL);
	cr_assert_eq(mmrt_map_host(as, VA, buf, PG, RW, MMRT_MAP_HUGE),
		-EINVAL);
	/* overlap with a pool region and with a host region */
	cr_assert_eq(mmrt_map_host(as, VC + PG, buf, PG, RW, 0), -EEXIST);
	cr_assert_eq(mmrt_map_host(as, VC - PG, buf, 2 * PG, RW, 0), -EEXIST);
	cr_assert_eq(mmrt_map_host(as, VA, buf, HPG, RW, 0), 0);
	cr_assert_eq(mmrt_map_host(as, VA + HPG - PG, buf, 2 * PG, RW, 0),
		-EEXIST);
	cr_assert_eq(nregions(as), 2);
	cr_assert_eq(mmrt_translate(as, VA + HPG, 0, &x), -EFAULT);
	cr_assert_eq(mmrt_translate(as, VC, 0, &x), -EFAULT);
	/* the mirror: bad names */
	cr_assert_null(mmrt_as_mirror_dpdk(NULL));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_null(mmrt_as_mirror_dpdk(""));
	cr_assert_null(mmrt_as_mirror_dpdk("hbad"));
	cr_assert_eq(rte_errno, EEXIST);
	cr_assert_null(mmrt_as_mirror_dpdk("a-name-far-too-long-for-a-space-0"));
	cr_assert_eq(rte_errno, EINVAL);
	/* eight mirrors at most; a ninth is refused and leaves nothing */
	{
		struct mmrt_as *m[8];
		char name[16];
		int i;

		for (i = 0; i < 8; i++) {
			snprintf(name, sizeof(name), "mir%d", i);
			m[i] = mmrt_as_mirror_dpdk(name);
			cr_assert_not_null(m[i], "mirror %d: %d", i, rte_errno);
		}
		cr_assert_null(mmrt_as_mirror_dpdk("mir8"));
		cr_assert_eq(rte_errno, ENOSPC);
		cr_assert_null(mmrt_as_lookup("mir8"));
		for (i = 0; i < 8; i++)
			cr_assert_eq(mmrt_as_destroy(m[i]), 0);
	}
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
	free(buf);
}

/* ---- the mirror on real hugepages: DPDK's memory events ---- */

#define EV_NEED_HUGEPAGES 64
#define EV_LEN (32u << 20)

/*
 * Dynamic memory (--in-memory, no -m): an allocation after the mirror
 * exists makes DPDK reserve pages (ALLOC events), which the mirror maps
 * at their IOVA; freeing it gives them back (FREE events) and the mirror
 * drops them, waiting for its engine's ack first.
 */
Test(host_huge, mirror_events, .timeout = 300)
{
	char lcores[96];
	char *argv[] = { (char *)"test-host", (char *)"--in-memory",
		(char *)"--no-pci", (char *)"--lcores", lcores, (char *)"--",
		(char *)"--pool-mb", (char *)"32", NULL };
	long nfree = mmrt_test_free_hugepages();
	struct mmrt_as *mir;
	struct mmrt_xlate x;
	struct tdmm dma;
	rte_iova_t iova, mid;
	uint8_t *p;
	uint64_t o;

	if (nfree < EV_NEED_HUGEPAGES)
		cr_skip_test("no free 2 MiB hugepages (free: %ld, needed: %d):"
			" reserve with ./mmrt.sh hugepages reserve 512M",
			nfree, EV_NEED_HUGEPAGES);
	mmrt_test_lcores(lcores, sizeof(lcores), 2);
	cr_assert_geq(mmrt_init(RTE_DIM(argv) - 1, argv), 0);
	mir = mmrt_as_mirror_dpdk("mirror-ev");
	cr_assert_not_null(mir, "mirror: %d", rte_errno);
	check_pool_mirrored(mir);
	dma_up(&dma, "hev", mir);
	p = rte_malloc(NULL, EV_LEN, HPG);
	cr_assert_not_null(p);
	iova = rte_malloc_virt2iova(p);
	cr_assert_neq(iova, RTE_BAD_IOVA);
	/* per page: under IOVA-as-PA the IOVAs of hugepages are not
	 * contiguous */
	for (o = 0; o < EV_LEN; o += PG) {
		rte_iova_t io = rte_mem_virt2iova(p + o);

		cr_assert_eq(mmrt_translate(mir, io, MMRT_ACCESS_WRITE, &x),
			0, "new DPDK memory not mirrored at +%#" PRIx64, o);
		cr_assert_eq(x.addr, p + o);
		cr_assert_eq(x.iova, io);
	}
	mid = rte_mem_virt2iova(p + EV_LEN / 2);
	/* the engine reaches it by IOVA and caches it */
	cr_assert_geq(rte_dma_fill(dma.id, 0, UINT64_C(0x0101010101010101),
		iova, 4096, 0), 0);
	cr_assert_eq(rte_dma_submit(dma.id, 0), 0);
	cr_assert_eq(tdmm_drain(&dma, WAIT_S), 0);
	cr_assert_eq(p[4095], 1);
	rte_free(p);
	/* pages DPDK gave back are gone from the mirror (at least the
	 * middle of the allocation, which no other element shares) */
	cr_assert_eq(mmrt_translate(mir, mid, 0, &x), -EFAULT);
	tdmm_down(&dma);
	cr_assert_eq(mmrt_as_destroy(mir), 0);
	mmrt_fini();
}

/* ---- a real dmadev behind a dma_mmrt device: IOVAs of host memory ---- */

#define SKEL_NAME "dma_skeleton0"

static int16_t skel = -1;

static void
bridge_setup(void)
{
	static struct mmrt_test_argv a;
	int rc;

	mmrt_test_argv_start(&a, "test-host", 2);
	mmrt_test_argv_eal(&a, "thb", 256, false, "lib.eal:error");
	mmrt_test_argv_add(&a, "--vdev=" SKEL_NAME ",lcore=1");
	mmrt_test_argv_add(&a, "--log-level=pmd.dma.skeleton:warning");
	mmrt_test_argv_add(&a, "--");
	mmrt_test_argv_add(&a, "--pool-mb");
	mmrt_test_argv_add(&a, "32");
	cr_assert_geq(mmrt_init(a.argc, a.argv), 0);
	rc = rte_dma_get_dev_id_by_name(SKEL_NAME);
	skel = rc >= 0 ? (int16_t)rc : -1;
}

static void
bridge_teardown(void)
{
	mmrt_fini();
}

TestSuite(host_bridge, .init = bridge_setup, .fini = bridge_teardown,
	.timeout = 120);

/*
 * A real device is handed IOVAs: memory DPDK knows goes through, memory
 * it does not (no IOVA) is refused with an address status, never handed
 * to the device as RTE_BAD_IOVA.
 */
Test(host_bridge, no_iova_refused)
{
	struct mmrt_as *as = mmrt_as_create("hbr");
	uint8_t *heap = xalign(PG, 2 * PG);
	uint8_t *dpdk = rte_malloc(NULL, 4 * PG, PG);
	enum rte_dma_status_code s[3];
	struct tdmm b;
	uint16_t got = 0, last;
	uint64_t d;
	unsigned long it = 0;
	int i;

	if (skel < 0)
		cr_skip_test("no dmadev %s (dma_skeleton not probed)",
			SKEL_NAME);
	cr_assert_not_null(as);
	cr_assert_not_null(dpdk);
	memset(heap, 0x11, 2 * PG);
	for (i = 0; i < 4 * (int)PG; i++)
		dpdk[i] = (uint8_t)(i * 5 + 1);
	cr_assert_eq(mmrt_map_host(as, VA, heap, 2 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map_host(as, VB, dpdk, 4 * PG, RW, 0), 0);
	/* the worker that drives the bridge shares lcore 1's cpu with the
	 * skeleton's copy thread: it backs off when idle */
	tdmm_up_as(&b, "hbr", as, ENGINE_LCORE, "dev=" SKEL_NAME
		",idle=backoff,ack_us=2000000,park_us=200000");
	/* DPDK memory to DPDK memory, across a page */
	cr_assert_geq(rte_dma_copy(b.id, 0, VB + 10, VB + 2 * PG + 100, PG,
		0), 0);
	/* from and to memory without an IOVA */
	cr_assert_geq(rte_dma_copy(b.id, 0, VA, VB, 64, 0), 0);
	cr_assert_geq(rte_dma_copy(b.id, 0, VB, VA + PG, 64, 0), 0);
	cr_assert_eq(rte_dma_submit(b.id, 0), 0);
	d = mmrt_test_deadline(WAIT_S);
	while (got < 3) {
		got += rte_dma_completed_status(b.id, 0, 3 - got, &last,
			s + got);
		cr_assert(!mmrt_test_expired(d), "bridge stuck");
		mmrt_test_relax(it++, 255);
	}
	cr_assert_eq(s[0], RTE_DMA_STATUS_SUCCESSFUL);
	cr_assert_eq(memcmp(dpdk + 2 * PG + 100, dpdk + 10, PG), 0);
	cr_assert_eq(s[1], RTE_DMA_STATUS_INVALID_SRC_ADDR);
	cr_assert_eq(s[2], RTE_DMA_STATUS_INVALID_DST_ADDR);
	cr_assert_eq(heap[PG], 0x11, "nothing written without an IOVA");
	cr_assert(tdmm_stats(&b).dev_mode);
	tdmm_down(&b);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	rte_free(dpdk);
	free(heap);
}
