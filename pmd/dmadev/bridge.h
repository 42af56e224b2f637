/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_PMD_BRIDGE_H
#define MMRT_PMD_BRIDGE_H

/**
 * @file
 * The dmadev bridge (docs/architecture.md section 5): a real DPDK dmadev
 * (any with MEM_TO_MEM copy; dma_skeleton in the tests) behind the
 * contract of pmd/swdma, for copies (no fill). Operations take virtual addresses of the bound
 * address space; the bridge translates them through its lib/dev consumer,
 * splits them at page boundaries, submits the pieces to the device by
 * IOVA, and tracks them until the device completes them.
 *
 * Invalidations: the bridge acks (polls its consumer) only when no
 * operation in flight on the device uses a translation in a pending
 * invalidation's range; until then it stops feeding the device and waits
 * for those operations to complete. So a frame is never unmapped, freed
 * or reused while the device may still access it (invariant A), at the
 * cost of the device's completion latency in the invalidation round trip.
 *
 * Faults are handled as swdma does: an operation whose page is missing
 * (a uffd serves it, or the fault path must resolve it) is parked at the
 * start of the 4 KiB destination page that needs it (its pieces before
 * that page may already be on the device) and resumed there, in order
 * with the operations behind it; unresolvable faults complete with an
 * error status (RTE_DMA_STATUS_PAGE_FAULT, _INVALID_SRC_ADDR,
 * _INVALID_DST_ADDR, _DATA_POISION, _BUS_ERROR), as do pieces the device
 * fails (the device's status). An operation that fails at offset o (the
 * first byte whose source or destination could not be translated, at
 * once or after a park, even if its destination changed meanwhile) has
 * given the device exactly the bytes of its destination before the 4 KiB
 * destination page that holds byte o, and none of that page or after it
 * (as swdma.h says): the bridge translates all the source a
 * destination page needs, and waits until the device has room for every
 * piece that writes that page, before it gives the device any of them.
 *
 * Threading: like a dmadev vchan, one thread drives the bridge: it
 * enqueues, submits, runs bridge_run() and reaps completions; it
 * must be a registered online poller (mmrt_thread_register()). Control
 * calls come from the same thread; bridge_stats() from any thread.
 * The driving thread must not change the bound space (unmap, protect,
 * advise, ...) while operations are outstanding: it owns the consumer,
 * whose own invalidations are acked inline, so the hold above cannot
 * apply to them.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_dmadev.h>

#include <mmrt_dev.h>
#include <mmrt_mm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRIDGE_NAME_SIZE 32
#define BRIDGE_NB_DESC_DEFAULT 1024

/** Configuration; a zero field takes its default. */
struct bridge_conf {
	/** Unique name (1..BRIDGE_NAME_SIZE-1 chars); NULL: made up. */
	const char *name;
	/** The dmadev, configured by the bridge (one MEM_TO_MEM vchan) and
	 * started; it must be valid and not configured by anybody else. */
	int16_t dev_id;
	/** Bridge operation slots, a power of 2 in 32..8192 (default
	 * 1024); the device's ring gets as many (within its limits). */
	uint16_t nb_desc;
	/** How long an operation stays parked on one page before it
	 * completes with RTE_DMA_STATUS_PAGE_FAULT (default 1 s). */
	uint64_t park_timeout_us;
	/** The bridge's consumer (its name is ignored). */
	struct mmrt_consumer_conf consumer;
	/** As swdma_conf's: called by bridge_run() with @p
	 * park_notify_arg each time an operation parks on a new page, after
	 * any page request for it was posted. Short, never waits. NULL:
	 * none. */
	void (*park_notify)(void *arg);
	/** The argument of @p park_notify. */
	void *park_notify_arg;
};

/** Bridge statistics (a snapshot). */
struct bridge_stats {
	uint64_t submitted;     /**< Operations submitted. */
	uint64_t completed;     /**< Operations completed (any status). */
	uint64_t errors;        /**< ... with an error status. */
	uint64_t pieces;        /**< Page pieces given to the device. */
	uint64_t bytes;         /**< Bytes given to the device. */
	uint64_t parks;         /**< Times an operation parked on a page. */
	uint64_t acks_held;     /**< Runs that held an ack for in-flight
				 * operations in an invalidated range. */
	uint64_t inflight;      /**< Pieces on the device now. */
	struct mmrt_consumer_stats consumer; /**< The consumer's counters. */
};

