/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_MM_H
#define MMRT_MM_H

/**
 * @file
 * Address spaces: a 48-bit virtual space with regions, a 4-level software
 * page table (4 KiB leaves, 2 MiB leaves at level 2), demand-zero and
 * copy-on-write faults, shared objects, CPU accessors and a lockless
 * translate for pollers.
 *
 * Addresses are address-space virtual addresses (uint64_t), not host
 * pointers. Ranges are [va, va + len): va and len must be multiples of
 * MMRT_PAGE_SIZE, len > 0, and va + len <= MMRT_VA_LIMIT.
 *
 * Locking: each address space has a map lock (rwlock) and split page-table
 * locks; callers never hold them. Functions that "may wait" take them and
 * must not be called by a registered poller that holds a translation; they
 * take a registered caller offline (mmrt_thread_offline()) while they wait.
 * The order of every lock of lib/mm and lib/dev, and where a thread waits
 * for consumer acks holding one, is in lib/mm/mm_locking.h.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_memory.h>

#include <mmrt_mem.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Size of the virtual space: 48 bits. */
#define MMRT_VA_BITS 48
#define MMRT_VA_LIMIT (UINT64_C(1) << MMRT_VA_BITS)

/**
 * Is [@p va, @p va + @p len) a valid range of the virtual space: @p len is
 * not 0, the range ends at or below MMRT_VA_LIMIT, and va + len does not
 * wrap. Alignment is not checked here: the functions that need page
 * alignment check it separately (and say so).
 *
 * @return true if valid. Pure; thread-safe, never waits.
 */
static inline bool
mmrt_range_valid(uint64_t va, uint64_t len)
{
	return len != 0 && va < MMRT_VA_LIMIT && len <= MMRT_VA_LIMIT - va;
}

/** Longest name of an address space or object (with the NUL). */
#define MMRT_NAME_SIZE 32

/** Protections. */
#define MMRT_PROT_NONE  0u
#define MMRT_PROT_READ  (1u << 0)
#define MMRT_PROT_WRITE (1u << 1) /**< Implies read. */

/** Map flags. */
#define MMRT_MAP_POPULATE (1u << 0) /**< Fault every page in at map time. */
#define MMRT_MAP_HUGE     (1u << 1) /**< Back with 2 MiB frames (va, len 2 MiB aligned). */

/** Access kinds for faults and translation. */
#define MMRT_ACCESS_READ  (1u << 0)
#define MMRT_ACCESS_WRITE (1u << 1)
/** mmrt_fault()/mmrt_read_flags()/mmrt_write_flags(): on a userfault
 * range, post the fault and return -EAGAIN instead of waiting. */
#define MMRT_ACCESS_NOWAIT (1u << 2)

/** Advice. */
enum mmrt_advice {
	MMRT_ADV_DONTNEED = 1, /**< Drop the pages; next access refaults them. */
};

struct mmrt_as;
struct mmrt_object;

/** Result of a translation. */
struct mmrt_xlate {
	void *addr;        /**< Host address of @p va. */
	rte_iova_t iova;   /**< IOVA of @p va; RTE_BAD_IOVA on a host
			    * mapping of memory DPDK does not know. */
	uint32_t pfn;      /**< Frame holding @p va (a 4 KiB frame);
			    * MMRT_PFN_NONE on a host mapping. */
	uint32_t prot;     /**< MMRT_PROT_* the PTE grants now. */
	uint64_t size;     /**< Bytes of the mapping from @p va on (to the leaf end). */
	bool huge;         /**< Mapped by a 2 MiB leaf. */
};

/** Address-space statistics. */
struct mmrt_as_stats {
	uint64_t regions;      /**< Regions (VMAs). */
	uint64_t mapped_bytes; /**< Bytes of virtual space in regions. */
	uint64_t rss_pages;    /**< 4 KiB pages present (huge leaves count 512). */
	uint64_t pt_pages;     /**< Page-table pages. */
	uint64_t faults;       /**< Faults resolved. */
	uint64_t cow;          /**< Copy-on-write copies. */
	uint64_t cow_reuse;    /**< Write faults that reused an exclusive frame. */
	uint64_t cow_huge;     /**< ... of the copies, whole 2 MiB leaves (one
				* copy each, 512 pages). */
	uint64_t cow_reuse_huge; /**< ... of the reuses, whole 2 MiB leaves. */
	uint64_t splits;       /**< Huge leaves split. */
	uint64_t flushes;      /**< Invalidation flushes issued. */
	uint64_t nested_flushes; /**< Flushes forced full by nested gathers. */
	uint64_t pinned_pages; /**< 4 KiB pages held by live pins taken on
				* this space (mmrt_pin()), host pages included. */
};

/**
 * Create an empty address space.
 *
 * @param name
 *   Unique name (1..MMRT_NAME_SIZE-1 chars) for mmrt_as_lookup().
 * @return the address space, or NULL with rte_errno: EINVAL (bad name),
 *   EEXIST (name taken), ENOSPC (mm.max_as reached), ENOMEM, ENODEV (not up).
 *   Thread-safe. May wait.
 */
struct mmrt_as *mmrt_as_create(const char *name);

/**
 * Destroy an address space: every region is unmapped, every frame and
 * page-table page released (page tables after a QSBR grace period).
 *
 * A second destroy of the same pointer returns -EINVAL only until the
 * next mmrt_as_create() or mmrt_as_fork(): the new space may be allocated
 * at the same address, and the stale pointer then names it (a second
 * destroy would destroy the new space). Drop the pointer at destroy.
 *
 * @return 0, -EINVAL if @p as is NULL or not a live address space.
 *   Thread-safe against other address spaces; the caller must not use
 *   @p as concurrently. May wait.
 * In a DPDK secondary process: -E_RTE_SECONDARY (nothing changed) if
 * the space has notifier subscribers (consumers, notifiers: their
 * callbacks are the primary's) or is a mirror (docs/architecture.md,
 * "Processes").
 */
int mmrt_as_destroy(struct mmrt_as *as);

/**
 * @return the live address space named @p name, or NULL (rte_errno
 *   ENOENT/EINVAL). Also in a DPDK secondary process: the registry is
 *   shared by every process of the runtime, so a space made by any of
 *   them is found.
 */
struct mmrt_as *mmrt_as_lookup(const char *name);

/** @return the name of a live address space, or NULL. */
const char *mmrt_as_name(const struct mmrt_as *as);

