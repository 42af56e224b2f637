/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The engine scenarios over host mappings (issue 11, Tests, first item):
 * a dma_mmrt device (as=, driven with rte_dma_* only) and a polling
 * consumer on host memory of three kinds, each with 4 KiB leaves and with
 * 2 MiB leaves (VA and host address both 2 MiB aligned):
 *  - anonymous mmap() memory,
 *  - malloc memory (aligned_alloc()),
 *  - DPDK memory (rte_malloc()).
 * For each: copies of several shapes between host, host and pool memory,
 * and fills, checked byte for byte, twice, with the device-TLB hits of the
 * second pass counted; PAGE_FAULT on holes (a page unmapped inside a host
 * mapping, splitting its 2 MiB leaf; nothing mapped at all) with the
 * written prefix ending at the page boundary before the hole; a copy
 * into a read-only host page refused, and accepted once mmrt_protect()
 * restores write; the hmm-tests anon_teardown race, with the engine
 * streaming long copies and fills into the host buffer and a consumer
 * thread writing through its device TLB while the test thread unmaps it
 * (or downgrades it to read-only), and the buffer freed (munmap(),
 * free(), rte_free()) and allocated again filled with a canary, or
 * refilled with the canary in place after a downgrade, as soon as the
 * call returns: no byte of the canary may change afterwards (invariant A
 * for memory the caller owns); a userfault MISSING fill into a host
 * mapping that an engine operation parked on resumes after, across three
 * pages (two copies and a zero page).
 *
 * The negative control (test-hook builds: dev_test_hooks.inval_no_wait,
 * invalidations that do not wait for the acks) runs the anon_teardown
 * loop until the canary check catches a write after the unmap returned.
 *
 * Every loop is bounded in count and time; no assertion is about elapsed
 * time.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <rte_dmadev.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include <mmrt_dev.h>
#include <mmrt_uffd.h>

#include "common.h"
#include "dmm_common.h"
#ifdef MMRT_TEST_HOOKS
#include "dev_testhooks.h"
#endif

#define POOL_MB 64
#define ENGINE_LCORE 1
#define WAIT_S 30
/* generous ack and park deadlines: the machine is shared */
#define DEVARGS "ack_us=5000000,park_us=5000000"

#define CANARY 0xee
#define CONS_BYTE 0x5c
#define FILL_PAT UINT64_C(0x0123456789abcdef)

/* the host mappings, the pool region, and a VA nothing is mapped at */
#define HVA VA
#define HVB VB
#define PVA VC
#define HOLE_VA (UINT64_C(4) << 30)

MMRT_TEST_FIXTURES(POOL_MB);

TestSuite(host_engine, .init = setup, .fini = teardown, .timeout = 300);

/* ---- host buffers: the caller's memory ---- */

enum hb_kind { HB_MMAP, HB_MALLOC, HB_RTE };

struct hbuf {
	enum hb_kind kind;
	size_t align;
	size_t len;
	uint8_t *p;
};

static const char *
hb_name(const struct hbuf *b)
{
	static const char *const n[] = { "mmap", "malloc", "rte_malloc" };

	return n[b->kind];
}

/* mmap() exactly [p, p + len) with @p at an @align boundary. */
static uint8_t *
hb_mmap(size_t align, size_t len)
{
	uint8_t *raw, *p;
	size_t head;

	raw = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(raw, MAP_FAILED);
	p = RTE_PTR_ALIGN_CEIL(raw, align);
	head = (size_t)(p - raw);
	if (head > 0)
		cr_assert_eq(munmap(raw, head), 0);
	if (align - head > 0)
		cr_assert_eq(munmap(p + len, align - head), 0);
	return p;
}

/* @len bytes of @kind memory, @huge: 2 MiB aligned, zeroed. */
static void
hb_get(struct hbuf *b, enum hb_kind kind, bool huge, size_t len)
{
	b->kind = kind;
	b->align = huge ? HPG : PG;
	b->len = len;
	switch (kind) {
	case HB_MMAP:
		b->p = hb_mmap(b->align, len);
		break;
	case HB_MALLOC:
		b->p = aligned_alloc(b->align, len);
		break;
	case HB_RTE:
		b->p = rte_malloc(NULL, len, b->align);
		break;
	}
	cr_assert_not_null(b->p, "%s of %zu bytes", hb_name(b), len);
	memset(b->p, 0, len);
}

static void
hb_put(struct hbuf *b)
{
	switch (b->kind) {
	case HB_MMAP:
		cr_assert_eq(munmap(b->p, b->len), 0);
		break;
	case HB_MALLOC:
		free(b->p);
		break;
	case HB_RTE:
		rte_free(b->p);
		break;
	}
	b->p = NULL;
}

/*
 * A memfd full of CANARY, at least @len bytes: mapped privately, it
 * refills an mmap buffer with the canary in the mmap() call itself, with
 * no window in which a memset() could cover a stray write.
 */
static int canary_fd = -1;
static size_t canary_len;

static int
canary_file(size_t len)
{
	static uint8_t blk[64 * 1024];
	size_t o;

	if (canary_fd >= 0 && canary_len >= len)
		return canary_fd;
	if (canary_fd >= 0)
		close(canary_fd);
	canary_fd = memfd_create("mmrt-canary", MFD_CLOEXEC);
	cr_assert_geq(canary_fd, 0, "memfd_create: %d", errno);
	memset(blk, CANARY, sizeof(blk));
	for (o = 0; o < len; o += sizeof(blk))
		cr_assert_eq(pwrite(canary_fd, blk, RTE_MIN(sizeof(blk),
			len - o), (off_t)o), (ssize_t)RTE_MIN(sizeof(blk),
			len - o));
	canary_len = len;
	return canary_fd;
}

