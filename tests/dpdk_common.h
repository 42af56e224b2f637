/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_TESTS_DPDK_COMMON_H
#define MMRT_TESTS_DPDK_COMMON_H

/*
 * DPDK-level helpers for the Criterion suites (through common.h) and the
 * multi-process peers alike: no Criterion here, failures are returned.
 */

#include <stdint.h>

#include <rte_common.h>
#include <rte_dmadev.h>
#include <rte_malloc.h>

/* Bytes of the rte_malloc heaps in use, over every socket. */
static inline uint64_t
mmrt_test_heap_bytes(void)
{
	struct rte_malloc_socket_stats ms;
	uint64_t b = 0;
	int i;

	for (i = 0; i < RTE_MAX_NUMA_NODES; i++)
		if (rte_malloc_get_socket_stats(i, &ms) == 0)
			b += ms.heap_allocsz_bytes;
	return b;
}

/*
 * Configure dmadev @p id with one mem-to-mem vchan of @p nb_desc
 * descriptors and start it. @return 0 or the first call's error.
 */
static inline int
mmrt_test_dma_start(int16_t id, uint16_t nb_desc)
{
	struct rte_dma_conf conf = { .nb_vchans = 1 };
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
		.nb_desc = nb_desc,
	};
	int ret;

	ret = rte_dma_configure(id, &conf);
	if (ret == 0)
		ret = rte_dma_vchan_setup(id, 0, &vc);
	if (ret == 0)
		ret = rte_dma_start(id);
	return ret;
}

#endif /* MMRT_TESTS_DPDK_COMMON_H */
