/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Notifier subscribers (mmrt_notifier.h): interval notifiers and legacy
 * notifiers, with the semantics of the Linux mmu notifiers.
 *
 * Interval notifiers: a collision-retry "lock" per space
 * -------------------------------------------------------
 * Like a seqcount, except that many writers hold the write side at once:
 * a writer is any mm_notify_start() .. mm_notify_end() range, and the
 * operations of lib/mm nest and run them in parallel. The state lives in
 * struct mm_subscriptions; invalidate_seq starts at 2.
 *
 * Idle:
 *  - active_invalidate_ranges == 0
 *  - invalidate_seq is even
 *  - the tree may change
 * Partially excluded:
 *  - active_invalidate_ranges != 0
 *  - invalidate_seq is even
 *  - no subscription overlaps a running range: no invalidate() runs
 *  - the tree may change
 * Fully excluded:
 *  - active_invalidate_ranges != 0
 *  - invalidate_seq is odd
 *  - some running range may call invalidate() of some subscription
 *  - the tree must not change: invalidators walk it without the lock;
 *    inserts and removes go to the deferred list
 *
 * Transitions, each under subs->lock:
 *    start:  active++; if a subscription overlaps: seq |= 1
 *    insert (partially excluded): seq |= 1, insert into the tree now
 *    end:    active--; if active == 0 and seq is odd: apply deferred; seq++
 *
 * The end applies the deferred list in the same critical section, then
 * publishes the even seq with a release store, so that a thread spinning on
 * an acquire load of invalidate_seq (read_begin, remove) that sees it
 * changed also sees the tree updated and the callbacks of the period done.
 * The deferred list is used so that an invalidator never waits on a
 * blocking lock to change the tree (like rtnl_unlock()).
 *
 * Per subscription, sub->invalidate_seq is the seq of the last write period
 * that covered it (set by its invalidate() through set_seq, or by insert).
 * "sub is being invalidated" <=> sub->invalidate_seq == subs->invalidate_seq
 * (both odd). A reader that got seq from read_begin must retry when
 * sub->invalidate_seq != seq.
 *
 * Legacy notifiers: a lock-free list
 * ----------------------------------
 * subs->list is a singly linked list: changed under subs->lock, read
 * without it by loading each link with acquire (pairs with the release
 * store that publishes a new head in register). Unlinking never changes the
 * unlinked node's own link, so a reader standing on it keeps walking.
 * A node is reused only after a grace period: mmrt_synchronize() for
 * registered online pollers, and, because invalidations also run in
 * threads that are offline or not registered with QSBR at all, a per-space
 * in-flight reader count that every traversal holds raised:
 *
 *    reader: readers++ (seq_cst RMW) ... load links (seq_cst) ...
 *            readers-- (release)
 *    unregister: unlink (seq_cst fence) ... spin until readers == 0 (acquire)
 *
 * Either the reader's increment is visible to the unregisterer (which then
 * waits for it), or the unlink is visible to the reader (which then cannot
 * reach the node). The release decrement pairs with the acquire load in the
 * wait, so every callback of a finished traversal happens before
 * unregister returns. The count is the grace period for non-poller
 * readers; it may be extended by back-to-back traversals (no starvation
 * guard: invalidations are finite).
 */

#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_spinlock.h>

#include "core_wait.h"
#include "mm_locking.h"
#include "mm_as.h"
#include "mm_notify.h"
#include "mm_testhooks.h"
#include "itree.h"
#include "mmrt_notifier.h"

/*
 * Pauses before a wait for readers or for an invalidation's end sleeps
 * between checks (lib/core/core_wait.h: the thread waited for may need
 * this cpu).
 */
#define NOTIFIER_SPINS 2048

struct mm_subscriptions {
	rte_spinlock_t lock;
	/* odd while fully excluded; written under lock (atomically, as
	 * spinning waiters load it without the lock) */
	uint64_t invalidate_seq;
	uint64_t active_invalidate_ranges;  /* under lock */
	struct mm_itree itree;              /* under lock; frozen while odd */
	struct mmrt_interval_notifier *deferred; /* under lock */
	struct mmrt_notifier *list;  /* changed under lock, read lock-free */
	uint32_t n_plain;            /* ... of which of kind 0 (process-
				      * local: see nb_ops(); under lock,
				      * read relaxed) */
	uint32_t n_iplain;           /* interval subscriptions of kind 0
				      * (see iops(); under lock, read
				      * relaxed) */
	uint32_t n_range_ops;        /* ... of which with start or end ops
				      * (changed under lock, read relaxed) */
	bool released;               /* mm_notify_release ran (under lock) */
	/*
	 * Per process slot (mmrt_process_slot()), so that the reaper of a
	 * dead process can take back what it left counted: its legacy
	 * traversals in flight (lock-free, the only count of them), and
	 * its write periods (a copy of its part of active_invalidate_ranges,
	 * kept with it under lock). See notify_reap().
	 */
	uint32_t readers[MMRT_PROC_MAX];
	uint32_t slot_active[MMRT_PROC_MAX]; /* under lock */
};

/* This process's slot in the per-slot counts above. */
static inline unsigned int
nt_slot(void)
{
	int s = mmrt_process_slot();

	return s >= 0 && s < MMRT_PROC_MAX ? (unsigned int)s : 0;
}

#define ISUB(n) container_of(n, struct mmrt_interval_notifier, node)

/*
 * Interval subscription kinds (mm_notify.h): as the legacy kinds below,
 * ops every process registers for itself under one number, so that a
 * subscription of kind k inserted in one process (a pin of a secondary)
 * is invalidated, in whichever process invalidates, through that
 * process's own functions. Kind 0 calls sub->ops, a pointer valid only
 * in the process that inserted it. Per process, filled by constructors.
 */