/**
 * Fork: a new address space named @p name with a copy of every region.
 * Anonymous pages are shared copy-on-write (write-protected in both);
 * object-backed pages are shared as they are.
 *
 * @return the child, or NULL with rte_errno: EINVAL, EEXIST, ENOSPC,
 *   ENOMEM (nothing of the child is left behind). May wait.
 * In a DPDK secondary process: NULL with rte_errno E_RTE_SECONDARY
 * (nothing made) if the parent has notifier subscribers (consumers, notifiers: their
 * callbacks are the primary's) or is a mirror (docs/architecture.md,
 * "Processes").
 */
struct mmrt_as *mmrt_as_fork(struct mmrt_as *parent, const char *name);

/**
 * Map anonymous memory at [va, va + len) (MAP_FIXED_NOREPLACE semantics).
 *
 * @param prot MMRT_PROT_*; unknown bits -EINVAL.
 * @param flags MMRT_MAP_*; unknown bits -EINVAL. MMRT_MAP_HUGE needs va
 *   and len 2 MiB aligned (-EINVAL otherwise); faults then allocate huge
 *   frames, falling back to 4 KiB frames when none is free.
 * @return 0, -EINVAL (bad range/flags/prot), -EEXIST (overlaps a region),
 *   -ENOMEM (MMRT_MAP_POPULATE could not populate: nothing stays mapped).
 *   May wait.
 */
int mmrt_map(struct mmrt_as *as, uint64_t va, uint64_t len, uint32_t prot,
	uint32_t flags);

/**
 * Map [offset, offset + len) of a shared object at [va, va + len). Pages
 * are shared with every other mapping of the object (writes are visible
 * through mmrt_object_read()). MMRT_MAP_HUGE is not supported (-EINVAL).
 *
 * @return 0, -EINVAL (bad range, offset not page aligned, past the end of
 *   the object, bad object), -EEXIST, -ENOMEM. May wait.
 */
int mmrt_map_object(struct mmrt_as *as, uint64_t va, uint64_t len,
	uint32_t prot, uint32_t flags, struct mmrt_object *obj,
	uint64_t offset);

/**
 * Unmap [va, va + len); holes are allowed. Regions partly covered are cut,
 * huge leaves partly covered are split. Frames are freed through the
 * gather (unhook, device flush, free).
 *
 * @return 0, -EINVAL for a bad range. May wait.
 * In a DPDK secondary process: -E_RTE_SECONDARY (nothing changed) if
 * the space has notifier subscribers (consumers, notifiers: their
 * callbacks are the primary's) or is a mirror (docs/architecture.md,
 * "Processes").
 */
int mmrt_unmap(struct mmrt_as *as, uint64_t va, uint64_t len);

/**
 * Move the mappings of [old_va, old_va + len) to [new_va, new_va + len)
 * (mremap with MREMAP_FIXED, same size): regions and their pages move
 * without copying; the old range becomes unmapped. 2 MiB leaves move whole
 * when both addresses agree modulo 2 MiB, else they are split. Userfault
 * registrations move with the pages if their uffd has EVENT_REMAP (which
 * then gets a REMAP event), else they are dropped with their write
 * protection.
 *
 * @return 0; -EINVAL (unaligned, empty, wrapping or overlapping ranges);
 *   -EFAULT (the old range is not wholly mapped); -EEXIST (the new range
 *   is not free); -ENOMEM (nothing changed). May wait.
 * In a DPDK secondary process: -E_RTE_SECONDARY (nothing changed) if
 * the space has notifier subscribers (consumers, notifiers: their
 * callbacks are the primary's) or is a mirror (docs/architecture.md,
 * "Processes").
 */
int mmrt_remap(struct mmrt_as *as, uint64_t old_va, uint64_t len,
	uint64_t new_va);

/**
 * Change the protection of [va, va + len), which must be fully mapped.
 * A downgrade write-protects or unmaps present PTEs before returning.
 *
 * @return 0, -EINVAL (bad range or prot), -ENOMEM (range has holes,
 *   nothing changed). May wait.
 * In a DPDK secondary process: -E_RTE_SECONDARY (nothing changed) if
 * the space has notifier subscribers (consumers, notifiers: their
 * callbacks are the primary's) or is a mirror (docs/architecture.md,
 * "Processes").
 */
int mmrt_protect(struct mmrt_as *as, uint64_t va, uint64_t len, uint32_t prot);

/**
 * Give advice about [va, va + len), which must be fully mapped.
 * MMRT_ADV_DONTNEED drops the pages: the next access sees zeros
 * (anonymous) or the object's contents (object mappings).
 *
 * @return 0, -EINVAL (bad range or advice), -ENOMEM (holes). May wait.
 * In a DPDK secondary process: -E_RTE_SECONDARY (nothing changed) if
 * the space has notifier subscribers (consumers, notifiers: their
 * callbacks are the primary's) or is a mirror (docs/architecture.md,
 * "Processes").
 */
int mmrt_advise(struct mmrt_as *as, uint64_t va, uint64_t len, int advice);

/**
 * Merge two present anonymous 4 KiB pages of identical contents (in one
 * or two address spaces) into one write-protected frame; the other frame
 * is freed. A later write to either copies again.
 *
 * Both pages are write-protected (and flushed) before their contents are
 * compared, as the kernel's KSM does; on -EAGAIN they stay write-protected
 * (contents and frames unchanged: the next write faults and reuses the
 * frame).
 *
 * @return 0 merged, 1 already sharing a frame, -EINVAL (bad arguments,
 *   not anonymous, part of a huge frame, not page aligned), -EFAULT (not
 *   mapped), -ENOENT (not present), -EBUSY (a page is pinned, mmrt_pin():
 *   nothing changed), -EAGAIN (contents differ). May wait.
 */
int mmrt_merge(struct mmrt_as *as_a, uint64_t va_a, struct mmrt_as *as_b,
	uint64_t va_b);

/**
 * Resolve a fault at @p va for @p access (demand-zero, copy-on-write,
 * object page-in, userfault). A no-op if the access is already allowed.
 * On a page a uffd serves (mmrt_uffd.h), the fault is posted to the uffd
 * (once per page while pending) and the call waits for the resolver's wake
 * (spinning, then yielding), then retries; with MMRT_ACCESS_NOWAIT in
 * @p access it returns -EAGAIN instead of waiting.
 *
 * @return 0, -EINVAL (bad access bits, va out of range), -EFAULT (no
 *   region, or a uffd in SIGBUS mode serves the page), -EACCES (the region
 *   forbids the access), -EHWPOISON (poisoned page), -EAGAIN (NOWAIT, or
 *   the uffd's fault ring is full), -ETIMEDOUT (no wake within the uffd's
 *   wait timeout), -ENOMEM. May wait.
 * In a DPDK secondary process, a write fault that must replace a frame
 * (copy-on-write, the zero frame) on a space with notifier subscribers
 * fails with -E_RTE_SECONDARY (the flush would call the primary's
 * callbacks); the accessors (mmrt_read(), mmrt_write()) pass it on.
 */
