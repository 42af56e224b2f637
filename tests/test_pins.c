/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Pins (mmrt_pin, mmrt_unpin, revocation), scatter-gather lookup
 * (mmrt_translate_sg, mmrt_pin_sg) and reverse lookup (mmrt_host_lookup,
 * mmrt_host_to_va), against mmrt_mm.h: pinned frames refused by merge and
 * uffd move, copied at fork, reused (never copied) on a write after a
 * downgrade, kept past unmap until unpin with the pool count back at the
 * start; revocation by unmap, DONTNEED, protect and destroy and not by
 * fork or refused merges; pins on host mappings; pin/unpin racing
 * map/protect/unmap from another thread; bad input to every new call with
 * nothing changed.
 *
 * Every wait is bounded; no assertion is about elapsed time.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include <mmrt_dev.h>
#include <mmrt_uffd.h>

#include "common.h"

#define POOL_MB 64

MMRT_TEST_FIXTURES(POOL_MB);

TestSuite(pins, .init = setup, .fini = teardown, .timeout = 180);
TestSuite(sg, .init = setup, .fini = teardown, .timeout = 120);
TestSuite(rlookup, .init = setup, .fini = teardown, .timeout = 120);

static struct mmrt_as_stats
ast(struct mmrt_as *as)
{
	struct mmrt_as_stats st;

	cr_assert_eq(mmrt_as_stats(as, &st), 0);
	return st;
}

static void
fill(struct mmrt_as *as, uint64_t va, uint64_t len, uint8_t v)
{
	uint8_t *b = malloc(len);

	cr_assert_not_null(b);
	memset(b, v, len);
	cr_assert_eq(mmrt_write(as, va, b, len), 0);
	free(b);
}

static uint8_t
byte_at(struct mmrt_as *as, uint64_t va)
{
	uint8_t v;

	cr_assert_eq(mmrt_read(as, va, &v, 1), 0);
	return v;
}

static uint32_t
pfn_of(struct mmrt_as *as, uint64_t va)
{
	struct mmrt_xlate x;

	cr_assert_eq(mmrt_translate(as, va, MMRT_ACCESS_READ, &x), 0,
		"translate %#" PRIx64, va);
	return x.pfn;
}

static uint32_t
refs(uint32_t pfn)
{
	return mmrt_frame_meta(pfn)->refcount;
}

/* ---- pins ---- */

Test(pins, basic)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("pbasic");
	struct mmrt_sg sg[16];
	struct mmrt_pin *p = NULL;
	uint32_t pfn, r0;
	uint64_t total = 0;
	int n, i;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 16 * PG, RW, 0), 0);
	fill(as, VA, 16 * PG, 0x5a);
	pfn = pfn_of(as, VA + 3 * PG);
	r0 = refs(pfn);
	cr_assert_eq(mmrt_pin(as, VA, 16 * PG, MMRT_PIN_WRITE, &p), 0);
	cr_assert_not_null(p);
	cr_assert_eq(ast(as).pinned_pages, 16);
	cr_assert_eq(refs(pfn), r0 + 1);
	cr_assert_not(mmrt_pin_revoked(p));
	n = mmrt_pin_sg(p, sg, 16);
	cr_assert_gt(n, 0);
	for (i = 0; i < n; i++) {
		cr_assert_eq(((uint8_t *)sg[i].addr)[0], 0x5a);
		total += sg[i].len;
	}
	cr_assert_eq(total, 16 * PG);
	/* a second pin of the same range stacks */
	{
		struct mmrt_pin *q;

		cr_assert_eq(mmrt_pin(as, VA + PG, 4 * PG, 0, &q), 0);
		cr_assert_eq(refs(pfn), r0 + 2);
		cr_assert_eq(ast(as).pinned_pages, 20);
		cr_assert_eq(mmrt_unpin(q), 0);
	}
	cr_assert_eq(mmrt_unpin(p), 0);
	cr_assert_eq(refs(pfn), r0);
	cr_assert_eq(ast(as).pinned_pages, 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* A pinned page: merge and uffd move refuse it, and change nothing. */
Test(pins, move_merge_refused)
{
	uint64_t used0 = mmrt_test_used(), f = MMRT_UFFD_FEATURE_MOVE;
	struct mmrt_as *as = mmrt_as_create("pmerge");
	struct mmrt_uffd_move m;
	struct mmrt_pin *p;
	struct mmrt_uffd *u;
	uint32_t pa, pb;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, 0), 0);
	fill(as, VA, 4 * PG, 0x11); /* identical pages: mergeable */
	pa = pfn_of(as, VA);
	pb = pfn_of(as, VA + PG);
	cr_assert_eq(mmrt_pin(as, VA, PG, 0, &p), 0);
	cr_assert_eq(mmrt_merge(as, VA, as, VA + PG), -EBUSY);
	cr_assert_eq(mmrt_merge(as, VA + PG, as, VA), -EBUSY);
	cr_assert_eq(pfn_of(as, VA), pa);
	cr_assert_eq(pfn_of(as, VA + PG), pb);
	{
		/* still writable in place: not write-protected by merge */
		struct mmrt_xlate x;

		cr_assert_eq(mmrt_translate(as, VA, MMRT_ACCESS_WRITE, &x),
			0);
	}
	cr_assert_not(mmrt_pin_revoked(p));
	/* an unpinned pair still merges */
	cr_assert_eq(mmrt_merge(as, VA + PG, as, VA + 2 * PG), 0);

	cr_assert_eq(mmrt_map(as, VB, 4 * PG, RW, 0), 0);
	u = mmrt_uffd_create(as, MMRT_UFFD_API, &f, NULL);
	cr_assert_not_null(u);
	cr_assert_eq(mmrt_uffd_register(u, VB, 4 * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL), 0);
	memset(&m, 0, sizeof(m));
	m.dst = VB;
	m.src = VA;
	m.len = PG;
	cr_assert_eq(mmrt_uffd_move(u, &m), -EBUSY);
	cr_assert_eq(pfn_of(as, VA), pa);
	cr_assert_eq(byte_at(as, VA), 0x11);
	cr_assert_not(mmrt_pin_revoked(p), "a refused move revoked the pin");
	cr_assert_eq(mmrt_unpin(p), 0);
	/* unpinned, the same move goes through */
	m.move = 0;
	cr_assert_eq(mmrt_uffd_move(u, &m), 0);
	cr_assert_eq(pfn_of(as, VB), pa);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* A pinned 2 MiB leaf: a move of it is refused too. */