static const struct mmrt_interval_notifier_ops *in_kinds[MM_IKIND_MAX];

static inline const struct mmrt_interval_notifier_ops *
iops(const struct mmrt_interval_notifier *sub)
{
	return sub->kind != 0 ? in_kinds[sub->kind] : sub->ops;
}

int
mm_interval_kind_ops(uint32_t kind,
	const struct mmrt_interval_notifier_ops *ops)
{
	if (kind == 0 || kind >= MM_IKIND_MAX || ops == NULL ||
			ops->invalidate == NULL)
		return -EINVAL;
	if (in_kinds[kind] != NULL && in_kinds[kind] != ops)
		return -EEXIST;
	in_kinds[kind] = ops;
	return 0;
}

static inline uint64_t
seq_load(const struct mm_subscriptions *subs)
{
	return __atomic_load_n(&subs->invalidate_seq, __ATOMIC_ACQUIRE);
}

/* ---- deferred list (under subs->lock) ---- */

static void
deferred_add(struct mm_subscriptions *subs, struct mmrt_interval_notifier *sub)
{
	sub->deferred_next = subs->deferred;
	if (subs->deferred != NULL)
		subs->deferred->deferred_pprev = &sub->deferred_next;
	subs->deferred = sub;
	sub->deferred_pprev = &subs->deferred;
}

static void
deferred_del(struct mmrt_interval_notifier *sub)
{
	*sub->deferred_pprev = sub->deferred_next;
	if (sub->deferred_next != NULL)
		sub->deferred_next->deferred_pprev = sub->deferred_pprev;
	sub->deferred_next = NULL;
	sub->deferred_pprev = NULL;
}

/*
 * @sub left the tree for good (or its insert was cancelled): one plain
 * interval subscription less (subs->lock held). Counted when it leaves
 * the tree, not when its remove starts, so that a secondary never
 * starts an invalidation that walks a tree holding a plain one.
 */
static void
iplain_gone(struct mm_subscriptions *subs,
	const struct mmrt_interval_notifier *sub)
{
	if (sub->kind == 0)
		__atomic_store_n(&subs->n_iplain, subs->n_iplain - 1,
			__ATOMIC_RELAXED);
}

/* ---- interval side of an invalidation ---- */

static inline uint64_t
range_last(const struct mmrt_notifier_range *r)
{
	return r->end - 1;
}

/*
 * Enter the write side for @r. Returns the first overlapping subscription
 * (then the space is fully excluded and *cur_seq is odd) or NULL.
 * model: models/notifier.pml [N.1]
 */
static struct mmrt_itree_node *
itree_inv_start(struct mm_subscriptions *subs,
	const struct mmrt_notifier_range *r, uint64_t *cur_seq)
{
	struct mmrt_itree_node *n = NULL;
	uint64_t seq;

	mm_spin_lock(&subs->lock, MM_LC_SUBS);
	subs->active_invalidate_ranges++;
	subs->slot_active[nt_slot()]++;
	if (r->start < r->end)
		n = mm_itree_first(&subs->itree, r->start, range_last(r));
	seq = subs->invalidate_seq;
	if (n != NULL) {
		/* idle or partially excluded -> fully excluded */
		seq |= 1;
		__atomic_store_n(&subs->invalidate_seq, seq, __ATOMIC_RELAXED);
	}
	*cur_seq = seq;
	mm_spin_unlock(&subs->lock, MM_LC_SUBS);
	return n;
}

/* model: models/notifier.pml [N.3] */
static void
itree_inv_idle(struct mm_subscriptions *subs);

static void
itree_inv_end(struct mm_subscriptions *subs)
{
	mm_spin_lock(&subs->lock, MM_LC_SUBS);
	subs->slot_active[nt_slot()]--;
	if (--subs->active_invalidate_ranges != 0 ||
			(subs->invalidate_seq & 1) == 0) {
		mm_spin_unlock(&subs->lock, MM_LC_SUBS);
		return;
	}
	itree_inv_idle(subs);
	mm_spin_unlock(&subs->lock, MM_LC_SUBS);
}

/* The last write period ended (lock held, seq odd): back to idle. */
static void
itree_inv_idle(struct mm_subscriptions *subs)
{
	struct mmrt_interval_notifier *sub;

	/* fully excluded -> idle: the tree is ours again */
	while ((sub = subs->deferred) != NULL) {
		deferred_del(sub);
		if (sub->node.in_tree) {
			mm_itree_remove(&subs->itree, &sub->node);
			iplain_gone(subs, sub);
		} else
			mm_itree_insert(&subs->itree, &sub->node);
	}
	/* Publish the end of the period last: pairs with the acquire loads
	 * of the waiters in read_begin and remove, which then see the
	 * deferred removals done and every invalidate() of the period
	 * returned. */
	__atomic_store_n(&subs->invalidate_seq, subs->invalidate_seq + 1,
		__ATOMIC_RELEASE);
}

/*
 * Call invalidate() of every subscription overlapping @r. The tree is
 * walked without the lock: it is frozen while the space is fully excluded,
 * which our own start keeps it until our end.
 * model: models/notifier.pml [N.2]
 */
static int
itree_invalidate(struct mm_subscriptions *subs,
	const struct mmrt_notifier_range *r)
{
	struct mmrt_itree_node *n;
	uint64_t cur_seq;

	n = itree_inv_start(subs, r, &cur_seq);
	for (; n != NULL; n = mm_itree_next(n, r->start, range_last(r))) {
		struct mmrt_interval_notifier *sub = ISUB(n);

		if (iops(sub)->invalidate(sub, r, cur_seq))
			continue;
		if (mmrt_notifier_range_blockable(r)) {
			MMRT_LOG(WARNING, mm,
				"interval invalidate failed a blockable range");
			continue;
		}
		/* a nonblocking start fails whole and is not paired with
		 * an end: undo our part of the write side now */
		itree_inv_end(subs);
		return -EAGAIN;
	}
	return 0;
}

