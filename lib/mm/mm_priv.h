/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_MM_PRIV_H
#define MMRT_MM_PRIV_H

/*
 * Internals of lib/mm: address-space layout, PTE format, page-table walks.
 *
 * Page table: 4 levels of 512 64-bit entries, level 4 at the top, level 1
 * holding 4 KiB leaves; level 2 entries may be 2 MiB leaves. Page-table
 * pages are frames (flag MMRT_FRAME_PT) whose metadata word `ptl` is the
 * split PT lock guarding their entries.
 *
 * Locks and their order: mm_locking.h, the one sheet for lib/mm and
 * lib/dev.
 *
 * Lockless walkers (mmrt_translate from registered pollers) load each entry
 * with acquire semantics; every entry store that publishes a table or a
 * frame is a release store, pairing with those loads, so a walker that sees
 * an entry also sees the zeroed table or the complete frame contents behind
 * it. Unhooked tables go through the gather to the QSBR defer queue, so a
 * walker that loaded a table pointer can keep reading that table until its
 * next quiescent state.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_rwlock.h>
#include <rte_spinlock.h>

#include "mmrt_core.h"
#include "mmrt_mem.h"
#include "mmrt_mm.h"
#include "mm_gather.h"

/* lib.mmrt.mm, registered in as.c; for MMRT_LOG(level, mm, ...). */
extern int mmrt_logtype_mm __attribute__((visibility("hidden")));

/* PTE bits (the format is in mmrt_mm_core.h, for the inline walk). */
#define PTE_P        MMRT_PTE_P
#define PTE_W        MMRT_PTE_W
#define PTE_A        MMRT_PTE_A
#define PTE_D        MMRT_PTE_D
#define PTE_H        MMRT_PTE_H
#define PTE_UFFD_WP  MMRT_PTE_UFFD_WP
#define PTE_T        MMRT_PTE_T
#define PTE_PROTNONE MMRT_PTE_PROTNONE
#define PTE_POISON   MMRT_PTE_POISON
#define PTE_PFN_SHIFT MMRT_PTE_PFN_SHIFT
#define PTE_PFN_MASK MMRT_PTE_PFN_MASK

#define PT_ENTRIES 512
#define PT_LEVELS 4

static inline uint32_t
pte_pfn(uint64_t e)
{
	return (uint32_t)((e & PTE_PFN_MASK) >> PTE_PFN_SHIFT);
}

static inline uint64_t
pte_mk(uint32_t pfn, uint64_t bits)
{
	return ((uint64_t)pfn << PTE_PFN_SHIFT) | bits;
}

/* A leaf that holds a frame reference (present or PROT_NONE). */
static inline bool
pte_has_frame(uint64_t e)
{
	return (e & (PTE_P | PTE_PROTNONE)) != 0 && !(e & PTE_T);
}

/* Bytes covered by one entry at @level (1..4). */
static inline uint64_t
level_size(unsigned int level)
{
	return UINT64_C(1) << (MMRT_PAGE_SHIFT + 9 * (level - 1));
}

static inline unsigned int
level_index(uint64_t va, unsigned int level)
{
	return (va >> (MMRT_PAGE_SHIFT + 9 * (level - 1))) & (PT_ENTRIES - 1);
}

static inline uint64_t *
pt_table(uint32_t pfn)
{
	return mmrt_frame_addr_unchecked(pfn);
}

static inline rte_spinlock_t *
pt_lock(uint32_t pfn)
{
	return (rte_spinlock_t *)&mmrt_frame_meta(pfn)->ptl;
}

static inline uint64_t
pte_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void
pte_store(uint64_t *p, uint64_t e)
{
	__atomic_store_n(p, e, __ATOMIC_RELEASE);
}

/* The frame that owns the reference of a mapped pfn (head for huge tails). */
static inline uint32_t
frame_owner(uint32_t pfn)
{
	if (mmrt_frame_meta(pfn)->flags & MMRT_FRAME_TAIL)
		return pfn & ~(MMRT_HUGE_NR - 1);
	return pfn;
}

