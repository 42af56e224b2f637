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
 * stopped). They are control-path calls and may wait: bind takes the
 * space's map lock (in mmrt_notifier_register()), which a thread changing
 * the page table holds while it waits for consumers' acks; unbind waits
 * for the invalidations in flight on the space, which may be waiting for
 * acks, and for a QSBR grace period. A thread that owns another consumer
 * bound to the same space, and must keep polling it, should not call
 * them: that consumer's acks would wait behind the call until their
 * deadline fences it.
 *
 * Processes: the registry is shared by every process of the runtime
 * (DPDK primary and secondaries), so mmrt_consumer_lookup() and
 * mmrt_consumer_foreach() also give consumers made in another process.
 * On those, the read-only calls work (mmrt_consumer_name(), _id(),
 * _pid(), _fenced(), _stats(): statistics and telemetry), and so do
 * mmrt_consumer_page_requests() and mmrt_consumer_serve_faults() (the
 * page-request ring and the space are shared memory). What belongs to
 * the owner thread fails with -EPERM before it touches the consumer:
 * bind, unbind, destroy, poll, poll_n, inval_peek, and the translate's
 * slow path. The inline hit path of mmrt_consumer_translate() does not
 * check (it would cost every hit a compare): never translate through a
 * consumer of another process. Its device TLB may hold host addresses
 * valid only in its process, and its acks are its owner's promise. A
 * consumer whose process died is reclaimed by mmrt_reap_dead().
 *
 * Handles: a consumer is a pointer, checked by a magic number. Calls on
 * a destroyed consumer return -EINVAL ("not live") only until its memory
 * is reused: a later mmrt_consumer_create() may return the same address,
 * and the stale handle then names the new consumer. Drop a handle when
 * you destroy it. Binding ids (mmrt_consumer_bind()) are handed out
 * round-robin, so a stale id names another binding only after about a
 * million binds.
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
#include <mmrt_dev_core.h>

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
				   * ack before fencing (default 10000),
				   * counted from its first check, a few
				   * microseconds after the post. */
};

/**
 * Consumer statistics (a snapshot; counters only grow). The consumer
 * updates them before it publishes an ack, so an invalidator that saw its
 * ack also sees statistics that count its descriptors.
 */
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

/** A consumer (opaque; its head is in mmrt_dev_core.h). */
struct mmrt_consumer;

/**
 * Create a consumer (unbound).
 *
 * @param conf
 *   Configuration, or NULL for every default.
 * @return the consumer, or NULL with rte_errno: EINVAL (bad field: sets
 *   or ring size not a power of 2, ways out of 1..8, name too long or
 *   empty), EEXIST (name taken), ENOMEM, ENODEV (runtime not up).
 *   Thread-safe. May wait (allocation).
 * Also in a DPDK secondary process: the registry (names, binding ids,
 * mmrt_consumer_foreach()) is shared by every process of the runtime,
 * and a consumer bound there receives the invalidations of every
 * process (its notifier is of kind MMRT_NOTIFIER_KIND_CONSUMER). Its
 * owner thread must belong to the process that made it; that
 * process's mmrt_fini() fails with -EBUSY while it lives.
 */
struct mmrt_consumer *mmrt_consumer_create(
	const struct mmrt_consumer_conf *conf);

/**
 * Find a live consumer by name, whichever process of the runtime made it.
 *
 * The consumer stays valid while it lives: a lookup takes no reference,
 * and a destroy (by its process, or mmrt_reap_dead() after that process
 * died) may free it at any time after the call returns; see "Handles"
 * above for stale pointers. On a consumer of another process only the
 * calls listed under "Processes" in the file comment work; the owner's
 * calls fail with -EPERM.
 *
 * @param name
 *   1..MMRT_CONSUMER_NAME_SIZE-1 characters.
 * @return the consumer, or NULL with rte_errno: EINVAL (@p name NULL,
 *   empty or too long), ENOENT (no live consumer has that name), ENODEV
 *   (the runtime is not up in this process). Any thread. Never waits
 *   beyond the registry's spinlock (held briefly by create, destroy and
 *   bind, and across an mmrt_consumer_foreach() walk).
 */
struct mmrt_consumer *mmrt_consumer_lookup(const char *name);

/**
 * @return the pid of the process that made @p c (> 0), -EINVAL (NULL or
 *   not live). With getpid() it tells the caller's own consumers from
 *   those of other processes. Any thread. Never waits.
 */
int mmrt_consumer_pid(const struct mmrt_consumer *c);

/**
 * Destroy a consumer, unbinding it first (see mmrt_consumer_unbind()).
 *
 * A second destroy of @p c is detected (-EINVAL) only until a later
 * mmrt_consumer_create() reuses its memory: after x = create; destroy(x);
 * y = create, y may be x, and destroy(x) then destroys y. Do not use
 * @p c after this call.
 *
 * @return 0, -EINVAL if @p c is NULL or not a live consumer (see above),
 *   -EPERM (@p c was made by another process: only its process destroys
 *   it, or mmrt_reap_dead() once that process died). Not concurrently with any other call on @p c. May wait (the unbind).
 */
int mmrt_consumer_destroy(struct mmrt_consumer *c);

