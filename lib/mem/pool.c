/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The frame pool.
 *
 * One memzone, 2 MiB aligned, cut into 4 KiB frames. Frame metadata sits in
 * a separate array (32 B per frame), indexed by pfn: lib/mm's zap relies
 * on it (mmrt_frame_meta(0) + pfn, no call per page). Free frames live in two rte_rings of
 * pfns: one of 4 KiB frames and one of huge-frame heads (whole, aligned 2 MiB
 * chunks). In front of the 4 KiB ring each lcore keeps a cache of pfns, as
 * rte_mempool does, so the fast path touches no shared cache line.
 *
 * Why not rte_mempool: a mempool hands out opaque objects from one free
 * list, while the pool needs (1) a second class of free frames known to be
 * zero (ringz, with its own per-lcore cache) so MMRT_ALLOC_ZERO skips the
 * memset, (2) 2 MiB frames that are split into their 512 frames on demand,
 * which a mempool of fixed-size objects cannot express, and (3) identity by
 * pfn (an index into one contiguous memzone) with metadata indexed the same
 * way, so that page tables store 32-bit pfns instead of pointers and a frame
 * maps to its address and IOVA by arithmetic.
 *
 * A huge chunk is split into 512 frames when the 4 KiB ring runs dry; split
 * frames are never coalesced back (a huge allocation then fails with
 * -ENOMEM and the mm layer falls back to 4 KiB frames, as THP does).
 *
 * Frame states, by the predicates that define them:
 *   free:      flags & FREE, refcount == 0, pfn in a ring or a cache
 *   allocated: !(flags & FREE), refcount > 0
 *   tail:      flags & TAIL: part of an allocated huge frame; its head owns
 *              the reference count
 * Transitions:
 *   free -> allocated           alloc (refcount = 1)
 *   allocated -> allocated      get/put (refcount +/- 1)
 *   allocated -> free           put of the last reference (gen++)
 *   allocated huge -> 512 allocated 4 KiB   split (refcount 1 each)
 * The generation counter is bumped on every free, so a holder of
 * (pfn, gen) can tell that the frame it knew has been recycled.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_memzone.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_service_component.h>

#include "mmrt_core.h"
#include "core_testhooks.h"
#include "mmrt_mem.h"

extern int mmrt_logtype_mem __attribute__((visibility("hidden")));
RTE_LOG_REGISTER(mmrt_logtype_mem, lib.mmrt.mem, NOTICE);

#if defined(__SANITIZE_ADDRESS__)
#define MMRT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MMRT_ASAN 1
#endif
#endif

#ifdef MMRT_ASAN
#include <sanitizer/asan_interface.h>
/* Freed frames are poisoned so that ASan reports any access to them. */
#define FRAME_POISON(a, l) ASAN_POISON_MEMORY_REGION((a), (l))
#define FRAME_UNPOISON(a, l) ASAN_UNPOISON_MEMORY_REGION((a), (l))
#else
#define FRAME_POISON(a, l) do { RTE_SET_USED(a); RTE_SET_USED(l); } while (0)
#define FRAME_UNPOISON(a, l) do { RTE_SET_USED(a); RTE_SET_USED(l); } while (0)
#endif

#define CACHE_MAX 512
#define PUT_PREFETCH 16  /* mmrt_frame_put_bulk(): metadata prefetch distance */
#define RING_RTS_FLAGS (RING_F_EXACT_SZ | RING_F_MP_RTS_ENQ | RING_F_MC_RTS_DEQ)

/* Per-lcore cache and counters; only its own lcore writes it. */
struct pool_cache {
	uint32_t len;
	uint64_t allocs;
	uint64_t frees;
	uint64_t huge_allocs;
	uint64_t huge_frees;
	uint64_t alloc_fail;
	uint64_t zero_hits;
	uint32_t zlen;
	uint32_t objs[2 * CACHE_MAX];
	uint32_t zobjs[CACHE_MAX];  /* frames known to be zero */
} __rte_cache_aligned;

struct pool {
	const struct rte_memzone *mz;
	uint8_t *base;
	uint64_t nframes;
	uint64_t nhuge;
	struct mmrt_frame *meta;
	rte_iova_t *iova;          /* per frame, NULL when IOVA == VA offset */
	int64_t iova_off;          /* iova = va + iova_off when iova == NULL */
	struct rte_ring *ring4k;
	struct rte_ring *ring2m;
	struct rte_ring *ringz;    /* free 4 KiB frames already zeroed */
	uint32_t zero_sid;
	bool zero_registered;
	uint64_t zeroed;
	uint32_t cache_size;
	uint32_t zero_pfn;
	bool hugepages;
	bool iova_as_va;
	/* shared counters for threads without an lcore id */
	struct pool_cache shared __rte_cache_aligned;
	uint64_t splits;
	struct pool_cache caches[RTE_MAX_LCORE];
};

/*
 * The pool structure lives in the memzone POOL_MZ, so a secondary finds
 * it by name; everything it points to (frames, metadata, IOVA table,
 * rings) is DPDK memory at the same address in every process. The
 * per-lcore caches are indexed by lcore id, which lib/core keeps distinct
 * between processes. @pool and mmrt_mem_fp are this process's view.
 */
#define POOL_MZ "mmrt_pool"
static struct pool *pool;
static const struct rte_memzone *pool_mz;
static bool pool_secondary;
struct mmrt_mem_fp mmrt_mem_fp;

static inline struct pool_cache *
cache_get(void)
{
	unsigned int id = rte_lcore_id();

	return id < RTE_MAX_LCORE ? &pool->caches[id] : NULL;
}

static inline void *
pfn_addr(uint32_t pfn)
{
	return pool->base + ((uint64_t)pfn << MMRT_PAGE_SHIFT);
}

static inline bool
pfn_ok(uint32_t pfn)
{
	return pool != NULL && pfn < pool->nframes;
}

/* Counters go to the lcore's cache line, or atomically to the shared one. */
#define POOL_COUNT(c, field, n) do { \
	if ((c) != NULL) \
		(c)->field += (n); \
	else \
		__atomic_fetch_add(&pool->shared.field, (n), __ATOMIC_RELAXED); \
} while (0)

/* A taken frame's metadata, all but its count (frame_init_alloc()). */
static inline struct mmrt_frame *
frame_init_meta(uint32_t pfn, uint32_t flags)
{
	struct mmrt_frame *f = &pool->meta[pfn];

	f->mapcount = 0;
	f->priv = 0;
	f->priv2 = 0;
	f->flags = flags;
	return f;
}

static inline void
frame_init_alloc(uint32_t pfn, uint32_t flags)
{
	__atomic_store_n(&frame_init_meta(pfn, flags)->refcount, 1,
		__ATOMIC_RELEASE);
}

/*
 * The last reference is gone: only the caller can reach the frame until
 * it is back on a free list, so the generation is bumped with a plain
 * load and a release store, not a locked add (one writer: the thread that
 * saw the count reach 0; the next free follows a new allocation, ordered
 * by the free list). Readers load it with acquire (lib/mm's fault path).
 */
static inline void
frame_mark_free(uint32_t pfn)
{
	struct mmrt_frame *f = &pool->meta[pfn];

	f->flags = MMRT_FRAME_FREE;
	f->priv = 0;
	f->priv2 = 0;
	f->mapcount = 0;
	__atomic_store_n(&f->gen, __atomic_load_n(&f->gen, __ATOMIC_RELAXED) +
		1, __ATOMIC_RELEASE);
}

/* Break one free huge chunk into 4 KiB frames: one into @out, rest to ring. */
static int
split_free_chunk(uint32_t *out, unsigned int n)
{
	uint32_t head, i;
	uint32_t rest[MMRT_HUGE_NR];
	unsigned int nrest = 0;

	if (rte_ring_dequeue_elem(pool->ring2m, &head, sizeof(head)) != 0)
		return -ENOMEM;
	__atomic_fetch_add(&pool->splits, 1, __ATOMIC_RELAXED);
	for (i = 0; i < MMRT_HUGE_NR; i++) {
		if (i < n)
			out[i] = head + i;
		else
			rest[nrest++] = head + i;
	}
	if (nrest > 0)
		rte_ring_enqueue_bulk_elem(pool->ring4k, rest, sizeof(uint32_t),
			nrest, NULL);
	return 0;
}

