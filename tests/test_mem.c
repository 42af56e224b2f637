/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The frame pool (lib/mem, DESIGN.md section 2): references and
 * generations, bulk all-or-nothing allocation, huge frames and their
 * split, pfn <-> address <-> IOVA, the zeroing service (polled and on a
 * real DPDK service lcore), concurrent allocation from unregistered
 * threads and the main lcore, and the statistics.
 *
 * Loops are bounded by iteration counts; where the timer is read it only
 * bounds a wait and is never asserted on.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_memzone.h>
#include <rte_pause.h>
#include <rte_service.h>

#include "common.h"

#if defined(__SANITIZE_ADDRESS__)
#define MEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEM_ASAN 1
#endif
#endif
#ifndef MEM_ASAN
#define MEM_ASAN 0
#endif

#define POOL_MB 32
#define RACE_POOL_MB 64
/* frames of the largest pool a test brings up */
#define MAX_FRAMES ((RACE_POOL_MB << 20) / PG)
#define MAX_HUGE (MAX_FRAMES / MMRT_HUGE_NR)
#define BAD_FLAG (1u << 31)

static const uint8_t zero_page[MMRT_PAGE_SIZE];
/* scratch pfn arrays, large enough for a whole pool */
static uint32_t pfns[MAX_FRAMES];
static uint32_t huge[MAX_HUGE];
static uint8_t seen[MAX_FRAMES];

static bool
page_is_zero(const void *p)
{
	return memcmp(p, zero_page, PG) == 0;
}

static bool
page_is(const void *p, uint8_t v)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < PG; i++)
		if (b[i] != v)
			return false;
	return true;
}

static void
get_stats(struct mmrt_mem_stats *st)
{
	cr_assert_eq(mmrt_mem_stats(st), 0, "mmrt_mem_stats failed");
}

static struct mmrt_frame *
meta(uint32_t pfn)
{
	struct mmrt_frame *f = mmrt_frame_meta(pfn);

	cr_assert_not_null(f, "no metadata for pfn %" PRIu32, pfn);
	return f;
}

/* Zero every dirty free frame with mmrt_mem_zero_poll(); @return frames. */
static uint64_t
poll_until_clean(unsigned int budget)
{
	uint64_t total = 0;
	unsigned int i;
	int r = -1;

	for (i = 0; i < MAX_FRAMES / budget + 16; i++) {
		r = mmrt_mem_zero_poll(budget);
		cr_assert_geq(r, 0, "mmrt_mem_zero_poll: %d", r);
		cr_assert_leq((unsigned int)r, budget,
			"zeroed %d frames, budget %u", r, budget);
		if (r == 0)
			break;
		total += r;
	}
	cr_assert_eq(r, 0, "mmrt_mem_zero_poll never ran out of dirty frames");
	return total;
}

/*
 * 1. One frame: references, generation, double free, ZERO on recycled
 * dirty frames.
 */
Test(mem, alloc_put)
{
	struct mmrt_mem_stats st0, st1;
	struct mmrt_frame *f;
	uint64_t start;
	uint32_t gen, pfn, prev;
	unsigned int i, recycled = 0;
	int64_t p;

	mmrt_test_up(POOL_MB);
	start = mmrt_test_used();
	get_stats(&st0);

	p = mmrt_frame_alloc(0);
	cr_assert_geq(p, 0, "mmrt_frame_alloc: %" PRId64, p);
	cr_assert_lt((uint64_t)p, st0.frames_total);
	pfn = (uint32_t)p;
	f = meta(pfn);
	cr_assert_eq(f->refcount, 1);
	cr_assert_eq(f->flags, 0, "flags 0x%x", f->flags);
	cr_assert_eq(f->mapcount, 0);
	cr_assert_eq(f->priv, 0);
	cr_assert_eq(mmrt_mem_used(), start + 1);
	gen = f->gen;

	cr_assert_eq(mmrt_frame_get(pfn), 0);
	cr_assert_eq(f->refcount, 2);
	cr_assert_eq(mmrt_frame_get(pfn), 0);
	cr_assert_eq(f->refcount, 3);
	cr_assert_eq(mmrt_frame_put(pfn), 0);
	cr_assert_eq(mmrt_frame_put(pfn), 0);
	cr_assert_eq(f->refcount, 1);
	cr_assert_eq(f->gen, gen, "generation moved without a free");
	cr_assert_eq(f->flags & MMRT_FRAME_FREE, 0);
	cr_assert_eq(mmrt_mem_used(), start + 1);

	cr_assert_eq(mmrt_frame_put(pfn), 1, "last put must free");
	cr_assert_eq(f->refcount, 0);
	cr_assert_neq(f->flags & MMRT_FRAME_FREE, 0, "freed frame not FREE");
	cr_assert_eq(f->gen, gen + 1, "gen %" PRIu32 " after free, want %"
		PRIu32, f->gen, gen + 1);

	/* a free frame: no reference to take or drop, nothing changes */
	cr_assert_eq(mmrt_frame_put(pfn), -EINVAL, "double free accepted");
	cr_assert_eq(mmrt_frame_get(pfn), -EINVAL, "get of a free frame");
	cr_assert_eq(f->refcount, 0);
	cr_assert_eq(f->gen, gen + 1, "double free bumped the generation");
	cr_assert_eq(mmrt_test_used(), start);

	get_stats(&st1);
	cr_assert_eq(st1.allocs - st0.allocs, 1);
	cr_assert_eq(st1.frees - st0.frees, 1);

	/* bad flags and bad pfns change nothing */
	cr_assert_eq(mmrt_frame_alloc(BAD_FLAG), -EINVAL);
	cr_assert_eq(mmrt_frame_alloc(MMRT_ALLOC_ZERO << 1), -EINVAL);
	cr_assert_eq(mmrt_huge_alloc(BAD_FLAG), -EINVAL);
	cr_assert_eq(mmrt_frame_get((uint32_t)st0.frames_total), -EINVAL);
	cr_assert_eq(mmrt_frame_put((uint32_t)st0.frames_total), -EINVAL);
	cr_assert_eq(mmrt_frame_get(MMRT_PFN_NONE), -EINVAL);
	cr_assert_eq(mmrt_frame_put(MMRT_PFN_NONE), -EINVAL);
	cr_assert_eq(mmrt_test_used(), start);

	/* dirty, free, then ZERO-allocate: recycled frames read as zero */
	prev = MMRT_PFN_NONE;
	for (i = 0; i < 400; i++) {
		p = mmrt_frame_alloc(0);
		cr_assert_geq(p, 0, "alloc %u: %" PRId64, i, p);
		pfn = (uint32_t)p;
		memset(mmrt_frame_addr(pfn), 0xA5, PG);
		f = meta(pfn);
		gen = f->gen;
		cr_assert_eq(mmrt_frame_put(pfn), 1);
		cr_assert_eq(f->gen, gen + 1, "gen not bumped exactly once");
		prev = pfn;

		p = mmrt_frame_alloc(MMRT_ALLOC_ZERO);
		cr_assert_geq(p, 0, "zero alloc %u: %" PRId64, i, p);
		pfn = (uint32_t)p;
		if (pfn == prev)
			recycled++;
		cr_assert(page_is_zero(mmrt_frame_addr(pfn)),
			"MMRT_ALLOC_ZERO frame %" PRIu32 " not zero (iter %u)",
			pfn, i);
		cr_assert_eq(meta(pfn)->refcount, 1);
		/* dirty the zeroed frame too before it goes back */
		memset(mmrt_frame_addr(pfn), 0x5A, PG);
		cr_assert_eq(mmrt_frame_put(pfn), 1);
	}
	cr_assert_gt(recycled, 0, "no ZERO allocation reused a dirty frame");
	cr_assert_eq(mmrt_test_used(), start);
	mmrt_test_down();
}

