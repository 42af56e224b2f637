/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Userfault (mmrt_uffd.h): the scenarios of the kernel's
 * tools/testing/selftests/mm/uffd-unit-tests.c re-created against the
 * runtime's API (API handshake, register ioctls, zeropage, copy, move,
 * wp-fork, wp-unpopulated, minor, sigbus, events, mmap-changing, poison),
 * plus what is specific to the runtime: CPU accessors that wait or do not
 * (MMRT_ACCESS_NOWAIT), dedup, requester ids and exact addresses, the
 * fault and event rings filling up, many readers, lib/dev consumers that
 * never wait (and lose their translations on move, remap and WP), destroy
 * and unregister with waiters, WP across remap (the kernel's
 * uffd-wp-mremap), layout operations that fail, and bad input to every
 * function.
 *
 * Every test checks that the pool balances (mmrt_test_used()). Threads
 * that wait are bounded: resolvers and waits run against a deadline
 * (spinning with rte_pause() and yielding), and the uffds are created
 * with a wait timeout, so a broken implementation fails a test instead
 * of hanging the suite. No assertion is about elapsed time.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_pause.h>

#include "common.h"
#include <mmrt_dev.h>
#include <mmrt_uffd.h>

#define POOL_MB 64

/* 2 MiB aligned bases, each in its own level-3 entry. */
#define VD (UINT64_C(4) << 30)
#define VE (UINT64_C(5) << 30)

/* How long a helper thread or a wait may take before the test fails. */
#define WAIT_S 60
/* The uffds' wait timeout: accessors give up with -ETIMEDOUT after it. */
#define UFFD_TIMEOUT_US (UINT64_C(20) * 1000 * 1000)

#define F_WP MMRT_UFFD_FEATURE_PAGEFAULT_FLAG_WP
#define F_FORK MMRT_UFFD_FEATURE_EVENT_FORK
#define F_REMAP MMRT_UFFD_FEATURE_EVENT_REMAP
#define F_REMOVE MMRT_UFFD_FEATURE_EVENT_REMOVE
#define F_UNMAP MMRT_UFFD_FEATURE_EVENT_UNMAP
#define F_SIGBUS MMRT_UFFD_FEATURE_SIGBUS
#define F_TID MMRT_UFFD_FEATURE_THREAD_ID
#define F_MINOR MMRT_UFFD_FEATURE_MINOR_SHMEM
#define F_EXACT MMRT_UFFD_FEATURE_EXACT_ADDRESS
#define F_WPSHM MMRT_UFFD_FEATURE_WP_SHMEM
#define F_WPUNPOP MMRT_UFFD_FEATURE_WP_UNPOPULATED
#define F_POISON MMRT_UFFD_FEATURE_POISON
#define F_ASYNC MMRT_UFFD_FEATURE_WP_ASYNC
#define F_MOVE MMRT_UFFD_FEATURE_MOVE
#define F_EVENTS (F_FORK | F_REMAP | F_REMOVE | F_UNMAP)

#define R_MISSING MMRT_UFFD_REGISTER_MODE_MISSING
#define R_WP MMRT_UFFD_REGISTER_MODE_WP
#define R_MINOR MMRT_UFFD_REGISTER_MODE_MINOR

#define PF_WRITE MMRT_UFFD_PAGEFAULT_FLAG_WRITE
#define PF_WP MMRT_UFFD_PAGEFAULT_FLAG_WP
#define PF_MINOR MMRT_UFFD_PAGEFAULT_FLAG_MINOR

#define NOWAIT MMRT_ACCESS_NOWAIT

/* Spin step: yield every 256 steps. */
#define relax(i) mmrt_test_relax((i), 255)

MMRT_TEST_FIXTURES(POOL_MB);

TestSuite(uffd, .init = setup, .fini = teardown, .timeout = 240);

/* ---- time bounds ---- */

#define deadline(s) mmrt_test_deadline(s)
#define expired(d) mmrt_test_expired(d)

/* ---- contents ---- */

#define cmp_buf mmrt_test_cmp_buf

static uint8_t wbuf[2 * HPG + 2 * PG] __rte_aligned(64);
static uint8_t rbuf[2 * HPG + 2 * PG] __rte_aligned(64);
static uint8_t ebuf[2 * HPG + 2 * PG] __rte_aligned(64);
static const uint8_t zbuf[2 * HPG + 2 * PG] __rte_aligned(64);

/* Contents of @npages pages from logical page @idx on for @tag. */
static void
pat(void *buf, uint64_t idx, uint64_t npages, uint64_t tag)
{
	uint8_t *b = buf;
	uint64_t i, w;

	for (i = 0; i < npages * PG; i += 8) {
		w = (tag * UINT64_C(0x9e3779b97f4a7c15)) ^ (idx * PG + i) ^
			UINT64_C(0x5a5a5a5a00000000);
		memcpy(b + i, &w, sizeof(w));
	}
}

static void
put_pat(struct mmrt_as *as, uint64_t va, uint64_t idx, uint64_t npages,
	uint64_t tag)
{
	int rc;

	cr_assert_leq(npages * PG, sizeof(wbuf));
	pat(wbuf, idx, npages, tag);
	rc = mmrt_write(as, va, wbuf, npages * PG);
	cr_assert_eq(rc, 0, "mmrt_write(%#" PRIx64 ") = %d", va, rc);
}

static void
check_pat(struct mmrt_as *as, uint64_t va, uint64_t idx, uint64_t npages,
	uint64_t tag)
{
	int rc;

	cr_assert_leq(npages * PG, sizeof(rbuf));
	rc = mmrt_read(as, va, rbuf, npages * PG);
	cr_assert_eq(rc, 0, "mmrt_read(%#" PRIx64 ") = %d", va, rc);
	pat(ebuf, idx, npages, tag);
	cmp_buf(rbuf, ebuf, npages * PG, va, "pattern");
}

static void
check_zero(struct mmrt_as *as, uint64_t va, uint64_t len)
{
	int rc;

	cr_assert_leq(len, sizeof(rbuf));
	rc = mmrt_read(as, va, rbuf, len);
	cr_assert_eq(rc, 0, "mmrt_read(%#" PRIx64 ") = %d", va, rc);
	cmp_buf(rbuf, zbuf, len, va, "zeros");
}

/* ---- uffd helpers ---- */

static struct mmrt_uffd *
mkuffd_conf(struct mmrt_as *as, uint64_t features, uint32_t ring,
	uint64_t timeout_us)
{
	struct mmrt_uffd_conf cf = {
		.ring_size = ring, .wait_timeout_us = timeout_us,
	};
	uint64_t f = features;
	struct mmrt_uffd *u = mmrt_uffd_create(as, MMRT_UFFD_API, &f, &cf);

	cr_assert_not_null(u, "uffd create %#" PRIx64 ": rte_errno %d",
		features, rte_errno);
	cr_assert_eq(f, MMRT_UFFD_FEATURES_ALL, "features out %#" PRIx64, f);
	return u;
}

static struct mmrt_uffd *
mkuffd(struct mmrt_as *as, uint64_t features)
{
	return mkuffd_conf(as, features, 0, UFFD_TIMEOUT_US);
}

static struct mmrt_uffd_stats
ust(struct mmrt_uffd *u)
{
	struct mmrt_uffd_stats st;

	cr_assert_eq(mmrt_uffd_stats(u, &st), 0);
	return st;
}

static uint64_t
reg(struct mmrt_uffd *u, uint64_t start, uint64_t len, uint64_t mode)
{
	uint64_t ops = 0;
	int rc = mmrt_uffd_register(u, start, len, mode, &ops);

	cr_assert_eq(rc, 0, "register(%#" PRIx64 ", %#" PRIx64 ", %#" PRIx64
		") = %d", start, len, mode, rc);
	cr_assert(ops & MMRT_UFFD_OP_WAKE);
	return ops;
}

static int
ucopy(struct mmrt_uffd *u, uint64_t dst, const void *src, uint64_t len,
	uint64_t mode, int64_t *res)
{
	struct mmrt_uffd_copy c = {
		.dst = dst, .src = src, .len = len, .mode = mode,
		.copy = INT64_MIN,
	};
	int rc = mmrt_uffd_copy(u, &c);

	*res = c.copy;
	return rc;
}

static void
copy_ok(struct mmrt_uffd *u, uint64_t dst, const void *src, uint64_t len,
	uint64_t mode)
{
	int64_t res;
	int rc = ucopy(u, dst, src, len, mode, &res);

	cr_assert_eq(rc, 0, "copy(%#" PRIx64 ", %#" PRIx64 ") = %d", dst, len,
		rc);
	cr_assert_eq(res, (int64_t)len, "copy result %" PRId64, res);
}

static int
uzero(struct mmrt_uffd *u, uint64_t start, uint64_t len, uint64_t mode,
	int64_t *res)
{
	struct mmrt_uffd_zeropage z = {
		.range = { .start = start, .len = len }, .mode = mode,
		.zeropage = INT64_MIN,
	};
	int rc = mmrt_uffd_zeropage(u, &z);

	*res = z.zeropage;
	return rc;
}

static int
ucont(struct mmrt_uffd *u, uint64_t start, uint64_t len, uint64_t mode,
	int64_t *res)
{
	struct mmrt_uffd_continue c = {
		.range = { .start = start, .len = len }, .mode = mode,
		.mapped = INT64_MIN,
	};
	int rc = mmrt_uffd_continue(u, &c);

	*res = c.mapped;
	return rc;
}

static int
upoison(struct mmrt_uffd *u, uint64_t start, uint64_t len, uint64_t mode,
	int64_t *res)
{
	struct mmrt_uffd_poison p = {
		.range = { .start = start, .len = len }, .mode = mode,
		.updated = INT64_MIN,
	};
	int rc = mmrt_uffd_poison(u, &p);

	*res = p.updated;
	return rc;
}

static int
umove(struct mmrt_uffd *u, uint64_t dst, uint64_t src, uint64_t len,
	uint64_t mode, int64_t *res)
{
	struct mmrt_uffd_move m = {
		.dst = dst, .src = src, .len = len, .mode = mode,
		.move = INT64_MIN,
	};
	int rc = mmrt_uffd_move(u, &m);

	*res = m.move;
	return rc;
}

static int
uwp(struct mmrt_uffd *u, uint64_t start, uint64_t len, uint64_t mode)
{
	struct mmrt_uffd_writeprotect w = {
		.range = { .start = start, .len = len }, .mode = mode,
	};

	return mmrt_uffd_writeprotect(u, &w);
}

static int
uwake(struct mmrt_uffd *u, uint64_t start, uint64_t len)
{
	struct mmrt_uffd_range r = { .start = start, .len = len };

	return mmrt_uffd_wake(u, &r);
}

/* Read messages, waiting (bounded) for at least one. */
static int
read_wait(struct mmrt_uffd *u, struct mmrt_uffd_msg *m, unsigned int n)
{
	uint64_t d = deadline(WAIT_S);
	unsigned long i = 0;
	int r;

	while ((r = mmrt_uffd_read(u, m, n)) == 0 && !expired(d))
		relax(i++);
	return r;
}

/* Exactly one message must be there: a page fault at @addr with @flags. */
static struct mmrt_uffd_msg
expect_fault(struct mmrt_uffd *u, uint64_t addr, uint64_t flags)
{
	struct mmrt_uffd_msg m[4];
	int n = read_wait(u, m, RTE_DIM(m));

	cr_assert_eq(n, 1, "%d messages, want one fault at %#" PRIx64, n,
		addr);
	cr_assert_eq(m[0].event, MMRT_UFFD_EVENT_PAGEFAULT, "event %#x",
		m[0].event);
	cr_assert_eq(m[0].arg.pagefault.address, addr, "fault at %#" PRIx64
		", want %#" PRIx64, m[0].arg.pagefault.address, addr);
	cr_assert_eq(m[0].arg.pagefault.flags, flags, "flags %#" PRIx64
		", want %#" PRIx64, m[0].arg.pagefault.flags, flags);
	return m[0];
}

static void
expect_none(struct mmrt_uffd *u)
{
	struct mmrt_uffd_msg m[4];
	int n = mmrt_uffd_read(u, m, RTE_DIM(m));

	cr_assert_eq(n, 0, "%d unexpected messages (first event %#x)", n,
		n > 0 ? m[0].event : 0);
}

/* A single event must be there. */
static struct mmrt_uffd_msg
expect_event(struct mmrt_uffd *u, uint8_t event)
{
	struct mmrt_uffd_msg m[4];
	int n = read_wait(u, m, RTE_DIM(m));

	cr_assert_eq(n, 1, "%d messages, want event %#x", n, event);
	cr_assert_eq(m[0].event, event, "event %#x, want %#x", m[0].event,
		event);
	return m[0];
}

static int
xl(struct mmrt_as *as, uint64_t va, uint32_t access, struct mmrt_xlate *x)
{
	return mmrt_translate(as, va, access, x);
}

/* ---- an accessor thread (mmrt_read/mmrt_write that may wait) ---- */

struct acc {
	pthread_t th;
	struct mmrt_as *as;
	uint64_t va;
	size_t len;
	bool write;
	uint8_t *buf;
	int ret;
	int tid;
	int started;
	int done;
};

static void *
acc_main(void *arg)
{
	struct acc *a = arg;
	int rc;

	a->tid = rte_gettid();
	__atomic_store_n(&a->started, 1, __ATOMIC_RELEASE);
	if (a->write)
		rc = mmrt_write(a->as, a->va, a->buf, a->len);
	else
		rc = mmrt_read(a->as, a->va, a->buf, a->len);
	a->ret = rc;
	__atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void
acc_start(struct acc *a, struct mmrt_as *as, uint64_t va, void *buf,
	size_t len, bool write)
{
	uint64_t d = deadline(WAIT_S);
	unsigned long i = 0;

	memset(a, 0, sizeof(*a));
	a->as = as;
	a->va = va;
	a->buf = buf;
	a->len = len;
	a->write = write;
	cr_assert_eq(pthread_create(&a->th, NULL, acc_main, a), 0);
	while (!__atomic_load_n(&a->started, __ATOMIC_ACQUIRE) && !expired(d))
		relax(i++);
	cr_assert(__atomic_load_n(&a->started, __ATOMIC_ACQUIRE));
}

static bool
acc_done(struct acc *a)
{
	return __atomic_load_n(&a->done, __ATOMIC_ACQUIRE) != 0;
}

/* Wait (bounded) for the accessor, join it and return its result. */
static int
acc_join(struct acc *a)
{
	uint64_t d = deadline(WAIT_S);
	unsigned long i = 0;

	while (!acc_done(a) && !expired(d))
		relax(i++);
	cr_assert(acc_done(a), "accessor at %#" PRIx64 " did not return",
		a->va);
	cr_assert_eq(pthread_join(a->th, NULL), 0);
	return a->ret;
}

/* Wait (bounded) until @u has posted (or deduplicated) @n faults. */
static void
wait_faults(struct mmrt_uffd *u, uint64_t n)
{
	uint64_t d = deadline(WAIT_S);
	unsigned long i = 0;
	struct mmrt_uffd_stats st;

	for (;;) {
		st = ust(u);
		if (st.faults + st.faults_dedup >= n || expired(d))
			break;
		relax(i++);
	}
	cr_assert_geq(st.faults + st.faults_dedup, n,
		"%" PRIu64 " faults posted, want %" PRIu64,
		st.faults + st.faults_dedup, n);
}

/* ---- a resolver thread ---- */

enum res_kind {
	RES_COPY,   /* copy the pattern of the faulting page (chunk bytes) */
	RES_MOVE,   /* move the chunk from src (ALLOW_SRC_HOLES) */
	RES_MINOR,  /* flip the page through the alias, then continue */
};

#define RES_PENDING 1024

struct resolver {
	pthread_t th;
	struct mmrt_uffd *u;
	struct mmrt_as *as;
	enum res_kind kind;
	uint64_t base[2];      /* logical page 0 lives here (either range) */
	uint64_t npages;       /* pages of each range */
	uint64_t chunk;        /* bytes per fill */
	uint64_t src;          /* MOVE: source of base[0]; MINOR: alias */
	uint64_t mode;         /* fill mode */
	uint64_t tag;          /* COPY: pattern tag */
	bool unreg_on_remove;  /* unregister what a REMOVE event names */
	int stop;
	/* results, read after the join */
	uint64_t missing, wp, minor, writes;
	uint64_t filled, eexist, eagain;
	uint64_t ev_fork, ev_remap, ev_remove, ev_unmap;
	struct mmrt_uffd_msg last_remap, last_remove;
	int removed;           /* REMOVE handled (atomic) */
	int64_t err;           /* first unexpected result */
	uint64_t err_addr;
	int err_line;
};

static struct resolver rs;

static void
res_fail(struct resolver *r, int64_t err, uint64_t addr, int line)
{
	if (r->err == 0) {
		r->err = err;
		r->err_addr = addr;
		r->err_line = line;
	}
}

/* Serve one fault at @page: 0 done, -EAGAIN retry after the next read. */
static int
res_serve(struct resolver *r, uint64_t page)
{
	uint8_t b[PG];
	uint64_t base, off, idx;
	int64_t res;
	int rc, k;

	for (k = 0; k < 2; k++)
		if (r->base[k] != 0 && page >= r->base[k] &&
				page < r->base[k] + r->npages * PG)
			break;
	if (k == 2) {
		res_fail(r, -ERANGE, page, __LINE__);
		return 0;
	}
	base = r->base[k];
	off = (page - base) & ~(r->chunk - 1);
	idx = off / PG;
	switch (r->kind) {
	case RES_COPY:
		if (r->chunk != PG) {
			res_fail(r, -EINVAL, page, __LINE__);
			return 0;
		}
		pat(b, idx, 1, r->tag);
		rc = ucopy(r->u, base + off, b, PG, r->mode, &res);
		break;
	case RES_MOVE:
		rc = umove(r->u, base + off, r->src + off, r->chunk,
			r->mode | MMRT_UFFD_MODE_ALLOW_SRC_HOLES, &res);
		break;
	case RES_MINOR:
		rc = mmrt_read(r->as, r->src + off, b, PG);
		if (rc == 0) {
			for (k = 0; k < (int)PG; k++)
				b[k] = (uint8_t)~b[k];
			rc = mmrt_write(r->as, r->src + off, b, PG);
		}
		if (rc != 0) {
			res_fail(r, rc, page, __LINE__);
			return 0;
		}
		rc = ucont(r->u, base + off, PG, r->mode, &res);
		break;
	default:
		rc = -EINVAL;
		res = -EINVAL;
	}
	if (rc == 0) {
		if (res != (int64_t)r->chunk)
			res_fail(r, res, page, __LINE__);
		r->filled++;
		return 0;
	}
	if (rc == -EEXIST) {
		/* raced with another fill: still wake it */
		r->eexist++;
		if (res != -EEXIST)
			res_fail(r, res, page, __LINE__);
		rc = uwake(r->u, base + off, r->chunk);
		if (rc != 0)
			res_fail(r, rc, page, __LINE__);
		return 0;
	}
	if (rc == -EAGAIN && res == -EAGAIN) {
		/* a layout change is pending: read its event first */
		r->eagain++;
		return -EAGAIN;
	}
	res_fail(r, rc, page, __LINE__);
	return 0;
}

static void *
res_main(void *arg)
{
	struct resolver *r = arg;
	static uint64_t pend[RES_PENDING];
	struct mmrt_uffd_msg m[16];
	uint64_t d = deadline(2 * WAIT_S), fl, addr;
	unsigned int np = 0, j, k;
	unsigned long it = 0;
	int i, n, rc;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE) && !expired(d)) {
		n = mmrt_uffd_read(r->u, m, RTE_DIM(m));
		if (n < 0) {
			res_fail(r, n, 0, __LINE__);
			break;
		}
		for (i = 0; i < n; i++) {
			switch (m[i].event) {
			case MMRT_UFFD_EVENT_PAGEFAULT:
				fl = m[i].arg.pagefault.flags;
				addr = m[i].arg.pagefault.address;
				if (fl & PF_WRITE)
					r->writes++;
				if (fl & PF_WP)
					r->wp++;
				else if (fl & PF_MINOR)
					r->minor++;
				else
					r->missing++;
				if (np == RES_PENDING)
					res_fail(r, -ENOSPC, addr, __LINE__);
				else
					pend[np++] = addr & ~(PG - 1);
				break;
			case MMRT_UFFD_EVENT_FORK:
				r->ev_fork++;
				break;
			case MMRT_UFFD_EVENT_REMAP:
				r->ev_remap++;
				r->last_remap = m[i];
				break;
			case MMRT_UFFD_EVENT_REMOVE:
				r->ev_remove++;
				r->last_remove = m[i];
				if (r->unreg_on_remove) {
					rc = mmrt_uffd_unregister(r->u,
						m[i].arg.remove.start,
						m[i].arg.remove.end -
						m[i].arg.remove.start);
					if (rc != 0)
						res_fail(r, rc,
							m[i].arg.remove.start,
							__LINE__);
				}
				__atomic_store_n(&r->removed, 1,
					__ATOMIC_RELEASE);
				break;
			case MMRT_UFFD_EVENT_UNMAP:
				r->ev_unmap++;
				break;
			default:
				res_fail(r, -EPROTO, m[i].event, __LINE__);
			}
		}
		for (j = 0, k = 0; k < np; k++)
			if (res_serve(r, pend[k]) == -EAGAIN)
				pend[j++] = pend[k];
		np = j;
		if (n == 0)
			relax(it++);
	}
	return NULL;
}

