/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Address spaces: the registry, create/destroy/fork, and the range
 * operations that change regions (map, unmap, protect, advise).
 *
 * Every operation validates all of its arguments and reserves what it may
 * need (region slots, splits of 2 MiB leaves at the range ends) before it
 * changes anything, so a failure leaves the space as it was.
 */

#include <errno.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memzone.h>
#include <rte_rwlock.h>
#include <rte_spinlock.h>

#include "mm_locking.h"
#include "mm_testhooks.h"
#include "mm_nametab.h"
#include "mm_pte.h"
#include "mm_host_pte.h"
#include "mm_as.h"
#include "mm_object.h"
#include "mm_region.h"
#include "mm_notify.h"
#include "mm_gather.h"
#include "mm_stepprof.h"

/*
 * The steps of mmrt_unmap() and of a downgrading mmrt_protect(), for
 * -DMM_STEP_PROF (mm_stepprof.h); the sums are printed and zeroed when
 * the calls profiled change from one to the other (sp_kind()).
 */
enum { SP_U_PREP, SP_U_NOTIFY, SP_U_TAIL, SP_P_LOCK, SP_P_REGIONS,
	SP_P_NSTART, SP_P_GINIT, SP_P_PTE, SP_P_POST, SP_P_BETWEEN,
	SP_P_WAIT, SP_P_END };
MM_SP_DEFINE("unmap or protect (the last)", "prep", "notify+region", "tail", "p:lock",
	"p:regions", "p:nstart", "p:ginit", "p:pte", "p:post", "p:between",
	"p:wait", "p:end")
#ifdef MM_STEP_PROF
static void
sp_kind(int kind)
{
	static const char *const names[] = { "none", "unmap", "protect" };
	static int last;

	if (kind != last) {
		MM_SP_DUMP(names[last]);
		last = kind;
	}
}
#else
#define sp_kind(k) do { } while (0)
#endif
#include "mm_pgtable.h"
#include "mm_host.h"
#include "mm_uffd.h"
#include "mm_fault.h"
#include "mmrt_uffd.h"

RTE_LOG_REGISTER(mmrt_logtype_mm, lib.mmrt.mm, NOTICE);

/*
 * The registry of spaces is shared by every process of the runtime: its
 * table and its two locks live in the memzone AS_MZ (the primary makes
 * it, a secondary looks it up), so a space created in one process is
 * found by name in another. rte_spinlock and rte_rwlock are plain words
 * in shared memory, so they exclude across processes. as_table and
 * as_max are this process's view (the table is DPDK memory, at the same
 * address everywhere).
 */
#define AS_MZ "mmrt_as_registry"
struct as_registry {
	void **table; /* of struct mmrt_as, an mm_nametab's slots */
	uint32_t max;
	rte_spinlock_t table_lock;
	/* read: mmrt_as_foreach(); write: briefly, after a space left the table */
	rte_rwlock_t iter_lock;
};
static struct as_registry *as_reg;
static const struct rte_memzone *as_reg_mz; /* the primary's, to free */
static void **as_table;
static uint32_t as_max;
#define as_table_lock (as_reg->table_lock)
#define as_iter_lock (as_reg->iter_lock)

/* The table as an mm_nametab (only while as_table is set). */
static struct mm_nametab
as_names(void)
{
	return (struct mm_nametab){
		.slot = as_table,
		.max = as_max,
		.name_off = offsetof(struct mmrt_as, name),
		.lock = &as_table_lock,
		.lock_class = MM_LC_AS_TABLE,
	};
}

/* Registered in the table: safe to dereference (double destroy check). */
static bool
as_registered(const struct mmrt_as *as)
{
	struct mm_nametab t;

	if (as == NULL || as_table == NULL)
		return false;
	t = as_names();
	return mm_nametab_has(&t, as);
}

/*
 * In a secondary process, an operation that invalidates translations is
 * refused on a space whose invalidations reach callbacks of the primary
 * (plain notifier subscribers: mirrors of other spaces, the application's
 * notifiers and interval notifiers, pins with a callback; not consumers
 * or pins without one, see mm_notify_foreign()), or on a DPDK mirror
 * (its memory event callback is the primary's). Nothing else
 * distinguishes the processes.
 */
