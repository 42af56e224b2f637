/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Device-TLB consumers. The device TLB belongs to the owner thread
 * (translate and poll) and is never locked. Invalidators post
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
 * An invalidator waits by spinning, then yields between checks: on a
 * shared core the consumer it waits for may need that core to ack.
 */

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_ring_peek.h>
#include <rte_spinlock.h>

#include "dev_testhooks.h"
#include "mmrt_dev.h"
#include "mmrt_uffd.h"

extern int mmrt_logtype_dev __attribute__((visibility("hidden")));
RTE_LOG_REGISTER(mmrt_logtype_dev, lib.mmrt.dev, NOTICE);

#define DEV_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, mmrt_logtype_dev, \
		"mmrt_dev: " fmt "\n", ##__VA_ARGS__)

#define CONSUMER_MAGIC 0x6d6d6463u /* "mmdc" */
#define CONSUMER_ID_MAX (1u << 20) /* PASID width */
#define PR_PENDING (UINT64_C(1) << 11)
#define POLL_BURST 32
#define INVAL_SPINS 1024 /* pauses before a waiting invalidator yields */

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
	TAILQ_ENTRY(mmrt_consumer) next;
	uint32_t sets;
	uint32_t ring_size;
	uint64_t deadline_cycles;
	uint8_t *victim;                 /* per set round-robin */
	struct rte_ring *inv_ring;       /* SP (under inv_lock) / SC */
	int owner;                       /* QSBR id of the owner, -1 unknown;
					  * stored only when it changes */

	/* invalidators */
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

	/* page requests */
	struct rte_ring *pr_ring;        /* MP/MC */
	uint64_t *pr_pending;            /* ring_size slots: page|PENDING|acc */

	/* owner-written, except fences */
	struct mmrt_consumer_stats st __rte_cache_aligned;
};

static TAILQ_HEAD(, mmrt_consumer) consumers =
	TAILQ_HEAD_INITIALIZER(consumers);
static rte_spinlock_t consumers_lock = RTE_SPINLOCK_INITIALIZER;
static uint32_t next_id = 1;
static uint32_t next_anon;

/* owner-written counters: single writer, readers load relaxed */
#define STAT_ADD(c, f, v) __atomic_store_n(&(c)->st.f, (c)->st.f + (v), \
	__ATOMIC_RELAXED)

static bool
consumer_live(const struct mmrt_consumer *c)
{
	return c != NULL && c->core.magic == CONSUMER_MAGIC;
}

static struct rte_ring *
ring_alloc(const char *pfx, const char *name, unsigned int esize,
	unsigned int count, unsigned int flags)
{
	char rname[RTE_RING_NAMESIZE];
	ssize_t sz = rte_ring_get_memsize_elem(esize, count);
	struct rte_ring *r;

	if (sz < 0)
		return NULL;
	r = rte_zmalloc(NULL, sz, RTE_CACHE_LINE_SIZE);
	if (r == NULL)
		return NULL;
	snprintf(rname, sizeof(rname), "%s%s", pfx, name);
	if (rte_ring_init(r, rname, count, flags) != 0) {
		rte_free(r);
		return NULL;
	}
	return r;
}

