/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef CORE_TSAN_H
#define CORE_TSAN_H

/*
 * Happens-before edges ThreadSanitizer cannot see, for in-tree code only
 * (not installed). DPDK's EAL is not instrumented: a worker lcore's
 * return reaches rte_eal_wait_lcore() through EAL's own atomics, so a
 * TSan build would report every result the main lcore reads after the
 * wait. The worker releases a token as its last step, the waiter
 * acquires it after the wait. No-ops in other builds.
 */

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MMRT_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define MMRT_TSAN 1
#endif

#ifdef MMRT_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define MMRT_TSAN_ACQUIRE(addr) __tsan_acquire((void *)(addr))
#define MMRT_TSAN_RELEASE(addr) __tsan_release((void *)(addr))
#else
#define MMRT_TSAN_ACQUIRE(addr) do { } while (0)
#define MMRT_TSAN_RELEASE(addr) do { } while (0)
#endif

#endif /* CORE_TSAN_H */