/* ---- legacy list traversal ---- */

/*
 * The count up, by a seq_cst RMW: with the seq_cst loads of the links
 * below (list_first(), list_next()) it pairs with the seq_cst fence after
 * the unlink in unregister/release (readers_wait()). In the fence's place
 * in the single total order S: if our RMW precedes it, the unregisterer's
 * load of the count after it sees the RMW (or our later exit); if it
 * precedes our RMW, it precedes our loads of the links too (sequenced
 * after the RMW, all seq_cst), and they see the unlink it follows. On
 * x86 the locked add is the full barrier and the loads are plain: no
 * mfence after the add, one serializing instruction less per flush.
 */
static inline void
reader_enter(struct mm_subscriptions *subs)
{
	__atomic_fetch_add(&subs->readers[nt_slot()], 1, __ATOMIC_SEQ_CST);
}

static inline void
reader_exit(struct mm_subscriptions *subs)
{
	/* pairs with the acquire load in readers_wait() */
	__atomic_fetch_sub(&subs->readers[nt_slot()], 1, __ATOMIC_RELEASE);
}

/*
 * The links: seq_cst loads (reader_enter() says why; acquire, too: pairs
 * with the release store of the head in register).
 */
static inline struct mmrt_notifier *
list_first(const struct mm_subscriptions *subs)
{
	return __atomic_load_n(&subs->list, __ATOMIC_SEQ_CST);
}

static inline struct mmrt_notifier *
list_next(const struct mmrt_notifier *s)
{
	return __atomic_load_n(&s->next, __ATOMIC_SEQ_CST);
}

/*
 * Subscriber kinds: ops every process registers for itself under one
 * number (mmrt_notifier_kind_ops()), so that a subscriber of kind k
 * registered in one process is called, in whichever process
 * invalidates, through that process's own functions. kind 0 is a plain
 * subscriber: its ops pointer is valid only in the process that
 * registered it. The table is per process and filled by constructors.
 */
static const struct mmrt_notifier_ops *nb_kinds[MMRT_NOTIFIER_KIND_MAX];

static inline const struct mmrt_notifier_ops *
nb_ops(const struct mmrt_notifier *s)
{
	return s->kind != 0 ? nb_kinds[s->kind] : s->ops;
}

int
mmrt_notifier_kind_ops(uint32_t kind, const struct mmrt_notifier_ops *ops)
{
	if (kind == 0 || kind >= MMRT_NOTIFIER_KIND_MAX || ops == NULL)
		return -EINVAL;
	if (nb_kinds[kind] != NULL && nb_kinds[kind] != ops)
		return -EEXIST;
	nb_kinds[kind] = ops;
	return 0;
}

/* Grace period after an unlink: see the comment at the top. */
static void
readers_wait(struct mm_subscriptions *subs)
{
	unsigned int spins = 0, i;

	MM_BLOCKING_BEGIN();
	/* pairs with the seq_cst RMW in reader_enter() */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	mmrt_synchronize();
	/* a dead process's count is zeroed by notify_reap() */
	for (i = 0; i < MMRT_PROC_MAX; i++)
		while (__atomic_load_n(&subs->readers[i],
				__ATOMIC_ACQUIRE) != 0)
			core_wait_step(&spins, NOTIFIER_SPINS);
	MM_BLOCKING_END();
}

static int
hlist_start(struct mm_subscriptions *subs, const struct mmrt_notifier_range *r)
{
	struct mmrt_notifier *s, *first, *failed = NULL;
	bool blockable = mmrt_notifier_range_blockable(r);
	int rc;

	/* nobody with start/end: skip the reader count and its fence */
	if (__atomic_load_n(&subs->n_range_ops, __ATOMIC_RELAXED) == 0)
		return 0;
	reader_enter(subs);
	first = list_first(subs);
	for (s = first; s != NULL; s = list_next(s)) {
		if (nb_ops(s)->invalidate_range_start == NULL)
			continue;
		rc = nb_ops(s)->invalidate_range_start(s, r);
		if (rc == 0)
			continue;
		if (rc == -EAGAIN && !blockable) {
			failed = s;
			break;
		}
		MMRT_LOG(WARNING, mm,
			"invalidate_range_start: %d (%s range), ignored",
			rc, blockable ? "blockable" : "nonblocking");
	}
	if (failed != NULL) {
		/*
		 * The subscribers before the failing one started and expect
		 * their end; the failing one gets none. Walk the same chain
		 * again from the same head (registers only add before it).
		 * Caveat: if the failing subscriber is unregistered between
		 * the two walks, the chain skips it and the walk also ends
		 * subscribers after it that did not start.
		 */
		for (s = first; s != NULL && s != failed; s = list_next(s))
			if (nb_ops(s)->invalidate_range_end != NULL)
				nb_ops(s)->invalidate_range_end(s, r);
	}
	reader_exit(subs);
	return failed != NULL ? -EAGAIN : 0;
}

static void
hlist_end(struct mm_subscriptions *subs, const struct mmrt_notifier_range *r)
{
	struct mmrt_notifier *s;

	if (__atomic_load_n(&subs->n_range_ops, __ATOMIC_RELAXED) == 0)
		return;
	reader_enter(subs);
	for (s = list_first(subs); s != NULL; s = list_next(s))
		if (nb_ops(s)->invalidate_range_end != NULL)
			nb_ops(s)->invalidate_range_end(s, r);
	reader_exit(subs);
}

/* ---- internal hooks (mm_notify.h) ---- */

