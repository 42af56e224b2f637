/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Userfault, the page-table side (mmrt_uffd.h): the fills (copy,
 * zeropage, continue, poison), write protection and move. The context
 * (registration, pending faults, wakes, events) is uffd.c, below.
 *
 * Fills install pages under the read map lock and the leaf's PT lock, with
 * the page contents written before the release store that publishes the
 * entry (pairs with the acquire loads of walkers), then wake the range
 * (mm_uffd_wake(): the wake sequence moves after the entry is visible).
 * A fill holds the read side of changing_lock and returns -EAGAIN while a
 * layout event is unread (uffd.c, "Layout changes"), if the uffd has an
 * event feature (changing_enter()).
 *
 * A fill releases the PT lock with a release store, not DPDK's x86 xchg
 * (mm_spin_unlock_release()): the release orders the frame's contents,
 * its metadata and the entry before the lock is seen free, which is all
 * the next holder needs. What the xchg adds, that the fill's later loads
 * wait for its stores, no path needs, by what follows the unlock:
 *   - the fill of the next page of the same call: loads of the region
 *     and of the table (the fill's own or another's published writes; no
 *     other thread's correctness hangs on whether this fill's store is
 *     seen first), then the next PT lock, itself an xchg;
 *   - the end of the call: the statistics (the lcore's own lines, or a
 *     locked RMW), changing_lock's and the map lock's read unlocks
 *     (locked RMWs, full barriers on x86 in any case), then the wake;
 *   - the wake (mm_uffd_wake()): a waiter's wake_seq load (acquire) comes
 *     BEFORE its page-table load, and the fill's entry store comes before
 *     its wake_seq RMW (release, after the unlock's release): a message
 *     pass, not a store-then-load handshake, so a waiter that loads the
 *     new sequence sees the entry, with or without the xchg. The probes
 *     of the pending slots before that RMW need no order against the
 *     entry either: a poster whose page-table load missed the entry and
 *     whose claim the probe missed is still woken (its wake_seq load came
 *     first), and its message reaches the handler, whose fill is -EEXIST
 *     (uffd_post()'s double post); besides, on x86 the map lock's read
 *     unlock, a locked RMW, still comes between the entry and the probes.
 *   - an error return after the entry was not stored unlocks with the
 *     xchg as before (rare paths; nothing to gain).
 * A secondary's recorded unlock (core_robust.h) is the xchg either way.
 */

#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_prefetch.h>
#include <rte_rwlock.h>
#ifdef RTE_ARCH_X86
#include <immintrin.h>
#endif

#include "mm_locking.h"
#include "mm_pte.h"
#include "mm_host_pte.h"
#include "mm_as.h"
#include "mm_object.h"
#include "mm_region.h"
#include "mm_notify.h"
#include "mm_gather.h"
#include "mm_fly.h"
#include "mm_pgtable.h"
#include "mm_host.h"
#include "mm_uffd.h"
#include "mm_uffd_ctx.h"
#include "mmrt_uffd.h"
#include "mm_stepprof.h"

/* the steps of a fill, for -DMM_STEP_PROF (mm_stepprof.h) */
enum { SP_ENTRY, SP_LOCK, SP_REGION, SP_WALK, SP_ALLOC, SP_COPY, SP_META,
	SP_INSTALL, SP_STATS, SP_UNLOCK, SP_WAKE };
MM_SP_DEFINE("fill (last case)", "entry", "lock", "region", "walk", "alloc", "copy",
	"meta", "install", "stats", "unlock", "wake")

#define PAGE_MASK_ (MMRT_PAGE_SIZE - 1)
#define HUGE_MASK_ (MMRT_HUGE_SIZE - 1)

/* ---- map lock for fills ------------------------------------------------ */

/*
 * Read-lock the map; a poller that must wait goes offline meanwhile (only
 * then: the write side uses MM_BLOCKING_BEGIN() as everyone else).
 */
static bool
map_read_lock(struct mmrt_as *as)
{
	bool off = false;

	if (mm_read_trylock(&as->map_lock, MM_LC_MAP) == 0)
		return false;
	if (mmrt_thread_is_online()) {
		mmrt_thread_offline();
		off = true;
	}
	mm_read_lock(&as->map_lock, MM_LC_MAP);
	return off;
}

static void
map_read_unlock(struct mmrt_as *as, bool off)
{
	mm_read_unlock(&as->map_lock, MM_LC_MAP);
	if (off)
		mmrt_thread_online();
}

/*
 * Enter a fill, wp or move run against layout events: the read side of
 * changing_lock, and -EAGAIN while an event is unread. Only a uffd with
 * an EVENT feature ever sees that lock's write side taken or `changing`
 * raised (mm_uffd_event_prep() skips the others, and a uffd's features
 * are fixed when it is created), so for the others the read side would
 * order nothing: skip its two locked instructions (@held false).
 * 0 or -EAGAIN; the caller leaves with changing_exit() either way.
 */
#define UFFD_EVENT_FEATURES (MMRT_UFFD_FEATURE_EVENT_FORK | \
	MMRT_UFFD_FEATURE_EVENT_REMAP | MMRT_UFFD_FEATURE_EVENT_REMOVE | \
	MMRT_UFFD_FEATURE_EVENT_UNMAP)

static int
changing_enter(struct mmrt_uffd *u, bool *held)
{
	*held = (u->features & UFFD_EVENT_FEATURES) != 0;
	if (!*held)
		return 0;
	mm_read_lock(&u->changing_lock, MM_LC_CHANGING);
	if (__atomic_load_n(&u->changing, __ATOMIC_ACQUIRE) != 0)
		return -EAGAIN;
	return 0;
}

static void
changing_exit(struct mmrt_uffd *u, bool held)
{
	if (held)
		mm_read_unlock(&u->changing_lock, MM_LC_CHANGING);
}

/* ---- fills ------------------------------------------------------------- */

enum fill_op { FILL_COPY, FILL_ZERO, FILL_CONT, FILL_POISON };

struct fill {
	struct mmrt_uffd *u;
	struct mmrt_as *as;
	enum fill_op op;
	uint64_t mode;
	const uint8_t *src;
	const struct mm_region *r;  /* region of the current page */
	uint64_t tbl_base;          /* 2 MiB base of the cached table */
	uint32_t tbl;               /* cached level-1 table */
	/* statistics, added once per call (fill_common()) */
	uint64_t rss;               /* pages given a frame */
	uint64_t filled;            /* pages filled (not poisoned) */
};

/* The region at @va, registered with this uffd, valid for the op. */
static int
fill_region(struct fill *f, uint64_t va)
{
	const struct mm_region *r;
	int i = mm_region_find(f->as, va);

	if (i < 0)
		return -ENOENT;
	r = &f->as->regions[i];
	if (r->uffd != f->u)
		return -ENOENT;
	switch (f->op) {
	case FILL_COPY:
	case FILL_ZERO:
		if (r->flags & REGION_OBJECT)
			return -EINVAL;
		if ((f->mode & MMRT_UFFD_MODE_WP) &&
				!(r->uffd_mode & MMRT_UFFD_REGISTER_MODE_WP))
			return -EINVAL;
		break;
	case FILL_CONT:
		if (!(r->uffd_mode & MMRT_UFFD_REGISTER_MODE_MINOR))
			return -EINVAL;
		if ((f->mode & MMRT_UFFD_MODE_WP) &&
				!(r->uffd_mode & MMRT_UFFD_REGISTER_MODE_WP))
			return -EINVAL;
		break;
	case FILL_POISON:
		break;
	}
	f->r = r;
	return 0;
}

/*
 * Bits of a filled leaf. A copy or zeropage fill writes the page, so it
 * is dirty (mmrt_dirty_harvest() reports it) whatever its permission;
 * continue maps contents that exist already. A PROT_NONE region keeps
 * the leaf inaccessible (mmrt_protect() may open it later).
 */
static uint64_t
fill_bits(const struct fill *f)
{
	uint64_t d = f->op == FILL_CONT ? 0 : PTE_D;

	if (f->r->prot == MMRT_PROT_NONE)
		return PTE_PROTNONE | PTE_A | d |
			((f->mode & MMRT_UFFD_MODE_WP) ? PTE_UFFD_WP : 0);
	if (f->mode & MMRT_UFFD_MODE_WP)
		return PTE_P | PTE_A | PTE_UFFD_WP | d;
	return PTE_P | PTE_A | d | ((f->r->prot & MMRT_PROT_WRITE) ?
		PTE_W | PTE_D : 0);
}

/*
 * Copy @len bytes (a multiple of 64) into the new frame at @dst (page
 * aligned) with non-temporal stores, for 2 MiB fills: the frame's old
 * contents are never read, so the stores need not fetch its lines first
 * (a cached memcpy() reads every destination line before writing it),
 * and 2 MiB would only evict the caller's working set. The stores are
 * weakly ordered: the sfence at the end orders them before the release
 * store that publishes the leaf. Other architectures use memcpy().
 */
#ifdef RTE_ARCH_X86
static void __attribute__((target("avx2")))
copy_nt_avx2(void *dst, const void *src, size_t len)
{
	__m256i *d = dst;
	const __m256i *s = src;
	size_t i;

	for (i = 0; i < len / sizeof(*d); i += 2) {
		__m256i a = _mm256_loadu_si256(s + i);
		__m256i b = _mm256_loadu_si256(s + i + 1);

		_mm256_stream_si256(d + i, a);
		_mm256_stream_si256(d + i + 1, b);
	}
	_mm_sfence();
}

static void
copy_nt_sse2(void *dst, const void *src, size_t len)
{
	__m128i *d = dst;
	const __m128i *s = src;
	size_t i;

	for (i = 0; i < len / sizeof(*d); i += 4) {
		__m128i a = _mm_loadu_si128(s + i);
		__m128i b = _mm_loadu_si128(s + i + 1);
		__m128i c = _mm_loadu_si128(s + i + 2);
		__m128i e = _mm_loadu_si128(s + i + 3);

		_mm_stream_si128(d + i, a);
		_mm_stream_si128(d + i + 1, b);
		_mm_stream_si128(d + i + 2, c);
		_mm_stream_si128(d + i + 3, e);
	}
	_mm_sfence();
}
#endif

static void
copy_nt(void *dst, const void *src, size_t len)
{
#ifdef RTE_ARCH_X86
	static int avx2 = -1; /* racing first callers store the same */
	int v = __atomic_load_n(&avx2, __ATOMIC_RELAXED);

	if (v < 0) {
		v = __builtin_cpu_supports("avx2") ? 1 : 0;
		__atomic_store_n(&avx2, v, __ATOMIC_RELAXED);
	}
	if (v)
		copy_nt_avx2(dst, src, len);
	else
		copy_nt_sse2(dst, src, len);
#else
	memcpy(dst, src, len);
#endif
}

/*
 * Copy a whole 2 MiB chunk into an empty level-2 entry of a huge region.
 * 1: not possible here (fall back to 4 KiB pages), 0, or -errno.
 */
static int
fill_huge(struct fill *f, uint64_t va, uint64_t off)
{
	uint64_t *pmd, e;
	uint32_t tbl2;
	int64_t h;
	int err;

#ifdef MM_STEP_PROF
	static bool huge_seen;

	if (!huge_seen) {
		MM_SP_DUMP("fill (4 KiB calls)");
		huge_seen = true;
		MM_SP_START();
	}
#endif
	pmd = mm_pt_walk(f->as, va, MM_LEVEL_PMD, true, &tbl2, &err);
	if (pmd == NULL)
		return err;
	e = pte_load(pmd);
	if (e & PTE_H)
		return -EEXIST;
	if (e != 0)
		return 1;
	MM_SP(SP_WALK);
	h = mm_fly_huge_alloc(pmd, tbl2, 0);
	if (h < 0)
		return 1;
	MM_SP(SP_ALLOC);
	copy_nt(mmrt_frame_addr_unchecked((uint32_t)h), f->src + off,
		MMRT_HUGE_SIZE);
	MM_SP(SP_COPY);
	mm_anon_frame_init((uint32_t)h);
	MM_SP(SP_META);
	mm_spin_lock(pt_lock(tbl2), MM_LC_PT);
	e = pte_load(pmd);
	if (e == 0) {
		pte_store(pmd, pte_mk((uint32_t)h, fill_bits(f) | PTE_H));
		mm_fly_frame_done();
	}
	/* release store: no later load needs the xchg (see the top) */
	mm_spin_unlock_release(pt_lock(tbl2), MM_LC_PT);
	if (e != 0) {
		mm_fly_frame_put((uint32_t)h);
		return (e & PTE_H) ? -EEXIST : 1;
	}
	MM_SP(SP_INSTALL);
	f->rss += MMRT_HUGE_NR;
	f->filled += MMRT_HUGE_NR;
	MM_SP_ITEMS(MMRT_HUGE_NR);
	return 0;
}

/*
 * Fill the 4 KiB page @va of a host region, whose leaf @p (in table @tbl)
 * was empty: copy or zero the host bytes at that place, then publish the
 * leaf (the kernel's shmem MISSING: the page's contents first, then the
 * mapping); continue publishes the bytes as they are. The bytes are
 * written under the PT lock after the leaf is seen empty, so a fill that
 * loses a race (-EEXIST) has not touched a page someone may be reading.
 */
static int
fill_host_page(struct fill *f, uint64_t va, uint64_t off, uint32_t tbl,
	uint64_t *p)
{
	int64_t leaf = mm_host_leaf(f->r, va);
	uint64_t e;
	void *h;

	if (leaf < 0)
		return (int)leaf;
	h = (void *)(uintptr_t)pte_host_addr((uint64_t)leaf);
	mm_spin_lock(pt_lock(tbl), MM_LC_PT);
	e = pte_load(p);
	if (f->op == FILL_ZERO || f->op == FILL_POISON ? e != 0 :
			(e != 0 && !(pte_is_marker(e) && !(e & PTE_POISON)))) {
		mm_spin_unlock(pt_lock(tbl), MM_LC_PT);
		return -EEXIST;
	}
	switch (f->op) {
	case FILL_COPY:
		memcpy(h, f->src + off, MMRT_PAGE_SIZE);
		break;
	case FILL_ZERO:
		memset(h, 0, MMRT_PAGE_SIZE);
		break;
	default:
		break;
	}
	/* release: the bytes above before the leaf */
	if (f->op == FILL_POISON)
		pte_store(p, PTE_POISON);
	else
		pte_store(p, (uint64_t)leaf | fill_bits(f));
	/* release store: no later load needs the xchg (see the top) */
	mm_spin_unlock_release(pt_lock(tbl), MM_LC_PT);
	if (f->op != FILL_POISON)
		f->filled++;
	return 0;
}

/*
 * Fill the 4 KiB page at @va. 0 or -errno.
 *
 * A copy into anonymous memory takes its frame and copies before the walk,
 * as the kernel's mfill does: the walk's loads then run while the copy's
 * stores drain, where they used to wait behind the PT lock's xchg, which
 * cannot complete before those stores do (perf, on the host it was
 * found on: most of a cache-resident fill's own time; on an AMD EPYC
 * host an xchg after a 4 KiB copy measured about 1 ns, an mfence 33:
 * perf/README.md). A page found present puts the frame back
 * after a wasted copy (-EEXIST); a failed allocation is reported only for
 * an empty page, so a present page is -EEXIST whatever the pool holds. A
 * secondary keeps the old order (walk, then frame), for its record of
 * frames in flight (mm_fly.h).
 */
/*
 * A copy's frame for leaf @p of table @tbl (NULL, 0: not walked yet),
 * filled from the source: the frame, or -errno. A secondary's is
 * recorded in flight (mm_fly.h).
 */
static inline int64_t
fill_frame(struct fill *f, uint64_t off, uint64_t *p, uint32_t tbl)
{
	int64_t nf = mm_fly_frame_alloc(p, tbl, 0);

	if (nf >= 0) {
		MM_SP(SP_ALLOC);
		/* contents first: published by the release store below */
		memcpy(mmrt_frame_addr_unchecked((uint32_t)nf), f->src + off,
			MMRT_PAGE_SIZE);
		MM_SP(SP_COPY);
	}
	return nf;
}

static int
fill_page(struct fill *f, uint64_t va, uint64_t off)
{
	bool copy = f->op == FILL_COPY && !(f->r->flags & REGION_HOST);
	uint64_t *p, e, ne;
	uint32_t tbl, pfn = MMRT_PFN_NONE;
	int64_t nf = -1;
	bool huge;
	int err;

	/*
	 * A secondary takes its frame after the walk: the walk may record a
	 * new table of its own in the thread's one frame record (mm_fly.h).
	 */
	if (copy && likely(!mmrt_robust_locks))
		nf = fill_frame(f, off, NULL, 0);
	if ((va & ~HUGE_MASK_) == f->tbl_base && f->tbl != MMRT_PFN_NONE) {
		tbl = f->tbl;
		p = &pt_table(tbl)[level_index(va, MM_LEVEL_PTE)];
	} else {
		p = mm_pt_leaf(f->as, va, true, &tbl, &huge, &err);
		if (p == NULL || huge) {
			err = p == NULL ? err : -EEXIST;
			goto put;
		}
		f->tbl_base = va & ~HUGE_MASK_;
		f->tbl = tbl;
	}
	MM_SP(SP_WALK);
	if (f->r->flags & REGION_HOST)
		return fill_host_page(f, va, off, tbl, p);
	e = pte_load(p);
	if (f->op == FILL_ZERO || f->op == FILL_POISON ? e != 0 :
			(e != 0 && !(pte_is_marker(e) && !(e & PTE_POISON)))) {
		err = -EEXIST;
		goto put;
	}
	switch (f->op) {
	case FILL_COPY:
		if (unlikely(mmrt_robust_locks))
			nf = fill_frame(f, off, p, tbl);
		if (nf < 0)
			return (int)nf; /* the allocation's error */
		mm_anon_frame_init((uint32_t)nf);
		ne = pte_mk((uint32_t)nf, fill_bits(f));
		MM_SP(SP_META);
		break;
	case FILL_ZERO:
		/* dirty: the page's contents changed (to zeros) */
		ne = pte_mk(mmrt_zero_pfn(), PTE_A | PTE_D |
			(f->r->prot == MMRT_PROT_NONE ? PTE_PROTNONE : PTE_P));
		break;
	case FILL_CONT: {
		uint64_t idx = (f->r->obj_off + (va - f->r->start)) >>
			MMRT_PAGE_SHIFT;

		/* a file-backed object's page is read in here if need be */
		if (!mm_object_has_page(f->r->obj, idx))
			return -EFAULT;
		err = mm_object_page(f->r->obj, idx, &pfn);
		if (err != 0)
			return err;
		ne = pte_mk(pfn, fill_bits(f));
		break;
	}
	default:
		ne = PTE_POISON;
		break;
	}
	mm_spin_lock(pt_lock(tbl), MM_LC_PT);
	e = pte_load(p);
	if (f->op == FILL_ZERO || f->op == FILL_POISON ? e != 0 :
			(e != 0 && !(pte_is_marker(e) && !(e & PTE_POISON)))) {
		mm_spin_unlock(pt_lock(tbl), MM_LC_PT);
		if (nf >= 0)
			mm_fly_frame_put((uint32_t)nf);
		return -EEXIST;
	}
	if (f->op == FILL_CONT) {
		struct mmrt_frame *fm = mmrt_frame_meta(pfn);

		__atomic_fetch_add(&fm->refcount, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&fm->mapcount, 1, __ATOMIC_RELAXED);
	}
	pte_store(p, ne);
	mm_fly_frame_done();
	/* release store: no later load needs the xchg (see the top) */
	mm_spin_unlock_release(pt_lock(tbl), MM_LC_PT);
	MM_SP(SP_INSTALL);
	if (f->op == FILL_COPY || f->op == FILL_CONT)
		f->rss++;
	if (f->op != FILL_POISON)
		f->filled++;
	MM_SP_ITEMS(1);
	return 0;
put:
	if (nf >= 0)
		mm_fly_frame_put((uint32_t)nf);
	return err;
}

/*
 * The kernel's result contract for a fill or move of [dst, dst + len) that
 * did @off bytes and stopped on @err: wake what was done (unless
 * DONTWAKE; @lc: the caller's share index, mm_lc_id()); the result is
 * the bytes done, or the error if none were; the return is 0 (all done),
 * -EAGAIN (partial) or the error.
 */
static int
fill_result(struct mmrt_uffd *u, uint64_t dst, uint64_t len, uint64_t off,
	int err, uint64_t mode, unsigned int lc, int64_t *res)
{
	if (off > 0 && !(mode & MMRT_UFFD_MODE_DONTWAKE))
		mm_uffd_wake_lc(u, dst, dst + off, lc);
	else if (off > 0)
		mm_uffd_nudge(u);
	if (off > 0) {
		*res = (int64_t)off;
		return off == len ? 0 : -EAGAIN;
	}
	*res = err;
	return err;
}

/*
 * Pages of a fill whose tail lines fill_prefetch_tail() fetches: a
 * resolver's call of one page, or a few (mm_uffd_wake() probes up to
 * UFFD_WAKE_PROBE_MAX pages one by one; the first few are enough to
 * start).
 */
#define FILL_PREFETCH_PAGES 4

/*
 * Start fetching the lines that a small fill touches only after its copy,
 * each of which would otherwise be a miss there, one after the other on a
 * path that then waits for them: the calling lcore's statistics shares
 * (for writing; only this lcore writes them) and the pending slots its
 * wake probes (for reading: the wake only loads them unless a fault is
 * pending there). These lines are the fill's alone or shared read-mostly:
 * the pending slots are written by posters (claims), so a read prefetch
 * costs them at most the line going shared early, as the wake's own loads
 * would make it. The wake sequence is not prefetched: waiters spin on it,
 * and taking it early would only move it once more. A prefetch never
 * faults and changes nothing. With the destination in memory these lines
 * are misses (a random line of the pending table per page) that the copy
 * now hides: perf-fill's fill-4k p50 ratio 1.13 -> 1.04 (perf/README.md).
 */
static inline void
fill_prefetch_tail(const struct mmrt_uffd *u, struct mmrt_as *as,
	unsigned int lc, uint64_t dst, uint64_t len, uint64_t mode)
{
	uint64_t page, end = dst + RTE_MIN(len,
		(uint64_t)FILL_PREFETCH_PAGES * MMRT_PAGE_SIZE);
	uint32_t h;

	if (lc < RTE_MAX_LCORE) {
		mm_prefetchw(&as->lc[lc]);
		mm_prefetchw(&u->lc[lc]);
	}
	if (mode & MMRT_UFFD_MODE_DONTWAKE)
		return;
	for (page = dst; page < end; page += MMRT_PAGE_SIZE) {
		h = mm_uffd_pend_hash(u, page);
		rte_prefetch0(&u->pend[h]);
		rte_prefetch0(&u->pend[(h + UFFD_PROBE - 1) & u->pend_mask]);
	}
}

/*
 * The common body of copy, zeropage, continue and poison: the result
 * contract of the kernel's mfill_atomic (mmrt_uffd_copy()).
 * model: models/uffd.pml [U.1]
 */
static int
fill_common(struct mmrt_uffd *u, uint64_t dst, uint64_t len,
	const void *src, uint64_t mode, uint64_t modes, enum fill_op op,
	int64_t *res)
{
	struct fill f = {
		.u = u, .op = op, .mode = mode, .src = src,
		.tbl = MMRT_PFN_NONE,
	};
	uint64_t off = 0, va, rend = 0;
	struct mmrt_as *as;
	unsigned int lc;
	int err = 0;
	bool offl, chg;
	int ret;

	MM_SP_START();
	if (!mm_range_valid_pages(dst, len) || (mode & ~modes) ||
			(op == FILL_COPY && src == NULL)) {
		*res = -EINVAL;
		return -EINVAL;
	}
	as = uffd_space(u);
	if (as == NULL) {
		*res = -ESRCH;
		return -ESRCH;
	}
	f.as = as;
	/* the share index, once per call: a TLS lookup in a shared library */
	lc = mm_lc_id();
	fill_prefetch_tail(u, as, lc, dst, len, mode);
	MM_SP(SP_ENTRY);
	offl = map_read_lock(as);
	err = changing_enter(u, &chg);
	if (err != 0)
		goto out;
	MM_SP(SP_LOCK);
	while (off < len) {
		va = dst + off;
		if (va >= rend) {
			err = fill_region(&f, va);
			if (err != 0)
				break;
			rend = f.r->end;
		}
		MM_SP(SP_REGION);
		if (op == FILL_COPY && (f.r->flags & MMRT_MAP_HUGE) &&
				(va & HUGE_MASK_) == 0 &&
				len - off >= MMRT_HUGE_SIZE &&
				va + MMRT_HUGE_SIZE <= rend) {
			err = fill_huge(&f, va, off);
			if (err == 0) {
				off += MMRT_HUGE_SIZE;
				continue;
			}
			if (err < 0)
				break;
			err = 0;
		}
		err = fill_page(&f, va, off);
		if (err != 0)
			break;
		off += MMRT_PAGE_SIZE;
	}
out:
	/*
	 * one add per call, before the wake, as the pages were filled; to
	 * the lcore's own lines, without a locked RMW (mm_as_rss_add_lc())
	 */
	if (f.rss > 0)
		mm_as_rss_add_lc(as, lc, (int64_t)f.rss);
	if (f.filled > 0)
		ST_ADD_ID(u, filled_pages, lc, f.filled);
	MM_SP(SP_STATS);
	changing_exit(u, chg);
	map_read_unlock(as, offl);
	MM_SP(SP_UNLOCK);
	ret = fill_result(u, dst, len, off, err, mode, lc, res);
	MM_SP(SP_WAKE);
	return ret;
}

int
mmrt_uffd_copy(struct mmrt_uffd *u, struct mmrt_uffd_copy *c)
{
	if (!uffd_live(u) || c == NULL) {
		if (c != NULL)
			c->copy = -EINVAL;
		return -EINVAL;
	}
	return fill_common(u, c->dst, c->len, c->src, c->mode,
		MMRT_UFFD_MODE_DONTWAKE | MMRT_UFFD_MODE_WP, FILL_COPY,
		&c->copy);
}

int
mmrt_uffd_zeropage(struct mmrt_uffd *u, struct mmrt_uffd_zeropage *z)
{
	if (!uffd_live(u) || z == NULL) {
		if (z != NULL)
			z->zeropage = -EINVAL;
		return -EINVAL;
	}
	return fill_common(u, z->range.start, z->range.len, NULL, z->mode,
		MMRT_UFFD_MODE_DONTWAKE, FILL_ZERO, &z->zeropage);
}

int
mmrt_uffd_continue(struct mmrt_uffd *u, struct mmrt_uffd_continue *c)
{
	if (!uffd_live(u) || c == NULL) {
		if (c != NULL)
			c->mapped = -EINVAL;
		return -EINVAL;
	}
	return fill_common(u, c->range.start, c->range.len, NULL, c->mode,
		MMRT_UFFD_MODE_DONTWAKE | MMRT_UFFD_MODE_WP, FILL_CONT,
		&c->mapped);
}

int
mmrt_uffd_poison(struct mmrt_uffd *u, struct mmrt_uffd_poison *p)
{
	if (!uffd_live(u) || p == NULL ||
			!(u->features & MMRT_UFFD_FEATURE_POISON)) {
		if (p != NULL)
			p->updated = -EINVAL;
		return -EINVAL;
	}
	return fill_common(u, p->range.start, p->range.len, NULL, p->mode,
		MMRT_UFFD_MODE_DONTWAKE, FILL_POISON, &p->updated);
}

/* ---- write protection -------------------------------------------------- */

/* model: models/uffd.pml [U.1] */
int
mmrt_uffd_writeprotect(struct mmrt_uffd *u,
	const struct mmrt_uffd_writeprotect *w)
{
	struct mmrt_notifier_range nr;
	struct mm_gather tlb;
	struct mmrt_as *as;
	uint64_t start, end;
	bool set, offl, markers, chg;
	uint32_t i;
	int err = 0;

	if (!uffd_live(u) || w == NULL ||
			!mm_range_valid_pages(w->range.start, w->range.len) ||
			(w->mode & ~(MMRT_UFFD_MODE_WP |
				MMRT_UFFD_MODE_DONTWAKE)) ||
			(w->mode & MMRT_UFFD_MODE_WP &&
				w->mode & MMRT_UFFD_MODE_DONTWAKE))
		return -EINVAL;
	as = uffd_space(u);
	if (as == NULL)
		return -ESRCH;
	if (mm_notify_foreign(as))
		return -E_RTE_SECONDARY; /* the primary's subscribers */
	start = w->range.start;
	end = start + w->range.len;
	set = (w->mode & MMRT_UFFD_MODE_WP) != 0;
	markers = (u->features & MMRT_UFFD_FEATURE_WP_UNPOPULATED) != 0;
	offl = map_read_lock(as);
	err = changing_enter(u, &chg);
	if (err != 0)
		goto out;
	MM_FOR_EACH_REGION(as, i, start, end)
		if (as->regions[i].uffd != u || !(as->regions[i].uffd_mode &
				MMRT_UFFD_REGISTER_MODE_WP)) {
			err = -ENOENT;
			goto out;
		}
	if (i == mm_region_first_after(as, start)) {
		err = -ENOENT;
		goto out;
	}
	if (set) {
		mm_range_init(&nr, as, MMRT_NOTIFY_PROTECTION_PAGE, true,
			start, end, u);
		mm_notify_start(&nr);
		mm_gather_init(&tlb, as, false);
	}
	/* clearing only grants permission: nothing to flush, no gather */
	MM_FOR_EACH_REGION(as, i, start, end) {
		const struct mm_region *r = &as->regions[i];

		err = mm_wp_range(as, r, set ? &tlb : NULL,
			RTE_MAX(start, r->start), RTE_MIN(end, r->end), set,
			markers);
		if (err != 0)
			break;
	}
	if (set) {
		/* downgrades flushed before we return (allowed deferral) */
		mm_gather_finish(&tlb);
		mm_notify_end(&nr);
	}
out:
	changing_exit(u, chg);
	map_read_unlock(as, offl);
	if (err == 0 && !set && !(w->mode & MMRT_UFFD_MODE_DONTWAKE))
		mm_uffd_wake(u, start, end);
	else if (err == 0)
		mm_uffd_nudge(u);
	return err;
}

/* ---- move -------------------------------------------------------------- */

/* Can the frame behind leaf @e move (exclusive, anonymous, not pinned)? */
static bool
move_ok(uint64_t e, bool huge)
{
	uint32_t pfn = pte_pfn(e);
	const struct mmrt_frame *fm;

	if (pfn == mmrt_zero_pfn())
		return !huge;
	if (!huge && frame_owner(pfn) != pfn)
		return false;
	fm = mmrt_frame_meta(pfn);
	return !(fm->flags & MMRT_FRAME_OBJECT) &&
		__atomic_load_n(&fm->refcount, __ATOMIC_ACQUIRE) == 1 &&
		__atomic_load_n(&fm->mapcount, __ATOMIC_ACQUIRE) == 1;
}

/*
 * Move one leaf (4 KiB, or 2 MiB if it fits) from @src to @dst. Returns
 * the bytes moved (> 0) or -errno; 0 means "split, try again".
 */
static int64_t
move_one(struct mmrt_as *as, const struct mm_region *dr, uint64_t src,
	uint64_t dst, uint64_t left, bool holes)
{
	uint64_t *sp, *dp, se, de;
	uint32_t stbl, dtbl;
	bool shuge, dhuge;
	int err;

	sp = mm_pt_leaf(as, src, false, &stbl, &shuge, &err);
	if (sp == NULL || pte_load(sp) == 0 || pte_is_marker(pte_load(sp))) {
		if (sp == NULL && err != -ENOENT)
			return err;
		if (sp != NULL && (pte_load(sp) & PTE_POISON))
			return -EINVAL;
		return holes ? (int64_t)MMRT_PAGE_SIZE : -ENOENT;
	}
	se = pte_load(sp);
	if (se & PTE_PROTNONE)
		return -EINVAL;
	if (shuge) {
		if ((src & HUGE_MASK_) != 0 || (dst & HUGE_MASK_) != 0 ||
				left < MMRT_HUGE_SIZE) {
			err = mm_split_pmd(as, stbl, sp, true);
			return err != 0 ? err : 0;
		}
		dp = mm_pt_walk(as, dst, MM_LEVEL_PMD, true, &dtbl, &err);
		if (dp == NULL)
			return err;
		if (pte_load(dp) != 0) {
			if (pte_load(dp) & PTE_H)
				return -EEXIST;
			/* a table below: split the source and go page-wise */
			err = mm_split_pmd(as, stbl, sp, true);
			return err != 0 ? err : 0;
		}
		if (!move_ok(se, true))
			return -EBUSY;
		mm_pt_lock_pair(stbl, dtbl);
		if (pte_load(sp) != se || pte_load(dp) != 0) {
			mm_pt_unlock_pair(stbl, dtbl);
			return 0;
		}
		pte_store(sp, 0);
		mm_notify_invalidate(as, src, src + MMRT_HUGE_SIZE, false);
		/* the destination's contents changed: dirty */
		se = (se & ~PTE_UFFD_WP) | PTE_D;
		if (dr->prot & MMRT_PROT_WRITE)
			se |= PTE_W;
		pte_store(dp, se);
		mm_pt_unlock_pair(stbl, dtbl);
		return MMRT_HUGE_SIZE;
	}
	if (!move_ok(se, false))
		return -EBUSY;
	dp = mm_pt_leaf(as, dst, true, &dtbl, &dhuge, &err);
	if (dp == NULL)
		return err;
	if (dhuge || pte_load(dp) != 0)
		return -EEXIST;
	mm_pt_lock_pair(stbl, dtbl);
	de = pte_load(dp);
	if (pte_load(sp) != se || de != 0) {
		mm_pt_unlock_pair(stbl, dtbl);
		return de != 0 ? -EEXIST : 0;
	}
	/* the old translation is gone before the new one exists */
	pte_store(sp, 0);
	mm_notify_invalidate(as, src, src + MMRT_PAGE_SIZE, false);
	/* the destination's contents changed: dirty */
	se = (se & ~(PTE_UFFD_WP | PTE_W)) | PTE_D;
	if ((dr->prot & MMRT_PROT_WRITE) && pte_pfn(se) != mmrt_zero_pfn())
		se |= PTE_W;
	pte_store(dp, se);
	mm_pt_unlock_pair(stbl, dtbl);
	return MMRT_PAGE_SIZE;
}

/* model: models/uffd.pml [U.1] */
int
mmrt_uffd_move(struct mmrt_uffd *u, struct mmrt_uffd_move *m)
{
	struct mmrt_notifier_range nr;
	const struct mm_region *dr = NULL, *sr;
	uint64_t off = 0, drend = 0;
	struct mmrt_as *as;
	int64_t n;
	int err = 0, i;
	bool offl, chg, ranged = false;

	if (!uffd_live(u) || m == NULL) {
		if (m != NULL)
			m->move = -EINVAL;
		return -EINVAL;
	}
	if (!mm_range_valid_pages(m->dst, m->len) ||
			!mm_range_valid_pages(m->src, m->len) ||
			(m->mode & ~(MMRT_UFFD_MODE_DONTWAKE |
				MMRT_UFFD_MODE_ALLOW_SRC_HOLES)) ||
			!(u->features & MMRT_UFFD_FEATURE_MOVE) ||
			(m->src < m->dst + m->len && m->dst < m->src + m->len)) {
		m->move = -EINVAL;
		return -EINVAL;
	}
	as = uffd_space(u);
	if (as == NULL) {
		m->move = -ESRCH;
		return -ESRCH;
	}
	if (mm_notify_foreign(as)) {
		/* the primary's subscribers */
		m->move = -E_RTE_SECONDARY;
		return -E_RTE_SECONDARY;
	}
	offl = map_read_lock(as);
	err = changing_enter(u, &chg);
	if (err != 0)
		goto out;
	while (off < m->len) {
		uint64_t s = m->src + off, d = m->dst + off;

		if (d >= drend) {
			i = mm_region_find(as, d);
			if (i < 0 || as->regions[i].uffd != u) {
				err = -ENOENT;
				break;
			}
			dr = &as->regions[i];
			if (dr->flags & (REGION_OBJECT | REGION_HOST)) {
				err = -EINVAL;
				break;
			}
			drend = dr->end;
		}
		i = mm_region_find(as, s);
		if (i < 0) {
			err = -ENOENT;
			break;
		}
		sr = &as->regions[i];
		if (sr->flags & (REGION_OBJECT | REGION_HOST)) {
			err = -EINVAL;
			break;
		}
		if (!ranged) {
			mm_range_init(&nr, as, MMRT_NOTIFY_CLEAR, true, m->src,
				m->src + m->len, u);
			mm_notify_start(&nr);
			ranged = true;
		}
		n = move_one(as, dr, s, d, RTE_MIN(m->len - off, drend - d),
			(m->mode & MMRT_UFFD_MODE_ALLOW_SRC_HOLES) != 0);
		if (n < 0) {
			err = (int)n;
			break;
		}
		off += (uint64_t)n;
	}
	if (ranged)
		mm_notify_end(&nr);
out:
	changing_exit(u, chg);
	map_read_unlock(as, offl);
	return fill_result(u, m->dst, m->len, off, err, m->mode, mm_lc_id(),
		&m->move);
}