static void
res_start(struct resolver *r)
{
	cr_assert_eq(pthread_create(&r->th, NULL, res_main, r), 0);
}

static void
res_stop(struct resolver *r)
{
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	cr_assert_eq(pthread_join(r->th, NULL), 0);
	cr_assert_eq(r->err, 0, "resolver: error %" PRId64 " at %#" PRIx64
		" (line %d)", r->err, r->err_addr, r->err_line);
}

static void
res_init(struct resolver *r, struct mmrt_uffd *u, struct mmrt_as *as,
	enum res_kind kind, uint64_t base, uint64_t npages, uint64_t chunk)
{
	memset(r, 0, sizeof(*r));
	r->u = u;
	r->as = as;
	r->kind = kind;
	r->base[0] = base;
	r->npages = npages;
	r->chunk = chunk;
}

/* ================================================================== */
/* API handshake                                                      */
/* ================================================================== */

Test(uffd, api)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("api");
	struct mmrt_as *dead = mmrt_as_create("api-dead");
	struct mmrt_uffd_conf cf;
	struct mmrt_uffd *u, *u2;
	uint64_t f;

	cr_assert_not_null(as);
	cr_assert_not_null(dead);
	cr_assert_eq(mmrt_as_destroy(dead), 0);

	/* wrong api */
	f = 0;
	rte_errno = 0;
	cr_assert_null(mmrt_uffd_create(as, MMRT_UFFD_API + 1, &f, NULL));
	cr_assert_eq(rte_errno, EINVAL);
	f = F_WP;
	cr_assert_null(mmrt_uffd_create(as, 0, &f, NULL));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_eq(f, 0, "features out %#" PRIx64 " on failure", f);

	/* unknown feature bit 63, and known-to-the-kernel unsupported bits */
	f = UINT64_C(1) << 63;
	rte_errno = 0;
	cr_assert_null(mmrt_uffd_create(as, MMRT_UFFD_API, &f, NULL));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_eq(f, 0, "features out %#" PRIx64 " on failure", f);
	f = F_WP | (UINT64_C(1) << 4); /* MISSING_HUGETLBFS */
	cr_assert_null(mmrt_uffd_create(as, MMRT_UFFD_API, &f, NULL));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_eq(f, 0);
	f = UINT64_C(1) << 9; /* MINOR_HUGETLBFS */
	cr_assert_null(mmrt_uffd_create(as, MMRT_UFFD_API, &f, NULL));
	cr_assert_eq(f, 0);
	f = ~MMRT_UFFD_FEATURES_ALL;
	cr_assert_null(mmrt_uffd_create(as, MMRT_UFFD_API, &f, NULL));
	cr_assert_eq(f, 0);

	/* bad space */
	f = 0;
	rte_errno = 0;
	cr_assert_null(mmrt_uffd_create(NULL, MMRT_UFFD_API, &f, NULL));
	cr_assert_eq(rte_errno, EINVAL);
	f = 0;
	rte_errno = 0;
	cr_assert_null(mmrt_uffd_create(dead, MMRT_UFFD_API, &f, NULL));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_eq(f, 0);

	/* bad conf: ring size not a power of two, or out of 64..65536 */
	memset(&cf, 0, sizeof(cf));
	cf.ring_size = 100;
	f = 0;
	rte_errno = 0;
	cr_assert_null(mmrt_uffd_create(as, MMRT_UFFD_API, &f, &cf));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_eq(f, 0);
	cf.ring_size = 32;
	cr_assert_null(mmrt_uffd_create(as, MMRT_UFFD_API, &f, &cf));
	cr_assert_eq(rte_errno, EINVAL);
	cf.ring_size = 131072;
	cr_assert_null(mmrt_uffd_create(as, MMRT_UFFD_API, &f, &cf));
	cr_assert_eq(rte_errno, EINVAL);

	/* a plain create: every supported feature reported */
	f = 0;
	u = mmrt_uffd_create(as, MMRT_UFFD_API, &f, NULL);
	cr_assert_not_null(u, "rte_errno %d", rte_errno);
	cr_assert_eq(f, MMRT_UFFD_FEATURES_ALL, "features out %#" PRIx64, f);
	cr_assert_eq(mmrt_uffd_features(u), 0);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);

	/* extreme legal ring sizes; NULL features means none */
	cf.ring_size = 64;
	u = mmrt_uffd_create(as, MMRT_UFFD_API, NULL, &cf);
	cr_assert_not_null(u, "rte_errno %d", rte_errno);
	cr_assert_eq(mmrt_uffd_features(u), 0);
	cf.ring_size = 65536;
	f = MMRT_UFFD_FEATURES_ALL;
	u2 = mmrt_uffd_create(as, MMRT_UFFD_API, &f, &cf);
	cr_assert_not_null(u2, "rte_errno %d", rte_errno);
	cr_assert_eq(f, MMRT_UFFD_FEATURES_ALL);
	cr_assert_eq(mmrt_uffd_features(u2), MMRT_UFFD_FEATURES_ALL);
	/* (two uffds lived on one space) */
	cr_assert_eq(mmrt_uffd_destroy(u2), 0);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);

	/* WP_ASYNC implies WP_UNPOPULATED */
	u = mkuffd(as, F_WP | F_ASYNC);
	cr_assert_eq(mmrt_uffd_features(u), F_WP | F_ASYNC | F_WPUNPOP,
		"features %#" PRIx64, mmrt_uffd_features(u));
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	u = mkuffd(as, F_MOVE | F_TID);
	cr_assert_eq(mmrt_uffd_features(u), F_MOVE | F_TID);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);

	cr_assert_eq(mmrt_uffd_features(NULL), 0);
	cr_assert_eq(mmrt_uffd_destroy(NULL), -EINVAL);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* register-ioctls                                                    */
/* ================================================================== */

/* The ops register must return for @mode with @features. */
static uint64_t
want_ops(uint64_t mode, uint64_t features)
{
	uint64_t ops = MMRT_UFFD_OP_WAKE | MMRT_UFFD_OP_COPY |
		MMRT_UFFD_OP_ZEROPAGE;

	if (features & F_MOVE)
		ops |= MMRT_UFFD_OP_MOVE;
	if (features & F_POISON)
		ops |= MMRT_UFFD_OP_POISON;
	if (mode & R_WP)
		ops |= MMRT_UFFD_OP_WRITEPROTECT;
	if (mode & R_MINOR)
		ops |= MMRT_UFFD_OP_CONTINUE;
	return ops;
}

static void
register_ioctls(bool object, uint64_t features)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("regio");
	struct mmrt_object *obj = NULL;
	struct mmrt_uffd *u;
	uint64_t mode, ops;
	bool ok;
	int rc;

	cr_assert_not_null(as);
	if (object) {
		obj = mmrt_object_create("regio-obj", 8 * PG);
		cr_assert_not_null(obj);
		cr_assert_eq(mmrt_map_object(as, VA, 8 * PG, RW, 0, obj, 0),
			0);
	} else {
		cr_assert_eq(mmrt_map(as, VA, 8 * PG, RW, 0), 0);
	}
	u = mkuffd(as, features);
	for (mode = 0; mode < 8; mode++) {
		if (object)
			ok = mode != 0 && !(mode & R_MISSING);
		else
			ok = mode != 0 && !(mode & R_MINOR);
		ops = 0xdead;
		rc = mmrt_uffd_register(u, VA, 8 * PG, mode, &ops);
		if (!ok) {
			cr_assert_eq(rc, -EINVAL, "%s mode %#" PRIx64 ": %d",
				object ? "object" : "anon", mode, rc);
			continue;
		}
		cr_assert_eq(rc, 0, "%s mode %#" PRIx64 ": %d",
			object ? "object" : "anon", mode, rc);
		cr_assert_eq(ops, want_ops(mode, features), "%s mode %#" PRIx64
			": ops %#" PRIx64 ", want %#" PRIx64,
			object ? "object" : "anon", mode, ops,
			want_ops(mode, features));
		cr_assert_eq(mmrt_uffd_unregister(u, VA, 8 * PG), 0);
	}
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	if (obj != NULL)
		cr_assert_eq(mmrt_object_destroy(obj), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(uffd, register_ioctls_anon)
{
	register_ioctls(false, F_WP | F_MINOR | F_WPSHM | F_MOVE | F_POISON);
	register_ioctls(false, F_WP | F_MINOR | F_WPSHM);
}

Test(uffd, register_ioctls_object)
{
	register_ioctls(true, F_WP | F_MINOR | F_WPSHM | F_MOVE | F_POISON);
	register_ioctls(true, F_WP | F_MINOR | F_WPSHM | F_POISON);
}

Test(uffd, register_rules)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("regr");
	struct mmrt_object *obj = mmrt_object_create("regr-obj", 4 * PG);
	struct mmrt_uffd *u, *u2, *u0;
	uint64_t ops, b;
	int rc;

	cr_assert_not_null(as);
	cr_assert_not_null(obj);
	cr_assert_eq(mmrt_map(as, VA, 8 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VB, PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VB + 2 * PG, PG, RW, 0), 0);
	cr_assert_eq(mmrt_map_object(as, VC, 4 * PG, RW, 0, obj, 0), 0);

	/* objects serve MINOR and WP only */
	u0 = mkuffd(as, F_WP | F_MINOR | F_WPSHM);
	rc = mmrt_uffd_register(u0, VC, PG, R_MISSING, &ops);
	cr_assert_eq(rc, -EINVAL, "MISSING on an object: %d", rc);
	rc = mmrt_uffd_register(u0, VC, PG, R_MISSING | R_WP, &ops);
	cr_assert_eq(rc, -EINVAL, "MISSING|WP on an object: %d", rc);
	cr_assert_eq(mmrt_uffd_register(u0, VC, PG, R_MINOR | R_WP, NULL), 0);
	/* a range over anon and object regions: -EINVAL either way */
	cr_assert_eq(mmrt_uffd_register(u0, VA, VC + PG - VA, R_MINOR, &ops),
		-EINVAL);
	cr_assert_eq(mmrt_uffd_register(u0, VA, VC + PG - VA, R_MISSING,
		&ops), -EINVAL);
	cr_assert_eq(mmrt_uffd_destroy(u0), 0);

	u = mkuffd(as, F_WP);
	u2 = mkuffd(as, F_WP);

	/* no region in the range */
	cr_assert_eq(mmrt_uffd_register(u, VD, 4 * PG, R_MISSING, &ops),
		-EINVAL);
	cr_assert_eq(mmrt_uffd_register(u, VB + PG, PG, R_MISSING, &ops),
		-EINVAL);

	/* holes between regions are allowed */
	reg(u, VB, 3 * PG, R_MISSING);
	cr_assert_eq(mmrt_read_flags(as, VB + 2 * PG, &b, 8, NOWAIT), -EAGAIN);
	expect_fault(u, VB + 2 * PG, 0);

	/* regions are split at the ends: only page 1 is registered */
	reg(u, VA + PG, PG, R_MISSING);
	cr_assert_eq(mmrt_read_flags(as, VA, &b, 8, NOWAIT), 0);
	cr_assert_eq(mmrt_read_flags(as, VA + 2 * PG, &b, 8, NOWAIT), 0);
	expect_none(u);
	cr_assert_eq(mmrt_read_flags(as, VA + PG, &b, 8, NOWAIT), -EAGAIN);
	expect_fault(u, VA + PG, 0);

	/* another uffd: -EBUSY, and nothing of its range is taken */
	cr_assert_eq(mmrt_uffd_register(u2, VA, 2 * PG, R_MISSING, &ops),
		-EBUSY);
	cr_assert_eq(mmrt_uffd_register(u2, VA + PG, PG, R_WP, &ops), -EBUSY);
	reg(u, VA + 3 * PG, PG, R_MISSING); /* page 3 is not u2's */
	cr_assert_eq(mmrt_uffd_register(u2, VA + 3 * PG, 2 * PG, R_MISSING,
		&ops), -EBUSY);
	reg(u2, VA + 5 * PG, PG, R_MISSING);
	cr_assert_eq(mmrt_read_flags(as, VA + 4 * PG, &b, 8, NOWAIT), 0,
		"page 4 was registered by a failed register");

	/* unregister by the other uffd leaves the range alone */
	cr_assert_eq(mmrt_uffd_unregister(u2, VA, 4 * PG), 0);
	cr_assert_eq(mmrt_read_flags(as, VA + 3 * PG, &b, 8, NOWAIT), -EAGAIN);
	expect_fault(u, VA + 3 * PG, 0);
	expect_none(u2);

	/* registering again replaces the mode: WP only, no missing faults */
	ops = reg(u, VA + 3 * PG, PG, R_WP);
	cr_assert(ops & MMRT_UFFD_OP_WRITEPROTECT);
	cr_assert_eq(mmrt_uffd_wake(u, &(struct mmrt_uffd_range){
		.start = VA + 3 * PG, .len = PG }), 0);
	cr_assert_eq(mmrt_read_flags(as, VA + 3 * PG + 8, &b, 8, NOWAIT), 0);
	expect_none(u);
	ops = reg(u, VA + 3 * PG, PG, R_MISSING);
	cr_assert_not(ops & MMRT_UFFD_OP_WRITEPROTECT);

	/* after unregister, the other uffd may take it */
	cr_assert_eq(mmrt_uffd_unregister(u, VA, 8 * PG), 0);
	reg(u2, VA, 8 * PG, R_MISSING | R_WP);
	cr_assert_eq(mmrt_read_flags(as, VA + 6 * PG, &b, 8, NOWAIT), -EAGAIN);
	expect_fault(u2, VA + 6 * PG, 0);
	expect_none(u);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_uffd_destroy(u2), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_object_destroy(obj), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* zeropage                                                           */
/* ================================================================== */

Test(uffd, zeropage)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("zp");
	struct mmrt_uffd *u;
	struct mmrt_xlate x;
	int64_t res;
	uint64_t w = UINT64_C(0x1122334455667788), r;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, 0), 0);
	u = mkuffd(as, 0);
	cr_assert(reg(u, VA, 4 * PG, R_MISSING) & MMRT_UFFD_OP_ZEROPAGE);

	cr_assert_eq(uzero(u, VA, PG, 0, &res), 0);
	cr_assert_eq(res, (int64_t)PG, "zeropage %" PRId64, res);
	check_zero(as, VA, PG);
	/* mapped read-only */
	cr_assert_eq(xl(as, VA, MMRT_ACCESS_READ, &x), 0);
	cr_assert_eq(x.prot, MMRT_PROT_READ);
	expect_none(u);
	cr_assert_eq(ust(u).faults, 0);

	/* a second zeropage: -EEXIST in both places */
	cr_assert_eq(uzero(u, VA, PG, 0, &res), -EEXIST);
	cr_assert_eq(res, -EEXIST);
	/* the first page fails: -EEXIST even if the rest is empty */
	cr_assert_eq(uzero(u, VA, 2 * PG, 0, &res), -EEXIST);
	cr_assert_eq(res, -EEXIST);
	cr_assert_eq(xl(as, VA + PG, MMRT_ACCESS_READ, &x), -EFAULT);
	/* partial: page 1 done, page 2 populated below */
	cr_assert_eq(uzero(u, VA + 2 * PG, PG, 0, &res), 0);
	cr_assert_eq(uzero(u, VA + PG, 2 * PG, 0, &res), -EAGAIN);
	cr_assert_eq(res, (int64_t)PG, "partial zeropage %" PRId64, res);

	/* a write to the zero page gets a private frame, no userfault */
	cr_assert_eq(mmrt_write(as, VA + 16, &w, sizeof(w)), 0);
	cr_assert_eq(mmrt_read(as, VA + 16, &r, sizeof(r)), 0);
	cr_assert_eq(r, w);
	check_zero(as, VA + PG, 2 * PG);
	cr_assert_eq(ust(u).faults, 0);
	expect_none(u);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* copy                                                               */
/* ================================================================== */

#define NCOPY 16

Test(uffd, copy)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("copy");
	struct mmrt_uffd_stats st;
	struct mmrt_uffd *u;
	uint8_t page[PG];
	int64_t res;
	int i;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, NCOPY * PG, RW, 0), 0);
	u = mkuffd(as, 0);
	cr_assert(reg(u, VA, NCOPY * PG, R_MISSING) & MMRT_UFFD_OP_COPY);

	res_init(&rs, u, as, RES_COPY, VA, NCOPY, PG);
	rs.tag = 7;
	res_start(&rs);
	/* every page faults once and is served by the resolver */
	check_pat(as, VA, 0, NCOPY, 7);
	/* and again, without faults */
	check_pat(as, VA, 0, NCOPY, 7);
	res_stop(&rs);
	cr_assert_eq(rs.missing, NCOPY, "%" PRIu64 " missing faults",
		rs.missing);
	cr_assert_eq(rs.minor + rs.wp + rs.writes, 0);
	cr_assert_eq(rs.filled, NCOPY);
	st = ust(u);
	cr_assert_eq(st.faults, NCOPY);
	cr_assert_eq(st.faults_missing, NCOPY);
	cr_assert_eq(st.faults_wp + st.faults_minor, 0);
	cr_assert_eq(st.filled_pages, NCOPY);
	cr_assert_eq(st.pending, 0);

	/* a second copy of a populated page */
	for (i = 0; i < (int)PG; i++)
		page[i] = (uint8_t)i;
	cr_assert_eq(ucopy(u, VA + 3 * PG, page, PG, 0, &res), -EEXIST);
	cr_assert_eq(res, -EEXIST);
	cr_assert_eq(ust(u).filled_pages, NCOPY);
	check_pat(as, VA + 3 * PG, 3, 1, 7);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(uffd, copy_partial_huge)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("copyp");
	struct mmrt_uffd *u;
	struct mmrt_xlate x;
	int64_t res;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 8 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VB, HPG, RW, MMRT_MAP_HUGE), 0);
	u = mkuffd(as, 0);
	reg(u, VA, 8 * PG, R_MISSING);
	reg(u, VB, HPG, R_MISSING);

	/* src needs no alignment */
	pat(wbuf, 2, 1, 3);
	copy_ok(u, VA + 2 * PG, wbuf, PG, 0);
	pat(wbuf + 1, 0, 2, 4);
	copy_ok(u, VA, wbuf + 1, 2 * PG, 0);
	check_pat(as, VA, 0, 2, 4);
	check_pat(as, VA + 2 * PG, 2, 1, 3);

	/* partial: pages 3..4 done, page 5 populated */
	pat(wbuf, 5, 1, 5);
	copy_ok(u, VA + 5 * PG, wbuf, PG, 0);
	pat(wbuf, 3, 4, 6);
	cr_assert_eq(ucopy(u, VA + 3 * PG, wbuf, 4 * PG, 0, &res), -EAGAIN);
	cr_assert_eq(res, (int64_t)(2 * PG), "partial copy %" PRId64, res);
	check_pat(as, VA + 3 * PG, 3, 2, 6);
	check_pat(as, VA + 5 * PG, 5, 1, 5);
	cr_assert_eq(xl(as, VA + 6 * PG, MMRT_ACCESS_READ, &x), -EFAULT);
	/* the rest, resumed at dst + done after the populated page */
	pat(wbuf, 6, 2, 6);
	copy_ok(u, VA + 6 * PG, wbuf, 2 * PG, 0);
	check_pat(as, VA + 6 * PG, 6, 2, 6);
	cr_assert_eq(ust(u).filled_pages, 8);

	/* a 2 MiB chunk with an empty level-2 entry becomes a 2 MiB leaf */
	pat(wbuf, 0, HPG / PG, 8);
	copy_ok(u, VB, wbuf, HPG, 0);
	cr_assert_eq(xl(as, VB + 17 * PG, MMRT_ACCESS_WRITE, &x), 0);
	cr_assert(x.huge, "a copied 2 MiB chunk is not a 2 MiB leaf");
	check_pat(as, VB, 0, HPG / PG, 8);
	cr_assert_eq(ucopy(u, VB + 5 * PG, wbuf, PG, 0, &res), -EEXIST);
	cr_assert_eq(res, -EEXIST);
	expect_none(u);
	cr_assert_eq(ust(u).faults, 0);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(uffd, copy_wp)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("copywp");
	struct mmrt_uffd *u;
	struct mmrt_xlate x;
	uint64_t w = 42, r;
	int64_t res;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, 0), 0);
	u = mkuffd(as, F_WP);
	reg(u, VA, 2 * PG, R_MISSING | R_WP);
	reg(u, VA + 2 * PG, 2 * PG, R_MISSING);

	/* MODE_WP where WP is not registered */
	pat(wbuf, 2, 1, 1);
	cr_assert_eq(ucopy(u, VA + 2 * PG, wbuf, PG, MMRT_UFFD_MODE_WP,
		&res), -EINVAL);
	cr_assert_eq(res, -EINVAL);
	cr_assert_eq(xl(as, VA + 2 * PG, 0, &x), -EFAULT);

	pat(wbuf, 0, 1, 1);
	copy_ok(u, VA, wbuf, PG, MMRT_UFFD_MODE_WP);
	check_pat(as, VA, 0, 1, 1);
	cr_assert_eq(xl(as, VA, MMRT_ACCESS_READ, &x), 0);
	cr_assert_eq(x.prot, MMRT_PROT_READ);
	cr_assert_eq(xl(as, VA, MMRT_ACCESS_WRITE, &x), -EACCES);

	/* a write faults WP */
	cr_assert_eq(mmrt_write_flags(as, VA + 8, &w, sizeof(w), NOWAIT),
		-EAGAIN);
	expect_fault(u, VA, PF_WP | PF_WRITE);
	cr_assert_eq(ust(u).faults_wp, 1);
	check_pat(as, VA, 0, 1, 1);

	/* a waiting writer is woken by the unprotect */
	{
		struct acc a;
		uint64_t v = 77;

		acc_start(&a, as, VA + 16, &v, sizeof(v), true);
		wait_faults(u, 2);
		cr_assert_eq(uwp(u, VA, PG, 0), 0);
		cr_assert_eq(acc_join(&a), 0);
		cr_assert_eq(mmrt_read(as, VA + 16, &r, sizeof(r)), 0);
		cr_assert_eq(r, 77);
	}
	cr_assert_eq(mmrt_write(as, VA + 8, &w, sizeof(w)), 0);
	cr_assert_eq(mmrt_read(as, VA + 8, &r, sizeof(r)), 0);
	cr_assert_eq(r, w);
	cr_assert_eq(xl(as, VA, MMRT_ACCESS_WRITE, &x), 0);
	/* drain what the waiting writer posted (it may have been deduped) */
	{
		struct mmrt_uffd_msg m[4];
		int n = mmrt_uffd_read(u, m, RTE_DIM(m));

		cr_assert_leq(n, 1);
		if (n == 1)
			cr_assert_eq(m[0].arg.pagefault.flags,
				PF_WP | PF_WRITE);
	}

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* move                                                               */
/* ================================================================== */

