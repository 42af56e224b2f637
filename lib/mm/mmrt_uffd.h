/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_UFFD_H
#define MMRT_UFFD_H

/**
 * @file
 * Userfault (docs/architecture.md): an application serves the page faults
 * of registered ranges of an address space itself, with the contract of
 * Linux's userfaultfd, for requesters that never sleep.
 *
 * A struct mmrt_uffd is bound to one address space. Ranges are registered
 * in MISSING, WP and MINOR modes. A fault on a registered page (from a
 * consumer of lib/dev, from mmrt_fault() or from the CPU accessors
 * mmrt_read()/mmrt_write()) posts one message per page (deduplicated while
 * it is pending) to the uffd's fault ring; the resolver reads the messages
 * with mmrt_uffd_read() and answers with a fill (copy, zeropage, continue,
 * move, poison) or a write-protect change, which wakes the requesters of
 * the range unless asked not to.
 *
 * Requesters:
 * - consumers never wait: their translate returns -EAGAIN and succeeds on
 *   a later try once the page is there (they do not need a wake);
 * - mmrt_fault() and the CPU accessors wait for the wake (bounded spinning,
 *   then yielding, up to the configured timeout) unless called with
 *   MMRT_ACCESS_NOWAIT, which returns -EAGAIN after posting.
 *
 * Layout events (fork, remap, remove, unmap) are queued after the fault
 * messages, for the features that ask for them. From the moment such an
 * operation starts until the resolver has read its event, fills on the uffd
 * return -EAGAIN (the kernel's mmap_changing): a fill is either wholly
 * before the change or refused. The operation itself does not wait for the
 * resolver.
 *
 * Thread safety: every function may be called from any thread, including
 * registered pollers, concurrently with faults and with each other, except
 * mmrt_uffd_destroy(), which must not run concurrently with other calls on
 * the same uffd. Fills and write-protect take the map lock of the space for
 * reading (trying first; a poller is taken offline while it waits);
 * register, unregister and destroy take it for writing.
 */

#include <stdbool.h>
#include <stdint.h>

#include <mmrt_mm.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The only API version (the kernel's UFFD_API). */
#define MMRT_UFFD_API 0xAA

/** @name Feature bits (the kernel's UFFD_FEATURE_*, same values). */
/**@{*/
#define MMRT_UFFD_FEATURE_PAGEFAULT_FLAG_WP (UINT64_C(1) << 0) /**< WP faults reported */
#define MMRT_UFFD_FEATURE_EVENT_FORK     (UINT64_C(1) << 1) /**< fork event, child uffd */
#define MMRT_UFFD_FEATURE_EVENT_REMAP    (UINT64_C(1) << 2) /**< mmrt_remap() event */
#define MMRT_UFFD_FEATURE_EVENT_REMOVE   (UINT64_C(1) << 3) /**< advise(DONTNEED) event */
#define MMRT_UFFD_FEATURE_EVENT_UNMAP    (UINT64_C(1) << 6) /**< mmrt_unmap() event */
#define MMRT_UFFD_FEATURE_SIGBUS         (UINT64_C(1) << 7) /**< faults fail, no message */
#define MMRT_UFFD_FEATURE_THREAD_ID      (UINT64_C(1) << 8) /**< requester id in messages */
#define MMRT_UFFD_FEATURE_MINOR_SHMEM    (UINT64_C(1) << 10) /**< MINOR on objects */
#define MMRT_UFFD_FEATURE_EXACT_ADDRESS  (UINT64_C(1) << 11) /**< address not page-masked */
#define MMRT_UFFD_FEATURE_WP_SHMEM       (UINT64_C(1) << 12) /**< WP on objects */
#define MMRT_UFFD_FEATURE_WP_UNPOPULATED (UINT64_C(1) << 13) /**< WP markers on empty PTEs */
#define MMRT_UFFD_FEATURE_POISON         (UINT64_C(1) << 14) /**< mmrt_uffd_poison() */
#define MMRT_UFFD_FEATURE_WP_ASYNC       (UINT64_C(1) << 15) /**< writes clear WP, no message */
#define MMRT_UFFD_FEATURE_MOVE           (UINT64_C(1) << 16) /**< mmrt_uffd_move() */
/**@}*/

