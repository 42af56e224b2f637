/*
 * SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 *
 * Model U: userfault fills, write-protect and move against layout
 * changes, and the wake sequence.
 *
 * Mirrors lib/mm/uffd.c (context side) and lib/mm/uffd_fill.c (fills):
 *   fill_common() (copy, zeropage, continue, poison), mmrt_uffd_move(),
 *   mmrt_uffd_writeprotect(): the read map lock, the read side of
 *   changing_lock, the `changing` check (-EAGAIN), the pages, then
 *   fill_result() -> mm_uffd_wake();
 *   mm_uffd_event_prep() (write side of changing_lock, changing++),
 *   mm_uffd_event_done()/uffd_queue_event(), mmrt_uffd_read() (an event
 *   read: changing--);
 *   mm_uffd_fault() (load wake_seq BEFORE the page table, post, dedup by
 *   the pending slot), mm_uffd_wait() (until wake_seq moves), mm_uffd_wake()
 *   (clear pending slots, wake_seq++ after the entries are published);
 * and of lib/mm/as.c and lib/mm/fault.c the callers: mmrt_fault()'s
 * retry loop, mmrt_unmap()/mmrt_remap()/mmrt_fork()/mmrt_advise()
 * (DONTNEED = REMOVE, under the read map lock) with
 * mm_uffd_wake_as() after a zap. Steps are tagged [U.x].
 *
 * Abstraction: one uffd over two pages. Page 0 is missing or
 * write-protected; page 1 is present (a move's source). Two threads fault
 * writing page 0 and wait; the monitor thread reads fault messages and
 * events and resolves: a missing page by copy (optionally with MODE_WP)
 * or move, a write-protected one by clearing the protection. One layout
 * change (REMOVE, UNMAP or FORK, chosen by Spin) runs beside. Lock
 * sections are atomic steps; a fill's pages are separate steps. The
 * waiters have no 1 ms re-check here: a wake they miss leaves them
 * blocked forever, which Spin reports as an invalid end state.
 *
 * Properties:
 *   P1 a fill, move or write-protect is wholly before the layout change
 *      (before its changing++) or wholly after the monitor read its event:
 *      every page step sees the same phase, never "changing";
 *   P2 no waiter misses its wake: every waiter returns (no invalid end
 *      state), whether the page was filled, unprotected or unmapped.
 *
 * Configurations: the default monitor follows the documented contract
 * (copy may map with MODE_WP; on -EEXIST it still wakes the range). With
 * STRICT_MONITOR it never wakes on -EEXIST and never maps with MODE_WP:
 * then no wake comes from the monitor's goodwill, and the order "load
 * wake_seq, then look at the page table" is what keeps every waiter
 * live. (Without the -EEXIST wake but with MODE_WP fills, a waiter can
 * miss its wake: a MISSING message answered -EEXIST after the page was
 * filled write-protected leaves the pending slot set, and the WP fault
 * is deduplicated against it until the uffd's timeout. The contract's
 * "-EEXIST: still wake it" is needed.)
 */
// model: base
// model: strict +STRICT_MONITOR
/*
 * Mutants (one rule broken each; spin -DMUTANT_x, with the defines
 * after it):
 */
// mutant: MUTANT_SKIP_CHANGING     fills do not check `changing`
// mutant: MUTANT_NO_CHANGING_LOCK  event_prep raises `changing` without waiting for fills in flight
// mutant: MUTANT_WAKE_LATE +STRICT_MONITOR  the fault loads wake_seq after the page-table check
// mutant: MUTANT_UNMAP_NO_WAKE     unmap does not wake the waiters of the range

#define EAGAIN_ 1

/* page states */
#define MISSING 0
#define WP      1
#define PRESENT 2

/* fault messages */
#define F_MISSING 1
#define F_WP      2

byte page0;                /* MISSING or WP initially */
byte page1 = PRESENT;
bool region = 1;           /* the region of the pages exists */

