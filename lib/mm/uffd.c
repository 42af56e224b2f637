/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Userfault (mmrt_uffd.h, docs/architecture.md).
 *
 * Registration is a property of regions (r->uffd, r->uffd_mode), changed
 * only under the write map lock. Faults classify a page under the read map
 * lock (mm_uffd_fault()); fills install pages under the read map lock and
 * the leaf's PT lock, with the page contents written before the release
 * store that publishes the entry (pairs with the acquire loads of walkers).
 *
 * Pending faults, per uffd: a small open-addressed table of page | 1
 * words, the dedup set. A page is
 *   idle:     no slot holds it
 *   pending:  a slot holds it, its message is queued or was read
 * Transitions:
 *   idle -> pending      a fault claims a slot (CAS 0 -> page | 1), then
 *                        queues its message (undone if the ring is full)
 *   pending -> idle      a wake of a range holding it (CAS back to 0)
 * Faults of a pending page post nothing (deduplicated).
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

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_rwlock.h>

#include "mm_pte.h"
#include "mm_host_pte.h"
#include "mm_as.h"
#include "mm_object.h"
#include "mm_region.h"
#include "mm_notify.h"
#include "mm_gather.h"
#include "mm_pgtable.h"
#include "mm_uffd.h"
#include "mmrt_uffd.h"

#define UFFD_MAGIC 0x6d6d7566u /* "mmuf" */
#define UFFD_RING_DEFAULT 4096u
#define UFFD_TIMEOUT_US_DEFAULT UINT64_C(10000000)
#define UFFD_PROBE 8           /* slots probed per page */
#define UFFD_WAKE_PROBE_MAX 64 /* pages probed one by one in a wake */
#define UFFD_RECHECK_US 1000   /* waiters re-check this often */
#define UFFD_SPINS 2048        /* waiters spin this many times, then yield */
#define PAGE_MASK_ (MMRT_PAGE_SIZE - 1)
#define HUGE_MASK_ (MMRT_HUGE_SIZE - 1)

_Static_assert(sizeof(struct mmrt_uffd_msg) == 32, "uffd_msg is 32 bytes");

struct mmrt_uffd {
	uint32_t magic;
	uint32_t released;          /* the space is gone or the uffd dying */
	struct mmrt_as *as;         /* NULL once the space is gone */
	struct mmrt_uffd *as_next;  /* the space's list (write map lock) */
	uint64_t features;
	uint32_t ring_size;
	uint64_t timeout_us;
	uint64_t timeout_cycles;
	struct rte_ring *faults;    /* MP/MC */
	struct rte_ring *events;    /* MP/MC */
	rte_rwlock_t changing_lock;
	uint32_t changing;          /* events queued, not read yet */
	uint32_t waiters;           /* threads waiting on wake_seq */
	uint64_t *pend;             /* pending-fault slots */
	uint32_t pend_mask;
	uint32_t npending;
	uint64_t wake_seq __rte_cache_aligned;
	struct mmrt_uffd_stats st __rte_cache_aligned;
};

#define ST_ADD(u, f, n) __atomic_fetch_add(&(u)->st.f, (n), __ATOMIC_RELAXED)

static bool
uffd_live(const struct mmrt_uffd *u)
{
	return u != NULL && u->magic == UFFD_MAGIC;
}

static bool
range_bad(uint64_t start, uint64_t len)
{
	return (start & PAGE_MASK_) != 0 || (len & PAGE_MASK_) != 0 ||
		len == 0 || start >= MMRT_VA_LIMIT ||
		len > MMRT_VA_LIMIT - start;
}

/* ---- creation ---------------------------------------------------------- */

static struct mmrt_uffd *
uffd_new(struct mmrt_as *as, uint64_t features, uint32_t ring_size,
	uint64_t timeout_us)
{
	static uint32_t serial;
	char name[RTE_RING_NAMESIZE];
	struct mmrt_uffd *u;
	uint32_t id = __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED);

	u = rte_zmalloc("mmrt_uffd", sizeof(*u), RTE_CACHE_LINE_SIZE);
	if (u == NULL)
		return NULL;
	u->pend = rte_zmalloc("mmrt_uffd_pend",
		2 * (size_t)ring_size * sizeof(uint64_t), RTE_CACHE_LINE_SIZE);
	snprintf(name, sizeof(name), "mmuf_f_%d_%u", (int)getpid(), id);
	u->faults = rte_ring_create_elem(name, sizeof(struct mmrt_uffd_msg),
		ring_size, SOCKET_ID_ANY, RING_F_EXACT_SZ);
	snprintf(name, sizeof(name), "mmuf_e_%d_%u", (int)getpid(), id);
	u->events = rte_ring_create_elem(name, sizeof(struct mmrt_uffd_msg),
		ring_size, SOCKET_ID_ANY, RING_F_EXACT_SZ);
	if (u->pend == NULL || u->faults == NULL || u->events == NULL) {
		rte_ring_free(u->faults);
		rte_ring_free(u->events);
		rte_free(u->pend);
		rte_free(u);
		return NULL;
	}
	u->pend_mask = 2 * ring_size - 1;
	u->features = features;
	u->ring_size = ring_size;
	u->timeout_us = timeout_us;
	u->timeout_cycles = timeout_us * rte_get_timer_hz() / 1000000;
	rte_rwlock_init(&u->changing_lock);
	u->as = as;
	u->magic = UFFD_MAGIC;
	return u;
}

