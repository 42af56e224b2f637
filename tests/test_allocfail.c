/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Allocation-failure sweeps (test builds only: mmrt_test_fail_alloc_after()).
 *
 * For each public operation that allocates, N = 0, 1, 2, ...: build the
 * fixture, make the allocation after the first N fail, run the operation
 * once. It must either succeed (a fallback absorbed the failure: 4 KiB
 * frames for a huge one, a flush for a gather batch) or fail whole with
 * -ENOMEM (NULL with rte_errno ENOMEM): the frames in use, the rte_malloc
 * heap in use, the space's statistics and its contents are what they were
 * before, and the space still maps, writes and reads. Then everything is
 * destroyed and the pool and the heap must be back at their starting
 * values (nothing leaked). The sweep ends at the first N the operation
 * passes without reaching the failure.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include <mmrt_dev.h>
#include <swdma.h>
#include <mmrt_uffd.h>

#include "common.h"
#include "mm_gather.h"   /* mm_gather_cache_drain() (internal) */

#define VA (UINT64_C(1) << 30)            /* 16 pages RW, populated */
#define VA_C (VA + 32 * PG)               /* 16 pages RW, absent */
#define VA_H (UINT64_C(2) << 30)          /* 2 MiB huge RW, populated */
#define VA_O (UINT64_C(3) << 30)          /* the object, 16 pages */
#define VA_FREE (UINT64_C(4) << 30)       /* nothing mapped */
#define OBJ_PAGES 16
#define MAX_N 4096

struct fx {
	struct mmrt_as *as;
	struct mmrt_object *obj;
	struct mmrt_uffd *uffd;           /* made by some preps */
	struct mmrt_consumer *cons;
	struct swdma *dma;
	uint8_t *host;                    /* 16 pages, for map_host */
	struct mmrt_as *mirror;           /* made by the mirror preps */
	struct mmrt_as *mirror2;          /* a second one (rollback sweep) */
	bool ext;                         /* host registered as extmem */
	uint8_t buf[3 * PG];
};

/* What a failed operation must leave as it was. */
struct snap {
	uint64_t used;
	uint64_t heap;
	struct mmrt_as_stats st;
	uint64_t sum;
	uint64_t sum_obj;                 /* the whole object, unmapped view */
};

static struct fx fx;
static uint64_t base_used, base_heap;

static uint64_t
heap_used(void)
{
	/* The gather's cached batch may be swapped for a fresh one, whose
	 * allocator padding moves the count by up to 128 bytes without a
	 * leak (tests/fuzz/README.md): measure with the cache empty. */
	mm_gather_cache_drain();
	return mmrt_test_heap_bytes();
}

static uint64_t
checksum(uint64_t h, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * UINT64_C(1099511628211);
	return h;
}

static uint64_t
sum_space(void)
{
	static uint8_t b[HPG];
	uint64_t h = UINT64_C(1469598103934665603);

	cr_assert_eq(mmrt_read(fx.as, VA, b, 16 * PG), 0);
	h = checksum(h, b, 16 * PG);
	cr_assert_eq(mmrt_read(fx.as, VA_H, b, HPG), 0);
	h = checksum(h, b, HPG);
	/* the first half of the object only: the second is allocated on
	 * first use by the operations that test it */
	cr_assert_eq(mmrt_read(fx.as, VA_O, b, OBJ_PAGES / 2 * PG), 0);
	return checksum(h, b, OBJ_PAGES / 2 * PG);
}

static void
take(struct snap *s)
{
	static uint8_t b[OBJ_PAGES * PG];

	s->sum = sum_space();
	cr_assert_eq(mmrt_object_read(fx.obj, 0, b, sizeof(b)), 0);
	s->sum_obj = checksum(UINT64_C(1469598103934665603), b, sizeof(b));
	cr_assert_eq(mmrt_as_stats(fx.as, &s->st), 0);
	if (fx.mirror != NULL) {
		/* the mirror's tables are tables too (the rule below) */
		struct mmrt_as_stats ms;

		cr_assert_eq(mmrt_as_stats(fx.mirror, &ms), 0);
		s->st.pt_pages += ms.pt_pages;
	}
	if (fx.mirror2 != NULL) {
		struct mmrt_as_stats ms;

		cr_assert_eq(mmrt_as_stats(fx.mirror2, &ms), 0);
		s->st.pt_pages += ms.pt_pages;
	}
	s->used = mmrt_test_used();
	s->heap = heap_used();
}

/*
 * One gather batch cached per lcore: after the warm-up the cache holds
 * exactly one after every operation, so the heap in use comes back to
 * the same byte.
 */
static void
up(void)
{
	mmrt_test_up_ini(64, 1, "[mm]\ngather_batch_max = 1\n");
	cr_assert_geq(mmrt_thread_register(), 0);
	fx.host = aligned_alloc(PG, 16 * PG);
	cr_assert_not_null(fx.host);
	memset(fx.host, 0x5a, 16 * PG);
}

