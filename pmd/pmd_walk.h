/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_PMD_WALK_H
#define MMRT_PMD_WALK_H

/*
 * Internal to pmd/: how both engines cut an operation into pieces. Not
 * installed.
 *
 * A piece is the longest run of the operation that one source leaf and
 * one destination leaf cover (the engine copies it, or gives it to the
 * device). The walker keeps the destination and source translations of
 * the current leaves, so a page is translated once per run of the engine
 * and not once per piece; they are usable until the consumer's next poll
 * (mmrt_consumer_translate()), and the engines poll only between runs of
 * the walker.
 *
 * The promise the headers make: an operation stops (parks, or fails) only
 * at a clean offset, the start of the operation or an offset whose
 * destination byte starts a 4 KiB page. So what it has written is a
 * prefix of its destination ending at a page boundary, and the page that
 * holds the byte it stopped on is untouched; after a park the translations
 * are gone (the engine polls), and the resumed walk starts at that clean
 * offset with fresh ones.
 *
 * How the walker keeps it. A piece may end at an offset that is not clean
 * only where a source leaf ends inside a destination page. Before it hands
 * out such a piece, the walker translates the next source leaf too (the
 * look-ahead, which becomes the next piece's source): a source leaf is at
 * least 4 KiB, so it covers the rest of that destination page, and the
 * next piece ends past it. Hence every failure is met at a clean offset:
 *  - a destination translation is needed only at a clean offset (the
 *    start, or the end of the previous destination leaf, a page boundary);
 *  - a source translation that is not a look-ahead is needed only at the
 *    start, or where the previous piece ended at a clean offset;
 *  - a failed look-ahead shortens the piece to the last page boundary of
 *    the destination inside it; when there is none the operation stops at
 *    the current offset, which is then clean (a piece that starts at an
 *    offset that is not clean starts a look-ahead's whole source leaf, at
 *    least 4 KiB, so it crosses a page boundary).
 * An engine that can take only one more piece now (@room 1) gets a piece
 * that ends at a clean offset, shortened as for a failed look-ahead, or
 * none (-ENOSPC): it never stops between two pieces of one page either.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>

#include <mmrt_dev.h>
#include <mmrt_mm.h>

/*
 * An engine's last translation of each side (its "L0", in front of the
 * device TLB): the leaf a destination (write) and a source (read) were
 * last translated in. Consecutive small operations mostly land in the
 * same pages, and a hit here costs two compares where a device-TLB lookup
 * costs a call's worth of work.
 *
 * Validity, by the consumer's contract (mmrt_dev.h): a translation stays
 * usable until the consumer processes an invalidation descriptor (every
 * change that drops or downgrades a translation posts one to every bound
 * consumer): in the owner's next mmrt_consumer_poll(), or at once, inline,
 * when the owner thread itself made the change (an application that steps
 * its engine and changes the page table in one thread: no poll of the
 * engine's sees that descriptor). Each processing moves the consumer's
 * inval_gen (mmrt_dev_core.h), so every use checks that it is the count
 * the cache was filled at, and that the consumer is still bound, as the
 * device TLB's hit path does (pmd_xcache_usable()): a destroyed space
 * unbinds its consumers without a descriptor, and a fenced consumer must
 * stop using what it holds. The owner also drops the cache
 * (pmd_xcache_drop()) after a poll that processed something or failed,
 * and whenever the binding changes.
 * Owner thread only, as the consumer's translate and poll.
 */
struct pmd_xcache_ent {
	uint64_t va;            /* translated at; 0 with end 0: empty */
	uint64_t end;           /* va + x.size: the leaf end */
	uint8_t *addr;          /* host address of va */
	uint64_t iova;          /* IOVA of va, or RTE_BAD_IOVA */
};

