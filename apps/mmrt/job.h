/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_APP_JOB_H
#define MMRT_APP_JOB_H

/*
 * The main job's state, shared by main.c and the step files (one file per
 * group of steps: steps_mm.c, steps_consumer.c, steps_uffd.c,
 * steps_dma.c). Each step is one function that takes the job, records
 * what it timed with job_step_add() and returns 0, or -1 after
 * job_fail() kept the reason. main() runs them in order.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_lcore.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>
#include <mmrt_dma_mmrt.h>
#include <mmrt_uffd.h>

#include "app_common.h"

/* Virtual layout of the address space (all 2 MiB aligned). */
#define MAIN_VA_ANON  (UINT64_C(1) << 32)
#define MAIN_VA_HUGE  (UINT64_C(2) << 32)
#define MAIN_VA_MERGE (UINT64_C(3) << 32)
#define MAIN_VA_UFFD  (UINT64_C(4) << 32)
#define MAIN_VA_DMA_SRC (UINT64_C(5) << 32)
#define MAIN_VA_DMA_DST (UINT64_C(6) << 32)

/* Fault messages a handler reads at once. */
#define MAIN_UFFD_BURST 32u
/* DMA step: copies outstanding (the summary prints it). */
#define MAIN_DMA_WINDOW 256u

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
	struct mmrt_dma_mmrt_stats dma_st;
	double dma_p50[2], dma_p99[2]; /* Submit to completion, 4K and 64B. */
	double dma_prot_p50, dma_prot_p99;
	struct main_step steps[MAIN_MAX_STEPS];
	unsigned int nsteps;
	char reason[MAIN_REASON_SIZE];
};

/* TSC cycles per second, set by main() before the first step. */
extern uint64_t job_tsc_hz;

/** Keep the first failure's reason in @p job. @return -1. */
int job_fail(struct main_job *job, const char *fmt, ...)
	__rte_format_printf(2, 3);

/** Record a timed step for the summary: @p count operations in @p cycles. */
void job_step_add(struct main_job *job, const char *name, uint64_t count,
	uint64_t cycles);

/** Frames in use, exact: deferred page tables reclaimed, cache flushed. */
uint64_t job_pool_used(void);

static inline double
cycles_to_ns(double cycles)
{
	return cycles * 1e9 / (double)job_tsc_hz;
}

/**
 * Create a consumer from @p conf and bind it to the parent; its id in
 * @p id. @return the consumer, or NULL with the reason kept (nothing
 * left behind).
 */
struct mmrt_consumer *job_consumer(struct main_job *job,
	const struct mmrt_consumer_conf *conf, int *id);

/** app_worker_launch(); on failure keep the reason. @return 0 or -1. */
int job_launch(struct main_job *job, lcore_function_t *f, void *arg,
	unsigned int lcore);

/** Fill a page's worth of @p words with page_tag(va, salt) + index. */
void page_pattern(uint64_t *words, uint64_t va, uint64_t salt);

/** @return whether @p words hold page_pattern(va, salt). */
bool page_pattern_ok(const volatile uint64_t *words, uint64_t va,
	uint64_t salt);

/* The 8-byte tag written at the start of every page. */
static inline uint64_t
page_tag(uint64_t va, uint64_t salt)
{
	return (va >> MMRT_PAGE_SHIFT) * UINT64_C(0x9e3779b97f4a7c15) ^ salt;
}

#define TAG_PARENT UINT64_C(0x706172656e740000)
#define TAG_CHILD  UINT64_C(0x6368696c64000000)
#define TAG_UFFD   UINT64_C(0x7566666400000000)
#define TAG_DMA    UINT64_C(0x646d610000000000)

/*
 * The steps, in the order main() runs them. Each returns 0, or -1 with
 * the reason in job->reason; a step that needs a worker lcore and finds
 * none records that it was skipped and returns 0.
 */
int step_create_map(struct main_job *job);
int step_fork_cow(struct main_job *job);
int step_merge(struct main_job *job);
int step_translate(struct main_job *job);
int step_consumer(struct main_job *job);
int step_uffd(struct main_job *job);
int step_dma(struct main_job *job);
int step_unmap_destroy(struct main_job *job);

#endif /* MMRT_APP_JOB_H */