static void
uffd_free(struct mmrt_uffd *u)
{
	u->magic = 0;
	rte_ring_free(u->faults);
	rte_ring_free(u->events);
	rte_free(u->pend);
	rte_free(u);
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
	}
	if (ring < 64 || ring > 65536 || !rte_is_power_of_2(ring) ||
			tmo > UINT64_C(3600000000)) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (want & MMRT_UFFD_FEATURE_WP_ASYNC)
		want |= MMRT_UFFD_FEATURE_WP_UNPOPULATED;
	u = uffd_new(as, want, ring, tmo);
	if (u == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	was_online = mmrt_thread_is_online();
	if (was_online)
		mmrt_thread_offline();
	rte_rwlock_write_lock(&as->map_lock);
	if (as_uffd_count(as) >= MM_UFFD_PER_AS) {
		rte_rwlock_write_unlock(&as->map_lock);
		if (was_online)
			mmrt_thread_online();
		uffd_free(u);
		rte_errno = ENOSPC;
		return NULL;
	}
	u->as_next = as->uffds;
	as->uffds = u;
	rte_rwlock_write_unlock(&as->map_lock);
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

static inline uint32_t
pend_hash(const struct mmrt_uffd *u, uint64_t page)
{
	return (uint32_t)(((page >> MMRT_PAGE_SHIFT) *
		UINT64_C(0x9e3779b97f4a7c15)) >> 40) & u->pend_mask;
}

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
		if (__atomic_load_n(&u->pend[(h + i) & u->pend_mask],
				__ATOMIC_ACQUIRE) == want) {
			ST_ADD(u, faults_dedup, 1);
			return;
		}
	/* pending -> counted before the message can be read and woken */
	__atomic_fetch_add(&u->npending, 1, __ATOMIC_RELEASE);
	for (i = 0; i < UFFD_PROBE && claimed == NULL; i++) {
		s = &u->pend[(h + i) & u->pend_mask];
		cur = 0;
		if (__atomic_compare_exchange_n(s, &cur, want, false,
				__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			claimed = s;
		} else if (cur == want) {
			/* another poster claimed it just now */
			__atomic_fetch_sub(&u->npending, 1, __ATOMIC_RELEASE);
			ST_ADD(u, faults_dedup, 1);
			return;
		}
	}
	if (claimed == NULL) {
		__atomic_fetch_sub(&u->npending, 1, __ATOMIC_RELEASE);
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
	if (rte_ring_mp_enqueue_elem(u->faults, &m, sizeof(m)) != 0) {
		/* full: nothing queued; the requester retries */
		pend_clear(u, claimed, want);
		ST_ADD(u, faults_full, 1);
		return;
	}
	ST_ADD(u, faults, 1);
	if (flags & MMRT_UFFD_PAGEFAULT_FLAG_WP)
		ST_ADD(u, faults_wp, 1);
	else if (flags & MMRT_UFFD_PAGEFAULT_FLAG_MINOR)
		ST_ADD(u, faults_minor, 1);
	else
		ST_ADD(u, faults_missing, 1);
}

static void
pend_clear(struct mmrt_uffd *u, uint64_t *s, uint64_t cur)
{
	if (__atomic_compare_exchange_n(s, &cur, 0, false, __ATOMIC_ACQ_REL,
			__ATOMIC_RELAXED))
		__atomic_fetch_sub(&u->npending, 1, __ATOMIC_RELAXED);
}

/* Wake [start, end): pending faults there become idle, waiters retry. */
static void
uffd_wake(struct mmrt_uffd *u, uint64_t start, uint64_t end)
{
	uint64_t page, cur;
	uint32_t h, i;

	if (__atomic_load_n(&u->npending, __ATOMIC_ACQUIRE) != 0) {
		if (end - start <= UFFD_WAKE_PROBE_MAX * MMRT_PAGE_SIZE) {
			for (page = start & ~PAGE_MASK_; page < end;
					page += MMRT_PAGE_SIZE) {
				h = pend_hash(u, page);
				for (i = 0; i < UFFD_PROBE; i++) {
					uint64_t *s = &u->pend[(h + i) &
						u->pend_mask];

					cur = __atomic_load_n(s,
						__ATOMIC_ACQUIRE);
					if (cur == (page | 1))
						pend_clear(u, s, cur);
				}
			}
		} else {
			for (i = 0; i <= u->pend_mask; i++) {
				cur = __atomic_load_n(&u->pend[i],
					__ATOMIC_ACQUIRE);
				page = cur & ~PAGE_MASK_;
				if (cur != 0 && page >= start && page < end)
					pend_clear(u, &u->pend[i], cur);
			}
		}
	}
	/* release: the entries the fill published before the new sequence */
	__atomic_fetch_add(&u->wake_seq, 1, __ATOMIC_RELEASE);
	ST_ADD(u, wakes, 1);
}

int
mmrt_uffd_wake(struct mmrt_uffd *u, const struct mmrt_uffd_range *r)
{
	if (!uffd_live(u) || r == NULL || range_bad(r->start, r->len))
		return -EINVAL;
	uffd_wake(u, r->start, r->start + r->len);
	return 0;
}

void
mm_uffd_wake_as(struct mmrt_as *as, uint64_t start, uint64_t end)
{
	struct mmrt_uffd *u;

	for (u = as->uffds; u != NULL; u = u->as_next)
		uffd_wake(u, start, end);
}

/* ---- leaves ------------------------------------------------------------ */

/*
 * The leaf for @va: a 2 MiB leaf (*huge) or a 4 KiB entry, allocating
 * tables if @alloc. NULL with *err = -ENOENT (no table: empty), -ENOMEM.
 */
static uint64_t *
leaf_get(struct mmrt_as *as, uint64_t va, bool alloc, uint32_t *tbl,
	bool *huge, int *err)
{
	uint64_t *pmd, e;

	*huge = false;
	pmd = mm_pt_walk(as, va, MM_LEVEL_PMD, alloc, tbl, err);
	if (pmd == NULL)
		return NULL;
	e = pte_load(pmd);
	if (e & PTE_H) {
		*huge = true;
		return pmd;
	}
	if (e & PTE_T) {
		*tbl = pte_pfn(e);
		return &pt_table(*tbl)[level_index(va, MM_LEVEL_PTE)];
	}
	if (!alloc) {
		*err = -ENOENT;
		return NULL;
	}
	pmd = mm_pt_walk(as, va, MM_LEVEL_PTE, true, tbl, err);
	if (pmd == NULL && *err == -EEXIST)
		return leaf_get(as, va, alloc, tbl, huge, err);
	return pmd;
}

static inline bool
pte_is_marker(uint64_t e)
{
	return e != 0 && !(e & (PTE_P | PTE_PROTNONE | PTE_T));
}

/* ---- faults ------------------------------------------------------------ */

/* Is page @idx of @obj there already (without creating it)? */
static bool
object_has_page(struct mmrt_object *obj, uint64_t idx)
{
	return mm_object_peek(obj, idx) != MMRT_PFN_NONE;
}

/* Take a PT lock; a poller's probe only tries (see probe_resolve()). */
static bool
pt_lock_for(const struct mm_fault_wait *w, uint32_t tbl)
{
	if (w->probe)
		return rte_spinlock_trylock(pt_lock(tbl)) != 0;
	rte_spinlock_lock(pt_lock(tbl));
	return true;
}

int
mm_uffd_fault(struct mmrt_as *as, const struct mm_region *r, uint64_t va,
	uint32_t access, struct mm_fault_wait *w)
{
	struct mmrt_uffd *u = r->uffd;
	bool write = (access & MMRT_ACCESS_WRITE) != 0, huge;
	bool object = (r->flags & REGION_OBJECT) != 0;
	uint64_t seq, e = 0, flags, *p;
	uint32_t tbl;
	int err;

	/* before the page table: see the file comment */
	seq = __atomic_load_n(&u->wake_seq, __ATOMIC_ACQUIRE);
	p = leaf_get(as, va, false, &tbl, &huge, &err);
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
				object && object_has_page(r->obj,
				(r->obj_off + (va - r->start)) >>
				MMRT_PAGE_SHIFT)) {
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
				rte_spinlock_unlock(pt_lock(tbl));
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
			rte_spinlock_unlock(pt_lock(tbl));
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
		__atomic_fetch_add(&u->waiters, 1, __ATOMIC_ACQUIRE);
	return MM_FAULT_POSTED;
}

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
	while (__atomic_load_n(&u->wake_seq, __ATOMIC_ACQUIRE) == w->seq &&
			!__atomic_load_n(&u->released, __ATOMIC_ACQUIRE)) {
		now = rte_get_timer_cycles();
		if (now - w->t0 >= u->timeout_cycles) {
			ret = -ETIMEDOUT;
			break;
		}
		if (now - t0 >= recheck)
			break;
		if (++spins < UFFD_SPINS)
			rte_pause();
		else
			sched_yield();
	}
	__atomic_fetch_sub(&u->waiters, 1, __ATOMIC_RELEASE);
	return ret;
}

/* ---- map lock for fills ------------------------------------------------ */

/*
 * Read-lock the map; a poller that must wait goes offline meanwhile (only
 * then: the write side uses MM_BLOCKING_BEGIN() as everyone else).
 */
static bool
map_read_lock(struct mmrt_as *as)
{
	bool off = false;

	if (rte_rwlock_read_trylock(&as->map_lock) == 0)
		return false;
	if (mmrt_thread_is_online()) {
		mmrt_thread_offline();
		off = true;
	}
	rte_rwlock_read_lock(&as->map_lock);
	return off;
}

static void
map_read_unlock(struct mmrt_as *as, bool off)
{
	rte_rwlock_read_unlock(&as->map_lock);
	if (off)
		mmrt_thread_online();
}

/* ---- fills ------------------------------------------------------------- */

enum fill_op { FILL_COPY, FILL_ZERO, FILL_CONT, FILL_POISON };

struct fill {
	struct mmrt_uffd *u;
	struct mmrt_as *as;
	enum fill_op op;
	uint64_t mode;
	const uint8_t *src;
	const struct mm_region *r;  /* region of the current page */
	uint64_t tbl_base;          /* 2 MiB base of the cached table */
	uint32_t tbl;               /* cached level-1 table */
};

/* The region at @va, registered with this uffd, valid for the op. */
static int
fill_region(struct fill *f, uint64_t va)
{
	const struct mm_region *r;
	int i = mm_region_find(f->as, va);

	if (i < 0)
		return -ENOENT;
	r = &f->as->regions[i];
	if (r->uffd != f->u)
		return -ENOENT;
	switch (f->op) {
	case FILL_COPY:
	case FILL_ZERO:
		if (r->flags & REGION_OBJECT)
			return -EINVAL;
		if ((f->mode & MMRT_UFFD_MODE_WP) &&
				!(r->uffd_mode & MMRT_UFFD_REGISTER_MODE_WP))
			return -EINVAL;
		break;
	case FILL_CONT:
		if (!(r->uffd_mode & MMRT_UFFD_REGISTER_MODE_MINOR))
			return -EINVAL;
		if ((f->mode & MMRT_UFFD_MODE_WP) &&
				!(r->uffd_mode & MMRT_UFFD_REGISTER_MODE_WP))
			return -EINVAL;
		break;
	case FILL_POISON:
		break;
	}
	f->r = r;
	return 0;
}

/* Bits of a filled leaf. */
static uint64_t
fill_bits(const struct fill *f)
{
	if (f->mode & MMRT_UFFD_MODE_WP)
		return PTE_P | PTE_A | PTE_UFFD_WP;
	return PTE_P | PTE_A | ((f->r->prot & MMRT_PROT_WRITE) ?
		PTE_W | PTE_D : 0);
}

/*
 * Copy a whole 2 MiB chunk into an empty level-2 entry of a huge region.
 * 1: not possible here (fall back to 4 KiB pages), 0, or -errno.
 */
static int
fill_huge(struct fill *f, uint64_t va, uint64_t off)
{
	uint64_t *pmd, e;
	uint32_t tbl2;
	int64_t h;
	int err;

	pmd = mm_pt_walk(f->as, va, MM_LEVEL_PMD, true, &tbl2, &err);
	if (pmd == NULL)
		return err;
	e = pte_load(pmd);
	if (e & PTE_H)
		return -EEXIST;
	if (e != 0)
		return 1;
	h = mmrt_huge_alloc(0);
	if (h < 0)
		return 1;
	memcpy(mmrt_frame_addr((uint32_t)h), f->src + off, MMRT_HUGE_SIZE);
	mmrt_frame_meta((uint32_t)h)->flags |= MMRT_FRAME_ANON;
	mmrt_frame_meta((uint32_t)h)->mapcount = 1;
	rte_spinlock_lock(pt_lock(tbl2));
	e = pte_load(pmd);
	if (e == 0)
		pte_store(pmd, pte_mk((uint32_t)h, fill_bits(f) | PTE_H));
	rte_spinlock_unlock(pt_lock(tbl2));
	if (e != 0) {
		mmrt_frame_put((uint32_t)h);
		return (e & PTE_H) ? -EEXIST : 1;
	}
	MM_STAT_ADD(f->as, rss_pages, MMRT_HUGE_NR);
	ST_ADD(f->u, filled_pages, MMRT_HUGE_NR);
	return 0;
}

/* Fill the 4 KiB page at @va. 0 or -errno. */
static int
fill_page(struct fill *f, uint64_t va, uint64_t off)
{
	uint64_t *p, e, ne;
	uint32_t tbl, pfn = MMRT_PFN_NONE;
	int64_t nf = -1;
	bool huge;
	int err;

	if ((va & ~HUGE_MASK_) == f->tbl_base && f->tbl != MMRT_PFN_NONE) {
		tbl = f->tbl;
		p = &pt_table(tbl)[level_index(va, MM_LEVEL_PTE)];
	} else {
		p = leaf_get(f->as, va, true, &tbl, &huge, &err);
		if (p == NULL)
			return err;
		if (huge)
			return -EEXIST;
		f->tbl_base = va & ~HUGE_MASK_;
		f->tbl = tbl;
	}
	e = pte_load(p);
	if (f->op == FILL_ZERO || f->op == FILL_POISON ? e != 0 :
			(e != 0 && !(pte_is_marker(e) && !(e & PTE_POISON))))
		return -EEXIST;
	switch (f->op) {
	case FILL_COPY:
		nf = mmrt_frame_alloc(0);
		if (nf < 0)
			return (int)nf;
		/* contents first: published by the release store below */
		memcpy(mmrt_frame_addr_unchecked((uint32_t)nf), f->src + off,
			MMRT_PAGE_SIZE);
		mmrt_frame_meta((uint32_t)nf)->flags |= MMRT_FRAME_ANON;
		mmrt_frame_meta((uint32_t)nf)->mapcount = 1;
		ne = pte_mk((uint32_t)nf, fill_bits(f));
		break;
	case FILL_ZERO:
		ne = pte_mk(mmrt_zero_pfn(), PTE_P | PTE_A);
		break;
	case FILL_CONT:
		pfn = mm_object_peek(f->r->obj, (f->r->obj_off +
			(va - f->r->start)) >> MMRT_PAGE_SHIFT);
		if (pfn == MMRT_PFN_NONE)
			return -EFAULT;
		ne = pte_mk(pfn, fill_bits(f));
		break;
	default:
		ne = PTE_POISON;
		break;
	}
	rte_spinlock_lock(pt_lock(tbl));
	e = pte_load(p);
	if (f->op == FILL_ZERO || f->op == FILL_POISON ? e != 0 :
			(e != 0 && !(pte_is_marker(e) && !(e & PTE_POISON)))) {
		rte_spinlock_unlock(pt_lock(tbl));
		if (nf >= 0)
			mmrt_frame_put((uint32_t)nf);
		return -EEXIST;
	}
	if (f->op == FILL_CONT) {
		struct mmrt_frame *fm = mmrt_frame_meta(pfn);

		__atomic_fetch_add(&fm->refcount, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&fm->mapcount, 1, __ATOMIC_RELAXED);
	}
	pte_store(p, ne);
	rte_spinlock_unlock(pt_lock(tbl));
	if (f->op == FILL_COPY || f->op == FILL_CONT)
		MM_STAT_ADD(f->as, rss_pages, 1);
	if (f->op != FILL_POISON)
		ST_ADD(f->u, filled_pages, 1);
	return 0;
}

/*
 * The kernel's result contract for a fill or move of [dst, dst + len) that
 * did @off bytes and stopped on @err: wake what was done (unless
 * DONTWAKE); the result is the bytes done, or the error if none were; the
 * return is 0 (all done), -EAGAIN (partial) or the error.
 */
static int
fill_result(struct mmrt_uffd *u, uint64_t dst, uint64_t len, uint64_t off,
	int err, uint64_t mode, int64_t *res)
{
	if (off > 0 && !(mode & MMRT_UFFD_MODE_DONTWAKE))
		uffd_wake(u, dst, dst + off);
	if (off > 0) {
		*res = (int64_t)off;
		return off == len ? 0 : -EAGAIN;
	}
	*res = err;
	return err;
}

/*
 * The common body of copy, zeropage, continue and poison: the result
 * contract of the kernel's mfill_atomic (mmrt_uffd_copy()).
 */
static int
fill_common(struct mmrt_uffd *u, uint64_t dst, uint64_t len,
	const void *src, uint64_t mode, uint64_t modes, enum fill_op op,
	int64_t *res)
{
	struct fill f = {
		.u = u, .op = op, .mode = mode, .src = src,
		.tbl = MMRT_PFN_NONE,
	};
	uint64_t off = 0, va, rend = 0;
	struct mmrt_as *as;
	int err = 0;
	bool offl;

	if (range_bad(dst, len) || (mode & ~modes) ||
			(op == FILL_COPY && src == NULL)) {
		*res = -EINVAL;
		return -EINVAL;
	}
	as = __atomic_load_n(&u->as, __ATOMIC_ACQUIRE);
	if (as == NULL || __atomic_load_n(&u->released, __ATOMIC_ACQUIRE)) {
		*res = -ESRCH;
		return -ESRCH;
	}
	f.as = as;
	offl = map_read_lock(as);
	rte_rwlock_read_lock(&u->changing_lock);
	if (__atomic_load_n(&u->changing, __ATOMIC_ACQUIRE) != 0) {
		err = -EAGAIN;
		goto out;
	}
	while (off < len) {
		va = dst + off;
		if (va >= rend) {
			err = fill_region(&f, va);
			if (err != 0)
				break;
			rend = f.r->end;
		}
		if (op == FILL_COPY && (f.r->flags & MMRT_MAP_HUGE) &&
				(va & HUGE_MASK_) == 0 &&
				len - off >= MMRT_HUGE_SIZE &&
				va + MMRT_HUGE_SIZE <= rend) {
			err = fill_huge(&f, va, off);
			if (err == 0) {
				off += MMRT_HUGE_SIZE;
				continue;
			}
			if (err < 0)
				break;
			err = 0;
		}
		err = fill_page(&f, va, off);
		if (err != 0)
			break;
		off += MMRT_PAGE_SIZE;
	}
out:
	rte_rwlock_read_unlock(&u->changing_lock);
	map_read_unlock(as, offl);
	return fill_result(u, dst, len, off, err, mode, res);
}

int
mmrt_uffd_copy(struct mmrt_uffd *u, struct mmrt_uffd_copy *c)
{
	if (!uffd_live(u) || c == NULL) {
		if (c != NULL)
			c->copy = -EINVAL;
		return -EINVAL;
	}
	return fill_common(u, c->dst, c->len, c->src, c->mode,
		MMRT_UFFD_MODE_DONTWAKE | MMRT_UFFD_MODE_WP, FILL_COPY,
		&c->copy);
}

int
mmrt_uffd_zeropage(struct mmrt_uffd *u, struct mmrt_uffd_zeropage *z)
{
	if (!uffd_live(u) || z == NULL) {
		if (z != NULL)
			z->zeropage = -EINVAL;
		return -EINVAL;
	}
	return fill_common(u, z->range.start, z->range.len, NULL, z->mode,
		MMRT_UFFD_MODE_DONTWAKE, FILL_ZERO, &z->zeropage);
}

int
mmrt_uffd_continue(struct mmrt_uffd *u, struct mmrt_uffd_continue *c)
{
	if (!uffd_live(u) || c == NULL) {
		if (c != NULL)
			c->mapped = -EINVAL;
		return -EINVAL;
	}
	return fill_common(u, c->range.start, c->range.len, NULL, c->mode,
		MMRT_UFFD_MODE_DONTWAKE | MMRT_UFFD_MODE_WP, FILL_CONT,
		&c->mapped);
}

int
mmrt_uffd_poison(struct mmrt_uffd *u, struct mmrt_uffd_poison *p)
{
	if (!uffd_live(u) || p == NULL ||
			!(u->features & MMRT_UFFD_FEATURE_POISON)) {
		if (p != NULL)
			p->updated = -EINVAL;
		return -EINVAL;
	}
	return fill_common(u, p->range.start, p->range.len, NULL, p->mode,
		MMRT_UFFD_MODE_DONTWAKE, FILL_POISON, &p->updated);
}

/* ---- write protection -------------------------------------------------- */

/* May this leaf become writable again (WP cleared)? */
static bool
leaf_may_write(const struct mm_region *r, uint64_t e, bool huge)
{
	uint32_t pfn = pte_pfn(e);
	const struct mmrt_frame *fm;

	if (!(r->prot & MMRT_PROT_WRITE) || !(e & PTE_P))
		return false;
	if (r->flags & REGION_OBJECT)
		return true;
	if (pfn == mmrt_zero_pfn() || (!huge && frame_owner(pfn) != pfn))
		return false;
	fm = mmrt_frame_meta(pfn);
	return __atomic_load_n(&fm->refcount, __ATOMIC_ACQUIRE) == 1;
}

/*
 * Set or clear uffd write protection on [start, end) of region @r.
 * Setting tracks the downgrades in @tlb (flushed by the caller; clearing
 * removes no permission and passes NULL); markers go on empty pages if
 * @markers. -ENOMEM (markers) or 0.
 */
static int
wp_region(struct mmrt_as *as, const struct mm_region *r,
	struct mm_gather *tlb, uint64_t start, uint64_t end, bool set,
	bool markers)
{
	uint64_t va, *p, e, ne, size;
	uint32_t tbl;
	bool huge;
	int err;

	for (va = start; va < end; va += size) {
		size = MMRT_PAGE_SIZE;
		p = leaf_get(as, va, set && markers, &tbl, &huge, &err);
		if (p == NULL) {
			if (err != -ENOENT)
				return err;
			/* no level-1 table: nothing below this 2 MiB */
			size = ((va | HUGE_MASK_) + 1) - va;
			continue;
		}
		if (huge)
			size = ((va | HUGE_MASK_) + 1) - va;
		rte_spinlock_lock(pt_lock(tbl));
		e = pte_load(p);
		if (huge && (va & HUGE_MASK_) == 0 && end - va >=
				MMRT_HUGE_SIZE) {
			/* a whole 2 MiB leaf */
		} else if (huge) {
			/* part of a 2 MiB leaf: split it, then look again */
			rte_spinlock_unlock(pt_lock(tbl));
			err = mm_split_pmd(as, tbl, p, true);
			if (err != 0)
				return err;
			size = 0;
			continue;
		}
		if (set) {
			if (e & (PTE_P | PTE_PROTNONE))
				ne = (e | PTE_UFFD_WP) & ~PTE_W;
			else if (e == 0 && markers && !huge)
				ne = PTE_UFFD_WP;
			else
				ne = e;
		} else {
			if (!(e & PTE_UFFD_WP))
				ne = e;
			else if (pte_is_marker(e))
				ne = e & ~PTE_UFFD_WP;
			else if (leaf_may_write(r, e, huge))
				ne = (e & ~PTE_UFFD_WP) | PTE_W | PTE_D;
			else
				ne = e & ~PTE_UFFD_WP;
		}
		if (ne != e) {
			pte_store(p, ne);
			if ((e & PTE_W) && !(ne & PTE_W))
				mm_gather_track(tlb, va & ~(size - 1),
					(va & ~(size - 1)) + size,
					huge ? 2 : 1);
		}
		rte_spinlock_unlock(pt_lock(tbl));
	}
	return 0;
}

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
		(void)wp_region(as, r, NULL, RTE_MAX(start, r->start),
			RTE_MIN(end, r->end), false, false);
	}
}

