/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef _CORE_PRIV_H_
#define _CORE_PRIV_H_

/*
 * Internal interface between the files of lib/core. Not installed; the
 * symbols are hidden from the shared library.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_config.h>

#include "mmrt_core.h"

#define CORE_INTERNAL __attribute__((visibility("hidden")))

/* config.c: set one key from its text value (same checks as a file). */
CORE_INTERNAL int core_config_set(struct mmrt_config *cfg,
	const char *section, const char *key, const char *value);

/*
 * config.c: Levenshtein distance between a[0..la) and b[0..lb), UINT_MAX
 * if either is longer than CORE_EDIT_MAX (for "did you mean" hints).
 */
#define CORE_EDIT_MAX 63
CORE_INTERNAL unsigned int core_edit_distance(const char *a, size_t la,
	const char *b, size_t lb);

/*
 * The runtime's state shared by every process of one DPDK file prefix:
 * the memzone CORE_SHARED_MZ, made by the primary's mmrt_init() or
 * mmrt_attach() and looked up by a secondary's. DPDK maps it at the same
 * address in every process, so it may hold pointers to other DPDK
 * memory; it holds no pointer to process memory and no function pointer.
 */
#define CORE_SHARED_MZ "mmrt_core"
#define CORE_SHARED_MAGIC 0x6d6d7274636f7265ULL /* "mmrtcore" */
#define CORE_QSBR_MAX_THREADS 1024
#define CORE_QSBR_WORDS (CORE_QSBR_MAX_THREADS / 64)

/*
 * One attached process (a slot of core_shared.procs, MMRT_PROC_MAX).
 * States, by predicates:
 *   free:     pid == 0
 *   attached: pid != 0, the process lives (core_proc_dead() false)
 *   dead:     pid != 0 and the process is gone, a zombie, or its pid
 *             names a newer process (start time differs)
 *   reaping:  dead and reaper != 0 (a live process reclaims it)
 * Transitions:
 *   free -> attached:  CAS of pid 0 -> getpid() in core_proc_claim(),
 *                      then start (release); a scanner that sees start 0
 *                      judges by /proc/<pid> existence and state only
 *   attached -> free:  the process's own mmrt_fini() (store pid 0)
 *   dead -> reaping:   CAS of reaper 0 (or a dead reaper) -> the reaper
 *   reaping -> free:   the reaper, after every reclaim step: start and
 *                      reaper cleared, then pid 0 (release)
 */
struct core_proc {
	int32_t pid;
	int32_t reaper;
	uint64_t start;   /* /proc/<pid>/stat starttime, clock ticks */
};

/*
 * Robust locks (core_robust.c): per process slot, per thread of that
 * process that takes mm locks, the locks it holds or is taking, as the
 * kernel's robust futex list keeps them. An entry is free when its lock
 * word is 0; the owning thread writes @what, then @lock (activation), and
 * clears @lock last. Only the owning thread writes its entries while the
 * process lives; only the dead process's reaper afterwards.
 */
#define CORE_ROBUST_THREADS 31 /* thread indexes 0..30: tag bits below */
#define CORE_ROBUST_DEPTH 16   /* as the lock-order check's depth */
/* 64-bit words of a thread's frames-in-flight record: lib/mm's (mm_fly.h),
 * opaque here (mmrt_robust_fly()) */
#define CORE_ROBUST_FLY_WORDS 24
/* 64-bit words of a thread's pool record: lib/mem's (pool.c), opaque here
 * (mmrt_robust_mem()) */
#define CORE_ROBUST_MEM_WORDS 8

struct core_robust_ent {
	uintptr_t lock;   /* the lock's address (one in all processes), 0 free */
	uint32_t what;    /* CORE_ROBUST_KIND_* | CORE_ROBUST_ST_* | class << 8 */
	uint32_t pad;
};

struct core_robust_thr {
	int32_t tid;      /* the thread holding this index, 0 free */
	uint32_t trans;   /* entry + 1 whose read lock word may hold this
			   * thread's transition tag, 0 none */
	struct core_robust_ent ent[CORE_ROBUST_DEPTH];
	/* the edit in progress (mmrt_robust_edit_journal()), op 0 none */
	struct mmrt_robust_edit edit;
	/* frames this thread holds out of every page table's and the
	 * pool's view (lib/mm/mm_fly.h), for the reaper */
	uint64_t fly[CORE_ROBUST_FLY_WORDS];
	/* the pool operation in progress (lib/mem/pool.c), reaped first */
	uint64_t mem[CORE_ROBUST_MEM_WORDS];
};

struct core_robust_proc {
	struct core_robust_thr thr[CORE_ROBUST_THREADS];
};

struct core_shared {
	uint64_t magic;              /* set last, with release, by the primary */
	struct mmrt_config cfg;      /* the primary's: secondaries use it */
	struct rte_rcu_qsbr *qsbr;   /* the one QSBR domain of all processes */
	uint32_t qsbr_max;
	uint64_t qsbr_slots[CORE_QSBR_WORDS]; /* claimed reader slots */
	int32_t lcore_pid[RTE_MAX_LCORE];      /* process using each lcore id */
	/* process holding each reader slot (the claim word, see qsbr.c) */
	int32_t qsbr_pid[CORE_QSBR_MAX_THREADS];
	struct core_proc procs[MMRT_PROC_MAX]; /* attached processes */
	uint64_t reaped;             /* dead processes reclaimed, ever */
	/* locks each process's threads hold (robust locks, secondaries) */
	struct core_robust_proc robust[MMRT_PROC_MAX];
};

/* core.c: the shared state, NULL when the runtime is down. */
CORE_INTERNAL extern struct core_shared *core_sh;

/*
 * qsbr.c: create (primary: in core_sh, with max_threads reader slots) or
 * join (secondary: core_sh->qsbr) the QSBR domain; destroy frees it only
 * in the primary.
 */
CORE_INTERNAL int core_qsbr_create(uint32_t max_threads);
CORE_INTERNAL int core_qsbr_join(void);
CORE_INTERNAL void core_qsbr_destroy(void);
/*
 * qsbr.c: registered threads other than the caller: of every process of
 * the runtime (@p all), or of this process only.
 */
CORE_INTERNAL unsigned int core_qsbr_others(bool all);
/*
 * qsbr.c: take the reader slots of dead process @p pid offline and free
 * them (lock-free; the process is gone, nothing of it runs). @return
 * the number of slots freed.
 */
CORE_INTERNAL unsigned int core_qsbr_reap_pid(int32_t pid);

/* core.c: is @p pid (not necessarily attached) alive? Not a zombie. */
CORE_INTERNAL bool core_pid_alive(int32_t pid);

/*
 * core_robust.c: start recording the locks this process takes (a
 * secondary, process slot @p slot: its records are cleared first), stop
 * (mmrt_fini(): the records of this process are cleared).
 */
CORE_INTERNAL void core_robust_start(int slot, bool secondary);
CORE_INTERNAL void core_robust_stop(void);
/*
 * core_robust.c: release every lock dead process @p pid (process slot
 * @p slot) still records; the caller is the slot's reaper (claimed).
 * @return the number of locks released.
 */
CORE_INTERNAL unsigned int core_robust_reap(unsigned int slot, int32_t pid);

/* topo.c: describe the enabled lcores (hwloc), forget them. */
CORE_INTERNAL int core_topo_init(void);
CORE_INTERNAL void core_topo_fini(void);

#endif /* _CORE_PRIV_H_ */
