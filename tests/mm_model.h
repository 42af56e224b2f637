/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_TESTS_MM_MODEL_H
#define MMRT_TESTS_MM_MODEL_H

/*
 * The reference model of an address space's pages, shared by the
 * randomized differential test (test_mm_diff.c) and the API fuzzer
 * (fuzz/fuzz_api.c). Pure functions over an array of pages of a window
 * [base, base + npages * MMRT_PAGE_SIZE); no Criterion, no runtime calls.
 *
 * Content model: a page is all zeros except for one 8-byte slot holding a
 * 64-bit tag (tag 0: the page is all zeros).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <mmrt_mm.h>

/* What the model knows about a page's PTE. */
enum { MM_PRES_NO = 0, MM_PRES_UNK, MM_PRES_YES };

/* One page of the model. */
struct mm_model_page {
	uint64_t tag;   /* 0: all zeros */
	uint16_t slot;  /* 8-byte slot of the tag */
	uint8_t mapped;
	uint8_t prot;
	uint8_t huge;   /* part of a region mapped with MMRT_MAP_HUGE */
	uint8_t pres;   /* MM_PRES_*: what the model knows about the PTE */
};

/*
 * The bytes of page @p mp (at @p page_va) that fall in [va, end), written
 * at buf[a - va] for each address a; the others are left alone.
 */
static inline void
mm_model_page_bytes(const struct mm_model_page *mp, uint64_t page_va,
	uint64_t va, uint64_t end, uint8_t *buf)
{
	uint64_t a;
	unsigned int k;

	if (mp->tag == 0)
		return;
	for (k = 0; k < 8; k++) {
		a = page_va + mp->slot * 8u + k;
		if (a >= va && a < end)
			buf[a - va] = (uint8_t)(mp->tag >> (8 * k));
	}
}

static inline bool
mm_model_prot_allows(uint32_t prot, uint32_t access)
{
	if (access & MMRT_ACCESS_WRITE)
		return (prot & MMRT_PROT_WRITE) != 0;
	return prot != MMRT_PROT_NONE;
}

/*
 * Page @p p was faulted in. A fault in a huge region may fill the whole
 * 2 MiB block: pages of the block the model knew absent become unknown
 * (the window starts 2 MiB aligned).
 */
static inline void
mm_model_touch(struct mm_model_page *pg, uint64_t p)
{
	uint64_t q, b;

	pg[p].pres = MM_PRES_YES;
	if (!pg[p].huge)
		return;
	b = p & ~(uint64_t)(MMRT_HUGE_NR - 1);
	for (q = b; q < b + MMRT_HUGE_NR; q++)
		if (pg[q].huge && pg[q].pres == MM_PRES_NO)
			pg[q].pres = MM_PRES_UNK;
}

/* Page @p p may have been faulted in (by a failing multi-page access). */
static inline void
mm_model_maybe(struct mm_model_page *pg, uint64_t p)
{
	uint8_t pres = pg[p].pres;

	mm_model_touch(pg, p);
	pg[p].pres = pres == MM_PRES_YES ? MM_PRES_YES : MM_PRES_UNK;
}

/*
 * Expected result of an access of pages [p, p + n): the first page that
 * is unmapped (-EFAULT) or forbids the access (-EACCES) decides; *bad is
 * that page (the last one if none).
 */
static inline int
mm_model_access_expect(const struct mm_model_page *pg, uint64_t p,
	uint64_t n, uint32_t access, uint64_t *bad)
{
	uint64_t q;

	for (q = p; q < p + n; q++) {
		*bad = q;
		if (!pg[q].mapped)
			return -EFAULT;
		if (!mm_model_prot_allows(pg[q].prot, access))
			return -EACCES;
	}
	return 0;
}

/* Whether pages [p, p + n) have a page that is not mapped. */
static inline bool
mm_model_has_hole(const struct mm_model_page *pg, uint64_t p, uint64_t n)
{
	uint64_t q;

	for (q = p; q < p + n; q++)
		if (!pg[q].mapped)
			return true;
	return false;
}

#endif /* MMRT_TESTS_MM_MODEL_H */
