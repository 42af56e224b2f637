/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_TESTS_ENGINE_COMMON_H
#define MMRT_TESTS_ENGINE_COMMON_H

/*
 * What the suites of the copy engines (test_swdma.c, test_dmadev.c) share:
 * random numbers, source patterns and the checks of what a region
 * contains, the submitter's queue of operations (ring indexes, statuses,
 * reaping and bounded waits), mirrors of regions, the userfault
 * helpers and the fixtures both suites run (boundaries, copy-on-write,
 * park-then-protect).
 *
 * The suite defines before including this header:
 *  - WAIT_S: how long any wait may take, in seconds;
 *  - ENG_T: the engine's handle type;
 *  - ENG_COMPLETED, ENG_COMPLETED_STATUS, ENG_SERVE_FAULTS: the engine's
 *    rte_dma-like completed(), completed_status() and serve_faults();
 * and defines after it the hooks declared below (q_poll(), q_log(),
 * q_completed()).
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dmadev.h>
#include <rte_errno.h>

#include "common.h"
#include <mmrt_uffd.h>

/* More bases after common.h's VA, VB, VC, each in its own level-3 entry. */
#define VD (UINT64_C(4) << 30)
#define VE (UINT64_C(5) << 30)
#define VF (UINT64_C(6) << 30)
#define VG (UINT64_C(7) << 30)
#define VH (UINT64_C(8) << 30)  /* never mapped */

/* Generous: two test processes may share the two cpus. */
#define ACK_DEADLINE_US UINT64_C(2000000)

/* Bytes of untouched memory; source patterns are odd, never this. */
#define GUARD 0xa4
/* Written into frames freed by an unmap. */
#define CANARY 0xee

/* Statuses are kept for the last MAXOPS operations. */
#define MAXOPS 4096

#define S_OK RTE_DMA_STATUS_SUCCESSFUL
#define S_PF RTE_DMA_STATUS_PAGE_FAULT
#define S_SRC RTE_DMA_STATUS_INVALID_SRC_ADDR
#define S_DST RTE_DMA_STATUS_INVALID_DST_ADDR
#define S_POISON RTE_DMA_STATUS_DATA_POISION
#define S_BUS RTE_DMA_STATUS_BUS_ERROR

/* Spin step: yield every 256 steps. */
#define relax(i) mmrt_test_relax((i), 255)

/* ---- time bounds, random numbers ---- */

#define deadline(s) mmrt_test_deadline(s)
#define expired(d) mmrt_test_expired(d)

static uint64_t rng;

static inline void
rng_seed(const char *what)
{
	rng = rte_rdtsc() * UINT64_C(0x9e3779b97f4a7c15) | 1;
	cr_log_info("%s: seed %#" PRIx64, what, rng);
}

static inline uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * UINT64_C(0x2545f4914f6cdd1d);
}

/* ---- contents ---- */

#define cmp_buf mmrt_test_cmp_buf

/* Byte @off of source pattern @tag: always odd (never 0, GUARD, CANARY
 * or a byte of an even fill pattern). */
static inline uint8_t
pbyte(uint32_t tag, uint64_t off)
{
	uint64_t x = (off + ((uint64_t)tag << 36)) *
		UINT64_C(0x9e3779b97f4a7c15);

	return (uint8_t)(x >> 56) | 1;
}

static inline void
pat(uint8_t *b, uint32_t tag, uint64_t off, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = pbyte(tag, off + i);
}

static inline void *
xmalloc(size_t len)
{
	void *p = malloc(len);

	cr_assert_not_null(p);
	return p;
}

static inline void
xwrite(struct mmrt_as *as, uint64_t va, const void *buf, size_t len)
{
	int rc = mmrt_write(as, va, buf, len);

	cr_assert_eq(rc, 0, "mmrt_write(%#" PRIx64 ", %zu) = %d", va, len, rc);
}

static inline void
xread(struct mmrt_as *as, uint64_t va, void *buf, size_t len)
{
	int rc = mmrt_read(as, va, buf, len);

	cr_assert_eq(rc, 0, "mmrt_read(%#" PRIx64 ", %zu) = %d", va, len, rc);
}

/* Write @len bytes of @byte at @va. */
static inline void
xset(struct mmrt_as *as, uint64_t va, int byte, size_t len)
{
	uint8_t *b = xmalloc(len);

	memset(b, byte, len);
	xwrite(as, va, b, len);
	free(b);
}

