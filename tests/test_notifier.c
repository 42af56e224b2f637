/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Notifier subscribers (mmrt_notifier.h): the kernel's interval-notifier
 * scenarios, the legacy notifier rules, and bad inputs. Ranges are driven
 * directly through the internal hooks (mm_notify.h) on a real space.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <rte_common.h>
#include <rte_pause.h>

#include "common.h"
#include "mm_notify.h"


#define MB (UINT64_C(1) << 20)
#define ISUB_MAGIC 0x15ab15ab15ab15abull

static struct mmrt_as *as;

static void
setup(void)
{
	mmrt_test_up(32);
	as = mmrt_as_create("notif");
	cr_assert_not_null(as);
}

static void
teardown(void)
{
	if (as != NULL)
		cr_assert_eq(mmrt_as_destroy(as), 0);
	as = NULL;
	mmrt_test_down();
}

TestSuite(notifier, .init = setup, .fini = teardown, .timeout = 60);

/* ---- interval subscriptions under test ---- */

struct isub {
	struct mmrt_interval_notifier n;
	uint64_t magic;
	rte_spinlock_t lock;       /* the "user lock" */
	uint64_t calls;
	uint64_t last_seq;
	int last_event;
	bool fail_nonblock;        /* return false for nonblocking ranges */
};

static uint64_t total_calls;   /* every invalidate call, any sub */
static uint64_t bad_calls;     /* calls on a removed (poisoned) sub */

static bool
isub_invalidate(struct mmrt_interval_notifier *sub,
	const struct mmrt_notifier_range *range, uint64_t cur_seq)
{
	struct isub *s = container_of(sub, struct isub, n);

	__atomic_fetch_add(&total_calls, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&s->magic, __ATOMIC_RELAXED) != ISUB_MAGIC) {
		__atomic_fetch_add(&bad_calls, 1, __ATOMIC_RELAXED);
		return true;
	}
	if (s->fail_nonblock && !mmrt_notifier_range_blockable(range))
		return false;
	rte_spinlock_lock(&s->lock);
	mmrt_interval_set_seq(sub, cur_seq);
	s->last_seq = cur_seq;
	s->last_event = range->event;
	__atomic_fetch_add(&s->calls, 1, __ATOMIC_RELAXED);
	rte_spinlock_unlock(&s->lock);
	return true;
}

static const struct mmrt_interval_notifier_ops isub_ops = {
	.invalidate = isub_invalidate,
};

static void
isub_insert(struct isub *s, uint64_t start, uint64_t len)
{
	memset(s, 0, sizeof(*s));
	s->magic = ISUB_MAGIC;
	rte_spinlock_init(&s->lock);
	cr_assert_eq(mmrt_interval_notifier_insert(&s->n, as, start, len,
		&isub_ops), 0);
}

static uint64_t
calls(struct isub *s)
{
	return __atomic_load_n(&s->calls, __ATOMIC_RELAXED);
}

static int
range_start(struct mmrt_notifier_range *r, uint64_t start, uint64_t end,
	bool blockable)
{
	mm_range_init(r, as, MMRT_NOTIFY_CLEAR, blockable, start, end, NULL);
	return mm_notify_start(r);
}

static void
invalidate(uint64_t start, uint64_t end)
{
	struct mmrt_notifier_range r;

	cr_assert_eq(range_start(&r, start, end, true), 0);
	mm_notify_end(&r);
}

/* ---- interval: sequence basics ---- */

Test(notifier, interval_seq_basic)
{
	struct isub a;
	uint64_t seq, seq2;

	isub_insert(&a, 16 * MB, 1 * MB);
	seq = mmrt_interval_read_begin(&a.n);
	cr_assert(!mmrt_interval_read_retry(&a.n, seq));
	cr_assert(!mmrt_interval_check_retry(&a.n, seq));

	/* disjoint: not called, no retry */
	invalidate(0, 16 * MB);
	invalidate(17 * MB, 18 * MB);
	cr_assert_eq(calls(&a), 0);
	cr_assert(!mmrt_interval_read_retry(&a.n, seq));

	/* overlapping by one byte at either end */
	invalidate(17 * MB - 1, 17 * MB);
	cr_assert_eq(calls(&a), 1);
	cr_assert(a.last_seq & 1, "cur_seq must be odd");
	cr_assert(mmrt_interval_read_retry(&a.n, seq));
	cr_assert(mmrt_interval_check_retry(&a.n, seq));

	seq2 = mmrt_interval_read_begin(&a.n);
	cr_assert_eq(seq2, a.last_seq);
	cr_assert(!mmrt_interval_read_retry(&a.n, seq2));
	invalidate(15 * MB, 16 * MB + 1);
	cr_assert_eq(calls(&a), 2);
	cr_assert(mmrt_interval_read_retry(&a.n, seq2));
	cr_assert_eq(mm_notify_debug_active(as), 0);
	cr_assert_eq(mm_notify_debug_seq(as) & 1, 0);
	mmrt_interval_notifier_remove(&a.n);
}