/* 2. Bulk allocation and free; exhaustion is all or nothing. */
Test(mem, bulk)
{
	struct mmrt_mem_stats st0, st1;
	uint32_t buf[100], mix[8];
	uint64_t start, u, cnt = 0, freed;
	unsigned int i, n;
	int r;

	mmrt_test_up(POOL_MB);
	start = mmrt_test_used();
	get_stats(&st0);

	cr_assert_eq(mmrt_frame_alloc_bulk(NULL, 4, 0), -EINVAL);
	cr_assert_eq(mmrt_frame_alloc_bulk(buf, 0, 0), -EINVAL);
	cr_assert_eq(mmrt_frame_alloc_bulk(buf, 4, BAD_FLAG), -EINVAL);
	cr_assert_eq(mmrt_frame_put_bulk(NULL, 1), -EINVAL);
	cr_assert_eq(mmrt_test_used(), start);

	/* dirty some frames so that the ZERO bulk below may reuse them */
	cr_assert_eq(mmrt_frame_alloc_bulk(buf, 100, 0), 100);
	for (i = 0; i < 100; i++)
		memset(mmrt_frame_addr(buf[i]), 0xA5, PG);
	cr_assert_eq(mmrt_frame_put_bulk(buf, 100), 100);
	cr_assert_eq(mmrt_test_used(), start);

	r = mmrt_frame_alloc_bulk(buf, 100, MMRT_ALLOC_ZERO);
	cr_assert_eq(r, 100, "alloc_bulk: %d", r);
	cr_assert_eq(mmrt_mem_used(), start + 100);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 100; i++) {
		cr_assert_lt(buf[i], st0.frames_total);
		cr_assert_eq(seen[buf[i]], 0, "pfn %" PRIu32 " twice", buf[i]);
		seen[buf[i]] = 1;
		cr_assert_eq(meta(buf[i])->refcount, 1);
		cr_assert_eq(meta(buf[i])->flags, 0);
		cr_assert(page_is_zero(mmrt_frame_addr(buf[i])),
			"bulk ZERO frame %u not zero", i);
	}
	/* a shared frame survives the bulk put */
	cr_assert_eq(mmrt_frame_get(buf[0]), 0);
	cr_assert_eq(mmrt_frame_put_bulk(buf, 100), 99);
	cr_assert_eq(meta(buf[0])->refcount, 1);
	cr_assert_eq(meta(buf[1])->flags & MMRT_FRAME_FREE, MMRT_FRAME_FREE);
	cr_assert_eq(mmrt_frame_put(buf[0]), 1);
	cr_assert_eq(mmrt_test_used(), start);

	/* bad entries (out of range, already free, repeated) are skipped */
	cr_assert_eq(mmrt_frame_alloc_bulk(buf, 4, 0), 4);
	mix[0] = buf[0];
	mix[1] = MMRT_PFN_NONE;
	mix[2] = buf[1];
	mix[3] = (uint32_t)st0.frames_total;
	mix[4] = buf[2];
	mix[5] = buf[0];
	mix[6] = buf[3];
	mix[7] = mmrt_zero_pfn();
	cr_assert_eq(mmrt_frame_put_bulk(mix, 8), 4);
	cr_assert_eq(meta(mmrt_zero_pfn())->flags & MMRT_FRAME_ZERO,
		MMRT_FRAME_ZERO);
	cr_assert_eq(mmrt_test_used(), start);

	/* more than the pool holds: fails, takes nothing */
	u = mmrt_mem_used();
	cr_assert_eq(mmrt_frame_alloc_bulk(pfns, st0.frames_total, 0), -ENOMEM);
	cr_assert_eq(mmrt_mem_used(), u, "failed bulk took frames");

	/* exhaust the pool in shrinking bulks; each failure takes nothing */
	memset(seen, 0, sizeof(seen));
	n = 256;
	while (n > 0) {
		cr_assert_leq(cnt + n, MAX_FRAMES);
		u = mmrt_mem_used();
		r = mmrt_frame_alloc_bulk(&pfns[cnt], n, 0);
		if (r == (int)n) {
			for (i = 0; i < n; i++) {
				uint32_t pfn = pfns[cnt + i];

				cr_assert_lt(pfn, st0.frames_total);
				cr_assert_eq(seen[pfn], 0,
					"pfn %" PRIu32 " handed out twice", pfn);
				seen[pfn] = 1;
			}
			cnt += n;
			cr_assert_eq(mmrt_mem_used(), u + n);
			continue;
		}
		cr_assert_eq(r, -ENOMEM, "alloc_bulk(%u): %d", n, r);
		cr_assert_eq(mmrt_mem_used(), u,
			"failed alloc_bulk(%u) took frames", n);
		n /= 2;
	}
	get_stats(&st1);
	cr_assert_eq(st1.frames_free, 0, "%" PRIu64 " frames free after "
		"exhaustion", st1.frames_free);
	cr_assert_eq(mmrt_mem_used() + 1, st1.frames_total);
	cr_assert_eq(cnt, st0.frames_free, "allocated %" PRIu64 " of %" PRIu64
		" free frames", cnt, st0.frames_free);

	/* an empty pool: every kind of allocation fails, nothing changes */
	u = mmrt_mem_used();
	cr_assert_eq(mmrt_frame_alloc_bulk(buf, 1, 0), -ENOMEM);
	cr_assert_eq(mmrt_frame_alloc_bulk(buf, 100, 0), -ENOMEM);
	cr_assert_eq(mmrt_frame_alloc(0), -ENOMEM);
	cr_assert_eq(mmrt_frame_alloc(MMRT_ALLOC_ZERO), -ENOMEM);
	cr_assert_eq(mmrt_huge_alloc(0), -ENOMEM);
	cr_assert_eq(mmrt_mem_used(), u);
	get_stats(&st0);
	cr_assert_geq(st0.alloc_fail - st1.alloc_fail, 5);

	freed = 0;
	for (i = 0; i < cnt; i += 1000) {
		n = (unsigned int)RTE_MIN((uint64_t)1000, cnt - i);
		r = mmrt_frame_put_bulk(&pfns[i], n);
		cr_assert_eq(r, (int)n, "put_bulk: %d of %u", r, n);
		freed += r;
	}
	cr_assert_eq(freed, cnt);
	cr_assert_eq(mmrt_test_used(), start);
	mmrt_test_down();
}