/* Take @n zeroed free frames from the clean ring, all or nothing. */
static int
take_clean_bulk(uint32_t *pfns, unsigned int n)
{
	return rte_ring_dequeue_bulk_elem(pool->ringz, pfns, sizeof(uint32_t),
		n, NULL) == n ? 0 : -ENOMEM;
}

/* One zeroed free frame, through the lcore's clean cache @c (cache_get()). */
static bool
take_clean(struct pool_cache *c, uint32_t *pfn)
{
	if (c == NULL || pool->cache_size == 0)
		return take_clean_bulk(pfn, 1) == 0;
	if (c->zlen == 0)
		c->zlen = rte_ring_dequeue_burst_elem(pool->ringz, c->zobjs,
			sizeof(uint32_t), RTE_MIN(pool->cache_size,
			(uint32_t)CACHE_MAX), NULL);
	if (c->zlen == 0)
		return false;
	*pfn = c->zobjs[--c->zlen];
	return true;
}

/*
 * Take @n free 4 KiB pfns, all or nothing. Order: the lcore's cache
 * (refilled from the free ring), then frames already zeroed (the lcore's
 * clean cache, then the clean ring), and only then a whole huge frame is
 * split: zeroing must never cost huge frames, and neither must a failed
 * allocation. @c: the lcore's cache, cache_get() (which the callers look
 * up once: in a shared library each lookup is a call, __tls_get_addr()).
 */
static int
take_frames(struct pool_cache *c, uint32_t *pfns, unsigned int n)
{
	if (c != NULL && pool->cache_size > 0 && n <= pool->cache_size) {
		if (c->len < n)
			/* refill to cache_size plus what is asked */
			c->len += rte_ring_dequeue_burst_elem(pool->ring4k,
				&c->objs[c->len], sizeof(uint32_t),
				pool->cache_size + n - c->len, NULL);
		if (c->len < n && c->zlen >= n) {
			c->zlen -= n;
			memcpy(pfns, &c->zobjs[c->zlen], n * sizeof(uint32_t));
			return 0;
		}
		if (c->len < n && take_clean_bulk(pfns, n) == 0)
			return 0;
		/* c->len < n <= cache_size: a whole chunk fits in objs */
		if (c->len < n) {
			if (split_free_chunk(&c->objs[c->len], MMRT_HUGE_NR) != 0)
				return -ENOMEM;
			c->len += MMRT_HUGE_NR;
		}
		c->len -= n;
		memcpy(pfns, &c->objs[c->len], n * sizeof(uint32_t));
		/*
		 * The next allocation's metadata line (written by
		 * frame_init_alloc()) is most likely cold: start its fetch
		 * now, so a caller allocating one frame per call (a fill, a
		 * fault) finds it in cache next time.
		 */
		if (c->len > 0)
			rte_prefetch0_write(&pool->meta[c->objs[c->len - 1]]);
		return 0;
	}
	if (rte_ring_dequeue_bulk_elem(pool->ring4k, pfns, sizeof(uint32_t), n,
			NULL) == n)
		return 0;
	if (take_clean_bulk(pfns, n) == 0)
		return 0;
	if (rte_ring_count(pool->ring4k) +
			(uint64_t)rte_ring_count(pool->ring2m) * MMRT_HUGE_NR < n)
		return -ENOMEM;
	/* split chunks into the free ring until the request fits */
	while (split_free_chunk(NULL, 0) == 0)
		if (rte_ring_dequeue_bulk_elem(pool->ring4k, pfns,
				sizeof(uint32_t), n, NULL) == n)
			return 0;
	return -ENOMEM;
}

static void
give_frames(const uint32_t *pfns, unsigned int n)
{
	struct pool_cache *c = cache_get();

	if (c != NULL && pool->cache_size > 0 &&
			c->len + n <= RTE_DIM(c->objs)) {
		memcpy(&c->objs[c->len], pfns, n * sizeof(uint32_t));
		c->len += n;
		if (c->len >= 2 * pool->cache_size) {
			unsigned int flush = c->len - pool->cache_size;

			rte_ring_enqueue_bulk_elem(pool->ring4k,
				&c->objs[c->len - flush], sizeof(uint32_t),
				flush, NULL);
			c->len -= flush;
		}
		return;
	}
	/* the ring holds every frame, so it never overflows */
	rte_ring_enqueue_bulk_elem(pool->ring4k, pfns, sizeof(uint32_t), n,
		NULL);
}

static int64_t rec_alloc(uint32_t *dst, uint32_t flags, bool *clean);
static int rec_put(uint32_t pfn);
static int64_t rec_alloc_any(uint32_t *dst, uint32_t flags);
static int64_t rec_huge_alloc(uint32_t *dst, uint32_t flags);

int64_t
mmrt_frame_alloc(uint32_t flags)
{
	struct pool_cache *c;
	uint32_t pfn;

	if (pool == NULL)
		return -ENODEV;
	if (flags & ~MMRT_ALLOC_ZERO)
		return -EINVAL;
	if (TEST_ALLOC_FAIL())
		return -ENOMEM;
	/* a secondary records what it takes (the pool record, below) */
	if (unlikely(mmrt_robust_locks))
		return rec_alloc_any(NULL, flags);
	c = cache_get();
	if ((flags & MMRT_ALLOC_ZERO) && take_clean(c, &pfn)) {
		/* zeroed off the fast path by mmrt_mem_zero_poll() */
		frame_init_alloc(pfn, 0);
		FRAME_UNPOISON(pfn_addr(pfn), MMRT_PAGE_SIZE);
		POOL_COUNT(c, allocs, 1);
		POOL_COUNT(c, zero_hits, 1);
		return pfn;
	}
	if (take_frames(c, &pfn, 1) != 0) {
		POOL_COUNT(c, alloc_fail, 1);
		return -ENOMEM;
	}
	frame_init_alloc(pfn, 0);
	FRAME_UNPOISON(pfn_addr(pfn), MMRT_PAGE_SIZE);
	if (flags & MMRT_ALLOC_ZERO)
		memset(pfn_addr(pfn), 0, MMRT_PAGE_SIZE);
	POOL_COUNT(c, allocs, 1);
	return pfn;
}

int64_t
mmrt_frame_alloc_rec(uint32_t *slot, uint32_t flags)
{
	if (pool == NULL)
		return -ENODEV;
	if (slot == NULL || (flags & ~MMRT_ALLOC_ZERO))
		return -EINVAL;
	if (likely(!mmrt_robust_locks)) {
		int64_t ret = mmrt_frame_alloc(flags);

		if (ret >= 0)
			*slot = (uint32_t)ret;
		return ret;
	}
	if (TEST_ALLOC_FAIL())
		return -ENOMEM;
	return rec_alloc_any(slot, flags);
}

int
mmrt_frame_alloc_bulk(uint32_t *pfns, unsigned int n, uint32_t flags)
{
	unsigned int i;
	int64_t ret;

	if (pool == NULL)
		return -ENODEV;
	if (pfns == NULL || n == 0 || (flags & ~MMRT_ALLOC_ZERO))
		return -EINVAL;
	if (unlikely(mmrt_robust_locks)) {
		/* one at a time, recorded (all or nothing) */
		if (TEST_ALLOC_FAIL()) {
			POOL_COUNT(cache_get(), alloc_fail, 1);
			return -ENOMEM;
		}
		for (i = 0; i < n; i++) {
			ret = rec_alloc_any(NULL, flags);
			if (ret < 0) {
				while (i > 0)
					mmrt_frame_put(pfns[--i]);
				return -ENOMEM;
			}
			pfns[i] = (uint32_t)ret;
		}
		return n;
	}
	if (TEST_ALLOC_FAIL() || take_frames(cache_get(), pfns, n) != 0) {
		POOL_COUNT(cache_get(), alloc_fail, 1);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		frame_init_alloc(pfns[i], 0);
		FRAME_UNPOISON(pfn_addr(pfns[i]), MMRT_PAGE_SIZE);
		if (flags & MMRT_ALLOC_ZERO)
			memset(pfn_addr(pfns[i]), 0, MMRT_PAGE_SIZE);
	}
	POOL_COUNT(cache_get(), allocs, n);
	return n;
}

