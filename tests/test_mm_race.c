/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Lockless mmrt_translate() racing unmap/map of the same ranges.
 *
 * A registered poller thread translates addresses without locks and
 * reports a quiescent state between lookups; the main thread unmaps and
 * re-maps (and faults in) small regions placed so that every unmap empties
 * and frees page-table pages at levels 1, 2 and 3. Page-table pages must
 * only be reused after a QSBR grace period, so the library's walk check
 * (mm_test_hooks.walk_uaf) must never see a page-table page freed or
 * recycled under a walker.
 *
 * Negative control: with mm_test_hooks.pt_free_early the grace period is
 * skipped, and the same race must be caught (walk_uaf > 0). Under ASan a
 * freed page-table page is poisoned and the walker's read aborts the
 * process, so the control runs only in builds without ASan.
 *
 * Fills racing fills (uffd_fill_shares): the per-lcore shares of the
 * statistics every fill call adds to (rss_pages, filled_pages, wakes) are
 * each written by one lcore without a locked RMW; the sums must be exact.
 * Negative control: mm_test_hooks.lc_share_one gives the lcores one share
 * (several writers), and counts must be seen lost.
 *
 * Also: the uffd statistics derived from the post count, sampled while
 * posts are in flight, with their own negative control (below).
 *
 * The race is bounded by iteration counts; the time bounds only stop loops
 * that would otherwise run too long on a loaded machine and are never
 * asserted on.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <mmrt_uffd.h>

#include "common.h"
#include "mm_testhooks.h"

#if defined(__SANITIZE_ADDRESS__)
#define RACE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RACE_ASAN 1
#endif
#endif
#ifndef RACE_ASAN
#define RACE_ASAN 0
#endif

#define POOL_MB 64

/*
 * Regions: 2 MiB of 4 KiB pages, one per 512 GiB (level-4 entry), at a
 * 1 GiB offset: unmapping one empties a level-1, a level-2 and a level-3
 * table.
 */
#define NREG 4
#define REG_LEN MMRT_HUGE_SIZE
#define NTOUCH 3 /* pages faulted in per region */

static inline uint64_t
reg_va(unsigned int r)
{
	return ((uint64_t)(r + 1) << 39) + (UINT64_C(1) << 30);
}

/* Offsets faulted in after each map; the reader translates these. */
static const uint64_t touch_off[NTOUCH] = { 0, 257 * PG, REG_LEN - PG };

struct race {
	struct mmrt_as *as;
	volatile bool stop;
	volatile bool ready;
	int reader_id;
	uint64_t lookups;
	uint64_t hits;
	uint64_t faults;
	uint64_t other;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *
reader(void *arg)
{
	struct race *r = arg;
	struct mmrt_xlate x;
	uint64_t i = 0;

	r->reader_id = mmrt_thread_register();
	__atomic_store_n(&r->ready, true, __ATOMIC_RELEASE);
	if (r->reader_id < 0)
		return NULL;
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		uint64_t va = reg_va(i % NREG) + touch_off[(i / NREG) % NTOUCH];
		int rc;

		rc = mmrt_translate(r->as, va, MMRT_ACCESS_READ, &x);
		if (rc == 0)
			r->hits++;
		else if (rc == -EFAULT)
			r->faults++;
		else
			r->other++;
		r->lookups++;
		i++;
		/* nothing obtained from the walk is used past this point */
		mmrt_quiescent();
		if ((i & 63) == 0)
			rte_pause();
	}
	mmrt_thread_unregister();
	return NULL;
}

static void
map_region(struct race *r, unsigned int k)
{
	unsigned int t;
	int rc;

	rc = mmrt_map(r->as, reg_va(k), REG_LEN, RW, 0);
	cr_assert_eq(rc, 0, "map of region %u: %d", k, rc);
	for (t = 0; t < NTOUCH; t++) {
		rc = mmrt_fault(r->as, reg_va(k) + touch_off[t],
			MMRT_ACCESS_WRITE);
		cr_assert_eq(rc, 0, "fault in region %u: %d", k, rc);
	}
}

/*
 * Run the race for at most @rounds rounds or @max_s seconds; with
 * @until_uaf, stop early once a use-after-free has been seen.
 * @return rounds run.
 */