byte map_lock;             /* readers, or 255: a writer */
byte ch_lock;              /* changing_lock: readers, or 255 */
byte changing;             /* layout changes not read yet */
byte wake_seq;
bool pending;              /* page 0's pending-fault slot */
/* the fault queue (uffd.c fq_put()/fq_take()): FIFO, bounded; a post is
 * one step here (its claim, message and seq store are the poster's own
 * until the seq store publishes them) */
chan faults = [4] of { byte };
byte events;               /* the event ring */

/* ghost: the layout change: 0 before, 1 from changing++ until its event
 * is read, 2 after */
byte phase;

#define RLOCK(l)	atomic { l != 255 -> l++ }
#define RUNLOCK(l)	l--
#define WLOCK(l)	atomic { l == 0 -> l = 255 }
#define WUNLOCK(l)	l = 0

/* [U.5] mm_uffd_wake(): pending slots of the range cleared, wake_seq++ */
inline wake()
{
	atomic { pending = 0; wake_seq++ }
}

/* A page step of a fill: P1. */
inline step_check()
{
	assert(phase != 1);                                  /* P1 */
	if
	:: ph == 255 -> ph = phase
	:: else -> assert(ph == phase)                       /* P1 */
	fi
}

/*
 * [U.1] One resolving operation: fill_common() / mmrt_uffd_move() /
 * mmrt_uffd_writeprotect(). res: 0 done (wakes), EAGAIN_, 2 -EEXIST,
 * 3 the move's source is gone (the monitor copies instead), 4 -ENOENT
 * (no region: the unmap woke). mv: move rather than copy.
 */
inline resolve(kind, mv, res)
{
	/* the read map lock, the read side of changing_lock, the check:
	 * one step */
	atomic {
		ph = 255;
		map_lock != 255 -> map_lock++;
#ifndef MUTANT_NO_CHANGING_LOCK
		ch_lock != 255 -> ch_lock++;
#endif
#ifndef MUTANT_SKIP_CHANGING
		if
		:: changing != 0 -> res = EAGAIN_
		:: else -> res = 0
		fi
#else
		res = 0
#endif
	};
	if
	:: res == 0 && kind == F_MISSING ->
		if
		:: !mv -> /* copy (MODE_WP or not) into pages 0..1 */
			atomic {
				step_check();
				if
				:: region && page0 == MISSING ->
#ifndef STRICT_MONITOR
					if
					:: page0 = PRESENT
					:: page0 = WP     /* MMRT_UFFD_MODE_WP */
					fi
#else
					page0 = PRESENT
#endif
				:: region && page0 != MISSING -> res = 2 /* -EEXIST */
				:: !region -> res = 4 /* -ENOENT */
				fi
			};
			if
			:: res == 0 ->
				atomic {
					step_check();
					if
					:: region && page1 == MISSING ->
						page1 = PRESENT
					:: else           /* stops: partial */
					fi
				}
			:: else
			fi
		:: mv -> /* move page 1 to page 0 */
			atomic {
				step_check();
				if
				:: region && page0 == MISSING && page1 == PRESENT ->
					page1 = MISSING
				:: region && page0 == MISSING && page1 != PRESENT ->
					res = 3       /* no source: copy instead */
				:: region && page0 != MISSING -> res = 2 /* -EEXIST */
				:: !region -> res = 4 /* -ENOENT */
				fi
			};
			if
			:: res == 0 -> atomic { step_check(); page0 = PRESENT }
			:: else
			fi
		fi
	:: res == 0 && kind == F_WP ->
		/* writeprotect(clear) over pages 0..1 */
		atomic {
			step_check();
			if
			:: region ->
				if
				:: page0 == WP -> page0 = PRESENT
				:: else
				fi
			:: else -> res = 4    /* -ENOENT */
			fi
		};
		if
		:: res == 0 -> atomic { step_check() }
		:: else
		fi
	:: else
	fi;
	atomic {
#ifndef MUTANT_NO_CHANGING_LOCK
		RUNLOCK(ch_lock);
#endif
		RUNLOCK(map_lock)
	};
	/* fill_result(): wake what was resolved; on -EEXIST the monitor
	 * wakes the range itself (the contract of mmrt_uffd_copy) */
	if
	:: res == 0 -> wake()
#ifndef STRICT_MONITOR
	:: res == 2 -> wake()               /* mmrt_uffd_wake() */
#endif
	:: else
	fi
}

