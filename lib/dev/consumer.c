/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Device-TLB consumers: the registry, create/destroy, bind/unbind, the
 * fence and the quarantine, statistics. The device TLB is in dev_tlb.c,
 * the invalidation protocol (mailbox, ring, acks, poll) in dev_inval.c,
 * the miss path and page requests in dev_prq.c (dev_priv.h lists them).
 *
 * The registry. consumers lists every live consumer, under consumers_lock
 * (a leaf lock); names are unique in it. It is a named list
 * (core_namelist.h): a consumer is live while its magic is
 * CONSUMER_MAGIC, set when it enters the list and cleared when it
 * leaves, both under consumers_lock. consumer_live() checks the magic
 * only, so it tells a destroyed consumer from a live one only until the
 * memory is reused (by a later create, say): see mmrt_consumer_destroy().
 * Binding ids (next_id, under consumers_lock) go round-robin through
 * 1..CONSUMER_ID_MAX-1, skipping ids of live bindings.
 *
 * Process death: dev_reap() at the end of the file.
 *
 * Locks: bind_lock -> consumers_lock; inv_lock and quar_lock are leaves
 * among the locks of mm and dev (quar_lock is held across rte_realloc()
 * and frame references). The notifier's ops may run with the
 * invalidator's map lock and PT locks held; the fault probe (dev_prq.c)
 * only tries bind_lock and lib/mm's locks.
 */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_memzone.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_spinlock.h>

#include "mm_locking.h"
#include "core_namelist.h"
#include "core_testhooks.h"
#include "dev_priv.h"

RTE_LOG_REGISTER(mmrt_logtype_dev, lib.mmrt.dev, NOTICE);

int32_t dev_self_pid;

/*
 * The registry is shared by every process of the runtime (memzone
 * DEV_REG_MZ, found by a secondary by name): a consumer made in a
 * secondary is listed, named and given a binding id beside the
 * primary's, and the list links are DPDK memory. The memzone is made
 * once by the primary and kept until the EAL goes (a consumer left
 * alive at mmrt_fini() stays listed for the next attach, as before).
 * Each consumer remembers the process that made it (pid), for a
 * secondary's mmrt_fini().
 */
#define DEV_REG_MZ "mmrt_consumers"
struct dev_registry {
	struct core_namelist consumers;  /* its lock is consumers_lock */
	uint32_t id_next;                /* under consumers_lock */
};
static struct dev_registry *dev_reg;
#define consumers (&dev_reg->consumers)
#define next_id (dev_reg->id_next)

struct mmrt_consumer *
mmrt_consumer_lookup(const char *name)
{
	struct mmrt_consumer *c;

	if (!core_namelist_name_ok(&consumer_kind, name)) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (dev_reg == NULL) {
		rte_errno = ENODEV;
		return NULL;
	}
	c = core_namelist_find(consumers, &consumer_kind, name);
	if (c == NULL)
		rte_errno = ENOENT;
	return c;
}

int
mmrt_consumer_pid(const struct mmrt_consumer *c)
{
	if (!consumer_live(c))
		return -EINVAL;
	return (int)c->pid;
}

/* Is @id a live binding's id? (consumers_lock held) */
static bool
id_in_use(uint32_t id)
{
	struct mmrt_consumer *c;

	CORE_NAMELIST_FOREACH(c, consumers, &consumer_kind)
		if (c->id == (int)id)
			return true;
	return false;
}

/*
 * Give @c the next free binding id, round-robin (bind_lock held).
 * @return the id, -ENOSPC (every id is bound).
 */
static int
binding_id_alloc(struct mmrt_consumer *c)
{
	uint32_t id, tries;

	core_namelist_lock(consumers, &consumer_kind);
	for (tries = 0; tries < CONSUMER_ID_MAX; tries++) {
		id = next_id;
		next_id = next_id + 1 < CONSUMER_ID_MAX ? next_id + 1 : 1;
		if (!id_in_use(id))
			break;
	}
	if (tries == CONSUMER_ID_MAX) {
		core_namelist_unlock(consumers, &consumer_kind);
		return -ENOSPC;
	}
	c->id = (int)id;
	core_namelist_unlock(consumers, &consumer_kind);
	return (int)id;
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
	r = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc(NULL, sz, RTE_CACHE_LINE_SIZE);
	if (r == NULL)
		return NULL;
	snprintf(rname, sizeof(rname), "%s%s", pfx, name);
	if (rte_ring_init(r, rname, count, flags) != 0) {
		rte_free(r);
		return NULL;
	}
	return r;
}