int
mm_notify_as_init(struct mmrt_as *as)
{
	struct mm_subscriptions *subs;

	subs = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc("mmrt_subs", sizeof(*subs), RTE_CACHE_LINE_SIZE);
	if (subs == NULL)
		return -ENOMEM;
	rte_spinlock_init(&subs->lock);
	subs->invalidate_seq = 2;
	as->subs = subs;
	return 0;
}

void
mm_notify_as_fini(struct mmrt_as *as)
{
	struct mm_subscriptions *subs = as->subs;
	struct mmrt_interval_notifier *sub;
	struct mmrt_notifier *s;
	unsigned int left = 0;

	if (subs == NULL)
		return;
	mm_spin_lock(&subs->lock, MM_LC_SUBS);
	/* Interval subscriptions still inserted are detached: a later
	 * remove of them is a no-op. */
	while (subs->itree.root != NULL) {
		sub = ISUB(subs->itree.root);
		mm_itree_remove(&subs->itree, &sub->node);
		sub->as = NULL;
		left++;
	}
	while ((sub = subs->deferred) != NULL) {
		deferred_del(sub);
		sub->as = NULL;
		left++;
	}
	for (s = subs->list; s != NULL; s = s->next)
		s->as = NULL;
	subs->list = NULL;
	mm_spin_unlock(&subs->lock, MM_LC_SUBS);
	if (left != 0)
		MMRT_LOG(WARNING, mm, "%s: %u interval notifiers detached",
			as->name, left);
	as->subs = NULL;
	rte_free(subs);
}

void
mm_range_init(struct mmrt_notifier_range *r, struct mmrt_as *as, int event,
	bool blockable, uint64_t start, uint64_t end, void *owner)
{
	r->as = as;
	r->start = start;
	r->end = end;
	r->event = (enum mmrt_notify_event)event;
	r->flags = blockable ? MMRT_NOTIFY_BLOCKABLE : 0;
	r->owner = owner;
}

int
mm_notify_start(struct mmrt_notifier_range *r)
{
	struct mm_subscriptions *subs = r->as->subs;
	int ret;

	if (subs == NULL)
		return 0;
	ret = itree_invalidate(subs, r);
	if (ret != 0)
		return ret;
	ret = hlist_start(subs, r);
	if (ret != 0)
		itree_inv_end(subs);
	return ret;
}

void
mm_notify_end(struct mmrt_notifier_range *r)
{
	mm_notify_end_interval(r);
	mm_notify_end_legacy(r);
}

void
mm_notify_end_interval(struct mmrt_notifier_range *r)
{
	struct mm_subscriptions *subs = r->as->subs;

	if (subs != NULL)
		itree_inv_end(subs);
}

void
mm_notify_end_legacy(struct mmrt_notifier_range *r)
{
	struct mm_subscriptions *subs = r->as->subs;

	if (subs != NULL)
		hlist_end(subs, r);
}


/*
 * Enter the legacy list of @as for reading: NULL (nothing entered) when
 * nobody is subscribed, the fast path of every flush.
 */
static struct mm_subscriptions *
legacy_enter(struct mmrt_as *as)
{
	struct mm_subscriptions *subs = as->subs;

	if (subs == NULL ||
			__atomic_load_n(&subs->list, __ATOMIC_RELAXED) == NULL)
		return NULL;
	reader_enter(subs);
	return subs;
}

/* Every legacy subscriber @s of @subs that has op @op. */
#define LEGACY_FOREACH(subs, s, op) \
	for ((s) = list_first(subs); (s) != NULL; (s) = list_next(s)) \
		if (nb_ops(s)->op != NULL)

void
mm_notify_quarantine(struct mmrt_as *as, const uint32_t *pfns, unsigned int n)
{
	struct mm_subscriptions *subs = n > 0 ? legacy_enter(as) : NULL;
	struct mmrt_notifier *s;

	if (subs == NULL)
		return;
	LEGACY_FOREACH(subs, s, quarantine)
		nb_ops(s)->quarantine(s, as, pfns, n);
	reader_exit(subs);
}

/* The second half of a two-phase flush: wait for @n posted tokens. */
static unsigned int
notify_wait_all(struct mmrt_as *as, struct mmrt_notifier *const *who,
	const uint64_t *tok, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (tok[i] != 0)
			nb_ops(who[i])->tlbs_wait(who[i], as, tok[i]);
	return 0;
}

/*
 * The device-flush step. Every change that removes or downgrades a
 * translation reaches this function before any frame it unhooked is freed
 * (the gather calls it first in every flush; copy-on-write calls it under
 * the PT lock between clearing and setting the PTE). It counts the flush,
 * calls the test hook, then the invalidate_secondary_tlbs op of every
 * legacy notifier subscriber; device-TLB consumers (lib/dev) hook in here.
 *
 * The flush in two halves (mm_notify.h). The post half enters the legacy
 * list (the reader count stays raised, so no subscriber it posted to is
 * reused, until the wait half), calls the one-phase subscribers, and
 * posts to the two-phase ones: all of them, then the waits, so n
 * consumers cost n posts and about one round trip of waiting. Past
 * MM_NOTIFY_WAIT_BATCH tokens it waits for the batch it has before
 * posting more; the last batch is left to mm_notify_invalidate_wait().
 */