/** Every feature this runtime supports. */
#define MMRT_UFFD_FEATURES_ALL (MMRT_UFFD_FEATURE_PAGEFAULT_FLAG_WP | \
	MMRT_UFFD_FEATURE_EVENT_FORK | MMRT_UFFD_FEATURE_EVENT_REMAP | \
	MMRT_UFFD_FEATURE_EVENT_REMOVE | MMRT_UFFD_FEATURE_EVENT_UNMAP | \
	MMRT_UFFD_FEATURE_SIGBUS | MMRT_UFFD_FEATURE_THREAD_ID | \
	MMRT_UFFD_FEATURE_MINOR_SHMEM | MMRT_UFFD_FEATURE_EXACT_ADDRESS | \
	MMRT_UFFD_FEATURE_WP_SHMEM | MMRT_UFFD_FEATURE_WP_UNPOPULATED | \
	MMRT_UFFD_FEATURE_POISON | MMRT_UFFD_FEATURE_WP_ASYNC | \
	MMRT_UFFD_FEATURE_MOVE)

/** @name Register modes. */
/**@{*/
#define MMRT_UFFD_REGISTER_MODE_MISSING (UINT64_C(1) << 0) /**< empty pages */
#define MMRT_UFFD_REGISTER_MODE_WP      (UINT64_C(1) << 1) /**< writes to WP pages */
#define MMRT_UFFD_REGISTER_MODE_MINOR   (UINT64_C(1) << 2) /**< object pages not mapped yet */
/**@}*/

/** @name Operations allowed in a range (returned by register). */
/**@{*/
#define MMRT_UFFD_OP_WAKE         (UINT64_C(1) << 0)
#define MMRT_UFFD_OP_COPY         (UINT64_C(1) << 1)
#define MMRT_UFFD_OP_ZEROPAGE     (UINT64_C(1) << 2)
#define MMRT_UFFD_OP_MOVE         (UINT64_C(1) << 3)
#define MMRT_UFFD_OP_WRITEPROTECT (UINT64_C(1) << 4)
#define MMRT_UFFD_OP_CONTINUE     (UINT64_C(1) << 5)
#define MMRT_UFFD_OP_POISON       (UINT64_C(1) << 6)
/**@}*/

/** @name Operation modes. */
/**@{*/
#define MMRT_UFFD_MODE_DONTWAKE        (UINT64_C(1) << 0) /**< do not wake waiters */
#define MMRT_UFFD_MODE_WP              (UINT64_C(1) << 1) /**< copy/continue: map write-protected;
							     * writeprotect: set (else clear) */
#define MMRT_UFFD_MODE_ALLOW_SRC_HOLES (UINT64_C(1) << 1) /**< move only: holes count as moved */
/**@}*/

/** @name Message events (the kernel's UFFD_EVENT_*, same values). */
/**@{*/
#define MMRT_UFFD_EVENT_PAGEFAULT 0x12
#define MMRT_UFFD_EVENT_FORK      0x13
#define MMRT_UFFD_EVENT_REMAP     0x14
#define MMRT_UFFD_EVENT_REMOVE    0x15
#define MMRT_UFFD_EVENT_UNMAP     0x16
/**@}*/

/** @name Page-fault flags. Neither WP nor MINOR: a MISSING fault. */
/**@{*/
#define MMRT_UFFD_PAGEFAULT_FLAG_WRITE (UINT64_C(1) << 0)
#define MMRT_UFFD_PAGEFAULT_FLAG_WP    (UINT64_C(1) << 1)
#define MMRT_UFFD_PAGEFAULT_FLAG_MINOR (UINT64_C(1) << 2)
/**@}*/

/** Requester ids of consumers have this bit set (the rest is the binding id). */
#define MMRT_UFFD_REQUESTER_CONSUMER (UINT32_C(1) << 31)

struct mmrt_uffd;