/* Free @c and what it owns (NULL members are fine). */
static void
consumer_free(struct mmrt_consumer *c)
{
	rte_free(c->quar);
	rte_free(c->core.tlb);
	rte_free(c->victim);
	rte_free(c->pr_pending);
	rte_free(c->inv_ring);
	rte_free(c->pr_ring);
	rte_free(c);
}

struct mmrt_consumer *
mmrt_consumer_create(const struct mmrt_consumer_conf *conf)
{
	struct mmrt_consumer_conf cf = { 0 };
	struct mmrt_consumer *c;

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
	if (cf.name != NULL && !core_namelist_name_ok(&consumer_kind,
			cf.name)) {
		rte_errno = EINVAL;
		return NULL;
	}

	c = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc("mmrt_consumer", sizeof(*c), RTE_CACHE_LINE_SIZE);
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
	c->pid = (int32_t)getpid();
	rte_spinlock_init(&c->bind_lock);
	rte_spinlock_init(&c->inv_lock);
	rte_spinlock_init(&c->quar_lock);
	c->core.tlb = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc(NULL, sizeof(struct mmrt_dev_tlbe) *
		dev_tlb_slots(cf.tlb_sets, cf.tlb_ways), RTE_CACHE_LINE_SIZE);
	c->victim = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc(NULL, cf.tlb_sets, 0);
	c->pr_pending = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc(NULL, sizeof(uint64_t) * cf.ring_size,
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

	if (core_namelist_add(consumers, &consumer_kind, c, cf.name) != 0) {
		rte_errno = EEXIST;
		goto fail;
	}
	return c;

nomem:
	rte_errno = ENOMEM;
fail:
	if (c != NULL)
		consumer_free(c);
	return NULL;
}

/* model: models/inval.pml [D.6] */
void
dev_fence(struct mmrt_consumer *c, const char *why)
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

/*
 * Drop every quarantined reference (quar_lock held).
 * model: models/inval.pml [D.7]
 */
static void
quarantine_put_all(struct mmrt_consumer *c)
{
	if (c->quar_n > 0)
		mmrt_frame_put_bulk(c->quar, (unsigned int)c->quar_n);
	c->quar_n = 0;
}

void
dev_fence_deadline(struct mmrt_consumer *c)
{
	if (mmrt_process_alive(c->pid)) {
		dev_fence(c, "ack deadline missed");
		return;
	}
	/*
	 * Its process died: fenced like any late consumer (its quarantine
	 * holds what the space releases from now on, until mmrt_reap_dead()
	 * unbinds it), and its reader slots go now, so that no grace period
	 * waits for it; the rest is mmrt_reap_dead()'s, which may wait and
	 * so cannot run here (the caller may hold PT locks).
	 */
	dev_fence(c, "ack deadline missed, its process died"
		" (mmrt_reap_dead() reclaims it)");
	mmrt_qsbr_reap();
#ifdef MMRT_TEST_HOOKS
	if (mmrt_test_reap_skipped() & MMRT_TEST_REAP_SKIP_QUARANTINE) {
		/* negative control: trust the death, quarantine nothing */
		mm_spin_lock(&c->quar_lock, MM_LC_QUAR);
		c->quar_closed = true;
		quarantine_put_all(c);
		mm_spin_unlock(&c->quar_lock, MM_LC_QUAR);
	}
#endif
}

void
dev_quarantine_close(struct mmrt_consumer *c)
{
	/*
	 * First poll since the fence: nothing in flight uses a cached
	 * translation any more (the poll contract), so drop them all and
	 * let the quarantined frames go.
	 */
	dev_tlb_flush_all(c);
	mm_spin_lock(&c->quar_lock, MM_LC_QUAR);
	c->quar_closed = true;
	quarantine_put_all(c);
	mm_spin_unlock(&c->quar_lock, MM_LC_QUAR);
}

/*
 * The notifier's quarantine op: while fenced and not yet re-synchronised
 * by a poll, hold a reference on every frame the space releases.
 *
 * If the list cannot grow, the invalidator waits and tries again: a frame
 * the fenced device may still reach must neither go back to the pool nor
 * be held where no one would ever let it go (the pool count would be
 * wrong for good after the consumer is reaped). The wait ends when the
 * allocation succeeds, when the quarantine closes (the owner polled) or
 * when the owner unbinds (its state leaves FENCED before the unbind waits
 * for this callback): then the frames need no holding. It sleeps with
 * quar_lock dropped, so mmrt_consumer_stats() and the owner's poll go on.
 * For an owner whose process is dead it does not wait (its reap
 * unregisters this callback before the state leaves FENCED, so the wait
 * would never end): the references are kept without a record, and those
 * frames are lost to the pool for good rather than freed under a device
 * the dead process may have left running.
 * model: models/inval.pml [D.5]
 */
#define QUAR_WAIT_US 100

static void
consumer_quarantine(struct mmrt_notifier *sub, struct mmrt_as *as,
	const uint32_t *pfns, unsigned int n)
{
	struct mmrt_consumer *c = container_of(sub, struct mmrt_consumer, nb);
	bool warned = false;
	unsigned int i;

	RTE_SET_USED(as);
	if (__atomic_load_n(&c->core.state, __ATOMIC_ACQUIRE) !=
			MMRT_CONSUMER_FENCED)
		return;
	mm_spin_lock(&c->quar_lock, MM_LC_QUAR);
	for (;;) {
		uint64_t cap;
		uint32_t *q;

		/* closed by the owner's poll, or unbound by the owner (its
		 * promise: nothing in flight uses the space any more) */
		if (c->quar_closed || __atomic_load_n(&c->core.state,
				__ATOMIC_ACQUIRE) != MMRT_CONSUMER_FENCED) {
			mm_spin_unlock(&c->quar_lock, MM_LC_QUAR);
			return;
		}
		if (c->quar_n + n <= c->quar_cap)
			break;
		cap = RTE_MAX(c->quar_cap * 2, c->quar_n + n + 512);
		q = TEST_ALLOC_FAIL() ? NULL :
			rte_realloc(c->quar, cap * sizeof(uint32_t), 0);
		if (q != NULL) {
			c->quar = q;
			c->quar_cap = cap;
			break;
		}
		mm_spin_unlock(&c->quar_lock, MM_LC_QUAR);
		/* a dead owner's reap waits for this callback and cannot
		 * leave FENCED first: keep the references unrecorded (the
		 * frames are lost to the pool, never reused under a device
		 * the dead process may have left running) */
		if (!mmrt_process_alive(c->pid)) {
			for (i = 0; i < n; i++)
				(void)mmrt_frame_get(pfns[i]);
			DEV_LOG(ERR, "consumer %s of dead process %d: no memory"
				" to quarantine %u frames: kept out of the pool"
				" for good", c->name, (int)c->pid, n);
			return;
		}
		if (!warned)
			DEV_LOG(WARNING, "consumer %s: no memory to quarantine"
				" %u frames: waiting for some (or its poll)",
				c->name, n);
		warned = true;
		rte_delay_us_sleep(QUAR_WAIT_US);
		mm_spin_lock(&c->quar_lock, MM_LC_QUAR);
	}
	for (i = 0; i < n; i++) {
		if (mmrt_frame_get(pfns[i]) != 0)
			continue;
		c->quar_total++;
		c->quar[c->quar_n++] = pfns[i];
	}
	mm_spin_unlock(&c->quar_lock, MM_LC_QUAR);
}

/*
 * The legacy notifier's secondary-TLB flush, in two halves: the flushing
 * thread posts to every bound consumer, then waits for each ack.
 * model: models/inval.pml [D.1] (post), [D.2] (wait)
 */
static uint64_t
consumer_tlbs_post(struct mmrt_notifier *sub, struct mmrt_as *as,
	uint64_t start, uint64_t end)
{
	RTE_SET_USED(as);
	return dev_inval_post(container_of(sub, struct mmrt_consumer, nb),
		start, end);
}

static void
consumer_tlbs_wait(struct mmrt_notifier *sub, struct mmrt_as *as,
	uint64_t token)
{
	RTE_SET_USED(as);
	dev_inval_wait(container_of(sub, struct mmrt_consumer, nb), token);
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
	mm_spin_lock(&c->bind_lock, MM_LC_BIND);
	binding_clear(c);
	mm_spin_unlock(&c->bind_lock, MM_LC_BIND);
}

static const struct mmrt_notifier_ops consumer_nb_ops = {
	.tlbs_post = consumer_tlbs_post,
	.tlbs_wait = consumer_tlbs_wait,
	.release = consumer_release,
	.quarantine = consumer_quarantine,
};

int
mmrt_consumer_bind(struct mmrt_consumer *c, struct mmrt_as *as)
{
	const struct mmrt_as_core *asc = (const struct mmrt_as_core *)as;
	int id, ret;

	if (!consumer_live(c) || as == NULL || asc->magic != MMRT_AS_MAGIC)
		return -EINVAL;
	if (!consumer_local(c))
		return -EPERM;
	mm_spin_lock(&c->bind_lock, MM_LC_BIND);
	if (c->as != NULL) {
		mm_spin_unlock(&c->bind_lock, MM_LC_BIND);
		return -EBUSY;
	}
	id = binding_id_alloc(c);
	if (id < 0) {
		mm_spin_unlock(&c->bind_lock, MM_LC_BIND);
		return id;
	}

	dev_tlb_flush_all(c);
	/* stale descriptors of an earlier binding */
	dev_inval_process(c);
	/* and its userfault memo (dev_prq.c): its token is another space's */
	c->uf_page = 0;
	c->as = as;
	c->asc = *asc;
	memset(&c->nb, 0, sizeof(c->nb));
	c->nb.ops = &consumer_nb_ops;
	/* called through each process's own consumer_nb_ops */
	c->nb.kind = MMRT_NOTIFIER_KIND_CONSUMER;
	__atomic_store_n(&c->core.state, MMRT_CONSUMER_BOUND, __ATOMIC_RELEASE);
	mm_spin_unlock(&c->bind_lock, MM_LC_BIND);

	/*
	 * Not under bind_lock: release may run from here on. This is where
	 * bind may wait: the register takes the map lock for writing.
	 */
	ret = mmrt_notifier_register(&c->nb, as);
	if (ret != 0) {
		mm_spin_lock(&c->bind_lock, MM_LC_BIND);
		binding_clear(c);
		mm_spin_unlock(&c->bind_lock, MM_LC_BIND);
		return ret == -EEXIST ? -EBUSY : ret;
	}
	return id;
}

/* model: models/inval.pml [D.10] */
int
mmrt_consumer_unbind(struct mmrt_consumer *c)
{
	struct mmrt_as *as;

	if (!consumer_live(c))
		return -EINVAL;
	if (!consumer_local(c))
		return -EPERM;
	mm_spin_lock(&c->bind_lock, MM_LC_BIND);
	as = c->as;
	if (as == NULL) {
		mm_spin_unlock(&c->bind_lock, MM_LC_BIND);
		return -ENOTCONN;
	}
	/* invalidators in flight stop waiting for this consumer */
	__atomic_store_n(&c->core.state, MMRT_CONSUMER_UNBOUND,
		__ATOMIC_RELEASE);
	mm_spin_unlock(&c->bind_lock, MM_LC_BIND);

	mmrt_notifier_unregister(&c->nb, as); /* calls consumer_release() */
	mm_spin_lock(&c->bind_lock, MM_LC_BIND);
	binding_clear(c);
	mm_spin_unlock(&c->bind_lock, MM_LC_BIND);
	/* no callback runs any more: the quarantine can go */
	mm_spin_lock(&c->quar_lock, MM_LC_QUAR);
	quarantine_put_all(c);
	c->quar_closed = false;
	mm_spin_unlock(&c->quar_lock, MM_LC_QUAR);
	dev_tlb_flush_all(c);
	dev_inval_process(c);
	dev_prq_reset(c);
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
	if (!consumer_local(c))
		return -EPERM;
	mmrt_consumer_unbind(c);
	core_namelist_del(consumers, &consumer_kind, c);
	consumer_free(c);
	return 0;
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
	mm_spin_lock((rte_spinlock_t *)(uintptr_t)&c->quar_lock, MM_LC_QUAR);
	st->quarantined = c->quar_total;
	st->quarantine_held = c->quar_n;
	mm_spin_unlock((rte_spinlock_t *)(uintptr_t)&c->quar_lock, MM_LC_QUAR);
	return 0;
}

const char *
mmrt_consumer_name(const struct mmrt_consumer *c)
{
	return consumer_live(c) ? c->name : NULL;
}

/*
 * Iteration: consumers_lock held across the walk and the callbacks, so a
 * consumer on the list cannot leave it (core_namelist_del() waits) and its
 * memory stays. consumers_lock nests outside quar_lock here (the callback
 * may call mmrt_consumer_stats()); nothing takes consumers_lock under
 * quar_lock.
 */
int
mmrt_consumer_foreach(int (*cb)(struct mmrt_consumer *c, void *arg),
	void *arg)
{
	struct mmrt_consumer *c;
	int ret = 0;

	if (cb == NULL)
		return -EINVAL;
	if (dev_reg == NULL)
		return 0;
	core_namelist_lock(consumers, &consumer_kind);
	CORE_NAMELIST_FOREACH(c, consumers, &consumer_kind) {
		ret = cb(c, arg);
		if (ret != 0)
			break;
	}
	core_namelist_unlock(consumers, &consumer_kind);
	return ret;
}

/*
 * Reclaim of a dead process's consumers (mmrt_reap_dead(), through
 * mmrt_reap_register()). For each consumer it made, in this order:
 *   1. fence (BOUND -> FENCED): invalidators stop waiting for its acks,
 *      and from here on its quarantine holds every frame its space
 *      releases (it may have been fenced already, at an ack deadline);
 *   2. unregister its notifier (waits for a grace period and for the
 *      traversals in flight; the dead process's reader slots were freed
 *      before, so the grace period ends): no callback reaches it after;
 *   3. drop the quarantine: its owner is dead, no translation it cached
 *      is used any more (invariant A holds: every frame it could reach
 *      was quarantined from the fence until here);
 *   4. take it out of the registry and free it (its TLB, rings and page
 *      request slots are not processed: the owner may have died inside
 *      a dequeue).
 * Its locks: bind_lock and quar_lock are taken by live threads only for
 * short sections, so one held for DEV_DEAD_LOCK_MS was left by the dead
 * process (killed in bind, unbind, its probe or its poll) and is taken
 * over. inv_lock is an invalidator's lock: a fenced consumer takes no
 * more posts.
 */
#define DEV_DEAD_LOCK_MS 1000

static void
dead_lock(struct mmrt_consumer *c, rte_spinlock_t *l, const char *what)
{
	uint64_t end = rte_get_timer_cycles() +
		rte_get_timer_hz() * DEV_DEAD_LOCK_MS / 1000;

	while (!rte_spinlock_trylock(l)) {
		if (rte_get_timer_cycles() > end) {
			DEV_LOG(WARNING, "consumer %s: %s left held by its dead"
				" process, taken over", c->name, what);
			rte_spinlock_init(l);
			rte_spinlock_lock(l);
			return;
		}
		rte_delay_us_sleep(1); /* the holder may share this cpu */
	}
}

static void
consumer_reap(struct mmrt_consumer *c)
{
	struct mmrt_as *as;

	dev_fence(c, "its process died");
	dead_lock(c, &c->bind_lock, "bind_lock");
	as = c->as;
	mm_spin_unlock(&c->bind_lock, MM_LC_BIND);
	if (as != NULL)
		mmrt_notifier_unregister(&c->nb, as); /* consumer_release() */
	mm_spin_lock(&c->bind_lock, MM_LC_BIND);
	binding_clear(c);
	mm_spin_unlock(&c->bind_lock, MM_LC_BIND);
	dead_lock(c, &c->quar_lock, "quar_lock");
	quarantine_put_all(c);
	c->quar_closed = false;
	mm_spin_unlock(&c->quar_lock, MM_LC_QUAR);
	core_namelist_del(consumers, &consumer_kind, c);
	DEV_LOG(NOTICE, "consumer %s of dead process %d reclaimed", c->name,
		(int)c->pid);
	consumer_free(c);
}

static int
dev_reap(int32_t pid, unsigned int slot)
{
	struct mmrt_consumer *c;
	int n = 0;

	RTE_SET_USED(slot);
	if (dev_reg == NULL)
		return 0;
	/* one reaper per dead process: its consumers stay while we look */
	for (;;) {
		core_namelist_lock(consumers, &consumer_kind);
		CORE_NAMELIST_FOREACH(c, consumers, &consumer_kind)
			if (c->pid == pid)
				break;
		core_namelist_unlock(consumers, &consumer_kind);
		if (c == NULL)
			break;
		consumer_reap(c);
		n++;
	}
	return n;
}

/* The shared registry: made (primary, once per EAL) or found (secondary). */
static int
dev_init(const struct mmrt_config *cfg)
{
	const struct rte_memzone *mz;

	RTE_SET_USED(cfg);
	dev_self_pid = (int32_t)getpid();
	mz = rte_memzone_lookup(DEV_REG_MZ);
	if (mz == NULL && rte_eal_process_type() != RTE_PROC_PRIMARY) {
		MMRT_LOG(ERR, dev, "secondary: no consumer registry (%s) in"
			" the primary", DEV_REG_MZ);
		return -ENOENT;
	}
	if (mz == NULL) {
		mz = TEST_ALLOC_FAIL() ? NULL :
			rte_memzone_reserve(DEV_REG_MZ, sizeof(*dev_reg),
			SOCKET_ID_ANY, 0);
		if (mz == NULL)
			return -ENOMEM;
		dev_reg = mz->addr;
		memset(dev_reg, 0, sizeof(*dev_reg));
		core_namelist_init(consumers);
		dev_reg->id_next = 1;
		return 0;
	}
	dev_reg = mz->addr;
	return 0;
}

/*
 * A secondary leaves only once its own consumers are destroyed (their
 * owner threads are its threads); the primary keeps the registry.
 */
static int
dev_fini(void)
{
	struct mmrt_consumer *c;
	int32_t me = (int32_t)getpid();
	unsigned int n = 0;

	if (dev_reg == NULL)
		return 0;
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		core_namelist_lock(consumers, &consumer_kind);
		CORE_NAMELIST_FOREACH(c, consumers, &consumer_kind)
			if (c->pid == me)
				n++;
		core_namelist_unlock(consumers, &consumer_kind);
		if (n > 0) {
			MMRT_LOG(ERR, dev, "fini: %u consumers of this process"
				" still alive", n);
			return -EBUSY;
		}
	}
	dev_reg = NULL;
	return 0;
}

MMRT_SUBSYS_REGISTER(dev_subsys, "dev", 30, dev_init, dev_fini);

/* A forked child is another process: its consumers are its own. */
static void
dev_atfork_child(void)
{
	dev_self_pid = (int32_t)getpid();
}

RTE_INIT(mmrt_dev_register)
{
	dev_self_pid = (int32_t)getpid();
	pthread_atfork(NULL, NULL, dev_atfork_child);
	mmrt_reap_register("dev", dev_subsys.order, dev_reap);
	/* every process calls consumers through its own functions */
	mmrt_notifier_kind_ops(MMRT_NOTIFIER_KIND_CONSUMER, &consumer_nb_ops);
}