#define REGION_OBJECT (1u << 16) /* backed by a shared object */

/* A region (VMA). */
struct mm_region {
	uint64_t start;
	uint64_t end;
	uint32_t prot;
	uint32_t flags;          /* MMRT_MAP_HUGE | REGION_OBJECT */
	struct mmrt_object *obj;
	uint64_t obj_off;        /* object offset of @start */
	struct mmrt_uffd *uffd;  /* registered with (uffd.c), or NULL */
	uint64_t uffd_mode;      /* MMRT_UFFD_REGISTER_MODE_* */
};

#define MM_AS_MAGIC MMRT_AS_MAGIC

struct mmrt_as {
	struct mmrt_as_core core;    /* magic, pgd: read by the inline walk */
	char name[MMRT_NAME_SIZE];
	rte_rwlock_t map_lock;
	uint32_t gather_pending;     /* gathers in progress (nesting) */
	struct mm_subscriptions *subs; /* notifier state (notifier.c) */
	struct mmrt_uffd *uffds;     /* uffds bound here (write map lock) */
	struct mm_region *regions;   /* sorted, disjoint */
	uint32_t nr_regions;
	uint32_t cap_regions;
	/* statistics, updated atomically */
	int64_t rss_pages;
	int64_t pt_pages;
	uint64_t faults;
	uint64_t cow;
	uint64_t cow_reuse;
	uint64_t cow_huge;
	uint64_t cow_reuse_huge;
	uint64_t splits;
	uint64_t flushes;
	uint64_t nested_flushes;
};

#define MM_OBJ_MAGIC 0x6d6d6f62u /* "mmob" */

struct mmrt_object {
	uint32_t magic;
	char name[MMRT_NAME_SIZE];
	rte_spinlock_t lock;
	uint64_t size;
	uint64_t npages;
	uint32_t map_count;   /* regions mapping it */
	uint32_t *pfns;       /* MMRT_PFN_NONE until first use */
};

#define MM_STAT_ADD(as, field, n) \
	__atomic_fetch_add(&(as)->field, (n), __ATOMIC_RELAXED)

/* Blocking calls take a registered poller offline while they wait. */
#define MM_BLOCKING_BEGIN() \
	bool mm_was_online_ = mmrt_thread_is_online(); \
	if (mm_was_online_) \
		mmrt_thread_offline()
#define MM_BLOCKING_END() do { \
	if (mm_was_online_) \
		mmrt_thread_online(); \
} while (0)

/*
 * A live address space (its magic is set from create until teardown).
 * Inline, so that the files below as.c in the layering need not call up.
 */
static inline bool
mm_as_live(const struct mmrt_as *as)
{
	return as != NULL && as->core.magic == MM_AS_MAGIC;
}

/* region.c */
int mm_region_reserve(struct mmrt_as *as, uint32_t extra);
int mm_region_find(const struct mmrt_as *as, uint64_t va);
uint32_t mm_region_first_after(const struct mmrt_as *as, uint64_t va);
bool mm_region_overlaps(const struct mmrt_as *as, uint64_t start, uint64_t end);
bool mm_region_covered(const struct mmrt_as *as, uint64_t start, uint64_t end);
int mm_region_insert(struct mmrt_as *as, const struct mm_region *r);
int mm_region_split(struct mmrt_as *as, uint64_t at);
void mm_region_remove(struct mmrt_as *as, uint64_t start, uint64_t end);

/* pgtable.c */
/* Lock / unlock the PT locks of two tables of one level, in the order of
 * mm_locking.h (lower pfn first); @a == @b takes one. */
void mm_pt_lock_pair(uint32_t a, uint32_t b);
void mm_pt_unlock_pair(uint32_t a, uint32_t b);
int mm_pt_alloc(struct mmrt_as *as, uint32_t *pfn);
uint64_t *mm_pt_walk(struct mmrt_as *as, uint64_t va, unsigned int level,
	bool alloc, uint32_t *table, int *err);