/*
 * Give the memory back and take the same amount again, filled with
 * @byte: what a caller does with its buffer the moment mmrt_unmap()
 * returns. mmap memory is unmapped and mapped again at the same address
 * (@replace: in one step, mmap(MAP_FIXED) over it, so that a stray write
 * lands in the new pages instead of faulting), the canary as a private
 * mapping of canary_file(); malloc and rte_malloc memory is freed and
 * allocated again (the allocators usually give the same address back).
 * @return whether the address is the same.
 */
static bool
hb_refill(struct hbuf *b, uint8_t byte, bool replace)
{
	uint8_t *old = b->p, *p;
	bool file = byte == CANARY;

	switch (b->kind) {
	case HB_MMAP:
		if (!replace)
			cr_assert_eq(munmap(old, b->len), 0);
		p = mmap(old, b->len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
			(file ? 0 : MAP_ANONYMOUS) |
			(replace ? MAP_FIXED : MAP_FIXED_NOREPLACE),
			file ? canary_file(b->len) : -1, 0);
		cr_assert_eq(p, old, "mmap again at %p: %p", (void *)old,
			(void *)p);
		b->p = p;
		if (file)
			return true; /* the canary is there already */
		break;
	case HB_MALLOC:
		free(old);
		b->p = aligned_alloc(b->align, b->len);
		break;
	case HB_RTE:
		rte_free(old);
		b->p = rte_malloc(NULL, b->len, b->align);
		break;
	}
	cr_assert_not_null(b->p);
	memset(b->p, byte, b->len);
	return b->p == old;
}

/* ---- the device ---- */

static void
dma_up(struct tdmm *d, const char *name, struct mmrt_as *as)
{
	tdmm_up_as(d, name, as, ENGINE_LCORE, DEVARGS);
}

/* Submit what was enqueued and wait for all of it; @return failures. */
static uint64_t
dma_run(struct tdmm *d)
{
	cr_assert_eq(rte_dma_submit(d->id, 0), 0);
	return tdmm_drain(d, WAIT_S);
}

/* Enqueue a copy; asserts room. */
static void
dma_copy(struct tdmm *d, uint64_t src, uint64_t dst, uint32_t len)
{
	int rc = rte_dma_copy(d->id, 0, src, dst, len, 0);

	cr_assert_geq(rc, 0, "copy %#" PRIx64 " -> %#" PRIx64 " (%u): %d",
		src, dst, len, rc);
}

/* Byte @i of the host source pattern, and of the pool's. */
static uint8_t
sbyte(uint64_t i)
{
	return (uint8_t)(i * 7 + (i >> 12) + 1);
}

static uint8_t
pbyte(uint64_t i)
{
	return (uint8_t)(i * 13 + (i >> 12) + 5);
}

/* ---- copies of several shapes, device-TLB hits ---- */

/*
 * Operations of one pass over S (host, at HVA), D (host, at HVB) and P
 * (pool, at PVA), each @len bytes: {kind, src offset, dst offset, len}.
 */
enum { OPK_SD, OPK_SP, OPK_PD, OPK_FILL_D };

struct eop {
	int k;
	uint64_t so, doff;
	uint32_t len;
};

static const struct eop ops_small[] = {
	{ OPK_SD, 0, 0, 1 }, { OPK_SD, 4095, 4095, 2 },
	{ OPK_SD, 1, 8190, 4096 }, { OPK_SD, 100, 3 * PG - 7, 5 * PG + 13 },
	{ OPK_SD, 0, 20 * PG, 40 * PG }, { OPK_SP, 7, 9 * PG + 3, 6 * PG },
	{ OPK_PD, 9 * PG, 61 * PG + 1, 2 * PG + 11 },
	{ OPK_FILL_D, 0, 62 * PG + 3, 8 }, { OPK_FILL_D, 0, 60 * PG - 5, 89 },
	{ OPK_SP, 30 * PG, 30 * PG + 1, 20 * PG },
	{ OPK_PD, 30 * PG + 17, 8 * PG + 9, 9 * PG },
};

/* across the boundary of two 2 MiB leaves, and one leaf whole */
static const struct eop ops_huge[] = {
	{ OPK_SD, HPG - 3 * PG + 5, HPG - PG - 1, 4 * PG + 2 },
	{ OPK_SP, 0, HPG, HPG },
	{ OPK_PD, HPG + 1, 3, HPG - 64 },
	{ OPK_FILL_D, 0, 2 * HPG - 4 * PG, 4 * PG },
};

/* Enqueue @n ops and apply each to the models @ms/@md/@mp, in order. */
static void
ops_enqueue(struct tdmm *d, const struct eop *o, unsigned int n,
	const uint8_t *ms, uint8_t *md, uint8_t *mp)
{
	unsigned int k;
	uint64_t i;
	int rc;

	for (k = 0; k < n; k++) {
		switch (o[k].k) {
		case OPK_SD:
			dma_copy(d, HVA + o[k].so, HVB + o[k].doff, o[k].len);
			memmove(md + o[k].doff, ms + o[k].so, o[k].len);
			break;
		case OPK_SP:
			dma_copy(d, HVA + o[k].so, PVA + o[k].doff, o[k].len);
			memmove(mp + o[k].doff, ms + o[k].so, o[k].len);
			break;
		case OPK_PD:
			dma_copy(d, PVA + o[k].so, HVB + o[k].doff, o[k].len);
			memmove(md + o[k].doff, mp + o[k].so, o[k].len);
			break;
		case OPK_FILL_D:
			rc = rte_dma_fill(d->id, 0, FILL_PAT, HVB + o[k].doff,
				o[k].len, 0);
			cr_assert_geq(rc, 0);
			for (i = 0; i < o[k].len; i++)
				md[o[k].doff + i] =
					(uint8_t)(FILL_PAT >> (8 * (i % 8)));
			break;
		}
	}
}