/* Map [va, va + len) and fill it with source pattern @tag. */
static inline void
map_pat(struct mmrt_as *as, uint64_t va, uint64_t len, uint32_t flags,
	uint32_t tag)
{
	uint8_t *b = xmalloc(len);

	cr_assert_eq(mmrt_map(as, va, len, RW, flags), 0);
	pat(b, tag, 0, len);
	xwrite(as, va, b, len);
	free(b);
}

static inline void
map_guard(struct mmrt_as *as, uint64_t va, uint64_t len, uint32_t flags)
{
	cr_assert_eq(mmrt_map(as, va, len, RW, flags), 0);
	xset(as, va, GUARD, len);
}

/* The whole of [va, va + len) must be @want. */
static inline void
check(struct mmrt_as *as, uint64_t va, const uint8_t *want, size_t len,
	const char *what)
{
	uint8_t *b = xmalloc(len);

	xread(as, va, b, len);
	cmp_buf(b, want, len, va, what);
	free(b);
}

static inline void
check_byte(struct mmrt_as *as, uint64_t va, int byte, size_t len,
	const char *what)
{
	uint8_t *w = xmalloc(len);

	memset(w, byte, len);
	check(as, va, w, len, what);
	free(w);
}

static inline bool
is_huge(struct mmrt_as *as, uint64_t va)
{
	struct mmrt_xlate x;

	return mmrt_translate(as, va, 0, &x) == 0 && x.huge;
}

/* ---- the submitter's queue of operations ---- */

/*
 * The submitter's view: operations enqueued (q.n) and reported (q.done),
 * in order, with the ring index each got and the status each completed
 * with (kept for the last MAXOPS); q.ran sums what the engine's run step
 * said completed, where the suite has one.
 */
static struct submitter {
	ENG_T *eng;
	uint64_t n;
	uint64_t done;
	uint64_t nerr;
	uint64_t ran;
	uint16_t next;
	bool have_next;
	bool bulk;      /* reap with completed_status() only */
	uint16_t idx[MAXOPS];
	enum rte_dma_status_code st[MAXOPS];
} q;

/* Hooks the suite defines. */
/* One step of the submitter while it waits; @return operations reaped. */
static unsigned int q_poll(void);
/* Log the engine's stats, tagged @what. */
static void q_log(const char *what);
/* Operations the engine's stats say completed. */
static uint64_t q_completed(void);

/* A new queue of operations on @eng. */
static inline void
q_init(ENG_T *eng)
{
	memset(&q, 0, sizeof(q));
	q.eng = eng;
}

/* Account an enqueue that returned @rc (the ring index it got). */
static inline void
q_enqueued(int rc, const char *what)
{
	cr_assert_geq(rc, 0, "%s #%" PRIu64 ": %d", what, q.n, rc);
	cr_assert_leq(rc, UINT16_MAX);
	if (q.have_next)
		cr_assert_eq((uint16_t)rc, q.next, "%s #%" PRIu64
			": ring index %d, want %u", what, q.n, rc, q.next);
	q.have_next = true;
	q.next = (uint16_t)(rc + 1);
	q.idx[q.n % MAXOPS] = (uint16_t)rc;
	q.n++;
}

static inline enum rte_dma_status_code
q_status(uint64_t op)
{
	cr_assert_lt(op, q.done);
	cr_assert_lt(q.done - op, MAXOPS);
	return q.st[op % MAXOPS];
}

/*
 * One pass of reaping, without waiting. By default completed() first (its
 * report must stop before the first failed op: has_error, and that op
 * must then come out of completed_status() with an error status), or
 * completed_status() only when q.bulk is set.
 * @return operations reaped.
 */
static inline unsigned int
q_reap(void)
{
	enum rte_dma_status_code sts[64];
	uint16_t last = 0, n, i;
	bool err = false;

	if (q.bulk) {
		n = ENG_COMPLETED_STATUS(q.eng, RTE_DIM(sts), &last, sts);
		cr_assert_leq(q.done + n, q.n, "completed_status reported %u"
			" with %" PRIu64 " outstanding", n, q.n - q.done);
		if (n == 0)
			return 0;
		cr_assert_eq(last, q.idx[(q.done + n - 1) % MAXOPS],
			"last_idx %u, want %u", last,
			q.idx[(q.done + n - 1) % MAXOPS]);
		for (i = 0; i < n; i++) {
			q.st[(q.done + i) % MAXOPS] = sts[i];
			q.nerr += sts[i] != S_OK;
		}
		q.done += n;
		return n;
	}
	n = ENG_COMPLETED(q.eng, 64, &last, &err);
	cr_assert_leq(q.done + n, q.n, "completed reported %u with %" PRIu64
		" outstanding", n, q.n - q.done);
	if (n > 0) {
		cr_assert_eq(last, q.idx[(q.done + n - 1) % MAXOPS],
			"last_idx %u, want %u", last,
			q.idx[(q.done + n - 1) % MAXOPS]);
		for (i = 0; i < n; i++)
			q.st[(q.done + i) % MAXOPS] = S_OK;
		q.done += n;
	}
	if (!err)
		return n;
	cr_assert_lt(q.done, q.n, "has_error with nothing outstanding");
	i = ENG_COMPLETED_STATUS(q.eng, 1, &last, sts);
	cr_assert_eq(i, 1, "has_error, but completed_status reported %u", i);
	cr_assert_neq(sts[0], S_OK, "has_error, but op #%" PRIu64
		" succeeded", q.done);
	cr_assert_eq(last, q.idx[q.done % MAXOPS]);
	q.st[q.done % MAXOPS] = sts[0];
	q.nerr++;
	q.done++;
	return n + 1;
}