#define NMOVE 16

Test(uffd, move_page)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("mv");
	struct mmrt_uffd_stats st;
	struct mmrt_uffd *u;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, NMOVE * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VB, NMOVE * PG, RW, 0), 0);
	put_pat(as, VA, 0, NMOVE, 11);
	u = mkuffd(as, F_MOVE);
	cr_assert(reg(u, VB, NMOVE * PG, R_MISSING) & MMRT_UFFD_OP_MOVE);

	res_init(&rs, u, as, RES_MOVE, VB, NMOVE, PG);
	rs.src = VA;
	res_start(&rs);
	check_pat(as, VB, 0, NMOVE, 11);
	res_stop(&rs);
	cr_assert_eq(rs.missing, NMOVE);
	cr_assert_eq(rs.minor + rs.wp, 0);
	st = ust(u);
	cr_assert_eq(st.faults_missing, NMOVE);
	cr_assert_eq(st.faults_minor, 0);
	/* the source is demand-zero now */
	check_zero(as, VA, NMOVE * PG);
	check_pat(as, VB, 0, NMOVE, 11);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* Move one 2 MiB chunk from a huge source to @dst (registered region). */
static void
move_pmd(bool split)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create(split ? "mvsplit" : "mvpmd");
	uint64_t dst = split ? VB + PG : VB;
	struct mmrt_as_stats a0, a1;
	struct mmrt_uffd *u;
	struct mmrt_xlate x;
	bool src_huge;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, HPG, RW, MMRT_MAP_HUGE), 0);
	if (split)
		cr_assert_eq(mmrt_map(as, VB, HPG + 2 * PG, RW, 0), 0);
	else
		cr_assert_eq(mmrt_map(as, VB, HPG, RW, MMRT_MAP_HUGE), 0);
	put_pat(as, VA, 0, HPG / PG, 12);
	cr_assert_eq(xl(as, VA, 0, &x), 0);
	src_huge = x.huge;
	if (!src_huge)
		cr_log_warn("the huge source fell back to 4 KiB frames");
	u = mkuffd(as, F_MOVE);
	reg(u, VB, split ? HPG + 2 * PG : HPG, R_MISSING);
	cr_assert_eq(mmrt_as_stats(as, &a0), 0);

	res_init(&rs, u, as, RES_MOVE, dst, HPG / PG, HPG);
	rs.src = VA;
	res_start(&rs);
	check_pat(as, dst, 0, HPG / PG, 12);
	res_stop(&rs);
	cr_assert_eq(rs.missing, 1, "%" PRIu64 " faults for one chunk",
		rs.missing);
	cr_assert_eq(rs.filled, 1);
	cr_assert_eq(ust(u).faults_missing, 1);
	cr_assert_eq(mmrt_as_stats(as, &a1), 0);
	if (src_huge && !split) {
		cr_assert_eq(xl(as, dst + 9 * PG, 0, &x), 0);
		cr_assert(x.huge, "an aligned 2 MiB leaf did not move whole");
		cr_assert_eq(a1.splits, a0.splits);
	} else if (src_huge) {
		cr_assert_gt(a1.splits, a0.splits, "no split");
		cr_assert_eq(xl(as, dst + 9 * PG, 0, &x), 0);
		cr_assert_not(x.huge);
	}
	check_zero(as, VA, HPG);
	check_pat(as, dst, 0, HPG / PG, 12);
	if (split)
		cr_assert_eq(mmrt_read_flags(as, VB, rbuf, 8, NOWAIT),
			-EAGAIN);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(uffd, move_pmd)
{
	move_pmd(false);
}

Test(uffd, move_pmd_split)
{
	move_pmd(true);
}

Test(uffd, move_holes)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("mvholes");
	struct mmrt_uffd *u;
	struct mmrt_xlate x;
	uint64_t b;
	int64_t res;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VB, 4 * PG, RW, 0), 0);
	/* pages 0 and 2 of the source are holes */
	put_pat(as, VA + PG, 1, 1, 13);
	put_pat(as, VA + 3 * PG, 3, 1, 13);
	u = mkuffd(as, F_MOVE);
	reg(u, VB, 4 * PG, R_MISSING);

	/* a hole first, not allowed: -ENOENT, nothing moved */
	cr_assert_eq(umove(u, VB, VA, 4 * PG, 0, &res), -ENOENT);
	cr_assert_eq(res, -ENOENT);
	cr_assert_eq(xl(as, VA + PG, 0, &x), 0);
	cr_assert_eq(xl(as, VB + PG, 0, &x), -EFAULT);

	/* a hole after one page: partial, -EAGAIN with one page done */
	cr_assert_eq(umove(u, VB + PG, VA + PG, 2 * PG, 0, &res), -EAGAIN);
	cr_assert_eq(res, (int64_t)PG, "partial move %" PRId64, res);
	check_pat(as, VB + PG, 1, 1, 13);

	/* holes allowed: they count as moved and stay empty at dst */
	cr_assert_eq(umove(u, VB + 2 * PG, VA + 2 * PG, 2 * PG,
		MMRT_UFFD_MODE_ALLOW_SRC_HOLES, &res), 0);
	cr_assert_eq(res, (int64_t)(2 * PG));
	check_pat(as, VB + 3 * PG, 3, 1, 13);
	cr_assert_eq(mmrt_read_flags(as, VB + 2 * PG, &b, 8, NOWAIT), -EAGAIN);
	expect_fault(u, VB + 2 * PG, 0);
	/* all holes, allowed */
	cr_assert_eq(umove(u, VB, VA, PG, MMRT_UFFD_MODE_ALLOW_SRC_HOLES,
		&res), 0);
	cr_assert_eq(res, (int64_t)PG);
	cr_assert_eq(xl(as, VB, 0, &x), -EFAULT);
	/* the source is empty now: demand-zero */
	check_zero(as, VA, 4 * PG);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(uffd, move_errors)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("mverr");
	struct mmrt_object *obj = mmrt_object_create("mverr-obj", 4 * PG);
	struct mmrt_as *child;
	struct mmrt_uffd *u, *u2;
	struct mmrt_xlate x;
	int64_t res;

	cr_assert_not_null(as);
	cr_assert_not_null(obj);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VB, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VC, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map_object(as, VD, 4 * PG, RW, 0, obj, 0), 0);
	put_pat(as, VA, 0, 4, 14);
	cr_assert_eq(mmrt_object_write(obj, 0, wbuf, 4 * PG), 0);
	u = mkuffd(as, F_MOVE);
	reg(u, VB, 4 * PG, R_MISSING);

	/* a frame shared with a child */
	child = mmrt_as_fork(as, "mverr-child");
	cr_assert_not_null(child);
	cr_assert_eq(umove(u, VB, VA, PG, 0, &res), -EBUSY);
	cr_assert_eq(res, -EBUSY);
	cr_assert_eq(xl(as, VB, 0, &x), -EFAULT);
	check_pat(child, VA, 0, 4, 14);
	check_pat(as, VA, 0, 4, 14);
	cr_assert_eq(mmrt_as_destroy(child), 0);
	/* once the parent owns it alone again (a write reuses or copies) */
	put_pat(as, VA, 0, 1, 15);
	cr_assert_eq(umove(u, VB, VA, PG, 0, &res), 0);
	cr_assert_eq(res, (int64_t)PG);
	check_pat(as, VB, 0, 1, 15);

	/* dst populated */
	put_pat(as, VA + PG, 1, 1, 15);
	cr_assert_eq(umove(u, VB, VA + PG, PG, 0, &res), -EEXIST);
	cr_assert_eq(res, -EEXIST);
	check_pat(as, VA + PG, 1, 1, 15);
	/* dst not registered with u */
	cr_assert_eq(umove(u, VC, VA + PG, PG, 0, &res), -ENOENT);
	cr_assert_eq(res, -ENOENT);
	/* overlap */
	cr_assert_eq(umove(u, VB + 2 * PG, VB + PG, 2 * PG, 0, &res), -EINVAL);
	cr_assert_eq(res, -EINVAL);
	/* an object source */
	cr_assert_eq(umove(u, VB + 2 * PG, VD, PG, 0, &res), -EINVAL);
	cr_assert_eq(res, -EINVAL);
	/* without FEATURE_MOVE */
	u2 = mkuffd(as, 0);
	reg(u2, VC, 4 * PG, R_MISSING);
	cr_assert_eq(umove(u2, VC, VA + PG, PG, 0, &res), -EINVAL);
	cr_assert_eq(res, -EINVAL);
	check_pat(as, VA + PG, 1, 1, 15);
	cr_assert_eq(xl(as, VC, 0, &x), -EFAULT);

	cr_assert_eq(mmrt_uffd_destroy(u2), 0);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_object_destroy(obj), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* wp-fork                                                            */
/* ================================================================== */

static void
wp_fork(bool with_event)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("wpf");
	struct mmrt_uffd *u, *cu = NULL;
	struct mmrt_uffd_msg m;
	struct mmrt_as *child;
	struct mmrt_xlate x;
	uint64_t feat = F_WP | (with_event ? F_FORK : 0);
	uint64_t w = UINT64_C(0xc0ffee), r;
	int rc;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 2 * PG, RW, 0), 0);
	u = mkuffd(as, feat);
	reg(u, VA, 2 * PG, R_WP);
	/* touch, then protect */
	put_pat(as, VA, 0, 1, 21);
	cr_assert_eq(ust(u).faults, 0);
	cr_assert_eq(uwp(u, VA, PG, MMRT_UFFD_MODE_WP), 0);
	cr_assert_eq(xl(as, VA, MMRT_ACCESS_WRITE, &x), -EACCES);
	cr_assert_eq(mmrt_write_flags(as, VA, &w, sizeof(w), NOWAIT), -EAGAIN);
	expect_fault(u, VA, PF_WP | PF_WRITE);

	child = mmrt_as_fork(as, "wpf-child");
	cr_assert_not_null(child);
	if (with_event) {
		m = expect_event(u, MMRT_UFFD_EVENT_FORK);
		cu = m.arg.fork.ufd;
		cr_assert_not_null(cu);
		cr_assert_eq(mmrt_uffd_features(cu), feat);
	} else {
		expect_none(u);
	}

	/* the child's page is write-protected iff EVENT_FORK */
	rc = mmrt_write_flags(child, VA + 8, &w, sizeof(w), NOWAIT);
	if (with_event) {
		cr_assert_eq(rc, -EAGAIN, "child write %d", rc);
		expect_fault(cu, VA, PF_WP | PF_WRITE);
		expect_none(u);
		check_pat(child, VA, 0, 1, 21);
		cr_assert_eq(uwp(cu, VA, PG, 0), 0);
		cr_assert_eq(mmrt_write(child, VA + 8, &w, sizeof(w)), 0);
	} else {
		cr_assert_eq(rc, 0, "child write %d", rc);
	}
	cr_assert_eq(mmrt_read(child, VA + 8, &r, sizeof(r)), 0);
	cr_assert_eq(r, w);
	/* the parent's page is untouched and still protected */
	check_pat(as, VA, 0, 1, 21);
	cr_assert_eq(mmrt_write_flags(as, VA, &w, sizeof(w), NOWAIT), -EAGAIN);
	/* unprotect clears it; a write then goes through */
	cr_assert_eq(uwp(u, VA, PG, 0), 0);
	cr_assert_eq(mmrt_write(as, VA, &w, sizeof(w)), 0);
	cr_assert_eq(mmrt_read(as, VA, &r, sizeof(r)), 0);
	cr_assert_eq(r, w);
	cr_assert_eq(mmrt_read(child, VA, &r, sizeof(r)), 0);
	pat(ebuf, 0, 1, 21);
	cr_assert_eq(memcmp(&r, ebuf, sizeof(r)), 0);
	/* re-fault keeps it clear */
	cr_assert_eq(mmrt_write(as, VA + 64, &w, sizeof(w)), 0);
	{
		struct mmrt_uffd_msg mm[4];
		int n = mmrt_uffd_read(u, mm, RTE_DIM(mm));

		/* the parent's second WP fault may be pending still */
		cr_assert_leq(n, 1);
		if (n == 1)
			cr_assert_eq(mm[0].arg.pagefault.flags,
				PF_WP | PF_WRITE);
	}

	if (cu != NULL)
		cr_assert_eq(mmrt_uffd_destroy(cu), 0);
	cr_assert_eq(mmrt_as_destroy(child), 0);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(uffd, wp_fork)
{
	wp_fork(false);
}

Test(uffd, wp_fork_with_event)
{
	wp_fork(true);
}

/* ================================================================== */
/* wp-unpopulated, wp-async                                           */
/* ================================================================== */

Test(uffd, wp_unpopulated)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("wpu");
	struct mmrt_uffd_stats st0, st;
	struct mmrt_uffd *u;
	struct mmrt_xlate x;
	uint64_t w = 99, r = 1;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, 0), 0);
	u = mkuffd(as, F_WP | F_WPUNPOP | F_POISON);
	reg(u, VA, 4 * PG, R_WP);

	/* protect an empty page: a marker */
	cr_assert_eq(uwp(u, VA, PG, MMRT_UFFD_MODE_WP), 0);
	cr_assert_eq(mmrt_write_flags(as, VA, &w, sizeof(w), NOWAIT), -EAGAIN);
	expect_fault(u, VA, PF_WP | PF_WRITE);
	/* a read over the marker gives zeros and no message */
	st0 = ust(u);
	check_zero(as, VA, PG);
	expect_none(u);
	st = ust(u);
	cr_assert_eq(st.faults, st0.faults);
	/* ... and keeps the protection */
	cr_assert_eq(xl(as, VA, MMRT_ACCESS_WRITE, &x), -EACCES);
	cr_assert_eq(mmrt_write_flags(as, VA, &w, sizeof(w), NOWAIT), -EAGAIN);
	st = ust(u);
	cr_assert_eq(st.faults + st.faults_dedup,
		st0.faults + st0.faults_dedup + 1);
	mmrt_uffd_read(u, (struct mmrt_uffd_msg[4]){ 0 }, 4);
	/* unprotect, then a write works */
	cr_assert_eq(uwp(u, VA, PG, 0), 0);
	cr_assert_eq(mmrt_write(as, VA, &w, sizeof(w)), 0);
	cr_assert_eq(mmrt_read(as, VA, &r, sizeof(r)), 0);
	cr_assert_eq(r, w);

	/* advise(DONTNEED) drops a marker: the write after it is ordinary */
	cr_assert_eq(uwp(u, VA + PG, PG, MMRT_UFFD_MODE_WP), 0);
	cr_assert_eq(mmrt_write_flags(as, VA + PG, &w, sizeof(w), NOWAIT),
		-EAGAIN);
	expect_fault(u, VA + PG, PF_WP | PF_WRITE);
	cr_assert_eq(mmrt_advise(as, VA + PG, PG, MMRT_ADV_DONTNEED), 0);
	st0 = ust(u);
	cr_assert_eq(mmrt_write_flags(as, VA + PG, &w, sizeof(w), NOWAIT), 0);
	cr_assert_eq(mmrt_read(as, VA + PG, &r, sizeof(r)), 0);
	cr_assert_eq(r, w);
	st = ust(u);
	cr_assert_eq(st.faults, st0.faults);
	expect_none(u);

	/* fills over a marker: copy takes it as empty, zeropage/poison not */
	{
		int64_t res;

		cr_assert_eq(mmrt_map(as, VC, 3 * PG, RW, 0), 0);
		reg(u, VC, 3 * PG, R_MISSING | R_WP);
		cr_assert_eq(uwp(u, VC, 3 * PG, MMRT_UFFD_MODE_WP), 0);
		pat(wbuf, 0, 1, 23);
		copy_ok(u, VC, wbuf, PG, 0);
		check_pat(as, VC, 0, 1, 23);
		/* copied without MODE_WP: writable */
		cr_assert_eq(mmrt_write_flags(as, VC, &w, sizeof(w), NOWAIT),
			0);
		cr_assert_eq(uzero(u, VC + PG, PG, 0, &res), -EEXIST);
		cr_assert_eq(res, -EEXIST);
		cr_assert_eq(upoison(u, VC + 2 * PG, PG, 0, &res), -EEXIST);
		cr_assert_eq(res, -EEXIST);
		/* copy with MODE_WP over a marker: protected */
		copy_ok(u, VC + PG, wbuf, PG, MMRT_UFFD_MODE_WP);
		cr_assert_eq(mmrt_write_flags(as, VC + PG, &w, sizeof(w),
			NOWAIT), -EAGAIN);
		expect_fault(u, VC + PG, PF_WP | PF_WRITE);
		cr_assert_eq(uwp(u, VC, 3 * PG, 0), 0);
		expect_none(u);
	}

	/* without WP_UNPOPULATED an empty page takes no marker */
	{
		struct mmrt_uffd *u2;

		cr_assert_eq(mmrt_map(as, VB, PG, RW, 0), 0);
		u2 = mkuffd(as, F_WP);
		reg(u2, VB, PG, R_WP);
		cr_assert_eq(uwp(u2, VB, PG, MMRT_UFFD_MODE_WP), 0);
		cr_assert_eq(mmrt_write_flags(as, VB, &w, sizeof(w), NOWAIT),
			0);
		expect_none(u2);
		cr_assert_eq(mmrt_uffd_destroy(u2), 0);
	}

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(uffd, wp_async)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("wpa");
	struct mmrt_uffd *u;
	struct mmrt_xlate x;
	uint64_t w = 5, r;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 2 * PG, RW, 0), 0);
	u = mkuffd(as, F_WP | F_ASYNC);
	reg(u, VA, 2 * PG, R_WP);
	put_pat(as, VA, 0, 1, 22);
	/* page 0 populated, page 1 empty (a marker: WP_ASYNC implies it) */
	cr_assert_eq(uwp(u, VA, 2 * PG, MMRT_UFFD_MODE_WP), 0);
	cr_assert_eq(xl(as, VA, MMRT_ACCESS_WRITE, &x), -EACCES);
	cr_assert_eq(mmrt_write_flags(as, VA, &w, sizeof(w), NOWAIT), 0);
	cr_assert_eq(mmrt_write_flags(as, VA + PG, &w, sizeof(w), NOWAIT), 0);
	expect_none(u);
	cr_assert_eq(ust(u).faults, 0);
	cr_assert_eq(ust(u).wp_async, 2, "wp_async %" PRIu64, ust(u).wp_async);
	cr_assert_eq(xl(as, VA, MMRT_ACCESS_WRITE, &x), 0);
	cr_assert_eq(mmrt_read(as, VA + PG, &r, sizeof(r)), 0);
	cr_assert_eq(r, w);
	/* cleared once: the next write does not count */
	cr_assert_eq(mmrt_write(as, VA + 8, &w, sizeof(w)), 0);
	cr_assert_eq(ust(u).wp_async, 2);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* minor                                                              */
