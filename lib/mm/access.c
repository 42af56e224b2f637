/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * CPU accessors (mmrt_read/mmrt_write) and merge.
 *
 * The accessors copy under the PT lock of the leaf they use, so the frame
 * keeps the reference of that leaf for the whole copy: nothing can clear
 * the leaf (zap and copy-on-write take the same lock, unmap excludes us by
 * the map lock) and so nothing can free the frame under the copy.
 */

#include <errno.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_rwlock.h>

#include "mm_locking.h"
#include "mm_pte.h"
#include "mm_host_pte.h"
#include "mm_pin_frame.h"
#include "mm_as.h"
#include "mm_region.h"
#include "mm_notify.h"
#include "mm_pgtable.h"
#include "mm_uffd.h"
#include "mm_fault.h"

/*
 * Under the PT lock of @tbl: if the leaf at @p grants @pmask (and, with
 * @huge, is a 2 MiB leaf), copy @n bytes at @va through it (nothing with
 * @buf NULL). @return whether the leaf granted the access.
 */
static bool
leaf_access(uint32_t tbl, uint64_t *p, uint64_t pmask, bool huge,
	uint64_t va, uint8_t *buf, size_t n, bool write)
{
	uint64_t size = huge ? MMRT_HUGE_SIZE : MMRT_PAGE_SIZE;
	uint64_t e;
	bool ok;

	mm_spin_lock(pt_lock(tbl), MM_LC_PT);
	e = pte_load(p);
	ok = (!huge || (e & PTE_H)) && (e & pmask) == pmask;
	if (ok && write && !(e & PTE_D)) {
		/* clean since a harvest: this write marks it dirty */
		pte_store(p, e | PTE_D | PTE_A);
	}
	if (ok && buf != NULL) {
		uint8_t *a = pte_leaf_addr(e) + (va & (size - 1));

		if (write)
			memcpy(a, buf, n);
		else
			memcpy(buf, a, n);
	}
	mm_spin_unlock(pt_lock(tbl), MM_LC_PT);
	return ok;
}

/*
 * Copy within one page, faulting as needed; with @buf NULL only make the
 * page grant the access (fault it in), copying nothing. Read map lock held.
 */
static int
access_page(struct mmrt_as *as, uint64_t va, uint8_t *buf, size_t n,
	bool write, struct mm_fault_wait *w)
{
	uint64_t pmask = write ? (PTE_P | PTE_W) : PTE_P;
	uint32_t tbl;
	uint64_t *p;
	int err;

	for (;;) {
		p = mm_pt_walk(as, va, MM_LEVEL_PMD, false, &tbl, &err);
		if (p != NULL && (pte_load(p) & PTE_H)) {
			if (leaf_access(tbl, p, pmask, true, va, buf, n, write))
				return 0;
		} else if (p != NULL) {
			p = mm_pt_walk(as, va, MM_LEVEL_PTE, false, &tbl, &err);
			if (p != NULL && leaf_access(tbl, p, pmask, false, va,
					buf, n, write))
				return 0;
		}
		err = mm_fault_locked(as, va, write ? MMRT_ACCESS_WRITE :
			MMRT_ACCESS_READ, w);
		if (err != 0)
			return err;
	}
}

/*
 * The regions of [va, end) allow the access: 0, or the error the fault of
 * the first page that does not would return (-EFAULT, -EACCES). Only a
 * layout change alters the answer, and it takes the write map lock: while
 * the read map lock is held it stays true. Read map lock held.
 */
static int
access_allowed(const struct mmrt_as *as, uint64_t va, uint64_t end,
	bool write)
{
	const struct mm_region *r;
	int i;

	while (va < end) {
		i = mm_region_find(as, va);
		if (i < 0)
			return -EFAULT;
		r = &as->regions[i];
		if (r->prot == MMRT_PROT_NONE ||
				(write && !(r->prot & MMRT_PROT_WRITE)))
			return -EACCES;
		va = r->end;
	}
	return 0;
}

/*
 * One pass over the pages of [va, va + len): fault each in (@buf NULL) or
 * copy. Returns 0 or the first page's error (MM_FAULT_POSTED included),
 * with *done the bytes of the pages before it.
 */
static int
access_pass(struct mmrt_as *as, uint64_t va, uint8_t *buf, size_t len,
	bool write, struct mm_fault_wait *w, size_t *done)
{
	size_t off = 0, n;
	int ret = 0;

	while (off < len) {
		n = RTE_MIN(len - off, (size_t)(MMRT_PAGE_SIZE -
			((va + off) & (MMRT_PAGE_SIZE - 1))));
		ret = access_page(as, va + off, buf == NULL ? NULL : buf + off,
			n, write, w);
		if (ret != 0)
			break;
		off += n;
	}
	*done = off;
	return ret;
}

