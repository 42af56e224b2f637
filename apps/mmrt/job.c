/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/* The main job's helpers shared by its steps (job.h). */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

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