static void
copies(enum hb_kind kind, bool huge)
{
	const uint64_t len = huge ? 2 * HPG : 64 * PG;
	uint64_t used0 = mmrt_test_used(), i;
	struct mmrt_as *as = mmrt_as_create("hecp");
	struct mmrt_dma_mmrt_stats st0, st1, st2;
	uint8_t *ms, *md, *mp, *got;
	struct hbuf s, dd;
	struct tdmm d;
	unsigned int pass;

	cr_assert_not_null(as);
	hb_get(&s, kind, huge, len);
	hb_get(&dd, kind, huge, len);
	ms = malloc(len);
	md = calloc(1, len);
	mp = malloc(len);
	got = malloc(len);
	cr_assert(ms != NULL && md != NULL && mp != NULL && got != NULL);
	for (i = 0; i < len; i++) {
		s.p[i] = ms[i] = sbyte(i);
		mp[i] = pbyte(i);
	}
	cr_assert_eq(mmrt_map_host(as, HVA, s.p, len, RW, 0), 0);
	cr_assert_eq(mmrt_map_host(as, HVB, dd.p, len, RW, 0), 0);
	/* the pool region in 2 MiB leaves too, so that the device TLB
	 * holds every page of a pass */
	cr_assert_eq(mmrt_map(as, PVA, len, RW, MMRT_MAP_POPULATE |
		(huge ? MMRT_MAP_HUGE : 0)), 0);
	cr_assert_eq(mmrt_write(as, PVA, mp, len), 0);
	dma_up(&d, "hecp", as);
	st0 = tdmm_stats(&d);
	st1 = st0;
	/* the same operations twice: the second pass finds the device TLB
	 * filled by the first (no invalidation in between) */
	for (pass = 0; pass < 2; pass++) {
		ops_enqueue(&d, ops_small, RTE_DIM(ops_small), ms, md, mp);
		if (huge)
			ops_enqueue(&d, ops_huge, RTE_DIM(ops_huge), ms, md,
				mp);
		cr_assert_eq(dma_run(&d), 0, "pass %u", pass);
		mmrt_test_cmp_buf(dd.p, md, len, HVB, "host destination");
		cr_assert_eq(mmrt_read(as, PVA, got, len), 0);
		mmrt_test_cmp_buf(got, mp, len, PVA, "pool destination");
		mmrt_test_cmp_buf(s.p, ms, len, HVA, "host source");
		if (pass == 0)
			st1 = tdmm_stats(&d);
	}
	st2 = tdmm_stats(&d);
	cr_log_info("copies %s %s: pass 1 hits %" PRIu64 " misses %" PRIu64
		" fills %" PRIu64 "; pass 2 hits %" PRIu64 " misses %" PRIu64
		" fills %" PRIu64, hb_name(&s), huge ? "2M" : "4K",
		st1.consumer.tlb_hits - st0.consumer.tlb_hits,
		st1.consumer.tlb_misses - st0.consumer.tlb_misses,
		st1.consumer.tlb_fills - st0.consumer.tlb_fills,
		st2.consumer.tlb_hits - st1.consumer.tlb_hits,
		st2.consumer.tlb_misses - st1.consumer.tlb_misses,
		st2.consumer.tlb_fills - st1.consumer.tlb_fills);
	/* device-TLB hits on host leaves: every page the second pass
	 * touches was cached by the first (the TLB holds them all) */
	cr_assert_gt(st2.consumer.tlb_hits - st1.consumer.tlb_hits,
		st1.consumer.tlb_hits - st0.consumer.tlb_hits);
	cr_assert_eq(st2.consumer.tlb_misses, st1.consumer.tlb_misses,
		"the second pass walked");
	cr_assert_eq(st2.consumer.tlb_fills, st1.consumer.tlb_fills);
	if (huge)
		/* host 2 MiB leaves are cached as such: one entry per leaf,
		 * two leaves in each of S, D and P */
		cr_assert_leq(st1.consumer.tlb_fills - st0.consumer.tlb_fills,
			6);
	cr_assert_eq(st2.page_faults, 0);
	tdmm_down(&d);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0, "frames leaked");
	/* the caller's memory is untouched by the destroy */
	mmrt_test_cmp_buf(dd.p, md, len, HVB, "host destination after destroy");
	hb_put(&s);
	hb_put(&dd);
	free(ms);
	free(md);
	free(mp);
	free(got);
}

Test(host_engine, copies_mmap_4k) { copies(HB_MMAP, false); }
Test(host_engine, copies_mmap_2m) { copies(HB_MMAP, true); }
Test(host_engine, copies_malloc_4k) { copies(HB_MALLOC, false); }
Test(host_engine, copies_malloc_2m) { copies(HB_MALLOC, true); }
Test(host_engine, copies_rte_4k) { copies(HB_RTE, false); }
Test(host_engine, copies_rte_2m) { copies(HB_RTE, true); }

/* ---- PAGE_FAULT on holes, protect down and up ---- */

/* Run one op alone; @return its status. */
static enum rte_dma_status_code
one(struct tdmm *d, uint64_t src, uint64_t dst, uint32_t len)
{
	dma_copy(d, src, dst, len);
	cr_assert_eq(rte_dma_submit(d->id, 0), 0);
	return tdmm_wait_one(d, WAIT_S);
}

/* @p[@from, @to) must be @want[@from, @to). */
static void
expect(const uint8_t *p, const uint8_t *want, uint64_t from, uint64_t to,
	const char *what)
{
	mmrt_test_cmp_buf(p + from, want + from, to - from, from, what);
}

