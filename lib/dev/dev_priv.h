/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef DEV_PRIV_H
#define DEV_PRIV_H

/*
 * lib/dev internals, shared by its four files (in dependency order):
 *   dev_tlb.c    the set-associative device TLB (owner thread, no locks)
 *   dev_inval.c  the invalidation protocol: mailbox and ring, acks, the
 *                owner's poll (uses dev_tlb.c)
 *   dev_prq.c    the miss path: walk, fault probe, page requests (uses
 *                dev_tlb.c)
 *   consumer.c   the registry, bind/unbind, fence, quarantine, stats
 *                (uses all three; dev_inval.c calls back into it for the
 *                fence and the quarantine)
 * Not installed. Every function here is hidden (DEV_INTERNAL): only the
 * API of mmrt_dev.h is exported.
 */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <rte_common.h>
#include <rte_log.h>
#include <rte_ring.h>
#include <rte_spinlock.h>

#include "core_namelist.h"
#include "mm_locking.h"
#include "mmrt_dev.h"

#define DEV_INTERNAL __attribute__((visibility("hidden")))

extern int mmrt_logtype_dev DEV_INTERNAL;

#define DEV_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, mmrt_logtype_dev, \
		"mmrt_dev: " fmt "\n", ##__VA_ARGS__)

#define CONSUMER_MAGIC 0x6d6d6463u /* "mmdc" */
#define CONSUMER_ID_MAX (1u << 20) /* PASID width */
#define POLL_BURST 32

/* An invalidation descriptor (also the mailbox: seq is stored last). */
struct inval_desc {
	uint64_t start;
	uint64_t end;
	uint64_t seq;
};

/* A page request. */
struct page_req {
	uint64_t va;
	uint64_t access;
};

/*
 * Lines by writer, so that a round trip moves only the mailbox and the
 * ack: read-mostly (core, config, owner), invalidators (inv_lock and what
 * it protects), the mailbox, the ack, then the owner's own.
 */
struct mmrt_consumer {
	struct mmrt_consumer_core core;  /* must be first */
	char name[MMRT_CONSUMER_NAME_SIZE];
	struct core_namelist_node next;  /* registry, under consumers_lock */
	int32_t pid;                     /* the process that made it */
	uint32_t sets;
	uint32_t ring_size;
	uint64_t deadline_cycles;
	uint8_t *victim;                 /* per set round-robin */
	struct rte_ring *inv_ring;       /* SP (under inv_lock) / SC */
	int owner;                       /* QSBR id of the owner, -1 unknown;
					  * stored only when it changes */

	/* invalidators (dev_inval.c) */
	rte_spinlock_t inv_lock __rte_cache_aligned;
	uint64_t post_seq;               /* under inv_lock */
	uint64_t box_posted;             /* under inv_lock: last seq boxed */
	uint64_t fences;

	struct inval_desc box __rte_cache_aligned; /* mailbox */
	uint64_t acked_seq __rte_cache_aligned; /* release store by owner */

	/* binding (bind/unbind/release, under bind_lock) */
	rte_spinlock_t bind_lock __rte_cache_aligned;
	struct mmrt_as *as;
	struct mmrt_as_core asc;         /* copy: the walk never reads *as */
	int id;
	struct mmrt_notifier nb;

	/*
	 * Quarantine. From the fence until the owner's next poll, the owner
	 * may still use translations it cached (its in-flight work): every
	 * frame the address space releases meanwhile is held here by a
	 * reference. States, by predicates:
	 *   open:     state == FENCED && !quar_closed: frames offered are held
	 *   closed:   quar_closed: the owner polled after the fence and
	 *             dropped its whole TLB, nothing more is held
	 * Transitions (under quar_lock):
	 *   open -> closed      the owner's poll: flush all, put every frame
	 *   any -> (empty)      unbind/destroy, after the notifier is gone
	 */
	rte_spinlock_t quar_lock;
	bool quar_closed;
	uint32_t *quar;                  /* pfns, one per reference held */
	uint64_t quar_n;
	uint64_t quar_cap;
	uint64_t quar_total;

	/* page requests (dev_prq.c) */
	struct rte_ring *pr_ring;        /* MP/MC */
	uint64_t *pr_pending;            /* ring_size slots: page|PENDING|acc */

	/*
	 * Owner-only: the last page this consumer posted to (or found
	 * pending at) a uffd (dev_prq.c). uf_page is page | 1 while the
	 * memo holds, 0 when it does not; uf_access the access posted;
	 * uf_tok the uffd's wake token; uf_skips the retries answered from
	 * the memo since the post.
	 */
	uint64_t uf_page;
	struct mmrt_fault_token uf_tok;
	uint32_t uf_access;
	uint32_t uf_skips;

	/*
	 * Owner-only hints of the device-TLB prefetch (dev_tlb.c): the page
	 * each of the last DEV_TLB_PF_STREAMS streams would miss next. Only
	 * a miss there prefetches, so random misses cost nothing more. A
	 * stale hint only starts a prefetch, which is always safe.
	 */
	uint64_t pf_expect[4];
	uint32_t pf_rr;

	/* owner-written, except fences */
	struct mmrt_consumer_stats st __rte_cache_aligned;
};

/* owner-written counters: single writer, readers load relaxed */
#define STAT_ADD(c, f, v) __atomic_store_n(&(c)->st.f, (c)->st.f + (v), \
	__ATOMIC_RELAXED)

