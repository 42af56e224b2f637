/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_ITREE_H
#define MMRT_ITREE_H

/*
 * Intrusive augmented interval tree: an AVL tree ordered by start, every
 * node caching the largest `last` of its subtree (subtree_last), over
 * inclusive intervals [start, last]. Equal starts are allowed. Not
 * thread-safe: the caller serialises changes, and lookups against changes.
 */

#include <stdbool.h>
#include <stdint.h>

#include "mmrt_notifier.h"

struct mm_itree {
	struct mmrt_itree_node *root;
};

/* Insert @n (start/last set by the caller, n->in_tree false). */
void mm_itree_insert(struct mm_itree *t, struct mmrt_itree_node *n);

/* Remove @n, which is in @t. */
void mm_itree_remove(struct mm_itree *t, struct mmrt_itree_node *n);

/* First node (in start order) overlapping [start, last], or NULL. */
struct mmrt_itree_node *mm_itree_first(const struct mm_itree *t,
	uint64_t start, uint64_t last);

/* Next node after @n overlapping [start, last], or NULL. */
struct mmrt_itree_node *mm_itree_next(const struct mmrt_itree_node *n,
	uint64_t start, uint64_t last);

/* Check order, parents, AVL balance, heights and subtree_last.
 * @return the number of nodes, or -1 on a broken invariant. */
long mm_itree_check(const struct mm_itree *t);

#endif /* MMRT_ITREE_H */