static void
holes(enum hb_kind kind, bool huge)
{
	const uint64_t len = huge ? HPG : 64 * PG;
	uint64_t used0 = mmrt_test_used(), i;
	struct mmrt_as *as = mmrt_as_create("hehole");
	struct mmrt_dma_mmrt_stats st0, st;
	uint8_t *ms, *md;
	struct hbuf s, dd;
	struct tdmm d;
	struct mmrt_xlate x;

	cr_assert_not_null(as);
	hb_get(&s, kind, huge, len);
	hb_get(&dd, kind, huge, len);
	ms = malloc(len);
	md = calloc(1, len);
	cr_assert(ms != NULL && md != NULL);
	for (i = 0; i < len; i++)
		s.p[i] = ms[i] = sbyte(i);
	cr_assert_eq(mmrt_map_host(as, HVA, s.p, len, RW, 0), 0);
	cr_assert_eq(mmrt_map_host(as, HVB, dd.p, len, RW, 0), 0);
	dma_up(&d, "hehole", as);
	st0 = tdmm_stats(&d);

	/* cache the leaves first: the hole must be seen through the TLB */
	cr_assert_eq(one(&d, HVA, HVB + 40 * PG, 8 * PG),
		RTE_DMA_STATUS_SUCCESSFUL);
	memcpy(md + 40 * PG, ms, 8 * PG);

	/* a source hole (a 2 MiB host leaf is split around it): the op
	 * stops at the destination page boundary before it */
	cr_assert_eq(mmrt_unmap(as, HVA + 5 * PG, PG), 0);
	cr_assert_eq(mmrt_translate(as, HVA + 6 * PG, 0, &x), 0);
	cr_assert_eq(x.addr, s.p + 6 * PG);
	cr_assert_eq(one(&d, HVA + 2 * PG + 100, HVB, 6 * PG),
		RTE_DMA_STATUS_PAGE_FAULT);
	/* source byte 5 * PG is op offset 3 * PG - 100: in destination
	 * page 2, so pages 0 and 1 are written and nothing from page 2 on */
	memcpy(md, ms + 2 * PG + 100, 2 * PG);
	expect(dd.p, md, 0, len, "after a source hole");

	/* a destination hole: pages before it written, none after */
	cr_assert_eq(mmrt_unmap(as, HVB + 20 * PG, PG), 0);
	cr_assert_eq(one(&d, HVA + 10 * PG + 1, HVB + 18 * PG, 4 * PG),
		RTE_DMA_STATUS_PAGE_FAULT);
	memcpy(md + 18 * PG, ms + 10 * PG + 1, 2 * PG);
	expect(dd.p, md, 0, len, "after a destination hole");

	/* nothing mapped at all, either side */
	cr_assert_eq(one(&d, HOLE_VA + 8, HVB + 30 * PG, 64),
		RTE_DMA_STATUS_PAGE_FAULT);
	cr_assert_eq(one(&d, HVA + 30 * PG, HOLE_VA, 64),
		RTE_DMA_STATUS_PAGE_FAULT);
	expect(dd.p, md, 0, len, "after copies from and to nothing");

	/* a downgrade under a cached writable entry: refused */
	cr_assert_eq(one(&d, HVA + 30 * PG, HVB + 30 * PG, 4 * PG),
		RTE_DMA_STATUS_SUCCESSFUL);
	memcpy(md + 30 * PG, ms + 30 * PG, 4 * PG);
	cr_assert_eq(mmrt_protect(as, HVB + 30 * PG, 4 * PG, RO), 0);
	cr_assert_eq(one(&d, HVA + 50 * PG, HVB + 30 * PG, 4 * PG),
		RTE_DMA_STATUS_INVALID_DST_ADDR);
	/* ... and a copy that reaches it writes the pages before only */
	cr_assert_eq(one(&d, HVA + 50 * PG + 3, HVB + 28 * PG, 3 * PG),
		RTE_DMA_STATUS_INVALID_DST_ADDR);
	memcpy(md + 28 * PG, ms + 50 * PG + 3, 2 * PG);
	expect(dd.p, md, 0, len, "read-only destination");
	/* reading it is still fine */
	cr_assert_eq(one(&d, HVB + 30 * PG, HVB + 44 * PG, 2 * PG),
		RTE_DMA_STATUS_SUCCESSFUL);
	memcpy(md + 44 * PG, md + 30 * PG, 2 * PG);

	/* mmrt_protect() restores write: the next copy writes (a write
	 * fault the driver serves as a page request) */
	cr_assert_eq(mmrt_protect(as, HVB + 30 * PG, 4 * PG, RW), 0);
	cr_assert_eq(one(&d, HVA + 50 * PG + 3, HVB + 28 * PG, 6 * PG),
		RTE_DMA_STATUS_SUCCESSFUL);
	memcpy(md + 28 * PG, ms + 50 * PG + 3, 6 * PG);
	expect(dd.p, md, 0, len, "write restored");

	st = tdmm_stats(&d);
	cr_assert_eq(st.page_faults - st0.page_faults, 4);
	cr_assert_eq(st.errors - st0.errors, 6);
	tdmm_down(&d);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0, "frames leaked");
	mmrt_test_cmp_buf(s.p, ms, len, HVA, "the source is never written");
	hb_put(&s);
	hb_put(&dd);
	free(ms);
	free(md);
}

Test(host_engine, holes_mmap_4k) { holes(HB_MMAP, false); }
Test(host_engine, holes_mmap_2m) { holes(HB_MMAP, true); }
Test(host_engine, holes_malloc_4k) { holes(HB_MALLOC, false); }
Test(host_engine, holes_malloc_2m) { holes(HB_MALLOC, true); }
Test(host_engine, holes_rte_4k) { holes(HB_RTE, false); }
Test(host_engine, holes_rte_2m) { holes(HB_RTE, true); }

