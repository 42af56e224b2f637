/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_SG_H
#define MM_SG_H

/*
 * sg.c: scatter-gather lookup and reverse lookup. What it offers the
 * layers above (pin.c): the segment accumulator that coalesces pages
 * contiguous in both host address and IOVA, with the -ENOSPC contract of
 * mmrt_translate_sg() (a caller array of n segments, or NULL to count).
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_memory.h>

#include "mmrt_mm.h"

struct mm_sg_acc {
	struct mmrt_sg *sg;     /* caller's array, or NULL: count only */
	unsigned int n;         /* its size */
	unsigned int cnt;       /* segments closed so far */
	bool open;              /* cur holds a segment */
	struct mmrt_sg cur;     /* the segment being extended */
};

static inline void
mm_sg_acc_init(struct mm_sg_acc *acc, struct mmrt_sg *sg, unsigned int n)
{
	acc->sg = sg;
	acc->n = n;
	acc->cnt = 0;
	acc->open = false;
}

/* Close the open segment: -ENOSPC if the caller's array is full. */
static __rte_always_inline int
mm_sg_acc_close(struct mm_sg_acc *acc)
{
	if (!acc->open)
		return 0;
	if (acc->sg != NULL) {
		if (acc->cnt >= acc->n)
			return -ENOSPC;
		acc->sg[acc->cnt] = acc->cur;
	}
	acc->cnt++;
	acc->open = false;
	return 0;
}

/* Add [addr, addr + len) at @iova: extends the open segment when both
 * the host address and the IOVA continue it (or neither has an IOVA),
 * the common case of a walk. */
static __rte_always_inline int
mm_sg_acc_add(struct mm_sg_acc *acc, uint64_t addr, rte_iova_t iova,
	uint64_t len)
{
	struct mmrt_sg *c = &acc->cur;
	int ret;

	if (likely(acc->open && (uint64_t)(uintptr_t)c->addr + c->len ==
			addr && (c->iova == RTE_BAD_IOVA ?
			iova == RTE_BAD_IOVA : iova != RTE_BAD_IOVA &&
			c->iova + c->len == iova))) {
		c->len += len;
		return 0;
	}
	ret = mm_sg_acc_close(acc);
	if (ret != 0)
		return ret;
	c->addr = (void *)(uintptr_t)addr;
	c->iova = iova;
	c->len = len;
	acc->open = true;
	return 0;
}

#endif /* MM_SG_H */