int
mmrt_uffd_writeprotect(struct mmrt_uffd *u,
	const struct mmrt_uffd_writeprotect *w)
{
	struct mmrt_notifier_range nr;
	struct mm_gather tlb;
	struct mmrt_as *as;
	uint64_t start, end;
	bool set, offl, markers;
	uint32_t i;
	int err = 0;

	if (!uffd_live(u) || w == NULL || range_bad(w->range.start,
			w->range.len) ||
			(w->mode & ~(MMRT_UFFD_MODE_WP |
				MMRT_UFFD_MODE_DONTWAKE)) ||
			(w->mode & MMRT_UFFD_MODE_WP &&
				w->mode & MMRT_UFFD_MODE_DONTWAKE))
		return -EINVAL;
	as = __atomic_load_n(&u->as, __ATOMIC_ACQUIRE);
	if (as == NULL || __atomic_load_n(&u->released, __ATOMIC_ACQUIRE))
		return -ESRCH;
	start = w->range.start;
	end = start + w->range.len;
	set = (w->mode & MMRT_UFFD_MODE_WP) != 0;
	markers = (u->features & MMRT_UFFD_FEATURE_WP_UNPOPULATED) != 0;
	offl = map_read_lock(as);
	rte_rwlock_read_lock(&u->changing_lock);
	if (__atomic_load_n(&u->changing, __ATOMIC_ACQUIRE) != 0) {
		err = -EAGAIN;
		goto out;
	}
	MM_FOR_EACH_REGION(as, i, start, end)
		if (as->regions[i].uffd != u || !(as->regions[i].uffd_mode &
				MMRT_UFFD_REGISTER_MODE_WP)) {
			err = -ENOENT;
			goto out;
		}
	if (i == mm_region_first_after(as, start)) {
		err = -ENOENT;
		goto out;
	}
	if (set) {
		mm_range_init(&nr, as, MMRT_NOTIFY_PROTECTION_PAGE, true,
			start, end, u);
		mm_notify_start(&nr);
		mm_gather_init(&tlb, as, false);
	}
	/* clearing only grants permission: nothing to flush, no gather */
	MM_FOR_EACH_REGION(as, i, start, end) {
		const struct mm_region *r = &as->regions[i];

		err = wp_region(as, r, set ? &tlb : NULL,
			RTE_MAX(start, r->start), RTE_MIN(end, r->end), set,
			markers);
		if (err != 0)
			break;
	}
	if (set) {
		/* downgrades flushed before we return (allowed deferral) */
		mm_gather_finish(&tlb);
		mm_notify_end(&nr);
	}
out:
	rte_rwlock_read_unlock(&u->changing_lock);
	map_read_unlock(as, offl);
	if (err == 0 && !set && !(w->mode & MMRT_UFFD_MODE_DONTWAKE))
		uffd_wake(u, start, end);
	return err;
}

