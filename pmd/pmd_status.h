/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_PMD_STATUS_H
#define MMRT_PMD_STATUS_H

/* Internal to pmd/: what the engines share. Not installed. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_dmadev.h>

/*
 * The dmadev status of an operation whose source (@dst false) or
 * destination translation failed with @err for good.
 */
static inline uint16_t
pmd_fault_status(int err, bool dst)
{
	switch (err) {
	case -EACCES:
		return dst ? RTE_DMA_STATUS_INVALID_DST_ADDR :
			RTE_DMA_STATUS_INVALID_SRC_ADDR;
	case -EHWPOISON:
		return RTE_DMA_STATUS_DATA_POISION;
	case -ENOTCONN:
		return RTE_DMA_STATUS_BUS_ERROR;
	case -EFAULT:
	default:
		return RTE_DMA_STATUS_PAGE_FAULT;
	}
}

#endif /* MMRT_PMD_STATUS_H */
