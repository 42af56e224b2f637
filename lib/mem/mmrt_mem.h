/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_MEM_H
#define MMRT_MEM_H

/**
 * @file
 * Frame pool: 4 KiB frames and 2 MiB huge frames carved from DPDK memory
 * (hugepages when the EAL has them, --no-huge memory otherwise), with
 * per-frame metadata, O(1) pfn <-> address <-> IOVA, and per-lcore caches.
 *
 * The pool is created by mmrt_init()/mmrt_attach() (size mem.pool_mb).
 * A pfn is an index into the pool. Frames hand out references: a frame is
 * returned to the pool when its last reference is dropped.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_memory.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMRT_PAGE_SHIFT 12
#define MMRT_PAGE_SIZE (UINT64_C(1) << MMRT_PAGE_SHIFT)
#define MMRT_HUGE_SHIFT 21
#define MMRT_HUGE_SIZE (UINT64_C(1) << MMRT_HUGE_SHIFT)
/** 4 KiB frames in one huge frame. */
#define MMRT_HUGE_NR (1u << (MMRT_HUGE_SHIFT - MMRT_PAGE_SHIFT))

/** An invalid pfn. */
#define MMRT_PFN_NONE UINT32_MAX

/** Frame flags (struct mmrt_frame.flags). */
#define MMRT_FRAME_FREE    (1u << 0) /**< In the pool. */
#define MMRT_FRAME_HEAD    (1u << 1) /**< First frame of a huge frame. */
#define MMRT_FRAME_TAIL    (1u << 2) /**< Other frames of a huge frame. */
#define MMRT_FRAME_PT      (1u << 3) /**< Page-table page. */
#define MMRT_FRAME_ZERO    (1u << 4) /**< The shared zero frame (never freed). */
#define MMRT_FRAME_OBJECT  (1u << 5) /**< Belongs to a struct mmrt_object. */
#define MMRT_FRAME_ANON    (1u << 6) /**< Anonymous memory of an address space. */

/**
 * Frame metadata: 32 bytes, two frames per cache line pair, no pointers
 * (it lives in shared memory).
 */
struct mmrt_frame {
	uint32_t refcount; /**< References; 0 while free. */
	union {
		uint32_t mapcount; /**< PTEs mapping the frame (data frames). */
		int32_t ptl;       /**< Split PT lock (page-table pages). */
	};
	uint32_t flags;    /**< MMRT_FRAME_*. */
	uint32_t gen;      /**< Generation, incremented on every free. */
	uint64_t priv;     /**< Owner data: object id/index, or PT entry count. */
	uint64_t priv2;    /**< Owner data: reserved for the owner layer
			    * (lib/mm: the pin count of an anonymous or
			    * object frame, mmrt_pin()). */
};

/** Pool statistics (a snapshot; exact when no allocation is in flight). */
struct mmrt_mem_stats {
	uint64_t frames_total;  /**< 4 KiB frames in the pool. */
	uint64_t frames_free;   /**< 4 KiB frames free (huge frames count 512). */
	uint64_t huge_total;    /**< 2 MiB chunks in the pool (most huge frames it can hold). */
	uint64_t huge_free;     /**< Whole huge frames free. */
	uint64_t pt_pages;      /**< Frames in use as page-table pages. */
	uint64_t allocs;        /**< 4 KiB allocations (frames). */
	uint64_t frees;         /**< 4 KiB frees (frames). */
	uint64_t huge_allocs;   /**< Huge allocations. */
	uint64_t huge_frees;    /**< Huge frees. */
	uint64_t alloc_fail;    /**< Allocations that found the pool empty. */
	uint64_t splits;        /**< Huge frames broken up into 4 KiB frames. */
	uint64_t bytes_meta;    /**< Metadata bytes (frames_total * 32). */
	uint64_t frames_clean;  /**< Free frames already zeroed (in frames_free). */
	uint64_t zeroed;        /**< Frames zeroed by mmrt_mem_zero_poll(). */
	uint64_t zero_hits;     /**< MMRT_ALLOC_ZERO served without a memset. */
	bool hugepages;         /**< Backed by real hugepages. */
	bool iova_as_va;        /**< IOVA equals the host virtual address. */
};

/** Allocation flags. */
#define MMRT_ALLOC_ZERO (1u << 0) /**< Return zero-filled frames. */

/**
 * Allocate one 4 KiB frame with refcount 1.
 *
 * @param flags
 *   MMRT_ALLOC_* flags; unknown bits are -EINVAL.
 * @return pfn (>= 0), -ENOMEM if the pool is empty, -EINVAL bad flags,
 *   -ENODEV if the pool is not up. Lock-free (per-lcore cache, then a
 *   shared ring). Never waits.
 */
