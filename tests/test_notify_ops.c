/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Every page-table change notifies, with the right event, and in order:
 * invalidate_range_start sees the old translation, the secondary-TLB flush
 * comes after the start and before the end, and invalidate_range_end sees
 * the new state. One legacy subscriber watches start/end, another the
 * secondary-TLB flushes (the two kinds cannot be one subscriber).
 */

#include <string.h>

#include "common.h"
#include "mm_as.h"

/* What a probe address looked like when a callback ran. */
struct seen {
	int valid;
	uint32_t prot;    /* 0 if not present */
	uint32_t pfn;
	unsigned int seq; /* order among all callbacks */
};

static struct watch {
	struct mmrt_notifier sub;
	struct mmrt_notifier tlb;
	struct mmrt_as *as;   /* the space the probe is in */
	uint64_t probe;
	int event;
	uint64_t start, end;
	unsigned int starts, ends, flushes, releases;
	unsigned int seq;
	struct seen at_start, at_end, at_flush;
} w;

/* Look at the probe without locks: the callback runs in the changer. */
static void
look(struct seen *s)
{
	struct mmrt_xlate x;

	s->valid = 1;
	s->seq = ++w.seq;
	if (mmrt_walk(&w.as->core, w.probe, 0, &x) == 0) {
		s->prot = x.prot;
		s->pfn = x.pfn;
	} else {
		s->prot = 0;
		s->pfn = MMRT_PFN_NONE;
	}
}

static bool
covers(uint64_t start, uint64_t end)
{
	return start <= w.probe && w.probe < end;
}

static int
on_start(struct mmrt_notifier *sub, const struct mmrt_notifier_range *r)
{
	RTE_SET_USED(sub);
	if (r->as != w.as || !covers(r->start, r->end))
		return 0;
	w.starts++;
	w.event = r->event;
	w.start = r->start;
	w.end = r->end;
	cr_assert(mmrt_notifier_range_blockable(r));
	look(&w.at_start);
	return 0;
}

static void
on_end(struct mmrt_notifier *sub, const struct mmrt_notifier_range *r)
{
	RTE_SET_USED(sub);
	if (r->as != w.as || !covers(r->start, r->end))
		return;
	w.ends++;
	look(&w.at_end);
}

static void
on_release(struct mmrt_notifier *sub, struct mmrt_as *as)
{
	RTE_SET_USED(sub);
	if (as == w.as)
		w.releases++;
}

static void
on_flush(struct mmrt_notifier *sub, struct mmrt_as *as, uint64_t start,
	uint64_t end)
{
	RTE_SET_USED(sub);
	if (as != w.as || !covers(start, end))
		return;
	w.flushes++;
	look(&w.at_flush);
}

static const struct mmrt_notifier_ops range_ops = {
	.release = on_release,
	.invalidate_range_start = on_start,
	.invalidate_range_end = on_end,
};

static const struct mmrt_notifier_ops tlb_ops = {
	.invalidate_secondary_tlbs = on_flush,
};

static void
watch(struct mmrt_as *as, uint64_t probe)
{
	if (w.as != NULL) {
		mmrt_notifier_unregister(&w.sub, w.as);
		mmrt_notifier_unregister(&w.tlb, w.as);
	}
	memset(&w, 0, sizeof(w));
	w.as = as;
	w.probe = probe;
	w.event = -1;
	w.sub.ops = &range_ops;
	w.tlb.ops = &tlb_ops;
	cr_assert_eq(mmrt_notifier_register(&w.sub, as), 0);
	cr_assert_eq(mmrt_notifier_register(&w.tlb, as), 0);
}

/* One bracket: start, flush (if @flush), end, in that order. */
static void
check_bracket(int event, bool flush)
{
	cr_assert_geq(w.starts, 1, "no invalidate_range_start");
	cr_assert_eq(w.starts, w.ends, "starts and ends unpaired");
	cr_assert_eq(w.event, event, "event %d, expected %d", w.event, event);
	if (flush) {
		cr_assert_geq(w.flushes, 1, "no secondary-TLB flush");
		cr_assert(w.at_start.seq < w.at_flush.seq &&
			w.at_flush.seq < w.at_end.seq,
			"flush outside the start/end bracket");
	}
}

