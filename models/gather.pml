/*
 * SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 *
 * Model G: the gather's order of unhook, device flush, delayed rmap,
 * frees and page-table pages through QSBR; and invariant B of
 * copy-on-write.
 *
 * Mirrors:
 *   lib/mm/pgtable.c  zap_level(), zap_leaf() (clear the leaf, queue the
 *                     frame, drop an anonymous mapcount now, an object's
 *                     later), mm_gather_remove_table() after clearing
 *                     the table's parent entry
 *   lib/mm/gather.c   mm_gather_flush(): 1. mm_notify_invalidate (device
 *                     flush), 2. gather_free_frames() delayed rmap,
 *                     3. frees, 4. gather_free_tables() to the QSBR
 *                     defer queue (rte_rcu_qsbr_dq_enqueue; or
 *                     mmrt_synchronize() when it is full), reclaim ->
 *                     mm_table_free_now()
 *   lib/mm/fault.c    pte_fault() copy-on-write: clear; flush; set, all
 *                     under the PT lock (invariant B)
 *   lib/mm/mmrt_mm_core.h  mmrt_walk() (the lockless walk)
 *   lib/dev/consumer.c     a consumer fills its TLB from the walk, drops
 *                     entries and acks in its poll, then passes a
 *                     quiescent state (mmrt_consumer_poll_n)
 * Steps are tagged [G.x]; the code names the same tag.
 *
 * Abstraction: page A sits in level-1 table T; an unmap zaps A and frees
 * T; two DONTNEEDs (under the read map lock, so beside each other but not
 * beside the unmap) zap A too: whichever clears the entry owns the frame. Frame FA of A is anonymous (the gather's put is the last reference)
 * or an object page (the object keeps a reference; the mapcount drop is
 * delayed). Page B sits in a table that stays; B maps a shared frame OLD
 * and a write fault copies it to NEW. One consumer walks A and B without
 * locks and caches what it finds; its poll serves the device flushes (the
 * delivery protocol itself is model D) and is its QSBR quiescent state.
 * A CPU poller also walks A without locks (mmrt_translate) and passes
 * quiescent states; it acks no device flush, so only the grace period
 * protects the table it reads.
 *
 * Properties (a monitor checks them in every state; the walk checks P2):
 *   P1 frame FA is not freed (reusable) while the consumer's TLB holds it
 *      (the walk fills the TLB in the step that reads the entry);
 *   P2 table T is not freed while a lockless walk reads it;
 *   P3 invariant B: once NEW is reachable (the PTE points to it), the
 *      consumer cannot reach OLD;
 *   P4 delayed rmap: an object frame's mapcount does not reach zero
 *      while the consumer can still reach it;
 *   P5 when a gather finishes, the consumer holds no translation of its
 *      range, even if another gather cleared the entries and has not
 *      flushed yet (mm_tlb_flush_nested).
 *
 * Mutants (one rule broken each; spin -DMUTANT_x):
 */
// mutant: MUTANT_FREE_BEFORE_FLUSH  the gather frees its frames before the device flush
// mutant: MUTANT_PT_FREE_EARLY      the table is freed without a grace period (test hook pt_free_early)
// mutant: MUTANT_COW_FLUSH_LATE     copy-on-write publishes the new PTE before the flush (MMRT_TEST_COW_FLUSH_LATE)
// mutant: MUTANT_RMAP_EARLY         an object frame's mapcount drops at the zap, before the flush
// mutant: MUTANT_NO_NESTED_FLUSH    a gather finishing beside another one does not flush it all

#define FA  1
#define OLD 2
#define NEW 3

/* page tables */
bool pgd_a = 1;          /* the parent entry of T (points to T) */
byte pte_a = FA;         /* A's entry in T */
byte pte_b = OLD;        /* B's entry */
bool t_freed;            /* T went back to the pool */

/* frames */
bool fa_obj;             /* FA is an object page */
byte fa_ref;             /* FA's refcount */
byte fa_map;             /* FA's mapcount */
bool fa_freed;

/* the consumer */
byte tlb_a;              /* its TLB entry for A (a frame or 0) */
byte tlb_b;
bool walk_t;             /* a walk is reading T */
bool req_a;              /* device flush requests (posted, not acked) */
bool req_b;

byte map_lock;           /* readers, or 255: a writer */
byte gather_pending;     /* as->gather_pending */

/* QSBR */
byte gp;                 /* the grace-period token counter */
byte qs;                 /* the consumer's last quiescent token */
byte qs_cpu;             /* the CPU poller's */

active proctype monitor()
{
	atomic {
		assert(!(fa_freed && tlb_a == FA));                 /* P1 */
		assert(!(pte_b == NEW && tlb_b == OLD));            /* P3 */
		assert(!(fa_obj && fa_map == 0 && tlb_a == FA))     /* P4 */
	}
}

/* the put of FA: the gather's reference */
inline free_fa()
{
	atomic {
		fa_ref--;
		if
		:: fa_ref == 0 -> fa_freed = 1
		:: else
		fi
	}
}

/*
 * One gather over page A (mm_gather_init .. mm_gather_finish): an unmap
 * (the write map lock; it also frees T) or a DONTNEED (the read map lock:
 * two of them run side by side).
 */
