/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The lock-order check of test builds (lib/mm/mm_locking.h). Each case
 * runs in a forked child, whose stderr the parent reads: a child that
 * takes two locks against the sheet's order must abort with a message
 * naming both classes (the negative control: the check is armed); one
 * that follows the sheet, uses a try-lock, or takes a same-class pair in
 * the pair's order must exit normally. No EAL: the check is per thread
 * and needs only the wrappers.
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_rwlock.h>
#include <rte_spinlock.h>

#include "mm_locking.h"

static rte_rwlock_t map_a = RTE_RWLOCK_INITIALIZER;
static rte_rwlock_t map_b = RTE_RWLOCK_INITIALIZER;
static rte_rwlock_t changing = RTE_RWLOCK_INITIALIZER;
static rte_spinlock_t pt_a = RTE_SPINLOCK_INITIALIZER;
static rte_spinlock_t pt_b = RTE_SPINLOCK_INITIALIZER;
static rte_spinlock_t subs = RTE_SPINLOCK_INITIALIZER;
static rte_spinlock_t bind = RTE_SPINLOCK_INITIALIZER;
static rte_spinlock_t quar = RTE_SPINLOCK_INITIALIZER;

/*
 * Run @fn in a child with stderr to a pipe. @return its wait status;
 * what it wrote to stderr in @out (NUL-terminated).
 */
static int
run_child(void (*fn)(void), char *out, size_t size)
{
	int fds[2], status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		close(fds[1]);
		fn();
		_exit(0);
	}
	close(fds[1]);
	while (n + 1 < size && (r = read(fds[0], out + n, size - n - 1)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void
expect_abort(void (*fn)(void), const char *held, const char *taking)
{
	char out[2048];
	int st = run_child(fn, out, sizeof(out));

	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
		"the child did not abort (status %#x): %s", st, out);
	cr_assert_not_null(strstr(out, "mmrt lock order violated"), "%s", out);
	cr_assert_not_null(strstr(out, held), "no %s in: %s", held, out);
	cr_assert_not_null(strstr(out, taking), "no %s in: %s", taking, out);
}

static void
expect_pass(void (*fn)(void))
{
	char out[2048];
	int st = run_child(fn, out, sizeof(out));

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"the child failed (status %#x): %s", st, out);
	cr_assert_null(strstr(out, "lock order"), "%s", out);
}

/* ---- against the sheet: must abort ------------------------------------ */

/* a PT lock, then the map lock it nests under */
static void
pt_then_map(void)
{
	mm_spin_lock(&pt_a, MM_LC_PT);
	mm_read_lock(&map_a, MM_LC_MAP);
}

/* quar_lock is a leaf: nothing under it */
static void
quar_then_subs(void)
{
	mm_spin_lock(&quar, MM_LC_QUAR);
	mm_spin_lock(&subs, MM_LC_SUBS);
}

/* a second lock of one class outside a pair helper */
static void
two_pt_unpaired(void)
{
	mm_spin_lock(&pt_a, MM_LC_PT);
	mm_spin_lock(&pt_b, MM_LC_PT);
}

/* a try-lock is recorded: what follows it outright is checked */
static void
tried_pt_then_changing(void)
{
	if (!mm_spin_trylock(&pt_a, MM_LC_PT))
		_exit(3);
	mm_read_lock(&changing, MM_LC_CHANGING);
}

Test(lockorder, pt_then_map_aborts)
{
	expect_abort(pt_then_map, "MM_LC_PT", "MM_LC_MAP");
}

Test(lockorder, leaf_then_lock_aborts)
{
	expect_abort(quar_then_subs, "MM_LC_QUAR", "MM_LC_SUBS");
}

Test(lockorder, same_class_unpaired_aborts)
{
	expect_abort(two_pt_unpaired, "same class", "MM_LC_PT");
}

Test(lockorder, after_trylock_checked)
{
	expect_abort(tried_pt_then_changing, "MM_LC_PT", "MM_LC_CHANGING");
}

