/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * perf-mem: memory overhead, from real counts (nothing here is timed).
 *
 * For a mapping of MEM_LEN populated with 4 KiB frames, and one with 2 MiB
 * frames (MMRT_MAP_HUGE): the page-table pages it took (the pool's
 * pt_pages before and after, and the space's own count, which must
 * agree), the frame metadata of the frames it holds (the pool's
 * bytes_meta per frame, plus the per-frame IOVA table when IOVA is not the
 * virtual address), and the DPDK heap bytes the map took (region
 * bookkeeping, rte_malloc_get_socket_stats()), each per mapped byte.
 *
 * Per consumer: the DPDK heap bytes mmrt_consumer_create() took (the
 * consumer, its device TLB, its invalidation and page-request rings and
 * their side tables), split into the device TLB (sets x ways rounded up
 * to whole 4-way blocks, sizeof(struct mmrt_dev_tlbe) each) and the rest
 * (rings and bookkeeping); the TLB also per byte of its reach for 4 KiB
 * and 2 MiB entries.
 *
 * Host mappings (issue 11): MEM_LEN of process memory (an anonymous mmap
 * placed 4 KiB off a 2 MiB boundary, so every page is its own 4 KiB leaf)
 * mapped with mmrt_map_host(): mem-host-meta-4k is the mmrt metadata per
 * host page beyond the PTE: the frames the mapping took that are not
 * page-table pages (none are expected: the page's frame is the caller's),
 * the frame metadata of the page-table pages it took, and the DPDK heap
 * bytes (region bookkeeping), per 4 KiB page; the PTEs themselves (the
 * page-table pages' 4 KiB) are left out and printed.
 *
 * Targets (issue 16): page tables plus metadata <= 1% of the mapped bytes;
 * frame metadata <= 32 bytes per frame; (issue 11) host-mapping metadata
 * beyond the PTE <= 8 bytes per 4 KiB page. The rest are reports.
 */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>

#include "perf_common.h"

#define MEM_PROG "perf-mem"
#define MEM_POOL_MB 384
#define MEM_LEN (UINT64_C(64) << 20)
#define MEM_VA_4K UINT64_C(0x100000000000)
#define MEM_VA_2M UINT64_C(0x200000000000)
#define MEM_OVERHEAD_TARGET 0.01       /* of the mapped bytes */
#define MEM_FRAME_META_BUDGET 32.0     /* bytes per frame */
#define MEM_VA_HOST UINT64_C(0x300000000000)
#define MEM_HOST_META_BUDGET 8.0       /* bytes per 4 KiB host page */
#define MEM_CONSUMERS 16u              /* created to average the cost */
/* the consumer geometry measured: the defaults of mmrt_consumer_conf */
#define MEM_TLB_SETS 64u
#define MEM_TLB_WAYS 4u
#define MEM_RING_SIZE 256u

/* Bytes allocated from the DPDK heaps of every socket. */
static uint64_t
mem_heap_used(void)
{
	struct rte_malloc_socket_stats st;
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < rte_socket_count(); i++) {
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i),
				&st) < 0)
			perf_die("rte_malloc_get_socket_stats(%u)", i);
		sum += st.heap_allocsz_bytes;
	}
	return sum;
}

static void
mem_pool_stats(struct mmrt_mem_stats *st)
{
	mmrt_mm_reclaim(true);
	mmrt_mem_cache_flush();
	perf_mem_stats(st);
}

/* What a mapping is measured by: the pool, the space, the DPDK heap. */
struct mem_snap {
	struct mmrt_mem_stats pool;
	struct mmrt_as_stats as;
	uint64_t heap;
};

static void
mem_snap(struct mmrt_as *as, struct mem_snap *s)
{
	mem_pool_stats(&s->pool);
	if (mmrt_as_stats(as, &s->as) < 0)
		perf_die("mmrt_as_stats");
	s->heap = mem_heap_used();
}

/*
 * Page-table pages the pool gave from @s0 to @s1, which must be the ones
 * the space counts.
 */
static uint64_t
mem_snap_pt(const char *tag, const struct mem_snap *s0,
	const struct mem_snap *s1)
{
	uint64_t pt = s1->pool.pt_pages - s0->pool.pt_pages;

	if (s1->as.pt_pages - s0->as.pt_pages != pt)
		perf_die("%s: the space counts %" PRIu64 " new page-table "
			"pages, the pool %" PRIu64, tag,
			s1->as.pt_pages - s0->as.pt_pages, pt);
	return pt;
}

/* A report or judged row of bytes against a reference byte count. */
static void
mem_row(struct perf_result *r, const char *name, const char *unit,
	double value, const char *anchor, double anchor_value, double target)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->anchor, sizeof(r->anchor), "%s", anchor);
	r->unit = unit;
	r->value = value;
	r->anchor_value = anchor_value;
	r->target = target;
}

