/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_TESTHOOKS_H
#define MM_TESTHOOKS_H

/*
 * Test-only hooks, compiled only with -Dtest_hooks=true (MMRT_TEST_HOOKS).
 * They inject faults and break rules on purpose so that the tests can show
 * they catch the breakage (negative controls). Never in production builds.
 */

#include <stdbool.h>
#include <stdint.h>

#include "mmrt_core.h"
/* TEST_ALLOC_FAIL(), one per allocation site, as in every library */
#include "core_testhooks.h"

struct mmrt_as;

struct mm_test_hooks {
	/* Negative control: free page-table pages at once instead of after a
	 * QSBR grace period. */
	bool pt_free_early;
	/* Treat the QSBR defer queue as full (synchronous-wait fallback). */
	bool dq_full;
	/* Fail the next N gather batch allocations (flush-instead-of-fail). */
	uint32_t gather_batch_fail;
	/* Called at every gather device flush, before any frame is freed. */
	void (*on_flush)(struct mmrt_as *as, uint64_t start, uint64_t end,
		bool full, void *arg);
	void *on_flush_arg;
	/* Lockless walks that found a page-table page freed or recycled
	 * under them (the use-after-free the QSBR rule forbids). */
	uint64_t walk_uaf;
	/* Lockless walks checked. */
	uint64_t walk_checked;
	/* Copy-on-write of the page at cow_delay_va (4 KiB aligned) spins
	 * cow_delay_cycles timer cycles after publishing the new PTE and
	 * releasing the PT lock, before the end of the operation (the
	 * invariant B litmus window). 0 cycles: off. */
	uint64_t cow_delay_va;
	uint64_t cow_delay_cycles;
	/* Negative control of invariant B: copy-on-write of a 4 KiB page
	 * flushes the device TLB at the end of the operation, after the
	 * window above, instead of under the PT lock between clearing the
	 * old entry and publishing the new one. Read once per copy. */
	bool cow_flush_late;
	/* Negative control of the legacy end's order: mmrt_protect() calls
	 * the legacy subscribers' invalidate_range_end right after posting
	 * its flush, before the consumers' acks. Read once per call. */
	bool protect_legacy_end_early;
	/* Negative control of the per-lcore counter shares (mm_as.h,
	 * mm_lc_add()): every lcore adds to lcore 0's share, pausing between
	 * its load and its store, so that a share has several writers. */
	bool lc_share_one;
	/* Negative control of the derived uffd statistics (uffd.c,
	 * mmrt_uffd_stats()): load npost and nundo first, then spin
	 * uffd_stats_gap_cycles timer cycles, then the WP and MINOR counts,
	 * the order that lets a post in between count a kind without its
	 * claim (faults_missing wraps below 0). */
	bool uffd_stats_npost_first;
	uint64_t uffd_stats_gap_cycles;
};

#ifdef MMRT_TEST_HOOKS
extern struct mm_test_hooks mm_test_hooks;
#define MMRT_TEST_HOOKS_ON 1
#else
#define MMRT_TEST_HOOKS_ON 0
#endif

#endif /* MM_TESTHOOKS_H */