/** A message, 32 bytes, in the shape of the kernel's struct uffd_msg. */
struct mmrt_uffd_msg {
	uint8_t event;      /**< MMRT_UFFD_EVENT_* */
	uint8_t reserved1;
	uint16_t reserved2;
	uint32_t reserved3;
	union {
		struct {
			uint64_t flags;   /**< MMRT_UFFD_PAGEFAULT_FLAG_* */
			uint64_t address; /**< page (or exact, with EXACT_ADDRESS) */
			uint32_t ptid;    /**< requester id, with THREAD_ID: a
					   * consumer's binding id |
					   * MMRT_UFFD_REQUESTER_CONSUMER, or
					   * the thread's rte_gettid() */
		} pagefault;
		struct {
			struct mmrt_uffd *ufd; /**< the child's uffd; the
						* resolver owns it */
		} fork;
		struct {
			uint64_t from;
			uint64_t to;
			uint64_t len;
		} remap;
		struct {
			uint64_t start;
			uint64_t end;
		} remove; /**< REMOVE and UNMAP */
		struct {
			uint64_t reserved1;
			uint64_t reserved2;
			uint64_t reserved3;
		} reserved;
	} arg;
} __rte_packed;

/** Longest uffd name (with the NUL). */
#define MMRT_UFFD_NAME_SIZE 32

/** Creation parameters; NULL for the defaults. */
struct mmrt_uffd_conf {
	/** Fault and event ring entries, a power of two in 64..65536
	 * (0: 4096). It also bounds the pending faults. */
	uint32_t ring_size;
	/** How long mmrt_fault() and the accessors wait for a wake before
	 * -ETIMEDOUT, in microseconds (0: 10 s). */
	uint64_t wait_timeout_us;
	/** Name, unique among the uffds of the space, 1..MMRT_UFFD_NAME_SIZE-1
	 * characters, for mmrt_uffd_lookup(); NULL: "uffd<k>", the lowest
	 * k free in the space. The child uffd of a fork event takes its
	 * parent's name in the child space. */
	const char *name;
};

/** A range of the address space. */
struct mmrt_uffd_range {
	uint64_t start;
	uint64_t len;
};

/** mmrt_uffd_copy() arguments and result. */
struct mmrt_uffd_copy {
	uint64_t dst;      /**< page-aligned */
	const void *src;   /**< host memory, any alignment */
	uint64_t len;      /**< page multiple, > 0 */
	uint64_t mode;     /**< DONTWAKE | WP */
	int64_t copy;      /**< out: bytes copied, or a negative errno */
};

/** mmrt_uffd_zeropage() arguments and result. */
struct mmrt_uffd_zeropage {
	struct mmrt_uffd_range range;
	uint64_t mode;     /**< DONTWAKE */
	int64_t zeropage;  /**< out: bytes mapped, or a negative errno */
};

/** mmrt_uffd_continue() arguments and result. */
struct mmrt_uffd_continue {
	struct mmrt_uffd_range range;
	uint64_t mode;     /**< DONTWAKE | WP */
	int64_t mapped;    /**< out: bytes mapped, or a negative errno */
};

/** mmrt_uffd_poison() arguments and result. */
struct mmrt_uffd_poison {
	struct mmrt_uffd_range range;
	uint64_t mode;     /**< DONTWAKE */
	int64_t updated;   /**< out: bytes poisoned, or a negative errno */
};

/** mmrt_uffd_writeprotect() arguments. */
struct mmrt_uffd_writeprotect {
	struct mmrt_uffd_range range;
	uint64_t mode;     /**< WP (set; else clear) | DONTWAKE (clear only) */
};

/** mmrt_uffd_move() arguments and result. */
struct mmrt_uffd_move {
	uint64_t dst;      /**< page-aligned, registered with this uffd */
	uint64_t src;      /**< page-aligned, same address space */
	uint64_t len;      /**< page multiple, > 0 */
	uint64_t mode;     /**< DONTWAKE | ALLOW_SRC_HOLES */
	int64_t move;      /**< out: bytes moved, or a negative errno */
};

