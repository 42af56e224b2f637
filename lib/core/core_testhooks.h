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

/*
 * The lock-order check (lib/mm/mm_locking.h numbers the classes and wraps
 * the lock calls). In a build without -Dtest_hooks=true these expand to
 * no code: the arguments are only cast to void.
 */
#ifdef MMRT_TEST_HOOKS
#define CORE_LOCK_ACQUIRE(cls, name, nested) \
	mmrt_test_lock_acquire((cls), (name), (nested), __FILE__, __LINE__)
#define CORE_LOCK_TRIED(cls, name) \
	mmrt_test_lock_tried((cls), (name), __FILE__, __LINE__)
#define CORE_LOCK_RELEASE(cls) mmrt_test_lock_release(cls)
#else
#define CORE_LOCK_ACQUIRE(cls, name, nested) \
	do { (void)(cls); (void)(name); (void)(nested); } while (0)
#define CORE_LOCK_TRIED(cls, name) do { (void)(cls); (void)(name); } while (0)
#define CORE_LOCK_RELEASE(cls) do { (void)(cls); } while (0)
#endif

#endif /* CORE_TESTHOOKS_H */
