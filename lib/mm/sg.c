/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Scatter-gather lookup (mmrt_translate_sg()) and reverse lookup from a
 * host address (mmrt_host_lookup(), mmrt_host_to_va()).
 *
 * The scatter-gather walk is mmrt_translate()'s lockless walk (an online
 * poller) or the same walk under the read map lock, done once per level-1
 * table rather than once per page: the three upper levels are walked for
 * the first page of each 2 MiB, then the leaves of that table are read in
 * a row. Each leaf is one acquire load, as in mmrt_walk(), so the result
 * is what a series of mmrt_translate() calls would have seen.
 *
 * The reverse lookup holds no reverse map: host mappings are found from
 * their regions (host base in obj_off), the mirror from the address's
 * IOVA, and pool frames by walking the populated page tables of the pool
 * regions of every space, each space under its read map lock (found
 * mappings are reported after the lock is dropped).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_memory.h>

#include "mm_locking.h"
#include "mm_testhooks.h"
#include "mm_pte.h"
#include "mm_host_pte.h"
#include "mm_as.h"
#include "mm_region.h"
#include "mm_pgtable.h"
#include "mm_sg.h"

/* Host address and IOVA of the page of leaf @e at @va, @off into the leaf
 * (mmrt_walk() and mmrt_walk_host() in one). */
static __rte_always_inline void
sg_leaf_addr(uint64_t e, uint64_t va, uint64_t off, uint64_t *addr,
	rte_iova_t *iova)
{
	uint32_t pfn;

	if (unlikely(e & PTE_HOST)) {
		*addr = pte_host_addr(e) + off;
		if ((e & PTE_HIOVA_TAB) == PTE_HIOVA_TAB)
			*iova = mmrt_host_iova_tab(e, *addr);
		else if (e & PTE_HIOVA_NONE)
			*iova = RTE_BAD_IOVA;
		else if (e & PTE_HIOVA_VA)
			*iova = (rte_iova_t)va;
		else
			*iova = (rte_iova_t)*addr;
		return;
	}
	pfn = pte_pfn(e) + (uint32_t)(off >> MMRT_PAGE_SHIFT);
	*addr = (uint64_t)(uintptr_t)mmrt_frame_addr_unchecked(pfn) +
		(off & (MMRT_PAGE_SIZE - 1));
	*iova = mmrt_frame_iova_unchecked(pfn) + (off & (MMRT_PAGE_SIZE - 1));
}

static __rte_always_inline int
sg_leaf_check(uint64_t e, uint32_t access)
{
	if (unlikely(!(e & PTE_P)))
		return -EFAULT;
	/* write only through a writable and dirty leaf, as mmrt_walk() */
	if (unlikely((access & MMRT_ACCESS_WRITE) && !mmrt_pte_writable(e)))
		return -EACCES;
	return 0;
}

/*
 * A whole pool page at @addr whose IOVA is linear in the address
 * (mmrt_mem_fp.iova NULL): mm_sg_acc_add() with the IOVA computed here.
 */
static __rte_always_inline int
sg_acc_page(struct mm_sg_acc *acc, uint64_t addr)
{
	return mm_sg_acc_add(acc, addr,
		(rte_iova_t)(addr + (uint64_t)mmrt_mem_fp.iova_off),
		MMRT_PAGE_SIZE);
}

/*
 * A run of whole pool pages of the level-1 table @t, from @va (page
 * aligned) up to @stop (page aligned, in the same table), IOVA linear in
 * the address: the common case of a walk. The first page goes through
 * the accumulator (it may continue a segment of another kind); after it
 * the open segment ends with a page whose IOVA is its address plus
 * iova_off, so a page continues it exactly when its host address does,
 * and the segment's end is kept in a register: per page one acquire load
 * (as mmrt_walk()'s last step), a mask test and a compare, no store.
 * Stops at the first page that is not a present (for write: writable and
 * dirty) pool leaf, for the caller's general path. In test builds the
 * table (pfn @tbl) is checked live across the run, as mmrt_walk_step()
 * checks it across one load.
 *
 * @return the VA it stopped at; *ret is -ENOSPC when the caller's array
 *   is full (the walk then fails), else 0.
 */
