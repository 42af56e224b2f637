/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Userfault (mmrt_uffd.h, docs/architecture.md), the context side:
 * create/destroy, features, register/unregister, the pending-fault table,
 * post/wake/wait, read and events. The page-table side (fills,
 * write-protect, move) is uffd_fill.c, one layer up.
 *
 * Registration is a property of regions (r->uffd, r->uffd_mode), changed
 * only under the write map lock. Faults classify a page under the read map
 * lock (mm_uffd_fault()); fills install pages under the read map lock and
 * the leaf's PT lock, with the page contents written before the release
 * store that publishes the entry (pairs with the acquire loads of walkers).
 *
 * Pending faults, per uffd: a small open-addressed table of
 * page | tag | 1 words, the dedup set. A page is
 *   idle:     no slot holds it
 *   pending:  a slot holds it (tag 0), its message is queued (or is
 *             being read)
 *   read:     a slot holds it with tag = 1 + the process slot
 *             (mmrt_process_slot()) of the handler that read it
 * Transitions:
 *   idle -> pending      a fault claims a slot (CAS 0 -> page | 1), then
 *                        queues its message (undone if the ring is full)
 *   pending -> read      mmrt_uffd_read(), right after the dequeue (CAS)
 *   pending/read -> idle a wake of a range holding it (CAS back to 0)
 *   read -> idle         the reclaim of the handler's dead process
 *                        (uffd_reap()), then a wake_seq increment: the
 *                        waiters retry, post the fault again (it is idle)
 *                        and the next handler reads it
 * Faults of a pending or read page post nothing (deduplicated).
 *
 * Waiters (mmrt_fault(), CPU accessors) use the wake sequence, not the
 * slots: a waiter loads wake_seq (acquire) BEFORE it looks at the page
 * table, posts, drops the map lock and waits until wake_seq moves. A fill
 * publishes the entry first and then increments wake_seq (release RMW), so
 * a fill the waiter did not see in the page table moves wake_seq after the
 * waiter's load: no lost wakeup (the kernel's re-check after enqueue).
 * Waiters also re-check every millisecond (a fault not posted because the
 * ring was full is posted again) and give up at the uffd's timeout.
 *
 * Layout changes (fork, remap, remove, unmap) with the matching EVENT
 * feature: the operation increments `changing` under the write side of
 * changing_lock before it changes anything (so it waits for fills that
 * hold the read side) and queues its event when it is done; reading the
 * event decrements `changing`; an operation that fails decrements it
 * itself. Fills check `changing` under the read side and return -EAGAIN.
 */

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_memzone.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_rwlock.h>

#include "mm_locking.h"
#include "core_wait.h"
#include "mm_testhooks.h"
#include "mm_pte.h"
#include "mm_host_pte.h"
#include "mm_as.h"
#include "mm_object.h"
#include "mm_region.h"
#include "mm_notify.h"
#include "mm_gather.h"
#include "mm_pgtable.h"
#include "mm_uffd.h"
#include "mm_uffd_ctx.h"
#include "mmrt_uffd.h"

#define UFFD_RING_DEFAULT 4096u
#define UFFD_TIMEOUT_US_DEFAULT UINT64_C(10000000)
#define UFFD_WAKE_PROBE_MAX 64 /* pages probed one by one in a wake */
#define UFFD_RECHECK_US 1000   /* waiters re-check this often */
#define UFFD_SPINS 2048        /* waiters spin this many times, then sleep */
#define PAGE_MASK_ (MMRT_PAGE_SIZE - 1)
/* A pending slot's reader tag: bits 1..7, 1 + the reader's process slot. */
#define PEND_TAG_SHIFT 1
#define PEND_TAG_MASK (UINT64_C(0x7f) << PEND_TAG_SHIFT)
_Static_assert(MMRT_PROC_MAX + 1 <= 0x7f, "tags fit in PEND_TAG_MASK");

/* Does pending-slot word @cur hold @want (page | 1), read or not? */
static inline bool
pend_is(uint64_t cur, uint64_t want)
{
	return (cur & ~PEND_TAG_MASK) == want;
}
#define HUGE_MASK_ (MMRT_HUGE_SIZE - 1)

_Static_assert(sizeof(struct mmrt_uffd_msg) == 32, "uffd_msg is 32 bytes");
/* the posters' statistics in the first line of st, the fills' in the
 * second (mm_uffd_ctx.h) */
_Static_assert(offsetof(struct mmrt_uffd_stats, events) <
	RTE_CACHE_LINE_SIZE, "posters' statistics in one line");
_Static_assert(offsetof(struct mmrt_uffd_stats, wakes) >=
	RTE_CACHE_LINE_SIZE, "fills' statistics in the next line");

/* ---- the wake table ---------------------------------------------------- */

/*
 * Wake sequences live in one table in DPDK shared memory, made at start-up
 * by the primary and freed at its mm_fini(), not in the uffds: a mmrt_fault_token keeps a pointer to one
 * and may load it after its uffd was destroyed (the destroy moved it
 * first). Uffds take slots round robin; uffds that share a slot wake each
 * other's waiters and tokens for nothing, which only costs a re-check.
 */
#define WAKE_MZ "mmrt_uffd_wake"
#define WAKE_SLOTS 64

struct wake_tab {
	uint32_t next;                        /* slots handed out */
	struct {
		uint64_t seq;
	} __rte_cache_aligned slot[WAKE_SLOTS];
};

static const struct rte_memzone *wake_mz; /* the primary's, to free */
static struct wake_tab *wake_tab;

bool mm_has_prefetchw; /* mm_uffd.h: CPUID 0x80000001 ECX bit 8 */

int
mm_uffd_subsys_init(void)
{
	const struct rte_memzone *mz;
#if defined(__x86_64__) || defined(__i386__)
	unsigned int a, b, c, d;
#endif

#if defined(__x86_64__) || defined(__i386__)
	if (__get_cpuid(0x80000001u, &a, &b, &c, &d))
		mm_has_prefetchw = (c & (1u << 8)) != 0;
#else
	mm_has_prefetchw = true; /* the compiler's own write prefetch */
#endif
	if (rte_eal_process_type() == RTE_PROC_PRIMARY) {
		mz = TEST_ALLOC_FAIL() ? NULL :
			rte_memzone_reserve_aligned(WAKE_MZ,
			sizeof(struct wake_tab), SOCKET_ID_ANY, 0,
			RTE_CACHE_LINE_SIZE);
		if (mz == NULL)
			return -ENOMEM;
		memset(mz->addr, 0, sizeof(struct wake_tab));
		wake_mz = mz;
	} else {
		mz = rte_memzone_lookup(WAKE_MZ);
		if (mz == NULL)
			return -ENOENT;
	}
	wake_tab = mz->addr;
	return 0;
}

void
mm_uffd_subsys_fini(void)
{
	/* no uffd is left (mm_fini() checked that no space is) */
	wake_tab = NULL;
	rte_memzone_free(wake_mz);
	wake_mz = NULL;
}

/* ---- the fault queue --------------------------------------------------- */

