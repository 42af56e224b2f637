/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_DEV_H
#define MMRT_DEV_H

/**
 * @file
 * Device-TLB consumers (DESIGN.md sections 4 and 7): an ATS-like poller
 * bound to an address space, with a bounded set-associative device TLB
 * (4 KiB and 2 MiB entries, permissions per entry), an invalidation ring
 * it drains in its poll loop, a page-request ring for the fault path, and
 * statistics.
 *
 * Threads: each consumer has one owner thread, a registered mmrt poller
 * (mmrt_thread_register()), that calls mmrt_consumer_translate() and
 * mmrt_consumer_poll(). The device TLB is private to that thread and is
 * not locked. mmrt_consumer_page_requests(), mmrt_consumer_stats() and
 * mmrt_consumer_fenced() may be called from any thread. Create, destroy,
 * bind and unbind must not run concurrently with the owner's translate or
 * poll on the same consumer (call them from the owner, or while it is
 * stopped).
 *
 * Invalidation: every page-table change that removes or downgrades a
 * translation of the bound space posts a descriptor {start, end, seq} to
 * the consumer (into its one-cache-line mailbox when the consumer acked
 * what the mailbox held, else into its rte_ring) and spins until the
 * consumer acknowledged it (its next mmrt_consumer_poll()), or until the
 * deadline passes: then the
 * consumer is fenced (its binding revoked; translate returns -ENOTCONN)
 * and later invalidations do not wait for it.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>

#include <mmrt_core.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest consumer name (with the NUL). */
#define MMRT_CONSUMER_NAME_SIZE 32

/** Defaults used for a zero field of struct mmrt_consumer_conf. */
#define MMRT_CONSUMER_TLB_SETS_DEFAULT 64
#define MMRT_CONSUMER_TLB_WAYS_DEFAULT 4
#define MMRT_CONSUMER_TLB_WAYS_MAX 8
#define MMRT_CONSUMER_RING_SIZE_DEFAULT 256
#define MMRT_CONSUMER_ACK_DEADLINE_US_DEFAULT 10000

/** Configuration of a consumer; a zero field takes its default. */
struct mmrt_consumer_conf {
	/** Unique name (1..MMRT_CONSUMER_NAME_SIZE-1 chars); NULL: one is
	 * made up ("consumer<N>"). */
	const char *name;
	uint32_t tlb_sets;        /**< Sets, a power of 2 (default 64). */
	uint32_t tlb_ways;        /**< Ways per set, 1..8 (default 4). */
	uint32_t ring_size;       /**< Invalidation and page-request ring
				   * slots, a power of 2 >= 2 (default 256);
				   * holds ring_size - 1 entries. */
	uint64_t ack_deadline_us; /**< How long an invalidator waits for the
				   * ack before fencing (default 10000). */
};

/** Consumer statistics (a snapshot; counters only grow). */
struct mmrt_consumer_stats {
	uint64_t tlb_hits;        /**< Translations served by the device TLB. */
	uint64_t tlb_misses;      /**< Translations that walked the page table. */
	uint64_t tlb_fills;       /**< Entries installed. */
	uint64_t tlb_evictions;   /**< Valid entries replaced by a fill. */
	uint64_t inval_descs;     /**< Invalidation descriptors processed. */
	uint64_t inval_flush_all; /**< ... of which flushed the whole TLB. */
	uint64_t inval_mailbox;   /**< ... of which came through the one-line
				   * mailbox (the others through the ring:
				   * posted while the mailbox was full). */
	uint64_t entries_dropped; /**< Valid entries dropped by invalidations. */
	uint64_t acks;            /**< Acks published (polls that processed
				   * at least one descriptor). */
	uint64_t fences;          /**< Times the consumer was fenced. */
	uint64_t page_requests;   /**< Page requests queued. */
	uint64_t page_requests_dedup; /**< Requests not queued: one for the
				   * page was already pending. */
	uint64_t userfaults;      /**< Misses posted to (or pending at) a
				   * uffd that serves the page. */
	uint64_t faults_resolved; /**< Misses resolved in place by the walk's
				   * fault probe (demand-zero, object page). */
	uint64_t quarantined;     /**< Frames held back from the pool while
				   * fenced (references taken). */
	uint64_t quarantine_held; /**< ... of which still held now. */
};

struct mmrt_consumer;

/**
 * @internal Device-TLB entry, 16 bytes:
 * - tag: page base (4 KiB or 2 MiB aligned) | V | H; compared whole with
 *   the lookup key, so a hit is one compare per way.
 * - data: (host address of the page base - page base) | R | W: the host
 *   address of va is va + (data & ~MMRT_DEV_TLBE_DMASK) (one add); the
 *   low bits are the permission (R: valid, readable; W: writable), equal
 *   to MMRT_PROT_* and MMRT_ACCESS_*.
 * Invalid entries have tag 0.
 */