/* Poll (q_poll()) until @upto operations are reported; @serve: serve the
 * engine's page requests (copy-on-write) meanwhile. */
static inline void
q_wait(uint64_t upto, bool serve)
{
	uint64_t d = deadline(WAIT_S);
	unsigned long i = 0;
	int rc;

	cr_assert_leq(upto, q.n);
	while (q.done < upto) {
		if (q_poll() > 0)
			continue;
		if (serve) {
			rc = ENG_SERVE_FAULTS(q.eng, 64);
			cr_assert_geq(rc, 0, "serve_faults: %d", rc);
		}
		if (expired(d)) {
			q_log("timeout");
			cr_assert_fail("%" PRIu64 " of %" PRIu64 " ops reported"
				" after %d s", q.done, upto, WAIT_S);
		}
		relax(i++);
	}
}

static inline void
q_wait_all(bool serve)
{
	q_wait(q.n, serve);
}

/* Poll a while (bounded by a count, not a clock) and check that nothing
 * more completes than @done. */
static inline void
q_none_more(uint64_t done, unsigned long spins)
{
	unsigned long i;

	for (i = 0; i < spins; i++) {
		q_poll();
		cr_assert_eq(q.done, done, "op #%" PRIu64 " completed while "
			"an earlier one was parked", done);
		relax(i);
	}
	cr_assert_eq(q_completed(), done);
}

/*
 * The @n operations numbered from @base on, all completed (and the last
 * ones enqueued), must be reported with statuses @exp: by completed(),
 * which stops before each failed one (then reported by
 * completed_status()), or with @bulk by one completed_status(). Nothing
 * more is reported after them.
 */
static inline void
q_reap_expect(uint64_t base, uint64_t n, const enum rte_dma_status_code *exp,
	bool bulk)
{
	enum rte_dma_status_code sts[64];
	uint16_t got, last;
	unsigned int i;
	uint64_t k;
	bool herr;

	if (!bulk) {
		k = 0;
		while (k < n) {
			for (i = 0; k + i < n && exp[k + i] == S_OK; i++)
				;
			herr = false;
			got = ENG_COMPLETED(q.eng, 64, &last, &herr);
			cr_assert_eq(got, i, "op %" PRIu64 ": completed"
				" reported %u, want %u", k, got, i);
			if (got > 0)
				cr_assert_eq(last,
					q.idx[(base + k + got - 1) % MAXOPS]);
			k += got;
			if (k == n) {
				cr_assert_not(herr);
				break;
			}
			cr_assert(herr, "op %" PRIu64 ": no has_error", k);
			herr = false;
			cr_assert_eq(ENG_COMPLETED(q.eng, 64, &last, &herr), 0);
			cr_assert(herr);
			got = ENG_COMPLETED_STATUS(q.eng, 1, &last, sts);
			cr_assert_eq(got, 1);
			cr_assert_eq(last, q.idx[(base + k) % MAXOPS]);
			cr_assert_eq(sts[0], exp[k], "op %" PRIu64
				": status %d, want %d", k, sts[0], exp[k]);
			k++;
		}
	} else {
		got = ENG_COMPLETED_STATUS(q.eng, 64, &last, sts);
		cr_assert_eq(got, n);
		cr_assert_eq(last, q.idx[(q.n - 1) % MAXOPS]);
		for (k = 0; k < n; k++)
			cr_assert_eq(sts[k], exp[k], "op %" PRIu64
				": status %d, want %d", k, sts[k], exp[k]);
	}
	q.done = q.n;
	herr = true;
	cr_assert_eq(ENG_COMPLETED(q.eng, 64, &last, &herr), 0);
	cr_assert_not(herr);
	cr_assert_eq(ENG_COMPLETED_STATUS(q.eng, 64, &last, sts), 0);
}

