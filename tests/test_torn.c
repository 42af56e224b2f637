/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Torn edits (issue 14: a secondary killed "at any moment" leaves
 * nothing torn): every step of the journalled edits of a region array
 * (lib/mm/region.c) and of a robust list (lib/core/core_rlist.h, through
 * a shared named list, core_namelist.h) is a moment of death. For each
 * scenario and each step n, a forked child journals its edit in shared
 * memory (mmrt_test_edit_force()) and is killed by SIGKILL at step n
 * (mmrt_test_edit_kill()) in the middle of the real edit code; the parent
 * then runs the reaper's repair (mmrt_test_edit_repair(), the handler the
 * reaper calls) and checks the structure is exactly what the whole edit
 * makes, as computed by the primary's unjournalled path. The structures
 * live in a MAP_SHARED mapping, so the child's stores are the parent's.
 *
 * Negative control, in every scenario: the torn states left by the kills,
 * before repair, must fail the same check at least once (the check can
 * fail, and the kills do land mid-edit).
 *
 * Data structures only: no EAL (the repairs register in constructors).
 */

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_common.h>

#include <mmrt_core.h>

#include "core_namelist.h"
#include "core_robust.h"
#include "mm_as.h"
#include "mm_object.h"
#include "mm_region.h"

#define NREG 64
#define NOBJ 3
#define NENT 6
#define MAX_STEPS 256
#define TEST_TAG 0x7fe /* a thread's robust tag, as a secondary's */

struct ent {
	struct core_namelist_node node;
	char name[16];
	uint32_t magic;
	int id;
};

#define ENT_MAGIC 0x54524e31u

static const struct core_namelist_kind ent_kind = CORE_NAMELIST_KIND_SHARED(
	struct ent, node, name, magic, ENT_MAGIC, "ent", 0, NULL);

struct area {
	struct mmrt_robust_edit j;
	struct mmrt_as as;
	struct mm_region regs[NREG];
	struct mmrt_object obj[NOBJ];
	struct core_namelist list;
	struct ent ents[NENT];
};

static struct area *sh;

static void
setup(void)
{
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(sh, MAP_FAILED);
}

static void
teardown(void)
{
	munmap(sh, sizeof(*sh));
}

/* ---- region arrays ---- */

struct rsnap {
	struct mm_region regs[NREG];
	uint32_t nr;
	uint32_t count[NOBJ];
};

/* Regions [k * 0x10000, k * 0x10000 + 0x8000) for k < n; those with
 * k % 3 == 1 map object k % NOBJ (counted). */
static void
regions_init(uint32_t n)
{
	uint32_t k;

	memset(&sh->as, 0, sizeof(sh->as));
	memset(sh->regs, 0, sizeof(sh->regs));
	memset(sh->obj, 0, sizeof(sh->obj));
	memset(&sh->j, 0, sizeof(sh->j));
	sh->j.tag = TEST_TAG;
	sh->as.regions = sh->regs;
	sh->as.cap_regions = NREG;
	for (k = 0; k < n; k++) {
		struct mm_region *r = &sh->regs[k];

		r->start = (uint64_t)(k + 1) * 0x10000;
		r->end = r->start + 0x8000;
		r->prot = 3;
		r->obj_off = k * 0x1000;
		if (k % 3 == 1) {
			r->flags = REGION_OBJECT;
			r->obj = &sh->obj[k % NOBJ];
			sh->obj[k % NOBJ].map_count++;
		}
	}
	sh->as.nr_regions = n;
}

static void
regions_snap(struct rsnap *s)
{
	uint32_t k;

	memset(s, 0, sizeof(*s));
	s->nr = sh->as.nr_regions;
	memcpy(s->regs, sh->regs, s->nr * sizeof(s->regs[0]));
	for (k = 0; k < NOBJ; k++)
		s->count[k] = sh->obj[k].map_count;
}

/* Is the array @want's, with its objects' counts (and no tag left)? */
static bool
regions_match(const struct rsnap *want)
{
	uint32_t k;

	if (sh->as.nr_regions != want->nr ||
			memcmp(sh->regs, want->regs,
				want->nr * sizeof(want->regs[0])) != 0)
		return false;
	for (k = 0; k < NOBJ; k++)
		if (sh->obj[k].map_count != want->count[k])
			return false;
	return true;
}

enum rop { R_INSERT, R_SPLIT, R_REMOVE };

struct rcase {
	const char *what;
	uint32_t n;          /* regions before */
	enum rop op;
	uint64_t a, b;       /* insert: start, end (object if b & 1);
			      * split: at; remove: [a, b) */
};

