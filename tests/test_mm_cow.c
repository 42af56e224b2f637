/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Copy-on-write after mmrt_as_fork() and page merging (mmrt_merge()).
 *
 * - Parent and child are isolated in both directions, with 4 KiB and huge
 *   mappings, over three generations of forks.
 * - Every frame is freed exactly once: whatever order the address spaces
 *   are destroyed in, the pool returns to its starting count, every data
 *   frame the address spaces held ends up free with its generation bumped
 *   exactly once, and the survivors keep their contents meanwhile.
 * - Object mappings are shared by a fork, not copied.
 * - Merge: identical pages share one write-protected frame (one frame is
 *   freed), different pages are -EAGAIN, a write after a merge copies.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <rte_errno.h>

#include "common.h"

#define POOL_MB 128

/* 2 MiB aligned bases, in different level-3 entries. */
#define VA_SMALL (UINT64_C(1) << 30)
#define VA_HUGE (UINT64_C(2) << 30)
#define VA_OBJ (UINT64_C(3) << 30)

static uint8_t wbuf[2 * HPG];
static uint8_t rbuf[2 * HPG];

/* Contents of [va, va + len) for @tag: one word per 8 bytes. */
static void
pattern(uint8_t *buf, uint64_t va, size_t len, uint64_t tag)
{
	size_t i;

	for (i = 0; i < len; i += 8) {
		uint64_t w = (tag * UINT64_C(0x9e3779b97f4a7c15)) ^ (va + i);

		memcpy(buf + i, &w, sizeof(w));
	}
}

/*
 * Tag @tag's contents of [va, va + len) into wbuf, then write them to
 * @as (@write) or read @as's into rbuf; either must succeed.
 */
static void
pat_io(struct mmrt_as *as, uint64_t va, size_t len, uint64_t tag,
	bool write)
{
	int rc;

	cr_assert_leq(len, sizeof(wbuf));
	pattern(wbuf, va, len, tag);
	rc = write ? mmrt_write(as, va, wbuf, len) :
		mmrt_read(as, va, rbuf, len);
	cr_assert_eq(rc, 0, "%s(%s, %#" PRIx64 ", %zu) = %d",
		write ? "mmrt_write" : "mmrt_read", mmrt_as_name(as), va, len,
		rc);
}

static void
put_pat(struct mmrt_as *as, uint64_t va, size_t len, uint64_t tag)
{
	pat_io(as, va, len, tag, true);
}

static void
check_pat(struct mmrt_as *as, uint64_t va, size_t len, uint64_t tag)
{
	size_t i;

	pat_io(as, va, len, tag, false);
	if (memcmp(wbuf, rbuf, len) == 0)
		return;
	for (i = 0; i < len && wbuf[i] == rbuf[i]; i++)
		;
	cr_assert_fail("%s: contents at %#" PRIx64 " are not those of tag %"
		PRIu64, mmrt_as_name(as), va + i, tag);
}

/*
 * Write tag 5 to the page at @va of @as, its one mapper now: the write
 * reuses the frame (4 KiB frames; a huge one is not checked).
 */
static void
write_exclusive(struct mmrt_as *as, uint64_t va, uint32_t flags)
{
	uint64_t used = mmrt_test_used();

	put_pat(as, va, PG, 5);
	check_pat(as, va, PG, 5);
	if (!(flags & MMRT_MAP_HUGE))
		cr_assert_eq(mmrt_test_used(), used, "write to an exclusive "
			"write-protected frame copied it");
}

static uint64_t
as_rss(struct mmrt_as *as)
{
	struct mmrt_as_stats st;

	cr_assert_eq(mmrt_as_stats(as, &st), 0);
	return st.rss_pages;
}

static void
as_stats(struct mmrt_as *as, struct mmrt_as_stats *st)
{
	cr_assert_eq(mmrt_as_stats(as, st), 0);
}

static void
xlate(struct mmrt_as *as, uint64_t va, uint32_t access, struct mmrt_xlate *x)
{
	int rc = mmrt_translate(as, va, access, x);

	cr_assert_eq(rc, 0, "mmrt_translate(%s, %#" PRIx64 ", %u) = %d",
		mmrt_as_name(as), va, access, rc);
}

/*
 * Parent/child isolation on one mapping of @len bytes at @va, then destroy
 * the parent first (@parent_first) or the child first.
 */