/* ---- mirrors: what a region must contain ---- */

struct rgn {
	uint64_t va;
	uint64_t len;
	uint8_t *m;
	const char *name;
};

static inline struct rgn *
rgn_of(struct rgn *r, unsigned int nr, uint64_t va, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (va >= r[i].va && va + len <= r[i].va + r[i].len)
			return &r[i];
	cr_assert_fail("no mirror for [%#" PRIx64 ", +%#" PRIx64 ")", va, len);
	return NULL;
}

/* Apply a copy to the mirrors. */
static inline void
mirror_copy(struct rgn *r, unsigned int nr, uint64_t src, uint64_t dst,
	uint32_t len)
{
	struct rgn *d = rgn_of(r, nr, dst, len);
	struct rgn *s = rgn_of(r, nr, src, len);

	memmove(d->m + (dst - d->va), s->m + (src - s->va), len);
}

static inline void
rgn_check(struct mmrt_as *as, const struct rgn *r, const char *when)
{
	char what[128];

	snprintf(what, sizeof(what), "%s (%s)", r->name, when);
	check(as, r->va, r->m, r->len, what);
}

/* ---- boundaries fixture: regions on 4 KiB and 2 MiB leaves ---- */

enum { R_S4, R_D4, R_SH, R_DH, R_Z4, R_ZH, R_NB };

/*
 * Space "bnd": patterned sources and guarded destinations on 4 KiB pages
 * (VA, VB) and 2 MiB leaves (VC, VD), and never touched regions (VE, VF).
 * @p r (R_NB mirrors) gets their names, ranges and expected contents.
 */
static inline struct mmrt_as *
bnd_setup(struct rgn *r)
{
	static const struct rgn layout[R_NB] = {
		[R_S4] = { VA, 32 * PG, NULL, "src 4K" },
		[R_D4] = { VB, 32 * PG, NULL, "dst 4K" },
		[R_SH] = { VC, 2 * HPG, NULL, "src 2M" },
		[R_DH] = { VD, 2 * HPG, NULL, "dst 2M" },
		[R_Z4] = { VE, 8 * PG, NULL, "zero 4K" },
		[R_ZH] = { VF, HPG, NULL, "zero 2M" },
	};
	struct mmrt_as *as = mmrt_as_create("bnd");
	unsigned int k;

	cr_assert_not_null(as);
	memcpy(r, layout, sizeof(layout));
	for (k = 0; k < R_NB; k++)
		r[k].m = xmalloc(r[k].len);
	map_pat(as, VA, 32 * PG, 0, 1);
	pat(r[R_S4].m, 1, 0, 32 * PG);
	map_guard(as, VB, 32 * PG, 0);
	memset(r[R_D4].m, GUARD, 32 * PG);
	map_pat(as, VC, 2 * HPG, MMRT_MAP_HUGE, 2);
	pat(r[R_SH].m, 2, 0, 2 * HPG);
	map_guard(as, VD, 2 * HPG, MMRT_MAP_HUGE);
	memset(r[R_DH].m, GUARD, 2 * HPG);
	cr_assert_eq(mmrt_map(as, VE, 8 * PG, RW, 0), 0);
	memset(r[R_Z4].m, 0, 8 * PG);
	cr_assert_eq(mmrt_map(as, VF, HPG, RW, MMRT_MAP_HUGE), 0);
	memset(r[R_ZH].m, 0, HPG);
	cr_assert(is_huge(as, VC) && is_huge(as, VC + HPG),
		"source not on 2 MiB leaves");
	cr_assert(is_huge(as, VD) && is_huge(as, VD + HPG),
		"destination not on 2 MiB leaves");
	return as;
}

/* The engine is gone: the space and the mirrors go, nothing leaked. */
static inline void
bnd_teardown(struct mmrt_as *as, struct rgn *r, uint64_t used0)
{
	unsigned int k;

	cr_assert_eq(mmrt_as_destroy(as), 0);
	for (k = 0; k < R_NB; k++)
		free(r[k].m);
	cr_assert_eq(mmrt_test_used(), used0, "used %" PRIu64 ", at start %"
		PRIu64, mmrt_test_used(), used0);
}

/* ---- copy-on-write fixture: an engine writes to a forked child ---- */

