/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef CORE_TESTHOOKS_H
#define CORE_TESTHOOKS_H

/*
 * Allocation-failure injection at every allocation site of lib/ and pmd/
 * (mmrt_test_fail_alloc_after() in mmrt_core.h): one TEST_ALLOC_FAIL() per
 * site, "TEST_ALLOC_FAIL() ? NULL : rte_zmalloc(...)" or
 * "if (TEST_ALLOC_FAIL()) return -ENOMEM;". A constant false, compiled
 * away, without -Dtest_hooks=true.
 */

#include <stdbool.h>

#include "mmrt_core.h"

#ifndef TEST_ALLOC_FAIL
#ifdef MMRT_TEST_HOOKS
#define TEST_ALLOC_FAIL() mmrt_test_alloc_fail()
#else
#define TEST_ALLOC_FAIL() false
#endif
#endif

#endif /* CORE_TESTHOOKS_H */
