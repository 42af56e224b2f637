/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * mmrt: the main job. Brings the runtime up (embedded default when no EAL
 * arguments are given), then walks an address space through its life and
 * times every step with the TSC:
 *
 *   create -> map 4 KiB and 2 MiB memory -> fault every page in -> fork ->
 *   copy-on-write in the child -> merge identical pages -> translate from a
 *   registered poller on a worker lcore -> invalidate a bound consumer ->
 *   serve the userfaults of a consumer on the worker lcore from a handler
 *   on the main lcore -> copy through the DMA engine on the worker lcore
 *   while the main lcore invalidates and fills pages on demand -> unmap ->
 *   destroy
 *
 * and checks that the frame pool is back to where it started. Prints a
 * one-screen summary and "mmrt: OK" (exit 0) or "mmrt: FAILED (reason)"
 * (exit 1).
 *
 * Usage: mmrt [EAL args] [-- mmrt args]; see mmrt_init() for both. The
 * program has no options of its own.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>
#include <mmrt_swdma.h>
#include <mmrt_uffd.h>


/* Default sizes of the two regions; halved until they fit the pool. */
#define MAIN_REGION_SIZE (UINT64_C(64) << 20)
#define MAIN_REGION_MIN MMRT_HUGE_SIZE
/* Pairs of identical pages given to mmrt_merge(). */
#define MAIN_MERGE_PAIRS 1024u
/* Pages whose contents are checked after copy-on-write. */
#define MAIN_VERIFY_SAMPLES 1024u
/* Lockless translations done by the poller, in passes over both regions. */
#define MAIN_XLATE_LOOKUPS (UINT64_C(1) << 20)
/* Lookups between two quiescent-state reports of the poller. */
#define MAIN_XLATE_QS_EVERY 256u

/* Virtual layout of the address space (all 2 MiB aligned). */
#define MAIN_VA_ANON  (UINT64_C(1) << 32)
#define MAIN_VA_HUGE  (UINT64_C(2) << 32)
#define MAIN_VA_MERGE (UINT64_C(3) << 32)
#define MAIN_VA_UFFD  (UINT64_C(4) << 32)

/* Invalidation round trips timed with a consumer bound. */
#define MAIN_INVAL_ROUNDS 5000u

/*
 * Pages of the userfault region (MISSING; not in size_job(): the step runs
 * after the child's copies are gone, below the job's peak).
 */
#define MAIN_UFFD_PAGES 256u
/* How long the consumer retries one page before it gives up. */
#define MAIN_UFFD_DEADLINE_MS 1000u
/* Messages the handler reads at once. */
#define MAIN_UFFD_BURST 32u

/*
 * DMA step: the engine copies MAIN_DMA_SIZE bytes (halved until both
 * regions fit the pool) from one region of the parent to another, in
 * groups of 4 pages: 3 pages by one 4 KiB copy each, the 4th by 64
 * copies of 64 B. Part of the destination is registered MISSING.
 */
#define MAIN_VA_DMA_SRC (UINT64_C(5) << 32)
#define MAIN_VA_DMA_DST (UINT64_C(6) << 32)
#define MAIN_DMA_SIZE (UINT64_C(16) << 20)
#define MAIN_DMA_SIZE_MIN (UINT64_C(1) << 20)
#define MAIN_DMA_SMALL 64u
#define MAIN_DMA_GROUP_OPS (3u + MMRT_PAGE_SIZE / MAIN_DMA_SMALL)
/* Destination pages registered MISSING (at most a quarter of them). */
#define MAIN_DMA_UFFD_PAGES 512u
/* Copies outstanding, copies per submit. */
#define MAIN_DMA_WINDOW 256u
#define MAIN_DMA_BATCH 32u
/* Batches between two invalidations (protect read-only and back). */
#define MAIN_DMA_INVAL_EVERY 8u
/* No completion for this long: the step fails. */
#define MAIN_DMA_STUCK_MS 5000u

#define MAIN_MAX_STEPS 20
#define MAIN_REASON_SIZE 160

struct main_step {
	const char *name;
	uint64_t count;
	uint64_t cycles;
};

/* Everything the job creates, so that a failure can clean up. */
struct main_job {
	uint64_t region;        /* Bytes in each of the two regions. */
	uint64_t pages;         /* 4 KiB pages in one region. */
	unsigned int merge_pairs;
	struct mmrt_as *parent;
	struct mmrt_as *child;
	bool huge_leaves;       /* The huge region got 2 MiB leaves. */
	uint64_t merge_saved;   /* Frames saved by merging. */
	uint64_t child_unmap_cycles; /* Unmap of the child's copies. */
	uint64_t child_unmap_pages;
	struct mmrt_as_stats child_st; /* After copy-on-write. */
	uint64_t used_start;
	uint64_t used_end;
	unsigned int xlate_lcore;
	bool xlate_on_main;
	bool xlate_done;
	bool inval_done;        /* The consumer step ran. */
	struct mmrt_consumer_stats cons_st;
	int cons_id;
	unsigned int cons_lcore;
	double inval_p50, inval_p99;
	bool uffd_done;         /* The userfault step ran. */
	bool uffd_skipped;      /* ... or was skipped: one lcore. */
	unsigned int uffd_lcore; /* The consumer's lcore. */
	int uffd_cons_id;
	uint64_t uffd_read;     /* Fault messages read by the handler. */
	uint64_t uffd_filled;   /* Copies that filled a page. */
	uint64_t uffd_eexist;   /* Copies that found the page (then woke). */
	struct mmrt_uffd_stats uffd_st;
	double uffd_p50, uffd_p99, uffd_max;
	bool dma_done;          /* The DMA step ran. */
	bool dma_skipped;       /* ... or was skipped: one lcore. */
	unsigned int dma_lcore; /* The engine's lcore. */
	uint64_t dma_size;      /* Bytes copied. */
	uint64_t dma_ops[2];    /* Copies of 4 KiB, of 64 B. */
	uint64_t dma_cycles;
	uint64_t dma_filled;    /* Destination pages filled on demand. */
	struct mmrt_swdma_stats dma_st;
	double dma_p50[2], dma_p99[2]; /* Submit to completion, 4K and 64B. */
	double dma_prot_p50, dma_prot_p99;
	struct main_step steps[MAIN_MAX_STEPS];
	unsigned int nsteps;
	char reason[MAIN_REASON_SIZE];
};

/* Work handed to the translating poller. */
struct main_xlate_arg {
	struct mmrt_as *as;
	uint64_t anon_va;
	uint64_t huge_va;
	uint64_t pages;        /* Pages in each region. */
	uint64_t lookups;      /* Out: timed lookups done. */
	uint64_t cycles;       /* Out: TSC cycles of the timed lookups. */
	int rc;                /* Out: 0 or the first error. */
	uint64_t bad_va;       /* Out: address of the first error. */
};

static uint64_t tsc_hz;

static int fail(struct main_job *job, const char *fmt, ...)
	__rte_format_printf(2, 3);

static int
fail(struct main_job *job, const char *fmt, ...)
{
	va_list ap;

	if (job->reason[0] != '\0')
		return -1; /* keep the first reason */
	va_start(ap, fmt);
	vsnprintf(job->reason, sizeof(job->reason), fmt, ap);
	va_end(ap);
	return -1;
}

static void
step_add(struct main_job *job, const char *name, uint64_t count,
	uint64_t cycles)
{
	struct main_step *s;

	if (job->nsteps == MAIN_MAX_STEPS)
		return;
	s = &job->steps[job->nsteps++];
	s->name = name;
	s->count = count;
	s->cycles = cycles;
}

static double
cycles_to_ns(uint64_t cycles)
{
	return (double)cycles * 1e9 / (double)tsc_hz;
}

/* Frames in use, exact: deferred page tables reclaimed, cache flushed. */
static uint64_t
pool_used(void)
{
	mmrt_mm_reclaim(true);
	mmrt_mem_cache_flush();
	return mmrt_mem_used();
}

/* The 8-byte tag written at the start of every page. */
static uint64_t
page_tag(uint64_t va, uint64_t salt)
{
	return (va >> MMRT_PAGE_SHIFT) * UINT64_C(0x9e3779b97f4a7c15) ^ salt;
}

#define TAG_PARENT UINT64_C(0x706172656e740000)
#define TAG_CHILD  UINT64_C(0x6368696c64000000)
#define TAG_UFFD   UINT64_C(0x7566666400000000)
#define TAG_DMA    UINT64_C(0x646d610000000000)

static int
check_tag(struct main_job *job, struct mmrt_as *as, const char *who,
	uint64_t va, uint64_t salt)
{
	uint64_t v;
	int rc;

	rc = mmrt_read(as, va, &v, sizeof(v));
	if (rc < 0)
		return fail(job, "mmrt_read(%s, 0x%" PRIx64 "): %s", who, va,
			strerror(-rc));
	if (v != page_tag(va, salt))
		return fail(job, "%s page 0x%" PRIx64 " holds 0x%" PRIx64
			", expected 0x%" PRIx64, who, va, v,
			page_tag(va, salt));
	return 0;
}

