/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Regression tests of the library bugs the API fuzzer found (each input
 * is also a seed in corpus/, named after it).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <rte_malloc.h>
#include <mmrt_uffd.h>

#include "common.h"
#include "mm_gather.h"

#define PG MMRT_PAGE_SIZE
#define VA (UINT64_C(1) << 30)

MMRT_TEST_FIXTURES(16);

/*
 * corpus/crash-uffd-fill-protnone: a uffd copy or zeropage into a
 * PROT_NONE region mapped the page readable, so the lockless walk
 * (consumers, engines) could read it. It must stay inaccessible until
 * the region's protection allows access.
 */
Test(fuzz_regress, uffd_fill_protnone, .init = setup, .fini = teardown)
{
	struct mmrt_as *as = mmrt_as_create("fr-as");
	uint64_t feat = 0;
	struct mmrt_uffd *u;
	struct mmrt_xlate x;
	uint8_t src[PG], b[16];

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, MMRT_PROT_NONE, 0), 0);
	u = mmrt_uffd_create(as, MMRT_UFFD_API, &feat, NULL);
	cr_assert_not_null(u);
	cr_assert_eq(mmrt_uffd_register(u, VA, 4 * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL), 0);
	memset(src, 0x77, sizeof(src));
	{
		struct mmrt_uffd_copy c = { .dst = VA, .src = src, .len = PG };
		struct mmrt_uffd_zeropage z = {
			.range = { .start = VA + PG, .len = PG },
		};

		cr_assert_eq(mmrt_uffd_copy(u, &c), 0);
		cr_assert_eq(mmrt_uffd_zeropage(u, &z), 0);
	}
	cr_assert_eq(mmrt_translate(as, VA, MMRT_ACCESS_READ, &x), -EFAULT);
	cr_assert_eq(mmrt_translate(as, VA + PG, MMRT_ACCESS_READ, &x),
		-EFAULT);
	cr_assert_eq(mmrt_read(as, VA, b, sizeof(b)), -EACCES);
	/* the filled contents are there once the region allows reading */
	cr_assert_eq(mmrt_protect(as, VA, 4 * PG, MMRT_PROT_READ), 0);
	cr_assert_eq(mmrt_translate(as, VA, MMRT_ACCESS_READ, &x), 0);
	cr_assert_eq(x.prot, MMRT_PROT_READ);
	cr_assert_eq(mmrt_read(as, VA, b, sizeof(b)), 0);
	cr_assert_eq(b[0], 0x77);
	cr_assert_eq(mmrt_read(as, VA + PG, b, sizeof(b)), 0);
	cr_assert_eq(b[0], 0);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
}

/*
 * Not a library bug: the finding "rte_malloc heap 128 bytes more than at
 * start" after input 48,117 of a long run. The gather keeps one batch
 * per lcore (mm.gather_batch_max = 1 in the harness), but not always the
 * same one: an unmap that takes the cached batch for its page-table
 * pages and then needs one for frames gets a fresh one from rte_malloc;
 * at the end the fresh one is cached and the old one freed. DPDK's
 * allocator carves an element from the end of a free block and does not
 * split off a leading remainder smaller than a header plus 64 bytes: it
 * becomes padding of the element, and heap_allocsz_bytes (total minus
 * free) counts it. Here the fresh batch is steered into a free block 128
 * bytes bigger than its element: the heap "in use" grows by 128 bytes
 * while the number of allocations is the same and nothing leaked. The
 * harness now empties the batch cache (mm_gather_cache_drain()) before
 * its baseline and before every check, which makes the comparison exact
 * again: the last assertion fails without that. The steering depends on
 * where DPDK's heap has its free blocks, which the memzones and a
 * sanitizer's allocations move: where q does not land just below p the
 * steering is left out, and the padding seen (0, 64 or 128 bytes, the
 * fresh batch landing elsewhere) is logged; the exact comparison after
 * the drain holds whatever the layout.
 */
static void
heap_now(uint64_t *bytes, uint64_t *count)
{
	struct rte_malloc_socket_stats ms;
	unsigned int i;

	*bytes = *count = 0;
	for (i = 0; i < RTE_MAX_NUMA_NODES; i++)
		if (rte_malloc_get_socket_stats((int)i, &ms) == 0) {
			*bytes += ms.heap_allocsz_bytes;
			*count += ms.alloc_count;
		}
}

/* 4 KiB pages at VA (one page) and VA + 2 MiB (64 pages, one frame each):
 * unmapping frees the first page table before the frames of the second
 * overflow the gather's bundle. */
static void
swap_prepare(struct mmrt_as *as)
{
	uint8_t b = 0x5a;
	unsigned int i;

	cr_assert_eq(mmrt_map(as, VA, 2 * MMRT_HUGE_SIZE, MMRT_PROT_READ |
		MMRT_PROT_WRITE, 0), 0);
	cr_assert_eq(mmrt_write(as, VA, &b, 1), 0);
	for (i = 0; i < 64; i++)
		cr_assert_eq(mmrt_write(as, VA + MMRT_HUGE_SIZE +
			(uint64_t)i * PG, &b, 1), 0);
}