static void
cow_pair(uint64_t va, uint64_t len, uint32_t flags, bool parent_first)
{
	uint64_t base = mmrt_test_used();
	uint64_t npg = len / PG, used, pt;
	struct mmrt_as *p, *c;
	struct mmrt_xlate xp, xc;
	struct mmrt_as_stats st;
	uint64_t off;

	p = mmrt_as_create("cow-parent");
	cr_assert_not_null(p);
	cr_assert_eq(mmrt_map(p, va, len, RW, flags), 0);
	put_pat(p, va, len, 1);
	if (flags & MMRT_MAP_HUGE) {
		xlate(p, va, MMRT_ACCESS_READ, &xp);
		cr_assert(xp.huge, "fresh pool: huge mapping not huge-backed");
	}

	c = mmrt_as_fork(p, "cow-child");
	cr_assert_not_null(c, "fork: rte_errno %d", rte_errno);
	check_pat(c, va, len, 1);
	check_pat(p, va, len, 1);
	cr_assert_eq(as_rss(p), npg);
	cr_assert_eq(as_rss(c), npg);

	/* shared and write-protected in both */
	for (off = 0; off < len; off += len / 4) {
		xlate(p, va + off, MMRT_ACCESS_READ, &xp);
		xlate(c, va + off, MMRT_ACCESS_READ, &xc);
		cr_assert_eq(xp.pfn, xc.pfn, "not shared after fork at +%#"
			PRIx64, off);
		cr_assert_eq(xp.prot, MMRT_PROT_READ);
		cr_assert_eq(xc.prot, MMRT_PROT_READ);
		cr_assert_eq(mmrt_translate(p, va + off, MMRT_ACCESS_WRITE,
			&xp), -EACCES);
		cr_assert_eq(mmrt_translate(c, va + off, MMRT_ACCESS_WRITE,
			&xc), -EACCES);
	}
	/* the fork shares frames: only page tables were allocated */
	used = mmrt_test_used();
	as_stats(c, &st);
	pt = st.pt_pages;
	as_stats(p, &st);
	pt += st.pt_pages;
	cr_assert_eq(used - base, npg + pt, "after fork: %" PRIu64
		" frames used, expected %" PRIu64 " data + %" PRIu64
		" page-table frames", used - base, npg, pt);

	/* parent writes: child unchanged */
	put_pat(p, va, PG, 2);
	check_pat(p, va, PG, 2);
	check_pat(c, va, PG, 1);
	cr_assert_gt(mmrt_test_used(), used, "a copy-on-write allocates");
	xlate(p, va, MMRT_ACCESS_WRITE, &xp);
	xlate(c, va, MMRT_ACCESS_READ, &xc);
	cr_assert_neq(xp.pfn, xc.pfn);
	as_stats(p, &st);
	cr_assert_geq(st.cow, 1, "cow counter");
	/* a 2 MiB leaf copied whole is counted so; a 4 KiB copy is not */
	cr_assert_eq(st.cow_huge, xp.huge ? st.cow : 0, "cow_huge %" PRIu64
		" of %" PRIu64 " copies, leaf %s", st.cow_huge, st.cow,
		xp.huge ? "huge" : "4 KiB");

	/* child writes elsewhere: parent unchanged */
	put_pat(c, va + len - PG, PG, 3);
	check_pat(c, va + len - PG, PG, 3);
	check_pat(p, va + len - PG, PG, 1);

	/* child writes the page the parent copied: both keep their own */
	put_pat(c, va, PG, 4);
	check_pat(c, va, PG, 4);
	check_pat(p, va, PG, 2);
	/* the child's leaf there is exclusive now: reused, whole if huge */
	xlate(c, va, MMRT_ACCESS_WRITE, &xc);
	as_stats(c, &st);
	cr_assert_geq(st.cow_reuse, 1);
	cr_assert_eq(st.cow_reuse_huge, xc.huge ? 1 : 0, "cow_reuse_huge %"
		PRIu64 ", leaf %s", st.cow_reuse_huge,
		xc.huge ? "huge" : "4 KiB");

	/* the rest is still shared content */
	if (len > 2 * PG) {
		check_pat(p, va + PG, len - 2 * PG, 1);
		check_pat(c, va + PG, len - 2 * PG, 1);
	}
	cr_assert_eq(as_rss(p), npg);
	cr_assert_eq(as_rss(c), npg);

	if (parent_first) {
		cr_assert_eq(mmrt_as_destroy(p), 0);
		check_pat(c, va, PG, 4);
		check_pat(c, va + len - PG, PG, 3);
		if (len > 2 * PG)
			check_pat(c, va + PG, len - 2 * PG, 1);
		write_exclusive(c, va + PG, flags);
		cr_assert_eq(mmrt_as_destroy(c), 0);
	} else {
		cr_assert_eq(mmrt_as_destroy(c), 0);
		check_pat(p, va, PG, 2);
		check_pat(p, va + len - PG, PG, 1);
		write_exclusive(p, va + PG, flags);
		cr_assert_eq(mmrt_as_destroy(p), 0);
	}
	cr_assert_eq(mmrt_test_used(), base, "frames leaked: %" PRIu64
		" used, %" PRIu64 " at start", mmrt_test_used(), base);
}

