/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The DMA step of the main job: a dma_mmrt device (the swdma engine as a
 * dmadev, bound to the parent with as=, its engine on a worker lcore),
 * driven with rte_dma_* only, copies between two regions of the parent
 * while the main lcore fills MISSING destination pages and invalidates.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_dmadev.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_dma_mmrt.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>
#include <mmrt_uffd.h>

#include "job.h"

/*
 * DMA step: the engine copies MAIN_DMA_SIZE bytes (halved until both
 * regions fit the pool) from one region of the parent to another, in
 * groups of 4 pages: 3 pages by one 4 KiB copy each, the 4th by 64
 * copies of 64 B. Part of the destination is registered MISSING.
 */
#define MAIN_DMA_SIZE (UINT64_C(16) << 20)
#define MAIN_DMA_SIZE_MIN (UINT64_C(1) << 20)
#define MAIN_DMA_SMALL 64u
#define MAIN_DMA_GROUP_OPS (3u + MMRT_PAGE_SIZE / MAIN_DMA_SMALL)
/* Destination pages registered MISSING (at most a quarter of them). */
#define MAIN_DMA_UFFD_PAGES 512u
/* Copies per submit (MAIN_DMA_WINDOW outstanding, job.h). */
#define MAIN_DMA_BATCH 32u
/* Batches between two invalidations (protect read-only and back). */
#define MAIN_DMA_INVAL_EVERY 8u
/* No completion for this long: the step fails. */
#define MAIN_DMA_STUCK_MS 5000u
/* The device, and its ring. */
#define MAIN_DMA_DEV "dma_mmrt_main"
#define MAIN_DMA_NB_DESC 1024u

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
	int16_t dev;           /* The dma_mmrt device, -1: none. */
	bool probed;
	struct mmrt_uffd *u;
	uint64_t pages;        /* Pages in each region. */
	uint64_t ops;          /* Copies in the workload. */
	uint64_t enq;          /* Copies enqueued. */
	uint64_t cpl;          /* Copies completed. */
	uint64_t uffd_va;      /* The MISSING part of the destination. */
	uint64_t uffd_len;
	uint64_t *lat;         /* Per copy: TSC at submit, then latency. */
	double *prot;          /* Protect round trips (TSC cycles). */
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

	n = rte_dma_completed(d->dev, 0, MAIN_DMA_WINDOW, &last, &err);
	t = rte_rdtsc();
	if (n > 0 && last != (uint16_t)(d->cpl + n - 1))
		return job_fail(job,
			"dma: completed reported index %u, expected"
			" %u", last, (uint16_t)(d->cpl + n - 1));
	for (i = 0; i < n; i++, d->cpl++)
		d->lat[d->cpl] = t - d->lat[d->cpl];
	if (!err)
		return n;
	n = rte_dma_completed_status(d->dev, 0, 1, &last, &st);
	dma_op(d->cpl, &src, &dst, &len);
	return job_fail(job,
		"dma: copy %" PRIu64 " (0x%" PRIx64 " -> 0x%" PRIx64
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
		return job_fail(job, "dma: mmrt_uffd_read: %s", strerror(-n));
	if (n > 0)
		memset(buf, 0xa5, sizeof(buf));
	for (i = 0; i < n; i++) {
		va = msgs[i].arg.pagefault.address;
		if (msgs[i].event != MMRT_UFFD_EVENT_PAGEFAULT ||
		    va < d->uffd_va || va >= d->uffd_va + d->uffd_len ||
		    msgs[i].arg.pagefault.flags !=
				MMRT_UFFD_PAGEFAULT_FLAG_WRITE)
			return job_fail(job,
				"dma: uffd message 0x%x at 0x%" PRIx64
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
			return job_fail(job, "dma: mmrt_uffd_copy(0x%" PRIx64
				") = %d, copy %" PRId64, va, rc, c.copy);
		r.start = va; /* filled meanwhile: still wake it */
		r.len = MMRT_PAGE_SIZE;
		rc = mmrt_uffd_wake(d->u, &r);
		if (rc < 0)
			return job_fail(job, "dma: mmrt_uffd_wake(0x%" PRIx64
				"): %s", va, strerror(-rc));
	}
	return n;
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
		return job_fail(job,
			"dma: protect round trip: %s", strerror(-rc));
	d->prot[d->nprot++] = (double)(t1 - t0);
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
			rc = rte_dma_copy(d->dev, 0, src, dst, len, 0);
			if (rc < 0)
				return job_fail(job,
					"dma: rte_dma_copy(%" PRIu64
					"): %s", d->enq, strerror(-rc));
			d->enq++;
		}
		if (n > 0) {
			t = rte_rdtsc();
			rte_dma_submit(d->dev, 0);
			for (i = d->enq - n; i < d->enq; i++)
				d->lat[i] = t;
			batches++;
		}
		got = dma_reap(job, d);
		if (got < 0)
			return -1;
		/*
		 * between batches: fills, invalidations (the driver serves
		 * the engine's page requests itself: on a MISSING page it
		 * posts the fault to the uffd, which this lcore serves)
		 */
		if (dma_serve_uffd(job, d) < 0)
			return -1;
		if (n > 0 && batches % MAIN_DMA_INVAL_EVERY == 0 &&
		    dma_inval(job, d) < 0)
			return -1;
		if (d->cpl != seen) {
			seen = d->cpl;
			last_progress = rte_get_timer_cycles();
		} else if (rte_get_timer_cycles() - last_progress > stuck) {
			return job_fail(job, "dma: no completion for %u ms at"
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
			return job_fail(job,
				"dma: mmrt_read(0x%" PRIx64 "): %s",
				MAIN_VA_DMA_DST + off, strerror(-rc));
		page_pattern(want, MAIN_VA_DMA_SRC + off, TAG_DMA);
		if (memcmp(got, want, sizeof(got)) != 0)
			return job_fail(job, "dma: destination page 0x%" PRIx64
				" differs from its source", MAIN_VA_DMA_DST +
				off);
	}
	return 0;
}

/* Sort each class's latencies apart; percentiles in ns. */
static int
dma_percentiles(struct main_job *job, struct main_dma *d)
{
	uint64_t i, n[2] = { 0, 0 }, src, dst;
	struct app_pct pct;
	double *v;
	uint32_t len;
	unsigned int k;

	v = calloc(d->ops, sizeof(*v));
	if (v == NULL)
		return job_fail(job, "out of memory");
	job->dma_ops[0] = d->ops / MAIN_DMA_GROUP_OPS * 3;
	job->dma_ops[1] = d->ops - job->dma_ops[0];
	for (i = 0; i < d->ops; i++) {
		k = dma_op(i, &src, &dst, &len);
		v[(k == 0 ? 0 : job->dma_ops[0]) + n[k]++] =
			(double)d->lat[i];
	}
	for (k = 0; k < 2; k++) {
		double *c = v + (k == 0 ? 0 : job->dma_ops[0]);

		app_pct(c, n[k], &pct);
		job->dma_p50[k] = cycles_to_ns(pct.p50);
		job->dma_p99[k] = cycles_to_ns(pct.p99);
	}
	free(v);
	if (d->nprot > 0) {
		app_pct(d->prot, d->nprot, &pct);
		job->dma_prot_p50 = cycles_to_ns(pct.p50);
		job->dma_prot_p99 = cycles_to_ns(pct.p99);
	}
	return 0;
}

/*
 * Probe, configure and start the dma_mmrt device: the parent's VAs
 * (as=), its engine on @lcore, one vchan of MAIN_DMA_NB_DESC.
 */
static int
dma_dev_up(struct main_job *job, struct main_dma *d, unsigned int lcore)
{
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
		.nb_desc = MAIN_DMA_NB_DESC,
	};
	struct rte_dma_conf conf = { .nb_vchans = 1 };
	char args[128];
	int rc;

	if (!mmrt_dma_mmrt_registered())
		return job_fail(job, "dma: the dma_mmrt driver is not "
			"registered");
	/*
	 * A generous ack deadline, as for the consumer step: a worker lcore
	 * preempted on a shared machine must not get the engine fenced.
	 */
	snprintf(args, sizeof(args), "as=%s,lcore=%u,ack_us=1000000",
		mmrt_as_name(job->parent), lcore);
	rc = rte_eal_hotplug_add("vdev", MAIN_DMA_DEV, args);
	if (rc < 0)
		return job_fail(job, "dma: probing vdev %s,%s: %s",
			MAIN_DMA_DEV, args, strerror(-rc));
	d->probed = true;
	rc = rte_dma_get_dev_id_by_name(MAIN_DMA_DEV);
	if (rc < 0)
		return job_fail(job, "dma: no dmadev %s", MAIN_DMA_DEV);
	d->dev = (int16_t)rc;
	rc = rte_dma_configure(d->dev, &conf);
	if (rc == 0)
		rc = rte_dma_vchan_setup(d->dev, 0, &vc);
	if (rc == 0)
		rc = rte_dma_start(d->dev);
	if (rc < 0)
		return job_fail(job, "dma: setting %s up: %s", MAIN_DMA_DEV,
			strerror(-rc));
	return 0;
}