/* ================================================================== */

#define NMINOR 8

static void
minor(bool wp)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create(wp ? "minorwp" : "minor");
	struct mmrt_object *obj = mmrt_object_create("minor-obj",
		2 * NMINOR * PG);
	struct mmrt_uffd_stats st;
	struct mmrt_uffd *u;
	struct mmrt_xlate x;
	uint64_t ops, w = 3, i;
	int64_t res;

	cr_assert_not_null(as);
	cr_assert_not_null(obj);
	/* VA: registered; VB: the non-registered alias */
	cr_assert_eq(mmrt_map_object(as, VA, 2 * NMINOR * PG, RW, 0, obj, 0),
		0);
	cr_assert_eq(mmrt_map_object(as, VB, 2 * NMINOR * PG, RW, 0, obj, 0),
		0);
	u = mkuffd(as, F_MINOR | (wp ? F_WP | F_WPSHM : 0));
	ops = reg(u, VA, 2 * NMINOR * PG, R_MINOR | (wp ? R_WP : 0));
	cr_assert(ops & MMRT_UFFD_OP_CONTINUE);
	/* populate the first half: half through the object, half the alias */
	pat(wbuf, 0, NMINOR / 2, 31);
	cr_assert_eq(mmrt_object_write(obj, 0, wbuf, NMINOR / 2 * PG), 0);
	put_pat(as, VB + NMINOR / 2 * PG, NMINOR / 2, NMINOR / 2, 31);
	cr_assert_eq(ust(u).faults, 0, "the alias faulted the uffd");

	res_init(&rs, u, as, RES_MINOR, VA, NMINOR, PG);
	rs.src = VB;
	rs.mode = wp ? MMRT_UFFD_MODE_WP : 0;
	res_start(&rs);
	cr_assert_eq(mmrt_read(as, VA, rbuf, NMINOR * PG), 0);
	res_stop(&rs);
	pat(ebuf, 0, NMINOR, 31);
	for (i = 0; i < NMINOR * PG; i++)
		ebuf[i] = (uint8_t)~ebuf[i];
	cmp_buf(rbuf, ebuf, NMINOR * PG, VA, "minor");
	cr_assert_eq(rs.minor, NMINOR, "%" PRIu64 " minor faults", rs.minor);
	cr_assert_eq(rs.missing + rs.wp, 0);
	st = ust(u);
	cr_assert_eq(st.faults_minor, NMINOR);
	cr_assert_eq(st.faults_missing, 0);
	cr_assert_eq(mmrt_object_read(obj, 0, rbuf, NMINOR * PG), 0);
	cmp_buf(rbuf, ebuf, NMINOR * PG, 0, "object after minor");

	/* a second continue: -EEXIST */
	for (i = 0; i < NMINOR; i++) {
		cr_assert_eq(ucont(u, VA + i * PG, PG, 0, &res), -EEXIST);
		cr_assert_eq(res, -EEXIST);
	}
	/* an object page that does not exist */
	cr_assert_eq(ucont(u, VA + (NMINOR + 1) * PG, PG, 0, &res), -EFAULT);
	cr_assert_eq(res, -EFAULT);

	if (wp) {
		cr_assert_eq(xl(as, VA, MMRT_ACCESS_WRITE, &x), -EACCES);
		cr_assert_eq(mmrt_write_flags(as, VA, &w, sizeof(w), NOWAIT),
			-EAGAIN);
		expect_fault(u, VA, PF_WP | PF_WRITE);
		cr_assert_eq(uwp(u, VA, NMINOR * PG, 0), 0);
	}
	cr_assert_eq(mmrt_write(as, VA, &w, sizeof(w)), 0);
	cr_assert_eq(mmrt_object_read(obj, 0, &i, sizeof(i)), 0);
	cr_assert_eq(i, w);
	expect_none(u);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_object_destroy(obj), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(uffd, minor)
{
	minor(false);
}

Test(uffd, minor_wp)
{
	minor(true);
}

/* ================================================================== */
/* sigbus                                                             */
/* ================================================================== */

Test(uffd, sigbus)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("sigbus");
	struct mmrt_uffd_stats st;
	struct mmrt_uffd *u;
	uint64_t b = 0;
	int i;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, 0), 0);
	u = mkuffd(as, F_SIGBUS);
	reg(u, VA, 4 * PG, R_MISSING);
	for (i = 0; i < 4; i++) {
		cr_assert_eq(mmrt_read(as, VA + i * PG, &b, sizeof(b)),
			-EFAULT);
		cr_assert_eq(mmrt_write(as, VA + i * PG, &b, sizeof(b)),
			-EFAULT);
		cr_assert_eq(mmrt_fault(as, VA + i * PG, MMRT_ACCESS_READ),
			-EFAULT);
	}
	expect_none(u);
	st = ust(u);
	cr_assert_eq(st.faults, 0);
	cr_assert_geq(st.faults_sigbus, 12);
	cr_assert_eq(st.pending, 0);
	/* after a copy, the page is there */
	pat(wbuf, 0, 4, 41);
	copy_ok(u, VA, wbuf, 4 * PG, 0);
	check_pat(as, VA, 0, 4, 41);
	expect_none(u);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* events                                                             */
/* ================================================================== */

#define NEV 32

/*
 * The kernel's "events": a forked child, served through the uffd of the
 * FORK message, faults the first half, remaps, faults the second half at
 * the new place, then releases (REMOVE: the resolver unregisters).
 */
Test(uffd, events)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("ev");
	struct mmrt_uffd *u, *cu;
	struct mmrt_uffd_msg m;
	struct mmrt_uffd_stats st;
	struct mmrt_as *child;
	uint64_t d;
	unsigned long i = 0;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, NEV * PG, RW, 0), 0);
	u = mkuffd(as, F_FORK | F_REMAP | F_REMOVE);
	reg(u, VA, NEV * PG, R_MISSING);
	child = mmrt_as_fork(as, "ev-child");
	cr_assert_not_null(child);
	m = expect_event(u, MMRT_UFFD_EVENT_FORK);
	cu = m.arg.fork.ufd;
	cr_assert_not_null(cu);
	cr_assert_eq(mmrt_uffd_features(cu), F_FORK | F_REMAP | F_REMOVE);

	res_init(&rs, cu, child, RES_COPY, VA, NEV, PG);
	rs.base[1] = VB;
	rs.tag = 51;
	rs.unreg_on_remove = true;
	res_start(&rs);
	check_pat(child, VA, 0, NEV / 2, 51);
	cr_assert_eq(mmrt_remap(child, VA, NEV * PG, VB), 0);
	check_pat(child, VB + NEV / 2 * PG, NEV / 2, NEV / 2, 51);
	check_pat(child, VB, 0, NEV, 51);
	cr_assert_eq(mmrt_advise(child, VB, NEV * PG, MMRT_ADV_DONTNEED), 0);
	d = deadline(WAIT_S);
	while (!__atomic_load_n(&rs.removed, __ATOMIC_ACQUIRE) && !expired(d))
		relax(i++);
	cr_assert(__atomic_load_n(&rs.removed, __ATOMIC_ACQUIRE),
		"no REMOVE event");
	/* released and unregistered: zeros, no faults */
	check_zero(child, VB, NEV * PG);
	res_stop(&rs);

	cr_assert_eq(rs.missing, NEV, "%" PRIu64 " missing faults", rs.missing);
	cr_assert_eq(rs.filled, NEV);
	cr_assert_eq(rs.ev_remap, 1);
	cr_assert_eq(rs.last_remap.arg.remap.from, VA);
	cr_assert_eq(rs.last_remap.arg.remap.to, VB);
	cr_assert_eq(rs.last_remap.arg.remap.len, NEV * PG);
	cr_assert_eq(rs.ev_remove, 1);
	cr_assert_eq(rs.last_remove.arg.remove.start, VB);
	cr_assert_eq(rs.last_remove.arg.remove.end, VB + NEV * PG);
	cr_assert_eq(rs.ev_fork + rs.ev_unmap, 0);
	st = ust(cu);
	cr_assert_eq(st.faults_missing, NEV);
	cr_assert_eq(st.events, 2);
	/* the parent saw none of it */
	expect_none(u);
	cr_assert_eq(ust(u).faults, 0);
	cr_assert_eq(mmrt_as_destroy(child), 0);
	cr_assert_eq(mmrt_uffd_destroy(cu), 0);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* Expected events, in order. */
struct ev_oracle {
	uint8_t event;
	uint64_t a, b, c;
};

static void
events_log(bool on)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create(on ? "evlog" : "evoff");
	struct ev_oracle want[8];
	struct mmrt_uffd_msg m[16];
	struct mmrt_uffd *u, *cu = NULL;
	struct mmrt_as *child;
	uint64_t feat = on ? F_EVENTS : 0, b = 0;
	unsigned int nw = 0, k, nforks = 0;
	int n, rc;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, NEV * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VC, 4 * PG, RW, 0), 0); /* not registered */
	u = mkuffd(as, feat);
	reg(u, VA, NEV * PG, R_MISSING);
	pat(wbuf, 0, NEV, 61);
	copy_ok(u, VA, wbuf, NEV * PG, 0);

	/* REMOVE */
	cr_assert_eq(mmrt_advise(as, VA, 2 * PG, MMRT_ADV_DONTNEED), 0);
	want[nw++] = (struct ev_oracle){ MMRT_UFFD_EVENT_REMOVE, VA,
		VA + 2 * PG, 0 };
	/* UNMAP */
	cr_assert_eq(mmrt_unmap(as, VA + 4 * PG, 2 * PG), 0);
	want[nw++] = (struct ev_oracle){ MMRT_UFFD_EVENT_UNMAP, VA + 4 * PG,
		VA + 6 * PG, 0 };
	/* REMAP */
	cr_assert_eq(mmrt_remap(as, VA + 8 * PG, 4 * PG, VB), 0);
	want[nw++] = (struct ev_oracle){ MMRT_UFFD_EVENT_REMAP, VA + 8 * PG,
		VB, 4 * PG };
	/* FORK */
	child = mmrt_as_fork(as, on ? "evlog-child" : "evoff-child");
	cr_assert_not_null(child);
	want[nw++] = (struct ev_oracle){ MMRT_UFFD_EVENT_FORK, 0, 0, 0 };
	/* nothing for ranges that are not registered */
	cr_assert_eq(mmrt_advise(as, VC, PG, MMRT_ADV_DONTNEED), 0);
	cr_assert_eq(mmrt_unmap(as, VC + 3 * PG, PG), 0);
	cr_assert_eq(mmrt_remap(as, VC, PG, VD), 0);
	/* UNMAP over a registered range and a hole */
	cr_assert_eq(mmrt_unmap(as, VA + 3 * PG, 2 * PG), 0);
	want[nw++] = (struct ev_oracle){ MMRT_UFFD_EVENT_UNMAP, VA + 3 * PG,
		VA + 5 * PG, 0 };

	n = on ? read_wait(u, m, RTE_DIM(m)) : mmrt_uffd_read(u, m,
		RTE_DIM(m));
	if (!on) {
		cr_assert_eq(n, 0, "%d events without the features", n);
		cr_assert_eq(ust(u).events, 0);
	} else {
		/* events may come in several reads */
		while (n > 0 && n < (int)nw) {
			rc = mmrt_uffd_read(u, m + n, RTE_DIM(m) - n);
			if (rc <= 0)
				break;
			n += rc;
		}
		cr_assert_eq(n, (int)nw, "%d events, want %u", n, nw);
		cr_assert_eq(ust(u).events, nw);
		for (k = 0; k < nw; k++) {
			cr_assert_eq(m[k].event, want[k].event,
				"event %u: %#x, want %#x", k, m[k].event,
				want[k].event);
			switch (m[k].event) {
			case MMRT_UFFD_EVENT_REMOVE:
			case MMRT_UFFD_EVENT_UNMAP:
				cr_assert_eq(m[k].arg.remove.start, want[k].a,
					"event %u start %#" PRIx64, k,
					m[k].arg.remove.start);
				cr_assert_eq(m[k].arg.remove.end, want[k].b,
					"event %u end %#" PRIx64, k,
					m[k].arg.remove.end);
				break;
			case MMRT_UFFD_EVENT_REMAP:
				cr_assert_eq(m[k].arg.remap.from, want[k].a);
				cr_assert_eq(m[k].arg.remap.to, want[k].b);
				cr_assert_eq(m[k].arg.remap.len, want[k].c);
				break;
			case MMRT_UFFD_EVENT_FORK:
				cu = m[k].arg.fork.ufd;
				cr_assert_not_null(cu);
				nforks++;
				break;
			}
		}
		cr_assert_eq(nforks, 1);
	}
	expect_none(u);

	/* the unmapped pages are gone */
	cr_assert_eq(mmrt_read(as, VA + 4 * PG, &b, 8), -EFAULT);
	cr_assert_eq(mmrt_read(as, VA + 8 * PG, &b, 8), -EFAULT);
	/* the removed page: refaults MISSING in the parent */
	cr_assert_eq(mmrt_read_flags(as, VA, &b, 8, NOWAIT), -EAGAIN);
	expect_fault(u, VA, 0);
	/* in the child, registered (with the FORK uffd) iff EVENT_FORK */
	rc = mmrt_read_flags(child, VA + PG, &b, 8, NOWAIT);
	if (on) {
		cr_assert_eq(rc, -EAGAIN);
		expect_fault(cu, VA + PG, 0);
	} else {
		cr_assert_eq(rc, 0);
		cr_assert_eq(b, 0);
	}
	check_pat(child, VA + 12 * PG, 12, 4, 61);
	/* the remapped pages moved with their contents ... */
	check_pat(as, VB, 8, 4, 61);
	/* ... and their registration iff EVENT_REMAP */
	cr_assert_eq(mmrt_advise(as, VB + PG, PG, MMRT_ADV_DONTNEED), 0);
	if (on)
		expect_event(u, MMRT_UFFD_EVENT_REMOVE);
	rc = mmrt_read_flags(as, VB + PG, &b, 8, NOWAIT);
	if (on) {
		cr_assert_eq(rc, -EAGAIN);
		expect_fault(u, VB + PG, 0);
	} else {
		cr_assert_eq(rc, 0);
		cr_assert_eq(b, 0);
		expect_none(u);
	}
	/* an unregistered range remaps quietly (its page was dropped) */
	cr_assert_eq(mmrt_read(as, VC, &b, 8), -EFAULT);
	check_zero(as, VD, PG);
	expect_none(u);

	if (cu != NULL)
		cr_assert_eq(mmrt_uffd_destroy(cu), 0);
	cr_assert_eq(mmrt_as_destroy(child), 0);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(uffd, events_oracle)
{
	events_log(true);
}

Test(uffd, events_off)
{
	events_log(false);
}

/* ================================================================== */
/* mmap-changing                                                      */
/* ================================================================== */

enum { MC_UNMAP, MC_REMOVE, MC_REMAP, MC_FORK, MC_N };

static const uint8_t mc_event[MC_N] = {
	MMRT_UFFD_EVENT_UNMAP, MMRT_UFFD_EVENT_REMOVE, MMRT_UFFD_EVENT_REMAP,
	MMRT_UFFD_EVENT_FORK,
};

/*
 * Layout of the mmap-changing test:
 *   VA: anon 64 pages, MISSING|WP: fill targets at 4r..4r+3, event
 *       victims at 48 + 2r, writeprotect target at 60 (populated)
 *   VB: anon 16 pages, populated, not registered: move sources
 *   VC: object 16 pages (all present), MINOR: continue targets
 *   VD: free, remap target
 */