/*
 * Fault messages travel in a bounded MP/MC queue of ring_size cells, one
 * cache line each: a cell holds a message and a sequence number (the
 * scheme of D. Vyukov's bounded MPMC queue). Cell i starts with seq i.
 * A post at position p (fq_head, posters only) takes the cell when its
 * seq is p (a seq below p: the cell's message of position p - ring_size
 * is not read yet, the queue is full), claims p by a CAS of fq_head, writes the message and stores seq p + 1
 * (release). A read at position p (fq_tail, readers only) takes the cell
 * when its seq is p + 1 (else it is empty), claims p by a CAS of fq_tail,
 * copies the message and stores seq p + ring_size (release: the copy is
 * done before a poster may rewrite the cell).
 *
 * Why not an rte_ring: a post there writes the producer head and tail
 * (a line the polling handler reads), reads the consumer tail (a line the
 * handler writes) and writes the slot, and the read does the mirror
 * image: three or four lines cross between the two cores per fault where
 * a ping-pong moves one each way. Here the poster and the reader each
 * touch their own position (a line the other side never reads) and the
 * one cell, which carries both the message and the "it is there".
 *
 * FIFO: positions are claimed in order and a read waits for the cell at
 * its position, so messages are read in the order their posts claimed
 * positions. A poster stopped between its claim and its seq store holds
 * up the reads behind it (as the rte_ring's producer tail did); a poster
 * that dies there blocks the queue, as it blocked the ring.
 */
static void
fq_init(struct mmrt_uffd *u, void *mem, uint32_t cells)
{
	uint32_t i;

	u->fq = mem;
	u->fq_mask = cells - 1;
	for (i = 0; i < cells; i++)
		u->fq[i].seq = i;
	u->fq_head = 0;
	u->fq_tail = 0;
}

/* Post @m; false if the queue is full. */
static bool
fq_put(struct mmrt_uffd *u, const struct mmrt_uffd_msg *m)
{
	uint64_t pos = __atomic_load_n(&u->fq_head, __ATOMIC_RELAXED), seq;
	struct uffd_cell *c;
	int64_t dif;

	for (;;) {
		c = &u->fq[pos & u->fq_mask];
		/* the reader's release of the cell */
		seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		dif = (int64_t)(seq - pos);
		if (dif == 0) {
			if (__atomic_compare_exchange_n(&u->fq_head, &pos,
					pos + 1, true, __ATOMIC_RELAXED,
					__ATOMIC_RELAXED))
				break;
		} else if (dif < 0) {
			return false;
		} else {
			pos = __atomic_load_n(&u->fq_head, __ATOMIC_RELAXED);
		}
	}
	c->msg = *m;
	/* the message, then its seq: pairs with the acquire in fq_take() */
	__atomic_store_n(&c->seq, pos + 1, __ATOMIC_RELEASE);
	return true;
}

/* Read up to @n messages, oldest first. */
static unsigned int
fq_take(struct mmrt_uffd *u, struct mmrt_uffd_msg *msgs, unsigned int n)
{
	uint64_t pos = __atomic_load_n(&u->fq_tail, __ATOMIC_RELAXED), seq;
	struct uffd_cell *c;
	unsigned int got = 0;
	int64_t dif;

	while (got < n) {
		c = &u->fq[pos & u->fq_mask];
		/* the poster's release of the message */
		seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		dif = (int64_t)(seq - (pos + 1));
		if (dif == 0) {
			if (!__atomic_compare_exchange_n(&u->fq_tail, &pos,
					pos + 1, true, __ATOMIC_RELAXED,
					__ATOMIC_RELAXED))
				continue;
			msgs[got++] = c->msg;
			/* the copy, then the cell is free again */
			__atomic_store_n(&c->seq, pos + u->fq_mask + 1,
				__ATOMIC_RELEASE);
			pos++;
		} else if (dif < 0) {
			break;
		} else {
			pos = __atomic_load_n(&u->fq_tail, __ATOMIC_RELAXED);
		}
	}
	return got;
}

/* ---- creation ---------------------------------------------------------- */

static struct mmrt_uffd *
uffd_new(struct mmrt_as *as, const char *uname, uint64_t features,
	uint32_t ring_size, uint64_t timeout_us)
{
	static uint32_t serial;
	char name[RTE_RING_NAMESIZE];
	struct wake_tab *wt = wake_tab;
	struct mmrt_uffd *u;
	uint32_t id = __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED);

	if (wt == NULL)
		return NULL;
	u = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc("mmrt_uffd", sizeof(*u), RTE_CACHE_LINE_SIZE);
	if (u == NULL)
		return NULL;
	u->pend = TEST_ALLOC_FAIL() ? NULL : rte_zmalloc("mmrt_uffd_pend",
		2 * (size_t)ring_size * sizeof(uint64_t), RTE_CACHE_LINE_SIZE);
	snprintf(name, sizeof(name), "mmuf_f_%d_%u", (int)getpid(), id);
	u->fq_mz = TEST_ALLOC_FAIL() ? NULL :
		rte_memzone_reserve_aligned(name,
		(size_t)ring_size * sizeof(struct uffd_cell), SOCKET_ID_ANY,
		0, RTE_CACHE_LINE_SIZE);
	snprintf(name, sizeof(name), "mmuf_e_%d_%u", (int)getpid(), id);
	u->events = TEST_ALLOC_FAIL() ? NULL :
		rte_ring_create_elem(name, sizeof(struct mmrt_uffd_msg),
		ring_size, SOCKET_ID_ANY, RING_F_EXACT_SZ);
	if (u->pend == NULL || u->fq_mz == NULL || u->events == NULL) {
		rte_memzone_free(u->fq_mz);
		rte_ring_free(u->events);
		rte_free(u->pend);
		rte_free(u);
		return NULL;
	}
	fq_init(u, u->fq_mz->addr, ring_size);
	if (uname != NULL)
		snprintf(u->name, sizeof(u->name), "%s", uname);
	u->pend_mask = 2 * ring_size - 1;
	u->features = features;
	u->ring_size = ring_size;
	u->timeout_us = timeout_us;
	u->timeout_cycles = timeout_us * rte_get_timer_hz() / 1000000;
	rte_rwlock_init(&u->changing_lock);
	u->wake_seq = &wt->slot[__atomic_fetch_add(&wt->next, 1,
		__ATOMIC_RELAXED) % WAKE_SLOTS].seq;
	u->as = as;
	u->magic = UFFD_MAGIC;
	return u;
}

static void
uffd_free(struct mmrt_uffd *u)
{
	u->magic = 0;
	rte_memzone_free(u->fq_mz);
	rte_ring_free(u->events);
	rte_free(u->pend);
	rte_free(u);
}

/* The uffd of @as named @name (map lock held either way), or NULL. */
static struct mmrt_uffd *
as_uffd_find(const struct mmrt_as *as, const char *name)
{
	struct mmrt_uffd *u;

	for (u = as->uffds; u != NULL; u = u->as_next)
		if (strcmp(u->name, name) == 0)
			return u;
	return NULL;
}

