/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The runtime's QSBR domain.
 *
 * Slot states, per reader slot id (0 <= id < qsbr_max):
 *   free:       bit id of qsbr_slots clear.
 *   claimed:    bit set, not yet registered with the rte_rcu_qsbr variable.
 *   registered: bit set and rte_rcu_qsbr_thread_register(v, id) done; the
 *               owning thread has tls_id == id.
 * Transitions:
 *   free -> claimed:       CAS in mmrt_thread_register() (acquire, pairs
 *                          with the release in mmrt_thread_unregister()).
 *   claimed -> registered: same thread, right after the CAS.
 *   registered -> free:    mmrt_thread_unregister(): offline, unregister,
 *                          then a release clear of the bit.
 * Only the owner touches a slot between claim and free, so the
 * rte_rcu_qsbr per-thread calls need no further synchronisation.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_common.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "mmrt_core.h"
#include "core_priv.h"

#define QSBR_MAX_THREADS CORE_QSBR_MAX_THREADS
#define QSBR_WORDS CORE_QSBR_WORDS

#define MMRT_TLS __thread __attribute__((tls_model("initial-exec")))

/*
 * The variable and the slot bitmap live in the shared state (core_sh), so
 * the readers of every process of the runtime claim distinct slots of one
 * domain: a grace period waited for in one process covers the lockless
 * walkers of all of them. qsbr_v and qsbr_slots are this process's view.
 */
static struct rte_rcu_qsbr *qsbr_v;
static uint32_t qsbr_max;
static uint64_t *qsbr_slots;
static bool qsbr_owner; /* this process made the variable */
static uint32_t qsbr_local; /* slots this process's threads hold */

/*
 * The calling thread's slot (-1: not registered) and the same slot while
 * the thread is online (-1 otherwise), so that mmrt_quiescent() is a single
 * TLS test: reporting on an offline slot would put it back online.
 */
static MMRT_TLS int tls_id = -1;
MMRT_TLS int mmrt_tls_online_id = -1;