static int
as_secondary_refuses(struct mmrt_as *as)
{
	if (rte_eal_process_type() == RTE_PROC_PRIMARY)
		return 0;
	if (mm_notify_foreign(as) || (as->nr_regions > 0 &&
			(as->regions[0].flags & REGION_MIRROR)))
		return -E_RTE_SECONDARY;
	return 0;
}

/*
 * The checks a call that changes [va, va + len) of @as starts with, after
 * its own argument checks: -EINVAL unless @as is live and the range whole
 * pages, then as_secondary_refuses().
 */
static int
as_change_check(struct mmrt_as *as, uint64_t va, uint64_t len)
{
	if (!mm_as_live(as) || !mm_range_valid_pages(va, len))
		return -EINVAL;
	return as_secondary_refuses(as);
}

/*
 * Deliver the userfault event (UNMAP or REMOVE) of [va, va + len) that
 * mm_uffd_event_prep() prepared in @ev, if @done (else drop it).
 */
static void
as_event_range_done(struct mm_uffd_ev *ev, uint8_t event, uint64_t va,
	uint64_t len, bool done)
{
	struct mmrt_uffd_msg m;

	memset(&m, 0, sizeof(m));
	m.event = event;
	m.arg.remove.start = va;
	m.arg.remove.end = va + len;
	mm_uffd_event_done(ev, &m, done);
}

static bool
name_ok(const char *name)
{
	size_t n;

	if (name == NULL)
		return false;
	n = strnlen(name, MMRT_NAME_SIZE);
	return n > 0 && n < MMRT_NAME_SIZE;
}