Test(mm_cow, small_parent_child)
{
	mmrt_test_up(POOL_MB);
	cow_pair(VA_SMALL, 16 * PG, 0, true);
	cow_pair(VA_SMALL, 16 * PG, 0, false);
	mmrt_test_down();
}

Test(mm_cow, huge_parent_child)
{
	mmrt_test_up(POOL_MB);
	cow_pair(VA_HUGE, 2 * HPG, MMRT_MAP_HUGE, true);
	cow_pair(VA_HUGE, 2 * HPG, MMRT_MAP_HUGE, false);
	mmrt_test_down();
}

Test(mm_cow, cow_reuse_counter)
{
	struct mmrt_as *p, *c;
	struct mmrt_as_stats st0, st1;
	uint64_t base;

	mmrt_test_up(POOL_MB);
	base = mmrt_test_used();
	p = mmrt_as_create("reuse-p");
	cr_assert_not_null(p);
	cr_assert_eq(mmrt_map(p, VA_SMALL, 4 * PG, RW, 0), 0);
	put_pat(p, VA_SMALL, 4 * PG, 7);
	c = mmrt_as_fork(p, "reuse-c");
	cr_assert_not_null(c);
	cr_assert_eq(mmrt_as_destroy(c), 0);
	as_stats(p, &st0);
	put_pat(p, VA_SMALL, PG, 8);
	as_stats(p, &st1);
	cr_assert_eq(st1.cow_reuse, st0.cow_reuse + 1,
		"cow_reuse %" PRIu64 " -> %" PRIu64, st0.cow_reuse,
		st1.cow_reuse);
	cr_assert_eq(st1.cow, st0.cow);
	check_pat(p, VA_SMALL, PG, 8);
	check_pat(p, VA_SMALL + PG, 3 * PG, 7);
	cr_assert_eq(mmrt_as_destroy(p), 0);
	cr_assert_eq(mmrt_test_used(), base);
	mmrt_test_down();
}

/*
 * The zap under the write map lock drops a frame's last mapping with a
 * plain store, a shared one with the atomic (pgtable.c,
 * zap_mapcount_drop()): an exclusive frame kept alive by an extra
 * reference has mapcount 0 after the unmap; frames shared with a fork
 * child keep the child's count, so after the parent's unmap the child's
 * write reuses its frame instead of copying.
 */
