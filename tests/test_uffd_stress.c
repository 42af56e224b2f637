/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Userfault stress: the kernel's uffd-stress "bounce"
 * (tools/testing/selftests/mm/uffd-stress.c) against mmrt, bounded in time.
 *
 * Two areas, src and dst, in one address space. Each page starts with a
 * header {lock, count, nr, magic} followed by a pattern that depends on the
 * page number only. count_verify[] is the oracle of every page's count.
 *
 * A bounce: dst is registered (MISSING, or MISSING|WP) and zapped, src is
 * populated. Per "lcore" (NLC of them, each set of threads pinned to the
 * cpus of one EAL lcore) run:
 * - a CPU locker: picks a page (random, or sequential from its own or a
 *   shared start, per the mode bits) and touches it first, which waits for
 *   the fill: locker 0 reads (as the kernel's locker does), locker 1 writes
 *   the constant magic word (a write fault). It takes the page lock (an
 *   atomic on the host address of the lock word, from mmrt_translate() for
 *   a write: the accessors are not atomic; the lock word is scaffolding),
 *   checks the count against count_verify[] and increments both through
 *   mmrt_read()/mmrt_write(). Write-protected pages are waited for in
 *   mmrt_fault() or mmrt_write();
 * - a consumer locker: the same through a lib/dev consumer (translate for
 *   a write; -EAGAIN: poll and retry), with the count read and written
 *   through the translation, which it holds until its next poll; it polls
 *   between operations and between bounces;
 * - a background copier: fills its slice with mmrt_uffd_copy() (MODE_WP in
 *   the WP variant, where it also write-protects its whole slice after the
 *   first half, putting markers on the empty pages);
 * - a resolver (a single one in the WP variant, see nres()): reads the
 *   fault messages without waiting (one at a time, or in batches in POLL
 *   mode), checks them (event, flags, address, requester id) and serves
 *   MISSING faults by copying from src (-EEXIST: wake the page) and WP
 *   faults by clearing the protection.
 * Every RECOPY_EVERY-th page copied is copied again and must give -EEXIST.
 * When the copiers are done, src is zapped while the lockers still run (as
 * the kernel does); then the lockers stop, the resolvers drain the ring and
 * stop, dst is unprotected and unregistered, the counters of the uffd are
 * checked against what the resolvers read and copied (every page filled
 * exactly once, every fault posted read, nothing pending), every page of
 * dst is checked against count_verify[] and the pattern, and src and dst
 * swap. The next bounce zaps its dst right after registering it: a late
 * fill may have read the zapped src and populated it (the kernel's lesson).
 *
 * The mode of a bounce comes from the bits of the bounces left, as in the
 * kernel: RANDOM, RACINGFAULTS (every locker walks the same pages), POLL.
 *
 * dedup_slots isolates the fault deduplication: pages go pending and idle
 * as fast as possible, then every page must still be able to post a fault.
 *
 * Every wait has a deadline; a thread that sees a broken invariant records
 * it and every thread stops, so the test fails instead of hanging.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_timedjoin_np */
#endif

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include "common.h"
#include <mmrt_dev.h>
#include <mmrt_uffd.h>

#define AREA_0 (UINT64_C(1) << 32)
#define AREA_1 (UINT64_C(1) << 33)

#define NLC 2                  /* "lcores": the machine has two cores */
#define NLOCKERS (2 * NLC)     /* lockers 0..NLC-1: CPU, NLC..: consumer */
#define AREA_MB 8              /* each area */
#define BOUNCES 8              /* the mode bits take every value */
#define MIN_OPS 4000           /* per locker and bounce */
#define NPG ((unsigned int)(AREA_MB * 1024u * 1024u / PG))
#define NPG_LC (NPG / NLC)
#define RECOPY_EVERY 32
#define RD_BATCH 16
#define EAGAIN_RETRIES 1000

#define OP_TIMEOUT_S 10.0      /* one locker operation */
#define STEP_TIMEOUT_S 30.0    /* one step of a bounce (a join, a wait) */
#define WAIT_TIMEOUT_US 5000000 /* the uffd's wait for a wake */
#define ACK_DEADLINE_US 2000000 /* consumers are fenced after this */

/* Bounce mode bits, from the bounces left. */
#define BOUNCE_RANDOM       (1u << 0)
#define BOUNCE_RACINGFAULTS (1u << 1)
#define BOUNCE_POLL         (1u << 2)

#define PAGE_MAGIC UINT64_C(0x6d6d7274626f756e) /* "mmrtboun" */

/* The head of every page. */
struct pg_hdr {
	uint64_t lock;  /* 0 free, else the owner's locker index + 1 */
	uint64_t count; /* the counter; count_verify[] is its oracle */
	uint64_t nr;    /* page number, constant */
	uint64_t magic; /* PAGE_MAGIC */
};

#define HDR_WORDS (sizeof(struct pg_hdr) / sizeof(uint64_t))
#define PG_WORDS (PG / sizeof(uint64_t))

/*
 * Spin step of a thread that waits for another: pause and yield every
 * time. There are more threads than cores, and the thread waited for (a
 * consumer that must poll to ack an invalidation, a resolver) needs the
 * cpu.
 */
#define relax(i) mmrt_test_relax((i), 0)

static struct stress {
	struct mmrt_as *as;
	struct mmrt_uffd *u;
	bool wp;                 /* the WP variant */
	uint64_t src, dst;       /* areas of the current bounce */
	uint32_t mode;           /* BOUNCE_* of the current bounce */
	uint32_t left;           /* bounces left (the kernel's -bounces) */
	uint32_t phase;          /* odd: lockers run; even: they stop */
	uint32_t done[NLOCKERS]; /* last even phase each locker reached */
	uint32_t ready[NLOCKERS];
	int stop_resolvers;
	int exit;
	uint64_t count_verify[NPG];

	/* requesters, for the THREAD_ID check */
	int cpu_tid[NLC];
	uint32_t cons_ptid[NLC];
	struct mmrt_consumer *cons[NLC];

	/* per bounce (reset by the main thread while the workers idle) */
	uint64_t ops[NLOCKERS];
	uint64_t copies;         /* successful copies (resolvers, copiers) */
	uint64_t copies_bg;      /* ... of which by the copiers */
	uint64_t eexist;         /* copies that found the page populated */
	uint64_t recopies;       /* second copies that returned -EEXIST */
	uint64_t msgs;           /* fault messages read */
	uint64_t miss_cpu_rd;    /* MISSING faults from CPU lockers, read */
	uint64_t miss_cpu_wr;    /* ... write */
	uint64_t miss_cons;      /* ... from consumers (writes) */
	uint64_t wp_msgs;        /* WP faults read */
	uint64_t cons_retries;   /* consumer translations that said -EAGAIN */
	uint32_t page_msgs[NPG]; /* fault messages read per page */
	uint64_t page_flags[NPG]; /* flags of the last one */
	uint64_t lock_spins;     /* failed page-lock attempts */

	/* whole run */
	uint64_t copy_eagain;    /* -EAGAIN from a one-page copy (no event) */
	uint64_t wp_eagain;      /* -EAGAIN from writeprotect (no event) */
	uint64_t page_reqs;      /* consumer page requests drained */

	/* first failure */
	uint32_t nfail;
	int failed;
	char why[512];
} s;

static void __rte_format_printf(1, 2)
fail(const char *fmt, ...)
{
	va_list ap;

	if (__atomic_fetch_add(&s.nfail, 1, __ATOMIC_RELAXED) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(s.why, sizeof(s.why), fmt, ap);
	va_end(ap);
	/* release: pairs with the acquire in failed() */
	__atomic_store_n(&s.failed, 1, __ATOMIC_RELEASE);
}

static bool
failed(void)
{
	return __atomic_load_n(&s.failed, __ATOMIC_ACQUIRE) != 0;
}

static bool
quitting(void)
{
	return failed() || __atomic_load_n(&s.exit, __ATOMIC_ACQUIRE) != 0;
}

#define ADD(field, n) __atomic_fetch_add(&s.field, (n), __ATOMIC_RELAXED)
#define LD(field) __atomic_load_n(&s.field, __ATOMIC_RELAXED)

static uint64_t
deadline(double secs)
{
	return rte_get_timer_cycles() + (uint64_t)(secs * rte_get_timer_hz());
}

static bool
past(uint64_t dl)
{
	return rte_get_timer_cycles() > dl;
}

static double
ms_since(uint64_t t0)
{
	return (double)(rte_get_timer_cycles() - t0) * 1e3 /
		rte_get_timer_hz();
}

static uint64_t
pattern(uint64_t nr, uint64_t word)
{
	return ((nr << 32) | word) * UINT64_C(0x9e3779b97f4a7c15);
}

/*
 * Fills.
 */

/* Copy page @p va of dst from the same page of src; wake it on -EEXIST. */
static void
copy_page(uint64_t va, bool bg)
{
	uint64_t buf[PG_WORDS];
	uint64_t nr = (va - s.dst) / PG;
	struct mmrt_uffd_copy c;
	struct mmrt_uffd_range r = { .start = va, .len = PG };
	unsigned int tries;
	int ret;

	ret = mmrt_read(s.as, s.src + nr * PG, buf, PG);
	if (ret != 0) {
		fail("read of src page %" PRIu64 ": %d", nr, ret);
		return;
	}
	for (tries = 0; ; tries++) {
		memset(&c, 0, sizeof(c));
		c.dst = va;
		c.src = buf;
		c.len = PG;
		c.mode = s.wp ? MMRT_UFFD_MODE_WP : 0;
		c.copy = INT64_MIN;
		ret = mmrt_uffd_copy(s.u, &c);
		/*
		 * One page and no layout event (none is asked for): -EAGAIN
		 * is outside the contract. Count it, retry a bounded number
		 * of times, report it at the end.
		 */
		if (ret != -EAGAIN || tries >= EAGAIN_RETRIES)
			break;
		ADD(copy_eagain, 1);
		sched_yield();
	}
	if (ret == 0) {
		if (c.copy != (int64_t)PG) {
			fail("copy of page %" PRIu64 " returned 0 with copy %"
				PRId64, nr, c.copy);
			return;
		}
		ADD(copies, 1);
		if (bg)
			ADD(copies_bg, 1);
		if ((nr % RECOPY_EVERY) != 0)
			return;
		/* the kernel's SIGALRM check: a second copy must fail */
		c.copy = INT64_MIN;
		ret = mmrt_uffd_copy(s.u, &c);
		if (ret != -EEXIST || c.copy != -EEXIST) {
			fail("second copy of page %" PRIu64 ": %d (copy %"
				PRId64 "), want -EEXIST", nr, ret, c.copy);
			return;
		}
		ADD(recopies, 1);
		return;
	}
	if (ret == -EEXIST) {
		if (c.copy != -EEXIST) {
			fail("copy of page %" PRIu64 ": -EEXIST with copy %"
				PRId64, nr, c.copy);
			return;
		}
		ADD(eexist, 1);
		/* populated meanwhile: its waiters still need the wake */
		ret = mmrt_uffd_wake(s.u, &r);
		if (ret != 0)
			fail("wake of page %" PRIu64 ": %d", nr, ret);
		return;
	}
	fail("copy of page %" PRIu64 " (%s): %d (copy %" PRId64 ")", nr,
		bg ? "copier" : "resolver", ret, c.copy);
}

static int
writeprotect(uint64_t va, uint64_t len, bool set)
{
	struct mmrt_uffd_writeprotect w = {
		.range = { .start = va, .len = len },
		.mode = set ? MMRT_UFFD_MODE_WP : 0,
	};
	unsigned int tries;
	int ret;

	for (tries = 0; ; tries++) {
		ret = mmrt_uffd_writeprotect(s.u, &w);
		if (ret != -EAGAIN || tries >= EAGAIN_RETRIES)
			return ret;
		ADD(wp_eagain, 1);
		sched_yield();
	}
}

static void *
copier_main(void *arg)
{
	unsigned int lc = (unsigned int)(uintptr_t)arg;
	uint64_t nr, start = lc * NPG_LC, mid = start + NPG_LC / 2;
	uint64_t end = start + NPG_LC;
	int ret;

	/*
	 * Yield after every page: on two cores the copier would otherwise
	 * fill its slice before the lockers fault on much of it.
	 */
	for (nr = start; nr < mid && !quitting(); nr++) {
		copy_page(s.dst + nr * PG, true);
		sched_yield();
	}
	if (s.wp) {
		/* protect the slice: the copied half, markers on the rest */
		ret = writeprotect(s.dst + start * PG, NPG_LC * PG, true);
		if (ret != 0)
			fail("copier %u: writeprotect of its slice: %d", lc,
				ret);
	}
	for (nr = mid; nr < end && !quitting(); nr++) {
		copy_page(s.dst + nr * PG, true);
		sched_yield();
	}
	return NULL;
}

/*
 * Resolvers.
 */

/*
 * Who posted a fault: CPU locker @p *idx (*cpu) or consumer @p *idx.
 * false for anybody else.
 */
static bool
known_requester(uint32_t ptid, bool *cpu, unsigned int *idx)
{
	unsigned int i;

	for (i = 0; i < NLC; i++) {
		*idx = i;
		if (ptid == s.cons_ptid[i]) {
			*cpu = false;
			return true;
		}
		if ((int)ptid == s.cpu_tid[i]) {
			*cpu = true;
			return true;
		}
	}
	return false;
}

static void
handle(const struct mmrt_uffd_msg *m)
{
	uint64_t flags = m->arg.pagefault.flags;
	uint64_t va = m->arg.pagefault.address;
	uint32_t ptid = m->arg.pagefault.ptid;
	unsigned int who;
	bool cpu, wr;
	int ret;

	if (m->event != MMRT_UFFD_EVENT_PAGEFAULT) {
		fail("unexpected event %#x (no event feature asked for)",
			m->event);
		return;
	}
	ADD(msgs, 1);
	if (va >= s.dst && va < s.dst + (uint64_t)NPG * PG) {
		ADD(page_msgs[(va - s.dst) / PG], 1);
		__atomic_store_n(&s.page_flags[(va - s.dst) / PG], flags,
			__ATOMIC_RELAXED);
	}
	if ((flags & ~(MMRT_UFFD_PAGEFAULT_FLAG_WRITE |
			MMRT_UFFD_PAGEFAULT_FLAG_WP |
			MMRT_UFFD_PAGEFAULT_FLAG_MINOR)) != 0 ||
			(flags & MMRT_UFFD_PAGEFAULT_FLAG_MINOR) != 0) {
		fail("fault at %#" PRIx64 ": flags %#" PRIx64, va, flags);
		return;
	}
	if (va < s.dst || va >= s.dst + (uint64_t)NPG * PG ||
			(va & (PG - 1)) != 0) {
		fail("fault at %#" PRIx64 ": not a page of dst [%#" PRIx64
			", +%#" PRIx64 ")", va, s.dst, (uint64_t)NPG * PG);
		return;
	}
	if (!known_requester(ptid, &cpu, &who)) {
		fail("fault at %#" PRIx64 ": unknown requester %#" PRIx32,
			va, ptid);
		return;
	}
	if (flags & MMRT_UFFD_PAGEFAULT_FLAG_WP) {
		if (!s.wp || !(flags & MMRT_UFFD_PAGEFAULT_FLAG_WRITE)) {
			fail("WP fault at %#" PRIx64 ", flags %#" PRIx64
				"%s", va, flags, s.wp ? "" :
				" (WP not registered)");
			return;
		}
		ADD(wp_msgs, 1);
		ret = writeprotect(va, PG, false);
		if (ret != 0)
			fail("unprotect %#" PRIx64 ": %d", va, ret);
		return;
	}
	/*
	 * MISSING. The kernel asserts it is a read: its locker's first
	 * touch is a read. Here it depends on the requester: CPU locker 0
	 * reads first (mmrt_read()), CPU locker 1 writes first (mmrt_write()
	 * of the constant magic word), consumers translate for a write. The
	 * message carries the access of whoever posted it (later faults on
	 * the page are deduplicated).
	 */
	wr = (flags & MMRT_UFFD_PAGEFAULT_FLAG_WRITE) != 0;
	if (cpu) {
		if (wr != (who == 1)) {
			fail("MISSING fault at %#" PRIx64 " from CPU locker %u "
				"has flags %#" PRIx64 ": it %s first", va, who,
				flags, who == 1 ? "writes" : "reads");
			return;
		}
		if (wr)
			ADD(miss_cpu_wr, 1);
		else
			ADD(miss_cpu_rd, 1);
	} else {
		if (!wr) {
			fail("MISSING fault at %#" PRIx64 " from consumer %u "
				"is not a write", va, who);
			return;
		}
		ADD(miss_cons, 1);
	}
	copy_page(va, false);
}

/*
 * One read of a resolver's loop: up to @n messages of @u into @m. A read
 * that finds nothing relaxes (step *@i); once *@stop is set, the first
 * read that finds nothing sets *@done (so the ring is drained first).
 * @return what mmrt_uffd_read() returned.
 */
static int
resolver_read(struct mmrt_uffd *u, struct mmrt_uffd_msg *m, unsigned int n,
	int *stop, unsigned long *i, bool *done)
{
	int stopped = __atomic_load_n(stop, __ATOMIC_ACQUIRE);
	int ret = mmrt_uffd_read(u, m, n);

	*done = ret == 0 && stopped;
	if (ret == 0 && !stopped)
		relax((*i)++);
	return ret;
}

static void *
resolver_main(void *arg)
{
	struct mmrt_uffd_msg m[RD_BATCH];
	unsigned int n = (s.mode & BOUNCE_POLL) ? RD_BATCH : 1;
	unsigned long i = 0;
	bool done;
	int ret, k;

	RTE_SET_USED(arg);
	while (!failed()) {
		ret = resolver_read(s.u, m, n, &s.stop_resolvers, &i, &done);
		if (ret < 0 || ret > (int)n) {
			fail("mmrt_uffd_read: %d", ret);
			break;
		}
		if (done)
			break;
		for (k = 0; k < ret; k++)
			handle(&m[k]);
	}
	return NULL;
}

/*
 * Lockers.
 */

/* Next page of a locker, per the mode bits (the kernel's choice). */
static uint64_t
next_page(uint64_t *nr, uint64_t *rnd)
{
	if (s.mode & BOUNCE_RANDOM)
		*nr = mmrt_test_xorshift(rnd);
	else
		*nr += 1;
	return *nr % NPG;
}

static void
first_page(unsigned int me, uint64_t *nr)
{
	*nr = (uint64_t)NPG - s.left % NPG;
	if (!(s.mode & BOUNCE_RACINGFAULTS))
		*nr += (uint64_t)me * (NPG / NLOCKERS);
}

/* What the resolvers saw of page @p nr, and the uffd's counters. */
static const char *
page_diag(uint64_t nr, char *buf, size_t size)
{
	struct mmrt_uffd_stats st;
	struct mmrt_xlate x;

	memset(&st, 0, sizeof(st));
	mmrt_uffd_stats(s.u, &st);
	snprintf(buf, size, "%" PRIu32 " messages read for the page this "
		"bounce (last flags %#" PRIx64 "), translate for a write: %d; "
		"uffd: %" PRIu64 " faults, %" PRIu64 " dedup, %" PRIu64
		" pending, %" PRIu64 " full", LD(page_msgs[nr]),
		LD(page_flags[nr]), mmrt_translate(s.as, s.dst + nr * PG,
			MMRT_ACCESS_WRITE, &x), st.faults, st.faults_dedup,
		st.pending, st.faults_full);
	return buf;
}

/*
 * One operation of a CPU locker on page @p nr; @p hold: keep the lock over
 * a yield (so that other lockers find it taken).
 */
/*
 * Past @dl (or quitting) and page @nr still not locked by @who @id: say
 * so with fail(). @return true then (the operation gives up).
 */
static bool
lock_late(const char *who, unsigned int id, uint64_t nr, uint64_t dl)
{
	char diag[256];

	if (!past(dl) && !quitting())
		return false;
	fail("%s %u: page %" PRIu64 " not locked in %.0f s (%s)", who, id, nr,
		OP_TIMEOUT_S, page_diag(nr, diag, sizeof(diag)));
	return true;
}

/*
 * CPU locker @me reads (or, @write, writes) *@cnt as the count of page
 * @nr at @va. @return false after fail() if the accessor failed.
 */
static bool
locker_count(unsigned int me, uint64_t nr, uint64_t va, uint64_t *cnt,
	bool write)
{
	uint64_t at = va + offsetof(struct pg_hdr, count);
	char diag[256];
	int ret;

	ret = write ? mmrt_write(s.as, at, cnt, sizeof(*cnt)) :
		mmrt_read(s.as, at, cnt, sizeof(*cnt));
	if (ret == 0)
		return true;
	fail("CPU locker %u: %s of the count of page %" PRIu64 ": %d (%s)",
		me, write ? "write" : "read", nr, ret,
		page_diag(nr, diag, sizeof(diag)));
	return false;
}

static void
cpu_op(unsigned int me, uint64_t nr, bool hold)
{
	uint64_t va = s.dst + nr * PG;
	uint64_t dl = deadline(OP_TIMEOUT_S);
	uint64_t cnt, want, *lock = NULL;
	char diag[256];
	struct mmrt_xlate x;
	unsigned long i = 0;
	int ret;

	/*
	 * The first touch waits for the fill: a read (locker 0, as the
	 * kernel's), or a write of the magic word, which never changes, so
	 * it needs no lock (locker 1).
	 */
	if (me == 0) {
		ret = mmrt_read(s.as, va + offsetof(struct pg_hdr, count),
			&cnt, sizeof(cnt));
	} else {
		cnt = PAGE_MAGIC;
		ret = mmrt_write(s.as, va + offsetof(struct pg_hdr, magic),
			&cnt, sizeof(cnt));
	}
	if (ret != 0) {
		fail("CPU locker %u: first touch of page %" PRIu64 ": %d (%s)",
			me, nr, ret, page_diag(nr, diag, sizeof(diag)));
		return;
	}
	for (;;) {
		ret = mmrt_translate(s.as, va, MMRT_ACCESS_WRITE, &x);
		if (ret == 0) {
			want = 0;
			lock = (uint64_t *)x.addr;
			if (__atomic_compare_exchange_n(lock, &want, me + 1,
					false, __ATOMIC_ACQUIRE,
					__ATOMIC_RELAXED))
				break;
			ADD(lock_spins, 1);
		} else if (ret == -EACCES) {
			/* write-protected: wait for the resolver */
			ret = mmrt_fault(s.as, va, MMRT_ACCESS_WRITE);
		} else if (ret == -EFAULT) {
			/* not present (nothing zaps dst in a bounce) */
			ret = mmrt_read(s.as, va, &cnt, sizeof(cnt));
		}
		if (ret != 0) {
			fail("CPU locker %u: page %" PRIu64 ": %d (%s)", me,
				nr, ret, page_diag(nr, diag, sizeof(diag)));
			return;
		}
		if (lock_late("CPU locker", me, nr, dl))
			return;
		relax(i++);
	}
	/* locked: the counter goes through the accessors */
	if (!locker_count(me, nr, va, &cnt, false))
		goto unlock;
	if (cnt != s.count_verify[nr]) {
		fail("page %" PRIu64 " memory corruption (CPU locker %u): "
			"count %" PRIu64 ", oracle %" PRIu64, nr, me, cnt,
			s.count_verify[nr]);
		goto unlock;
	}
	if (hold)
		sched_yield();
	cnt++;
	if (!locker_count(me, nr, va, &cnt, true))
		goto unlock;
	s.count_verify[nr] = cnt;
unlock:
	if (__atomic_load_n(lock, __ATOMIC_RELAXED) != me + 1)
		fail("page %" PRIu64 ": lock word %" PRIu64 " under CPU "
			"locker %u", nr, *lock, me);
	/* release: the count and count_verify[] before the unlock */
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

/*
 * One operation of a consumer locker on page @p nr; @p hold: keep the lock
 * a little longer (not over a yield: invalidations wait for our poll).
 */
static void
cons_op(unsigned int lc, uint64_t nr, bool hold)
{
	struct mmrt_consumer *c = s.cons[lc];
	unsigned int me = NLC + lc;
	uint64_t va = s.dst + nr * PG;
	uint64_t dl = deadline(OP_TIMEOUT_S);
	uint64_t rva[8], cnt, want;
	uint32_t racc[8];
	struct mmrt_xlate x;
	struct pg_hdr *h = NULL;
	unsigned long i = 0;
	int ret;

	for (;;) {
		ret = mmrt_consumer_translate(c, va, MMRT_ACCESS_WRITE, &x);
		if (ret == 0) {
			want = 0;
			h = (struct pg_hdr *)x.addr;
			if (__atomic_compare_exchange_n(&h->lock, &want,
					me + 1, false, __ATOMIC_ACQUIRE,
					__ATOMIC_RELAXED))
				break;
			/* taken: drop the translation, poll, retry */
			ADD(lock_spins, 1);
		} else if (ret == -EAGAIN) {
			ADD(cons_retries, 1);
		} else {
			fail("consumer %u: translate page %" PRIu64 ": %d",
				lc, nr, ret);
			return;
		}
		/* a request only comes from a busy map lock: retrying does */
		ret = mmrt_consumer_page_requests(c, rva, racc, RTE_DIM(rva));
		if (ret > 0)
			ADD(page_reqs, ret);
		mmrt_consumer_poll(c);
		if (lock_late("consumer", lc, nr, dl))
			return;
		relax(i++);
	}
	/* locked, and the translation is held until the next poll */
	if (h->nr != nr || h->magic != PAGE_MAGIC) {
		fail("consumer %u: page %" PRIu64 " has header nr %" PRIu64
			" magic %#" PRIx64, lc, nr, h->nr, h->magic);
		goto unlock;
	}
	cnt = __atomic_load_n(&h->count, __ATOMIC_RELAXED);
	if (cnt != s.count_verify[nr]) {
		fail("page %" PRIu64 " memory corruption (consumer %u): "
			"count %" PRIu64 ", oracle %" PRIu64, nr, lc, cnt,
			s.count_verify[nr]);
		goto unlock;
	}
	for (i = 0; hold && i < 256; i++)
		rte_pause();
	cnt++;
	__atomic_store_n(&h->count, cnt, __ATOMIC_RELAXED);
	s.count_verify[nr] = cnt;
unlock:
	if (__atomic_load_n(&h->lock, __ATOMIC_RELAXED) != me + 1)
		fail("page %" PRIu64 ": lock word %" PRIu64 " under consumer "
			"%u", nr, h->lock, lc);
	__atomic_store_n(&h->lock, 0, __ATOMIC_RELEASE);
	mmrt_consumer_poll(c);
}

static void *
locker_main(void *arg)
{
	unsigned int me = (unsigned int)(uintptr_t)arg;
	bool cons = me >= NLC, hold;
	unsigned int lc = me % NLC;
	uint64_t nr = 0, rnd;
	uint32_t ph, seen = 0;
	unsigned long i = 0;

	rnd = rte_rdtsc() * 2654435761u + me * 40503u + 1;
	if (cons) {
		if (mmrt_thread_register() < 0) {
			fail("consumer %u: mmrt_thread_register", lc);
			return NULL;
		}
	} else {
		s.cpu_tid[lc] = rte_gettid();
	}
	__atomic_store_n(&s.ready[me], 1, __ATOMIC_RELEASE);
	while (!quitting()) {
		ph = __atomic_load_n(&s.phase, __ATOMIC_ACQUIRE);
		if ((ph & 1) == 0) {
			/* between bounces: keep acking invalidations */
			if (__atomic_load_n(&s.done[me], __ATOMIC_RELAXED) !=
					ph)
				__atomic_store_n(&s.done[me], ph,
					__ATOMIC_RELEASE);
			if (cons)
				mmrt_consumer_poll(s.cons[lc]);
			relax(i++);
			continue;
		}
		if (ph != seen) {
			seen = ph;
			first_page(me, &nr);
		}
		hold = (LD(ops[me]) & 7) == 7;
		if (cons)
			cons_op(lc, next_page(&nr, &rnd), hold);
		else
			cpu_op(me, next_page(&nr, &rnd), hold);
		/* every locker gets its turn when the cores are shared */
		if ((ADD(ops[me], 1) & 15) == 15)
			sched_yield();
	}
	if (cons) {
		mmrt_consumer_poll(s.cons[lc]);
		mmrt_thread_unregister();
	}
	return NULL;
}

/*
 * Main thread.
 */

static pthread_t lockers[NLOCKERS], copiers[NLC], resolvers[NLC];
static bool lockers_up[NLOCKERS], copiers_up[NLC], resolvers_up[NLC];

/*
 * Start @p fn on "lcore" @p lc: pinned to the cpus of the lc-th EAL lcore
 * (wrapping around if there are fewer), so that each worker set has its
 * own core when there are two. Threads would otherwise inherit the main
 * lcore's affinity and all share one core.
 */
static int
start_on(pthread_t *th, unsigned int lc, void *(*fn)(void *), void *arg)
{
	unsigned int lcore, n = 0, k;
	pthread_attr_t attr;
	rte_cpuset_t set;
	int ret;

	RTE_LCORE_FOREACH(lcore)
		n++;
	k = lc % RTE_MAX(n, 1u);
	RTE_LCORE_FOREACH(lcore)
		if (k-- == 0)
			break;
	if (lcore >= RTE_MAX_LCORE)
		lcore = rte_get_main_lcore();
	set = rte_lcore_cpuset(lcore);
	ret = pthread_attr_init(&attr);
	if (ret != 0)
		return ret;
	ret = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	if (ret == 0)
		ret = pthread_create(th, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return ret;
}

static bool
join_by(pthread_t th, double secs)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)secs;
	return pthread_timedjoin_np(th, NULL, &ts) == 0;
}

/* Stop every thread (bounded), then fail with the first recorded reason. */
static void
bail(const char *where)
{
	unsigned int i;

	__atomic_store_n(&s.exit, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&s.stop_resolvers, 1, __ATOMIC_RELEASE);
	for (i = 0; i < NLC; i++) {
		if (copiers_up[i] && join_by(copiers[i], STEP_TIMEOUT_S))
			copiers_up[i] = false;
		if (resolvers_up[i] && join_by(resolvers[i], STEP_TIMEOUT_S))
			resolvers_up[i] = false;
	}
	for (i = 0; i < NLOCKERS; i++)
		if (lockers_up[i] && join_by(lockers[i], STEP_TIMEOUT_S))
			lockers_up[i] = false;
	cr_assert_fail("%s: %s", where, failed() ? s.why : "(no reason)");
}

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fail(__VA_ARGS__); \
		bail(#cond); \
	} \
} while (0)

static void
check_failed(const char *where)
{
	if (failed())
		bail(where);
}

static void
join_step(pthread_t *th, bool *up, unsigned int n, const char *what)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!up[i])
			continue;
		CHECK(join_by(th[i], STEP_TIMEOUT_S), "%s %u did not finish "
			"in %.0f s", what, i, STEP_TIMEOUT_S);
		up[i] = false;
	}
}