static struct mmrt_as *
up(void)
{
	struct mmrt_as *as;
	uint8_t b = 1;

	mmrt_test_up(32);
	as = mmrt_as_create("ops");
	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 16 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_write(as, VA, &b, 1), 0);
	return as;
}

/* up(), with the watcher on the page at @probe. */
static struct mmrt_as *
up_watch(uint64_t probe)
{
	struct mmrt_as *as = up();

	watch(as, probe);
	return as;
}

/* The end of a test: the space (its subscribers released), the runtime. */
static void
down(struct mmrt_as *as)
{
	cr_assert_eq(mmrt_as_destroy(as), 0);
	mmrt_test_down();
}

Test(notify_ops, unmap)
{
	struct mmrt_as *as = up_watch(VA);

	cr_assert_eq(mmrt_unmap(as, VA, 4 * PG), 0);
	check_bracket(MMRT_NOTIFY_UNMAP, true);
	cr_assert_eq(w.start, VA);
	cr_assert_eq(w.end, VA + 4 * PG);
	cr_assert_neq(w.at_start.prot, 0, "already gone at start");
	cr_assert_eq(w.at_flush.prot, 0, "still mapped at the flush");
	cr_assert_eq(w.at_end.prot, 0);
	watch(as, VA + 8 * PG);
	down(as);
}

Test(notify_ops, protect)
{
	struct mmrt_as *as = up_watch(VA);

	cr_assert_eq(mmrt_protect(as, VA, PG, MMRT_PROT_READ), 0);
	check_bracket(MMRT_NOTIFY_PROTECTION_VMA, true);
	cr_assert(w.at_start.prot & MMRT_PROT_WRITE);
	cr_assert_eq(w.at_end.prot, MMRT_PROT_READ);
	down(as);
}

Test(notify_ops, advise)
{
	struct mmrt_as *as = up_watch(VA);

	cr_assert_eq(mmrt_advise(as, VA, PG, MMRT_ADV_DONTNEED), 0);
	check_bracket(MMRT_NOTIFY_CLEAR, true);
	cr_assert_neq(w.at_start.prot, 0);
	cr_assert_eq(w.at_end.prot, 0);
	down(as);
}

Test(notify_ops, fork_then_cow)
{
	struct mmrt_as *as = up(), *child;
	uint8_t b = 2;
	uint32_t shared;

	/* fork write-protects the parent: PROTECTION_PAGE, flushed */
	watch(as, VA);
	child = mmrt_as_fork(as, "child");
	cr_assert_not_null(child);
	check_bracket(MMRT_NOTIFY_PROTECTION_PAGE, true);
	cr_assert(w.at_start.prot & MMRT_PROT_WRITE);
	cr_assert_eq(w.at_end.prot, MMRT_PROT_READ);
	shared = w.at_end.pfn;

	/* a write in the child copies: CLEAR on the child, flush in between */
	watch(child, VA);
	cr_assert_eq(mmrt_write(child, VA, &b, 1), 0);
	check_bracket(MMRT_NOTIFY_CLEAR, true);
	cr_assert_eq(w.at_start.pfn, shared);
	cr_assert_eq(w.at_flush.prot, 0, "old translation visible at flush");
	cr_assert_neq(w.at_end.pfn, shared);
	cr_assert(w.at_end.prot & MMRT_PROT_WRITE);

	cr_assert_eq(mmrt_as_destroy(child), 0);
	w.as = NULL;
	down(as);
}

Test(notify_ops, merge)
{
	struct mmrt_as *as = up();
	uint8_t page[PG];

	memset(page, 9, sizeof(page));
	cr_assert_eq(mmrt_write(as, VA + 2 * PG, page, PG), 0);
	cr_assert_eq(mmrt_write(as, VA + 3 * PG, page, PG), 0);
	watch(as, VA + 3 * PG);
	cr_assert_eq(mmrt_merge(as, VA + 2 * PG, as, VA + 3 * PG), 0);
	check_bracket(MMRT_NOTIFY_CLEAR, true);
	cr_assert(w.at_start.prot & MMRT_PROT_WRITE);
	cr_assert_eq(w.at_end.prot, MMRT_PROT_READ);
	cr_assert_neq(w.at_start.pfn, w.at_end.pfn);
	down(as);
}

