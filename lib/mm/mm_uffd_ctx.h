/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_UFFD_CTX_H
#define MM_UFFD_CTX_H

/*
 * The userfault context (uffd.c) as its page-table side (uffd_fill.c)
 * sees it: the object, its liveness and statistics, the wake of a range.
 * Included by those two files only; the protocol is described at the top
 * of uffd.c.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_lcore.h>
#include <rte_rwlock.h>

#include "mm_as.h"
#include "mmrt_uffd.h"

struct mmrt_as;
struct rte_memzone;
struct rte_ring;

/*
 * A cell of the fault queue (uffd.c): the message and its sequence in one
 * line, so that a post and the read of it move that line alone.
 */
struct uffd_cell {
	uint64_t seq;
	struct mmrt_uffd_msg msg;
} __rte_cache_aligned;

#define UFFD_MAGIC 0x6d6d7566u /* "mmuf" */

/*
 * Lines by writer. A userfault's round trip is a poster (a consumer or a
 * faulting thread) on one core and a handler (read, fill, wake) on
 * another, and every line one side writes and the other reads moves
 * between them (about half a cache-line ping-pong each). So: what both
 * only read first; then changing_lock, which every fill takes (read side)
 * and only layout changes also write; then the posters' line (their half
 * of the pending count, the sleeping waiters); then the clearers' half of
 * the pending count; then the statistics, whose first line the posters
 * write and whose second line the fills and wakes write
 * (struct mmrt_uffd_stats is in that order). The pending count is
 * npost - nclear: posters add to npost, every clear of a slot adds to
 * nclear, and neither side writes the other's line. The fault queue's
 * post position is on the posters' line, its read position on the
 * clearers' (the readers are the handlers, who clear). The messages
 * queued are npost - nundo (the claims a post undid), so a MISSING
 * fault counts itself with the npost increment alone; st.faults_missing
 * stays 0 and mmrt_uffd_stats() derives it.
 */
struct mmrt_uffd {
	uint32_t magic;
	uint32_t released;          /* the space is gone or the uffd dying */
	char name[MMRT_UFFD_NAME_SIZE]; /* unique among its space's uffds */
	struct mmrt_as *as;         /* NULL once the space is gone */
	struct mmrt_uffd *as_next;  /* the space's list (write map lock) */
	uint64_t features;
	uint32_t ring_size;
	uint64_t timeout_us;
	uint64_t timeout_cycles;
	struct uffd_cell *fq;       /* the fault queue (MP/MC, uffd.c) */
	uint32_t fq_mask;           /* its cells - 1 */
	const struct rte_memzone *fq_mz;
	struct rte_ring *events;    /* MP/MC */
	uint64_t *pend;             /* pending-fault slots */
	uint32_t pend_mask;
	/* the wake sequence: a slot of the shared wake table (uffd.c), which
	 * outlives every uffd, so a token (mmrt_fault_token) may read it
	 * after the uffd is gone */
	uint64_t *wake_seq;

	rte_rwlock_t changing_lock __rte_cache_aligned;
	uint32_t changing;          /* events queued, not read yet */

	/* posters */
	uint64_t npost __rte_cache_aligned; /* slots claimed, ever */
	uint64_t fq_head;           /* the next post's position */
	uint64_t nundo;             /* claims undone (no message queued) */
	/*
	 * Threads waiting on wake_seq, per process slot (the primary's is
	 * on this line): (pid << 32) | count, so that destroy can tell a
	 * count its dead process left raised (uffd.c, waiter_add()).
	 */
	uint64_t waiters[MMRT_PROC_MAX];

	/* clearers (wakes, a poster's undo, the reap) and readers */
	uint64_t nclear __rte_cache_aligned; /* slots cleared, ever */
	uint64_t fq_tail;           /* the next read's position */

	struct mmrt_uffd_stats st __rte_cache_aligned;

	/*
	 * Per-lcore shares of the two statistics every fill call adds to
	 * (ST_ADD_LC(), mm_lc_add()); mmrt_uffd_stats() adds them to st's.
	 */
	struct uffd_lcore {
		int64_t filled_pages;
		int64_t wakes;
	} __rte_cache_aligned lc[RTE_MAX_LCORE];
};

#define ST_ADD(u, f, n) __atomic_fetch_add(&(u)->st.f, (n), __ATOMIC_RELAXED)
/*
 * ST_ADD() for a counter with per-lcore shares: an lcore adds to its own
 * line with a load and a store (mm_lc_add(), mm_as.h), other threads
 * atomically to st's field.
 */
#define ST_ADD_LC(u, f, n) ST_ADD_ID(u, f, mm_lc_id(), n)
/* ST_ADD_LC() by the share index @id the caller looked up (mm_lc_id()) */
#define ST_ADD_ID(u, f, id, n) do { \
	unsigned int st_id_ = (id); \
	if (st_id_ < RTE_MAX_LCORE) \
		mm_lc_add(&(u)->lc[st_id_].f, (int64_t)(n)); \
	else \
		ST_ADD(u, f, n); \
} while (0)

static inline bool
uffd_live(const struct mmrt_uffd *u)
{
	return u != NULL && u->magic == UFFD_MAGIC;
}

/*
 * The space a live @u serves, or NULL once it is gone (destroyed, or the
 * uffd released by it): the callers' -ESRCH.
 */
static inline struct mmrt_as *
uffd_space(struct mmrt_uffd *u)
{
	struct mmrt_as *as = __atomic_load_n(&u->as, __ATOMIC_ACQUIRE);

	if (as == NULL || __atomic_load_n(&u->released, __ATOMIC_ACQUIRE))
		return NULL;
	return as;
}

#define UFFD_PROBE 8           /* slots probed per page (uffd.c) */

/* The first of the UFFD_PROBE pending slots of @page (uffd.c). */
static inline uint32_t
mm_uffd_pend_hash(const struct mmrt_uffd *u, uint64_t page)
{
	return (uint32_t)(mmrt_page_hash(page) >> 40) & u->pend_mask;
}

/*
 * Wake [start, end) of @u: pending faults there become idle and waiters
 * retry (after a fill published its entries, or on an explicit wake).
 */
void mm_uffd_wake(struct mmrt_uffd *u, uint64_t start, uint64_t end);
/* mm_uffd_wake() by a caller that looked up its share index @lc
 * (mm_lc_id()): a fill, once per call */
void mm_uffd_wake_lc(struct mmrt_uffd *u, uint64_t start, uint64_t end,
	unsigned int lc);

#endif /* MM_UFFD_CTX_H */
