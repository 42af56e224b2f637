/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_NOTIFIER_H
#define MMRT_NOTIFIER_H

/**
 * @file
 * Notifier subscribers of an address space (docs/architecture.md).
 *
 * Two kinds, with the semantics of the Linux mmu notifiers:
 *
 * - Interval notifiers (struct mmrt_interval_notifier): a mirror that keeps
 *   its own copies of translations of [start, start + length) subscribes
 *   that interval and is told, through its invalidate() op, before any
 *   translation in it is removed or downgraded. Readers build their copies
 *   under the collision-retry protocol:
 *
 *       again:
 *           seq = mmrt_interval_read_begin(sub);
 *           ... walk the page table, prepare the copies ...
 *           lock(user lock);
 *           if (mmrt_interval_read_retry(sub, seq)) {
 *                   unlock(user lock);
 *                   goto again;
 *           }
 *           ... install the copies ...
 *           unlock(user lock);
 *
 *       invalidate(sub, range, cur_seq):
 *           blockable ? lock(user lock) : trylock or return false;
 *           mmrt_interval_set_seq(sub, cur_seq);
 *           ... drop the copies in [range->start, range->end) ...
 *           unlock(user lock);
 *           return true;
 *
 * - Legacy notifiers (struct mmrt_notifier): told about every range of the
 *   space through invalidate_range_start/end, or only about the
 *   secondary-TLB flush through invalidate_secondary_tlbs, plus release,
 *   clear_young and test_young.
 *
 * Callbacks run in the thread that changes the page table, which may be a
 * registered poller. No callback may call back into the notifier API of the
 * same space (insert/remove/register/unregister) nor change its page table.
 */

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mmrt_as;

/** Why a range of translations is being invalidated. */
enum mmrt_notify_event {
	/** The range is unmapped (mmrt_munmap, or the space is torn down). */
	MMRT_NOTIFY_UNMAP = 0,
	/** Entries are cleared for another reason: advise, copy-on-write,
	 * page replacement, merge. */
	MMRT_NOTIFY_CLEAR,
	/** Region-wide protection change (mmrt_mprotect). */
	MMRT_NOTIFY_PROTECTION_VMA,
	/** Per-page write protection (fork, userfault write-protect): the
	 * subscriber must inspect the page table. */
	MMRT_NOTIFY_PROTECTION_PAGE,
	/** The space is dying: [0, UINT64_MAX), always blockable. */
	MMRT_NOTIFY_RELEASE,
};

/** mmrt_notifier_range.flags: the invalidator may wait in callbacks. */
#define MMRT_NOTIFY_BLOCKABLE (UINT32_C(1) << 0)

/** A range being invalidated, passed to every callback (read-only). */
struct mmrt_notifier_range {
	struct mmrt_as *as;           /**< space whose page table changes */
	uint64_t start;               /**< first byte */
	uint64_t end;                 /**< one past the last byte */
	enum mmrt_notify_event event; /**< why */
	uint32_t flags;               /**< MMRT_NOTIFY_BLOCKABLE or 0 */
	void *owner;                  /**< initiator's cookie, may be NULL */
};

/**
 * @return true if callbacks of @p r may wait (take blocking locks, spin on
 * other threads); false if they must not and should fail instead (an
 * interval invalidate() returns false, a legacy invalidate_range_start()
 * returns -EAGAIN). Never waits.
 */
static inline bool
mmrt_notifier_range_blockable(const struct mmrt_notifier_range *r)
{
	return (r->flags & MMRT_NOTIFY_BLOCKABLE) != 0;
}

/**
 * @internal Node of the intrusive augmented interval tree (lib/mm/itree.h),
 * over the inclusive interval [start, last]. Owned by the library while
 * the subscription is inserted; do not touch.
 */
struct mmrt_itree_node {
	struct mmrt_itree_node *left;
	struct mmrt_itree_node *right;
	struct mmrt_itree_node *parent;
	uint64_t start;
	uint64_t last;
	uint64_t subtree_last;  /**< max of last over the subtree */
	int32_t height;         /**< AVL height, 1 for a leaf */
	bool in_tree;
};

struct mmrt_interval_notifier;