/*
 * A parent with R (VA, 32 pages), S (VB, 8 pages, the copy source) and H
 * (VC, one 2 MiB leaf), forked: pass 0 writes to the child, pass 1 to
 * the parent. r[] mirrors the space being written, orig[] the other one.
 */
struct cow_fix {
	struct mmrt_as *parent;
	struct mmrt_as *child;
	struct rgn r[3];
	uint8_t *orig[3];
};

static inline void
cow_setup(struct cow_fix *f)
{
	static const struct rgn r[3] = {
		{ VA, 32 * PG, NULL, "R" },
		{ VB, 8 * PG, NULL, "S" },
		{ VC, HPG, NULL, "H" },
	};
	unsigned int k;

	memcpy(f->r, r, sizeof(r));
	f->parent = mmrt_as_create("cowp");
	cr_assert_not_null(f->parent);
	for (k = 0; k < 3; k++) {
		f->r[k].m = xmalloc(f->r[k].len);
		f->orig[k] = xmalloc(f->r[k].len);
		pat(f->orig[k], 71 + k, 0, f->r[k].len);
		memcpy(f->r[k].m, f->orig[k], f->r[k].len);
	}
	map_pat(f->parent, VA, 32 * PG, 0, 71);
	map_pat(f->parent, VB, 8 * PG, 0, 72);
	map_pat(f->parent, VC, HPG, MMRT_MAP_HUGE, 73);
	cr_assert(is_huge(f->parent, VC));
	f->child = mmrt_as_fork(f->parent, "cowc");
	cr_assert_not_null(f->child, "fork: rte_errno %d", rte_errno);
}

/* The space pass @p pass writes to. */
static inline struct mmrt_as *
cow_written(const struct cow_fix *f, unsigned int pass)
{
	return pass == 0 ? f->child : f->parent;
}

/* A destination for operation @p k of @p len bytes: R, or H every 8th. */
static inline uint64_t
cow_dst(unsigned int k, uint32_t len)
{
	if (k % 8 == 7)
		return VC + rnd() % (HPG - len + 1);
	return VA + rnd() % (32 * PG - len + 1);
}

/* After the operations of @p pass: the written space, and the other. */
static inline void
cow_check(const struct cow_fix *f, unsigned int pass)
{
	unsigned int k;

	for (k = 0; k < 3; k++) {
		rgn_check(cow_written(f, pass), &f->r[k],
			pass == 0 ? "child" : "parent");
		/* the other one never changes */
		check(cow_written(f, 1 - pass), f->r[k].va, f->orig[k],
			f->r[k].len, pass == 0 ? "parent" : "child");
	}
}

/* The engine is unbound: set up the next pass (the child keeps its own). */
static inline void
cow_next_pass(struct cow_fix *f, unsigned int pass)
{
	unsigned int k;

	if (pass != 0)
		return;
	for (k = 0; k < 3; k++) {
		check(f->child, f->r[k].va, f->r[k].m, f->r[k].len,
			"child after unbind");
		memcpy(f->orig[k], f->r[k].m, f->r[k].len);
		pat(f->r[k].m, 71 + k, 0, f->r[k].len);
	}
}

static inline void
cow_teardown(struct cow_fix *f)
{
	unsigned int k;

	cr_assert_eq(mmrt_as_destroy(f->child), 0);
	cr_assert_eq(mmrt_as_destroy(f->parent), 0);
	for (k = 0; k < 3; k++) {
		free(f->r[k].m);
		free(f->orig[k]);
	}
}

/* ---- userfault helpers ---- */

static inline struct mmrt_uffd *
mkuffd(struct mmrt_as *as, uint64_t features)
{
	struct mmrt_uffd_conf cf = { .wait_timeout_us = 20 * 1000 * 1000 };
	uint64_t f = features;
	struct mmrt_uffd *u = mmrt_uffd_create(as, MMRT_UFFD_API, &f, &cf);

	cr_assert_not_null(u, "uffd create: rte_errno %d", rte_errno);
	return u;
}

static inline void
ureg(struct mmrt_uffd *u, uint64_t va, uint64_t len)
{
	int rc = mmrt_uffd_register(u, va, len,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL);

	cr_assert_eq(rc, 0, "register: %d", rc);
}

/*
 * The layout of both engines' fault_status tests in @p as: G at VA (16
 * pages, guard bytes), a hole, G2 (4 pages); VB read-only and populated;
 * VC PROT_NONE; VD and VE registered MISSING with *@p u (VD's page 0
 * poisoned; nobody serves the rest); VF with the SIGBUS uffd *@p usb;
 * VG the source (4 pages of pattern 41).
 */