static void
regions_op(const struct rcase *c)
{
	struct mm_region r;

	switch (c->op) {
	case R_INSERT:
		memset(&r, 0, sizeof(r));
		r.start = c->a;
		r.end = c->b & ~UINT64_C(1);
		r.prot = 1;
		if (c->b & 1) {
			r.flags = REGION_OBJECT;
			r.obj = &sh->obj[2];
		}
		cr_assert_eq(mm_region_insert(&sh->as, &r), 0);
		break;
	case R_SPLIT:
		cr_assert_eq(mm_region_split(&sh->as, c->a), 0);
		break;
	case R_REMOVE:
		mm_region_remove(&sh->as, c->a, c->b);
		break;
	}
}

/* Fork a child that runs the op journalled and dies at step @nth (0:
 * never); true if it was killed, false if it finished. */
static bool
run_child(uint32_t op_kind, uint32_t nth, void (*fn)(const void *),
	const void *arg)
{
	int st;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		mmrt_test_edit_force(&sh->j);
		mmrt_test_edit_kill(op_kind, nth);
		fn(arg);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st)) {
		cr_assert_eq(WTERMSIG(st), SIGKILL, "child died by signal %d",
			WTERMSIG(st));
		return true;
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"child failed (status %#x)", st);
	return false;
}

static void
regions_op_v(const void *c)
{
	regions_op(c);
}

static void
regions_case(const struct rcase *c)
{
	struct rsnap want;
	uint32_t nth, torn = 0;
	bool killed = true;

	/* what the whole edit makes: the primary's path, no journal */
	regions_init(c->n);
	regions_op(c);
	regions_snap(&want);

	for (nth = 1; killed && nth < MAX_STEPS; nth++) {
		regions_init(c->n);
		killed = run_child(CORE_EDIT_REGIONS, nth, regions_op_v, c);
		if (!killed) {
			cr_assert_eq(sh->j.op, 0, "%s: journal left armed",
				c->what);
			cr_assert(regions_match(&want),
				"%s: the journalled edit differs", c->what);
			break;
		}
		cr_assert_eq(sh->j.op, CORE_EDIT_REGIONS,
			"%s: step %u: no journal", c->what, nth);
		torn += !regions_match(&want);
		cr_assert_eq(mmrt_test_edit_repair(&sh->j), 0);
		cr_assert(regions_match(&want),
			"%s: killed at step %u, not repaired", c->what, nth);
	}
	cr_assert(!killed, "%s: more than %d steps", c->what, MAX_STEPS);
	cr_assert_gt(nth, 2, "%s: the kill never landed", c->what);
	/* negative control: some kill left a state the check rejects */
	cr_assert_gt(torn, 0, "%s: no torn state seen before repair",
		c->what);
	cr_log_info("%s: %u steps, %u torn before repair", c->what, nth - 1,
		torn);
}

/* Each edit kind, with and without objects, at the ends and inside. */
Test(torn, region_edits, .init = setup, .fini = teardown)
{
	static const struct rcase cases[] = {
		{ "insert middle", 7, R_INSERT, 0x38000, 0x3c000 },
		{ "insert first (object)", 5, R_INSERT, 0x1000, 0x2000 | 1 },
		{ "insert last", 4, R_INSERT, 0x100000, 0x101000 },
		/* region 1 (0x20000..0x28000) maps object 1 */
		{ "split (object)", 6, R_SPLIT, 0x24000, 0 },
		/* regions 1..4 (1 and 4 map objects) of 8 */
		{ "remove four (objects)", 8, R_REMOVE, 0x20000, 0x58000 },
		{ "remove all", 5, R_REMOVE, 0, UINT64_MAX },
	};
	unsigned int i;

	for (i = 0; i < RTE_DIM(cases); i++)
		regions_case(&cases[i]);
}

/* ---- robust lists, through a shared named list ---- */

struct lcase {
	const char *what;
	uint32_t n;          /* entries listed before (ids 0..n-1) */
	bool del;
	int id;              /* the entry added (n) or removed */
};

static void
list_init(uint32_t n)
{
	uint32_t k;

	memset(&sh->list, 0, sizeof(sh->list));
	memset(sh->ents, 0, sizeof(sh->ents));
	memset(&sh->j, 0, sizeof(sh->j));
	core_namelist_init(&sh->list);
	for (k = 0; k < NENT; k++)
		sh->ents[k].id = (int)k;
	mmrt_test_edit_force(NULL);
	for (k = 0; k < n; k++)
		cr_assert_eq(core_namelist_add(&sh->list, &ent_kind,
			&sh->ents[k], NULL), 0);
}