/* Fault every page of [va, va + len) for write, one fault per @p step. */
static int
fault_range(struct main_job *job, const char *name, uint64_t va,
	uint64_t len, uint64_t step)
{
	uint64_t t0, off;
	int rc;

	t0 = rte_rdtsc();
	for (off = 0; off < len; off += step) {
		rc = mmrt_fault(job->parent, va + off, MMRT_ACCESS_WRITE);
		if (rc < 0)
			return fail(job, "mmrt_fault(0x%" PRIx64 "): %s",
				va + off, strerror(-rc));
	}
	step_add(job, name, len / step, rte_rdtsc() - t0);
	return 0;
}

/* Write a tag at the start of every page of [va, va + len). */
static int
tag_range(struct main_job *job, struct mmrt_as *as, uint64_t va,
	uint64_t len, uint64_t salt, uint64_t *cycles)
{
	uint64_t t0, off, v;
	int rc;

	t0 = rte_rdtsc();
	for (off = 0; off < len; off += MMRT_PAGE_SIZE) {
		v = page_tag(va + off, salt);
		rc = mmrt_write(as, va + off, &v, sizeof(v));
		if (rc < 0)
			return fail(job, "mmrt_write(0x%" PRIx64 "): %s",
				va + off, strerror(-rc));
	}
	if (cycles != NULL)
		*cycles += rte_rdtsc() - t0;
	return 0;
}

static int
unmap_timed(struct main_job *job, struct mmrt_as *as, uint64_t va,
	uint64_t len, uint64_t *cycles)
{
	uint64_t t0;
	int rc;

	t0 = rte_rdtsc();
	rc = mmrt_unmap(as, va, len);
	*cycles += rte_rdtsc() - t0;
	if (rc < 0)
		return fail(job, "mmrt_unmap(%s, 0x%" PRIx64 "): %s",
			mmrt_as_name(as), va, strerror(-rc));
	return 0;
}