/** Operations of an interval notifier. */
struct mmrt_interval_notifier_ops {
	/**
	 * Translations in @p range (which overlaps the subscription) are
	 * about to be removed or downgraded. Must call
	 * mmrt_interval_set_seq(sub, cur_seq) under the user lock that
	 * readers check mmrt_interval_read_retry() under, then stop using
	 * every copy in the range before returning. @p cur_seq is odd.
	 *
	 * @return true when done; false only if the range is not blockable
	 *   and the op would have to wait (the invalidator then fails with
	 *   -EAGAIN and retries later). A false return for a blockable range
	 *   is logged and ignored.
	 */
	bool (*invalidate)(struct mmrt_interval_notifier *sub,
		const struct mmrt_notifier_range *range, uint64_t cur_seq);
};

/**
 * An interval subscription. Allocated by the caller, zeroed before its
 * first insert (mmrt_interval_notifier_remove() leaves it reusable); the
 * fields are private.
 */
struct mmrt_interval_notifier {
	struct mmrt_itree_node node;        /**< @internal tree link */
	struct mmrt_interval_notifier *deferred_next;   /**< @internal */
	struct mmrt_interval_notifier **deferred_pprev; /**< @internal */
	const struct mmrt_interval_notifier_ops *ops;   /**< @internal */
	struct mmrt_as *as;                 /**< @internal NULL: not inserted */
	uint32_t kind;                      /**< @internal 0: @p ops; else
					     * lib/mm's ops of that kind */
	uint64_t invalidate_seq;            /**< @internal, see set_seq */
};

/**
 * Subscribe @p sub to invalidations of [start, start + length) of @p as.
 *
 * If an invalidation that covers some subscription is running, the
 * subscription may enter the tree only when that invalidation ends; the
 * read_begin/read_retry protocol covers the gap (read_begin waits for it),
 * so callers must use it before creating any copy.
 *
 * @return 0; -EINVAL if @p sub, @p as or @p ops is NULL or @p as is not a
 *   live space, @p ops->invalidate is NULL, @p length is 0, the interval
 *   wraps or ends past MMRT_VA_LIMIT, or @p sub is already inserted.
 * Thread-safe. Does not wait (takes the space's subscription spinlock).
 * Not from a callback.
 * Primary only: -E_RTE_SECONDARY in a DPDK secondary process (the
 * callbacks are functions of the process that registers them).
 */
int mmrt_interval_notifier_insert(struct mmrt_interval_notifier *sub,
	struct mmrt_as *as, uint64_t start, uint64_t length,
	const struct mmrt_interval_notifier_ops *ops);

/**
 * Unsubscribe @p sub. If an invalidation that may call @p sub is running,
 * waits (spinning with rte_pause(), a registered poller is taken offline
 * meanwhile) until it ended; a still-deferred insert is cancelled without
 * waiting. On return no callback runs on @p sub or will run on it, and its
 * memory may be reused or freed. No-op for NULL, a subscription that is
 * not inserted, or one whose space was destroyed (detached).
 * Thread-safe against everything but a concurrent remove of the same
 * @p sub. Not from a callback (it would wait for itself).
 */
void mmrt_interval_notifier_remove(struct mmrt_interval_notifier *sub);

/**
 * Begin a read side critical section. If an invalidation covering @p sub
 * is running, waits (spinning with rte_pause(); a registered poller is
 * taken offline meanwhile) until it ended. Pollers use
 * mmrt_interval_read_try_begin() instead.
 *
 * @return the sequence to pass to mmrt_interval_read_retry(); retry may
 *   already be true. @p sub must be inserted.
 */
uint64_t mmrt_interval_read_begin(struct mmrt_interval_notifier *sub);

/**
 * mmrt_interval_read_begin() that never waits.
 *
 * @return 0 and the sequence in @p *seq; -EBUSY if an invalidation
 *   covering @p sub is running (or its lock is momentarily held): try again
 *   later; -EINVAL if @p sub or @p seq is NULL or @p sub is not inserted.
 * Thread-safe. Never waits.
 */
int mmrt_interval_read_try_begin(struct mmrt_interval_notifier *sub,
	uint64_t *seq);

