/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_PMD_SWDMA_H
#define MMRT_PMD_SWDMA_H

/**
 * @file
 * swdma: a software DMA engine that behaves like a NIC's DMA block
 * (docs/architecture.md section 5). It runs on its own lcore
 * (swdma_start()) or is stepped by the application
 * (swdma_run(), e.g. from a DPDK service), and takes descriptors in the shape of DPDK's dmadev (copy,
 * fill, submit, completed, completed_status, burst capacity) whose
 * addresses are virtual addresses of the address space it is bound to.
 *
 * The engine translates through its lib/dev consumer: device TLB, then
 * lockless walk; a miss that needs no wait is resolved in place. An
 * operation that faults on a page that a uffd serves, or that needs the
 * fault path (copy-on-write), is parked: the engine keeps polling
 * (acking invalidations) and resumes it, in order with the operations
 * behind it, once the page is there. A fault that cannot be resolved
 * completes the operation with an error status: RTE_DMA_STATUS_PAGE_FAULT
 * (no region, a uffd in SIGBUS mode, or still unresolved at the park
 * timeout),
 * RTE_DMA_STATUS_INVALID_SRC_ADDR / _INVALID_DST_ADDR (the region forbids
 * the access), RTE_DMA_STATUS_DATA_POISION (poisoned page),
 * RTE_DMA_STATUS_BUS_ERROR (the engine was fenced or unbound).
 *
 * What a failed operation wrote: the engine parks or stops an operation
 * only at its start or where its destination enters a new 4 KiB page, and
 * translates all the source a destination page needs before it writes a
 * byte of that page. So an operation that fails at offset o (the first
 * byte whose source or destination could not be translated, at once or
 * after a park, even if its destination changed meanwhile, e.g. was made
 * read-only) has written exactly the bytes of its destination before the
 * 4 KiB destination page that holds byte o (none when that is its first
 * page), and no byte of that page or after it. A parked operation, too,
 * has written a prefix of its destination that ends at a page boundary.
 * Nothing is written outside its target.
 *
 * Invalidations: the engine executes each operation to completion (or to
 * its park point) and acks invalidations only between operations (every
 * few operations within a step, and between steps), so an ack never
 * precedes the end of an access through a dropped translation.
 *
 * Descriptors move in bulk: one shared array indexed by free-running
 * counters (no ring operation per descriptor), a release store per submit
 * and one per engine step.
 *
 * Threading: one submitter thread per engine calls copy, fill, submit,
 * completed, completed_status and burst_capacity (as dmadev's one caller
 * per vchan); the engine runs on one lcore. Control calls (create,
 * destroy, bind, unbind, start, stop) come from one control thread while
 * the engine is stopped, except stop.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_dmadev.h>

#include <mmrt_dev.h>
#include <mmrt_mm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SWDMA_NAME_SIZE 32
#define SWDMA_NB_DESC_DEFAULT 1024
#define SWDMA_NB_DESC_MIN 32
#define SWDMA_NB_DESC_MAX 8192
#define SWDMA_BURST_DEFAULT 32
#define SWDMA_PARK_TIMEOUT_US_DEFAULT 1000000
#define SWDMA_BACKOFF_MAX_US_DEFAULT 50
/** Segments per side of a scatter-gather copy (swdma_copy_sg()). */
#define SWDMA_MAX_SGES 16

/** What the engine does when it finds no work. */
enum swdma_idle {
	SWDMA_IDLE_PAUSE = 0, /**< rte_pause() between empty polls. */
	SWDMA_IDLE_SPIN,      /**< Spin without pausing. */
	/** Sleep, doubling from 1 us up to backoff_max_us, offline for QSBR
	 * meanwhile: added latency is bounded by backoff_max_us. */
	SWDMA_IDLE_BACKOFF,
};

