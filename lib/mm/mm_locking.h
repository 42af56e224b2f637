/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_LOCKING_H
#define MM_LOCKING_H

/*
 * Lock ordering in mmrt (lib/mm and lib/dev): the one sheet. Every other
 * statement of the order points here; change the code and this sheet
 * together.
 *
 * Indentation is nesting: a lock may be taken while holding the locks it
 * is indented under, never the other way round. lib/core and lib/mem take
 * no locks (rings, atomics, QSBR). Test builds check the order as the
 * code runs: enum mm_lock_class at the end of this file numbers the
 * locks, and a thread taking them out of that order aborts.
 *
 *   as_iter_lock  rw                     (as.c) read: mmrt_as_foreach()
 *                                          across its callbacks, which may
 *                                          take what follows; write: taken
 *                                          and dropped by a destroy after
 *                                          its unhook, holding nothing
 *   as_table_lock                        (as.c)       leaf: create, lookup,
 *                                                      destroy's unhook (the
 *                                                      mm_nametab.h calls)
 *   obj_lock                             (object.c)   leaf: the object table
 *                                                      (mm_nametab.h calls;
 *                                                      memzone mmrt_objects)
 *   pins_lock                            (pin.c)      leaf: the pin registry
 *                                                      (memzone mmrt_pins):
 *                                                      a pin's entry and
 *                                                      exit, the reaper's
 *                                                      search; never across
 *                                                      a call into lib/mm
 *   glc_other_lock                       (gather.c)   leaf: non-lcore stats
 *
 *   mirrors' ext lock (mutex)            (host.c,     mirror creation, dma
 *                                         mirror.c)   map/unmap, sync, slot
 *                                                      release (after the
 *                                                      callback is gone)
 *     DPDK's memory hotplug lock (mcfg    (mirror.c)   outside mmrt: held by
 *       memory lock; on a free also the                DPDK around its memory
 *       heap lock), or its read side at                event callbacks (which
 *       mirror creation and sync                       never take the ext
 *                                                      lock); read-taken by
 *                                                      creation and a sync's
 *                                                      rescan (dropped before
 *                                                      a leaf changes)
 *       map_lock of a DPDK mirror, write (mirror.c)   the callback maps/unmaps
 *                                                      and waits for acks here
 *                                                      (so does a dma map,
 *                                                      unmap or sync, under
 *                                                      the ext lock); hence
 *                                                      nothing may call
 *                                                      rte_malloc() under a
 *                                                      mirror's map lock (its
 *                                                      layout never changes)
 *
 *   map_lock of two spaces, read         (access.c)   merge: lower address
 *                                                      of struct mmrt_as first
 *   map_lock  rw                         (as.c, fault.c, access.c, uffd.c,
 *                                         notifier.c)
 *     -- may wait here, write side held, for consumer acks and for a QSBR
 *        grace period (gather.c: the flush of unmap, protect, remap, fork,
 *        teardown; a full defer queue or no batch for a freed table)
 *     subs->lock                         (notifier.c) leaf; register takes it
 *                                          under the write map lock, the range
 *                                          bracket (mm_notify_start/end) under
 *                                          either side, and under a read-held
 *                                          uffd->changing_lock (uffd_fill.c:
 *                                          a wp or move run); never under a
 *                                          PT lock
 *     obj->lock                          (object.c)   leaf; taken before the
 *                                          PT lock (object page-in, CONTINUE);
 *                                          a file-backed page-in reads the
 *                                          file before it, holding no lock
 *                                          but the map lock (read)
 *     pin->lock                          (pin.c)      leaf: a pin's interval
 *                                          notifier user lock, taken in its
 *                                          invalidate op (map lock held by
 *                                          the invalidator) and by mmrt_pin()
 *                                          and mmrt_unpin() holding nothing;
 *                                          the revocation callback runs
 *                                          after it is dropped
 *     uffd->changing_lock  rw            (uffd.c)     read: a fill, wp or move
 *                                          for its whole run, only on a uffd
 *                                          with an EVENT_* feature; write: a
 *                                          layout event's prep (those uffds
 *                                          only), briefly, no PT lock
 *       PT lock, level 2                 (pgtable.c zap_level, split_pmd;
 *                                         fault.c huge_wp_fault, insert of
 *                                         a 2 MiB leaf; uffd.c fills;
 *                                         dirty.c: the harvest clears D
 *                                         under each table's lock, read
 *                                         map lock held, and flushes after
 *                                         dropping it; its QSBR wait comes
 *                                         after the map lock is dropped;
 *                                         a fill that published its entry
 *                                         releases it with a release store,
 *                                         mm_spin_unlock_release(), not the
 *                                         xchg: uffd_fill.c says why)
 *         PT lock, level 1 below it      (pgtable.c zap_level: a locked zap
 *                                          holds both)
 *       PT lock pair, one level          (pgtable.c mm_pt_lock_pair: uffd
 *                                          move, merge) lower table pfn first
 *         -- may wait here, PT lock(s) held, for consumer acks:
 *            fault.c copy-on-write (4 KiB and 2 MiB, invariant B), uffd.c
 *            move, access.c merge's write-protect, and the gather flush
 *            of a locked zap (mmrt_advise) that finds no batch for more
 *            frames (gather.c gather_make_room). A locked zap frees no
 *            tables, so no QSBR wait happens under a PT lock.
 *         consumer->inv_lock             (dev_inval.c dev_inval_post) leaf,
 *                                          held for one post; the acks are
 *                                          waited for after it is dropped,
 *                                          once every consumer was posted
 *                                          (notifier.c, dev_inval_wait)
 *         consumer->quar_lock            (consumer.c consumer_quarantine)
 *                                          leaf: a gather's frame release
 *                                          (under a PT lock only in the
 *                                          locked zap's flush above); when
 *                                          the heap is exhausted it drops
 *                                          quar_lock and sleeps, possibly
 *                                          under that PT lock, as the ack
 *                                          waits do
 *
 *   consumer->bind_lock                  (consumer.c) never held across a
 *                                          call into lib/mm but the probe below
 *     consumers_lock                     (consumer.c) bind's id choice;
 *                                          also alone: create, destroy, and
 *                                          mmrt_consumer_foreach() across
 *                                          its callbacks, which may take
 *       consumer->quar_lock                (mmrt_consumer_stats())
 *     -- try only, under bind_lock (also tried): the fault probe
 *        (consumer.c consumer_fault -> fault.c mmrt_fault_request):
 *        map_lock read, then PT locks (pgtable.c mm_pt_walk_try, fault.c
 *        probe_*, uffd.c pt_lock_for); obj->lock and the frame allocator
 *        are taken outright (leaves, never held across a wait).
 *
 * Why the probe only tries: it runs on a poller, and pollers ack
 * invalidations. A thread that holds the write map lock (unmap, protect,
 * remap, fork) or a PT lock (copy-on-write, move, a locked zap's flush)
 * may be spinning for this very poller's ack; a poller that waited for
 * that lock would never ack, and both would wait until the ack deadline
 * fences the consumer. bind_lock is tried for the same reason on the
 * poller's side: its holder may be preempted, and a poll-mode thread does
 * not wait on a preemptible holder. A failed try becomes a page request
 * that mmrt_fault() serves on a thread that may wait.
 *
 * Where a consumer's own thread changes the page table (it is the owner
 * of the consumer), dev_inval_post() processes the post inline instead of
 * waiting for itself.
 *
 * Notifier subscribers are called with these locks held, and must take
 * none of the mm locks:
 *   invalidate_range_start/end, interval invalidate: the map lock (either
 *     side), no PT lock;
 *   invalidate_secondary_tlbs, quarantine: possibly a PT lock (see above);
 *   release: no lock (destroy calls it before its write map lock;
 *     unregister after dropping subs->lock).
 *
 * Robust locks (lib/core/core_robust.c). In a secondary every lock taken
 * through the wrappers below (and the named lists' lock) is also recorded
 * per thread in shared memory; a spin lock's word, and a write-held
 * rwlock's, holds the holder's tag. mmrt_reap_dead() releases what a dead
 * process still records before any reclaim step below runs (for every
 * dead process it claimed: a dead reaper's locks too), one NOTICE line per
 * lock. The primary records nothing (its death ends the runtime). The
 * lock word tells the reaper whether the dead thread's atomic step
 * happened (spin and write locks hold the holder's tag; a reader's take
 * and release set its tag for the transition), so no moment of death is
 * ambiguous. Limits: locks taken unrecorded (over 31 threads in one
 * process, over 16 locks held by one thread: logged once) stay held, and
 * DPDK's own locks (its heap's, under rte_malloc()/rte_free()) are not
 * mmrt's to release. What a dead holder leaves half-done under each lock:
 *   map_lock, changing_lock, as_iter_lock: nothing torn that the next
 *     holder trips on (the write side's changes are to entries, each one
 *     store, and to the region array, whose edits are journalled, see
 *     below); as_table_lock, obj_lock: a table slot is one store;
 *   PT lock: an entry is one store, so a table is whole; a fill's or a
 *     fault's frame (and a walk's new table) is allocated before the PT
 *     lock and published under it: the thread's record (mm_fly.h) names
 *     it and is cleared under the lock after the store, so the lock reap
 *     (before it releases this lock) reads the entry and returns the
 *     frame if it is not there (the pool's record, lib/mem/pool.c, is
 *     reaped just before: the frame is the pool's or allocated);
 *   pin->lock, pins_lock: a pin half made or half released is on the
 *     registry, tagged with its owner's slot: the pin reap finishes it;
 *   obj_lock, obj->lock: an object stays (objects outlive their
 *     creator); a page-in's frame is not recorded (lost);
 *   bind_lock, consumers_lock, inv_lock, quar_lock: the consumer reap
 *     fences, unbinds and destroys the dead process's consumers.
 * Edits of several stores under a lock are journalled in a secondary and
 * finished by the reaper before it releases the lock (core_robust.h's
 * journalled edits): a space's region array under the write map lock
 * (region.c), the consumers' named list under consumers_lock and the pin
 * registry under pins_lock (core_rlist.h). Not closed: subs->lock's
 * subscription tree and its deferred list, and a region's fields changed
 * in place by several stores (uffd registration), are left torn by a
 * death between two of their stores; those windows are a few
 * instructions.
 *
 * Reaping a dead process (core.c mmrt_reap_dead(); no mmrt lock held,
 * never from a callback) takes, one after the other, never nested across
 * steps: consumers_lock (a leaf, to list the dead process's consumers);
 * per consumer bind_lock, then mmrt_notifier_unregister() (write map
 * lock, subs->lock, a grace period), bind_lock again, quar_lock,
 * consumers_lock (registry removal); then as_iter_lock read
 * (mmrt_as_foreach) with each space's map lock read (mmrt_uffd_foreach)
 * for the pending faults; then, per pin of the dead process, pins_lock
 * (to find it), pin->lock, subs->lock (the notifier's remove, which may
 * wait for an invalidation of the range to end), pins_lock again. A
 * bind_lock or quar_lock still held after 1 s (taken unrecorded: see
 * robust locks above) is taken over as the dead owner's. dev_fence_deadline() runs under the
 * invalidator's map and PT locks and takes no lock: it reads /proc and
 * frees the dead process's QSBR slots lock-free.
 *
 * Under the write map lock nothing but lockless walkers runs beside the
 * holder, so it changes entries without PT locks (unmap, protect, remap,
 * fork, teardown). The lockless walkers (mmrt_translate() of an online
 * poller, a consumer's TLB fill) take no lock at all: QSBR keeps the
 * tables they read, and the acks above keep the frames.
 */