/*
 * 2b. A bulk allocation that fails leaves the huge frames whole: split
 * frames are never coalesced, so splitting for a request that cannot be
 * met would cost the pool its huge frames for nothing.
 */
Test(mem, bulk_fail_keeps_huge)
{
	struct mmrt_mem_stats st0, st1;
	uint64_t start;

	mmrt_test_up(POOL_MB);
	start = mmrt_test_used();
	get_stats(&st0);
	cr_assert_gt(st0.huge_free, 0);
	cr_assert_eq(mmrt_frame_alloc_bulk(pfns, st0.frames_total, 0),
		-ENOMEM);
	cr_assert_eq(mmrt_test_used(), start);
	get_stats(&st1);
	cr_expect_eq(st1.huge_free, st0.huge_free, "a failed alloc_bulk "
		"split %" PRIu64 " huge frames", st0.huge_free - st1.huge_free);
	cr_expect_eq(st1.splits, st0.splits);
	mmrt_test_down();
}

static void
check_huge(uint32_t h, uint32_t head_flags)
{
	uint8_t *a = mmrt_frame_addr(h);
	unsigned int i;

	cr_assert_eq(h % MMRT_HUGE_NR, 0, "head %" PRIu32 " not aligned", h);
	cr_assert_not_null(a);
	cr_assert_eq((uintptr_t)a % HPG, 0, "huge frame at %p", (void *)a);
	cr_assert_eq(meta(h)->flags, head_flags, "head flags 0x%x",
		meta(h)->flags);
	cr_assert_eq(meta(h)->refcount, 1);
	for (i = 1; i < MMRT_HUGE_NR; i++) {
		cr_assert_eq(meta(h + i)->flags, MMRT_FRAME_TAIL,
			"tail %u flags 0x%x", i, meta(h + i)->flags);
		cr_assert_eq((uint8_t *)mmrt_frame_addr(h + i), a + i * PG);
	}
}

/* 3. Huge frames: layout, tails, split, exhaustion, counters. */
Test(mem, huge)
{
	struct mmrt_mem_stats st0, st1;
	struct mmrt_frame *f;
	uint64_t start, nh = 0;
	uint32_t h, gen, tgen[MMRT_HUGE_NR];
	unsigned int i, k;
	int64_t p;

	mmrt_test_up(POOL_MB);
	start = mmrt_test_used();
	get_stats(&st0);
	cr_assert_gt(st0.huge_free, 1, "pool has %" PRIu64 " huge frames",
		st0.huge_free);

	p = mmrt_huge_alloc(0);
	cr_assert_geq(p, 0, "mmrt_huge_alloc: %" PRId64, p);
	h = (uint32_t)p;
	check_huge(h, MMRT_FRAME_HEAD);
	cr_assert_eq(mmrt_mem_used(), start + MMRT_HUGE_NR);
	get_stats(&st1);
	cr_assert_eq(st1.huge_free, st0.huge_free - 1);
	cr_assert_eq(st1.huge_allocs - st0.huge_allocs, 1);

	/* tails are not separately referenced */
	cr_assert_eq(mmrt_frame_get(h + 1), -EINVAL);
	cr_assert_eq(mmrt_frame_put(h + 1), -EINVAL);
	cr_assert_eq(mmrt_frame_get(h + MMRT_HUGE_NR - 1), -EINVAL);
	cr_assert_eq(mmrt_frame_put(h + MMRT_HUGE_NR - 1), -EINVAL);
	cr_assert_eq(mmrt_huge_split(h + 1), -EINVAL);
	cr_assert_eq(meta(h)->refcount, 1);
	memset(mmrt_frame_addr(h), 0xA5, HPG);

	/* shared: no split, nothing changes */
	cr_assert_eq(mmrt_frame_get(h), 0);
	cr_assert_eq(mmrt_huge_split(h), -EBUSY);
	cr_assert_eq(meta(h)->refcount, 2);
	cr_assert_eq(mmrt_frame_put(h), 0);
	check_huge(h, MMRT_FRAME_HEAD);

	f = meta(h);
	gen = f->gen;
	cr_assert_eq(mmrt_frame_put(h), 1);
	cr_assert_neq(f->flags & MMRT_FRAME_FREE, 0);
	cr_assert_eq(f->gen, gen + 1);
	for (i = 1; i < MMRT_HUGE_NR; i++)
		cr_assert_eq(meta(h + i)->flags, MMRT_FRAME_FREE,
			"tail %u flags 0x%x after free", i, meta(h + i)->flags);
	cr_assert_eq(mmrt_frame_put(h), -EINVAL, "double free of a huge frame");
	cr_assert_eq(mmrt_test_used(), start);
	get_stats(&st1);
	cr_assert_eq(st1.huge_free, st0.huge_free);
	cr_assert_eq(st1.huge_frees - st0.huge_frees, 1);

	/* exhaust: every huge frame, dirtied; then again with ZERO */
	for (k = 0; k < 2; k++) {
		uint32_t fl = k == 0 ? 0 : MMRT_ALLOC_ZERO;

		nh = 0;
		while (nh < MAX_HUGE && (p = mmrt_huge_alloc(fl)) >= 0) {
			h = (uint32_t)p;
			check_huge(h, MMRT_FRAME_HEAD);
			if (fl != 0)
				for (i = 0; i < MMRT_HUGE_NR; i++)
					cr_assert(page_is_zero(
						mmrt_frame_addr(h + i)),
						"ZERO huge %" PRIu32 " page %u",
						h, i);
			memset(mmrt_frame_addr(h), 0xA5, HPG);
			huge[nh++] = h;
		}
		cr_assert_eq(p, -ENOMEM, "huge alloc: %" PRId64, p);
		cr_assert_eq(nh, st0.huge_free, "%" PRIu64 " huge of %" PRIu64,
			nh, st0.huge_free);
		get_stats(&st1);
		cr_assert_eq(st1.huge_free, 0);
		cr_assert_eq(mmrt_mem_used(), start + nh * MMRT_HUGE_NR);
		/* 4 KiB frames still come from the 4 KiB lists */
		p = mmrt_frame_alloc(0);
		cr_assert_geq(p, 0, "4 KiB alloc without huge frames: %"
			PRId64, p);
		cr_assert_eq(mmrt_frame_put((uint32_t)p), 1);
		for (i = 0; i < nh; i++)
			cr_assert_eq(mmrt_frame_put(huge[i]), 1);
		cr_assert_eq(mmrt_test_used(), start);
	}
	get_stats(&st1);
	cr_assert_eq(st1.huge_free, st0.huge_free);
	cr_assert_eq(st1.huge_allocs - st0.huge_allocs, 1 + 2 * nh);
	cr_assert_eq(st1.huge_frees - st0.huge_frees, 1 + 2 * nh);

	/* split: 512 independent frames */
	p = mmrt_huge_alloc(0);
	cr_assert_geq(p, 0);
	h = (uint32_t)p;
	for (i = 0; i < MMRT_HUGE_NR; i++)
		memset(mmrt_frame_addr(h + i), (int)(i & 0xff), PG);
	cr_assert_eq(mmrt_huge_split(h), 0);
	for (i = 0; i < MMRT_HUGE_NR; i++) {
		f = meta(h + i);
		cr_assert_eq(f->refcount, 1, "frame %u refcount %" PRIu32, i,
			f->refcount);
		cr_assert_eq(f->flags &
			(MMRT_FRAME_HEAD | MMRT_FRAME_TAIL | MMRT_FRAME_FREE),
			0, "frame %u flags 0x%x after split", i, f->flags);
		cr_assert(page_is(mmrt_frame_addr(h + i), (uint8_t)(i & 0xff)),
			"split changed frame %u", i);
		tgen[i] = f->gen;
	}
	cr_assert_eq(mmrt_huge_split(h), -EINVAL, "split of a split frame");
	cr_assert_eq(mmrt_mem_used(), start + MMRT_HUGE_NR);
	get_stats(&st1);
	cr_assert_eq(st1.splits - st0.splits, 1);
	/* each one lives on its own */
	cr_assert_eq(mmrt_frame_get(h + 7), 0);
	for (i = 0; i < MMRT_HUGE_NR; i += 2)
		cr_assert_eq(mmrt_frame_put(h + i), 1, "put of split frame %u",
			i);
	cr_assert_eq(mmrt_frame_put(h + 7), 0);
	for (i = 1; i < MMRT_HUGE_NR; i += 2) {
		cr_assert(page_is(mmrt_frame_addr(h + i), (uint8_t)(i & 0xff)),
			"freeing a neighbour changed frame %u", i);
		cr_assert_eq(mmrt_frame_put(h + i), 1, "put of split frame %u",
			i);
	}
	for (i = 0; i < MMRT_HUGE_NR; i++) {
		f = meta(h + i);
		cr_assert_neq(f->flags & MMRT_FRAME_FREE, 0);
		cr_assert_eq(f->gen, tgen[i] + 1, "frame %u gen", i);
	}
	cr_assert_eq(mmrt_test_used(), start);
	get_stats(&st1);
	/* the split chunk stays split */
	cr_assert_eq(st1.huge_free, st0.huge_free - 1);
	cr_assert_eq(st1.huge_allocs - st0.huge_allocs,
		st1.huge_frees - st0.huge_frees);

	/* split of a 4 KiB frame or a bad pfn */
	p = mmrt_frame_alloc(0);
	cr_assert_geq(p, 0);
	cr_assert_eq(mmrt_huge_split((uint32_t)p), -EINVAL);
	cr_assert_eq(meta((uint32_t)p)->refcount, 1);
	cr_assert_eq(mmrt_frame_put((uint32_t)p), 1);
	cr_assert_eq(mmrt_huge_split(MMRT_PFN_NONE), -EINVAL);
	cr_assert_eq(mmrt_huge_split((uint32_t)st0.frames_total), -EINVAL);
	cr_assert_eq(mmrt_test_used(), start);
	mmrt_test_down();
}

