/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef DMA_MMRT_ABI_H
#define DMA_MMRT_ABI_H

/*
 * The driver side of DPDK 22.11 (ABI 23, x86_64 LP64) that Debian's
 * packages do not install, restated in our own words and under our own
 * names from the facts in shared/reference/dmadev-driver.md section 2. Not
 * installed; internal to pmd/dma_mmrt.
 *
 * Only what the driver touches is named; everything else is padding of the
 * size the facts give. Every offset the driver relies on is pinned below
 * with _Static_assert, and dma_mmrt.c checks at probe time, through public
 * accessors, that the running library agrees (a mismatch fails the probe
 * with -EPROTO and one log line; nothing is written through a layout that
 * did not check out).
 *
 * One such header per DPDK major version: 23.11 kept these layouts, 25.11
 * grows the ops table and 26.07 drops the leading list link of both vdev
 * records (see the reference, section 5).
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>
#include <rte_dev.h>
#include <rte_dmadev.h>
#include <rte_dmadev_core.h>
#include <rte_version.h>

#if RTE_VER_YEAR != 22 || RTE_VER_MONTH != 11
#error "dma_mmrt_abi.h describes DPDK 22.11 (ABI 23) only"
#endif

/* A doubly linked list entry as the bus keeps them: two pointers. */
struct dmm_list_link {
	void *next;
	void **prev;
};

/* The generic driver record, embedded in the vdev driver (32 bytes). */
struct dmm_generic_drv {
	struct dmm_list_link link;
	const char *name;
	const char *alias;
};

struct dmm_vdev_dev; /* never dereferenced: see dmm_vdev_generic() */

/* The vdev bus's driver record (88 bytes). */
struct dmm_vdev_drv {
	struct dmm_list_link link;
	struct dmm_generic_drv generic;
	int (*probe)(struct dmm_vdev_dev *vdev);
	int (*remove)(struct dmm_vdev_dev *vdev);
	int (*dma_map)(struct dmm_vdev_dev *vdev, void *va, uint64_t iova,
		size_t len);
	int (*dma_unmap)(struct dmm_vdev_dev *vdev, void *va, uint64_t iova,
		size_t len);
	uint32_t flags;
};

/* vdev driver flag: the bus refuses to probe unless IOVAs are VAs. */
#define DMM_VDEV_NEED_IOVA_AS_VA 0x1u

/* The vdev device record starts with a list link; the generic device
 * record (struct rte_device) is embedded right after it. */
#define DMM_VDEV_GENERIC_OFF 16

static inline struct rte_device *
dmm_vdev_generic(struct dmm_vdev_dev *vdev)
{
	return (struct rte_device *)((uint8_t *)vdev + DMM_VDEV_GENERIC_OFF);
}

/* The dmadev states of the per-process record. */
#define DMM_DMA_UNUSED 0
#define DMM_DMA_REGISTERED 1
#define DMM_DMA_READY 2

struct dmm_dma_data;
struct dmm_dma_ops;

/* The library's per-process device record (one cache line). */
struct dmm_dma_dev {
	struct rte_device *device;
	struct dmm_dma_data *data;
	struct rte_dma_fp_object *fp;
	const struct dmm_dma_ops *ops;
	int state;
	uint64_t spare[2];
} __rte_cache_aligned;

/* The device record shared between processes (two cache lines), in the
 * memzone DMM_DMA_DATA_MZ after a DMM_DMA_DATA_HDR-byte header. */
struct dmm_dma_data {
	char name[RTE_DEV_NAME_MAX_LEN];
	int16_t id;
	int16_t numa;
	void *priv;
	struct rte_dma_conf conf;
	uint8_t flag_bits; /* bit 0: started (the library's, read only) */
	uint64_t spare[2];
} __rte_cache_aligned;

#define DMM_DMA_DATA_MZ "rte_dma_dev_data"
#define DMM_DMA_DATA_HDR 64
#define DMM_DMA_STARTED_BIT 0x1u

/* The driver's control operations, in the library's order. The size
 * arguments are the caller's sizeof() of the public structure. */
