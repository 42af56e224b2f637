/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Dirty tracking (mmrt_dirty_harvest, mmrt_dirty_clear), against
 * mmrt_mm.h: which writes mark a page (CPU accessors, a write fault, a
 * lockless poller's write through mmrt_translate(), uffd copy and
 * zeropage fills, also into host memory, DMA of a dma_mmrt device (driven
 * with rte_dma_*) through its device TLB), on pool memory and host
 * mappings; 2 MiB leaves; and the race: CPU, poller, fill and engine
 * writers against repeated harvests, where the union of all harvests must
 * be exactly the set of pages written, and a shadow copy refreshed from
 * each harvest's pages (as a live migration does) must end equal to the
 * memory. Bad input changes nothing.
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
#include <rte_errno.h>

#include <mmrt_uffd.h>

#include "common.h"
#include "dmm_common.h"

#define POOL_MB 64
#define ENGINE_LCORE 1
#define WAIT_S 60

#define VS (UINT64_C(3) << 30) /* engine sources: not harvested */

MMRT_TEST_FIXTURES(POOL_MB);

TestSuite(dirty, .init = setup, .fini = teardown, .timeout = 300);

#define NBITS(n) (((n) + 63) / 64)

static bool
bit(const uint64_t *b, uint64_t i)
{
	return (b[i / 64] >> (i % 64)) & 1;
}

static void
bit_set(uint64_t *b, uint64_t i)
{
	__atomic_fetch_or(&b[i / 64], UINT64_C(1) << (i % 64),
		__ATOMIC_RELAXED);
}

/* Harvest [va, va + n pages) into a fresh bitmap; return the count. */
static int64_t
harvest(struct mmrt_as *as, uint64_t va, uint64_t n, uint64_t *bm)
{
	int64_t got;
	uint64_t i, cnt = 0;

	memset(bm, 0, NBITS(n) * 8);
	got = mmrt_dirty_harvest(as, va, n * PG, bm, n, 0);
	cr_assert_geq(got, 0, "harvest: %" PRId64, got);
	for (i = 0; i < n; i++)
		cnt += bit(bm, i);
	cr_assert_eq((uint64_t)got, cnt, "count %" PRId64 " vs bits %" PRIu64,
		got, cnt);
	return got;
}

/* The harvest of @n pages at @va reports exactly the pages in @want. */
static void
expect(struct mmrt_as *as, uint64_t va, uint64_t n, const uint64_t *want,
	unsigned int nw, const char *what)
{
	uint64_t bm[NBITS(1024)];
	unsigned int k;
	uint64_t i;
	bool w;

	cr_assert_leq(n, 1024);
	harvest(as, va, n, bm);
	for (i = 0; i < n; i++) {
		w = false;
		for (k = 0; k < nw; k++)
			w |= want[k] == i;
		cr_assert_eq(bit(bm, i), w, "%s: page %" PRIu64 " %s", what,
			i, w ? "not reported" : "reported, never written");
	}
}

/* xalign(), zeroed. */
static void *
xzalign(size_t align, size_t len)
{
	void *p = xalign(align, len);

	memset(p, 0, len);
	return p;
}

/* ---- CPU writes ---- */

