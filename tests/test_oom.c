/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Pool exhaustion: every operation that needs frames it cannot get fails
 * with -ENOMEM (or NULL/ENOMEM), leaves the address space as it was, and
 * leaks nothing. The pool is drained on purpose by holding frames.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>

#include "common.h"

#define VA_HUGE (UINT64_C(2) << 30)

/* Frames held to drain the pool. */
struct hoard {
	uint32_t *pfns;
	unsigned int n;
};

/* Take every free 4 KiB frame (huge chunks are split to get them). */
static void
hoard_all(struct hoard *h)
{
	struct mmrt_mem_stats st;
	int64_t p;

	cr_assert_eq(mmrt_mem_stats(&st), 0);
	h->pfns = malloc(st.frames_total * sizeof(uint32_t));
	cr_assert_not_null(h->pfns);
	h->n = 0;
	while ((p = mmrt_frame_alloc(0)) >= 0)
		h->pfns[h->n++] = (uint32_t)p;
	cr_assert_eq(p, -ENOMEM);
}

/* Give back all but @keep_free frames' worth... i.e. release @n frames. */
static void
hoard_release(struct hoard *h, unsigned int n)
{
	while (n-- > 0 && h->n > 0)
		cr_assert_eq(mmrt_frame_put(h->pfns[--h->n]), 1);
}

static void
hoard_free(struct hoard *h)
{
	hoard_release(h, h->n);
	free(h->pfns);
}

static void
same_stats(struct mmrt_as *as, const struct mmrt_as_stats *a)
{
	struct mmrt_as_stats b;

	cr_assert_eq(mmrt_as_stats(as, &b), 0);
	cr_assert_eq(a->regions, b.regions);
	cr_assert_eq(a->mapped_bytes, b.mapped_bytes);
	cr_assert_eq(a->rss_pages, b.rss_pages);
}

/* Bring the runtime up (16 MiB pool) and make a space; *@p used0: the
 * pool's use before the space. */
static struct mmrt_as *
oom_up(uint64_t *used0)
{
	struct mmrt_as *as;

	mmrt_test_up(16);
	*used0 = mmrt_test_used();
	as = mmrt_as_create("oom");
	cr_assert_not_null(as);
	return as;
}

/* oom_up()'s end: the space destroyed, every frame back, mmrt down. */
static void
oom_down(struct mmrt_as *as, uint64_t used0)
{
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
	mmrt_test_down();
}

Test(oom, map_populate_fails_whole, .timeout = 60)
{
	struct mmrt_as_stats st;
	struct hoard h;
	struct mmrt_as *as;
	uint64_t used0;

	as = oom_up(&used0);
	cr_assert_eq(mmrt_as_stats(as, &st), 0);
	hoard_all(&h);
	hoard_release(&h, 64); /* room for tables and a few pages only */
	cr_assert_eq(mmrt_map(as, VA, 1024 * PG, MMRT_PROT_READ |
		MMRT_PROT_WRITE, MMRT_MAP_POPULATE), -ENOMEM);
	/* nothing stays mapped, every frame it took is back */
	same_stats(as, &st);
	cr_assert_eq(mmrt_read(as, VA, &used0, 1), -EFAULT);
	hoard_free(&h);
	oom_down(as, used0);
}

