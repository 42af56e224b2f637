/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_DMA_MMRT_INTERNAL_H
#define MMRT_DMA_MMRT_INTERNAL_H

/*
 * dma_mmrt's internal calls for perf/ (linked through the internal
 * libraries, never exported, not installed).
 */

#include <stdbool.h>
#include <stdint.h>

/*
 * Install the guarded data path (@p guarded true) or the plain one into
 * this process's fast-path object of started engine-mode (as= or mirror)
 * device @p dev_id, whose engine this process runs. The guarded calls are
 * the ones every other process uses (one full fence per call, see
 * dmm_dp_enter()); they stay correct in the runner, only slower. A start
 * installs the plain ones again.
 *
 * For measuring the guarded path against the plain one in one process.
 * Control path: never while this process's data path runs on the device.
 *
 * @return 0, -ENODEV (no such dma_mmrt device), -ENOTSUP (dev= mode),
 *   -ENOTCONN (not started by this process).
 */
int dmm_perf_dp_guarded(int16_t dev_id, bool guarded);

/*
 * Set the lookahead= option of engine-mode device @p dev_id (this
 * process's options): it takes effect at the device's next start (each
 * start creates the engine). Control path, device stopped.
 *
 * @return 0, -ENODEV (no such dma_mmrt device), -ENOTSUP (dev= mode).
 */
int dmm_perf_lookahead(int16_t dev_id, bool on);

#endif /* MMRT_DMA_MMRT_INTERNAL_H */