/* ---- anon_teardown: the buffer freed and refilled at once ---- */

/*
 * The consumer thread: batches of writes through its device TLB at
 * pseudo-random places of the host mapping, then a poll (its ack point).
 * Translations that fail (nothing mapped, read-only, not present) are
 * skipped; page requests are drained and dropped (nobody serves them:
 * the test thread does not fault for it).
 */
#define CT_BATCH 64
#define CT_BYTES 512
#define CT_FIRST 8 /* the consumer writes pages CT_FIRST.. only */

static struct {
	struct mmrt_consumer *c;
	uint64_t npages;
	int stop;
	uint64_t batches;     /* release by the thread */
	uint64_t wbatches;    /* batches with at least one write */
	uint64_t writes;
} ct;

static void *
ct_main(void *arg)
{
	uint64_t seed = UINT64_C(0x9e3779b97f4a7c15), o, va[16];
	uint32_t acc[16];
	struct mmrt_xlate x;
	unsigned long it = 0;
	unsigned int i, n;

	RTE_SET_USED(arg);
	if (mmrt_thread_register() < 0)
		return (void *)1;
	while (!__atomic_load_n(&ct.stop, __ATOMIC_ACQUIRE)) {
		for (i = 0, n = 0; i < CT_BATCH; i++) {
			o = mmrt_test_xorshift(&seed);
			o = (CT_FIRST + o % (ct.npages - CT_FIRST)) * PG +
				(o >> 52) % (PG - CT_BYTES);
			if (mmrt_consumer_translate(ct.c, HVA + o,
					MMRT_ACCESS_WRITE, &x) != 0)
				continue;
			memset(x.addr, CONS_BYTE, CT_BYTES);
			n++;
		}
		while (mmrt_consumer_page_requests(ct.c, va, acc,
				RTE_DIM(va)) > 0)
			;
		/* the ack point: none of this batch's translations is used
		 * after it */
		mmrt_consumer_poll(ct.c);
		__atomic_store_n(&ct.writes, ct.writes + n, __ATOMIC_RELAXED);
		if (n > 0)
			__atomic_store_n(&ct.wbatches, ct.wbatches + 1,
				__ATOMIC_RELEASE);
		__atomic_store_n(&ct.batches, ct.batches + 1,
			__ATOMIC_RELEASE);
		mmrt_test_relax(it++, 15);
	}
	mmrt_thread_unregister();
	return NULL;
}

/* Wait (bounded) until the consumer thread ran @n more batches (with a
 * write in each, if @writing). @return false if it did not. */
static bool
ct_wait(unsigned int n, bool writing)
{
	uint64_t *cnt = writing ? &ct.wbatches : &ct.batches;
	uint64_t b = __atomic_load_n(cnt, __ATOMIC_ACQUIRE);
	uint64_t d = mmrt_test_deadline(WAIT_S);
	unsigned long it = 0;

	if (ct.c == NULL)
		return true; /* no consumer thread in this run */

	while (__atomic_load_n(cnt, __ATOMIC_ACQUIRE) < b + n) {
		if (mmrt_test_expired(d))
			return false;
		mmrt_test_relax(it++, 63);
	}
	return true;
}

struct td_result {
	unsigned int rounds;
	unsigned int cut;        /* rounds with ops in flight at the return */
	unsigned int reused;     /* unmap rounds that got the same address */
	unsigned int unmaps;
	uint64_t failed_ops;     /* ops cut off by the unmap or protect */
	uint64_t violations;     /* canary bytes changed */
	unsigned int bad_round;
	uint64_t bad_off;
	uint8_t bad_byte;
	const char *err;
};

#define TD_ROUNDS 24
#define TD_NEG_ROUNDS 400
#define TD_NEG_SECS 20
#define TD_NEG_SPAN (64 * PG)
#define TD_NEG_ENGINE_LEN (8 * HPG)

/* The first byte of @b that is not the canary; @return how many. */
static uint64_t
canary_check(const struct hbuf *b, uint64_t *first, uint8_t *byte)
{
	uint64_t i, bad = 0;

	for (i = 0; i < b->len; i++)
		if (b->p[i] != CANARY) {
			if (bad++ == 0) {
				*first = i;
				*byte = b->p[i];
			}
		}
	return bad;
}

/*
 * The hmm-tests anon_teardown loop over a host buffer of @kind. Each
 * round maps it (zeroed) at HVA, lets the consumer thread write through
 * it, queues long copies (pool to host) and fills into it, and once the
 * engine finished a few, unmaps it (even rounds) or makes it read-only
 * (odd rounds, not in the negative control). The moment the call
 * returns, the buffer is freed and taken again filled with the canary
 * (unmap), or refilled in place (read-only; write is then restored and
 * an engine copy must land, before the unmap). After the engine drained
 * and the consumer thread ran two more batches, no canary byte may have
 * changed. With @no_wait (the negative control, hooks only) the
 * invalidations do not wait for acks and the loop stops at the first
 * changed byte, or after its bounds. Failures of the harness stop the
 * loop (in r->err) and are asserted by the caller once the hook is off.
 */