/*
 * A failed access copies nothing. The range is checked and, when it spans
 * more than one page, faulted in (waiting for userfaults) before the first
 * byte is copied; the copy then runs in the same read map lock hold, so
 * the regions cannot change under it. Only a leaf emptied under the read
 * map lock between the two passes (mmrt_advise(), mmrt_uffd_writeprotect(),
 * a page poisoned) makes the copy fault again, and if that fault fails or
 * must wait with NOWAIT, the pages before it are already copied: that is
 * the one partial result, and the headers say so.
 */
static int
access_range(struct mmrt_as *as, uint64_t va, void *buf, size_t len,
	bool write, uint32_t flags)
{
	struct mm_fault_wait w;
	uint8_t *b = buf;
	size_t done;
	int ret = 0;

	if (!mm_as_live(as) || buf == NULL || !mmrt_range_valid(va, len) ||
			(flags & ~MMRT_ACCESS_NOWAIT))
		return -EINVAL;
	mm_fault_wait_init(&w, flags);
	w.requester = (uint32_t)rte_gettid();
	MM_BLOCKING_BEGIN();
	mm_read_lock(&as->map_lock, MM_LC_MAP);
	for (;;) {
		ret = access_allowed(as, va, va + len, write);
		if (ret != 0)
			break;
		/* within one page the copy itself is all or nothing */
		if ((va & (MMRT_PAGE_SIZE - 1)) + len > MMRT_PAGE_SIZE)
			ret = access_pass(as, va, NULL, len, write, &w, &done);
		if (ret == 0) {
			ret = access_pass(as, va, b, len, write, &w, &done);
			va += done;
			b += done;
			len -= done;
		}
		if (ret != MM_FAULT_POSTED)
			break;
		/* a userfault: wait for its wake without the lock */
		mm_read_unlock(&as->map_lock, MM_LC_MAP);
		ret = w.nowait ? -EAGAIN : mm_uffd_wait(&w);
		if (ret != 0)
			goto out;
		mm_read_lock(&as->map_lock, MM_LC_MAP);
	}
	mm_read_unlock(&as->map_lock, MM_LC_MAP);
out:
	MM_BLOCKING_END();
	return ret;
}

int
mmrt_read(struct mmrt_as *as, uint64_t va, void *buf, size_t len)
{
	return access_range(as, va, buf, len, false, 0);
}

int
mmrt_write(struct mmrt_as *as, uint64_t va, const void *buf, size_t len)
{
	return access_range(as, va, (void *)(uintptr_t)buf, len, true, 0);
}

int
mmrt_read_flags(struct mmrt_as *as, uint64_t va, void *buf, size_t len,
	uint32_t flags)
{
	return access_range(as, va, buf, len, false, flags);
}

int
mmrt_write_flags(struct mmrt_as *as, uint64_t va, const void *buf,
	size_t len, uint32_t flags)
{
	return access_range(as, va, (void *)(uintptr_t)buf, len, true, flags);
}

/* Leaf of an anonymous 4 KiB page for merge; -errno if not mergeable. */
static int
merge_leaf(struct mmrt_as *as, uint64_t va, uint32_t *tbl, uint64_t **pte)
{
	int i = mm_region_find(as, va), err;
	uint64_t *p;

	if (i < 0)
		return -EFAULT;
	if (as->regions[i].flags & REGION_OBJECT)
		return -EINVAL;
	p = mm_pt_walk(as, va, MM_LEVEL_PMD, false, tbl, &err);
	if (p == NULL)
		return -ENOENT;
	if (pte_load(p) & PTE_H)
		return -EINVAL;
	*pte = mm_pt_walk(as, va, MM_LEVEL_PTE, false, tbl, &err);
	if (*pte == NULL)
		return err == -EEXIST ? -EINVAL : -ENOENT;
	return 0;
}

/*
 * The owner of merge's CLEAR ranges: a merge never replaces a pinned
 * page (merge_check under the PT locks), so pins need not be revoked by
 * its invalidation (pin.c).
 */
const char mm_merge_owner = 0;

/* A leaf merge may use: present, anonymous, a frame of its own, not
 * pinned (mm_pin_frame.h: a pin keeps its frame mapped where it is). */
static int
merge_check(uint64_t e)
{
	uint32_t pfn = pte_pfn(e);

	if (!(e & PTE_P))
		return -ENOENT;
	if (pte_is_host(e))
		return -EINVAL; /* the caller's memory: never merged */
	if (pfn != mmrt_zero_pfn() && frame_owner(pfn) != pfn)
		return -EINVAL; /* part of a huge frame */
	if (pfn != mmrt_zero_pfn() && mm_frame_pinned(pfn))
		return -EBUSY;
	return 0;
}

