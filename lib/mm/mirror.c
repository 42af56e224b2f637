/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The DPDK-memory mirror: a space whose one region (REGION_HOST |
 * REGION_MIRROR) covers all of it, with a host leaf at VA = IOVA for
 * every byte of DPDK memory (PTE_HIOVA_VA: the IOVA is the VA, so the
 * mirror is right under IOVA-as-PA too). The layout never changes, so no
 * path below allocates with rte_malloc once the space exists.
 *
 * Keeping it current. Creation walks the segments under
 * rte_mcfg_mem_read_lock() and registers the memory event callback inside
 * the same section: DPDK changes its memory under the write side of that
 * lock, so no change falls between the walk and the registration. The
 * callback runs with DPDK's hotplug lock (and, on free, a heap lock)
 * held; it takes the mirror's write map lock, installs leaves (ALLOC) or
 * zaps them (FREE) with the full invalidation: the gather's device flush
 * waits for every consumer's ack before the callback returns, so DPDK
 * unmaps the pages only after no consumer can reach them. Page-table
 * pages come from the frame pool; the zap frees no tables (they stay
 * until the mirror is destroyed), so the gather needs no batch.
 *
 * Lock order added by the mirror (outermost first): the ext lock
 * (creation, external memory: below) -> DPDK's memory hotplug lock (and
 * heap lock) -> the mirror's map_lock (write) -> PT locks. Nothing of
 * mmrt takes a DPDK lock under a mirror's map lock:
 * rte_malloc under it happens only in map/unmap/remap/uffd-register,
 * which the mirror's contract forbids.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "mm_locking.h"
#include "mm_testhooks.h"
#include "mm_pte.h"
#include "mm_host_pte.h"
#include "mm_as.h"
#include "mm_region.h"
#include "mm_notify.h"
#include "mm_gather.h"
#include "mm_pgtable.h"
#include "mm_host.h"
#include "mmrt_notifier.h"

#define MIRROR_BITS (PTE_P | PTE_A | PTE_W | PTE_D | PTE_HIOVA_VA)

/* Map [host, host + len) at @iova (write map lock held). */
static int
mirror_add(struct mmrt_as *as, const void *host, rte_iova_t iova, size_t len)
{
	int ret;

	if (iova == RTE_BAD_IOVA || len == 0 || iova >= MMRT_VA_LIMIT ||
			len > MMRT_VA_LIMIT - iova ||
			(((uint64_t)iova | (uintptr_t)host | len) &
			(MMRT_PAGE_SIZE - 1)) != 0)
		return 0; /* no IOVA, or none a space can hold: not mirrored */
	ret = mm_host_install(as, iova, (uintptr_t)host, len, MIRROR_BITS);
	if (ret != 0)
		MMRT_LOG(ERR, mm, "mirror %s: cannot map IOVA 0x%" PRIx64
			" (+%zu): %d", as->name, (uint64_t)iova, len, ret);
	return ret;
}

/* Unmap [iova, iova + len) with the full invalidation (write map lock). */
static void
mirror_remove(struct mmrt_as *as, rte_iova_t iova, size_t len)
{
	struct mm_gather tlb;
	struct mm_zap z = { .tlb = &tlb, .free_tables = false,
		.locked = false };
	struct mmrt_notifier_range r;

	if (iova == RTE_BAD_IOVA || iova >= MMRT_VA_LIMIT ||
			len > MMRT_VA_LIMIT - iova)
		return;
	/* a 2 MiB leaf across the edge keeps its other part */
	if (mm_split_huge_at(as, iova, false) != 0 ||
			mm_split_huge_at(as, iova + len, false) != 0)
		MMRT_LOG(ERR, mm, "mirror %s: no table to split at 0x%" PRIx64
			": leaves beside it go too", as->name,
			(uint64_t)iova);
	mm_range_init(&r, as, MMRT_NOTIFY_UNMAP, true, iova, iova + len, NULL);
	mm_notify_start(&r);
	mm_gather_init(&tlb, as, false);
	mm_zap_range(as, &z, iova & ~(MMRT_PAGE_SIZE - 1),
		RTE_ALIGN_CEIL(iova + len, MMRT_PAGE_SIZE));
	mm_gather_finish(&tlb);
	mm_notify_end(&r);
}