/* ---- interval: insert while fully excluded -> deferred ---- */

Test(notifier, interval_insert_fully_excluded)
{
	struct mmrt_notifier_range r, r2;
	struct isub a, b;
	uint64_t seq;

	isub_insert(&a, 0, 4 * MB);
	cr_assert_eq(range_start(&r, 0, 8 * MB, true), 0);
	cr_assert_eq(calls(&a), 1);
	cr_assert_eq(mm_notify_debug_seq(as) & 1, 1);

	/* fully excluded: b's insert is deferred to the last end */
	isub_insert(&b, 1 * MB, 1 * MB);
	cr_assert_eq(mmrt_interval_read_try_begin(&b.n, &seq), -EBUSY);
	cr_assert_eq(range_start(&r2, 1 * MB, 2 * MB, true), 0);
	cr_assert_eq(calls(&b), 0, "deferred insert must not be called");
	cr_assert_eq(calls(&a), 2);
	mm_notify_end(&r2);
	cr_assert_eq(mmrt_interval_read_try_begin(&b.n, &seq), -EBUSY);
	mm_notify_end(&r);

	/* now it is in the tree */
	cr_assert_eq(mmrt_interval_read_try_begin(&b.n, &seq), 0);
	cr_assert(!mmrt_interval_read_retry(&b.n, seq));
	invalidate(1 * MB, 1 * MB + 4096);
	cr_assert_eq(calls(&b), 1);
	cr_assert(mmrt_interval_read_retry(&b.n, seq));
	mmrt_interval_notifier_remove(&b.n);
	mmrt_interval_notifier_remove(&a.n);
}

/* ---- interval: insert while partially excluded -> seq odd, now ---- */

Test(notifier, interval_insert_partially_excluded)
{
	struct mmrt_notifier_range r, r2;
	struct isub b;
	uint64_t seq;

	/* a running range that covers nothing: active, seq even */
	cr_assert_eq(range_start(&r, 0, 8 * MB, true), 0);
	cr_assert_eq(mm_notify_debug_active(as), 1);
	cr_assert_eq(mm_notify_debug_seq(as) & 1, 0);

	isub_insert(&b, 1 * MB, 1 * MB);
	cr_assert_eq(mm_notify_debug_seq(as) & 1, 1,
		"partially excluded insert must make seq odd");
	/* the running range may cover b: readers must wait for it */
	cr_assert_eq(mmrt_interval_read_try_begin(&b.n, &seq), -EBUSY);
	/* inserted immediately: a new range calls it */
	cr_assert_eq(range_start(&r2, 1 * MB, 2 * MB, true), 0);
	cr_assert_eq(calls(&b), 1);
	mm_notify_end(&r2);
	cr_assert_eq(mmrt_interval_read_try_begin(&b.n, &seq), -EBUSY);
	mm_notify_end(&r);
	cr_assert_eq(mm_notify_debug_seq(as) & 1, 0);
	cr_assert_eq(mmrt_interval_read_try_begin(&b.n, &seq), 0);
	cr_assert(!mmrt_interval_read_retry(&b.n, seq));
	mmrt_interval_notifier_remove(&b.n);
}

/* ---- interval: read_try_begin / read_begin around an invalidation ---- */

struct begin_arg {
	struct isub *s;
	uint64_t seq;
	bool done;
};

static void *
begin_thread(void *p)
{
	struct begin_arg *a = p;

	a->seq = mmrt_interval_read_begin(&a->s->n);
	__atomic_store_n(&a->done, true, __ATOMIC_RELEASE);
	return NULL;
}

