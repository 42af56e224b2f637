/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef DEV_TESTHOOKS_H
#define DEV_TESTHOOKS_H

/*
 * Test-only hooks of lib/dev, compiled only with -Dtest_hooks=true
 * (MMRT_TEST_HOOKS); storage in dev_inval.c. They widen race windows and
 * break the invalidation protocol on purpose so that the tests can show
 * they catch the breakage (negative controls). Never in production builds.
 */

#include <stdbool.h>
#include <stdint.h>

struct dev_test_hooks {
	/* A consumer's poll spins inval_poll_delay_cycles timer cycles
	 * between reading its invalidation ring and its mailbox (the window
	 * of the mailbox ordering). */
	uint64_t inval_poll_delay_cycles;
	/* Negative control: the poll reads the mailbox before the ring, so a
	 * seq boxed between the two reads can be acked unprocessed (and
	 * every poll peeks: no idle check first, see inval_idle()). */
	bool inval_box_first;
	/* Negative control (invariant A): invalidators post to consumers but
	 * do not wait for their acks, so frames are freed under them. */
	bool inval_no_wait;
	/* Negative control (dirty tracking): the device-TLB prefetch grants
	 * write to every present writable page, dirty or clean. */
	bool tlb_prefetch_grant_w;
};

#ifdef MMRT_TEST_HOOKS
extern struct dev_test_hooks dev_test_hooks;
#endif

#endif /* DEV_TESTHOOKS_H */
