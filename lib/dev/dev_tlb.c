/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The device TLB: a set-associative cache of translations, 4 KiB and
 * 2 MiB entries, one permission per entry (layout in mmrt_dev_core.h). It
 * belongs to the consumer's owner thread and is never locked: the owner
 * fills it on a miss (dev_prq.c) and drops entries when it processes an
 * invalidation (dev_inval.c); bind and unbind touch it only while the
 * owner does not run (the API's contract).
 */

#include <rte_common.h>

#include "dev_priv.h"
#include "dev_testhooks.h"

/* Block of way @way of set @set (see mmrt_dev_core.h). */
static inline struct mmrt_dev_tlb_block *
tlb_blk(const struct mmrt_consumer *c, uint32_t set, uint32_t way)
{
	return c->core.tlb + (uint64_t)(way / MMRT_DEV_TLB_BLOCK) * c->sets +
		set;
}

static inline uint64_t *
tlb_tag(const struct mmrt_consumer *c, uint32_t set, uint32_t way)
{
	return &tlb_blk(c, set, way)->tag[way % MMRT_DEV_TLB_BLOCK];
}

static inline uint64_t *
tlb_data(const struct mmrt_consumer *c, uint32_t set, uint32_t way)
{
	return &tlb_blk(c, set, way)->data[way % MMRT_DEV_TLB_BLOCK];
}

/* Drop every valid entry of the TLB (owner, or nobody else running). */
unsigned int
dev_tlb_flush_all(struct mmrt_consumer *c)
{
	uint64_t i, n = dev_tlb_slots(c->sets, c->core.ways);
	struct mmrt_dev_tlb_block *b = c->core.tlb;
	unsigned int dropped = 0;

	/* the slots past the ways are never filled: their tags stay 0 */
	for (i = 0; i < n; i++) {
		if (b[i / MMRT_DEV_TLB_BLOCK].tag[i % MMRT_DEV_TLB_BLOCK] &
				MMRT_DEV_TLBE_V)
			dropped++;
		b[i / MMRT_DEV_TLB_BLOCK].tag[i % MMRT_DEV_TLB_BLOCK] = 0;
	}
	return dropped;
}

/* Drop entries of one set that overlap [start, end). */
static unsigned int
tlb_drop_set(struct mmrt_consumer *c, uint32_t set, uint64_t start,
	uint64_t end)
{
	unsigned int dropped = 0;
	uint64_t t, base, size, *tag;
	uint32_t i;

	for (i = 0; i < c->core.ways; i++) {
		tag = tlb_tag(c, set, i);
		t = *tag;
		if (!(t & MMRT_DEV_TLBE_V))
			continue;
		size = (t & MMRT_DEV_TLBE_H) ? MMRT_HUGE_SIZE : MMRT_PAGE_SIZE;
		base = t & ~(MMRT_PAGE_SIZE - 1);
		if (base < end && start < base + size) {
			*tag = 0;
			dropped++;
		}
	}
	return dropped;
}

/* Drop every entry overlapping [start, end). */
unsigned int
dev_tlb_drop_range(struct mmrt_consumer *c, uint64_t start, uint64_t end)
{
	unsigned int dropped = 0;
	uint64_t npages, va, hstart, hend;
	uint32_t s;

	npages = (end - start + MMRT_PAGE_SIZE - 1) >> MMRT_PAGE_SHIFT;
	hstart = start & ~(MMRT_HUGE_SIZE - 1);
	hend = RTE_ALIGN_CEIL(end, MMRT_HUGE_SIZE);
	if (npages + ((hend - hstart) >> MMRT_HUGE_SHIFT) > c->sets) {
		for (s = 0; s < c->sets; s++)
			dropped += tlb_drop_set(c, s, start, end);
		return dropped;
	}
	/* small range: probe the 4 KiB sets of its pages and the 2 MiB sets */
	for (va = start & ~(MMRT_PAGE_SIZE - 1); va < end; va += MMRT_PAGE_SIZE)
		dropped += tlb_drop_set(c,
			(uint32_t)(va >> MMRT_PAGE_SHIFT) & c->core.set_mask,
			start, end);
	for (va = hstart; va < hend; va += MMRT_HUGE_SIZE)
		dropped += tlb_drop_set(c,
			(uint32_t)(va >> MMRT_HUGE_SHIFT) & c->core.set_mask,
			start, end);
	return dropped;
}

/* Look up @va in its 4 KiB or 2 MiB set; @return the entry's data word,
 * or NULL. */
uint64_t *
dev_tlb_find(struct mmrt_consumer *c, uint64_t va, bool huge)
{
	unsigned int shift = huge ? MMRT_HUGE_SHIFT : MMRT_PAGE_SHIFT;
	uint64_t key = (va & ~((UINT64_C(1) << shift) - 1)) | MMRT_DEV_TLBE_V |
		(huge ? MMRT_DEV_TLBE_H : 0);
	uint32_t set = (uint32_t)(va >> shift) & c->core.set_mask;
	uint32_t i;

	for (i = 0; i < c->core.ways; i++)
		if (*tlb_tag(c, set, i) == key)
			return tlb_data(c, set, i);
	return NULL;
}

/*
 * Install the translation @x of @va. The entry keeps the delta from the
 * page base to its host address (4 KiB aligned: page and frame are), so
 * a hit adds it to va; the permission sits in the delta's low bits.
 */
void
dev_tlb_fill(struct mmrt_consumer *c, uint64_t va, const struct mmrt_xlate *x)
{
	unsigned int shift = x->huge ? MMRT_HUGE_SHIFT : MMRT_PAGE_SHIFT;
	uint64_t base = va & ~((UINT64_C(1) << shift) - 1);
	uint32_t set = (uint32_t)(va >> shift) & c->core.set_mask;
	uint64_t delta = (uint64_t)(uintptr_t)x->addr - va, data;
	uint64_t key = base | MMRT_DEV_TLBE_V | (x->huge ? MMRT_DEV_TLBE_H : 0);
	uint32_t i;

	/* a host page whose IOVA is neither its address nor its VA (DPDK
	 * memory under IOVA-as-PA): the entry cannot say it, so it is not
	 * cached; every access walks */
	if (x->pfn == MMRT_PFN_NONE && x->iova != RTE_BAD_IOVA &&
			x->iova != (rte_iova_t)(uintptr_t)x->addr &&
			x->iova != (rte_iova_t)va)
		return;
	/* the way already caching the page, if any */
	for (i = 0; i < c->core.ways; i++)
		if (*tlb_tag(c, set, i) == key)
			break;
	RTE_BUILD_BUG_ON(MMRT_DEV_TLBE_R != MMRT_PROT_READ ||
		MMRT_DEV_TLBE_R != MMRT_ACCESS_READ);
	RTE_BUILD_BUG_ON(MMRT_DEV_TLBE_W != MMRT_PROT_WRITE ||
		MMRT_DEV_TLBE_W != MMRT_ACCESS_WRITE);
	RTE_BUILD_BUG_ON(sizeof(struct mmrt_dev_tlbe) * MMRT_DEV_TLB_BLOCK !=
		(1u << MMRT_DEV_TLB_BLOCK_SHIFT));
	RTE_BUILD_BUG_ON(sizeof(struct mmrt_dev_tlb_block) !=
		(1u << MMRT_DEV_TLB_BLOCK_SHIFT));
	RTE_BUILD_BUG_ON(MMRT_DEV_TLB_BLOCK * 2 != MMRT_CONSUMER_TLB_WAYS_MAX);
	if (i == c->core.ways) {
		/* not cached: a free way, else the set's next victim */
		for (i = 0; i < c->core.ways; i++)
			if (!(*tlb_tag(c, set, i) & MMRT_DEV_TLBE_V))
				break;
		if (i == c->core.ways) {
			i = c->victim[set]++ % c->core.ways;
			STAT_ADD(c, tlb_evictions, 1);
		}
	}
	data = (delta & ~MMRT_DEV_TLBE_DMASK) | MMRT_DEV_TLBE_R |
		((x->prot & MMRT_PROT_WRITE) ? MMRT_DEV_TLBE_W : 0);
	if (x->pfn == MMRT_PFN_NONE) {
		/* a host mapping: where its IOVA comes from (mmrt_walk_host) */
		data |= MMRT_DEV_TLBE_HOST;
		if (x->iova == RTE_BAD_IOVA)
			data |= MMRT_DEV_TLBE_HIOVA_NONE;
		else if (x->iova != (rte_iova_t)(uintptr_t)x->addr)
			data |= MMRT_DEV_TLBE_HIOVA_VA;
	} else if (mmrt_mem_fp.iova != NULL) {
		data |= MMRT_DEV_TLBE_ITAB; /* IOVA from the frame table */
	}
	*tlb_data(c, set, i) = data;
	*tlb_tag(c, set, i) = key;
	STAT_ADD(c, tlb_fills, 1);
}

/*
 * The prefetch. A device streaming through fresh 4 KiB pages misses once
 * per page, and a miss costs a walk and a fill where a hit costs one tag
 * compare. So after the walk resolved @va to a 4 KiB leaf (the miss path,
 * dev_prq.c), and the miss continues a stream (its page is where one of
 * the last few streams would miss next: the page after a missed page, or
 * after a prefetched run; a random miss only records where its stream
 * would go on, so a workload beyond the TLB's reach pays no prefetch),
 * install the pages that follow it in the same last-level
 * table too: up to DEV_TLB_PREFETCH of them, fewer than the TLB's sets
 * (consecutive pages fall in consecutive sets: none of them evicts @va or
 * another prefetched page), stopping at the table's end or at the first
 * page that is not present. @return the pages read (each is filled as
 * dev_tlb_fill() accepts it: a host page it cannot describe is skipped).
 *
 * Why the entries are as safe as the missed page's own (the rules of the
 * lock sheet, lib/mm/mm_locking.h; same argument as the walk's):
 *  - The owner walks in the same QSBR read section as the miss (no
 *    quiescent state since its walk: this runs inside the same
 *    mmrt_consumer_translate() call), so every table it reads, and every
 *    frame a present PTE it reads names, stays allocated until its next
 *    quiescent state: a table or frame is freed only after a grace period.
 *  - A change that drops or downgrades any of these PTEs is made in the
 *    page table first and then posted, as a descriptor covering it, to
 *    every bound consumer, and the changer waits for the ack before the
 *    frame is reused. Descriptors are processed only by the owner's poll,
 *    never during this call. So either the change was stored before this
 *    walk read the PTE (then the walk reads the new value), or its
 *    descriptor is processed at the owner's next poll, which drops the
 *    entry installed here before it acks: exactly what happens to the
 *    entry of the page that missed.
 *  - Dirty tracking stays exact: an entry is writable only if its PTE is
 *    writable AND dirty (mmrt_walk_frame()/mmrt_walk_host(), the walk's
 *    own rule), so the first write to a clean page still misses the
 *    entry's permission, walks, faults and marks the page dirty where a
 *    harvest (mmrt_dirty_harvest()) sees it.
 *  - Host mappings: the walk's own tails; 2 MiB leaves: none (a level-2
 *    leaf stops the prefetch; it needs none).
 */
unsigned int
dev_tlb_prefetch(struct mmrt_consumer *c, uint64_t va, unsigned int s)
{
	uint64_t page = va & ~(uint64_t)(MMRT_PAGE_SIZE - 1);
	uint8_t *base = mmrt_mem_fp.base;
	unsigned int i, max = DEV_TLB_PREFETCH;
	uint64_t e, idx, pva;
	struct mmrt_xlate x;
	uint32_t tbl;

	/* @s: the stream whose expected page @va is (dev_tlb_prefetch_miss()) */
	RTE_BUILD_BUG_ON(RTE_DIM(c->pf_expect) != DEV_TLB_PF_STREAMS);
	c->pf_expect[s] = page + MMRT_PAGE_SIZE;
	if (c->sets - 1 < max)
		max = c->sets - 1;
	idx = (va >> MMRT_PAGE_SHIFT) & MMRT_PT_INDEX_MASK;
	if (MMRT_PT_INDEX_MASK - idx < max)
		max = (unsigned int)(MMRT_PT_INDEX_MASK - idx);
	if (max == 0)
		return 0;
	/* the upper levels again (hot lines: the walk just read them) */
	e = mmrt_walk_step(base, c->asc.pgd, va, MMRT_PT_SHIFT(4));
	if (!(e & MMRT_PTE_T))
		return 0;
	e = mmrt_walk_step(base, (uint32_t)(e >> MMRT_PTE_PFN_SHIFT), va,
		MMRT_PT_SHIFT(3));
	if (!(e & MMRT_PTE_T))
		return 0;
	e = mmrt_walk_step(base, (uint32_t)(e >> MMRT_PTE_PFN_SHIFT), va,
		MMRT_PT_SHIFT(2));
	if ((e & MMRT_PTE_H) || !(e & MMRT_PTE_T))
		return 0;
	tbl = (uint32_t)(e >> MMRT_PTE_PFN_SHIFT);
	pva = va & ~(uint64_t)(MMRT_PAGE_SIZE - 1);
	for (i = 0; i < max; i++) {
		pva += MMRT_PAGE_SIZE;
		e = mmrt_walk_step(base, tbl, pva, MMRT_PT_SHIFT(1));
		if (!(e & MMRT_PTE_P))
			break;
#ifdef MMRT_TEST_HOOKS
		if (dev_test_hooks.tlb_prefetch_grant_w)
			e |= (e & MMRT_PTE_W) ? MMRT_PTE_D : 0;
#endif
		x.size = MMRT_PAGE_SIZE;
		x.huge = false;
		if (e & MMRT_PTE_HOST)
			mmrt_walk_host(e, pva, 0, &x);
		else
			mmrt_walk_frame(base, e, 0, &x);
		dev_tlb_fill(c, pva, &x);
	}
	/* the stream's next miss: the first page not installed */
	c->pf_expect[s] = page + (uint64_t)(i + 1) * MMRT_PAGE_SIZE;
	return i;
}