Test(notifier, interval_read_begin_waits)
{
	struct mmrt_notifier_range r;
	struct begin_arg ba = { 0 };
	struct isub a;
	pthread_t t;
	uint64_t seq;

	isub_insert(&a, 0, 1 * MB);
	cr_assert_eq(mmrt_interval_read_try_begin(&a.n, &seq), 0);
	cr_assert_eq(range_start(&r, 0, 4096, true), 0);
	cr_assert_eq(mmrt_interval_read_try_begin(&a.n, &seq), -EBUSY);
	ba.s = &a;
	cr_assert_eq(pthread_create(&t, NULL, begin_thread, &ba), 0);
	usleep(50 * 1000);
	cr_assert(!__atomic_load_n(&ba.done, __ATOMIC_ACQUIRE),
		"read_begin returned during a covering invalidation");
	mm_notify_end(&r);
	pthread_join(t, NULL);
	cr_assert(ba.done);
	cr_assert_eq(ba.seq, a.last_seq);
	cr_assert(!mmrt_interval_read_retry(&a.n, ba.seq));
	cr_assert_eq(mmrt_interval_read_try_begin(&a.n, &seq), 0);
	cr_assert_eq(seq, ba.seq);
	mmrt_interval_notifier_remove(&a.n);
}

/* ---- interval: remove during an invalidation ---- */

struct remove_arg {
	struct isub *s;
	bool done;
};

static void *
remove_thread(void *p)
{
	struct remove_arg *a = p;

	mmrt_interval_notifier_remove(&a->s->n);
	__atomic_store_n(&a->done, true, __ATOMIC_RELEASE);
	return NULL;
}

Test(notifier, interval_remove_waits_for_end)
{
	struct mmrt_notifier_range r;
	struct remove_arg ra = { 0 };
	struct isub a, other;
	pthread_t t;
	uint64_t before;

	isub_insert(&a, 0, 1 * MB);
	isub_insert(&other, 0, 1 * MB);
	cr_assert_eq(range_start(&r, 0, 4096, true), 0);
	cr_assert_eq(calls(&a), 1);
	ra.s = &a;
	cr_assert_eq(pthread_create(&t, NULL, remove_thread, &ra), 0);
	usleep(100 * 1000);
	cr_assert(!__atomic_load_n(&ra.done, __ATOMIC_ACQUIRE),
		"remove returned before the invalidation ended");
	mm_notify_end(&r);
	pthread_join(t, NULL);
	cr_assert(ra.done);

	/* poison it: no callback may touch it from now on */
	memset(&a, 0xff, sizeof(a));
	before = __atomic_load_n(&total_calls, __ATOMIC_RELAXED);
	invalidate(0, 1 * MB);
	invalidate(0, UINT64_C(1) << 40);
	cr_assert_eq(__atomic_load_n(&total_calls, __ATOMIC_RELAXED),
		before + 2, "only the other subscription is called");
	cr_assert_eq(bad_calls, 0);
	cr_assert_eq(calls(&other), 3);
	mmrt_interval_notifier_remove(&other.n);
}

/* Removes racing with a stream of invalidations from another thread. */
static bool stop;

static void *
invalidator_thread(void *p)
{
	RTE_SET_USED(p);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
		invalidate(0, 2 * MB);
	return NULL;
}

Test(notifier, interval_remove_race_poison)
{
	static struct isub subs[8];
	pthread_t t[2];
	unsigned int i, k, rounds;

	__atomic_store_n(&stop, false, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, invalidator_thread,
			NULL), 0);
	/* at least 3000 rounds and 20000 callbacks, bounded by the timeout */
	for (i = 0; i < 3000 || __atomic_load_n(&total_calls,
			__ATOMIC_RELAXED) < 20000; i++) {
		for (k = 0; k < RTE_DIM(subs); k++)
			isub_insert(&subs[k], k * 256 * 1024, 256 * 1024);
		for (k = 0; k < RTE_DIM(subs); k++) {
			mmrt_interval_notifier_remove(&subs[k].n);
			memset(&subs[k], 0xff, sizeof(subs[k]));
		}
	}
	rounds = i;
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(bad_calls, 0, "%lu callbacks on removed subscriptions",
		(unsigned long)bad_calls);
	cr_assert_geq(total_calls, 20000);
	cr_assert_eq(mm_notify_debug_active(as), 0);
	printf("remove race: %u rounds, %lu callbacks\n", rounds,
		(unsigned long)total_calls);
}

/* ---- interval: cancel a deferred insert ---- */

