/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Host mappings: process memory the caller owns (DPDK memory, or any
 * page-aligned memory) under a space's page table. The format of a host
 * leaf and the rules every frame path follows are in mm_host.h; locks as
 * on the sheet in mm_locking.h (leaves are made under the write map lock,
 * or by a fault under the read map lock and the leaf's PT lock).
 *
 * Invalidation is not special: unmap, protect and DONTNEED clear or
 * downgrade host leaves exactly as pool leaves, track their range in the
 * gather, and the gather's device flush waits for every consumer's ack
 * before the call returns (invariant A). A host leaf only never reaches
 * the gather's frame list, since there is no frame to free.
 */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_memory.h>
#include <rte_memzone.h>
#include <rte_spinlock.h>

#include "mm_testhooks.h"
#include "mm_locking.h"
#include "mm_pte.h"
#include "mm_host_pte.h"
#include "mm_as.h"
#include "mm_region.h"
#include "mm_notify.h"
#include "mm_gather.h"
#include "mm_pgtable.h"
#include "mm_host.h"
#include "mmrt_notifier.h"
#include "mmrt_uffd.h"

/*
 * The IOVA offsets of DPDK memory whose IOVA is not its address
 * (IOVA-as-PA): one slot per distinct (IOVA - address) of a memseg,
 * indexed from bits 48..62 of a host leaf (PTE_HIOVA_TAB). Slots are
 * only added, under the table's lock, before the leaf that names them is
 * published (release), so a walker that sees the leaf sees the slot. A
 * memzone, so that secondary processes read the same table.
 */
#define HIOVA_SLOTS (MMRT_PTE_HIOVA_IDX_MASK >> MMRT_PTE_HIOVA_IDX_SHIFT)
#define HIOVA_MZ "mmrt_hiova"

struct hiova_tab {
	rte_spinlock_t lock;
	uint32_t n;
	int64_t delta[HIOVA_SLOTS + 1];
};

static struct hiova_tab *hiova;

/* The table of this process's EAL, made on first need (no mm lock held:
 * a memzone reserve takes DPDK's memory lock). NULL if it cannot be had. */
static struct hiova_tab *
hiova_get(bool create)
{
	const struct rte_memzone *mz = rte_memzone_lookup(HIOVA_MZ);

	if (mz == NULL && create)
		mz = TEST_ALLOC_FAIL() ? NULL :
			rte_memzone_reserve(HIOVA_MZ, sizeof(struct hiova_tab),
			SOCKET_ID_ANY, RTE_MEMZONE_SIZE_HINT_ONLY);
	if (mz == NULL && create)
		mz = rte_memzone_lookup(HIOVA_MZ); /* another made it */
	__atomic_store_n(&hiova, mz != NULL ? mz->addr : NULL,
		__ATOMIC_RELEASE);
	return mz != NULL ? mz->addr : NULL;
}

/* The slot of @delta: found or added; -ENOTSUP if the table is full or
 * missing. */
static int64_t
hiova_slot(int64_t delta)
{
	struct hiova_tab *t = __atomic_load_n(&hiova, __ATOMIC_ACQUIRE);
	int64_t idx = -ENOTSUP;
	uint32_t i;

	if (t == NULL)
		return -ENOTSUP;
	rte_spinlock_lock(&t->lock);
	for (i = t->n; i > 0; i--)
		if (t->delta[i - 1] == delta) {
			idx = i - 1;
			break;
		}
	if (idx < 0 && t->n < HIOVA_SLOTS) {
		t->delta[t->n] = delta;
		idx = t->n++;
	}
	rte_spinlock_unlock(&t->lock);
	return idx;
}

rte_iova_t
mmrt_host_iova_tab(uint64_t e, uint64_t addr)
{
	struct hiova_tab *t = __atomic_load_n(&hiova, __ATOMIC_ACQUIRE);

	if (unlikely(t == NULL)) {
		/* a secondary process, or the first walk after a restart */
		t = hiova_get(false);
		if (t == NULL)
			return RTE_BAD_IOVA;
	}
	return (rte_iova_t)(addr + (uint64_t)t->delta[(e &
		MMRT_PTE_HIOVA_IDX_MASK) >> MMRT_PTE_HIOVA_IDX_SHIFT]);
}

/*
 * The IOVA bits of the host page at @h: identity for DPDK memory whose
 * IOVA is its address, PTE_HIOVA_NONE for memory DPDK does not know (or
 * external memory registered without IOVAs), PTE_HIOVA_TAB with the slot
 * of its memseg's offset for DPDK memory with another IOVA (IOVA-as-PA;
 * -ENOTSUP if the offset table is full). Not thread-safe against DPDK
 * freeing @h, which the caller owns.
 */
static int64_t
host_iova_bits(uint64_t h)
{
	const void *p = (const void *)(uintptr_t)h;
	const struct rte_memseg_list *msl;
	const struct rte_memseg *ms;

	msl = rte_mem_virt2memseg_list(p);
	if (msl == NULL)
		return (int64_t)PTE_HIOVA_NONE;
	ms = rte_mem_virt2memseg(p, msl);
	if (ms == NULL || ms->iova == RTE_BAD_IOVA)
		return (int64_t)PTE_HIOVA_NONE;
	if (ms->iova != (rte_iova_t)(uintptr_t)ms->addr) {
		int64_t idx = hiova_slot((int64_t)(ms->iova -
			(rte_iova_t)(uintptr_t)ms->addr));

		if (idx < 0)
			return idx;
		return (int64_t)(PTE_HIOVA_TAB |
			((uint64_t)idx << MMRT_PTE_HIOVA_IDX_SHIFT));
	}
	return 0;
}

/* The IOVA bits shared by all of [h, h + len), or -1 if they differ. */
static int64_t
host_iova_bits_range(uint64_t h, uint64_t len, int *err)
{
	int64_t first = host_iova_bits(h), b;
	uint64_t o;

	if (first < 0) {
		*err = (int)first;
		return -1;
	}
	for (o = MMRT_PAGE_SIZE; o < len; o += MMRT_PAGE_SIZE) {
		b = host_iova_bits(h + o);
		if (b < 0) {
			*err = (int)b;
			return -1;
		}
		if (b != first)
			return -1;
	}
	return first;
}

/* The leaf bits (less address and IOVA kind) for region protection @prot. */
static uint64_t
host_prot_bits(uint32_t prot)
{
	if (prot == MMRT_PROT_NONE)
		return PTE_PROTNONE;
	return PTE_P | PTE_A | ((prot & MMRT_PROT_WRITE) ? PTE_W | PTE_D : 0);
}

int
mm_host_install(struct mmrt_as *as, uint64_t va, uint64_t host,
	uint64_t len, uint64_t bits)
{
	bool iova_va = (bits & PTE_HIOVA_VA) != 0;
	uint64_t off, *p, e;
	int64_t kind;
	uint32_t tbl;
	int err = 0;

	bits |= PTE_HOST;
	for (off = 0; off < len; ) {
		uint64_t a = va + off, h = host + off;

		if (((a | h) & (MMRT_HUGE_SIZE - 1)) == 0 &&
				len - off >= MMRT_HUGE_SIZE) {
			kind = iova_va ? 0 : host_iova_bits_range(h,
				MMRT_HUGE_SIZE, &err);
			if (err != 0)
				return err;
			if (kind >= 0) {
				p = mm_pt_walk(as, a, 2, true, &tbl, &err);
				if (p == NULL)
					return err;
				e = pte_load(p);
				if (e != 0 && !(e & PTE_T))
					return -EEXIST;
				if (e == 0) {
					/* release: publishes the leaf */
					pte_store(p, h | bits | PTE_H |
						(uint64_t)kind);
					off += MMRT_HUGE_SIZE;
					continue;
				}
				/* an empty table is left there: 4 KiB leaves */
			}
		}
		kind = iova_va ? 0 : host_iova_bits(h);
		if (kind < 0)
			return (int)kind;
		p = mm_pt_walk(as, a, 1, true, &tbl, &err);
		if (p == NULL)
			return err;
		if (pte_load(p) != 0)
			return -EEXIST;
		pte_store(p, h | bits | (uint64_t)kind);
		off += MMRT_PAGE_SIZE;
	}
	return 0;
}

/* Take a PT lock outright, or only try it (a poller's probe). */
static bool
host_pt_lock(uint32_t tbl, bool try)
{
	if (!try) {
		mm_spin_lock(pt_lock(tbl), MM_LC_PT);
		return true;
	}
	return mm_spin_trylock(pt_lock(tbl), MM_LC_PT) != 0;
}

/*
 * A fault that must go back to the userfault check (-EAGAIN): an empty
 * leaf of a range registered MISSING or MINOR (a DONTNEED emptied it
 * since the check: its resolver fills it, not the fault), or a write to
 * a leaf write-protected by a uffd since the check.
 */
static bool
host_uffd_recheck(const struct mm_region *r, uint64_t e, bool write)
{
	if (r->uffd == NULL)
		return false;
	if (e == 0)
		return (r->uffd_mode & (MMRT_UFFD_REGISTER_MODE_MISSING |
			MMRT_UFFD_REGISTER_MODE_MINOR)) != 0;
	return write && (e & PTE_UFFD_WP);
}

/* More permission for a present host leaf: needs no invalidation. */
static uint64_t
host_upgrade(uint64_t e, const struct mm_region *r, bool write)
{
	if (e & PTE_PROTNONE)
		e = (e & ~PTE_PROTNONE) | PTE_P;
	if (write && (r->prot & MMRT_PROT_WRITE))
		e |= PTE_W | PTE_D | PTE_A;
	return e;
}

int
mm_host_fault(struct mmrt_as *as, const struct mm_region *r, uint64_t va,
	uint32_t access, bool try)
{
	bool write = (access & MMRT_ACCESS_WRITE) != 0, mirror = false;
	uint64_t *pmd, *pte, e, ne = 0, h;
	bool empty;
	uint32_t tbl2, tbl1;
	int64_t kind;
	int err;

	va &= ~(MMRT_PAGE_SIZE - 1);
	if (r->flags & REGION_MIRROR) {
		/*
		 * The mirror is never refaulted: a hole is memory DPDK does
		 * not have. Walk without allocating (which takes no lock), so
		 * stray IOVAs of an engine leave no tables behind.
		 */
		mirror = true;
	}
	pmd = mirror ? mm_pt_walk(as, va, 2, false, &tbl2, &err) :
		try ? mm_pt_walk_try(as, va, 2, &tbl2, &err) :
		mm_pt_walk(as, va, 2, true, &tbl2, &err);
	if (pmd == NULL)
		return mirror ? -EFAULT : err;
	e = pte_load(pmd);
	if (e & PTE_H) {
		if (!host_pt_lock(tbl2, try))
			return -EBUSY;
		e = pte_load(pmd);
		if ((e & PTE_H) && host_uffd_recheck(r, e, write)) {
			mm_spin_unlock(pt_lock(tbl2), MM_LC_PT);
			return -EAGAIN;
		}
		if ((e & PTE_H) && pte_is_host(e)) {
			ne = host_upgrade(e, r, write);
			if (ne != e)
				pte_store(pmd, ne);
		}
		mm_spin_unlock(pt_lock(tbl2), MM_LC_PT);
		return 0;
	}
	pte = mirror ? mm_pt_walk(as, va, 1, false, &tbl1, &err) :
		try ? mm_pt_walk_try(as, va, 1, &tbl1, &err) :
		mm_pt_walk(as, va, 1, true, &tbl1, &err);
	if (pte == NULL) {
		if (err == -EEXIST)
			return 0; /* a 2 MiB leaf appeared: walk again */
		return mirror ? -EFAULT : err;
	}
	e = pte_load(pte);
	if (e & PTE_POISON)
		return -EHWPOISON; /* a uffd poisoned it */
	empty = e == 0 || pte_is_marker(e);
	if (empty) {
		/* dropped by DONTNEED: the same bytes again */
		if (mirror)
			return -EFAULT; /* a hole of the mirror: no memory */
		h = r->obj_off + (va - r->start);
		kind = host_iova_bits(h);
		if (kind < 0)
			return (int)kind;
		ne = h | PTE_HOST | (uint64_t)kind | host_prot_bits(r->prot);
		/* a uffd-wp marker (read fault): the leaf keeps the WP */
		if (e & PTE_UFFD_WP)
			ne = (ne & ~PTE_W) | PTE_UFFD_WP;
	}
	if (!host_pt_lock(tbl1, try))
		return -EBUSY;
	if (host_uffd_recheck(r, pte_load(pte), write)) {
		mm_spin_unlock(pt_lock(tbl1), MM_LC_PT);
		return -EAGAIN;
	}
	if (empty) {
		if (pte_load(pte) == e) {
			pte_store(pte, ne);
			MM_STAT_ADD(as, faults, 1);
		}
	} else {
		e = pte_load(pte);
		if (pte_is_host(e)) {
			ne = host_upgrade(e, r, write);
			if (ne != e)
				pte_store(pte, ne);
		}
	}
	mm_spin_unlock(pt_lock(tbl1), MM_LC_PT);
	return 0;
}

int64_t
mm_host_leaf(const struct mm_region *r, uint64_t va)
{
	uint64_t h = r->obj_off + ((va & ~(MMRT_PAGE_SIZE - 1)) - r->start);
	int64_t kind = host_iova_bits(h);

	if (kind < 0)
		return kind;
	return (int64_t)(h | PTE_HOST | (uint64_t)kind);
}

int
mm_map_region_locked(struct mmrt_as *as, const struct mm_region *r)
{
	int ret;

	if (mm_region_overlaps(as, r->start, r->end))
		return -EEXIST;
	ret = mm_region_reserve(as, 1);
	if (ret == 0)
		ret = mm_region_insert(as, r);
	return ret;
}

void
mm_zap_notified(struct mmrt_as *as, int event, uint64_t va, uint64_t len,
	bool unmap)
{
	struct mm_gather tlb;
	struct mm_zap z = { .tlb = &tlb, .free_tables = unmap,
		.locked = !unmap };
	struct mmrt_notifier_range r;

	mm_range_init(&r, as, event, true, va, va + len, NULL);
	mm_notify_start(&r);
	mm_gather_init(&tlb, as, false);
	mm_zap_range(as, &z, va, va + len);
	mm_gather_finish(&tlb);
	mm_notify_end(&r);
}

void
mm_unmap_locked(struct mmrt_as *as, uint64_t va, uint64_t len)
{
	mm_zap_notified(as, MMRT_NOTIFY_UNMAP, va, len, true);
	mm_region_remove(as, va, va + len);
}

#define HOST_PROT_ALL (MMRT_PROT_READ | MMRT_PROT_WRITE)

int
mmrt_map_host(struct mmrt_as *as, uint64_t va, void *host, uint64_t len,
	uint32_t prot, uint32_t flags)
{
	uint64_t h = (uint64_t)(uintptr_t)host;
	struct mm_region r;
	int ret;

	if (!mm_as_live(as) || host == NULL || len == 0 ||
			((va | len | h) & (MMRT_PAGE_SIZE - 1)) != 0 ||
			va >= MMRT_VA_LIMIT || len > MMRT_VA_LIMIT - va ||
			h >= MMRT_VA_LIMIT || len > MMRT_VA_LIMIT - h ||
			(prot & ~HOST_PROT_ALL) || flags != 0)
		return -EINVAL;
	if (prot & MMRT_PROT_WRITE)
		prot |= MMRT_PROT_READ;
	memset(&r, 0, sizeof(r));
	r.start = va;
	r.end = va + len;
	r.prot = prot;
	r.flags = REGION_HOST;
	r.obj_off = h;
	/* IOVA-as-PA: the offset table, before any lock (a memzone) */
	if (rte_eal_iova_mode() == RTE_IOVA_PA)
		hiova_get(true);
	MM_BLOCKING_BEGIN();
	mm_write_lock(&as->map_lock, MM_LC_MAP);
	ret = mm_map_region_locked(as, &r);
	if (ret == 0) {
		ret = mm_host_install(as, va, h, len, host_prot_bits(prot));
		/* leaves already published may have been walked: undo the
		 * partly made mapping with a full unmap */
		if (ret != 0)
			mm_unmap_locked(as, va, len);
	}
	mm_write_unlock(&as->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
	return ret;
}

/* ---- the registry of DPDK mirrors (mirror.c makes them) ---- */

static struct mm_mirror mirrors[MM_MIRROR_MAX];
static rte_spinlock_t mirrors_lock = RTE_SPINLOCK_INITIALIZER;
static pthread_mutex_t mirrors_ext_lock = PTHREAD_MUTEX_INITIALIZER;

void
mm_mirror_ext_lock(void)
{
	pthread_mutex_lock(&mirrors_ext_lock);
}

void
mm_mirror_ext_unlock(void)
{
	pthread_mutex_unlock(&mirrors_ext_lock);
}

struct mm_mirror *
mm_mirror_ready(unsigned int i)
{
	/* ready is written under the ext lock only, and the slot's space
	 * changes only while it is false */
	if (i >= MM_MIRROR_MAX || !mirrors[i].ready)
		return NULL;
	return &mirrors[i];
}

struct mm_mirror *
mm_mirror_slot(struct mmrt_as *as)
{
	struct mm_mirror *m = NULL;
	unsigned int i;

	rte_spinlock_lock(&mirrors_lock);
	for (i = 0; i < MM_MIRROR_MAX; i++)
		if (mirrors[i].as == NULL) {
			m = &mirrors[i];
			m->as = as;
			m->cb = false; /* ready stays false (detach) */
			break;
		}
	rte_spinlock_unlock(&mirrors_lock);
	return m;
}

void
mm_mirror_detach(struct mmrt_as *as)
{
	struct mm_mirror *m = NULL;
	unsigned int i;

	rte_spinlock_lock(&mirrors_lock);
	for (i = 0; i < MM_MIRROR_MAX; i++)
		if (mirrors[i].as == as)
			m = &mirrors[i];
	rte_spinlock_unlock(&mirrors_lock);
	if (m == NULL)
		return;
	/*
	 * DPDK runs callbacks under its event list lock and unregistering
	 * takes it for writing: after this no callback of @as runs. Hence
	 * no map lock of @as may be held here (the callback takes it).
	 */
	if (m->cb)
		rte_mem_event_callback_unregister(m->cb_name, m);
	/* no dma map or sync reaches the space once this returns (the
	 * teardown zaps the external leaves with the rest) */
	mm_mirror_ext_lock();
	rte_spinlock_lock(&mirrors_lock);
	m->cb = false;
	m->ready = false;
	free(m->ext);
	m->ext = NULL;
	m->nb_ext = 0;
	m->cap_ext = 0;
	m->as = NULL;
	rte_spinlock_unlock(&mirrors_lock);
	mm_mirror_ext_unlock();
}