static void
cpu_case(struct mmrt_as *as, uint64_t va, const char *what)
{
	static const uint64_t w1[] = { 3, 10, 63 };
	static const uint64_t w2[] = { 10 };
	uint64_t bm[NBITS(64)];
	struct mmrt_xlate x;
	uint8_t b = 0x5a;
	unsigned int i;

	/* populated and dirty (every new writable leaf starts dirty) */
	for (i = 0; i < 64; i++)
		cr_assert_eq(mmrt_write(as, va + i * PG, &b, 1), 0);
	cr_assert_eq(mmrt_dirty_clear(as, va, 64 * PG), 64, "%s", what);
	expect(as, va, 64, NULL, 0, what);
	for (i = 0; i < RTE_DIM(w1); i++)
		cr_assert_eq(mmrt_write(as, va + w1[i] * PG + 100, &b, 1), 0);
	expect(as, va, 64, w1, RTE_DIM(w1), what);
	expect(as, va, 64, NULL, 0, what);

	/* a clean page has no write translation; a write fault marks it */
	cr_assert_eq(mmrt_translate(as, va + 10 * PG, MMRT_ACCESS_WRITE, &x),
		-EACCES);
	cr_assert_eq(mmrt_translate(as, va + 10 * PG, MMRT_ACCESS_READ, &x),
		0);
	cr_assert_eq(x.prot, MMRT_PROT_READ, "a clean page reads only");
	cr_assert_eq(mmrt_fault(as, va + 10 * PG, MMRT_ACCESS_WRITE), 0);
	cr_assert_eq(mmrt_translate(as, va + 10 * PG, MMRT_ACCESS_WRITE, &x),
		0);
	cr_assert_eq(x.prot, RW);

	/* NO_CLEAR reports and keeps; the bitmap is OR-ed into */
	memset(bm, 0, sizeof(bm));
	bm[0] = UINT64_C(1) << 1;
	cr_assert_eq(mmrt_dirty_harvest(as, va, 64 * PG, bm, 64,
		MMRT_DIRTY_NO_CLEAR), 1);
	cr_assert_eq(bm[0], (UINT64_C(1) << 1) | (UINT64_C(1) << 10));
	expect(as, va, 64, w2, 1, what);
	expect(as, va, 64, NULL, 0, what);
}

Test(dirty, cpu_pool)
{
	struct mmrt_as *as = mmrt_as_create("dcpu");

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 64 * PG, RW, 0), 0);
	cpu_case(as, VA, "pool");
	cr_assert_eq(mmrt_as_destroy(as), 0);
}

/*
 * A write pin's holder writes without any translation mmrt could drop, so
 * a pinned pool page stays dirty: every harvest reports it until unpin.
 */
Test(dirty, pinned_stays_dirty)
{
	static const uint64_t w[] = { 5 };
	static const uint64_t wp[] = { 2, 3, 5 };
	struct mmrt_as *as = mmrt_as_create("dpin");
	struct mmrt_pin *pin = NULL;
	uint8_t b = 0x77;
	unsigned int i;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 16 * PG, RW, 0), 0);
	for (i = 0; i < 16; i++)
		cr_assert_eq(mmrt_write(as, VA + i * PG, &b, 1), 0);
	cr_assert_eq(mmrt_dirty_clear(as, VA, 16 * PG), 16);
	cr_assert_eq(mmrt_pin(as, VA + 2 * PG, 2 * PG, MMRT_PIN_WRITE, &pin),
		0);
	cr_assert_eq(mmrt_write(as, VA + 5 * PG, &b, 1), 0);
	expect(as, VA, 16, wp, RTE_DIM(wp), "pinned, first harvest");
	expect(as, VA, 16, wp, 2, "pinned, second harvest");
	cr_assert_eq(mmrt_unpin(pin), 0);
	/* the state kept for the pin is reported once more, then clean */
	expect(as, VA, 16, wp, 2, "after unpin");
	expect(as, VA, 16, NULL, 0, "clean");
	cr_assert_eq(mmrt_write(as, VA + 5 * PG, &b, 1), 0);
	expect(as, VA, 16, w, 1, "written after unpin");
	cr_assert_eq(mmrt_as_destroy(as), 0);
}

Test(dirty, cpu_host)
{
	struct mmrt_as *as = mmrt_as_create("dhost");
	uint8_t *buf = xzalign(PG, 64 * PG);

	cr_assert_not_null(as);
	/* VA + 1 page: never 2 MiB aligned with the buffer, 4 KiB leaves */
	cr_assert_eq(mmrt_map_host(as, VA + PG, buf, 64 * PG, RW, 0), 0);
	cpu_case(as, VA + PG, "host");
	cr_assert_eq(buf[3 * PG + 100], 0x5a);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(buf);
}

