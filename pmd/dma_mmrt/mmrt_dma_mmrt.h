/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_DMA_MMRT_H
#define MMRT_DMA_MMRT_H

/**
 * @file
 * dma_mmrt: the swdma engine as a DPDK dmadev on the vdev bus. Devices are
 * created with EAL --vdev=dma_mmrt0[,as=NAME][,dev=DMADEV]
 * [,lcore=N|service=1][,burst=B][,idle=pause|spin|backoff][,ack_us=US]
 * [,park_us=US][,lookahead=1] or rte_vdev_init() and driven with rte_dma_*
 * only.
 *
 * lookahead=1 (engine mode, off by default): after a device-TLB miss on
 * a 4 KiB page the engine translates the next 16 pages in one walk that
 * never faults and serves them without the device TLB; a stream through
 * fresh pages then costs one walk per 16 pages instead of a device-TLB
 * miss per page. Those pages do not enter the device TLB, so its
 * counters show fewer misses and fills. Ignored with dev=. Without it
 * (the default) the device TLB itself prefetches: a 4 KiB miss that
 * continues a stream installs up to 16 following present pages of the
 * same page table, so such a stream misses once per 17 pages and a
 * second pass hits; lookahead=1
 * stays for the few percent it still saves on a one-pass stream.
 *
 * dev=DMADEV puts the named real dmadev behind the translation: dma_mmrt
 * configures it (one MEM_TO_MEM vchan) and starts it at its own start,
 * stops it at its stop (nobody else may use it meanwhile), gives it page
 * pieces by IOVA, and acks an invalidation only when no piece on the
 * device uses a dropped translation. That mode advertises MEM_TO_MEM,
 * COPY and HANDLES_ERRORS only (no fill, no scatter-gather).
 * One vchan per device (max_vchans 1): create several devices for
 * parallel channels.
 *
 * With as=NAME, addresses are virtual addresses of the mmrt address space
 * NAME. Without as= (mirror mode), addresses are IOVAs of DPDK memory
 * (rte_pktmbuf_iova(), rte_malloc_virt2iova()), translated through the
 * DPDK-memory mirror space "dma_mmrt.mirror" (mmrt_as_mirror_dpdk()): the
 * driver looks it up at the device's first start, or creates it and then
 * destroys it when the last mirror-mode device is closed. An IOVA outside
 * DPDK memory (0 included) completes with an error status. External
 * memory: rte_dev_dma_map(dev, addr, iova, len) on a dma_mmrt device
 * (before or after its start) maps the range in the mirror at @iova
 * (mmrt_mirror_dma_map(): the process's mirrors, shared by every device),
 * and rte_dev_dma_unmap() with the same values removes it; when it
 * returns no engine uses the memory. If mmrt is not
 * up at that start (a stock DPDK application that loaded the plugin with
 * EAL -d), the driver brings it up with mmrt_attach(NULL) and calls
 * mmrt_fini() when its last mirror-mode device is closed (rte_dma_close(),
 * vdev remove or rte_eal_cleanup()); a runtime the application brought up
 * is never finalized by the driver. Capabilities: MEM_TO_MEM, COPY,
 * COPY_SG (max_sges 16 per side, equal totals), FILL,
 * HANDLES_ERRORS; not SVA. Nothing else of the driver is public.
 *
 * DPDK secondary processes: DPDK 22.11's dmadev library lets a secondary
 * attach only to a dmadev the primary allocated, so dma_mmrt devices are
 * probed (created) in the primary; a secondary attaches to each of them
 * at rte_eal_init() (the vdev bus hands it their names), and
 * rte_vdev_init() of a new dma_mmrt name there fails with -ENOTSUP. The
 * device runs in the one process that started it (the library's started
 * bit is shared): a secondary that calls rte_dma_configure(),
 * rte_dma_vchan_setup() and rte_dma_start() runs the engine itself, on
 * its own lcore or service, on the primary's address spaces (as=NAME;
 * mirror mode needs the primary's "dma_mmrt.mirror"; dev= runs in the
 * primary only: -ENOTSUP at start). Its options are its own
 * --vdev=dma_mmrt0,... for the same name when it gives one, else the
 * primary's with the engine lcore chosen in the secondary.
 * rte_dma_stop() or rte_dma_close() from a process other than the one
 * running the engine fails with -EBUSY while that process lives.
 *
 * The data path works from every process that has the device: calls
 * from a process that does not run the engine reach the engine of the
 * one that does (the engine's ring is in shared memory), e.g. the
 * primary copies through an engine a secondary runs. dmadev's rule
 * holds across processes: one thread, in one process, calls the data
 * path of the vchan at a time. Such calls cost one full memory fence
 * each (they announce themselves, so that the engine is never freed
 * under them); the process that runs the engine pays nothing extra.
 * With no engine running anywhere, rte_dma_copy(), _copy_sg(), _fill()
 * and rte_dma_submit() return -EINVAL and rte_dma_completed*() 0.
 *
 * A runner that dies (SIGKILL included): mmrt_reap_dead(), in any
 * process that has the driver and the device, frees its engine's
 * rte_malloc memory (the engine, its ring, its lists, the driver's
 * shadow), then its consumer, and releases the device (run_pid 0);
 * rte_dma_stop() from any process then clears the started bit and the
 * device can be started again anywhere. rte_dma_start() and
 * rte_dma_stop() reclaim the engine themselves when they find its
 * process dead (a reap that ran without the driver). Operations another
 * process had submitted to the dead engine never complete: stop and
 * start the device.
 */