static inline void
fst_layout(struct mmrt_as *as, struct mmrt_uffd **u, struct mmrt_uffd **usb)
{
	struct mmrt_uffd_poison pz = { .range = { VD, PG } };

	map_guard(as, VA, 16 * PG, 0);
	map_guard(as, VA + 17 * PG, 4 * PG, 0);
	cr_assert_eq(mmrt_map(as, VB, 4 * PG, RO, MMRT_MAP_POPULATE), 0);
	cr_assert_eq(mmrt_map(as, VC, 4 * PG, MMRT_PROT_NONE, 0), 0);
	cr_assert_eq(mmrt_map(as, VD, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VE, 4 * PG, RW, 0), 0);
	cr_assert_eq(mmrt_map(as, VF, PG, RW, 0), 0);
	map_pat(as, VG, 4 * PG, 0, 41);
	*u = mkuffd(as, MMRT_UFFD_FEATURE_POISON);
	ureg(*u, VD, 4 * PG);
	ureg(*u, VE, 4 * PG);
	cr_assert_eq(mmrt_uffd_poison(*u, &pz), 0);
	*usb = mkuffd(as, MMRT_UFFD_FEATURE_SIGBUS);
	ureg(*usb, VF, PG);
}

static inline void
ufill(struct mmrt_uffd *u, uint64_t dst, const void *src, uint64_t len)
{
	struct mmrt_uffd_copy c = {
		.dst = dst, .src = src, .len = len, .copy = INT64_MIN,
	};
	int rc = mmrt_uffd_copy(u, &c);

	cr_assert_eq(rc, 0, "uffd copy(%#" PRIx64 ") = %d", dst, rc);
	cr_assert_eq(c.copy, (int64_t)len);
}

/* Poll (q_poll()) until one message is there: a page fault. */
static inline struct mmrt_uffd_msg
next_fault(struct mmrt_uffd *u)
{
	struct mmrt_uffd_msg m;
	uint64_t d = deadline(WAIT_S);
	unsigned long i = 0;
	int n;

	while ((n = mmrt_uffd_read(u, &m, 1)) == 0) {
		cr_assert(!expired(d), "no fault message");
		q_poll();
		relax(i++);
	}
	cr_assert_eq(n, 1);
	cr_assert_eq(m.event, MMRT_UFFD_EVENT_PAGEFAULT, "event %#x", m.event);
	return m;
}

/* mmrt_protect() from a helper thread while the submitter polls
 * (q_poll()): the engine acks the invalidation whoever drives it. */
static struct {
	struct mmrt_as *as;
	uint64_t va;
	uint64_t len;
	uint32_t prot;
	int rc;
	int done;
} pside;

