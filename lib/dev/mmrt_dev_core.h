/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_DEV_CORE_H
#define MMRT_DEV_CORE_H

/**
 * @file
 * Fast path of lib/dev, included by mmrt_dev.h (do not include it
 * directly): the device-TLB layout and the inline hit path that
 * mmrt_consumer_translate() needs, as DPDK's rte_*_core.h headers do.
 * Applications must not use these definitions directly: the layout is
 * the runtime's own and may change between releases; use the functions
 * of mmrt_dev.h.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#if defined(__SSE4_1__)
#include <smmintrin.h>
#endif

#include <mmrt_core.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mmrt_consumer;

/**
 * @internal A device-TLB entry is two words, 16 bytes (this struct gives
 * their size; in the TLB they lie apart, see struct mmrt_dev_tlb_block):
 * - tag: page base (4 KiB or 2 MiB aligned) | V | H; compared whole with
 *   the lookup key, so a hit is one compare per way.
 * - data: (host address of the page base - page base) | R | W: the host
 *   address of va is va + (data & ~MMRT_DEV_TLBE_DMASK) (one add); the
 *   low bits are the permission (R: valid, readable; W: writable), equal
 *   to MMRT_PROT_* and MMRT_ACCESS_*.
 * Invalid entries have tag 0.
 */
struct mmrt_dev_tlbe {
	uint64_t tag;
	uint64_t data;
};

/** @internal Tag flags. */
#define MMRT_DEV_TLBE_V (UINT64_C(1) << 0) /**< valid */
#define MMRT_DEV_TLBE_H (UINT64_C(1) << 2) /**< 2 MiB entry */
/** @internal Data flags (== MMRT_PROT_READ, MMRT_PROT_WRITE). */
#define MMRT_DEV_TLBE_R (UINT64_C(1) << 0) /**< valid, readable */
#define MMRT_DEV_TLBE_W (UINT64_C(1) << 1) /**< writable */
#define MMRT_DEV_TLBE_HOST (UINT64_C(1) << 2) /**< host page: IOVA = addr */
#define MMRT_DEV_TLBE_HIOVA_VA (UINT64_C(1) << 3) /**< host: IOVA = va */
#define MMRT_DEV_TLBE_HIOVA_NONE (UINT64_C(1) << 4) /**< host: no IOVA */
/** Pool page of a pool with a per-frame IOVA table (mmrt_mem_fp.iova, a
 * property of the pool, fixed when it is made): one flag test on a hit
 * covers both this and MMRT_DEV_TLBE_HOST. */
#define MMRT_DEV_TLBE_ITAB (UINT64_C(1) << 5)
#define MMRT_DEV_TLBE_DMASK (MMRT_PAGE_SIZE - 1) /**< data flag bits */

/**
 * @internal The IOVA of @p va on a host-mapping entry (data has
 * MMRT_DEV_TLBE_HOST; @p addr is its host address).
 */
static __rte_always_inline rte_iova_t
mmrt_dev_tlbe_host_iova(uint64_t data, uint64_t va, uint64_t addr)
{
	if (data & MMRT_DEV_TLBE_HIOVA_NONE)
		return RTE_BAD_IOVA;
	if (data & MMRT_DEV_TLBE_HIOVA_VA)
		return (rte_iova_t)va;
	return (rte_iova_t)addr;
}

/**
 * @internal Ways per TLB block: a set's ways 0..3 lie in block 0 (one
 * cache line per set), ways 4..7 (when tlb_ways > 4) in block 1, at the
 * same index (block b of set s: tlb[b * sets + s]). Slots past tlb_ways
 * keep tag 0.
 */
#define MMRT_DEV_TLB_BLOCK 4
#define MMRT_DEV_TLB_BLOCK_SHIFT 6 /**< log2 of a block's size in bytes */

/**
 * @internal One block of a set, one 64-byte line: the tags of its four
 * ways, then their data words. The hit path loads the tags two by two
 * and the data two by two: four loads where an entry-by-entry layout
 * takes eight. Each load waits for the same line, which is seldom in L1
 * (the TLB of a large working set is not), and the lookups a CPU keeps
 * in flight are bounded by the loads and instructions each one holds.
 */
struct mmrt_dev_tlb_block {
	uint64_t tag[MMRT_DEV_TLB_BLOCK];
	uint64_t data[MMRT_DEV_TLB_BLOCK];
};

