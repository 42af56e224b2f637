/*
 * SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 *
 * Model D: delivery of device-TLB invalidations to a consumer.
 *
 * Mirrors lib/dev (consumer.c, dev_inval.c):
 *   dev_inval_post/_wait()  post to the mailbox or the ring, wait for the
 *                           ack, fence at the deadline or on a full ring
 *   inval_pending()         the poll's reads: ring first, then mailbox
 *   dev_inval_process_n()    process in seq order, ack the last
 *   mmrt_consumer_poll_n()  first poll after a fence: flush all, close
 *                           the quarantine
 *   dev_fence(), consumer_quarantine(), quarantine_put_all(),
 *   mmrt_consumer_unbind()  (the owner dies: unlink, wait for callbacks,
 *                           drop the quarantine)
 *   mmrt_consumer_translate_slow() (walk and fill while bound)
 * and, of lib/mm, the caller's order: clear the PTE, flush through the
 * notifier (mm_notify_secondary_tlbs), offer the frames to the quarantine
 * (mm_notify_quarantine), put them (gather_free_frames in
 * lib/mm/gather.c). Steps are tagged [D.x]; the code names the same tag.
 *
 * Abstraction: three invalidators, each unmapping its own page (one frame
 * each), one consumer whose owner thread translates, polls and may unbind
 * (die). POLL_BURST is 1 and the ring holds 1 descriptor, so the poll's
 * burst loop, a mailbox seq above the ring's next (b > r + 1) and the
 * ring-full fence are all reachable. The ack deadline may expire at any
 * moment of the wait. Critical sections (inv_lock, quar_lock) are atomic
 * steps; the owner's lockless reads of the ring and the mailbox are
 * separate steps in the code's order.
 *
 * Properties (assertions):
 *   P1 the owner processes seqs consecutively from the last ack, and acks
 *      a seq only when every seq up to it was processed; the mailbox it
 *      reads is not rewritten before it acks it;
 *   P2 when an invalidator returns and the consumer is still bound (not
 *      fenced, not unbinding), the consumer holds no translation of its
 *      range;
 *   P3 a frame is freed only when no consumer TLB entry maps it, unless
 *      the owner is dead: a fenced consumer's frames stay quarantined
 *      until its next poll (which flushes its TLB) or its unbind.
 *
 * Mutants (one rule broken each; spin -DMUTANT_x):
 */
// mutant: MUTANT_ACK_EARLY     the owner acks before it drops the entries
// mutant: MUTANT_BOX_FIRST     the poll reads the mailbox before the ring (test hook inval_box_first)
// mutant: MUTANT_NO_WAIT       the invalidator does not wait for the ack (test hook inval_no_wait)
// mutant: MUTANT_FENCE_FREES   a fenced consumer does not quarantine the frames offered

#define NINV    3
#define RCAP    1      /* ring_size */
#define BURST   1      /* POLL_BURST */
#define MAXSEQ  4      /* seqs 1..NINV */

#define BOUND   1
#define FENCED  2
#define UNBOUND 3

/* the consumer */
byte state = BOUND;         /* c->core.state */
byte post_seq;              /* under inv_lock */
byte box_posted;            /* under inv_lock */
byte box_seq;               /* the mailbox */
byte box_page;
byte acked;                 /* c->acked_seq */
byte ring_seq[RCAP];        /* c->inv_ring (SP under inv_lock, SC owner) */
byte ring_page[RCAP];
byte r_prod;                /* producer tail */
byte r_cons;                /* consumer head */
bool quar_closed;           /* under quar_lock */
bool qheld[NINV];           /* the quarantine holds a reference */
bool tlb[NINV];             /* the owner's device TLB: page -> frame */

/* the address space */
byte ref[NINV];             /* frame refcounts */
bool unlinked;              /* the notifier is unregistered */
byte in_cb;                 /* notifier callbacks in flight (readers) */

/* ghosts */
bool processed[MAXSEQ];
byte seq_page[MAXSEQ];      /* the page each seq invalidates */
bool dead;                  /* the owner called unbind: no more use */


/* [D.6] dev_fence(): BOUND -> FENCED once */
inline fence()
{
	atomic {
		if
		:: state == BOUND -> state = FENCED
		:: else
		fi
	}
}

/* Put a reference on frame f; P3 when it is the last. */
inline frame_put(f)
{
	atomic {
		ref[f]--;
		if
		:: ref[f] == 0 -> assert(dead || !tlb[f])    /* P3 */
		:: else
		fi
	}
}

/* [D.7] quarantine_put_all() (quar_lock held) */
inline quarantine_put_all()
{
	if
	:: qheld[0] -> qheld[0] = 0; frame_put(0)
	:: else
	fi;
	if
	:: qheld[1] -> qheld[1] = 0; frame_put(1)
	:: else
	fi;
	if
	:: qheld[2] -> qheld[2] = 0; frame_put(2)
	:: else
	fi
}

/* Process descriptor (s, p): drop the page, check the order (P1). */
inline process_one(s, p)
{
	atomic {
		assert(s == last + 1);                       /* P1 */
		tlb[p] = 0;
		processed[s] = 1;
		last = s
	}
}

/*
 * [D.3] One poll: dev_inval_process_n() with inval_pending() inside, then
 * the fence check of mmrt_consumer_poll_n(). Owner-local work is merged
 * into the steps around the reads that other threads' writes can
 * interleave with: the ring's tail, the mailbox, the ack.
 */