/*
 * The look-ahead (swdma's option; dma_mmrt turns it on unless given
 * lookahead=0): after a device-TLB miss, the range behind the leaf it gave
 * (PMD_XC_SPAN bytes) is translated in one mmrt_translate_sg() walk,
 * which never faults: up to PMD_XC_SEGS segments (pages, or longer runs
 * of contiguous frames: the walk stops when it has that many), taken into
 * e[] in turn as the operations reach them. So a stream of operations
 * through fresh pages costs one device-TLB miss and one walk per 16 pages
 * (or per 256 KiB of contiguous frames, where a 4 KiB copy then runs from
 * the kept leaf with no lookup at all: swdma's run_cached()), not a
 * device-TLB lookup per page, each on a set line the copies in between
 * pushed out of the cache. The same validity as e[]: it was obtained by
 * the owner, and a descriptor, a fence or an unbind ends it alike. The
 * first PMD_XC_SEGS pages enter the device TLB too, by its own stream
 * prefetch on the same miss (lib/dev/dev_tlb.c); the rest are served
 * from here only, and a later pass that misses on them walks again.
 *
 * Only after a device-TLB miss on a 4 KiB leaf (a 2 MiB leaf needs no
 * help, and a hit says the pages are already cached): so a stream that
 * the device TLB holds keeps hitting there. A walk that fails (a page
 * missing, or not writable and dirty for a destination: the device TLB's
 * path resolves those, and marks the page dirty), or a look-ahead no
 * operation used (random access), stops it on that side for
 * PMD_XC_BACKOFF misses.
 */
#define PMD_XC_SEGS 16
#define PMD_XC_SPAN (UINT64_C(64) * MMRT_PAGE_SIZE)
#define PMD_XC_BACKOFF 16

struct pmd_xcache_la {
	struct mmrt_sg sg[PMD_XC_SEGS];
	uint64_t va;            /* where sg[next] starts */
	unsigned int next;      /* first segment not taken yet */
	unsigned int n;         /* segments held */
	unsigned int backoff;   /* misses before the next walk */
	bool used;              /* a segment of it was taken */
};

struct pmd_xcache {
	struct pmd_xcache_ent e[2]; /* [0]: destination (write), [1]: source */
	struct pmd_xcache_la la[2];
	struct mmrt_as *as;     /* the bound space: look-ahead; NULL: none */
	uint64_t gen;           /* the consumer's inval_gen at the fills */
};

/*
 * May the owner use its L0 now? The check the device TLB's hit path makes
 * (mmrt_dev_core.h): a consumer that is fenced, or unbound (its space
 * destroyed: no descriptor comes then), uses no translation it holds.
 * An L0 hit is also counted as the device-TLB hit it stands for, so the
 * statistics read as they would without it.
 */
static __rte_always_inline bool
pmd_xcache_usable(struct mmrt_consumer *c, const struct pmd_xcache *xc)
{
	const struct mmrt_consumer_core *cc =
		(const struct mmrt_consumer_core *)c;

	/* inval_gen: the owner's own count, a plain load */
	return cc->inval_gen == xc->gen &&
		__atomic_load_n(&cc->state, __ATOMIC_RELAXED) ==
		MMRT_CONSUMER_BOUND;
}

static __rte_always_inline void
pmd_xcache_hit(struct mmrt_consumer *c)
{
	mmrt_dev_count_hit((struct mmrt_consumer_core *)c);
}

/*
 * Count @n L0 hits at once: for an owner that sums its hits in a local
 * over a run of operations (a count in memory per hit is a chain of
 * read-modify-writes, one per operation). The owner is the only writer
 * of hits; readers load it relaxed, so they see the hits of a run when it
 * ends. Not while a pmd_span_get() of the owner's is in progress (it
 * tells a miss by hits not moving across the translation).
 */
static __rte_always_inline void
pmd_xcache_hits(struct mmrt_consumer *c, uint64_t n)
{
	struct mmrt_consumer_core *cc = (struct mmrt_consumer_core *)c;

	__atomic_store_n(&cc->hits, cc->hits + n, __ATOMIC_RELAXED);
}

static inline void
pmd_xcache_drop(struct pmd_xcache *xc)
{
	xc->e[0].end = 0;
	xc->e[0].va = 0;
	xc->e[1].end = 0;
	xc->e[1].va = 0;
	xc->la[0].n = 0;
	xc->la[1].n = 0;
}

/*
 * Take the look-ahead's segment at @va into @e, if it holds it (the next
 * one, as a stream goes; one before it is passed). @return true if so.
 */
static __rte_always_inline bool
pmd_xcache_la_take(struct pmd_xcache_la *la, struct pmd_xcache_ent *e,
	uint64_t va)
{
	const struct mmrt_sg *g;

	while (la->next < la->n) {
		g = &la->sg[la->next];
		if (va < la->va)
			return false;
		if (va - la->va < g->len) {
			la->used = true;
			e->va = la->va;
			e->end = la->va + g->len;
			e->addr = g->addr;
			e->iova = g->iova;
			return true;
		}
		la->va += g->len;
		la->next++;
	}
	return false;
}