Test(notifier, interval_cancel_deferred_insert, .timeout = 20)
{
	struct mmrt_notifier_range r;
	struct isub a, b;

	isub_insert(&a, 0, 4 * MB);
	cr_assert_eq(range_start(&r, 0, 4 * MB, true), 0);
	isub_insert(&b, 0, 4 * MB);          /* deferred */
	/* same thread, range still open: must not wait */
	mmrt_interval_notifier_remove(&b.n);
	memset(&b, 0xff, sizeof(b));
	mm_notify_end(&r);
	invalidate(0, 4 * MB);
	cr_assert_eq(bad_calls, 0);
	cr_assert_eq(calls(&a), 2);
	/* and the subscription memory is reusable */
	isub_insert(&b, 0, 4 * MB);
	invalidate(0, 4 * MB);
	cr_assert_eq(calls(&b), 1);
	mmrt_interval_notifier_remove(&b.n);
	mmrt_interval_notifier_remove(&a.n);
}

/* ---- legacy subscriptions under test ---- */

struct lsub {
	struct mmrt_notifier n;
	uint64_t starts;
	uint64_t ends;
	uint64_t releases;
	uint64_t flushes;
	uint64_t flush_start, flush_end;
	int young;
	bool fail_nonblock;
};

static int
l_start(struct mmrt_notifier *sub, const struct mmrt_notifier_range *r)
{
	struct lsub *s = container_of(sub, struct lsub, n);

	if (s->fail_nonblock && !mmrt_notifier_range_blockable(r))
		return -EAGAIN;
	__atomic_fetch_add(&s->starts, 1, __ATOMIC_RELAXED);
	return 0;
}

static void
l_end(struct mmrt_notifier *sub, const struct mmrt_notifier_range *r)
{
	struct lsub *s = container_of(sub, struct lsub, n);

	RTE_SET_USED(r);
	__atomic_fetch_add(&s->ends, 1, __ATOMIC_RELAXED);
}

static void
l_release(struct mmrt_notifier *sub, struct mmrt_as *a)
{
	struct lsub *s = container_of(sub, struct lsub, n);

	RTE_SET_USED(a);
	__atomic_fetch_add(&s->releases, 1, __ATOMIC_RELAXED);
}

static void
l_flush(struct mmrt_notifier *sub, struct mmrt_as *a, uint64_t start,
	uint64_t end)
{
	struct lsub *s = container_of(sub, struct lsub, n);

	RTE_SET_USED(a);
	s->flush_start = start;
	s->flush_end = end;
	__atomic_fetch_add(&s->flushes, 1, __ATOMIC_RELAXED);
}

static int
l_clear_young(struct mmrt_notifier *sub, struct mmrt_as *a, uint64_t start,
	uint64_t end)
{
	RTE_SET_USED(a);
	RTE_SET_USED(start);
	RTE_SET_USED(end);
	return container_of(sub, struct lsub, n)->young;
}

static int
l_test_young(struct mmrt_notifier *sub, struct mmrt_as *a, uint64_t addr)
{
	RTE_SET_USED(a);
	RTE_SET_USED(addr);
	return container_of(sub, struct lsub, n)->young;
}

static const struct mmrt_notifier_ops l_ops = {
	.release = l_release,
	.invalidate_range_start = l_start,
	.invalidate_range_end = l_end,
	.clear_young = l_clear_young,
	.test_young = l_test_young,
};

/* a start that may fail must not have an end (kernel rule) */
static const struct mmrt_notifier_ops l_fail_ops = {
	.release = l_release,
	.invalidate_range_start = l_start,
};

static const struct mmrt_notifier_ops l_tlb_ops = {
	.release = l_release,
	.invalidate_secondary_tlbs = l_flush,
	.clear_young = l_clear_young,
	.test_young = l_test_young,
};

static const struct mmrt_notifier_ops l_both_ops = {
	.invalidate_secondary_tlbs = l_flush,
	.invalidate_range_end = l_end,
};

static const struct mmrt_notifier_ops l_both_ops2 = {
	.invalidate_secondary_tlbs = l_flush,
	.invalidate_range_start = l_start,
};

/* ---- nonblocking -EAGAIN ---- */