int
core_qsbr_create(uint32_t max_threads)
{
	struct rte_rcu_qsbr *v;
	size_t sz;

	if (max_threads == 0 || max_threads > QSBR_MAX_THREADS)
		return -EINVAL;
	if (qsbr_v != NULL)
		return -EALREADY;
	sz = rte_rcu_qsbr_get_memsize(max_threads);
	if (sz == 0)
		return -EINVAL;
	if (core_sh == NULL)
		return -ENODEV;
	v = rte_zmalloc("mmrt_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (v == NULL)
		return -ENOMEM;
	if (rte_rcu_qsbr_init(v, max_threads) != 0) {
		rte_free(v);
		return -EINVAL;
	}
	memset(core_sh->qsbr_slots, 0, sizeof(core_sh->qsbr_slots));
	core_sh->qsbr_max = max_threads;
	core_sh->qsbr = v;
	qsbr_slots = core_sh->qsbr_slots;
	qsbr_max = max_threads;
	qsbr_owner = true;
	__atomic_store_n(&qsbr_v, v, __ATOMIC_RELEASE);
	return 0;
}

int
core_qsbr_join(void)
{
	if (qsbr_v != NULL)
		return -EALREADY;
	if (core_sh == NULL || core_sh->qsbr == NULL)
		return -ENODEV;
	qsbr_slots = core_sh->qsbr_slots;
	qsbr_max = core_sh->qsbr_max;
	qsbr_owner = false;
	__atomic_store_n(&qsbr_v, core_sh->qsbr, __ATOMIC_RELEASE);
	return 0;
}

void
core_qsbr_destroy(void)
{
	struct rte_rcu_qsbr *v = qsbr_v;

	if (v == NULL)
		return;
	/* The caller (mmrt_fini) made sure no other thread is registered. */
	if (tls_id >= 0)
		mmrt_thread_unregister();
	__atomic_store_n(&qsbr_v, NULL, __ATOMIC_RELEASE);
	qsbr_max = 0;
	qsbr_slots = NULL;
	if (qsbr_owner) {
		core_sh->qsbr = NULL;
		rte_free(v);
	}
	qsbr_owner = false;
}

unsigned int
core_qsbr_others(bool all)
{
	unsigned int i, n = 0;

	if (!all) {
		n = __atomic_load_n(&qsbr_local, __ATOMIC_ACQUIRE);
		return tls_id >= 0 && n > 0 ? n - 1 : n;
	}
	if (qsbr_slots == NULL)
		return 0;
	for (i = 0; i < QSBR_WORDS; i++)
		n += __builtin_popcountll(__atomic_load_n(&qsbr_slots[i],
			__ATOMIC_ACQUIRE));
	if (tls_id >= 0 && n > 0)
		n--;
	return n;
}

struct rte_rcu_qsbr *
mmrt_qsbr(void)
{
	return __atomic_load_n(&qsbr_v, __ATOMIC_ACQUIRE);
}

/* Claim a free slot; its id or -1. */
static int
qsbr_claim(void)
{
	uint64_t old, bit;
	unsigned int w, b, id;

	for (w = 0; w * 64 < qsbr_max; w++) {
		old = __atomic_load_n(&qsbr_slots[w], __ATOMIC_RELAXED);
		while (old != UINT64_MAX) {
			b = __builtin_ctzll(~old);
			id = w * 64 + b;
			if (id >= qsbr_max)
				break;
			bit = UINT64_C(1) << b;
			/* Acquire: pairs with the release clear in unregister. */
			if (__atomic_compare_exchange_n(&qsbr_slots[w], &old,
					old | bit, false, __ATOMIC_ACQUIRE,
					__ATOMIC_RELAXED))
				return (int)id;
			/* old was reloaded by the failed CAS. */
		}
	}
	return -1;
}

int
mmrt_thread_register(void)
{
	struct rte_rcu_qsbr *v = mmrt_qsbr();
	int id;

	if (v == NULL)
		return -ENODEV;
	if (tls_id >= 0)
		return -EEXIST;
	id = qsbr_claim();
	if (id < 0) {
		MMRT_LOG(WARNING, core,
			"all %u QSBR slots taken (core.max_threads)", qsbr_max);
		return -ENOSPC;
	}
	if (rte_rcu_qsbr_thread_register(v, id) != 0) {
		__atomic_fetch_and(&qsbr_slots[id / 64],
			~(UINT64_C(1) << (id % 64)), __ATOMIC_RELEASE);
		return -EINVAL;
	}
	rte_rcu_qsbr_thread_online(v, id);
	__atomic_fetch_add(&qsbr_local, 1, __ATOMIC_RELAXED);
	tls_id = id;
	mmrt_tls_online_id = id;
	return id;
}

int
mmrt_thread_unregister(void)
{
	struct rte_rcu_qsbr *v = qsbr_v;
	int id = tls_id;

	if (id < 0 || v == NULL)
		return -ENOENT;
	if (mmrt_tls_online_id >= 0)
		rte_rcu_qsbr_thread_offline(v, id);
	rte_rcu_qsbr_thread_unregister(v, id);
	tls_id = -1;
	mmrt_tls_online_id = -1;
	__atomic_fetch_sub(&qsbr_local, 1, __ATOMIC_RELEASE);
	/* Release: the slot's last use happens before its next claim. */
	__atomic_fetch_and(&qsbr_slots[id / 64], ~(UINT64_C(1) << (id % 64)),
		__ATOMIC_RELEASE);
	return 0;
}

int
mmrt_thread_id(void)
{
	return tls_id;
}

void
mmrt_quiescent(void)
{
	int id = mmrt_tls_online_id;

	if (likely(id >= 0))
		rte_rcu_qsbr_quiescent(qsbr_v, id);
}

void
mmrt_thread_offline(void)
{
	if (mmrt_tls_online_id < 0)
		return;
	rte_rcu_qsbr_thread_offline(qsbr_v, tls_id);
	mmrt_tls_online_id = -1;
}

void
mmrt_thread_online(void)
{
	if (tls_id < 0 || mmrt_tls_online_id >= 0)
		return;
	rte_rcu_qsbr_thread_online(qsbr_v, tls_id);
	mmrt_tls_online_id = tls_id;
}


void
mmrt_synchronize(void)
{
	struct rte_rcu_qsbr *v = mmrt_qsbr();

	if (v == NULL)
		return;
	/*
	 * A registered online caller reports its own quiescent state inside
	 * rte_rcu_qsbr_synchronize(); an offline one already counts as
	 * quiescent.
	 */
	if (mmrt_tls_online_id >= 0)
		rte_rcu_qsbr_synchronize(v, mmrt_tls_online_id);
	else
		rte_rcu_qsbr_synchronize(v, RTE_QSBR_THRID_INVALID);
}
