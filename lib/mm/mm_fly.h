/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_FLY_H
#define MM_FLY_H

/*
 * Frames in flight: frames a thread of a secondary holds where neither a
 * page table nor the pool shows them, recorded so that mmrt_reap_dead()
 * returns them if the process dies there (issue 14: a killed process
 * loses nothing). The record is the thread's robust-lock record's
 * fly[] words in the mmrt_core memzone (mmrt_robust_fly()); the primary
 * records nothing (its death ends the runtime): its cost is one
 * predictable branch on mmrt_robust_locks per fill, table allocation and
 * gather start, two per fault that allocates (its allocation, its
 * clear under the PT lock), one more per lost race's put, and one on
 * the gather's record pointer (NULL) per zapped leaf, flush and
 * slow-path add; the pool adds its own, one per allocation and put
 * (lib/mem/pool.c). Only the
 * owning thread writes its record while it lives, only the dead
 * process's claimed reaper afterwards, so the stores need no atomicity
 * beyond their order in the thread's program (rb_order(): the reaper
 * runs after the death, when every store the thread made is visible).
 *
 * 1. A fill's frame (uffd_fill.c fill_page(), fill_huge()), or a new
 *    page-table page (pgtable.c pt_walk()): allocated (and filled)
 *    before the lock of the table it goes into, installed under it; one
 *    at a time per thread (a walk ends before its fill allocates). The
 *    "entry" below is the leaf, or the parent's entry of a table.
 *    Fault frames (fault.c: demand-zero, copy-on-write, huge) are
 *    recorded the same way, for the leaf they are installed in. Every
 *    one is allocated into the record (fpfn, written by the pool as it
 *    takes the frame: mmrt_frame_alloc_rec(), mmrt_huge_alloc_rec());
 *    fill_page()'s after its walk (a secondary's; the primary's is taken
 *    before the walk and not recorded). States, by predicates on the record and on
 *    the lock word (held = the table's lock word holds the dead thread's
 *    robust tag):
 *      none:        fstate == 0, or fpfn == MMRT_PFN_NONE (the pool had
 *                   not handed it out: the pool's reap, run first, resets
 *                   fpfn of a frame it takes back)
 *      allocated:   fstate != 0 && !held: not installed (the record is
 *                   cleared under the lock right after the entry's
 *                   store, so an installed frame never leaves the lock
 *                   recorded; a frame that lost its race stays recorded
 *                   through its put: put iff its generation moved)
 *      installing:  fstate != 0 && held: installed iff the entry maps
 *                   fpfn, read before the reaper releases the lock
 *                   (core_robust.c calls the frame reap first), while the
 *                   lock still keeps every other writer off that entry
 *    The reaper frees the frame iff it is not installed, the pool
 *    handed it out (one reference, not flagged free) and it was not put
 *    since (fgenv && gen != fgen: its put ran). Stores: {pte, ptl, fpfn
 *    = NONE, fgenv = 0} then fstate = 1 (activation), then the
 *    allocation, then fgen, fgenv = 1; fstate = 0 (clear: under the
 *    lock after the entry's store, or after a lost race's put).
 *
 * 2. A gather's frames (gather.c): the frames (and page-table pages) an
 *    unmap or zap unhooked and queued for the free after the device
 *    flush. A secondary's gather keeps its first batch in the record
 *    (gb) and chains DPDK-memory batches from it, instead of its stack's
 *    bundle; its tables batch is recorded (gtables). Entries:
 *      queued: neither MM_GE_DONE: the reaper flushes it
 *      done:   MM_GE_DONE, stored before the frame's put (before the
 *              table's hand-off to the defer queue): never put twice
 *    A delayed rmap's bit is cleared before the mapcount drops. The
 *    gather is recorded while gas != NULL (stored after its
 *    gather_pending raise, cleared before its fall). The reap step
 *    (mm.fly, fly.c) runs after the dead's locks are released and its
 *    consumers fenced: it moves every queued entry into a gather of its
 *    own on gas, whose flush invalidates the whole space before any free
 *    (gather's rule: free only after all consumers dropped it).
 *
 * 3. A zap's leaf (pgtable.c zap_level(), a recorded gather): cleared,
 *    then queued. Before the clear: {zpte, ze, zb = the batch the entry
 *    will go to (room made first), znr = zb->nr}, then zstate = 1; after
 *    the entry's count store, zstate = 0. The zapping thread holds the
 *    leaf's PT lock or the write map lock, so the lock reap (before it
 *    releases them) reads: cleared = *zpte == 0 (nobody else writes it
 *    meanwhile; a lockless A/D update never writes an empty leaf), queued
 *    = zb->nr != znr. Cleared and not queued: the reaper stores the
 *    leaf's entry in zextra, which the mm.fly step flushes with the rest.
 *    The leaf's mapcount drop may be lost (a shared frame keeps one too
 *    many: only a copy-on-write copies instead of reusing).
 *
 * 4. A recorded flush's put (gather.c gather_rec_free()): {pp_at = the
 *    entry or its count, pp_old = its value, pp_pfn, pp_gen} before the
 *    done mark, pp_at = NULL after the put. pp_at != NULL && *pp_at !=
 *    pp_old: marked, the put maybe done. The mm.fly step runs after
 *    lib/dev's released the dead consumers' quarantine references, so
 *    a frame still of generation pp_gen (never freed since), with one
 *    reference, unmapped (mapcount 0) and unpinned, holds only the one
 *    the put was to drop: put not done, the reaper drops it. Else it
 *    is left (a shared frame: at most one reference leaked).
 *
 * The pool's own steps (taking a frame out of its cache or ring and
 * initializing it; a put's drop of the last reference, until the frame is
 * back in a cache) are the pool record's (lib/mem/pool.c), reaped first:
 * a frame the pool writes into fpfn (mmrt_frame_alloc_rec()) is then
 * either back in the pool (fpfn NONE) or allocated. fgen (fgenv set)
 * is the frame's generation after its allocation: a frame that lost its
 * race stays recorded through its put (mm_fly_frame_put()), and a
 * generation changed since says the put ran.
 *
 * What a death can still lose: the pool's unclosed windows (pool.c),
 * a shared frame between its done mark
 * and its put, a leaf between its clear and its entry's queueing (the
 * zap's PT lock section), a mapcount drop, the frames of a gather nested
 * in another of the same thread (not recorded), and frames allocated
 * before a lock on paths without a record: the old frame a copy-on-write
 * replaces until its flush (fault.c), a copy of a pinned page in a fork,
 * an object's pages, and a huge leaf's split (split_pmd(), whose
 * caller may hold the map lock instead of the PT lock). A table the reaper
 * frees stays counted in its space's pt_pages (a statistic). Nothing is
 * freed twice.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>

#include "mmrt_core.h"
#include "mm_gather.h"

/* An entry put (or handed off) already: never a valid pfn. */
#define MM_GE_DONE UINT64_MAX