/* Fill src (area @p va) with the initial pages. */
static void
init_area(uint64_t va)
{
	uint64_t buf[PG_WORDS];
	struct pg_hdr *h = (struct pg_hdr *)buf;
	uint64_t nr, w;

	for (nr = 0; nr < NPG; nr++) {
		for (w = HDR_WORDS; w < PG_WORDS; w++)
			buf[w] = pattern(nr, w);
		h->lock = 0;
		h->count = 1;
		h->nr = nr;
		h->magic = PAGE_MAGIC;
		s.count_verify[nr] = 1;
		cr_assert_eq(mmrt_write(s.as, va + nr * PG, buf, PG), 0);
	}
}

/* Every page of dst against count_verify[] and the pattern. */
static void
verify_dst(void)
{
	uint64_t buf[PG_WORDS];
	const struct pg_hdr *h = (const struct pg_hdr *)buf;
	uint64_t nr, w;
	int ret;

	for (nr = 0; nr < NPG; nr++) {
		ret = mmrt_read(s.as, s.dst + nr * PG, buf, PG);
		CHECK(ret == 0, "verify: read of page %" PRIu64 ": %d", nr,
			ret);
		CHECK(h->count == s.count_verify[nr] && h->nr == nr &&
			h->magic == PAGE_MAGIC && h->lock == 0,
			"verify: page %" PRIu64 " has count %" PRIu64
			" (oracle %" PRIu64 "), nr %" PRIu64 ", magic %#"
			PRIx64 ", lock %" PRIu64, nr, h->count,
			s.count_verify[nr], h->nr, h->magic, h->lock);
		for (w = HDR_WORDS; w < PG_WORDS; w++)
			CHECK(buf[w] == pattern(nr, w), "verify: page %" PRIu64
				" word %" PRIu64 " is %#" PRIx64 ", want %#"
				PRIx64, nr, w, buf[w], pattern(nr, w));
	}
}