/*
 * DPDK's memory event: [addr, addr + len) was allocated, or is about to
 * be freed. Runs with the hotplug lock held: no rte_malloc, no memseg
 * walk; rte_mem_virt2memseg() takes no lock.
 */
static void
mirror_event(enum rte_mem_event type, const void *addr, size_t len,
	void *arg)
{
	struct mm_mirror *m = arg;
	struct mmrt_as *as = m->as;
	const struct rte_memseg_list *msl;
	const struct rte_memseg *ms;
	const uint8_t *p = addr, *end = p + len;

	msl = rte_mem_virt2memseg_list(addr);
	if (msl == NULL)
		return;
	MM_BLOCKING_BEGIN();
	mm_write_lock(&as->map_lock, MM_LC_MAP);
	while (p < end) {
		size_t n;

		ms = rte_mem_virt2memseg(p, msl);
		if (ms == NULL || ms->len == 0) {
			p += msl->page_sz;
			continue;
		}
		n = RTE_MIN((size_t)(end - p),
			(size_t)((const uint8_t *)ms->addr + ms->len - p));
		if (type == RTE_MEM_EVENT_ALLOC)
			(void)mirror_add(as, p, ms->iova +
				(rte_iova_t)(p - (const uint8_t *)ms->addr), n);
		else
			mirror_remove(as, ms->iova +
				(rte_iova_t)(p - (const uint8_t *)ms->addr), n);
		p += n;
	}
	mm_write_unlock(&as->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
}

/*
 * Segment walk at creation. rte_memseg_contig_walk() gives VA-contiguous
 * runs whose IOVAs need not be contiguous (IOVA-as-PA), so walk segment by
 * segment and coalesce the runs contiguous in both, which under
 * IOVA-as-VA (and --no-huge's 4 KiB segments) gives long runs and 2 MiB
 * leaves.
 */
struct mirror_run {
	struct mmrt_as *as;
	const uint8_t *host;
	rte_iova_t iova;
	size_t len;
	int err;
};

static void
mirror_run_flush(struct mirror_run *run)
{
	if (run->len > 0 && run->err == 0)
		run->err = mirror_add(run->as, run->host, run->iova, run->len);
	run->len = 0;
}

static int
mirror_walk(const struct rte_memseg_list *msl, const struct rte_memseg *ms,
	void *arg)
{
	struct mirror_run *run = arg;

	if (msl->external && !msl->heap)
		return 0; /* bare rte_extmem_register(): an external range */
	if (ms->addr == NULL || ms->len == 0 || ms->iova == RTE_BAD_IOVA)
		return 0;
	if (run->len > 0 && (const uint8_t *)ms->addr == run->host +
			run->len && ms->iova == run->iova + run->len) {
		run->len += ms->len;
		return 0;
	}
	mirror_run_flush(run);
	run->host = ms->addr;
	run->iova = ms->iova;
	run->len = ms->len;
	return run->err != 0 ? -1 : 0;
}

/*
 * ---- External memory ----
 *
 * DPDK 22.11 reports no memory event for rte_extmem_register() (only
 * rte_malloc_heap_memory_add() and heap growth fire one, and the callback
 * above follows those), so a mirror follows external memory two ways,
 * both explicit:
 *
 * - mmrt_mirror_dma_map()/mmrt_mirror_dma_unmap() (what a dma_mmrt
 *   device's rte_dev_dma_map()/rte_dev_dma_unmap() call): a process-wide
 *   registry of {host, IOVA, length} that every mirror maps, those made
 *   later included;
 * - mmrt_as_mirror_sync(): a rescan of the bare external memseg lists
 *   (msl->external && !msl->heap), mapping runs not yet mirrored and
 *   unmapping runs that are gone.
 *
 * Each mirror keeps the external ranges it maps in m->ext, with the
 * sources that keep each one there (MM_EXT_SEG, MM_EXT_MAP): an extmem
 * area that is also dma-mapped, with the same IOVAs and bounds, is one
 * entry with both bits and stays mapped until both let go. Anything else
 * that overlaps is refused (-EEXIST): the leaves of a mirror have one
 * translation per IOVA.
 *
 * Locking: the ext lock (host.c, a mutex) serializes all of this and
 * mirror creation; under it, DPDK's memory read lock for a rescan (taken
 * and dropped before any leaf changes, so no consumer ack is awaited
 * with DPDK's memory lock held) and a mirror's write map lock for its
 * leaves. The memory event callback takes neither the ext lock nor
 * m->ext: it maps and unmaps only DPDK's own and heap memory, and an
 * entry of m->ext is made only where the mirror had no leaf (a dma map
 * of DPDK's memory at its own IOVAs makes none and leaves it to the
 * events). Memory DPDK adds later at IOVAs an entry holds is refused by
 * the callback's install (logged). A removal is mirror_remove()'s full
 * invalidation: when the call returns, no consumer of the mirror uses
 * the range (invariant A).
 */

/* The process's dma-mapped ranges (ext lock), IOVA-disjoint. */
static struct mm_ext_range *dmamaps;
static unsigned int nb_dmamaps, cap_dmamaps;

/* Room for @more entries in @tab (ext lock held; never under a map
 * lock). 0 or -ENOMEM, @tab unchanged on failure. */
static int
ext_reserve(struct mm_ext_range **tab, unsigned int n, unsigned int *cap,
	unsigned int more)
{
	struct mm_ext_range *t;
	unsigned int c;

	if (n + more <= *cap)
		return 0;
	c = RTE_MAX(n + more, *cap * 2);
	c = RTE_MAX(c, 8u);
	t = TEST_ALLOC_FAIL() ? NULL : realloc(*tab, (size_t)c * sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	*tab = t;
	*cap = c;
	return 0;
}

/* Index of the entry of @tab overlapping [iova, iova + len), or -1. */
static int
ext_overlap(const struct mm_ext_range *tab, unsigned int n, uint64_t iova,
	uint64_t len)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (iova < tab[i].iova + tab[i].len && tab[i].iova < iova + len)
			return (int)i;
	return -1;
}

/* Index of the entry of @tab equal to @r (bounds and host), or -1. */
static int
ext_exact(const struct mm_ext_range *tab, unsigned int n,
	const struct mm_ext_range *r)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (tab[i].iova == r->iova && tab[i].len == r->len &&
				tab[i].host == r->host)
			return (int)i;
	return -1;
}

