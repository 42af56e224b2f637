/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_CORE_WAIT_H
#define MMRT_CORE_WAIT_H

/*
 * One step of a wait for another thread's progress (an ack, a grace
 * period, a fill, a lock a dead process left), internal to lib/.
 *
 * Spin with rte_pause() for the first @p spins_max steps (most waits end
 * there), then sleep about a microsecond (the timer's slack makes it
 * tens) per step. Sleep, not sched_yield(): the thread waited for may
 * share this cpu, and a yield does not make the scheduler run it (EEVDF
 * only moves the yielder's deadline); a waiter that keeps yielding was
 * seen to hold a vCPU while the thread it waited for, runnable on that
 * vCPU, did not run for seconds. A sleeping waiter leaves the cpu.
 *
 * @p spins counts the steps taken (the caller's, from 0).
 */

#include <stdint.h>

#include <rte_cycles.h>
#include <rte_pause.h>

static inline void
core_wait_step(unsigned int *spins, unsigned int spins_max)
{
	if (*spins < spins_max) {
		(*spins)++;
		rte_pause();
	} else {
		rte_delay_us_sleep(1);
	}
}

#endif /* MMRT_CORE_WAIT_H */