Test(notify_ops, destroy_releases_then_unmaps)
{
	struct mmrt_as *as = up_watch(VA);

	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(w.releases, 1, "release not called once");
	mmrt_test_down();
}

/* A subscriber that quarantines everything it is offered. */
static struct quar {
	struct mmrt_notifier sub;
	uint32_t pfns[4096];
	unsigned int n;
} q;

static void
on_quarantine(struct mmrt_notifier *sub, struct mmrt_as *as,
	const uint32_t *pfns, unsigned int n)
{
	unsigned int i;

	RTE_SET_USED(sub);
	RTE_SET_USED(as);
	for (i = 0; i < n && q.n < RTE_DIM(q.pfns); i++) {
		cr_assert_eq(mmrt_frame_get(pfns[i]), 0,
			"offered a frame that is not live: %u", pfns[i]);
		q.pfns[q.n++] = pfns[i];
	}
}

static const struct mmrt_notifier_ops quar_ops = {
	.quarantine = on_quarantine,
};

static void
quarantine_release(void)
{
	while (q.n > 0)
		cr_assert_geq(mmrt_frame_put(q.pfns[--q.n]), 0);
}

/* Frames released by unmap (gather), COW and merge are offered to the
 * quarantine first, and stay out of the pool while it holds them. */
Test(notify_ops, quarantine_holds_frames)
{
	struct mmrt_as *as, *child;
	uint8_t page[PG];
	uint64_t base, held;

	mmrt_test_up(32);
	base = mmrt_test_used();
	as = mmrt_as_create("quar");
	cr_assert_not_null(as);
	memset(&q, 0, sizeof(q));
	q.sub.ops = &quar_ops;
	cr_assert_eq(mmrt_notifier_register(&q.sub, as), 0);

	/* gather: 8 data frames */
	cr_assert_eq(mmrt_map(as, VA, 8 * PG, RW, MMRT_MAP_POPULATE), 0);
	held = mmrt_test_used();
	cr_assert_eq(mmrt_unmap(as, VA, 8 * PG), 0);
	cr_assert_eq(q.n, 8, "gather offered %u frames", q.n);
	/* the 8 data frames stay out of the pool while quarantined */
	cr_assert_geq(mmrt_test_used(), base + 8);
	cr_assert_lt(mmrt_test_used(), held);
	quarantine_release();

	/* COW: the child's old reference on the shared frame */
	memset(page, 3, sizeof(page));
	cr_assert_eq(mmrt_map(as, VA, PG, RW, 0), 0);
	cr_assert_eq(mmrt_write(as, VA, page, PG), 0);
	child = mmrt_as_fork(as, "quar-child");
	cr_assert_not_null(child);
	cr_assert_eq(mmrt_notifier_unregister(&q.sub, as), 0);
	memset(&q, 0, sizeof(q));
	q.sub.ops = &quar_ops;
	cr_assert_eq(mmrt_notifier_register(&q.sub, child), 0);
	cr_assert_eq(mmrt_write(child, VA, page, 1), 0);
	cr_assert_eq(q.n, 1, "COW offered %u frames", q.n);
	quarantine_release();

	/* merge: the replaced frame */
	cr_assert_eq(mmrt_map(child, VA + 4 * PG, 2 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_write(child, VA + 4 * PG, page, PG), 0);
	cr_assert_eq(mmrt_write(child, VA + 5 * PG, page, PG), 0);
	cr_assert_eq(mmrt_merge(child, VA + 4 * PG, child, VA + 5 * PG), 0);
	cr_assert_eq(q.n, 1, "merge offered %u frames", q.n);
	quarantine_release();

	cr_assert_eq(mmrt_notifier_unregister(&q.sub, child), 0);
	cr_assert_eq(mmrt_as_destroy(child), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), base);
	mmrt_test_down();
}

/*
 * Two-phase secondary-TLB flush: every tlbs_post of one flush comes before
 * any tlbs_wait, each wait gets its own subscriber's token, and a token of
 * 0 is not waited for. The pair is checked at registration.
 */
