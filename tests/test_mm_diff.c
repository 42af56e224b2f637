/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Randomized differential test of the address-space operations against a
 * reference model.
 *
 * Several address spaces share one small virtual window (32 MiB, crossing a
 * 1 GiB boundary so that page tables at several levels are involved), so
 * map/unmap/protect/advise/fork/merge/write/read/fault collide a lot. Every
 * step checks its return code against the model and the statistics of the
 * address space it touched; reads and translations check contents; every
 * POOL_EVERY operations the pool accounting is compared with the frames the
 * address spaces map, and every DRAIN_EVERY operations all address spaces
 * are destroyed and the pool must be back at its starting count.
 *
 * Content model: a page is all zeros except for one 8-byte slot holding a
 * 64-bit tag (tag 0: the page is all zeros). Writes install a new tag at a
 * new slot, or rewrite bytes the model already knows.
 *
 * The seed is printed; MMRT_TEST_SEED=<n> reproduces a run.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <rte_errno.h>

#include "common.h"
#include "mm_model.h"

#define WIN_PAGES 8192u                 /* 32 MiB */
#define WIN_BLOCKS (WIN_PAGES / MMRT_HUGE_NR)
#define WIN_BASE ((UINT64_C(1) << 30) - (UINT64_C(16) << 20))
#define MAX_AS 4
#define POOL_MB 192
#define CHECK_EVERY 1000
#define POOL_EVERY 2000
#define DRAIN_EVERY 10000
#define MAX_IO_PAGES 3
#define SLOTS (PG / 8)

/* The page model and its pure functions are in mm_model.h. */
#define PRES_NO MM_PRES_NO
#define PRES_UNK MM_PRES_UNK
#define PRES_YES MM_PRES_YES
#define mpage mm_model_page

/* One address space of the model. */
struct mas {
	struct mmrt_as *as;
	char name[MMRT_NAME_SIZE];
	uint64_t nmapped;
	struct mpage pg[WIN_PAGES];
};

/* Operation mix, in parts per 1000. */
struct mix {
	unsigned int map;
	unsigned int unmap;
	unsigned int protect;
	unsigned int advise;
	unsigned int write;
	unsigned int read;
	unsigned int fault;
	unsigned int translate;
	unsigned int merge;
	unsigned int fork;
	unsigned int destroy;
	unsigned int huge_pct; /* share of maps made with MMRT_MAP_HUGE */
};

struct diff {
	uint64_t seed;
	uint64_t rng;
	uint64_t op;
	const char *variant;
	char last[192];
	unsigned int nas;
	struct mas *m[MAX_AS];
	unsigned int name_seq;
	uint64_t baseline;
	struct mix mix;
	uint8_t *exp;   /* expected bytes */
	uint8_t *got;   /* bytes read back */
	uint64_t nops[16];
};