/* The monitor: reads fault messages and events, resolves. */
proctype monitor()
{
	byte kind, res, ph;
	bool mv;

end_loop:
	do
	:: faults?kind ->
		if
		:: kind == F_MISSING -> mv = 1    /* move or copy */
		:: true -> mv = 0
		fi;
		do
		:: resolve(kind, mv, res);
			if
			:: res == 3 -> mv = 0
			:: else
			fi;
			if
			:: res == 3
			:: res == EAGAIN_ ->
				/* read the event first (mmrt_uffd_read) */
				events > 0;
				atomic {
					events--;
					changing--;
					if
					:: changing == 0 -> phase = 2
					:: else
					fi
				}
			:: else -> break
			fi
		od;
		kind = 0; res = 0; ph = 0; mv = 0
	:: atomic {
		/* [U.4] mmrt_uffd_read() of an event: changing-- */
		events > 0 ->
		events--;
		changing--;
		if
		:: changing == 0 -> phase = 2
		:: else
		fi
	   }
	od
}

/* [U.2] mmrt_fault() writing page 0: classify, post, wait, retry. */
proctype waiter()
{
	byte seq, kind;

	do
	:: atomic {
		RLOCK(map_lock);
#ifndef MUTANT_WAKE_LATE
		seq = wake_seq;              /* before the page table */
#endif
		if
		:: !region || page0 == PRESENT ->
			/* -EFAULT (no region) or resolved */
			RUNLOCK(map_lock);
			break
		:: else ->
			/* mm_uffd_fault() classifies the fault now */
			if
			:: page0 == MISSING -> kind = F_MISSING
			:: else -> kind = F_WP
			fi
		fi
	   };
		atomic {
#ifdef MUTANT_WAKE_LATE
			seq = wake_seq;
#endif
			/* uffd_post(): one message per pending page */
			if
			:: !pending ->
				assert(nfull(faults));
				pending = 1;
				faults!kind
			:: else               /* deduplicated */
			fi;
			RUNLOCK(map_lock);
			kind = 0
		};
		/* [U.3] mm_uffd_wait() */
		wake_seq != seq
	od
}

/* One layout change with its EVENT feature. */
proctype changer()
{
	byte kind;

	if
	:: kind = 1      /* REMOVE: DONTNEED, under the read map lock */
	:: kind = 2      /* UNMAP (REMAP likewise): the write map lock */
	:: kind = 3      /* FORK: the write map lock, pages copied */
	fi;
	if
	:: kind == 1 -> RLOCK(map_lock)
	:: else -> WLOCK(map_lock)
	fi;
	/* [U.6] mm_uffd_event_prep(): wait for fills, changing++ */
#ifndef MUTANT_NO_CHANGING_LOCK
	WLOCK(ch_lock);
	atomic { changing++; phase = 1 };
	WUNLOCK(ch_lock);
#else
	atomic { changing++; phase = 1 };
#endif
	/* the change, page by page */
	if
	:: kind == 1 ->
		page0 = MISSING;
		page1 = MISSING
	:: kind == 2 ->
		region = 0;
		page0 = MISSING;
		page1 = MISSING
	:: kind == 3 ->
		skip;             /* copy page 0 to the child */
		skip              /* copy page 1 */
	fi;
	/* faults waiting there retry (mm_uffd_wake_as) */
	if
	:: kind == 1 -> wake()
#ifndef MUTANT_UNMAP_NO_WAKE
	:: kind == 2 -> wake()
#endif
	:: else
	fi;
	/* [U.7] mm_uffd_event_done(): queue the event */
	events++;
	if
	:: kind == 1 -> RUNLOCK(map_lock)
	:: else -> WUNLOCK(map_lock)
	fi
}

init
{
	atomic {
		if
		:: page0 = MISSING
		:: page0 = WP
		fi;
		run monitor();
		run waiter();
		run waiter();
		run changer()
	}
}