/* A dirty 2 MiB leaf reports its 512 pages; one harvested in part stays
 * dirty. */
Test(dirty, huge_leaf)
{
	struct mmrt_as *as = mmrt_as_create("dhuge");
	uint8_t *buf = xzalign(HPG, HPG);
	uint64_t bm[NBITS(512)];
	struct mmrt_xlate x;
	uint8_t b = 1;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map_host(as, VA, buf, HPG, RW, 0), 0);
	cr_assert_eq(mmrt_translate(as, VA, MMRT_ACCESS_READ, &x), 0);
	cr_assert(x.huge, "a 2 MiB host leaf");
	cr_assert_eq(mmrt_dirty_clear(as, VA, HPG), 512);
	cr_assert_eq(harvest(as, VA, 512, bm), 0);
	cr_assert_eq(mmrt_write(as, VA + 7 * PG, &b, 1), 0);
	/* part of the leaf: reported, not cleared */
	cr_assert_eq(harvest(as, VA + 256 * PG, 256, bm), 256);
	cr_assert_eq(harvest(as, VA, 512, bm), 512);
	cr_assert_eq(harvest(as, VA, 512, bm), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(buf);
}

/* ---- userfault fills ---- */

Test(dirty, fills)
{
	static const uint64_t want[] = { 1, 2, 5, 9 };
	struct mmrt_as *as = mmrt_as_create("dfill");
	uint8_t src[2 * PG];
	struct mmrt_uffd_copy c;
	struct mmrt_uffd_zeropage z;
	struct mmrt_uffd *u;
	uint64_t f = 0;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 16 * PG, RW, 0), 0);
	u = mmrt_uffd_create(as, MMRT_UFFD_API, &f, NULL);
	cr_assert_not_null(u);
	cr_assert_eq(mmrt_uffd_register(u, VA, 16 * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING | MMRT_UFFD_REGISTER_MODE_WP,
		NULL), 0);
	expect(as, VA, 16, NULL, 0, "empty");
	memset(src, 0x77, sizeof(src));
	c = (struct mmrt_uffd_copy){ .dst = VA + PG, .src = src,
		.len = 2 * PG, .mode = 0 };
	cr_assert_eq(mmrt_uffd_copy(u, &c), 0);
	/* a write-protected fill writes the page too */
	c = (struct mmrt_uffd_copy){ .dst = VA + 5 * PG, .src = src,
		.len = PG, .mode = MMRT_UFFD_MODE_WP };
	cr_assert_eq(mmrt_uffd_copy(u, &c), 0);
	z = (struct mmrt_uffd_zeropage){ .range = { VA + 9 * PG, PG } };
	cr_assert_eq(mmrt_uffd_zeropage(u, &z), 0);
	expect(as, VA, 16, want, RTE_DIM(want), "fills");
	expect(as, VA, 16, NULL, 0, "after");
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
}

/* A MISSING fill into host memory writes the page: dirty. */
Test(dirty, host_fill)
{
	static const uint64_t want[] = { 2, 6 };
	struct mmrt_as *as = mmrt_as_create("dhfill");
	uint8_t *buf = xzalign(PG, 8 * PG), src[PG];
	struct mmrt_uffd_copy c;
	struct mmrt_uffd_zeropage z;
	struct mmrt_uffd *u;
	uint64_t f = 0;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map_host(as, VA + PG, buf, 8 * PG, RW, 0), 0);
	u = mmrt_uffd_create(as, MMRT_UFFD_API, &f, NULL);
	cr_assert_not_null(u);
	cr_assert_eq(mmrt_uffd_register(u, VA + PG, 8 * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL), 0);
	cr_assert_eq(mmrt_advise(as, VA + PG, 8 * PG, MMRT_ADV_DONTNEED), 0);
	expect(as, VA + PG, 8, NULL, 0, "emptied");
	memset(src, 0x21, sizeof(src));
	c = (struct mmrt_uffd_copy){ .dst = VA + 3 * PG, .src = src,
		.len = PG };
	cr_assert_eq(mmrt_uffd_copy(u, &c), 0);
	z = (struct mmrt_uffd_zeropage){ .range = { VA + 7 * PG, PG } };
	cr_assert_eq(mmrt_uffd_zeropage(u, &z), 0);
	expect(as, VA + PG, 8, want, RTE_DIM(want), "host fills");
	cr_assert_eq(buf[2 * PG], 0x21);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(buf);
}