int64_t mmrt_frame_alloc(uint32_t flags);

/**
 * @internal mmrt_frame_alloc() into @p slot, a word in DPDK shared memory
 * that the caller's record of frames in flight covers (lib/mm/mm_fly.h):
 * in a secondary the pool writes the frame there as part of taking it,
 * so a death leaves it either in the pool (*slot MMRT_PFN_NONE after the
 * reap) or allocated (*slot, refcount 1), never in between. *slot must
 * hold MMRT_PFN_NONE before the call.
 * @return as mmrt_frame_alloc(); -EINVAL for a NULL @p slot. Never waits.
 */
int64_t mmrt_frame_alloc_rec(uint32_t *slot, uint32_t flags);

/**
 * @internal mmrt_huge_alloc() into @p slot, as mmrt_frame_alloc_rec().
 */
int64_t mmrt_huge_alloc_rec(uint32_t *slot, uint32_t flags);

/**
 * @internal Operations of dead secondaries this process's reaps finished
 * or undid from their pool records (mmrt_reap_dead()), ever.
 */
uint64_t mmrt_mem_reaped(void);

/**
 * Allocate @p n 4 KiB frames at once (all or nothing).
 * @return n, -ENOMEM (nothing allocated), -EINVAL. Never waits.
 */
int mmrt_frame_alloc_bulk(uint32_t *pfns, unsigned int n, uint32_t flags);

/**
 * Allocate one 2 MiB huge frame (512 contiguous 2 MiB-aligned frames),
 * refcount 1 on its head.
 * @return head pfn, -ENOMEM if no whole huge frame is free, -EINVAL.
 *   Never waits.
 */
int64_t mmrt_huge_alloc(uint32_t flags);

/**
 * Take one more reference on an allocated frame (head for huge frames).
 *
 * A reference keeps the frame out of the pool, nothing more (the
 * kernel's get_page(), not a pin): an address space may still unmap it,
 * replace it by copy-on-write (its mapping then no longer shows writes
 * made through the reference), share it with a fork, or refuse to move
 * it. To keep the pages of a VA range in place for DMA, use mmrt_pin()
 * (mmrt_mm.h).
 *
 * @return 0, -EINVAL for a bad or free pfn. Never waits.
 */
int mmrt_frame_get(uint32_t pfn);

/**
 * Drop a reference; the frame (or whole huge frame) returns to the pool
 * when the last one goes, and its generation is incremented.
 * @return 1 if it was freed, 0 if still referenced, -EINVAL for a bad pfn
 *   or a frame that is already free (nothing changes). Never waits.
 */
int mmrt_frame_put(uint32_t pfn);

/**
 * Drop one reference from each of @p n frames, freeing those that reach
 * zero in bulk. Entries must be valid allocated pfns (validated: bad
 * entries are skipped and counted in the return).
 * @return number of frames freed, or -EINVAL if pfns is NULL.
 */
int mmrt_frame_put_bulk(const uint32_t *pfns, unsigned int n);

/**
 * Break an exclusively held huge frame (refcount 1) into 512 independent
 * 4 KiB frames, each with refcount 1.
 * @return 0, -EINVAL if @p head is not a huge head, -EBUSY if shared.
 */
int mmrt_huge_split(uint32_t head);

/**
 * @internal Fast-path view of the pool, for the unchecked inline accessors
 * used by lib/mm's lockless walks (as rte_*_core.h headers do in DPDK).
 * Set while the pool is up; all zero otherwise.
 */
struct mmrt_mem_fp {
	uint8_t *base;            /**< Host address of pfn 0. */
	const rte_iova_t *iova;   /**< Per-frame IOVA table, or NULL. */
	int64_t iova_off;         /**< iova = va + iova_off when iova is NULL. */
	uint64_t nframes;         /**< Frames in the pool. */
};
extern struct mmrt_mem_fp mmrt_mem_fp;

/**
 * Host address of a frame without any check: @p pfn must be a frame the
 * caller knows to be in the pool (e.g. read from a live page table).
 */
static inline void *
mmrt_frame_addr_unchecked(uint32_t pfn)
{
	return mmrt_mem_fp.base + ((uint64_t)pfn << MMRT_PAGE_SHIFT);
}

/** IOVA of a frame without any check (see mmrt_frame_addr_unchecked()). */
static inline rte_iova_t
mmrt_frame_iova_unchecked(uint32_t pfn)
{
	if (mmrt_mem_fp.iova != NULL)
		return mmrt_mem_fp.iova[pfn];
	return (rte_iova_t)((uintptr_t)mmrt_frame_addr_unchecked(pfn) +
		mmrt_mem_fp.iova_off);
}