Test(oom, fault_and_write_fail_cleanly, .timeout = 60)
{
	uint8_t buf[PG], out[PG];
	struct mmrt_as_stats st;
	struct hoard h;
	struct mmrt_as *as;
	uint64_t used0;

	as = oom_up(&used0);
	cr_assert_eq(mmrt_map(as, VA, 16 * PG, MMRT_PROT_READ |
		MMRT_PROT_WRITE, 0), 0);
	memset(buf, 0x5a, sizeof(buf));
	cr_assert_eq(mmrt_write(as, VA, buf, PG), 0);
	cr_assert_eq(mmrt_as_stats(as, &st), 0);
	hoard_all(&h);
	/* demand-zero needs a frame: -ENOMEM, and the page stays absent */
	cr_assert_eq(mmrt_fault(as, VA + 4 * PG, MMRT_ACCESS_WRITE), -ENOMEM);
	cr_assert_eq(mmrt_write(as, VA + 5 * PG, buf, 8), -ENOMEM);
	same_stats(as, &st);
	/* a read fault maps the zero frame: no allocation needed */
	cr_assert_eq(mmrt_read(as, VA + 6 * PG, out, 8), 0);
	cr_assert_eq(out[0], 0);
	/* the populated page is untouched */
	cr_assert_eq(mmrt_read(as, VA, out, PG), 0);
	cr_assert_eq(memcmp(out, buf, PG), 0);
	hoard_free(&h);
	cr_assert_eq(mmrt_write(as, VA + 5 * PG, buf, 8), 0);
	oom_down(as, used0);
}

Test(oom, fork_fails_without_leftovers, .timeout = 60)
{
	uint8_t buf[PG], out[PG];
	struct mmrt_as_stats st;
	struct mmrt_as *as, *child;
	struct hoard h;
	uint64_t used0, used1;

	as = oom_up(&used0);
	/* regions far apart need several page-table pages in a child */
	cr_assert_eq(mmrt_map(as, VA, 8 * PG, MMRT_PROT_READ | MMRT_PROT_WRITE,
		MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_map(as, UINT64_C(1) << 40, 8 * PG, MMRT_PROT_READ |
		MMRT_PROT_WRITE, MMRT_MAP_POPULATE), 0);
	memset(buf, 0x77, sizeof(buf));
	cr_assert_eq(mmrt_write(as, VA, buf, PG), 0);
	cr_assert_eq(mmrt_as_stats(as, &st), 0);
	used1 = mmrt_test_used();
	hoard_all(&h);
	hoard_release(&h, 2); /* the child's root table and one more */
	rte_errno = 0;
	child = mmrt_as_fork(as, "child");
	cr_assert_null(child);
	cr_assert_eq(rte_errno, ENOMEM);
	cr_assert_null(mmrt_as_lookup("child"));
	hoard_free(&h);
	/* the parent is intact and the child left nothing behind */
	same_stats(as, &st);
	cr_assert_eq(mmrt_test_used(), used1);
	cr_assert_eq(mmrt_read(as, VA, out, PG), 0);
	cr_assert_eq(memcmp(out, buf, PG), 0);
	/* and the parent's frames are still exclusively its own: writes reuse */
	cr_assert_eq(mmrt_write(as, VA, buf, 8), 0);
	cr_assert_eq(mmrt_as_stats(as, &st), 0);
	cr_assert_eq(st.cow, 0);
	oom_down(as, used0);
}

Test(oom, cow_write_fails_and_both_keep_contents, .timeout = 60)
{
	uint8_t a[PG], b[PG], out[PG];
	struct mmrt_as *as, *child;
	struct hoard h;
	uint64_t used0;

	as = oom_up(&used0);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, MMRT_PROT_READ | MMRT_PROT_WRITE,
		0), 0);
	memset(a, 0x11, sizeof(a));
	memset(b, 0x22, sizeof(b));
	cr_assert_eq(mmrt_write(as, VA, a, PG), 0);
	child = mmrt_as_fork(as, "child");
	cr_assert_not_null(child);
	hoard_all(&h);
	cr_assert_eq(mmrt_write(child, VA, b, PG), -ENOMEM);
	cr_assert_eq(mmrt_write(as, VA, b, PG), -ENOMEM);
	cr_assert_eq(mmrt_read(child, VA, out, PG), 0);
	cr_assert_eq(memcmp(out, a, PG), 0);
	cr_assert_eq(mmrt_read(as, VA, out, PG), 0);
	cr_assert_eq(memcmp(out, a, PG), 0);
	hoard_free(&h);
	cr_assert_eq(mmrt_write(child, VA, b, PG), 0);
	cr_assert_eq(mmrt_read(as, VA, out, PG), 0);
	cr_assert_eq(memcmp(out, a, PG), 0);
	cr_assert_eq(mmrt_as_destroy(child), 0);
	oom_down(as, used0);
}