/* ---- the engine: a dma_mmrt device on the space ---- */

static void
dma_up(struct tdmm *dma, const char *name, struct mmrt_as *as)
{
	tdmm_up_as(dma, name, as, ENGINE_LCORE,
		"ack_us=5000000,park_us=200000");
}

/*
 * The engine writes pages it keeps in its device TLB: after each harvest
 * the same pages are written again, through entries filled before it,
 * and each round must report them (the harvest invalidated them).
 */
Test(dirty, engine_tlb)
{
	static const uint64_t want[] = { 0, 1, 4, 64, 65, 100 };
	struct mmrt_as *as = mmrt_as_create("deng");
	uint8_t *buf = xzalign(PG, 128 * PG), got[64];
	struct tdmm dma;
	unsigned int round, k;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 64 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map_host(as, VA + 64 * PG, buf, 64 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VS, 4 * PG, RW, 0), 0);
	memset(got, 0x3c, sizeof(got));
	cr_assert_eq(mmrt_write(as, VS, got, sizeof(got)), 0);
	dma_up(&dma, "deng", as);
	for (k = 0; k < 128; k++)
		cr_assert_geq(rte_dma_fill(dma.id, 0, 0, VA + k * PG, 8, 0), 0);
	cr_assert_eq(rte_dma_submit(dma.id, 0), 0);
	cr_assert_eq(tdmm_drain(&dma, WAIT_S), 0);
	cr_assert_eq(mmrt_dirty_clear(as, VA, 128 * PG), 128);
	for (round = 0; round < 20; round++) {
		for (k = 0; k < RTE_DIM(want); k++)
			cr_assert_geq(rte_dma_copy(dma.id, 0, VS + round,
				VA + want[k] * PG + 8 * round, 16, 0), 0);
		/* a read of a clean page gives no write entry either */
		cr_assert_geq(rte_dma_copy(dma.id, 0, VA + 50 * PG,
			VS + PG, 16, 0), 0);
		cr_assert_eq(rte_dma_submit(dma.id, 0), 0);
		cr_assert_eq(tdmm_drain(&dma, WAIT_S), 0);
		expect(as, VA, 128, want, RTE_DIM(want), "engine");
	}
	cr_assert_eq(mmrt_read(as, VA + 100 * PG + 8 * 19, got, 16), 0);
	cr_assert_eq(got[0], 0x3c);
	cr_assert_eq(buf[36 * PG + 8 * 19], 0x3c, "host page 100 written");
	tdmm_down(&dma);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	free(buf);
}

/* ---- the race ---- */

/*
 * Layout of the raced range: NP pool pages at VA, NP host pages after
 * them (4 KiB leaves), NP pool pages registered MISSING after those,
 * filled once each by the fill thread. Of the pool and host pages, page
 * p is written by the CPU accessors if p % 4 == 0, by the poller if 1,
 * by the engine if 2, and by nobody if 3: a writer that is missed cannot
 * hide behind another's writes to its pages.
 */
#define NP 128
#define NT (3 * NP)
#define ROUNDS 150
#define W_CPU 0
#define W_POLL 1
#define W_DMA 2

/* A random pool or host page of writer @w. */
static uint64_t
race_page(uint64_t r, unsigned int w)
{
	return (r % (2 * NP / 4)) * 4 + w;
}

static struct race {
	struct mmrt_as *as;
	struct mmrt_uffd *u;
	uint64_t written[NBITS(NT)];
	int stop;
	int fill_done;
	uint64_t cpu_writes, poll_writes, fills;
} R;

