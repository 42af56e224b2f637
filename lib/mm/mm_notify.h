/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_NOTIFY_H
#define MM_NOTIFY_H

/*
 * notifier.c, as the layers above it see it: the range bracket, the
 * secondary-TLB flush and the quarantine (subscribers: mmrt_notifier.h).
 *
 * Every operation that removes or downgrades translations brackets its
 * page-table changes with a range:
 *
 *   mm_range_init(&r, as, event, blockable, start, end, owner);
 *   mm_notify_start(&r);          before the first PTE changes
 *   ... change PTEs; the gather (or COW) calls mm_notify_invalidate()
 *       for the secondary-TLB flush before any frame is freed ...
 *   mm_notify_end(&r);            after the flush, before returning
 *
 * mm_notify_start() of a blockable range always returns 0; of a
 * nonblocking one it may return -EAGAIN, and then it must not be paired
 * with mm_notify_end(). Neither is called with a PT lock held.
 *
 * mm_notify_end() is mm_notify_end_interval() then mm_notify_end_legacy().
 * A caller that splits its last flush (mm_gather_finish_post(), then
 * mm_gather_finish_wait()) may end the interval notifiers' write period
 * between the halves, while the device TLBs drop the range: their
 * invalidate() ran at the start and the page table is final, as in the
 * kernel, whose zaps end the range before tlb_finish_mmu(). The legacy
 * subscribers' end stays after the flush (their secondary-TLB flush
 * happens before their end, as before).
 */

#include <stdbool.h>
#include <stdint.h>

#include "mmrt_mem.h"

struct mmrt_as;
struct mmrt_notifier;
struct mmrt_notifier_range;
struct mm_subscriptions;

void mm_range_init(struct mmrt_notifier_range *r, struct mmrt_as *as,
	int event, bool blockable, uint64_t start, uint64_t end, void *owner);
int mm_notify_start(struct mmrt_notifier_range *r);
void mm_notify_end(struct mmrt_notifier_range *r);
void mm_notify_end_interval(struct mmrt_notifier_range *r);
void mm_notify_end_legacy(struct mmrt_notifier_range *r);
/* The secondary-TLB flush of [start, end) (gather step 1, COW, merge). */
void mm_notify_invalidate(struct mmrt_as *as, uint64_t start, uint64_t end,
	bool full);

/*
 * The same flush in two halves, for a caller with work to do while the
 * consumers drop the range: _post() calls the one-phase subscribers and
 * posts to the two-phase ones (consumers); _wait() waits for their acks.
 * Only after _wait() returns is the flush done (no frame the range
 * mapped may be freed before). Between the halves the space's legacy
 * list is entered (a raised reader count: an unregister waits), so the
 * caller must not register or unregister a legacy notifier there, nor
 * block on anything a subscriber's ack may need.
 */
#define MM_NOTIFY_WAIT_BATCH 16
struct mm_notify_flush {
	struct mm_subscriptions *subs; /* entered, or NULL: nothing to wait */
	unsigned int n;                /* tokens below */
	struct mmrt_notifier *who[MM_NOTIFY_WAIT_BATCH];
	uint64_t tok[MM_NOTIFY_WAIT_BATCH];
};
void mm_notify_invalidate_post(struct mmrt_as *as, uint64_t start,
	uint64_t end, bool full, struct mm_notify_flush *f);
void mm_notify_invalidate_wait(struct mmrt_as *as, struct mm_notify_flush *f);
/*
 * Frames about to be released after their flush: a fenced subscriber may
 * take references to keep them out of the pool (quarantine). Every path
 * that drops a mapping's reference calls it first (gather, COW, merge).
 */
void mm_notify_quarantine(struct mmrt_as *as, const uint32_t *pfns,
	unsigned int n);
/* Release one mapping reference on @pfn after its flush (quarantine first). */
static inline void
mm_frame_release(struct mmrt_as *as, uint32_t pfn)
{
	mm_notify_quarantine(as, &pfn, 1);
	mmrt_frame_put(pfn);
}
/* Access-bit queries of the legacy subscribers, OR-ed. */
int mm_notify_clear_young(struct mmrt_as *as, uint64_t start, uint64_t end);
int mm_notify_test_young(struct mmrt_as *as, uint64_t addr);
/* Test observers: active invalidations and invalidate_seq of a space. */
uint64_t mm_notify_debug_active(struct mmrt_as *as);
uint64_t mm_notify_debug_seq(struct mmrt_as *as);
/*
 * In a secondary process: true if @as has plain subscribers (legacy or
 * interval, of kind 0: the primary's, whose callbacks this process
 * cannot call), so an operation that notifies must be refused
 * (-E_RTE_SECONDARY). Subscribers of a kind (consumers, pins without a
 * revocation callback) do not count. False in the primary.
 */
bool mm_notify_foreign(const struct mmrt_as *as);
/*
 * Interval subscription kinds: ops each process registers for itself
 * (mm_interval_kind_ops(), from a constructor), called through the
 * invalidating process's table, so that any process may insert a
 * subscription of a kind (mm_interval_insert_kind(): -EINVAL as
 * mmrt_interval_notifier_insert(), or an unknown kind; allowed in a
 * secondary) and any process may invalidate it.
 */
#define MM_IKIND_PIN 1  /* pin.c: a pin without a revocation callback */
#define MM_IKIND_MAX 2
struct mmrt_interval_notifier;
struct mmrt_interval_notifier_ops;
int mm_interval_kind_ops(uint32_t kind,
	const struct mmrt_interval_notifier_ops *ops);
int mm_interval_insert_kind(struct mmrt_interval_notifier *sub,
	struct mmrt_as *as, uint64_t start, uint64_t length, uint32_t kind);
/* The space is being torn down: release every subscriber. */
void mm_notify_release(struct mmrt_as *as);
/* Per-space subscription state, set up in create, torn down in destroy. */
int mm_notify_as_init(struct mmrt_as *as);
void mm_notify_as_fini(struct mmrt_as *as);

#endif /* MM_NOTIFY_H */