int
mmrt_merge(struct mmrt_as *as_a, uint64_t va_a, struct mmrt_as *as_b,
	uint64_t va_b)
{
	struct mmrt_notifier_range ra, rb;
	struct mmrt_as *first, *second;
	uint32_t ta, tb, pa_pfn = 0, pb_pfn = 0;
	uint64_t *pa, *pb, ea, eb;
	bool flush_a = false, flush_b = false;
	int ret;

	if (!mm_as_live(as_a) || !mm_as_live(as_b) ||
			((va_a | va_b) & (MMRT_PAGE_SIZE - 1)) != 0 ||
			va_a >= MMRT_VA_LIMIT || va_b >= MMRT_VA_LIMIT ||
			(as_a == as_b && va_a == va_b))
		return -EINVAL;
	first = as_a < as_b ? as_a : as_b;
	second = as_a < as_b ? as_b : as_a;
	MM_BLOCKING_BEGIN();
	mm_read_lock(&first->map_lock, MM_LC_MAP);
	if (second != first)
		mm_read_lock_nested(&second->map_lock, MM_LC_MAP);
	ret = merge_leaf(as_a, va_a, &ta, &pa);
	if (ret == 0)
		ret = merge_leaf(as_b, va_b, &tb, &pb);
	if (ret != 0)
		goto unlock_map;
	/* a pinned page is refused before anything is write-protected (and
	 * again under the PT locks, where a pin may have come meanwhile) */
	ret = merge_check(pte_load(pa));
	if (ret == -EBUSY || (ret = merge_check(pte_load(pb))) == -EBUSY)
		goto unlock_map;
	/* both leaves are write-protected, b's is replaced: notify first */
	mm_range_init(&ra, as_a, MMRT_NOTIFY_CLEAR, true, va_a,
		va_a + MMRT_PAGE_SIZE, (void *)(uintptr_t)&mm_merge_owner);
	mm_range_init(&rb, as_b, MMRT_NOTIFY_CLEAR, true, va_b,
		va_b + MMRT_PAGE_SIZE, (void *)(uintptr_t)&mm_merge_owner);
	mm_notify_start(&ra);
	mm_notify_start(&rb);
	mm_pt_lock_pair(ta, tb);
	ea = pte_load(pa);
	eb = pte_load(pb);
	ret = merge_check(ea);
	if (ret == 0)
		ret = merge_check(eb);
	if (ret != 0)
		goto unlock_pt;
	pa_pfn = pte_pfn(ea);
	pb_pfn = pte_pfn(eb);
	if (pa_pfn == pb_pfn) {
		ret = 1;
		goto unlock_pt;
	}
	/* write-protect both, and flush, before comparing contents */
	if (ea & PTE_W) {
		pte_store(pa, ea & ~PTE_W);
		flush_a = true;
	}
	if (eb & PTE_W) {
		pte_store(pb, eb & ~PTE_W);
		flush_b = true;
	}
	if (flush_a)
		mm_notify_invalidate(as_a, va_a, va_a + MMRT_PAGE_SIZE, false);
	if (flush_b)
		mm_notify_invalidate(as_b, va_b, va_b + MMRT_PAGE_SIZE, false);
	if (memcmp(mmrt_frame_addr(pa_pfn), mmrt_frame_addr(pb_pfn),
			MMRT_PAGE_SIZE) != 0) {
		ret = -EAGAIN;
		goto unlock_pt;
	}
	if (pa_pfn != mmrt_zero_pfn()) {
		struct mmrt_frame *f = mmrt_frame_meta(pa_pfn);

		__atomic_fetch_add(&f->refcount, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&f->mapcount, 1, __ATOMIC_RELAXED);
	}
	/* identical contents, write-protected: the flush may come last */
	pte_store(pb, pte_mk(pa_pfn, (eb & ~(PTE_PFN_MASK | PTE_W))));
	ret = 0;
unlock_pt:
	mm_pt_unlock_pair(ta, tb);
	if (ret == 0) {
		mm_notify_invalidate(as_b, va_b, va_b + MMRT_PAGE_SIZE, false);
		if (pb_pfn != mmrt_zero_pfn()) {
			__atomic_fetch_sub(&mmrt_frame_meta(pb_pfn)->mapcount, 1,
				__ATOMIC_RELAXED);
			mm_frame_release(as_b, pb_pfn);
		} else {
			MM_STAT_ADD(as_b, rss_pages, 1);
		}
		if (pa_pfn == mmrt_zero_pfn())
			MM_STAT_ADD(as_b, rss_pages, -1);
	}
	mm_notify_end(&rb);
	mm_notify_end(&ra);
unlock_map:
	if (second != first)
		mm_read_unlock(&second->map_lock, MM_LC_MAP);
	mm_read_unlock(&first->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
	return ret;
}
