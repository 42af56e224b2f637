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
	uint32_t map_count;   /* regions mapping it */
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
bool mm_objects_live(void);

#endif /* MM_OBJECT_H */