Test(mm_cow, unmap_mapcount)
{
	struct mmrt_as_stats st0, st1;
	struct mmrt_as *p, *c;
	struct mmrt_frame *f;
	struct mmrt_xlate x;
	uint64_t base;
	uint32_t pfn;

	mmrt_test_up(POOL_MB);
	base = mmrt_test_used();
	p = mmrt_as_create("mc-p");
	cr_assert_not_null(p);
	cr_assert_eq(mmrt_map(p, VA_SMALL, 4 * PG, RW, 0), 0);
	put_pat(p, VA_SMALL, 4 * PG, 5);
	cr_assert_eq(mmrt_translate(p, VA_SMALL + PG, MMRT_ACCESS_READ, &x),
		0);
	pfn = x.pfn;
	f = mmrt_frame_meta(pfn);
	cr_assert_not_null(f);
	cr_assert_eq(f->mapcount, 1);
	cr_assert_eq(mmrt_frame_get(pfn), 0);
	cr_assert_eq(mmrt_unmap(p, VA_SMALL, 4 * PG), 0);
	cr_assert_eq(f->mapcount, 0, "mapcount %u after the unmap",
		f->mapcount);
	cr_assert_eq(f->refcount, 1, "refcount %u after the unmap",
		f->refcount);
	cr_assert_eq(mmrt_frame_put(pfn), 1);

	/* shared with a child: the parent's unmap leaves the child's count */
	cr_assert_eq(mmrt_map(p, VA_SMALL, 4 * PG, RW, 0), 0);
	put_pat(p, VA_SMALL, 4 * PG, 6);
	c = mmrt_as_fork(p, "mc-c");
	cr_assert_not_null(c);
	cr_assert_eq(mmrt_translate(c, VA_SMALL, MMRT_ACCESS_READ, &x), 0);
	f = mmrt_frame_meta(x.pfn);
	cr_assert_eq(f->mapcount, 2);
	cr_assert_eq(mmrt_unmap(p, VA_SMALL, 4 * PG), 0);
	cr_assert_eq(f->mapcount, 1, "mapcount %u after the parent's unmap",
		f->mapcount);
	as_stats(c, &st0);
	put_pat(c, VA_SMALL, PG, 9);
	as_stats(c, &st1);
	cr_assert_eq(st1.cow_reuse, st0.cow_reuse + 1);
	cr_assert_eq(st1.cow, st0.cow);
	check_pat(c, VA_SMALL, PG, 9);
	check_pat(c, VA_SMALL + PG, 3 * PG, 6);
	cr_assert_eq(mmrt_as_destroy(c), 0);
	cr_assert_eq(mmrt_as_destroy(p), 0);
	cr_assert_eq(mmrt_test_used(), base);
	mmrt_test_down();
}

/*
 * Three generations: g0 -> g1 -> g2, and g0 -> s1 (a sibling of g1).
 * Each owns its tags; the pages cover 8 small pages and one huge block.
 */
#define GEN_AS 4
#define GEN_SMALL 8
#define GEN_PAGES (GEN_SMALL + MMRT_HUGE_NR)

struct gen {
	struct mmrt_as *as[GEN_AS];
	uint64_t tag[GEN_AS][GEN_PAGES];
	uint64_t seq;
};

static uint64_t
gen_va(unsigned int i)
{
	return i < GEN_SMALL ? VA_SMALL + i * PG :
		VA_HUGE + (i - GEN_SMALL) * PG;
}

static void
gen_write(struct gen *g, unsigned int a, unsigned int i)
{
	uint64_t tag = ++g->seq * 1000 + a;

	put_pat(g->as[a], gen_va(i), PG, tag);
	g->tag[a][i] = tag;
}

static void
gen_check(struct gen *g, unsigned int a)
{
	unsigned int i;

	for (i = 0; i < GEN_PAGES; i++)
		check_pat(g->as[a], gen_va(i), PG, g->tag[a][i]);
}

static struct mmrt_as *
gen_fork(struct gen *g, unsigned int from, unsigned int to, const char *name)
{
	g->as[to] = mmrt_as_fork(g->as[from], name);
	cr_assert_not_null(g->as[to], "fork %s: rte_errno %d", name, rte_errno);
	memcpy(g->tag[to], g->tag[from], sizeof(g->tag[to]));
	return g->as[to];
}

