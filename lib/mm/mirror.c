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
 * Lock order added by the mirror (outermost first): DPDK's memory
 * hotplug lock (and heap lock) -> the mirror's map_lock (write) -> PT
 * locks. Nothing of mmrt takes a DPDK lock under a mirror's map lock:
 * rte_malloc under it happens only in map/unmap/remap/uffd-register,
 * which the mirror's contract forbids.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "mm_locking.h"
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

	RTE_SET_USED(msl);
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
	MM_BLOCKING_END();
	if (ret != 0) {
		mmrt_as_destroy(as); /* detaches the slot */
		rte_errno = -ret;
		return NULL;
	}
	return as;
}
