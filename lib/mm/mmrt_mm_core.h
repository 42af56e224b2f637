/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_MM_CORE_H
#define MMRT_MM_CORE_H

/**
 * @file
 * Fast path of lib/mm, included by mmrt_mm.h (do not include it directly):
 * what the inline mmrt_translate() needs, as DPDK's rte_*_core.h headers
 * do. The PTE format here is the runtime's own and may change between
 * releases; use the functions of mmrt_mm.h, not these definitions.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>

#include <mmrt_core.h>
#include <mmrt_mem.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @internal PTE bits. */
#define MMRT_PTE_P        (UINT64_C(1) << 0) /**< present */
#define MMRT_PTE_W        (UINT64_C(1) << 1) /**< writable */
#define MMRT_PTE_A        (UINT64_C(1) << 2) /**< accessed */
#define MMRT_PTE_D        (UINT64_C(1) << 3) /**< dirty */
#define MMRT_PTE_H        (UINT64_C(1) << 4) /**< 2 MiB leaf (level 2) */
#define MMRT_PTE_UFFD_WP  (UINT64_C(1) << 5) /**< userfault write-protected */
#define MMRT_PTE_T        (UINT64_C(1) << 6) /**< points to a lower table */
#define MMRT_PTE_PROTNONE (UINT64_C(1) << 7) /**< frame kept, no access */
#define MMRT_PTE_POISON   (UINT64_C(1) << 8) /**< marker: poisoned (not present) */
#define MMRT_PTE_HOST     (UINT64_C(1) << 9) /**< leaf of a host mapping */
#define MMRT_PTE_HIOVA_VA (UINT64_C(1) << 10) /**< host leaf: IOVA is the VA */
#define MMRT_PTE_HIOVA_NONE (UINT64_C(1) << 11) /**< host leaf: no IOVA */
#define MMRT_PTE_PFN_SHIFT 12
#define MMRT_PTE_PFN_MASK (UINT64_C(0xffffffff) << MMRT_PTE_PFN_SHIFT)
/**
 * @internal A host leaf (MMRT_PTE_HOST) holds the host address itself in
 * bits 12..47 (a 48-bit user address, page aligned) instead of a pfn; its
 * IOVA is that host address, or the translated VA (MMRT_PTE_HIOVA_VA, the
 * DPDK mirror), or none (MMRT_PTE_HIOVA_NONE: memory DPDK does not know).
 */
#define MMRT_PTE_HADDR_MASK (((UINT64_C(1) << 48) - 1) & \
	~(UINT64_C(0xfff)))
/**
 * @internal Both IOVA kind bits: DPDK memory whose IOVA is not its address
 * (IOVA-as-PA): bits 48..62 of the host leaf index a table of IOVA offsets
 * (one per distinct memseg offset), read by mmrt_host_iova_tab().
 */
#define MMRT_PTE_HIOVA_TAB (MMRT_PTE_HIOVA_VA | MMRT_PTE_HIOVA_NONE)
#define MMRT_PTE_HIOVA_IDX_SHIFT 48
#define MMRT_PTE_HIOVA_IDX_MASK (UINT64_C(0x7fff) << MMRT_PTE_HIOVA_IDX_SHIFT)

/**
 * @internal The IOVA of host address @p addr on a host leaf @p e of the
 * MMRT_PTE_HIOVA_TAB kind (out of line: the rare IOVA-as-PA case).
 */
rte_iova_t mmrt_host_iova_tab(uint64_t e, uint64_t addr);

/** @internal Index bits per page-table level (512 entries a table). */
#define MMRT_PT_BITS 9
/** @internal Mask of one level's index (the index is 0..511). */
#define MMRT_PT_INDEX_MASK ((UINT64_C(1) << MMRT_PT_BITS) - 1)
/**
 * @internal Shift of the VA bits that index level @p level (1 = the 4 KiB
 * leaves, 4 = the top): 12, 21, 30, 39. The walk geometry's one home.
 */
#define MMRT_PT_SHIFT(level) (MMRT_PAGE_SHIFT + MMRT_PT_BITS * ((level) - 1))

/** @internal Magic of a live address space. */
#define MMRT_AS_MAGIC 0x6d6d6173u /* "mmas" */

/** @internal The head of struct mmrt_as that the inline walk reads. */
struct mmrt_as_core {
	uint32_t magic; /**< MMRT_AS_MAGIC while live. */
	uint32_t pgd;   /**< pfn of the level-4 table. */
};

/** @internal Translate under the map lock (callers that are not pollers). */
int mmrt_translate_locked(struct mmrt_as *as, uint64_t va, uint32_t access,
	struct mmrt_xlate *out);