/** Counters of a uffd. */
struct mmrt_uffd_stats {
	uint64_t faults;        /**< Fault messages posted: exactly
				 *   faults_missing + faults_wp + faults_minor. */
	uint64_t faults_dedup;  /**< Faults not posted: one pending already. */
	uint64_t faults_missing; /**< ... of which MISSING (derived: the
				  *   claims less the others, so a sample
				  *   taken while a post is in flight may
				  *   count it a moment early). */
	uint64_t faults_wp;     /**< ... of which WP. */
	uint64_t faults_minor;  /**< ... of which MINOR. */
	uint64_t faults_sigbus; /**< Faults failed at once (SIGBUS mode). */
	uint64_t faults_full;   /**< Faults not posted: ring or table full
				 * (the requester retries). */
	uint64_t events;        /**< Event messages queued. */
	uint64_t events_lost;   /**< Events dropped: the event ring stayed full
				 * for the whole wait timeout. */
	uint64_t wp_async;      /**< Writes that cleared WP themselves. */
	uint64_t wakes;         /**< Wake operations. */
	uint64_t filled_pages;  /**< 4 KiB pages filled (all fill operations). */
	uint64_t pending;       /**< Faults pending now. */
};

/**
 * Create a uffd bound to @p as: the API handshake.
 *
 * @param api MMRT_UFFD_API.
 * @param features in: features wanted; out (if not NULL): every supported
 *   feature on success, 0 on failure. WP_ASYNC implies WP_UNPOPULATED.
 * @param conf NULL for the defaults.
 * @return the uffd, or NULL with rte_errno: EINVAL (@p as not live, @p api
 *   wrong, unknown or unsupported feature bits, bad @p conf, a name
 *   empty or too long), EEXIST (a uffd of @p as has that name), ENOSPC
 *   (the space has 16 uffds), ENOMEM.
 *   May wait (takes the map lock). Thread-safe.
 * Primary only for now: in a DPDK secondary process NULL with rte_errno
 * E_RTE_SECONDARY. A secondary may serve the faults of a primary's
 * uffd (find it by name with mmrt_uffd_lookup(), or with
 * mmrt_uffd_foreach() on the space): read, copy,
 * zeropage, continue, poison and wake work from any process; in a
 * secondary, writeprotect and move fail with -E_RTE_SECONDARY on a
 * space with plain notifier subscribers (their callbacks are the
 * primary's).
 */
struct mmrt_uffd *mmrt_uffd_create(struct mmrt_as *as, uint16_t api,
	uint64_t *features, const struct mmrt_uffd_conf *conf);

/**
 * Destroy a uffd: unregister every range (clearing write protection and
 * markers), wake every waiter (their faults retry as ordinary faults and
 * never fail because of it), drop unread events (destroying the child
 * uffds of unread fork events) and free it. Works after its address space
 * was destroyed.
 *
 * A second destroy of the same pointer returns -EINVAL only until its
 * memory is allocated again: the next mmrt_uffd_create() (or a fork event
 * creating a child uffd) may return the same address, and the stale
 * pointer then names the new uffd. Drop the pointer at destroy.
 *
 * @return 0, -EINVAL (NULL or not a live uffd). May wait. Not concurrent
 *   with other calls on @p u.
 */
int mmrt_uffd_destroy(struct mmrt_uffd *u);

/**
 * Register [start, start + len) in @p mode. Every region the range touches
 * (holes between regions are allowed) takes the registration; regions are
 * split at the ends. Registering again with this uffd replaces the mode.
 *
 * @param ops out (if not NULL): the MMRT_UFFD_OP_* allowed in the range:
 *   WAKE, COPY, ZEROPAGE, MOVE and POISON always (MOVE and POISON only with
 *   their features), WRITEPROTECT with WP mode, CONTINUE with MINOR mode.
 * @return 0; -EINVAL (unaligned, empty or wrapping range, mode 0 or unknown
 *   bits, no region in the range, MINOR on anonymous memory, MISSING on an
 *   object: objects serve MINOR and WP only); -EBUSY (a region is
 *   registered with another uffd); -ESRCH (the space is gone); -ENOMEM.
 *   Nothing changes on error. May wait.
 */
int mmrt_uffd_register(struct mmrt_uffd *u, uint64_t start, uint64_t len,
	uint64_t mode, uint64_t *ops);

