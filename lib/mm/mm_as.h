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

#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_rwlock.h>

#include "mmrt_core.h"
#include "mmrt_mm.h"
#include "mm_testhooks.h"

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
	/* per-lcore shares of rss_pages (mm_as_rss_add_lc()) */
	struct mm_as_lcore {
		int64_t rss_pages;
	} __rte_cache_aligned lc[RTE_MAX_LCORE];
};

#define MM_STAT_ADD(as, field, n) \
	__atomic_fetch_add(&(as)->field, (n), __ATOMIC_RELAXED)

/*
 * Add @n to the counter at @mine, a share only the calling lcore writes:
 * a load and a store, no locked RMW. Relaxed atomics because readers on
 * other cores load the share at any time; single writer because an
 * lcore id belongs to one thread, and lib/core keeps lcore ids distinct
 * between processes (as the frame pool's per-lcore caches rely on).
 */
static inline void
mm_lc_add(int64_t *mine, int64_t n)
{
	int64_t v = __atomic_load_n(mine, __ATOMIC_RELAXED);
#if MMRT_TEST_HOOKS_ON
	unsigned int i;

	if (__atomic_load_n(&mm_test_hooks.lc_share_one, __ATOMIC_RELAXED))
		for (i = 0; i < 256; i++)
			rte_pause();
#endif
	__atomic_store_n(mine, v + n, __ATOMIC_RELAXED);
}

/*
 * The calling thread's share index: its lcore id, or >= RTE_MAX_LCORE
 * for a thread without one (which adds to the shared field, atomically).
 */
static inline unsigned int
mm_lc_id(void)
{
	unsigned int id = rte_lcore_id();

#if MMRT_TEST_HOOKS_ON
	if (id < RTE_MAX_LCORE && __atomic_load_n(&mm_test_hooks.lc_share_one,
			__ATOMIC_RELAXED))
		return 0; /* negative control: one share, several writers */
#endif
	return id;
}

/*
 * Add @n to @as's rss_pages from a path that runs once per fill call
 * (uffd_fill.c), whose share index (mm_lc_id(), looked up once per call)
 * is @id: an lcore adds to its own line of as->lc, other threads
 * atomically to the shared field. mmrt_as_stats() sums the field and the
 * lines: exact once the adders are done, a snapshot while they run (as the
 * one shared counter was). The other adders (faults, zaps, copies) keep
 * the shared field: any add may go to either, only the sum means anything.
 */
static inline void
mm_as_rss_add_lc(struct mmrt_as *as, unsigned int id, int64_t n)
{
	if (id < RTE_MAX_LCORE)
		mm_lc_add(&as->lc[id].rss_pages, n);
	else
		MM_STAT_ADD(as, rss_pages, n);
}

/* rss_pages of @as: the shared field plus every lcore's share */
static inline int64_t
mm_as_rss(const struct mmrt_as *as)
{
	int64_t v = __atomic_load_n(&as->rss_pages, __ATOMIC_RELAXED);
	unsigned int i;

	for (i = 0; i < RTE_MAX_LCORE; i++)
		v += __atomic_load_n(&as->lc[i].rss_pages, __ATOMIC_RELAXED);
	return v;
}

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