int mmrt_fault(struct mmrt_as *as, uint64_t va, uint32_t access);

/**
 * The poller's fault probe (used by lib/dev consumers): never waits on a
 * map lock, an ack or a userfault. Under a try-locked map lock it
 * resolves in place the faults that need no invalidation (demand-zero,
 * object page-in, write to an exclusive frame: only page-table spinlocks
 * and frame allocation), posts a userfault to its uffd (deduplicated per
 * page) with @p requester as its requester id, and leaves copy-on-write,
 * which must wait for acks, to mmrt_fault().
 *
 * @return 0 (the access is allowed now: translate again), -EAGAIN (a
 *   userfault is posted or pending: retry later), -ENOENT (needs
 *   mmrt_fault(): copy-on-write), -EBUSY (the map lock is taken: retry,
 *   or use mmrt_fault()), -EFAULT, -EACCES, -EHWPOISON, -ENOMEM, -EINVAL
 *   as mmrt_fault(). Never waits but for page-table spinlocks.
 */
int mmrt_fault_request(struct mmrt_as *as, uint64_t va, uint32_t access,
	uint32_t requester);

/**
 * What a poller may remember of a userfault it posted, to retry cheaply:
 * the wake sequence of the uffd that serves the page, as it was before
 * the probe looked at the page table. See mmrt_fault_request_token().
 */
struct mmrt_fault_token {
	const uint64_t *seq; /**< the wake sequence (NULL: no token) */
	uint64_t val;        /**< its value before the page-table check */
};

/**
 * mmrt_fault_request(), and when it returns -EAGAIN for a posted or
 * pending userfault, a token in @p tok (otherwise @p tok->seq is NULL).
 *
 * While mmrt_fault_token_moved() says false, nothing that could let the
 * access succeed or fail differently has happened to the fault: no wake
 * (a fill, poison, zeropage, continue or write-protect change ends with
 * one, and a DONTWAKE one moves the token without waking), no protection
 * change of the space, no registration or unregistration, no destroy of
 * the uffd, no reclaim of a dead handler's faults, no unmap, remap or
 * remove of the range. A poller may then answer its retry with a
 * lockless walk alone (the walk sees a fill's entry) instead of probing
 * again, as lib/dev consumers do. Two exceptions the caller must bound
 * itself: a fault not queued because the uffd's ring was full moves no
 * token, and tokens of uffds that share a wake slot may move for nothing.
 * The sequence stays readable for the life of the runtime (shared memory,
 * freed by the primary's mmrt_fini()), also after the uffd is destroyed;
 * tokens are valid in every process of the primary.
 *
 * @param tok
 *   Where to store the token; may be NULL (then as mmrt_fault_request()).
 * @return As mmrt_fault_request(). Never waits but for page-table
 *   spinlocks. Thread-safe.
 */
int mmrt_fault_request_token(struct mmrt_as *as, uint64_t va,
	uint32_t access, uint32_t requester, struct mmrt_fault_token *tok);

/**
 * Has the wake sequence of @p tok moved since the token was taken (or is
 * there no token)? One acquire load: a fill published before the move is
 * visible to the caller's next walk. Never waits; thread-safe.
 */
static inline bool
mmrt_fault_token_moved(const struct mmrt_fault_token *tok)
{
	return tok->seq == NULL ||
		__atomic_load_n(tok->seq, __ATOMIC_ACQUIRE) != tok->val;
}

/**
 * Map existing process memory: [@p host, @p host + @p len) appears at
 * [@p va, @p va + @p len) of @p as, with protection @p prot. The pages
 * stay the caller's: they are never taken from or given to the frame
 * pool, and every leaf is in place when the call returns (no fault is
 * needed to use them). A 2 MiB leaf is used wherever @p va and @p host
 * are both 2 MiB aligned over a whole 2 MiB chunk of the range.
 *
 * Translations (mmrt_translate(), consumers, DMA engines) give the host
 * address and the IOVA DPDK reports for it: the address itself for DPDK
 * memory under IOVA-as-VA, its memory segment's IOVA under IOVA-as-PA
 * (rte_mem_virt2iova(); a device TLB does not cache such pages, every
 * access walks), RTE_BAD_IOVA for memory DPDK does not know (the
 * translation's pfn is MMRT_PFN_NONE). mmrt_read(), mmrt_write(),
 * mmrt_protect(), mmrt_advise() and mmrt_unmap() work as on pool memory;
 * after MMRT_ADV_DONTNEED the next access maps the same bytes again.
 *
 * Invariant A holds for this memory: when mmrt_unmap() or a downgrading
 * mmrt_protect() of it returns, every bound consumer has acked and no
 * engine reads or writes those bytes through an old translation, so the
 * caller may free or reuse them at once. (A consumer fenced for not
 * acking has lost its binding; host memory cannot be quarantined, so a
 * fenced engine that keeps running on stale entries is outside this
 * guarantee, as it is outside DPDK's.)
 *
 * mmrt_as_fork() shares host mappings with the child (the child sees the
 * same bytes, like MAP_SHARED). Copy-on-write never applies to them;
 * mmrt_merge() refuses them with -EINVAL, uffd moves on them fail with
 * -EINVAL. Userfault registration works in every mode (the DPDK mirror
 * refuses it): a page without a leaf (after MMRT_ADV_DONTNEED, whose
 * bytes stay) faults to the uffd; in MISSING mode mmrt_uffd_copy() and
 * mmrt_uffd_zeropage() write the host bytes at that place and then map
 * them (as the kernel's shmem MISSING), in MINOR mode (the fault is
 * minor: the bytes are there) mmrt_uffd_continue() maps them as they
 * are; WP works as on pool memory.
 *
 * The caller keeps @p host mapped in the process until the range is
 * unmapped from @p as (or @p as is destroyed).
 *
 * @param as     Address space.
 * @param va     4 KiB-aligned start in @p as.
 * @param host   4 KiB-aligned host address, below 2^48.
 * @param len    Bytes, a non-zero multiple of 4 KiB.
 * @param prot   MMRT_PROT_* (WRITE implies READ).
 * @param flags  0 (none defined yet).
 * @return 0; -EINVAL (not a live space, NULL/unaligned @p host, unaligned,
 *   zero or wrapping range, unknown @p prot or @p flags); -EEXIST (overlaps
 *   a region); -ENOTSUP (DPDK memory whose IOVA is not its address, as
 *   under IOVA-as-PA, when its memory segments have more than 32767
 *   distinct IOVA offsets, or the offset table cannot be allocated);
 *   -ENOMEM (no page-table pages). On failure nothing
 *   is mapped and no frame is kept. Thread-safe; may wait (write map
 *   lock).
 */