/**
 * Unregister [start, start + len): clears write protection and WP markers,
 * wakes the waiters of the range. Regions of other uffds are left alone.
 *
 * @return 0; -EINVAL (bad range); -ESRCH; -ENOMEM. May wait.
 */
int mmrt_uffd_unregister(struct mmrt_uffd *u, uint64_t start, uint64_t len);

/**
 * Read up to @p n messages without waiting: every pending fault first, in
 * FIFO order, then events. Reading an event ends its layout change for
 * fills (see the file comment).
 *
 * @return messages read (0 if none), -EINVAL (NULL, @p n == 0). Never
 *   waits. Thread-safe (many readers).
 */
int mmrt_uffd_read(struct mmrt_uffd *u, struct mmrt_uffd_msg *msgs,
	unsigned int n);

/**
 * Fill [dst, dst + len) with a copy of @p src. Each page's contents are
 * complete before its entry is published. In a MMRT_MAP_HUGE region, each
 * 2 MiB-aligned 2 MiB chunk with an empty level-2 entry is filled as a 2
 * MiB leaf. A WP marker counts as empty. With MODE_WP the pages are mapped
 * write-protected.
 *
 * @return 0 (all done), -EAGAIN (partial: c->copy bytes done; or a layout
 *   change is pending: c->copy = -EAGAIN), or the error of the first page
 *   (c->copy = the same): -EEXIST (populated: still wake it), -ENOENT (no
 *   region registered with @p u at dst), -EINVAL (bad arguments or mode,
 *   MODE_WP where WP is not registered), -ENOMEM, -ESRCH. c->copy is
 *   always written. Wakes [dst, dst + done) unless MODE_DONTWAKE. May wait
 *   for the map lock.
 */
int mmrt_uffd_copy(struct mmrt_uffd *u, struct mmrt_uffd_copy *c);

/**
 * Map the zero page (read-only; a write faults it into a private zeroed
 * frame) into [start, start + len). Needs truly empty entries.
 * Errors and result as mmrt_uffd_copy(), in z->zeropage.
 */
int mmrt_uffd_zeropage(struct mmrt_uffd *u, struct mmrt_uffd_zeropage *z);

/**
 * MINOR mode: map the object pages that back [start, start + len), which
 * must exist already (-EFAULT otherwise), writable as the region allows
 * unless MODE_WP. Errors and result as mmrt_uffd_copy() (also -EINVAL
 * outside a MINOR range), in c->mapped.
 */
int mmrt_uffd_continue(struct mmrt_uffd *u, struct mmrt_uffd_continue *c);

/**
 * Install poison markers in [start, start + len), which must be truly empty
 * (-EEXIST otherwise): later accesses fail with -EHWPOISON until the range
 * is unmapped or advised away. Needs FEATURE_POISON (-EINVAL otherwise).
 * Errors and result as mmrt_uffd_copy(), in p->updated.
 */
int mmrt_uffd_poison(struct mmrt_uffd *u, struct mmrt_uffd_poison *p);

/**
 * Set (MODE_WP) or clear write protection on [start, start + len): every
 * region there must be WP-registered with @p u (-ENOENT otherwise, or if
 * the range holds no region); holes between regions are skipped, as the
 * kernel does. Setting
 * removes write permission (flushed before the call returns) and, with
 * WP_UNPOPULATED or WP_ASYNC, puts markers on empty pages; clearing gives
 * write permission back where the region and the frame allow it, drops
 * markers and wakes waiters unless MODE_DONTWAKE.
 *
 * @return 0; -EINVAL (bad range, WP together with DONTWAKE, unknown mode);
 *   -ENOENT; -EAGAIN (layout change pending); -ENOMEM (markers); -ESRCH.
 *   May wait.
 */
int mmrt_uffd_writeprotect(struct mmrt_uffd *u,
	const struct mmrt_uffd_writeprotect *w);

/**
 * Move the frames of [src, src + len) to [dst, dst + len) of the same
 * space without copying (anonymous regions only). An exclusive 2 MiB leaf
 * moves whole when both sides are 2 MiB-aligned over it; otherwise it is
 * split first. The source entries are cleared and flushed before the
 * destination entries are published.
 *
 * @return as mmrt_uffd_copy(), in m->move, and: -EBUSY (a frame is shared
 *   or pinned), -ENOENT (a source hole without ALLOW_SRC_HOLES, or dst not
 *   registered with @p u), -EEXIST (dst populated), -EINVAL (overlap,
 *   object regions, no FEATURE_MOVE).
 */