/**
 * End a read side critical section: must be called under the user lock
 * that invalidate() takes before mmrt_interval_set_seq(), once per begin.
 *
 * @return true if an invalidation overlapped since @p seq was returned:
 *   the copies just prepared may be stale, drop them and begin again.
 *   Never waits. (Acquire load; pairs with the release store in
 *   mmrt_interval_set_seq().)
 */
bool mmrt_interval_read_retry(struct mmrt_interval_notifier *sub,
	uint64_t seq);

/**
 * Lockless early check of mmrt_interval_read_retry(), to abandon long work
 * early. A false result is not reliable; true is.
 * @return true if an invalidation overlapped since @p seq. Never waits.
 */
bool mmrt_interval_check_retry(struct mmrt_interval_notifier *sub,
	uint64_t seq);

/**
 * Record @p cur_seq (the value passed to invalidate()) in @p sub. Must be
 * called unconditionally by invalidate(), under the user lock. Release
 * store; pairs with the acquire loads of read_retry/check_retry. Never
 * waits.
 */
void mmrt_interval_set_seq(struct mmrt_interval_notifier *sub,
	uint64_t cur_seq);

struct mmrt_notifier;

/**
 * Operations of a legacy notifier; every op is optional. Ops may run
 * concurrently with each other (several invalidating threads).
 */
struct mmrt_notifier_ops {
	/** The space is being destroyed, or @p sub unregistered: tear down
	 * every secondary mapping. Called at most once per registration, by
	 * whichever comes first. May wait. */
	void (*release)(struct mmrt_notifier *sub, struct mmrt_as *as);
	/** Clear the accessed state of [start, end); @return nonzero if any
	 * was young. */
	int (*clear_young)(struct mmrt_notifier *sub, struct mmrt_as *as,
		uint64_t start, uint64_t end);
	/** @return nonzero if @p addr was accessed through the subscriber. */
	int (*test_young)(struct mmrt_notifier *sub, struct mmrt_as *as,
		uint64_t addr);
	/**
	 * Translations in @p range are about to change. @return 0, or
	 * -EAGAIN only if the range is not blockable (then no end follows
	 * for this subscriber; a subscriber that may fail must not have an
	 * invalidate_range_end). Any other error is logged and taken as 0.
	 */
	int (*invalidate_range_start)(struct mmrt_notifier *sub,
		const struct mmrt_notifier_range *range);
	/** The change announced by a successful start is complete. */
	void (*invalidate_range_end)(struct mmrt_notifier *sub,
		const struct mmrt_notifier_range *range);
	/** Flush the secondary TLB for [start, end): called before any frame
	 * unhooked from that range is freed. Exclusive with the start/end
	 * pair. */
	void (*invalidate_secondary_tlbs)(struct mmrt_notifier *sub,
		struct mmrt_as *as, uint64_t start, uint64_t end);
	/**
	 * The secondary-TLB flush in two halves, for subscribers that can
	 * post a flush and wait for it apart (device TLBs that ack): the
	 * flushing thread calls tlbs_post for every such subscriber first,
	 * then tlbs_wait for each with the token its post returned, so a
	 * flush to n subscribers waits about one round trip, not n. When
	 * tlbs_wait returns, the subscriber holds no translation of the
	 * range: the contract invalidate_secondary_tlbs has when it returns.
	 * Both or neither; exclusive with invalidate_secondary_tlbs and the
	 * start/end pair. tlbs_post must not wait; a token of 0 means
	 * nothing to wait for.
	 */
	uint64_t (*tlbs_post)(struct mmrt_notifier *sub, struct mmrt_as *as,
		uint64_t start, uint64_t end);
	/** Wait for the flush tlbs_post returned @p token for. */
	void (*tlbs_wait)(struct mmrt_notifier *sub, struct mmrt_as *as,
		uint64_t token);
	/**
	 * Quarantine: @p n frames of @p as are about to be released, after
	 * the secondary-TLB flush of their range. A subscriber that may still
	 * reach them (a fenced consumer that never acked) takes a reference
	 * on each (mmrt_frame_get()) and drops it once it can no longer reach
	 * them; the others ignore the call (or leave the op NULL). Entries
	 * may repeat a pfn (one per reference released). Must not wait.
	 */
	void (*quarantine)(struct mmrt_notifier *sub, struct mmrt_as *as,
		const uint32_t *pfns, unsigned int n);
};