static void
ext_del(struct mm_ext_range *tab, unsigned int *n, unsigned int i)
{
	tab[i] = tab[--*n];
}

/* Can a mirror hold @r at all (mirror_add()'s conditions)? */
static bool
ext_mirrorable(const struct mm_ext_range *r)
{
	return r->len > 0 && r->iova < MMRT_VA_LIMIT &&
		r->len <= MMRT_VA_LIMIT - r->iova &&
		((r->iova | r->host | r->len) & (MMRT_PAGE_SIZE - 1)) == 0;
}

/*
 * What the mirror has at [r->iova, +len) (write map lock held): 0 no leaf
 * anywhere, 1 a leaf on every page mapping @r's own host page (memory
 * DPDK's events keep there), -EEXIST anything else. Walks page by page,
 * a 2 MiB leaf or a missing table at once.
 */
static int
ext_range_state(struct mmrt_as *as, const struct mm_ext_range *r)
{
	uint64_t va = r->iova, end = r->iova + r->len, *p, e, step;
	bool huge, some = false, hole = false;
	uint32_t tbl;
	int err;

	while (va < end) {
		p = mm_pt_leaf(as, va, false, &tbl, &huge, &err);
		step = huge || p == NULL ?
			MMRT_HUGE_SIZE - (va & (MMRT_HUGE_SIZE - 1)) :
			MMRT_PAGE_SIZE;
		step = RTE_MIN(step, end - va);
		e = p != NULL ? pte_load(p) : 0;
		if (e == 0) {
			hole = true; /* no table below the PMD: 2 MiB of it */
		} else {
			uint64_t base = huge ? va & ~(MMRT_HUGE_SIZE - 1) :
				va & ~(MMRT_PAGE_SIZE - 1);

			some = true;
			if (!pte_is_host(e) || pte_host_addr(e) + (va - base) !=
					r->host + (va - r->iova))
				return -EEXIST;
		}
		if (some && hole)
			return -EEXIST;
		va += step;
	}
	return some ? 1 : 0;
}