int64_t
mmrt_huge_alloc(uint32_t flags)
{
	uint32_t head, i;

	if (pool == NULL)
		return -ENODEV;
	if (flags & ~MMRT_ALLOC_ZERO)
		return -EINVAL;
	if (unlikely(mmrt_robust_locks))
		return TEST_ALLOC_FAIL() ? -ENOMEM : rec_huge_alloc(NULL, flags);
	if (TEST_ALLOC_FAIL() || rte_ring_dequeue_elem(pool->ring2m, &head,
			sizeof(head)) != 0) {
		POOL_COUNT(cache_get(), alloc_fail, 1);
		return -ENOMEM;
	}
	for (i = 1; i < MMRT_HUGE_NR; i++)
		pool->meta[head + i].flags = MMRT_FRAME_TAIL;
	frame_init_alloc(head, MMRT_FRAME_HEAD);
	FRAME_UNPOISON(pfn_addr(head), MMRT_HUGE_SIZE);
	if (flags & MMRT_ALLOC_ZERO)
		memset(pfn_addr(head), 0, MMRT_HUGE_SIZE);
	POOL_COUNT(cache_get(), huge_allocs, 1);
	return head;
}

static inline bool
frame_live(uint32_t pfn)
{
	const struct mmrt_frame *f;

	if (!pfn_ok(pfn))
		return false;
	f = &pool->meta[pfn];
	return !(f->flags & (MMRT_FRAME_FREE | MMRT_FRAME_TAIL)) &&
		__atomic_load_n(&f->refcount, __ATOMIC_RELAXED) > 0;
}

int
mmrt_frame_get(uint32_t pfn)
{
	if (!frame_live(pfn))
		return -EINVAL;
	__atomic_fetch_add(&pool->meta[pfn].refcount, 1, __ATOMIC_RELAXED);
	return 0;
}

/* Return a frame whose last reference is gone to its free list. */
static void
frame_release(uint32_t pfn, struct pool_cache *c, uint32_t *bulk,
	unsigned int *nbulk)
{
	struct mmrt_frame *f = &pool->meta[pfn];
	uint32_t i;

	if (f->flags & MMRT_FRAME_HEAD) {
		for (i = 1; i < MMRT_HUGE_NR; i++)
			pool->meta[pfn + i].flags = MMRT_FRAME_FREE;
		frame_mark_free(pfn);
		FRAME_POISON(pfn_addr(pfn), MMRT_HUGE_SIZE);
		rte_ring_enqueue_elem(pool->ring2m, &pfn, sizeof(pfn));
		POOL_COUNT(c, huge_frees, 1);
		return;
	}
	frame_mark_free(pfn);
	FRAME_POISON(pfn_addr(pfn), MMRT_PAGE_SIZE);
	POOL_COUNT(c, frees, 1);
	if (bulk != NULL) {
		bulk[(*nbulk)++] = pfn;
		return;
	}
	give_frames(&pfn, 1);
}

/*
 * A secondary's pool record (issue 14: a killed process loses nothing).
 * The primary's death ends the runtime, so only a secondary records
 * (mmrt_robust_locks; the primary pays one predictable branch per
 * allocation, put and bulk put). A secondary's allocation and free of a
 * 4 KiB frame take a path of their own that notes, in the thread's
 * record (mmrt_robust_mem(): shared memory), the one operation it is in
 * the middle of, so that the reaper of a killed secondary (mem_reap(),
 * run by core_robust.c for every dead thread before the frames-in-flight
 * reap, lib/mm/mm_fly.h) finishes it or undoes it. Only the owning thread
 * writes its record and its lcore's cache while it lives, only the dead
 * process's claimed reaper afterwards (its lcore ids are given back after
 * every reclaim step), so plain stores in program order suffice
 * (rec_order(): the reaper runs after the death, when every store the
 * thread made is visible). The caller's slot (@dst) is in shared memory
 * too: the frames-in-flight record's, or the pool record's own (slot).
 *
 * Operations, by predicates on the record and on the cache (arr, *lenp:
 * the lcore's objs/len or zobjs/zlen) as the reaper finds them:
 *   REFILL: arr[len0, len0 + n) were MMRT_PFN_NONE before a ring burst
 *     into them. *lenp == len0: the burst's frames are the non-NONE
 *     prefix: *lenp is set past them (the burst is all or nothing as
 *     far as this thread's stores go).
 *   SPLIT: pfn (NONE first) takes a huge chunk's head from ring2m, then
 *     its 512 frames go to arr[len0..] and *lenp = len0 + 512. pfn !=
 *     NONE && *lenp == len0: the reaper writes them.
 *   POP: *dst = arr[len0 - 1], then *lenp = len0 - 1, then the frame's
 *     initialization (refcount 1 stored last). *lenp == len0: not taken
 *     (*dst reset to NONE); taken, refcount 0: back into the cache;
 *     refcount 1: the caller's (its record decides).
 *   RING: a ring's frame (n: 1 for a huge head) dequeued into *dst (NONE
 *     first), then initialized. *dst != NONE with refcount 0: back to
 *     its ring.
 *   PUT: pfn's reference dropped by a compare-and-swap from old (stored
 *     before each attempt) to old - 1; old == 1: the last, then the
 *     frame is marked free (gen + 1) and pushed to arr[len0], *lenp =
 *     len0 + 1. The reaper, for old == 1: pushed: done; refcount != 0:
 *     not dropped (the caller's); gen == the recorded gen: dropped, not
 *     marked: marks and pushes; gen + 1 and FREE: pushes. A frame nobody
 *     else holds a reference to: no one else touches it meanwhile.
 *   FLUSH: *lenp = len0 - n, then arr[len0 - n, len0) go to ring4k.
 * Not closed: a death inside rte_ring's own code (a refill's or a
 * flush's ring operation, once per cache_size operations; a FLUSH whose
 * ring operation may or may not have happened is logged, never undone:
 * a frame twice in the pool would be handed out twice), the ring paths
 * of a thread without an lcore id (its split of a huge chunk, its free),
 * a huge frame's free to ring2m, a zeroing poll's batch, and the
 * cache drains of mmrt_mem_cache_flush() and a detach.
 */
#define MEM_OP_REFILL 1
#define MEM_OP_SPLIT 2
#define MEM_OP_POP 3
#define MEM_OP_RING 4
#define MEM_OP_PUT 5
#define MEM_OP_FLUSH 6

struct mem_rec {
	uint32_t op;        /* MEM_OP_*, 0 none: stored after the rest */
	uint32_t len0;      /* *lenp when the operation started */
	uint32_t *arr;      /* the cache array it changes, or NULL */
	uint32_t *lenp;     /* its length */
	uint32_t *dst;      /* POP, RING: the caller's slot */
	struct rte_ring *ring; /* RING: the ring it took from */
	uint32_t pfn;       /* PUT: the frame; SPLIT: the head taken */
	uint32_t gen;       /* PUT: its generation before the drop */
	uint32_t old;       /* PUT: the count the drop expects */
	uint32_t n;         /* REFILL: slots prefilled; FLUSH: frames;
			     * RING: 1 for a huge head */
	uint32_t slot;      /* the slot of a caller without one */
	uint32_t pad;
};

_Static_assert(sizeof(struct mem_rec) <= MMRT_ROBUST_MEM_WORDS *
	sizeof(uint64_t), "the pool record fits its words");

#define rec_order() __atomic_signal_fence(__ATOMIC_SEQ_CST)

#ifdef MMRT_TEST_HOOKS
static uint32_t pool_kill_at;
static uint32_t pool_kill_left; /* 0: disarmed */

