/*
 * SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 *
 * Model N: the interval-notifier sequence protocol.
 *
 * Mirrors lib/mm/notifier.c:
 *   itree_inv_start(), itree_invalidate(), itree_inv_end(),
 *   mmrt_interval_notifier_insert(), mmrt_interval_notifier_remove(),
 *   mmrt_interval_read_begin(), mmrt_interval_read_try_begin(),
 *   mmrt_interval_read_retry(), mmrt_interval_set_seq(),
 *   deferred_add()/deferred_del() (as a set: the end applies it whole).
 * Each step below is tagged [N.x]; the code names the same tag.
 *
 * Abstraction: two pages; subscription s covers page s. Two invalidators
 * (mm_notify_start .. mm_notify_end) each pick a range: page 0, page 1 or
 * both. A driver mirrors pt[s] per subscription in the manner of the
 * kernel's users: read_begin, read the page table, take the driver lock,
 * read_retry, install (the invalidate() callback takes the same lock,
 * calls set_seq and drops the mirror). Subscription 0 is inserted at start
 * and removed by its reader at the end; subscription 1 is inserted, read
 * and removed by a manager thread, so inserts land in the idle, partially
 * excluded and fully excluded states. Spin's interleaving is sequentially
 * consistent: the model checks the protocol, not the C11 orderings (those
 * are argued in the comments of notifier.c).
 *
 * Properties (assertions):
 *   P1 a reader whose read_retry says "no change" read a value no
 *      overlapping invalidation changed since (install: v == pt), and
 *      no page-table change happens under a valid mirror of a live
 *      subscription (every change of a watched range is preceded by the
 *      invalidate() that drops the mirror);
 *   P2 remove returns only when no invalidate() of that subscription runs
 *      or can start, and the subscription is out of the tree and the
 *      deferred list;
 *   P3 the tree never changes while an invalidator walks it without the
 *      lock (fully excluded: inserts and removes are deferred).
 *
 * Mutants (one rule broken each; spin -DMUTANT_x):
 */
// mutant: MUTANT_SEQ_NOT_ODD      start does not make invalidate_seq odd
// mutant: MUTANT_DEFER_EARLY      the deferred list is applied at every end, not the last
// mutant: MUTANT_PARTIAL_NO_ODD   insert while partially excluded does not go fully excluded
// mutant: MUTANT_REMOVE_NOWAIT    remove does not wait for the invalidation it raced
// mutant: MUTANT_RETRY_NOW        read_retry asks "invalidating now?" instead of "changed since?"

#define NSUB 2

byte subs_seq = 2;        /* subs->invalidate_seq */
byte n_active = 0;        /* subs->active_invalidate_ranges */
bool subs_lock = 0;       /* subs->lock */
bool in_tree[NSUB];       /* sub->node.in_tree */
bool deferred[NSUB];      /* on subs->deferred */
byte sub_seq[NSUB];       /* sub->invalidate_seq */

/* the driver that mirrors the page table */
byte pt[NSUB];            /* the page table: a version per page */
bool dlock[NSUB];         /* the driver's lock */
bool mirror_valid[NSUB];
byte mirror_v[NSUB];

/* ghosts */
bool live[NSUB];          /* insert returned, remove not called */
bool removed[NSUB];       /* remove returned */
byte in_cb[NSUB];         /* invalidate() callbacks running */
byte walkers = 0;         /* invalidators walking the tree unlocked */

/*
 * A critical section under subs->lock is one atomic step: every variable
 * it writes is written only under the lock, and the lockless readers (the
 * spins on invalidate_seq, the tree walk) synchronise with its last store.
 */
#define LOCKED	atomic { subs_lock == 0 -> subs_lock = 1;
#define UNLOCKED	subs_lock = 0 }

/* Every change of the tree: P3. */
inline tree_set(s, v)
{
	assert(walkers == 0);
	in_tree[s] = v
}

/* The end applies the deferred list whole (itree_inv_end). */
inline apply_deferred()
{
	if
	:: deferred[0] -> deferred[0] = 0; tree_set(0, !in_tree[0])
	:: else
	fi;
	if
	:: deferred[1] -> deferred[1] = 0; tree_set(1, !in_tree[1])
	:: else
	fi
}

/* [N.3] itree_inv_end() */
inline inv_end(hit)
{
	LOCKED
	n_active--;
	if
	:: hit -> walkers--
	:: else
	fi;
#ifdef MUTANT_DEFER_EARLY
	if
	:: (subs_seq & 1) ->
		apply_deferred();
		if
		:: n_active == 0 -> subs_seq++
		:: else
		fi
	:: else
	fi;
#else
	if
	:: n_active == 0 && (subs_seq & 1) ->
		apply_deferred();
		subs_seq++      /* the release store that ends the period */
	:: else
	fi;
#endif
	UNLOCKED
}

/*
 * The driver's invalidate() op, called through itree_invalidate(): under
 * the driver lock (one step, as the reader's check-and-install), then the
 * return from the callback.
 */
inline callback(s, cur)
{
	atomic {
		dlock[s] == 0 ->
		assert(!removed[s]);       /* P2 */
		in_cb[s]++;
		sub_seq[s] = cur;          /* [N.2] mmrt_interval_set_seq() */
		mirror_valid[s] = 0
	};
	in_cb[s]--
}

