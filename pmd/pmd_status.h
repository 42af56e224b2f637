/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_PMD_STATUS_H
#define MMRT_PMD_STATUS_H

/* Internal to pmd/: what the engines share. Not installed. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>
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

/*
 * The submitter's side of an in-order ring of operations (the engine's
 * ring, dma_mmrt's dev= front ring): the engine finishes slots in order,
 * writes each one's status, then publishes its done counter with a
 * release store; the submitter has reported the slots before *@cpl. A
 * slot i lives at @ring + (i & @mask) * @stride, its status (enum
 * rte_dma_status_code as a uint16_t) @status_off bytes into it:
 * PMD_REAP_RING(ring) gives those three for a typed ring pointer whose
 * element has a member named status. Submitter thread only.
 */
#define PMD_REAP_RING(r) (const void *)(r), sizeof(*(r)), \
	offsetof(__typeof__(*(r)), status)

static inline uint16_t
pmd_reap_slot_status(const void *ring, size_t stride, size_t status_off,
	uint64_t mask, uint64_t i)
{
	return *(const uint16_t *)((const uint8_t *)ring +
		(i & mask) * stride + status_off);
}

/*
 * rte_dma_completed(): report up to @nb finished slots, stopping before
 * the first one that failed (*@err true then; it stays unreported for
 * completed_status()). *@last: the index of the last slot reported so
 * far (16 bits, as dmadev counts). @return slots reported.
 */
static inline uint16_t
pmd_reap_ok(const void *ring, size_t stride, size_t status_off,
	uint64_t mask, const uint64_t *done, uint64_t *cpl, uint16_t nb,
	uint16_t *last, bool *err)
{
	/* acquire: pairs with the engine's release of done */
	uint64_t d = __atomic_load_n(done, __ATOMIC_ACQUIRE);
	uint64_t n = RTE_MIN(d - *cpl, (uint64_t)nb), i;
	bool e = false;

	for (i = 0; i < n; i++)
		if (pmd_reap_slot_status(ring, stride, status_off, mask,
				*cpl + i) != RTE_DMA_STATUS_SUCCESSFUL) {
			e = true;
			break;
		}
	*cpl += i;
	if (last != NULL)
		*last = (uint16_t)((*cpl - 1) & 0xffff);
	if (err != NULL)
		*err = e;
	return (uint16_t)i;
}

/*
 * rte_dma_completed_status(): report up to @nb finished slots with their
 * statuses, failed or not. @return slots reported.
 */
static inline uint16_t
pmd_reap_status(const void *ring, size_t stride, size_t status_off,
	uint64_t mask, const uint64_t *done, uint64_t *cpl, uint16_t nb,
	uint16_t *last, enum rte_dma_status_code *status)
{
	uint64_t d = __atomic_load_n(done, __ATOMIC_ACQUIRE);
	uint64_t n = RTE_MIN(d - *cpl, (uint64_t)nb), i;

	for (i = 0; i < n; i++)
		status[i] = (enum rte_dma_status_code)pmd_reap_slot_status(
			ring, stride, status_off, mask, *cpl + i);
	*cpl += n;
	if (last != NULL)
		*last = (uint16_t)((*cpl - 1) & 0xffff);
	return (uint16_t)n;
}

/*
 * Add @v to the engine statistic @s->st.@f, a single-writer counter that
 * other threads read relaxed: a plain read and an atomic store suffice.
 */
#define PMD_ST_ADD(s, f, v) \
	__atomic_store_n(&(s)->st.f, (s)->st.f + (v), __ATOMIC_RELAXED)

#endif /* MMRT_PMD_STATUS_H */