int
mmrt_test_pool_kill(unsigned int at, uint32_t nth)
{
	if (at >= MMRT_TEST_POOL_AT_N)
		return -EINVAL;
	pool_kill_at = at;
	__atomic_store_n(&pool_kill_left, nth, __ATOMIC_RELEASE);
	return 0;
}

void
mmrt_test_pool_kill_point(unsigned int at)
{
	uint32_t left = __atomic_load_n(&pool_kill_left, __ATOMIC_ACQUIRE);

	if (likely(left == 0) || at != pool_kill_at)
		return;
	if (__atomic_sub_fetch(&pool_kill_left, 1, __ATOMIC_RELAXED) == 0)
		raise(SIGKILL);
}
#define POOL_KILL(at) mmrt_test_pool_kill_point(MMRT_TEST_POOL_AT_##at)
#else
#define POOL_KILL(at) do { } while (0)
#endif

static inline void
rec_arm(struct mem_rec *r, uint32_t op)
{
	rec_order();
	__atomic_store_n(&r->op, op, __ATOMIC_RELAXED);
	rec_order();
}

static inline void
rec_end(struct mem_rec *r)
{
	rec_order();
	__atomic_store_n(&r->op, 0, __ATOMIC_RELAXED);
	rec_order();
}

/* Burst from @ring into the empty end of @arr (length *@lenp). */
static void
rec_refill(struct mem_rec *r, uint32_t *arr, uint32_t *lenp,
	struct rte_ring *ring, uint32_t want)
{
	uint32_t len = *lenp, i, got;

	for (i = 0; i < want; i++)
		arr[len + i] = MMRT_PFN_NONE;
	r->arr = arr;
	r->lenp = lenp;
	r->len0 = len;
	r->n = want;
	rec_arm(r, MEM_OP_REFILL);
	got = rte_ring_dequeue_burst_elem(ring, &arr[len], sizeof(uint32_t),
		want, NULL);
	if (got > 0)
		POOL_KILL(REFILL);
	*lenp = len + got;
	rec_end(r);
}

/* A free huge chunk into the lcore's (empty) cache; -ENOMEM if none. */
static int
rec_split(struct mem_rec *r, struct pool_cache *c)
{
	uint32_t len = c->len, head, i;

	r->pfn = MMRT_PFN_NONE;
	r->arr = c->objs;
	r->lenp = &c->len;
	r->len0 = len;
	rec_arm(r, MEM_OP_SPLIT);
	if (rte_ring_dequeue_elem(pool->ring2m, &r->pfn,
			sizeof(uint32_t)) != 0) {
		rec_end(r);
		return -ENOMEM;
	}
	POOL_KILL(SPLIT);
	head = r->pfn;
	for (i = 0; i < MMRT_HUGE_NR; i++)
		c->objs[len + i] = head + MMRT_HUGE_NR - 1 - i;
	rec_order();
	c->len = len + MMRT_HUGE_NR;
	rec_end(r);
	__atomic_fetch_add(&pool->splits, 1, __ATOMIC_RELAXED);
	return 0;
}

/* frame_init_alloc(), with the test builds' kill point before the count */
static inline void
rec_init(uint32_t pfn, uint32_t flags)
{
	struct mmrt_frame *f = frame_init_meta(pfn, flags);

	POOL_KILL(INIT);
	__atomic_store_n(&f->refcount, 1, __ATOMIC_RELEASE);
}

/* A frame of a ring into *@dst; 0 or -ENOMEM. */
static int
rec_ring_take(struct mem_rec *r, uint32_t *dst, struct rte_ring *ring,
	uint32_t huge)
{
	*dst = MMRT_PFN_NONE;
	r->dst = dst;
	r->ring = ring;
	r->n = huge;
	rec_arm(r, MEM_OP_RING);
	if (rte_ring_dequeue_elem(ring, dst, sizeof(uint32_t)) != 0) {
		rec_end(r);
		return -ENOMEM;
	}
	POOL_KILL(RING);
	return 0;
}

/*
 * A secondary's mmrt_frame_alloc() into @dst (shared memory; NULL: the
 * record's slot): the frame, or -ENOMEM. *@clean: it is known zero.
 */
static int64_t
rec_alloc(uint32_t *dst, uint32_t flags, bool *clean)
{
	struct mem_rec *r = (struct mem_rec *)mmrt_robust_mem();
	struct pool_cache *c = cache_get();
	uint32_t *arr, *lenp, len, pfn;

	*clean = false;
	if (r == NULL) {
		/* no record left (more threads than records): unrecorded */
		if (take_frames(c, &pfn, 1) != 0)
			return -ENOMEM;
		frame_init_alloc(pfn, 0);
		return pfn;
	}
	if (dst == NULL)
		dst = &r->slot;
	if (c == NULL || pool->cache_size == 0) {
		if (rec_ring_take(r, dst, pool->ring4k, 0) != 0) {
			if (rec_ring_take(r, dst, pool->ringz, 0) != 0) {
				/* a chunk split into the ring: not recorded */
				if (split_free_chunk(NULL, 0) != 0 ||
						rec_ring_take(r, dst,
						pool->ring4k, 0) != 0)
					return -ENOMEM;
			} else {
				*clean = true;
			}
		}
		pfn = *dst;
		rec_init(pfn, 0);
		rec_end(r);
		return pfn;
	}
	if ((flags & MMRT_ALLOC_ZERO) && c->zlen == 0 && c->len == 0)
		rec_refill(r, c->zobjs, &c->zlen, pool->ringz,
			RTE_MIN(pool->cache_size, (uint32_t)CACHE_MAX));
	if ((flags & MMRT_ALLOC_ZERO) && c->zlen > 0) {
		arr = c->zobjs;
		lenp = &c->zlen;
		*clean = true;
	} else {
		if (c->len == 0)
			rec_refill(r, c->objs, &c->len, pool->ring4k,
				pool->cache_size);
		if (c->len == 0)
			rec_refill(r, c->objs, &c->len, pool->ringz,
				pool->cache_size);
		if (c->len == 0 && rec_split(r, c) != 0)
			return -ENOMEM;
		arr = c->objs;
		lenp = &c->len;
	}
	len = *lenp;
	r->arr = arr;
	r->lenp = lenp;
	r->len0 = len;
	r->dst = dst;
	rec_arm(r, MEM_OP_POP);
	pfn = arr[len - 1];
	*dst = pfn;
	rec_order();
	POOL_KILL(TAKEN);
	*lenp = len - 1;
	rec_order();
	POOL_KILL(POPPED);
	rec_init(pfn, 0);
	rec_end(r);
	return pfn;
}

/* rec_alloc() with the flags' zeroing and counters. */
static int64_t
rec_alloc_any(uint32_t *dst, uint32_t flags)
{
	bool clean;
	int64_t pfn = rec_alloc(dst, flags, &clean);

	if (pfn < 0) {
		POOL_COUNT(cache_get(), alloc_fail, 1);
		return pfn;
	}
	FRAME_UNPOISON(pfn_addr(pfn), MMRT_PAGE_SIZE);
	if ((flags & MMRT_ALLOC_ZERO) && !clean)
		memset(pfn_addr(pfn), 0, MMRT_PAGE_SIZE);
	POOL_COUNT(cache_get(), allocs, 1);
	if ((flags & MMRT_ALLOC_ZERO) && clean)
		POOL_COUNT(cache_get(), zero_hits, 1);
	return pfn;
}