/* 4. pfn <-> host address <-> IOVA. */
Test(mem, addressing)
{
	struct mmrt_mem_stats st;
	uint8_t *base, *a;
	uint32_t pfn, nf;
	rte_iova_t iova;
	int64_t p;

	mmrt_test_up(POOL_MB);
	get_stats(&st);
	nf = (uint32_t)st.frames_total;
	base = mmrt_frame_addr(0);
	cr_assert_not_null(base);
	cr_assert_eq((uintptr_t)base % HPG, 0);

	for (pfn = 0; pfn < nf; pfn++) {
		a = mmrt_frame_addr(pfn);
		cr_assert_eq(a, base + (uint64_t)pfn * PG, "pfn %" PRIu32, pfn);
		cr_assert_eq(mmrt_frame_addr_unchecked(pfn), (void *)a);
		cr_assert_eq(mmrt_addr_to_pfn(a), pfn);
		cr_assert_eq(mmrt_addr_to_pfn(a + 1), pfn);
		cr_assert_eq(mmrt_addr_to_pfn(a + PG - 1), pfn);
		iova = mmrt_frame_iova(pfn);
		cr_assert_neq(iova, RTE_BAD_IOVA, "no IOVA for pfn %" PRIu32,
			pfn);
		cr_assert_eq(iova, mmrt_frame_iova_unchecked(pfn));
		if (st.iova_as_va)
			cr_assert_eq(iova, (rte_iova_t)(uintptr_t)a);
		/* a huge frame is IOVA-contiguous */
		if (pfn % MMRT_HUGE_NR != 0)
			cr_assert_eq(iova, mmrt_frame_iova(pfn - 1) + PG,
				"IOVA gap inside the chunk at pfn %" PRIu32,
				pfn);
		cr_assert_not_null(mmrt_frame_meta(pfn));
	}

	/* outside the pool */
	cr_assert_eq(mmrt_addr_to_pfn(base - 1), MMRT_PFN_NONE);
	cr_assert_eq(mmrt_addr_to_pfn(base + (uint64_t)nf * PG),
		MMRT_PFN_NONE);
	cr_assert_eq(mmrt_addr_to_pfn(NULL), MMRT_PFN_NONE);
	cr_assert_eq(mmrt_addr_to_pfn(&st), MMRT_PFN_NONE);
	cr_assert_eq(mmrt_addr_to_pfn((void *)UINTPTR_MAX), MMRT_PFN_NONE);

	/* bad pfns */
	cr_assert_null(mmrt_frame_addr(nf));
	cr_assert_null(mmrt_frame_addr(MMRT_PFN_NONE));
	cr_assert_eq(mmrt_frame_iova(nf), RTE_BAD_IOVA);
	cr_assert_eq(mmrt_frame_iova(MMRT_PFN_NONE), RTE_BAD_IOVA);
	cr_assert_null(mmrt_frame_meta(nf));
	cr_assert_null(mmrt_frame_meta(MMRT_PFN_NONE));

	/* what is written through the address is the frame's content */
	p = mmrt_frame_alloc(0);
	cr_assert_geq(p, 0);
	pfn = (uint32_t)p;
	a = mmrt_frame_addr(pfn);
	memset(a, 0x3C, PG);
	cr_assert(page_is(mmrt_frame_addr_unchecked(pfn), 0x3C));
	cr_assert_eq(mmrt_frame_put(pfn), 1);
	mmrt_test_down();
}

/*
 * 5. mmrt_mem_zero_poll(): dirty free frames become clean ones, ZERO
 * allocations take them without a memset, and plain allocations still get
 * them once no dirty frame is left.
 */