/*
 * The lock-order check (test builds: -Dtest_hooks=true). Each lock above
 * has a class; the classes are numbered in the order a thread may take
 * them (a linearization of the sheet: a lock's class is above the class
 * of every lock it may be taken under; the leaves taken under anything
 * come last). Every lock call of lib/mm and lib/dev goes through the
 * wrappers below (but host.c's host-table and mirror-list locks and the
 * mirrors' ext mutex, which are process-local and not on the sheet, and
 * the reaper's take-over of a dead process's lock), which tell lib/core's
 * check (core_testhooks.c) the class: a
 * thread that takes a lock outright while it holds one of a higher
 * class, or of the same class, aborts with both classes and the places
 * they were taken. The exceptions, as the sheet says:
 *   - try-locks are not checked (they cannot wait), only recorded;
 *   - the second lock of a same-class pair taken in the pair's order:
 *     two map locks (lower struct mmrt_as first, access.c merge), two PT
 *     locks of one level (mm_pt_lock_pair(): lower table pfn first), the
 *     level 1 PT lock under the level 2 one (zap_level): *_nested().
 * The check sees one thread's order only: it finds an order that could
 * deadlock against another thread without needing that thread to run.
 * Without test hooks the wrappers are the plain DPDK calls.
 */
#include <rte_rwlock.h>
#include <rte_spinlock.h>