static uint64_t
race_rnd(uint64_t *s)
{
	return mmrt_test_xorshift(s);
}

/* A random write of the CPU accessors into a pool or host page. */
static void *
cpu_writer(void *arg)
{
	uint64_t s = 0x1234567 + (uintptr_t)arg, r, pg, off;
	uint8_t data[64];

	while (!__atomic_load_n(&R.stop, __ATOMIC_ACQUIRE)) {
		r = race_rnd(&s);
		pg = race_page(r, W_CPU);
		off = (r >> 20) % (PG - sizeof(data));
		memset(data, (int)(r >> 40), sizeof(data));
		cr_assert_eq(mmrt_write(R.as, VA + pg * PG + off, data,
			sizeof(data)), 0);
		bit_set(R.written, pg);
		R.cpu_writes++;
		if ((R.cpu_writes & 63) == 0)
			sched_yield();
	}
	return NULL;
}

/* A registered poller writing through its own lockless translations. */
static void *
poll_writer(void *arg)
{
	uint64_t s = 0x7654321, r, pg, off;
	struct mmrt_xlate x;
	int ret;

	RTE_SET_USED(arg);
	cr_assert_geq(mmrt_thread_register(), 0);
	while (!__atomic_load_n(&R.stop, __ATOMIC_ACQUIRE)) {
		r = race_rnd(&s);
		pg = race_page(r, W_POLL);
		off = ((r >> 20) % (PG / 8)) * 8;
		ret = mmrt_translate(R.as, VA + pg * PG + off,
			MMRT_ACCESS_WRITE, &x);
		if (ret != 0) {
			cr_assert(ret == -EACCES || ret == -EFAULT, "%d", ret);
			cr_assert_eq(mmrt_fault(R.as, VA + pg * PG + off,
				MMRT_ACCESS_WRITE), 0);
			continue;
		}
		__atomic_store_n((uint64_t *)x.addr, r, __ATOMIC_RELAXED);
		bit_set(R.written, pg);
		R.poll_writes++;
		/* the translation is dropped here */
		mmrt_quiescent();
		if ((R.poll_writes & 63) == 0) {
			mmrt_thread_offline();
			sched_yield();
			mmrt_thread_online();
		}
	}
	cr_assert_eq(mmrt_thread_unregister(), 0);
	return NULL;
}