/*
 * DMA: a dma_mmrt device, bound to the parent and its engine started on
 * the worker lcore, copies from one region to another (4 KiB and 64 B copies, a
 * window of copies outstanding). Between batches the main lcore reaps
 * completions, fills the destination pages registered MISSING on which
 * the engine parks, and now and then protects an unrelated page
 * read-only and back, an invalidation the engine acks while it copies.
 * Then every destination page is checked against its source.
 */
int
step_dma(struct main_job *job)
{
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
		return job_fail(job, "mmrt_mem_stats: %s", strerror(-rc));
	/* both regions, page tables: halve until they fit */
	for (size = MAIN_DMA_SIZE; 2 * (size / MMRT_PAGE_SIZE) +
			size / MMRT_PAGE_SIZE / 32 + 64 > ms.frames_free;
			size /= 2)
		if (size / 2 < MAIN_DMA_SIZE_MIN)
			return job_fail(job,
				"pool too small for the DMA step: %"
				PRIu64 " free frames", ms.frames_free);
	memset(&d, 0, sizeof(d));
	d.dev = -1;
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
		rc = job_fail(job, "out of memory");
		goto out;
	}

	rc = mmrt_map(job->parent, MAIN_VA_DMA_SRC, size,
		MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	if (rc == 0)
		rc = mmrt_map(job->parent, MAIN_VA_DMA_DST, size,
			MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	if (rc < 0) {
		rc = job_fail(job, "mmrt_map(dma): %s", strerror(-rc));
		goto out;
	}
	for (p = 0; p < d.pages; p++) {
		page_pattern(words, MAIN_VA_DMA_SRC + p * MMRT_PAGE_SIZE,
			TAG_DMA);
		rc = mmrt_write(job->parent, MAIN_VA_DMA_SRC +
			p * MMRT_PAGE_SIZE, words, sizeof(words));
		if (rc < 0) {
			rc = job_fail(job, "mmrt_write(dma source): %s",
				strerror(-rc));
			goto out;
		}
	}
	d.u = mmrt_uffd_create(job->parent, MMRT_UFFD_API, &features, NULL);
	if (d.u == NULL) {
		rc = job_fail(job, "dma: mmrt_uffd_create: %s",
			rte_strerror(rte_errno));
		goto out;
	}
	rc = mmrt_uffd_register(d.u, d.uffd_va, d.uffd_len,
		MMRT_UFFD_REGISTER_MODE_MISSING, &ops);
	if (rc < 0) {
		rc = job_fail(job,
			"dma: mmrt_uffd_register: %s", strerror(-rc));
		goto out;
	}
	rc = dma_dev_up(job, &d, lcore);
	if (rc < 0)
		goto out;
	started = true;

	t0 = rte_rdtsc();
	rc = dma_run(job, &d);
	job->dma_cycles = rte_rdtsc() - t0;
	if (rc < 0)
		goto out;
	/* the counters live while the device is started */
	rc = mmrt_dma_mmrt_stats(d.dev, &job->dma_st);
	if (rc < 0) {
		rc = job_fail(job, "mmrt_dma_mmrt_stats: %s", strerror(-rc));
		goto out;
	}
	started = false;
	rte_dma_stop(d.dev);
	mmrt_uffd_stats(d.u, &ust);
	if (job->dma_st.submitted != d.ops ||
	    job->dma_st.completed != d.ops || job->dma_st.errors != 0 ||
	    job->dma_st.bytes != size) {
		rc = job_fail(job,
			"dma: engine submitted %" PRIu64 ", completed %"
			PRIu64 " (%" PRIu64 " errors), %" PRIu64 " bytes; "
			"expected %" PRIu64 " copies of %" PRIu64 " bytes",
			job->dma_st.submitted, job->dma_st.completed,
			job->dma_st.errors, job->dma_st.bytes, d.ops, size);
		goto out;
	}
	if (job->dma_st.consumer.fences != 0) {
		rc = job_fail(job, "dma: the engine was fenced");
		goto out;
	}
	if (job->dma_filled != d.uffd_len / MMRT_PAGE_SIZE ||
	    ust.filled_pages != job->dma_filled || ust.pending != 0) {
		rc = job_fail(job,
			"dma: %" PRIu64 " pages filled (uffd: %" PRIu64
			", %" PRIu64 " pending) of %" PRIu64, job->dma_filled,
			ust.filled_pages, ust.pending,
			d.uffd_len / MMRT_PAGE_SIZE);
		goto out;
	}
	if (job->dma_st.consumer.inval_descs < d.nprot) {
		rc = job_fail(job, "dma: %" PRIu64 " protects, %" PRIu64
			" invalidations", d.nprot,
			job->dma_st.consumer.inval_descs);
		goto out;
	}
	rc = dma_verify(job, &d);
	if (rc == 0)
		rc = dma_percentiles(job, &d);
	if (rc < 0)
		goto out;
	job_step_add(job, "dma copy (op)", d.ops, job->dma_cycles);
	job->dma_done = true;
out:
	/* Device (the stop destroys the engine), then uffd, then memory. */
	if (d.dev >= 0) {
		if (started)
			rte_dma_stop(d.dev);
		rte_dma_close(d.dev);
	}
	if (d.probed && rte_eal_hotplug_remove("vdev", MAIN_DMA_DEV) < 0)
		rc = job_fail(job, "dma: removing vdev %s failed",
			MAIN_DMA_DEV);
	if (d.u != NULL) {
		int rc2 = mmrt_uffd_destroy(d.u);

		if (rc2 < 0)
			rc = job_fail(job,
				"mmrt_uffd_destroy: %s", strerror(-rc2));
	}
	if (mmrt_unmap(job->parent, MAIN_VA_DMA_SRC, size) < 0 ||
	    mmrt_unmap(job->parent, MAIN_VA_DMA_DST, size) < 0)
		rc = job_fail(job, "mmrt_unmap(dma) failed");
	free(d.lat);
	free(d.prot);
	return rc;
}