/* Refill the look-ahead from @va (the end of a leaf just translated). */
static inline void
pmd_xcache_la_fill(struct pmd_xcache *xc, struct pmd_xcache_la *la,
	uint64_t va, uint32_t access)
{
	int n;

	if (la->n > 0 && !la->used)
		la->backoff = PMD_XC_BACKOFF; /* the last one went unused */
	la->n = 0;
	if (la->backoff > 0) {
		la->backoff--;
		return;
	}
	if (va >= MMRT_VA_LIMIT || MMRT_VA_LIMIT - va < PMD_XC_SPAN)
		return;
	n = mmrt_translate_sg(xc->as, va, PMD_XC_SPAN, access, la->sg,
		PMD_XC_SEGS);
	if (n == -ENOSPC)
		n = PMD_XC_SEGS; /* a prefix of the span */
	if (n <= 0) {
		la->backoff = PMD_XC_BACKOFF;
		return;
	}
	la->va = va;
	la->next = 0;
	la->used = false;
	la->n = (unsigned int)n;
}

/* A translation and the offsets of the operation it covers. */
struct pmd_span {
	uint64_t off;           /* operation offset it was taken at */
	uint64_t end;           /* operation offset its leaf ends at */
	struct mmrt_xlate x;
	bool valid;
};

struct pmd_walk {
	struct mmrt_consumer *c;
	struct pmd_xcache *xc;  /* the owner's L0, or NULL */
	uint64_t src;
	uint64_t dst;
	uint64_t len;
	bool copy;              /* false: a fill, no source */
	struct pmd_span d;      /* destination leaf */
	struct pmd_span s;      /* source leaf */
	struct pmd_span la;     /* look-ahead: the next source leaf */
	int la_err;             /* the look-ahead at la.off: 0 or its error */
	uint64_t fault_va;      /* on an error: the address that failed */
	bool fault_dst;         /* ... on the destination side */
};

/* A piece: @n bytes from offset @off of the operation. */
struct pmd_piece {
	uint64_t off;
	uint64_t n;
	void *src;              /* copy only */
	void *dst;
	uint64_t src_iova;      /* copy only */
	uint64_t dst_iova;
};

/* A walk of the operation {@src, @dst, @len} (@copy false: a fill). */
static inline void
pmd_walk_init(struct pmd_walk *w, struct mmrt_consumer *c,
	struct pmd_xcache *xc, uint64_t src, uint64_t dst, uint64_t len,
	bool copy)
{
	w->c = c;
	w->xc = xc;
	w->src = src;
	w->dst = dst;
	w->len = len;
	w->copy = copy;
	w->d.valid = false;
	w->s.valid = false;
	w->la.valid = false;
	w->la.off = UINT64_MAX; /* no look-ahead tried */
	w->la_err = 0;
}

/*
 * Translate @base + @off for @access into @sp, through the walk's L0 if
 * it has one. An L0 hit fills addr, iova and size (the walker uses no
 * other field): both are linear within a leaf, as the walker assumes for
 * its pieces anyway.
 */