Test(mem, zero_poll)
{
	struct mmrt_mem_stats st0, st1, st2;
	uint64_t start, base, nh = 0, n = 0, total, half, rest, i;
	uint32_t id;
	int64_t p;

	mmrt_test_up(POOL_MB);
	start = mmrt_test_used();
	get_stats(&st0);
	cr_assert_eq(st0.frames_clean, 0);
	cr_assert_eq(mmrt_mem_zero_service_id(NULL), -EINVAL);
	cr_assert_eq(mmrt_mem_zero_service_id(&id), 0);
	cr_assert_eq(mmrt_mem_zero_poll(0), 0);

	/* hold the huge frames: every free frame is then a 4 KiB one */
	while (nh < MAX_HUGE && (p = mmrt_huge_alloc(0)) >= 0)
		huge[nh++] = (uint32_t)p;
	cr_assert_eq(nh, st0.huge_free);

	/* every 4 KiB frame, dirtied and freed */
	while (n < MAX_FRAMES && (p = mmrt_frame_alloc(0)) >= 0) {
		memset(mmrt_frame_addr((uint32_t)p), 0xA5, PG);
		pfns[n++] = (uint32_t)p;
	}
	cr_assert_eq(p, -ENOMEM);
	cr_assert_eq(n, st0.frames_free - nh * MMRT_HUGE_NR,
		"allocated %" PRIu64 " 4 KiB frames", n);
	cr_assert_eq(mmrt_frame_put_bulk(pfns, n), (int)n);
	base = mmrt_test_used();
	cr_assert_eq(base, start + nh * MMRT_HUGE_NR);
	get_stats(&st1);
	cr_assert_eq(st1.frames_clean, 0);

	total = poll_until_clean(100);
	get_stats(&st2);
	cr_assert_eq(total, n, "zeroed %" PRIu64 " of %" PRIu64, total, n);
	cr_assert_gt(st2.frames_clean, 0);
	cr_assert_eq(st2.frames_clean, total);
	cr_assert_eq(st2.zeroed - st1.zeroed, total);
	cr_assert_eq(st2.frames_free, n);
	cr_assert_eq(mmrt_mem_used(), base, "zeroing changed the accounting");
	cr_assert_eq(mmrt_mem_zero_poll(64), 0);

	/* ZERO allocations: served from the clean list, and zero */
	half = n / 2;
	for (i = 0; i < half; i++) {
		get_stats(&st1);
		cr_assert_gt(st1.frames_clean, 0);
		p = mmrt_frame_alloc(MMRT_ALLOC_ZERO);
		cr_assert_geq(p, 0, "ZERO alloc %" PRIu64 ": %" PRId64, i, p);
		pfns[i] = (uint32_t)p;
		cr_assert(page_is_zero(mmrt_frame_addr(pfns[i])),
			"clean frame %" PRIu32 " not zero", pfns[i]);
		cr_assert_eq(meta(pfns[i])->refcount, 1);
		get_stats(&st2);
		cr_assert_eq(st2.zero_hits - st1.zero_hits, 1,
			"ZERO alloc %" PRIu64 " not served from the clean list",
			i);
	}
	get_stats(&st1);
	/* clean frames parked in this lcore's cache are still clean */
	cr_expect_eq(st1.frames_clean, total - half, "frames_clean %" PRIu64
		", want %" PRIu64, st1.frames_clean, total - half);
	cr_assert_eq(st1.frames_free, n - half);

	/* no dirty frame left: plain allocations take clean ones */
	rest = 0;
	while (half + rest < MAX_FRAMES &&
			(p = mmrt_frame_alloc(0)) >= 0) {
		memset(mmrt_frame_addr((uint32_t)p), 0x5A, PG);
		pfns[half + rest++] = (uint32_t)p;
	}
	cr_assert_eq(p, -ENOMEM);
	get_stats(&st2);
	cr_assert_eq(st2.zero_hits, st1.zero_hits,
		"plain allocations counted as zero hits");
	cr_expect_eq(rest, n - half, "only %" PRIu64 " of %" PRIu64 " free "
		"frames could be allocated", rest, n - half);
	cr_expect_eq(st2.frames_free, 0, "%" PRIu64 " frames free but "
		"mmrt_frame_alloc() says -ENOMEM", st2.frames_free);

	cr_assert_eq(mmrt_frame_put_bulk(pfns, half + rest),
		(int)(half + rest));
	cr_assert_eq(mmrt_frame_put_bulk(huge, nh), (int)nh);
	cr_assert_eq(mmrt_test_used(), start);
	mmrt_test_down();
}

/*
 * 5b. Clean frames are 4 KiB frames: a plain allocation that finds no
 * dirty frame takes a clean one rather than splitting a huge frame (split
 * frames are never coalesced, so a running zeroing service would
 * otherwise wear the huge frames away).
 */
Test(mem, zero_poll_keeps_huge)
{
	struct mmrt_mem_stats st0, st1;
	uint64_t start;
	int64_t p;

	mmrt_test_up(POOL_MB);
	start = mmrt_test_used();
	cr_assert_gt(poll_until_clean(256), 0);
	get_stats(&st0);
	cr_assert_gt(st0.frames_clean, 0);
	cr_assert_gt(st0.huge_free, 0);
	p = mmrt_frame_alloc(0);
	cr_assert_geq(p, 0);
	get_stats(&st1);
	cr_expect_eq(st1.splits, st0.splits, "a huge frame was split while "
		"%" PRIu64 " clean 4 KiB frames were free", st0.frames_clean);
	cr_expect_eq(st1.huge_free, st0.huge_free);
	cr_assert_eq(mmrt_frame_put((uint32_t)p), 1);
	cr_assert_eq(mmrt_test_used(), start);
	mmrt_test_down();
}

#define DIRTY_N 256

/* Wait (bounded) for the service lcore to leave the zeroing service. */
static void
service_stop(uint32_t id, unsigned int lcore)
{
	uint64_t end = rte_get_timer_cycles() + 60 * rte_get_timer_hz();

	cr_assert_eq(rte_service_runstate_set(id, 0), 0);
	while (rte_service_may_be_active(id) == 1 &&
			rte_get_timer_cycles() < end)
		rte_pause();
	cr_assert_eq(rte_service_may_be_active(id), 0,
		"zeroing service still active");
	cr_assert_eq(rte_service_lcore_stop(lcore), 0);
	rte_eal_wait_lcore(lcore);
	cr_assert_eq(rte_service_lcore_del(lcore), 0);
}

