/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_HOST_PTE_H
#define MM_HOST_PTE_H

/*
 * Host leaves, the PTE side of host mappings (host.c, mirror.c): header
 * only, so that every page-table path below host.c can tell them apart.
 *
 * A host leaf is a present (or PROT_NONE) leaf with PTE_HOST set: bits
 * 12..47 hold the host address of the page (not a pfn), PTE_HIOVA_* say
 * where its IOVA comes from (mmrt_mm_core.h). No frame metadata exists
 * for it: every path that refcounts, map-counts, frees, copies, merges or
 * moves frames tests pte_is_host() first. The leaf carries everything a
 * walk needs, so the metadata per host page beyond the PTE is zero bytes.
 *
 * A host region has REGION_HOST and keeps its host base in obj_off (the
 * split of a region moves obj_off with the start, as for objects). A
 * mirror region (REGION_HOST | REGION_MIRROR) covers the whole space and
 * is never refaulted: its leaves exist exactly while DPDK's segments do.
 */

#include <stdbool.h>
#include <stdint.h>

#include "mm_pte.h"

#define PTE_HOST        MMRT_PTE_HOST
#define PTE_HIOVA_VA    MMRT_PTE_HIOVA_VA
#define PTE_HIOVA_NONE  MMRT_PTE_HIOVA_NONE
#define PTE_HADDR_MASK  MMRT_PTE_HADDR_MASK
#define PTE_HIOVA_TAB   MMRT_PTE_HIOVA_TAB
#define PTE_HIOVA_IDX   MMRT_PTE_HIOVA_IDX_MASK
/* every IOVA bit of a host leaf: kind and table index */
#define PTE_HIOVA_BITS  (PTE_HIOVA_TAB | PTE_HIOVA_IDX)

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

#endif /* MM_HOST_PTE_H */