static __rte_always_inline void
notify_post(struct mmrt_as *as, uint64_t start, uint64_t end, bool full,
	struct mm_notify_flush *f)
{
	struct mm_subscriptions *subs;
	struct mmrt_notifier *s;
	unsigned int n = 0;

#ifdef MMRT_TEST_HOOKS
	if (mm_test_hooks.on_flush != NULL)
		mm_test_hooks.on_flush(as, start, end, full,
			mm_test_hooks.on_flush_arg);
#else
	RTE_SET_USED(full);
#endif
	f->n = 0;
	f->subs = subs = legacy_enter(as);
	if (subs != NULL) {
		for (s = list_first(subs); s != NULL; s = list_next(s)) {
			if (nb_ops(s)->tlbs_post != NULL) {
				if (n == MM_NOTIFY_WAIT_BATCH)
					n = notify_wait_all(as, f->who, f->tok,
						n);
				f->who[n] = s;
				f->tok[n++] = nb_ops(s)->tlbs_post(s, as,
					start, end);
			} else if (nb_ops(s)->invalidate_secondary_tlbs !=
					NULL) {
				nb_ops(s)->invalidate_secondary_tlbs(s, as,
					start, end);
			}
		}
		f->n = n;
	}
	/* a locked add: after the posts, while the consumers ack */
	MM_STAT_ADD(as, flushes, 1);
}

static __rte_always_inline void
notify_wait(struct mmrt_as *as, struct mm_notify_flush *f)
{
	if (f->subs == NULL)
		return;
	notify_wait_all(as, f->who, f->tok, f->n);
	reader_exit(f->subs);
	f->subs = NULL;
}

void
mm_notify_invalidate_post(struct mmrt_as *as, uint64_t start, uint64_t end,
	bool full, struct mm_notify_flush *f)
{
	notify_post(as, start, end, full, f);
}

void
mm_notify_invalidate_wait(struct mmrt_as *as, struct mm_notify_flush *f)
{
	notify_wait(as, f);
}

void
mm_notify_invalidate(struct mmrt_as *as, uint64_t start, uint64_t end,
	bool full)
{
	struct mm_notify_flush f;

	notify_post(as, start, end, full, &f);
	notify_wait(as, &f);
}

