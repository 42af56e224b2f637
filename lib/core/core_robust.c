/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Robust locks: the locks a process of the runtime held when it died are
 * released by its reaper (mmrt_reap_dead()), as the kernel releases the
 * robust futexes a dead thread held.
 *
 * Who records. Only secondaries (mmrt_robust_locks): the primary's death
 * ends the runtime, so its lock calls stay the plain DPDK ones behind one
 * predictable branch on that flag (core_robust.h). A secondary's every
 * lock call through lib/mm/mm_locking.h's class wrappers (and the named
 * lists' lock, core_namelist.h) lands here.
 *
 * The records. core_sh->robust[slot].thr[i]: per process slot, per thread
 * index (claimed by the thread's tid on its first lock, given back at its
 * exit) CORE_ROBUST_DEPTH entries {lock address, kind, state, class}.
 * DPDK maps shared memory at one address in every process, so the address
 * names the lock for the reaper too. An entry is activated by storing its
 * lock address after its kind (the thread's own program order, kept by
 * compiler fences: the only observer is a reaper after the thread's death,
 * when every store it made is visible) and freed by storing 0.
 *
 * The holder's tag. T = slot << 5 | (thread index + 1), 1..2047, never 0,
 * in bits 20..30 of the lock word (bit 31 stays clear, so an rwlock's
 * word never looks negative to rte_rwlock_write_lock()'s "x < WRITE"):
 *   - a spin lock's word holds T << 20 instead of 1 (DPDK's lock and
 *     trylock only test the word against 0, its unlock stores 0);
 *   - a write-held rwlock's word holds RTE_RWLOCK_WRITE | T << 20:
 *     readers still see the write bit and back out, writers a value
 *     above RTE_RWLOCK_WRITE and wait;
 *   - a read transition (a secondary's read take or release) changes the
 *     count and sets T << 20 in one compare-and-swap, then updates the
 *     record, then clears the tag (one transition per lock at once: the
 *     field must be 0). The primary's readers test only RTE_RWLOCK_MASK
 *     and are not held up; writers wait out the transition. The reader
 *     count keeps bits 2..19 (262,143 readers).
 *
 * Take: entry (PENDING; for a read also t->trans, the entry in
 * transition), the word's atomic change, the entry's state HELD (a read
 * then clears its tag and t->trans). Release: spin and write: the word's
 * change, then the entry freed; read: state RELEASING and t->trans, the
 * word's compare-and-swap (count down, tag set), state RELEASED, tag and
 * t->trans cleared, entry freed. What the reaper does with each entry of
 * a dead slot: the word tells whether the atomic step happened, so no
 * moment of a death is ambiguous:
 *   spin, write: the word holds T: ours, released by a compare-and-swap
 *     (spin) or a subtraction of exactly what we added (write); else not
 *     taken yet, or released already.
 *   write, PENDING, word not ours: a waiting writer may have left
 *     RTE_RWLOCK_WAIT set (readers would wait for a writer that never
 *     comes): cleared. A live waiting writer loses only its priority: it
 *     still waits for the readers to leave and then takes the lock.
 *   read: "tagged" = the word holds T and the entry is t->trans. Still
 *     counted: HELD, PENDING tagged, RELEASING untagged: one reader
 *     taken off; tagged: the tag cleared too. PENDING untagged (not
 *     taken) and RELEASED (counted off) leave the count. The record is
 *     freed before the word changes: a reaper that dies in between
 *     leaves the lock held (a hang), never takes a reader off twice.
 *
 * Not recorded (taken with the plain call, logged once): locks of a thread
 * beyond CORE_ROBUST_THREADS in one process, or beyond CORE_ROBUST_DEPTH
 * held at once by one thread (the lock-order check's depth too).
 *
 * Edits (core_robust.h): each thread record also holds the journal of
 * the edit the thread is making to a structure in shared memory (a region
 * array, a list), if any. The reaper finishes a dead thread's edit, by
 * the repair its kind registered in the reaper's process, before it
 * releases that thread's locks: the structure is whole again before
 * anyone else can take the lock that guards it. An edit with no repair
 * known to the reaper is logged and left torn.
 *
 * Reaping (core.c core_reap_dead()): the reaper claims every dead slot
 * first, releases the locks of all of them, and only then runs the other
 * reclaim steps: a reaper that died holding pin->lock (say) must lose it
 * before another process's pins are reaped by its replacement. Only the
 * claimed reaper of a slot touches its records (so an entry is released
 * once), and every action above is idempotent or tag-checked, so a
 * replacing reaper redoes them.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_log.h>
#include <rte_pause.h>
#include <rte_rwlock.h>
#include <rte_spinlock.h>

#include "mmrt_core.h"
#include "core_priv.h"
#include "core_rlist.h"
#include "core_testhooks.h"

bool mmrt_robust_locks;

#define RB_KIND_SPIN 1u
#define RB_KIND_READ 2u
#define RB_KIND_WRITE 3u
#define RB_KIND_MASK 0x3u
#define RB_ST_PENDING 0x00u
#define RB_ST_HELD 0x10u
#define RB_ST_RELEASING 0x20u
#define RB_ST_RELEASED 0x30u
#define RB_ST_MASK 0x30u
#define RB_CLS_SHIFT 8

#define RB_TAG_SHIFT 20
#define RB_TAG_MASK 0x7ffu

_Static_assert(MMRT_PROC_MAX <= 64, "the tag has 6 bits of slot");
_Static_assert(CORE_ROBUST_THREADS <= 31, "the tag has 5 bits of thread");
_Static_assert(CORE_ROBUST_FLY_WORDS == MMRT_ROBUST_FLY_WORDS,
	"one size of the frames-in-flight record");
_Static_assert(CORE_ROBUST_MEM_WORDS == MMRT_ROBUST_MEM_WORDS,
	"one size of the pool record");

static const char *const rb_kind_name[] = {
	[RB_KIND_SPIN] = "spin", [RB_KIND_READ] = "read-held rw",
	[RB_KIND_WRITE] = "write-held rw",
};

/* This process's slot while it records (a secondary), else -1. */
static int rb_me = -1;
/* Attachments so far: a thread's index is of the attachment it was
 * claimed in (a process may detach and attach again). */
static unsigned int rb_gen = 1;
/* The calling thread's index in rb_me's records (-1: none), and the
 * attachment it was claimed in. */
static __thread int rb_tidx __attribute__((tls_model("initial-exec"))) = -1;
static __thread unsigned int rb_tgen
	__attribute__((tls_model("initial-exec")));
static pthread_key_t rb_key;
static bool rb_key_made;
static bool rb_warned;

/* Locks released by this process's reaps. */
static uint64_t rb_reaped;
/* This process's repairs of journalled edits, by kind. */
static mmrt_robust_repair_t rb_repair[MMRT_ROBUST_EDIT_OPS] = {
	[CORE_EDIT_RLIST] = core_rlist_repair,
};

/* This process's repair of edits of kind @op, or NULL. */
static mmrt_robust_repair_t
rb_repair_of(uint32_t op)
{
	return op < MMRT_ROBUST_EDIT_OPS ?
		__atomic_load_n(&rb_repair[op], __ATOMIC_ACQUIRE) : NULL;
}

static inline uint32_t
rb_tag(unsigned int slot, unsigned int tidx)
{
	return (slot << 5) | (tidx + 1);
}

#ifdef MMRT_TEST_HOOKS
static unsigned int rb_kill_cls;
static unsigned int rb_kill_at;
static bool rb_kill_write; /* write-held rwlocks only */
static uint32_t rb_kill_left; /* 0: disarmed */

int
mmrt_test_lock_kill(unsigned int cls, unsigned int at, uint32_t nth)
{
	__atomic_store_n(&rb_kill_left, 0, __ATOMIC_RELAXED);
	rb_kill_write = (at & MMRT_TEST_LOCK_WRITE_ONLY) != 0;
	at &= ~MMRT_TEST_LOCK_WRITE_ONLY;
	if (at >= MMRT_TEST_LOCK_AT_N)
		return -EINVAL;
	rb_kill_cls = cls;
	rb_kill_at = at;
	__atomic_store_n(&rb_kill_left, nth, __ATOMIC_RELEASE);
	return 0;
}

uint64_t
mmrt_test_locks_reaped(void)
{
	return __atomic_load_n(&rb_reaped, __ATOMIC_RELAXED);
}

static uint32_t rb_edit_kill_op;
static uint32_t rb_edit_kill_left; /* 0: disarmed */

void
mmrt_test_edit_kill(uint32_t op, uint32_t nth)
{
	__atomic_store_n(&rb_edit_kill_left, 0, __ATOMIC_RELAXED);
	rb_edit_kill_op = op;
	__atomic_store_n(&rb_edit_kill_left, nth, __ATOMIC_RELEASE);
}

void
mmrt_test_edit_step(uint32_t op)
{
	uint32_t left = __atomic_load_n(&rb_edit_kill_left, __ATOMIC_ACQUIRE);

	if (likely(left == 0) || (rb_edit_kill_op != 0 &&
			op != rb_edit_kill_op))
		return;
	if (__atomic_sub_fetch(&rb_edit_kill_left, 1, __ATOMIC_RELAXED) == 0)
		raise(SIGKILL);
}

static struct mmrt_robust_edit *rb_edit_forced;

void
mmrt_test_edit_force(struct mmrt_robust_edit *j)
{
	rb_edit_forced = j;
}

struct mmrt_robust_edit *
mmrt_test_edit_forced(void)
{
	return rb_edit_forced;
}

int
mmrt_test_edit_repair(struct mmrt_robust_edit *j)
{
	mmrt_robust_repair_t fn;

	if (j->op == 0)
		return -ENOENT;
	fn = rb_repair_of(j->op);
	if (fn == NULL)
		return -ENOTSUP;
	fn(j);
	j->op = 0;
	return 0;
}

/*
 * The armed kill: the nth pass at moment @at of a lock of class @cls
 * (of @kind: RB_KIND_*).
 */
static void
rb_kill_point_(unsigned int cls, unsigned int at, uint32_t kind)
{
	uint32_t left = __atomic_load_n(&rb_kill_left, __ATOMIC_ACQUIRE);

	if (likely(left == 0) || at != rb_kill_at ||
			(rb_kill_cls != 0 && cls != rb_kill_cls) ||
			(rb_kill_write && kind != RB_KIND_WRITE))
		return;
	if (__atomic_sub_fetch(&rb_kill_left, 1, __ATOMIC_RELAXED) == 0)
		raise(SIGKILL);
}
#define rb_kill_point(cls, at, kind) rb_kill_point_(cls, at, kind)
#else
/* the moments are named in test builds only */
#define rb_kill_point(cls, at, kind) do { (void)(cls); } while (0)
#endif

/* The order of the thread's own stores, as a reaper will see them. */
#define rb_order() __atomic_signal_fence(__ATOMIC_SEQ_CST)

static void
rb_thread_exit(void *v)
{
	RTE_SET_USED(v);
	if (core_sh != NULL && rb_me >= 0 && rb_tgen == rb_gen && rb_tidx >= 0)
		__atomic_store_n(&core_sh->robust[rb_me].thr[rb_tidx].tid, 0,
			__ATOMIC_RELEASE);
	rb_tidx = -1;
}

/* Has thread @tid of this process exited? */
static bool
rb_task_gone(int32_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
	return access(path, F_OK) != 0 && errno == ENOENT;
}

static void
rb_warn_once(const char *what)
{
	if (__atomic_exchange_n(&rb_warned, true, __ATOMIC_RELAXED))
		return;
	MMRT_LOG(WARNING, core, "robust locks: %s: further locks of this"
		" thread are taken unrecorded (a death while holding one"
		" leaves it held)", what);
}

/* The calling thread's records, claimed on first use; NULL if none left. */
static struct core_robust_thr *
rb_thr(void)
{
	struct core_robust_proc *rp;
	int32_t tid, cur;
	unsigned int i, pass;

	if (likely(rb_tidx >= 0 && rb_tgen == rb_gen))
		return &core_sh->robust[rb_me].thr[rb_tidx];
	if (rb_me < 0 || core_sh == NULL)
		return NULL;
	rp = &core_sh->robust[rb_me];
	tid = (int32_t)rte_sys_gettid();
	/* a free index, else one of a thread that exited without its key's
	 * destructor (holding nothing: its entries are all free) */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < CORE_ROBUST_THREADS; i++) {
			cur = __atomic_load_n(&rp->thr[i].tid,
				__ATOMIC_RELAXED);
			if (cur != 0 && (pass == 0 || !rb_task_gone(cur)))
				continue;
			if (!__atomic_compare_exchange_n(&rp->thr[i].tid,
					&cur, tid, false, __ATOMIC_ACQUIRE,
					__ATOMIC_RELAXED))
				continue;
			rb_tidx = (int)i;
			rb_tgen = rb_gen;
			if (rb_key_made)
				pthread_setspecific(rb_key, &rb_tidx);
			return &rp->thr[i];
		}
	rb_warn_once("more threads than records");
	return NULL;
}

struct mmrt_robust_edit *
mmrt_robust_edit_journal(void)
{
	struct core_robust_thr *t = rb_thr();

	if (t == NULL)
		return NULL;
	t->edit.tag = rb_tag((unsigned int)rb_me, (unsigned int)rb_tidx);
	return &t->edit;
}

int
mmrt_robust_edit_handler(uint32_t op, mmrt_robust_repair_t fn)
{
	if (op == 0 || op >= MMRT_ROBUST_EDIT_OPS || fn == NULL)
		return -EINVAL;
	__atomic_store_n(&rb_repair[op], fn, __ATOMIC_RELEASE);
	return 0;
}

/*
 * Finish the edit dead thread @t left in its journal (its locks still
 * held: nothing else changes the structure), then clear the journal.
 */
static void
rb_repair_edit(struct core_robust_thr *t, int32_t pid)
{
	struct mmrt_robust_edit *j = &t->edit;
	uint32_t op = __atomic_load_n(&j->op, __ATOMIC_ACQUIRE);
	mmrt_robust_repair_t fn;

	if (op == 0)
		return;
	fn = rb_repair_of(op);
	if (fn == NULL) {
		MMRT_LOG(ERR, core, "reap: process %d died in an edit of kind"
			" %u at step %u of %#" PRIxPTR ", which this process"
			" cannot finish: the structure stays torn", (int)pid,
			op, j->step, j->obj);
	} else {
		fn(j);
		MMRT_LOG(INFO, core, "reap: finished process %d's edit of"
			" kind %u (step %u) of %#" PRIxPTR, (int)pid, op,
			j->step, j->obj);
	}
	__atomic_store_n(&j->op, 0, __ATOMIC_RELEASE);
}

/* The calling thread's records if it has some (release side). */
static struct core_robust_thr *
rb_thr_cur(void)
{
	if (rb_tidx >= 0 && rb_tgen == rb_gen && rb_me >= 0 && core_sh != NULL)
		return &core_sh->robust[rb_me].thr[rb_tidx];
	return NULL;
}

static struct core_robust_ent *
rb_add(struct core_robust_thr *t, const void *l, uint32_t what)
{
	struct core_robust_ent *e;
	unsigned int i;

	if (t == NULL)
		return NULL;
	for (i = 0; i < CORE_ROBUST_DEPTH; i++) {
		e = &t->ent[i];
		if (e->lock != 0)
			continue;
		__atomic_store_n(&e->what, what, __ATOMIC_RELAXED);
		rb_order();
		__atomic_store_n(&e->lock, (uintptr_t)l, __ATOMIC_RELAXED);
		rb_order();
		return e;
	}
	rb_warn_once("more locks held at once than records");
	return NULL;
}

static inline void
rb_set(struct core_robust_ent *e, uint32_t st)
{
	rb_order();
	__atomic_store_n(&e->what, (e->what & ~RB_ST_MASK) | st,
		__ATOMIC_RELAXED);
	rb_order();
}

static inline void
rb_del(struct core_robust_ent *e)
{
	rb_order();
	__atomic_store_n(&e->lock, 0, __ATOMIC_RELAXED);
	rb_order();
}

static inline unsigned int
rb_cls(const struct core_robust_ent *e)
{
	return e->what >> RB_CLS_SHIFT;
}

/* The thread's held entry of @l of @kind (the last such), or NULL. */
static struct core_robust_ent *
rb_find(struct core_robust_thr *t, const void *l, uint32_t kind)
{
	unsigned int i;

	if (t == NULL)
		return NULL;
	for (i = CORE_ROBUST_DEPTH; i-- > 0;)
		if (t->ent[i].lock == (uintptr_t)l &&
				(t->ent[i].what & RB_KIND_MASK) == kind)
			return &t->ent[i];
	return NULL;
}

/* ---- spin locks ---- */

void
mmrt_robust_spin_lock(rte_spinlock_t *l, unsigned int cls)
{
	struct core_robust_ent *e;
	int *w = (int *)(uintptr_t)&l->locked;
	int want, zero;

	e = rb_add(rb_thr(), l, RB_KIND_SPIN | RB_ST_PENDING |
		cls << RB_CLS_SHIFT);
	if (e == NULL) {
		rte_spinlock_lock(l);
		return;
	}
	want = (int)(rb_tag(rb_me, rb_tidx) << RB_TAG_SHIFT);
	rb_kill_point(cls, MMRT_TEST_LOCK_AT_WAITING, RB_KIND_SPIN);
	for (;;) {
		zero = 0;
		if (__atomic_compare_exchange_n(w, &zero, want, false,
				__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
		while (__atomic_load_n(w, __ATOMIC_RELAXED) != 0)
			rte_pause();
	}
	rb_kill_point(cls, MMRT_TEST_LOCK_AT_TAKEN, RB_KIND_SPIN);
	rb_set(e, RB_ST_HELD);
	rb_kill_point(cls, MMRT_TEST_LOCK_AT_HELD, RB_KIND_SPIN);
}

int
mmrt_robust_spin_trylock(rte_spinlock_t *l, unsigned int cls)
{
	struct core_robust_ent *e;
	int *w = (int *)(uintptr_t)&l->locked;
	int zero = 0;

	e = rb_add(rb_thr(), l, RB_KIND_SPIN | RB_ST_PENDING |
		cls << RB_CLS_SHIFT);
	if (e == NULL)
		return rte_spinlock_trylock(l);
	if (!__atomic_compare_exchange_n(w, &zero,
			(int)(rb_tag(rb_me, rb_tidx) << RB_TAG_SHIFT), false,
			__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		rb_del(e);
		return 0;
	}
	rb_kill_point(cls, MMRT_TEST_LOCK_AT_TAKEN, RB_KIND_SPIN);
	rb_set(e, RB_ST_HELD);
	rb_kill_point(cls, MMRT_TEST_LOCK_AT_HELD, RB_KIND_SPIN);
	return 1;
}

void
mmrt_robust_spin_unlock(rte_spinlock_t *l)
{
	struct core_robust_ent *e = rb_find(rb_thr_cur(), l, RB_KIND_SPIN);

	rte_spinlock_unlock(l);
	if (e == NULL)
		return;
	rb_kill_point(rb_cls(e), MMRT_TEST_LOCK_AT_RELEASING,
		RB_KIND_SPIN);
	rb_del(e);
}

/* ---- rwlocks ---- */

/*
 * A read transition (take or release): the lock word's count and this
 * thread's tag change in one compare-and-swap, the record follows, then
 * the tag is cleared. Only one transition per lock at once (the tag field
 * must be 0); writers see a word above RTE_RWLOCK_WRITE and wait, readers
 * of the primary only test RTE_RWLOCK_MASK and are not held up.
 */
#define RB_TRANS_TRIES 64 /* a trylock's pauses for another's transition */

static inline uint32_t
rb_word_tag(int32_t x)
{
	return (uint32_t)x >> RB_TAG_SHIFT & RB_TAG_MASK;
}

/* Clear the transition tag @tagv and the thread's transition mark. */
static inline void
rb_trans_end(struct core_robust_thr *t, rte_rwlock_t *l, int32_t tagv)
{
	__atomic_fetch_sub(&l->cnt, tagv, __ATOMIC_RELEASE);
	rb_order();
	__atomic_store_n(&t->trans, 0, __ATOMIC_RELAXED);
	rb_order();
}

/*
 * Take @l for reading as entry @e of @t: @try fails (-EBUSY) when a
 * writer holds or waits for it, or when another transition lasts.
 */
static int
rb_read_take(struct core_robust_thr *t, struct core_robust_ent *e,
	rte_rwlock_t *l, unsigned int cls, bool try)
{
	int32_t tagv = (int32_t)(rb_tag(rb_me, rb_tidx) << RB_TAG_SHIFT), x;
	unsigned int tries = 0;

	__atomic_store_n(&t->trans, (uint32_t)(e - t->ent) + 1,
		__ATOMIC_RELAXED);
	rb_order();
	x = __atomic_load_n(&l->cnt, __ATOMIC_RELAXED);
	for (;;) {
		/* a writer holds it or waits for it (writers first, as
		 * DPDK), or another transition lasts */
		if ((x & RTE_RWLOCK_MASK) || rb_word_tag(x) != 0) {
			if (try && ((x & RTE_RWLOCK_MASK) ||
					++tries > RB_TRANS_TRIES)) {
				__atomic_store_n(&t->trans, 0,
					__ATOMIC_RELAXED);
				rb_del(e);
				return -EBUSY;
			}
			rte_pause();
			x = __atomic_load_n(&l->cnt, __ATOMIC_RELAXED);
			continue;
		}
		if (__atomic_compare_exchange_n(&l->cnt, &x,
				x + RTE_RWLOCK_READ + tagv, true,
				__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
	}
	rb_kill_point(cls, MMRT_TEST_LOCK_AT_TAKEN, RB_KIND_READ);
	rb_set(e, RB_ST_HELD);
	rb_trans_end(t, l, tagv);
	rb_kill_point(cls, MMRT_TEST_LOCK_AT_HELD, RB_KIND_READ);
	return 0;
}

void
mmrt_robust_read_lock(rte_rwlock_t *l, unsigned int cls)
{
	struct core_robust_thr *t = rb_thr();
	struct core_robust_ent *e;

	e = rb_add(t, l, RB_KIND_READ | RB_ST_PENDING | cls << RB_CLS_SHIFT);
	if (e == NULL) {
		rte_rwlock_read_lock(l);
		return;
	}
	rb_kill_point(cls, MMRT_TEST_LOCK_AT_WAITING, RB_KIND_READ);
	rb_read_take(t, e, l, cls, false);
}

int
mmrt_robust_read_trylock(rte_rwlock_t *l, unsigned int cls)
{
	struct core_robust_thr *t = rb_thr();
	struct core_robust_ent *e;

	e = rb_add(t, l, RB_KIND_READ | RB_ST_PENDING | cls << RB_CLS_SHIFT);
	if (e == NULL)
		return rte_rwlock_read_trylock(l);
	return rb_read_take(t, e, l, cls, true);
}

void
mmrt_robust_read_unlock(rte_rwlock_t *l)
{
	struct core_robust_thr *t = rb_thr_cur();
	struct core_robust_ent *e = rb_find(t, l, RB_KIND_READ);
	int32_t tagv, x;

	if (e == NULL) {
		/* taken unrecorded */
		rte_rwlock_read_unlock(l);
		return;
	}
	tagv = (int32_t)(rb_tag(rb_me, rb_tidx) << RB_TAG_SHIFT);
	rb_set(e, RB_ST_RELEASING);
	__atomic_store_n(&t->trans, (uint32_t)(e - t->ent) + 1,
		__ATOMIC_RELAXED);
	rb_order();
	x = __atomic_load_n(&l->cnt, __ATOMIC_RELAXED);
	for (;;) {
		if (rb_word_tag(x) != 0) {
			rte_pause();
			x = __atomic_load_n(&l->cnt, __ATOMIC_RELAXED);
			continue;
		}
		if (__atomic_compare_exchange_n(&l->cnt, &x,
				x - RTE_RWLOCK_READ + tagv, true,
				__ATOMIC_RELEASE, __ATOMIC_RELAXED))
			break;
	}
	rb_kill_point(rb_cls(e), MMRT_TEST_LOCK_AT_RELEASING, RB_KIND_READ);
	rb_set(e, RB_ST_RELEASED);
	rb_trans_end(t, l, tagv);
	rb_del(e);
}

void
mmrt_robust_write_lock(rte_rwlock_t *l, unsigned int cls)
{
	struct core_robust_ent *e;
	int32_t x, want;

	e = rb_add(rb_thr(), l, RB_KIND_WRITE | RB_ST_PENDING |
		cls << RB_CLS_SHIFT);
	if (e == NULL) {
		rte_rwlock_write_lock(l);
		return;
	}
	want = (int32_t)(RTE_RWLOCK_WRITE |
		rb_tag(rb_me, rb_tidx) << RB_TAG_SHIFT);
	for (;;) {
		x = __atomic_load_n(&l->cnt, __ATOMIC_RELAXED);
		if (x < RTE_RWLOCK_WRITE) {
			/* no reader, no writer: take it, the wait bit off */
			if (__atomic_compare_exchange_n(&l->cnt, &x, want,
					true, __ATOMIC_ACQUIRE,
					__ATOMIC_RELAXED))
				break;
			continue;
		}
		if (!(x & RTE_RWLOCK_WAIT))
			__atomic_fetch_or(&l->cnt, RTE_RWLOCK_WAIT,
				__ATOMIC_RELAXED);
		rb_kill_point(cls, MMRT_TEST_LOCK_AT_WAITING, RB_KIND_WRITE);
		while (__atomic_load_n(&l->cnt, __ATOMIC_RELAXED) >
				RTE_RWLOCK_WAIT)
			rte_pause();
	}
	rb_kill_point(cls, MMRT_TEST_LOCK_AT_TAKEN, RB_KIND_WRITE);
	rb_set(e, RB_ST_HELD);
	rb_kill_point(cls, MMRT_TEST_LOCK_AT_HELD, RB_KIND_WRITE);
}

void
mmrt_robust_write_unlock(rte_rwlock_t *l)
{
	struct core_robust_thr *t = rb_thr_cur();
	struct core_robust_ent *e = rb_find(t, l, RB_KIND_WRITE);
	int32_t x = __atomic_load_n(&l->cnt, __ATOMIC_RELAXED);
	uint32_t tag;

	if (t != NULL) {
		tag = rb_tag(rb_me, rb_tidx);
		if (((uint32_t)x >> RB_TAG_SHIFT & RB_TAG_MASK) == tag) {
			__atomic_fetch_sub(&l->cnt, (int32_t)(RTE_RWLOCK_WRITE |
				tag << RB_TAG_SHIFT), __ATOMIC_RELEASE);
			goto released;
		}
	}
	rte_rwlock_write_unlock(l); /* taken unrecorded */
released:
	if (e == NULL)
		return;
	rb_kill_point(rb_cls(e), MMRT_TEST_LOCK_AT_RELEASING,
		RB_KIND_WRITE);
	rb_del(e);
}

/* ---- frames in flight (lib/mm/mm_fly.h owns the record's layout) ---- */

static mmrt_robust_fly_fn rb_fly_fn;

uint64_t *
mmrt_robust_fly(void)
{
	struct core_robust_thr *t;

	if (!mmrt_robust_locks)
		return NULL;
	t = rb_thr();
	return t != NULL ? t->fly : NULL;
}

void
mmrt_robust_fly_register(mmrt_robust_fly_fn fn)
{
	rb_fly_fn = fn;
}

static mmrt_robust_fly_fn rb_mem_fn;

uint64_t *
mmrt_robust_mem(void)
{
	struct core_robust_thr *t;

	if (!mmrt_robust_locks)
		return NULL;
	t = rb_thr();
	return t != NULL ? t->mem : NULL;
}

void
mmrt_robust_mem_register(mmrt_robust_fly_fn fn)
{
	rb_mem_fn = fn;
}

uint64_t *
mmrt_robust_fly_of(unsigned int slot, unsigned int ti)
{
	if (core_sh == NULL || slot >= MMRT_PROC_MAX ||
			ti >= CORE_ROBUST_THREADS)
		return NULL;
	return core_sh->robust[slot].thr[ti].fly;
}

unsigned int
mmrt_robust_fly_threads(void)
{
	return CORE_ROBUST_THREADS;
}

/* ---- the reaper ---- */

static void
rb_released(int32_t pid, uint32_t kind, uintptr_t lock, uint32_t what,
	unsigned int *n)
{
	MMRT_LOG(NOTICE, core, "dead process %d: released its %s lock %p"
		" (class %u)", (int)pid, rb_kind_name[kind], (void *)lock,
		what >> RB_CLS_SHIFT);
	(*n)++;
}

/* Release one entry of dead slot @slot's thread @ti (records @t). */
static void
rb_reap_ent(struct core_robust_thr *t, struct core_robust_ent *e,
	unsigned int slot, unsigned int ti, int32_t pid, unsigned int *n)
{
	uintptr_t lock = __atomic_load_n(&e->lock, __ATOMIC_ACQUIRE);
	uint32_t what = __atomic_load_n(&e->what, __ATOMIC_RELAXED);
	uint32_t kind = what & RB_KIND_MASK, st = what & RB_ST_MASK;
	uint32_t tag = rb_tag(slot, ti);
	int32_t *cnt, x, sub;
	bool tagged;
	int *w, cur;

	if (lock == 0)
		return;
	switch (kind) {
	case RB_KIND_SPIN:
		w = (int *)lock;
		cur = (int)(tag << RB_TAG_SHIFT);
		if (__atomic_compare_exchange_n(w, &cur, 0, false,
				__ATOMIC_RELEASE, __ATOMIC_RELAXED))
			rb_released(pid, kind, lock, what, n);
		break;
	case RB_KIND_WRITE:
		cnt = (int32_t *)lock;
		x = __atomic_load_n(cnt, __ATOMIC_RELAXED);
		if ((x & RTE_RWLOCK_WRITE) && rb_word_tag(x) == tag) {
			__atomic_fetch_sub(cnt, (int32_t)(RTE_RWLOCK_WRITE |
				tag << RB_TAG_SHIFT), __ATOMIC_RELEASE);
			rb_released(pid, kind, lock, what, n);
		} else if (st == RB_ST_PENDING && (x & RTE_RWLOCK_WAIT)) {
			__atomic_fetch_and(cnt, ~RTE_RWLOCK_WAIT,
				__ATOMIC_RELAXED);
			MMRT_LOG(NOTICE, core, "dead process %d: cleared the"
				" wait bit it left on rwlock %p (class %u)",
				(int)pid, (void *)lock, what >> RB_CLS_SHIFT);
		}
		break;
	case RB_KIND_READ:
		/*
		 * The word holds our tag only inside this entry's transition
		 * (t->trans), whose compare-and-swap then happened; the state
		 * says which transition. Record first, then the word: a reaper
		 * that dies in between leaves the lock held, never frees it
		 * twice.
		 */
		cnt = (int32_t *)lock;
		x = __atomic_load_n(cnt, __ATOMIC_RELAXED);
		tagged = __atomic_load_n(&t->trans, __ATOMIC_RELAXED) ==
			(uint32_t)(e - t->ent) + 1 &&
			!(x & RTE_RWLOCK_WRITE) && rb_word_tag(x) == tag;
		sub = tagged ? (int32_t)(tag << RB_TAG_SHIFT) : 0;
		if (st == RB_ST_HELD || (st == RB_ST_PENDING && tagged) ||
				(st == RB_ST_RELEASING && !tagged))
			sub += RTE_RWLOCK_READ; /* still counted */
		rb_del(e);
		if (tagged)
			__atomic_store_n(&t->trans, 0, __ATOMIC_RELAXED);
		if (sub != 0)
			__atomic_fetch_sub(cnt, sub, __ATOMIC_RELEASE);
		if (sub & RTE_RWLOCK_READ)
			rb_released(pid, kind, lock, what, n);
		return;
	default:
		break;
	}
	rb_del(e);
}

unsigned int
core_robust_reap(unsigned int slot, int32_t pid)
{
	struct core_robust_thr *t;
	unsigned int ti, ei, n = 0;

	if (core_sh == NULL || slot >= MMRT_PROC_MAX)
		return 0;
#ifdef MMRT_TEST_HOOKS
	if (mmrt_test_reap_skipped() & MMRT_TEST_REAP_SKIP_LOCKS)
		return 0;
#endif
	for (ti = 0; ti < CORE_ROBUST_THREADS; ti++) {
		t = &core_sh->robust[slot].thr[ti];
		if (__atomic_load_n(&t->tid, __ATOMIC_ACQUIRE) == 0)
			continue;
		/*
		 * Before its locks are released: its edit in progress is
		 * finished while they keep everyone else off the structure;
		 * then its frames in flight: whether a frame was installed
		 * under a page-table lock the thread held is read while
		 * that lock still keeps everyone else off the entry.
		 */
		rb_repair_edit(t, pid);
		/* the pool's operation first: a frame it was handing to
		 * a caller's record is then the pool's or the caller's */
		if (rb_mem_fn != NULL
#ifdef MMRT_TEST_HOOKS
				&& !(mmrt_test_reap_skipped() &
					MMRT_TEST_REAP_SKIP_POOL)
#endif
				)
			rb_mem_fn(t->mem, (int)(rb_tag(slot, ti) <<
				RB_TAG_SHIFT), pid);
		if (rb_fly_fn != NULL
#ifdef MMRT_TEST_HOOKS
				&& !(mmrt_test_reap_skipped() &
					MMRT_TEST_REAP_SKIP_FLY)
#endif
				)
			rb_fly_fn(t->fly, (int)(rb_tag(slot, ti) <<
				RB_TAG_SHIFT), pid);
		for (ei = 0; ei < CORE_ROBUST_DEPTH; ei++)
			rb_reap_ent(t, &t->ent[ei], slot, ti, pid, &n);
		__atomic_store_n(&t->trans, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&t->tid, 0, __ATOMIC_RELEASE);
	}
	__atomic_fetch_add(&rb_reaped, n, __ATOMIC_RELAXED);
	return n;
}

void
core_robust_start(int slot, bool secondary)
{
	if (core_sh == NULL || slot < 0)
		return;
	/* a slot reused after a reap (or a negative control's skipped one) */
	memset(&core_sh->robust[slot], 0, sizeof(core_sh->robust[slot]));
	if (!secondary)
		return;
	if (!rb_key_made && pthread_key_create(&rb_key, rb_thread_exit) == 0)
		rb_key_made = true;
	rb_me = slot;
	__atomic_store_n(&mmrt_robust_locks, true, __ATOMIC_RELEASE);
}

void
core_robust_stop(void)
{
	__atomic_store_n(&mmrt_robust_locks, false, __ATOMIC_RELEASE);
	if (core_sh != NULL && rb_me >= 0)
		memset(&core_sh->robust[rb_me], 0,
			sizeof(core_sh->robust[rb_me]));
	rb_me = -1;
	rb_gen++; /* every thread's index is void */
}
