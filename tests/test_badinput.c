/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Bad input to every public function of mmrt_mem.h and mmrt_mm.h, and to
 * the listing and naming calls of mmrt_core.h, mmrt_uffd.h, mmrt_dev.h,
 * and mmrt_dma_mmrt_stats() (mmrt_dma_mmrt.h).
 *
 * Table-driven: each case is one call with one bad argument and the
 * negative errno (or NULL + rte_errno, or invalid value) its header
 * documents. Each case runs in its own process (a parameterized test) on
 * the same fixture, and must change nothing: the statistics of the
 * fixture's address spaces, the frames in use, the translations and the
 * contents of its pages and of its objects are compared before and after.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/parameterized.h>
#include <rte_dev.h>
#include <rte_dmadev.h>
#include <rte_errno.h>

#include <mmrt_dev.h>
#include <mmrt_dma_mmrt.h>
#include <mmrt_uffd.h>

#include "common.h"

#define POOL_MB 32

/* Fixture layout of "bad-as". */
#define VA_RW (UINT64_C(1) << 30)          /* 8 pages RW, populated */
#define VA_HOLE (VA_RW + 8 * PG)           /* 8 pages hole */
#define VA_RO (VA_RW + 16 * PG)            /* 4 pages R, populated */
#define VA_EDGE (VA_RW + 24 * PG)          /* 1 page RW, populated, then */
#define VA_EDGE_RO (VA_EDGE + PG)          /* 1 page R, populated, then */
#define VA_EDGE_NONE (VA_EDGE + 2 * PG)    /* 1 page PROT_NONE */
#define VA_ABS (VA_RW + 32 * PG)           /* 4 pages RW, not populated */
#define VA_FREE (VA_RW + 64 * PG)          /* nothing mapped from here on */
#define VA_HUGE (UINT64_C(2) << 30)        /* 2 MiB huge RW, populated */
#define VA_OBJ (UINT64_C(3) << 30)         /* bad-obj, 16 pages RW */
#define OBJ_SIZE (16 * PG)
#define LONG_NAME "a-name-of-thirty-two-characters!"

struct fix {
	struct mmrt_as *as;
	struct mmrt_as *as2;       /* "bad-as2": 4 pages RW at VA_RW */
	struct mmrt_as *dead;      /* destroyed */
	struct mmrt_object *obj;   /* mapped at VA_OBJ in as */
	struct mmrt_object *obj2;  /* not mapped */
	struct mmrt_object *deadobj;
	struct mmrt_consumer *deadcons; /* destroyed */
	int16_t dmm;               /* dma_mmrt_bad: on bad-as, stopped */
	int16_t deaddmm;           /* a dma_mmrt device closed */
	struct mmrt_dma_mmrt_stats dmm_st; /* its stats' output */
	uint32_t free_pfn;         /* a frame in the pool */
	uint64_t base;             /* frames used before the fixture */
	uint8_t buf[4 * PG] __rte_aligned(64);
	struct mmrt_xlate xout;    /* translate's output: any contents */
	struct mmrt_fault_token tok; /* mmrt_fault_request_token's output */
};

static struct fix fx;

/* Host memory for mmrt_map_host(): 4 KiB aligned, never mapped. */
static uint8_t host[4 * PG] __rte_aligned(PG);

/* What must not change. */
struct snap {
	struct mmrt_as_stats st;
	struct mmrt_as_stats st2;
	uint64_t used;
	int xrc[5];
	uint32_t xpfn[5];
	uint32_t xprot[5];
	uint64_t sum_rw;
	uint64_t sum_ro;
	uint64_t sum_huge;
	uint64_t sum_as2;
	uint64_t sum_obj;
	uint64_t sum_obj2;
	uint64_t sum_edge;
	uint64_t sum_buf;          /* fx.buf: reads that fail leave it alone */
	uint64_t obj_size;
};

static uint64_t
checksum(const uint8_t *p, size_t len)
{
	uint64_t h = UINT64_C(1469598103934665603);
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * UINT64_C(1099511628211);
	return h;
}

static uint64_t
sum_as(struct mmrt_as *as, uint64_t va, size_t len)
{
	static uint8_t b[HPG];
	int rc;

	rc = mmrt_read(as, va, b, len);
	cr_assert_eq(rc, 0, "fixture read at %#" PRIx64 ": %d", va, rc);
	return checksum(b, len);
}

static uint64_t
sum_obj(struct mmrt_object *obj)
{
	static uint8_t b[OBJ_SIZE];

	cr_assert_eq(mmrt_object_read(obj, 0, b, OBJ_SIZE), 0);
	return checksum(b, OBJ_SIZE);
}

static void
take_snap(struct snap *s)
{
	static const uint64_t xva[5] = {
		VA_RW + PG, VA_RO, VA_ABS, VA_HUGE + 5 * PG, VA_OBJ + 3 * PG,
	};
	unsigned int i;

	memset(s, 0, sizeof(*s));
	cr_assert_eq(mmrt_as_stats(fx.as, &s->st), 0);
	cr_assert_eq(mmrt_as_stats(fx.as2, &s->st2), 0);
	for (i = 0; i < RTE_DIM(xva); i++) {
		struct mmrt_xlate x;

		memset(&x, 0, sizeof(x));
		s->xrc[i] = mmrt_translate(fx.as, xva[i], MMRT_ACCESS_READ, &x);
		s->xpfn[i] = s->xrc[i] == 0 ? x.pfn : 0;
		s->xprot[i] = s->xrc[i] == 0 ? x.prot : 0;
	}
	s->sum_rw = sum_as(fx.as, VA_RW, 8 * PG);
	s->sum_ro = sum_as(fx.as, VA_RO, 4 * PG);
	s->sum_huge = sum_as(fx.as, VA_HUGE, HPG);
	s->sum_as2 = sum_as(fx.as2, VA_RW, 4 * PG);
	s->sum_obj = sum_obj(fx.obj);
	s->sum_obj2 = sum_obj(fx.obj2);
	s->sum_edge = sum_as(fx.as, VA_EDGE, 2 * PG);
	s->sum_buf = checksum(fx.buf, sizeof(fx.buf));
	s->obj_size = mmrt_object_size(fx.obj);
	s->used = mmrt_test_used();
}

static void
fill(uint8_t *b, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(seed + i * 7 + (i / PG) * 31);
}