static void
wait_lockers(uint32_t ph)
{
	uint64_t dl = deadline(STEP_TIMEOUT_S);
	unsigned long i = 0;
	unsigned int k;

	for (k = 0; k < NLOCKERS; k++) {
		while (__atomic_load_n(&s.done[k], __ATOMIC_ACQUIRE) != ph) {
			check_failed("stopping the lockers");
			CHECK(!past(dl), "locker %u did not stop in %.0f s", k,
				STEP_TIMEOUT_S);
			relax(i++);
		}
	}
}

static void
wait_min_ops(void)
{
	uint64_t dl = deadline(STEP_TIMEOUT_S);
	unsigned long i = 0;
	unsigned int k;

	for (k = 0; k < NLOCKERS; k++) {
		while (__atomic_load_n(&s.ops[k], __ATOMIC_RELAXED) <
				MIN_OPS) {
			check_failed("running the lockers");
			CHECK(!past(dl), "locker %u did %" PRIu64 " of %u "
				"operations in %.0f s", k, LD(ops[k]),
				MIN_OPS, STEP_TIMEOUT_S);
			relax(i++);
		}
	}
}

static void
reset_bounce_counters(void)
{
	memset(s.ops, 0, sizeof(s.ops));
	s.copies = s.copies_bg = s.eexist = s.recopies = 0;
	s.msgs = s.miss_cpu_rd = s.miss_cpu_wr = s.miss_cons = 0;
	s.wp_msgs = s.cons_retries = s.lock_spins = 0;
	memset(s.page_msgs, 0, sizeof(s.page_msgs));
	memset(s.page_flags, 0, sizeof(s.page_flags));
}