/*
 * Give mirror @m the range @r for source @src (ext lock held, room for
 * one more entry reserved): join the equal entry, or map it where the
 * mirror has nothing (or, for MM_EXT_MAP, take DPDK's own mapping of the
 * same memory at the same IOVAs as it is). 0, -EEXIST (overlaps
 * something else), or the install's error (nothing stays mapped).
 */
static int
ext_give(struct mm_mirror *m, const struct mm_ext_range *r, uint32_t src)
{
	struct mmrt_as *as = m->as;
	int i, ret;

	i = ext_exact(m->ext, m->nb_ext, r);
	if (i >= 0) {
		if (m->ext[i].owners & src)
			return -EEXIST;
		m->ext[i].owners |= src;
		return 0;
	}
	if (ext_overlap(m->ext, m->nb_ext, r->iova, r->len) >= 0)
		return -EEXIST;
	MM_BLOCKING_BEGIN();
	mm_write_lock(&as->map_lock, MM_LC_MAP);
	ret = ext_range_state(as, r);
	if (ret == 0) {
		ret = mm_host_install(as, r->iova, r->host, r->len,
			MIRROR_BITS);
		/* leaves already published may have been walked */
		if (ret != 0)
			mirror_remove(as, r->iova, r->len);
	} else if (ret == 1) {
		/* DPDK memory (a heap's external memory, say) at its own
		 * IOVAs: mirrored by the events already, and theirs to
		 * remove. A dma map of it is a no-op here, as VFIO takes an
		 * already mapped range; a sync never finds such a run. */
		ret = src == MM_EXT_MAP ? 1 : -EEXIST;
	}
	mm_write_unlock(&as->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
	if (ret == 1)
		return 0; /* no entry: the unmap leaves it to DPDK */
	if (ret != 0)
		return ret;
	m->ext[m->nb_ext] = *r;
	m->ext[m->nb_ext].owners = src;
	m->nb_ext++;
	return 0;
}

/*
 * Source @src lets go of entry @i of @m (ext lock held); the last one
 * unmaps it with the full invalidation. May wait for consumer acks.
 */
static void
ext_take(struct mm_mirror *m, unsigned int i, uint32_t src)
{
	struct mmrt_as *as = m->as;

	m->ext[i].owners &= ~src;
	if (m->ext[i].owners != 0)
		return;
	MM_BLOCKING_BEGIN();
	mm_write_lock(&as->map_lock, MM_LC_MAP);
	mirror_remove(as, m->ext[i].iova, m->ext[i].len);
	mm_write_unlock(&as->map_lock, MM_LC_MAP);
	MM_BLOCKING_END();
	ext_del(m->ext, &m->nb_ext, i);
}

/* The runs of bare external memory, one list per rescan. */
struct ext_runs {
	struct mm_ext_range *r;
	unsigned int n, cap;
	const struct rte_memseg_list *msl; /* of the last run */
	int err;
};

/*
 * A run is contiguous in host address and IOVA and within one memseg
 * list: two areas registered side by side stay two runs, so that the
 * unregistration of one never takes the other's leaves away even for a
 * moment.
 */
static int
ext_seg_walk(const struct rte_memseg_list *msl, const struct rte_memseg *ms,
	void *arg)
{
	struct ext_runs *x = arg;
	struct mm_ext_range *last = x->n > 0 ? &x->r[x->n - 1] : NULL;

	if (!msl->external || msl->heap || ms->addr == NULL ||
			ms->len == 0 || ms->iova == RTE_BAD_IOVA)
		return 0;
	if (last != NULL && x->msl == msl &&
			last->host + last->len == (uintptr_t)ms->addr &&
			last->iova + last->len == ms->iova) {
		last->len += ms->len;
		return 0;
	}
	if (ext_reserve(&x->r, x->n, &x->cap, 1) != 0) {
		x->err = -ENOMEM;
		return -1;
	}
	x->r[x->n].host = (uintptr_t)ms->addr;
	x->r[x->n].iova = ms->iova;
	x->r[x->n].len = ms->len;
	x->r[x->n].owners = MM_EXT_SEG;
	x->r[x->n].refs = 0;
	x->n++;
	x->msl = msl;
	return 0;
}

/* Collect the runs (ext lock held, DPDK's memory lock not). */
static int
ext_runs_collect(struct ext_runs *x)
{
	memset(x, 0, sizeof(*x));
	rte_mcfg_mem_read_lock();
	(void)rte_memseg_walk_thread_unsafe(ext_seg_walk, x);
	rte_mcfg_mem_read_unlock();
	if (x->err != 0) {
		free(x->r);
		x->r = NULL;
	}
	return x->err;
}

/*
 * Bring @m's MM_EXT_SEG entries to @x (ext lock held): the runs gone
 * first (an area re-registered at the same IOVAs with other memory is
 * unmapped before it is mapped again), then the new ones. 0, or the
 * first error of a run that could not be mirrored (-EEXIST, -ENOMEM);
 * the other runs are done.
 */
static int
ext_sync_one(struct mm_mirror *m, const struct ext_runs *x)
{
	unsigned int i;
	int ret = 0, r;

	for (i = m->nb_ext; i-- > 0; )
		if ((m->ext[i].owners & MM_EXT_SEG) &&
				ext_exact(x->r, x->n, &m->ext[i]) < 0)
			ext_take(m, i, MM_EXT_SEG);
	for (i = 0; i < x->n; i++) {
		if (!ext_mirrorable(&x->r[i]))
			continue;
		r = ext_reserve(&m->ext, m->nb_ext, &m->cap_ext, 1);
		if (r == 0) {
			r = ext_give(m, &x->r[i], MM_EXT_SEG);
			if (r == -EEXIST && ext_exact(m->ext, m->nb_ext,
					&x->r[i]) >= 0)
				r = 0; /* mirrored already */
		}
		if (r != 0) {
			MMRT_LOG(ERR, mm, "mirror %s: external memory at %#"
				PRIx64 " (IOVA %#" PRIx64 ", +%" PRIu64
				") not mirrored: %d", m->as->name,
				x->r[i].host, x->r[i].iova, x->r[i].len, r);
			if (ret == 0)
				ret = r;
		}
	}
	return ret;
}

/*
 * A new mirror's external ranges (ext lock held, the mirror not ready
 * yet): the bare external memory and the registry. Failures are logged
 * and leave the range out; the mirror is made anyway.
 */
static void
ext_mirror_init(struct mm_mirror *m)
{
	struct ext_runs x;
	unsigned int i;
	int ret;

	if (ext_runs_collect(&x) == 0) {
		(void)ext_sync_one(m, &x);
		free(x.r);
	}
	for (i = 0; i < nb_dmamaps; i++) {
		ret = ext_reserve(&m->ext, m->nb_ext, &m->cap_ext, 1);
		if (ret == 0)
			ret = ext_give(m, &dmamaps[i], MM_EXT_MAP);
		if (ret != 0)
			MMRT_LOG(ERR, mm, "mirror %s: dma-mapped memory at %#"
				PRIx64 " (IOVA %#" PRIx64 ", +%" PRIu64
				") not mirrored: %d", m->as->name,
				dmamaps[i].host, dmamaps[i].iova,
				dmamaps[i].len, ret);
	}
}

static int
ext_args(const void *host, uint64_t iova, uint64_t len,
	struct mm_ext_range *r)
{
	r->host = (uintptr_t)host;
	r->iova = iova;
	r->len = len;
	r->owners = MM_EXT_MAP;
	r->refs = 0;
	if (host == NULL || len == 0 || !ext_mirrorable(r) ||
			r->host + len < r->host)
		return -EINVAL;
	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return -E_RTE_SECONDARY;
	return 0;
}

int
mmrt_mirror_dma_map(void *host, uint64_t iova, uint64_t len)
{
	struct mm_ext_range r;
	struct mm_mirror *m;
	unsigned int i, j;
	int ret, k;

	ret = ext_args(host, iova, len, &r);
	if (ret != 0)
		return ret;
	MM_BLOCKING_BEGIN();
	mm_mirror_ext_lock();
	k = ext_exact(dmamaps, nb_dmamaps, &r);
	if (k >= 0) {
		/* the same range again (another device): one more ref */
		if (dmamaps[k].refs == UINT32_MAX)
			ret = -ENOMEM;
		else
			dmamaps[k].refs++;
		goto out;
	}
	if (ext_overlap(dmamaps, nb_dmamaps, iova, len) >= 0) {
		ret = -EEXIST;
		goto out;
	}
	ret = ext_reserve(&dmamaps, nb_dmamaps, &cap_dmamaps, 1);
	for (i = 0; ret == 0 && i < MM_MIRROR_MAX; i++) {
		m = mm_mirror_ready(i);
		if (m != NULL)
			ret = ext_reserve(&m->ext, m->nb_ext, &m->cap_ext, 1);
	}
	for (i = 0; ret == 0 && i < MM_MIRROR_MAX; i++) {
		m = mm_mirror_ready(i);
		if (m != NULL)
			ret = ext_give(m, &r, MM_EXT_MAP);
	}
	if (ret != 0) {
		/* the mirrors before the failing one let go again */
		for (j = 0; j + 1 < i; j++) {
			int e;

			m = mm_mirror_ready(j);
			if (m == NULL)
				continue;
			e = ext_exact(m->ext, m->nb_ext, &r);
			if (e >= 0)
				ext_take(m, (unsigned int)e, MM_EXT_MAP);
		}
		goto out;
	}
	r.refs = 1;
	dmamaps[nb_dmamaps++] = r;
out:
	mm_mirror_ext_unlock();
	MM_BLOCKING_END();
	return ret;
}

int
mmrt_mirror_dma_unmap(void *host, uint64_t iova, uint64_t len)
{
	struct mm_ext_range r;
	struct mm_mirror *m;
	unsigned int i;
	int ret, k;

	ret = ext_args(host, iova, len, &r);
	if (ret != 0)
		return ret;
	MM_BLOCKING_BEGIN();
	mm_mirror_ext_lock();
	k = ext_exact(dmamaps, nb_dmamaps, &r);
	if (k < 0) {
		ret = -ENOENT;
		goto out;
	}
	if (--dmamaps[k].refs > 0)
		goto out;
	for (i = 0; i < MM_MIRROR_MAX; i++) {
		int j;

		m = mm_mirror_ready(i);
		if (m == NULL)
			continue;
		j = ext_exact(m->ext, m->nb_ext, &r);
		if (j >= 0 && (m->ext[j].owners & MM_EXT_MAP))
			ext_take(m, (unsigned int)j, MM_EXT_MAP);
	}
	ext_del(dmamaps, &nb_dmamaps, (unsigned int)k);
	if (nb_dmamaps == 0) {
		free(dmamaps);
		dmamaps = NULL;
		cap_dmamaps = 0;
	}
out:
	mm_mirror_ext_unlock();
	MM_BLOCKING_END();
	return ret;
}

int
mmrt_as_mirror_sync(struct mmrt_as *as)
{
	struct ext_runs x;
	struct mm_mirror *m;
	unsigned int i;
	bool found = false;
	int ret, r;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return -E_RTE_SECONDARY;
	MM_BLOCKING_BEGIN();
	mm_mirror_ext_lock();
	for (i = 0; i < MM_MIRROR_MAX; i++) {
		m = mm_mirror_ready(i);
		if (m != NULL && (as == NULL || m->as == as))
			found = true;
	}
	ret = found || as == NULL ? 0 : -EINVAL;
	if (!found)
		goto out;
	ret = ext_runs_collect(&x);
	if (ret != 0)
		goto out;
	for (i = 0; i < MM_MIRROR_MAX; i++) {
		m = mm_mirror_ready(i);
		if (m == NULL || (as != NULL && m->as != as))
			continue;
		r = ext_sync_one(m, &x);
		if (ret == 0)
			ret = r;
	}
	free(x.r);
out:
	mm_mirror_ext_unlock();
	MM_BLOCKING_END();
	return ret;
}

struct mmrt_as *
mmrt_as_mirror_dpdk(const char *name)
{
	struct mm_region r;
	struct mm_mirror *m = NULL;
	struct mirror_run run;
	struct mmrt_as *as;
	int ret;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		/* DPDK's memory event callback is the primary's */
		rte_errno = E_RTE_SECONDARY;
		return NULL;
	}
	as = mmrt_as_create(name);
	if (as == NULL)
		return NULL;
	m = mm_mirror_slot(as);
	if (m == NULL) {
		mmrt_as_destroy(as);
		rte_errno = ENOSPC;
		return NULL;
	}
	snprintf(m->cb_name, sizeof(m->cb_name), "mmrt_mirror_%s", name);
	memset(&r, 0, sizeof(r));
	r.start = 0;
	r.end = MMRT_VA_LIMIT;
	r.prot = MMRT_PROT_READ | MMRT_PROT_WRITE;
	r.flags = REGION_HOST | REGION_MIRROR;

	MM_BLOCKING_BEGIN();
	mm_mirror_ext_lock(); /* no dma map or sync misses the new mirror */
	mm_write_lock(&as->map_lock, MM_LC_MAP);
	ret = mm_region_reserve(as, 1);
	if (ret == 0)
		ret = mm_region_insert(as, &r);
	mm_write_unlock(&as->map_lock, MM_LC_MAP);
	if (ret == 0) {
		rte_mcfg_mem_read_lock();
		mm_write_lock(&as->map_lock, MM_LC_MAP);
		run.as = as;
		run.len = 0;
		run.err = 0;
		if (rte_memseg_walk_thread_unsafe(mirror_walk, &run) == 0)
			mirror_run_flush(&run);
		ret = run.err;
		mm_write_unlock(&as->map_lock, MM_LC_MAP);
		if (ret == 0) {
			/* in the same section: no change slips between */
			if (rte_mem_event_callback_register(m->cb_name,
					mirror_event, m) == 0)
				m->cb = true;
			else if (rte_errno != ENOTSUP)
				ret = -rte_errno;
			/* ENOTSUP (--no-huge, legacy): memory never changes */
		}
		rte_mcfg_mem_read_unlock();
	}
	if (ret == 0) {
		ext_mirror_init(m);
		m->ready = true;
	}
	mm_mirror_ext_unlock();
	MM_BLOCKING_END();
	if (ret != 0) {
		mmrt_as_destroy(as); /* detaches the slot */
		rte_errno = -ret;
		return NULL;
	}
	return as;
}