/* 5c. The zeroing service on a real DPDK service lcore. */
Test(mem, zero_service, .timeout = 120)
{
	struct mmrt_mem_stats st0, st1;
	uint64_t start, end, n = 0, dirty_seen = 0, spins = 0, hits;
	uint32_t id, buf[DIRTY_N];
	unsigned int i;
	bool done = false;
	int64_t p;

	mmrt_test_up(POOL_MB);
	if (rte_lcore_count() < 2) {
		mmrt_test_down();
		cr_skip_test("needs a second lcore for the service");
	}
	start = mmrt_test_used();
	cr_assert_eq(mmrt_mem_zero_service_id(&id), 0);
	cr_assert_eq(rte_service_lcore_add(1), 0);
	cr_assert_eq(rte_service_map_lcore_set(id, 1, 1), 0);
	cr_assert_eq(rte_service_runstate_set(id, 1), 0);
	cr_assert_eq(rte_service_lcore_start(1), 0);

	cr_assert_eq(mmrt_frame_alloc_bulk(buf, DIRTY_N, 0), DIRTY_N);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < DIRTY_N; i++) {
		memset(mmrt_frame_addr(buf[i]), 0xA5, PG);
		seen[buf[i]] = 1;
	}
	get_stats(&st0);
	cr_assert_eq(mmrt_frame_put_bulk(buf, DIRTY_N), DIRTY_N);
	/*
	 * Flush this lcore's cache into the shared free list; the count is
	 * checked once the service stops (up to 64 frames are on neither
	 * list while it zeroes them).
	 */
	mmrt_test_used();

	/* until every free 4 KiB frame (the dirtied ones too) is clean */
	end = rte_get_timer_cycles() + 10 * rte_get_timer_hz();
	while (rte_get_timer_cycles() < end) {
		get_stats(&st1);
		if (st1.frames_clean > st0.frames_clean &&
				st1.frames_clean ==
				st1.frames_free - st1.huge_free * MMRT_HUGE_NR) {
			done = true;
			break;
		}
		for (i = 0; i < 1000; i++)
			rte_pause();
		spins++;
	}
	service_stop(id, 1);
	cr_assert(done, "the service left dirty frames (clean %" PRIu64
		", free %" PRIu64 ", %" PRIu64 " checks)", st1.frames_clean,
		st1.frames_free, spins);
	get_stats(&st1);
	cr_assert_gt(st1.zeroed, st0.zeroed);
	cr_assert_gt(st1.frames_clean, st0.frames_clean);
	cr_assert_eq(mmrt_test_used(), start);

	/*
	 * Every clean frame, the dirtied ones among them, reads as zero;
	 * stop at the first ZERO allocation that needed a memset.
	 */
	hits = st1.zero_hits;
	while (n < MAX_FRAMES && (p = mmrt_frame_alloc(MMRT_ALLOC_ZERO)) >= 0) {
		pfns[n++] = (uint32_t)p;
		cr_assert(page_is_zero(mmrt_frame_addr((uint32_t)p)),
			"frame %" PRId64 " not zero", p);
		get_stats(&st0);
		if (st0.zero_hits == hits)
			break;
		hits = st0.zero_hits;
		if (seen[p])
			dirty_seen++;
	}
	cr_assert_eq(dirty_seen, DIRTY_N, "%" PRIu64 " of the dirtied frames "
		"came back clean", dirty_seen);
	cr_assert_geq(hits - st1.zero_hits, n - 1);
	cr_assert_eq(mmrt_frame_put_bulk(pfns, n), (int)n);
	cr_assert_eq(mmrt_test_used(), start);
	mmrt_test_down();
}

/*
 * 6. Two unregistered threads (shared ring path) and the main lcore (its
 * cache) allocate and free concurrently while a third thread runs
 * mmrt_mem_zero_poll(). Every held frame carries its owner's stamp; a
 * frame handed to two owners, or zeroed under its owner, breaks a stamp.
 */
#if MEM_ASAN
#define RACE_ITERS 20000
#else
#define RACE_ITERS 100000
#endif
#define RACE_HOLD 32
#define RACE_THREADS 2
#define ZPOLL_MAX_ITERS 2000000

struct racer {
	uint64_t tag;
	uint64_t rng;
	uint64_t seq;
	uint64_t allocs;
	uint64_t zero_allocs;
	uint64_t enomem;
	uint64_t bad_alloc;
	uint64_t bad_meta;
	uint64_t bad_zero;
	uint64_t bad_stamp;
	uint64_t bad_put;
	unsigned int n;
	uint32_t held[RACE_HOLD];
	uint64_t stamp[RACE_HOLD];
};

struct zpoller {
	bool stop;
	uint64_t calls;
	uint64_t zeroed;
	uint64_t errors;
};

static void
stamp_write(uint32_t pfn, uint64_t v)
{
	uint64_t *w = mmrt_frame_addr(pfn);

	w[0] = v;
	w[PG / 16] = v;
	w[PG / 8 - 1] = v;
}

static bool
stamp_ok(uint32_t pfn, uint64_t v)
{
	const volatile uint64_t *w = mmrt_frame_addr(pfn);

	return w[0] == v && w[PG / 16] == v && w[PG / 8 - 1] == v;
}

static void
racer_got(struct racer *r, uint32_t pfn, uint32_t flags)
{
	const struct mmrt_frame *f = mmrt_frame_meta(pfn);
	uint64_t v;

	r->allocs++;
	if (f == NULL || __atomic_load_n(&f->refcount, __ATOMIC_RELAXED) != 1 ||
			(f->flags & (MMRT_FRAME_FREE | MMRT_FRAME_HEAD |
			MMRT_FRAME_TAIL | MMRT_FRAME_ZERO)) != 0)
		r->bad_meta++;
	if (flags & MMRT_ALLOC_ZERO) {
		r->zero_allocs++;
		if (!page_is_zero(mmrt_frame_addr(pfn)))
			r->bad_zero++;
	}
	v = (r->tag << 48) ^ (r->seq++ << 20) ^ pfn;
	stamp_write(pfn, v);
	r->held[r->n] = pfn;
	r->stamp[r->n] = v;
	r->n++;
}

static void
racer_alloc(struct racer *r, uint64_t x)
{
	uint32_t flags = (x >> 8) % 4 == 0 ? MMRT_ALLOC_ZERO : 0;
	uint32_t buf[8];
	unsigned int k, i;
	int64_t p;
	int rc;

	if ((x >> 12) % 8 == 0 && r->n + 8 <= RACE_HOLD) {
		k = 1 + (x >> 16) % 8;
		rc = mmrt_frame_alloc_bulk(buf, k, flags);
		if (rc == -ENOMEM) {
			r->enomem++;
			return;
		}
		if (rc != (int)k) {
			r->bad_alloc++;
			return;
		}
		for (i = 0; i < k; i++)
			racer_got(r, buf[i], flags);
		return;
	}
	p = mmrt_frame_alloc(flags);
	if (p == -ENOMEM) {
		r->enomem++;
		return;
	}
	if (p < 0) {
		r->bad_alloc++;
		return;
	}
	racer_got(r, (uint32_t)p, flags);
}