/* Allocate and register an empty space. */
static struct mmrt_as *
as_new(const char *name)
{
	struct mm_nametab t;
	struct mmrt_as *as;
	int ret;

	if (as_table == NULL) {
		rte_errno = ENODEV;
		return NULL;
	}
	if (!name_ok(name)) {
		rte_errno = EINVAL;
		return NULL;
	}
	as = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc("mmrt_as", sizeof(*as), RTE_CACHE_LINE_SIZE);
	if (as == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	strcpy(as->name, name);
	rte_rwlock_init(&as->map_lock);
	if (mm_notify_as_init(as) != 0) {
		rte_free(as);
		rte_errno = ENOMEM;
		return NULL;
	}
	if (mm_pt_alloc(as, &as->core.pgd) != 0) {
		mm_notify_as_fini(as);
		rte_free(as);
		rte_errno = ENOMEM;
		return NULL;
	}
	as->core.magic = MM_AS_MAGIC;
	t = as_names();
	ret = mm_nametab_add(&t, as);
	if (ret != 0) {
		as->core.magic = 0;
		mm_table_free_now(as->core.pgd);
		mm_notify_as_fini(as);
		rte_free(as);
		rte_errno = -ret;
		return NULL;
	}
	return as;
}

struct mmrt_as *
mmrt_as_create(const char *name)
{
	return as_new(name);
}

/* Tear down everything; the space must be unreachable by other callers. */
static void
as_teardown(struct mmrt_as *as)
{
	struct mm_nametab t = as_names();
	struct mmrt_notifier_range r;
	struct mm_gather tlb;

	mm_spin_lock(&as_table_lock, MM_LC_AS_TABLE);
	mm_nametab_del_locked(&t, as);
	mm_spin_unlock(&as_table_lock, MM_LC_AS_TABLE);
	/* an iteration that saw @as in the table is done with it */
	mm_write_lock(&as_iter_lock, MM_LC_AS_ITER);
	mm_write_unlock(&as_iter_lock, MM_LC_AS_ITER);

	/* subscribers are released first, then the space is unmapped */
	mm_notify_release(as);
	mm_write_lock(&as->map_lock, MM_LC_MAP);
	mm_uffd_as_release(as);
	mm_range_init(&r, as, MMRT_NOTIFY_UNMAP, true, 0, MMRT_VA_LIMIT, NULL);
	mm_notify_start(&r);
	mm_gather_init(&tlb, as, true);
	mm_pt_free_all(as, &tlb);
	mm_gather_finish(&tlb);
	mm_notify_end(&r);
	mm_region_remove(as, 0, MMRT_VA_LIMIT);
	as->core.magic = 0;
	mm_write_unlock(&as->map_lock, MM_LC_MAP);
	mm_notify_as_fini(as);
	rte_free(as->regions);
	rte_free(as);
}

int
mmrt_as_destroy(struct mmrt_as *as)
{
	int ret;

	if (!as_registered(as))
		return -EINVAL;
	ret = as_secondary_refuses(as);
	if (ret != 0)
		return ret;
	MM_BLOCKING_BEGIN();
	mm_mirror_detach(as); /* a mirror's callback stops first */
	as_teardown(as);
	MM_BLOCKING_END();
	return 0;
}

struct mmrt_as *
mmrt_as_lookup(const char *name)
{
	struct mmrt_as *found;
	struct mm_nametab t;

	if (!name_ok(name) || as_table == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	t = as_names();
	found = mm_nametab_find(&t, name);
	if (found == NULL)
		rte_errno = ENOENT;
	return found;
}

const char *
mmrt_as_name(const struct mmrt_as *as)
{
	return mm_as_live(as) ? as->name : NULL;
}

struct mmrt_as *
mmrt_as_fork(struct mmrt_as *parent, const char *name)
{
	struct mmrt_uffd_msg m;
	struct mm_uffd_ev ev;
	struct mm_gather tlb;
	struct mmrt_as *child;
	uint32_t i;
	int ret = 0;

	if (!as_registered(parent)) {
		rte_errno = EINVAL;
		return NULL;
	}
	ret = as_secondary_refuses(parent);
	if (ret != 0) {
		rte_errno = -ret;
		return NULL;
	}
	child = as_new(name);
	if (child == NULL)
		return NULL;
	MM_BLOCKING_BEGIN();
	mm_write_lock(&parent->map_lock, MM_LC_MAP);
	mm_uffd_event_prep(parent, MMRT_UFFD_FEATURE_EVENT_FORK, 0,
		MMRT_VA_LIMIT, &ev);
	ret = mm_region_reserve(child, parent->nr_regions);
	mm_gather_init(&tlb, parent, false);
	for (i = 0; ret == 0 && i < parent->nr_regions; i++) {
		const struct mm_region *pr = &parent->regions[i];
		bool cow = !(pr->flags & (REGION_OBJECT | REGION_HOST));
		struct mmrt_notifier_range r;
		struct mm_region cr = *pr;

		ret = mm_uffd_fork_region(&ev, child, &cr);
		if (ret == 0)
			ret = mm_region_insert(child, &cr);
		if (ret != 0)
			break;
		/* the parent's anonymous pages become write-protected */
		if (cow) {
			mm_range_init(&r, parent, MMRT_NOTIFY_PROTECTION_PAGE,
				true, pr->start, pr->end, child);
			mm_notify_start(&r);
		}
		ret = mm_copy_range(child, parent, &tlb, pr->start, pr->end,
			cr.uffd != NULL);
		if (cow) {
			/* flushed before the end, as the relaxation allows */
			mm_gather_flush(&tlb);
			mm_notify_end(&r);
		}
	}
	/* the parent's write-protection is flushed before we return */
	mm_gather_finish(&tlb);
	memset(&m, 0, sizeof(m));
	m.event = MMRT_UFFD_EVENT_FORK;
	if (ret != 0) {
		/* the child's uffds go with it (before the teardown) */
		mm_uffd_event_done(&ev, &m, false);
		memset(&ev, 0, sizeof(ev));
	}
	mm_write_unlock(&parent->map_lock, MM_LC_MAP);
	if (ret != 0) {
		as_teardown(child);
		child = NULL;
		rte_errno = -ret;
	} else {
		mm_uffd_event_done(&ev, &m, true);
	}
	MM_BLOCKING_END();
	return child;
}

/* Populate [va, va + len) of a freshly mapped region (write lock held). */
static int
populate(struct mmrt_as *as, uint64_t va, uint64_t len, uint32_t prot,
	uint32_t flags)
{
	uint32_t access = (prot & MMRT_PROT_WRITE) ? MMRT_ACCESS_WRITE :
		MMRT_ACCESS_READ;
	uint64_t step = (flags & MMRT_MAP_HUGE) ? MMRT_HUGE_SIZE :
		MMRT_PAGE_SIZE, a;
	struct mm_fault_wait w;
	int ret;

	if (prot == MMRT_PROT_NONE)
		return 0;
	/* a new region has no uffd: nothing is ever posted */
	mm_fault_wait_init(&w, MMRT_ACCESS_NOWAIT);
	for (a = va; a < va + len; ) {
		uint64_t *pmd;
		uint32_t tbl;
		int err;

		ret = mm_fault_locked(as, a, access, &w);
		if (ret != 0)
			return ret;
		/* a huge fault may have fallen back to 4 KiB frames */
		pmd = step == MMRT_HUGE_SIZE ?
			mm_pt_walk(as, a, MM_LEVEL_PMD, false, &tbl, &err) :
			NULL;
		if (pmd != NULL && (pte_load(pmd) & PTE_H))
			a += MMRT_HUGE_SIZE;
		else
			a += MMRT_PAGE_SIZE;
	}
	return 0;
}

static int
map_common(struct mmrt_as *as, uint64_t va, uint64_t len, uint32_t prot,
	uint32_t flags, struct mmrt_object *obj, uint64_t off)
{
	struct mm_region r = {
		.start = va, .end = va + len, .prot = prot, .flags = flags,
		.obj = obj, .obj_off = off,
	};
	int ret;

	if (obj != NULL)
		r.flags |= REGION_OBJECT;
	r.flags &= ~MMRT_MAP_POPULATE;
	MM_BLOCKING_BEGIN();
	mm_write_lock(&as->map_lock, MM_LC_MAP);
	ret = mm_map_region_locked(as, &r);
	if (ret == 0 && (flags & MMRT_MAP_POPULATE)) {
		ret = populate(as, va, len, prot, flags);
		if (ret != 0)
			mm_unmap_locked(as, va, len);
	}
	mm_write_unlock(&as->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
	return ret;
}

#define PROT_ALL (MMRT_PROT_READ | MMRT_PROT_WRITE)
#define MAP_ALL (MMRT_MAP_POPULATE | MMRT_MAP_HUGE)

int
mmrt_map(struct mmrt_as *as, uint64_t va, uint64_t len, uint32_t prot,
	uint32_t flags)
{
	if (!mm_as_live(as) || !mm_range_valid_pages(va, len) ||
			(prot & ~PROT_ALL) || (flags & ~MAP_ALL))
		return -EINVAL;
	if ((flags & MMRT_MAP_HUGE) &&
			((va | len) & (MMRT_HUGE_SIZE - 1)) != 0)
		return -EINVAL;
	if (prot & MMRT_PROT_WRITE)
		prot |= MMRT_PROT_READ;
	return map_common(as, va, len, prot, flags, NULL, 0);
}

int
mmrt_map_object(struct mmrt_as *as, uint64_t va, uint64_t len,
	uint32_t prot, uint32_t flags, struct mmrt_object *obj,
	uint64_t offset)
{
	if (!mm_as_live(as) || !mm_range_valid_pages(va, len) ||
			(prot & ~PROT_ALL) ||
			(flags & ~MMRT_MAP_POPULATE) || !mm_object_live(obj) ||
			(offset & (MMRT_PAGE_SIZE - 1)) != 0 ||
			offset > obj->size || len > obj->size - offset)
		return -EINVAL;
	if (prot & MMRT_PROT_WRITE)
		prot |= MMRT_PROT_READ;
	return map_common(as, va, len, prot, flags, obj, offset);
}

/* Make [va, va + len) a union of whole regions and whole leaves. */
static int
cut_range(struct mmrt_as *as, uint64_t va, uint64_t len, bool locked)
{
	int ret;

	/* under the read lock (advise) regions stay as they are */
	ret = locked ? 0 : mm_region_reserve(as, 2);
	if (ret == 0)
		ret = mm_split_huge_at(as, va, locked);
	if (ret == 0)
		ret = mm_split_huge_at(as, va + len, locked);
	if (ret == 0 && !locked)
		ret = mm_region_split(as, va);
	if (ret == 0 && !locked)
		ret = mm_region_split(as, va + len);
	return ret;
}

int
mmrt_unmap(struct mmrt_as *as, uint64_t va, uint64_t len)
{
	struct mm_uffd_ev ev;
	int ret;

	sp_kind(1);
	MM_SP_START();
	ret = as_change_check(as, va, len);
	if (ret != 0)
		return ret;
	MM_BLOCKING_BEGIN();
	mm_write_lock(&as->map_lock, MM_LC_MAP);
	mm_uffd_event_prep(as, MMRT_UFFD_FEATURE_EVENT_UNMAP, va, va + len,
		&ev);
	ret = cut_range(as, va, len, false);
	MM_SP(SP_U_PREP);
	if (ret == 0) {
		mm_unmap_locked(as, va, len);
		MM_SP(SP_U_NOTIFY);
		/* faults waiting there retry and find no region */
		mm_uffd_wake_as(as, va, va + len);
	}
	as_event_range_done(&ev, MMRT_UFFD_EVENT_UNMAP, va, len, ret == 0);
	mm_write_unlock(&as->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
	MM_SP(SP_U_TAIL);
	MM_SP_ITEMS(len >> MMRT_PAGE_SHIFT);
	return ret;
}

int
mmrt_remap(struct mmrt_as *as, uint64_t old_va, uint64_t len,
	uint64_t new_va)
{
	struct mm_zap z = { .free_tables = true, .locked = false };
	struct mm_region *moved = NULL;
	struct mmrt_notifier_range r;
	struct mm_gather tlb;
	struct mmrt_uffd_msg m;
	struct mm_uffd_ev ev;
	uint32_t i, first, n = 0;
	int ret;

	if (!mm_range_valid_pages(new_va, len) ||
			(old_va < new_va + len && new_va < old_va + len))
		return -EINVAL;
	ret = as_change_check(as, old_va, len);
	if (ret != 0)
		return ret;
	MM_BLOCKING_BEGIN();
	mm_write_lock(&as->map_lock, MM_LC_MAP);
	if (!mm_region_covered(as, old_va, old_va + len)) {
		ret = -EFAULT;
		goto out;
	}
	if (mm_region_overlaps(as, new_va, new_va + len)) {
		ret = -EEXIST;
		goto out;
	}
	ret = cut_range(as, old_va, len, false);
	if (ret != 0)
		goto out;
	first = mm_region_first_after(as, old_va);
	while (first + n < as->nr_regions &&
			as->regions[first + n].start < old_va + len)
		n++;
	moved = TEST_ALLOC_FAIL() ? NULL :
		rte_malloc("mmrt_remap", n * sizeof(*moved), 0);
	ret = moved == NULL ? -ENOMEM : mm_region_reserve(as, n);
	if (ret == 0)
		ret = mm_move_prepare(as, old_va, new_va, len);
	if (ret != 0)
		goto out;
	mm_uffd_event_prep(as, MMRT_UFFD_FEATURE_EVENT_REMAP, old_va,
		old_va + len, &ev);
	mm_range_init(&r, as, MMRT_NOTIFY_UNMAP, true, old_va, old_va + len,
		NULL);
	mm_notify_start(&r);
	mm_gather_init(&tlb, as, false);
	z.tlb = &tlb;
	for (i = 0; i < n; i++) {
		struct mm_region *nr = &moved[i];
		bool keep;

		*nr = as->regions[first + i];
		keep = nr->uffd != NULL && (mmrt_uffd_features(nr->uffd) &
			MMRT_UFFD_FEATURE_EVENT_REMAP);
		mm_move_range(as, &tlb, nr->start, nr->start - old_va + new_va,
			nr->end - nr->start, keep);
		nr->start = nr->start - old_va + new_va;
		nr->end = nr->end - old_va + new_va;
		if (!keep) {
			nr->uffd = NULL;
			nr->uffd_mode = 0;
		}
	}
	/* the old range holds no leaves now: free its tables */
	mm_zap_range(as, &z, old_va, old_va + len);
	mm_gather_finish(&tlb);
	mm_notify_end(&r);
	mm_region_remove(as, old_va, old_va + len);
	for (i = 0; i < n; i++)
		(void)mm_region_insert(as, &moved[i]); /* reserved above */
	mm_uffd_wake_as(as, old_va, old_va + len);
	memset(&m, 0, sizeof(m));
	m.event = MMRT_UFFD_EVENT_REMAP;
	m.arg.remap.from = old_va;
	m.arg.remap.to = new_va;
	m.arg.remap.len = len;
	mm_uffd_event_done(&ev, &m, true);
out:
	mm_write_unlock(&as->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
	rte_free(moved);
	return ret;
}

/*
 * mmrt_protect()'s regions, from one lookup: -ENOMEM unless regions cover
 * [va, end) without a hole; then cut_range() (huge leaves split at both
 * ends, the regions cut at the ends that fall inside one, in that order,
 * with the same errors), and @prot on the regions in between. Map lock
 * held for writing.
 */
static int
protect_regions(struct mmrt_as *as, uint64_t va, uint64_t end, uint32_t prot)
{
	uint32_t i = mm_region_first_after(as, va), j;
	uint64_t at = va;
	bool cut_lo, cut_hi;
	int ret;

	for (j = i; j < as->nr_regions && at < end; j++) {
		if (as->regions[j].start > at)
			return -ENOMEM;
		at = as->regions[j].end;
	}
	if (at < end)
		return -ENOMEM;
	/* [i, j): the regions overlapping [va, end), j > i (end > va) */
	cut_lo = as->regions[i].start < va;
	cut_hi = as->regions[j - 1].end > end;
	ret = mm_region_reserve(as, 2);
	if (ret == 0)
		ret = mm_split_huge_at(as, va, false);
	if (ret == 0)
		ret = mm_split_huge_at(as, end, false);
	if (ret == 0 && cut_lo)
		ret = mm_region_split(as, va);
	if (ret != 0)
		return ret;
	if (cut_lo) {
		/* region i kept [start, va); [va, ...) came in after it */
		i++;
		j++;
	}
	if (cut_hi) {
		/* region j - 1 becomes [..., end); [end, ...) comes after */
		ret = mm_region_split(as, end);
		if (ret != 0)
			return ret;
	}
	for (; i < j; i++)
		as->regions[i].prot = prot;
	return 0;
}

int
mmrt_protect(struct mmrt_as *as, uint64_t va, uint64_t len, uint32_t prot)
{
	struct mmrt_notifier_range r;
	struct mm_notify_flush fl;
	struct mm_gather tlb;
	bool end_early = false;
	int ret;

#ifdef MM_STEP_PROF
	/* the downgrades only (a protect that adds nothing posts nothing) */
	if (!(prot & MMRT_PROT_WRITE)) {
		sp_kind(2);
		MM_SP_START_ONLY();
	} else {
		MM_SP_OFF();
	}
#endif
	if (prot & ~PROT_ALL)
		return -EINVAL;
	ret = as_change_check(as, va, len);
	if (ret != 0)
		return ret;
	if (prot & MMRT_PROT_WRITE)
		prot |= MMRT_PROT_READ;
	MM_BLOCKING_BEGIN();
	mm_write_lock(&as->map_lock, MM_LC_MAP);
	MM_SP(SP_P_LOCK);
	ret = protect_regions(as, va, va + len, prot);
	if (ret != 0)
		goto out;
	MM_SP(SP_P_REGIONS);
	mm_range_init(&r, as, MMRT_NOTIFY_PROTECTION_VMA, true, va, va + len,
		NULL);
	mm_notify_start(&r);
	MM_SP(SP_P_NSTART);
	mm_gather_init(&tlb, as, false);
	MM_SP(SP_P_GINIT);
	mm_protect_range(as, &tlb, va, va + len, prot);
	MM_SP(SP_P_PTE);
	/*
	 * The flush in two halves, the rest of the call between them, while
	 * the consumers drop the range: the page table is final, so the
	 * interval notifiers' period may end (mm_notify.h) and posted faults
	 * may look again. Nothing here frees, and the map lock is held
	 * until the acks are in.
	 */
	mm_gather_finish_post(&tlb, &fl);
	MM_SP(SP_P_POST);
	mm_notify_end_interval(&r);
#ifdef MMRT_TEST_HOOKS
	end_early = mm_test_hooks.protect_legacy_end_early;
	if (end_early)
		mm_notify_end_legacy(&r); /* negative control: too early */
#endif
	/* a fault posted on an absent page: no flush, but a new outcome */
	mm_uffd_nudge_as(as);
	MM_SP(SP_P_BETWEEN);
	mm_gather_finish_wait(&tlb, &fl);
	MM_SP(SP_P_WAIT);
	/* the legacy subscribers' end after their flush (mm_notify.h) */
	if (!end_early)
		mm_notify_end_legacy(&r);
out:
	mm_write_unlock(&as->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
	MM_SP(SP_P_END);
	MM_SP_ITEMS(1);
	return ret;
}

int
mmrt_advise(struct mmrt_as *as, uint64_t va, uint64_t len, int advice)
{
	struct mm_uffd_ev ev;
	int ret;

	if (advice != MMRT_ADV_DONTNEED)
		return -EINVAL;
	ret = as_change_check(as, va, len);
	if (ret != 0)
		return ret;
	MM_BLOCKING_BEGIN();
	/* like madvise(DONTNEED), under the read lock: faults go on beside */
	mm_read_lock(&as->map_lock, MM_LC_MAP);
	if (!mm_region_covered(as, va, va + len)) {
		ret = -ENOMEM;
		goto out;
	}
	mm_uffd_event_prep(as, MMRT_UFFD_FEATURE_EVENT_REMOVE, va, va + len,
		&ev);
	ret = cut_range(as, va, len, true);
	if (ret == 0) {
		mm_zap_notified(as, MMRT_NOTIFY_CLEAR, va, len, false);
		mm_uffd_wake_as(as, va, va + len);
	}
	as_event_range_done(&ev, MMRT_UFFD_EVENT_REMOVE, va, len, ret == 0);
out:
	mm_read_unlock(&as->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
	return ret;
}

int
mmrt_as_stats(struct mmrt_as *as, struct mmrt_as_stats *st)
{
	uint32_t i;

	if (!mm_as_live(as) || st == NULL)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	mm_read_lock(&as->map_lock, MM_LC_MAP);
	st->regions = as->nr_regions;
	for (i = 0; i < as->nr_regions; i++)
		st->mapped_bytes += as->regions[i].end - as->regions[i].start;
	mm_read_unlock(&as->map_lock, MM_LC_MAP);
	st->rss_pages = (uint64_t)mm_as_rss(as);
	st->pt_pages = __atomic_load_n(&as->pt_pages, __ATOMIC_RELAXED);
	st->faults = as->faults;
	st->cow = as->cow;
	st->cow_reuse = as->cow_reuse;
	st->cow_huge = as->cow_huge;
	st->cow_reuse_huge = as->cow_reuse_huge;
	st->splits = as->splits;
	st->flushes = as->flushes;
	st->nested_flushes = as->nested_flushes;
	st->pinned_pages = (uint64_t)__atomic_load_n(&as->pinned_pages,
		__ATOMIC_RELAXED);
	return 0;
}

/* A secondary: find the primary's registry. */
static int
mm_attach(const struct mmrt_config *cfg)
{
	const struct rte_memzone *mz = rte_memzone_lookup(AS_MZ);
	int ret;

	if (mz == NULL) {
		MMRT_LOG(ERR, mm, "secondary: no space registry (%s) in the"
			" primary", AS_MZ);
		return -ENOENT;
	}
	ret = mm_uffd_subsys_init();
	if (ret != 0)
		return ret;
	ret = mm_gather_subsys_init(cfg);
	if (ret != 0)
		return ret;
	as_reg = mz->addr;
	as_max = as_reg->max;
	as_table = as_reg->table;
	return 0;
}

static int
mm_init(const struct mmrt_config *cfg)
{
	int ret;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return mm_attach(cfg);
	as_reg_mz = TEST_ALLOC_FAIL() ? NULL :
		rte_memzone_reserve(AS_MZ, sizeof(*as_reg), SOCKET_ID_ANY, 0);
	if (as_reg_mz == NULL)
		return -ENOMEM;
	as_reg = as_reg_mz->addr;
	memset(as_reg, 0, sizeof(*as_reg));
	rte_spinlock_init(&as_reg->table_lock);
	rte_rwlock_init(&as_reg->iter_lock);
	as_max = cfg->max_as;
	as_table = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc("mmrt_as_table", as_max * sizeof(*as_table), 0);
	if (as_table == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = mm_uffd_subsys_init();
	if (ret == 0) {
		ret = mm_gather_subsys_init(cfg);
		if (ret != 0)
			mm_uffd_subsys_fini();
	}
	if (ret != 0) {
		rte_free(as_table);
		as_table = NULL;
		goto fail;
	}
	as_reg->max = as_max;
	as_reg->table = as_table;
	return 0;
fail:
	rte_memzone_free(as_reg_mz);
	as_reg_mz = NULL;
	as_reg = NULL;
	return ret;
}

static int
mm_fini(void)
{
	uint32_t i;

	if (as_table == NULL)
		return 0;
	if (as_reg_mz == NULL) {
		/* a secondary: the spaces are the runtime's, they stay */
		mm_gather_subsys_fini();
		mm_write_lock(&as_iter_lock, MM_LC_AS_ITER);
		as_table = NULL;
		mm_write_unlock(&as_iter_lock, MM_LC_AS_ITER);
		as_reg = NULL;
		return 0;
	}
	for (i = 0; i < as_max; i++)
		if (as_table[i] != NULL)
			return -EBUSY;
	if (mm_objects_live())
		return -EBUSY;
	mm_gather_subsys_fini();
	mm_uffd_subsys_fini();
	mm_write_lock(&as_iter_lock, MM_LC_AS_ITER);
	rte_free(as_table);
	as_table = NULL;
	as_reg->table = NULL;
	mm_write_unlock(&as_iter_lock, MM_LC_AS_ITER);
	rte_memzone_free(as_reg_mz);
	as_reg_mz = NULL;
	as_reg = NULL;
	return 0;
}

MMRT_SUBSYS_REGISTER(mm_subsys, "mm", 20, mm_init, mm_fini);

/*
 * Iteration (mmrt_as_foreach). as_iter_lock is held for reading across
 * the whole walk, callbacks included; as_table_lock only while a slot is
 * read. A destroy takes @as out of the table first, then takes and drops
 * as_iter_lock for writing before it frees anything: every walk that
 * could have picked @as up has returned by then, and later walks do not
 * find it. So the callback's space stays valid through the callback,
 * with no reference count. The table itself goes away at mm_fini() under
 * the write side as well.
 *
 * rte_rwlock lets a waiting writer hold off new readers: a callback that
 * destroyed a space (or forked one, whose failure path destroys the
 * child) or walked again would wait for itself.
 */
int
mmrt_as_foreach(int (*cb)(struct mmrt_as *as, void *arg), void *arg)
{
	struct mmrt_as *as;
	uint32_t i;
	int ret = 0;

	if (cb == NULL)
		return -EINVAL;
	if (as_reg == NULL)
		return -ENODEV;
	mm_read_lock(&as_iter_lock, MM_LC_AS_ITER);
	if (as_table == NULL) {
		mm_read_unlock(&as_iter_lock, MM_LC_AS_ITER);
		return -ENODEV;
	}
	for (i = 0; i < as_max && ret == 0; i++) {
		mm_spin_lock(&as_table_lock, MM_LC_AS_TABLE);
		as = as_table[i];
		mm_spin_unlock(&as_table_lock, MM_LC_AS_TABLE);
		if (as != NULL)
			ret = cb(as, arg);
	}
	mm_read_unlock(&as_iter_lock, MM_LC_AS_ITER);
	return ret;
}