/** @internal Consumer states. */
#define MMRT_CONSUMER_UNBOUND 0
#define MMRT_CONSUMER_BOUND 1
#define MMRT_CONSUMER_FENCED 2

/** @internal Head of struct mmrt_consumer read by the inline hit path. */
struct mmrt_consumer_core {
	uint32_t state;             /**< MMRT_CONSUMER_*, written atomically. */
	uint32_t set_mask;          /**< sets - 1 */
	uint32_t ways;              /**< ways per set */
	uint32_t magic;             /**< live consumer */
	struct mmrt_dev_tlb_block *tlb; /**< sets blocks, then (ways > 4)
					 * sets more */
	uint64_t blk_mask;          /**< set_mask << MMRT_DEV_TLB_BLOCK_SHIFT:
				     * byte offset of a set in a block */
	/**
	 * Owner-written hit counter, in a line of its own: invalidators read
	 * state, and a store per hit into that line would pull it back and
	 * forth while one waits for an ack. Written by mmrt_dev_count_hit().
	 */
	uint64_t hits __rte_cache_aligned;
	/**
	 * Owner-written count of invalidation batches processed, by a poll
	 * or inline, when the owner thread itself changed the page table
	 * (which acks at once, with no poll to see it). A translation kept
	 * outside the device TLB (an engine's last leaves, pmd/pmd_walk.h)
	 * is usable only while this count is the one it was taken at.
	 */
	uint64_t inval_gen;
};

/**
 * @internal Count a hit in @p cc->hits: the owner is its only writer,
 * readers load it relaxed. On x86 one add to memory: a single
 * instruction (one macro-op where a load, an add and a store are three:
 * the translate loop keeps fewer lookups in flight the more each one
 * holds in the reorder buffer), and an aligned 8-byte store a reader sees
 * whole. Elsewhere, a relaxed store of the sum.
 */
static __rte_always_inline void
mmrt_dev_count_hit(struct mmrt_consumer_core *cc)
{
#if defined(RTE_ARCH_X86_64)
	asm("addq $1, %0" : "+m" (cc->hits));
#else
	__atomic_store_n(&cc->hits, cc->hits + 1, __ATOMIC_RELAXED);
#endif
}

/**
 * @internal Search one block of a set for @p key, branch-free: @return
 * the data word of the way whose tag is @p key, else @p sel (a set holds
 * a tag at most once; @p sel is 0, or block 0's answer when block 1 is
 * searched, which then matched nothing). Which way holds a page is as good
 * as random, so a branch per way would mispredict on most lookups; and a
 * select of the way followed by a load of its data puts a second load
 * after the first on every lookup's path (measured 10-25% slower on the
 * hit loop). With SSE4.1 (DPDK's x86 baseline), two 64-bit compares of
 * two tags each, their masks applied to the data words; else a
 * conditional move per way.
 */
static __rte_always_inline uint64_t
mmrt_dev_tlb_block_find(const struct mmrt_dev_tlb_block *b, uint64_t key,
	uint64_t sel)
{
#if defined(__SSE4_1__)
	const __m128i k = _mm_set1_epi64x((long long)key);
	const __m128i m01 = _mm_cmpeq_epi64(
		_mm_load_si128((const __m128i *)&b->tag[0]), k);
	const __m128i m23 = _mm_cmpeq_epi64(
		_mm_load_si128((const __m128i *)&b->tag[2]), k);
	__m128i d;

	d = _mm_or_si128(
		_mm_and_si128(m01, _mm_load_si128((const __m128i *)&b->data[0])),
		_mm_and_si128(m23, _mm_load_si128((const __m128i *)&b->data[2])));
	d = _mm_or_si128(d, _mm_unpackhi_epi64(d, d));
	return (uint64_t)_mm_cvtsi128_si64(d) | sel;
#else
	uint64_t d0 = b->data[0], d1 = b->data[1], d2 = b->data[2],
		d3 = b->data[3];

	sel = b->tag[0] == key ? d0 : sel;
	sel = b->tag[1] == key ? d1 : sel;
	sel = b->tag[2] == key ? d2 : sel;
	sel = b->tag[3] == key ? d3 : sel;
	return sel;
#endif
}

