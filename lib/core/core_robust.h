/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef CORE_ROBUST_H
#define CORE_ROBUST_H

/*
 * The lock calls of mmrt's libraries, robust in secondaries (core_robust.c,
 * the mmrt_robust_*() calls of mmrt_core.h): one predictable branch on the
 * process-global flag mmrt_robust_locks, false in the primary, whose path
 * is the plain DPDK call. lib/mm/mm_locking.h's class wrappers and
 * core_namelist.h call these; nothing else should.
 */

#include <rte_branch_prediction.h>
#include <rte_rwlock.h>
#include <rte_spinlock.h>

#include "mmrt_core.h"

static inline void
core_spin_lock(rte_spinlock_t *l, unsigned int cls)
{
	if (unlikely(mmrt_robust_locks))
		mmrt_robust_spin_lock(l, cls);
	else
		rte_spinlock_lock(l);
}

static inline int
core_spin_trylock(rte_spinlock_t *l, unsigned int cls)
{
	if (unlikely(mmrt_robust_locks))
		return mmrt_robust_spin_trylock(l, cls);
	return rte_spinlock_trylock(l);
}

static inline void
core_spin_unlock(rte_spinlock_t *l)
{
	if (unlikely(mmrt_robust_locks))
		mmrt_robust_spin_unlock(l);
	else
		rte_spinlock_unlock(l);
}

/*
 * Release @l with a release store: the holder's stores under the lock are
 * ordered before it, as with rte_spinlock_unlock(), but on x86 that call
 * is an xchg, a full barrier, and this is a plain store (what the generic
 * DPDK unlock is elsewhere). Only for holders whose later loads need not
 * wait for their stores (mm_spin_unlock_release(), mm_locking.h); a
 * secondary records its locks and takes the recorded path.
 */
static inline void
core_spin_unlock_release(rte_spinlock_t *l)
{
	if (unlikely(mmrt_robust_locks))
		mmrt_robust_spin_unlock(l);
	else
		__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

static inline void
core_read_lock(rte_rwlock_t *l, unsigned int cls)
{
	if (unlikely(mmrt_robust_locks))
		mmrt_robust_read_lock(l, cls);
	else
		rte_rwlock_read_lock(l);
}

static inline int
core_read_trylock(rte_rwlock_t *l, unsigned int cls)
{
	if (unlikely(mmrt_robust_locks))
		return mmrt_robust_read_trylock(l, cls);
	return rte_rwlock_read_trylock(l);
}

static inline void
core_read_unlock(rte_rwlock_t *l)
{
	if (unlikely(mmrt_robust_locks))
		mmrt_robust_read_unlock(l);
	else
		rte_rwlock_read_unlock(l);
}

static inline void
core_write_lock(rte_rwlock_t *l, unsigned int cls)
{
	if (unlikely(mmrt_robust_locks))
		mmrt_robust_write_lock(l, cls);
	else
		rte_rwlock_write_lock(l);
}

static inline void
core_write_unlock(rte_rwlock_t *l)
{
	if (unlikely(mmrt_robust_locks))
		mmrt_robust_write_unlock(l);
	else
		rte_rwlock_write_unlock(l);
}

/*
 * Journalled edits (mmrt_robust_edit in mmrt_core.h). An edit of a
 * structure in shared memory that takes several stores, in a process that
 * records, runs as:
 *
 *	j = core_edit_get();             NULL: the primary, no journal
 *	j->obj, j->arg[] = ...;          the arguments
 *	core_edit_arm(j, OP);            the edit exists for a reaper
 *	... core_edit_step(j, s); stores of step s ...
 *	core_edit_end(j);                done
 *
 * The only observer is the reaper after the thread's death, when every
 * store the thread made is visible: compiler fences keep the thread's
 * program order (as the lock records do, core_robust.c). A step is
 * journalled before its stores, so the repair redoes the recorded step
 * and goes on: each step must be idempotent given the stores of the steps
 * before it (the kind's repair says why its are).
 */

/* The kinds of journalled edits, one per structure (their repairs). */
enum core_edit_kind {
	CORE_EDIT_REGIONS = 1,  /* a space's region array (lib/mm/region.c) */
	CORE_EDIT_RLIST = 2,    /* a robust list's links (core_rlist.h) */
};

static inline struct mmrt_robust_edit *
core_edit_get(void)
{
#ifdef MMRT_TEST_HOOKS
	struct mmrt_robust_edit *forced = mmrt_test_edit_forced();

	if (forced != NULL)
		return forced;
#endif
	if (likely(!mmrt_robust_locks))
		return NULL;
	return mmrt_robust_edit_journal();
}

static inline void
core_edit_arm(struct mmrt_robust_edit *j, uint32_t op)
{
	j->step = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* the arguments first */
	j->op = op;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

#ifdef MMRT_TEST_HOOKS
#define core_edit_kill_point(op) mmrt_test_edit_step(op)
#else
#define core_edit_kill_point(op) do { (void)(op); } while (0)
#endif

static inline void
core_edit_step(struct mmrt_robust_edit *j, uint32_t step)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* the last step's stores */
	j->step = step;
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* before this step's */
	core_edit_kill_point(j->op);
}

static inline void
core_edit_end(struct mmrt_robust_edit *j)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* every store of the edit */
	j->op = 0;
}

#endif /* CORE_ROBUST_H */