Test(uffd, mmap_changing)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("mc");
	struct mmrt_object *obj = mmrt_object_create("mc-obj", 16 * PG);
	struct mmrt_uffd *u, *cu;
	struct mmrt_uffd_msg m;
	struct mmrt_as *child = NULL;
	struct mmrt_xlate x;
	uint64_t victim, t, b = 0;
	int64_t res;
	int r, rc;

	cr_assert_not_null(as);
	cr_assert_not_null(obj);
	cr_assert_eq(mmrt_map(as, VA, 64 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VB, 16 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map_object(as, VC, 16 * PG, RW, 0, obj, 0), 0);
	put_pat(as, VB, 0, 16, 71);
	pat(wbuf, 0, 16, 72);
	cr_assert_eq(mmrt_object_write(obj, 0, wbuf, 16 * PG), 0);
	u = mkuffd(as, F_EVENTS | F_POISON | F_MOVE | F_MINOR | F_WP);
	reg(u, VA, 64 * PG, R_MISSING | R_WP);
	reg(u, VC, 16 * PG, R_MINOR);
	pat(wbuf, 48, 16, 73);
	copy_ok(u, VA + 48 * PG, wbuf, 16 * PG, 0);
	pat(wbuf, 0, 1, 74);

	for (r = 0; r < MC_N; r++) {
		t = VA + 4 * r * PG;
		victim = VA + (48 + 2 * r) * PG;
		switch (r) {
		case MC_UNMAP:
			cr_assert_eq(mmrt_unmap(as, victim, PG), 0);
			break;
		case MC_REMOVE:
			cr_assert_eq(mmrt_advise(as, victim, PG,
				MMRT_ADV_DONTNEED), 0);
			break;
		case MC_REMAP:
			cr_assert_eq(mmrt_remap(as, victim, PG, VD), 0);
			break;
		case MC_FORK:
			child = mmrt_as_fork(as, "mc-child");
			cr_assert_not_null(child);
			break;
		}
		/* the event is queued, not read: every fill is refused */
		rc = ucopy(u, t, wbuf, PG, 0, &res);
		cr_assert_eq(rc, -EAGAIN, "round %d copy %d", r, rc);
		cr_assert_eq(res, -EAGAIN, "round %d copy result %" PRId64, r,
			res);
		rc = uzero(u, t + PG, PG, 0, &res);
		cr_assert_eq(rc, -EAGAIN, "round %d zeropage %d", r, rc);
		cr_assert_eq(res, -EAGAIN);
		rc = upoison(u, t + 2 * PG, PG, 0, &res);
		cr_assert_eq(rc, -EAGAIN, "round %d poison %d", r, rc);
		cr_assert_eq(res, -EAGAIN);
		rc = umove(u, t + 3 * PG, VB + r * PG, PG, 0, &res);
		cr_assert_eq(rc, -EAGAIN, "round %d move %d", r, rc);
		cr_assert_eq(res, -EAGAIN);
		rc = ucont(u, VC + r * PG, PG, 0, &res);
		cr_assert_eq(rc, -EAGAIN, "round %d continue %d", r, rc);
		cr_assert_eq(res, -EAGAIN);
		rc = uwp(u, VA + 60 * PG, PG, MMRT_UFFD_MODE_WP);
		cr_assert_eq(rc, -EAGAIN, "round %d writeprotect %d", r, rc);
		/* nothing happened */
		cr_assert_eq(xl(as, t, 0, &x), -EFAULT);
		cr_assert_eq(xl(as, t + PG, 0, &x), -EFAULT);
		cr_assert_eq(xl(as, t + 3 * PG, 0, &x), -EFAULT);
		cr_assert_eq(xl(as, VB + r * PG, 0, &x), 0);
		cr_assert_eq(xl(as, VC + r * PG, 0, &x), -EFAULT);
		/* not write-protected (a write may still break COW) */
		rc = mmrt_write_flags(as, VA + 60 * PG, &b, 8, NOWAIT);
		cr_assert_eq(rc, 0, "round %d: refused WP took effect: %d", r,
			rc);

		/* read the event: the fills go through */
		m = expect_event(u, mc_event[r]);
		if (r == MC_FORK) {
			/* (the move source must not stay shared) */
			cu = m.arg.fork.ufd;
			cr_assert_not_null(cu);
			cr_assert_eq(mmrt_uffd_destroy(cu), 0);
			cr_assert_eq(mmrt_as_destroy(child), 0);
		}
		rc = ucopy(u, t, wbuf, PG, 0, &res);
		cr_assert_eq(rc, 0, "round %d copy after the event %d", r, rc);
		cr_assert_eq(res, (int64_t)PG);
		cr_assert_eq(uzero(u, t + PG, PG, 0, &res), 0);
		cr_assert_eq(res, (int64_t)PG);
		cr_assert_eq(upoison(u, t + 2 * PG, PG, 0, &res), 0);
		cr_assert_eq(res, (int64_t)PG);
		cr_assert_eq(umove(u, t + 3 * PG, VB + r * PG, PG, 0, &res), 0);
		cr_assert_eq(res, (int64_t)PG);
		cr_assert_eq(ucont(u, VC + r * PG, PG, 0, &res), 0);
		cr_assert_eq(res, (int64_t)PG);
		cr_assert_eq(uwp(u, VA + 60 * PG, PG, MMRT_UFFD_MODE_WP), 0);
		cr_assert_eq(mmrt_write_flags(as, VA + 60 * PG, &b, 8, NOWAIT),
			-EAGAIN);
		expect_fault(u, VA + 60 * PG, PF_WP | PF_WRITE);
		cr_assert_eq(uwp(u, VA + 60 * PG, PG, 0), 0);
		check_pat(as, t, 0, 1, 74);
		check_zero(as, t + PG, PG);
		cr_assert_eq(mmrt_read(as, t + 2 * PG, &x, 8), -EHWPOISON);
		check_pat(as, t + 3 * PG, r, 1, 71);
		pat(ebuf, r, 1, 72);
		cr_assert_eq(mmrt_read(as, VC + r * PG, rbuf, PG), 0);
		cmp_buf(rbuf, ebuf, PG, VC + r * PG, "continued");
	}
	expect_none(u);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_object_destroy(obj), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* poison                                                             */
/* ================================================================== */

Test(uffd, poison)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("poison");
	struct mmrt_uffd *u, *u2;
	struct mmrt_xlate x;
	uint64_t b = 1;
	int64_t res;
	int i, rc, nhw = 0;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VB, PG, RW, 0), 0);
	u = mkuffd(as, F_POISON);
	cr_assert(reg(u, VA, 4 * PG, R_MISSING) & MMRT_UFFD_OP_POISON);
	for (i = 0; i < 4; i++) {
		if (i & 1) {
			copy_ok(u, VA + i * PG, zbuf, PG, 0);
		} else {
			cr_assert_eq(upoison(u, VA + i * PG, PG, 0, &res), 0);
			cr_assert_eq(res, (int64_t)PG);
		}
	}
	for (i = 0; i < 4; i++) {
		rc = mmrt_read(as, VA + i * PG, rbuf, PG);
		if (rc == -EHWPOISON) {
			nhw++;
			cr_assert_eq(i & 1, 0, "page %d poisoned", i);
			continue;
		}
		cr_assert_eq(rc, 0, "page %d: %d", i, rc);
		cmp_buf(rbuf, zbuf, PG, VA + i * PG, "poison neighbour");
	}
	cr_assert_eq(nhw, 2);
	cr_assert_eq(mmrt_write(as, VA, &b, 8), -EHWPOISON);
	cr_assert_eq(mmrt_fault(as, VA, MMRT_ACCESS_READ), -EHWPOISON);
	expect_none(u);
	cr_assert_eq(ust(u).faults, 0);

	/* populated or poisoned already: -EEXIST */
	cr_assert_eq(upoison(u, VA + PG, PG, 0, &res), -EEXIST);
	cr_assert_eq(res, -EEXIST);
	cr_assert_eq(upoison(u, VA, PG, 0, &res), -EEXIST);
	cr_assert_eq(res, -EEXIST);
	cr_assert_eq(ucopy(u, VA, zbuf, PG, 0, &res), -EEXIST);
	cr_assert_eq(res, -EEXIST);
	/* advised away: the marker goes, the page refaults MISSING */
	cr_assert_eq(mmrt_advise(as, VA, PG, MMRT_ADV_DONTNEED), 0);
	cr_assert_eq(mmrt_read_flags(as, VA, &b, 8, NOWAIT), -EAGAIN);
	expect_fault(u, VA, 0);
	pat(wbuf, 0, 1, 81);
	copy_ok(u, VA, wbuf, PG, 0);
	check_pat(as, VA, 0, 1, 81);
	/* unmapped and mapped again: gone too */
	cr_assert_eq(mmrt_unmap(as, VA + 2 * PG, PG), 0);
	cr_assert_eq(mmrt_map(as, VA + 2 * PG, PG, RW, 0), 0);
	check_zero(as, VA + 2 * PG, PG);

	/* without FEATURE_POISON */
	u2 = mkuffd(as, 0);
	cr_assert_not(reg(u2, VB, PG, R_MISSING) & MMRT_UFFD_OP_POISON);
	cr_assert_eq(upoison(u2, VB, PG, 0, &res), -EINVAL);
	cr_assert_eq(res, -EINVAL);
	cr_assert_eq(xl(as, VB, 0, &x), -EFAULT);

	cr_assert_eq(mmrt_uffd_destroy(u2), 0);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* CPU accessors: waiting, NOWAIT, dedup, requester ids                */
/* ================================================================== */

Test(uffd, accessor_wait)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("accw");
	struct mmrt_uffd_stats st;
	static uint8_t b1[PG], b2[PG];
	struct mmrt_uffd_msg msg;
	struct mmrt_uffd *u;
	struct acc a, a2;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, 0), 0);
	u = mkuffd(as, F_TID);
	reg(u, VA, 4 * PG, R_MISSING);

	/* a blocked reader, served by the main thread */
	acc_start(&a, as, VA + 100, b1, 64, false);
	msg = expect_fault(u, VA, 0);
	cr_assert_eq(msg.arg.pagefault.ptid, (uint32_t)a.tid,
		"ptid %u, want %d", msg.arg.pagefault.ptid, a.tid);
	cr_assert_eq(msg.reserved1 | msg.reserved2 | msg.reserved3, 0);
	cr_assert_not(acc_done(&a), "the reader did not wait for the fill");
	pat(wbuf, 0, 1, 91);
	copy_ok(u, VA, wbuf, PG, 0);
	cr_assert_eq(acc_join(&a), 0);
	cmp_buf(b1, wbuf + 100, 64, VA + 100, "woken reader");
	cr_assert_geq(ust(u).wakes, 1);

	/*
	 * two readers of one page: one message, the other deduplicated (a
	 * waiter's re-check every millisecond is deduplicated too, so on a
	 * slow run there are more)
	 */
	acc_start(&a, as, VA + PG, b1, PG, false);
	acc_start(&a2, as, VA + PG + 8, b2, 8, false);
	wait_faults(u, 3);
	st = ust(u);
	cr_assert_eq(st.faults, 2);
	cr_assert_geq(st.faults_dedup, 1);
	msg = expect_fault(u, VA + PG, 0);
	cr_assert(msg.arg.pagefault.ptid == (uint32_t)a.tid ||
		msg.arg.pagefault.ptid == (uint32_t)a2.tid);
	pat(wbuf, 1, 1, 91);
	copy_ok(u, VA + PG, wbuf, PG, 0);
	cr_assert_eq(acc_join(&a), 0);
	cr_assert_eq(acc_join(&a2), 0);
	cmp_buf(b1, wbuf, PG, VA + PG, "reader 1");
	cmp_buf(b2, wbuf + 8, 8, VA + PG + 8, "reader 2");
	cr_assert_eq(ust(u).pending, 0);

	/* a writer: WRITE flag, its data lands after the fill */
	memset(b1, 0xab, 16);
	acc_start(&a, as, VA + 2 * PG + 32, b1, 16, true);
	expect_fault(u, VA + 2 * PG, PF_WRITE);
	pat(wbuf, 2, 1, 91);
	copy_ok(u, VA + 2 * PG, wbuf, PG, 0);
	cr_assert_eq(acc_join(&a), 0);
	memset(wbuf + 32, 0xab, 16);
	cr_assert_eq(mmrt_read(as, VA + 2 * PG, rbuf, PG), 0);
	cmp_buf(rbuf, wbuf, PG, VA + 2 * PG, "written after fill");
	expect_none(u);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(uffd, accessor_nowait)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("accn");
	struct mmrt_uffd_stats st;
	struct mmrt_uffd_msg msg;
	struct mmrt_uffd *u, *u2;
	uint64_t b;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VB, 2 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VC, PG, RW, 0), 0);
	u = mkuffd(as, 0);
	reg(u, VA, 4 * PG, R_MISSING);
	u2 = mkuffd(as, F_EXACT | F_TID);
	reg(u2, VB, 2 * PG, R_MISSING);

	/* NOWAIT: -EAGAIN and one message, deduplicated while pending */
	cr_assert_eq(mmrt_read_flags(as, VA + 5, &b, 8, NOWAIT), -EAGAIN);
	cr_assert_eq(mmrt_read_flags(as, VA + 9, &b, 8, NOWAIT), -EAGAIN);
	cr_assert_eq(mmrt_fault(as, VA + 13, MMRT_ACCESS_READ | NOWAIT),
		-EAGAIN);
	st = ust(u);
	cr_assert_eq(st.faults, 1);
	cr_assert_eq(st.faults_dedup, 2);
	msg = expect_fault(u, VA, 0);
	/* no THREAD_ID: no requester id */
	cr_assert_eq(msg.arg.pagefault.ptid, 0);
	cr_assert_eq(mmrt_write_flags(as, VA + 3 * PG, &b, 8, NOWAIT),
		-EAGAIN);
	expect_fault(u, VA + 3 * PG, PF_WRITE);

	/* EXACT_ADDRESS and THREAD_ID */
	cr_assert_eq(mmrt_read_flags(as, VB + PG + 123, &b, 1, NOWAIT),
		-EAGAIN);
	msg = expect_fault(u2, VB + PG + 123, 0);
	cr_assert_eq(msg.arg.pagefault.ptid, (uint32_t)rte_gettid());

	/* across pages: all or nothing, not the bytes before the page */
	pat(ebuf, 1, 1, 92);
	copy_ok(u, VA + PG, ebuf, PG, 0);
	memset(rbuf, 0xa5, 2 * PG);
	memset(wbuf, 0xa5, 2 * PG);
	cr_assert_eq(mmrt_read_flags(as, VA + PG, rbuf, 2 * PG, NOWAIT),
		-EAGAIN);
	cmp_buf(rbuf, wbuf, 2 * PG, VA + PG, "buffer of a failed read");
	expect_fault(u, VA + 2 * PG, 0);
	pat(wbuf, 0, 2, 93);
	cr_assert_eq(mmrt_write_flags(as, VA + PG, wbuf, 2 * PG, NOWAIT),
		-EAGAIN);
	cr_assert_eq(mmrt_read(as, VA + PG, rbuf, PG), 0);
	cmp_buf(rbuf, ebuf, PG, VA + PG, "page before a failed write");
	/* still pending: deduplicated */
	cr_assert_eq(ust(u).faults_dedup, 3);
	expect_none(u);

	/* the flags: only NOWAIT is known */
	cr_assert_eq(mmrt_read_flags(as, VA + PG, &b, 8, 1u << 5), -EINVAL);
	cr_assert_eq(mmrt_write_flags(as, VA + PG, &b, 8, 1u << 5), -EINVAL);
	/* NOWAIT changes nothing where no uffd serves the page */
	cr_assert_eq(mmrt_read_flags(as, VC + 8, &b, 8, NOWAIT), 0);
	cr_assert_eq(b, 0);
	expect_none(u);
	expect_none(u2);

	cr_assert_eq(mmrt_uffd_destroy(u2), 0);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(uffd, accessor_timeout)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("acct");
	struct mmrt_uffd *u;
	uint64_t b;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, PG, RW, 0), 0);
	u = mkuffd_conf(as, 0, 0, 20000);
	reg(u, VA, PG, R_MISSING);
	/* nobody answers */
	cr_assert_eq(mmrt_read(as, VA, &b, 8), -ETIMEDOUT);
	cr_assert_eq(mmrt_fault(as, VA, MMRT_ACCESS_WRITE), -ETIMEDOUT);
	expect_fault(u, VA, 0);
	copy_ok(u, VA, zbuf, PG, 0);
	cr_assert_eq(mmrt_read(as, VA, &b, 8), 0);
	cr_assert_eq(b, 0);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

#define NFULL 80

Test(uffd, ring_full)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("ring");
	struct mmrt_uffd_msg m[NFULL];
	struct mmrt_uffd_stats st;
	struct mmrt_uffd *u;
	uint64_t b;
	int i, n, rc;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, NFULL * PG, RW, 0), 0);
	u = mkuffd_conf(as, 0, 64, UFFD_TIMEOUT_US);
	reg(u, VA, NFULL * PG, R_MISSING);
	for (i = 0; i < NFULL; i++) {
		rc = mmrt_read_flags(as, VA + i * PG, &b, 8, NOWAIT);
		cr_assert_eq(rc, -EAGAIN, "page %d: %d", i, rc);
	}
	st = ust(u);
	cr_assert_leq(st.faults, 64, "%" PRIu64 " faults pending in a ring "
		"of 64", st.faults);
	cr_assert_eq(st.faults + st.faults_full, NFULL);
	cr_assert_geq(st.faults_full, NFULL - 64);
	n = mmrt_uffd_read(u, m, NFULL);
	cr_assert_eq(n, (int)st.faults);
	for (i = 0; i < n; i++) {
		cr_assert_eq(m[i].event, MMRT_UFFD_EVENT_PAGEFAULT);
		/* FIFO */
		cr_assert_eq(m[i].arg.pagefault.address, VA + i * PG);
	}
	pat(wbuf, 0, NFULL, 95);
	copy_ok(u, VA, wbuf, NFULL * PG, 0);
	check_pat(as, VA, 0, NFULL, 95);
	cr_assert_eq(ust(u).pending, 0);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * The fault queue (uffd.c) through many times its size: posts and reads
 * in uneven batches, so that both positions cross the end of the cells
 * in the middle of a batch, at every offset. Every message comes out in
 * post order, the 65th outstanding post finds the queue full (and is not
 * queued), and nothing is left pending.
 */
#define QW_CELLS 64
#define QW_PAGES (2 * QW_CELLS) /* a page posted again was read before */
#define QW_STEPS 120

Test(uffd, fault_queue_wrap)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("qwrap");
	struct mmrt_uffd_range wr = { .len = PG };
	struct mmrt_uffd_msg m[QW_CELLS];
	uint64_t b, posted = 0, read = 0, full = 0, va;
	struct mmrt_uffd *u;
	unsigned int step, k, want, got;
	int rc;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, QW_PAGES * PG, RW, 0), 0);
	u = mkuffd_conf(as, 0, QW_CELLS, UFFD_TIMEOUT_US);
	reg(u, VA, QW_PAGES * PG, R_MISSING);
	for (step = 0; step < QW_STEPS; step++) {
		/* post 1..QW_CELLS + 3 pages, one past the other */
		want = 1 + (step * 37) % (QW_CELLS + 3);
		for (k = 0; k < want; k++) {
			va = VA + (posted % QW_PAGES) * PG;
			rc = mmrt_read_flags(as, va, &b, 8, NOWAIT);
			cr_assert_eq(rc, -EAGAIN, "step %u: %d", step, rc);
			if (posted - read == QW_CELLS) {
				/* full: not queued, and its pending slot
				 * given back, so the same post after a read
				 * is a fresh one */
				full++;
				cr_assert_eq(ust(u).faults_full, full,
					"step %u: the queue was not full", step);
				break;
			}
			cr_assert_eq(ust(u).faults_full, full,
				"step %u: full with %" PRIu64 " outstanding",
				step, posted - read);
			posted++;
			/* derived from npost less the undone claims: the
			 * full posts above claimed a slot and gave it back */
			cr_assert_eq(ust(u).faults_missing, posted,
				"step %u: %" PRIu64 " MISSING faults counted, "
				"%" PRIu64 " queued", step,
				ust(u).faults_missing, posted);
		}
		/* read 1..QW_CELLS messages, in post order */
		want = 1 + (step * 23) % QW_CELLS;
		rc = mmrt_uffd_read(u, m, want);
		cr_assert_geq(rc, 0);
		got = (unsigned int)rc;
		cr_assert_eq(got, RTE_MIN(want, (unsigned int)(posted - read)),
			"step %u: %u messages for %u wanted, %" PRIu64
			" outstanding", step, got, want, posted - read);
		for (k = 0; k < got; k++, read++) {
			va = VA + (read % QW_PAGES) * PG;
			cr_assert_eq(m[k].event, MMRT_UFFD_EVENT_PAGEFAULT);
			cr_assert_eq(m[k].arg.pagefault.address, va,
				"step %u: message %" PRIu64 " is for %#" PRIx64
				", not %#" PRIx64, step, read,
				(uint64_t)m[k].arg.pagefault.address, va);
			/* idle again, so that its next post queues */
			wr.start = va;
			cr_assert_eq(mmrt_uffd_wake(u, &wr), 0);
		}
	}
	cr_assert_gt(posted, 4 * QW_CELLS, "only %" PRIu64 " posts", posted);
	cr_assert_gt(full, 0, "the queue was never full");
	got = (unsigned int)mmrt_uffd_read(u, m, QW_CELLS);
	for (k = 0; k < got; k++, read++)
		cr_assert_eq(m[k].arg.pagefault.address,
			VA + (read % QW_PAGES) * PG);
	cr_assert_eq(read, posted);
	wr.start = VA;
	wr.len = QW_PAGES * PG;
	cr_assert_eq(mmrt_uffd_wake(u, &wr), 0);
	cr_assert_eq(ust(u).pending, 0);
	cr_assert_eq(ust(u).faults, posted);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* lib/dev consumers                                                  */
/* ================================================================== */