#include "core_robust.h"
#include "core_testhooks.h"

enum mm_lock_class {
	MM_LC_NONE = 0,
	MM_LC_AS_ITER,          /* as_iter_lock */
	MM_LC_BIND,             /* consumer->bind_lock */
	MM_LC_CONSUMERS,        /* consumers_lock */
	MM_LC_MAP,              /* map_lock (a pair: lower address first) */
	MM_LC_CHANGING,         /* uffd->changing_lock */
	MM_LC_SUBS,             /* subs->lock */
	MM_LC_PIN,              /* pin->lock */
	MM_LC_OBJ,              /* obj->lock */
	MM_LC_PT,               /* PT locks (pairs, level 1 under level 2) */
	MM_LC_INV,              /* consumer->inv_lock */
	MM_LC_QUAR,             /* consumer->quar_lock */
	MM_LC_AS_TABLE,         /* as_table_lock (leaf) */
	MM_LC_OBJ_TABLE,        /* obj_lock (leaf) */
	MM_LC_GLC_OTHER,        /* glc_other_lock (leaf) */
	MM_LC_PINS,             /* pins_lock (leaf) */
};

/*
 * take or release @l with @op (core_robust.h: plain in the primary,
 * recorded in a secondary), checking or dropping class @c
 */
#define MM_LOCK_TAKE_(op, l, c, nested) do { \
	CORE_LOCK_ACQUIRE(c, #c, nested); \
	op(l, c); \
} while (0)
#define MM_LOCK_DROP_(op, l, c) do { \
	CORE_LOCK_RELEASE(c); \
	op(l); \
} while (0)
/* try @l with @op; @ok: the result that means taken */
#define MM_LOCK_TRY_(op, l, c, ok) __extension__ ({ \
	int mm_ret_ = op(l, c); \
	if (mm_ret_ == (ok)) \
		CORE_LOCK_TRIED(c, #c); \
	mm_ret_; \
})