static uint64_t
run_race(struct race *r, uint64_t rounds, double max_s, bool until_uaf)
{
	pthread_t th;
	uint64_t round;
	unsigned int k;
	double t0;
	int rc;

	for (k = 0; k < NREG; k++)
		map_region(r, k);
	r->stop = false;
	r->ready = false;
	cr_assert_eq(pthread_create(&th, NULL, reader, r), 0);
	while (!__atomic_load_n(&r->ready, __ATOMIC_ACQUIRE))
		rte_pause();
	cr_assert_geq(r->reader_id, 0, "mmrt_thread_register: %d",
		r->reader_id);

	t0 = now_s();
	for (round = 0; round < rounds; round++) {
		k = round % NREG;
		rc = mmrt_unmap(r->as, reg_va(k), REG_LEN);
		cr_assert_eq(rc, 0, "unmap: %d", rc);
		map_region(r, k);
		if ((round & 255) == 0) {
			if (now_s() - t0 > max_s)
				break;
			if (until_uaf && __atomic_load_n(
					&mm_test_hooks.walk_uaf,
					__ATOMIC_RELAXED) > 0)
				break;
		}
	}
	__atomic_store_n(&r->stop, true, __ATOMIC_RELEASE);
	cr_assert_eq(pthread_join(th, NULL), 0);
	return round;
}

/*
 * A race on a fresh space @name, the runtime up and the lockless-walk
 * counters at 0. @return the frames in use before (for race_down()).
 */
static uint64_t
race_up(struct race *r, const char *name)
{
	uint64_t base;

	memset(r, 0, sizeof(*r));
	mmrt_test_up_placed(POOL_MB, true);
	base = mmrt_test_used();
	r->as = mmrt_as_create(name);
	cr_assert_not_null(r->as);
	mm_test_hooks.walk_uaf = 0;
	mm_test_hooks.walk_checked = 0;
	return base;
}

/* The lockless walks checked and those that saw a freed table. */
static void
race_walks(uint64_t *checked, uint64_t *uaf)
{
	*uaf = __atomic_load_n(&mm_test_hooks.walk_uaf, __ATOMIC_ACQUIRE);
	*checked = __atomic_load_n(&mm_test_hooks.walk_checked,
		__ATOMIC_ACQUIRE);
}

/* The space goes, and every frame with it; the runtime goes down. */
static void
race_down(struct race *r, uint64_t base)
{
	cr_assert_eq(mmrt_as_destroy(r->as), 0);
	cr_assert_eq(mmrt_test_used(), base);
	mmrt_test_down();
}

#if RACE_ASAN
#define POS_ROUNDS 60000
#else
#define POS_ROUNDS 200000
#endif

Test(mm_race, translate_vs_unmap, .timeout = 600)
{
	struct race r;
	uint64_t base, rounds, uaf, checked;
	struct mmrt_as_stats st;

	base = race_up(&r, "race");
	rounds = run_race(&r, POS_ROUNDS, 120.0, false);
	race_walks(&checked, &uaf);
	cr_log_info("race: %" PRIu64 " rounds, %" PRIu64 " lookups (%" PRIu64
		" hits, %" PRIu64 " -EFAULT), walks checked %" PRIu64
		", use-after-free %" PRIu64, rounds, r.lookups, r.hits,
		r.faults, checked, uaf);
	cr_assert_eq(r.other, 0, "translate returned neither 0 nor -EFAULT");
	cr_assert_gt(r.lookups, 0);
	cr_assert_gt(checked, 0, "no lockless walk was checked");
	cr_assert_eq(uaf, 0, "%" PRIu64 " lockless walks saw a page-table "
		"page freed under them", uaf);

	/* the page tables were really freed and rebuilt */
	cr_assert_eq(mmrt_as_stats(r.as, &st), 0);
	cr_assert_eq(st.rss_pages, NREG * NTOUCH);
	race_down(&r, base);
}

Test(mm_race, negative_control_pt_free_early, .timeout = 600)
{
	struct race r;
	uint64_t base, rounds, uaf, checked;

	if (RACE_ASAN)
		cr_skip_test("negative control skipped under ASan: a page-table "
			"page freed early is poisoned, and the walker's read "
			"aborts the process instead of being counted");
	base = race_up(&r, "race-neg");
	mm_test_hooks.pt_free_early = true;
	rounds = run_race(&r, 2000000, 20.0, true);
	mm_test_hooks.pt_free_early = false;
	race_walks(&checked, &uaf);
	cr_log_info("negative control: %" PRIu64 " rounds, %" PRIu64
		" lookups, walks checked %" PRIu64 ", use-after-free %" PRIu64,
		rounds, r.lookups, checked, uaf);
	cr_assert_gt(checked, 0, "no lockless walk was checked");
	cr_assert_gt(uaf, 0, "page-table pages freed without a grace period "
		"were not caught in %" PRIu64 " rounds", rounds);
	race_down(&r, base);
}