static bool
racer_check(struct racer *r, unsigned int i)
{
	const struct mmrt_frame *f = mmrt_frame_meta(r->held[i]);

	if (!stamp_ok(r->held[i], r->stamp[i])) {
		r->bad_stamp++;
		return false;
	}
	if (f == NULL || __atomic_load_n(&f->refcount, __ATOMIC_RELAXED) != 1 ||
			(f->flags & MMRT_FRAME_FREE)) {
		r->bad_meta++;
		return false;
	}
	return true;
}

static void
racer_free_one(struct racer *r, uint64_t x)
{
	unsigned int i = (unsigned int)((x >> 20) % r->n);
	uint32_t pfn = r->held[i];

	if (racer_check(r, i)) {
		if ((x >> 28) % 8 == 0) {
			/* a second reference: the first put keeps it */
			if (mmrt_frame_get(pfn) != 0 ||
					mmrt_frame_put(pfn) != 0)
				r->bad_put++;
		}
		if (mmrt_frame_put(pfn) != 1)
			r->bad_put++;
	}
	r->n--;
	r->held[i] = r->held[r->n];
	r->stamp[i] = r->stamp[r->n];
}

static void
racer_free_all(struct racer *r)
{
	unsigned int i, ok = 0;
	uint32_t good[RACE_HOLD];

	for (i = 0; i < r->n; i++)
		if (racer_check(r, i))
			good[ok++] = r->held[i];
	if (ok > 0 && mmrt_frame_put_bulk(good, ok) != (int)ok)
		r->bad_put++;
	r->n = 0;
}

static void
racer_run(struct racer *r, unsigned int iters)
{
	unsigned int i;
	uint64_t x, op;

	for (i = 0; i < iters; i++) {
		x = mmrt_test_xorshift(&r->rng);
		op = x % 16;
		if (r->n == 0 || (op < 8 && r->n < RACE_HOLD))
			racer_alloc(r, x);
		else if (op == 8)
			racer_free_all(r);
		else
			racer_free_one(r, x);
		if ((i & 255) == 0)
			rte_pause();
	}
	racer_free_all(r);
}

static void *
racer_thread(void *arg)
{
	racer_run(arg, RACE_ITERS);
	return NULL;
}

static void *
zpoll_thread(void *arg)
{
	struct zpoller *z = arg;
	int r;

	do {
		r = mmrt_mem_zero_poll(64);
		if (r < 0 || r > 64)
			z->errors++;
		else
			z->zeroed += r;
		z->calls++;
		/* a background poller: leave the core to the racers */
		if (r == 0)
			sched_yield();
		else
			rte_pause();
	} while (!__atomic_load_n(&z->stop, __ATOMIC_ACQUIRE) &&
		z->calls < ZPOLL_MAX_ITERS);
	return NULL;
}

static void
racer_report(const struct racer *r, const char *who)
{
	cr_log_info("%s: %" PRIu64 " allocs (%" PRIu64 " zero), %" PRIu64
		" enomem", who, r->allocs, r->zero_allocs, r->enomem);
	cr_assert_eq(r->bad_alloc, 0, "%s: %" PRIu64 " failed allocations",
		who, r->bad_alloc);
	cr_assert_eq(r->bad_meta, 0, "%s: %" PRIu64 " frames with bad "
		"metadata", who, r->bad_meta);
	cr_assert_eq(r->bad_zero, 0, "%s: %" PRIu64 " ZERO frames not zero",
		who, r->bad_zero);
	cr_assert_eq(r->bad_stamp, 0, "%s: %" PRIu64 " frames changed under "
		"their owner", who, r->bad_stamp);
	cr_assert_eq(r->bad_put, 0, "%s: %" PRIu64 " bad puts", who,
		r->bad_put);
	cr_assert_eq(r->enomem, 0, "%s: %" PRIu64 " -ENOMEM on a roomy pool",
		who, r->enomem);
	cr_assert_gt(r->allocs, 0);
}

Test(mem, concurrency, .timeout = 300)
{
	static struct racer racers[RACE_THREADS + 1];
	struct mmrt_mem_stats st0, st1;
	struct zpoller z;
	pthread_t th[RACE_THREADS], zth;
	uint64_t start, allocs = 0;
	unsigned int i;
	char who[32];

	mmrt_test_up(RACE_POOL_MB);
	start = mmrt_test_used();
	get_stats(&st0);
	memset(racers, 0, sizeof(racers));
	memset(&z, 0, sizeof(z));
	for (i = 0; i <= RACE_THREADS; i++) {
		racers[i].tag = i + 1;
		racers[i].rng = UINT64_C(0x9e3779b97f4a7c15) * (i + 1);
	}

	cr_assert_eq(pthread_create(&zth, NULL, zpoll_thread, &z), 0);
	for (i = 0; i < RACE_THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, racer_thread,
			&racers[i]), 0);
	/* the main lcore goes through its per-lcore cache */
	racer_run(&racers[RACE_THREADS], RACE_ITERS);
	for (i = 0; i < RACE_THREADS; i++)
		cr_assert_eq(pthread_join(th[i], NULL), 0);
	__atomic_store_n(&z.stop, true, __ATOMIC_RELEASE);
	cr_assert_eq(pthread_join(zth, NULL), 0);

	for (i = 0; i <= RACE_THREADS; i++) {
		if (i < RACE_THREADS)
			snprintf(who, sizeof(who), "thread %u", i);
		else
			snprintf(who, sizeof(who), "main lcore");
		racer_report(&racers[i], who);
		allocs += racers[i].allocs;
	}
	cr_log_info("zero poller: %" PRIu64 " calls, %" PRIu64 " zeroed",
		z.calls, z.zeroed);
	cr_assert_eq(z.errors, 0, "mmrt_mem_zero_poll failed");
	cr_assert_gt(z.zeroed, 0);

	cr_assert_eq(mmrt_test_used(), start, "used %" PRIu64 ", start %"
		PRIu64, mmrt_test_used(), start);
	get_stats(&st1);
	cr_assert_eq(st1.allocs - st0.allocs, allocs);
	cr_assert_eq(st1.frees - st0.frees, allocs);
	cr_assert_eq(st1.zeroed - st0.zeroed, z.zeroed);
	cr_assert_eq(st1.frames_free + mmrt_mem_used() + 1, st1.frames_total);
	mmrt_test_down();
}