/* ---- move -------------------------------------------------------------- */

/* Can the frame behind leaf @e move (exclusive, anonymous, not pinned)? */
static bool
move_ok(uint64_t e, bool huge)
{
	uint32_t pfn = pte_pfn(e);
	const struct mmrt_frame *fm;

	if (pfn == mmrt_zero_pfn())
		return !huge;
	if (!huge && frame_owner(pfn) != pfn)
		return false;
	fm = mmrt_frame_meta(pfn);
	return !(fm->flags & MMRT_FRAME_OBJECT) &&
		__atomic_load_n(&fm->refcount, __ATOMIC_ACQUIRE) == 1 &&
		__atomic_load_n(&fm->mapcount, __ATOMIC_ACQUIRE) == 1;
}

/*
 * Move one leaf (4 KiB, or 2 MiB if it fits) from @src to @dst. Returns
 * the bytes moved (> 0) or -errno; 0 means "split, try again".
 */
static int64_t
move_one(struct mmrt_as *as, const struct mm_region *dr, uint64_t src,
	uint64_t dst, uint64_t left, bool holes)
{
	uint64_t *sp, *dp, se, de;
	uint32_t stbl, dtbl;
	bool shuge, dhuge;
	int err;

	sp = leaf_get(as, src, false, &stbl, &shuge, &err);
	if (sp == NULL || pte_load(sp) == 0 || pte_is_marker(pte_load(sp))) {
		if (sp == NULL && err != -ENOENT)
			return err;
		if (sp != NULL && (pte_load(sp) & PTE_POISON))
			return -EINVAL;
		return holes ? (int64_t)MMRT_PAGE_SIZE : -ENOENT;
	}
	se = pte_load(sp);
	if (se & PTE_PROTNONE)
		return -EINVAL;
	if (shuge) {
		if ((src & HUGE_MASK_) != 0 || (dst & HUGE_MASK_) != 0 ||
				left < MMRT_HUGE_SIZE) {
			err = mm_split_pmd(as, stbl, sp, true);
			return err != 0 ? err : 0;
		}
		dp = mm_pt_walk(as, dst, MM_LEVEL_PMD, true, &dtbl, &err);
		if (dp == NULL)
			return err;
		if (pte_load(dp) != 0) {
			if (pte_load(dp) & PTE_H)
				return -EEXIST;
			/* a table below: split the source and go page-wise */
			err = mm_split_pmd(as, stbl, sp, true);
			return err != 0 ? err : 0;
		}
		if (!move_ok(se, true))
			return -EBUSY;
		mm_pt_lock_pair(stbl, dtbl);
		if (pte_load(sp) != se || pte_load(dp) != 0) {
			mm_pt_unlock_pair(stbl, dtbl);
			return 0;
		}
		pte_store(sp, 0);
		mm_notify_invalidate(as, src, src + MMRT_HUGE_SIZE, false);
		se &= ~PTE_UFFD_WP;
		if (dr->prot & MMRT_PROT_WRITE)
			se |= PTE_W | PTE_D;
		pte_store(dp, se);
		mm_pt_unlock_pair(stbl, dtbl);
		return MMRT_HUGE_SIZE;
	}
	if (!move_ok(se, false))
		return -EBUSY;
	dp = leaf_get(as, dst, true, &dtbl, &dhuge, &err);
	if (dp == NULL)
		return err;
	if (dhuge || pte_load(dp) != 0)
		return -EEXIST;
	mm_pt_lock_pair(stbl, dtbl);
	de = pte_load(dp);
	if (pte_load(sp) != se || de != 0) {
		mm_pt_unlock_pair(stbl, dtbl);
		return de != 0 ? -EEXIST : 0;
	}
	/* the old translation is gone before the new one exists */
	pte_store(sp, 0);
	mm_notify_invalidate(as, src, src + MMRT_PAGE_SIZE, false);
	se &= ~(PTE_UFFD_WP | PTE_W);
	if ((dr->prot & MMRT_PROT_WRITE) && pte_pfn(se) != mmrt_zero_pfn())
		se |= PTE_W | PTE_D;
	pte_store(dp, se);
	mm_pt_unlock_pair(stbl, dtbl);
	return MMRT_PAGE_SIZE;
}

