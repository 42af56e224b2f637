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
 *   mapped), -ENOENT (not present), -EAGAIN (contents differ). May wait.
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
 * Map existing process memory: [@p host, @p host + @p len) appears at
 * [@p va, @p va + @p len) of @p as, with protection @p prot. The pages
 * stay the caller's: they are never taken from or given to the frame
 * pool, and every leaf is in place when the call returns (no fault is
 * needed to use them). A 2 MiB leaf is used wherever @p va and @p host
 * are both 2 MiB aligned over a whole 2 MiB chunk of the range.
 *
 * Translations (mmrt_translate(), consumers, DMA engines) give the host
 * address and the IOVA DPDK reports for it: the address itself for DPDK
 * memory under IOVA-as-VA, RTE_BAD_IOVA for memory DPDK does not know
 * (the translation's pfn is MMRT_PFN_NONE). mmrt_read(), mmrt_write(),
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
 * mmrt_merge() refuses them with -EINVAL, uffd registration and moves on
 * them fail with -EINVAL.
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
 *   under IOVA-as-PA); -ENOMEM (no page-table pages). On failure nothing
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
 * holds all of it from the start. External memory (rte_extmem_register)
 * present at creation is mirrored; later external registrations are not
 * reported by DPDK 22.11's events and are not followed.
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
 * @return the object, or NULL with rte_errno EINVAL, EEXIST, ENOMEM,
 *   ENODEV. May wait.
 * Primary only: in a DPDK secondary process NULL with rte_errno
 * E_RTE_SECONDARY (the object table is per process; a secondary may
 * fault on objects the primary mapped into a space).
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
 * @return 0, -EINVAL (not a live object), -EBUSY (still mapped). May wait.
 */
int mmrt_object_destroy(struct mmrt_object *obj);

/**
 * @return the live object named @p name, or NULL (rte_errno
 *   ENOENT/EINVAL). Primary only: in a DPDK secondary process NULL with
 *   rte_errno E_RTE_SECONDARY.
 */
struct mmrt_object *mmrt_object_lookup(const char *name);

/** @return size in bytes of a live object, 0 if invalid. */
uint64_t mmrt_object_size(const struct mmrt_object *obj);

/**
 * Read/write the object's contents directly (missing pages read as zero;
 * writes allocate them).
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

#ifdef __cplusplus
}
#endif

#include <mmrt_mm_core.h>
#include <mmrt_notifier.h>

#endif /* MMRT_MM_H */