/** Configuration; a zero field takes its default. */
struct swdma_conf {
	/** Unique name (1..SWDMA_NAME_SIZE-1 chars); NULL: made up. */
	const char *name;
	/** Descriptor slots, a power of 2 in 32..8192 (default 1024); at
	 * most nb_desc - 1 operations are outstanding. */
	uint16_t nb_desc;
	/** Operations the engine starts per step (default 32). */
	uint16_t burst;
	enum swdma_idle idle;      /**< Default PAUSE. */
	uint32_t backoff_max_us;        /**< BACKOFF ceiling (default 50);
					 * must be under the ack deadline. */
	/** How long an operation stays parked on one page before it
	 * completes with RTE_DMA_STATUS_PAGE_FAULT (default 1 s). */
	uint64_t park_timeout_us;
	/** The engine's consumer: device TLB geometry, ring size, ack
	 * deadline (its name is ignored: the engine's is used). */
	struct mmrt_consumer_conf consumer;
	/** Called on the engine's thread (inside its step, a QSBR reader)
	 * with @p park_notify_arg each time an operation parks on a new
	 * page, after any page request for it was posted: lets a sleeping
	 * page-request server wake at once. Must be short and must not
	 * wait (one write() to an eventfd is fine). NULL: none. */
	void (*park_notify)(void *arg);
	/** The argument of @p park_notify. */
	void *park_notify_arg;
	/**
	 * Translation look-ahead (pmd_walk.h): after a device-TLB miss on a
	 * 4 KiB page, translate the next 16 pages (up to 256 KiB of
	 * contiguous frames) in one walk that never faults, and serve them
	 * from the engine's own lines. Streams through fresh pages then cost
	 * one walk per 16 pages instead of a device-TLB lookup per page; the
	 * pages past the 16 the TLB prefetches on the same miss are not
	 * cached in the device TLB. Off when false here (the engine's own
	 * default); dma_mmrt turns it on unless given lookahead=0.
	 */
	bool lookahead;
};

/** Engine statistics (a snapshot; counters only grow). */
struct swdma_stats {
	uint64_t submitted;     /**< Operations submitted. */
	uint64_t completed;     /**< Operations completed (any status). */
	uint64_t errors;        /**< ... of which with an error status. */
	uint64_t page_faults;   /**< ... of which RTE_DMA_STATUS_PAGE_FAULT. */
	uint64_t bytes;         /**< Bytes copied or filled. */
	uint64_t parks;         /**< Times an operation parked on a page. */
	uint64_t resumes;       /**< Parked operations that went on. */
	uint64_t steps;         /**< Engine steps with work. */
	uint64_t idle_polls;    /**< Engine steps without work. */
	struct mmrt_consumer_stats consumer; /**< The consumer's counters
					      * (invalidations, acks, fences,
					      * TLB, page requests). */
};

struct swdma;

/**
 * Create an engine (stopped, unbound).
 *
 * @return the engine, or NULL with rte_errno: EINVAL (bad @p conf),
 *   EEXIST (name taken), ENOMEM. May wait. Not from a callback.
 */
struct swdma *swdma_create(const struct swdma_conf *conf);

/**
 * Stop (if started), unbind and free an engine. Outstanding operations
 * are dropped.
 *
 * A handle is a pointer, with no generation: destroying (or using) it
 * again is detected (-EINVAL) only until the next swdma_create(),
 * which may reuse the freed engine's memory and so return the same
 * pointer. Then the stale handle names the new engine: after
 * x = create(); destroy(x); y = create(), destroy(x) may destroy y. Do
 * not use a handle after its destroy.
 *
 * @return 0, -EINVAL (NULL or not live). May wait.
 */
int swdma_destroy(struct swdma *dma);

/**
 * Free the memory of an engine whose process died (its ring, its
 * scatter-gather lists and the engine itself, all rte_malloc memory),
 * from another process of the runtime. Nothing else is touched: not its
 * consumer (mmrt_reap_dead() reclaims that), not the dead process's
 * engine registry, and no callback it was given. The caller makes sure
 * that the dead process's engine was the one that ran it, and that no
 * other thread uses @p dma any more (see dma_mmrt's reclaim).
 *
 * @param submitted
 *   If not NULL: the operations submitted to it over its life.
 * @return 0, -EINVAL (NULL or not live). Never waits.
 */
int swdma_free_dead(struct swdma *dma, uint64_t *submitted);

/**
 * Bind the engine's consumer to @p as (stopped engine only).
 *
 * @return the binding id (> 0, like a PASID), -EINVAL, -EBUSY (started or
 *   already bound), or the errors of mmrt_consumer_bind(). May wait.
 */
