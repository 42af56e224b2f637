/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MM_UFFD_H
#define MM_UFFD_H

/*
 * uffd.c, as the layers above it see it: userfaults on registered regions
 * (post, wait, wake), layout events, fork and teardown. It also owns the
 * fault-wait protocol that fault.c follows.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "mmrt_mm.h"

struct mmrt_as;
struct mmrt_uffd;
struct mmrt_uffd_msg;
struct mm_region;

/*
 * A fault in progress. A userfault posted for it (MM_FAULT_POSTED) sets
 * @uffd and @seq; unless @nowait the caller then drops the map lock and
 * calls mm_uffd_wait(), which also drops the waiter reference taken.
 */
struct mm_fault_wait {
	struct mmrt_uffd *uffd;
	uint64_t seq;            /* the uffd's wake_seq before the check */
	uint64_t t0;             /* first wait (timer cycles), 0 before */
	uint32_t requester;      /* message ptid */
	int32_t slot;            /* process slot of its waiter reference */
	bool nowait;             /* post only: no waiter reference */
	bool probe;              /* a poller's probe: MM_FAULT_WOULD_WAIT
				  * where resolving would wait (COW) */
};
#define MM_FAULT_ORDINARY 1          /* not a userfault */
#define MM_FAULT_POSTED (-EINPROGRESS) /* posted (or pending): wait/retry */
#define MM_FAULT_WOULD_WAIT 2        /* probe: resolving would wait */

static inline void
mm_fault_wait_init(struct mm_fault_wait *w, uint32_t access)
{
	w->uffd = NULL;
	w->seq = 0;
	w->t0 = 0;
	w->requester = 0;
	w->nowait = (access & MMRT_ACCESS_NOWAIT) != 0;
	w->probe = false;
}

/*
 * Prefetch the line at @p for writing: ask for it owned (exclusive),
 * where a load and a later RMW of a line another core last wrote cost
 * two transfers (a shared copy, then the upgrade that invalidates the
 * other core's), one each way between the poster and the handler of a
 * userfault. rte_prefetch0_write() cannot do this here: the build's
 * -march (corei7, DPDK's baseline) has no PREFETCHW, so the compiler
 * emits a read prefetch for it. The instruction is used only where
 * CPUID says it exists (mm_uffd_subsys_init()); elsewhere a read
 * prefetch. A prefetch never faults and changes nothing.
 */
extern bool mm_has_prefetchw;

#if defined(__x86_64__) || defined(__i386__)
static inline void
mm_prefetchw_insn_(const void *p)
{
	/* the instruction itself: the compiler would not emit it */
	__asm__ volatile("prefetchw %0" : : "m" (*(const char *)p));
}
#else
#define mm_prefetchw_insn_(p) __builtin_prefetch((p), 1, 3)
#endif

static inline void
mm_prefetchw(const void *p)
{
	if (__builtin_expect(mm_has_prefetchw, 1))
		mm_prefetchw_insn_(p);
	else
		__builtin_prefetch(p, 0, 3);
}

#define MM_UFFD_PER_AS 16
/* Classify a fault on region @r (registered): MM_FAULT_ORDINARY,
 * MM_FAULT_POSTED, -EFAULT (SIGBUS mode) or -EHWPOISON. Map lock held. */
int mm_uffd_fault(struct mmrt_as *as, const struct mm_region *r, uint64_t va,
	uint32_t access, struct mm_fault_wait *w);
/* Wait for the wake of a posted fault (map lock not held): 0 (retry the
 * fault) or -ETIMEDOUT. */
int mm_uffd_wait(struct mm_fault_wait *w);
/* The shared wake table: made (primary) or found (secondary) at start-up,
 * freed by the primary's fini. */
int mm_uffd_subsys_init(void);
void mm_uffd_subsys_fini(void);
/* The token of a posted fault @w (mmrt_fault_request_token()). */
void mm_uffd_token(const struct mm_fault_wait *w, struct mmrt_fault_token *tok);
/* Move the wake sequence of @u (of every uffd of @as) without waking a
 * fault: see uffd.c. Map lock held either way for the _as form. */
void mm_uffd_nudge(struct mmrt_uffd *u);
void mm_uffd_nudge_as(struct mmrt_as *as);
/* Wake [start, end) on every uffd of @as (map lock held either way). */
void mm_uffd_wake_as(struct mmrt_as *as, uint64_t start, uint64_t end);
/* Layout events: prep before the change (map lock held), done after. */
struct mm_uffd_ev {
	struct mmrt_uffd *u[MM_UFFD_PER_AS];
	struct mmrt_uffd *child[MM_UFFD_PER_AS]; /* fork */
	unsigned int n;
};
void mm_uffd_event_prep(struct mmrt_as *as, uint64_t feature, uint64_t start,
	uint64_t end, struct mm_uffd_ev *ev);
void mm_uffd_event_done(struct mm_uffd_ev *ev, struct mmrt_uffd_msg *m,
	bool ok);
/* Fork: the child's copy of a region keeps its registration (with the
 * child's uffd) iff the parent's uffd has EVENT_FORK. */
int mm_uffd_fork_region(struct mm_uffd_ev *ev, struct mmrt_as *child,
	struct mm_region *cr);
/* The space is being torn down (write map lock held). */
void mm_uffd_as_release(struct mmrt_as *as);

#endif /* MM_UFFD_H */