static int
step_create_map(struct main_job *job)
{
	struct mmrt_xlate x;
	uint64_t t0, t1;
	int rc;

	t0 = rte_rdtsc();
	job->parent = mmrt_as_create("mmrt-main");
	t1 = rte_rdtsc();
	if (job->parent == NULL)
		return fail(job, "mmrt_as_create: %s", rte_strerror(rte_errno));
	step_add(job, "as_create", 1, t1 - t0);

	t0 = rte_rdtsc();
	rc = mmrt_map(job->parent, MAIN_VA_ANON, job->region,
		MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	t1 = rte_rdtsc();
	if (rc < 0)
		return fail(job, "mmrt_map(4K): %s", strerror(-rc));
	step_add(job, "map 4K", 1, t1 - t0);

	t0 = rte_rdtsc();
	rc = mmrt_map(job->parent, MAIN_VA_HUGE, job->region,
		MMRT_PROT_READ | MMRT_PROT_WRITE, MMRT_MAP_HUGE);
	t1 = rte_rdtsc();
	if (rc < 0)
		return fail(job, "mmrt_map(huge): %s", strerror(-rc));
	step_add(job, "map huge", 1, t1 - t0);

	if (fault_range(job, "fault 4K (page)", MAIN_VA_ANON, job->region,
			MMRT_PAGE_SIZE) < 0)
		return -1;
	if (fault_range(job, "fault huge (2M)", MAIN_VA_HUGE, job->region,
			MMRT_HUGE_SIZE) < 0)
		return -1;

	rc = mmrt_translate(job->parent, MAIN_VA_HUGE, MMRT_ACCESS_WRITE, &x);
	if (rc < 0)
		return fail(job, "mmrt_translate(huge) after fault: %s",
			strerror(-rc));
	job->huge_leaves = x.huge;

	/* Give every page recognisable contents for the checks after COW. */
	if (tag_range(job, job->parent, MAIN_VA_ANON, job->region,
			TAG_PARENT, NULL) < 0 ||
	    tag_range(job, job->parent, MAIN_VA_HUGE, job->region,
			TAG_PARENT, NULL) < 0)
		return -1;
	return 0;
}

/* Sample a region: the parent is unchanged, the child has its own tags. */
static int
verify_region(struct main_job *job, uint64_t base, uint64_t *checked)
{
	uint64_t i, va, stride;

	stride = job->pages / (MAIN_VERIFY_SAMPLES / 2);
	if (stride == 0)
		stride = 1;
	for (i = 0; i < job->pages; i += stride) {
		/* Step stride + 1: samples land at varying offsets of huge frames. */
		va = base + ((i + *checked) % job->pages) * MMRT_PAGE_SIZE;
		if (check_tag(job, job->parent, "parent", va, TAG_PARENT) < 0 ||
		    check_tag(job, job->child, "child", va, TAG_CHILD) < 0)
			return -1;
		(*checked)++;
	}
	return 0;
}

/*
 * Fork, then write every page of each region in the child. The child's
 * copies of a region are unmapped (timed with the other unmaps) before the
 * next region is copied, so that the job fits the default pool: the peak
 * is the parent's two regions plus one region of copies.
 */
static int
step_fork_cow(struct main_job *job)
{
	static const char * const names[2] = {
		"cow 4K (child write)", "cow huge (child write)",
	};
	const uint64_t bases[2] = { MAIN_VA_ANON, MAIN_VA_HUGE };
	uint64_t t0, t1, cycles, vcycles = 0, checked = 0, resolved;
	unsigned int r;

	t0 = rte_rdtsc();
	job->child = mmrt_as_fork(job->parent, "mmrt-main-child");
	t1 = rte_rdtsc();
	if (job->child == NULL)
		return fail(job, "mmrt_as_fork: %s", rte_strerror(rte_errno));
	step_add(job, "fork", 1, t1 - t0);

	for (r = 0; r < 2; r++) {
		cycles = 0;
		if (tag_range(job, job->child, bases[r], job->region,
				TAG_CHILD, &cycles) < 0)
			return -1;
		step_add(job, names[r], job->pages, cycles);
		t0 = rte_rdtsc();
		if (verify_region(job, bases[r], &checked) < 0)
			return -1;
		vcycles += rte_rdtsc() - t0;
		if (unmap_timed(job, job->child, bases[r], job->region,
				&job->child_unmap_cycles) < 0)
			return -1;
		job->child_unmap_pages += job->pages;
	}
	step_add(job, "verify parent+child", checked, vcycles);
	if (mmrt_as_stats(job->child, &job->child_st) < 0)
		return fail(job, "mmrt_as_stats(child) failed");
	/* a 2 MiB leaf copied or reused whole resolves 512 pages at once */
	resolved = job->child_st.cow + job->child_st.cow_reuse +
		(MMRT_HUGE_SIZE / MMRT_PAGE_SIZE - 1) *
		(job->child_st.cow_huge + job->child_st.cow_reuse_huge);
	if (resolved < 2 * job->pages)
		return fail(job, "child wrote %" PRIu64 " pages but "
			"copy-on-write resolved %" PRIu64, 2 * job->pages,
			resolved);
	return 0;
}

static int
step_merge(struct main_job *job)
{
	uint8_t page[MMRT_PAGE_SIZE];
	struct mmrt_xlate xa, xb;
	uint64_t before, after, t0, cycles, va;
	unsigned int i;
	int rc;

	rc = mmrt_map(job->parent, MAIN_VA_MERGE,
		2 * (uint64_t)job->merge_pairs * MMRT_PAGE_SIZE,
		MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	if (rc < 0)
		return fail(job, "mmrt_map(merge): %s", strerror(-rc));
	for (i = 0; i < job->merge_pairs; i++) {
		memset(page, (int)(i % 251) + 1, sizeof(page));
		memcpy(page, &i, sizeof(i));
		va = MAIN_VA_MERGE + 2 * (uint64_t)i * MMRT_PAGE_SIZE;
		rc = mmrt_write(job->parent, va, page, sizeof(page));
		if (rc == 0)
			rc = mmrt_write(job->parent, va + MMRT_PAGE_SIZE, page,
				sizeof(page));
		if (rc < 0)
			return fail(job, "mmrt_write(merge 0x%" PRIx64 "): %s",
				va, strerror(-rc));
	}

	before = pool_used();
	cycles = 0;
	for (i = 0; i < job->merge_pairs; i++) {
		va = MAIN_VA_MERGE + 2 * (uint64_t)i * MMRT_PAGE_SIZE;
		t0 = rte_rdtsc();
		rc = mmrt_merge(job->parent, va, job->parent,
			va + MMRT_PAGE_SIZE);
		cycles += rte_rdtsc() - t0;
		if (rc != 0)
			return fail(job, "mmrt_merge(0x%" PRIx64 ") = %d (%s)",
				va, rc, rc < 0 ? strerror(-rc) : "not merged");
	}
	after = pool_used();
	step_add(job, "merge (pair)", job->merge_pairs, cycles);
	job->merge_saved = before > after ? before - after : 0;
	if (after > before || job->merge_saved != job->merge_pairs)
		return fail(job, "merge of %u pairs saved %" PRId64 " frames",
			job->merge_pairs, (int64_t)(before - after));

	/* Both pages of a pair now share one frame and keep their bytes. */
	for (i = 0; i < job->merge_pairs; i++) {
		va = MAIN_VA_MERGE + 2 * (uint64_t)i * MMRT_PAGE_SIZE;
		rc = mmrt_translate(job->parent, va, MMRT_ACCESS_READ, &xa);
		if (rc == 0)
			rc = mmrt_translate(job->parent, va + MMRT_PAGE_SIZE,
				MMRT_ACCESS_READ, &xb);
		if (rc < 0)
			return fail(job, "mmrt_translate(merged 0x%" PRIx64
				"): %s", va, strerror(-rc));
		if (xa.pfn != xb.pfn || (xa.prot & MMRT_PROT_WRITE) != 0)
			return fail(job, "merged pair 0x%" PRIx64
				" not one write-protected frame", va);
		memset(page, (int)(i % 251) + 1, sizeof(page));
		memcpy(page, &i, sizeof(i));
		if (memcmp(xb.addr, page, sizeof(page)) != 0)
			return fail(job, "merged page 0x%" PRIx64
				" changed contents", va + MMRT_PAGE_SIZE);
	}
	return 0;
}

/* A worker lcore's function and argument (worker_launch()). */
struct main_worker {
	lcore_function_t *f;
	void *arg;
};

static struct main_worker main_workers[RTE_MAX_LCORE];

/* Run on the worker: f(arg), then the edge worker_wait() acquires. */
static int
worker_main(void *p)
{
	struct main_worker *w = p;
	int rc = w->f(w->arg);

	MMRT_TSAN_RELEASE(w);
	return rc;
}

/* rte_eal_remote_launch() of @p f, seen by TSan builds (mmrt_core.h). */
static int
worker_launch(lcore_function_t *f, void *arg, unsigned int lcore)
{
	main_workers[lcore].f = f;
	main_workers[lcore].arg = arg;
	return rte_eal_remote_launch(worker_main, &main_workers[lcore], lcore);
}

/* rte_eal_wait_lcore(), then what the worker did happens before. */
static int
worker_wait(unsigned int lcore)
{
	int rc = rte_eal_wait_lcore(lcore);

	MMRT_TSAN_ACQUIRE(&main_workers[lcore]);
	return rc;
}

/*
 * The poller: a registered QSBR thread translating without locks. It
 * reports a quiescent state every MAIN_XLATE_QS_EVERY lookups (it holds
 * nothing from a walk across that point) and unregisters at the end, so
 * that it never holds up a grace period while it is gone.
 */
static int
xlate_poller(void *p)
{
	struct main_xlate_arg *a = p;
	struct mmrt_xlate x;
	uint64_t total, i, n, va, t0;
	int rc;

	a->rc = mmrt_thread_register();
	if (a->rc < 0)
		return a->rc;
	a->rc = 0;
	total = 2 * a->pages;

	/* Untimed pass: every translation is right and points at the tag. */
	for (i = 0; i < total; i++) {
		va = (i < a->pages ? a->anon_va : a->huge_va) +
			(i % a->pages) * MMRT_PAGE_SIZE;
		rc = mmrt_translate(a->as, va, MMRT_ACCESS_READ, &x);
		if (rc == 0 && *(volatile uint64_t *)x.addr !=
				page_tag(va, TAG_PARENT))
			rc = -EIO;
		if (rc < 0) {
			a->rc = rc;
			a->bad_va = va;
			goto out;
		}
		if (i % MAIN_XLATE_QS_EVERY == 0)
			mmrt_quiescent();
	}
	mmrt_quiescent();

	/* Timed passes. */
	n = 0;
	t0 = rte_rdtsc();
	while (n < MAIN_XLATE_LOOKUPS) {
		for (i = 0; i < total; i++, n++) {
			va = (i < a->pages ? a->anon_va : a->huge_va) +
				(i % a->pages) * MMRT_PAGE_SIZE;
			rc = mmrt_translate(a->as, va, MMRT_ACCESS_READ, &x);
			if (unlikely(rc < 0)) {
				a->rc = rc;
				a->bad_va = va;
				goto out;
			}
			if (n % MAIN_XLATE_QS_EVERY == 0)
				mmrt_quiescent();
		}
	}
	a->cycles = rte_rdtsc() - t0;
	a->lookups = n;
out:
	mmrt_quiescent();
	mmrt_thread_unregister();
	return a->rc;
}

static int
step_translate(struct main_job *job)
{
	struct main_xlate_arg a;
	unsigned int lcore;
	int rc;

	memset(&a, 0, sizeof(a));
	a.as = job->parent;
	a.anon_va = MAIN_VA_ANON;
	a.huge_va = MAIN_VA_HUGE;
	a.pages = job->pages;

	lcore = rte_get_next_lcore(-1, 1, 0);
	if (lcore < RTE_MAX_LCORE) {
		job->xlate_lcore = lcore;
		rc = worker_launch(xlate_poller, &a, lcore);
		if (rc < 0)
			return fail(job, "rte_eal_remote_launch(lcore %u): %s",
				lcore, strerror(-rc));
		/* The main lcore does nothing else meanwhile. */
		worker_wait(lcore);
	} else {
		job->xlate_lcore = rte_get_main_lcore();
		job->xlate_on_main = true;
		xlate_poller(&a);
	}
	if (a.rc < 0)
		return fail(job, "translate on lcore %u at 0x%" PRIx64 ": %s",
			job->xlate_lcore, a.bad_va, strerror(-a.rc));
	job->xlate_done = true;
	step_add(job, job->xlate_on_main ? "translate (main lcore)" :
		"translate (poller)", a.lookups, a.cycles);
	return 0;
}

/* The consumer's poll loop on its own lcore. */
struct main_cons_arg {
	struct mmrt_consumer *c;
	uint64_t va;
	volatile int stop;
	int rc;
};

static int
cons_poller(void *p)
{
	struct main_cons_arg *a = p;
	struct mmrt_xlate x;

	a->rc = mmrt_thread_register();
	if (a->rc < 0)
		return a->rc;
	a->rc = 0;
	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		/* keep a translation cached, as a DMA engine would */
		if (mmrt_consumer_translate(a->c, a->va, MMRT_ACCESS_READ,
				&x) == 0)
			(void)*(volatile uint8_t *)x.addr;
		mmrt_consumer_poll(a->c);
		rte_pause();
	}
	mmrt_thread_unregister();
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * A polling consumer on its own lcore, bound to the parent: each protect
 * to read-only posts an invalidation to it and returns only after its
 * ack, so the time of the protect is the round trip.
 */
static int
step_consumer(struct main_job *job)
{
	struct mmrt_consumer_conf conf = { .name = "main-consumer",
		.ack_deadline_us = 1000000 };
	struct main_cons_arg a;
	uint64_t *rt, t0, total = 0;
	unsigned int i, lcore;
	int rc = 0;

	lcore = rte_get_next_lcore(-1, 1, 0);
	if (lcore >= RTE_MAX_LCORE)
		return 0; /* one lcore: the summary says the step was skipped */
	rt = calloc(MAIN_INVAL_ROUNDS, sizeof(*rt));
	if (rt == NULL)
		return fail(job, "out of memory");
	memset(&a, 0, sizeof(a));
	a.va = MAIN_VA_ANON;
	a.c = mmrt_consumer_create(&conf);
	if (a.c == NULL) {
		free(rt);
		return fail(job, "mmrt_consumer_create: %s",
			rte_strerror(rte_errno));
	}
	job->cons_id = mmrt_consumer_bind(a.c, job->parent);
	if (job->cons_id < 0) {
		rc = fail(job, "mmrt_consumer_bind: %s",
			strerror(-job->cons_id));
		goto out;
	}
	job->cons_lcore = lcore;
	rc = worker_launch(cons_poller, &a, lcore);
	if (rc < 0) {
		rc = fail(job, "rte_eal_remote_launch: %s", strerror(-rc));
		goto out;
	}
	for (i = 0; i < MAIN_INVAL_ROUNDS && rc == 0; i++) {
		rc = mmrt_fault(job->parent, MAIN_VA_ANON, MMRT_ACCESS_WRITE);
		if (rc == 0) {
			t0 = rte_rdtsc_precise();
			rc = mmrt_protect(job->parent, MAIN_VA_ANON,
				MMRT_PAGE_SIZE, MMRT_PROT_READ);
			rt[i] = rte_rdtsc_precise() - t0;
			total += rt[i];
		}
		if (rc == 0)
			rc = mmrt_protect(job->parent, MAIN_VA_ANON,
				MMRT_PAGE_SIZE, MMRT_PROT_READ | MMRT_PROT_WRITE);
	}
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
	worker_wait(lcore);
	if (rc != 0) {
		rc = fail(job, "protect round trip: %s", strerror(-rc));
		goto out;
	}
	mmrt_consumer_stats(a.c, &job->cons_st);
	if (job->cons_st.fences != 0) {
		rc = fail(job, "the consumer was fenced");
		goto out;
	}
	qsort(rt, MAIN_INVAL_ROUNDS, sizeof(*rt), cmp_u64);
	job->inval_p50 = cycles_to_ns(rt[MAIN_INVAL_ROUNDS / 2]);
	job->inval_p99 = cycles_to_ns(rt[MAIN_INVAL_ROUNDS * 99 / 100]);
	job->inval_done = true;
	step_add(job, "inval round trip", MAIN_INVAL_ROUNDS, total);
out:
	mmrt_consumer_destroy(a.c);
	free(rt);
	return rc;
}

/* The contents the handler gives page @va: a tag per 8-byte word. */
static void
uffd_pattern(uint64_t *words, uint64_t va)
{
	uint64_t tag = page_tag(va, TAG_UFFD);
	unsigned int w;

	for (w = 0; w < MMRT_PAGE_SIZE / sizeof(*words); w++)
		words[w] = tag + w;
}

static bool
uffd_pattern_ok(const volatile uint64_t *words, uint64_t va)
{
	uint64_t tag = page_tag(va, TAG_UFFD);
	unsigned int w;

	for (w = 0; w < MMRT_PAGE_SIZE / sizeof(*words); w++)
		if (words[w] != tag + w)
			return false;
	return true;
}

/* The consumer walking the userfault region on its own lcore. */
struct main_uffd_arg {
	struct mmrt_consumer *c;
	uint64_t va;
	unsigned int pages;
	uint64_t deadline;     /* TSC cycles a page may take */
	uint64_t *lat;         /* Out: cycles from first miss to hit. */
	uint64_t cycles;       /* Out: TSC cycles of the whole walk. */
	int rc;                /* Out: 0 or the first error. */
	uint64_t bad_va;       /* Out: the page of the first error. */
	const char *what;      /* Out: what the error means. */
	volatile int stop;     /* In: the handler failed, give up. */
	volatile int done;     /* Out: the walk is over (release). */
};

/*
 * Translate every page once for read: the first try must miss (the page
 * is empty and registered MISSING: the fault is posted), later tries,
 * with a poll between them, succeed once the handler filled the page.
 */
static int
uffd_consumer(void *p)
{
	struct main_uffd_arg *a = p;
	struct mmrt_xlate x;
	uint64_t va = a->va, t0, start;
	unsigned int i;
	int rc = 0;

	a->rc = mmrt_thread_register();
	if (a->rc < 0) {
		a->what = "mmrt_thread_register";
		goto out;
	}
	start = rte_rdtsc();
	for (i = 0; i < a->pages; i++) {
		va = a->va + (uint64_t)i * MMRT_PAGE_SIZE;
		t0 = rte_rdtsc();
		rc = mmrt_consumer_translate(a->c, va, MMRT_ACCESS_READ, &x);
		if (rc == 0) {
			rc = -EEXIST;
			a->what = "first translate of an empty page succeeded";
			break;
		}
		while (rc == -EAGAIN) {
			mmrt_consumer_poll(a->c);
			if (__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
				rc = -ECANCELED;
				a->what = "stopped by the handler";
				break;
			}
			if (rte_rdtsc() - t0 > a->deadline) {
				rc = -ETIMEDOUT;
				a->what = "page not filled within the deadline";
				break;
			}
			rte_pause();
			rc = mmrt_consumer_translate(a->c, va,
				MMRT_ACCESS_READ, &x);
		}
		if (rc == 0)
			a->lat[i] = rte_rdtsc() - t0;
		if (rc == 0 && (x.size < MMRT_PAGE_SIZE ||
				!uffd_pattern_ok(x.addr, va))) {
			rc = -EIO;
			a->what = "filled page does not hold the pattern";
		}
		if (rc < 0) {
			if (a->what == NULL)
				a->what = "consumer translate";
			break;
		}
		mmrt_consumer_poll(a->c); /* done with the translation */
	}
	a->cycles = rte_rdtsc() - start;
	a->rc = rc;
	a->bad_va = va;
	mmrt_thread_unregister();
out:
	/* every post of the walk happens before this store */
	__atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
	return a->rc;
}

/*
 * Answer one fault message: copy the page's pattern in, and on -EEXIST
 * (a fault posted again while the fill was being published) wake the page.
 */
static int
uffd_serve(struct main_job *job, struct mmrt_uffd *u,
	const struct mmrt_uffd_msg *m, uint64_t *buf)
{
	const uint64_t len = (uint64_t)MAIN_UFFD_PAGES * MMRT_PAGE_SIZE;
	const uint32_t ptid = MMRT_UFFD_REQUESTER_CONSUMER |
		(uint32_t)job->uffd_cons_id;
	struct mmrt_uffd_copy c;
	struct mmrt_uffd_range r;
	uint64_t va;
	int rc;

	job->uffd_read++;
	if (m->event != MMRT_UFFD_EVENT_PAGEFAULT)
		return fail(job, "uffd: unexpected event 0x%x", m->event);
	va = m->arg.pagefault.address;
	if ((va & (MMRT_PAGE_SIZE - 1)) != 0 || va < MAIN_VA_UFFD ||
	    va >= MAIN_VA_UFFD + len)
		return fail(job, "uffd: fault at 0x%" PRIx64
			", outside the region or not a page", va);
	if (m->arg.pagefault.flags != 0)
		return fail(job, "uffd: read MISSING fault at 0x%" PRIx64
			" has flags 0x%" PRIx64, va, m->arg.pagefault.flags);
	if (m->arg.pagefault.ptid != ptid)
		return fail(job, "uffd: fault at 0x%" PRIx64 " from requester"
			" 0x%" PRIx32 ", expected the consumer 0x%" PRIx32, va,
			m->arg.pagefault.ptid, ptid);
	uffd_pattern(buf, va);
	memset(&c, 0, sizeof(c));
	c.dst = va;
	c.src = buf;
	c.len = MMRT_PAGE_SIZE;
	rc = mmrt_uffd_copy(u, &c);
	if (rc == 0 && c.copy == (int64_t)MMRT_PAGE_SIZE) {
		job->uffd_filled++;
		return 0;
	}
	if (rc == -EEXIST && c.copy == -EEXIST) {
		job->uffd_eexist++;
		r.start = va;
		r.len = MMRT_PAGE_SIZE;
		rc = mmrt_uffd_wake(u, &r);
		if (rc < 0)
			return fail(job, "mmrt_uffd_wake(0x%" PRIx64 "): %s",
				va, strerror(-rc));
		return 0;
	}
	return fail(job, "mmrt_uffd_copy(0x%" PRIx64 ") = %d (%s), copy %"
		PRId64, va, rc, strerror(-rc), c.copy);
}

/*
 * The handler, on the main lcore: read fault messages without waiting and
 * answer each until the consumer is done and the ring is empty. On an
 * error, tell the consumer to stop and drain nothing more.
 */
static int
uffd_handler(struct main_job *job, struct mmrt_uffd *u,
	struct main_uffd_arg *a)
{
	struct mmrt_uffd_msg msgs[MAIN_UFFD_BURST];
	uint64_t buf[MMRT_PAGE_SIZE / sizeof(uint64_t)];
	bool last = false;
	int i, n;

	for (;;) {
		/* done before the read: a last read of 0 saw every post */
		if (!last)
			last = __atomic_load_n(&a->done, __ATOMIC_ACQUIRE);
		n = mmrt_uffd_read(u, msgs, MAIN_UFFD_BURST);
		if (n < 0) {
			fail(job, "mmrt_uffd_read: %s", strerror(-n));
			break;
		}
		if (n == 0 && last)
			return 0;
		for (i = 0; i < n; i++)
			if (uffd_serve(job, u, &msgs[i], buf) < 0)
				goto stop;
		if (n == 0)
			rte_pause();
	}
stop:
	__atomic_store_n(&a->stop, 1, __ATOMIC_RELEASE);
	return -1;
}

/*
 * Userfault: a region of the parent registered MISSING with a uffd; a
 * consumer bound to the parent walks it on the worker lcore, each page
 * missing first and retrying (with a poll between tries) until the
 * handler on the main lcore has read the fault and copied the page in.
 * Timed per page from the first miss to the translation that succeeds.
 */
static int
step_uffd(struct main_job *job)
{
	struct mmrt_consumer_conf conf = { .name = "main-uffd-consumer" };
	const uint64_t len = (uint64_t)MAIN_UFFD_PAGES * MMRT_PAGE_SIZE;
	struct mmrt_consumer_stats cst;
	struct main_uffd_arg a;
	struct mmrt_uffd *u = NULL;
	uint64_t features = 0, ops = 0;
	unsigned int lcore;
	bool mapped = false;
	int rc;

	lcore = rte_get_next_lcore(-1, 1, 0);
	if (lcore >= RTE_MAX_LCORE) {
		job->uffd_skipped = true; /* said in the summary */
		return 0;
	}
	memset(&a, 0, sizeof(a));
	a.va = MAIN_VA_UFFD;
	a.pages = MAIN_UFFD_PAGES;
	a.deadline = tsc_hz / 1000 * MAIN_UFFD_DEADLINE_MS;
	a.lat = calloc(MAIN_UFFD_PAGES, sizeof(*a.lat));
	if (a.lat == NULL)
		return fail(job, "out of memory");

	rc = mmrt_map(job->parent, MAIN_VA_UFFD, len,
		MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	if (rc < 0) {
		rc = fail(job, "mmrt_map(uffd): %s", strerror(-rc));
		goto out;
	}
	mapped = true;
	features = MMRT_UFFD_FEATURE_THREAD_ID;
	u = mmrt_uffd_create(job->parent, MMRT_UFFD_API, &features, NULL);
	if (u == NULL) {
		rc = fail(job, "mmrt_uffd_create: %s", rte_strerror(rte_errno));
		goto out;
	}
	rc = mmrt_uffd_register(u, MAIN_VA_UFFD, len,
		MMRT_UFFD_REGISTER_MODE_MISSING, &ops);
	if (rc < 0) {
		rc = fail(job, "mmrt_uffd_register: %s", strerror(-rc));
		goto out;
	}
	if ((ops & (MMRT_UFFD_OP_COPY | MMRT_UFFD_OP_WAKE)) !=
			(MMRT_UFFD_OP_COPY | MMRT_UFFD_OP_WAKE)) {
		rc = fail(job, "mmrt_uffd_register: ops 0x%" PRIx64
			" lack COPY or WAKE", ops);
		goto out;
	}
	a.c = mmrt_consumer_create(&conf);
	if (a.c == NULL) {
		rc = fail(job, "mmrt_consumer_create: %s",
			rte_strerror(rte_errno));
		goto out;
	}
	job->uffd_cons_id = mmrt_consumer_bind(a.c, job->parent);
	if (job->uffd_cons_id < 0) {
		rc = fail(job, "mmrt_consumer_bind: %s",
			strerror(-job->uffd_cons_id));
		goto out;
	}

	job->uffd_lcore = lcore;
	rc = worker_launch(uffd_consumer, &a, lcore);
	if (rc < 0) {
		rc = fail(job, "rte_eal_remote_launch: %s", strerror(-rc));
		goto out;
	}
	rc = uffd_handler(job, u, &a);
	worker_wait(lcore);
	if (rc < 0)
		goto out;
	if (a.rc < 0) {
		rc = fail(job, "uffd consumer at 0x%" PRIx64 ": %s (%s)",
			a.bad_va, a.what != NULL ? a.what : "error",
			strerror(-a.rc));
		goto out;
	}

	/* Every fault was read and answered once; every page filled once. */
	mmrt_uffd_stats(u, &job->uffd_st);
	mmrt_consumer_stats(a.c, &cst);
	if (job->uffd_filled != MAIN_UFFD_PAGES ||
	    job->uffd_st.filled_pages != MAIN_UFFD_PAGES) {
		rc = fail(job, "uffd: %" PRIu64 " copies filled, %" PRIu64
			" pages counted, of %u", job->uffd_filled,
			job->uffd_st.filled_pages, MAIN_UFFD_PAGES);
		goto out;
	}
	if (job->uffd_st.faults != job->uffd_read ||
	    job->uffd_st.faults_missing != job->uffd_st.faults ||
	    job->uffd_st.pending != 0) {
		rc = fail(job, "uffd: %" PRIu64 " faults posted (%" PRIu64
			" MISSING), %" PRIu64 " read, %" PRIu64
			" still pending", job->uffd_st.faults,
			job->uffd_st.faults_missing, job->uffd_read,
			job->uffd_st.pending);
		goto out;
	}
	/* The consumer is the only requester: each of its misses posted. */
	if (cst.userfaults != job->uffd_st.faults +
			job->uffd_st.faults_dedup + job->uffd_st.faults_full ||
	    cst.userfaults < MAIN_UFFD_PAGES || cst.fences != 0) {
		rc = fail(job, "uffd consumer: %" PRIu64 " userfaults, uffd %"
			PRIu64 " posted + %" PRIu64 " dedup + %" PRIu64
			" full, %" PRIu64 " fences", cst.userfaults,
			job->uffd_st.faults, job->uffd_st.faults_dedup,
			job->uffd_st.faults_full, cst.fences);
		goto out;
	}
	qsort(a.lat, MAIN_UFFD_PAGES, sizeof(*a.lat), cmp_u64);
	job->uffd_p50 = cycles_to_ns(a.lat[MAIN_UFFD_PAGES / 2]);
	job->uffd_p99 = cycles_to_ns(a.lat[MAIN_UFFD_PAGES * 99 / 100]);
	job->uffd_max = cycles_to_ns(a.lat[MAIN_UFFD_PAGES - 1]);
	job->uffd_done = true;
	step_add(job, "userfault (page)", MAIN_UFFD_PAGES, a.cycles);
	rc = 0;
out:
	/* The consumer is stopped: destroy it, then the uffd, then unmap. */
	if (a.c != NULL)
		mmrt_consumer_destroy(a.c);
	if (u != NULL) {
		int rc2 = mmrt_uffd_destroy(u);

		if (rc2 < 0)
			rc = fail(job, "mmrt_uffd_destroy: %s", strerror(-rc2));
	}
	if (mapped) {
		int rc2 = mmrt_unmap(job->parent, MAIN_VA_UFFD, len);

		if (rc2 < 0)
			rc = fail(job, "mmrt_unmap(uffd): %s", strerror(-rc2));
	}
	free(a.lat);
	return rc;
}

/* What the DMA step's source page @va holds: a tag per 8-byte word. */
static void
dma_pattern(uint64_t *words, uint64_t va)
{
	uint64_t tag = page_tag(va, TAG_DMA);
	unsigned int w;

	for (w = 0; w < MMRT_PAGE_SIZE / sizeof(*words); w++)
		words[w] = tag + w;
}

/*
 * Copy @i of the workload, in groups of 4 pages: one 4 KiB copy for each
 * of the first 3, 64 copies of 64 B for the 4th. @return its class: 0
 * (4 KiB) or 1 (64 B).
 */
static unsigned int
dma_op(uint64_t i, uint64_t *src, uint64_t *dst, uint32_t *len)
{
	uint64_t g = i / MAIN_DMA_GROUP_OPS, r = i % MAIN_DMA_GROUP_OPS, off;

	if (r < 3) {
		off = (4 * g + r) * MMRT_PAGE_SIZE;
		*len = MMRT_PAGE_SIZE;
	} else {
		off = (4 * g + 3) * MMRT_PAGE_SIZE + (r - 3) * MAIN_DMA_SMALL;
		*len = MAIN_DMA_SMALL;
	}
	*src = MAIN_VA_DMA_SRC + off;
	*dst = MAIN_VA_DMA_DST + off;
	return r >= 3;
}

/* The DMA step's state, on the main lcore. */
struct main_dma {
	struct mmrt_swdma *dma;
	struct mmrt_uffd *u;
	uint64_t pages;        /* Pages in each region. */
	uint64_t ops;          /* Copies in the workload. */
	uint64_t enq;          /* Copies enqueued. */
	uint64_t cpl;          /* Copies completed. */
	uint64_t uffd_va;      /* The MISSING part of the destination. */
	uint64_t uffd_len;
	uint64_t *lat;         /* Per copy: TSC at submit, then latency. */
	uint64_t *prot;        /* Protect round trips (TSC). */
	uint64_t nprot;
};

/*
 * Report completions in order. Every copy must succeed: the first error
 * stops the step with its status.
 */
static int
dma_reap(struct main_job *job, struct main_dma *d)
{
	enum rte_dma_status_code st = RTE_DMA_STATUS_SUCCESSFUL;
	uint64_t t, src, dst;
	uint16_t n, i, last;
	bool err = false;
	uint32_t len;

	n = mmrt_swdma_completed(d->dma, MAIN_DMA_WINDOW, &last, &err);
	t = rte_rdtsc();
	if (n > 0 && last != (uint16_t)(d->cpl + n - 1))
		return fail(job, "dma: completed reported index %u, expected"
			" %u", last, (uint16_t)(d->cpl + n - 1));
	for (i = 0; i < n; i++, d->cpl++)
		d->lat[d->cpl] = t - d->lat[d->cpl];
	if (!err)
		return n;
	n = mmrt_swdma_completed_status(d->dma, 1, &last, &st);
	dma_op(d->cpl, &src, &dst, &len);
	return fail(job, "dma: copy %" PRIu64 " (0x%" PRIx64 " -> 0x%" PRIx64
		", %u B) completed with status %d%s", d->cpl, src, dst, len,
		(int)st, n == 1 ? "" : " (completed_status reported none)");
}

/*
 * The handler, between batches: fill each MISSING destination page the
 * engine faulted on with a filler the copy then overwrites (the check
 * after the copies sees the filler if a fill landed after its copy).
 */
static int
dma_serve_uffd(struct main_job *job, struct main_dma *d)
{
	struct mmrt_uffd_msg msgs[MAIN_UFFD_BURST];
	uint8_t buf[MMRT_PAGE_SIZE];
	struct mmrt_uffd_range r;
	struct mmrt_uffd_copy c;
	uint64_t va;
	int i, n, rc;

	n = mmrt_uffd_read(d->u, msgs, MAIN_UFFD_BURST);
	if (n < 0)
		return fail(job, "dma: mmrt_uffd_read: %s", strerror(-n));
	if (n > 0)
		memset(buf, 0xa5, sizeof(buf));
	for (i = 0; i < n; i++) {
		va = msgs[i].arg.pagefault.address;
		if (msgs[i].event != MMRT_UFFD_EVENT_PAGEFAULT ||
		    va < d->uffd_va || va >= d->uffd_va + d->uffd_len ||
		    msgs[i].arg.pagefault.flags !=
				MMRT_UFFD_PAGEFAULT_FLAG_WRITE)
			return fail(job, "dma: uffd message 0x%x at 0x%" PRIx64
				", flags 0x%" PRIx64 ": not a write fault of"
				" the MISSING range", msgs[i].event, va,
				msgs[i].arg.pagefault.flags);
		memset(&c, 0, sizeof(c));
		c.dst = va;
		c.src = buf;
		c.len = MMRT_PAGE_SIZE;
		rc = mmrt_uffd_copy(d->u, &c);
		if (rc == 0) {
			job->dma_filled++;
			continue;
		}
		if (rc != -EEXIST)
			return fail(job, "dma: mmrt_uffd_copy(0x%" PRIx64
				") = %d, copy %" PRId64, va, rc, c.copy);
		r.start = va; /* filled meanwhile: still wake it */
		r.len = MMRT_PAGE_SIZE;
		rc = mmrt_uffd_wake(d->u, &r);
		if (rc < 0)
			return fail(job, "dma: mmrt_uffd_wake(0x%" PRIx64
				"): %s", va, strerror(-rc));
	}
	return n;
}

/*
 * The engine's page requests (misses its fault probe left to the fault
 * path, e.g. while a protect held the map lock). NOWAIT: on a MISSING
 * page the fault is posted to the uffd, which this lcore serves, instead
 * of waiting for a wake only this lcore could give. The engine retries by
 * itself; errors are its to see.
 */
static void
dma_serve_requests(struct main_job *job, struct main_dma *d)
{
	uint64_t va[MAIN_UFFD_BURST];
	uint32_t acc[MAIN_UFFD_BURST];
	int i, n;

	n = mmrt_consumer_page_requests(mmrt_swdma_consumer(d->dma), va, acc,
		MAIN_UFFD_BURST);
	for (i = 0; i < n; i++)
		(void)mmrt_fault(job->parent, va[i], (acc[i] != 0 ? acc[i] :
			MMRT_ACCESS_READ) | MMRT_ACCESS_NOWAIT);
}

/*
 * An invalidation the engine must ack while it copies: protect a page of
 * the 4K region (unrelated to the copies) read-only, timed, and back.
 */
static int
dma_inval(struct main_job *job, struct main_dma *d)
{
	uint64_t t0 = 0, t1 = 0;
	int rc;

	rc = mmrt_fault(job->parent, MAIN_VA_ANON, MMRT_ACCESS_WRITE);
	if (rc == 0) {
		t0 = rte_rdtsc_precise();
		rc = mmrt_protect(job->parent, MAIN_VA_ANON, MMRT_PAGE_SIZE,
			MMRT_PROT_READ);
		t1 = rte_rdtsc_precise();
	}
	if (rc == 0)
		rc = mmrt_protect(job->parent, MAIN_VA_ANON, MMRT_PAGE_SIZE,
			MMRT_PROT_READ | MMRT_PROT_WRITE);
	if (rc < 0)
		return fail(job, "dma: protect round trip: %s", strerror(-rc));
	d->prot[d->nprot++] = t1 - t0;
	return 0;
}

/* The copy loop: a batch, completions, then the main lcore's other work. */
static int
dma_run(struct main_job *job, struct main_dma *d)
{
	uint64_t stuck = rte_get_timer_hz() / 1000 * MAIN_DMA_STUCK_MS;
	uint64_t src, dst, t, i, batches = 0, seen = 0, last_progress;
	unsigned int n;
	uint32_t len;
	int rc, got;

	last_progress = rte_get_timer_cycles();
	while (d->cpl < d->ops) {
		for (n = 0; n < MAIN_DMA_BATCH && d->enq < d->ops &&
				d->enq - d->cpl < MAIN_DMA_WINDOW; n++) {
			dma_op(d->enq, &src, &dst, &len);
			rc = mmrt_swdma_copy(d->dma, src, dst, len, 0);
			if (rc < 0)
				return fail(job, "dma: mmrt_swdma_copy(%" PRIu64
					"): %s", d->enq, strerror(-rc));
			d->enq++;
		}
		if (n > 0) {
			t = rte_rdtsc();
			mmrt_swdma_submit(d->dma);
			for (i = d->enq - n; i < d->enq; i++)
				d->lat[i] = t;
			batches++;
		}
		got = dma_reap(job, d);
		if (got < 0)
			return -1;
		/* between batches: fills, page requests, invalidations */
		if (dma_serve_uffd(job, d) < 0)
			return -1;
		dma_serve_requests(job, d);
		if (n > 0 && batches % MAIN_DMA_INVAL_EVERY == 0 &&
		    dma_inval(job, d) < 0)
			return -1;
		if (d->cpl != seen) {
			seen = d->cpl;
			last_progress = rte_get_timer_cycles();
		} else if (rte_get_timer_cycles() - last_progress > stuck) {
			return fail(job, "dma: no completion for %u ms at"
				" copy %" PRIu64, MAIN_DMA_STUCK_MS, d->cpl);
		}
		if (n == 0 && got == 0)
			rte_pause();
	}
	return 0;
}

/* Every destination page holds its source page: no copy lost or misplaced. */
static int
dma_verify(struct main_job *job, struct main_dma *d)
{
	uint64_t want[MMRT_PAGE_SIZE / sizeof(uint64_t)];
	uint64_t got[MMRT_PAGE_SIZE / sizeof(uint64_t)];
	uint64_t p, off;
	int rc;

	for (p = 0; p < d->pages; p++) {
		off = p * MMRT_PAGE_SIZE;
		rc = mmrt_read(job->parent, MAIN_VA_DMA_DST + off, got,
			sizeof(got));
		if (rc < 0)
			return fail(job, "dma: mmrt_read(0x%" PRIx64 "): %s",
				MAIN_VA_DMA_DST + off, strerror(-rc));
		dma_pattern(want, MAIN_VA_DMA_SRC + off);
		if (memcmp(got, want, sizeof(got)) != 0)
			return fail(job, "dma: destination page 0x%" PRIx64
				" differs from its source", MAIN_VA_DMA_DST +
				off);
	}
	return 0;
}

/* Sort each class's latencies apart; percentiles in ns. */
static int
dma_percentiles(struct main_job *job, struct main_dma *d)
{
	uint64_t *v, i, n[2] = { 0, 0 }, src, dst;
	uint32_t len;
	unsigned int k;

	v = calloc(d->ops, sizeof(*v));
	if (v == NULL)
		return fail(job, "out of memory");
	job->dma_ops[0] = d->ops / MAIN_DMA_GROUP_OPS * 3;
	job->dma_ops[1] = d->ops - job->dma_ops[0];
	for (i = 0; i < d->ops; i++) {
		k = dma_op(i, &src, &dst, &len);
		v[(k == 0 ? 0 : job->dma_ops[0]) + n[k]++] = d->lat[i];
	}
	for (k = 0; k < 2; k++) {
		uint64_t *c = v + (k == 0 ? 0 : job->dma_ops[0]);

		qsort(c, n[k], sizeof(*c), cmp_u64);
		job->dma_p50[k] = cycles_to_ns(c[n[k] / 2]);
		job->dma_p99[k] = cycles_to_ns(c[n[k] * 99 / 100]);
	}
	free(v);
	if (d->nprot > 0) {
		qsort(d->prot, d->nprot, sizeof(*d->prot), cmp_u64);
		job->dma_prot_p50 = cycles_to_ns(d->prot[d->nprot / 2]);
		job->dma_prot_p99 = cycles_to_ns(d->prot[d->nprot * 99 / 100]);
	}
	return 0;
}

/*
 * DMA: the swdma engine, bound to the parent and started on the worker
 * lcore, copies from one region to another (4 KiB and 64 B copies, a
 * window of copies outstanding). Between batches the main lcore reaps
 * completions, fills the destination pages registered MISSING on which
 * the engine parks, and now and then protects an unrelated page
 * read-only and back, an invalidation the engine acks while it copies.
 * Then every destination page is checked against its source.
 */
static int
step_dma(struct main_job *job)
{
	/*
	 * A generous ack deadline, as for the consumer step: a worker lcore
	 * preempted on a shared machine must not get the engine fenced.
	 */
	struct mmrt_swdma_conf conf = { .name = "main-dma",
		.consumer = { .ack_deadline_us = 1000000 } };
	uint64_t words[MMRT_PAGE_SIZE / sizeof(uint64_t)];
	struct mmrt_uffd_stats ust;
	struct mmrt_mem_stats ms;
	struct main_dma d;
	uint64_t size, p, t0, features = 0, ops = 0;
	unsigned int lcore;
	bool started = false;
	int rc;

	lcore = rte_get_next_lcore(-1, 1, 0);
	if (lcore >= RTE_MAX_LCORE) {
		job->dma_skipped = true; /* said in the summary */
		return 0;
	}
	rc = mmrt_mem_stats(&ms);
	if (rc < 0)
		return fail(job, "mmrt_mem_stats: %s", strerror(-rc));
	/* both regions, page tables: halve until they fit */
	for (size = MAIN_DMA_SIZE; 2 * (size / MMRT_PAGE_SIZE) +
			size / MMRT_PAGE_SIZE / 32 + 64 > ms.frames_free;
			size /= 2)
		if (size / 2 < MAIN_DMA_SIZE_MIN)
			return fail(job, "pool too small for the DMA step: %"
				PRIu64 " free frames", ms.frames_free);
	memset(&d, 0, sizeof(d));
	d.pages = size / MMRT_PAGE_SIZE;
	d.ops = d.pages / 4 * MAIN_DMA_GROUP_OPS;
	d.uffd_len = RTE_MIN((uint64_t)MAIN_DMA_UFFD_PAGES, d.pages / 4) *
		MMRT_PAGE_SIZE;
	d.uffd_va = MAIN_VA_DMA_DST + d.pages / 2 * MMRT_PAGE_SIZE;
	job->dma_size = size;
	job->dma_lcore = lcore;
	d.lat = calloc(d.ops, sizeof(*d.lat));
	d.prot = calloc(d.ops / MAIN_DMA_INVAL_EVERY + 1, sizeof(*d.prot));
	if (d.lat == NULL || d.prot == NULL) {
		rc = fail(job, "out of memory");
		goto out;
	}

	rc = mmrt_map(job->parent, MAIN_VA_DMA_SRC, size,
		MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	if (rc == 0)
		rc = mmrt_map(job->parent, MAIN_VA_DMA_DST, size,
			MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	if (rc < 0) {
		rc = fail(job, "mmrt_map(dma): %s", strerror(-rc));
		goto out;
	}
	for (p = 0; p < d.pages; p++) {
		dma_pattern(words, MAIN_VA_DMA_SRC + p * MMRT_PAGE_SIZE);
		rc = mmrt_write(job->parent, MAIN_VA_DMA_SRC +
			p * MMRT_PAGE_SIZE, words, sizeof(words));
		if (rc < 0) {
			rc = fail(job, "mmrt_write(dma source): %s",
				strerror(-rc));
			goto out;
		}
	}
	d.u = mmrt_uffd_create(job->parent, MMRT_UFFD_API, &features, NULL);
	if (d.u == NULL) {
		rc = fail(job, "dma: mmrt_uffd_create: %s",
			rte_strerror(rte_errno));
		goto out;
	}
	rc = mmrt_uffd_register(d.u, d.uffd_va, d.uffd_len,
		MMRT_UFFD_REGISTER_MODE_MISSING, &ops);
	if (rc < 0) {
		rc = fail(job, "dma: mmrt_uffd_register: %s", strerror(-rc));
		goto out;
	}
	d.dma = mmrt_swdma_create(&conf);
	if (d.dma == NULL) {
		rc = fail(job, "mmrt_swdma_create: %s",
			rte_strerror(rte_errno));
		goto out;
	}
	rc = mmrt_swdma_bind(d.dma, job->parent);
	if (rc < 0) {
		rc = fail(job, "mmrt_swdma_bind: %s", strerror(-rc));
		goto out;
	}
	rc = mmrt_swdma_start(d.dma, lcore);
	if (rc < 0) {
		rc = fail(job, "mmrt_swdma_start(lcore %u): %s", lcore,
			strerror(-rc));
		goto out;
	}
	started = true;

	t0 = rte_rdtsc();
	rc = dma_run(job, &d);
	job->dma_cycles = rte_rdtsc() - t0;
	if (rc < 0)
		goto out;
	started = false;
	mmrt_swdma_stop(d.dma);
	mmrt_swdma_stats(d.dma, &job->dma_st);
	mmrt_uffd_stats(d.u, &ust);
	if (job->dma_st.submitted != d.ops ||
	    job->dma_st.completed != d.ops || job->dma_st.errors != 0 ||
	    job->dma_st.bytes != size) {
		rc = fail(job, "dma: engine submitted %" PRIu64 ", completed %"
			PRIu64 " (%" PRIu64 " errors), %" PRIu64 " bytes; "
			"expected %" PRIu64 " copies of %" PRIu64 " bytes",
			job->dma_st.submitted, job->dma_st.completed,
			job->dma_st.errors, job->dma_st.bytes, d.ops, size);
		goto out;
	}
	if (job->dma_st.consumer.fences != 0) {
		rc = fail(job, "dma: the engine was fenced");
		goto out;
	}
	if (job->dma_filled != d.uffd_len / MMRT_PAGE_SIZE ||
	    ust.filled_pages != job->dma_filled || ust.pending != 0) {
		rc = fail(job, "dma: %" PRIu64 " pages filled (uffd: %" PRIu64
			", %" PRIu64 " pending) of %" PRIu64, job->dma_filled,
			ust.filled_pages, ust.pending,
			d.uffd_len / MMRT_PAGE_SIZE);
		goto out;
	}
	if (job->dma_st.consumer.inval_descs < d.nprot) {
		rc = fail(job, "dma: %" PRIu64 " protects, %" PRIu64
			" invalidations", d.nprot,
			job->dma_st.consumer.inval_descs);
		goto out;
	}
	rc = dma_verify(job, &d);
	if (rc == 0)
		rc = dma_percentiles(job, &d);
	if (rc < 0)
		goto out;
	step_add(job, "dma copy (op)", d.ops, job->dma_cycles);
	job->dma_done = true;
out:
	/* Engine (stopped and unbound by destroy), then uffd, then memory. */
	if (d.dma != NULL) {
		if (started)
			mmrt_swdma_stop(d.dma);
		mmrt_swdma_destroy(d.dma);
	}
	if (d.u != NULL) {
		int rc2 = mmrt_uffd_destroy(d.u);

		if (rc2 < 0)
			rc = fail(job, "mmrt_uffd_destroy: %s", strerror(-rc2));
	}
	if (mmrt_unmap(job->parent, MAIN_VA_DMA_SRC, size) < 0 ||
	    mmrt_unmap(job->parent, MAIN_VA_DMA_DST, size) < 0)
		rc = fail(job, "mmrt_unmap(dma) failed");
	free(d.lat);
	free(d.prot);
	return rc;
}

static int
step_unmap_destroy(struct main_job *job)
{
	struct mmrt_as_stats st;
	uint64_t c4k = 0, chuge = 0, t0, t1;
	uint64_t merge_len = 2 * (uint64_t)job->merge_pairs * MMRT_PAGE_SIZE;
	int rc, rc2;

	if (unmap_timed(job, job->parent, MAIN_VA_ANON, job->region, &c4k) < 0 ||
	    unmap_timed(job, job->parent, MAIN_VA_MERGE, merge_len, &c4k) < 0)
		return -1;
	step_add(job, "unmap 4K", job->pages +
		2 * (uint64_t)job->merge_pairs, c4k);
	if (unmap_timed(job, job->parent, MAIN_VA_HUGE, job->region,
			&chuge) < 0)
		return -1;
	step_add(job, "unmap huge", job->pages, chuge);
	step_add(job, "unmap child copies", job->child_unmap_pages,
		job->child_unmap_cycles);

	rc = mmrt_as_stats(job->parent, &st);
	if (rc == 0 && (st.rss_pages != 0 || st.regions != 0))
		return fail(job, "parent keeps %" PRIu64 " pages in %" PRIu64
			" regions after unmap", st.rss_pages, st.regions);
	rc = mmrt_as_stats(job->child, &st);
	if (rc == 0 && (st.rss_pages != 0 || st.regions != 0))
		return fail(job, "child keeps %" PRIu64 " pages in %" PRIu64
			" regions after unmap", st.rss_pages, st.regions);

	t0 = rte_rdtsc();
	rc = mmrt_as_destroy(job->child);
	rc2 = mmrt_as_destroy(job->parent);
	t1 = rte_rdtsc();
	job->child = NULL;
	job->parent = NULL;
	if (rc < 0 || rc2 < 0)
		return fail(job, "mmrt_as_destroy: %s",
			strerror(rc < 0 ? -rc : -rc2));
	step_add(job, "as_destroy", 2, t1 - t0);

	job->used_end = pool_used();
	if (job->used_end != job->used_start)
		return fail(job, "pool used %" PRIu64 " frames at start, %"
			PRIu64 " at end", job->used_start, job->used_end);
	return 0;
}

/*
 * Size the job to the pool: the parent's two regions, the child's copies
 * of one region, the merge pages and page tables must fit in the free
 * frames.
 */
static int
size_job(struct main_job *job, const struct mmrt_mem_stats *st)
{
	uint64_t need;

	job->region = MAIN_REGION_SIZE;
	job->merge_pairs = MAIN_MERGE_PAIRS;
	for (;;) {
		need = 3 * (job->region / MMRT_PAGE_SIZE) +
			2 * job->merge_pairs;
		need += need / 64 + 64; /* page tables, caches */
		if (need <= st->frames_free)
			break;
		if (job->region / 2 < MAIN_REGION_MIN)
			return fail(job, "pool too small: %" PRIu64
				" free frames, need %" PRIu64,
				st->frames_free, need);
		job->region /= 2;
		job->merge_pairs /= 2;
	}
	job->pages = job->region / MMRT_PAGE_SIZE;
	return 0;
}

static void
print_summary(const struct main_job *job, bool embedded,
	const struct mmrt_mem_stats *st)
{
	const struct mmrt_config *cfg = mmrt_config_get();
	const struct main_step *s;
	unsigned int i;
	double ms, ns;

	printf("\nmmrt: %s memory%s, pool %" PRIu64 " MiB (%" PRIu64
		" frames, %" PRIu64 " huge free)\n",
		st->hugepages ? "hugepage" : "no-huge",
		embedded ? " (embedded default)" : "",
		st->frames_total * MMRT_PAGE_SIZE >> 20, st->frames_total,
		st->huge_free);
	printf("mmrt: %u lcores (main %u), config %s, TSC %.2f GHz\n",
		rte_lcore_count(), rte_get_main_lcore(),
		cfg != NULL && cfg->path[0] != '\0' ? cfg->path : "built-in",
		(double)tsc_hz / 1e9);
	if (job->nsteps == 0)
		return;
	printf("mmrt: regions 2 x %" PRIu64 " MiB (4K; huge: %s),"
		" %u merge pairs\n", job->region >> 20,
		job->huge_leaves ? "2M leaves" : "4K fallback",
		job->merge_pairs);
	printf("%-24s %10s %11s %11s\n", "step", "count", "total ms",
		"ns/op");
	for (i = 0; i < job->nsteps; i++) {
		s = &job->steps[i];
		ms = cycles_to_ns(s->cycles) / 1e6;
		ns = s->count != 0 ? cycles_to_ns(s->cycles) / s->count : 0;
		printf("%-24s %10" PRIu64 " %11.3f %11.1f\n", s->name,
			s->count, ms, ns);
	}
	if (job->child_st.cow != 0)
		printf("cow: child copied %" PRIu64 " pages, reused %" PRIu64
			", split %" PRIu64 " huge leaves\n", job->child_st.cow,
			job->child_st.cow_reuse, job->child_st.splits);
	if (job->merge_saved != 0)
		printf("merge: %" PRIu64 " frames saved (%" PRIu64 " KiB)\n",
			job->merge_saved,
			job->merge_saved * MMRT_PAGE_SIZE >> 10);
	if (job->xlate_done && job->xlate_on_main)
		printf("translate: one lcore only, ran on the main lcore %u\n",
			job->xlate_lcore);
	else if (job->xlate_done)
		printf("translate: registered poller on worker lcore %u,"
			" main lcore idle\n", job->xlate_lcore);
	if (job->inval_done)
		printf("consumer: id %d on lcore %u: %" PRIu64 " invalidations"
			" (%" PRIu64 " by the mailbox), %" PRIu64 " acks, %"
			PRIu64 " fences; round trip p50 %.0f ns, p99 %.0f ns\n",
			job->cons_id, job->cons_lcore,
			job->cons_st.inval_descs, job->cons_st.inval_mailbox,
			job->cons_st.acks, job->cons_st.fences, job->inval_p50,
			job->inval_p99);
	else if (job->xlate_done && job->xlate_on_main)
		printf("consumer: one lcore only, step skipped\n");
	if (job->uffd_done) {
		printf("userfault: consumer id %d on lcore %u, handler on main"
			" lcore %u: %" PRIu64 " faults posted, %" PRIu64
			" deduplicated\n", job->uffd_cons_id, job->uffd_lcore,
			rte_get_main_lcore(), job->uffd_st.faults,
			job->uffd_st.faults_dedup);
		printf("userfault: %" PRIu64 " pages filled (%" PRIu64
			" EEXIST, woken); miss to retry p50 %.0f ns,"
			" p99 %.0f ns, max %.0f ns\n",
			job->uffd_st.filled_pages, job->uffd_eexist,
			job->uffd_p50, job->uffd_p99, job->uffd_max);
	} else if (job->uffd_skipped) {
		printf("userfault: one lcore only, step skipped\n");
	}
	if (job->dma_done) {
		double s = cycles_to_ns(job->dma_cycles) / 1e9;

		printf("dma: swdma on lcore %u, %" PRIu64 " MiB in %" PRIu64
			" copies (%" PRIu64 " x 4 KiB, %" PRIu64 " x 64 B),"
			" window %u: %.2f GB/s, %.2f Mops/s, data verified\n",
			job->dma_lcore, job->dma_size >> 20,
			job->dma_ops[0] + job->dma_ops[1], job->dma_ops[0],
			job->dma_ops[1], MAIN_DMA_WINDOW,
			(double)job->dma_size / s / 1e9,
			(double)(job->dma_ops[0] + job->dma_ops[1]) / s / 1e6);
		printf("dma: submit to completion 4 KiB p50 %.1f us, p99 %.1f"
			" us; 64 B p50 %.1f us, p99 %.1f us\n",
			job->dma_p50[0] / 1e3, job->dma_p99[0] / 1e3,
			job->dma_p50[1] / 1e3, job->dma_p99[1] / 1e3);
		printf("dma: %" PRIu64 " pages filled on demand, %" PRIu64
			" parks, %" PRIu64 " page requests; %" PRIu64
			" invalidations acked while copying (protect p50 %.1f"
			" us, p99 %.1f us), %" PRIu64 " fences\n",
			job->dma_filled, job->dma_st.parks,
			job->dma_st.consumer.page_requests,
			job->dma_st.consumer.inval_descs,
			job->dma_prot_p50 / 1e3, job->dma_prot_p99 / 1e3,
			job->dma_st.consumer.fences);
	} else if (job->dma_skipped) {
		printf("dma: one lcore only, step skipped\n");
	}
	if (job->reason[0] == '\0')
		printf("pool: %" PRIu64 " frames used at start and at end\n",
			job->used_start);
}

int
main(int argc, char **argv)
{
	static struct main_job job;
	struct mmrt_mem_stats st;
	bool embedded;
	int rc;

	embedded = argc <= 1 || strcmp(argv[1], "--") == 0;
	rc = mmrt_init(argc, argv);
	if (rc < 0) {
		printf("mmrt: FAILED (mmrt_init: %s)\n", strerror(-rc));
		return 1;
	}
	if (rc < argc - 1) {
		fprintf(stderr, "mmrt: unknown argument \"%s\"\n"
			"usage: %s [EAL args] [-- [--config FILE]"
			" [--pool-mb N] [--log-level N]]\n",
			argv[rc + 1], argv[rc]);
		mmrt_fini();
		return 2;
	}

	tsc_hz = rte_get_tsc_hz();
	memset(&st, 0, sizeof(st));
	rc = mmrt_mem_stats(&st);
	if (rc < 0) {
		fail(&job, "mmrt_mem_stats: %s", strerror(-rc));
		goto out;
	}
	job.used_start = pool_used();

	if (size_job(&job, &st) < 0 ||
	    step_create_map(&job) < 0 ||
	    step_fork_cow(&job) < 0 ||
	    step_merge(&job) < 0 ||
	    step_translate(&job) < 0 ||
	    step_consumer(&job) < 0 ||
	    step_uffd(&job) < 0 ||
	    step_dma(&job) < 0 ||
	    step_unmap_destroy(&job) < 0)
		goto out;

out:
	/* On failure, release what is left so that fini can run. */
	if (job.child != NULL)
		mmrt_as_destroy(job.child);
	if (job.parent != NULL)
		mmrt_as_destroy(job.parent);
	print_summary(&job, embedded, &st);
	rc = mmrt_fini();
	if (rc < 0)
		fail(&job, "mmrt_fini: %s", strerror(-rc));
	if (job.reason[0] != '\0') {
		printf("mmrt: FAILED (%s)\n", job.reason);
		return 1;
	}
	printf("mmrt: OK\n");
	return 0;
}
