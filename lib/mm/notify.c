/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The device-flush step. Every change that removes or downgrades a
 * translation reaches this function before any frame it unhooked is freed
 * (the gather calls it first in every flush; copy-on-write calls it under
 * the PT lock between clearing and setting the PTE). It counts the flush,
 * calls the test hook, then the invalidate_secondary_tlbs op of every
 * legacy notifier subscriber (notifier.c); device-TLB consumers (lib/dev)
 * hook in here too.
 */

#include "mm_priv.h"
#include "mm_testhooks.h"

void
mm_notify_invalidate(struct mmrt_as *as, uint64_t start, uint64_t end,
	bool full)
{
	MM_STAT_ADD(as, flushes, 1);
#ifdef MMRT_TEST_HOOKS
	if (mm_test_hooks.on_flush != NULL)
		mm_test_hooks.on_flush(as, start, end, full,
			mm_test_hooks.on_flush_arg);
#else
	RTE_SET_USED(start);
	RTE_SET_USED(end);
	RTE_SET_USED(full);
#endif
	mm_notify_secondary_tlbs(as, start, end);
}