static void
td_loop(struct mmrt_as *as, struct tdmm *d, struct hbuf *b, uint64_t len,
	bool no_wait, struct td_result *r)
{
	static const uint32_t lens[] = { 16 * PG, 128 * PG, 5 * PG + 100,
		64 * PG, 256 * PG - 7, 32 * PG };
	const unsigned int rounds = no_wait ? TD_NEG_ROUNDS : TD_ROUNDS;
	/* The negative control with 4 KiB leaves keeps its operations in
	 * the first TD_NEG_SPAN bytes, which the device TLB holds whole:
	 * without the wait, the engine's next operations then still hit
	 * stale entries (in a wider span they mostly walk, find nothing
	 * and stop, and the control takes hundreds of rounds). */
	const uint64_t span = no_wait && len > TD_NEG_SPAN ? TD_NEG_SPAN :
		len;
	uint64_t dl = mmrt_test_deadline(TD_NEG_SECS), trig, dd, o, i, bad;
	struct mmrt_dma_mmrt_stats st;
	unsigned int round, k, nops;
	unsigned long it;
	bool prot;

	memset(r, 0, sizeof(*r));
	for (round = 0; round < rounds; round++) {
		if (no_wait && (r->violations > 0 || mmrt_test_expired(dl)))
			break;
		prot = !no_wait && (round & 1);
		r->rounds++;
		if (mmrt_map_host(as, HVA, b->p, len, RW, 0) != 0) {
			r->err = "map_host failed";
			break;
		}
		if (!ct_wait(2, true)) {
			r->err = "the consumer thread wrote nothing";
			break;
		}
		trig = tdmm_stats(d).completed + 2 + round % 5;
		/* engine-only negative control: fills of the whole buffer,
		 * a few milliseconds each through its 2 MiB entries */
		for (nops = 0, k = 0; no_wait && ct.c == NULL && k < 40; k++) {
			if (rte_dma_fill(d->id, 0, FILL_PAT, HVA, len, 0) < 0)
				break;
			nops++;
		}
		for (k = 0; !(no_wait && ct.c == NULL) && k < 160; k++) {
			uint32_t l = lens[(k + round) % RTE_DIM(lens)];

			if (l > span / 2)
				l = (uint32_t)(span / 2 - 7);
			o = ((uint64_t)k * 37 * PG + round * 4096) % (span - l);
			if ((k % 8) == 7 ? rte_dma_fill(d->id, 0, FILL_PAT,
					HVA + o, l, 0) < 0 :
					rte_dma_copy(d->id, 0, PVA + o, HVA + o,
					l, 0) < 0)
				break;
			nops++;
		}
		if (rte_dma_submit(d->id, 0) != 0 || nops < 40) {
			r->err = "could not queue the operations";
			break;
		}
		dd = mmrt_test_deadline(WAIT_S);
		it = 0;
		while (tdmm_stats(d).completed < trig && !mmrt_test_expired(dd))
			mmrt_test_relax(it++, 255);
		if ((prot ? mmrt_protect(as, HVA, len, RO) :
				mmrt_unmap(as, HVA, len)) != 0) {
			r->err = "unmap or protect failed";
			break;
		}
		/* was the engine still at work across that moment? */
		st = tdmm_stats(d);
		r->cut += st.completed < st.submitted;
		/* the caller owns the bytes again: reuse them at once */
		if (prot) {
			memset(b->p, CANARY, len);
		} else {
			r->unmaps++;
			r->reused += hb_refill(b, CANARY, no_wait);
		}
		r->failed_ops += tdmm_drain(d, WAIT_S);
		if (!ct_wait(2, false)) {
			r->err = "the consumer thread stopped";
			break;
		}
		bad = canary_check(b, &r->bad_off, &r->bad_byte);
		if (bad > 0 && r->violations == 0)
			r->bad_round = round;
		r->violations += bad;
		if (bad > 0)
			break;
		if (prot) {
			/* write restored: an engine copy lands (below
			 * CT_FIRST, where the consumer does not write) */
			if (mmrt_protect(as, HVA, len, RW) != 0 ||
					rte_dma_copy(d->id, 0, PVA + 3,
					HVA + PG, 3 * PG, 0) < 0 ||
					dma_run(d) != 0) {
				r->err = "no write after protect RW";
				break;
			}
			for (i = 0; i < 3 * PG; i++)
				if (b->p[PG + i] != pbyte(3 + i))
					break;
			if (i < 3 * PG) {
				r->err = "the copy after protect RW differs";
				break;
			}
			if (mmrt_unmap(as, HVA, len) != 0) {
				r->err = "unmap failed";
				break;
			}
			hb_refill(b, 0, false);
		} else {
			memset(b->p, 0, len);
		}
	}
}

/* Set up the space, the device and (@consumer) the consumer thread; run
 * td_loop(). */
static void
td_run(enum hb_kind kind, bool huge, bool no_wait, bool consumer,
	struct td_result *r)
{
	const uint64_t len = !huge ? 256 * PG : no_wait && !consumer ?
		TD_NEG_ENGINE_LEN : 2 * HPG;
	struct mmrt_consumer_conf cf = {
		.name = "hetd", .ack_deadline_us = 5000000,
	};
	uint64_t used0 = mmrt_test_used(), i;
	struct mmrt_as *as = mmrt_as_create("hetd");
	struct mmrt_dma_mmrt_stats st;
	struct mmrt_consumer_stats cs;
	struct hbuf b;
	struct tdmm d;
	pthread_t th;
	uint8_t *pat;
	void *ret;