/* Fill each page of the MISSING range once, spread over the rounds. */
static void *
fill_writer(void *arg)
{
	uint64_t s = 0xabcdef, i;
	uint8_t src[PG];
	struct mmrt_uffd_copy c;
	struct mmrt_uffd_zeropage z;
	unsigned long spin;

	RTE_SET_USED(arg);
	for (i = 0; i < NP; i++) {
		uint64_t va = VA + (2 * NP + i) * PG;
		int ret;

		memset(src, (int)race_rnd(&s), sizeof(src));
		do {
			if (i % 5 == 4) {
				z = (struct mmrt_uffd_zeropage){
					.range = { va, PG } };
				ret = mmrt_uffd_zeropage(R.u, &z);
			} else {
				c = (struct mmrt_uffd_copy){ .dst = va,
					.src = src, .len = PG };
				ret = mmrt_uffd_copy(R.u, &c);
			}
		} while (ret == -EAGAIN);
		cr_assert_eq(ret, 0, "fill %" PRIu64 ": %d", i, ret);
		bit_set(R.written, 2 * NP + i);
		R.fills++;
		for (spin = 0; spin < 2000; spin++)
			mmrt_test_relax(spin, 255);
	}
	__atomic_store_n(&R.fill_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* One round of the migration: harvest, copy the reported pages. */
static void
migrate_round(uint64_t *uni, uint8_t *shadow)
{
	uint64_t bm[NBITS(NT)], i;

	harvest(R.as, VA, NT, bm);
	for (i = 0; i < NT; i++) {
		if (!bit(bm, i))
			continue;
		uni[i / 64] |= UINT64_C(1) << (i % 64);
		cr_assert_eq(mmrt_read(R.as, VA + i * PG, shadow + i * PG, PG),
			0);
	}
}

Test(dirty, race)
{
	uint8_t *host = xzalign(PG, NP * PG), *shadow = xzalign(PG, NT * PG);
	uint8_t *now = xzalign(PG, NT * PG);
	uint64_t uni[NBITS(NT)], bad = 0, s = 99, i, r;
	pthread_t cpu, poll, fill;
	struct mmrt_dma_mmrt_stats st;
	struct tdmm dma;
	unsigned int round;
	uint64_t f = 0;

	memset(&R, 0, sizeof(R));
	memset(uni, 0, sizeof(uni));
	R.as = mmrt_as_create("drace");
	cr_assert_not_null(R.as);
	cr_assert_eq(mmrt_map(R.as, VA, NP * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map_host(R.as, VA + NP * PG, host, NP * PG, RW, 0),
		0);
	cr_assert_eq(mmrt_map(R.as, VA + 2 * NP * PG, NP * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(R.as, VS, 16 * PG, RW, 0), 0);
	R.u = mmrt_uffd_create(R.as, MMRT_UFFD_API, &f, NULL);
	cr_assert_not_null(R.u);
	cr_assert_eq(mmrt_uffd_register(R.u, VA + 2 * NP * PG, NP * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL), 0);
	/* sources, and every pool and host page populated */
	for (i = 0; i < 16 * PG; i += 8) {
		r = race_rnd(&s);
		cr_assert_eq(mmrt_write(R.as, VS + i, &r, 8), 0);
	}
	for (i = 0; i < 2 * NP; i++)
		cr_assert_eq(mmrt_write(R.as, VA + i * PG, &i, 8), 0);
	/* the migration's first pass: everything, then track from clean */
	cr_assert_eq(mmrt_dirty_clear(R.as, VA, NT * PG), 2 * NP);
	cr_assert_eq(mmrt_read(R.as, VA, shadow, 2 * NP * PG), 0);
	dma_up(&dma, "drace", R.as);

	cr_assert_eq(pthread_create(&cpu, NULL, cpu_writer, NULL), 0);
	cr_assert_eq(pthread_create(&poll, NULL, poll_writer, NULL), 0);
	cr_assert_eq(pthread_create(&fill, NULL, fill_writer, NULL), 0);
	for (round = 0; round < ROUNDS ||
			!__atomic_load_n(&R.fill_done, __ATOMIC_ACQUIRE);
			round++) {
		/* the engine: copies into random pool and host pages */
		for (i = 0; i < 8; i++) {
			uint64_t pg, off, len;

			r = race_rnd(&s);
			pg = race_page(r, W_DMA);
			len = 1 + (r >> 16) % 256;
			off = (r >> 32) % (PG - len);
			if (rte_dma_copy(dma.id, 0, VS + (r >> 8) % (15 * PG),
					VA + pg * PG + off, (uint32_t)len, 0) < 0)
				break;
			bit_set(R.written, pg);
		}
		cr_assert_eq(rte_dma_submit(dma.id, 0), 0);
		tdmm_reap(&dma, &bad);
		migrate_round(uni, shadow);
		if (round < ROUNDS)
			continue;
		/* the fills go on: leave the cpus to them (2 cpus shared by
		 * five threads), a bounded wait of WAIT_S seconds */
		usleep(1000);
		cr_assert_lt(round - ROUNDS, (unsigned int)WAIT_S * 1000,
			"the fill thread is stuck");
	}
	__atomic_store_n(&R.stop, 1, __ATOMIC_RELEASE);
	cr_assert_eq(pthread_join(cpu, NULL), 0);
	cr_assert_eq(pthread_join(poll, NULL), 0);
	cr_assert_eq(pthread_join(fill, NULL), 0);
	bad += tdmm_drain(&dma, WAIT_S);
	cr_assert_eq(bad, 0, "engine failures");
	st = tdmm_stats(&dma);
	/* the final pass: the writers stopped */
	migrate_round(uni, shadow);
	for (i = 0; i < NT; i++)
		cr_assert_eq(bit(uni, i), bit(R.written, i) && (i >= 2 * NP ||
			i % 4 != 3),
			"page %" PRIu64 ": %s", i, bit(uni, i) ?
			"reported, never written" : "written, never reported");
	/* the destination of the migration equals the source */
	cr_assert_eq(mmrt_read(R.as, VA, now, NT * PG), 0);
	for (i = 0; i < NT; i++)
		mmrt_test_cmp_buf(shadow + i * PG, now + i * PG, PG,
			VA + i * PG, "shadow copy");
	cr_log_info("dirty race: %u rounds, %" PRIu64 " cpu, %" PRIu64
		" poller writes, %" PRIu64 " fills, %" PRIu64 " dma ops",
		round, R.cpu_writes, R.poll_writes, R.fills, st.completed);
	cr_assert_gt(R.poll_writes, 0);
	tdmm_down(&dma);
	cr_assert_eq(mmrt_uffd_destroy(R.u), 0);
	cr_assert_eq(mmrt_as_destroy(R.as), 0);
	free(now);
	free(shadow);
	free(host);
}

/* ---- bad input ---- */

Test(dirty, bad_input)
{
	static const uint64_t want[] = { 2 };
	struct mmrt_as *as = mmrt_as_create("dbad");
	uint64_t bm[NBITS(64)], i;
	uint8_t b = 1;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 64 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_write(as, VA + 2 * PG, &b, 1), 0);
	memset(bm, 0xa5, sizeof(bm));
	cr_assert_eq(mmrt_dirty_harvest(NULL, VA, PG, bm, 64, 0), -EINVAL);
	cr_assert_eq(mmrt_dirty_harvest(as, VA + 1, PG, bm, 64, 0), -EINVAL);
	cr_assert_eq(mmrt_dirty_harvest(as, VA, PG + 1, bm, 64, 0), -EINVAL);
	cr_assert_eq(mmrt_dirty_harvest(as, VA, 0, bm, 64, 0), -EINVAL);
	cr_assert_eq(mmrt_dirty_harvest(as, UINT64_MAX - PG + 1, 2 * PG, bm,
		64, 0), -EINVAL, "wrapping");
	cr_assert_eq(mmrt_dirty_harvest(as, MMRT_VA_LIMIT - PG, 2 * PG, bm,
		64, 0), -EINVAL, "past the VA limit");
	cr_assert_eq(mmrt_dirty_harvest(as, VA, 64 * PG, NULL, 64, 0),
		-EINVAL);
	cr_assert_eq(mmrt_dirty_harvest(as, VA, 64 * PG, bm, 64, 2), -EINVAL,
		"unknown flag");
	cr_assert_eq(mmrt_dirty_harvest(as, VA, 64 * PG, bm, 63, 0),
		-ENOBUFS, "bitmap too small");
	cr_assert_eq(mmrt_dirty_harvest(as, VA, 64 * PG, bm, 0, 0), -ENOBUFS);
	cr_assert_eq(mmrt_dirty_clear(NULL, VA, PG), -EINVAL);
	cr_assert_eq(mmrt_dirty_clear(as, VA + 1, PG), -EINVAL);
	cr_assert_eq(mmrt_dirty_clear(as, VA, 0), -EINVAL);
	cr_assert_eq(mmrt_dirty_clear(as, UINT64_MAX - PG + 1, 2 * PG),
		-EINVAL);
	for (i = 0; i < RTE_DIM(bm); i++)
		cr_assert_eq(bm[i], UINT64_C(0xa5a5a5a5a5a5a5a5),
			"bitmap changed by a refused call");
	/* nothing was cleared: the write is still there, alone */
	expect(as, VA, 64, want, 1, "after bad input");
	/* a range with nothing mapped reports nothing */
	cr_assert_eq(mmrt_dirty_harvest(as, VS, 64 * PG, bm, 64, 0), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
}
