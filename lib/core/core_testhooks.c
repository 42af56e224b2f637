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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_log.h>

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

/*
 * The lock-order check: per thread, the locks held (class, where taken),
 * innermost last. Taking a lock outright checks its class against the
 * highest class held; try-locks are recorded unchecked. The classes are
 * the lock sheet's order (lib/mm/mm_locking.h), so an acquisition that
 * goes up the sheet passes and one that goes down is a potential cycle,
 * reported at once even if no other thread takes the opposite order now.
 */
#define LOCKDEP_DEPTH 16

struct lockdep_held {
	unsigned int cls;
	const char *name;
	const char *file;
	int line;
};

static __thread struct lockdep_held lockdep_stack[LOCKDEP_DEPTH];
static __thread unsigned int lockdep_depth;

static void __rte_noreturn
lockdep_fail(const char *what, const struct lockdep_held *want,
	const struct lockdep_held *held)
{
	char msg[512];

	if (held != NULL)
		snprintf(msg, sizeof(msg), "mmrt lock order violated (%s):"
			" taking class %u (%s) at %s:%d while holding class %u"
			" (%s) taken at %s:%d; see lib/mm/mm_locking.h\n", what,
			want->cls, want->name, want->file, want->line,
			held->cls, held->name, held->file, held->line);
	else
		snprintf(msg, sizeof(msg), "mmrt lock order check: %s taking"
			" class %u (%s) at %s:%d\n", what, want->cls,
			want->name, want->file, want->line);
	/* stderr first: the log may take a lock, or be a file */
	fputs(msg, stderr);
	fflush(stderr);
	rte_log(RTE_LOG_CRIT, mmrt_logtype_core, "%s", msg);
	abort();
}

static void
lockdep_push(const struct lockdep_held *h)
{
	if (lockdep_depth == LOCKDEP_DEPTH)
		lockdep_fail("too many locks held", h, NULL);
	lockdep_stack[lockdep_depth++] = *h;
}

void
mmrt_test_lock_acquire(unsigned int cls, const char *name, bool nested,
	const char *file, int line)
{
	const struct lockdep_held want = { cls, name, file, line };
	const struct lockdep_held *top = NULL;
	unsigned int i;

	if (cls == 0)
		return;
	for (i = 0; i < lockdep_depth; i++)
		if (top == NULL || lockdep_stack[i].cls >= top->cls)
			top = &lockdep_stack[i];
	if (top != NULL && (top->cls > cls || (top->cls == cls && !nested)))
		lockdep_fail(top->cls == cls ? "same class" : "class order",
			&want, top);
	lockdep_push(&want);
}

void
mmrt_test_lock_tried(unsigned int cls, const char *name, const char *file,
	int line)
{
	const struct lockdep_held h = { cls, name, file, line };

	if (cls != 0)
		lockdep_push(&h);
}

void
mmrt_test_lock_release(unsigned int cls)
{
	unsigned int i;

	if (cls == 0)
		return;
	for (i = lockdep_depth; i-- > 0;)
		if (lockdep_stack[i].cls == cls) {
			memmove(&lockdep_stack[i], &lockdep_stack[i + 1],
				(lockdep_depth - i - 1) *
				sizeof(lockdep_stack[0]));
			lockdep_depth--;
			return;
		}
}

#endif /* MMRT_TEST_HOOKS */