int swdma_bind(struct swdma *dma, struct mmrt_as *as);

/**
 * Unbind (stopped engine only). Every operation not finished yet (also
 * those only enqueued) completes with RTE_DMA_STATUS_BUS_ERROR: none runs
 * against a space bound later.
 *
 * @return 0, -EINVAL, -EBUSY (started), -ENOTCONN (not bound). May wait.
 */
int swdma_unbind(struct swdma *dma);

/**
 * Launch the engine loop on worker lcore @p lcore_id (rte_eal_remote_launch;
 * the loop registers with the QSBR domain).
 *
 * @return 0, -EINVAL (not live, bad or busy lcore, the calling lcore),
 *   -EBUSY (already started), -ENOTCONN (not bound). Does not wait.
 */
int swdma_start(struct swdma *dma, unsigned int lcore_id);

/**
 * Stop the engine loop and wait for its lcore. Parked and unstarted
 * operations stay outstanding (start again to go on).
 *
 * @return 0, -EINVAL, -EALREADY (not started). May wait.
 */
int swdma_stop(struct swdma *dma);

/**
 * One engine step, for applications that drive the engine themselves
 * (their own loop, or an rte_service): poll the consumer (ack
 * invalidations), then run up to conf.burst operations. The calling thread
 * must be a registered online poller (mmrt_thread_register()), and always
 * the same one.
 *
 * @return operations completed in this step (>= 0), -EINVAL, -EBUSY (the
 *   engine was started on an lcore), -EPERM (not a registered online
 *   poller). Never waits.
 */
int swdma_run(struct swdma *dma);

/**
 * Enqueue a copy of @p len bytes from @p src to @p dst (virtual addresses
 * of the bound space, any alignment; the ranges must not overlap).
 *
 * @param flags RTE_DMA_OP_FLAG_SUBMIT rings the doorbell with it;
 *   RTE_DMA_OP_FLAG_FENCE and _LLC are accepted (operations run in order
 *   anyway).
 * @return the operation's ring index (0..65535, wrapping), -ENOSPC (no
 *   free slot), -EINVAL (NULL, len 0, an address at or past
 *   MMRT_VA_LIMIT, a range past it, overlapping ranges, unknown flags). Submitter only.
 *   Never waits.
 */
int swdma_copy(struct swdma *dma, uint64_t src, uint64_t dst,
	uint32_t len, uint64_t flags);

/**
 * Enqueue a fill of @p len bytes at @p dst with the 8-byte @p pattern
 * (byte i of the target gets byte (i % 8) of the pattern, little-endian,
 * as dmadev's fill). Returns and errors as swdma_copy().
 */
int swdma_fill(struct swdma *dma, uint64_t pattern, uint64_t dst,
	uint32_t len, uint64_t flags);

/**
 * Enqueue a scatter-gather copy: the concatenation of the @p nb_src
 * source segments is copied to the concatenation of the @p nb_dst
 * destination segments (as rte_dma_copy_sg()). Both sides must add up to
 * the same total, at most UINT32_MAX bytes; no source segment may overlap
 * a destination segment.
 *
 * It runs as a sequence of chunks, each the overlap of one source and one
 * destination segment, and parks or fails only at the start of a chunk or
 * where a chunk's destination enters a new 4 KiB page: a failed one has
 * written exactly the destination bytes before that point (in segment
 * order), none at or after it.
 *
 * @param nb_src, nb_dst 1..SWDMA_MAX_SGES each.
 * @return the operation's ring index (0..65535, wrapping), -ENOSPC,
 *   -EINVAL (NULL lists, a count out of range, an empty or invalid
 *   segment, totals that differ or exceed UINT32_MAX, an overlap, unknown
 *   flags). The lists are copied: the caller may reuse them at once.
 *   Submitter only. Never waits.
 */
int swdma_copy_sg(struct swdma *dma, const struct rte_dma_sge *src,
	const struct rte_dma_sge *dst, uint16_t nb_src, uint16_t nb_dst,
	uint64_t flags);

/**
 * Ring the doorbell: the engine may start every operation enqueued so far.
 *
 * @return 0, -EINVAL. Submitter only. Never waits.
 */