/*
 * Fills from FW_THREADS threads at once, one page per call, each into its
 * own slice: the main thread (lcore 0), threads registered as lcores
 * (rte_thread_register(): shares of their own) and one thread without an
 * lcore id (the shared fields, atomically). Every round maps and
 * registers the range, fills it and checks that the space's rss_pages and
 * the uffd's filled_pages and wakes (each a shared field plus per-lcore
 * shares) grew by exactly the pages and calls done, then unmaps it (the
 * zap subtracts from the shared field) and checks rss_pages is back to 0.
 */
#define FW_THREADS 4         /* the main thread and three others */
#define FW_LCORE_THREADS 2   /* of the others, registered as lcores */
#define FW_PAGES 512         /* pages per thread and round */
#define FW_VA (UINT64_C(1) << 40)

struct fw_thread {
	struct mmrt_uffd *u;
	unsigned int slice;
	bool lcore;              /* register as an lcore */
	volatile bool *go;
	unsigned int *done;      /* threads done filling */
	unsigned int lcore_id;   /* out: the lcore id it filled with */
	int err;                 /* out: the first failed fill's */
	pthread_t th;
};

static uint8_t fw_src[PG];

static void
fw_fill(struct fw_thread *w)
{
	struct mmrt_uffd_copy c;
	uint64_t p;
	int rc;

	w->lcore_id = rte_lcore_id();
	for (p = 0; p < FW_PAGES; p++) {
		c.dst = FW_VA + ((uint64_t)w->slice * FW_PAGES + p) * PG;
		c.src = fw_src;
		c.len = PG;
		c.mode = 0;
		c.copy = 0;
		rc = mmrt_uffd_copy(w->u, &c);
		if (rc != 0 && w->err == 0)
			w->err = rc;
	}
}

static void *
fw_main(void *arg)
{
	struct fw_thread *w = arg;

	if (w->lcore && rte_thread_register() < 0) {
		w->err = -ENOSPC;
		return NULL;
	}
	while (!__atomic_load_n(w->go, __ATOMIC_ACQUIRE))
		rte_pause();
	fw_fill(w);
	/* keep the lcore id until every thread filled: no id is reused */
	__atomic_fetch_add(w->done, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(w->done, __ATOMIC_ACQUIRE) < FW_THREADS - 1)
		rte_pause();
	if (w->lcore)
		rte_thread_unregister();
	return NULL;
}

/*
 * One round; @return true if every count was exact, adding the counts
 * that fell short to @lost.
 */
static bool
fw_round(struct mmrt_as *as, struct mmrt_uffd *u, uint64_t *lost)
{
	struct fw_thread w[FW_THREADS];
	struct mmrt_uffd_stats s0, s1;
	struct mmrt_as_stats a;
	volatile bool go = false;
	unsigned int done = 0;
	uint64_t ops = 0, npg = (uint64_t)FW_THREADS * FW_PAGES;
	unsigned int i;
	bool exact;

	cr_assert_eq(mmrt_map(as, FW_VA, npg * PG, RW, 0), 0);
	cr_assert_eq(mmrt_uffd_register(u, FW_VA, npg * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING, &ops), 0);
	cr_assert_eq(mmrt_uffd_stats(u, &s0), 0);
	memset(w, 0, sizeof(w));
	for (i = 0; i < FW_THREADS; i++) {
		w[i].u = u;
		w[i].slice = i;
		w[i].lcore = i >= 1 && i <= FW_LCORE_THREADS;
		w[i].go = &go;
		w[i].done = &done;
		if (i > 0)
			cr_assert_eq(pthread_create(&w[i].th, NULL, fw_main,
				&w[i]), 0);
	}
	__atomic_store_n(&go, true, __ATOMIC_RELEASE);
	fw_fill(&w[0]);
	for (i = 1; i < FW_THREADS; i++)
		cr_assert_eq(pthread_join(w[i].th, NULL), 0);
	for (i = 0; i < FW_THREADS; i++)
		cr_assert_eq(w[i].err, 0, "thread %u: fill failed: %d", i,
			w[i].err);
	/* lcore 0, two other lcores, one thread without an lcore id */
	cr_assert_eq(w[0].lcore_id, 0);
	cr_assert(w[1].lcore_id < RTE_MAX_LCORE &&
		w[2].lcore_id < RTE_MAX_LCORE && w[1].lcore_id != 0 &&
		w[2].lcore_id != 0 && w[1].lcore_id != w[2].lcore_id);
	cr_assert_geq(w[3].lcore_id, RTE_MAX_LCORE);
	cr_assert_eq(mmrt_uffd_stats(u, &s1), 0);
	cr_assert_eq(mmrt_as_stats(as, &a), 0);
	exact = a.rss_pages == npg && s1.filled_pages - s0.filled_pages ==
		npg && s1.wakes - s0.wakes == npg;
	*lost += (npg - RTE_MIN(npg, a.rss_pages)) + (npg - RTE_MIN(npg,
		s1.filled_pages - s0.filled_pages)) + (npg - RTE_MIN(npg,
		s1.wakes - s0.wakes));
	cr_assert_eq(mmrt_unmap(as, FW_VA, npg * PG), 0);
	cr_assert_eq(mmrt_as_stats(as, &a), 0);
	if (exact)
		cr_assert_eq(a.rss_pages, 0, "rss_pages %" PRIu64 " after the "
			"unmap", a.rss_pages);
	return exact;
}