/*
 * The registry's kind (consumer.c): where a consumer's link, name and
 * magic are. A constant in every file, so that consumer_live() compiles
 * to the one compare it was. Unnamed consumers are "consumer<N>".
 */
static const struct core_namelist_kind consumer_kind =
	CORE_NAMELIST_KIND_SHARED(struct mmrt_consumer, next, name, core.magic,
		CONSUMER_MAGIC, "consumer", MM_LC_CONSUMERS, "consumers_lock");

/* A live consumer: in the registry (magic set and cleared there). */
static inline bool
consumer_live(const struct mmrt_consumer *c)
{
	return core_namelist_live(&consumer_kind, c);
}

/*
 * The calling process's pid (set at the runtime's init and in a forked
 * child), so that the owner-only calls can refuse a consumer of another
 * process without a getpid() system call per poll.
 */
extern int32_t dev_self_pid DEV_INTERNAL;

/* Was @c (live) made by the calling process? */
static inline bool
consumer_local(const struct mmrt_consumer *c)
{
	return c->pid == dev_self_pid;
}

/* Remember the calling thread as the owner (a store only on a change). */
static inline void
consumer_set_owner(struct mmrt_consumer *c)
{
	int me = mmrt_thread_id();

	/* invalidators read it (relaxed: only "is it me?") */
	if (__atomic_load_n(&c->owner, __ATOMIC_RELAXED) != me)
		__atomic_store_n(&c->owner, me, __ATOMIC_RELAXED);
}

/* dev_tlb.c: the device TLB. Owner thread (or nobody else running). */

/* Entries of a TLB of @sets x @ways: 1 or 2 blocks (MMRT_DEV_TLB_BLOCK). */
static inline uint64_t
dev_tlb_slots(uint32_t sets, uint32_t ways)
{
	return (uint64_t)sets * RTE_ALIGN_CEIL(ways, MMRT_DEV_TLB_BLOCK);
}

DEV_INTERNAL unsigned int dev_tlb_flush_all(struct mmrt_consumer *c);
DEV_INTERNAL unsigned int dev_tlb_drop_range(struct mmrt_consumer *c,
	uint64_t start, uint64_t end);
DEV_INTERNAL uint64_t *dev_tlb_find(struct mmrt_consumer *c,
	uint64_t va, bool huge);
DEV_INTERNAL void dev_tlb_fill(struct mmrt_consumer *c, uint64_t va,
	const struct mmrt_xlate *x);

/*
 * Pages the miss path prefetches after a 4 KiB miss (dev_tlb_prefetch()):
 * at most this many, and fewer than the TLB's sets, so that a prefetch
 * never evicts the page that missed nor another page it installs.
 */
#define DEV_TLB_PREFETCH 16
#define DEV_TLB_PF_STREAMS 4 /* RTE_DIM(mmrt_consumer.pf_expect) */
DEV_INTERNAL unsigned int dev_tlb_prefetch(struct mmrt_consumer *c,
	uint64_t va, unsigned int s);

/*
 * The miss path's prefetch (dev_tlb.c): inline, so that a random miss
 * pays four compares and a store, not a call. @va: a 4 KiB leaf just
 * walked and filled.
 */
static inline void
dev_tlb_prefetch_miss(struct mmrt_consumer *c, uint64_t va)
{
	uint64_t page = va & ~(uint64_t)(MMRT_PAGE_SIZE - 1);
	unsigned int s;

	for (s = 0; s < DEV_TLB_PF_STREAMS; s++)
		if (c->pf_expect[s] == page) {
			dev_tlb_prefetch(c, va, s);
			return;
		}
	/* not a stream (yet): where it would go on */
	c->pf_expect[c->pf_rr++ % DEV_TLB_PF_STREAMS] = page + MMRT_PAGE_SIZE;
}

/* dev_inval.c: the invalidation protocol. */

/*
 * The notifier's two-phase secondary-TLB flush: post [start, end) and
 * return the seq to wait for (0: nothing to wait for: not bound, fenced
 * because the ring was full, or acked inline by the owner itself), then
 * wait for its ack (or fence at the deadline).
 */
DEV_INTERNAL uint64_t dev_inval_post(struct mmrt_consumer *c, uint64_t start,
	uint64_t end);
DEV_INTERNAL void dev_inval_wait(struct mmrt_consumer *c, uint64_t seq);
/* Process at most @max pending descriptors, oldest first, and ack. */
DEV_INTERNAL int dev_inval_process_n(struct mmrt_consumer *c,
	unsigned int max);

/* Process and ack every pending descriptor. */
static inline int
dev_inval_process(struct mmrt_consumer *c)
{
	return dev_inval_process_n(c, UINT_MAX);
}

/* dev_prq.c: page requests. */

/* Forget every queued and pending page request (unbind). */
DEV_INTERNAL void dev_prq_reset(struct mmrt_consumer *c);

/* consumer.c: what dev_inval.c calls back. */

/* Fence @c (inv_lock held or not: the CAS makes it once). */
DEV_INTERNAL void dev_fence(struct mmrt_consumer *c, const char *why);
/*
 * @c missed an ack deadline: fence it, and if its process died free that
 * process's QSBR reader slots (lock-free: the waiter may hold PT locks).
 */
DEV_INTERNAL void dev_fence_deadline(struct mmrt_consumer *c);
/* The owner's first poll after the fence: drop the TLB, close quarantine. */
DEV_INTERNAL void dev_quarantine_close(struct mmrt_consumer *c);

#endif /* DEV_PRIV_H */