/**
 * Bind @p c to the address space @p as: registers a legacy notifier
 * (secondary-TLB flush and release) on @p as, starts with an empty device
 * TLB and clears a previous fence.
 *
 * @return the binding id (> 0, like a PASID: unique among live
 *   bindings; ids go round-robin through 1..2^20-1, skipping live ones,
 *   so an id comes back only after about a million binds), -EINVAL (NULL
 *   or not live, or @p as is being destroyed), -EBUSY (already bound, or
 *   fenced and not yet unbound), -ENOSPC (no free id), -EPERM (@p c was
 *   made by another process). Not concurrently with translate/poll on @p c. May wait: it takes the map lock of
 *   @p as for writing (in mmrt_notifier_register()), which a thread that
 *   changes the page table holds while it waits for consumers' acks (a
 *   registered caller is taken offline meanwhile). So not from a poller
 *   that an invalidator of @p as may be waiting for: see the file comment.
 */
int mmrt_consumer_bind(struct mmrt_consumer *c, struct mmrt_as *as);

/**
 * Unbind @p c (a fenced binding is unbound too). Unregisters the notifier,
 * which waits for every invalidation in flight on the binding (they stop
 * waiting for this consumer's ack once it is unbinding), then empties the
 * device TLB and the rings.
 *
 * @return 0, -EINVAL (NULL or not live), -ENOTCONN (not bound, or the
 *   address space was destroyed, which released the binding), -EPERM
 *   (@p c was made by another process). Not concurrently with translate/poll on @p c. May wait (in
 *   mmrt_notifier_unregister(): for the invalidations in flight on the
 *   space, which may wait for other consumers' acks, and for a grace
 *   period; a registered caller is taken offline meanwhile): not from a
 *   poller that an invalidator of the space may be waiting for, as for
 *   mmrt_consumer_bind().
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
 *   poller, or (from the slow path) @p c was made by another process,
 *   whose consumers must never be translated through (see the file
 *   comment); -EINVAL: NULL argument, not live, @p va >= MMRT_VA_LIMIT
 *   or unknown @p access bits. Owner thread only. Never waits.
 */
static inline int
mmrt_consumer_translate(struct mmrt_consumer *c, uint64_t va, uint32_t access,
	struct mmrt_xlate *out)
{
	return mmrt_dev_translate(c, va, access, out);
}

/**
 * Drain up to @p n pending page requests: @p va[i] is the page (4 KiB
 * aligned) and @p access[i] the MMRT_ACCESS_* bits wanted. Resolve them
 * with mmrt_fault(); the owner then retries its translation.
 *
 * @return the number drained (0..n), -EINVAL (NULL argument, not live).
 *   Any thread. Never waits: no lock (callers draining the same consumer
 *   at once may spin briefly behind one another in the multi-consumer
 *   rte_ring dequeue, as on any MC ring).
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
 * @return descriptors processed, -EINVAL, -EPERM (another process's
 *   consumer). Owner thread only. Never waits, as mmrt_consumer_poll().
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
 * @return the number of ranges (0: nothing pending), -EINVAL, -EPERM
 *   (another process's consumer). Owner thread only. Never waits.
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
 * @return descriptors processed (>= 0), -EINVAL (NULL, not live),
 *   -EPERM (@p c was made by another process: nothing is acked, it stays
 *   its owner's to poll). Owner thread only. Never waits, except that the first poll after a fence
 *   takes the consumer's quarantine lock, which an invalidator may hold
 *   while it grows the quarantine (an allocation).
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
 *   other threads may be slightly behind). Takes the consumer's
 *   quarantine lock, which an invalidator may hold while it grows a
 *   fenced consumer's quarantine (an allocation); waits for nothing else.
 */
int mmrt_consumer_stats(const struct mmrt_consumer *c,
	struct mmrt_consumer_stats *st);

/**
 * @return the name of a live consumer (valid while it lives), NULL for
 *   NULL or a consumer that is not live. Any thread. Never waits.
 */
const char *mmrt_consumer_name(const struct mmrt_consumer *c);

/**
 * Call @p cb on every live consumer, bound or not, in creation order,
 * until it returns non-zero.
 *
 * The walk holds the consumer registry's spinlock across the callbacks:
 * no consumer is created or destroyed meanwhile (those calls spin until
 * the walk returns), so the consumer passed to @p cb stays valid until
 * @p cb returns (not after). @p cb must be short and must not wait; it
 * may call mmrt_consumer_name(), mmrt_consumer_id(),
 * mmrt_consumer_fenced() and mmrt_consumer_stats(), and must not call
 * mmrt_consumer_create(), _destroy(), _bind(), _unbind() or
 * mmrt_consumer_foreach() (they would spin on the lock it holds), nor
 * translate or poll.
 *
 * @param cb called with a live consumer and @p arg; a non-zero return
 *   stops the walk and is returned.
 * @return 0, the first non-zero value of @p cb, -EINVAL (@p cb NULL).
 *   Any thread. Spins only for the registry lock (held by create,
 *   destroy and bind briefly) and for what @p cb does.
 */
int mmrt_consumer_foreach(int (*cb)(struct mmrt_consumer *c, void *arg),
	void *arg);

#ifdef __cplusplus
}
#endif

#endif /* MMRT_DEV_H */