/** @return host address of a frame, or NULL for a bad pfn. O(1). */
void *mmrt_frame_addr(uint32_t pfn);

/** @return IOVA of a frame, or RTE_BAD_IOVA for a bad pfn. O(1). */
rte_iova_t mmrt_frame_iova(uint32_t pfn);

/** @return pfn of a host address inside the pool, or MMRT_PFN_NONE. O(1). */
uint32_t mmrt_addr_to_pfn(const void *addr);

/** @return metadata of a frame, or NULL for a bad pfn. O(1). */
struct mmrt_frame *mmrt_frame_meta(uint32_t pfn);

/** @return pfn of the shared zero frame (read-only, never freed). */
uint32_t mmrt_zero_pfn(void);

/**
 * Snapshot the pool statistics.
 * @return 0, -EINVAL for NULL, -ENODEV if the pool is not up. Thread-safe.
 */
int mmrt_mem_stats(struct mmrt_mem_stats *st);

/**
 * @return frames currently allocated (frames_total - frames_free - 1 for
 * the zero frame); the test suites compare it before and after.
 */
uint64_t mmrt_mem_used(void);

/**
 * Zero up to @p budget free frames off the allocation path: they move from
 * the free list to a list of known-zero frames, from which
 * MMRT_ALLOC_ZERO allocations are served without a memset (the kernel
 * zeroes at fault time; a poller runtime can zero on an idle lcore). Call
 * from an idle poll loop, or run the service of
 * mmrt_mem_zero_service_id() on a service lcore. Without either, nothing
 * changes: allocations zero as they go.
 *
 * While it runs, up to 64 frames are on neither list, so an allocation
 * racing it on an almost empty pool may fail with -ENOMEM.
 *
 * @return frames zeroed (0 if none was dirty), -ENODEV if the pool is not
 *   up. Thread-safe. Never waits.
 */
int mmrt_mem_zero_poll(unsigned int budget);

/**
 * The rte_service id of the zeroing service ("mmrt_mem_zero", MT-safe,
 * component runstate on): map it to a service lcore with
 * rte_service_map_lcore_set() and start it with rte_service_runstate_set().
 * @return 0, -EINVAL for NULL, -ENODEV if the pool is not up or the
 *   service could not be registered, -E_RTE_SECONDARY in a DPDK secondary
 *   process (services are per process: the service is the primary's;
 *   a secondary may call mmrt_mem_zero_poll()).
 */
int mmrt_mem_zero_service_id(uint32_t *id);

/**
 * Return the calling lcore's cached frames to the shared pool (call before
 * an lcore stops, and before exact accounting).
 */
void mmrt_mem_cache_flush(void);

#ifdef MMRT_TEST_HOOKS
/** @internal Test builds only: mmrt_test_pool_kill() moments. */
enum mmrt_test_pool_at {
	MMRT_TEST_POOL_AT_TAKEN = 0, /**< a cache's frame in the caller's
				      *   slot, the cache's length not down */
	MMRT_TEST_POOL_AT_POPPED,    /**< the length down, not initialized */
	MMRT_TEST_POOL_AT_INIT,      /**< initialized but the count */
	MMRT_TEST_POOL_AT_REFILL,    /**< a ring burst into a cache, its
				      *   length not up */
	MMRT_TEST_POOL_AT_SPLIT,     /**< a huge chunk taken to split */
	MMRT_TEST_POOL_AT_RING,      /**< a ring's frame in the caller's slot */
	MMRT_TEST_POOL_AT_DROPPED,   /**< a put's last reference dropped */
	MMRT_TEST_POOL_AT_MARKED,    /**< ... the frame marked free, not in
				      *   the cache yet */
	MMRT_TEST_POOL_AT_PT,        /**< lib/mm: a new table allocated,
				      *   not locked yet */
	MMRT_TEST_POOL_AT_FAULT,     /**< lib/mm: a fault's new frame
				      *   allocated, not locked yet */
	MMRT_TEST_POOL_AT_N,
};

/**
 * @internal Test builds only: the calling process raises SIGKILL at the
 * @p nth (1 for the first) pass of moment @p at (a secondary's recorded
 * pool paths; lib/mm's through mmrt_test_pool_kill_point()). @p nth 0
 * disarms.
 * @return 0, or -EINVAL (@p at out of range).
 */
int mmrt_test_pool_kill(unsigned int at, uint32_t nth);

/** @internal Test builds only: a kill point of mmrt_test_pool_kill(). */
void mmrt_test_pool_kill_point(unsigned int at);
#endif

#ifdef __cplusplus
}
#endif

#endif /* MMRT_MEM_H */