static void
swap_unmap(struct mmrt_as *as)
{
	cr_assert_eq(mmrt_unmap(as, VA, 2 * MMRT_HUGE_SIZE), 0);
}

static void
batch_one_up(void)
{
	char ini[64], pool[] = "16";
	char *argv[] = { (char *)"fuzz-regress", (char *)"--",
		(char *)"--pool-mb", pool, (char *)"--log-level", (char *)"4",
		(char *)"--config", ini, NULL };
	FILE *f;

	snprintf(ini, sizeof(ini), "/tmp/fuzz-regress-%d.ini", (int)getpid());
	f = fopen(ini, "w");
	cr_assert_not_null(f);
	fprintf(f, "[mm]\ngather_batch_max = 1\n");
	fclose(f);
	cr_assert_geq(mmrt_init(8, argv), 0, "mmrt_init failed");
	unlink(ini);
}

Test(fuzz_regress, heap_batch_swap, .init = batch_one_up,
	.fini = teardown)
{
	const size_t mb = UINT64_C(1) << 20;
	uint64_t hd0, cd0, h0, c0, h1, c1, h, c, hdr, elem, grow;
	struct mmrt_as *as = mmrt_as_create("fr-heap");
	const size_t bsize = sizeof(struct mm_gather_batch) +
		MMRT_GATHER_BATCH_ENTRIES * sizeof(uint64_t);
	uint8_t *p, *q;
	void *plug[4];
	unsigned int i;
	bool steered;

	cr_assert_not_null(as);
	/* a gather of a table and frames: the cache holds one batch */
	swap_prepare(as);
	swap_unmap(as);
	mm_gather_cache_drain();
	heap_now(&hd0, &cd0);
	swap_prepare(as);
	swap_unmap(as);
	heap_now(&h0, &c0);
	cr_assert_eq(c0, cd0 + 1, "one cached batch");
	swap_prepare(as);

	/*
	 * A fresh batch is looked for first among the free blocks whose
	 * data fits 4 KiB exactly (batches freed earlier): fill those.
	 */
	for (i = 0; i < RTE_DIM(plug); i++) {
		plug[i] = rte_malloc("fr-plug", bsize, 0);
		cr_assert_not_null(plug[i]);
	}
	/* q just below p, 1 MiB each (from the end of the big free block) */
	heap_now(&h1, &c1);
	p = rte_malloc("fr-p", mb, 0);
	cr_assert_not_null(p);
	heap_now(&h, &c);
	hdr = h - h1 - mb;          /* the allocator's element header */
	q = rte_malloc("fr-q", mb, 0);
	cr_assert_not_null(q);
	steered = (uintptr_t)q + mb + hdr == (uintptr_t)p;
	/* free p, then grow q into it, leaving a free block of exactly a
	 * batch's element plus 128 bytes between q and p's upper neighbour */
	rte_free(p);
	elem = hdr + RTE_CACHE_LINE_ROUNDUP(bsize);
	grow = hdr + mb - (elem + 128);
	/* (align 0 would fail DPDK 22.11's in-place check and move q) */
	if (steered)
		steered = rte_realloc(q, mb + grow, RTE_CACHE_LINE_SIZE) == q;
	if (!steered)
		cr_log_info("heap layout: q not just below p (or not grown in "
			"place): the block is not steered here");

	/* the table takes the cached batch, the frames a fresh one (into
	 * that block); the fresh one is kept, the old one freed */
	swap_unmap(as);
	rte_free(q);
	for (i = 0; i < RTE_DIM(plug); i++)
		rte_free(plug[i]);
	heap_now(&h1, &c1);
	cr_assert_eq(c1, c0, "allocations %" PRIu64 ", %" PRIu64 " before",
		c1, c0);
	/* the fresh batch's padding: 128 bytes where steered; anywhere, less
	 * than the remainder DPDK would split off (a header and a line) */
	cr_assert(h1 >= h0 && h1 - h0 < hdr + RTE_CACHE_LINE_SIZE &&
		(!steered || h1 - h0 <= 128),
		"heap %" PRIu64 " bytes in use, %" PRIu64 " before", h1, h0);
	cr_log_info("the fresh batch carries %" PRIu64 " bytes of padding%s",
		h1 - h0, steered ? " (steered)" : "");

	/* what the harness compares: exact once the cache is empty */
	mm_gather_cache_drain();
	heap_now(&h, &c);
	cr_assert_eq(c, cd0);
	cr_assert_eq(h, hd0, "heap %" PRIu64 " bytes in use with the batch "
		"cache empty, %" PRIu64 " before", h, hd0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
}