int
mmrt_uffd_move(struct mmrt_uffd *u, struct mmrt_uffd_move *m)
{
	struct mmrt_notifier_range nr;
	const struct mm_region *dr = NULL, *sr;
	uint64_t off = 0, drend = 0;
	struct mmrt_as *as;
	int64_t n;
	int err = 0, i;
	bool offl, ranged = false;

	if (!uffd_live(u) || m == NULL) {
		if (m != NULL)
			m->move = -EINVAL;
		return -EINVAL;
	}
	if (range_bad(m->dst, m->len) || range_bad(m->src, m->len) ||
			(m->mode & ~(MMRT_UFFD_MODE_DONTWAKE |
				MMRT_UFFD_MODE_ALLOW_SRC_HOLES)) ||
			!(u->features & MMRT_UFFD_FEATURE_MOVE) ||
			(m->src < m->dst + m->len && m->dst < m->src + m->len)) {
		m->move = -EINVAL;
		return -EINVAL;
	}
	as = __atomic_load_n(&u->as, __ATOMIC_ACQUIRE);
	if (as == NULL || __atomic_load_n(&u->released, __ATOMIC_ACQUIRE)) {
		m->move = -ESRCH;
		return -ESRCH;
	}
	offl = map_read_lock(as);
	rte_rwlock_read_lock(&u->changing_lock);
	if (__atomic_load_n(&u->changing, __ATOMIC_ACQUIRE) != 0) {
		err = -EAGAIN;
		goto out;
	}
	while (off < m->len) {
		uint64_t s = m->src + off, d = m->dst + off;

		if (d >= drend) {
			i = mm_region_find(as, d);
			if (i < 0 || as->regions[i].uffd != u) {
				err = -ENOENT;
				break;
			}
			dr = &as->regions[i];
			if (dr->flags & (REGION_OBJECT | REGION_HOST)) {
				err = -EINVAL;
				break;
			}
			drend = dr->end;
		}
		i = mm_region_find(as, s);
		if (i < 0) {
			err = -ENOENT;
			break;
		}
		sr = &as->regions[i];
		if (sr->flags & (REGION_OBJECT | REGION_HOST)) {
			err = -EINVAL;
			break;
		}
		if (!ranged) {
			mm_range_init(&nr, as, MMRT_NOTIFY_CLEAR, true, m->src,
				m->src + m->len, u);
			mm_notify_start(&nr);
			ranged = true;
		}
		n = move_one(as, dr, s, d, RTE_MIN(m->len - off, drend - d),
			(m->mode & MMRT_UFFD_MODE_ALLOW_SRC_HOLES) != 0);
		if (n < 0) {
			err = (int)n;
			break;
		}
		off += (uint64_t)n;
	}
	if (ranged)
		mm_notify_end(&nr);
out:
	rte_rwlock_read_unlock(&u->changing_lock);
	map_read_unlock(as, offl);
	return fill_result(u, m->dst, m->len, off, err, m->mode, &m->move);
}