static void
fixture_up(void)
{
	unsigned int i;

	memset(fx.buf, 0, sizeof(fx.buf));
	fx.as = mmrt_as_create("af");
	cr_assert_not_null(fx.as);
	fx.obj = mmrt_object_create("af-obj", OBJ_PAGES * PG);
	cr_assert_not_null(fx.obj);
	cr_assert_eq(mmrt_map(fx.as, VA, 16 * PG, RW, MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_map(fx.as, VA_C, 16 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(fx.as, VA_H, HPG, RW,
		MMRT_MAP_HUGE | MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_map_object(fx.as, VA_O, OBJ_PAGES * PG, RW, 0,
		fx.obj, 0), 0);
	for (i = 0; i < sizeof(fx.buf); i++)
		fx.buf[i] = (uint8_t)(i * 13 + 7);
	cr_assert_eq(mmrt_write(fx.as, VA, fx.buf, sizeof(fx.buf)), 0);
	cr_assert_eq(mmrt_write(fx.as, VA_H + 100, fx.buf, sizeof(fx.buf)), 0);
	cr_assert_eq(mmrt_write(fx.as, VA_O + 5, fx.buf, sizeof(fx.buf)), 0);
}

static void
fixture_down(void)
{
	if (fx.cons != NULL)
		cr_assert_eq(mmrt_consumer_destroy(fx.cons), 0);
	if (fx.dma != NULL)
		cr_assert_eq(swdma_destroy(fx.dma), 0);
	if (fx.uffd != NULL)
		cr_assert_eq(mmrt_uffd_destroy(fx.uffd), 0);
	if (fx.ext) {
		cr_assert_eq(rte_extmem_unregister(fx.host, 16 * PG), 0);
		fx.ext = false;
	}
	if (fx.mirror != NULL) {
		cr_assert_eq(mmrt_as_destroy(fx.mirror), 0);
		fx.mirror = NULL;
	}
	if (fx.mirror2 != NULL) {
		cr_assert_eq(mmrt_as_destroy(fx.mirror2), 0);
		fx.mirror2 = NULL;
	}
	cr_assert_eq(mmrt_as_destroy(fx.as), 0);
	cr_assert_eq(mmrt_object_destroy(fx.obj), 0);
	fx.cons = NULL;
	fx.dma = NULL;
	fx.uffd = NULL;
	fx.as = NULL;
	fx.obj = NULL;
}

/* The space still works: map, write, read back, unmap a scratch page. */
static void
usable(const char *what, int64_t n)
{
	uint8_t w[64], r[64];

	memset(w, 0xc3, sizeof(w));
	cr_assert_eq(mmrt_map(fx.as, VA_FREE + 64 * PG, PG, RW, 0), 0,
		"%s N=%" PRId64 ": the space no longer maps", what, n);
	cr_assert_eq(mmrt_write(fx.as, VA_FREE + 64 * PG, w, sizeof(w)), 0);
	cr_assert_eq(mmrt_read(fx.as, VA_FREE + 64 * PG, r, sizeof(r)), 0);
	cr_assert_eq(memcmp(w, r, sizeof(r)), 0);
	cr_assert_eq(mmrt_unmap(fx.as, VA_FREE + 64 * PG, PG), 0);
}

struct sweep_op {
	const char *name;
	void (*prep)(void);      /* after the fixture, before the snapshot */
	int (*op)(void);         /* 0, or a negative errno */
	/* documented: a failed call may leave pages of its range faulted
	 * in (mmrt_write()) or allocated (mmrt_object_write()), with their
	 * contents unchanged */
	bool may_fault_in;
};

/*
 * The sweep. Returns the number of allocation sites the operation passes
 * when nothing fails.
 */
static uint64_t
sweep(const struct sweep_op *o)
{
	struct snap a, b;
	uint64_t sites = 0, fails = 0, absorbed = 0;
	int64_t n;
	bool hit;
	int rc;

	for (n = 0; n < MAX_N; n++) {
		fixture_up();
		if (o->prep != NULL)
			o->prep();
		take(&a);
		rte_errno = 0;
		mmrt_test_fail_alloc_after(n);
		rc = o->op();
		sites = mmrt_test_alloc_sites(&hit);
		mmrt_test_fail_alloc_after(-1);
		if (!hit) {
			cr_assert_eq(rc, 0, "%s: %d without an injected failure",
				o->name, rc);
		} else if (rc != 0) {
			cr_assert_eq(rc, -ENOMEM, "%s N=%" PRId64 ": %d (%s), "
				"not -ENOMEM", o->name, n, rc, strerror(-rc));
			take(&b);
			/*
			 * Page-table pages a failed fault or populate added
			 * stay in the table (as in the kernel): counted in
			 * pt_pages, freed with the range; every other frame
			 * must be back.
			 */
			cr_assert(b.used - b.st.pt_pages ==
				a.used - a.st.pt_pages || (o->may_fault_in &&
				b.used > a.used), "%s N=%" PRId64 ": %"
				PRIu64 " frames in use (%" PRIu64 " tables), %"
				PRIu64 " (%" PRIu64 ") before", o->name, n,
				b.used, b.st.pt_pages, a.used, a.st.pt_pages);
			cr_assert_eq(b.heap, a.heap, "%s N=%" PRId64 ": heap %"
				PRIu64 " bytes in use, %" PRIu64 " before",
				o->name, n, b.heap, a.heap);
			cr_assert_eq(b.st.regions, a.st.regions, "%s N=%"
				PRId64 ": regions", o->name, n);
			cr_assert_eq(b.st.mapped_bytes, a.st.mapped_bytes,
				"%s N=%" PRId64 ": mapped_bytes", o->name, n);
			cr_assert_eq(b.st.pinned_pages, a.st.pinned_pages,
				"%s N=%" PRId64 ": pinned_pages", o->name, n);
			cr_assert(b.st.rss_pages == a.st.rss_pages ||
				(o->may_fault_in && b.st.rss_pages >
				a.st.rss_pages), "%s N=%" PRId64 ": rss_pages",
				o->name, n);
			cr_assert_eq(b.sum, a.sum, "%s N=%" PRId64
				": contents changed", o->name, n);
			cr_assert_eq(b.sum_obj, a.sum_obj, "%s N=%" PRId64
				": object contents changed", o->name, n);
			usable(o->name, n);
			fails++;
		} else {
			absorbed++;
		}
		fixture_down();
		cr_assert_eq(mmrt_test_used(), base_used, "%s N=%" PRId64
			": %" PRIu64 " frames in use after teardown, %" PRIu64
			" at start", o->name, n, mmrt_test_used(), base_used);
		cr_assert_eq(heap_used(), base_heap, "%s N=%" PRId64 ": heap %"
			PRIu64 " bytes after teardown, %" PRIu64 " at start",
			o->name, n, heap_used(), base_heap);
		if (!hit)
			break;
	}
	cr_assert_lt(n, MAX_N, "%s: still failing at N=%d", o->name, MAX_N);
	cr_log_info("%s: %" PRIu64 " allocation sites; %" PRIu64 " failed "
		"whole with -ENOMEM, %" PRIu64 " absorbed", o->name, sites,
		fails, absorbed);
	printf("allocfail %s: %" PRIu64 " sites, %" PRIu64 " -ENOMEM, %"
		PRIu64 " absorbed\n", o->name, sites, fails, absorbed);
	return sites;
}

/* ---- the operations ---- */

static int
ptr_rc(void *p)
{
	if (p != NULL)
		return 0;
	return rte_errno != 0 ? -rte_errno : -EIO;
}

static int
op_as_create(void)
{
	struct mmrt_as *as = mmrt_as_create("af-new");

	if (as != NULL)
		cr_assert_eq(mmrt_as_destroy(as), 0);
	return ptr_rc(as);
}

static int
op_fork(void)
{
	struct mmrt_as *c = mmrt_as_fork(fx.as, "af-child");
	uint8_t b[64];

	if (c == NULL)
		return ptr_rc(c);
	cr_assert_eq(mmrt_read(c, VA, b, sizeof(b)), 0);
	cr_assert_eq(memcmp(b, fx.buf, sizeof(b)), 0);
	cr_assert_eq(mmrt_as_destroy(c), 0);
	return 0;
}

/* 12 more regions: the fixture's 4 fill the region array's first 16
 * slots, so the next split or map grows it (rte_realloc) */
static void
prep_regions_full(void)
{
	unsigned int i;

	for (i = 0; i < 12; i++)
		cr_assert_eq(mmrt_map(fx.as, VA_FREE + (100 + 2 * i) * PG, PG,
			RW, 0), 0);
}

/* ... and one more, unmapped again: the array has grown (to 32), so the
 * operation's failures show its own allocations only */
static void
prep_regions_grown(void)
{
	prep_regions_full();
	cr_assert_eq(mmrt_map(fx.as, VA_FREE + 200 * PG, PG, RW, 0), 0);
	cr_assert_eq(mmrt_unmap(fx.as, VA_FREE + 200 * PG, PG), 0);
}

static int
op_map(void)
{
	return mmrt_map(fx.as, VA_FREE, 64 * PG, RW, 0);
}

static int
op_map_populate(void)
{
	return mmrt_map(fx.as, VA_FREE, 64 * PG, RW, MMRT_MAP_POPULATE);
}

static int
op_map_huge_populate(void)
{
	return mmrt_map(fx.as, VA_FREE, HPG, RW,
		MMRT_MAP_HUGE | MMRT_MAP_POPULATE);
}

static int
op_fault_write(void)
{
	return mmrt_fault(fx.as, VA_C + 3 * PG, MMRT_ACCESS_WRITE);
}

static void
prep_far(void)
{
	cr_assert_eq(mmrt_map(fx.as, UINT64_C(1) << 40, PG, RW, 0), 0);
}

/* a page whose tables do not exist yet: tables at three levels */
static int
op_fault_far_only(void)
{
	return mmrt_fault(fx.as, UINT64_C(1) << 40, MMRT_ACCESS_WRITE);
}

static int
op_write(void)
{
	return mmrt_write(fx.as, VA_C + PG - 8, fx.buf, 2 * PG + 16);
}

static int
op_object_fault(void)
{
	static const uint8_t b[16] = { 1, 2, 3 };

	/* an object page not allocated yet */
	return mmrt_write(fx.as, VA_O + 9 * PG, b, sizeof(b));
}

static int
op_protect_split(void)
{
	return mmrt_protect(fx.as, VA + 4 * PG, 2 * PG, MMRT_PROT_READ);
}

static int
op_protect_huge_split(void)
{
	return mmrt_protect(fx.as, VA_H + 8 * PG, PG, MMRT_PROT_READ);
}

static int
op_unmap_middle(void)
{
	return mmrt_unmap(fx.as, VA + 4 * PG, 2 * PG);
}

static int
op_unmap_huge_part(void)
{
	return mmrt_unmap(fx.as, VA_H + 8 * PG, PG);
}

static int
op_advise(void)
{
	return mmrt_advise(fx.as, VA + 2 * PG, 4 * PG, MMRT_ADV_DONTNEED);
}

/* 1024 present pages: the gather needs batches beyond its own */
static void
prep_large(void)
{
	cr_assert_eq(mmrt_map(fx.as, VA_FREE, 1024 * PG, RW,
		MMRT_MAP_POPULATE), 0);
}

static int
op_advise_large(void)
{
	return mmrt_advise(fx.as, VA_FREE, 1024 * PG, MMRT_ADV_DONTNEED);
}

static int
op_unmap_large(void)
{
	return mmrt_unmap(fx.as, VA_FREE, 1024 * PG);
}

static int
op_remap(void)
{
	return mmrt_remap(fx.as, VA, 16 * PG, VA_FREE);
}

static void
prep_merge(void)
{
	cr_assert_eq(mmrt_write(fx.as, VA + 8 * PG, fx.buf, PG), 0);
	cr_assert_eq(mmrt_write(fx.as, VA + 10 * PG, fx.buf, PG), 0);
}

static int
op_merge(void)
{
	return mmrt_merge(fx.as, VA + 8 * PG, fx.as, VA + 10 * PG);
}

static int
op_map_host(void)
{
	return mmrt_map_host(fx.as, VA_FREE, fx.host, 16 * PG, RW, 0);
}

static int
op_mirror(void)
{
	struct mmrt_as *m = mmrt_as_mirror_dpdk("af-mirror");

	if (m != NULL)
		cr_assert_eq(mmrt_as_destroy(m), 0);
	return ptr_rc(m);
}

static int
op_object_create(void)
{
	struct mmrt_object *o = mmrt_object_create("af-obj2", 64 * PG);

	if (o != NULL)
		cr_assert_eq(mmrt_object_destroy(o), 0);
	return ptr_rc(o);
}

static int
op_map_object(void)
{
	return mmrt_map_object(fx.as, VA_FREE, 4 * PG, RW, 0, fx.obj, 0);
}

static int
op_object_write(void)
{
	return mmrt_object_write(fx.obj, 10 * PG + 5, fx.buf, 2 * PG);
}

static int
op_uffd_create(void)
{
	uint64_t feat = 0;
	struct mmrt_uffd *u = mmrt_uffd_create(fx.as, MMRT_UFFD_API, &feat,
		NULL);

	if (u != NULL)
		cr_assert_eq(mmrt_uffd_destroy(u), 0);
	return ptr_rc(u);
}

static void
prep_uffd(void)
{
	uint64_t feat = 0;

	fx.uffd = mmrt_uffd_create(fx.as, MMRT_UFFD_API, &feat, NULL);
	cr_assert_not_null(fx.uffd);
}

static int
op_uffd_register(void)
{
	/* the middle of a region: two splits */
	return mmrt_uffd_register(fx.uffd, VA_C + 4 * PG, 4 * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL);
}

static void
prep_uffd_full(void)
{
	prep_regions_full();
	prep_uffd();
}

static void
prep_uffd_registered(void)
{
	prep_uffd();
	cr_assert_eq(mmrt_map(fx.as, UINT64_C(1) << 40, PG, RW, 0), 0);
	cr_assert_eq(mmrt_uffd_register(fx.uffd, VA_C, 16 * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL), 0);
	cr_assert_eq(mmrt_uffd_register(fx.uffd, UINT64_C(1) << 40, PG,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL), 0);
}

static int
op_uffd_copy(void)
{
	struct mmrt_uffd_copy c = {
		.dst = VA_C + 2 * PG, .src = fx.buf, .len = PG,
	};
	int rc = mmrt_uffd_copy(fx.uffd, &c);

	/* one page: whole or nothing (a longer fill may stop part way,
	 * -EAGAIN with the bytes done, as the kernel's) */
	cr_assert_eq(c.copy, rc == 0 ? (int64_t)PG : rc);
	return rc;
}

static int
op_uffd_zeropage(void)
{
	struct mmrt_uffd_zeropage z = {
		.range = { .start = UINT64_C(1) << 40, .len = PG },
	};
	int rc = mmrt_uffd_zeropage(fx.uffd, &z);

	cr_assert_eq(z.zeropage, rc == 0 ? (int64_t)PG : rc);
	return rc;
}

/*
 * The other uffd operations that may allocate (page-table pages): a uffd
 * with the features they need, over two far ranges whose tables do not
 * exist yet, MISSING at VA_FAR1 and MISSING | WP at VA_FAR2.
 */
#define VA_FAR1 (UINT64_C(1) << 41)
#define VA_FAR2 (UINT64_C(1) << 42)

static void
prep_uffd_far(void)
{
	uint64_t feat = MMRT_UFFD_FEATURE_POISON | MMRT_UFFD_FEATURE_MOVE |
		MMRT_UFFD_FEATURE_PAGEFAULT_FLAG_WP |
		MMRT_UFFD_FEATURE_WP_UNPOPULATED;

	fx.uffd = mmrt_uffd_create(fx.as, MMRT_UFFD_API, &feat, NULL);
	cr_assert_not_null(fx.uffd);
	cr_assert_eq(mmrt_map(fx.as, VA_FAR1, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(fx.as, VA_FAR2, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_uffd_register(fx.uffd, VA_FAR1, 4 * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL), 0);
	cr_assert_eq(mmrt_uffd_register(fx.uffd, VA_FAR2, 4 * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING |
		MMRT_UFFD_REGISTER_MODE_WP, NULL), 0);
}

static int
op_uffd_poison(void)
{
	struct mmrt_uffd_poison p = {
		.range = { .start = VA_FAR1, .len = 2 * PG },
	};
	int rc = mmrt_uffd_poison(fx.uffd, &p);

	/* a partial poison is -EAGAIN with the bytes done; the first page
	 * needs the tables, so a failure there is whole */
	cr_assert(rc == 0 || p.updated == rc, "poison %d, updated %" PRId64,
		rc, p.updated);
	return rc;
}

static int
op_uffd_writeprotect(void)
{
	/* markers on empty entries: the tables are made */
	const struct mmrt_uffd_writeprotect w = {
		.range = { .start = VA_FAR2, .len = 4 * PG },
		.mode = MMRT_UFFD_MODE_WP,
	};

	return mmrt_uffd_writeprotect(fx.uffd, &w);
}

static int
op_uffd_move(void)
{
	/* a populated page of VA into the far range, whose tables are not
	 * there yet; on failure it stays where it was (the snapshot) */
	struct mmrt_uffd_move m = {
		.dst = VA_FAR1, .src = VA + 2 * PG, .len = PG,
	};
	int rc = mmrt_uffd_move(fx.uffd, &m);

	cr_assert_eq(m.move, rc == 0 ? (int64_t)PG : rc);
	if (rc == 0) {
		uint8_t b[64];

		cr_assert_eq(mmrt_read(fx.as, VA_FAR1, b, sizeof(b)), 0);
		cr_assert_eq(memcmp(b, fx.buf + 2 * PG, sizeof(b)), 0,
			"the moved page's bytes");
	}
	return rc;
}

/* MINOR: the object mapped again far away, its page 0 there already */
#define VA_FAR3 (UINT64_C(1) << 43)

static void
prep_uffd_minor(void)
{
	uint64_t feat = MMRT_UFFD_FEATURE_MINOR_SHMEM;

	fx.uffd = mmrt_uffd_create(fx.as, MMRT_UFFD_API, &feat, NULL);
	cr_assert_not_null(fx.uffd);
	cr_assert_eq(mmrt_map_object(fx.as, VA_FAR3, OBJ_PAGES * PG, RW, 0,
		fx.obj, 0), 0);
	cr_assert_eq(mmrt_uffd_register(fx.uffd, VA_FAR3, OBJ_PAGES * PG,
		MMRT_UFFD_REGISTER_MODE_MINOR, NULL), 0);
}

static int
op_uffd_continue(void)
{
	struct mmrt_uffd_continue c = {
		.range = { .start = VA_FAR3, .len = PG },
	};
	int rc = mmrt_uffd_continue(fx.uffd, &c);

	cr_assert_eq(c.mapped, rc == 0 ? (int64_t)PG : rc);
	if (rc == 0) {
		uint8_t b[64];

		/* the fixture wrote fx.buf at byte 5 of the object */
		cr_assert_eq(mmrt_read(fx.as, VA_FAR3 + 5, b, sizeof(b)), 0);
		cr_assert_eq(memcmp(b, fx.buf, sizeof(b)), 0,
			"the object's bytes through the new mapping");
	}
	return rc;
}

/* Reverse lookup: the VAs that map a pool frame (its scan list grows) */
static int
op_host_lookup(void)
{
	struct mmrt_xlate x;
	int rc;

	cr_assert_eq(mmrt_translate(fx.as, VA + 2 * PG, MMRT_ACCESS_READ, &x),
		0);
	rc = mmrt_host_lookup(x.addr, NULL, NULL);
	if (rc >= 0)
		cr_assert_eq(rc, 1, "one VA maps the frame: %d", rc);
	return rc > 0 ? 0 : rc;
}

/* The mirror's external memory: a dma map and a sync of bare extmem. */
#define EXT_IOVA (UINT64_C(1) << 44)

static void
prep_mirror(void)
{
	fx.mirror = mmrt_as_mirror_dpdk("af-mirror");
	cr_assert_not_null(fx.mirror);
}

static int
op_mirror_dma_map(void)
{
	struct mmrt_xlate x;
	int rc = mmrt_mirror_dma_map(fx.host, EXT_IOVA, 16 * PG);

	if (rc == 0) {
		cr_assert_eq(mmrt_translate(fx.mirror, EXT_IOVA + 5 * PG,
			MMRT_ACCESS_READ, &x), 0);
		cr_assert_eq(x.addr, fx.host + 5 * PG);
		cr_assert_eq(mmrt_mirror_dma_unmap(fx.host, EXT_IOVA, 16 * PG),
			0);
	} else {
		cr_assert_neq(mmrt_translate(fx.mirror, EXT_IOVA,
			MMRT_ACCESS_READ, &x), 0, "a failed map left a page");
	}
	return rc;
}

/*
 * Two mirrors: a map is given to each in turn, so a failure in the
 * second one's tables must take the range back out of the first.
 */
static void
prep_mirror_two(void)
{
	prep_mirror();
	fx.mirror2 = mmrt_as_mirror_dpdk("af-mirror2");
	cr_assert_not_null(fx.mirror2);
}

static int
op_mirror_dma_map_two(void)
{
	struct mmrt_xlate x;
	int rc = mmrt_mirror_dma_map(fx.host, EXT_IOVA, 16 * PG);

	if (rc == 0) {
		cr_assert_eq(mmrt_translate(fx.mirror2, EXT_IOVA + 9 * PG,
			MMRT_ACCESS_READ, &x), 0);
		cr_assert_eq(x.addr, fx.host + 9 * PG);
		cr_assert_eq(mmrt_mirror_dma_unmap(fx.host, EXT_IOVA, 16 * PG),
			0);
	}
	/* after a failure, or after the unmap, neither mirror keeps a page */
	cr_assert_neq(mmrt_translate(fx.mirror, EXT_IOVA, MMRT_ACCESS_READ,
		&x), 0, "mirror 1 kept a page (rc %d)", rc);
	cr_assert_neq(mmrt_translate(fx.mirror2, EXT_IOVA + 15 * PG,
		MMRT_ACCESS_READ, &x), 0, "mirror 2 kept a page (rc %d)", rc);
	return rc;
}

static void
prep_mirror_ext(void)
{
	rte_iova_t iovas[16];
	unsigned int i;

	prep_mirror();
	for (i = 0; i < 16; i++)
		iovas[i] = EXT_IOVA + (uint64_t)i * PG;
	cr_assert_eq(rte_extmem_register(fx.host, 16 * PG, iovas, 16, PG), 0,
		"rte_extmem_register: %d", rte_errno);
	fx.ext = true;
}

static int
op_mirror_sync(void)
{
	struct mmrt_xlate x;
	int rc = mmrt_as_mirror_sync(fx.mirror);

	if (rc == 0) {
		cr_assert_eq(mmrt_translate(fx.mirror, EXT_IOVA + 5 * PG,
			MMRT_ACCESS_READ, &x), 0);
		cr_assert_eq(x.addr, fx.host + 5 * PG);
		/* and taken back: unregistered, synced again */
		cr_assert_eq(rte_extmem_unregister(fx.host, 16 * PG), 0);
		fx.ext = false;
		cr_assert_eq(mmrt_as_mirror_sync(fx.mirror), 0);
	}
	return rc;
}

static int
op_consumer_create(void)
{
	struct mmrt_consumer_conf cc = { .name = "af-cons" };
	struct mmrt_consumer *c = mmrt_consumer_create(&cc);

	if (c != NULL)
		cr_assert_eq(mmrt_consumer_destroy(c), 0);
	return ptr_rc(c);
}

static void
prep_consumer(void)
{
	struct mmrt_consumer_conf cc = { .name = "af-cons" };

	fx.cons = mmrt_consumer_create(&cc);
	cr_assert_not_null(fx.cons);
}

static int
op_consumer_bind(void)
{
	int rc = mmrt_consumer_bind(fx.cons, fx.as);

	if (rc > 0) {
		cr_assert_eq(mmrt_consumer_unbind(fx.cons), 0);
		rc = 0;
	}
	return rc;
}

static void
prep_consumer_bound(void)
{
	prep_consumer();
	cr_assert_gt(mmrt_consumer_bind(fx.cons, fx.as), 0);
	cr_assert_geq(mmrt_consumer_poll(fx.cons), 0);
}

static int
op_consumer_translate(void)
{
	struct mmrt_xlate x;
	int rc;

	/* a miss on an absent page: the fault probe fills it in place */
	rc = mmrt_consumer_translate(fx.cons, VA_C + 5 * PG,
		MMRT_ACCESS_WRITE, &x);
	if (rc == -EAGAIN) {
		/* queued as a page request: serve it */
		cr_assert_geq(mmrt_consumer_serve_faults(fx.cons, 4), 0);
		rc = mmrt_consumer_translate(fx.cons, VA_C + 5 * PG,
			MMRT_ACCESS_WRITE, &x);
	}
	return rc;
}

static int
op_swdma_create(void)
{
	struct swdma_conf dc = { .name = "af-dma", .nb_desc = 64 };
	struct swdma *d = swdma_create(&dc);

	if (d != NULL)
		cr_assert_eq(swdma_destroy(d), 0);
	return ptr_rc(d);
}

static void
prep_swdma(void)
{
	struct swdma_conf dc = { .name = "af-dma", .nb_desc = 64 };

	fx.dma = swdma_create(&dc);
	cr_assert_not_null(fx.dma);
}

static int
op_swdma_bind(void)
{
	int rc = swdma_bind(fx.dma, fx.as);

	if (rc > 0) {
		cr_assert_eq(swdma_unbind(fx.dma), 0);
		rc = 0;
	}
	return rc;
}

/* Pin absent pages for write (each faulted in), then a huge leaf. */
static int
op_pin(void)
{
	struct mmrt_pin *p = NULL, *h = NULL;
	struct mmrt_as_stats st;
	int rc;

	rc = mmrt_pin(fx.as, VA_C, 16 * PG, MMRT_PIN_WRITE, &p);
	if (rc != 0) {
		cr_assert_null(p, "a failed pin set *out");
		return rc;
	}
	rc = mmrt_pin(fx.as, VA_H, HPG, 0, &h);
	if (rc == 0) {
		cr_assert_eq(mmrt_as_stats(fx.as, &st), 0);
		cr_assert_eq(st.pinned_pages, 16 + HPG / PG);
		cr_assert_eq(mmrt_unpin(h), 0);
	} else {
		cr_assert_null(h, "a failed pin set *out");
	}
	cr_assert_eq(mmrt_unpin(p), 0);
	return rc;
}

/* The populated pages, the huge leaf, the object's pages read in. */
static int
op_translate_sg(void)
{
	struct mmrt_sg sg[40];
	int rc;

	rc = mmrt_translate_sg(fx.as, VA + 3, 16 * PG - 3, MMRT_ACCESS_READ,
		sg, RTE_DIM(sg));
	if (rc < 0)
		return rc;
	cr_assert_geq(rc, 1);
	rc = mmrt_translate_sg(fx.as, VA_H, HPG, MMRT_ACCESS_WRITE, sg,
		RTE_DIM(sg));
	if (rc < 0)
		return rc;
	cr_assert_eq(rc, 1, "a huge leaf is one segment");
	rc = mmrt_translate_sg(fx.as, VA_O, 3 * PG, MMRT_ACCESS_READ, NULL,
		0);
	return rc < 0 ? rc : 0;
}

/* Harvest a range of small pages and a huge leaf, all written. */
static int
op_dirty_harvest(void)
{
	uint64_t bm[HPG / PG / 64], bm0[RTE_DIM(bm)];
	int64_t n;

	memset(bm, 0, sizeof(bm));
	n = mmrt_dirty_harvest(fx.as, VA, 16 * PG, bm, 16, 0);
	if (n < 0) {
		cr_assert_eq(bm[0], 0, "a failed harvest changed the bitmap");
		return (int)n;
	}
	memset(bm, 0, sizeof(bm));
	memset(bm0, 0, sizeof(bm0));
	n = mmrt_dirty_harvest(fx.as, VA_H, HPG, bm, HPG / PG, 0);
	if (n < 0) {
		cr_assert_eq(memcmp(bm, bm0, sizeof(bm)), 0,
			"a failed harvest changed the bitmap");
		return (int)n;
	}
	n = mmrt_dirty_clear(fx.as, VA_O, OBJ_PAGES * PG);
	return n < 0 ? (int)n : 0;
}

/* A file-backed object: create it, read a page in, map and fault one. */
static int
op_object_create_fd(void)
{
	struct mmrt_object *o;
	uint8_t b[64];
	int fd, rc;

	fd = memfd_create("af-fd", 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, fx.buf, sizeof(fx.buf), 0),
		(ssize_t)sizeof(fx.buf));
	o = mmrt_object_create_fd("af-fdobj", fd, 0, 8 * PG, 0);
	close(fd);
	if (o == NULL)
		return ptr_rc(o);
	rc = mmrt_object_read(o, PG, b, sizeof(b));
	if (rc == 0) {
		cr_assert_eq(memcmp(b, fx.buf + PG, sizeof(b)), 0);
		rc = mmrt_map_object(fx.as, VA_FREE, 8 * PG, RW, 0, o, 0);
	}
	if (rc == 0) {
		rc = mmrt_read(fx.as, VA_FREE + 2 * PG, b, sizeof(b));
		if (rc == 0)
			cr_assert_eq(memcmp(b, fx.buf + 2 * PG, sizeof(b)), 0);
		cr_assert_eq(mmrt_unmap(fx.as, VA_FREE, 8 * PG), 0);
	}
	cr_assert_eq(mmrt_object_destroy(o), 0);
	return rc;
}

static const struct sweep_op ops[] = {
	{ "as_create", NULL, op_as_create, false },
	{ "as_fork", NULL, op_fork, false },
	{ "map", prep_regions_full, op_map, false },
	{ "map_populate", NULL, op_map_populate, false },
	{ "map_huge_populate", NULL, op_map_huge_populate, false },
	{ "fault_write", NULL, op_fault_write, false },
	{ "fault_new_tables", prep_far, op_fault_far_only, false },
	{ "write_pages", NULL, op_write, true },
	{ "object_page_in", NULL, op_object_fault, false },
	{ "protect_split", prep_regions_full, op_protect_split, false },
	{ "protect_huge_split", NULL, op_protect_huge_split, false },
	{ "unmap_middle", prep_regions_full, op_unmap_middle, false },
	{ "unmap_huge_part", NULL, op_unmap_huge_part, false },
	{ "advise_dontneed", NULL, op_advise, false },
	{ "remap", prep_regions_grown, op_remap, false },
	{ "advise_large", prep_large, op_advise_large, false },
	{ "unmap_large", prep_large, op_unmap_large, false },
	{ "merge", prep_merge, op_merge, false },
	{ "map_host", prep_regions_grown, op_map_host, false },
	{ "as_mirror_dpdk", NULL, op_mirror, false },
	{ "object_create", NULL, op_object_create, false },
	{ "map_object", prep_regions_full, op_map_object, false },
	{ "object_write", NULL, op_object_write, true },
	{ "uffd_create", NULL, op_uffd_create, false },
	{ "uffd_register", prep_uffd_full, op_uffd_register, false },
	{ "uffd_copy", prep_uffd_registered, op_uffd_copy, false },
	{ "uffd_zeropage", prep_uffd_registered, op_uffd_zeropage, false },
	{ "consumer_create", NULL, op_consumer_create, false },
	{ "consumer_bind", prep_consumer, op_consumer_bind, false },
	{ "consumer_translate", prep_consumer_bound, op_consumer_translate, false },
	{ "swdma_create", NULL, op_swdma_create, false },
	{ "swdma_bind", prep_swdma, op_swdma_bind, false },
	{ "pin", NULL, op_pin, true },
	{ "translate_sg", NULL, op_translate_sg, false },
	{ "dirty_harvest", NULL, op_dirty_harvest, false },
	{ "object_create_fd", NULL, op_object_create_fd, false },
	{ "uffd_poison", prep_uffd_far, op_uffd_poison, false },
	{ "uffd_writeprotect", prep_uffd_far, op_uffd_writeprotect, false },
	{ "uffd_move", prep_uffd_far, op_uffd_move, false },
	{ "uffd_continue", prep_uffd_minor, op_uffd_continue, false },
	{ "host_lookup", NULL, op_host_lookup, false },
	{ "mirror_dma_map", prep_mirror, op_mirror_dma_map, false },
	{ "mirror_sync", prep_mirror_ext, op_mirror_sync, false },
	{ "mirror_dma_map_two", prep_mirror_two, op_mirror_dma_map_two,
		false },
};

static void
run_sweep(const char *name)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(ops); i++)
		if (strcmp(ops[i].name, name) == 0)
			break;
	cr_assert_lt(i, RTE_DIM(ops), "no operation %s", name);
	up();
	/* warm-up: a gather of more than one batch fills the batch cache */
	fixture_up();
	cr_assert_eq(mmrt_map(fx.as, VA_FREE, 1024 * PG, RW,
		MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_unmap(fx.as, VA_FREE, 1024 * PG), 0);
	fixture_down();
	base_used = mmrt_test_used();
	base_heap = heap_used();
	sweep(&ops[i]);
	free(fx.host);
	cr_assert_eq(mmrt_thread_unregister(), 0);
	mmrt_test_down();
}

#define SWEEP(id) \
	Test(allocfail, id, .timeout = 600) { run_sweep(#id); }

SWEEP(as_create)
SWEEP(as_fork)
SWEEP(map)
SWEEP(map_populate)
SWEEP(map_huge_populate)
SWEEP(fault_write)
SWEEP(fault_new_tables)
SWEEP(write_pages)
SWEEP(object_page_in)
SWEEP(protect_split)
SWEEP(protect_huge_split)
SWEEP(unmap_middle)
SWEEP(unmap_huge_part)
SWEEP(advise_dontneed)
SWEEP(remap)
SWEEP(advise_large)
SWEEP(unmap_large)
SWEEP(merge)
SWEEP(map_host)
SWEEP(as_mirror_dpdk)
SWEEP(object_create)
SWEEP(map_object)
SWEEP(object_write)
SWEEP(uffd_create)
SWEEP(uffd_register)
SWEEP(uffd_copy)
SWEEP(uffd_zeropage)
SWEEP(consumer_create)
SWEEP(consumer_bind)
SWEEP(consumer_translate)
SWEEP(swdma_create)
SWEEP(swdma_bind)
SWEEP(pin)
SWEEP(translate_sg)
SWEEP(dirty_harvest)
SWEEP(object_create_fd)
SWEEP(uffd_poison)
SWEEP(uffd_writeprotect)
SWEEP(uffd_move)
SWEEP(uffd_continue)
SWEEP(host_lookup)
SWEEP(mirror_dma_map)
SWEEP(mirror_sync)
SWEEP(mirror_dma_map_two)