Test(notifier, nonblock_interval_eagain)
{
	struct mmrt_notifier_range r;
	struct isub ok, bad;
	struct lsub l;
	uint64_t seq;

	memset(&l, 0, sizeof(l));
	l.n.ops = &l_ops;
	cr_assert_eq(mmrt_notifier_register(&l.n, as), 0);
	isub_insert(&ok, 0, 1 * MB);
	isub_insert(&bad, 0, 1 * MB);
	bad.fail_nonblock = true;

	cr_assert_eq(range_start(&r, 0, 4096, false), -EAGAIN);
	/* not paired with an end: the write side is already undone */
	cr_assert_eq(mm_notify_debug_active(as), 0);
	cr_assert_eq(mm_notify_debug_seq(as) & 1, 0);
	cr_assert_eq(mmrt_interval_read_try_begin(&ok.n, &seq), 0);
	cr_assert_eq(mmrt_interval_read_try_begin(&bad.n, &seq), 0);
	(void)mmrt_interval_read_begin(&ok.n);  /* must not block */
	/* the legacy part never started, so no end either */
	cr_assert_eq(l.starts, 0);
	cr_assert_eq(l.ends, 0);

	/* blockable: a false return is ignored */
	cr_assert_eq(range_start(&r, 0, 4096, true), 0);
	mm_notify_end(&r);
	cr_assert_eq(l.starts, 1);
	cr_assert_eq(l.ends, 1);
	cr_assert_eq(mm_notify_debug_active(as), 0);

	mmrt_interval_notifier_remove(&bad.n);
	mmrt_interval_notifier_remove(&ok.n);
	cr_assert_eq(mmrt_notifier_unregister(&l.n, as), 0);
}

Test(notifier, nonblock_legacy_eagain)
{
	struct mmrt_notifier_range r;
	struct lsub before, fail, after;
	struct isub a;
	uint64_t seq;

	memset(&before, 0, sizeof(before));
	memset(&fail, 0, sizeof(fail));
	memset(&after, 0, sizeof(after));
	before.n.ops = &l_ops;
	after.n.ops = &l_ops;
	fail.n.ops = &l_fail_ops;
	fail.fail_nonblock = true;
	isub_insert(&a, 0, 1 * MB);
	/* the list is walked newest first: before, fail, after */
	cr_assert_eq(mmrt_notifier_register(&after.n, as), 0);
	cr_assert_eq(mmrt_notifier_register(&fail.n, as), 0);
	cr_assert_eq(mmrt_notifier_register(&before.n, as), 0);

	cr_assert_eq(range_start(&r, 0, 4096, false), -EAGAIN);
	cr_assert_eq(before.starts, 1);
	cr_assert_eq(before.ends, 1, "a started subscriber gets its end");
	cr_assert_eq(fail.starts, 0);
	cr_assert_eq(after.starts, 0);
	cr_assert_eq(after.ends, 0);
	/* the interval part ran and was undone */
	cr_assert_eq(calls(&a), 1);
	cr_assert_eq(mm_notify_debug_active(as), 0);
	cr_assert_eq(mm_notify_debug_seq(as) & 1, 0);
	cr_assert_eq(mmrt_interval_read_try_begin(&a.n, &seq), 0);

	/* blockable: everybody starts and ends */
	cr_assert_eq(range_start(&r, 0, 4096, true), 0);
	mm_notify_end(&r);
	cr_assert_eq(before.ends, 2);
	cr_assert_eq(fail.starts, 1);
	cr_assert_eq(after.starts, 1);
	cr_assert_eq(after.ends, 1);

	mmrt_interval_notifier_remove(&a.n);
	cr_assert_eq(mmrt_notifier_unregister(&before.n, as), 0);
	cr_assert_eq(mmrt_notifier_unregister(&fail.n, as), 0);
	cr_assert_eq(mmrt_notifier_unregister(&after.n, as), 0);
}

/* ---- legacy: register rules, release, young, secondary TLBs ---- */

