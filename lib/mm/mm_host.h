/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_HOST_H
#define MM_HOST_H

/*
 * Host mappings (host.c) and the DPDK-memory mirror (mirror.c).
 *
 * A host leaf is a present (or PROT_NONE) leaf with PTE_HOST set: bits
 * 12..47 hold the host address of the page (not a pfn), PTE_HIOVA_* say
 * where its IOVA comes from (mmrt_mm_core.h). No frame metadata exists
 * for it: every path that refcounts, map-counts, frees, copies, merges or
 * moves frames tests pte_is_host() first. The leaf carries everything a
 * walk needs, so the metadata per host page beyond the PTE is zero bytes.
 *
 * A host region has REGION_HOST and keeps its host base in obj_off (the
 * split of a region moves obj_off with the start, as for objects); the
 * IOVA kind of its leaves is decided per DPDK memseg when they are made.
 * A mirror region (REGION_MIRROR) covers the whole space and is never
 * refaulted: its leaves exist exactly while DPDK's segments do.
 */

#include <stdbool.h>
#include <stdint.h>

#include "mm_priv.h"

#define PTE_HOST        MMRT_PTE_HOST
#define PTE_HIOVA_VA    MMRT_PTE_HIOVA_VA
#define PTE_HIOVA_NONE  MMRT_PTE_HIOVA_NONE
#define PTE_HADDR_MASK  MMRT_PTE_HADDR_MASK

#define REGION_HOST   (1u << 17) /* host memory at obj_off */
#define REGION_MIRROR (1u << 18) /* the DPDK mirror's region (host too) */

static inline bool
pte_is_host(uint64_t e)
{
	return (e & PTE_HOST) != 0;
}

static inline uint64_t
pte_host_addr(uint64_t e)
{
	return e & PTE_HADDR_MASK;
}

/* Host address of the first byte of the leaf @e (pool frame or host). */
static inline uint8_t *
pte_leaf_addr(uint64_t e)
{
	if (pte_is_host(e))
		return (uint8_t *)(uintptr_t)pte_host_addr(e);
	return mmrt_frame_addr(pte_pfn(e));
}

/* host.c */
/*
 * A fault on a host region (map lock held, either side): restore a
 * PROT_NONE leaf, grant write on a writable region, remake a leaf that
 * MMRT_ADV_DONTNEED dropped. @try: a poller's probe (try-locks only,
 * MM_FAULT_WOULD_WAIT where it would wait). 0, -EFAULT (a mirror hole),
 * -ENOMEM, -ENOTSUP.
 */
int mm_host_fault(struct mmrt_as *as, const struct mm_region *r, uint64_t va,
	uint32_t access, bool try);
/*
 * Install host leaves for [va, va + len) -> [host, ...) with @bits
 * (PTE_W and PTE_HIOVA_VA as wanted; PTE_P|PTE_A|PTE_HOST are added), 2
 * MiB leaves where both addresses allow. Write map lock held, range
 * empty of leaves. On -ENOMEM/-ENOTSUP the leaves made so far stay: the
 * caller zaps the range.
 */
int mm_host_install(struct mmrt_as *as, uint64_t va, uint64_t host,
	uint64_t len, uint64_t bits);

/* mirror.c: the space is being destroyed (no map lock held): stop its
 * callback before the teardown. */
void mm_mirror_detach(struct mmrt_as *as);

#endif /* MM_HOST_H */
