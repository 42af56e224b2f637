/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The invalidation protocol of a consumer. The device TLB belongs to the
 * owner thread (translate and poll) and is never locked. Invalidators post
 * {start, end, seq} under inv_lock (seqs are consecutive, in post order),
 * then spin until acked_seq >= seq, or fence the consumer at the deadline.
 *
 * Where a descriptor goes. The mailbox is one cache line the owner reads
 * in every poll: a post writes it when the owner acked what it held
 * (acked_seq >= box_posted), else it goes to the rte_ring. With one
 * invalidation in flight (the common case) a round trip then moves two
 * lines, the mailbox and the ack, as a cache-line ping-pong does; the
 * ring's slot, head and tail lines only move when posts overlap.
 *
 * What the owner may ack. It acks a seq only when it processed every seq
 * up to it. The mailbox holds at most one unacked descriptor (it is not
 * rewritten before its ack), so the unacked seqs are the ring's entries
 * (in order) plus at most one, b, in the mailbox. A poll peeks the ring
 * first, then loads the mailbox (acquire, after the ring's acquire): any
 * seq below the last ring entry r it saw was posted before r, so it is in
 * the ring (seen) or is b, still in the mailbox and visible now. Hence the
 * entries seen, with b when b <= r + 1, are consecutive from acked + 1
 * (inval_pending()). When b > r + 1, the seqs between are ring entries
 * this peek did not reach (it stopped at its burst, or, on x86, read the
 * ring before the owner's last ack was visible to the poster that then
 * found the mailbox busy); b waits for the peek that reaches them.
 *
 * The barrier pairs, by label (grep the label to find both sides):
 *   B0  box.seq: release store in dev_inval_post(), after box.start and
 *       box.end / acquire load in inval_pending(): a poll that sees seq b
 *       in the mailbox sees b's range.
 *   B1  acked_seq: release store in dev_inval_process_n() / acquire load
 *       in dev_inval_post() before it rewrites the mailbox: the owner's
 *       reads of the range it acked are done before the range is
 *       rewritten ("not rewritten before its ack" above).
 *   B2  the acquire fence in inval_pending(), between the ring's peek and
 *       the load of box.seq / the release of the ring's producer tail in
 *       rte_ring_sp_enqueue_elem() in dev_inval_post(): every earlier seq
 *       was boxed (B0) before it, in inv_lock order. So a boxed seq below
 *       the last ring entry seen is seen ("visible now" above).
 *   A0  acked_seq: release store in dev_inval_process_n(), after the
 *       TLB drops / acquire load in dev_inval_wait(): invariant A,
 *       the drops are done before the invalidator frees or reuses what
 *       the range mapped.
 *
 * An invalidator waits by spinning, then sleeps between checks: on a
 * shared core the consumer it waits for may need that core to ack
 * (lib/core/core_wait.h says why not sched_yield()).
 */

#include <errno.h>
#include <limits.h>
#include <sched.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_ring_peek.h>
#include <rte_spinlock.h>

#include "mm_locking.h"
#include "dev_priv.h"
#include "dev_testhooks.h"

#define INVAL_SPINS 1024 /* pauses before a waiting invalidator sleeps */
#define INVAL_CHECK_EVERY 64 /* pauses between checks of state and clock */

#ifdef MMRT_TEST_HOOKS
struct dev_test_hooks dev_test_hooks;

static void
test_delay(uint64_t cycles)
{
	uint64_t end;

	if (cycles == 0)
		return;
	end = rte_get_timer_cycles() + cycles;
	while (rte_get_timer_cycles() < end)
		rte_pause();
}

/* The hooks' reads: the mailbox first is the negative control. */
static unsigned int
inval_read_test(struct mmrt_consumer *c, struct inval_desc *d, uint64_t *b)
{
	unsigned int n;

	if (dev_test_hooks.inval_box_first) {
		/* B0 (without B2: the broken order) */
		*b = __atomic_load_n(&c->box.seq, __ATOMIC_ACQUIRE);
		test_delay(dev_test_hooks.inval_poll_delay_cycles);
		return rte_ring_dequeue_burst_elem_start(c->inv_ring, d,
			sizeof(d[0]), POLL_BURST, NULL);
	}
	/* model: models/inval.pml [D.3a] */
	n = rte_ring_dequeue_burst_elem_start(c->inv_ring, d, sizeof(d[0]),
		POLL_BURST, NULL);
	test_delay(dev_test_hooks.inval_poll_delay_cycles);
	/* B2, as in inval_pending() */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	/* model: models/inval.pml [D.3b] */
	/* B0: pairs with B0 in dev_inval_post() */
	*b = __atomic_load_n(&c->box.seq, __ATOMIC_ACQUIRE);
	return n;
}
#endif

/* What inval_pending() found. */
struct inval_batch {
	struct inval_desc d[POLL_BURST + 1];
	unsigned int n;     /* entries in d */
	unsigned int nring; /* ... of which peeked from the ring */
	int boxpos;         /* index of the mailbox's entry, or -1 */
};

/*
 * The oldest descriptors after seq @p done (the last ack, or the last one
 * processed) in seq order, consecutive from @p done + 1 (see the top of
 * the file): up to POLL_BURST ring entries, peeked, with the mailbox's
 * entry put in its place. If bt->nring > 0 the caller must finish the
 * ring's dequeue (an empty start moved nothing: no finish, so an idle
 * poll stores nothing to the ring's lines). Owner thread only (the ring's
 * single consumer).
 */
static __rte_always_inline void
inval_pending(struct mmrt_consumer *c, uint64_t done, struct inval_batch *bt)
{
	struct inval_desc *d = bt->d;
	uint64_t b, r;
	unsigned int n, i;

	bt->boxpos = -1;
#ifdef MMRT_TEST_HOOKS
	n = inval_read_test(c, d, &b);
#else
	/* model: models/inval.pml [D.3a] */
	n = rte_ring_dequeue_burst_elem_start(c->inv_ring, d, sizeof(d[0]),
		POLL_BURST, NULL);
	/*
	 * B2: the mailbox after the ring's load of the producer tail (a plain
	 * load in the x86 ring, which the fence orders; free on x86): a
	 * boxed seq below the last ring entry is seen. Pairs with B2 in
	 * dev_inval_post().
	 */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	/* model: models/inval.pml [D.3b] */
	/* B0: pairs with B0 in dev_inval_post() */
	b = __atomic_load_n(&c->box.seq, __ATOMIC_ACQUIRE);
#endif
	bt->n = n;
	bt->nring = n;
	r = n > 0 ? d[n - 1].seq : done;
	if (b <= done || b > r + 1)
		return;
	for (i = n; i > 0 && d[i - 1].seq > b; i--)
		d[i] = d[i - 1];
	/* stable: the mailbox is not rewritten before b is acked (B1) */
	d[i].start = __atomic_load_n(&c->box.start, __ATOMIC_RELAXED);
	d[i].end = __atomic_load_n(&c->box.end, __ATOMIC_RELAXED);
	d[i].seq = b;
	bt->boxpos = (int)i;
	bt->n = n + 1;
}

/* model: models/inval.pml [D.3] */
int
dev_inval_process_n(struct mmrt_consumer *c, unsigned int max)
{
	unsigned int i, m, total = 0, dropped = 0, all = 0, boxed = 0;
	uint64_t last = __atomic_load_n(&c->acked_seq, __ATOMIC_RELAXED);
	struct inval_batch bt;
	bool box_taken;

	do {
		inval_pending(c, last, &bt);
		m = RTE_MIN(bt.n, max - total);
		for (i = 0; i < m; i++) {
			if (bt.d[i].start == 0 &&
					bt.d[i].end >= MMRT_VA_LIMIT) {
				dropped += dev_tlb_flush_all(c);
				all++;
			} else {
				dropped += dev_tlb_drop_range(c, bt.d[i].start,
					bt.d[i].end);
			}
			last = bt.d[i].seq;
		}
		box_taken = bt.boxpos >= 0 && (unsigned int)bt.boxpos < m;
		boxed += box_taken;
		if (bt.nring > 0)
			rte_ring_dequeue_elem_finish(c->inv_ring,
				m - box_taken);
		total += m;
	} while (bt.nring == POLL_BURST && m == bt.n && total < max);
	if (total == 0)
		return 0;
	/* the layout may have changed: the next miss probes (dev_prq.c) */
	c->uf_page = 0;
	/* what was kept outside the TLB is stale now (single writer) */
	__atomic_store_n(&c->core.inval_gen, c->core.inval_gen + 1,
		__ATOMIC_RELAXED);
	STAT_ADD(c, inval_descs, total);
	STAT_ADD(c, inval_mailbox, boxed);
	STAT_ADD(c, inval_flush_all, all);
	STAT_ADD(c, entries_dropped, dropped);
	STAT_ADD(c, acks, 1);
	/*
	 * A0: the drops above happen before an invalidator sees the ack;
	 * B1: so do the reads of the mailbox's range. Pairs with A0 and B1
	 * in dev_inval_post().
	 */
	/* model: models/inval.pml [D.3c] */
	__atomic_store_n(&c->acked_seq, last, __ATOMIC_RELEASE);
	return (int)total;
}

uint64_t
dev_inval_post(struct mmrt_consumer *c, uint64_t start, uint64_t end)
{
	struct inval_desc d;
	int me;

	if (__atomic_load_n(&c->core.state, __ATOMIC_ACQUIRE) !=
			MMRT_CONSUMER_BOUND)
		return 0;
	d.start = start;
	d.end = end;
	mm_spin_lock(&c->inv_lock, MM_LC_INV);
	d.seq = c->post_seq + 1;
	/*
	 * The mailbox if the owner acked what it holds, else the ring.
	 * B1: the ack's acquire; pairs with B1 in dev_inval_process_n().
	 * B2: the enqueue publishes its entry by a release of the ring's
	 * producer tail, after the box store (B0) of every earlier seq, in
	 * inv_lock order; pairs with B2 in inval_pending().
	 */
	if (__atomic_load_n(&c->acked_seq, __ATOMIC_ACQUIRE) >=
			c->box_posted) { /* B1 */
		/* the owner is done with the mailbox (it acked its seq) */
		__atomic_store_n(&c->box.start, start, __ATOMIC_RELAXED);
		__atomic_store_n(&c->box.end, end, __ATOMIC_RELAXED);
		/* B0: the range, then the seq; pairs with inval_pending() */
		__atomic_store_n(&c->box.seq, d.seq, __ATOMIC_RELEASE);
		c->box_posted = d.seq;
	} else if (rte_ring_sp_enqueue_elem(c->inv_ring, &d, /* B2 */
			sizeof(d)) != 0) {
		/* full: nothing posted, no seq used: seqs stay consecutive */
		mm_spin_unlock(&c->inv_lock, MM_LC_INV);
		dev_fence(c, "invalidation ring full");
		return 0;
	}
	c->post_seq = d.seq;
	mm_spin_unlock(&c->inv_lock, MM_LC_INV);

	/* the owner itself changes the page table: ack inline */
	me = mmrt_thread_id();
	if (me >= 0 && me == __atomic_load_n(&c->owner, __ATOMIC_RELAXED)) {
		dev_inval_process(c);
		return 0;
	}
	return d.seq;
}

/*
 * The second half: wait until the owner acked @seq (posted by
 * dev_inval_post()), or fence it at its deadline. When this returns the
 * consumer holds no translation of the posted range, or is fenced.
 */
void
dev_inval_wait(struct mmrt_consumer *c, uint64_t seq)
{
	uint64_t deadline = 0, now;
	unsigned int spins;

#ifdef MMRT_TEST_HOOKS
	if (dev_test_hooks.inval_no_wait)
		return; /* negative control: breaks invariant A (A0) */
#endif
	/*
	 * An ack lands, on average, half a spin before this sees it: keep
	 * the spin to the load and the pause. The state and the clock are
	 * checked every INVAL_CHECK_EVERY pauses only (every yield once it
	 * yields: a yield may take a time slice), and the clock is not read
	 * before the first check (most acks come sooner): the deadline
	 * (milliseconds to seconds) runs from there, some microseconds late.
	 */
	/* model: models/inval.pml [D.2] */
	/* A0: the owner's drops are done; pairs with dev_inval_process_n() */
	for (spins = 0; __atomic_load_n(&c->acked_seq, __ATOMIC_ACQUIRE) <
			seq; spins++) {
		if (spins % INVAL_CHECK_EVERY == INVAL_CHECK_EVERY - 1 ||
				spins >= INVAL_SPINS) {
			if (__atomic_load_n(&c->core.state,
					__ATOMIC_RELAXED) !=
					MMRT_CONSUMER_BOUND)
				return; /* fenced by another invalidator, or
					 * unbinding */
			now = rte_get_timer_cycles();
			if (deadline == 0) {
				deadline = now + c->deadline_cycles;
			} else if (now > deadline) {
				dev_fence_deadline(c);
				return;
			}
		}
		if (spins < INVAL_SPINS)
			rte_pause();
		else
			/* the consumer may need this core (core_wait.h) */
			rte_delay_us_sleep(1);
	}
}

int
mmrt_consumer_inval_peek(struct mmrt_consumer *c, uint64_t *start,
	uint64_t *end, unsigned int n)
{
	struct inval_batch bt;
	unsigned int k, i;

	if (!consumer_live(c) || start == NULL || end == NULL || n == 0)
		return -EINVAL;
	if (unlikely(!consumer_local(c)))
		return -EPERM;
	/* the SC side peeks: nothing is dequeued */
	inval_pending(c, __atomic_load_n(&c->acked_seq, __ATOMIC_RELAXED),
		&bt);
	if (bt.nring > 0)
		rte_ring_dequeue_elem_finish(c->inv_ring, 0);
	k = RTE_MIN(bt.n, n);
	for (i = 0; i < k; i++) {
		start[i] = bt.d[i].start;
		end[i] = bt.d[i].end;
	}
	return (int)k;
}

/*
 * Nothing to process: the ring is empty and the mailbox holds no seq
 * above the last ack. Owner only. It orders nothing because it acks
 * nothing: a post it misses is seen by the next poll (by the peek of
 * inval_pending(), with its B0/B2 pairs). An idle poll then costs a few
 * loads instead of a call that sets up a batch on the stack: a poll
 * loop's period is what an invalidation waits, on average half of it,
 * before the owner sees it.
 */
static __rte_always_inline bool
inval_idle(const struct mmrt_consumer *c)
{
#ifdef MMRT_TEST_HOOKS
	/*
	 * The read-order control breaks inval_pending(), which this check
	 * keeps out of most polls that could show it (those that find no
	 * work here and posts between the reads there): every poll peeks.
	 */
	if (dev_test_hooks.inval_box_first)
		return false;
#endif
	return rte_ring_empty(c->inv_ring) &&
		__atomic_load_n(&c->box.seq, __ATOMIC_RELAXED) <=
		__atomic_load_n(&c->acked_seq, __ATOMIC_RELAXED);
}

/*
 * The owner's poll, shared by the two entry points (one body: no call
 * through the PLT from one exported function to the other).
 */
static __rte_always_inline int
consumer_poll(struct mmrt_consumer *c, unsigned int max)
{
	int n;

	if (!consumer_live(c))
		return -EINVAL;
	/* another process's consumer: its TLB and rings are its owner's */
	if (unlikely(!consumer_local(c)))
		return -EPERM;
	consumer_set_owner(c);
	n = inval_idle(c) ? 0 : dev_inval_process_n(c, max);
	/* model: models/inval.pml [D.3] fence check, [D.8] */
	if (unlikely(__atomic_load_n(&c->core.state, __ATOMIC_ACQUIRE) ==
			MMRT_CONSUMER_FENCED && !c->quar_closed))
		dev_quarantine_close(c);
	/* model: models/gather.pml [G.11] */
	mmrt_quiescent();
	return n;
}

int
mmrt_consumer_poll(struct mmrt_consumer *c)
{
	return consumer_poll(c, UINT_MAX);
}

int
mmrt_consumer_poll_n(struct mmrt_consumer *c, unsigned int max)
{
	return consumer_poll(c, max);
}