Test(notifier, legacy_register_rules)
{
	struct lsub a, b, c;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	a.n.ops = &l_ops;
	b.n.ops = &l_tlb_ops;
	c.n.ops = &l_both_ops;
	cr_assert_eq(mmrt_notifier_register(&c.n, as), -EINVAL);
	c.n.ops = &l_both_ops2;
	cr_assert_eq(mmrt_notifier_register(&c.n, as), -EINVAL);
	c.n.ops = NULL;
	cr_assert_eq(mmrt_notifier_register(&c.n, as), -EINVAL);
	cr_assert_eq(mmrt_notifier_register(NULL, as), -EINVAL);
	cr_assert_eq(mmrt_notifier_register(&a.n, NULL), -EINVAL);
	/* not a space: any memory, aligned as a space is (the struct
	 * has a cache-aligned member; UBSan checks the alignment) */
	{
		static uint8_t junk[2 * RTE_CACHE_LINE_SIZE]
			__rte_aligned(RTE_CACHE_LINE_SIZE) = { 0x5a };

		cr_assert_eq(mmrt_notifier_register(&a.n,
			(struct mmrt_as *)(void *)junk), -EINVAL);
	}

	cr_assert_eq(mmrt_notifier_register(&a.n, as), 0);
	cr_assert_eq(mmrt_notifier_register(&a.n, as), -EEXIST);
	cr_assert_eq(mmrt_notifier_register(&b.n, as), 0);
	cr_assert_eq(mmrt_notifier_unregister(&c.n, as), -ENOENT);
	cr_assert_eq(mmrt_notifier_unregister(NULL, as), -EINVAL);
	cr_assert_eq(mmrt_notifier_unregister(&a.n, NULL), -EINVAL);

	/* the secondary-TLB flush reaches b only */
	mm_notify_invalidate(as, 4096, 8192, false);
	cr_assert_eq(b.flushes, 1);
	cr_assert_eq(b.flush_start, 4096);
	cr_assert_eq(b.flush_end, 8192);

	/* young: OR of the results */
	cr_assert_eq(mmrt_as_clear_young(as, 0, 4096), 0);
	cr_assert_eq(mmrt_as_test_young(as, 0), 0);
	b.young = 1;
	cr_assert_eq(mmrt_as_clear_young(as, 0, 4096), 1);
	cr_assert_eq(mmrt_as_test_young(as, 123), 1);
	cr_assert_eq(mmrt_as_clear_young(NULL, 0, 4096), -EINVAL);
	cr_assert_eq(mmrt_as_clear_young(as, 4096, 4096), -EINVAL);
	cr_assert_eq(mmrt_as_clear_young(as, 1, 4096), -EINVAL);
	cr_assert_eq(mmrt_as_clear_young(as, 0, MMRT_VA_LIMIT + 4096),
		-EINVAL);
	cr_assert_eq(mmrt_as_test_young(NULL, 0), -EINVAL);
	cr_assert_eq(mmrt_as_test_young(as, MMRT_VA_LIMIT), -EINVAL);

	/* unregister calls release once; then -ENOENT; re-register works */
	cr_assert_eq(mmrt_notifier_unregister(&a.n, as), 0);
	cr_assert_eq(a.releases, 1);
	cr_assert_eq(mmrt_notifier_unregister(&a.n, as), -ENOENT);
	cr_assert_eq(a.releases, 1);
	mm_notify_invalidate(as, 0, 4096, false);
	cr_assert_eq(b.flushes, 2);
	cr_assert_eq(mmrt_notifier_register(&a.n, as), 0);
	cr_assert_eq(mmrt_notifier_unregister(&a.n, as), 0);
	cr_assert_eq(a.releases, 2);
	cr_assert_eq(mmrt_notifier_unregister(&b.n, as), 0);
	cr_assert_eq(b.releases, 1);
}

Test(notifier, release_on_destroy)
{
	struct lsub l;
	struct isub a;

	memset(&l, 0, sizeof(l));
	l.n.ops = &l_ops;
	cr_assert_eq(mmrt_notifier_register(&l.n, as), 0);
	isub_insert(&a, 0, 1 * MB);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	as = NULL;
	cr_assert_eq(l.releases, 1, "release called once on destroy");
	cr_assert_geq(calls(&a), 1, "interval subscription invalidated");
	/* detached by the destroy: remove is a no-op */
	mmrt_interval_notifier_remove(&a.n);
}

Test(notifier, release_direct_then_unregister)
{
	struct lsub l;

	memset(&l, 0, sizeof(l));
	l.n.ops = &l_ops;
	cr_assert_eq(mmrt_notifier_register(&l.n, as), 0);
	mm_notify_release(as);
	cr_assert_eq(l.releases, 1);
	/* detached by release: unregister succeeds, no second release */
	cr_assert_eq(mmrt_notifier_unregister(&l.n, as), 0);
	cr_assert_eq(l.releases, 1);
	/* a released space takes no new subscriptions */
	cr_assert_eq(mmrt_notifier_register(&l.n, as), -EINVAL);
}

/* ---- legacy: unregister waits for an in-flight callback ---- */

static bool cb_in, cb_go, cb_done;

static void
slow_flush(struct mmrt_notifier *sub, struct mmrt_as *a, uint64_t start,
	uint64_t end)
{
	uint64_t spins = 0;

	RTE_SET_USED(sub);
	RTE_SET_USED(a);
	RTE_SET_USED(start);
	RTE_SET_USED(end);
	__atomic_store_n(&cb_in, true, __ATOMIC_RELEASE);
	/* bounded: about 10 s at most */
	while (!__atomic_load_n(&cb_go, __ATOMIC_ACQUIRE) &&
			spins++ < UINT64_C(10000000))
		usleep(1);
	__atomic_store_n(&cb_done, true, __ATOMIC_RELEASE);
}

