/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Pins (mmrt_pin(), mmrt_mm.h): long-lived holds on the pages of a range,
 * in the manner of the kernel's FOLL_LONGTERM pins, with revocation in the
 * manner of iommufd's access unmap callback.
 *
 * A pin is two things:
 *
 *  - per page, a hold: one reference and one pin count on the pool frame
 *    (mm_pin_frame.h says what the frame paths make of the count), or for
 *    a host leaf the host address and IOVA kind (no hold: the memory is
 *    the caller's);
 *
 *  - an interval notifier on the range, which revokes the pin when the
 *    translation of the range changes under it, and whose sequence makes
 *    taking the holds race-free against layout changes: the holds are
 *    taken under the read map lock and the leaves' PT locks, but a
 *    fault that must wait (a userfault) drops the map lock, so the pin
 *    is only established if no invalidation of the range ran meanwhile
 *    (mmrt_interval_read_begin()/read_retry(), under pin->lock); else
 *    every hold is dropped and the pin is taken again.
 *
 * Which invalidations revoke (pin_revokes()): the notifier sees every
 * removal or downgrade of a translation in the range. UNMAP (unmap,
 * remap's source, teardown, the mirror's freed memory) and RELEASE
 * always revoke. CLEAR revokes when it may replace a page: MMRT_ADV_
 * DONTNEED and copy-on-write pass no owner; the CLEARs with an owner are
 * mmrt_merge() (&mm_merge_owner) and mmrt_uffd_move() (the uffd), which
 * refuse pinned pages under the PT locks and so never change a page a
 * pin holds. PROTECTION_VMA revokes if the new protection of an
 * overlapping region (already set when mmrt_protect() notifies, under
 * its write map lock) lacks the pin's access. PROTECTION_PAGE (fork,
 * userfault write-protect) keeps the frames where they are: fork copies
 * pinned pages for the child, and a write-protected pinned page is made
 * writable in place again (its non-pin references are 1).
 *
 * Locks: pin->lock is the notifier's user lock, a leaf taken inside the
 * map lock (the invalidate op runs under the invalidator's map lock) and
 * never across a call into lib/mm. The revocation callback runs after
 * pin->lock is dropped, still inside the invalidator's map lock.
 *
 * Processes. A pin is DPDK memory (rte_malloc) and holds no process-local
 * pointer but its callback: a pin without one is an interval subscription
 * of kind MM_IKIND_PIN (mm_notify.h), so whichever process invalidates
 * its range calls this file's pin_invalidate() through its own kind
 * table, and any process may take one. A pin with a callback is a plain
 * (kind 0) subscription of the primary: only the primary takes those
 * (-E_RTE_SECONDARY elsewhere), and a secondary's operation that would
 * revoke one is refused as for any plain subscriber (mm_notify_foreign()).
 *
 * Every pin is on the shared registry (memzone PIN_MZ: pins_lock and a
 * list), tagged with the process slot of its taker (mmrt_process_slot()),
 * from before its first hold until after its last: mmrt_reap_dead()
 * releases a dead process's pins (pin_reap()), established or not. The
 * release is redone whole by a reaper that replaces a dead one: the
 * stats drop once (pin->detached), the notifier's remove is a no-op the
 * second time, and holds are dropped from the last, the count lowered
 * before each put (a reaper killed between the two leaks that frame,
 * never puts it twice). pins_lock is a leaf (mm_locking.h), never held
 * across a call into lib/mm.
 */

#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memzone.h>
#include <rte_spinlock.h>

#include <mmrt_core.h>

#include "core_rlist.h"
#include "mm_locking.h"
#include "mm_testhooks.h"
#include "mm_pte.h"
#include "mm_host_pte.h"
#include "mm_pin_frame.h"
#include "mm_as.h"
#include "mm_region.h"
#include "mm_pgtable.h"
#include "mm_uffd.h"
#include "mm_fault.h"
#include "mm_sg.h"
#include "mm_notify.h"
#include "mmrt_notifier.h"

#define PIN_MAGIC 0x6d6d706eu /* "mmpn" */
#define PIN_TRIES 64          /* establishments tried before -EAGAIN */

/*
 * An entry of pin->ent: a pool page, (pfn << 12); the shared zero frame,
 * with PIN_E_NOREF (no reference is held on it); a host page, its address
 * | PIN_E_HOST | its PTE_HIOVA_BITS (kind and offset-table index).
 */
#define PIN_E_HOST  UINT64_C(1)
#define PIN_E_NOREF UINT64_C(2)

struct mmrt_pin {
	struct mmrt_interval_notifier sub; /* first: container of the op */
	uint32_t magic;
	uint32_t flags;
	struct mmrt_as *as;
	uint64_t va;
	uint64_t len;
	rte_spinlock_t lock;     /* the notifier's user lock */
	bool live;               /* established: revocation is reported */
	bool revoked;
	bool detached;           /* space dying (RELEASE) or stats dropped */
	bool counted;            /* in the space's pinned_pages */
	int32_t owner;           /* process slot of the taker, -1: none */
	struct core_rlist_node reg; /* the registry's list (pins_lock) */
	mmrt_pin_revoke_t revoke; /* the primary's only (kind 0) */
	void *arg;
	uint64_t npages;
	uint64_t nheld;          /* entries holding a page, from 0 */
	uint64_t ent[];
};

static bool
pin_live(const struct mmrt_pin *pin)
{
	return pin != NULL && pin->magic == PIN_MAGIC;
}

/* ---- the shared registry ---- */

#define PIN_MZ "mmrt_pins"
struct pin_registry {
	rte_spinlock_t lock;     /* pins_lock: the list */
	struct core_rlist list;  /* of mmrt_pin.reg */
};
static struct pin_registry *pin_reg;
static const struct rte_memzone *pin_reg_mz; /* the primary's, to free */

#define PIN_REG_FOREACH(p) \
	for ((p) = pin_reg_entry(pin_reg->list.first); (p) != NULL; \
		(p) = pin_reg_entry((p)->reg.next))

static inline struct mmrt_pin *
pin_reg_entry(struct core_rlist_node *n)
{
	return n == NULL ? NULL : container_of(n, struct mmrt_pin, reg);
}

/*
 * The registry is a robust list (core_rlist.h): a secondary killed in the
 * middle of an add or a removal leaves an edit its reaper finishes.
 */
static void
pin_reg_add(struct mmrt_pin *pin)
{
	struct mmrt_robust_edit *j;

	mm_spin_lock(&pin_reg->lock, MM_LC_PINS);
	j = core_rlist_journal(&pin_reg->list, &pin->reg, false, 0);
	core_rlist_append(&pin_reg->list, &pin->reg, j);
	if (j != NULL)
		core_edit_end(j);
	mm_spin_unlock(&pin_reg->lock, MM_LC_PINS);
}

static void
pin_reg_del(struct mmrt_pin *pin)
{
	struct mmrt_robust_edit *j;

	mm_spin_lock(&pin_reg->lock, MM_LC_PINS);
	j = core_rlist_journal(&pin_reg->list, &pin->reg, true, 0);
	core_rlist_unlink(&pin_reg->list, &pin->reg, j);
	if (j != NULL)
		core_edit_end(j);
	mm_spin_unlock(&pin_reg->lock, MM_LC_PINS);
}

/* Pins on the registry taken by process slot @owner (any if -1). */
static unsigned int
pin_reg_count(int32_t owner)
{
	struct mmrt_pin *p;
	unsigned int n = 0;

	mm_spin_lock(&pin_reg->lock, MM_LC_PINS);
	PIN_REG_FOREACH(p)
		n += owner < 0 || p->owner == owner;
	mm_spin_unlock(&pin_reg->lock, MM_LC_PINS);
	return n;
}

/* Does the protection of every region overlapping [s, e) still allow the
 * pin's access? Map lock held (mmrt_protect() holds it for writing). */
static bool
pin_prot_ok(const struct mmrt_pin *pin, uint64_t s, uint64_t e)
{
	uint32_t need = (pin->flags & MMRT_PIN_WRITE) ? MMRT_PROT_WRITE :
		MMRT_PROT_READ;
	uint32_t i;

	MM_FOR_EACH_REGION(pin->as, i, s, e)
		if ((pin->as->regions[i].prot & need) == 0)
			return false;
	return true;
}

static bool
pin_revokes(const struct mmrt_pin *pin, const struct mmrt_notifier_range *r)
{
	switch (r->event) {
	case MMRT_NOTIFY_UNMAP:
	case MMRT_NOTIFY_RELEASE:
		return true;
	case MMRT_NOTIFY_CLEAR:
		return r->owner == NULL;
	case MMRT_NOTIFY_PROTECTION_VMA:
		return !pin_prot_ok(pin, RTE_MAX(r->start, pin->va),
			RTE_MIN(r->end, pin->va + pin->len));
	case MMRT_NOTIFY_PROTECTION_PAGE:
	default:
		return false;
	}
}

static bool
pin_invalidate(struct mmrt_interval_notifier *sub,
	const struct mmrt_notifier_range *range, uint64_t cur_seq)
{
	struct mmrt_pin *pin = container_of(sub, struct mmrt_pin, sub);
	bool call = false;

	if (mmrt_notifier_range_blockable(range))
		mm_spin_lock(&pin->lock, MM_LC_PIN);
	else if (!mm_spin_trylock(&pin->lock, MM_LC_PIN))
		return false;
	mmrt_interval_set_seq(sub, cur_seq);
	if (pin->live && !pin->revoked && pin_revokes(pin, range)) {
		__atomic_store_n(&pin->revoked, true, __ATOMIC_RELEASE);
		call = pin->revoke != NULL;
	}
	if (range->event == MMRT_NOTIFY_RELEASE)
		pin->detached = true; /* the space goes: unpin leaves it be */
	mm_spin_unlock(&pin->lock, MM_LC_PIN);
	if (call)
		pin->revoke(pin, pin->arg);
	return true;
}

static const struct mmrt_interval_notifier_ops pin_ops = {
	.invalidate = pin_invalidate,
};

/*
 * Drop the holds of entries [0, pin->nheld), last first, the count
 * lowered before each drop (a reaper that replaces a dead one redoes
 * this: see the file comment).
 */
static void
pin_drop_holds(struct mmrt_pin *pin)
{
	uint32_t owner, n;
	uint64_t e;

	/* acquire: pairs with the release that counts a hold after its
	 * entry is written (pin_one()): a reaper reads the entry it saw
	 * counted */
	while ((n = __atomic_load_n(&pin->nheld, __ATOMIC_ACQUIRE)) > 0) {
		e = pin->ent[n - 1];
		__atomic_store_n(&pin->nheld, n - 1, __ATOMIC_RELEASE);
		if (e & (PIN_E_HOST | PIN_E_NOREF))
			continue;
		owner = frame_owner((uint32_t)(e >> MMRT_PAGE_SHIFT));
		mm_frame_unpin_count(owner);
		mmrt_frame_put(owner);
	}
}

/*
 * Hold the page at @va if its leaf allows it (read map lock held): 0 and
 * the hold recorded as the pin's next entry, 1 (fault it in first, for
 * @write), or -EHWPOISON. @write: the leaf must be writable, which for
 * an anonymous page means exclusive (a copy-on-write page is
 * write-protected). The hold is recorded (pin->nheld raised) under the
 * PT lock, so that the taker's death between taking and recording it
 * falls in a window where it holds a lock anyway.
 */
static int
pin_one(struct mmrt_pin *pin, uint64_t va, bool write)
{
	struct mmrt_as *as = pin->as;
	uint64_t *ent = &pin->ent[pin->nheld];
	uint64_t *p, e, off;
	uint32_t tbl, pfn, owner;
	bool huge;
	int err;

	p = mm_pt_leaf(as, va, false, &tbl, &huge, &err);
	if (p == NULL)
		return err == -ENOENT ? 1 : err;
	mm_spin_lock(pt_lock(tbl), MM_LC_PT);
	e = pte_load(p);
	if (!(e & PTE_P) || (e & PTE_T) || (write && !mmrt_pte_writable(e))) {
		mm_spin_unlock(pt_lock(tbl), MM_LC_PT);
		return (e & PTE_POISON) ? -EHWPOISON : 1;
	}
	off = huge ? (va & (MMRT_HUGE_SIZE - 1)) : 0;
	if (pte_is_host(e)) {
		*ent = (pte_host_addr(e) + off) | PIN_E_HOST |
			(e & PTE_HIOVA_BITS);
	} else {
		pfn = pte_pfn(e) + (uint32_t)(off >> MMRT_PAGE_SHIFT);
		if (pfn == mmrt_zero_pfn()) {
			*ent = ((uint64_t)pfn << MMRT_PAGE_SHIFT) | PIN_E_NOREF;
		} else {
			owner = huge ? pte_pfn(e) : frame_owner(pfn);
			mm_frame_pin(owner);
			*ent = (uint64_t)pfn << MMRT_PAGE_SHIFT;
		}
	}
	/* release: a reaper reads the entry once it sees the count */
	__atomic_store_n(&pin->nheld, pin->nheld + 1, __ATOMIC_RELEASE);
	mm_spin_unlock(pt_lock(tbl), MM_LC_PT);
	return 0;
}

/*
 * Take a hold on every page of the pin, faulting as needed. On error,
 * every hold taken is dropped. Called without the map lock.
 */
static int
pin_hold_all(struct mmrt_pin *pin)
{
	bool wpin = (pin->flags & MMRT_PIN_WRITE) != 0, write;
	struct mmrt_as *as = pin->as;
	const struct mm_region *r;
	struct mm_fault_wait w;
	uint64_t va;
	int ret = 0, i;

	while (ret == 0 && pin->nheld < pin->npages) {
		bool relock = false;

		mm_read_lock(&as->map_lock, MM_LC_MAP);
		while (pin->nheld < pin->npages) {
			va = pin->va + (pin->nheld << MMRT_PAGE_SHIFT);
			i = mm_region_find(as, va);
			if (i < 0) {
				ret = -EFAULT;
				break;
			}
			r = &as->regions[i];
			if (r->prot == MMRT_PROT_NONE ||
					(wpin && !(r->prot & MMRT_PROT_WRITE))) {
				ret = -EACCES;
				break;
			}
			/* a writable private page is made exclusive, so that
			 * no copy-on-write can take it from the pin */
			write = wpin || ((r->prot & MMRT_PROT_WRITE) &&
				!(r->flags & (REGION_OBJECT | REGION_HOST)));
			ret = pin_one(pin, va, write);
			if (ret == 0)
				continue;
			if (ret < 0)
				break;
			mm_fault_wait_init(&w, 0);
			w.requester = (uint32_t)rte_gettid();
			ret = mm_fault_locked(as, va, write ?
				MMRT_ACCESS_WRITE : MMRT_ACCESS_READ, &w);
			if (ret == MM_FAULT_POSTED) {
				relock = true;
				break;
			}
			if (ret != 0)
				break;
		}
		mm_read_unlock(&as->map_lock, MM_LC_MAP);
		if (relock)
			ret = mm_uffd_wait(&w);
	}
	if (ret != 0)
		pin_drop_holds(pin);
	return ret;
}

int
mmrt_pin_revocable(struct mmrt_as *as, uint64_t va, uint64_t len,
	uint32_t flags, mmrt_pin_revoke_t revoke, void *arg,
	struct mmrt_pin **out)
{
	struct mmrt_pin *pin;
	unsigned int tries;
	uint64_t seq;
	size_t size;
	int ret;

	if (out == NULL || !mm_as_live(as) || !mm_range_valid_pages(va, len) ||
			(flags & ~MMRT_PIN_WRITE) || pin_reg == NULL)
		return -EINVAL;
	/* a callback is a function of this process: the primary's only */
	if (revoke != NULL && rte_eal_process_type() != RTE_PROC_PRIMARY)
		return -E_RTE_SECONDARY;
	if ((len >> MMRT_PAGE_SHIFT) > (SIZE_MAX - sizeof(*pin)) /
			sizeof(pin->ent[0]))
		return -ENOMEM;
	size = sizeof(*pin) + (len >> MMRT_PAGE_SHIFT) * sizeof(pin->ent[0]);
	pin = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc("mmrt_pin", size, RTE_CACHE_LINE_SIZE);
	if (pin == NULL)
		return -ENOMEM;
	pin->as = as;
	pin->va = va;
	pin->len = len;
	pin->flags = flags;
	pin->revoke = revoke;
	pin->arg = arg;
	pin->npages = len >> MMRT_PAGE_SHIFT;
	pin->owner = mmrt_process_slot();
	rte_spinlock_init(&pin->lock);
	/* on the registry before the first hold: a death is reaped */
	pin_reg_add(pin);
	ret = revoke != NULL ?
		mmrt_interval_notifier_insert(&pin->sub, as, va, len,
			&pin_ops) :
		mm_interval_insert_kind(&pin->sub, as, va, len, MM_IKIND_PIN);
	if (ret != 0) {
		pin_reg_del(pin);
		rte_free(pin);
		return ret;
	}
	MM_BLOCKING_BEGIN();
	for (tries = 0; ; tries++) {
		/* model: the mmu_interval_notifier read side */
		seq = mmrt_interval_read_begin(&pin->sub);
		ret = pin_hold_all(pin);
		if (ret != 0)
			break;
		mm_spin_lock(&pin->lock, MM_LC_PIN);
		if (!mmrt_interval_read_retry(&pin->sub, seq)) {
			pin->live = true;
			mm_spin_unlock(&pin->lock, MM_LC_PIN);
			break;
		}
		mm_spin_unlock(&pin->lock, MM_LC_PIN);
		/* the range changed while the holds were taken */
		pin_drop_holds(pin);
		if (tries + 1 >= PIN_TRIES) {
			ret = -EAGAIN;
			break;
		}
	}
	MM_BLOCKING_END();
	if (ret != 0) {
		mmrt_interval_notifier_remove(&pin->sub);
		pin_reg_del(pin);
		rte_free(pin);
		return ret;
	}
	mm_spin_lock(&pin->lock, MM_LC_PIN);
	/* not if the space's destroy already detached it */
	if (!pin->detached) {
		MM_STAT_ADD(as, pinned_pages, (int64_t)pin->npages);
		pin->counted = true;
	}
	mm_spin_unlock(&pin->lock, MM_LC_PIN);
	pin->magic = PIN_MAGIC;
	*out = pin;
	return 0;
}

int
mmrt_pin(struct mmrt_as *as, uint64_t va, uint64_t len, uint32_t flags,
	struct mmrt_pin **out)
{
	return mmrt_pin_revocable(as, va, len, flags, NULL, NULL, out);
}

/*
 * Release everything @pin holds, then free it; redone whole by a reaper
 * that replaces a dead one (see the file comment).
 */
static void
pin_release(struct mmrt_pin *pin)
{
	bool drop;

	/*
	 * The space's count, unless its destroy already ran RELEASE (the
	 * caller does not unpin concurrently with that destroy).
	 */
	mm_spin_lock(&pin->lock, MM_LC_PIN);
	drop = pin->counted && !pin->detached;
	pin->detached = true;
	if (drop)
		MM_STAT_ADD(pin->as, pinned_pages, -(int64_t)pin->npages);
	mm_spin_unlock(&pin->lock, MM_LC_PIN);
	/* after this no invalidate op runs on the pin (no-op if detached) */
	mmrt_interval_notifier_remove(&pin->sub);
	pin_drop_holds(pin);
	pin->magic = 0;
	pin_reg_del(pin);
	rte_free(pin);
}

int
mmrt_unpin(struct mmrt_pin *pin)
{
	if (!pin_live(pin))
		return -EINVAL;
	pin_release(pin);
	return 0;
}

bool
mmrt_pin_revoked(const struct mmrt_pin *pin)
{
	return pin_live(pin) &&
		__atomic_load_n(&pin->revoked, __ATOMIC_ACQUIRE);
}

int
mmrt_pin_sg(const struct mmrt_pin *pin, struct mmrt_sg *sg, unsigned int n)
{
	struct mm_sg_acc acc;
	uint64_t i, e, a;
	rte_iova_t iova;
	uint32_t pfn;

	if (!pin_live(pin) || (sg == NULL && n != 0))
		return -EINVAL;
	mm_sg_acc_init(&acc, sg, n);
	for (i = 0; i < pin->npages; i++) {
		e = pin->ent[i];
		if (e & PIN_E_HOST) {
			a = e & PTE_HADDR_MASK;
			if ((e & PTE_HIOVA_TAB) == PTE_HIOVA_TAB)
				iova = mmrt_host_iova_tab(e, a);
			else if (e & PTE_HIOVA_NONE)
				iova = RTE_BAD_IOVA;
			else if (e & PTE_HIOVA_VA)
				iova = pin->va + (i << MMRT_PAGE_SHIFT);
			else
				iova = a;
		} else {
			pfn = (uint32_t)(e >> MMRT_PAGE_SHIFT);
			a = (uint64_t)(uintptr_t)mmrt_frame_addr_unchecked(pfn);
			iova = mmrt_frame_iova_unchecked(pfn);
		}
		if (mm_sg_acc_add(&acc, a, iova, MMRT_PAGE_SIZE) != 0)
			return -ENOSPC;
	}
	if (mm_sg_acc_close(&acc) != 0)
		return -ENOSPC;
	return (int)acc.cnt;
}

/* ---- processes ---------------------------------------------------------- */

/*
 * The pins dead process @pid (process slot @slot) had taken, established
 * or not, are released as by mmrt_unpin(): their frames go back to the
 * pool unless mapped. Called by mmrt_reap_dead() through
 * mmrt_reap_register(), after lib/dev's step; pins_lock is held only to
 * find the next one (only this reaper releases a dead process's pins).
 */
static int
pin_reap(int32_t pid, unsigned int slot)
{
	struct mmrt_pin *p;
	int n = 0;

	if (pin_reg == NULL)
		return 0;
	for (;;) {
		mm_spin_lock(&pin_reg->lock, MM_LC_PINS);
		PIN_REG_FOREACH(p)
			if (p->owner == (int32_t)slot)
				break;
		mm_spin_unlock(&pin_reg->lock, MM_LC_PINS);
		if (p == NULL)
			break;
		pin_release(p);
		n++;
	}
	if (n > 0)
		MMRT_LOG(NOTICE, mm, "dead process %d: %d pins released",
			(int)pid, n);
	return n;
}

static int
pin_init(const struct mmrt_config *cfg)
{
	const struct rte_memzone *mz;

	RTE_SET_USED(cfg);
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		mz = rte_memzone_lookup(PIN_MZ);
		if (mz == NULL) {
			MMRT_LOG(ERR, mm, "secondary: no pin registry (%s) in"
				" the primary", PIN_MZ);
			return -ENOENT;
		}
		pin_reg = mz->addr;
		return 0;
	}
	pin_reg_mz = TEST_ALLOC_FAIL() ? NULL :
		rte_memzone_reserve(PIN_MZ, sizeof(*pin_reg), SOCKET_ID_ANY, 0);
	if (pin_reg_mz == NULL)
		return -ENOMEM;
	pin_reg = pin_reg_mz->addr;
	memset(pin_reg, 0, sizeof(*pin_reg));
	rte_spinlock_init(&pin_reg->lock);
	return 0;
}

/*
 * A secondary leaves once its own pins are released (the reaper only
 * knows processes that are still in the table); the primary once no pin
 * is left (a dead secondary's were reaped before).
 */
static int
pin_fini(void)
{
	unsigned int n;

	if (pin_reg == NULL)
		return 0;
	n = pin_reg_count(pin_reg_mz != NULL ? -1 : mmrt_process_slot());
	if (n > 0) {
		MMRT_LOG(ERR, mm, "fini: %u pins%s still held", n,
			pin_reg_mz != NULL ? "" : " of this process");
		return -EBUSY;
	}
	if (pin_reg_mz != NULL) {
		rte_memzone_free(pin_reg_mz);
		pin_reg_mz = NULL;
	}
	pin_reg = NULL;
	return 0;
}

/* Up after mm (20), down before it. */
MMRT_SUBSYS_REGISTER(pin_subsys, "mm.pin", 21, pin_init, pin_fini);

RTE_INIT(mm_pin_register)
{
	/* every process invalidates pins through its own function */
	mm_interval_kind_ops(MM_IKIND_PIN, &pin_ops);
	mmrt_reap_register("mm.pin", 20, pin_reap);
}
