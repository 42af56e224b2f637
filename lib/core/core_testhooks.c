/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Allocation-failure injection (test builds only): a countdown of the
 * allocation sites passed; the site that finds it at zero fails. See
 * mmrt_test_fail_alloc_after() in mmrt_core.h and core_testhooks.h.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_errno.h>

#include "mmrt_core.h"
#include "core_testhooks.h"

#ifdef MMRT_TEST_HOOKS

/* Sites still to pass before the failure; < 0: disarmed. */
static int64_t fail_countdown = -1;
static uint64_t fail_sites;
static bool fail_done;

void
mmrt_test_fail_alloc_after(int64_t n)
{
	__atomic_store_n(&fail_sites, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fail_done, false, __ATOMIC_RELAXED);
	__atomic_store_n(&fail_countdown, n < 0 ? -1 : n, __ATOMIC_RELAXED);
}

uint64_t
mmrt_test_alloc_sites(bool *failed)
{
	if (failed != NULL)
		*failed = __atomic_load_n(&fail_done, __ATOMIC_RELAXED);
	return __atomic_load_n(&fail_sites, __ATOMIC_RELAXED);
}

bool
mmrt_test_alloc_fail(void)
{
	int64_t left;

	if (__atomic_load_n(&fail_countdown, __ATOMIC_RELAXED) < 0)
		return false;
	__atomic_fetch_add(&fail_sites, 1, __ATOMIC_RELAXED);
	left = __atomic_fetch_sub(&fail_countdown, 1, __ATOMIC_RELAXED);
	if (left != 0)
		return false;
	/* this one fails; the sites after it succeed (countdown < 0) */
	__atomic_store_n(&fail_done, true, __ATOMIC_RELAXED);
	rte_errno = ENOMEM;
	return true;
}

#endif /* MMRT_TEST_HOOKS */