/**
 * @internal The miss path of mmrt_consumer_translate() (argument checks,
 * 2 MiB entries, walk, fill, page request). Same contract.
 */
int mmrt_consumer_translate_slow(struct mmrt_consumer *c, uint64_t va,
	uint32_t access, struct mmrt_xlate *out);

/**
 * @internal The body of mmrt_consumer_translate(): the hit path inline,
 * the rest in mmrt_consumer_translate_slow(). Same contract.
 */
static __rte_always_inline int
mmrt_dev_translate(struct mmrt_consumer *c, uint64_t va, uint32_t access,
	struct mmrt_xlate *out)
{
	struct mmrt_consumer_core *cc = (struct mmrt_consumer_core *)c;
	const struct mmrt_dev_tlb_block *b;
	uint64_t key, sel, off, addr;
	uint32_t pfn;

	/*
	 * Only what a hit needs is checked here: a va at or above
	 * MMRT_VA_LIMIT matches no tag (so it misses) and the slow path
	 * validates the rest. The state check keeps a fenced or unbound
	 * consumer off its TLB.
	 */
	if (unlikely(c == NULL || out == NULL ||
			__atomic_load_n(&cc->state, __ATOMIC_RELAXED) !=
				MMRT_CONSUMER_BOUND))
		goto slow;
	/* block 0 of set (va >> 12) & set_mask: one line */
	b = (const struct mmrt_dev_tlb_block *)((uintptr_t)cc->tlb +
		((va >> (MMRT_PAGE_SHIFT - MMRT_DEV_TLB_BLOCK_SHIFT)) &
		cc->blk_mask));
	key = (va & ~(MMRT_PAGE_SIZE - 1)) | MMRT_DEV_TLBE_V;
	sel = mmrt_dev_tlb_block_find(b, key, 0);
	/*
	 * Hit with the permission: every bit of access (read is implied)
	 * is in the entry's R|W; a miss has sel 0, so fails too, and so do
	 * unknown access bits.
	 */
	if (unlikely(((access | MMRT_ACCESS_READ) &
			~(sel & MMRT_DEV_TLBE_DMASK)) != 0)) {
		if (cc->ways <= MMRT_DEV_TLB_BLOCK)
			goto slow;
		sel = mmrt_dev_tlb_block_find(b + (uint64_t)cc->set_mask + 1,
			key, sel); /* block 1 */
		if (((access | MMRT_ACCESS_READ) &
				~(sel & MMRT_DEV_TLBE_DMASK)) != 0)
			goto slow;
	}
	addr = va + (sel & ~MMRT_DEV_TLBE_DMASK);
	off = va & (MMRT_PAGE_SIZE - 1);
	out->addr = (void *)(uintptr_t)addr;
	if (unlikely(sel & (MMRT_DEV_TLBE_HOST | MMRT_DEV_TLBE_ITAB))) {
		if (sel & MMRT_DEV_TLBE_HOST) {
			/* a host mapping: no pool frame behind it */
			out->pfn = MMRT_PFN_NONE;
			out->iova = mmrt_dev_tlbe_host_iova(sel, va, addr);
		} else {
			pfn = (uint32_t)((addr - (uintptr_t)mmrt_mem_fp.base) >>
				MMRT_PAGE_SHIFT);
			out->pfn = pfn;
			out->iova = mmrt_mem_fp.iova[pfn] + off;
		}
	} else {
		/* a pool page, IOVA linear in the address */
		pfn = (uint32_t)((addr - (uintptr_t)mmrt_mem_fp.base) >>
			MMRT_PAGE_SHIFT);
		/* pfn apart from prot: together, GCC packs them through SSE */
		out->pfn = pfn;
		out->iova = (rte_iova_t)(addr + mmrt_mem_fp.iova_off);
	}
	out->prot = (uint32_t)(sel & (MMRT_DEV_TLBE_R | MMRT_DEV_TLBE_W));
	/* MMRT_PAGE_SIZE - off, in two operations where that takes three */
	out->size = -(va | ~(uint64_t)(MMRT_PAGE_SIZE - 1));
	out->huge = false;
	mmrt_dev_count_hit(cc); /* exact */
	return 0;
slow:
	return mmrt_consumer_translate_slow(c, va, access, out);
}

#ifdef __cplusplus
}
#endif

#endif /* MMRT_DEV_CORE_H */
