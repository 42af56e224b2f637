/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/* The main job's helpers shared by its steps (job.h). */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>

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

struct mmrt_consumer *
job_consumer(struct main_job *job, const struct mmrt_consumer_conf *conf,
	int *id)
{
	struct mmrt_consumer *c;

	c = mmrt_consumer_create(conf);
	if (c == NULL) {
		job_fail(job, "mmrt_consumer_create: %s",
			rte_strerror(rte_errno));
		return NULL;
	}
	*id = mmrt_consumer_bind(c, job->parent);
	if (*id < 0) {
		job_fail(job, "mmrt_consumer_bind: %s", strerror(-*id));
		mmrt_consumer_destroy(c);
		return NULL;
	}
	return c;
}

int
job_launch(struct main_job *job, lcore_function_t *f, void *arg,
	unsigned int lcore)
{
	int rc = app_worker_launch(f, arg, lcore);

	if (rc < 0)
		return job_fail(job, "rte_eal_remote_launch: %s",
			strerror(-rc));
	return 0;
}

void
page_pattern(uint64_t *words, uint64_t va, uint64_t salt)
{
	uint64_t tag = page_tag(va, salt);
	unsigned int w;

	for (w = 0; w < MMRT_PAGE_SIZE / sizeof(*words); w++)
		words[w] = tag + w;
}

bool
page_pattern_ok(const volatile uint64_t *words, uint64_t va, uint64_t salt)
{
	uint64_t tag = page_tag(va, salt);
	unsigned int w;

	for (w = 0; w < MMRT_PAGE_SIZE / sizeof(*words); w++)
		if (words[w] != tag + w)
			return false;
	return true;
}