uint64_t *mm_pt_walk_try(struct mmrt_as *as, uint64_t va, unsigned int level,
	uint32_t *table, int *err);
int mm_split_huge_at(struct mmrt_as *as, uint64_t va, bool locked);
int mm_split_pmd(struct mmrt_as *as, uint32_t tbl2, uint64_t *pmd, bool locked);
struct mm_zap {
	struct mm_gather *tlb;
	bool free_tables;  /* unmap/teardown: free emptied tables */
	bool locked;       /* under the read map lock: take PT locks */
};
void mm_zap_range(struct mmrt_as *as, struct mm_zap *z, uint64_t start,
	uint64_t end);
void mm_protect_range(struct mmrt_as *as, struct mm_gather *tlb,
	uint64_t start, uint64_t end, uint32_t prot);
int mm_copy_range(struct mmrt_as *dst, struct mmrt_as *src,
	struct mm_gather *src_tlb, uint64_t start, uint64_t end,
	bool keep_uffd_wp);
/* Remap, write map lock held, [new, new + len) free of leaves: first
 * allocate the destination tables and split 2 MiB leaves that cannot move
 * whole (-ENOMEM leaves every translation as it was), then move the leaves
 * (cannot fail; the old ones are tracked in @tlb for the flush). */
int mm_move_prepare(struct mmrt_as *as, uint64_t old, uint64_t new,
	uint64_t len);
void mm_move_range(struct mmrt_as *as, struct mm_gather *tlb, uint64_t old,
	uint64_t new, uint64_t len, bool keep_uffd_wp);
void mm_pt_free_all(struct mmrt_as *as, struct mm_gather *tlb);

/* fault.c */
/*
 * A fault in progress. A userfault posted for it (MM_FAULT_POSTED) sets
 * @uffd and @seq; unless @nowait the caller then drops the map lock and
 * calls mm_uffd_wait(), which also drops the waiter reference taken.
 */
struct mm_fault_wait {
	struct mmrt_uffd *uffd;
	uint64_t seq;            /* the uffd's wake_seq before the check */
	uint64_t t0;             /* first wait (timer cycles), 0 before */
	uint32_t requester;      /* message ptid */
	bool nowait;             /* post only: no waiter reference */
	bool probe;              /* a poller's probe: MM_FAULT_WOULD_WAIT
				  * where resolving would wait (COW) */
};
#define MM_FAULT_ORDINARY 1          /* not a userfault */
#define MM_FAULT_POSTED (-EINPROGRESS) /* posted (or pending): wait/retry */
#define MM_FAULT_WOULD_WAIT 2        /* probe: resolving would wait */
int mm_fault_locked(struct mmrt_as *as, uint64_t va, uint32_t access,
	struct mm_fault_wait *w);
static inline void
mm_fault_wait_init(struct mm_fault_wait *w, uint32_t access)
{
	w->uffd = NULL;
	w->seq = 0;
	w->t0 = 0;
	w->requester = 0;
	w->nowait = (access & MMRT_ACCESS_NOWAIT) != 0;
	w->probe = false;
}

/* uffd.c */
#define MM_UFFD_PER_AS 16
struct mmrt_uffd_msg;
/* Classify a fault on region @r (registered): MM_FAULT_ORDINARY,
 * MM_FAULT_POSTED, -EFAULT (SIGBUS mode) or -EHWPOISON. Map lock held. */
int mm_uffd_fault(struct mmrt_as *as, const struct mm_region *r, uint64_t va,
	uint32_t access, struct mm_fault_wait *w);
/* Wait for the wake of a posted fault (map lock not held): 0 (retry the
 * fault) or -ETIMEDOUT. */
int mm_uffd_wait(struct mm_fault_wait *w);
/* Wake [start, end) on every uffd of @as (map lock held either way). */
void mm_uffd_wake_as(struct mmrt_as *as, uint64_t start, uint64_t end);
/* Layout events: prep before the change (map lock held), done after. */
struct mm_uffd_ev {
	struct mmrt_uffd *u[MM_UFFD_PER_AS];
	struct mmrt_uffd *child[MM_UFFD_PER_AS]; /* fork */
	unsigned int n;
};
void mm_uffd_event_prep(struct mmrt_as *as, uint64_t feature, uint64_t start,
	uint64_t end, struct mm_uffd_ev *ev);