#ifdef MMRT_TEST_HOOKS
/** @internal Test builds: check that a table a lockless walk reads is live. */
uint32_t mmrt_test_walk_begin(uint32_t tbl);
/** @internal Test builds: counts a walk that found its table freed. */
void mmrt_test_walk_end(uint32_t tbl, uint32_t gen);
#endif

/**
 * @internal Hash of the 4 KiB page that holds @p va (Fibonacci hashing:
 * the high bits are the well-mixed ones; shift right to the table size).
 * The one hash of the pending-page tables that deduplicate faults (uffds)
 * and page requests (consumers).
 */
static inline uint64_t
mmrt_page_hash(uint64_t va)
{
	return (va >> MMRT_PAGE_SHIFT) * UINT64_C(0x9e3779b97f4a7c15);
}

/** @internal One level of the lockless walk: the entry for @p va. */
static __rte_always_inline uint64_t
mmrt_walk_step(uint8_t *base, uint32_t tbl, uint64_t va, unsigned int shift)
{
	const uint64_t *t = (const uint64_t *)(base +
		((uint64_t)tbl << MMRT_PAGE_SHIFT));
	uint64_t e;
#ifdef MMRT_TEST_HOOKS
	uint32_t gen = mmrt_test_walk_begin(tbl);
#endif

	/* acquire: pairs with the release store that published the entry */
	e = __atomic_load_n(&t[(va >> shift) & MMRT_PT_INDEX_MASK],
		__ATOMIC_ACQUIRE);
#ifdef MMRT_TEST_HOOKS
	mmrt_test_walk_end(tbl, gen);
#endif
	return e;
}

/**
 * @internal A leaf grants write to walkers only when it is writable and
 * dirty (W and D): as a device with ATS gets a write translation only for
 * a dirty PTE. A dirty harvest (mmrt_dirty_harvest()) clears D, so the
 * next write through any walker faults and marks the page dirty again.
 */
static __rte_always_inline bool
mmrt_pte_writable(uint64_t e)
{
	return (e & (MMRT_PTE_W | MMRT_PTE_D)) == (MMRT_PTE_W | MMRT_PTE_D);
}

/**
 * @internal The end of a walk that found a host leaf @p e (the rare path):
 * @p off is the offset of @p va in the leaf. No pool frame is involved.
 */
static __rte_always_inline int
mmrt_walk_host(uint64_t e, uint64_t va, uint64_t off, struct mmrt_xlate *out)
{
	uint64_t addr = (e & MMRT_PTE_HADDR_MASK) + off;

	out->addr = (void *)(uintptr_t)addr;
	if (unlikely((e & MMRT_PTE_HIOVA_TAB) == MMRT_PTE_HIOVA_TAB))
		out->iova = mmrt_host_iova_tab(e, addr);
	else if (e & MMRT_PTE_HIOVA_NONE)
		out->iova = RTE_BAD_IOVA;
	else if (e & MMRT_PTE_HIOVA_VA)
		out->iova = (rte_iova_t)va;
	else
		out->iova = (rte_iova_t)addr;
	out->pfn = MMRT_PFN_NONE;
	out->prot = MMRT_PROT_READ | (mmrt_pte_writable(e) ? MMRT_PROT_WRITE :
		0);
	return 0;
}

/**
 * @internal The end of a walk that found a pool leaf @p e, @p off bytes
 * into the leaf (a 4 KiB or a 2 MiB one): the frame's byte offset in the
 * pool plus @p off is where va lies, its 4 KiB frame that sum's page.
 */
static __rte_always_inline int
mmrt_walk_frame(uint8_t *base, uint64_t e, uint64_t off,
	struct mmrt_xlate *out)
{
	const uint64_t at = (e & MMRT_PTE_PFN_MASK) + off;
	const uint32_t pfn = (uint32_t)(at >> MMRT_PAGE_SHIFT);

	out->addr = base + at;
	/* per 4 KiB frame: IOVA need not be contiguous across a huge leaf */
	if (mmrt_mem_fp.iova != NULL)
		out->iova = mmrt_mem_fp.iova[pfn] + (off & (MMRT_PAGE_SIZE - 1));
	else
		out->iova = (rte_iova_t)((uintptr_t)base + at +
			mmrt_mem_fp.iova_off);
	out->pfn = pfn;
	out->prot = MMRT_PROT_READ | (mmrt_pte_writable(e) ? MMRT_PROT_WRITE :
		0);
	return 0;
}

/** @internal The end of a walk that found a 2 MiB leaf @p e at level 2. */
static __rte_always_inline int
mmrt_walk_huge(uint64_t e, uint64_t va, uint32_t access,
	struct mmrt_xlate *out)
{
	uint64_t off = va & (MMRT_HUGE_SIZE - 1);