#define mm_spin_lock(l, c) MM_LOCK_TAKE_(core_spin_lock, l, c, false)
#define mm_spin_lock_nested(l, c) \
	MM_LOCK_TAKE_(core_spin_lock, l, c, true)
/* nested or not by @nested, a run-time condition (one call either way) */
#define mm_spin_lock_nest(l, c, nested) \
	MM_LOCK_TAKE_(core_spin_lock, l, c, nested)
#define mm_spin_unlock(l, c) MM_LOCK_DROP_(core_spin_unlock, l, c)
/*
 * Unlock by a release store, without the full barrier of x86's xchg
 * (core_spin_unlock_release()): a holder's stores under the lock are still
 * seen before the lock is free, but its loads after the unlock may pass
 * the unlock store. Use it only where no later load of the holder pairs
 * with another thread's store in a store-then-load (Dekker) handshake
 * that needs the unlock's barrier; the user says why (uffd_fill.c, fills).
 */
#define mm_spin_unlock_release(l, c) \
	MM_LOCK_DROP_(core_spin_unlock_release, l, c)
/* rte_spinlock_trylock()'s result: 1 taken, 0 not */
#define mm_spin_trylock(l, c) MM_LOCK_TRY_(core_spin_trylock, l, c, 1)

#define mm_read_lock(l, c) MM_LOCK_TAKE_(core_read_lock, l, c, false)
#define mm_read_lock_nested(l, c) \
	MM_LOCK_TAKE_(core_read_lock, l, c, true)
#define mm_read_unlock(l, c) MM_LOCK_DROP_(core_read_unlock, l, c)
/* rte_rwlock_read_trylock()'s result: 0 taken, -EBUSY not */
#define mm_read_trylock(l, c) MM_LOCK_TRY_(core_read_trylock, l, c, 0)
#define mm_write_lock(l, c) \
	MM_LOCK_TAKE_(core_write_lock, l, c, false)
#define mm_write_unlock(l, c) MM_LOCK_DROP_(core_write_unlock, l, c)

#endif /* MM_LOCKING_H */
