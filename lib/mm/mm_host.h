/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_HOST_H
#define MM_HOST_H

/*
 * What host.c offers the layers above: faults on host regions, installing
 * host leaves, and the registry of DPDK mirrors (whose creation and memory
 * event callback are in mirror.c, on top; the registry sits here so that
 * as.c's destroy can stop a mirror's callback by calling down).
 * The leaf format: mm_host_pte.h.
 */

#include <stdbool.h>
#include <stdint.h>

struct mmrt_as;
struct mm_region;

/*
 * A fault on a host region (map lock held, either side): restore a
 * PROT_NONE leaf, grant write on a writable region, remake a leaf that
 * MMRT_ADV_DONTNEED dropped (or a uffd-wp marker stands for: the leaf
 * keeps the write protection). @try: a poller's probe (try-locks only;
 * -EBUSY where it would wait). 0, -EFAULT (a hole of the mirror),
 * -ENOMEM, -ENOTSUP, -EBUSY, -EHWPOISON (a uffd poisoned the page),
 * -EAGAIN (a userfault to check again: below).
 */
int mm_host_fault(struct mmrt_as *as, const struct mm_region *r, uint64_t va,
	uint32_t access, bool try);

/*
 * Install host leaves for [va, va + len) -> [host, ...) with @bits
 * (PTE_P or PTE_PROTNONE, PTE_W, PTE_HIOVA_VA as wanted; PTE_HOST is
 * added; without PTE_HIOVA_VA the IOVA kind is looked up per DPDK
 * memseg), 2 MiB leaves where both addresses allow. Write map lock held.
 * On error (-ENOMEM, -ENOTSUP, -EEXIST) the leaves made so far stay: the
 * caller zaps the range with the full invalidation.
 */
int mm_host_install(struct mmrt_as *as, uint64_t va, uint64_t host,
	uint64_t len, uint64_t bits);

/*
 * Add region @r ([r->start, r->end), page aligned) to @as, unless it
 * overlaps one: the first step of a map (mmrt_map*(), mmrt_map_host()).
 * Write map lock held. 0, -EEXIST (overlap), or the error of
 * mm_region_reserve()/mm_region_insert() (the region is not added).
 */
int mm_map_region_locked(struct mmrt_as *as, const struct mm_region *r);

/*
 * Zap [va, va + len) with the full invalidation: blockable notifiers for
 * @event around a gathered zap. @unmap: the write map lock is held and
 * emptied tables are freed (an unmap); else the read map lock is held and
 * the zap takes page-table locks (MMRT_ADV_DONTNEED). May wait for
 * device acks.
 */
void mm_zap_notified(struct mmrt_as *as, int event, uint64_t va,
	uint64_t len, bool unmap);

/*
 * Unmap [va, va + len), a union of whole regions and whole leaves: the
 * full invalidation (notifiers, gather, zap freeing empty tables), then
 * the regions go. Write map lock held; may wait for device acks.
 */
void mm_unmap_locked(struct mmrt_as *as, uint64_t va, uint64_t len);

/*
 * Userfault on host mappings (uffd_fill.c's fills and continue): the leaf
 * of the host page @va of host region @r, without permission bits
 * (host address, PTE_HOST, its IOVA kind), or -ENOTSUP (memory whose IOVA
 * is not its address). mm_host_fault() returns -EAGAIN when a range
 * registered MISSING or MINOR lost a leaf, or a uffd write-protected it,
 * since the caller's userfault check: check again.
 */
int64_t mm_host_leaf(const struct mm_region *r, uint64_t va);

/*
 * External memory a mirror maps (mirror.c): a range contiguous in host
 * address and IOVA, and who keeps it there. The leaves exist while
 * @owners is not 0.
 */
#define MM_EXT_SEG 0x1u  /* a bare rte_extmem_register() run (a sync) */
#define MM_EXT_MAP 0x2u  /* an mmrt_mirror_dma_map() range */

struct mm_ext_range {
	uint64_t iova;
	uint64_t host;
	uint64_t len;
	uint32_t owners;
	uint32_t refs;           /* the registry's: maps not yet unmapped */
};

/* A DPDK mirror: its space and its memory event callback registration. */
struct mm_mirror {
	struct mmrt_as *as;
	bool cb;                 /* the event callback is registered */
	char cb_name[64];
	/* under the ext lock (mm_mirror_ext_lock()) */
	bool ready;              /* made: dma maps and syncs reach it */
	struct mm_ext_range *ext; /* malloc()ed, IOVA-disjoint entries */
	unsigned int nb_ext;
	unsigned int cap_ext;
};

/* A free mirror slot for @as, or NULL (all MM_MIRROR_MAX in use). */
struct mm_mirror *mm_mirror_slot(struct mmrt_as *as);

/*
 * The ext lock, a mutex: serializes the external ranges of every mirror
 * (mirror.c's dma map, dma unmap and sync) against mirror creation and
 * the release of a slot. Taken holding nothing of mmrt's; outside
 * DPDK's memory lock and every map lock (mm_locking.h).
 */
void mm_mirror_ext_lock(void);
void mm_mirror_ext_unlock(void);

/* Ext lock held: the mirror of slot @i if it is ready, else NULL (also
 * for @i past the last slot). */
struct mm_mirror *mm_mirror_ready(unsigned int i);

/* The number of mirror slots (mm_mirror_ready()'s range). */
#define MM_MIRROR_MAX 8

/*
 * The space is being destroyed (no map lock held, nor the ext lock):
 * unregister its memory event callback, which waits for a callback in
 * progress, then free its slot and its external ranges under the ext
 * lock. Nothing for a space that is not a mirror.
 */
void mm_mirror_detach(struct mmrt_as *as);

#endif /* MM_HOST_H */
