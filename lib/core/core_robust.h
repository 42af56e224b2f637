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

#endif /* CORE_ROBUST_H */