static const struct mmrt_notifier_ops slow_ops = {
	.invalidate_secondary_tlbs = slow_flush,
};

static void *
flush_thread(void *p)
{
	RTE_SET_USED(p);
	mm_notify_invalidate(as, 0, 4096, false);
	return NULL;
}

struct unreg_arg {
	struct mmrt_notifier *n;
	int ret;
	bool done;
	bool cb_done_at_return;
};

static void *
unreg_thread(void *p)
{
	struct unreg_arg *a = p;

	a->ret = mmrt_notifier_unregister(a->n, as);
	a->cb_done_at_return = __atomic_load_n(&cb_done, __ATOMIC_ACQUIRE);
	__atomic_store_n(&a->done, true, __ATOMIC_RELEASE);
	return NULL;
}

Test(notifier, unregister_waits_for_callback)
{
	struct mmrt_notifier n = { .ops = &slow_ops };
	struct unreg_arg ua = { .n = &n };
	pthread_t tf, tu;

	cr_assert_eq(mmrt_notifier_register(&n, as), 0);
	cr_assert_eq(pthread_create(&tf, NULL, flush_thread, NULL), 0);
	while (!__atomic_load_n(&cb_in, __ATOMIC_ACQUIRE))
		rte_pause();
	cr_assert_eq(pthread_create(&tu, NULL, unreg_thread, &ua), 0);
	usleep(100 * 1000);
	cr_assert(!__atomic_load_n(&ua.done, __ATOMIC_ACQUIRE),
		"unregister returned while a callback ran");
	__atomic_store_n(&cb_go, true, __ATOMIC_RELEASE);
	pthread_join(tu, NULL);
	pthread_join(tf, NULL);
	cr_assert_eq(ua.ret, 0);
	cr_assert(ua.cb_done_at_return);
	/* no further callbacks */
	__atomic_store_n(&cb_in, false, __ATOMIC_RELAXED);
	mm_notify_invalidate(as, 0, 4096, false);
	cr_assert(!cb_in);
}

/* ---- real operations reach the subscribers ---- */

Test(notifier, unmap_notifies)
{
	struct isub a;
	uint64_t seq;

	cr_assert_eq(mmrt_map(as, 1 * MB, 1 * MB,
		MMRT_PROT_READ | MMRT_PROT_WRITE, 0), 0);
	isub_insert(&a, 1 * MB, 1 * MB);
	seq = mmrt_interval_read_begin(&a.n);
	cr_assert_eq(mmrt_unmap(as, 1 * MB + 4096, 4096), 0);
	cr_assert_geq(calls(&a), 1);
	cr_assert_eq(a.last_event, MMRT_NOTIFY_UNMAP);
	cr_assert(mmrt_interval_read_retry(&a.n, seq));
	cr_assert_eq(mm_notify_debug_active(as), 0);
	mmrt_interval_notifier_remove(&a.n);
}

/*
 * Registration racing with page-table changes (the kernel registers under
 * mmap_lock for writing, so a subscriber sees whole start/end pairs): a
 * subscriber must never get an end whose start it did not get. An
 * unregister may cut a pair (start without end), as the kernel's does.
 */
struct psub {
	struct mmrt_notifier n;
	int64_t open;   /* starts - ends */
	int64_t low;    /* lowest open seen: < 0 is an end without start */
};

static int
p_start(struct mmrt_notifier *sub, const struct mmrt_notifier_range *r)
{
	struct psub *s = container_of(sub, struct psub, n);

	RTE_SET_USED(r);
	__atomic_fetch_add(&s->open, 1, __ATOMIC_RELAXED);
	return 0;
}

static void
p_end(struct mmrt_notifier *sub, const struct mmrt_notifier_range *r)
{
	struct psub *s = container_of(sub, struct psub, n);
	int64_t v = __atomic_sub_fetch(&s->open, 1, __ATOMIC_RELAXED);

	RTE_SET_USED(r);
	if (v < __atomic_load_n(&s->low, __ATOMIC_RELAXED))
		__atomic_store_n(&s->low, v, __ATOMIC_RELAXED);
}

static const struct mmrt_notifier_ops p_ops = {
	.invalidate_range_start = p_start,
	.invalidate_range_end = p_end,
};

#define PR_VA (8 * MB)
static uint64_t pr_changes;

