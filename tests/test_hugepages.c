/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The runtime on real 2 MiB hugepages (not the --no-huge embedded
 * default): the pool reports hugepages, huge and 4 KiB mappings work, a
 * fork copies on write, and the pool balances after teardown.
 *
 * Skipped unless the machine has enough free 2 MiB hugepages and a
 * hugetlbfs mount.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "common.h"

#define EAL_MB 256
/* -m EAL_MB must fit in free hugepages */
#define NEED_HUGEPAGES (EAL_MB / 2)
#define VA_HUGE (UINT64_C(1) << 30)
#define VA_SMALL (UINT64_C(2) << 30)
#define HUGE_LEN (2 * HPG)
#define SMALL_LEN (16 * PG)
#define SKIP_MSG "no free 2 MiB hugepages: reserve with " \
	"./mmrt.sh hugepages reserve 512M"

static uint8_t wbuf[HUGE_LEN];
static uint8_t rbuf[HUGE_LEN];

static void
pattern(uint8_t *b, size_t len, uint64_t tag)
{
	size_t i;

	for (i = 0; i < len; i += 8) {
		uint64_t w = tag * UINT64_C(0x9e3779b97f4a7c15) + i;

		memcpy(b + i, &w, 8);
	}
}

static void
check(struct mmrt_as *as, uint64_t va, size_t len, uint64_t tag)
{
	pattern(wbuf, len, tag);
	cr_assert_eq(mmrt_read(as, va, rbuf, len), 0);
	cr_assert_arr_eq(rbuf, wbuf, len, "%s: contents at %#" PRIx64
		" are not those of tag %" PRIu64, mmrt_as_name(as), va, tag);
}

static void
put(struct mmrt_as *as, uint64_t va, size_t len, uint64_t tag)
{
	pattern(wbuf, len, tag);
	cr_assert_eq(mmrt_write(as, va, wbuf, len), 0);
}

Test(hugepages, real_hugepages, .timeout = 300)
{
	char *argv[] = { (char *)"test-hugepages", (char *)"--in-memory",
		(char *)"-m", (char *)RTE_STR(EAL_MB), (char *)"--no-pci",
		(char *)"-l", (char *)"0", (char *)"--", (char *)"--pool-mb",
		(char *)"128", NULL };
	struct mmrt_mem_stats ms;
	struct mmrt_as *p, *c;
	struct mmrt_xlate xp, xc;
	long nfree = mmrt_test_free_hugepages();
	uint64_t base;

	if (nfree < NEED_HUGEPAGES || !mmrt_test_hugetlbfs_mounted())
		cr_skip_test(SKIP_MSG " (free: %ld, needed: %d, hugetlbfs %s)",
			nfree, NEED_HUGEPAGES,
			mmrt_test_hugetlbfs_mounted() ? "mounted" : "not mounted");

	cr_assert_geq(mmrt_init(RTE_DIM(argv) - 1, argv), 0,
		"mmrt_init on hugepages failed");
	cr_assert_eq(mmrt_mem_stats(&ms), 0);
	cr_assert(ms.hugepages, "pool not backed by hugepages");
	cr_assert_gt(ms.huge_total, 0);
	cr_log_info("pool: %" PRIu64 " frames, %" PRIu64 " huge, iova_as_va %d",
		ms.frames_total, ms.huge_total, ms.iova_as_va);
	base = mmrt_test_used();

	p = mmrt_as_create("hp-parent");
	cr_assert_not_null(p);
	cr_assert_eq(mmrt_map(p, VA_HUGE, HUGE_LEN, RW, MMRT_MAP_HUGE), 0);
	cr_assert_eq(mmrt_map(p, VA_SMALL, SMALL_LEN, RW, 0), 0);
	put(p, VA_HUGE, HUGE_LEN, 1);
	put(p, VA_SMALL, SMALL_LEN, 2);
	check(p, VA_HUGE, HUGE_LEN, 1);
	check(p, VA_SMALL, SMALL_LEN, 2);

	cr_assert_eq(mmrt_translate(p, VA_HUGE + 3 * PG, MMRT_ACCESS_WRITE,
		&xp), 0);
	cr_assert(xp.huge, "huge mapping not backed by a huge frame");
	cr_assert_neq(xp.iova, RTE_BAD_IOVA);
	cr_assert_eq(xp.iova, mmrt_frame_iova(xp.pfn));
	cr_assert_eq(mmrt_translate(p, VA_SMALL, MMRT_ACCESS_WRITE, &xp), 0);
	cr_assert(!xp.huge);
	cr_assert_neq(xp.iova, RTE_BAD_IOVA);

	/* fork: shared, then copied on write both ways */
	c = mmrt_as_fork(p, "hp-child");
	cr_assert_not_null(c);
	check(c, VA_HUGE, HUGE_LEN, 1);
	check(c, VA_SMALL, SMALL_LEN, 2);
	cr_assert_eq(mmrt_translate(p, VA_HUGE, MMRT_ACCESS_READ, &xp), 0);
	cr_assert_eq(mmrt_translate(c, VA_HUGE, MMRT_ACCESS_READ, &xc), 0);
	cr_assert_eq(xp.pfn, xc.pfn);
	put(c, VA_HUGE, PG, 3);
	put(p, VA_SMALL, PG, 4);
	check(p, VA_HUGE, PG, 1);
	check(c, VA_HUGE, PG, 3);
	check(c, VA_SMALL, PG, 2);
	check(p, VA_SMALL, PG, 4);

	cr_assert_eq(mmrt_as_destroy(p), 0);
	check(c, VA_HUGE, PG, 3);
	cr_assert_eq(mmrt_as_destroy(c), 0);
	cr_assert_eq(mmrt_test_used(), base, "%" PRIu64 " frames used, %"
		PRIu64 " at start", mmrt_test_used(), base);
	cr_assert_eq(mmrt_fini(), 0);
}
