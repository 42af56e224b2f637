/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The userfault step of the main job: a consumer on a worker lcore walks
 * a MISSING region while a handler on the main lcore fills its pages.
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
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_mm.h>
#include <mmrt_uffd.h>

#include "job.h"

/*
 * Pages of the userfault region (MISSING; not in size_job(): the step runs
 * after the child's copies are gone, below the job's peak).
 */
#define MAIN_UFFD_PAGES 256u
/* How long the consumer retries one page before it gives up. */
#define MAIN_UFFD_DEADLINE_MS 1000u

/* The consumer walking the userfault region on its own lcore. */
struct main_uffd_arg {
	struct mmrt_consumer *c;
	uint64_t va;
	unsigned int pages;
	uint64_t deadline;     /* TSC cycles a page may take */
	double *lat;           /* Out: cycles from first miss to hit. */
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
			a->lat[i] = (double)(rte_rdtsc() - t0);
		if (rc == 0 && (x.size < MMRT_PAGE_SIZE ||
				!page_pattern_ok(x.addr, va, TAG_UFFD))) {
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
		return job_fail(job, "uffd: unexpected event 0x%x", m->event);
	va = m->arg.pagefault.address;
	if ((va & (MMRT_PAGE_SIZE - 1)) != 0 || va < MAIN_VA_UFFD ||
	    va >= MAIN_VA_UFFD + len)
		return job_fail(job, "uffd: fault at 0x%" PRIx64
			", outside the region or not a page", va);
	if (m->arg.pagefault.flags != 0)
		return job_fail(job, "uffd: read MISSING fault at 0x%" PRIx64
			" has flags 0x%" PRIx64, va, m->arg.pagefault.flags);
	if (m->arg.pagefault.ptid != ptid)
		return job_fail(job,
			"uffd: fault at 0x%" PRIx64 " from requester"
			" 0x%" PRIx32 ", expected the consumer 0x%" PRIx32, va,
			m->arg.pagefault.ptid, ptid);
	page_pattern(buf, va, TAG_UFFD);
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
			return job_fail(job,
				"mmrt_uffd_wake(0x%" PRIx64 "): %s",
				va, strerror(-rc));
		return 0;
	}
	return job_fail(job, "mmrt_uffd_copy(0x%" PRIx64 ") = %d (%s), copy %"
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
			job_fail(job, "mmrt_uffd_read: %s", strerror(-n));
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
int
step_uffd(struct main_job *job)
{
	struct mmrt_consumer_conf conf = { .name = "main-uffd-consumer" };
	const uint64_t len = (uint64_t)MAIN_UFFD_PAGES * MMRT_PAGE_SIZE;
	struct mmrt_consumer_stats cst;
	struct main_uffd_arg a;
	struct app_pct pct;
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
	a.deadline = job_tsc_hz / 1000 * MAIN_UFFD_DEADLINE_MS;
	a.lat = calloc(MAIN_UFFD_PAGES, sizeof(*a.lat));
	if (a.lat == NULL)
		return job_fail(job, "out of memory");

	rc = mmrt_map(job->parent, MAIN_VA_UFFD, len,
		MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	if (rc < 0) {
		rc = job_fail(job, "mmrt_map(uffd): %s", strerror(-rc));
		goto out;
	}
	mapped = true;
	features = MMRT_UFFD_FEATURE_THREAD_ID;
	u = mmrt_uffd_create(job->parent, MMRT_UFFD_API, &features, NULL);
	if (u == NULL) {
		rc = job_fail(job,
			"mmrt_uffd_create: %s", rte_strerror(rte_errno));
		goto out;
	}
	rc = mmrt_uffd_register(u, MAIN_VA_UFFD, len,
		MMRT_UFFD_REGISTER_MODE_MISSING, &ops);
	if (rc < 0) {
		rc = job_fail(job, "mmrt_uffd_register: %s", strerror(-rc));
		goto out;
	}
	if ((ops & (MMRT_UFFD_OP_COPY | MMRT_UFFD_OP_WAKE)) !=
			(MMRT_UFFD_OP_COPY | MMRT_UFFD_OP_WAKE)) {
		rc = job_fail(job, "mmrt_uffd_register: ops 0x%" PRIx64
			" lack COPY or WAKE", ops);
		goto out;
	}
	a.c = job_consumer(job, &conf, &job->uffd_cons_id);
	if (a.c == NULL) {
		rc = -1;
		goto out;
	}

	job->uffd_lcore = lcore;
	rc = job_launch(job, uffd_consumer, &a, lcore);
	if (rc < 0)
		goto out;
	rc = uffd_handler(job, u, &a);
	app_worker_wait(lcore);
	if (rc < 0)
		goto out;
	if (a.rc < 0) {
		rc = job_fail(job, "uffd consumer at 0x%" PRIx64 ": %s (%s)",
			a.bad_va, a.what != NULL ? a.what : "error",
			strerror(-a.rc));
		goto out;
	}

	/* Every fault was read and answered once; every page filled once. */
	mmrt_uffd_stats(u, &job->uffd_st);
	mmrt_consumer_stats(a.c, &cst);
	if (job->uffd_filled != MAIN_UFFD_PAGES ||
	    job->uffd_st.filled_pages != MAIN_UFFD_PAGES) {
		rc = job_fail(job, "uffd: %" PRIu64 " copies filled, %" PRIu64
			" pages counted, of %u", job->uffd_filled,
			job->uffd_st.filled_pages, MAIN_UFFD_PAGES);
		goto out;
	}
	if (job->uffd_st.faults != job->uffd_read ||
	    job->uffd_st.faults_missing != job->uffd_st.faults ||
	    job->uffd_st.pending != 0) {
		rc = job_fail(job, "uffd: %" PRIu64 " faults posted (%" PRIu64
			" MISSING), %" PRIu64 " read, %" PRIu64
			" still pending", job->uffd_st.faults,
			job->uffd_st.faults_missing, job->uffd_read,
			job->uffd_st.pending);
		goto out;
	}
	/*
	 * The consumer is the only requester: each probe of its misses
	 * reached the uffd (posted, deduplicated or dropped on a full ring).
	 * Its retries of a posted page answered from its memo of the post
	 * count as userfaults too without reaching the uffd (lib/dev
	 * dev_prq.c), so the consumer counts at least what the uffd saw.
	 */
	if (cst.userfaults < job->uffd_st.faults +
			job->uffd_st.faults_dedup + job->uffd_st.faults_full ||
	    cst.userfaults < MAIN_UFFD_PAGES || cst.fences != 0) {
		rc = job_fail(job,
			"uffd consumer: %" PRIu64 " userfaults, uffd %"
			PRIu64 " posted + %" PRIu64 " dedup + %" PRIu64
			" full, %" PRIu64 " fences", cst.userfaults,
			job->uffd_st.faults, job->uffd_st.faults_dedup,
			job->uffd_st.faults_full, cst.fences);
		goto out;
	}
	app_pct(a.lat, MAIN_UFFD_PAGES, &pct);
	job->uffd_p50 = cycles_to_ns(pct.p50);
	job->uffd_p99 = cycles_to_ns(pct.p99);
	job->uffd_max = cycles_to_ns(pct.max);
	job->uffd_done = true;
	job_step_add(job, "userfault (page)", MAIN_UFFD_PAGES, a.cycles);
	rc = 0;
out:
	/* The consumer is stopped: destroy it, then the uffd, then unmap. */
	if (a.c != NULL)
		mmrt_consumer_destroy(a.c);
	if (u != NULL) {
		int rc2 = mmrt_uffd_destroy(u);

		if (rc2 < 0)
			rc = job_fail(job,
				"mmrt_uffd_destroy: %s", strerror(-rc2));
	}
	if (mapped) {
		int rc2 = mmrt_unmap(job->parent, MAIN_VA_UFFD, len);

		if (rc2 < 0)
			rc = job_fail(job,
				"mmrt_unmap(uffd): %s", strerror(-rc2));
	}
	free(a.lat);
	return rc;
}