	cr_assert_not_null(as);
	hb_get(&b, kind, huge, len);
	pat = malloc(len);
	cr_assert_not_null(pat);
	for (i = 0; i < len; i++)
		pat[i] = pbyte(i);
	cr_assert_eq(mmrt_map(as, PVA, len, RW, MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_write(as, PVA, pat, len), 0);
	free(pat);
	dma_up(&d, "hetd", as);
	memset(&ct, 0, sizeof(ct));
	memset(&cs, 0, sizeof(cs));
	ct.npages = len / PG;
	if (consumer) {
		ct.c = mmrt_consumer_create(&cf);
		cr_assert_not_null(ct.c);
		cr_assert_gt(mmrt_consumer_bind(ct.c, as), 0);
		cr_assert_eq(pthread_create(&th, NULL, ct_main, NULL), 0);
	}
#ifdef MMRT_TEST_HOOKS
	dev_test_hooks.inval_no_wait = no_wait;
#endif
	td_loop(as, &d, &b, len, no_wait, r);
#ifdef MMRT_TEST_HOOKS
	dev_test_hooks.inval_no_wait = false;
#endif
	/* the last round's mapping is gone or was never made */
	mmrt_unmap(as, HVA, len);
	if (consumer) {
		__atomic_store_n(&ct.stop, 1, __ATOMIC_RELEASE);
		cr_assert_eq(pthread_join(th, &ret), 0);
		cr_assert_null(ret, "the consumer thread could not register");
		cr_assert_eq(mmrt_consumer_stats(ct.c, &cs), 0);
	}
	st = tdmm_stats(&d);
	cr_log_info("anon_teardown %s %s%s%s: %u rounds (%u unmaps, %u at the "
		"same address), %u with the engine at work when the call "
		"returned, %" PRIu64 " ops cut off, %" PRIu64 " consumer "
		"writes, %" PRIu64 " canary bytes changed (round %u, +%#"
		PRIx64 " = %#x); engine: %" PRIu64 " ops %" PRIu64
		" invalidations %" PRIu64 " fences; consumer: %" PRIu64
		" invalidations %" PRIu64 " fences", hb_name(&b),
		huge ? "2M" : "4K", no_wait ? " (negative control)" : "",
		consumer ? "" : " (engine only)", r->rounds, r->unmaps,
		r->reused, r->cut, r->failed_ops, ct.writes, r->violations,
		r->bad_round, r->bad_off, r->bad_byte, st.completed,
		st.consumer.inval_descs, st.consumer.fences, cs.inval_descs,
		cs.fences);
	cr_assert_null(r->err, "round %u: %s", r->rounds, r->err);
	if (consumer)
		cr_assert_eq(mmrt_consumer_destroy(ct.c), 0);
	tdmm_down(&d);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0, "frames leaked");
	hb_put(&b);
	if (canary_fd >= 0) {
		close(canary_fd);
		canary_fd = -1;
	}
	/* with no wait a consumer may miss its ack deadline: not the point */
	if (!no_wait) {
		cr_assert_eq(st.consumer.fences, 0);
		cr_assert_eq(cs.fences, 0);
	}
}

static void
anon_teardown(enum hb_kind kind, bool huge)
{
	struct td_result r;

	td_run(kind, huge, false, true, &r);
	cr_assert_eq(r.violations, 0, "round %u: %" PRIu64 " canary bytes "
		"changed after the call returned (first at +%#" PRIx64
		": %#x)", r.bad_round, r.violations, r.bad_off, r.bad_byte);
	cr_assert_eq(r.rounds, TD_ROUNDS);
	/* the race was real: the engine still had the buffer's operations
	 * in flight when the call returned, and some were cut off */
	cr_assert_gt(r.cut, 0, "the engine was always done before the call");
	cr_assert_gt(r.failed_ops, 0);
	if (kind == HB_MMAP)
		cr_assert_eq(r.reused, r.unmaps);
}

Test(host_engine, anon_teardown_mmap_4k) { anon_teardown(HB_MMAP, false); }
Test(host_engine, anon_teardown_mmap_2m) { anon_teardown(HB_MMAP, true); }
Test(host_engine, anon_teardown_malloc_4k) { anon_teardown(HB_MALLOC, false); }
Test(host_engine, anon_teardown_malloc_2m) { anon_teardown(HB_MALLOC, true); }
Test(host_engine, anon_teardown_rte_4k) { anon_teardown(HB_RTE, false); }
Test(host_engine, anon_teardown_rte_2m) { anon_teardown(HB_RTE, true); }

/*
 * Negative control: invalidations that do not wait for the acks. The
 * engine and the consumer thread keep writing through their cached
 * translations after mmrt_unmap() returned, and the canary check must
 * catch it (mmap memory, replaced in one step, so that a stray write
 * lands in the new pages instead of faulting). Without the consumer
 * thread (@consumer false) the engine's writes alone must be caught:
 * fill bytes, not the consumer's. The engine acks at most four
 * operations after an invalidation was posted, so only the 2 MiB case
 * runs without the consumer: its operations fill a 16 MiB buffer whole
 * (milliseconds through eight cached 2 MiB entries), long enough for the
 * test thread to have the canary in place while the engine still writes;
 * with 4 KiB leaves the engine's stale window is four operations over
 * the at most 256 pages its TLB holds, too short to be hit reliably
 * (the consumer thread's control covers stale 4 KiB entries).
 */
static void
anon_teardown_negative(bool huge, bool consumer)
{
#ifndef MMRT_TEST_HOOKS
	RTE_SET_USED(huge);
	RTE_SET_USED(consumer);
	cr_skip_test("needs -Dtest_hooks=true (the inval_no_wait hook)");
#else
	struct td_result r;

	td_run(HB_MMAP, huge, true, consumer, &r);
	cr_assert_gt(r.violations, 0, "no write after the unmap was caught "
		"in %u rounds", r.rounds);
	if (!consumer)
		cr_assert_neq(r.bad_byte, CONS_BYTE);
#endif
}

Test(host_engine, anon_teardown_negative_control_2m)
{
	anon_teardown_negative(true, true);
}

Test(host_engine, anon_teardown_negative_control_4k)
{
	anon_teardown_negative(false, true);
}