/* A secondary's mmrt_huge_alloc() into @dst (NULL: the record's slot). */
static int64_t
rec_huge_alloc(uint32_t *dst, uint32_t flags)
{
	struct mem_rec *r = (struct mem_rec *)mmrt_robust_mem();
	uint32_t head, i;

	if (r == NULL) {
		if (rte_ring_dequeue_elem(pool->ring2m, &head,
				sizeof(head)) != 0)
			goto nomem;
	} else {
		if (rec_ring_take(r, dst != NULL ? dst : &r->slot,
				pool->ring2m, 1) != 0)
			goto nomem;
		head = dst != NULL ? *dst : r->slot;
	}
	for (i = 1; i < MMRT_HUGE_NR; i++)
		pool->meta[head + i].flags = MMRT_FRAME_TAIL;
	rec_init(head, MMRT_FRAME_HEAD);
	if (r != NULL)
		rec_end(r);
	FRAME_UNPOISON(pfn_addr(head), MMRT_HUGE_SIZE);
	if (flags & MMRT_ALLOC_ZERO)
		memset(pfn_addr(head), 0, MMRT_HUGE_SIZE);
	POOL_COUNT(cache_get(), huge_allocs, 1);
	return head;
nomem:
	POOL_COUNT(cache_get(), alloc_fail, 1);
	return -ENOMEM;
}

int64_t
mmrt_huge_alloc_rec(uint32_t *slot, uint32_t flags)
{
	int64_t ret;

	if (pool == NULL)
		return -ENODEV;
	if (slot == NULL || (flags & ~MMRT_ALLOC_ZERO))
		return -EINVAL;
	if (unlikely(mmrt_robust_locks))
		return TEST_ALLOC_FAIL() ? -ENOMEM : rec_huge_alloc(slot, flags);
	ret = mmrt_huge_alloc(flags);
	if (ret >= 0)
		*slot = (uint32_t)ret;
	return ret;
}

/* Flush the lcore's cache down to cache_size (a FLUSH). */
static void
rec_flush(struct mem_rec *r, struct pool_cache *c)
{
	uint32_t len = c->len, n = len - pool->cache_size;

	r->arr = c->objs;
	r->lenp = &c->len;
	r->len0 = len;
	r->n = n;
	rec_arm(r, MEM_OP_FLUSH);
	c->len = len - n;
	rec_order();
	rte_ring_enqueue_bulk_elem(pool->ring4k, &c->objs[len - n],
		sizeof(uint32_t), n, NULL);
	rec_end(r);
}

