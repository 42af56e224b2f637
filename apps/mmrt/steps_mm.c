/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The address-space steps of the main job: create and map, fault every
 * page in, fork and copy-on-write, merge, translate from a registered
 * poller, and at the end unmap and destroy.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <mmrt_core.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>

#include "job.h"

/* Pages whose contents are checked after copy-on-write. */
#define MAIN_VERIFY_SAMPLES 1024u
/* Lockless translations done by the poller, in passes over both regions. */
#define MAIN_XLATE_LOOKUPS (UINT64_C(1) << 20)
/* Lookups between two quiescent-state reports of the poller. */
#define MAIN_XLATE_QS_EVERY 256u

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

static int
check_tag(struct main_job *job, struct mmrt_as *as, const char *who,
	uint64_t va, uint64_t salt)
{
	uint64_t v;
	int rc;

	rc = mmrt_read(as, va, &v, sizeof(v));
	if (rc < 0)
		return job_fail(job,
			"mmrt_read(%s, 0x%" PRIx64 "): %s", who, va,
			strerror(-rc));
	if (v != page_tag(va, salt))
		return job_fail(job, "%s page 0x%" PRIx64 " holds 0x%" PRIx64
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
			return job_fail(job, "mmrt_fault(0x%" PRIx64 "): %s",
				va + off, strerror(-rc));
	}
	job_step_add(job, name, len / step, rte_rdtsc() - t0);
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
			return job_fail(job, "mmrt_write(0x%" PRIx64 "): %s",
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
		return job_fail(job, "mmrt_unmap(%s, 0x%" PRIx64 "): %s",
			mmrt_as_name(as), va, strerror(-rc));
	return 0;
}

int
step_create_map(struct main_job *job)
{
	struct mmrt_xlate x;
	uint64_t t0, t1;
	int rc;

	t0 = rte_rdtsc();
	job->parent = mmrt_as_create("mmrt-main");
	t1 = rte_rdtsc();
	if (job->parent == NULL)
		return job_fail(job,
			"mmrt_as_create: %s", rte_strerror(rte_errno));
	job_step_add(job, "as_create", 1, t1 - t0);

	t0 = rte_rdtsc();
	rc = mmrt_map(job->parent, MAIN_VA_ANON, job->region,
		MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	t1 = rte_rdtsc();
	if (rc < 0)
		return job_fail(job, "mmrt_map(4K): %s", strerror(-rc));
	job_step_add(job, "map 4K", 1, t1 - t0);

	t0 = rte_rdtsc();
	rc = mmrt_map(job->parent, MAIN_VA_HUGE, job->region,
		MMRT_PROT_READ | MMRT_PROT_WRITE, MMRT_MAP_HUGE);
	t1 = rte_rdtsc();
	if (rc < 0)
		return job_fail(job, "mmrt_map(huge): %s", strerror(-rc));
	job_step_add(job, "map huge", 1, t1 - t0);

	if (fault_range(job, "fault 4K (page)", MAIN_VA_ANON, job->region,
			MMRT_PAGE_SIZE) < 0)
		return -1;
	if (fault_range(job, "fault huge (2M)", MAIN_VA_HUGE, job->region,
			MMRT_HUGE_SIZE) < 0)
		return -1;

	rc = mmrt_translate(job->parent, MAIN_VA_HUGE, MMRT_ACCESS_WRITE, &x);
	if (rc < 0)
		return job_fail(job, "mmrt_translate(huge) after fault: %s",
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
int
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
		return job_fail(job,
			"mmrt_as_fork: %s", rte_strerror(rte_errno));
	job_step_add(job, "fork", 1, t1 - t0);

	for (r = 0; r < 2; r++) {
		cycles = 0;
		if (tag_range(job, job->child, bases[r], job->region,
				TAG_CHILD, &cycles) < 0)
			return -1;
		job_step_add(job, names[r], job->pages, cycles);
		t0 = rte_rdtsc();
		if (verify_region(job, bases[r], &checked) < 0)
			return -1;
		vcycles += rte_rdtsc() - t0;
		if (unmap_timed(job, job->child, bases[r], job->region,
				&job->child_unmap_cycles) < 0)
			return -1;
		job->child_unmap_pages += job->pages;
	}
	job_step_add(job, "verify parent+child", checked, vcycles);
	if (mmrt_as_stats(job->child, &job->child_st) < 0)
		return job_fail(job, "mmrt_as_stats(child) failed");
	/* a 2 MiB leaf copied or reused whole resolves 512 pages at once */
	resolved = job->child_st.cow + job->child_st.cow_reuse +
		(MMRT_HUGE_SIZE / MMRT_PAGE_SIZE - 1) *
		(job->child_st.cow_huge + job->child_st.cow_reuse_huge);
	if (resolved < 2 * job->pages)
		return job_fail(job, "child wrote %" PRIu64 " pages but "
			"copy-on-write resolved %" PRIu64, 2 * job->pages,
			resolved);
	return 0;
}

int
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
		return job_fail(job, "mmrt_map(merge): %s", strerror(-rc));
	for (i = 0; i < job->merge_pairs; i++) {
		memset(page, (int)(i % 251) + 1, sizeof(page));
		memcpy(page, &i, sizeof(i));
		va = MAIN_VA_MERGE + 2 * (uint64_t)i * MMRT_PAGE_SIZE;
		rc = mmrt_write(job->parent, va, page, sizeof(page));
		if (rc == 0)
			rc = mmrt_write(job->parent, va + MMRT_PAGE_SIZE, page,
				sizeof(page));
		if (rc < 0)
			return job_fail(job,
				"mmrt_write(merge 0x%" PRIx64 "): %s",
				va, strerror(-rc));
	}

	before = job_pool_used();
	cycles = 0;
	for (i = 0; i < job->merge_pairs; i++) {
		va = MAIN_VA_MERGE + 2 * (uint64_t)i * MMRT_PAGE_SIZE;
		t0 = rte_rdtsc();
		rc = mmrt_merge(job->parent, va, job->parent,
			va + MMRT_PAGE_SIZE);
		cycles += rte_rdtsc() - t0;
		if (rc != 0)
			return job_fail(job,
				"mmrt_merge(0x%" PRIx64 ") = %d (%s)",
				va, rc, rc < 0 ? strerror(-rc) : "not merged");
	}
	after = job_pool_used();
	job_step_add(job, "merge (pair)", job->merge_pairs, cycles);
	job->merge_saved = before > after ? before - after : 0;
	if (after > before || job->merge_saved != job->merge_pairs)
		return job_fail(job,
			"merge of %u pairs saved %" PRId64 " frames",
			job->merge_pairs, (int64_t)(before - after));

	/* Both pages of a pair now share one frame and keep their bytes. */
	for (i = 0; i < job->merge_pairs; i++) {
		va = MAIN_VA_MERGE + 2 * (uint64_t)i * MMRT_PAGE_SIZE;
		rc = mmrt_translate(job->parent, va, MMRT_ACCESS_READ, &xa);
		if (rc == 0)
			rc = mmrt_translate(job->parent, va + MMRT_PAGE_SIZE,
				MMRT_ACCESS_READ, &xb);
		if (rc < 0)
			return job_fail(job, "mmrt_translate(merged 0x%" PRIx64
				"): %s", va, strerror(-rc));
		if (xa.pfn != xb.pfn || (xa.prot & MMRT_PROT_WRITE) != 0)
			return job_fail(job, "merged pair 0x%" PRIx64
				" not one write-protected frame", va);
		memset(page, (int)(i % 251) + 1, sizeof(page));
		memcpy(page, &i, sizeof(i));
		if (memcmp(xb.addr, page, sizeof(page)) != 0)
			return job_fail(job, "merged page 0x%" PRIx64
				" changed contents", va + MMRT_PAGE_SIZE);
	}
	return 0;
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

int
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
		rc = app_worker_launch(xlate_poller, &a, lcore);
		if (rc < 0)
			return job_fail(job,
				"rte_eal_remote_launch(lcore %u): %s",
				lcore, strerror(-rc));
		/* The main lcore does nothing else meanwhile. */
		app_worker_wait(lcore);
	} else {
		job->xlate_lcore = rte_get_main_lcore();
		job->xlate_on_main = true;
		xlate_poller(&a);
	}
	if (a.rc < 0)
		return job_fail(job,
			"translate on lcore %u at 0x%" PRIx64 ": %s",
			job->xlate_lcore, a.bad_va, strerror(-a.rc));
	job->xlate_done = true;
	job_step_add(job, job->xlate_on_main ? "translate (main lcore)" :
		"translate (poller)", a.lookups, a.cycles);
	return 0;
}

int
step_unmap_destroy(struct main_job *job)
{
	struct mmrt_as_stats st;
	uint64_t c4k = 0, chuge = 0, t0, t1;
	uint64_t merge_len = 2 * (uint64_t)job->merge_pairs * MMRT_PAGE_SIZE;
	int rc, rc2;

	if (unmap_timed(job, job->parent, MAIN_VA_ANON, job->region, &c4k) < 0 ||
	    unmap_timed(job, job->parent, MAIN_VA_MERGE, merge_len, &c4k) < 0)
		return -1;
	job_step_add(job, "unmap 4K", job->pages +
		2 * (uint64_t)job->merge_pairs, c4k);
	if (unmap_timed(job, job->parent, MAIN_VA_HUGE, job->region,
			&chuge) < 0)
		return -1;
	job_step_add(job, "unmap huge", job->pages, chuge);
	job_step_add(job, "unmap child copies", job->child_unmap_pages,
		job->child_unmap_cycles);

	rc = mmrt_as_stats(job->parent, &st);
	if (rc == 0 && (st.rss_pages != 0 || st.regions != 0))
		return job_fail(job,
			"parent keeps %" PRIu64 " pages in %" PRIu64
			" regions after unmap", st.rss_pages, st.regions);
	rc = mmrt_as_stats(job->child, &st);
	if (rc == 0 && (st.rss_pages != 0 || st.regions != 0))
		return job_fail(job, "child keeps %" PRIu64 " pages in %" PRIu64
			" regions after unmap", st.rss_pages, st.regions);

	t0 = rte_rdtsc();
	rc = mmrt_as_destroy(job->child);
	rc2 = mmrt_as_destroy(job->parent);
	t1 = rte_rdtsc();
	job->child = NULL;
	job->parent = NULL;
	if (rc < 0 || rc2 < 0)
		return job_fail(job, "mmrt_as_destroy: %s",
			strerror(rc < 0 ? -rc : -rc2));
	job_step_add(job, "as_destroy", 2, t1 - t0);

	job->used_end = job_pool_used();
	if (job->used_end != job->used_start)
		return job_fail(job, "pool used %" PRIu64 " frames at start, %"
			PRIu64 " at end", job->used_start, job->used_end);
	return 0;
}