static inline int
pmd_span_get(struct pmd_walk *w, struct pmd_span *sp, uint64_t base,
	uint64_t off, uint32_t access)
{
	uint64_t va = base + off, d;
	struct pmd_xcache_ent *e = NULL;
	unsigned int side = 0;
	uint64_t hits = 0;
	int ret;

	if (w->xc != NULL) {
		side = (access & MMRT_ACCESS_WRITE) ? 0 : 1;
		e = &w->xc->e[side];
		if ((va - e->va < e->end - e->va ||
				pmd_xcache_la_take(&w->xc->la[side], e, va)) &&
				pmd_xcache_usable(w->c, w->xc)) {
			pmd_xcache_hit(w->c);
			d = va - e->va;
			sp->x.addr = e->addr + d;
			sp->x.iova = e->iova == RTE_BAD_IOVA ? RTE_BAD_IOVA :
				e->iova + d;
			sp->x.size = e->end - va;
			goto ok;
		}
	}
	if (e != NULL && w->xc->as != NULL)
		hits = ((struct mmrt_consumer_core *)w->c)->hits;
	ret = mmrt_consumer_translate(w->c, va, access, &sp->x);
	if (unlikely(ret != 0)) {
		sp->valid = false;
		return ret;
	}
	if (e != NULL) {
		uint64_t gen = ((struct mmrt_consumer_core *)w->c)->inval_gen;

		/* filled at another count: the other side is stale too */
		if (w->xc->gen != gen) {
			pmd_xcache_drop(w->xc);
			w->xc->gen = gen;
		}
		e->va = va;
		e->end = va + sp->x.size;
		e->addr = sp->x.addr;
		e->iova = sp->x.iova;
		/* a miss (the hit count did not move) on a 4 KiB leaf */
		if (w->xc->as != NULL && !sp->x.huge &&
				((struct mmrt_consumer_core *)w->c)->hits ==
				hits)
			pmd_xcache_la_fill(w->xc, &w->xc->la[side], e->end,
				access);
	}
ok:
	sp->off = off;
	sp->end = off + sp->x.size;
	sp->valid = true;
	return 0;
}

static inline int
pmd_walk_fault(struct pmd_walk *w, int err, uint64_t va, bool dst)
{
	w->fault_va = va;
	w->fault_dst = dst;
	return err;
}

/* Does offset @off of the operation start a destination page (or end
 * the operation)? */
static inline bool
pmd_walk_clean(const struct pmd_walk *w, uint64_t off)
{
	return off == w->len || ((w->dst + off) & (MMRT_PAGE_SIZE - 1)) == 0;
}

/*
 * The piece at offset @off (where the previous piece ended, or where the
 * operation starts or resumes), for an engine that can take @room more
 * pieces now (>= 1).
 *
 * @return 0 and @p filled; -ENOSPC: @room is 1 and no piece from @off
 *   ends at a clean offset (take none now); or the error of the failed
 *   translation (-EAGAIN: retry on a later run), with w->fault_va and
 *   w->fault_dst. The operation then stops at @off, a clean offset.
 */
static inline int
pmd_walk_next(struct pmd_walk *w, uint64_t off, unsigned int room,
	struct pmd_piece *p)
{
	uint64_t end, fl;
	int ret;

	if (!w->d.valid || off >= w->d.end) {
		ret = pmd_span_get(w, &w->d, w->dst, off, MMRT_ACCESS_WRITE);
		if (unlikely(ret != 0))
			return pmd_walk_fault(w, ret, w->dst + off, true);
	}
	end = RTE_MIN(w->len, w->d.end);
	if (w->copy) {
		if (!w->s.valid || off >= w->s.end) {
			if (w->la.valid && w->la.off == off) {
				w->s = w->la;
				w->la.valid = false;
			} else {
				ret = pmd_span_get(w, &w->s, w->src, off,
					MMRT_ACCESS_READ);
				if (unlikely(ret != 0))
					return pmd_walk_fault(w, ret,
						w->src + off, false);
			}
		}
		end = RTE_MIN(end, w->s.end);
		if (!pmd_walk_clean(w, end)) {
			/* a source leaf ends inside a destination page */
			if (room >= 2 && w->la.off != end) {
				w->la_err = pmd_span_get(w, &w->la, w->src, end,
					MMRT_ACCESS_READ);
				w->la.off = end;
			}
			if (room < 2 || w->la_err != 0) {
				/* end at the page boundary before, if any */
				fl = (w->dst + end) & ~(MMRT_PAGE_SIZE - 1);
				if (fl > w->dst + off)
					end = fl - w->dst;
				else if (room >= 2 && w->la_err != 0)
					return pmd_walk_fault(w, w->la_err,
						w->src + end, false);
				else
					return -ENOSPC;
			}
		}
	}
	p->off = off;
	p->n = end - off;
	p->dst = (uint8_t *)w->d.x.addr + (off - w->d.off);
	p->dst_iova = w->d.x.iova + (off - w->d.off);
	if (w->copy) {
		p->src = (uint8_t *)w->s.x.addr + (off - w->s.off);
		p->src_iova = w->s.x.iova + (off - w->s.off);
	} else {
		p->src = NULL;
		p->src_iova = 0;
	}
	return 0;
}

#endif /* MMRT_PMD_WALK_H */