int mmrt_map_host(struct mmrt_as *as, uint64_t va, void *host, uint64_t len,
	uint32_t prot, uint32_t flags);

/**
 * Create an address space that mirrors DPDK memory: every memory segment
 * DPDK has is mapped at its IOVA (so a translation of an IOVA, such as
 * rte_pktmbuf_iova(), gives the segment's host address, and the IOVA
 * back), readable and writable. Under IOVA-as-VA the mirror is the
 * identity. The space is kept current: segments DPDK allocates later
 * appear, and segments it frees are unmapped with the full invalidation
 * (every consumer acks before DPDK reuses the memory), from DPDK's memory
 * event callback. Under --no-huge or legacy memory DPDK's memory never
 * changes (the callback cannot be registered, ENOTSUP) and the mirror
 * holds all of it from the start. External memory added to a heap
 * (rte_malloc_heap_memory_add()) is followed by the same events. Bare
 * external memory (rte_extmem_register(), which DPDK 22.11 reports with
 * no event) is mirrored at its registered IOVAs when the mirror is made
 * and at each mmrt_as_mirror_sync(); ranges given to
 * mmrt_mirror_dma_map() (a dma_mmrt device's rte_dev_dma_map() calls it)
 * are mirrored in every mirror, present and future, until
 * mmrt_mirror_dma_unmap().
 *
 * The mirror's layout belongs to mmrt: it is one region covering the whole
 * space; do not mmrt_map(), mmrt_unmap(), mmrt_remap() or
 * mmrt_advise(MMRT_ADV_DONTNEED) in it (a hole of the mirror is never
 * refaulted: it means memory DPDK does not have, and faults there fail
 * with -EFAULT). mmrt_protect() works. A fork is a snapshot that is not
 * kept current. Every IOVA of DPDK memory is reachable through the
 * mirror, the frame pool's own memzone included, as through an IOMMU
 * that maps all of DPDK's memory. Destroy it with mmrt_as_destroy(),
 * which unregisters the callback first. Consumers bound to a mirror must
 * not call rte_malloc()/rte_free() in their poll loop: DPDK runs the
 * callback with its heap locked, and the callback waits for their acks.
 *
 * @param name  Name of the space (unique, < MMRT_NAME_SIZE).
 * @return the space, or NULL with rte_errno EINVAL (bad name), EEXIST,
 *   ENOMEM, ENOSPC (too many mirrors). Thread-safe; may wait.
 * Primary only: in a DPDK secondary process NULL with rte_errno
 * E_RTE_SECONDARY (DPDK's memory event callback is per process).
 */
struct mmrt_as *mmrt_as_mirror_dpdk(const char *name);

/**
 * Map external memory in every DPDK mirror of this process: [@p host,
 * @p host + @p len) appears at IOVA [@p iova, @p iova + @p len) of each
 * mirror (mmrt_as_mirror_dpdk()), readable and writable, those made later
 * included, until mmrt_mirror_dma_unmap() of the same range. The
 * equivalent of rte_vfio_container_dma_map() for the mirror: a dma_mmrt
 * device's rte_dev_dma_map() (the call DPDK prescribes for external
 * memory and a device) comes here, so an engine bound to the mirror
 * reaches the memory by @p iova. The memory stays the caller's and must
 * stay mapped in the process until the unmap returns. The range is
 * recorded even while no mirror exists (the runtime need not be up).
 *
 * Mapping the same range again (same @p host, @p iova and @p len: two
 * devices given the same memory) counts one more reference: the range
 * stays until as many mmrt_mirror_dma_unmap() calls.
 *
 * A range a mirror already maps as DPDK memory (its memory events keep
 * it: internal memory, or external memory in a heap) with the same host
 * pages at the same IOVAs is accepted and left as it is in that mirror:
 * DPDK's events, not the unmap, remove it (as VFIO accepts a range that
 * is mapped already).
 *
 * A range that is also bare external memory (rte_extmem_register()) with
 * the same bounds and IOVAs, mirrored by mmrt_as_mirror_sync(), is shared
 * with it: the leaves stay until both let go.
 *
 * @param host  Page-aligned host address, not NULL.
 * @param iova  Page-aligned IOVA; the range must end at or below
 *   MMRT_VA_LIMIT.
 * @param len   Length in bytes, a non-zero multiple of the page size.
 * @return 0; -EINVAL (NULL @p host, zero or unaligned length, unaligned
 *   address or IOVA, a range that wraps or passes MMRT_VA_LIMIT);
 *   -EEXIST (the IOVAs overlap another range mapped before, or a mirror
 *   has other memory at some of them);
 *   -ENOMEM (bookkeeping or page tables); -E_RTE_SECONDARY (mirrors are
 *   the primary's). On failure nothing changed in any mirror.
 *   Thread-safe; may wait (a mirror's map lock; on a failure, consumer
 *   acks for the leaves it takes back).
 */
int mmrt_mirror_dma_map(void *host, uint64_t iova, uint64_t len);

/**
 * Undo mmrt_mirror_dma_map() of exactly this range (same @p host,
 * @p iova and @p len); at its last reference every mirror unmaps it (unless it is also bare
 * external memory a sync keeps there, see mmrt_mirror_dma_map()) with the
 * full invalidation. When the call returns no consumer of a mirror uses
 * the range and no engine reads or writes it any more: the caller may
 * free or reuse the memory at once.
 *
 * @return 0; -EINVAL (arguments as mmrt_mirror_dma_map()); -ENOENT (no
 *   such range was mapped: nothing changed); -E_RTE_SECONDARY.
 *   Thread-safe; may wait (map locks, consumer acks).
 */
int mmrt_mirror_dma_unmap(void *host, uint64_t iova, uint64_t len);