#include <stdbool.h>
#include <stdint.h>

#include <mmrt_dev.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * What rte_dma_stats_get() cannot say: the translation side of a started
 * dma_mmrt device. Counters start at 0 at each rte_dma_start() (the engine
 * or bridge is created there) and only grow until the stop.
 */
struct mmrt_dma_mmrt_stats {
	bool dev_mode;          /**< dev= given: a dmadev behind (bridge). */
	int32_t run_pid;        /**< The process whose engine runs the
				 * device (this one or another: the
				 * counters are the same from any process);
				 * it may have died since (see
				 * mmrt_process_alive()). */
	uint64_t submitted;     /**< Operations submitted (doorbell). */
	uint64_t completed;     /**< Operations finished (any status). */
	uint64_t errors;        /**< ... with an error status. */
	uint64_t page_faults;   /**< ... of which PAGE_FAULT (engine only). */
	uint64_t bytes;         /**< Bytes copied or filled (engine), or
				 * given to the device (bridge). */
	uint64_t parks;         /**< Times an operation parked on a page. */
	uint64_t resumes;       /**< Parked operations that went on
				 * (engine only). */
	uint64_t pieces;        /**< Page pieces given to the device
				 * (bridge only). */
	uint64_t acks_held;     /**< Worker steps that held an ack for a
				 * piece on the device (bridge only). */
	uint64_t inflight;      /**< Pieces on the device now (bridge). */
	uint64_t steps;         /**< Engine steps with work (engine only). */
	uint64_t idle_polls;    /**< Engine steps without work (engine
				 * only). */
	struct mmrt_consumer_stats consumer; /**< The device TLB's consumer:
					      * invalidations, acks, fences,
					      * TLB hits and misses, page
					      * requests. */
};

/**
 * The mmrt counters of dma_mmrt device @p dev_id.
 *
 * @param dev_id A dmadev id (rte_dma_get_dev_id_by_name()).
 * @param st Out: the counters (a snapshot: fields written by the engine
 *   or worker are read without a lock, each one atomically).
 * @return 0; -EINVAL (@p st NULL); -ENODEV (@p dev_id is not a dma_mmrt
 *   device in this process); -ENOTCONN (no process runs the device: it
 *   is stopped, or its runner died and was reclaimed: no engine, no
 *   counters). The engine may run in this process or in another one:
 *   the counters and run_pid are the same from every process. Any
 *   thread of any process that has the device, concurrently with
 *   rte_dma_start() and rte_dma_stop() (in any process) too: the engine
 *   is published and taken away under the device's engine lock, in
 *   shared memory, which this call holds while it reads (a holder that
 *   died is taken over). Never waits (spins on that lock). The same
 *   counters are on telemetry: /mmrt/dma_mmrt/list (dmadev ids of the
 *   dma_mmrt devices) and /mmrt/dma_mmrt/info,ID (with run_pid).
 */
int mmrt_dma_mmrt_stats(int16_t dev_id, struct mmrt_dma_mmrt_stats *st);

/**
 * Whether the dma_mmrt driver is registered with the vdev bus in this
 * process (by libmmrt_pmd_dma_mmrt or by the -d plugin, whichever was
 * loaded first).
 *
 * The driver registers itself from a constructor, so an application that
 * creates dma_mmrt devices but calls nothing of the library would lose it
 * to the linker's --as-needed: calling this function (or linking with
 * -Wl,--no-as-needed) keeps libmmrt_pmd_dma_mmrt loaded.
 *
 * @return true once registered. Thread-safe. Never waits.
 */
bool mmrt_dma_mmrt_registered(void);

/**
 * @internal Set by the first copy of the driver that registers
 * (libmmrt_pmd_dma_mmrt or the -d plugin): both export it and, by symbol
 * interposition, both constructors see the first-loaded definition, so
 * the driver is registered once. Not for applications.
 */
extern int mmrt_dma_mmrt_once;

#ifdef __cplusplus
}
#endif

#endif /* MMRT_DMA_MMRT_H */
