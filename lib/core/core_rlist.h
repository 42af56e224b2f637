/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef CORE_RLIST_H
#define CORE_RLIST_H

/*
 * A robust doubly linked list: the links of a list in shared memory
 * stored in an order that lets the reaper of a process killed in the
 * middle of an edit finish it (the named lists, core_namelist.h; the pin
 * registry, lib/mm/pin.c). The caller's lock guards the list; a process
 * that records (a secondary, core_robust.h) journals each edit.
 *
 * States and their order, for an edit of node N:
 *   - the forward links (first, next) say what is on the list: N is on
 *     it iff the walk from first meets it. Each edit changes exactly one
 *     forward link, by one store ("on the list", "off the list" below);
 *   - the backward links (prev, last) are stored after it and follow from
 *     the forward ones.
 * So a death at any point leaves the forward links a whole list, with N
 * on it or not, and the backward links possibly stale. The repair
 * (core_rlist_repair(), in the reaper, the dead thread's lock still held)
 * finishes what the edit wanted: N appended if an append's forward link
 * was not stored, N unlinked if a removal's was not, then every backward
 * link rebuilt from the forward ones. A removal may also clear a 32-bit
 * word of the entry (a named list's magic). The walk is bounded by the
 * list's length: the forward links are acyclic in every state.
 *
 * Static inline only: lib/core and lib/mm use it without an export.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core_robust.h"

struct core_rlist_node {
	struct core_rlist_node *next;
	struct core_rlist_node *prev;
};

struct core_rlist {
	struct core_rlist_node *first;
	struct core_rlist_node *last;
};

#define CORE_RLIST_INITIALIZER { NULL, NULL }

/* A journalled edit of a list (CORE_EDIT_RLIST): its arguments. */
enum {
	RLJ_NODE = 0,   /* the node */
	RLJ_DEL = 1,    /* 1: a removal, 0: an append */
	RLJ_CLEAR = 2,  /* a removal: node offset + 1 of a uint32_t to clear
			 * with it, 0 none */
};

static inline void
core_rlist_init(struct core_rlist *l)
{
	l->first = NULL;
	l->last = NULL;
}

/*
 * The journal of an edit of @n on @l (@del: a removal; @clear: see
 * RLJ_CLEAR), armed, in a process that records; else NULL.
 */
static inline struct mmrt_robust_edit *
core_rlist_journal(struct core_rlist *l, struct core_rlist_node *n, bool del,
	size_t clear)
{
	struct mmrt_robust_edit *j = core_edit_get();

	if (j == NULL)
		return NULL;
	j->obj = (uintptr_t)l;
	j->arg[RLJ_NODE] = (uintptr_t)n;
	j->arg[RLJ_DEL] = del;
	j->arg[RLJ_CLEAR] = clear;
	core_edit_arm(j, CORE_EDIT_RLIST);
	return j;
}

/* Append @n to @l (@j: its journal, or NULL). */
static inline void
core_rlist_append(struct core_rlist *l, struct core_rlist_node *n,
	struct mmrt_robust_edit *j)
{
	n->next = NULL;
	n->prev = l->last;
	if (j != NULL)
		core_edit_step(j, 1);
	if (l->last != NULL)                    /* on the list */
		l->last->next = n;
	else
		l->first = n;
	if (j != NULL)
		core_edit_step(j, 2);
	l->last = n;
}

/* Take @n off @l (@j: its journal, or NULL); a node not on it: no-op. */
static inline void
core_rlist_unlink(struct core_rlist *l, struct core_rlist_node *n,
	struct mmrt_robust_edit *j)
{
	if (n->prev == NULL && l->first != n)
		return;
	if (j != NULL)
		core_edit_step(j, 1);
	if (n->prev != NULL)                    /* off the list */
		n->prev->next = n->next;
	else
		l->first = n->next;
	if (j != NULL)
		core_edit_step(j, 2);
	if (n->next != NULL)
		n->next->prev = n->prev;
	else
		l->last = n->prev;
	n->next = NULL;
	n->prev = NULL;
}

/* Finish the list edit @j a dead thread left (see the top of the file). */
static inline void
core_rlist_repair(struct mmrt_robust_edit *j)
{
	struct core_rlist *l = (struct core_rlist *)j->obj;
	struct core_rlist_node *want =
		(struct core_rlist_node *)(uintptr_t)j->arg[RLJ_NODE];
	struct core_rlist_node **link = &l->first, *n, *prev = NULL;
	bool del = j->arg[RLJ_DEL] != 0, found = false;

	while ((n = *link) != NULL) {
		if (n == want && del) {
			*link = n->next;
			continue;
		}
		found |= n == want;
		n->prev = prev;
		prev = n;
		link = &n->next;
	}
	l->last = prev;
	if (del) {
		want->next = NULL;
		want->prev = NULL;
		if (j->arg[RLJ_CLEAR] != 0)
			*(uint32_t *)(uintptr_t)((char *)want +
				j->arg[RLJ_CLEAR] - 1) = 0;
	} else if (!found) {
		core_rlist_append(l, want, NULL);
	}
}

#endif /* CORE_RLIST_H */