Test(pins, move_huge_refused)
{
	uint64_t used0 = mmrt_test_used(), f = MMRT_UFFD_FEATURE_MOVE;
	struct mmrt_as *as = mmrt_as_create("pmvh");
	struct mmrt_uffd_move m;
	struct mmrt_xlate x;
	struct mmrt_pin *p;
	struct mmrt_uffd *u;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, HPG, RW, MMRT_MAP_HUGE |
		MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_translate(as, VA, 0, &x), 0);
	if (!x.huge) {
		mmrt_as_destroy(as);
		cr_skip_test("no huge frame in the pool");
	}
	cr_assert_eq(mmrt_map(as, VB, HPG, RW, 0), 0);
	cr_assert_eq(mmrt_pin(as, VA + 5 * PG, PG, 0, &p), 0);
	u = mmrt_uffd_create(as, MMRT_UFFD_API, &f, NULL);
	cr_assert_not_null(u);
	cr_assert_eq(mmrt_uffd_register(u, VB, HPG,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL), 0);
	memset(&m, 0, sizeof(m));
	m.dst = VB;
	m.src = VA;
	m.len = HPG;
	cr_assert_eq(mmrt_uffd_move(u, &m), -EBUSY);
	cr_assert_eq(pfn_of(as, VA + 5 * PG), x.pfn + 5);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_unpin(p), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * Fork copies a pinned page for the child at once: the parent keeps the
 * pinned frame mapped and writable, the child has its own copy; an
 * unpinned page of the same region is shared copy-on-write as before.
 */
static void
fork_copies(bool huge)
{
	uint64_t used0 = mmrt_test_used(), len = huge ? HPG : 4 * PG;
	struct mmrt_as *as = mmrt_as_create("pfork"), *ch;
	struct mmrt_xlate x;
	struct mmrt_sg sg;
	struct mmrt_pin *p;
	uint32_t pinned, other;
	uint8_t v = 0x77;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, len, RW, huge ? MMRT_MAP_HUGE : 0), 0);
	fill(as, VA, len, 0x33);
	if (huge) {
		cr_assert_eq(mmrt_translate(as, VA, 0, &x), 0);
		if (!x.huge) {
			mmrt_as_destroy(as);
			cr_skip_test("no huge frame in the pool");
		}
	}
	cr_assert_eq(mmrt_pin(as, VA, huge ? HPG : PG, 0, &p), 0);
	pinned = pfn_of(as, VA);
	other = pfn_of(as, VA + PG);
	ch = mmrt_as_fork(as, "pfork-c");
	cr_assert_not_null(ch);
	cr_assert_not(mmrt_pin_revoked(p), "fork revoked the pin");
	/* the parent's pinned page is untouched and writable */
	cr_assert_eq(mmrt_translate(as, VA, MMRT_ACCESS_WRITE, &x), 0);
	cr_assert_eq(x.pfn, pinned);
	cr_assert_neq(pfn_of(ch, VA), pinned);
	cr_assert_eq(byte_at(ch, VA), 0x33);
	if (!huge) /* the unpinned page is shared copy-on-write */
		cr_assert_eq(pfn_of(ch, VA + PG), other);
	/* a write by the parent lands in the pinned frame, not the child */
	cr_assert_eq(mmrt_write(as, VA, &v, 1), 0);
	cr_assert_eq(mmrt_pin_sg(p, &sg, 1), 1);
	cr_assert_eq(((uint8_t *)sg.addr)[0], 0x77);
	cr_assert_eq(byte_at(ch, VA), 0x33);
	cr_assert_eq(pfn_of(as, VA), pinned);
	/* and the child's writes stay the child's */
	v = 0x44;
	cr_assert_eq(mmrt_write(ch, VA + 7, &v, 1), 0);
	cr_assert_eq(((uint8_t *)sg.addr)[7], 0x33);
	cr_assert_eq(mmrt_as_destroy(ch), 0);
	cr_assert_eq(mmrt_unpin(p), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(pins, fork_copies)
{
	fork_copies(false);
}

Test(pins, fork_copies_huge)
{
	fork_copies(true);
}

/*
 * A read pin on a writable region made the page exclusive; after a
 * protect down and up again, a write makes the same frame writable again
 * (reuse), never a copy that would leave the pin behind.
 */
Test(pins, write_reuses_pinned)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("preuse"), *ch;
	struct mmrt_as_stats st;
	struct mmrt_pin *p;
	uint32_t pfn;
	uint8_t v = 9;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 2 * PG, RW, 0), 0);
	fill(as, VA, 2 * PG, 0x21);
	/* shared copy-on-write with a child first: the pin unshares it */
	ch = mmrt_as_fork(as, "preuse-c");
	cr_assert_not_null(ch);
	cr_assert_eq(pfn_of(ch, VA), pfn_of(as, VA));
	cr_assert_eq(mmrt_pin(as, VA, PG, 0, &p), 0);
	pfn = pfn_of(as, VA);
	cr_assert_neq(pfn_of(ch, VA), pfn, "the pin left the page shared");
	cr_assert_eq(mmrt_protect(as, VA, 2 * PG, RO), 0);
	cr_assert_not(mmrt_pin_revoked(p), "read pin revoked by RO");
	cr_assert_eq(mmrt_protect(as, VA, 2 * PG, RW), 0);
	st = ast(as);
	cr_assert_eq(mmrt_write(as, VA, &v, 1), 0);
	cr_assert_eq(pfn_of(as, VA), pfn, "the pinned page was copied");
	cr_assert_eq(ast(as).cow_reuse, st.cow_reuse + 1);
	cr_assert_not(mmrt_pin_revoked(p));
	cr_assert_eq(mmrt_unpin(p), 0);
	cr_assert_eq(mmrt_as_destroy(ch), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

static unsigned int revokes;

static void
count_revoke(struct mmrt_pin *pin, void *arg)
{
	cr_assert_eq(arg, &revokes);
	cr_assert(mmrt_pin_revoked(pin));
	__atomic_fetch_add(&revokes, 1, __ATOMIC_RELAXED);
}

/*
 * Unmap of a pinned range: the pin is revoked before the unmap returns,
 * the frames stay allocated with their contents until the unpin, which
 * brings the pool count back to the start.
 */
Test(pins, unmap_keeps_frames)
{
	uint64_t used0 = mmrt_test_used(), used1;
	struct mmrt_as *as = mmrt_as_create("punmap");
	struct mmrt_pin *p;
	struct mmrt_sg sg[8];
	uint32_t pfn[8];
	int i, n;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 8 * PG, RW, 0), 0);
	fill(as, VA, 8 * PG, 0x6c);
	for (i = 0; i < 8; i++)
		pfn[i] = pfn_of(as, VA + (uint64_t)i * PG);
	revokes = 0;
	cr_assert_eq(mmrt_pin_revocable(as, VA, 8 * PG, MMRT_PIN_WRITE,
		count_revoke, &revokes, &p), 0);
	used1 = mmrt_test_used();
	cr_assert_eq(mmrt_unmap(as, VA, 8 * PG), 0);
	cr_assert_eq(revokes, 1);
	cr_assert(mmrt_pin_revoked(p));
	/* page tables may go, the eight frames may not */
	cr_assert_geq(mmrt_test_used(), used1 - 3);
	cr_assert_geq(mmrt_test_used(), used0 + 8);
	for (i = 0; i < 8; i++) {
		cr_assert_eq(refs(pfn[i]), 1);
		cr_assert_not(mmrt_frame_meta(pfn[i])->flags &
			MMRT_FRAME_FREE);
	}
	n = mmrt_pin_sg(p, sg, 8);
	cr_assert_gt(n, 0);
	for (i = 0; i < n; i++)
		cr_assert_eq(((uint8_t *)sg[i].addr)[sg[i].len - 1], 0x6c);
	cr_assert_eq(ast(as).pinned_pages, 8);
	cr_assert_eq(mmrt_unpin(p), 0);
	cr_assert_eq(revokes, 1);
	cr_assert_eq(ast(as).pinned_pages, 0);
	for (i = 0; i < 8; i++)
		cr_assert(mmrt_frame_meta(pfn[i])->flags & MMRT_FRAME_FREE);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* What revokes and what does not; a pin outlives its space's destroy. */