/** Subscriber kinds (mmrt_notifier_kind_ops()): 1 .. this - 1. */
#define MMRT_NOTIFIER_KIND_MAX 4
/** @internal The kind of lib/dev's consumers. */
#define MMRT_NOTIFIER_KIND_CONSUMER 1

/**
 * A legacy subscription, allocated by the caller; set ops (or kind)
 * before registering, the other fields are private.
 */
struct mmrt_notifier {
	const struct mmrt_notifier_ops *ops;
	struct mmrt_notifier *next;  /**< @internal list link (lock-free) */
	struct mmrt_as *as;          /**< @internal */
	uint32_t released;           /**< @internal release op called */
	/**
	 * 0: call @p ops (valid only in the registering process). Else a
	 * kind of mmrt_notifier_kind_ops(): every process calls the ops it
	 * registered for the kind, so the subscriber works across DPDK
	 * processes (the struct must then be DPDK memory).
	 */
	uint32_t kind;
};

/**
 * @internal
 * Set this process's ops of subscriber kind @p kind (from a constructor,
 * in every process that may invalidate a space with such subscribers,
 * i.e. every process linking the library that owns the kind). A
 * subscriber of a kind may be registered in a DPDK secondary process and
 * is called from whichever process invalidates.
 * @return 0, -EINVAL (kind 0 or out of range, NULL ops), -EEXIST (other
 *   ops for the kind already). Not thread-safe (constructors).
 */
int mmrt_notifier_kind_ops(uint32_t kind, const struct mmrt_notifier_ops *ops);

/**
 * Register @p sub on @p as. Callbacks may start before this returns.
 * Takes the map lock of @p as for writing, as the kernel holds mmap_lock:
 * no page-table change is between its start and end meanwhile, so @p sub
 * gets whole invalidate_range_start/end pairs, never an end without its
 * start.
 *
 * @return 0; -EINVAL if @p sub, @p sub->ops or @p as is NULL or @p as is
 *   not live, or ops has more than one of invalidate_secondary_tlbs,
 *   the tlbs_post/tlbs_wait pair and invalidate_range_start/end, or only
 *   one of tlbs_post and tlbs_wait; -EEXIST if @p sub is already registered on
 *   @p as. Thread-safe. May wait for the map lock (a registered poller is
 *   taken offline meanwhile). Not from a callback.
 * Primary only: -E_RTE_SECONDARY in a DPDK secondary process (the
 * callbacks are functions of the process that registers them).
 */
int mmrt_notifier_register(struct mmrt_notifier *sub, struct mmrt_as *as);

/**
 * Unregister @p sub from @p as and call its release op (unless the space
 * already released it). Waits (spinning; a registered poller is taken
 * offline meanwhile) for a QSBR grace period and for every traversal of the
 * subscriber list in flight (see notifier.c): on return no callback runs on
 * @p sub or will run on it.
 *
 * @return 0, or 0 if the space already released @p sub; -EINVAL if @p sub
 *   or @p as is NULL or @p as is not live; -ENOENT if @p sub is not
 *   registered on @p as. Thread-safe. Not from a callback. Must not be
 *   called after mmrt_as_destroy() of @p as returned (the address of
 *   @p as may name a new space by then: see mmrt_as_destroy()).
 */
int mmrt_notifier_unregister(struct mmrt_notifier *sub, struct mmrt_as *as);

/**
 * Ask every legacy subscriber of @p as to clear its accessed state for
 * [start, end).
 * @return the OR of the subscribers' results (0 if none was young);
 *   -EINVAL if @p as is not live or the range is empty, unaligned, wraps
 *   or ends past MMRT_VA_LIMIT. Thread-safe; waits only as long as the ops.
 */
int mmrt_as_clear_young(struct mmrt_as *as, uint64_t start, uint64_t end);

/**
 * @return the OR of every legacy subscriber's test_young for @p addr;
 *   -EINVAL if @p as is not live or @p addr >= MMRT_VA_LIMIT. Thread-safe;
 *   waits only as long as the ops.
 */
int mmrt_as_test_young(struct mmrt_as *as, uint64_t addr);

#ifdef __cplusplus
}
#endif

#endif /* MMRT_NOTIFIER_H */
