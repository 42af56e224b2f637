/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_OBJECT_H
#define MM_OBJECT_H

/* object.c: shared memory objects (the page cache of mmrt). */

#include <stdbool.h>
#include <stdint.h>

#include <rte_spinlock.h>

#include "mmrt_mm.h"

#define MM_OBJ_MAGIC 0x6d6d6f62u /* "mmob" */

struct mmrt_object {
	uint32_t magic;
	char name[MMRT_NAME_SIZE];
	rte_spinlock_t lock;
	uint64_t size;
	uint64_t npages;
	/* regions mapping it (bits 0..31), and the tag (bits 32..47) of a
	 * secondary's journalled change in progress (region.c) */
	uint64_t map_count;
	uint32_t *pfns;       /* MMRT_PFN_NONE until first use */
	/* file-backed objects (mmrt_object_create_fd()); fd -1 otherwise */
	int fd;               /* the object's own dup of the caller's fd,
			       * in its creator (fd_pid) */
	int32_t fd_pid;       /* the creating process */
	uint64_t file_off;    /* file offset of page 0 */
};

/*
 * The frame of page @idx, made on first use: zeroed, or, for a
 * file-backed object, read from its file (pread into the frame, the tail
 * past the end of the file zeroed; no lock held across the read). 0,
 * -EFAULT (past the object), -ENOMEM, -EIO (the read failed).
 */
int mm_object_page(struct mmrt_object *obj, uint64_t idx, uint32_t *pfn);
/*
 * As mm_object_page(), for a poller's fault probe, which must not wait:
 * -EWOULDBLOCK where the page would be read from a file.
 */
int mm_object_page_nowait(struct mmrt_object *obj, uint64_t idx,
	uint32_t *pfn);
/*
 * Does page @idx exist, for MINOR-mode userfault (a fault on a page that
 * exists but is not mapped is minor)? A pool object's page exists once
 * made; every page of a file-backed object exists (its bytes are in the
 * file): the resolver's continue reads it in.
 */
bool mm_object_has_page(struct mmrt_object *obj, uint64_t idx);
/* The frame of page @idx if it exists, else MMRT_PFN_NONE (creates none). */
uint32_t mm_object_peek(struct mmrt_object *obj, uint64_t idx);
bool mm_object_live(const struct mmrt_object *obj);
void mm_object_map_count(struct mmrt_object *obj, int delta);

#define MM_OBJ_MAPS_MASK UINT64_C(0xffffffff)
#define MM_OBJ_TAG_SHIFT 32

/* Regions mapping @obj. */
static inline uint32_t
mm_object_maps(const struct mmrt_object *obj)
{
	return (uint32_t)(__atomic_load_n(&obj->map_count, __ATOMIC_ACQUIRE) &
		MM_OBJ_MAPS_MASK);
}

/*
 * A journalled change of @obj's count by @delta (region.c, a secondary):
 * the count changes and tag @tag (!= 0) is set in one compare-and-swap,
 * after any other tagged change ended; mm_object_map_untag() clears it.
 * A reaper tells by the tag whether a dead thread's change happened.
 */
void mm_object_map_count_tagged(struct mmrt_object *obj, int delta,
	uint32_t tag);
/* Clear tag @tag from @obj's count if it is there. */
void mm_object_map_untag(struct mmrt_object *obj, uint32_t tag);
/* Is tag @tag on @obj's count? */
static inline bool
mm_object_map_tagged(const struct mmrt_object *obj, uint32_t tag)
{
	return (__atomic_load_n(&obj->map_count, __ATOMIC_ACQUIRE) >>
		MM_OBJ_TAG_SHIFT) == tag;
}
bool mm_objects_live(void);

#endif /* MM_OBJECT_H */