int mmrt_uffd_move(struct mmrt_uffd *u, struct mmrt_uffd_move *m);

/**
 * Wake the waiters of [start, start + len) (len > 0) so their faults retry.
 *
 * @return 0, -EINVAL. Never waits.
 */
int mmrt_uffd_wake(struct mmrt_uffd *u, const struct mmrt_uffd_range *r);

/**
 * Counters of @p u.
 *
 * @return 0, -EINVAL. Never waits.
 */
int mmrt_uffd_stats(struct mmrt_uffd *u, struct mmrt_uffd_stats *st);

/**
 * The features @p u was created with.
 *
 * @return the feature bits, 0 for NULL. Never waits.
 */
uint64_t mmrt_uffd_features(const struct mmrt_uffd *u);

/**
 * Call @p cb on every uffd bound to @p as, newest first, until it returns
 * non-zero. @p cb gets the uffd's position: 0 for the oldest uffd bound
 * to @p as, up to the count minus one for the newest; creating a uffd
 * leaves the positions of the others as they were, destroying one shifts
 * the positions of those created after it down by one.
 *
 * The walk holds the space's map lock for reading: every uffd passed to
 * @p cb stays valid until @p cb returns (not after), and no uffd of @p as
 * is created or destroyed meanwhile. @p cb may call mmrt_uffd_stats(),
 * mmrt_uffd_features(), mmrt_uffd_read(), mmrt_uffd_wake(), mmrt_as_stats();
 * it must not call what takes the map lock of @p as for writing
 * (mmrt_uffd_create(), mmrt_uffd_destroy(), mmrt_uffd_register(), a fill
 * or map change on @p as), nor anything that waits for a fault to be
 * resolved on @p as.
 *
 * @param as a live space the caller keeps alive (e.g. from inside an
 *   mmrt_as_foreach() callback).
 * @param cb called with a uffd, its position and @p arg; a non-zero
 *   return stops the walk and is returned.
 * @return 0, the first non-zero value of @p cb, -EINVAL (@p as not live,
 *   @p cb NULL). Any thread. May wait: for the map lock of @p as (a
 *   registered caller is taken offline meanwhile), and for what @p cb
 *   waits for.
 */
int mmrt_uffd_foreach(struct mmrt_as *as,
	int (*cb)(struct mmrt_uffd *u, unsigned int pos, void *arg), void *arg);

/**
 * Find the uffd named @p name among those bound to @p as, in any process
 * of the runtime: the uffds and their space are shared memory, so a
 * handler in a DPDK secondary finds the primary's uffd with
 * mmrt_as_lookup() then this call, and serves its faults (see
 * mmrt_uffd_create() for what works from a secondary).
 *
 * The uffd stays valid while it lives: a lookup takes no reference, and
 * mmrt_uffd_destroy() (by its creator) may free it at any time after the
 * call returns; coordinate its destroy with the handlers that looked it
 * up, as for any handle (see mmrt_uffd_destroy() on stale pointers). A
 * uffd whose space was destroyed is not found.
 *
 * @param as a live space the caller keeps alive.
 * @param name 1..MMRT_UFFD_NAME_SIZE-1 characters.
 * @return the uffd, or NULL with rte_errno: EINVAL (@p as not live,
 *   @p name NULL, empty or too long), ENOENT (no uffd of @p as has that
 *   name). Any thread. May wait: it takes the map lock of @p as for
 *   reading (a registered caller is taken offline meanwhile).
 */
struct mmrt_uffd *mmrt_uffd_lookup(struct mmrt_as *as, const char *name);

/**
 * @return the name of a live uffd (valid while it lives), NULL for NULL
 *   or a uffd that is not live. Any thread. Never waits.
 */
const char *mmrt_uffd_name(const struct mmrt_uffd *u);

#ifdef __cplusplus
}
#endif

#endif /* MMRT_UFFD_H */