/*
 * Resolvers of a bounce: one per lcore, but a single one in the WP
 * variant. Two resolvers that un-protect at once nest their gathers, and
 * each then flushes every consumer's whole TLB (the nested-flush rule of
 * mm_gather_finish()), spinning until the consumers ack; a consumer
 * pinned to the same core cannot poll until the resolver is preempted.
 * With two resolvers a WP bounce takes 0.5 to 30 s instead of 0.5 s.
 */
static unsigned int
nres(void)
{
	return s.wp ? 1 : NLC;
}

static void
bounce(unsigned int iter)
{
	uint64_t reg = MMRT_UFFD_REGISTER_MODE_MISSING |
		(s.wp ? MMRT_UFFD_REGISTER_MODE_WP : 0);
	uint64_t len = (uint64_t)NPG * PG, ops = 0, want_ops, tmp, t0;
	struct mmrt_uffd_stats st0, st1;
	unsigned int i;
	int ret;

	t0 = rte_get_timer_cycles();
	ret = mmrt_uffd_register(s.u, s.dst, len, reg, &ops);
	CHECK(ret == 0, "register dst: %d", ret);
	want_ops = MMRT_UFFD_OP_WAKE | MMRT_UFFD_OP_COPY |
		MMRT_UFFD_OP_ZEROPAGE |
		(s.wp ? MMRT_UFFD_OP_WRITEPROTECT : 0);
	CHECK((ops & want_ops) == want_ops && !(ops & MMRT_UFFD_OP_CONTINUE) &&
		(s.wp || !(ops & MMRT_UFFD_OP_WRITEPROTECT)),
		"register: ops %#" PRIx64 ", want %#" PRIx64, ops, want_ops);
	/* a late fill of the last bounce may have populated the new dst */
	ret = mmrt_advise(s.as, s.dst, len, MMRT_ADV_DONTNEED);
	CHECK(ret == 0, "zap dst: %d", ret);
	CHECK(mmrt_uffd_stats(s.u, &st0) == 0, "stats");
	CHECK(st0.pending == 0, "%" PRIu64 " faults pending before the "
		"bounce", st0.pending);

	reset_bounce_counters();
	__atomic_store_n(&s.stop_resolvers, 0, __ATOMIC_RELEASE);
	for (i = 0; i < nres(); i++) {
		CHECK(start_on(&resolvers[i], i, resolver_main, NULL) == 0,
			"resolver create");
		resolvers_up[i] = true;
	}
	for (i = 0; i < NLC; i++) {
		CHECK(start_on(&copiers[i], i, copier_main,
			(void *)(uintptr_t)i) == 0, "copier create");
		copiers_up[i] = true;
	}
	/* release: the mode and the reset counters before the lockers run */
	__atomic_store_n(&s.phase, 2 * iter + 1, __ATOMIC_RELEASE);

	join_step(copiers, copiers_up, NLC, "copier");
	check_failed("copying");
	wait_min_ops();
	/* zap src while the lockers run, as the kernel does */
	ret = mmrt_advise(s.as, s.src, len, MMRT_ADV_DONTNEED);
	CHECK(ret == 0, "zap src: %d", ret);
	__atomic_store_n(&s.phase, 2 * iter + 2, __ATOMIC_RELEASE);
	wait_lockers(2 * iter + 2);
	__atomic_store_n(&s.stop_resolvers, 1, __ATOMIC_RELEASE);
	join_step(resolvers, resolvers_up, nres(), "resolver");
	check_failed("resolving");

	if (s.wp) {
		ret = writeprotect(s.dst, len, false);
		CHECK(ret == 0, "unprotect dst: %d", ret);
	}
	ret = mmrt_uffd_unregister(s.u, s.dst, len);
	CHECK(ret == 0, "unregister dst: %d", ret);
	CHECK(mmrt_uffd_stats(s.u, &st1) == 0, "stats");

	/* every page of dst is filled exactly once */
	CHECK(s.copies == NPG, "%" PRIu64 " successful copies into %u pages",
		s.copies, NPG);
	tmp = st1.filled_pages - st0.filled_pages;
	CHECK(tmp == NPG, "stats: %" PRIu64 " pages filled, %u copied", tmp,
		NPG);
	/* every fault posted was read, none is left */
	tmp = st1.faults - st0.faults;
	CHECK(tmp == s.msgs, "stats: %" PRIu64 " faults posted, %" PRIu64
		" messages read", tmp, s.msgs);
	tmp = st1.faults_wp - st0.faults_wp;
	CHECK(tmp == s.wp_msgs, "stats: %" PRIu64 " WP faults, %" PRIu64
		" read", tmp, s.wp_msgs);
	tmp = st1.faults_missing - st0.faults_missing;
	CHECK(tmp == s.msgs - s.wp_msgs, "stats: %" PRIu64 " MISSING "
		"faults, %" PRIu64 " read", tmp, s.msgs - s.wp_msgs);
	CHECK(st1.faults_minor == st0.faults_minor &&
		st1.faults_sigbus == st0.faults_sigbus,
		"stats: MINOR or SIGBUS faults");
	CHECK(st1.pending == 0, "stats: %" PRIu64 " faults pending after "
		"the bounce", st1.pending);
	CHECK(s.recopies > 0, "no second copy was tried");

	verify_dst();
	cr_log_info("%s bounce %u [%s%s%s]: %.0f ms, faults %" PRIu64
		" (missing %" PRIu64 ": cpu r %" PRIu64 " w %" PRIu64
		", consumer %" PRIu64 "; wp %" PRIu64 "), dedup %" PRIu64
		", full %" PRIu64 ", copies %" PRIu64 " (copier %" PRIu64
		", eexist %" PRIu64 ", 2nd copies %" PRIu64 "), wakes %" PRIu64
		", ops cpu %" PRIu64 "/%" PRIu64 " consumer %" PRIu64 "/%"
		PRIu64 ", consumer retries %" PRIu64 ", lock spins %" PRIu64,
		s.wp ? "wp" : "missing", s.left,
		(s.mode & BOUNCE_RANDOM) ? "rnd" : "seq",
		(s.mode & BOUNCE_RACINGFAULTS) ? " racing" : "",
		(s.mode & BOUNCE_POLL) ? " poll" : " read",
		ms_since(t0), st1.faults - st0.faults,
		st1.faults_missing - st0.faults_missing, s.miss_cpu_rd,
		s.miss_cpu_wr, s.miss_cons, st1.faults_wp - st0.faults_wp,
		st1.faults_dedup - st0.faults_dedup,
		st1.faults_full - st0.faults_full, s.copies, s.copies_bg,
		s.eexist, s.recopies, st1.wakes - st0.wakes, s.ops[0],
		s.ops[1], s.ops[2], s.ops[3], s.cons_retries, s.lock_spins);

	tmp = s.src;
	s.src = s.dst;
	s.dst = tmp;
}