struct mmrt_dev_tlbe {
	uint64_t tag;
	uint64_t data;
};

/** @internal Tag flags. */
#define MMRT_DEV_TLBE_V (UINT64_C(1) << 0) /**< valid */
#define MMRT_DEV_TLBE_H (UINT64_C(1) << 2) /**< 2 MiB entry */
/** @internal Data flags (== MMRT_PROT_READ, MMRT_PROT_WRITE). */
#define MMRT_DEV_TLBE_R (UINT64_C(1) << 0) /**< valid, readable */
#define MMRT_DEV_TLBE_W (UINT64_C(1) << 1) /**< writable */
#define MMRT_DEV_TLBE_DMASK (MMRT_PAGE_SIZE - 1) /**< data flag bits */

/**
 * @internal Ways per TLB block: a set's ways 0..3 lie in block 0 (one
 * cache line per set), ways 4..7 (when tlb_ways > 4) in block 1, at the
 * same index (block b of set s: tlb[(b * sets + s) * MMRT_DEV_TLB_BLOCK]).
 * Slots past tlb_ways keep tag 0.
 */
#define MMRT_DEV_TLB_BLOCK 4
#define MMRT_DEV_TLB_BLOCK_SHIFT 6 /**< log2 of a block's size in bytes */

/** @internal Consumer states. */
#define MMRT_CONSUMER_UNBOUND 0
#define MMRT_CONSUMER_BOUND 1
#define MMRT_CONSUMER_FENCED 2

/** @internal Head of struct mmrt_consumer read by the inline hit path. */
struct mmrt_consumer_core {
	uint32_t state;             /**< MMRT_CONSUMER_*, written atomically. */
	uint32_t set_mask;          /**< sets - 1 */
	uint32_t ways;              /**< ways per set */
	uint32_t magic;             /**< live consumer */
	struct mmrt_dev_tlbe *tlb;  /**< sets entries per block, 1 block
				     * (ways <= 4) or 2 */
	uint64_t blk_mask;          /**< set_mask << MMRT_DEV_TLB_BLOCK_SHIFT:
				     * byte offset of a set in a block */
	/**
	 * Owner-written hit counter, in a line of its own: invalidators read
	 * state, and a store per hit into that line would pull it back and
	 * forth while one waits for an ack.
	 */
	uint64_t hits __rte_cache_aligned;
};

/**
 * @internal Search one block of a set for @p key, branch-free: @return
 * the data word of the way whose tag is @p key, else @p sel. Which way
 * holds a page is as good as random, so a branch per way would mispredict
 * on most lookups: conditional moves, all loads from the block's line.
 */
static inline uint64_t
mmrt_dev_tlb_block_find(const struct mmrt_dev_tlbe *e, uint64_t key,
	uint64_t sel)
{
	uint64_t d0 = e[0].data, d1 = e[1].data, d2 = e[2].data,
		d3 = e[3].data;

	sel = e[0].tag == key ? d0 : sel;
	sel = e[1].tag == key ? d1 : sel;
	sel = e[2].tag == key ? d2 : sel;
	sel = e[3].tag == key ? d3 : sel;
	return sel;
}

/**
 * @internal The miss path of mmrt_consumer_translate() (argument checks,
 * 2 MiB entries, walk, fill, page request). Same contract.
 */
int mmrt_consumer_translate_slow(struct mmrt_consumer *c, uint64_t va,
	uint32_t access, struct mmrt_xlate *out);

/**
 * Create a consumer (unbound).
 *
 * @param conf
 *   Configuration, or NULL for every default.
 * @return the consumer, or NULL with rte_errno: EINVAL (bad field: sets
 *   or ring size not a power of 2, ways out of 1..8, name too long or
 *   empty), EEXIST (name taken), ENOMEM, ENODEV (runtime not up).
 *   Thread-safe. May wait (allocation).
 */
struct mmrt_consumer *mmrt_consumer_create(
	const struct mmrt_consumer_conf *conf);

/**
 * Destroy a consumer, unbinding it first (see mmrt_consumer_unbind()).
 *
 * @return 0, -EINVAL if @p c is NULL or not a live consumer. Not
 *   concurrently with any other call on @p c. May wait (the unbind).
 */
int mmrt_consumer_destroy(struct mmrt_consumer *c);

/**
 * Bind @p c to the address space @p as: registers a legacy notifier
 * (secondary-TLB flush and release) on @p as, starts with an empty device
 * TLB and clears a previous fence.
 *
 * @return the binding id (> 0, like a PASID: unique among live
 *   bindings), -EINVAL (NULL or not live), -EBUSY (already bound, or
 *   fenced and not yet unbound), -ENOSPC (no free id). Not concurrently
 *   with translate/poll on @p c. Does not wait.
 */