struct dmm_dma_ops {
	int (*info_get)(const struct dmm_dma_dev *dev,
		struct rte_dma_info *info, uint32_t size);
	int (*configure)(struct dmm_dma_dev *dev,
		const struct rte_dma_conf *conf, uint32_t size);
	int (*start)(struct dmm_dma_dev *dev);
	int (*stop)(struct dmm_dma_dev *dev);
	int (*close)(struct dmm_dma_dev *dev);
	int (*vchan_setup)(struct dmm_dma_dev *dev, uint16_t vchan,
		const struct rte_dma_vchan_conf *conf, uint32_t size);
	int (*stats_get)(const struct dmm_dma_dev *dev, uint16_t vchan,
		struct rte_dma_stats *stats, uint32_t size);
	int (*stats_reset)(struct dmm_dma_dev *dev, uint16_t vchan);
	int (*vchan_status)(const struct dmm_dma_dev *dev, uint16_t vchan,
		enum rte_dma_vchan_status *status);
	int (*dump)(const struct dmm_dma_dev *dev, FILE *f);
};

/*
 * The three INTERNAL entry points a dmadev vdev driver needs, declared
 * with our types (the linker binds them to their INTERNAL version nodes of
 * librte_bus_vdev.so.23 and librte_dmadev.so.23).
 */
void rte_vdev_register(struct dmm_vdev_drv *drv);
void rte_vdev_unregister(struct dmm_vdev_drv *drv);
struct dmm_dma_dev *rte_dma_pmd_allocate(const char *name, int numa_node,
	size_t priv_size);
int rte_dma_pmd_release(const char *name);

/* ---- compile-time checks: the facts of the reference, section 2 ---- */

_Static_assert(RTE_CACHE_LINE_SIZE == 64, "cache line is not 64 bytes");
_Static_assert(RTE_DEV_NAME_MAX_LEN == 64, "device name size changed");
_Static_assert(sizeof(void *) == 8, "LP64 only");

_Static_assert(sizeof(struct dmm_generic_drv) == 32, "generic driver");
_Static_assert(offsetof(struct dmm_generic_drv, name) == 16, "drv name");
_Static_assert(offsetof(struct dmm_generic_drv, alias) == 24, "drv alias");

_Static_assert(sizeof(struct dmm_vdev_drv) == 88, "vdev driver size");
_Static_assert(offsetof(struct dmm_vdev_drv, generic) == 16, "vdev drv");
_Static_assert(offsetof(struct dmm_vdev_drv, probe) == 48, "probe");
_Static_assert(offsetof(struct dmm_vdev_drv, remove) == 56, "remove");
_Static_assert(offsetof(struct dmm_vdev_drv, dma_map) == 64, "dma_map");
_Static_assert(offsetof(struct dmm_vdev_drv, dma_unmap) == 72, "dma_unmap");
_Static_assert(offsetof(struct dmm_vdev_drv, flags) == 80, "flags");

_Static_assert(sizeof(struct dmm_dma_dev) == 64, "dmadev record size");
_Static_assert(offsetof(struct dmm_dma_dev, data) == 8, "data");
_Static_assert(offsetof(struct dmm_dma_dev, fp) == 16, "fp_obj");
_Static_assert(offsetof(struct dmm_dma_dev, ops) == 24, "ops");
_Static_assert(offsetof(struct dmm_dma_dev, state) == 32, "state");
_Static_assert(offsetof(struct dmm_dma_dev, spare) == 40, "reserved");

_Static_assert(sizeof(struct rte_dma_conf) == 4, "public rte_dma_conf");
_Static_assert(sizeof(struct dmm_dma_data) == 128, "shared record size");
_Static_assert(offsetof(struct dmm_dma_data, id) == 64, "dev_id");
_Static_assert(offsetof(struct dmm_dma_data, numa) == 66, "numa_node");
_Static_assert(offsetof(struct dmm_dma_data, priv) == 72, "dev_private");
_Static_assert(offsetof(struct dmm_dma_data, conf) == 80, "dev_conf");
_Static_assert(offsetof(struct dmm_dma_data, flag_bits) == 84, "started");
_Static_assert(offsetof(struct dmm_dma_data, spare) == 88, "reserved");

_Static_assert(sizeof(struct dmm_dma_ops) == 10 * sizeof(void *),
	"22.11 ops table: 10 entries");
_Static_assert(offsetof(struct dmm_dma_ops, dump) == 72, "dump is last");

/* The fast-path slot is public: check the facts we rely on anyway. */
_Static_assert(sizeof(struct rte_dma_fp_object) == 128, "fp object size");
_Static_assert(offsetof(struct rte_dma_fp_object, dev_private) == 0,
	"fp private");
_Static_assert(offsetof(struct rte_dma_fp_object, burst_capacity) == 56,
	"fp burst_capacity");

#endif /* DMA_MMRT_ABI_H */