	if (unlikely(!(e & MMRT_PTE_P)))
		return -EFAULT;
	if (unlikely((access & MMRT_ACCESS_WRITE) && !mmrt_pte_writable(e)))
		return -EACCES;
	out->size = MMRT_HUGE_SIZE - off;
	out->huge = true;
	if (unlikely(e & MMRT_PTE_HOST))
		return mmrt_walk_host(e, va, off, out);
	return mmrt_walk_frame(mmrt_mem_fp.base, e, off, out);
}

/**
 * @internal The lockless walk: four levels unrolled, four dependent loads.
 * The caller is a registered online poller or holds the map lock.
 *
 * The 4 KiB and 2 MiB leaves end in tails of their own (mmrt_walk_huge()
 * out of the common line): the 4 KiB tail then has no 4 KiB index inside
 * a leaf to add, which a shared tail computed on every lookup (about 6%
 * of the perf-xlate xlate-4k figure).
 */
static __rte_always_inline int
mmrt_walk(const struct mmrt_as_core *asc, uint64_t va, uint32_t access,
	struct mmrt_xlate *out)
{
	uint8_t *base = mmrt_mem_fp.base;
	uint64_t e, off;

	/* model: models/gather.pml [G.10] */
	e = mmrt_walk_step(base, asc->pgd, va, MMRT_PT_SHIFT(4));
	if (unlikely(!(e & MMRT_PTE_T)))
		return -EFAULT;
	e = mmrt_walk_step(base, (uint32_t)(e >> MMRT_PTE_PFN_SHIFT), va,
		MMRT_PT_SHIFT(3));
	if (unlikely(!(e & MMRT_PTE_T)))
		return -EFAULT;
	e = mmrt_walk_step(base, (uint32_t)(e >> MMRT_PTE_PFN_SHIFT), va,
		MMRT_PT_SHIFT(2));
	if (e & MMRT_PTE_H)
		return mmrt_walk_huge(e, va, access, out);
	if (unlikely(!(e & MMRT_PTE_T)))
		return -EFAULT;
	e = mmrt_walk_step(base, (uint32_t)(e >> MMRT_PTE_PFN_SHIFT), va,
		MMRT_PT_SHIFT(1));
	off = va & (MMRT_PAGE_SIZE - 1);
	if (unlikely(!(e & MMRT_PTE_P)))
		return -EFAULT;
	if (unlikely((access & MMRT_ACCESS_WRITE) && !mmrt_pte_writable(e)))
		return -EACCES;
	out->size = MMRT_PAGE_SIZE - off;
	out->huge = false;
	if (unlikely(e & MMRT_PTE_HOST))
		return mmrt_walk_host(e, va, off, out);
	return mmrt_walk_frame(base, e, off, out);
}

/**
 * Translate @p va without faulting. A registered, online poller walks
 * without locks, inline (the result stays valid until its next quiescent
 * state, as long as it does not race an unmap of the page: use a consumer
 * for that). Other threads walk under the map lock.
 *
 * @return 0, -EINVAL (bad arguments, not a live address space), -EFAULT
 *   (not present: call mmrt_fault()), -EACCES (present but @p access not
 *   granted: call mmrt_fault(), which upgrades it or says the access is
 *   refused; a write to a page that is copy-on-write, or whose dirty state
 *   a harvest cleared, is such a case). On failure the contents of @p out
 *   are unspecified. Never waits when called by a registered poller.
 *   A translation for write (MMRT_PROT_WRITE in @p out->prot) is handed
 *   out only for a page marked dirty, which stays reported by the next
 *   mmrt_dirty_harvest(): a write through it is never missed as long as
 *   the caller stops using it at its next quiescent state.
 */
static __rte_always_inline int
mmrt_translate(struct mmrt_as *as, uint64_t va, uint32_t access,
	struct mmrt_xlate *out)
{
	const struct mmrt_as_core *asc = (const struct mmrt_as_core *)as;

	/*
	 * Always inline: left to its heuristics, GCC splits these checks
	 * from the walk and calls the walk out of line (a call, a frame and
	 * the result through memory per lookup: about 5% of perf-xlate's
	 * xlate-4k, 15% of its xlate-2m).
	 */
	if (unlikely(as == NULL || out == NULL ||
			asc->magic != MMRT_AS_MAGIC || va >= MMRT_VA_LIMIT ||
			(access & ~(MMRT_ACCESS_READ | MMRT_ACCESS_WRITE))))
		return -EINVAL;
	if (likely(mmrt_thread_is_online()))
		return mmrt_walk(asc, va, access, out);
	return mmrt_translate_locked(as, va, access, out);
}

#ifdef __cplusplus
}
#endif

#endif /* MMRT_MM_CORE_H */