/**
 * Bring the bare external memory of DPDK mirrors up to date: a rescan of
 * DPDK's external memory segment lists that are not in a heap (those of
 * rte_extmem_register(), which DPDK 22.11 reports with no memory event).
 * Areas registered since the last rescan are mapped at their IOVAs (pages
 * registered without an IOVA are not mirrored); areas unregistered since
 * are unmapped with the full invalidation. Call it after
 * rte_extmem_register() and before engines use the memory by IOVA, and
 * after rte_extmem_unregister() and before the memory is freed or
 * reused: when it returns no consumer of the mirror uses the ranges that
 * are gone.
 *
 * Not run on demand from a mirror's translation miss: the rescan takes
 * DPDK's memory lock, which a consumer's fault probe must not take (DPDK
 * holds it for writing while the mirror's memory event callback waits
 * for that consumer's ack).
 *
 * @param as  A mirror (mmrt_as_mirror_dpdk()), or NULL for every mirror
 *   of the process (0 when there is none).
 * @return 0; -EINVAL (@p as is not a mirror of this process); -EEXIST
 *   (an area overlaps other memory of a mirror at its IOVAs: it is left
 *   out and logged, the others are done); -ENOMEM (the rescan's list, or
 *   page tables: the areas not done are left as they were);
 *   -E_RTE_SECONDARY. Thread-safe; may wait (DPDK's memory lock for
 *   reading, map locks, consumer acks). Not from a consumer's poll loop
 *   or a DPDK memory event callback.
 */
int mmrt_as_mirror_sync(struct mmrt_as *as);

/**
 * Copy @p len bytes from the address space at @p va into @p buf,
 * faulting pages in as needed (any alignment, may cross pages).
 *
 * All or nothing: the whole range is checked (-EFAULT, -EACCES) and
 * faulted in (-EHWPOISON, -ENOMEM, userfaults) before the first byte is
 * copied, so on failure @p buf is unchanged. One exception: if another
 * thread empties or poisons pages of the range while the call runs
 * (mmrt_advise(), mmrt_uffd_writeprotect(), poisoning), or changes the
 * layout while the call waits for a userfault, and the fault this causes
 * fails, the bytes of @p buf before the failing page hold data already
 * read and the rest is unchanged.
 *
 * @return 0, -EINVAL, -EFAULT, -EACCES, -EHWPOISON, -ETIMEDOUT, -ENOMEM.
 *   May wait (for userfaults too: see mmrt_fault()).
 */
int mmrt_read(struct mmrt_as *as, uint64_t va, void *buf, size_t len);

/**
 * Copy @p len bytes from @p buf into the address space at @p va, faulting
 * (and breaking copy-on-write) as needed.
 *
 * All or nothing: the whole range is checked (-EFAULT, -EACCES) and
 * faulted in (-EHWPOISON, -ENOMEM, userfaults) before the first byte is
 * written, so a failed call writes nothing (it may leave pages of the
 * range faulted in, as mmrt_fault() would). One exception: if another
 * thread empties or poisons pages of the range while the call runs
 * (mmrt_advise(), mmrt_uffd_writeprotect(), poisoning), or changes the
 * layout while the call waits for a userfault, and the fault this causes
 * fails, the bytes before the failing page are written and no byte from
 * it on.
 *
 * @return 0, -EINVAL, -EFAULT, -EACCES, -EHWPOISON, -ETIMEDOUT, -ENOMEM.
 *   May wait (for userfaults too: see mmrt_fault()).
 */
int mmrt_write(struct mmrt_as *as, uint64_t va, const void *buf, size_t len);

/**
 * mmrt_read() with @p flags: MMRT_ACCESS_NOWAIT returns -EAGAIN where a
 * userfault would be waited for. The userfault of the first such page is
 * then posted and @p buf is unchanged, with the exception mmrt_read()
 * states for concurrent changes.
 * @return as mmrt_read(), -EAGAIN, -EINVAL for unknown @p flags.
 */
int mmrt_read_flags(struct mmrt_as *as, uint64_t va, void *buf, size_t len,
	uint32_t flags);

/**
 * mmrt_write() with @p flags: MMRT_ACCESS_NOWAIT returns -EAGAIN where a
 * userfault would be waited for. The userfault of the first such page is
 * then posted and nothing is written, with the exception mmrt_write()
 * states for concurrent changes.
 * @return as mmrt_write(), -EAGAIN, -EINVAL for unknown @p flags.
 */
int mmrt_write_flags(struct mmrt_as *as, uint64_t va, const void *buf,
	size_t len, uint32_t flags);

/*
 * Pins, scatter-gather lookup and reverse lookup (issue 11, items 4 and 5).
 */

struct mmrt_pin;

/** mmrt_pin() flags. */
#define MMRT_PIN_WRITE (1u << 0) /**< The holder writes the pages. */

/**
 * One segment of a scatter-gather list: @p len bytes that are contiguous
 * both at the host address and in IOVA space.
 */
struct mmrt_sg {
	void *addr;       /**< Host address of the first byte. */
	rte_iova_t iova;  /**< IOVA of the first byte; RTE_BAD_IOVA for host
			   * memory DPDK does not know (then only the host
			   * addresses are contiguous). */
	uint64_t len;     /**< Bytes. */
};

/**
 * Called when a pin is revoked (see mmrt_pin_revocable()).
 *
 * @param pin  The pin, still held: its pages stay valid until mmrt_unpin().
 * @param arg  The argument given at pin time.
 */
typedef void (*mmrt_pin_revoke_t)(struct mmrt_pin *pin, void *arg);