static void
gen_setup(struct gen *g, uint64_t seed)
{
	unsigned int i, k, a;

	memset(g, 0, sizeof(*g));
	g->as[0] = mmrt_as_create("gen0");
	cr_assert_not_null(g->as[0]);
	cr_assert_eq(mmrt_map(g->as[0], VA_SMALL, GEN_SMALL * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(g->as[0], VA_HUGE, HPG, RW, MMRT_MAP_HUGE), 0);
	for (i = 0; i < GEN_PAGES; i++)
		gen_write(g, 0, i);
	gen_fork(g, 0, 1, "gen1");
	for (k = 0; k < 6; k++)
		gen_write(g, (seed + k) % 2, (seed * 7 + k * 13) % GEN_PAGES);
	gen_fork(g, 1, 2, "gen2");
	gen_fork(g, 0, 3, "gen1-sibling");
	for (k = 0; k < 24; k++) {
		a = (seed + k * 3) % GEN_AS;
		i = (seed * 11 + k * 37) % GEN_PAGES;
		gen_write(g, a, i);
	}
	for (a = 0; a < GEN_AS; a++)
		gen_check(g, a);
}

/* Owner frames (huge heads) of every page of every live address space. */
static unsigned int
gen_frames(struct gen *g, uint32_t *pfns, uint32_t *gens, unsigned int max)
{
	unsigned int a, i, k, n = 0;
	struct mmrt_xlate x;

	for (a = 0; a < GEN_AS; a++) {
		if (g->as[a] == NULL)
			continue;
		for (i = 0; i < GEN_PAGES; i++) {
			uint32_t pfn;
			struct mmrt_frame *f;

			xlate(g->as[a], gen_va(i), MMRT_ACCESS_READ, &x);
			pfn = x.pfn;
			f = mmrt_frame_meta(pfn);
			cr_assert_not_null(f);
			if (f->flags & MMRT_FRAME_TAIL)
				pfn &= ~(MMRT_HUGE_NR - 1);
			for (k = 0; k < n && pfns[k] != pfn; k++)
				;
			if (k < n)
				continue;
			cr_assert_lt(n, max);
			pfns[n] = pfn;
			gens[n] = mmrt_frame_meta(pfn)->gen;
			n++;
		}
	}
	return n;
}

static void
gen_destroy_order(const unsigned int *order, uint64_t seed)
{
	static uint32_t pfns[GEN_AS * GEN_PAGES], gens[GEN_AS * GEN_PAGES];
	uint64_t base = mmrt_test_used();
	struct gen g;
	unsigned int n, k, a, b;

	gen_setup(&g, seed);
	n = gen_frames(&g, pfns, gens, RTE_DIM(pfns));
	for (k = 0; k < GEN_AS; k++) {
		a = order[k];
		cr_assert_eq(mmrt_as_destroy(g.as[a]), 0);
		g.as[a] = NULL;
		/* survivors: contents intact, their frames allocated */
		for (b = 0; b < GEN_AS; b++) {
			unsigned int i;
			struct mmrt_xlate x;

			if (g.as[b] == NULL)
				continue;
			gen_check(&g, b);
			for (i = 0; i < GEN_PAGES; i += 7) {
				struct mmrt_frame *f;

				xlate(g.as[b], gen_va(i), MMRT_ACCESS_READ, &x);
				f = mmrt_frame_meta(x.pfn);
				if (f->flags & MMRT_FRAME_TAIL)
					f = mmrt_frame_meta(x.pfn &
						~(MMRT_HUGE_NR - 1));
				cr_assert(!(f->flags & MMRT_FRAME_FREE) &&
					f->refcount > 0,
					"frame of a survivor was freed");
			}
		}
	}
	cr_assert_eq(mmrt_test_used(), base, "order %u%u%u%u: %" PRIu64
		" frames used, %" PRIu64 " at start", order[0], order[1],
		order[2], order[3], mmrt_test_used(), base);
	for (k = 0; k < n; k++) {
		struct mmrt_frame *f = mmrt_frame_meta(pfns[k]);

		if (pfns[k] == mmrt_zero_pfn())
			continue;
		cr_assert(f->flags & MMRT_FRAME_FREE,
			"order %u%u%u%u: frame %u not freed", order[0],
			order[1], order[2], order[3], pfns[k]);
		cr_assert_eq(f->gen, gens[k] + 1,
			"order %u%u%u%u: frame %u freed %u times", order[0],
			order[1], order[2], order[3], pfns[k],
			f->gen - gens[k]);
	}
}

Test(mm_cow, three_generations_every_destroy_order, .timeout = 600)
{
	unsigned int order[GEN_AS] = { 0, 1, 2, 3 };
	unsigned int perms = 0;

	mmrt_test_up(POOL_MB);
	/* every permutation, in lexicographic order */
	for (;;) {
		int i, j;
		unsigned int t;

		gen_destroy_order(order, perms);
		perms++;
		for (i = GEN_AS - 2; i >= 0 && order[i] > order[i + 1]; i--)
			;
		if (i < 0)
			break;
		for (j = GEN_AS - 1; order[j] < order[i]; j--)
			;
		t = order[i];
		order[i] = order[j];
		order[j] = t;
		for (i++, j = GEN_AS - 1; i < j; i++, j--) {
			t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
	}
	cr_assert_eq(perms, 24);
	mmrt_test_down();
}

Test(mm_cow, fork_shares_object_pages)
{
	struct mmrt_object *obj;
	struct mmrt_as *p, *c;
	struct mmrt_xlate xp, xc;
	uint64_t base;
	uint64_t len = 16 * PG;

	mmrt_test_up(POOL_MB);
	base = mmrt_test_used();
	obj = mmrt_object_create("cow-obj", len);
	cr_assert_not_null(obj, "rte_errno %d", rte_errno);
	p = mmrt_as_create("obj-parent");
	cr_assert_not_null(p);
	cr_assert_eq(mmrt_map_object(p, VA_OBJ, len, RW, 0, obj, 0), 0);
	cr_assert_eq(mmrt_map(p, VA_SMALL, 4 * PG, RW, 0), 0);
	put_pat(p, VA_OBJ, len, 10);
	put_pat(p, VA_SMALL, 4 * PG, 11);
	cr_assert_eq(mmrt_object_read(obj, 0, rbuf, len), 0);
	pattern(wbuf, VA_OBJ, len, 10);
	cr_assert_arr_eq(rbuf, wbuf, len, "object does not see the write");

	c = mmrt_as_fork(p, "obj-child");
	cr_assert_not_null(c);
	check_pat(c, VA_OBJ, len, 10);

	/* object pages are the same frames, writable, in both */
	xlate(p, VA_OBJ + 2 * PG, MMRT_ACCESS_WRITE, &xp);
	xlate(c, VA_OBJ + 2 * PG, MMRT_ACCESS_WRITE, &xc);
	cr_assert_eq(xp.pfn, xc.pfn);

	/* child -> parent and object */
	put_pat(c, VA_OBJ + 2 * PG, PG, 12);
	check_pat(p, VA_OBJ + 2 * PG, PG, 12);
	cr_assert_eq(mmrt_object_read(obj, 2 * PG, rbuf, PG), 0);
	pattern(wbuf, VA_OBJ + 2 * PG, PG, 12);
	cr_assert_arr_eq(rbuf, wbuf, PG);

	/* parent -> child */
	put_pat(p, VA_OBJ + 5 * PG, PG, 13);
	check_pat(c, VA_OBJ + 5 * PG, PG, 13);

	/* object -> both */
	pattern(wbuf, VA_OBJ + 7 * PG, PG, 14);
	cr_assert_eq(mmrt_object_write(obj, 7 * PG, wbuf, PG), 0);
	check_pat(p, VA_OBJ + 7 * PG, PG, 14);
	check_pat(c, VA_OBJ + 7 * PG, PG, 14);

	/* anonymous memory in the same spaces is still copy-on-write */
	put_pat(c, VA_SMALL, PG, 15);
	check_pat(p, VA_SMALL, PG, 11);
	check_pat(c, VA_SMALL + PG, 3 * PG, 11);

	/* object pages are not anonymous: no merge */
	cr_assert_eq(mmrt_merge(p, VA_OBJ, c, VA_OBJ), -EINVAL);

	cr_assert_eq(mmrt_object_destroy(obj), -EBUSY);
	cr_assert_eq(mmrt_as_destroy(c), 0);
	check_pat(p, VA_OBJ + 2 * PG, PG, 12);
	cr_assert_eq(mmrt_object_destroy(obj), -EBUSY);
	cr_assert_eq(mmrt_as_destroy(p), 0);
	/* the object keeps its contents without mappings */
	cr_assert_eq(mmrt_object_read(obj, 7 * PG, rbuf, PG), 0);
	pattern(wbuf, VA_OBJ + 7 * PG, PG, 14);
	cr_assert_arr_eq(rbuf, wbuf, PG);
	cr_assert_eq(mmrt_object_destroy(obj), 0);
	cr_assert_eq(mmrt_test_used(), base);
	mmrt_test_down();
}

Test(mm_cow, merge)
{
	struct mmrt_as *a, *b;
	struct mmrt_xlate x0, x1;
	uint64_t base, used0, rss0;
	const uint64_t va = VA_SMALL;

	mmrt_test_up(POOL_MB);
	base = mmrt_test_used();
	a = mmrt_as_create("merge-a");
	cr_assert_not_null(a);
	cr_assert_eq(mmrt_map(a, va, 4 * PG, RW, 0), 0);
	/* pages 0 and 1 identical (same bytes), page 2 differs */
	pattern(wbuf, va, PG, 20);
	cr_assert_eq(mmrt_write(a, va, wbuf, PG), 0);
	cr_assert_eq(mmrt_write(a, va + PG, wbuf, PG), 0);
	memcpy(rbuf, wbuf, PG);
	rbuf[PG - 1] ^= 1;          /* differs in the last byte only */
	cr_assert_eq(mmrt_write(a, va + 2 * PG, rbuf, PG), 0);

	used0 = mmrt_test_used();
	rss0 = as_rss(a);
	cr_assert_eq(rss0, 3);

	/* different contents: -EAGAIN, nothing changes */
	cr_assert_eq(mmrt_merge(a, va, a, va + 2 * PG), -EAGAIN);
	cr_assert_eq(mmrt_test_used(), used0);
	cr_assert_eq(as_rss(a), rss0);

	/* identical: merged, one frame freed, rss unchanged */
	cr_assert_eq(mmrt_merge(a, va, a, va + PG), 0);
	cr_assert_eq(mmrt_test_used(), used0 - 1, "used %" PRIu64
		", expected %" PRIu64, mmrt_test_used(), used0 - 1);
	cr_assert_eq(as_rss(a), rss0);
	xlate(a, va, MMRT_ACCESS_READ, &x0);
	xlate(a, va + PG, MMRT_ACCESS_READ, &x1);
	cr_assert_eq(x0.pfn, x1.pfn);
	cr_assert_eq(x0.prot, MMRT_PROT_READ, "merged frame writable");
	cr_assert_eq(mmrt_translate(a, va + PG, MMRT_ACCESS_WRITE, &x1),
		-EACCES);
	cr_assert_eq(mmrt_read(a, va + PG, rbuf, PG), 0);
	cr_assert_arr_eq(rbuf, wbuf, PG);

	/* already sharing */
	cr_assert_eq(mmrt_merge(a, va + PG, a, va), 1);
	cr_assert_eq(mmrt_test_used(), used0 - 1);

	/* a write to one copies; the other keeps the old contents */
	put_pat(a, va + PG, PG, 21);
	cr_assert_eq(mmrt_test_used(), used0);
	check_pat(a, va + PG, PG, 21);
	check_pat(a, va, PG, 20);
	xlate(a, va + PG, MMRT_ACCESS_WRITE, &x1);
	cr_assert_neq(x0.pfn, x1.pfn);

	/* the sole remaining user may write (copy or reuse, same bytes) */
	put_pat(a, va, 8, 22);
	cr_assert_eq(mmrt_test_used(), used0);

	/* across address spaces */
	b = mmrt_as_create("merge-b");
	cr_assert_not_null(b);
	cr_assert_eq(mmrt_map(b, va + 64 * PG, PG, RW, 0), 0);
	cr_assert_eq(mmrt_read(a, va + 2 * PG, wbuf, PG), 0);
	cr_assert_eq(mmrt_write(b, va + 64 * PG, wbuf, PG), 0);
	used0 = mmrt_test_used();
	cr_assert_eq(mmrt_merge(a, va + 2 * PG, b, va + 64 * PG), 0);
	cr_assert_eq(mmrt_test_used(), used0 - 1);
	cr_assert_eq(as_rss(b), 1);

	/* not present: -ENOENT; not mapped: -EFAULT; not aligned: -EINVAL */
	cr_assert_eq(mmrt_merge(a, va + 2 * PG, a, va + 3 * PG), -ENOENT);
	cr_assert_eq(mmrt_merge(a, va + 2 * PG, a, va + 100 * PG), -EFAULT);
	cr_assert_eq(mmrt_merge(a, va + 2 * PG + 8, b, va + 64 * PG),
		-EINVAL);
	cr_assert_eq(mmrt_test_used(), used0 - 1);

	/* destroying one keeps the other's view */
	cr_assert_eq(mmrt_as_destroy(a), 0);
	cr_assert_eq(mmrt_read(b, va + 64 * PG, rbuf, PG), 0);
	cr_assert_arr_eq(rbuf, wbuf, PG);
	put_pat(b, va + 64 * PG, PG, 23);
	check_pat(b, va + 64 * PG, PG, 23);
	cr_assert_eq(mmrt_as_destroy(b), 0);
	cr_assert_eq(mmrt_test_used(), base);
	mmrt_test_down();
}