/* Is @name a valid uffd name (1..MMRT_UFFD_NAME_SIZE-1 chars)? */
static bool
uffd_name_ok(const char *name)
{
	size_t n;

	if (name == NULL)
		return false;
	n = strnlen(name, MMRT_UFFD_NAME_SIZE);
	return n > 0 && n < MMRT_UFFD_NAME_SIZE;
}

static unsigned int
as_uffd_count(const struct mmrt_as *as)
{
	const struct mmrt_uffd *u;
	unsigned int n = 0;

	for (u = as->uffds; u != NULL; u = u->as_next)
		n++;
	return n;
}

struct mmrt_uffd *
mmrt_uffd_create(struct mmrt_as *as, uint16_t api, uint64_t *features,
	const struct mmrt_uffd_conf *conf)
{
	uint32_t ring = UFFD_RING_DEFAULT;
	uint64_t tmo = UFFD_TIMEOUT_US_DEFAULT, want;
	struct mmrt_uffd *u;
	bool was_online;

	want = features != NULL ? *features : 0;
	if (features != NULL)
		*features = 0;
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		/* its rings and wake-ups would work; its registry does not */
		rte_errno = E_RTE_SECONDARY;
		return NULL;
	}
	if (!mm_as_live(as) || api != MMRT_UFFD_API ||
			(want & ~MMRT_UFFD_FEATURES_ALL)) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (conf != NULL) {
		if (conf->ring_size != 0)
			ring = conf->ring_size;
		if (conf->wait_timeout_us != 0)
			tmo = conf->wait_timeout_us;
		if (conf->name != NULL && !uffd_name_ok(conf->name)) {
			rte_errno = EINVAL;
			return NULL;
		}
	}
	if (ring < 64 || ring > 65536 || !rte_is_power_of_2(ring) ||
			tmo > UINT64_C(3600000000)) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (want & MMRT_UFFD_FEATURE_WP_ASYNC)
		want |= MMRT_UFFD_FEATURE_WP_UNPOPULATED;
	u = uffd_new(as, conf != NULL ? conf->name : NULL, want, ring, tmo);
	if (u == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	was_online = mmrt_thread_is_online();
	if (was_online)
		mmrt_thread_offline();
	mm_write_lock(&as->map_lock, MM_LC_MAP);
	if (as_uffd_count(as) >= MM_UFFD_PER_AS ||
			(u->name[0] != '\0' && as_uffd_find(as, u->name))) {
		rte_errno = as_uffd_count(as) >= MM_UFFD_PER_AS ? ENOSPC :
			EEXIST;
		mm_write_unlock(&as->map_lock, MM_LC_MAP);
		if (was_online)
			mmrt_thread_online();
		uffd_free(u);
		return NULL;
	}
	if (u->name[0] == '\0') {
		/* "uffd<k>", the first k free in the space (at most 16 used) */
		unsigned int k;

		for (k = 0; ; k++) {
			snprintf(u->name, sizeof(u->name), "uffd%u", k);
			if (as_uffd_find(as, u->name) == NULL)
				break;
		}
	}
	u->as_next = as->uffds;
	as->uffds = u;
	mm_write_unlock(&as->map_lock, MM_LC_MAP);
	if (was_online)
		mmrt_thread_online();
	if (features != NULL)
		*features = MMRT_UFFD_FEATURES_ALL;
	return u;
}

uint64_t
mmrt_uffd_features(const struct mmrt_uffd *u)
{
	return uffd_live(u) ? u->features : 0;
}

/* ---- pending faults and wakes ----------------------------------------- */

static void pend_clear(struct mmrt_uffd *u, uint64_t *s, uint64_t cur);

/* a page's first slot: in mm_uffd_ctx.h, where the fills prefetch it */
#define pend_hash mm_uffd_pend_hash

/*
 * Post a fault for @page unless one is pending. Never waits. Two posters
 * of one page may both miss each other's claim and post twice: both slots
 * are cleared by the wake, and the resolver's second fill is -EEXIST.
 */