/**
 * Pin [@p va, @p va + @p len) of @p as for long-lived use, as
 * pin_user_pages(FOLL_LONGTERM) or libvfio-user's vfu_sgl_get() do: every
 * page is faulted in (for write with MMRT_PIN_WRITE, or when the region
 * is writable, so that no page of the pin is shared copy-on-write) and
 * held until mmrt_unpin().
 *
 * What a pin guarantees for pool memory (anonymous and object pages):
 * - the frames are never moved or merged: mmrt_merge() and
 *   mmrt_uffd_move() of a pinned page fail with -EBUSY and change nothing;
 * - mmrt_as_fork() copies pinned anonymous pages for the child at once
 *   (they are never shared copy-on-write, so the parent keeps the pinned
 *   frames mapped and writable);
 * - a write to a pinned page never copies it (copy-on-write reuses it);
 * - the frames outlive an unmap: mmrt_unmap(), mmrt_remap(),
 *   MMRT_ADV_DONTNEED or the destruction of @p as remove the translation
 *   but the frames stay allocated (not returned to the pool) until
 *   mmrt_unpin().
 * For a host mapping (mmrt_map_host(), the DPDK mirror) the pin records
 * the host pages and their IOVAs; the memory stays the caller's, who
 * must keep it until the pin is unpinned or revoked.
 *
 * Revocation: a pin is revoked when the translation of its range changes
 * under it: unmap, remap, MMRT_ADV_DONTNEED, destruction of @p as, a
 * mmrt_protect() that takes away the access the pin was taken for
 * (write with MMRT_PIN_WRITE, else read), or a copy-on-write of a page
 * the pin could not make exclusive (a read-only private page shared
 * with a fork). Fork, userfault write-protect, and merges or moves
 * (which refuse pinned pages) do not revoke. mmrt_pin_revoked() tells;
 * the pages stay held and readable through mmrt_pin_sg() until
 * mmrt_unpin().
 *
 * @param as     Address space.
 * @param va     Page-aligned start.
 * @param len    Bytes, a non-zero multiple of MMRT_PAGE_SIZE; the range
 *   must not wrap or end past MMRT_VA_LIMIT.
 * @param flags  0 or MMRT_PIN_WRITE.
 * @param out    Receives the pin.
 * @return 0; -EINVAL (NULL @p out, not a live space, unaligned, zero or
 *   wrapping range, unknown @p flags); -EFAULT (part of the range is not
 *   mapped, or a hole of the mirror); -EACCES (the region forbids the
 *   access); -EHWPOISON (a poisoned page); -ENOMEM; -ETIMEDOUT (a
 *   userfault was not resolved in time); -EAGAIN (the range kept
 *   changing while the pin was taken); -E_RTE_SECONDARY (in a DPDK
 *   secondary: a fault the pin needs must replace a frame of a space
 *   with the primary's plain subscribers, see mmrt_fault(); or the
 *   space has an interval notifier of the primary's, whose struct a
 *   secondary must not link to, mmrt_interval_notifier_insert()). On failure
 *   nothing is pinned and *@p out is unchanged. Thread-safe; may wait
 *   (faults, userfaults).
 *
 * Processes: any process of the runtime (a DPDK secondary included) pins
 * on any space. The pin is shared memory: whichever process changes the
 * range revokes it, any process may read it (mmrt_pin_revoked(),
 * mmrt_pin_sg()) or unpin it while its taker lives, and once the process
 * that took it died, the reaper owns it: mmrt_reap_dead() releases it (its frames go back to the pool unless
 * still mapped). A secondary's mmrt_fini() fails with -EBUSY while it
 * holds pins. Pool pages' addresses and IOVAs are valid in every
 * process. A host page's address is the mapping process's: valid in
 * another process only for DPDK memory (the DPDK mirror, rte_malloc),
 * so use a pin of process memory mapped with mmrt_map_host() only in the
 * process that mapped it.
 */
int mmrt_pin(struct mmrt_as *as, uint64_t va, uint64_t len, uint32_t flags,
	struct mmrt_pin **out);

/**
 * mmrt_pin() with a revocation callback: @p revoke (may be NULL) is
 * called once, when the pin is revoked (see mmrt_pin()), by the thread
 * that changes the page table, with that space's map lock held and
 * before that call returns (so a holder that stops using the pages in
 * @p revoke keeps invariant A for host memory: the caller of mmrt_unmap()
 * may free it on return). @p revoke must not call into lib/mm for that
 * space nor wait for a thread that does, and must not wait for a poller
 * (the invalidating thread may be one); it may call mmrt_pin_revoked()
 * and mmrt_pin_sg(), not mmrt_unpin().
 *
 * With a callback, primary only: -E_RTE_SECONDARY in a DPDK secondary
 * (@p revoke is a function of the process that calls this). Such a pin
 * is a plain subscriber of @p as: a secondary's operation that would
 * revoke it (any unmap, protect, remap, advise, fork or destroy of
 * @p as) is refused with -E_RTE_SECONDARY, as for the primary's
 * notifiers. Without one (NULL, or mmrt_pin()) any process may pin.
 *
 * @return as mmrt_pin().
 */
int mmrt_pin_revocable(struct mmrt_as *as, uint64_t va, uint64_t len,
	uint32_t flags, mmrt_pin_revoke_t revoke, void *arg,
	struct mmrt_pin **out);

/**
 * Release a pin: its frames go back to the pool if nothing else holds
 * them (an unmapped range's frames are freed here), and the space's
 * pinned_pages count drops. Host memory is not touched. May be called
 * after the space was destroyed.
 *
 * A second unpin of the same pointer is undefined (the pin is freed):
 * drop the pointer.
 *
 * A pin may outlive its space: the destroy revokes it (and logs that
 * it detached an interval notifier); unpin it after the destroy has
 * returned, not concurrently with it.
 *
 * @return 0, -EINVAL (NULL or not a live pin). Thread-safe against
 *   everything but a concurrent unpin of the same pin and a concurrent
 *   destroy of its space; not from a revocation callback. May wait (for
 *   an invalidation of the range in progress).
 */
int mmrt_unpin(struct mmrt_pin *pin);

/**
 * @return true once @p pin has been revoked (see mmrt_pin()), false
 *   otherwise (and for NULL). Never waits.
 */
bool mmrt_pin_revoked(const struct mmrt_pin *pin);

/**
 * The pinned pages of @p pin as scatter-gather segments (the pages the
 * pin holds, revoked or not), contiguous pages coalesced; the contract
 * of @p sg and @p n is mmrt_translate_sg()'s.
 *
 * @return the number of segments; -EINVAL (bad pin, @p sg NULL with
 *   @p n > 0); -ENOSPC (more than @p n segments: @p sg holds the first
 *   @p n). Never waits.
 */
int mmrt_pin_sg(const struct mmrt_pin *pin, struct mmrt_sg *sg,
	unsigned int n);

/**
 * Translate [@p va, @p va + @p len) into scatter-gather segments of
 * {host address, IOVA, length}, without faulting: pages contiguous both
 * in host address and in IOVA are coalesced into one segment (the pages
 * of a 2 MiB leaf, consecutive pool frames, a host mapping of contiguous
 * DPDK memory). Any byte alignment; the first segment starts at @p va's
 * byte, the last ends at @p va + @p len.
 *
 * As mmrt_translate(): a registered, online poller walks without locks
 * (the result is valid until its next quiescent state, as long as it does
 * not race an unmap: pin the range, or use a consumer, for longer);
 * other threads walk under the map lock.
 *
 * @param sg  Array of @p n segments, or NULL with @p n == 0 to only count.
 * @return the number of segments (>= 1; with @p sg NULL and @p n 0, the
 *   number needed); -EINVAL (not a live space, zero or wrapping range or
 *   past MMRT_VA_LIMIT, unknown @p access bits, @p sg NULL with @p n >
 *   0); -EFAULT (a page is not present: mmrt_fault() it); -EACCES (a page
 *   does not grant @p access); -ENOSPC (more than @p n segments are
 *   needed: @p sg holds the first @p n, which translate a prefix of the
 *   range: continue at @p va plus the sum of their lengths). On -EFAULT
 *   and -EACCES the contents of @p sg are unspecified. Never waits when
 *   called by a registered poller.
 */
