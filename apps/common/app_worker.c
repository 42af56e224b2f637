/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#include <errno.h>

#include <rte_launch.h>
#include <rte_lcore.h>

#include <mmrt_core.h>

#include "app_common.h"

/* A worker lcore's function and argument (app_worker_launch()). */
struct app_worker {
	lcore_function_t *f;
	void *arg;
};

/* Written by the main lcore before the launch, read by the worker. */
static struct app_worker app_workers[RTE_MAX_LCORE];

/* Run on the worker: f(arg), then the edge app_worker_wait() acquires. */
static int
worker_main(void *p)
{
	struct app_worker *w = p;
	int rc = w->f(w->arg);

	MMRT_TSAN_RELEASE(w);
	return rc;
}

int
app_worker_launch(lcore_function_t *f, void *arg, unsigned int lcore)
{
	if (lcore >= RTE_MAX_LCORE)
		return -EINVAL;
	app_workers[lcore].f = f;
	app_workers[lcore].arg = arg;
	return rte_eal_remote_launch(worker_main, &app_workers[lcore], lcore);
}

int
app_worker_wait(unsigned int lcore)
{
	int rc;

	if (lcore >= RTE_MAX_LCORE)
		return -EINVAL;
	rc = rte_eal_wait_lcore(lcore);
	MMRT_TSAN_ACQUIRE(&app_workers[lcore]);
	return rc;
}