int swdma_submit(struct swdma *dma);

/**
 * Report up to @p nb_cpls completed operations, in order, stopping before
 * the first one that failed (as rte_dma_completed()): that one and the
 * ones after it are left for swdma_completed_status().
 *
 * @param last_idx out (if not NULL): ring index of the last one reported.
 * @param has_error out (if not NULL): an error stopped the report.
 * @return the number reported. Submitter only. Never waits.
 */
uint16_t swdma_completed(struct swdma *dma, uint16_t nb_cpls,
	uint16_t *last_idx, bool *has_error);

/**
 * Report up to @p nb_cpls completed operations, in order, with the status
 * of each (RTE_DMA_STATUS_SUCCESSFUL or an error, see the file comment).
 *
 * @return the number reported (and statuses written). Submitter only.
 *   Never waits.
 */
uint16_t swdma_completed_status(struct swdma *dma,
	uint16_t nb_cpls, uint16_t *last_idx,
	enum rte_dma_status_code *status);

/** What an operation was asked to do (swdma_op_get()). */
struct swdma_op {
	uint64_t src;     /**< copy: the source; fill: the pattern; sg: the
			   * first source segment */
	uint64_t dst;     /**< the destination (sg: its first segment) */
	uint32_t len;     /**< bytes (sg: the total) */
	bool fill;        /**< a fill */
	uint8_t nb_src;   /**< sg: segments per side; 0: not an sg copy */
	uint8_t nb_dst;
};

/**
 * What operation @p idx was asked to do, read from its ring slot: for a
 * report of a failed one, without a copy of every descriptor kept on the
 * side. @p idx is an index copy, fill or copy_sg returned that completed
 * (or completed_status) has reported, and no operation was enqueued
 * since (the next enqueue may reuse its slot).
 *
 * @return 0, -EINVAL (NULL, not live). Submitter only. Never waits.
 */
int swdma_op_get(const struct swdma *dma, uint16_t idx, struct swdma_op *op);

/**
 * @return the number of operations that can be enqueued now. Submitter
 *   only. Never waits.
 */
uint16_t swdma_burst_capacity(const struct swdma *dma);

/**
 * Counters (a snapshot). @return 0, -EINVAL. Thread-safe. Never waits.
 */
int swdma_stats(struct swdma *dma, struct swdma_stats *st);

/**
 * @return the name of a live engine (valid while it lives), NULL for NULL
 *   or an engine that is not live. Any thread. Never waits.
 */
const char *swdma_name(const struct swdma *dma);

/**
 * Call @p cb on every live engine, in creation order, until it returns
 * non-zero.
 *
 * The walk holds the engine registry's spinlock across the callbacks: no
 * engine is created or destroyed meanwhile (those calls spin until the
 * walk returns), so the engine passed to @p cb, and its consumer, stay
 * valid until @p cb returns (not after). @p cb must be short and must not
 * wait; it may call swdma_name(), swdma_stats() and the
 * read-only consumer calls on swdma_consumer(), and must not call
 * swdma_create(), swdma_destroy() or swdma_foreach().
 *
 * @return 0, the first non-zero value of @p cb, -EINVAL (@p cb NULL).
 *   Any thread. Spins only for the registry lock and for what @p cb does.
 */
int swdma_foreach(int (*cb)(struct swdma *dma, void *arg),
	void *arg);

/**
 * The engine's consumer, to serve its page requests (copy-on-write) from a
 * thread that may wait: mmrt_consumer_page_requests() then mmrt_fault().
 *
 * @return the consumer, or NULL for a bad @p dma. Never waits.
 */
struct mmrt_consumer *swdma_consumer(struct swdma *dma);

/**
 * Serve up to @p max of the engine's page requests with mmrt_fault() and
 * MMRT_ACCESS_NOWAIT (a request for a page a uffd serves is posted, not
 * waited for, so the uffd's resolver may call it too). It may wait for the
 * map lock: never call it from the engine's lcore.
 *
 * @return requests served (>= 0), or -EINVAL. May wait.
 */
int swdma_serve_faults(struct swdma *dma, unsigned int max);

#ifdef __cplusplus
}
#endif

#endif /* MMRT_PMD_SWDMA_H */