inline poll()
{
	last = acked;
	do
	:: true ->
#ifdef MUTANT_BOX_FIRST
		b = box_seq;
#endif
		/* [D.3a] peek the ring (the producer tail, then the entry) */
		atomic {
			if
			:: r_prod != r_cons ->
				n = 1;
				rs = ring_seq[r_cons % RCAP];
				rp = ring_page[r_cons % RCAP]
			:: else -> n = 0
			fi
		};
		/* [D.3b] then the mailbox; its entry goes in its place if
		 * the seqs stay consecutive (b <= r + 1) */
		atomic {
#ifndef MUTANT_BOX_FIRST
			b = box_seq;
#endif
			if
			:: n > 0 -> r = rs
			:: else -> r = last
			fi;
			if
			:: b > last && b <= r + 1 ->
				/* stable: not rewritten before b is acked */
				bp = box_page;
				box = 1
			:: else -> box = 0
			fi
		};
#ifdef MUTANT_ACK_EARLY
		/* acks the newest seq found before dropping anything */
		atomic {
			if
			:: box && (n == 0 || b > rs) -> acked = b
			:: n > 0 && !(box && b > rs) -> acked = rs
			:: else
			fi
		};
#endif
		/* drop in seq order, finish the ring's dequeue */
		atomic {
			if
			:: box && (n == 0 || b < rs) ->
				process_one(b, bp);
				if
				:: n > 0 -> process_one(rs, rp)
				:: else
				fi
			:: else ->
				if
				:: n > 0 -> process_one(rs, rp)
				:: else
				fi;
				if
				:: box -> process_one(b, bp)
				:: else
				fi
			fi;
			r_cons = r_cons + n;
			total = total + n + box;
			b = 0; r = 0; rs = 0; rp = 0; bp = 0; box = 0;
			if
			:: n == BURST -> n = 0  /* nring == POLL_BURST: again */
			:: else -> n = 0; break
			fi
		}
	od;
	/*
	 * [D.3c] the ack: every seq up to it processed (P1); then [D.8]
	 * the first poll since the fence flushes all, closes, puts.
	 */
	atomic {
		if
		:: total > 0 ->
			assert(last < 1 || processed[1]);
			assert(last < 2 || processed[2]);
			assert(last < 3 || processed[3]);
			acked = last
		:: else
		fi;
		last = 0;
		total = 0;
		if
		:: state == FENCED && !quar_closed ->
			tlb[0] = 0; tlb[1] = 0; tlb[2] = 0;
			quar_closed = 1;      /* under quar_lock */
			quarantine_put_all()
		:: else
		fi
	}
}

proctype owner()
{
	byte last, total, n, b, r, rs, rp, bp;
	bool box;

end_loop:
	do
	:: poll()
	:: /* [D.10] mmrt_consumer_unbind(): the owner dies */
		atomic { state = UNBOUND; dead = 1 };
		unlinked = 1;         /* mmrt_notifier_unregister(): unlink */
		in_cb == 0;           /* readers_wait(): callbacks done */
		atomic {              /* under quar_lock */
			quarantine_put_all();
			quar_closed = 0
		};
		atomic { tlb[0] = 0; tlb[1] = 0; tlb[2] = 0 };
		break
	od
}

/*
 * Unmap page i (the caller cleared its PTE under the PT lock before):
 * flush through the consumer, offer the frame to the quarantine, put it.
 * Each notifier traversal holds in_cb raised (reader_enter/exit).
 */
proctype invalidator(byte i)
{
	byte seq;
	bool entered, posted, rfull;

	/* [D.1] mm_notify_invalidate() -> dev_inval_post(): post */
	atomic {
		if
		:: !unlinked -> in_cb++; entered = 1
		:: else -> entered = 0
		fi;
		if
		:: entered && state == BOUND ->
			/* under inv_lock */
			seq = post_seq + 1;
			seq_page[seq] = i;
			if
			:: acked >= box_posted ->
				/* the owner is done with the mailbox */
				box_page = i;
				box_seq = seq;
				box_posted = seq;
				post_seq = seq;
				posted = 1
			:: else ->
				if
				:: r_prod - r_cons < RCAP ->
					ring_seq[r_prod % RCAP] = seq;
					ring_page[r_prod % RCAP] = i;
					r_prod++;
					post_seq = seq;
					posted = 1
				:: else ->
					/* nothing posted, no seq used */
					rfull = 1;
					fence()
				fi
			fi
		:: else
		fi
	};
#ifndef MUTANT_NO_WAIT
	/* [D.2] dev_inval_wait(): wait for the ack, or stop at a fence or the deadline */
	if
	:: posted ->
		do
		:: acked >= seq -> break
		:: state != BOUND -> break
		:: true -> fence(); break  /* the deadline passed */
		od
	:: else
	fi;
#endif
	/*
	 * [D.5] return; mm_notify_quarantine() -> consumer_quarantine()
	 * (while fenced and not closed, hold a reference); then the put
	 * (mmrt_frame_put_bulk).
	 */
	atomic {
		assert(state != BOUND || !tlb[i]);           /* P2 */
		if
		:: entered -> in_cb--
		:: else
		fi;
#ifndef MUTANT_FENCE_FREES
		if
		:: !unlinked && state == FENCED && !quar_closed ->
			ref[i]++;
			qheld[i] = 1
		:: else
		fi;
#endif
		frame_put(i)
	}
}

init
{
	atomic {
		/* [D.9] the owner translated every page before (a walk
		 * that races the clear fills before it: the same state) */
		tlb[0] = 1; tlb[1] = 1; tlb[2] = 1;
		ref[0] = 1; ref[1] = 1; ref[2] = 1;
		run owner();
		run invalidator(0);
		run invalidator(1);
		run invalidator(2)
	}
}
