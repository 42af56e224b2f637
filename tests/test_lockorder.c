/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The lock-order check of test builds (lib/mm/mm_locking.h). Each case,
 * a script of lock steps, runs in a forked child whose stderr the parent
 * reads: a child that takes two locks against the sheet's order must
 * abort with a message naming both classes (the negative control: the
 * check is armed); one that follows the sheet, uses a try-lock, or takes
 * a same-class pair in the pair's order must exit normally. No EAL: the
 * check is per thread and needs only the wrappers.
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_common.h>
#include <rte_spinlock.h>

#include "mm_locking.h"

/*
 * The locks a script names, each with its class. A script is a list of
 * steps, "+x" take x outright, "^x" take x as the second of a same-class
 * pair (*_nested), "?x" try x (the child exits 3 if the try fails), "-x"
 * release x. The check goes by class, so spinlocks stand for the
 * rwlocks too (their wrappers are the same three macros).
 */
struct tlock {
	const char *name;
	unsigned int cls;
	rte_spinlock_t sl;
};

/* zeroed locks are unlocked */
static struct tlock locks[] = {
	{ .name = "map_a", .cls = MM_LC_MAP },
	{ .name = "map_b", .cls = MM_LC_MAP },
	{ .name = "changing", .cls = MM_LC_CHANGING },
	{ .name = "subs", .cls = MM_LC_SUBS },
	{ .name = "pt_a", .cls = MM_LC_PT },
	{ .name = "pt_b", .cls = MM_LC_PT },
	{ .name = "bind", .cls = MM_LC_BIND },
	{ .name = "quar", .cls = MM_LC_QUAR },
};

static struct tlock *
tlock_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < RTE_DIM(locks); i++)
		if (strlen(locks[i].name) == len &&
				strncmp(locks[i].name, name, len) == 0)
			return &locks[i];
	_exit(4); /* a typo in a script */
}

/* One step of a script, through the wrappers of mm_locking.h. */
static void
step(char op, struct tlock *t)
{
	switch (op) {
	case '+':
		mm_spin_lock(&t->sl, t->cls);
		break;
	case '^':
		mm_spin_lock_nested(&t->sl, t->cls);
		break;
	case '?':
		if (!mm_spin_trylock(&t->sl, t->cls))
			_exit(3);
		break;
	case '-':
		mm_spin_unlock(&t->sl, t->cls);
		break;
	default:
		_exit(4);
	}
}

static void
run_script(const char *script)
{
	const char *p = script;
	size_t len;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		len = strcspn(p + 1, " ");
		step(*p, tlock_find(p + 1, len));
		p += 1 + len;
	}
}

/*
 * Run @script in a child with stderr to a pipe. @return its wait status;
 * what it wrote to stderr in @out (NUL-terminated).
 */
static int
run_child(const char *script, char *out, size_t size)
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
		run_script(script);
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

/* @script must abort, taking class @taking while holding class @held. */
static void
expect_abort(const char *script, unsigned int held, unsigned int taking)
{
	char out[2048], want[64];
	int st = run_child(script, out, sizeof(out));

	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
		"%s: the child did not abort (status %#x): %s", script, st,
		out);
	cr_assert_not_null(strstr(out, "mmrt lock order violated"), "%s", out);
	snprintf(want, sizeof(want), "taking class %u ", taking);
	cr_assert_not_null(strstr(out, want), "no '%s' in: %s", want, out);
	snprintf(want, sizeof(want), "holding class %u ", held);
	cr_assert_not_null(strstr(out, want), "no '%s' in: %s", want, out);
}

static void
expect_pass(const char *script)
{
	char out[2048];
	int st = run_child(script, out, sizeof(out));

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"%s: the child failed (status %#x): %s", script, st, out);
	cr_assert_null(strstr(out, "lock order"), "%s", out);
}

/* ---- against the sheet: must abort ------------------------------------ */

Test(lockorder, pt_then_map_aborts)
{
	/* a PT lock, then the map lock it nests under */
	expect_abort("+pt_a +map_a", MM_LC_PT, MM_LC_MAP);
}

Test(lockorder, leaf_then_lock_aborts)
{
	/* quar_lock is a leaf: nothing under it */
	expect_abort("+quar +subs", MM_LC_QUAR, MM_LC_SUBS);
}

Test(lockorder, same_class_unpaired_aborts)
{
	/* a second lock of one class outside a pair */
	expect_abort("+pt_a +pt_b", MM_LC_PT, MM_LC_PT);
	expect_abort("+map_a +map_b", MM_LC_MAP, MM_LC_MAP);
}

Test(lockorder, after_trylock_checked)
{
	/* a try-lock is recorded: what follows it outright is checked */
	expect_abort("?pt_a +changing", MM_LC_PT, MM_LC_CHANGING);
}

Test(lockorder, nested_below_aborts)
{
	/* a pair's second lock still may not go down the sheet */
	expect_abort("+quar ^pt_a", MM_LC_QUAR, MM_LC_PT);
}

/* ---- the sheet's order: must pass ------------------------------------- */

Test(lockorder, sheet_order_passes)
{
	/* map lock, changing_lock, subs->lock under it, PT level 2 and
	 * level 1 below it, a leaf under them; then bind -> quar; then,
	 * everything released, a low class again */
	expect_pass("+map_a +changing +subs -subs +pt_a ^pt_b +quar -quar"
		" -pt_b -pt_a -changing -map_a +bind +quar -quar -bind"
		" +map_a -map_a");
}

Test(lockorder, same_class_pair_passes)
{
	/* the merge's two map locks; mm_pt_lock_pair() under a map lock */
	expect_pass("+map_a ^map_b -map_b -map_a");
	expect_pass("+map_a +pt_a ^pt_b -pt_b -pt_a -map_a");
}

Test(lockorder, trylocks_pass)
{
	/* the fault probe: tried in any order, then a leaf outright */
	expect_pass("?pt_a ?map_a ?bind +quar -quar -bind -map_a -pt_a");
}

Test(lockorder, out_of_order_release_passes)
{
	/* releases out of order leave the right classes held */
	expect_pass("+bind +map_a -bind +pt_a -pt_a -map_a");
}