/* Fails the test with the seed, the operation number and what it was. */
#define DCHECK(d, cond, fmt, ...) \
	cr_assert((cond), "[%s seed=%" PRIu64 " op=%" PRIu64 " %s] " fmt, \
		(d)->variant, (d)->seed, (d)->op, (d)->last, ##__VA_ARGS__)

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline uint64_t
rnd(struct diff *d)
{
	uint64_t x = d->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	d->rng = x;
	return x * UINT64_C(2685821657736338717);
}

static inline uint64_t
rnd_below(struct diff *d, uint64_t n)
{
	return n == 0 ? 0 : rnd(d) % n;
}

static uint64_t
base_seed(void)
{
	const char *s = getenv("MMRT_TEST_SEED");
	uint64_t x;

	if (s != NULL && *s != '\0')
		return strtoull(s, NULL, 0);
	x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return splitmix64(&x);
}

static inline uint64_t
va_of(uint64_t p)
{
	return WIN_BASE + p * PG;
}

/* Expected byte contents of [va, va + len) (inside the window). */
static void
model_bytes(const struct mas *m, uint64_t va, size_t len, uint8_t *buf)
{
	uint64_t end = va + len;
	uint64_t p = (va - WIN_BASE) / PG;

	memset(buf, 0, len);
	for (; va_of(p) < end; p++)
		mm_model_page_bytes(&m->pg[p], va_of(p), va, end, buf);
}

/* A fault in a huge region may fill the whole 2 MiB block. */
static void
model_touch(struct mas *m, uint64_t p)
{
	mm_model_touch(m->pg, p);
}

/* Page p may have been faulted in (by a failing multi-page access). */
static void
model_maybe(struct mas *m, uint64_t p)
{
	mm_model_maybe(m->pg, p);
}

static void
check_stats(struct diff *d, struct mas *m)
{
	struct mmrt_as_stats st;
	int rc;

	rc = mmrt_as_stats(m->as, &st);
	DCHECK(d, rc == 0, "mmrt_as_stats(%s) = %d", m->name, rc);
	DCHECK(d, st.mapped_bytes == m->nmapped * PG,
		"%s: mapped_bytes %" PRIu64 ", model %" PRIu64, m->name,
		st.mapped_bytes, m->nmapped * PG);
	DCHECK(d, st.rss_pages <= m->nmapped,
		"%s: rss_pages %" PRIu64 " > mapped pages %" PRIu64, m->name,
		st.rss_pages, m->nmapped);
}

static struct mas *
new_mas(struct diff *d)
{
	struct mas *m = calloc(1, sizeof(*m));

	cr_assert_not_null(m);
	snprintf(m->name, sizeof(m->name), "diff-%s-%u", d->variant,
		d->name_seq++);
	return m;
}

static void
add_as(struct diff *d)
{
	struct mas *m = new_mas(d);

	snprintf(d->last, sizeof(d->last), "create %s", m->name);
	m->as = mmrt_as_create(m->name);
	DCHECK(d, m->as != NULL, "mmrt_as_create: rte_errno %d", rte_errno);
	d->m[d->nas++] = m;
	check_stats(d, m);
}

static void
del_as(struct diff *d, unsigned int i)
{
	struct mas *m = d->m[i];
	int rc;

	snprintf(d->last, sizeof(d->last), "destroy %s", m->name);
	rc = mmrt_as_destroy(m->as);
	DCHECK(d, rc == 0, "mmrt_as_destroy = %d", rc);
	free(m);
	d->m[i] = d->m[--d->nas];
	d->m[d->nas] = NULL;
}

static struct mas *
pick_as(struct diff *d)
{
	return d->m[rnd_below(d, d->nas)];
}

/* A page, mostly a mapped one (so that operations hit regions). */
static uint64_t
pick_page(struct diff *d, struct mas *m)
{
	uint64_t p = rnd_below(d, WIN_PAGES);
	unsigned int i;

	if (rnd_below(d, 10) < 8)
		for (i = 0; i < 8 && !m->pg[p].mapped; i++)
			p = rnd_below(d, WIN_PAGES);
	return p;
}

/* A range of pages [*p, *p + *n) inside the window. */
static void
pick_range(struct diff *d, struct mas *m, bool huge, uint64_t *p, uint64_t *n)
{
	uint64_t r = rnd_below(d, 100);
	uint64_t b, nb;

	if (huge || r < 12) {
		b = rnd_below(d, WIN_BLOCKS);
		nb = 1 + rnd_below(d, 3);
		if (b + nb > WIN_BLOCKS)
			nb = WIN_BLOCKS - b;
		*p = b * MMRT_HUGE_NR;
		*n = nb * MMRT_HUGE_NR;
		return;
	}
	*p = pick_page(d, m);
	if (r < 45)
		*n = 1;
	else if (r < 80)
		*n = 2 + rnd_below(d, 15);
	else
		*n = 17 + rnd_below(d, 700);
	/* sometimes start a little before the page picked */
	if (rnd_below(d, 4) == 0) {
		uint64_t back = rnd_below(d, *n);

		*p = *p > back ? *p - back : 0;
	}
	if (*p + *n > WIN_PAGES)
		*n = WIN_PAGES - *p;
}

static uint32_t
pick_prot(struct diff *d)
{
	uint64_t r = rnd_below(d, 100);

	if (r < 65)
		return MMRT_PROT_READ | MMRT_PROT_WRITE;
	if (r < 88)
		return MMRT_PROT_READ;
	return MMRT_PROT_NONE;
}

static uint64_t
new_tag(struct diff *d)
{
	uint64_t t;

	do {
		t = rnd(d);
	} while (t == 0);
	return t;
}

static void
op_map(struct diff *d)
{
	struct mas *m = pick_as(d);
	bool huge = rnd_below(d, 100) < d->mix.huge_pct;
	uint64_t p, n, q;
	uint32_t prot = pick_prot(d);
	uint32_t flags = huge ? MMRT_MAP_HUGE : 0;
	int expect = 0, rc;

	pick_range(d, m, huge, &p, &n);
	if (rnd_below(d, 10) == 0)
		flags |= MMRT_MAP_POPULATE;
	for (q = p; q < p + n; q++)
		if (m->pg[q].mapped) {
			expect = -EEXIST;
			break;
		}
	snprintf(d->last, sizeof(d->last),
		"map %s [%#" PRIx64 ", +%#" PRIx64 ") prot %u flags %#x",
		m->name, va_of(p), n * PG, prot, flags);
	rc = mmrt_map(m->as, va_of(p), n * PG, prot, flags);
	DCHECK(d, rc == expect, "rc %d, expected %d", rc, expect);
	if (rc == 0) {
		for (q = p; q < p + n; q++) {
			struct mpage *mp = &m->pg[q];

			mp->mapped = 1;
			mp->prot = prot;
			mp->huge = huge;
			mp->tag = 0;
			mp->slot = 0;
			if (!(flags & MMRT_MAP_POPULATE))
				mp->pres = PRES_NO;
			else
				mp->pres = prot == MMRT_PROT_NONE ?
					PRES_UNK : PRES_YES;
		}
		m->nmapped += n;
	}
	check_stats(d, m);
}

static void
op_unmap(struct diff *d)
{
	struct mas *m = pick_as(d);
	uint64_t p, n, q;
	int rc;

	pick_range(d, m, false, &p, &n);
	snprintf(d->last, sizeof(d->last),
		"unmap %s [%#" PRIx64 ", +%#" PRIx64 ")", m->name, va_of(p),
		n * PG);
	rc = mmrt_unmap(m->as, va_of(p), n * PG);
	DCHECK(d, rc == 0, "rc %d", rc);
	for (q = p; q < p + n; q++) {
		if (m->pg[q].mapped)
			m->nmapped--;
		memset(&m->pg[q], 0, sizeof(m->pg[q]));
	}
	check_stats(d, m);
}

static bool
has_hole(const struct mas *m, uint64_t p, uint64_t n)
{
	return mm_model_has_hole(m->pg, p, n);
}

static void
op_protect(struct diff *d)
{
	struct mas *m = pick_as(d);
	uint64_t p, n, q;
	uint32_t prot = pick_prot(d);
	int expect, rc;

	pick_range(d, m, false, &p, &n);
	expect = has_hole(m, p, n) ? -ENOMEM : 0;
	snprintf(d->last, sizeof(d->last),
		"protect %s [%#" PRIx64 ", +%#" PRIx64 ") prot %u", m->name,
		va_of(p), n * PG, prot);
	rc = mmrt_protect(m->as, va_of(p), n * PG, prot);
	DCHECK(d, rc == expect, "rc %d, expected %d", rc, expect);
	if (rc == 0) {
		for (q = p; q < p + n; q++) {
			struct mpage *mp = &m->pg[q];

			/* a downgrade may unmap present PTEs */
			if ((mp->prot & ~prot) != 0 && mp->pres == PRES_YES)
				mp->pres = PRES_UNK;
			mp->prot = prot;
		}
	}
	check_stats(d, m);
}

static void
op_advise(struct diff *d)
{
	struct mas *m = pick_as(d);
	uint64_t p, n, q;
	int expect, rc;

	pick_range(d, m, false, &p, &n);
	expect = has_hole(m, p, n) ? -ENOMEM : 0;
	snprintf(d->last, sizeof(d->last),
		"advise %s [%#" PRIx64 ", +%#" PRIx64 ") DONTNEED", m->name,
		va_of(p), n * PG);
	rc = mmrt_advise(m->as, va_of(p), n * PG, MMRT_ADV_DONTNEED);
	DCHECK(d, rc == expect, "rc %d, expected %d", rc, expect);
	if (rc == 0) {
		for (q = p; q < p + n; q++) {
			m->pg[q].tag = 0;
			m->pg[q].slot = 0;
			m->pg[q].pres = PRES_NO;
		}
	}
	check_stats(d, m);
}

/*
 * Expected result of an access of [p, p + n) pages: the first page that
 * is unmapped (-EFAULT) or forbids the access (-EACCES) decides; *bad is
 * that page.
 */
static int
access_expect(const struct mas *m, uint64_t p, uint64_t n, uint32_t access,
	uint64_t *bad)
{
	return mm_model_access_expect(m->pg, p, n, access, bad);
}

/* Random byte range covering 1..MAX_IO_PAGES pages from page p. */
static void
pick_io(struct diff *d, uint64_t p, uint64_t *va, size_t *len)
{
	uint64_t n = 1 + rnd_below(d, MAX_IO_PAGES);
	uint64_t start, end;

	if (p + n > WIN_PAGES)
		n = WIN_PAGES - p;
	if (rnd_below(d, 2) == 0) {
		/* whole pages */
		*va = va_of(p);
		*len = n * PG;
		return;
	}
	start = va_of(p) + rnd_below(d, PG);
	end = va_of(p + n - 1) + 1 + rnd_below(d, PG);
	if (end <= start)
		end = start + 1;
	*va = start;
	*len = end - start;
}

static void
op_write(struct diff *d)
{
	struct mas *m = pick_as(d);
	uint64_t p = pick_page(d, m);
	uint64_t va, end, p0, p1, q, bad;
	size_t len;
	int expect, rc;

	pick_io(d, p, &va, &len);
	end = va + len;
	p0 = (va - WIN_BASE) / PG;
	p1 = (end - 1 - WIN_BASE) / PG;
	expect = access_expect(m, p0, p1 - p0 + 1, MMRT_ACCESS_WRITE, &bad);
	if (expect != 0) {
		/* keep error cases to one page: no partial writes */
		va = va_of(bad) + rnd_below(d, PG);
		len = 1 + rnd_below(d, va_of(bad) + PG - va);
		end = va + len;
		p0 = p1 = bad;
	}
	if (expect == 0) {
		/* new tags where the model can still describe the page */
		for (q = p0; q <= p1; q++) {
			struct mpage *mp = &m->pg[q];
			uint64_t lo = va > va_of(q) ? va - va_of(q) : 0;
			uint64_t hi = end < va_of(q) + PG ? end - va_of(q) : PG;
			uint64_t s0 = (lo + 7) / 8, s1 = hi / 8;

			if (s1 <= s0)
				continue;
			if (mp->tag != 0 && (mp->slot < s0 || mp->slot >= s1))
				continue;
			if (rnd_below(d, 8) == 0) {
				mp->tag = 0;
				mp->slot = 0;
				continue;
			}
			mp->tag = new_tag(d);
			mp->slot = (uint16_t)(s0 + rnd_below(d, s1 - s0));
		}
	}
	model_bytes(m, va, len, d->exp);
	snprintf(d->last, sizeof(d->last),
		"write %s [%#" PRIx64 ", +%#zx)", m->name, va, len);
	rc = mmrt_write(m->as, va, d->exp, len);
	DCHECK(d, rc == expect, "rc %d, expected %d", rc, expect);
	if (rc == 0) {
		for (q = p0; q <= p1; q++)
			model_touch(m, q);
		/* right after a write the page is present and writable */
		q = p0 + rnd_below(d, p1 - p0 + 1);
		{
			struct mmrt_xlate x;

			rc = mmrt_translate(m->as, va_of(q), MMRT_ACCESS_WRITE,
				&x);
			DCHECK(d, rc == 0,
				"translate(WRITE) of %#" PRIx64
				" after write: %d", va_of(q), rc);
			DCHECK(d, x.prot == (MMRT_PROT_READ | MMRT_PROT_WRITE),
				"prot %u after write", x.prot);
		}
	}
}

static void
op_read(struct diff *d)
{
	struct mas *m = pick_as(d);
	uint64_t p = pick_page(d, m);
	uint64_t va, p0, p1, q, bad;
	size_t len;
	int expect, rc;

	if (rnd_below(d, 200) == 0) {
		/* a whole 2 MiB block */
		p &= ~(uint64_t)(MMRT_HUGE_NR - 1);
		va = va_of(p);
		len = HPG;
	} else {
		pick_io(d, p, &va, &len);
	}
	p0 = (va - WIN_BASE) / PG;
	p1 = (va + len - 1 - WIN_BASE) / PG;
	expect = access_expect(m, p0, p1 - p0 + 1, MMRT_ACCESS_READ, &bad);
	snprintf(d->last, sizeof(d->last),
		"read %s [%#" PRIx64 ", +%#zx)", m->name, va, len);
	rc = mmrt_read(m->as, va, d->got, len);
	DCHECK(d, rc == expect, "rc %d, expected %d", rc, expect);
	if (rc != 0) {
		/* pages before the failing one may have been faulted in */
		for (q = p0; q < bad; q++)
			model_maybe(m, q);
		return;
	}
	model_bytes(m, va, len, d->exp);
	if (memcmp(d->exp, d->got, len) != 0) {
		size_t i;

		for (i = 0; i < len && d->exp[i] == d->got[i]; i++)
			;
		DCHECK(d, false, "contents differ at %#" PRIx64
			": got %#x, expected %#x", va + i, d->got[i],
			d->exp[i]);
	}
	for (q = p0; q <= p1; q++)
		model_touch(m, q);
}

static void
op_fault(struct diff *d)
{
	struct mas *m = pick_as(d);
	uint64_t p = pick_page(d, m), bad;
	uint32_t access;
	struct mmrt_xlate x;
	int expect, rc;

	switch (rnd_below(d, 3)) {
	case 0:
		access = MMRT_ACCESS_READ;
		break;
	case 1:
		access = MMRT_ACCESS_WRITE;
		break;
	default:
		access = MMRT_ACCESS_READ | MMRT_ACCESS_WRITE;
		break;
	}
	expect = access_expect(m, p, 1, access, &bad);
	snprintf(d->last, sizeof(d->last), "fault %s %#" PRIx64 " access %u",
		m->name, va_of(p), access);
	rc = mmrt_fault(m->as, va_of(p) + rnd_below(d, PG), access);
	DCHECK(d, rc == expect, "rc %d, expected %d", rc, expect);
	if (rc != 0)
		return;
	model_touch(m, p);
	rc = mmrt_translate(m->as, va_of(p), access, &x);
	DCHECK(d, rc == 0, "translate after fault: %d", rc);
	DCHECK(d, (x.prot & MMRT_PROT_WRITE) ||
		!(access & MMRT_ACCESS_WRITE), "prot %u after write fault",
		x.prot);
}

/* Check one translation against the model, and the frame's contents. */
static void
check_translate(struct diff *d, struct mas *m, uint64_t p, uint32_t access)
{
	const struct mpage *mp = &m->pg[p];
	uint32_t need = (access & MMRT_ACCESS_WRITE) ?
		MMRT_PROT_WRITE : MMRT_PROT_READ;
	struct mmrt_xlate x;
	uint64_t va = va_of(p);
	int rc;

	memset(&x, 0, sizeof(x));
	rc = mmrt_translate(m->as, va, access, &x);
	if (!mp->mapped) {
		DCHECK(d, rc == -EFAULT, "translate of unmapped page: %d", rc);
		return;
	}
	if (mp->pres == PRES_NO) {
		DCHECK(d, rc == -EFAULT, "translate of absent page: %d", rc);
		return;
	}
	if (rc == -EFAULT) {
		DCHECK(d, mp->pres != PRES_YES,
			"translate of a present page: -EFAULT");
		return;
	}
	if (rc == -EACCES) {
		DCHECK(d, need == MMRT_PROT_WRITE ||
			mp->prot == MMRT_PROT_NONE,
			"translate(READ) of a page with prot %u: -EACCES",
			mp->prot);
		return;
	}
	DCHECK(d, rc == 0, "translate: %d", rc);
	DCHECK(d, (x.prot & need) != 0, "granted prot %u lacks access %u",
		x.prot, access);
	DCHECK(d, (x.prot & ~(uint32_t)mp->prot) == 0,
		"PTE prot %u exceeds region prot %u", x.prot, mp->prot);
	DCHECK(d, mp->prot != MMRT_PROT_NONE,
		"translate succeeded on a PROT_NONE page");
	if (x.huge) {
		DCHECK(d, mp->huge, "huge leaf in a 4 KiB region");
		DCHECK(d, x.size == HPG - (va & (HPG - 1)),
			"huge leaf size %#" PRIx64, x.size);
	} else {
		DCHECK(d, x.size == PG, "4 KiB leaf size %#" PRIx64, x.size);
	}
	DCHECK(d, mmrt_frame_addr(x.pfn) == x.addr,
		"pfn %u is at %p, xlate.addr %p", x.pfn,
		mmrt_frame_addr(x.pfn), x.addr);
	model_bytes(m, va, PG, d->exp);
	DCHECK(d, memcmp(d->exp, x.addr, PG) == 0,
		"frame %u contents differ from the model", x.pfn);
}

static void
op_translate(struct diff *d)
{
	struct mas *m = pick_as(d);
	uint64_t p = pick_page(d, m);
	uint32_t access = rnd_below(d, 3) == 0 ?
		MMRT_ACCESS_WRITE : MMRT_ACCESS_READ;

	snprintf(d->last, sizeof(d->last),
		"translate %s %#" PRIx64 " access %u", m->name, va_of(p),
		access);
	check_translate(d, m, p, access);
}

/* Write the model's contents of page p (already updated) in full. */
static void
write_page(struct diff *d, struct mas *m, uint64_t p)
{
	int rc;

	model_bytes(m, va_of(p), PG, d->exp);
	rc = mmrt_write(m->as, va_of(p), d->exp, PG);
	DCHECK(d, rc == 0, "write of page %#" PRIx64 " in %s: %d", va_of(p),
		m->name, rc);
	model_touch(m, p);
}

static bool
mergeable(const struct mpage *mp)
{
	return mp->mapped && !mp->huge &&
		mp->prot == (MMRT_PROT_READ | MMRT_PROT_WRITE);
}

static bool
find_page(struct diff *d, struct mas *m, bool (*ok)(const struct mpage *),
	uint64_t *p)
{
	unsigned int i;

	for (i = 0; i < 64; i++) {
		*p = rnd_below(d, WIN_PAGES);
		if (ok(&m->pg[*p]))
			return true;
	}
	return false;
}

static bool
is_unmapped(const struct mpage *mp)
{
	return !mp->mapped;
}

static bool
is_absent(const struct mpage *mp)
{
	return mergeable(mp) && mp->pres == PRES_NO;
}

static void
op_merge(struct diff *d)
{
	struct mas *ma = pick_as(d), *mb = pick_as(d);
	uint64_t pa, pb;
	struct mmrt_xlate xa, xb;
	uint64_t kind = rnd_below(d, 10);
	int expect, rc;

	if (!find_page(d, ma, mergeable, &pa))
		return;
	/* a: present, with a non-zero tag */
	if (ma->pg[pa].tag == 0 || ma->pg[pa].pres != PRES_YES) {
		snprintf(d->last, sizeof(d->last), "merge-prep %s %#" PRIx64,
			ma->name, va_of(pa));
		ma->pg[pa].tag = new_tag(d);
		ma->pg[pa].slot = (uint16_t)rnd_below(d, SLOTS);
		write_page(d, ma, pa);
	}
	if (kind == 0) {
		/* b unmapped: -EFAULT */
		if (!find_page(d, mb, is_unmapped, &pb))
			return;
		expect = -EFAULT;
	} else if (kind == 1) {
		/* b mapped but not present: -ENOENT */
		if (!find_page(d, mb, is_absent, &pb))
			return;
		expect = -ENOENT;
	} else {
		if (!find_page(d, mb, mergeable, &pb))
			return;
		if (ma == mb && pa == pb)
			return;
		if (kind < 6) {
			/* same contents */
			if (mb->pg[pb].tag != ma->pg[pa].tag ||
					mb->pg[pb].slot != ma->pg[pa].slot ||
					mb->pg[pb].pres != PRES_YES) {
				snprintf(d->last, sizeof(d->last),
					"merge-prep %s %#" PRIx64, mb->name,
					va_of(pb));
				mb->pg[pb].tag = ma->pg[pa].tag;
				mb->pg[pb].slot = ma->pg[pa].slot;
				write_page(d, mb, pb);
			}
			expect = 0;
		} else {
			/* different contents */
			if (mb->pg[pb].pres != PRES_YES ||
					(mb->pg[pb].tag == ma->pg[pa].tag &&
					mb->pg[pb].slot == ma->pg[pa].slot)) {
				snprintf(d->last, sizeof(d->last),
					"merge-prep %s %#" PRIx64, mb->name,
					va_of(pb));
				mb->pg[pb].tag = new_tag(d);
				mb->pg[pb].slot = (uint16_t)rnd_below(d, SLOTS);
				write_page(d, mb, pb);
			}
			expect = -EAGAIN;
		}
		rc = mmrt_translate(ma->as, va_of(pa), MMRT_ACCESS_READ, &xa);
		DCHECK(d, rc == 0, "translate a: %d", rc);
		rc = mmrt_translate(mb->as, va_of(pb), MMRT_ACCESS_READ, &xb);
		DCHECK(d, rc == 0, "translate b: %d", rc);
		if (xa.pfn == xb.pfn) {
			DCHECK(d, expect == 0,
				"different contents share frame %u", xa.pfn);
			expect = 1;
		}
	}
	snprintf(d->last, sizeof(d->last),
		"merge %s %#" PRIx64 " with %s %#" PRIx64, ma->name, va_of(pa),
		mb->name, va_of(pb));
	rc = mmrt_merge(ma->as, va_of(pa), mb->as, va_of(pb));
	DCHECK(d, rc == expect, "rc %d, expected %d", rc, expect);
	if (rc == 0 || rc == 1) {
		rc = mmrt_translate(ma->as, va_of(pa), MMRT_ACCESS_READ, &xa);
		DCHECK(d, rc == 0, "translate a after merge: %d", rc);
		rc = mmrt_translate(mb->as, va_of(pb), MMRT_ACCESS_READ, &xb);
		DCHECK(d, rc == 0, "translate b after merge: %d", rc);
		DCHECK(d, xa.pfn == xb.pfn, "merged pages map frames %u, %u",
			xa.pfn, xb.pfn);
		DCHECK(d, xa.prot == MMRT_PROT_READ &&
			xb.prot == MMRT_PROT_READ,
			"merged frame not write-protected (%u, %u)", xa.prot,
			xb.prot);
		rc = mmrt_translate(mb->as, va_of(pb), MMRT_ACCESS_WRITE, &xb);
		DCHECK(d, rc == -EACCES, "translate(WRITE) of merged: %d", rc);
	}
	check_translate(d, ma, pa, MMRT_ACCESS_READ);
	if (expect != -EFAULT)
		check_translate(d, mb, pb, MMRT_ACCESS_READ);
}

static void
op_fork(struct diff *d)
{
	struct mas *pm, *cm;
	unsigned int i;

	if (d->nas >= MAX_AS)
		return;
	pm = pick_as(d);
	cm = new_mas(d);
	snprintf(d->last, sizeof(d->last), "fork %s -> %s", pm->name,
		cm->name);
	cm->as = mmrt_as_fork(pm->as, cm->name);
	DCHECK(d, cm->as != NULL, "mmrt_as_fork: rte_errno %d", rte_errno);
	memcpy(cm->pg, pm->pg, sizeof(cm->pg));
	cm->nmapped = pm->nmapped;
	for (i = 0; i < WIN_PAGES; i++)
		if (cm->pg[i].pres == PRES_YES)
			cm->pg[i].pres = PRES_UNK;
	d->m[d->nas++] = cm;
	check_stats(d, pm);
	check_stats(d, cm);
	/* a few pages read the same in both */
	for (i = 0; i < 8; i++) {
		uint64_t p = pick_page(d, pm);

		check_translate(d, pm, p, MMRT_ACCESS_READ);
		check_translate(d, cm, p, MMRT_ACCESS_READ);
	}
}

static void
op_destroy(struct diff *d)
{
	if (d->nas > 1)
		del_as(d, rnd_below(d, d->nas));
	else if (d->nas < MAX_AS)
		add_as(d);
}

/*
 * Pool accounting against what the address spaces map: every frame visible
 * through a translation is allocated, and used frames are those frames
 * (huge frames count 512), plus page tables, plus at most what PROT_NONE
 * pages may hide (their PTEs keep frames but translate to nothing).
 */
static void
check_pool(struct diff *d)
{
	struct mmrt_mem_stats ms;
	struct mmrt_as_stats st;
	uint64_t vis = 0, pt = 0, hidden = 0, used, p;
	uint8_t *seen;
	unsigned int i;
	int rc;

	snprintf(d->last, sizeof(d->last), "pool check");
	DCHECK(d, mmrt_mem_stats(&ms) == 0, "mmrt_mem_stats");
	seen = calloc(ms.frames_total / 8 + 1, 1);
	cr_assert_not_null(seen);
	for (i = 0; i < d->nas; i++) {
		struct mas *m = d->m[i];
		uint64_t none_block = UINT64_MAX;

		DCHECK(d, mmrt_as_stats(m->as, &st) == 0, "stats");
		pt += st.pt_pages;
		DCHECK(d, st.rss_pages <= m->nmapped,
			"%s: rss %" PRIu64 " > mapped %" PRIu64, m->name,
			st.rss_pages, m->nmapped);
		for (p = 0; p < WIN_PAGES; p++) {
			const struct mpage *mp = &m->pg[p];
			struct mmrt_xlate x;
			struct mmrt_frame *f;
			uint32_t owner, weight = 1;

			if (!mp->mapped)
				continue;
			if (mp->prot == MMRT_PROT_NONE) {
				if (!mp->huge)
					hidden++;
				else if (p / MMRT_HUGE_NR != none_block) {
					none_block = p / MMRT_HUGE_NR;
					hidden += MMRT_HUGE_NR;
				}
				continue;
			}
			rc = mmrt_translate(m->as, va_of(p), MMRT_ACCESS_READ,
				&x);
			if (rc == -EFAULT)
				continue;
			DCHECK(d, rc == 0, "%s: translate %#" PRIx64 ": %d",
				m->name, va_of(p), rc);
			if (x.pfn == mmrt_zero_pfn())
				continue;
			f = mmrt_frame_meta(x.pfn);
			DCHECK(d, f != NULL, "bad pfn %u", x.pfn);
			owner = x.pfn;
			if (f->flags & MMRT_FRAME_TAIL)
				owner = x.pfn & ~(MMRT_HUGE_NR - 1);
			f = mmrt_frame_meta(owner);
			if (f->flags & MMRT_FRAME_HEAD)
				weight = MMRT_HUGE_NR;
			DCHECK(d, !(f->flags & MMRT_FRAME_FREE) &&
				f->refcount > 0, "%s %#" PRIx64 " maps frame %u"
				" which is free (flags %#x refcount %u)",
				m->name, va_of(p), owner, f->flags,
				f->refcount);
			if (seen[owner / 8] & (1u << (owner % 8)))
				continue;
			seen[owner / 8] |= 1u << (owner % 8);
			vis += weight;
		}
	}
	free(seen);
	used = mmrt_test_used();
	DCHECK(d, used >= d->baseline, "used %" PRIu64 " < baseline %"
		PRIu64, used, d->baseline);
	used -= d->baseline;
	DCHECK(d, used >= vis + pt, "%" PRIu64 " frames used, but the "
		"address spaces map %" PRIu64 " and have %" PRIu64
		" page-table pages", used, vis, pt);
	DCHECK(d, used <= vis + pt + hidden, "%" PRIu64 " frames used, but "
		"the address spaces map %" PRIu64 ", have %" PRIu64
		" page-table pages and at most %" PRIu64 " behind PROT_NONE",
		used, vis, pt, hidden);
}

/* Destroy everything: the pool must be back where it started. */
static void
drain(struct diff *d)
{
	uint64_t used;

	while (d->nas > 0)
		del_as(d, d->nas - 1);
	used = mmrt_test_used();
	snprintf(d->last, sizeof(d->last), "drain");
	DCHECK(d, used == d->baseline, "%" PRIu64 " frames used after "
		"destroying every address space, %" PRIu64 " at start",
		used, d->baseline);
}

/* Sample pages of every address space against the model. */
static void
sweep(struct diff *d)
{
	unsigned int i, k;

	for (i = 0; i < d->nas; i++)
		for (k = 0; k < 16; k++) {
			uint64_t p = pick_page(d, d->m[i]);

			snprintf(d->last, sizeof(d->last),
				"sweep %s %#" PRIx64, d->m[i]->name, va_of(p));
			check_translate(d, d->m[i], p, MMRT_ACCESS_READ);
		}
}

enum {
	OP_MAP, OP_UNMAP, OP_PROTECT, OP_ADVISE, OP_WRITE, OP_READ, OP_FAULT,
	OP_TRANSLATE, OP_MERGE, OP_FORK, OP_DESTROY, OP_NUM
};

static const char *const op_names[OP_NUM] = {
	"map", "unmap", "protect", "advise", "write", "read", "fault",
	"translate", "merge", "fork", "destroy",
};

static void
run(const char *variant, unsigned int salt, const struct mix *mix,
	uint64_t nops)
{
	struct diff *d = calloc(1, sizeof(*d));
	const unsigned int *w = &mix->map;
	unsigned int total = 0, i, k;
	uint64_t x;
	char line[512];
	int len;

	cr_assert_not_null(d);
	d->variant = variant;
	d->mix = *mix;
	d->seed = base_seed();
	x = d->seed ^ (UINT64_C(0x9e3779b97f4a7c15) * salt);
	d->rng = splitmix64(&x) | 1;
	d->exp = malloc(HPG);
	d->got = malloc(HPG);
	cr_assert(d->exp != NULL && d->got != NULL);
	for (i = 0; i < OP_NUM; i++)
		total += w[i];
	cr_log_info("mm_diff %s: seed %" PRIu64
		" (set MMRT_TEST_SEED=%" PRIu64 " to reproduce), %" PRIu64
		" operations", variant, d->seed, d->seed, nops);
	fprintf(stderr, "mm_diff %s: seed %" PRIu64 "\n", variant, d->seed);

	mmrt_test_up(POOL_MB);
	d->baseline = mmrt_test_used();
	add_as(d);
	for (d->op = 1; d->op <= nops; d->op++) {
		unsigned int r = (unsigned int)rnd_below(d, total);

		for (k = 0; k < OP_NUM && r >= w[k]; k++)
			r -= w[k];
		d->nops[k]++;
		switch (k) {
		case OP_MAP:
			op_map(d);
			break;
		case OP_UNMAP:
			op_unmap(d);
			break;
		case OP_PROTECT:
			op_protect(d);
			break;
		case OP_ADVISE:
			op_advise(d);
			break;
		case OP_WRITE:
			op_write(d);
			break;
		case OP_READ:
			op_read(d);
			break;
		case OP_FAULT:
			op_fault(d);
			break;
		case OP_TRANSLATE:
			op_translate(d);
			break;
		case OP_MERGE:
			op_merge(d);
			break;
		case OP_FORK:
			op_fork(d);
			break;
		default:
			op_destroy(d);
			break;
		}
		if (d->op % CHECK_EVERY == 0)
			sweep(d);
		if (d->op % POOL_EVERY == 0)
			check_pool(d);
		if (d->op % DRAIN_EVERY == 0) {
			drain(d);
			add_as(d);
		}
	}
	drain(d);
	len = 0;
	for (k = 0; k < OP_NUM; k++)
		len += snprintf(line + len, sizeof(line) - len, " %s=%" PRIu64,
			op_names[k], d->nops[k]);
	cr_log_info("mm_diff %s: done:%s", variant, line);
	free(d->exp);
	free(d->got);
	free(d);
	mmrt_test_down();
}

Test(mm_diff, small_pages, .timeout = 900)
{
	static const struct mix mix = {
		.map = 150, .unmap = 100, .protect = 100, .advise = 70,
		.write = 200, .read = 130, .fault = 60, .translate = 120,
		.merge = 40, .fork = 20, .destroy = 10, .huge_pct = 0,
	};

	run("small", 1, &mix, 100000);
}

Test(mm_diff, huge_mixed, .timeout = 900)
{
	static const struct mix mix = {
		.map = 150, .unmap = 100, .protect = 100, .advise = 80,
		.write = 200, .read = 120, .fault = 60, .translate = 120,
		.merge = 30, .fork = 20, .destroy = 10, .huge_pct = 40,
	};

	run("huge", 2, &mix, 100000);
}

Test(mm_diff, fork_merge_heavy, .timeout = 900)
{
	static const struct mix mix = {
		.map = 120, .unmap = 70, .protect = 80, .advise = 60,
		.write = 250, .read = 120, .fault = 50, .translate = 120,
		.merge = 100, .fork = 60, .destroy = 40, .huge_pct = 20,
	};

	run("forkmerge", 3, &mix, 100000);
}