static struct mmrt_consumer *
consumer_find(const char *name)
{
	struct mmrt_consumer *c;

	TAILQ_FOREACH(c, &consumers, next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Entries of a TLB of @sets x @ways: 1 or 2 blocks (MMRT_DEV_TLB_BLOCK). */
static uint64_t
tlb_slots(uint32_t sets, uint32_t ways)
{
	return (uint64_t)sets * RTE_ALIGN_CEIL(ways, MMRT_DEV_TLB_BLOCK);
}

/* Way @way of set @set: block way / 4, slot way % 4 (see mmrt_dev.h). */
static inline struct mmrt_dev_tlbe *
tlb_way(const struct mmrt_consumer *c, uint32_t set, uint32_t way)
{
	return c->core.tlb + ((uint64_t)(way / MMRT_DEV_TLB_BLOCK) * c->sets +
		set) * MMRT_DEV_TLB_BLOCK + way % MMRT_DEV_TLB_BLOCK;
}

struct mmrt_consumer *
mmrt_consumer_create(const struct mmrt_consumer_conf *conf)
{
	struct mmrt_consumer_conf cf = { 0 };
	char name[MMRT_CONSUMER_NAME_SIZE];
	struct mmrt_consumer *c;
	size_t len;

	if (!mmrt_is_up()) {
		rte_errno = ENODEV;
		return NULL;
	}
	if (conf != NULL)
		cf = *conf;
	if (cf.tlb_sets == 0)
		cf.tlb_sets = MMRT_CONSUMER_TLB_SETS_DEFAULT;
	if (cf.tlb_ways == 0)
		cf.tlb_ways = MMRT_CONSUMER_TLB_WAYS_DEFAULT;
	if (cf.ring_size == 0)
		cf.ring_size = MMRT_CONSUMER_RING_SIZE_DEFAULT;
	if (cf.ack_deadline_us == 0)
		cf.ack_deadline_us = MMRT_CONSUMER_ACK_DEADLINE_US_DEFAULT;
	if (!rte_is_power_of_2(cf.tlb_sets) || cf.tlb_sets > (1u << 20) ||
			cf.tlb_ways > MMRT_CONSUMER_TLB_WAYS_MAX ||
			!rte_is_power_of_2(cf.ring_size) || cf.ring_size < 2 ||
			cf.ring_size > (1u << 20) ||
			cf.ack_deadline_us > UINT64_C(3600000000)) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (cf.name != NULL) {
		len = strnlen(cf.name, MMRT_CONSUMER_NAME_SIZE);
		if (len == 0 || len >= MMRT_CONSUMER_NAME_SIZE) {
			rte_errno = EINVAL;
			return NULL;
		}
	}

	c = rte_zmalloc("mmrt_consumer", sizeof(*c), RTE_CACHE_LINE_SIZE);
	if (c == NULL)
		goto nomem;
	c->sets = cf.tlb_sets;
	c->ring_size = cf.ring_size;
	c->core.set_mask = cf.tlb_sets - 1;
	c->core.blk_mask = (uint64_t)c->core.set_mask <<
		MMRT_DEV_TLB_BLOCK_SHIFT;
	c->core.ways = cf.tlb_ways;
	c->deadline_cycles = cf.ack_deadline_us * rte_get_timer_hz() /
		UINT64_C(1000000);
	c->owner = -1;
	rte_spinlock_init(&c->bind_lock);
	rte_spinlock_init(&c->inv_lock);
	rte_spinlock_init(&c->quar_lock);
	c->core.tlb = rte_zmalloc(NULL, sizeof(struct mmrt_dev_tlbe) *
		tlb_slots(cf.tlb_sets, cf.tlb_ways), RTE_CACHE_LINE_SIZE);
	c->victim = rte_zmalloc(NULL, cf.tlb_sets, 0);
	c->pr_pending = rte_zmalloc(NULL, sizeof(uint64_t) * cf.ring_size,
		RTE_CACHE_LINE_SIZE);
	c->inv_ring = ring_alloc("mmrti", cf.name != NULL ? cf.name : "",
		sizeof(struct inval_desc), cf.ring_size,
		RING_F_SP_ENQ | RING_F_SC_DEQ);
	c->pr_ring = ring_alloc("mmrtp", cf.name != NULL ? cf.name : "",
		sizeof(struct page_req), cf.ring_size, 0);
	if (c->core.tlb == NULL || c->victim == NULL ||
			c->pr_pending == NULL || c->inv_ring == NULL ||
			c->pr_ring == NULL)
		goto nomem;

	rte_spinlock_lock(&consumers_lock);
	if (cf.name == NULL) {
		do {
			snprintf(name, sizeof(name), "consumer%u", next_anon++);
		} while (consumer_find(name) != NULL);
	} else {
		snprintf(name, sizeof(name), "%s", cf.name);
		if (consumer_find(name) != NULL) {
			rte_spinlock_unlock(&consumers_lock);
			rte_errno = EEXIST;
			goto fail;
		}
	}
	memcpy(c->name, name, sizeof(name));
	c->core.magic = CONSUMER_MAGIC;
	TAILQ_INSERT_TAIL(&consumers, c, next);
	rte_spinlock_unlock(&consumers_lock);
	return c;

nomem:
	rte_errno = ENOMEM;
fail:
	if (c != NULL) {
		rte_free(c->core.tlb);
		rte_free(c->victim);
		rte_free(c->pr_pending);
		rte_free(c->inv_ring);
		rte_free(c->pr_ring);
		rte_free(c);
	}
	return NULL;
}

/* Drop every valid entry of the TLB (owner, or nobody else running). */
static unsigned int
tlb_flush_all(struct mmrt_consumer *c)
{
	uint64_t i, n = tlb_slots(c->sets, c->core.ways);
	unsigned int dropped = 0;

	/* the slots past the ways are never filled: their tags stay 0 */
	for (i = 0; i < n; i++) {
		if (c->core.tlb[i].tag & MMRT_DEV_TLBE_V)
			dropped++;
		c->core.tlb[i].tag = 0;
	}
	return dropped;
}

/* Drop entries of one set that overlap [start, end). */
static unsigned int
tlb_drop_set(struct mmrt_consumer *c, uint32_t set, uint64_t start,
	uint64_t end)
{
	struct mmrt_dev_tlbe *e;
	unsigned int dropped = 0;
	uint64_t t, base, size;
	uint32_t i;

	for (i = 0; i < c->core.ways; i++) {
		e = tlb_way(c, set, i);
		t = e->tag;
		if (!(t & MMRT_DEV_TLBE_V))
			continue;
		size = (t & MMRT_DEV_TLBE_H) ? MMRT_HUGE_SIZE : MMRT_PAGE_SIZE;
		base = t & ~(MMRT_PAGE_SIZE - 1);
		if (base < end && start < base + size) {
			e->tag = 0;
			dropped++;
		}
	}
	return dropped;
}

/* Drop every entry overlapping [start, end). */
static unsigned int
tlb_drop_range(struct mmrt_consumer *c, uint64_t start, uint64_t end)
{
	unsigned int dropped = 0;
	uint64_t npages, va, hstart, hend;
	uint32_t s;

	npages = (end - start + MMRT_PAGE_SIZE - 1) >> MMRT_PAGE_SHIFT;
	hstart = start & ~(MMRT_HUGE_SIZE - 1);
	hend = RTE_ALIGN_CEIL(end, MMRT_HUGE_SIZE);
	if (npages + ((hend - hstart) >> MMRT_HUGE_SHIFT) > c->sets) {
		for (s = 0; s < c->sets; s++)
			dropped += tlb_drop_set(c, s, start, end);
		return dropped;
	}
	/* small range: probe the 4 KiB sets of its pages and the 2 MiB sets */
	for (va = start & ~(MMRT_PAGE_SIZE - 1); va < end; va += MMRT_PAGE_SIZE)
		dropped += tlb_drop_set(c,
			(uint32_t)(va >> MMRT_PAGE_SHIFT) & c->core.set_mask,
			start, end);
	for (va = hstart; va < hend; va += MMRT_HUGE_SIZE)
		dropped += tlb_drop_set(c,
			(uint32_t)(va >> MMRT_HUGE_SHIFT) & c->core.set_mask,
			start, end);
	return dropped;
}

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
		*b = __atomic_load_n(&c->box.seq, __ATOMIC_ACQUIRE);
		test_delay(dev_test_hooks.inval_poll_delay_cycles);
		return rte_ring_dequeue_burst_elem_start(c->inv_ring, d,
			sizeof(d[0]), POLL_BURST, NULL);
	}
	n = rte_ring_dequeue_burst_elem_start(c->inv_ring, d, sizeof(d[0]),
		POLL_BURST, NULL);
	test_delay(dev_test_hooks.inval_poll_delay_cycles);
	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* as inval_pending() */
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
static void
inval_pending(struct mmrt_consumer *c, uint64_t done, struct inval_batch *bt)
{
	struct inval_desc *d = bt->d;
	uint64_t b, r;
	unsigned int n, i;

	bt->boxpos = -1;
#ifdef MMRT_TEST_HOOKS
	n = inval_read_test(c, d, &b);
#else
	n = rte_ring_dequeue_burst_elem_start(c->inv_ring, d, sizeof(d[0]),
		POLL_BURST, NULL);
	/*
	 * The mailbox after the ring's load of the producer tail (a plain
	 * load in the x86 ring, which the fence orders; free on x86): a
	 * boxed seq below the last ring entry is seen.
	 */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	b = __atomic_load_n(&c->box.seq, __ATOMIC_ACQUIRE);
#endif
	bt->n = n;
	bt->nring = n;
	r = n > 0 ? d[n - 1].seq : done;
	if (b <= done || b > r + 1)
		return;
	for (i = n; i > 0 && d[i - 1].seq > b; i--)
		d[i] = d[i - 1];
	/* stable: the mailbox is not rewritten before b is acked */
	d[i].start = __atomic_load_n(&c->box.start, __ATOMIC_RELAXED);
	d[i].end = __atomic_load_n(&c->box.end, __ATOMIC_RELAXED);
	d[i].seq = b;
	bt->boxpos = (int)i;
	bt->n = n + 1;
}

/* Process at most @p max pending descriptors, oldest first, and ack. */
static int
consumer_process_n(struct mmrt_consumer *c, unsigned int max)
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
				dropped += tlb_flush_all(c);
				all++;
			} else {
				dropped += tlb_drop_range(c, bt.d[i].start,
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
	STAT_ADD(c, inval_descs, total);
	STAT_ADD(c, inval_mailbox, boxed);
	STAT_ADD(c, inval_flush_all, all);
	STAT_ADD(c, entries_dropped, dropped);
	STAT_ADD(c, acks, 1);
	/* the drops above happen before an invalidator sees the ack */
	__atomic_store_n(&c->acked_seq, last, __ATOMIC_RELEASE);
	return (int)total;
}

static int
consumer_process(struct mmrt_consumer *c)
{
	return consumer_process_n(c, UINT_MAX);
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

/* Drop every quarantined reference (quar_lock held). */
static void
quarantine_put_all(struct mmrt_consumer *c)
{
	if (c->quar_n > 0)
		mmrt_frame_put_bulk(c->quar, (unsigned int)c->quar_n);
	c->quar_n = 0;
}

/*
 * The notifier's quarantine op: while fenced and not yet re-synchronised
 * by a poll, hold a reference on every frame the space releases. If the
 * list cannot grow, the reference is kept for good (the frame leaks, but
 * is never reused under the consumer).
 */
static void
consumer_quarantine(struct mmrt_notifier *sub, struct mmrt_as *as,
	const uint32_t *pfns, unsigned int n)
{
	struct mmrt_consumer *c = container_of(sub, struct mmrt_consumer, nb);
	unsigned int i;

	RTE_SET_USED(as);
	if (__atomic_load_n(&c->core.state, __ATOMIC_ACQUIRE) !=
			MMRT_CONSUMER_FENCED)
		return;
	rte_spinlock_lock(&c->quar_lock);
	if (c->quar_closed) {
		rte_spinlock_unlock(&c->quar_lock);
		return;
	}
	if (c->quar_n + n > c->quar_cap) {
		uint64_t cap = RTE_MAX(c->quar_cap * 2, c->quar_n + n + 512);
		uint32_t *q = rte_realloc(c->quar, cap * sizeof(uint32_t), 0);

		if (q != NULL) {
			c->quar = q;
			c->quar_cap = cap;
		}
	}
	for (i = 0; i < n; i++) {
		if (mmrt_frame_get(pfns[i]) != 0)
			continue;
		c->quar_total++;
		if (c->quar_n < c->quar_cap)
			c->quar[c->quar_n++] = pfns[i];
		else
			DEV_LOG(ERR, "consumer %s: quarantine full, frame %u "
				"kept out of the pool for good", c->name,
				pfns[i]);
	}
	rte_spinlock_unlock(&c->quar_lock);
}

int
mmrt_consumer_serve_faults(struct mmrt_consumer *c, unsigned int max)
{
	uint64_t va[POLL_BURST];
	uint32_t acc[POLL_BURST];
	unsigned int done = 0;
	struct mmrt_as *as;
	int n, i;

	if (!consumer_live(c))
		return -EINVAL;
	while (done < max) {
		rte_spinlock_lock(&c->bind_lock);
		as = c->as;
		rte_spinlock_unlock(&c->bind_lock);
		if (as == NULL)
			break;
		n = mmrt_consumer_page_requests(c, va, acc,
			RTE_MIN(max - done, (unsigned int)POLL_BURST));
		if (n <= 0)
			break;
		/*
		 * Errors are seen again by the consumer on its retry. NOWAIT:
		 * a request may be for a page a uffd serves (the probe found
		 * the map lock taken), and the caller may be its resolver.
		 */
		for (i = 0; i < n; i++)
			(void)mmrt_fault(as, va[i], (acc[i] == 0 ?
				MMRT_ACCESS_READ : acc[i]) |
				MMRT_ACCESS_NOWAIT);
		done += (unsigned int)n;
	}
	return (int)done;
}

int
mmrt_consumer_inval_peek(struct mmrt_consumer *c, uint64_t *start,
	uint64_t *end, unsigned int n)
{
	struct inval_batch bt;
	unsigned int k, i;

	if (!consumer_live(c) || start == NULL || end == NULL || n == 0)
		return -EINVAL;
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

int
mmrt_consumer_poll(struct mmrt_consumer *c)
{
	return mmrt_consumer_poll_n(c, UINT_MAX);
}

int
mmrt_consumer_poll_n(struct mmrt_consumer *c, unsigned int max)
{
	int n;

	if (!consumer_live(c))
		return -EINVAL;
	consumer_set_owner(c);
	n = consumer_process_n(c, max);
	if (unlikely(__atomic_load_n(&c->core.state, __ATOMIC_ACQUIRE) ==
			MMRT_CONSUMER_FENCED && !c->quar_closed)) {
		/*
		 * First poll since the fence: nothing in flight uses a cached
		 * translation any more (the poll contract), so drop them all
		 * and let the quarantined frames go.
		 */
		tlb_flush_all(c);
		rte_spinlock_lock(&c->quar_lock);
		c->quar_closed = true;
		quarantine_put_all(c);
		rte_spinlock_unlock(&c->quar_lock);
	}
	mmrt_quiescent();
	return n;
}

/* Fence @c (inv_lock held or not: the CAS makes it once). */
static void
consumer_fence(struct mmrt_consumer *c, const char *why)
{
	uint32_t st = MMRT_CONSUMER_BOUND;

	if (__atomic_compare_exchange_n(&c->core.state, &st,
			MMRT_CONSUMER_FENCED, false, __ATOMIC_ACQ_REL,
			__ATOMIC_RELAXED)) {
		__atomic_fetch_add(&c->fences, 1, __ATOMIC_RELAXED);
		DEV_LOG(WARNING, "consumer %s (id %d) fenced: %s", c->name,
			c->id, why);
	}
}

/* The legacy notifier's secondary-TLB flush: post and wait for the ack. */
static void
consumer_inval(struct mmrt_notifier *sub, struct mmrt_as *as,
	uint64_t start, uint64_t end)
{
	struct mmrt_consumer *c = container_of(sub, struct mmrt_consumer, nb);
	struct inval_desc d;
	uint64_t deadline;
	unsigned int spins;
	int me;

	RTE_SET_USED(as);
	if (__atomic_load_n(&c->core.state, __ATOMIC_ACQUIRE) !=
			MMRT_CONSUMER_BOUND)
		return;
	d.start = start;
	d.end = end;
	rte_spinlock_lock(&c->inv_lock);
	d.seq = c->post_seq + 1;
	if (__atomic_load_n(&c->acked_seq, __ATOMIC_ACQUIRE) >=
			c->box_posted) {
		/* the owner is done with the mailbox (it acked its seq) */
		__atomic_store_n(&c->box.start, start, __ATOMIC_RELAXED);
		__atomic_store_n(&c->box.end, end, __ATOMIC_RELAXED);
		__atomic_store_n(&c->box.seq, d.seq, __ATOMIC_RELEASE);
		c->box_posted = d.seq;
	} else if (rte_ring_sp_enqueue_elem(c->inv_ring, &d,
			sizeof(d)) != 0) {
		/* nothing posted, no seq used: the seqs stay consecutive */
		rte_spinlock_unlock(&c->inv_lock);
		consumer_fence(c, "invalidation ring full");
		return;
	}
	c->post_seq = d.seq;
	rte_spinlock_unlock(&c->inv_lock);

	/* the owner itself changes the page table: ack inline */
	me = mmrt_thread_id();
	if (me >= 0 && me == __atomic_load_n(&c->owner, __ATOMIC_RELAXED)) {
		consumer_process(c);
		return;
	}
#ifdef MMRT_TEST_HOOKS
	if (dev_test_hooks.inval_no_wait)
		return; /* negative control: breaks invariant A */
#endif
	deadline = rte_get_timer_cycles() + c->deadline_cycles;
	for (spins = 0; __atomic_load_n(&c->acked_seq, __ATOMIC_ACQUIRE) <
			d.seq; spins++) {
		if (__atomic_load_n(&c->core.state, __ATOMIC_RELAXED) !=
				MMRT_CONSUMER_BOUND)
			return; /* fenced by another invalidator, or unbinding */
		if (rte_get_timer_cycles() > deadline) {
			consumer_fence(c, "ack deadline missed");
			return;
		}
		if (spins < INVAL_SPINS)
			rte_pause();
		else
			sched_yield(); /* the consumer may need this core */
	}
}

/* Forget the binding (under bind_lock). */
static void
binding_clear(struct mmrt_consumer *c)
{
	__atomic_store_n(&c->core.state, MMRT_CONSUMER_UNBOUND,
		__ATOMIC_RELEASE);
	c->as = NULL;
	c->id = 0;
}

/* The space is destroyed, or the notifier unregistered. */
static void
consumer_release(struct mmrt_notifier *sub, struct mmrt_as *as)
{
	struct mmrt_consumer *c = container_of(sub, struct mmrt_consumer, nb);

	RTE_SET_USED(as);
	rte_spinlock_lock(&c->bind_lock);
	binding_clear(c);
	rte_spinlock_unlock(&c->bind_lock);
}

static const struct mmrt_notifier_ops consumer_nb_ops = {
	.invalidate_secondary_tlbs = consumer_inval,
	.release = consumer_release,
	.quarantine = consumer_quarantine,
};

static bool
id_in_use(uint32_t id)
{
	struct mmrt_consumer *c;

	TAILQ_FOREACH(c, &consumers, next)
		if (c->id == (int)id)
			return true;
	return false;
}

int
mmrt_consumer_bind(struct mmrt_consumer *c, struct mmrt_as *as)
{
	const struct mmrt_as_core *asc = (const struct mmrt_as_core *)as;
	uint32_t id, tries;
	int ret;

	if (!consumer_live(c) || as == NULL || asc->magic != MMRT_AS_MAGIC)
		return -EINVAL;
	rte_spinlock_lock(&c->bind_lock);
	if (c->as != NULL) {
		rte_spinlock_unlock(&c->bind_lock);
		return -EBUSY;
	}
	rte_spinlock_lock(&consumers_lock);
	for (tries = 0; tries < CONSUMER_ID_MAX; tries++) {
		id = next_id;
		next_id = next_id + 1 < CONSUMER_ID_MAX ? next_id + 1 : 1;
		if (!id_in_use(id))
			break;
	}
	if (tries == CONSUMER_ID_MAX) {
		rte_spinlock_unlock(&consumers_lock);
		rte_spinlock_unlock(&c->bind_lock);
		return -ENOSPC;
	}
	c->id = (int)id;
	rte_spinlock_unlock(&consumers_lock);

	tlb_flush_all(c);
	consumer_process(c); /* stale descriptors of an earlier binding */
	c->as = as;
	c->asc = *asc;
	memset(&c->nb, 0, sizeof(c->nb));
	c->nb.ops = &consumer_nb_ops;
	__atomic_store_n(&c->core.state, MMRT_CONSUMER_BOUND, __ATOMIC_RELEASE);
	rte_spinlock_unlock(&c->bind_lock);

	/* not under bind_lock: release may run from here on */
	ret = mmrt_notifier_register(&c->nb, as);
	if (ret != 0) {
		rte_spinlock_lock(&c->bind_lock);
		binding_clear(c);
		rte_spinlock_unlock(&c->bind_lock);
		return ret == -EEXIST ? -EBUSY : ret;
	}
	return (int)id;
}

int
mmrt_consumer_unbind(struct mmrt_consumer *c)
{
	struct mmrt_as *as;
	struct page_req r[POLL_BURST];

	if (!consumer_live(c))
		return -EINVAL;
	rte_spinlock_lock(&c->bind_lock);
	as = c->as;
	if (as == NULL) {
		rte_spinlock_unlock(&c->bind_lock);
		return -ENOTCONN;
	}
	/* invalidators in flight stop waiting for this consumer */
	__atomic_store_n(&c->core.state, MMRT_CONSUMER_UNBOUND,
		__ATOMIC_RELEASE);
	rte_spinlock_unlock(&c->bind_lock);

	mmrt_notifier_unregister(&c->nb, as); /* calls consumer_release() */
	rte_spinlock_lock(&c->bind_lock);
	binding_clear(c);
	rte_spinlock_unlock(&c->bind_lock);
	/* no callback runs any more: the quarantine can go */
	rte_spinlock_lock(&c->quar_lock);
	quarantine_put_all(c);
	c->quar_closed = false;
	rte_spinlock_unlock(&c->quar_lock);
	tlb_flush_all(c);
	consumer_process(c);
	while (rte_ring_dequeue_burst_elem(c->pr_ring, r, sizeof(r[0]),
			POLL_BURST, NULL) > 0)
		;
	memset(c->pr_pending, 0, sizeof(uint64_t) * c->ring_size);
	return 0;
}

int
mmrt_consumer_id(const struct mmrt_consumer *c)
{
	int id;

	if (!consumer_live(c))
		return -EINVAL;
	id = __atomic_load_n(&c->id, __ATOMIC_RELAXED);
	return id > 0 ? id : -ENOTCONN;
}

int
mmrt_consumer_destroy(struct mmrt_consumer *c)
{
	if (!consumer_live(c))
		return -EINVAL;
	mmrt_consumer_unbind(c);
	rte_spinlock_lock(&consumers_lock);
	TAILQ_REMOVE(&consumers, c, next);
	c->core.magic = 0;
	rte_spinlock_unlock(&consumers_lock);
	rte_free(c->quar);
	rte_free(c->core.tlb);
	rte_free(c->victim);
	rte_free(c->pr_pending);
	rte_free(c->inv_ring);
	rte_free(c->pr_ring);
	rte_free(c);
	return 0;
}

/* Look up @va in its 4 KiB or 2 MiB set; @return the entry or NULL. */
static struct mmrt_dev_tlbe *
tlb_find(struct mmrt_consumer *c, uint64_t va, bool huge)
{
	unsigned int shift = huge ? MMRT_HUGE_SHIFT : MMRT_PAGE_SHIFT;
	uint64_t key = (va & ~((UINT64_C(1) << shift) - 1)) | MMRT_DEV_TLBE_V |
		(huge ? MMRT_DEV_TLBE_H : 0);
	uint32_t set = (uint32_t)(va >> shift) & c->core.set_mask;
	struct mmrt_dev_tlbe *e;
	uint32_t i;

	for (i = 0; i < c->core.ways; i++) {
		e = tlb_way(c, set, i);
		if (e->tag == key)
			return e;
	}
	return NULL;
}

/*
 * Install the translation @x of @va. The entry keeps the delta from the
 * page base to its host address (4 KiB aligned: page and frame are), so
 * a hit adds it to va; the permission sits in the delta's low bits.
 */
static void
tlb_fill(struct mmrt_consumer *c, uint64_t va, const struct mmrt_xlate *x)
{
	unsigned int shift = x->huge ? MMRT_HUGE_SHIFT : MMRT_PAGE_SHIFT;
	uint64_t base = va & ~((UINT64_C(1) << shift) - 1);
	uint32_t set = (uint32_t)(va >> shift) & c->core.set_mask;
	struct mmrt_dev_tlbe *e = tlb_find(c, va, x->huge);
	uint64_t delta = (uint64_t)(uintptr_t)x->addr - va;
	uint32_t i;

	RTE_BUILD_BUG_ON(MMRT_DEV_TLBE_R != MMRT_PROT_READ ||
		MMRT_DEV_TLBE_R != MMRT_ACCESS_READ);
	RTE_BUILD_BUG_ON(MMRT_DEV_TLBE_W != MMRT_PROT_WRITE ||
		MMRT_DEV_TLBE_W != MMRT_ACCESS_WRITE);
	RTE_BUILD_BUG_ON(sizeof(struct mmrt_dev_tlbe) * MMRT_DEV_TLB_BLOCK !=
		(1u << MMRT_DEV_TLB_BLOCK_SHIFT));
	RTE_BUILD_BUG_ON(MMRT_DEV_TLB_BLOCK * 2 != MMRT_CONSUMER_TLB_WAYS_MAX);
	if (e == NULL) {
		for (i = 0; i < c->core.ways; i++)
			if (!(tlb_way(c, set, i)->tag & MMRT_DEV_TLBE_V))
				break;
		if (i == c->core.ways) {
			i = c->victim[set]++ % c->core.ways;
			STAT_ADD(c, tlb_evictions, 1);
		}
		e = tlb_way(c, set, i);
	}
	e->data = (delta & ~MMRT_DEV_TLBE_DMASK) | MMRT_DEV_TLBE_R |
		((x->prot & MMRT_PROT_WRITE) ? MMRT_DEV_TLBE_W : 0);
	e->tag = base | MMRT_DEV_TLBE_V | (x->huge ? MMRT_DEV_TLBE_H : 0);
	STAT_ADD(c, tlb_fills, 1);
}

/* Queue a page request for @va, deduplicated per page. */
static void
page_request(struct mmrt_consumer *c, uint64_t va, uint32_t access)
{
	uint64_t page = va & ~(MMRT_PAGE_SIZE - 1);
	uint64_t *slot = &c->pr_pending[((page >> MMRT_PAGE_SHIFT) *
		UINT64_C(0x9e3779b97f4a7c15)) >> 32 & (c->ring_size - 1)];
	uint64_t cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	struct page_req r;
	bool same = (cur & PR_PENDING) &&
		(cur & ~(MMRT_PAGE_SIZE - 1)) == page;

	if (same && (cur & access) == access) {
		STAT_ADD(c, page_requests_dedup, 1);
		return;
	}
	if (same || cur == 0)
		__atomic_compare_exchange_n(slot, &cur,
			page | PR_PENDING | access | (same ? (cur & 3) : 0),
			false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
	r.va = page;
	r.access = access;
	if (rte_ring_mp_enqueue_elem(c->pr_ring, &r, sizeof(r)) != 0) {
		/* full: nothing queued, the next translate tries again */
		cur = page | PR_PENDING | access | (same ? (cur & 3) : 0);
		__atomic_compare_exchange_n(slot, &cur, 0, false,
			__ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
		return;
	}
	STAT_ADD(c, page_requests, 1);
}

/*
 * A walk failed: let lib/mm resolve it without waiting (mmrt_fault_request:
 * demand-zero and object pages are filled in place, 0), post it to the uffd
 * that serves the page (the consumer retries after the fill), or refuse it
 * (copy-on-write waits for acks: a page request for the fault path). No
 * region, no permission and poison are final. The bind lock keeps the
 * space alive across the probe (release takes it before the space goes);
 * if it is taken, or the map lock is, the fault path gets a page request.
 */
static int
consumer_fault(struct mmrt_consumer *c, uint64_t va, uint32_t access)
{
	int ret = -EBUSY;

	if (rte_spinlock_trylock(&c->bind_lock)) {
		if (c->as != NULL && __atomic_load_n(&c->core.state,
				__ATOMIC_ACQUIRE) == MMRT_CONSUMER_BOUND)
			ret = mmrt_fault_request(c->as, va, access,
				MMRT_UFFD_REQUESTER_CONSUMER | (uint32_t)c->id);
		else
			ret = -ENOTCONN;
		rte_spinlock_unlock(&c->bind_lock);
	}
	switch (ret) {
	case 0:
		/* resolved in place (or raced with a fill): walk again */
		return 0;
	case -ENOENT:
	case -EBUSY:
		page_request(c, va, access);
		return -EAGAIN;
	case -EAGAIN:
		STAT_ADD(c, userfaults, 1);
		return -EAGAIN;
	default:
		return ret;
	}
}

int
mmrt_consumer_translate_slow(struct mmrt_consumer *c, uint64_t va,
	uint32_t access, struct mmrt_xlate *out)
{
	struct mmrt_dev_tlbe *e;
	uint64_t off, addr;
	uint32_t pfn;
	int ret;

	if (!consumer_live(c) || out == NULL || va >= MMRT_VA_LIMIT ||
			(access & ~(MMRT_ACCESS_READ | MMRT_ACCESS_WRITE)))
		return -EINVAL;
	if (__atomic_load_n(&c->core.state, __ATOMIC_ACQUIRE) !=
			MMRT_CONSUMER_BOUND)
		return -ENOTCONN;
	if (access == 0)
		access = MMRT_ACCESS_READ;
	/* a 2 MiB entry? (the 4 KiB set was probed inline) */
	e = tlb_find(c, va, true);
	if (e != NULL && (access & ~e->data & MMRT_DEV_TLBE_DMASK) == 0) {
		addr = va + (e->data & ~MMRT_DEV_TLBE_DMASK);
		off = va & (MMRT_PAGE_SIZE - 1);
		pfn = (uint32_t)((addr - (uintptr_t)mmrt_mem_fp.base) >>
			MMRT_PAGE_SHIFT);
		out->addr = (void *)(uintptr_t)addr;
		out->iova = mmrt_frame_iova_unchecked(pfn) + off;
		out->pfn = pfn;
		out->prot = (uint32_t)(e->data &
			(MMRT_DEV_TLBE_R | MMRT_DEV_TLBE_W));
		out->size = MMRT_HUGE_SIZE - (va & (MMRT_HUGE_SIZE - 1));
		out->huge = true;
		__atomic_store_n(&c->core.hits, c->core.hits + 1,
			__ATOMIC_RELAXED);
		return 0;
	}
	STAT_ADD(c, tlb_misses, 1);
	if (!mmrt_thread_is_online())
		return -EPERM;
	consumer_set_owner(c);
	ret = mmrt_walk(&c->asc, va, access, out);
	if (ret == 0) {
		tlb_fill(c, va, out);
		return 0;
	}
	if (ret == -EFAULT || ret == -EACCES) {
		ret = consumer_fault(c, va, access);
		if (ret != 0)
			return ret;
		ret = mmrt_walk(&c->asc, va, access, out);
		if (ret == 0) {
			STAT_ADD(c, faults_resolved, 1);
			tlb_fill(c, va, out);
			return 0;
		}
		/* changed again since: the next try starts over */
		return -EAGAIN;
	}
	return ret;
}

int
mmrt_consumer_page_requests(struct mmrt_consumer *c, uint64_t *va,
	uint32_t *access, unsigned int n)
{
	struct page_req r[POLL_BURST];
	unsigned int i, k, got = 0;
	uint64_t *slot, cur, page;

	if (!consumer_live(c) || va == NULL || access == NULL)
		return -EINVAL;
	while (got < n) {
		k = rte_ring_mc_dequeue_burst_elem(c->pr_ring, r, sizeof(r[0]),
			RTE_MIN(n - got, (unsigned int)POLL_BURST), NULL);
		if (k == 0)
			break;
		for (i = 0; i < k; i++) {
			page = r[i].va;
			slot = &c->pr_pending[((page >> MMRT_PAGE_SHIFT) *
				UINT64_C(0x9e3779b97f4a7c15)) >> 32 &
				(c->ring_size - 1)];
			cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
			while ((cur & PR_PENDING) &&
					(cur & ~(MMRT_PAGE_SIZE - 1)) == page &&
					!__atomic_compare_exchange_n(slot, &cur,
						0, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
				;
			va[got] = page;
			access[got] = (uint32_t)r[i].access;
			got++;
		}
	}
	return (int)got;
}

bool
mmrt_consumer_fenced(const struct mmrt_consumer *c)
{
	return consumer_live(c) &&
		__atomic_load_n(&c->core.state, __ATOMIC_ACQUIRE) ==
			MMRT_CONSUMER_FENCED;
}

int
mmrt_consumer_stats(const struct mmrt_consumer *c,
	struct mmrt_consumer_stats *st)
{
	if (!consumer_live(c) || st == NULL)
		return -EINVAL;
#define LD(f) __atomic_load_n(&c->st.f, __ATOMIC_RELAXED)
	st->tlb_hits = __atomic_load_n(&c->core.hits, __ATOMIC_RELAXED);
	st->tlb_misses = LD(tlb_misses);
	st->tlb_fills = LD(tlb_fills);
	st->tlb_evictions = LD(tlb_evictions);
	st->inval_descs = LD(inval_descs);
	st->inval_flush_all = LD(inval_flush_all);
	st->inval_mailbox = LD(inval_mailbox);
	st->entries_dropped = LD(entries_dropped);
	st->acks = LD(acks);
	st->fences = __atomic_load_n(&c->fences, __ATOMIC_RELAXED);
	st->page_requests = LD(page_requests);
	st->page_requests_dedup = LD(page_requests_dedup);
	st->userfaults = LD(userfaults);
	st->faults_resolved = LD(faults_resolved);
#undef LD
	rte_spinlock_lock((rte_spinlock_t *)(uintptr_t)&c->quar_lock);
	st->quarantined = c->quar_total;
	st->quarantine_held = c->quar_n;
	rte_spinlock_unlock((rte_spinlock_t *)(uintptr_t)&c->quar_lock);
	return 0;
}