void mm_uffd_event_done(struct mm_uffd_ev *ev, struct mmrt_uffd_msg *m,
	bool ok);
/* Fork: the child's copy of a region keeps its registration (with the
 * child's uffd) iff the parent's uffd has EVENT_FORK. */
int mm_uffd_fork_region(struct mm_uffd_ev *ev, struct mmrt_as *child,
	struct mm_region *cr);
/* The space is being torn down (write map lock held). */
void mm_uffd_as_release(struct mmrt_as *as);

/* object.c */
int mm_object_page(struct mmrt_object *obj, uint64_t idx, uint32_t *pfn);
/* The frame of page @idx if it exists, else MMRT_PFN_NONE (creates none). */
uint32_t mm_object_peek(struct mmrt_object *obj, uint64_t idx);
bool mm_object_live(const struct mmrt_object *obj);
void mm_object_map_count(struct mmrt_object *obj, int delta);
bool mm_objects_live(void);

/*
 * notifier.c: notifier subscribers (mmrt_notifier.h).
 *
 * Every operation that removes or downgrades translations brackets its
 * page-table changes with a range:
 *
 *   mm_range_init(&r, as, event, blockable, start, end, owner);
 *   mm_notify_start(&r);          before the first PTE changes
 *   ... change PTEs; the gather (or COW) calls mm_notify_invalidate()
 *       for the secondary-TLB flush before any frame is freed ...
 *   mm_notify_end(&r);            after the flush, before returning
 *
 * mm_notify_start() of a blockable range always returns 0; of a
 * nonblocking one it may return -EAGAIN, and then it must not be paired
 * with mm_notify_end(). Neither is called with a PT lock held.
 */
struct mmrt_notifier_range;
void mm_range_init(struct mmrt_notifier_range *r, struct mmrt_as *as,
	int event, bool blockable, uint64_t start, uint64_t end, void *owner);
int mm_notify_start(struct mmrt_notifier_range *r);
void mm_notify_end(struct mmrt_notifier_range *r);
/* The secondary-TLB flush of [start, end) (gather step 1, COW, merge). */
void mm_notify_invalidate(struct mmrt_as *as, uint64_t start, uint64_t end,
	bool full);
/*
 * Frames about to be released after their flush: a fenced subscriber may
 * take references to keep them out of the pool (quarantine). Every path
 * that drops a mapping's reference calls it first (gather, COW, merge).
 */
void mm_notify_quarantine(struct mmrt_as *as, const uint32_t *pfns,
	unsigned int n);
/* Release one mapping reference on @pfn after its flush (quarantine first). */
static inline void
mm_frame_release(struct mmrt_as *as, uint32_t pfn)
{
	mm_notify_quarantine(as, &pfn, 1);
	mmrt_frame_put(pfn);
}
/* Access-bit queries of the legacy subscribers, OR-ed. */
int mm_notify_clear_young(struct mmrt_as *as, uint64_t start, uint64_t end);
int mm_notify_test_young(struct mmrt_as *as, uint64_t addr);
/* Test observers: active invalidations and invalidate_seq of a space. */
uint64_t mm_notify_debug_active(struct mmrt_as *as);
uint64_t mm_notify_debug_seq(struct mmrt_as *as);
/* The space is being torn down: release every subscriber. */
void mm_notify_release(struct mmrt_as *as);
/* Per-space subscription state, set up in create, torn down in destroy. */
int mm_notify_as_init(struct mmrt_as *as);
void mm_notify_as_fini(struct mmrt_as *as);

/* gather.c */
int mm_gather_subsys_init(const struct mmrt_config *cfg);
void mm_gather_subsys_fini(void);
void mm_table_free_now(uint32_t pfn);

#endif /* MMRT_MM_PRIV_H */
