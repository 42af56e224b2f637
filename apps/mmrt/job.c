/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/* The main job's helpers shared by its steps (job.h). */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_launch.h>
#include <rte_lcore.h>

#include <mmrt_core.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>

#include "job.h"

uint64_t job_tsc_hz;

int
job_fail(struct main_job *job, const char *fmt, ...)
{
	va_list ap;

	if (job->reason[0] != '\0')
		return -1; /* keep the first reason */
	va_start(ap, fmt);
	vsnprintf(job->reason, sizeof(job->reason), fmt, ap);
	va_end(ap);
	return -1;
}

void
job_step_add(struct main_job *job, const char *name, uint64_t count,
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

uint64_t
job_pool_used(void)
{
	mmrt_mm_reclaim(true);
	mmrt_mem_cache_flush();
	return mmrt_mem_used();
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
int
worker_launch(lcore_function_t *f, void *arg, unsigned int lcore)
{
	main_workers[lcore].f = f;
	main_workers[lcore].arg = arg;
	return rte_eal_remote_launch(worker_main, &main_workers[lcore], lcore);
}

/* rte_eal_wait_lcore(), then what the worker did happens before. */
int
worker_wait(unsigned int lcore)
{
	int rc = rte_eal_wait_lcore(lcore);

	MMRT_TSAN_ACQUIRE(&main_workers[lcore]);
	return rc;
}

int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}