static __rte_always_inline uint64_t
sg_run_linear(struct mm_sg_acc *acc, uint32_t tbl, uint8_t *base,
	uint64_t va, uint64_t stop, uint64_t fmask, uint64_t fwant, int *ret)
{
	const uint64_t *t = (const uint64_t *)(base +
		((uint64_t)tbl << MMRT_PAGE_SHIFT));
	const unsigned int first = level_index(va, MM_LEVEL_PTE);
	const unsigned int last = first +
		(unsigned int)((stop - va) >> MMRT_PAGE_SHIFT);
	uint64_t e, addr, seg_end;
	unsigned int i = first;
#ifdef MMRT_TEST_HOOKS
	uint32_t gen = mmrt_test_walk_begin(tbl);
#endif

	*ret = 0;
	e = __atomic_load_n(&t[i], __ATOMIC_ACQUIRE);
	if (unlikely((e & fmask) != fwant))
		goto out;
	addr = (uint64_t)(uintptr_t)base + (e & PTE_PFN_MASK);
	*ret = sg_acc_page(acc, addr);
	if (unlikely(*ret != 0))
		goto out;
	seg_end = addr + MMRT_PAGE_SIZE;
	for (i++; i < last; i++) {
		e = __atomic_load_n(&t[i], __ATOMIC_ACQUIRE);
		if (unlikely((e & fmask) != fwant))
			break;
		addr = (uint64_t)(uintptr_t)base + (e & PTE_PFN_MASK);
		if (likely(addr == seg_end)) {
			seg_end += MMRT_PAGE_SIZE;
			continue;
		}
		/* not contiguous: close the segment, open one at addr */
		acc->cur.len = seg_end - (uint64_t)(uintptr_t)acc->cur.addr;
		*ret = sg_acc_page(acc, addr);
		if (unlikely(*ret != 0))
			break;
		seg_end = addr + MMRT_PAGE_SIZE;
	}
	acc->cur.len = seg_end - (uint64_t)(uintptr_t)acc->cur.addr;
out:
#ifdef MMRT_TEST_HOOKS
	mmrt_test_walk_end(tbl, gen);
#endif
	return va + ((uint64_t)(i - first) << MMRT_PAGE_SHIFT);
}

static __rte_always_inline int
sg_walk(const struct mmrt_as *as, uint64_t va, uint64_t end,
	uint32_t access, struct mm_sg_acc *acc)
{
	uint8_t *base = mmrt_mem_fp.base;
	uint64_t e, chunk_end, addr, len;
	/* the fast path's test: present, (writable and dirty,) a pool leaf */
	const uint64_t fmask = PTE_P | PTE_HOST |
		((access & MMRT_ACCESS_WRITE) ? PTE_W | PTE_D : 0);
	const uint64_t fwant = PTE_P |
		((access & MMRT_ACCESS_WRITE) ? PTE_W | PTE_D : 0);
	const bool linear = mmrt_mem_fp.iova == NULL;
	rte_iova_t iova;
	int ret;

	while (va < end) {
		chunk_end = RTE_MIN((va | (MMRT_HUGE_SIZE - 1)) + 1, end);
		e = mmrt_walk_step(base, as->core.pgd, va, MMRT_PT_SHIFT(4));
		if (unlikely(!(e & PTE_T)))
			return -EFAULT;
		e = mmrt_walk_step(base, pte_pfn(e), va, MMRT_PT_SHIFT(3));
		if (unlikely(!(e & PTE_T)))
			return -EFAULT;
		e = mmrt_walk_step(base, pte_pfn(e), va, MMRT_PT_SHIFT(2));
		if (e & PTE_H) {
			ret = sg_leaf_check(e, access);
			if (ret != 0)
				return ret;
			sg_leaf_addr(e, va, va & (MMRT_HUGE_SIZE - 1), &addr,
				&iova);
			if (e & PTE_HOST) {
				ret = mm_sg_acc_add(acc, addr, iova,
					chunk_end - va);
				if (ret != 0)
					return ret;
				va = chunk_end;
				continue;
			}
			/* pool frames: IOVA per 4 KiB frame, as mmrt_walk() */
			while (va < chunk_end) {
				len = RTE_MIN((va | (MMRT_PAGE_SIZE - 1)) + 1,
					chunk_end) - va;
				sg_leaf_addr(e, va, va & (MMRT_HUGE_SIZE - 1),
					&addr, &iova);
				ret = mm_sg_acc_add(acc, addr, iova, len);
				if (ret != 0)
					return ret;
				va += len;
			}
			continue;
		}
		if (unlikely(!(e & PTE_T)))
			return -EFAULT;
		{
			const uint32_t tbl = pte_pfn(e);

			while (va < chunk_end) {
				/* whole pool pages, IOVA linear: the run */
				if (linear && (va & (MMRT_PAGE_SIZE - 1)) == 0 &&
						chunk_end - va >= MMRT_PAGE_SIZE) {
					va = sg_run_linear(acc, tbl, base, va,
						chunk_end & ~(uint64_t)
						(MMRT_PAGE_SIZE - 1), fmask,
						fwant, &ret);
					if (ret != 0)
						return ret;
					if (va >= chunk_end)
						break;
				}
				e = mmrt_walk_step(base, tbl, va,
					MMRT_PT_SHIFT(1));
				ret = sg_leaf_check(e, access);
				if (ret != 0)
					return ret;
				len = RTE_MIN((va | (MMRT_PAGE_SIZE - 1)) + 1,
					chunk_end) - va;
				sg_leaf_addr(e, va, va & (MMRT_PAGE_SIZE - 1),
					&addr, &iova);
				ret = mm_sg_acc_add(acc, addr, iova, len);
				if (ret != 0)
					return ret;
				va += len;
			}
		}
	}
	return mm_sg_acc_close(acc);
}