int mmrt_translate_sg(struct mmrt_as *as, uint64_t va, uint64_t len,
	uint32_t access, struct mmrt_sg *sg, unsigned int n);

/**
 * Reverse lookup: call @p cb for every (space, VA) at which the host
 * address @p addr is mapped now: host mappings (by their regions, also
 * where MMRT_ADV_DONTNEED dropped the leaf, which refaults the same
 * bytes), the DPDK mirror (at @p addr's IOVA), and pool frames (by the
 * leaves that map them: a frame shared by fork or merge, or mapped by
 * several spaces through an object, is reported once per leaf). Spaces
 * are visited in mmrt_as_foreach() order, each in VA order. The VA
 * includes @p addr's offset in its page.
 *
 * Cost: host mappings O(regions); pool frames a walk of the populated
 * page tables of every pool region (use it off the fast path).
 *
 * @param addr  Host address (any alignment).
 * @param cb    Called with the space, the VA and @p arg, with no lock
 *   held, under the rules of mmrt_as_foreach() callbacks; a non-zero
 *   return stops the lookup. NULL: only count.
 * @return the number of (space, VA) found (cb calls made, the stopping
 *   one included); -ENOENT (none); -EINVAL (@p addr NULL, or the pool's
 *   shared zero frame or a page-table page, which are not mapped data);
 *   -ENOMEM; -ENODEV (not up). Thread-safe; may wait (map locks).
 */
int mmrt_host_lookup(const void *addr,
	int (*cb)(struct mmrt_as *as, uint64_t va, void *arg), void *arg);

/**
 * The first (space, VA) of mmrt_host_lookup().
 *
 * @param addr     Host address.
 * @param as_out   Receives the space (valid while it is not destroyed).
 * @param va_out   Receives the VA.
 * @return 0; -EINVAL (a NULL argument, as mmrt_host_lookup()); -ENOENT
 *   (not mapped in any space); -ENOMEM; -ENODEV. May wait.
 */
int mmrt_host_to_va(const void *addr, struct mmrt_as **as_out,
	uint64_t *va_out);

/**
 * Snapshot statistics of an address space.
 * @return 0, -EINVAL. Thread-safe.
 */
int mmrt_as_stats(struct mmrt_as *as, struct mmrt_as_stats *st);

/*
 * Shared objects: a named, sized set of frames (allocated on first use)
 * mappable into several address spaces.
 */

/**
 * Create a shared object of @p size bytes (a multiple of MMRT_PAGE_SIZE).
 * @return the object, or NULL with rte_errno EINVAL, EEXIST, ENOSPC (the
 *   table of 256 objects is full), ENOMEM, ENODEV. May wait.
 * In any process of the runtime: the object table is shared (memzone
 * mmrt_objects), so every process finds the object by name and may map,
 * read, write and destroy it; the object outlives the process that made
 * it (as a POSIX shared memory object does) until someone destroys it.
 */
struct mmrt_object *mmrt_object_create(const char *name, uint64_t size);

/**
 * Destroy an object; its frames are released.
 *
 * A second destroy of the same pointer returns -EINVAL only until the
 * next mmrt_object_create(): the new object may be allocated at the same
 * address, and the stale pointer then names it. Drop the pointer at
 * destroy.
 *
 * Nothing else may use the object while it is destroyed, in any process
 * (no map, read or write of it may run concurrently): the map count is
 * checked under the table's lock, but a map that found the object live
 * before the destroy is not held off by it.
 *
 * @return 0, -EINVAL (not a live object), -EBUSY (still mapped),
 *   -E_RTE_SECONDARY (a file-backed object, from another process than
 *   the primary that made it: its descriptor is the primary's). May wait.
 */
int mmrt_object_destroy(struct mmrt_object *obj);

/**
 * @return the live object named @p name, made by any process of the
 *   runtime, or NULL (rte_errno ENOENT, EINVAL for NULL, an empty name or
 *   one of MMRT_NAME_SIZE characters or more, ENODEV if the runtime is
 *   not up). Thread-safe; never waits.
 */
struct mmrt_object *mmrt_object_lookup(const char *name);

/** @return size in bytes of a live object, 0 if invalid. */
uint64_t mmrt_object_size(const struct mmrt_object *obj);

/**
 * Read/write the object's contents directly (missing pages read as zero;
 * writes allocate them). A write that fails changes no byte (pages it
 * allocated before failing stay in the object, reading as zero).
 * @return 0, -EINVAL (bad object, NULL buffer, range past the end),
 *   -ENOMEM. May wait.
 */
int mmrt_object_read(struct mmrt_object *obj, uint64_t off, void *buf,
	size_t len);
int mmrt_object_write(struct mmrt_object *obj, uint64_t off,
	const void *buf, size_t len);

/**
 * Reclaim deferred page-table pages whose grace period has passed. With
 * @p wait, first wait for a grace period so that every deferred page is
 * reclaimed on return.
 * @return number of pages still deferred. May wait if @p wait.
 */
unsigned int mmrt_mm_reclaim(bool wait);

/**
 * Call @p cb on every live address space, in table order, until it
 * returns non-zero.
 *
 * Spaces created during the walk may or may not be visited; a space
 * destroyed during the walk is visited either not at all or while it is
 * still whole: its destroy waits until the walk has returned, so the
 * pointer passed to @p cb stays valid until @p cb returns (not after).
 *
 * @p cb may call the read-only and data calls on the space it is given
 * and on others (mmrt_as_name(), mmrt_as_stats(), mmrt_as_lookup(),
 * mmrt_read(), mmrt_uffd_foreach(), ...) and mmrt_as_create(). It must
 * not call mmrt_as_destroy() or mmrt_as_fork() (a failed fork destroys
 * its child), nor mmrt_as_foreach(): those wait for this walk to end,
 * and a waiting destroy would hold off the nested walk.
 *
 * @param cb called with a live space and @p arg; a non-zero return stops
 *   the walk and is returned.
 * @return 0 (every space visited), the first non-zero value of @p cb,
 *   -EINVAL (@p cb NULL), -ENODEV (runtime not up).
 *   Any thread, registered or not. Waits only for what @p cb waits for
 *   and for a concurrent destroy's brief check; meanwhile mmrt_as_destroy()
 *   of any space waits for the walk to return.
 */