Test(uffd, consumer)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("cons");
	struct mmrt_consumer_conf cf = { .name = "uffd-c" };
	struct mmrt_consumer_stats cs;
	struct mmrt_uffd *u, *us, *up;
	struct mmrt_uffd_msg msg;
	struct mmrt_consumer *c;
	struct mmrt_xlate x;
	uint64_t va[4];
	uint32_t acc[4];
	int64_t res;
	int id, rc;

	cr_assert_not_null(as);
	cr_assert_geq(mmrt_thread_register(), 0);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VB, PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VC, PG, RW, 0), 0);
	u = mkuffd(as, F_TID | F_WP);
	reg(u, VA, 2 * PG, R_MISSING | R_WP);
	us = mkuffd(as, F_SIGBUS);
	reg(us, VB, PG, R_MISSING);
	up = mkuffd(as, F_POISON);
	reg(up, VC, PG, R_MISSING);
	c = mmrt_consumer_create(&cf);
	cr_assert_not_null(c);
	id = mmrt_consumer_bind(c, as);
	cr_assert_gt(id, 0);

	/* a MISSING page: -EAGAIN, one userfault, no page request */
	cr_assert_eq(mmrt_consumer_translate(c, VA + 8, MMRT_ACCESS_READ, &x),
		-EAGAIN);
	cr_assert_eq(mmrt_consumer_stats(c, &cs), 0);
	cr_assert_eq(cs.userfaults, 1);
	cr_assert_eq(cs.page_requests, 0);
	msg = expect_fault(u, VA, 0);
	cr_assert_eq(msg.arg.pagefault.ptid,
		MMRT_UFFD_REQUESTER_CONSUMER | (uint32_t)id, "ptid %#x",
		msg.arg.pagefault.ptid);
	/* again: pending, no second message (answered from the consumer's
	 * memo of its post: no probe, so no dedup either) */
	cr_assert_eq(mmrt_consumer_translate(c, VA + 16, MMRT_ACCESS_READ,
		&x), -EAGAIN);
	expect_none(u);
	cr_assert_eq(ust(u).faults, 1);
	cr_assert_eq(ust(u).faults_dedup, 0);
	cr_assert_eq(mmrt_consumer_stats(c, &cs), 0);
	cr_assert_eq(cs.userfaults, 2);
	cr_assert_eq(mmrt_consumer_page_requests(c, va, acc, 4), 0);
	/* the fill: the next try succeeds */
	pat(wbuf, 0, 1, 101);
	copy_ok(u, VA, wbuf, PG, 0);
	mmrt_consumer_poll(c);
	cr_assert_eq(mmrt_consumer_translate(c, VA + 8, MMRT_ACCESS_READ, &x),
		0);
	cmp_buf(x.addr, wbuf + 8, 64, VA + 8, "consumer after the fill");

	/* a write to a write-protected page: a WP userfault */
	cr_assert_eq(mmrt_consumer_translate(c, VA, MMRT_ACCESS_WRITE, &x), 0);
	/* flushed before the call returns: no poll in between */
	cr_assert_eq(uwp(u, VA, PG, MMRT_UFFD_MODE_WP), 0);
	cr_assert_eq(mmrt_consumer_translate(c, VA, MMRT_ACCESS_WRITE, &x),
		-EAGAIN);
	msg = expect_fault(u, VA, PF_WP | PF_WRITE);
	cr_assert_eq(msg.arg.pagefault.ptid,
		MMRT_UFFD_REQUESTER_CONSUMER | (uint32_t)id);
	cr_assert_eq(mmrt_consumer_translate(c, VA, MMRT_ACCESS_READ, &x), 0);
	cr_assert_eq(uwp(u, VA, PG, 0), 0);
	mmrt_consumer_poll(c);
	cr_assert_eq(mmrt_consumer_translate(c, VA, MMRT_ACCESS_WRITE, &x), 0);
	cr_assert_eq(mmrt_consumer_stats(c, &cs), 0);
	cr_assert_geq(cs.userfaults, 3);
	cr_assert_eq(cs.page_requests, 0);

	/* an ordinary fault next to it is resolved in place, no message */
	rc = mmrt_consumer_translate(c, VA + 2 * PG + 8, 0, &x);
	cr_assert_eq(rc, 0, "demand-zero next to a uffd range: %d", rc);
	cmp_buf(x.addr, zbuf, 64, VA + 2 * PG + 8, "demand-zero");
	cr_assert_eq(mmrt_consumer_stats(c, &cs), 0);
	cr_assert_eq(cs.faults_resolved, 1);
	cr_assert_eq(cs.page_requests, 0);
	cr_assert_eq(mmrt_consumer_page_requests(c, va, acc, 4), 0);
	expect_none(u);
	/* SIGBUS mode: -EFAULT, no message */
	cr_assert_eq(mmrt_consumer_translate(c, VB, 0, &x), -EFAULT);
	expect_none(us);
	cr_assert_geq(ust(us).faults_sigbus, 1);
	/* poison: -EHWPOISON */
	cr_assert_eq(upoison(up, VC, PG, 0, &res), 0);
	cr_assert_eq(mmrt_consumer_translate(c, VC, 0, &x), -EHWPOISON);
	expect_none(up);
	/* no region */
	cr_assert_eq(mmrt_consumer_translate(c, VD, 0, &x), -EFAULT);

	/* a pending consumer fault: after destroy it resolves as ordinary */
	cr_assert_eq(mmrt_consumer_translate(c, VA + PG, 0, &x), -EAGAIN);
	expect_fault(u, VA + PG, 0);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_consumer_translate(c, VA + PG + 8, 0, &x), 0);
	cmp_buf(x.addr, zbuf, 64, VA + PG + 8, "after destroy");

	cr_assert_eq(mmrt_consumer_destroy(c), 0);
	cr_assert_eq(mmrt_uffd_destroy(us), 0);
	cr_assert_eq(mmrt_uffd_destroy(up), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_thread_unregister(), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * The fault token and the consumer's retry memo: a retry of a posted page
 * re-probes as soon as the token moves (a wake without a fill, a destroy)
 * and, for a fault dropped on a full ring (no token move), within the
 * memo's bound of 64 retries.
 */
Test(uffd, consumer_retry_token)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("ctok"), *as2;
	struct mmrt_consumer_conf cf = { .name = "uffd-tok" };
	struct mmrt_uffd_range wr = { .start = VA, .len = PG };
	struct mmrt_fault_token tok = { .seq = NULL };
	struct mmrt_uffd_msg m[64];
	struct mmrt_consumer *c;
	struct mmrt_uffd *u, *u2;
	struct mmrt_xlate x;
	uint64_t i, full0;
	int64_t res;
	int n, rc;

	cr_assert_not_null(as);
	cr_assert_geq(mmrt_thread_register(), 0);
	cr_assert_eq(mmrt_map(as, VA, 128 * PG, RW, 0), 0);
	u = mkuffd_conf(as, 0, 64, UFFD_TIMEOUT_US);
	reg(u, VA, 128 * PG, R_MISSING);

	/* the token API: bad input stores no token and changes nothing */
	tok.seq = (const uint64_t *)&tok;
	cr_assert_eq(mmrt_fault_request_token(NULL, VA, MMRT_ACCESS_READ, 0,
		&tok), -EINVAL);
	cr_assert_null(tok.seq);
	cr_assert(mmrt_fault_token_moved(&tok), "no token counts as moved");
	cr_assert_eq(mmrt_fault_request_token(as, VA, 0, 0, &tok), -EINVAL);
	cr_assert_eq(mmrt_fault_request_token(as, MMRT_VA_LIMIT,
		MMRT_ACCESS_READ, 0, &tok), -EINVAL);
	expect_none(u);
	/* a posted fault: a token that holds until the fill's wake */
	cr_assert_eq(mmrt_fault_request_token(as, VA, MMRT_ACCESS_READ, 7,
		&tok), -EAGAIN);
	cr_assert_not_null(tok.seq);
	cr_assert_not(mmrt_fault_token_moved(&tok));
	expect_fault(u, VA, 0);
	cr_assert_eq(mmrt_fault_request_token(as, VA, MMRT_ACCESS_READ, 7,
		NULL), -EAGAIN, "pending: NULL token allowed");
	cr_assert_not(mmrt_fault_token_moved(&tok));
	cr_assert_eq(uzero(u, VA, PG, 0, &res), 0);
	cr_assert(mmrt_fault_token_moved(&tok), "the fill's wake moves it");
	cr_assert_eq(mmrt_fault_request_token(as, VA, MMRT_ACCESS_READ, 7,
		&tok), 0);
	cr_assert_null(tok.seq, "resolved: no token");

	c = mmrt_consumer_create(&cf);
	cr_assert_not_null(c);
	cr_assert_gt(mmrt_consumer_bind(c, as), 0);

	/* a wake without a fill moves the token: the next retry posts again
	 * at once, not after the memo's bound */
	cr_assert_eq(mmrt_consumer_translate(c, VA + PG, 0, &x), -EAGAIN);
	expect_fault(u, VA + PG, 0);
	cr_assert_eq(mmrt_consumer_translate(c, VA + PG, 0, &x), -EAGAIN);
	expect_none(u);
	wr.start = VA + PG;
	cr_assert_eq(mmrt_uffd_wake(u, &wr), 0);
	cr_assert_eq(mmrt_consumer_translate(c, VA + PG, 0, &x), -EAGAIN);
	expect_fault(u, VA + PG, 0);

	/* a fault dropped on a full ring moves no token: posted again within
	 * the bound once the ring has room */
	for (i = 0; i < 64; i++)
		cr_assert_eq(mmrt_consumer_translate(c, VA + (2 + i) * PG, 0,
			&x), -EAGAIN);
	full0 = ust(u).faults_full;
	cr_assert_eq(mmrt_consumer_translate(c, VA + 100 * PG, 0, &x),
		-EAGAIN);
	cr_assert_eq(ust(u).faults_full, full0 + 1, "the ring was not full");
	n = mmrt_uffd_read(u, m, RTE_DIM(m));
	cr_assert_eq(n, 64, "%d messages", n);
	for (i = 0; i < 66 && mmrt_uffd_read(u, m, 1) == 0; i++) {
		rc = mmrt_consumer_translate(c, VA + 100 * PG, 0, &x);
		cr_assert_eq(rc, -EAGAIN, "retry %" PRIu64 ": %d", i, rc);
	}
	cr_assert_lt(i, 66, "the dropped fault was never posted again");
	cr_assert_eq(m[0].arg.pagefault.address, VA + 100 * PG);

	/* a protection change of an absent page flushes nothing but turns
	 * the outcome: it moves the token (found by the fuzzer) */
	cr_assert_eq(mmrt_consumer_translate(c, VA + 104 * PG, 0, &x),
		-EAGAIN);
	expect_fault(u, VA + 104 * PG, 0);
	cr_assert_eq(mmrt_protect(as, VA + 104 * PG, PG, MMRT_PROT_NONE), 0);
	cr_assert_eq(mmrt_consumer_translate(c, VA + 104 * PG, 0, &x),
		-EACCES);

	/* the token outlives its uffd: destroy moves it, the memo re-probes
	 * and the fault resolves as an ordinary one */
	cr_assert_eq(mmrt_fault_request_token(as, VA + 101 * PG,
		MMRT_ACCESS_READ, 7, &tok), -EAGAIN);
	cr_assert_eq(mmrt_consumer_translate(c, VA + 102 * PG, 0, &x),
		-EAGAIN);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert(mmrt_fault_token_moved(&tok));
	cr_assert_eq(mmrt_consumer_translate(c, VA + 102 * PG, 0, &x), 0);

	/* the memo belongs to its binding: bound to another space, the same
	 * page is that space's (found by the fuzzer: the memo survived an
	 * unbind and answered -EAGAIN for a demand-zero page) */
	u = mkuffd_conf(as, 0, 64, UFFD_TIMEOUT_US);
	reg(u, VA + 103 * PG, PG, R_MISSING);
	cr_assert_eq(mmrt_consumer_translate(c, VA + 103 * PG, 0, &x),
		-EAGAIN);
	expect_fault(u, VA + 103 * PG, 0);
	cr_assert_eq(mmrt_consumer_unbind(c), 0);
	as2 = mmrt_as_create("ctok2");
	cr_assert_not_null(as2);
	cr_assert_eq(mmrt_map(as2, VA, 128 * PG, RW, 0), 0);
	cr_assert_gt(mmrt_consumer_bind(c, as2), 0);
	cr_assert_eq(mmrt_consumer_translate(c, VA + 103 * PG, 0, &x), 0);

	/* a new registration mode turns the outcome without a wake: MISSING
	 * to WP only makes the absent page an ordinary (demand-zero) one */
	u2 = mkuffd_conf(as2, F_POISON | F_WP, 64, UFFD_TIMEOUT_US);
	reg(u2, VA + 110 * PG, 2 * PG, R_MISSING);
	cr_assert_eq(mmrt_consumer_translate(c, VA + 110 * PG, 0, &x),
		-EAGAIN);
	expect_fault(u2, VA + 110 * PG, 0);
	reg(u2, VA + 110 * PG, PG, R_WP);
	cr_assert_eq(mmrt_consumer_translate(c, VA + 110 * PG, 0, &x), 0);
	/* so does a DONTWAKE poison: -EHWPOISON at once */
	cr_assert_eq(mmrt_consumer_translate(c, VA + 111 * PG, 0, &x),
		-EAGAIN);
	expect_fault(u2, VA + 111 * PG, 0);
	cr_assert_eq(upoison(u2, VA + 111 * PG, PG, MMRT_UFFD_MODE_DONTWAKE,
		&res), 0);
	cr_assert_eq(mmrt_consumer_translate(c, VA + 111 * PG, 0, &x),
		-EHWPOISON);
	cr_assert_eq(mmrt_uffd_destroy(u2), 0);

	cr_assert_eq(mmrt_consumer_unbind(c), 0);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);

	cr_assert_eq(mmrt_consumer_destroy(c), 0);
	cr_assert_eq(mmrt_as_destroy(as2), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_thread_unregister(), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* waiters: destroy, unregister, DONTWAKE + wake                      */
/* ================================================================== */

Test(uffd, destroy_waiter)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("dw");
	static uint8_t b[PG];
	struct mmrt_uffd *u;
	struct acc a;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, PG, RW, 0), 0);
	u = mkuffd(as, 0);
	reg(u, VA, PG, R_MISSING);
	memset(b, 0xee, sizeof(b));
	acc_start(&a, as, VA, b, PG, false);
	wait_faults(u, 1);
	cr_assert_not(acc_done(&a));
	/* the fault retries as an ordinary one: demand-zero */
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(acc_join(&a), 0);
	cmp_buf(b, zbuf, PG, VA, "after destroy");

	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(uffd, unregister_wakes)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("uw");
	static uint8_t b[PG];
	struct mmrt_uffd *u;
	struct mmrt_xlate x;
	struct acc a;
	uint64_t w = 3;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 2 * PG, RW, 0), 0);
	u = mkuffd(as, F_WP);
	reg(u, VA, 2 * PG, R_MISSING | R_WP);
	memset(b, 0xee, sizeof(b));
	acc_start(&a, as, VA, b, PG, false);
	wait_faults(u, 1);
	cr_assert_eq(mmrt_uffd_unregister(u, VA, PG), 0);
	cr_assert_eq(acc_join(&a), 0);
	cmp_buf(b, zbuf, PG, VA, "after unregister");
	/* unregister clears write protection too */
	pat(wbuf, 1, 1, 111);
	copy_ok(u, VA + PG, wbuf, PG, 0);
	cr_assert_eq(uwp(u, VA + PG, PG, MMRT_UFFD_MODE_WP), 0);
	cr_assert_eq(xl(as, VA + PG, MMRT_ACCESS_WRITE, &x), -EACCES);
	cr_assert_eq(mmrt_uffd_unregister(u, VA + PG, PG), 0);
	cr_assert_eq(mmrt_write_flags(as, VA + PG, &w, 8, NOWAIT), 0);
	/* no longer registered: a writeprotect there is -ENOENT */
	cr_assert_eq(uwp(u, VA + PG, PG, MMRT_UFFD_MODE_WP), -ENOENT);
	mmrt_uffd_read(u, (struct mmrt_uffd_msg[4]){ 0 }, 4);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(uffd, dontwake_wake)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("dww");
	static uint8_t b[PG];
	struct mmrt_uffd *u;
	struct acc a;
	uint64_t wakes;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 2 * PG, RW, 0), 0);
	u = mkuffd(as, 0);
	reg(u, VA, 2 * PG, R_MISSING);
	acc_start(&a, as, VA + PG, b, PG, false);
	expect_fault(u, VA + PG, 0);
	wakes = ust(u).wakes;
	pat(wbuf, 1, 1, 121);
	copy_ok(u, VA + PG, wbuf, PG, MMRT_UFFD_MODE_DONTWAKE);
	cr_assert_eq(ust(u).wakes, wakes, "a DONTWAKE copy woke");
	cr_assert_eq(uwake(u, VA + PG, PG), 0);
	cr_assert_eq(acc_join(&a), 0);
	cmp_buf(b, wbuf, PG, VA + PG, "woken by wake");
	cr_assert_gt(ust(u).wakes, wakes);
	/* a wake with nobody waiting is fine */
	cr_assert_eq(uwake(u, VA, 2 * PG), 0);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* Destroy clears write protection, drops unread forks, outlives the space. */
Test(uffd, destroy_cleanup)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("dc");
	struct mmrt_as *child;
	struct mmrt_uffd *u;
	uint64_t w = 9, r;
	int64_t res;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 2 * PG, RW, 0), 0);
	u = mkuffd(as, F_WP | F_WPUNPOP | F_FORK);
	reg(u, VA, 2 * PG, R_MISSING | R_WP);
	pat(wbuf, 0, 1, 131);
	copy_ok(u, VA, wbuf, PG, 0);
	cr_assert_eq(uwp(u, VA, 2 * PG, MMRT_UFFD_MODE_WP), 0);
	/* an unread fork event: its child uffd is destroyed with u */
	child = mmrt_as_fork(as, "dc-child");
	cr_assert_not_null(child);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	/* no protection, no marker, no registration left */
	cr_assert_eq(mmrt_write_flags(as, VA, &w, 8, NOWAIT), 0);
	cr_assert_eq(mmrt_write_flags(as, VA + PG, &w, 8, NOWAIT), 0);
	cr_assert_eq(mmrt_read(as, VA + PG, &r, 8), 0);
	cr_assert_eq(r, w);
	/* the child's registration went with its uffd */
	cr_assert_eq(mmrt_write_flags(child, VA, &w, 8, NOWAIT), 0);
	cr_assert_eq(mmrt_read_flags(child, VA + PG, &r, 8, NOWAIT), 0);
	cr_assert_eq(mmrt_as_destroy(child), 0);

	/* a uffd whose space is gone */
	u = mkuffd(as, 0);
	reg(u, VA, PG, R_MISSING);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_uffd_register(u, VA, PG, R_MISSING, NULL), -ESRCH);
	cr_assert_eq(mmrt_uffd_unregister(u, VA, PG), -ESRCH);
	cr_assert_eq(ucopy(u, VA, wbuf, PG, 0, &res), -ESRCH);
	cr_assert_eq(res, -ESRCH);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* bad input                                                          */
/* ================================================================== */

/* Not a live uffd: zeroed memory. */
static uint64_t fake_uffd[8192];