Test(oom, huge_falls_back_to_small_frames, .timeout = 60)
{
	struct mmrt_mem_stats st;
	struct mmrt_xlate x;
	struct mmrt_as *as;
	uint32_t heads[64];
	unsigned int n = 0, i;
	uint64_t used0;
	int64_t p;

	mmrt_test_up(32);
	used0 = mmrt_test_used();
	as = mmrt_as_create("oom");
	cr_assert_not_null(as);
	while (n < RTE_DIM(heads) && (p = mmrt_huge_alloc(0)) >= 0)
		heads[n++] = (uint32_t)p;
	cr_assert_eq(mmrt_mem_stats(&st), 0);
	cr_assert_eq(st.huge_free, 0);
	cr_assert_eq(mmrt_map(as, VA_HUGE, MMRT_HUGE_SIZE, MMRT_PROT_READ |
		MMRT_PROT_WRITE, MMRT_MAP_HUGE | MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_translate(as, VA_HUGE + PG, MMRT_ACCESS_WRITE, &x),
		0);
	cr_assert(!x.huge, "no huge frame was free: 4 KiB fallback expected");
	for (i = 0; i < n; i++)
		cr_assert_eq(mmrt_frame_put(heads[i]), 1);
	oom_down(as, used0);
}

Test(oom, partial_unmap_of_huge_without_a_table_page, .timeout = 60)
{
	uint8_t buf[64], out[64];
	struct mmrt_as_stats st;
	struct mmrt_xlate x;
	struct mmrt_as *as;
	struct hoard h;
	uint64_t used0;

	mmrt_test_up(32);
	used0 = mmrt_test_used();
	as = mmrt_as_create("oom");
	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA_HUGE, MMRT_HUGE_SIZE, MMRT_PROT_READ |
		MMRT_PROT_WRITE, MMRT_MAP_HUGE | MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_translate(as, VA_HUGE, 0, &x), 0);
	cr_assert(x.huge);
	memset(buf, 0x3c, sizeof(buf));
	cr_assert_eq(mmrt_write(as, VA_HUGE + 8 * PG, buf, sizeof(buf)), 0);
	cr_assert_eq(mmrt_as_stats(as, &st), 0);
	hoard_all(&h);
	/* splitting the 2 MiB leaf needs a table page: none to be had */
	cr_assert_eq(mmrt_unmap(as, VA_HUGE + PG, PG), -ENOMEM);
	cr_assert_eq(mmrt_protect(as, VA_HUGE + PG, PG, MMRT_PROT_READ),
		-ENOMEM);
	cr_assert_eq(mmrt_advise(as, VA_HUGE + PG, PG, MMRT_ADV_DONTNEED),
		-ENOMEM);
	same_stats(as, &st);
	cr_assert_eq(mmrt_translate(as, VA_HUGE + PG, MMRT_ACCESS_WRITE, &x),
		0);
	cr_assert(x.huge);
	cr_assert_eq(mmrt_read(as, VA_HUGE + 8 * PG, out, sizeof(out)), 0);
	cr_assert_eq(memcmp(out, buf, sizeof(buf)), 0);
	hoard_free(&h);
	cr_assert_eq(mmrt_unmap(as, VA_HUGE + PG, PG), 0);
	cr_assert_eq(mmrt_read(as, VA_HUGE + PG, out, 8), -EFAULT);
	cr_assert_eq(mmrt_read(as, VA_HUGE + 8 * PG, out, sizeof(out)), 0);
	cr_assert_eq(memcmp(out, buf, sizeof(buf)), 0);
	oom_down(as, used0);
}