/* 7. Statistics and the zero frame. */
Test(mem, stats)
{
	struct mmrt_mem_stats st, st1;
	struct mmrt_frame *f;
	uint32_t z, buf[10], flags, ref;
	uint64_t used;
	int64_t h;

	mmrt_test_up(POOL_MB);
	cr_assert_eq(mmrt_mem_stats(NULL), -EINVAL);
	used = mmrt_test_used();
	get_stats(&st);
	cr_assert_eq(sizeof(struct mmrt_frame), 32);
	cr_assert_eq(st.frames_total, ((uint64_t)POOL_MB << 20) / PG);
	cr_assert_eq(st.frames_total * 32, st.bytes_meta);
	cr_assert_eq(st.huge_total, st.frames_total / MMRT_HUGE_NR);
	cr_assert_leq(st.huge_free, st.huge_total);
	cr_assert_leq(st.huge_free * MMRT_HUGE_NR, st.frames_free);
	cr_assert_leq(st.frames_clean, st.frames_free);
	cr_assert_eq(st.frames_free + used + 1, st.frames_total,
		"free %" PRIu64 " used %" PRIu64 " total %" PRIu64,
		st.frames_free, used, st.frames_total);
	/* the embedded default runs on --no-huge memory */
	cr_assert_not(st.hugepages);

	cr_assert_eq(mmrt_frame_alloc_bulk(buf, 10, 0), 10);
	h = mmrt_huge_alloc(0);
	cr_assert_geq(h, 0);
	mmrt_mem_cache_flush();
	get_stats(&st1);
	cr_assert_eq(mmrt_mem_used(), used + 10 + MMRT_HUGE_NR);
	cr_assert_eq(st1.frames_free, st.frames_free - 10 - MMRT_HUGE_NR);
	cr_assert_eq(st1.frames_free + mmrt_mem_used() + 1, st1.frames_total);
	cr_assert_eq(st1.huge_free, st.huge_free - 1);
	cr_assert_eq(st1.allocs - st.allocs, 10);
	cr_assert_eq(st1.huge_allocs - st.huge_allocs, 1);
	cr_assert_eq(mmrt_frame_put_bulk(buf, 10), 10);
	cr_assert_eq(mmrt_frame_put((uint32_t)h), 1);
	cr_assert_eq(mmrt_test_used(), used);
	get_stats(&st1);
	cr_assert_eq(st1.frames_free, st.frames_free);
	cr_assert_eq(st1.frees - st.frees, 10);
	cr_assert_eq(st1.huge_frees - st.huge_frees, 1);

	/* the zero frame: allocated for good, put is a no-op */
	z = mmrt_zero_pfn();
	cr_assert_lt(z, st.frames_total);
	f = meta(z);
	cr_assert_neq(f->flags & MMRT_FRAME_ZERO, 0, "flags 0x%x", f->flags);
	cr_assert_eq(f->flags & MMRT_FRAME_FREE, 0);
	cr_assert_geq(f->refcount, 1);
	cr_assert(page_is_zero(mmrt_frame_addr(z)));
	flags = f->flags;
	ref = f->refcount;
	cr_assert_eq(mmrt_frame_put(z), 0);
	cr_assert_eq(mmrt_frame_put(z), 0);
	cr_assert_eq(mmrt_frame_put_bulk(&z, 1), 0);
	cr_assert_eq(f->flags, flags);
	cr_assert_eq(f->refcount, ref);
	cr_assert_eq(mmrt_test_used(), used);
	get_stats(&st1);
	cr_assert_eq(st1.frees, st.frees + 10);
	mmrt_test_down();
}

/*
 * 8. A pool larger than the EAL's memory (issue 10: the failure path tore
 * down a half-built pool and died in rte_ring_count(NULL)). Both ways up
 * fail with -ENOMEM, log one line that says what the pool needs and how
 * to get out, and leave nothing behind.
 */

/* EAL arguments for a 64 MiB --no-huge EAL, too small for a 256 MiB pool. */
#define SMALL_EAL_ARGS(prefix) \
	(char *)"mmrt-test", (char *)"--no-huge", (char *)"-m", (char *)"64", \
	(char *)"--no-pci", (char *)"--no-shconf", (char *)"--no-telemetry", \
	(prefix), (char *)"--log-level=lib.eal:error"

/* Lines of the captured log that contain every string of @p needles. */
static unsigned int
log_lines(FILE *f, const char *const *needles, unsigned int n)
{
	char line[1024];
	unsigned int count = 0, i;

	fflush(f);
	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		for (i = 0; i < n; i++)
			if (strstr(line, needles[i]) == NULL)
				break;
		if (i == n)
			count++;
	}
	return count;
}

static const char *const pool_advice[] = { "mmrt_mem:", "256", "needs about",
	"--pool-mb" };

Test(mem_init, pool_too_big_for_eal_init, .timeout = 60)
{
	char prefix[64];
	char *argv[] = { SMALL_EAL_ARGS(prefix), (char *)"--",
		(char *)"--pool-mb", (char *)"256", NULL };
	FILE *log = mmrt_test_log_capture();

	mmrt_test_prefix(prefix, sizeof(prefix), "mmrt-test-mem");
	cr_assert_eq(mmrt_init(RTE_DIM(argv) - 1, argv), -ENOMEM);
	cr_assert_not(mmrt_is_up());
	cr_assert_null(mmrt_config_get());
	cr_assert_eq(log_lines(log, pool_advice, RTE_DIM(pool_advice)), 1,
		"want one line saying what the pool needs");
	/* The EAL mmrt ran is gone and cannot come back. */
	cr_assert_eq(mmrt_init(RTE_DIM(argv) - 1, argv), -EALREADY);
	rte_openlog_stream(NULL);
	fclose(log);
}

Test(mem_init, pool_too_big_for_eal_attach, .timeout = 60)
{
	char prefix[64];
	char *argv[] = { SMALL_EAL_ARGS(prefix), NULL };
	struct rte_malloc_socket_stats before, after;
	char path[] = "/tmp/mmrt-test-mem-XXXXXX";
	char path2[] = "/tmp/mmrt-test-mem-XXXXXX";
	const char *text = "[mem]\npool_mb = 256\n";
	FILE *log = mmrt_test_log_capture();
	int fd;

	mmrt_test_prefix(prefix, sizeof(prefix), "mmrt-test-mem");
	cr_assert_geq(rte_eal_init(RTE_DIM(argv) - 1, argv), 0);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	cr_assert_eq(rte_malloc_get_socket_stats(0, &before), 0);
	cr_assert_eq(mmrt_attach(path), -ENOMEM);
	unlink(path);
	cr_assert_not(mmrt_is_up());
	cr_assert_eq(log_lines(log, pool_advice, RTE_DIM(pool_advice)), 1,
		"want one line saying what the pool needs");
	/* Nothing of the half-built pool is left in EAL memory. */
	cr_assert_null(rte_memzone_lookup("mmrt_pool_frames"));
	cr_assert_eq(rte_malloc_get_socket_stats(0, &after), 0);
	cr_assert_eq(after.heap_allocsz_bytes, before.heap_allocsz_bytes,
		"%zu bytes of EAL memory leaked",
		after.heap_allocsz_bytes - before.heap_allocsz_bytes);

	/* A pool that fits comes up in the same EAL. */
	text = "[mem]\npool_mb = 16\n";
	fd = mkstemp(path2);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_eq(mmrt_attach(path2), 0);
	unlink(path2);
	cr_assert_eq(mmrt_config_get()->pool_mb, 16);
	cr_assert_eq(mmrt_fini(), 0);
	rte_openlog_stream(NULL);
	fclose(log);
	rte_eal_cleanup();
}