static inline void *
pside_main(void *arg)
{
	RTE_SET_USED(arg);
	pside.rc = mmrt_protect(pside.as, pside.va, pside.len, pside.prot);
	__atomic_store_n(&pside.done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static inline void
protect_polling(struct mmrt_as *as, uint64_t va, uint64_t len, uint32_t prot)
{
	uint64_t d = deadline(WAIT_S);
	unsigned long i = 0;
	pthread_t th;

	pside.as = as;
	pside.va = va;
	pside.len = len;
	pside.prot = prot;
	pside.rc = -1;
	pside.done = 0;
	cr_assert_eq(pthread_create(&th, NULL, pside_main, NULL), 0);
	while (!__atomic_load_n(&pside.done, __ATOMIC_ACQUIRE)) {
		if (expired(d)) {
			q_log("timeout");
			cr_assert_fail("mmrt_protect() did not return in %d s",
				WAIT_S);
		}
		q_poll();
		relax(i++);
	}
	pthread_join(th, NULL);
	cr_assert_eq(pside.rc, 0, "mmrt_protect(%#" PRIx64 ", %#" PRIx64
		") = %d", va, len, pside.rc);
}

/* ---- park-then-protect fixture ---- */

/*
 * The headers' promise for a failed operation: it wrote a prefix of its
 * destination that ends at a 4 KiB page boundary of the destination, and
 * nothing of the page holding the byte it failed on. The case that broke
 * it: an operation parks between two pieces that write one destination
 * page (its source crosses a page boundary there and the second source
 * page is missing under userfault), the destination page is made
 * read-only meanwhile, and the fill resumes it.
 *
 * Space "pprot": destinations D (VA, 4 pages) and E (VB, 1 page), guarded;
 * source S (VC, 6 pages) registered with a uffd, pages 0, 2 and 4 filled
 * with pattern 61, pages 1, 3 and 5 missing. The operations, each run
 * alone (enqueued, parked, maybe protected, filled, reaped):
 *  0: 200 bytes into one page of D whose source crosses into S page 1;
 *     that page of D is made read-only while it is parked;
 *  1: into D pages 2 and 3; the source crosses into S page 3 inside
 *     D page 3, which is made read-only while it is parked: D page 2 is
 *     written before the park, D page 3 never;
 *  2: as 0 into E, not protected: it completes.
 */
struct pprot_op {
	uint64_t src;
	uint64_t dst;
	uint32_t len;
	uint64_t missing;       /* the source page it parks on */
	uint32_t parked_at;     /* bytes it wrote before parking */
	uint64_t protect;       /* destination page made read-only, or 0 */
	enum rte_dma_status_code status;
};

#define PPROT_NOPS 3

static const struct pprot_op pprot_ops[PPROT_NOPS] = {
	{ VC + PG - 100, VA + 1000, 200, VC + PG, 0, VA, S_DST },
	{ VC + 2 * PG + 50, VA + 2 * PG + 100, PG + 100, VC + 3 * PG,
		PG - 100, VA + 3 * PG, S_DST },
	{ VC + 5 * PG - 100, VB + 1000, 200, VC + 5 * PG, 0, 0, S_OK },
};

struct pprot_fix {
	struct mmrt_as *as;
	struct mmrt_uffd *u;
	struct rgn r[3];        /* D, E, S (S is never read: pages missing) */
};

static inline void
pprot_setup(struct pprot_fix *f)
{
	static const struct rgn r[3] = {
		{ VA, 4 * PG, NULL, "D" },
		{ VB, PG, NULL, "E" },
		{ VC, 6 * PG, NULL, "S" },
	};
	unsigned int k;

	memcpy(f->r, r, sizeof(r));
	f->as = mmrt_as_create("pprot");
	cr_assert_not_null(f->as);
	for (k = 0; k < 3; k++)
		f->r[k].m = xmalloc(f->r[k].len);
	map_guard(f->as, VA, 4 * PG, 0);
	memset(f->r[0].m, GUARD, 4 * PG);
	map_guard(f->as, VB, PG, 0);
	memset(f->r[1].m, GUARD, PG);
	cr_assert_eq(mmrt_map(f->as, VC, 6 * PG, RW, 0), 0);
	pat(f->r[2].m, 61, 0, 6 * PG);
	f->u = mkuffd(f->as, 0);
	ureg(f->u, VC, 6 * PG);
	for (k = 0; k < 6; k += 2)
		ufill(f->u, VC + k * PG, f->r[2].m + k * PG, PG);
}

/* Op @k (just submitted) reaches its missing source page: the fault
 * message is posted when it parks, after every piece before it. */
static inline void
pprot_wait_park(struct pprot_fix *f, unsigned int k)
{
	const struct pprot_op *o = &pprot_ops[k];
	struct mmrt_uffd_msg m;

	m = next_fault(f->u);
	cr_assert_eq(m.arg.pagefault.address, o->missing, "op %u: fault at %#"
		PRIx64 ", want %#" PRIx64, k, m.arg.pagefault.address,
		o->missing);
}

/* Op @k is parked (and what it wrote landed): its destination holds the
 * bytes before its park point and nothing else changed. */
static inline void
pprot_check_parked(struct pprot_fix *f, unsigned int k)
{
	const struct pprot_op *o = &pprot_ops[k];
	unsigned int i;

	mirror_copy(f->r, 3, o->src, o->dst, o->parked_at);
	for (i = 0; i < 2; i++)
		rgn_check(f->as, &f->r[i], "parked");
}

/* Protect op @k's page (if it has one), then fill its missing page. */
static inline void
pprot_resume(struct pprot_fix *f, unsigned int k)
{
	const struct pprot_op *o = &pprot_ops[k];

	if (o->protect != 0)
		protect_polling(f->as, o->protect, PG, RO);
	ufill(f->u, o->missing, f->r[2].m + (o->missing - VC), PG);
}

/* Op @k completed: its status, and its destination per the contract. */
static inline void
pprot_check_done(struct pprot_fix *f, unsigned int k)
{
	const struct pprot_op *o = &pprot_ops[k];
	unsigned int i;

	cr_assert_eq(q_status(q.n - 1), o->status, "op %u: status %d, want %d",
		k, q_status(q.n - 1), o->status);
	if (o->status == S_OK)
		mirror_copy(f->r, 3, o->src, o->dst, o->len);
	for (i = 0; i < 2; i++)
		rgn_check(f->as, &f->r[i], "completed");
}

/* The engine is gone: the uffd, the space and the mirrors go. */
static inline void
pprot_teardown(struct pprot_fix *f, uint64_t used0)
{
	unsigned int k;

	cr_assert_eq(mmrt_uffd_destroy(f->u), 0);
	cr_assert_eq(mmrt_as_destroy(f->as), 0);
	for (k = 0; k < 3; k++)
		free(f->r[k].m);
	cr_assert_eq(mmrt_test_used(), used0, "used %" PRIu64 ", at start %"
		PRIu64, mmrt_test_used(), used0);
}

/* A resolver thread serves every fault of a uffd range with pattern @tag
 * (offsets from @base). */
static struct resolver {
	struct mmrt_uffd *u;
	uint64_t base;
	uint32_t tag;
	int stop;
	int err;
	uint64_t served;
} rs;

static inline void *
resolver_main(void *arg)
{
	struct mmrt_uffd_msg m[16];
	struct mmrt_uffd_copy c;
	uint8_t *page = malloc(PG);
	unsigned long it = 0;
	uint64_t a;
	int i, n, rc;

	RTE_SET_USED(arg);
	if (page == NULL) {
		rs.err = -ENOMEM;
		return NULL;
	}
	while (!__atomic_load_n(&rs.stop, __ATOMIC_ACQUIRE)) {
		n = mmrt_uffd_read(rs.u, m, RTE_DIM(m));
		if (n < 0 && rs.err == 0)
			rs.err = n;
		if (n <= 0) {
			relax(it++);
			continue;
		}
		for (i = 0; i < n; i++) {
			if (m[i].event != MMRT_UFFD_EVENT_PAGEFAULT) {
				rs.err = -EPROTO;
				continue;
			}
			a = m[i].arg.pagefault.address & ~(PG - 1);
			pat(page, rs.tag, a - rs.base, PG);
			c = (struct mmrt_uffd_copy){
				.dst = a, .src = page, .len = PG,
			};
			rc = mmrt_uffd_copy(rs.u, &c);
			if (rc == -EEXIST) {
				struct mmrt_uffd_range wr = { a, PG };

				rc = mmrt_uffd_wake(rs.u, &wr);
			}
			if (rc != 0 && rs.err == 0)
				rs.err = rc;
			rs.served++;
		}
	}
	free(page);
	return NULL;
}

/*
 * A dma_mmrt dmadev @id, probed and not yet configured, refuses what is
 * outside the ranges @info advertises: start before configure; 0 or too
 * many vchans, silent mode; once configured with @dc (one vchan), vchan
 * setups with too few or too many descriptors, of vchan 1, or of a
 * direction other than mem-to-mem; and start before its vchan is set
 * up. @vc is a valid setup of vchan 0; @dc and @vc are as given again on
 * return, the device configured and its vchan not set up.
 */
static inline void
engine_bad_config(int16_t id, const struct rte_dma_info *info,
	struct rte_dma_conf *dc, struct rte_dma_vchan_conf *vc)
{
	const uint16_t nb_desc = vc->nb_desc;

	cr_assert_eq(rte_dma_start(id), -EINVAL, "started unconfigured");
	dc->nb_vchans = 0;
	cr_assert_eq(rte_dma_configure(id, dc), -EINVAL);
	dc->nb_vchans = info->max_vchans + 1;
	cr_assert_eq(rte_dma_configure(id, dc), -EINVAL);
	dc->nb_vchans = 1;
	dc->enable_silent = true;
	cr_assert_eq(rte_dma_configure(id, dc), -EINVAL);
	dc->enable_silent = false;
	cr_assert_eq(rte_dma_configure(id, dc), 0);
	vc->nb_desc = info->min_desc - 1;
	cr_assert_eq(rte_dma_vchan_setup(id, 0, vc), -EINVAL);
	vc->nb_desc = info->max_desc + 1;
	cr_assert_eq(rte_dma_vchan_setup(id, 0, vc), -EINVAL);
	vc->nb_desc = nb_desc;
	cr_assert_eq(rte_dma_vchan_setup(id, 1, vc), -EINVAL);
	vc->direction = RTE_DMA_DIR_DEV_TO_MEM;
	cr_assert_eq(rte_dma_vchan_setup(id, 0, vc), -EINVAL);
	vc->direction = RTE_DMA_DIR_MEM_TO_MEM;
	cr_assert_eq(rte_dma_start(id), -EINVAL, "started with no vchan");
}

#endif /* MMRT_TESTS_ENGINE_COMMON_H */