static void
fixture_up(void)
{
	static uint8_t b[HPG];
	int64_t pfn;

	fx.base = mmrt_test_used();
	fx.as = mmrt_as_create("bad-as");
	fx.as2 = mmrt_as_create("bad-as2");
	fx.dead = mmrt_as_create("bad-dead");
	cr_assert(fx.as != NULL && fx.as2 != NULL && fx.dead != NULL);
	cr_assert_eq(mmrt_as_destroy(fx.dead), 0);
	fx.obj = mmrt_object_create("bad-obj", OBJ_SIZE);
	fx.obj2 = mmrt_object_create("bad-obj2", OBJ_SIZE);
	fx.deadobj = mmrt_object_create("bad-deadobj", OBJ_SIZE);
	cr_assert(fx.obj != NULL && fx.obj2 != NULL && fx.deadobj != NULL);
	cr_assert_eq(mmrt_object_destroy(fx.deadobj), 0);
	fx.deadcons = mmrt_consumer_create(NULL);
	cr_assert_not_null(fx.deadcons);
	cr_assert_eq(mmrt_consumer_destroy(fx.deadcons), 0);
	/* dma_mmrt devices (service=1: no lcore claimed), never started;
	 * the closed one's id is not reused (the live one came first) */
	cr_assert_eq(rte_eal_hotplug_add("vdev", "dma_mmrt_bad",
		"as=bad-as,service=1"), 0);
	fx.dmm = (int16_t)rte_dma_get_dev_id_by_name("dma_mmrt_bad");
	cr_assert_geq(fx.dmm, 0);
	cr_assert_eq(rte_eal_hotplug_add("vdev", "dma_mmrt_baddead",
		"as=bad-as,service=1"), 0);
	fx.deaddmm = (int16_t)rte_dma_get_dev_id_by_name("dma_mmrt_baddead");
	cr_assert_geq(fx.deaddmm, 0);
	cr_assert_eq(rte_dma_close(fx.deaddmm), 0);
	cr_assert_eq(rte_eal_hotplug_remove("vdev", "dma_mmrt_baddead"), 0);

	cr_assert_eq(mmrt_map(fx.as, VA_RW, 8 * PG, RW, MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_map(fx.as, VA_RO, 4 * PG, MMRT_PROT_READ,
		MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_map(fx.as, VA_EDGE, PG, RW, MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_map(fx.as, VA_EDGE_RO, PG, MMRT_PROT_READ,
		MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_map(fx.as, VA_EDGE_NONE, PG, MMRT_PROT_NONE, 0), 0);
	cr_assert_eq(mmrt_map(fx.as, VA_ABS, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(fx.as, VA_HUGE, HPG, RW,
		MMRT_MAP_HUGE | MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_map_object(fx.as, VA_OBJ, OBJ_SIZE, RW, 0, fx.obj,
		0), 0);
	cr_assert_eq(mmrt_map(fx.as2, VA_RW, 4 * PG, RW, 0), 0);
	fill(b, HPG, 1);
	cr_assert_eq(mmrt_write(fx.as, VA_RW, b, 8 * PG), 0);
	cr_assert_eq(mmrt_write(fx.as, VA_EDGE, b, PG), 0);
	cr_assert_eq(mmrt_write(fx.as, VA_HUGE, b, HPG), 0);
	cr_assert_eq(mmrt_write(fx.as, VA_OBJ, b, OBJ_SIZE), 0);
	fill(b, HPG, 2);
	cr_assert_eq(mmrt_write(fx.as2, VA_RW, b, 4 * PG), 0);
	cr_assert_eq(mmrt_object_write(fx.obj2, 0, b, OBJ_SIZE), 0);
	/* a frame that is free (the last thing allocated and put back) */
	pfn = mmrt_frame_alloc(0);
	cr_assert_geq(pfn, 0);
	cr_assert_eq(mmrt_frame_put((uint32_t)pfn), 1);
	fx.free_pfn = (uint32_t)pfn;
	fill(fx.buf, sizeof(fx.buf), 3);
}

/* Results of calls that return a pointer: -rte_errno, or 1 on success. */
static int
as_rc(struct mmrt_as *as)
{
	if (as == NULL)
		return -rte_errno;
	mmrt_as_destroy(as);
	return 1;
}

static int
obj_rc(struct mmrt_object *obj)
{
	if (obj == NULL)
		return -rte_errno;
	mmrt_object_destroy(obj);
	return 1;
}

static int
lookup_rc(const void *p)
{
	return p == NULL ? -rte_errno : 1;
}

/* Several-step cases. */
static int
as_double_destroy(void)
{
	struct mmrt_as *as = mmrt_as_create("bad-tmp");

	if (as == NULL || mmrt_as_destroy(as) != 0)
		return 1;
	return mmrt_as_destroy(as);
}

static int
obj_double_destroy(void)
{
	struct mmrt_object *o = mmrt_object_create("bad-tmp", PG);

	if (o == NULL || mmrt_object_destroy(o) != 0)
		return 1;
	return mmrt_object_destroy(o);
}

static int
frame_double_put(void)
{
	int64_t pfn = mmrt_frame_alloc(0);

	if (pfn < 0 || mmrt_frame_put((uint32_t)pfn) != 1)
		return 1;
	return mmrt_frame_put((uint32_t)pfn);
}

static int
split_small(void)
{
	int64_t pfn = mmrt_frame_alloc(0);
	int rc;

	if (pfn < 0)
		return 1;
	rc = mmrt_huge_split((uint32_t)pfn);
	mmrt_frame_put((uint32_t)pfn);
	return rc;
}

static int
split_shared(void)
{
	int64_t head = mmrt_huge_alloc(0);
	int rc;

	if (head < 0)
		return -EBUSY; /* no huge frame: nothing to test */
	mmrt_frame_get((uint32_t)head);
	rc = mmrt_huge_split((uint32_t)head);
	mmrt_frame_put((uint32_t)head);
	mmrt_frame_put((uint32_t)head);
	return rc;
}

static int
put_bulk_bad(void)
{
	uint32_t pfns[3] = { MMRT_PFN_NONE, fx.free_pfn, UINT32_MAX - 1 };
	int rc = mmrt_frame_put_bulk(pfns, 3);

	/* nothing valid to free: no frame may be freed */
	return rc < 0 ? rc : 0;
}

static int
stats_pfn_total(void)
{
	struct mmrt_mem_stats st;

	if (mmrt_mem_stats(&st) != 0)
		return 1;
	return mmrt_frame_get((uint32_t)st.frames_total);
}

static int
put_pfn_total(void)
{
	struct mmrt_mem_stats st;

	if (mmrt_mem_stats(&st) != 0)
		return 1;
	return mmrt_frame_put((uint32_t)st.frames_total);
}

/* Listing callbacks: stop at the first item with 7. */
static int
as_cb7(struct mmrt_as *as, void *arg)
{
	RTE_SET_USED(as);
	RTE_SET_USED(arg);
	return 7;
}

static int
uffd_cb7(struct mmrt_uffd *u, unsigned int pos, void *arg)
{
	RTE_SET_USED(u);
	RTE_SET_USED(pos);
	RTE_SET_USED(arg);
	return 7;
}

static int
cons_cb7(struct mmrt_consumer *c, void *arg)
{
	RTE_SET_USED(c);
	RTE_SET_USED(arg);
	return 7;
}

/* mmrt_usage() to a file and to stdout: the options, nothing else. */
static int
usage_out(void)
{
	FILE *f = tmpfile();
	char line[256];
	int found = 0;

	if (f == NULL)
		return -EIO;
	mmrt_usage(f);
	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL)
		found |= strstr(line, "--pool-mb") != NULL;
	fclose(f);
	mmrt_usage(NULL);
	return found ? 0 : -ENOENT;
}

#define N MMRT_PFN_NONE
#define LIM MMRT_VA_LIMIT
#define WRAP (UINT64_MAX - PG + 1)
#define AR MMRT_ACCESS_READ
#define AW MMRT_ACCESS_WRITE
#define ADV MMRT_ADV_DONTNEED

/* X(id, expected, expression) */
#define BAD_CASES(X) \
	/* mmrt_mem.h */ \
	X(frame_alloc_flags, -EINVAL, (int)mmrt_frame_alloc(1u << 7)) \
	X(frame_alloc_bulk_null, -EINVAL, mmrt_frame_alloc_bulk(NULL, 4, 0)) \
	X(frame_alloc_bulk_flags, -EINVAL, \
		mmrt_frame_alloc_bulk((uint32_t *)fx.buf, 4, 1u << 9)) \
	X(huge_alloc_flags, -EINVAL, (int)mmrt_huge_alloc(1u << 3)) \
	X(frame_get_none, -EINVAL, mmrt_frame_get(N)) \
	X(frame_get_past_end, -EINVAL, stats_pfn_total()) \
	X(frame_get_free, -EINVAL, mmrt_frame_get(fx.free_pfn)) \
	X(frame_put_none, -EINVAL, mmrt_frame_put(N)) \
	X(frame_put_past_end, -EINVAL, put_pfn_total()) \
	X(frame_put_free, -EINVAL, mmrt_frame_put(fx.free_pfn)) \
	X(frame_put_double, -EINVAL, frame_double_put()) \
	X(frame_put_bulk_null, -EINVAL, mmrt_frame_put_bulk(NULL, 3)) \
	X(frame_put_bulk_bad, 0, put_bulk_bad()) \
	X(huge_split_none, -EINVAL, mmrt_huge_split(N)) \
	X(huge_split_free, -EINVAL, mmrt_huge_split(fx.free_pfn)) \
	X(huge_split_small, -EINVAL, split_small()) \
	X(huge_split_shared, -EBUSY, split_shared()) \
	X(frame_addr_none, 0, mmrt_frame_addr(N) != NULL) \
	X(frame_iova_none, 0, mmrt_frame_iova(N) != RTE_BAD_IOVA) \
	X(addr_to_pfn_outside, 0, mmrt_addr_to_pfn(&fx) != MMRT_PFN_NONE) \
	X(addr_to_pfn_null, 0, mmrt_addr_to_pfn(NULL) != MMRT_PFN_NONE) \
	X(frame_meta_none, 0, mmrt_frame_meta(N) != NULL) \
	X(mem_stats_null, -EINVAL, mmrt_mem_stats(NULL)) \
	/* address spaces */ \
	X(as_create_null, -EINVAL, as_rc(mmrt_as_create(NULL))) \
	X(as_create_empty, -EINVAL, as_rc(mmrt_as_create(""))) \
	X(as_create_long, -EINVAL, as_rc(mmrt_as_create(LONG_NAME))) \
	X(as_create_dup, -EEXIST, as_rc(mmrt_as_create("bad-as"))) \
	X(as_destroy_null, -EINVAL, mmrt_as_destroy(NULL)) \
	X(as_destroy_dead, -EINVAL, mmrt_as_destroy(fx.dead)) \
	X(as_destroy_double, -EINVAL, as_double_destroy()) \
	X(as_lookup_null, -EINVAL, lookup_rc(mmrt_as_lookup(NULL))) \
	X(as_lookup_unknown, -ENOENT, lookup_rc(mmrt_as_lookup("bad-nope"))) \
	X(as_lookup_dead, -ENOENT, lookup_rc(mmrt_as_lookup("bad-dead"))) \
	X(as_name_null, 0, mmrt_as_name(NULL) != NULL) \
	X(as_name_dead, 0, mmrt_as_name(fx.dead) != NULL) \
	X(as_fork_null, -EINVAL, as_rc(mmrt_as_fork(NULL, "bad-c"))) \
	X(as_fork_dead, -EINVAL, as_rc(mmrt_as_fork(fx.dead, "bad-c"))) \
	X(as_fork_null_name, -EINVAL, as_rc(mmrt_as_fork(fx.as, NULL))) \
	X(as_fork_empty_name, -EINVAL, as_rc(mmrt_as_fork(fx.as, ""))) \
	X(as_fork_long_name, -EINVAL, as_rc(mmrt_as_fork(fx.as, LONG_NAME))) \
	X(as_fork_dup, -EEXIST, as_rc(mmrt_as_fork(fx.as, "bad-as2"))) \
	X(as_stats_null_as, -EINVAL, \
		mmrt_as_stats(NULL, (struct mmrt_as_stats *)fx.buf)) \
	X(as_stats_null_out, -EINVAL, mmrt_as_stats(fx.as, NULL)) \
	X(as_stats_dead, -EINVAL, \
		mmrt_as_stats(fx.dead, (struct mmrt_as_stats *)fx.buf)) \
	/* mmrt_map */ \
	X(map_null, -EINVAL, mmrt_map(NULL, VA_FREE, PG, RW, 0)) \
	X(map_dead, -EINVAL, mmrt_map(fx.dead, VA_FREE, PG, RW, 0)) \
	X(map_va_unaligned, -EINVAL, mmrt_map(fx.as, VA_FREE + 8, PG, RW, 0)) \
	X(map_len_unaligned, -EINVAL, mmrt_map(fx.as, VA_FREE, PG + 1, RW, 0)) \
	X(map_len_zero, -EINVAL, mmrt_map(fx.as, VA_FREE, 0, RW, 0)) \
	X(map_wrap, -EINVAL, mmrt_map(fx.as, WRAP, 2 * PG, RW, 0)) \
	X(map_past_limit, -EINVAL, mmrt_map(fx.as, LIM - PG, 2 * PG, RW, 0)) \
	X(map_at_limit, -EINVAL, mmrt_map(fx.as, LIM, PG, RW, 0)) \
	X(map_len_huge, -EINVAL, mmrt_map(fx.as, VA_FREE, UINT64_MAX & ~(PG - 1), \
		RW, 0)) \
	X(map_prot, -EINVAL, mmrt_map(fx.as, VA_FREE, PG, 1u << 2, 0)) \
	X(map_flags, -EINVAL, mmrt_map(fx.as, VA_FREE, PG, RW, 1u << 5)) \
	X(map_huge_va, -EINVAL, mmrt_map(fx.as, VA_HUGE + HPG + PG, HPG, RW, \
		MMRT_MAP_HUGE)) \
	X(map_huge_len, -EINVAL, mmrt_map(fx.as, VA_HUGE + HPG, HPG + PG, RW, \
		MMRT_MAP_HUGE)) \
	X(map_exists, -EEXIST, mmrt_map(fx.as, VA_RW, 8 * PG, RW, 0)) \
	X(map_overlap_start, -EEXIST, mmrt_map(fx.as, VA_RW - PG, 2 * PG, RW, 0)) \
	X(map_overlap_end, -EEXIST, mmrt_map(fx.as, VA_HOLE, 9 * PG, RW, 0)) \
	X(map_overlap_populate, -EEXIST, mmrt_map(fx.as, VA_HOLE, 16 * PG, RW, \
		MMRT_MAP_POPULATE)) \
	X(map_overlap_huge, -EEXIST, mmrt_map(fx.as, VA_HUGE, HPG, RW, \
		MMRT_MAP_HUGE)) \
	/* mmrt_map_object */ \
	X(map_obj_null_as, -EINVAL, mmrt_map_object(NULL, VA_FREE, PG, RW, 0, \
		fx.obj2, 0)) \
	X(map_obj_null_obj, -EINVAL, mmrt_map_object(fx.as, VA_FREE, PG, RW, 0, \
		NULL, 0)) \
	X(map_obj_dead_obj, -EINVAL, mmrt_map_object(fx.as, VA_FREE, PG, RW, 0, \
		fx.deadobj, 0)) \
	X(map_obj_off_unaligned, -EINVAL, mmrt_map_object(fx.as, VA_FREE, PG, \
		RW, 0, fx.obj2, 8)) \
	X(map_obj_off_at_end, -EINVAL, mmrt_map_object(fx.as, VA_FREE, PG, RW, \
		0, fx.obj2, OBJ_SIZE)) \
	X(map_obj_past_end, -EINVAL, mmrt_map_object(fx.as, VA_FREE, 2 * PG, \
		RW, 0, fx.obj2, OBJ_SIZE - PG)) \
	X(map_obj_off_wrap, -EINVAL, mmrt_map_object(fx.as, VA_FREE, 2 * PG, \
		RW, 0, fx.obj2, WRAP)) \
	X(map_obj_huge, -EINVAL, mmrt_map_object(fx.as, VA_HUGE + HPG, HPG, RW, \
		MMRT_MAP_HUGE, fx.obj2, 0)) \
	X(map_obj_len_zero, -EINVAL, mmrt_map_object(fx.as, VA_FREE, 0, RW, 0, \
		fx.obj2, 0)) \
	X(map_obj_va_unaligned, -EINVAL, mmrt_map_object(fx.as, VA_FREE + 1, \
		PG, RW, 0, fx.obj2, 0)) \
	X(map_obj_past_limit, -EINVAL, mmrt_map_object(fx.as, LIM - PG, \
		2 * PG, RW, 0, fx.obj2, 0)) \
	X(map_obj_prot, -EINVAL, mmrt_map_object(fx.as, VA_FREE, PG, 1u << 4, \
		0, fx.obj2, 0)) \
	X(map_obj_flags, -EINVAL, mmrt_map_object(fx.as, VA_FREE, PG, RW, \
		1u << 6, fx.obj2, 0)) \
	X(map_obj_exists, -EEXIST, mmrt_map_object(fx.as, VA_RW, PG, RW, 0, \
		fx.obj2, 0)) \
	/* mmrt_unmap */ \
	X(unmap_null, -EINVAL, mmrt_unmap(NULL, VA_RW, PG)) \
	X(unmap_dead, -EINVAL, mmrt_unmap(fx.dead, VA_RW, PG)) \
	X(unmap_va_unaligned, -EINVAL, mmrt_unmap(fx.as, VA_RW + 16, PG)) \
	X(unmap_len_unaligned, -EINVAL, mmrt_unmap(fx.as, VA_RW, PG - 1)) \
	X(unmap_len_zero, -EINVAL, mmrt_unmap(fx.as, VA_RW, 0)) \
	X(unmap_wrap, -EINVAL, mmrt_unmap(fx.as, WRAP, 2 * PG)) \
	X(unmap_past_limit, -EINVAL, mmrt_unmap(fx.as, LIM - PG, 2 * PG)) \
	X(unmap_whole_space_plus, -EINVAL, mmrt_unmap(fx.as, 0, LIM + PG)) \
	X(unmap_hole_only, 0, mmrt_unmap(fx.as, VA_HOLE, 8 * PG)) \
	/* mmrt_protect */ \
	X(protect_null, -EINVAL, mmrt_protect(NULL, VA_RW, PG, RW)) \
	X(protect_va_unaligned, -EINVAL, mmrt_protect(fx.as, VA_RW + 1, PG, \
		MMRT_PROT_READ)) \
	X(protect_len_zero, -EINVAL, mmrt_protect(fx.as, VA_RW, 0, \
		MMRT_PROT_READ)) \
	X(protect_wrap, -EINVAL, mmrt_protect(fx.as, WRAP, 2 * PG, \
		MMRT_PROT_READ)) \
	X(protect_past_limit, -EINVAL, mmrt_protect(fx.as, LIM - PG, 2 * PG, \
		MMRT_PROT_READ)) \
	X(protect_prot, -EINVAL, mmrt_protect(fx.as, VA_RW, PG, 1u << 3)) \
	X(protect_hole, -ENOMEM, mmrt_protect(fx.as, VA_RW, 20 * PG, \
		MMRT_PROT_READ)) \
	X(protect_hole_none, -ENOMEM, mmrt_protect(fx.as, VA_RW, 20 * PG, \
		MMRT_PROT_NONE)) \
	X(protect_unmapped, -ENOMEM, mmrt_protect(fx.as, VA_FREE, PG, \
		MMRT_PROT_READ)) \
	X(protect_hole_in_huge_split, -ENOMEM, mmrt_protect(fx.as, \
		VA_HUGE + PG, HPG, MMRT_PROT_READ)) \
	/* mmrt_advise */ \
	X(advise_null, -EINVAL, mmrt_advise(NULL, VA_RW, PG, ADV)) \
	X(advise_va_unaligned, -EINVAL, mmrt_advise(fx.as, VA_RW + 4, PG, ADV)) \
	X(advise_len_zero, -EINVAL, mmrt_advise(fx.as, VA_RW, 0, ADV)) \
	X(advise_wrap, -EINVAL, mmrt_advise(fx.as, WRAP, 2 * PG, ADV)) \
	X(advise_past_limit, -EINVAL, mmrt_advise(fx.as, LIM - PG, 2 * PG, ADV)) \
	X(advise_zero, -EINVAL, mmrt_advise(fx.as, VA_RW, PG, 0)) \
	X(advise_unknown, -EINVAL, mmrt_advise(fx.as, VA_RW, PG, 2)) \
	X(advise_negative, -EINVAL, mmrt_advise(fx.as, VA_RW, PG, -1)) \
	X(advise_hole, -ENOMEM, mmrt_advise(fx.as, VA_RW, 20 * PG, ADV)) \
	X(advise_hole_huge, -ENOMEM, mmrt_advise(fx.as, VA_HUGE + PG, HPG, ADV)) \
	/* mmrt_merge */ \
	X(merge_null_a, -EINVAL, mmrt_merge(NULL, VA_RW, fx.as, VA_RW + PG)) \
	X(merge_null_b, -EINVAL, mmrt_merge(fx.as, VA_RW, NULL, VA_RW + PG)) \
	X(merge_unaligned, -EINVAL, mmrt_merge(fx.as, VA_RW + 8, fx.as, \
		VA_RW + PG)) \
	X(merge_past_limit, -EINVAL, mmrt_merge(fx.as, LIM, fx.as, VA_RW)) \
	X(merge_unmapped, -EFAULT, mmrt_merge(fx.as, VA_RW, fx.as, VA_HOLE)) \
	X(merge_absent, -ENOENT, mmrt_merge(fx.as, VA_RW, fx.as, VA_ABS)) \
	X(merge_object, -EINVAL, mmrt_merge(fx.as, VA_RW, fx.as, VA_OBJ)) \
	/* mmrt_fault */ \
	X(fault_null, -EINVAL, mmrt_fault(NULL, VA_RW, AR)) \
	X(fault_access, -EINVAL, mmrt_fault(fx.as, VA_ABS, 1u << 4)) \
	X(fault_past_limit, -EINVAL, mmrt_fault(fx.as, LIM, AR)) \
	X(fault_unmapped, -EFAULT, mmrt_fault(fx.as, VA_HOLE, AR)) \
	X(fault_ro_write, -EACCES, mmrt_fault(fx.as, VA_RO, AW)) \
	X(fault_nowait_only, -EINVAL, mmrt_fault(fx.as, VA_ABS, \
		MMRT_ACCESS_NOWAIT)) \
	/* mmrt_fault_request: classifies, resolves nothing */ \
	X(freq_null, -EINVAL, mmrt_fault_request(NULL, VA_ABS, AR, 0)) \
	X(freq_access, -EINVAL, mmrt_fault_request(fx.as, VA_ABS, 0, 0)) \
	X(freq_nowait, -EINVAL, mmrt_fault_request(fx.as, VA_ABS, \
		AR | MMRT_ACCESS_NOWAIT, 0)) \
	X(freq_past_limit, -EINVAL, mmrt_fault_request(fx.as, LIM, AR, 0)) \
	X(freq_unmapped, -EFAULT, mmrt_fault_request(fx.as, VA_HOLE, AR, 0)) \
	X(freq_ro_write, -EACCES, mmrt_fault_request(fx.as, VA_RO, AW, 0)) \
	X(freq_present, 0, mmrt_fault_request(fx.as, VA_RW, AW, 0)) \
	/* mmrt_fault_request_token: the same, and no token on error */ \
	X(freqt_null, -EINVAL, mmrt_fault_request_token(NULL, VA_ABS, AR, 0, \
		&fx.tok)) \
	X(freqt_access, -EINVAL, mmrt_fault_request_token(fx.as, VA_ABS, 0, \
		0, &fx.tok)) \
	X(freqt_past_limit, -EINVAL, mmrt_fault_request_token(fx.as, LIM, AR, \
		0, &fx.tok)) \
	X(freqt_unmapped, -EFAULT, mmrt_fault_request_token(fx.as, VA_HOLE, \
		AR, 0, &fx.tok)) \
	X(freqt_null_tok, -EFAULT, mmrt_fault_request_token(fx.as, VA_HOLE, \
		AR, 0, NULL)) \
	/* mmrt_read_flags / mmrt_write_flags */ \
	X(read_flags_bad, -EINVAL, mmrt_read_flags(fx.as, VA_RW, fx.buf, 8, \
		1u << 5)) \
	X(write_flags_bad, -EINVAL, mmrt_write_flags(fx.as, VA_ABS, fx.buf, \
		8, AR)) \
	/* mmrt_remap */ \
	X(remap_null, -EINVAL, mmrt_remap(NULL, VA_RW, PG, VA_FREE)) \
	X(remap_unaligned, -EINVAL, mmrt_remap(fx.as, VA_RW + 1, PG, \
		VA_FREE)) \
	X(remap_new_unaligned, -EINVAL, mmrt_remap(fx.as, VA_RW, PG, \
		VA_FREE + 8)) \
	X(remap_zero, -EINVAL, mmrt_remap(fx.as, VA_RW, 0, VA_FREE)) \
	X(remap_wrap, -EINVAL, mmrt_remap(fx.as, WRAP, 2 * PG, VA_FREE)) \
	X(remap_new_past_limit, -EINVAL, mmrt_remap(fx.as, VA_RW, 2 * PG, \
		LIM - PG)) \
	X(remap_overlap, -EINVAL, mmrt_remap(fx.as, VA_RW, 8 * PG, \
		VA_RW + 4 * PG)) \
	X(remap_hole, -EFAULT, mmrt_remap(fx.as, VA_HOLE, PG, VA_FREE)) \
	X(remap_partly_hole, -EFAULT, mmrt_remap(fx.as, VA_RW, 9 * PG, \
		VA_FREE)) \
	X(remap_new_taken, -EEXIST, mmrt_remap(fx.as, VA_ABS, 2 * PG, \
		VA_RW)) \
	/* mmrt_translate */ \
	X(translate_null_as, -EINVAL, mmrt_translate(NULL, VA_RW, AR, \
		&fx.xout)) \
	X(translate_null_out, -EINVAL, mmrt_translate(fx.as, VA_RW, AR, NULL)) \
	X(translate_access, -EINVAL, mmrt_translate(fx.as, VA_RW, 1u << 5, \
		&fx.xout)) \
	X(translate_past_limit, -EINVAL, mmrt_translate(fx.as, LIM, AR, \
		&fx.xout)) \
	X(translate_unmapped, -EFAULT, mmrt_translate(fx.as, VA_HOLE, AR, \
		&fx.xout)) \
	X(translate_ro_write, -EACCES, mmrt_translate(fx.as, VA_RO, AW, \
		&fx.xout)) \
	/* mmrt_read / mmrt_write */ \
	X(read_null_as, -EINVAL, mmrt_read(NULL, VA_RW, fx.buf, 8)) \
	X(read_null_buf, -EINVAL, mmrt_read(fx.as, VA_RW, NULL, 8)) \
	X(read_len_zero, -EINVAL, mmrt_read(fx.as, VA_RW, fx.buf, 0)) \
	X(read_wrap, -EINVAL, mmrt_read(fx.as, UINT64_MAX - 3, fx.buf, 8)) \
	X(read_past_limit, -EINVAL, mmrt_read(fx.as, LIM - 4, fx.buf, 8)) \
	X(read_unmapped, -EFAULT, mmrt_read(fx.as, VA_HOLE, fx.buf, 8)) \
	X(read_into_hole, -EFAULT, mmrt_read(fx.as, VA_HOLE - 8, fx.buf, 16)) \
	X(write_null_as, -EINVAL, mmrt_write(NULL, VA_RW, fx.buf, 8)) \
	X(write_null_buf, -EINVAL, mmrt_write(fx.as, VA_RW, NULL, 8)) \
	X(write_len_zero, -EINVAL, mmrt_write(fx.as, VA_RW, fx.buf, 0)) \
	X(write_wrap, -EINVAL, mmrt_write(fx.as, UINT64_MAX - 3, fx.buf, 8)) \
	X(write_past_limit, -EINVAL, mmrt_write(fx.as, LIM - 4, fx.buf, 8)) \
	X(write_unmapped, -EFAULT, mmrt_write(fx.as, VA_HOLE, fx.buf, 8)) \
	X(write_ro, -EACCES, mmrt_write(fx.as, VA_RO, fx.buf, 8)) \
	/* a failed access writes nothing: not the first page's bytes either */ \
	X(write_into_hole, -EFAULT, mmrt_write(fx.as, VA_HOLE - 64, fx.buf, \
		128)) \
	X(write_pages_into_hole, -EFAULT, mmrt_write(fx.as, VA_HOLE - 2 * PG, \
		fx.buf, 3 * PG)) \
	X(write_into_ro, -EACCES, mmrt_write(fx.as, VA_EDGE_RO - 64, fx.buf, \
		128)) \
	X(write_flags_into_hole, -EFAULT, mmrt_write_flags(fx.as, \
		VA_HOLE - 64, fx.buf, 128, MMRT_ACCESS_NOWAIT)) \
	X(write_flags_into_ro, -EACCES, mmrt_write_flags(fx.as, \
		VA_EDGE_RO - 64, fx.buf, 128, MMRT_ACCESS_NOWAIT)) \
	X(read_pages_into_hole, -EFAULT, mmrt_read(fx.as, VA_HOLE - 2 * PG, \
		fx.buf, 3 * PG)) \
	X(read_into_none, -EACCES, mmrt_read(fx.as, VA_EDGE_NONE - 64, \
		fx.buf, 128)) \
	X(read_flags_into_hole, -EFAULT, mmrt_read_flags(fx.as, VA_HOLE - 64, \
		fx.buf, 128, MMRT_ACCESS_NOWAIT)) \
	X(read_flags_into_none, -EACCES, mmrt_read_flags(fx.as, \
		VA_EDGE_NONE - 64, fx.buf, 128, MMRT_ACCESS_NOWAIT)) \
	X(write_dead, -EINVAL, mmrt_write(fx.dead, VA_RW, fx.buf, 8)) \
	/* objects */ \
	X(obj_create_null, -EINVAL, obj_rc(mmrt_object_create(NULL, PG))) \
	X(obj_create_empty, -EINVAL, obj_rc(mmrt_object_create("", PG))) \
	X(obj_create_long, -EINVAL, obj_rc(mmrt_object_create(LONG_NAME, PG))) \
	X(obj_create_size_zero, -EINVAL, obj_rc(mmrt_object_create("bad-o", 0))) \
	X(obj_create_size_unaligned, -EINVAL, \
		obj_rc(mmrt_object_create("bad-o", PG + 100))) \
	X(obj_create_dup, -EEXIST, obj_rc(mmrt_object_create("bad-obj", PG))) \
	X(obj_destroy_null, -EINVAL, mmrt_object_destroy(NULL)) \
	X(obj_destroy_dead, -EINVAL, mmrt_object_destroy(fx.deadobj)) \
	X(obj_destroy_double, -EINVAL, obj_double_destroy()) \
	X(obj_destroy_mapped, -EBUSY, mmrt_object_destroy(fx.obj)) \
	X(obj_lookup_null, -EINVAL, lookup_rc(mmrt_object_lookup(NULL))) \
	X(obj_lookup_unknown, -ENOENT, lookup_rc(mmrt_object_lookup("bad-no"))) \
	X(obj_lookup_dead, -ENOENT, \
		lookup_rc(mmrt_object_lookup("bad-deadobj"))) \
	X(obj_size_null, 0, mmrt_object_size(NULL) != 0) \
	X(obj_size_dead, 0, mmrt_object_size(fx.deadobj) != 0) \
	X(obj_read_null, -EINVAL, mmrt_object_read(NULL, 0, fx.buf, 8)) \
	X(obj_read_dead, -EINVAL, mmrt_object_read(fx.deadobj, 0, fx.buf, 8)) \
	X(obj_read_null_buf, -EINVAL, mmrt_object_read(fx.obj2, 0, NULL, 8)) \
	X(obj_read_past_end, -EINVAL, mmrt_object_read(fx.obj2, OBJ_SIZE - 4, \
		fx.buf, 8)) \
	X(obj_read_off_end, -EINVAL, mmrt_object_read(fx.obj2, OBJ_SIZE, \
		fx.buf, 1)) \
	X(obj_read_wrap, -EINVAL, mmrt_object_read(fx.obj2, UINT64_MAX - 3, \
		fx.buf, 8)) \
	X(obj_write_null, -EINVAL, mmrt_object_write(NULL, 0, fx.buf, 8)) \
	X(obj_write_dead, -EINVAL, mmrt_object_write(fx.deadobj, 0, fx.buf, 8)) \
	X(obj_write_null_buf, -EINVAL, mmrt_object_write(fx.obj2, 0, NULL, 8)) \
	X(obj_write_past_end, -EINVAL, mmrt_object_write(fx.obj2, \
		OBJ_SIZE - 4, fx.buf, 8)) \
	X(obj_write_off_end, -EINVAL, mmrt_object_write(fx.obj2, OBJ_SIZE, \
		fx.buf, 1)) \
	X(obj_write_wrap, -EINVAL, mmrt_object_write(fx.obj2, UINT64_MAX - 3, \
		fx.buf, 8)) \
	/* mmrt_range_valid: pure */ \
	X(range_valid_zero, 0, mmrt_range_valid(VA_RW, 0)) \
	X(range_valid_at_limit, 0, mmrt_range_valid(LIM, PG)) \
	X(range_valid_past_limit, 0, mmrt_range_valid(LIM - PG, 2 * PG)) \
	X(range_valid_wrap, 0, mmrt_range_valid(WRAP, 2 * PG)) \
	X(range_valid_huge_len, 0, mmrt_range_valid(PG, UINT64_MAX)) \
	X(range_valid_whole, 1, mmrt_range_valid(0, LIM)) \
	X(range_valid_last_byte, 1, mmrt_range_valid(LIM - 1, 1)) \
	/* mmrt_map_host */ \
	X(map_host_null_as, -EINVAL, mmrt_map_host(NULL, VA_FREE, host, PG, \
		RW, 0)) \
	X(map_host_dead, -EINVAL, mmrt_map_host(fx.dead, VA_FREE, host, PG, \
		RW, 0)) \
	X(map_host_null_host, -EINVAL, mmrt_map_host(fx.as, VA_FREE, NULL, PG, \
		RW, 0)) \
	X(map_host_host_unaligned, -EINVAL, mmrt_map_host(fx.as, VA_FREE, \
		host + 8, PG, RW, 0)) \
	X(map_host_host_past_48, -EINVAL, mmrt_map_host(fx.as, VA_FREE, \
		(void *)(uintptr_t)LIM, PG, RW, 0)) \
	X(map_host_va_unaligned, -EINVAL, mmrt_map_host(fx.as, VA_FREE + 8, \
		host, PG, RW, 0)) \
	X(map_host_len_zero, -EINVAL, mmrt_map_host(fx.as, VA_FREE, host, 0, \
		RW, 0)) \
	X(map_host_len_unaligned, -EINVAL, mmrt_map_host(fx.as, VA_FREE, host, \
		PG + 1, RW, 0)) \
	X(map_host_wrap, -EINVAL, mmrt_map_host(fx.as, WRAP, host, 2 * PG, RW, \
		0)) \
	X(map_host_past_limit, -EINVAL, mmrt_map_host(fx.as, LIM - PG, host, \
		2 * PG, RW, 0)) \
	X(map_host_prot, -EINVAL, mmrt_map_host(fx.as, VA_FREE, host, PG, \
		1u << 2, 0)) \
	X(map_host_flags, -EINVAL, mmrt_map_host(fx.as, VA_FREE, host, PG, RW, \
		1u << 0)) \
	X(map_host_exists, -EEXIST, mmrt_map_host(fx.as, VA_RW, host, PG, RW, \
		0)) \
	X(map_host_overlap_end, -EEXIST, mmrt_map_host(fx.as, VA_HOLE + 6 * PG, \
		host, 4 * PG, RW, 0)) \
	/* mmrt_as_mirror_dpdk */ \
	X(mirror_null, -EINVAL, as_rc(mmrt_as_mirror_dpdk(NULL))) \
	X(mirror_empty, -EINVAL, as_rc(mmrt_as_mirror_dpdk(""))) \
	X(mirror_long, -EINVAL, as_rc(mmrt_as_mirror_dpdk(LONG_NAME))) \
	X(mirror_dup, -EEXIST, as_rc(mmrt_as_mirror_dpdk("bad-as"))) \
	/* mmrt_mirror_dma_map / _unmap / mmrt_as_mirror_sync */ \
	X(mdma_map_null, -EINVAL, mmrt_mirror_dma_map(NULL, VA_FREE, PG)) \
	X(mdma_map_zero, -EINVAL, mmrt_mirror_dma_map(host, VA_FREE, 0)) \
	X(mdma_map_len, -EINVAL, mmrt_mirror_dma_map(host, VA_FREE, PG + 8)) \
	X(mdma_map_host, -EINVAL, mmrt_mirror_dma_map(host + 8, VA_FREE, PG)) \
	X(mdma_map_iova, -EINVAL, mmrt_mirror_dma_map(host, VA_FREE + 8, PG)) \
	X(mdma_map_limit, -EINVAL, mmrt_mirror_dma_map(host, LIM - PG, \
		2 * PG)) \
	X(mdma_map_wrap, -EINVAL, mmrt_mirror_dma_map(host, \
		UINT64_MAX - PG + 1, 2 * PG)) \
	X(mdma_unmap_null, -EINVAL, mmrt_mirror_dma_unmap(NULL, VA_FREE, PG)) \
	X(mdma_unmap_unknown, -ENOENT, mmrt_mirror_dma_unmap(host, VA_FREE, \
		PG)) \
	X(mirror_sync_not_mirror, -EINVAL, mmrt_as_mirror_sync(fx.as)) \
	/* listing and naming */ \
	X(as_foreach_null, -EINVAL, mmrt_as_foreach(NULL, NULL)) \
	X(as_foreach_stop, 7, mmrt_as_foreach(as_cb7, NULL)) \
	X(uffd_foreach_null_as, -EINVAL, mmrt_uffd_foreach(NULL, uffd_cb7, \
		NULL)) \
	X(uffd_foreach_dead, -EINVAL, mmrt_uffd_foreach(fx.dead, uffd_cb7, \
		NULL)) \
	X(uffd_foreach_null_cb, -EINVAL, mmrt_uffd_foreach(fx.as, NULL, NULL)) \
	X(uffd_foreach_none, 0, mmrt_uffd_foreach(fx.as, uffd_cb7, NULL)) \
	X(consumer_foreach_null, -EINVAL, mmrt_consumer_foreach(NULL, NULL)) \
	X(consumer_foreach_none, 0, mmrt_consumer_foreach(cons_cb7, NULL)) \
	X(consumer_name_null, 0, mmrt_consumer_name(NULL) != NULL) \
	X(consumer_name_dead, 0, mmrt_consumer_name(fx.deadcons) != NULL) \
	/* mmrt_dma_mmrt.h */ \
	X(dma_mmrt_stats_null, -EINVAL, mmrt_dma_mmrt_stats(fx.dmm, NULL)) \
	X(dma_mmrt_stats_stopped, -ENOTCONN, mmrt_dma_mmrt_stats(fx.dmm, \
		&fx.dmm_st)) \
	X(dma_mmrt_stats_closed, -ENODEV, mmrt_dma_mmrt_stats(fx.deaddmm, \
		&fx.dmm_st)) \
	X(dma_mmrt_stats_neg, -ENODEV, mmrt_dma_mmrt_stats(-1, &fx.dmm_st)) \
	X(dma_mmrt_stats_max, -ENODEV, mmrt_dma_mmrt_stats(INT16_MAX, \
		&fx.dmm_st)) \
	/* mmrt_core.h */ \
	X(usage, 0, usage_out()) \
	X(embedded_default, 1, mmrt_embedded_default())

struct bad_case {
	const char *name;
	int (*fn)(void);
	int expect;
};

#define BAD_FN(id, want, expr) \
static int \
bad_##id(void) \
{ \
	return (expr); \
}
BAD_CASES(BAD_FN)
#undef BAD_FN

#define BAD_ENTRY(id, want, expr) { #id, bad_##id, want },
static const struct bad_case bad_cases[] = {
	BAD_CASES(BAD_ENTRY)
};
#undef BAD_ENTRY

/*
 * The cases run in chunks of BAD_CHUNK, one test worker per chunk: the
 * runtime comes up once per worker (the costly part, tenfold under
 * ASan), the fixture is built before and torn down after every case, and
 * each case's checks name it. The parameters are chunk indexes: a test
 * worker is a new process image, so pointers from the parent's image mean
 * nothing there.
 */
#define BAD_CHUNK 16
#define BAD_NCHUNKS ((RTE_DIM(bad_cases) + BAD_CHUNK - 1) / BAD_CHUNK)
static unsigned int bad_chunk[BAD_NCHUNKS];

ParameterizedTestParameters(badinput, call)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(bad_chunk); i++)
		bad_chunk[i] = i;
	return cr_make_param_array(unsigned int, bad_chunk,
		RTE_DIM(bad_chunk));
}

#define SNAP_EQ(field) \
	cr_expect_eq(before.field, after.field, "%s: " #field " changed " \
		"(%" PRIu64 " -> %" PRIu64 ")", c->name, \
		(uint64_t)before.field, (uint64_t)after.field)

/* One case on a fresh fixture: the call fails as expected, changes
 * nothing, and the runtime is still whole. */
static void
bad_case_run(const struct bad_case *c)
{
	struct snap before, after;
	unsigned int i;
	int rc;

	fixture_up();
	take_snap(&before);
	rte_errno = 0;
	rc = c->fn();
	cr_expect_eq(rc, c->expect, "%s: returned %d (%s), expected %d (%s)",
		c->name, rc, rc < 0 ? strerror(-rc) : "-", c->expect,
		c->expect < 0 ? strerror(-c->expect) : "-");
	take_snap(&after);
	SNAP_EQ(used);
	SNAP_EQ(st.regions);
	SNAP_EQ(st.mapped_bytes);
	SNAP_EQ(st.rss_pages);
	SNAP_EQ(st.pt_pages);
	SNAP_EQ(st.faults);
	SNAP_EQ(st.cow);
	SNAP_EQ(st.cow_reuse);
	SNAP_EQ(st.splits);
	SNAP_EQ(st.flushes);
	SNAP_EQ(st.nested_flushes);
	SNAP_EQ(st2.regions);
	SNAP_EQ(st2.mapped_bytes);
	SNAP_EQ(st2.rss_pages);
	SNAP_EQ(st2.pt_pages);
	SNAP_EQ(st2.faults);
	SNAP_EQ(st2.flushes);
	for (i = 0; i < RTE_DIM(before.xrc); i++) {
		SNAP_EQ(xrc[i]);
		SNAP_EQ(xpfn[i]);
		SNAP_EQ(xprot[i]);
	}
	SNAP_EQ(sum_rw);
	SNAP_EQ(sum_ro);
	SNAP_EQ(sum_huge);
	SNAP_EQ(sum_as2);
	SNAP_EQ(sum_obj);
	SNAP_EQ(sum_obj2);
	SNAP_EQ(sum_edge);
	SNAP_EQ(sum_buf);
	SNAP_EQ(obj_size);
	/* the runtime is still whole: everything tears down cleanly */
	cr_expect_eq(rte_dma_close(fx.dmm), 0);
	cr_expect_eq(rte_eal_hotplug_remove("vdev", "dma_mmrt_bad"), 0);
	cr_expect_eq(mmrt_as_destroy(fx.as), 0);
	cr_expect_eq(mmrt_as_destroy(fx.as2), 0);
	cr_expect_eq(mmrt_object_destroy(fx.obj), 0);
	cr_expect_eq(mmrt_object_destroy(fx.obj2), 0);
	cr_expect_eq(mmrt_test_used(), fx.base, "%s: %" PRIu64 " frames used "
		"after teardown, %" PRIu64 " before the fixture", c->name,
		mmrt_test_used(), fx.base);
}

ParameterizedTest(unsigned int *chunk, badinput, call)
{
	unsigned int i;

	cr_assert_lt(*chunk, BAD_NCHUNKS);
	mmrt_test_up(POOL_MB);
	for (i = *chunk * BAD_CHUNK;
	     i < RTE_MIN((*chunk + 1) * BAD_CHUNK, RTE_DIM(bad_cases)); i++)
		bad_case_run(&bad_cases[i]);
	mmrt_test_down();
}