/* A secondary's mmrt_frame_put() of a valid, non-zero pfn. */
static int
rec_put(uint32_t pfn)
{
	struct mem_rec *r = (struct mem_rec *)mmrt_robust_mem();
	struct mmrt_frame *f = &pool->meta[pfn];
	struct pool_cache *c = cache_get();
	uint32_t old, len;

	old = __atomic_load_n(&f->refcount, __ATOMIC_RELAXED);
	if (old == 0 || (f->flags & (MMRT_FRAME_FREE | MMRT_FRAME_TAIL)))
		return -EINVAL;
	if (r == NULL)
		goto unrecorded;
	r->pfn = pfn;
	r->gen = __atomic_load_n(&f->gen, __ATOMIC_RELAXED);
	r->old = old;
	if (c != NULL && pool->cache_size > 0 &&
			!(f->flags & MMRT_FRAME_HEAD)) {
		/* room: a flush keeps len below 2 * cache_size */
		r->arr = c->objs;
		r->lenp = &c->len;
		r->len0 = c->len;
	} else {
		r->arr = NULL;
		r->lenp = NULL;
	}
	rec_arm(r, MEM_OP_PUT);
	for (;;) {
		if (old == 0 || (f->flags & (MMRT_FRAME_FREE |
				MMRT_FRAME_TAIL))) {
			rec_end(r);
			return -EINVAL;
		}
		r->old = old;
		rec_order();
		if (__atomic_compare_exchange_n(&f->refcount, &old, old - 1,
				true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			break;
	}
	if (old != 1) {
		rec_end(r);
		return 0;
	}
	POOL_KILL(DROPPED);
	if (r->arr == NULL) {
		/* a huge frame, or no lcore cache: to a ring */
		frame_release(pfn, c, NULL, NULL);
		rec_end(r);
		return 1;
	}
	frame_mark_free(pfn);
	FRAME_POISON(pfn_addr(pfn), MMRT_PAGE_SIZE);
	POOL_COUNT(c, frees, 1);
	rec_order();
	POOL_KILL(MARKED);
	len = r->len0;
	c->objs[len] = pfn;
	rec_order();
	c->len = len + 1;
	rec_end(r);
	if (c->len >= 2 * pool->cache_size)
		rec_flush(r, c);
	return 1;
unrecorded:
	do {
		if (old == 0 || (f->flags & (MMRT_FRAME_FREE |
				MMRT_FRAME_TAIL)))
			return -EINVAL;
	} while (!__atomic_compare_exchange_n(&f->refcount, &old, old - 1,
			true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	if (old != 1)
		return 0;
	frame_release(pfn, c, NULL, NULL);
	return 1;
}

/* Mark a popped frame whose initialization did not finish free again. */
static void
reap_unpop(uint32_t pfn)
{
	struct mmrt_frame *f = &pool->meta[pfn];

	f->mapcount = 0;
	f->priv = 0;
	f->priv2 = 0;
	f->flags = MMRT_FRAME_FREE;
}

static uint64_t mem_reaped;

/*
 * A dead thread's pool record (the table at the top of the record):
 * finish or undo its operation. Runs in the reaper, for every thread of
 * the dead process, before the frames-in-flight reap reads the slots
 * this one resets, while the dead's lcore ids are still its own.
 */
static void
mem_reap(uint64_t *w, int spin_word, int32_t pid)
{
	struct mem_rec *r = (struct mem_rec *)w;
	uint32_t op = __atomic_load_n(&r->op, __ATOMIC_RELAXED);
	uint32_t pfn, k, i;
	struct mmrt_frame *f;
	const char *what = NULL;

	RTE_SET_USED(spin_word);
	if (op == 0 || pool == NULL)
		return;
	switch (op) {
	case MEM_OP_REFILL:
		if (*r->lenp != r->len0)
			break;
		for (k = 0; k < r->n && r->arr[r->len0 + k] != MMRT_PFN_NONE;
				k++)
			;
		if (k > 0) {
			*r->lenp = r->len0 + k;
			what = "a cache refill's frames kept";
		}
		break;
	case MEM_OP_SPLIT:
		if (r->pfn == MMRT_PFN_NONE || *r->lenp != r->len0)
			break;
		for (i = 0; i < MMRT_HUGE_NR; i++)
			r->arr[r->len0 + i] = r->pfn + MMRT_HUGE_NR - 1 - i;
		*r->lenp = r->len0 + MMRT_HUGE_NR;
		what = "a huge chunk it split kept";
		break;
	case MEM_OP_POP:
		if (*r->lenp == r->len0) {
			*r->dst = MMRT_PFN_NONE; /* still the cache's */
			break;
		}
		pfn = *r->dst;
		f = &pool->meta[pfn];
		if (__atomic_load_n(&f->refcount, __ATOMIC_ACQUIRE) != 0)
			break; /* allocated: the caller's record decides */
		reap_unpop(pfn);
		r->arr[r->len0 - 1] = pfn;
		*r->lenp = r->len0;
		*r->dst = MMRT_PFN_NONE;
		what = "a frame taken from a cache put back";
		break;
	case MEM_OP_RING:
		pfn = *r->dst;
		if (pfn == MMRT_PFN_NONE || !pfn_ok(pfn))
			break;
		f = &pool->meta[pfn];
		if (__atomic_load_n(&f->refcount, __ATOMIC_ACQUIRE) != 0)
			break;
		if (r->n)
			for (i = 1; i < MMRT_HUGE_NR; i++)
				pool->meta[pfn + i].flags = MMRT_FRAME_FREE;
		reap_unpop(pfn);
		*r->dst = MMRT_PFN_NONE;
		rte_ring_enqueue_elem(r->ring, &pfn, sizeof(pfn));
		what = "a frame taken from a ring put back";
		break;
	case MEM_OP_PUT:
		pfn = r->pfn;
		if (r->old != 1 || !pfn_ok(pfn))
			break; /* not the last reference */
		f = &pool->meta[pfn];
		if (r->lenp != NULL && *r->lenp == r->len0 + 1 &&
				r->arr[r->len0] == pfn)
			break; /* pushed */
		if (__atomic_load_n(&f->refcount, __ATOMIC_ACQUIRE) != 0)
			break; /* not dropped: the caller's record decides */
		if (__atomic_load_n(&f->gen, __ATOMIC_ACQUIRE) == r->gen) {
			if (r->lenp == NULL) {
				/* to a ring, as its release would have */
				frame_release(pfn, cache_get(), NULL, NULL);
				what = "a frame it was freeing returned";
				break;
			}
			frame_mark_free(pfn);
			FRAME_POISON(pfn_addr(pfn), MMRT_PAGE_SIZE);
		} else if (__atomic_load_n(&f->gen, __ATOMIC_ACQUIRE) !=
				r->gen + 1 || !(f->flags & MMRT_FRAME_FREE)) {
			break;
		} else if (r->lenp == NULL) {
			MMRT_LOG(WARNING, mem, "dead process %d: frame %u it"
				" was returning to a ring may be lost",
				(int)pid, pfn);
			break;
		}
		r->arr[r->len0] = pfn;
		*r->lenp = r->len0 + 1;
		what = "a frame it was freeing returned";
		break;
	case MEM_OP_FLUSH:
		if (*r->lenp != r->len0)
			MMRT_LOG(WARNING, mem, "dead process %d: died in a"
				" cache flush: up to %u frames may be lost",
				(int)pid, r->n);
		break;
	default:
		break;
	}
	__atomic_store_n(&r->op, 0, __ATOMIC_RELAXED);
	if (what != NULL) {
		__atomic_fetch_add(&mem_reaped, 1, __ATOMIC_RELAXED);
		MMRT_LOG(NOTICE, mem, "dead process %d: %s (pool record, op"
			" %u)", (int)pid, what, op);
	}
}

uint64_t
mmrt_mem_reaped(void)
{
	return __atomic_load_n(&mem_reaped, __ATOMIC_RELAXED);
}

RTE_INIT(mem_rec_register)
{
	mmrt_robust_mem_register(mem_reap);
}

int
mmrt_frame_put(uint32_t pfn)
{
	uint32_t old;

	if (!pfn_ok(pfn))
		return -EINVAL;
	if (pfn == pool->zero_pfn)
		return 0;
	if (unlikely(mmrt_robust_locks))
		return rec_put(pfn);
	old = __atomic_load_n(&pool->meta[pfn].refcount, __ATOMIC_RELAXED);
	do {
		if (old == 0 || (pool->meta[pfn].flags &
				(MMRT_FRAME_FREE | MMRT_FRAME_TAIL)))
			return -EINVAL;
	} while (!__atomic_compare_exchange_n(&pool->meta[pfn].refcount, &old,
			old - 1, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	if (old != 1)
		return 0;
	frame_release(pfn, cache_get(), NULL, NULL);
	return 1;
}

int
mmrt_frame_put_bulk(const uint32_t *pfns, unsigned int n)
{
	struct pool_cache *c = cache_get();
	uint32_t bulk[64];
	unsigned int i, nbulk = 0;
	int freed = 0;

	if (pfns == NULL || pool == NULL)
		return -EINVAL;
	if (unlikely(mmrt_robust_locks)) {
		/* one at a time, recorded: no batch outside the pool */
		for (i = 0; i < n; i++)
			if (frame_live(pfns[i]) && pfns[i] != pool->zero_pfn &&
					rec_put(pfns[i]) == 1)
				freed++;
		return freed;
	}
	for (i = 0; i < n; i++) {
		uint32_t pfn = pfns[i];

		/* metadata a few frames ahead: a gather's frames are cold */
		if (i + PUT_PREFETCH < n && pfn_ok(pfns[i + PUT_PREFETCH]))
			rte_prefetch0_write(&pool->meta[pfns[i +
				PUT_PREFETCH]]);
		if (!frame_live(pfn) || pfn == pool->zero_pfn)
			continue;
		if (__atomic_sub_fetch(&pool->meta[pfn].refcount, 1,
				__ATOMIC_ACQ_REL) != 0)
			continue;
		frame_release(pfn, c, bulk, &nbulk);
		freed++;
		if (nbulk == RTE_DIM(bulk)) {
			give_frames(bulk, nbulk);
			nbulk = 0;
		}
	}
	if (nbulk > 0)
		give_frames(bulk, nbulk);
	return freed;
}

int
mmrt_huge_split(uint32_t head)
{
	struct mmrt_frame *f;
	uint32_t i;

	if (!frame_live(head) || !(pool->meta[head].flags & MMRT_FRAME_HEAD))
		return -EINVAL;
	f = &pool->meta[head];
	if (__atomic_load_n(&f->refcount, __ATOMIC_ACQUIRE) != 1)
		return -EBUSY;
	for (i = 1; i < MMRT_HUGE_NR; i++) {
		struct mmrt_frame *t = &pool->meta[head + i];

		t->mapcount = f->mapcount;
		t->priv = 0;
		t->priv2 = 0;
		t->flags = f->flags & ~MMRT_FRAME_HEAD;
		__atomic_store_n(&t->refcount, 1, __ATOMIC_RELEASE);
	}
	f->flags &= ~MMRT_FRAME_HEAD;
	__atomic_fetch_add(&pool->splits, 1, __ATOMIC_RELAXED);
	/* the huge allocation becomes 512 small ones for the counters */
	POOL_COUNT(cache_get(), huge_frees, 1);
	POOL_COUNT(cache_get(), allocs, MMRT_HUGE_NR);
	return 0;
}

void *
mmrt_frame_addr(uint32_t pfn)
{
	if (!pfn_ok(pfn))
		return NULL;
	return pfn_addr(pfn);
}

rte_iova_t
mmrt_frame_iova(uint32_t pfn)
{
	if (!pfn_ok(pfn))
		return RTE_BAD_IOVA;
	if (pool->iova != NULL)
		return pool->iova[pfn];
	return (rte_iova_t)((uintptr_t)pfn_addr(pfn) + pool->iova_off);
}

uint32_t
mmrt_addr_to_pfn(const void *addr)
{
	uintptr_t a = (uintptr_t)addr, b;

	if (pool == NULL)
		return MMRT_PFN_NONE;
	b = (uintptr_t)pool->base;
	if (a < b || a - b >= pool->nframes << MMRT_PAGE_SHIFT)
		return MMRT_PFN_NONE;
	return (a - b) >> MMRT_PAGE_SHIFT;
}

struct mmrt_frame *
mmrt_frame_meta(uint32_t pfn)
{
	if (!pfn_ok(pfn))
		return NULL;
	return &pool->meta[pfn];
}

uint32_t
mmrt_zero_pfn(void)
{
	return pool != NULL ? pool->zero_pfn : MMRT_PFN_NONE;
}

int
mmrt_mem_stats(struct mmrt_mem_stats *st)
{
	unsigned int i;
	uint64_t cached = 0, zcached = 0, pt = 0, f;

	if (st == NULL)
		return -EINVAL;
	if (pool == NULL)
		return -ENODEV;
	memset(st, 0, sizeof(*st));
	for (i = 0; i < RTE_MAX_LCORE; i++) {
		const struct pool_cache *c = &pool->caches[i];

		cached += __atomic_load_n(&c->len, __ATOMIC_RELAXED);
		zcached += __atomic_load_n(&c->zlen, __ATOMIC_RELAXED);
		st->zero_hits += c->zero_hits;
		st->allocs += c->allocs;
		st->frees += c->frees;
		st->huge_allocs += c->huge_allocs;
		st->huge_frees += c->huge_frees;
		st->alloc_fail += c->alloc_fail;
	}
	st->allocs += pool->shared.allocs;
	st->frees += pool->shared.frees;
	st->huge_allocs += pool->shared.huge_allocs;
	st->huge_frees += pool->shared.huge_frees;
	st->alloc_fail += pool->shared.alloc_fail;
	st->frames_total = pool->nframes;
	st->huge_total = pool->nhuge;
	st->huge_free = rte_ring_count(pool->ring2m);
	st->frames_clean = rte_ring_count(pool->ringz) + zcached;
	st->frames_free = rte_ring_count(pool->ring4k) + cached +
		st->frames_clean + st->huge_free * MMRT_HUGE_NR;
	st->zeroed = __atomic_load_n(&pool->zeroed, __ATOMIC_RELAXED);
	st->zero_hits += pool->shared.zero_hits;
	for (f = 0; f < pool->nframes; f++)
		if (pool->meta[f].flags & MMRT_FRAME_PT)
			pt++;
	st->pt_pages = pt;
	st->splits = pool->splits;
	st->bytes_meta = pool->nframes * sizeof(struct mmrt_frame);
	st->hugepages = pool->hugepages;
	st->iova_as_va = pool->iova_as_va;
	return 0;
}

uint64_t
mmrt_mem_used(void)
{
	struct pool_cache *c;
	uint64_t cached = 0;
	unsigned int i;

	if (pool == NULL)
		return 0;
	for (i = 0; i < RTE_MAX_LCORE; i++) {
		c = &pool->caches[i];
		cached += __atomic_load_n(&c->len, __ATOMIC_RELAXED) +
			__atomic_load_n(&c->zlen, __ATOMIC_RELAXED);
	}
	/* the zero frame is allocated for the pool's whole life */
	return pool->nframes - 1 - (rte_ring_count(pool->ring4k) + cached +
		rte_ring_count(pool->ringz) +
		rte_ring_count(pool->ring2m) * (uint64_t)MMRT_HUGE_NR);
}

/* Give back what cache @c holds (its owner runs no more, or is us). */
static void
cache_drain(struct pool_cache *c)
{
	if (c->len > 0)
		rte_ring_enqueue_bulk_elem(pool->ring4k, c->objs,
			sizeof(uint32_t), c->len, NULL);
	if (c->zlen > 0)
		rte_ring_enqueue_bulk_elem(pool->ringz, c->zobjs,
			sizeof(uint32_t), c->zlen, NULL);
	c->len = 0;
	c->zlen = 0;
}

void
mmrt_mem_cache_flush(void)
{
	struct pool_cache *c;

	if (pool == NULL)
		return;
	c = cache_get();
	if (c == NULL)
		return;
	cache_drain(c);
}

/* IOVA of every frame: O(1) lookups later, whatever the EAL's IOVA mode. */
static int
pool_iova_init(void)
{
	uint64_t f;
	rte_iova_t first = rte_mem_virt2iova(pool->base);
	bool linear = first != RTE_BAD_IOVA;

	pool->iova_as_va = rte_eal_iova_mode() == RTE_IOVA_VA;
	if (pool->iova_as_va) {
		pool->iova_off = 0;
		return 0;
	}
	/* The memzone may be IOVA-contiguous: then one offset is enough. */
	if (linear && pool->mz->iova != RTE_BAD_IOVA &&
			(pool->mz->flags & RTE_MEMZONE_IOVA_CONTIG)) {
		pool->iova_off = (int64_t)(pool->mz->iova -
			(uintptr_t)pool->mz->addr);
		return 0;
	}
	pool->iova = TEST_ALLOC_FAIL() ? NULL : rte_malloc("mmrt_pool_iova",
		pool->nframes * sizeof(rte_iova_t), 0);
	if (pool->iova == NULL)
		return -ENOMEM;
	for (f = 0; f < pool->nframes; f++) {
		const struct rte_memseg *ms = rte_mem_virt2memseg(pfn_addr(f),
			NULL);

		if (ms == NULL || ms->iova == RTE_BAD_IOVA)
			pool->iova[f] = RTE_BAD_IOVA;
		else
			pool->iova[f] = ms->iova +
				((uintptr_t)pfn_addr(f) - (uintptr_t)ms->addr);
	}
	return 0;
}

int
mmrt_mem_zero_poll(unsigned int budget)
{
	uint32_t buf[64];
	unsigned int n, i, total = 0;

	if (pool == NULL)
		return -ENODEV;
	while (total < budget) {
		n = rte_ring_dequeue_burst_elem(pool->ring4k, buf,
			sizeof(uint32_t), RTE_MIN((unsigned int)RTE_DIM(buf),
			budget - total), NULL);
		if (n == 0)
			break;
		for (i = 0; i < n; i++) {
			void *a = pfn_addr(buf[i]);

			FRAME_UNPOISON(a, MMRT_PAGE_SIZE);
			memset(a, 0, MMRT_PAGE_SIZE);
			FRAME_POISON(a, MMRT_PAGE_SIZE);
		}
		/* the clean ring holds every frame, so it never overflows */
		rte_ring_enqueue_bulk_elem(pool->ringz, buf, sizeof(uint32_t),
			n, NULL);
		total += n;
	}
	if (total > 0)
		__atomic_fetch_add(&pool->zeroed, total, __ATOMIC_RELAXED);
	return (int)total;
}

static int32_t
zero_service(void *arg)
{
	RTE_SET_USED(arg);
	return mmrt_mem_zero_poll(256) > 0 ? 0 : -EAGAIN;
}

int
mmrt_mem_zero_service_id(uint32_t *id)
{
	if (id == NULL)
		return -EINVAL;
	if (pool_secondary)
		return -E_RTE_SECONDARY; /* services are per process */
	if (pool == NULL || !pool->zero_registered)
		return -ENODEV;
	*id = pool->zero_sid;
	return 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * Back every frame with memory now. Under --no-huge the memzone is plain
 * shared memory that the kernel fills on first touch; without this, every
 * first allocation of a frame would pay a kernel page fault (DPDK's own
 * hugepages are faulted in at EAL init for the same reason).
 */
static void
pool_prefault(void)
{
	uint64_t len = pool->nframes << MMRT_PAGE_SHIFT, off;

	if (pool->hugepages)
		return;
	if (madvise(pool->base, len, MADV_POPULATE_WRITE) == 0)
		return;
	for (off = 0; off < len; off += MMRT_PAGE_SIZE) {
		volatile uint8_t *b = pool->base + off;

		*b = *b;
	}
}

/*
 * Free whatever pool_init() built; every step copes with a part that was
 * never made, so this is also its failure path.
 */
static void
pool_teardown(void)
{
	memset(&mmrt_mem_fp, 0, sizeof(mmrt_mem_fp));
	if (pool->zero_registered) {
		rte_service_component_runstate_set(pool->zero_sid, 0);
		rte_service_component_unregister(pool->zero_sid);
	}
	if (pool->base != NULL)
		FRAME_UNPOISON(pool->base, pool->nframes << MMRT_PAGE_SHIFT);
	rte_ring_free(pool->ring4k);
	rte_ring_free(pool->ring2m);
	rte_ring_free(pool->ringz);
	rte_free(pool->iova);
	rte_free(pool->meta);
	if (pool->mz != NULL)
		rte_memzone_free(pool->mz);
	rte_memzone_free(pool_mz);
	pool_mz = NULL;
	pool = NULL;
}

/* Fill this process's fast-path view from the pool. */
static void
pool_fp_set(void)
{
	mmrt_mem_fp.base = pool->base;
	mmrt_mem_fp.iova = pool->iova;
	mmrt_mem_fp.iova_off = pool->iova_off;
	mmrt_mem_fp.nframes = pool->nframes;
}

/*
 * A secondary: find the primary's pool. Nothing is made; the zero
 * service stays the primary's (services are per process).
 */
static int
pool_attach(void)
{
	const struct rte_memzone *mz = rte_memzone_lookup(POOL_MZ);

	if (mz == NULL) {
		MMRT_LOG(ERR, mem, "secondary: no frame pool (%s) in the"
			" primary", POOL_MZ);
		return -ENOENT;
	}
	pool = mz->addr;
	pool_secondary = true;
	pool_fp_set();
	return 0;
}

/*
 * A secondary leaves: the frames in the caches of its lcores go back to
 * the rings (no thread of it runs any more: mmrt_fini()'s contract).
 */
static void
pool_detach(void)
{
	struct pool_cache *c;
	unsigned int i;

	RTE_LCORE_FOREACH(i) {
		c = &pool->caches[i];
		cache_drain(c);
	}
	memset(&mmrt_mem_fp, 0, sizeof(mmrt_mem_fp));
	pool = NULL;
	pool_secondary = false;
}

static int
pool_fini(void)
{
	if (pool == NULL)
		return 0;
	if (pool_secondary) {
		pool_detach();
		return 0;
	}
	if (mmrt_mem_used() > 0) {
		MMRT_LOG(WARNING, mem, "%" PRIu64 " frames still in use at exit",
			mmrt_mem_used());
	}
	pool_teardown();
	return 0;
}

/*
 * EAL memory the pool takes for @p len bytes of frames: the frames, their
 * metadata, the three rings (a ring of n slots is a power of two above n),
 * the pool structure with its per-lcore caches, and up to one huge frame
 * lost to the memzone's 2 MiB alignment.
 */
static uint64_t
pool_need_bytes(uint64_t len)
{
	uint64_t nframes = len >> MMRT_PAGE_SHIFT;
	uint64_t nhuge = len >> MMRT_HUGE_SHIFT;

	return len + MMRT_HUGE_SIZE + sizeof(struct pool) +
		nframes * sizeof(struct mmrt_frame) +
		2 * rte_align64pow2(nframes + 1) * sizeof(uint32_t) +
		rte_align64pow2(nhuge + 1) * sizeof(uint32_t) +
		(rte_eal_iova_mode() == RTE_IOVA_VA ? 0 :
		 nframes * sizeof(rte_iova_t));
}

static int
pool_init(const struct mmrt_config *cfg)
{
	uint64_t len = (uint64_t)cfg->pool_mb << 20;
	uint64_t nhuge_keep, c, i;
	uint32_t *tmp;
	int ret = -ENOMEM;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return pool_attach();
	len = RTE_ALIGN_FLOOR(len, MMRT_HUGE_SIZE);
	if (len < 2 * MMRT_HUGE_SIZE)
		return -EINVAL;
	pool_mz = TEST_ALLOC_FAIL() ? NULL :
		rte_memzone_reserve_aligned(POOL_MZ, sizeof(*pool),
		SOCKET_ID_ANY, 0, RTE_CACHE_LINE_SIZE);
	if (pool_mz == NULL)
		goto nomem;
	pool = pool_mz->addr;
	memset(pool, 0, sizeof(*pool));
	pool->cache_size = RTE_MIN(cfg->cache_size, (uint32_t)CACHE_MAX);
	pool->mz = TEST_ALLOC_FAIL() ? NULL :
		rte_memzone_reserve_aligned("mmrt_pool_frames", len,
		SOCKET_ID_ANY, 0, MMRT_HUGE_SIZE);
	if (pool->mz == NULL) {
		/* Not a shortage: say what it is, nothing about sizes. */
		if (rte_errno != ENOMEM) {
			ret = -rte_errno;
			MMRT_LOG(ERR, mem, "cannot reserve the frame pool: %s",
				rte_strerror(rte_errno));
			goto fail;
		}
		goto nomem;
	}
	pool->base = pool->mz->addr;
	pool->nframes = len >> MMRT_PAGE_SHIFT;
	pool->nhuge = len >> MMRT_HUGE_SHIFT;
	pool->hugepages = pool->mz->hugepage_sz >= MMRT_HUGE_SIZE;
	pool_prefault();
	pool->meta = TEST_ALLOC_FAIL() ? NULL : rte_zmalloc("mmrt_pool_meta",
		pool->nframes * sizeof(struct mmrt_frame), RTE_CACHE_LINE_SIZE);
	if (pool->meta == NULL)
		goto nomem;
	if (pool_iova_init() != 0)
		goto nomem;
	/*
	 * Relaxed tail sync: the default MP/MC mode spins on the tail of a
	 * preempted peer, and pollers and helper threads here may share a
	 * core (DPDK's mode for overcommitted lcores).
	 */
	pool->ring4k = TEST_ALLOC_FAIL() ? NULL :
		rte_ring_create_elem("mmrt_pool_4k", sizeof(uint32_t),
		pool->nframes, SOCKET_ID_ANY, RING_RTS_FLAGS);
	pool->ring2m = TEST_ALLOC_FAIL() ? NULL :
		rte_ring_create_elem("mmrt_pool_2m", sizeof(uint32_t),
		pool->nhuge, SOCKET_ID_ANY, RING_RTS_FLAGS);
	pool->ringz = TEST_ALLOC_FAIL() ? NULL :
		rte_ring_create_elem("mmrt_pool_zero", sizeof(uint32_t),
		pool->nframes, SOCKET_ID_ANY, RING_RTS_FLAGS);
	if (pool->ring4k == NULL || pool->ring2m == NULL ||
			pool->ringz == NULL)
		goto nomem;

	/* The first huge chunks are pre-split; huge_reserve_pct stay whole. */
	nhuge_keep = pool->nhuge * cfg->pool_huge_pct / 100;
	tmp = TEST_ALLOC_FAIL() ? NULL :
		malloc(MMRT_HUGE_NR * sizeof(uint32_t));
	if (tmp == NULL)
		goto fail;
	for (c = 0; c < pool->nhuge; c++) {
		uint32_t head = c * MMRT_HUGE_NR;

		for (i = 0; i < MMRT_HUGE_NR; i++)
			pool->meta[head + i].flags = MMRT_FRAME_FREE;
		if (c >= pool->nhuge - nhuge_keep) {
			rte_ring_enqueue_elem(pool->ring2m, &head, sizeof(head));
			continue;
		}
		for (i = 0; i < MMRT_HUGE_NR; i++)
			tmp[i] = head + MMRT_HUGE_NR - 1 - i;
		rte_ring_enqueue_bulk_elem(pool->ring4k, tmp, sizeof(uint32_t),
			MMRT_HUGE_NR, NULL);
	}
	free(tmp);
	FRAME_POISON(pool->base, len);

	pool_fp_set();
	ret = (int)mmrt_frame_alloc(MMRT_ALLOC_ZERO);
	if (ret < 0)
		goto fail;
	pool->zero_pfn = ret;
	pool->meta[pool->zero_pfn].flags = MMRT_FRAME_ZERO;
	/* the zero frame does not count as an allocation */
	POOL_COUNT(cache_get(), allocs, UINT64_MAX);
	{
		struct rte_service_spec spec = {
			.name = "mmrt_mem_zero",
			.callback = zero_service,
			.capabilities = RTE_SERVICE_CAP_MT_SAFE,
			.socket_id = SOCKET_ID_ANY,
		};

		/* runs only once an application maps it to a service lcore */
		if (rte_service_component_register(&spec,
				&pool->zero_sid) == 0) {
			pool->zero_registered = true;
			rte_service_component_runstate_set(pool->zero_sid, 1);
		}
	}
	MMRT_LOG(INFO, mem, "frame pool: %" PRIu64 " MiB, %" PRIu64
		" frames, %" PRIu64 " huge kept whole, %s, iova %s",
		len >> 20, pool->nframes, nhuge_keep,
		pool->hugepages ? "hugepages" : "no-huge memory",
		pool->iova_as_va ? "va" : (pool->iova ? "table" : "pa-linear"));
	return 0;
nomem:
	/* The one line a user needs: how much, and the two ways out. */
	MMRT_LOG(ERR, mem, "the frame pool (mem.pool_mb = %u) needs about %"
		PRIu64 " MiB of EAL memory and the EAL has too little: give it"
		" more (-m/--socket-mem, or hugepages) or lower --pool-mb"
		" (mem.pool_mb)", cfg->pool_mb,
		(pool_need_bytes(len) + (1 << 20) - 1) >> 20);
	ret = -ENOMEM;
fail:
	if (pool != NULL)
		pool_teardown();
	else if (pool_mz != NULL) {
		rte_memzone_free(pool_mz);
		pool_mz = NULL;
	}
	return ret < 0 ? ret : -ENOMEM;
}

MMRT_SUBSYS_REGISTER(mem_subsys, "mem", 10, pool_init, pool_fini);