/* One mm_notify_start() .. mm_notify_end() over page set @mask. */
proctype invalidator()
{
	byte mask, cur;
	bool hit = 0;

	if
	:: mask = 1
	:: mask = 2
	:: mask = 3
	fi;
	/* [N.1] itree_inv_start() */
	LOCKED
	n_active++;
	if
	:: (in_tree[0] && (mask & 1)) || (in_tree[1] && (mask & 2)) ->
#ifndef MUTANT_SEQ_NOT_ODD
		subs_seq = subs_seq | 1;
#endif
		hit = 1;
		walkers++
	:: else
	fi;
	cur = subs_seq;
	UNLOCKED
	/* [N.2] itree_invalidate(): the walk without the lock */
	if
	:: hit && in_tree[0] && (mask & 1) -> callback(0, cur)
	:: else
	fi;
	if
	:: hit && in_tree[1] && (mask & 2) -> callback(1, cur)
	:: else
	fi;
	/* the operation changes the page table (e.g. zap) */
	if
	:: (mask & 1) ->
		atomic { assert(!(live[0] && mirror_valid[0])); pt[0]++ }  /* P1 */
	:: else
	fi;
	if
	:: (mask & 2) ->
		atomic { assert(!(live[1] && mirror_valid[1])); pt[1]++ }  /* P1 */
	:: else
	fi;
	inv_end(hit)
}

/* [N.4] mmrt_interval_notifier_insert() */
inline insert(s)
{
	LOCKED
	if
	:: n_active != 0 && (subs_seq & 1) ->
		/* fully excluded: enter the tree at the last end */
		sub_seq[s] = subs_seq;
		deferred[s] = 1
	:: n_active != 0 && !(subs_seq & 1) ->
#ifdef MUTANT_PARTIAL_NO_ODD
		sub_seq[s] = subs_seq - 1;
#else
		/* partially excluded -> fully excluded, insert now */
		subs_seq = subs_seq | 1;
		sub_seq[s] = subs_seq;
#endif
		tree_set(s, 1)
	:: n_active == 0 ->
		/* idle: odd and unequal to the current seq */
		sub_seq[s] = subs_seq - 1;
		tree_set(s, 1)
	fi;
	live[s] = 1;
	UNLOCKED
}

/* [N.5] mmrt_interval_notifier_remove() */
inline remove(s, wseq, wait, released)
{
	/* the driver stops using its mirror first */
	atomic { dlock[s] == 0 -> live[s] = 0; mirror_valid[s] = 0 };

	LOCKED
	if
	:: (subs_seq & 1) && !in_tree[s] ->
		/* deferred insert not applied yet: cancel it */
		assert(deferred[s]);
		deferred[s] = 0
	:: (subs_seq & 1) && in_tree[s] ->
		/* a running invalidation may be calling s: defer, wait */
		deferred[s] = 1;
		wseq = subs_seq;
		wait = 1
	:: !(subs_seq & 1) ->
		tree_set(s, 0)
	fi;
	UNLOCKED
#ifndef MUTANT_REMOVE_NOWAIT
	if
	:: wait ->
		do
		:: subs_seq != wseq ->      /* the acquire spin */
			LOCKED
			released = (subs_seq != wseq);
			UNLOCKED
			if
			:: released -> break
			:: else
			fi
		od
	:: else
	fi;
#endif
	atomic {
		assert(in_cb[s] == 0 && !in_tree[s] && !deferred[s]);   /* P2 */
		removed[s] = 1
	}
}

/*
 * [N.6] A driver's read: mmrt_interval_read_try_begin() first (if @try),
 * mmrt_interval_read_begin() when it says -EBUSY; read the page table;
 * take the driver lock; mmrt_interval_read_retry(); install or start over.
 */
inline read_cycle(s, try, q, v, busy, ok)
{
	do
	:: true ->
		if
		:: try ->
			/* try_begin: -EBUSY while s is being invalidated
			 * (the trylock never fails here: critical sections
			 * are atomic steps) */
			atomic {
				subs_lock == 0 ->
				q = sub_seq[s];
				ok = (q != subs_seq)
			}
		:: else -> ok = 0
		fi;
		if
		:: !ok ->
			/* read_begin: the pair is read under the lock */
			LOCKED
				q = sub_seq[s];
				busy = (q == subs_seq);
			UNLOCKED;
			if
			:: busy -> subs_seq != q   /* wait for the end of the period */
			:: else
			fi
		:: else
		fi;
		v = pt[s];
		/* under the driver lock */
		atomic {
			dlock[s] == 0 ->
#ifdef MUTANT_RETRY_NOW
			busy = (sub_seq[s] == subs_seq);
#else
			busy = (sub_seq[s] != q);  /* mmrt_interval_read_retry() */
#endif
			if
			:: busy                     /* changed: start over */
			:: else ->
				assert(v == pt[s]);              /* P1 */
				mirror_v[s] = v;
				mirror_valid[s] = 1;
				break
			fi
		}
	od
}

proctype reader0()
{
	byte q, v, wseq;
	bool busy, ok = 0, wait = 0, released = 0;

	read_cycle(0, 1, q, v, busy, ok);
	remove(0, wseq, wait, released)
}

proctype manager()
{
	byte q, v, wseq;
	bool busy, ok = 0, wait = 0, released = 0;

	insert(1);
	if
	:: read_cycle(1, 0, q, v, busy, ok)
	:: skip        /* remove at once: may cancel a deferred insert */
	fi;
	remove(1, wseq, wait, released)
}

init
{
	atomic {
		/* subscription 0 inserted while idle */
		in_tree[0] = 1;
		sub_seq[0] = subs_seq - 1;
		live[0] = 1;
		run invalidator();
		run invalidator();
		run reader0();
		run manager()
	}
}