/* ---- registration ------------------------------------------------------ */

int
mmrt_uffd_register(struct mmrt_uffd *u, uint64_t start, uint64_t len,
	uint64_t mode, uint64_t *ops)
{
	uint64_t end = start + len;
	struct mmrt_as *as;
	uint32_t i, first;
	int err = 0;

	if (!uffd_live(u) || range_bad(start, len) || mode == 0 ||
			(mode & ~(MMRT_UFFD_REGISTER_MODE_MISSING |
				MMRT_UFFD_REGISTER_MODE_WP |
				MMRT_UFFD_REGISTER_MODE_MINOR)))
		return -EINVAL;
	as = __atomic_load_n(&u->as, __ATOMIC_ACQUIRE);
	if (as == NULL || __atomic_load_n(&u->released, __ATOMIC_ACQUIRE))
		return -ESRCH;
	MM_BLOCKING_BEGIN();
	rte_rwlock_write_lock(&as->map_lock);
	first = mm_region_first_after(as, start);
	if (first >= as->nr_regions || as->regions[first].start >= end) {
		err = -EINVAL;
		goto out;
	}
	MM_FOR_EACH_REGION(as, i, start, end) {
		const struct mm_region *r = &as->regions[i];
		bool object = (r->flags & REGION_OBJECT) != 0;

		if (r->uffd != NULL && r->uffd != u) {
			err = -EBUSY;
			goto out;
		}
		if ((r->flags & REGION_HOST) ||
				((mode & MMRT_UFFD_REGISTER_MODE_MINOR) && !object) ||
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
out:
	rte_rwlock_write_unlock(&as->map_lock);
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

	if (!uffd_live(u) || range_bad(start, len))
		return -EINVAL;
	as = __atomic_load_n(&u->as, __ATOMIC_ACQUIRE);
	if (as == NULL || __atomic_load_n(&u->released, __ATOMIC_ACQUIRE))
		return -ESRCH;
	MM_BLOCKING_BEGIN();
	rte_rwlock_write_lock(&as->map_lock);
	err = unregister_locked(u, as, start, start + len);
	rte_rwlock_write_unlock(&as->map_lock);
	MM_BLOCKING_END();
	if (err == 0)
		uffd_wake(u, start, start + len);
	return err;
}

/* ---- messages ---------------------------------------------------------- */

int
mmrt_uffd_read(struct mmrt_uffd *u, struct mmrt_uffd_msg *msgs,
	unsigned int n)
{
	unsigned int got, ev, i;

	if (!uffd_live(u) || msgs == NULL || n == 0)
		return -EINVAL;
	got = rte_ring_mc_dequeue_burst_elem(u->faults, msgs, sizeof(*msgs),
		n, NULL);
	if (got == n)
		return (int)got;
	ev = rte_ring_mc_dequeue_burst_elem(u->events, msgs + got,
		sizeof(*msgs), n - got, NULL);
	/* each event read ends its layout change for fills */
	for (i = 0; i < ev; i++)
		__atomic_fetch_sub(&u->changing, 1, __ATOMIC_RELEASE);
	return (int)(got + ev);
}

int
mmrt_uffd_stats(struct mmrt_uffd *u, struct mmrt_uffd_stats *st)
{
	if (!uffd_live(u) || st == NULL)
		return -EINVAL;
#define LD(f) st->f = __atomic_load_n(&u->st.f, __ATOMIC_RELAXED)
	LD(faults);
	LD(faults_dedup);
	LD(faults_missing);
	LD(faults_wp);
	LD(faults_minor);
	LD(faults_sigbus);
	LD(faults_full);
	LD(events);
	LD(events_lost);
	LD(wp_async);
	LD(wakes);
	LD(filled_pages);
#undef LD
	st->pending = __atomic_load_n(&u->npending, __ATOMIC_RELAXED);
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
		/* waits for fills in flight; later ones see the count */
		rte_rwlock_write_lock(&u->changing_lock);
		__atomic_fetch_add(&u->changing, 1, __ATOMIC_RELEASE);
		rte_rwlock_write_unlock(&u->changing_lock);
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
		if (++spins < UFFD_SPINS)
			rte_pause();
		else
			sched_yield();
	}
	ST_ADD(u, events, 1);
}

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
		cu = uffd_new(child, pu->features, pu->ring_size,
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
		uffd_wake(u, 0, MMRT_VA_LIMIT);
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

		rte_rwlock_write_lock(&as->map_lock);
		/* clearing WP and dropping registration cannot fail on
		 * [0, VA_LIMIT): no split is needed there */
		(void)unregister_locked(u, as, 0, MMRT_VA_LIMIT);
		for (pp = &as->uffds; *pp != NULL; pp = &(*pp)->as_next)
			if (*pp == u) {
				*pp = u->as_next;
				break;
			}
		__atomic_store_n(&u->as, NULL, __ATOMIC_RELEASE);
		rte_rwlock_write_unlock(&as->map_lock);
		MM_BLOCKING_END();
	}
	/* pending faults retry (as ordinary faults now) */
	__atomic_store_n(&u->released, 1, __ATOMIC_RELEASE);
	uffd_wake(u, 0, MMRT_VA_LIMIT);
	while (__atomic_load_n(&u->waiters, __ATOMIC_ACQUIRE) != 0)
		sched_yield();
	while (rte_ring_mc_dequeue_elem(u->events, &m, sizeof(m)) == 0)
		if (m.event == MMRT_UFFD_EVENT_FORK)
			mmrt_uffd_destroy(m.arg.fork.ufd);
	uffd_free(u);
	return 0;
}
