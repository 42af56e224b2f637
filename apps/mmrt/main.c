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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>

#include <mmrt_core.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>

#include "job.h"

/* Default sizes of the two regions; halved until they fit the pool. */
#define MAIN_REGION_SIZE (UINT64_C(64) << 20)
#define MAIN_REGION_MIN MMRT_HUGE_SIZE
/* Pairs of identical pages given to mmrt_merge(). */
#define MAIN_MERGE_PAIRS 1024u

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
			return job_fail(job, "pool too small: %" PRIu64
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
	static const struct app_col cols[] = {
		{ "step", -24, 0, 0 },
		{ "count", 10, 0, 1 },
		{ "total ms", 11, 3, 1 },
		{ "ns/op", 11, 1, 1 },
	};
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
		(double)job_tsc_hz / 1e9);
	if (job->nsteps == 0)
		return;
	printf("mmrt: regions 2 x %" PRIu64 " MiB (4K; huge: %s),"
		" %u merge pairs\n", job->region >> 20,
		job->huge_leaves ? "2M leaves" : "4K fallback",
		job->merge_pairs);
	app_table_header(stdout, cols, RTE_DIM(cols));
	for (i = 0; i < job->nsteps; i++) {
		s = &job->steps[i];
		ms = cycles_to_ns(s->cycles) / 1e6;
		ns = s->count != 0 ? cycles_to_ns(s->cycles) / s->count : 0;
		app_table_str(stdout, &cols[0], s->name);
		app_table_u64(stdout, &cols[1], s->count);
		app_table_num(stdout, &cols[2], ms);
		app_table_num(stdout, &cols[3], ns);
		app_table_end(stdout);
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

		printf("dma: dma_mmrt on lcore %u, %" PRIu64 " MiB in %" PRIu64
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

	rc = mmrt_init(argc, argv);
	if (rc < 0) {
		printf("mmrt: FAILED (mmrt_init: %s)\n", strerror(-rc));
		return 1;
	}
	if (rc < argc - 1) {
		fprintf(stderr, "mmrt: unknown argument \"%s\"\n"
			"usage: %s [EAL args] [-- mmrt options]\n",
			argv[rc + 1], argv[rc]);
		mmrt_usage(stderr);
		mmrt_fini();
		return 2;
	}
	embedded = mmrt_embedded_default();

	job_tsc_hz = rte_get_tsc_hz();
	memset(&st, 0, sizeof(st));
	rc = mmrt_mem_stats(&st);
	if (rc < 0) {
		job_fail(&job, "mmrt_mem_stats: %s", strerror(-rc));
		goto out;
	}
	job.used_start = job_pool_used();

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
		job_fail(&job, "mmrt_fini: %s", strerror(-rc));
	if (job.reason[0] != '\0') {
		printf("mmrt: FAILED (%s)\n", job.reason);
		return 1;
	}
	printf("mmrt: OK\n");
	return 0;
}
