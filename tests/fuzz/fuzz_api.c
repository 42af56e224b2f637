/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * API fuzzer (libFuzzer): each input is decoded into a sequence of calls
 * over two address spaces sharing one 4 MiB window (two 2 MiB blocks
 * across a 1 GiB boundary, so tables of several levels are involved):
 * map, unmap, protect, advise, read, write, fault, translate, fork, space
 * create/destroy, shared-object mappings, host mappings (over a buffer of
 * the harness), a uffd in MISSING mode with faults posted by NOWAIT
 * accesses and answered by copy/zeropage fills, a consumer (bind, unbind,
 * translate through its device TLB, poll) and a swdma engine run in this
 * thread (copy, fill). Every step is checked against the reference model
 * of the differential test (mm_model.h): return codes, contents (read
 * back, through translations and through the consumer), permissions, the
 * space statistics; and at the end of each input everything is destroyed
 * and the pool's frames in use and the rte_malloc heap must be back at
 * their starting values. A mismatch prints the step and aborts (a crash
 * for libFuzzer).
 *
 * Every access goes with MMRT_ACCESS_NOWAIT, so a userfault is posted and
 * returns -EAGAIN instead of waiting: one thread drives it all, and it is
 * the owner of the consumer and the engine (they ack inline).
 *
 * Built only by a clang build with -Dfuzz=true (./mmrt.sh fuzz).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_dmadev.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>
#include <swdma.h>
#include <mmrt_uffd.h>

#include "mm_gather.h"   /* mm_gather_cache_drain(): links the internal libs */
#include "mm_model.h"

#define PG MMRT_PAGE_SIZE
#define WIN_PAGES 1024u                 /* 4 MiB: two 2 MiB blocks */
#define WIN_BASE ((UINT64_C(1) << 30) - (UINT64_C(2) << 20))
#define OBJ_PAGES 64u
#define HOST_PAGES 16u
#define MAX_OPS 128
#define MAX_IO_PAGES 3
#define SLOTS (PG / 8)
#define RW (MMRT_PROT_READ | MMRT_PROT_WRITE)

enum { K_ANON = 0, K_OBJ, K_HOST };
/* uffd state of a registered anonymous page */
enum { UF_NONE = 0, UF_EMPTY, UF_FILLED, UF_UNK };

struct fspace {
	struct mmrt_as *as;
	char name[MMRT_NAME_SIZE];
	uint64_t nmapped;
	struct mm_model_page pg[WIN_PAGES];
	uint8_t kind[WIN_PAGES];
	uint8_t uf[WIN_PAGES];
	uint16_t idx[WIN_PAGES];        /* object or host page */
};

struct fz {
	const uint8_t *in;
	size_t len, pos;
	unsigned int op;
	char last[160];
	struct fspace *s[2];
	unsigned int seq;
	struct mmrt_object *obj;
	struct mm_model_page objpg[OBJ_PAGES];  /* contents only */
	struct mm_model_page hostpg[HOST_PAGES];
	struct mmrt_uffd *uffd;                 /* serves s[0] */
	struct mmrt_as *uffd_as;
	struct mmrt_consumer *cons;
	int cons_on;                            /* bound space, -1 */
	struct swdma *dma;
	int dma_on;
	uint64_t tagseq;
	/* scratch, not cleared between inputs (setup() clears the above) */
	uint8_t exp[MAX_IO_PAGES * PG + PG];
	uint8_t got[MAX_IO_PAGES * PG + PG];
};

static uint8_t *hostbuf;                /* HOST_PAGES, 4 KiB aligned */
static struct fz *F;
static uint64_t base_used, base_heap;
static bool warmed, verbose;
/*
 * The model of a space is ~20 KiB: two slots, reused (at most two spaces
 * live at a time; a fork deletes its target first). A calloc per space
 * cost page faults at every input (ASan's quarantine hands out fresh
 * memory).
 */
static struct fspace slot_mem[2];

/*
 * FUZZ_API_PROFILE=1: the thread CPU time spent in each kind of step,
 * printed at exit (where an execution's time goes).
 */
enum { PR_SETUP = 20, PR_TEARDOWN, PR_CHECKS, PR_N };
static const char *const pr_name[PR_N] = {
	"map", "map", "unmap", "protect", "advise", "write", "write", "read",
	"fault", "translate", "fork", "create/destroy", "map_object",
	"map_host", "object_io", "host_poke", "uffd_register", "uffd_fill",
	"consumer", "dma", "setup", "teardown", "per-step checks",
};
static uint64_t pr_ns[PR_N], pr_cnt[PR_N], pr_inputs;
static bool profile;

static uint64_t
pr_now(void)
{
	struct timespec ts;

	if (!profile)
		return 0;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
pr_add(unsigned int k, uint64_t t0)
{
	if (!profile)
		return;
	pr_ns[k] += pr_now() - t0;
	pr_cnt[k]++;
}

static void
pr_print(void)
{
	uint64_t tot = 0, ns, cnt;
	unsigned int k, j;

	for (k = 0; k < PR_N; k++)
		tot += pr_ns[k];
	fprintf(stderr, "fuzz_api profile: %" PRIu64 " inputs, %.3f ms CPU "
		"per input in the harness\n", pr_inputs,
		pr_inputs ? tot / 1e6 / (double)pr_inputs : 0.0);
	for (k = 0; k < PR_N; k++) {
		if (k > 0 && pr_name[k] == pr_name[k - 1])
			continue; /* counted with the first of its name */
		ns = cnt = 0;
		for (j = k; j < PR_N && pr_name[j] == pr_name[k]; j++) {
			ns += pr_ns[j];
			cnt += pr_cnt[j];
		}
		if (cnt == 0)
			continue;
		fprintf(stderr, "  %-16s %5.1f%%  %9" PRIu64 " calls  %8.1f us"
			" each\n", pr_name[k], tot ? 100.0 * ns / tot : 0.0,
			cnt, ns / 1e3 / (double)cnt);
	}
}

static struct fspace *
slot_get(struct fz *f)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(slot_mem); i++)
		if (f->s[0] != &slot_mem[i] && f->s[1] != &slot_mem[i]) {
			memset(&slot_mem[i], 0, sizeof(slot_mem[i]));
			return &slot_mem[i];
		}
	abort();
}