static void
uffd_post(struct mmrt_uffd *u, uint64_t va, uint64_t flags,
	uint32_t requester)
{
	uint64_t page = va & ~PAGE_MASK_, want = page | 1, cur;
	uint64_t *claimed = NULL, *s;
	struct mmrt_uffd_msg m;
	uint32_t h = pend_hash(u, page), i;

	/* pending already? */
	for (i = 0; i < UFFD_PROBE; i++)
		if (pend_is(__atomic_load_n(&u->pend[(h + i) & u->pend_mask],
				__ATOMIC_ACQUIRE), want)) {
			ST_ADD(u, faults_dedup, 1);
			return;
		}
	/*
	 * pending -> counted before the message can be read and woken. An
	 * undo counts a clear (nclear), so npost never goes back: see
	 * pend_count().
	 */
	__atomic_fetch_add(&u->npost, 1, __ATOMIC_RELEASE);
	for (i = 0; i < UFFD_PROBE && claimed == NULL; i++) {
		s = &u->pend[(h + i) & u->pend_mask];
		cur = 0;
		if (__atomic_compare_exchange_n(s, &cur, want, false,
				__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			claimed = s;
		} else if (pend_is(cur, want)) {
			/* another poster claimed it just now */
			__atomic_fetch_add(&u->nclear, 1, __ATOMIC_RELEASE);
			__atomic_fetch_add(&u->nundo, 1, __ATOMIC_RELEASE);
			ST_ADD(u, faults_dedup, 1);
			return;
		}
	}
	if (claimed == NULL) {
		__atomic_fetch_add(&u->nclear, 1, __ATOMIC_RELEASE);
		__atomic_fetch_add(&u->nundo, 1, __ATOMIC_RELEASE);
		ST_ADD(u, faults_full, 1);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.event = MMRT_UFFD_EVENT_PAGEFAULT;
	m.arg.pagefault.flags = flags;
	m.arg.pagefault.address = (u->features &
		MMRT_UFFD_FEATURE_EXACT_ADDRESS) ? va : page;
	if (u->features & MMRT_UFFD_FEATURE_THREAD_ID)
		m.arg.pagefault.ptid = requester;
	if (!fq_put(u, &m)) {
		/* full: nothing queued; the requester retries */
		pend_clear(u, claimed, want);
		__atomic_fetch_add(&u->nundo, 1, __ATOMIC_RELEASE);
		ST_ADD(u, faults_full, 1);
		return;
	}
	/*
	 * Counted: the npost increment above, less the undone claims (nundo),
	 * is the messages queued, so a MISSING fault, the common kind, needs
	 * no RMW of its own (mmrt_uffd_stats() derives faults_missing).
	 */
	if (flags & MMRT_UFFD_PAGEFAULT_FLAG_WP)
		__atomic_fetch_add(&u->st.faults_wp, 1, __ATOMIC_RELEASE);
	else if (flags & MMRT_UFFD_PAGEFAULT_FLAG_MINOR)
		__atomic_fetch_add(&u->st.faults_minor, 1, __ATOMIC_RELEASE);
}

static void
pend_clear(struct mmrt_uffd *u, uint64_t *s, uint64_t cur)
{
	if (__atomic_compare_exchange_n(s, &cur, 0, false, __ATOMIC_ACQ_REL,
			__ATOMIC_RELAXED))
		__atomic_fetch_add(&u->nclear, 1, __ATOMIC_RELEASE);
}

/*
 * Faults pending (slots claimed, or about to be, and not cleared). nclear
 * is loaded first: every clear it counts follows (acquire, through the
 * cleared slot's CAS) the npost increment of its claim, so the npost
 * loaded after it counts that claim too and the difference is never
 * negative; 0 means that when npost was loaded no slot was claimed, as
 * the one counter used to say. Read by the paths that scan the whole
 * table (large wakes, the reap) and by the statistics, never by the
 * round trip of one fault: a wake of a few pages probes their slots
 * directly, so the handler never reads the posters' line.
 */
static inline uint64_t
pend_count(const struct mmrt_uffd *u)
{
	uint64_t cleared = __atomic_load_n(&u->nclear, __ATOMIC_ACQUIRE);

	return __atomic_load_n(&u->npost, __ATOMIC_ACQUIRE) - cleared;
}

/*
 * Wake [start, end): pending faults there become idle, waiters retry.
 * @lc: the caller's share index (mm_lc_id()), for the statistics.
 * model: models/uffd.pml [U.5]
 */
void
mm_uffd_wake_lc(struct mmrt_uffd *u, uint64_t start, uint64_t end,
	unsigned int lc)
{
	uint64_t page, cur;
	uint32_t h, i;

	/*
	 * A few pages: probe their slots, without reading the pending count
	 * (the posters' line); a page posted before the fill that woke it
	 * claimed its slot before the message the handler read. More: the
	 * whole table, if anything is pending at all.
	 */
	if (end - start <= UFFD_WAKE_PROBE_MAX * MMRT_PAGE_SIZE) {
		for (page = start & ~PAGE_MASK_; page < end;
				page += MMRT_PAGE_SIZE) {
			h = pend_hash(u, page);
			for (i = 0; i < UFFD_PROBE; i++) {
				uint64_t *s = &u->pend[(h + i) & u->pend_mask];

				cur = __atomic_load_n(s, __ATOMIC_ACQUIRE);
				if (pend_is(cur, page | 1))
					pend_clear(u, s, cur);
			}
		}
	} else if (pend_count(u) != 0) {
		for (i = 0; i <= u->pend_mask; i++) {
			cur = __atomic_load_n(&u->pend[i], __ATOMIC_ACQUIRE);
			page = cur & ~PAGE_MASK_;
			if (cur != 0 && page >= start && page < end)
				pend_clear(u, &u->pend[i], cur);
		}
	}
	/* release: the entries the fill published before the new sequence */
	__atomic_fetch_add(u->wake_seq, 1, __ATOMIC_RELEASE);
	ST_ADD_ID(u, wakes, lc, 1);
}

void
mm_uffd_wake(struct mmrt_uffd *u, uint64_t start, uint64_t end)
{
	mm_uffd_wake_lc(u, start, end, mm_lc_id());
}

/*
 * Move the wake sequence without waking any fault: a change that can turn
 * a pending fault's outcome without a wake (a protection change, a new
 * registration mode, a DONTWAKE fill or poison, write protection set)
 * must not leave a fault token (mmrt_fault_request_token()) unmoved.
 * Sleeping waiters re-check and, if their fault is still pending, wait
 * again.
 */
void
mm_uffd_nudge(struct mmrt_uffd *u)
{
	__atomic_fetch_add(u->wake_seq, 1, __ATOMIC_RELEASE);
}

void
mm_uffd_nudge_as(struct mmrt_as *as)
{
	struct mmrt_uffd *u;

	for (u = as->uffds; u != NULL; u = u->as_next)
		mm_uffd_nudge(u);
}

int
mmrt_uffd_wake(struct mmrt_uffd *u, const struct mmrt_uffd_range *r)
{
	if (!uffd_live(u) || r == NULL ||
			!mm_range_valid_pages(r->start, r->len))
		return -EINVAL;
	mm_uffd_wake(u, r->start, r->start + r->len);
	return 0;
}

void
mm_uffd_wake_as(struct mmrt_as *as, uint64_t start, uint64_t end)
{
	struct mmrt_uffd *u;

	for (u = as->uffds; u != NULL; u = u->as_next)
		mm_uffd_wake(u, start, end);
}

/* ---- faults ------------------------------------------------------------ */

/* Is page @idx of @obj there (a fault on it is minor)? mm_object.h */
static bool
object_has_page(struct mmrt_object *obj, uint64_t idx)
{
	return mm_object_has_page(obj, idx);
}

/* Take a PT lock; a poller's probe only tries (see probe_resolve()). */
static bool
pt_lock_for(const struct mm_fault_wait *w, uint32_t tbl)
{
	if (w->probe)
		return mm_spin_trylock(pt_lock(tbl), MM_LC_PT) != 0;
	mm_spin_lock(pt_lock(tbl), MM_LC_PT);
	return true;
}

/* ---- waiter references ------------------------------------------------ */

/*
 * A thread that waits for a fault's wake holds a reference on the uffd
 * (u->waiters), so that destroy frees it only once no waiter loads its
 * wake sequence. The references are counted per process slot, each word
 * (pid << 32) | count of the process attached in that slot, because a
 * process killed while one of its threads waited never drops its
 * reference: destroy would wait for ever. A word whose pid is no longer
 * the slot's live process is such a leftover (a live process in the slot
 * cannot be another pid): waiter_add() replaces it, and destroy drops it
 * (uffd_waiters_drain()). Not a fast path: consumers post without a
 * reference (nowait); only threads about to wait take one.
 */
static int32_t
waiter_add(struct mmrt_uffd *u)
{
	int slot = mmrt_process_slot();
	uint64_t *c, cur, want, pid;

	if (slot < 0 || slot >= MMRT_PROC_MAX)
		slot = 0; /* not attached: the runtime is going down */
	pid = (uint32_t)mmrt_process_slot_pid(slot);
	c = &u->waiters[slot];
	cur = __atomic_load_n(c, __ATOMIC_RELAXED);
	do {
		want = (cur >> 32) == pid ? cur + 1 : pid << 32 | 1;
	} while (!__atomic_compare_exchange_n(c, &cur, want, true,
			__ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
	return slot;
}

/* Does any slot hold a waiter reference? */
static bool
uffd_waiting(struct mmrt_uffd *u)
{
	unsigned int i;

	for (i = 0; i < MMRT_PROC_MAX; i++)
		if ((uint32_t)__atomic_load_n(&u->waiters[i],
				__ATOMIC_ACQUIRE) != 0)
			return true;
	return false;
}

/* Drop the references of processes gone from their slots; how many. */
static unsigned int
uffd_waiters_reap(struct mmrt_uffd *u)
{
	int me = mmrt_process_slot();
	uint64_t cur;
	unsigned int i, n = 0;

	for (i = 0; i < MMRT_PROC_MAX; i++) {
		cur = __atomic_load_n(&u->waiters[i], __ATOMIC_ACQUIRE);
		if ((uint32_t)cur == 0 || (int)i == me)
			continue;
#ifdef MMRT_TEST_HOOKS
		if (mmrt_test_reap_skipped() & MMRT_TEST_REAP_SKIP_WAITERS)
			continue; /* negative control: destroy waits for ever */
#endif
		if (mmrt_process_slot_gone((int)i, (int32_t)(cur >> 32)) &&
				__atomic_compare_exchange_n(&u->waiters[i],
				&cur, 0, false, __ATOMIC_RELAXED,
				__ATOMIC_RELAXED))
			n += (uint32_t)cur;
	}
	return n;
}

/* Look for references of dead processes this often while destroy waits. */
#define UFFD_REAP_US 1000

/*
 * Wait until no thread waits on @u. The waiters were woken and no fault
 * posts to @u any more (released, unregistered), so every live waiter
 * drops its reference soon; a dead process's are dropped here.
 */
static void
uffd_waiters_drain(struct mmrt_uffd *u)
{
	uint64_t period = rte_get_timer_hz() / (1000000 / UFFD_REAP_US);
	uint64_t next = rte_get_timer_cycles() + period;
	unsigned int spins = 0, n = 0;

	while (uffd_waiting(u)) {
		core_wait_step(&spins, UFFD_SPINS);
		if (rte_get_timer_cycles() >= next) {
			n += uffd_waiters_reap(u);
			next = rte_get_timer_cycles() + period;
		}
	}
	if (n > 0)
		MMRT_LOG(NOTICE, mm, "uffd %s: dropped %u waits of dead"
			" processes", u->name, n);
}

/* model: models/uffd.pml [U.2] */
int
mm_uffd_fault(struct mmrt_as *as, const struct mm_region *r, uint64_t va,
	uint32_t access, struct mm_fault_wait *w)
{
	struct mmrt_uffd *u = r->uffd;
	bool write = (access & MMRT_ACCESS_WRITE) != 0, huge;
	bool object = (r->flags & REGION_OBJECT) != 0;
	bool host = (r->flags & REGION_HOST) != 0;
	uint64_t seq, e = 0, flags, *p;
	uint32_t tbl;
	int err;

	/*
	 * A post RMWs lines the handler wrote last: the page's pending slot
	 * (cleared by the last wake there), the queue's next cell (freed by
	 * the last read), and reads the wake sequence (moved by the last
	 * wake). Each locked RMW of the post waits for the loads before it,
	 * so their misses would come one after the other: start all three
	 * now, beside the page-table walk. A prefetch never faults and
	 * changes nothing; on a fault that posts nothing it costs a line.
	 */
	mm_prefetchw(&u->pend[pend_hash(u, va & ~PAGE_MASK_)]);
	mm_prefetchw(&u->fq[__atomic_load_n(&u->fq_head,
		__ATOMIC_RELAXED) & u->fq_mask]);
	/* before the page table: see the file comment */
	seq = __atomic_load_n(u->wake_seq, __ATOMIC_ACQUIRE);
	p = mm_pt_leaf(as, va, false, &tbl, &huge, &err);
	if (p != NULL)
		e = pte_load(p);
	if (e & PTE_POISON)
		return -EHWPOISON;
	if (!(e & (PTE_P | PTE_PROTNONE))) {
		/* none, or a WP marker */
		if ((r->uffd_mode & MMRT_UFFD_REGISTER_MODE_MISSING) &&
				!object) {
			flags = 0;
		} else if ((r->uffd_mode & MMRT_UFFD_REGISTER_MODE_MINOR) &&
				(host || (object && object_has_page(r->obj,
				(r->obj_off + (va - r->start)) >>
				MMRT_PAGE_SHIFT)))) {
			/* host memory always has its bytes: minor */
			flags = MMRT_UFFD_PAGEFAULT_FLAG_MINOR;
		} else if ((e & PTE_UFFD_WP) && write &&
				(r->uffd_mode & MMRT_UFFD_REGISTER_MODE_WP) &&
				!(u->features & MMRT_UFFD_FEATURE_WP_ASYNC)) {
			flags = MMRT_UFFD_PAGEFAULT_FLAG_WP;
		} else {
			if ((e & PTE_UFFD_WP) && write) {
				/* asynchronous: the write clears the marker */
				if (!pt_lock_for(w, tbl))
					return MM_FAULT_WOULD_WAIT;
				if (pte_load(p) == e)
					pte_store(p, 0);
				mm_spin_unlock(pt_lock(tbl), MM_LC_PT);
				ST_ADD(u, wp_async, 1);
			}
			return MM_FAULT_ORDINARY;
		}
	} else {
		if (!write || !(e & PTE_UFFD_WP))
			return MM_FAULT_ORDINARY;
		if (!(r->uffd_mode & MMRT_UFFD_REGISTER_MODE_WP) ||
				(u->features & MMRT_UFFD_FEATURE_WP_ASYNC)) {
			if (!pt_lock_for(w, tbl))
				return MM_FAULT_WOULD_WAIT;
			if (pte_load(p) == e)
				pte_store(p, e & ~PTE_UFFD_WP);
			mm_spin_unlock(pt_lock(tbl), MM_LC_PT);
			ST_ADD(u, wp_async, 1);
			return MM_FAULT_ORDINARY;
		}
		flags = MMRT_UFFD_PAGEFAULT_FLAG_WP;
	}
	if (write)
		flags |= MMRT_UFFD_PAGEFAULT_FLAG_WRITE;
	if (u->features & MMRT_UFFD_FEATURE_SIGBUS) {
		ST_ADD(u, faults_sigbus, 1);
		return -EFAULT;
	}
	uffd_post(u, va, flags, w->requester);
	w->uffd = u;
	w->seq = seq;
	if (!w->nowait)
		w->slot = waiter_add(u);
	return MM_FAULT_POSTED;
}

void
mm_uffd_token(const struct mm_fault_wait *w, struct mmrt_fault_token *tok)
{
	tok->seq = w->uffd->wake_seq;
	tok->val = w->seq;
}

/* model: models/uffd.pml [U.3] */
int
mm_uffd_wait(struct mm_fault_wait *w)
{
	struct mmrt_uffd *u = w->uffd;
	uint64_t hz = rte_get_timer_hz(), t0, now;
	uint64_t recheck = hz * UFFD_RECHECK_US / 1000000;
	unsigned int spins = 0;
	int ret = 0;

	w->uffd = NULL;
	if (w->t0 == 0)
		w->t0 = rte_get_timer_cycles();
	t0 = rte_get_timer_cycles();
	while (__atomic_load_n(u->wake_seq, __ATOMIC_ACQUIRE) == w->seq &&
			!__atomic_load_n(&u->released, __ATOMIC_ACQUIRE)) {
		now = rte_get_timer_cycles();
		if (now - w->t0 >= u->timeout_cycles) {
			ret = -ETIMEDOUT;
			break;
		}
		if (now - t0 >= recheck)
			break;
		core_wait_step(&spins, UFFD_SPINS);
	}
	/* release: pairs with the acquire loads of uffd_waiting() */
	__atomic_fetch_sub(&u->waiters[w->slot], 1, __ATOMIC_RELEASE);
	return ret;
}

/* ---- write protection on unregister --------------------------------- */

/* Clear WP on every page of @u in [start, end). Map lock held. */
static void
wp_clear_all(struct mmrt_uffd *u, struct mmrt_as *as, uint64_t start,
	uint64_t end)
{
	uint32_t i;

	MM_FOR_EACH_REGION(as, i, start, end) {
		const struct mm_region *r = &as->regions[i];

		if (r->uffd != u)
			continue;
		/* clearing allocates nothing, so it cannot fail */
		(void)mm_wp_range(as, r, NULL, RTE_MAX(start, r->start),
			RTE_MIN(end, r->end), false, false);
	}
}

/* ---- registration ------------------------------------------------------ */

/*
 * The checks (un)registration starts with: @u live and [start, start +
 * len) whole pages, else -EINVAL; @u's space still there, else -ESRCH.
 * On 0, *@as is the space.
 */
static int
uffd_range_space(struct mmrt_uffd *u, uint64_t start, uint64_t len,
	struct mmrt_as **as)
{
	if (!uffd_live(u) || !mm_range_valid_pages(start, len))
		return -EINVAL;
	*as = uffd_space(u);
	return *as == NULL ? -ESRCH : 0;
}

int
mmrt_uffd_register(struct mmrt_uffd *u, uint64_t start, uint64_t len,
	uint64_t mode, uint64_t *ops)
{
	uint64_t end = start + len;
	struct mmrt_as *as;
	uint32_t i, first;
	int err;

	if (mode == 0 || (mode & ~(MMRT_UFFD_REGISTER_MODE_MISSING |
			MMRT_UFFD_REGISTER_MODE_WP |
			MMRT_UFFD_REGISTER_MODE_MINOR)))
		return -EINVAL;
	err = uffd_range_space(u, start, len, &as);
	if (err != 0)
		return err;
	MM_BLOCKING_BEGIN();
	mm_write_lock(&as->map_lock, MM_LC_MAP);
	first = mm_region_first_after(as, start);
	if (first >= as->nr_regions || as->regions[first].start >= end) {
		err = -EINVAL;
		goto out;
	}
	MM_FOR_EACH_REGION(as, i, start, end) {
		const struct mm_region *r = &as->regions[i];
		bool object = (r->flags & REGION_OBJECT) != 0;
		bool host = (r->flags & REGION_HOST) != 0;

		if (r->uffd != NULL && r->uffd != u) {
			err = -EBUSY;
			goto out;
		}
		/* host mappings: any mode; the DPDK mirror: none */
		if ((r->flags & REGION_MIRROR) ||
				((mode & MMRT_UFFD_REGISTER_MODE_MINOR) && !object &&
				!host) ||
				((mode & MMRT_UFFD_REGISTER_MODE_MISSING) &&
				object)) {
			err = -EINVAL;
			goto out;
		}
	}
	err = mm_region_reserve(as, 2);
	if (err == 0)
		err = mm_region_split(as, start);
	if (err == 0)
		err = mm_region_split(as, end);
	if (err != 0)
		goto out;
	MM_FOR_EACH_REGION(as, i, start, end) {
		struct mm_region *r = &as->regions[i];

		if (r->uffd == u && (r->uffd_mode &
				MMRT_UFFD_REGISTER_MODE_WP) &&
				!(mode & MMRT_UFFD_REGISTER_MODE_WP))
			wp_clear_all(u, as, r->start, r->end);
		r->uffd = u;
		r->uffd_mode = mode;
	}
	if (ops != NULL) {
		*ops = MMRT_UFFD_OP_WAKE | MMRT_UFFD_OP_COPY |
			MMRT_UFFD_OP_ZEROPAGE;
		if (u->features & MMRT_UFFD_FEATURE_MOVE)
			*ops |= MMRT_UFFD_OP_MOVE;
		if (u->features & MMRT_UFFD_FEATURE_POISON)
			*ops |= MMRT_UFFD_OP_POISON;
		if (mode & MMRT_UFFD_REGISTER_MODE_WP)
			*ops |= MMRT_UFFD_OP_WRITEPROTECT;
		if (mode & MMRT_UFFD_REGISTER_MODE_MINOR)
			*ops |= MMRT_UFFD_OP_CONTINUE;
	}
	/* a mode change can turn a posted fault's outcome (mm_uffd_nudge) */
	mm_uffd_nudge(u);
out:
	mm_write_unlock(&as->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
	return err;
}

/* Drop @u's registration on [start, end). Write map lock held. */
static int
unregister_locked(struct mmrt_uffd *u, struct mmrt_as *as, uint64_t start,
	uint64_t end)
{
	uint32_t i;
	int err;

	err = mm_region_reserve(as, 2);
	if (err == 0 && start != 0)
		err = mm_region_split(as, start);
	if (err == 0 && end != MMRT_VA_LIMIT)
		err = mm_region_split(as, end);
	if (err != 0)
		return err;
	wp_clear_all(u, as, start, end);
	MM_FOR_EACH_REGION(as, i, start, end) {
		struct mm_region *r = &as->regions[i];

		if (r->uffd == u) {
			r->uffd = NULL;
			r->uffd_mode = 0;
		}
	}
	return 0;
}

int
mmrt_uffd_unregister(struct mmrt_uffd *u, uint64_t start, uint64_t len)
{
	struct mmrt_as *as;
	int err;

	err = uffd_range_space(u, start, len, &as);
	if (err != 0)
		return err;
	MM_BLOCKING_BEGIN();
	mm_write_lock(&as->map_lock, MM_LC_MAP);
	err = unregister_locked(u, as, start, start + len);
	mm_write_unlock(&as->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
	if (err == 0)
		mm_uffd_wake(u, start, start + len);
	return err;
}

/* ---- messages ---------------------------------------------------------- */

/*
 * Tag the pending slots of the @n faults just read with this process
 * (pending -> read), so that its death makes them idle again.
 */
static void
uffd_mark_read(struct mmrt_uffd *u, const struct mmrt_uffd_msg *msgs,
	unsigned int n)
{
	int me = mmrt_process_slot();
	uint64_t want, tagged, cur, *s;
	unsigned int k, i;
	uint32_t h;

	if (me < 0)
		return;
	for (k = 0; k < n; k++) {
		if (msgs[k].event != MMRT_UFFD_EVENT_PAGEFAULT)
			continue;
		want = (msgs[k].arg.pagefault.address & ~PAGE_MASK_) | 1;
		tagged = want | ((uint64_t)(me + 1) << PEND_TAG_SHIFT);
		h = pend_hash(u, want & ~PAGE_MASK_);
		for (i = 0; i < UFFD_PROBE; i++) {
			s = &u->pend[(h + i) & u->pend_mask];
			cur = __atomic_load_n(s, __ATOMIC_ACQUIRE);
			if (!pend_is(cur, want))
				continue;
			/* a wake may have made it idle meanwhile: then no tag */
			__atomic_compare_exchange_n(s, &cur, tagged, false,
				__ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
			break;
		}
	}
}

int
mmrt_uffd_read(struct mmrt_uffd *u, struct mmrt_uffd_msg *msgs,
	unsigned int n)
{
	unsigned int got, ev, i;

	if (!uffd_live(u) || msgs == NULL || n == 0)
		return -EINVAL;
	got = fq_take(u, msgs, n);
	if (got > 0) {
		struct mmrt_as *as = __atomic_load_n(&u->as,
			__ATOMIC_RELAXED);

		/*
		 * The resolving fill takes the space's map lock next, a line
		 * the poster's probe RMWed: start its miss beside the tags'
		 * (a prefetch of a space going away is harmless).
		 */
		if (as != NULL)
			rte_prefetch0_write(&as->map_lock);
		/* a read prefetch: owned (mm_prefetchw()) here, and of the
		 * slots the tags below CAS, measured slower (perf-fault, the
		 * copy call about 70 ns longer at p50) */
	}
	uffd_mark_read(u, msgs, got);
	if (got == n)
		return (int)got;
	ev = rte_ring_mc_dequeue_burst_elem(u->events, msgs + got,
		sizeof(*msgs), n - got, NULL);
	/* each event read ends its layout change for fills */
	/* model: models/uffd.pml [U.4] */
	for (i = 0; i < ev; i++)
		__atomic_fetch_sub(&u->changing, 1, __ATOMIC_RELEASE);
	return (int)(got + ev);
}

int
mmrt_uffd_stats(struct mmrt_uffd *u, struct mmrt_uffd_stats *st)
{
	uint64_t nundo;
	unsigned int i;

	if (!uffd_live(u) || st == NULL)
		return -EINVAL;
#define LD(f) st->f = __atomic_load_n(&u->st.f, __ATOMIC_RELAXED)
	LD(faults_dedup);
#ifdef MMRT_TEST_HOOKS
	if (__atomic_load_n(&mm_test_hooks.uffd_stats_npost_first,
			__ATOMIC_RELAXED)) {
		uint64_t t0 = rte_get_timer_cycles();

		/* the negative control: the wrong order (mm_testhooks.h) */
		nundo = __atomic_load_n(&u->nundo, __ATOMIC_ACQUIRE);
		st->faults = __atomic_load_n(&u->npost, __ATOMIC_ACQUIRE) -
			nundo;
		while (rte_get_timer_cycles() - t0 <
				mm_test_hooks.uffd_stats_gap_cycles)
			rte_pause();
		st->faults_wp = __atomic_load_n(&u->st.faults_wp,
			__ATOMIC_ACQUIRE);
		st->faults_minor = __atomic_load_n(&u->st.faults_minor,
			__ATOMIC_ACQUIRE);
		goto kinds;
	}
#endif
	/* before npost: see below */
	st->faults_wp = __atomic_load_n(&u->st.faults_wp, __ATOMIC_ACQUIRE);
	st->faults_minor = __atomic_load_n(&u->st.faults_minor,
		__ATOMIC_ACQUIRE);
	/*
	 * Every claim adds to npost before its message is queued (and before
	 * a WP or MINOR count, or an undo's nundo, that follows it), so with
	 * npost loaded last the difference is never negative. It may count a
	 * post that has claimed its slot and not yet queued its message (or
	 * undone it): a statistic of a moving uffd is a snapshot of nothing
	 * in particular anyway; once the posters are done it is exact.
	 */
	nundo = __atomic_load_n(&u->nundo, __ATOMIC_ACQUIRE);
	st->faults = __atomic_load_n(&u->npost, __ATOMIC_ACQUIRE) - nundo;
#ifdef MMRT_TEST_HOOKS
kinds:
#endif
	st->faults_missing = st->faults - st->faults_wp - st->faults_minor;
	LD(faults_sigbus);
	LD(faults_full);
	LD(events);
	LD(events_lost);
	LD(wp_async);
	LD(wakes);
	LD(filled_pages);
#undef LD
	for (i = 0; i < RTE_MAX_LCORE; i++) {
		st->wakes += (uint64_t)__atomic_load_n(&u->lc[i].wakes,
			__ATOMIC_RELAXED);
		st->filled_pages += (uint64_t)__atomic_load_n(
			&u->lc[i].filled_pages, __ATOMIC_RELAXED);
	}
	st->pending = pend_count(u);
	return 0;
}

/* ---- layout events ----------------------------------------------------- */

/* Does @u hold a registration in [start, end)? */
static bool
uffd_in_range(const struct mmrt_uffd *u, const struct mmrt_as *as,
	uint64_t start, uint64_t end)
{
	uint32_t i;

	MM_FOR_EACH_REGION(as, i, start, end)
		if (as->regions[i].uffd == u)
			return true;
	return false;
}

void
mm_uffd_event_prep(struct mmrt_as *as, uint64_t feature, uint64_t start,
	uint64_t end, struct mm_uffd_ev *ev)
{
	struct mmrt_uffd *u;

	memset(ev, 0, sizeof(*ev));
	for (u = as->uffds; u != NULL; u = u->as_next) {
		if (!(u->features & feature) || !uffd_in_range(u, as, start,
				end))
			continue;
		/* model: models/uffd.pml [U.6] */
		/* waits for fills in flight; later ones see the count */
		mm_write_lock(&u->changing_lock, MM_LC_CHANGING);
		__atomic_fetch_add(&u->changing, 1, __ATOMIC_RELEASE);
		mm_write_unlock(&u->changing_lock, MM_LC_CHANGING);
		ev->u[ev->n++] = u;
	}
}

/* Queue @m on @u, waiting (bounded) for room; drops it at the timeout. */
static void
uffd_queue_event(struct mmrt_uffd *u, const struct mmrt_uffd_msg *m)
{
	uint64_t t0 = rte_get_timer_cycles();
	unsigned int spins = 0;

	while (rte_ring_mp_enqueue_elem(u->events, (void *)(uintptr_t)m,
			sizeof(*m)) != 0) {
		if (rte_get_timer_cycles() - t0 >= u->timeout_cycles ||
				__atomic_load_n(&u->released,
					__ATOMIC_ACQUIRE)) {
			RTE_LOG(ERR, USER1, "mmrt_uffd: event ring full, "
				"event 0x%x dropped\n", m->event);
			ST_ADD(u, events_lost, 1);
			__atomic_fetch_sub(&u->changing, 1, __ATOMIC_RELEASE);
			if (m->event == MMRT_UFFD_EVENT_FORK)
				mmrt_uffd_destroy(m->arg.fork.ufd);
			return;
		}
		core_wait_step(&spins, UFFD_SPINS);
	}
	ST_ADD(u, events, 1);
}

/* model: models/uffd.pml [U.7] */
void
mm_uffd_event_done(struct mm_uffd_ev *ev, struct mmrt_uffd_msg *m, bool ok)
{
	unsigned int i;

	for (i = 0; i < ev->n; i++) {
		struct mmrt_uffd *u = ev->u[i];

		if (!ok) {
			__atomic_fetch_sub(&u->changing, 1, __ATOMIC_RELEASE);
			if (ev->child[i] != NULL)
				mmrt_uffd_destroy(ev->child[i]);
			continue;
		}
		if (m->event == MMRT_UFFD_EVENT_FORK) {
			if (ev->child[i] == NULL) {
				/* nothing was registered after all */
				__atomic_fetch_sub(&u->changing, 1,
					__ATOMIC_RELEASE);
				continue;
			}
			m->arg.fork.ufd = ev->child[i];
		}
		uffd_queue_event(u, m);
	}
}

int
mm_uffd_fork_region(struct mm_uffd_ev *ev, struct mmrt_as *child,
	struct mm_region *cr)
{
	struct mmrt_uffd *pu = cr->uffd, *cu;
	unsigned int i;

	if (pu == NULL)
		return 0;
	for (i = 0; i < ev->n; i++)
		if (ev->u[i] == pu)
			break;
	if (i == ev->n) {
		/* no EVENT_FORK: the child is not registered */
		cr->uffd = NULL;
		cr->uffd_mode = 0;
		return 0;
	}
	cu = ev->child[i];
	if (cu == NULL) {
		/* the child space is new: the parent's name is free there */
		cu = uffd_new(child, pu->name, pu->features, pu->ring_size,
			pu->timeout_us);
		if (cu == NULL)
			return -ENOMEM;
		cu->as_next = child->uffds;
		child->uffds = cu;
		ev->child[i] = cu;
	}
	cr->uffd = cu;
	return 0;
}

void
mm_uffd_as_release(struct mmrt_as *as)
{
	struct mmrt_uffd *u;

	for (u = as->uffds; u != NULL; u = u->as_next) {
		__atomic_store_n(&u->released, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&u->as, NULL, __ATOMIC_RELEASE);
		mm_uffd_wake(u, 0, MMRT_VA_LIMIT);
	}
	as->uffds = NULL;
}

/* ---- destroy ----------------------------------------------------------- */

int
mmrt_uffd_destroy(struct mmrt_uffd *u)
{
	struct mmrt_uffd **pp;
	struct mmrt_uffd_msg m;
	struct mmrt_as *as;

	if (!uffd_live(u))
		return -EINVAL;
	as = __atomic_load_n(&u->as, __ATOMIC_ACQUIRE);
	if (as != NULL) {
		MM_BLOCKING_BEGIN();

		mm_write_lock(&as->map_lock, MM_LC_MAP);
		/* clearing WP and dropping registration cannot fail on
		 * [0, VA_LIMIT): no split is needed there */
		(void)unregister_locked(u, as, 0, MMRT_VA_LIMIT);
		for (pp = &as->uffds; *pp != NULL; pp = &(*pp)->as_next)
			if (*pp == u) {
				*pp = u->as_next;
				break;
			}
		__atomic_store_n(&u->as, NULL, __ATOMIC_RELEASE);
		mm_write_unlock(&as->map_lock, MM_LC_MAP);
		MM_BLOCKING_END();
	}
	/* pending faults retry (as ordinary faults now) */
	__atomic_store_n(&u->released, 1, __ATOMIC_RELEASE);
	mm_uffd_wake(u, 0, MMRT_VA_LIMIT);
	uffd_waiters_drain(u);
	while (rte_ring_mc_dequeue_elem(u->events, &m, sizeof(m)) == 0)
		if (m.event == MMRT_UFFD_EVENT_FORK)
			mmrt_uffd_destroy(m.arg.fork.ufd);
	uffd_free(u);
	return 0;
}

/*
 * Iteration (mmrt_uffd_foreach): as->uffds changes under the write map
 * lock only (create, destroy, the space's release), so the read side held
 * across the walk keeps every uffd on the list alive and the list whole.
 * Positions count from the oldest uffd, which a create (it pushes at the
 * head) leaves as they were.
 */
int
mmrt_uffd_foreach(struct mmrt_as *as,
	int (*cb)(struct mmrt_uffd *u, unsigned int pos, void *arg), void *arg)
{
	struct mmrt_uffd *u;
	unsigned int n = 0;
	int ret = 0;

	if (!mm_as_live(as) || cb == NULL)
		return -EINVAL;
	MM_BLOCKING_BEGIN();
	mm_read_lock(&as->map_lock, MM_LC_MAP);
	for (u = as->uffds; u != NULL; u = u->as_next)
		n++;
	for (u = as->uffds; u != NULL && ret == 0; u = u->as_next)
		ret = cb(u, --n, arg);
	mm_read_unlock(&as->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
	return ret;
}

/*
 * Lookup by name: the space's list under the read map lock, as
 * mmrt_uffd_foreach(); names are unique in a space (create checks under
 * the write map lock).
 */
struct mmrt_uffd *
mmrt_uffd_lookup(struct mmrt_as *as, const char *name)
{
	struct mmrt_uffd *u;

	if (!mm_as_live(as) || !uffd_name_ok(name)) {
		rte_errno = EINVAL;
		return NULL;
	}
	MM_BLOCKING_BEGIN();
	mm_read_lock(&as->map_lock, MM_LC_MAP);
	u = as_uffd_find(as, name);
	mm_read_unlock(&as->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
	if (u == NULL)
		rte_errno = ENOENT;
	return u;
}

const char *
mmrt_uffd_name(const struct mmrt_uffd *u)
{
	return uffd_live(u) ? u->name : NULL;
}

/* ---- process death ------------------------------------------------------ */

/*
 * The faults a dead process's handlers had read but not resolved (slots
 * tagged with its process slot) become idle, and the waiters retry: each
 * posts its fault again (the ring gets a fresh message) for the next
 * handler. Called by mmrt_reap_dead() through mmrt_reap_register().
 */
struct uffd_reap_arg {
	uint64_t tag;
	int n;
};

static int
uffd_reap_one(struct mmrt_uffd *u, unsigned int pos, void *arg)
{
	struct uffd_reap_arg *ra = arg;
	uint64_t cur;
	uint32_t i;
	int n = 0;

	RTE_SET_USED(pos);
	if (pend_count(u) == 0)
		return 0;
	for (i = 0; i <= u->pend_mask; i++) {
		cur = __atomic_load_n(&u->pend[i], __ATOMIC_ACQUIRE);
		if (cur != 0 && (cur & PEND_TAG_MASK) == ra->tag) {
			pend_clear(u, &u->pend[i], cur);
			n++;
		}
	}
	if (n > 0) {
		/* release: the slots are idle before waiters look again */
		__atomic_fetch_add(u->wake_seq, 1, __ATOMIC_RELEASE);
		ra->n += n;
	}
	return 0;
}

static int
uffd_reap_as(struct mmrt_as *as, void *arg)
{
	mmrt_uffd_foreach(as, uffd_reap_one, arg);
	return 0;
}

static int
uffd_reap(int32_t pid, unsigned int slot)
{
	struct uffd_reap_arg ra = {
		.tag = (uint64_t)(slot + 1) << PEND_TAG_SHIFT,
	};

	mmrt_as_foreach(uffd_reap_as, &ra);
	if (ra.n > 0)
		MMRT_LOG(NOTICE, mm, "dead process %d: %d userfaults it had"
			" read are unread again", (int)pid, ra.n);
	return ra.n;
}

/* After lib/dev's step (order 30), with lib/mm's order. */
RTE_INIT(mm_uffd_reap_register)
{
	mmrt_reap_register("mm.uffd", 20, uffd_reap);
}