static struct mmrt_uffd *
fw_uffd(struct mmrt_as *as)
{
	uint64_t features = 0;
	struct mmrt_uffd *u = mmrt_uffd_create(as, MMRT_UFFD_API, &features,
		NULL);

	cr_assert_not_null(u);
	return u;
}

#if RACE_ASAN
#define FW_ROUNDS 10
#else
#define FW_ROUNDS 40
#endif

Test(mm_race, uffd_fill_shares, .timeout = 600)
{
	struct mmrt_uffd *u;
	struct race r;
	uint64_t base, lost = 0;
	unsigned int k;

	base = race_up(&r, "fill-shares");
	u = fw_uffd(r.as);
	for (k = 0; k < FW_ROUNDS; k++)
		cr_assert(fw_round(r.as, u, &lost), "round %u: %" PRIu64
			" counts lost", k, lost);
	cr_log_info("fill shares: %u rounds of %u threads x %u pages, exact",
		FW_ROUNDS, FW_THREADS, FW_PAGES);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	race_down(&r, base);
}

Test(mm_race, negative_control_lc_share_one, .timeout = 600)
{
	struct mmrt_uffd *u;
	struct race r;
	uint64_t base, lost = 0;
	unsigned int k, bad = 0;
	double t0;

	base = race_up(&r, "fill-shares-neg");
	u = fw_uffd(r.as);
	mm_test_hooks.lc_share_one = true;
	t0 = now_s();
	for (k = 0; k < 2000 && bad == 0 && now_s() - t0 < 30.0; k++)
		if (!fw_round(r.as, u, &lost))
			bad++;
	mm_test_hooks.lc_share_one = false;
	cr_log_info("negative control: %u rounds, %" PRIu64 " counts lost",
		k, lost);
	cr_assert_gt(bad, 0, "one share written by three lcores lost no count "
		"in %u rounds", k);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	race_down(&r, base);
}

/*
 * The uffd statistics against posts in flight. A MISSING post counts
 * itself only by its claim (npost); mmrt_uffd_stats() derives
 * faults_missing = npost - nundo - faults_wp - faults_minor and must load
 * npost last, after the kind counters a post adds to after its claim, or a
 * post between the loads counts a kind without its claim and the derived
 * count wraps below 0. A thread posts WP faults on one write-protected
 * page (no MISSING fault at all), reads each message and wakes the page;
 * the main thread samples the statistics meanwhile. With one poster, a
 * sample may count at most its one post in flight as MISSING.
 *
 * Negative control: the uffd_stats_npost_first hook loads npost first and
 * waits between the loads; the samples must catch the wrap.
 */
#define USR_VA (UINT64_C(1) << 32)
#define USR_SAMPLES 20000

struct ustat_race {
	struct mmrt_as *as;
	struct mmrt_uffd *u;
	bool stop;
	bool ready;
	uint64_t posts;
	uint64_t bad;      /* the fault did not post, or no message */
};