struct bridge;

/**
 * Create a bridge over dmadev @p conf->dev_id: configure it with one
 * MEM_TO_MEM vchan and start it.
 *
 * @return the bridge, or NULL with rte_errno: EINVAL (bad conf, not a
 *   valid dmadev, no MEM_TO_MEM copy), EEXIST (name taken), ENOMEM, or
 *   the dmadev's error (e.g. EBUSY: already started). May wait.
 */
struct bridge *bridge_create(const struct bridge_conf *conf);

/**
 * Stop the device, unbind and free the bridge. Operations still on the
 * device are waited for (bounded by one second), the rest dropped.
 *
 * A handle is a pointer, with no generation: destroying (or using) it
 * again is detected (-EINVAL) only until the next bridge_create(),
 * which may reuse the freed bridge's memory and so return the same
 * pointer. Then the stale handle names the new bridge: after
 * x = create(); destroy(x); y = create(), destroy(x) may destroy y. Do
 * not use a handle after its destroy.
 *
 * @return 0, -EINVAL (NULL or not live). May wait.
 */
int bridge_destroy(struct bridge *b);

/**
 * Bind to @p as. @return the binding id (> 0), -EINVAL, -EBUSY (bound),
 *   or the errors of mmrt_consumer_bind(). May wait.
 */
int bridge_bind(struct bridge *b, struct mmrt_as *as);

/**
 * Unbind (nothing may be in flight). @return 0, -EINVAL, -EBUSY
 *   (operations outstanding), -ENOTCONN. May wait.
 */
int bridge_unbind(struct bridge *b);

/**
 * Enqueue a copy (virtual addresses of the bound space, non-overlapping).
 * Flags: RTE_DMA_OP_FLAG_SUBMIT, _FENCE, _LLC.
 *
 * @return the ring index (0..65535, wrapping), -ENOSPC, -EINVAL (as
 *   swdma_copy(), including overlapping ranges). Never waits.
 */
int bridge_copy(struct bridge *b, uint64_t src, uint64_t dst,
	uint32_t len, uint64_t flags);

/** Ring the doorbell. @return 0, -EINVAL. Never waits. */
int bridge_submit(struct bridge *b);

/**
 * One bridge step: reap the device's completions, ack invalidations when
 * nothing in flight is affected (else hold the ack), then translate and
 * give submitted operations to the device in order until it is full or an
 * operation parks.
 *
 * @return operations completed in this step, -EINVAL, -EPERM (not a
 *   registered online poller). Never waits.
 */
int bridge_run(struct bridge *b);

/** As swdma_completed(). Never waits. */
uint16_t bridge_completed(struct bridge *b, uint16_t nb_cpls,
	uint16_t *last_idx, bool *has_error);

/** As swdma_completed_status(). Never waits. */
uint16_t bridge_completed_status(struct bridge *b,
	uint16_t nb_cpls, uint16_t *last_idx,
	enum rte_dma_status_code *status);

/** @return the operations that can be enqueued now. Never waits. */
uint16_t bridge_burst_capacity(const struct bridge *b);

/** Counters. @return 0, -EINVAL. Never waits. */
int bridge_stats(struct bridge *b, struct bridge_stats *st);

/**
 * Serve up to @p max of the bridge's page requests with mmrt_fault() and
 * MMRT_ACCESS_NOWAIT, as swdma_serve_faults() (a request for a page
 * a uffd serves is posted, not waited for). It may wait for the map lock:
 * from a thread that may wait, not the driving thread while it must poll.
 *
 * @return requests served, -EINVAL. May wait.
 */
int bridge_serve_faults(struct bridge *b, unsigned int max);

#ifdef __cplusplus
}
#endif

#endif /* MMRT_PMD_BRIDGE_H */