/* ---- the sheet's order: must pass ------------------------------------- */

/* map lock, changing_lock, PT level 2, level 1 below it, then the
 * leaves a PT holder may take; released, then bind -> quar. */
static void
sheet_order(void)
{
	mm_write_lock(&map_a, MM_LC_MAP);
	mm_spin_lock(&subs, MM_LC_SUBS);
	mm_spin_unlock(&subs, MM_LC_SUBS);
	mm_read_lock(&changing, MM_LC_CHANGING);
	mm_spin_lock(&pt_a, MM_LC_PT);
	mm_spin_lock_nested(&pt_b, MM_LC_PT);
	mm_spin_lock(&quar, MM_LC_QUAR);
	mm_spin_unlock(&quar, MM_LC_QUAR);
	mm_spin_unlock(&pt_b, MM_LC_PT);
	mm_spin_unlock(&pt_a, MM_LC_PT);
	mm_read_unlock(&changing, MM_LC_CHANGING);
	mm_write_unlock(&map_a, MM_LC_MAP);
	mm_spin_lock(&bind, MM_LC_BIND);
	mm_spin_lock(&quar, MM_LC_QUAR);
	mm_spin_unlock(&quar, MM_LC_QUAR);
	mm_spin_unlock(&bind, MM_LC_BIND);
	/* everything released: a low class is fine again */
	mm_read_lock(&map_a, MM_LC_MAP);
	mm_read_unlock(&map_a, MM_LC_MAP);
}

/* two map locks in the merge's order, the second as the pair's */
static void
map_pair(void)
{
	mm_read_lock(&map_a, MM_LC_MAP);
	mm_read_lock_nested(&map_b, MM_LC_MAP);
	mm_read_unlock(&map_b, MM_LC_MAP);
	mm_read_unlock(&map_a, MM_LC_MAP);
}

/* the fault probe: bind_lock, map lock and PT lock tried, whatever the
 * order, then a leaf taken outright */
static void
probe_tries(void)
{
	if (!mm_spin_trylock(&pt_a, MM_LC_PT) ||
			mm_read_trylock(&map_a, MM_LC_MAP) != 0 ||
			!mm_spin_trylock(&bind, MM_LC_BIND))
		_exit(3);
	mm_spin_lock(&quar, MM_LC_QUAR);
	mm_spin_unlock(&quar, MM_LC_QUAR);
	mm_spin_unlock(&bind, MM_LC_BIND);
	mm_read_unlock(&map_a, MM_LC_MAP);
	mm_spin_unlock(&pt_a, MM_LC_PT);
}

/* releases out of order leave the right classes held */
static void
release_out_of_order(void)
{
	mm_spin_lock(&bind, MM_LC_BIND);
	mm_read_lock(&map_a, MM_LC_MAP);
	mm_spin_unlock(&bind, MM_LC_BIND);
	mm_spin_lock(&pt_a, MM_LC_PT);
	mm_spin_unlock(&pt_a, MM_LC_PT);
	mm_read_unlock(&map_a, MM_LC_MAP);
}

/* the pair helper's order (mm_pt_lock_pair) */
static void
pt_pair(void)
{
	mm_read_lock(&map_a, MM_LC_MAP);
	mm_spin_lock(&pt_a, MM_LC_PT);
	mm_spin_lock_nested(&pt_b, MM_LC_PT);
	mm_spin_unlock(&pt_b, MM_LC_PT);
	mm_spin_unlock(&pt_a, MM_LC_PT);
	mm_read_unlock(&map_a, MM_LC_MAP);
}

Test(lockorder, sheet_order_passes)
{
	expect_pass(sheet_order);
}

Test(lockorder, same_class_pair_passes)
{
	expect_pass(map_pair);
	expect_pass(pt_pair);
}

Test(lockorder, trylocks_pass)
{
	expect_pass(probe_tries);
}

Test(lockorder, out_of_order_release_passes)
{
	expect_pass(release_out_of_order);
}