#define BAD_RANGES(call, ...) do { \
	cr_assert_eq(call(u, VA + 1, PG, ##__VA_ARGS__), -EINVAL, \
		#call " unaligned start"); \
	cr_assert_eq(call(u, VA, PG + 1, ##__VA_ARGS__), -EINVAL, \
		#call " unaligned len"); \
	cr_assert_eq(call(u, VA, 0, ##__VA_ARGS__), -EINVAL, \
		#call " zero len"); \
	cr_assert_eq(call(u, UINT64_MAX & ~(PG - 1), 2 * PG, ##__VA_ARGS__), \
		-EINVAL, #call " wrapping"); \
	cr_assert_eq(call(u, MMRT_VA_LIMIT - PG, 2 * PG, ##__VA_ARGS__), \
		-EINVAL, #call " past the limit"); \
} while (0)

static int
bad_reg(struct mmrt_uffd *u, uint64_t start, uint64_t len, uint64_t mode)
{
	uint64_t ops = 0xdead;
	int rc = mmrt_uffd_register(u, start, len, mode, &ops);

	return rc;
}

/* A fill helper checking that the result field holds the same errno. */
#define FILL_RC(fn, ...) ({ \
	int64_t _res = INT64_MIN; \
	int _rc = fn(__VA_ARGS__, &_res); \
	cr_assert(_rc == 0 || _res == _rc, #fn ": result field %" PRId64 \
		" for %d", _res, _rc); \
	_rc; })

static int
bcopy_(struct mmrt_uffd *u, uint64_t dst, uint64_t len, uint64_t mode)
{
	return FILL_RC(ucopy, u, dst, wbuf, len, mode);
}

static int
bzero_(struct mmrt_uffd *u, uint64_t dst, uint64_t len, uint64_t mode)
{
	return FILL_RC(uzero, u, dst, len, mode);
}

static int
bcont_(struct mmrt_uffd *u, uint64_t dst, uint64_t len, uint64_t mode)
{
	return FILL_RC(ucont, u, dst, len, mode);
}

static int
bpoison_(struct mmrt_uffd *u, uint64_t dst, uint64_t len, uint64_t mode)
{
	return FILL_RC(upoison, u, dst, len, mode);
}

static int
bmove_dst(struct mmrt_uffd *u, uint64_t dst, uint64_t len, uint64_t mode)
{
	return FILL_RC(umove, u, dst, VB, len, mode);
}

static int
bmove_src(struct mmrt_uffd *u, uint64_t src, uint64_t len, uint64_t mode)
{
	return FILL_RC(umove, u, VA + 4 * PG, src, len, mode);
}

Test(uffd, badinput)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("bad");
	struct mmrt_object *obj = mmrt_object_create("bad-obj", 4 * PG);
	struct mmrt_uffd *u, *fake = (struct mmrt_uffd *)fake_uffd;
	struct mmrt_uffd_stats st0, st;
	struct mmrt_uffd_copy cp;
	struct mmrt_uffd_msg m[2];
	struct mmrt_as_stats as0, as1;
	struct mmrt_xlate x;
	uint64_t used1, b, ops;
	int i;

	cr_assert_not_null(as);
	cr_assert_not_null(obj);
	/* VA: 8 pages registered MISSING|WP (0..3 empty, 4..7 empty) */
	cr_assert_eq(mmrt_map(as, VA, 8 * PG, RW, 0), 0);
	/* VB: 4 pages, populated, not registered (move sources) */
	cr_assert_eq(mmrt_map(as, VB, 4 * PG, RW, MMRT_MAP_POPULATE), 0);
	/* VC: object, MINOR */
	cr_assert_eq(mmrt_map_object(as, VC, 4 * PG, RW, 0, obj, 0), 0);
	cr_assert_eq(mmrt_object_write(obj, 0, zbuf, 4 * PG), 0);
	u = mkuffd(as, F_WP | F_MINOR | F_WPSHM | F_MOVE | F_POISON);
	reg(u, VA, 8 * PG, R_MISSING | R_WP);
	reg(u, VC, 4 * PG, R_MINOR);
	pat(wbuf, 0, 4, 141);
	st0 = ust(u);
	cr_assert_eq(mmrt_as_stats(as, &as0), 0);
	used1 = mmrt_test_used();

	/* create: see the api test; conf and features */
	cr_assert_null(mmrt_uffd_create(as, MMRT_UFFD_API, &(uint64_t){
		UINT64_C(1) << 40 }, NULL));
	cr_assert_eq(rte_errno, EINVAL);

	/* destroy, features, stats, read on bad handles */
	cr_assert_eq(mmrt_uffd_destroy(NULL), -EINVAL);
	cr_assert_eq(mmrt_uffd_destroy(fake), -EINVAL);
	cr_assert_eq(mmrt_uffd_features(NULL), 0);
	cr_assert_eq(mmrt_uffd_stats(NULL, &st), -EINVAL);
	cr_assert_eq(mmrt_uffd_stats(u, NULL), -EINVAL);
	cr_assert_eq(mmrt_uffd_stats(fake, &st), -EINVAL);
	cr_assert_eq(mmrt_uffd_read(NULL, m, 2), -EINVAL);
	cr_assert_eq(mmrt_uffd_read(u, NULL, 2), -EINVAL);
	cr_assert_eq(mmrt_uffd_read(u, m, 0), -EINVAL);
	cr_assert_eq(mmrt_uffd_read(fake, m, 2), -EINVAL);

	/* register */
	BAD_RANGES(bad_reg, R_MISSING);
	cr_assert_eq(bad_reg(NULL, VA, PG, R_MISSING), -EINVAL);
	cr_assert_eq(bad_reg(fake, VA, PG, R_MISSING), -EINVAL);
	cr_assert_eq(bad_reg(u, VA, PG, 0), -EINVAL);
	cr_assert_eq(bad_reg(u, VA, PG, UINT64_C(1) << 3), -EINVAL);
	cr_assert_eq(bad_reg(u, VA, PG, R_MISSING | (UINT64_C(1) << 7)),
		-EINVAL);
	cr_assert_eq(bad_reg(u, VD, PG, R_MISSING), -EINVAL, "no region");
	cr_assert_eq(bad_reg(u, VB, PG, R_MINOR), -EINVAL, "MINOR on anon");
	cr_assert_eq(bad_reg(u, VC, PG, R_MISSING), -EINVAL,
		"MISSING on an object");
	/* unregister */
	BAD_RANGES(mmrt_uffd_unregister);
	cr_assert_eq(mmrt_uffd_unregister(NULL, VA, PG), -EINVAL);
	cr_assert_eq(mmrt_uffd_unregister(fake, VA, PG), -EINVAL);

	/* copy */
	BAD_RANGES(bcopy_, 0);
	cr_assert_eq(bcopy_(NULL, VA, PG, 0), -EINVAL);
	cr_assert_eq(bcopy_(fake, VA, PG, 0), -EINVAL);
	cr_assert_eq(bcopy_(u, VA, PG, UINT64_C(1) << 2), -EINVAL);
	cr_assert_eq(bcopy_(u, VA, PG, UINT64_C(1) << 40), -EINVAL);
	cr_assert_eq(bcopy_(u, VB, PG, 0), -ENOENT, "not registered");
	cr_assert_eq(bcopy_(u, VD, PG, 0), -ENOENT, "no region");
	memset(&cp, 0, sizeof(cp));
	cp.dst = VA;
	cp.len = PG;
	cp.src = NULL;
	cp.copy = INT64_MIN;
	cr_assert_eq(mmrt_uffd_copy(u, &cp), -EINVAL, "NULL src");
	cr_assert_eq(cp.copy, -EINVAL);
	cr_assert_eq(mmrt_uffd_copy(u, NULL), -EINVAL);
	/* zeropage: DONTWAKE only */
	BAD_RANGES(bzero_, 0);
	cr_assert_eq(bzero_(NULL, VA, PG, 0), -EINVAL);
	cr_assert_eq(bzero_(fake, VA, PG, 0), -EINVAL);
	cr_assert_eq(bzero_(u, VA, PG, MMRT_UFFD_MODE_WP), -EINVAL);
	cr_assert_eq(bzero_(u, VA, PG, UINT64_C(1) << 2), -EINVAL);
	cr_assert_eq(bzero_(u, VB, PG, 0), -ENOENT);
	cr_assert_eq(mmrt_uffd_zeropage(u, NULL), -EINVAL);
	/* continue */
	BAD_RANGES(bcont_, 0);
	cr_assert_eq(bcont_(NULL, VC, PG, 0), -EINVAL);
	cr_assert_eq(bcont_(fake, VC, PG, 0), -EINVAL);
	cr_assert_eq(bcont_(u, VC, PG, UINT64_C(1) << 2), -EINVAL);
	cr_assert_eq(bcont_(u, VC, PG, MMRT_UFFD_MODE_WP), -EINVAL,
		"MODE_WP where WP is not registered");
	cr_assert_eq(bcont_(u, VA, PG, 0), -EINVAL, "outside a MINOR range");
	cr_assert_eq(mmrt_uffd_continue(u, NULL), -EINVAL);
	/* poison: DONTWAKE only */
	BAD_RANGES(bpoison_, 0);
	cr_assert_eq(bpoison_(NULL, VA, PG, 0), -EINVAL);
	cr_assert_eq(bpoison_(fake, VA, PG, 0), -EINVAL);
	cr_assert_eq(bpoison_(u, VA, PG, MMRT_UFFD_MODE_WP), -EINVAL);
	cr_assert_eq(bpoison_(u, VA, PG, UINT64_C(1) << 2), -EINVAL);
	cr_assert_eq(bpoison_(u, VB, PG, 0), -ENOENT);
	cr_assert_eq(mmrt_uffd_poison(u, NULL), -EINVAL);
	/* move */
	BAD_RANGES(bmove_dst, 0);
	BAD_RANGES(bmove_src, 0);
	cr_assert_eq(bmove_dst(NULL, VA, PG, 0), -EINVAL);
	cr_assert_eq(bmove_dst(fake, VA, PG, 0), -EINVAL);
	cr_assert_eq(bmove_dst(u, VA, PG, UINT64_C(1) << 2), -EINVAL);
	cr_assert_eq(bmove_dst(u, VA, PG, UINT64_C(1) << 40), -EINVAL);
	cr_assert_eq(FILL_RC(umove, u, VA, VA, PG, 0), -EINVAL, "src == dst");
	cr_assert_eq(FILL_RC(umove, u, VA + PG, VA, 2 * PG, 0), -EINVAL,
		"overlap");
	cr_assert_eq(FILL_RC(umove, u, VB + PG, VB, PG, 0), -ENOENT,
		"dst not registered");
	cr_assert_eq(mmrt_uffd_move(u, NULL), -EINVAL);
	/* writeprotect */
	BAD_RANGES(uwp, MMRT_UFFD_MODE_WP);
	cr_assert_eq(uwp(NULL, VA, PG, MMRT_UFFD_MODE_WP), -EINVAL);
	cr_assert_eq(uwp(fake, VA, PG, MMRT_UFFD_MODE_WP), -EINVAL);
	cr_assert_eq(uwp(u, VA, PG, MMRT_UFFD_MODE_WP |
		MMRT_UFFD_MODE_DONTWAKE), -EINVAL, "WP|DONTWAKE");
	cr_assert_eq(uwp(u, VA, PG, UINT64_C(1) << 2), -EINVAL);
	cr_assert_eq(uwp(u, VB, PG, MMRT_UFFD_MODE_WP), -ENOENT,
		"not WP-registered");
	cr_assert_eq(mmrt_uffd_writeprotect(u, NULL), -EINVAL);
	/* wake */
	BAD_RANGES(uwake);
	cr_assert_eq(uwake(NULL, VA, PG), -EINVAL);
	cr_assert_eq(uwake(fake, VA, PG), -EINVAL);
	cr_assert_eq(mmrt_uffd_wake(u, NULL), -EINVAL);

	/* lib/mm additions */
	cr_assert_eq(mmrt_read_flags(as, VB, &b, 8, 1u << 6), -EINVAL);
	cr_assert_eq(mmrt_write_flags(as, VB, &b, 8, 1u << 6), -EINVAL);
	cr_assert_eq(mmrt_read_flags(NULL, VB, &b, 8, NOWAIT), -EINVAL);
	cr_assert_eq(mmrt_fault(as, VA, MMRT_ACCESS_READ | (1u << 6)),
		-EINVAL);
	cr_assert_eq(mmrt_fault_request(NULL, VA, MMRT_ACCESS_READ, 1),
		-EINVAL);
	cr_assert_eq(mmrt_fault_request(as, MMRT_VA_LIMIT, MMRT_ACCESS_READ,
		1), -EINVAL);
	cr_assert_eq(mmrt_fault_request(as, VA, 1u << 6, 1), -EINVAL);
	cr_assert_eq(mmrt_fault_request(as, VD, MMRT_ACCESS_READ, 1),
		-EFAULT);
	cr_assert_eq(mmrt_remap(as, VB + 1, PG, VD), -EINVAL);
	cr_assert_eq(mmrt_remap(as, VB, PG + 1, VD), -EINVAL);
	cr_assert_eq(mmrt_remap(as, VB, 0, VD), -EINVAL);
	cr_assert_eq(mmrt_remap(as, VB, PG, VD + 1), -EINVAL);
	cr_assert_eq(mmrt_remap(as, VB, 2 * PG, VB + PG), -EINVAL,
		"overlapping");
	cr_assert_eq(mmrt_remap(as, VB, 2 * PG, MMRT_VA_LIMIT - PG), -EINVAL,
		"past the limit");
	cr_assert_eq(mmrt_remap(as, VD, PG, VE), -EFAULT, "not mapped");
	cr_assert_eq(mmrt_remap(as, VB, PG, VA), -EEXIST, "not free");
	cr_assert_eq(mmrt_remap(NULL, VB, PG, VD), -EINVAL);

	/* nothing changed */
	st = ust(u);
	cr_assert_eq(st.faults, st0.faults);
	cr_assert_eq(st.filled_pages, st0.filled_pages);
	cr_assert_eq(st.wakes, st0.wakes);
	cr_assert_eq(st.events, st0.events);
	cr_assert_eq(mmrt_as_stats(as, &as1), 0);
	cr_assert_eq(as1.regions, as0.regions);
	cr_assert_eq(as1.rss_pages, as0.rss_pages);
	cr_assert_eq(as1.mapped_bytes, as0.mapped_bytes);
	cr_assert_eq(mmrt_test_used(), used1);
	for (i = 0; i < 8; i++)
		cr_assert_eq(xl(as, VA + i * PG, 0, &x), -EFAULT, "page %d", i);
	for (i = 0; i < 4; i++) {
		cr_assert_eq(xl(as, VB + i * PG, MMRT_ACCESS_WRITE, &x), 0);
		cr_assert_eq(xl(as, VC + i * PG, 0, &x), -EFAULT);
	}
	/* still registered as it was */
	cr_assert_eq(mmrt_read_flags(as, VA, &b, 8, NOWAIT), -EAGAIN);
	expect_fault(u, VA, 0);
	cr_assert_eq(mmrt_read_flags(as, VB + 8, &b, 8, NOWAIT), 0);
	ops = reg(u, VA, 8 * PG, R_MISSING | R_WP);
	cr_assert(ops & MMRT_UFFD_OP_WRITEPROTECT);
	expect_none(u);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_object_destroy(obj), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * The header: writeprotect's range "must lie in WP-registered regions of
 * @p u (-ENOENT otherwise)". A range that runs past the region into a hole
 * does not. (The kernel's mwriteprotect_range() skips holes; the header
 * does not allow it.)
 */
Test(uffd, writeprotect_hole)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("wphole");
	struct mmrt_uffd *u;
	uint64_t w = 1;
	int rc;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_map(as, VA + 8 * PG, 4 * PG, RW, MMRT_MAP_POPULATE),
		0);
	u = mkuffd(as, F_WP);
	reg(u, VA, 12 * PG, R_WP);
	/*
	 * Holes between (and past) WP-registered regions are skipped, as in
	 * the kernel's mwriteprotect_range(): the pages in regions change.
	 */
	rc = uwp(u, VA + 2 * PG, 8 * PG, MMRT_UFFD_MODE_WP);
	cr_expect_eq(rc, 0, "writeprotect over a hole: %d", rc);
	cr_expect_eq(mmrt_write_flags(as, VA + 2 * PG, &w, 8, NOWAIT), -EAGAIN,
		"a page before the hole was not protected");
	cr_expect_eq(mmrt_write_flags(as, VA + 9 * PG, &w, 8, NOWAIT), -EAGAIN,
		"a page after the hole was not protected");
	rc = uwp(u, VA + 2 * PG, 8 * PG, 0);
	cr_expect_eq(rc, 0, "unprotect over a hole: %d", rc);
	rc = uwp(u, VA + 10 * PG, 4 * PG, MMRT_UFFD_MODE_WP);
	cr_expect_eq(rc, 0, "writeprotect past the region: %d", rc);
	rc = uwp(u, VA + 10 * PG, 4 * PG, 0);
	cr_expect_eq(rc, 0, "unprotect past the region: %d", rc);
	cr_expect_eq(mmrt_write_flags(as, VA + 10 * PG, &w, 8, NOWAIT), 0,
		"unprotect did not clear the protection");
	/* a range with no region at all */
	rc = uwp(u, VA + 4 * PG, 4 * PG, MMRT_UFFD_MODE_WP);
	cr_expect_eq(rc, -ENOENT, "writeprotect of a hole only: %d", rc);
	/* drain the two WP faults posted above */
	{
		struct mmrt_uffd_msg m[4];
		struct mmrt_uffd_range rg = { VA, 12 * PG };

		cr_expect_eq(mmrt_uffd_read(u, m, 4), 2);
		cr_assert_eq(mmrt_uffd_wake(u, &rg), 0);
	}
	/* entirely in regions: fine */
	cr_assert_eq(uwp(u, VA, 4 * PG, MMRT_UFFD_MODE_WP), 0);
	cr_assert_eq(uwp(u, VA, 4 * PG, 0), 0);
	expect_none(u);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* layout changes: uffd-wp-mremap, ring limits, failures, scope       */
/* ================================================================== */

/*
 * The kernel's uffd-wp-mremap: write-protected pages remapped without
 * EVENT_REMAP lose their protection at the new place (registration and
 * WP dropped); with EVENT_REMAP both move with them.
 */
static void
remap_wp(bool with_event)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create(with_event ? "rwpe" : "rwp");
	struct mmrt_uffd_msg m[4];
	struct mmrt_uffd *u;
	uint64_t w = 7;
	int rc, k;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 2 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VC, HPG, RW, MMRT_MAP_HUGE), 0);
	u = mkuffd(as, F_WP | (with_event ? F_REMAP : 0));
	reg(u, VA, 2 * PG, R_WP);
	reg(u, VC, HPG, R_WP);
	put_pat(as, VA, 0, 2, 24);
	put_pat(as, VC, 0, HPG / PG, 25);
	cr_assert_eq(uwp(u, VA, 2 * PG, MMRT_UFFD_MODE_WP), 0);
	cr_assert_eq(uwp(u, VC, HPG, MMRT_UFFD_MODE_WP), 0);

	cr_assert_eq(mmrt_remap(as, VA, 2 * PG, VB), 0);
	cr_assert_eq(mmrt_remap(as, VC, HPG, VD), 0);
	if (with_event) {
		rc = mmrt_uffd_read(u, m, RTE_DIM(m));
		cr_assert_eq(rc, 2, "%d messages, want 2 REMAP events", rc);
		for (k = 0; k < 2; k++)
			cr_assert_eq(m[k].event, MMRT_UFFD_EVENT_REMAP);
		cr_assert_eq(m[0].arg.remap.from, VA);
		cr_assert_eq(m[0].arg.remap.to, VB);
		cr_assert_eq(m[0].arg.remap.len, 2 * PG);
		cr_assert_eq(m[1].arg.remap.from, VC);
		cr_assert_eq(m[1].arg.remap.to, VD);
		cr_assert_eq(m[1].arg.remap.len, HPG);
	} else {
		expect_none(u);
	}
	check_pat(as, VB, 0, 2, 24);
	check_pat(as, VD, 0, HPG / PG, 25);
	for (k = 0; k < 2; k++) {
		uint64_t va = k == 0 ? VB + PG : VD + 77 * PG;

		rc = mmrt_write_flags(as, va, &w, sizeof(w), NOWAIT);
		if (with_event) {
			cr_assert_eq(rc, -EAGAIN, "%#" PRIx64 ": WP did not "
				"move: %d", va, rc);
			expect_fault(u, va, PF_WP | PF_WRITE);
		} else {
			cr_assert_eq(rc, 0, "%#" PRIx64 ": WP stayed without "
				"EVENT_REMAP: %d", va, rc);
		}
	}
	if (with_event) {
		cr_assert_eq(uwp(u, VB, 2 * PG, 0), 0);
		cr_assert_eq(uwp(u, VD, HPG, 0), 0);
		cr_assert_eq(mmrt_write_flags(as, VB + PG, &w, sizeof(w),
			NOWAIT), 0);
	} else {
		/* not registered any more */
		cr_assert_eq(uwp(u, VB, 2 * PG, MMRT_UFFD_MODE_WP), -ENOENT);
		cr_assert_eq(uwp(u, VD, HPG, MMRT_UFFD_MODE_WP), -ENOENT);
		cr_assert_eq(mmrt_write_flags(as, VB, &w, sizeof(w), NOWAIT),
			0);
		expect_none(u);
	}
	cr_assert_eq(ust(u).faults, with_event ? 2 : 0);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

Test(uffd, remap_wp)
{
	remap_wp(false);
}

Test(uffd, remap_wp_with_event)
{
	remap_wp(true);
}

/* Faults are read before events, whatever order they came in. */
Test(uffd, read_order)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("rdord");
	struct mmrt_uffd_msg m[8];
	struct mmrt_uffd *u;
	uint64_t b;
	int n;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, 0), 0);
	u = mkuffd(as, F_UNMAP);
	reg(u, VA, 4 * PG, R_MISSING);
	cr_assert_eq(mmrt_unmap(as, VA + 3 * PG, PG), 0);
	cr_assert_eq(mmrt_read_flags(as, VA, &b, 8, NOWAIT), -EAGAIN);
	cr_assert_eq(mmrt_read_flags(as, VA + PG, &b, 8, NOWAIT), -EAGAIN);
	/* one at a time */
	n = mmrt_uffd_read(u, m, 1);
	cr_assert_eq(n, 1);
	cr_assert_eq(m[0].event, MMRT_UFFD_EVENT_PAGEFAULT);
	cr_assert_eq(m[0].arg.pagefault.address, VA);
	n = mmrt_uffd_read(u, m, RTE_DIM(m));
	cr_assert_eq(n, 2);
	cr_assert_eq(m[0].event, MMRT_UFFD_EVENT_PAGEFAULT);
	cr_assert_eq(m[0].arg.pagefault.address, VA + PG);
	cr_assert_eq(m[1].event, MMRT_UFFD_EVENT_UNMAP);
	cr_assert_eq(m[1].arg.remove.start, VA + 3 * PG);
	cr_assert_eq(m[1].arg.remove.end, VA + 4 * PG);
	expect_none(u);
	copy_ok(u, VA, zbuf, 2 * PG, 0);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * The event ring of 64 fills up: the next layout changes wait for the
 * (short) timeout, then their events are lost; the operations succeed and
 * fills work again once the queued events are read (a lost event must not
 * leave the layout change pending for ever).
 */
#define NEVFULL 72

Test(uffd, event_ring_full)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("evfull");
	struct mmrt_uffd_msg m[16];
	struct mmrt_uffd_stats st;
	struct mmrt_uffd *u;
	uint64_t d, got = 0;
	unsigned long it = 0;
	int i, n, rc;
	int64_t res;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, (NEVFULL + 2) * PG, RW, 0), 0);
	u = mkuffd_conf(as, F_UNMAP, 64, 20000);
	reg(u, VA, (NEVFULL + 2) * PG, R_MISSING);
	for (i = 0; i < NEVFULL; i++)
		cr_assert_eq(mmrt_unmap(as, VA + i * PG, PG), 0, "unmap %d",
			i);
	st = ust(u);
	cr_assert_eq(st.events + st.events_lost, NEVFULL,
		"events %" PRIu64 " lost %" PRIu64, st.events, st.events_lost);
	cr_assert_leq(st.events, 64);
	cr_assert_geq(st.events_lost, NEVFULL - 64);
	rc = ucopy(u, VA + NEVFULL * PG, zbuf, PG, 0, &res);
	cr_assert_eq(rc, -EAGAIN, "copy with events queued: %d", rc);
	d = deadline(WAIT_S);
	while (!expired(d)) {
		n = mmrt_uffd_read(u, m, RTE_DIM(m));
		cr_assert_geq(n, 0);
		if (n == 0)
			break;
		for (i = 0; i < n; i++)
			cr_assert_eq(m[i].event, MMRT_UFFD_EVENT_UNMAP);
		got += n;
		relax(it++);
	}
	cr_assert_eq(got, st.events);
	rc = ucopy(u, VA + NEVFULL * PG, zbuf, PG, 0, &res);
	cr_assert_eq(rc, 0, "copy after every queued event was read: %d (%"
		PRIu64 " events lost)", rc, st.events_lost);
	cr_assert_eq(res, (int64_t)PG);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* Layout operations that fail queue no event and leave fills working. */
