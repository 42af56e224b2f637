/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_FAULT_H
#define MM_FAULT_H

/*
 * fault.c: resolve a fault under the map lock (the leaf-state table at the
 * top of fault.c). The wait protocol (struct mm_fault_wait, MM_FAULT_*)
 * belongs to uffd.c, below: mm_uffd.h.
 */

#include <stdint.h>

#include "mm_uffd.h"

struct mmrt_as;

/* Resolve a fault on @va (map lock held): 0, MM_FAULT_POSTED (wait with
 * mm_uffd_wait() unless @w->nowait, then retry), MM_FAULT_WOULD_WAIT
 * (@w->probe only) or a negative errno. */
int mm_fault_locked(struct mmrt_as *as, uint64_t va, uint32_t access,
	struct mm_fault_wait *w);

#endif /* MM_FAULT_H */
