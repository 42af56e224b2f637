/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The runtime's QSBR domain.
 *
 * Slot states, per reader slot id (0 <= id < qsbr_max), by the claim
 * word qsbr_pid[id] (the process holding the slot) and bit id of
 * qsbr_slots (the count core_qsbr_others() reads):
 *   free:       qsbr_pid[id] == 0, bit clear.
 *   claimed:    qsbr_pid[id] == the owner's pid; the bit set right after;
 *               not yet registered with the rte_rcu_qsbr variable.
 *   registered: rte_rcu_qsbr_thread_register(v, id) done; the owning
 *               thread has tls_id == id.
 * Transitions:
 *   free -> claimed:       CAS of qsbr_pid[id] 0 -> pid in
 *                          mmrt_thread_register() (acquire, pairs with
 *                          the release store of 0 when it is freed),
 *                          then the bit.
 *   claimed -> registered: same thread, right after.
 *   registered -> free:    mmrt_thread_unregister(): offline, unregister,
 *                          clear the bit, then a release store of 0 to
 *                          qsbr_pid[id];
 *                          or core_qsbr_reap_pid() in another process
 *                          once the owner's process died: the same steps
 *                          on its behalf (the owner runs no more, so
 *                          nothing races with them; rte_rcu_qsbr's
 *                          offline is a store and its unregister an
 *                          atomic, idempotent bit clear).
 * Only the owner (or, once it is dead, its reaper) touches a slot between
 * claim and free, so the rte_rcu_qsbr per-thread calls need no further
 * synchronisation. A process killed between its claim and its bit leaves
 * a claim word the reaper frees all the same.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>

#include "mmrt_core.h"
#include "core_priv.h"
#include "core_testhooks.h"
#include "core_wait.h"

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
static int32_t *qsbr_pid;
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
	v = TEST_ALLOC_FAIL() ? NULL :
		rte_zmalloc("mmrt_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (v == NULL)
		return -ENOMEM;
	if (rte_rcu_qsbr_init(v, max_threads) != 0) {
		rte_free(v);
		return -EINVAL;
	}
	memset(core_sh->qsbr_slots, 0, sizeof(core_sh->qsbr_slots));
	memset(core_sh->qsbr_pid, 0, sizeof(core_sh->qsbr_pid));
	core_sh->qsbr_max = max_threads;
	core_sh->qsbr = v;
	qsbr_slots = core_sh->qsbr_slots;
	qsbr_pid = core_sh->qsbr_pid;
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
	qsbr_pid = core_sh->qsbr_pid;
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
	qsbr_pid = NULL;
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

/*
 * Claim a free slot for this process: the claim word first, then the
 * bit. @return its id, or -1.
 */
static int
qsbr_claim(void)
{
	int32_t me = (int32_t)getpid(), cur;
	unsigned int id;

	for (id = 0; id < qsbr_max; id++) {
		cur = 0;
		if (__atomic_load_n(&qsbr_pid[id], __ATOMIC_RELAXED) != 0)
			continue;
		/* Acquire: pairs with the release store of 0 at free. */
		if (!__atomic_compare_exchange_n(&qsbr_pid[id], &cur, me,
				false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			continue;
		__atomic_fetch_or(&qsbr_slots[id / 64],
			UINT64_C(1) << (id % 64), __ATOMIC_RELAXED);
		return (int)id;
	}
	return -1;
}

/* Free slot @id (its user is done with it: unregistered, or dead). */
static void
qsbr_free(unsigned int id)
{
	__atomic_fetch_and(&qsbr_slots[id / 64], ~(UINT64_C(1) << (id % 64)),
		__ATOMIC_RELEASE);
	/* Release: the slot's last use happens before its next claim. */
	__atomic_store_n(&qsbr_pid[id], 0, __ATOMIC_RELEASE);
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
		qsbr_free((unsigned int)id);
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
	qsbr_free((unsigned int)id);
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


#ifdef MMRT_TEST_HOOKS
static uint32_t reap_skip;

void
mmrt_test_reap_skip(uint32_t steps)
{
	__atomic_store_n(&reap_skip, steps, __ATOMIC_RELAXED);
}

uint32_t
mmrt_test_reap_skipped(void)
{
	return __atomic_load_n(&reap_skip, __ATOMIC_RELAXED);
}
#endif

unsigned int
core_qsbr_reap_pid(int32_t pid)
{
	struct rte_rcu_qsbr *v = mmrt_qsbr();
	unsigned int id, n = 0;

	if (v == NULL || pid <= 0 || pid == (int32_t)getpid())
		return 0;
#ifdef MMRT_TEST_HOOKS
	if (mmrt_test_reap_skipped() & MMRT_TEST_REAP_SKIP_QSBR)
		return 0; /* negative control: a dead reader stalls grace periods */
#endif
	for (id = 0; id < qsbr_max; id++) {
		if (__atomic_load_n(&qsbr_pid[id], __ATOMIC_ACQUIRE) != pid)
			continue;
		/* on behalf of the dead owner: see the top of the file */
		rte_rcu_qsbr_thread_offline(v, id);
		rte_rcu_qsbr_thread_unregister(v, id);
		qsbr_free(id);
		n++;
	}
	if (n > 0)
		MMRT_LOG(NOTICE, core, "dead process %d: %u QSBR reader slots"
			" freed", (int)pid, n);
	return n;
}

unsigned int
mmrt_qsbr_reap(void)
{
	int32_t me = (int32_t)getpid(), pid, last = 0;
	unsigned int id, n = 0;

	if (qsbr_pid == NULL)
		return 0;
	for (id = 0; id < qsbr_max; id++) {
		pid = __atomic_load_n(&qsbr_pid[id], __ATOMIC_ACQUIRE);
		/* a process's slots are often neighbours: check it once */
		if (pid == 0 || pid == me || pid == last)
			continue;
		last = pid;
		if (!mmrt_process_alive(pid))
			n += core_qsbr_reap_pid(pid);
	}
	return n;
}

/* Look for dead readers this often while a grace period waits. */
#define QSBR_REAP_US 1000
/* Pauses before a grace-period wait sleeps between checks. */
#define QSBR_SPINS 4096

void
mmrt_synchronize(void)
{
	struct rte_rcu_qsbr *v = mmrt_qsbr();
	uint64_t t, next, period;
	unsigned int spins = 0;

	if (v == NULL)
		return;
	/*
	 * rte_rcu_qsbr_synchronize(), with a look for dead readers every
	 * QSBR_REAP_US: a reader whose process was killed never reports
	 * again. A registered online caller reports its own quiescent state
	 * first; an offline one already counts as quiescent.
	 */
	t = rte_rcu_qsbr_start(v);
	if (mmrt_tls_online_id >= 0)
		rte_rcu_qsbr_quiescent(v, mmrt_tls_online_id);
	period = rte_get_timer_hz() / (1000000 / QSBR_REAP_US);
	next = rte_get_timer_cycles() + period;
	while (rte_rcu_qsbr_check(v, t, false) != 1) {
		/* a reader may share this cpu: spin, then sleep */
		core_wait_step(&spins, QSBR_SPINS);
		if (rte_get_timer_cycles() >= next) {
			mmrt_qsbr_reap();
			next = rte_get_timer_cycles() + period;
		}
	}
}