static void
list_op_v(const void *v)
{
	const struct lcase *c = v;

	if (c->del)
		core_namelist_del(&sh->list, &ent_kind, &sh->ents[c->id]);
	else
		cr_assert_eq(core_namelist_add(&sh->list, &ent_kind,
			&sh->ents[c->id], "added"), 0);
}

/*
 * Does the list hold exactly @ids (in order), with every backward link
 * right, and a removed entry @gone (or -1) unlinked and not live?
 */
static bool
list_match(const int *ids, uint32_t n, int gone)
{
	struct core_rlist_node *x, *prev = NULL;
	uint32_t k = 0;

	for (x = sh->list.head.first; x != NULL; x = x->next) {
		const struct ent *e = container_of(x, struct ent, node.link);

		if (k >= n || e->id != ids[k] || x->prev != prev ||
				e->magic != ENT_MAGIC)
			return false;
		prev = x;
		k++;
	}
	if (k != n || sh->list.head.last != prev)
		return false;
	if (gone >= 0 && (sh->ents[gone].magic != 0 ||
			sh->ents[gone].node.link.next != NULL ||
			sh->ents[gone].node.link.prev != NULL))
		return false;
	return true;
}

static void
list_case(const struct lcase *c)
{
	int ids[NENT];
	uint32_t k, n = 0, nth, torn = 0;
	bool killed = true;

	for (k = 0; k < c->n; k++)
		if (!c->del || (int)k != c->id)
			ids[n++] = (int)k;
	if (!c->del)
		ids[n++] = c->id;

	for (nth = 1; killed && nth < MAX_STEPS; nth++) {
		list_init(c->n);
		killed = run_child(CORE_EDIT_RLIST, nth, list_op_v, c);
		if (!killed) {
			cr_assert_eq(sh->j.op, 0);
			cr_assert(list_match(ids, n, c->del ? c->id : -1),
				"%s: the journalled edit differs", c->what);
			break;
		}
		cr_assert_eq(sh->j.op, CORE_EDIT_RLIST);
		torn += !list_match(ids, n, c->del ? c->id : -1);
		cr_assert_eq(mmrt_test_edit_repair(&sh->j), 0);
		/* the reaper releases the dead thread's lock after this */
		rte_spinlock_init(&sh->list.lock);
		cr_assert(list_match(ids, n, c->del ? c->id : -1),
			"%s: killed at step %u, not repaired", c->what, nth);
		/* and the list works on: one more entry in and out */
		cr_assert_eq(core_namelist_add(&sh->list, &ent_kind,
			&sh->ents[NENT - 1], "more"), 0);
		core_namelist_del(&sh->list, &ent_kind, &sh->ents[NENT - 1]);
		cr_assert(list_match(ids, n, c->del ? c->id : -1));
	}
	cr_assert(!killed, "%s: more than %d steps", c->what, MAX_STEPS);
	cr_assert_gt(nth, 2, "%s: the kill never landed", c->what);
	cr_assert_gt(torn, 0, "%s: no torn state seen before repair",
		c->what);
	cr_log_info("%s: %u steps, %u torn before repair", c->what, nth - 1,
		torn);
}

/* Appends and removals at each place of the list. */
Test(torn, list_edits, .init = setup, .fini = teardown)
{
	static const struct lcase cases[] = {
		{ "add to empty", 0, false, 0 },
		{ "add to three", 3, false, 3 },
		{ "remove first", 4, true, 0 },
		{ "remove middle", 4, true, 2 },
		{ "remove last", 4, true, 3 },
		{ "remove only", 1, true, 0 },
	};
	unsigned int i;

	for (i = 0; i < RTE_DIM(cases); i++)
		list_case(&cases[i]);
}

static void
never_called(struct mmrt_robust_edit *j)
{
	(void)j;
	cr_assert_fail("a refused repair was called");
}

/* Bad input: kinds out of range or without a repair. */
Test(torn, handler_bad_input)
{
	struct mmrt_robust_edit j;

	cr_assert_eq(mmrt_robust_edit_handler(0, never_called), -EINVAL);
	cr_assert_eq(mmrt_robust_edit_handler(MMRT_ROBUST_EDIT_OPS,
		never_called), -EINVAL);
	cr_assert_eq(mmrt_robust_edit_handler(MMRT_ROBUST_EDIT_OPS - 1, NULL),
		-EINVAL);
	memset(&j, 0, sizeof(j));
	cr_assert_eq(mmrt_test_edit_repair(&j), -ENOENT);
	j.op = MMRT_ROBUST_EDIT_OPS - 1;
	cr_assert_eq(mmrt_test_edit_repair(&j), -ENOTSUP);
	cr_assert_eq(j.op, MMRT_ROBUST_EDIT_OPS - 1, "a failed repair "
		"changed the journal");
}
