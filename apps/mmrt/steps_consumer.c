/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The consumer step of the main job: invalidation round trips to a
 * polling consumer bound to the parent.
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

#include "job.h"

/* Invalidation round trips timed with a consumer bound. */
#define MAIN_INVAL_ROUNDS 5000u

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

/*
 * A polling consumer on its own lcore, bound to the parent: each protect
 * to read-only posts an invalidation to it and returns only after its
 * ack, so the time of the protect is the round trip.
 */
int
step_consumer(struct main_job *job)
{
	struct mmrt_consumer_conf conf = { .name = "main-consumer",
		.ack_deadline_us = 1000000 };
	struct main_cons_arg a;
	struct app_pct pct;
	uint64_t t0, dt, total = 0;
	double *rt;
	unsigned int i, lcore;
	int rc = 0;

	lcore = rte_get_next_lcore(-1, 1, 0);
	if (lcore >= RTE_MAX_LCORE)
		return 0; /* one lcore: the summary says the step was skipped */
	rt = calloc(MAIN_INVAL_ROUNDS, sizeof(*rt));
	if (rt == NULL)
		return job_fail(job, "out of memory");
	memset(&a, 0, sizeof(a));
	a.va = MAIN_VA_ANON;
	a.c = job_consumer(job, &conf, &job->cons_id);
	if (a.c == NULL) {
		free(rt);
		return -1;
	}
	job->cons_lcore = lcore;
	rc = job_launch(job, cons_poller, &a, lcore);
	if (rc < 0)
		goto out;
	for (i = 0; i < MAIN_INVAL_ROUNDS && rc == 0; i++) {
		rc = mmrt_fault(job->parent, MAIN_VA_ANON, MMRT_ACCESS_WRITE);
		if (rc == 0) {
			t0 = rte_rdtsc_precise();
			rc = mmrt_protect(job->parent, MAIN_VA_ANON,
				MMRT_PAGE_SIZE, MMRT_PROT_READ);
			dt = rte_rdtsc_precise() - t0;
			rt[i] = (double)dt;
			total += dt;
		}
		if (rc == 0)
			rc = mmrt_protect(job->parent, MAIN_VA_ANON,
				MMRT_PAGE_SIZE, MMRT_PROT_READ | MMRT_PROT_WRITE);
	}
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
	app_worker_wait(lcore);
	if (rc != 0) {
		rc = job_fail(job, "protect round trip: %s", strerror(-rc));
		goto out;
	}
	mmrt_consumer_stats(a.c, &job->cons_st);
	if (job->cons_st.fences != 0) {
		rc = job_fail(job, "the consumer was fenced");
		goto out;
	}
	app_pct(rt, MAIN_INVAL_ROUNDS, &pct);
	job->inval_p50 = cycles_to_ns(pct.p50);
	job->inval_p99 = cycles_to_ns(pct.p99);
	job->inval_done = true;
	job_step_add(job, "inval round trip", MAIN_INVAL_ROUNDS, total);
out:
	mmrt_consumer_destroy(a.c);
	free(rt);
	return rc;
}
