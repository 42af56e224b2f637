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
};

int mm_object_page(struct mmrt_object *obj, uint64_t idx, uint32_t *pfn);
/* The frame of page @idx if it exists, else MMRT_PFN_NONE (creates none). */
uint32_t mm_object_peek(struct mmrt_object *obj, uint64_t idx);
bool mm_object_live(const struct mmrt_object *obj);
void mm_object_map_count(struct mmrt_object *obj, int delta);
bool mm_objects_live(void);

#endif /* MM_OBJECT_H */