void
mm_notify_release(struct mmrt_as *as)
{
	struct mm_subscriptions *subs = as->subs;
	struct mmrt_notifier_range r;
	struct mmrt_notifier *s;
	int ret;

	if (subs == NULL)
		return;
	/* interval subscriptions: one blockable RELEASE over everything */
	mm_range_init(&r, as, MMRT_NOTIFY_RELEASE, true, 0, UINT64_MAX, NULL);
	ret = itree_invalidate(subs, &r);
	RTE_VERIFY(ret == 0);
	itree_inv_end(subs);

	/* legacy: no new registrations from here on */
	mm_spin_lock(&subs->lock, MM_LC_SUBS);
	subs->released = true;
	mm_spin_unlock(&subs->lock, MM_LC_SUBS);
	reader_enter(subs);
	for (s = list_first(subs); s != NULL; s = list_next(s)) {
		uint32_t zero = 0;

		/* release at most once, against a racing unregister */
		if (nb_ops(s)->release != NULL &&
				__atomic_compare_exchange_n(&s->released, &zero,
				1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			nb_ops(s)->release(s, as);
	}
	reader_exit(subs);
	/* detach them all; unregister of a detached one returns 0 */
	mm_spin_lock(&subs->lock, MM_LC_SUBS);
	__atomic_store_n(&subs->list, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&subs->n_range_ops, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&subs->n_plain, 0, __ATOMIC_RELAXED);
	mm_spin_unlock(&subs->lock, MM_LC_SUBS);
	readers_wait(subs);
}

int
mm_notify_clear_young(struct mmrt_as *as, uint64_t start, uint64_t end)
{
	struct mm_subscriptions *subs = legacy_enter(as);
	struct mmrt_notifier *s;
	int young = 0;

	if (subs == NULL)
		return 0;
	LEGACY_FOREACH(subs, s, clear_young)
		young |= nb_ops(s)->clear_young(s, as, start, end);
	reader_exit(subs);
	return young;
}

int
mm_notify_test_young(struct mmrt_as *as, uint64_t addr)
{
	struct mm_subscriptions *subs = legacy_enter(as);
	struct mmrt_notifier *s;
	int young = 0;

	if (subs == NULL)
		return 0;
	LEGACY_FOREACH(subs, s, test_young)
		young |= nb_ops(s)->test_young(s, as, addr);
	reader_exit(subs);
	return young;
}

/* Test-only observers (declared in mm_notify.h). */

uint64_t
mm_notify_debug_active(struct mmrt_as *as)
{
	uint64_t n;

	mm_spin_lock(&as->subs->lock, MM_LC_SUBS);
	n = as->subs->active_invalidate_ranges;
	mm_spin_unlock(&as->subs->lock, MM_LC_SUBS);
	return n;
}

uint64_t
mm_notify_debug_seq(struct mmrt_as *as)
{
	return seq_load(as->subs);
}

/*
 * Plain subscribers are process-local: their ops are functions, and a
 * legacy subscriber's struct may be process memory, of the process that
 * registered it. Only the primary registers them; a secondary must not
 * run an operation that would call them. Subscribers of a kind (see
 * nb_ops()) are callable from every process. Racy by nature against a
 * registration that starts at the same time (see docs, "Processes").
 */
bool
mm_notify_foreign(const struct mmrt_as *as)
{
	const struct mm_subscriptions *subs = as->subs;
	bool any;

	if (rte_eal_process_type() == RTE_PROC_PRIMARY || subs == NULL)
		return false;
	/*
	 * Subscribers of a kind (consumers, pins without a callback) are
	 * callable from here; a plain one may even live in the primary's
	 * own memory, so it is counted, never looked at.
	 */
	any = __atomic_load_n(&subs->n_iplain, __ATOMIC_RELAXED) != 0 ||
		__atomic_load_n(&subs->n_plain, __ATOMIC_RELAXED) != 0;
	if (any)
		MMRT_LOG(DEBUG, mm, "%s: subscribers of the primary: refused in"
			" a secondary", as->name);
	return any;
}

/* ---- public: interval notifiers ---- */

/* model: models/notifier.pml [N.4] */
static int
interval_insert(struct mmrt_interval_notifier *sub, struct mmrt_as *as,
	uint64_t start, uint64_t length,
	const struct mmrt_interval_notifier_ops *ops, uint32_t kind)
{
	struct mm_subscriptions *subs;
	uint64_t seq;

	subs = as->subs;
	sub->ops = ops;
	sub->kind = kind;
	sub->node.start = start;
	sub->node.last = start + length - 1;
	sub->node.in_tree = false;
	sub->deferred_next = NULL;
	sub->deferred_pprev = NULL;

	mm_spin_lock(&subs->lock, MM_LC_SUBS);
	if (subs->released) {
		mm_spin_unlock(&subs->lock, MM_LC_SUBS);
		return -EINVAL;
	}
	/*
	 * An insert links the new node to the tree's (and the deferred
	 * list's) nodes, and the struct of a plain subscription may be the
	 * primary's own memory: a secondary must not write to it, so it
	 * may not insert into a tree that holds one. (A plain subscription
	 * the primary inserts after a secondary's is the limit of this
	 * rule: that secondary's remove still edits the tree.)
	 */
	if (subs->n_iplain != 0 &&
			rte_eal_process_type() != RTE_PROC_PRIMARY) {
		mm_spin_unlock(&subs->lock, MM_LC_SUBS);
		return -E_RTE_SECONDARY;
	}
	seq = subs->invalidate_seq;
	if (subs->active_invalidate_ranges != 0) {
		if (seq & 1) {
			/*
			 * Fully excluded: the tree is frozen, enter it at the
			 * last end. Until then sub->invalidate_seq equals the
			 * running seq, so read_begin waits for that end.
			 */
			__atomic_store_n(&sub->invalidate_seq, seq,
				__ATOMIC_RELAXED);
			deferred_add(subs, sub);
		} else {
			/*
			 * Partially excluded: a running range may cover the
			 * new interval without having seen it, so assume it
			 * does: partially -> fully excluded, insert now.
			 */
			seq |= 1;
			__atomic_store_n(&subs->invalidate_seq, seq,
				__ATOMIC_RELAXED);
			__atomic_store_n(&sub->invalidate_seq, seq,
				__ATOMIC_RELAXED);
			mm_itree_insert(&subs->itree, &sub->node);
		}
	} else {
		/* Idle: an odd value unequal to the current seq, so that
		 * read_begin does not wait and will not for a long time. */
		RTE_ASSERT((seq & 1) == 0);
		__atomic_store_n(&sub->invalidate_seq, seq - 1,
			__ATOMIC_RELAXED);
		mm_itree_insert(&subs->itree, &sub->node);
	}
	if (kind == 0)
		__atomic_store_n(&subs->n_iplain, subs->n_iplain + 1,
			__ATOMIC_RELAXED);
	sub->as = as;
	mm_spin_unlock(&subs->lock, MM_LC_SUBS);
	return 0;
}

int
mmrt_interval_notifier_insert(struct mmrt_interval_notifier *sub,
	struct mmrt_as *as, uint64_t start, uint64_t length,
	const struct mmrt_interval_notifier_ops *ops)
{
	if (sub == NULL || !mm_as_live(as) || as->subs == NULL ||
			ops == NULL || ops->invalidate == NULL ||
			!mmrt_range_valid(start, length) || sub->as != NULL)
		return -EINVAL;
	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return -E_RTE_SECONDARY;
	return interval_insert(sub, as, start, length, ops, 0);
}

int
mm_interval_insert_kind(struct mmrt_interval_notifier *sub,
	struct mmrt_as *as, uint64_t start, uint64_t length, uint32_t kind)
{
	if (sub == NULL || !mm_as_live(as) || as->subs == NULL ||
			kind == 0 || kind >= MM_IKIND_MAX ||
			in_kinds[kind] == NULL ||
			!mmrt_range_valid(start, length) || sub->as != NULL)
		return -EINVAL;
	return interval_insert(sub, as, start, length, NULL, kind);
}

/* model: models/notifier.pml [N.5] */
void
mmrt_interval_notifier_remove(struct mmrt_interval_notifier *sub)
{
	struct mm_subscriptions *subs;
	uint64_t seq = 0;
	bool wait = false;

	if (sub == NULL || sub->as == NULL)
		return;
	subs = sub->as->subs;

	mm_spin_lock(&subs->lock, MM_LC_SUBS);
	if (subs->invalidate_seq & 1) {
		if (!sub->node.in_tree) {
			/* deferred insert not applied yet: cancel it */
			deferred_del(sub);
			iplain_gone(subs, sub);
		} else {
			/* a running invalidation may be calling sub: queue
			 * the removal for the last end and wait for it */
			deferred_add(subs, sub);
			seq = subs->invalidate_seq;
			wait = true;
		}
	} else {
		mm_itree_remove(&subs->itree, &sub->node);
		iplain_gone(subs, sub);
	}
	mm_spin_unlock(&subs->lock, MM_LC_SUBS);

	if (wait) {
		unsigned int spins = 0;
		bool released = false;

		MM_BLOCKING_BEGIN();
		while (!released) {
			/* pairs with the release store in itree_inv_end() */
			while (seq_load(subs) == seq)
				core_wait_step(&spins, NOTIFIER_SPINS);
			/* re-check under the lock: the deferred removal and
			 * the seq change are one critical section there */
			mm_spin_lock(&subs->lock, MM_LC_SUBS);
			released = subs->invalidate_seq != seq;
			mm_spin_unlock(&subs->lock, MM_LC_SUBS);
		}
		MM_BLOCKING_END();
		RTE_ASSERT(!sub->node.in_tree);
	}
	sub->as = NULL;
	sub->ops = NULL;
}

/* model: models/notifier.pml [N.6] */
uint64_t
mmrt_interval_read_begin(struct mmrt_interval_notifier *sub)
{
	struct mm_subscriptions *subs;
	uint64_t seq;
	bool invalidating;

	if (sub == NULL || sub->as == NULL)
		return 0;
	subs = sub->as->subs;
	/*
	 * A reader that starts while sub is being invalidated waits for the
	 * end of that write period, not for the space to become idle:
	 *
	 *   invalidator                     reader
	 *   start: seq |= 1 (S)
	 *   invalidate: set_seq(sub, S)
	 *                                   read_begin: sub seq == S == seq
	 *                                   ... spin while seq == S
	 *   end: seq = S + 1
	 *                                   return S
	 *                                   read_retry(S): false (until the
	 *                                   next covering invalidation)
	 *
	 * The pair (sub seq, subs seq) is read under the lock so that it is
	 * one snapshot.
	 */
	mm_spin_lock(&subs->lock, MM_LC_SUBS);
	seq = __atomic_load_n(&sub->invalidate_seq, __ATOMIC_RELAXED);
	invalidating = seq == subs->invalidate_seq;
	mm_spin_unlock(&subs->lock, MM_LC_SUBS);
	if (invalidating) {
		unsigned int spins = 0;

		MM_BLOCKING_BEGIN();
		/* pairs with the release store in itree_inv_end() */
		while (seq_load(subs) == seq)
			core_wait_step(&spins, NOTIFIER_SPINS);
		MM_BLOCKING_END();
	}
	return seq;
}

/* model: models/notifier.pml [N.6] */
int
mmrt_interval_read_try_begin(struct mmrt_interval_notifier *sub,
	uint64_t *seq)
{
	struct mm_subscriptions *subs;
	uint64_t s;
	bool invalidating;

	if (sub == NULL || seq == NULL || sub->as == NULL)
		return -EINVAL;
	subs = sub->as->subs;
	if (!mm_spin_trylock(&subs->lock, MM_LC_SUBS))
		return -EBUSY;
	s = __atomic_load_n(&sub->invalidate_seq, __ATOMIC_RELAXED);
	invalidating = s == subs->invalidate_seq;
	mm_spin_unlock(&subs->lock, MM_LC_SUBS);
	if (invalidating)
		return -EBUSY;
	*seq = s;
	return 0;
}

/* model: models/notifier.pml [N.6] */
bool
mmrt_interval_read_retry(struct mmrt_interval_notifier *sub, uint64_t seq)
{
	/* pairs with the release store in mmrt_interval_set_seq() */
	return __atomic_load_n(&sub->invalidate_seq, __ATOMIC_ACQUIRE) != seq;
}

bool
mmrt_interval_check_retry(struct mmrt_interval_notifier *sub, uint64_t seq)
{
	/* pairs with the release store in mmrt_interval_set_seq() */
	return __atomic_load_n(&sub->invalidate_seq, __ATOMIC_ACQUIRE) != seq;
}

/* model: models/notifier.pml [N.2] */
void
mmrt_interval_set_seq(struct mmrt_interval_notifier *sub, uint64_t cur_seq)
{
	/* pairs with the acquire loads in read_retry/check_retry */
	__atomic_store_n(&sub->invalidate_seq, cur_seq, __ATOMIC_RELEASE);
}

/* ---- public: legacy notifiers ---- */

/* Under subs->lock: the link that points to @sub, or NULL. */
static struct mmrt_notifier **
list_find(struct mm_subscriptions *subs, const struct mmrt_notifier *sub)
{
	struct mmrt_notifier **link;

	for (link = &subs->list; *link != NULL; link = &(*link)->next)
		if (*link == sub)
			return link;
	return NULL;
}

int
mmrt_notifier_register(struct mmrt_notifier *sub, struct mmrt_as *as)
{
	const struct mmrt_notifier_ops *ops;
	struct mm_subscriptions *subs;
	int ret = 0;

	if (sub == NULL || !mm_as_live(as) || as->subs == NULL ||
			sub->kind >= MMRT_NOTIFIER_KIND_MAX)
		return -EINVAL;
	ops = nb_ops(sub);
	if (ops == NULL)
		return -EINVAL;
	/* a plain subscriber's functions are this process's alone */
	if (sub->kind == 0 && rte_eal_process_type() != RTE_PROC_PRIMARY)
		return -E_RTE_SECONDARY;
	if ((ops->tlbs_post == NULL) != (ops->tlbs_wait == NULL))
		return -EINVAL;
	if ((ops->invalidate_secondary_tlbs != NULL) +
			(ops->tlbs_post != NULL) +
			(ops->invalidate_range_start != NULL ||
			 ops->invalidate_range_end != NULL) > 1)
		return -EINVAL;
	subs = as->subs;
	/*
	 * Every start/end pair runs under the map lock: holding it for
	 * writing, as the kernel holds mmap_lock, no pair is open, so the
	 * new subscriber sees whole pairs only (never an end without its
	 * start), and the count of start/end subscribers the walks skip on
	 * (n_range_ops) cannot change inside a pair.
	 */
	MM_BLOCKING_BEGIN();
	mm_write_lock(&as->map_lock, MM_LC_MAP);
	mm_spin_lock(&subs->lock, MM_LC_SUBS);
	if (subs->released)
		ret = -EINVAL;
	else if (list_find(subs, sub) != NULL)
		ret = -EEXIST;
	if (ret == 0) {
		sub->as = as;
		sub->released = 0;
		sub->next = subs->list;
		if (ops->invalidate_range_start != NULL ||
				ops->invalidate_range_end != NULL)
			__atomic_store_n(&subs->n_range_ops,
				subs->n_range_ops + 1, __ATOMIC_RELAXED);
		if (sub->kind == 0)
			__atomic_store_n(&subs->n_plain, subs->n_plain + 1,
				__ATOMIC_RELAXED);
		/* publish the initialised node: pairs with list_first() */
		__atomic_store_n(&subs->list, sub, __ATOMIC_RELEASE);
	}
	mm_spin_unlock(&subs->lock, MM_LC_SUBS);
	mm_write_unlock(&as->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
	return ret;
}

int
mmrt_notifier_unregister(struct mmrt_notifier *sub, struct mmrt_as *as)
{
	struct mm_subscriptions *subs;
	struct mmrt_notifier **link;
	uint32_t zero = 0;
	bool detached;

	if (sub == NULL || !mm_as_live(as) || as->subs == NULL)
		return -EINVAL;
	subs = as->subs;
	mm_spin_lock(&subs->lock, MM_LC_SUBS);
	link = list_find(subs, sub);
	if (link == NULL) {
		/* detached by mm_notify_release(): not an error */
		detached = subs->released && sub->as == as;
		mm_spin_unlock(&subs->lock, MM_LC_SUBS);
		if (!detached)
			return -ENOENT;
		readers_wait(subs);
		sub->as = NULL;
		return 0;
	}
	/* the unlinked node keeps its link for readers standing on it */
	__atomic_store_n(link, sub->next, __ATOMIC_RELEASE);
	if (nb_ops(sub)->invalidate_range_start != NULL ||
			nb_ops(sub)->invalidate_range_end != NULL)
		__atomic_store_n(&subs->n_range_ops, subs->n_range_ops - 1,
			__ATOMIC_RELAXED);
	if (sub->kind == 0)
		__atomic_store_n(&subs->n_plain, subs->n_plain - 1,
			__ATOMIC_RELAXED);
	mm_spin_unlock(&subs->lock, MM_LC_SUBS);

	if (nb_ops(sub)->release != NULL &&
			__atomic_compare_exchange_n(&sub->released, &zero, 1,
			false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		nb_ops(sub)->release(sub, as);
	readers_wait(subs);
	sub->as = NULL;
	return 0;
}

static inline bool
young_range_ok(uint64_t start, uint64_t end)
{
	return start < end && mm_range_valid_pages(start, end - start);
}

int
mmrt_as_clear_young(struct mmrt_as *as, uint64_t start, uint64_t end)
{
	if (!mm_as_live(as) || !young_range_ok(start, end))
		return -EINVAL;
	return mm_notify_clear_young(as, start, end);
}

int
mmrt_as_test_young(struct mmrt_as *as, uint64_t addr)
{
	if (!mm_as_live(as) || addr >= MMRT_VA_LIMIT)
		return -EINVAL;
	return mm_notify_test_young(as, addr);
}

/*
 * A dead process (slot @slot) may have died inside a legacy traversal
 * (its readers count stays up: unregister and release would wait for it
 * for ever) or inside a write period (mm_notify_start() without its end:
 * active_invalidate_ranges and an odd invalidate_seq stay, and
 * mmrt_interval_read_begin() and interval removal wait for ever). Its
 * locks were released before this step (lib/core/core_robust.c), so its
 * traversal or period is over: its reader count is zeroed, its write
 * periods are taken out of active_invalidate_ranges (recounted from the
 * live processes' per-slot copies, kept under the same lock), and if
 * none is left the
 * period ends as itree_inv_end() would end it. Not repaired: a death
 * inside itree_inv_idle()'s deferred tree edits (a torn tree). Runs
 * before lib/dev's step, whose unregisters wait for readers.
 */
struct notify_reap_arg {
	unsigned int slot;
	int n;
};

static int
notify_reap_as(struct mmrt_as *as, void *arg)
{
	struct notify_reap_arg *a = arg;
	struct mm_subscriptions *subs = as->subs;
	uint64_t live;
	uint32_t dead;
	unsigned int i;
	bool fixed;

	if (subs == NULL)
		return 0;
	fixed = __atomic_exchange_n(&subs->readers[a->slot], 0,
		__ATOMIC_RELEASE) != 0;
	mm_spin_lock(&subs->lock, MM_LC_SUBS);
	dead = subs->slot_active[a->slot];
	subs->slot_active[a->slot] = 0;
	/* the live processes' parts (a death between the two increments
	 * of itree_inv_start(), under this lock, is counted right too) */
	for (i = 0, live = 0; i < MMRT_PROC_MAX; i++)
		live += subs->slot_active[i];
	if (dead != 0 || live != subs->active_invalidate_ranges) {
		subs->active_invalidate_ranges = live;
		fixed = true;
	}
	if (subs->active_invalidate_ranges == 0 &&
			(subs->invalidate_seq & 1)) {
		itree_inv_idle(subs);
		fixed = true;
	}
	mm_spin_unlock(&subs->lock, MM_LC_SUBS);
	if (fixed)
		MMRT_LOG(NOTICE, mm, "space %s: ended what a dead process left"
			" of its notifier traversals and write periods",
			mmrt_as_name(as));
	a->n += fixed;
	return 0;
}

static int
notify_reap(int32_t pid, unsigned int slot)
{
	struct notify_reap_arg a = { .slot = slot, .n = 0 };

	RTE_SET_USED(pid);
	if (slot >= MMRT_PROC_MAX || !mmrt_is_up())
		return 0;
	mmrt_as_foreach(notify_reap_as, &a);
	return a.n;
}

RTE_INIT(notify_reap_register)
{
	/* before lib/dev's step (30): its unregisters wait for readers */
	mmrt_reap_register("mm.notify", 35, notify_reap);
}