static void *
protector_thread(void *p)
{
	uint32_t prot[2] = { MMRT_PROT_READ,
		MMRT_PROT_READ | MMRT_PROT_WRITE };
	unsigned int i = 0;

	RTE_SET_USED(p);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		cr_assert_eq(mmrt_protect(as, PR_VA, 4096, prot[i++ & 1]), 0);
		__atomic_fetch_add(&pr_changes, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

Test(notifier, register_race_pairs)
{
	static struct psub sub;
	unsigned int i, k, cut = 0;
	pthread_t t;

	cr_assert_eq(mmrt_map(as, PR_VA, 4096, MMRT_PROT_READ |
		MMRT_PROT_WRITE, MMRT_MAP_POPULATE), 0);
	__atomic_store_n(&stop, false, __ATOMIC_RELAXED);
	__atomic_store_n(&pr_changes, 0, __ATOMIC_RELAXED);
	cr_assert_eq(pthread_create(&t, NULL, protector_thread, NULL), 0);
	/* 20000 registrations (without the map lock an end without its
	 * start came within 1700-4800), and 20000 changes meanwhile */
	for (i = 0; i < 20000 || __atomic_load_n(&pr_changes,
			__ATOMIC_RELAXED) < 20000; i++) {
		memset(&sub, 0, sizeof(sub));
		sub.n.ops = &p_ops;
		cr_assert_eq(mmrt_notifier_register(&sub.n, as), 0);
		for (k = 0; k < 64 * (i % 8); k++)
			rte_pause();
		cr_assert_eq(mmrt_notifier_unregister(&sub.n, as), 0);
		if (__atomic_load_n(&sub.low, __ATOMIC_RELAXED) < 0)
			break;
		cut += sub.open != 0;
	}
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	printf("register race: %u registrations, %lu changes, %u pairs cut "
		"by unregister\n", i, (unsigned long)pr_changes, cut);
	cr_assert_geq(sub.low, 0, "registration %u got an end without its "
		"start", i);
	cr_assert_eq(mm_notify_debug_active(as), 0);
}

/* ---- bad inputs ---- */

Test(notifier, interval_bad_inputs)
{
	static const struct mmrt_interval_notifier_ops no_inv = { NULL };
	struct mmrt_interval_notifier n;
	struct isub a;
	uint64_t seq;

	memset(&n, 0, sizeof(n));
	cr_assert_eq(mmrt_interval_notifier_insert(NULL, as, 0, 4096,
		&isub_ops), -EINVAL);
	cr_assert_eq(mmrt_interval_notifier_insert(&n, NULL, 0, 4096,
		&isub_ops), -EINVAL);
	cr_assert_eq(mmrt_interval_notifier_insert(&n, as, 0, 4096, NULL),
		-EINVAL);
	cr_assert_eq(mmrt_interval_notifier_insert(&n, as, 0, 4096, &no_inv),
		-EINVAL);
	cr_assert_eq(mmrt_interval_notifier_insert(&n, as, 0, 0, &isub_ops),
		-EINVAL);
	cr_assert_eq(mmrt_interval_notifier_insert(&n, as, 4096, UINT64_MAX,
		&isub_ops), -EINVAL);
	cr_assert_eq(mmrt_interval_notifier_insert(&n, as, MMRT_VA_LIMIT,
		4096, &isub_ops), -EINVAL);
	cr_assert_eq(mmrt_interval_notifier_insert(&n, as,
		MMRT_VA_LIMIT - 4096, 8192, &isub_ops), -EINVAL);
	/* the whole space is fine */
	cr_assert_eq(mmrt_interval_notifier_insert(&n, as, 0, MMRT_VA_LIMIT,
		&isub_ops), 0);
	cr_assert_eq(mmrt_interval_notifier_insert(&n, as, 0, 4096,
		&isub_ops), -EINVAL, "already inserted");
	mmrt_interval_notifier_remove(&n);

	cr_assert_eq(mmrt_interval_read_try_begin(NULL, &seq), -EINVAL);
	isub_insert(&a, 0, 4096);
	cr_assert_eq(mmrt_interval_read_try_begin(&a.n, NULL), -EINVAL);
	mmrt_interval_notifier_remove(&a.n);
	cr_assert_eq(mmrt_interval_read_try_begin(&a.n, &seq), -EINVAL,
		"not inserted");
	/* removing twice or NULL is harmless */
	mmrt_interval_notifier_remove(&a.n);
	mmrt_interval_notifier_remove(NULL);
	cr_assert_eq(mm_notify_debug_active(as), 0);
}