/* The walk of a caller that is not an online poller: under the map lock. */
static __rte_noinline int
sg_walk_locked(struct mmrt_as *as, uint64_t va, uint64_t end,
	uint32_t access, struct mm_sg_acc *acc)
{
	int ret;

	mm_read_lock(&as->map_lock, MM_LC_MAP);
	ret = sg_walk(as, va, end, access, acc);
	mm_read_unlock(&as->map_lock, MM_LC_MAP);
	return ret;
}

int
mmrt_translate_sg(struct mmrt_as *as, uint64_t va, uint64_t len,
	uint32_t access, struct mmrt_sg *sg, unsigned int n)
{
	struct mm_sg_acc acc;
	int ret;

	if (!mm_as_live(as) || !mmrt_range_valid(va, len) ||
			(access & ~(MMRT_ACCESS_READ | MMRT_ACCESS_WRITE)) ||
			(sg == NULL && n != 0))
		return -EINVAL;
	mm_sg_acc_init(&acc, sg, n);
	/*
	 * The online poller's walk inline, one copy per kind of access
	 * (the masks of the page test are then constants; sg_walk() reads
	 * only the write bit); the locked walk out of line.
	 */
	if (likely(mmrt_thread_is_online())) {
		if (access & MMRT_ACCESS_WRITE)
			ret = sg_walk(as, va, va + len, MMRT_ACCESS_WRITE,
				&acc);
		else
			ret = sg_walk(as, va, va + len, MMRT_ACCESS_READ,
				&acc);
	} else
		ret = sg_walk_locked(as, va, va + len, access, &acc);
	if (ret != 0)
		return ret;
	if (acc.cnt > INT32_MAX)
		return -ENOSPC;
	return (int)acc.cnt;
}

/* ---- reverse lookup ---------------------------------------------------- */

struct rl_ctx {
	uint64_t h;             /* the host address */
	uint32_t pfn;           /* its pool frame, or MMRT_PFN_NONE */
	rte_iova_t iova;        /* its DPDK IOVA (the mirror), or BAD */
	int (*cb)(struct mmrt_as *as, uint64_t va, void *arg);
	void *arg;
	int found;
	int err;
	/* the VAs found in the space being scanned */
	uint64_t *va;
	uint32_t nva;
	uint32_t cap;
};

static int
rl_add(struct rl_ctx *c, uint64_t va)
{
	uint64_t *nv;

	if (c->nva == c->cap) {
		uint32_t cap = c->cap ? c->cap * 2 : 16;

		nv = TEST_ALLOC_FAIL() ? NULL :
			realloc(c->va, cap * sizeof(*nv));
		if (nv == NULL)
			return -ENOMEM;
		c->va = nv;
		c->cap = cap;
	}
	c->va[c->nva++] = va;
	return 0;
}

/* The leaves in [start, end) under table @tbl at @level that map c->pfn. */
static int
rl_scan(struct rl_ctx *c, uint32_t tbl, unsigned int level, uint64_t start,
	uint64_t end)
{
	uint64_t size = level_size(level), va, next, e;
	const uint64_t *t = pt_table(tbl);
	uint32_t pfn;
	int ret;

	for (va = start; va < end; va = next) {
		next = RTE_MIN((va | (size - 1)) + 1, end);
		e = pte_load(&t[level_index(va, level)]);
		if (e == 0)
			continue;
		if (e & PTE_T) {
			if (level > MM_LEVEL_PTE) {
				ret = rl_scan(c, pte_pfn(e), level - 1, va,
					next);
				if (ret != 0)
					return ret;
			}
			continue;
		}
		if (!pte_has_frame(e) || pte_is_host(e))
			continue;
		pfn = pte_pfn(e);
		if (level == MM_LEVEL_PMD && (e & PTE_H)) {
			uint64_t leaf = va & ~(MMRT_HUGE_SIZE - 1);
			uint64_t at = leaf + ((uint64_t)(c->pfn - pfn) <<
				MMRT_PAGE_SHIFT);

			if (c->pfn >= pfn && c->pfn < pfn + MMRT_HUGE_NR &&
					at >= va && at < next) {
				ret = rl_add(c, at);
				if (ret != 0)
					return ret;
			}
			continue;
		}
		if (level == MM_LEVEL_PTE && pfn == c->pfn) {
			ret = rl_add(c, va);
			if (ret != 0)
				return ret;
		}
	}
	return 0;
}