static void
run(bool wp)
{
	uint64_t want = MMRT_UFFD_FEATURE_THREAD_ID | (wp ?
		MMRT_UFFD_FEATURE_PAGEFAULT_FLAG_WP |
		MMRT_UFFD_FEATURE_WP_UNPOPULATED : 0);
	struct mmrt_uffd_conf conf = { .ring_size = 0,
		.wait_timeout_us = WAIT_TIMEOUT_US };
	struct mmrt_consumer_conf cc = { .ack_deadline_us = ACK_DEADLINE_US };
	struct mmrt_uffd_stats st;
	struct mmrt_consumer_stats cst;
	uint64_t used0, features = want, userfaults = 0, t0;
	unsigned long spin = 0;
	unsigned int i, iter;
	char name[MMRT_CONSUMER_NAME_SIZE];
	uint64_t dl;
	int id;

	memset(&s, 0, sizeof(s));
	s.wp = wp;
	used0 = mmrt_test_used();
	t0 = rte_get_timer_cycles();
	s.as = mmrt_as_create(wp ? "bounce-wp" : "bounce");
	cr_assert_not_null(s.as);
	cr_assert_eq(mmrt_map(s.as, AREA_0, (uint64_t)NPG * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(s.as, AREA_1, (uint64_t)NPG * PG, RW, 0), 0);
	s.src = AREA_0;
	s.dst = AREA_1;
	init_area(s.src);

	s.u = mmrt_uffd_create(s.as, MMRT_UFFD_API, &features, &conf);
	cr_assert_not_null(s.u, "mmrt_uffd_create: %d", rte_errno);
	cr_assert_eq(features & want, want, "features %#" PRIx64, features);
	cr_assert_eq(mmrt_uffd_features(s.u) & want, want);

	for (i = 0; i < NLC; i++) {
		snprintf(name, sizeof(name), "bounce%u", i);
		cc.name = name;
		s.cons[i] = mmrt_consumer_create(&cc);
		cr_assert_not_null(s.cons[i]);
		id = mmrt_consumer_bind(s.cons[i], s.as);
		cr_assert_gt(id, 0);
		s.cons_ptid[i] = MMRT_UFFD_REQUESTER_CONSUMER | (uint32_t)id;
	}
	for (i = 0; i < NLOCKERS; i++) {
		cr_assert_eq(start_on(&lockers[i], i % NLC, locker_main,
			(void *)(uintptr_t)i), 0);
		lockers_up[i] = true;
	}
	dl = deadline(STEP_TIMEOUT_S);
	for (i = 0; i < NLOCKERS; i++)
		while (!__atomic_load_n(&s.ready[i], __ATOMIC_ACQUIRE)) {
			check_failed("starting the lockers");
			CHECK(!past(dl), "locker %u did not start", i);
			relax(spin++);
		}

	for (iter = 0; iter < BOUNCES; iter++) {
		s.left = BOUNCES - 1 - iter;
		s.mode = s.left;
		bounce(iter);
	}

	__atomic_store_n(&s.exit, 1, __ATOMIC_RELEASE);
	join_step(lockers, lockers_up, NLOCKERS, "locker");
	check_failed("the end");
	for (i = 0; i < NLC; i++) {
		cr_assert_eq(mmrt_consumer_stats(s.cons[i], &cst), 0);
		cr_assert_eq(cst.fences, 0, "consumer %u was fenced", i);
		userfaults += cst.userfaults;
		cr_assert_eq(mmrt_consumer_destroy(s.cons[i]), 0);
	}
	cr_assert_eq(mmrt_uffd_stats(s.u, &st), 0);
	cr_log_info("%s: %u bounces of %u pages in %.0f ms: faults %" PRIu64
		" (missing %" PRIu64 ", wp %" PRIu64 "), dedup %" PRIu64
		", full %" PRIu64 ", wakes %" PRIu64 ", filled %" PRIu64
		", consumer userfaults %" PRIu64 ", page requests %" PRIu64,
		wp ? "wp" : "missing", BOUNCES, NPG, ms_since(t0), st.faults,
		st.faults_missing, st.faults_wp, st.faults_dedup,
		st.faults_full, st.wakes, st.filled_pages, userfaults,
		s.page_reqs);
	cr_assert_eq(s.copy_eagain, 0, "%" PRIu64 " one-page copies "
		"returned -EAGAIN with no layout change pending",
		s.copy_eagain);
	cr_assert_eq(s.wp_eagain, 0, "%" PRIu64 " writeprotects returned "
		"-EAGAIN with no layout change pending", s.wp_eagain);
	cr_assert_eq(st.filled_pages, (uint64_t)BOUNCES * NPG);
	cr_assert_gt(st.faults_missing, 0, "no MISSING fault: the race was "
		"not exercised");
	cr_assert_gt(userfaults, 0, "no consumer userfault");
	if (wp)
		cr_assert_gt(st.faults_wp, 0, "no WP fault");
	else
		cr_assert_eq(st.faults_wp, 0);
	cr_assert_eq(mmrt_uffd_destroy(s.u), 0);
	cr_assert_eq(mmrt_as_destroy(s.as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

MMRT_TEST_FIXTURES(64);

TestSuite(uffd_stress, .init = setup, .fini = teardown, .timeout = 240);

/*
 * The dedup set alone: posters fault (NOWAIT) on a few pages of a MISSING
 * range that is never filled, a resolver answers every message with a wake
 * only, so the pages go idle -> pending -> idle as fast as the threads run.
 * A small ring (and so a small slot table) makes pages share probe windows.
 * When everything is quiet: nothing is pending, and a new fault on every
 * page posts a message (a slot left claimed would swallow it as a
 * duplicate, and its waiter would wait out the timeout).
 */
#define DD_PAGES 24
#define DD_POSTERS NLC
#define DD_SECONDS 2.0

static struct dedup {
	struct mmrt_uffd *u;
	struct mmrt_as *as;
	int stop_posters;
	int stop_resolver;
	uint64_t posts[DD_POSTERS];
	uint64_t msgs;
	uint32_t max_pending;
	int bad;
} dd;

static void *
dd_poster(void *arg)
{
	unsigned int me = (unsigned int)(uintptr_t)arg;
	uint64_t rnd = rte_rdtsc() + me * 7919u + 1;
	int ret;

	while (!__atomic_load_n(&dd.stop_posters, __ATOMIC_ACQUIRE)) {
		ret = mmrt_fault(dd.as, AREA_0 + (mmrt_test_xorshift(&rnd) % DD_PAGES) *
			PG, MMRT_ACCESS_READ | MMRT_ACCESS_NOWAIT);
		if (ret != -EAGAIN) {
			__atomic_store_n(&dd.bad, ret == 0 ? 1 : ret,
				__ATOMIC_RELEASE);
			break;
		}
		/* the resolver shares a core with a poster */
		if ((++dd.posts[me] & 15) == 0)
			sched_yield();
	}
	return NULL;
}

static void *
dd_resolver(void *arg)
{
	struct mmrt_uffd_msg m[RD_BATCH];
	struct mmrt_uffd_range r = { .len = PG };
	struct mmrt_uffd_stats st;
	unsigned long i = 0;
	bool done;
	int ret, k;

	RTE_SET_USED(arg);
	for (;;) {
		ret = resolver_read(dd.u, m, RD_BATCH, &dd.stop_resolver, &i,
			&done);
		if (ret < 0) {
			__atomic_store_n(&dd.bad, ret, __ATOMIC_RELEASE);
			break;
		}
		if (done)
			break;
		if (ret == 0)
			continue;
		for (k = 0; k < ret; k++) {
			r.start = m[k].arg.pagefault.address;
			mmrt_uffd_wake(dd.u, &r);
		}
		dd.msgs += ret;
		if (mmrt_uffd_stats(dd.u, &st) == 0 &&
				st.pending > dd.max_pending)
			dd.max_pending = (uint32_t)st.pending;
	}
	return NULL;
}

Test(uffd_stress, dedup_slots)
{
	struct mmrt_uffd_conf conf = { .ring_size = 64,
		.wait_timeout_us = WAIT_TIMEOUT_US };
	struct mmrt_uffd_range r = { .len = PG };
	struct mmrt_uffd_stats st, st2;
	struct mmrt_uffd_msg m;
	pthread_t post[DD_POSTERS], res;
	uint64_t dl, features = 0, posts = 0, lost = 0;
	unsigned int i;
	int ret;

	memset(&dd, 0, sizeof(dd));
	dd.as = mmrt_as_create("dedup");
	cr_assert_not_null(dd.as);
	cr_assert_eq(mmrt_map(dd.as, AREA_0, DD_PAGES * PG, RW, 0), 0);
	dd.u = mmrt_uffd_create(dd.as, MMRT_UFFD_API, &features, &conf);
	cr_assert_not_null(dd.u);
	cr_assert_eq(mmrt_uffd_register(dd.u, AREA_0, DD_PAGES * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL), 0);
	cr_assert_eq(start_on(&res, 0, dd_resolver, NULL), 0);
	for (i = 0; i < DD_POSTERS; i++)
		cr_assert_eq(start_on(&post[i], i, dd_poster,
			(void *)(uintptr_t)i), 0);
	dl = deadline(DD_SECONDS);
	while (!past(dl) && !__atomic_load_n(&dd.bad, __ATOMIC_ACQUIRE))
		usleep(10000);
	__atomic_store_n(&dd.stop_posters, 1, __ATOMIC_RELEASE);
	for (i = 0; i < DD_POSTERS; i++) {
		cr_assert(join_by(post[i], STEP_TIMEOUT_S));
		posts += dd.posts[i];
	}
	__atomic_store_n(&dd.stop_resolver, 1, __ATOMIC_RELEASE);
	cr_assert(join_by(res, STEP_TIMEOUT_S));
	cr_assert_eq(dd.bad, 0, "a NOWAIT fault or a read returned %d",
		dd.bad);

	cr_assert_eq(mmrt_uffd_stats(dd.u, &st), 0);
	cr_log_info("dedup: %" PRIu64 " faults by %u posters on %u pages, %"
		PRIu64 " messages, %" PRIu64 " posted, %" PRIu64 " dedup, %"
		PRIu64 " full, most pending seen %" PRIu32 ", pending now %"
		PRIu64, posts, DD_POSTERS, DD_PAGES, dd.msgs, st.faults,
		st.faults_dedup, st.faults_full, dd.max_pending, st.pending);
	/* quiet: every message was read and its page woken */
	cr_assert_eq(st.faults, dd.msgs);
	/* each page: a new fault posts exactly one message */
	for (i = 0; i < DD_PAGES; i++) {
		cr_assert_eq(mmrt_uffd_stats(dd.u, &st), 0);
		ret = mmrt_fault(dd.as, AREA_0 + i * PG, MMRT_ACCESS_READ |
			MMRT_ACCESS_NOWAIT);
		cr_assert_eq(ret, -EAGAIN);
		cr_assert_eq(mmrt_uffd_stats(dd.u, &st2), 0);
		if (st2.faults != st.faults + 1) {
			lost++;
			cr_log_error("page %u: the fault was not posted (%"
				PRIu64 " dedup): a slot stayed claimed", i,
				st2.faults_dedup - st.faults_dedup);
			continue;
		}
		cr_assert_eq(mmrt_uffd_read(dd.u, &m, 1), 1);
		cr_assert_eq(m.arg.pagefault.address, AREA_0 + i * PG);
		r.start = AREA_0 + i * PG;
		cr_assert_eq(mmrt_uffd_wake(dd.u, &r), 0);
	}
	cr_assert_eq(mmrt_uffd_stats(dd.u, &st), 0);
	cr_assert_eq(lost, 0, "%" PRIu64 " of %u pages cannot post a fault "
		"any more (pending counter %" PRIu64 ")", lost, DD_PAGES,
		st.pending);
	cr_assert_eq(st.pending, 0, "pending %" PRIu64 " with nothing pending",
		st.pending);
	/* at most one fault per page and poster can be pending */
	cr_assert_leq(dd.max_pending, DD_PAGES * DD_POSTERS, "pending went "
		"up to %" PRIu32 " (below zero?)", dd.max_pending);
	cr_assert_eq(mmrt_uffd_destroy(dd.u), 0);
	cr_assert_eq(mmrt_as_destroy(dd.as), 0);
}

Test(uffd_stress, bounce_missing)
{
	run(false);
}

Test(uffd_stress, bounce_wp)
{
	run(true);
}