static void __attribute__((format(printf, 2, 3), noreturn))
fail(struct fz *f, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_api: op %u [%s]: ", f->op, f->last);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define CHECK(f, cond, ...) do { if (!(cond)) fail((f), __VA_ARGS__); } while (0)

static uint8_t
u8(struct fz *f)
{
	return f->pos < f->len ? f->in[f->pos++] : 0;
}

static uint16_t
u16(struct fz *f)
{
	return (uint16_t)(u8(f) | (u8(f) << 8));
}

static inline uint64_t
va_of(uint64_t p)
{
	return WIN_BASE + p * PG;
}

static uint64_t
new_tag(struct fz *f)
{
	uint64_t x = ++f->tagseq * UINT64_C(0x9e3779b97f4a7c15);

	return x == 0 ? 1 : x;
}

/* The model page holding the contents of page p of s. */
static struct mm_model_page *
cont(struct fz *f, struct fspace *s, uint64_t p)
{
	if (s->kind[p] == K_OBJ)
		return &f->objpg[s->idx[p]];
	if (s->kind[p] == K_HOST)
		return &f->hostpg[s->idx[p]];
	return &s->pg[p];
}

static void
model_bytes(struct fz *f, struct fspace *s, uint64_t va, size_t len,
	uint8_t *buf)
{
	uint64_t end = va + len, p = (va - WIN_BASE) / PG;

	memset(buf, 0, len);
	for (; p < WIN_PAGES && va_of(p) < end; p++)
		mm_model_page_bytes(cont(f, s, p), va_of(p), va, end, buf);
}

/* The host buffer must hold what the model says (every byte). */
static void
check_host(struct fz *f)
{
	static const uint8_t zero[PG];
	unsigned int i;

	for (i = 0; i < HOST_PAGES; i++) {
		const struct mm_model_page *mp = &f->hostpg[i];
		const uint8_t *pg = hostbuf + (uint64_t)i * PG;
		uint8_t want[8];

		if (mp->tag == 0) {
			CHECK(f, memcmp(pg, zero, PG) == 0,
				"host page %u differs from the model", i);
			continue;
		}
		/* zeros around the tag's slot, the tag in it */
		memset(want, 0, sizeof(want));
		mm_model_page_bytes(mp, 0, mp->slot * 8u, mp->slot * 8u + 8,
			want);
		CHECK(f, memcmp(pg, zero, mp->slot * 8u) == 0 &&
			memcmp(pg + mp->slot * 8u, want, 8) == 0 &&
			memcmp(pg + mp->slot * 8u + 8, zero,
			PG - mp->slot * 8u - 8) == 0,
			"host page %u differs from the model", i);
	}
}

static void
check_stats(struct fz *f, struct fspace *s)
{
	struct mmrt_as_stats st;
	int rc = mmrt_as_stats(s->as, &st);

	CHECK(f, rc == 0, "mmrt_as_stats(%s) = %d", s->name, rc);
	CHECK(f, st.mapped_bytes == s->nmapped * PG, "%s: mapped_bytes %"
		PRIu64 ", model %" PRIu64, s->name, st.mapped_bytes,
		s->nmapped * PG);
	CHECK(f, st.rss_pages <= s->nmapped, "%s: rss %" PRIu64 " > mapped %"
		PRIu64, s->name, st.rss_pages, s->nmapped);
}

/* Check a translation @p x of page p (ok for @p access) against the model. */
static void
check_xlate(struct fz *f, struct fspace *s, uint64_t p, uint32_t access,
	const struct mmrt_xlate *x, const char *who)
{
	const struct mm_model_page *mp = &s->pg[p];
	uint32_t need = (access & MMRT_ACCESS_WRITE) ? MMRT_PROT_WRITE :
		MMRT_PROT_READ;
	const uint8_t *page;

	CHECK(f, (x->prot & need) != 0, "%s: prot %u lacks access %u", who,
		x->prot, access);
	CHECK(f, (x->prot & ~(uint32_t)mp->prot) == 0,
		"%s: PTE prot %u exceeds region prot %u", who, x->prot,
		mp->prot);
	if (s->kind[p] == K_HOST) {
		CHECK(f, x->pfn == MMRT_PFN_NONE, "%s: host page has pfn %u",
			who, x->pfn);
		CHECK(f, x->addr == hostbuf + (uint64_t)s->idx[p] * PG,
			"%s: host page at %p, want %p", who, x->addr,
			hostbuf + (uint64_t)s->idx[p] * PG);
	} else {
		CHECK(f, mmrt_frame_addr(x->pfn) == x->addr,
			"%s: pfn %u is at %p, xlate.addr %p", who, x->pfn,
			mmrt_frame_addr(x->pfn), x->addr);
		CHECK(f, !x->huge || mp->huge, "%s: huge leaf in a 4 KiB "
			"region", who);
	}
	page = (const uint8_t *)x->addr;
	model_bytes(f, s, va_of(p), PG, f->exp);
	CHECK(f, memcmp(f->exp, page, PG) == 0,
		"%s: contents of %#" PRIx64 " differ from the model", who,
		va_of(p));
}

/* A translation of page p by the CPU-side walk. */
static void
check_translate(struct fz *f, struct fspace *s, uint64_t p, uint32_t access)
{
	const struct mm_model_page *mp = &s->pg[p];
	uint32_t need = (access & MMRT_ACCESS_WRITE) ? MMRT_PROT_WRITE :
		MMRT_PROT_READ;
	struct mmrt_xlate x;
	int rc;

	memset(&x, 0, sizeof(x));
	rc = mmrt_translate(s->as, va_of(p), access, &x);
	if (!mp->mapped || mp->pres == MM_PRES_NO) {
		CHECK(f, rc == -EFAULT, "translate of %s %#" PRIx64 ", an "
			"unmapped/absent page (kind %u, uffd state %u): %d",
			s->name, va_of(p), s->kind[p], s->uf[p], rc);
		return;
	}
	if (rc == -EFAULT) {
		CHECK(f, mp->pres != MM_PRES_YES,
			"translate of a present page: -EFAULT");
		return;
	}
	if (rc == -EACCES) {
		CHECK(f, need == MMRT_PROT_WRITE || mp->prot == MMRT_PROT_NONE,
			"translate(READ) of a page with prot %u: -EACCES",
			mp->prot);
		return;
	}
	CHECK(f, rc == 0, "translate: %d", rc);
	CHECK(f, mp->prot != MMRT_PROT_NONE, "translate of %s %#" PRIx64
		", a PROT_NONE page: prot %u", s->name, va_of(p), x.prot);
	check_xlate(f, s, p, access, &x, "translate");
}

static struct fspace *
pick_space(struct fz *f)
{
	unsigned int i = u8(f) & 1;

	if (f->s[i] == NULL)
		i ^= 1;
	return f->s[i];
}

static uint64_t
pick_page(struct fz *f)
{
	return u16(f) % WIN_PAGES;
}

/* [*p, *p + *n) in the window. */
static void
pick_range(struct fz *f, bool huge, uint64_t *p, uint64_t *n)
{
	uint8_t r = u8(f);

	if (huge || (r & 7) == 0) {
		*p = (u8(f) & 1) * MMRT_HUGE_NR;
		*n = (u8(f) & 1) && *p == 0 ? 2 * MMRT_HUGE_NR : MMRT_HUGE_NR;
		return;
	}
	*p = pick_page(f);
	*n = 1 + (r >> 3) % 24;
	if ((r >> 3) >= 28)
		*n = 1 + u16(f) % 600;
	if (*p + *n > WIN_PAGES)
		*n = WIN_PAGES - *p;
}

static uint32_t
pick_prot(struct fz *f)
{
	static const uint32_t t[4] = { RW, RW, MMRT_PROT_READ,
		MMRT_PROT_NONE };

	return t[u8(f) & 3];
}

static void
new_space(struct fz *f, unsigned int i)
{
	struct fspace *s = slot_get(f);

	snprintf(s->name, sizeof(s->name), "fz-%u", f->seq++);
	snprintf(f->last, sizeof(f->last), "create %s", s->name);
	s->as = mmrt_as_create(s->name);
	CHECK(f, s->as != NULL, "mmrt_as_create: rte_errno %d", rte_errno);
	f->s[i] = s;
}

static void
del_space(struct fz *f, unsigned int i)
{
	struct fspace *s = f->s[i];
	int rc;

	snprintf(f->last, sizeof(f->last), "destroy %s", s->name);
	if (f->uffd != NULL && f->uffd_as == s->as) {
		CHECK(f, mmrt_uffd_destroy(f->uffd) == 0, "uffd destroy");
		f->uffd = NULL;
		f->uffd_as = NULL;
	}
	if (f->dma_on == (int)i) {
		CHECK(f, swdma_unbind(f->dma) == 0, "swdma unbind");
		f->dma_on = -1;
	}
	rc = mmrt_as_destroy(s->as);
	CHECK(f, rc == 0, "mmrt_as_destroy = %d", rc);
	if (f->cons_on == (int)i) {
		/* the destroy released the binding */
		rc = mmrt_consumer_unbind(f->cons);
		CHECK(f, rc == -ENOTCONN, "unbind after destroy: %d", rc);
		f->cons_on = -1;
	}
	f->s[i] = NULL;
}

/* A page's uffd state after registration, from what the model knows. */
static uint8_t
uf_of(const struct fspace *s, uint64_t p)
{
	const struct mm_model_page *mp = &s->pg[p];

	if (mp->tag != 0 || mp->pres == MM_PRES_YES)
		return UF_FILLED;
	return mp->pres == MM_PRES_NO ? UF_EMPTY : UF_UNK;
}

static void
op_map(struct fz *f)
{
	struct fspace *s = pick_space(f);
	uint8_t fl = u8(f);
	bool huge = (fl & 3) == 0;
	uint32_t prot = pick_prot(f);
	uint32_t flags = (huge ? MMRT_MAP_HUGE : 0) |
		((fl & 4) ? MMRT_MAP_POPULATE : 0);
	uint64_t p, n, q;
	int expect, rc;

	pick_range(f, huge, &p, &n);
	/* populating a block or two costs most of an input's time: do it
	 * on one map of such a size in eight, not one in two */
	if (n >= MMRT_HUGE_NR && (fl & 0x38) != 0)
		flags &= ~(uint32_t)MMRT_MAP_POPULATE;
	expect = 0;
	for (q = p; q < p + n; q++)
		if (s->pg[q].mapped)
			expect = -EEXIST;
	snprintf(f->last, sizeof(f->last), "map %s [%#" PRIx64 ", +%#" PRIx64
		") prot %u flags %#x", s->name, va_of(p), n * PG, prot, flags);
	rc = mmrt_map(s->as, va_of(p), n * PG, prot, flags);
	CHECK(f, rc == expect, "rc %d, expected %d", rc, expect);
	if (rc == 0) {
		for (q = p; q < p + n; q++) {
			struct mm_model_page *mp = &s->pg[q];

			memset(mp, 0, sizeof(*mp));
			mp->mapped = 1;
			mp->prot = (uint8_t)prot;
			mp->huge = huge;
			mp->pres = !(flags & MMRT_MAP_POPULATE) ? MM_PRES_NO :
				prot == MMRT_PROT_NONE ? MM_PRES_UNK :
				MM_PRES_YES;
			s->kind[q] = K_ANON;
			s->uf[q] = UF_NONE;
		}
		s->nmapped += n;
	}
	check_stats(f, s);
}

static void
op_map_shared(struct fz *f, bool host)
{
	struct fspace *s = pick_space(f);
	uint32_t prot = pick_prot(f);
	unsigned int npg = host ? HOST_PAGES : OBJ_PAGES;
	uint64_t p = pick_page(f), n = 1 + u8(f) % 16, off = u8(f) % npg, q;
	int expect = 0, rc;

	if (off + n > npg)
		n = npg - off;
	if (p + n > WIN_PAGES)
		n = WIN_PAGES - p;
	for (q = p; q < p + n; q++)
		if (s->pg[q].mapped)
			expect = -EEXIST;
	snprintf(f->last, sizeof(f->last), "map_%s %s [%#" PRIx64 ", +%#"
		PRIx64 ") prot %u page %" PRIu64, host ? "host" : "object",
		s->name, va_of(p), n * PG, prot, off);
	if (host)
		rc = mmrt_map_host(s->as, va_of(p), hostbuf + off * PG, n * PG,
			prot, 0);
	else
		rc = mmrt_map_object(s->as, va_of(p), n * PG, prot, 0, f->obj,
			off * PG);
	CHECK(f, rc == expect, "rc %d, expected %d", rc, expect);
	if (rc == 0) {
		for (q = p; q < p + n; q++) {
			struct mm_model_page *mp = &s->pg[q];

			memset(mp, 0, sizeof(*mp));
			mp->mapped = 1;
			mp->prot = (uint8_t)prot;
			mp->pres = host ? MM_PRES_UNK : MM_PRES_NO;
			s->kind[q] = host ? K_HOST : K_OBJ;
			s->idx[q] = (uint16_t)(off + q - p);
			s->uf[q] = UF_NONE;
		}
		s->nmapped += n;
	}
	check_stats(f, s);
}

static void
op_unmap(struct fz *f)
{
	struct fspace *s = pick_space(f);
	uint64_t p, n, q;
	int rc;

	pick_range(f, false, &p, &n);
	snprintf(f->last, sizeof(f->last), "unmap %s [%#" PRIx64 ", +%#"
		PRIx64 ")", s->name, va_of(p), n * PG);
	rc = mmrt_unmap(s->as, va_of(p), n * PG);
	CHECK(f, rc == 0, "rc %d", rc);
	for (q = p; q < p + n; q++) {
		if (s->pg[q].mapped)
			s->nmapped--;
		memset(&s->pg[q], 0, sizeof(s->pg[q]));
		s->kind[q] = K_ANON;
		s->uf[q] = UF_NONE;
	}
	check_stats(f, s);
}

static void
op_protect(struct fz *f)
{
	struct fspace *s = pick_space(f);
	uint32_t prot = pick_prot(f);
	uint64_t p, n, q;
	int expect, rc;

	pick_range(f, false, &p, &n);
	expect = mm_model_has_hole(s->pg, p, n) ? -ENOMEM : 0;
	snprintf(f->last, sizeof(f->last), "protect %s [%#" PRIx64 ", +%#"
		PRIx64 ") prot %u", s->name, va_of(p), n * PG, prot);
	rc = mmrt_protect(s->as, va_of(p), n * PG, prot);
	CHECK(f, rc == expect, "rc %d, expected %d", rc, expect);
	if (rc == 0)
		for (q = p; q < p + n; q++) {
			struct mm_model_page *mp = &s->pg[q];

			if ((mp->prot & ~prot) != 0 && mp->pres == MM_PRES_YES)
				mp->pres = MM_PRES_UNK;
			mp->prot = (uint8_t)prot;
		}
	check_stats(f, s);
}

static void
op_advise(struct fz *f)
{
	struct fspace *s = pick_space(f);
	uint64_t p, n, q;
	int expect, rc;

	pick_range(f, false, &p, &n);
	expect = mm_model_has_hole(s->pg, p, n) ? -ENOMEM : 0;
	snprintf(f->last, sizeof(f->last), "advise %s [%#" PRIx64 ", +%#"
		PRIx64 ") DONTNEED", s->name, va_of(p), n * PG);
	rc = mmrt_advise(s->as, va_of(p), n * PG, MMRT_ADV_DONTNEED);
	CHECK(f, rc == expect, "rc %d, expected %d", rc, expect);
	if (rc == 0)
		for (q = p; q < p + n; q++) {
			/* shared pages keep their contents elsewhere */
			if (s->kind[q] == K_ANON) {
				s->pg[q].tag = 0;
				s->pg[q].slot = 0;
				if (s->uf[q] != UF_NONE)
					s->uf[q] = UF_EMPTY;
			}
			s->pg[q].pres = MM_PRES_NO;
		}
	check_stats(f, s);
}

/*
 * Userfault expectation of an access of pages [p0, p1] that passed the
 * region checks: 0 (no registered page needs a fill), -EAGAIN (one
 * surely does), or 1 (either).
 */
static int
uf_expect(const struct fspace *s, uint64_t p0, uint64_t p1)
{
	uint64_t q;
	int e = 0;

	for (q = p0; q <= p1; q++) {
		if (s->uf[q] == UF_EMPTY)
			return -EAGAIN;
		if (s->uf[q] == UF_UNK)
			e = 1;
	}
	return e;
}

/* After a successful access of [p0, p1]: the pages are present. */
static void
accessed(struct fspace *s, uint64_t p0, uint64_t p1)
{
	uint64_t q;

	for (q = p0; q <= p1; q++) {
		mm_model_touch(s->pg, q);
		if (s->uf[q] != UF_NONE)
			s->uf[q] = UF_FILLED;
	}
}

/* After an access of [p0, p1] failed at page bad. */
static void
failed_access(struct fspace *s, uint64_t p0, uint64_t p1, int rc)
{
	uint64_t q;

	for (q = p0; q <= p1; q++) {
		if (s->uf[q] != UF_NONE)
			continue; /* stays what it was: EMPTY, UNK, FILLED */
		if (rc == -EAGAIN || q < p1)
			mm_model_maybe(s->pg, q);
	}
}

static void
pick_io(struct fz *f, uint64_t p, uint64_t *va, size_t *len)
{
	uint64_t n = 1 + u8(f) % MAX_IO_PAGES, start, end;

	if (p + n > WIN_PAGES)
		n = WIN_PAGES - p;
	if (u8(f) & 1) {
		*va = va_of(p);
		*len = n * PG;
		return;
	}
	start = va_of(p) + u16(f) % PG;
	end = va_of(p + n - 1) + 1 + u16(f) % PG;
	if (end <= start)
		end = start + 1;
	*va = start;
	*len = end - start;
}

static void
op_write(struct fz *f)
{
	struct fspace *s = pick_space(f);
	uint64_t p = pick_page(f), va, end, p0, p1, q, bad;
	struct mm_model_page save[MAX_IO_PAGES];
	size_t len;
	int expect, ufx, rc;

	pick_io(f, p, &va, &len);
	end = va + len;
	p0 = (va - WIN_BASE) / PG;
	p1 = (end - 1 - WIN_BASE) / PG;
	expect = mm_model_access_expect(s->pg, p0, p1 - p0 + 1,
		MMRT_ACCESS_WRITE, &bad);
	if (expect != 0) {
		/* one page only: a failed access writes nothing */
		va = va_of(bad) + u16(f) % PG;
		len = 1 + u16(f) % (va_of(bad) + PG - va);
		end = va + len;
		p0 = p1 = bad;
	}
	ufx = expect == 0 ? uf_expect(s, p0, p1) : 0;
	for (q = p0; q <= p1; q++)
		save[q - p0] = *cont(f, s, q);
	if (expect == 0) {
		for (q = p0; q <= p1; q++) {
			struct mm_model_page *mp = cont(f, s, q);
			uint64_t lo = va > va_of(q) ? va - va_of(q) : 0;
			uint64_t hi = end < va_of(q) + PG ? end - va_of(q) : PG;
			uint64_t s0 = (lo + 7) / 8, s1 = hi / 8;
			uint8_t r = u8(f);

			if (s1 <= s0)
				continue;
			if (mp->tag != 0 && (mp->slot < s0 || mp->slot >= s1))
				continue;
			if ((r & 7) == 0) {
				mp->tag = 0;
				mp->slot = 0;
				continue;
			}
			mp->tag = new_tag(f);
			mp->slot = (uint16_t)(s0 + r % (s1 - s0));
		}
	}
	model_bytes(f, s, va, len, f->exp);
	snprintf(f->last, sizeof(f->last), "write %s [%#" PRIx64 ", +%#zx)",
		s->name, va, len);
	rc = mmrt_write_flags(s->as, va, f->exp, len, MMRT_ACCESS_NOWAIT);
	if (expect == 0 && ufx != 0)
		CHECK(f, rc == -EAGAIN || (ufx == 1 && rc == 0),
			"rc %d, expected -EAGAIN%s", rc, ufx == 1 ? " or 0" :
			"");
	else
		CHECK(f, rc == expect, "rc %d, expected %d", rc, expect);
	if (rc == 0) {
		accessed(s, p0, p1);
		check_translate(f, s, p0 + u8(f) % (p1 - p0 + 1),
			MMRT_ACCESS_WRITE);
		return;
	}
	for (q = p0; q <= p1; q++)
		*cont(f, s, q) = save[q - p0];
	failed_access(s, p0, p1, rc);
}

static void
op_read(struct fz *f)
{
	struct fspace *s = pick_space(f);
	uint64_t p = pick_page(f), va, p0, p1, bad;
	size_t len;
	int expect, ufx, rc;

	pick_io(f, p, &va, &len);
	p0 = (va - WIN_BASE) / PG;
	p1 = (va + len - 1 - WIN_BASE) / PG;
	expect = mm_model_access_expect(s->pg, p0, p1 - p0 + 1,
		MMRT_ACCESS_READ, &bad);
	ufx = expect == 0 ? uf_expect(s, p0, p1) : 0;
	snprintf(f->last, sizeof(f->last), "read %s [%#" PRIx64 ", +%#zx)",
		s->name, va, len);
	memset(f->got, 0xa5, len);
	rc = mmrt_read_flags(s->as, va, f->got, len, MMRT_ACCESS_NOWAIT);
	if (expect == 0 && ufx != 0)
		CHECK(f, rc == -EAGAIN || (ufx == 1 && rc == 0),
			"rc %d, expected -EAGAIN%s", rc, ufx == 1 ? " or 0" :
			"");
	else
		CHECK(f, rc == expect, "rc %d, expected %d", rc, expect);
	if (rc != 0) {
		failed_access(s, p0, expect != 0 ? bad : p1, rc);
		return;
	}
	model_bytes(f, s, va, len, f->exp);
	if (memcmp(f->exp, f->got, len) != 0) {
		size_t i;

		for (i = 0; f->exp[i] == f->got[i]; i++)
			;
		fail(f, "contents differ at %#" PRIx64 ": got %#x, expected "
			"%#x", va + i, f->got[i], f->exp[i]);
	}
	accessed(s, p0, p1);
}

static void
op_fault(struct fz *f)
{
	struct fspace *s = pick_space(f);
	uint64_t p = pick_page(f), bad;
	uint32_t access = 1 + u8(f) % 3;
	int expect, ufx, rc;

	expect = mm_model_access_expect(s->pg, p, 1, access, &bad);
	ufx = expect == 0 ? uf_expect(s, p, p) : 0;
	snprintf(f->last, sizeof(f->last), "fault %s %#" PRIx64 " access %u",
		s->name, va_of(p), access);
	rc = mmrt_fault(s->as, va_of(p) + u16(f) % PG,
		access | MMRT_ACCESS_NOWAIT);
	if (expect == 0 && ufx != 0)
		CHECK(f, rc == -EAGAIN || (ufx == 1 && rc == 0),
			"rc %d, expected -EAGAIN", rc);
	else
		CHECK(f, rc == expect, "rc %d, expected %d", rc, expect);
	if (rc != 0)
		return;
	accessed(s, p, p);
	check_translate(f, s, p, access & MMRT_ACCESS_WRITE ?
		MMRT_ACCESS_WRITE : MMRT_ACCESS_READ);
}

static void
op_translate(struct fz *f)
{
	struct fspace *s = pick_space(f);
	uint64_t p = pick_page(f);
	uint32_t access = (u8(f) & 1) ? MMRT_ACCESS_WRITE : MMRT_ACCESS_READ;

	snprintf(f->last, sizeof(f->last), "translate %s %#" PRIx64
		" access %u", s->name, va_of(p), access);
	check_translate(f, s, p, access);
}

static void
op_fork(struct fz *f)
{
	unsigned int from = u8(f) & 1, to = from ^ 1;
	struct fspace *ps = f->s[from], *cs;
	uint64_t q;

	if (ps == NULL)
		return;
	if (f->s[to] != NULL)
		del_space(f, to);
	cs = slot_get(f);
	snprintf(cs->name, sizeof(cs->name), "fz-%u", f->seq++);
	snprintf(f->last, sizeof(f->last), "fork %s -> %s", ps->name,
		cs->name);
	cs->as = mmrt_as_fork(ps->as, cs->name);
	CHECK(f, cs->as != NULL, "mmrt_as_fork: rte_errno %d", rte_errno);
	memcpy(cs->pg, ps->pg, sizeof(cs->pg));
	memcpy(cs->kind, ps->kind, sizeof(cs->kind));
	memcpy(cs->idx, ps->idx, sizeof(cs->idx));
	cs->nmapped = ps->nmapped;
	for (q = 0; q < WIN_PAGES; q++)
		if (cs->pg[q].pres == MM_PRES_YES)
			cs->pg[q].pres = MM_PRES_UNK;
	/* the child is not registered with the parent's uffd (no
	 * EVENT_FORK); an empty registered page reads as zeros there */
	f->s[to] = cs;
	check_stats(f, ps);
	check_stats(f, cs);
	for (q = 0; q < 4; q++) {
		uint64_t p = pick_page(f);

		check_translate(f, ps, p, MMRT_ACCESS_READ);
		check_translate(f, cs, p, MMRT_ACCESS_READ);
	}
}

static void
op_create_destroy(struct fz *f)
{
	unsigned int i = u8(f) & 1;

	if (f->s[i] != NULL && f->s[i ^ 1] != NULL)
		del_space(f, i);
	else if (f->s[i] == NULL)
		new_space(f, i);
}

/* Read every 8-byte slot of the object against the model. */
static void
op_object_io(struct fz *f)
{
	unsigned int i = u8(f) % OBJ_PAGES;
	struct mm_model_page *mp = &f->objpg[i];
	uint8_t b[PG], want[PG];
	int rc;

	if (u8(f) & 1) {
		mp->tag = new_tag(f);
		mp->slot = (uint16_t)(u16(f) % SLOTS);
		memset(b, 0, PG);
		mm_model_page_bytes(mp, 0, 0, PG, b);
		snprintf(f->last, sizeof(f->last), "object_write page %u", i);
		rc = mmrt_object_write(f->obj, (uint64_t)i * PG, b, PG);
		CHECK(f, rc == 0, "rc %d", rc);
		return;
	}
	snprintf(f->last, sizeof(f->last), "object_read page %u", i);
	rc = mmrt_object_read(f->obj, (uint64_t)i * PG, b, PG);
	CHECK(f, rc == 0, "rc %d", rc);
	memset(want, 0, PG);
	mm_model_page_bytes(mp, 0, 0, PG, want);
	CHECK(f, memcmp(b, want, PG) == 0, "object page %u differs", i);
}

/* The harness writes its host buffer directly. */
static void
op_host_poke(struct fz *f)
{
	unsigned int i = u8(f) % HOST_PAGES;
	struct mm_model_page *mp = &f->hostpg[i];
	uint8_t *pg = hostbuf + (uint64_t)i * PG;

	snprintf(f->last, sizeof(f->last), "host_poke page %u", i);
	memset(pg, 0, PG);
	mp->tag = (u8(f) & 3) == 0 ? 0 : new_tag(f);
	mp->slot = (uint16_t)(u16(f) % SLOTS);
	mm_model_page_bytes(mp, 0, 0, PG, pg);
	check_host(f);
}

/* Read what the uffd posted: page faults in the window, nothing else. */
static void
uffd_drain(struct fz *f)
{
	struct mmrt_uffd_msg m[16];
	int n, i;

	if (f->uffd == NULL)
		return;
	do {
		n = mmrt_uffd_read(f->uffd, m, RTE_DIM(m));
		CHECK(f, n >= 0 || n == -EAGAIN, "uffd_read: %d", n);
		for (i = 0; i < n; i++) {
			uint64_t a = m[i].arg.pagefault.address;

			CHECK(f, m[i].event == MMRT_UFFD_EVENT_PAGEFAULT,
				"uffd event %#x", m[i].event);
			CHECK(f, a >= WIN_BASE && a < va_of(WIN_PAGES) &&
				(a & (PG - 1)) == 0, "uffd fault at %#" PRIx64,
				a);
		}
	} while (n == (int)RTE_DIM(m));
}

static void
op_uffd_register(struct fz *f)
{
	struct fspace *s = f->s[0];
	uint64_t p, n, q, ops;
	bool any = false;
	int expect = 0, rc;

	if (s == NULL)
		return;
	pick_range(f, false, &p, &n);
	for (q = p; q < p + n; q++) {
		if (!s->pg[q].mapped)
			continue;
		if (s->pg[q].huge)
			return; /* not modelled */
		any = true;
		if (s->kind[q] != K_ANON && s->kind[q] != K_OBJ)
			return; /* userfault on host mappings: not modelled */
		if (s->kind[q] != K_ANON)
			expect = -EINVAL; /* MISSING on objects */
	}
	if (!any)
		expect = -EINVAL;
	if (f->uffd == NULL) {
		uint64_t feat = 0;
		struct mmrt_uffd_conf conf = { .ring_size = 64 };

		snprintf(f->last, sizeof(f->last), "uffd_create %s", s->name);
		f->uffd = mmrt_uffd_create(s->as, MMRT_UFFD_API, &feat, &conf);
		CHECK(f, f->uffd != NULL, "rte_errno %d", rte_errno);
		f->uffd_as = s->as;
	}
	snprintf(f->last, sizeof(f->last), "uffd_register %s [%#" PRIx64
		", +%#" PRIx64 ") MISSING", s->name, va_of(p), n * PG);
	rc = mmrt_uffd_register(f->uffd, va_of(p), n * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING, &ops);
	CHECK(f, rc == expect, "rc %d, expected %d", rc, expect);
	if (rc != 0)
		return;
	/* the regions are split at the ends: exactly the range's pages */
	for (q = p; q < p + n; q++)
		if (s->pg[q].mapped && s->uf[q] == UF_NONE)
			s->uf[q] = uf_of(s, q);
}

static void
op_uffd_fill(struct fz *f)
{
	struct fspace *s = f->s[0];
	uint64_t p = pick_page(f), q;
	bool zero = (u8(f) & 3) == 0;
	struct mm_model_page np = { 0 };
	uint8_t src[PG];
	int64_t res;
	int rc;

	if (s == NULL || f->uffd == NULL || f->uffd_as != s->as)
		return;
	for (q = 0; q < WIN_PAGES && s->uf[p] == UF_NONE; q++)
		p = (p + 1) % WIN_PAGES;
	if (s->uf[p] == UF_NONE)
		return;
	uffd_drain(f);
	if (!zero) {
		np.tag = new_tag(f);
		np.slot = (uint16_t)(u16(f) % SLOTS);
	}
	memset(src, 0, PG);
	mm_model_page_bytes(&np, 0, 0, PG, src);
	snprintf(f->last, sizeof(f->last), "uffd_%s %s %#" PRIx64 " (uf %u)",
		zero ? "zeropage" : "copy", s->name, va_of(p), s->uf[p]);
	if (zero) {
		struct mmrt_uffd_zeropage z = {
			.range = { .start = va_of(p), .len = PG },
		};

		rc = mmrt_uffd_zeropage(f->uffd, &z);
		res = z.zeropage;
	} else {
		struct mmrt_uffd_copy c = {
			.dst = va_of(p), .src = src, .len = PG,
		};

		rc = mmrt_uffd_copy(f->uffd, &c);
		res = c.copy;
	}
	if (s->uf[p] == UF_EMPTY)
		CHECK(f, rc == 0 && res == (int64_t)PG, "rc %d res %" PRId64
			", expected 0 (empty page)", rc, res);
	else if (s->uf[p] == UF_FILLED)
		CHECK(f, rc == -EEXIST && res == -EEXIST, "rc %d res %" PRId64
			", expected -EEXIST (filled page)", rc, res);
	else
		CHECK(f, (rc == 0 && res == (int64_t)PG) ||
			(rc == -EEXIST && res == -EEXIST), "rc %d res %" PRId64,
			rc, res);
	if (rc == 0) {
		s->pg[p].tag = np.tag;
		s->pg[p].slot = np.slot;
		/* a PROT_NONE leaf does not translate */
		s->pg[p].pres = s->pg[p].prot == MMRT_PROT_NONE ?
			MM_PRES_UNK : MM_PRES_YES;
	}
	s->uf[p] = UF_FILLED;
	if (s->pg[p].prot != MMRT_PROT_NONE)
		check_translate(f, s, p, MMRT_ACCESS_READ);
}

/* The consumer's view of page p must be the model's. */
static void
op_consumer(struct fz *f)
{
	uint8_t r = u8(f);
	struct fspace *s;
	struct mmrt_xlate x;
	uint64_t p, bad;
	uint32_t access;
	int rc, expect, ufx;

	if ((r & 7) == 0) {
		unsigned int i = (r >> 3) & 1;

		if (f->cons_on >= 0) {
			snprintf(f->last, sizeof(f->last), "consumer unbind");
			rc = mmrt_consumer_unbind(f->cons);
			CHECK(f, rc == 0, "rc %d", rc);
			f->cons_on = -1;
		} else if (f->s[i] != NULL) {
			snprintf(f->last, sizeof(f->last), "consumer bind %s",
				f->s[i]->name);
			rc = mmrt_consumer_bind(f->cons, f->s[i]->as);
			CHECK(f, rc > 0, "rc %d", rc);
			f->cons_on = (int)i;
			/* this thread is the owner: it acks inline */
			CHECK(f, mmrt_consumer_poll(f->cons) >= 0, "poll");
		}
		return;
	}
	if ((r & 7) == 1) {
		snprintf(f->last, sizeof(f->last), "consumer poll");
		rc = mmrt_consumer_poll(f->cons);
		CHECK(f, rc >= 0, "poll: %d", rc);
		return;
	}
	p = pick_page(f);
	access = (r & 8) ? MMRT_ACCESS_WRITE : MMRT_ACCESS_READ;
	snprintf(f->last, sizeof(f->last), "consumer translate %#" PRIx64
		" access %u", va_of(p), access);
	rc = mmrt_consumer_translate(f->cons, va_of(p) + (r >> 4), access, &x);
	if (f->cons_on < 0) {
		CHECK(f, rc == -ENOTCONN, "unbound: rc %d", rc);
		return;
	}
	s = f->s[f->cons_on];
	expect = mm_model_access_expect(s->pg, p, 1, access, &bad);
	ufx = expect == 0 ? uf_expect(s, p, p) : 0;
	if (expect != 0) {
		CHECK(f, rc == expect, "rc %d, expected %d", rc, expect);
		return;
	}
	if (ufx == -EAGAIN) {
		CHECK(f, rc == -EAGAIN, "userfault page: rc %d", rc);
		return;
	}
	if (rc == -EAGAIN) {
		/* a page request (copy-on-write) or, on a page a uffd may
		 * serve, a posted userfault: serve, retry */
		int n = mmrt_consumer_serve_faults(f->cons, 16);

		CHECK(f, n >= 0, "serve_faults: %d", n);
		rc = mmrt_consumer_translate(f->cons, va_of(p) + (r >> 4),
			access, &x);
		if (rc == -EAGAIN && ufx == 1)
			return;
		CHECK(f, rc == 0, "retry after serving: rc %d", rc);
	}
	CHECK(f, rc == 0, "rc %d", rc);
	x.addr = (uint8_t *)x.addr - (r >> 4);
	check_xlate(f, s, p, access, &x, "consumer");
	accessed(s, p, p);
	CHECK(f, !mmrt_consumer_fenced(f->cons), "consumer fenced");
}

/* Run the engine until its one operation completes. */
static enum rte_dma_status_code
dma_wait(struct fz *f)
{
	enum rte_dma_status_code st = RTE_DMA_STATUS_SUCCESSFUL;
	unsigned int i;
	uint16_t last;

	for (i = 0; i < 1000; i++) {
		int rc = swdma_run(f->dma);

		CHECK(f, rc >= 0, "swdma_run: %d", rc);
		if (swdma_completed_status(f->dma, 1, &last, &st) == 1)
			return st;
		swdma_serve_faults(f->dma, 16);
	}
	fail(f, "the engine did not complete its operation");
}

/* After a failed engine operation: page p may be present if the engine
 * could make the access to it. */
static void
dma_maybe(struct fspace *s, uint64_t p, uint32_t access)
{
	uint64_t bad;

	if (mm_model_access_expect(s->pg, p, 1, access, &bad) == 0)
		mm_model_maybe(s->pg, p);
}

static void
op_dma(struct fz *f)
{
	uint8_t r = u8(f);
	struct fspace *s;
	uint64_t ps = pick_page(f), pd = pick_page(f), bad;
	struct mm_model_page *cd, *cs, np;
	enum rte_dma_status_code st;
	bool ok, fill = (r & 2) != 0;
	int rc;

	if ((r & 0xf) == 0) {
		unsigned int i = (r >> 4) & 1;

		if (f->dma_on >= 0) {
			snprintf(f->last, sizeof(f->last), "swdma unbind");
			rc = swdma_unbind(f->dma);
			CHECK(f, rc == 0, "rc %d", rc);
			f->dma_on = -1;
		} else if (f->s[i] != NULL) {
			snprintf(f->last, sizeof(f->last), "swdma bind %s",
				f->s[i]->name);
			rc = swdma_bind(f->dma, f->s[i]->as);
			CHECK(f, rc > 0, "rc %d", rc);
			f->dma_on = (int)i;
			/* this thread runs the engine: it acks inline */
			CHECK(f, swdma_run(f->dma) >= 0, "swdma_run");
		}
		return;
	}
	if (f->dma_on < 0)
		return;
	s = f->s[f->dma_on];
	/* a userfault page parks the operation: not modelled here */
	if (s->uf[ps] != UF_NONE || s->uf[pd] != UF_NONE)
		return;
	cd = cont(f, s, pd);
	cs = cont(f, s, ps);
	if (cd == cs)
		return;
	ok = mm_model_access_expect(s->pg, pd, 1, MMRT_ACCESS_WRITE, &bad) ==
		0 && (fill || mm_model_access_expect(s->pg, ps, 1,
		MMRT_ACCESS_READ, &bad) == 0);
	snprintf(f->last, sizeof(f->last), "swdma %s %#" PRIx64 " -> %#"
		PRIx64, fill ? "fill" : "copy", va_of(ps), va_of(pd));
	if (fill)
		rc = swdma_fill(f->dma, 0, va_of(pd), PG,
			RTE_DMA_OP_FLAG_SUBMIT);
	else
		rc = swdma_copy(f->dma, va_of(ps), va_of(pd), PG,
			RTE_DMA_OP_FLAG_SUBMIT);
	CHECK(f, rc >= 0, "enqueue: %d", rc);
	st = dma_wait(f);
	if (!ok) {
		CHECK(f, st != RTE_DMA_STATUS_SUCCESSFUL,
			"operation on a bad page succeeded");
		/* the engine's walk may have faulted in the page it could
		 * access before it met the bad one (a copy from an unmapped
		 * source to an absent destination leaves the destination
		 * present, its contents unchanged), as a failed CPU access
		 * of several pages may */
		dma_maybe(s, pd, MMRT_ACCESS_WRITE);
		if (!fill)
			dma_maybe(s, ps, MMRT_ACCESS_READ);
		return;
	}
	CHECK(f, st == RTE_DMA_STATUS_SUCCESSFUL, "status %d", (int)st);
	memset(&np, 0, sizeof(np));
	if (!fill)
		np = *cs;
	cd->tag = np.tag;
	cd->slot = np.slot;
	accessed(s, pd, pd);
	if (!fill)
		accessed(s, ps, ps);
	check_translate(f, s, pd, MMRT_ACCESS_READ);
}

static void
heap_check(struct fz *f, const char *when)
{
	struct rte_malloc_socket_stats ms;
	uint64_t b = 0;
	unsigned int i;

	for (i = 0; i < RTE_MAX_NUMA_NODES; i++)
		if (rte_malloc_get_socket_stats((int)i, &ms) == 0)
			b += ms.heap_allocsz_bytes;
	if (!warmed)
		return; /* the warm-up */
	if (base_heap == 0) {
		base_heap = b;
		return;
	}
	CHECK(f, b == base_heap, "%s: rte_malloc heap %" PRIu64 " bytes in "
		"use, %" PRIu64 " at start", when, b, base_heap);
}

/*
 * The gather's per-lcore batch cache is given back before every
 * measurement (the baseline and each check): it holds one batch between
 * inputs, but not always the same one. A gather that takes the cached
 * batch for its page-table pages and then needs one for frames gets a
 * fresh one from rte_malloc; at the end the fresh one is cached and the
 * old one freed. The new element can carry 64 or 128 bytes of leading
 * padding that DPDK's allocator leaves unsplit when the free block it
 * was carved from was only that much bigger, and heap_allocsz_bytes
 * (total minus free) counts that padding: the heap "in use" then
 * differs from the baseline while every allocation of the input was
 * freed (the fuzzer's finding of 128 bytes after input 48,117). Without
 * a cached batch the heap's busy elements are exactly the baseline's.
 */
static uint64_t
used_frames(void)
{
	mm_gather_cache_drain();
	mmrt_mm_reclaim(true);
	mmrt_mem_cache_flush();
	return mmrt_mem_used();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char ini[64];
	char *args[] = { (char *)"fuzz_api", (char *)"--",
		(char *)"--pool-mb", (char *)"64", (char *)"--log-level",
		(char *)"1", (char *)"--config", ini, NULL };
	FILE *cf;
	int rc;

	RTE_SET_USED(argc);
	RTE_SET_USED(argv);
	verbose = getenv("FUZZ_API_VERBOSE") != NULL;
	profile = getenv("FUZZ_API_PROFILE") != NULL;
	if (profile)
		atexit(pr_print);
	/*
	 * At most one cached gather batch per lcore (and one batch per
	 * gather beyond its bundle): gathers of the 4 MiB window flush
	 * when they run out of room instead of growing, a path worth
	 * fuzzing. The cache is emptied before each heap measurement (see
	 * used_frames()).
	 */
	snprintf(ini, sizeof(ini), "/tmp/fuzz_api-%d.ini", (int)getpid());
	cf = fopen(ini, "w");
	if (cf == NULL)
		exit(1);
	fprintf(cf, "[mm]\ngather_batch_max = 1\n");
	fclose(cf);
	rc = mmrt_init(8, args);
	unlink(ini);
	if (rc < 0) {
		fprintf(stderr, "fuzz_api: mmrt_init failed\n");
		exit(1);
	}
	if (mmrt_thread_register() < 0) {
		fprintf(stderr, "fuzz_api: mmrt_thread_register failed\n");
		exit(1);
	}
	hostbuf = aligned_alloc(PG, (size_t)HOST_PAGES * PG);
	F = calloc(1, sizeof(*F));
	if (hostbuf == NULL || F == NULL)
		exit(1);
	memset(hostbuf, 0, (size_t)HOST_PAGES * PG);
	return 0;
}

static void
setup(struct fz *f, const uint8_t *data, size_t size)
{
	struct mmrt_consumer_conf cc = {
		.name = "fz-cons", .tlb_sets = 8, .tlb_ways = 2,
		.ring_size = 8,
	};
	/* the translation look-ahead on, as dma_mmrt runs the engine by
	 * default (its path without it: the engine suites) */
	struct swdma_conf dc = {
		.name = "fz-dma", .nb_desc = 32, .park_timeout_us = 100000,
		.lookahead = true,
	};
	unsigned int i;

	/*
	 * The host buffer back to zeros: the last teardown found it equal
	 * to the model (check_host()), so only the pages the model gives a
	 * tag hold anything (and only in the tag's slot).
	 */
	for (i = 0; i < HOST_PAGES; i++)
		if (f->hostpg[i].tag != 0)
			memset(hostbuf + (uint64_t)i * PG +
				f->hostpg[i].slot * 8u, 0, 8);
	/* the state, not the two I/O scratch buffers at the end */
	memset(f, 0, offsetof(struct fz, exp));
	f->in = data;
	f->len = size;
	f->cons_on = -1;
	f->dma_on = -1;
	new_space(f, 0);
	new_space(f, 1);
	snprintf(f->last, sizeof(f->last), "setup");
	f->obj = mmrt_object_create("fz-obj", (uint64_t)OBJ_PAGES * PG);
	CHECK(f, f->obj != NULL, "object_create: rte_errno %d", rte_errno);
	f->cons = mmrt_consumer_create(&cc);
	CHECK(f, f->cons != NULL, "consumer_create: rte_errno %d", rte_errno);
	f->dma = swdma_create(&dc);
	CHECK(f, f->dma != NULL, "swdma_create: rte_errno %d", rte_errno);
}

static void
teardown(struct fz *f)
{
	uint64_t used;

	snprintf(f->last, sizeof(f->last), "teardown");
	check_host(f);
	if (f->cons_on >= 0)
		CHECK(f, mmrt_consumer_unbind(f->cons) == 0, "unbind");
	f->cons_on = -1;
	CHECK(f, mmrt_consumer_destroy(f->cons) == 0, "consumer destroy");
	CHECK(f, swdma_destroy(f->dma) == 0, "swdma destroy");
	f->dma_on = -1;
	if (f->uffd != NULL)
		CHECK(f, mmrt_uffd_destroy(f->uffd) == 0, "uffd destroy");
	f->uffd = NULL;
	if (f->s[0] != NULL)
		del_space(f, 0);
	if (f->s[1] != NULL)
		del_space(f, 1);
	snprintf(f->last, sizeof(f->last), "teardown");
	CHECK(f, mmrt_object_destroy(f->obj) == 0, "object destroy");
	used = used_frames();
	CHECK(f, used == base_used, "%" PRIu64 " frames in use after teardown,"
		" %" PRIu64 " at start", used, base_used);
	heap_check(f, "after teardown");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *f = F;
	uint64_t t0;

	if (!warmed) {
		/* warm up what is created once and kept (a gather of more
		 * than one batch, the frame caches), then take the
		 * baselines (used_frames() empties the batch cache) */
		setup(f, NULL, 0);
		CHECK(f, mmrt_map(f->s[0]->as, WIN_BASE, WIN_PAGES * PG, RW,
			MMRT_MAP_POPULATE) == 0, "warm-up map");
		CHECK(f, mmrt_unmap(f->s[0]->as, WIN_BASE, WIN_PAGES * PG) ==
			0, "warm-up unmap");
		teardown(f);
		base_used = used_frames();
		warmed = true;
		heap_check(f, "baseline");
	}
	t0 = pr_now();
	setup(f, data, size);
	pr_add(PR_SETUP, t0);
	pr_inputs += profile;
	for (f->op = 0; f->op < MAX_OPS && f->pos < f->len; f->op++) {
		uint8_t k = u8(f);

		t0 = pr_now();
		switch (k % 20) {
		case 0: case 1: op_map(f); break;
		case 2: op_unmap(f); break;
		case 3: op_protect(f); break;
		case 4: op_advise(f); break;
		case 5: case 6: op_write(f); break;
		case 7: op_read(f); break;
		case 8: op_fault(f); break;
		case 9: op_translate(f); break;
		case 10: op_fork(f); break;
		case 11: op_create_destroy(f); break;
		case 12: op_map_shared(f, false); break;
		case 13: op_map_shared(f, true); break;
		case 14: op_object_io(f); break;
		case 15: op_host_poke(f); break;
		case 16: op_uffd_register(f); break;
		case 17: op_uffd_fill(f); break;
		case 18: op_consumer(f); break;
		default: op_dma(f); break;
		}
		pr_add(k % 20, t0);
		if (verbose)
			fprintf(stderr, "op %u: %s\n", f->op, f->last);
		t0 = pr_now();
		uffd_drain(f);
		CHECK(f, !mmrt_consumer_fenced(f->cons), "consumer fenced");
		pr_add(PR_CHECKS, t0);
	}
	t0 = pr_now();
	teardown(f);
	pr_add(PR_TEARDOWN, t0);
	return 0;
}