/* Metadata bytes per frame: struct mmrt_frame, and the IOVA table. */
static double
mem_meta_per_frame(const struct mmrt_mem_stats *st)
{
	double b = (double)st->bytes_meta / (double)st->frames_total;

	if (!st->iova_as_va)
		b += sizeof(rte_iova_t);
	return b;
}

/*
 * Map MEM_LEN at @p va with @p flags, populated, and write the overhead
 * rows of @p tag ("4k", "2m") into @p r. @return rows written.
 */
static unsigned int
mem_mapping(struct mmrt_as *as, uint64_t va, uint32_t flags, const char *tag,
	struct perf_result *r)
{
	struct mem_snap s0, s1;
	uint64_t frames, pt, p;
	double meta, pt_b, heap_b, meta_b, len = (double)MEM_LEN;
	uint8_t one = 1;
	char name[PERF_NAME_SIZE];
	int ret;

	mem_snap(as, &s0);
	ret = mmrt_map(as, va, MEM_LEN, MMRT_PROT_READ | MMRT_PROT_WRITE,
		MMRT_MAP_POPULATE | flags);
	if (ret < 0)
		perf_die("mmrt_map(%s): %s", tag, strerror(-ret));
	/* every page its own frame, as a written mapping has */
	for (p = 0; p < MEM_LEN; p += MMRT_PAGE_SIZE) {
		ret = mmrt_write(as, va + p, &one, 1);
		if (ret < 0)
			perf_die("mmrt_write: %s", strerror(-ret));
	}
	mem_snap(as, &s1);
	frames = s0.pool.frames_free - s1.pool.frames_free;
	pt = mem_snap_pt(tag, &s0, &s1);
	if (s1.as.rss_pages - s0.as.rss_pages != MEM_LEN / MMRT_PAGE_SIZE)
		perf_die("%s: %" PRIu64 " pages present, expected %" PRIu64,
			tag, s1.as.rss_pages - s0.as.rss_pages,
			MEM_LEN / MMRT_PAGE_SIZE);
	meta = mem_meta_per_frame(&s1.pool);
	pt_b = (double)pt * MMRT_PAGE_SIZE;
	/* the metadata of every frame the mapping took, page tables too */
	meta_b = (double)frames * meta;
	heap_b = (double)(s1.heap - s0.heap);
	printf("%s: %" PRIu64 " MiB mapped: %" PRIu64 " frames taken (%"
		PRIu64 " page-table pages), %.1f B metadata per frame, %.0f B "
		"DPDK heap\n", tag, MEM_LEN >> 20, frames, pt, meta, heap_b);

	snprintf(name, sizeof(name), "mem-pt-%s", tag);
	mem_row(&r[0], name, "B", pt_b, "mapped-bytes", len,
		PERF_REPORT_ONLY);
	snprintf(name, sizeof(name), "mem-meta-%s", tag);
	mem_row(&r[1], name, "B", meta_b, "mapped-bytes", len,
		PERF_REPORT_ONLY);
	snprintf(name, sizeof(name), "mem-pt+meta-%s", tag);
	mem_row(&r[2], name, "B", pt_b + meta_b + heap_b, "mapped-bytes",
		len, MEM_OVERHEAD_TARGET);

	ret = mmrt_unmap(as, va, MEM_LEN);
	if (ret < 0)
		perf_die("mmrt_unmap: %s", strerror(-ret));
	return 3;
}