proctype zapper(bool unmap)
{
	byte token;
	bool got, delay_rmap, tracked, tables, nested;

	if
	:: unmap -> atomic { map_lock == 0 -> map_lock = 255 }
	:: else -> atomic { map_lock != 255 -> map_lock++ }
	fi;
	gather_pending++;                /* mm_gather_init() */
	/* [G.1] zap_level()/zap_leaf() under the PT lock: clear the leaf,
	 * queue the frame; an anonymous mapcount drops now */
	atomic {
		if
		:: pgd_a && pte_a != 0 ->
			pte_a = 0;
			got = 1;
			tracked = 1;
#ifndef MUTANT_RMAP_EARLY
			if
			:: !fa_obj -> fa_map--
			:: else -> delay_rmap = 1   /* MM_GE_DELAY_RMAP */
			fi
#else
			fa_map--                    /* object too: now */
#endif
		:: else
		fi
	};
	/* [G.2] the table emptied: clear its parent entry, queue it */
	if
	:: unmap && pgd_a -> pgd_a = 0; tables = 1; tracked = 1
	:: else
	fi;
	/* [G.12] mm_gather_finish(): another gather in flight may have
	 * cleared entries of our range unflushed: flush it all */
#ifndef MUTANT_NO_NESTED_FLUSH
	if
	:: gather_pending > 1 -> nested = 1
	:: else
	fi;
#endif
	/* mm_gather_flush() */
#ifdef MUTANT_FREE_BEFORE_FLUSH
	if
	:: got -> free_fa()
	:: else
	fi;
#endif
	/* [G.3] the device flush (mm_notify_invalidate): post, wait */
	if
	:: tracked || nested -> req_a = 1; req_a == 0
	:: else
	fi;
	/* [G.4] delayed rmap (entries with MM_GE_DELAY_RMAP) */
	if
	:: delay_rmap -> fa_map--
	:: else
	fi;
#ifndef MUTANT_FREE_BEFORE_FLUSH
	/* [G.5] the frees (mmrt_frame_put_bulk) */
	if
	:: got -> free_fa()
	:: else
	fi;
#endif
	/* [G.6] gather_free_tables(): the defer queue, then reclaim */
	if
	:: tables ->
#ifdef MUTANT_PT_FREE_EARLY
		t_freed = 1
#else
		atomic { gp++; token = gp };     /* rte_rcu_qsbr_dq_enqueue */
		qs >= token && qs_cpu >= token;  /* every reader quiescent */
		t_freed = 1                      /* mm_table_free_now() */
#endif
	:: else
	fi;
	atomic {
		gather_pending--;
		assert(tlb_a == 0);                                 /* P5 */
		if
		:: unmap -> map_lock = 0
		:: else -> map_lock--
		fi;
		got = 0; delay_rmap = 0; tracked = 0; tables = 0; nested = 0;
		token = 0
	}
}

/* pte_fault() write on B, shared: copy, then clear; flush; set */
proctype cow()
{
	/* [G.7] under the PT lock: copy done, clear the old entry */
	pte_b = 0;
#ifdef MUTANT_COW_FLUSH_LATE
	pte_b = NEW;
	req_b = 1;
	req_b == 0
#else
	/* [G.8] mm_notify_invalidate() returns: no consumer holds OLD */
	req_b = 1;
	req_b == 0;
	/* [G.9] publish the new frame (release store) */
	pte_b = NEW
#endif
	/* the old frame's reference goes after the unlock (shared: lives) */
}

proctype consumer()
{
	byte t;

end_loop:
	do
	:: tlb_a == 0 ->
		/* [G.10] mmrt_walk() of A: parent entry, then T's entry */
		atomic { t = pgd_a; walk_t = t };
		atomic {
			if
			:: t ->
				assert(!t_freed);                   /* P2 */
				tlb_a = pte_a;                      /* fill (or miss) */
				walk_t = 0;
				t = 0
			:: else
			fi
		}
	:: atomic { tlb_b == 0 -> tlb_b = pte_b }       /* walk of B */
	:: true -> atomic {
		/* [G.11] poll: drop and ack what was posted, then
		 * mmrt_quiescent() */
		if
		:: req_a -> tlb_a = 0; req_a = 0
		:: else
		fi;
		if
		:: req_b -> tlb_b = 0; req_b = 0
		:: else
		fi;
		qs = gp
	   }
	od
}

/*
 * A registered poller on a CPU: mmrt_translate() walks without locks
 * (its result is not protected against an unmap: only the table is),
 * then mmrt_quiescent().
 */
proctype poller()
{
	bool t;

end_loop:
	do
	:: atomic { t = pgd_a };
		atomic {
			if
			:: t -> assert(!t_freed); t = 0         /* P2 */
			:: else
			fi
		}
	:: qs_cpu = gp
	od
}

init
{
	atomic {
		if
		:: fa_obj = 0; fa_ref = 1; fa_map = 1
		:: fa_obj = 1; fa_ref = 2; fa_map = 1
		fi;
		run consumer();
		run poller();
		run zapper(1);
		run zapper(0);
		run zapper(0);
		run cow()
	}
}
