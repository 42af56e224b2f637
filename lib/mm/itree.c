/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Augmented AVL interval tree (see itree.h). Every change walks from the
 * lowest changed node up to the root, recomputing height and subtree_last
 * and rotating where a node's children differ in height by two.
 */

#include <stddef.h>

#include "itree.h"

static inline int32_t
h(const struct mmrt_itree_node *n)
{
	return n == NULL ? 0 : n->height;
}

static inline void
update(struct mmrt_itree_node *n)
{
	int32_t hl = h(n->left), hr = h(n->right);
	uint64_t m = n->last;

	n->height = (hl > hr ? hl : hr) + 1;
	if (n->left != NULL && n->left->subtree_last > m)
		m = n->left->subtree_last;
	if (n->right != NULL && n->right->subtree_last > m)
		m = n->right->subtree_last;
	n->subtree_last = m;
}

/* Make @parent (or the root) point to @new instead of @old. */
static inline void
replace_child(struct mm_itree *t, struct mmrt_itree_node *parent,
	struct mmrt_itree_node *old, struct mmrt_itree_node *new)
{
	if (parent == NULL)
		t->root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
	if (new != NULL)
		new->parent = parent;
}

static struct mmrt_itree_node *
rotate_left(struct mm_itree *t, struct mmrt_itree_node *x)
{
	struct mmrt_itree_node *y = x->right;

	x->right = y->left;
	if (y->left != NULL)
		y->left->parent = x;
	replace_child(t, x->parent, x, y);
	y->left = x;
	x->parent = y;
	update(x);
	update(y);
	return y;
}

static struct mmrt_itree_node *
rotate_right(struct mm_itree *t, struct mmrt_itree_node *x)
{
	struct mmrt_itree_node *y = x->left;

	x->left = y->right;
	if (y->right != NULL)
		y->right->parent = x;
	replace_child(t, x->parent, x, y);
	y->right = x;
	x->parent = y;
	update(x);
	update(y);
	return y;
}

static void
fixup(struct mm_itree *t, struct mmrt_itree_node *n)
{
	while (n != NULL) {
		int32_t bf;

		update(n);
		bf = h(n->left) - h(n->right);
		if (bf > 1) {
			if (h(n->left->left) < h(n->left->right))
				rotate_left(t, n->left);
			n = rotate_right(t, n);
		} else if (bf < -1) {
			if (h(n->right->right) < h(n->right->left))
				rotate_right(t, n->right);
			n = rotate_left(t, n);
		}
		n = n->parent;
	}
}

void
mm_itree_insert(struct mm_itree *t, struct mmrt_itree_node *n)
{
	struct mmrt_itree_node *p = NULL, **link = &t->root;

	while (*link != NULL) {
		p = *link;
		link = n->start < p->start ? &p->left : &p->right;
	}
	n->left = NULL;
	n->right = NULL;
	n->parent = p;
	n->height = 1;
	n->subtree_last = n->last;
	n->in_tree = true;
	*link = n;
	fixup(t, p);
}

void
mm_itree_remove(struct mm_itree *t, struct mmrt_itree_node *n)
{
	struct mmrt_itree_node *from;

	if (n->left == NULL || n->right == NULL) {
		struct mmrt_itree_node *c;

		c = n->left != NULL ? n->left : n->right;

		from = n->parent;
		replace_child(t, n->parent, n, c);
	} else {
		/* replace n by its successor s, the leftmost of n->right */
		struct mmrt_itree_node *s = n->right;

		while (s->left != NULL)
			s = s->left;
		if (s == n->right) {
			from = s;
		} else {
			from = s->parent;
			from->left = s->right;
			if (s->right != NULL)
				s->right->parent = from;
			s->right = n->right;
			s->right->parent = s;
		}
		s->left = n->left;
		s->left->parent = s;
		replace_child(t, n->parent, n, s);
	}
	n->left = NULL;
	n->right = NULL;
	n->parent = NULL;
	n->in_tree = false;
	fixup(t, from);
}

/* Leftmost node of @n's subtree overlapping [start, last]; requires
 * start <= n->subtree_last. */
static struct mmrt_itree_node *
subtree_first(struct mmrt_itree_node *n, uint64_t start, uint64_t last)
{
	for (;;) {
		if (n->left != NULL && start <= n->left->subtree_last) {
			/* some node on the left ends at or after start: the
			 * leftmost candidate is there (or nothing overlaps,
			 * as every later node starts later still) */
			n = n->left;
			continue;
		}
		if (n->start > last)
			return NULL;
		if (start <= n->last)
			return n;
		n = n->right;
		if (n == NULL || start > n->subtree_last)
			return NULL;
	}
}

struct mmrt_itree_node *
mm_itree_first(const struct mm_itree *t, uint64_t start, uint64_t last)
{
	if (t->root == NULL || start > t->root->subtree_last)
		return NULL;
	return subtree_first(t->root, start, last);
}

struct mmrt_itree_node *
mm_itree_next(const struct mmrt_itree_node *cn, uint64_t start,
	uint64_t last)
{
	struct mmrt_itree_node *n = (struct mmrt_itree_node *)(uintptr_t)cn;
	struct mmrt_itree_node *prev;

	/* invariant: n overlaps or precedes the answer; n->start <= last */
	for (;;) {
		if (n->right != NULL && start <= n->right->subtree_last)
			return subtree_first(n->right, start, last);
		/* climb until we come up from a left child */
		do {
			prev = n;
			n = n->parent;
			if (n == NULL)
				return NULL;
		} while (n->right == prev);
		if (n->start > last)
			return NULL;
		if (start <= n->last)
			return n;
	}
}

static long
check(const struct mmrt_itree_node *n, const struct mmrt_itree_node *parent,
	const uint64_t *lo, const uint64_t *hi, int32_t *height)
{
	int32_t hl, hr;
	long cl, cr;
	uint64_t m = n->last;

	if (n->parent != parent || !n->in_tree || n->start > n->last)
		return -1;
	if ((lo != NULL && n->start < *lo) || (hi != NULL && n->start > *hi))
		return -1;
	hl = hr = 0;
	cl = cr = 0;
	if (n->left != NULL) {
		cl = check(n->left, n, lo, &n->start, &hl);
		if (cl < 0)
			return -1;
		if (n->left->subtree_last > m)
			m = n->left->subtree_last;
	}
	if (n->right != NULL) {
		cr = check(n->right, n, &n->start, hi, &hr);
		if (cr < 0)
			return -1;
		if (n->right->subtree_last > m)
			m = n->right->subtree_last;
	}
	if (hl - hr > 1 || hr - hl > 1)
		return -1;
	*height = (hl > hr ? hl : hr) + 1;
	if (n->height != *height || n->subtree_last != m)
		return -1;
	return cl + cr + 1;
}

long
mm_itree_check(const struct mm_itree *t)
{
	int32_t height;

	if (t->root == NULL)
		return 0;
	return check(t->root, NULL, NULL, NULL, &height);
}