/* Map lock held: collect the VAs of c->h in @as. */
static int
rl_space_locked(struct mmrt_as *as, struct rl_ctx *c)
{
	uint64_t page = c->h & ~(MMRT_PAGE_SIZE - 1), *p, e;
	const struct mm_region *r;
	uint32_t i, tbl;
	bool huge;
	int ret = 0, err;

	for (i = 0; i < as->nr_regions && ret == 0; i++) {
		r = &as->regions[i];
		if (r->flags & REGION_MIRROR) {
			if (c->iova == RTE_BAD_IOVA || c->iova < r->start ||
					c->iova >= r->end)
				continue;
			p = mm_pt_leaf(as, c->iova, false, &tbl, &huge, &err);
			if (p == NULL)
				continue;
			e = pte_load(p);
			if (huge)
				e += c->iova & (MMRT_HUGE_SIZE - 1);
			if (pte_has_frame(e) && pte_is_host(e) &&
					pte_host_addr(e) == page)
				ret = rl_add(c, c->iova);
		} else if (r->flags & REGION_HOST) {
			if (c->h >= r->obj_off &&
					c->h - r->obj_off < r->end - r->start)
				ret = rl_add(c, r->start + (c->h - r->obj_off));
		} else if (c->pfn != MMRT_PFN_NONE) {
			ret = rl_scan(c, as->core.pgd, PT_LEVELS, r->start,
				r->end);
		}
	}
	return ret;
}

static int
rl_space(struct mmrt_as *as, void *arg)
{
	struct rl_ctx *c = arg;
	uint64_t off = c->h & (MMRT_PAGE_SIZE - 1);
	uint32_t k;
	int ret;

	c->nva = 0;
	mm_read_lock(&as->map_lock, MM_LC_MAP);
	ret = rl_space_locked(as, c);
	mm_read_unlock(&as->map_lock, MM_LC_MAP);
	if (ret != 0) {
		c->err = ret;
		return 1;
	}
	for (k = 0; k < c->nva; k++) {
		c->found++;
		/* the pool-frame VAs are page starts; host ones are exact */
		if (c->cb != NULL && c->cb(as, (c->va[k] &
				~(MMRT_PAGE_SIZE - 1)) | off, c->arg) != 0)
			return 1;
	}
	return 0;
}

int
mmrt_host_lookup(const void *addr,
	int (*cb)(struct mmrt_as *as, uint64_t va, void *arg), void *arg)
{
	struct rl_ctx c;
	const struct rte_memseg_list *msl;
	const struct rte_memseg *ms;
	const struct mmrt_frame *f;
	int ret;

	if (addr == NULL)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.h = (uint64_t)(uintptr_t)addr;
	c.cb = cb;
	c.arg = arg;
	c.pfn = mmrt_addr_to_pfn(addr);
	if (c.pfn != MMRT_PFN_NONE) {
		f = mmrt_frame_meta(c.pfn);
		if (c.pfn == mmrt_zero_pfn() || f == NULL ||
				(__atomic_load_n(&f->flags, __ATOMIC_RELAXED) &
				MMRT_FRAME_PT))
			return -EINVAL;
	}
	/* the mirror maps each DPDK segment at its IOVA */
	c.iova = RTE_BAD_IOVA;
	msl = rte_mem_virt2memseg_list(addr);
	ms = msl != NULL ? rte_mem_virt2memseg(addr, msl) : NULL;
	if (ms != NULL && ms->iova != RTE_BAD_IOVA)
		c.iova = (ms->iova + (c.h - (uint64_t)(uintptr_t)ms->addr)) &
			~(rte_iova_t)(MMRT_PAGE_SIZE - 1);
	{
		/* map locks are waited for: not as an online poller */
		MM_BLOCKING_BEGIN();
		ret = mmrt_as_foreach(rl_space, &c);
		MM_BLOCKING_END();
	}
	free(c.va);
	if (ret < 0)
		return ret;
	if (c.err != 0)
		return c.err;
	return c.found > 0 ? c.found : -ENOENT;
}

struct rl_first {
	struct mmrt_as *as;
	uint64_t va;
};

static int
rl_first_cb(struct mmrt_as *as, uint64_t va, void *arg)
{
	struct rl_first *f = arg;

	f->as = as;
	f->va = va;
	return 1;
}

int
mmrt_host_to_va(const void *addr, struct mmrt_as **as_out, uint64_t *va_out)
{
	struct rl_first f = { NULL, 0 };
	int ret;

	if (addr == NULL || as_out == NULL || va_out == NULL)
		return -EINVAL;
	ret = mmrt_host_lookup(addr, rl_first_cb, &f);
	if (ret < 0)
		return ret;
	*as_out = f.as;
	*va_out = f.va;
	return 0;
}
