/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_AS_H
#define MM_AS_H

/*
 * struct mmrt_as, the address space, as every layer of lib/mm sees it
 * (header-only: the functions on it are the public mmrt_as_* of as.c, at
 * the top of the layering). Locks: mm_locking.h.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_rwlock.h>

#include "mmrt_core.h"
#include "mmrt_mm.h"

/* lib.mmrt.mm, registered in as.c; for MMRT_LOG(level, mm, ...). */
extern int mmrt_logtype_mm __attribute__((visibility("hidden")));

struct mm_region;
struct mm_subscriptions;
struct mmrt_uffd;

#define MM_AS_MAGIC MMRT_AS_MAGIC

/*
 * Lines by writer. A userfault's round trip has both sides RMW the map
 * lock (the consumer's probe, the handler's fill) and read the core
 * fields and the regions: with the lock on their line, each side's read
 * missed on the line the other had just written, then upgraded it for
 * the RMW. The read-mostly fields (written under the write map lock)
 * share the first line, the map lock has the second to itself, the
 * statistics (RMWed by fills and faults) the next.
 */
struct mmrt_as {
	struct mmrt_as_core core;    /* magic, pgd: read by the inline walk */
	struct mm_subscriptions *subs; /* notifier state (notifier.c) */
	struct mmrt_uffd *uffds;     /* uffds bound here (write map lock) */
	struct mm_region *regions;   /* sorted, disjoint (mm_region.h) */
	uint32_t nr_regions;
	uint32_t cap_regions;
	char name[MMRT_NAME_SIZE];
	rte_rwlock_t map_lock __rte_cache_aligned;
	uint32_t gather_pending;     /* gathers in progress (nesting) */
	/* statistics, updated atomically */
	int64_t rss_pages __rte_cache_aligned;
	int64_t pt_pages;
	uint64_t faults;
	uint64_t cow;
	uint64_t cow_reuse;
	uint64_t cow_huge;
	uint64_t cow_reuse_huge;
	uint64_t splits;
	uint64_t flushes;
	uint64_t nested_flushes;
	int64_t pinned_pages;        /* pages held by live pins (pin.c) */
};

#define MM_STAT_ADD(as, field, n) \
	__atomic_fetch_add(&(as)->field, (n), __ATOMIC_RELAXED)

/* Blocking calls take a registered poller offline while they wait. */
#define MM_BLOCKING_BEGIN() \
	bool mm_was_online_ = mmrt_thread_is_online(); \
	if (mm_was_online_) \
		mmrt_thread_offline()
#define MM_BLOCKING_END() do { \
	if (mm_was_online_) \
		mmrt_thread_online(); \
} while (0)

/* A range of whole pages: mmrt_range_valid(), page-aligned va and len. */
static inline bool
mm_range_valid_pages(uint64_t va, uint64_t len)
{
	return mmrt_range_valid(va, len) &&
		((va | len) & (MMRT_PAGE_SIZE - 1)) == 0;
}

/*
 * A live address space (its magic is set from create until teardown).
 * Inline, so that the files below as.c in the layering need not call up.
 */
static inline bool
mm_as_live(const struct mmrt_as *as)
{
	return as != NULL && as->core.magic == MM_AS_MAGIC;
}

#endif /* MM_AS_H */