int mmrt_consumer_bind(struct mmrt_consumer *c, struct mmrt_as *as);

/**
 * Unbind @p c (a fenced binding is unbound too). Unregisters the notifier,
 * which waits for every invalidation in flight on the binding (they stop
 * waiting for this consumer's ack once it is unbinding), then empties the
 * device TLB and the rings.
 *
 * @return 0, -EINVAL (NULL or not live), -ENOTCONN (not bound, or the
 *   address space was destroyed, which released the binding). Not
 *   concurrently with translate/poll on @p c. May wait.
 */
int mmrt_consumer_unbind(struct mmrt_consumer *c);

/**
 * @return the binding id of @p c (> 0), or -ENOTCONN if it is not bound
 *   (a fenced consumer keeps its id until unbound), -EINVAL. Thread-safe.
 *   Never waits.
 */
int mmrt_consumer_id(const struct mmrt_consumer *c);

/**
 * Translate @p va for @p access (MMRT_ACCESS_* bits; 0 means read)
 * through the device TLB. A hit costs a set lookup. On a miss (or a hit on
 * a read-only entry for a write) the page table is walked without locks
 * and the entry (4 KiB or 2 MiB, with its permission) is filled.
 *
 * The translation stays usable until the owner's next
 * mmrt_consumer_poll(): invalidations wait for that poll.
 *
 * A miss on a page that is not there yet is resolved in place when that
 * needs no wait (demand-zero, object pages: mmrt_fault_request()).
 *
 * @return 0 and @p out filled; -EAGAIN: retry on a later poll: either a
 *   uffd serves the page and its fault was posted (or is pending), or the
 *   fault needs the fault path (copy-on-write, or the map lock was taken)
 *   and was queued as a page request (or one is pending), see
 *   mmrt_consumer_page_requests(); -EFAULT: no region at @p va (or a uffd
 *   in SIGBUS mode serves it); -EACCES: the region does not grant
 *   @p access; -EHWPOISON: the page is poisoned;
 *   -ENOTCONN: not bound, fenced, or the space was destroyed; -EPERM: a
 *   walk was needed and the calling thread is not a registered online
 *   poller; -EINVAL: NULL argument, not live, @p va >= MMRT_VA_LIMIT or
 *   unknown @p access bits. Owner thread only. Never waits.
 */
static inline int
mmrt_consumer_translate(struct mmrt_consumer *c, uint64_t va, uint32_t access,
	struct mmrt_xlate *out)
{
	struct mmrt_consumer_core *cc = (struct mmrt_consumer_core *)c;
	const struct mmrt_dev_tlbe *e;
	uint64_t key, sel, off, addr;
	uint32_t pfn;

	/*
	 * Only what a hit needs is checked here: a va at or above
	 * MMRT_VA_LIMIT matches no tag (so it misses) and the slow path
	 * validates the rest. The state check keeps a fenced or unbound
	 * consumer off its TLB.
	 */
	if (unlikely(c == NULL || out == NULL ||
			__atomic_load_n(&cc->state, __ATOMIC_RELAXED) !=
				MMRT_CONSUMER_BOUND))
		goto slow;
	/* block 0 of set (va >> 12) & set_mask: one line */
	e = (const struct mmrt_dev_tlbe *)((uintptr_t)cc->tlb +
		((va >> (MMRT_PAGE_SHIFT - MMRT_DEV_TLB_BLOCK_SHIFT)) &
		cc->blk_mask));
	key = (va & ~(MMRT_PAGE_SIZE - 1)) | MMRT_DEV_TLBE_V;
	sel = mmrt_dev_tlb_block_find(e, key, 0);
	/*
	 * Hit with the permission: every bit of access (read is implied)
	 * is in the entry's R|W; a miss has sel 0, so fails too, and so do
	 * unknown access bits.
	 */
	if (unlikely(((access | MMRT_ACCESS_READ) &
			~(sel & MMRT_DEV_TLBE_DMASK)) != 0)) {
		if (cc->ways <= MMRT_DEV_TLB_BLOCK)
			goto slow;
		sel = mmrt_dev_tlb_block_find(e + ((uint64_t)cc->set_mask +
			1) * MMRT_DEV_TLB_BLOCK, key, sel); /* block 1 */
		if (((access | MMRT_ACCESS_READ) &
				~(sel & MMRT_DEV_TLBE_DMASK)) != 0)
			goto slow;
	}
	addr = va + (sel & ~MMRT_DEV_TLBE_DMASK);
	off = va & (MMRT_PAGE_SIZE - 1);
	pfn = (uint32_t)((addr - (uintptr_t)mmrt_mem_fp.base) >>
		MMRT_PAGE_SHIFT);
	/* pfn apart from prot: together, GCC packs them through SSE */
	out->addr = (void *)(uintptr_t)addr;
	out->pfn = pfn;
	if (likely(mmrt_mem_fp.iova == NULL))
		out->iova = (rte_iova_t)(addr + mmrt_mem_fp.iova_off);
	else
		out->iova = mmrt_mem_fp.iova[pfn] + off;
	out->prot = (uint32_t)(sel & (MMRT_DEV_TLBE_R | MMRT_DEV_TLBE_W));
	out->size = MMRT_PAGE_SIZE - off;
	out->huge = false;
	/* exact; owner-written (a plain add: stats read it relaxed) */
	__atomic_store_n(&cc->hits, cc->hits + 1, __ATOMIC_RELAXED);
	return 0;
slow:
	return mmrt_consumer_translate_slow(c, va, access, out);
}