/* Host mapping: mmrt metadata per 4 KiB host page beyond the PTE. */
static unsigned int
mem_host(struct mmrt_as *as, struct perf_result *r)
{
	uint64_t frames, pt, npages = MEM_LEN / MMRT_PAGE_SIZE;
	struct mem_snap s0, s1;
	size_t maplen = MEM_LEN + 2 * MMRT_HUGE_SIZE;
	double meta, beyond;
	uint8_t *map, *h;
	int ret;

	map = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		perf_die("mmap: %s", strerror(errno));
	h = (uint8_t *)RTE_ALIGN_CEIL((uintptr_t)map, MMRT_HUGE_SIZE) +
		MMRT_PAGE_SIZE;
	memset(h, 1, MEM_LEN);
	mem_snap(as, &s0);
	ret = mmrt_map_host(as, MEM_VA_HOST, h, MEM_LEN,
		MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	if (ret < 0)
		perf_die("mmrt_map_host: %s", strerror(-ret));
	mem_snap(as, &s1);
	frames = s0.pool.frames_free - s1.pool.frames_free;
	pt = mem_snap_pt("host", &s0, &s1);
	if (s1.as.rss_pages != s0.as.rss_pages)
		perf_die("host: rss changed by %" PRId64 " pages (host pages "
			"are not the pool's)",
			(int64_t)(s1.as.rss_pages - s0.as.rss_pages));
	meta = mem_meta_per_frame(&s1.pool);
	beyond = ((double)(frames - pt) * (MMRT_PAGE_SIZE + meta) +
		(double)pt * meta + (double)(s1.heap - s0.heap)) /
		(double)npages;
	printf("host: %" PRIu64 " MiB mapped in 4 KiB leaves: %" PRIu64
		" page-table pages (%.2f B of PTE table per page), %" PRIu64
		" other frames, %" PRIu64 " B DPDK heap: %.3f B of metadata "
		"per page beyond the PTE\n", MEM_LEN >> 20, pt,
		(double)pt * MMRT_PAGE_SIZE / (double)npages, frames - pt,
		s1.heap - s0.heap, beyond);
	mem_row(&r[0], "mem-host-meta-4k", "B/page", beyond, "budget-8B",
		MEM_HOST_META_BUDGET, 1.0);
	ret = mmrt_unmap(as, MEM_VA_HOST, MEM_LEN);
	if (ret < 0)
		perf_die("mmrt_unmap: %s", strerror(-ret));
	munmap(map, maplen);
	return 1;
}

/* Per consumer: heap bytes of a consumer, its device TLB and the rest. */
static unsigned int
mem_consumers(struct mmrt_as *as, struct perf_result *r)
{
	struct mmrt_consumer *c[MEM_CONSUMERS];
	struct mmrt_consumer_conf conf = { .tlb_sets = MEM_TLB_SETS,
		.tlb_ways = MEM_TLB_WAYS, .ring_size = MEM_RING_SIZE };
	uint64_t heap0, heap1;
	double per, tlb, blocks, entries;
	char name[32];
	unsigned int i;
	int ret;

	heap0 = mem_heap_used();
	for (i = 0; i < MEM_CONSUMERS; i++) {
		snprintf(name, sizeof(name), "perf-mem-%u", i);
		conf.name = name;
		c[i] = perf_consumer(as, &conf);
	}
	heap1 = mem_heap_used();
	for (i = 0; i < MEM_CONSUMERS; i++) {
		ret = mmrt_consumer_destroy(c[i]);
		if (ret < 0)
			perf_die("mmrt_consumer_destroy: %s", strerror(-ret));
	}
	per = (double)(heap1 - heap0) / MEM_CONSUMERS;
	/* ways are laid out in whole blocks of MMRT_DEV_TLB_BLOCK */
	blocks = (double)((MEM_TLB_WAYS + MMRT_DEV_TLB_BLOCK - 1) /
		MMRT_DEV_TLB_BLOCK);
	tlb = (double)MEM_TLB_SETS * blocks * MMRT_DEV_TLB_BLOCK *
		sizeof(struct mmrt_dev_tlbe);
	entries = (double)MEM_TLB_SETS * MEM_TLB_WAYS;
	printf("consumer (%u sets x %u ways, ring %u): %.0f B of DPDK heap "
		"each (mean of %u), of which device TLB %.0f B\n",
		MEM_TLB_SETS, MEM_TLB_WAYS, MEM_RING_SIZE, per, MEM_CONSUMERS,
		tlb);
	if (tlb > per)
		perf_die("the device TLB (%.0f B) is larger than the heap "
			"bytes a consumer took (%.0f B)", tlb, per);
	mem_row(&r[0], "mem-consumer", "B", per, "", NAN, PERF_REPORT_ONLY);
	mem_row(&r[1], "mem-dtlb-4k", "B", tlb, "tlb-reach-4k",
		entries * MMRT_PAGE_SIZE, PERF_REPORT_ONLY);
	mem_row(&r[2], "mem-dtlb-2m", "B", tlb, "tlb-reach-2m",
		entries * MMRT_HUGE_SIZE, PERF_REPORT_ONLY);
	mem_row(&r[3], "mem-rings-consumer", "B", per - tlb, "mem-consumer",
		per, PERF_REPORT_ONLY);
	return 4;
}

int
main(int argc, char **argv)
{
	struct perf_result res[3 + 3 + 1 + 1 + 4];
	struct mmrt_mem_stats st;
	struct perf_opts opts;
	struct mmrt_as *as;
	unsigned int n = 0;
	int ret;

	perf_parse_args(argc, argv, MEM_PROG, &opts);
	perf_init(MEM_PROG, MEM_POOL_MB, &opts);

	as = perf_as_create("perf-mem");
	n += mem_mapping(as, MEM_VA_4K, 0, "4k", &res[n]);
	n += mem_mapping(as, MEM_VA_2M, MMRT_MAP_HUGE, "2m", &res[n]);

	mem_pool_stats(&st);
	printf("frame metadata: %" PRIu64 " B for %" PRIu64 " frames "
		"(struct mmrt_frame %zu B)%s\n", st.bytes_meta,
		st.frames_total, sizeof(struct mmrt_frame),
		st.iova_as_va ? "" : ", plus an IOVA per frame");
	mem_row(&res[n++], "mem-frame-meta", "B/frame",
		mem_meta_per_frame(&st), "budget-32B", MEM_FRAME_META_BUDGET,
		1.0);

	n += mem_host(as, &res[n]);
	n += mem_consumers(as, &res[n]);
	perf_as_destroy(as);

	ret = perf_report(&opts, res, n);
	perf_fini();
	return ret;
}