#define TP_SUBS 20 /* more than one batch of waits */

static struct tp_sub {
	struct mmrt_notifier sub;
	unsigned int idx;
} tp[TP_SUBS];
static char tp_log[4 * TP_SUBS * 8];
static unsigned int tp_len, tp_waits, tp_bad_token;

static uint64_t
tp_post(struct mmrt_notifier *sub, struct mmrt_as *as, uint64_t start,
	uint64_t end)
{
	struct tp_sub *t = container_of(sub, struct tp_sub, sub);

	RTE_SET_USED(as);
	RTE_SET_USED(start);
	RTE_SET_USED(end);
	if (tp_len < sizeof(tp_log) - 1)
		tp_log[tp_len++] = 'P';
	/* the last subscriber has nothing to wait for */
	return t->idx == TP_SUBS - 1 ? 0 : 1000 + t->idx;
}

static void
tp_wait(struct mmrt_notifier *sub, struct mmrt_as *as, uint64_t token)
{
	struct tp_sub *t = container_of(sub, struct tp_sub, sub);

	RTE_SET_USED(as);
	if (tp_len < sizeof(tp_log) - 1)
		tp_log[tp_len++] = 'W';
	tp_waits++;
	if (token != 1000 + t->idx)
		tp_bad_token++;
}

static const struct mmrt_notifier_ops tp_ops = {
	.tlbs_post = tp_post,
	.tlbs_wait = tp_wait,
};

static void
tp_noop(struct mmrt_notifier *sub, struct mmrt_as *as, uint64_t start,
	uint64_t end)
{
	RTE_SET_USED(sub);
	RTE_SET_USED(as);
	RTE_SET_USED(start);
	RTE_SET_USED(end);
}

Test(notify_ops, two_phase_flush)
{
	static const struct mmrt_notifier_ops post_only = {
		.tlbs_post = tp_post,
	};
	static const struct mmrt_notifier_ops both_kinds = {
		.tlbs_post = tp_post,
		.tlbs_wait = tp_wait,
		.invalidate_secondary_tlbs = tp_noop,
	};
	struct mmrt_notifier bad = { .ops = &post_only };
	struct mmrt_as *as = up();
	unsigned int i, p;

	cr_assert_eq(mmrt_notifier_register(&bad, as), -EINVAL);
	bad.ops = &both_kinds;
	cr_assert_eq(mmrt_notifier_register(&bad, as), -EINVAL);
	for (i = 0; i < TP_SUBS; i++) {
		tp[i].idx = i;
		tp[i].sub.ops = &tp_ops;
		cr_assert_eq(mmrt_notifier_register(&tp[i].sub, as), 0);
	}
	tp_len = tp_waits = tp_bad_token = 0;
	cr_assert_eq(mmrt_protect(as, VA, PG, MMRT_PROT_READ), 0);
	tp_log[tp_len] = '\0';
	cr_assert_eq(tp_bad_token, 0, "a wait got another's token: %s",
		tp_log);
	cr_assert_gt(tp_waits, 0);
	/*
	 * Each flush: 16 posts, their waits (the batch on the stack), the
	 * last 4 posts, their waits; 19 waits in all (one token is 0).
	 */
	cr_assert_gt(tp_len, 0);
	for (i = 0; i < tp_len;) {
		unsigned int a = 0, b = 0;

		for (p = 0; p < 16; p++, i++)
			cr_assert_eq(tp_log[i], 'P', "order %s", tp_log);
		for (; tp_log[i] == 'W'; i++)
			a++;
		for (p = 0; p < TP_SUBS - 16; p++, i++)
			cr_assert_eq(tp_log[i], 'P', "order %s", tp_log);
		for (; tp_log[i] == 'W'; i++)
			b++;
		cr_assert(a >= 15 && b >= TP_SUBS - 16 - 1 &&
			a + b == TP_SUBS - 1, "order %s", tp_log);
	}
	for (i = 0; i < TP_SUBS; i++)
		cr_assert_eq(mmrt_notifier_unregister(&tp[i].sub, as), 0);
	down(as);
}