/**
 * Drain up to @p n pending page requests: @p va[i] is the page (4 KiB
 * aligned) and @p access[i] the MMRT_ACCESS_* bits wanted. Resolve them
 * with mmrt_fault(); the owner then retries its translation.
 *
 * @return the number drained (0..n), -EINVAL (NULL argument, not live).
 *   Any thread. Never waits.
 */
int mmrt_consumer_page_requests(struct mmrt_consumer *c, uint64_t *va,
	uint32_t *access, unsigned int n);

/**
 * Serve up to @p max of @p c's page requests with mmrt_fault() and
 * MMRT_ACCESS_NOWAIT (a request for a page a uffd serves is posted, not
 * waited for, so that uffd's resolver may call this too). For the thread
 * that serves an engine's faults: it may wait for the map lock, so never
 * from the consumer's owner while it must poll. The bound space must not
 * be destroyed meanwhile.
 *
 * @return requests served (>= 0), -EINVAL. May wait.
 */
int mmrt_consumer_serve_faults(struct mmrt_consumer *c, unsigned int max);

/**
 * mmrt_consumer_poll() that processes and acks at most @p max of the
 * pending invalidations, oldest first (0: none, only the quiescent state
 * and the fence handling). An engine that looked at the pending ranges
 * with mmrt_consumer_inval_peek() acks exactly those it checked, not one
 * posted since.
 *
 * @return descriptors processed, -EINVAL. Owner thread only. Never waits.
 */
int mmrt_consumer_poll_n(struct mmrt_consumer *c, unsigned int max);

/**
 * Look at the invalidations posted to @p c and not acked yet, without
 * acking them: up to @p n (at most 33: 32 from the ring and the
 * mailbox's) ranges [start[i], end[i]), oldest first, with no gap: the
 * first k of them are the k that mmrt_consumer_poll_n(c, k) processes.
 * An engine with operations still in flight on a device uses it to hold
 * its next mmrt_consumer_poll() (the ack) until the operations that use a
 * translation in those ranges have completed.
 *
 * @return the number of ranges (0: nothing pending), -EINVAL. Owner
 *   thread only. Never waits.
 */
int mmrt_consumer_inval_peek(struct mmrt_consumer *c, uint64_t *start,
	uint64_t *end, unsigned int n);

/**
 * The owner's poll step: take the pending invalidation descriptors (the
 * mailbox's, and the ring's in bulk), drop every device-TLB entry
 * overlapping each [start, end) (start 0, end MMRT_VA_LIMIT: everything),
 * publish the ack of the last one with a release store, then report a
 * QSBR quiescent state.
 *
 * Calling it means "no in-flight operation of mine still uses a
 * translation obtained before this call": an operation that still uses
 * one must complete before the owner polls. Also works fenced or unbound
 * (descriptors are still acked).
 *
 * @return descriptors processed (>= 0), -EINVAL (NULL, not live). Owner
 *   thread only. Never waits.
 */
int mmrt_consumer_poll(struct mmrt_consumer *c);

/**
 * @return true if @p c missed an ack deadline (or its ring was full) and
 *   was fenced; it stays fenced until unbound. false for NULL or a consumer
 *   that is not fenced. Any thread. Never waits.
 */
bool mmrt_consumer_fenced(const struct mmrt_consumer *c);

/**
 * Snapshot the statistics of @p c into @p st.
 * @return 0, -EINVAL (NULL, not live). Any thread (counters written by
 *   other threads may be slightly behind). Never waits.
 */
int mmrt_consumer_stats(const struct mmrt_consumer *c,
	struct mmrt_consumer_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* MMRT_DEV_H */