Test(host_engine, anon_teardown_negative_control_engine_2m)
{
	anon_teardown_negative(true, false);
}

/* ---- userfault MISSING into a host mapping, the engine parked ---- */

/* No completion yet: the engine is parked. */
static void
uf_none(struct tdmm *d)
{
	enum rte_dma_status_code s;
	unsigned long it;
	uint16_t last;

	for (it = 0; it < 2000; it++) {
		cr_assert_eq(rte_dma_completed_status(d->id, 0, 1, &last, &s),
			0, "completed before the resolver answered");
		mmrt_test_relax(it, 255);
	}
}

static void
uffd_missing(enum hb_kind kind, bool huge)
{
	const uint64_t len = huge ? HPG : 16 * PG;
	uint64_t used0 = mmrt_test_used(), f = 0, a, i;
	struct mmrt_as *as = mmrt_as_create("heuf");
	struct mmrt_dma_mmrt_stats st0, st;
	struct mmrt_uffd_zeropage z;
	struct mmrt_uffd_copy c;
	struct mmrt_uffd *u;
	uint8_t src[PG], *want;
	struct hbuf b;
	struct tdmm d;

	cr_assert_not_null(as);
	hb_get(&b, kind, huge, len);
	memset(b.p, 0xaa, len);
	want = malloc(len);
	cr_assert_not_null(want);
	memcpy(want, b.p, len);
	cr_assert_eq(mmrt_map_host(as, HVA, b.p, len, RW, 0), 0);
	u = mmrt_uffd_create(as, MMRT_UFFD_API, &f, NULL);
	cr_assert_not_null(u);
	cr_assert_eq(mmrt_uffd_register(u, HVA, len,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL), 0);
	/* the leaves go, the bytes stay: each page faults to the uffd */
	cr_assert_eq(mmrt_advise(as, HVA, len, MMRT_ADV_DONTNEED), 0);
	cr_assert_eq(mmrt_map(as, PVA, 4 * PG, RW, MMRT_MAP_POPULATE), 0);
	memset(src, 0x31, sizeof(src));
	for (i = 0; i < 3; i++)
		cr_assert_eq(mmrt_write(as, PVA + i * PG, src, PG), 0);
	dma_up(&d, "heuf", as);
	st0 = tdmm_stats(&d);

	/* one copy over pages 3, 4 and 5, all missing: it parks on each,
	 * and each fill resumes it (post-copy of a guest's memory) */
	dma_copy(&d, PVA, HVA + 4 * PG - 50, 2 * PG + 50);
	cr_assert_eq(rte_dma_submit(d.id, 0), 0);
	a = tdmm_uffd_wait(u, WAIT_S).arg.pagefault.address;
	cr_assert_eq(a, HVA + 3 * PG);
	uf_none(&d);
	cr_assert_eq(b.p[3 * PG], 0xaa, "nothing written while parked");
	memset(src, 0x77, sizeof(src));
	c = (struct mmrt_uffd_copy){ .dst = HVA + 3 * PG, .src = src,
		.len = PG };
	cr_assert_eq(mmrt_uffd_copy(u, &c), 0);
	cr_assert_eq(c.copy, (int64_t)PG);
	memset(want + 3 * PG, 0x77, PG);

	a = tdmm_uffd_wait(u, WAIT_S).arg.pagefault.address;
	cr_assert_eq(a, HVA + 4 * PG);
	uf_none(&d);
	/* the part before the page it parks on is written, in the host */
	cr_assert_eq(b.p[4 * PG - 51], 0x77);
	cr_assert_eq(b.p[4 * PG - 50], 0x31);
	cr_assert_eq(b.p[4 * PG], 0xaa);
	memset(src, 0x66, sizeof(src));
	c = (struct mmrt_uffd_copy){ .dst = HVA + 4 * PG, .src = src,
		.len = PG };
	cr_assert_eq(mmrt_uffd_copy(u, &c), 0);
	memset(want + 4 * PG, 0x66, PG);

	a = tdmm_uffd_wait(u, WAIT_S).arg.pagefault.address;
	cr_assert_eq(a, HVA + 5 * PG);
	uf_none(&d);
	z = (struct mmrt_uffd_zeropage){ .range = { HVA + 5 * PG, PG } };
	cr_assert_eq(mmrt_uffd_zeropage(u, &z), 0);
	memset(want + 5 * PG, 0, PG);
	cr_assert_eq(tdmm_wait_one(&d, WAIT_S), RTE_DMA_STATUS_SUCCESSFUL);
	/* the fills' bytes, then the engine's over them */
	memset(want + 4 * PG - 50, 0x31, 2 * PG + 50);
	mmrt_test_cmp_buf(b.p, want, len, HVA, "host memory after the fills");
	st = tdmm_stats(&d);
	cr_assert_geq(st.parks - st0.parks, 3);
	cr_assert_geq(st.resumes - st0.resumes, 3);
	cr_assert_eq(st.errors, st0.errors);

	/* a filled page is an ordinary host leaf: the engine writes it
	 * without a fault */
	cr_assert_eq(one(&d, PVA, HVA + 3 * PG, 16), RTE_DMA_STATUS_SUCCESSFUL);
	cr_assert_eq(b.p[3 * PG + 15], 0x31);
	tdmm_down(&d);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0, "frames leaked");
	hb_put(&b);
	free(want);
}

Test(host_engine, uffd_missing_mmap_4k) { uffd_missing(HB_MMAP, false); }
Test(host_engine, uffd_missing_mmap_2m) { uffd_missing(HB_MMAP, true); }
Test(host_engine, uffd_missing_malloc_4k) { uffd_missing(HB_MALLOC, false); }
Test(host_engine, uffd_missing_rte_2m) { uffd_missing(HB_RTE, true); }