static void *
ustat_poster(void *arg)
{
	struct ustat_race *s = arg;
	struct mmrt_uffd_range wr = { .start = USR_VA, .len = PG };
	struct mmrt_uffd_msg m;
	unsigned int spins;
	int rc;

	__atomic_store_n(&s->ready, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		rc = mmrt_fault(s->as, USR_VA, MMRT_ACCESS_WRITE |
			MMRT_ACCESS_NOWAIT);
		if (rc != -EAGAIN) {
			s->bad++;
			break;
		}
		for (spins = 0; mmrt_uffd_read(s->u, &m, 1) != 1; spins++)
			if (spins > 1000000) {
				s->bad++;
				return NULL;
			}
		/* idle again: the next write posts again */
		if (mmrt_uffd_wake(s->u, &wr) != 0) {
			s->bad++;
			break;
		}
		__atomic_store_n(&s->posts, s->posts + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* @return the samples whose derived MISSING count was impossible. */
static uint64_t
ustat_run(bool negctl, uint64_t *posts, uint64_t *samples)
{
	static uint8_t src[4096];
	struct mmrt_uffd_copy c = { .dst = USR_VA, .src = src, .len = PG,
		.mode = MMRT_UFFD_MODE_WP };
	struct ustat_race s = { .stop = false };
	uint64_t base, feat = MMRT_UFFD_FEATURE_PAGEFAULT_FLAG_WP, ops = 0;
	uint64_t wrong = 0, n;
	struct mmrt_uffd_stats st;
	pthread_t t;
	double t0;

	mmrt_test_up_placed(POOL_MB, true);
	base = mmrt_test_used();
	s.as = mmrt_as_create("ustat");
	cr_assert_not_null(s.as);
	cr_assert_eq(mmrt_map(s.as, USR_VA, PG, MMRT_PROT_READ |
		MMRT_PROT_WRITE, 0), 0);
	s.u = mmrt_uffd_create(s.as, MMRT_UFFD_API, &feat, NULL);
	cr_assert_not_null(s.u);
	cr_assert_eq(mmrt_uffd_register(s.u, USR_VA, PG,
		MMRT_UFFD_REGISTER_MODE_MISSING | MMRT_UFFD_REGISTER_MODE_WP,
		&ops), 0);
	cr_assert_eq(mmrt_uffd_copy(s.u, &c), 0);
	mm_test_hooks.uffd_stats_gap_cycles = rte_get_timer_hz() / 20000;
	__atomic_store_n(&mm_test_hooks.uffd_stats_npost_first, negctl,
		__ATOMIC_RELEASE);
	cr_assert_eq(pthread_create(&t, NULL, ustat_poster, &s), 0);
	while (!__atomic_load_n(&s.ready, __ATOMIC_ACQUIRE))
		rte_pause();
	t0 = now_s();
	for (n = 0; n < USR_SAMPLES && now_s() - t0 < 60.0; n++) {
		cr_assert_eq(mmrt_uffd_stats(s.u, &st), 0);
		/* one poster: at most its one post in flight */
		if (st.faults_missing > 1)
			wrong++;
		if (negctl && wrong > 0)
			break;
	}
	__atomic_store_n(&s.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	__atomic_store_n(&mm_test_hooks.uffd_stats_npost_first, false,
		__ATOMIC_RELEASE);
	cr_assert_eq(s.bad, 0, "the poster's fault or read failed");
	/* quiet: exact */
	cr_assert_eq(mmrt_uffd_stats(s.u, &st), 0);
	cr_assert_eq(st.faults, s.posts);
	cr_assert_eq(st.faults_wp, s.posts);
	cr_assert_eq(st.faults_missing, 0);
	cr_assert_eq(st.pending, 0);
	*posts = s.posts;
	*samples = n;
	cr_assert_eq(mmrt_uffd_destroy(s.u), 0);
	cr_assert_eq(mmrt_as_destroy(s.as), 0);
	cr_assert_eq(mmrt_test_used(), base);
	mmrt_test_down();
	return wrong;
}

Test(mm_race, uffd_stats_vs_posts, .timeout = 600)
{
	uint64_t posts, samples, wrong = ustat_run(false, &posts, &samples);

	cr_log_info("uffd stats: %" PRIu64 " samples against %" PRIu64
		" WP posts, %" PRIu64 " impossible", samples, posts, wrong);
	cr_assert_gt(posts, 0, "nothing was posted");
	cr_assert_eq(wrong, 0, "%" PRIu64 " samples counted MISSING faults "
		"(none were posted) beyond the one in flight", wrong);
}

Test(mm_race, negative_control_uffd_stats_npost_first, .timeout = 600)
{
	uint64_t posts, samples, wrong = ustat_run(true, &posts, &samples);

	cr_log_info("negative control: %" PRIu64 " samples against %" PRIu64
		" WP posts, %" PRIu64 " impossible", samples, posts, wrong);
	cr_assert_gt(wrong, 0, "npost loaded first was not caught in %"
		PRIu64 " samples (%" PRIu64 " posts)", samples, posts);
}