struct mm_fly {
	uint32_t fpfn;              /* the frame, MMRT_PFN_NONE: none yet */
	uint32_t fstate;            /* 1: recorded, 0: none */
	uint32_t fgen;              /* the frame's generation when taken */
	uint32_t fgenv;             /* 1: fgen is set */
	uint64_t *pte;              /* the leaf it is installed in */
	int *ptl;                   /* that table's lock word */
	struct mmrt_as *gas;        /* the recorded gather's space, or NULL */
	struct mm_gather_batch *gtables; /* its tables batch, or NULL */
	uint64_t zextra;            /* a leaf's entry the reaper queued */
	/* a zap's leaf between its clear and its entry (3.) */
	uint64_t *zpte;             /* the leaf */
	uint64_t ze;                /* its value before the clear */
	struct mm_gather_batch *zb; /* the batch its entry goes to */
	uint32_t znr;               /* zb->nr before the entry */
	uint32_t zstate;            /* 1: recorded, 0: none */
	/* a recorded flush's frame between its done mark and its put (4.) */
	uint64_t *pp_at;            /* its entry (or count), NULL: none */
	uint64_t pp_old;            /* that word before the mark */
	uint32_t pp_pfn;
	uint32_t pp_gen;            /* the frame's generation then */
	struct {
		struct mm_gather_batch hdr;
		uint64_t ent[MMRT_GATHER_BUNDLE];
	} gb;                       /* its first batch */
};

#define mm_fly_order() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* The calling thread's record, or NULL (the primary, or none left). */
static inline struct mm_fly *
mm_fly_rec(void)
{
	if (likely(!mmrt_robust_locks))
		return NULL;
	return (struct mm_fly *)mmrt_robust_fly();
}

void mm_fly_frame_set_(uint32_t pfn, uint64_t *pte, uint32_t tbl);
void mm_fly_frame_clear_(void);
int64_t mm_fly_frame_alloc_(uint64_t *pte, uint32_t tbl, uint32_t flags,
	bool huge);
void mm_fly_frame_put_(uint32_t pfn);

/*
 * mmrt_frame_alloc(@flags) of a frame to be installed in leaf @pte of
 * table @tbl (a fill's, a fault's): a secondary's is allocated into its
 * record (mmrt_frame_alloc_rec()).
 */
static inline int64_t
mm_fly_frame_alloc(uint64_t *pte, uint32_t tbl, uint32_t flags)
{
	if (likely(!mmrt_robust_locks))
		return mmrt_frame_alloc(flags);
	return mm_fly_frame_alloc_(pte, tbl, flags, false);
}

/* mmrt_huge_alloc(@flags) of a huge frame for entry @pmd of table @tbl. */
static inline int64_t
mm_fly_huge_alloc(uint64_t *pmd, uint32_t tbl, uint32_t flags)
{
	if (likely(!mmrt_robust_locks))
		return mmrt_huge_alloc(flags);
	return mm_fly_frame_alloc_(pmd, tbl, flags, true);
}

/*
 * The recorded frame @pfn lost its race: put back, then the record
 * cleared (the put is the pool record's until the frame is free; the
 * reaper tells a put done by the frame's generation).
 */
static inline void
mm_fly_frame_put(uint32_t pfn)
{
	if (likely(!mmrt_robust_locks))
		mmrt_frame_put(pfn);
	else
		mm_fly_frame_put_(pfn);
}

/* A fill's frame @pfn, to be installed in leaf @pte of table @tbl. */
static inline void
mm_fly_frame(uint32_t pfn, uint64_t *pte, uint32_t tbl)
{
	if (unlikely(mmrt_robust_locks))
		mm_fly_frame_set_(pfn, pte, tbl);
}

/* The frame is installed (under the lock), or is about to be put back. */
static inline void
mm_fly_frame_done(void)
{
	if (unlikely(mmrt_robust_locks))
		mm_fly_frame_clear_();
}

/* gather.c: the record's start (a secondary). */
bool mm_fly_gather_start(struct mm_gather *tlb);
/* gather.c: the batch of a recorded gather that takes the next entry
 * (room for a counted one made: a flush if no batch can be had). */
struct mm_gather_batch *mm_fly_gather_room(struct mm_gather *tlb);
/* The gather entry of leaf value @e (zap_leaf()'s), MM_GE_DONE if none. */
uint64_t mm_fly_leaf_entry(uint64_t e, bool huge);

#endif /* MM_FLY_H */
