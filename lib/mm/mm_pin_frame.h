/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_PIN_FRAME_H
#define MM_PIN_FRAME_H

/*
 * The frame side of pins (pin.c, mmrt_pin()): header only, so that every
 * frame path below pin.c (fork's copy, copy-on-write reuse, merge, uffd
 * write-protect) can tell a pinned frame from a merely referenced one.
 *
 * A pin holds, per pinned 4 KiB page, one reference on the frame that
 * owns it (the head of a huge frame) and one count in that owner's pin
 * count, kept in the metadata word priv2 (lib/mm owns the metadata of
 * anonymous and object frames; lib/mem zeroes it at free). The kernel
 * folds the same count into the refcount with a bias
 * (GUP_PIN_COUNTING_BIAS); an exact count keeps mmrt_frame_get()
 * references from ever looking like pins.
 *
 * Order: a pin takes its reference before its count, under the PT lock
 * of the leaf it pins through; an unpin drops its count before its
 * reference (no lock: the pin is over). So refcount - pins never
 * undercounts the references that are not pins (a transient overcount
 * only makes a fault copy where it could have reused), and under the PT
 * lock of the one leaf that maps a frame, the frame is exclusive exactly
 * when refcount - pins == 1.
 *
 * What a pin changes for the paths that see a pinned frame:
 *   fork (pgtable.c copy_leaf): an anonymous pinned frame is copied for
 *     the child at once, never shared copy-on-write;
 *   copy-on-write and uffd write-protect resolution (fault.c, pgtable.c
 *     leaf_may_write): the frame is reused (made writable in place) when
 *     its non-pin references are 1, so a pinned page is never replaced;
 *   merge (access.c) and uffd move (uffd_fill.c move_ok, by refcount):
 *     -EBUSY;
 *   huge split (pgtable.c mm_split_pmd): a pinned huge frame is not
 *     broken up (refcount > 1), its 512 leaves keep referencing the head.
 */

#include <stdbool.h>
#include <stdint.h>

#include "mm_pte.h"

/* The owner cookie of mmrt_merge()'s CLEAR ranges (access.c). */
extern const char mm_merge_owner __attribute__((visibility("hidden")));

/* Pins on frame @owner (a 4 KiB frame, or the head of a huge frame). */
static inline uint64_t
mm_frame_pins(uint32_t owner)
{
	return __atomic_load_n(&mmrt_frame_meta(owner)->priv2,
		__ATOMIC_ACQUIRE);
}

static inline bool
mm_frame_pinned(uint32_t owner)
{
	return mm_frame_pins(owner) != 0;
}

/*
 * The references on @owner that are not pins (mappings, mmrt_frame_get()
 * holders, a gather about to drop one). 1 means: one mapping owns it.
 */
static inline uint64_t
mm_frame_unpinned_refs(uint32_t owner)
{
	const struct mmrt_frame *f = mmrt_frame_meta(owner);
	uint64_t pins = __atomic_load_n(&f->priv2, __ATOMIC_ACQUIRE);

	return (uint64_t)__atomic_load_n(&f->refcount, __ATOMIC_ACQUIRE) -
		pins;
}

/* Take one pin on @owner (PT lock of the leaf held): reference first. */
static inline void
mm_frame_pin(uint32_t owner)
{
	struct mmrt_frame *f = mmrt_frame_meta(owner);

	__atomic_fetch_add(&f->refcount, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&f->priv2, 1, __ATOMIC_RELEASE);
}

/* Drop one pin's count on @owner; the caller then drops its reference
 * with mmrt_frame_put(). */
static inline void
mm_frame_unpin_count(uint32_t owner)
{
	__atomic_fetch_sub(&mmrt_frame_meta(owner)->priv2, 1,
		__ATOMIC_RELEASE);
}

#endif /* MM_PIN_FRAME_H */