Test(uffd, layout_failures)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("lfail");
	struct mmrt_as *other = mmrt_as_create("lfail-taken");
	struct mmrt_uffd_msg m[4];
	struct mmrt_uffd *u;
	int64_t res;
	int rc, n;

	cr_assert_not_null(as);
	cr_assert_not_null(other);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VB, 4 * PG, RW, 0), 0);
	u = mkuffd(as, F_EVENTS);
	reg(u, VA, 4 * PG, R_MISSING);

	/* fork to a taken name */
	cr_assert_null(mmrt_as_fork(as, "lfail-taken"));
	cr_assert_eq(rte_errno, EEXIST);
	expect_none(u);
	rc = ucopy(u, VA, zbuf, PG, 0, &res);
	cr_assert_eq(rc, 0, "copy after a failed fork: %d", rc);
	/* remap onto a mapped range, and from a range with a hole */
	cr_assert_eq(mmrt_remap(as, VA + PG, PG, VB), -EEXIST);
	cr_assert_eq(mmrt_remap(as, VA + 3 * PG, 2 * PG, VC), -EFAULT);
	expect_none(u);
	rc = ucopy(u, VA + PG, zbuf, PG, 0, &res);
	cr_assert_eq(rc, 0, "copy after a failed remap: %d", rc);
	/* advise over a hole */
	cr_assert_eq(mmrt_advise(as, VA, 8 * PG, MMRT_ADV_DONTNEED), -ENOMEM);
	n = mmrt_uffd_read(u, m, RTE_DIM(m));
	cr_assert_eq(n, 0, "a failed advise queued %d events", n);
	rc = ucopy(u, VA + 2 * PG, zbuf, PG, 0, &res);
	cr_assert_eq(rc, 0, "copy after a failed advise: %d", rc);
	check_zero(as, VA, 3 * PG);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(other), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* A pending layout change refuses the fills of its uffd only. */
Test(uffd, changing_scoped)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("cscope");
	struct mmrt_uffd *u1, *u2;
	int64_t res;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VB, 4 * PG, RW, 0), 0);
	u1 = mkuffd(as, F_UNMAP);
	u2 = mkuffd(as, F_UNMAP);
	reg(u1, VA, 4 * PG, R_MISSING);
	reg(u2, VB, 4 * PG, R_MISSING);
	cr_assert_eq(mmrt_unmap(as, VA + 3 * PG, PG), 0);
	cr_assert_eq(ucopy(u1, VA, zbuf, PG, 0, &res), -EAGAIN);
	cr_assert_eq(res, -EAGAIN);
	copy_ok(u2, VB, zbuf, PG, 0);
	expect_none(u2);
	expect_event(u1, MMRT_UFFD_EVENT_UNMAP);
	copy_ok(u1, VA, zbuf, PG, 0);

	cr_assert_eq(mmrt_uffd_destroy(u1), 0);
	cr_assert_eq(mmrt_uffd_destroy(u2), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* Many readers: every message is read exactly once. */
#define NREAD 256

static struct {
	struct mmrt_uffd *u;
	int stop;
	uint64_t seen[2][NREAD];
	unsigned int nseen[2];
	int err;
} mr;

static void *
mr_main(void *arg)
{
	int me = (int)(uintptr_t)arg;
	struct mmrt_uffd_msg m[8];
	uint64_t d = deadline(WAIT_S);
	unsigned long it = 0;
	int i, n;

	while (!__atomic_load_n(&mr.stop, __ATOMIC_ACQUIRE) && !expired(d)) {
		n = mmrt_uffd_read(mr.u, m, 1 + (me * 7 + it) % 8);
		if (n < 0) {
			mr.err = n;
			break;
		}
		for (i = 0; i < n; i++) {
			if (m[i].event != MMRT_UFFD_EVENT_PAGEFAULT ||
					mr.nseen[me] == NREAD) {
				mr.err = -EPROTO;
				break;
			}
			mr.seen[me][mr.nseen[me]] =
				m[i].arg.pagefault.address;
			__atomic_store_n(&mr.nseen[me], mr.nseen[me] + 1,
				__ATOMIC_RELEASE);
		}
		relax(it++);
	}
	return NULL;
}

Test(uffd, many_readers)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("mread");
	static uint8_t hit[NREAD];
	pthread_t th[2];
	uint64_t b, d, pg;
	unsigned long it = 0;
	int i, k;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, NREAD * PG, RW, 0), 0);
	memset(&mr, 0, sizeof(mr));
	mr.u = mkuffd(as, 0);
	reg(mr.u, VA, NREAD * PG, R_MISSING);
	for (k = 0; k < 2; k++)
		cr_assert_eq(pthread_create(&th[k], NULL, mr_main,
			(void *)(uintptr_t)k), 0);
	for (i = 0; i < NREAD; i++)
		cr_assert_eq(mmrt_read_flags(as, VA + i * PG, &b, 8, NOWAIT),
			-EAGAIN);
	d = deadline(WAIT_S);
	while (__atomic_load_n(&mr.nseen[0], __ATOMIC_RELAXED) +
			__atomic_load_n(&mr.nseen[1], __ATOMIC_RELAXED) <
			NREAD && !expired(d))
		relax(it++);
	__atomic_store_n(&mr.stop, 1, __ATOMIC_RELEASE);
	for (k = 0; k < 2; k++)
		cr_assert_eq(pthread_join(th[k], NULL), 0);
	cr_assert_eq(mr.err, 0);
	cr_assert_eq(mr.nseen[0] + mr.nseen[1], NREAD, "%u + %u messages",
		mr.nseen[0], mr.nseen[1]);
	memset(hit, 0, sizeof(hit));
	for (k = 0; k < 2; k++)
		for (i = 0; i < (int)mr.nseen[k]; i++) {
			pg = (mr.seen[k][i] - VA) / PG;
			cr_assert_lt(pg, NREAD);
			cr_assert_eq(hit[pg], 0, "page %" PRIu64 " read twice",
				pg);
			hit[pg] = 1;
		}
	expect_none(mr.u);
	pat(wbuf, 0, 8, 151);
	for (i = 0; i < NREAD; i += 8)
		copy_ok(mr.u, VA + i * PG, wbuf, 8 * PG, 0);
	cr_assert_eq(ust(mr.u).pending, 0);

	cr_assert_eq(mmrt_uffd_destroy(mr.u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * A consumer holding translations of a move's source and of a remap's old
 * range: both are gone once the call returns (the move clears and flushes
 * the source before publishing the destination).
 */
Test(uffd, consumer_inval)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("cinv");
	struct mmrt_consumer_conf cf = { .name = "uffd-ci" };
	struct mmrt_consumer *c;
	struct mmrt_xlate x, y;
	struct mmrt_uffd *u;
	int64_t res;

	cr_assert_not_null(as);
	cr_assert_geq(mmrt_thread_register(), 0);
	cr_assert_eq(mmrt_map(as, VA, 2 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VB, 2 * PG, RW, 0), 0);
	put_pat(as, VA, 0, 2, 161);
	u = mkuffd(as, F_MOVE | F_REMAP);
	reg(u, VB, 2 * PG, R_MISSING);
	c = mmrt_consumer_create(&cf);
	cr_assert_not_null(c);
	cr_assert_gt(mmrt_consumer_bind(c, as), 0);

	cr_assert_eq(mmrt_consumer_translate(c, VA, MMRT_ACCESS_WRITE, &x), 0);
	cr_assert_eq(umove(u, VB, VA, PG, 0, &res), 0);
	/* the source: no stale hit on the moved frame */
	cr_assert_eq(mmrt_consumer_translate(c, VA, 0, &y), 0);
	cr_assert_neq(y.pfn, x.pfn, "stale translation of a moved frame");
	cmp_buf(y.addr, zbuf, PG, VA, "moved-from page");
	cr_assert_eq(mmrt_consumer_translate(c, VB, 0, &y), 0);
	cr_assert_eq(y.pfn, x.pfn);
	pat(ebuf, 0, 1, 161);
	cmp_buf(y.addr, ebuf, PG, VB, "moved page");

	/* remap: the old range has no translation left */
	cr_assert_eq(mmrt_consumer_translate(c, VB, 0, &x), 0);
	cr_assert_eq(mmrt_remap(as, VB, 2 * PG, VC), 0);
	cr_assert_eq(mmrt_consumer_translate(c, VB, 0, &y), -EFAULT);
	expect_event(u, MMRT_UFFD_EVENT_REMAP);
	cr_assert_eq(mmrt_consumer_translate(c, VC, 0, &y), 0);
	cr_assert_eq(y.pfn, x.pfn);

	cr_assert_eq(mmrt_consumer_destroy(c), 0);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_thread_unregister(), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/* ================================================================== */
/* mmrt_fault_request(): the consumers' probe                         */
/* ================================================================== */

/* The probe never waits: each risky call runs on a thread, bounded. */
struct fr_call {
	pthread_t th;
	struct mmrt_as *as;
	uint64_t va;
	uint32_t access;
	uint32_t req;
	int ret;
	int done;
};

static void *
fr_main(void *arg)
{
	struct fr_call *f = arg;

	f->ret = mmrt_fault_request(f->as, f->va, f->access, f->req);
	__atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int
fault_request_bounded(struct mmrt_as *as, uint64_t va, uint32_t access,
	uint32_t req, const char *what)
{
	static struct fr_call f;
	uint64_t d = deadline(10);
	unsigned long i = 0;

	memset(&f, 0, sizeof(f));
	f.as = as;
	f.va = va;
	f.access = access;
	f.req = req;
	cr_assert_eq(pthread_create(&f.th, NULL, fr_main, &f), 0);
	while (!__atomic_load_n(&f.done, __ATOMIC_ACQUIRE) && !expired(d))
		relax(i++);
	/* a hung probe: fail (the process ends with the thread in it) */
	cr_assert(__atomic_load_n(&f.done, __ATOMIC_ACQUIRE),
		"mmrt_fault_request(%s) did not return", what);
	cr_assert_eq(pthread_join(f.th, NULL), 0);
	return f.ret;
}

Test(uffd, fault_request)
{
	uint64_t used0 = mmrt_test_used();
	struct mmrt_as *as = mmrt_as_create("freq");
	struct mmrt_uffd *u, *us, *up;
	struct mmrt_uffd_msg msg;
	struct mmrt_as *child;
	const uint32_t req = MMRT_UFFD_REQUESTER_CONSUMER | 5;
	uint64_t b;
	int64_t res;
	int rc;

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, RW, 0), 0);   /* MISSING|WP */
	cr_assert_eq(mmrt_map(as, VB, 4 * PG, RW, 0), 0);   /* plain */
	cr_assert_eq(mmrt_map(as, VC, PG, RW, 0), 0);       /* SIGBUS */
	cr_assert_eq(mmrt_map(as, VD, PG, RW, 0), 0);       /* poison */
	u = mkuffd(as, F_WP | F_TID);
	reg(u, VA, 4 * PG, R_MISSING | R_WP);
	us = mkuffd(as, F_SIGBUS);
	reg(us, VC, PG, R_MISSING);
	up = mkuffd(as, F_POISON);
	reg(up, VD, PG, R_MISSING);

	/* a userfault: posted with the requester id, deduplicated */
	rc = fault_request_bounded(as, VA + 8, MMRT_ACCESS_READ, req,
		"missing");
	cr_assert_eq(rc, -EAGAIN, "missing: %d", rc);
	rc = fault_request_bounded(as, VA + 16, MMRT_ACCESS_WRITE, req,
		"missing again");
	cr_assert_eq(rc, -EAGAIN, "missing again: %d", rc);
	msg = expect_fault(u, VA, 0);
	cr_assert_eq(msg.arg.pagefault.ptid, req);
	cr_assert_eq(ust(u).faults_dedup, 1);
	pat(wbuf, 0, 1, 171);
	copy_ok(u, VA, wbuf, PG, 0);
	/* no fault */
	rc = fault_request_bounded(as, VA, MMRT_ACCESS_WRITE, req, "present");
	cr_assert_eq(rc, 0, "present: %d", rc);
	/* WP */
	cr_assert_eq(uwp(u, VA, PG, MMRT_UFFD_MODE_WP), 0);
	rc = fault_request_bounded(as, VA, MMRT_ACCESS_READ, req, "wp read");
	cr_assert_eq(rc, 0, "read of a WP page: %d", rc);
	rc = fault_request_bounded(as, VA, MMRT_ACCESS_WRITE, req, "wp");
	cr_assert_eq(rc, -EAGAIN, "write to a WP page: %d", rc);
	msg = expect_fault(u, VA, PF_WP | PF_WRITE);
	cr_assert_eq(msg.arg.pagefault.ptid, req);
	cr_assert_eq(uwp(u, VA, PG, 0), 0);
	/* demand-zero: resolved in place */
	rc = fault_request_bounded(as, VB, MMRT_ACCESS_WRITE, req,
		"demand-zero write");
	cr_assert_eq(rc, 0, "demand-zero write: %d", rc);
	rc = fault_request_bounded(as, VB + PG, MMRT_ACCESS_READ, req,
		"demand-zero read");
	cr_assert_eq(rc, 0, "demand-zero read: %d", rc);
	/* final errors */
	rc = fault_request_bounded(as, VE, MMRT_ACCESS_READ, req, "no region");
	cr_assert_eq(rc, -EFAULT, "no region: %d", rc);
	rc = fault_request_bounded(as, VC, MMRT_ACCESS_READ, req, "sigbus");
	cr_assert_eq(rc, -EFAULT, "SIGBUS mode: %d", rc);
	expect_none(us);
	cr_assert_eq(upoison(up, VD, PG, 0, &res), 0);
	rc = fault_request_bounded(as, VD, MMRT_ACCESS_READ, req, "poison");
	cr_assert_eq(rc, -EHWPOISON, "poison: %d", rc);
	expect_none(u);

	/*
	 * Copy-on-write waits for acks: -ENOENT (use mmrt_fault()). A write
	 * to the zero page (read fault first), then to a frame shared with a
	 * fork child.
	 */
	rc = fault_request_bounded(as, VB + PG, MMRT_ACCESS_WRITE, req,
		"write to the zero page");
	cr_assert_eq(rc, -ENOENT, "write to the zero page: %d", rc);
	cr_assert_eq(mmrt_fault(as, VB + PG, MMRT_ACCESS_WRITE), 0);
	child = mmrt_as_fork(as, "freq-child");
	cr_assert_not_null(child);
	rc = fault_request_bounded(as, VB, MMRT_ACCESS_WRITE, req,
		"copy-on-write after fork");
	cr_assert_eq(rc, -ENOENT, "copy-on-write after fork: %d", rc);
	cr_assert_eq(mmrt_as_destroy(child), 0);
	cr_assert_eq(mmrt_read(as, VB, &b, 8), 0);

	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_uffd_destroy(us), 0);
	cr_assert_eq(mmrt_uffd_destroy(up), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_test_used(), used0);
}

/*
 * Names (issue 14 item 1: uffds found by name, here in one process;
 * check-secondary.sh looks one up from a secondary): default names, a
 * given name, duplicates refused without a change, bad input, the child
 * of a fork event named as its parent, a destroyed uffd not found.
 */
Test(uffd, names)
{
	char longname[MMRT_UFFD_NAME_SIZE + 1];
	struct mmrt_uffd_conf cf = { .name = "nm.handler" };
	struct mmrt_as *as = mmrt_as_create("nm");
	struct mmrt_as *other = mmrt_as_create("nm.other");
	struct mmrt_as *child;
	struct mmrt_uffd *u0, *u1, *h, *h2, *o, *cu;
	struct mmrt_uffd_msg m;
	uint64_t f;

	cr_assert_not_null(as);
	cr_assert_not_null(other);
	u0 = mkuffd(as, 0);
	u1 = mkuffd(as, 0);
	cr_assert_str_eq(mmrt_uffd_name(u0), "uffd0");
	cr_assert_str_eq(mmrt_uffd_name(u1), "uffd1");
	f = F_FORK;
	h = mmrt_uffd_create(as, MMRT_UFFD_API, &f, &cf);
	cr_assert_not_null(h, "named create: %d", rte_errno);
	cr_assert_str_eq(mmrt_uffd_name(h), "nm.handler");
	cr_assert_eq(mmrt_uffd_lookup(as, "nm.handler"), h);
	cr_assert_eq(mmrt_uffd_lookup(as, "uffd1"), u1);
	/* the same name on another space is another uffd */
	f = 0;
	o = mmrt_uffd_create(other, MMRT_UFFD_API, &f, &cf);
	cr_assert_not_null(o, "same name, other space: %d", rte_errno);
	cr_assert_eq(mmrt_uffd_lookup(other, "nm.handler"), o);
	cr_assert_eq(mmrt_uffd_lookup(as, "nm.handler"), h);

	/* a duplicate is refused and changes nothing */
	f = 0;
	rte_errno = 0;
	h2 = mmrt_uffd_create(as, MMRT_UFFD_API, &f, &cf);
	cr_assert_null(h2);
	cr_assert_eq(rte_errno, EEXIST);
	cr_assert_eq(f, 0);
	cr_assert_eq(mmrt_uffd_lookup(as, "nm.handler"), h);
	cf.name = "uffd0";
	rte_errno = 0;
	cr_assert_null(mmrt_uffd_create(as, MMRT_UFFD_API, &f, &cf));
	cr_assert_eq(rte_errno, EEXIST);

	/* bad input */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cf.name = longname;
	rte_errno = 0;
	cr_assert_null(mmrt_uffd_create(as, MMRT_UFFD_API, &f, &cf));
	cr_assert_eq(rte_errno, EINVAL);
	cf.name = "";
	rte_errno = 0;
	cr_assert_null(mmrt_uffd_create(as, MMRT_UFFD_API, &f, &cf));
	cr_assert_eq(rte_errno, EINVAL);
	rte_errno = 0;
	cr_assert_null(mmrt_uffd_lookup(as, NULL));
	cr_assert_eq(rte_errno, EINVAL);
	rte_errno = 0;
	cr_assert_null(mmrt_uffd_lookup(as, ""));
	cr_assert_eq(rte_errno, EINVAL);
	rte_errno = 0;
	cr_assert_null(mmrt_uffd_lookup(as, longname));
	cr_assert_eq(rte_errno, EINVAL);
	rte_errno = 0;
	cr_assert_null(mmrt_uffd_lookup(NULL, "uffd0"));
	cr_assert_eq(rte_errno, EINVAL);
	rte_errno = 0;
	cr_assert_null(mmrt_uffd_lookup(as, "nm.none"));
	cr_assert_eq(rte_errno, ENOENT);
	cr_assert_null(mmrt_uffd_name(NULL));

	/* the child of a fork event takes its parent's name */
	cr_assert_eq(mmrt_map(as, VA, 2 * PG, RW, 0), 0);
	reg(h, VA, 2 * PG, R_MISSING);
	child = mmrt_as_fork(as, "nm-child");
	cr_assert_not_null(child);
	m = expect_event(h, MMRT_UFFD_EVENT_FORK);
	cu = m.arg.fork.ufd;
	cr_assert_not_null(cu);
	cr_assert_str_eq(mmrt_uffd_name(cu), "nm.handler");
	cr_assert_eq(mmrt_uffd_lookup(child, "nm.handler"), cu);

	/* destroyed: not found, and its default name is free again */
	cr_assert_eq(mmrt_uffd_destroy(u0), 0);
	rte_errno = 0;
	cr_assert_null(mmrt_uffd_lookup(as, "uffd0"));
	cr_assert_eq(rte_errno, ENOENT);
	u0 = mkuffd(as, 0);
	cr_assert_str_eq(mmrt_uffd_name(u0), "uffd0");

	cr_assert_eq(mmrt_uffd_destroy(cu), 0);
	cr_assert_eq(mmrt_as_destroy(child), 0);
	cr_assert_eq(mmrt_uffd_destroy(u0), 0);
	cr_assert_eq(mmrt_uffd_destroy(u1), 0);
	cr_assert_eq(mmrt_uffd_destroy(h), 0);
	cr_assert_eq(mmrt_uffd_destroy(o), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_as_destroy(other), 0);
}