Test(pins, revocation)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("prevoke"), *ch;
	struct mmrt_pin *w, *r, *d;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 8 * PG, RW, MMRT_MAP_POPULATE), 0);
	revokes = 0;
	cr_assert_eq(mmrt_pin_revocable(as, VA, 2 * PG, MMRT_PIN_WRITE,
		count_revoke, &revokes, &w), 0);
	cr_assert_eq(mmrt_pin_revocable(as, VA + 2 * PG, 2 * PG, 0,
		count_revoke, &revokes, &r), 0);
	cr_assert_eq(mmrt_pin_revocable(as, VA + 4 * PG, 2 * PG, 0,
		count_revoke, &revokes, &d), 0);
	/* fork and an unrelated protect revoke nothing */
	ch = mmrt_as_fork(as, "prevoke-c");
	cr_assert_not_null(ch);
	cr_assert_eq(mmrt_protect(as, VA + 6 * PG, 2 * PG, RO), 0);
	cr_assert_eq(revokes, 0);
	/* read-only: the write pin goes, the read pin stays */
	cr_assert_eq(mmrt_protect(as, VA, 4 * PG, RO), 0);
	cr_assert(mmrt_pin_revoked(w));
	cr_assert_not(mmrt_pin_revoked(r));
	cr_assert_eq(revokes, 1);
	cr_assert_eq(mmrt_protect(as, VA, 4 * PG, MMRT_PROT_NONE), 0);
	cr_assert(mmrt_pin_revoked(r));
	cr_assert_eq(revokes, 2);
	cr_assert_eq(mmrt_advise(as, VA + 5 * PG, PG, MMRT_ADV_DONTNEED), 0);
	cr_assert(mmrt_pin_revoked(d));
	cr_assert_eq(revokes, 3);
	/* the child's pages were never pinned: the parent's are held */
	cr_assert_eq(ast(ch).pinned_pages, 0);
	cr_assert_eq(mmrt_as_destroy(ch), 0);
	cr_assert_eq(mmrt_unpin(d), 0);
	/* destroy revokes (once) and the pins stay usable after it */
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(revokes, 3, "already revoked pins are not told again");
	cr_assert_gt(mmrt_test_used(), used0);
	cr_assert_eq(mmrt_unpin(w), 0);
	cr_assert_eq(mmrt_unpin(r), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(pins, destroy_revokes)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("pdestroy");
	struct mmrt_pin *p;
	struct mmrt_sg sg;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, PG, RW, 0), 0);
	fill(as, VA, PG, 0x42);
	revokes = 0;
	cr_assert_eq(mmrt_pin_revocable(as, VA, PG, 0, count_revoke,
		&revokes, &p), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(revokes, 1);
	cr_assert(mmrt_pin_revoked(p));
	cr_assert_eq(mmrt_pin_sg(p, &sg, 1), 1);
	cr_assert_eq(((uint8_t *)sg.addr)[100], 0x42);
	cr_assert_eq(mmrt_test_used(), used0 + 1);
	cr_assert_eq(mmrt_unpin(p), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* Pins on host mappings: the host pages and their IOVAs, no frame. */
Test(pins, host)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("phost");
	uint8_t *buf = xalign(HPG, 2 * HPG);
	uint8_t *dm = rte_malloc("pins", 4 * PG, PG);
	struct mmrt_pin *p, *q;
	struct mmrt_sg sg[4];
	uint64_t used1;

	cr_assert_not_null(as);
	cr_assert_not_null(dm);
	memset(buf, 0x3c, 2 * HPG);
	cr_assert_eq(mmrt_map_host(as, VA, buf, 2 * HPG, RW, 0), 0);
	cr_assert_eq(mmrt_map_host(as, VB, dm, 4 * PG, RW, 0), 0);
	revokes = 0;
	used1 = mmrt_test_used();
	cr_assert_eq(mmrt_pin_revocable(as, VA + PG, HPG, MMRT_PIN_WRITE,
		count_revoke, &revokes, &p), 0);
	cr_assert_eq(ast(as).pinned_pages, HPG / PG);
	cr_assert_eq(mmrt_pin_sg(p, sg, 4), 1);
	cr_assert_eq(sg[0].addr, buf + PG);
	cr_assert_eq(sg[0].len, HPG);
	cr_assert_eq(sg[0].iova, RTE_BAD_IOVA);
	/* DPDK memory: its IOVA */
	cr_assert_eq(mmrt_pin(as, VB, 4 * PG, 0, &q), 0);
	cr_assert_eq(mmrt_pin_sg(q, sg, 4), 1);
	cr_assert_eq(sg[0].addr, dm);
	cr_assert_eq(sg[0].iova, rte_malloc_virt2iova(dm));
	cr_assert_eq(sg[0].len, 4 * PG);
	cr_assert_eq(mmrt_test_used(), used1, "a host pin took frames");
	/* the revocation runs before the unmap returns */
	cr_assert_eq(mmrt_unmap(as, VA, 2 * HPG), 0);
	cr_assert_eq(revokes, 1);
	cr_assert_not(mmrt_pin_revoked(q));
	cr_assert_eq(mmrt_unpin(p), 0);
	cr_assert_eq(mmrt_unpin(q), 0);
	cr_assert_eq(buf[HPG], 0x3c);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
	rte_free(dm);
	free(buf);
}

/* Bad input: a documented errno, nothing pinned, nothing changed. */
Test(pins, bad_input)
{
	uint64_t used0 = mmrt_test_used(), used1;
	struct mmrt_as *as = mmrt_as_create("pbad");
	struct mmrt_pin *p = (struct mmrt_pin *)&used0;
	struct mmrt_pin *const sentinel = p;
	uint64_t junk[64];
	struct mmrt_sg sg;
	uint32_t pfn, r0;

	memset(junk, 0, sizeof(junk));
	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_map(as, VB, 4 * PG, RO, MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_map(as, VC, 4 * PG, MMRT_PROT_NONE, 0), 0);
	pfn = pfn_of(as, VA);
	r0 = refs(pfn);
	used1 = mmrt_test_used();

	cr_assert_eq(mmrt_pin(as, VA, PG, 0, NULL), -EINVAL);
	cr_assert_eq(mmrt_pin(NULL, VA, PG, 0, &p), -EINVAL);
	cr_assert_eq(mmrt_pin(as, VA + 1, PG, 0, &p), -EINVAL);
	cr_assert_eq(mmrt_pin(as, VA, PG + 1, 0, &p), -EINVAL);
	cr_assert_eq(mmrt_pin(as, VA, 0, 0, &p), -EINVAL);
	cr_assert_eq(mmrt_pin(as, UINT64_MAX & ~(PG - 1), 2 * PG, 0, &p),
		-EINVAL);
	cr_assert_eq(mmrt_pin(as, MMRT_VA_LIMIT - PG, 2 * PG, 0, &p),
		-EINVAL);
	cr_assert_eq(mmrt_pin(as, VA, PG, 1u << 7, &p), -EINVAL);
	/* unmapped, partly unmapped: -EFAULT, and the mapped part is not
	 * left pinned */
	cr_assert_eq(mmrt_pin(as, VA + 16 * PG, PG, 0, &p), -EFAULT);
	cr_assert_eq(mmrt_pin(as, VA, 8 * PG, 0, &p), -EFAULT);
	/* write pin of a read-only region, any pin of PROT_NONE */
	cr_assert_eq(mmrt_pin(as, VB, PG, MMRT_PIN_WRITE, &p), -EACCES);
	cr_assert_eq(mmrt_pin(as, VC, PG, 0, &p), -EACCES);
	cr_assert_eq(mmrt_pin_revocable(as, VA, 3 * PG, 0, NULL, NULL,
		NULL), -EINVAL);
	cr_assert_eq(p, sentinel, "*out changed on failure");
	cr_assert_eq(refs(pfn), r0);
	cr_assert_eq(ast(as).pinned_pages, 0);
	cr_assert_eq(mmrt_test_used(), used1);

	cr_assert_eq(mmrt_unpin(NULL), -EINVAL);
	cr_assert_eq(mmrt_unpin((struct mmrt_pin *)junk), -EINVAL);
	cr_assert_not(mmrt_pin_revoked(NULL));
	cr_assert_eq(mmrt_pin_sg(NULL, &sg, 1), -EINVAL);
	cr_assert_eq(mmrt_pin(as, VA, 2 * PG, 0, &p), 0);
	cr_assert_eq(mmrt_pin_sg(p, NULL, 1), -EINVAL);
	cr_assert_gt(mmrt_pin_sg(p, NULL, 0), 0);
	cr_assert_eq(mmrt_unpin(p), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_pin(as, VA, PG, 0, &p), -EINVAL); /* dead space */
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * Pin/unpin on one thread against map/protect/unmap of the same range on
 * another, a bounded number of rounds: every pin either succeeds (its
 * pages held until the unpin, revoked or not) or fails with a documented
 * errno; the pin count and the pool count are back at the end.
 */
#define RACE_ROUNDS 1500
#define RACE_PAGES 8

struct race {
	struct mmrt_as *as;
	bool stop;
	unsigned int rounds;
	unsigned int pinned, failed, revoked;
};

static void *
race_mapper(void *arg)
{
	struct race *r = arg;
	unsigned int i;

	for (i = 0; i < RACE_ROUNDS; i++) {
		uint8_t v = (uint8_t)(i | 1);

		cr_assert_eq(mmrt_map(r->as, VA, RACE_PAGES * PG, RW, 0), 0);
		fill(r->as, VA, RACE_PAGES * PG, v);
		if (i & 1) {
			cr_assert_eq(mmrt_protect(r->as, VA, RACE_PAGES * PG,
				RO), 0);
			cr_assert_eq(mmrt_protect(r->as, VA, RACE_PAGES * PG,
				RW), 0);
		}
		cr_assert_eq(mmrt_unmap(r->as, VA, RACE_PAGES * PG), 0);
	}
	__atomic_store_n(&r->stop, true, __ATOMIC_RELEASE);
	return NULL;
}

Test(pins, race_unmap_protect, .timeout = 600)
{
	uint64_t used0 = mmrt_test_used();
	struct race r = { .as = mmrt_as_create("prace") };
	struct mmrt_sg sg[RACE_PAGES];
	struct mmrt_pin *p;
	pthread_t t;
	int rc, n, i;

	cr_assert_not_null(r.as);
	cr_assert_eq(pthread_create(&t, NULL, race_mapper, &r), 0);
	/* bounded by the mapper's rounds */
	while (!__atomic_load_n(&r.stop, __ATOMIC_ACQUIRE)) {
		rc = mmrt_pin(r.as, VA, RACE_PAGES * PG,
			(r.rounds & 1) ? MMRT_PIN_WRITE : 0, &p);
		r.rounds++;
		if (rc != 0) {
			cr_assert(rc == -EFAULT || rc == -EACCES ||
				rc == -EAGAIN, "pin: %d", rc);
			r.failed++;
			sched_yield();
			continue;
		}
		r.pinned++;
		n = mmrt_pin_sg(p, sg, RACE_PAGES);
		cr_assert_gt(n, 0);
		for (i = 0; i < n; i++)
			cr_assert_not_null(sg[i].addr);
		if (mmrt_pin_revoked(p))
			r.revoked++;
		cr_assert_eq(mmrt_unpin(p), 0);
	}
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_log_info("race: %u pins tried, %u held, %u failed, %u revoked",
		r.rounds, r.pinned, r.failed, r.revoked);
	cr_assert_eq(ast(r.as).pinned_pages, 0);
	cr_assert_eq(ast(r.as).regions, 0);
	cr_assert_eq(mmrt_as_destroy(r.as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ---- scatter-gather ---- */

/* @sg[0..n) must translate [va, va + len) as page-wise translations do,
 * and be maximal (no two neighbours could be one segment). */
static void
check_sg(struct mmrt_as *as, uint64_t va, uint64_t len,
	const struct mmrt_sg *sg, int n)
{
	uint64_t at = va;
	struct mmrt_xlate x;
	int i;

	cr_assert_gt(n, 0);
	for (i = 0; i < n; i++) {
		uint64_t o;

		for (o = 0; o < sg[i].len; o += x.size) {
			cr_assert_eq(mmrt_translate(as, at + o, 0, &x), 0);
			cr_assert_eq(x.addr, (uint8_t *)sg[i].addr + o,
				"seg %d at %#" PRIx64, i, at + o);
			if (sg[i].iova != RTE_BAD_IOVA)
				cr_assert_eq(x.iova, sg[i].iova + o);
			else
				cr_assert_eq(x.iova, RTE_BAD_IOVA);
			x.size = RTE_MIN(x.size, MMRT_PAGE_SIZE -
				((at + o) & (PG - 1)));
		}
		if (i > 0) {
			const struct mmrt_sg *a = &sg[i - 1], *b = &sg[i];

			cr_assert((uint8_t *)a->addr + a->len != b->addr ||
				(a->iova == RTE_BAD_IOVA) !=
				(b->iova == RTE_BAD_IOVA) ||
				(a->iova != RTE_BAD_IOVA &&
				a->iova + a->len != b->iova),
				"segments %d and %d could be one", i - 1, i);
		}
		at += sg[i].len;
	}
	cr_assert_eq(at, va + len);
}

Test(sg, pool_and_host)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("sgbasic");
	uint8_t *buf = xalign(HPG, 2 * HPG);
	struct mmrt_sg sg[64];
	struct mmrt_xlate x;
	int n;

	cr_assert_not_null(as);
	/* 4 KiB pool pages, byte-aligned range */
	cr_assert_eq(mmrt_map(as, VA, 32 * PG, RW, MMRT_MAP_POPULATE), 0);
	n = mmrt_translate_sg(as, VA + 100, 16 * PG, MMRT_ACCESS_WRITE, sg,
		64);
	check_sg(as, VA + 100, 16 * PG, sg, n);
	cr_assert_eq(mmrt_translate_sg(as, VA + 100, 16 * PG, 0, NULL, 0), n);
	/* one 2 MiB pool leaf: contiguous frames, one segment */
	cr_assert_eq(mmrt_map(as, VB, HPG, RW, MMRT_MAP_HUGE |
		MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_translate(as, VB, 0, &x), 0);
	n = mmrt_translate_sg(as, VB + 3 * PG, 64 * 1024, 0, sg, 64);
	check_sg(as, VB + 3 * PG, 64 * 1024, sg, n);
	if (x.huge && mmrt_frame_iova(x.pfn + 19) ==
			mmrt_frame_iova(x.pfn + 3) + 16 * PG)
		cr_assert_eq(n, 1);
	/* a host mapping of contiguous memory, 2 MiB leaves and 4 KiB ones */
	cr_assert_eq(mmrt_map_host(as, VC, buf, 2 * HPG, RW, 0), 0);
	n = mmrt_translate_sg(as, VC + 7, 2 * HPG - 7, 0, sg, 64);
	cr_assert_eq(n, 1);
	cr_assert_eq(sg[0].addr, buf + 7);
	cr_assert_eq(sg[0].len, 2 * HPG - 7);
	cr_assert_eq(sg[0].iova, RTE_BAD_IOVA);
	/* two host pages that are not neighbours: two segments */
	cr_assert_eq(mmrt_unmap(as, VC, 2 * HPG), 0);
	cr_assert_eq(mmrt_map_host(as, VC, buf + 2 * PG, PG, RW, 0), 0);
	cr_assert_eq(mmrt_map_host(as, VC + PG, buf, PG, RW, 0), 0);
	n = mmrt_translate_sg(as, VC, 2 * PG, 0, sg, 64);
	cr_assert_eq(n, 2);
	check_sg(as, VC, 2 * PG, sg, n);
	/* -ENOSPC: the first n segments, a prefix of the range */
	memset(sg, 0, sizeof(sg));
	cr_assert_eq(mmrt_translate_sg(as, VC, 2 * PG, 0, sg, 1), -ENOSPC);
	cr_assert_eq(sg[0].addr, buf + 2 * PG);
	cr_assert_eq(sg[0].len, PG);
	cr_assert_null(sg[1].addr);
	cr_assert_eq(mmrt_translate_sg(as, VC, 2 * PG, 0, NULL, 0), 2);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
	free(buf);
}

Test(sg, errors_and_bad_input)
{
	struct mmrt_as *as = mmrt_as_create("sgbad");
	struct mmrt_sg sg[4];

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RO, MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_map(as, VB, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_translate_sg(as, VA, 4 * PG, 0, sg, 4),
		mmrt_translate_sg(as, VA, 4 * PG, 0, NULL, 0));
	cr_assert_eq(mmrt_translate_sg(as, VA, 4 * PG, MMRT_ACCESS_WRITE, sg,
		4), -EACCES);
	cr_assert_eq(mmrt_translate_sg(as, VB, PG, 0, sg, 4), -EFAULT);
	cr_assert_eq(mmrt_translate_sg(as, VA, 8 * PG, 0, sg, 4), -EFAULT);
	cr_assert_eq(mmrt_translate_sg(NULL, VA, PG, 0, sg, 4), -EINVAL);
	cr_assert_eq(mmrt_translate_sg(as, VA, 0, 0, sg, 4), -EINVAL);
	cr_assert_eq(mmrt_translate_sg(as, UINT64_MAX - 10, 100, 0, sg, 4),
		-EINVAL);
	cr_assert_eq(mmrt_translate_sg(as, MMRT_VA_LIMIT - PG, 2 * PG, 0, sg,
		4), -EINVAL);
	cr_assert_eq(mmrt_translate_sg(as, VA, PG, 1u << 5, sg, 4), -EINVAL);
	cr_assert_eq(mmrt_translate_sg(as, VA, PG, 0, NULL, 4), -EINVAL);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_translate_sg(as, VA, PG, 0, sg, 4), -EINVAL);
}

/*
 * mmrt_translate_sg() against page-by-page mmrt_translate(), as an
 * unregistered thread (the walk under the map lock) and as an online
 * poller (the lockless walk), which share the walk and its run of whole
 * pool pages (sg.c's sg_run_linear()): 4 KiB pool pages faulted in runs
 * of random length in a shuffled order (so frames are contiguous in runs
 * broken at random places), holes, read-only pages, a 2 MiB boundary
 * inside, a host mapping right after the pool pages; random byte ranges
 * for read and for write; the counting call, an exact array and one
 * segment short (-ENOSPC, the first segments as the model's).
 */
#define SGR_BASE (VA + HPG / 2)          /* 2 MiB boundary at +HPG / 2 */
#define SGR_PAGES 768u                   /* 3 MiB of pool pages */
#define SGR_HOST_PAGES 16u
#define SGR_LEN ((uint64_t)(SGR_PAGES + SGR_HOST_PAGES) * PG)
#define SGR_MAXSEG (SGR_PAGES + SGR_HOST_PAGES + 1)

/* The segments of [va, va + len) from mmrt_translate(): 0 and *nseg, or
 * the first page's error. */
static int
sg_model(struct mmrt_as *as, uint64_t va, uint64_t len, uint32_t access,
	struct mmrt_sg *seg, unsigned int *nseg)
{
	uint64_t at = va, end = va + len, step;
	struct mmrt_xlate x;
	struct mmrt_sg *a;
	unsigned int n = 0;
	int ret;

	while (at < end) {
		ret = mmrt_translate(as, at, access, &x);
		if (ret != 0)
			return ret;
		step = RTE_MIN(RTE_MIN(x.size, PG - (at & (PG - 1))),
			end - at);
		a = n > 0 ? &seg[n - 1] : NULL;
		if (a != NULL && (uint8_t *)a->addr + a->len == x.addr &&
				(a->iova == RTE_BAD_IOVA ?
				x.iova == RTE_BAD_IOVA :
				x.iova != RTE_BAD_IOVA &&
				a->iova + a->len == x.iova)) {
			a->len += step;
		} else {
			cr_assert_lt(n, SGR_MAXSEG);
			seg[n].addr = x.addr;
			seg[n].iova = x.iova;
			seg[n].len = step;
			n++;
		}
		at += step;
	}
	*nseg = n;
	return 0;
}

static void
sg_assert_same(const struct mmrt_sg *got, const struct mmrt_sg *want,
	unsigned int n, uint64_t va)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		cr_assert(got[i].addr == want[i].addr &&
			got[i].iova == want[i].iova &&
			got[i].len == want[i].len,
			"range at %#" PRIx64 ": segment %u is {%p, %#" PRIx64
			", %" PRIu64 "}, expected {%p, %#" PRIx64 ", %"
			PRIu64 "}", va, i, got[i].addr, got[i].iova,
			got[i].len, want[i].addr, want[i].iova, want[i].len);
}

static void
sg_against_model(struct mmrt_as *as, uint64_t *rng, unsigned int rounds,
	bool online, unsigned int *nerr, unsigned int *nmulti)
{
	static struct mmrt_sg want[SGR_MAXSEG], got[SGR_MAXSEG];
	uint64_t off, len, va;
	unsigned int r, nseg;
	uint32_t access;
	int exp;

	for (r = 0; r < rounds; r++) {
		off = mmrt_test_xorshift(rng) % SGR_LEN;
		/* mostly short ranges (the 64 KiB of perf-xlate), some long */
		len = 1 + mmrt_test_xorshift(rng) % ((r & 7) == 0 ?
			SGR_LEN - off : RTE_MIN(SGR_LEN - off, 20 * PG));
		if ((r & 3) == 1)
			off &= ~(uint64_t)(PG - 1); /* page aligned starts */
		if (off + len > SGR_LEN)
			len = SGR_LEN - off;
		if ((r & 3) == 1)
			len = RTE_MAX(len & ~(uint64_t)(PG - 1), PG);
		va = SGR_BASE + off;
		access = (r & 1) ? MMRT_ACCESS_WRITE : MMRT_ACCESS_READ;
		exp = sg_model(as, va, len, access, want, &nseg);
		if (exp != 0) {
			(*nerr)++;
			cr_assert_eq(mmrt_translate_sg(as, va, len, access, got,
				SGR_MAXSEG), exp, "range %#" PRIx64 " +%" PRIu64
				" (%s)", va, len, online ? "online" : "locked");
		} else {
			*nmulti += nseg > 1;
			cr_assert_eq(mmrt_translate_sg(as, va, len, access,
				NULL, 0), (int)nseg);
			memset(got, 0, sizeof(got));
			cr_assert_eq(mmrt_translate_sg(as, va, len, access, got,
				nseg), (int)nseg, "range %#" PRIx64 " +%" PRIu64
				" (%s)", va, len, online ? "online" : "locked");
			sg_assert_same(got, want, nseg, va);
			if (nseg > 1) {
				memset(got, 0, sizeof(got));
				cr_assert_eq(mmrt_translate_sg(as, va, len,
					access, got, nseg - 1), -ENOSPC);
				sg_assert_same(got, want, nseg - 1, va);
			}
		}
		if (online)
			mmrt_quiescent();
	}
}

Test(sg, runs_match_translate)
{
	uint64_t used0 = mmrt_test_used(), rng = 0x5eed5eedu;
	struct mmrt_as *as = mmrt_as_create("sgruns");
	uint8_t *host = xalign(PG, SGR_HOST_PAGES * PG);
	static uint32_t run_start[SGR_PAGES], run_len[SGR_PAGES];
	unsigned int nruns = 0, i, j, k, nerr = 0, nmulti = 0;
	uint32_t t;
	uint64_t p;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, SGR_BASE, SGR_PAGES * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map_host(as, SGR_BASE + SGR_PAGES * PG, host,
		SGR_HOST_PAGES * PG, RW, 0), 0);
	/* runs of 1 to 40 pages, faulted run by run in a shuffled order */
	for (p = 0; p < SGR_PAGES; p += run_len[nruns++]) {
		run_start[nruns] = (uint32_t)p;
		run_len[nruns] = (uint32_t)RTE_MIN(1 +
			mmrt_test_xorshift(&rng) % 40, SGR_PAGES - p);
	}
	for (i = nruns - 1; i > 0; i--) {
		j = (unsigned int)(mmrt_test_xorshift(&rng) % (i + 1));
		t = run_start[i];
		run_start[i] = run_start[j];
		run_start[j] = t;
		t = run_len[i];
		run_len[i] = run_len[j];
		run_len[j] = t;
	}
	for (i = 0; i < nruns; i++) {
		for (k = 0; k < run_len[i]; k++) {
			p = run_start[i] + k;
			/* about 2% holes */
			if (mmrt_test_xorshift(&rng) % 50 == 0)
				continue;
			cr_assert_eq(mmrt_fault(as, SGR_BASE + p * PG,
				MMRT_ACCESS_WRITE), 0);
		}
	}
	/* about 2% read-only pages */
	for (p = 0; p < SGR_PAGES; p++)
		if (mmrt_test_xorshift(&rng) % 50 == 0)
			cr_assert_eq(mmrt_protect(as, SGR_BASE + p * PG, PG,
				RO), 0);

	sg_against_model(as, &rng, 3000, false, &nerr, &nmulti);
	cr_assert_eq(mmrt_thread_register(), 0);
	sg_against_model(as, &rng, 3000, true, &nerr, &nmulti);
	cr_assert_eq(mmrt_thread_unregister(), 0);
	/* the ranges reached both outcomes */
	cr_assert_gt(nerr, 100);
	cr_assert_gt(nmulti, 100);

	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
	free(host);
}

/* ---- reverse lookup ---- */

struct found {
	struct mmrt_as *as[8];
	uint64_t va[8];
	int n;
	int stop_at;
};

static int
collect(struct mmrt_as *as, uint64_t va, void *arg)
{
	struct found *f = arg;

	if (f->n < 8) {
		f->as[f->n] = as;
		f->va[f->n] = va;
	}
	f->n++;
	return f->n == f->stop_at;
}

Test(rlookup, host_and_pool)
{
	uint64_t used0 = mmrt_test_used(), va;
	struct mmrt_as *a = mmrt_as_create("rla"), *b = mmrt_as_create("rlb");
	struct mmrt_as *c, *got;
	uint8_t *buf = xalign(PG, 4 * PG);
	struct found f;
	struct mmrt_xlate x;

	cr_assert_not_null(a);
	cr_assert_not_null(b);
	/* one host buffer in two spaces */
	cr_assert_eq(mmrt_map_host(a, VA, buf, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map_host(b, VB + PG, buf + PG, 2 * PG, RW, 0), 0);
	memset(&f, 0, sizeof(f));
	cr_assert_eq(mmrt_host_lookup(buf + PG + 5, collect, &f), 2);
	cr_assert_eq(f.n, 2);
	cr_assert((f.as[0] == a && f.va[0] == VA + PG + 5 &&
		f.as[1] == b && f.va[1] == VB + PG + 5) ||
		(f.as[1] == a && f.va[1] == VA + PG + 5 &&
		f.as[0] == b && f.va[0] == VB + PG + 5));
	/* stop early: the count includes the stopping call */
	memset(&f, 0, sizeof(f));
	f.stop_at = 1;
	cr_assert_eq(mmrt_host_lookup(buf + PG, collect, &f), 1);
	cr_assert_eq(mmrt_host_lookup(buf + 3 * PG, NULL, NULL), 1);
	cr_assert_eq(mmrt_host_to_va(buf + 3 * PG + 1, &got, &va), 0);
	cr_assert_eq(got, a);
	cr_assert_eq(va, VA + 3 * PG + 1);
	/* still found where DONTNEED dropped the leaf (same bytes again) */
	cr_assert_eq(mmrt_advise(a, VA, PG, MMRT_ADV_DONTNEED), 0);
	cr_assert_eq(mmrt_host_to_va(buf, &got, &va), 0);
	cr_assert_eq(va, VA);

	/* a pool frame: its leaf; after fork, one per space */
	cr_assert_eq(mmrt_map(a, VC, 4 * PG, RW, MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_translate(a, VC + 2 * PG, 0, &x), 0);
	cr_assert_eq(mmrt_host_to_va((uint8_t *)x.addr + 9, &got, &va), 0);
	cr_assert_eq(got, a);
	cr_assert_eq(va, VC + 2 * PG + 9);
	c = mmrt_as_fork(a, "rlc");
	cr_assert_not_null(c);
	memset(&f, 0, sizeof(f));
	cr_assert_eq(mmrt_host_lookup(x.addr, collect, &f), 2);
	cr_assert(f.as[0] != f.as[1]);
	cr_assert_eq(f.va[0], VC + 2 * PG);
	cr_assert_eq(f.va[1], VC + 2 * PG);
	/* a merged frame: found at both VAs */
	cr_assert_eq(mmrt_as_destroy(c), 0);
	cr_assert_eq(mmrt_merge(a, VC, a, VC + PG), 0);
	cr_assert_eq(mmrt_translate(a, VC, 0, &x), 0);
	memset(&f, 0, sizeof(f));
	cr_assert_eq(mmrt_host_lookup(x.addr, collect, &f), 2);
	cr_assert_eq(f.va[0], VC);
	cr_assert_eq(f.va[1], VC + PG);

	/* bad input, not found */
	cr_assert_eq(mmrt_host_lookup(NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(mmrt_host_to_va(buf, NULL, &va), -EINVAL);
	cr_assert_eq(mmrt_host_to_va(buf, &got, NULL), -EINVAL);
	cr_assert_eq(mmrt_host_lookup(&f, NULL, NULL), -ENOENT);
	cr_assert_eq(mmrt_host_lookup(mmrt_frame_addr(mmrt_zero_pfn()), NULL,
		NULL), -EINVAL);
	cr_assert_eq(mmrt_as_destroy(b), 0);
	cr_assert_eq(mmrt_as_destroy(a), 0);
	cr_assert_eq(mmrt_host_lookup(buf, NULL, NULL), -ENOENT);
	cr_assert_eq(mmrt_test_used(), used0);
	free(buf);
}

/* The DPDK mirror: DPDK memory is found at its IOVA. */
Test(rlookup, mirror)
{
	struct mmrt_as *mir = mmrt_as_mirror_dpdk("rlmir"), *got;
	uint8_t *dm = rte_malloc("rl", 2 * PG, PG);
	struct found f;
	uint64_t va;

	cr_assert_not_null(mir);
	cr_assert_not_null(dm);
	memset(&f, 0, sizeof(f));
	cr_assert_geq(mmrt_host_lookup(dm + 17, collect, &f), 1);
	cr_assert_eq(f.as[0], mir);
	cr_assert_eq(f.va[0], rte_malloc_virt2iova(dm) + 17);
	cr_assert_eq(mmrt_host_to_va(dm + PG, &got, &va), 0);
	/* (rte_malloc_virt2iova() takes the start of an allocation) */
	cr_assert_eq(va, rte_malloc_virt2iova(dm) + PG);
	rte_free(dm);
	cr_assert_eq(mmrt_as_destroy(mir), 0);
}

/* ---- host mappings under IOVA-as-PA (real hugepages, root) ---- */

#define PA_NEED_HUGEPAGES 64
#define PA_LEN (UINT64_C(4) << 20)

TestSuite(pins_pa, .timeout = 300);

/*
 * DPDK memory whose IOVA is its physical address: every page of a host
 * mapping translates to rte_mem_virt2iova() of its address (through
 * mmrt_translate(), mmrt_translate_sg() and a pin's segments), in 2 MiB
 * and 4 KiB host leaves. Needs free 2 MiB hugepages and root (physical
 * addresses); skipped visibly otherwise.
 */
Test(pins_pa, host_iova)
{
	char *argv[] = { (char *)"test-pins", (char *)"--in-memory",
		(char *)"--iova-mode=pa", (char *)"--no-pci", (char *)"-l",
		(char *)"0", (char *)"--", (char *)"--pool-mb", (char *)"32",
		NULL };
	long nfree = mmrt_test_free_hugepages();
	struct mmrt_sg sg[PA_LEN / PG];
	struct mmrt_as *as;
	struct mmrt_xlate x;
	struct mmrt_pin *p;
	uint64_t o, at;
	uint8_t *buf;
	int n, i;

	if (geteuid() != 0)
		cr_skip_test("IOVA-as-PA needs root (physical addresses)");
	if (nfree < PA_NEED_HUGEPAGES)
		cr_skip_test("no free 2 MiB hugepages (free: %ld, needed: %d):"
			" reserve with ./mmrt.sh hugepages reserve 512M",
			nfree, PA_NEED_HUGEPAGES);
	cr_assert_geq(mmrt_init(RTE_DIM(argv) - 1, argv), 0);
	if (rte_eal_iova_mode() != RTE_IOVA_PA) {
		mmrt_fini();
		cr_skip_test("DPDK did not run in IOVA-as-PA mode");
	}
	as = mmrt_as_create("ppa");
	cr_assert_not_null(as);
	buf = rte_malloc("pa", PA_LEN, HPG);
	cr_assert_not_null(buf);
	memset(buf, 0x2d, PA_LEN);
	/* 2 MiB leaves at VA, 4 KiB leaves at VB + PG */
	cr_assert_eq(mmrt_map_host(as, VA, buf, PA_LEN, RW, 0), 0);
	cr_assert_eq(mmrt_map_host(as, VB + PG, buf, PA_LEN, RW, 0), 0);
	for (o = 0; o < PA_LEN; o += PG) {
		rte_iova_t want = rte_mem_virt2iova(buf + o);

		cr_assert_neq(want, RTE_BAD_IOVA);
		cr_assert_eq(mmrt_translate(as, VA + o + 8, 0, &x), 0);
		cr_assert_eq(x.addr, buf + o + 8);
		cr_assert_eq(x.iova, want + 8, "+%#" PRIx64 ": iova %#"
			PRIx64 ", DPDK says %#" PRIx64, o, x.iova, want);
		cr_assert_eq(mmrt_translate(as, VB + PG + o, 0, &x), 0);
		cr_assert_eq(x.iova, want);
	}
	n = mmrt_translate_sg(as, VA, PA_LEN, 0, sg, RTE_DIM(sg));
	cr_assert_gt(n, 0);
	for (i = 0, at = 0; i < n; at += sg[i].len, i++)
		for (o = 0; o < sg[i].len; o += PG)
			cr_assert_eq(sg[i].iova + o,
				rte_mem_virt2iova(buf + at + o));
	cr_assert_eq(at, PA_LEN);
	cr_assert_eq(mmrt_pin(as, VB + PG, PA_LEN, MMRT_PIN_WRITE, &p), 0);
	n = mmrt_pin_sg(p, sg, RTE_DIM(sg));
	cr_assert_gt(n, 0);
	for (i = 0, at = 0; i < n; at += sg[i].len, i++)
		cr_assert_eq(sg[i].iova, rte_mem_virt2iova(buf + at));
	cr_assert_eq(mmrt_unpin(p), 0);
	{
		/* a consumer: such pages are not cached, each walk is right */
		const struct mmrt_consumer_conf cc = { .name = "ppa-c" };
		struct mmrt_consumer *c = mmrt_consumer_create(&cc);
		int k;

		cr_assert_not_null(c);
		cr_assert_gt(mmrt_consumer_bind(c, as), 0);
		cr_assert_eq(mmrt_thread_register(), 0);
		for (k = 0; k < 2; k++)
			for (o = 0; o < PA_LEN; o += HPG / 2) {
				cr_assert_eq(mmrt_consumer_translate(c,
					VB + PG + o, 0, &x), 0);
				cr_assert_eq(x.iova,
					rte_mem_virt2iova(buf + o));
				mmrt_consumer_poll(c);
			}
		cr_assert_eq(mmrt_thread_unregister(), 0);
		cr_assert_eq(mmrt_consumer_destroy(c), 0);
	}
	cr_assert_eq(mmrt_as_destroy(as), 0);
	rte_free(buf);
	mmrt_fini();
}