int mmrt_as_foreach(int (*cb)(struct mmrt_as *as, void *arg), void *arg);

/*
 * File-backed objects (snapshot restore): a shared object whose pages are
 * read from a file on first use.
 */

/**
 * Create a shared object of @p size bytes whose page i holds, from its
 * first use on, the file's bytes at @p offset + i * MMRT_PAGE_SIZE: the
 * first fault, mmrt_object_read()/mmrt_object_write() or uffd continue
 * on the page reads it with pread() into a pool frame (nothing is
 * mmap()ed). A page the end of the file cuts has zeros after it; a page
 * wholly past the end of the file (or of a shorter file) is all zeros, as
 * a hole of a sparse file reads. The object is a private copy: writes
 * change its frames, never the file, and later changes to the file are
 * seen only by pages not read yet.
 *
 * Mappings (mmrt_map_object()), fork and MINOR-mode userfault work as
 * for mmrt_object_create() objects, except that every page of a
 * file-backed object exists (its bytes are in the file): a fault on any
 * unmapped page of a range registered MINOR is a minor fault, and
 * mmrt_uffd_continue() reads the page in if need be and maps it.
 * A page whose read fails (an I/O error) fails its fault with -EIO.
 * Faults of consumers (DMA engines) on pages not read yet become page
 * requests, served by mmrt_consumer_serve_faults() (a poller never waits
 * for a file).
 *
 * @param name    object name (as mmrt_object_create()).
 * @param fd      a file descriptor open for reading (a regular file or a
 *   memfd); the object keeps its own duplicate, the caller may close
 *   @p fd at once.
 * @param offset  file offset of the object's first byte, MMRT_PAGE_SIZE
 *   aligned.
 * @param size    bytes, a non-zero multiple of MMRT_PAGE_SIZE; need not
 *   match the file's size.
 * @param flags   0.
 * @return the object, or NULL with rte_errno: EINVAL (bad name, size,
 *   offset, flags, or @p fd not a readable, seekable file), EBADF,
 *   EISDIR, EEXIST, ENOSPC, ENOMEM, ENODEV, EMFILE. Thread-safe; may
 *   wait.
 * Primary only: in a DPDK secondary process NULL with rte_errno
 * E_RTE_SECONDARY (the object's descriptor would die with the process).
 * Other processes find the object by name and use it; they read its
 * pages not read yet through /proc/<primary>/fd (EIO if that fails), and
 * may not destroy it (mmrt_object_destroy()).
 */
struct mmrt_object *mmrt_object_create_fd(const char *name, int fd,
	uint64_t offset, uint64_t size, uint32_t flags);

/*
 * Dirty tracking (live migration): harvest-and-clear of the pages written
 * since the last harvest, as the kernel's PAGEMAP_SCAN with write-protect
 * matching, IOMMUFD's dirty tracking or vhost's dirty log.
 *
 * Tracking is always on: each leaf has a dirty bit. It is set by every
 * write: mmrt_write() and friends, a write fault, a uffd copy or zeropage
 * fill or move, and the first write of a consumer (a DMA engine) or a
 * lockless walker, because a translation for write is handed out (and a
 * device-TLB entry for write is made) only for a dirty leaf, as with ATS.
 * A harvest clears the bit and invalidates the write translations of the
 * pages it cleared, so the next write through any of them faults and
 * marks the page again. New leaves made writable by a mapping or a fault
 * start dirty (mmrt_dirty_clear() starts a round from clean).
 *
 * Granularity is the leaf: a dirty 2 MiB leaf reports its 512 pages.
 * A page whose leaf goes away (unmap, MMRT_ADV_DONTNEED) loses its dirty
 * state with it; a read fault that maps it again does not make it dirty.
 */

/** mmrt_dirty_harvest() flag: report without clearing (no invalidation). */
#define MMRT_DIRTY_NO_CLEAR (UINT32_C(1) << 0)

/**
 * Harvest the dirty pages of [va, va + len) into @p bitmap and clear them.
 *
 * Bit i of the bitmap (bitmap[i / 64] >> (i % 64) & 1) stands for the page
 * at va + i * MMRT_PAGE_SIZE; the bits of dirty pages are set, the others
 * are left as they were (clear the bitmap first for one harvest's report;
 * keep it to accumulate). Unmapped parts of the range report nothing.
 *
 * Atomic against concurrent writers, on pool and host memory alike: a
 * write that completes before the call returns is reported by this
 * harvest or (if it lands after the page was harvested) by the next one;
 * none is lost, and a page nobody wrote since the last harvest is not
 * reported. Before returning, every consumer acked the invalidation of
 * the write translations cleared, and every registered poller passed a
 * quiescent state, so a write through a translation obtained before the
 * harvest has landed when the call returns: copy the reported pages after
 * it returns. With MMRT_DIRTY_NO_CLEAR the dirty state is only read.
 *
 * @param as the address space.
 * @param va start, MMRT_PAGE_SIZE aligned.
 * @param len bytes, a non-zero multiple of MMRT_PAGE_SIZE; the range must
 *   not wrap nor pass MMRT_VA_LIMIT.
 * @param bitmap at least len / MMRT_PAGE_SIZE bits, in 64-bit words.
 * @param bitmap_bits bits of @p bitmap.
 * @param flags 0 or MMRT_DIRTY_NO_CLEAR.
 * @return the number of dirty pages reported (>= 0), or -EINVAL (not a
 *   live space, bad range, NULL @p bitmap, unknown @p flags), -ENOBUFS
 *   (@p bitmap_bits < len / MMRT_PAGE_SIZE). On error nothing is changed,
 *   in the space or in @p bitmap.
 *   Thread-safe. May wait (map lock, consumer acks, a QSBR grace period):
 *   a registered poller calling it is taken offline meanwhile.
 */
int64_t mmrt_dirty_harvest(struct mmrt_as *as, uint64_t va, uint64_t len,
	uint64_t *bitmap, size_t bitmap_bits, uint32_t flags);

/**
 * Mark every page of [va, va + len) clean without reporting it: the start
 * of a tracking round (a harvest whose report is dropped).
 * @return the number of dirty pages cleared (>= 0), -EINVAL (as
 *   mmrt_dirty_harvest()). Same atomicity and waiting as
 *   mmrt_dirty_harvest().
 */
int64_t mmrt_dirty_clear(struct mmrt_as *as, uint64_t va, uint64_t len);

#ifdef __cplusplus
}
#endif

#include <mmrt_mm_core.h>
#include <mmrt_notifier.h>

#endif /* MMRT_MM_H */
